// Problems with known answers shared by the study/ tests: a quadratic 1/2 x^T A x with a chosen
// spectrum (A = Q diag(lambda) Q^T, Q orthogonal from a seeded QR of a Gaussian matrix) and a
// small float64 MLP (Linear, tanh, Linear) with a fixed batch.
#pragma once

#include <cmath>
#include <vector>

#include <descent/descent.h>

namespace descent::testing {

// Q from Gram-Schmidt on the columns of a seeded Gaussian n x n matrix (float64).
inline Tensor random_orthogonal(int64_t n, uint64_t seed) {
  Generator generator(seed);
  std::vector<double> g = core::randn({n, n}, {.dtype = kFloat64}, &generator).to_vector<double>();
  std::vector<double> q(g.size(), 0.0);
  for (int64_t j = 0; j < n; ++j) {
    std::vector<double> column(n);
    for (int64_t i = 0; i < n; ++i) column[i] = g[i * n + j];
    for (int pass = 0; pass < 2; ++pass) {  // twice is enough (Kahan)
      for (int64_t k = 0; k < j; ++k) {
        double projection = 0.0;
        for (int64_t i = 0; i < n; ++i) projection += q[i * n + k] * column[i];
        for (int64_t i = 0; i < n; ++i) column[i] -= projection * q[i * n + k];
      }
    }
    double length = 0.0;
    for (double c : column) length += c * c;
    length = std::sqrt(length);
    for (int64_t i = 0; i < n; ++i) q[i * n + j] = column[i] / length;
  }
  return tensor(q, {n, n}, {.dtype = kFloat64});
}

// f(x) = 1/2 x^T A x with A = Q diag(spectrum) Q^T; x is the one parameter.
struct Quadratic {
  Quadratic(const std::vector<double>& spectrum, uint64_t seed)
      : n(static_cast<int64_t>(spectrum.size())), q(random_orthogonal(n, seed)) {
    Tensor lambda = tensor(spectrum, {n}, {.dtype = kFloat64});
    a = matmul(q * lambda, q.t()).contiguous();  // Q diag(lambda) Q^T
    Generator generator(seed + 1);
    x = core::randn({n}, {.dtype = kFloat64}, &generator);
    x.requires_grad_();
  }
  Tensor loss() const { return dot(x, matmul(a, x)) * 0.5; }
  study::LossFunction loss_function() const {
    return [this] { return loss(); };
  }
  Tensor eigenvector(int64_t i) const { return q.select(1, i).contiguous(); }

  int64_t n;
  Tensor q, a, x;
};

// Linear(4, 6), tanh, Linear(6, 3) in float64 on a fixed batch of 5 with a mean squared error.
struct SmallMlp {
  explicit SmallMlp(uint64_t seed) {
    manual_seed(seed);
    fc1.to(kFloat64);
    fc2.to(kFloat64);
    Generator generator(seed + 7);
    input = core::randn({5, 4}, {.dtype = kFloat64}, &generator);
    target = core::randn({5, 3}, {.dtype = kFloat64}, &generator);
  }
  Tensor loss() { return (fc2(tanh(fc1(input))) - target).square().mean(); }
  study::LossFunction loss_function() {
    return [this] { return loss(); };
  }
  std::vector<Tensor> parameters() const { return {fc1.weight, fc1.bias, fc2.weight, fc2.bias}; }

  nn::Linear fc1{4, 6}, fc2{6, 3};
  Tensor input, target;
};

}  // namespace descent::testing
