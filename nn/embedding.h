// Embedding: a lookup table of num_embeddings vectors (weight [V, D], PyTorch's name), initialised
// N(0, 1) as PyTorch, with the padding_idx row zero and left without gradient; max_norm and
// scale_grad_by_freq as nn::functional::embedding (nn/functional_embedding.h).
//   nn::Embedding tokens{10000, 256, {.padding_idx = 0}};   tokens(indices)  // int64 [*] -> [*, 256]
//   auto glove = nn::Embedding::from_pretrained(vectors, /*freeze=*/true, {.max_norm = 1.0});
#pragma once

#include <descent/nn/functional_embedding.h>
#include <descent/nn/module.h>

namespace descent::nn {

using functional::EmbeddingOptions;  // one struct for the layer and the function: the same fields

class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t embedding_dim, const EmbeddingOptions& options = {});
  // A layer whose weight is `embeddings` [V, D] itself (storage shared, as PyTorch's Parameter
  // shares it), trainable unless `freeze`. Draws nothing and leaves the padding_idx row as given.
  static Embedding from_pretrained(const Tensor& embeddings, bool freeze = true, const EmbeddingOptions& options = {});

  Tensor forward(const Tensor& indices);
  Tensor operator()(const Tensor& indices) { return forward(indices); }
  void reset_parameters();  // weight N(0, 1), the padding row zero
  std::string extra_repr() const override;

  int64_t num_embeddings, embedding_dim;
  EmbeddingOptions options;  // padding_idx normalised to [0, V)
  Tensor weight;             // [num_embeddings, embedding_dim]

 private:
  // Checks and normalises the options; the weight is registered by the caller.
  Embedding(const char* op, int64_t num_embeddings, int64_t embedding_dim, const EmbeddingOptions& options);
};

}  // namespace descent::nn
