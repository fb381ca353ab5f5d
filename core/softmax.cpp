// softmax and log_softmax along one dim (declared in core/reduce.h), on the reduction engine's
// plans (core/reduction_engine.h): rows along the softmax dim, contiguous or tiled side by side.
#include <descent/core/reduce.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <descent/core/reduction_engine.h>

namespace descent::core {
namespace {

using namespace reduction;

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

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, false, "softmax"); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, true, "log_softmax"); }

}  // namespace descent::core
