// Masks and selections: masked_fill, masked_select, nonzero (a parallel row-major stream
// compaction) and one_hot.
#include <descent/core/indexing.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include <descent/core/factory.h>
#include <descent/core/iterate.h>
#include <descent/core/views.h>

#include <descent/core/indexing_walk.h>

namespace descent::core {
namespace {

using namespace indexing;

// out = mask ? value : x, with x and mask broadcast to out's shape (out may be x itself).
void fill_where(const Tensor& out, const Tensor& x, const Tensor& mask, const Scalar& value, const char* op) {
  ElementwiseLoop loop(out, {x, mask});
  dispatch(out.dtype(), op, [&]<typename T>() {
    const T fill = value.to<T>();
    map_elementwise<T, T, bool>(loop, [fill](T a, bool m) { return m ? fill : a; });
  });
}

// Row-major stream compaction over the positions of `shape`: keep(cursor) selects positions; after
// counting them in parallel chunks, allocate(total) makes the output and emit(cursor, rank) is
// called for every selected position with its rank in row-major order.
template <typename Keep, typename Allocate, typename Emit>
void compact(const Dims& shape, std::initializer_list<Dims> strides, const Keep& keep, const Allocate& allocate,
             const Emit& emit) {
  const int64_t n = shape.product();
  const int64_t chunks = std::clamp<int64_t>(n / kElementwiseGrain, 1, get_num_threads());
  auto chunk_begin = [&](int64_t c) { return n * c / chunks; };
  std::vector<int64_t> first_rank(static_cast<size_t>(chunks) + 1, 0);
  if (n > 0) {
    parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
      for (int64_t c = begin; c < end; ++c) {
        Cursor cursor(shape, strides, chunk_begin(c));
        int64_t count = 0;
        for (int64_t i = chunk_begin(c); i < chunk_begin(c + 1); ++i, cursor.next()) count += keep(cursor) ? 1 : 0;
        first_rank[c + 1] = count;
      }
    });
  }
  std::partial_sum(first_rank.begin(), first_rank.end(), first_rank.begin());
  allocate(first_rank.back());
  if (n == 0) return;
  parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      Cursor cursor(shape, strides, chunk_begin(c));
      int64_t rank = first_rank[c];
      for (int64_t i = chunk_begin(c); i < chunk_begin(c + 1); ++i, cursor.next()) {
        if (keep(cursor)) emit(cursor, rank++);
      }
    }
  });
}

}  // namespace

Tensor masked_fill(const Tensor& x, const Tensor& mask, const Scalar& value) {
  check_mask_dtype(mask, "masked_fill");
  // NOTE: PyTorch's out-of-place masked_fill broadcasts x and mask both (the in-place one cannot).
  Tensor out = core::empty(broadcast_shapes(x.sizes(), mask.sizes(), "masked_fill"), {.dtype = x.dtype()});
  fill_where(out, x, mask, value, "masked_fill");
  return out;
}

void masked_fill_(const Tensor& x, const Tensor& mask, const Scalar& value) {
  check_mask_dtype(mask, "masked_fill_");
  check<ShapeError>(broadcast_shapes(x.sizes(), mask.sizes(), "masked_fill_") == x.sizes(),
                    "masked_fill_: mask of shape {} does not broadcast to x of shape {}", mask.sizes(), x.sizes());
  check_writable(x, "masked_fill_");
  x.bump_version();
  fill_where(x, x, mask, value, "masked_fill_");
}

Tensor masked_select(const Tensor& x, const Tensor& mask) {
  check_mask_dtype(mask, "masked_select");
  const Dims shape = broadcast_shapes(x.sizes(), mask.sizes(), "masked_select");
  const bool* mask_data = data_of<const bool>(mask);
  Tensor out;
  dispatch(x.dtype(), "masked_select", [&]<typename T>() {
    const T* x_data = data_of<const T>(x);
    T* out_data = nullptr;
    compact(
        shape, {broadcast_strides(mask, shape), broadcast_strides(x, shape)},
        [&](const Cursor& at) { return mask_data[at[0]]; },
        [&](int64_t count) {
          out = core::empty({count}, {.dtype = x.dtype()});
          out_data = data_of<T>(out);
        },
        [&](const Cursor& at, int64_t rank) { out_data[rank] = x_data[at[1]]; });
  });
  return out;
}

Tensor nonzero(const Tensor& x) {
  Tensor out;
  const int ndim = x.dim();
  dispatch(x.dtype(), "nonzero", [&]<typename T>() {
    const T* x_data = data_of<const T>(x);
    int64_t* out_data = nullptr;
    compact(
        x.sizes(), {x.strides()}, [&](const Cursor& at) { return x_data[at[0]] != T(0); },
        [&](int64_t count) {
          out = core::empty({count, ndim}, {.dtype = kInt64});
          out_data = data_of<int64_t>(out);
        },
        [&](const Cursor& at, int64_t rank) {
          std::copy(at.index().begin(), at.index().end(), out_data + rank * ndim);
        });
  });
  return out;
}

Tensor one_hot(const Tensor& labels, int64_t num_classes) {
  check<DTypeError>(labels.dtype() == kInt64, "one_hot: labels must be int64, not {}", labels.dtype());
  check<ValueError>(num_classes >= -1, "one_hot: num_classes must be -1 (infer) or non-negative, got {}",
                    num_classes);
  const Tensor flat = core::contiguous(labels);
  const int64_t* label = flat.data<int64_t>();
  const int64_t n = flat.numel();
  check<ValueError>(n > 0 || num_classes > 0,
                    "one_hot: cannot infer the number of classes of an empty tensor (num_classes {})", num_classes);
  int64_t classes = num_classes;
  if (n > 0) {
    const auto [lowest, highest] = std::minmax_element(label, label + n);
    check<IndexError>(*lowest >= 0, "one_hot: class value {} is negative", *lowest);
    if (classes < 0) classes = *highest + 1;
    check<IndexError>(*highest < classes, "one_hot: class value {} is out of range for {} classes", *highest,
                      classes);
  }
  Dims out_sizes = labels.sizes();
  out_sizes.push_back(classes);
  Tensor out = core::zeros(out_sizes, {.dtype = kInt64});
  int64_t* out_data = out.data<int64_t>();
  parallel_for(0, n, kElementwiseGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) out_data[i * classes + label[i]] = 1;
  });
  return out;
}

}  // namespace descent::core
