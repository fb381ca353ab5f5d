// Padding (nn/functional_pad.h): PyTorch's outputs and gradients for reflect, replicate and
// circular padding of 1 and 2 dims (golden/functional.json, gen_functional.py), gradcheck, and
// the errors for amounts a mode cannot take.
#include "functional_golden.h"
#include <descent/nn/functional_pad.h>

namespace descent {
namespace {

namespace F = nn::functional;
using F::PadMode;
using testing::FunctionalCase;
using testing::throws_with;
using In = const std::vector<Tensor>&;

FunctionalCase pad_case(const std::string& name, std::vector<int64_t> padding, F::PadFuncOptions options) {
  return {name, {"x"}, {"x"}, [=](In in) { return F::pad(in[0], padding, options); }};
}

std::vector<FunctionalCase> pad_cases() {
  return {
      pad_case("pad_reflect_1d", {2, 3}, {.mode = PadMode::Reflect}),
      pad_case("pad_replicate_1d", {4, 1}, {.mode = PadMode::Replicate}),
      pad_case("pad_circular_1d", {3, 2}, {.mode = PadMode::Circular}),
      pad_case("pad_reflect_2d", {1, 2, 3, 0}, {.mode = PadMode::Reflect}),
      pad_case("pad_replicate_2d", {2, 0, 1, 3}, {.mode = PadMode::Replicate}),
      pad_case("pad_circular_2d", {1, 3, 2, 1}, {.mode = PadMode::Circular}),
      pad_case("pad_circular_crop", {-1, 2}, {.mode = PadMode::Circular}),
      pad_case("pad_constant_value", {1, 2, 0, 1}, {.value = 0.5}),
  };
}

class PadGolden : public ::testing::TestWithParam<FunctionalCase> {};
TEST_P(PadGolden, MatchesPyTorchAndGradcheck) { testing::check_functional_case(GetParam()); }
INSTANTIATE_TEST_SUITE_P(PyTorch, PadGolden, ::testing::ValuesIn(pad_cases()), testing::functional_case_name);

TEST(Pad, SecondDerivativeOfReflectIsExact) {
  Tensor x = core::randn({2, 5}, {.dtype = kFloat64}).requires_grad_(true);
  auto result = autograd::gradgradcheck(
      [](In in) { return square(F::pad(in[0], {2, 1}, {.mode = PadMode::Reflect})); }, {x});
  EXPECT_TRUE(result.ok) << result.message;
}

TEST(Pad, ErrorsNameTheModeAndTheAmounts) {
  Tensor x = core::zeros({1, 2, 3});
  EXPECT_TRUE(throws_with<ValueError>([&] { F::pad(x, {3, 0}, {.mode = PadMode::Reflect}); },
                                      {"pad", "reflect", "(3, 0)", "size 3", "[1, 2, 3]"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { F::pad(x, {0, 4}, {.mode = PadMode::Circular}); },
                                      {"pad", "circular", "(0, 4)", "more than once"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { F::pad(core::zeros({3}), {1, 1}, {.mode = PadMode::Replicate}); },
                                      {"pad", "replicate", "2 or 3 dims", "[3]"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { F::pad(x, {1, 1, 1}, {.mode = PadMode::Reflect}); },
                                      {"pad", "reflect", "2, 4 or 6 numbers", "not 3"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { F::pad(x, {-2, -1}, {.mode = PadMode::Replicate}); },
                                      {"pad", "replicate", "no element"}));
}

}  // namespace
}  // namespace descent
