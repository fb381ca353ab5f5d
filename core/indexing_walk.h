// The walks and argument checks shared by core/'s indexing kernels (join.cpp, gather_scatter.cpp,
// masks.cpp, sort.cpp, shape_copies.cpp): a strided cursor over "lines" along one dim, split over
// threads, and the index/mask checks with PyTorch's messages. Internal to core/.
#pragma once

#include <algorithm>
#include <initializer_list>

#include <descent/core/iterate.h>
#include <descent/core/parallel.h>
#include <descent/core/tensor.h>

namespace descent::core::indexing {

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
inline int64_t line_grain(int64_t length) { return std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(length, 1)); }

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
inline Tensor at_least_1d(const Tensor& t) {
  return t.dim() > 0 ? t : Tensor::make_view(t.storage(), {1}, {1}, t.offset(), t.dtype());
}

// The strides of t when broadcast to `shape` (NumPy rules, checked by the caller): 0 where t repeats.
inline Dims broadcast_strides(const Tensor& t, const Dims& shape) {
  Dims strides = Dims::filled(shape.size(), 0);
  int lead = shape.size() - t.dim();
  for (int d = 0; d < t.dim(); ++d) strides[lead + d] = t.sizes()[d] == 1 ? 0 : t.strides()[d];
  return strides;
}

// ---- argument checks ----

inline void check_index_dtype(const Tensor& index, const char* op) {
  check<DTypeError>(index.dtype() == kInt64, "{}: index must be int64, not {}", op, index.dtype());
}

inline void check_mask_dtype(const Tensor& mask, const char* op) {
  check<DTypeError>(mask.dtype() == kBool, "{}: mask must be bool, not {}", op, mask.dtype());
}

// An in-place write through a view whose elements share memory (an expanded dim) is ill-defined.
inline void check_writable(const Tensor& x, const char* op) {
  for (int d = 0; d < x.dim(); ++d) {
    check<ValueError>(x.sizes()[d] <= 1 || x.strides()[d] != 0,
                      "{}: cannot write in place to a tensor of shape {} with strides {}: some elements share "
                      "memory (an expanded view)",
                      op, x.sizes(), x.strides());
  }
}

inline int64_t checked_index(int64_t i, int64_t size, int dim, const char* op) {
  if (i < 0 || i >= size) [[unlikely]] {
    throw IndexError(fmt::format("{}: index {} is out of bounds for dim {} with size {}", op, i, dim, size));
  }
  return i;
}

// gather/scatter shapes: index has x's number of dims (0-d counts as 1-d) and is no larger than x
// outside `dim`, nor than src (if any) anywhere.
inline void check_index_shape(const Tensor& x, int dim, const Tensor& index, const Tensor* src, const char* op) {
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
inline Tensor index_along(const Tensor& index1d, const Dims& sizes, int dim) {
  Dims strides = Dims::filled(sizes.size(), 0);
  strides[dim] = index1d.stride(0);
  return Tensor::make_view(index1d.storage(), sizes, strides, index1d.offset(), kInt64);
}

// A 1-d index (0-d counts as one element), checked for dtype and dims.
inline Tensor index_vector(const Tensor& index, const char* op) {
  check_index_dtype(index, op);
  check<ShapeError>(index.dim() <= 1, "{}: index must be 0-d or 1-d, not of shape {}", op, index.sizes());
  return at_least_1d(index);
}

}  // namespace descent::core::indexing
