// Reductions against the memory bound: sum over the last and over the first dim of a 4096 x 4096
// float32 tensor, and softmax over the last dim of [4096, 1024]. Bytes counted as BM_CopyLoop
// (bench/baselines.cpp) counts them, read + written; run them together:
//   descent_bench --benchmark_filter='CopyLoop|Reduce' --benchmark_repetitions=5
#include <cstdint>

#include <benchmark/benchmark.h>

#include <descent/descent.h>

#include "bench_common.h"

namespace {

using descent::bench::ThreadCountScope;

constexpr int64_t kSide = 4096;

// sum over dim state.range(1) of a [4096, 4096] float32 tensor.
void BM_ReduceSum4096(benchmark::State& state) {
  ThreadCountScope threads(state.range(0));
  const int64_t dim = state.range(1);
  descent::Tensor x = descent::core::randn({kSide, kSide});
  for (auto _ : state) {
    descent::Tensor out = descent::core::sum(x, {dim});
    benchmark::DoNotOptimize(out.raw_data());
  }
  int64_t bytes = (kSide * kSide + kSide) * static_cast<int64_t>(sizeof(float));  // read + written
  state.SetBytesProcessed(state.iterations() * bytes);
}
BENCHMARK(BM_ReduceSum4096)
    ->ArgNames({"threads", "dim"})
    ->ArgsProduct({{1, 2}, {1, 0}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// softmax over the last dim of [4096, 1024] float32.
void BM_ReduceSoftmax(benchmark::State& state) {
  ThreadCountScope threads(state.range(0));
  constexpr int64_t rows = 4096, columns = 1024;
  descent::Tensor x = descent::core::randn({rows, columns});
  for (auto _ : state) {
    descent::Tensor out = descent::core::softmax(x, -1);
    benchmark::DoNotOptimize(out.raw_data());
  }
  int64_t bytes = 2 * rows * columns * static_cast<int64_t>(sizeof(float));  // read + written
  state.SetBytesProcessed(state.iterations() * bytes);
}
BENCHMARK(BM_ReduceSoftmax)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
