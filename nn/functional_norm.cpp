// batch_norm, layer_norm and group_norm. The three norms are one op: x viewed as
// `stats_shape` is normalised over `stats_dims`,
//   xhat = (x - mean) rstd,   rstd = 1 / sqrt(var + eps)   (biased variance),
// then viewed as `affine_shape` and scaled and shifted per channel (y = xhat w + b). One node
// (NormalizeBackward) with the closed-form backward (Ioffe & Szegedy 2015, section 3):
//   gxhat = g w,  gx = rstd (gxhat - mean(gxhat) - xhat mean(gxhat xhat)),
//   gw = sum(g xhat),  gb = sum(g)      (means over stats_dims, sums over the affine dims).
// Forward and backward are fused kernels on the input's own layout, threaded over channels
// (batch_norm) or rows: statistics in one pass, normalise and affine in a second; the backward's
// sums in one pass, gx in a second. Under create_graph the backward is the same formula in public
// ops, recomputing mean and rstd from the saved input, so it is differentiable again (as gelu's).
#include <descent/nn/functional_norm.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include <descent/autograd/ops.h>
#include <descent/autograd/record.h>
#include <descent/core/error.h>
#include <descent/core/parallel.h>

namespace descent::nn::functional {

using autograd::Node;
using autograd::record;
using autograd::SavedTensor;

namespace {

// How one norm views its input: statistics over stats_dims of x viewed as stats_shape; the
// affine parameters broadcast as param_shape over x viewed as affine_shape, their gradients
// summed over affine_dims.
struct NormPlan {
  Dims stats_shape, stats_dims;
  Dims affine_shape, param_shape, affine_dims;
  double eps = 1e-5;
};

// ---- the composed formula: public ops, differentiable again (the backward under create_graph) ----

// xhat and rstd of x, recomputed from x in public ops.
struct Normalized {
  Tensor xhat, rstd;
};

Normalized normalize(const Tensor& x, const NormPlan& plan) {
  Tensor xs = reshape(x, plan.stats_shape);
  Tensor centered = sub(xs, mean(xs, plan.stats_dims, true));
  Tensor rstd = descent::rsqrt(add(mean(square(centered), plan.stats_dims, true), plan.eps));
  return {mul(centered, rstd), rstd};
}

// ---- the fused kernels ----
//
// The input, contiguous, seen as [outer, channels, extent], channels in `groups` groups. Row norms
// (layer_norm: outer rows, channels = the normalised elements, extent 1; group_norm: [N, C, L])
// take statistics per (outer, group) over its channels / groups x extent contiguous values;
// batch_norm (across_outer) per channel over outer x extent. The affine parameters are per channel.
struct FusedLayout {
  int64_t outer = 0, channels = 0, groups = 1, extent = 1;
  bool across_outer = false;
  int64_t statistics() const { return across_outer ? channels : outer * groups; }
  int64_t reduced() const { return across_outer ? outer * extent : channels / groups * extent; }
};

// Sums of (x - shift) and (x - shift)^2, the shift being the first value seen: one pass that keeps
// its digits when the mean is large against the spread (the textbook sum of squares would not).
// Each run is summed in T, in blocks, into double.
template <typename T>
struct Moments {
  T shift = 0;
  double sum = 0, sum_squares = 0;
  void add(const T* p, int64_t n) {
    constexpr int64_t kBlock = 1024;
    for (int64_t start = 0; start < n; start += kBlock) {
      const int64_t stop = std::min(n, start + kBlock);
      T s = 0, s2 = 0;
      const T k = shift;
#pragma omp simd reduction(+ : s, s2)
      for (int64_t i = start; i < stop; ++i) {
        T d = p[i] - k;
        s += d;
        s2 += d * d;
      }
      sum += s;
      sum_squares += s2;
    }
  }
  // The mean and the biased variance of `count` values.
  std::pair<double, double> mean_variance(int64_t count) const {
    double m = sum / count;
    return {shift + m, std::max(0.0, sum_squares / count - m * m)};
  }
};

// Sums of g and of g (x - mean) over n values.
template <typename T>
void add_gradient_sums(const T* g, const T* x, T mu, int64_t n, double& sum_g, double& sum_gx) {
  T s = 0, sx = 0;
#pragma omp simd reduction(+ : s, sx)
  for (int64_t i = 0; i < n; ++i) {
    s += g[i];
    sx += g[i] * (x[i] - mu);
  }
  sum_g += s;
  sum_gx += sx;
}

// Work per parallel task at least the elementwise grain.
int64_t grain_for(int64_t elements_per_unit) { return std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(elements_per_unit, 1)); }

// y = (x - mean) rstd w + b; mean and rstd [statistics] out, and the biased variance if asked.
template <typename T>
void fused_forward(const FusedLayout& f, const T* x, const T* w, const T* b, double eps, T* y, T* mean_out,
                   T* rstd_out, T* variance_out) {
  auto finish = [&](int64_t s, const Moments<T>& m, int64_t count) {
    auto [mu, variance] = m.mean_variance(count);
    mean_out[s] = static_cast<T>(mu);
    rstd_out[s] = static_cast<T>(1.0 / std::sqrt(variance + eps));
    if (variance_out) variance_out[s] = static_cast<T>(variance);
  };
  // One run of `n` values of channel c: y = (x - mu) (rstd w_c) + b_c.
  auto normalize_run = [&](const T* in, T* out, int64_t n, int64_t c, T mu, T rstd) {
    const T scale = w ? rstd * w[c] : rstd, shift = b ? b[c] : T(0);
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) out[i] = (in[i] - mu) * scale + shift;
  };
  const int64_t c_all = f.channels, l = f.extent;
  if (f.across_outer) {
    parallel_for(0, c_all, grain_for(f.reduced()), [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        Moments<T> m{.shift = x[c * l]};
        for (int64_t n = 0; n < f.outer; ++n) m.add(x + (n * c_all + c) * l, l);
        finish(c, m, f.reduced());
        for (int64_t n = 0; n < f.outer; ++n) {
          const int64_t at = (n * c_all + c) * l;
          normalize_run(x + at, y + at, l, c, mean_out[c], rstd_out[c]);
        }
      }
    });
    return;
  }
  const int64_t per_group = c_all / f.groups, row = f.reduced();
  parallel_for(0, f.statistics(), grain_for(row), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* in = x + r * row;
      T* out = y + r * row;
      Moments<T> m{.shift = row > 0 ? in[0] : T(0)};
      m.add(in, row);
      finish(r, m, row);
      const T mu = mean_out[r], rstd = rstd_out[r];
      const int64_t first_channel = (r % f.groups) * per_group;
      if (l == 1) {  // layer_norm: a parameter per element, one vector loop
        const T* wc = w ? w + first_channel : nullptr;
        const T* bc = b ? b + first_channel : nullptr;
#pragma omp simd
        for (int64_t i = 0; i < row; ++i) out[i] = (in[i] - mu) * rstd * (wc ? wc[i] : T(1)) + (bc ? bc[i] : T(0));
      } else {
        for (int64_t k = 0; k < per_group; ++k) normalize_run(in + k * l, out + k * l, l, first_channel + k, mu, rstd);
      }
    }
  });
}

// The closed-form backward (the file's opening comment) in two passes over each statistic's
// values: the sums of g w and g w xhat, then gx. gw and gb (either may be null) are per channel:
// batch_norm's come from the same sums; the row norms' are summed over rows in fixed blocks of
// rows, added in block order, so the result does not depend on the thread count.
template <typename T>
void fused_backward(const FusedLayout& f, const T* x, const T* w, const T* g, const T* mean_in, const T* rstd_in,
                    T* gx, T* gw, T* gb) {
  const int64_t c_all = f.channels, l = f.extent;
  if (f.across_outer) {
    const double count = static_cast<double>(f.reduced());
    parallel_for(0, c_all, grain_for(f.reduced()), [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        const T mu = mean_in[c], rstd = rstd_in[c];
        double sum_g = 0, sum_gx = 0;
        for (int64_t n = 0; n < f.outer; ++n) {
          const int64_t at = (n * c_all + c) * l;
          add_gradient_sums(g + at, x + at, mu, l, sum_g, sum_gx);
        }
        const double sum_gxhat = sum_gx * rstd;  // sum of g xhat
        if (gw) gw[c] = static_cast<T>(sum_gxhat);
        if (gb) gb[c] = static_cast<T>(sum_g);
        if (!gx) continue;
        const T wc = w ? w[c] : T(1);
        const T scale = wc * rstd, mean_g = static_cast<T>(sum_g / count);
        const T mean_gxhat = static_cast<T>(sum_gxhat / count);
        for (int64_t n = 0; n < f.outer; ++n) {
          const int64_t at = (n * c_all + c) * l;
#pragma omp simd
          for (int64_t i = 0; i < l; ++i) gx[at + i] = scale * (g[at + i] - mean_g - (x[at + i] - mu) * rstd * mean_gxhat);
        }
      }
    });
    return;
  }
  const int64_t per_group = c_all / f.groups, row = f.reduced(), rows = f.statistics();
  const double count = static_cast<double>(row);
  const bool affine_grads = gw || gb;
  const int64_t rows_per_block = grain_for(row), blocks = (rows + rows_per_block - 1) / rows_per_block;
  // [blocks, 2, C]: each block's sums of g xhat and of g per channel.
  std::vector<double> partial(affine_grads ? blocks * 2 * c_all : 0, 0.0);
  parallel_for(0, blocks, 1, [&](int64_t block0, int64_t block1) {
    for (int64_t block = block0; block < block1; ++block) {
      double* block_gw = affine_grads ? partial.data() + block * 2 * c_all : nullptr;
      double* block_gb = affine_grads ? block_gw + c_all : nullptr;
      for (int64_t r = block * rows_per_block; r < std::min(rows, (block + 1) * rows_per_block); ++r) {
        const T* in = x + r * row;
        const T* gr = g + r * row;
        const T mu = mean_in[r], rstd = rstd_in[r];
        const int64_t first_channel = (r % f.groups) * per_group;
        double sum_gw = 0, sum_gwx = 0;  // sums of g w and g w (x - mean)
        for (int64_t k = 0; k < per_group; ++k) {
          const int64_t c = first_channel + k;
          double sum_g = 0, sum_gx = 0;
          if (l == 1) {  // layer_norm: one value per channel
            sum_g = gr[k];
            sum_gx = gr[k] * (in[k] - mu);
          } else {
            add_gradient_sums(gr + k * l, in + k * l, mu, l, sum_g, sum_gx);
          }
          const double wc = w ? w[c] : 1.0;
          sum_gw += wc * sum_g;
          sum_gwx += wc * sum_gx;
          if (affine_grads) {
            block_gw[c] += sum_gx * rstd;
            block_gb[c] += sum_g;
          }
        }
        if (!gx) continue;
        const T mean_gw = static_cast<T>(sum_gw / count), mean_gwxhat = static_cast<T>(sum_gwx * rstd / count);
        T* out = gx + r * row;
        for (int64_t k = 0; k < per_group; ++k) {
          const T wc = w ? w[first_channel + k] : T(1);
#pragma omp simd
          for (int64_t i = k * l; i < (k + 1) * l; ++i) {
            out[i] = rstd * (gr[i] * wc - mean_gw - (in[i] - mu) * rstd * mean_gwxhat);
          }
        }
      }
    }
  });
  if (!affine_grads) return;
  for (int64_t c = 0; c < c_all; ++c) {
    double sum_gxhat = 0, sum_g = 0;
    for (int64_t block = 0; block < blocks; ++block) {
      sum_gxhat += partial[block * 2 * c_all + c];
      sum_g += partial[block * 2 * c_all + c_all + c];
    }
    if (gw) gw[c] = static_cast<T>(sum_gxhat);
    if (gb) gb[c] = static_cast<T>(sum_g);
  }
}

template <typename T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// ---- the op: fused forward, one node ----

struct NormalizeBackward : autograd::NamedNode {
  using NamedNode::NamedNode;
  NormPlan plan;
  FusedLayout layout;
  SavedTensor input, weight;
  Tensor saved_mean, saved_rstd;  // [statistics] from the forward, no history
  int weight_input = -1, bias_input = -1;  // their input numbers, -1 when absent
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    Tensor x = input.unpack(*this);
    Tensor w = weight.defined() ? weight.unpack(*this) : Tensor();
    if (!autograd::needs_grad({grads[0], x, w})) return fused(grads[0], x, w);
    return composed(grads[0], x, w);
  }
  void release_saved() override {
    input.reset();
    weight.reset();
    saved_mean = Tensor();
    saved_rstd = Tensor();
  }

 private:
  bool wants(int input_nr) const { return input_nr >= 0 && needs_input_grad(input_nr); }

  std::vector<Tensor> fused(const Tensor& grad, const Tensor& x, const Tensor& w) {
    std::vector<Tensor> result(num_inputs());
    Tensor g = core::contiguous(grad), xc = core::contiguous(x);
    Tensor gx = needs_input_grad(0) ? core::empty_like(xc) : Tensor();
    const Dims channels = {layout.channels};
    Tensor gw = wants(weight_input) ? core::empty(channels, {.dtype = x.dtype()}) : Tensor();
    Tensor gb = wants(bias_input) ? core::empty(channels, {.dtype = x.dtype()}) : Tensor();
    dispatch_floating(x.dtype(), name(), [&]<typename T>() {
      fused_backward<T>(layout, xc.data<T>(), data_or_null<T>(w), g.data<T>(), saved_mean.data<T>(),
                        saved_rstd.data<T>(), gx.defined() ? gx.data<T>() : nullptr,
                        gw.defined() ? gw.data<T>() : nullptr, gb.defined() ? gb.data<T>() : nullptr);
    });
    if (gx.defined()) result[0] = core::reshape(gx, x.sizes());
    if (gw.defined()) result[weight_input] = core::reshape(gw, input_meta(weight_input).shape);
    if (gb.defined()) result[bias_input] = core::reshape(gb, input_meta(bias_input).shape);
    return result;
  }

  // The same gradient in public ops, so that create_graph records it.
  std::vector<Tensor> composed(const Tensor& grad, const Tensor& x, const Tensor& w) {
    Normalized n = normalize(x, plan);
    Tensor g = reshape(grad, plan.affine_shape);
    std::vector<Tensor> result(num_inputs());
    if (needs_input_grad(0)) {
      Tensor gxhat = w.defined() ? mul(g, view(w, plan.param_shape)) : g;
      gxhat = reshape(gxhat, plan.stats_shape);
      Tensor inner = sub(sub(gxhat, mean(gxhat, plan.stats_dims, true)),
                         mul(n.xhat, mean(mul(gxhat, n.xhat), plan.stats_dims, true)));
      result[0] = reshape(mul(inner, n.rstd), x.sizes());
    }
    if (wants(weight_input)) {
      result[weight_input] = reshape(sum(mul(g, reshape(n.xhat, plan.affine_shape)), plan.affine_dims),
                                     input_meta(weight_input).shape);
    }
    if (wants(bias_input)) result[bias_input] = reshape(sum(g, plan.affine_dims), input_meta(bias_input).shape);
    return result;
  }
};

// The statistics of the forward, for batch_norm's running averages.
struct BatchStatistics {
  Tensor mean, variance;  // [C], the variance biased
};

Tensor normalize_affine(const Tensor& input, const Tensor& weight, const Tensor& bias, const NormPlan& plan,
                        const FusedLayout& layout, const char* name, BatchStatistics* statistics = nullptr) {
  Tensor x = core::contiguous(input);
  Tensor y = core::empty_like(x);
  const Dims stats = {layout.statistics()};
  Tensor mean_out = core::empty(stats, {.dtype = x.dtype()}), rstd_out = core::empty(stats, {.dtype = x.dtype()});
  Tensor variance_out = statistics ? core::empty(stats, {.dtype = x.dtype()}) : Tensor();
  dispatch_floating(x.dtype(), name, [&]<typename T>() {
    fused_forward<T>(layout, x.data<T>(), data_or_null<T>(weight), data_or_null<T>(bias), plan.eps, y.data<T>(),
                     mean_out.data<T>(), rstd_out.data<T>(), statistics ? variance_out.data<T>() : nullptr);
  });
  if (statistics) *statistics = {mean_out, variance_out};
  y = core::reshape(y, input.sizes());
  std::vector<Tensor> inputs = {input};
  if (weight.defined()) inputs.push_back(weight);
  if (bias.defined()) inputs.push_back(bias);
  if (auto node = record<NormalizeBackward>(y, inputs, name)) {
    node->plan = plan;
    node->layout = layout;
    node->input = SavedTensor(input, false);
    node->saved_mean = mean_out;
    node->saved_rstd = rstd_out;
    if (weight.defined()) {
      node->weight = SavedTensor(weight, false);
      node->weight_input = 1;
    }
    if (bias.defined()) node->bias_input = weight.defined() ? 2 : 1;
  }
  return y;
}

void check_parameter(const Tensor& p, const Dims& shape, const char* what, const char* op, const Tensor& input) {
  if (!p.defined()) return;
  check<ShapeError>(p.sizes() == shape, "{}: {} {} should be {} for input {}", op, what, p.sizes(), shape,
                    input.sizes());
  check<DTypeError>(p.dtype() == input.dtype(), "{}: {} ({}) and input ({}) differ in dtype", op, what, p.dtype(),
                    input.dtype());
}

// [N, C, *] as [N, C, L] with the per-channel parameter view [1, C, 1].
int64_t channel_extent(const Tensor& input, const char* op) {
  check<ShapeError>(input.dim() >= 2, "{}: input {} should be [N, C, *]", op, input.sizes());
  check<DTypeError>(input.is_floating_point(), "{}: input must be floating, not {}", op, input.dtype());
  return input.size(1) == 0 ? 0 : input.numel() / (input.size(0) * input.size(1));
}

}  // namespace

Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, const BatchNormFuncOptions& options) {
  const char* op = "batch_norm";
  const int64_t extent = channel_extent(input, op), n = input.size(0), c = input.size(1);
  const Dims channels = {c};
  check_parameter(weight, channels, "weight", op, input);
  check_parameter(bias, channels, "bias", op, input);
  check_parameter(running_mean, channels, "running_mean", op, input);
  check_parameter(running_var, channels, "running_var", op, input);
  const Dims param_shape = {1, c, 1};
  if (!options.training) {
    check<ValueError>(running_mean.defined() && running_var.defined(),
                      "batch_norm: eval mode needs running_mean and running_var");
    // Folded into one scale and shift per channel: y = x s + t, s = w / sqrt(running_var + eps),
    // t = b - running_mean s (the running statistics are constants; w and b get gradients).
    Tensor scale = core::rsqrt(core::add(running_var, options.eps));
    if (weight.defined()) scale = mul(weight, scale);
    Tensor shift = mul(running_mean, scale);
    shift = bias.defined() ? sub(bias, shift) : neg(shift);
    Tensor y = add(mul(reshape(input, {n, c, extent}), view(scale, param_shape)), view(shift, param_shape));
    return reshape(y, input.sizes());
  }
  const int64_t count = n * extent;
  check<ValueError>(count > 1, "batch_norm: training needs more than one value per channel, got input {}",
                    input.sizes());
  NormPlan plan{.stats_shape = {n, c, extent}, .stats_dims = {0, 2}, .affine_shape = {n, c, extent},
                .param_shape = param_shape, .affine_dims = {0, 2}, .eps = options.eps};
  const FusedLayout layout{.outer = n, .channels = c, .groups = c, .extent = extent, .across_outer = true};
  BatchStatistics batch;
  Tensor y = normalize_affine(input, weight, bias, plan, layout, "BatchNormBackward", &batch);
  if (running_mean.defined() || running_var.defined()) {
    // running = (1 - momentum) running + momentum statistic, the variance unbiased (count - 1)
    autograd::NoGradGuard no_grad;
    const double m = options.momentum;
    if (running_mean.defined()) {
      core::copy_(running_mean, core::add(core::mul(running_mean, 1.0 - m), core::mul(batch.mean, m)));
    }
    if (running_var.defined()) {
      Tensor unbiased = core::mul(batch.variance, static_cast<double>(count) / static_cast<double>(count - 1));
      core::copy_(running_var, core::add(core::mul(running_var, 1.0 - m), core::mul(unbiased, m)));
    }
  }
  return y;
}

Tensor layer_norm(const Tensor& input, const Dims& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
  const char* op = "layer_norm";
  const int k = normalized_shape.size();
  check<DTypeError>(input.is_floating_point(), "{}: input must be floating, not {}", op, input.dtype());
  bool fits = k >= 1 && input.dim() >= k;
  for (int d = 0; fits && d < k; ++d) fits = input.size(input.dim() - k + d) == normalized_shape[d];
  check<ShapeError>(fits, "layer_norm: input {} does not end in normalized_shape {}", input.sizes(), normalized_shape);
  check_parameter(weight, normalized_shape, "weight", op, input);
  check_parameter(bias, normalized_shape, "bias", op, input);
  const int64_t inner = normalized_shape.product();
  const int64_t outer = inner == 0 ? 0 : input.numel() / inner;
  NormPlan plan{.stats_shape = {outer, inner}, .stats_dims = {1}, .affine_shape = {outer, inner},
                .param_shape = {1, inner}, .affine_dims = {0}, .eps = eps};
  const FusedLayout layout{.outer = outer, .channels = inner};
  return normalize_affine(input, weight, bias, plan, layout, "LayerNormBackward");
}

Tensor group_norm(const Tensor& input, int64_t num_groups, const Tensor& weight, const Tensor& bias, double eps) {
  const char* op = "group_norm";
  const int64_t extent = channel_extent(input, op), n = input.size(0), c = input.size(1);
  check<ShapeError>(num_groups >= 1 && c % num_groups == 0, "group_norm: input {} has {} channels, not divisible "
                    "into {} groups", input.sizes(), c, num_groups);
  check_parameter(weight, {c}, "weight", op, input);
  check_parameter(bias, {c}, "bias", op, input);
  NormPlan plan{.stats_shape = {n, num_groups, c / num_groups * extent}, .stats_dims = {2},
                .affine_shape = {n, c, extent}, .param_shape = {1, c, 1}, .affine_dims = {0, 2}, .eps = eps};
  const FusedLayout layout{.outer = n, .channels = c, .groups = num_groups, .extent = extent};
  return normalize_affine(input, weight, bias, plan, layout, "GroupNormBackward");
}

}  // namespace descent::nn::functional
