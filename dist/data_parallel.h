// dist::DataParallel: a module replicated on every rank, its gradients averaged over the ranks
// during backward. Gradients go into flat buckets (assign_buckets) whose allreduce starts from
// the parameters' post-accumulate hooks as soon as a bucket is full, overlapped with the rest of
// backward; the end of backward waits for the last one. Read DataParallel, then data_parallel.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include <descent/dist/process_group.h>
#include <descent/dist/timeline.h>
#include <descent/nn/container.h>
#include <descent/nn/module.h>

namespace descent::dist {

// PyTorch DDP's bucket assignment (compute_bucket_assignment_by_size): tensors are taken in the
// given order (DataParallel passes the parameters in reverse registration order, roughly the
// order backward produces their gradients) into one open bucket per dtype; a bucket is closed as
// soon as it holds at least its cap in bytes (the first bucket of each dtype first_cap_bytes,
// later ones cap_bytes), so a bucket exceeds its cap by at most its last tensor and a tensor
// larger than the cap is a bucket alone. Returns, per bucket, indices into `tensors`; buckets are
// ordered by their first index, the same on every rank.
std::vector<std::vector<size_t>> assign_buckets(std::span<const Tensor> tensors, int64_t first_cap_bytes,
                                                int64_t cap_bytes);

struct DataParallelOptions {
  double bucket_cap_mb = 25.0;       // MiB of gradients per bucket (PyTorch's bucket_cap_mb)
  double first_bucket_cap_mb = 1.0;  // the first bucket: small, so communication starts early
  // Parameters that get no gradient in a backward (a branch not taken) count as zero gradients.
  // Without it such a parameter is an error naming it, on every rank, at the end of backward.
  bool find_unused_parameters = false;
  // forward() first copies rank 0's buffers (BatchNorm's running statistics) into every rank.
  bool broadcast_buffers = true;
  // Deterministic mode when > 0: the global batch is cut into this many shards of one size, and
  // each rank computes world_size-th of them (local_shards(), one backward each, shards
  // rank * local_shards() ... in order). Each shard's gradient is kept apart and the ranks sum all
  // shards in shard order, so the result is bit-identical for every world size that divides the
  // shard count (with the same thread count per rank). Costs an allgather of every shard instead
  // of an allreduce.
  int64_t deterministic_shards = 0;
  // When given, each bucket's collective (from when the communication thread started it to when it
  // finished) goes on its "communication" lane and the end of backward's wait for them on
  // "compute". The timeline must outlive the DataParallel.
  Timeline* timeline = nullptr;
};

// Wraps a module that every rank builds the same way. The training loop stays the north-star's:
//   dist::DataParallel parallel(model);      // rank 0's weights everywhere
//   loss(parallel.forward(shard), ...).backward();   // returns with the mean gradient over ranks
//   optimizer.step();
// With the loss a mean over each rank's shard of B examples, that mean gradient is the one of the
// whole batch of world_size * B examples.
//
// NOTE: where the synchronisation ends. PyTorch's DDP waits for its buckets in a callback queued
// on the autograd engine at the end of backward; so does this one (autograd::queue_callback), so
// backward() returns with every gradient averaged and no extra call before the optimizer step.
// After the first step every gradient is a view into its bucket (PyTorch's
// gradient_as_bucket_view), so gradients accumulate into the buckets in place and the hooks copy
// nothing, if the loop zeroes them in place (opt.zero_grad(false)); set to none, each step's new
// gradient is copied into its bucket once.
class DataParallel {
  struct Bucket;

 public:
  // A module with Tensor forward(const Tensor&): forward() runs it.
  template <nn::UnaryModule M>
  explicit DataParallel(M& module, DataParallelOptions options = {}, ProcessGroup group = world())
      : DataParallel(static_cast<nn::Module&>(module), options, std::move(group)) {
    forward_ = [&module](const Tensor& x) { return module.forward(x); };
  }
  // Any module: call prepare_forward() before each forward of the module yourself.
  //
  // Checks that every rank's module has the same parameters and buffers (names, shapes, dtypes;
  // a ShapeError on every rank naming the first that differs and both ranks' versions of it),
  // copies rank 0's values into every rank and lays out the buckets. Collective: every rank
  // constructs it. Convert the module (to(dtype)) before wrapping it.
  DataParallel(nn::Module& module, DataParallelOptions options = {}, ProcessGroup group = world());
  ~DataParallel();  // removes its hooks from the parameters
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  // prepare_forward(), then the module's forward.
  Tensor forward(const Tensor& x);
  Tensor operator()(const Tensor& x) { return forward(x); }
  // What forward does before the module: broadcasts buffers (if the option is on).
  void prepare_forward();
  // Copies rank 0's buffers into every rank.
  void broadcast_buffers();

  // While the guard lives, backward accumulates gradients locally without communicating; the
  // first backward after it averages the accumulated sums (gradient accumulation). Not in
  // deterministic mode, which throws.
  class NoSyncGuard {
   public:
    explicit NoSyncGuard(DataParallel& parallel);
    ~NoSyncGuard();
    NoSyncGuard(const NoSyncGuard&) = delete;
    NoSyncGuard& operator=(const NoSyncGuard&) = delete;

   private:
    DataParallel& parallel_;
    bool previous_;
  };
  [[nodiscard]] NoSyncGuard no_sync() { return NoSyncGuard(*this); }

  // Deterministic mode: how many shards this rank computes per step (deterministic_shards /
  // world_size), and the global index of its first.
  int64_t local_shards() const { return local_shards_; }
  int64_t first_shard() const { return local_shards_ * group_.rank(); }

  // The parameters' names, bucket by bucket, in the order the buckets are reduced.
  std::vector<std::vector<std::string>> bucket_parameter_names() const;

  nn::Module& module() { return module_; }
  ProcessGroup& group() { return group_; }
  const DataParallelOptions& options() const { return options_; }

 private:
  void on_gradient_ready(size_t param);
  Tensor local_slot(size_t param) const;
  void post_full_buckets();
  void finish_backward();
  void record_timeline(Timeline::Clock::time_point waiting) const;
  void reset_pass();

  nn::Module& module_;
  DataParallelOptions options_;
  ProcessGroup group_;
  std::function<Tensor(const Tensor&)> forward_;

  std::vector<std::string> names_;       // trainable parameters, registration order
  std::vector<Tensor> params_;
  std::vector<int> hook_ids_;
  std::vector<Bucket> buckets_;          // in reduction order
  struct Place {
    size_t bucket, index;                // a parameter's bucket and its position there
  };
  std::vector<Place> place_;             // per parameter
  std::vector<bool> ready_;              // got its gradient in this backward
  std::vector<bool> used_;               // had a gradient in this step (over the deterministic shards)
  size_t next_bucket_ = 0;               // the first bucket not posted yet this pass
  bool pass_started_ = false;            // finish_backward is queued on the running backward
                                         // (a backward that throws first drops it: see on_gradient_ready)
  bool no_sync_ = false;
  int64_t local_shards_ = 0;
  int64_t shard_ = 0;                    // deterministic mode: the local shard this backward computes
};

}  // namespace descent::dist
