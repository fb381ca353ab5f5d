// Around the update: gradient clipping (by total norm, by value), gradient accumulation over
// micro-batches, and the linear scaling rule for the learning rate. All act on the .grad of
// plain parameter tensors, in place, outside the graph.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include <descent/core/tensor.h>

namespace descent::optim {

struct ClipOptions {
  double norm_type = 2.0;           // p of the p-norm; infinity for the largest |g|
  bool error_if_nonfinite = false;  // throw when the total norm is NaN or infinite
};

// Scales every gradient by min(1, max_norm / (total_norm + 1e-6)), where total_norm is the
// p-norm of all the parameters' gradients taken together (as torch.nn.utils.clip_grad_norm_).
// Returns total_norm (0 when no parameter has a gradient). Parameters without one are skipped.
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm, ClipOptions options = {});

// Clamps every gradient element into [-clip_value, clip_value].
void clip_grad_value(const std::vector<Tensor>& params, double clip_value);

// The linear scaling rule (Goyal et al. 2017, "Accurate, Large Minibatch SGD"): when the batch
// grows k-fold, so does the lr: base_lr * batch / base_batch. Pair it with a warmup
// (warmup_cosine, or LinearLR) of a few epochs, which that paper needs for large k.
double linear_scaled_lr(double base_lr, int64_t base_batch, int64_t batch);

// Gradient accumulation: k micro-batches of size b give the gradient of one batch of k b when each
// micro-batch's mean loss is divided by k before backward. The pattern:
//
//   GradientAccumulator accumulate(k);
//   for (auto [x, y] : micro_batches) {
//     if (accumulate.backward(loss_of(x, y))) {  // the k-th: the full batch's gradient is ready
//       clip_grad_norm(params, 1.0);
//       opt.step();
//       opt.zero_grad();
//     }
//   }
class GradientAccumulator {
 public:
  explicit GradientAccumulator(int64_t micro_batches);
  // Backward of loss / micro_batches into the parameters' gradients; true when this was the last
  // micro-batch of the step (the counter then starts over).
  bool backward(const Tensor& loss);
  int64_t micro_batches() const { return micro_batches_; }
  int64_t pending() const { return count_; }  // micro-batches accumulated since the last step

 private:
  int64_t micro_batches_;
  int64_t count_ = 0;
};

}  // namespace descent::optim
