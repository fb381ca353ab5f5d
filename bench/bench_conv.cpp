// The north-star CNN's convolution and pooling layers (../shared/DESIGN.md) on Fashion-MNIST
// shapes at batch 64, forward + backward, on 1 and 2 threads:
//   conv1 [64, 1, 28, 28] * [32, 1, 3, 3], conv2 [64, 32, 13, 13] * [64, 32, 3, 3],
//   max_pool2d 2 of [64, 32, 26, 26] and [64, 64, 11, 11], and the whole feature stack
//   conv1 -> relu -> pool -> conv2 -> relu -> pool.
//   descent_bench --benchmark_filter='Conv|MaxPool|CnnFeatures' --benchmark_repetitions=5
#include <cstdint>
#include <functional>

#include <benchmark/benchmark.h>

#include <descent/descent.h>

#include "bench_common.h"
#include <descent/nn/functional_conv.h>
#include <descent/nn/functional_pool.h>

namespace {

using descent::Tensor;
namespace core = descent::core;
namespace F = descent::nn::functional;

Tensor leaf(const descent::Dims& shape) { return core::randn(shape).requires_grad_(true); }

// One forward and backward of `forward` (its output summed) per iteration.
void forward_backward(benchmark::State& state, const std::function<Tensor()>& forward) {
  descent::bench::run_with_threads(state, 0, [&] { descent::sum(forward()).backward(); });
}

void BM_Conv1(benchmark::State& state) {
  Tensor x = core::randn({64, 1, 28, 28}), w = leaf({32, 1, 3, 3}), b = leaf({32});
  forward_backward(state, [&] { return F::conv2d(x, w, b); });
}

void BM_Conv2(benchmark::State& state) {
  Tensor x = leaf({64, 32, 13, 13}), w = leaf({64, 32, 3, 3}), b = leaf({64});
  forward_backward(state, [&] { return F::conv2d(x, w, b); });
}

void BM_MaxPool1(benchmark::State& state) {
  Tensor x = leaf({64, 32, 26, 26});
  forward_backward(state, [&] { return F::max_pool2d(x, 2); });
}

void BM_MaxPool2(benchmark::State& state) {
  Tensor x = leaf({64, 64, 11, 11});
  forward_backward(state, [&] { return F::max_pool2d(x, 2); });
}

void BM_CnnFeatures(benchmark::State& state) {
  Tensor x = core::randn({64, 1, 28, 28});
  Tensor w1 = leaf({32, 1, 3, 3}), b1 = leaf({32}), w2 = leaf({64, 32, 3, 3}), b2 = leaf({64});
  forward_backward(state, [&] {
    Tensor h = F::max_pool2d(descent::relu(F::conv2d(x, w1, b1)), 2);
    return F::max_pool2d(descent::relu(F::conv2d(h, w2, b2)), 2);
  });
}

BENCHMARK(BM_Conv1)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_Conv2)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_MaxPool1)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_MaxPool2)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_CnnFeatures)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
