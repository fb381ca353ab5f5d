// descent lab sharpness: Keskar et al., "On large-batch training for deep learning: generalization
// gap and sharp minima" (ICLR 2017): large-batch training is said to end in sharper minima that
// generalise worse. The same MLP trains with a small and a large batch to the same training loss;
// then the study/ instruments measure each solution on a fixed batch of training pictures: the top
// Hessian eigenvalue (Lanczos), the trace (Hutchinson), their epsilon-sharpness (metric 2.1), and
// the test-accuracy gap; last, the loss along the line between the two solutions (their figure 3).
#include <string>

#include <descent/descent.h>
#include "lab/experiment.h"
#include "lab/fashion.h"

namespace descent::lab {
namespace {

struct Arm {
  std::string name;
  int64_t batch;
  double lr;
};

struct Solution {
  int64_t epochs = 0;
  bool reached = false;
  Evaluation train, test;
  double lambda_max = 0.0, trace = 0.0, trace_error = 0.0, sharpness = 0.0;
  std::vector<Tensor> weights;  // detached copies
};

Report run_sharpness(const Context& context) {
  const bool smoke = context.smoke;
  const int64_t hidden = smoke ? 16 : 64;
  const double target_loss = smoke ? 1.0 : 0.1;
  const int64_t max_epochs = smoke ? 3 : 200;
  const int64_t measured = smoke ? 256 : 2048;  // the fixed batch the instruments see
  FashionData data = load_fashion(context, smoke ? 1024 : 10000, smoke ? 500 : 0);
  const int64_t n = data.train_x.size(0);
  const std::vector<Arm> arms = {{"small batch", 64, 0.05}, {"large batch", n / 5, 0.2}};

  Report report("sharpness of small- and large-batch solutions");
  report.describe(fmt::format(
      "A 784-{}-10 MLP trains with SGD (momentum 0.9) on {} Fashion-MNIST pictures from the same initial weights, "
      "with batch {} (lr {}) and with batch {} (lr {}), each until its training loss (over all {} pictures, "
      "checked after every epoch) is at most {} or {} epochs have passed. On the first {} training pictures: "
      "lambda_max by Lanczos (20 steps), the Hessian trace by Hutchinson ({} Rademacher probes, with its "
      "standard error), and Keskar et al.'s epsilon-sharpness with epsilon 1e-3 (20 projected sign-ascent steps; "
      "they used L-BFGS-B). The gap is training accuracy minus test accuracy ({} test pictures).",
      hidden, n, arms[0].batch, arms[0].lr, arms[1].batch, arms[1].lr, n, target_loss, max_epochs, measured,
      smoke ? 4 : 30, data.test_x.size(0)));
  report.set_columns({"run", "batch", "epochs", "training loss", "training accuracy", "test accuracy", "gap",
                      "lambda_max", "trace", "trace std. error", "epsilon-sharpness"});

  std::vector<Solution> solutions;
  manual_seed(0);
  nn::Sequential model = fashion_mlp(hidden);
  std::vector<Tensor> params = model.parameters();  // handles: copy_ writes the model's weights
  const study::TensorList initial = study::clone(params);
  Tensor fixed_x = data.train_x.slice(0, 0, measured), fixed_y = data.train_y.slice(0, 0, measured);
  study::LossFunction fixed_batch_loss = [&] { return nn::functional::cross_entropy(model.forward(fixed_x), fixed_y); };
  for (const Arm& arm : arms) {
    {
      autograd::NoGradGuard no_grad;  // the same initial weights for both runs
      for (size_t i = 0; i < params.size(); ++i) params[i].copy_(initial[i]);
    }
    optim::SGD optimizer(params, {.lr = arm.lr, .momentum = 0.9});
    Solution solution;
    while (solution.epochs < max_epochs && !solution.reached) {
      train_epoch(model, optimizer, data.train_x, data.train_y, arm.batch, /*seed=*/solution.epochs);
      ++solution.epochs;
      solution.reached = evaluate(model, data.train_x, data.train_y).loss <= target_loss;
    }
    solution.train = evaluate(model, data.train_x, data.train_y);
    solution.test = evaluate(model, data.test_x, data.test_y);
    solution.lambda_max = study::lanczos(fixed_batch_loss, params, {.k = 1, .steps = 20}).eigenvalues.at(0);
    study::Estimate trace = study::hutchinson_trace(fixed_batch_loss, params, {.probes = smoke ? 4 : 30});
    solution.trace = trace.mean;
    solution.trace_error = trace.standard_error;
    solution.sharpness = study::epsilon_sharpness(fixed_batch_loss, params, {.epsilon = 1e-3}).sharpness;
    solution.weights = study::clone(params);
    report.add_row({arm.name, arm.batch, solution.epochs, solution.train.loss, solution.train.accuracy,
                    solution.test.accuracy, solution.train.accuracy - solution.test.accuracy, solution.lambda_max,
                    solution.trace, solution.trace_error, solution.sharpness});
    solutions.push_back(std::move(solution));
  }
  if (!solutions[0].reached || !solutions[1].reached) {
    report.note(fmt::format("A run stopped at {} epochs above the target loss {}: the two are compared at "
                            "different training losses.", max_epochs, target_loss));
  }

  // The line w_small + alpha (w_large - w_small): training and test loss (Keskar et al.'s figure 3).
  std::vector<double> alphas;
  for (double alpha = -0.5; alpha <= 1.5 + 1e-9; alpha += smoke ? 0.25 : 0.05) alphas.push_back(alpha);
  auto line = [&](const Tensor& x, const Tensor& y) {
    study::LossFunction loss = [&] { return nn::functional::cross_entropy(model.forward(x), y); };
    std::vector<double> values =
        study::loss_along_line(loss, params, solutions[0].weights, solutions[1].weights, alphas);
    std::vector<std::pair<double, double>> points;
    for (size_t i = 0; i < alphas.size(); ++i) points.emplace_back(alphas[i], values[i]);
    return points;
  };
  report.plot(context, {.file = "interpolation.png",
                        .title = "loss on the line from the small-batch (0) to the large-batch (1) solution",
                        .x_label = "alpha", .y_label = "cross-entropy", .log_y = true,
                        .series = {{"training", line(data.train_x, data.train_y), "linespoints"},
                                   {"test", line(data.test_x, data.test_y), "linespoints"}}});

  const Solution& small = solutions[0];
  const Solution& large = solutions[1];
  bool sharper = large.lambda_max > small.lambda_max && large.sharpness > small.sharpness;
  bool worse = large.train.accuracy - large.test.accuracy > small.train.accuracy - small.test.accuracy;
  report.conclude(fmt::format(
      "The large-batch solution had lambda_max {:.3g} against {:.3g}, epsilon-sharpness {:.3g} against {:.3g} and a "
      "generalisation gap of {:.2f} against {:.2f} points, so Keskar et al.'s claim (sharper and a larger gap) "
      "{}.",
      large.lambda_max, small.lambda_max, large.sharpness, small.sharpness,
      100 * (large.train.accuracy - large.test.accuracy), 100 * (small.train.accuracy - small.test.accuracy),
      sharper && worse ? "reproduced here" : sharper ? "held for sharpness but not for the gap"
                                           : worse ? "held for the gap but not for sharpness"
                                                   : "did not reproduce here"));
  return report;
}

const Registration kRegistration{{"sharpness",
                                  "small vs large batch to the same training loss: lambda_max, trace, "
                                  "epsilon-sharpness, test gap, 1-d interpolation",
                                  run_sharpness}};

}  // namespace
}  // namespace descent::lab
