// nn::functional::embedding: the lookup (index_select of rows), PyTorch's embedding_renorm_ for
// max_norm, and EmbeddingBackward, which adds each lookup's gradient row into its weight row
// (index_add), scaled per lookup by 0 at padding_idx and by 1 / count with scale_grad_by_freq.
// Shapes: V rows (num_embeddings), D columns (embedding_dim), n lookups.
#include <descent/nn/functional_embedding.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <descent/autograd/ops.h>
#include <descent/autograd/record.h>
#include <descent/core/error.h>

namespace descent::nn::functional {

using autograd::Node;
using autograd::record;

namespace {

// gw[i] += scale[j] g[j] for every lookup j of row i = indices[j] (scale undefined: all ones).
struct EmbeddingBackward : Node {
  Tensor indices;    // int64 [n], a constant
  Tensor row_scale;  // [n] of the weight's dtype, a constant; or undefined
  std::string name() const override { return "EmbeddingBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    const Dims& weight_shape = input_meta(0).shape;
    Tensor g = reshape(grads[0], {indices.numel(), weight_shape[1]});
    if (row_scale.defined()) g = mul(g, unsqueeze(row_scale, 1));
    return {index_add(core::zeros(weight_shape, {.dtype = g.dtype()}), 0, indices, g)};
  }
};

// ||row||_p over `count` elements `stride` apart: max |x| for p = inf, else (sum |x|^p)^(1/p).
template <typename T>
double row_norm(const T* row, int64_t count, int64_t stride, double p) {
  double total = 0.0;
  for (int64_t k = 0; k < count; ++k) {
    double magnitude = std::abs(static_cast<double>(row[k * stride]));
    total = std::isinf(p) ? std::max(total, magnitude) : total + std::pow(magnitude, p);
  }
  return std::isinf(p) ? total : std::pow(total, 1.0 / p);
}

// PyTorch's embedding_renorm_: every distinct looked-up row whose norm exceeds max_norm is scaled
// by max_norm / (norm + 1e-7), in place, once however often it is looked up.
void renorm_looked_up_rows(const Tensor& weight, const std::vector<int64_t>& lookups, double max_norm, double p) {
  std::vector<char> done(static_cast<size_t>(weight.size(0)), 0);
  dispatch_floating(weight.dtype(), "embedding", [&]<typename T>() {
    T* base = static_cast<T*>(weight.raw_data());
    const int64_t row_stride = weight.stride(0), column_stride = weight.stride(1), columns = weight.size(1);
    for (int64_t i : lookups) {
      if (done[i]) continue;
      done[i] = 1;
      T* row = base + i * row_stride;
      double norm = row_norm(row, columns, column_stride, p);
      if (norm <= max_norm) continue;
      const T scale = static_cast<T>(max_norm / (norm + 1e-7));
      for (int64_t k = 0; k < columns; ++k) row[k * column_stride] *= scale;
    }
  });
  weight.bump_version();
}

// Per lookup: 0 at padding_idx (-1: none), else 1 / (count of its row) with scale_grad_by_freq,
// else 1. Undefined when every factor is 1.
Tensor lookup_scales(const std::vector<int64_t>& lookups, int64_t rows, int64_t padding, bool by_frequency,
                     DType dtype) {
  std::vector<int64_t> counts(static_cast<size_t>(rows), 0);
  for (int64_t i : lookups) ++counts[i];
  bool all_ones = true;
  std::vector<double> scales(lookups.size());
  for (size_t j = 0; j < lookups.size(); ++j) {
    int64_t i = lookups[j];
    scales[j] = i == padding ? 0.0 : by_frequency ? 1.0 / static_cast<double>(counts[i]) : 1.0;
    all_ones = all_ones && scales[j] == 1.0;
  }
  if (all_ones) return Tensor();
  return core::tensor(scales, {.dtype = kFloat64}).to(dtype);  // NOTE: a double vector alone makes float32
}

}  // namespace

Tensor embedding(const Tensor& indices, const Tensor& weight, const EmbeddingOptions& options) {
  check<DTypeError>(indices.dtype() == kInt64, "embedding: indices must be int64, not {}", indices.dtype());
  check<ShapeError>(weight.dim() == 2, "embedding: weight {} should be [num_embeddings, dim]", weight.sizes());
  check<DTypeError>(weight.is_floating_point(), "embedding: weight must be floating point, not {}", weight.dtype());
  const int64_t rows = weight.size(0);
  int64_t padding = -1;
  if (options.padding_idx) {
    padding = *options.padding_idx < 0 ? *options.padding_idx + rows : *options.padding_idx;
    check<IndexError>(padding >= 0 && padding < rows, "embedding: padding_idx {} is out of range for weight {}",
                      *options.padding_idx, weight.sizes());
  }
  if (options.max_norm) {
    check<ValueError>(options.norm_type > 0.0, "embedding: norm_type {} should be positive (or infinity)",
                      options.norm_type);
  }
  Tensor flat = core::contiguous(core::reshape(indices, {indices.numel()}));
  std::vector<int64_t> lookups = flat.to_vector<int64_t>();
  for (int64_t i : lookups) {
    check<IndexError>(i >= 0 && i < rows, "embedding: index {} in indices {} is out of range for weight {}", i,
                      indices.sizes(), weight.sizes());
  }
  if (options.max_norm) renorm_looked_up_rows(weight, lookups, *options.max_norm, options.norm_type);

  Dims out_shape = indices.sizes();
  out_shape.push_back(weight.size(1));
  Tensor out = core::reshape(core::index_select(weight, 0, flat), out_shape);
  if (auto node = record<EmbeddingBackward>(out, {weight})) {
    node->indices = flat;
    node->row_scale = lookup_scales(lookups, rows, padding, options.scale_grad_by_freq, weight.dtype());
  }
  return out;
}

}  // namespace descent::nn::functional
