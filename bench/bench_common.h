// What every benchmark suite in bench/ shares: running a benchmark with the thread count of its
// first argument (descent's OpenMP and OpenBLAS threads), restored afterwards so that the next
// benchmark starts from the default.
#pragma once

#include <cstdint>

#include <benchmark/benchmark.h>

#include <descent/descent.h>

namespace descent::bench {

// Sets descent's thread count for one scope and restores the previous count after it.
class ThreadCountScope {
 public:
  explicit ThreadCountScope(int64_t threads) : previous_(get_num_threads()) {
    set_num_threads(static_cast<int>(threads));
  }
  ~ThreadCountScope() { set_num_threads(previous_); }
  ThreadCountScope(const ThreadCountScope&) = delete;
  ThreadCountScope& operator=(const ThreadCountScope&) = delete;

 private:
  int previous_;
};

// Runs `body` once per benchmark iteration with state.range(0) threads and records
// bytes_per_iteration (bytes read + written, as BM_CopyLoop counts them).
template <typename Body>
void run_with_threads(benchmark::State& state, int64_t bytes_per_iteration, const Body& body) {
  {
    ThreadCountScope threads(state.range(0));
    for (auto _ : state) body();
  }
  state.SetBytesProcessed(state.iterations() * bytes_per_iteration);
}

}  // namespace descent::bench
