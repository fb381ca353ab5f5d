// nn::init: the fills of torch.nn.init. Formulas and papers are cited in nn/init.h; the QR of
// orthogonal_ and the inverse normal CDF of trunc_normal_ are written here in float64.
#include <descent/nn/init.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include <descent/autograd/graph.h>
#include <descent/autograd/ops.h>

namespace descent::nn::init {

namespace {

void check_defined(const Tensor& t, const char* op) {
  check<ValueError>(t.defined(), "{}: the tensor is undefined", op);
}

// Fills t with the float64 values (row-major) under NoGradGuard.
const Tensor& assign(const Tensor& t, const std::vector<double>& values) {
  autograd::NoGradGuard no_grad;
  Tensor(t).copy_(core::tensor(values, t.sizes(), {.dtype = kFloat64}));
  return t;
}

}  // namespace

double calculate_gain(Nonlinearity nonlinearity, std::optional<double> param) {
  switch (nonlinearity) {
    case Nonlinearity::Linear:
    case Nonlinearity::Conv1d:
    case Nonlinearity::Conv2d:
    case Nonlinearity::Conv3d:
    case Nonlinearity::Sigmoid: return 1.0;
    case Nonlinearity::Tanh: return 5.0 / 3.0;
    case Nonlinearity::ReLU: return std::sqrt(2.0);
    case Nonlinearity::LeakyReLU: {
      double slope = param.value_or(0.01);
      check<ValueError>(std::isfinite(slope), "calculate_gain: negative_slope {} not a valid number", slope);
      return std::sqrt(2.0 / (1.0 + slope * slope));
    }
    case Nonlinearity::SELU: return 3.0 / 4.0;
  }
  throw ValueError("calculate_gain: unsupported nonlinearity");
}

std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& t) {
  check_defined(t, "calculate_fan_in_and_fan_out");
  check<ValueError>(t.dim() >= 2,
                    "calculate_fan_in_and_fan_out: fan in and fan out can not be computed for a tensor of "
                    "shape {} with fewer than 2 dimensions",
                    t.sizes());
  int64_t receptive_field = 1;
  for (int d = 2; d < t.dim(); ++d) receptive_field *= t.size(d);
  return {t.size(1) * receptive_field, t.size(0) * receptive_field};
}

const Tensor& uniform_(const Tensor& t, double low, double high, Generator* generator) {
  check_defined(t, "uniform_");
  autograd::NoGradGuard no_grad;
  core::uniform_(t, low, high, generator);
  return t;
}

const Tensor& normal_(const Tensor& t, double mean, double std, Generator* generator) {
  check_defined(t, "normal_");
  autograd::NoGradGuard no_grad;
  core::normal_(t, mean, std, generator);
  return t;
}

const Tensor& constant_(const Tensor& t, double value) {
  check_defined(t, "constant_");
  autograd::NoGradGuard no_grad;
  Tensor(t).fill_(value);
  return t;
}

const Tensor& zeros_(const Tensor& t) { return constant_(t, 0.0); }
const Tensor& ones_(const Tensor& t) { return constant_(t, 1.0); }

const Tensor& eye_(const Tensor& t) {
  check_defined(t, "eye_");
  check<ValueError>(t.dim() == 2, "eye_: only 2-d tensors are supported, got shape {}", t.sizes());
  autograd::NoGradGuard no_grad;
  Tensor(t).copy_(core::eye(t.size(0), t.size(1)));
  return t;
}

const Tensor& xavier_uniform_(const Tensor& t, double gain, Generator* generator) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  double std = gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out));
  double bound = std::sqrt(3.0) * std;  // U(-a, a) has variance a^2 / 3
  return uniform_(t, -bound, bound, generator);
}

const Tensor& xavier_normal_(const Tensor& t, double gain, Generator* generator) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  return normal_(t, 0.0, gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)), generator);
}

namespace {

// gain / sqrt(fan): the standard deviation of both kaiming fills.
double kaiming_std(const Tensor& t, double a, FanMode mode, Nonlinearity nonlinearity) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  int64_t fan = mode == FanMode::FanIn ? fan_in : fan_out;
  return calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(fan));
}

}  // namespace

const Tensor& kaiming_uniform_(const Tensor& t, double a, FanMode mode, Nonlinearity nonlinearity,
                               Generator* generator) {
  check_defined(t, "kaiming_uniform_");
  if (t.numel() == 0) return t;  // PyTorch warns and leaves it: there is no fan to divide by
  double bound = std::sqrt(3.0) * kaiming_std(t, a, mode, nonlinearity);
  return uniform_(t, -bound, bound, generator);
}

const Tensor& kaiming_normal_(const Tensor& t, double a, FanMode mode, Nonlinearity nonlinearity,
                              Generator* generator) {
  check_defined(t, "kaiming_normal_");
  if (t.numel() == 0) return t;
  return normal_(t, 0.0, kaiming_std(t, a, mode, nonlinearity), generator);
}

namespace {

// The thin Q (m x n, row-major, m >= n) of a = QR by Householder reflections (Golub & Van Loan,
// Algorithm 5.2.1), with column j multiplied by sign(R[j][j]) so that R's diagonal is positive.
std::vector<double> orthonormal_columns(std::vector<double> a, int64_t m, int64_t n) {
  auto at = [&](std::vector<double>& matrix, int64_t i, int64_t j) -> double& { return matrix[i * n + j]; };
  std::vector<std::vector<double>> reflectors;  // v_k, of length m - k, unit norm (or zero)
  std::vector<double> diagonal_sign(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) {
    std::vector<double> v(static_cast<size_t>(m - k));
    double norm = 0.0;
    for (int64_t i = k; i < m; ++i) norm += at(a, i, k) * at(a, i, k);
    norm = std::sqrt(norm);
    // H = I - 2 v v^T maps column k below the diagonal to (alpha, 0, ...); alpha takes the sign
    // opposite to a[k][k] so that v = x - alpha e1 does not cancel.
    double alpha = at(a, k, k) > 0 ? -norm : norm;
    for (int64_t i = k; i < m; ++i) v[i - k] = at(a, i, k);
    v[0] -= alpha;
    double v_norm = 0.0;
    for (double x : v) v_norm += x * x;
    v_norm = std::sqrt(v_norm);
    if (v_norm > 0) {
      for (double& x : v) x /= v_norm;
      for (int64_t j = k; j < n; ++j) {  // A[k:, k:] -= 2 v (v^T A[k:, k:])
        double projection = 0.0;
        for (int64_t i = k; i < m; ++i) projection += v[i - k] * at(a, i, j);
        for (int64_t i = k; i < m; ++i) at(a, i, j) -= 2.0 * v[i - k] * projection;
      }
    }
    diagonal_sign[k] = at(a, k, k) < 0 ? -1.0 : 1.0;
    reflectors.push_back(std::move(v));
  }
  // Q = H_0 H_1 ... H_{n-1} I[:, :n], applied from the last reflector to the first.
  std::vector<double> q(static_cast<size_t>(m * n), 0.0);
  for (int64_t j = 0; j < n; ++j) at(q, j, j) = 1.0;
  for (int64_t k = n - 1; k >= 0; --k) {
    const std::vector<double>& v = reflectors[k];
    for (int64_t j = 0; j < n; ++j) {
      double projection = 0.0;
      for (int64_t i = k; i < m; ++i) projection += v[i - k] * at(q, i, j);
      for (int64_t i = k; i < m; ++i) at(q, i, j) -= 2.0 * v[i - k] * projection;
    }
  }
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) at(q, i, j) *= diagonal_sign[j];
  }
  return q;
}

}  // namespace

const Tensor& orthogonal_(const Tensor& t, double gain, Generator* generator) {
  check_defined(t, "orthogonal_");
  check<ValueError>(t.dim() >= 2, "orthogonal_: only tensors with 2 or more dimensions are supported, got shape {}",
                    t.sizes());
  if (t.numel() == 0) return t;
  int64_t rows = t.size(0);
  int64_t cols = t.numel() / rows;
  // Work on the tall orientation (m >= n): the transpose when there are fewer rows than columns.
  bool wide = rows < cols;
  int64_t m = wide ? cols : rows;
  int64_t n = wide ? rows : cols;
  std::vector<double> q = orthonormal_columns(core::randn({m, n}, {.dtype = kFloat64}, generator).to_vector<double>(), m, n);
  std::vector<double> values(static_cast<size_t>(rows * cols));
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) values[i * cols + j] = gain * (wide ? q[j * n + i] : q[i * n + j]);
  }
  return assign(t, values);
}

namespace {

// Phi^-1(p) for 0 < p < 1: Acklam's rational approximation (relative error 1.2e-9), refined by
// one Halley step on Phi(x) = erfc(-x / sqrt 2) / 2, which brings it to full double precision.
double inverse_normal_cdf(double p) {
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                                 1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                 6.680131188771972e+01, -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                 -2.549732539343734e+00, 4.374664141926539e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                 3.754408661907416e+00};
  constexpr double p_low = 0.02425;
  auto tail = [&](double q) {  // the lower tail at q = sqrt(-2 log p)
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  };
  double x;
  if (p < p_low) {
    x = tail(std::sqrt(-2.0 * std::log(p)));
  } else if (p > 1.0 - p_low) {
    x = -tail(std::sqrt(-2.0 * std::log1p(-p)));
  } else {
    double q = p - 0.5;
    double r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
  }
  double error = 0.5 * std::erfc(-x / std::numbers::sqrt2) - p;
  double u = error * std::sqrt(2.0 * std::numbers::pi) * std::exp(x * x / 2.0);
  return x - u / (1.0 + x * u / 2.0);
}

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::numbers::sqrt2); }

}  // namespace

const Tensor& trunc_normal_(const Tensor& t, double mean, double std, double a, double b, Generator* generator) {
  check_defined(t, "trunc_normal_");
  check<ValueError>(std > 0, "trunc_normal_: std must be positive, got {}", std);
  check<ValueError>(a < b, "trunc_normal_: the bounds [{}, {}] are empty", a, b);
  double low = normal_cdf((a - mean) / std);
  double high = normal_cdf((b - mean) / std);
  std::vector<double> values = core::rand(t.sizes(), {.dtype = kFloat64}, generator).to_vector<double>();
  for (double& v : values) {
    double p = low + (high - low) * v;
    // NOTE: p can round to exactly 0 or 1 far in a tail; the clamp keeps the sample in [a, b].
    double x = p <= 0.0 ? a : p >= 1.0 ? b : mean + std * inverse_normal_cdf(p);
    v = std::clamp(x, a, b);
  }
  return assign(t, values);
}

}  // namespace descent::nn::init
