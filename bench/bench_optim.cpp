// One AdamW step over 10M float32 parameters against a copy loop over the same bytes in the same
// run. The step reads param, grad, m, v and writes param, m, v: 7 x 4 bytes per parameter; the
// baseline copies 3.5 floats per parameter (read 3.5, write 3.5). Ratio = copy time / step time.
#include <cstdint>
#include <vector>

#include <benchmark/benchmark.h>

#include <descent/descent.h>

#include "bench_common.h"

namespace {

constexpr int64_t kParams = 10'000'000;
constexpr int64_t kStepBytes = 7 * kParams * static_cast<int64_t>(sizeof(float));

void BM_AdamWStep(benchmark::State& state) {
  descent::Tensor param = descent::core::randn({kParams}).requires_grad_();
  param.set_grad(descent::core::randn({kParams}));
  descent::optim::AdamW opt({param}, {.lr = 1e-4});
  opt.step();  // creates m and v, outside the timing
  descent::bench::run_with_threads(state, kStepBytes, [&] {
    opt.step();
    benchmark::ClobberMemory();
  });
}
BENCHMARK(BM_AdamWStep)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

// dst[i] = src[i] over 3.5 x kParams floats: the same bytes moved as one AdamW step.
void BM_AdamWCopyBaseline(benchmark::State& state) {
  const int64_t n = kParams * 7 / 2;
  std::vector<float> src(n, 1.0f), dst(n, 0.0f);
  descent::bench::run_with_threads(state, kStepBytes, [&] {
    descent::parallel_for(0, n, descent::kElementwiseGrain, [&](int64_t begin, int64_t end) {
      const float* in = src.data();
      float* out = dst.data();
      for (int64_t i = begin; i < end; ++i) out[i] = in[i];
    });
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  });
}
BENCHMARK(BM_AdamWCopyBaseline)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
