// Embedding: construction (from sizes, or from pretrained vectors), PyTorch's default
// initialisation, and the forward through nn::functional::embedding.
#include <descent/nn/embedding.h>

#include <descent/autograd/graph.h>
#include <descent/autograd/ops.h>
#include <descent/nn/init.h>

namespace descent::nn {

Embedding::Embedding(const char* op, int64_t num_embeddings, int64_t embedding_dim, const EmbeddingOptions& options)
    : num_embeddings(num_embeddings), embedding_dim(embedding_dim), options(options) {
  check<ValueError>(num_embeddings > 0 && embedding_dim > 0,
                    "{}: sizes have to be positive, got num_embeddings={} embedding_dim={}", op, num_embeddings,
                    embedding_dim);
  if (std::optional<int64_t>& padding_idx = this->options.padding_idx) {
    check<IndexError>(*padding_idx >= -num_embeddings && *padding_idx < num_embeddings,
                      "{}: padding_idx {} is out of range for num_embeddings={}", op, *padding_idx, num_embeddings);
    if (*padding_idx < 0) *padding_idx += num_embeddings;
  }
  check<ValueError>(!options.max_norm || options.norm_type > 0.0,
                    "{}: norm_type {} should be positive (or infinity)", op, options.norm_type);
}

Embedding::Embedding(int64_t num_embeddings, int64_t embedding_dim, const EmbeddingOptions& options)
    : Embedding("Embedding", num_embeddings, embedding_dim, options) {
  weight = register_parameter("weight", empty({num_embeddings, embedding_dim}));
  reset_parameters();
}

Embedding Embedding::from_pretrained(const Tensor& embeddings, bool freeze, const EmbeddingOptions& options) {
  const char* op = "Embedding::from_pretrained";
  check<ShapeError>(embeddings.defined() && embeddings.dim() == 2,
                    "{}: embeddings {} should be 2-d [num_embeddings, embedding_dim]", op,
                    embeddings.defined() ? embeddings.sizes() : Dims{});
  check<DTypeError>(embeddings.is_floating_point(), "{}: embeddings must be floating point, not {}", op,
                    embeddings.dtype());
  Embedding layer(op, embeddings.size(0), embeddings.size(1), options);
  layer.weight = layer.register_parameter("weight", embeddings.detach(), !freeze);
  return layer;
}

void Embedding::reset_parameters() {
  init::normal_(weight);
  if (!options.padding_idx) return;
  autograd::NoGradGuard guard;
  weight.select(0, *options.padding_idx).zero_();
}

Tensor Embedding::forward(const Tensor& indices) { return functional::embedding(indices, weight, options); }

// As PyTorch's Embedding.extra_repr: the options that are not at their default.
std::string Embedding::extra_repr() const {
  std::string repr = fmt::format("{}, {}", num_embeddings, embedding_dim);
  if (options.padding_idx) repr += fmt::format(", padding_idx={}", *options.padding_idx);
  if (options.max_norm) repr += fmt::format(", max_norm={}", *options.max_norm);
  if (options.norm_type != 2.0) repr += fmt::format(", norm_type={}", options.norm_type);
  if (options.scale_grad_by_freq) repr += ", scale_grad_by_freq=true";
  return repr;
}

}  // namespace descent::nn
