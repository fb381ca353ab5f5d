// Printing tensors through fmt, like PyTorch: fmt::print("{}", t) shows the values (the middle
// of large tensors elided with "..."), then the shape and dtype, e.g.
//   tensor([[1.0000, 2.0000],
//           [3.0000, 4.0000]], shape=[2, 2], dtype=float32)
//
// The layout is PyTorch's (torch/_tensor_str.py): all shown elements right-aligned to one width,
// rows wrapped at linewidth, summarised when numel > threshold (edgeitems at each end of every
// dim longer than 2 * edgeitems); floats in fixed notation with `precision` digits, or in
// scientific notation when the nonzero finite magnitudes span more than 1e3 or reach above 1e8
// or below 1e-4; nan, inf, -inf; integers as integers; bools as true/false.
// Ours: floats always show `precision` digits (PyTorch prints integer-valued floats as "1.");
// the suffixes are always there: shape=[...] (except for 0-d tensors: tensor(3.5000,
// dtype=float32)), dtype=..., and requires_grad=true when set; a suffix that would pass
// linewidth starts a new line, as in PyTorch. Empty: tensor([], shape=[0, 3], dtype=float32).
// An undefined tensor prints as tensor(undefined).
#pragma once

#include <algorithm>
#include <iosfwd>
#include <string>

#include <fmt/format.h>

#include <descent/core/tensor.h>

namespace descent {

struct PrintOptions {
  int precision = 4;          // digits after the point in fixed notation
  int64_t threshold = 1000;   // more elements than this are summarised
  int64_t edgeitems = 3;      // items shown at each end of a summarised dim
  int linewidth = 80;
};

std::string to_string(const Tensor& t, const PrintOptions& options = {});

// std::cout << t prints to_string(t).
std::ostream& operator<<(std::ostream& os, const Tensor& t);

}  // namespace descent

// fmt::print("{}", t), or "{:.2f}" (also "{:.2}") for 2 digits after the point: the precision is
// PrintOptions::precision; any other format spec is a format error (at compile time for a
// literal format string).
template <>
struct fmt::formatter<descent::Tensor> {
  descent::PrintOptions options;

  constexpr auto parse(fmt::format_parse_context& ctx) {
    auto it = ctx.begin();
    if (it != ctx.end() && *it == '.') {
      ++it;
      int digits = 0;
      bool any = false;
      for (; it != ctx.end() && *it >= '0' && *it <= '9'; ++it, any = true) digits = digits * 10 + (*it - '0');
      if (!any) throw fmt::format_error("tensor format: '.' needs a number of digits, as in {:.2f}");
      options.precision = digits;
      if (it != ctx.end() && *it == 'f') ++it;
    }
    if (it != ctx.end() && *it != '}') throw fmt::format_error("tensor format: only a precision, as in {:.2f}");
    return it;
  }
  template <typename Context>
  auto format(const descent::Tensor& t, Context& ctx) const {
    std::string text = descent::to_string(t, options);
    return std::copy(text.begin(), text.end(), ctx.out());
  }
};
