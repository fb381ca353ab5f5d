// Fashion-MNIST (28x28 grey pictures of clothes, 10 classes) with a 784-512-256-10 MLP, AdamW
// and a warmup-cosine schedule; evaluates on the 10000 test pictures after every epoch. Needs
// /usr/share/datasets/fashion-mnist (scripts/install-deps). `--smoke`: 2000 pictures, one epoch.
#include <numeric>
#include <string>

#include <descent/descent.h>

using namespace descent;

// Test loss and accuracy of `net` over `set`, in eval mode without recording a graph.
std::pair<double, double> evaluate(nn::Sequential& net, const data::DatasetPtr& set) {
  autograd::NoGradGuard no_grad;
  net.eval();
  data::DataLoader loader(set, {.batch_size = 1000, .seed = 0});
  double loss_sum = 0, correct = 0;
  for (auto [x, y] : loader) {
    Tensor logits = net.forward(x.flatten(1));
    loss_sum += nn::functional::cross_entropy(logits, y, {.reduction = nn::functional::Reduction::Sum}).item<float>();
    correct += (logits.argmax(1) == y).sum().item<int64_t>();
  }
  net.train();
  return {loss_sum / set->size(), correct / set->size()};
}

int main(int argc, char** argv) try {
  const bool smoke = argc > 1 && std::string(argv[1]) == "--smoke";
  manual_seed(0);
  const std::string root = "/usr/share/datasets/fashion-mnist";
  data::DatasetPtr train = std::make_shared<data::FashionMNIST>(root, data::Split::Train);
  data::DatasetPtr test = std::make_shared<data::FashionMNIST>(root, data::Split::Test);
  if (smoke) {
    std::vector<int64_t> first(2000);
    std::iota(first.begin(), first.end(), 0);
    train = std::make_shared<data::Subset>(train, first);
    test = std::make_shared<data::Subset>(test, std::vector<int64_t>(first.begin(), first.begin() + 1000));
  }
  data::DataLoader loader(train, {.batch_size = 64, .shuffle = true, .num_workers = 1});

  nn::Sequential net{nn::Linear(784, 512), nn::ReLU(), nn::Linear(512, 256), nn::ReLU(), nn::Linear(256, 10)};
  fmt::print("{}\n", net);
  const int epochs = smoke ? 1 : 10;
  // Weights decay (decoupled, AdamW), biases do not.
  optim::AdamW opt(optim::weight_decay_groups(net.named_parameters(), 0.05), {.lr = 1e-3});
  auto sched = optim::warmup_cosine(opt, {.warmup_steps = epochs * loader.size() / 20,
                                          .total_steps = epochs * loader.size()});

  for (int epoch = 1; epoch <= epochs; ++epoch) {
    double loss_sum = 0;
    for (auto [x, y] : loader) {
      Tensor loss = nn::functional::cross_entropy(net.forward(x.flatten(1)), y);  // x [64, 1, 28, 28]
      opt.zero_grad();
      loss.backward();
      opt.step();
      sched.step();
      loss_sum += loss.item<float>();
    }
    auto [test_loss, test_accuracy] = evaluate(net, test);
    fmt::print("epoch {:2}  train loss {:.4f}  test loss {:.4f}  test accuracy {:.2f}%\n", epoch,
               loss_sum / loader.size(), test_loss, 100 * test_accuracy);
  }
} catch (const Error& error) {  // e.g. the data set is missing: say so, exit 1
  fmt::print(stderr, "04_fashion_mlp: {}\n", error.what());
  return 1;
}
