// The backward engine: autograd::backward accumulates gradients into leaves' .grad,
// autograd::grad returns gradients of outputs with respect to chosen inputs without touching
// .grad. Both walk the graph iteratively (dependency counts and a ready queue), never by
// recursion, so a graph of any depth runs.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include <descent/core/tensor.h>

namespace descent::autograd {

struct BackwardOptions {
  std::optional<bool> retain_graph = std::nullopt;  // keep saved tensors; default: create_graph
  bool create_graph = false;                        // record the backward itself (higher orders)
};

struct GradOptions {
  // The gradient seeding each output; may be empty for one-element outputs (seeded with 1).
  std::vector<Tensor> grad_outputs = {};
  std::optional<bool> retain_graph = std::nullopt;  // default: create_graph
  bool create_graph = false;
  bool allow_unused = false;  // an input the outputs do not depend on gets an undefined gradient
};

// Gradients of `outputs` (each seeded with the matching grad_outputs entry, or 1 for a scalar
// output when grad_outputs is empty) accumulated into the .grad of every leaf they depend on.
void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs = {},
              BackwardOptions options = {});

// d(outputs)/d(inputs) contracted with options.grad_outputs: one gradient per input.
//   autograd::grad({y}, {x}, {.create_graph = true})
//   autograd::grad({y}, {x}, {.grad_outputs = {v}, .retain_graph = true})
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         GradOptions options = {});

// Runs `callback` on this thread once the backward pass that is running here (backward or grad)
// has run its last node and hook, in queue order, before that pass returns; the grad mode is the
// pass's. Call it from a hook or a node during the pass (outside one it throws). Data parallelism
// uses it to wait for the last gradient bucket at the end of backward (PyTorch's
// Variable._execution_engine.queue_callback). A pass that throws drops its callbacks.
void queue_callback(std::function<void()> callback);

}  // namespace descent::autograd
