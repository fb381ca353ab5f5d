// How a differentiable op records itself: after computing its output with a core kernel, it asks
// record<ItsBackward>(output, {inputs...}) for a node. The answer is null when nothing needs a
// gradient (grad mode off, or no input requires grad); otherwise a node wired to the inputs'
// edges, already set as the output's grad_fn, in which the op saves what its backward needs:
//
//   Tensor mul(const Tensor& a, const Tensor& b) {
//     Tensor out = core::mul(a, b);
//     if (auto node = record<MulBackward>(out, {a, b})) {
//       if (node->needs_input_grad(0)) node->b = SavedTensor(b, false);
//       if (node->needs_input_grad(1)) node->a = SavedTensor(a, false);
//     }
//     return out;
//   }
//
// Backward formulas are written with the public (differentiable) ops, so that create_graph
// records the backward too. NOTE: a node keeps tensors only through SavedTensor, never as a plain
// Tensor member of a non-leaf: a plain member would own the input's node and break both the
// version check and the non-recursive destruction of long graphs.
#pragma once

#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <vector>

#include <descent/autograd/graph.h>

namespace descent::autograd {

// The inputs an op names in record<NodeT>(out, {a, b}): references, so that listing them copies no
// tensor handle (each copy is a locked reference-count change, and an op lists its inputs twice).
using InputRefs = std::initializer_list<std::reference_wrapper<const Tensor>>;

namespace detail {
template <typename Inputs>
bool any_requires_grad(const Inputs& inputs) {
  for (const Tensor& t : inputs) {
    if (t.defined() && t.requires_grad()) return true;
  }
  return false;
}
}  // namespace detail
// Whether an op on these inputs records a node.
inline bool needs_grad(std::span<const Tensor> inputs) {
  return grad_mode_enabled() && detail::any_requires_grad(inputs);
}
inline bool needs_grad(InputRefs inputs) { return grad_mode_enabled() && detail::any_requires_grad(inputs); }

namespace detail {
// Wires `node` to the inputs and makes it the grad_fn of outputs (in order), which must be
// floating; records the forward context in anomaly mode.
void connect(Node& node, const std::shared_ptr<Node>& owner, std::span<const Tensor> outputs,
             std::span<const Tensor> inputs);
void connect(Node& node, const std::shared_ptr<Node>& owner, std::span<const Tensor> outputs, InputRefs inputs);

// A new NodeT made from args, or null when no input needs a gradient or an output is one of the
// inputs (contiguous() of a contiguous tensor, say: it already carries that input's history).
template <typename NodeT, typename Inputs, typename... Args>
std::shared_ptr<NodeT> make_node(std::span<const Tensor> outputs, const Inputs& inputs, Args&&... args) {
  if (!needs_grad(inputs)) return nullptr;
  for (const Tensor& out : outputs) {
    for (const Tensor& in : inputs) {
      if (out.is_same(in)) return nullptr;
    }
  }
  auto node = std::allocate_shared<NodeT>(ObjectPool<NodeT>(), std::forward<Args>(args)...);
  connect(*node, node, outputs, inputs);
  return node;
}
}  // namespace detail

// A new NodeT for an op with these outputs and inputs, or null when no input needs a gradient.
// An output that is one of the inputs already carries that input's history: no node. Extra
// arguments go to NodeT's constructor (a NamedNode's name: record<UnaryBackward>(out, {x}, "ExpBackward")).
template <typename NodeT, typename... Args>
std::shared_ptr<NodeT> record(std::span<const Tensor> outputs, std::span<const Tensor> inputs, Args&&... args) {
  return detail::make_node<NodeT>(outputs, inputs, std::forward<Args>(args)...);
}
template <typename NodeT, typename... Args>
std::shared_ptr<NodeT> record(const Tensor& output, InputRefs inputs, Args&&... args) {
  return detail::make_node<NodeT>(std::span<const Tensor>(&output, 1), inputs, std::forward<Args>(args)...);
}
template <typename NodeT, typename... Args>
std::shared_ptr<NodeT> record(const Tensor& output, const std::vector<Tensor>& inputs, Args&&... args) {
  return detail::make_node<NodeT>(std::span<const Tensor>(&output, 1), std::span<const Tensor>(inputs),
                                  std::forward<Args>(args)...);
}

// The gradient of a broadcast input: grad summed over the dims that broadcasting added or
// stretched, so that it has `shape` again. Differentiable; returns grad itself when shapes match.
Tensor sum_to(const Tensor& grad, const Dims& shape);

// The gradient for input `meta` of a node: sum_to its shape, then cast to its dtype (an input
// of float32 broadcast against float64 gets a float32 gradient). Differentiable.
Tensor reduce_to_input(const Tensor& grad, const InputMeta& meta);

// View ops call this on their output (made from `base`): the view remembers its root base, whose
// history an in-place change of the view rewrites.
void mark_as_view(const Tensor& view, const Tensor& base);

// In-place ops on tensors in the graph (a.add_(b) with a or b requiring grad): `result` is the
// out-of-place value with its history; its data is copied into self and self takes over the
// history. For a view, the base's history is rewritten too (PyTorch's CopySlices): the base's
// gradient flows to its old history outside the view and to `result` inside it, and the view
// becomes a view of the new base. check_in_place throws for a leaf that requires grad (outside
// NoGradGuard) and for a view of one, naming `op`.
// NOTE: other views of the same base made before the change keep their old history (PyTorch
// regenerates them); use them after the change only through the base.
void check_in_place(const Tensor& self, const char* op);
// For in-place ops that autograd does not follow (uniform_, ...): throws when self requires grad
// and grad mode is on.
void check_untracked_in_place(const Tensor& self, const char* op);
void rebase_in_place(const Tensor& self, const Tensor& result);

// What an in-place op's out-of-place form runs on: self, or a clone of it (sharing self's
// history) when the backward reads self's value, so that the value it saves survives the
// overwrite (PyTorch saves the original self in that case too).
Tensor in_place_operand(const Tensor& self, bool backward_reads_self);

// An in-place op autograd follows: `kernel()` when no gradient is needed, else
// rebase_in_place(self, out_of_place(in_place_operand(self, backward_reads_self))).
template <typename Kernel, typename OutOfPlace>
void run_in_place(const Tensor& self, const Tensor& other, const char* op, bool backward_reads_self,
                  const Kernel& kernel, const OutOfPlace& out_of_place) {
  check_in_place(self, op);
  if (!needs_grad({self, other})) {
    kernel();
    return;
  }
  rebase_in_place(self, out_of_place(in_place_operand(self, backward_reads_self)));
}

}  // namespace descent::autograd
