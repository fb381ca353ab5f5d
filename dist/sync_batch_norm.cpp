// SyncBatchNorm's forward, composed of public ops around a differentiable allreduce (its backward
// is the allreduce of the gradient). The statistics are computed in two passes, the mean first,
// then the mean square deviation from it, as the single-process batch_norm does (no E[x^2] -
// E[x]^2 cancellation), at the cost of a second allreduce.
#include <descent/dist/sync_batch_norm.h>

#include <descent/autograd/graph.h>
#include <descent/autograd/ops.h>
#include <descent/autograd/record.h>
#include <descent/core/factory.h>

namespace descent::dist {

namespace {

// y = the sum of every rank's x. For the total loss sum_r L_r, dL/dx on rank r is the sum over
// ranks of dL_r/dy: the backward is the same allreduce of the gradient.
// NOTE: the backward is not itself recorded, so create_graph through it gives no second order.
struct AllreduceSumBackward : autograd::Node {
  explicit AllreduceSumBackward(ProcessGroup group) : group(std::move(group)) {}
  std::string name() const override { return "AllreduceSumBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    Tensor summed = core::clone(grads[0]);
    group.allreduce(summed, ReduceOp::Sum).wait();
    return {summed};
  }
  ProcessGroup group;
};

Tensor allreduce_sum(const Tensor& x, ProcessGroup& group) {
  Tensor out = core::clone(x.detach());
  group.allreduce(out, ReduceOp::Sum).wait();
  autograd::record<AllreduceSumBackward>(out, {x}, group);
  return out;
}

}  // namespace

SyncBatchNorm::SyncBatchNorm(int64_t num_features, const nn::BatchNormOptions& options, ProcessGroup group)
    : BatchNorm("SyncBatchNorm", num_features, options, {2, 3, 4, 5, 6, 7, 8}, "[N, C, *]"), group_(std::move(group)) {}

Tensor SyncBatchNorm::forward(const Tensor& x) {
  check<ShapeError>(x.dim() >= 2 && x.size(1) == num_features, "SyncBatchNorm: input {} should be [N, {}, *]",
                    x.sizes(), num_features);
  // NOTE: as PyTorch's SyncBatchNorm, eval never communicates: running statistics, or without
  // them this rank's own batch statistics.
  if (!is_training()) return BatchNorm::forward(x);

  // Shapes: x [N, C, *]; statistics [C], broadcast as [1, C, 1, ...].
  Dims reduced{0};
  Dims broadcast = Dims::filled(x.dim(), 1);
  broadcast[1] = num_features;
  for (int64_t d = 2; d < x.dim(); ++d) reduced.push_back(d);
  const int64_t local_count = x.numel() / num_features;
  // The global count rides in the first allreduce, after the C sums (in float32 exact up to 2^24
  // values per channel over all ranks).
  Tensor sums = allreduce_sum(cat({x.sum(reduced), full({1}, static_cast<double>(local_count), {.dtype = x.dtype()})}),
                              group_);
  const double count = sums.slice(0, num_features).item<double>();
  check<ShapeError>(count > 1, "SyncBatchNorm: {} values per channel over all ranks (input {} here); "
                    "training needs more than one", count, x.sizes());
  Tensor mean = sums.slice(0, 0, num_features) / count;
  Tensor centered = x - mean.view(broadcast);
  Tensor variance = allreduce_sum((centered * centered).sum(reduced), group_) / count;
  Tensor y = centered * rsqrt(variance + options.eps).view(broadcast);
  if (options.affine) y = y * weight.view(broadcast) + bias.view(broadcast);

  if (options.track_running_stats) {
    autograd::NoGradGuard no_grad;
    num_batches_tracked.add_(1);
    double momentum = options.momentum.value_or(1.0 / static_cast<double>(num_batches_tracked.item<int64_t>()));
    running_mean.mul_(1.0 - momentum).add_(mean.detach().to(running_mean.dtype()), momentum);
    running_var.mul_(1.0 - momentum)
        .add_((variance.detach() * (count / (count - 1))).to(running_var.dtype()), momentum);
  }
  return y;
}

}  // namespace descent::dist
