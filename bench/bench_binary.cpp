// Binary elementwise kernels on 16M float32 against BM_CopyLoop (bench/baselines.cpp): bytes/s
// count every byte read and written (12 per element for a + b, 8 for a * scalar), so the ratio to
// the copy loop says how close a kernel runs to the memory bound. Run them in one process:
//   descent_bench --benchmark_filter='CopyLoop|Binary' --benchmark_repetitions=5
#include <cstdint>

#include <benchmark/benchmark.h>

#include <descent/descent.h>

#include "bench_common.h"

namespace {

using descent::Tensor;
using descent::bench::run_with_threads;

constexpr int64_t kSide = 4096;
constexpr int64_t kElements = kSide * kSide;  // 16M
constexpr int64_t kFloat = sizeof(float);

// out = a + b, out newly allocated (as every out-of-place op does).
void BM_BinaryAdd(benchmark::State& state) {
  Tensor a = descent::randn({kSide, kSide}), b = descent::randn({kSide, kSide});
  run_with_threads(state, 3 * kElements * kFloat, [&] { benchmark::DoNotOptimize(descent::core::add(a, b)); });
}

void BM_BinaryMul(benchmark::State& state) {
  Tensor a = descent::randn({kSide, kSide}), b = descent::randn({kSide, kSide});
  run_with_threads(state, 3 * kElements * kFloat, [&] { benchmark::DoNotOptimize(descent::core::mul(a, b)); });
}

// out = a * 2: the scalar overload (one input stream).
void BM_BinaryMulScalar(benchmark::State& state) {
  Tensor a = descent::randn({kSide, kSide});
  run_with_threads(state, 2 * kElements * kFloat, [&] { benchmark::DoNotOptimize(descent::core::mul(a, 2.0)); });
}

// a += b in place: the kernel without the allocation of an output.
void BM_BinaryAddInPlace(benchmark::State& state) {
  Tensor a = descent::randn({kSide, kSide}), b = descent::randn({kSide, kSide});
  run_with_threads(state, 3 * kElements * kFloat, [&] {
    descent::core::add_(a, b);
    benchmark::ClobberMemory();
  });
}

void BM_BinaryMulInPlace(benchmark::State& state) {
  Tensor a = descent::randn({kSide, kSide}), b = descent::randn({kSide, kSide});
  run_with_threads(state, 3 * kElements * kFloat, [&] {
    descent::core::mul_(a, b);
    benchmark::ClobberMemory();
  });
}

// out = a.t() + b: one operand crosses the output's memory order (the tiled path).
void BM_BinaryAddTransposed(benchmark::State& state) {
  Tensor a = descent::core::transpose(descent::randn({kSide, kSide}), 0, 1), b = descent::randn({kSide, kSide});
  run_with_threads(state, 3 * kElements * kFloat, [&] { benchmark::DoNotOptimize(descent::core::add(a, b)); });
}

// a.t() += b in place: the written tensor crosses the other operand.
void BM_BinaryAddInPlaceTransposed(benchmark::State& state) {
  Tensor a = descent::core::transpose(descent::randn({kSide, kSide}), 0, 1), b = descent::randn({kSide, kSide});
  run_with_threads(state, 3 * kElements * kFloat, [&] {
    descent::core::add_(a, b);
    benchmark::ClobberMemory();
  });
}

// contiguous() of a transposed 4096 x 4096 view: the copy kernel through the tiled loop, 8 bytes
// per element (compare with BM_CopyLoop).
void BM_ContiguousOfTransposed(benchmark::State& state) {
  Tensor a = descent::core::transpose(descent::randn({kSide, kSide}), 0, 1);
  run_with_threads(state, 2 * kElements * kFloat, [&] { benchmark::DoNotOptimize(descent::core::contiguous(a)); });
}

// NOTE: UseRealTime, as for every benchmark that runs threads: CPU time counts only the main thread.
#define DESCENT_BINARY_BENCHMARK(name) \
  BENCHMARK(name)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond)
DESCENT_BINARY_BENCHMARK(BM_BinaryAdd);
DESCENT_BINARY_BENCHMARK(BM_BinaryMul);
DESCENT_BINARY_BENCHMARK(BM_BinaryMulScalar);
DESCENT_BINARY_BENCHMARK(BM_BinaryAddInPlace);
DESCENT_BINARY_BENCHMARK(BM_BinaryMulInPlace);
DESCENT_BINARY_BENCHMARK(BM_BinaryAddTransposed);
DESCENT_BINARY_BENCHMARK(BM_BinaryAddInPlaceTransposed);
DESCENT_BINARY_BENCHMARK(BM_ContiguousOfTransposed);

}  // namespace
