// GELU's float32 kernel (vecmath::detail::normal_tail) swept densely against double precision,
// its derivatives (vecmath::gelu_derivative, gelu_tanh_derivative) against their formulas, and
// the fused backward core::gelu_backward against the composed formula it replaces.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <utility>
#include <vector>

#include <descent/core/unary.h>
#include <descent/core/vecmath.h>
#include "testing.h"

namespace descent {
namespace {

namespace vm = vecmath;
using testing::tensors_close;
using testing::throws_with;

// x Phi(x) and d/dx of it, Phi(x) + x phi(x), in double (erfc keeps the tail's relative accuracy).
double exact_gelu(double x) { return 0.5 * x * std::erfc(-x * std::numbers::sqrt2 / 2); }
double exact_cdf(double x) { return 0.5 * std::erfc(-x * std::numbers::sqrt2 / 2); }
double exact_x_density(double x) { return x * std::exp(-0.5 * x * x) * std::numbers::inv_sqrtpi / std::numbers::sqrt2; }

// |actual - exact| in units of the last place of float at `scale` (subnormals: the smallest unit).
double float_ulps(float actual, double exact, double scale) {
  int exponent = 0;
  std::frexp(std::max(std::abs(scale), static_cast<double>(std::numeric_limits<float>::min())), &exponent);
  return std::abs(static_cast<double>(actual) - exact) / std::ldexp(1.0, exponent - std::numeric_limits<float>::digits);
}

// Every float whose bit pattern is a multiple of `stride` in [low, high], plus every float within
// `neighbours` of each of `points` (bit patterns as ordered integers, so that both signs work).
std::vector<float> float_sweep(float low, float high, uint32_t stride, const std::vector<float>& points,
                               int neighbours) {
  auto ordered = [](float v) {  // monotonic in v
    const int64_t bits = std::bit_cast<uint32_t>(v);
    return v < 0 ? -(bits & 0x7fffffff) : bits;
  };
  auto from_ordered = [](int64_t k) {
    return k < 0 ? std::bit_cast<float>(static_cast<uint32_t>(-k) | 0x80000000u) : std::bit_cast<float>(static_cast<uint32_t>(k));
  };
  std::vector<float> xs;
  for (int64_t k = ordered(low); k <= ordered(high); k += stride) xs.push_back(from_ordered(k));
  for (float point : points) {
    for (int64_t k = ordered(point) - neighbours; k <= ordered(point) + neighbours; ++k) xs.push_back(from_ordered(k));
  }
  return xs;
}

// The points where the float kernel changes regime: 0 (the sign select), -13 (the end of the
// 8-ulp contract), +-sqrt(174) (the saturation of normal_tail), and the first points where exp's
// reduction steps n (x^2/2 = (n + 1/2) ln2, x = sqrt((2n + 1) ln2)).
const std::vector<float> kTransitions = {0.0f,       -13.0f,     std::sqrt(174.0f), -std::sqrt(174.0f), 0.8325546f,
                                         -0.8325546f, 1.4420269f, -1.4420269f,       1.8616487f,         -1.8616487f};

// The largest error_at(x, f(x)) over xs, f applied through vm::map (the kernels' own loop), and
// where it occurs.
struct WorstError {
  double ulps = 0;
  float x = 0;
};
template <typename F, typename ErrorAt>
WorstError worst_error(const std::vector<float>& xs, F f, ErrorAt error_at) {
  std::vector<float> ys(xs.size());
  vm::map(xs.data(), ys.data(), static_cast<int64_t>(xs.size()), f);
  WorstError worst;
  for (size_t i = 0; i < xs.size(); ++i) {
    const double error = error_at(xs[i], ys[i]);
    if (error > worst.ulps) worst = {error, xs[i]};
  }
  return worst;
}

TEST(GeluFloat, WithinEightUlpOfDoubleOverADenseSweep) {
  const std::vector<float> xs = float_sweep(-13.0f, 14.0f, 509, kTransitions, 2000);
  const WorstError worst = worst_error(xs, [](float v) { return vm::gelu(v); }, [](float x, float y) {
    if (x < -13.0f) return 0.0;  // beyond the contract (the flush region is checked below)
    const double exact = exact_gelu(x);
    return float_ulps(y, exact, exact);
  });
  EXPECT_GT(xs.size(), 4000000u);
  EXPECT_LE(worst.ulps, 8.0) << "at x = " << worst.x;
}

TEST(GeluFloat, SaturatesAndKeepsSpecialValues) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(vm::gelu(0.0f), 0.0f);
  EXPECT_EQ(vm::gelu(1e-30f), 0.5e-30f);
  EXPECT_EQ(vm::gelu(20.0f), 20.0f);
  EXPECT_EQ(vm::gelu(3e38f), 3e38f);
  EXPECT_EQ(vm::gelu(kInf), kInf);
  EXPECT_TRUE(std::isnan(vm::gelu(-kInf)));  // -inf * 0, as PyTorch
  EXPECT_TRUE(std::isnan(vm::gelu(std::numeric_limits<float>::quiet_NaN())));
  for (float x : {-13.2f, -20.0f, -1e30f}) {  // below the flush: -0
    EXPECT_EQ(vm::gelu(x), 0.0f) << x;
    EXPECT_TRUE(std::signbit(vm::gelu(x))) << x;
  }
  EXPECT_LT(vm::gelu(-13.1f), 0.0f);  // still a normal result
}

// The derivative cancels near its zero (x = -0.75), so its error is measured against the larger
// of its two terms Phi(x) and |x phi(x)|: within 8 float ulps of that for x >= -13 (gelu's
// contract), and within 1e-37 beyond (where it flushes to 0 with gelu).
TEST(GeluFloat, DerivativeWithinEightUlpOfItsLargerTerm) {
  const std::vector<float> xs = float_sweep(-13.0f, 14.0f, 1021, kTransitions, 500);
  const WorstError worst = worst_error(xs, [](float v) { return vm::gelu_derivative(v); }, [](float xf, float y) {
    const double x = xf;
    if (x < -13.0) {
      EXPECT_LT(std::abs(y - (exact_cdf(x) + exact_x_density(x))), 1e-37) << x;
      return 0.0;
    }
    const double scale = std::max(exact_cdf(x), std::abs(exact_x_density(x)));
    return float_ulps(y, exact_cdf(x) + exact_x_density(x), scale);
  });
  EXPECT_LE(worst.ulps, 8.0) << "at x = " << worst.x;
  EXPECT_EQ(vm::gelu_derivative(0.0f), 0.5f);
  EXPECT_EQ(vm::gelu_derivative(30.0f), 1.0f);
  EXPECT_EQ(vm::gelu_derivative(-30.0f), 0.0f);
}

// Double: the derivatives of both forms against long double evaluations of their formulas.
TEST(GeluDerivative, DoubleAndTanhFormsMatchTheirFormulas) {
  using L = long double;
  auto tanh_form = [](L x) {  // (1 + t)/2 + x (1 - t^2)/2 sqrt(2/pi) (1 + 3 * 0.044715 x^2)
    const L k = std::sqrt(2.0L / std::numbers::pi_v<L>);
    const L t = std::tanh(k * (x + 0.044715L * x * x * x));
    return (1 + t) / 2 + x * (1 - t * t) / 2 * k * (1 + 3 * 0.044715L * x * x);
  };
  for (double x = -30.0; x <= 30.0; x += 0.0137) {
    const L lx = x;
    const L cdf = std::erfc(-lx / std::sqrt(2.0L)) / 2;
    const L x_density = lx * std::exp(-lx * lx / 2) / std::sqrt(2 * std::numbers::pi_v<L>);
    const L scale = std::max(cdf, std::abs(x_density));
    EXPECT_LE(std::abs(vm::gelu_derivative(x) - (cdf + x_density)), 8 * scale * std::numeric_limits<double>::epsilon())
        << x;
    // The tanh form's terms are at most 1 and 1.2 |x| (1 - t^2), in the same way.
    const L tanh_scale = std::max(L(1), std::abs(lx) * 2);
    EXPECT_LE(std::abs(vm::gelu_tanh_derivative(x) - tanh_form(lx)),
              16 * tanh_scale * std::numeric_limits<double>::epsilon())
        << x;
    EXPECT_LE(std::abs(vm::gelu_tanh_derivative(static_cast<float>(x)) - tanh_form(static_cast<float>(x))),
              16 * tanh_scale * std::numeric_limits<float>::epsilon())
        << x;
  }
}

// ---- core::gelu_backward ----

// g * gelu'(x) composed of core ops, as GeluBackward used to compute it.
Tensor composed_gelu_backward(const Tensor& g, const Tensor& x, core::GeluApproximate form) {
  if (form == core::GeluApproximate::Tanh) {
    const double k = std::numbers::sqrt2 * std::numbers::inv_sqrtpi;
    Tensor x2 = core::square(x);
    Tensor t = core::tanh(core::mul(core::add(x, core::mul(core::mul(x, x2), 0.044715)), k));
    Tensor inner = core::mul(core::add(core::mul(x2, 3 * 0.044715), 1.0), k);
    Tensor outer = core::mul(core::mul(core::mul(x, 0.5), core::sub(core::ones_like(t), core::square(t))), inner);
    return core::mul(g, core::add(core::mul(core::add(t, 1.0), 0.5), outer));
  }
  Tensor cdf = core::mul(core::add(core::erf(core::mul(x, 1 / std::numbers::sqrt2)), 1.0), 0.5);
  Tensor pdf = core::mul(core::exp(core::mul(core::square(x), -0.5)), std::numbers::inv_sqrtpi / std::numbers::sqrt2);
  return core::mul(g, core::add(cdf, core::mul(x, pdf)));
}

TEST(GeluBackward, MatchesTheComposedFormulaInFloat64OnEveryLayout) {
  Tensor base = core::sub(core::mul(core::rand({64, 48}, {.dtype = kFloat64}), 16.0), 8.0);
  Tensor grad_base = core::randn({64, 48}, {.dtype = kFloat64});
  for (const auto form : {core::GeluApproximate::None, core::GeluApproximate::Tanh}) {
    const std::vector<std::pair<Tensor, Tensor>> layouts = {
        {base, grad_base},                                                                  // contiguous
        {core::transpose(base, 0, 1), core::transpose(grad_base, 0, 1)},                   // transposed
        {core::slice(base, 1, 0, 48, 3), core::slice(grad_base, 1, 1, 48, 3)},             // strided
        {core::transpose(base, 0, 1), core::contiguous(core::transpose(grad_base, 0, 1))},  // mixed orders
        {base, core::expand(core::scalar_tensor(0.25, {.dtype = kFloat64}), {64, 48})},  // stride-0 grad
    };
    for (const auto& [x, g] : layouts) {
      Tensor fused = core::gelu_backward(g, x, form);
      EXPECT_EQ(fused.sizes(), x.sizes());
      // atol: the composed tanh form's 1 - t^2 cancels as t -> -1 (an absolute error of ~x eps).
      EXPECT_TRUE(tensors_close(fused, composed_gelu_backward(g, x, form), 1e-13, 1e-13));
    }
  }
}

TEST(GeluBackward, Float32AgreesWithFloat64AndDtypesPromote) {
  Tensor x = core::sub(core::mul(core::rand({1000}, {.dtype = kFloat64}), 12.0), 6.0);
  Tensor g = core::randn({1000}, {.dtype = kFloat64});
  Tensor x32 = core::to(x, kFloat32);
  Tensor g32 = core::to(g, kFloat32);
  Tensor reference = core::gelu_backward(core::to(g32, kFloat64), core::to(x32, kFloat64));
  Tensor single = core::gelu_backward(g32, x32);
  EXPECT_EQ(single.dtype(), kFloat32);
  EXPECT_TRUE(tensors_close(core::to(single, kFloat64), reference, 1e-5, 1e-6));
  EXPECT_EQ(core::gelu_backward(g, x32).dtype(), kFloat64);
}

TEST(GeluBackward, RejectsMismatchedShapesAndIntegers) {
  Tensor x = core::zeros({2, 3});
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::gelu_backward(core::zeros({3, 2}), x); },
                                      {"gelu_backward", "[3, 2]", "[2, 3]"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::gelu_backward(core::zeros({2, 3}, {.dtype = kInt64}), x); },
                                      {"gelu_backward", "int64"}));
}

}  // namespace
}  // namespace descent
