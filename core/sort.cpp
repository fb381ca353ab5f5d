// topk, sort and argsort along one dim, NaN ordered above every number as in PyTorch; each line
// sorted by one thread into a buffer of (value, position) pairs.
#include <descent/core/indexing.h>

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <utility>
#include <vector>

#include <descent/core/factory.h>

#include <descent/core/indexing_walk.h>

namespace descent::core {
namespace {

using namespace indexing;

// a < b with NaN above everything (and equal to NaN), as PyTorch sorts.
template <typename T>
bool less_nan_largest(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    return a < b || (std::isnan(b) && !std::isnan(a));
  } else {
    return a < b;
  }
}

template <typename T>
using Ranked = std::pair<T, int64_t>;  // a value and its position along the sorted dim

// Orders each line of x along dim and writes the first k entries (values and int64 positions) to
// values/indices, which have x's shape with k along dim. arrange(first, last) orders a buffer of
// (value, position) pairs so that its first k are the output, in output order.
template <typename T, typename Arrange>
void sort_lines(const Tensor& x, int dim, int64_t k, const Tensor& values, const Tensor& indices,
                const Arrange& arrange) {
  Dims outer = x.sizes();
  const int64_t length = outer[dim];
  outer[dim] = 1;
  if (values.numel() == 0) return;
  const T* x_data = data_of<const T>(x);
  T* value_data = data_of<T>(values);
  int64_t* index_data = data_of<int64_t>(indices);
  const int64_t x_step = x.stride(dim), out_step = values.stride(dim);
  for_each_line_chunk(outer, {x.strides(), values.strides()}, length, [&](int64_t begin, int64_t end, Cursor& at) {
    std::vector<Ranked<T>> line(static_cast<size_t>(length));  // one buffer per chunk of lines
    for (int64_t l = begin; l < end; ++l, at.next()) {
      for (int64_t j = 0; j < length; ++j) line[j] = {x_data[at[0] + j * x_step], j};
      arrange(line.begin(), line.end());
      for (int64_t j = 0; j < k; ++j) {
        value_data[at[1] + j * out_step] = line[j].first;
        index_data[at[1] + j * out_step] = line[j].second;
      }
    }
  });
}

}  // namespace

std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted) {
  const int d = wrap_dim(dim, x.dim(), "topk");
  const Tensor x1 = at_least_1d(x);
  check<IndexError>(k >= 0 && k <= x1.size(d), "topk: k = {} is out of range for dim {} of size {} (shape {})", k,
                    d, x1.size(d), x.sizes());
  // NOTE: a 0-d x gives its element for k = 0 as well as k = 1, as in PyTorch.
  const int64_t line_k = x.dim() == 0 ? 1 : k;
  Dims out_sizes = x.sizes();
  if (x.dim() > 0) out_sizes[d] = k;
  Tensor values = core::empty(out_sizes, {.dtype = x.dtype()});
  Tensor indices = core::empty(out_sizes, {.dtype = kInt64});
  dispatch_numeric(x.dtype(), "topk", [&]<typename T>() {
    // Best first: the larger (or smaller) value, NaN as the largest, ties by position.
    auto better = [largest](const Ranked<T>& a, const Ranked<T>& b) {
      if (largest ? less_nan_largest(b.first, a.first) : less_nan_largest(a.first, b.first)) return true;
      if (largest ? less_nan_largest(a.first, b.first) : less_nan_largest(b.first, a.first)) return false;
      return a.second < b.second;
    };
    sort_lines<T>(x1, d, line_k, at_least_1d(values), at_least_1d(indices), [&](auto first, auto last) {
      if (sorted) {
        std::partial_sort(first, first + line_k, last, better);
      } else {  // the k best in their original order along dim
        std::nth_element(first, first + line_k, last, better);
        std::sort(first, first + line_k, [](const Ranked<T>& a, const Ranked<T>& b) { return a.second < b.second; });
      }
    });
  });
  return {values, indices};
}

std::pair<Tensor, Tensor> sort(const Tensor& x, int64_t dim, bool descending, bool stable) {
  const int d = wrap_dim(dim, x.dim(), "sort");
  const Tensor x1 = at_least_1d(x);
  Tensor values = core::empty(x.sizes(), {.dtype = x.dtype()});
  Tensor indices = core::empty(x.sizes(), {.dtype = kInt64});
  dispatch(x.dtype(), "sort", [&]<typename T>() {
    auto before = [descending](const Ranked<T>& a, const Ranked<T>& b) {
      return descending ? less_nan_largest(b.first, a.first) : less_nan_largest(a.first, b.first);
    };
    sort_lines<T>(x1, d, x1.size(d), at_least_1d(values), at_least_1d(indices), [&](auto first, auto last) {
      if (stable) {
        std::stable_sort(first, last, before);  // equal values keep their order
      } else {
        std::sort(first, last, before);
      }
    });
  });
  return {values, indices};
}

Tensor argsort(const Tensor& x, int64_t dim, bool descending, bool stable) {
  return sort(x, dim, descending, stable).second;
}

}  // namespace descent::core
