// Indexing and joining kernels (cat/stack/split, gather/scatter, index_select/index_add, masks,
// nonzero, one_hot, topk/sort, tril/triu, repeat, flip, pad) with PyTorch 1.13 semantics.
// Read core/iterate.h first: gather-like ops run on ElementwiseLoop; the others walk "lines"
// (one dim) or rows (the last dim) of a tensor with the Cursor below, split over threads.
#include <descent/core/indexing.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <type_traits>

#include <descent/core/factory.h>
#include <descent/core/iterate.h>
#include <descent/core/parallel.h>
#include <descent/core/views.h>

namespace descent::core {

namespace {

// ---- walking tensors ----

// A row-major walk over the positions of `shape` that keeps, for each operand, the element offset
// of the current position (operand k moves by strides[k][d] along dim d; strides may be 0 or
// negative). It starts at the linear position `start`; shape must have no zero size.
class Cursor {
 public:
  static constexpr int kMaxOperands = 3;

  Cursor(const Dims& shape, std::initializer_list<Dims> strides, int64_t start)
      : shape_(shape), index_(Dims::filled(shape.size(), 0)), operands_(static_cast<int>(strides.size())) {
    check<Error>(operands_ <= kMaxOperands, "Cursor: {} operands, at most {}", operands_, kMaxOperands);
    std::copy(strides.begin(), strides.end(), strides_);
    for (int d = shape.size() - 1; d >= 0; --d) {
      index_[d] = start % shape[d];
      start /= shape[d];
    }
    for (int k = 0; k < operands_; ++k) {
      offsets_[k] = 0;
      for (int d = 0; d < shape.size(); ++d) offsets_[k] += index_[d] * strides_[k][d];
    }
  }

  int64_t operator[](int k) const { return offsets_[k]; }
  const Dims& index() const { return index_; }

  // Steps to the next position (last dim fastest), like an odometer.
  void next() {
    for (int d = shape_.size() - 1; d >= 0; --d) {
      for (int k = 0; k < operands_; ++k) offsets_[k] += strides_[k][d];
      if (++index_[d] < shape_[d]) return;
      for (int k = 0; k < operands_; ++k) offsets_[k] -= strides_[k][d] * shape_[d];
      index_[d] = 0;
    }
  }

 private:
  Dims shape_;
  Dims index_;
  Dims strides_[kMaxOperands];
  int64_t offsets_[kMaxOperands] = {};
  int operands_;
};

// How many lines of `length` elements one thread takes at least: about kElementwiseGrain elements.
int64_t line_grain(int64_t length) { return std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(length, 1)); }

// Splits the positions of `outer` (row-major, one per line) over threads in chunks of whole lines:
// chunk(begin, end, cursor) gets a cursor at `begin` that carries the operands' offsets (see
// Cursor), and may set up scratch space once per chunk.
template <typename Chunk>
void for_each_line_chunk(const Dims& outer, std::initializer_list<Dims> strides, int64_t line_length,
                         const Chunk& chunk) {
  parallel_for(0, outer.product(), line_grain(line_length), [&](int64_t begin, int64_t end) {
    Cursor cursor(outer, strides, begin);
    chunk(begin, end, cursor);
  });
}

// Calls body(line, cursor) for every position of `outer`, in parallel chunks of whole lines.
template <typename Body>
void for_each_line(const Dims& outer, std::initializer_list<Dims> strides, int64_t line_length, const Body& body) {
  for_each_line_chunk(outer, strides, line_length, [&](int64_t begin, int64_t end, Cursor& cursor) {
    for (int64_t line = begin; line < end; ++line, cursor.next()) body(line, cursor);
  });
}

template <typename T>
T* data_of(const Tensor& t) {
  return static_cast<T*>(t.raw_data());
}

// A 0-d tensor seen as 1-d of size 1 (the same storage), so that per-dim code needs no special case.
Tensor at_least_1d(const Tensor& t) {
  return t.dim() > 0 ? t : Tensor::make_view(t.storage(), {1}, {1}, t.offset(), t.dtype());
}

// The strides of t when broadcast to `shape` (NumPy rules, checked by the caller): 0 where t repeats.
Dims broadcast_strides(const Tensor& t, const Dims& shape) {
  Dims strides = Dims::filled(shape.size(), 0);
  int lead = shape.size() - t.dim();
  for (int d = 0; d < t.dim(); ++d) strides[lead + d] = t.sizes()[d] == 1 ? 0 : t.strides()[d];
  return strides;
}

// ---- argument checks ----

void check_index_dtype(const Tensor& index, const char* op) {
  check<DTypeError>(index.dtype() == kInt64, "{}: index must be int64, not {}", op, index.dtype());
}

void check_mask_dtype(const Tensor& mask, const char* op) {
  check<DTypeError>(mask.dtype() == kBool, "{}: mask must be bool, not {}", op, mask.dtype());
}

// An in-place write through a view whose elements share memory (an expanded dim) is ill-defined.
void check_writable(const Tensor& x, const char* op) {
  for (int d = 0; d < x.dim(); ++d) {
    check<ValueError>(x.sizes()[d] <= 1 || x.strides()[d] != 0,
                      "{}: cannot write in place to a tensor of shape {} with strides {}: some elements share "
                      "memory (an expanded view)",
                      op, x.sizes(), x.strides());
  }
}

int64_t checked_index(int64_t i, int64_t size, int dim, const char* op) {
  if (i < 0 || i >= size) [[unlikely]] {
    throw IndexError(fmt::format("{}: index {} is out of bounds for dim {} with size {}", op, i, dim, size));
  }
  return i;
}

// gather/scatter shapes: index has x's number of dims (0-d counts as 1-d) and is no larger than x
// outside `dim`, nor than src (if any) anywhere.
void check_index_shape(const Tensor& x, int dim, const Tensor& index, const Tensor* src, const char* op) {
  int ndim = std::max(x.dim(), 1);
  check<ShapeError>(std::max(index.dim(), 1) == ndim, "{}: index of shape {} and x of shape {} differ in dims", op,
                    index.sizes(), x.sizes());
  if (src) {
    check<ShapeError>(std::max(src->dim(), 1) == ndim, "{}: src of shape {} and x of shape {} differ in dims", op,
                      src->sizes(), x.sizes());
  }
  const Tensor x1 = at_least_1d(x), index1 = at_least_1d(index);
  for (int d = 0; d < ndim; ++d) {
    check<ShapeError>(d == dim || index1.size(d) <= x1.size(d),
                      "{}: index of shape {} is larger than x of shape {} outside dim {}", op, index.sizes(),
                      x.sizes(), dim);
    if (src) {
      check<ShapeError>(index1.size(d) <= at_least_1d(*src).size(d),
                        "{}: index of shape {} is larger than src of shape {}", op, index.sizes(), src->sizes());
    }
  }
}

// A 1-d index of n elements laid along `dim` of a tensor of `sizes` (whose dim has size n): every
// position reads the index of its coordinate along dim.
Tensor index_along(const Tensor& index1d, const Dims& sizes, int dim) {
  Dims strides = Dims::filled(sizes.size(), 0);
  strides[dim] = index1d.stride(0);
  return Tensor::make_view(index1d.storage(), sizes, strides, index1d.offset(), kInt64);
}

// A 1-d index (0-d counts as one element), checked for dtype and dims.
Tensor index_vector(const Tensor& index, const char* op) {
  check_index_dtype(index, op);
  check<ShapeError>(index.dim() <= 1, "{}: index must be 0-d or 1-d, not of shape {}", op, index.sizes());
  return at_least_1d(index);
}

// ---- gather and scatter kernels ----

// out[p] = x[p with its coordinate along dim replaced by index[p]], for every position p of out
// (index has out's shape; it may be a broadcast view). Walked in out's memory order.
void gather_elements(const Tensor& out, const Tensor& index, const Tensor& x, int dim, const char* op) {
  // x seen with out's shape and stride 0 along dim: it points at the start of each line along dim.
  Dims x_strides = x.strides();
  x_strides[dim] = 0;
  const Tensor x_lines = Tensor::make_view(x.storage(), out.sizes(), x_strides, x.offset(), x.dtype());
  const int64_t limit = x.size(dim);
  const int64_t step = x.stride(dim) * x.element_size();
  ElementwiseLoop loop(out, {index, x_lines});
  dispatch(x.dtype(), op, [&]<typename T>() {
    loop.run([&](char* const* p, const int64_t* s, int64_t n) {
      if (s[1] == 0) {  // one index for the whole run: a block copy (index_select of rows)
        const char* from = p[2] + checked_index(*reinterpret_cast<const int64_t*>(p[1]), limit, dim, op) * step;
        if (s[0] == sizeof(T) && s[2] == sizeof(T)) {
          std::memcpy(p[0], from, static_cast<size_t>(n) * sizeof(T));
        } else {
          for (int64_t i = 0; i < n; ++i) {
            *reinterpret_cast<T*>(p[0] + i * s[0]) = *reinterpret_cast<const T*>(from + i * s[2]);
          }
        }
        return;
      }
      for (int64_t i = 0; i < n; ++i) {
        int64_t k = checked_index(*reinterpret_cast<const int64_t*>(p[1] + i * s[1]), limit, dim, op);
        *reinterpret_cast<T*>(p[0] + i * s[0]) = *reinterpret_cast<const T*>(p[2] + i * s[2] + k * step);
      }
    });
  });
}

// target[i][index[i][j][k]][k] = combine(that, src[i][j][k]) for dim = 1, likewise for any dim, at
// every position of index's shape (src has at least that shape; it may be a broadcast view).
// NOTE: one thread walks a whole line along dim, and different lines write disjoint parts of
// target, so duplicate indices never race; along a line later positions win (scatter) or add up.
template <typename T, typename Combine>
void scatter_lines(const Tensor& target, int dim, const Tensor& index, const Tensor& src, const char* op,
                   const Combine& combine) {
  Dims outer = index.sizes();
  const int64_t length = outer[dim];
  outer[dim] = 1;
  if (index.numel() == 0) return;
  const int64_t limit = target.size(dim);
  const int64_t index_step = index.stride(dim), src_step = src.stride(dim), target_step = target.stride(dim);
  const int64_t* index_data = data_of<const int64_t>(index);
  const T* src_data = data_of<const T>(src);
  T* target_data = data_of<T>(target);
  for_each_line(outer, {index.strides(), src.strides(), target.strides()}, length,
                [&](int64_t, const Cursor& at) {
                  const int64_t* line_index = index_data + at[0];
                  const T* line_src = src_data + at[1];
                  T* line_target = target_data + at[2];
                  for (int64_t j = 0; j < length; ++j) {
                    int64_t k = checked_index(line_index[j * index_step], limit, dim, op);
                    combine(line_target[k * target_step], line_src[j * src_step]);
                  }
                });
}

// slot += alpha * value (for bool: slot |= alpha & value, as PyTorch adds bools).
template <typename T>
auto add_scaled(T alpha) {
  return [alpha](T& slot, T value) {
    if constexpr (std::is_same_v<T, bool>) {
      slot = slot || (alpha && value);
    } else {
      slot += alpha * value;
    }
  };
}

template <typename T>
void assign(T& slot, T value) {
  slot = value;
}

// The shared body of scatter with a tensor or a broadcast scalar source: a contiguous copy of x
// with src's elements written at index.
Tensor scatter_copy(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src, const char* op) {
  Tensor out = core::clone(x);
  int d = wrap_dim(dim, x.dim(), op);
  dispatch(x.dtype(), op, [&]<typename T>() {
    scatter_lines<T>(at_least_1d(out), d, at_least_1d(index), at_least_1d(src), op, assign<T>);
  });
  return out;
}

void check_scatter_args(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src, const char* op) {
  check_index_dtype(index, op);
  check<DTypeError>(src.dtype() == x.dtype(), "{}: src of dtype {} differs from x of dtype {}", op, src.dtype(),
                    x.dtype());
  check_index_shape(x, wrap_dim(dim, x.dim(), op), index, &src, op);
}

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

// ---- sorting ----

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

// ---- triangles ----

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

// ---- joining and splitting ----

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  check<ValueError>(!tensors.empty(), "cat: expected a non-empty list of tensors");
  // NOTE: as legacy PyTorch, 1-d tensors of shape [0] are skipped whatever their dims, so
  // cat({x, empty}) == x; they still take part in the dtype promotion.
  auto skipped = [](const Tensor& t) { return t.dim() == 1 && t.size(0) == 0; };
  DType dtype = kBool;  // the lowest dtype: promote_types(kBool, t) is t
  int reference = -1;  // the first tensor that is not skipped: the others must match its shape
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    check<ValueError>(t.defined(), "cat: tensor {} is undefined", i);
    check<ShapeError>(t.dim() > 0, "cat: tensor {} is zero-dimensional (shape []) and cannot be concatenated", i);
    dtype = promote_types(dtype, t.dtype());
    if (reference < 0 && !skipped(t)) reference = static_cast<int>(i);
  }
  if (reference < 0) return core::empty({0}, {.dtype = dtype});
  const Tensor& first = tensors[reference];
  const int d = wrap_dim(dim, first.dim(), "cat");
  Dims out_sizes = first.sizes();
  out_sizes[d] = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    if (skipped(t)) continue;
    bool fits = t.dim() == first.dim();
    for (int k = 0; fits && k < t.dim(); ++k) fits = k == d || t.sizes()[k] == first.sizes()[k];
    check<ShapeError>(fits, "cat: tensor {} of shape {} does not match tensor {} of shape {} outside dim {}", i,
                      t.sizes(), reference, first.sizes(), d);
    out_sizes[d] += t.size(d);
  }
  Tensor out = core::empty(out_sizes, {.dtype = dtype});
  int64_t start = 0;
  for (const Tensor& t : tensors) {
    if (skipped(t)) continue;
    core::copy_(core::narrow(out, d, start, t.size(d)), t);  // parallel inside when large
    start += t.size(d);
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  check<ValueError>(!tensors.empty(), "stack: expected a non-empty list of tensors");
  for (size_t i = 0; i < tensors.size(); ++i) {
    check<ValueError>(tensors[i].defined(), "stack: tensor {} is undefined", i);
    check<ShapeError>(tensors[i].sizes() == tensors[0].sizes(),
                      "stack: tensor {} of shape {} differs from tensor 0 of shape {}", i, tensors[i].sizes(),
                      tensors[0].sizes());
  }
  const int d = wrap_dim(dim, tensors[0].dim() + 1, "stack");
  std::vector<Tensor> slices;
  slices.reserve(tensors.size());
  for (const Tensor& t : tensors) slices.push_back(core::unsqueeze(t, d));
  return cat(slices, d);
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  check<ShapeError>(x.dim() > 0, "split: expected a tensor of at least 1 dim, got shape {}", x.sizes());
  const int d = wrap_dim(dim, x.dim(), "split");
  const int64_t n = x.size(d);
  check<ValueError>(split_size > 0 || (split_size == 0 && n == 0),
                    "split: split_size {} is invalid for dim {} of size {} (only a dim of size 0 allows 0)",
                    split_size, d, n);
  const int64_t parts = split_size == 0 ? 1 : std::max<int64_t>((n + split_size - 1) / split_size, 1);
  std::vector<Tensor> out;
  out.reserve(static_cast<size_t>(parts));
  for (int64_t i = 0; i < parts; ++i) {
    const int64_t start = i * split_size;
    out.push_back(core::narrow(x, d, start, std::min(split_size, n - start)));
  }
  return out;
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
  check<ShapeError>(x.dim() > 0, "split: expected a tensor of at least 1 dim, got shape {}", x.sizes());
  const int d = wrap_dim(dim, x.dim(), "split");
  int64_t total = 0;
  for (int64_t s : sizes) {
    check<ValueError>(s >= 0, "split: negative size {} in sizes {}", s, fmt::join(sizes, ", "));
    total += s;
  }
  check<ShapeError>(total == x.size(d), "split: sizes [{}] sum to {}, but dim {} of shape {} has size {}",
                    fmt::join(sizes, ", "), total, d, x.sizes(), x.size(d));
  std::vector<Tensor> out;
  out.reserve(sizes.size());
  int64_t start = 0;
  for (int64_t s : sizes) {
    out.push_back(core::narrow(x, d, start, s));
    start += s;
  }
  return out;
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  check<ShapeError>(x.dim() > 0, "chunk: expected a tensor of at least 1 dim, got shape {}", x.sizes());
  check<ValueError>(chunks > 0, "chunk: chunks must be positive, got {}", chunks);
  const int d = wrap_dim(dim, x.dim(), "chunk");
  // PyTorch's sizing: pieces of ceil(n / chunks), so there may be fewer than `chunks` (6 in 4 gives
  // 2, 2, 2); an empty dim gives `chunks` empty pieces.
  const int64_t piece = (x.size(d) + chunks - 1) / chunks;
  if (piece == 0) return split(x, std::vector<int64_t>(static_cast<size_t>(chunks), 0), d);
  return split(x, piece, d);
}

// ---- gather / scatter ----

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  check_index_dtype(index, "gather");
  const int d = wrap_dim(dim, x.dim(), "gather");
  check_index_shape(x, d, index, nullptr, "gather");
  Tensor out = core::empty(index.sizes(), {.dtype = x.dtype()});
  gather_elements(at_least_1d(out), at_least_1d(index), at_least_1d(x), d, "gather");
  return out;
}

Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  check_scatter_args(x, dim, index, src, "scatter");
  return scatter_copy(x, dim, index, src, "scatter");
}

Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Scalar& value) {
  check_index_dtype(index, "scatter");
  check_index_shape(x, wrap_dim(dim, x.dim(), "scatter"), index, nullptr, "scatter");
  const Tensor src = core::expand(core::full({}, value, {.dtype = x.dtype()}), index.sizes());
  return scatter_copy(x, dim, index, src, "scatter");
}

Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  check_scatter_args(x, dim, index, src, "scatter_add");
  Tensor out = core::clone(x);
  scatter_add_(out, dim, index, src);
  return out;
}

void scatter_add_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  check_scatter_args(x, dim, index, src, "scatter_add_");
  check_writable(x, "scatter_add_");
  const int d = wrap_dim(dim, x.dim(), "scatter_add_");
  x.bump_version();
  dispatch(x.dtype(), "scatter_add_", [&]<typename T>() {
    scatter_lines<T>(at_least_1d(x), d, at_least_1d(index), at_least_1d(src), "scatter_add_", add_scaled<T>(1));
  });
}

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  const Tensor index1d = index_vector(index, "index_select");
  const int d = wrap_dim(dim, x.dim(), "index_select");
  if (x.dim() == 0) {
    // NOTE: PyTorch returns a 0-d copy of a 0-d x for any index whose values are all 0.
    for (int64_t i : index1d.to_vector<int64_t>()) checked_index(i, 1, 0, "index_select");
    return core::clone(x);
  }
  Dims out_sizes = x.sizes();
  out_sizes[d] = index1d.numel();
  Tensor out = core::empty(out_sizes, {.dtype = x.dtype()});
  if (out.numel() > 0) gather_elements(out, index_along(index1d, out_sizes, d), x, d, "index_select");
  return out;
}

Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source, const Scalar& alpha) {
  Tensor out = core::clone(x);
  index_add_(out, dim, index, source, alpha);
  return out;
}

void index_add_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source, const Scalar& alpha) {
  const Tensor index1d = index_vector(index, "index_add_");
  check<DTypeError>(source.dtype() == x.dtype(), "index_add_: source of dtype {} differs from x of dtype {}",
                    source.dtype(), x.dtype());
  const int d = wrap_dim(dim, x.dim(), "index_add_");
  const Tensor x1 = at_least_1d(x), source1 = at_least_1d(source);
  bool fits = x1.dim() == source1.dim();
  for (int k = 0; fits && k < x1.dim(); ++k) fits = k == d || x1.size(k) == source1.size(k);
  check<ShapeError>(fits, "index_add_: source of shape {} does not match x of shape {} outside dim {}",
                    source.sizes(), x.sizes(), d);
  check<ShapeError>(source1.size(d) == index1d.numel(),
                    "index_add_: index has {} elements but source of shape {} has size {} along dim {}",
                    index1d.numel(), source.sizes(), source1.size(d), d);
  check_writable(x, "index_add_");
  x.bump_version();
  dispatch(x.dtype(), "index_add_", [&]<typename T>() {
    scatter_lines<T>(x1, d, index_along(index1d, source1.sizes(), d), source1, "index_add_",
                     add_scaled<T>(alpha.to<T>()));
  });
}

// ---- masks ----

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

// ---- sorting ----

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

// ---- shaping copies ----

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
