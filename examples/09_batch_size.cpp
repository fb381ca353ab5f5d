// Batch size against progress: on Fashion-MNIST, batch 32 makes 1875 updates per epoch where the
// full batch makes one. Trains the same MLP with batch 32, 512 and 60000 (the full batch), and
// records the test loss against epochs and against wall time (training only) in batch_size.dat
// and, with gnuplot, batch_size.png. Needs /usr/share/datasets/fashion-mnist. `--smoke`: 2048
// training pictures, 2 epochs.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <numeric>
#include <string>

#include <descent/descent.h>

using namespace descent;

struct Point {
  int epoch;
  double seconds, test_loss;
};

double test_loss(nn::Sequential& net, const data::TensorDataset& test) {
  autograd::NoGradGuard no_grad;
  return nn::functional::cross_entropy(net.forward(test.x()), test.y()).item<float>();
}

// All of a dataset as one TensorDataset of flattened pictures [N, 784] and labels.
data::TensorDataset flattened(const data::Dataset& set) {
  std::vector<int64_t> all(set.size());
  std::iota(all.begin(), all.end(), 0);
  data::Example batch = set.get_batch(all);
  return data::TensorDataset(batch.x.flatten(1), batch.y);
}

int main(int argc, char** argv) try {
  const bool smoke = argc > 1 && std::string(argv[1]) == "--smoke";
  const std::string root = "/usr/share/datasets/fashion-mnist";
  data::TensorDataset train = flattened(data::FashionMNIST(root, data::Split::Train));
  data::TensorDataset test = flattened(data::FashionMNIST(root, data::Split::Test));
  if (smoke) {
    train = data::TensorDataset(train.x().slice(0, 0, 1024), train.y().slice(0, 0, 1024));
    test = data::TensorDataset(test.x().slice(0, 0, 512), test.y().slice(0, 0, 512));
  }
  const int epochs = smoke ? 2 : 5;
  const int64_t full = train.size();

  std::vector<std::pair<int64_t, std::vector<Point>>> runs;
  for (int64_t batch : {int64_t{32}, int64_t{512}, full}) {
    manual_seed(0);  // the same initial weights for every batch size
    nn::Sequential net{nn::Linear(784, 128), nn::ReLU(), nn::Linear(128, 10)};
    // The linear scaling rule from lr 0.02 at batch 32, capped where full-batch steps stay stable.
    double lr = std::min(optim::linear_scaled_lr(0.02, 32, batch), 0.5);
    optim::SGD opt(net.parameters(), {.lr = lr, .momentum = 0.9});
    data::DataLoader loader(train, {.batch_size = batch, .shuffle = true, .seed = 0});
    std::vector<Point> points{{0, 0.0, test_loss(net, test)}};
    double seconds = 0;
    for (int epoch = 1; epoch <= epochs; ++epoch) {
      auto start = std::chrono::steady_clock::now();
      for (auto [x, y] : loader) {
        Tensor loss = nn::functional::cross_entropy(net.forward(x), y);
        opt.zero_grad();
        loss.backward();
        opt.step();
      }
      seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      points.push_back({epoch, seconds, test_loss(net, test)});
    }
    fmt::print("batch {:5} (lr {:.3g}, {:4} updates per epoch): test loss {:.4f} after {} epochs, {:.1f} s\n", batch,
               lr, loader.size(), points.back().test_loss, epochs, seconds);
    runs.emplace_back(batch, std::move(points));
  }

  {
    std::ofstream dat("batch_size.dat");  // one block per batch size: epoch seconds test_loss
    for (const auto& [batch, points] : runs) {
      dat << "# batch " << batch << "\n";
      for (const Point& p : points) dat << p.epoch << " " << p.seconds << " " << p.test_loss << "\n";
      dat << "\n\n";
    }
  }
  FILE* gnuplot = std::system("command -v gnuplot >/dev/null 2>&1") == 0 ? popen("gnuplot", "w") : nullptr;
  if (gnuplot == nullptr) {
    fmt::print("wrote batch_size.dat (install gnuplot-nox for batch_size.png)\n");
    return 0;
  }
  // One panel's plot command: test loss (column 3) against column `x` of every run's block.
  auto plot_against = [&](int x) {
    std::string command = "plot ";
    for (size_t i = 0; i < runs.size(); ++i) {
      command += fmt::format("{}'batch_size.dat' index {} using {}:3 with linespoints title 'batch {}'",
                             i ? ", " : "", i, x, runs[i].first);
    }
    return command;
  };
  fmt::print(gnuplot, "set terminal pngcairo size 1200,500\nset output 'batch_size.png'\nset grid\n"
                      "set multiplot layout 1,2\nset ylabel 'test loss'\n"
                      "set xlabel 'epoch'\n{}\nset xlabel 'training seconds'\n{}\nunset multiplot\n",
             plot_against(1), plot_against(2));
  bool ok = pclose(gnuplot) == 0;
  fmt::print("wrote batch_size.dat{}\n", ok ? " and batch_size.png" : " (gnuplot failed: no batch_size.png)");
} catch (const Error& error) {  // e.g. the data set is missing: say so, exit 1
  fmt::print(stderr, "09_batch_size: {}\n", error.what());
  return 1;
}
