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

void mark_as_view(const Tensor& view) {
  if (view.requires_grad()) autograd_meta(view).is_view = true;
}

void check_in_place(const Tensor& self, const char* op) {
  if (!grad_mode_enabled() || !self.requires_grad()) return;
  AutogradMeta* meta = autograd_meta_if(self);
  check<Error>(meta != nullptr && meta->grad_fn != nullptr,
               "{}: a leaf tensor of shape {} that requires grad cannot be changed in place (wrap the update in "
               "a NoGradGuard)",
               op, self.sizes());
  check<Error>(!meta->is_view,
               "{}: in-place change of a view (shape {}) of a tensor that requires grad is not supported; "
               "clone the view first",
               op, self.sizes());
}

void check_untracked_in_place(const Tensor& self, const char* op) {
  check<Error>(!grad_mode_enabled() || !self.requires_grad(),
               "{}: in-place change of a tensor (shape {}) that requires grad is not supported outside a "
               "NoGradGuard",
               op, self.sizes());
}

void rebase_in_place(const Tensor& self, const Tensor& result) {
  core::copy_(self, result);
  if (!result.requires_grad()) return;
  AutogradMeta& from = autograd_meta(result);
  AutogradMeta& to = autograd_meta(self);
  self.impl()->requires_grad = true;
  to.grad_fn = from.grad_fn;
  to.output_nr = from.output_nr;
}

}  // namespace descent::autograd
