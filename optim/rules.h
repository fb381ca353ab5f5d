// The update rules (SGD, Adam, AdamW, RMSprop, Adagrad, Lion): their options, the rule objects a
// ParamGroup holds, and the convenience optimizers optim::SGD(params, {.lr = 0.1}) and friends.
// Each rule's numerics follow torch.optim 1.13 (single-tensor path) formula for formula; the
// kernels are in optim/rules.cpp.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <descent/optim/optimizer.h>

namespace descent::optim {

// Each options struct lists its fields once in visit(), which gives name access to them, and the
// names of the state buffers its rule may keep (kStateBuffers, the state schema).
struct SGDOptions {
  double lr = 1e-3;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;  // coupled: added to the gradient (L2)
  bool nesterov = false;
  bool maximize = false;
  static constexpr const char* kRule = "SGD";
  static constexpr std::array<const char*, 1> kStateBuffers = {"momentum_buffer"};  // each of the parameter's shape
  template <typename V> void visit(V&& v) {
    v("lr", lr); v("momentum", momentum); v("dampening", dampening); v("weight_decay", weight_decay);
    v("nesterov", nesterov); v("maximize", maximize);
  }
  void validate() const;
};

struct AdamOptions {
  double lr = 1e-3;
  std::pair<double, double> betas = {0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 0.0;  // coupled: added to the gradient (L2)
  bool amsgrad = false;
  bool maximize = false;
  static constexpr const char* kRule = "Adam";
  static constexpr std::array<const char*, 3> kStateBuffers = {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};  // each of the parameter's shape
  template <typename V> void visit(V&& v) {
    v("lr", lr); v("beta1", betas.first); v("beta2", betas.second); v("eps", eps);
    v("weight_decay", weight_decay); v("amsgrad", amsgrad); v("maximize", maximize);
  }
  void validate() const;
};

struct AdamWOptions {
  double lr = 1e-3;
  std::pair<double, double> betas = {0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 1e-2;  // decoupled: param *= 1 - lr * weight_decay (Loshchilov & Hutter)
  bool amsgrad = false;
  bool maximize = false;
  static constexpr const char* kRule = "AdamW";
  static constexpr std::array<const char*, 3> kStateBuffers = {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};  // each of the parameter's shape
  template <typename V> void visit(V&& v) {
    v("lr", lr); v("beta1", betas.first); v("beta2", betas.second); v("eps", eps);
    v("weight_decay", weight_decay); v("amsgrad", amsgrad); v("maximize", maximize);
  }
  void validate() const;
};

struct RMSpropOptions {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum = 0.0;
  bool centered = false;
  bool maximize = false;
  static constexpr const char* kRule = "RMSprop";
  static constexpr std::array<const char*, 3> kStateBuffers = {"square_avg", "grad_avg", "momentum_buffer"};  // each of the parameter's shape
  template <typename V> void visit(V&& v) {
    v("lr", lr); v("alpha", alpha); v("eps", eps); v("weight_decay", weight_decay); v("momentum", momentum);
    v("centered", centered); v("maximize", maximize);
  }
  void validate() const;
};

struct AdagradOptions {
  double lr = 1e-2;
  double lr_decay = 0.0;
  double weight_decay = 0.0;
  double initial_accumulator_value = 0.0;
  double eps = 1e-10;
  bool maximize = false;
  static constexpr const char* kRule = "Adagrad";
  static constexpr std::array<const char*, 1> kStateBuffers = {"sum"};  // each of the parameter's shape
  template <typename V> void visit(V&& v) {
    v("lr", lr); v("lr_decay", lr_decay); v("weight_decay", weight_decay);
    v("initial_accumulator_value", initial_accumulator_value); v("eps", eps); v("maximize", maximize);
  }
  void validate() const;
};

// Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms"):
// c = b1 m + (1 - b1) g; p = p (1 - lr wd) - lr sign(c); m = b2 m + (1 - b2) g.
struct LionOptions {
  double lr = 1e-4;
  std::pair<double, double> betas = {0.9, 0.99};
  double weight_decay = 0.0;  // decoupled, as in AdamW
  bool maximize = false;
  static constexpr const char* kRule = "Lion";
  static constexpr std::array<const char*, 1> kStateBuffers = {"exp_avg"};  // each of the parameter's shape
  template <typename V> void visit(V&& v) {
    v("lr", lr); v("beta1", betas.first); v("beta2", betas.second); v("weight_decay", weight_decay);
    v("maximize", maximize);
  }
  void validate() const;
};

// Sets one field of `options` by name, without validating (bools from 0 or 1). ValueError naming
// the rule when it has no such option or a bool gets another value.
template <typename Options>
void set_option(Options& options, const std::string& option, double value) {
  bool found = false;
  options.visit([&](const char* name, auto& field) {
    if (option != name) return;
    found = true;
    if constexpr (std::is_same_v<std::decay_t<decltype(field)>, bool>) {
      check<ValueError>(value == 0.0 || value == 1.0, "{}: option {} is a bool, got {}", Options::kRule, option,
                        value);
      field = value != 0.0;
    } else {
      field = value;
    }
  });
  check<ValueError>(found, "{}: no option named {}", Options::kRule, option);
}

// The rule of one options type: name access to the options through visit(); update() is
// specialised per options type in optim/rules.cpp.
template <typename Options>
class Rule final : public UpdateRule {
 public:
  explicit Rule(const Options& options) : options_(options) { options_.validate(); }
  std::string name() const override { return Options::kRule; }
  std::unique_ptr<UpdateRule> clone() const override { return std::make_unique<Rule>(*this); }
  Options& options() { return options_; }
  const Options& options() const { return options_; }

  std::vector<std::pair<std::string, double>> hyperparameters() const override {
    std::vector<std::pair<std::string, double>> out;
    Options copy = options_;
    copy.visit([&](const char* name, auto& field) { out.emplace_back(name, static_cast<double>(field)); });
    return out;
  }
  void set(const std::string& option, double value) override {
    Options updated = options_;
    set_option(updated, option, value);
    updated.validate();
    options_ = updated;
  }
  std::optional<BufferSpec> state_buffer(const std::string& buffer, const Tensor& param) const override {
    for (const char* name : Options::kStateBuffers) {
      if (buffer == name) return BufferSpec{param.sizes(), param.dtype()};
    }
    return std::nullopt;
  }
  void update(const Tensor& param, const Tensor& grad, ParamState& state) const override;

 private:
  Options options_;
};
template <> void Rule<SGDOptions>::update(const Tensor&, const Tensor&, ParamState&) const;
template <> void Rule<AdamOptions>::update(const Tensor&, const Tensor&, ParamState&) const;
template <> void Rule<AdamWOptions>::update(const Tensor&, const Tensor&, ParamState&) const;
template <> void Rule<RMSpropOptions>::update(const Tensor&, const Tensor&, ParamState&) const;
template <> void Rule<AdagradOptions>::update(const Tensor&, const Tensor&, ParamState&) const;
template <> void Rule<LionOptions>::update(const Tensor&, const Tensor&, ParamState&) const;

template <RuleOptions Options>
std::unique_ptr<UpdateRule> make_rule(const Options& options) {
  return std::make_unique<Rule<Options>>(options);
}

// The registry of update rules: the rule named `name` (its kRule, any letter case: "adamw" is
// AdamW) with its defaults, `options` set by name, then validated. ValueError naming the known
// rules for an unknown name. A new rule is added to the registry in optim/rules.cpp.
std::unique_ptr<UpdateRule> make_rule(const std::string& name, const std::map<std::string, double>& options = {});
// The registered rules' names, in registration order.
std::vector<std::string> rule_names();

template <typename Options>
Options& ParamGroup::options() const {
  auto* typed = dynamic_cast<Rule<Options>*>(rule_.get());
  check<ValueError>(typed != nullptr, "ParamGroup::options: the group's rule is {}, not {}", rule_->name(),
                    Options::kRule);
  return typed->options();
}

// Groups from specs: each spec's parameters with a copy of `defaults`, overridden by the spec's
// overrides.
std::vector<ParamGroup> make_groups(const std::vector<GroupSpec>& specs, const UpdateRule& defaults);
template <RuleOptions Options>
std::vector<ParamGroup> make_groups(const std::vector<GroupSpec>& specs, const Options& defaults) {
  return make_groups(specs, Rule<Options>(defaults));
}

// The single-rule optimizers: SGD opt(params, {.lr = 0.1, .momentum = 0.9}), or from group specs
// (weight_decay_groups(...)) whose overrides replace the defaults given here.
template <typename Options>
class OptimizerOf : public Optimizer {
 public:
  OptimizerOf(std::vector<Tensor> params, const Options& defaults)
      : Optimizer(make_groups<Options>({GroupSpec{std::move(params), {}}}, defaults)) {}
  OptimizerOf(const std::vector<GroupSpec>& groups, const Options& defaults)
      : Optimizer(make_groups<Options>(groups, defaults)) {}
};
using SGD = OptimizerOf<SGDOptions>;
using Adam = OptimizerOf<AdamOptions>;
using AdamW = OptimizerOf<AdamWOptions>;
using RMSprop = OptimizerOf<RMSpropOptions>;
using Adagrad = OptimizerOf<AdagradOptions>;
using Lion = OptimizerOf<LionOptions>;

// The usual split: parameters with 2 or more dims (weights) decay; biases and other 1-d (or 0-d)
// parameters, such as norm scales, do not. Two specs, in this order, each keeping the names.
std::vector<GroupSpec> weight_decay_groups(const std::vector<std::pair<std::string, Tensor>>& named_parameters,
                                           double weight_decay);

}  // namespace descent::optim
