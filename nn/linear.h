// Linear (y = x W^T + b), and the shape-only layers Identity and Flatten.
#pragma once

#include <descent/nn/module.h>

namespace descent::nn {

class Linear : public Module {
 public:
  // weight [out_features, in_features] and bias [out_features], float32, initialised as
  // PyTorch: weight kaiming_uniform_(a = sqrt 5), which is U(-1/sqrt(in), 1/sqrt(in)), and bias
  // U(-1/sqrt(in), 1/sqrt(in)).
  Linear(int64_t in_features, int64_t out_features, bool bias = true);

  Tensor forward(const Tensor& x);  // x [*, in_features] -> [*, out_features]
  Tensor operator()(const Tensor& x) { return forward(x); }
  // Draws the parameters again from the default initialisation.
  void reset_parameters();
  std::string extra_repr() const override;

  int64_t in_features, out_features;
  Tensor weight;
  Tensor bias;  // undefined without bias
};

class Identity : public Module {
 public:
  Tensor forward(const Tensor& x) { return x; }
  Tensor operator()(const Tensor& x) { return forward(x); }
};

// x.flatten(start_dim, end_dim); by default keeps the batch dim: [B, C, H, W] -> [B, C*H*W].
class Flatten : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1) : start_dim(start_dim), end_dim(end_dim) {}
  Tensor forward(const Tensor& x) { return x.flatten(start_dim, end_dim); }
  Tensor operator()(const Tensor& x) { return forward(x); }
  std::string extra_repr() const override;

  int64_t start_dim, end_dim;
};

}  // namespace descent::nn
