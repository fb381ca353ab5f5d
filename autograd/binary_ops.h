// The public elementwise functions of two tensors, comparisons, logical ops and where. Today
// the core kernels of core/binary.h; each becomes differentiable in autograd/binary_ops.cpp.
#pragma once

#include "core/binary.h"

namespace descent {

using core::add;
using core::div;
using core::eq;
using core::ge;
using core::gt;
using core::le;
using core::logical_and;
using core::logical_or;
using core::logical_xor;
using core::lt;
using core::maximum;
using core::minimum;
using core::mul;
using core::ne;
using core::pow;
using core::remainder;
using core::sub;
using core::where;

}  // namespace descent
