// Pooling of nn::functional, as torch.nn.functional defines it: max_pool2d (its argmax indices
// kept for the backward), avg_pool2d and adaptive_avg_pool2d. Written in nn/functional_pool.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>

#include <descent/core/tensor.h>

namespace descent::nn::functional {

// A size per spatial dim (height, width); one number means both.
struct Size2 {
  int64_t h = 0, w = 0;
  Size2(int64_t size) : h(size), w(size) {}  // NOLINT: `max_pool2d(x, 2)` reads well
  Size2(int64_t height, int64_t width) : h(height), w(width) {}
};

struct MaxPool2dOptions {
  std::optional<Size2> stride = std::nullopt;  // default: the kernel size
  Size2 padding = 0;            // implicit -inf padding, at most half the kernel
  Size2 dilation = 1;
  bool ceil_mode = false;       // round the output size up (a last window may start in the padding's end)
};

// input [N, C, H, W] or [C, H, W]. The gradient goes to the first maximum of each window.
Tensor max_pool2d(const Tensor& input, Size2 kernel_size, const MaxPool2dOptions& options = {});
// The output and, per output element, the flat index h * W + w of its maximum in its plane (int64).
std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& input, Size2 kernel_size,
                                                  const MaxPool2dOptions& options = {});

struct AvgPool2dOptions {
  std::optional<Size2> stride = std::nullopt;    // default: the kernel size
  Size2 padding = 0;              // zero padding, at most half the kernel
  bool ceil_mode = false;
  bool count_include_pad = true;  // divide by the window's size within the padded input (PyTorch's default)
  std::optional<int64_t> divisor_override = std::nullopt;  // divide every window's sum by this (nonzero) instead
};

Tensor avg_pool2d(const Tensor& input, Size2 kernel_size, const AvgPool2dOptions& options = {});

// Averages over windows [floor(i H / OH), ceil((i + 1) H / OH)) (and likewise in W).
Tensor adaptive_avg_pool2d(const Tensor& input, Size2 output_size);

}  // namespace descent::nn::functional
