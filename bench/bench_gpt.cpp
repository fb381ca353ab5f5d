// The cost of one generated token of nn::GPT at context 256 (4 layers, width 128, 4 heads, byte
// vocabulary), with the KV cache (one position through the model, attending to 255 stored ones)
// against re-running the full 256-token window. Speedup = full time / cached time (issue #19's
// target: >= 10). items_per_second is generated tokens per second.
#include <cstdint>
#include <memory>

#include <benchmark/benchmark.h>

#include <descent/descent.h>
#include <descent/nn/gpt.h>

#include "bench_common.h"

namespace {

constexpr int64_t kContext = 256;

descent::nn::GPT& model() {
  static std::unique_ptr<descent::nn::GPT> gpt = [] {
    descent::manual_seed(0);
    auto made = std::make_unique<descent::nn::GPT>(
        descent::nn::GPTOptions{.vocab_size = 256, .context = kContext, .layers = 4, .heads = 4, .width = 128});
    made->eval();
    return made;
  }();
  return *gpt;
}

descent::Tensor window() { return descent::core::randint(0, 256, {1, kContext}); }

// The last token of a full window, its 255 predecessors already in the cache.
void BM_GPTTokenCached(benchmark::State& state) {
  descent::nn::GPT& gpt = model();
  descent::Tensor tokens = window();
  descent::nn::KVCache cache = gpt.make_cache(1);
  gpt.forward(tokens.narrow(1, 0, kContext - 1), cache);
  descent::Tensor last = tokens.narrow(1, kContext - 1, 1);
  {
    descent::bench::ThreadCountScope threads(state.range(0));
    for (auto _ : state) {
      cache.length = kContext - 1;
      benchmark::DoNotOptimize(gpt.forward(last, cache).raw_data());
    }
  }
  state.SetItemsProcessed(state.iterations());  // tokens
}
BENCHMARK(BM_GPTTokenCached)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);

// The same token's logits by running the whole window again (what generation without a cache does).
void BM_GPTTokenFullWindow(benchmark::State& state) {
  descent::nn::GPT& gpt = model();
  descent::Tensor tokens = window();
  descent::autograd::NoGradGuard no_grad;
  {
    descent::bench::ThreadCountScope threads(state.range(0));
    for (auto _ : state) benchmark::DoNotOptimize(gpt.forward(tokens).raw_data());
  }
  state.SetItemsProcessed(state.iterations());  // tokens
}
BENCHMARK(BM_GPTTokenFullWindow)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
