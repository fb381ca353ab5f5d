// Drawing the next token from a language model's logits: temperature, top-k and top-p (nucleus)
// filtering, and one seeded draw by inverse CDF, so a generator's seed fixes the whole sample.
// sampling_distribution() is the exact distribution sample() draws from (what the tests check).
#pragma once

#include <cstdint>
#include <vector>

#include <descent/core/random.h>
#include <descent/core/tensor.h>

namespace descent::nn {

struct SamplingOptions {
  double temperature = 1.0;  // softmax(logits / temperature); 0: always the most likely token (argmax)
  int64_t top_k = 0;         // > 0: keep only the k most likely tokens
  double top_p = 1.0;        // in (0, 1]: keep the smallest set of most likely tokens whose mass is >= top_p
};

// The distribution over the V tokens that sample() draws from, for floating logits [V]: softmax
// of logits / temperature, then top-k, then top-p (Holtzman et al. 2020, "The Curious Case of
// Neural Text Degeneration", section 3.1) on what top-k kept, renormalised. Ties rank the lower
// token first. Temperature 0 gives the one-hot of the first argmax. Throws ValueError for a
// negative temperature or top_k, top_p outside (0, 1], or non-finite logits; ShapeError unless
// logits is 1-d and non-empty.
std::vector<double> sampling_distribution(const Tensor& logits, const SamplingOptions& options = {});

// One token drawn from sampling_distribution(logits, options) with one uniform number from
// `generator` (the default generator when null): the same generator state gives the same token.
int64_t sample_token(const Tensor& logits, const SamplingOptions& options = {}, Generator* generator = nullptr);

}  // namespace descent::nn
