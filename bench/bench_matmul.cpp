// core::matmul against a raw cblas_sgemm on the same buffers, one pair per shape: a 1024^3
// square product, the three products of an MLP layer (forward, and the two backward products
// that read an operand transposed), and small-model products that core/linalg.cpp threads itself
// (a 10-class head, a GPT's vocabulary head and its MLP's weight gradient). Run both of a pair in
// one run and compare their medians:
//   descent_bench --benchmark_filter='Matmul' --benchmark_repetitions=5
#include <cstdint>
#include <vector>

#include <benchmark/benchmark.h>
#include <cblas.h>

#include <descent/descent.h>

#include "bench_common.h"

namespace {

// C[M, N] = op(A)[M, K] @ op(B)[K, N]; a transposed operand is stored as its transpose, row-major,
// and passed as a transposed view (ours) or with CblasTrans (raw).
struct GemmShape {
  int64_t m, k, n;
  bool a_transposed, b_transposed;
};

// Layer: X [128, 784] -> 512 units, W stored [784, 512] (in x out), grad = dL/dY [128, 512].
constexpr GemmShape kSquare1024{1024, 1024, 1024, false, false};
constexpr GemmShape kMlpForward{128, 784, 512, false, false};     // Y = X @ W
constexpr GemmShape kMlpGradInput{128, 512, 784, false, true};    // dX = grad @ W^T
constexpr GemmShape kMlpGradWeight{784, 128, 512, true, false};   // dW = X^T @ grad
// X [128, 256] -> 10 classes; a GPT's [16 x 64 tokens, 128] -> 65-token vocabulary; the weight
// gradient of its MLP's second layer (512 -> 128 units).
constexpr GemmShape kMlpHead{128, 256, 10, false, false};
constexpr GemmShape kGptHead{1024, 128, 65, false, false};
constexpr GemmShape kGptMlpGradWeight{512, 1024, 128, true, false};

// The operands as stored (row-major) and the views ours multiplies.
struct Operands {
  descent::Tensor a_stored, b_stored, a, b;
};

Operands make_operands(const GemmShape& s) {
  namespace core = descent::core;
  Operands o;
  o.a_stored = s.a_transposed ? core::randn({s.k, s.m}) : core::randn({s.m, s.k});
  o.b_stored = s.b_transposed ? core::randn({s.n, s.k}) : core::randn({s.k, s.n});
  o.a = s.a_transposed ? core::transpose(o.a_stored, 0, 1) : o.a_stored;
  o.b = s.b_transposed ? core::transpose(o.b_stored, 0, 1) : o.b_stored;
  return o;
}

void report(benchmark::State& state, const GemmShape& s) {
  state.counters["flops"] = benchmark::Counter(static_cast<double>(2 * s.m * s.n * s.k) *
                                                   static_cast<double>(state.iterations()),
                                               benchmark::Counter::kIsRate);
}

void BM_MatmulOurs(benchmark::State& state, GemmShape s) {
  descent::bench::ThreadCountScope threads(state.range(0));
  Operands o = make_operands(s);
  for (auto _ : state) {
    descent::Tensor c = descent::core::matmul(o.a, o.b);
    benchmark::DoNotOptimize(c.raw_data());
    benchmark::ClobberMemory();
  }
  report(state, s);
}

void BM_MatmulRaw(benchmark::State& state, GemmShape s) {
  descent::bench::ThreadCountScope threads(state.range(0));
  Operands o = make_operands(s);
  std::vector<float> c(static_cast<size_t>(s.m * s.n));
  const auto* a = static_cast<const float*>(o.a_stored.raw_data());
  const auto* b = static_cast<const float*>(o.b_stored.raw_data());
  const int m = static_cast<int>(s.m), n = static_cast<int>(s.n), k = static_cast<int>(s.k);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, s.a_transposed ? CblasTrans : CblasNoTrans, s.b_transposed ? CblasTrans : CblasNoTrans,
                m, n, k, 1.0f, a, s.a_transposed ? m : k, b, s.b_transposed ? k : n, 0.0f, c.data(), n);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  report(state, s);
}

// NOTE: UseRealTime: OpenBLAS's worker threads do not count in the main thread's CPU time.
#define DESCENT_MATMUL_PAIR(name, shape)                                                                  \
  BENCHMARK_CAPTURE(BM_MatmulOurs, name, shape)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit( \
      benchmark::kMillisecond);                                                                           \
  BENCHMARK_CAPTURE(BM_MatmulRaw, name, shape)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(  \
      benchmark::kMillisecond)

DESCENT_MATMUL_PAIR(square_1024, kSquare1024);
DESCENT_MATMUL_PAIR(mlp_forward, kMlpForward);
DESCENT_MATMUL_PAIR(mlp_grad_input, kMlpGradInput);
DESCENT_MATMUL_PAIR(mlp_grad_weight, kMlpGradWeight);
DESCENT_MATMUL_PAIR(mlp_head, kMlpHead);
DESCENT_MATMUL_PAIR(gpt_head, kGptHead);
DESCENT_MATMUL_PAIR(gpt_mlp_grad_weight, kGptMlpGradWeight);

}  // namespace
