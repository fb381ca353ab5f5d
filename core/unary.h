// Elementwise functions of one tensor: math on any strides, with a vectorised contiguous path.
// Floating-only functions of an int64 or bool tensor compute in float32, as PyTorch does
// (exp(int) is float); neg/abs/sign/square/clamp/floor/ceil/round keep integer dtypes.
// Graph-free kernels; the public names are in autograd/ops.h.
#pragma once

#include <optional>

#include <descent/core/tensor.h>

namespace descent::core {

Tensor neg(const Tensor& x);
Tensor abs(const Tensor& x);
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
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
enum class GeluApproximate { None, Tanh };  // erf form (exact) or the tanh approximation
Tensor gelu(const Tensor& x, GeluApproximate approximate = GeluApproximate::None);
// grad * d/dx gelu(x) in one pass (gelu's backward); grad and x of one shape, floating.
Tensor gelu_backward(const Tensor& grad, const Tensor& x, GeluApproximate approximate = GeluApproximate::None);
Tensor silu(const Tensor& x);
// log(1 + exp(beta x)) / beta, linear above `threshold` (as torch.nn.functional.softplus)
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);
Tensor erf(const Tensor& x);
Tensor floor(const Tensor& x);
Tensor ceil(const Tensor& x);
Tensor round(const Tensor& x);  // half to even
Tensor clamp(const Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max);
Tensor reciprocal(const Tensor& x);
Tensor pow(const Tensor& x, const Scalar& exponent);
Tensor isnan(const Tensor& x);     // bool
Tensor isinf(const Tensor& x);     // bool
Tensor isfinite(const Tensor& x);  // bool
// NaN -> nan, +inf -> posinf (default: the dtype's largest), -inf -> neginf (default: lowest)
Tensor nan_to_num(const Tensor& x, double nan = 0.0, std::optional<double> posinf = {},
                  std::optional<double> neginf = {});
Tensor logical_not(const Tensor& x);  // bool

// In place: the result written back into x (same dtype as x, else DTypeError).
void clamp_(const Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max);

}  // namespace descent::core
