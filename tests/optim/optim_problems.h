// The two problems the optim tests train: a small tanh model of leaf tensors (w, b) and a
// Rosenbrock function, with their starting values from tests/optim/golden/optim_rules.json (made
// by gen_optim.py), and rules built by name from the golden file's options.
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

// loss = sum((tanh(x * w + b) - t)^2), x and t of shape [4, 2, 3], w [2, 3], b [3].
inline Tensor model_loss(const std::vector<Tensor>& params) {
  const Golden& g = rules_golden();
  static const Tensor x = g.tensor("model.x"), t = g.tensor("model.t");
  return square(tanh(x * params[0] + params[1]) - t).sum();
}

// loss = sum(100 (p[1:] - p[:-1]^2)^2 + (1 - p[:-1])^2).
inline Tensor rosen_loss(const std::vector<Tensor>& params) {
  const Tensor& p = params[0];
  Tensor head = p.slice(0, 0, p.size(0) - 1), tail = p.slice(0, 1);
  return (100.0 * square(tail - square(head)) + square(1.0 - head)).sum();
}

inline std::vector<Tensor> problem_params(const std::string& problem) {
  const Golden& g = rules_golden();
  std::vector<std::string> names = problem == "model" ? std::vector<std::string>{"model.w", "model.b"}
                                                      : std::vector<std::string>{"rosen.p"};
  std::vector<Tensor> params;
  for (const std::string& name : names) params.push_back(g.tensor(name).requires_grad_());
  return params;
}

inline Tensor problem_loss(const std::string& problem, const std::vector<Tensor>& params) {
  return problem == "model" ? model_loss(params) : rosen_loss(params);
}

// A rule with its defaults, by name.
inline std::unique_ptr<optim::UpdateRule> default_rule(const std::string& rule) {
  if (rule == "SGD") return optim::make_rule(optim::SGDOptions{});
  if (rule == "Adam") return optim::make_rule(optim::AdamOptions{});
  if (rule == "AdamW") return optim::make_rule(optim::AdamWOptions{});
  if (rule == "RMSprop") return optim::make_rule(optim::RMSpropOptions{});
  if (rule == "Adagrad") return optim::make_rule(optim::AdagradOptions{});
  if (rule == "Lion") return optim::make_rule(optim::LionOptions{});
  throw std::runtime_error("no rule " + rule);
}

// The rule of a golden case: its defaults with the case's options set by name.
inline std::unique_ptr<optim::UpdateRule> case_rule(const nlohmann::json& c) {
  std::unique_ptr<optim::UpdateRule> rule = default_rule(c.at("rule").get<std::string>());
  for (const auto& [option, value] : c.at("options").items()) rule->set(option, value.get<double>());
  return rule;
}

}  // namespace descent::testing
