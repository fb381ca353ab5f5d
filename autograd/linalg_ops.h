// The public matrix products. Today the core kernels of core/linalg.h; each becomes
// differentiable in autograd/linalg_ops.cpp.
#pragma once

#include "core/linalg.h"

namespace descent {

using core::addmm;
using core::bmm;
using core::dot;
using core::matmul;
using core::mm;
using core::outer;

}  // namespace descent
