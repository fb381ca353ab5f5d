// dist::SyncBatchNorm: batch normalisation whose batch statistics are those of the whole global
// batch (every rank's shard), allreduced in forward and in backward. It has BatchNorm's
// parameters, buffers and names, so its state_dict is a BatchNorm's. Read nn/normalization.h first.
#pragma once

#include <descent/dist/process_group.h>
#include <descent/nn/normalization.h>

namespace descent::dist {

// Input [N, C, *] (any rank >= 2). In training each channel is normalised with the mean and
// biased variance over every rank's N and *, and the running statistics get the unbiased variance
// of that global batch; in eval it is BatchNorm (no communication). Every rank must call forward
// (and backward) the same number of times: each training forward makes two allreduces, and its
// backward two more.
class SyncBatchNorm : public nn::BatchNorm {
 public:
  explicit SyncBatchNorm(int64_t num_features, const nn::BatchNormOptions& options = {}, ProcessGroup group = world());
  Tensor forward(const Tensor& x);
  Tensor operator()(const Tensor& x) { return forward(x); }

 private:
  ProcessGroup group_;
};

}  // namespace descent::dist
