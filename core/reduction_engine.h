// The reduction engine shared by core/reduce.cpp (the reductions) and core/softmax.cpp: a plan of
// kept and reduced axes for a tensor, and one engine that folds a "reducer" over it in parallel
// with results independent of the thread count. Internal to core/: not part of the public API.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <type_traits>

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#include <sleef.h>
#endif

#include <descent/core/parallel.h>
#include <descent/core/tensor.h>

namespace descent::core::reduction {

// ---- geometry ----

using DimMask = uint32_t;  // bit d set: dim d is reduced
static_assert(kMaxDims <= 32);

// Which dims `dims` names (all dims when empty), each wrapped; a dim named twice: IndexError.
DimMask reduced_mask(const Dims& sizes, const Dims& dims, const char* op);

// `sizes` with the dims in `mask` removed, or kept as size 1.
Dims shape_without(const Dims& sizes, DimMask mask, bool keepdim);

// One axis of a plan: its size; its stride (in elements) in the input and in the output; and, for
// reduced axes, the row-major stride of the logical index within the reduced dims (argmax over
// all dims returns that flattened index, whatever order memory is walked in).
struct Axis {
  int64_t size = 1;
  int64_t in_stride = 0;
  int64_t out_stride = 0;
  int64_t index_stride = 0;
};

// The axes of one group (kept or reduced), innermost first. Never empty: a group without a dim of
// size != 1 holds one axis of size 1, so loops need no special case for "nothing to reduce".
struct AxisGroup {
  Axis axes[kMaxDims];
  int ndim = 0;
  int64_t numel = 1;
};

// Stride 0 (a broadcast dim) sorts outermost: it never gives a contiguous run.
inline int64_t stride_key(int64_t stride) { return stride == 0 ? INT64_MAX : stride; }

// Orders `dims` (given outermost first) innermost first by input stride (ties keep row-major
// order), drops size-1 dims and merges neighbours that form one run in input, output and index.
AxisGroup make_group(const Axis* dims, int count);

// How one reduction walks memory.
struct ReductionPlan {
  AxisGroup kept;     // one output element per position
  AxisGroup reduced;  // folded into each output element
  // Whether the innermost axis in memory is reduced: each output then folds contiguous runs
  // ("inner" reductions, like sum over the last dim). Otherwise the innermost axis is kept and
  // a tile of outputs accumulates side by side while the reduced positions stream past
  // ("outer" reductions, like sum over the first dim).
  bool reduces_innermost = true;
};

// The plan of reducing x over `mask`, writing an output whose stride for each of x's dims is
// `out_strides` (reduced dims may have any output stride; reductions give them 0).
ReductionPlan make_plan(const Tensor& x, DimMask mask, const Dims& out_strides);

struct Offsets {
  int64_t in = 0, out = 0, index = 0;
};

// The offsets of position `flat` (innermost first) of axes[0, ndim).
inline Offsets offsets_at(const Axis* axes, int ndim, int64_t flat) {
  Offsets at;
  for (int d = 0; d < ndim; ++d) {
    int64_t position = flat % axes[d].size;
    flat /= axes[d].size;
    at.in += position * axes[d].in_stride;
    at.out += position * axes[d].out_stride;
    at.index += position * axes[d].index_stride;
  }
  return at;
}

// Walks positions [begin, end) of a group as runs along its innermost axis:
// run(offsets of the run's first element, run length). Strides along a run: group.axes[0].
template <typename Run>
void for_each_run(const AxisGroup& group, int64_t begin, int64_t end, const Run& run) {
  if (begin >= end) return;
  int64_t position[kMaxDims];
  int64_t rest = begin;
  for (int d = 0; d < group.ndim; ++d) {
    position[d] = rest % group.axes[d].size;
    rest /= group.axes[d].size;
  }
  Offsets at = offsets_at(group.axes, group.ndim, begin);
  const Axis& inner = group.axes[0];
  while (true) {
    int64_t n = std::min(inner.size - position[0], end - begin);
    run(at, n);
    begin += n;
    if (begin >= end) return;
    // The run ended at the end of axis 0: carry into the outer axes like an odometer.
    at.in += n * inner.in_stride;
    at.out += n * inner.out_stride;
    at.index += n * inner.index_stride;
    position[0] += n;
    for (int d = 0; d + 1 < group.ndim && position[d] == group.axes[d].size; ++d) {
      const Axis& axis = group.axes[d];
      const Axis& outer = group.axes[d + 1];
      at.in += outer.in_stride - axis.size * axis.in_stride;
      at.out += outer.out_stride - axis.size * axis.out_stride;
      at.index += outer.index_stride - axis.size * axis.index_stride;
      position[d] = 0;
      ++position[d + 1];
    }
  }
}

// The elements of x, typed.
template <typename T>
const T* input_data(const Tensor& x) {
  return static_cast<const T*>(x.raw_data());
}

// ---- the engine ----

// Scheduling constants. They depend on nothing but the shapes, so the blocks a reduction is cut
// into, and hence its result, are the same for any thread count.
constexpr int64_t kLanes = 16;          // independent accumulators along a contiguous run
constexpr int64_t kTile = 8192;         // outputs accumulated side by side in an outer reduction
constexpr int64_t kRowGroup = 4;        // reduced positions folded into a tile at once
constexpr int64_t kTaskWork = 32768;    // input elements a parallel task should at least read
constexpr int64_t kManyUnits = 16;      // enough independent output units to share among threads
constexpr int64_t kMaxBlocks = 32;      // at most this many partial results per output
constexpr int64_t kMinBlockLength = 512;  // reduced positions per block at least (merges are slow)

// Folds n elements starting at p (stride `stride`, logical index `index` + i * index_stride) into
// acc. A contiguous run folds into kLanes independent accumulators, merged in lane order at the
// end: the lanes vectorise, and each lane's sum grows n / kLanes times slower than one sum.
// A reducer may fold contiguous runs faster itself: r.fold_contiguous(acc, p, n, index, index_stride).
// NOTE: `omp simd` is what makes GCC vectorise the lanes of compare-and-select steps (max).
template <typename R>
void fold_run(const R& r, typename R::Acc& acc, const typename R::In* p, int64_t stride, int64_t n, int64_t index,
              int64_t index_stride) {
  using Acc = typename R::Acc;
  if constexpr (requires { r.fold_contiguous(acc, p, n, index, index_stride); }) {
    if (stride == 1 && n >= 2 * kLanes) {
      r.fold_contiguous(acc, p, n, index, index_stride);
      return;
    }
  }
  if (stride == 1 && n >= 2 * kLanes) {
    Acc lanes[kLanes];
    for (Acc& lane : lanes) lane = r.identity();
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes) {
#pragma omp simd
      for (int64_t k = 0; k < kLanes; ++k) r.step(lanes[k], p[i + k], index + (i + k) * index_stride);
    }
    for (const Acc& lane : lanes) r.merge(acc, lane);
    for (; i < n; ++i) r.step(acc, p[i], index + i * index_stride);
    return;
  }
  for (int64_t i = 0; i < n; ++i) r.step(acc, p[i * stride], index + i * index_stride);
}

// Folds `rows` reduced positions into a tile of outputs: acc[j] takes p[q * row_stride + j * stride]
// for q = 0, 1, ... in order, at logical index `index` + q * index_step. On contiguous tiles
// kRowGroup rows go at once, so each accumulator is loaded and stored once per group rather than
// once per row; the order of the steps, and so the result, does not change.
template <typename R>
void fold_tile(const R& r, typename R::Acc* acc, const typename R::In* p, int64_t stride, int64_t width,
               int64_t rows, int64_t row_stride, int64_t index, int64_t index_step) {
  using Acc = typename R::Acc;
  int64_t q = 0;
  if (stride == 1) {
    for (; q + kRowGroup <= rows; q += kRowGroup) {
      const typename R::In* group = p + q * row_stride;
#pragma omp simd
      for (int64_t j = 0; j < width; ++j) {
        Acc a = acc[j];
        for (int64_t g = 0; g < kRowGroup; ++g) r.step(a, group[g * row_stride + j], index + (q + g) * index_step);
        acc[j] = a;
      }
    }
  }
  for (; q < rows; ++q) {
    const typename R::In* row = p + q * row_stride;
    const int64_t at = index + q * index_step;
    if (stride == 1) {
#pragma omp simd
      for (int64_t j = 0; j < width; ++j) r.step(acc[j], row[j], at);
    } else {
#pragma omp simd
      for (int64_t j = 0; j < width; ++j) r.step(acc[j], row[j * stride], at);
    }
  }
}

// Output units of an outer reduction: (row of the kept axes beyond axis 0) x (tile of axis 0).
// A tile is wide so that each reduced position is read as one long contiguous stretch.
struct TileGrid {
  int64_t width;  // axis 0's size
  int64_t tiles_per_row;
  int64_t units;
  explicit TileGrid(const AxisGroup& kept)
      : width(kept.axes[0].size),
        tiles_per_row((width + kTile - 1) / kTile),
        units(kept.numel / std::max<int64_t>(width, 1) * tiles_per_row) {}
  int64_t tile_width() const { return std::min(kTile, width); }
};

// The accumulators of one tile of an outer reduction (none for inner ones), made once per task.
// NOTE: not a std::vector, whose bool specialisation has no data().
template <typename Acc>
std::unique_ptr<Acc[]> tile_accumulators(const ReductionPlan& plan) {
  if (plan.reduces_innermost) return nullptr;
  return std::make_unique<Acc[]>(static_cast<size_t>(TileGrid(plan.kept).tile_width()));
}

// Folds reduced positions [reduced_begin, reduced_end) into the outputs of one unit and hands
// each result to store(flat output index, output offset, acc). Inner plans: the unit is output
// `unit`; outer plans: a tile of the grid, accumulated in `tile`.
template <typename R, typename Store>
void reduce_unit(const ReductionPlan& plan, const R& r, const typename R::In* x, int64_t unit,
                 int64_t reduced_begin, int64_t reduced_end, typename R::Acc* tile, const Store& store) {
  using Acc = typename R::Acc;
  const Axis& run_axis = plan.reduced.axes[0];
  if (plan.reduces_innermost) {
    Offsets out = offsets_at(plan.kept.axes, plan.kept.ndim, unit);
    Acc acc = r.identity();
    for_each_run(plan.reduced, reduced_begin, reduced_end, [&](const Offsets& at, int64_t n) {
      fold_run(r, acc, x + out.in + at.in, run_axis.in_stride, n, at.index, run_axis.index_stride);
    });
    store(unit, out.out, acc);
    return;
  }
  TileGrid grid(plan.kept);
  const Axis& column = plan.kept.axes[0];
  int64_t row = unit / grid.tiles_per_row;
  int64_t first = unit % grid.tiles_per_row * kTile;
  int64_t width = std::min(kTile, grid.width - first);
  Offsets base = offsets_at(plan.kept.axes + 1, plan.kept.ndim - 1, row);
  const typename R::In* origin = x + base.in + first * column.in_stride;
  for (int64_t j = 0; j < width; ++j) tile[j] = r.identity();
  for_each_run(plan.reduced, reduced_begin, reduced_end, [&](const Offsets& at, int64_t n) {
    fold_tile(r, tile, origin + at.in, column.in_stride, width, n, run_axis.in_stride, at.index,
              run_axis.index_stride);
  });
  for (int64_t j = 0; j < width; ++j) {
    store(row * grid.width + first + j, base.out + (first + j) * column.out_stride, tile[j]);
  }
}

// Runs reducer r over the plan: r.write(output offset, acc) once per output element.
// Many outputs: threads share the outputs and each folds its whole reduced range. Few outputs
// and much to fold: the reduced range is cut into fixed blocks folded in parallel, and each
// output merges its block partials in block order.
template <typename R>
void run_reduction(const ReductionPlan& plan, const typename R::In* x, const R& r) {
  using Acc = typename R::Acc;
  const int64_t outputs = plan.kept.numel;
  const int64_t reduced = plan.reduced.numel;
  if (outputs == 0) return;
  const int64_t units = plan.reduces_innermost ? outputs : TileGrid(plan.kept).units;
  const int64_t work = outputs * reduced;
  const int64_t blocks = std::min({kMaxBlocks, reduced / kMinBlockLength, work / kTaskWork});

  if (units >= kManyUnits || blocks <= 1) {
    int64_t work_per_unit = std::max<int64_t>(work / units, 1);
    parallel_for(0, units, std::max<int64_t>(kTaskWork / work_per_unit, 1), [&](int64_t begin, int64_t end) {
      auto tile = tile_accumulators<Acc>(plan);
      for (int64_t unit = begin; unit < end; ++unit) {
        reduce_unit(plan, r, x, unit, 0, reduced, tile.get(),
                    [&](int64_t, int64_t offset, const Acc& acc) { r.write(offset, acc); });
      }
    });
    return;
  }
  auto partials = std::make_unique<Acc[]>(static_cast<size_t>(blocks * outputs));
  parallel_for(0, blocks, 1, [&](int64_t begin, int64_t end) {
    auto tile = tile_accumulators<Acc>(plan);
    for (int64_t block = begin; block < end; ++block) {
      Acc* partial = partials.get() + block * outputs;
      for (int64_t unit = 0; unit < units; ++unit) {
        reduce_unit(plan, r, x, unit, reduced * block / blocks, reduced * (block + 1) / blocks, tile.get(),
                    [&](int64_t flat, int64_t, const Acc& acc) { partial[flat] = acc; });
      }
    }
  });
  // The kept group's flat order is the order reduce_unit numbered the partials in.
  const Axis& inner = plan.kept.axes[0];
  int64_t flat = 0;
  for_each_run(plan.kept, 0, outputs, [&](const Offsets& at, int64_t n) {
    for (int64_t k = 0; k < n; ++k, ++flat) {
      Acc acc = partials[flat];
      for (int64_t block = 1; block < blocks; ++block) r.merge(acc, partials[block * outputs + flat]);
      r.write(at.out + k * inner.out_stride, acc);
    }
  });
}

// ---- reducers ----

// A reducer folds In elements into an Acc and writes the result: identity(), step(acc, value,
// index), merge(acc, later partial), write(output offset, acc).

// Folds map(value) with an associative `combine`; write stores finish(acc).
template <typename In_, typename Acc_, typename Out, typename Map, typename Combine, typename Finish>
struct FoldReducer {
  using In = In_;
  using Acc = Acc_;
  Acc init;
  Map map;
  Combine combine;
  Finish finish;
  Out* out;
  Acc identity() const { return init; }
  void step(Acc& acc, In value, int64_t) const { acc = combine(acc, map(value)); }
  void merge(Acc& acc, const Acc& other) const { acc = combine(acc, other); }
  void write(int64_t offset, const Acc& acc) const { out[offset] = finish(acc); }
};

template <typename In, typename Acc, typename Out, typename Map, typename Combine, typename Finish>
FoldReducer<In, Acc, Out, Map, Combine, Finish> fold(Acc init, Map map, Combine combine, Finish finish, Out* out) {
  return {init, map, combine, finish, out};
}

template <typename T>
struct Plus {
  T operator()(T a, T b) const { return a + b; }
};
template <typename T>
struct Times {
  T operator()(T a, T b) const { return a * b; }
};
// max/min where a NaN wins, as PyTorch's reductions.
template <typename T>
struct MaxNan {
  T operator()(T a, T b) const { return (b > a || b != b) ? b : a; }
};
template <typename T>
struct MinNan {
  T operator()(T a, T b) const { return (b < a || b != b) ? b : a; }
};

template <typename T>
constexpr T lowest() {
  if constexpr (std::is_floating_point_v<T>) return -std::numeric_limits<T>::infinity();
  else return std::numeric_limits<T>::lowest();
}
template <typename T>
constexpr T highest() {
  if constexpr (std::is_floating_point_v<T>) return std::numeric_limits<T>::infinity();
  else return std::numeric_limits<T>::max();
}

template <typename Acc, typename T>
struct Cast {
  Acc operator()(T value) const { return static_cast<Acc>(value); }
};

// exp of n values in place, vectorised with SLEEF's 1-ULP exp (Shibata & Shinagawa 2020) when
// the build targets AVX-512 or AVX2; the tail goes through the same vector code, padded.
template <typename T>
void exp_in_place(T* values, int64_t n) {
#if defined(__AVX512F__) || defined(__AVX2__)
#if defined(__AVX512F__)
  constexpr int64_t kWidth = 64 / sizeof(T);
  auto exp_vector = [](T* p) {
    if constexpr (std::is_same_v<T, float>) _mm512_storeu_ps(p, Sleef_expf16_u10avx512f(_mm512_loadu_ps(p)));
    else _mm512_storeu_pd(p, Sleef_expd8_u10avx512f(_mm512_loadu_pd(p)));
  };
#else
  constexpr int64_t kWidth = 32 / sizeof(T);
  auto exp_vector = [](T* p) {
    if constexpr (std::is_same_v<T, float>) _mm256_storeu_ps(p, Sleef_expf8_u10avx2(_mm256_loadu_ps(p)));
    else _mm256_storeu_pd(p, Sleef_expd4_u10avx2(_mm256_loadu_pd(p)));
  };
#endif
  int64_t i = 0;
  for (; i + kWidth <= n; i += kWidth) exp_vector(values + i);
  if (i < n) {
    T tail[kWidth] = {};
    std::copy(values + i, values + n, tail);
    exp_vector(tail);
    std::copy(tail, tail + (n - i), values + i);
  }
#else
  for (int64_t i = 0; i < n; ++i) values[i] = std::exp(values[i]);
#endif
}

// The NaN-propagating max (kMax) or min, writing to `out`; the bare fold when out is null.
template <typename T, bool kMax>
auto extreme_fold(T* out = nullptr) {
  if constexpr (kMax) return fold<T>(lowest<T>(), Cast<T, T>{}, MaxNan<T>{}, Cast<T, T>{}, out);
  else return fold<T>(highest<T>(), Cast<T, T>{}, MinNan<T>{}, Cast<T, T>{}, out);
}
// The bare sum of T values in double.
template <typename T>
auto sum_fold() {
  return fold<T>(0.0, Cast<double, T>{}, Plus<double>{}, Cast<double, double>{}, static_cast<double*>(nullptr));
}

// The extreme value and the index of its first occurrence. A NaN is more extreme than any number
// (the first NaN wins). Ties are broken by index, not by visiting order, so lanes, blocks and
// transposed inputs all give the first occurrence. Writes values and/or indices (either may be null).
}  // namespace descent::core::reduction
