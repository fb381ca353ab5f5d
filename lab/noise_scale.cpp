// descent lab noise-scale: McCandlish, Kaplan, Amodei et al., "An empirical model of large-batch
// training" (2018). The simple noise scale B_simple = tr(Sigma) / |G|^2 (study/noise.h, their
// appendix A estimator) is measured while an MLP trains; then a sweep of batch sizes measures
// the steps S and examples E each needs to reach a target loss, and their equation 2.11,
// S_min / S + E_min / E = 1, fitted by least squares, gives the critical batch B_crit = E_min /
// S_min. Their prediction: B_crit ~ B_noise, of which B_simple is the cheap estimate.
#include <cmath>
#include <string>

#include <descent/descent.h>
#include "lab/experiment.h"
#include "lab/fashion.h"

namespace descent::lab {
namespace {

constexpr int64_t kSmallBatch = 32, kBigBatch = 1024;

// The mean cross-entropy gradient over `count` training pictures drawn from `generator`.
study::TensorList batch_gradient(nn::Sequential& model, const std::vector<Tensor>& params, const FashionData& data,
                                 int64_t count, Generator& generator) {
  Tensor picked = randint(0, data.train_x.size(0), {count}, {}, &generator);
  Tensor x = index_select(data.train_x, 0, picked), y = index_select(data.train_y, 0, picked);
  return study::gradient([&] { return nn::functional::cross_entropy(model.forward(x), y); }, params);
}

Report run_noise_scale(const Context& context) {
  const bool smoke = context.smoke;
  const int64_t hidden = smoke ? 16 : 128;
  const double target_loss = smoke ? 1.5 : 0.55;
  FashionData data = load_fashion(context, smoke ? 2048 : 0, smoke ? 500 : 1000);
  const std::vector<int64_t> batches = smoke ? std::vector<int64_t>{16, 64, 256}
                                             : std::vector<int64_t>{16, 64, 256, 1024, 4096};
  const int64_t max_examples = (smoke ? 3 : 4) * data.train_x.size(0);
  auto lr_for = [](int64_t batch) { return std::min(optim::linear_scaled_lr(0.005, 16, batch), 0.5); };

  Report report("the gradient noise scale against the critical batch size");
  report.describe(fmt::format(
      "A 784-{}-10 MLP (SGD, momentum 0.9; the lr linear in the batch from 0.005 at batch 16, capped at 0.5) "
      "trains on {} Fashion-MNIST pictures. (1) With batch 64, every 20 steps, B_simple from a batch-{} and a "
      "batch-{} gradient of fresh random pictures, smoothed by `study::NoiseScale` (decay 0.9). (2) For each batch "
      "in the sweep, from the same initial weights, the steps until the loss on {} test pictures (checked every "
      "512 examples) is at most {} (at most {} examples); S_min and E_min from a least-squares fit of "
      "S_min / S + E_min / E = 1 over the batches that reached it.",
      hidden, data.train_x.size(0), kSmallBatch, kBigBatch, data.test_x.size(0), target_loss, max_examples));
  report.set_columns({"quantity", "batch", "value"});

  // (1) B_simple over training, and its value when the loss first reached the target.
  manual_seed(0);
  nn::Sequential model = fashion_mlp(hidden);
  std::vector<Tensor> params = model.parameters();  // handles: copy_ writes the model's weights
  const study::TensorList initial = study::clone(params);
  Series b_simple_curve{"B_simple (smoothed)", {}, "linespoints"};
  double b_simple_at_target = NAN;
  {
    optim::SGD optimizer(params, {.lr = lr_for(64), .momentum = 0.9});
    study::NoiseScale noise(0.9);
    Generator generator(1);
    int64_t step = 0;
    for (int64_t epoch = 0; epoch < (smoke ? 1 : 2); ++epoch) {
      train_epoch(model, optimizer, data.train_x, data.train_y, 64, /*seed=*/epoch, [&](int64_t) {
        if (++step % 20 != 0) return;
        study::NoiseScaleEstimate estimate =
            noise.update(batch_gradient(model, params, data, kSmallBatch, generator), kSmallBatch,
                         batch_gradient(model, params, data, kBigBatch, generator), kBigBatch);
        b_simple_curve.points.emplace_back(static_cast<double>(step), estimate.b_simple);
        if (std::isnan(b_simple_at_target) && evaluate(model, data.test_x, data.test_y).loss <= target_loss) {
          b_simple_at_target = estimate.b_simple;
        }
      });
    }
  }

  // (2) Steps and examples to the target loss per batch size.
  std::vector<std::pair<double, double>> reached;  // (S, E)
  Series tradeoff{"measured", {}, "linespoints"};
  for (int64_t batch : batches) {
    {
      autograd::NoGradGuard no_grad;
      for (size_t i = 0; i < params.size(); ++i) params[i].copy_(initial[i]);
    }
    optim::SGD optimizer(params, {.lr = lr_for(batch), .momentum = 0.9});
    // The target is checked every 512 examples (each step for batches of 512 or more), so the steps
    // are an upper bound by less than one check interval.
    const int64_t check_every = std::max<int64_t>(1, 512 / batch);
    int64_t steps = 0;
    bool done = false;
    for (int64_t epoch = 0; !done && (epoch * data.train_x.size(0)) < max_examples; ++epoch) {
      // NOTE: one epoch runs to its end once the target is met; only the first step counts.
      train_epoch(model, optimizer, data.train_x, data.train_y, batch, /*seed=*/epoch, [&](int64_t) {
        if (done) return;
        if (++steps % check_every == 0) done = evaluate(model, data.test_x, data.test_y).loss <= target_loss;
      });
    }
    report.add_row({"steps to target", batch, done ? Cell(steps) : Cell("not reached")});
    report.add_row({"examples to target", batch, done ? Cell(steps * batch) : Cell("not reached")});
    if (done) {
      reached.emplace_back(static_cast<double>(steps), static_cast<double>(steps * batch));
      tradeoff.points.emplace_back(static_cast<double>(steps * batch), static_cast<double>(steps));
    }
  }

  // Least squares of a / S + b / E = 1 over the reached points: the 2 x 2 normal equations.
  double s_min = NAN, e_min = NAN;
  if (reached.size() >= 2) {
    double uu = 0, uv = 0, vv = 0, u1 = 0, v1 = 0;
    for (auto [s, e] : reached) {
      double u = 1 / s, v = 1 / e;
      uu += u * u, uv += u * v, vv += v * v, u1 += u, v1 += v;
    }
    double det = uu * vv - uv * uv;
    s_min = (u1 * vv - v1 * uv) / det;
    e_min = (v1 * uu - u1 * uv) / det;
  }
  const double b_crit = e_min / s_min;
  auto number_or_dash = [](double value) { return std::isfinite(value) ? Cell(value) : Cell("-"); };
  report.add_row({"S_min (fit)", "-", number_or_dash(s_min)});
  report.add_row({"E_min (fit)", "-", number_or_dash(e_min)});
  report.add_row({"B_crit = E_min / S_min", "-", number_or_dash(b_crit)});
  report.add_row({"B_simple at the target loss", "-", number_or_dash(b_simple_at_target)});

  report.plot(context, {.file = "b_simple.png", .title = "B_simple while training (batch 64)",
                        .x_label = "step", .y_label = "B_simple", .log_y = true, .series = {b_simple_curve}});
  std::vector<Series> tradeoff_series = {tradeoff};
  if (std::isfinite(s_min) && std::isfinite(e_min) && s_min > 0 && e_min > 0) {
    Series fit{"fit: (S / S_min - 1)(E / E_min - 1) = 1", {}, "lines"};
    for (double e = e_min * 1.05; e < e_min * 100; e *= 1.1) fit.points.emplace_back(e, s_min / (1 - e_min / e));
    tradeoff_series.push_back(std::move(fit));
  }
  report.plot(context, {.file = "steps_examples.png", .title = "steps against examples to the target loss",
                        .x_label = "examples", .y_label = "steps", .log_x = true, .log_y = true,
                        .series = tradeoff_series});

  if (!std::isfinite(b_crit) || b_crit <= 0 || !std::isfinite(b_simple_at_target)) {
    report.conclude(fmt::format("The sweep or the noise scale gave no usable value here (B_crit {:.3g}, B_simple at "
                                "the target {:.3g}), so the prediction could not be tested.",
                                b_crit, b_simple_at_target));
  } else {
    double ratio = b_crit / b_simple_at_target;
    report.conclude(fmt::format(
        "The sweep's critical batch was {:.3g} and B_simple at the target loss {:.3g} (ratio {:.2g}), so "
        "McCandlish et al.'s prediction B_crit ~ B_simple {} within a factor of 10.",
        b_crit, b_simple_at_target, ratio, ratio > 0.1 && ratio < 10 ? "held" : "failed"));
  }
  return report;
}

const Registration kRegistration{{"noise-scale",
                                  "B_simple over training against the critical batch of a batch-size sweep "
                                  "(McCandlish et al. 2018)",
                                  run_noise_scale}};

}  // namespace
}  // namespace descent::lab
