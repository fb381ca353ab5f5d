// Update rules against torch.optim 1.13 trajectories (golden/gen_optim.py), and the Optimizer's
// behaviour around them: groups with different rules, validation, skipped parameters,
// zero_grad, non-finite gradients, weight_decay_groups.
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <descent/descent.h>

#include "optim/optim_problems.h"
#include "testing.h"

namespace descent::testing {
namespace {

using optim::Optimizer;
using optim::ParamGroup;

Tensor flat_params(const std::vector<Tensor>& params) {
  std::vector<double> values;
  for (const Tensor& p : params) {
    for (double v : p.to_vector<double>()) values.push_back(v);
  }
  return core::tensor(values, {.dtype = kFloat64});
}

void backward_loss(const std::string& problem, const std::vector<Tensor>& params, double sign) {
  (sign * problem_loss(problem, params)).backward();
}

TEST(OptimRules, MatchTorchTrajectoriesAfterRecordedSteps) {
  const Golden& golden = rules_golden();
  std::vector<int64_t> recorded = golden.tensor("recorded_steps").to_vector<int64_t>();
  const nlohmann::json& cases = golden.json().at("cases").at("list");
  ASSERT_GE(cases.size(), 48u);
  for (const nlohmann::json& c : cases) {
    std::string name = c.at("name").get<std::string>();
    std::string problem = c.at("problem").get<std::string>();
    SCOPED_TRACE(name + " " + c.at("rule").get<std::string>() + " " + c.at("options").dump());
    Tensor expected = golden.tensor(name);
    std::vector<Tensor> params = problem_params(problem);
    Optimizer opt({ParamGroup(params, case_rule(c))});
    double sign = c.at("options").value("maximize", 0.0) != 0.0 ? -1.0 : 1.0;
    size_t row = 0;
    for (int64_t step = 1; step <= recorded.back(); ++step) {
      opt.zero_grad();
      backward_loss(problem, params, sign);
      opt.step();
      if (step == recorded[row]) {
        ASSERT_TRUE(tensors_close(flat_params(params), expected[static_cast<int64_t>(row)], 1e-6, 1e-12))
            << "after step " << step;
        ++row;
      }
    }
    EXPECT_EQ(row, recorded.size());
  }
}

TEST(OptimRules, GroupsWithDifferentRulesStepAsSeparateOptimizers) {
  std::vector<Tensor> a = problem_params("model"), b = problem_params("model");
  Optimizer mixed({ParamGroup({a[0]}, optim::AdamWOptions{.lr = 0.01}), ParamGroup({a[1]}, optim::SGDOptions{.lr = 0.1, .momentum = 0.9})});
  optim::AdamW adamw({b[0]}, {.lr = 0.01});
  optim::SGD sgd({b[1]}, {.lr = 0.1, .momentum = 0.9});
  for (int step = 0; step < 5; ++step) {
    mixed.zero_grad();
    adamw.zero_grad();
    sgd.zero_grad();
    model_loss(a).backward();
    model_loss(b).backward();
    mixed.step();
    adamw.step();
    sgd.step();
  }
  EXPECT_TRUE(tensors_close(a[0], b[0], 0.0, 0.0));
  EXPECT_TRUE(tensors_close(a[1], b[1], 0.0, 0.0));
  EXPECT_EQ(mixed.param_groups()[0].rule().name(), "AdamW");
  EXPECT_EQ(mixed.param_groups()[1].options<optim::SGDOptions>().momentum, 0.9);
}

TEST(OptimRules, BadHyperparametersThrowNamingTheOption) {
  Tensor w = core::zeros({2}, {.requires_grad = true});
  EXPECT_TRUE(throws_with<ValueError>([&] { optim::SGD({w}, {.lr = -1.0}); }, {"SGD", "lr", "-1", ">= 0"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { optim::SGD({w}, {.lr = 0.1, .nesterov = true}); }, {"SGD", "nesterov"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { optim::Adam({w}, {.betas = {1.0, 0.999}}); }, {"Adam", "beta1", "[0, 1)"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { optim::AdamW({w}, {.betas = {0.9, -0.1}}); }, {"AdamW", "beta2"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { optim::Adam({w}, {.eps = 0.0}); }, {"Adam", "eps", "> 0"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { optim::RMSprop({w}, {.alpha = 1.5}); }, {"RMSprop", "alpha"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { optim::Adagrad({w}, {.lr_decay = -1}); }, {"Adagrad", "lr_decay"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { optim::Lion({w}, {.weight_decay = -1}); }, {"Lion", "weight_decay"}));
  optim::SGD opt({w}, {.lr = 0.1});
  EXPECT_TRUE(throws_with<ValueError>([&] { opt.param_groups()[0].set("momentm", 0.9); }, {"SGD", "momentm"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { opt.param_groups()[0].set_lr(-0.5); }, {"SGD", "lr"}));
  EXPECT_EQ(opt.param_groups()[0].lr(), 0.1);  // a refused change leaves the group as it was
  Tensor not_leaf = w * 2.0;
  EXPECT_TRUE(throws_with<ValueError>([&] { optim::SGD({not_leaf}, {}); }, {"params[0]", "leaf"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { optim::SGD({w, w}, {}); }, {"params[1]", "already"}));
}

TEST(OptimRules, ParametersWithoutGradientAreSkipped) {
  Tensor used = core::ones({3}, {.dtype = kFloat64, .requires_grad = true});
  Tensor unused = core::ones({3}, {.dtype = kFloat64, .requires_grad = true});
  optim::Adam opt({used, unused}, {.lr = 0.1});
  (used * used).sum().backward();
  opt.step();
  EXPECT_TRUE(tensors_close(unused, core::ones({3}, {.dtype = kFloat64}), 0.0, 0.0));
  EXPECT_LT(used.to_vector<double>()[0], 1.0);
  EXPECT_EQ(opt.state(used).step, 1);
  EXPECT_EQ(opt.state(unused).step, 0);
  EXPECT_TRUE(opt.state(unused).buffers.empty());
}

TEST(OptimRules, ZeroGradToNoneOrZeros) {
  Tensor w = core::ones({2}, {.requires_grad = true});
  optim::SGD opt({w}, {.lr = 0.1});
  (w * w).sum().backward();
  opt.zero_grad(/*set_to_none=*/false);
  ASSERT_TRUE(w.grad().defined());
  EXPECT_TRUE(tensors_close(w.grad(), core::zeros({2}), 0.0, 0.0));
  opt.zero_grad();
  EXPECT_FALSE(w.grad().defined());
}

TEST(OptimRules, WritingTheGroupLrChangesTheStep) {
  Tensor w = core::ones({2}, {.dtype = kFloat64, .requires_grad = true});
  optim::SGD opt({w}, {.lr = 0.1});
  opt.param_groups()[0].set_lr(0.25);
  opt.param_groups()[0].options<optim::SGDOptions>().weight_decay = 0.0;
  (w * w).sum().backward();  // gradient 2
  opt.step();
  EXPECT_TRUE(tensors_close(w, core::full({2}, 0.5, {.dtype = kFloat64}), 0.0, 1e-15));
  EXPECT_TRUE(throws_with<ValueError>([&] { opt.param_groups()[0].options<optim::AdamOptions>(); }, {"SGD", "Adam"}));
}

TEST(OptimRules, NonFiniteGradientThrowsOrSkips) {
  Tensor w = core::ones({2}, {.dtype = kFloat64, .requires_grad = true});
  Tensor b = core::ones({2}, {.dtype = kFloat64, .requires_grad = true});
  optim::SGD opt(std::vector<optim::GroupSpec>{{{w, b}, {}, {"fc.weight", "fc.bias"}}}, {.lr = 0.1});
  opt.set_non_finite_policy(optim::NonFiniteGrad::kThrow);
  w.set_grad(core::ones({2}, {.dtype = kFloat64}));
  b.set_grad(core::tensor({1.0, std::nan("")}, {.dtype = kFloat64}));
  EXPECT_TRUE(throws_with<ValueError>([&] { opt.step(); }, {"fc.bias", "group 0", "NaN"}));
  EXPECT_TRUE(tensors_close(w, core::ones({2}, {.dtype = kFloat64}), 0.0, 0.0));  // nothing was updated
  opt.set_non_finite_policy(optim::NonFiniteGrad::kSkip);
  opt.step();
  opt.step();
  EXPECT_EQ(opt.skipped_steps(), 2);
  EXPECT_TRUE(tensors_close(w, core::ones({2}, {.dtype = kFloat64}), 0.0, 0.0));
  b.set_grad(core::ones({2}, {.dtype = kFloat64}));
  opt.step();
  EXPECT_EQ(opt.skipped_steps(), 2);
  EXPECT_TRUE(tensors_close(w, core::full({2}, 0.9, {.dtype = kFloat64}), 0.0, 1e-15));
}

TEST(OptimRules, WeightDecayGroupsSplitMatricesFromVectors) {
  Tensor weight = core::ones({3, 2}, {.requires_grad = true});
  Tensor bias = core::ones({3}, {.requires_grad = true});
  Tensor norm = core::ones({2}, {.requires_grad = true});
  auto specs = optim::weight_decay_groups({{"fc.weight", weight}, {"fc.bias", bias}, {"norm.weight", norm}}, 5e-4);
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[0].names, (std::vector<std::string>{"fc.weight"}));
  EXPECT_EQ(specs[1].names, (std::vector<std::string>{"fc.bias", "norm.weight"}));
  optim::SGD opt(specs, {.lr = 0.05, .momentum = 0.9, .nesterov = true});
  EXPECT_EQ(opt.param_groups()[0].get("weight_decay"), 5e-4);
  EXPECT_EQ(opt.param_groups()[1].get("weight_decay"), 0.0);
  EXPECT_EQ(opt.param_groups()[1].get("momentum"), 0.9);
  EXPECT_EQ(opt.param_groups()[1].param_name(1), "norm.weight");
}

// float32 over a tensor large enough to run on several threads: equals the float64 update
// rounded to float32 within float32 precision.
TEST(OptimRules, Float32KernelOnThreadsMatchesFloat64) {
  int64_t n = 200000;
  Tensor p32 = core::randn({n}).requires_grad_();
  Tensor p64 = p32.detach().to(kFloat64).requires_grad_();
  Tensor g = core::randn({n}, {.dtype = kFloat64});
  optim::AdamW a({p32}, {.lr = 0.01, .amsgrad = true});
  optim::AdamW b({p64}, {.lr = 0.01, .amsgrad = true});
  for (int step = 0; step < 3; ++step) {
    p32.set_grad(g.to(kFloat32));
    p64.set_grad(g);
    a.step();
    b.step();
  }
  EXPECT_TRUE(tensors_close(p32, p64, 1e-5, 1e-6));
}

// A round trip of the state through state_dict mid-training, into fresh parameters and a fresh
// optimizer (as a restart from a checkpoint does), continues bit-identically, for every golden case.
TEST(OptimRules, StateDictRoundTripContinuesBitIdentically) {
  const nlohmann::json& cases = rules_golden().json().at("cases").at("list");
  for (const nlohmann::json& c : cases) {
    std::string problem = c.at("problem").get<std::string>();
    SCOPED_TRACE(c.at("name").get<std::string>());
    std::vector<Tensor> params = problem_params(problem);
    Optimizer opt({ParamGroup(params, case_rule(c))});
    auto train = [&](Optimizer& o, const std::vector<Tensor>& p, int steps) {
      for (int step = 0; step < steps; ++step) {
        o.zero_grad();
        backward_loss(problem, p, 1.0);
        o.step();
      }
    };
    train(opt, params, 7);
    optim::StateDict saved = opt.state_dict();
    std::vector<Tensor> resumed_params;
    for (const Tensor& p : params) resumed_params.push_back(p.detach().clone().requires_grad_());
    // The fresh optimizer starts from the rule's defaults: load_state_dict restores the options.
    Optimizer resumed({ParamGroup(resumed_params, default_rule(c.at("rule").get<std::string>()))});
    resumed.load_state_dict(saved);
    EXPECT_EQ(resumed.param_groups()[0].rule().hyperparameters(), opt.param_groups()[0].rule().hyperparameters());
    train(opt, params, 9);
    train(resumed, resumed_params, 9);
    for (size_t i = 0; i < params.size(); ++i) EXPECT_TRUE(tensors_close(resumed_params[i], params[i], 0.0, 0.0));
  }
}

TEST(OptimRules, StateDictIsFlatAndValidatedOnLoad) {
  Tensor w = core::ones({2, 2}, {.dtype = kFloat64, .requires_grad = true});
  optim::Adam opt({w}, {.lr = 0.1, .amsgrad = true});
  (w * w).sum().backward();
  opt.step();
  optim::StateDict dict = opt.state_dict();
  EXPECT_EQ(dict.metadata.at("group.0.rule"), "Adam");
  EXPECT_EQ(dict.metadata.at("group.0.lr"), "0.1");
  EXPECT_EQ(dict.metadata.at("group.0.amsgrad"), "1");
  EXPECT_EQ(dict.tensors.at("state.0.0.step").item<int64_t>(), 1);
  for (const char* buffer : {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}) {
    EXPECT_EQ(dict.tensors.at(std::string("state.0.0.") + buffer).sizes(), w.sizes()) << buffer;
  }
  optim::SGD other({core::ones({2, 2}, {.requires_grad = true})}, {});
  EXPECT_TRUE(throws_with<ValueError>([&] { other.load_state_dict(dict); }, {"rule Adam", "SGD"}));
  optim::Adam wrong_shape({core::ones({3}, {.dtype = kFloat64, .requires_grad = true})}, {});
  EXPECT_TRUE(throws_with<ShapeError>([&] { wrong_shape.load_state_dict(dict); }, {"state.0.0.exp_avg", "[3]"}));
  EXPECT_EQ(wrong_shape.param_groups()[0].lr(), 1e-3);  // a refused checkpoint changes nothing
  dict.metadata["group.0.lr"] = "fast";
  EXPECT_TRUE(throws_with<ValueError>([&] { opt.load_state_dict(dict); }, {"group.0.lr", "fast"}));
}

}  // namespace
}  // namespace descent::testing
