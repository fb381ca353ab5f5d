// The graph that reverse-mode autograd records as the program runs: a Node per differentiable op
// (its backward), Edges to the nodes of its inputs, what it saved for backward (SavedTensor, with
// the version check), and the autograd slot of a tensor (AutogradMeta). Read this, then
// autograd/engine.cpp (how backward walks the graph), then any autograd/*_ops.cpp (how an op
// records its node beside its backward).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <descent/core/tensor.h>

namespace descent::autograd {

class Node;

// Where a gradient flows: into output `input_nr` of `node` (the backward of the op that produced
// the tensor, or the AccumulateGrad of a leaf).
struct Edge {
  std::shared_ptr<Node> node;
  uint32_t input_nr = 0;
  bool valid() const { return node != nullptr; }
};

// The shape and dtype an input had, against which the engine checks the gradient returned for it.
struct InputMeta {
  Dims shape;
  DType dtype = kFloat32;
};

// A vector whose first N elements live inside the object: a node of up to N inputs (nearly all
// of them) keeps its edges and their metadata without a heap allocation of its own.
template <typename T, size_t N>
class InlineVector {
 public:
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T* data() { return size_ <= N ? inline_.data() : heap_.data(); }
  const T* data() const { return size_ <= N ? inline_.data() : heap_.data(); }
  T& operator[](size_t i) { return data()[i]; }
  const T& operator[](size_t i) const { return data()[i]; }
  T* begin() { return data(); }
  T* end() { return data() + size_; }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size_; }

  // A new last element, default-constructed, to be filled in place.
  T& emplace_back() {
    if (size_ < N) return inline_[size_++];  // inline slots hold T() until used (see clear)
    if (size_ == N) {  // spill: from now on all elements live on the heap
      heap_.reserve(2 * N);
      for (T& x : inline_) heap_.push_back(std::exchange(x, T()));
    }
    ++size_;
    return heap_.emplace_back();
  }
  void push_back(T value) { emplace_back() = std::move(value); }
  void clear() {
    for (size_t i = 0; i < std::min(size_, N); ++i) inline_[i] = T();
    heap_.clear();
    size_ = 0;
  }

 private:
  std::array<T, N> inline_{};
  std::vector<T> heap_;
  size_t size_ = 0;
};

// A hook on a tensor's gradient: returns a replacement, or an undefined Tensor to keep it.
using GradHook = std::function<Tensor(const Tensor&)>;
// Runs after a leaf's .grad was updated; receives the leaf.
using PostAccumulateGradHook = std::function<void(const Tensor&)>;

class Node {
 public:
  Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  virtual ~Node();

  // e.g. "MulBackward"
  virtual std::string name() const = 0;
  // grads[i] is the gradient with respect to output i (undefined when none flowed there).
  // Returns one gradient per input, in input order; undefined where not needed.
  virtual std::vector<Tensor> apply(std::vector<Tensor>&& grads) = 0;
  // Frees what was saved for backward; called after a backward without retain_graph.
  virtual void release_saved() {}

  std::span<const Edge> next_edges() const { return {next_edges_.data(), next_edges_.size()}; }
  const Edge& next_edge(size_t i) const { return next_edges_[i]; }
  size_t num_inputs() const { return next_edges_.size(); }
  const InputMeta& input_meta(size_t i) const { return input_meta_[i]; }
  // Whether input i leads to anything that wants a gradient.
  bool needs_input_grad(size_t i) const { return i < next_edges_.size() && next_edges_[i].valid(); }
  uint32_t num_outputs() const { return num_outputs_; }
  // Creation order; the engine runs later nodes first when several are ready.
  uint64_t sequence_nr() const { return sequence_nr_; }
  // Whether a backward without retain_graph has freed the saved tensors.
  bool released() const { return released_; }
  // What created the node, e.g. "Mul of [2, 3] and [3]"; empty outside anomaly mode. Composed
  // when read, from name() and the input shapes recorded at creation: a node's name may depend
  // on fields its forward sets after record() returns (DivBackward or RsubBackward, say).
  std::string forward_context() const;

  // Hooks on the gradient of output `output_nr` (a non-leaf tensor's register_hook, retain_grad).
  void add_pre_hook(uint32_t output_nr, int id, GradHook hook) { pre_hooks_.push_back({output_nr, id, std::move(hook)}); }
  bool remove_pre_hook(int id);
  // Runs the pre-hooks on grads in registration order (the engine calls this before apply).
  void run_pre_hooks(std::vector<Tensor>& grads) const;

  // Used when recording: the inputs' edges and metadata, the number of outputs.
  void set_next_edges(std::vector<Edge> edges, std::vector<InputMeta> metas);
  void add_next_edge(Edge edge, InputMeta meta);
  // The edge and metadata of input `in` (an undefined tensor: an invalid edge).
  void add_input(const Tensor& in);
  void set_num_outputs(uint32_t n) { num_outputs_ = n; }
  // In anomaly mode: the inputs' shapes as the forward saw them, e.g. " of [2, 3] and [3]".
  void set_forward_inputs(std::string shapes) {
    forward_inputs_ = std::move(shapes);
    has_forward_context_ = true;
  }
  void mark_released() { released_ = true; }

 private:
  struct PreHook {
    uint32_t output_nr;
    int id;
    GradHook hook;
  };
  static constexpr size_t kInlineInputs = 2;
  InlineVector<Edge, kInlineInputs> next_edges_;
  InlineVector<InputMeta, kInlineInputs> input_meta_;
  std::vector<PreHook> pre_hooks_;
  uint32_t num_outputs_ = 1;
  uint64_t sequence_nr_ = next_sequence_nr();
  bool released_ = false;
  bool has_forward_context_ = false;
  std::string forward_inputs_;

  static uint64_t next_sequence_nr();
};

// A node type that several ops share (every unary op, every reduction, every reshape): its name
// is given at construction, through record<NodeT>(out, {inputs}, "ExpBackward").
class NamedNode : public Node {
 public:
  explicit NamedNode(std::string name) : name_(std::move(name)) {}
  std::string name() const final { return name_; }

 private:
  std::string name_;
};

// The autograd slot of a TensorImpl (created on first need).
struct AutogradMeta {
  AutogradMeta() = default;
  AutogradMeta(const AutogradMeta&) = delete;
  AutogradMeta& operator=(const AutogradMeta&) = delete;
  ~AutogradMeta();  // NOTE: hands grad_fn to the non-recursive release (see graph.cpp)

  Tensor grad;                           // accumulated gradient (leaves, and non-leaves that retain it)
  std::shared_ptr<Node> grad_fn;         // null for leaves
  uint32_t output_nr = 0;                // which output of grad_fn this tensor is
  std::weak_ptr<Node> grad_accumulator;  // a leaf's AccumulateGrad, while the graph holds it
  bool retains_grad = false;
  bool is_view = false;                  // made by a view op from a tensor in the graph
  Tensor view_base;                      // a view's root base (never itself a view): in place on
                                         // the view rewrites the base's history (rebase_in_place)
  int next_hook_id = 0;
  std::vector<std::pair<int, GradHook>> leaf_hooks;  // a leaf's register_hook
  std::vector<std::pair<int, PostAccumulateGradHook>> post_accumulate_hooks;
};

// The slot of t, created if missing (never null), or null if t has none.
AutogradMeta& autograd_meta(const Tensor& t);
AutogradMeta* autograd_meta_if(const Tensor& t);

// Whether `grad` can be changed in place without anyone noticing: no other handle or view shares
// it, it owns its (contiguous) memory, and it is outside the graph.
bool is_exclusive_gradient(const Tensor& grad);

// The edge a gradient for t flows into: its grad_fn, or its leaf accumulator (created on
// demand); an invalid edge when t does not require grad.
Edge gradient_edge(const Tensor& t);

// A leaf's AccumulateGrad: adds the incoming gradient to leaf.grad (in place, or out of place
// under create_graph), after the leaf's hooks and before its post-accumulate hooks.
class AccumulateGrad : public Node {
 public:
  explicit AccumulateGrad(Tensor leaf);
  std::string name() const override { return "AccumulateGrad"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override;
  const Tensor& leaf() const { return leaf_; }

 private:
  Tensor leaf_;
};

// A tensor saved for backward. Remembers the storage version at save time: unpacking after an
// in-place change throws, naming the node. An op's own output is saved without a strong
// reference to its node (that would be a cycle).
// NOTE: a saved non-leaf is a detached view, never the tensor itself: an in-place op moves the
// history of its out-of-place result onto self (rebase_in_place), and a node that saved self
// itself would then own self, which owns the node again.
class SavedTensor {
 public:
  SavedTensor() = default;
  SavedTensor(const Tensor& t, bool is_output);
  // The saved tensor, with its place in the graph when grad mode is on (for create_graph).
  Tensor unpack(const Node& owner) const;
  bool defined() const { return data_.defined(); }
  void reset();

 private:
  Tensor data_;  // a leaf itself, or a detached view of the saved tensor's data
  std::shared_ptr<Node> grad_fn_;
  std::weak_ptr<Node> weak_grad_fn_;
  uint32_t output_nr_ = 0;
  uint64_t saved_version_ = 0;
  bool was_released_ = false;
  bool is_output_ = false;
  bool is_leaf_ = false;
};

// ---- grad modes (thread-local) ----

bool grad_mode_enabled();
void set_grad_mode(bool enabled);

// While alive, ops record nothing (nestable; restores the previous mode).
class NoGradGuard {
 public:
  NoGradGuard() : previous_(grad_mode_enabled()) { set_grad_mode(false); }
  ~NoGradGuard() { set_grad_mode(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// While alive, ops record again (inside a NoGradGuard, say).
class EnableGradGuard {
 public:
  EnableGradGuard() : previous_(grad_mode_enabled()) { set_grad_mode(true); }
  ~EnableGradGuard() { set_grad_mode(previous_); }
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;

 private:
  bool previous_;
};

// Anomaly mode: nodes remember the forward op that created them, and a backward that produces
// NaN or Inf throws an error naming the node and that op.
bool anomaly_mode_enabled();
class AnomalyGuard {
 public:
  AnomalyGuard();
  ~AnomalyGuard();
  AnomalyGuard(const AnomalyGuard&) = delete;
  AnomalyGuard& operator=(const AnomalyGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace descent::autograd

// The guards are reachable as descent::NoGradGuard too, since users write `using namespace descent;`.
namespace descent {
using autograd::AnomalyGuard;
using autograd::EnableGradGuard;
using autograd::NoGradGuard;
}  // namespace descent
