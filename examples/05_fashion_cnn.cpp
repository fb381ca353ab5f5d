// The north-star program of the design (docs/TRAINING.md walks through it): a small CNN on
// Fashion-MNIST with SGD + Nesterov momentum, weight decay on weights only, gradient clipping and
// a warmup-cosine schedule; saves the trained net as net.safetensors. Needs
// /usr/share/datasets/fashion-mnist. `--smoke`: 512 training pictures, one epoch.
#include <numeric>
#include <string>

#include <descent/descent.h>

using namespace descent;

struct Net : nn::Module {                       // no macro, no Impl/holder split
  nn::Conv2d conv1{1, 32, 3}, conv2{32, 64, 3};
  nn::Linear fc1{64 * 5 * 5, 128}, fc2{128, 10};
  Net() {
    register_module("conv1", conv1); register_module("conv2", conv2);
    register_module("fc1", fc1);     register_module("fc2", fc2);
  }
  Tensor forward(const Tensor& x) {
    auto h = nn::functional::max_pool2d(relu(conv1(x)), 2);
    h = nn::functional::max_pool2d(relu(conv2(h)), 2);
    return fc2(relu(fc1(h.flatten(1))));
  }
};

int main(int argc, char** argv) try {
  const bool smoke = argc > 1 && std::string(argv[1]) == "--smoke";
  manual_seed(0);
  data::DatasetPtr train =
      std::make_shared<data::FashionMNIST>("/usr/share/datasets/fashion-mnist", data::Split::Train);
  if (smoke) {
    std::vector<int64_t> first(512);
    std::iota(first.begin(), first.end(), 0);
    train = std::make_shared<data::Subset>(train, first);
  }
  data::DataLoader loader(train, {.batch_size = 64, .shuffle = true});
  const int epochs = smoke ? 1 : 3;

  Net net;
  fmt::print("{}\n", net);                     // module tree with parameter counts
  // Two parameter groups: weights decay, biases and norms do not.
  auto groups = optim::weight_decay_groups(net.named_parameters(), 5e-4);
  optim::SGD opt(groups, {.lr = 0.05, .momentum = 0.9, .nesterov = true});
  auto sched = optim::warmup_cosine(opt, {.warmup_steps = smoke ? 2 : 200, .total_steps = epochs * loader.size()});

  for (int epoch = 0; epoch < epochs; ++epoch) {
    net.train();
    double loss_sum = 0;
    for (auto [x, y] : loader) {                // batches of handles: cheap to copy
      Tensor loss = nn::functional::cross_entropy(net.forward(x), y);
      opt.zero_grad();
      loss.backward();
      optim::clip_grad_norm(net.parameters(), 1.0);
      opt.step();
      sched.step();
      loss_sum += loss.item<float>();
    }
    fmt::print("epoch {}  train loss {:.4f}\n", epoch + 1, loss_sum / loader.size());
  }

  // Not in the design's sketch: the accuracy on the 10000 test pictures (1000 with --smoke).
  net.eval();
  autograd::NoGradGuard no_grad;
  data::FashionMNIST test("/usr/share/datasets/fashion-mnist", data::Split::Test);
  data::DataLoader test_loader(test, {.batch_size = 1000, .seed = 0});
  int64_t correct = 0, seen = 0;
  for (auto [x, y] : test_loader) {
    correct += (net.forward(x).argmax(1) == y).sum().item<int64_t>();
    seen += y.size(0);
    if (smoke) break;
  }
  fmt::print("test accuracy {:.2f}% ({} pictures)\n", 100.0 * correct / seen, seen);
  nn::save(net, "net.safetensors");
} catch (const Error& error) {  // e.g. the data set is missing: say so, exit 1
  fmt::print(stderr, "05_fashion_cnn: {}\n", error.what());
  return 1;
}
