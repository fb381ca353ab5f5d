// Curvature of a loss at the current parameters, from Hessian-vector products (study/hvp.h):
// the top Hessian eigenpairs, the Hessian trace and Keskar et al.'s epsilon-sharpness. Each is a
// function a user calls from their own loop; parameters and .grad are left as they were.
// "On a fixed batch or an average over batches": the loss function decides (a closure that sums
// the losses of several batches gives the Hessian of their average). Seeds make every run repeat.
//
// Estimators and papers:
// - power_iteration: the power method on H with deflation (each iterate is projected off the
//   eigenvectors already found), as in PyHessian (Yao et al., "PyHessian: Neural networks through
//   the lens of the Hessian", 2020). Eigenvalue estimate: the Rayleigh quotient v^T H v.
// - lanczos: the Lanczos process (C. Lanczos 1950) with full reorthogonalisation (Golub & Van
//   Loan, section 10.1); eigenvalues of the tridiagonal T_m by cyclic Jacobi
//   (study/symmetric_eigen.h); Ritz vectors V_m s. The residual |H y - theta y| = beta_m |s_m|
//   bounds each Ritz value's error.
// - hutchinson_trace: tr H = E[z^T H z] for Rademacher z (M. F. Hutchinson, "A stochastic
//   estimator of the trace of the influence matrix for Laplacian smoothing splines", 1989; the
//   variance, 2 (|H|_F^2 - sum H_ii^2), is Avron & Toledo, J. ACM 58(2), 2011). Returns the sample
//   mean and its standard error s / sqrt(probes).
// - epsilon_sharpness: Keskar et al., "On large-batch training for deep learning: generalization
//   gap and sharp minima", ICLR 2017, metric (2.1) with A = I: the largest loss in the box
//   |dw_i| <= eps (|w_i| + 1), reported as (max loss - loss) / (1 + loss) x 100. They maximise
//   with L-BFGS-B; here by projected steepest ascent in the box's own (scaled l-infinity) norm:
//   dw <- clamp(dw + step_size C sign(g), -C, C), C_i = eps (|w_i| + 1), from a random point of
//   the box. The maximum over all iterates is returned (a lower bound of the true maximum).
#pragma once

#include <cstdint>
#include <vector>

#include <descent/study/hvp.h>

namespace descent::study {

// Eigenpairs ordered by decreasing |eigenvalue|; each eigenvector has unit norm and one tensor
// per parameter. residuals[i] = |H v_i - lambda_i v_i|.
struct Eigenpairs {
  std::vector<double> eigenvalues;
  std::vector<TensorList> eigenvectors;
  std::vector<double> residuals;
  std::vector<int64_t> iterations;  // Hessian-vector products spent on each (power iteration)
};

struct PowerIterationOptions {
  int64_t k = 1;                  // how many eigenpairs (largest |lambda| first)
  int64_t max_iterations = 100;   // per eigenpair
  double tolerance = 1e-6;        // stop when the Rayleigh quotient changes by less, relatively
  uint64_t seed = 0;              // starting vectors N(0, I) from Generator(seed)
};
Eigenpairs power_iteration(const LossFunction& loss, const TensorList& params, PowerIterationOptions options = {});

struct LanczosOptions {
  int64_t k = 1;       // how many Ritz pairs (largest |theta| first)
  int64_t steps = 30;  // the Krylov dimension m (at most the number of parameters); m HVPs
  uint64_t seed = 0;   // starting vector N(0, I) from Generator(seed)
};
// NOTE: if the Krylov space is invariant before `steps` (beta ~ 0), fewer than k pairs may come
// back: the process stops there, since the start vector has no component outside that space.
Eigenpairs lanczos(const LossFunction& loss, const TensorList& params, LanczosOptions options = {});

// A sample mean and its standard error.
struct Estimate {
  double mean = 0.0;
  double standard_error = 0.0;
  int64_t samples = 0;
};

struct HutchinsonOptions {
  int64_t probes = 100;  // at least 2 (the standard error needs two)
  uint64_t seed = 0;     // Rademacher probes from Generator(seed)
};
Estimate hutchinson_trace(const LossFunction& loss, const TensorList& params, HutchinsonOptions options = {});

struct SharpnessOptions {
  double epsilon = 1e-3;   // the box |dw_i| <= epsilon (|w_i| + 1)
  int64_t steps = 20;      // ascent steps (each one gradient)
  double step_size = 0.1;  // of the box's half-width, per step
  bool random_start = true;  // start at a uniform point of the box (else at dw = 0)
  uint64_t seed = 0;
};
struct Sharpness {
  double loss = 0.0;       // at the parameters
  double max_loss = 0.0;   // the largest loss found in the box
  double sharpness = 0.0;  // (max_loss - loss) / (1 + loss) x 100
};
Sharpness epsilon_sharpness(const LossFunction& loss, const TensorList& params, SharpnessOptions options = {});

}  // namespace descent::study
