// The gradients of the unary ops (autograd/unary_ops.cpp): gradcheck of every op on contiguous,
// transposed, sliced-with-step and broadcast inputs (sampled away from kinks), gradgradcheck,
// second derivatives against hand-derived formulas, and PyTorch's gradients at chosen points
// (kinks included) from tests/autograd/golden/gen_unary_grad.py.
#include <cctype>
#include <cmath>
#include <functional>
#include <numbers>
#include <string>
#include <vector>

#include <descent/autograd/engine.h>
#include <descent/autograd/gradcheck.h>
#include "testing.h"

namespace descent {
namespace {

using testing::tensors_close;
using testing::throws_with;

using UnaryFunction = std::function<Tensor(const Tensor&)>;

// A case's name as a GoogleTest name: "pow_-1.5" -> "pow__1_5".
template <typename Case>
std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string name = info.param.name;
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

// An op to check, the interval its inputs are sampled from, and the points where it is not
// differentiable (inputs are kept at least 0.05 away from them).
struct UnaryCase {
  std::string name;
  UnaryFunction op;
  double low = -2.0, high = 2.0;
  std::vector<double> kinks = {};
};

std::ostream& operator<<(std::ostream& os, const UnaryCase& c) { return os << c.name; }

std::vector<UnaryCase> all_cases() {
  const std::vector<double> integers = {-3, -2, -1, 0, 1, 2, 3};
  const std::vector<double> half_integers = {-2.5, -1.5, -0.5, 0.5, 1.5, 2.5};
  return {
      {"neg", [](const Tensor& x) { return neg(x); }},
      {"abs", [](const Tensor& x) { return abs(x); }, -2, 2, {0}},
      {"sign", [](const Tensor& x) { return sign(x); }, -2, 2, {0}},
      {"exp", [](const Tensor& x) { return exp(x); }},
      {"expm1", [](const Tensor& x) { return expm1(x); }},
      {"log", [](const Tensor& x) { return log(x); }, 0.2, 3},
      {"log1p", [](const Tensor& x) { return log1p(x); }, -0.5, 3},
      {"log2", [](const Tensor& x) { return log2(x); }, 0.2, 3},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }, 0.2, 3},
      {"rsqrt", [](const Tensor& x) { return rsqrt(x); }, 0.2, 3},
      {"square", [](const Tensor& x) { return square(x); }},
      {"sin", [](const Tensor& x) { return sin(x); }, -3, 3},
      {"cos", [](const Tensor& x) { return cos(x); }, -3, 3},
      {"tanh", [](const Tensor& x) { return tanh(x); }},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, -4, 4},
      {"relu", [](const Tensor& x) { return relu(x); }, -2, 2, {0}},
      {"leaky_relu", [](const Tensor& x) { return leaky_relu(x); }, -2, 2, {0}},
      {"leaky_relu_0.2", [](const Tensor& x) { return leaky_relu(x, 0.2); }, -2, 2, {0}},
      {"gelu", [](const Tensor& x) { return gelu(x); }, -3, 3},
      {"gelu_tanh", [](const Tensor& x) { return gelu(x, GeluApproximate::Tanh); }, -3, 3},
      {"silu", [](const Tensor& x) { return silu(x); }, -4, 4},
      {"softplus", [](const Tensor& x) { return softplus(x); }, -3, 3},
      // beta x > threshold above x = 0.5: both branches sampled, the jump avoided.
      {"softplus_beta2_threshold1", [](const Tensor& x) { return softplus(x, 2.0, 1.0); }, -2, 2, {0.5}},
      {"erf", [](const Tensor& x) { return erf(x); }},
      {"floor", [](const Tensor& x) { return floor(x); }, -2.5, 2.5, integers},
      {"ceil", [](const Tensor& x) { return ceil(x); }, -2.5, 2.5, integers},
      {"round", [](const Tensor& x) { return round(x); }, -2.5, 2.5, half_integers},
      {"clamp", [](const Tensor& x) { return clamp(x, -1.0, 1.0); }, -2, 2, {-1, 1}},
      {"clamp_min", [](const Tensor& x) { return clamp(x, 0.5, std::nullopt); }, -2, 2, {0.5}},
      {"clamp_max_int", [](const Tensor& x) { return clamp(x, std::nullopt, 0); }, -2, 2, {0}},
      {"reciprocal", [](const Tensor& x) { return reciprocal(x); }, 0.3, 3},
      {"pow_3", [](const Tensor& x) { return pow(x, 3); }},
      {"pow_2.5", [](const Tensor& x) { return pow(x, 2.5); }, 0.2, 3},
      {"pow_-1.5", [](const Tensor& x) { return pow(x, -1.5); }, 0.3, 3},
      {"pow_0.5", [](const Tensor& x) { return pow(x, 0.5); }, 0.2, 3},
      {"pow_0", [](const Tensor& x) { return pow(x, 0); }},
      {"pow_1", [](const Tensor& x) { return pow(x, 1.0); }},
      {"nan_to_num", [](const Tensor& x) { return nan_to_num(x); }},
  };
}

// Deterministic, scattered samples of [c.low, c.high] (a golden-ratio sequence), moved 0.1 away
// from any kink they fall within 0.05 of.
Tensor samples(const UnaryCase& c, const Dims& shape) {
  int64_t n = 1;
  for (int64_t size : shape) n *= size;
  std::vector<double> values(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    double fraction = std::fmod(0.5 + 0.6180339887 * static_cast<double>(i), 1.0);
    double v = c.low + (c.high - c.low) * fraction;
    for (double kink : c.kinks) {
      if (std::abs(v - kink) < 0.05) v = kink + 0.1;
    }
    values[static_cast<size_t>(i)] = v;
  }
  return core::tensor(values, shape, {.dtype = kFloat64});
}

enum class Layout { Contiguous, Transposed, SlicedWithStep, Broadcast };

const char* layout_name(Layout layout) {
  switch (layout) {
    case Layout::Contiguous: return "contiguous";
    case Layout::Transposed: return "transposed";
    case Layout::SlicedWithStep: return "sliced with step";
    case Layout::Broadcast: return "broadcast";
  }
  return "";
}

// A [3, 4] float64 input of the given layout that requires grad, and the function gradcheck
// differentiates (broadcast inputs are a [4] leaf expanded inside it, as gradcheck asks).
struct Checked {
  Tensor input;
  autograd::DifferentiableFunction fn;
};

Checked checked_input(const UnaryCase& c, Layout layout) {
  Tensor input;
  UnaryFunction op = c.op;
  autograd::DifferentiableFunction fn = [op](const std::vector<Tensor>& xs) { return op(xs[0]); };
  switch (layout) {
    case Layout::Contiguous: input = samples(c, {3, 4}); break;
    case Layout::Transposed: input = core::transpose(samples(c, {4, 3}), 0, 1); break;
    case Layout::SlicedWithStep: input = core::slice(samples(c, {3, 8}), 1, 0, 8, 2); break;
    case Layout::Broadcast:
      input = samples(c, {4});
      fn = [op](const std::vector<Tensor>& xs) { return op(expand(xs[0], {3, 4})); };
      break;
  }
  input.requires_grad_(true);
  return {input, fn};
}

class UnaryGradcheck : public ::testing::TestWithParam<UnaryCase> {};

TEST_P(UnaryGradcheck, AgreesWithCentralDifferencesOnEveryLayout) {
  const UnaryCase& c = GetParam();
  for (Layout layout : {Layout::Contiguous, Layout::Transposed, Layout::SlicedWithStep, Layout::Broadcast}) {
    Checked checked = checked_input(c, layout);
    if (layout == Layout::Transposed) {
      ASSERT_FALSE(checked.input.is_contiguous());
    }
    autograd::GradcheckResult r = autograd::gradcheck(checked.fn, {checked.input});
    EXPECT_TRUE(r) << c.name << ", " << layout_name(layout) << ": " << r.message;
  }
}

TEST_P(UnaryGradcheck, SecondDerivativesAgreeWithCentralDifferences) {
  const UnaryCase& c = GetParam();
  for (Layout layout : {Layout::Contiguous, Layout::Transposed}) {
    Checked checked = checked_input(c, layout);
    autograd::GradcheckResult r = autograd::gradgradcheck(checked.fn, {checked.input});
    EXPECT_TRUE(r) << c.name << ", " << layout_name(layout) << ": " << r.message;
  }
}

INSTANTIATE_TEST_SUITE_P(AllOps, UnaryGradcheck, ::testing::ValuesIn(all_cases()),
                         case_name<UnaryCase>);

// ---- second derivatives, with create_graph, against their formulas ----

struct SecondDerivativeCase {
  std::string name;
  UnaryFunction op;
  std::function<double(double)> second;  // f''(x), derived by hand
  std::vector<double> points;
};

std::ostream& operator<<(std::ostream& os, const SecondDerivativeCase& c) { return os << c.name; }

class UnarySecondDerivative : public ::testing::TestWithParam<SecondDerivativeCase> {};

TEST_P(UnarySecondDerivative, GradOfGradMatchesTheFormula) {
  const SecondDerivativeCase& c = GetParam();
  Tensor x = core::tensor(c.points, {.dtype = kFloat64, .requires_grad = true});
  Tensor y = c.op(x);
  Tensor first = autograd::grad({y}, {x}, {.grad_outputs = {core::ones_like(y)}, .create_graph = true})[0];
  ASSERT_TRUE(first.requires_grad()) << c.name << ": the first derivative has no graph";
  Tensor second = autograd::grad({first}, {x}, {.grad_outputs = {core::ones_like(first)}})[0];
  std::vector<double> expected;
  for (double p : c.points) expected.push_back(c.second(p));
  EXPECT_TRUE(tensors_close(second, core::tensor(expected, {.dtype = kFloat64}), 1e-9, 1e-12)) << c.name;
}

double standard_normal_pdf(double x) { return std::exp(-x * x / 2) * std::numbers::inv_sqrtpi / std::numbers::sqrt2; }
double logistic(double x) { return 1 / (1 + std::exp(-x)); }

INSTANTIATE_TEST_SUITE_P(
    Formulas, UnarySecondDerivative,
    ::testing::Values(
        SecondDerivativeCase{"exp", [](const Tensor& x) { return exp(x); }, [](double x) { return std::exp(x); },
                             {-1.5, 0.0, 0.7, 2.0}},
        SecondDerivativeCase{"log", [](const Tensor& x) { return log(x); }, [](double x) { return -1 / (x * x); },
                             {0.3, 1.0, 2.5}},
        SecondDerivativeCase{"sqrt", [](const Tensor& x) { return sqrt(x); },
                             [](double x) { return -0.25 * std::pow(x, -1.5); }, {0.3, 1.0, 4.0}},
        SecondDerivativeCase{"rsqrt", [](const Tensor& x) { return rsqrt(x); },
                             [](double x) { return 0.75 * std::pow(x, -2.5); }, {0.3, 1.0, 4.0}},
        SecondDerivativeCase{"reciprocal", [](const Tensor& x) { return reciprocal(x); },
                             [](double x) { return 2 / (x * x * x); }, {-2.0, 0.4, 3.0}},
        SecondDerivativeCase{"tanh", [](const Tensor& x) { return tanh(x); },
                             [](double x) { return -2 * std::tanh(x) * (1 - std::tanh(x) * std::tanh(x)); },
                             {-1.2, 0.0, 0.5, 2.0}},
        SecondDerivativeCase{"sigmoid", [](const Tensor& x) { return sigmoid(x); },
                             [](double x) {
                               double s = logistic(x);
                               return s * (1 - s) * (1 - 2 * s);
                             },
                             {-3.0, -0.4, 0.0, 1.7}},
        SecondDerivativeCase{"sin", [](const Tensor& x) { return sin(x); }, [](double x) { return -std::sin(x); },
                             {-2.0, 0.3, 1.5}},
        SecondDerivativeCase{"cos", [](const Tensor& x) { return cos(x); }, [](double x) { return -std::cos(x); },
                             {-2.0, 0.3, 1.5}},
        SecondDerivativeCase{"pow_3", [](const Tensor& x) { return pow(x, 3); }, [](double x) { return 6 * x; },
                             {-1.5, 0.0, 2.0}},
        SecondDerivativeCase{"pow_2.5", [](const Tensor& x) { return pow(x, 2.5); },
                             [](double x) { return 3.75 * std::sqrt(x); }, {0.3, 1.0, 4.0}},
        // gelu(x) = x Phi(x): gelu'' = 2 phi(x) + x phi'(x) = phi(x) (2 - x^2)
        SecondDerivativeCase{"gelu", [](const Tensor& x) { return gelu(x); },
                             [](double x) { return standard_normal_pdf(x) * (2 - x * x); }, {-2.0, -0.5, 0.0, 1.3}},
        // silu(x) = x s(x): silu'' = s (1 - s) (2 + x (1 - 2 s))
        SecondDerivativeCase{"silu", [](const Tensor& x) { return silu(x); },
                             [](double x) {
                               double s = logistic(x);
                               return s * (1 - s) * (2 + x * (1 - 2 * s));
                             },
                             {-2.0, -0.5, 0.0, 1.3}},
        // softplus_beta(x) = log(1 + e^(beta x)) / beta: softplus'' = beta s(beta x) (1 - s(beta x)),
        // 0 in the linear part above the threshold
        SecondDerivativeCase{"softplus_beta2", [](const Tensor& x) { return softplus(x, 2.0, 20.0); },
                             [](double x) {
                               double s = logistic(2 * x);
                               return x * 2 > 20 ? 0.0 : 2 * s * (1 - s);
                             },
                             {-1.0, 0.0, 0.8, 11.0}},
        SecondDerivativeCase{"erf", [](const Tensor& x) { return erf(x); },
                             [](double x) { return -4 * x * std::exp(-x * x) * std::numbers::inv_sqrtpi; },
                             {-1.0, 0.0, 0.6}}),
    case_name<SecondDerivativeCase>);

// ---- PyTorch's gradients at chosen points, kinks included, float32 and float64 ----

struct GoldenCase {
  std::string name;
  UnaryFunction op;
};

std::ostream& operator<<(std::ostream& os, const GoldenCase& c) { return os << c.name; }

std::vector<GoldenCase> golden_cases() {
  std::vector<GoldenCase> cases;
  for (const UnaryCase& c : all_cases()) {
    // the cases the generator names the same way
    if (c.name == "softplus_beta2_threshold1" || c.name == "clamp" || c.name == "clamp_min" ||
        c.name == "clamp_max_int" || c.name == "pow_1") {
      continue;
    }
    cases.push_back({c.name, c.op});
  }
  cases.push_back({"relu_nan", [](const Tensor& x) { return relu(x); }});
  cases.push_back({"softplus_beta2_threshold3", [](const Tensor& x) { return softplus(x, 2.0, 3.0); }});
  cases.push_back({"clamp_-1_1", [](const Tensor& x) { return clamp(x, -1.0, 1.0); }});
  cases.push_back({"clamp_min_0.5", [](const Tensor& x) { return clamp(x, 0.5, std::nullopt); }});
  cases.push_back({"clamp_max_0", [](const Tensor& x) { return clamp(x, std::nullopt, 0); }});
  cases.push_back({"clamp_empty_range", [](const Tensor& x) { return clamp(x, 1.0, -1.0); }});
  return cases;
}

class UnaryGolden : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(UnaryGolden, GradientMatchesPyTorch) {
  static const testing::Golden golden("autograd/golden/unary_grad.json");
  const GoldenCase& c = GetParam();
  for (const char* type : {"f32", "f64"}) {
    std::string key = c.name + "/" + type + "/";
    ASSERT_TRUE(golden.has(key + "x")) << key << " is not in the golden file";
    Tensor x = golden.tensor(key + "x");
    x.requires_grad_(true);
    Tensor y = c.op(x);
    y.backward(golden.tensor(key + "g"));
    Tensor expected = golden.tensor(key + "grad");
    EXPECT_EQ(x.grad().dtype(), x.dtype()) << key;
    bool is_f32 = std::string(type) == "f32";
    EXPECT_TRUE(tensors_close(x.grad(), expected, is_f32 ? 2e-5 : 1e-10, is_f32 ? 1e-6 : 1e-12)) << key;
  }
}

INSTANTIATE_TEST_SUITE_P(PyTorch, UnaryGolden, ::testing::ValuesIn(golden_cases()),
                         case_name<GoldenCase>);

// ---- kinks, stated once more as their own tests ----

Tensor leaf(std::vector<double> values, DType dtype = kFloat64) {
  return core::tensor(values, {.dtype = dtype, .requires_grad = true});
}
Tensor values(std::vector<double> v, DType dtype = kFloat64) { return core::tensor(v, {.dtype = dtype}); }

TEST(UnaryGrad, ReluAndAbsHaveGradientZeroAtZero) {
  for (DType dtype : {kFloat32, kFloat64}) {
    Tensor x = leaf({-1.0, 0.0, 2.0}, dtype);
    relu(x).backward(core::ones_like(x));
    EXPECT_TRUE(tensors_close(x.grad(), values({0, 0, 1}, dtype))) << fmt::format("{}", dtype);
    Tensor z = leaf({-1.0, 0.0, -0.0, 2.0}, dtype);
    abs(z).backward(core::ones_like(z));
    EXPECT_TRUE(tensors_close(z.grad(), values({-1, 0, 0, 1}, dtype))) << fmt::format("{}", dtype);
  }
}

TEST(UnaryGrad, ClampPassesTheGradientAtItsBounds) {
  Tensor x = leaf({-2.0, -1.0, 0.0, 1.0, 2.0});
  clamp(x, -1.0, 1.0).backward(core::ones_like(x));
  EXPECT_TRUE(tensors_close(x.grad(), values({0, 1, 1, 1, 0})));
  // float32 input, a double bound that float32 cannot hold exactly: the bound is the clamped value.
  Tensor f = leaf({0.0, 0.1, 0.5}, kFloat32);
  clamp(f, 0.1, std::nullopt).backward(core::ones_like(f));
  EXPECT_TRUE(tensors_close(f.grad(), values({0, 1, 1}, kFloat32)));
}

TEST(UnaryGrad, PowWithExponentZeroHasGradientZeroEvenAtZero) {
  Tensor x = leaf({0.0, -1.0, 3.0});
  pow(x, 0).backward(core::ones_like(x));
  EXPECT_TRUE(tensors_close(x.grad(), values({0, 0, 0})));
}

TEST(UnaryGrad, NanToNumPassesTheGradientOnlyWhereFinite) {
  Tensor x = leaf({NAN, INFINITY, -INFINITY, 1.5});
  Tensor y = nan_to_num(x, 0.0, 10.0, -10.0);
  EXPECT_TRUE(tensors_close(y, values({0, 10, -10, 1.5})));
  y.backward(values({2, 3, 4, 5}));
  EXPECT_TRUE(tensors_close(x.grad(), values({0, 0, 0, 5})));
}

TEST(UnaryGrad, RoundingAndSignHaveGradientZero) {
  for (const UnaryFunction& op : std::vector<UnaryFunction>{[](const Tensor& x) { return floor(x); },
                                                            [](const Tensor& x) { return ceil(x); },
                                                            [](const Tensor& x) { return round(x); },
                                                            [](const Tensor& x) { return sign(x); }}) {
    Tensor x = leaf({-1.7, 0.0, 0.5, 2.2});
    op(x).backward(values({1, 2, 3, 4}));
    EXPECT_TRUE(tensors_close(x.grad(), values({0, 0, 0, 0})));
  }
}

// ---- recording ----

TEST(UnaryGrad, NodesAreNamedAfterTheirOp) {
  Tensor x = leaf({0.5, 1.5});
  EXPECT_EQ(exp(x).grad_fn()->name(), "ExpBackward");
  EXPECT_EQ(gelu(x, GeluApproximate::Tanh).grad_fn()->name(), "GeluBackward");
  EXPECT_EQ(clamp(x, 0, 1).grad_fn()->name(), "ClampBackward");
  EXPECT_EQ(pow(x, 2.0).grad_fn()->name(), "PowBackward");
  EXPECT_EQ((-x).grad_fn()->name(), "NegBackward");
  EXPECT_EQ(x.sigmoid().grad_fn()->name(), "SigmoidBackward");  // methods forward to the same ops
}

TEST(UnaryGrad, NothingIsRecordedWithoutGradOrForIntegersAndTests) {
  Tensor x = leaf({0.5, 1.5});
  {
    autograd::NoGradGuard no_grad;
    EXPECT_FALSE(exp(x).requires_grad());
  }
  EXPECT_FALSE(exp(values({1.0})).requires_grad());
  Tensor ints = core::tensor(std::vector<int64_t>{-2, 3});
  EXPECT_EQ(neg(ints).dtype(), kInt64);
  EXPECT_FALSE(abs(ints).requires_grad());
  EXPECT_FALSE(isnan(x).requires_grad());
  EXPECT_EQ(isfinite(x).dtype(), kBool);
}

// exp saves its output: changing the output in place before backward is caught.
TEST(UnaryGrad, AnOutputSavedForBackwardIsVersionChecked) {
  Tensor x = leaf({0.5, 1.5});
  Tensor y = exp(x);
  y.mul_(2.0);
  EXPECT_TRUE(throws_with<Error>([&] { y.backward(core::ones_like(y)); }, {"ExpBackward", "modified in place"}));
}

TEST(UnaryGrad, SavedTensorsAreFreedAfterBackward) {
  Tensor x = leaf({0.5, 1.5});
  Tensor y = tanh(x);
  y.backward(core::ones_like(y));
  EXPECT_TRUE(throws_with<Error>([&] { y.backward(core::ones_like(y)); }, {"TanhBackward", "second time"}));
}

// An incoming gradient that is itself a broadcast view (stride 0) gives the same result.
TEST(UnaryGrad, AStrideZeroIncomingGradientIsHandled) {
  for (const UnaryFunction& op : std::vector<UnaryFunction>{[](const Tensor& x) { return sigmoid(x); },
                                                            [](const Tensor& x) { return relu(x); },
                                                            [](const Tensor& x) { return gelu(x); },
                                                            [](const Tensor& x) { return floor(x); }}) {
    Tensor x = core::tensor({-1.0, 0.5, 2.0, -0.3, 1.1, 0.7}, {2, 3}, {.dtype = kFloat64, .requires_grad = true});
    Tensor twin = core::clone(x).requires_grad_(true);
    op(x).backward(core::expand(core::scalar_tensor(0.75, {.dtype = kFloat64}), {2, 3}));
    op(twin).backward(core::full({2, 3}, 0.75, {.dtype = kFloat64}));
    EXPECT_TRUE(tensors_close(x.grad(), twin.grad()));
  }
}

// GeluBackward runs the fused kernel (core::gelu_backward) unless create_graph records it; the
// recorded path is the composed formula. Both give one gradient, on contiguous, transposed and
// sliced-with-step inputs, in float64 (and in float32 to float32's precision).
TEST(UnaryGrad, GeluFusedBackwardMatchesTheComposedFormula) {
  for (const GeluApproximate form : {GeluApproximate::None, GeluApproximate::Tanh}) {
    for (const DType dtype : {kFloat64, kFloat32}) {
      const double rtol = dtype == kFloat64 ? 1e-13 : 1e-5;
      const double atol = dtype == kFloat64 ? 1e-13 : 1e-6;  // the composed 1 - t^2 cancels as t -> -1
      Tensor base = core::sub(core::mul(core::rand({6, 8}, {.dtype = dtype}), 12.0), 6.0);
      for (const Tensor& input : {base, core::transpose(base, 0, 1), core::slice(base, 1, 1, 8, 3)}) {
        Tensor strided_x = input.detach().requires_grad_(true);  // a leaf with the input's strides
        Tensor y = gelu(strided_x, form);
        Tensor g = core::randn(y.sizes(), {.dtype = dtype});
        Tensor fused = autograd::grad({y}, {strided_x}, {.grad_outputs = {g}})[0];
        Tensor x = core::clone(input).requires_grad_(true);
        Tensor composed = autograd::grad({gelu(x, form)}, {x}, {.grad_outputs = {g}, .create_graph = true})[0];
        EXPECT_TRUE(composed.requires_grad());  // the recorded (composed) path ran
        EXPECT_FALSE(fused.requires_grad());
        EXPECT_TRUE(tensors_close(fused, composed.detach(), rtol, atol));
      }
    }
  }
}

TEST(UnaryGrad, EmptyAndZeroDimInputs) {
  Tensor empty = core::zeros({0, 3}, {.dtype = kFloat32, .requires_grad = true});
  Tensor y = softplus(empty);
  y.backward(core::zeros({0, 3}, {.dtype = kFloat32}));
  EXPECT_EQ(empty.grad().sizes(), (Dims{0, 3}));
  Tensor scalar = core::scalar_tensor(0.5, {.dtype = kFloat64, .requires_grad = true});
  log(scalar).backward();
  EXPECT_EQ(scalar.grad().dim(), 0);
  EXPECT_TRUE(tensors_close(scalar.grad(), core::scalar_tensor(2.0, {.dtype = kFloat64})));
}

}  // namespace
}  // namespace descent
