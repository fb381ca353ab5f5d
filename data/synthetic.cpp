// two_spirals, gaussian_blobs, teacher_regression (see data/synthetic.h). Built from graph-free
// core kernels with one Generator per data set.
#include <descent/data/synthetic.h>

#include <numbers>

#include <descent/core/binary.h>
#include <descent/core/factory.h>
#include <descent/core/indexing.h>
#include <descent/core/linalg.h>
#include <descent/core/random.h>
#include <descent/core/unary.h>
#include <descent/core/views.h>

namespace descent::data {

TensorDataset two_spirals(int64_t n_per_class, double noise, uint64_t seed) {
  check<ValueError>(n_per_class >= 1 && noise >= 0.0, "two_spirals: need n_per_class >= 1 and noise >= 0, got {} and {}",
                    n_per_class, noise);
  Generator generator(seed);
  constexpr double kMaxAngle = 4.33 * std::numbers::pi;
  std::vector<double> t = core::rand({n_per_class}, {.dtype = kFloat64}, &generator).to_vector<double>();
  std::vector<double> jitter = core::randn({2 * n_per_class, 2}, {.dtype = kFloat64}, &generator).to_vector<double>();
  std::vector<float> points;
  std::vector<int64_t> labels;
  for (int64_t c = 0; c < 2; ++c) {
    double sign = c == 0 ? 1.0 : -1.0;  // rotation by pi
    for (int64_t i = 0; i < n_per_class; ++i) {
      double theta = std::sqrt(t[static_cast<size_t>(i)]) * kMaxAngle;
      double radius = theta / kMaxAngle;
      size_t row = static_cast<size_t>(c * n_per_class + i);
      points.push_back(static_cast<float>(sign * radius * std::cos(theta) + noise * jitter[2 * row]));
      points.push_back(static_cast<float>(sign * radius * std::sin(theta) + noise * jitter[2 * row + 1]));
      labels.push_back(c);
    }
  }
  return TensorDataset(core::tensor(points, {2 * n_per_class, 2}), core::tensor(labels));
}

TensorDataset gaussian_blobs(int64_t n_per_class, int64_t classes, int64_t dim, double std, double spread, uint64_t seed) {
  check<ValueError>(n_per_class >= 1 && classes >= 1 && dim >= 1 && std >= 0.0,
                    "gaussian_blobs: need n_per_class, classes, dim >= 1 and std >= 0, got {}, {}, {}, {}", n_per_class,
                    classes, dim, std);
  Generator generator(seed);
  Tensor centres = core::rand({classes, dim}, {}, &generator);  // U[0, 1) -> U[-spread, spread)
  centres = core::sub(core::mul(centres, 2.0 * spread), spread);
  Tensor labels = core::arange(classes).unsqueeze(1).expand({classes, n_per_class}).reshape({classes * n_per_class});
  Tensor x = core::add(core::index_select(centres, 0, labels),
                       core::mul(core::randn({classes * n_per_class, dim}, {}, &generator), std));
  return TensorDataset(x, labels.contiguous());
}

TensorDataset teacher_regression(int64_t n, int64_t in_features, int64_t hidden, int64_t out_features, double noise,
                                 uint64_t seed) {
  check<ValueError>(n >= 1 && in_features >= 1 && hidden >= 1 && out_features >= 1 && noise >= 0.0,
                    "teacher_regression: sizes must be >= 1 and noise >= 0, got n {}, in {}, hidden {}, out {}, noise {}",
                    n, in_features, hidden, out_features, noise);
  Generator generator(seed);
  Tensor w1 = core::mul(core::randn({in_features, hidden}, {}, &generator), 1.0 / std::sqrt(double(in_features)));
  Tensor b1 = core::mul(core::randn({hidden}, {}, &generator), 0.1);
  Tensor w2 = core::mul(core::randn({hidden, out_features}, {}, &generator), 1.0 / std::sqrt(double(hidden)));
  Tensor b2 = core::mul(core::randn({out_features}, {}, &generator), 0.1);
  Tensor x = core::randn({n, in_features}, {}, &generator);
  Tensor y = core::add(core::matmul(core::tanh(core::add(core::matmul(x, w1), b1)), w2), b2);
  y = core::add(y, core::mul(core::randn({n, out_features}, {}, &generator), noise));
  return TensorDataset(x, y);
}

}  // namespace descent::data
