// The public reductions, softmax and log_softmax. Today the core kernels of core/reduce.h;
// each becomes differentiable in autograd/reduce_ops.cpp.
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
using core::mean;
using core::min;
using core::norm;
using core::prod;
using core::softmax;
using core::std;
using core::sum;
using core::var;

}  // namespace descent
