// conv1d and conv2d: the kernels (im2col + GEMM) and three differentiable ops that are each
// other's derivatives, so that create_graph gives derivatives of any order:
//   y  = conv(x, w) + b           (ConvolutionBackward)
//   gx = conv_input_grad(gy, w)   the adjoint in x (a transposed convolution; im2col^T = col2im)
//   gw = conv_weight_grad(x, gy)  the adjoint in w
// From <conv(x, w), gy> = <x, conv_input_grad(gy, w)> = <w, conv_weight_grad(x, gy)>, each of
// the three is bilinear and its partial derivatives are the other two.
// Shapes: N batch, C channels (Cg per group), H x W input, OH x OW output, K = Cg kH kW.
#include <descent/nn/functional_conv.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>


#include <descent/autograd/ops.h>
#include <descent/autograd/record.h>
#include <descent/core/error.h>
#include <descent/core/linalg.h>
#include <descent/core/parallel.h>

namespace descent::nn::functional {

using autograd::Node;
using autograd::record;
using autograd::SavedTensor;

namespace {

// Every size of one 2-d convolution. Padding may differ before and after ("same" with an even
// kernel); only the leading padding moves the window, the total decides the output size.
struct ConvGeometry {
  int64_t batch = 0, in_channels = 0, out_channels = 0, groups = 1;
  int64_t in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int64_t kernel_h = 0, kernel_w = 0;
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dilation_h = 1, dilation_w = 1;

  int64_t group_in() const { return in_channels / groups; }
  int64_t group_out() const { return out_channels / groups; }
  int64_t in_area() const { return in_h * in_w; }
  int64_t out_area() const { return out_h * out_w; }
  int64_t col_rows() const { return group_in() * kernel_h * kernel_w; }  // K
  // A 1x1 kernel with stride 1 and no padding reads the image itself as its column matrix.
  bool image_is_columns() const {
    return kernel_h == 1 && kernel_w == 1 && stride_h == 1 && stride_w == 1 && pad_h == 0 && pad_w == 0;
  }
  Dims input_shape() const { return {batch, in_channels, in_h, in_w}; }
  Dims weight_shape() const { return {out_channels, group_in(), kernel_h, kernel_w}; }
  Dims output_shape() const { return {batch, out_channels, out_h, out_w}; }
};

// NOTE: core::raw_gemm cuts one GEMM above core::kBlasSingleThreadWork multiply-adds into row
// blocks on our threads, and runs it on the calling thread alone inside a parallel region (see
// core/linalg.h). Splitting a single mid-size GEMM (an image of a small model's inner layer:
// 64 x 121 x 288) gains little; whole images on separate threads, each GEMM single-threaded,
// share nothing. So the batch is spread over our threads whenever that keeps the threads' shares
// even, and only a batch too small to share evenly runs image after image with each GEMM split.
// Never both.

// The number of contiguous runs of images the batch is cut into, one per thread (1: the whole
// batch on the calling thread). Images above OpenBLAS's threshold are shared only when the
// largest run is at most 5/4 of an even share (5 images on 2 threads are shared, 3 are not).
int64_t image_chunk_count(const ConvGeometry& g) {
  const int64_t chunks = std::min<int64_t>(get_num_threads(), g.batch);
  if (chunks <= 1) return 1;
  const double work = static_cast<double>(g.group_out()) * static_cast<double>(g.out_area()) *
                      static_cast<double>(g.col_rows());
  const int64_t largest = (g.batch + chunks - 1) / chunks;
  return work <= core::kBlasSingleThreadWork || 4 * chunks * largest <= 5 * g.batch ? chunks : 1;
}

// Calls body(chunk, first_image, end_image) for each of `chunks` contiguous runs of the batch,
// on parallel_for's threads (chunk 0 holds the first images).
template <typename Body>
void for_image_chunks(const ConvGeometry& g, int64_t chunks, const Body& body) {
  parallel_for(0, chunks, 1, [&](int64_t first_chunk, int64_t end_chunk) {
    for (int64_t chunk = first_chunk; chunk < end_chunk; ++chunk) {
      body(chunk, chunk * g.batch / chunks, (chunk + 1) * g.batch / chunks);
    }
  });
}

// The outputs o in [0, out) whose input position o * stride + offset lies in [0, size).
std::pair<int64_t, int64_t> valid_outputs(int64_t offset, int64_t stride, int64_t size, int64_t out) {
  auto ceil_div = [](int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); };
  int64_t lo = std::clamp<int64_t>(ceil_div(-offset, stride), 0, out);
  int64_t hi = std::clamp<int64_t>(ceil_div(size - offset, stride), lo, out);
  return {lo, hi};
}

// im2col of one group of one image: col[(c kH + i) kW + j, oh OW + ow] =
// image[c, oh sH - pH + i dH, ow sW - pW + j dW], zero outside the image. With `accumulate`
// the transpose (col2im): the column entries are added back into the image.
template <typename T, bool accumulate>
void im2col_or_back(std::conditional_t<accumulate, T*, const T*> image, std::conditional_t<accumulate, const T*, T*> col,
                    const ConvGeometry& g) {
  const int64_t ow_count = g.out_w;
  for (int64_t c = 0; c < g.group_in(); ++c) {
    auto plane = image + c * g.in_area();
    for (int64_t i = 0; i < g.kernel_h; ++i) {
      for (int64_t j = 0; j < g.kernel_w; ++j) {
        auto row = col + ((c * g.kernel_h + i) * g.kernel_w + j) * g.out_area();
        const int64_t w_offset = j * g.dilation_w - g.pad_w;
        auto [lo, hi] = valid_outputs(w_offset, g.stride_w, g.in_w, ow_count);
        for (int64_t oh = 0; oh < g.out_h; ++oh) {
          const int64_t ih = oh * g.stride_h - g.pad_h + i * g.dilation_h;
          auto dst = row + oh * ow_count;
          const bool inside = ih >= 0 && ih < g.in_h;
          if constexpr (accumulate) {
            if (!inside) continue;
            T* src_row = plane + ih * g.in_w + w_offset;
            for (int64_t ow = lo; ow < hi; ++ow) src_row[ow * g.stride_w] += dst[ow];
          } else {
            if (!inside) {
              std::fill(dst, dst + ow_count, T(0));
              continue;
            }
            const T* src_row = plane + ih * g.in_w + w_offset;
            std::fill(dst, dst + lo, T(0));
            for (int64_t ow = lo; ow < hi; ++ow) dst[ow] = src_row[ow * g.stride_w];
            std::fill(dst + hi, dst + ow_count, T(0));
          }
        }
      }
    }
  }
}

// ---- the three kernels ----

// y[n, g] = w[g] [Cg_out, K] @ col(x[n, g]) [K, OH OW] (+ b)
Tensor conv_forward_kernel(const Tensor& input, const Tensor& weight, const Tensor& bias, const ConvGeometry& g) {
  Tensor x = core::contiguous(input), w = core::contiguous(weight);
  Tensor out = core::empty(g.output_shape(), {.dtype = x.dtype()});
  Tensor b = bias.defined() ? core::contiguous(bias) : Tensor();
  dispatch_floating(x.dtype(), "conv2d", [&]<typename T>() {
    const T* x_data = x.data<T>();
    const T* w_data = w.data<T>();
    T* out_data = out.data<T>();
    for_image_chunks(g, image_chunk_count(g), [&](int64_t, int64_t first, int64_t end) {
      std::vector<T> col(g.image_is_columns() ? 0 : g.col_rows() * g.out_area());
      for (int64_t n = first; n < end; ++n) {
        T* y = out_data + n * g.out_channels * g.out_area();
        if (b.defined()) {
          for (int64_t c = 0; c < g.out_channels; ++c) std::fill_n(y + c * g.out_area(), g.out_area(), b.data<T>()[c]);
        }
        for (int64_t group = 0; group < g.groups; ++group) {
          const T* image = x_data + (n * g.in_channels + group * g.group_in()) * g.in_area();
          const T* columns = image;
          if (!g.image_is_columns()) {
            im2col_or_back<T, false>(image, col.data(), g);
            columns = col.data();
          }
          core::raw_gemm(false, false, g.group_out(), g.out_area(), g.col_rows(),
                         w_data + group * g.group_out() * g.col_rows(), columns, b.defined() ? T(1) : T(0),
                         y + group * g.group_out() * g.out_area());
        }
      }
    });
  });
  return out;
}

// gx[n, g] = col2im(w[g]^T [K, Cg_out] @ gy[n, g] [Cg_out, OH OW])
Tensor conv_input_grad_kernel(const Tensor& grad_output, const Tensor& weight, const ConvGeometry& g) {
  Tensor gy = core::contiguous(grad_output), w = core::contiguous(weight);
  Tensor gx = core::zeros(g.input_shape(), {.dtype = gy.dtype()});
  dispatch_floating(gy.dtype(), "conv2d backward", [&]<typename T>() {
    const T* gy_data = gy.data<T>();
    const T* w_data = w.data<T>();
    T* gx_data = gx.data<T>();
    for_image_chunks(g, image_chunk_count(g), [&](int64_t, int64_t first, int64_t end) {
      std::vector<T> col(g.image_is_columns() ? 0 : g.col_rows() * g.out_area());
      for (int64_t n = first; n < end; ++n) {
        for (int64_t group = 0; group < g.groups; ++group) {
          T* image = gx_data + (n * g.in_channels + group * g.group_in()) * g.in_area();
          T* columns = g.image_is_columns() ? image : col.data();
          core::raw_gemm(true, false, g.col_rows(), g.out_area(), g.group_out(),
                         w_data + group * g.group_out() * g.col_rows(),
                         gy_data + (n * g.out_channels + group * g.group_out()) * g.out_area(), T(0), columns);
          if (!g.image_is_columns()) im2col_or_back<T, true>(image, col.data(), g);
        }
      }
    });
  });
  return gx;
}

// gw[g] = sum_n gy[n, g] [Cg_out, OH OW] @ col(x[n, g])^T [OH OW, K]; the first run of images
// sums into gw, each other run into its own buffer, and the buffers are added in run order (the
// same sum whatever thread ran which run).
Tensor conv_weight_grad_kernel(const Tensor& input, const Tensor& grad_output, const ConvGeometry& g) {
  Tensor x = core::contiguous(input), gy = core::contiguous(grad_output);
  Tensor gw = core::zeros(g.weight_shape(), {.dtype = x.dtype()});
  dispatch_floating(x.dtype(), "conv2d backward", [&]<typename T>() {
    const T* x_data = x.data<T>();
    const T* gy_data = gy.data<T>();
    T* gw_data = gw.data<T>();
    const int64_t weight_size = gw.numel(), chunks = image_chunk_count(g);
    std::vector<T> partials((chunks - 1) * weight_size, T(0));
    for_image_chunks(g, chunks, [&](int64_t chunk, int64_t first, int64_t end) {
      std::vector<T> col(g.image_is_columns() ? 0 : g.col_rows() * g.out_area());
      T* sum_into = chunk == 0 ? gw_data : partials.data() + (chunk - 1) * weight_size;
      for (int64_t n = first; n < end; ++n) {
        for (int64_t group = 0; group < g.groups; ++group) {
          const T* image = x_data + (n * g.in_channels + group * g.group_in()) * g.in_area();
          const T* columns = image;
          if (!g.image_is_columns()) {
            im2col_or_back<T, false>(image, col.data(), g);
            columns = col.data();
          }
          core::raw_gemm(false, true, g.group_out(), g.col_rows(), g.out_area(),
                         gy_data + (n * g.out_channels + group * g.group_out()) * g.out_area(), columns, T(1),
                         sum_into + group * g.group_out() * g.col_rows());
        }
      }
    });
    parallel_for(0, weight_size, kElementwiseGrain, [&](int64_t begin, int64_t end) {
      for (int64_t chunk = 1; chunk < chunks; ++chunk) {
        const T* partial = partials.data() + (chunk - 1) * weight_size;
        for (int64_t i = begin; i < end; ++i) gw_data[i] += partial[i];
      }
    });
  });
  return gw;
}

// ---- the differentiable ops ----

Tensor conv_forward(const Tensor& x, const Tensor& w, const Tensor& b, const ConvGeometry& g);
Tensor conv_input_grad(const Tensor& grad_output, const Tensor& w, const ConvGeometry& g);
Tensor conv_weight_grad(const Tensor& x, const Tensor& grad_output, const ConvGeometry& g);

// A node of one of the bilinear ops: its two tensor operands and the geometry.
struct ConvNode : Node {
  SavedTensor first, second;
  ConvGeometry geometry;
  void release_saved() override {
    first.reset();
    second.reset();
  }
};

// y = conv(x, w) + b: gx = conv_input_grad(gy, w), gw = conv_weight_grad(x, gy), gb = sum of gy
// over N, OH, OW.
struct ConvolutionBackward : ConvNode {
  std::string name() const override { return "ConvolutionBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    const Tensor& gy = grads[0];
    std::vector<Tensor> result(num_inputs());
    if (needs_input_grad(0)) result[0] = conv_input_grad(gy, second.unpack(*this), geometry);
    if (needs_input_grad(1)) result[1] = conv_weight_grad(first.unpack(*this), gy, geometry);
    if (needs_input_grad(2)) result[2] = sum(gy, {0, 2, 3});
    return result;
  }
};

// gx = conv_input_grad(gy, w), upstream u shaped like x: d gy = conv(u, w), d w = conv_weight_grad(u, gy).
struct ConvInputGradBackward : ConvNode {
  std::string name() const override { return "ConvInputGradBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    const Tensor& u = grads[0];
    std::vector<Tensor> result(2);
    if (needs_input_grad(0)) result[0] = conv_forward(u, second.unpack(*this), Tensor(), geometry);
    if (needs_input_grad(1)) result[1] = conv_weight_grad(u, first.unpack(*this), geometry);
    return result;
  }
};

// gw = conv_weight_grad(x, gy), upstream v shaped like w: d x = conv_input_grad(gy, v), d gy = conv(x, v).
struct ConvWeightGradBackward : ConvNode {
  std::string name() const override { return "ConvWeightGradBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    const Tensor& v = grads[0];
    std::vector<Tensor> result(2);
    if (needs_input_grad(0)) result[0] = conv_input_grad(second.unpack(*this), v, geometry);
    if (needs_input_grad(1)) result[1] = conv_forward(first.unpack(*this), v, Tensor(), geometry);
    return result;
  }
};

template <typename NodeT>
void save_operands(const std::shared_ptr<NodeT>& node, const Tensor& first, const Tensor& second,
                   const ConvGeometry& g) {
  node->first = SavedTensor(first, false);
  node->second = SavedTensor(second, false);
  node->geometry = g;
}

Tensor conv_forward(const Tensor& x, const Tensor& w, const Tensor& b, const ConvGeometry& g) {
  Tensor out = conv_forward_kernel(x, w, b, g);
  std::vector<Tensor> inputs = {x, w};
  if (b.defined()) inputs.push_back(b);
  if (auto node = record<ConvolutionBackward>(out, inputs)) save_operands(node, x, w, g);
  return out;
}

Tensor conv_input_grad(const Tensor& grad_output, const Tensor& w, const ConvGeometry& g) {
  Tensor out = conv_input_grad_kernel(grad_output, w, g);
  if (auto node = record<ConvInputGradBackward>(out, {grad_output, w})) save_operands(node, grad_output, w, g);
  return out;
}

Tensor conv_weight_grad(const Tensor& x, const Tensor& grad_output, const ConvGeometry& g) {
  Tensor out = conv_weight_grad_kernel(x, grad_output, g);
  if (auto node = record<ConvWeightGradBackward>(out, {x, grad_output})) save_operands(node, x, grad_output, g);
  return out;
}

// ---- argument checks and the geometry ----

// Checks a batched [N, C, H, W] input against weight and bias and computes the geometry.
// `op` and `user_input` / `user_weight` name what the user passed (conv1d's 3-d shapes).
ConvGeometry conv_geometry(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dFuncOptions& o, const char* op,
                           const Dims& user_input, const Dims& user_weight) {
  check<DTypeError>(x.is_floating_point() && x.dtype() == w.dtype() && (!b.defined() || b.dtype() == x.dtype()),
                    "{}: input ({}), weight ({}) and bias must share one floating dtype", op, x.dtype(), w.dtype());
  check<ValueError>(o.groups >= 1, "{}: groups {} must be >= 1", op, o.groups);
  ConvGeometry g;
  g.batch = x.size(0);
  g.in_channels = x.size(1);
  g.out_channels = w.size(0);
  g.groups = o.groups;
  g.in_h = x.size(2);
  g.in_w = x.size(3);
  g.kernel_h = w.size(2);
  g.kernel_w = w.size(3);
  check<ShapeError>(g.in_channels == w.size(1) * o.groups,
                    "{}: input {} has {} channels, but weight {} with groups {} expects {}", op, user_input,
                    g.in_channels, user_weight, o.groups, w.size(1) * o.groups);
  check<ShapeError>(g.out_channels % o.groups == 0, "{}: weight {} has {} output channels, not divisible by groups {}",
                    op, user_weight, g.out_channels, o.groups);
  check<ShapeError>(!b.defined() || (b.dim() == 1 && b.size(0) == g.out_channels),
                    "{}: bias {} should be [{}] for weight {}", op, b.defined() ? b.sizes() : Dims{}, g.out_channels,
                    user_weight);
  for (int d = 0; d < 2; ++d) {
    check<ValueError>(o.stride[d] >= 1 && o.dilation[d] >= 1 && o.padding.sizes[d] >= 0,
                      "{}: stride and dilation must be >= 1 and padding >= 0", op);
  }
  g.stride_h = o.stride[0];
  g.stride_w = o.stride[1];
  g.dilation_h = o.dilation[0];
  g.dilation_w = o.dilation[1];
  // Explicit: the same size before and after; "valid": none; "same": dilation (k - 1) in all,
  // the leading half rounded down (PyTorch's _conv_forward / F.conv2d).
  const bool same = o.padding.same();
  const bool explicit_sizes = o.padding.mode == ConvPaddingMode::Explicit;
  int64_t pad_total_h = explicit_sizes ? 2 * o.padding.sizes[0] : 0;
  int64_t pad_total_w = explicit_sizes ? 2 * o.padding.sizes[1] : 0;
  if (same) {
    check<ValueError>(g.stride_h == 1 && g.stride_w == 1,
                      "{}: padding \"same\" needs stride 1, got stride ({}, {}) for input {}", op, g.stride_h,
                      g.stride_w, user_input);
    pad_total_h = g.dilation_h * (g.kernel_h - 1);
    pad_total_w = g.dilation_w * (g.kernel_w - 1);
  }
  g.pad_h = pad_total_h / 2;
  g.pad_w = pad_total_w / 2;
  const int64_t span_h = g.dilation_h * (g.kernel_h - 1) + 1, span_w = g.dilation_w * (g.kernel_w - 1) + 1;
  check<ShapeError>(g.in_h + pad_total_h >= span_h && g.in_w + pad_total_w >= span_w,
                    "{}: input {} with padding is smaller than the (dilated) kernel of weight {}", op, user_input,
                    user_weight);
  g.out_h = (g.in_h + pad_total_h - span_h) / g.stride_h + 1;
  g.out_w = (g.in_w + pad_total_w - span_w) / g.stride_w + 1;
  return g;
}

// The output of a batched [N, C, H, W] convolution; `op` and the user's shapes for messages.
Tensor convolution(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dFuncOptions& options, const char* op,
                   const Dims& user_input, const Dims& user_weight) {
  ConvGeometry g = conv_geometry(x, w, b, options, op, user_input, user_weight);
  // NOTE: "same" with an even kernel pads one more at the end; the kernels pad only the leading
  // pad_h / pad_w and read the output size from the geometry, so the extra zeros need no copy.
  return conv_forward(x, w, b, g);
}

}  // namespace

ConvPadding::ConvPadding(std::string_view mode)
    : mode(mode == "same" ? ConvPaddingMode::Same : ConvPaddingMode::Valid) {
  check<ValueError>(mode == "same" || mode == "valid",
                    "conv padding: \"{}\" is not a padding mode (\"same\", \"valid\" or sizes)", mode);
}

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv2dFuncOptions& options) {
  check<ShapeError>(input.dim() == 3 || input.dim() == 4, "conv2d: input {} should be [N, C, H, W] or [C, H, W]",
                    input.sizes());
  check<ShapeError>(weight.dim() == 4, "conv2d: weight {} should be [C_out, C_in / groups, kH, kW]", weight.sizes());
  if (input.dim() == 3) {
    return squeeze(convolution(unsqueeze(input, 0), weight, bias, options, "conv2d", input.sizes(), weight.sizes()), 0);
  }
  return convolution(input, weight, bias, options, "conv2d", input.sizes(), weight.sizes());
}

Tensor conv1d(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv1dFuncOptions& options) {
  check<ShapeError>(input.dim() == 2 || input.dim() == 3, "conv1d: input {} should be [N, C, L] or [C, L]",
                    input.sizes());
  check<ShapeError>(weight.dim() == 3, "conv1d: weight {} should be [C_out, C_in / groups, k]", weight.sizes());
  const ConvPadding& given = options.padding;
  check<ValueError>(given.mode != ConvPaddingMode::Explicit || given.sizes[0] == given.sizes[1],
                    "conv1d: padding takes one size, got ({}, {})", given.sizes[0], given.sizes[1]);
  // As a 2-d convolution of height 1 (a 1-high kernel: "same" adds no rows).
  ConvPadding padding = given.mode == ConvPaddingMode::Explicit ? ConvPadding(0, given.sizes[0]) : given;
  Conv2dFuncOptions as_2d{.stride = {1, options.stride}, .padding = padding, .dilation = {1, options.dilation},
                      .groups = options.groups};
  const bool batched = input.dim() == 3;
  Tensor x = unsqueeze(batched ? input : unsqueeze(input, 0), 2);
  Tensor y = convolution(x, unsqueeze(weight, 2), bias, as_2d, "conv1d", input.sizes(), weight.sizes());
  y = squeeze(y, 2);
  return batched ? y : squeeze(y, 0);
}

}  // namespace descent::nn::functional
