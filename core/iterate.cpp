// Broadcasting and the geometry of ElementwiseLoop (reorder, drop size-1 dims, coalesce, choose
// tiles), and the staging of a crossing input's tile (a blocked transpose).
#include <descent/core/iterate.h>

#include <cstring>
#include <numeric>

namespace descent {

Dims broadcast_shapes(const Dims& a, const Dims& b, const char* op) {
  int n = std::max(a.size(), b.size());
  Dims out = Dims::filled(n, 1);
  for (int i = 0; i < n; ++i) {
    int64_t sa = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t sb = i < n - b.size() ? 1 : b[i - (n - b.size())];
    check<ShapeError>(sa == sb || sa == 1 || sb == 1, "{}: shapes {} and {} cannot be broadcast together", op, a,
                      b);
    out[i] = sa == 1 ? sb : sa;
  }
  return out;
}

ElementwiseLoop::ElementwiseLoop(const Tensor& out, std::initializer_list<Tensor> inputs) {
  check<Error>(inputs.size() + 1 <= kMaxOperands, "elementwise: {} operands, at most {}", inputs.size() + 1,
               kMaxOperands);
  const Dims& shape = out.sizes();
  const int ndim = shape.size();
  operands_ = static_cast<int>(inputs.size()) + 1;
  numel_ = out.numel();

  // Byte strides of every operand over the output's dims (outermost first); 0 where broadcast.
  int64_t strides[kMaxDims][kMaxOperands] = {};
  auto add_operand = [&](int k, const Tensor& t) {
    base_[k] = static_cast<char*>(t.raw_data());
    int lead = ndim - t.dim();
    check<ShapeError>(lead >= 0, "elementwise: input of shape {} does not broadcast to {}", t.sizes(), shape);
    for (int d = 0; d < t.dim(); ++d) {
      int64_t size = t.sizes()[d];
      check<ShapeError>(size == shape[lead + d] || size == 1,
                        "elementwise: input of shape {} does not broadcast to {}", t.sizes(), shape);
      strides[lead + d][k] = size == 1 ? 0 : t.strides()[d] * t.element_size();
    }
  };
  add_operand(0, out);
  element_size_[0] = out.element_size();
  int k = 1;
  for (const Tensor& t : inputs) {
    element_size_[k] = t.element_size();
    add_operand(k++, t);
  }
  for (int op = 0; op < operands_; ++op) max_element_size_ = std::max(max_element_size_, element_size_[op]);

  // Order dims innermost first by the output's stride (then the inputs'), a stable sort that
  // keeps the row-major order for ties. Size-1 dims are dropped (their stride never matters).
  int order[kMaxDims];
  int kept = 0;
  for (int d = ndim - 1; d >= 0; --d) {
    if (shape[d] != 1) order[kept++] = d;
  }
  auto inner_than = [&](int a, int b) {  // whether dim a should be more inner than dim b
    for (int op = 0; op < operands_; ++op) {
      int64_t sa = strides[a][op], sb = strides[b][op];
      if (sa == 0 || sb == 0) continue;
      if (sa != sb) return sa < sb;
    }
    return false;
  };
  for (int i = 1; i < kept; ++i) {  // insertion sort: at most 8 dims
    for (int j = i; j > 0 && inner_than(order[j], order[j - 1]); --j) std::swap(order[j], order[j - 1]);
  }

  // Coalesce neighbours that are one contiguous run for every operand.
  ndim_ = 0;
  for (int i = 0; i < kept; ++i) {
    int d = order[i];
    if (ndim_ > 0) {
      bool mergeable = true;
      for (int op = 0; op < operands_; ++op) {
        if (strides[d][op] != strides_[ndim_ - 1][op] * shape_[ndim_ - 1]) mergeable = false;
      }
      if (mergeable) {
        shape_[ndim_ - 1] *= shape[d];
        continue;
      }
    }
    shape_[ndim_] = shape[d];
    for (int op = 0; op < operands_; ++op) strides_[ndim_][op] = strides[d][op];
    ++ndim_;
  }
  if (ndim_ == 0) {  // a 0-d tensor or all dims of size 1: one run of one element
    ndim_ = 1;
    shape_[0] = 1;
  }
  choose_tiles();
}

void ElementwiseLoop::choose_tiles() {
  // Small loops stay runs: their lines stay in cache anyway.
  if (numel_ < kTileInner * kTileInner || shape_[0] < kTileInner / 4) return;
  for (int k = 1; k < operands_; ++k) {
    crossing_[k] = strides_[0][k] >= kCacheLineBytes;
    if (!crossing_[k] || across_ >= 0) continue;
    // The crossing input's own innermost dim, if its elements there lie within a cache line.
    int innermost = -1;
    for (int d = 1; d < ndim_; ++d) {
      if (strides_[d][k] != 0 && (innermost < 0 || strides_[d][k] < strides_[innermost][k])) innermost = d;
    }
    if (innermost >= 0 && strides_[innermost][k] < kCacheLineBytes) across_ = innermost;
  }
  if (across_ < 0) std::fill(crossing_, crossing_ + kMaxOperands, false);
}

int64_t ElementwiseLoop::tiles() const {
  int64_t count = (shape_[0] + kTileInner - 1) / kTileInner;
  count *= (shape_[across_] + tile_across() - 1) / tile_across();
  for (int d = 1; d < ndim_; ++d) {
    if (d != across_) count *= shape_[d];
  }
  return count;
}

// Tiles are numbered along dim 0 first, so that each row of the output tile continues where the
// previous tile left it (a stream the hardware prefetcher follows), then along across_, then
// along the other dims.
ElementwiseLoop::Tile ElementwiseLoop::tile_at(int64_t tile) const {
  const int64_t inner_tiles = (shape_[0] + kTileInner - 1) / kTileInner;
  const int64_t across_tiles = (shape_[across_] + tile_across() - 1) / tile_across();
  int64_t index[kMaxDims] = {};
  index[0] = tile % inner_tiles * kTileInner;
  tile /= inner_tiles;
  index[across_] = tile % across_tiles * tile_across();
  tile /= across_tiles;
  for (int d = 1; d < ndim_; ++d) {
    if (d == across_) continue;
    index[d] = tile % shape_[d];
    tile /= shape_[d];
  }
  Tile result;
  for (int k = 0; k < operands_; ++k) {
    result.pointers[k] = base_[k];
    for (int d = 0; d < ndim_; ++d) result.pointers[k] += index[d] * strides_[d][k];
  }
  result.inner = std::min(kTileInner, shape_[0] - index[0]);
  result.across = std::min(tile_across(), shape_[across_] - index[across_]);
  return result;
}

namespace {

// Square blocks are transposed in registers of this many bytes (GCC/Clang vector extensions).
#ifdef __AVX512F__
constexpr int64_t kVectorBytes = 64;
#else
constexpr int64_t kVectorBytes = 32;
#endif
template <typename T>
using Vector [[gnu::vector_size(kVectorBytes)]] = T;

// low = x0 y0 x1 y1 ..., high = the same from the upper halves of x and y.
template <typename V, size_t... I>
[[gnu::always_inline]] inline void interleave(const V& x, const V& y, V& low, V& high, std::index_sequence<I...>) {
  constexpr size_t n = sizeof...(I);
  low = __builtin_shufflevector(x, y, (I % 2 == 0 ? I / 2 : n + I / 2)...);
  high = __builtin_shufflevector(x, y, (I % 2 == 0 ? n / 2 + I / 2 : n + n / 2 + I / 2)...);
}

// dst[c][r] = src[r][c] for a square block of n x n elements, n to a vector (strides in
// elements): log2(n) rounds of interleaving rows i and i + n/2 transpose it (the perfect-shuffle
// transpose).
template <typename T>
void transpose_block(const char* src, int64_t src_stride, T* dst, int64_t dst_stride) {
  constexpr int64_t n = kVectorBytes / sizeof(T);
  Vector<T> rows[n], next[n];
  for (int64_t r = 0; r < n; ++r) std::memcpy(&rows[r], src + r * src_stride, sizeof(Vector<T>));
  for (int64_t round = 1; round < n; round *= 2) {
    for (int64_t i = 0; i < n / 2; ++i) {
      interleave(rows[i], rows[i + n / 2], next[2 * i], next[2 * i + 1], std::make_index_sequence<n>{});
    }
    std::copy(next, next + n, rows);
  }
  for (int64_t r = 0; r < n; ++r) std::memcpy(dst + r * dst_stride, &rows[r], sizeof(Vector<T>));
}

// staged[a * inner + i] = element (i, a) of source, at byte offset i * inner_stride + a *
// across_stride, for i < inner and a < across; T stands for an element of its size. Blocks go
// through registers when source rows (along a) are contiguous, the edges element by element.
// Rows of the next tile are prefetched along the way, a block of rows at a time.
template <typename T>
void transpose_into(const char* source, int64_t inner_stride, int64_t across_stride, int64_t inner, int64_t across,
                    T* staged, const char* next_source, int64_t next_rows, int64_t next_row_bytes) {
  auto by_element = [&](int64_t i_begin, int64_t i_end, int64_t a_begin) {
    for (int64_t i = i_begin; i < i_end; ++i) {
      for (int64_t a = a_begin; a < across; ++a) {
        std::memcpy(&staged[a * inner + i], source + i * inner_stride + a * across_stride, sizeof(T));
      }
    }
  };
  auto prefetch = [&](int64_t row_begin, int64_t row_end) {
    for (int64_t row = row_begin; row < std::min(row_end, next_rows); ++row) {
      const char* start = next_source + row * inner_stride;
      for (int64_t byte = 0; byte < next_row_bytes; byte += 64) __builtin_prefetch(start + byte);
    }
  };
  constexpr int64_t n = kVectorBytes / sizeof(T);
  const bool blocked = sizeof(T) >= 4 && across_stride == static_cast<int64_t>(sizeof(T));
  const int64_t inner_blocked = blocked ? inner / n * n : 0;
  const int64_t across_blocked = blocked ? across / n * n : 0;
  for (int64_t i = 0; i < inner_blocked; i += n) {
    prefetch(i, i + n);
    if constexpr (sizeof(T) >= 4) {
      for (int64_t a = 0; a < across_blocked; a += n) {
        transpose_block(source + i * inner_stride + a * across_stride, inner_stride, staged + a * inner + i, inner);
      }
    }
    by_element(i, i + n, across_blocked);
  }
  prefetch(inner_blocked, inner);
  by_element(inner_blocked, inner, 0);
}

}  // namespace

void ElementwiseLoop::prefetch_row(const Tile& tile, int64_t a, const bool* staged) const {
  if (a >= tile.across) return;
  for (int k = 0; k < operands_; ++k) {
    if (staged[k] || strides_[0][k] != element_size_[k]) continue;
    const char* row = tile.pointers[k] + a * strides_[across_][k];
    for (int64_t byte = 0; byte < tile.inner * element_size_[k]; byte += kCacheLineBytes) {
      if (k == 0) __builtin_prefetch(row + byte, 1);
      else __builtin_prefetch(row + byte, 0);
    }
  }
}

void ElementwiseLoop::stage(int k, const Tile& tile, const Tile* next, char* buffer) const {
  const int64_t inner_stride = strides_[0][k], across_stride = strides_[across_][k];
  // The next tile's rows are fetched whole when they are contiguous enough to be worth it.
  const bool fetch = next != nullptr && across_stride <= kCacheLineBytes;
  const char* next_source = fetch ? next->pointers[k] : nullptr;
  const int64_t next_rows = fetch ? next->inner : 0;
  const int64_t next_row_bytes = fetch ? (next->across - 1) * across_stride + element_size_[k] : 0;
  auto transpose_as = [&]<typename T>() {
    transpose_into(tile.pointers[k], inner_stride, across_stride, tile.inner, tile.across, reinterpret_cast<T*>(buffer),
                   next_source, next_rows, next_row_bytes);
  };
  switch (element_size_[k]) {
    case 1: transpose_as.template operator()<uint8_t>(); break;
    case 2: transpose_as.template operator()<uint16_t>(); break;
    case 4: transpose_as.template operator()<uint32_t>(); break;
    default: transpose_as.template operator()<uint64_t>(); break;
  }
}

}  // namespace descent
