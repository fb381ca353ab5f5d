// Scaled dot-product attention of nn::functional: softmax(q k^T scale + mask) v, with an
// optional causal mask and an attention mask. One node with a closed-form backward; see
// nn/functional_attention.cpp.
#pragma once

#include <optional>

#include <descent/core/tensor.h>

namespace descent::nn::functional {

struct AttentionOptions {
  Tensor attn_mask = Tensor();  // [L, S] broadcast over batch dims: bool (true = attend) or floating (added)
  bool is_causal = false;       // query i attends to keys j <= i only
  std::optional<double> scale = std::nullopt;  // default 1 / sqrt(E)
};

// q [*, L, E], k [*, S, E], v [*, S, Ev] with the same batch dims * -> [*, L, Ev]. The mask is a
// constant: it gets no gradient. A row that attends to nothing gives NaN, as in PyTorch.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionOptions& options = {});

}  // namespace descent::nn::functional
