// Gradients of the binary ops: gradcheck in every layout and with broadcasting, gradgradcheck for
// mul, div and pow, the split of ties in maximum/minimum, and promotion of the gradient's dtype.
#include "grad_cases.h"

namespace descent {
namespace {

using testing::GradCase;
using testing::input;
using testing::Layout;
using testing::tensors_close;

class BinaryGrad : public ::testing::TestWithParam<Layout> {};

TEST_P(BinaryGrad, EveryOpMatchesCentralDifferences) {
  Layout layout = GetParam();
  Tensor a = input({2, 3}, layout, 1);
  Tensor b = input({2, 3}, layout, 2, 0.5, 2.0);  // away from 0 for div, pow, remainder
  Tensor positive = input({2, 3}, layout, 3, 0.3, 1.5);
  Tensor row = input({1, 3}, Layout::Contiguous, 4, 0.5, 2.0);
  std::vector<GradCase> cases = {
      {"add", [](auto& x) { return add(x[0], x[1], 2.5); }, {a, b}},
      {"add broadcast", [](auto& x) { return x[0] + expand(x[1], {2, 3}); }, {a, row}},
      {"add scalar", [](auto& x) { return x[0] + 3.0; }, {a}},
      {"sub", [](auto& x) { return sub(x[0], x[1], 0.5); }, {a, b}},
      {"rsub scalar", [](auto& x) { return 2.0 - x[0]; }, {a}},
      {"mul", [](auto& x) { return x[0] * x[1]; }, {a, b}, true},
      {"mul broadcast", [](auto& x) { return x[0] * x[1]; }, {a, row}, true},
      {"mul scalar", [](auto& x) { return x[0] * -1.5; }, {a}},
      {"div", [](auto& x) { return x[0] / x[1]; }, {a, b}, true},
      {"div scalar", [](auto& x) { return x[0] / 4.0; }, {a}},
      {"scalar div", [](auto& x) { return 3.0 / x[0]; }, {b}, true},
      {"pow", [](auto& x) { return pow(x[0], x[1]); }, {positive, b}, true},
      {"scalar pow", [](auto& x) { return pow(2.0, x[0]); }, {a}, true},
      {"maximum", [](auto& x) { return maximum(x[0], x[1]); }, {a, b}},
      {"minimum", [](auto& x) { return minimum(x[0], x[1]); }, {a, b}},
      {"remainder", [](auto& x) { return remainder(x[0], x[1]); }, {a, b}},
      {"where", [](auto& x) { return where(core::gt(x[0], 0.0), x[0], x[1]); }, {a, b}},
      {"where scalar", [](auto& x) { return where(core::gt(x[0], 0.0), x[0], 0.5); }, {a}},
  };
  for (const GradCase& c : cases) {
    SCOPED_TRACE(std::string(c.name) + " / " + testing::layout_name(layout));
    testing::check_case(c);
  }
}

INSTANTIATE_TEST_SUITE_P(Layouts, BinaryGrad,
                         ::testing::Values(Layout::Contiguous, Layout::Transposed, Layout::Strided),
                         [](const auto& info) { return std::string(testing::layout_name(info.param)); });

TEST(BinaryGradExact, TiesInMaximumAndMinimumSplitTheGradient) {
  Tensor a = core::tensor({1.0, 2.0, 3.0}, {.dtype = kFloat64, .requires_grad = true});
  Tensor b = core::tensor({1.0, 5.0, 0.0}, {.dtype = kFloat64, .requires_grad = true});
  Tensor y = maximum(a, b);
  y.backward(core::ones_like(y));
  EXPECT_TRUE(tensors_close(a.grad(), core::tensor({0.5, 0.0, 1.0}, {.dtype = kFloat64})));
  EXPECT_TRUE(tensors_close(b.grad(), core::tensor({0.5, 1.0, 0.0}, {.dtype = kFloat64})));
}

TEST(BinaryGradExact, PowGradientAtZeroBaseIsZeroForTheExponent) {
  Tensor base = core::tensor({0.0, 2.0}, {.dtype = kFloat64, .requires_grad = true});
  Tensor exponent = core::tensor({2.0, 3.0}, {.dtype = kFloat64, .requires_grad = true});
  Tensor y = pow(base, exponent);
  y.backward(core::ones_like(y));
  EXPECT_TRUE(tensors_close(base.grad(), core::tensor({0.0, 12.0}, {.dtype = kFloat64})));
  EXPECT_TRUE(tensors_close(exponent.grad(), core::tensor({0.0, 8.0 * std::log(2.0)}, {.dtype = kFloat64})));
}

TEST(BinaryGradExact, APromotedOpGivesEachInputAGradientOfItsOwnDtype) {
  Tensor f = core::tensor({1.0, 2.0}, {.requires_grad = true});                     // float32
  Tensor d = core::tensor({3.0, 4.0}, {.dtype = kFloat64, .requires_grad = true});  // float64
  Tensor y = f * d;
  EXPECT_EQ(y.dtype(), kFloat64);
  y.backward(core::ones_like(y));
  EXPECT_EQ(f.grad().dtype(), kFloat32);
  EXPECT_EQ(d.grad().dtype(), kFloat64);
  EXPECT_TRUE(tensors_close(f.grad(), core::tensor({3.0f, 4.0f})));
}

TEST(BinaryGradExact, ComparisonsAreNotDifferentiable) {
  Tensor a = core::tensor({1.0, 2.0}, {.requires_grad = true});
  EXPECT_FALSE((a > 1.0).requires_grad());
  EXPECT_EQ((a > 1.0).dtype(), kBool);
}

}  // namespace
}  // namespace descent
