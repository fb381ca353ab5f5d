// MultiheadAttention (nn/attention.h): output, input and parameter gradients, attention weights
// and state_dict names against PyTorch 1.13 (tests/nn/golden/gen_modules.py) with attn_mask,
// key_padding_mask and a causal mask, kdim / vdim, add_bias_kv, add_zero_attn, unbatched input and
// dropout in eval; dropout in training (seeded, PyTorch's weights-after-dropout); default
// initialisation; gradcheck of the module and gradgradcheck of
// nn::functional::scaled_dot_product_attention, in float64.
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
      attention_case("mha_kdim_vdim", 4, 2, {.kdim = 3, .vdim = 5}, [] { return nn::MultiheadAttentionCall{}; }),
      attention_case("mha_bias_kv_zero_attn", 4, 2, {.add_bias_kv = true, .add_zero_attn = true, .batch_first = true},
                     masks),
      attention_case("mha_unbatched_bias_kv_kdim", 6, 3, {.bias = false, .add_bias_kv = true, .kdim = 2, .vdim = 4},
                     [] { return nn::MultiheadAttentionCall{.is_causal = true}; }),
      [] {
        ModuleCase c = attention_case(
            "mha_zero_attn_dropout_eval", 4, 2, {.dropout = 0.4, .add_zero_attn = true},
            [] { return nn::MultiheadAttentionCall{.key_padding_mask = masks().key_padding_mask}; });
        c.train = false;
        return c;
      }(),
  };
}

// PyTorch's need_weights=True: the weights (averaged, or per head) and the same output.
struct WeightsCase {
  std::string name;
  int64_t embed_dim, heads;
  nn::MultiheadAttentionOptions options;
  nn::MultiheadAttentionCall call;
};

std::vector<WeightsCase> weights_cases() {
  return {
      {"mha_kdim_vdim", 4, 2, {.kdim = 3, .vdim = 5}, {}},
      {"mha_bias_kv_zero_attn", 4, 2, {.add_bias_kv = true, .add_zero_attn = true, .batch_first = true},
       {.key_padding_mask = masks().key_padding_mask, .attn_mask = masks().attn_mask, .average_attn_weights = false}},
      {"mha_unbatched_bias_kv_kdim", 6, 3, {.bias = false, .add_bias_kv = true, .kdim = 2, .vdim = 4},
       {.is_causal = true}},
  };
}

TEST(MultiheadAttention, WeightsMatchPyTorch) {
  for (const WeightsCase& c : weights_cases()) {
    nn::MultiheadAttention attention{c.embed_dim, c.heads, c.options};
    attention.to(kFloat64);
    testing::load_golden_state(attention, c.name);
    auto tensor = [&](const std::string& key) { return module_golden().tensor(c.name + "/" + key); };
    auto [out, weights] = attention.forward_with_weights(tensor("in/q"), tensor("in/k"), tensor("in/v"), c.call);
    EXPECT_TRUE(testing::tensors_close(out, tensor("out"), 1e-10, 1e-10)) << c.name;
    EXPECT_TRUE(testing::tensors_close(weights, tensor("weights"), 1e-10, 1e-10)) << c.name;
  }
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
  // Movable (out_proj is owned), so it chains in Sequential, with PyTorch's nested names.
  nn::Sequential seq{nn::MultiheadAttention(16, 4, {.batch_first = true}), nn::LayerNorm({16})};
  EXPECT_EQ(seq(randn({2, 5, 16})).sizes(), Dims({2, 5, 16}));
  EXPECT_EQ(seq.state_dict().keys(), (std::vector<std::string>{"0.in_proj_weight", "0.in_proj_bias", "0.out_proj.weight",
                                                               "0.out_proj.bias", "1.weight", "1.bias"}));
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

// Dropout acts on the attention weights in training only, draws from the given generator (so a
// seed repeats it), and the weights returned are those after dropout, as PyTorch returns them.
TEST(MultiheadAttention, DropoutOnTheWeightsInTraining) {
  manual_seed(7);
  Generator generator(11);
  const double p = 0.5;
  nn::MultiheadAttention attention{8, 2, {.dropout = p, .add_zero_attn = true, .generator = &generator}};
  Tensor q = randn({6, 3, 8}), k = randn({9, 3, 8}), v = randn({9, 3, 8});
  attention.eval();
  auto [eval_out, clean] = attention.forward_with_weights(q, k, v, {.average_attn_weights = false});
  EXPECT_TRUE(testing::tensors_close(attention.forward(q, k, v), eval_out, 1e-5, 1e-5));  // no dropout in eval

  attention.train();
  generator.manual_seed(3);
  auto [out, dropped] = attention.forward_with_weights(q, k, v, {.average_attn_weights = false});
  EXPECT_EQ(dropped.sizes(), Dims({3, 2, 6, 10}));  // S' = 9 keys + the zero key
  // Each weight is dropped (0) or kept and scaled by 1 / (1 - p).
  Tensor kept = dropped != 0.0;
  EXPECT_TRUE(testing::tensors_close(dropped, where(kept, clean / (1.0 - p), 0.0), 1e-5, 1e-6));
  double kept_fraction = kept.to(kFloat64).mean().item<double>();
  EXPECT_NEAR(kept_fraction, 1.0 - p, 0.08);  // 360 draws
  EXPECT_FALSE(testing::tensors_close(out, eval_out, 1e-3, 1e-3));
  // The same seed repeats the draws; forward (no weights asked for) takes the same path.
  generator.manual_seed(3);
  EXPECT_TRUE(testing::tensors_close(attention.forward(q, k, v), out, 1e-6, 1e-6));
  generator.manual_seed(4);
  EXPECT_FALSE(testing::tensors_close(attention.forward(q, k, v), out, 1e-3, 1e-3));
}

// Gradients through the appended keys, the separate projections and dropout (reseeded on each
// call, so the function is deterministic).
TEST(MultiheadAttention, GradcheckWithNewOptions) {
  manual_seed(8);
  Generator generator;
  nn::MultiheadAttention attention{
      4, 2, {.dropout = 0.3, .add_bias_kv = true, .add_zero_attn = true, .kdim = 3, .vdim = 5, .generator = &generator}};
  attention.to(kFloat64);
  nn::MultiheadAttentionCall call{.key_padding_mask = tensor({false, true, false}).view({1, 3})};
  auto fn = [&](const std::vector<Tensor>& in) {
    generator.manual_seed(1);
    return attention.forward(in[0], in[1], in[2], call);
  };
  auto input = [](const Dims& shape) { return randn(shape, {.dtype = kFloat64}).requires_grad_(true); };
  auto result = autograd::gradcheck(fn, {input({2, 1, 4}), input({3, 1, 3}), input({3, 1, 5})});
  EXPECT_TRUE(result.ok) << result.message;
}

TEST(MultiheadAttention, OptionsNamesAndErrors) {
  manual_seed(9);
  nn::MultiheadAttention attention{6, 2, {.dropout = 0.1, .add_bias_kv = true, .kdim = 4, .vdim = 3}};
  EXPECT_FALSE(attention.packed_projection());
  EXPECT_EQ(attention.state_dict().keys(),
            (std::vector<std::string>{"q_proj_weight", "k_proj_weight", "v_proj_weight", "in_proj_bias", "bias_k",
                                      "bias_v", "out_proj.weight", "out_proj.bias"}));
  EXPECT_EQ(attention.k_proj_weight.sizes(), Dims({6, 4}));
  EXPECT_EQ(attention.v_proj_weight.sizes(), Dims({6, 3}));
  EXPECT_EQ(attention.bias_k.sizes(), Dims({1, 1, 6}));
  // xavier_uniform_ per projection: k_proj_weight [6, 4] within sqrt(6 / 10).
  EXPECT_LE(testing::abs_max_and_mean(attention.k_proj_weight).first, std::sqrt(0.6));
  EXPECT_GT(testing::abs_max_and_mean(attention.bias_k).first, 0.0);  // xavier_normal_, not zero
  EXPECT_EQ(attention.extra_repr(),
            "embed_dim=6, num_heads=2, dropout=0.1, bias=true, add_bias_kv=true, kdim=4, vdim=3, batch_first=false");
  nn::MultiheadAttention packed{6, 2, {.kdim = 6}};  // kdim == vdim == embed_dim: packed, as PyTorch
  EXPECT_TRUE(packed.packed_projection());
  EXPECT_TRUE(throws_with<ShapeError>([&] { attention.forward(randn({2, 1, 6}), randn({3, 1, 6}), randn({3, 1, 3})); },
                                      {"MultiheadAttention", "[3, 1, 6]", "kdim 4"}));
  EXPECT_TRUE(throws_with<ValueError>([] { nn::MultiheadAttention(4, 2, {.dropout = 1.5}); },
                                      {"MultiheadAttention", "dropout", "1.5"}));
  EXPECT_TRUE(throws_with<ValueError>([] { nn::MultiheadAttention(4, 2, {.kdim = 0}); },
                                      {"MultiheadAttention", "kdim=0"}));
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
