// The convolution layers Conv1d and Conv2d: a weight and an optional bias with PyTorch's names,
// shapes and default initialisation, around nn::functional::conv1d / conv2d (nn/functional_conv.h).
//   nn::Conv2d conv{1, 32, 3};                                    // in, out, kernel
//   nn::Conv2d strided{32, 64, {3, 5}, {.stride = 2, .padding = 1, .bias = false}};
//   nn::Conv1d keeps_length{16, 16, 4, {.padding = "same", .dilation = 3}};
//   nn::Conv2d periodic{3, 8, 3, {.padding = 1, .padding_mode = nn::PadMode::Circular}};
#pragma once

#include <descent/nn/functional_conv.h>
#include <descent/nn/functional_pad.h>
#include <descent/nn/functional_pool.h>
#include <descent/nn/module.h>

namespace descent::nn {

using functional::ConvPadding;
using functional::ConvPaddingMode;
using functional::PadMode;
using functional::Size2;

struct Conv2dOptions {
  Size2 stride = 1;
  ConvPadding padding = 0;  // sizes, "same" (stride 1) or "valid"
  Size2 dilation = 1;
  int64_t groups = 1;       // divides both channel counts
  bool bias = true;
  // What the padding holds, PyTorch's padding_mode: Zeros, Reflect, Replicate or Circular (the
  // input padded by nn::functional::pad, then convolved unpadded)
  PadMode padding_mode = PadMode::Zeros;
};

class Conv2d : public Module {
 public:
  // weight [out_channels, in_channels / groups, kH, kW] and bias [out_channels], float32,
  // initialised as PyTorch: weight kaiming_uniform_(a = sqrt 5), which is U(-1/sqrt(fan_in),
  // 1/sqrt(fan_in)) with fan_in = in_channels / groups * kH * kW, and bias on the same bound.
  Conv2d(int64_t in_channels, int64_t out_channels, Size2 kernel_size, const Conv2dOptions& options = {});

  Tensor forward(const Tensor& x);  // [N, C_in, H, W] or [C_in, H, W] -> [N, C_out, H_out, W_out]
  Tensor operator()(const Tensor& x) { return forward(x); }
  void reset_parameters();  // draws the parameters again from the default initialisation
  std::string extra_repr() const override;

  int64_t in_channels, out_channels;
  Size2 kernel_size;
  Conv2dOptions options;
  Tensor weight;
  Tensor bias;  // undefined without bias
};

struct Conv1dOptions {
  int64_t stride = 1;
  ConvPadding padding = 0;  // sizes, "same" (stride 1) or "valid"
  int64_t dilation = 1;
  int64_t groups = 1;
  bool bias = true;
  // What the padding holds, PyTorch's padding_mode: Zeros, Reflect, Replicate or Circular (the
  // input padded by nn::functional::pad, then convolved unpadded)
  PadMode padding_mode = PadMode::Zeros;
};

class Conv1d : public Module {
 public:
  // weight [out_channels, in_channels / groups, k] and bias [out_channels], initialised as Conv2d.
  Conv1d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, const Conv1dOptions& options = {});

  Tensor forward(const Tensor& x);  // [N, C_in, L] or [C_in, L] -> [N, C_out, L_out]
  Tensor operator()(const Tensor& x) { return forward(x); }
  void reset_parameters();
  std::string extra_repr() const override;

  int64_t in_channels, out_channels, kernel_size;
  Conv1dOptions options;
  Tensor weight;
  Tensor bias;
};

}  // namespace descent::nn
