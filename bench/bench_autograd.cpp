// Autograd overhead per op: a chain of 1,000 ops on one-element float32 tensors (x = x * b;
// x = x + a, repeated; a and b leaves that require grad), where the arithmetic is nothing and
// every nanosecond is bookkeeping (tensor, storage, node, edges, saved tensors, engine).
// The "per_op" counter is the time of one iteration divided by the 1,000 ops (in seconds: "4.8u"
// is 4.8 microseconds).
//   descent_bench --benchmark_filter=Autograd --benchmark_repetitions=5
#include <cstdint>

#include <benchmark/benchmark.h>

#include <descent/descent.h>

namespace {

using descent::Tensor;

constexpr int64_t kOps = 1000;  // x * b and x + a count as one op each

Tensor chain(const Tensor& x0, const Tensor& a, const Tensor& b) {
  Tensor x = x0;
  for (int64_t i = 0; i < kOps / 2; ++i) {
    x = x * b;
    x = x + a;
  }
  return x;
}

void report_per_op(benchmark::State& state) {
  state.counters["per_op"] = benchmark::Counter(
      static_cast<double>(kOps), benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

// Forward and backward of the chain; the leaves' .grad are cleared each iteration.
void BM_AutogradChain(benchmark::State& state) {
  Tensor x0 = descent::ones({1});
  Tensor a = descent::full({1}, 0.5, {.dtype = descent::kFloat32, .requires_grad = true});
  Tensor b = descent::full({1}, 0.999, {.dtype = descent::kFloat32, .requires_grad = true});
  for (auto _ : state) {
    a.set_grad(Tensor());
    b.set_grad(Tensor());
    Tensor y = chain(x0, a, b);
    y.backward();
    benchmark::DoNotOptimize(b.grad());
  }
  report_per_op(state);
}

// The forward alone: recording the graph, then dropping it.
void BM_AutogradChainForward(benchmark::State& state) {
  Tensor x0 = descent::ones({1});
  Tensor a = descent::full({1}, 0.5, {.dtype = descent::kFloat32, .requires_grad = true});
  Tensor b = descent::full({1}, 0.999, {.dtype = descent::kFloat32, .requires_grad = true});
  for (auto _ : state) benchmark::DoNotOptimize(chain(x0, a, b));
  report_per_op(state);
}

// The same chain with nothing requiring grad: the cost of the tensors and kernels alone.
void BM_AutogradChainNoGrad(benchmark::State& state) {
  Tensor x0 = descent::ones({1});
  Tensor a = descent::full({1}, 0.5);
  Tensor b = descent::full({1}, 0.999);
  for (auto _ : state) benchmark::DoNotOptimize(chain(x0, a, b));
  report_per_op(state);
}

}  // namespace

BENCHMARK(BM_AutogradChain)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_AutogradChainForward)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_AutogradChainNoGrad)->Unit(benchmark::kMicrosecond);
