// descent lab accumulation: k micro-batches of b examples, each mean loss divided by k before
// backward (optim::GradientAccumulator), give the gradient of one batch of k b examples, so one
// step of each is the same step. Measured as the largest weight difference after many steps of
// SGD with momentum on Fashion-MNIST, in float64 (where only the order of the sums differs) and
// in float32 (where that rounding is a million times larger).
#include <cmath>
#include <string>

#include <descent/descent.h>
#include "lab/experiment.h"
#include "lab/fashion.h"

namespace descent::lab {
namespace {

constexpr int64_t kBatch = 128;
constexpr int64_t kHidden = 32;

// The largest |a - b| over the parameters (or, with `grads`, their gradients) of two models.
double largest_difference(const nn::Sequential& a, const nn::Sequential& b, bool grads) {
  double largest = 0.0;
  auto pa = a.parameters(), pb = b.parameters();
  for (size_t i = 0; i < pa.size(); ++i) {
    Tensor ta = grads ? pa[i].grad() : pa[i], tb = grads ? pb[i].grad() : pb[i];
    largest = std::max(largest, max(abs(ta.to(kFloat64) - tb.to(kFloat64))).item<double>());
  }
  return largest;
}

double largest_weight(const nn::Sequential& model) {
  double largest = 0.0;
  for (const Tensor& p : model.parameters()) largest = std::max(largest, max(abs(p.to(kFloat64))).item<double>());
  return largest;
}

nn::Sequential same_start(DType dtype) {
  manual_seed(0);  // every model starts from the same weights
  nn::Sequential model = fashion_mlp(kHidden);
  model.to(dtype);
  return model;
}

Report run_accumulation(const Context& context) {
  const int64_t steps = context.smoke ? 10 : 100;
  FashionData data = load_fashion(context, kBatch * steps, 1);
  const optim::SGDOptions sgd{.lr = 0.05, .momentum = 0.9};

  Report report("gradient accumulation: k micro-batches against one batch");
  report.describe(fmt::format(
      "A {}-{}-10 MLP trains for {} steps of SGD (lr {}, momentum {}) on the first {} Fashion-MNIST pictures "
      "in order, {} per step, twice from the same initial weights: once as one batch of {}, once as k "
      "micro-batches of {} / k whose mean losses are divided by k before backward "
      "(`optim::GradientAccumulator`). The table gives the largest difference of the two gradients at the first "
      "step and of the weights at the end, in float64 and float32.",
      784, kHidden, steps, sgd.lr, sgd.momentum, kBatch * steps, kBatch, kBatch, kBatch));
  report.set_columns({"dtype", "micro-batches k", "micro-batch size", "gradient difference (step 1)",
                      "weight difference (end)", "relative to the largest weight"});

  std::vector<Series> curves;
  std::map<std::string, double> worst;  // dtype -> largest final weight difference over k
  for (DType dtype : {kFloat64, DType::Float32}) {
    const std::string dtype_name = dtype == kFloat64 ? "float64" : "float32";
    Tensor x = data.train_x.to(dtype);
    for (int64_t k : {2, 4, 8, 16}) {
      nn::Sequential one_batch = same_start(dtype), accumulated = same_start(dtype);
      optim::SGD one_batch_opt(one_batch.parameters(), sgd), accumulated_opt(accumulated.parameters(), sgd);
      optim::GradientAccumulator accumulate(k);
      const int64_t micro = kBatch / k;
      Series curve{fmt::format("{} k={}", dtype_name, k), {}, "lines"};
      double first_gradient_difference = 0.0;
      for (int64_t step = 0; step < steps; ++step) {
        const int64_t first = step * kBatch;
        one_batch_opt.zero_grad();
        nn::functional::cross_entropy(one_batch.forward(x.slice(0, first, first + kBatch)),
                                      data.train_y.slice(0, first, first + kBatch))
            .backward();
        accumulated_opt.zero_grad();
        for (int64_t m = 0; m < k; ++m) {
          const int64_t begin = first + m * micro;
          accumulate.backward(nn::functional::cross_entropy(accumulated.forward(x.slice(0, begin, begin + micro)),
                                                            data.train_y.slice(0, begin, begin + micro)));
        }
        if (step == 0) first_gradient_difference = largest_difference(one_batch, accumulated, /*grads=*/true);
        one_batch_opt.step();
        accumulated_opt.step();
        curve.points.emplace_back(static_cast<double>(step + 1), largest_difference(one_batch, accumulated, false));
      }
      double final_difference = curve.points.back().second;
      worst[dtype_name] = std::max(worst[dtype_name], final_difference);
      report.add_row({dtype_name, k, micro, first_gradient_difference, final_difference,
                      final_difference / largest_weight(one_batch)});
      curves.push_back(std::move(curve));
    }
  }
  report.plot(context, {.file = "weight_difference.png",
                        .title = fmt::format("k micro-batches against one batch of {}: weight difference", kBatch),
                        .x_label = "step", .y_label = "max |w_accumulated - w_batch|", .log_y = true,
                        .series = curves});
  report.note("Not run here: N ranks of `dist::DataParallel` against one batch of N b (it needs mpirun; a later "
              "item of issue #18).");
  report.conclude(fmt::format(
      "After {} steps k = 2 to 16 micro-batches were within {:.2g} of one batch of {} in float64 (rounding of "
      "another summation order{}), and within {:.2g} in float32.",
      steps, worst["float64"], kBatch, worst["float64"] <= 1e-12 ? ", below 1e-12" : ", above the expected 1e-12",
      worst["float32"]));
  return report;
}

const Registration kRegistration{{"accumulation",
                                  "k micro-batches = one batch of k b: float64 and float32 weight differences "
                                  "after 100 steps",
                                  run_accumulation}};

}  // namespace
}  // namespace descent::lab
