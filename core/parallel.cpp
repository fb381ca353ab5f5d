// The thread count shared by OpenMP and OpenBLAS.
#include <descent/core/parallel.h>

#include <atomic>
#include <thread>

#include <cblas.h>

#include <descent/core/error.h>

namespace descent {

namespace {
int initial_threads() {
  int n = omp_get_max_threads();
  return n > 0 ? n : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}
std::atomic<int> g_num_threads{initial_threads()};
}  // namespace

int get_num_threads() { return g_num_threads.load(std::memory_order_relaxed); }

void set_num_threads(int n) {
  check<ValueError>(n >= 1, "set_num_threads: {} threads requested, at least 1 needed", n);
  g_num_threads.store(n, std::memory_order_relaxed);
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

}  // namespace descent
