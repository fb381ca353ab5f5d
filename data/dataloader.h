// DataLoader: batches of a dataset in a sampler's order, collated into tensors (x [N, ...] float32,
// y [N] int64 for the image sets), optionally prefetched by worker threads. Range-for over it
// reads one epoch: `for (auto [x, y] : loader)`. Read data/dataset.h and data/sampler.h first.
//
// Determinism: the order of an epoch depends only on (seed, epoch), and batches come out in that
// order whatever num_workers, so a seed gives the same batches with any thread count.
#pragma once

#include <concepts>
#include <cstdint>
#include <memory>
#include <optional>

#include <descent/data/dataset.h>
#include <descent/data/sampler.h>
#include <descent/optim/optimizer.h>

namespace descent::data {

struct DataLoaderOptions {
  int64_t batch_size = 1;
  bool shuffle = false;     // a new permutation each epoch (a RandomSampler); ignored with a sampler
  bool drop_last = false;   // drop the last batch when it is smaller than batch_size
  int num_workers = 0;      // 0: batches are made on the consumer's thread, when asked for
  int prefetch_batches = 0; // how many batches may wait ready; 0: 2 per worker
  std::optional<uint64_t> seed = std::nullopt;  // default: drawn from the default generator at construction
  std::shared_ptr<const Sampler> sampler = nullptr;  // default: sequential, or random if shuffle
};

class DataLoader {
  class Run;

 public:
  // The loader keeps its own copy of a dataset object (datasets hold their data through shared
  // handles, so the copy is cheap), or shares the dataset behind a pointer.
  template <std::derived_from<Dataset> D>
  DataLoader(const D& dataset, DataLoaderOptions options = {})
      : DataLoader(DatasetPtr(std::make_shared<D>(dataset)), std::move(options)) {}
  DataLoader(DatasetPtr dataset, DataLoaderOptions options = {});
  ~DataLoader();  // stops and joins the workers
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  // Batches per epoch.
  int64_t size() const;
  const Dataset& dataset() const { return *dataset_; }
  // The epoch the next iteration reads (it advances by one each time an epoch is read to its end).
  int64_t epoch() const { return epoch_; }
  void set_epoch(int64_t epoch);

  // Where the loader stands: {"epoch", "batch" (batches of that epoch already delivered), "seed"}
  // as int64 scalars. After load_state_dict the next iteration resumes at that batch.
  optim::StateDict state_dict() const;
  void load_state_dict(const optim::StateDict& dict);

  class Iterator {
   public:
    using value_type = Example;
    using difference_type = std::ptrdiff_t;
    const Example& operator*() const { return batch_; }
    Iterator& operator++();
    bool operator==(std::default_sentinel_t) const { return done_; }

   private:
    friend class DataLoader;
    explicit Iterator(DataLoader* loader);
    DataLoader* loader_;
    Example batch_;
    bool done_ = false;
  };
  // Starts (or restarts) reading the current epoch from its resume point; stops any earlier run.
  Iterator begin();
  std::default_sentinel_t end() const { return {}; }

 private:
  // The next batch of the current run, or nullopt at the end of the epoch.
  std::optional<Example> next_batch();

  DatasetPtr dataset_;
  DataLoaderOptions options_;
  std::shared_ptr<const Sampler> sampler_;
  uint64_t seed_;
  int64_t epoch_ = 0;
  int64_t resume_batch_ = 0;   // where the next begin() starts in epoch_
  int64_t delivered_ = 0;      // batches of epoch_ handed out so far (state_dict's "batch")
  std::unique_ptr<Run> run_;
};

}  // namespace descent::data
