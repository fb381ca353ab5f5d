// Differentiable views and copies: each forward (a core kernel plus its node) beside its backward.
// A view's gradient is the incoming gradient laid back out in the input's shape: reshaped,
// permuted back, summed over broadcast dims, or placed into zeros at the viewed positions.
#include <descent/autograd/view_ops.h>

#include <descent/autograd/ops.h>
#include <descent/autograd/record.h>

namespace descent {

using autograd::Node;
using autograd::record;

namespace {

Tensor as_view(Tensor out, const Tensor& base) {
  autograd::mark_as_view(out, base);
  return out;
}

// ---- shape-only changes: the gradient is reshaped back ----

struct ReshapeBackward : autograd::NamedNode {
  using NamedNode::NamedNode;
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override { return {reshape(grads[0], input_meta(0).shape)}; }
};

Tensor record_reshape(Tensor out, const Tensor& in, const char* name) {
  record<ReshapeBackward>(out, {in}, name);
  return out;
}

}  // namespace

Tensor view(const Tensor& t, const Dims& sizes) {
  return as_view(record_reshape(core::view(t, sizes), t, "ViewBackward"), t);
}
Tensor reshape(const Tensor& t, const Dims& sizes) {
  Tensor out = record_reshape(core::reshape(t, sizes), t, "ReshapeBackward");
  return out.shares_storage(t) ? as_view(out, t) : out;
}
Tensor squeeze(const Tensor& t) { return as_view(record_reshape(core::squeeze(t), t, "SqueezeBackward"), t); }
Tensor squeeze(const Tensor& t, int64_t dim) {
  return as_view(record_reshape(core::squeeze(t, dim), t, "SqueezeBackward"), t);
}
Tensor unsqueeze(const Tensor& t, int64_t dim) {
  return as_view(record_reshape(core::unsqueeze(t, dim), t, "UnsqueezeBackward"), t);
}
Tensor flatten(const Tensor& t, int64_t start_dim, int64_t end_dim) {
  Tensor out = record_reshape(core::flatten(t, start_dim, end_dim), t, "FlattenBackward");
  return out.shares_storage(t) ? as_view(out, t) : out;
}
Tensor unflatten(const Tensor& t, int64_t dim, const Dims& sizes) {
  return as_view(record_reshape(core::unflatten(t, dim, sizes), t, "UnflattenBackward"), t);
}

// ---- permute, transpose: the gradient is permuted back ----

namespace {
struct PermuteBackward : Node {
  Dims inverse;
  std::string name() const override { return "PermuteBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override { return {permute(grads[0], inverse)}; }
};

struct TransposeBackward : Node {
  int64_t dim0 = 0, dim1 = 0;
  std::string name() const override { return "TransposeBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override { return {transpose(grads[0], dim0, dim1)}; }
};
}  // namespace

Tensor permute(const Tensor& t, const Dims& order) {
  Tensor out = core::permute(t, order);
  if (auto node = record<PermuteBackward>(out, {t})) {
    node->inverse = Dims::filled(order.size(), 0);
    for (int i = 0; i < order.size(); ++i) node->inverse[wrap_dim(order[i], t.dim(), "permute")] = i;
  }
  return as_view(out, t);
}

Tensor transpose(const Tensor& t, int64_t dim0, int64_t dim1) {
  Tensor out = core::transpose(t, dim0, dim1);
  if (auto node = record<TransposeBackward>(out, {t})) {
    node->dim0 = dim0;
    node->dim1 = dim1;
  }
  return as_view(out, t);
}

// ---- slice, select: the gradient is placed into zeros at the viewed positions ----
//
// Placing is itself differentiable (its backward slices again), so that create_graph works.

namespace {
struct Placement {
  bool is_select = false;
  int64_t dim = 0, start = 0, end = 0, step = 1;  // slice
  int64_t index = 0;                               // select

  Tensor view_of(const Tensor& t) const { return is_select ? select(t, dim, index) : slice(t, dim, start, end, step); }
};

Tensor place_into_zeros(const Tensor& grad, const Dims& shape, const Placement& where);

struct PlaceBackward : Node {  // backward of place_into_zeros: view the gradient again
  Placement placement;
  std::string name() const override { return "PlaceIntoZerosBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override { return {placement.view_of(grads[0])}; }
};

Tensor place_into_zeros(const Tensor& grad, const Dims& shape, const Placement& where) {
  Tensor out = core::zeros(shape, {.dtype = grad.dtype()});
  Tensor target = where.is_select ? core::select(out, where.dim, where.index)
                                  : core::slice(out, where.dim, where.start, where.end, where.step);
  core::copy_(target, grad);
  if (auto node = record<PlaceBackward>(out, {grad})) node->placement = where;
  return out;
}

struct SliceBackward : Node {
  Placement placement;
  std::string name() const override { return placement.is_select ? "SelectBackward" : "SliceBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    return {place_into_zeros(grads[0], input_meta(0).shape, placement)};
  }
};

Tensor record_placement(Tensor out, const Tensor& in, const Placement& placement) {
  if (auto node = record<SliceBackward>(out, {in})) node->placement = placement;
  return as_view(out, in);
}
}  // namespace

Tensor slice(const Tensor& t, int64_t dim, int64_t start, int64_t end, int64_t step) {
  return record_placement(core::slice(t, dim, start, end, step), t,
                          {.is_select = false, .dim = dim, .start = start, .end = end, .step = step});
}
Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length) {
  Tensor out = core::narrow(t, dim, start, length);
  int64_t first = start < 0 ? start + t.size(dim) : start;
  return record_placement(out, t, {.is_select = false, .dim = dim, .start = first, .end = first + length, .step = 1});
}
Tensor select(const Tensor& t, int64_t dim, int64_t index) {
  return record_placement(core::select(t, dim, index), t, {.is_select = true, .dim = dim, .index = index});
}

// ---- expand: the gradient is summed over the broadcast dims ----

namespace {
struct ExpandBackward : Node {
  std::string name() const override { return "ExpandBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    return {autograd::sum_to(grads[0], input_meta(0).shape)};
  }
};
}  // namespace

Tensor expand(const Tensor& t, const Dims& sizes) {
  Tensor out = core::expand(t, sizes);
  record<ExpandBackward>(out, {t});
  return as_view(out, t);
}
Tensor broadcast_to(const Tensor& t, const Dims& sizes) { return expand(t, sizes); }

// ---- copies: the gradient passes through (cast back to the input's dtype for to) ----

namespace {
struct CopyBackward : autograd::NamedNode {
  using NamedNode::NamedNode;
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    const Tensor& g = grads[0];
    return {g.dtype() == input_meta(0).dtype ? g : to(g, input_meta(0).dtype)};
  }
};

Tensor record_copy(Tensor out, const Tensor& in, const char* name) {
  record<CopyBackward>(out, {in}, name);
  return out;
}
}  // namespace

Tensor contiguous(const Tensor& t) { return record_copy(core::contiguous(t), t, "ContiguousBackward"); }
Tensor clone(const Tensor& t) { return record_copy(core::clone(t), t, "CloneBackward"); }
Tensor to(const Tensor& t, DType dtype) {
  if (autograd::grad_mode_enabled() && t.requires_grad()) {
    check<DTypeError>(is_floating(dtype), "to: a tensor that requires grad cannot become {} (not differentiable)",
                      dtype);
  }
  return record_copy(core::to(t, dtype), t, "ToBackward");
}

Tensor as_strided(const Tensor& t, const Dims& sizes, const Dims& strides, int64_t offset) {
  check<Error>(!autograd::needs_grad({t}),
               "as_strided: not differentiable; the input of shape {} requires grad (use NoGradGuard or detach)",
               t.sizes());
  return core::as_strided(t, sizes, strides, offset);
}

}  // namespace descent
