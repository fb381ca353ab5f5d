// Learning-rate schedules against torch.optim.lr_scheduler 1.13 (golden/gen_schedules.py): the lr
// of two groups with different base lrs after construction and after every step, the cycled
// momentum or beta1, ReduceLROnPlateau on a scripted metric, and state_dict round trips.
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <descent/descent.h>

#include "testing.h"

namespace descent::testing {
namespace {

using namespace descent::optim;

const Golden& golden() {
  static const Golden g("optim/golden/optim_schedules.json");
  return g;
}

// The generator's optimizer: two groups with lrs 0.1 and 0.03, SGD with momentum 0.9 or Adam.
struct TwoGroups {
  std::vector<Tensor> params{core::zeros({1}, {.requires_grad = true}), core::zeros({1}, {.requires_grad = true})};
  std::unique_ptr<Optimizer> optimizer;
  explicit TwoGroups(const std::string& rule) {
    if (rule == "Adam") {
      optimizer = std::make_unique<Optimizer>(std::vector<ParamGroup>{
          ParamGroup({params[0]}, AdamOptions{.lr = 0.1}), ParamGroup({params[1]}, AdamOptions{.lr = 0.03})});
    } else {
      optimizer = std::make_unique<Optimizer>(
          std::vector<ParamGroup>{ParamGroup({params[0]}, SGDOptions{.lr = 0.1, .momentum = 0.9}),
                                  ParamGroup({params[1]}, SGDOptions{.lr = 0.03, .momentum = 0.9})});
    }
  }
};

struct Case {
  std::string rule;
  std::function<std::shared_ptr<LRScheduler>(Optimizer&)> make;
  int steps;
};

template <typename S, typename... Args>
std::shared_ptr<LRScheduler> make(Optimizer& o, Args&&... args) {
  return std::make_shared<S>(o, std::forward<Args>(args)...);
}

// The same schedules as gen_schedules.py's CASES.
const std::map<std::string, Case>& cases() {
  static const std::map<std::string, Case> all = {
      {"lambda", {"SGD", [](Optimizer& o) {
                    return make<LambdaLR>(o, std::vector<LambdaLR::Lambda>{
                                                 [](int64_t e) { return std::pow(0.95, static_cast<double>(e)); },
                                                 [](int64_t e) { return 1.0 / (1.0 + static_cast<double>(e)); }});
                  }, 30}},
      {"multiplicative", {"SGD", [](Optimizer& o) {
                            return make<MultiplicativeLR>(
                                o, std::vector<LambdaLR::Lambda>{[](int64_t) { return 0.9; },
                                                                 [](int64_t e) { return e % 2 ? 0.95 : 1.0; }});
                          }, 30}},
      {"step", {"SGD", [](Optimizer& o) { return make<StepLR>(o, 7, 0.5); }, 40}},
      {"multistep", {"SGD", [](Optimizer& o) { return make<MultiStepLR>(o, std::vector<int64_t>{5, 12, 12, 30}, 0.3); }, 40}},
      {"constant", {"SGD", [](Optimizer& o) { return make<ConstantLR>(o, 0.25, 6); }, 20}},
      {"linear", {"SGD", [](Optimizer& o) { return make<LinearLR>(o, 0.1, 0.9, 10); }, 20}},
      {"exponential", {"SGD", [](Optimizer& o) { return make<ExponentialLR>(o, 0.93); }, 40}},
      {"polynomial", {"SGD", [](Optimizer& o) { return make<PolynomialLR>(o, 15, 2.0); }, 25}},
      {"cosine", {"SGD", [](Optimizer& o) { return make<CosineAnnealingLR>(o, 10, 0.001); }, 45}},
      {"warm_restarts", {"SGD", [](Optimizer& o) { return make<CosineAnnealingWarmRestarts>(o, 5, 2, 0.002); }, 50}},
      {"warm_restarts_1", {"SGD", [](Optimizer& o) { return make<CosineAnnealingWarmRestarts>(o, 6); }, 20}},
      {"cyclic_triangular", {"SGD", [](Optimizer& o) {
                               return make<CyclicLR>(o, CyclicLROptions{.base_lr = {0.01, 0.002}, .max_lr = {0.1, 0.05},
                                                                        .step_size_up = 4, .step_size_down = 6});
                             }, 40}},
      {"cyclic_triangular2", {"SGD", [](Optimizer& o) {
                                return make<CyclicLR>(o, CyclicLROptions{.base_lr = {0.01}, .max_lr = {0.1, 0.05},
                                                                         .step_size_up = 5, .mode = "triangular2",
                                                                         .base_momentum = 0.7, .max_momentum = 0.95});
                              }, 50}},
      {"cyclic_exp_range", {"SGD", [](Optimizer& o) {
                              return make<CyclicLR>(o, CyclicLROptions{.base_lr = {0.01}, .max_lr = {0.1},
                                                                       .step_size_up = 3, .mode = "exp_range",
                                                                       .gamma = 0.97, .cycle_momentum = false});
                            }, 40}},
      {"onecycle_cos", {"SGD", [](Optimizer& o) {
                          return make<OneCycleLR>(o, OneCycleLROptions{.max_lr = {0.2, 0.1}, .total_steps = 40});
                        }, 39}},
      {"onecycle_linear_three_phase", {"Adam", [](Optimizer& o) {
                                         return make<OneCycleLR>(
                                             o, OneCycleLROptions{.max_lr = {0.05}, .total_steps = 30, .pct_start = 0.25,
                                                                  .anneal_strategy = "linear", .base_momentum = 0.8,
                                                                  .max_momentum = 0.9, .div_factor = 10.0,
                                                                  .final_div_factor = 100.0, .three_phase = true});
                                       }, 29}},
      {"cyclic_scale_fn_cycle", {"SGD", [](Optimizer& o) {
                                   return make<CyclicLR>(o, CyclicLROptions{.base_lr = {0.01}, .max_lr = {0.1},
                                                                            .step_size_up = 3, .step_size_down = 2,
                                                                            .scale_fn = [](double x) { return 1.0 / (x * x); },
                                                                            .scale_mode = "cycle"});
                                 }, 30}},
      {"cyclic_scale_fn_iterations", {"SGD", [](Optimizer& o) {
                                        return make<CyclicLR>(
                                            o, CyclicLROptions{.base_lr = {0.01, 0.02}, .max_lr = {0.1}, .step_size_up = 4,
                                                               .scale_fn = [](double x) { return 1.0 / (1.0 + 0.1 * x); },
                                                               .scale_mode = "iterations", .max_momentum = 0.95});
                                      }, 30}},
      {"onecycle_epochs", {"SGD", [](Optimizer& o) {
                             return make<OneCycleLR>(o, OneCycleLROptions{.max_lr = {0.1}, .epochs = 4, .steps_per_epoch = 6});
                           }, 23}},
      {"sequential", {"SGD", [](Optimizer& o) {
                        auto warmup = make<LinearLR>(o, 0.2, 1.0, 5);
                        auto cosine = make<CosineAnnealingLR>(o, 20);
                        return make<SequentialLR>(o, std::vector{warmup, cosine}, std::vector<int64_t>{5});
                      }, 30}},
      {"sequential3", {"SGD", [](Optimizer& o) {
                         auto a = make<ConstantLR>(o, 0.1, 3);
                         auto b = make<ExponentialLR>(o, 0.9);
                         auto c = make<StepLR>(o, 4, 0.5);
                         return make<SequentialLR>(o, std::vector{a, b, c}, std::vector<int64_t>{3, 10});
                       }, 25}},
      {"chained", {"SGD", [](Optimizer& o) {
                     auto a = make<ConstantLR>(o, 0.1, 4);
                     auto b = make<ExponentialLR>(o, 0.9);
                     return std::make_shared<ChainedScheduler>(std::vector{a, b});
                   }, 20}},
  };
  return all;
}

std::vector<double> momenta(const Optimizer& o) {
  std::vector<double> out;
  for (const ParamGroup& g : o.param_groups()) out.push_back(group_momentum(g));
  return out;
}

Tensor row(const std::vector<double>& values) { return core::tensor(values, {.dtype = kFloat64}); }

TEST(OptimSchedulers, LrSequencesMatchTorch) {
  for (const auto& [name, c] : cases()) {
    SCOPED_TRACE(name);
    Tensor expected_lr = golden().tensor(name + ".lr");
    Tensor expected_momentum = golden().tensor(name + ".momentum");
    ASSERT_EQ(expected_lr.size(0), c.steps + 1);
    TwoGroups setup(c.rule);
    std::shared_ptr<LRScheduler> scheduler = c.make(*setup.optimizer);
    for (int step = 0; step <= c.steps; ++step) {
      if (step > 0) scheduler->step();
      ASSERT_TRUE(tensors_close(row(scheduler->get_last_lr()), expected_lr[step], 1e-7, 0.0)) << "step " << step;
      ASSERT_TRUE(tensors_close(row(momenta(*setup.optimizer)), expected_momentum[step], 1e-7, 0.0)) << "step " << step;
      EXPECT_EQ(setup.optimizer->param_groups()[1].lr(), scheduler->get_last_lr()[1]);
    }
  }
}

TEST(OptimSchedulers, ReduceLROnPlateauMatchesTorch) {
  std::vector<double> metrics = golden().tensor("plateau_metrics").to_vector<double>();
  std::map<std::string, ReduceLROnPlateauOptions> variants = {
      {"plateau_min_rel", {.mode = "min", .factor = 0.5, .patience = 2, .threshold = 0.01, .threshold_mode = "rel",
                           .cooldown = 1, .min_lr = {0.001, 0.0005}}},
      {"plateau_max_abs", {.mode = "max", .factor = 0.3, .patience = 1, .threshold = 0.05, .threshold_mode = "abs",
                           .cooldown = 2, .min_lr = {0.004}, .eps = 1e-3}},
  };
  for (const auto& [name, options] : variants) {
    SCOPED_TRACE(name);
    Tensor expected = golden().tensor(name + ".lr");
    TwoGroups setup("SGD");
    ReduceLROnPlateau plateau(*setup.optimizer, options);
    for (size_t i = 0; i < metrics.size(); ++i) {
      plateau.step(metrics[i]);
      ASSERT_TRUE(tensors_close(row(plateau.get_last_lr()), expected[static_cast<int64_t>(i)], 1e-7, 0.0)) << "step " << i;
    }
  }
}

TEST(OptimSchedulers, WarmupCosineRisesLinearlyThenFollowsTheCosine) {
  TwoGroups setup("SGD");
  LambdaLR schedule = warmup_cosine(*setup.optimizer, {.warmup_steps = 4, .total_steps = 14, .min_lr = 0.001});
  const double pi = std::acos(-1.0);
  for (int64_t t = 0; t <= 20; ++t) {
    if (t > 0) schedule.step();
    for (size_t g = 0; g < 2; ++g) {
      double base = g == 0 ? 0.1 : 0.03;
      double progress = std::min(1.0, (t - 4) / 10.0);
      double expected = t < 4 ? base * t / 4.0 : 0.001 + (base - 0.001) * 0.5 * (1.0 + std::cos(pi * progress));
      EXPECT_NEAR(schedule.get_last_lr()[g], expected, 1e-15 + 1e-12 * expected) << "step " << t << " group " << g;
    }
  }
  EXPECT_TRUE(throws_with<ValueError>([&] { warmup_cosine(*setup.optimizer, {.warmup_steps = 5, .total_steps = 5}); },
                                      {"warmup_cosine", "total_steps"}));
}

TEST(OptimSchedulers, BadArgumentsThrowNamingTheOption) {
  TwoGroups setup("Adam");
  EXPECT_TRUE(throws_with<ValueError>([&] { StepLR(*setup.optimizer, 0); }, {"StepLR", "step_size"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { ConstantLR(*setup.optimizer, 1.5); }, {"ConstantLR", "factor"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { OneCycleLR(*setup.optimizer, {.max_lr = {0.1, 0.2, 0.3}, .total_steps = 5}); },
                                      {"OneCycleLR", "max_lr", "3 values", "2 groups"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { ReduceLROnPlateau(*setup.optimizer, {.factor = 1.0}); },
                                      {"ReduceLROnPlateau", "factor"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { OneCycleLR(*setup.optimizer, {.max_lr = {0.1}, .epochs = 3}); },
                                      {"OneCycleLR", "total_steps", "epochs = 3", "steps_per_epoch = 0"}));
  EXPECT_TRUE(throws_with<ValueError>(
      [&] { CyclicLR(*setup.optimizer, {.base_lr = {0.01}, .max_lr = {0.1}, .scale_mode = "epochs"}); },
      {"CyclicLR", "scale_mode = epochs"}));
  OneCycleLR one_cycle(*setup.optimizer, {.max_lr = {0.1}, .total_steps = 2});
  one_cycle.step();
  one_cycle.step();
  EXPECT_TRUE(throws_with<ValueError>([&] { one_cycle.step(); }, {"OneCycleLR", "total_steps is 2"}));
  std::shared_ptr<LRScheduler> sequential = cases().at("sequential").make(*setup.optimizer);
  EXPECT_TRUE(throws_with<ValueError>([&] { sequential->step_to(3); }, {"SequentialLR", "step_to(3)"}));
}

// A schedule and its optimizer restored mid-run into fresh ones continue with the same lrs.
TEST(OptimSchedulers, StateDictRoundTripContinuesTheSequence) {
  for (const std::string name : {"cosine", "warm_restarts", "sequential3", "chained", "onecycle_cos"}) {
    SCOPED_TRACE(name);
    const Case& c = cases().at(name);
    TwoGroups original(c.rule), restored(c.rule);
    std::shared_ptr<LRScheduler> a = c.make(*original.optimizer);
    std::shared_ptr<LRScheduler> b = c.make(*restored.optimizer);
    for (int step = 0; step < 13; ++step) a->step();
    restored.optimizer->load_state_dict(original.optimizer->state_dict());
    b->load_state_dict(a->state_dict());
    for (int step = 13; step < c.steps; ++step) {
      a->step();
      b->step();
      ASSERT_EQ(a->get_last_lr(), b->get_last_lr()) << "step " << step;
      ASSERT_EQ(momenta(*original.optimizer), momenta(*restored.optimizer));
    }
  }
}

}  // namespace
}  // namespace descent::testing
