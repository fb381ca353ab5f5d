// Printing tensors through fmt, like PyTorch: fmt::print("{}", t) shows the values (the middle
// of large tensors elided with "..."), then the shape and dtype, e.g.
//   tensor([[1.0000, 2.0000],
//           [3.0000, 4.0000]], shape=[2, 2], dtype=float32)
#pragma once

#include <string>

#include <fmt/format.h>

#include "core/tensor.h"

namespace descent {

struct PrintOptions {
  int precision = 4;          // digits after the point in fixed notation
  int64_t threshold = 1000;   // more elements than this are summarised
  int64_t edgeitems = 3;      // items shown at each end of a summarised dim
  int linewidth = 80;
};

std::string to_string(const Tensor& t, const PrintOptions& options = {});

}  // namespace descent

template <>
struct fmt::formatter<descent::Tensor> : fmt::formatter<std::string_view> {
  template <typename Context>
  auto format(const descent::Tensor& t, Context& ctx) const {
    return fmt::formatter<std::string_view>::format(descent::to_string(t), ctx);
  }
};
