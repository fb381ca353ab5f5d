// The models `descent train --model` builds: the 784-512-256-10 MLP and the north-star CNN of
// DESIGN.md, classifiers of normalised inputs (the MLP flattens whatever it is given), and the
// GPT of tools/text_task.h, a classifier of each next token.
#pragma once

#include <memory>
#include <string>

#include <descent/core/tensor.h>
#include <descent/nn/conv.h>
#include <descent/nn/linear.h>
#include <descent/nn/module.h>
#include <descent/optim/optimizer.h>
#include "tools/tasks.h"

namespace descent::tools {

// A model that maps a batch of inputs to class logits [N, classes] (one row per target).
class Classifier : public nn::Module {
 public:
  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }
  // The optimizer's groups: weights decay, biases and norms do not (optim::weight_decay_groups).
  virtual std::vector<optim::GroupSpec> parameter_groups(double weight_decay) const;
};

// in_features -> 512 -> 256 -> classes with ReLU between.
class Mlp : public Classifier {
 public:
  Mlp(int64_t in_features, int64_t classes);
  Tensor forward(const Tensor& x) override;

  nn::Linear fc1, fc2, fc3;
};

// The north star: conv 1->32 3x3, relu, maxpool 2; conv 32->64 3x3, relu, maxpool 2;
// linear 64*5*5 -> 128, relu; linear 128 -> classes. Input [N, 1, 28, 28].
class Cnn : public Classifier {
 public:
  explicit Cnn(int64_t classes);
  Tensor forward(const Tensor& x) override;

  nn::Conv2d conv1{1, 32, 3}, conv2{32, 64, 3};
  nn::Linear fc1{64 * 5 * 5, 128}, fc2;
};

// The model of config.model ("mlp", "cnn" or "gpt") for the task's inputs and classes.
std::unique_ptr<Classifier> make_model(const TrainConfig& config, const Task& task);

}  // namespace descent::tools
