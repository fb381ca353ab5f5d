// One threading policy for the whole library: parallel_for over an index range (OpenMP under it),
// and set_num_threads, which sets both OpenMP's and OpenBLAS's thread counts so that they never
// oversubscribe the cores.
#pragma once

#include <algorithm>
#include <cstdint>
#include <exception>

#include <omp.h>

namespace descent {

// The number of threads parallel_for and OpenBLAS use (default: the number of cores).
int get_num_threads();
// Sets the thread count of parallel_for and of OpenBLAS. n must be >= 1.
void set_num_threads(int n);

// Elementwise loops below this many elements run on one thread.
inline constexpr int64_t kElementwiseGrain = 32768;

// Calls body(chunk_begin, chunk_end) over [begin, end) split into at most get_num_threads()
// contiguous chunks of at least `grain` indices. Runs inline when the range is small or when
// already inside a parallel region. An exception thrown by body is rethrown on the caller.
template <typename Body>
void parallel_for(int64_t begin, int64_t end, int64_t grain, const Body& body) {
  int64_t range = end - begin;
  if (range <= 0) return;
  int64_t max_chunks = grain > 0 ? std::max<int64_t>(range / grain, 1) : range;
  int threads = static_cast<int>(std::min<int64_t>(get_num_threads(), max_chunks));
  if (threads <= 1 || omp_in_parallel()) {
    body(begin, end);
    return;
  }
  std::exception_ptr failure;
#pragma omp parallel num_threads(threads)
  {
    int64_t id = omp_get_thread_num();
    int64_t count = omp_get_num_threads();
    int64_t chunk = (range + count - 1) / count;
    int64_t chunk_begin = begin + id * chunk;
    int64_t chunk_end = std::min(end, chunk_begin + chunk);
    if (chunk_begin < chunk_end) {
      try {
        body(chunk_begin, chunk_end);
      } catch (...) {
#pragma omp critical(descent_parallel_for_failure)
        if (!failure) failure = std::current_exception();
      }
    }
  }
  if (failure) std::rethrow_exception(failure);
}

}  // namespace descent
