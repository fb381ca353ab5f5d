// Parameter groups and the Optimizer that steps them. A ParamGroup is a list of parameters (leaf
// tensors) with an UpdateRule that owns its hyperparameters (lr, betas, ...); an Optimizer is an
// ordered list of groups, which may use different rules. Read this, then optim/rules.h.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <descent/core/tensor.h>

namespace descent::optim {

// What an update rule keeps per parameter: the number of steps taken and named buffers
// (momentum_buffer, exp_avg, exp_avg_sq, ...), each of the shape and dtype its rule's schema says.
struct ParamState {
  int64_t step = 0;
  std::map<std::string, Tensor> buffers;
};

// The shape and dtype of one state buffer (a factored rule keeps buffers of other shapes than the
// parameter's, e.g. a row and a column statistic of a matrix).
struct BufferSpec {
  Dims sizes;
  DType dtype;
};

// An update rule with its hyperparameters. Every hyperparameter is reachable by name as a double
// (bools as 0 and 1), which is how schedules, state_dict and group overrides reach them.
class UpdateRule {
 public:
  virtual ~UpdateRule() = default;
  virtual std::string name() const = 0;  // "SGD", "AdamW", ...
  virtual std::unique_ptr<UpdateRule> clone() const = 0;
  // Every hyperparameter, name -> value, in declaration order.
  virtual std::vector<std::pair<std::string, double>> hyperparameters() const = 0;
  bool has(const std::string& option) const;
  // Throws ValueError naming the rule when it has no such option.
  double get(const std::string& option) const;
  // Sets one option and validates the result (ValueError naming the option when bad).
  virtual void set(const std::string& option, double value) = 0;
  // Updates `param` in place from `grad` (both contiguous, of the same shape and dtype);
  // `state.step` has already been incremented for this step.
  virtual void update(const Tensor& param, const Tensor& grad, ParamState& state) const = 0;
  // The state schema: the shape and dtype of buffer `buffer` of `param`, or nullopt when the rule
  // keeps no buffer of that name. load_state_dict accepts only buffers the schema names, of its
  // shapes, and converts them to its dtypes. Default: any name, of the parameter's shape and dtype.
  virtual std::optional<BufferSpec> state_buffer(const std::string& buffer, const Tensor& param) const;
};

// Options of a group that the defaults of a convenience optimizer fill in: the parameters, their
// names (for messages and weight_decay_groups), and hyperparameters that override the defaults.
struct GroupSpec {
  std::vector<Tensor> params;
  std::map<std::string, double> overrides;  // option name -> value, e.g. {"weight_decay", 0.0}
  std::vector<std::string> names = {};      // empty, or one per parameter
};

// An update rule's options struct (optim/rules.h): it names its rule in kRule.
template <typename T>
concept RuleOptions = requires { T::kRule; };

class ParamGroup {
 public:
  // A group with a rule made from its options: ParamGroup(params, AdamWOptions{.lr = 1e-3}).
  template <RuleOptions Options>
  ParamGroup(std::vector<Tensor> params, const Options& options, std::vector<std::string> names = {})
      : ParamGroup(std::move(params), make_rule(options), std::move(names)) {}
  ParamGroup(std::vector<Tensor> params, std::unique_ptr<UpdateRule> rule, std::vector<std::string> names = {});
  ParamGroup(const ParamGroup& other);
  ParamGroup& operator=(const ParamGroup& other);
  ParamGroup(ParamGroup&&) = default;
  ParamGroup& operator=(ParamGroup&&) = default;

  const std::vector<Tensor>& params() const { return params_; }
  // The name of parameter i: its given name, else "params[i]".
  std::string param_name(size_t i) const;
  UpdateRule& rule() const { return *rule_; }
  void set_rule(std::unique_ptr<UpdateRule> rule) { rule_ = std::move(rule); }

  double lr() const { return rule_->get("lr"); }
  // The lr that schedules start from: set by the first schedule made on the optimizer.
  std::optional<double> initial_lr() const { return initial_lr_; }
  void set_initial_lr(double lr) { initial_lr_ = lr; }
  void set_lr(double lr) { rule_->set("lr", lr); }
  double get(const std::string& option) const { return rule_->get(option); }
  void set(const std::string& option, double value) { rule_->set(option, value); }
  // The rule's typed options: group.options<SGDOptions>().momentum. Throws if the rule differs.
  template <typename Options>
  Options& options() const;

 private:
  std::vector<Tensor> params_;
  std::unique_ptr<UpdateRule> rule_;
  std::vector<std::string> names_;
  std::optional<double> initial_lr_;
};

// What step() does when a gradient holds NaN or an infinity.
enum class NonFiniteGrad {
  kApply,  // update anyway, as PyTorch does
  kThrow,  // throw ValueError naming the group and parameter, before anything is updated
  kSkip,   // leave every parameter and state unchanged and count the skipped step
};

// A flat checkpoint of optimizer or schedule state: tensors by name plus string metadata (the
// hyperparameters, written so that they parse back to the same doubles). Both maps store as they
// are in a safetensors file (its tensors and its __metadata__).
struct StateDict {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;
};

// A double as the shortest text that parses back to the same value, and back.
std::string format_double(double value);
double parse_double(const std::string& text, const std::string& key);

class Optimizer {
 public:
  explicit Optimizer(std::vector<ParamGroup> groups, NonFiniteGrad non_finite = NonFiniteGrad::kApply);
  virtual ~Optimizer() = default;

  // One update of every parameter that has a gradient, group by group, under no-grad.
  void step();
  // Clears every gradient: to undefined (set_to_none), or to zeros in place.
  void zero_grad(bool set_to_none = true);
  void add_param_group(ParamGroup group);
  std::vector<ParamGroup>& param_groups() { return groups_; }
  const std::vector<ParamGroup>& param_groups() const { return groups_; }

  // The state of one parameter (created empty on first use).
  ParamState& state(const Tensor& param);
  NonFiniteGrad non_finite_policy() const { return non_finite_; }
  void set_non_finite_policy(NonFiniteGrad policy) { non_finite_ = policy; }
  int64_t skipped_steps() const { return skipped_steps_; }

  // Keys: "group.<g>.rule", "group.<g>.params" (a count), "group.<g>.<option>" (metadata);
  // "state.<g>.<i>.step" (int64 scalar) and "state.<g>.<i>.<buffer>" (tensors), where i indexes
  // the group's parameters; "optimizer.groups", "optimizer.skipped_steps" (metadata).
  StateDict state_dict() const;
  // Restores hyperparameters and state into an optimizer with the same groups (the same rules,
  // parameter counts and shapes); ValueError naming the key otherwise.
  void load_state_dict(const StateDict& dict);

 private:
  bool gradients_finite();

  std::vector<ParamGroup> groups_;
  std::unordered_map<const TensorImpl*, ParamState> state_;
  NonFiniteGrad non_finite_;
  int64_t skipped_steps_ = 0;
};

}  // namespace descent::optim
