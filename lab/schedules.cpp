// descent lab schedules: the same MLP, data order and number of steps under five learning-rate
// schedules of optim/schedulers.h: a fixed lr (the common mistake), steps down at 50% and 75% of
// the budget, linear warmup + cosine, cuts on a plateau of the validation loss, and one-cycle
// (Smith & Topin 2017). Every schedule peaks at the same lr; the test accuracy is compared.
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <descent/descent.h>
#include "lab/experiment.h"
#include "lab/fashion.h"

namespace descent::lab {
namespace {

constexpr double kPeakLr = 0.1;
constexpr int64_t kChecksPerEpoch = 2;  // validation and test measurements per epoch

// What a schedule does after each optimizer step, and after each check with the validation loss.
struct Stepper {
  std::function<void()> after_step;
  std::function<void(double)> after_check;
};

struct Arm {
  std::string name;
  std::function<Stepper(optim::Optimizer&, int64_t total_steps)> make;
};

std::vector<Arm> arms() {
  return {
      {"fixed", [](optim::Optimizer&, int64_t) { return Stepper{[] {}, [](double) {}}; }},
      {"step", [](optim::Optimizer& opt, int64_t total) {
         auto schedule = std::make_shared<optim::MultiStepLR>(opt, std::vector<int64_t>{total / 2, total * 3 / 4}, 0.1);
         return Stepper{[schedule] { schedule->step(); }, [](double) {}};
       }},
      {"warmup-cosine", [](optim::Optimizer& opt, int64_t total) {
         auto schedule = std::make_shared<optim::LambdaLR>(
             optim::warmup_cosine(opt, {.warmup_steps = total / 20, .total_steps = total}));
         return Stepper{[schedule] { schedule->step(); }, [](double) {}};
       }},
      {"plateau", [](optim::Optimizer& opt, int64_t) {
         // Patience of one check: the budget is a few epochs, not PyTorch's default 10 epochs.
         auto schedule = std::make_shared<optim::ReduceLROnPlateau>(
             opt, optim::ReduceLROnPlateauOptions{.factor = 0.3, .patience = 1});
         return Stepper{[] {}, [schedule](double validation_loss) { schedule->step(validation_loss); }};
       }},
      {"one-cycle", [](optim::Optimizer& opt, int64_t total) {
         auto schedule = std::make_shared<optim::OneCycleLR>(
             opt, optim::OneCycleLROptions{.max_lr = {kPeakLr}, .total_steps = total});
         return Stepper{[schedule] { schedule->step(); }, [](double) {}};
       }},
  };
}

Report run_schedules(const Context& context) {
  const int64_t epochs = context.smoke ? 2 : 6;
  const int64_t hidden = context.smoke ? 32 : 128;
  const int64_t batch = context.smoke ? 64 : 128;
  const int64_t validation_count = context.smoke ? 500 : 10000;
  FashionData data = load_fashion(context, context.smoke ? 2500 : 0, context.smoke ? 1000 : 0);
  // The last pictures of the training set are held out: the plateau schedule watches their loss.
  const int64_t train_count = data.train_x.size(0) - validation_count;
  Tensor x = data.train_x.slice(0, 0, train_count), y = data.train_y.slice(0, 0, train_count);
  Tensor validation_x = data.train_x.slice(0, train_count), validation_y = data.train_y.slice(0, train_count);
  const int64_t steps_per_epoch = (train_count + batch - 1) / batch;
  const int64_t total_steps = epochs * steps_per_epoch;
  const int64_t check_every = train_count / kChecksPerEpoch;

  Report report("learning-rate schedules at an equal budget");
  report.describe(fmt::format(
      "A 784-{}-10 MLP trains with SGD (momentum 0.9, batch {}) for {} epochs of {} Fashion-MNIST pictures "
      "({} steps), from the same initial weights and in the same order under each schedule; every schedule "
      "peaks at lr {}. fixed: lr {} throughout. step: x0.1 at 50% and 75% of the steps. warmup-cosine: linear "
      "from 0 over 5% of the steps, then cosine to 0 (`optim::warmup_cosine`). plateau: x0.3 when the loss on "
      "{} held-out training pictures did not improve for one check ({} checks per epoch). one-cycle: "
      "`optim::OneCycleLR` with PyTorch's defaults (peak at 30%, momentum cycled 0.95-0.85).",
      hidden, batch, epochs, train_count, total_steps, kPeakLr, kPeakLr, validation_count, kChecksPerEpoch));
  report.set_columns({"schedule", "final test accuracy", "best test accuracy", "final test loss",
                      "last epoch's training loss", "final lr"});

  std::vector<Series> accuracy_curves, lr_curves;
  std::map<std::string, double> final_accuracy;
  for (const Arm& arm : arms()) {
    manual_seed(0);
    nn::Sequential model = fashion_mlp(hidden);
    optim::SGD optimizer(model.parameters(), {.lr = kPeakLr, .momentum = 0.9});
    Stepper stepper = arm.make(optimizer, total_steps);
    Series accuracy{arm.name, {{0.0, evaluate(model, data.test_x, data.test_y).accuracy}}, "linespoints"};
    Series lr{arm.name, {}, "lines"};
    int64_t step = 0;
    double best = 0.0, training_loss = 0.0;
    for (int64_t epoch = 0; epoch < epochs; ++epoch) {
      int64_t next_check = check_every;
      training_loss = train_epoch(model, optimizer, x, y, batch, /*seed=*/epoch, [&](int64_t seen) {
        lr.points.emplace_back(static_cast<double>(++step), optimizer.param_groups()[0].lr());
        stepper.after_step();
        if (seen >= next_check) {
          next_check += check_every;
          stepper.after_check(evaluate(model, validation_x, validation_y).loss);
          double test_accuracy = evaluate(model, data.test_x, data.test_y).accuracy;
          best = std::max(best, test_accuracy);
          accuracy.points.emplace_back(static_cast<double>(epoch) + static_cast<double>(seen) / train_count,
                                       test_accuracy);
        }
      });
    }
    Evaluation test = evaluate(model, data.test_x, data.test_y);
    final_accuracy[arm.name] = test.accuracy;
    report.add_row({arm.name, test.accuracy, best, test.loss, training_loss, optimizer.param_groups()[0].lr()});
    accuracy_curves.push_back(std::move(accuracy));
    lr_curves.push_back(std::move(lr));
  }
  report.plot(context, {.file = "test_accuracy.png", .title = "test accuracy at an equal budget",
                        .x_label = "epoch", .y_label = "test accuracy", .series = accuracy_curves});
  report.plot(context, {.file = "learning_rate.png", .title = "the schedules", .x_label = "optimizer step",
                        .y_label = "lr", .series = lr_curves});

  // The best of the four schedules against the fixed lr.
  std::string best_name;
  for (const auto& [name, accuracy] : final_accuracy) {
    if (name != "fixed" && (best_name.empty() || accuracy > final_accuracy[best_name])) best_name = name;
  }
  double best_accuracy = final_accuracy[best_name], fixed_accuracy = final_accuracy["fixed"];
  report.conclude(best_accuracy > fixed_accuracy
                      ? fmt::format("At an equal budget of {} steps the {} schedule ended with the best test accuracy "
                                    "({:.2f}%), {:.2f} points above the fixed lr ({:.2f}%).",
                                    total_steps, best_name, 100 * best_accuracy,
                                    100 * (best_accuracy - fixed_accuracy), 100 * fixed_accuracy)
                      : fmt::format("At an equal budget of {} steps no schedule beat the fixed lr ({:.2f}%; the best, "
                                    "{}, ended at {:.2f}%).",
                                    total_steps, 100 * fixed_accuracy, best_name, 100 * best_accuracy));
  return report;
}

const Registration kRegistration{{"schedules",
                                  "fixed lr vs step vs warmup+cosine vs reduce-on-plateau vs one-cycle at an "
                                  "equal budget",
                                  run_schedules}};

}  // namespace
}  // namespace descent::lab
