// Binary elementwise ops: PyTorch's results (golden/binary.json, from gen_binary.py) for every
// dtype combination, scalar side and in-place form, each in four operand layouts (contiguous,
// transposed, strided, expanded); writes through views and overlapping operands; the tiled and
// threaded paths against the plain one; errors by name.
#include <climits>
#include <functional>
#include <limits>
#include <map>
#include <string>

#include <descent/core/iterate.h>
#include "testing.h"

namespace descent {
namespace {

using testing::Golden;
using testing::tensors_close;
using testing::throws_with;

const Golden& golden() {
  static const Golden file("core/golden/binary.json");
  return file;
}

// ---- operand layouts: the same values in other geometries ----

enum class Layout { Contiguous, Transposed, Strided, Expanded };

std::string layout_name(Layout layout) {
  switch (layout) {
    case Layout::Contiguous: return "Contiguous";
    case Layout::Transposed: return "Transposed";
    case Layout::Strided: return "Strided";
    case Layout::Expanded: return "Expanded";
  }
  return "?";
}

// t's values with the first and last dims' strides swapped (memory of the transpose).
Tensor transposed_copy(const Tensor& t) {
  if (t.dim() < 2) return t;
  return core::transpose(core::contiguous(core::transpose(t, 0, -1)), 0, -1);
}

// t's values in every other element of a buffer twice as long in the last dim.
Tensor strided_copy(const Tensor& t) {
  if (t.dim() == 0) return t;
  Dims buffer_sizes = t.sizes();
  buffer_sizes.back() *= 2;
  Tensor strided = core::slice(core::zeros(buffer_sizes, {.dtype = t.dtype()}), -1, 1, INT64_MAX, 2);
  core::copy_(strided, t);
  return strided;
}

// t's values in `layout`; Expanded broadcasts t to `shape` (a view with stride-0 dims).
Tensor in_layout(const Tensor& t, Layout layout, const Dims& shape) {
  switch (layout) {
    case Layout::Contiguous: return t;
    case Layout::Transposed: return transposed_copy(t);
    case Layout::Strided: return strided_copy(t);
    // A 0-d operand stays 0-d: expanded it would be dimensioned, which changes the result dtype.
    case Layout::Expanded: return t.dim() == 0 ? t : core::expand(t, shape);
  }
  return t;
}

// The golden result's dtype, and its values: exactly for integers and bools, within float32
// rounding for floats (PyTorch's vectorised pow and scalar division may round differently).
::testing::AssertionResult matches(const Tensor& actual, const Tensor& expected) {
  if (actual.dtype() != expected.dtype()) {
    return ::testing::AssertionFailure() << "dtype " << dtype_name(actual.dtype()) << " != expected "
                                         << dtype_name(expected.dtype());
  }
  bool exact = !is_floating(expected.dtype());
  return tensors_close(actual, expected, exact ? 0.0 : 2e-6, exact ? 0.0 : 1e-30);
}

Scalar golden_scalar(const std::string& name) {
  const nlohmann::json& entry = golden().json().at(name);
  std::string kind = entry.at("kind").get<std::string>();
  if (kind == "bool") return entry.at("scalar").get<bool>();
  if (kind == "int") return entry.at("scalar").get<int64_t>();
  return entry.at("scalar").get<double>();
}

// Calls check(op, combo) for every golden result "<op>/<combo>" whose op is in `ops` and whose
// operands are a tensor and a scalar (combos "s_...") or not, as `scalar_combos` says; returns
// how many there were.
template <typename Ops, typename Check>
int for_each_golden(const Ops& ops, bool scalar_combos, const Check& check) {
  int cases = 0;
  for (const auto& [key, value] : golden().json().items()) {
    size_t slash = key.find('/');
    std::string op = key.substr(0, slash);
    std::string combo = key.substr(slash + 1);
    if (op == "inputs" || !ops.contains(op) || combo.starts_with("s_") != scalar_combos) continue;
    check(op, combo);
    ++cases;
  }
  return cases;
}

using TensorOp = std::function<Tensor(const Tensor&, const Tensor&)>;
using ScalarOp = std::function<Tensor(const Tensor&, const Scalar&)>;
using InPlaceOp = std::function<void(const Tensor&, const Tensor&)>;
using InPlaceScalarOp = std::function<void(const Tensor&, const Scalar&)>;

const std::map<std::string, TensorOp> kTensorOps = {
    {"add", [](const Tensor& a, const Tensor& b) { return core::add(a, b); }},
    {"add_alpha", [](const Tensor& a, const Tensor& b) { return core::add(a, b, 2); }},
    {"add_alpha_float", [](const Tensor& a, const Tensor& b) { return core::add(a, b, -0.5); }},
    {"sub", [](const Tensor& a, const Tensor& b) { return core::sub(a, b); }},
    {"sub_alpha", [](const Tensor& a, const Tensor& b) { return core::sub(a, b, 3); }},
    {"mul", [](const Tensor& a, const Tensor& b) { return core::mul(a, b); }},
    {"div", [](const Tensor& a, const Tensor& b) { return core::div(a, b); }},
    {"pow", [](const Tensor& a, const Tensor& b) { return core::pow(a, b); }},
    {"maximum", [](const Tensor& a, const Tensor& b) { return core::maximum(a, b); }},
    {"minimum", [](const Tensor& a, const Tensor& b) { return core::minimum(a, b); }},
    {"remainder", [](const Tensor& a, const Tensor& b) { return core::remainder(a, b); }},
    {"eq", [](const Tensor& a, const Tensor& b) { return core::eq(a, b); }},
    {"ne", [](const Tensor& a, const Tensor& b) { return core::ne(a, b); }},
    {"lt", [](const Tensor& a, const Tensor& b) { return core::lt(a, b); }},
    {"le", [](const Tensor& a, const Tensor& b) { return core::le(a, b); }},
    {"gt", [](const Tensor& a, const Tensor& b) { return core::gt(a, b); }},
    {"ge", [](const Tensor& a, const Tensor& b) { return core::ge(a, b); }},
    {"logical_and", [](const Tensor& a, const Tensor& b) { return core::logical_and(a, b); }},
    {"logical_or", [](const Tensor& a, const Tensor& b) { return core::logical_or(a, b); }},
    {"logical_xor", [](const Tensor& a, const Tensor& b) { return core::logical_xor(a, b); }},
};

const std::map<std::string, ScalarOp> kScalarOps = {
    {"add", [](const Tensor& t, const Scalar& s) { return core::add(t, s); }},
    {"sub", [](const Tensor& t, const Scalar& s) { return core::sub(t, s); }},
    {"rsub", [](const Tensor& t, const Scalar& s) { return core::sub(s, t); }},
    {"mul", [](const Tensor& t, const Scalar& s) { return core::mul(t, s); }},
    {"div", [](const Tensor& t, const Scalar& s) { return core::div(t, s); }},
    {"rdiv", [](const Tensor& t, const Scalar& s) { return core::div(s, t); }},
    {"rpow", [](const Tensor& t, const Scalar& s) { return core::pow(s, t); }},
    {"remainder", [](const Tensor& t, const Scalar& s) { return core::remainder(t, s); }},
    {"eq", [](const Tensor& t, const Scalar& s) { return core::eq(t, s); }},
    {"ne", [](const Tensor& t, const Scalar& s) { return core::ne(t, s); }},
    {"lt", [](const Tensor& t, const Scalar& s) { return core::lt(t, s); }},
    {"le", [](const Tensor& t, const Scalar& s) { return core::le(t, s); }},
    {"gt", [](const Tensor& t, const Scalar& s) { return core::gt(t, s); }},
    {"ge", [](const Tensor& t, const Scalar& s) { return core::ge(t, s); }},
};

const std::map<std::string, InPlaceOp> kInPlaceOps = {
    {"add_", [](const Tensor& a, const Tensor& b) { core::add_(a, b); }},
    {"add_alpha_", [](const Tensor& a, const Tensor& b) { core::add_(a, b, 2); }},
    {"sub_", [](const Tensor& a, const Tensor& b) { core::sub_(a, b); }},
    {"mul_", [](const Tensor& a, const Tensor& b) { core::mul_(a, b); }},
    {"div_", [](const Tensor& a, const Tensor& b) { core::div_(a, b); }},
};

const std::map<std::string, InPlaceScalarOp> kInPlaceScalarOps = {
    {"add_", [](const Tensor& t, const Scalar& s) { core::add_(t, s); }},
    {"sub_", [](const Tensor& t, const Scalar& s) { core::sub_(t, s); }},
    {"mul_", [](const Tensor& t, const Scalar& s) { core::mul_(t, s); }},
    {"div_", [](const Tensor& t, const Scalar& s) { core::div_(t, s); }},
};

// ---- golden: PyTorch's results in every layout ----

class BinaryGolden : public ::testing::TestWithParam<Layout> {};

TEST_P(BinaryGolden, TensorTensor) {
  Layout layout = GetParam();
  int cases = for_each_golden(kTensorOps, false, [&](const std::string& op, const std::string& combo) {
    Tensor a = golden().tensor("inputs/" + combo + "/a");
    Tensor b = golden().tensor("inputs/" + combo + "/b");
    Dims shape = broadcast_shapes(a.sizes(), b.sizes(), "test");
    Tensor out = kTensorOps.at(op)(in_layout(a, layout, shape), in_layout(b, layout, shape));
    EXPECT_TRUE(matches(out, golden().tensor(op + "/" + combo))) << op << "/" << combo;
  });
  EXPECT_GT(cases, 200);
}

TEST_P(BinaryGolden, TensorScalar) {
  Layout layout = GetParam();
  int cases = for_each_golden(kScalarOps, true, [&](const std::string& op, const std::string& combo) {
    Tensor t = golden().tensor("inputs/" + combo + "/a");
    Scalar s = golden_scalar("inputs/" + combo + "/s");
    Tensor out = kScalarOps.at(op)(in_layout(t, layout, t.sizes()), s);
    EXPECT_TRUE(matches(out, golden().tensor(op + "/" + combo))) << op << "/" << combo;
  });
  EXPECT_GT(cases, 100);
}

// In place, self in the layout (Expanded: only other is expanded; self must not be).
TEST_P(BinaryGolden, InPlace) {
  Layout layout = GetParam();
  Layout self_layout = layout == Layout::Expanded ? Layout::Contiguous : layout;
  auto self_for = [&](const std::string& combo) {
    return in_layout(core::clone(golden().tensor("inputs/" + combo + "/a")), self_layout, {});
  };
  int cases = for_each_golden(kInPlaceOps, false, [&](const std::string& op, const std::string& combo) {
    Tensor self = self_for(combo);
    Tensor other = in_layout(golden().tensor("inputs/" + combo + "/b"), layout, self.sizes());
    uint64_t version = self.version();
    kInPlaceOps.at(op)(self, other);
    EXPECT_EQ(self.version(), version + 1) << op << "/" << combo;
    EXPECT_TRUE(matches(self, golden().tensor(op + "/" + combo))) << op << "/" << combo;
  });
  EXPECT_GT(cases, 25);
  cases = for_each_golden(kInPlaceScalarOps, true, [&](const std::string& op, const std::string& combo) {
    Tensor self = self_for(combo);
    kInPlaceScalarOps.at(op)(self, golden_scalar("inputs/" + combo + "/s"));
    EXPECT_TRUE(matches(self, golden().tensor(op + "/" + combo))) << op << "/" << combo;
  });
  EXPECT_GT(cases, 15);
}

TEST_P(BinaryGolden, Where) {
  Layout layout = GetParam();
  std::map<std::string, int> ops = {{"where", 0}, {"rwhere", 0}};
  int cases = for_each_golden(ops, false, [&](const std::string& op, const std::string& combo) {
    Tensor c = golden().tensor("inputs/" + combo + "/c");
    Tensor a = golden().tensor("inputs/" + combo + "/a");
    Tensor out;
    if (golden().has("inputs/" + combo + "/s")) {
      Scalar s = golden_scalar("inputs/" + combo + "/s");
      Dims shape = broadcast_shapes(c.sizes(), a.sizes(), "test");
      Tensor cl = in_layout(c, layout, shape), al = in_layout(a, layout, shape);
      out = op == "where" ? core::where(cl, al, s) : core::where(cl, s, al);
    } else {
      Tensor b = golden().tensor("inputs/" + combo + "/b");
      Dims shape = broadcast_shapes(broadcast_shapes(c.sizes(), a.sizes(), "test"), b.sizes(), "test");
      out = core::where(in_layout(c, layout, shape), in_layout(a, layout, shape), in_layout(b, layout, shape));
    }
    EXPECT_TRUE(matches(out, golden().tensor(op + "/" + combo))) << op << "/" << combo;
  });
  EXPECT_EQ(cases, 14);
}

INSTANTIATE_TEST_SUITE_P(Layouts, BinaryGolden,
                         ::testing::Values(Layout::Contiguous, Layout::Transposed, Layout::Strided,
                                           Layout::Expanded),
                         [](const ::testing::TestParamInfo<Layout>& info) { return layout_name(info.param); });

// ---- semantics stated by IEEE 754 and two's complement ----

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(BinarySemantics, NaNPropagatesThroughMaximumAndMinimumForBothFloatTypes) {
  for (DType dtype : {kFloat32, kFloat64}) {
    Tensor a = core::tensor({kNaN, 1.0, 2.0}, {.dtype = dtype});
    Tensor b = core::tensor({1.0, kNaN, -kInf}, {.dtype = dtype});
    EXPECT_TRUE(tensors_close(core::maximum(a, b), core::tensor({kNaN, kNaN, 2.0}, {.dtype = dtype})));
    EXPECT_TRUE(tensors_close(core::minimum(a, b), core::tensor({kNaN, kNaN, -kInf}, {.dtype = dtype})));
  }
}

TEST(BinarySemantics, ComparisonsWithNaNAreFalseExceptNotEqual) {
  Tensor nan = core::tensor({kNaN, kNaN});
  Tensor other = core::tensor({kNaN, 1.0});
  std::vector<bool> all_false = {false, false};
  for (const TensorOp& op : {kTensorOps.at("eq"), kTensorOps.at("lt"), kTensorOps.at("le"), kTensorOps.at("gt"),
                             kTensorOps.at("ge")}) {
    EXPECT_EQ(op(nan, other).to_vector<bool>(), all_false);
  }
  EXPECT_EQ(core::ne(nan, other).to_vector<bool>(), (std::vector<bool>{true, true}));
  EXPECT_EQ(core::ne(nan, 1.0).to_vector<bool>(), (std::vector<bool>{true, true}));
}

TEST(BinarySemantics, IntegerTrueDivisionByZeroGivesInfinityAndNaN) {
  Tensor a = core::tensor<int64_t>({3, -3, 0});
  Tensor out = core::div(a, core::zeros({3}, {.dtype = kInt64}));
  EXPECT_EQ(out.dtype(), kFloat32);
  EXPECT_TRUE(tensors_close(out, core::tensor({kInf, -kInf, kNaN})));
}

TEST(BinarySemantics, Int64OverflowWrapsAround) {
  Tensor big = core::tensor<int64_t>({INT64_MAX, INT64_MIN});
  EXPECT_EQ(core::add(big, 1).to_vector<int64_t>(), (std::vector<int64_t>{INT64_MIN, INT64_MIN + 1}));
  EXPECT_EQ(core::sub(big, 1).to_vector<int64_t>(), (std::vector<int64_t>{INT64_MAX - 1, INT64_MAX}));
  EXPECT_EQ(core::mul(big, 2).to_vector<int64_t>(), (std::vector<int64_t>{-2, 0}));
  // INT64_MIN % -1 overflows a C++ %; Python's answer is 0.
  EXPECT_EQ(core::remainder(big, -1).to_vector<int64_t>(), (std::vector<int64_t>{0, 0}));
}

TEST(BinarySemantics, BoolAddIsOrAndMulIsAnd) {
  Tensor a = core::tensor({true, true, false, false});
  Tensor b = core::tensor({true, false, true, false});
  Tensor sum = core::add(a, b);
  EXPECT_EQ(sum.dtype(), kBool);
  EXPECT_EQ(sum.to_vector<bool>(), (std::vector<bool>{true, true, true, false}));
  EXPECT_EQ(core::mul(a, b).to_vector<bool>(), (std::vector<bool>{true, false, false, false}));
}

TEST(BinarySemantics, EmptyAndZeroDimOperandsWithScalars) {
  Tensor empty = core::zeros({0, 3});
  Tensor sum = core::add(empty, 1);
  EXPECT_EQ(sum.sizes(), (Dims{0, 3}));
  EXPECT_EQ(core::lt(empty, 1).dtype(), kBool);
  Tensor scalar = core::scalar_tensor(2.5, {.dtype = kFloat64});
  Tensor product = core::mul(scalar, 2);
  EXPECT_EQ(product.dim(), 0);
  EXPECT_EQ(product.dtype(), kFloat64);
  EXPECT_EQ(product.item<double>(), 5.0);
  core::add_(scalar, 1);
  EXPECT_EQ(scalar.item<double>(), 3.5);
}

// ---- in place through views ----

// 0, 1, 2, ... as float32 in a shape
Tensor iota(const Dims& shape) { return core::view(core::arange(shape.product(), {.dtype = kFloat32}), shape); }

TEST(BinaryInPlace, WritesThroughATransposedSlicedViewAndLeavesTheRest) {
  Tensor x = iota({3, 4});
  Tensor view = core::transpose(core::slice(x, 1, 0, INT64_MAX, 2), 0, 1);  // columns 0 and 2: [2, 3]
  core::add_(view, core::tensor({100.0, 200.0, 300.0}));  // broadcast along view's rows
  for (int64_t r = 0; r < 3; ++r) {
    for (int64_t c = 0; c < 4; ++c) {
      double original = static_cast<double>(r * 4 + c);
      double expected = c % 2 == 0 ? original + 100.0 * (r + 1) : original;
      EXPECT_EQ(x.at({r, c}), expected) << r << ", " << c;
    }
  }
}

TEST(BinaryInPlace, EveryOpBumpsTheVersionOnce) {
  Tensor x = core::ones({2, 2});
  uint64_t version = x.version();
  core::add_(x, 1);
  core::sub_(x, core::ones({2}));
  core::mul_(x, 3.0);
  core::div_(x, core::ones({2, 2}));
  EXPECT_EQ(x.version(), version + 4);
  EXPECT_TRUE(tensors_close(x, core::full({2, 2}, 3.0f)));
}

TEST(BinaryInPlace, SelfAsOtherReadsEachElementBeforeWritingIt) {
  Tensor x = iota({3, 3});
  core::add_(x, x);
  EXPECT_TRUE(tensors_close(x, core::mul(iota({3, 3}), 2)));
  core::mul_(core::transpose(x, 0, 1), core::transpose(x, 0, 1));
  EXPECT_TRUE(tensors_close(x, core::mul(core::mul(iota({3, 3}), iota({3, 3})), 4)));
}

TEST(BinaryInPlace, PartiallyOverlappingOtherIsReadAsItWasBefore) {
  Tensor x = iota({6});
  core::add_(core::slice(x, 0, 1), core::slice(x, 0, 0, 5));  // x[1:] += x[:-1], all read first
  EXPECT_EQ(x.to_vector<float>(), (std::vector<float>{0, 1, 3, 5, 7, 9}));
  Tensor m = iota({3, 3});
  core::add_(core::transpose(m, 0, 1), m);  // m.t() += m: m becomes m + m.t()
  for (int64_t r = 0; r < 3; ++r) {
    for (int64_t c = 0; c < 3; ++c) EXPECT_EQ(m.at({r, c}), static_cast<double>(r * 3 + c + c * 3 + r));
  }
}

// ---- the tiled and multi-threaded paths give what the plain contiguous one gives ----

class BinaryLargeLoops : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    previous_threads_ = get_num_threads();
    set_num_threads(GetParam());
  }
  void TearDown() override { set_num_threads(previous_threads_); }

 private:
  int previous_threads_ = 1;
};

TEST_P(BinaryLargeLoops, TransposedOperandsMatchContiguousCopies) {
  manual_seed(7);
  for (DType dtype : {kFloat32, kFloat64}) {
    // Sizes that are not multiples of the tile sides, above the threading grain.
    Tensor a = core::transpose(core::randn({261, 317}, {.dtype = dtype}), 0, 1);  // [317, 261]
    Tensor b = core::randn({317, 261}, {.dtype = dtype});
    Tensor expected = core::add(core::contiguous(a), b);
    EXPECT_TRUE(tensors_close(core::add(a, b), expected, 0, 0)) << dtype_name(dtype);
    EXPECT_TRUE(tensors_close(core::add(b, a), expected, 0, 0)) << dtype_name(dtype);
    EXPECT_TRUE(tensors_close(core::where(core::gt(a, 0.0), a, b),
                              core::where(core::gt(core::contiguous(a), 0.0), core::contiguous(a), b), 0, 0));
    // In place on a transposed self, from a contiguous other.
    Tensor self_storage = core::clone(core::transpose(a, 0, 1));
    Tensor self = core::transpose(self_storage, 0, 1);
    core::add_(self, b);
    EXPECT_TRUE(tensors_close(self, expected, 0, 0)) << dtype_name(dtype);
  }
  // Three dims, the last two crossed, with a broadcast batch operand.
  Tensor c = core::permute(core::randn({3, 150, 130}), {0, 2, 1});  // [3, 130, 150]
  Tensor d = core::randn({130, 150});
  EXPECT_TRUE(tensors_close(core::mul(c, d), core::mul(core::contiguous(c), d), 0, 0));
}

// Crossing operands of every element size (bool 1, float32 4, int64 and float64 8 bytes), and
// one whose rows are themselves strided (staged element by element instead of by blocks).
TEST_P(BinaryLargeLoops, CrossingOperandsOfEveryElementSizeAndStride) {
  manual_seed(11);
  Tensor condition = core::transpose(core::gt(core::randn({203, 330}), 0.0), 0, 1);  // bool [330, 203]
  Tensor x = core::randn({330, 203});
  Tensor y = core::transpose(core::randn({203, 330}), 0, 1);
  EXPECT_TRUE(tensors_close(core::where(condition, x, y),
                            core::where(core::contiguous(condition), x, core::contiguous(y)), 0, 0));
  Tensor i = core::transpose(core::randint(-50, 50, {203, 330}), 0, 1);  // int64 [330, 203]
  Tensor j = core::randint(-50, 50, {330, 203});
  EXPECT_TRUE(tensors_close(core::mul(i, j), core::mul(core::contiguous(i), j), 0, 0));
  Tensor self = core::clone(j);
  core::sub_(self, i, 3);
  EXPECT_TRUE(tensors_close(self, core::sub(j, core::contiguous(i), 3), 0, 0));
  // Every other column of a transposed matrix: rows two elements apart.
  Tensor every_other = core::transpose(core::slice(core::randn({317, 522}), 1, 0, INT64_MAX, 2), 0, 1);
  Tensor z = core::randn({261, 317});
  EXPECT_TRUE(tensors_close(core::sub(every_other, z), core::sub(core::contiguous(every_other), z), 0, 0));
}

TEST_P(BinaryLargeLoops, ErrorInsideThreadsReachesTheCaller) {
  Tensor a = core::ones({100000}, {.dtype = kInt64});
  Tensor b = core::ones({100000}, {.dtype = kInt64});
  core::fill_(core::slice(b, 0, 99990), 0);
  EXPECT_TRUE(throws_with<ValueError>([&] { core::remainder(a, b); }, {"remainder", "division by zero"}));
}

INSTANTIATE_TEST_SUITE_P(Threads, BinaryLargeLoops, ::testing::Values(1, 2),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::to_string(info.param) + "_threads";
                         });

// ---- errors name the op and the shapes or dtypes ----

TEST(BinaryErrors, ShapesThatDoNotBroadcast) {
  Tensor a = core::zeros({2, 3}), b = core::zeros({4});
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::add(a, b); }, {"add", "[2, 3]", "[4]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::lt(a, b); }, {"lt", "[2, 3]", "[4]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::where(core::gt(a, 0), a, b); }, {"where", "[2, 3]", "[4]"}));
  // In place: other must broadcast to self's own shape.
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::add_(core::zeros({3}), a); }, {"add_", "[2, 3]", "[3]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { core::mul_(a, b); }, {"mul_", "[2, 3]", "[4]"}));
}

TEST(BinaryErrors, BoolSubtraction) {
  Tensor mask = core::tensor({true, false});
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::sub(mask, mask); }, {"sub", "two bool tensors", "logical_xor"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::sub(mask, 1); }, {"sub", "bool tensor", "logical_not"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::sub(1, mask); }, {"sub", "bool tensor"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::sub(core::zeros({2}), mask); }, {"sub", "bool tensor"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::sub_(mask, true); }, {"sub_", "two bool"}));
}

TEST(BinaryErrors, AlphaOfTheWrongKind) {
  Tensor i = core::tensor<int64_t>({1, 2});
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::add(i, i, 0.5); }, {"add", "alpha", "int64"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::add(core::zeros({2}), i, true); }, {"add", "bool alpha", "float32"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::sub_(i, i, 1.5); }, {"sub_", "alpha", "int64"}));
}

TEST(BinaryErrors, IntegerRemainderByZero) {
  Tensor i = core::tensor<int64_t>({5, 6});
  EXPECT_TRUE(throws_with<ValueError>([&] { core::remainder(i, 0); }, {"remainder", "division by zero"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { core::remainder(i, core::tensor<int64_t>({1, 0})); },
                                      {"remainder", "division by zero"}));
}

TEST(BinaryErrors, UnsupportedDTypes) {
  Tensor mask = core::tensor({true, false});
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::pow(mask, mask); }, {"pow", "bool"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::remainder(mask, mask); }, {"remainder", "bool"}));
  Tensor x = core::zeros({2});
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::where(x, x, x); }, {"where", "bool", "float32"}));
}

TEST(BinaryErrors, InPlaceResultOfAnotherDType) {
  Tensor i = core::tensor<int64_t>({1, 2});
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::add_(i, 0.5); }, {"add_", "float32", "int64"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::div_(i, i); }, {"div_", "float32", "int64"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::mul_(core::tensor({true}), 2); }, {"mul_", "int64", "bool"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { core::add_(core::zeros({2}), core::zeros({2}, {.dtype = kFloat64})); },
                                      {"add_", "float64", "float32"}));
  uint64_t version = i.version();
  EXPECT_THROW(core::add_(i, 0.5), DTypeError);
  EXPECT_EQ(i.version(), version);  // nothing written, nothing bumped
}

TEST(BinaryErrors, InPlaceIntoAnExpandedView) {
  Tensor expanded = core::expand(core::zeros({3}), {2, 3});
  EXPECT_TRUE(throws_with<ValueError>([&] { core::add_(expanded, 1); }, {"add_", "[2, 3]", "expanded"}));
}

}  // namespace
}  // namespace descent
