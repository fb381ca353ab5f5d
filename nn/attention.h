// MultiheadAttention as PyTorch defines it (Vaswani et al. 2017, section 3.2.2): the packed input
// projection in_proj_weight [3E, E] and in_proj_bias [3E], then num_heads scaled dot-product
// attentions of head size E / num_heads, then out_proj (a Linear) -- PyTorch's parameter names,
// layout and initialisation, so state_dicts move between the two.
//   nn::MultiheadAttention attention{64, 4, {.batch_first = true}};
//   Tensor y = attention(x);                                            // self-attention
//   Tensor z = attention.forward(q, k, v, {.key_padding_mask = padding, .is_causal = true});
#pragma once

#include <memory>
#include <utility>

#include "nn/linear.h"
#include "nn/module.h"

namespace descent::nn {

struct MultiheadAttentionOptions {
  bool bias = true;          // in_proj_bias and out_proj.bias
  bool batch_first = false;  // inputs [B, L, E] instead of PyTorch's default [L, B, E]
};

// The masks of one call. NOTE: a bool mask here follows PyTorch's MultiheadAttention, where true
// means "do not attend" -- the opposite of nn::functional::scaled_dot_product_attention's.
struct MultiheadAttentionCall {
  Tensor key_padding_mask = Tensor();  // [B, S] (or [S] unbatched): bool true = ignore that key, or floating (added)
  Tensor attn_mask = Tensor();         // [L, S] or [B * num_heads, L, S]: bool true = masked, or floating (added)
  bool is_causal = false;              // query i attends to keys j <= i only (with the masks above)
  bool average_attn_weights = true;    // forward_with_weights: the mean over heads, else per head
};

class MultiheadAttention : public Module {
 public:
  // in_proj_weight xavier_uniform_, biases zero, out_proj.weight as a Linear's (PyTorch's
  // _reset_parameters). embed_dim must be a multiple of num_heads.
  MultiheadAttention(int64_t embed_dim, int64_t num_heads, const MultiheadAttentionOptions& options = {});

  // query [L, B, E] (batch_first: [B, L, E]) or unbatched [L, E]; key and value likewise with S
  // positions -> the attended output, shaped as query.
  Tensor forward(const Tensor& query, const Tensor& key, const Tensor& value, const MultiheadAttentionCall& call = {});
  // Self-attention (query = key = value), so that the layer chains in Sequential.
  Tensor forward(const Tensor& x) { return forward(x, x, x); }
  Tensor operator()(const Tensor& x) { return forward(x); }
  // The output and the attention weights [B, L, S] averaged over heads ([B, num_heads, L, S]
  // when !average_attn_weights; without B when unbatched).
  std::pair<Tensor, Tensor> forward_with_weights(const Tensor& query, const Tensor& key, const Tensor& value,
                                                 const MultiheadAttentionCall& call = {});
  void reset_parameters();
  std::string extra_repr() const override;

  int64_t embed_dim, num_heads, head_dim;
  MultiheadAttentionOptions options;
  Tensor in_proj_weight;  // [3E, E]: the query, key and value projections stacked
  Tensor in_proj_bias;    // [3E], undefined without bias
  std::shared_ptr<Linear> out_proj;  // owned: the module stays movable

 private:
  std::pair<Tensor, Tensor> attend(const Tensor& query, const Tensor& key, const Tensor& value,
                                   const MultiheadAttentionCall& call, bool need_weights);
};

}  // namespace descent::nn
