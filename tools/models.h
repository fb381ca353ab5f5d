// The models `descent train --model` builds: the 784-512-256-10 MLP and the north-star CNN of
// DESIGN.md. Both are classifiers of normalised inputs; the MLP flattens whatever it is given.
#pragma once

#include <memory>
#include <string>

#include <descent/core/tensor.h>
#include <descent/nn/conv.h>
#include <descent/nn/linear.h>
#include <descent/nn/module.h>

namespace descent::tools {

// A model that maps a batch of inputs to class logits [N, classes].
class Classifier : public nn::Module {
 public:
  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }
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

// `name` is "mlp" or "cnn"; the input of one example has `in_features` numbers.
std::unique_ptr<Classifier> make_model(const std::string& name, int64_t in_features, int64_t classes);

}  // namespace descent::tools
