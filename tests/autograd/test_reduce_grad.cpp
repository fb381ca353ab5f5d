// Gradients of the differentiable reductions (sum, mean) over all dims, chosen dims and with
// keepdim, in every layout, with second derivatives through a product.
#include "grad_cases.h"

namespace descent {
namespace {

using testing::GradCase;
using testing::input;
using testing::Layout;

class ReduceGrad : public ::testing::TestWithParam<Layout> {};

TEST_P(ReduceGrad, SumAndMeanMatchCentralDifferences) {
  Layout layout = GetParam();
  Tensor x = input({3, 4}, layout, 11);
  std::vector<GradCase> cases = {
      {"sum all", [](auto& v) { return sum(v[0] * v[0]); }, {x}, true},
      {"sum dim 0", [](auto& v) { return sum(v[0] * v[0], {0}); }, {x}, true},
      {"sum dim -1 keepdim", [](auto& v) { return sum(v[0], {-1}, true) * v[0]; }, {x}, true},
      {"sum dims 0,1", [](auto& v) { return sum(v[0], {0, 1}); }, {x}},
      {"mean all", [](auto& v) { return mean(v[0] * v[0]); }, {x}, true},
      {"mean dim 1", [](auto& v) { return mean(v[0], {1}) * 2.0; }, {x}},
      {"mean dim 0 keepdim", [](auto& v) { return mean(v[0], {0}, true) * v[0]; }, {x}, true},
  };
  for (const GradCase& c : cases) {
    SCOPED_TRACE(std::string(c.name) + " / " + testing::layout_name(layout));
    testing::check_case(c);
  }
}

INSTANTIATE_TEST_SUITE_P(Layouts, ReduceGrad,
                         ::testing::Values(Layout::Contiguous, Layout::Transposed, Layout::Strided),
                         [](const auto& info) { return std::string(testing::layout_name(info.param)); });

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
