// Dataset, TensorDataset, Subset, ConcatDataset and the transform hook (see data/dataset.h).
#include <descent/data/dataset.h>

#include <algorithm>

#include <descent/core/factory.h>
#include <descent/core/indexing.h>

namespace descent::data {

void check_index(int64_t index, int64_t size, const char* op) {
  check<IndexError>(index >= 0 && index < size, "{}: index {} out of range for a dataset of {} examples", op,
                    index, size);
}

Example Dataset::get_batch(std::span<const int64_t> indices) const {
  check<ValueError>(!indices.empty(), "get_batch: no indices");
  std::vector<Tensor> xs, ys;
  xs.reserve(indices.size());
  ys.reserve(indices.size());
  for (int64_t index : indices) {
    Example example = get(index);
    xs.push_back(std::move(example.x));
    ys.push_back(std::move(example.y));
  }
  return {core::stack(xs), core::stack(ys)};
}

uint64_t derive_seed(uint64_t seed, uint64_t a, uint64_t b) {
  // Counter (a, b) under key `seed`: Philox's 128-bit counter holds both, so no two pairs collide.
  auto words = Generator::philox({static_cast<uint32_t>(a), static_cast<uint32_t>(a >> 32),
                                  static_cast<uint32_t>(b), static_cast<uint32_t>(b >> 32)},
                                 {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)});
  return static_cast<uint64_t>(words[0]) | (static_cast<uint64_t>(words[1]) << 32);
}

// ---- TensorDataset ----

TensorDataset::TensorDataset(Tensor x, Tensor y) : x_(std::move(x)), y_(std::move(y)) {
  check<ShapeError>(x_.defined() && y_.defined() && x_.dim() >= 1 && y_.dim() >= 1,
                    "TensorDataset: x and y must be defined tensors of at least one dim");
  check<ShapeError>(x_.size(0) == y_.size(0), "TensorDataset: x {} and y {} differ in length (dim 0)",
                    x_.sizes(), y_.sizes());
}

Example TensorDataset::get(int64_t index) const {
  check_index(index, size(), "TensorDataset");
  return {x_[index], y_[index]};
}

Example TensorDataset::get_batch(std::span<const int64_t> indices) const {
  for (int64_t index : indices) check_index(index, size(), "TensorDataset");
  Tensor rows = core::tensor(std::vector<int64_t>(indices.begin(), indices.end()));
  return {core::index_select(x_, 0, rows), core::index_select(y_, 0, rows)};
}

// ---- Subset ----

Subset::Subset(DatasetPtr dataset, std::vector<int64_t> indices)
    : dataset_(std::move(dataset)), indices_(std::move(indices)) {
  for (int64_t index : indices_) check_index(index, dataset_->size(), "Subset");
}

Example Subset::get(int64_t index) const {
  check_index(index, size(), "Subset");
  return dataset_->get(indices_[static_cast<size_t>(index)]);
}

Example Subset::get_batch(std::span<const int64_t> indices) const {
  std::vector<int64_t> inner;
  inner.reserve(indices.size());
  for (int64_t index : indices) {
    check_index(index, size(), "Subset");
    inner.push_back(indices_[static_cast<size_t>(index)]);
  }
  return dataset_->get_batch(inner);
}

void Subset::set_epoch(int64_t epoch) const { dataset_->set_epoch(epoch); }

// ---- ConcatDataset ----

ConcatDataset::ConcatDataset(std::vector<DatasetPtr> datasets) : datasets_(std::move(datasets)) {
  int64_t end = 0;
  for (const DatasetPtr& dataset : datasets_) {
    check<ValueError>(dataset != nullptr, "ConcatDataset: a null dataset");
    end += dataset->size();
    ends_.push_back(end);
  }
}

Example ConcatDataset::get(int64_t index) const {
  check_index(index, size(), "ConcatDataset");
  size_t k = static_cast<size_t>(std::upper_bound(ends_.begin(), ends_.end(), index) - ends_.begin());
  int64_t begin = k == 0 ? 0 : ends_[k - 1];
  return datasets_[k]->get(index - begin);
}

void ConcatDataset::set_epoch(int64_t epoch) const {
  for (const DatasetPtr& dataset : datasets_) dataset->set_epoch(epoch);
}

// ---- TransformDataset ----

TransformDataset::TransformDataset(DatasetPtr dataset, Transform transform, uint64_t seed)
    : TransformDataset(std::move(dataset),
                       ExampleTransform([transform = std::move(transform)](const Example& example, Generator& generator) {
                         return Example{transform(example.x, generator), example.y};
                       }),
                       seed) {}

TransformDataset::TransformDataset(DatasetPtr dataset, ExampleTransform transform, uint64_t seed)
    : dataset_(std::move(dataset)), transform_(std::move(transform)), seed_(seed) {
  check<ValueError>(dataset_ != nullptr && transform_ != nullptr, "TransformDataset: a null dataset or transform");
}

Example TransformDataset::get(int64_t index) const {
  Generator generator(derive_seed(seed_, static_cast<uint64_t>(epoch_.load()), static_cast<uint64_t>(index)));
  return transform_(dataset_->get(index), generator);
}

void TransformDataset::set_epoch(int64_t epoch) const {
  epoch_.store(epoch);
  dataset_->set_epoch(epoch);
}

}  // namespace descent::data
