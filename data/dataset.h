// Datasets: an indexable collection of examples, each a pair of tensors {x, y}. The DataLoader
// (data/dataloader.h) batches them; readers (data/mnist.h, data/readers.h) and data/synthetic.h
// make them. Datasets are shared through shared_ptr<const Dataset> and read from several threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include <descent/core/random.h>
#include <descent/core/tensor.h>

namespace descent::data {

// One example, or a batch of them (x stacked along a new dim 0, y likewise).
// Structured bindings work: `auto [x, y] = dataset.get(0);`.
struct Example {
  Tensor x;
  Tensor y;
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // Example `index`, in [0, size()). Must be safe to call from several threads at once.
  virtual Example get(int64_t index) const = 0;
  // The examples at `indices` stacked into one batch: x [N, ...], y [N, ...]. The default stacks
  // get(i); datasets held in memory override it with one gather.
  virtual Example get_batch(std::span<const int64_t> indices) const;
  // The epoch about to be read, for datasets whose examples are random per epoch (transforms).
  // Wrappers pass it on to the datasets they wrap. Called between epochs, never during one
  // (const: it changes only what later epochs read, so datasets stay shareable as const).
  virtual void set_epoch(int64_t epoch) const { (void)epoch; }
};

using DatasetPtr = std::shared_ptr<const Dataset>;

// Throws IndexError naming `op` unless 0 <= index < size.
void check_index(int64_t index, int64_t size, const char* op);

// Examples are the rows (dim 0) of x and y, which must have the same length.
class TensorDataset : public Dataset {
 public:
  TensorDataset(Tensor x, Tensor y);
  int64_t size() const override { return x_.size(0); }
  Example get(int64_t index) const override;
  Example get_batch(std::span<const int64_t> indices) const override;
  const Tensor& x() const { return x_; }
  const Tensor& y() const { return y_; }

 private:
  Tensor x_;
  Tensor y_;
};

// The examples of `dataset` at `indices`, in that order.
class Subset : public Dataset {
 public:
  Subset(DatasetPtr dataset, std::vector<int64_t> indices);
  int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
  Example get(int64_t index) const override;
  Example get_batch(std::span<const int64_t> indices) const override;
  void set_epoch(int64_t epoch) const override;

 private:
  DatasetPtr dataset_;
  std::vector<int64_t> indices_;
};

// The datasets one after another.
class ConcatDataset : public Dataset {
 public:
  explicit ConcatDataset(std::vector<DatasetPtr> datasets);
  int64_t size() const override { return ends_.empty() ? 0 : ends_.back(); }
  Example get(int64_t index) const override;
  void set_epoch(int64_t epoch) const override;

 private:
  std::vector<DatasetPtr> datasets_;
  std::vector<int64_t> ends_;  // ends_[k]: the index one past dataset k's last example
};

// A function of one example's x (or of the whole example) that may draw random numbers.
using Transform = std::function<Tensor(const Tensor& x, Generator& generator)>;
using ExampleTransform = std::function<Example(const Example& example, Generator& generator)>;

// The transform hook: `dataset` with `transform` applied to each example as it is read. The
// generator handed to the transform depends only on (seed, epoch, index), so the same seed gives
// the same augmented examples whatever the threads and the order of reading.
class TransformDataset : public Dataset {
 public:
  TransformDataset(DatasetPtr dataset, Transform transform, uint64_t seed = 0);
  TransformDataset(DatasetPtr dataset, ExampleTransform transform, uint64_t seed = 0);
  int64_t size() const override { return dataset_->size(); }
  Example get(int64_t index) const override;
  void set_epoch(int64_t epoch) const override;

 private:
  DatasetPtr dataset_;
  ExampleTransform transform_;
  uint64_t seed_;
  mutable std::atomic<int64_t> epoch_ = 0;
};

// A 64-bit seed made from a seed and two counters with one Philox block: distinct (a, b) give
// independent streams. Used for per-epoch permutations and per-example augmentation.
uint64_t derive_seed(uint64_t seed, uint64_t a, uint64_t b = 0);

}  // namespace descent::data
