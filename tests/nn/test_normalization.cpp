// The normalisation and embedding modules (nn/normalization.h, nn/embedding.h): forward, input and
// parameter gradients, running statistics after the forward and state_dict names against PyTorch
// (tests/nn/golden/gen_modules.py); BatchNorm in train vs eval mode; default initialisation;
// printing and errors.
#include <cmath>
#include <vector>

#include "module_golden.h"

namespace descent {
namespace {

using testing::check_module_case;
using testing::ModuleCase;
using testing::throws_with;
using testing::unary_case;

std::vector<ModuleCase> norm_cases() {
  ModuleCase eval = unary_case<nn::BatchNorm2d>("batch_norm2d_eval", 3, nn::BatchNormOptions{.eps = 1e-3});
  eval.train = false;
  ModuleCase plain_eval = unary_case<nn::BatchNorm2d>(
      "batch_norm2d_plain_eval", 2, nn::BatchNormOptions{.affine = false, .track_running_stats = false});
  plain_eval.train = false;
  return {
      unary_case<nn::BatchNorm1d>("batch_norm1d", 3),
      unary_case<nn::BatchNorm1d>("batch_norm1d_3d", 3, nn::BatchNormOptions{.momentum = 0.3}),
      eval,
      unary_case<nn::BatchNorm2d>("batch_norm2d_cumulative", 3, nn::BatchNormOptions{.momentum = std::nullopt}),
      plain_eval,
      unary_case<nn::LayerNorm>("layer_norm", Dims{4}),
      unary_case<nn::LayerNorm>("layer_norm_2d_no_affine", Dims{3, 4},
                                nn::LayerNormOptions{.elementwise_affine = false}),
      unary_case<nn::GroupNorm>("group_norm", 2, 4),
      unary_case<nn::Embedding>("embedding", 6, 3, nn::EmbeddingOptions{.padding_idx = 1}),
  };
}

class NormGolden : public ::testing::TestWithParam<ModuleCase> {};

TEST_P(NormGolden, MatchesPyTorch) { check_module_case(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Modules, NormGolden, ::testing::ValuesIn(norm_cases()),
                         [](const auto& info) { return info.param.name; });

TEST(BatchNorm2d, TrainUsesTheBatchAndEvalTheRunningStatistics) {
  manual_seed(1);
  nn::BatchNorm2d bn{2};
  Tensor x = add(mul(randn({4, 2, 3, 3}), 3.0), 5.0);
  Tensor train_out = bn(x);
  // Training normalises with the batch's own statistics: each channel has mean 0.
  EXPECT_TRUE(testing::tensors_close(mean(train_out, {0, 2, 3}), zeros({2}), 0, 1e-5));
  EXPECT_EQ(bn.num_batches_tracked.item<int64_t>(), 1);
  Tensor running_mean = bn.running_mean.clone();
  bn.eval();
  Tensor eval_out = bn(x);
  // Eval leaves the running statistics alone and uses them: (x - m) / sqrt(v + eps).
  EXPECT_TRUE(testing::tensors_close(bn.running_mean, running_mean, 0, 0));
  EXPECT_EQ(bn.num_batches_tracked.item<int64_t>(), 1);
  Tensor expected = div(sub(x, bn.running_mean.view({1, 2, 1, 1})),
                        sqrt(add(bn.running_var.view({1, 2, 1, 1}), 1e-5)));
  EXPECT_TRUE(testing::tensors_close(eval_out, expected, 1e-5, 1e-5));
  EXPECT_FALSE(testing::tensors_close(eval_out, train_out, 1e-2, 1e-2));
}

TEST(BatchNorm2d, DefaultStateAndPrinting) {
  nn::BatchNorm2d bn{3};
  EXPECT_TRUE(testing::tensors_close(bn.weight, ones({3}), 0, 0));
  EXPECT_TRUE(testing::tensors_close(bn.bias, zeros({3}), 0, 0));
  EXPECT_TRUE(testing::tensors_close(bn.running_var, ones({3}), 0, 0));
  EXPECT_EQ(bn.num_batches_tracked.dtype(), kInt64);
  EXPECT_EQ(bn.extra_repr(), "3, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true");
  nn::BatchNorm1d plain{4, {.momentum = std::nullopt, .affine = false, .track_running_stats = false}};
  EXPECT_TRUE(plain.state_dict().empty());
  EXPECT_EQ(nn::LayerNorm({3, 4}).extra_repr(), "[3, 4], eps=1e-05, elementwise_affine=true");
  EXPECT_EQ(nn::GroupNorm(2, 4).extra_repr(), "2, 4, eps=1e-05, affine=true");
}

TEST(BatchNorm2d, ErrorsNameTheLayerAndShape) {
  nn::BatchNorm2d bn{3};
  EXPECT_TRUE(throws_with<ShapeError>([&] { bn(zeros({2, 3})); }, {"BatchNorm2d", "[2, 3]", "[N, C, H, W]"}));
  nn::BatchNorm1d bn1{3};
  EXPECT_TRUE(throws_with<ShapeError>([&] { bn1(zeros({2, 3, 4, 4})); }, {"BatchNorm1d", "[N, C] or [N, C, L]"}));
  EXPECT_TRUE(throws_with<ValueError>([] { nn::GroupNorm(3, 4); }, {"GroupNorm", "num_groups=3"}));
}

// PyTorch's default: N(0, 1) with the padding row zero; a negative padding_idx counts from the end.
TEST(Embedding, DefaultInitialisation) {
  manual_seed(2);
  nn::Embedding embedding{100, 20, {.padding_idx = -2}};
  ASSERT_TRUE(embedding.padding_idx.has_value());
  EXPECT_EQ(*embedding.padding_idx, 98);
  EXPECT_TRUE(testing::tensors_close(embedding.weight[98], zeros({20}), 0, 0));
  auto [max, mean] = testing::abs_max_and_mean(embedding.weight);
  EXPECT_GT(max, 2.5);  // a standard normal over 1980 draws exceeds 2.5 with near certainty
  EXPECT_LT(std::abs(mean), 0.1);
  double second_moment = sum(mul(embedding.weight, embedding.weight)).item<double>() / 1980.0;
  EXPECT_NEAR(second_moment, 1.0, 0.1);
  EXPECT_EQ(embedding.extra_repr(), "100, 20, padding_idx=98");
  EXPECT_TRUE(throws_with<IndexError>([] { nn::Embedding(5, 2, {.padding_idx = 5}); }, {"Embedding", "padding_idx 5"}));
}

}  // namespace
}  // namespace descent
