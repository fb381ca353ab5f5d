// Dropout: inverted dropout in training mode (nn::functional::dropout), the identity in eval.
#pragma once

#include <descent/core/random.h>
#include <descent/nn/module.h>

namespace descent::nn {

class Dropout : public Module {
 public:
  // p in [0, 1]; draws from `generator`, or the default generator when null (it must outlive
  // the layer).
  explicit Dropout(double p = 0.5, Generator* generator = nullptr);
  Tensor forward(const Tensor& x);
  Tensor operator()(const Tensor& x) { return forward(x); }
  std::string extra_repr() const override;

  double p;
  Generator* generator;
};

}  // namespace descent::nn
