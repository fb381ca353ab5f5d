// Gradient accumulation: k micro-batches of b examples, each loss divided by k before backward,
// give the gradient of one batch of k b examples, so a small memory budget can train with a
// large batch. Shown in float64 on a teacher-student regression: the gradient, then 100 steps of
// training both ways. Read optim/clip.h (GradientAccumulator). `--smoke`: 10 steps.
#include <string>

#include <descent/descent.h>

using namespace descent;

struct Student : nn::Module {
  nn::Linear fc1{16, 32}, fc2{32, 4};
  Student() {
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
  Tensor forward(const Tensor& x) { return fc2(tanh(fc1(x))); }
};

// The largest |a - b| over every parameter (or gradient, with `grads`) of two models.
double largest_difference(const Student& a, const Student& b, bool grads) {
  double largest = 0;
  auto pa = a.parameters(), pb = b.parameters();
  for (size_t i = 0; i < pa.size(); ++i) {
    Tensor ta = grads ? pa[i].grad() : pa[i], tb = grads ? pb[i].grad() : pb[i];
    largest = std::max(largest, max(abs(ta - tb)).item<double>());
  }
  return largest;
}

int main(int argc, char** argv) {
  const bool smoke = argc > 1 && std::string(argv[1]) == "--smoke";
  constexpr int64_t kBatch = 64, kMicroBatches = 4, kMicro = kBatch / kMicroBatches;
  data::TensorDataset data = data::teacher_regression(kBatch * 20, 16, 32, 4, /*noise=*/0.1, /*seed=*/5);
  Tensor x = data.x().to(kFloat64), y = data.y().to(kFloat64);

  // Two students with the same initial weights, in float64.
  manual_seed(0);
  Student big;
  manual_seed(0);
  Student accumulated;
  big.to(kFloat64);
  accumulated.to(kFloat64);
  optim::SGD big_opt(big.parameters(), {.lr = 0.05, .momentum = 0.9});
  optim::SGD accumulated_opt(accumulated.parameters(), {.lr = 0.05, .momentum = 0.9});
  optim::GradientAccumulator accumulate(kMicroBatches);

  const int64_t steps = smoke ? 10 : 100;
  for (int64_t step = 0; step < steps; ++step) {
    int64_t first = (step % 20) * kBatch;  // the dataset is 20 batches, read in order
    // One batch of 64: mean squared error over the 64 examples.
    big_opt.zero_grad();
    nn::functional::mse_loss(big.forward(x.slice(0, first, first + kBatch)), y.slice(0, first, first + kBatch)).backward();

    // Four micro-batches of 16: each loss / 4, gradients summed by backward.
    accumulated_opt.zero_grad();
    for (int64_t m = 0; m < kMicroBatches; ++m) {
      int64_t begin = first + m * kMicro;
      Tensor loss = nn::functional::mse_loss(accumulated.forward(x.slice(0, begin, begin + kMicro)),
                                             y.slice(0, begin, begin + kMicro));
      bool ready = accumulate.backward(loss);  // true after the 4th
      if (ready != (m == kMicroBatches - 1)) return 1;
    }
    if (step == 0) {
      fmt::print("step 0: largest gradient difference, 1 x {} against {} x {}: {:.2e}\n", kBatch, kMicroBatches,
                 kMicro, largest_difference(big, accumulated, /*grads=*/true));
    }
    big_opt.step();
    accumulated_opt.step();
  }
  double weights = largest_difference(big, accumulated, /*grads=*/false);
  fmt::print("after {} steps: largest weight difference {:.2e} (float64 rounding: the sums run in another order)\n",
             steps, weights);
  return weights < 1e-10 ? 0 : 1;
}
