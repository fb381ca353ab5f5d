// to_string(tensor): the layout of PyTorch's torch/_tensor_str.py (one formatter for the shown
// elements, columns of equal width, rows wrapped at linewidth, "..." for the elided middle of a
// summarised dim), followed by our shape and dtype suffixes. Read core/print.h for the format.
#include <descent/core/print.h>

#include <algorithm>
#include <cmath>
#include <ostream>
#include <vector>

namespace descent {

namespace {

constexpr int kPrefixWidth = 7;  // "tensor(": continuation lines are indented past it

// The indices shown along one dim; "..." stands before position `gap` (none when gap < 0).
struct ShownDim {
  std::vector<int64_t> indices;
  int64_t gap = -1;
};

// All indices of a dim, or its first and last `edgeitems` around a gap when the tensor is
// summarised and the dim holds more than 2 * edgeitems (PyTorch's rule).
ShownDim shown_dim(int64_t size, bool summarize, int64_t edgeitems) {
  ShownDim dim;
  if (summarize && size > 2 * edgeitems) {
    for (int64_t i = 0; i < edgeitems; ++i) dim.indices.push_back(i);
    for (int64_t i = size - edgeitems; i < size; ++i) dim.indices.push_back(i);
    dim.gap = edgeitems;
  } else {
    for (int64_t i = 0; i < size; ++i) dim.indices.push_back(i);
  }
  return dim;
}

// The shown elements (the cartesian product of the shown indices) in row-major order, as T.
template <typename T>
std::vector<T> gather(const Tensor& t, const std::vector<ShownDim>& dims) {
  std::vector<T> values;
  for (const ShownDim& dim : dims) {
    if (dim.indices.empty()) return values;  // edgeitems = 0: only "..." is shown
  }
  dispatch(t.dtype(), "to_string", [&]<typename S>() {
    const S* base = static_cast<const S*>(t.raw_data());
    const int ndim = t.dim();
    std::vector<size_t> position(static_cast<size_t>(ndim), 0);
    while (true) {
      int64_t offset = 0;
      for (int d = 0; d < ndim; ++d) offset += dims[d].indices[position[d]] * t.strides()[d];
      values.push_back(static_cast<T>(base[offset]));
      int d = ndim - 1;
      for (; d >= 0; --d) {  // odometer over the shown indices, last dim fastest
        if (++position[d] < dims[d].indices.size()) break;
        position[d] = 0;
      }
      if (d < 0) break;
    }
  });
  return values;
}

std::string format_floating(double value, bool scientific, int precision) {
  if (std::isnan(value)) return "nan";  // NOTE: fmt would print a negative NaN as "-nan"
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  return scientific ? fmt::format("{:.{}e}", value, precision) : fmt::format("{:.{}f}", value, precision);
}

// PyTorch's choice of notation: scientific when the nonzero finite magnitudes span more than
// three decades, or reach above 1e8 or below 1e-4.
bool wants_scientific(const std::vector<double>& values) {
  double smallest = INFINITY, largest = 0.0;
  for (double v : values) {
    if (v == 0.0 || !std::isfinite(v)) continue;
    smallest = std::min(smallest, std::abs(v));
    largest = std::max(largest, std::abs(v));
  }
  if (largest == 0.0) return false;  // no nonzero finite value
  return largest / smallest > 1000.0 || largest > 1.0e8 || smallest < 1.0e-4;
}

// The text of every shown element, unpadded, in row-major order.
std::vector<std::string> format_cells(const Tensor& t, const std::vector<ShownDim>& dims, int precision) {
  std::vector<std::string> cells;
  if (t.dtype() == kBool) {
    for (bool v : gather<bool>(t, dims)) cells.emplace_back(v ? "true" : "false");
  } else if (t.dtype() == kInt64) {
    for (int64_t v : gather<int64_t>(t, dims)) cells.push_back(fmt::format("{}", v));
  } else {
    std::vector<double> values = gather<double>(t, dims);
    bool scientific = wants_scientific(values);
    for (double v : values) cells.push_back(format_floating(v, scientific, precision));
  }
  return cells;
}

// Lays the cells out as nested brackets, the innermost dim wrapped at the line width.
class Layout {
 public:
  Layout(const std::vector<ShownDim>& dims, const std::vector<std::string>& cells, const PrintOptions& options)
      : dims_(dims), cells_(cells), options_(options) {
    for (const std::string& cell : cells) width_ = std::max(width_, cell.size());
  }

  std::string padded(size_t cell) const { return std::string(width_ - cells_[cell].size(), ' ') + cells_[cell]; }

  // The dims from `dim` on, starting at column `indent`; consumes their cells.
  std::string render(int dim, int indent) {
    const ShownDim& shown = dims_[dim];
    const bool innermost = dim + 1 == static_cast<int>(dims_.size());
    std::vector<std::string> parts;
    for (size_t i = 0; i <= shown.indices.size(); ++i) {
      // Among elements "..." takes the width of a separator; alone (edgeitems = 0) it has none.
      if (static_cast<int64_t>(i) == shown.gap) parts.emplace_back(innermost && shown.gap > 0 ? " ..." : "...");
      if (i == shown.indices.size()) break;
      parts.push_back(innermost ? padded(next_cell_++) : render(dim + 1, indent + 1));
    }
    const std::string newline_indent(static_cast<size_t>(indent + 1), ' ');
    if (!innermost) {  // sub-tensors one per line, separated by one blank line per dim below
      std::string separator = "," + std::string(dims_.size() - dim - 1, '\n') + newline_indent;
      return "[" + fmt::format("{}", fmt::join(parts, separator)) + "]";
    }
    // As many elements per line as fit in the line width, each taking its width plus ", ".
    const size_t per_line =
        std::max<size_t>(1, static_cast<size_t>(std::max(options_.linewidth - indent, 0)) / (width_ + 2));
    std::string text = "[";
    for (size_t i = 0; i < parts.size(); ++i) {
      if (i > 0) text += i % per_line == 0 ? ",\n" + newline_indent : ", ";
      text += parts[i];
    }
    return text + "]";
  }

 private:
  const std::vector<ShownDim>& dims_;
  const std::vector<std::string>& cells_;
  const PrintOptions& options_;
  size_t width_ = 1;
  size_t next_cell_ = 0;
};

// Appends ", suffix" for each suffix, or ",\n" and the suffix on its own indented line when it
// would pass the line width (PyTorch's _add_suffixes), then the closing parenthesis.
std::string add_suffixes(std::string text, const std::vector<std::string>& suffixes, int linewidth) {
  size_t newline = text.rfind('\n');
  // NOTE: PyTorch's arithmetic, off by two on the first line (rfind gives -1 there).
  int64_t line_length = static_cast<int64_t>(text.size()) -
                        (newline == std::string::npos ? -1 : static_cast<int64_t>(newline)) + 1;
  for (const std::string& suffix : suffixes) {
    const auto length = static_cast<int64_t>(suffix.size());
    if (line_length + length + 2 > linewidth) {
      text += ",\n" + std::string(kPrefixWidth, ' ') + suffix;
      line_length = kPrefixWidth + length;
    } else {
      text += ", " + suffix;
      line_length += length + 2;
    }
  }
  return text + ")";
}

}  // namespace

std::string to_string(const Tensor& t, const PrintOptions& options) {
  check<ValueError>(options.precision >= 0 && options.threshold >= 0 && options.edgeitems >= 0 &&
                        options.linewidth > 0,
                    "to_string: precision {}, threshold {} and edgeitems {} must be >= 0 and linewidth {} > 0",
                    options.precision, options.threshold, options.edgeitems, options.linewidth);
  if (!t.defined()) return "tensor(undefined)";
  std::string values;
  if (t.numel() == 0) {
    values = "[]";
  } else {
    const bool summarize = t.numel() > options.threshold;
    std::vector<ShownDim> dims;
    for (int64_t size : t.sizes()) dims.push_back(shown_dim(size, summarize, options.edgeitems));
    std::vector<std::string> cells = format_cells(t, dims, options.precision);
    Layout layout(dims, cells, options);
    values = t.dim() == 0 ? layout.padded(0) : layout.render(0, kPrefixWidth);
  }
  std::vector<std::string> suffixes;
  if (t.dim() > 0) suffixes.push_back(fmt::format("shape={}", t.sizes()));
  suffixes.push_back(fmt::format("dtype={}", t.dtype()));
  if (t.requires_grad()) suffixes.emplace_back("requires_grad=true");
  return add_suffixes("tensor(" + values, suffixes, options.linewidth);
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << to_string(t); }

}  // namespace descent
