// Convolutions of nn::functional (conv1d, conv2d), as torch.nn.functional defines them: stride,
// zero padding (explicit or "same"), dilation, groups and bias. Kernels and the differentiable
// ops (forward and both backward products through GEMM) are in nn/functional_conv.cpp.
#pragma once

#include <array>
#include <cstdint>

#include "core/tensor.h"

namespace descent::nn::functional {

// Zero padding of a convolution: explicit sizes per spatial dim, or "same" (stride 1; the output
// keeps the input's spatial size, and an odd total puts the extra row or column at the end, as
// PyTorch does).
struct ConvPadding {
  std::array<int64_t, 2> sizes{0, 0};
  bool same = false;
  ConvPadding(int64_t size = 0) : sizes{size, size} {}  // NOLINT: `.padding = 1` reads well
  ConvPadding(int64_t height, int64_t width) : sizes{height, width} {}
  static ConvPadding Same() {
    ConvPadding padding;
    padding.same = true;
    return padding;
  }
};

struct Conv2dOptions {
  std::array<int64_t, 2> stride{1, 1};
  ConvPadding padding{};
  std::array<int64_t, 2> dilation{1, 1};
  int64_t groups = 1;
};

// input [N, C_in, H, W] (or unbatched [C_in, H, W]), weight [C_out, C_in / groups, kH, kW],
// bias [C_out] or undefined -> [N, C_out, H_out, W_out] with
// H_out = (H + 2 padding - dilation (kH - 1) - 1) / stride + 1.
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(),
              const Conv2dOptions& options = {});

struct Conv1dOptions {
  int64_t stride = 1;
  ConvPadding padding{};  // explicit: sizes[0] is used
  int64_t dilation = 1;
  int64_t groups = 1;
};

// input [N, C_in, L] (or [C_in, L]), weight [C_out, C_in / groups, k], bias [C_out] or undefined.
Tensor conv1d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(),
              const Conv1dOptions& options = {});

}  // namespace descent::nn::functional
