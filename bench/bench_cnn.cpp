// The north-star CNN of ../shared/DESIGN.md, built from the nn modules, one training step's
// forward + backward at batch 64 (Fashion-MNIST shapes [64, 1, 28, 28], cross_entropy on 10
// classes), float32, on 1 and 2 threads:
//   conv 1->32 3x3, relu, max_pool 2; conv 32->64 3x3, relu, max_pool 2; flatten;
//   linear 1600->128, relu; linear 128->10.
//   descent_bench --benchmark_filter=CnnStep --benchmark_repetitions=5
#include <benchmark/benchmark.h>

#include <descent/descent.h>

#include "bench_common.h"

namespace {

using descent::Tensor;
namespace nn = descent::nn;

struct Net : nn::Module {
  nn::Conv2d conv1{1, 32, 3}, conv2{32, 64, 3};
  nn::Linear fc1{64 * 5 * 5, 128}, fc2{128, 10};
  Net() {
    register_module("conv1", conv1);
    register_module("conv2", conv2);
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
  Tensor forward(const Tensor& x) {
    auto h = nn::functional::max_pool2d(descent::relu(conv1(x)), 2);
    h = nn::functional::max_pool2d(descent::relu(conv2(h)), 2);
    return fc2(descent::relu(fc1(h.flatten(1))));
  }
};

void BM_CnnStep(benchmark::State& state) {
  descent::manual_seed(0);
  Net net;
  Tensor x = descent::randn({64, 1, 28, 28});
  Tensor labels = descent::randint(0, 10, {64});
  descent::bench::run_with_threads(state, 0, [&] {
    net.zero_grad();
    nn::functional::cross_entropy(net.forward(x), labels).backward();
  });
}

BENCHMARK(BM_CnnStep)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
