// The pooling layers' forwards (nn::functional) and their options printed as PyTorch prints them.
#include <descent/nn/pooling.h>

namespace descent::nn {
namespace {

// A per-dim size as the user would have written it: "2", or "(2, 3)" when the dims differ.
std::string size_repr(Size2 size) {
  return size.h == size.w ? fmt::format("{}", size.h) : fmt::format("({}, {})", size.h, size.w);
}

}  // namespace

Tensor MaxPool2d::forward(const Tensor& x) { return functional::max_pool2d(x, kernel_size, options); }

std::string MaxPool2d::extra_repr() const {
  return fmt::format("kernel_size={}, stride={}, padding={}, dilation={}, ceil_mode={}", size_repr(kernel_size),
                     size_repr(options.stride.value_or(kernel_size)), size_repr(options.padding),
                     size_repr(options.dilation), options.ceil_mode);
}

Tensor AvgPool2d::forward(const Tensor& x) { return functional::avg_pool2d(x, kernel_size, options); }

std::string AvgPool2d::extra_repr() const {
  return fmt::format("kernel_size={}, stride={}, padding={}, ceil_mode={}, count_include_pad={}",
                     size_repr(kernel_size), size_repr(options.stride.value_or(kernel_size)),
                     size_repr(options.padding), options.ceil_mode, options.count_include_pad);
}

Tensor AdaptiveAvgPool2d::forward(const Tensor& x) { return functional::adaptive_avg_pool2d(x, output_size); }

std::string AdaptiveAvgPool2d::extra_repr() const { return fmt::format("output_size={}", size_repr(output_size)); }

}  // namespace descent::nn
