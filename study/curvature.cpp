// Power iteration, Lanczos, Hutchinson and epsilon-sharpness (study/curvature.h).
#include <descent/study/curvature.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include <descent/autograd/graph.h>
#include <descent/autograd/ops.h>
#include <descent/study/symmetric_eigen.h>

namespace descent::study {

namespace {

int64_t dimension(const TensorList& params) {
  int64_t total = 0;
  for (const Tensor& p : params) total += p.numel();
  return total;
}

// v <- v - sum_i <v, u_i> u_i over orthonormal u_i, twice (one pass loses orthogonality when v
// is nearly in their span; two are enough, Kahan's "twice is enough").
void orthogonalise_(TensorList& v, const std::vector<TensorList>& basis) {
  for (int pass = 0; pass < 2; ++pass) {
    for (const TensorList& u : basis) axpy_(v, -dot(v, u), u);
  }
}

}  // namespace

Eigenpairs power_iteration(const LossFunction& loss, const TensorList& params, PowerIterationOptions options) {
  const char* op = "study::power_iteration";
  check_parameters(params, op);
  int64_t n = dimension(params);
  check<ValueError>(options.k >= 1 && options.k <= n, "{}: k = {} must be in [1, {}] (the number of parameters)", op,
                    options.k, n);
  check<ValueError>(options.max_iterations >= 1, "{}: max_iterations = {} must be at least 1", op,
                    options.max_iterations);
  Generator generator(options.seed);
  Eigenpairs out;
  for (int64_t found = 0; found < options.k; ++found) {
    TensorList v = randn_like(params, generator);
    orthogonalise_(v, out.eigenvectors);
    normalize_(v);
    double eigenvalue = 0.0;
    double residual = 0.0;
    int64_t iteration = 0;
    while (iteration < options.max_iterations) {
      ++iteration;
      TensorList hv = hvp(loss, params, v);
      orthogonalise_(hv, out.eigenvectors);  // deflation: (I - U U^T) H (I - U U^T)
      double next = dot(v, hv);
      // |H v - lambda v|^2 = |H v|^2 - lambda^2 for unit v.
      double hv_squared = squared_norm(hv);
      residual = std::sqrt(std::max(0.0, hv_squared - next * next));
      bool converged = iteration > 1 && std::abs(next - eigenvalue) <= options.tolerance * std::abs(next);
      eigenvalue = next;
      // Stop with v, the vector whose Rayleigh quotient and residual are reported; |H v| = 0
      // means v is in the null space (eigenvalue 0).
      if (converged || hv_squared == 0.0 || iteration == options.max_iterations) break;
      scale_(hv, 1.0 / std::sqrt(hv_squared));
      v = std::move(hv);
    }
    out.eigenvalues.push_back(eigenvalue);
    out.eigenvectors.push_back(std::move(v));
    out.residuals.push_back(residual);
    out.iterations.push_back(iteration);
  }
  return out;
}

Eigenpairs lanczos(const LossFunction& loss, const TensorList& params, LanczosOptions options) {
  const char* op = "study::lanczos";
  check_parameters(params, op);
  int64_t n = dimension(params);
  check<ValueError>(options.steps >= 1, "{}: steps = {} must be at least 1", op, options.steps);
  int64_t m = std::min(options.steps, n);
  check<ValueError>(options.k >= 1 && options.k <= m, "{}: k = {} must be in [1, {}] (min(steps, parameters))",
                    op, options.k, m);
  Generator generator(options.seed);
  std::vector<TensorList> basis;  // V: orthonormal Lanczos vectors
  std::vector<double> alpha, beta;
  TensorList v = randn_like(params, generator);
  normalize_(v);
  for (int64_t j = 0; j < m; ++j) {
    basis.push_back(v);
    TensorList w = hvp(loss, params, v);
    double a = dot(w, v);
    alpha.push_back(a);
    axpy_(w, -a, v);
    if (j > 0) axpy_(w, -beta.back(), basis[j - 1]);
    orthogonalise_(w, basis);  // full reorthogonalisation
    double b = norm(w);
    beta.push_back(b);
    // Breakdown: the Krylov space is invariant; T_j holds exact eigenvalues of H on it.
    double scale = std::max(std::abs(a), j > 0 ? beta[j - 1] : 0.0);
    if (j + 1 == m || b <= 1e-12 * std::max(scale, 1e-300)) break;
    scale_(w, 1.0 / b);
    v = std::move(w);
  }
  int64_t size = static_cast<int64_t>(alpha.size());
  std::vector<double> t(static_cast<size_t>(size * size), 0.0);
  for (int64_t i = 0; i < size; ++i) {
    t[i * size + i] = alpha[i];
    if (i + 1 < size) t[i * size + i + 1] = t[(i + 1) * size + i] = beta[i];
  }
  SymmetricEigen eigen = symmetric_eigen(t, size);
  std::vector<int64_t> order(static_cast<size_t>(size));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) {
    return std::abs(eigen.eigenvalues[x]) > std::abs(eigen.eigenvalues[y]);
  });
  Eigenpairs out;
  for (int64_t r = 0; r < std::min(options.k, size); ++r) {
    int64_t j = order[r];
    TensorList y = zeros_like(params);
    for (int64_t i = 0; i < size; ++i) axpy_(y, eigen.eigenvectors[i * size + j], basis[i]);
    normalize_(y);
    out.eigenvalues.push_back(eigen.eigenvalues[j]);
    out.eigenvectors.push_back(std::move(y));
    out.residuals.push_back(std::abs(beta.back() * eigen.eigenvectors[(size - 1) * size + j]));
    out.iterations.push_back(size);
  }
  return out;
}

Estimate hutchinson_trace(const LossFunction& loss, const TensorList& params, HutchinsonOptions options) {
  const char* op = "study::hutchinson_trace";
  check_parameters(params, op);
  check<ValueError>(options.probes >= 2, "{}: probes = {} must be at least 2", op, options.probes);
  Generator generator(options.seed);
  // Welford's running mean and sum of squared deviations.
  double mean = 0.0, deviations = 0.0;
  for (int64_t i = 1; i <= options.probes; ++i) {
    TensorList z = rademacher_like(params, generator);
    double sample = dot(z, hvp(loss, params, z));
    double delta = sample - mean;
    mean += delta / static_cast<double>(i);
    deviations += delta * (sample - mean);
  }
  double variance = deviations / static_cast<double>(options.probes - 1);
  return {mean, std::sqrt(variance / static_cast<double>(options.probes)), options.probes};
}

Sharpness epsilon_sharpness(const LossFunction& loss, const TensorList& params, SharpnessOptions options) {
  const char* op = "study::epsilon_sharpness";
  check_parameters(params, op);
  check<ValueError>(options.epsilon > 0.0, "{}: epsilon = {} must be positive", op, options.epsilon);
  check<ValueError>(options.steps >= 0, "{}: steps = {} must be non-negative", op, options.steps);
  check<ValueError>(options.step_size > 0.0, "{}: step_size = {} must be positive", op, options.step_size);
  ParameterSnapshot snapshot(params);
  Generator generator(options.seed);
  TensorList half_width, delta;  // C_i = epsilon (|w_i| + 1) and the offset dw
  {
    autograd::NoGradGuard no_grad;
    for (const Tensor& w : snapshot.values()) {
      Tensor c = (w.abs() + 1.0) * options.epsilon;
      half_width.push_back(c);
      if (options.random_start) {
        delta.push_back((core::rand(w.sizes(), {.dtype = w.dtype()}, &generator) * 2.0 - 1.0) * c);
      } else {
        delta.push_back(zeros(w.sizes(), {.dtype = w.dtype()}));
      }
    }
  }
  Sharpness out;
  out.loss = value_and_gradient(loss, params).value;
  out.max_loss = out.loss;
  for (int64_t step = 0; step <= options.steps; ++step) {
    snapshot.set_offset(delta);
    ValueAndGradient at = value_and_gradient(loss, params);
    out.max_loss = std::max(out.max_loss, at.value);
    if (step == options.steps) break;
    autograd::NoGradGuard no_grad;
    for (size_t i = 0; i < delta.size(); ++i) {
      Tensor moved = delta[i] + sign(at.gradient[i]) * half_width[i] * options.step_size;
      delta[i] = minimum(maximum(moved, -half_width[i]), half_width[i]);
    }
  }
  snapshot.restore();
  out.sharpness = (out.max_loss - out.loss) / (1.0 + out.loss) * 100.0;
  return out;
}

}  // namespace descent::study
