// Copies that reshape content: tril/triu (one pass over rows), repeat, flip and constant padding.
#include <descent/core/indexing.h>

#include <algorithm>
#include <cstring>

#include <descent/core/factory.h>
#include <descent/core/iterate.h>
#include <descent/core/views.h>

#include <descent/core/indexing_walk.h>

namespace descent::core {
namespace {

using namespace indexing;

// Keeps the lower (j - i <= diagonal) or upper (j - i >= diagonal) triangle of every matrix in the
// last two dims, zeroing the rest, in one pass over rows.
Tensor triangle(const Tensor& x, int64_t diagonal, bool lower, const char* op) {
  check<ShapeError>(x.dim() >= 2, "{}: expected a tensor of at least 2 dims, got shape {}", op, x.sizes());
  Tensor out = core::empty(x.sizes(), {.dtype = x.dtype()});
  if (out.numel() == 0) return out;
  Dims outer = x.sizes();
  const int64_t cols = outer.back();
  outer.resize(outer.size() - 1);
  Dims x_strides = x.strides();
  const int64_t col_step = x_strides.back();
  x_strides.resize(x_strides.size() - 1);
  const int row_dim = outer.size() - 1;
  dispatch(x.dtype(), op, [&]<typename T>() {
    const T* x_data = data_of<const T>(x);
    T* out_data = data_of<T>(out);
    for_each_line(outer, {x_strides}, cols, [&](int64_t row, const Cursor& at) {
      const int64_t i = at.index()[row_dim];
      const int64_t keep_begin = lower ? 0 : std::clamp<int64_t>(i + diagonal, 0, cols);
      const int64_t keep_end = lower ? std::clamp<int64_t>(i + diagonal + 1, 0, cols) : cols;
      const T* from = x_data + at[0];
      T* to = out_data + row * cols;
      for (int64_t j = 0; j < cols; ++j) to[j] = j >= keep_begin && j < keep_end ? from[j * col_step] : T{};
    });
  });
  return out;
}

}  // namespace

Tensor tril(const Tensor& x, int64_t diagonal) { return triangle(x, diagonal, true, "tril"); }
Tensor triu(const Tensor& x, int64_t diagonal) { return triangle(x, diagonal, false, "triu"); }

Tensor repeat(const Tensor& x, const Dims& repeats) {
  check<ShapeError>(repeats.size() >= x.dim(), "repeat: {} repeats {} for a tensor of shape {} ({} dims)",
                    repeats.size(), repeats, x.sizes(), x.dim());
  for (int64_t r : repeats) check<ValueError>(r >= 0, "repeat: negative count in repeats {}", repeats);
  if (repeats.empty()) return core::clone(x);  // a 0-d x repeated over no dims
  // x with leading size-1 dims, up to repeats.size() dims.
  const int ndim = repeats.size();
  Dims x_sizes = Dims::filled(ndim, 1), x_strides = Dims::filled(ndim, 0);
  std::copy(x.sizes().begin(), x.sizes().end(), x_sizes.begin() + (ndim - x.dim()));
  std::copy(x.strides().begin(), x.strides().end(), x_strides.begin() + (ndim - x.dim()));
  Dims out_sizes = x_sizes;
  for (int d = 0; d < ndim; ++d) out_sizes[d] *= repeats[d];
  Tensor out = core::empty(out_sizes, {.dtype = x.dtype()});
  if (out.numel() == 0) return out;
  // Each output row (last dim) is `repeats.back()` copies of the x row at (output index mod x sizes).
  Dims outer = out_sizes;
  outer.resize(ndim - 1);
  const int64_t x_cols = x_sizes.back(), x_col_step = x_strides.back(), cols = out_sizes.back();
  dispatch(x.dtype(), "repeat", [&]<typename T>() {
    const T* x_data = data_of<const T>(x);
    T* out_data = data_of<T>(out);
    for_each_line(outer, {}, cols, [&](int64_t row, const Cursor& at) {
      const T* from = x_data;
      for (int d = 0; d < ndim - 1; ++d) from += (at.index()[d] % x_sizes[d]) * x_strides[d];
      T* to = out_data + row * cols;
      for (int64_t j = 0; j < x_cols; ++j) to[j] = from[j * x_col_step];
      for (int64_t j = x_cols; j < cols; j += x_cols) std::copy(to, to + x_cols, to + j);
    });
  });
  return out;
}

Tensor flip(const Tensor& x, const Dims& dims) {
  const Tensor x1 = at_least_1d(x);
  // x read backwards along the flipped dims: start at their last element, negative strides.
  Dims x_strides = x1.strides();
  int64_t start = 0;
  bool flipped[kMaxDims] = {};
  for (int64_t dim : dims) {
    const int d = wrap_dim(dim, x.dim(), "flip");
    check<ValueError>(!flipped[d], "flip: dim {} appears more than once in dims {}", d, dims);
    flipped[d] = true;
    start += (x1.size(d) - 1) * x1.stride(d);
    x_strides[d] = -x_strides[d];
  }
  Tensor out = core::empty(x.sizes(), {.dtype = x.dtype()});
  if (out.numel() == 0) return out;
  Dims outer = x1.sizes();
  const int64_t cols = outer.back(), col_step = x_strides.back();
  outer.resize(outer.size() - 1);
  x_strides.resize(x_strides.size() - 1);
  dispatch(x.dtype(), "flip", [&]<typename T>() {
    const T* x_data = data_of<const T>(x1) + start;
    T* out_data = data_of<T>(out);
    for_each_line(outer, {x_strides}, cols, [&](int64_t row, const Cursor& at) {
      const T* from = x_data + at[0];
      T* to = out_data + row * cols;
      for (int64_t j = 0; j < cols; ++j) to[j] = from[j * col_step];
    });
  });
  return out;
}

Tensor pad(const Tensor& x, const std::vector<int64_t>& padding, const Scalar& value) {
  check<ValueError>(padding.size() % 2 == 0, "pad: padding [{}] has an odd length", fmt::join(padding, ", "));
  const int pairs = static_cast<int>(padding.size() / 2);
  check<ValueError>(pairs <= x.dim(), "pad: padding [{}] has {} pairs for a tensor of shape {} ({} dims)",
                    fmt::join(padding, ", "), pairs, x.sizes(), x.dim());
  // Pair p pads dim ndim - 1 - p by (before, after); a negative amount crops x there.
  Dims out_sizes = x.sizes();
  for (int p = 0; p < pairs; ++p) {
    const int d = x.dim() - 1 - p;
    const int64_t before = padding[2 * p], after = padding[2 * p + 1], size = x.size(d);
    check<ShapeError>(size + std::min<int64_t>(before, 0) + std::min<int64_t>(after, 0) >= 0,
                      "pad: padding ({}, {}) of dim {} crops more than its size {} (shape {})", before, after, d,
                      size, x.sizes());
    out_sizes[d] = size + before + after;
  }
  Tensor out = core::full(out_sizes, value, {.dtype = x.dtype()});
  // Copy the kept part of x into its place in out.
  Tensor from = x, to = out;
  for (int p = 0; p < pairs; ++p) {
    const int d = x.dim() - 1 - p;
    const int64_t before = padding[2 * p], after = padding[2 * p + 1];
    const int64_t kept = x.size(d) + std::min<int64_t>(before, 0) + std::min<int64_t>(after, 0);
    from = core::narrow(from, d, std::max<int64_t>(-before, 0), kept);
    to = core::narrow(to, d, std::max<int64_t>(before, 0), kept);
  }
  core::copy_(to, from);
  return out;
}

}  // namespace descent::core
