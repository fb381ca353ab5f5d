// Convolutions of nn::functional (conv1d, conv2d), as torch.nn.functional defines them: stride,
// zero padding (explicit, "same" or "valid"), dilation, groups and bias. Kernels and the differentiable
// ops (forward and both backward products through GEMM) are in nn/functional_conv.cpp.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <descent/core/tensor.h>

namespace descent::nn::functional {

// Zero padding of a convolution, as PyTorch's `padding` argument: explicit sizes per spatial dim,
// or the strings "valid" (no padding) and "same" (stride 1 only; the output keeps the input's
// spatial size: total dilation (k - 1) per dim, the odd one out at the end (right / bottom), as
// PyTorch pads an even kernel with odd dilation).
//   {.padding = 1}   {.padding = {1, 2}}   {.padding = "same"}   {.padding = ConvPadding::Same()}
enum class ConvPaddingMode { Explicit, Same, Valid };

struct ConvPadding {
  std::array<int64_t, 2> sizes{0, 0};  // Explicit only
  ConvPaddingMode mode = ConvPaddingMode::Explicit;
  ConvPadding(int64_t size = 0) : sizes{size, size} {}  // NOLINT: `.padding = 1` reads well
  ConvPadding(int64_t height, int64_t width) : sizes{height, width} {}
  // "same" or "valid"; any other string throws a ValueError naming it. NOTE: a literal takes the
  // array overload: a `const char*` one would make `.padding = 0` (a null pointer) ambiguous.
  template <size_t N>
  ConvPadding(const char (&mode)[N]) : ConvPadding(std::string_view(mode, N - 1)) {}  // NOLINT: `.padding = "same"`
  ConvPadding(std::string_view mode);                                                  // NOLINT
  static ConvPadding Same() { return ConvPadding("same"); }
  static ConvPadding Valid() { return ConvPadding("valid"); }
  bool same() const { return mode == ConvPaddingMode::Same; }
};

// The options of conv2d and conv1d. Named as libtorch names them (Conv2dFuncOptions), so they
// never clash with the layers' nn::Conv2dOptions (which add bias) under `using namespace`.
struct Conv2dFuncOptions {
  std::array<int64_t, 2> stride{1, 1};
  ConvPadding padding{};
  std::array<int64_t, 2> dilation{1, 1};
  int64_t groups = 1;
};

// input [N, C_in, H, W] (or unbatched [C_in, H, W]), weight [C_out, C_in / groups, kH, kW],
// bias [C_out] or undefined -> [N, C_out, H_out, W_out] with
// H_out = (H + 2 padding - dilation (kH - 1) - 1) / stride + 1.
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(),
              const Conv2dFuncOptions& options = {});

struct Conv1dFuncOptions {
  int64_t stride = 1;
  ConvPadding padding{};  // one size (sizes[0] == sizes[1]), "same" or "valid"
  int64_t dilation = 1;
  int64_t groups = 1;
};

// input [N, C_in, L] (or [C_in, L]), weight [C_out, C_in / groups, k], bias [C_out] or undefined.
Tensor conv1d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(),
              const Conv1dFuncOptions& options = {});

}  // namespace descent::nn::functional
