// The public elementwise functions of one tensor. Today the core kernels of core/unary.h;
// each becomes differentiable in autograd/unary_ops.cpp.
#pragma once

#include "core/unary.h"

namespace descent {

using core::abs;
using core::ceil;
using core::clamp;
using core::cos;
using core::erf;
using core::exp;
using core::expm1;
using core::floor;
using core::gelu;
using core::isfinite;
using core::isinf;
using core::isnan;
using core::leaky_relu;
using core::log;
using core::log1p;
using core::log2;
using core::logical_not;
using core::nan_to_num;
using core::neg;
using core::reciprocal;
using core::relu;
using core::round;
using core::rsqrt;
using core::sigmoid;
using core::sign;
using core::silu;
using core::sin;
using core::softplus;
using core::sqrt;
using core::square;
using core::tanh;
using core::GeluApproximate;

// (a using-declaration would also import core's tensor-exponent overloads of pow)
inline Tensor pow(const Tensor& x, const Scalar& exponent) { return core::pow(x, exponent); }

}  // namespace descent
