// Embedding lookup of nn::functional, as torch.nn.functional.embedding defines it: padding_idx,
// max_norm (looked-up rows renormalised in place) and scale_grad_by_freq. The options struct is
// also the layer's (nn::Embedding, nn/embedding.h). Written in nn/functional_embedding.cpp.
#pragma once

#include <cstdint>
#include <optional>

#include <descent/core/tensor.h>

namespace descent::nn::functional {

struct EmbeddingOptions {
  // A row index in [-V, V) (negative counts from the end): lookups of it add nothing to its
  // gradient (the layer also zeroes it at initialisation).
  std::optional<int64_t> padding_idx = std::nullopt;
  // Before the lookup, each looked-up row whose norm_type-norm exceeds max_norm is scaled in
  // place (outside the graph) to norm max_norm: w_i *= max_norm / (norm + 1e-7).
  std::optional<double> max_norm = std::nullopt;
  double norm_type = 2.0;  // p > 0, or infinity
  // Each row's gradient divided by the number of times the row is looked up in this call.
  bool scale_grad_by_freq = false;
};

// weight[indices]: int64 indices of any shape, weight [V, D] -> indices' shape + [D].
// NOTE: with max_norm the weight changes in place (its version counter moves): a graph that
// saved it before this call can no longer run backward, as in PyTorch.
Tensor embedding(const Tensor& indices, const Tensor& weight, const EmbeddingOptions& options = {});

}  // namespace descent::nn::functional
