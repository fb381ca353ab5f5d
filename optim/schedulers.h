// Learning-rate schedules: updaters of an Optimizer's groups that set each group's lr (and, for
// CyclicLR and OneCycleLR, its momentum or beta1) from the step count. Each follows
// torch.optim.lr_scheduler 1.13, including its chainable (recursive) forms: constructing a
// schedule performs its first step (epoch 0), and every group keeps its own base lr
// (ParamGroup::initial_lr, set by the first schedule made on the optimizer).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <descent/optim/optimizer.h>

namespace descent::optim {

class LRScheduler {
 public:
  explicit LRScheduler(Optimizer& optimizer);
  virtual ~LRScheduler() = default;

  // One step: last_epoch + 1, then every group's lr from the chainable form.
  virtual void step();
  // Jumps to `epoch` (PyTorch's step(epoch)): the closed form where the schedule has one.
  virtual void step_to(int64_t epoch);
  // Back to epoch 0: last_epoch -1, then one step (what each constructor does once set up).
  void restart();
  const std::vector<double>& get_last_lr() const { return last_lrs_; }
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  int64_t last_epoch() const { return last_epoch_; }
  Optimizer& optimizer() const { return *optimizer_; }

  // "last_epoch", "base_lrs", "last_lrs" (comma-separated doubles) and what the schedule adds;
  // load_state_dict restores them into a schedule built with the same arguments.
  virtual StateDict state_dict() const;
  virtual void load_state_dict(const StateDict& dict);

 protected:
  // The lrs at last_epoch_ from the groups' current lrs (PyTorch's get_lr()). SequentialLR and
  // ChainedScheduler leave the lrs to their nested schedules: theirs are the groups' lrs as they are.
  virtual std::vector<double> chained_lrs() = 0;
  // The lrs at last_epoch_ from the base lrs alone, when the schedule has such a form.
  virtual std::optional<std::vector<double>> closed_form_lrs() { return std::nullopt; }
  void set_lrs(const std::vector<double>& lrs);
  std::vector<double> group_lrs() const;

  Optimizer* optimizer_;
  std::vector<double> base_lrs_;
  int64_t last_epoch_ = -1;
  std::vector<double> last_lrs_;
};

// lr = base_lr * lambda_g(epoch), one function per group (or one for all).
class LambdaLR : public LRScheduler {
 public:
  using Lambda = std::function<double(int64_t)>;
  LambdaLR(Optimizer& optimizer, std::vector<Lambda> lambdas);

 protected:
  std::vector<double> chained_lrs() override;

 private:
  std::vector<Lambda> lambdas_;
};

// lr *= lambda_g(epoch) each step after the first.
class MultiplicativeLR : public LRScheduler {
 public:
  MultiplicativeLR(Optimizer& optimizer, std::vector<LambdaLR::Lambda> lambdas);

 protected:
  std::vector<double> chained_lrs() override;

 private:
  std::vector<LambdaLR::Lambda> lambdas_;
};

// lr *= gamma every step_size epochs.
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);

 protected:
  std::vector<double> chained_lrs() override;
  std::optional<std::vector<double>> closed_form_lrs() override;

 private:
  int64_t step_size_;
  double gamma_;
};

// lr *= gamma at each milestone (a repeated milestone multiplies by gamma that many times).
class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma = 0.1);

 protected:
  std::vector<double> chained_lrs() override;
  std::optional<std::vector<double>> closed_form_lrs() override;

 private:
  std::vector<int64_t> milestones_;  // sorted
  double gamma_;
};

// lr = base_lr * factor until total_iters, then base_lr.
class ConstantLR : public LRScheduler {
 public:
  ConstantLR(Optimizer& optimizer, double factor = 1.0 / 3.0, int64_t total_iters = 5);

 protected:
  std::vector<double> chained_lrs() override;
  std::optional<std::vector<double>> closed_form_lrs() override;

 private:
  double factor_;
  int64_t total_iters_;
};

// The factor goes linearly from start_factor to end_factor over total_iters (warmup).
class LinearLR : public LRScheduler {
 public:
  LinearLR(Optimizer& optimizer, double start_factor = 1.0 / 3.0, double end_factor = 1.0, int64_t total_iters = 5);

 protected:
  std::vector<double> chained_lrs() override;
  std::optional<std::vector<double>> closed_form_lrs() override;

 private:
  double start_factor_, end_factor_;
  int64_t total_iters_;
};

// lr *= gamma every step.
class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(Optimizer& optimizer, double gamma);

 protected:
  std::vector<double> chained_lrs() override;
  std::optional<std::vector<double>> closed_form_lrs() override;

 private:
  double gamma_;
};

// lr = base_lr * (1 - min(epoch, total_iters) / total_iters)^power.
class PolynomialLR : public LRScheduler {
 public:
  PolynomialLR(Optimizer& optimizer, int64_t total_iters = 5, double power = 1.0);

 protected:
  std::vector<double> chained_lrs() override;
  std::optional<std::vector<double>> closed_form_lrs() override;

 private:
  int64_t total_iters_;
  double power_;
};

// Cosine annealing (Loshchilov & Hutter 2017, SGDR without restarts) in PyTorch's recursive form,
// which past T_max climbs back up: lr_t = eta_min + (lr_{t-1} - eta_min) (1 + cos(pi t / T)) /
// (1 + cos(pi (t - 1) / T)), with a special step where that ratio would divide by zero.
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, int64_t t_max, double eta_min = 0.0);

 protected:
  std::vector<double> chained_lrs() override;
  std::optional<std::vector<double>> closed_form_lrs() override;

 private:
  int64_t t_max_;
  double eta_min_;
};

// SGDR: cosine from base_lr to eta_min over T_i steps, then a restart with T_i *= T_mult.
class CosineAnnealingWarmRestarts : public LRScheduler {
 public:
  CosineAnnealingWarmRestarts(Optimizer& optimizer, int64_t t_0, int64_t t_mult = 1, double eta_min = 0.0);
  void step() override;
  void step_to(int64_t epoch) override;
  StateDict state_dict() const override;
  void load_state_dict(const StateDict& dict) override;

 protected:
  std::vector<double> chained_lrs() override;

 private:
  int64_t t_0_, t_mult_, t_i_, t_cur_ = 0;
  double eta_min_;
};

// Sets "momentum" (SGD, RMSprop) or else "beta1" (Adam, AdamW, Lion) of a group.
void set_group_momentum(ParamGroup& group, double momentum);
double group_momentum(const ParamGroup& group);

// Cyclical learning rates (Smith 2017) between base_lr and max_lr, with momentum cycled
// inversely between max_momentum and base_momentum.
struct CyclicLROptions {
  std::vector<double> base_lr;  // one per group, or one for all
  std::vector<double> max_lr;
  int64_t step_size_up = 2000;
  int64_t step_size_down = 0;  // 0: the same as step_size_up
  std::string mode = "triangular";  // triangular, triangular2, exp_range
  double gamma = 1.0;               // exp_range: amplitude *= gamma^iteration
  // A custom amplitude scale in place of mode's (PyTorch's scale_fn, not saved in state_dict): of
  // the cycle number (from 1) when scale_mode is "cycle", of the step count when "iterations".
  std::function<double(double)> scale_fn = nullptr;
  std::string scale_mode = "cycle";
  bool cycle_momentum = true;
  double base_momentum = 0.8;
  double max_momentum = 0.9;
};

class CyclicLR : public LRScheduler {
 public:
  CyclicLR(Optimizer& optimizer, CyclicLROptions options);

 protected:
  std::vector<double> chained_lrs() override;

 private:
  CyclicLROptions options_;
  std::vector<double> max_lrs_, base_momentums_;
  double total_size_, step_ratio_;
};

// The 1cycle policy (Smith & Topin 2017): warm up from max_lr / div_factor to max_lr, anneal to
// max_lr / (div_factor * final_div_factor); momentum (or beta1) moves the other way.
struct OneCycleLROptions {
  std::vector<double> max_lr;  // one per group, or one for all
  int64_t total_steps = 0;     // or 0, and then epochs * steps_per_epoch
  int64_t epochs = 0;
  int64_t steps_per_epoch = 0;
  double pct_start = 0.3;
  std::string anneal_strategy = "cos";  // cos or linear
  bool cycle_momentum = true;
  double base_momentum = 0.85;
  double max_momentum = 0.95;
  double div_factor = 25.0;
  double final_div_factor = 1e4;
  bool three_phase = false;
};

class OneCycleLR : public LRScheduler {
 public:
  OneCycleLR(Optimizer& optimizer, OneCycleLROptions options);

 protected:
  std::vector<double> chained_lrs() override;

 private:
  struct Phase {
    double end_step;
    int start_lr, end_lr;              // 0 initial, 1 max, 2 min
    bool start_momentum_max, end_momentum_max;
  };
  double anneal(double start, double end, double pct) const;

  OneCycleLROptions options_;
  std::vector<Phase> phases_;
  std::vector<std::array<double, 3>> group_lrs_;  // initial, max, min per group
};

// What SequentialLR and ChainedScheduler share: schedules of one optimizer that they step
// (never jump: step_to throws), whose states they store and load beside their own.
class NestedSchedules : public LRScheduler {
 public:
  void step_to(int64_t epoch) override;
  StateDict state_dict() const override;
  void load_state_dict(const StateDict& dict) override;

 protected:
  NestedSchedules(const char* name, std::vector<std::shared_ptr<LRScheduler>> schedulers);
  std::vector<double> chained_lrs() override;

  const char* name_;
  std::vector<std::shared_ptr<LRScheduler>> schedulers_;
};

// Runs schedules[i] from milestones[i - 1] on; the next schedule restarts at its epoch 0.
class SequentialLR : public NestedSchedules {
 public:
  SequentialLR(Optimizer& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers,
               std::vector<int64_t> milestones);
  void step() override;

 private:
  std::vector<int64_t> milestones_;
};

// Steps every schedule, in order, on each step (their effects multiply).
class ChainedScheduler : public NestedSchedules {
 public:
  explicit ChainedScheduler(std::vector<std::shared_ptr<LRScheduler>> schedulers);
  void step() override;
};

// Cuts the lr by `factor` when a metric stopped improving for `patience` steps.
struct ReduceLROnPlateauOptions {
  std::string mode = "min";  // min or max
  double factor = 0.1;
  int64_t patience = 10;
  double threshold = 1e-4;
  std::string threshold_mode = "rel";  // rel or abs
  int64_t cooldown = 0;
  std::vector<double> min_lr = {0.0};  // one per group, or one for all
  double eps = 1e-8;                   // changes smaller than eps are not made
};

class ReduceLROnPlateau {
 public:
  ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options = {});
  void step(double metric);
  const std::vector<double>& get_last_lr() const { return last_lrs_; }
  StateDict state_dict() const;
  void load_state_dict(const StateDict& dict);

 private:
  bool is_better(double value) const;

  Optimizer* optimizer_;
  ReduceLROnPlateauOptions options_;
  std::vector<double> min_lrs_;
  double best_;
  int64_t num_bad_epochs_ = 0, cooldown_counter_ = 0, last_epoch_ = 0;
  std::vector<double> last_lrs_;
};

// The one-line recipe: linear warmup from 0 to each group's lr over warmup_steps, then cosine
// down to min_lr at total_steps, then min_lr.
struct WarmupCosineOptions {
  int64_t warmup_steps = 0;
  int64_t total_steps = 0;
  double min_lr = 0.0;
};
LambdaLR warmup_cosine(Optimizer& optimizer, WarmupCosineOptions options);

}  // namespace descent::optim
