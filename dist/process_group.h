// The distributed runtime and its collectives: dist::init / finalize (or a dist::Session), the
// world's rank and size, and ProcessGroup's allreduce, broadcast, allgather, reduce_scatter and
// barrier on tensors, each returning a Work handle. Read ProcessGroup first; MPI stays in the .cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <descent/core/error.h>
#include <descent/core/tensor.h>

namespace descent::dist {

// A collective that did not finish within its group's timeout (a rank did not join, or hangs).
class TimeoutError : public Error {
 public:
  using Error::Error;
};

// A failure of the transport itself (an MPI call that returned an error), or a group that can no
// longer be used (finalised, or broken by an earlier timeout).
class CommError : public Error {
 public:
  using Error::Error;
};

enum class ReduceOp { Sum, Avg };  // Avg = Sum / world_size, floating dtypes only

struct Options {
  // How long wait() waits for a collective, counted from when it was posted.
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  // Before each collective the ranks exchange what they pass (op, dtype, shape, root) in one
  // small allgather, so a mismatch between ranks or a bad input on one rank is an error on every
  // rank instead of a hang or a corrupted buffer. Off saves that round trip per collective.
  bool check_across_ranks = true;
};

namespace detail {
struct WorkState;
struct GroupState;
}  // namespace detail

// The handle of one posted collective. wait() blocks until it has finished and rethrows its
// error (a mismatch between ranks, an MPI failure, a TimeoutError after the group's timeout).
// NOTE: the tensors a collective reads or writes belong to it until wait() returns: touching
// them before is a data race with the communication thread.
class Work {
 public:
  Work() = default;  // an already finished, empty collective
  explicit Work(std::shared_ptr<detail::WorkState> state) : state_(std::move(state)) {}

  void wait() const;
  bool is_completed() const;  // true when finished (successfully or not); never blocks

  // When the collective was posted, when the communication thread started it (its MPI calls),
  // and when it finished; only for a finished collective over MPI (the communication timeline).
  struct Times {
    std::chrono::steady_clock::time_point posted, started, finished;
  };
  std::optional<Times> times() const;

 private:
  std::shared_ptr<detail::WorkState> state_;
};

// The ranks taking part in collectives, with their transport: Open MPI (a communicator, all its
// calls made on the one communication thread, in the order collectives were posted), or, in a
// program started without mpirun, a single local process (world 1, no MPI at all). Copies share
// one group. Every rank must post the same collectives in the same order.
//
// Tensors: float32, float64 or int64, contiguous; collectives work in place on their storage
// (outside autograd) and bump its version.
class ProcessGroup {
 public:
  explicit ProcessGroup(std::shared_ptr<detail::GroupState> state) : state_(std::move(state)) {}

  int rank() const;
  int world_size() const;
  bool uses_mpi() const;  // false for the local world-1 group

  // Reduces `tensor` over all ranks in place: every rank ends with the sum (or the mean).
  Work allreduce(const Tensor& tensor, ReduceOp op = ReduceOp::Sum);
  // Copies rank `root`'s `tensor` into every other rank's `tensor` (same shape and dtype).
  Work broadcast(const Tensor& tensor, int root = 0);
  // Gathers every rank's `input` into `output`, in rank order: output is [world_size, *input]
  // (stacked) or [world_size * input[0], input[1], ...] (concatenated along dim 0).
  Work allgather(const Tensor& output, const Tensor& input);
  // Reduces `input` over all ranks and leaves piece `rank` of it in `output`: input is
  // [world_size, *output] or [world_size * output[0], output[1], ...].
  Work reduce_scatter(const Tensor& output, const Tensor& input, ReduceOp op = ReduceOp::Sum);
  // Finishes when every rank has reached it.
  Work barrier();

  // Payload bytes this rank has handed to the transport (allreduce: the tensor; broadcast: the
  // tensor on the root; allgather, reduce_scatter: the input), 0 in a world of one. Not the
  // bytes on the wire, which depend on MPI's algorithm, nor the small cross-rank checks.
  int64_t bytes_sent() const;
  void reset_bytes_sent();

  std::chrono::milliseconds timeout() const;
  void set_timeout(std::chrono::milliseconds timeout);

  // A new group of the same ranks with its own communicator (MPI_Comm_dup), its own counter and
  // timeout; a timeout breaks only the group it happened in. Collective: every rank calls it.
  ProcessGroup duplicate() const;

 private:
  std::shared_ptr<detail::GroupState> state_;
};

// Starts the runtime. Under mpirun (Open MPI's OMPI_COMM_WORLD_SIZE in the environment) it starts
// the communication thread, which calls MPI_Init_thread and owns every later MPI call; otherwise
// the world is this process alone and MPI is never touched. Call it once, before any collective.
void init(int& argc, char**& argv, const Options& options = {});
void init(const Options& options = {});
// Drains the communication thread (posted collectives finish first), calls MPI_Finalize and
// joins it. Throws TimeoutError when that does not happen within the timeout (then the thread is
// left to the process's exit). Without init, or called twice, it does nothing.
void finalize();
bool is_initialized();

// The world: every process of the job. Without init, in a program not started by mpirun, a
// local world of one; under mpirun without init, an error.
ProcessGroup& world();
int rank();
int world_size();

// init in the constructor, finalize in the destructor (whose errors it swallows: a destructor
// must not throw; call finalize() yourself to see them).
class Session {
 public:
  Session(int& argc, char**& argv, const Options& options = {}) { init(argc, argv, options); }
  explicit Session(const Options& options = {}) { init(options); }
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
};

}  // namespace descent::dist
