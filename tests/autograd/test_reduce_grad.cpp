// Gradients of the differentiable reductions, softmax and log_softmax: gradcheck of every op in
// every layout (and broadcast) over all dims, one, several and negative dims, with and without
// keepdim; gradgradcheck of the smooth ones; and the choices at ties, zeros and NaN, and the
// stability at +-1e4, against PyTorch's gradients (golden/gen_reduce_grad.py).
#include <cmath>
#include <functional>
#include <map>

#include "grad_cases.h"

namespace descent {
namespace {

using testing::GradCase;
using testing::input;
using testing::Layout;

// A reduction over dims, as the cases call it.
using Reduction = std::function<Tensor(const Tensor& x, const Dims& dims, bool keepdim)>;

struct ReductionOp {
  std::string name;
  Reduction fn;
  bool second_order = false;
};

std::vector<ReductionOp> reduction_ops() {
  return {
      {"sum", [](const Tensor& x, const Dims& d, bool k) { return sum(x, d, k); }, true},
      {"mean", [](const Tensor& x, const Dims& d, bool k) { return mean(x, d, k); }, true},
      {"prod", [](const Tensor& x, const Dims& d, bool k) { return prod(x, d, k); }, true},
      {"amax", [](const Tensor& x, const Dims& d, bool k) { return amax(x, d, k); }},
      {"amin", [](const Tensor& x, const Dims& d, bool k) { return amin(x, d, k); }},
      {"var", [](const Tensor& x, const Dims& d, bool k) { return var(x, d, 1, k); }, true},
      {"var correction 0", [](const Tensor& x, const Dims& d, bool k) { return var(x, d, 0, k); }, true},
      {"std", [](const Tensor& x, const Dims& d, bool k) { return std(x, d, 1, k); }, true},
      {"std correction 0", [](const Tensor& x, const Dims& d, bool k) { return std(x, d, 0, k); }, true},
      {"norm 2", [](const Tensor& x, const Dims& d, bool k) { return norm(x, 2.0, d, k); }, true},
      {"norm 1", [](const Tensor& x, const Dims& d, bool k) { return norm(x, 1.0, d, k); }, true},
      {"norm 3", [](const Tensor& x, const Dims& d, bool k) { return norm(x, 3.0, d, k); }, true},
      {"norm 1.5", [](const Tensor& x, const Dims& d, bool k) { return norm(x, 1.5, d, k); }, true},
      {"norm 0.5", [](const Tensor& x, const Dims& d, bool k) { return norm(x, 0.5, d, k); }, true},
      {"norm inf", [](const Tensor& x, const Dims& d, bool k) { return norm(x, INFINITY, d, k); }},
      {"norm -inf", [](const Tensor& x, const Dims& d, bool k) { return norm(x, -INFINITY, d, k); }},
      {"logsumexp", [](const Tensor& x, const Dims& d, bool k) { return logsumexp(x, d, k); }, true},
  };
}

// The ways a reduction is applied: all dims, one (negative too), several, keepdim or not, and
// over a broadcast input (expanded inside the function, as gradcheck requires).
struct DimsChoice {
  std::string name;
  Dims shape;  // of the input
  Dims dims;
  bool keepdim;
  Dims expanded = {};  // when set: the input is expanded to this shape first
};

std::vector<DimsChoice> dims_choices() {
  return {
      {"all", {3, 4}, {}, false},
      {"all keepdim", {3, 4}, {}, true},
      {"dim 0", {3, 4}, {0}, false},
      {"dim -1 keepdim", {3, 4}, {-1}, true},
      {"dims 0,2 of 3-d", {2, 3, 4}, {0, 2}, false},
      {"dims -1,-2 keepdim of 3-d", {2, 3, 4}, {-1, -2}, true},
      {"dim 1 of broadcast [1, 4] -> [3, 4]", {1, 4}, {1}, false, {3, 4}},
      {"all of broadcast [3, 1] -> [3, 4]", {3, 1}, {}, false, {3, 4}},
  };
}

class ReduceGrad : public ::testing::TestWithParam<Layout> {};

TEST_P(ReduceGrad, ReductionsOverDimsMatchCentralDifferences) {
  Layout layout = GetParam();
  uint64_t seed = 100;
  for (const ReductionOp& op : reduction_ops()) {
    for (const DimsChoice& choice : dims_choices()) {
      // prod over 12 elements of N(0, 1) is tiny; a shift keeps its gradient well scaled
      Tensor x = input(choice.shape, layout, ++seed, 1.0, op.name == "prod" ? 0.5 : 0.0);
      GradCase c{op.name + " over " + choice.name,
                 [fn = op.fn, choice](const std::vector<Tensor>& v) {
                   Tensor t = choice.expanded.size() > 0 ? expand(v[0], choice.expanded) : v[0];
                   return fn(t, choice.dims, choice.keepdim);
                 },
                 {x},
                 op.second_order};
      SCOPED_TRACE(c.name + " / " + testing::layout_name(layout));
      testing::check_case(c);
    }
  }
}

TEST_P(ReduceGrad, MaxMinSoftmaxAndLogSoftmaxMatchCentralDifferences) {
  Layout layout = GetParam();
  Tensor x = input({3, 4}, layout, 21);
  Tensor x3 = input({2, 3, 4}, layout, 22);
  Tensor row = input({1, 4}, layout, 23);
  auto values = [](std::pair<Tensor, Tensor> result) { return result.first; };
  std::vector<GradCase> cases = {
      {"max all", [](auto& v) { return max(v[0]); }, {x}},
      {"min all", [](auto& v) { return min(v[0]); }, {x}},
      {"max dim 0", [&](auto& v) { return values(max(v[0], 0)); }, {x}},
      {"max dim -1 keepdim", [&](auto& v) { return values(max(v[0], -1, true)); }, {x}},
      {"min dim 1", [&](auto& v) { return values(min(v[0], 1)); }, {x}},
      {"min dim -3 keepdim of 3-d", [&](auto& v) { return values(min(v[0], -3, true)); }, {x3}},
      {"max dim 1 of broadcast", [&](auto& v) { return values(max(expand(v[0], {3, 4}), 1)); }, {row}},
      {"max all of broadcast", [](auto& v) { return max(expand(v[0], {3, 4})); }, {row}},
      {"softmax dim 0", [](auto& v) { return softmax(v[0], 0); }, {x}, true},
      {"softmax dim -1", [](auto& v) { return softmax(v[0], -1); }, {x}, true},
      {"softmax dim 1 of 3-d", [](auto& v) { return softmax(v[0], 1); }, {x3}, true},
      {"softmax of broadcast", [](auto& v) { return softmax(expand(v[0], {3, 4}), 0); }, {row}, true},
      {"log_softmax dim 0", [](auto& v) { return log_softmax(v[0], 0); }, {x}, true},
      {"log_softmax dim -1", [](auto& v) { return log_softmax(v[0], -1); }, {x}, true},
      {"log_softmax dim -2 of 3-d", [](auto& v) { return log_softmax(v[0], -2); }, {x3}, true},
      {"log_softmax of broadcast", [](auto& v) { return log_softmax(expand(v[0], {3, 4}), 1); }, {row}, true},
  };
  for (const GradCase& c : cases) {
    SCOPED_TRACE(c.name + " / " + testing::layout_name(layout));
    testing::check_case(c);
  }
}

INSTANTIATE_TEST_SUITE_P(Layouts, ReduceGrad,
                         ::testing::Values(Layout::Contiguous, Layout::Transposed, Layout::Strided),
                         [](const auto& info) { return std::string(testing::layout_name(info.param)); });

// prod's second derivatives are exact with zeros too: gradgradcheck at inputs holding one, two
// and three zeros in a reduced group (prod is a polynomial, so central differences are exact).
TEST(ReduceGradExact, ProdWithZerosHasExactFirstAndSecondDerivatives) {
  std::vector<std::vector<double>> inputs = {
      {1.5, 0.0, 2.0, -0.5, 0.7, 3.0, 1.2, -1.1},
      {1.5, 0.0, 0.0, -0.5, 0.7, 3.0, 0.0, -1.1},
      {0.0, 0.0, 0.0, -0.5, 0.0, 3.0, 0.0, 0.0},
  };
  for (const auto& values : inputs) {
    Tensor x = core::tensor(values, {2, 4}, {.dtype = kFloat64}).requires_grad_(true);
    for (const Dims& dims : {Dims{}, Dims{1}, Dims{0}}) {
      GradCase c{fmt::format("prod over dims {} of an input with {} zeros", dims, core::sum(core::eq(x, 0.0)).item<int64_t>()),
                 [dims](auto& v) { return prod(v[0], dims); }, {x}, true};
      SCOPED_TRACE(c.name);
      testing::check_case(c);
    }
  }
}

// ---- PyTorch's choices at ties, zeros, NaN and +-1e4 ----

using UnaryFn = std::function<Tensor(const Tensor&)>;

// The cases of golden/gen_reduce_grad.py, by the name it gives them.
std::map<std::string, UnaryFn> golden_cases() {
  auto norm_over_1 = [](double p) { return [p](const Tensor& x) { return norm(x, p, {1}); }; };
  return {
      {"max_all_ties", [](const Tensor& x) { return max(x); }},
      {"min_all_ties", [](const Tensor& x) { return min(x); }},
      {"max_all_nan", [](const Tensor& x) { return max(x); }},
      {"max_dim1_ties", [](const Tensor& x) { return max(x, 1).first; }},
      {"min_dim0_ties_keepdim", [](const Tensor& x) { return min(x, 0, true).first; }},
      {"max_dim-1_ties_keepdim", [](const Tensor& x) { return max(x, -1, true).first; }},
      {"amax_all_ties", [](const Tensor& x) { return amax(x); }},
      {"amax_dim1_ties", [](const Tensor& x) { return amax(x, {1}); }},
      {"amin_dim0_ties_keepdim", [](const Tensor& x) { return amin(x, {0}, true); }},
      {"amin_dims01_ties", [](const Tensor& x) { return amin(x, {0, 1}); }},
      {"amax_nan", [](const Tensor& x) { return amax(x, {1}); }},
      {"prod_all_one_zero", [](const Tensor& x) { return prod(x); }},
      {"prod_all_two_zeros", [](const Tensor& x) { return prod(x); }},
      {"prod_dim1_zeros", [](const Tensor& x) { return prod(x, {1}); }},
      {"prod_dim0_keepdim_zeros", [](const Tensor& x) { return prod(x, {0}, true); }},
      {"std_all_constant", [](const Tensor& x) { return std(x); }},
      {"std_dim1_constant_row", [](const Tensor& x) { return std(x, {1}); }},
      {"std_dim1_correction0", [](const Tensor& x) { return std(x, {1}, 0); }},
      {"var_dim0_correction2", [](const Tensor& x) { return var(x, {0}, 2); }},
      {"norm2_zero_row", norm_over_1(2.0)},
      {"norm1_zeros", norm_over_1(1.0)},
      {"norm3_zeros", norm_over_1(3.0)},
      {"norm1.5_zeros", norm_over_1(1.5)},
      {"norm0.5_zeros", norm_over_1(0.5)},
      {"norm0", norm_over_1(0.0)},
      {"norminf_ties", norm_over_1(INFINITY)},
      {"norm-inf_ties", norm_over_1(-INFINITY)},
      {"norminf_all_ties", [](const Tensor& x) { return norm(x, INFINITY); }},
      {"logsumexp_big_dim1", [](const Tensor& x) { return logsumexp(x, {1}); }},
      {"logsumexp_big_all", [](const Tensor& x) { return logsumexp(x, {0, 1}); }},
      {"softmax_big_dim1", [](const Tensor& x) { return softmax(x, 1); }},
      {"log_softmax_big_dim1", [](const Tensor& x) { return log_softmax(x, 1); }},
      {"log_softmax_big_dim0", [](const Tensor& x) { return log_softmax(x, 0); }},
  };
}

TEST(ReduceGradGolden, TiesZerosNanAndLargeInputsMatchPyTorch) {
  testing::Golden golden("autograd/golden/reduce_grad.json");
  size_t golden_grads = 0;
  for (const auto& [key, entry] : golden.json().items()) golden_grads += key.ends_with("/grad") ? 1 : 0;
  EXPECT_EQ(golden_cases().size(), golden_grads) << "every golden case is checked";
  for (const auto& [name, fn] : golden_cases()) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(golden.has(name + "/grad")) << "regenerate golden/reduce_grad.json";
    Tensor x = golden.tensor(name + "/x").requires_grad_(true);
    fn(x).backward(golden.tensor(name + "/g"));
    ASSERT_TRUE(x.grad().defined());
    EXPECT_TRUE(testing::tensors_close(x.grad(), golden.tensor(name + "/grad"), 1e-12, 1e-14));
  }
}

TEST(ReduceGradGolden, MaxAndMinAlongADimReturnTheIndexPyTorchReturns) {
  testing::Golden golden("autograd/golden/reduce_grad.json");
  struct IndexCase {
    std::string name;
    std::function<std::pair<Tensor, Tensor>(const Tensor&)> fn;
  };
  std::vector<IndexCase> cases = {
      {"max_dim1_ties", [](const Tensor& x) { return max(x, 1); }},
      {"min_dim0_ties_keepdim", [](const Tensor& x) { return min(x, 0, true); }},
      {"max_dim-1_ties_keepdim", [](const Tensor& x) { return max(x, -1, true); }},
  };
  for (const IndexCase& c : cases) {
    SCOPED_TRACE(c.name);
    Tensor x = golden.tensor(c.name + "/x").requires_grad_(true);
    auto [values, indices] = c.fn(x);
    EXPECT_EQ(values.grad_fn()->name(), c.name.starts_with("max") ? "MaxBackward" : "MinBackward");
    EXPECT_FALSE(indices.requires_grad());
    EXPECT_TRUE(testing::tensors_close(indices, golden.tensor(c.name + "/indices"), 0.0, 0.0));
  }
}

// In float32 too, +-1e4 inputs give finite gradients equal to PyTorch's (float64) ones, up to
// float32's rounding of the output near 1e4 (ulp 1e-3), which exp(x - y) carries as relative error.
TEST(ReduceGradGolden, LogsumexpAndLogSoftmaxStayFiniteAtTenThousandInFloat32) {
  testing::Golden golden("autograd/golden/reduce_grad.json");
  for (const char* name : {"logsumexp_big_dim1", "logsumexp_big_all", "softmax_big_dim1", "log_softmax_big_dim1",
                           "log_softmax_big_dim0"}) {
    SCOPED_TRACE(name);
    Tensor x = golden.tensor(std::string(name) + "/x").to(kFloat32).requires_grad_(true);
    golden_cases().at(name)(x).backward(golden.tensor(std::string(name) + "/g").to(kFloat32));
    EXPECT_TRUE(core::all(core::isfinite(x.grad())).item<bool>());
    EXPECT_TRUE(testing::tensors_close(x.grad(), golden.tensor(std::string(name) + "/grad").to(kFloat32), 1e-3, 1e-6));
  }
}

// Second derivatives at +-1e4: d/dx of the gradient stays finite (the backward is itself stable).
TEST(ReduceGradExact, SecondDerivativesAtTenThousandAreFinite) {
  Tensor x = core::tensor(std::vector<double>{1e4, -1e4, 1e4 - 1.0, 0.0, -1e4, -1e4 + 2.0}, {2, 3}, {.dtype = kFloat64});
  std::vector<std::pair<std::string, UnaryFn>> ops = {
      {"logsumexp", [](const Tensor& t) { return logsumexp(t, {1}); }},
      {"softmax", [](const Tensor& t) { return softmax(t, 1); }},
      {"log_softmax", [](const Tensor& t) { return log_softmax(t, 1); }},
  };
  for (const auto& [name, fn] : ops) {
    SCOPED_TRACE(name);
    Tensor leaf = x.detach().requires_grad_(true);
    Tensor y = fn(leaf);
    Tensor weights = core::reshape(core::arange(1.0, 1.0 + static_cast<double>(y.numel()), 1.0, {.dtype = kFloat64}), y.sizes());
    Tensor g = autograd::grad({sum(y * weights)}, {leaf}, {.create_graph = true})[0];
    Tensor h = autograd::grad({sum(g * g)}, {leaf})[0];
    EXPECT_TRUE(core::all(core::isfinite(g)).item<bool>());
    EXPECT_TRUE(core::all(core::isfinite(h)).item<bool>());
  }
}

TEST(ReduceGradExact, EachOpRecordsItsNamedNode) {
  Tensor x = core::tensor(std::vector<double>{1.0, 2.0, 3.0, 4.0}, {2, 2}, {.dtype = kFloat64}).requires_grad_(true);
  std::vector<std::pair<std::string, Tensor>> outputs = {
      {"SumBackward", sum(x)},           {"MeanBackward", mean(x)},
      {"ProdBackward", prod(x)},         {"MaxBackward", max(x)},
      {"MinBackward", min(x)},           {"AmaxBackward", amax(x, {1})},
      {"AminBackward", amin(x, {1})},    {"VarBackward", var(x)},
      {"StdBackward", std(x)},           {"NormBackward", norm(x)},
      {"LogsumexpBackward", logsumexp(x, {0})}, {"SoftmaxBackward", softmax(x, 0)},
      {"LogSoftmaxBackward", log_softmax(x, 1)},
  };
  for (const auto& [name, out] : outputs) {
    ASSERT_NE(out.grad_fn(), nullptr) << name;
    EXPECT_EQ(out.grad_fn()->name(), name);
  }
  // int and bool results record nothing
  EXPECT_FALSE(argmax(x).requires_grad());
  EXPECT_FALSE(any(x, {}).requires_grad());
}

TEST(ReduceGradExact, TheNorthStarExampleGivesTwoX) {
  Tensor x = core::tensor({1.0, 2.0, 3.0}, {.requires_grad = true});
  Tensor y = (x * x).sum();
  EXPECT_EQ(y.grad_fn()->name(), "SumBackward");
  Tensor g = autograd::grad({y}, {x}, {.create_graph = true})[0];  // 2x, with its own graph
  EXPECT_TRUE(testing::tensors_close(g, core::tensor({2.0f, 4.0f, 6.0f})));
  Tensor h = autograd::grad({g.sum()}, {x})[0];  // second derivative: 2
  EXPECT_TRUE(testing::tensors_close(h, core::tensor({2.0f, 2.0f, 2.0f})));
}

}  // namespace
}  // namespace descent
