// Conv1d and Conv2d: construction, PyTorch's default initialisation, forward through
// nn::functional, and the options printed as PyTorch prints them.
#include <descent/nn/conv.h>

#include <cmath>
#include <utility>
#include <vector>

#include <descent/autograd/ops.h>
#include <descent/nn/init.h>

namespace descent::nn {
namespace {

// PyTorch's _ConvNd refuses "same" with a stride at construction; so do we.
void check_same_padding(const char* layer, const ConvPadding& padding, bool strided) {
  check<ValueError>(!padding.same() || !strided, "{}: padding \"same\" is not supported for strided convolutions",
                    layer);
}

void check_channels(const char* layer, int64_t in_channels, int64_t out_channels, int64_t groups) {
  check<ValueError>(in_channels > 0 && out_channels > 0, "{}: channel counts have to be positive, got in={} out={}",
                    layer, in_channels, out_channels);
  check<ValueError>(groups > 0 && in_channels % groups == 0 && out_channels % groups == 0,
                    "{}: groups={} has to divide in_channels={} and out_channels={}", layer, groups, in_channels,
                    out_channels);
}

// PyTorch's _ConvNd.reset_parameters: kaiming_uniform_ with a = sqrt(5) (bound 1 / sqrt(fan_in))
// on the weight, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) on the bias.
void init_conv_parameters(const Tensor& weight, const Tensor& bias) {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (!bias.defined()) return;
  int64_t fan_in = init::calculate_fan_in_and_fan_out(weight).first;
  double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
  init::uniform_(bias, -bound, bound);
}

const char* padding_mode_name(PadMode mode) {
  switch (mode) {
    case PadMode::Zeros: return "zeros";
    case PadMode::Reflect: return "reflect";
    case PadMode::Replicate: return "replicate";
    case PadMode::Circular: return "circular";
  }
  return "?";
}

// The options after the kernel size, as PyTorch's _ConvNd.extra_repr lists them: stride always,
// the others only when not at their default. `tuple` formats one per-dim option.
template <typename Options, typename Tuple>
std::string conv_repr(int64_t in_channels, int64_t out_channels, const std::string& kernel_size,
                      const Options& options, Tuple tuple) {
  std::string repr = fmt::format("{}, {}, kernel_size={}, stride={}", in_channels, out_channels, kernel_size,
                                 tuple(options.stride));
  const ConvPadding& padding = options.padding;
  if (padding.mode != ConvPaddingMode::Explicit) {
    repr += padding.same() ? ", padding=same" : ", padding=valid";
  } else if (padding.sizes[0] != 0 || padding.sizes[1] != 0) {
    repr += ", padding=" + tuple(padding);
  }
  if (tuple(options.dilation) != tuple(decltype(options.dilation){1})) repr += ", dilation=" + tuple(options.dilation);
  if (options.groups != 1) repr += fmt::format(", groups={}", options.groups);
  if (!options.bias) repr += ", bias=false";
  if (options.padding_mode != PadMode::Zeros) {
    repr += fmt::format(", padding_mode={}", padding_mode_name(options.padding_mode));
  }
  return repr;
}

std::string pair_repr(int64_t h, int64_t w) { return fmt::format("({}, {})", h, w); }

// PyTorch's _ConvNd._reversed_padding_repeated_twice: the amounts nn::functional::pad takes (last
// dim first, (left, right) each) for a layer whose padding_mode is not zeros. "same" puts the odd
// one of an even total at the end, as conv's own "same" does.
std::vector<int64_t> mode_padding(const ConvPadding& padding, const std::vector<int64_t>& kernel,
                                  const std::vector<int64_t>& dilation) {
  std::vector<int64_t> amounts;
  for (size_t d = kernel.size(); d-- > 0;) {
    int64_t left = 0, right = 0;
    if (padding.same()) {
      const int64_t total = dilation[d] * (kernel[d] - 1);
      left = total / 2;
      right = total - left;
    } else if (padding.mode == ConvPaddingMode::Explicit) {
      left = right = padding.sizes[d];
    }
    amounts.push_back(left);
    amounts.push_back(right);
  }
  return amounts;
}

// The input a layer convolves and the padding conv itself adds: x and the layer's padding for
// zeros, x padded by the mode and no padding otherwise.
std::pair<Tensor, ConvPadding> padded_input(const Tensor& x, const ConvPadding& padding, PadMode mode,
                                            const std::vector<int64_t>& kernel, const std::vector<int64_t>& dilation) {
  if (mode == PadMode::Zeros) return {x, padding};
  return {functional::pad(x, mode_padding(padding, kernel, dilation), {.mode = mode}), ConvPadding(0)};
}

}  // namespace

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, Size2 kernel_size, const Conv2dOptions& options)
    : in_channels(in_channels), out_channels(out_channels), kernel_size(kernel_size), options(options) {
  check_channels("Conv2d", in_channels, out_channels, options.groups);
  check_same_padding("Conv2d", options.padding, options.stride.h != 1 || options.stride.w != 1);
  check<ValueError>(kernel_size.h > 0 && kernel_size.w > 0, "Conv2d: kernel_size has to be positive, got ({}, {})",
                    kernel_size.h, kernel_size.w);
  weight = register_parameter("weight",
                              empty({out_channels, in_channels / options.groups, kernel_size.h, kernel_size.w}));
  if (options.bias) bias = register_parameter("bias", empty({out_channels}));
  reset_parameters();
}

void Conv2d::reset_parameters() { init_conv_parameters(weight, bias); }

Tensor Conv2d::forward(const Tensor& x) {
  auto [input, padding] = padded_input(x, options.padding, options.padding_mode, {kernel_size.h, kernel_size.w},
                                       {options.dilation.h, options.dilation.w});
  return functional::conv2d(input, weight, bias,
                            {.stride = {options.stride.h, options.stride.w},
                             .padding = padding,
                             .dilation = {options.dilation.h, options.dilation.w},
                             .groups = options.groups});
}

std::string Conv2d::extra_repr() const {
  auto tuple = [](const auto& value) {
    if constexpr (std::is_same_v<std::decay_t<decltype(value)>, ConvPadding>) {
      return pair_repr(value.sizes[0], value.sizes[1]);
    } else {
      return pair_repr(value.h, value.w);
    }
  };
  return conv_repr(in_channels, out_channels, pair_repr(kernel_size.h, kernel_size.w), options, tuple);
}

Conv1d::Conv1d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, const Conv1dOptions& options)
    : in_channels(in_channels), out_channels(out_channels), kernel_size(kernel_size), options(options) {
  check_channels("Conv1d", in_channels, out_channels, options.groups);
  check_same_padding("Conv1d", options.padding, options.stride != 1);
  check<ValueError>(kernel_size > 0, "Conv1d: kernel_size has to be positive, got {}", kernel_size);
  weight = register_parameter("weight", empty({out_channels, in_channels / options.groups, kernel_size}));
  if (options.bias) bias = register_parameter("bias", empty({out_channels}));
  reset_parameters();
}

void Conv1d::reset_parameters() { init_conv_parameters(weight, bias); }

Tensor Conv1d::forward(const Tensor& x) {
  auto [input, padding] =
      padded_input(x, options.padding, options.padding_mode, {kernel_size}, {options.dilation});
  return functional::conv1d(input, weight, bias,
                            {.stride = options.stride,
                             .padding = padding,
                             .dilation = options.dilation,
                             .groups = options.groups});
}

std::string Conv1d::extra_repr() const {
  auto tuple = [](const auto& value) {
    if constexpr (std::is_same_v<std::decay_t<decltype(value)>, ConvPadding>) {
      return fmt::format("({},)", value.sizes[0]);
    } else {
      return fmt::format("({},)", value);
    }
  };
  return conv_repr(in_channels, out_channels, fmt::format("({},)", kernel_size), options, tuple);
}

}  // namespace descent::nn
