// The public view and copy ops (view, reshape, permute, slice, expand, ...). Today the core
// kernels of core/views.h; each becomes differentiable in autograd/view_ops.cpp.
#pragma once

#include "core/views.h"

namespace descent {

using core::as_strided;
using core::broadcast_to;
using core::clone;
using core::contiguous;
using core::expand;
using core::flatten;
using core::narrow;
using core::permute;
using core::reshape;
using core::select;
using core::slice;
using core::squeeze;
using core::transpose;
using core::unflatten;
using core::unsqueeze;
using core::view;

}  // namespace descent
