// DataParallel: the construction-time check and broadcast, the buckets, and the gradient
// averaging driven by the parameters' post-accumulate hooks. Read the constructor first (the ranks
// compare their modules as text, one line per parameter and buffer, allgathered, so a mismatch is
// the same error on every rank before any tensor moves), then on_gradient_ready, finish_backward.
#include <descent/dist/data_parallel.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <sstream>

#include <descent/autograd/engine.h>
#include <descent/autograd/graph.h>
#include <descent/core/factory.h>

namespace descent::dist {

namespace {

struct Entry {
  std::string line;  // "parameter 'fc1.weight' [32, 16] float32", the same text on every rank
  std::string name;  // "parameter 'fc1.weight'"
  Tensor tensor;
};

std::vector<Entry> entries_of(const nn::Module& module) {
  std::vector<Entry> entries;
  auto add = [&](std::string_view kind, const std::string& name, const Tensor& t) {
    std::string label = fmt::format("{} '{}'", kind, name);
    entries.push_back({fmt::format("{} {} {}", label, t.sizes(), dtype_name(t.dtype())), label, t});
  };
  for (const auto& [name, t] : module.named_parameters()) add("parameter", name, t);
  for (const auto& [name, t] : module.named_buffers()) add("buffer", name, t);
  return entries;
}

// Every rank's lines, in rank order: lengths first, then the text packed 8 bytes per int64.
std::vector<std::vector<std::string>> allgather_lines(ProcessGroup& group, const std::vector<Entry>& entries) {
  std::string text;
  for (const Entry& e : entries) text += e.line + "\n";
  int world = group.world_size();
  Tensor length = core::full({1}, static_cast<int64_t>(text.size()), {.dtype = kInt64});
  Tensor lengths = core::zeros({world}, {.dtype = kInt64});
  group.allgather(lengths, length).wait();
  std::vector<int64_t> sizes = lengths.to_vector<int64_t>();
  int64_t words = (*std::max_element(sizes.begin(), sizes.end()) + 7) / 8;
  Tensor packed = core::zeros({words}, {.dtype = kInt64});
  std::memcpy(packed.raw_data(), text.data(), text.size());
  Tensor all = core::zeros({world, words}, {.dtype = kInt64});
  group.allgather(all, packed).wait();
  std::vector<std::vector<std::string>> lines(world);
  const char* bytes = static_cast<const char*>(all.raw_data());
  for (int r = 0; r < world; ++r) {
    std::istringstream in(std::string(bytes + r * words * 8, static_cast<size_t>(sizes[r])));
    for (std::string line; std::getline(in, line);) lines[r].push_back(line);
  }
  return lines;
}

// The name part of a line: what precedes the shape.
std::string name_of(const std::string& line) { return line.substr(0, line.find(" [")); }

void check_same_modules(const std::vector<std::vector<std::string>>& lines) {
  const std::vector<std::string>& first = lines[0];
  for (size_t r = 1; r < lines.size(); ++r) {
    const std::vector<std::string>& mine = lines[r];
    for (size_t i = 0; i < std::max(first.size(), mine.size()); ++i) {
      if (i < first.size() && i < mine.size() && first[i] == mine[i]) continue;
      std::string at = i < first.size() ? name_of(first[i]) : name_of(mine[i]);
      std::string zero = i < first.size() ? first[i] : "nothing more";
      std::string other = i < mine.size() ? mine[i] : "nothing more";
      throw ShapeError(fmt::format("DataParallel: rank {}'s module differs from rank 0's at {}: rank 0 has {}, "
                                   "rank {} has {}", r, at, zero, r, other));
    }
  }
}

// Rank 0's values of `tensors` into every rank, in place.
void broadcast_from_rank_zero(ProcessGroup& group, const std::vector<Tensor>& tensors) {
  autograd::NoGradGuard no_grad;
  std::vector<std::pair<Tensor, Tensor>> copies;  // (destination, contiguous buffer)
  std::vector<Work> works;
  for (const Tensor& t : tensors) {
    Tensor target = t.detach();
    if (!target.is_contiguous()) {
      copies.emplace_back(target, target.contiguous());
      target = copies.back().second;
    }
    works.push_back(group.broadcast(target, 0));
  }
  for (const Work& w : works) w.wait();
  for (auto& [destination, buffer] : copies) destination.copy_(buffer);
}

}  // namespace

std::vector<std::vector<size_t>> assign_buckets(std::span<const Tensor> tensors, int64_t first_cap_bytes,
                                                int64_t cap_bytes) {
  check<ValueError>(first_cap_bytes > 0 && cap_bytes > 0, "assign_buckets: caps must be positive, got {} and {} bytes",
                    first_cap_bytes, cap_bytes);
  struct Open {
    std::vector<size_t> indices;
    int64_t bytes = 0;
    bool closed_one = false;  // a bucket of this dtype was closed already: the cap is cap_bytes
  };
  std::vector<std::pair<DType, Open>> open;  // one open bucket per dtype, in order of appearance
  std::vector<std::vector<size_t>> buckets;
  for (size_t i = 0; i < tensors.size(); ++i) {
    DType dtype = tensors[i].dtype();
    auto it = std::find_if(open.begin(), open.end(), [&](const auto& o) { return o.first == dtype; });
    if (it == open.end()) it = open.insert(open.end(), {dtype, Open{}});
    Open& bucket = it->second;
    bucket.indices.push_back(i);
    bucket.bytes += tensors[i].numel() * tensors[i].element_size();
    if (bucket.bytes >= (bucket.closed_one ? cap_bytes : first_cap_bytes)) {
      buckets.push_back(std::move(bucket.indices));
      bucket = Open{.indices = {}, .bytes = 0, .closed_one = true};
    }
  }
  for (auto& [dtype, bucket] : open) {
    if (!bucket.indices.empty()) buckets.push_back(std::move(bucket.indices));
  }
  std::sort(buckets.begin(), buckets.end(), [](const auto& a, const auto& b) { return a.front() < b.front(); });
  return buckets;
}

// One bucket: its parameters' gradients side by side in one flat, contiguous tensor (what a
// communication hook will receive), each gradient a view of it. In deterministic mode each local
// shard's gradients have their own row of `shards`, and `gathered` receives every rank's rows.
struct DataParallel::Bucket {
  std::vector<size_t> params;  // indices into params_, in bucket order
  std::vector<int64_t> offsets;
  Tensor flat;                 // [numel]
  Tensor shards, gathered;     // deterministic mode: [local shards, numel], [all shards, numel]
  size_t pending = 0;          // parameters whose gradient this backward has not produced yet
  Work work;

  // Parameter k's slice of `buffer` (flat, or a shard's row), shaped like the parameter.
  Tensor slot(const Tensor& buffer, size_t k, const Tensor& param) const {
    return buffer.narrow(0, offsets[k], param.numel()).view(param.sizes());
  }
};

DataParallel::DataParallel(nn::Module& module, DataParallelOptions options, ProcessGroup group)
    : module_(module), options_(options), group_(std::move(group)) {
  const int world = group_.world_size();
  check<ValueError>(options_.bucket_cap_mb > 0 && options_.first_bucket_cap_mb > 0,
                    "DataParallel: bucket caps must be positive, got bucket_cap_mb {} and first_bucket_cap_mb {}",
                    options_.bucket_cap_mb, options_.first_bucket_cap_mb);
  check<ValueError>(options_.deterministic_shards >= 0 && options_.deterministic_shards % world == 0,
                    "DataParallel: deterministic_shards {} is not a multiple of the world size {}",
                    options_.deterministic_shards, world);
  local_shards_ = options_.deterministic_shards / world;

  std::vector<Entry> entries = entries_of(module_);
  check_same_modules(allgather_lines(group_, entries));
  std::vector<Tensor> tensors;
  for (const Entry& e : entries) tensors.push_back(e.tensor);
  broadcast_from_rank_zero(group_, tensors);

  for (const auto& [name, p] : module_.named_parameters()) {
    if (!p.requires_grad()) continue;
    names_.push_back(name);
    params_.push_back(p);
  }
  std::vector<Tensor> reversed(params_.rbegin(), params_.rend());
  constexpr double kMiB = 1024.0 * 1024.0;
  auto cap = [&](double mb) { return std::max<int64_t>(1, static_cast<int64_t>(mb * kMiB)); };
  place_.resize(params_.size());
  for (const std::vector<size_t>& indices :
       assign_buckets(reversed, cap(options_.first_bucket_cap_mb), cap(options_.bucket_cap_mb))) {
    Bucket& bucket = buckets_.emplace_back();
    int64_t numel = 0;
    for (size_t r : indices) {
      size_t i = params_.size() - 1 - r;
      place_[i] = {buckets_.size() - 1, bucket.params.size()};
      bucket.params.push_back(i);
      bucket.offsets.push_back(numel);
      numel += params_[i].numel();
    }
    TensorOptions dtype{.dtype = params_[bucket.params[0]].dtype()};
    bucket.flat = core::zeros({numel}, dtype);
    if (local_shards_ > 0) {
      bucket.shards = core::zeros({local_shards_, numel}, dtype);
      bucket.gathered = core::zeros({options_.deterministic_shards, numel}, dtype);
    }
  }
  ready_.assign(params_.size(), false);
  used_.assign(params_.size(), false);
  reset_pass();
  for (size_t i = 0; i < params_.size(); ++i) {
    hook_ids_.push_back(params_[i].register_post_accumulate_grad_hook([this, i](const Tensor&) { on_gradient_ready(i); }));
  }
}

DataParallel::~DataParallel() {
  for (size_t i = 0; i < params_.size(); ++i) params_[i].remove_hook(hook_ids_[i]);
}

Tensor DataParallel::forward(const Tensor& x) {
  check<Error>(static_cast<bool>(forward_),
               "DataParallel::forward: the wrapped module has no Tensor forward(const Tensor&); call "
               "prepare_forward() and the module's own forward instead");
  prepare_forward();
  return forward_(x);
}

void DataParallel::prepare_forward() {
  if (options_.broadcast_buffers && group_.world_size() > 1) broadcast_buffers();
}

void DataParallel::broadcast_buffers() { broadcast_from_rank_zero(group_, module_.buffers()); }

DataParallel::NoSyncGuard::NoSyncGuard(DataParallel& parallel) : parallel_(parallel), previous_(parallel.no_sync_) {
  check<ValueError>(parallel.local_shards_ == 0, "DataParallel::no_sync: not available in deterministic mode");
  parallel_.no_sync_ = true;
}

DataParallel::NoSyncGuard::~NoSyncGuard() { parallel_.no_sync_ = previous_; }

std::vector<std::vector<std::string>> DataParallel::bucket_parameter_names() const {
  std::vector<std::vector<std::string>> out;
  for (const Bucket& bucket : buckets_) {
    std::vector<std::string>& names = out.emplace_back();
    for (size_t i : bucket.params) names.push_back(names_[i]);
  }
  return out;
}

void DataParallel::reset_pass() {
  std::fill(ready_.begin(), ready_.end(), false);
  for (Bucket& bucket : buckets_) {
    bucket.pending = bucket.params.size();
    bucket.work = Work();
  }
  next_bucket_ = 0;
  pass_started_ = false;
}

// Where parameter i's gradient of this backward goes: its slice of the flat bucket, or in
// deterministic mode of the current shard's row.
Tensor DataParallel::local_slot(size_t i) const {
  const Bucket& bucket = buckets_[place_[i].bucket];
  return bucket.slot(local_shards_ > 0 ? bucket.shards.select(0, shard_) : bucket.flat, place_[i].index, params_[i]);
}

// The post-accumulate hook of parameter i: its gradient is final for this backward. Copies it
// into its bucket (unless it is already the bucket's view) and posts every bucket that is full.
void DataParallel::on_gradient_ready(size_t i) {
  if (no_sync_) return;
  if (!pass_started_) {
    pass_started_ = true;
    // The callback owns `abandon`, whose deleter runs when the callback is destroyed: after it ran
    // (finish_backward has reset the pass), or unrun when backward threw before its end; then
    // what this pass posted must still finish on every rank before the next backward starts anew.
    std::shared_ptr<void> abandon(nullptr, [this](void*) {
      if (!pass_started_) return;
      for (Bucket& bucket : buckets_) {
        try {
          bucket.work.wait();
        } catch (const Error&) {
          // the backward that posted it has already failed; its error is the one to report
        }
      }
      std::fill(used_.begin(), used_.end(), false);
      shard_ = 0;
      reset_pass();
    });
    autograd::queue_callback([this, abandon] { finish_backward(); });
  }
  autograd::NoGradGuard no_grad;
  Bucket& bucket = buckets_[place_[i].bucket];
  const Tensor& p = params_[i];
  Tensor grad = p.grad();
  Tensor slot = local_slot(i);
  if (grad.raw_data() != slot.raw_data()) slot.copy_(grad);
  // Deterministic mode: the next shard's backward starts from no gradient, so shards stay apart.
  if (local_shards_ > 0) p.set_grad(Tensor());
  ready_[i] = true;
  used_[i] = true;
  --bucket.pending;
  post_full_buckets();
}

// Posts, in bucket order, every bucket from next_bucket_ on whose gradients are all in: buckets
// go to the communication thread in the same order on every rank whatever order backward fills
// them in. In deterministic mode only the last local shard communicates.
void DataParallel::post_full_buckets() {
  while (next_bucket_ < buckets_.size() && buckets_[next_bucket_].pending == 0) {
    Bucket& bucket = buckets_[next_bucket_++];
    if (local_shards_ == 0) {
      bucket.work = group_.allreduce(bucket.flat, ReduceOp::Avg);
    } else if (shard_ == local_shards_ - 1) {
      bucket.work = group_.allgather(bucket.gathered, bucket.shards);
    }
  }
}

void DataParallel::record_timeline(Timeline::Clock::time_point waiting) const {
  Timeline& timeline = *options_.timeline;
  timeline.add("wait for buckets", "compute", waiting, Timeline::Clock::now());
  for (size_t b = 0; b < buckets_.size(); ++b) {
    if (std::optional<Work::Times> times = buckets_[b].work.times()) {
      timeline.add(fmt::format("{} bucket {} ({} KiB)", local_shards_ > 0 ? "allgather" : "allreduce", b,
                               buckets_[b].flat.numel() * buckets_[b].flat.element_size() / 1024),
                   "communication", times->started, times->finished);
    }
  }
}

// Queued on the engine by the first hook of a backward: runs after its last node. Parameters
// without a gradient in this backward join their buckets now (a gradient accumulated under
// no_sync, or zeros), the ranks agree on which parameters were used, and every gradient becomes
// its bucket's view of the averaged values.
void DataParallel::finish_backward() {
  struct ResetAtExit {
    DataParallel& self;
    ~ResetAtExit() { self.reset_pass(); }
  } reset_at_exit{*this};
  autograd::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    if (ready_[i]) continue;
    Bucket& bucket = buckets_[place_[i].bucket];
    Tensor slot = local_slot(i);
    Tensor grad = params_[i].grad();
    if (grad.defined()) {
      if (grad.raw_data() != slot.raw_data()) slot.copy_(grad);
      if (local_shards_ > 0) params_[i].set_grad(Tensor());
      used_[i] = true;
    } else {
      slot.zero_();
    }
    --bucket.pending;
  }
  post_full_buckets();
  if (local_shards_ > 0 && shard_ < local_shards_ - 1) {
    ++shard_;  // the step goes on with the next local shard
    return;
  }
  shard_ = 0;

  // How many ranks used each parameter: every rank gets the same counts, so the same verdict.
  Tensor used = core::zeros({static_cast<int64_t>(params_.size())}, {.dtype = kInt64});
  int64_t* flags = used.data<int64_t>();
  for (size_t i = 0; i < params_.size(); ++i) flags[i] = used_[i] ? 1 : 0;
  std::fill(used_.begin(), used_.end(), false);
  Work agreement = group_.allreduce(used, ReduceOp::Sum);
  Timeline::Clock::time_point waiting = Timeline::Clock::now();
  for (Bucket& bucket : buckets_) bucket.work.wait();
  agreement.wait();
  if (options_.timeline != nullptr) record_timeline(waiting);
  const int world = group_.world_size();
  for (size_t i = 0; i < params_.size(); ++i) {
    check<ValueError>(options_.find_unused_parameters || flags[i] == world,
                      "DataParallel: parameter '{}' got no gradient in this backward on {} of {} ranks; pass "
                      "find_unused_parameters = true if a step may leave parameters unused (their gradient then "
                      "counts as zero)",
                      names_[i], world - flags[i], world);
  }
  for (Bucket& bucket : buckets_) {
    if (local_shards_ > 0) {
      // Every shard's gradient, summed in shard order whichever rank computed it, then averaged.
      bucket.flat.copy_(bucket.gathered.select(0, 0));
      for (int64_t s = 1; s < options_.deterministic_shards; ++s) bucket.flat.add_(bucket.gathered.select(0, s));
      bucket.flat.div_(static_cast<double>(options_.deterministic_shards));
    }
    for (size_t k = 0; k < bucket.params.size(); ++k) {
      const Tensor& p = params_[bucket.params[k]];
      // A parameter no rank used keeps no gradient, so the optimizer skips it as it would alone.
      p.set_grad(flags[bucket.params[k]] == 0 ? Tensor() : bucket.slot(bucket.flat, k, p));
    }
  }
}

}  // namespace descent::dist
