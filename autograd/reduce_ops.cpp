// Differentiable reductions: each forward (a core kernel plus its node) beside its backward.
//   sum: the gradient is broadcast back over the reduced dims; mean: the same, divided by the
//   number of reduced elements.
#include "autograd/reduce_ops.h"

#include "autograd/ops.h"
#include "autograd/record.h"

namespace descent {

using autograd::Node;
using autograd::record;

namespace {

// The gradient of a reduction over `dims` (empty: all) laid back out over the input's shape.
Tensor expand_reduced(const Tensor& grad, const Dims& input_shape, const Dims& dims, bool keepdim) {
  Tensor g = grad;
  if (!keepdim) {
    Dims kept = core::reduced_shape(input_shape, dims, /*keepdim=*/true, "sum");
    g = reshape(g, kept);
  }
  return expand(g, input_shape);
}

struct SumBackward : Node {
  Dims dims;
  bool keepdim = false;
  double scale = 1.0;  // 1 for sum, 1 / count for mean
  std::string name_ = "SumBackward";
  std::string name() const override { return name_; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    Tensor g = expand_reduced(grads[0], input_meta(0).shape, dims, keepdim);
    return {scale == 1.0 ? g : g * scale};
  }
};

Tensor record_sum(Tensor out, const Tensor& x, const Dims& dims, bool keepdim, double scale, const char* name) {
  if (auto node = record<SumBackward>(out, {x})) {
    node->dims = dims;
    node->keepdim = keepdim;
    node->scale = scale;
    node->name_ = name;
  }
  return out;
}

}  // namespace

Tensor sum(const Tensor& x, const Dims& dims, bool keepdim) {
  return record_sum(core::sum(x, dims, keepdim), x, dims, keepdim, 1.0, "SumBackward");
}

Tensor mean(const Tensor& x, const Dims& dims, bool keepdim) {
  Tensor out = core::mean(x, dims, keepdim);
  int64_t count = out.numel() == 0 ? 0 : x.numel() / out.numel();
  return record_sum(out, x, dims, keepdim, count == 0 ? 0.0 : 1.0 / static_cast<double>(count), "MeanBackward");
}

}  // namespace descent
