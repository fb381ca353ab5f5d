// Differentiable elementwise functions of one tensor: each forward (a core kernel of core/unary.h)
// beside its backward, the chain rule grad_x = grad_y * f'(x) written with public ops so that
// create_graph gives higher derivatives. Read autograd/record.h first, and binary_ops.cpp.
// Where f' is cheaper from the output y than from x (exp, tanh, sigmoid, sqrt, rsqrt, reciprocal),
// the output is saved instead of the input. Kinks and edge cases follow PyTorch's derivatives.
// gelu's backward runs a fused core kernel (core::gelu_backward) unless create_graph records it.
#include <descent/autograd/unary_ops.h>

#include <functional>
#include <numbers>
#include <string>
#include <utility>

#include <descent/autograd/ops.h>
#include <descent/autograd/record.h>

namespace descent {

using autograd::Node;
using autograd::record;
using autograd::SavedTensor;

namespace {

// The gradient of x from the gradient of y and what was saved (x, y, or nothing).
using Chain = std::function<Tensor(const Tensor& grad, const Tensor& saved)>;

enum class Save { Input, Output, Nothing };

// The backward of y = f(x) elementwise: one node type for every unary op, told its name and its
// chain rule by the forward that records it.
struct UnaryBackward : autograd::NamedNode {
  using NamedNode::NamedNode;
  SavedTensor saved;
  Chain chain;
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override { return {chain(grads[0], saved.unpack(*this))}; }
  void release_saved() override { saved.reset(); }
};

Tensor record_unary(Tensor out, const Tensor& x, const char* name, Save save, Chain chain) {
  if (auto node = record<UnaryBackward>(out, {x}, name)) {
    if (save == Save::Input) node->saved = SavedTensor(x, /*is_output=*/false);
    if (save == Save::Output) node->saved = SavedTensor(out, /*is_output=*/true);
    node->chain = std::move(chain);
  }
  return out;
}

// For the piecewise-constant functions (sign, floor, ceil, round, x^0): derivative 0 almost everywhere.
Tensor zero_gradient(const Tensor& grad, const Tensor&) { return core::zeros_like(grad); }

}  // namespace

// ---- sign and magnitude ----

Tensor neg(const Tensor& x) {
  return record_unary(core::neg(x), x, "NegBackward", Save::Nothing, [](const Tensor& g, const Tensor&) { return -g; });
}

// d|x| = sign(x) dx, with sign(0) = 0.
Tensor abs(const Tensor& x) {
  return record_unary(core::abs(x), x, "AbsBackward", Save::Input,
                      [](const Tensor& g, const Tensor& v) { return g * core::sign(v); });
}

Tensor sign(const Tensor& x) { return record_unary(core::sign(x), x, "SignBackward", Save::Nothing, zero_gradient); }

Tensor square(const Tensor& x) {
  return record_unary(core::square(x), x, "SquareBackward", Save::Input,
                      [](const Tensor& g, const Tensor& v) { return g * (v * 2.0); });
}

// ---- exponentials and logarithms ----

// d e^x = e^x dx = y dx
Tensor exp(const Tensor& x) {
  return record_unary(core::exp(x), x, "ExpBackward", Save::Output,
                      [](const Tensor& g, const Tensor& y) { return g * y; });
}

// d (e^x - 1) = e^x dx = (y + 1) dx
Tensor expm1(const Tensor& x) {
  return record_unary(core::expm1(x), x, "Expm1Backward", Save::Output,
                      [](const Tensor& g, const Tensor& y) { return g * (y + 1.0); });
}

Tensor log(const Tensor& x) {
  return record_unary(core::log(x), x, "LogBackward", Save::Input,
                      [](const Tensor& g, const Tensor& v) { return g / v; });
}

Tensor log1p(const Tensor& x) {
  return record_unary(core::log1p(x), x, "Log1pBackward", Save::Input,
                      [](const Tensor& g, const Tensor& v) { return g / (v + 1.0); });
}

// d log2(x) = dx / (x ln 2)
Tensor log2(const Tensor& x) {
  return record_unary(core::log2(x), x, "Log2Backward", Save::Input,
                      [](const Tensor& g, const Tensor& v) { return g / (v * std::numbers::ln2); });
}

// d sqrt(x) = dx / (2 sqrt(x)) = dx / (2 y)
Tensor sqrt(const Tensor& x) {
  return record_unary(core::sqrt(x), x, "SqrtBackward", Save::Output,
                      [](const Tensor& g, const Tensor& y) { return g / (y * 2.0); });
}

// d x^(-1/2) = -x^(-3/2) / 2 dx = -y^3 / 2 dx
Tensor rsqrt(const Tensor& x) {
  return record_unary(core::rsqrt(x), x, "RsqrtBackward", Save::Output,
                      [](const Tensor& g, const Tensor& y) { return g * (y * y * y * -0.5); });
}

// d (1/x) = -dx / x^2 = -y^2 dx
Tensor reciprocal(const Tensor& x) {
  return record_unary(core::reciprocal(x), x, "ReciprocalBackward", Save::Output,
                      [](const Tensor& g, const Tensor& y) { return g * (y * y * -1.0); });
}

// d x^e = e x^(e-1) dx; exponent 0 gives gradient 0 (PyTorch's pow_backward: never 0 * inf at x == 0).
Tensor pow(const Tensor& x, const Scalar& exponent) {
  Tensor out = core::pow(x, exponent);
  const double e = exponent.to<double>();
  if (e == 0.0) return record_unary(out, x, "PowBackward", Save::Nothing, zero_gradient);
  return record_unary(out, x, "PowBackward", Save::Input,
                      [e](const Tensor& g, const Tensor& v) { return g * (pow(v, e - 1.0) * e); });
}

// ---- trigonometric, hyperbolic, error function ----

Tensor sin(const Tensor& x) {
  return record_unary(core::sin(x), x, "SinBackward", Save::Input,
                      [](const Tensor& g, const Tensor& v) { return g * cos(v); });
}

Tensor cos(const Tensor& x) {
  return record_unary(core::cos(x), x, "CosBackward", Save::Input,
                      [](const Tensor& g, const Tensor& v) { return -(g * sin(v)); });
}

// d tanh(x) = (1 - tanh^2 x) dx = (1 - y^2) dx
Tensor tanh(const Tensor& x) {
  return record_unary(core::tanh(x), x, "TanhBackward", Save::Output,
                      [](const Tensor& g, const Tensor& y) { return g * (1.0 - y * y); });
}

// d sigma(x) = sigma(x) (1 - sigma(x)) dx = y (1 - y) dx
Tensor sigmoid(const Tensor& x) {
  return record_unary(core::sigmoid(x), x, "SigmoidBackward", Save::Output,
                      [](const Tensor& g, const Tensor& y) { return g * (y * (1.0 - y)); });
}

// d erf(x) = 2 / sqrt(pi) e^(-x^2) dx
Tensor erf(const Tensor& x) {
  return record_unary(core::erf(x), x, "ErfBackward", Save::Input, [](const Tensor& g, const Tensor& v) {
    return g * (exp(-square(v)) * (2.0 * std::numbers::inv_sqrtpi));
  });
}

// ---- activations ----

// The gradient passes where y > 0: 0 at x == 0, and (as PyTorch's threshold_backward, which
// zeroes only where y <= 0) it passes at NaN.
Tensor relu(const Tensor& x) {
  return record_unary(core::relu(x), x, "ReluBackward", Save::Output,
                      [](const Tensor& g, const Tensor& y) { return where(core::le(y, 0), 0.0, g); });
}

Tensor leaky_relu(const Tensor& x, double negative_slope) {
  return record_unary(core::leaky_relu(x, negative_slope), x, "LeakyReluBackward", Save::Input,
                      [negative_slope](const Tensor& g, const Tensor& v) {
                        return where(core::gt(v, 0), g, g * negative_slope);
                      });
}

namespace {

// d/dx of x Phi(x), Phi the standard normal CDF: Phi(x) + x phi(x), phi(x) = e^(-x^2/2) / sqrt(2 pi).
Tensor gelu_erf_derivative(const Tensor& x) {
  constexpr double kInvSqrt2Pi = std::numbers::inv_sqrtpi / std::numbers::sqrt2;
  Tensor cdf = (erf(x * (1.0 / std::numbers::sqrt2)) + 1.0) * 0.5;
  Tensor pdf = exp(square(x) * -0.5) * kInvSqrt2Pi;
  return cdf + x * pdf;
}

// d/dx of x (1 + tanh(u)) / 2 with u = sqrt(2/pi) (x + 0.044715 x^3) (Hendrycks & Gimpel 2016):
// (1 + t) / 2 + x (1 - t^2) / 2 * sqrt(2/pi) (1 + 3 * 0.044715 x^2), t = tanh(u).
Tensor gelu_tanh_derivative(const Tensor& x) {
  constexpr double kSqrt2OverPi = std::numbers::sqrt2 * std::numbers::inv_sqrtpi;
  constexpr double kKappa = 0.044715;
  Tensor x_squared = square(x);
  Tensor t = tanh((x + x * x_squared * kKappa) * kSqrt2OverPi);
  Tensor inner_derivative = (x_squared * (3.0 * kKappa) + 1.0) * kSqrt2OverPi;
  return (t + 1.0) * 0.5 + x * 0.5 * (1.0 - square(t)) * inner_derivative;
}

}  // namespace

// The backward runs the fused kernel core::gelu_backward (g * gelu'(x) in one pass), unless it is
// itself recorded (create_graph with g or x requiring grad): then the composed formulas above,
// whose ops are differentiable.
Tensor gelu(const Tensor& x, GeluApproximate approximate) {
  const bool tanh_form = approximate == GeluApproximate::Tanh;
  const auto kernel_form = tanh_form ? core::GeluApproximate::Tanh : core::GeluApproximate::None;
  return record_unary(core::gelu(x, kernel_form), x, "GeluBackward", Save::Input,
                      [tanh_form, kernel_form](const Tensor& g, const Tensor& v) {
                        if (!autograd::needs_grad({g, v})) return core::gelu_backward(g, v, kernel_form);
                        return g * (tanh_form ? gelu_tanh_derivative(v) : gelu_erf_derivative(v));
                      });
}

// d (x sigma(x)) = sigma(x) (1 + x (1 - sigma(x))) dx
Tensor silu(const Tensor& x) {
  return record_unary(core::silu(x), x, "SiluBackward", Save::Input, [](const Tensor& g, const Tensor& v) {
    Tensor s = sigmoid(v);
    return g * (s * (v * (1.0 - s) + 1.0));
  });
}

// d log(1 + e^(beta x)) / beta = sigma(beta x) dx, and dx itself where beta x > threshold (the
// linear part). PyTorch writes sigma(beta x) as z / (z + 1), z = e^(beta x); equal, without overflow.
Tensor softplus(const Tensor& x, double beta, double threshold) {
  return record_unary(core::softplus(x, beta, threshold), x, "SoftplusBackward", Save::Input,
                      [beta, threshold](const Tensor& g, const Tensor& v) {
                        Tensor scaled = v * beta;
                        return where(core::gt(scaled, threshold), g, g * sigmoid(scaled));
                      });
}

// ---- rounding: gradient 0 ----

Tensor floor(const Tensor& x) { return record_unary(core::floor(x), x, "FloorBackward", Save::Nothing, zero_gradient); }
Tensor ceil(const Tensor& x) { return record_unary(core::ceil(x), x, "CeilBackward", Save::Nothing, zero_gradient); }
Tensor round(const Tensor& x) { return record_unary(core::round(x), x, "RoundBackward", Save::Nothing, zero_gradient); }

// ---- clamp, nan_to_num: the gradient passes where x is kept ----

namespace {
// Where min <= v <= max, for the bounds given (at least one is).
Tensor within_bounds(const Tensor& v, const std::optional<Scalar>& min, const std::optional<Scalar>& max) {
  if (!max) return core::ge(v, *min);
  if (!min) return core::le(v, *max);
  return core::logical_and(core::ge(v, *min), core::le(v, *max));
}
}  // namespace

// NOTE: the bounds themselves pass the gradient (subgradient 1 at x == min or max, as PyTorch's
// clamp_backward); with min > max, or a NaN bound, it passes nowhere.
Tensor clamp(const Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max) {
  return record_unary(core::clamp(x, min, max), x, "ClampBackward", Save::Input,
                      [min, max](const Tensor& g, const Tensor& v) {
                        return where(within_bounds(v, min, max), g, 0.0);
                      });
}

// Composed of where, so each operand's gradient is where's and higher derivatives come free: the
// value is x where kept, else the winning bound, else (min == max > x, a NaN) the graph-free result.
Tensor clamp(const Tensor& x, const Tensor& min, const Tensor& max) {
  check<ValueError>(min.defined() || max.defined(), "clamp: at least one of min and max must be given");
  Tensor value = x;
  if (min.defined()) value = core::maximum(value, min);
  if (max.defined()) value = core::minimum(value, max);
  if (max.defined()) {
    Tensor max_wins = core::gt(x, max);
    if (min.defined()) max_wins = core::logical_or(max_wins, core::lt(max, min));
    value = where(max_wins, max, value);
  }
  if (min.defined()) {
    Tensor min_wins = core::lt(x, min);
    if (max.defined()) min_wins = core::logical_and(min_wins, core::lt(min, max));
    value = where(min_wins, min, value);
  }
  Tensor kept = min.defined() ? core::ge(x, min) : core::le(x, max);
  if (min.defined() && max.defined()) kept = core::logical_and(kept, core::le(x, max));
  return where(kept, x, value);
}

Tensor nan_to_num(const Tensor& x, double nan, std::optional<double> posinf, std::optional<double> neginf) {
  return record_unary(core::nan_to_num(x, nan, posinf, neginf), x, "NanToNumBackward", Save::Input,
                      [](const Tensor& g, const Tensor& v) { return where(core::isfinite(v), g, 0.0); });
}

}  // namespace descent
