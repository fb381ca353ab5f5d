// descent's thread pool, under parallel_for: workers that claim chunks of a job one at a time and
// sleep (a futex, through C++20 atomic wait) after a short spin when there is none. Why not OpenMP:
// docs/ARCHITECTURE.md, "Threads". Also the thread count, and OpenBLAS kept on one thread.
#include <descent/core/parallel.h>

#include <atomic>
#include <thread>
#include <vector>

#include <cblas.h>
#include <omp.h>

#include <descent/core/error.h>

namespace descent {

namespace {

int initial_threads() {
  int n = omp_get_max_threads();  // OMP_NUM_THREADS if set, else the cores
  n = n > 0 ? n : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::min(n, kMaxThreads);
}

// OpenBLAS runs every GEMM on its caller's thread: descent threads products itself, on this pool
// (core/linalg.cpp, which also sets each calling thread's OpenMP count to 1, the count OpenBLAS's
// OpenMP build follows).
void keep_openblas_on_one_thread() { openblas_set_num_threads(1); }

std::atomic<int> g_num_threads{[] {
  int n = initial_threads();  // first: OpenBLAS sets this thread's OpenMP count to its own
  keep_openblas_on_one_thread();
  return n;
}()};

thread_local bool t_in_parallel_region = false;

// A short spin before sleeping: a new job usually follows within microseconds on an idle machine,
// and waking a sleeping thread costs a system call on each side. NOTE: libgomp spins 300,000
// iterations by default, which on a machine with a busy core is what made 2 threads run 6x slower
// than 1; this spin is three orders of magnitude shorter.
constexpr int kSpinIterations = 256;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Waits until `value` differs from `old`: spins, then sleeps in atomic wait.
template <typename T>
T wait_for_change(const std::atomic<T>& value, T old) {
  for (int i = 0; i < kSpinIterations; ++i) {
    T now = value.load(std::memory_order_acquire);
    if (now != old) return now;
    cpu_relax();
  }
  value.wait(old, std::memory_order_acquire);
  return value.load(std::memory_order_acquire);
}

// One job at a time. Its ticket packs (job number << 32) | (chunks << 16) | next unclaimed chunk,
// so claiming a chunk is one compare-exchange that fails if the job has changed, and a worker that
// wakes late can never take a chunk of the wrong job. The caller takes chunks too, so it never
// waits for a chunk nobody took: a descheduled worker only delays the chunk it is running.
class Pool {
 public:
  using RunChunk = void (*)(void*, int64_t);

  void run(int64_t chunks, RunChunk run_chunk, void* context) {
    std::unique_lock dispatch(dispatch_, std::try_to_lock);
    if (!dispatch.owns_lock()) {  // another thread's job holds the pool: run this one here
      t_in_parallel_region = true;
      for (int64_t i = 0; i < chunks; ++i) run_chunk(context, i);
      t_in_parallel_region = false;
      return;
    }
    start_workers(static_cast<int>(chunks) - 1);
    run_chunk_ = run_chunk;
    context_ = context;
    completed_.store(0, std::memory_order_relaxed);
    uint64_t ticket = ((ticket_.load(std::memory_order_relaxed) >> 32) + 1) << 32 | uint64_t(chunks) << 16;
    ticket_.store(ticket, std::memory_order_release);
    wake_.fetch_add(1, std::memory_order_release);
    wake_.notify_all();
    t_in_parallel_region = true;
    take_chunks(ticket);
    t_in_parallel_region = false;
    for (uint32_t done = completed_.load(std::memory_order_acquire); done != chunks;) {
      done = wait_for_change(completed_, done);
    }
  }

 private:
  static int64_t chunks_of(uint64_t ticket) { return (ticket >> 16) & 0xffff; }
  static int64_t next_of(uint64_t ticket) { return ticket & 0xffff; }

  // Runs chunks of the job `ticket` names until none is left (or, on a worker, the job changes).
  void take_chunks(uint64_t ticket) {
    while (next_of(ticket) < chunks_of(ticket)) {
      if (!ticket_.compare_exchange_weak(ticket, ticket + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
        continue;  // ticket now holds the current value
      }
      const int64_t chunks = chunks_of(ticket);
      run_chunk_(context_, next_of(ticket));  // read after the claim: the job cannot change before it completes
      if (completed_.fetch_add(1, std::memory_order_acq_rel) + 1 == chunks) completed_.notify_all();
      ticket = ticket_.load(std::memory_order_acquire);
    }
  }

  void start_workers(int wanted) {
    while (workers_ < wanted) {
      ++workers_;
      std::thread([this] { work(); }).detach();
    }
  }

  [[noreturn]] void work() {
    t_in_parallel_region = true;  // a pool thread runs nested parallel_for and GEMMs inline
    uint32_t seen = wake_.load(std::memory_order_acquire);
    while (true) {
      take_chunks(ticket_.load(std::memory_order_acquire));
      seen = wait_for_change(wake_, seen);
    }
  }

  std::mutex dispatch_;
  int workers_ = 0;  // guarded by dispatch_
  std::atomic<uint64_t> ticket_{0};
  std::atomic<uint32_t> wake_{0}, completed_{0};
  RunChunk run_chunk_ = nullptr;
  void* context_ = nullptr;
};

// NOTE: never destroyed: the workers are detached and may be asleep in it at exit, and a static
// destructor elsewhere may still call parallel_for.
Pool& pool() {
  static Pool* const instance = new Pool;
  return *instance;
}

}  // namespace

int get_num_threads() { return g_num_threads.load(std::memory_order_relaxed); }

void set_num_threads(int n) {
  check<ValueError>(n >= 1 && n <= kMaxThreads, "set_num_threads: {} threads requested, 1 to {} allowed", n,
                    kMaxThreads);
  g_num_threads.store(n, std::memory_order_relaxed);
  keep_openblas_on_one_thread();
}

bool in_parallel_region() { return t_in_parallel_region; }

namespace detail {
void run_on_pool(int64_t chunks, void (*run_chunk)(void*, int64_t), void* context) {
  pool().run(chunks, run_chunk, context);
}
}  // namespace detail

}  // namespace descent
