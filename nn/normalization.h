// The normalisation layers BatchNorm1d, BatchNorm2d, LayerNorm and GroupNorm: PyTorch's
// parameters and buffers (weight, bias, running_mean, running_var, num_batches_tracked) and
// default initialisation (ones and zeros) around nn::functional (nn/functional_norm.h).
//   nn::BatchNorm2d bn{64};   nn::LayerNorm ln{{512}};   nn::GroupNorm gn{8, 64};
#pragma once

#include <optional>

#include <descent/nn/module.h>

namespace descent::nn {

struct BatchNormOptions {
  double eps = 1e-5;
  // running = (1 - momentum) running + momentum batch statistic; nullopt: the cumulative average
  // over all batches seen (momentum 1 / num_batches_tracked).
  std::optional<double> momentum = 0.1;
  bool affine = true;               // learnable weight and bias
  bool track_running_stats = true;  // keep running statistics (and use them in eval)
};

// BatchNorm1d and BatchNorm2d: normalises each channel of [N, C, *] over N and *. In training
// (or without running statistics) with the batch's statistics, updating the running ones; in eval
// with the running statistics.
class BatchNorm : public Module {
 public:
  Tensor forward(const Tensor& x);
  Tensor operator()(const Tensor& x) { return forward(x); }
  // Running mean 0, variance 1, no batches tracked.
  void reset_running_stats();
  // reset_running_stats, weight 1 and bias 0.
  void reset_parameters();
  std::string extra_repr() const override;

  int64_t num_features;
  BatchNormOptions options;
  Tensor weight, bias;                                    // [C], undefined unless affine
  Tensor running_mean, running_var, num_batches_tracked;  // [C], [C], int64 []; undefined unless tracked

 protected:
  // `layer` names the layer in errors, `input_dims` are the input ranks it accepts and
  // `input_shape` names them.
  BatchNorm(const char* layer, int64_t num_features, const BatchNormOptions& options, std::vector<int64_t> input_dims,
            std::string input_shape);

 private:
  const char* layer_;
  std::vector<int64_t> input_dims_;
  std::string input_shape_;
};

// Input [N, C] or [N, C, L].
class BatchNorm1d : public BatchNorm {
 public:
  explicit BatchNorm1d(int64_t num_features, const BatchNormOptions& options = {})
      : BatchNorm("BatchNorm1d", num_features, options, {2, 3}, "[N, C] or [N, C, L]") {}
};

// Input [N, C, H, W].
class BatchNorm2d : public BatchNorm {
 public:
  explicit BatchNorm2d(int64_t num_features, const BatchNormOptions& options = {})
      : BatchNorm("BatchNorm2d", num_features, options, {4}, "[N, C, H, W]") {}
};

struct LayerNormOptions {
  double eps = 1e-5;
  bool elementwise_affine = true;  // learnable weight (and bias) of normalized_shape
  bool bias = true;                // the bias, when elementwise_affine
};

// Normalises over the last dims, which must equal normalized_shape.
class LayerNorm : public Module {
 public:
  explicit LayerNorm(const Dims& normalized_shape, const LayerNormOptions& options = {});
  Tensor forward(const Tensor& x);
  Tensor operator()(const Tensor& x) { return forward(x); }
  void reset_parameters();  // weight 1, bias 0
  std::string extra_repr() const override;

  Dims normalized_shape;
  LayerNormOptions options;
  Tensor weight, bias;
};

struct GroupNormOptions {
  double eps = 1e-5;
  bool affine = true;  // learnable per-channel weight and bias
};

// [N, C, *] normalised over each of num_groups groups of C / num_groups channels (and *).
class GroupNorm : public Module {
 public:
  GroupNorm(int64_t num_groups, int64_t num_channels, const GroupNormOptions& options = {});
  Tensor forward(const Tensor& x);
  Tensor operator()(const Tensor& x) { return forward(x); }
  void reset_parameters();  // weight 1, bias 0
  std::string extra_repr() const override;

  int64_t num_groups, num_channels;
  GroupNormOptions options;
  Tensor weight, bias;
};

}  // namespace descent::nn
