// The two problems the optim tests train, as nn modules with their starting weights from
// tests/optim/golden/optim_rules.json (made by gen_optim.py): a Linear(2, 2) -> Tanh ->
// Linear(2, 1) model with a squared-error loss, and a Rosenbrock function of one parameter
// vector; and rules built by name from the golden file's options.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <descent/descent.h>

#include "testing.h"

namespace descent::testing {

inline const Golden& rules_golden() {
  static const Golden golden("optim/golden/optim_rules.json");
  return golden;
}

// The point p of the Rosenbrock function, as a module with the parameter "p".
class RosenbrockPoint : public nn::Module {
 public:
  RosenbrockPoint() { p = register_parameter("p", core::zeros({2}, {.dtype = kFloat64})); }
  // sum(100 (p[1:] - p[:-1]^2)^2 + (1 - p[:-1])^2).
  Tensor loss() const {
    Tensor head = p.slice(0, 0, p.size(0) - 1), tail = p.slice(0, 1);
    return (100.0 * square(tail - square(head)) + square(1.0 - head)).sum();
  }
  Tensor p;
};

// "model" or "rosen": a module in float64 holding the golden starting weights, and its loss.
class Problem {
 public:
  explicit Problem(const std::string& name) : name_(name) {
    nn::StateDict start;
    if (name == "model") {
      auto model = std::make_unique<nn::Sequential>(nn::Linear(2, 2), nn::Tanh(), nn::Linear(2, 1));
      for (const char* key : {"0.weight", "0.bias", "2.weight", "2.bias"}) {
        start.insert(key, rules_golden().tensor(std::string("model.") + key));
      }
      module_ = std::move(model);
    } else {
      module_ = std::make_unique<RosenbrockPoint>();
      start.insert("p", rules_golden().tensor("rosen.p"));
    }
    module_->to(kFloat64);
    module_->load_state_dict(start);
  }

  nn::Module& module() { return *module_; }
  std::vector<Tensor> params() const { return module_->parameters(); }

  // model: sum((model(x) - t)^2) over the golden batch x [8, 2], t [8, 1].
  Tensor loss() {
    if (name_ != "model") return static_cast<RosenbrockPoint&>(*module_).loss();
    static const Tensor x = rules_golden().tensor("model.x"), t = rules_golden().tensor("model.t");
    return square(static_cast<nn::Sequential&>(*module_)(x) - t).sum();
  }

 private:
  std::string name_;
  std::unique_ptr<nn::Module> module_;
};

// The rule of a golden case: its defaults with the case's options set by name.
inline std::unique_ptr<optim::UpdateRule> case_rule(const nlohmann::json& c) {
  std::map<std::string, double> options;
  for (const auto& [option, value] : c.at("options").items()) options[option] = value.get<double>();
  return optim::make_rule(c.at("rule").get<std::string>(), options);
}

}  // namespace descent::testing
