// The public elementwise functions of one tensor, differentiable where they have a derivative
// (sign, floor, ceil and round have gradient zero); the bool-valued tests are not. Forward and
// backward of each sit together in autograd/unary_ops.cpp; the kernels are core/unary.h.
#pragma once

#include <descent/core/unary.h>

namespace descent {

// The erf form of gelu (exact) or its tanh approximation.
// NOTE: a type of namespace descent, not core::GeluApproximate: an argument of a core type would
// bring core::gelu in by argument-dependent lookup, and gelu(x, GeluApproximate::Tanh) would be
// ambiguous between the kernel and this differentiable op.
enum class GeluApproximate { None, Tanh };

Tensor neg(const Tensor& x);
Tensor abs(const Tensor& x);  // gradient sign(x): 0 at x == 0
Tensor sign(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor expm1(const Tensor& x);
Tensor log(const Tensor& x);
Tensor log1p(const Tensor& x);
Tensor log2(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor square(const Tensor& x);
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);  // gradient 0 at x == 0
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
Tensor gelu(const Tensor& x, GeluApproximate approximate = GeluApproximate::None);
Tensor silu(const Tensor& x);
// log(1 + exp(beta x)) / beta, linear above `threshold` (as torch.nn.functional.softplus)
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);
Tensor erf(const Tensor& x);
Tensor floor(const Tensor& x);
Tensor ceil(const Tensor& x);
Tensor round(const Tensor& x);  // half to even
// The gradient passes where min <= x <= max, bounds included (as PyTorch).
Tensor clamp(const Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max);
// Tensor bounds, broadcast with x (an undefined one is no bound; at least one is given). The
// gradients are PyTorch's clamp_backward and clamp_backward_min_max: x's where min <= x <= max,
// min's where x < min < max, max's where x > max or max < min; where min == max > x, no one's.
Tensor clamp(const Tensor& x, const Tensor& min, const Tensor& max);
Tensor reciprocal(const Tensor& x);
Tensor pow(const Tensor& x, const Scalar& exponent);  // exponent 0: gradient 0
// NaN -> nan, +inf -> posinf (default: the dtype's largest), -inf -> neginf (default: lowest);
// the gradient passes where x is finite.
Tensor nan_to_num(const Tensor& x, double nan = 0.0, std::optional<double> posinf = {},
                  std::optional<double> neginf = {});

// Not differentiable (bool results).
using core::isfinite;
using core::isinf;
using core::isnan;
using core::logical_not;

}  // namespace descent
