// Leak test of the graph: 10,000 training steps of a small model (broadcast products, tanh, which
// saves its own output, square and sum) must leave the live tensor, storage and byte counts of
// memory_stats exactly where they were after step 100. A leaked node or saved tensor (a cycle
// through a saved output, say) leaves at least one tensor alive per step; the second test shows
// that this check sees such a leak.
#include <descent/autograd/graph.h>
#include <descent/autograd/record.h>
#include "testing.h"

namespace descent {
namespace {

using autograd::Node;
using autograd::record;

bool same_counts(const MemoryStats& a, const MemoryStats& b) {
  return a.live_tensors == b.live_tensors && a.live_storages == b.live_storages && a.storage_bytes == b.storage_bytes;
}

std::string counts(const MemoryStats& s) {
  return fmt::format("{} tensors, {} storages, {} bytes", s.live_tensors, s.live_storages, s.storage_bytes);
}

TEST(Memory, TenThousandTrainingStepsKeepLiveCountsFlat) {
  // B = 8 samples, D = 4 features; parameters broadcast over the batch.
  Tensor x = core::randn({8, 4}), y = core::randn({8, 4});
  Tensor w1 = core::randn({4}, {.requires_grad = true});
  Tensor b1 = core::zeros({4}, {.requires_grad = true});
  Tensor w2 = core::randn({4}, {.requires_grad = true});
  std::vector<Tensor> parameters = {w1, b1, w2};

  MemoryStats after_warmup;
  for (int step = 1; step <= 10000; ++step) {
    for (Tensor& p : parameters) {
      if (p.grad().defined()) p.grad().zero_();
    }
    {
      Tensor h = tanh(x * w1 + b1);
      Tensor loss = sum(square(h * w2 - y));
      loss.backward();
      autograd::NoGradGuard no_grad;
      for (Tensor& p : parameters) p.sub_(p.grad() * 0.001);
    }  // the step's tensors (and its graph) are gone here
    if (step == 100) after_warmup = memory_stats();
  }
  MemoryStats after = memory_stats();
  EXPECT_TRUE(same_counts(after_warmup, after)) << "after step 100: " << counts(after_warmup)
                                                << "; after step 10000: " << counts(after);
  for (const Tensor& p : parameters) EXPECT_TRUE(p.grad().defined());
}

// A node that keeps its own output as a plain Tensor: node -> output -> node, the cycle that
// SavedTensor(out, true) avoids by holding the output's node weakly.
struct CyclicBackward : Node {
  Tensor output;
  std::string name() const override { return "CyclicBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override { return {grads[0]}; }
};

TEST(Memory, ACycleThroughASavedOutputIsSeenAsALeak) {
  Tensor x = core::randn({3}, {.requires_grad = true});
  std::vector<std::shared_ptr<CyclicBackward>> leaked;
  MemoryStats before = memory_stats();
  for (int step = 0; step < 10; ++step) {
    Tensor out = core::mul(x, 2.0);
    if (auto node = record<CyclicBackward>(out, {x})) {
      node->output = out;
      leaked.push_back(node);
    }
  }
  MemoryStats after = memory_stats();
  EXPECT_EQ(after.live_tensors - before.live_tensors, 10) << counts(before) << " -> " << counts(after);
  EXPECT_FALSE(same_counts(before, after));
  for (auto& node : leaked) node->output = Tensor();  // break the cycles, so that nothing leaks
  leaked.clear();
  EXPECT_TRUE(same_counts(before, memory_stats())) << counts(before) << " -> " << counts(memory_stats());
}

}  // namespace
}  // namespace descent
