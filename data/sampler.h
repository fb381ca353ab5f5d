// Samplers: the order in which a DataLoader reads a dataset's indices, one list per epoch. Random
// samplers draw from a Generator seeded by (seed, epoch) only, so an epoch's order is the same
// for a seed whatever the thread count, and each epoch gets a new one.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace descent::data {

class Sampler {
 public:
  virtual ~Sampler() = default;
  // How many indices an epoch yields.
  virtual int64_t size() const = 0;
  virtual std::vector<int64_t> indices(int64_t epoch) const = 0;
};

// 0, 1, ..., n-1 every epoch.
class SequentialSampler : public Sampler {
 public:
  explicit SequentialSampler(int64_t n);
  int64_t size() const override { return n_; }
  std::vector<int64_t> indices(int64_t epoch) const override;

 private:
  int64_t n_;
};

// A new permutation of the given indices each epoch (RandomSampler: of 0..n-1).
class SubsetRandomSampler : public Sampler {
 public:
  SubsetRandomSampler(std::vector<int64_t> indices, uint64_t seed);
  int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
  std::vector<int64_t> indices(int64_t epoch) const override;

 private:
  std::vector<int64_t> indices_;
  uint64_t seed_;
};

class RandomSampler : public SubsetRandomSampler {
 public:
  RandomSampler(int64_t n, uint64_t seed);
};

// num_samples indices drawn with replacement, index i with probability weights[i] / sum(weights).
class WeightedRandomSampler : public Sampler {
 public:
  WeightedRandomSampler(const std::vector<double>& weights, int64_t num_samples, uint64_t seed);
  int64_t size() const override { return num_samples_; }
  std::vector<int64_t> indices(int64_t epoch) const override;

 private:
  std::vector<double> cumulative_;  // running sums of the weights
  int64_t num_samples_;
  uint64_t seed_;
};

// Rank `rank`'s share of n indices among world_size processes, as PyTorch's DistributedSampler:
// the (shuffled, if asked) order of an epoch is padded by repeating its start to a multiple of
// world_size (or, with drop_last, cut to the largest multiple), then rank r takes every
// world_size-th index from position r. Every rank gets the same count, so no rank runs out of
// batches before the others (a collective would wait for it forever). Every rank must use the
// same seed. The epoch comes from DataLoader::set_epoch (PyTorch's sampler.set_epoch).
//
// Resuming at another world size: with the per-rank batch global_batch / world_size, batch b of
// every rank together is positions [b global_batch, (b + 1) global_batch) of the epoch's order at
// any world size (up to the padding at the end). So a DataLoader's state_dict (epoch, batch)
// saved at one world size continues the same epoch at another with the same global batch.
class DistributedSampler : public Sampler {
 public:
  DistributedSampler(int64_t n, int64_t rank, int64_t world_size, bool shuffle = true, uint64_t seed = 0,
                     bool drop_last = false);
  int64_t size() const override;
  std::vector<int64_t> indices(int64_t epoch) const override;

 private:
  int64_t n_, rank_, world_size_;
  bool shuffle_;
  uint64_t seed_;
  bool drop_last_;
};

}  // namespace descent::data
