// The public reductions, softmax and log_softmax. sum and mean are differentiable (forward and
// backward in autograd/reduce_ops.cpp); the others are still the core kernels of core/reduce.h,
// each to become differentiable there.
#pragma once

#include "core/reduce.h"

namespace descent {

using core::all;
using core::amax;
using core::amin;
using core::any;
using core::argmax;
using core::argmin;
using core::log_softmax;
using core::logsumexp;
using core::max;
using core::min;
using core::norm;
using core::prod;
using core::softmax;
using core::std;
using core::var;

Tensor sum(const Tensor& x, const Dims& dims = {}, bool keepdim = false);   // {} = all dims
Tensor mean(const Tensor& x, const Dims& dims = {}, bool keepdim = false);

}  // namespace descent
