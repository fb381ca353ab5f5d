// Gradient noise: the gradient noise scale B_simple = tr(Sigma) / |G|^2 from two batch sizes,
// smoothed over steps; per-layer gradient signal-to-noise; the update-to-weight ratio per layer.
// All take gradients the user already has (study::gradient, or .grad after backward) and touch
// no model state.
//
// Estimator: McCandlish, Kaplan, Amodei et al., "An empirical model of large-batch training",
// 2018, appendix A. With |G_B|^2 the squared norm of a batch-B mean gradient,
// E|G_B|^2 = |G|^2 + tr(Sigma) / B, so two batch sizes B_small < B_big give unbiased estimates
//   |G|^2     = (B_big |G_big|^2 - B_small |G_small|^2) / (B_big - B_small)
//   tr(Sigma) = (|G_small|^2 - |G_big|^2) / (1 / B_small - 1 / B_big)
// (Sigma: the covariance of one example's gradient). Their ratio is biased, so, as the paper
// does, each is smoothed by an exponential moving average first and B_simple is the ratio of the
// averages. The averages are bias-corrected (divided by 1 - decay^t, as Adam's moments), so the
// first step is not pulled towards zero. Under data parallelism the per-rank gradient is the
// small batch and the averaged one the big batch: one scalar allreduce (dist/, later).
#pragma once

#include <cstdint>
#include <vector>

#include <descent/study/parameters.h>

namespace descent::study {

struct NoiseScaleEstimate {
  double gradient_squared = 0.0;  // |G|^2
  double trace_sigma = 0.0;       // tr(Sigma), per example
  double b_simple = 0.0;          // tr(Sigma) / |G|^2 (NaN when |G|^2 is 0)
};

// The unbiased two-batch estimates from one pair of squared gradient norms.
NoiseScaleEstimate noise_scale(double small_squared_norm, int64_t small_batch, double big_squared_norm,
                               int64_t big_batch);

// The estimates smoothed over steps: update() once per measurement, read the smoothed values.
class NoiseScale {
 public:
  explicit NoiseScale(double decay = 0.99);  // decay in [0, 1): weight of the past

  // Returns the smoothed estimate after adding this measurement.
  NoiseScaleEstimate update(double small_squared_norm, int64_t small_batch, double big_squared_norm,
                            int64_t big_batch);
  NoiseScaleEstimate update(const TensorList& small_gradient, int64_t small_batch, const TensorList& big_gradient,
                            int64_t big_batch);
  NoiseScaleEstimate estimate() const;  // the smoothed values (zeros before the first update)
  int64_t steps() const { return steps_; }
  double decay() const { return decay_; }

 private:
  double decay_;
  double gradient_squared_ = 0.0;  // the raw (not bias-corrected) averages
  double trace_sigma_ = 0.0;
  int64_t steps_ = 0;
};

// Per parameter (layer) i, from gradients of n >= 2 independent batches (samples[s][i]):
// snr_i = |mean_s g_i|^2 / sum_j var_s(g_ij), the squared norm of the mean gradient over the
// summed unbiased variances of its entries: signal over noise of one such batch's gradient.
// Infinite when the samples agree exactly (no noise).
std::vector<double> gradient_snr(const std::vector<TensorList>& samples);

// |w_after - w_before| / |w_before| per parameter: how far one step moved each layer relative to
// its size (a rule of thumb wants ~1e-3). Infinite for a zero w_before that moved, 0 if it did not.
std::vector<double> update_to_weight_ratios(const TensorList& before, const TensorList& after);

}  // namespace descent::study
