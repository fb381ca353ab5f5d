// Reductions and softmax (read core/reduce.h first). Every reduction is a small "reducer" (its
// identity, a step that folds in one element, a merge of two partial results, a write of the
// final value) run by one engine over a ReductionPlan: the input's dims split into kept and
// reduced axes, size-1 dims dropped, neighbours merged, innermost (smallest stride) first.
#include <descent/core/reduce.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <type_traits>
#include <vector>

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#include <sleef.h>
#endif

#include <descent/core/parallel.h>

namespace descent::core {
namespace {

// ---- geometry ----

using DimMask = uint32_t;  // bit d set: dim d is reduced
static_assert(kMaxDims <= 32);

// Which dims `dims` names (all dims when empty), each wrapped; a dim named twice: IndexError.
DimMask reduced_mask(const Dims& sizes, const Dims& dims, const char* op) {
  int ndim = sizes.size();
  if (dims.empty()) return ndim == 0 ? 0 : (DimMask{1} << ndim) - 1;
  DimMask mask = 0;
  for (int64_t dim : dims) {
    int d = wrap_dim(dim, ndim, op);
    check<IndexError>(!(mask & (DimMask{1} << d)), "{}: dim {} appears more than once in dims {}", op, d, dims);
    mask |= DimMask{1} << d;
  }
  return ndim == 0 ? 0 : mask;  // a 0-d tensor accepts dim 0 / -1 and has nothing to reduce
}

// `sizes` with the dims in `mask` removed, or kept as size 1.
Dims shape_without(const Dims& sizes, DimMask mask, bool keepdim) {
  Dims shape;
  for (int d = 0; d < sizes.size(); ++d) {
    bool reduced = mask & (DimMask{1} << d);
    if (!reduced) shape.push_back(sizes[d]);
    else if (keepdim) shape.push_back(1);
  }
  return shape;
}

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
int64_t stride_key(int64_t stride) { return stride == 0 ? INT64_MAX : stride; }

// Orders `dims` (given outermost first) innermost first by input stride (ties keep row-major
// order), drops size-1 dims and merges neighbours that form one run in input, output and index.
AxisGroup make_group(const Axis* dims, int count) {
  AxisGroup group;
  Axis sorted[kMaxDims];
  int kept = 0;
  for (int i = count - 1; i >= 0; --i) {
    if (dims[i].size != 1) sorted[kept++] = dims[i];
  }
  for (int i = 1; i < kept; ++i) {  // insertion sort: at most 8 dims
    for (int j = i; j > 0 && stride_key(sorted[j].in_stride) < stride_key(sorted[j - 1].in_stride); --j) {
      std::swap(sorted[j], sorted[j - 1]);
    }
  }
  for (int i = 0; i < kept; ++i) {
    const Axis& axis = sorted[i];
    group.numel *= axis.size;
    if (group.ndim > 0) {
      Axis& inner = group.axes[group.ndim - 1];
      if (axis.in_stride == inner.in_stride * inner.size && axis.out_stride == inner.out_stride * inner.size &&
          axis.index_stride == inner.index_stride * inner.size) {
        inner.size *= axis.size;
        continue;
      }
    }
    group.axes[group.ndim++] = axis;
  }
  if (group.ndim == 0) group.ndim = 1;  // the single axis of size 1 (Axis's defaults)
  return group;
}

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
ReductionPlan make_plan(const Tensor& x, DimMask mask, const Dims& out_strides) {
  Axis kept[kMaxDims], reduced[kMaxDims];
  int kept_count = 0, reduced_count = 0;
  int64_t index_stride = 1;
  for (int d = x.dim() - 1; d >= 0; --d) {  // index strides: row-major over the reduced dims
    if (mask & (DimMask{1} << d)) {
      reduced[reduced_count++] = {x.sizes()[d], x.strides()[d], out_strides[d], index_stride};
      index_stride *= x.sizes()[d];
    } else {
      kept[kept_count++] = {x.sizes()[d], x.strides()[d], out_strides[d], 0};
    }
  }
  std::reverse(kept, kept + kept_count);  // make_group takes dims outermost first
  std::reverse(reduced, reduced + reduced_count);
  ReductionPlan plan{make_group(kept, kept_count), make_group(reduced, reduced_count)};
  if (plan.kept.numel == 1) {
    plan.reduces_innermost = true;  // one output: every reduced axis is a run of it
  } else if (plan.reduced.numel <= 1) {
    plan.reduces_innermost = false;  // nothing to fold: a map over the kept tile
  } else {
    plan.reduces_innermost =
        stride_key(plan.reduced.axes[0].in_stride) <= stride_key(plan.kept.axes[0].in_stride);
  }
  return plan;
}

struct Offsets {
  int64_t in = 0, out = 0, index = 0;
};

// The offsets of position `flat` (innermost first) of axes[0, ndim).
Offsets offsets_at(const Axis* axes, int ndim, int64_t flat) {
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

// The accumulator of sums: double for floating inputs (float32 sums stay accurate over millions
// of elements), int64 for integers and bool.
template <typename T>
using SumAcc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
// The result dtype of sum and prod: the floating dtype itself, else int64.
template <typename T>
using SumOut = std::conditional_t<std::is_floating_point_v<T>, T, int64_t>;

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
template <typename T, bool kMax>
struct ExtremeIndexReducer {
  using In = T;
  struct Acc {
    T value;
    int64_t index;
  };
  T* values;
  int64_t* indices;

  static bool better(T value, int64_t index, const Acc& than) {
    if constexpr (std::is_floating_point_v<T>) {
      bool nan = value != value, than_nan = than.value != than.value;
      if (nan || than_nan) return nan && (!than_nan || index < than.index);
    }
    if (value == than.value) return index < than.index;
    return kMax ? value > than.value : value < than.value;
  }
  Acc identity() const { return {kMax ? lowest<T>() : highest<T>(), INT64_MAX}; }
  void step(Acc& acc, T value, int64_t index) const {
    if (better(value, index, acc)) acc = {value, index};
  }
  void merge(Acc& acc, const Acc& other) const {
    if (better(other.value, other.index, acc)) acc = other;
  }
  // A contiguous run in two passes: its extreme value by the vectorised fold, then the first
  // position holding it (the first NaN when it is NaN), rather than comparing (value, index) pairs.
  void fold_contiguous(Acc& acc, const T* p, int64_t n, int64_t index, int64_t index_stride) const {
    auto extreme_of = extreme_fold<T, kMax>();
    T extreme = extreme_of.identity();
    fold_run(extreme_of, extreme, p, 1, n, 0, 0);
    int64_t i = 0;
    if (extreme != extreme) {
      while (p[i] == p[i]) ++i;
    } else {
      while (p[i] != extreme) ++i;
    }
    step(acc, extreme, index + i * index_stride);
  }
  void write(int64_t offset, const Acc& acc) const {
    if (values != nullptr) values[offset] = acc.value;
    if (indices != nullptr) indices[offset] = acc.index;
  }
};

// Variance by Welford's online update (Welford 1962), partials merged by the pairwise formula of
// Chan, Golub & LeVeque (1979): stable where sum(x^2) - n mean^2 would cancel. Divides the sum
// of squared deviations by max(0, n - correction), as PyTorch.
template <typename T>
struct VarianceReducer {
  using In = T;
  struct Acc {
    double count;
    double mean;
    double m2;  // sum of squared deviations from the mean
  };
  T* out;
  double correction;
  bool take_sqrt;

  Acc identity() const { return {0.0, 0.0, 0.0}; }
  void step(Acc& acc, T value, int64_t) const {
    double v = static_cast<double>(value);
    acc.count += 1.0;
    double delta = v - acc.mean;
    acc.mean += delta / acc.count;
    acc.m2 += delta * (v - acc.mean);
  }
  void merge(Acc& acc, const Acc& other) const {
    if (other.count == 0.0) return;
    if (acc.count == 0.0) {
      acc = other;
      return;
    }
    double count = acc.count + other.count;
    double delta = other.mean - acc.mean;
    acc.mean += delta * (other.count / count);
    acc.m2 += other.m2 + delta * delta * (acc.count * other.count / count);
    acc.count = count;
  }
  void write(int64_t offset, const Acc& acc) const {
    double variance = acc.m2 / std::max(0.0, acc.count - correction);
    out[offset] = static_cast<T>(take_sqrt ? std::sqrt(variance) : variance);
  }
};

// log(sum(exp(x))) in one pass: the accumulator is (m, s) with sum(exp(x)) = s * exp(m), m the
// largest value so far, rescaled when a larger one arrives (the "online softmax" normaliser of
// Milakov & Gimelshein 2018). NOTE: equal maxima add without rescaling, so runs of +inf or -inf
// never compute inf - inf; a NaN turns s into NaN, which then stays.
template <typename T>
struct LogSumExpReducer {
  using In = T;
  struct Acc {
    double max;
    double scaled_sum;
  };
  T* out;

  Acc identity() const { return {-std::numeric_limits<double>::infinity(), 0.0}; }
  void step(Acc& acc, T value, int64_t) const { merge(acc, {static_cast<double>(value), 1.0}); }
  // A contiguous run with a finite maximum m in two vectorised passes: m, then sum(exp(x - m))
  // through the vector exp, a chunk at a time.
  void fold_contiguous(Acc& acc, const T* p, int64_t n, int64_t, int64_t) const {
    T max = lowest<T>();
    fold_run(extreme_fold<T, true>(), max, p, 1, n, 0, 0);
    if (!std::isfinite(max)) {  // infinities or NaN: the careful fold, step by step
      for (int64_t i = 0; i < n; ++i) step(acc, p[i], 0);
      return;
    }
    constexpr int64_t kChunk = 256;
    T shifted[kChunk];
    double sum = 0.0;
    for (int64_t i = 0; i < n; i += kChunk) {
      int64_t m = std::min(kChunk, n - i);
      for (int64_t k = 0; k < m; ++k) shifted[k] = p[i + k] - max;
      exp_in_place(shifted, m);
      fold_run(sum_fold<T>(), sum, shifted, 1, m, 0, 0);
    }
    merge(acc, {static_cast<double>(max), sum});
  }
  void merge(Acc& acc, const Acc& other) const {
    if (other.max == acc.max) {
      acc.scaled_sum += other.scaled_sum;
    } else if (other.max < acc.max) {
      acc.scaled_sum += other.scaled_sum * std::exp(other.max - acc.max);
    } else {  // a larger maximum, or a NaN on either side
      acc.scaled_sum = acc.scaled_sum * std::exp(acc.max - other.max) + other.scaled_sum;
      acc.max = other.max;
    }
  }
  void write(int64_t offset, const Acc& acc) const {
    out[offset] = static_cast<T>(acc.max + std::log(acc.scaled_sum));
  }
};

// ---- running a reduction ----

struct Reduction {
  ReductionPlan plan;
  Tensor out;
};

// Plans the reduction of x over dims and allocates its result, of dtype out_dtype.
Reduction plan_reduction(const Tensor& x, const Dims& dims, bool keepdim, DType out_dtype, const char* op) {
  DimMask mask = reduced_mask(x.sizes(), dims, op);
  Dims out_strides = contiguous_strides(shape_without(x.sizes(), mask, true));
  for (int d = 0; d < x.dim(); ++d) {
    if (mask & (DimMask{1} << d)) out_strides[d] = 0;  // lets neighbouring reduced dims merge
  }
  Tensor out = Tensor::empty(shape_without(x.sizes(), mask, keepdim), out_dtype);
  return {make_plan(x, mask, out_strides), out};
}

// Ops without an identity (max, argmax, the inf-norm) cannot reduce an empty dim.
void check_nonempty(const Reduction& reduction, const Tensor& x, const char* op) {
  check<ValueError>(reduction.plan.reduced.numel > 0,
                    "{}: cannot reduce over a dim of size 0 (input shape {}): the op has no identity", op,
                    x.sizes());
}

template <typename T>
const T* input_data(const Tensor& x) {
  return static_cast<const T*>(x.raw_data());
}

// sum(map(x)), then finish; the shared body of sum, mean and the p-norms.
template <typename T, typename Map, typename Finish>
void run_sum(const Reduction& reduction, const Tensor& x, Map map, Finish finish) {
  using Out = SumOut<T>;
  run_reduction(reduction.plan, input_data<T>(x),
                fold<T>(SumAcc<T>{0}, map, Plus<SumAcc<T>>{}, finish, reduction.out.data<Out>()));
}

// amax/amin over dims: NaN propagates; an empty dim is an error.
template <bool kMax>
Tensor extreme(const Tensor& x, const Dims& dims, bool keepdim, const char* op) {
  Reduction reduction = plan_reduction(x, dims, keepdim, x.dtype(), op);
  check_nonempty(reduction, x, op);
  dispatch(x.dtype(), op, [&]<typename T>() {
    run_reduction(reduction.plan, input_data<T>(x), extreme_fold<T, kMax>(reduction.out.data<T>()));
  });
  return reduction.out;
}

// Values and/or indices of the extreme along `dims` (one dim, or all for a flattened index).
template <bool kMax>
std::pair<Tensor, Tensor> extreme_with_index(const Tensor& x, const Dims& dims, bool keepdim, bool want_values,
                                              const char* op) {
  Reduction reduction = plan_reduction(x, dims, keepdim, kInt64, op);
  check_nonempty(reduction, x, op);
  Tensor values = want_values ? Tensor::empty(reduction.out.sizes(), x.dtype()) : Tensor();
  auto body = [&]<typename T>() {
    ExtremeIndexReducer<T, kMax> r{want_values ? values.data<T>() : nullptr, reduction.out.data<int64_t>()};
    run_reduction(reduction.plan, input_data<T>(x), r);
  };
  // NOTE: PyTorch 1.13 has argmax/argmin for numbers only, but max/min along a dim for bool too.
  if (want_values) dispatch(x.dtype(), op, body);
  else dispatch_numeric(x.dtype(), op, body);
  return {values, reduction.out};
}

Tensor variance(const Tensor& x, const Dims& dims, int64_t correction, bool keepdim, bool take_sqrt,
                const char* op) {
  Reduction reduction = plan_reduction(x, dims, keepdim, x.dtype(), op);
  dispatch_floating(x.dtype(), op, [&]<typename T>() {
    VarianceReducer<T> r{reduction.out.data<T>(), static_cast<double>(correction), take_sqrt};
    run_reduction(reduction.plan, input_data<T>(x), r);
  });
  return reduction.out;
}

// all/any of any dtype: nonzero (NaN included) is true.
template <bool kAll>
Tensor logical_reduction(const Tensor& x, const Dims& dims, bool keepdim, const char* op) {
  Reduction reduction = plan_reduction(x, dims, keepdim, kBool, op);
  dispatch(x.dtype(), op, [&]<typename T>() {
    auto truth = [](T v) { return v != T(0); };
    auto combine = [](bool a, bool b) { return kAll ? a && b : a || b; };
    run_reduction(reduction.plan, input_data<T>(x),
                  fold<T>(kAll, truth, combine, Cast<bool, bool>{}, reduction.out.data<bool>()));
  });
  return reduction.out;
}

// ---- softmax ----

// softmax(x)_i = exp(x_i - m) / sum_j exp(x_j - m) with m = max_j x_j, and
// log_softmax(x)_i = (x_i - m) - log(sum_j exp(x_j - m)): subtracting m keeps exp from overflowing.
// A row of all -inf (m = -inf), or with +inf or NaN, gives NaN, as in PyTorch.
// One contiguous row of n; `in` and `out` do not overlap.
template <typename T>
void softmax_row(const T* in, T* out, int64_t n, bool log) {
  T max = lowest<T>();
  fold_run(extreme_fold<T, true>(), max, in, 1, n, 0, 0);
  for (int64_t i = 0; i < n; ++i) out[i] = in[i] - max;
  exp_in_place(out, n);
  double sum = 0.0;
  fold_run(sum_fold<T>(), sum, out, 1, n, 0, 0);
  if (log) {
    T log_sum = static_cast<T>(std::log(sum));
    for (int64_t i = 0; i < n; ++i) out[i] = (in[i] - max) - log_sum;
  } else {
    T scale = static_cast<T>(1.0 / sum);
    for (int64_t i = 0; i < n; ++i) out[i] *= scale;
  }
}

// Scratch of softmax_tile for tiles of up to `width` columns, made once per parallel task.
template <typename T>
struct SoftmaxTileScratch {
  explicit SoftmaxTileScratch(int64_t width)
      : max(static_cast<size_t>(width)), sum(static_cast<size_t>(width)), shifted(static_cast<size_t>(width)),
        factor(static_cast<size_t>(width)) {}
  std::vector<T> max;
  std::vector<double> sum;
  std::vector<T> shifted;  // x - max of one row of the tile, then its exp
  std::vector<T> factor;   // log(sum) for log_softmax, 1 / sum for softmax
};

// The same over a tile of `width` rows that lie side by side in memory (element j of the tile
// at stride `column` from j - 1), all n of them along the softmax dim at stride `along`.
template <typename T>
void softmax_tile(const T* in, const Axis& column, const Axis& along, T* out, int64_t width, bool log,
                  SoftmaxTileScratch<T>& scratch) {
  T* max = scratch.max.data();
  double* sum = scratch.sum.data();
  T* shifted = scratch.shifted.data();
  T* factor = scratch.factor.data();
  std::fill(max, max + width, lowest<T>());
  std::fill(sum, sum + width, 0.0);
  fold_tile(extreme_fold<T, true>(), max, in, column.in_stride, width, along.size, along.in_stride, 0, 0);
  for (int64_t d = 0; d < along.size; ++d) {
    const T* row_in = in + d * along.in_stride;
    T* row_out = out + d * along.out_stride;
    for (int64_t j = 0; j < width; ++j) shifted[j] = row_in[j * column.in_stride] - max[j];
    exp_in_place(shifted, width);
    fold_tile(sum_fold<T>(), sum, shifted, 1, width, 1, 0, 0, 0);
    if (!log) {
      for (int64_t j = 0; j < width; ++j) row_out[j * column.out_stride] = shifted[j];
    }
  }
  for (int64_t j = 0; j < width; ++j) factor[j] = static_cast<T>(log ? std::log(sum[j]) : 1.0 / sum[j]);
  for (int64_t d = 0; d < along.size; ++d) {
    const T* row_in = in + d * along.in_stride;
    T* row_out = out + d * along.out_stride;
    for (int64_t j = 0; j < width; ++j) {
      T& y = row_out[j * column.out_stride];
      y = log ? (row_in[j * column.in_stride] - max[j]) - factor[j] : y * factor[j];
    }
  }
}

Tensor softmax_impl(const Tensor& x, int64_t dim, bool log, const char* op) {
  int d = wrap_dim(dim, x.dim(), op);
  Tensor out = Tensor::empty(x.sizes(), x.dtype());
  ReductionPlan plan = make_plan(x, x.dim() == 0 ? 0 : DimMask{1} << d, contiguous_strides(x.sizes()));
  dispatch_floating(x.dtype(), op, [&]<typename T>() {
    const T* in = input_data<T>(x);
    T* result = out.data<T>();
    const Axis& along = plan.reduced.axes[0];  // the softmax dim (one axis, maybe of size 1)
    const int64_t n = along.size;
    if (plan.kept.numel == 0 || n == 0) return;
    if (plan.reduces_innermost) {
      const bool contiguous = along.in_stride == 1 && along.out_stride == 1;
      parallel_for(0, plan.kept.numel, std::max<int64_t>(kTaskWork / n, 1), [&](int64_t begin, int64_t end) {
        std::vector<T> buffer(contiguous ? 0 : 2 * n);  // strided rows: gathered, computed, scattered
        for_each_run(plan.kept, begin, end, [&](const Offsets& at, int64_t count) {
          for (int64_t k = 0; k < count; ++k) {
            const T* row_in = in + at.in + k * plan.kept.axes[0].in_stride;
            T* row_out = result + at.out + k * plan.kept.axes[0].out_stride;
            if (contiguous) {
              softmax_row(row_in, row_out, n, log);
              continue;
            }
            for (int64_t i = 0; i < n; ++i) buffer[i] = row_in[i * along.in_stride];
            softmax_row(buffer.data(), buffer.data() + n, n, log);
            for (int64_t i = 0; i < n; ++i) row_out[i * along.out_stride] = buffer[n + i];
          }
        });
      });
      return;
    }
    TileGrid grid(plan.kept);
    const Axis& column = plan.kept.axes[0];
    parallel_for(0, grid.units, std::max<int64_t>(kTaskWork / (n * grid.tile_width()), 1),
                 [&](int64_t begin, int64_t end) {
                   SoftmaxTileScratch<T> scratch(grid.tile_width());
                   for (int64_t unit = begin; unit < end; ++unit) {
                     int64_t first = unit % grid.tiles_per_row * kTile;
                     Offsets base = offsets_at(plan.kept.axes + 1, plan.kept.ndim - 1, unit / grid.tiles_per_row);
                     softmax_tile(in + base.in + first * column.in_stride, column, along,
                                  result + base.out + first * column.out_stride, std::min(kTile, grid.width - first),
                                  log, scratch);
                   }
                 });
  });
  return out;
}

}  // namespace

Dims reduced_shape(const Dims& sizes, const Dims& dims, bool keepdim, const char* op) {
  return shape_without(sizes, reduced_mask(sizes, dims, op), keepdim);
}

Tensor sum(const Tensor& x, const Dims& dims, bool keepdim) {
  Reduction reduction = plan_reduction(x, dims, keepdim, is_floating(x.dtype()) ? x.dtype() : kInt64, "sum");
  dispatch(x.dtype(), "sum", [&]<typename T>() {
    run_sum<T>(reduction, x, Cast<SumAcc<T>, T>{}, Cast<SumOut<T>, SumAcc<T>>{});
  });
  return reduction.out;
}

Tensor mean(const Tensor& x, const Dims& dims, bool keepdim) {
  Reduction reduction = plan_reduction(x, dims, keepdim, x.dtype(), "mean");
  // NOTE: an empty reduction gives 0 / 0 = NaN, as PyTorch.
  const double count = static_cast<double>(reduction.plan.reduced.numel);
  dispatch_floating(x.dtype(), "mean", [&]<typename T>() {
    run_sum<T>(reduction, x, Cast<double, T>{}, [count](double total) { return static_cast<T>(total / count); });
  });
  return reduction.out;
}

Tensor prod(const Tensor& x, const Dims& dims, bool keepdim) {
  Reduction reduction = plan_reduction(x, dims, keepdim, is_floating(x.dtype()) ? x.dtype() : kInt64, "prod");
  dispatch(x.dtype(), "prod", [&]<typename T>() {
    using Acc = SumAcc<T>;
    run_reduction(reduction.plan, input_data<T>(x),
                  fold<T>(Acc{1}, Cast<Acc, T>{}, Times<Acc>{}, Cast<SumOut<T>, Acc>{},
                          reduction.out.data<SumOut<T>>()));
  });
  return reduction.out;
}

Tensor amax(const Tensor& x, const Dims& dims, bool keepdim) { return extreme<true>(x, dims, keepdim, "amax"); }
Tensor amin(const Tensor& x, const Dims& dims, bool keepdim) { return extreme<false>(x, dims, keepdim, "amin"); }
Tensor max(const Tensor& x) { return extreme<true>(x, {}, false, "max"); }
Tensor min(const Tensor& x) { return extreme<false>(x, {}, false, "min"); }

std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim) {
  return extreme_with_index<true>(x, {dim}, keepdim, true, "max");
}
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim) {
  return extreme_with_index<false>(x, {dim}, keepdim, true, "min");
}
Tensor argmax(const Tensor& x) { return extreme_with_index<true>(x, {}, false, false, "argmax").second; }
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  return extreme_with_index<true>(x, {dim}, keepdim, false, "argmax").second;
}
Tensor argmin(const Tensor& x) { return extreme_with_index<false>(x, {}, false, false, "argmin").second; }
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim) {
  return extreme_with_index<false>(x, {dim}, keepdim, false, "argmin").second;
}

Tensor var(const Tensor& x, const Dims& dims, int64_t correction, bool keepdim) {
  return variance(x, dims, correction, keepdim, false, "var");
}
Tensor std(const Tensor& x, const Dims& dims, int64_t correction, bool keepdim) {
  return variance(x, dims, correction, keepdim, true, "std");
}

// The vector p-norm (sum |x|^p)^(1/p), as torch.linalg.vector_norm: p = inf is max |x|,
// p = -inf min |x|, p = 0 the count of nonzeros; p = 1 and 2 skip the pow calls.
Tensor norm(const Tensor& x, double p, const Dims& dims, bool keepdim) {
  Reduction reduction = plan_reduction(x, dims, keepdim, x.dtype(), "norm");
  if (std::isinf(p)) {
    check<ValueError>(reduction.plan.reduced.numel > 0,
                      "norm: cannot compute the {} norm over a dim of size 0 (input shape {}): it has no identity",
                      p, x.sizes());
  }
  dispatch_floating(x.dtype(), "norm", [&]<typename T>() {
    auto to_t = [](double total) { return static_cast<T>(total); };
    auto magnitude = [](T v) { return std::abs(static_cast<double>(v)); };
    const T* data = input_data<T>(x);
    if (p == INFINITY || p == -INFINITY) {
      auto run = [&](auto combine, double init) {
        run_reduction(reduction.plan, data, fold<T>(init, magnitude, combine, to_t, reduction.out.data<T>()));
      };
      if (p > 0) run(MaxNan<double>{}, 0.0);
      else run(MinNan<double>{}, INFINITY);
    } else if (p == 0.0) {
      run_sum<T>(reduction, x, [](T v) { return v != T(0) ? 1.0 : 0.0; }, to_t);
    } else if (p == 1.0) {
      run_sum<T>(reduction, x, magnitude, to_t);
    } else if (p == 2.0) {
      run_sum<T>(reduction, x, [](T v) { return static_cast<double>(v) * static_cast<double>(v); },
                 [](double total) { return static_cast<T>(std::sqrt(total)); });
    } else {
      run_sum<T>(reduction, x, [p](T v) { return std::pow(std::abs(static_cast<double>(v)), p); },
                 [p](double total) { return static_cast<T>(std::pow(total, 1.0 / p)); });
    }
  });
  return reduction.out;
}

Tensor logsumexp(const Tensor& x, const Dims& dims, bool keepdim) {
  Reduction reduction = plan_reduction(x, dims, keepdim, x.dtype(), "logsumexp");
  dispatch_floating(x.dtype(), "logsumexp", [&]<typename T>() {
    run_reduction(reduction.plan, input_data<T>(x), LogSumExpReducer<T>{reduction.out.data<T>()});
  });
  return reduction.out;
}

Tensor all(const Tensor& x, const Dims& dims, bool keepdim) { return logical_reduction<true>(x, dims, keepdim, "all"); }
Tensor any(const Tensor& x, const Dims& dims, bool keepdim) { return logical_reduction<false>(x, dims, keepdim, "any"); }

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, false, "softmax"); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, true, "log_softmax"); }

}  // namespace descent::core
