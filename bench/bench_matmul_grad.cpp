// The cost of differentiating a matrix product: a 1024x1024 float32 matmul whose operands both
// require grad, forward alone against forward + backward (a ones gradient; the two backward
// products read the saved operands transposed, in place). Issue #3 asks forward + backward to cost
// at most 3.3x the forward. Compare the medians of one run:
//   descent_bench --benchmark_filter='MatmulGrad' --benchmark_repetitions=5
#include <benchmark/benchmark.h>

#include <descent/descent.h>

#include "bench_common.h"

namespace {

constexpr int64_t kSize = 1024;

struct Operands {
  descent::Tensor a, b, grad_output;
};

Operands make_operands() {
  namespace core = descent::core;
  return {core::randn({kSize, kSize}, {.requires_grad = true}), core::randn({kSize, kSize}, {.requires_grad = true}),
          core::ones({kSize, kSize})};
}

void report(benchmark::State& state, int products) {
  state.counters["flops"] = benchmark::Counter(2.0 * kSize * kSize * kSize * products *
                                                   static_cast<double>(state.iterations()),
                                               benchmark::Counter::kIsRate);
}

// The forward records its node and saves both operands, as in training.
void BM_MatmulGradForward(benchmark::State& state) {
  descent::bench::ThreadCountScope threads(state.range(0));
  Operands o = make_operands();
  for (auto _ : state) {
    descent::Tensor c = descent::matmul(o.a, o.b);
    benchmark::DoNotOptimize(c.raw_data());
    benchmark::ClobberMemory();
  }
  report(state, 1);
}

// Forward, then backward into the leaves' .grad (cleared first, as zero_grad(set_to_none) would,
// so that every iteration stores rather than adds).
void BM_MatmulGradForwardBackward(benchmark::State& state) {
  descent::bench::ThreadCountScope threads(state.range(0));
  Operands o = make_operands();
  for (auto _ : state) {
    o.a.set_grad(descent::Tensor());
    o.b.set_grad(descent::Tensor());
    descent::Tensor c = descent::matmul(o.a, o.b);
    c.backward(o.grad_output);
    benchmark::DoNotOptimize(o.a.grad().raw_data());
    benchmark::DoNotOptimize(o.b.grad().raw_data());
    benchmark::ClobberMemory();
  }
  report(state, 3);
}

// NOTE: UseRealTime: OpenBLAS's worker threads do not count in the main thread's CPU time.
BENCHMARK(BM_MatmulGradForward)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MatmulGradForwardBackward)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
