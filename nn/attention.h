// MultiheadAttention as PyTorch 1.13 defines it (Vaswani et al. 2017, section 3.2.2): the input
// projections (packed in_proj_weight [3E, E], or q_proj_weight, k_proj_weight, v_proj_weight when
// the key or value width differs from E) and in_proj_bias [3E], optional learned bias_k / bias_v
// and a zero key/value appended to the keys, num_heads scaled dot-product attentions of head size
// E / num_heads with dropout on the weights, then out_proj (a Linear) -- PyTorch's parameter
// names, layout and initialisation, so state_dicts move between the two.
//   nn::MultiheadAttention attention{64, 4, {.dropout = 0.1, .batch_first = true}};
//   Tensor y = attention(x);                                            // self-attention
//   Tensor z = attention.forward(q, k, v, {.key_padding_mask = padding, .is_causal = true});
//   auto [out, weights] = attention.forward_with_weights(q, k, v);      // PyTorch's need_weights=True
#pragma once

#include <memory>
#include <optional>
#include <utility>

#include <descent/core/random.h>
#include <descent/nn/linear.h>
#include <descent/nn/module.h>

namespace descent::nn {

// PyTorch's constructor arguments after embed_dim and num_heads, in its order.
struct MultiheadAttentionOptions {
  double dropout = 0.0;        // probability of zeroing an attention weight, in training only
  bool bias = true;            // in_proj_bias and out_proj.bias
  bool add_bias_kv = false;    // learned bias_k, bias_v [1, 1, E] appended to the projected keys and values
  bool add_zero_attn = false;  // a zero key and value appended (after bias_k / bias_v)
  std::optional<int64_t> kdim = std::nullopt;  // the key's feature count (default embed_dim)
  std::optional<int64_t> vdim = std::nullopt;  // the value's feature count (default embed_dim)
  bool batch_first = false;    // inputs [B, L, E] instead of PyTorch's default [L, B, E]
  Generator* generator = nullptr;  // dropout's draws (as nn::Dropout); the default generator when null
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
  // As PyTorch's _reset_parameters: the input projection weights xavier_uniform_ (each of
  // q/k/v_proj_weight on its own when separate), biases zero, bias_k and bias_v xavier_normal_,
  // out_proj.weight as a Linear's. embed_dim must be a multiple of num_heads.
  MultiheadAttention(int64_t embed_dim, int64_t num_heads, const MultiheadAttentionOptions& options = {});

  // query [L, B, E] (batch_first: [B, L, E]) or unbatched [L, E]; key [S, B, kdim] and value
  // [S, B, vdim] likewise -> the attended output, shaped as query. PyTorch's need_weights=False.
  Tensor forward(const Tensor& query, const Tensor& key, const Tensor& value, const MultiheadAttentionCall& call = {});
  // Self-attention (query = key = value), so that the layer chains in Sequential.
  Tensor forward(const Tensor& x) { return forward(x, x, x); }
  Tensor operator()(const Tensor& x) { return forward(x); }
  // PyTorch's need_weights=True: the output and the attention weights (after dropout, as
  // PyTorch returns them) [B, L, S'] averaged over heads, or [B, num_heads, L, S'] when
  // !average_attn_weights; without B when unbatched. S' counts the appended bias and zero keys.
  std::pair<Tensor, Tensor> forward_with_weights(const Tensor& query, const Tensor& key, const Tensor& value,
                                                 const MultiheadAttentionCall& call = {});
  void reset_parameters();
  std::string extra_repr() const override;
  // Whether the projections are packed into in_proj_weight (kdim == vdim == embed_dim).
  bool packed_projection() const { return in_proj_weight.defined(); }

  int64_t embed_dim, num_heads, head_dim, kdim, vdim;
  MultiheadAttentionOptions options;
  Tensor in_proj_weight;  // [3E, E]: the query, key and value projections stacked; or undefined
  Tensor q_proj_weight, k_proj_weight, v_proj_weight;  // [E, E], [E, kdim], [E, vdim] when not packed
  Tensor in_proj_bias;    // [3E], undefined without bias
  Tensor bias_k, bias_v;  // [1, 1, E] with add_bias_kv
  std::shared_ptr<Linear> out_proj;  // owned: the module stays movable

 private:
  std::pair<Tensor, Tensor> attend(const Tensor& query, const Tensor& key, const Tensor& value,
                                   const MultiheadAttentionCall& call, bool need_weights);
};

}  // namespace descent::nn
