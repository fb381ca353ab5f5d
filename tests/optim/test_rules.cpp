// Update rules against torch.optim 1.13 trajectories (golden/gen_optim.py, every step), and the
// Optimizer's behaviour around them: groups with different rules, validation, skipped
// parameters, zero_grad, non-finite gradients, weight_decay_groups, safetensors checkpoints.
#include <cmath>
#include <filesystem>
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

TEST(OptimRules, MatchTorchTrajectoriesAfterEveryStep) {
  const Golden& golden = rules_golden();
  const nlohmann::json& cases = golden.json().at("cases").at("list");
  ASSERT_GE(cases.size(), 36u);
  for (const nlohmann::json& c : cases) {
    std::string name = c.at("name").get<std::string>();
    SCOPED_TRACE(name + " " + c.at("rule").get<std::string>() + " " + c.at("options").dump());
    Tensor expected = golden.tensor(name);  // [steps, parameters flattened in module order]
    ASSERT_GE(expected.size(0), 100);
    Problem problem(c.at("problem").get<std::string>());
    std::vector<Tensor> params = problem.params();
    Optimizer opt({ParamGroup(params, case_rule(c))});
    double sign = c.at("options").value("maximize", 0.0) != 0.0 ? -1.0 : 1.0;
    for (int64_t step = 0; step < expected.size(0); ++step) {
      opt.zero_grad();
      (sign * problem.loss()).backward();
      opt.step();
      ASSERT_TRUE(tensors_close(flat_params(params), expected[step], 1e-6, 1e-12)) << "after step " << step + 1;
    }
  }
}

// Weights and biases of the model in groups with different rules step as an AdamW over the
// weights and an SGD over the biases would.
TEST(OptimRules, GroupsWithDifferentRulesStepAsSeparateOptimizers) {
  Problem a("model"), b("model");
  auto weights = [](Problem& p) { return std::vector<Tensor>{p.params()[0], p.params()[2]}; };
  auto biases = [](Problem& p) { return std::vector<Tensor>{p.params()[1], p.params()[3]}; };
  Optimizer mixed({ParamGroup(weights(a), optim::AdamWOptions{.lr = 0.01}),
                   ParamGroup(biases(a), optim::SGDOptions{.lr = 0.1, .momentum = 0.9})});
  optim::AdamW adamw(weights(b), {.lr = 0.01});
  optim::SGD sgd(biases(b), {.lr = 0.1, .momentum = 0.9});
  for (int step = 0; step < 5; ++step) {
    mixed.zero_grad();
    adamw.zero_grad();
    sgd.zero_grad();
    a.loss().backward();
    b.loss().backward();
    mixed.step();
    adamw.step();
    sgd.step();
  }
  for (size_t i = 0; i < 4; ++i) EXPECT_TRUE(tensors_close(a.params()[i], b.params()[i], 0.0, 0.0)) << i;
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

// A checkpoint mid-training, as a restart uses it: the module through nn::save and the
// optimizer's StateDict {tensors, metadata} through nn::save into a safetensors file, both loaded
// into a fresh module and a fresh optimizer (built with the rule's defaults: the checkpoint
// restores the options). Training then continues bit-identically, for every golden case.
TEST(OptimRules, SafetensorsCheckpointResumesBitIdentically) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "descent_optim_resume";
  fs::create_directories(dir);
  const std::string model_path = (dir / "model.safetensors").string();
  const std::string optim_path = (dir / "optim.safetensors").string();
  const nlohmann::json& cases = rules_golden().json().at("cases").at("list");
  for (const nlohmann::json& c : cases) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    std::string rule = c.at("rule").get<std::string>();
    auto train = [](Optimizer& opt, Problem& problem, int steps) {
      for (int step = 0; step < steps; ++step) {
        opt.zero_grad();
        problem.loss().backward();
        opt.step();
      }
    };
    Problem problem(c.at("problem").get<std::string>());
    Optimizer opt({ParamGroup(problem.params(), case_rule(c))});
    train(opt, problem, 7);
    nn::save(problem.module(), model_path);
    optim::StateDict state = opt.state_dict();
    nn::StateDict state_tensors;
    for (const auto& [key, tensor] : state.tensors) state_tensors.insert(key, tensor);
    nn::save(state_tensors, optim_path, state.metadata);

    Problem resumed(c.at("problem").get<std::string>());
    nn::load(resumed.module(), model_path);
    nn::Checkpoint loaded = nn::load(optim_path);
    optim::StateDict loaded_state{.tensors = {}, .metadata = loaded.metadata};
    for (const auto& [key, tensor] : loaded.tensors) loaded_state.tensors.emplace(key, tensor);
    Optimizer resumed_opt({ParamGroup(resumed.params(), optim::make_rule(rule))});
    resumed_opt.load_state_dict(loaded_state);
    EXPECT_EQ(resumed_opt.param_groups()[0].rule().hyperparameters(), opt.param_groups()[0].rule().hyperparameters());
    EXPECT_EQ(resumed_opt.state(resumed.params()[0]).step, 7);

    train(opt, problem, 9);
    train(resumed_opt, resumed, 9);
    for (size_t i = 0; i < problem.params().size(); ++i) {
      EXPECT_TRUE(tensors_close(resumed.params()[i], problem.params()[i], 0.0, 0.0)) << i;
    }
  }
  fs::remove_all(dir);
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
  dict.metadata["group.0.lr"] = "0.1";
  // The input of a fuzzer crash (tests/fuzz/fuzz_checkpoint_metadata): std::invalid_argument escaped.
  for (const char* skipped : {"accumulate=1", "", "-1", "99999999999999999999", "3x"}) {
    dict.metadata["optimizer.skipped_steps"] = skipped;
    EXPECT_TRUE(throws_with<ValueError>([&] { wrong_shape.load_state_dict(dict); },
                                        {"optimizer.skipped_steps", "is not a count"}))
        << skipped;
  }
}

TEST(OptimRules, StateBuffersOutsideTheSchemaAreRefused) {
  Tensor w = core::ones({2, 2}, {.dtype = kFloat64, .requires_grad = true});
  optim::SGD opt({w}, {.lr = 0.1, .momentum = 0.9});
  (w * w).sum().backward();
  opt.step();
  optim::StateDict dict = opt.state_dict();
  dict.tensors["state.0.0.exp_avg"] = core::zeros({2, 2}, {.dtype = kFloat64});  // Adam's, not SGD's
  EXPECT_TRUE(throws_with<ValueError>([&] { opt.load_state_dict(dict); }, {"state.0.0.exp_avg", "SGD"}));
}

// A factored rule in the spirit of Adafactor (Shazeer & Stern 2018): for a matrix it keeps a
// running mean of the squared gradient per row and per column, not per element.
class FactoredSquares final : public optim::UpdateRule {
 public:
  std::string name() const override { return "FactoredSquares"; }
  std::unique_ptr<optim::UpdateRule> clone() const override { return std::make_unique<FactoredSquares>(*this); }
  std::vector<std::pair<std::string, double>> hyperparameters() const override { return {{"lr", lr_}}; }
  void set(const std::string& option, double value) override {
    check<ValueError>(option == "lr", "FactoredSquares: no option named {}", option);
    lr_ = value;
  }
  void update(const Tensor& param, const Tensor& grad, optim::ParamState& state) const override {
    Tensor squares = grad * grad;
    Tensor rows = squares.mean({1}), columns = squares.mean({0});
    if (state.buffers.count("row")) rows = (state.buffers.at("row") + rows) * 0.5;
    if (state.buffers.count("column")) columns = (state.buffers.at("column") + columns) * 0.5;
    state.buffers["row"] = rows;
    state.buffers["column"] = columns;
    Tensor(param).sub_(grad * lr_);
  }
  std::optional<optim::BufferSpec> state_buffer(const std::string& buffer, const Tensor& param) const override {
    if (buffer == "row") return optim::BufferSpec{{param.size(0)}, param.dtype()};
    if (buffer == "column") return optim::BufferSpec{{param.size(1)}, param.dtype()};
    return std::nullopt;
  }

 private:
  double lr_ = 0.1;
};

TEST(OptimRules, StateOfAnotherShapeThanTheParameterRoundTrips) {
  auto make = [](const Tensor& w) { return Optimizer({ParamGroup({w}, std::make_unique<FactoredSquares>())}); };
  Tensor w = core::tensor({0.0, 1.0, 2.0, 3.0, 4.0, 5.0}, {2, 3}, {.dtype = kFloat64, .requires_grad = true});
  Optimizer opt = make(w);
  (w * w).sum().backward();
  opt.step();
  optim::StateDict dict = opt.state_dict();
  EXPECT_EQ(dict.tensors.at("state.0.0.row").sizes(), Dims({2}));
  EXPECT_EQ(dict.tensors.at("state.0.0.column").sizes(), Dims({3}));

  Tensor copy = core::zeros({2, 3}, {.dtype = kFloat64, .requires_grad = true});
  Optimizer resumed = make(copy);
  resumed.load_state_dict(dict);
  EXPECT_TRUE(tensors_close(resumed.state(copy).buffers.at("row"), dict.tensors.at("state.0.0.row"), 0.0, 0.0));
  EXPECT_TRUE(
      tensors_close(resumed.state(copy).buffers.at("column"), dict.tensors.at("state.0.0.column"), 0.0, 0.0));

  dict.tensors["state.0.0.row"] = core::zeros({2, 3}, {.dtype = kFloat64});  // the parameter's shape
  Optimizer refused = make(core::zeros({2, 3}, {.dtype = kFloat64, .requires_grad = true}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { refused.load_state_dict(dict); }, {"state.0.0.row", "[2, 3]", "[2]"}));
}

TEST(OptimRules, RegistryMakesEveryRuleByNameWithOptions) {
  EXPECT_EQ(optim::rule_names(), (std::vector<std::string>{"SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Lion"}));
  for (const std::string& name : optim::rule_names()) EXPECT_EQ(optim::make_rule(name)->name(), name);
  std::unique_ptr<optim::UpdateRule> sgd = optim::make_rule("sgd", {{"lr", 0.5}, {"momentum", 0.9}, {"nesterov", 1}});
  EXPECT_EQ(sgd->name(), "SGD");
  EXPECT_EQ(sgd->get("lr"), 0.5);
  EXPECT_EQ(sgd->get("nesterov"), 1.0);  // set together with momentum, validated once
  EXPECT_EQ(optim::make_rule("ADAMW")->get("weight_decay"), optim::AdamWOptions{}.weight_decay);
  EXPECT_TRUE(throws_with<ValueError>([] { optim::make_rule("adafactor"); }, {"adafactor", "SGD", "Lion"}));
  EXPECT_TRUE(throws_with<ValueError>([] { optim::make_rule("adam", {{"momentum", 0.9}}); }, {"Adam", "momentum"}));
  EXPECT_TRUE(throws_with<ValueError>([] { optim::make_rule("sgd", {{"nesterov", 1}}); }, {"SGD", "nesterov"}));
}

}  // namespace
}  // namespace descent::testing
