// batch_norm, layer_norm and group_norm. The three norms are one op: x viewed as
// `stats_shape` is normalised over `stats_dims`,
//   xhat = (x - mean) rstd,   rstd = 1 / sqrt(var + eps)   (biased variance),
// then viewed as `affine_shape` and scaled and shifted per channel (y = xhat w + b). One node
// (NormalizeBackward), whose closed-form backward is written with public ops:
//   gxhat = g w,  gx = rstd (gxhat - mean(gxhat) - xhat mean(gxhat xhat)),
//   gw = sum(g xhat),  gb = sum(g)      (means over stats_dims, sums over the affine dims),
// and recomputes mean and rstd from the saved input, so create_graph differentiates it again.
#include <descent/nn/functional_norm.h>

#include <string>
#include <vector>

#include <descent/autograd/ops.h>
#include <descent/autograd/record.h>
#include <descent/core/error.h>

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

// xhat and rstd of x (any op set: core kernels in the forward, public ops in the backward).
struct Normalized {
  Tensor xhat, rstd;
};

template <typename Ops>
Normalized normalize(const Tensor& x, const NormPlan& plan, Ops ops) {
  Tensor xs = ops.reshape(x, plan.stats_shape);
  Tensor centered = ops.sub(xs, ops.mean(xs, plan.stats_dims));
  Tensor rstd = ops.rsqrt(ops.add(ops.mean(ops.square(centered), plan.stats_dims), plan.eps));
  return {ops.mul(centered, rstd), rstd};
}

struct CoreOps {
  Tensor reshape(const Tensor& t, const Dims& s) const { return core::reshape(t, s); }
  Tensor sub(const Tensor& a, const Tensor& b) const { return core::sub(a, b); }
  Tensor mul(const Tensor& a, const Tensor& b) const { return core::mul(a, b); }
  Tensor add(const Tensor& a, double b) const { return core::add(a, b); }
  Tensor square(const Tensor& t) const { return core::square(t); }
  Tensor rsqrt(const Tensor& t) const { return core::rsqrt(t); }
  Tensor mean(const Tensor& t, const Dims& d) const { return core::mean(t, d, true); }
};

struct PublicOps {
  Tensor reshape(const Tensor& t, const Dims& s) const { return descent::reshape(t, s); }
  Tensor sub(const Tensor& a, const Tensor& b) const { return descent::sub(a, b); }
  Tensor mul(const Tensor& a, const Tensor& b) const { return descent::mul(a, b); }
  Tensor add(const Tensor& a, double b) const { return descent::add(a, b); }
  Tensor square(const Tensor& t) const { return descent::square(t); }
  Tensor rsqrt(const Tensor& t) const { return descent::rsqrt(t); }
  Tensor mean(const Tensor& t, const Dims& d) const { return descent::mean(t, d, true); }
};

struct NormalizeBackward : autograd::NamedNode {
  using NamedNode::NamedNode;
  NormPlan plan;
  SavedTensor input, weight;
  int weight_input = -1, bias_input = -1;  // their input numbers, -1 when absent
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    Tensor x = input.unpack(*this);
    Normalized n = normalize(x, plan, PublicOps{});
    Tensor g = reshape(grads[0], plan.affine_shape);
    std::vector<Tensor> result(num_inputs());
    if (needs_input_grad(0)) {
      Tensor gxhat = weight.defined() ? mul(g, view(weight.unpack(*this), plan.param_shape)) : g;
      gxhat = reshape(gxhat, plan.stats_shape);
      Tensor inner = sub(sub(gxhat, mean(gxhat, plan.stats_dims, true)),
                         mul(n.xhat, mean(mul(gxhat, n.xhat), plan.stats_dims, true)));
      result[0] = reshape(mul(inner, n.rstd), x.sizes());
    }
    if (weight_input >= 0 && needs_input_grad(weight_input)) {
      result[weight_input] = reshape(sum(mul(g, reshape(n.xhat, plan.affine_shape)), plan.affine_dims),
                                     input_meta(weight_input).shape);
    }
    if (bias_input >= 0 && needs_input_grad(bias_input)) {
      result[bias_input] = reshape(sum(g, plan.affine_dims), input_meta(bias_input).shape);
    }
    return result;
  }
  void release_saved() override {
    input.reset();
    weight.reset();
  }
};

Tensor normalize_affine(const Tensor& x, const Tensor& weight, const Tensor& bias, const NormPlan& plan,
                        const char* name) {
  Tensor y = core::reshape(normalize(x, plan, CoreOps{}).xhat, plan.affine_shape);
  if (weight.defined()) y = core::mul(y, core::reshape(weight, plan.param_shape));
  if (bias.defined()) y = core::add(y, core::reshape(bias, plan.param_shape));
  y = core::reshape(y, x.sizes());
  std::vector<Tensor> inputs = {x};
  if (weight.defined()) inputs.push_back(weight);
  if (bias.defined()) inputs.push_back(bias);
  if (auto node = record<NormalizeBackward>(y, inputs, name)) {
    node->plan = plan;
    node->input = SavedTensor(x, false);
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
    // y = (x - running_mean) / sqrt(running_var + eps) w + b with constant statistics.
    Tensor x = reshape(input, {n, c, extent});
    Tensor scale = view(core::rsqrt(core::add(running_var, options.eps)), param_shape);
    if (weight.defined()) scale = mul(scale, view(weight, param_shape));
    Tensor y = mul(sub(x, view(running_mean, param_shape)), scale);
    if (bias.defined()) y = add(y, view(bias, param_shape));
    return reshape(y, input.sizes());
  }
  const int64_t count = n * extent;
  check<ValueError>(count > 1, "batch_norm: training needs more than one value per channel, got input {}",
                    input.sizes());
  NormPlan plan{.stats_shape = {n, c, extent}, .stats_dims = {0, 2}, .affine_shape = {n, c, extent},
                .param_shape = param_shape, .affine_dims = {0, 2}, .eps = options.eps};
  if (running_mean.defined() || running_var.defined()) {
    // running = (1 - momentum) running + momentum statistic, the variance unbiased (count - 1)
    autograd::NoGradGuard no_grad;
    Tensor x = core::reshape(input, {n, c, extent});
    Tensor batch_mean = core::mean(x, {0, 2});
    const double m = options.momentum;
    if (running_mean.defined()) {
      core::copy_(running_mean, core::add(core::mul(running_mean, 1.0 - m), core::mul(batch_mean, m)));
    }
    if (running_var.defined()) {
      Tensor unbiased = core::var(x, {0, 2}, 1);
      core::copy_(running_var, core::add(core::mul(running_var, 1.0 - m), core::mul(unbiased, m)));
    }
  }
  return normalize_affine(input, weight, bias, plan, "BatchNormBackward");
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
  return normalize_affine(input, weight, bias, plan, "LayerNormBackward");
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
  return normalize_affine(input, weight, bias, plan, "GroupNormBackward");
}

}  // namespace descent::nn::functional
