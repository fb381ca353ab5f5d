// The backward engine. One pass: count how many edges lead into each node reachable from the
// outputs, then run nodes whose count reached zero (latest-created first), each with the sum of
// the gradients that flowed into it, checking what every node returns. Iterative throughout.
#include <descent/autograd/engine.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <utility>

#include <descent/autograd/graph.h>
#include <descent/autograd/ops.h>

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


// The callbacks queued during the backward pass running on this thread (queue_callback), run in
// queue order after its last node; a callback may queue more. A pass started from inside another
// (a hook that calls backward) has its own list. A pass that throws drops its callbacks.
thread_local std::vector<std::function<void()>>* current_pass_callbacks = nullptr;

class PassCallbacks {
 public:
  PassCallbacks() : enclosing_(std::exchange(current_pass_callbacks, &callbacks_)) {}
  ~PassCallbacks() { current_pass_callbacks = enclosing_; }
  PassCallbacks(const PassCallbacks&) = delete;
  PassCallbacks& operator=(const PassCallbacks&) = delete;
  void run() {
    for (size_t i = 0; i < callbacks_.size(); ++i) {
      // NOTE: moved out before the call: a callback that queues another may grow the vector.
      std::function<void()> callback = std::move(callbacks_[i]);
      callback();
    }
  }

 private:
  std::vector<std::function<void()>> callbacks_;
  std::vector<std::function<void()>>* enclosing_;
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
  // NOTE: node.name() builds a string, so it is called only on failure (this runs per node).
  if (gradients.size() != node.num_inputs()) {
    throw Error(fmt::format("backward: {} returned {} gradients for {} inputs", node.name(), gradients.size(),
                            node.num_inputs()));
  }
  for (size_t i = 0; i < gradients.size(); ++i) {
    const Tensor& g = gradients[i];
    if (!g.defined() || !node.needs_input_grad(i)) continue;
    const InputMeta& meta = node.input_meta(i);
    if (g.sizes() != meta.shape) {
      throw ShapeError(fmt::format("backward: {} returned a gradient of shape {} for input {} of shape {}",
                                   node.name(), g.sizes(), i, meta.shape));
    }
    if (g.dtype() != meta.dtype) {
      throw DTypeError(fmt::format("backward: {} returned a gradient of dtype {} for input {} of dtype {}",
                                   node.name(), g.dtype(), i, meta.dtype));
    }
    if (anomaly_mode_enabled()) {
      bool finite = core::all(core::isfinite(g)).item<bool>();
      check<Error>(finite, "anomaly: {} returned NaN or Inf in the gradient for input {} (shape {}); it was created by {}",
                   node.name(), i, meta.shape,
                   node.forward_context().empty() ? std::string("an op outside anomaly mode") : node.forward_context());
    }
  }
}

// A gradient flowing into `slot`: the first is kept, later ones are added. A sum that only the
// slot holds is added into in place (a leaf used by a thousand ops gets a thousand gradients).
// NOTE: gradients are often shared (add's backward hands one tensor to both inputs, a node may
// keep what it returned), so in place only when is_exclusive_gradient says nobody else sees it.
void accumulate(Tensor& slot, Tensor gradient) {
  if (!slot.defined()) {
    slot = std::move(gradient);
  } else if (grad_mode_enabled()) {
    slot = descent::add(slot, gradient);  // create_graph: the sum is differentiable
  } else if (is_exclusive_gradient(slot) && slot.sizes() == gradient.sizes() && slot.dtype() == gradient.dtype()) {
    core::add_(slot, gradient);
  } else {
    slot = core::add(slot, gradient);
  }
}

struct CaptureTarget {
  Node* node;
  uint32_t input_nr;
};

// What one backward pass knows about a node reachable from its roots.
struct NodeState {
  Node* node = nullptr;
  uint64_t sequence_nr = 0;
  int dependencies = 0;        // edges from nodes that have not run yet
  bool queued = false;         // a root already put on the ready queue
  bool target = false;         // grad(): a node whose incoming gradient is captured
  bool visited = false;        // grad(): seen by the post-order walk
  bool needed = false;         // grad(): a target or leads to one
  std::vector<Tensor> buffer;  // the gradients flowing into its outputs, sized on first use
};

// The states of the reachable nodes, found by node address through an open-addressing table
// (linear probing, at most half full): one lookup is a hash and a probe or two, and a pass
// allocates a few arrays instead of a hash-map entry per node.
class NodeTable {
 public:
  static constexpr uint32_t kAbsent = UINT32_MAX;

  NodeTable() : slots_(kInitialSlots, kEmpty) {}

  // The index of node's state, added if new; whether it was added.
  std::pair<uint32_t, bool> insert(Node* node) {
    size_t slot = probe(node);
    if (slots_[slot] != kEmpty) return {slots_[slot], false};
    uint32_t index = static_cast<uint32_t>(states_.size());
    NodeState& state = states_.emplace_back();
    state.node = node;
    state.sequence_nr = node->sequence_nr();
    slots_[slot] = index;
    if (2 * states_.size() > slots_.size()) grow();
    return {index, true};
  }
  uint32_t find(Node* node) const {
    uint32_t index = slots_[probe(node)];
    return index == kEmpty ? kAbsent : index;
  }
  NodeState& operator[](uint32_t index) { return states_[index]; }
  NodeState& at(Node* node) { return states_[find(node)]; }  // node must be in the table

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;
  static constexpr size_t kInitialSlots = 64;

  // The slot holding node, or the empty slot where it would go.
  size_t probe(Node* node) const {
    // Fibonacci hashing of the address (nodes are at least 16-byte aligned).
    size_t mask = slots_.size() - 1;
    size_t slot = static_cast<size_t>((reinterpret_cast<uintptr_t>(node) >> 4) * 0x9E3779B97F4A7C15ull) & mask;
    while (slots_[slot] != kEmpty && states_[slots_[slot]].node != node) slot = (slot + 1) & mask;
    return slot;
  }
  void grow() {
    slots_.assign(2 * slots_.size(), kEmpty);
    for (uint32_t index = 0; index < states_.size(); ++index) slots_[probe(states_[index].node)] = index;
  }

  std::vector<uint32_t> slots_;  // state indices, kEmpty where free; a power of two long
  std::vector<NodeState> states_;
};

// Runs the graph below `roots`. With `captures`, stores the gradient flowing into each target
// instead of accumulating into leaves, and runs only the nodes that lead to a target.
void run_graph(const std::vector<Edge>& roots, std::vector<Tensor> root_gradients, bool keep_graph,
               bool create_graph, const std::vector<CaptureTarget>* captures, std::vector<Tensor>* captured,
               std::vector<bool>* reached) {
  // 1. Dependencies: how many edges lead into each reachable node.
  NodeTable table;
  {
    std::vector<uint32_t> stack;
    for (const Edge& root : roots) {
      auto [index, added] = table.insert(root.node.get());
      if (added) stack.push_back(index);
    }
    while (!stack.empty()) {
      Node* node = table[stack.back()].node;
      stack.pop_back();
      for (const Edge& edge : node->next_edges()) {
        if (!edge.valid()) continue;
        auto [index, added] = table.insert(edge.node.get());
        ++table[index].dependencies;
        if (added) stack.push_back(index);
      }
    }
  }

  // 2. With captures: a node is needed if it is a target or leads to one. A post-order walk
  // (inputs before their consumers) decides each node after all of its inputs.
  if (captures != nullptr) {
    for (size_t k = 0; k < captures->size(); ++k) {
      uint32_t index = table.find((*captures)[k].node);
      (*reached)[k] = index != NodeTable::kAbsent;
      if (index != NodeTable::kAbsent) table[index].target = true;
    }
    std::vector<std::pair<uint32_t, size_t>> stack;  // node state, next edge to look at
    for (const Edge& root : roots) {
      uint32_t root_index = table.find(root.node.get());
      if (table[root_index].visited) continue;
      table[root_index].visited = true;
      stack.push_back({root_index, 0});
      while (!stack.empty()) {
        auto& [index, edge_index] = stack.back();
        Node* node = table[index].node;
        if (edge_index < node->num_inputs()) {
          const Edge& edge = node->next_edge(edge_index++);
          if (!edge.valid()) continue;
          NodeState& next = table.at(edge.node.get());
          if (!next.visited) {
            next.visited = true;
            stack.push_back({table.find(edge.node.get()), 0});
          }
          continue;
        }
        bool leads = table[index].target;
        for (const Edge& edge : node->next_edges()) leads = leads || (edge.valid() && table.at(edge.node.get()).needed);
        table[index].needed = leads;
        stack.pop_back();
      }
    }
  }

  // 3. Seed the roots and run nodes as their dependencies reach zero, latest-created first.
  // NOTE: every node takes a vector for the gradients flowing into it and returns another; the
  // emptied ones are kept (up to kSpareVectors) and reused as buffers, instead of a malloc and a
  // free per vector.
  constexpr size_t kSpareVectors = 32;
  std::vector<std::vector<Tensor>> spares;
  auto recycle = [&](std::vector<Tensor>& used) {
    if (used.capacity() == 0 || spares.size() == kSpareVectors) return;
    used.clear();
    spares.push_back(std::move(used));
  };
  auto buffer_of = [&](uint32_t index) -> std::vector<Tensor>& {
    NodeState& state = table[index];
    if (state.buffer.empty()) {
      if (!spares.empty()) {
        state.buffer = std::move(spares.back());
        spares.pop_back();
      }
      state.buffer.resize(state.node->num_outputs());
    }
    return state.buffer;
  };
  std::vector<std::pair<uint64_t, uint32_t>> ready;  // a max-heap of (sequence number, state)
  auto push_ready = [&](uint32_t index) {
    ready.push_back({table[index].sequence_nr, index});
    std::push_heap(ready.begin(), ready.end());
  };
  for (size_t i = 0; i < roots.size(); ++i) {
    accumulate(buffer_of(table.find(roots[i].node.get()))[roots[i].input_nr], std::move(root_gradients[i]));
  }
  for (const Edge& root : roots) {
    uint32_t index = table.find(root.node.get());
    if (table[index].dependencies == 0 && !table[index].queued) {
      table[index].queued = true;
      push_ready(index);
    }
  }

  PassCallbacks callbacks;  // what hooks and nodes of this pass queue_callback()
  GradModeScope mode(create_graph);
  while (!ready.empty()) {
    std::pop_heap(ready.begin(), ready.end());
    uint32_t index = ready.back().second;
    ready.pop_back();
    Node* node = table[index].node;
    std::vector<Tensor> grads = std::move(buffer_of(index));
    table[index].buffer = std::vector<Tensor>();
    node->run_pre_hooks(grads);

    bool run = true;
    if (captures != nullptr) {
      for (size_t k = 0; k < captures->size(); ++k) {
        if ((*captures)[k].node == node) (*captured)[k] = grads[(*captures)[k].input_nr];
      }
      // grad() never touches .grad: leaves' accumulators are targets, not work.
      run = table[index].needed && dynamic_cast<AccumulateGrad*>(node) == nullptr;
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
    recycle(grads);
    for (size_t i = 0; i < node->num_inputs(); ++i) {
      const Edge& edge = node->next_edge(i);
      if (!edge.valid()) continue;
      uint32_t next = table.find(edge.node.get());
      if (i < gradients.size() && gradients[i].defined()) {
        accumulate(buffer_of(next)[edge.input_nr], std::move(gradients[i]));
      }
      if (--table[next].dependencies == 0) push_ready(next);
    }
    recycle(gradients);
  }
  callbacks.run();
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

void queue_callback(std::function<void()> callback) {
  check<Error>(current_pass_callbacks != nullptr,
               "queue_callback: no backward pass is running on this thread (call it from a hook during backward)");
  current_pass_callbacks->push_back(std::move(callback));
}

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
