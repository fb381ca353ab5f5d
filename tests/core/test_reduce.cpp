// Reductions and softmax: PyTorch golden values (tests/core/golden/gen_reduce.py) on contiguous,
// transposed, sliced and expanded inputs; larger shapes that take every scheduling path against
// naive loops; accuracy, thread-count independence, empty/0-d/size-1 shapes and error messages.
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "testing.h"

namespace descent {
namespace {

using testing::Golden;
using testing::tensors_close;
using testing::throws_with;

constexpr double kInf = std::numeric_limits<double>::infinity();

const Golden& golden() {
  static const Golden file("core/golden/reduce.json");
  return file;
}

// The views gen_reduce.py takes of its inputs.
Tensor make_view(const Tensor& x, const std::string& kind) {
  if (kind == "plain") return x;
  if (kind == "transposed") return core::transpose(x, 0, x.dim() - 1);
  if (kind == "sliced") return core::slice(x, 1, 0, INT64_MAX, 2);
  if (kind == "expanded") return core::expand(core::narrow(x, 1, 0, 1), x.sizes());
  throw std::invalid_argument("unknown view " + kind);
}

// ---- golden cases ----

struct GoldenCase {
  std::string name;
  nlohmann::json spec;
};

std::vector<GoldenCase> golden_cases() {
  std::vector<GoldenCase> cases;
  for (const auto& spec : golden().json().at("cases").at("list")) cases.push_back({spec.at("name"), spec});
  return cases;
}

class ReduceGolden : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(ReduceGolden, MatchesPyTorch) {
  const nlohmann::json& spec = GetParam().spec;
  const std::string op = spec.at("op");
  Tensor x = make_view(golden().tensor(spec.at("input")), spec.at("view"));
  Dims dims = spec.contains("dims") ? Dims(spec.at("dims").get<std::vector<int64_t>>()) : Dims{};
  bool keepdim = spec.at("keepdim");
  bool has_dim = spec.contains("dim") && !spec.at("dim").is_null();
  int64_t dim = has_dim ? spec.at("dim").get<int64_t>() : 0;
  int64_t correction = spec.contains("correction") ? spec.at("correction").get<int64_t>() : 1;
  double p = spec.contains("p") ? Golden::number(spec.at("p")) : 2.0;

  Tensor actual, indices;
  if (op == "sum") actual = core::sum(x, dims, keepdim);
  else if (op == "mean") actual = core::mean(x, dims, keepdim);
  else if (op == "prod") actual = core::prod(x, dims, keepdim);
  else if (op == "amax") actual = core::amax(x, dims, keepdim);
  else if (op == "amin") actual = core::amin(x, dims, keepdim);
  else if (op == "var") actual = core::var(x, dims, correction, keepdim);
  else if (op == "std") actual = core::std(x, dims, correction, keepdim);
  else if (op == "norm") actual = core::norm(x, p, dims, keepdim);
  else if (op == "logsumexp") actual = core::logsumexp(x, dims, keepdim);
  else if (op == "all") actual = core::all(x, dims, keepdim);
  else if (op == "any") actual = core::any(x, dims, keepdim);
  else if (op == "max") std::tie(actual, indices) = core::max(x, dim, keepdim);
  else if (op == "min") std::tie(actual, indices) = core::min(x, dim, keepdim);
  else if (op == "argmax") actual = has_dim ? core::argmax(x, dim, keepdim) : core::argmax(x);
  else if (op == "argmin") actual = has_dim ? core::argmin(x, dim, keepdim) : core::argmin(x);
  else if (op == "softmax") actual = core::softmax(x, dim);
  else if (op == "log_softmax") actual = core::log_softmax(x, dim);
  else FAIL() << "unknown op " << op;

  Tensor expected = golden().tensor(spec.at("expected"));
  EXPECT_EQ(actual.dtype(), expected.dtype());
  bool wide = x.dtype() == kFloat64;
  double rtol = wide ? 1e-10 : 1e-5;
  double atol = op == "prod" ? 0.0 : wide ? 1e-12 : 1e-6;  // products are tiny: relative only
  EXPECT_TRUE(tensors_close(actual, expected, rtol, atol));
  if (spec.contains("indices")) {
    EXPECT_EQ(indices.dtype(), kInt64);
    EXPECT_TRUE(tensors_close(indices, golden().tensor(spec.at("indices")), 0.0, 0.0));
  }
}

INSTANTIATE_TEST_SUITE_P(Golden, ReduceGolden, ::testing::ValuesIn(golden_cases()),
                         [](const ::testing::TestParamInfo<GoldenCase>& info) { return info.param.name; });

// ---- larger shapes against naive loops ----

// For each element of x in row-major order: its value, the flat index of its output (reduced
// dims dropped) and its flat index within the reduced dims (both row-major).
struct Element {
  double value;
  int64_t out;
  int64_t within;
};

std::vector<Element> elements(const Tensor& x, const Dims& dims) {
  std::vector<bool> reduced(x.dim(), dims.empty());
  for (int64_t d : dims) reduced[d < 0 ? d + x.dim() : d] = true;
  std::vector<double> values = x.to_vector<double>();
  std::vector<Element> result;
  Dims index = Dims::filled(x.dim(), 0);
  for (double value : values) {
    int64_t out = 0, within = 0;
    for (int d = 0; d < x.dim(); ++d) {
      if (reduced[d]) within = within * x.sizes()[d] + index[d];
      else out = out * x.sizes()[d] + index[d];
    }
    result.push_back({value, out, within});
    for (int d = x.dim() - 1; d >= 0; --d) {
      if (++index[d] < x.sizes()[d]) break;
      index[d] = 0;
    }
  }
  return result;
}

// out[o] = fold over the elements of output o, in row-major order, from init.
std::vector<double> reference(const Tensor& x, const Dims& dims, double init,
                              const std::function<double(double, const Element&)>& fold) {
  std::vector<double> out(static_cast<size_t>(core::reduced_shape(x.sizes(), dims, false, "test").product()), init);
  for (const Element& e : elements(x, dims)) out[e.out] = fold(out[e.out], e);
  return out;
}

Tensor as_tensor(const std::vector<double>& values, const Tensor& like, DType dtype) {
  return core::tensor(values, like.sizes(), {.dtype = kFloat64}).to(dtype);
}

struct SweepCase {
  Dims shape;
  std::string view;
  Dims dims;
  std::string what;  // which path it takes
};

void PrintTo(const SweepCase& c, std::ostream* os) {
  *os << fmt::format("shape {} view {} dims {} ({})", c.shape, c.view, c.dims, c.what);
}

class ReduceSweep : public ::testing::TestWithParam<std::tuple<SweepCase, DType>> {};

TEST_P(ReduceSweep, MatchesNaiveLoops) {
  const auto& [c, dtype] = GetParam();
  manual_seed(7);
  Tensor x = make_view(core::randn(c.shape, {.dtype = dtype}), c.view);
  double rtol = dtype == kFloat64 ? 1e-10 : 2e-5;

  Tensor sum = core::sum(x, c.dims);
  std::vector<double> sums = reference(x, c.dims, 0.0, [](double a, const Element& e) { return a + e.value; });
  EXPECT_TRUE(tensors_close(sum, as_tensor(sums, sum, dtype), rtol, 1e-5)) << "sum";

  Tensor amax = core::amax(x, c.dims);
  std::vector<double> maxima =
      reference(x, c.dims, -INFINITY, [](double a, const Element& e) { return std::max(a, e.value); });
  EXPECT_TRUE(tensors_close(amax, as_tensor(maxima, amax, dtype), 0.0, 0.0)) << "amax";

  // The first index holding the maximum (expanded views repeat values: ties).
  std::vector<double> first = reference(x, c.dims, -1.0, [&](double a, const Element& e) {
    return a < 0 && e.value == maxima[e.out] ? static_cast<double>(e.within) : a;
  });
  if (c.dims.size() == 1) {
    EXPECT_TRUE(tensors_close(core::argmax(x, c.dims[0]), as_tensor(first, amax, kInt64), 0.0, 0.0)) << "argmax";
  } else if (c.dims.empty()) {
    EXPECT_TRUE(tensors_close(core::argmax(x), as_tensor(first, amax, kInt64), 0.0, 0.0)) << "argmax";
  }

  Tensor var = core::var(x, c.dims, 0);
  std::vector<double> counts = reference(x, c.dims, 0.0, [](double a, const Element&) { return a + 1; });
  std::vector<double> squares = reference(x, c.dims, 0.0, [&](double a, const Element& e) {
    double deviation = e.value - sums[e.out] / counts[e.out];
    return a + deviation * deviation;
  });
  for (size_t o = 0; o < squares.size(); ++o) squares[o] /= counts[o];
  EXPECT_TRUE(tensors_close(var, as_tensor(squares, var, dtype), rtol * 10, 1e-6)) << "var";

  Tensor lse = core::logsumexp(x, c.dims);
  std::vector<double> exps = reference(x, c.dims, 0.0, [](double a, const Element& e) { return a + std::exp(e.value); });
  for (double& v : exps) v = std::log(v);
  EXPECT_TRUE(tensors_close(lse, as_tensor(exps, lse, dtype), rtol, 1e-6)) << "logsumexp";
}

const SweepCase kSweepCases[] = {
    {{2048, 33}, "plain", {0}, "outer, few outputs: reduced range split into blocks"},
    {{33, 2048}, "plain", {1}, "inner, outputs shared among threads"},
    {{4, 40000}, "plain", {1}, "inner, few outputs: split"},
    {{40000, 4}, "plain", {0}, "outer, few outputs: split"},
    {{300, 2500}, "transposed", {0}, "transposed input: inner along stride 1"},
    {{64, 3000}, "plain", {0}, "outer with several tiles, the last partial"},
    {{64, 3000}, "sliced", {0}, "outer over a stepped slice"},
    {{6, 50, 70}, "sliced", {0, 2}, "two reduced dims that do not merge"},
    {{6, 50, 70}, "plain", {1}, "middle dim: outer with kept rows"},
    {{300, 400}, "plain", {}, "all dims merged into one run"},
    {{300, 400}, "transposed", {}, "all dims of a transpose: flat index in logical order"},
    {{100003}, "plain", {}, "one long run, split into blocks"},
    {{7, 1, 9}, "plain", {1}, "a size-1 reduced dim: a map"},
    {{9, 8, 7}, "expanded", {1}, "a broadcast (stride 0) reduced dim"},
    {{9, 8, 7}, "expanded", {0, 2}, "a broadcast kept dim"},
    {{200, 8, 70}, "expanded", {}, "all dims of an expanded input: ties everywhere"},
};

INSTANTIATE_TEST_SUITE_P(Paths, ReduceSweep,
                         ::testing::Combine(::testing::ValuesIn(kSweepCases), ::testing::Values(kFloat32, kFloat64)));

// ---- accuracy and threads ----

TEST(ReduceAccuracy, SumOf16MFloat32IsAccurate) {
  constexpr int64_t n = int64_t{1} << 24;
  const float tenth = 0.1f;
  Tensor x = core::full({n}, tenth);
  double exact = static_cast<double>(n) * static_cast<double>(tenth);
  // A float32 running sum would stall near 2^21; the accumulation must not.
  EXPECT_NEAR(core::sum(x).item<double>(), exact, exact * 1e-7);
  EXPECT_NEAR(core::mean(x).item<double>(), static_cast<double>(tenth), 1e-7);
  // A few long columns (outer reduction, split) and a few long rows (inner, split).
  Tensor columns = core::sum(core::view(x, {n / 8, 8}), {0});
  Tensor rows = core::sum(core::view(x, {8, n / 8}), {1});
  for (const Tensor& t : {columns, rows}) {
    for (double v : t.to_vector<double>()) EXPECT_NEAR(v, exact / 8, exact / 8 * 1e-7);
  }
}

// Sets the thread count for a scope.
class Threads {
 public:
  explicit Threads(int n) : previous_(get_num_threads()) { set_num_threads(n); }
  ~Threads() { set_num_threads(previous_); }

 private:
  int previous_;
};

TEST(ReduceThreads, ResultsDoNotDependOnTheThreadCount) {
  manual_seed(3);
  Tensor long_row = core::randn({3 << 20});
  Tensor square = core::randn({2048, 2048});
  Tensor few_rows = core::randn({4, 1 << 18});
  auto compute = [&] {
    return std::vector<Tensor>{core::sum(long_row),
                               core::sum(square, {0}),
                               core::sum(square, {1}),
                               core::sum(few_rows, {1}),
                               core::sum(core::transpose(few_rows, 0, 1), {0}),
                               core::var(square),
                               core::logsumexp(long_row, {}),
                               core::argmax(long_row),
                               core::softmax(square, 0),
                               core::softmax(square, 1)};
  };
  std::vector<Tensor> one, two;
  {
    Threads threads(1);
    one = compute();
  }
  {
    Threads threads(2);
    two = compute();
  }
  for (size_t i = 0; i < one.size(); ++i) EXPECT_TRUE(tensors_close(one[i], two[i], 0.0, 0.0)) << "result " << i;
}

// ---- softmax beyond the golden cases ----

class SoftmaxSweep : public ::testing::TestWithParam<std::tuple<SweepCase, DType>> {};

TEST_P(SoftmaxSweep, MatchesNaiveLoops) {
  const auto& [c, dtype] = GetParam();
  manual_seed(11);
  Tensor x = make_view(core::mul(core::randn(c.shape, {.dtype = dtype}), 30.0), c.view);  // large logits
  int64_t dim = c.dims[0];
  Dims kept_dims = {dim};
  std::vector<double> maxima = reference(x, kept_dims, -INFINITY, [](double a, const Element& e) {
    return std::max(a, e.value);
  });
  std::vector<double> sums = reference(x, kept_dims, 0.0, [&](double a, const Element& e) {
    return a + std::exp(e.value - maxima[e.out]);
  });
  std::vector<double> soft, log_soft;
  for (const Element& e : elements(x, kept_dims)) {
    soft.push_back(std::exp(e.value - maxima[e.out]) / sums[e.out]);
    log_soft.push_back(e.value - maxima[e.out] - std::log(sums[e.out]));
  }
  double rtol = dtype == kFloat64 ? 1e-10 : 1e-4;
  EXPECT_TRUE(tensors_close(core::softmax(x, dim), as_tensor(soft, x, dtype), rtol, 1e-7));
  EXPECT_TRUE(tensors_close(core::log_softmax(x, dim), as_tensor(log_soft, x, dtype), rtol, 1e-4));
}

const SweepCase kSoftmaxCases[] = {
    {{64, 3000}, "plain", {1}, "contiguous rows"},
    {{64, 3000}, "plain", {0}, "columns: tiles, the last partial"},
    {{300, 70}, "transposed", {0}, "a transposed input: contiguous along the dim, strided output"},
    {{300, 70}, "transposed", {1}, "a transposed input across the dim"},
    {{20, 30, 40}, "sliced", {1}, "a stepped slice"},
    {{20, 30, 40}, "sliced", {-1}, "rows of a stepped slice"},
    {{20, 30, 40}, "expanded", {1}, "a broadcast dim"},
    {{5, 1, 6}, "plain", {1}, "a dim of size 1"},
};

INSTANTIATE_TEST_SUITE_P(Paths, SoftmaxSweep,
                         ::testing::Combine(::testing::ValuesIn(kSoftmaxCases), ::testing::Values(kFloat32, kFloat64)));

TEST(Softmax, LargeLogitsAndInfinities) {
  Tensor x = core::tensor({1000.0f, 1001.0f, 1002.0f, -INFINITY});
  double total = std::exp(-2.0) + std::exp(-1.0) + 1.0;
  Tensor expected = core::tensor({std::exp(-2.0) / total, std::exp(-1.0) / total, 1.0 / total, 0.0});
  EXPECT_TRUE(tensors_close(core::softmax(x, 0), expected));
  Tensor log_expected = core::tensor({-2.0 - std::log(total), -1.0 - std::log(total), -std::log(total), -kInf});
  EXPECT_TRUE(tensors_close(core::log_softmax(x, 0), log_expected));
  Tensor twice = core::tensor({1000.0, 1000.0}, {.dtype = kFloat64});
  EXPECT_NEAR(core::logsumexp(twice, {}).item<double>(), 1000.0 + std::log(2.0), 1e-12);
}

// ---- shapes: empty, 0-d, size 1, keepdim ----

TEST(ReduceShapes, ReducedShapeWrapsAndKeeps) {
  EXPECT_EQ(core::reduced_shape({2, 3, 4}, {-1, 0}, false, "sum"), (Dims{3}));
  EXPECT_EQ(core::reduced_shape({2, 3, 4}, {-1, 0}, true, "sum"), (Dims{1, 3, 1}));
  EXPECT_EQ(core::reduced_shape({2, 3, 4}, {}, false, "sum"), (Dims{}));
  EXPECT_EQ(core::reduced_shape({2, 3, 4}, {}, true, "sum"), (Dims{1, 1, 1}));
  EXPECT_EQ(core::reduced_shape({}, {0}, true, "sum"), (Dims{}));
  EXPECT_TRUE(throws_with<IndexError>([] { core::reduced_shape({2, 3}, {1, -1}, false, "sum"); },
                                      {"sum", "dim 1", "more than once", "[1, -1]"}));
  EXPECT_TRUE(throws_with<IndexError>([] { core::reduced_shape({2, 3}, {2}, false, "mean"); }, {"mean", "dim 2"}));
  EXPECT_TRUE(throws_with<IndexError>([] { core::sum(core::zeros({2, 3}), {0, -2}); }, {"sum", "more than once"}));
}

TEST(ReduceShapes, KeepdimAndSizeOneDims) {
  Tensor x = core::view(core::arange(6.0), {2, 1, 3});
  Tensor kept = core::sum(x, {1}, true);
  EXPECT_EQ(kept.sizes(), (Dims{2, 1, 3}));
  EXPECT_TRUE(tensors_close(kept, x));
  Tensor rows = core::sum(x, {0, 2}, true);
  EXPECT_EQ(rows.sizes(), (Dims{1, 1, 1}));
  EXPECT_EQ(rows.item<double>(), 15.0);
  auto [values, indices] = core::max(x, 2, true);
  EXPECT_EQ(values.sizes(), (Dims{2, 1, 1}));
  EXPECT_EQ(indices.to_vector<int64_t>(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(core::argmax(x, 1).to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 0, 0, 0, 0}));
}

TEST(ReduceShapes, ZeroDimTensors) {
  Tensor x = core::scalar_tensor(2.5);
  for (const Tensor& r : {core::sum(x), core::sum(x, {0}), core::sum(x, {-1}, true), core::amax(x), core::mean(x)}) {
    EXPECT_EQ(r.dim(), 0);
    EXPECT_EQ(r.item<double>(), 2.5);
  }
  auto [value, index] = core::max(x, 0);
  EXPECT_EQ(value.item<double>(), 2.5);
  EXPECT_EQ(index.item<int64_t>(), 0);
  EXPECT_EQ(core::argmin(x).item<int64_t>(), 0);
  EXPECT_EQ(core::softmax(x, 0).item<double>(), 1.0);
  EXPECT_EQ(core::log_softmax(x, -1).item<double>(), 0.0);
  EXPECT_TRUE(std::isnan(core::var(x).item<double>()));  // one element, correction 1
  EXPECT_EQ(core::var(x, {}, 0).item<double>(), 0.0);
  EXPECT_TRUE(throws_with<IndexError>([&] { core::sum(x, {1}); }, {"sum", "dim 1"}));
}

TEST(ReduceShapes, EmptyReductionsTakeTheIdentity) {
  Tensor e = core::zeros({0, 3});
  EXPECT_EQ(core::sum(e).item<double>(), 0.0);
  EXPECT_EQ(core::prod(e).item<double>(), 1.0);
  EXPECT_TRUE(std::isnan(core::mean(e).item<double>()));
  EXPECT_TRUE(std::isnan(core::var(e).item<double>()));
  EXPECT_EQ(core::norm(e).item<double>(), 0.0);
  EXPECT_EQ(core::logsumexp(e, {}).item<double>(), -INFINITY);
  EXPECT_TRUE(core::all(e).item<bool>());
  EXPECT_FALSE(core::any(e).item<bool>());
  EXPECT_EQ(core::sum(core::zeros({0, 3}, {.dtype = kInt64})).dtype(), kInt64);
  Tensor columns = core::sum(e, {0});
  EXPECT_EQ(columns.sizes(), (Dims{3}));
  EXPECT_EQ(columns.to_vector<double>(), (std::vector<double>{0, 0, 0}));
  EXPECT_EQ(core::prod(e, {0}).to_vector<double>(), (std::vector<double>{1, 1, 1}));
  // Reducing a non-empty dim of an empty tensor has no outputs, even for max.
  EXPECT_EQ(core::amax(e, {1}).sizes(), (Dims{0}));
  EXPECT_EQ(core::max(e, 1).second.sizes(), (Dims{0}));
  EXPECT_EQ(core::softmax(e, 1).sizes(), (Dims{0, 3}));
}

TEST(ReduceShapes, ExtremaOfAnEmptyDimAreErrors) {
  Tensor e = core::zeros({3, 0});
  EXPECT_TRUE(throws_with<ValueError>([&] { core::max(e); }, {"max", "[3, 0]"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { core::min(e); }, {"min", "[3, 0]"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { core::amax(e, {1}); }, {"amax", "[3, 0]"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { core::amin(e, {1}); }, {"amin", "[3, 0]"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { core::max(e, 1); }, {"max", "[3, 0]"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { core::argmax(e, 1); }, {"argmax", "[3, 0]"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { core::argmin(e); }, {"argmin", "[3, 0]"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { core::norm(e, INFINITY); }, {"norm", "inf", "[3, 0]"}));
}

// ---- dtypes ----

TEST(ReduceDTypes, IntegerAndBoolResults) {
  Tensor flags = core::tensor({true, false, true, true});
  EXPECT_EQ(core::sum(flags).dtype(), kInt64);
  EXPECT_EQ(core::sum(flags).item<int64_t>(), 3);
  EXPECT_EQ(core::prod(flags).dtype(), kInt64);
  Tensor big = core::tensor(std::vector<int64_t>{int64_t{1} << 60, 1, 2});
  EXPECT_EQ(core::sum(big).item<int64_t>(), (int64_t{1} << 60) + 3);  // exact, not via double
  EXPECT_EQ(core::amax(big).dtype(), kInt64);
  EXPECT_EQ(core::all(core::tensor({1.0f, NAN})).dtype(), kBool);
  EXPECT_TRUE(core::all(core::tensor({1.0f, NAN})).item<bool>());  // NaN is nonzero
  EXPECT_FALSE(core::any(core::tensor({0.0, -0.0})).item<bool>());
}

TEST(ReduceDTypes, FloatingOnlyOpsRejectIntegers) {
  Tensor ints = core::tensor(std::vector<int64_t>{1, 2, 3});
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::mean(ints); }, {"mean", "int64"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::var(ints); }, {"var", "int64"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::std(ints); }, {"std", "int64"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::norm(ints); }, {"norm", "int64"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::logsumexp(ints, {}); }, {"logsumexp", "int64"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::softmax(ints, 0); }, {"softmax", "int64"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::log_softmax(ints, 0); }, {"log_softmax", "int64"}));
  Tensor flags = core::tensor({true, false});
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::mean(flags); }, {"mean", "bool"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::argmax(flags); }, {"argmax", "bool"}));
  EXPECT_EQ(core::max(flags, 0).second.item<int64_t>(), 0);  // max along a dim takes bool
}

}  // namespace
}  // namespace descent
