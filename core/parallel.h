// One threading policy for the whole library: parallel_for over an index range, run by descent's
// own pool of threads that sleep when idle (see core/parallel.cpp and docs/ARCHITECTURE.md,
// "Threads", for why not OpenMP), and set_num_threads, which also keeps OpenBLAS on one thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <exception>
#include <mutex>

namespace descent {

// The number of threads parallel_for uses (default: OMP_NUM_THREADS, else the number of cores).
int get_num_threads();
// Sets the thread count of parallel_for. n must be between 1 and kMaxThreads.
void set_num_threads(int n);
inline constexpr int kMaxThreads = 1024;

// Elementwise loops below this many elements run on one thread.
inline constexpr int64_t kElementwiseGrain = 32768;

// True on a pool thread, and on a caller while its parallel_for runs: a nested parallel_for (and
// a GEMM, see core/linalg.cpp) then runs on the calling thread alone.
bool in_parallel_region();

namespace detail {
// Runs run_chunk(context, i) for every i in [0, chunks) on the pool and the caller, each chunk
// once, whichever thread is free first taking the next; returns when all have returned.
// run_chunk must not throw. Called by parallel_for only.
void run_on_pool(int64_t chunks, void (*run_chunk)(void* context, int64_t chunk), void* context);
}  // namespace detail

// Calls body(chunk_begin, chunk_end) over [begin, end) split into at most get_num_threads()
// contiguous chunks of at least `grain` indices (the chunks depend only on the range, the grain
// and the thread count). Runs inline when the range is small or when already inside a parallel
// region. An exception thrown by body is rethrown on the caller (the first one, if several).
template <typename Body>
void parallel_for(int64_t begin, int64_t end, int64_t grain, const Body& body) {
  int64_t range = end - begin;
  if (range <= 0) return;
  int64_t max_chunks = grain > 0 ? std::max<int64_t>(range / grain, 1) : range;
  int64_t chunks = std::min<int64_t>(get_num_threads(), max_chunks);
  if (chunks <= 1 || in_parallel_region()) {
    body(begin, end);
    return;
  }
  struct Context {
    const Body& body;
    int64_t begin, end, chunk;
    std::mutex failure_mutex;
    std::exception_ptr failure;
  } context{body, begin, end, (range + chunks - 1) / chunks, {}, {}};
  auto run_chunk = [](void* opaque, int64_t i) {
    auto& c = *static_cast<Context*>(opaque);
    int64_t chunk_begin = c.begin + i * c.chunk, chunk_end = std::min(c.end, chunk_begin + c.chunk);
    if (chunk_begin >= chunk_end) return;
    try {
      c.body(chunk_begin, chunk_end);
    } catch (...) {
      std::lock_guard lock(c.failure_mutex);
      if (!c.failure) c.failure = std::current_exception();
    }
  };
  detail::run_on_pool(chunks, run_chunk, &context);
  if (context.failure) std::rethrow_exception(context.failure);
}

}  // namespace descent
