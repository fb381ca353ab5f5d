// The backward engine. One pass: count how many edges lead into each node reachable from the
// outputs, then run nodes whose count reached zero (latest-created first), each with the sum of
// the gradients that flowed into it, checking what every node returns. Iterative throughout.
#include "autograd/engine.h"

#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "autograd/graph.h"
#include "autograd/ops.h"

namespace descent::autograd {

namespace {

// Sets grad mode for the duration of a backward pass (create_graph records the backward).
class GradModeScope {
 public:
  explicit GradModeScope(bool enabled) : previous_(grad_mode_enabled()) { set_grad_mode(enabled); }
  ~GradModeScope() { set_grad_mode(previous_); }

 private:
  bool previous_;
};

struct LaterFirst {
  bool operator()(const Node* a, const Node* b) const { return a->sequence_nr() < b->sequence_nr(); }
};

// The gradient that seeds output i: given, or 1 for a one-element output.
Tensor seed_gradient(const Tensor& output, const std::vector<Tensor>& grad_outputs, size_t i, const char* op) {
  if (grad_outputs.empty() || !grad_outputs[i].defined()) {
    check<Error>(output.numel() == 1,
                 "{}: a gradient can be created implicitly only for a one-element output, not for shape {}; "
                 "pass the gradient explicitly",
                 op, output.sizes());
    return core::ones_like(output);
  }
  const Tensor& g = grad_outputs[i];
  check<ShapeError>(g.sizes() == output.sizes(), "{}: gradient of shape {} given for output {} of shape {}", op,
                    g.sizes(), i, output.sizes());
  check<DTypeError>(g.dtype() == output.dtype(), "{}: gradient of dtype {} given for output {} of dtype {}", op,
                    g.dtype(), i, output.dtype());
  return g;
}

// Checks what `node` returned for its inputs against their recorded metadata.
void validate_gradients(const Node& node, const std::vector<Tensor>& gradients) {
  check<Error>(gradients.size() == node.num_inputs(), "backward: {} returned {} gradients for {} inputs",
               node.name(), gradients.size(), node.num_inputs());
  for (size_t i = 0; i < gradients.size(); ++i) {
    const Tensor& g = gradients[i];
    if (!g.defined() || !node.needs_input_grad(i)) continue;
    const InputMeta& meta = node.input_meta(i);
    check<ShapeError>(g.sizes() == meta.shape, "backward: {} returned a gradient of shape {} for input {} of shape {}",
                      node.name(), g.sizes(), i, meta.shape);
    check<DTypeError>(g.dtype() == meta.dtype, "backward: {} returned a gradient of dtype {} for input {} of dtype {}",
                      node.name(), g.dtype(), i, meta.dtype);
    if (anomaly_mode_enabled()) {
      bool finite = core::all(core::isfinite(g)).item<bool>();
      check<Error>(finite, "anomaly: {} returned NaN or Inf in the gradient for input {} (shape {}); it was created by {}",
                   node.name(), i, meta.shape,
                   node.forward_context().empty() ? std::string("an op outside anomaly mode") : node.forward_context());
    }
  }
}

// A gradient flowing into `slot`: the first is kept, later ones are added.
void accumulate(Tensor& slot, Tensor gradient) {
  if (!slot.defined()) {
    slot = std::move(gradient);
  } else {
    slot = grad_mode_enabled() ? descent::add(slot, gradient) : core::add(slot, gradient);
  }
}

struct CaptureTarget {
  Node* node;
  uint32_t input_nr;
};

// Runs the graph below `roots`. With `captures`, stores the gradient flowing into each target
// instead of accumulating into leaves, and runs only the nodes that lead to a target.
void run_graph(const std::vector<Edge>& roots, std::vector<Tensor> root_gradients, bool keep_graph,
               bool create_graph, const std::vector<CaptureTarget>* captures, std::vector<Tensor>* captured,
               std::vector<bool>* reached) {
  // 1. Dependencies: how many edges lead into each reachable node.
  std::unordered_map<Node*, int> dependencies;
  {
    std::vector<Node*> stack;
    std::unordered_set<Node*> seen;
    for (const Edge& root : roots) {
      if (seen.insert(root.node.get()).second) stack.push_back(root.node.get());
    }
    while (!stack.empty()) {
      Node* node = stack.back();
      stack.pop_back();
      for (const Edge& edge : node->next_edges()) {
        if (!edge.valid()) continue;
        ++dependencies[edge.node.get()];
        if (seen.insert(edge.node.get()).second) stack.push_back(edge.node.get());
      }
    }
  }

  // 2. With captures: a node is needed if it is a target or leads to one. A post-order walk
  // (inputs before their consumers) decides each node after all of its inputs.
  std::unordered_set<Node*> needed;
  if (captures != nullptr) {
    std::unordered_set<Node*> targets;
    for (size_t k = 0; k < captures->size(); ++k) {
      Node* target = (*captures)[k].node;
      targets.insert(target);
      (*reached)[k] = dependencies.count(target) > 0 ||
                      std::any_of(roots.begin(), roots.end(), [&](const Edge& r) { return r.node.get() == target; });
    }
    std::unordered_set<Node*> visited;
    std::vector<std::pair<Node*, size_t>> stack;  // node, next edge to look at
    for (const Edge& root : roots) {
      if (visited.insert(root.node.get()).second) stack.push_back({root.node.get(), 0});
      while (!stack.empty()) {
        auto& [node, edge_index] = stack.back();
        if (edge_index < node->num_inputs()) {
          const Edge& edge = node->next_edge(edge_index++);
          if (edge.valid() && visited.insert(edge.node.get()).second) stack.push_back({edge.node.get(), 0});
          continue;
        }
        bool leads = targets.count(node) > 0;
        for (const Edge& edge : node->next_edges()) leads = leads || (edge.valid() && needed.count(edge.node.get()));
        if (leads) needed.insert(node);
        stack.pop_back();
      }
    }
  }

  // 3. Seed the roots and run nodes as their dependencies reach zero.
  std::unordered_map<Node*, std::vector<Tensor>> buffers;
  auto buffer_of = [&](Node* node) -> std::vector<Tensor>& {
    auto [it, inserted] = buffers.try_emplace(node);
    if (inserted) it->second.resize(node->num_outputs());
    return it->second;
  };
  std::priority_queue<Node*, std::vector<Node*>, LaterFirst> ready;
  std::unordered_set<Node*> queued_roots;
  for (size_t i = 0; i < roots.size(); ++i) {
    accumulate(buffer_of(roots[i].node.get())[roots[i].input_nr], std::move(root_gradients[i]));
  }
  for (const Edge& root : roots) {
    Node* node = root.node.get();
    if (dependencies[node] == 0 && queued_roots.insert(node).second) ready.push(node);
  }

  GradModeScope mode(create_graph);
  while (!ready.empty()) {
    Node* node = ready.top();
    ready.pop();
    std::vector<Tensor> grads = std::move(buffer_of(node));
    buffers.erase(node);
    node->run_pre_hooks(grads);

    bool run = true;
    if (captures != nullptr) {
      for (size_t k = 0; k < captures->size(); ++k) {
        if ((*captures)[k].node == node) (*captured)[k] = grads[(*captures)[k].input_nr];
      }
      // grad() never touches .grad: leaves' accumulators are targets, not work.
      run = needed.count(node) > 0 && dynamic_cast<AccumulateGrad*>(node) == nullptr;
    }
    run = run && std::any_of(grads.begin(), grads.end(), [](const Tensor& g) { return g.defined(); });

    std::vector<Tensor> gradients;
    if (run) {
      gradients = node->apply(std::move(grads));
      validate_gradients(*node, gradients);
      if (!keep_graph) {
        node->release_saved();
        node->mark_released();
      }
    }
    for (size_t i = 0; i < node->num_inputs(); ++i) {
      const Edge& edge = node->next_edge(i);
      if (!edge.valid()) continue;
      Node* next = edge.node.get();
      if (i < gradients.size() && gradients[i].defined()) {
        accumulate(buffer_of(next)[edge.input_nr], std::move(gradients[i]));
      }
      if (--dependencies[next] == 0) ready.push(next);
    }
  }
}

std::vector<Edge> root_edges(const std::vector<Tensor>& outputs, const char* op) {
  std::vector<Edge> roots;
  for (size_t i = 0; i < outputs.size(); ++i) {
    check<Error>(outputs[i].defined(), "{}: output {} is an undefined tensor", op, i);
    Edge edge = gradient_edge(outputs[i]);
    check<Error>(edge.valid(), "{}: output {} (shape {}) does not require grad and has no grad_fn", op, i,
                 outputs[i].sizes());
    roots.push_back(std::move(edge));
  }
  return roots;
}

std::vector<Tensor> seed_gradients(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs,
                                   const char* op) {
  check<Error>(grad_outputs.empty() || grad_outputs.size() == outputs.size(),
               "{}: {} gradients given for {} outputs", op, grad_outputs.size(), outputs.size());
  std::vector<Tensor> seeds;
  for (size_t i = 0; i < outputs.size(); ++i) seeds.push_back(seed_gradient(outputs[i], grad_outputs, i, op));
  return seeds;
}

}  // namespace

void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs, BackwardOptions options) {
  std::vector<Edge> roots = root_edges(outputs, "backward");
  std::vector<Tensor> seeds = seed_gradients(outputs, grad_outputs, "backward");
  run_graph(roots, std::move(seeds), options.retain_graph.value_or(options.create_graph), options.create_graph,
            nullptr, nullptr, nullptr);
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs, GradOptions options) {
  std::vector<Edge> roots = root_edges(outputs, "grad");
  std::vector<Tensor> seeds = seed_gradients(outputs, options.grad_outputs, "grad");
  std::vector<CaptureTarget> captures;
  std::vector<Edge> input_edges;  // keeps the targets alive while the graph runs
  for (size_t k = 0; k < inputs.size(); ++k) {
    check<Error>(inputs[k].defined() && inputs[k].requires_grad(), "grad: input {} (shape {}) does not require grad",
                 k, inputs[k].defined() ? inputs[k].sizes() : Dims{});
    input_edges.push_back(gradient_edge(inputs[k]));
    captures.push_back({input_edges.back().node.get(), input_edges.back().input_nr});
  }
  std::vector<Tensor> captured(inputs.size());
  std::vector<bool> reached(inputs.size());
  run_graph(roots, std::move(seeds), options.retain_graph.value_or(options.create_graph), options.create_graph,
            &captures, &captured, &reached);
  for (size_t k = 0; k < inputs.size(); ++k) {
    check<Error>(reached[k] || options.allow_unused,
                 "grad: input {} (shape {}) was not used to compute the outputs; pass allow_unused = true if "
                 "that is expected",
                 k, inputs[k].sizes());
  }
  return captured;
}

}  // namespace descent::autograd
