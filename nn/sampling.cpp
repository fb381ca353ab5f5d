// Temperature, top-k and top-p sampling; see nn/sampling.h. Everything runs in double on the host:
// a vocabulary's worth of numbers per generated token, negligible beside the model's forward.
#include <descent/nn/sampling.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include <descent/autograd/graph.h>
#include <descent/core/error.h>

namespace descent::nn {

namespace {

void check_options(const SamplingOptions& options) {
  check<ValueError>(options.temperature >= 0 && std::isfinite(options.temperature),
                    "sample: temperature must be finite and >= 0, got {}", options.temperature);
  check<ValueError>(options.top_k >= 0, "sample: top_k must be >= 0 (0: off), got {}", options.top_k);
  check<ValueError>(options.top_p > 0 && options.top_p <= 1, "sample: top_p must be in (0, 1], got {}",
                    options.top_p);
}

// A uniform number in [0, 1) from one Philox block of the generator (53 random bits).
double uniform(Generator& generator) {
  auto words = Generator::philox(generator.seed(), generator.reserve(1));
  uint64_t bits = (static_cast<uint64_t>(words[0]) << 32 | words[1]) >> 11;
  return static_cast<double>(bits) * 0x1.0p-53;
}

}  // namespace

std::vector<double> sampling_distribution(const Tensor& logits, const SamplingOptions& options) {
  check_options(options);
  check<ShapeError>(logits.dim() == 1 && logits.numel() > 0, "sample: logits {} must be 1-d [V] with V > 0",
                    logits.sizes());
  check<DTypeError>(logits.is_floating_point(), "sample: logits must be floating, got {}", logits.dtype());
  autograd::NoGradGuard no_grad;
  Tensor values = logits.to(kFloat64).contiguous();
  const double* x = values.data<double>();
  const auto vocab = static_cast<size_t>(logits.numel());
  for (size_t i = 0; i < vocab; ++i) {
    check<ValueError>(std::isfinite(x[i]), "sample: logit {} of token {} is not finite", x[i], i);
  }
  std::vector<double> p(vocab, 0.0);
  const size_t best = static_cast<size_t>(std::max_element(x, x + vocab) - x);  // the first maximum
  if (options.temperature == 0) {
    p[best] = 1.0;
    return p;
  }
  // softmax(x / T), shifted by the maximum so that the largest term is exp(0) = 1.
  for (size_t i = 0; i < vocab; ++i) p[i] = std::exp((x[i] - x[best]) / options.temperature);
  // The tokens from most to least likely, ties by token.
  std::vector<size_t> order(vocab);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] > p[b]; });
  size_t kept = options.top_k > 0 ? std::min(vocab, static_cast<size_t>(options.top_k)) : vocab;
  double kept_mass = std::accumulate(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(kept), 0.0,
                                     [&](double sum, size_t token) { return sum + p[token]; });
  if (options.top_p < 1) {
    // The shortest prefix of the kept tokens holding at least top_p of their mass.
    double prefix = 0.0;
    size_t n = 0;
    while (n < kept && prefix < options.top_p * kept_mass) prefix += p[order[n++]];
    kept = std::max<size_t>(n, 1);
    kept_mass = prefix;
  }
  for (size_t rank = kept; rank < vocab; ++rank) p[order[rank]] = 0.0;
  for (double& value : p) value /= kept_mass;
  return p;
}

int64_t sample_token(const Tensor& logits, const SamplingOptions& options, Generator* generator) {
  std::vector<double> p = sampling_distribution(logits, options);
  double u = uniform(generator != nullptr ? *generator : default_generator());
  // Inverse CDF over the tokens in order; the last token with mass takes any rounding remainder.
  double cumulative = 0.0;
  int64_t last_with_mass = 0;
  for (size_t token = 0; token < p.size(); ++token) {
    if (p[token] == 0) continue;
    cumulative += p[token];
    last_with_mass = static_cast<int64_t>(token);
    if (u < cumulative) return last_with_mass;
  }
  return last_with_mass;
}

}  // namespace descent::nn
