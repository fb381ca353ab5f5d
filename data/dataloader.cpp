// DataLoader: one Run per epoch read; workers fill a bounded window of batches ahead of the
// consumer, which takes them strictly in order (see data/dataloader.h).
#include <descent/data/dataloader.h>

#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <thread>

#include <descent/core/factory.h>

namespace descent::data {

// One epoch's batches from `first` on. Without workers, batches are made in next(). With
// workers, batch k is claimed by a worker only while k < next_ + capacity (the bounded queue),
// and its result (or the exception it threw) waits in ready_ until the consumer reaches k.
class DataLoader::Run {
 public:
  Run(DatasetPtr dataset, std::vector<std::vector<int64_t>> batches, int64_t first, int workers, int capacity)
      : dataset_(std::move(dataset)), batches_(std::move(batches)), next_(first), claim_(first), capacity_(capacity) {
    for (int w = 0; w < workers; ++w) threads_.emplace_back([this] { work(); });
  }
  ~Run() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    claimable_.notify_all();
    for (std::thread& thread : threads_) thread.join();
  }

  std::optional<Example> next() {
    int64_t total = static_cast<int64_t>(batches_.size());
    if (threads_.empty()) {
      if (next_ >= total) return std::nullopt;
      return make(next_++);
    }
    std::unique_lock lock(mutex_);
    if (next_ >= total) return std::nullopt;
    int64_t k = next_;
    ready_cv_.wait(lock, [&] { return ready_.count(k) > 0; });
    Result result = std::move(ready_[k]);
    ready_.erase(k);
    ++next_;
    lock.unlock();
    claimable_.notify_all();  // the window moved on by one
    if (result.error) std::rethrow_exception(result.error);
    return std::move(result.batch);
  }

 private:
  struct Result {
    Example batch;
    std::exception_ptr error;
  };

  Example make(int64_t k) const { return dataset_->get_batch(batches_[static_cast<size_t>(k)]); }

  void work() {
    int64_t total = static_cast<int64_t>(batches_.size());
    while (true) {
      int64_t k;
      {
        std::unique_lock lock(mutex_);
        claimable_.wait(lock, [&] { return stopping_ || claim_ >= total || claim_ < next_ + capacity_; });
        if (stopping_ || claim_ >= total) return;
        k = claim_++;
      }
      Result result;
      try {
        result.batch = make(k);
      } catch (...) {
        result.error = std::current_exception();
      }
      {
        std::lock_guard lock(mutex_);
        ready_[k] = std::move(result);
      }
      ready_cv_.notify_all();
    }
  }

  DatasetPtr dataset_;
  std::vector<std::vector<int64_t>> batches_;
  int64_t next_;  // the batch the consumer takes next (under mutex_ when there are workers)
  int64_t claim_;  // the batch the next worker makes
  int64_t capacity_;
  bool stopping_ = false;
  std::map<int64_t, Result> ready_;
  std::mutex mutex_;
  std::condition_variable claimable_, ready_cv_;
  std::vector<std::thread> threads_;
};

namespace {

uint64_t seed_from_default_generator() {
  Generator& generator = default_generator();
  auto words = Generator::philox(generator.seed(), generator.reserve(1));
  return static_cast<uint64_t>(words[0]) | (static_cast<uint64_t>(words[1]) << 32);
}

}  // namespace

DataLoader::DataLoader(DatasetPtr dataset, DataLoaderOptions options)
    : dataset_(std::move(dataset)), options_(std::move(options)) {
  check<ValueError>(dataset_ != nullptr, "DataLoader: a null dataset");
  check<ValueError>(options_.batch_size >= 1, "DataLoader: batch_size must be >= 1, got {}", options_.batch_size);
  check<ValueError>(options_.num_workers >= 0 && options_.prefetch_batches >= 0,
                    "DataLoader: num_workers {} and prefetch_batches {} must be >= 0", options_.num_workers,
                    options_.prefetch_batches);
  seed_ = options_.seed ? *options_.seed : seed_from_default_generator();
  sampler_ = options_.sampler;
  if (!sampler_) {
    sampler_ = options_.shuffle ? std::shared_ptr<const Sampler>(std::make_shared<RandomSampler>(dataset_->size(), seed_))
                                : std::make_shared<SequentialSampler>(dataset_->size());
  }
}

DataLoader::~DataLoader() = default;

int64_t DataLoader::size() const {
  int64_t n = sampler_->size();
  return options_.drop_last ? n / options_.batch_size : (n + options_.batch_size - 1) / options_.batch_size;
}

void DataLoader::set_epoch(int64_t epoch) {
  check<ValueError>(epoch >= 0, "DataLoader::set_epoch: negative epoch {}", epoch);
  run_.reset();
  epoch_ = epoch;
  resume_batch_ = 0;
  delivered_ = 0;
}

optim::StateDict DataLoader::state_dict() const {
  optim::StateDict dict;
  dict.tensors["epoch"] = core::scalar_tensor(epoch_, {.dtype = kInt64});
  dict.tensors["batch"] = core::scalar_tensor(delivered_, {.dtype = kInt64});
  dict.tensors["seed"] = core::scalar_tensor(static_cast<int64_t>(seed_), {.dtype = kInt64});
  return dict;
}

void DataLoader::load_state_dict(const optim::StateDict& dict) {
  for (const char* key : {"epoch", "batch", "seed"}) {
    check<ValueError>(dict.tensors.count(key) > 0, "DataLoader::load_state_dict: no \"{}\" entry", key);
  }
  int64_t epoch = dict.tensors.at("epoch").item<int64_t>();
  int64_t batch = dict.tensors.at("batch").item<int64_t>();
  uint64_t seed = static_cast<uint64_t>(dict.tensors.at("seed").item<int64_t>());
  check<ValueError>(seed == seed_, "DataLoader::load_state_dict: the state was saved with seed {}, this loader has {}; "
                    "build the loader with .seed = {}", seed, seed_, seed);
  check<ValueError>(epoch >= 0 && batch >= 0 && batch <= size(),
                    "DataLoader::load_state_dict: epoch {} batch {} out of range ({} batches per epoch)", epoch, batch, size());
  set_epoch(epoch);
  resume_batch_ = batch;
  delivered_ = batch;
}

DataLoader::Iterator DataLoader::begin() {
  run_.reset();  // joins any earlier run's workers first
  dataset_->set_epoch(epoch_);
  std::vector<int64_t> order = sampler_->indices(epoch_);
  std::vector<std::vector<int64_t>> batches;
  for (size_t start = 0; start < order.size(); start += static_cast<size_t>(options_.batch_size)) {
    size_t end = std::min(order.size(), start + static_cast<size_t>(options_.batch_size));
    if (options_.drop_last && end - start < static_cast<size_t>(options_.batch_size)) break;
    batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(start), order.begin() + static_cast<std::ptrdiff_t>(end));
  }
  int capacity = options_.prefetch_batches > 0 ? options_.prefetch_batches : 2 * std::max(options_.num_workers, 1);
  delivered_ = resume_batch_;
  run_ = std::make_unique<Run>(dataset_, std::move(batches), resume_batch_, options_.num_workers, capacity);
  return Iterator(this);
}

std::optional<Example> DataLoader::next_batch() {
  if (!run_) return std::nullopt;
  std::optional<Example> batch = run_->next();
  if (batch) {
    ++delivered_;
    return batch;
  }
  // The epoch was read to its end: the next iteration reads the next epoch from its start.
  run_.reset();
  ++epoch_;
  resume_batch_ = 0;
  delivered_ = 0;
  return std::nullopt;
}

DataLoader::Iterator::Iterator(DataLoader* loader) : loader_(loader) { ++*this; }

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  std::optional<Example> batch = loader_->next_batch();
  done_ = !batch.has_value();
  if (batch) batch_ = std::move(*batch);
  return *this;
}

}  // namespace descent::data
