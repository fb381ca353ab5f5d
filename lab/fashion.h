// What the Fashion-MNIST experiments share: the data as two tensors per split (flattened,
// normalised pictures [N, 784] and labels), the small MLP they train, its test loss and
// accuracy, and one epoch of plain minibatch training. Read lab/updates.cpp for a use.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <descent/core/tensor.h>
#include <descent/nn/container.h>
#include <descent/optim/optimizer.h>
#include "lab/experiment.h"

namespace descent::lab {

struct FashionData {
  Tensor train_x, train_y;  // [N, 784] float32, normalised by the training pictures' mean and std; int64 [N]
  Tensor test_x, test_y;
};

// The first train_count training and test_count test pictures (0: all). A missing directory is a
// ValueError that names the Debian package installing it (dataset-fashion-mnist) and --data-dir.
FashionData load_fashion(const Context& context, int64_t train_count = 0, int64_t test_count = 0);

// 784 -> hidden -> 10 with ReLU, PyTorch's default initialisation from the default generator.
nn::Sequential fashion_mlp(int64_t hidden);

struct Evaluation {
  double loss = 0.0;      // mean cross-entropy
  double accuracy = 0.0;  // fraction correct
};
// The model on (x, y) under no-grad, 2,000 pictures at a time.
Evaluation evaluate(nn::Sequential& model, const Tensor& x, const Tensor& y);

// One pass over (x, y) in the order of a permutation drawn from Generator(seed): cross-entropy
// minibatches of `batch` (the last may be smaller), one optimizer step each; `after_step` (if
// given) runs after every step with the number of examples seen in this epoch. Returns the mean
// training loss of the epoch's steps.
double train_epoch(nn::Sequential& model, optim::Optimizer& optimizer, const Tensor& x, const Tensor& y,
                   int64_t batch, uint64_t seed, const std::function<void(int64_t)>& after_step = {});

}  // namespace descent::lab
