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
      unary_case<nn::Embedding>("embedding_max_norm", 6, 3, nn::EmbeddingOptions{.padding_idx = 2, .max_norm = 1.2}),
      unary_case<nn::Embedding>("embedding_max_norm_l1_freq", 6, 3,
                                nn::EmbeddingOptions{.max_norm = 2.0, .norm_type = 1.0, .scale_grad_by_freq = true}),
      unary_case<nn::Embedding>("embedding_freq_padding", 6, 3,
                                nn::EmbeddingOptions{.padding_idx = 1, .scale_grad_by_freq = true}),
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
  ASSERT_TRUE(embedding.options.padding_idx.has_value());
  EXPECT_EQ(*embedding.options.padding_idx, 98);
  EXPECT_TRUE(testing::tensors_close(embedding.weight[98], zeros({20}), 0, 0));
  auto [max, mean] = testing::abs_max_and_mean(embedding.weight);
  EXPECT_GT(max, 2.5);  // a standard normal over 1980 draws exceeds 2.5 with near certainty
  EXPECT_LT(std::abs(mean), 0.1);
  double second_moment = sum(mul(embedding.weight, embedding.weight)).item<double>() / 1980.0;
  EXPECT_NEAR(second_moment, 1.0, 0.1);
  EXPECT_EQ(embedding.extra_repr(), "100, 20, padding_idx=98");
  EXPECT_TRUE(throws_with<IndexError>([] { nn::Embedding(5, 2, {.padding_idx = 5}); }, {"Embedding", "padding_idx 5"}));
}

// max_norm renormalises the looked-up rows in place, before the lookup, as PyTorch's
// embedding_renorm_ (rows not looked up, and rows within the bound, stay as they were).
TEST(Embedding, MaxNormRenormalisesLookedUpRowsInPlace) {
  const testing::Golden& golden = testing::module_golden();
  for (std::string name : {"embedding_max_norm", "embedding_max_norm_l1_freq"}) {
    nn::Embedding embedding{6, 3, {.max_norm = name == "embedding_max_norm" ? 1.2 : 2.0,
                                   .norm_type = name == "embedding_max_norm" ? 2.0 : 1.0}};
    embedding.to(kFloat64);
    testing::load_golden_state(embedding, name);
    uint64_t version = embedding.weight.version();
    Tensor out = embedding(golden.tensor(name + "/in/x"));
    EXPECT_TRUE(testing::tensors_close(embedding.weight, golden.tensor(name + "/weight_after"), 1e-12, 1e-12)) << name;
    EXPECT_TRUE(testing::tensors_close(out, golden.tensor(name + "/out"), 1e-12, 1e-12)) << name;
    EXPECT_GT(embedding.weight.version(), version) << name;
    EXPECT_FALSE(out.grad_fn() == nullptr) << name;  // the renorm is outside the graph, the lookup in it
  }
  // Infinity norm: the largest magnitude is brought to max_norm.
  Tensor weight = tensor({3.0, -4.0, 0.5, 0.25, 1.0, 1.0}, {3, 2}, {.dtype = kFloat64});
  nn::functional::embedding(tensor({0, 1}, {.dtype = kInt64}), weight, {.max_norm = 2.0, .norm_type = INFINITY});
  EXPECT_TRUE(testing::tensors_close(weight, tensor({3.0 * 2 / (4 + 1e-7), -4.0 * 2 / (4 + 1e-7), 0.5, 0.25, 1.0, 1.0},
                                                    {3, 2}, {.dtype = kFloat64}),
                                     1e-14, 1e-14));
}

TEST(Embedding, FromPretrainedMatchesPyTorch) {
  const testing::Golden& golden = testing::module_golden();
  const std::string name = "embedding_from_pretrained";
  Tensor vectors = golden.tensor(name + "/state/weight");
  nn::Embedding embedding = nn::Embedding::from_pretrained(vectors, /*freeze=*/false, {.padding_idx = 1});
  EXPECT_TRUE(embedding.weight.shares_storage(vectors));  // as PyTorch's Parameter(embeddings)
  EXPECT_TRUE(embedding.weight.requires_grad());
  EXPECT_FALSE(vectors.requires_grad());
  EXPECT_EQ(embedding.state_dict().keys(), std::vector<std::string>{"weight"});
  Tensor out = embedding(golden.tensor(name + "/in/x"));  // the padding row is looked up: not zeroed
  EXPECT_TRUE(testing::tensors_close(out, golden.tensor(name + "/out"), 1e-12, 1e-12));
  sum(mul(out, golden.tensor(name + "/gy"))).backward();
  EXPECT_TRUE(testing::tensors_close(embedding.weight.grad(), golden.tensor(name + "/grad/weight"), 1e-12, 1e-12));

  nn::Embedding frozen = nn::Embedding::from_pretrained(vectors);
  EXPECT_FALSE(frozen.weight.requires_grad());
  EXPECT_EQ(frozen.num_parameters(/*only_trainable=*/true), 0);
  EXPECT_EQ(frozen.extra_repr(), "4, 3");
  EXPECT_TRUE(throws_with<ShapeError>([] { nn::Embedding::from_pretrained(zeros({4})); },
                                      {"Embedding::from_pretrained", "[4]", "2-d"}));
  EXPECT_TRUE(throws_with<IndexError>([&] { nn::Embedding::from_pretrained(vectors, true, {.padding_idx = 4}); },
                                      {"Embedding::from_pretrained", "padding_idx 4"}));
}

TEST(Embedding, OptionsPrintAndErrors) {
  nn::Embedding embedding{5, 2, {.padding_idx = 0, .max_norm = 1.5, .norm_type = 1.0, .scale_grad_by_freq = true}};
  EXPECT_EQ(embedding.extra_repr(), "5, 2, padding_idx=0, max_norm=1.5, norm_type=1, scale_grad_by_freq=true");
  EXPECT_TRUE(throws_with<IndexError>([&] { embedding(tensor({1, 5}, {.dtype = kInt64})); },
                                      {"embedding", "index 5", "[2]", "[5, 2]"}));
  EXPECT_TRUE(throws_with<ValueError>([] { nn::Embedding(5, 2, {.max_norm = 1.0, .norm_type = 0.0}); },
                                      {"Embedding", "norm_type 0"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { embedding(tensor({1.0})); }, {"embedding", "int64"}));
}

}  // namespace
}  // namespace descent
