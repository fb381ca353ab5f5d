// Gradient clipping, accumulation and the linear scaling rule (optim/clip.h).
#include <descent/optim/clip.h>

#include <cmath>

#include <descent/autograd/graph.h>
#include <descent/autograd/ops.h>

namespace descent::optim {

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm, ClipOptions options) {
  autograd::NoGradGuard no_grad;
  std::vector<Tensor> grads;
  for (const Tensor& p : params) {
    if (p.grad().defined()) grads.push_back(p.grad());
  }
  if (grads.empty()) return 0.0;
  // total = (sum_i ||g_i||_p^p)^(1/p): the norm of the per-tensor norms; max of them for p = inf.
  double total = 0.0;
  bool infinity_norm = std::isinf(options.norm_type);
  std::vector<double> norms;
  for (const Tensor& g : grads) {
    norms.push_back(infinity_norm ? core::amax(core::abs(g)).item<double>() : core::norm(g, options.norm_type).item<double>());
  }
  if (infinity_norm) {
    for (double n : norms) total = std::isnan(n) || std::isnan(total) ? NAN : std::max(total, n);
  } else {
    for (double n : norms) total += std::pow(n, options.norm_type);
    total = std::pow(total, 1.0 / options.norm_type);
  }
  check<ValueError>(!options.error_if_nonfinite || std::isfinite(total),
                    "clip_grad_norm: the total norm of order {} of the gradients of {} parameters is {}",
                    options.norm_type, grads.size(), total);
  double coefficient = std::min(1.0, max_norm / (total + 1e-6));
  for (Tensor& g : grads) g.mul_(coefficient);
  return total;
}

void clip_grad_value(const std::vector<Tensor>& params, double clip_value) {
  check<ValueError>(clip_value >= 0.0, "clip_grad_value: clip_value = {} must be >= 0", clip_value);
  autograd::NoGradGuard no_grad;
  for (const Tensor& p : params) {
    Tensor g = p.grad();
    if (g.defined()) g.clamp_(-clip_value, clip_value);
  }
}

double linear_scaled_lr(double base_lr, int64_t base_batch, int64_t batch) {
  check<ValueError>(base_batch > 0 && batch > 0, "linear_scaled_lr: batch sizes must be > 0 (base {}, batch {})",
                    base_batch, batch);
  return base_lr * static_cast<double>(batch) / static_cast<double>(base_batch);
}

GradientAccumulator::GradientAccumulator(int64_t micro_batches) : micro_batches_(micro_batches) {
  check<ValueError>(micro_batches > 0, "GradientAccumulator: micro_batches = {} must be > 0", micro_batches);
}

bool GradientAccumulator::backward(const Tensor& loss) {
  (loss / static_cast<double>(micro_batches_)).backward();
  if (++count_ < micro_batches_) return false;
  count_ = 0;
  return true;
}

}  // namespace descent::optim
