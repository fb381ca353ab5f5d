// The loss modules: each holds its options (and, as PyTorch, registers a class weight or
// pos_weight tensor as a buffer of the same name) and calls the nn::functional loss of the same
// name (nn/functional_loss.h).
//   nn::CrossEntropyLoss criterion{{.label_smoothing = 0.1}};   Tensor loss = criterion(logits, labels);
#pragma once

#include <descent/nn/functional_loss.h>
#include <descent/nn/module.h>

namespace descent::nn {

using functional::BceWithLogitsOptions;
using functional::CrossEntropyOptions;
using functional::KlDivReduction;
using functional::NllLossOptions;
using functional::Reduction;

class MSELoss : public Module {
 public:
  explicit MSELoss(Reduction reduction = Reduction::Mean) : reduction(reduction) {}
  Tensor forward(const Tensor& input, const Tensor& target);
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  std::string extra_repr() const override;

  Reduction reduction;
};

class L1Loss : public Module {
 public:
  explicit L1Loss(Reduction reduction = Reduction::Mean) : reduction(reduction) {}
  Tensor forward(const Tensor& input, const Tensor& target);
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  std::string extra_repr() const override;

  Reduction reduction;
};

class SmoothL1Loss : public Module {
 public:
  explicit SmoothL1Loss(Reduction reduction = Reduction::Mean, double beta = 1.0) : reduction(reduction), beta(beta) {}
  Tensor forward(const Tensor& input, const Tensor& target);
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  std::string extra_repr() const override;

  Reduction reduction;
  double beta;
};

class HuberLoss : public Module {
 public:
  explicit HuberLoss(Reduction reduction = Reduction::Mean, double delta = 1.0) : reduction(reduction), delta(delta) {}
  Tensor forward(const Tensor& input, const Tensor& target);
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  std::string extra_repr() const override;

  Reduction reduction;
  double delta;
};

// options.weight, when defined, is the buffer "weight".
class CrossEntropyLoss : public Module {
 public:
  explicit CrossEntropyLoss(const CrossEntropyOptions& options = {});
  Tensor forward(const Tensor& input, const Tensor& target);
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  std::string extra_repr() const override;

  CrossEntropyOptions options;
};

// options.weight, when defined, is the buffer "weight".
class NLLLoss : public Module {
 public:
  explicit NLLLoss(const NllLossOptions& options = {});
  Tensor forward(const Tensor& input, const Tensor& target);
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  std::string extra_repr() const override;

  NllLossOptions options;
};

// weight, when defined, is the buffer "weight".
class BCELoss : public Module {
 public:
  explicit BCELoss(const Tensor& weight = Tensor(), Reduction reduction = Reduction::Mean);
  Tensor forward(const Tensor& input, const Tensor& target);
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  std::string extra_repr() const override;

  Tensor weight;
  Reduction reduction;
};

// options.weight and options.pos_weight, when defined, are the buffers of those names.
class BCEWithLogitsLoss : public Module {
 public:
  explicit BCEWithLogitsLoss(const BceWithLogitsOptions& options = {});
  Tensor forward(const Tensor& input, const Tensor& target);
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  std::string extra_repr() const override;

  BceWithLogitsOptions options;
};

class KLDivLoss : public Module {
 public:
  explicit KLDivLoss(KlDivReduction reduction = KlDivReduction::Mean, bool log_target = false)
      : reduction(reduction), log_target(log_target) {}
  Tensor forward(const Tensor& input, const Tensor& target);
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  std::string extra_repr() const override;

  KlDivReduction reduction;
  bool log_target;
};

}  // namespace descent::nn
