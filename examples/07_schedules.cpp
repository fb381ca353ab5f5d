// Every learning-rate schedule of optim/schedulers.h over the same 100 steps from lr 0.1: a
// table of the lr every 10 steps, and the curves in schedules.dat and, when gnuplot is installed,
// schedules.png. Schedules set the lr of an optimizer's groups; here the optimizer steps nothing.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <string>

#include <descent/descent.h>

using namespace descent;

struct Curve {
  std::string name;
  std::vector<double> lrs;
};

constexpr int kSteps = 100;

int main() {
  // Each entry makes its schedule on a fresh optimizer (schedules remember the group's base lr).
  using Make = std::function<std::shared_ptr<optim::LRScheduler>(optim::Optimizer&)>;
  std::vector<std::pair<std::string, Make>> schedules = {
      {"StepLR(30, 0.5)", [](optim::Optimizer& o) { return std::make_shared<optim::StepLR>(o, 30, 0.5); }},
      {"MultiStepLR({50, 80})", [](optim::Optimizer& o) { return std::make_shared<optim::MultiStepLR>(o, std::vector<int64_t>{50, 80}); }},
      {"ConstantLR(0.5, 20)", [](optim::Optimizer& o) { return std::make_shared<optim::ConstantLR>(o, 0.5, 20); }},
      {"LinearLR(0.1, 1, 25)", [](optim::Optimizer& o) { return std::make_shared<optim::LinearLR>(o, 0.1, 1.0, 25); }},
      {"ExponentialLR(0.97)", [](optim::Optimizer& o) { return std::make_shared<optim::ExponentialLR>(o, 0.97); }},
      {"PolynomialLR(100, 2)", [](optim::Optimizer& o) { return std::make_shared<optim::PolynomialLR>(o, kSteps, 2.0); }},
      {"CosineAnnealingLR(100)", [](optim::Optimizer& o) { return std::make_shared<optim::CosineAnnealingLR>(o, kSteps); }},
      {"CosineAnnealingWarmRestarts(20, 2)",
       [](optim::Optimizer& o) { return std::make_shared<optim::CosineAnnealingWarmRestarts>(o, 20, 2); }},
      {"CyclicLR(0.01..0.1, 25)", [](optim::Optimizer& o) {
         return std::make_shared<optim::CyclicLR>(o, optim::CyclicLROptions{.base_lr = {0.01}, .max_lr = {0.1}, .step_size_up = 25});
       }},
      {"OneCycleLR(0.1, 100)", [](optim::Optimizer& o) {
         return std::make_shared<optim::OneCycleLR>(o, optim::OneCycleLROptions{.max_lr = {0.1}, .total_steps = kSteps});
       }},
      {"warmup_cosine(10, 100)", [](optim::Optimizer& o) {
         return std::make_shared<optim::LambdaLR>(optim::warmup_cosine(o, {.warmup_steps = 10, .total_steps = kSteps}));
       }},
  };

  std::vector<Curve> curves;
  for (const auto& [name, make] : schedules) {
    optim::SGD opt({zeros({1}, {.requires_grad = true})}, {.lr = 0.1, .momentum = 0.9});
    auto schedule = make(opt);
    Curve curve{name, {}};
    for (int step = 0; step < kSteps; ++step) {
      curve.lrs.push_back(opt.param_groups()[0].lr());  // the lr step `step` would use
      schedule->step();
    }
    curves.push_back(std::move(curve));
  }
  // ReduceLROnPlateau follows a metric, not the step count: a loss that stops improving at 40.
  {
    optim::SGD opt({zeros({1}, {.requires_grad = true})}, {.lr = 0.1});
    optim::ReduceLROnPlateau plateau(opt, {.factor = 0.5, .patience = 10});
    Curve curve{"ReduceLROnPlateau(0.5, 10)", {}};
    for (int step = 0; step < kSteps; ++step) {
      curve.lrs.push_back(opt.param_groups()[0].lr());
      plateau.step(1.0 / (1 + std::min(step, 40)));
    }
    curves.push_back(std::move(curve));
  }

  fmt::print("{:<36}", "step");
  for (int step = 0; step < kSteps; step += 10) fmt::print("{:>8}", step);
  fmt::print("\n");
  for (const Curve& curve : curves) {
    fmt::print("{:<36}", curve.name);
    for (int step = 0; step < kSteps; step += 10) fmt::print("{:>8.4f}", curve.lrs[step]);
    fmt::print("\n");
  }

  // schedules.dat: one block per schedule (gnuplot's "index"), rows "step lr".
  {
    std::ofstream dat("schedules.dat");
    for (const Curve& curve : curves) {
      dat << "# " << curve.name << "\n";
      for (int step = 0; step < kSteps; ++step) dat << step << " " << curve.lrs[step] << "\n";
      dat << "\n\n";
    }
  }
  FILE* gnuplot = std::system("command -v gnuplot >/dev/null 2>&1") == 0 ? popen("gnuplot", "w") : nullptr;
  if (gnuplot == nullptr) {
    fmt::print("\nwrote schedules.dat (install gnuplot-nox for schedules.png)\n");
    return 0;
  }
  fmt::print(gnuplot, "set terminal pngcairo size 1400,1000\nset output 'schedules.png'\n"
                      "set multiplot layout 3,4 title 'learning rate against step (base lr 0.1)'\n"
                      "set termoption noenhanced\nset key off\nset grid\nset xtics 25\nset yrange [0:0.11]\n");
  for (size_t i = 0; i < curves.size(); ++i) {
    fmt::print(gnuplot, "set title '{}'\nplot 'schedules.dat' index {} with lines lw 2\n", curves[i].name, i);
  }
  fmt::print(gnuplot, "unset multiplot\n");
  bool ok = pclose(gnuplot) == 0;
  fmt::print("\nwrote schedules.dat{}\n", ok ? " and schedules.png" : " (gnuplot failed: no schedules.png)");
}
