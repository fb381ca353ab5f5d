// Recording nodes, reducing broadcast gradients, and in-place ops on tensors in the graph.
#include <descent/autograd/record.h>

#include <descent/autograd/ops.h>

namespace descent::autograd {

namespace {
template <typename Inputs>
void connect_node(Node& node, const std::shared_ptr<Node>& owner, std::span<const Tensor> outputs,
                  const Inputs& inputs) {
  for (const Tensor& in : inputs) node.add_input(in);
  node.set_num_outputs(static_cast<uint32_t>(outputs.size()));
  for (size_t k = 0; k < outputs.size(); ++k) {
    const Tensor& out = outputs[k];
    if (!out.is_floating_point()) {  // node.name() builds a string: only on failure
      throw DTypeError(fmt::format("{}: output {} of dtype {} cannot require grad", node.name(), k, out.dtype()));
    }
    out.impl()->requires_grad = true;
    AutogradMeta& meta = autograd_meta(out);
    meta.grad_fn = owner;
    meta.output_nr = static_cast<uint32_t>(k);
  }
  if (anomaly_mode_enabled()) {
    std::string shapes;
    for (const Tensor& in : inputs) {
      shapes += (shapes.empty() ? " of " : " and ") + (in.defined() ? fmt::format("{}", in.sizes()) : "None");
    }
    node.set_forward_inputs(std::move(shapes));
  }
}
}  // namespace

void detail::connect(Node& node, const std::shared_ptr<Node>& owner, std::span<const Tensor> outputs,
                     std::span<const Tensor> inputs) {
  connect_node(node, owner, outputs, inputs);
}
void detail::connect(Node& node, const std::shared_ptr<Node>& owner, std::span<const Tensor> outputs,
                     InputRefs inputs) {
  connect_node(node, owner, outputs, inputs);
}

Tensor sum_to(const Tensor& grad, const Dims& shape) {
  if (grad.sizes() == shape) return grad;
  int lead = grad.dim() - shape.size();
  check<ShapeError>(lead >= 0, "sum_to: gradient of shape {} cannot be reduced to {}", grad.sizes(), shape);
  Dims dims;
  for (int d = 0; d < grad.dim(); ++d) {
    if (d < lead || (shape[d - lead] == 1 && grad.sizes()[d] != 1)) dims.push_back(d);
  }
  Tensor reduced = dims.empty() ? grad : descent::sum(grad, dims, /*keepdim=*/true);
  return descent::reshape(reduced, shape);
}

Tensor reduce_to_input(const Tensor& grad, const InputMeta& meta) {
  Tensor reduced = sum_to(grad, meta.shape);
  return reduced.dtype() == meta.dtype ? reduced : reduced.to(meta.dtype);
}

void mark_as_view(const Tensor& view, const Tensor& base) {
  if (!view.requires_grad()) return;
  AutogradMeta& meta = autograd_meta(view);
  meta.is_view = true;
  AutogradMeta* base_meta = autograd_meta_if(base);
  meta.view_base = base_meta != nullptr && base_meta->is_view ? base_meta->view_base : base;
}

void check_in_place(const Tensor& self, const char* op) {
  if (!grad_mode_enabled() || !self.requires_grad()) return;
  AutogradMeta* meta = autograd_meta_if(self);
  check<Error>(meta != nullptr && meta->grad_fn != nullptr,
               "{}: a leaf tensor of shape {} that requires grad cannot be changed in place (wrap the update in "
               "a NoGradGuard)",
               op, self.sizes());
  if (!meta->is_view) return;
  AutogradMeta* base_meta = autograd_meta_if(meta->view_base);
  check<Error>(base_meta != nullptr && base_meta->grad_fn != nullptr,
               "{}: a view (shape {}) of a leaf tensor of shape {} that requires grad cannot be changed in place "
               "(wrap the update in a NoGradGuard)",
               op, self.sizes(), meta->view_base.sizes());
}

void check_untracked_in_place(const Tensor& self, const char* op) {
  check<Error>(!grad_mode_enabled() || !self.requires_grad(),
               "{}: in-place change of a tensor (shape {}) that requires grad is not supported outside a "
               "NoGradGuard",
               op, self.sizes());
}

Tensor in_place_operand(const Tensor& self, bool backward_reads_self) {
  return backward_reads_self ? descent::clone(self) : self;
}

namespace {

// Calls fn(storage offset) for each element of t in row-major order.
template <typename Fn>
void for_each_offset(const Tensor& t, const Fn& fn) {
  if (t.numel() == 0) return;
  std::vector<int64_t> index(static_cast<size_t>(t.dim()), 0);
  int64_t offset = t.offset();
  for (int64_t n = 0; n < t.numel(); ++n) {
    fn(offset);
    for (int d = t.dim() - 1; d >= 0; --d) {
      if (++index[d] < t.size(d)) {
        offset += t.strides()[d];
        break;
      }
      offset -= (t.size(d) - 1) * t.strides()[d];
      index[d] = 0;
    }
  }
}

// A view's elements, in its row-major order, as flat (row-major) indices into its base.
std::vector<int64_t> view_positions(const Tensor& view, const Tensor& base) {
  // Storage offset -> the base's flat index, over the span of storage the base covers.
  int64_t low = base.offset(), high = base.offset();
  for (int d = 0; d < base.dim(); ++d) high += (base.size(d) - 1) * base.strides()[d];
  std::vector<int64_t> flat_index(static_cast<size_t>(high - low + 1), -1);
  int64_t n = 0;
  for_each_offset(base, [&](int64_t offset) { flat_index[offset - low] = n++; });
  std::vector<int64_t> positions;
  positions.reserve(static_cast<size_t>(view.numel()));
  for_each_offset(view, [&](int64_t offset) {
    const int64_t index = offset >= low && offset <= high ? flat_index[offset - low] : -1;
    check<Error>(index >= 0, "in-place change of a view of shape {} reaches outside its base of shape {}",
                 view.sizes(), base.sizes());
    positions.push_back(index);
  });
  return positions;
}

// PyTorch's CopySlices: the base after an in-place change of its view. Input 0 is the base's old
// history, which gets the gradient outside the view; input 1 the view's new value, which gets
// the gradient inside it. Written with public ops, so create_graph works through it.
struct CopySlicesBackward : Node {
  Tensor positions;     // [numel of the view] int64: the view's elements as flat base indices
  Tensor outside_view;  // the base's shape, base dtype: 1 outside the view, 0 inside (a constant)
  Dims view_shape;
  std::string name() const override { return "CopySlicesBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    const Tensor& g = grads[0];
    std::vector<Tensor> result(2);
    if (needs_input_grad(0)) result[0] = mul(g, outside_view);
    if (needs_input_grad(1)) result[1] = reshape(index_select(reshape(g, {-1}), 0, positions), view_shape);
    return result;
  }
};

// Rewrites the history of the base of `view` after `result` was copied into the view.
void rebase_view_in_place(const Tensor& view, const Tensor& result) {
  AutogradMeta& view_meta = autograd_meta(view);
  const Tensor base = view_meta.view_base;
  std::vector<int64_t> flat = view_positions(view, base);
  std::vector<double> outside(static_cast<size_t>(base.numel()), 1.0);
  for (int64_t i : flat) outside[i] = 0.0;
  Tensor positions = core::tensor(flat);
  // The node goes onto an alias first (record skips an output that is one of the inputs).
  Tensor base_alias = base.detach();
  auto node = record<CopySlicesBackward>(base_alias, {base, result});
  node->positions = positions;
  node->view_shape = view.sizes();
  node->outside_view = core::tensor(outside, base.sizes()).to(base.dtype());
  AutogradMeta& base_meta = autograd_meta(base);
  base_meta.grad_fn = autograd_meta(base_alias).grad_fn;
  base_meta.output_nr = 0;
  // The view's own history is now that of its place in the new base.
  Tensor regenerated = reshape(index_select(reshape(base, {-1}), 0, positions), view.sizes());
  view_meta.grad_fn = autograd_meta(regenerated).grad_fn;
  view_meta.output_nr = autograd_meta(regenerated).output_nr;
}

}  // namespace

void rebase_in_place(const Tensor& self, const Tensor& result) {
  core::copy_(self, result);
  if (!result.requires_grad()) return;
  AutogradMeta& to = autograd_meta(self);
  if (to.is_view) {
    rebase_view_in_place(self, result);
    return;
  }
  AutogradMeta& from = autograd_meta(result);
  self.impl()->requires_grad = true;
  to.grad_fn = from.grad_fn;
  to.output_nr = from.output_nr;
}

}  // namespace descent::autograd
