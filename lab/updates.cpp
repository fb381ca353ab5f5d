// descent lab updates: what a batch size buys at an equal number of epochs. The same MLP trains
// on Fashion-MNIST with batch 1, 32, 512 and the full training set: batch 32 makes 1,875 updates
// per epoch of 60,000 pictures where the full batch makes one. Test accuracy against examples
// seen and against training seconds, and the time each needs to reach 85%.
#include <chrono>
#include <string>

#include <descent/descent.h>
#include "lab/experiment.h"
#include "lab/fashion.h"

namespace descent::lab {
namespace {

constexpr double kTarget = 0.85;
constexpr int64_t kChecksPerEpoch = 8;

Report run_updates(const Context& context) {
  const int64_t epochs = context.smoke ? 1 : 3;
  const int64_t hidden = context.smoke ? 32 : 128;
  FashionData data = load_fashion(context, context.smoke ? 2048 : 0, context.smoke ? 1000 : 0);
  const int64_t n = data.train_x.size(0);
  const int64_t check_every = n / kChecksPerEpoch;

  Report report("batch size at an equal number of epochs");
  report.describe(fmt::format(
      "A 784-{}-10 MLP trains with SGD (momentum 0.9) for {} epochs of {} Fashion-MNIST pictures at each batch "
      "size, from the same initial weights and in the same shuffled order. The lr follows the linear scaling "
      "rule from 0.02 at batch 32 (`optim::linear_scaled_lr`), capped at 0.5 where full-batch steps stay stable. "
      "The test accuracy ({} pictures) is measured {} times per epoch (after the first step past each mark, "
      "and after every full-batch step); the seconds count training only.",
      hidden, epochs, n, data.test_x.size(0), kChecksPerEpoch));
  report.set_columns({"batch", "lr", "updates", "final test accuracy", "training seconds",
                      "seconds to 85%", "examples to 85%"});

  std::vector<Series> by_examples, by_seconds;
  struct Outcome { int64_t batch; double accuracy, seconds, seconds_to_target; };
  std::vector<Outcome> outcomes;
  for (int64_t batch : {int64_t{1}, int64_t{32}, int64_t{512}, n}) {
    manual_seed(0);
    nn::Sequential model = fashion_mlp(hidden);
    const double lr = std::min(optim::linear_scaled_lr(0.02, 32, batch), 0.5);
    optim::SGD optimizer(model.parameters(), {.lr = lr, .momentum = 0.9});
    const std::string title = batch == n ? "full batch" : fmt::format("batch {}", batch);
    double first_accuracy = evaluate(model, data.test_x, data.test_y).accuracy;
    Series examples_curve{title, {{0.0, first_accuracy}}, "linespoints"};  // x = 0 falls off the log axis
    Series seconds_curve{title, {{0.0, first_accuracy}}, "linespoints"};
    double seconds = 0.0, seconds_to_target = -1.0, examples_to_target = -1.0;
    int64_t updates = 0;
    for (int64_t epoch = 0; epoch < epochs; ++epoch) {
      int64_t next_check = check_every;
      auto start = std::chrono::steady_clock::now();
      train_epoch(model, optimizer, data.train_x, data.train_y, batch, /*seed=*/epoch, [&](int64_t seen) {
        ++updates;
        if (seen < next_check) return;
        next_check = (seen / check_every + 1) * check_every;
        seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        double accuracy = evaluate(model, data.test_x, data.test_y).accuracy;
        double examples = static_cast<double>(epoch * n + seen);
        examples_curve.points.emplace_back(examples, accuracy);
        seconds_curve.points.emplace_back(seconds, accuracy);
        if (accuracy >= kTarget && seconds_to_target < 0) seconds_to_target = seconds, examples_to_target = examples;
        start = std::chrono::steady_clock::now();  // the evaluation is not training time
      });
    }
    double accuracy = examples_curve.points.back().second;
    report.add_row({batch, lr, updates, accuracy, seconds,
                    seconds_to_target < 0 ? Cell("not reached") : Cell(seconds_to_target),
                    examples_to_target < 0 ? Cell("not reached") : Cell(static_cast<int64_t>(examples_to_target))});
    outcomes.push_back({batch, accuracy, seconds, seconds_to_target});
    by_examples.push_back(std::move(examples_curve));
    by_seconds.push_back(std::move(seconds_curve));
  }
  report.plot(context, {.file = "accuracy_by_examples.png", .title = "test accuracy against examples seen",
                        .x_label = "examples seen", .y_label = "test accuracy", .log_x = true, .series = by_examples});
  report.plot(context, {.file = "accuracy_by_seconds.png", .title = "test accuracy against training time",
                        .x_label = "training seconds", .y_label = "test accuracy", .series = by_seconds});

  const Outcome* best = &outcomes[0];
  const Outcome* fastest = nullptr;
  for (const Outcome& o : outcomes) {
    if (o.accuracy > best->accuracy) best = &o;
    bool reached = o.seconds_to_target >= 0;
    if (reached && (fastest == nullptr || o.seconds_to_target < fastest->seconds_to_target)) fastest = &o;
  }
  std::string reach = fastest == nullptr
                          ? fmt::format("no batch size reached {:.0f}%", 100 * kTarget)
                          : fmt::format("batch {} reached {:.0f}% first ({:.1f} s)", fastest->batch, 100 * kTarget,
                                        fastest->seconds_to_target);
  report.conclude(fmt::format(
      "After {} epoch{} batch {} had the best test accuracy ({:.2f}%) and the full batch, with {} updates, {:.2f}%; "
      "{}.",
      epochs, epochs == 1 ? "" : "s", best->batch, 100 * best->accuracy, epochs, 100 * outcomes.back().accuracy,
      reach));
  return report;
}

const Registration kRegistration{{"updates",
                                  "batch 1/32/512/full at equal epochs: accuracy against examples and seconds, "
                                  "time to 85%",
                                  run_updates}};

}  // namespace
}  // namespace descent::lab
