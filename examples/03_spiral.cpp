// Two interleaved spirals, learned by a small MLP with a training loop written out by hand:
// forward, loss, zero_grad, backward, step. Ends with the learned decision regions drawn in text.
// Read 01_tensors and 02_autograd first. `--smoke` runs a few epochs only (the ctest case).
#include <string>

#include <descent/descent.h>

using namespace descent;

int main(int argc, char** argv) {
  const bool smoke = argc > 1 && std::string(argv[1]) == "--smoke";
  manual_seed(0);

  // 2 x 500 points in the plane: x [1000, 2] float32, y [1000] int64 in {0, 1}.
  data::TensorDataset train = data::two_spirals(500, 0.05, /*seed=*/1);
  data::TensorDataset test = data::two_spirals(250, 0.05, /*seed=*/2);
  data::DataLoader loader(train, {.batch_size = 50, .shuffle = true, .seed = 0});

  nn::Sequential net{nn::Linear(2, 64), nn::Tanh(), nn::Linear(64, 64), nn::Tanh(), nn::Linear(64, 2)};
  fmt::print("{}\n", net);
  optim::Adam opt(net.parameters(), {.lr = 0.01});

  // The fraction of points whose largest logit is their class.
  auto accuracy = [&](const data::TensorDataset& set) {
    autograd::NoGradGuard no_grad;
    Tensor predicted = net.forward(set.x()).argmax(1);
    return (predicted == set.y()).to(kFloat32).mean().item<float>();
  };

  const int epochs = smoke ? 5 : 200;
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    double loss_sum = 0.0;
    for (auto [x, y] : loader) {
      Tensor loss = nn::functional::cross_entropy(net.forward(x), y);  // mean over the batch
      opt.zero_grad();
      loss.backward();  // fills p.grad() for every parameter p
      opt.step();       // p -= lr * (Adam's step from p.grad())
      loss_sum += loss.item<float>();
    }
    if (epoch % 40 == 0 || epoch == epochs) {
      fmt::print("epoch {:3}  train loss {:.4f}  test accuracy {:.1f}%\n", epoch, loss_sum / loader.size(),
                 100 * accuracy(test));
    }
  }

  // The plane [-1.2, 1.2]^2 as 24 rows of 48 characters: the class the net predicts at each place.
  const int rows = 24, cols = 48;
  std::vector<float> grid;
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      grid.push_back(-1.2f + 2.4f * (c + 0.5f) / cols);
      grid.push_back(1.2f - 2.4f * (r + 0.5f) / rows);
    }
  }
  autograd::NoGradGuard no_grad;
  Tensor classes = net.forward(tensor(grid, {rows * cols, 2})).argmax(1);
  for (int r = 0; r < rows; ++r) {
    std::string line;
    for (int c = 0; c < cols; ++c) line += classes[r * cols + c].item<int64_t>() == 0 ? '.' : '#';
    fmt::print("{}\n", line);
  }
}
