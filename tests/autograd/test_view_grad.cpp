// Gradients of the views and copies: gradcheck of each in every layout, gradgradcheck of the ones
// whose backward is itself a placement (slice, select), and the view rules for in-place changes.
#include "grad_cases.h"

namespace descent {
namespace {

using testing::GradCase;
using testing::input;
using testing::Layout;
using testing::throws_with;

class ViewGrad : public ::testing::TestWithParam<Layout> {};

TEST_P(ViewGrad, EveryViewMatchesCentralDifferences) {
  Layout layout = GetParam();
  Tensor x = input({3, 4}, layout, 7);
  Tensor col = input({3, 1}, Layout::Contiguous, 8);
  std::vector<GradCase> cases = {
      {"reshape", [](auto& v) { return reshape(v[0], {2, 6}) * 2.0; }, {x}},
      {"view of contiguous", [](auto& v) { return view(contiguous(v[0]), {4, 3}); }, {x}},
      {"permute", [](auto& v) { return permute(unsqueeze(v[0], 0), {2, 0, 1}) * 1.0; }, {x}},
      {"transpose", [](auto& v) { return transpose(v[0], 0, 1) * v[0].t(); }, {x}},
      {"narrow", [](auto& v) { return narrow(v[0], 1, 1, 2) * 3.0; }, {x}, true},
      {"slice with step", [](auto& v) { return slice(v[0], 1, 0, 4, 2) * slice(v[0], 1, 1, 4, 2); }, {x}, true},
      {"select", [](auto& v) { return select(v[0], 0, -1) * 2.0; }, {x}, true},
      {"expand", [](auto& v) { return expand(v[0], {2, 3, 4}) * 1.0; }, {col}},
      {"squeeze/unsqueeze", [](auto& v) { return squeeze(unsqueeze(v[0], 1)) * 1.0; }, {x}},
      {"flatten/unflatten", [](auto& v) { return unflatten(flatten(v[0]), 0, {6, 2}) * 1.0; }, {x}},
      {"clone", [](auto& v) { return clone(v[0]) * v[0]; }, {x}},
  };
  for (const GradCase& c : cases) {
    SCOPED_TRACE(std::string(c.name) + " / " + testing::layout_name(layout));
    testing::check_case(c);
  }
}

INSTANTIATE_TEST_SUITE_P(Layouts, ViewGrad,
                         ::testing::Values(Layout::Contiguous, Layout::Transposed, Layout::Strided),
                         [](const auto& info) { return std::string(testing::layout_name(info.param)); });

// Central differences cannot see through float32 rounding, so the cast is checked exactly.
TEST(ViewGradRules, ToCastsTheGradientBackToTheInputDtype) {
  Tensor x = core::tensor({1.0, 2.0}, {.dtype = kFloat64, .requires_grad = true});
  Tensor y = to(x, kFloat32) * 3.0;
  EXPECT_EQ(y.grad_fn()->name(), "MulBackward");
  y.backward(core::ones_like(y));
  EXPECT_EQ(x.grad().dtype(), kFloat64);
  EXPECT_TRUE(testing::tensors_close(x.grad(), core::tensor({3.0, 3.0}, {.dtype = kFloat64})));
  EXPECT_TRUE(throws_with<DTypeError>([&] { to(x, kInt64); }, {"to", "int64", "requires grad"}));
}

// Views of tensors in the graph can be changed in place (tests/autograd/test_in_place_grad.cpp);
// views of leaves that require grad cannot, as the leaves themselves.
TEST(ViewGradRules, ViewsOfLeavesCannotBeChangedInPlace) {
  Tensor x = core::ones({2, 3}, {.requires_grad = true});
  Tensor v = select(x, 0, 0);
  EXPECT_TRUE(throws_with<Error>([&] { v.add_(1.0); }, {"add_", "view", "[3]", "leaf", "[2, 3]", "NoGradGuard"}));
  Tensor c = clone(v);
  EXPECT_NO_THROW(c.add_(1.0));
  EXPECT_TRUE(throws_with<Error>([&] { as_strided(x, {2}, {1}, 0); }, {"as_strided", "requires grad"}));
  EXPECT_TRUE(throws_with<Error>([&] { x.fill_(0.0); }, {"fill_", "requires grad", "NoGradGuard"}));
}

TEST(ViewGradRules, NodesAreNamedAfterTheirOp) {
  Tensor x = core::ones({2, 3}, {.requires_grad = true});
  EXPECT_EQ(x.view({3, 2}).grad_fn()->name(), "ViewBackward");
  EXPECT_EQ(x.t().grad_fn()->name(), "TransposeBackward");
  EXPECT_EQ(x.slice(1, 0, 2).grad_fn()->name(), "SliceBackward");
  EXPECT_EQ(x[1].grad_fn()->name(), "SelectBackward");
  EXPECT_EQ(x.expand({4, 2, 3}).grad_fn()->name(), "ExpandBackward");
  EXPECT_TRUE(contiguous(x).is_same(x));  // already contiguous: no node, the same tensor
}

}  // namespace
}  // namespace descent
