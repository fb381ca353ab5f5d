// Unary elementwise ops on 16M float32 against BM_CopyLoop (bench/baselines.cpp): bytes/s count
// the bytes read and written (8 per element), so the ratio to the copy loop says how close an op
// runs to the memory bound. Run them in one process:
//   descent_bench --benchmark_filter='CopyLoop|Unary|GeluBackward' --benchmark_repetitions=5
// Four forms of each op:
//   BM_Unary<Op>            the tensor op, out of place (a new 64 MiB output every call);
//   BM_Unary<Op>Transposed  on a transposed 4096 x 4096 view (the output takes its memory order);
//   BM_Unary<Op>Strided     on every other column of a 4096 x 8192 buffer (the gather path);
//   BM_Unary<Op>Kernel      the vecmath array kernel alone on preallocated arrays, split over
//                           threads as the copy loop is: the kernel without the allocation.
#include <cstdint>
#include <vector>

#include <benchmark/benchmark.h>

#include <descent/descent.h>

#include "bench_common.h"
#include <descent/core/vecmath.h>

namespace {

using descent::Tensor;
using descent::bench::run_with_threads;
namespace core = descent::core;
namespace vecmath = descent::vecmath;

constexpr int64_t kSide = 4096;
constexpr int64_t kElements = kSide * kSide;  // 16M
constexpr int64_t kBytesPerCall = 2 * kElements * static_cast<int64_t>(sizeof(float));  // read + write

// x of 16M float32 in [-4, 4), a range that exercises every branch of the activations.
Tensor make_input(const descent::Dims& sizes) { return core::sub(core::mul(core::rand(sizes), 8.0), 4.0); }

template <typename Op>
void unary_contiguous(benchmark::State& state, const Op& op) {
  Tensor x = make_input({kSide, kSide});
  run_with_threads(state, kBytesPerCall, [&] { benchmark::DoNotOptimize(op(x)); });
}

template <typename Op>
void unary_transposed(benchmark::State& state, const Op& op) {
  Tensor x = core::transpose(make_input({kSide, kSide}), 0, 1);
  run_with_threads(state, kBytesPerCall, [&] { benchmark::DoNotOptimize(op(x)); });
}

template <typename Op>
void unary_strided(benchmark::State& state, const Op& op) {
  Tensor x = core::slice(make_input({kSide, 2 * kSide}), 1, 0, 2 * kSide, 2);
  run_with_threads(state, kBytesPerCall, [&] { benchmark::DoNotOptimize(op(x)); });
}

// y = f(x) over preallocated arrays, split by parallel_for as BM_CopyLoop splits its copy.
template <typename Element>
void unary_kernel(benchmark::State& state, const Element& element) {
  Tensor input = make_input({kElements});
  std::vector<float> x = input.to_vector<float>();
  std::vector<float> y(x.size());
  run_with_threads(state, kBytesPerCall, [&] {
    descent::parallel_for(0, kElements, descent::kElementwiseGrain, [&](int64_t begin, int64_t end) {
      vecmath::map(x.data() + begin, y.data() + begin, end - begin, element);
    });
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  });
}

// NOTE: UseRealTime, as for every benchmark that runs threads: CPU time counts only the main thread.
#define DESCENT_UNARY_REGISTER(name) \
  BENCHMARK(name)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond)
#define DESCENT_UNARY_BENCHMARKS(Name, op, element)                                          \
  void BM_Unary##Name(benchmark::State& state) { unary_contiguous(state, op); }             \
  void BM_Unary##Name##Transposed(benchmark::State& state) { unary_transposed(state, op); } \
  void BM_Unary##Name##Strided(benchmark::State& state) { unary_strided(state, op); }       \
  void BM_Unary##Name##Kernel(benchmark::State& state) { unary_kernel(state, element); }    \
  DESCENT_UNARY_REGISTER(BM_Unary##Name);                                                    \
  DESCENT_UNARY_REGISTER(BM_Unary##Name##Transposed);                                        \
  DESCENT_UNARY_REGISTER(BM_Unary##Name##Strided);                                           \
  DESCENT_UNARY_REGISTER(BM_Unary##Name##Kernel)

DESCENT_UNARY_BENCHMARKS(Relu, core::relu, [](float v) { return v < 0.0f ? 0.0f : v; });
DESCENT_UNARY_BENCHMARKS(Exp, core::exp, [](float v) { return vecmath::exp(v); });
DESCENT_UNARY_BENCHMARKS(Tanh, core::tanh, [](float v) { return vecmath::tanh(v); });
DESCENT_UNARY_BENCHMARKS(Sigmoid, core::sigmoid, [](float v) { return vecmath::sigmoid(v); });
DESCENT_UNARY_BENCHMARKS(Gelu, [](const Tensor& x) { return core::gelu(x); }, [](float v) { return vecmath::gelu(v); });
DESCENT_UNARY_BENCHMARKS(GeluTanh, [](const Tensor& x) { return core::gelu(x, core::GeluApproximate::Tanh); },
                         [](float v) { return vecmath::gelu_tanh(v); });
DESCENT_UNARY_BENCHMARKS(Silu, core::silu, [](float v) { return vecmath::silu(v); });

// ---- gelu's backward: grad * gelu'(x) over 16M float32, bytes/s counting g and x read and the
// result written (12 per element) ----
//   BM_GeluBackwardFused     core::gelu_backward, one pass (what GeluBackward runs);
//   BM_GeluBackwardComposed  the composed formula GeluBackward ran before (and still runs when
//                            create_graph records it): g * ((erf(x/sqrt2) + 1)/2 + x exp(-x^2/2)/sqrt(2 pi)).
constexpr int64_t kBackwardBytesPerCall = 3 * kElements * static_cast<int64_t>(sizeof(float));

void BM_GeluBackwardFused(benchmark::State& state) {
  Tensor x = make_input({kSide, kSide});
  Tensor g = make_input({kSide, kSide});
  run_with_threads(state, kBackwardBytesPerCall, [&] { benchmark::DoNotOptimize(core::gelu_backward(g, x)); });
}

void BM_GeluBackwardComposed(benchmark::State& state) {
  Tensor x = make_input({kSide, kSide});
  Tensor g = make_input({kSide, kSide});
  run_with_threads(state, kBackwardBytesPerCall, [&] {
    Tensor cdf = core::mul(core::add(core::erf(core::mul(x, 0.70710678118654752)), 1.0), 0.5);
    Tensor pdf = core::mul(core::exp(core::mul(core::square(x), -0.5)), 0.39894228040143268);
    benchmark::DoNotOptimize(core::mul(g, core::add(cdf, core::mul(x, pdf))));
  });
}

DESCENT_UNARY_REGISTER(BM_GeluBackwardFused);
DESCENT_UNARY_REGISTER(BM_GeluBackwardComposed);

}  // namespace
