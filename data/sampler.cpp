// Sequential, random, subset, weighted and distributed samplers (see data/sampler.h).
#include <descent/data/sampler.h>

#include <algorithm>
#include <numeric>

#include <descent/core/error.h>
#include <descent/core/random.h>
#include <descent/data/dataset.h>

namespace descent::data {
namespace {

std::vector<int64_t> iota(int64_t n) {
  std::vector<int64_t> out(static_cast<size_t>(n));
  std::iota(out.begin(), out.end(), 0);
  return out;
}

// A permutation of 0..n-1 that depends only on (seed, epoch).
std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, int64_t epoch) {
  Generator generator(derive_seed(seed, static_cast<uint64_t>(epoch)));
  return core::randperm(n, {}, &generator).to_vector<int64_t>();
}

}  // namespace

SequentialSampler::SequentialSampler(int64_t n) : n_(n) {
  check<ValueError>(n >= 0, "SequentialSampler: negative size {}", n);
}

std::vector<int64_t> SequentialSampler::indices(int64_t) const { return iota(n_); }

SubsetRandomSampler::SubsetRandomSampler(std::vector<int64_t> indices, uint64_t seed)
    : indices_(std::move(indices)), seed_(seed) {}

std::vector<int64_t> SubsetRandomSampler::indices(int64_t epoch) const {
  std::vector<int64_t> order = epoch_permutation(size(), seed_, epoch);
  for (int64_t& position : order) position = indices_[static_cast<size_t>(position)];
  return order;
}

RandomSampler::RandomSampler(int64_t n, uint64_t seed) : SubsetRandomSampler(iota(std::max<int64_t>(n, 0)), seed) {
  check<ValueError>(n >= 0, "RandomSampler: negative size {}", n);
}

WeightedRandomSampler::WeightedRandomSampler(const std::vector<double>& weights, int64_t num_samples, uint64_t seed)
    : num_samples_(num_samples), seed_(seed) {
  check<ValueError>(num_samples >= 0, "WeightedRandomSampler: negative num_samples {}", num_samples);
  double total = 0.0;
  for (double weight : weights) {
    check<ValueError>(weight >= 0.0 && std::isfinite(weight), "WeightedRandomSampler: weight {} is not finite and >= 0", weight);
    total += weight;
    cumulative_.push_back(total);
  }
  check<ValueError>(total > 0.0, "WeightedRandomSampler: the {} weights sum to 0", weights.size());
}

std::vector<int64_t> WeightedRandomSampler::indices(int64_t epoch) const {
  // Inverse-CDF sampling: u ~ U[0, total), index = first i with cumulative[i] > u.
  Generator generator(derive_seed(seed_, static_cast<uint64_t>(epoch)));
  std::vector<double> draws = core::rand({num_samples_}, {.dtype = kFloat64}, &generator).to_vector<double>();
  std::vector<int64_t> out;
  out.reserve(draws.size());
  for (double u : draws) {
    auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), u * cumulative_.back());
    out.push_back(std::min<int64_t>(it - cumulative_.begin(), static_cast<int64_t>(cumulative_.size()) - 1));
  }
  return out;
}

DistributedSampler::DistributedSampler(int64_t n, int64_t rank, int64_t world_size, bool shuffle, uint64_t seed,
                                       bool drop_last)
    : n_(n), rank_(rank), world_size_(world_size), shuffle_(shuffle), seed_(seed), drop_last_(drop_last) {
  check<ValueError>(n >= 0 && world_size >= 1 && rank >= 0 && rank < world_size,
                    "DistributedSampler: need n >= 0, world_size >= 1 and 0 <= rank < world_size, got n {}, rank {}, "
                    "world_size {}", n, rank, world_size);
}

int64_t DistributedSampler::size() const { return drop_last_ ? n_ / world_size_ : (n_ + world_size_ - 1) / world_size_; }

std::vector<int64_t> DistributedSampler::indices(int64_t epoch) const {
  std::vector<int64_t> order = shuffle_ ? epoch_permutation(n_, seed_, epoch) : iota(n_);
  std::vector<int64_t> out;
  if (n_ == 0) return out;
  for (int64_t position = rank_; position < size() * world_size_; position += world_size_) {
    out.push_back(order[static_cast<size_t>(position % n_)]);
  }
  return out;
}

}  // namespace descent::data
