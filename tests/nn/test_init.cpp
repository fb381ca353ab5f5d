// nn::init (nn/init.cpp): the gains, fans and errors of torch.nn.init, and the statistics of each
// random fill. Tolerances come from the sample size: a sample mean is within 5 standard errors
// (sigma / sqrt(n)) and a sample variance within 5 sqrt(2 / n) sigma^2 (the standard error of the
// variance of a normal sample; the uniform and truncated normal have lighter tails, so less).
#include <cmath>
#include <numbers>
#include <vector>

#include "testing.h"

namespace descent {
namespace {

using nn::init::FanMode;
using nn::init::Nonlinearity;
using testing::tensors_close;
using testing::throws_with;

struct Moments {
  double mean, variance, min, max;
};

Moments moments(const Tensor& t) {
  std::vector<double> v = t.to_vector<double>();
  double sum = 0, min = INFINITY, max = -INFINITY;
  for (double x : v) {
    sum += x;
    min = std::min(min, x);
    max = std::max(max, x);
  }
  double mean = sum / static_cast<double>(v.size());
  double squares = 0;
  for (double x : v) squares += (x - mean) * (x - mean);
  return {mean, squares / static_cast<double>(v.size() - 1), min, max};
}

// The sample's mean and variance agree with the distribution's within 5 standard errors.
void expect_moments(const Tensor& t, double mean, double variance) {
  Moments m = moments(t);
  double n = static_cast<double>(t.numel());
  EXPECT_NEAR(m.mean, mean, 5.0 * std::sqrt(variance / n));
  EXPECT_NEAR(m.variance, variance, 5.0 * std::sqrt(2.0 / n) * variance);
}

TEST(Init, CalculateGain) {
  using nn::init::calculate_gain;
  EXPECT_EQ(calculate_gain(Nonlinearity::Linear), 1.0);
  EXPECT_EQ(calculate_gain(Nonlinearity::Conv2d), 1.0);
  EXPECT_EQ(calculate_gain(Nonlinearity::Sigmoid), 1.0);
  EXPECT_DOUBLE_EQ(calculate_gain(Nonlinearity::Tanh), 5.0 / 3.0);
  EXPECT_DOUBLE_EQ(calculate_gain(Nonlinearity::ReLU), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(calculate_gain(Nonlinearity::LeakyReLU), std::sqrt(2.0 / (1.0 + 0.01 * 0.01)));
  EXPECT_DOUBLE_EQ(calculate_gain(Nonlinearity::LeakyReLU, std::sqrt(5.0)), std::sqrt(1.0 / 3.0));
  EXPECT_EQ(calculate_gain(Nonlinearity::SELU), 0.75);
  EXPECT_TRUE(throws_with<ValueError>([] { calculate_gain(Nonlinearity::LeakyReLU, NAN); },
                                      {"negative_slope nan not a valid number"}));
}

TEST(Init, FansOfLinearAndConvWeights) {
  using nn::init::calculate_fan_in_and_fan_out;
  EXPECT_EQ(calculate_fan_in_and_fan_out(empty({8, 4})), std::make_pair(int64_t{4}, int64_t{8}));
  EXPECT_EQ(calculate_fan_in_and_fan_out(empty({64, 32, 3, 3})), std::make_pair(int64_t{288}, int64_t{576}));
  EXPECT_TRUE(throws_with<ValueError>([] { calculate_fan_in_and_fan_out(empty({5})); },
                                      {"fewer than 2 dimensions", "[5]"}));
  EXPECT_TRUE(throws_with<ValueError>([] { nn::init::xavier_uniform_(empty({5})); }, {"fewer than 2 dimensions"}));
  EXPECT_TRUE(throws_with<ValueError>([] { nn::init::kaiming_normal_(empty({5})); }, {"fewer than 2 dimensions"}));
}

TEST(Init, ConstantFills) {
  Tensor t = empty({2, 3}, {.requires_grad = true});  // a parameter: filled under NoGradGuard
  nn::init::constant_(t, 2.5);
  EXPECT_TRUE(tensors_close(t, full({2, 3}, 2.5), 0, 0));
  EXPECT_TRUE(t.requires_grad());
  EXPECT_EQ(t.grad_fn(), nullptr);
  nn::init::zeros_(t);
  EXPECT_TRUE(tensors_close(t, zeros({2, 3}), 0, 0));
  nn::init::ones_(t);
  EXPECT_TRUE(tensors_close(t, ones({2, 3}), 0, 0));
  nn::init::eye_(t);
  EXPECT_TRUE(tensors_close(t, tensor({1.0, 0.0, 0.0, 0.0, 1.0, 0.0}, {2, 3}), 0, 0));
  EXPECT_TRUE(throws_with<ValueError>([] { nn::init::eye_(empty({2, 2, 2})); },
                                      {"eye_: only 2-d tensors are supported", "[2, 2, 2]"}));
  // Through a view: the strides are respected.
  Tensor base = zeros({4, 4});
  nn::init::ones_(base.slice(1, 0, 4, 2));
  EXPECT_EQ(sum(base).item<double>(), 8.0);
}

TEST(Init, UniformAndNormal) {
  manual_seed(0);
  Tensor t = empty({200, 200});
  nn::init::uniform_(t, -1.0, 3.0);
  Moments m = moments(t);
  EXPECT_GE(m.min, -1.0);
  EXPECT_LT(m.max, 3.0);
  expect_moments(t, 1.0, 16.0 / 12.0);  // U(a, b): (b - a)^2 / 12
  nn::init::normal_(t, 0.5, 2.0);
  expect_moments(t, 0.5, 4.0);
  // A generator of its own gives reproducible draws.
  Generator g1(42), g2(42);
  Tensor a = empty({10}), b = empty({10});
  nn::init::normal_(a, 0, 1, &g1);
  nn::init::normal_(b, 0, 1, &g2);
  EXPECT_TRUE(tensors_close(a, b, 0, 0));
}

TEST(Init, Xavier) {
  manual_seed(1);
  Tensor t = empty({300, 200});
  double gain = 2.0;
  double variance = gain * gain * 2.0 / (200 + 300);
  nn::init::xavier_uniform_(t, gain);
  Moments m = moments(t);
  double bound = gain * std::sqrt(6.0 / (200 + 300));
  EXPECT_GE(m.min, -bound);
  EXPECT_LE(m.max, bound);
  EXPECT_GT(m.max, 0.99 * bound);  // 60000 draws reach the last 1% of the range
  expect_moments(t, 0.0, variance);
  nn::init::xavier_normal_(t, gain);
  expect_moments(t, 0.0, variance);
}

TEST(Init, Kaiming) {
  manual_seed(2);
  Tensor t = empty({64, 32, 3, 3});  // fan_in 288, fan_out 576
  nn::init::kaiming_uniform_(t);     // a = 0, fan_in, leaky_relu: gain sqrt(2 / (1 + 0))
  double variance = 2.0 / 288;
  double bound = std::sqrt(3.0 * variance);
  Moments m = moments(t);
  EXPECT_GE(m.min, -bound);
  EXPECT_LE(m.max, bound);
  expect_moments(t, 0.0, variance);
  nn::init::kaiming_normal_(t, 0.0, FanMode::FanOut, Nonlinearity::ReLU);
  expect_moments(t, 0.0, 2.0 / 576);
  nn::init::kaiming_uniform_(t, std::sqrt(5.0));  // Linear's and Conv's default: bound 1 / sqrt(fan_in)
  m = moments(t);
  EXPECT_LE(m.max, 1.0 / std::sqrt(288.0));
  EXPECT_GT(m.max, 0.99 / std::sqrt(288.0));
  // A tensor with a zero size is left alone (PyTorch warns).
  Tensor none = empty({0, 3});
  EXPECT_NO_THROW(nn::init::kaiming_uniform_(none));
}

// Q^T Q (or Q Q^T, whichever is smaller) of the tensor viewed as [size(0), rest], divided by gain^2.
Tensor gram(const Tensor& t, double gain) {
  Tensor q = t.reshape({t.size(0), -1}).to(kFloat64);
  Tensor g = q.size(0) <= q.size(1) ? matmul(q, q.t()) : matmul(q.t(), q);
  return g / (gain * gain);
}

TEST(Init, OrthogonalRowsOrColumns) {
  manual_seed(3);
  for (Dims shape : {Dims{6, 10}, Dims{10, 6}, Dims{5, 5}, Dims{4, 3, 2}}) {
    Tensor t = empty(shape, {.dtype = kFloat64});
    nn::init::orthogonal_(t, 1.5);
    Tensor g = gram(t, 1.5);
    EXPECT_TRUE(tensors_close(g, eye(g.size(0), {.dtype = kFloat64}), 0, 1e-12)) << fmt::format("{}", shape);
  }
  Tensor f = empty({8, 3});  // float32 target
  nn::init::orthogonal_(f);
  EXPECT_TRUE(tensors_close(gram(f, 1.0), eye(3, {.dtype = kFloat64}), 0, 1e-6));
  EXPECT_TRUE(throws_with<ValueError>([] { nn::init::orthogonal_(empty({4})); },
                                      {"orthogonal_: only tensors with 2 or more dimensions", "[4]"}));
}

TEST(Init, OrthogonalIsNotBiasedTowardsOneSign) {
  // With R's diagonal made positive, Q is Haar-distributed: each entry has mean 0 and variance
  // 1 / n. Over many 2x2 draws the mean of Q[0][0] is 0 within 5 standard errors.
  manual_seed(4);
  constexpr int draws = 4000;
  std::vector<double> corner(draws);
  Tensor t = empty({2, 2}, {.dtype = kFloat64});
  for (double& c : corner) {
    nn::init::orthogonal_(t);
    c = t.at<double>({0, 0});
  }
  Tensor sample = tensor(corner);
  expect_moments(sample, 0.0, 0.5);
}

// The mean and variance of N(mu, sigma^2) conditioned on [a, b] (Johnson, Kotz & Balakrishnan).
std::pair<double, double> truncated_normal_moments(double mu, double sigma, double a, double b) {
  auto pdf = [](double x) { return std::exp(-x * x / 2) / std::sqrt(2 * std::numbers::pi); };
  auto cdf = [](double x) { return 0.5 * std::erfc(-x / std::numbers::sqrt2); };
  double alpha = (a - mu) / sigma, beta = (b - mu) / sigma;
  double z = cdf(beta) - cdf(alpha);
  double shift = (pdf(alpha) - pdf(beta)) / z;
  double mean = mu + sigma * shift;
  double variance = sigma * sigma * (1 + (alpha * pdf(alpha) - beta * pdf(beta)) / z - shift * shift);
  return {mean, variance};
}

TEST(Init, TruncatedNormal) {
  manual_seed(5);
  Tensor t = empty({250, 200}, {.dtype = kFloat64});
  struct Case {
    double mean, std, a, b;
  };
  for (Case c : {Case{0, 1, -2, 2}, Case{0, 1, 0, 3}, Case{1, 0.5, -1, 1.2}, Case{0, 1, 4, 6}}) {
    nn::init::trunc_normal_(t, c.mean, c.std, c.a, c.b);
    Moments m = moments(t);
    EXPECT_GE(m.min, c.a);
    EXPECT_LE(m.max, c.b);
    auto [mean, variance] = truncated_normal_moments(c.mean, c.std, c.a, c.b);
    SCOPED_TRACE(fmt::format("mean {} std {} on [{}, {}]", c.mean, c.std, c.a, c.b));
    expect_moments(t, mean, variance);
  }
  EXPECT_TRUE(throws_with<ValueError>([&] { nn::init::trunc_normal_(t, 0, 1, 2, -2); }, {"the bounds [2, -2] are empty"}));
}

}  // namespace
}  // namespace descent
