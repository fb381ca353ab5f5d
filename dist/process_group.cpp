// The process group's transport: the one file that calls MPI. A single communication thread
// (CommThread) initialises MPI, runs every collective in the order posted and finalises MPI;
// callers only queue work and wait. Read ProcessGroup::allreduce, then post() and run_collective().
// NOTE: Open MPI makes no progress on non-blocking collectives in the background, so the thread
// runs blocking ones (as Horovod and PyTorch's MPI backend do), under MPI_THREAD_FUNNELED.
#include <descent/dist/process_group.h>

#include <array>
#include <atomic>
#include <climits>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <mpi.h>

namespace descent::dist {

namespace {

using Clock = std::chrono::steady_clock;

std::string mpi_error_string(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) return fmt::format("MPI error {}", code);
  return std::string(text, length);
}

// Throws CommError naming the collective and the MPI call when `code` is not MPI_SUCCESS.
void check_mpi(int code, std::string_view what, std::string_view call) {
  if (code != MPI_SUCCESS) throw CommError(fmt::format("{}: {} failed: {}", what, call, mpi_error_string(code)));
}

// The thread that owns MPI: tasks run one at a time in FIFO order. It keeps itself alive (the
// thread holds a shared_ptr), so that finalize can leave a thread stuck in MPI to the process's exit.
class CommThread : public std::enable_shared_from_this<CommThread> {
 public:
  void start() {
    thread_ = std::thread([self = shared_from_this()] { self->run(); });
  }

  // Queues a task; CommError when the thread is stopping or stopped.
  void push(std::function<void()> task, std::string_view what) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) throw CommError(fmt::format("{}: the distributed runtime is finalised", what));
      queue_.push_back(std::move(task));
    }
    cv_.notify_one();
  }

  // Queues `last` as the final task and stops accepting others; the thread ends after it.
  void push_last(std::function<void()> last) {
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(last));
      stopping_ = true;
    }
    cv_.notify_one();
  }

  void join() { thread_.join(); }
  void detach() { thread_.detach(); }

  // Communicators made by ProcessGroup::duplicate, freed before MPI_Finalize. Comm thread only.
  std::vector<MPI_Comm> owned_comms;

 private:
  void run() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return !queue_.empty(); });
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();  // tasks catch their own exceptions
      task = nullptr;  // release its tensors here, before waiting for the next
      std::lock_guard lock(mutex_);
      if (stopping_ && queue_.empty()) return;
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

// Runs fn on the communication thread and waits for its result (setup calls: init, dup).
template <typename Fn>
auto call_on(CommThread& comm, std::string_view what, std::chrono::milliseconds timeout, Fn fn) {
  using Result = decltype(fn());
  auto promise = std::make_shared<std::promise<Result>>();
  std::future<Result> future = promise->get_future();
  comm.push(
      [promise, fn = std::move(fn)]() mutable {
        try {
          if constexpr (std::is_void_v<Result>) {
            fn();
            promise->set_value();
          } else {
            promise->set_value(fn());
          }
        } catch (...) {
          promise->set_exception(std::current_exception());
        }
      },
      what);
  if (future.wait_for(timeout) != std::future_status::ready) {
    throw TimeoutError(fmt::format("{}: did not finish within {} ms", what, timeout.count()));
  }
  return future.get();
}

bool under_mpirun() { return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr; }

}  // namespace

namespace detail {

struct GroupState {
  std::shared_ptr<CommThread> comm;  // null for the local world of one
  MPI_Comm communicator = MPI_COMM_NULL;
  int rank = 0;
  int world_size = 1;
  bool check_across_ranks = true;
  std::atomic<int64_t> bytes_sent{0};
  std::atomic<int64_t> timeout_ms{60000};

  std::mutex broken_mutex;
  std::string broken;  // why the group can no longer be used (a timed-out collective); empty if fine

  void mark_broken(const std::string& why) {
    std::lock_guard lock(broken_mutex);
    if (broken.empty()) broken = why;
  }
  void check_not_broken(std::string_view op) {
    std::lock_guard lock(broken_mutex);
    if (!broken.empty()) throw CommError(fmt::format("{}: the process group is broken: {}", op, broken));
  }
};

struct WorkState {
  std::string description;  // "allreduce (sum) of [4, 3] float32", for errors
  Clock::time_point deadline;
  Work::Times times;  // posted is set before the task is queued, started and finished by it
  std::shared_ptr<GroupState> group;

  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  std::exception_ptr error;

  void finish(std::exception_ptr e) {
    {
      std::lock_guard lock(mutex);
      times.finished = Clock::now();
      done = true;
      error = std::move(e);
    }
    cv.notify_all();
  }
};

}  // namespace detail

// ---- Work ----

void Work::wait() const {
  if (!state_) return;
  detail::WorkState& s = *state_;
  std::unique_lock lock(s.mutex);
  if (!s.cv.wait_until(lock, s.deadline, [&] { return s.done; })) {
    std::string message = fmt::format("{}: timed out after {} ms on rank {} of {} (a rank did not post it, or is stuck)",
                                      s.description, s.group->timeout_ms.load(), s.group->rank, s.group->world_size);
    s.group->mark_broken(message);
    throw TimeoutError(message);
  }
  if (s.error) std::rethrow_exception(s.error);
}

std::optional<Work::Times> Work::times() const {
  if (!state_) return std::nullopt;
  std::lock_guard lock(state_->mutex);
  if (!state_->done) return std::nullopt;
  return state_->times;
}

bool Work::is_completed() const {
  if (!state_) return true;
  std::lock_guard lock(state_->mutex);
  return state_->done;
}

// ---- one collective: what it is, its checks and its MPI call ----

namespace {

enum class Kind : int64_t { Allreduce = 1, Broadcast, Allgather, ReduceScatter, Barrier };

std::string_view kind_name(Kind kind) {
  switch (kind) {
    case Kind::Allreduce: return "allreduce";
    case Kind::Broadcast: return "broadcast";
    case Kind::Allgather: return "allgather";
    case Kind::ReduceScatter: return "reduce_scatter";
    case Kind::Barrier: return "barrier";
  }
  return "?";
}

struct Collective {
  Kind kind = Kind::Barrier;
  Tensor tensor;  // allreduce, broadcast: in and out; allgather, reduce_scatter: the input
  Tensor output;  // allgather, reduce_scatter
  ReduceOp op = ReduceOp::Sum;
  int root = 0;
};

// What every rank must agree on, exchanged before the collective: kind, valid, dtype, op, root,
// then the shape of `tensor` (allgather) or of the piece (reduce_scatter): ndim, sizes.
constexpr int kFingerprintLength = 6 + kMaxDims;
using Fingerprint = std::array<int64_t, kFingerprintLength>;

// The shape the ranks must agree on: the tensor, or for reduce_scatter each rank's piece.
const Tensor& agreed_tensor(const Collective& c) { return c.kind == Kind::ReduceScatter ? c.output : c.tensor; }

Fingerprint fingerprint(const Collective& c, bool valid) {
  Fingerprint f{};
  f[0] = static_cast<int64_t>(c.kind);
  f[1] = valid ? 1 : 0;
  if (c.kind != Kind::Barrier && valid) {
    const Tensor& t = agreed_tensor(c);
    f[2] = static_cast<int64_t>(t.dtype());
    f[3] = c.kind == Kind::Allreduce || c.kind == Kind::ReduceScatter ? static_cast<int64_t>(c.op) : 0;
    f[4] = c.kind == Kind::Broadcast ? c.root : 0;
    f[5] = t.dim();
    for (int d = 0; d < t.dim(); ++d) f[6 + d] = t.size(d);
  }
  return f;
}

// "allreduce (sum) of [4, 3] float32", the same text on every rank for the same fingerprint.
std::string describe(const Fingerprint& f) {
  Kind kind = static_cast<Kind>(f[0]);
  if (kind == Kind::Barrier) return "barrier";
  std::string text(kind_name(kind));
  if (kind == Kind::Allreduce || kind == Kind::ReduceScatter) {
    text += static_cast<ReduceOp>(f[3]) == ReduceOp::Avg ? " (avg)" : " (sum)";
  }
  if (kind == Kind::Broadcast) text += fmt::format(" from root {}", f[4]);
  Dims sizes = Dims::filled(static_cast<int>(f[5]), 0);
  for (int d = 0; d < sizes.size(); ++d) sizes[d] = f[6 + d];
  text += fmt::format(" of {} {}", sizes, dtype_name(static_cast<DType>(f[2])));
  return text;
}

std::string describe(const Collective& c) { return describe(fingerprint(c, true)); }

void check_tensor(const Tensor& t, std::string_view op, std::string_view role) {
  check<ValueError>(t.defined(), "{}: the {} tensor is undefined", op, role);
  DType dtype = t.dtype();
  check<DTypeError>(dtype == kFloat32 || dtype == kFloat64 || dtype == kInt64,
                    "{}: the {} tensor of shape {} has dtype {}; collectives take float32, float64 or int64", op,
                    role, t.sizes(), dtype_name(dtype));
  check<ValueError>(t.is_contiguous(), "{}: the {} tensor of shape {} with strides {} is not contiguous", op, role,
                    t.sizes(), t.strides());
  check<ValueError>(t.numel() <= INT_MAX, "{}: the {} tensor of shape {} has {} elements, more than MPI's count {}",
                    op, role, t.sizes(), t.numel(), INT_MAX);
}

// `big` is [world, *small] or [world * small[0], small[1], ...], of small's dtype, in other memory.
void check_world_layout(const Tensor& big, const Tensor& small, int world, std::string_view op,
                        std::string_view big_role, std::string_view small_role) {
  check<DTypeError>(big.dtype() == small.dtype(), "{}: {} dtype {} differs from {} dtype {}", op, big_role,
                    dtype_name(big.dtype()), small_role, dtype_name(small.dtype()));
  Dims stacked = small.sizes();
  if (small.dim() < kMaxDims) stacked.insert(0, world);
  bool is_stacked = small.dim() < kMaxDims && big.sizes() == stacked;
  bool is_concatenated = false;
  if (small.dim() > 0) {
    Dims concatenated = small.sizes();
    concatenated[0] *= world;
    is_concatenated = big.sizes() == concatenated;
  }
  check<ShapeError>(is_stacked || is_concatenated,
                    "{}: {} of shape {} does not fit {} of shape {} from {} ranks: expected {}{}", op, big_role,
                    big.sizes(), small_role, small.sizes(), world, stacked,
                    small.dim() > 0 ? fmt::format(" or [{} * {}, ...]", world, small.size(0)) : "");
  check<ValueError>(!big.shares_storage(small), "{}: {} and {} share storage", op, big_role, small_role);
}

// The checks of one rank's own arguments; throws the error a bad one deserves.
void check_local(const Collective& c, int world_size) {
  std::string_view op = kind_name(c.kind);
  switch (c.kind) {
    case Kind::Barrier: return;
    case Kind::Allreduce:
    case Kind::Broadcast: check_tensor(c.tensor, op, "input"); break;
    case Kind::Allgather:
    case Kind::ReduceScatter:
      check_tensor(c.tensor, op, "input");
      check_tensor(c.output, op, "output");
      if (c.kind == Kind::Allgather) {
        check_world_layout(c.output, c.tensor, world_size, op, "output", "input");
      } else {
        check_world_layout(c.tensor, c.output, world_size, op, "input", "output");
      }
      break;
  }
  if ((c.kind == Kind::Allreduce || c.kind == Kind::ReduceScatter) && c.op == ReduceOp::Avg) {
    check<DTypeError>(is_floating(c.tensor.dtype()), "{}: avg of a {} tensor of shape {} is not defined (use sum)",
                      op, dtype_name(c.tensor.dtype()), c.tensor.sizes());
  }
  if (c.kind == Kind::Broadcast) {
    check<ValueError>(c.root >= 0 && c.root < world_size, "broadcast: root {} out of range for a world of {}",
                      c.root, world_size);
  }
}

// Every rank's fingerprint, compared: an invalid input or a disagreement is an error on every rank.
void agree_across_ranks(const detail::GroupState& group, const Fingerprint& mine, std::string_view what) {
  std::vector<int64_t> all(static_cast<size_t>(kFingerprintLength) * group.world_size);
  check_mpi(MPI_Allgather(mine.data(), kFingerprintLength, MPI_INT64_T, all.data(), kFingerprintLength, MPI_INT64_T,
                          group.communicator),
            what, "MPI_Allgather (the cross-rank check)");
  auto of_rank = [&](int r) {
    Fingerprint f;
    std::copy_n(all.begin() + static_cast<ptrdiff_t>(r) * kFingerprintLength, kFingerprintLength, f.begin());
    return f;
  };
  for (int r = 0; r < group.world_size; ++r) {
    Fingerprint f = of_rank(r);
    if (f[1] == 0) {
      throw ValueError(fmt::format("{}: rank {} passed an invalid input (its error says why)",
                                   kind_name(static_cast<Kind>(f[0])), r));
    }
  }
  Fingerprint first = of_rank(0);
  for (int r = 1; r < group.world_size; ++r) {
    Fingerprint f = of_rank(r);
    if (f != first) {
      throw ShapeError(fmt::format("{}: the ranks disagree: rank 0 posts {}, rank {} posts {}",
                                   kind_name(static_cast<Kind>(mine[0])), describe(first), r, describe(f)));
    }
  }
}

MPI_Datatype mpi_type(DType dtype) {
  switch (dtype) {
    case DType::Float32: return MPI_FLOAT;
    case DType::Float64: return MPI_DOUBLE;
    case DType::Int64: return MPI_INT64_T;
    case DType::Bool: break;
  }
  throw DTypeError(fmt::format("collective: dtype {} has no MPI type", dtype_name(dtype)));
}

void divide_by_world(const Tensor& t, int world_size) {
  dispatch<FloatingTypes>(t.dtype(), "avg", [&]<typename T>() {
    T* data = static_cast<T*>(t.raw_data());
    T n = static_cast<T>(world_size);
    for (int64_t i = 0; i < t.numel(); ++i) data[i] /= n;
  });
}

int count(const Tensor& t) { return static_cast<int>(t.numel()); }

// On the communication thread: the cross-rank check, then the MPI call. Returns the payload bytes.
int64_t run_collective(const detail::GroupState& group, const Collective& c, const std::string& what) {
  if (group.check_across_ranks) agree_across_ranks(group, fingerprint(c, true), what);
  MPI_Comm comm = group.communicator;
  const Tensor& t = c.tensor;
  switch (c.kind) {
    case Kind::Barrier:
      check_mpi(MPI_Barrier(comm), what, "MPI_Barrier");
      return 0;
    case Kind::Allreduce:
      check_mpi(MPI_Allreduce(MPI_IN_PLACE, t.raw_data(), count(t), mpi_type(t.dtype()), MPI_SUM, comm), what,
                "MPI_Allreduce");
      if (c.op == ReduceOp::Avg) divide_by_world(t, group.world_size);
      return t.numel() * t.element_size();
    case Kind::Broadcast:
      check_mpi(MPI_Bcast(t.raw_data(), count(t), mpi_type(t.dtype()), c.root, comm), what, "MPI_Bcast");
      return group.rank == c.root ? t.numel() * t.element_size() : 0;
    case Kind::Allgather:
      check_mpi(MPI_Allgather(t.raw_data(), count(t), mpi_type(t.dtype()), c.output.raw_data(), count(t),
                              mpi_type(t.dtype()), comm),
                what, "MPI_Allgather");
      return t.numel() * t.element_size();
    case Kind::ReduceScatter:
      check_mpi(MPI_Reduce_scatter_block(t.raw_data(), c.output.raw_data(), count(c.output), mpi_type(t.dtype()),
                                         MPI_SUM, comm),
                what, "MPI_Reduce_scatter_block");
      if (c.op == ReduceOp::Avg) divide_by_world(c.output, group.world_size);
      return t.numel() * t.element_size();
  }
  return 0;
}

// The local world of one: a collective is a copy at most, done at once.
void run_local(const Collective& c) {
  if (c.kind == Kind::Allgather || c.kind == Kind::ReduceScatter) {
    std::memcpy(c.output.raw_data(), c.tensor.raw_data(), static_cast<size_t>(c.tensor.numel() * c.tensor.element_size()));
  }
}

// Checks, queues and returns the handle of one collective. A bad input on this rank throws here,
// after queueing a marked fingerprint so that the other ranks fail in their wait() and do not hang.
Work post(const std::shared_ptr<detail::GroupState>& group, Collective c) {
  std::string_view op = kind_name(c.kind);
  group->check_not_broken(op);
  if (!group->comm) {
    check_local(c, group->world_size);
    run_local(c);
    if (c.output.defined()) c.output.bump_version();
    if (c.kind == Kind::Allreduce || c.kind == Kind::Broadcast) c.tensor.bump_version();
    return Work();
  }
  try {
    check_local(c, group->world_size);
  } catch (const Error&) {
    if (group->check_across_ranks) {
      Fingerprint invalid = fingerprint(c, false);
      std::string what(op);
      group->comm->push(
          [group, invalid, what] {
            try {
              agree_across_ranks(*group, invalid, what);
            } catch (...) {  // this rank's own error is the one thrown below
            }
          },
          op);
    }
    throw;
  }
  // The written tensor changes in place: its version moves now, on the caller's thread.
  if (c.kind == Kind::Allreduce || c.kind == Kind::Broadcast) c.tensor.bump_version();
  if (c.output.defined()) c.output.bump_version();

  auto work = std::make_shared<detail::WorkState>();
  work->description = describe(c);
  work->deadline = Clock::now() + std::chrono::milliseconds(group->timeout_ms.load());
  work->group = group;
  work->times.posted = Clock::now();
  group->comm->push(
      [group, work, c = std::move(c)] {
        {
          std::lock_guard lock(work->mutex);
          work->times.started = Clock::now();
        }
        try {
          int64_t bytes = run_collective(*group, c, work->description);
          if (group->world_size > 1) group->bytes_sent += bytes;
          work->finish(nullptr);
        } catch (...) {
          work->finish(std::current_exception());
        }
      },
      op);
  return Work(std::move(work));
}

}  // namespace

// ---- ProcessGroup ----

int ProcessGroup::rank() const { return state_->rank; }
int ProcessGroup::world_size() const { return state_->world_size; }
bool ProcessGroup::uses_mpi() const { return state_->comm != nullptr; }

Work ProcessGroup::allreduce(const Tensor& tensor, ReduceOp op) {
  Collective c;
  c.kind = Kind::Allreduce;
  c.tensor = tensor;
  c.op = op;
  return post(state_, std::move(c));
}

Work ProcessGroup::broadcast(const Tensor& tensor, int root) {
  Collective c;
  c.kind = Kind::Broadcast;
  c.tensor = tensor;
  c.root = root;
  return post(state_, std::move(c));
}

Work ProcessGroup::allgather(const Tensor& output, const Tensor& input) {
  Collective c;
  c.kind = Kind::Allgather;
  c.tensor = input;
  c.output = output;
  return post(state_, std::move(c));
}

Work ProcessGroup::reduce_scatter(const Tensor& output, const Tensor& input, ReduceOp op) {
  Collective c;
  c.kind = Kind::ReduceScatter;
  c.tensor = input;
  c.output = output;
  c.op = op;
  return post(state_, std::move(c));
}

Work ProcessGroup::barrier() {
  Collective c;
  c.kind = Kind::Barrier;
  return post(state_, std::move(c));
}

int64_t ProcessGroup::bytes_sent() const { return state_->bytes_sent.load(); }
void ProcessGroup::reset_bytes_sent() { state_->bytes_sent = 0; }

std::chrono::milliseconds ProcessGroup::timeout() const { return std::chrono::milliseconds(state_->timeout_ms.load()); }

void ProcessGroup::set_timeout(std::chrono::milliseconds timeout) {
  check<ValueError>(timeout.count() > 0, "ProcessGroup::set_timeout: {} ms is not a positive timeout", timeout.count());
  state_->timeout_ms = timeout.count();
}

ProcessGroup ProcessGroup::duplicate() const {
  auto copy = std::make_shared<detail::GroupState>();
  copy->comm = state_->comm;
  copy->rank = state_->rank;
  copy->world_size = state_->world_size;
  copy->check_across_ranks = state_->check_across_ranks;
  copy->timeout_ms = state_->timeout_ms.load();
  if (copy->comm) {
    MPI_Comm parent = state_->communicator;
    CommThread* comm = copy->comm.get();
    copy->communicator = call_on(*comm, "ProcessGroup::duplicate", timeout(), [parent, comm] {
      MPI_Comm dup = MPI_COMM_NULL;
      check_mpi(MPI_Comm_dup(parent, &dup), "ProcessGroup::duplicate", "MPI_Comm_dup");
      comm->owned_comms.push_back(dup);
      return dup;
    });
  }
  return ProcessGroup(std::move(copy));
}

// ---- the runtime ----

namespace {

struct Runtime;
void finalize_locked(Runtime& r);

struct Runtime {
  std::mutex mutex;
  bool initialized = false;
  bool mpi_used = false;  // MPI was initialised once: it cannot be again
  bool world_made = false;
  Options options;
  std::shared_ptr<CommThread> comm;
  ProcessGroup world{nullptr};

  ~Runtime() {
    try {
      std::lock_guard lock(mutex);
      finalize_locked(*this);
    } catch (...) {  // a destructor at exit must not throw
    }
  }
};

Runtime& runtime() {
  static Runtime r;
  return r;
}

std::shared_ptr<detail::GroupState> local_world(const Options& options) {
  auto state = std::make_shared<detail::GroupState>();
  state->timeout_ms = options.timeout.count();
  state->check_across_ranks = options.check_across_ranks;
  return state;
}

void init_impl(int* argc, char*** argv, const Options& options) {
  Runtime& r = runtime();
  std::lock_guard lock(r.mutex);
  check<Error>(!r.initialized, "dist::init: already initialised");
  check<ValueError>(options.timeout.count() > 0, "dist::init: {} ms is not a positive timeout",
                    options.timeout.count());
  r.options = options;
  if (!under_mpirun()) {
    r.world = ProcessGroup(local_world(options));
    r.world_made = true;
    r.initialized = true;
    return;
  }
  check<Error>(!r.mpi_used, "dist::init: MPI was finalised in this process and cannot be initialised again");
  auto comm = std::make_shared<CommThread>();
  comm->start();
  r.mpi_used = true;
  auto state = local_world(options);
  state->comm = comm;
  struct Started {
    MPI_Comm communicator;
    int rank;
    int size;
  };
  Started started;
  try {
    CommThread* thread = comm.get();
    started = call_on(*comm, "dist::init", options.timeout, [argc, argv, thread] {
      int already = 0;
      MPI_Initialized(&already);
      check<Error>(!already, "dist::init: MPI is already initialised: dist must make every MPI call itself");
      int provided = 0;
      check_mpi(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "dist::init", "MPI_Init_thread");
      check<CommError>(provided >= MPI_THREAD_FUNNELED, "dist::init: MPI provides thread level {}, not FUNNELED",
                       provided);
      check_mpi(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "dist::init", "MPI_Comm_set_errhandler");
      Started s{MPI_COMM_NULL, 0, 1};
      check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &s.communicator), "dist::init", "MPI_Comm_dup");
      check_mpi(MPI_Comm_set_errhandler(s.communicator, MPI_ERRORS_RETURN), "dist::init", "MPI_Comm_set_errhandler");
      check_mpi(MPI_Comm_rank(s.communicator, &s.rank), "dist::init", "MPI_Comm_rank");
      check_mpi(MPI_Comm_size(s.communicator, &s.size), "dist::init", "MPI_Comm_size");
      thread->owned_comms.push_back(s.communicator);
      return s;
    });
  } catch (...) {
    comm->push_last([] {});
    comm->detach();  // it may be stuck in MPI_Init; the process's exit ends it
    throw;
  }
  state->communicator = started.communicator;
  state->rank = started.rank;
  state->world_size = started.size;
  r.comm = comm;
  r.world = ProcessGroup(state);
  r.world_made = true;
  r.initialized = true;
}

}  // namespace

void init(int& argc, char**& argv, const Options& options) { init_impl(&argc, &argv, options); }
void init(const Options& options) { init_impl(nullptr, nullptr, options); }

void finalize() {
  Runtime& r = runtime();
  std::lock_guard lock(r.mutex);
  finalize_locked(r);
}

namespace {

void finalize_locked(Runtime& r) {
  if (!r.initialized) return;
  r.initialized = false;
  if (!r.comm) return;
  std::shared_ptr<CommThread> comm = std::move(r.comm);
  auto promise = std::make_shared<std::promise<void>>();
  std::future<void> finished = promise->get_future();
  CommThread* thread = comm.get();
  comm->push_last([promise, thread] {
    try {
      for (MPI_Comm& c : thread->owned_comms) MPI_Comm_free(&c);
      thread->owned_comms.clear();
      check_mpi(MPI_Finalize(), "dist::finalize", "MPI_Finalize");
      promise->set_value();
    } catch (...) {
      promise->set_exception(std::current_exception());
    }
  });
  if (finished.wait_for(r.options.timeout) != std::future_status::ready) {
    comm->detach();
    throw TimeoutError(fmt::format("dist::finalize: MPI_Finalize did not finish within {} ms (a collective is stuck)",
                                   r.options.timeout.count()));
  }
  comm->join();
  finished.get();
}

}  // namespace

bool is_initialized() {
  Runtime& r = runtime();
  std::lock_guard lock(r.mutex);
  return r.initialized;
}

ProcessGroup& world() {
  Runtime& r = runtime();
  std::lock_guard lock(r.mutex);
  if (!r.initialized) {
    check<Error>(!r.mpi_used, "dist::world: the distributed runtime is finalised");
    check<Error>(!under_mpirun(), "dist::world: the program runs under mpirun (OMPI_COMM_WORLD_SIZE={}) but "
                 "dist::init was not called", std::getenv("OMPI_COMM_WORLD_SIZE"));
    if (!r.world_made) r.world = ProcessGroup(local_world(r.options));  // world 1 without init
    r.world_made = true;
  }
  return r.world;
}

int rank() { return world().rank(); }
int world_size() { return world().world_size(); }

Session::~Session() {
  try {
    finalize();
  } catch (...) {  // see the class comment
  }
}

}  // namespace descent::dist
