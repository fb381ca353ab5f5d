// The gradient noise scale (McCandlish et al. 2018) on linear regression with Gaussian inputs
// and noise, where |G|^2 and tr(Sigma) are known in closed form; the EMA class; gradient SNR and
// update-to-weight ratios on constructed gradients.
#include <cmath>
#include <limits>

#include "testing.h"

namespace descent::testing {
namespace {

// y = x^T w* + sigma e with x ~ N(0, I_d), e ~ N(0, 1); loss = mean 1/2 (x^T w - y)^2 at
// w = w* + u. One example's gradient g = x (x^T u - sigma e) has mean G = u and covariance
// Sigma = (|u|^2 + sigma^2) I + u u^T (Gaussian fourth moments), so
//   |G|^2 = |u|^2,   tr(Sigma) = d (|u|^2 + sigma^2) + |u|^2.
struct Regression {
  Regression(int64_t d, double sigma, uint64_t seed) : d(d), sigma(sigma), generator(seed) {
    w_star = core::randn({d, 1}, {.dtype = kFloat64}, &generator);
    Tensor u = core::randn({d, 1}, {.dtype = kFloat64}, &generator);
    u = u / u.norm().item<double>();  // |u| = 1
    w = (w_star + u).detach();
    w.requires_grad_();
  }
  // Gradients of the mean loss on the first `small` and on all `big` examples of one draw (the
  // small batch inside the big one, as a rank's batch inside the global batch).
  std::pair<study::TensorList, study::TensorList> draw(int64_t small, int64_t big) {
    Tensor x = core::randn({big, d}, {.dtype = kFloat64}, &generator);
    Tensor y = matmul(x, w_star) + core::randn({big, 1}, {.dtype = kFloat64}, &generator) * sigma;
    auto loss_on = [&](int64_t b) {
      return [&, b] { return (matmul(x.narrow(0, 0, b), w) - y.narrow(0, 0, b)).square().mean() * 0.5; };
    };
    return {study::gradient(loss_on(small), {w}), study::gradient(loss_on(big), {w})};
  }
  double gradient_squared() const { return 1.0; }
  double trace_sigma() const { return static_cast<double>(d) * (1.0 + sigma * sigma) + 1.0; }

  int64_t d;
  double sigma;
  Generator generator;
  Tensor w_star, w;
};

TEST(StudyNoise, TwoBatchEstimatorIsExactOnItsModel) {
  // If |G_B|^2 = |G|^2 + tr(Sigma) / B exactly, the estimator returns both exactly.
  double g2 = 0.7, trace = 13.0;
  study::NoiseScaleEstimate e = study::noise_scale(g2 + trace / 8.0, 8, g2 + trace / 512.0, 512);
  EXPECT_NEAR(e.gradient_squared, g2, 1e-13);
  EXPECT_NEAR(e.trace_sigma, trace, 1e-11);
  EXPECT_NEAR(e.b_simple, trace / g2, 1e-10);
  EXPECT_TRUE(throws_with<ValueError>([] { study::noise_scale(1.0, 16, 1.0, 16); }, {"study::noise_scale", "16"}));
  EXPECT_TRUE(throws_with<ValueError>([] { study::noise_scale(-1.0, 1, 1.0, 2); }, {"non-negative"}));
}

TEST(StudyNoise, LinearRegressionMatchesTheClosedForm) {
  Regression problem(100, 1.0, 3);
  const int64_t small = 16, big = 256, draws = 1000;
  double g2 = 0.0, trace = 0.0;
  study::NoiseScale smoothed(0.999);
  for (int64_t i = 0; i < draws; ++i) {
    auto [g_small, g_big] = problem.draw(small, big);
    study::NoiseScaleEstimate e =
        study::noise_scale(study::squared_norm(g_small), small, study::squared_norm(g_big), big);
    g2 += e.gradient_squared / draws;
    trace += e.trace_sigma / draws;
    smoothed.update(g_small, small, g_big, big);
  }
  EXPECT_NEAR(g2, problem.gradient_squared(), 0.05 * problem.gradient_squared());
  EXPECT_NEAR(trace, problem.trace_sigma(), 0.05 * problem.trace_sigma());
  double b_simple = problem.trace_sigma() / problem.gradient_squared();
  EXPECT_EQ(smoothed.steps(), draws);
  EXPECT_NEAR(smoothed.estimate().b_simple, b_simple, 0.05 * b_simple);
}

TEST(StudyNoise, MovingAverageIsBiasCorrected) {
  study::NoiseScale scale(0.9);
  EXPECT_EQ(scale.estimate().gradient_squared, 0.0);
  // The same measurement every step: the bias-corrected average is that measurement from step 1.
  for (int step = 1; step <= 3; ++step) {
    study::NoiseScaleEstimate e = scale.update(2.0 + 10.0 / 4.0, 4, 2.0 + 10.0 / 64.0, 64);
    EXPECT_NEAR(e.gradient_squared, 2.0, 1e-12) << "step " << step;
    EXPECT_NEAR(e.trace_sigma, 10.0, 1e-12) << "step " << step;
    EXPECT_NEAR(e.b_simple, 5.0, 1e-12) << "step " << step;
  }
  // Two different measurements a, b: (0.9 * 0.1 a + 0.1 b) / (1 - 0.81).
  study::NoiseScale two(0.9);
  two.update(1.0 + 1.0 / 1.0, 1, 1.0 + 1.0 / 2.0, 2);  // |G|^2 = 1, tr = 1
  study::NoiseScaleEstimate e = two.update(3.0 + 5.0 / 1.0, 1, 3.0 + 5.0 / 2.0, 2);  // |G|^2 = 3, tr = 5
  EXPECT_NEAR(e.gradient_squared, (0.09 * 1.0 + 0.1 * 3.0) / 0.19, 1e-12);
  EXPECT_NEAR(e.trace_sigma, (0.09 * 1.0 + 0.1 * 5.0) / 0.19, 1e-12);
  EXPECT_TRUE(throws_with<ValueError>([] { study::NoiseScale bad(1.0); }, {"decay 1"}));
}

TEST(StudyNoise, GradientSnrPerLayer) {
  // Layer 0: mean (3, 4) with noise +-1 in each entry; layer 1: identical in every sample.
  std::vector<study::TensorList> samples;
  for (double s : {1.0, -1.0, 1.0, -1.0}) {
    samples.push_back({tensor({3.0 + s, 4.0 - s}, {.dtype = kFloat64}), tensor({2.0}, {.dtype = kFloat64})});
  }
  std::vector<double> snr = study::gradient_snr(samples);
  ASSERT_EQ(snr.size(), 2u);
  // Each entry's unbiased variance is 4 / 3; |mean|^2 = 25.
  EXPECT_NEAR(snr[0], 25.0 / (2.0 * 4.0 / 3.0), 1e-12);
  EXPECT_EQ(snr[1], std::numeric_limits<double>::infinity());
  EXPECT_TRUE(throws_with<ValueError>([&] { study::gradient_snr({samples[0]}); }, {"study::gradient_snr", "1 samples"}));
}

TEST(StudyNoise, UpdateToWeightRatios) {
  study::TensorList before = {tensor({3.0, 4.0}, {.dtype = kFloat64}), zeros({2}, {.dtype = kFloat64}),
                              zeros({1}, {.dtype = kFloat64})};
  study::TensorList after = {tensor({3.0, 4.5}, {.dtype = kFloat64}), tensor({1.0, 0.0}, {.dtype = kFloat64}),
                             zeros({1}, {.dtype = kFloat64})};
  std::vector<double> ratios = study::update_to_weight_ratios(before, after);
  ASSERT_EQ(ratios.size(), 3u);
  EXPECT_NEAR(ratios[0], 0.1, 1e-15);
  EXPECT_EQ(ratios[1], std::numeric_limits<double>::infinity());
  EXPECT_EQ(ratios[2], 0.0);
  EXPECT_TRUE(throws_with<ShapeError>([&] { study::update_to_weight_ratios(before, {after[0]}); },
                                      {"study::update_to_weight_ratios"}));
}

}  // namespace
}  // namespace descent::testing
