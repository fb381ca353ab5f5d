// The gradient noise scale, gradient SNR and update-to-weight ratios (study/noise.h).
#include <descent/study/noise.h>

#include <cmath>
#include <limits>

#include <descent/autograd/graph.h>
#include <descent/autograd/ops.h>

namespace descent::study {

NoiseScaleEstimate noise_scale(double small_squared_norm, int64_t small_batch, double big_squared_norm,
                               int64_t big_batch) {
  check<ValueError>(small_batch >= 1 && big_batch > small_batch,
                    "study::noise_scale: batch sizes {} (small) and {} (big) need 1 <= small < big", small_batch,
                    big_batch);
  check<ValueError>(small_squared_norm >= 0.0 && big_squared_norm >= 0.0,
                    "study::noise_scale: squared norms {} and {} must be non-negative", small_squared_norm,
                    big_squared_norm);
  double b_small = static_cast<double>(small_batch), b_big = static_cast<double>(big_batch);
  NoiseScaleEstimate out;
  out.gradient_squared = (b_big * big_squared_norm - b_small * small_squared_norm) / (b_big - b_small);
  out.trace_sigma = (small_squared_norm - big_squared_norm) / (1.0 / b_small - 1.0 / b_big);
  out.b_simple = out.gradient_squared != 0.0 ? out.trace_sigma / out.gradient_squared
                                             : std::numeric_limits<double>::quiet_NaN();
  return out;
}

NoiseScale::NoiseScale(double decay) : decay_(decay) {
  check<ValueError>(decay >= 0.0 && decay < 1.0, "study::NoiseScale: decay {} must be in [0, 1)", decay);
}

NoiseScaleEstimate NoiseScale::update(double small_squared_norm, int64_t small_batch, double big_squared_norm,
                                      int64_t big_batch) {
  NoiseScaleEstimate now = noise_scale(small_squared_norm, small_batch, big_squared_norm, big_batch);
  gradient_squared_ = decay_ * gradient_squared_ + (1.0 - decay_) * now.gradient_squared;
  trace_sigma_ = decay_ * trace_sigma_ + (1.0 - decay_) * now.trace_sigma;
  ++steps_;
  return estimate();
}

NoiseScaleEstimate NoiseScale::update(const TensorList& small_gradient, int64_t small_batch,
                                      const TensorList& big_gradient, int64_t big_batch) {
  check_like(small_gradient, big_gradient, "study::NoiseScale::update");
  return update(squared_norm(small_gradient), small_batch, squared_norm(big_gradient), big_batch);
}

NoiseScaleEstimate NoiseScale::estimate() const {
  NoiseScaleEstimate out;
  if (steps_ == 0) return out;
  double correction = 1.0 - std::pow(decay_, static_cast<double>(steps_));
  out.gradient_squared = gradient_squared_ / correction;
  out.trace_sigma = trace_sigma_ / correction;
  out.b_simple = out.gradient_squared != 0.0 ? out.trace_sigma / out.gradient_squared
                                             : std::numeric_limits<double>::quiet_NaN();
  return out;
}

std::vector<double> gradient_snr(const std::vector<TensorList>& samples) {
  const char* op = "study::gradient_snr";
  check<ValueError>(samples.size() >= 2, "{}: {} samples; the variance needs at least 2", op, samples.size());
  for (size_t s = 1; s < samples.size(); ++s) check_like(samples[s], samples[0], op);
  autograd::NoGradGuard no_grad;
  double n = static_cast<double>(samples.size());
  std::vector<double> out;
  for (size_t i = 0; i < samples[0].size(); ++i) {
    Tensor mean = zeros(samples[0][i].sizes(), {.dtype = kFloat64});
    for (const TensorList& sample : samples) mean.add_(sample[i].to(kFloat64));
    mean.div_(n);
    double deviations = 0.0;
    for (const TensorList& sample : samples) deviations += (sample[i].to(kFloat64) - mean).square().sum().item<double>();
    double signal = mean.square().sum().item<double>();
    double noise = deviations / (n - 1.0);
    out.push_back(noise > 0.0 ? signal / noise : std::numeric_limits<double>::infinity());
  }
  return out;
}

std::vector<double> update_to_weight_ratios(const TensorList& before, const TensorList& after) {
  check_like(after, before, "study::update_to_weight_ratios");
  autograd::NoGradGuard no_grad;
  std::vector<double> out;
  for (size_t i = 0; i < before.size(); ++i) {
    double step = (after[i].to(kFloat64) - before[i].to(kFloat64)).norm().item<double>();
    double size = before[i].to(kFloat64).norm().item<double>();
    if (size > 0.0) {
      out.push_back(step / size);
    } else {
      out.push_back(step > 0.0 ? std::numeric_limits<double>::infinity() : 0.0);
    }
  }
  return out;
}

}  // namespace descent::study
