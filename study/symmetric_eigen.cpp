// Cyclic Jacobi for small symmetric matrices (study/symmetric_eigen.h).
#include <descent/study/symmetric_eigen.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include <descent/core/error.h>

namespace descent::study {

SymmetricEigen symmetric_eigen(const std::vector<double>& matrix, int64_t n) {
  check<ValueError>(n >= 0, "symmetric_eigen: the size must be non-negative, not {}", n);
  check<ShapeError>(static_cast<int64_t>(matrix.size()) == n * n,
                    "symmetric_eigen: a {} x {} matrix needs {} entries, not {}", n, n, n * n, matrix.size());
  std::vector<double> a(matrix.size());
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) a[i * n + j] = matrix[std::min(i, j) * n + std::max(i, j)];
  }
  std::vector<double> v(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i) v[i * n + i] = 1.0;
  double total = 0.0;
  for (double x : a) total += x * x;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0.0;
    for (int64_t p = 0; p < n; ++p) {
      for (int64_t q = p + 1; q < n; ++q) off += 2.0 * a[p * n + q] * a[p * n + q];
    }
    if (off <= 1e-30 * total || off == 0.0) break;
    for (int64_t p = 0; p < n; ++p) {
      for (int64_t q = p + 1; q < n; ++q) {
        double apq = a[p * n + q];
        if (apq == 0.0) continue;
        // The rotation (c, s) with tan(2 theta) = 2 a_pq / (a_qq - a_pp), the smaller root for t.
        double theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
        double t = (theta >= 0.0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1.0));
        double c = 1.0 / std::sqrt(t * t + 1.0);
        double s = t * c;
        for (int64_t k = 0; k < n; ++k) {  // columns p and q: A <- A J
          double akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (int64_t k = 0; k < n; ++k) {  // rows p and q: A <- J^T A
          double apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (int64_t k = 0; k < n; ++k) {  // V <- V J
          double vkp = v[k * n + p], vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return a[x * n + x] < a[y * n + y]; });
  SymmetricEigen out;
  out.eigenvalues.resize(static_cast<size_t>(n));
  out.eigenvectors.resize(static_cast<size_t>(n * n));
  for (int64_t j = 0; j < n; ++j) {
    out.eigenvalues[j] = a[order[j] * n + order[j]];
    for (int64_t i = 0; i < n; ++i) out.eigenvectors[i * n + j] = v[i * n + order[j]];
  }
  return out;
}

}  // namespace descent::study
