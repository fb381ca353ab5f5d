// The pooling layers MaxPool2d, AvgPool2d and AdaptiveAvgPool2d: their options around
// nn::functional's max_pool2d, avg_pool2d and adaptive_avg_pool2d (nn/functional_pool.h).
//   nn::MaxPool2d pool{2};                      // kernel 2, stride 2
//   nn::AvgPool2d avg{3, {.stride = 1, .padding = 1}};
#pragma once

#include <descent/nn/functional_pool.h>
#include <descent/nn/module.h>

namespace descent::nn {

using functional::AvgPool2dOptions;
using functional::MaxPool2dOptions;
using functional::Size2;

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(Size2 kernel_size, const MaxPool2dOptions& options = {})
      : kernel_size(kernel_size), options(options) {}
  Tensor forward(const Tensor& x);  // [N, C, H, W] or [C, H, W]
  Tensor operator()(const Tensor& x) { return forward(x); }
  std::string extra_repr() const override;

  Size2 kernel_size;
  MaxPool2dOptions options;
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(Size2 kernel_size, const AvgPool2dOptions& options = {})
      : kernel_size(kernel_size), options(options) {}
  Tensor forward(const Tensor& x);
  Tensor operator()(const Tensor& x) { return forward(x); }
  std::string extra_repr() const override;

  Size2 kernel_size;
  AvgPool2dOptions options;
};

class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(Size2 output_size) : output_size(output_size) {}
  Tensor forward(const Tensor& x);
  Tensor operator()(const Tensor& x) { return forward(x); }
  std::string extra_repr() const override;

  Size2 output_size;
};

}  // namespace descent::nn
