// Fashion-MNIST as tensors, the MLP, evaluation and one training epoch; see lab/fashion.h.
#include "lab/fashion.h"

#include <filesystem>
#include <numeric>

#include <descent/descent.h>

namespace descent::lab {

namespace {

// All pictures of `split` (or the first `count`) as [N, 784] float32 in [0, 1] and labels.
std::pair<Tensor, Tensor> read_split(const std::string& root, data::Split split, int64_t count) {
  data::FashionMNIST set(root, split);
  std::vector<int64_t> indices(count > 0 ? std::min(count, set.size()) : set.size());
  std::iota(indices.begin(), indices.end(), 0);
  data::Example all = set.get_batch(indices);
  return {all.x.flatten(1), all.y};
}

}  // namespace

FashionData load_fashion(const Context& context, int64_t train_count, int64_t test_count) {
  check<ValueError>(std::filesystem::is_directory(context.data_dir),
                    "descent lab {}: no Fashion-MNIST in {}: install the Debian package dataset-fashion-mnist "
                    "(apt-get install dataset-fashion-mnist), or give its directory with --data-dir",
                    context.name, context.data_dir);
  auto [train_x, train_y] = read_split(context.data_dir, data::Split::Train, train_count);
  auto [test_x, test_y] = read_split(context.data_dir, data::Split::Test, test_count);
  // Both splits normalised with the training pictures' statistics.
  double mean_value = mean(train_x).item<float>();
  double std_value = std(train_x).item<float>();
  return {(train_x - mean_value) / std_value, train_y, (test_x - mean_value) / std_value, test_y};
}

nn::Sequential fashion_mlp(int64_t hidden) {
  return nn::Sequential{nn::Linear(784, hidden), nn::ReLU(), nn::Linear(hidden, 10)};
}

Evaluation evaluate(nn::Sequential& model, const Tensor& x, const Tensor& y) {
  autograd::NoGradGuard no_grad;
  constexpr int64_t kChunk = 2000;
  double loss_sum = 0.0;
  int64_t correct = 0;
  const int64_t n = x.size(0);
  for (int64_t begin = 0; begin < n; begin += kChunk) {
    int64_t end = std::min(begin + kChunk, n);
    Tensor logits = model.forward(x.slice(0, begin, end));
    Tensor labels = y.slice(0, begin, end);
    loss_sum += nn::functional::cross_entropy(logits, labels, {.reduction = nn::functional::Reduction::Sum})
                    .item<float>();
    correct += sum(argmax(logits, 1) == labels).item<int64_t>();
  }
  return {loss_sum / static_cast<double>(n), static_cast<double>(correct) / static_cast<double>(n)};
}

double train_epoch(nn::Sequential& model, optim::Optimizer& optimizer, const Tensor& x, const Tensor& y,
                   int64_t batch, uint64_t seed, const std::function<void(int64_t)>& after_step) {
  Generator generator(seed);
  const int64_t n = x.size(0);
  Tensor order = randperm(n, {}, &generator);
  double loss_sum = 0.0;
  int64_t steps = 0;
  for (int64_t begin = 0; begin < n; begin += batch) {
    int64_t end = std::min(begin + batch, n);
    Tensor picked = order.slice(0, begin, end);
    Tensor loss = nn::functional::cross_entropy(model.forward(index_select(x, 0, picked)), index_select(y, 0, picked));
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    loss_sum += loss.item<float>();
    ++steps;
    if (after_step) after_step(end);
  }
  return loss_sum / static_cast<double>(steps);
}

}  // namespace descent::lab
