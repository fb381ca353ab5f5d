// The loss modules' forwards (nn::functional) and printed options.
#include <descent/nn/loss.h>

namespace descent::nn {
namespace {

const char* reduction_name(Reduction reduction) {
  switch (reduction) {
    case Reduction::None: return "none";
    case Reduction::Mean: return "mean";
    case Reduction::Sum: return "sum";
  }
  return "";
}

const char* reduction_name(KlDivReduction reduction) {
  switch (reduction) {
    case KlDivReduction::None: return "none";
    case KlDivReduction::Mean: return "mean";
    case KlDivReduction::Sum: return "sum";
    case KlDivReduction::BatchMean: return "batchmean";
  }
  return "";
}

// Registers `weight` as the buffer `name` when defined, as PyTorch's weighted losses do (it then
// follows the module's to(dtype) and appears in its state_dict).
void register_weight(Module& loss, const char* name, const Tensor& weight) {
  if (weight.defined()) loss.register_buffer(name, weight);
}

}  // namespace

Tensor MSELoss::forward(const Tensor& input, const Tensor& target) {
  return functional::mse_loss(input, target, reduction);
}
std::string MSELoss::extra_repr() const { return fmt::format("reduction={}", reduction_name(reduction)); }

Tensor L1Loss::forward(const Tensor& input, const Tensor& target) {
  return functional::l1_loss(input, target, reduction);
}
std::string L1Loss::extra_repr() const { return fmt::format("reduction={}", reduction_name(reduction)); }

Tensor SmoothL1Loss::forward(const Tensor& input, const Tensor& target) {
  return functional::smooth_l1_loss(input, target, reduction, beta);
}
std::string SmoothL1Loss::extra_repr() const {
  return fmt::format("reduction={}, beta={}", reduction_name(reduction), beta);
}

Tensor HuberLoss::forward(const Tensor& input, const Tensor& target) {
  return functional::huber_loss(input, target, reduction, delta);
}
std::string HuberLoss::extra_repr() const {
  return fmt::format("reduction={}, delta={}", reduction_name(reduction), delta);
}

CrossEntropyLoss::CrossEntropyLoss(const CrossEntropyOptions& options) : options(options) {
  register_weight(*this, "weight", options.weight);
}
Tensor CrossEntropyLoss::forward(const Tensor& input, const Tensor& target) {
  return functional::cross_entropy(input, target, options);
}
std::string CrossEntropyLoss::extra_repr() const {
  return fmt::format("ignore_index={}, reduction={}, label_smoothing={}", options.ignore_index,
                     reduction_name(options.reduction), options.label_smoothing);
}

NLLLoss::NLLLoss(const NllLossOptions& options) : options(options) {
  register_weight(*this, "weight", options.weight);
}
Tensor NLLLoss::forward(const Tensor& input, const Tensor& target) {
  return functional::nll_loss(input, target, options);
}
std::string NLLLoss::extra_repr() const {
  return fmt::format("ignore_index={}, reduction={}", options.ignore_index, reduction_name(options.reduction));
}

BCELoss::BCELoss(const Tensor& weight, Reduction reduction) : weight(weight), reduction(reduction) {
  register_weight(*this, "weight", weight);
}
Tensor BCELoss::forward(const Tensor& input, const Tensor& target) {
  return functional::binary_cross_entropy(input, target, weight, reduction);
}
std::string BCELoss::extra_repr() const { return fmt::format("reduction={}", reduction_name(reduction)); }

BCEWithLogitsLoss::BCEWithLogitsLoss(const BceWithLogitsOptions& options) : options(options) {
  register_weight(*this, "weight", options.weight);
  register_weight(*this, "pos_weight", options.pos_weight);
}
Tensor BCEWithLogitsLoss::forward(const Tensor& input, const Tensor& target) {
  return functional::binary_cross_entropy_with_logits(input, target, options);
}
std::string BCEWithLogitsLoss::extra_repr() const {
  return fmt::format("reduction={}", reduction_name(options.reduction));
}

Tensor KLDivLoss::forward(const Tensor& input, const Tensor& target) {
  return functional::kl_div(input, target, reduction, log_target);
}
std::string KLDivLoss::extra_repr() const {
  return fmt::format("reduction={}, log_target={}", reduction_name(reduction), log_target);
}

}  // namespace descent::nn
