// Embedding: construction, PyTorch's default initialisation, and the forward through
// nn::functional::embedding.
#include "nn/embedding.h"

#include "autograd/graph.h"
#include "autograd/ops.h"
#include "nn/functional_norm.h"
#include "nn/init.h"

namespace descent::nn {

Embedding::Embedding(int64_t num_embeddings, int64_t embedding_dim, const EmbeddingOptions& options)
    : num_embeddings(num_embeddings), embedding_dim(embedding_dim), padding_idx(options.padding_idx) {
  check<ValueError>(num_embeddings > 0 && embedding_dim > 0,
                    "Embedding: sizes have to be positive, got num_embeddings={} embedding_dim={}", num_embeddings,
                    embedding_dim);
  if (padding_idx) {
    check<IndexError>(*padding_idx >= -num_embeddings && *padding_idx < num_embeddings,
                      "Embedding: padding_idx {} is out of range for num_embeddings={}", *padding_idx,
                      num_embeddings);
    if (*padding_idx < 0) *padding_idx += num_embeddings;
  }
  weight = register_parameter("weight", empty({num_embeddings, embedding_dim}));
  reset_parameters();
}

void Embedding::reset_parameters() {
  init::normal_(weight);
  if (!padding_idx) return;
  autograd::NoGradGuard guard;
  weight.select(0, *padding_idx).zero_();
}

Tensor Embedding::forward(const Tensor& indices) { return functional::embedding(indices, weight, padding_idx); }

std::string Embedding::extra_repr() const {
  std::string repr = fmt::format("{}, {}", num_embeddings, embedding_dim);
  if (padding_idx) repr += fmt::format(", padding_idx={}", *padding_idx);
  return repr;
}

}  // namespace descent::nn
