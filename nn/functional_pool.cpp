// max_pool2d, avg_pool2d and adaptive_avg_pool2d. Every pooling is a linear map of the input
// once its windows (and, for max pooling, its argmax indices) are fixed, so each records one
// LinearMapBackward whose backward is the map's adjoint, itself recorded the same way: the
// derivatives of any order are exact (max pooling's second derivative gathers at the indices,
// as PyTorch's). Shapes: P planes (N C, or C unbatched), H x W input, OH x OW output.
#include <descent/nn/functional_pool.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <descent/autograd/ops.h>
#include <descent/autograd/record.h>
#include <descent/core/error.h>
#include <descent/core/parallel.h>

namespace descent::nn::functional {

using autograd::Node;
using autograd::record;

namespace {

// The planes of a pooling: the input and output shapes (leading dims kept, last two pooled).
struct Planes {
  Dims input_shape, output_shape;
  int64_t count = 0, in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int64_t in_area() const { return in_h * in_w; }
  int64_t out_area() const { return out_h * out_w; }
};

Planes make_planes(const Tensor& input, int64_t out_h, int64_t out_w) {
  Planes p;
  p.input_shape = input.sizes();
  p.output_shape = input.sizes();
  p.output_shape[input.dim() - 2] = out_h;
  p.output_shape[input.dim() - 1] = out_w;
  p.in_h = input.size(-2);
  p.in_w = input.size(-1);
  p.out_h = out_h;
  p.out_w = out_w;
  p.count = p.in_area() == 0 ? 0 : input.numel() / p.in_area();
  return p;
}

// Runs body(plane) over the planes on threads, about kElementwiseGrain touched elements a task.
template <typename Body>
void for_each_plane(const Planes& p, int64_t work_per_plane, const Body& body) {
  int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(work_per_plane, 1));
  parallel_for(0, p.count, grain, [&](int64_t first, int64_t end) {
    for (int64_t plane = first; plane < end; ++plane) body(plane);
  });
}

// A linear map of one tensor and its adjoint, as graph-free kernels.
struct LinearMap {
  virtual ~LinearMap() = default;
  virtual Tensor forward(const Tensor& x) const = 0;
  virtual Tensor adjoint(const Tensor& y) const = 0;
  virtual std::string name(bool adjoint) const = 0;
};

Tensor apply_linear(const Tensor& x, const std::shared_ptr<const LinearMap>& map, bool adjoint);

// The backward of y = L x (or y = L* x) is L* g (or L g), recorded again for higher orders.
// Holds no tensor of the graph: the map's indices are constants.
struct LinearMapBackward : Node {
  std::shared_ptr<const LinearMap> map;
  bool adjoint = false;
  // NOTE: record() may ask for the name before the forward has set `map`.
  std::string name() const override { return map ? map->name(adjoint) : "PoolingBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override { return {apply_linear(grads[0], map, !adjoint)}; }
};

Tensor apply_linear(const Tensor& x, const std::shared_ptr<const LinearMap>& map, bool adjoint) {
  Tensor out = adjoint ? map->adjoint(x) : map->forward(x);
  if (auto node = record<LinearMapBackward>(out, {x})) {
    node->map = map;
    node->adjoint = adjoint;
  }
  return out;
}

// ---- max pooling: gather at the argmax indices, and its adjoint, scatter-add ----

struct GatherMap : LinearMap {
  Planes planes;
  Tensor indices;  // int64, the output's shape: flat index in the plane
  // y[p, o] = x[p, indices[p, o]]
  Tensor forward(const Tensor& x) const override {
    Tensor in = core::contiguous(x);
    Tensor out = core::empty(planes.output_shape, {.dtype = in.dtype()});
    const int64_t* index = indices.data<int64_t>();
    dispatch_floating(in.dtype(), "max_pool2d", [&]<typename T>() {
      const T* src = in.data<T>();
      T* dst = out.data<T>();
      for_each_plane(planes, planes.out_area(), [&](int64_t p) {
        for (int64_t o = 0; o < planes.out_area(); ++o) {
          int64_t at = p * planes.out_area() + o;
          dst[at] = src[p * planes.in_area() + index[at]];
        }
      });
    });
    return out;
  }
  // x[p, indices[p, o]] += y[p, o]
  Tensor adjoint(const Tensor& y) const override {
    Tensor grad = core::contiguous(y);
    Tensor out = core::zeros(planes.input_shape, {.dtype = grad.dtype()});
    const int64_t* index = indices.data<int64_t>();
    dispatch_floating(grad.dtype(), "max_pool2d backward", [&]<typename T>() {
      const T* src = grad.data<T>();
      T* dst = out.data<T>();
      for_each_plane(planes, planes.out_area(), [&](int64_t p) {
        for (int64_t o = 0; o < planes.out_area(); ++o) {
          int64_t at = p * planes.out_area() + o;
          dst[p * planes.in_area() + index[at]] += src[at];
        }
      });
    });
    return out;
  }
  std::string name(bool adjoint) const override { return adjoint ? "MaxPool2dBackwardBackward" : "MaxPool2dBackward"; }
};

// ---- window averages (avg_pool2d, adaptive_avg_pool2d) and the adjoint, spreading back ----

// The windows along one axis: output i averages input [start[i], end[i]) and its divisor has
// the factor extent[i] (the clipped length, or the padded one with count_include_pad).
struct AxisWindows {
  std::vector<int64_t> start, end, extent;
};

struct WindowAverageMap : LinearMap {
  Planes planes;
  AxisWindows rows, cols;
  std::optional<int64_t> divisor;  // avg_pool2d's divisor_override: replaces every window's extent
  const char* op = "";

  template <typename T, bool spread>
  void run(const T* src, T* dst) const {
    for_each_plane(planes, planes.out_area() * 4, [&](int64_t p) {
      const int64_t in_base = p * planes.in_area(), out_base = p * planes.out_area();
      for (int64_t oh = 0; oh < planes.out_h; ++oh) {
        for (int64_t ow = 0; ow < planes.out_w; ++ow) {
          const T scale = T(1) / static_cast<T>(divisor ? *divisor : rows.extent[oh] * cols.extent[ow]);
          const int64_t o = out_base + oh * planes.out_w + ow;
          T total = 0;
          for (int64_t ih = rows.start[oh]; ih < rows.end[oh]; ++ih) {
            for (int64_t iw = cols.start[ow]; iw < cols.end[ow]; ++iw) {
              if constexpr (spread) {
                dst[in_base + ih * planes.in_w + iw] += src[o] * scale;
              } else {
                total += src[in_base + ih * planes.in_w + iw];
              }
            }
          }
          if constexpr (!spread) dst[o] = total * scale;
        }
      }
    });
  }
  Tensor forward(const Tensor& x) const override {
    Tensor in = core::contiguous(x);
    Tensor out = core::empty(planes.output_shape, {.dtype = in.dtype()});
    dispatch_floating(in.dtype(), op, [&]<typename T>() { run<T, false>(in.data<T>(), out.data<T>()); });
    return out;
  }
  Tensor adjoint(const Tensor& y) const override {
    Tensor grad = core::contiguous(y);
    Tensor out = core::zeros(planes.input_shape, {.dtype = grad.dtype()});
    dispatch_floating(grad.dtype(), op, [&]<typename T>() { run<T, true>(grad.data<T>(), out.data<T>()); });
    return out;
  }
  std::string name(bool adjoint) const override {
    std::string base = std::string(op) == "adaptive_avg_pool2d" ? "AdaptiveAvgPool2d" : "AvgPool2d";
    return base + (adjoint ? "BackwardBackward" : "Backward");
  }
};

// ---- sizes and checks ----

void check_pool_input(const Tensor& input, const char* op) {
  check<ShapeError>(input.dim() == 3 || input.dim() == 4, "{}: input {} should be [N, C, H, W] or [C, H, W]", op,
                    input.sizes());
  check<DTypeError>(input.is_floating_point(), "{}: input must be floating, not {}", op, input.dtype());
}

// PyTorch's pooling output size: floor (or ceil) of (in + 2 pad - span) / stride, plus one; with
// ceil_mode a last window that would start in the trailing padding is dropped.
int64_t pooled_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation, bool ceil_mode,
                    const char* op, const Dims& shape) {
  check<ValueError>(kernel >= 1 && stride >= 1 && dilation >= 1 && pad >= 0,
                    "{}: kernel {}, stride {} and dilation {} must be >= 1, padding {} >= 0", op, kernel, stride,
                    dilation, pad);
  const int64_t span = dilation * (kernel - 1) + 1;
  check<ValueError>(pad <= span / 2, "{}: padding {} should be at most half the kernel size {}", op, pad, span);
  int64_t numerator = in + 2 * pad - span + (ceil_mode ? stride - 1 : 0);
  check<ShapeError>(numerator >= 0, "{}: input {} is smaller than the kernel {} (padding {})", op, shape, kernel, pad);
  int64_t out = numerator / stride + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

AxisWindows pool_windows(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t pad, bool count_include_pad) {
  AxisWindows w;
  for (int64_t i = 0; i < out; ++i) {
    int64_t start = i * stride - pad;
    int64_t end = std::min(start + kernel, in + pad);
    int64_t padded = end - start;
    start = std::max<int64_t>(start, 0);
    end = std::min(end, in);
    w.start.push_back(start);
    w.end.push_back(end);
    w.extent.push_back(count_include_pad ? padded : end - start);
  }
  return w;
}

AxisWindows adaptive_windows(int64_t in, int64_t out) {
  AxisWindows w;
  for (int64_t i = 0; i < out; ++i) {
    int64_t start = i * in / out;
    int64_t end = ((i + 1) * in + out - 1) / out;
    w.start.push_back(start);
    w.end.push_back(end);
    w.extent.push_back(end - start);
  }
  return w;
}

// The kernel taps t in [first, end) of one window along one axis whose input position
// origin + t * dilation lies inside [0, in).
struct Taps {
  int64_t first, end;
};
Taps taps_inside(int64_t origin, int64_t kernel, int64_t dilation, int64_t in) {
  auto ceil_div = [](int64_t a, int64_t b) { return (a + b - 1) / b; };  // a >= 0, b > 0
  return {origin >= 0 ? 0 : ceil_div(-origin, dilation), std::min(kernel, ceil_div(in - origin, dilation))};
}

// The argmax of one window, as a flat index in its plane: the taps in row-major order, the first
// maximum kept and a NaN taking over (as in PyTorch).
template <typename T>
int64_t window_argmax(const T* plane, int64_t in_w, int64_t row_origin, Taps rows, int64_t col_origin, Taps cols,
                      Size2 dilation) {
  int64_t best_index = (row_origin + rows.first * dilation.h) * in_w + col_origin + cols.first * dilation.w;
  T best = plane[best_index];
  for (int64_t i = rows.first; i < rows.end; ++i) {
    const int64_t row = (row_origin + i * dilation.h) * in_w + col_origin;
    for (int64_t j = cols.first; j < cols.end; ++j) {
      const int64_t at = row + j * dilation.w;
      const T v = plane[at];
      const bool take = (v > best) | (v != v);  // v != v: NaN
      best = take ? v : best;
      best_index = take ? at : best_index;
    }
  }
  return best_index;
}

// One tap of the search over the interior columns: for ow in [first, end), the larger of best[ow]
// and tap[ow * stride] (a NaN wins) and its flat index tap_offset + ow * stride into index[ow].
// NOTE: __restrict and selects (no branch) let the compiler vectorise this loop; it is most of
// max_pool2d's time.
template <typename T>
void max_tap(const T* __restrict tap, int64_t tap_offset, int64_t stride, T* __restrict best,
             int64_t* __restrict index, int64_t first, int64_t end) {
  for (int64_t ow = first; ow < end; ++ow) {
    const T v = tap[ow * stride];
    const T b = best[ow];
    const bool take = (v > b) | (v != v);  // v != v: NaN
    best[ow] = take ? v : b;
    index[ow] = take ? tap_offset + ow * stride : index[ow];
  }
}

// The argmax indices of every window. Every window holds at least one input element (pooled_size
// keeps the padding under half the kernel and drops a last window that would start in the
// trailing padding).
// NOTE: speed. One window at a time is a chain of dependent compare-selects (the max so far), a
// few elements long; so the output columns whose windows lie wholly inside the input are searched
// together, tap by tap, with a running maximum per column: independent chains, which pipeline and
// vectorise. Only the few border columns go window by window.
template <typename T>
void find_argmax(const T* x, int64_t* indices, const Planes& planes, Size2 kernel, Size2 stride, Size2 pad,
                 Size2 dilation) {
  const int64_t in_h = planes.in_h, in_w = planes.in_w, out_h = planes.out_h, out_w = planes.out_w;
  std::vector<Taps> row_taps, col_taps;  // per output row and column
  for (int64_t oh = 0; oh < out_h; ++oh) {
    row_taps.push_back(taps_inside(oh * stride.h - pad.h, kernel.h, dilation.h, in_h));
  }
  for (int64_t ow = 0; ow < out_w; ++ow) {
    col_taps.push_back(taps_inside(ow * stride.w - pad.w, kernel.w, dilation.w, in_w));
  }
  // The interior columns [inner_first, inner_end): all kernel.w taps inside (a contiguous range).
  auto whole = [&](const Taps& taps) { return taps.first == 0 && taps.end == kernel.w; };
  int64_t inner_first = 0;
  while (inner_first < out_w && !whole(col_taps[inner_first])) ++inner_first;
  int64_t inner_end = inner_first;
  while (inner_end < out_w && whole(col_taps[inner_end])) ++inner_end;

  for_each_plane(planes, planes.out_area() * kernel.h * kernel.w, [&](int64_t p) {
    const T* plane = x + p * in_h * in_w;
    std::vector<T> best_values(static_cast<size_t>(out_w));
    T* best = best_values.data();
    for (int64_t oh = 0; oh < out_h; ++oh) {
      const int64_t row_origin = oh * stride.h - pad.h;
      const Taps rows = row_taps[oh];
      int64_t* index = indices + (p * out_h + oh) * out_w;
      auto border = [&](int64_t ow) {
        index[ow] = window_argmax(plane, in_w, row_origin, rows, ow * stride.w - pad.w, col_taps[ow], dilation);
      };
      for (int64_t ow = 0; ow < inner_first; ++ow) border(ow);
      for (int64_t ow = inner_end; ow < out_w; ++ow) border(ow);
      const int64_t first_row = (row_origin + rows.first * dilation.h) * in_w - pad.w;
      for (int64_t ow = inner_first; ow < inner_end; ++ow) {
        index[ow] = first_row + ow * stride.w;
        best[ow] = plane[index[ow]];
      }
      for (int64_t i = rows.first; i < rows.end; ++i) {
        for (int64_t j = 0; j < kernel.w; ++j) {
          const int64_t tap = (row_origin + i * dilation.h) * in_w - pad.w + j * dilation.w;
          max_tap(plane + tap, tap, stride.w, best, index, inner_first, inner_end);
        }
      }
    }
  });
}

}  // namespace

std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& input, Size2 kernel_size,
                                                  const MaxPool2dOptions& options) {
  const char* op = "max_pool2d";
  check_pool_input(input, op);
  Size2 stride = options.stride.value_or(kernel_size);
  int64_t out_h = pooled_size(input.size(-2), kernel_size.h, stride.h, options.padding.h, options.dilation.h,
                              options.ceil_mode, op, input.sizes());
  int64_t out_w = pooled_size(input.size(-1), kernel_size.w, stride.w, options.padding.w, options.dilation.w,
                              options.ceil_mode, op, input.sizes());
  auto map = std::make_shared<GatherMap>();
  map->planes = make_planes(input, out_h, out_w);
  map->indices = core::empty(map->planes.output_shape, {.dtype = kInt64});
  Tensor x = core::contiguous(input);
  dispatch_floating(x.dtype(), op, [&]<typename T>() {
    find_argmax<T>(x.data<T>(), map->indices.data<int64_t>(), map->planes, kernel_size, stride, options.padding,
                   options.dilation);
  });
  Tensor indices = map->indices;
  return {apply_linear(input, map, false), indices};
}

Tensor max_pool2d(const Tensor& input, Size2 kernel_size, const MaxPool2dOptions& options) {
  return max_pool2d_with_indices(input, kernel_size, options).first;
}

Tensor avg_pool2d(const Tensor& input, Size2 kernel_size, const AvgPool2dOptions& options) {
  const char* op = "avg_pool2d";
  check_pool_input(input, op);
  Size2 stride = options.stride.value_or(kernel_size);
  const Size2 pad = options.padding;
  check<ValueError>(options.divisor_override != 0, "avg_pool2d: divisor_override must not be zero");
  int64_t out_h = pooled_size(input.size(-2), kernel_size.h, stride.h, pad.h, 1, options.ceil_mode, op, input.sizes());
  int64_t out_w = pooled_size(input.size(-1), kernel_size.w, stride.w, pad.w, 1, options.ceil_mode, op, input.sizes());
  auto map = std::make_shared<WindowAverageMap>();
  map->op = op;
  map->planes = make_planes(input, out_h, out_w);
  map->rows = pool_windows(input.size(-2), out_h, kernel_size.h, stride.h, pad.h, options.count_include_pad);
  map->cols = pool_windows(input.size(-1), out_w, kernel_size.w, stride.w, pad.w, options.count_include_pad);
  map->divisor = options.divisor_override;
  return apply_linear(input, map, false);
}

Tensor adaptive_avg_pool2d(const Tensor& input, Size2 output_size) {
  const char* op = "adaptive_avg_pool2d";
  check_pool_input(input, op);
  check<ValueError>(output_size.h >= 1 && output_size.w >= 1, "{}: output size ({}, {}) must be positive", op,
                    output_size.h, output_size.w);
  check<ShapeError>(input.size(-2) >= 1 && input.size(-1) >= 1, "{}: input {} has an empty plane", op, input.sizes());
  auto map = std::make_shared<WindowAverageMap>();
  map->op = op;
  map->planes = make_planes(input, output_size.h, output_size.w);
  map->rows = adaptive_windows(input.size(-2), output_size.h);
  map->cols = adaptive_windows(input.size(-1), output_size.w);
  return apply_linear(input, map, false);
}

}  // namespace descent::nn::functional
