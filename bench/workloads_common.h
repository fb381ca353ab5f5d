// What bench/workloads.cpp (descent) and bench/workloads_torch.cpp (LibTorch) share, so that the
// two executables measure the same thing and print it the same way: the workloads' shapes, their
// counted FLOPs and bytes, the command line `NAME THREADS ITERS`, the timing (warm-up, then the
// median of ITERS timed calls) and the output line `NAME threads=T median_ms=X cpu_ms=C <rate>`.
#pragma once

#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace workloads {

// ---- shapes (issue #7) ----
constexpr int64_t kMlpBatch = 128, kMlpIn = 784, kMlpHidden1 = 512, kMlpHidden2 = 256, kClasses = 10;
constexpr int64_t kCnnBatch = 64, kImage = 28, kConv1 = 32, kConv2 = 64, kCnnHidden = 128;
constexpr int64_t kGptVocab = 65, kGptContext = 64, kGptWidth = 128, kGptLayers = 4, kGptHeads = 4, kGptBatch = 16;
constexpr int64_t kOpsChain = 1000;            // ops per chain: 500 x (x = x * b; x = x + a)
constexpr int64_t kGeluElements = 16'777'216;  // 16M
constexpr int64_t kAdamWParams = 10'000'000;
constexpr int64_t kGemmSize = 1024;            // the sgemm limit: 1024^3
constexpr int64_t kCopyElements = 16'777'216;  // the copy-loop limit: 64 MiB read, 64 MiB written

// ---- user-style models (issue #21) ----
// bncnn: conv 1->32 3x3 pad 1, BN, relu, maxpool 2; conv 32->64 3x3 pad 1, BN, relu, maxpool 2;
// dropout 0.25; linear 3136->128, relu, dropout 0.5; linear 128->10; batch 64, Adam.
constexpr int64_t kBnCnnBatch = 64, kBnCnnHidden = 128;
// resnet: CIFAR-style, batch 32 of 3x32x32: stem conv 3->16 + BN + relu, then one basic block per
// stage of widths 16, 32, 64 (stride 2 into stages 2 and 3, with a 1x1 conv + BN shortcut), global
// average pool, linear 64->10; SGD with Nesterov momentum 0.9.
constexpr int64_t kResNetBatch = 32, kResNetImage = 32, kResNetWidths[3] = {16, 32, 64};
// mlpln: 784-1024-1024-10, each hidden layer linear, LayerNorm, relu, dropout 0.1; batch 128, AdamW.
constexpr int64_t kMlpLnBatch = 128, kMlpLnHidden = 1024;

constexpr double kMatmulFlops = 2.0;  // a multiply-add

// Counted FLOPs of one training step: the GEMM-shaped work only (matmuls and convolutions) in
// the forward, the backward's gradient wrt the weights, and its gradient wrt each layer input
// that needs one (not the data's).
inline double mlp_step_flops() {
  double layer1 = kMlpBatch * kMlpIn * kMlpHidden1, rest = kMlpBatch * (kMlpHidden1 * kMlpHidden2 + kMlpHidden2 * kClasses);
  return kMatmulFlops * (2 * layer1 + 3 * rest);
}

inline double cnn_step_flops() {
  int64_t out1 = kImage - 2, pooled1 = out1 / 2, out2 = pooled1 - 2, pooled2 = out2 / 2;
  double conv1 = double(kCnnBatch) * out1 * out1 * kConv1 * 9;
  double conv2 = double(kCnnBatch) * out2 * out2 * kConv2 * kConv1 * 9;
  double fc = double(kCnnBatch) * (kConv2 * pooled2 * pooled2 * kCnnHidden + kCnnHidden * kClasses);
  return kMatmulFlops * (2 * conv1 + 3 * (conv2 + fc));
}

// Multiply-adds of one convolution's forward: [batch, out, size, size] outputs of in x k x k each.
inline double conv_macs(int64_t batch, int64_t in, int64_t out, int64_t size, int64_t k) {
  return double(batch) * size * size * out * in * k * k;
}

inline double bn_cnn_step_flops() {
  double conv1 = conv_macs(kBnCnnBatch, 1, kConv1, kImage, 3), conv2 = conv_macs(kBnCnnBatch, kConv1, kConv2, kImage / 2, 3);
  double fc = double(kBnCnnBatch) * (kConv2 * 7 * 7 * kBnCnnHidden + kBnCnnHidden * kClasses);
  return kMatmulFlops * (2 * conv1 + 3 * (conv2 + fc));
}

inline double resnet_step_flops() {
  const int64_t b = kResNetBatch, w0 = kResNetWidths[0], w1 = kResNetWidths[1], w2 = kResNetWidths[2], s = kResNetImage;
  double stem = conv_macs(b, 3, w0, s, 3);
  double stage1 = 2 * conv_macs(b, w0, w0, s, 3);
  double stage2 = conv_macs(b, w0, w1, s / 2, 3) + conv_macs(b, w1, w1, s / 2, 3) + conv_macs(b, w0, w1, s / 2, 1);
  double stage3 = conv_macs(b, w1, w2, s / 4, 3) + conv_macs(b, w2, w2, s / 4, 3) + conv_macs(b, w1, w2, s / 4, 1);
  double fc = double(b) * w2 * kClasses;
  return kMatmulFlops * (2 * stem + 3 * (stage1 + stage2 + stage3 + fc));
}

inline double mlp_ln_step_flops() {
  double layer1 = double(kMlpLnBatch) * kMlpIn * kMlpLnHidden;
  double rest = double(kMlpLnBatch) * (kMlpLnHidden * kMlpLnHidden + kMlpLnHidden * kClasses);
  return kMatmulFlops * (2 * layer1 + 3 * rest);
}

// Per layer and token: qkv 3 C^2, projection C^2, MLP 8 C^2; attention q k^T and p v, 2 T C
// per token (the whole square, as an unfused math path computes it); the head C V. x3 for the step.
inline double gpt_step_flops() {
  double tokens = double(kGptBatch) * kGptContext, c = kGptWidth;
  double per_token = kGptLayers * (12 * c * c + 2 * kGptContext * c) + c * kGptVocab;
  return 3 * kMatmulFlops * tokens * per_token;
}

// Bytes read + written: GELU reads and writes each element; an AdamW step reads param, grad, m, v
// and writes param, m, v.
constexpr double kGeluBytes = 2.0 * kGeluElements * sizeof(float);
constexpr double kAdamWBytes = 7.0 * kAdamWParams * sizeof(float);
constexpr double kCopyBytes = 2.0 * kCopyElements * sizeof(float);
constexpr double kGemmFlops = kMatmulFlops * kGemmSize * kGemmSize * kGemmSize;

// What a workload's rate is counted in.
struct Work {
  enum Kind { kFlops, kBytes, kOps } kind;
  double amount;  // FLOPs, bytes or ops per call
};

inline Work work_of(const std::string& name) {
  static const std::map<std::string, Work> works = {
      {"mlp", {Work::kFlops, mlp_step_flops()}},   {"cnn", {Work::kFlops, cnn_step_flops()}},
      {"gpt", {Work::kFlops, gpt_step_flops()}},   {"ops", {Work::kOps, double(kOpsChain)}},
      {"bncnn", {Work::kFlops, bn_cnn_step_flops()}}, {"resnet", {Work::kFlops, resnet_step_flops()}},
      {"mlpln", {Work::kFlops, mlp_ln_step_flops()}},
      {"gelu", {Work::kBytes, kGeluBytes}},        {"adamw", {Work::kBytes, kAdamWBytes}},
      {"sgemm", {Work::kFlops, kGemmFlops}},       {"copy", {Work::kBytes, kCopyBytes}},
  };
  auto found = works.find(name);
  if (found == works.end()) throw std::invalid_argument("unknown workload " + name);
  return found->second;
}

inline double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;  // ru_maxrss is in KiB on Linux
}

inline double process_cpu_ms() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return now.tv_sec * 1e3 + now.tv_nsec * 1e-6;
}

inline double median_of(std::vector<double> values) {
  std::nth_element(values.begin(), values.begin() + values.size() / 2, values.end());
  return values[values.size() / 2];
}

// Runs `call` max(2, iters / 5) times untimed, then `iters` times timed, and prints
// `NAME threads=T median_ms=X cpu_ms=C gflops=|gbps=|us_per_op=Y peak_rss_mb=Z`. cpu_ms is the
// median of the process's CPU time per call (all threads): on a shared machine, where the wall
// time includes the time the process waited for a core, the single-thread cpu_ms is the steadier
// figure.
inline void time_and_print(const std::string& name, int threads, int iters, const std::function<void()>& call) {
  Work work = work_of(name);
  for (int i = 0; i < std::max(2, iters / 5); ++i) call();
  std::vector<double> wall_ms, cpu_ms;
  for (int i = 0; i < iters; ++i) {
    double cpu_start = process_cpu_ms();
    auto start = std::chrono::steady_clock::now();
    call();
    wall_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    cpu_ms.push_back(process_cpu_ms() - cpu_start);
  }
  double median = median_of(wall_ms);
  std::printf("%s threads=%d median_ms=%.4f cpu_ms=%.4f ", name.c_str(), threads, median, median_of(cpu_ms));
  switch (work.kind) {
    case Work::kFlops: std::printf("gflops=%.2f", work.amount / median * 1e-6); break;
    case Work::kBytes: std::printf("gbps=%.2f", work.amount / median * 1e-6); break;
    case Work::kOps: std::printf("us_per_op=%.3f", median * 1e3 / work.amount); break;
  }
  std::printf(" peak_rss_mb=%.1f\n", peak_rss_mb());
  std::fflush(stdout);
}

// The command line shared by both executables: `NAME THREADS ITERS` runs one workload (sgemm and
// copy are the limits); `info` prints what the side runs on. Returns the exit status.
inline int run_main(int argc, char** argv, const std::function<void(int threads)>& set_threads,
                    const std::map<std::string, std::function<std::function<void()>()>>& workloads,
                    const std::function<void()>& info) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.size() == 1 && args[0] == "info") {
      info();
      return 0;
    }
    if (args.size() != 3 || workloads.count(args[0]) == 0) {
      std::string names;
      for (const auto& [name, make] : workloads) names += " " + name;
      std::fprintf(stderr, "usage: %s NAME THREADS ITERS | info\n  NAME:%s\n", argv[0], names.c_str());
      return 2;
    }
    int threads = std::stoi(args[1]), iters = std::stoi(args[2]);
    if (threads < 1 || iters < 1) throw std::invalid_argument("THREADS and ITERS must be >= 1");
    set_threads(threads);
    std::function<void()> call = workloads.at(args[0])();  // builds the model and data, untimed
    time_and_print(args[0], threads, iters, call);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
    return 1;
  }
}

}  // namespace workloads
