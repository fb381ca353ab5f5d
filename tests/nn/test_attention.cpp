// MultiheadAttention (nn/attention.h): output, input and parameter gradients, attention weights
// and state_dict names against PyTorch (tests/nn/golden/gen_modules.py) with attn_mask,
// key_padding_mask and a causal mask; default initialisation; gradcheck of the module and
// gradgradcheck of nn::functional::scaled_dot_product_attention, in float64.
#include <cmath>
#include <vector>

#include "module_golden.h"

namespace descent {
namespace {

using testing::check_module_case;
using testing::ModuleCase;
using testing::module_golden;
using testing::throws_with;

ModuleCase attention_case(std::string name, int64_t embed_dim, int64_t heads, nn::MultiheadAttentionOptions options,
                          std::function<nn::MultiheadAttentionCall()> call) {
  return {std::move(name), [=] { return std::make_shared<nn::MultiheadAttention>(embed_dim, heads, options); },
          [call](nn::Module& m, const std::vector<Tensor>& in) {
            return static_cast<nn::MultiheadAttention&>(m).forward(in[0], in[1], in[2], call());
          },
          {"q", "k", "v"}};
}

nn::MultiheadAttentionCall masks() {
  return {.key_padding_mask = module_golden().tensor("mha_masked_weights/key_padding_mask"),
          .attn_mask = module_golden().tensor("mha_masked_weights/attn_mask")};
}

std::vector<ModuleCase> attention_cases() {
  return {
      attention_case("mha", 4, 2, {}, [] { return nn::MultiheadAttentionCall{}; }),
      attention_case("mha_masked_weights", 4, 2, {.batch_first = true}, masks),
      attention_case("mha_causal_no_bias", 6, 3, {.bias = false, .batch_first = true},
                     [] { return nn::MultiheadAttentionCall{.is_causal = true}; }),
  };
}

class AttentionGolden : public ::testing::TestWithParam<ModuleCase> {};

TEST_P(AttentionGolden, MatchesPyTorch) { check_module_case(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Modules, AttentionGolden, ::testing::ValuesIn(attention_cases()),
                         [](const auto& info) { return info.param.name; });

TEST(MultiheadAttention, AveragedWeightsMatchPyTorch) {
  const std::string name = "mha_masked_weights";
  nn::MultiheadAttention attention{4, 2, {.batch_first = true}};
  attention.to(kFloat64);
  testing::load_golden_state(attention, name);
  auto tensor = [&](const std::string& key) { return module_golden().tensor(name + "/" + key); };
  auto [out, weights] = attention.forward_with_weights(tensor("in/q"), tensor("in/k"), tensor("in/v"), masks());
  EXPECT_TRUE(testing::tensors_close(out, tensor("out"), 1e-10, 1e-10));
  EXPECT_TRUE(testing::tensors_close(weights, tensor("weights"), 1e-10, 1e-10));
  auto per_head = attention.forward_with_weights(tensor("in/q"), tensor("in/k"), tensor("in/v"),
                                                 {.key_padding_mask = masks().key_padding_mask,
                                                  .attn_mask = masks().attn_mask,
                                                  .average_attn_weights = false})
                      .second;
  EXPECT_EQ(per_head.sizes(), Dims({2, 2, 3, 5}));
  EXPECT_TRUE(testing::tensors_close(mean(per_head, {1}), weights, 1e-12, 1e-12));
}

TEST(MultiheadAttention, DefaultInitialisationAndNames) {
  manual_seed(4);
  nn::MultiheadAttention attention{16, 4};
  // xavier_uniform_ on [48, 16]: bound sqrt(6 / (16 + 48)); biases zero.
  double bound = std::sqrt(6.0 / 64.0);
  double weight_max = testing::abs_max_and_mean(attention.in_proj_weight).first;
  EXPECT_LE(weight_max, bound);
  EXPECT_GT(weight_max, 0.95 * bound);
  EXPECT_TRUE(testing::tensors_close(attention.in_proj_bias, zeros({48}), 0, 0));
  EXPECT_TRUE(testing::tensors_close(attention.out_proj->bias, zeros({16}), 0, 0));
  EXPECT_LE(testing::abs_max_and_mean(attention.out_proj->weight).first, 1.0 / std::sqrt(16.0));
  EXPECT_EQ(attention.num_parameters(), 48 * 16 + 48 + 16 * 16 + 16);
  // Self-attention through the one-argument forward, unbatched.
  EXPECT_EQ(attention(randn({5, 16})).sizes(), Dims({5, 16}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { attention(randn({2, 5, 8})); }, {"MultiheadAttention", "embed_dim 16"}));
  EXPECT_TRUE(throws_with<ValueError>([] { nn::MultiheadAttention(10, 3); }, {"embed_dim=10", "num_heads=3"}));
}

TEST(MultiheadAttention, GradcheckWithMasks) {
  manual_seed(5);
  nn::MultiheadAttention attention{4, 2, {.batch_first = true}};
  attention.to(kFloat64);
  nn::MultiheadAttentionCall call{.key_padding_mask = tensor({false, false, true}).view({1, 3}), .is_causal = true};
  auto input = [] { return randn({1, 3, 4}, {.dtype = kFloat64}).requires_grad_(true); };
  auto fn = [&](const std::vector<Tensor>& in) { return attention.forward(in[0], in[1], in[2], call); };
  auto result = autograd::gradcheck(fn, {input(), input(), input()});
  EXPECT_TRUE(result.ok) << result.message;
}

TEST(ScaledDotProductAttention, SecondDerivatives) {
  manual_seed(6);
  auto input = [](const Dims& shape) { return randn(shape, {.dtype = kFloat64}).requires_grad_(true); };
  Tensor mask = tensor({true, false, true, true, true, false}).view({2, 3});
  auto fn = [&](const std::vector<Tensor>& in) {
    return nn::functional::scaled_dot_product_attention(in[0], in[1], in[2], {.attn_mask = mask});
  };
  auto result = autograd::gradgradcheck(fn, {input({2, 2, 2}), input({2, 3, 2}), input({2, 3, 2})});
  EXPECT_TRUE(result.ok) << result.message;
  auto causal = [](const std::vector<Tensor>& in) {
    return nn::functional::scaled_dot_product_attention(in[0], in[1], in[2], {.is_causal = true});
  };
  result = autograd::gradgradcheck(causal, {input({3, 2}), input({3, 2}), input({3, 2})});
  EXPECT_TRUE(result.ok) << result.message;
}

}  // namespace
}  // namespace descent
