// nn::sampling_distribution and sample_token on distributions whose filtered form is known in
// closed form: top-k keeps exactly k, top-p the shortest prefix with mass >= p, temperature 0 is
// argmax; draws are deterministic for a seed and follow the distribution.
#include "testing.h"

#include <cmath>

#include <descent/nn/sampling.h>

namespace descent::nn {
namespace {

using descent::testing::throws_with;

// Logits whose softmax is `p` (shifted by a constant, which softmax ignores).
Tensor logits_of(const std::vector<double>& p) {
  std::vector<double> logits;
  for (double value : p) logits.push_back(std::log(value) + 3.0);
  return tensor(logits, {.dtype = kFloat32});
}

void expect_distribution(const std::vector<double>& actual, const std::vector<double>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(actual[i], expected[i], 1e-6) << "token " << i;
}

TEST(Sampling, TemperatureOneIsTheSoftmax) {
  std::vector<double> p = {0.1, 0.4, 0.2, 0.3};
  expect_distribution(sampling_distribution(logits_of(p)), p);
}

TEST(Sampling, TemperatureScalesTheLogits) {
  Tensor logits = tensor(std::vector<double>{0.0, 1.0, 2.0});
  std::vector<double> q = sampling_distribution(logits, {.temperature = 2.0});
  double z = 1 + std::exp(0.5) + std::exp(1.0);
  expect_distribution(q, {1 / z, std::exp(0.5) / z, std::exp(1.0) / z});
}

TEST(Sampling, TemperatureToZeroIsArgmax) {
  Tensor logits = tensor(std::vector<double>{0.5, 2.0, 1.9, -1.0});
  expect_distribution(sampling_distribution(logits, {.temperature = 0}), {0, 1, 0, 0});
  EXPECT_GT(sampling_distribution(logits, {.temperature = 1e-3})[1], 1 - 1e-12);
  Generator generator(3);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(sample_token(logits, {.temperature = 0}, &generator), 1);
  // Ties go to the first maximum.
  expect_distribution(sampling_distribution(tensor(std::vector<double>{1, 3, 3}), {.temperature = 0}), {0, 1, 0});
}

TEST(Sampling, TopKKeepsExactlyTheKMostLikely) {
  std::vector<double> p = {0.05, 0.3, 0.1, 0.25, 0.2, 0.1};
  for (int64_t k = 1; k <= 6; ++k) {
    std::vector<double> q = sampling_distribution(logits_of(p), {.top_k = k});
    // The k largest of p, renormalised (ties at 0.1: the lower token first).
    std::vector<size_t> ranked = {1, 3, 4, 2, 5, 0};
    double mass = 0;
    for (int64_t r = 0; r < k; ++r) mass += p[ranked[r]];
    std::vector<double> expected(6, 0.0);
    for (int64_t r = 0; r < k; ++r) expected[ranked[r]] = p[ranked[r]] / mass;
    SCOPED_TRACE(fmt::format("k = {}", k));
    expect_distribution(q, expected);
    EXPECT_EQ(std::count_if(q.begin(), q.end(), [](double v) { return v > 0; }), k);
  }
  // k beyond the vocabulary keeps everything.
  expect_distribution(sampling_distribution(logits_of(p), {.top_k = 100}), p);
}

TEST(Sampling, TopPKeepsTheShortestPrefixWithEnoughMass) {
  std::vector<double> p = {0.1, 0.4, 0.2, 0.3};  // ranked 0.4, 0.3, 0.2, 0.1: prefix masses 0.4, 0.7, 0.9, 1
  expect_distribution(sampling_distribution(logits_of(p), {.top_p = 0.3}), {0, 1, 0, 0});
  expect_distribution(sampling_distribution(logits_of(p), {.top_p = 0.5}), {0, 4.0 / 7, 0, 3.0 / 7});
  expect_distribution(sampling_distribution(logits_of(p), {.top_p = 0.8}), {0, 4.0 / 9, 2.0 / 9, 3.0 / 9});
  expect_distribution(sampling_distribution(logits_of(p), {.top_p = 0.95}), p);
  // After top-k = 2 the mass is that of {0.4, 0.3}: p = 0.5 of it is 0.35, which 0.4 alone holds.
  expect_distribution(sampling_distribution(logits_of(p), {.top_k = 2, .top_p = 0.5}), {0, 1, 0, 0});
  expect_distribution(sampling_distribution(logits_of(p), {.top_k = 2, .top_p = 0.6}), {0, 4.0 / 7, 0, 3.0 / 7});
}

TEST(Sampling, DrawsAreDeterministicForASeedAndFollowTheDistribution) {
  std::vector<double> p = {0.5, 0.3, 0.2};
  Tensor logits = logits_of(p);
  Generator a(11), b(11), c(12);
  std::vector<int64_t> first, second, other;
  const int draws = 20000;
  std::vector<int64_t> counts(3, 0);
  for (int i = 0; i < draws; ++i) {
    first.push_back(sample_token(logits, {}, &a));
    second.push_back(sample_token(logits, {}, &b));
    other.push_back(sample_token(logits, {}, &c));
    ++counts[first.back()];
  }
  EXPECT_EQ(first, second);
  EXPECT_NE(first, other);
  for (size_t token = 0; token < 3; ++token) {
    double sigma = std::sqrt(draws * p[token] * (1 - p[token]));
    EXPECT_NEAR(static_cast<double>(counts[token]), draws * p[token], 5 * sigma) << "token " << token;
  }
  // A filtered-out token is never drawn.
  Generator d(13);
  for (int i = 0; i < 2000; ++i) EXPECT_NE(sample_token(logits, {.top_k = 2}, &d), 2);
}

TEST(Sampling, BadOptionsAndLogitsAreClearErrors) {
  Tensor logits = tensor(std::vector<double>{0.0, 1.0});
  EXPECT_TRUE(
      throws_with<ValueError>([&] { sampling_distribution(logits, {.temperature = -1}); }, {"temperature", "-1"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { sampling_distribution(logits, {.top_k = -2}); }, {"top_k", "-2"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { sampling_distribution(logits, {.top_p = 0}); }, {"top_p", "(0, 1]"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { sampling_distribution(logits, {.top_p = 1.5}); }, {"top_p", "1.5"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { sampling_distribution(zeros({2, 3})); }, {"[2, 3]", "1-d"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { sampling_distribution(tensor(std::vector<double>{0, NAN})); },
                                      {"token 1", "not finite"}));
}

}  // namespace
}  // namespace descent::nn
