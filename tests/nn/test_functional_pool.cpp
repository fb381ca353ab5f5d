// Pooling (nn/functional_pool.h): PyTorch's outputs and gradients for max_pool2d, avg_pool2d
// (padding, ceil_mode, count_include_pad) and adaptive_avg_pool2d, gradcheck, second
// derivatives, the argmax indices and the errors.
#include "functional_golden.h"
#include <descent/nn/functional_pool.h>

namespace descent {
namespace {

namespace F = nn::functional;
using testing::FunctionalCase;
using testing::throws_with;

std::vector<FunctionalCase> pool_cases() {
  using In = const std::vector<Tensor>&;
  return {
      {"max_pool2d", {"x"}, {"x"}, [](In in) { return F::max_pool2d(in[0], 2); }},
      {"max_pool2d_options", {"x"}, {"x"},
       [](In in) {
         return F::max_pool2d(in[0], {3, 2}, {.stride = F::Size2{2, 1}, .padding = 1, .dilation = {1, 2}, .ceil_mode = true});
       }},
      {"avg_pool2d", {"x"}, {"x"}, [](In in) { return F::avg_pool2d(in[0], 3, {.stride = 2, .padding = 1}); }},
      {"avg_pool2d_ceil_exclude_pad", {"x"}, {"x"},
       [](In in) {
         return F::avg_pool2d(in[0], {3, 2}, {.stride = 2, .padding = 1, .ceil_mode = true, .count_include_pad = false});
       }},
      {"avg_pool2d_ceil_include_pad", {"x"}, {"x"},
       [](In in) { return F::avg_pool2d(in[0], 3, {.stride = 2, .padding = 1, .ceil_mode = true}); }},
      {"adaptive_avg_pool2d", {"x"}, {"x"}, [](In in) { return F::adaptive_avg_pool2d(in[0], {3, 4}); }},
      {"avg_pool2d_divisor_override", {"x"}, {"x"},
       [](In in) { return F::avg_pool2d(in[0], 3, {.stride = 2, .padding = 1, .divisor_override = 5}); }},
  };
}

class PoolGolden : public ::testing::TestWithParam<FunctionalCase> {};
TEST_P(PoolGolden, MatchesPyTorchAndGradcheck) { testing::check_functional_case(GetParam()); }
INSTANTIATE_TEST_SUITE_P(PyTorch, PoolGolden, ::testing::ValuesIn(pool_cases()), testing::functional_case_name);

Tensor random(const Dims& shape, uint64_t seed) {
  manual_seed(seed);
  return core::randn(shape, {.dtype = kFloat64}).requires_grad_(true);
}

TEST(Pool, SecondDerivatives) {
  Tensor x = random({1, 2, 5, 5}, 1);
  for (auto fn : std::vector<autograd::DifferentiableFunction>{
           [](const std::vector<Tensor>& in) { return square(F::max_pool2d(in[0], 2, {.padding = 1})); },
           [](const std::vector<Tensor>& in) { return square(F::avg_pool2d(in[0], 2, {.ceil_mode = true})); },
           [](const std::vector<Tensor>& in) { return square(F::adaptive_avg_pool2d(in[0], 3)); }}) {
    auto result = autograd::gradgradcheck(fn, {x});
    EXPECT_TRUE(result.ok) << result.message;
  }
}

TEST(MaxPool2d, IndicesPointAtTheFirstMaximum) {
  Tensor x = core::tensor({1.0, 5.0, 5.0, 2.0,  //
                           0.0, 3.0, 7.0, 7.0},
                          {1, 2, 4});
  auto [out, indices] = F::max_pool2d_with_indices(x, {2, 2});
  EXPECT_EQ(out.to_vector<double>(), (std::vector<double>{5.0, 7.0}));
  EXPECT_EQ(indices.to_vector<int64_t>(), (std::vector<int64_t>{1, 6}));
  x.requires_grad_(true);
  F::max_pool2d(x, 2).sum().backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{0, 1, 0, 0, 0, 0, 1, 0}));
}

TEST(Pool, ErrorsNameTheOpAndShapes) {
  EXPECT_TRUE(throws_with<ShapeError>([] { F::max_pool2d(core::zeros({4, 4}), 2); }, {"max_pool2d", "[4, 4]"}));
  EXPECT_TRUE(throws_with<ValueError>([] { F::max_pool2d(core::zeros({1, 4, 4}), 2, {.padding = 2}); },
                                      {"max_pool2d", "padding 2", "half"}));
  EXPECT_TRUE(throws_with<ShapeError>([] { F::avg_pool2d(core::zeros({1, 1, 2, 2}), 3); },
                                      {"avg_pool2d", "[1, 1, 2, 2]", "smaller than the kernel 3"}));
  EXPECT_TRUE(throws_with<ValueError>([] { F::avg_pool2d(core::zeros({1, 1, 4, 4}), 2, {.divisor_override = 0}); },
                                      {"avg_pool2d", "divisor_override", "zero"}));
  EXPECT_TRUE(throws_with<DTypeError>([] { F::max_pool2d(core::zeros({1, 4, 4}, {.dtype = kInt64}), 2); },
                                      {"max_pool2d", "int64"}));
  EXPECT_TRUE(throws_with<ValueError>([] { F::adaptive_avg_pool2d(core::zeros({1, 4, 4}), {0, 2}); },
                                      {"adaptive_avg_pool2d", "(0, 2)"}));
}

}  // namespace
}  // namespace descent
