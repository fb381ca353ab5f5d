// The normalisation layers: construction, PyTorch's default initialisation, the running-statistics
// bookkeeping of BatchNorm (PyTorch's _BatchNorm.forward), and forwards through nn::functional.
#include <descent/nn/normalization.h>

#include <algorithm>

#include <descent/autograd/ops.h>
#include <descent/nn/functional_norm.h>
#include <descent/nn/init.h>

namespace descent::nn {

BatchNorm::BatchNorm(const char* layer, int64_t num_features, const BatchNormOptions& options,
                     std::vector<int64_t> input_dims, std::string input_shape)
    : num_features(num_features),
      options(options),
      layer_(layer),
      input_dims_(std::move(input_dims)),
      input_shape_(std::move(input_shape)) {
  check<ValueError>(num_features > 0, "{}: num_features has to be positive, got {}", layer_, num_features);
  check<ValueError>(!options.momentum || (*options.momentum >= 0.0 && *options.momentum <= 1.0),
                    "{}: momentum has to be in [0, 1], got {}", layer_, options.momentum.value_or(0.0));
  if (options.affine) {
    weight = register_parameter("weight", empty({num_features}));
    bias = register_parameter("bias", empty({num_features}));
  }
  if (options.track_running_stats) {
    running_mean = register_buffer("running_mean", empty({num_features}));
    running_var = register_buffer("running_var", empty({num_features}));
    num_batches_tracked = register_buffer("num_batches_tracked", empty({}, {.dtype = kInt64}));
  }
  reset_parameters();
}

void BatchNorm::reset_running_stats() {
  if (!options.track_running_stats) return;
  init::zeros_(running_mean);
  init::ones_(running_var);
  num_batches_tracked.zero_();
}

void BatchNorm::reset_parameters() {
  reset_running_stats();
  if (!options.affine) return;
  init::ones_(weight);
  init::zeros_(bias);
}

Tensor BatchNorm::forward(const Tensor& x) {
  check<ShapeError>(std::find(input_dims_.begin(), input_dims_.end(), x.dim()) != input_dims_.end(),
                    "{}: input {} should be {}", layer_, x.sizes(), input_shape_);
  double momentum = options.momentum.value_or(0.0);
  if (is_training() && options.track_running_stats) {
    num_batches_tracked.add_(1);
    if (!options.momentum) momentum = 1.0 / static_cast<double>(num_batches_tracked.item<int64_t>());
  }
  // Batch statistics in training, and in eval when there are no running ones; the running
  // statistics are updated only in training.
  bool use_batch_stats = is_training() || !options.track_running_stats;
  bool pass_running = !is_training() || options.track_running_stats;
  return functional::batch_norm(x, pass_running ? running_mean : Tensor(), pass_running ? running_var : Tensor(),
                                weight, bias, {.training = use_batch_stats, .momentum = momentum, .eps = options.eps});
}

std::string BatchNorm::extra_repr() const {
  std::string momentum = options.momentum ? fmt::format("{}", *options.momentum) : "none";
  return fmt::format("{}, eps={}, momentum={}, affine={}, track_running_stats={}", num_features, options.eps, momentum,
                     options.affine, options.track_running_stats);
}

LayerNorm::LayerNorm(const Dims& normalized_shape, const LayerNormOptions& options)
    : normalized_shape(normalized_shape), options(options) {
  check<ValueError>(normalized_shape.size() > 0, "LayerNorm: normalized_shape must not be empty");
  if (options.elementwise_affine) {
    weight = register_parameter("weight", empty(normalized_shape));
    if (options.bias) bias = register_parameter("bias", empty(normalized_shape));
  }
  reset_parameters();
}

void LayerNorm::reset_parameters() {
  if (weight.defined()) init::ones_(weight);
  if (bias.defined()) init::zeros_(bias);
}

Tensor LayerNorm::forward(const Tensor& x) {
  return functional::layer_norm(x, normalized_shape, weight, bias, options.eps);
}

std::string LayerNorm::extra_repr() const {
  return fmt::format("{}, eps={}, elementwise_affine={}", normalized_shape, options.eps, options.elementwise_affine);
}

GroupNorm::GroupNorm(int64_t num_groups, int64_t num_channels, const GroupNormOptions& options)
    : num_groups(num_groups), num_channels(num_channels), options(options) {
  check<ValueError>(num_groups > 0 && num_channels > 0 && num_channels % num_groups == 0,
                    "GroupNorm: num_groups={} has to divide num_channels={}", num_groups, num_channels);
  if (options.affine) {
    weight = register_parameter("weight", empty({num_channels}));
    bias = register_parameter("bias", empty({num_channels}));
  }
  reset_parameters();
}

void GroupNorm::reset_parameters() {
  if (!options.affine) return;
  init::ones_(weight);
  init::zeros_(bias);
}

Tensor GroupNorm::forward(const Tensor& x) { return functional::group_norm(x, num_groups, weight, bias, options.eps); }

std::string GroupNorm::extra_repr() const {
  return fmt::format("{}, {}, eps={}, affine={}", num_groups, num_channels, options.eps, options.affine);
}

}  // namespace descent::nn
