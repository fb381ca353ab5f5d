// Binary elementwise kernels: arithmetic, comparisons, logical ops, where, and the in-place
// forms. Read core/iterate.h first: every kernel here is a map_elementwise over ElementwiseLoop.
// Each op's element function is written once, as a "family" (a template lambda that gives the
// function for an element type T); the tensor-tensor, tensor-scalar and in-place forms share it.
#include "core/binary.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <type_traits>
#include <utility>

#include "core/iterate.h"
#include "core/views.h"

namespace descent::core {

namespace {

// ---- element arithmetic ----

// NOTE: int64 overflow wraps around, as in PyTorch; signed overflow is undefined behaviour in
// C++, so integers are added and multiplied as uint64 (two's complement gives the same bits).
// On bool, + is logical or and * logical and (True + True = True), as in PyTorch.
template <typename T>
T plus(T a, T b) {
  if constexpr (std::is_same_v<T, bool>) return a || b;
  else if constexpr (std::is_integral_v<T>) return static_cast<T>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
  else return a + b;
}

template <typename T>
T minus(T a, T b) {
  static_assert(!std::is_same_v<T, bool>, "bool subtraction is rejected before dispatch");
  if constexpr (std::is_integral_v<T>) return static_cast<T>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
  else return a - b;
}

template <typename T>
T times(T a, T b) {
  if constexpr (std::is_same_v<T, bool>) return a && b;
  else if constexpr (std::is_integral_v<T>) return static_cast<T>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
  else return a * b;
}

// Integer power by repeated squaring. A negative exponent gives the integer part of 1 / a^-b,
// as PyTorch's tensor-tensor pow does: 1 for a = 1, +-1 for a = -1, else 0.
int64_t integer_pow(int64_t base, int64_t exponent) {
  if (exponent < 0) {
    if (base == 1) return 1;
    if (base == -1) return exponent % 2 == 0 ? 1 : -1;
    return 0;
  }
  int64_t result = 1;
  while (exponent > 0) {
    if (exponent & 1) result = times(result, base);
    base = times(base, base);
    exponent >>= 1;
  }
  return result;
}

// Python's a % b: the result has the sign of the divisor. For floats, fmod then a shift by b
// when the signs differ (PyTorch's remainder kernel); for integers a % b likewise.
template <typename T>
T python_remainder(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    check<ValueError>(b != 0, "remainder: integer division by zero");
    if (b == -1) return 0;  // NOTE: INT64_MIN % -1 overflows in C++; the answer is 0
    T r = a % b;
    return (r != 0 && ((r < 0) != (b < 0))) ? static_cast<T>(r + b) : r;
  } else {
    T r = std::fmod(a, b);
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
  }
}

// ---- families: make_fn.template operator()<T>() gives the element function for T ----

// a + alpha * b (alpha = 1 is exact: 1 * b == b).
auto add_family(const Scalar& alpha) {
  return [alpha]<typename T>() {
    T k = alpha.to<T>();
    return [k](T a, T b) { return plus(a, times(k, b)); };
  };
}
// a - alpha * b
auto sub_family(const Scalar& alpha) {
  return [alpha]<typename T>() {
    T k = alpha.to<T>();
    return [k](T a, T b) { return minus(a, times(k, b)); };
  };
}
constexpr auto mul_family = []<typename T>() { return [](T a, T b) { return times(a, b); }; };
constexpr auto div_family = []<typename T>() { return [](T a, T b) { return a / b; }; };
constexpr auto pow_family = []<typename T>() {
  return [](T a, T b) -> T {
    if constexpr (std::is_integral_v<T>) return integer_pow(a, b);
    else return std::pow(a, b);
  };
};
// NaN propagates from either side: a NaN `a` is returned, and `a > b` is false for a NaN `b`.
constexpr auto maximum_family = []<typename T>() { return [](T a, T b) { return (a != a || a > b) ? a : b; }; };
constexpr auto minimum_family = []<typename T>() { return [](T a, T b) { return (a != a || a < b) ? a : b; }; };
constexpr auto remainder_family = []<typename T>() { return [](T a, T b) { return python_remainder(a, b); }; };
// Comparisons follow IEEE: everything with NaN is false except !=.
constexpr auto eq_family = []<typename T>() { return [](T a, T b) { return a == b; }; };
constexpr auto ne_family = []<typename T>() { return [](T a, T b) { return a != b; }; };
constexpr auto lt_family = []<typename T>() { return [](T a, T b) { return a < b; }; };
constexpr auto le_family = []<typename T>() { return [](T a, T b) { return a <= b; }; };
constexpr auto gt_family = []<typename T>() { return [](T a, T b) { return a > b; }; };
constexpr auto ge_family = []<typename T>() { return [](T a, T b) { return a >= b; }; };
constexpr auto and_family = []<typename T>() { return [](T a, T b) { return a != T(0) && b != T(0); }; };
constexpr auto or_family = []<typename T>() { return [](T a, T b) { return a != T(0) || b != T(0); }; };
constexpr auto xor_family = []<typename T>() { return [](T a, T b) { return (a != T(0)) != (b != T(0)); }; };

// ---- type rules ----

// True division computes in floating point: integers and bools divide as float32.
DType division_dtype(DType promoted_dtype) { return is_floating(promoted_dtype) ? promoted_dtype : kFloat32; }

// PyTorch's alpha rules: a bool alpha only for bool results, a floating alpha only for floating.
void check_alpha(const char* op, DType result, const Scalar& alpha) {
  check<DTypeError>(!alpha.is_bool() || result == kBool, "{}: a bool alpha is only supported for bool results, not {}",
                    op, result);
  check<DTypeError>(is_floating(result) || !alpha.is_floating(),
                    "{}: alpha must not be a floating point number for {} tensors", op, result);
}

// PyTorch rejects subtraction involving bool, pointing to logical_xor / logical_not instead.
void check_subtraction(const char* op, DType a, DType b) {
  check<DTypeError>(a != kBool || b != kBool,
                    "{}: subtraction of two bool tensors is not supported; use logical_xor() instead", op);
  check<DTypeError>(a != kBool && b != kBool,
                    "{}: subtraction with a bool tensor is not supported; to invert a mask use logical_not()", op);
}

// ---- loops ----

// The dim of a tensor of shape `sizes` with the smallest nonzero stride among dims of size > 1
// (the one a memory-order walk takes innermost), or -1 if there is none.
int innermost_dim(const Dims& sizes, const Dims& strides) {
  int best = -1;
  for (int d = 0; d < sizes.size(); ++d) {
    if (sizes[d] > 1 && strides[d] != 0 && (best < 0 || strides[d] < strides[best])) best = d;
  }
  return best;
}

// The strides (elements) of `t` broadcast to `shape`: 0 on new and on size-1 dims.
Dims broadcast_strides(const Tensor& t, const Dims& shape) {
  Dims strides = Dims::filled(shape.size(), 0);
  int lead = shape.size() - t.dim();
  for (int d = 0; d < t.dim(); ++d) strides[lead + d] = t.sizes()[d] == 1 ? 0 : t.strides()[d];
  return strides;
}

// NOTE: ElementwiseLoop walks the output in memory order. An input laid out across it (a
// transposed matrix) is then read with a large stride: a scalar loop that touches a new cache
// line, and often a new page, per element, and with a power-of-two row stride every line falls
// into the same cache set, so lines are evicted before their neighbours are used (measured: 10x
// slower than contiguous at 4096 x 4096). Instead the loop is cut into tiles over the output's
// innermost dim (`inner`) and the crossing input's (`across`). Per tile, each crossing input is
// first copied into a small buffer laid out like the output tile, reading its own memory in order
// and transposing blocks in registers, while the rows of its next tile are prefetched; the kernel
// then runs on the tile as contiguous runs that vectorise. (The blocked transpose of BLAS and FFT
// libraries, done as a staging copy so that the kernels stay plain map_elementwise loops.)
constexpr int64_t kTileSide = 64;  // a 64 x 64 tile of float64 is 32 KiB: it fits L1
constexpr int64_t kTileElements = kTileSide * kTileSide;
constexpr int64_t kCacheLineBytes = 64;

struct Tiling {
  int inner;
  int across;
};

// Whether an operand with `strides` (broadcast to the output's shape) reads more than a cache
// line apart along the output's innermost dim: those are staged.
bool crosses(const Dims& strides, int inner, int64_t element_size) {
  return strides[inner] * element_size >= kCacheLineBytes;
}

// The dims to tile when an input crosses the output's memory order, if any does and the loop is
// large enough for it to matter.
std::optional<Tiling> find_tiling(const Tensor& out, std::initializer_list<const Tensor*> inputs) {
  if (out.numel() < kElementwiseGrain) return std::nullopt;
  int inner = innermost_dim(out.sizes(), out.strides());
  if (inner < 0) return std::nullopt;
  for (const Tensor* input : inputs) {
    Dims strides = broadcast_strides(*input, out.sizes());
    int across = innermost_dim(out.sizes(), strides);
    if (across >= 0 && across != inner && crosses(strides, inner, input->element_size())) {
      return Tiling{inner, across};
    }
  }
  return std::nullopt;
}

// The tiles of a loop over `shape`: kTileSide along `inner` and `across`, 1 along the other dims
// (which may lie anywhere in memory). Consecutive tiles step along `inner` first, so that each
// row of the output tile continues where the previous tile left it (a stream the hardware
// prefetcher follows), then along `across`, then the other dims.
class TileGrid {
 public:
  TileGrid(const Dims& shape, const Tiling& tiling) : shape_(shape), side_(Dims::filled(shape.size(), 1)) {
    side_[tiling.inner] = kTileSide;
    side_[tiling.across] = kTileSide;
    count_ = Dims::filled(shape.size(), 1);
    for (int d = 0; d < shape.size(); ++d) count_[d] = (shape[d] + side_[d] - 1) / side_[d];
    order_.push_back(tiling.inner);
    order_.push_back(tiling.across);
    for (int d = shape.size() - 1; d >= 0; --d) {
      if (d != tiling.inner && d != tiling.across) order_.push_back(d);
    }
  }
  int64_t size() const { return count_.product(); }
  // The index of the first element of tile `tile`, and the tile's sizes (smaller at the edges).
  Dims start(int64_t tile) const {
    Dims first = Dims::filled(shape_.size(), 0);
    for (int64_t d : order_) {
      first[d] = tile % count_[d] * side_[d];
      tile /= count_[d];
    }
    return first;
  }
  Dims sizes(const Dims& start) const {
    Dims extent = side_;
    for (int d = 0; d < shape_.size(); ++d) extent[d] = std::min(side_[d], shape_[d] - start[d]);
    return extent;
  }

 private:
  Dims shape_, side_, count_;
  Dims order_;  // dims from the fastest-changing tile coordinate to the slowest
};

// The element offset of index `start` of a tensor viewed with `strides` (of the output's rank).
int64_t element_offset(const Tensor& t, const Dims& strides, const Dims& start) {
  int64_t offset = t.offset();
  for (int d = 0; d < start.size(); ++d) offset += start[d] * strides[d];
  return offset;
}

// The view of `t` with `strides` (of the output's rank) on the tile at `start` of `sizes`.
Tensor tile_view(const Tensor& t, const Dims& strides, const Dims& start, const Dims& sizes) {
  return Tensor::make_view(t.storage(), sizes, strides, element_offset(t, strides, start), t.dtype());
}

// The rows of a staged input's next tile, fetched while this tile is staged: they lie a large
// stride apart, and the hardware prefetcher does not follow them, so without this each row is a
// cache miss that the loop waits for.
struct NextRows {
  const char* first = nullptr;
  int64_t count = 0;   // 0: nothing to fetch
  int64_t stride = 0;  // bytes
  int64_t bytes = 0;   // of one row
};

void prefetch_rows(const NextRows& rows, int64_t begin, int64_t end) {
  for (int64_t row = begin; row < std::min(end, rows.count); ++row) {
    const char* start = rows.first + row * rows.stride;
    for (int64_t byte = 0; byte < rows.bytes; byte += kCacheLineBytes) __builtin_prefetch(start + byte);
  }
}

// Vectors of 32 bytes (GCC/Clang vector extensions; AVX registers, or pairs of SSE registers).
constexpr int64_t kVectorBytes = 32;
template <typename T>
using Vector [[gnu::vector_size(kVectorBytes)]] = T;

template <typename V>
void interleave(const V& x, const V& y, V& low, V& high) {
  if constexpr (sizeof(x[0]) == 4) {
    low = __builtin_shufflevector(x, y, 0, 8, 1, 9, 2, 10, 3, 11);
    high = __builtin_shufflevector(x, y, 4, 12, 5, 13, 6, 14, 7, 15);
  } else {
    low = __builtin_shufflevector(x, y, 0, 4, 1, 5);
    high = __builtin_shufflevector(x, y, 2, 6, 3, 7);
  }
}

// dst[c][r] = src[r][c] for a square block of n x n elements (n to a vector; strides in
// elements), in registers: log2(n) rounds of interleaving rows i and i + n / 2 transpose it (the
// perfect-shuffle transpose).
template <typename T>
void transpose_block(const T* src, int64_t src_stride, T* dst, int64_t dst_stride) {
  constexpr int64_t n = kVectorBytes / sizeof(T);
  Vector<T> rows[n], next[n];
  for (int64_t r = 0; r < n; ++r) std::memcpy(&rows[r], src + r * src_stride, sizeof(Vector<T>));
  for (int64_t round = 1; round < n; round *= 2) {
    for (int64_t i = 0; i < n / 2; ++i) interleave(rows[i], rows[i + n / 2], next[2 * i], next[2 * i + 1]);
    std::copy(next, next + n, rows);
  }
  for (int64_t r = 0; r < n; ++r) std::memcpy(dst + r * dst_stride, &rows[r], sizeof(Vector<T>));
}

// staged[a * inner_size + i] = source[i * inner_stride + a * across_stride]: blocks transposed
// in registers where the source rows are contiguous, element by element at the edges.
template <typename T>
void transpose_into(const T* source, int64_t inner_stride, int64_t across_stride, int64_t inner_size,
                    int64_t across_size, T* staged, const NextRows& next) {
  auto by_element = [&](int64_t i_begin, int64_t i_end, int64_t a_begin) {
    for (int64_t i = i_begin; i < i_end; ++i) {
      for (int64_t a = a_begin; a < across_size; ++a) {
        staged[a * inner_size + i] = source[i * inner_stride + a * across_stride];
      }
    }
  };
  constexpr bool kBlockable = sizeof(T) >= 4;  // bool goes element by element
  constexpr int64_t n = kVectorBytes / sizeof(T);
  const bool blocked = kBlockable && across_stride == 1;
  const int64_t inner_blocked = blocked ? inner_size / n * n : 0;
  const int64_t across_blocked = blocked ? across_size / n * n : 0;
  for (int64_t i = 0; i < inner_blocked; i += n) {
    prefetch_rows(next, i, i + n);
    if constexpr (kBlockable) {
      for (int64_t a = 0; a < across_blocked; a += n) {
        transpose_block(source + i * inner_stride + a, inner_stride, staged + a * inner_size + i, inner_size);
      }
    }
    by_element(i, i + n, across_blocked);
  }
  for (int64_t i = inner_blocked; i < inner_size; ++i) {
    prefetch_rows(next, i, i + 1);
    by_element(i, i + 1, 0);
  }
}

// `tile` (whose dims other than inner and across have size 1) copied into `buffer`, contiguous
// along `inner`, then along `across`, reading the input in its own order.
Tensor stage(const Tensor& tile, const Tiling& tiling, const std::shared_ptr<Storage>& buffer,
             const NextRows& next) {
  const int64_t inner_size = tile.sizes()[tiling.inner];
  dispatch(tile.dtype(), "stage", [&]<typename T>() {
    transpose_into(static_cast<const T*>(tile.raw_data()), tile.strides()[tiling.inner],
                   tile.strides()[tiling.across], inner_size, tile.sizes()[tiling.across],
                   static_cast<T*>(buffer->data()), next);
  });
  Dims strides = Dims::filled(tile.dim(), 0);
  strides[tiling.inner] = 1;
  strides[tiling.across] = inner_size;
  return Tensor::make_view(buffer, tile.sizes(), strides, 0, tile.dtype());
}

// Calls kernel(const ElementwiseLoop&) over out and inputs: one loop, or one per tile (the
// tiles spread over threads, crossing inputs staged) when an input crosses the output's order.
template <typename Kernel, typename... Inputs>
void for_each_loop(const Kernel& kernel, const Tensor& out, const Inputs&... inputs) {
  std::optional<Tiling> tiling = find_tiling(out, {&inputs...});
  if (!tiling) {
    kernel(ElementwiseLoop(out, {inputs...}));
    return;
  }
  const TileGrid grid(out.sizes(), *tiling);
  constexpr size_t kInputs = sizeof...(Inputs);
  const std::array<const Tensor*, kInputs> operands = {&inputs...};
  const std::array<Dims, kInputs> strides = {broadcast_strides(inputs, out.sizes())...};
  std::array<bool, kInputs> staged{};
  for (size_t k = 0; k < kInputs; ++k) {
    staged[k] = crosses(strides[k], tiling->inner, operands[k]->element_size());
  }
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / kTileElements);  // in tiles
  parallel_for(0, grid.size(), grain, [&](int64_t begin, int64_t end) {
    std::array<std::shared_ptr<Storage>, kInputs> buffers;  // one per staged input and thread
    for (size_t k = 0; k < kInputs; ++k) {
      if (staged[k]) buffers[k] = Storage::allocate(kTileElements * operands[k]->element_size());
    }
    for (int64_t tile = begin; tile < end; ++tile) {
      const Dims start = grid.start(tile), sizes = grid.sizes(start);
      const bool has_next = tile + 1 < end;
      const Dims next_start = has_next ? grid.start(tile + 1) : start;
      const Dims next_sizes = grid.sizes(next_start);
      auto input_tile = [&](size_t k) {
        Tensor view = tile_view(*operands[k], strides[k], start, sizes);
        if (!staged[k]) return view;
        const int64_t element_size = operands[k]->element_size();
        const int64_t across_step = strides[k][tiling->across] * element_size;
        NextRows next;
        if (has_next && across_step <= kCacheLineBytes) {  // rows contiguous enough to fetch whole
          const char* base = static_cast<const char*>(operands[k]->storage()->data());
          next = {base + element_offset(*operands[k], strides[k], next_start) * element_size,
                  next_sizes[tiling->inner], strides[k][tiling->inner] * element_size,
                  (next_sizes[tiling->across] - 1) * across_step + element_size};
        }
        return stage(view, *tiling, buffers[k], next);
      };
      [&]<size_t... I>(std::index_sequence<I...>) {
        kernel(ElementwiseLoop(tile_view(out, out.strides(), start, sizes), {input_tile(I)...}));
      }(std::make_index_sequence<kInputs>{});
    }
  });
}

// out = f(inputs...) elementwise, with Out and In... the C++ element types.
// NOTE: small tensors (a loop of one thread) with every operand contiguous and of out's shape,
// one-element tensors above all, skip the loop planning: for them the planning of
// ElementwiseLoop and parallel_for cost more than the arithmetic.
template <typename Out, typename... In, typename F, typename... Inputs>
void apply(const F& f, const Tensor& out, const Inputs&... inputs) {
  const int64_t n = out.numel();
  if (n <= kElementwiseGrain && out.is_contiguous() && ((inputs.numel() == n && inputs.is_contiguous()) && ...)) {
    Out* result = static_cast<Out*>(out.raw_data());
    [&]<size_t... I>(std::index_sequence<I...>) {
      using InputTypes = std::tuple<In...>;
      const std::tuple<const std::tuple_element_t<I, InputTypes>*...> sources = {
          static_cast<const std::tuple_element_t<I, InputTypes>*>(inputs.raw_data())...};
      for (int64_t i = 0; i < n; ++i) result[i] = f(std::get<I>(sources)[i]...);
    }(std::index_sequence_for<Inputs...>{});
    return;
  }
  for_each_loop([&](const ElementwiseLoop& loop) { map_elementwise<Out, In...>(loop, f); }, out, inputs...);
}

// `t` in `dtype`: t itself when it already is (no handle copied: this runs for every op), else
// its conversion, kept in `converted`.
const Tensor& in_dtype(const Tensor& t, DType dtype, Tensor& converted) {
  if (t.dtype() == dtype) return t;
  converted = to(t, dtype);
  return converted;
}

// a op b: both broadcast, converted to `compute`, the result's dtype that of f's return type.
template <typename Types = AllTypes, typename Family>
Tensor binary(const char* op, const Tensor& a, const Tensor& b, DType compute, const Family& family) {
  Dims shape = broadcast_shapes(a.sizes(), b.sizes(), op);
  Tensor converted_a, converted_b;
  const Tensor& x = in_dtype(a, compute, converted_a);
  const Tensor& y = in_dtype(b, compute, converted_b);
  return dispatch<Types>(compute, op, [&]<typename T>() {
    auto f = family.template operator()<T>();
    using Out = decltype(f(T{}, T{}));
    Tensor out = Tensor::empty(shape, dtype_v<Out>);
    apply<Out, T, T>(f, out, x, y);
    return out;
  });
}

// Which operand of a binary op a scalar stands for.
enum class ScalarSide { Left, Right };

// t op s (or s op t): a one-input loop with the scalar, converted to `compute`, held in f.
template <typename Types = AllTypes, typename Family>
Tensor binary(const char* op, const Tensor& t, const Scalar& s, ScalarSide side, DType compute, const Family& family) {
  Tensor converted;
  const Tensor& x = in_dtype(t, compute, converted);
  return dispatch<Types>(compute, op, [&]<typename T>() {
    auto f = family.template operator()<T>();
    using Out = decltype(f(T{}, T{}));
    Tensor out = Tensor::empty(t.sizes(), dtype_v<Out>);
    T v = s.to<T>();
    if (side == ScalarSide::Right) apply<Out, T>([f, v](T e) { return f(e, v); }, out, x);
    else apply<Out, T>([f, v](T e) { return f(v, e); }, out, x);
    return out;
  });
}

// The common case: computed in the promoted dtype of the operands.
template <typename Types = AllTypes, typename Family>
Tensor binary_promoted(const char* op, const Tensor& a, const Tensor& b, const Family& family) {
  return binary<Types>(op, a, b, promote_types(a.dtype(), b.dtype()), family);
}
template <typename Types = AllTypes, typename Family>
Tensor binary_promoted(const char* op, const Tensor& a, const Scalar& b, const Family& family) {
  return binary<Types>(op, a, b, ScalarSide::Right, promote_with_scalar(a.dtype(), b), family);
}

// ---- in place ----

// Throws unless `result` (the dtype `self op other` would have) is self's own dtype.
void check_inplace_dtype(const char* op, const Tensor& self, DType result) {
  check<DTypeError>(result == self.dtype(), "{}: result type {} cannot be written into a tensor of dtype {}", op,
                    result, self.dtype());
}

// NOTE: a written-to tensor with a stride-0 dim (an expanded view) would receive several results
// in one element; PyTorch refuses it, and so do we.
void check_no_internal_overlap(const char* op, const Tensor& self) {
  for (int d = 0; d < self.dim(); ++d) {
    check<ValueError>(self.strides()[d] != 0 || self.sizes()[d] <= 1,
                      "{}: the written-to tensor of shape {} with strides {} has elements that share memory "
                      "(an expanded view); clone() it first",
                      op, self.sizes(), self.strides());
  }
}

// The first and one-past-last byte a tensor can touch in its storage.
std::pair<int64_t, int64_t> byte_extent(const Tensor& t) {
  int64_t last = t.offset();
  for (int d = 0; d < t.dim(); ++d) last += (t.sizes()[d] - 1) * t.strides()[d];
  return {t.offset() * t.element_size(), (last + 1) * t.element_size()};
}

// `other` made safe to read while `self` is written: itself, unless it shares memory with self in
// another layout (x[1:] += x[:-1], x.t() += x). Then an element could be read after it was
// overwritten, so it is copied first (PyTorch raises instead). Reading exactly self is safe: each
// element is read before it is written.
Tensor readable_while_writing(const Tensor& self, const Tensor& other) {
  if (!self.shares_storage(other) || self.numel() == 0 || other.numel() == 0) return other;
  if (self.offset() == other.offset() && self.sizes() == other.sizes() && self.strides() == other.strides()) {
    return other;
  }
  auto [self_begin, self_end] = byte_extent(self);
  auto [other_begin, other_end] = byte_extent(other);
  bool overlap = self_begin < other_end && other_begin < self_end;
  return overlap ? clone(other) : other;
}

// self = self op other, other broadcast to self's shape; `result` is the dtype of `self op other`.
template <typename Types = AllTypes, typename Family>
void binary_(const char* op, const Tensor& self, const Tensor& other, DType result, const Family& family) {
  check_inplace_dtype(op, self, result);
  Dims shape = broadcast_shapes(self.sizes(), other.sizes(), op);
  check<ShapeError>(shape == self.sizes(), "{}: other of shape {} does not broadcast to self's shape {}", op,
                    other.sizes(), self.sizes());
  check_no_internal_overlap(op, self);
  Tensor y = readable_while_writing(self, to(other, self.dtype()));
  dispatch<Types>(self.dtype(), op, [&]<typename T>() {
    apply<T, T, T>(family.template operator()<T>(), self, self, y);
  });
  self.bump_version();
}

// self = self op s
template <typename Types = AllTypes, typename Family>
void binary_(const char* op, const Tensor& self, const Scalar& s, DType result, const Family& family) {
  check_inplace_dtype(op, self, result);
  check_no_internal_overlap(op, self);
  dispatch<Types>(self.dtype(), op, [&]<typename T>() {
    auto f = family.template operator()<T>();
    T v = s.to<T>();
    apply<T, T>([f, v](T e) { return f(e, v); }, self, self);
  });
  self.bump_version();
}

// ---- where ----

void check_condition(const Tensor& condition) {
  check<DTypeError>(condition.dtype() == kBool, "where: the condition must be a bool tensor, not {}",
                    condition.dtype());
}

}  // namespace

// ---- arithmetic ----

Tensor add(const Tensor& a, const Tensor& b, const Scalar& alpha) {
  DType result = promote_types(a.dtype(), b.dtype());
  check_alpha("add", result, alpha);
  return binary("add", a, b, result, add_family(alpha));
}
Tensor add(const Tensor& a, const Scalar& b) {
  return binary_promoted("add", a, b, add_family(1));
}

Tensor sub(const Tensor& a, const Tensor& b, const Scalar& alpha) {
  check_subtraction("sub", a.dtype(), b.dtype());
  DType result = promote_types(a.dtype(), b.dtype());
  check_alpha("sub", result, alpha);
  return binary<NumericTypes>("sub", a, b, result, sub_family(alpha));
}
Tensor sub(const Tensor& a, const Scalar& b) {
  check_subtraction("sub", a.dtype(), b.default_dtype());
  return binary<NumericTypes>("sub", a, b, ScalarSide::Right, promote_with_scalar(a.dtype(), b), sub_family(1));
}
Tensor sub(const Scalar& a, const Tensor& b) {
  check_subtraction("sub", a.default_dtype(), b.dtype());
  return binary<NumericTypes>("sub", b, a, ScalarSide::Left, promote_with_scalar(b.dtype(), a), sub_family(1));
}

Tensor mul(const Tensor& a, const Tensor& b) {
  return binary_promoted("mul", a, b, mul_family);
}
Tensor mul(const Tensor& a, const Scalar& b) {
  return binary_promoted("mul", a, b, mul_family);
}

Tensor div(const Tensor& a, const Tensor& b) {
  return binary<FloatingTypes>("div", a, b, division_dtype(promote_types(a.dtype(), b.dtype())), div_family);
}
Tensor div(const Tensor& a, const Scalar& b) {
  DType compute = division_dtype(promote_with_scalar(a.dtype(), b));
  return binary<FloatingTypes>("div", a, b, ScalarSide::Right, compute, div_family);
}
Tensor div(const Scalar& a, const Tensor& b) {
  DType compute = division_dtype(promote_with_scalar(b.dtype(), a));
  return binary<FloatingTypes>("div", b, a, ScalarSide::Left, compute, div_family);
}

Tensor pow(const Tensor& a, const Tensor& b) {
  return binary_promoted<NumericTypes>("pow", a, b, pow_family);
}
Tensor pow(const Scalar& a, const Tensor& b) {
  return binary<NumericTypes>("pow", b, a, ScalarSide::Left, promote_with_scalar(b.dtype(), a), pow_family);
}

Tensor maximum(const Tensor& a, const Tensor& b) {
  return binary_promoted("maximum", a, b, maximum_family);
}
Tensor minimum(const Tensor& a, const Tensor& b) {
  return binary_promoted("minimum", a, b, minimum_family);
}

Tensor remainder(const Tensor& a, const Tensor& b) {
  return binary_promoted<NumericTypes>("remainder", a, b, remainder_family);
}
Tensor remainder(const Tensor& a, const Scalar& b) {
  return binary_promoted<NumericTypes>("remainder", a, b, remainder_family);
}

// ---- comparisons and logical ops ----

Tensor eq(const Tensor& a, const Tensor& b) { return binary_promoted("eq", a, b, eq_family); }
Tensor eq(const Tensor& a, const Scalar& b) { return binary_promoted("eq", a, b, eq_family); }
Tensor ne(const Tensor& a, const Tensor& b) { return binary_promoted("ne", a, b, ne_family); }
Tensor ne(const Tensor& a, const Scalar& b) { return binary_promoted("ne", a, b, ne_family); }
Tensor lt(const Tensor& a, const Tensor& b) { return binary_promoted("lt", a, b, lt_family); }
Tensor lt(const Tensor& a, const Scalar& b) { return binary_promoted("lt", a, b, lt_family); }
Tensor le(const Tensor& a, const Tensor& b) { return binary_promoted("le", a, b, le_family); }
Tensor le(const Tensor& a, const Scalar& b) { return binary_promoted("le", a, b, le_family); }
Tensor gt(const Tensor& a, const Tensor& b) { return binary_promoted("gt", a, b, gt_family); }
Tensor gt(const Tensor& a, const Scalar& b) { return binary_promoted("gt", a, b, gt_family); }
Tensor ge(const Tensor& a, const Tensor& b) { return binary_promoted("ge", a, b, ge_family); }
Tensor ge(const Tensor& a, const Scalar& b) { return binary_promoted("ge", a, b, ge_family); }

Tensor logical_and(const Tensor& a, const Tensor& b) {
  return binary_promoted("logical_and", a, b, and_family);
}
Tensor logical_or(const Tensor& a, const Tensor& b) {
  return binary_promoted("logical_or", a, b, or_family);
}
Tensor logical_xor(const Tensor& a, const Tensor& b) {
  return binary_promoted("logical_xor", a, b, xor_family);
}

// ---- where ----

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  check_condition(condition);
  Dims shape = broadcast_shapes(broadcast_shapes(condition.sizes(), a.sizes(), "where"), b.sizes(), "where");
  DType result = promote_types(a.dtype(), b.dtype());
  Tensor x = to(a, result);
  Tensor y = to(b, result);
  Tensor out = Tensor::empty(shape, result);
  // NOTE: the condition is read as bytes (bool's storage) compared with 0: GCC 12 vectorises
  // that select, and not one on a loaded bool.
  dispatch(result, "where", [&]<typename T>() {
    apply<T, uint8_t, T, T>([](uint8_t c, T u, T v) { return c != 0 ? u : v; }, out, condition, x, y);
  });
  return out;
}

// condition ? t : s (or condition ? s : t when the scalar stands on the left).
Tensor where_scalar(const Tensor& condition, const Tensor& t, const Scalar& s, ScalarSide side) {
  check_condition(condition);
  Dims shape = broadcast_shapes(condition.sizes(), t.sizes(), "where");
  DType result = promote_with_scalar(t.dtype(), s);
  Tensor x = to(t, result);
  Tensor out = Tensor::empty(shape, result);
  dispatch(result, "where", [&]<typename T>() {
    T v = s.to<T>();
    // NOTE: the condition as bytes, as in where above.
    if (side == ScalarSide::Right) {
      apply<T, uint8_t, T>([v](uint8_t c, T u) { return c != 0 ? u : v; }, out, condition, x);
    } else {
      apply<T, uint8_t, T>([v](uint8_t c, T u) { return c != 0 ? v : u; }, out, condition, x);
    }
  });
  return out;
}
Tensor where(const Tensor& condition, const Tensor& a, const Scalar& b) {
  return where_scalar(condition, a, b, ScalarSide::Right);
}
Tensor where(const Tensor& condition, const Scalar& a, const Tensor& b) {
  return where_scalar(condition, b, a, ScalarSide::Left);
}

// ---- in place ----

void add_(const Tensor& self, const Tensor& other, const Scalar& alpha) {
  DType result = promote_types(self.dtype(), other.dtype());
  check_alpha("add_", result, alpha);
  binary_("add_", self, other, result, add_family(alpha));
}
void add_(const Tensor& self, const Scalar& other) {
  binary_("add_", self, other, promote_with_scalar(self.dtype(), other), add_family(1));
}
void sub_(const Tensor& self, const Tensor& other, const Scalar& alpha) {
  check_subtraction("sub_", self.dtype(), other.dtype());
  DType result = promote_types(self.dtype(), other.dtype());
  check_alpha("sub_", result, alpha);
  binary_<NumericTypes>("sub_", self, other, result, sub_family(alpha));
}
void sub_(const Tensor& self, const Scalar& other) {
  check_subtraction("sub_", self.dtype(), other.default_dtype());
  binary_<NumericTypes>("sub_", self, other, promote_with_scalar(self.dtype(), other), sub_family(1));
}
void mul_(const Tensor& self, const Tensor& other) {
  binary_("mul_", self, other, promote_types(self.dtype(), other.dtype()), mul_family);
}
void mul_(const Tensor& self, const Scalar& other) {
  binary_("mul_", self, other, promote_with_scalar(self.dtype(), other), mul_family);
}
void div_(const Tensor& self, const Tensor& other) {
  binary_<FloatingTypes>("div_", self, other, division_dtype(promote_types(self.dtype(), other.dtype())), div_family);
}
void div_(const Tensor& self, const Scalar& other) {
  binary_<FloatingTypes>("div_", self, other, division_dtype(promote_with_scalar(self.dtype(), other)), div_family);
}

}  // namespace descent::core
