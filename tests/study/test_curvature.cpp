// Curvature instruments on quadratics with a chosen spectrum, where every answer is known:
// the Jacobi eigen-solver, power iteration with deflation and Lanczos (top k to 1e-8),
// Hutchinson's trace (within 3 standard errors; exact for a diagonal Hessian) and
// epsilon-sharpness (the box's corner for a diagonal quadratic). Parameters and .grad unchanged.
#include <algorithm>
#include <numeric>

#include "study_problems.h"
#include "testing.h"

namespace descent::testing {
namespace {

// 20 eigenvalues: a well-separated top (10, 7, 5, 3), one negative, the rest in (0, 1].
std::vector<double> separated_spectrum() {
  std::vector<double> spectrum = {10.0, 7.0, 5.0, 3.0, -0.75};
  for (int i = 1; i <= 15; ++i) spectrum.push_back(i / 15.0);
  return spectrum;
}

double sum(const std::vector<double>& values) { return std::accumulate(values.begin(), values.end(), 0.0); }

// |<v, q>| for a unit eigenvector v with one tensor.
double alignment(const study::TensorList& v, const Tensor& q) { return std::abs(study::dot(v, {q})); }

TEST(StudySymmetricEigen, RecoversAChosenSpectrum) {
  std::vector<double> spectrum = {-2.0, 0.5, 1.0, 1.0, 4.0, 9.0};
  Tensor q = random_orthogonal(6, 2);
  Tensor a = matmul(q * tensor(spectrum, {6}, {.dtype = kFloat64}), q.t()).contiguous();
  study::SymmetricEigen eigen = study::symmetric_eigen(a.to_vector<double>(), 6);
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(eigen.eigenvalues[i], spectrum[i], 1e-13) << "eigenvalue " << i;
  Tensor v = tensor(eigen.eigenvectors, {6, 6}, {.dtype = kFloat64});
  Tensor lambda = tensor(eigen.eigenvalues, {6}, {.dtype = kFloat64});
  EXPECT_TRUE(tensors_close(matmul(a, v), v * lambda, 1e-12, 1e-12));                   // A V = V diag
  EXPECT_TRUE(tensors_close(matmul(v.t(), v), eye(6, {.dtype = kFloat64}), 1e-12, 1e-12));  // V^T V = I
  EXPECT_TRUE(throws_with<ShapeError>([] { study::symmetric_eigen({1.0, 2.0, 3.0}, 2); }, {"symmetric_eigen", "4"}));
}

TEST(StudyCurvature, PowerIterationFindsTopK) {
  std::vector<double> spectrum = separated_spectrum();
  Quadratic f(spectrum, 21);
  study::Eigenpairs top = study::power_iteration(
      f.loss_function(), {f.x}, {.k = 3, .max_iterations = 1000, .tolerance = 1e-13, .seed = 4});
  ASSERT_EQ(top.eigenvalues.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(top.eigenvalues[i], spectrum[i], 1e-8) << "eigenvalue " << i;
    EXPECT_NEAR(alignment(top.eigenvectors[i], f.eigenvector(i)), 1.0, 1e-6) << "eigenvector " << i;
    EXPECT_NEAR(study::norm(top.eigenvectors[i]), 1.0, 1e-12);
    EXPECT_LT(top.residuals[i], 1e-3);
    EXPECT_LT(top.iterations[i], 1000);
  }
}

TEST(StudyCurvature, PowerIterationOrdersByMagnitude) {
  Quadratic f({-6.0, 2.0, 1.0, 0.5}, 8);  // the largest |lambda| is negative
  study::Eigenpairs top = study::power_iteration(f.loss_function(), {f.x},
                                                 {.k = 2, .max_iterations = 500, .tolerance = 1e-14});
  EXPECT_NEAR(top.eigenvalues[0], -6.0, 1e-8);
  EXPECT_NEAR(top.eigenvalues[1], 2.0, 1e-8);
}

TEST(StudyCurvature, LanczosFindsTopKInFewerStepsThanTheDimension) {
  std::vector<double> spectrum = separated_spectrum();
  Quadratic f(spectrum, 22);
  study::Eigenpairs top = study::lanczos(f.loss_function(), {f.x}, {.k = 4, .steps = 14, .seed = 5});
  ASSERT_EQ(top.eigenvalues.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(top.eigenvalues[i], spectrum[i], 1e-8) << "eigenvalue " << i;
    EXPECT_NEAR(alignment(top.eigenvectors[i], f.eigenvector(i)), 1.0, 1e-8) << "eigenvector " << i;
    EXPECT_LT(top.residuals[i], 1e-4) << "residual " << i;
  }
}

TEST(StudyCurvature, FullLanczosGivesTheWholeSpectrumAndTheTrace) {
  std::vector<double> spectrum = separated_spectrum();
  Quadratic f(spectrum, 23);
  int64_t n = f.n;
  study::Eigenpairs all = study::lanczos(f.loss_function(), {f.x}, {.k = n, .steps = 100, .seed = 6});
  ASSERT_EQ(static_cast<int64_t>(all.eigenvalues.size()), n);  // steps capped at the dimension
  std::vector<double> expected = spectrum;
  std::sort(expected.begin(), expected.end(), [](double a, double b) { return std::abs(a) > std::abs(b); });
  for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(all.eigenvalues[i], expected[i], 1e-8) << "eigenvalue " << i;
  EXPECT_NEAR(sum(all.eigenvalues), sum(spectrum), 1e-8);
}

TEST(StudyCurvature, HutchinsonTraceWithinThreeStandardErrors) {
  std::vector<double> spectrum = separated_spectrum();
  Quadratic f(spectrum, 24);
  for (uint64_t seed : {0u, 1u, 2u}) {
    study::Estimate trace = study::hutchinson_trace(f.loss_function(), {f.x}, {.probes = 200, .seed = seed});
    EXPECT_EQ(trace.samples, 200);
    EXPECT_GT(trace.standard_error, 0.0);
    EXPECT_LE(std::abs(trace.mean - sum(spectrum)), 3.0 * trace.standard_error) << "seed " << seed;
    // Avron & Toledo: Var z^T A z = 2 (|A|_F^2 - sum A_ii^2) for Rademacher z.
    std::vector<double> a = f.a.to_vector<double>();
    double frobenius = 0.0, diagonal = 0.0;
    for (double x : a) frobenius += x * x;
    for (int64_t i = 0; i < f.n; ++i) diagonal += a[i * f.n + i] * a[i * f.n + i];
    double expected_error = std::sqrt(2.0 * (frobenius - diagonal) / 200.0);
    EXPECT_NEAR(trace.standard_error, expected_error, 0.3 * expected_error) << "seed " << seed;
  }
}

// f(x) = 1/2 sum lambda_i x_i^2: diagonal Hessian.
struct DiagonalQuadratic {
  DiagonalQuadratic(std::vector<double> spectrum, std::vector<double> at)
      : lambda(tensor(spectrum, {static_cast<int64_t>(spectrum.size())}, {.dtype = kFloat64})),
        x(tensor(at, {static_cast<int64_t>(at.size())}, {.dtype = kFloat64, .requires_grad = true})) {}
  study::LossFunction loss_function() const {
    return [this] { return (lambda * x.square()).sum() * 0.5; };
  }
  Tensor lambda, x;
};

TEST(StudyCurvature, HutchinsonIsExactForADiagonalHessian) {
  DiagonalQuadratic f({3.0, 1.0, 0.25, 2.0}, {0.0, 1.0, 2.0, 3.0});
  study::Estimate trace = study::hutchinson_trace(f.loss_function(), {f.x}, {.probes = 5});
  EXPECT_NEAR(trace.mean, 6.25, 1e-14);
  EXPECT_NEAR(trace.standard_error, 0.0, 1e-14);
}

TEST(StudyCurvature, SharpnessReachesTheBoxCorner) {
  // At x with every |x_i| >= 0.5, the maximum of 1/2 sum lambda_i (x_i + d_i)^2 over
  // |d_i| <= eps (|x_i| + 1) is at d_i = sign(x_i) eps (|x_i| + 1).
  std::vector<double> spectrum = {3.0, 1.0, 0.25, 2.0}, at = {0.5, -1.0, 2.0, -3.0};
  DiagonalQuadratic f(spectrum, at);
  double epsilon = 0.01, loss = 0.0, max_loss = 0.0;
  for (size_t i = 0; i < at.size(); ++i) {
    double corner = at[i] + (at[i] > 0 ? 1.0 : -1.0) * epsilon * (std::abs(at[i]) + 1.0);
    loss += 0.5 * spectrum[i] * at[i] * at[i];
    max_loss += 0.5 * spectrum[i] * corner * corner;
  }
  study::Sharpness sharp = study::epsilon_sharpness(f.loss_function(), {f.x}, {.epsilon = epsilon, .steps = 25});
  EXPECT_NEAR(sharp.loss, loss, 1e-13);
  EXPECT_NEAR(sharp.max_loss, max_loss, 1e-12);
  EXPECT_NEAR(sharp.sharpness, (max_loss - loss) / (1.0 + loss) * 100.0, 1e-10);
  // At the minimum x = 0 the gradient vanishes: only the random start gets the ascent going.
  DiagonalQuadratic at_minimum(spectrum, {0.0, 0.0, 0.0, 0.0});
  study::Sharpness flat = study::epsilon_sharpness(at_minimum.loss_function(), {at_minimum.x},
                                                   {.epsilon = epsilon, .steps = 25});
  EXPECT_NEAR(flat.max_loss, 0.5 * epsilon * epsilon * sum(spectrum), 1e-15);
  EXPECT_NEAR(flat.sharpness, 50.0 * epsilon * epsilon * sum(spectrum), 1e-12);
}

TEST(StudyCurvature, InstrumentsLeaveParametersAndGradsUnchanged) {
  SmallMlp mlp(3);
  std::vector<Tensor> params = mlp.parameters();
  study::TensorList before = study::clone(params);
  Tensor grad = full(params[1].sizes(), 0.5, {.dtype = kFloat64});
  params[1].set_grad(grad);
  study::power_iteration(mlp.loss_function(), params, {.k = 2, .max_iterations = 5});
  study::lanczos(mlp.loss_function(), params, {.k = 2, .steps = 5});
  study::hutchinson_trace(mlp.loss_function(), params, {.probes = 3});
  study::Sharpness sharp = study::epsilon_sharpness(mlp.loss_function(), params, {.epsilon = 0.05, .steps = 5});
  EXPECT_GT(sharp.max_loss, sharp.loss);  // the ascent moved the weights and found a higher loss
  for (size_t i = 0; i < params.size(); ++i) {
    EXPECT_TRUE(tensors_close(params[i], before[i], 0.0, 0.0)) << "parameter " << i;
    if (i != 1) {
      EXPECT_FALSE(params[i].grad().defined()) << "parameter " << i;
    }
  }
  EXPECT_TRUE(params[1].grad().is_same(grad));
  EXPECT_TRUE(tensors_close(mlp.loss(), mlp.loss(), 0.0, 0.0));
  EXPECT_NEAR(mlp.loss().item<double>(), sharp.loss, 1e-15);
}

TEST(StudyCurvature, BadOptionsAreErrors) {
  Quadratic f({2.0, 1.0}, 4);
  EXPECT_TRUE(throws_with<ValueError>([&] { study::power_iteration(f.loss_function(), {f.x}, {.k = 3}); },
                                      {"study::power_iteration", "k = 3", "[1, 2]"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { study::lanczos(f.loss_function(), {f.x}, {.k = 1, .steps = 0}); },
                                      {"study::lanczos", "steps = 0"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { study::hutchinson_trace(f.loss_function(), {f.x}, {.probes = 1}); },
                                      {"study::hutchinson_trace", "probes = 1"}));
  EXPECT_TRUE(throws_with<ValueError>(
      [&] { study::epsilon_sharpness(f.loss_function(), {f.x}, {.epsilon = -1.0}); }, {"epsilon = -1"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { study::power_iteration(f.loss_function(), {}); }, {"parameter list is empty"}));
}

}  // namespace
}  // namespace descent::testing
