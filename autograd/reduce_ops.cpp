// Differentiable reductions, softmax and log_softmax: each forward (a core kernel of core/reduce.h
// plus its node) beside its backward. Backward formulas use the public ops, so that create_graph
// gives second derivatives; kinks and ties follow PyTorch's derivatives (its derivatives.yaml and
// FunctionsManual.cpp): tied extremes share the gradient evenly, max/min along a dim send it to
// the returned index, norm'(0) = std'(0) = 0. Read autograd/record.h first.
#include <descent/autograd/reduce_ops.h>

#include <cmath>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <descent/autograd/ops.h>
#include <descent/autograd/record.h>

namespace descent {

using autograd::Node;
using autograd::record;
using autograd::SavedTensor;

namespace {

// ---- the reduced shape ----

// What a reduction over `dims` (empty: all) of a tensor of `input_shape` reduced, kept as size-1
// dims: the output (or its gradient) reshaped so that it broadcasts against the input.
Tensor restore_reduced(const Tensor& t, const Dims& input_shape, const Dims& dims, bool keepdim) {
  if (keepdim) return t;
  return reshape(t, core::reduced_shape(input_shape, dims, /*keepdim=*/true, "reduction backward"));
}

// The gradient of a reduction laid back out over the input's shape.
Tensor expand_reduced(const Tensor& grad, const Dims& input_shape, const Dims& dims, bool keepdim) {
  return expand(restore_reduced(grad, input_shape, dims, keepdim), input_shape);
}

// How many input elements each output element reduces (0 for an empty output).
int64_t reduced_count(const Tensor& x, const Tensor& out) { return out.numel() == 0 ? 0 : x.numel() / out.numel(); }

// ---- one node type for every reduction ----

// The gradient of the input from the gradient of the output and the saved tensors, in order.
using Backward = std::function<Tensor(const Tensor& grad, const std::vector<Tensor>& saved)>;

struct ReductionBackward : autograd::NamedNode {
  using NamedNode::NamedNode;
  std::vector<SavedTensor> saved;
  Backward backward;
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    std::vector<Tensor> unpacked;
    unpacked.reserve(saved.size());
    for (const SavedTensor& s : saved) unpacked.push_back(s.unpack(*this));
    return {backward(grads[0], unpacked)};
  }
  void release_saved() override {
    for (SavedTensor& s : saved) s.reset();
  }
};

// A tensor the backward needs: the op's input, its own output, or a constant (indices).
struct ToSave {
  Tensor tensor;
  bool is_output = false;
};

// Records `out` = reduction of x. NOTE: the SavedTensors are made only after record() set out's
// grad_fn: saving the output before that would keep it as a leaf, a strong cycle with the node.
Tensor record_reduction(Tensor out, const Tensor& x, const char* name, const std::vector<ToSave>& to_save,
                        Backward backward) {
  if (auto node = record<ReductionBackward>(out, {x}, name)) {
    for (const ToSave& s : to_save) node->saved.emplace_back(s.tensor, s.is_output);
    node->backward = std::move(backward);
  }
  return out;
}

// mask ? value : 0, with `value` broadcast over the mask's (the input's) shape.
Tensor masked_gradient(const Tensor& mask, const Tensor& value) { return where(mask, value, 0.0); }

// The gradient of an extreme (amax/amin/norm inf) shared evenly among the elements of `mask`
// (those equal to the extreme) within each reduced group: grad / count * mask. NOTE: a product,
// not a select, as PyTorch's scale_grad_by_count: a group whose mask is empty (a NaN amax) gets
// 0 / 0 = NaN everywhere, as there.
Tensor share_among_ties(const Tensor& grad, const Tensor& mask, const Dims& input_shape, const Dims& dims,
                        bool keepdim) {
  Tensor count = core::sum(mask, dims, /*keepdim=*/true);
  return restore_reduced(grad, input_shape, dims, keepdim) / count * core::to(mask, grad.dtype());
}

// ---- max / min ----

// Over all elements, as PyTorch's evenly_distribute_backward: the elements equal to the result
// (the NaNs, when the result is NaN) share the gradient evenly.
Tensor extreme_all(const Tensor& x, Tensor out, const char* name) {
  return record_reduction(out, x, name, {{x, false}, {out, true}},
                          [](const Tensor& grad, const std::vector<Tensor>& saved) {
                            const Tensor& v = saved[0];
                            bool nan_result = core::isnan(saved[1]).item<bool>();
                            Tensor mask = nan_result ? core::isnan(v) : core::eq(v, saved[1]);
                            return masked_gradient(mask, grad / core::sum(mask));
                          });
}

// Along one dim, as PyTorch's value_selecting_reduction_backward: the gradient goes to the
// returned index only (ties are not shared).
std::pair<Tensor, Tensor> extreme_along(const Tensor& x, std::pair<Tensor, Tensor> result, int64_t dim, bool keepdim,
                                        const char* name) {
  const Dims shape = x.sizes();
  const int d = x.dim() == 0 ? 0 : wrap_dim(dim, x.dim(), name);
  record_reduction(result.first, x, name, {{result.second, false}},
                   [shape, d, keepdim](const Tensor& grad, const std::vector<Tensor>& saved) {
                     // positions along d, shaped to broadcast against the kept indices
                     Dims position_shape = Dims::filled(shape.size(), 1);
                     int64_t extent = 1;
                     if (shape.size() > 0) extent = position_shape[d] = shape[d];
                     Tensor positions = core::reshape(core::arange(extent, {.dtype = kInt64}), position_shape);
                     Tensor indices = restore_reduced(saved[0], shape, {d}, keepdim);
                     Tensor mask = core::eq(positions, indices);
                     return masked_gradient(mask, restore_reduced(grad, shape, {d}, keepdim));
                   });
  return result;
}

// amax/amin: the elements equal to the extreme of their group share its gradient (PyTorch's
// scale_grad_by_count; a NaN extreme gets no gradient).
Tensor extreme_over(const Tensor& x, Tensor out, const Dims& dims, bool keepdim, const char* name) {
  const Dims shape = x.sizes();
  return record_reduction(out, x, name, {{x, false}, {out, true}},
                          [shape, dims, keepdim](const Tensor& grad, const std::vector<Tensor>& saved) {
                            Tensor mask = core::eq(saved[0], restore_reduced(saved[1], shape, dims, keepdim));
                            return share_among_ties(grad, mask, shape, dims, keepdim);
                          });
}

// ---- variance ----

// d var = 2 (x - mean) / (N - correction) dx over each group of N elements.
Tensor var_backward(const Tensor& grad, const Tensor& x, const Dims& dims, int64_t correction, bool keepdim,
                    int64_t count) {
  const double scale = 2.0 / static_cast<double>(count - correction);
  return restore_reduced(grad, x.sizes(), dims, keepdim) * ((x - mean(x, dims, /*keepdim=*/true)) * scale);
}

// ---- norm ----

// d ||x||_p for p not 0, 1, 2 or +-inf, as PyTorch's norm_backward:
//   d ||x||_p / d x_i = sign(x_i) |x_i|^(p-1) ||x||_p^(1-p),
// taken as 0 at x_i = 0 for p < 1 (where |x_i|^(p-1) is infinite) and at ||x||_p = 0 for p > 1.
// NOTE: the masked-out branches are computed from 1 in place of 0, so that their (discarded)
// values and derivatives stay finite and create_graph gives no 0 * inf.
Tensor general_norm_backward(const Tensor& grad_kept, const Tensor& x, const Tensor& norm_kept, double p) {
  Tensor x_zero = core::eq(x, 0.0);
  Tensor magnitude = pow(abs(where(x_zero, 1.0, x)), p - 1.0);
  Tensor scaled = masked_gradient(core::logical_not(x_zero), sign(x) * magnitude);
  if (p < 1.0) return scaled * (grad_kept * pow(norm_kept, 1.0 - p));
  Tensor norm_zero = core::eq(norm_kept, 0.0);
  Tensor scale = masked_gradient(core::logical_not(norm_zero), grad_kept * pow(where(norm_zero, 1.0, norm_kept), 1.0 - p));
  return scaled * scale;
}

}  // namespace

Tensor sum(const Tensor& x, const Dims& dims, bool keepdim) {
  const Dims shape = x.sizes();
  return record_reduction(core::sum(x, dims, keepdim), x, "SumBackward", {},
                          [shape, dims, keepdim](const Tensor& grad, const std::vector<Tensor>&) {
                            return expand_reduced(grad, shape, dims, keepdim);
                          });
}

Tensor mean(const Tensor& x, const Dims& dims, bool keepdim) {
  Tensor out = core::mean(x, dims, keepdim);
  const int64_t count = reduced_count(x, out);
  const double scale = count == 0 ? 0.0 : 1.0 / static_cast<double>(count);
  const Dims shape = x.sizes();
  return record_reduction(out, x, "MeanBackward", {},
                          [shape, dims, keepdim, scale](const Tensor& grad, const std::vector<Tensor>&) {
                            return expand_reduced(grad, shape, dims, keepdim) * scale;
                          });
}

// d prod / d x_i = prod_{j != i} x_j. Without zeros that is prod / x_i (PyTorch's formula). With
// zeros it is (the product P of the group's nonzero elements other than x_i) times (the product
// of the zeros other than x_i): 1 when there is none, 0 for two or more, and for exactly one, that
// zero x_k itself, written as the group's sum of zeros minus x_i's own so that its derivative (1
// for x_k) is right too: second derivatives are exact for any number of zeros.
Tensor prod(const Tensor& x, const Dims& dims, bool keepdim) {
  Tensor out = core::prod(x, dims, keepdim);
  const Dims shape = x.sizes();
  return record_reduction(
      out, x, "ProdBackward", {{x, false}, {out, true}},
      [shape, dims, keepdim](const Tensor& grad, const std::vector<Tensor>& saved) {
        const Tensor& v = saved[0];
        Tensor grad_in = expand_reduced(grad, shape, dims, keepdim);
        Tensor zero = core::eq(v, 0.0);
        if (!core::any(zero).item<bool>()) return grad_in * (restore_reduced(saved[1], shape, dims, keepdim) / v);
        Tensor zeros_as_ones = where(zero, 1.0, v);
        Tensor other_nonzero = prod(zeros_as_ones, dims, /*keepdim=*/true) / zeros_as_ones;
        Tensor zero_count = zero.to(kInt64);
        Tensor other_zero_count = core::sub(core::sum(zero_count, dims, /*keepdim=*/true), zero_count);
        Tensor zeros_only = where(zero, v, 0.0);  // 0 everywhere, with derivative 1 at the zeros
        Tensor the_other_zero = sum(zeros_only, dims, /*keepdim=*/true) - zeros_only;
        Tensor other_zeros = where(core::eq(other_zero_count, 0), 1.0,
                                   masked_gradient(core::eq(other_zero_count, 1), the_other_zero));
        return grad_in * (other_nonzero * other_zeros);
      });
}

Tensor max(const Tensor& x) { return extreme_all(x, core::max(x), "MaxBackward"); }
Tensor min(const Tensor& x) { return extreme_all(x, core::min(x), "MinBackward"); }

std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim) {
  return extreme_along(x, core::max(x, dim, keepdim), dim, keepdim, "MaxBackward");
}
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim) {
  return extreme_along(x, core::min(x, dim, keepdim), dim, keepdim, "MinBackward");
}

Tensor amax(const Tensor& x, const Dims& dims, bool keepdim) {
  return extreme_over(x, core::amax(x, dims, keepdim), dims, keepdim, "AmaxBackward");
}
Tensor amin(const Tensor& x, const Dims& dims, bool keepdim) {
  return extreme_over(x, core::amin(x, dims, keepdim), dims, keepdim, "AminBackward");
}

Tensor var(const Tensor& x, const Dims& dims, int64_t correction, bool keepdim) {
  Tensor out = core::var(x, dims, correction, keepdim);
  const int64_t count = reduced_count(x, out);
  return record_reduction(out, x, "VarBackward", {{x, false}},
                          [dims, correction, keepdim, count](const Tensor& grad, const std::vector<Tensor>& saved) {
                            return var_backward(grad, saved[0], dims, correction, keepdim, count);
                          });
}

// d std = d var / (2 std), taken as 0 where std = 0 (PyTorch's std_backward). NOTE: the division
// uses 1 in place of a zero std so that create_graph never differentiates an infinity.
Tensor std(const Tensor& x, const Dims& dims, int64_t correction, bool keepdim) {
  Tensor out = core::std(x, dims, correction, keepdim);
  const int64_t count = reduced_count(x, out);
  return record_reduction(
      out, x, "StdBackward", {{x, false}, {out, true}},
      [dims, correction, keepdim, count](const Tensor& grad, const std::vector<Tensor>& saved) {
        const Tensor& y = saved[1];
        Tensor y_zero = core::eq(y, 0.0);
        Tensor grad_var = where(y_zero, 0.0, grad / (where(y_zero, 1.0, y) * 2.0));
        return var_backward(grad_var, saved[0], dims, correction, keepdim, count);
      });
}

// The vector p-norm, as torch.linalg.vector_norm and its norm_backward: p = 0 has gradient 0,
// p = 1 sign(x), p = 2 x / ||x|| (0 at ||x|| = 0), p = +-inf sign(x) shared among the elements
// whose |x| is the extreme (or NaN).
Tensor norm(const Tensor& x, double p, const Dims& dims, bool keepdim) {
  Tensor out = core::norm(x, p, dims, keepdim);
  const Dims shape = x.sizes();
  return record_reduction(
      out, x, "NormBackward", {{x, false}, {out, true}},
      [shape, p, dims, keepdim](const Tensor& grad, const std::vector<Tensor>& saved) {
        const Tensor& v = saved[0];
        Tensor norm_kept = restore_reduced(saved[1], shape, dims, keepdim);
        if (p == 0.0) return core::zeros_like(v);
        if (p == 1.0) return expand_reduced(grad, shape, dims, keepdim) * sign(v);
        if (p == 2.0) {
          // where ||x|| = 0 every x_i is 0, so x / 1 gives the subgradient 0
          return restore_reduced(grad, shape, dims, keepdim) * (v / where(core::eq(norm_kept, 0.0), 1.0, norm_kept));
        }
        if (std::isinf(p)) {
          Tensor magnitude = core::abs(v);
          Tensor mask = core::logical_or(core::eq(magnitude, norm_kept), core::isnan(magnitude));
          return sign(v) * share_among_ties(grad, mask, shape, dims, keepdim);
        }
        return general_norm_backward(restore_reduced(grad, shape, dims, keepdim), v, norm_kept, p);
      });
}

// d logsumexp(x) / d x_i = exp(x_i - logsumexp(x)): exponents <= 0, so stable for any magnitude.
Tensor logsumexp(const Tensor& x, const Dims& dims, bool keepdim) {
  Tensor out = core::logsumexp(x, dims, keepdim);
  const Dims shape = x.sizes();
  return record_reduction(out, x, "LogsumexpBackward", {{x, false}, {out, true}},
                          [shape, dims, keepdim](const Tensor& grad, const std::vector<Tensor>& saved) {
                            Tensor y = restore_reduced(saved[1], shape, dims, keepdim);
                            return restore_reduced(grad, shape, dims, keepdim) * exp(saved[0] - y);
                          });
}

// y = softmax(x): dx = y * (g - sum(g * y)) along dim.
Tensor softmax(const Tensor& x, int64_t dim) {
  Tensor out = core::softmax(x, dim);
  return record_reduction(out, x, "SoftmaxBackward", {{out, true}},
                        [dim](const Tensor& grad, const std::vector<Tensor>& saved) {
                          const Tensor& y = saved[0];
                          return y * (grad - sum(grad * y, {dim}, /*keepdim=*/true));
                        });
}

// y = log_softmax(x): dx = g - exp(y) * sum(g) along dim.
Tensor log_softmax(const Tensor& x, int64_t dim) {
  Tensor out = core::log_softmax(x, dim);
  return record_reduction(out, x, "LogSoftmaxBackward", {{out, true}},
                        [dim](const Tensor& grad, const std::vector<Tensor>& saved) {
                          return grad - exp(saved[0]) * sum(grad, {dim}, /*keepdim=*/true);
                        });
}

}  // namespace descent
