// Unary elementwise ops: PyTorch's results (golden/unary.json, from gen_unary.py) in float32 and
// float64 and in four input layouts; int64 and bool inputs; clamp's and pow's arguments; the
// output layout; errors by name. Then core/vecmath.h on its own: every function against the C
// library in long double over ranges that include the extremes, in ulp.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <descent/core/vecmath.h>
#include "testing.h"

namespace descent {
namespace {

using testing::Golden;
using testing::tensors_close;
using testing::throws_with;

const Golden& golden() {
  static const Golden file("core/golden/unary.json");
  return file;
}

using UnaryOp = std::function<Tensor(const Tensor&)>;

// ---- input layouts: the same values in other geometries ----

enum class Layout { Contiguous, Strided, Transposed, Expanded };

std::string layout_name(Layout layout) {
  switch (layout) {
    case Layout::Contiguous: return "Contiguous";
    case Layout::Strided: return "Strided";
    case Layout::Transposed: return "Transposed";
    case Layout::Expanded: return "Expanded";
  }
  return "?";
}

// op applied to the 1-d x laid out as `layout`, as a 1-d result in x's order:
// Strided: x is column 1 of an [n, 3] buffer (stride 3, the gather path);
// Transposed: x is both columns of the transpose of a [2, n] buffer (a dense permuted tensor);
// Expanded: x broadcast to [n, 3] (stride 0); every column of the result must agree.
Tensor apply_in_layout(const UnaryOp& op, const Tensor& x, Layout layout) {
  const int64_t n = x.numel();
  switch (layout) {
    case Layout::Contiguous: return op(x);
    case Layout::Strided: {
      Tensor column = core::select(core::zeros({n, 3}, {.dtype = x.dtype()}), 1, 1);
      core::copy_(column, x);
      return op(column);
    }
    case Layout::Transposed: {
      Tensor buffer = core::empty({2, n}, {.dtype = x.dtype()});
      core::copy_(buffer, core::expand(x, {2, n}));
      Tensor out = op(core::transpose(buffer, 0, 1));
      EXPECT_TRUE(tensors_close(core::select(out, 1, 0), core::select(out, 1, 1), 0.0, 0.0));
      return core::select(out, 1, 0);
    }
    case Layout::Expanded: {
      Tensor out = op(core::expand(core::unsqueeze(x, 1), {n, 3}));
      EXPECT_TRUE(tensors_close(core::select(out, 1, 0), core::select(out, 1, 2), 0.0, 0.0));
      return core::select(out, 1, 2);
    }
  }
  return x;
}

// ---- golden float ops ----

struct FloatOpCase {
  std::string name;  // the golden entry
  UnaryOp op;
  double float32_rtol;  // against the float64 reference rounded to float32
  double float64_rtol;
};

std::vector<FloatOpCase> float_op_cases() {
  constexpr double kTight32 = 5e-7, kTight64 = 1e-15;  // about 4 ulp
  return {
      {"neg", core::neg, 0, 0},
      {"abs", core::abs, 0, 0},
      {"sign", core::sign, 0, 0},
      {"square", core::square, 0, 0},
      {"exp", core::exp, kTight32, kTight64},
      {"expm1", core::expm1, kTight32, kTight64},
      {"log", core::log, kTight32, kTight64},
      {"log1p", core::log1p, kTight32, kTight64},
      {"log2", core::log2, kTight32, kTight64},
      {"sqrt", core::sqrt, 0, 0},
      {"rsqrt", core::rsqrt, kTight32, kTight64},
      {"reciprocal", core::reciprocal, kTight32, kTight64},
      {"sin", core::sin, kTight32, kTight64},
      {"cos", core::cos, kTight32, kTight64},
      {"tanh", core::tanh, kTight32, kTight64},
      {"sigmoid", core::sigmoid, kTight32, kTight64},
      {"erf", core::erf, kTight32, kTight64},
      {"relu", core::relu, 0, 0},
      // The reference is x Phi(x) in 40-digit arithmetic (gen_unary.py).
      {"gelu", [](const Tensor& x) { return core::gelu(x); }, 1e-6, 1e-14},
      // The negative tail of the tanh form is ill-conditioned in its inner polynomial (see vecmath.h).
      {"gelu_tanh", [](const Tensor& x) { return core::gelu(x, core::GeluApproximate::Tanh); }, 1e-5, 1e-13},
      {"silu", core::silu, kTight32, kTight64},
      {"softplus", [](const Tensor& x) { return core::softplus(x); }, kTight32, kTight64},
      {"leaky_relu", [](const Tensor& x) { return core::leaky_relu(x); }, kTight32, kTight64},
      {"floor", core::floor, 0, 0},
      {"ceil", core::ceil, 0, 0},
      {"round", core::round, 0, 0},
      {"isnan", core::isnan, 0, 0},
      {"isinf", core::isinf, 0, 0},
      {"isfinite", core::isfinite, 0, 0},
      {"logical_not", core::logical_not, 0, 0},
      {"nan_to_num", [](const Tensor& x) { return core::nan_to_num(x); }, 0, 0},
  };
}

// The smallest magnitude compared relatively: below it (subnormal results), an absolute bound.
double absolute_tolerance(DType dtype) { return dtype == kFloat32 ? 1e-37 : 1e-300; }

struct FloatOpParam {
  FloatOpCase op_case;
  DType dtype;
  Layout layout;
};

class GoldenFloatOp : public ::testing::TestWithParam<FloatOpParam> {};

TEST_P(GoldenFloatOp, MatchesPyTorch) {
  const auto& [op_case, dtype, layout] = GetParam();
  const std::string& name = op_case.name;
  Tensor x = golden().tensor(name + "/x").to(dtype);
  Tensor expected = golden().tensor(name + "/f64");
  Tensor actual = apply_in_layout(op_case.op, x, layout);
  if (!is_floating(expected.dtype())) {  // bool results
    ASSERT_EQ(actual.dtype(), expected.dtype());
    EXPECT_TRUE(tensors_close(actual, expected, 0.0, 0.0));
    return;
  }
  ASSERT_EQ(actual.dtype(), dtype);
  const double rtol = dtype == kFloat32 ? op_case.float32_rtol : op_case.float64_rtol;
  EXPECT_TRUE(tensors_close(actual, expected.to(dtype), rtol, absolute_tolerance(dtype))) << name;
  if (dtype == kFloat32 && golden().has(name + "/f32")) {  // PyTorch's own float32 edge values
    EXPECT_TRUE(tensors_close(actual, golden().tensor(name + "/f32"), 0.0, 0.0)) << name << " vs torch float32";
  }
  if (golden().has(name + "/torch")) {  // F.gelu itself, whose tail is right only in absolute terms
    const bool single = dtype == kFloat32;
    EXPECT_TRUE(tensors_close(actual, golden().tensor(name + "/torch").to(dtype), single ? 2e-6 : 1e-12,
                              single ? 1e-7 : 1e-15))
        << name << " vs F.gelu";
  }
}

std::vector<FloatOpParam> float_op_params() {
  std::vector<FloatOpParam> params;
  for (const FloatOpCase& op_case : float_op_cases()) {
    for (DType dtype : {kFloat32, kFloat64}) {
      for (Layout layout : {Layout::Contiguous, Layout::Strided, Layout::Transposed, Layout::Expanded}) {
        params.push_back({op_case, dtype, layout});
      }
    }
  }
  return params;
}

INSTANTIATE_TEST_SUITE_P(Unary, GoldenFloatOp, ::testing::ValuesIn(float_op_params()),
                         [](const ::testing::TestParamInfo<FloatOpParam>& info) {
                           return info.param.op_case.name + "_" + std::string(dtype_name(info.param.dtype)) + "_" +
                                  layout_name(info.param.layout);
                         });

// ---- ops with arguments ----

struct ParamOpCase {
  std::string name;  // the golden entry
  std::string input;  // whose "x" it reads
  UnaryOp op;
};

class GoldenParamOp : public ::testing::TestWithParam<ParamOpCase> {};

TEST_P(GoldenParamOp, MatchesPyTorchInBothDtypes) {
  const ParamOpCase& c = GetParam();
  Tensor x = golden().tensor(c.input + "/x");
  EXPECT_TRUE(tensors_close(c.op(x), golden().tensor(c.name + "/f32"), 5e-7, 1e-37)) << c.name << " float32";
  EXPECT_TRUE(tensors_close(c.op(x.to(kFloat64)), golden().tensor(c.name + "/f64"), 1e-15, 1e-300))
      << c.name << " float64";
  EXPECT_TRUE(tensors_close(apply_in_layout(c.op, x, Layout::Strided), golden().tensor(c.name + "/f32"), 5e-7, 1e-37))
      << c.name << " strided";
}

INSTANTIATE_TEST_SUITE_P(
    Unary, GoldenParamOp,
    ::testing::Values(
        ParamOpCase{"softplus@beta2_threshold5", "softplus", [](const Tensor& x) { return core::softplus(x, 2.0, 5.0); }},
        ParamOpCase{"softplus@beta-1", "softplus", [](const Tensor& x) { return core::softplus(x, -1.0); }},
        ParamOpCase{"leaky_relu@0.2", "leaky_relu", [](const Tensor& x) { return core::leaky_relu(x, 0.2); }},
        ParamOpCase{"clamp@-1_2", "relu", [](const Tensor& x) { return core::clamp(x, -1.0, 2.0); }},
        ParamOpCase{"clamp@min0.5", "relu", [](const Tensor& x) { return core::clamp(x, 0.5, std::nullopt); }},
        ParamOpCase{"clamp@max-0.5", "relu", [](const Tensor& x) { return core::clamp(x, std::nullopt, -0.5); }},
        ParamOpCase{"clamp@2_1", "relu", [](const Tensor& x) { return core::clamp(x, 2.0, 1.0); }},
        ParamOpCase{"clamp@minnan", "relu", [](const Tensor& x) { return core::clamp(x, NAN, std::nullopt); }},
        ParamOpCase{"clamp@maxnan", "relu", [](const Tensor& x) { return core::clamp(x, std::nullopt, NAN); }},
        ParamOpCase{"clamp@0_nan", "relu", [](const Tensor& x) { return core::clamp(x, 0.0, NAN); }},
        ParamOpCase{"nan_to_num@1.5_7_-7", "nan_to_num",
                    [](const Tensor& x) { return core::nan_to_num(x, 1.5, 7.0, -7.0); }}),
    [](const ::testing::TestParamInfo<ParamOpCase>& info) {
      std::string name = info.param.name;
      for (char& ch : name) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return name;
    });

TEST(UnaryPow, MatchesPyTorchForEveryExponent) {
  Tensor x = golden().tensor("pow/x");
  for (double e : golden().tensor("pow/exponents").to_vector<double>()) {
    // Python's repr of the exponent, as the generator names the entries (1.0, not 1).
    std::string exponent = fmt::format("{}", e);
    if (exponent.find_first_of(".e") == std::string::npos) exponent += ".0";
    const std::string name = "pow@" + exponent;
    ASSERT_TRUE(golden().has(name + "/f32")) << name;
    EXPECT_TRUE(tensors_close(core::pow(x, e), golden().tensor(name + "/f32"), 5e-7, 1e-37)) << name;
    EXPECT_TRUE(tensors_close(core::pow(x.to(kFloat64), e), golden().tensor(name + "/f64"), 1e-15, 1e-300)) << name;
  }
}

// ---- int64 and bool inputs ----

struct IntOpCase {
  std::string name;
  UnaryOp op;
};

std::vector<IntOpCase> int_op_cases() {
  return {
      {"neg", core::neg},
      {"abs", core::abs},
      {"sign", core::sign},
      {"square", core::square},
      {"relu", core::relu},
      {"floor", core::floor},
      {"ceil", core::ceil},
      {"round", core::round},
      {"exp", core::exp},
      {"sqrt", core::sqrt},
      {"sigmoid", core::sigmoid},
      {"tanh", core::tanh},
      {"reciprocal", core::reciprocal},
      {"log2", core::log2},
      {"erf", core::erf},
      {"isnan", core::isnan},
      {"isinf", core::isinf},
      {"isfinite", core::isfinite},
      {"logical_not", core::logical_not},
      {"nan_to_num", [](const Tensor& x) { return core::nan_to_num(x); }},
      {"clamp@-2_3", [](const Tensor& x) { return core::clamp(x, -2, 3); }},
      {"clamp@min0.5", [](const Tensor& x) { return core::clamp(x, 0.5, std::nullopt); }},
      {"clamp@0_1", [](const Tensor& x) { return core::clamp(x, 0, 1); }},
      {"pow@2", [](const Tensor& x) { return core::pow(x, 2); }},
      {"pow@3", [](const Tensor& x) { return core::pow(x, 3); }},
      {"pow@0", [](const Tensor& x) { return core::pow(x, 0); }},
      {"pow@0.5", [](const Tensor& x) { return core::pow(x, 0.5); }},
  };
}

TEST(UnaryIntegers, Int64AndBoolInputsGivePyTorchsDtypesAndValues) {
  int checked = 0;
  for (const std::string prefix : {"int/", "bool/"}) {
    Tensor x = golden().tensor(prefix + "x");
    for (const IntOpCase& c : int_op_cases()) {
      if (!golden().has(prefix + c.name)) continue;
      Tensor expected = golden().tensor(prefix + c.name);
      Tensor actual = c.op(x);
      EXPECT_EQ(actual.dtype(), expected.dtype()) << prefix << c.name;
      EXPECT_TRUE(tensors_close(actual, expected, 1e-6, 0.0)) << prefix << c.name;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 38);  // every golden int and bool case has an op here
}

TEST(UnaryIntegers, NegAbsAndSquareWrapAroundLikeTwosComplement) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  Tensor x = core::tensor<int64_t>({kMin, kMin + 1, std::numeric_limits<int64_t>::max()});
  EXPECT_EQ(core::neg(x).to_vector<int64_t>(), (std::vector<int64_t>{kMin, -(kMin + 1), kMin + 1}));
  EXPECT_EQ(core::abs(x).to_vector<int64_t>(), (std::vector<int64_t>{kMin, -(kMin + 1), -(kMin + 1)}));
  // (2^32 + 1)^2 = 2^64 + 2^33 + 1, which wraps to 2^33 + 1.
  EXPECT_EQ(core::square(core::tensor<int64_t>({(int64_t{1} << 32) + 1})).item<int64_t>(), (int64_t{1} << 33) + 1);
}

// ---- edge values the golden tolerance cannot see ----

TEST(UnaryEdges, SignedZerosFollowPyTorch) {
  Tensor x = core::tensor<float>({-0.0f, 0.0f});
  EXPECT_TRUE(std::signbit(core::relu(x).at<float>({0})));        // relu(-0) = -0
  EXPECT_TRUE(std::signbit(core::leaky_relu(x).at<float>({0})));  // -0 * slope
  EXPECT_FALSE(std::signbit(core::abs(x).at<float>({0})));
  EXPECT_TRUE(std::signbit(core::neg(x).at<float>({1})));
  EXPECT_TRUE(std::signbit(core::sqrt(x).at<float>({0})));
  EXPECT_EQ(core::rsqrt(x).at<float>({0}), -INFINITY);
  EXPECT_TRUE(std::signbit(core::round(core::tensor<float>({-0.5f})).item<float>()));
  EXPECT_TRUE(std::signbit(core::tanh(x).at<float>({0})));
  EXPECT_TRUE(std::signbit(core::expm1(x).at<float>({0})));
}

TEST(UnaryEdges, GeluAtMinusInfinityIsNaNAsInPyTorch) {
  for (DType dtype : {kFloat32, kFloat64}) {
    Tensor x = core::tensor<double>({-INFINITY, INFINITY, NAN}, {.dtype = dtype});
    std::vector<double> exact = core::gelu(x).to_vector<double>();
    std::vector<double> tanh_form = core::gelu(x, core::GeluApproximate::Tanh).to_vector<double>();
    EXPECT_TRUE(std::isnan(exact[0]) && std::isnan(tanh_form[0]));
    EXPECT_EQ(exact[1], INFINITY);
    EXPECT_EQ(tanh_form[1], INFINITY);
    EXPECT_TRUE(std::isnan(exact[2]) && std::isnan(tanh_form[2]));
  }
}

// ---- output layout, shapes, threads ----

TEST(UnaryLayout, DenseInputsKeepTheirMemoryOrderOthersGiveContiguous) {
  Tensor base = core::arange(0, 12, 1, {.dtype = kFloat32});
  Tensor matrix = core::view(base, {3, 4});
  Tensor transposed = core::transpose(matrix, 0, 1);  // [4, 3] with strides [1, 4]
  Tensor out = core::exp(transposed);
  EXPECT_EQ(out.strides(), (Dims{1, 4}));  // as torch.exp(x.t()).stride()
  EXPECT_TRUE(tensors_close(out, core::exp(core::contiguous(transposed)), 0.0, 0.0));
  Tensor permuted = core::permute(core::view(base, {2, 3, 2}), {2, 0, 1});
  EXPECT_EQ(core::sigmoid(permuted).strides(), permuted.strides());
  EXPECT_TRUE(core::exp(core::slice(matrix, 1, 0, 4, 2)).is_contiguous());
  EXPECT_TRUE(core::exp(core::expand(core::unsqueeze(base, 0), {2, 12})).is_contiguous());
  EXPECT_EQ(core::isnan(transposed).strides(), (Dims{1, 4}));
}

TEST(UnaryLayout, EmptyAndZeroDimTensors) {
  Tensor empty = core::zeros({0, 3});
  EXPECT_EQ(core::exp(empty).sizes(), (Dims{0, 3}));
  EXPECT_EQ(core::isnan(empty).sizes(), (Dims{0, 3}));
  EXPECT_EQ(core::exp(core::transpose(empty, 0, 1)).sizes(), (Dims{3, 0}));
  Tensor scalar = core::scalar_tensor(2.0, {.dtype = kFloat64});
  Tensor out = core::log(scalar);
  EXPECT_EQ(out.dim(), 0);
  EXPECT_DOUBLE_EQ(out.item<double>(), std::log(2.0));
  EXPECT_EQ(core::relu(core::scalar_tensor(int64_t{-4})).item<int64_t>(), 0);
}

TEST(UnaryLayout, LargeTensorsOnThreadsMatchOneThread) {
  // Above the elementwise grain, so that parallel_for splits the loop; transposed and strided too.
  // The reference is the same kernel on one thread, so the comparison is exact.
  const int64_t rows = 300, cols = 257;
  Tensor x = core::mul(core::randn({rows, cols}), 4.0);
  const int threads = get_num_threads();
  set_num_threads(1);
  Tensor reference = core::gelu(x);
  set_num_threads(std::max(threads, 2));
  EXPECT_TRUE(tensors_close(core::gelu(x), reference, 0.0, 0.0));
  Tensor transposed = core::contiguous(core::transpose(x, 0, 1));
  EXPECT_TRUE(tensors_close(core::gelu(core::transpose(transposed, 0, 1)), reference, 0.0, 0.0));
  Tensor strided = core::slice(core::zeros({rows, 2 * cols}), 1, 0, 2 * cols, 2);
  core::copy_(strided, x);
  EXPECT_TRUE(tensors_close(core::gelu(strided), reference, 0.0, 0.0));
  set_num_threads(threads);
  // And the kernel agrees with the scalar element function to rounding.
  std::vector<float> values = x.to_vector<float>();
  std::vector<float> element(values.size());
  for (size_t i = 0; i < values.size(); ++i) element[i] = descent::vecmath::gelu(values[i]);
  EXPECT_TRUE(tensors_close(reference, core::tensor(element, {rows, cols}), 1e-6, 1e-6));
}

// ---- clamp_ ----

TEST(UnaryClampInPlace, WritesThroughAViewAndBumpsTheVersion) {
  Tensor base = core::arange(-6, 6, 1, {.dtype = kFloat32});
  Tensor column = core::select(core::view(base, {4, 3}), 1, 1);  // -5, -2, 1, 4
  uint64_t version = base.version();
  core::clamp_(column, -3.0, 2.0);
  EXPECT_GT(base.version(), version);
  EXPECT_EQ(base.to_vector<float>(), (std::vector<float>{-6, -3, -4, -3, -2, -1, 0, 1, 2, 3, 2, 5}));
  Tensor ints = core::tensor<int64_t>({-5, 0, 9});
  core::clamp_(ints, std::nullopt, 4);
  EXPECT_EQ(ints.to_vector<int64_t>(), (std::vector<int64_t>{-5, 0, 4}));
}

// ---- errors ----

TEST(UnaryErrors, NameTheOpAndTheProblem) {
  Tensor bools = core::tensor<bool>({true, false});
  Tensor ints = core::tensor<int64_t>({1, -2}, {2});
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::neg(bools); }, {"neg", "bool", "[2]"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::relu(bools); }, {"relu", "bool"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::abs(bools); }, {"abs", "bool"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::floor(bools); }, {"floor", "bool"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::gelu(ints); }, {"gelu", "int64"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::silu(ints); }, {"silu", "int64"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::leaky_relu(ints); }, {"leaky_relu", "int64"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::softplus(ints); }, {"softplus", "int64"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { core::clamp(ints, std::nullopt, std::nullopt); }, {"clamp", "min", "max"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::clamp(bools, true, std::nullopt); }, {"clamp", "bool"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::clamp_(ints, 0.5, std::nullopt); }, {"clamp_", "float32", "int64"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { core::pow(ints, -1); }, {"pow", "negative integer powers"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::pow(bools, true); }, {"pow", "bool"}));
}

// ---- core/vecmath.h against the C library ----

// The distance of `actual` from `exact` in units of the last place of T at `exact` (subnormal
// results in the smallest subnormal's unit). NaN against NaN and equal infinities are 0 apart.
template <typename T>
double ulp_error(T actual, long double exact) {
  const T rounded = static_cast<T>(exact);
  if (std::isnan(actual) || std::isnan(rounded)) return std::isnan(actual) && std::isnan(rounded) ? 0 : INFINITY;
  if (std::isinf(actual) || std::isinf(rounded)) return actual == rounded ? 0 : INFINITY;
  int exponent = 0;
  std::frexp(rounded == 0 ? std::numeric_limits<T>::min() : rounded, &exponent);
  const int ulp_exponent = std::max(exponent - std::numeric_limits<T>::digits,
                                    std::numeric_limits<T>::min_exponent - std::numeric_limits<T>::digits);
  return static_cast<double>(std::fabs(static_cast<long double>(actual) - exact) / std::ldexp(1.0L, ulp_exponent));
}

struct AccuracyCase {
  std::string name;
  std::function<void(const float*, float*, int64_t)> float_kernel;  // y = f(x) over n elements
  std::function<void(const double*, double*, int64_t)> double_kernel;
  std::function<long double(long double)> exact;
  double low, high;       // sampled uniformly, or log-uniformly in magnitude when log_spaced
  bool log_spaced;
  double max_ulp_float, max_ulp_double;
};

using FloatKernel = std::function<void(const float*, float*, int64_t)>;
using DoubleKernel = std::function<void(const double*, double*, int64_t)>;

// A case for a vecmath element function, given as a generic lambda of one value.
template <typename Element>
AccuracyCase element_case(std::string name, const Element& element, std::function<long double(long double)> exact,
                          double low, double high, bool log_spaced, double max_ulp_float, double max_ulp_double) {
  FloatKernel float_kernel = [element](const float* x, float* y, int64_t n) { descent::vecmath::map(x, y, n, element); };
  DoubleKernel double_kernel = [element](const double* x, double* y, int64_t n) {
    descent::vecmath::map(x, y, n, element);
  };
  return {std::move(name), float_kernel, double_kernel, std::move(exact), low, high, log_spaced, max_ulp_float,
          max_ulp_double};
}

long double exact_gelu(long double x) { return x / 2 * std::erfc(-x / std::sqrt(2.0L)); }
long double exact_sigmoid(long double x) { return 1 / (1 + std::exp(-x)); }
long double exact_softplus(long double x) { return x > 20 ? x : std::log1p(std::exp(x)); }

std::vector<AccuracyCase> accuracy_cases() {
  namespace vm = descent::vecmath;
  using L = long double;
  auto exp = [](auto v) { return vm::exp(v); };
  auto expm1 = [](auto v) { return vm::expm1(v); };
  auto log = [](auto v) { return vm::log(v); };
  auto log2 = [](auto v) { return vm::log2(v); };
  auto log1p = [](auto v) { return vm::log1p(v); };
  auto tanh = [](auto v) { return vm::tanh(v); };
  auto erf = [](auto v) { return vm::erf(v); };
  auto erfc = [](auto v) { return vm::erfc(v); };
  auto sigmoid = [](auto v) { return vm::sigmoid(v); };
  auto softplus = [](auto v) { return vm::softplus(v, decltype(v)(1), decltype(v)(20)); };
  auto gelu = [](auto v) { return vm::gelu(v); };
  auto sin_kernels = [](std::string name, double low, double high, bool log_spaced) {
    return AccuracyCase{std::move(name), [](const float* x, float* y, int64_t n) { vm::sin(x, y, n); },
                        [](const double* x, double* y, int64_t n) { vm::sin(x, y, n); },
                        [](L x) { return std::sin(x); }, low, high, log_spaced, 1, 2};
  };
  return {
      element_case("exp_wide", exp, [](L x) { return std::exp(x); }, -750, 750, false, 1, 1),
      element_case("exp_small", exp, [](L x) { return std::exp(x); }, 1e-30, 1, true, 1, 1),
      element_case("expm1_wide", expm1, [](L x) { return std::expm1(x); }, -60, 720, false, 3, 3),
      element_case("expm1_near0", expm1, [](L x) { return std::expm1(x); }, -1, 1, false, 3, 3),
      element_case("expm1_tiny", expm1, [](L x) { return std::expm1(x); }, -1e-30, -1, true, 3, 3),
      element_case("log_all", log, [](L x) { return std::log(x); }, 1e-320, 1e308, true, 3, 3),
      element_case("log_near1", log, [](L x) { return std::log(x); }, 0.5, 2, false, 3, 3),
      element_case("log2_all", log2, [](L x) { return std::log2(x); }, 1e-320, 1e308, true, 4, 4),
      element_case("log1p_near0", log1p, [](L x) { return std::log1p(x); }, 1e-30, 1e30, true, 4, 4),
      element_case("log1p_neg", log1p, [](L x) { return std::log1p(x); }, -1e-30, -0.9999, true, 4, 4),
      element_case("tanh", tanh, [](L x) { return std::tanh(x); }, -25, 25, false, 3, 3),
      element_case("tanh_tiny", tanh, [](L x) { return std::tanh(x); }, 1e-30, 1, true, 3, 3),
      element_case("erf", erf, [](L x) { return std::erf(x); }, -7, 7, false, 3, 3),
      element_case("erf_tiny", erf, [](L x) { return std::erf(x); }, 1e-30, 1, true, 3, 3),
      element_case("erfc", erfc, [](L x) { return std::erfc(x); }, -6, 28, false, 6, 6),
      element_case("sigmoid", sigmoid, exact_sigmoid, -80, 80, false, 3, 3),
      element_case("softplus", softplus, exact_softplus, -80, 40, false, 4, 5),
      // Only results above gelu's flush-to-zero limit (x > -13.1 for float).
      element_case("gelu", gelu, exact_gelu, -13, 14, false, 8, 8),
      sin_kernels("sin", -1e6, 1e6, false),
      sin_kernels("sin_huge", 1e-30, 1e30, true),
      AccuracyCase{"cos", [](const float* x, float* y, int64_t n) { vm::cos(x, y, n); },
                   [](const double* x, double* y, int64_t n) { vm::cos(x, y, n); }, [](L x) { return std::cos(x); },
                   -1e6, 1e6, false, 1, 2},
  };
}

class VecmathAccuracy : public ::testing::TestWithParam<AccuracyCase> {};

template <typename T>
void check_accuracy(const AccuracyCase& c, const std::function<void(const T*, T*, int64_t)>& kernel,
                    double max_ulp) {
  constexpr int64_t kSamples = 200000;
  std::mt19937_64 generator(42);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::vector<T> x(kSamples), y(kSamples);
  for (T& v : x) {
    const double u = uniform(generator);
    v = c.log_spaced ? static_cast<T>(std::copysign(
                           std::exp(std::log(std::abs(c.low)) + u * (std::log(std::abs(c.high)) - std::log(std::abs(c.low)))),
                           c.high))
                     : static_cast<T>(c.low + u * (c.high - c.low));
  }
  kernel(x.data(), y.data(), kSamples);
  double worst = 0;
  T worst_x = 0;
  for (int64_t i = 0; i < kSamples; ++i) {
    const double error = ulp_error(y[i], c.exact(static_cast<long double>(x[i])));
    if (error > worst) {
      worst = error;
      worst_x = x[i];
    }
  }
  EXPECT_LE(worst, max_ulp) << c.name << " (" << (sizeof(T) == 4 ? "float" : "double") << "): " << worst
                            << " ulp at x = " << worst_x;
}

TEST_P(VecmathAccuracy, WithinAFewUlpOfTheCLibrary) {
  const AccuracyCase& c = GetParam();
  check_accuracy<float>(c, c.float_kernel, c.max_ulp_float);
  check_accuracy<double>(c, c.double_kernel, c.max_ulp_double);
}

INSTANTIATE_TEST_SUITE_P(Vecmath, VecmathAccuracy, ::testing::ValuesIn(accuracy_cases()),
                         [](const ::testing::TestParamInfo<AccuracyCase>& info) { return info.param.name; });

TEST(VecmathSpecialValues, InfinitiesNaNAndZeros) {
  namespace vm = descent::vecmath;
  constexpr float kInf = INFINITY;
  EXPECT_EQ(vm::exp(kInf), kInf);
  EXPECT_EQ(vm::exp(-kInf), 0.0f);
  EXPECT_TRUE(std::isnan(vm::exp(NAN)));
  EXPECT_EQ(vm::expm1(-kInf), -1.0f);
  EXPECT_EQ(vm::log(0.0f), -kInf);
  EXPECT_EQ(vm::log(-0.0f), -kInf);
  EXPECT_EQ(vm::log(kInf), kInf);
  EXPECT_TRUE(std::isnan(vm::log(-1.0f)));
  EXPECT_TRUE(std::isnan(vm::log(-kInf)));
  EXPECT_EQ(vm::log2(1024.0), 10.0);
  EXPECT_EQ(vm::log1p(-1.0), -INFINITY);
  EXPECT_EQ(vm::log1p(kInf), kInf);
  EXPECT_TRUE(std::isnan(vm::log1p(-2.0f)));
  EXPECT_EQ(vm::tanh(kInf), 1.0f);
  EXPECT_EQ(vm::tanh(-kInf), -1.0f);
  EXPECT_TRUE(std::isnan(vm::tanh(NAN)));
  EXPECT_EQ(vm::erf(kInf), 1.0f);
  EXPECT_EQ(vm::erfc(-kInf), 2.0f);
  EXPECT_EQ(vm::erfc(kInf), 0.0f);
  EXPECT_TRUE(std::isnan(vm::erf(NAN)));
  EXPECT_EQ(vm::sigmoid(-kInf), 0.0f);
  EXPECT_EQ(vm::sigmoid(kInf), 1.0f);
  EXPECT_GT(vm::sigmoid(-100.0f), 0.0f);  // e / (1 + e): the subnormal result, not 0
  EXPECT_TRUE(std::isnan(vm::sigmoid(NAN)));
  EXPECT_EQ(vm::softplus(-kInf, 1.0f, 20.0f), 0.0f);
  EXPECT_EQ(vm::softplus(1e30f, 1.0f, 1e38f), 1e30f);  // never overflows inside
  EXPECT_TRUE(std::isnan(vm::silu(-kInf)));
}

}  // namespace
}  // namespace descent
