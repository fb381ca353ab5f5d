// Embedding: a lookup table of num_embeddings vectors (weight [V, D], PyTorch's name), initialised
// N(0, 1) as PyTorch, with the padding_idx row zero and left without gradient.
//   nn::Embedding tokens{10000, 256, {.padding_idx = 0}};   tokens(indices)  // int64 [*] -> [*, 256]
#pragma once

#include <optional>

#include "nn/module.h"

namespace descent::nn {

struct EmbeddingOptions {
  // A row index in [-V, V) (negative counts from the end): zero at initialisation, and lookups of
  // it add nothing to its gradient.
  std::optional<int64_t> padding_idx = std::nullopt;
};

class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t embedding_dim, const EmbeddingOptions& options = {});
  Tensor forward(const Tensor& indices);
  Tensor operator()(const Tensor& indices) { return forward(indices); }
  void reset_parameters();  // weight N(0, 1), the padding row zero
  std::string extra_repr() const override;

  int64_t num_embeddings, embedding_dim;
  std::optional<int64_t> padding_idx;  // normalised to [0, V)
  Tensor weight;                       // [num_embeddings, embedding_dim]
};

}  // namespace descent::nn
