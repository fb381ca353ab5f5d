// A seeded training run gives the same bits on whichever thread of the caller it runs: the main
// thread, or a std::thread (whose OpenMP and OpenBLAS settings start from their defaults). Each
// model is small but takes the library's threaded paths: convolution over the batch, GEMMs split
// by us, and one GEMM large enough for OpenBLAS's own threading.
#include <cstring>
#include <thread>

#include "testing.h"

namespace descent::testing {
namespace {

struct Net : nn::Module {
  nn::Conv2d conv{1, 8, 3};
  nn::Linear fc1{8 * 13 * 13, 1024}, fc2{1024, 10};  // fc1: 256 x 1352 x 1024, threaded by OpenBLAS
  Net() {
    register_module("conv", conv);
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
  Tensor forward(const Tensor& x) {
    Tensor h = nn::functional::max_pool2d(relu(conv(x)), 2).flatten(1);
    return fc2(relu(fc1(h)));
  }
};

// The parameters' bytes after a few SGD steps with momentum from seed 0.
std::vector<std::vector<char>> train_steps() {
  manual_seed(0);
  Net net;
  optim::SGD sgd(net.parameters(), {.lr = 0.05, .momentum = 0.9});
  Tensor x = randn({256, 1, 28, 28});
  Tensor y = randint(0, 10, {256});
  for (int step = 0; step < 2; ++step) {
    Tensor loss = nn::functional::cross_entropy(net.forward(x), y);
    sgd.zero_grad();
    loss.backward();
    sgd.step();
  }
  std::vector<std::vector<char>> bytes;
  for (const Tensor& p : net.parameters()) {
    const char* data = static_cast<const char*>(p.raw_data());
    bytes.emplace_back(data, data + p.numel() * p.element_size());
  }
  return bytes;
}

std::vector<std::vector<char>> train_steps_on_a_thread() {
  std::vector<std::vector<char>> bytes;
  std::thread([&] { bytes = train_steps(); }).join();
  return bytes;
}

TEST(Determinism, AStdThreadTrainsToTheSameBitsAsTheMainThread) {
  for (int threads : {1, 2}) {
    ThreadCount count(threads);
    std::vector<std::vector<char>> on_main = train_steps();
    std::vector<std::vector<char>> on_thread = train_steps_on_a_thread();
    ASSERT_EQ(on_main.size(), on_thread.size());
    for (size_t i = 0; i < on_main.size(); ++i) {
      EXPECT_TRUE(on_main[i] == on_thread[i]) << "parameter " << i << " differs at " << threads << " threads";
    }
  }
}

}  // namespace
}  // namespace descent::testing
