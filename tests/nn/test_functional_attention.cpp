// scaled_dot_product_attention (nn/functional_attention.h): PyTorch's outputs and gradients with
// no mask, a causal mask combined with a boolean mask, and a float mask; gradcheck; errors.
#include "functional_golden.h"
#include <descent/nn/functional_attention.h>

namespace descent {
namespace {

namespace F = nn::functional;
using testing::FunctionalCase;
using testing::throws_with;
using In = const std::vector<Tensor>&;

std::vector<FunctionalCase> attention_cases() {
  return {
      {"attention", {"q", "k", "v"}, {"q", "k", "v"},
       [](In in) { return F::scaled_dot_product_attention(in[0], in[1], in[2]); }},
      {"attention_causal_bool_mask", {"q", "k", "v", "m"}, {"q", "k", "v"},
       [](In in) {
         return F::scaled_dot_product_attention(in[0], in[1], in[2],
                                                {.attn_mask = in[3], .is_causal = true, .scale = 0.7});
       }},
      {"attention_float_mask", {"q", "k", "v", "m"}, {"q", "k", "v"},
       [](In in) { return F::scaled_dot_product_attention(in[0], in[1], in[2], {.attn_mask = in[3]}); }},
  };
}

class AttentionGolden : public ::testing::TestWithParam<FunctionalCase> {};
TEST_P(AttentionGolden, MatchesPyTorchAndGradcheck) { testing::check_functional_case(GetParam()); }
INSTANTIATE_TEST_SUITE_P(PyTorch, AttentionGolden, ::testing::ValuesIn(attention_cases()),
                         testing::functional_case_name);

TEST(Attention, ErrorsNameTheOpAndShapes) {
  Tensor q = core::zeros({2, 3, 4}), k = core::zeros({2, 5, 4}), v = core::zeros({2, 5, 2});
  EXPECT_TRUE(throws_with<ShapeError>([&] { F::scaled_dot_product_attention(q, core::zeros({2, 5, 3}), v); },
                                      {"scaled_dot_product_attention", "[2, 3, 4]", "[2, 5, 3]", "[2, 5, 2]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] {
    F::scaled_dot_product_attention(q, k, v, {.attn_mask = core::zeros({3, 4})});
  }, {"scaled_dot_product_attention", "attn_mask [3, 4]", "[3, 5]"}));
}

}  // namespace
}  // namespace descent
