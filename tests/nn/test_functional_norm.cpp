// batch_norm (train and eval, running statistics), layer_norm, group_norm and embedding
// (nn/functional_norm.h): PyTorch's outputs and gradients, gradcheck, second derivatives of the
// closed-form backward, and the errors.
#include "functional_golden.h"
#include <descent/nn/functional_embedding.h>
#include <descent/nn/functional_norm.h>

namespace descent {
namespace {

namespace F = nn::functional;
using testing::FunctionalCase;
using testing::throws_with;
using In = const std::vector<Tensor>&;

std::vector<FunctionalCase> norm_cases() {
  return {
      {"batch_norm_train", {"x", "w", "b"}, {"x", "w", "b"},
       [](In in) { return F::batch_norm(in[0], Tensor(), Tensor(), in[1], in[2], {.training = true, .eps = 1e-3}); }},
      {"batch_norm_eval", {"x", "rm", "rv", "w", "b"}, {"x", "w", "b"},
       [](In in) { return F::batch_norm(in[0], in[1], in[2], in[3], in[4]); }},
      {"layer_norm", {"x", "w", "b"}, {"x", "w", "b"}, [](In in) { return F::layer_norm(in[0], {3, 4}, in[1], in[2]); }},
      {"layer_norm_plain", {"x"}, {"x"}, [](In in) { return F::layer_norm(in[0], {5}); }},
      {"group_norm", {"x", "w", "b"}, {"x", "w", "b"}, [](In in) { return F::group_norm(in[0], 2, in[1], in[2]); }},
      {"embedding", {"i", "w"}, {"w"}, [](In in) { return F::embedding(in[0], in[1], {.padding_idx = 2}); }, /*gradcheck=*/false},
  };
}

class NormGolden : public ::testing::TestWithParam<FunctionalCase> {};
TEST_P(NormGolden, MatchesPyTorchAndGradcheck) { testing::check_functional_case(GetParam()); }
INSTANTIATE_TEST_SUITE_P(PyTorch, NormGolden, ::testing::ValuesIn(norm_cases()), testing::functional_case_name);

TEST(BatchNorm, TrainingUpdatesTheRunningStatisticsAsPyTorch) {
  const testing::Golden& golden = testing::functional_golden();
  Tensor mean = golden.tensor("batch_norm_running/rm"), var = golden.tensor("batch_norm_running/rv");
  F::batch_norm(golden.tensor("batch_norm_running/x"), mean, var, Tensor(), Tensor(),
                {.training = true, .momentum = 0.3});
  EXPECT_TRUE(testing::tensors_close(mean, golden.tensor("batch_norm_running/rm_after"), 1e-12, 1e-12));
  EXPECT_TRUE(testing::tensors_close(var, golden.tensor("batch_norm_running/rv_after"), 1e-12, 1e-12));
}

Tensor random(const Dims& shape, uint64_t seed) {
  manual_seed(seed);
  return core::randn(shape, {.dtype = kFloat64}).requires_grad_(true);
}

TEST(Norm, SecondDerivativesOfTheClosedFormBackward) {
  Tensor x = random({3, 2, 2}, 1), w = random({2}, 2), b = random({2}, 3);
  auto batch = [](In in) { return F::batch_norm(in[0], Tensor(), Tensor(), in[1], in[2], {.training = true}); };
  auto layer = [](In in) { return F::layer_norm(in[0], {2}, in[1], in[2]); };
  auto group = [](In in) { return F::group_norm(in[0], 1, in[1], in[2]); };
  for (const autograd::DifferentiableFunction& fn : {autograd::DifferentiableFunction(batch), autograd::DifferentiableFunction(layer), autograd::DifferentiableFunction(group)}) {
    auto result = autograd::gradgradcheck(fn, {x, w, b});
    EXPECT_TRUE(result.ok) << result.message;
  }
}

TEST(Embedding, GradcheckWithoutPaddingIndex) {
  Tensor indices = core::tensor<int64_t>({3, 0, 3, 1}, {2, 2});
  auto result = autograd::gradcheck([&](In in) { return F::embedding(indices, in[0]); }, {random({4, 3}, 4)});
  EXPECT_TRUE(result.ok) << result.message;
}

TEST(Norm, ErrorsNameTheOpAndShapes) {
  Tensor x = core::zeros({4, 3, 2});
  EXPECT_TRUE(throws_with<ShapeError>([&] { F::batch_norm(x, core::zeros({2}), core::ones({3})); },
                                      {"batch_norm", "running_mean [2]", "[3]", "[4, 3, 2]"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { F::batch_norm(x, Tensor(), Tensor()); }, {"batch_norm", "eval"}));
  EXPECT_TRUE(throws_with<ValueError>([&] {
    F::batch_norm(core::zeros({1, 3}), Tensor(), Tensor(), Tensor(), Tensor(), {.training = true});
  }, {"batch_norm", "more than one value", "[1, 3]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { F::layer_norm(x, {3}); }, {"layer_norm", "[4, 3, 2]", "[3]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { F::group_norm(x, 2); }, {"group_norm", "3 channels", "2 groups"}));
  EXPECT_TRUE(throws_with<IndexError>([&] { F::embedding(core::zeros({2}, {.dtype = kInt64}), core::zeros({3, 2}), {.padding_idx = 3}); },
                                      {"embedding", "padding_idx 3", "[3, 2]"}));
}

}  // namespace
}  // namespace descent
