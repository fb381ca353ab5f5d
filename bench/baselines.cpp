// Baselines for every benchmark suite, and the main() of bench/descent_bench. BM_CopyLoop is the
// memory-bandwidth yardstick: a kernel's bytes/s (bytes read + bytes written) divided by the copy
// loop's, measured in the same run, says how close to the memory bound the kernel runs.
// At start-up the run's context records which OpenBLAS kernel core runs and the thread count.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <cblas.h>

#include <descent/descent.h>

#include "bench_common.h"

namespace {

constexpr int64_t kCopyElements = int64_t{16} << 20;  // 16M float32: 64 MiB each way, far beyond cache

// dst[i] = src[i] over 16M float32, split over threads by parallel_for like descent's kernels.
void BM_CopyLoop(benchmark::State& state) {
  descent::bench::ThreadCountScope threads(state.range(0));
  std::vector<float> src(kCopyElements, 1.0f);
  std::vector<float> dst(kCopyElements, 0.0f);
  for (auto _ : state) {
    descent::parallel_for(0, kCopyElements, descent::kElementwiseGrain, [&](int64_t begin, int64_t end) {
      const float* in = src.data();
      float* out = dst.data();
      for (int64_t i = begin; i < end; ++i) out[i] = in[i];
    });
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  int64_t bytes_per_copy = 2 * kCopyElements * static_cast<int64_t>(sizeof(float));  // read + write
  state.SetBytesProcessed(state.iterations() * bytes_per_copy);
}
// NOTE: UseRealTime, as for every benchmark that runs threads: CPU time counts only the main thread.
BENCHMARK(BM_CopyLoop)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  benchmark::AddCustomContext("openblas_core", openblas_get_corename());
  benchmark::AddCustomContext("openblas_config", openblas_get_config());
  benchmark::AddCustomContext("OPENBLAS_CORETYPE", coretype != nullptr ? coretype : "(unset)");
  benchmark::AddCustomContext("descent_threads", std::to_string(descent::get_num_threads()));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
