// Nodes, saved tensors, leaf accumulation, the autograd slot of tensors, grad modes, and the
// Tensor methods that read or change a tensor's place in the graph.
#include <descent/autograd/graph.h>

#include <atomic>

#include <descent/autograd/engine.h>
#include <descent/autograd/ops.h>

namespace descent::autograd {

// ---- releasing nodes without recursion ----
//
// NOTE: a chain of a million nodes owns itself through shared_ptrs (node -> edge -> node ...).
// Destroying it recursively would overflow the stack, so every owner of a Node (edges, saved
// tensors, AutogradMeta) hands its last reference to release_node, which destroys nodes one at a
// time from a thread-local list.
namespace {
void release_node(std::shared_ptr<Node>& node) {
  thread_local std::vector<std::shared_ptr<Node>> pending;
  thread_local bool draining = false;
  if (!node) return;
  if (node.use_count() > 1) {
    node.reset();
    return;
  }
  pending.push_back(std::move(node));
  if (draining) return;
  draining = true;
  while (!pending.empty()) {
    std::shared_ptr<Node> last = std::move(pending.back());
    pending.pop_back();
    last.reset();  // its destructor may append to `pending`
  }
  draining = false;
}

thread_local bool t_grad_mode = true;
thread_local bool t_anomaly_mode = false;
}  // namespace

Node::~Node() {
  for (Edge& edge : next_edges_) release_node(edge.node);
}

// NOTE: a locked increment of one shared counter per node cost a tiny op more than its
// arithmetic. Each thread takes its numbers from a block of kSequenceBlock reserved at once: they
// grow in creation order within a thread, and across threads only up to blocks. The engine uses
// them only to choose among nodes that are ready together.
uint64_t Node::next_sequence_nr() {
  constexpr uint64_t kSequenceBlock = 1024;
  static std::atomic<uint64_t> reserved{0};
  thread_local uint64_t next = 0, end = 0;
  if (next == end) {
    next = reserved.fetch_add(kSequenceBlock, std::memory_order_relaxed);
    end = next + kSequenceBlock;
  }
  return next++;
}

void Node::set_next_edges(std::vector<Edge> edges, std::vector<InputMeta> metas) {
  if (edges.size() != metas.size()) {
    throw Error(fmt::format("{}: {} edges with metadata for {} inputs", name(), edges.size(), metas.size()));
  }
  for (Edge& edge : next_edges_) release_node(edge.node);
  next_edges_.clear();
  input_meta_.clear();
  for (size_t i = 0; i < edges.size(); ++i) add_next_edge(std::move(edges[i]), std::move(metas[i]));
}

void Node::add_next_edge(Edge edge, InputMeta meta) {
  next_edges_.push_back(std::move(edge));
  input_meta_.push_back(std::move(meta));
}

// NOTE: runs for every input of every recorded op: the metadata is written in its slot rather
// than built and moved there.
void Node::add_input(const Tensor& in) {
  next_edges_.emplace_back() = gradient_edge(in);
  InputMeta& meta = input_meta_.emplace_back();
  if (in.defined()) {
    meta.shape = in.sizes();
    meta.dtype = in.dtype();
  }
}

std::string Node::forward_context() const {
  if (!has_forward_context_) return {};
  std::string op = name();
  if (op.ends_with("Backward")) op.resize(op.size() - 8);
  return op + forward_inputs_;
}

bool Node::remove_pre_hook(int id) {
  auto it = std::find_if(pre_hooks_.begin(), pre_hooks_.end(), [id](const PreHook& h) { return h.id == id; });
  if (it == pre_hooks_.end()) return false;
  pre_hooks_.erase(it);
  return true;
}

void Node::run_pre_hooks(std::vector<Tensor>& grads) const {
  for (const PreHook& h : pre_hooks_) {
    Tensor& grad = grads[h.output_nr];
    if (!grad.defined()) continue;
    Tensor replaced = h.hook(grad);
    if (replaced.defined()) grad = replaced;
  }
}

// ---- the autograd slot ----

// NOTE: dropping the last tensor of a long chain must not recurse through its nodes.
AutogradMeta::~AutogradMeta() { release_node(grad_fn); }

AutogradMeta& autograd_meta(const Tensor& t) {
  auto& slot = t.impl()->autograd;
  if (!slot) slot = std::allocate_shared<AutogradMeta>(ObjectPool<AutogradMeta>());
  return *slot;
}

AutogradMeta* autograd_meta_if(const Tensor& t) { return t.impl()->autograd.get(); }

bool is_exclusive_gradient(const Tensor& grad) {
  return grad.impl_ptr().use_count() == 1 && grad.storage().use_count() == 1 && grad.storage()->owns_data() &&
         !grad.requires_grad() && grad.is_contiguous();
}

Edge gradient_edge(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return {};
  AutogradMeta& meta = autograd_meta(t);
  if (meta.grad_fn) return {meta.grad_fn, meta.output_nr};
  std::shared_ptr<Node> accumulator = meta.grad_accumulator.lock();
  if (!accumulator) {
    accumulator = std::allocate_shared<AccumulateGrad>(ObjectPool<AccumulateGrad>(), t);
    meta.grad_accumulator = accumulator;
  }
  return {accumulator, 0};
}

// ---- AccumulateGrad ----

AccumulateGrad::AccumulateGrad(Tensor leaf) : leaf_(std::move(leaf)) {
  set_next_edges({}, {});
}

std::vector<Tensor> AccumulateGrad::apply(std::vector<Tensor>&& grads) {
  Tensor grad = std::move(grads[0]);
  if (!grad.defined()) return {};
  AutogradMeta& meta = autograd_meta(leaf_);
  for (auto& [id, hook] : meta.leaf_hooks) {
    Tensor replaced = hook(grad);
    if (replaced.defined()) grad = replaced;
  }
  if (!meta.grad.defined()) {
    // A gradient nobody else holds becomes .grad as it is; a shared or strided one is copied,
    // so that later in-place accumulation never writes into another tensor.
    meta.grad = grad_mode_enabled() ? grad : is_exclusive_gradient(grad) ? grad.detach() : core::clone(grad);
  } else if (grad_mode_enabled()) {
    meta.grad = meta.grad + grad;  // create_graph: keep the sum differentiable
  } else {
    core::add_(meta.grad, grad);
  }
  for (auto& [id, hook] : meta.post_accumulate_hooks) hook(leaf_);
  return {};
}

// ---- SavedTensor ----

SavedTensor::SavedTensor(const Tensor& t, bool is_output) : is_output_(is_output) {
  if (!t.defined()) return;
  saved_version_ = t.version();
  AutogradMeta* meta = t.requires_grad() ? autograd_meta_if(t) : nullptr;
  if (!t.requires_grad() || meta == nullptr || !meta->grad_fn) {
    // A leaf (or a tensor outside the graph) is kept as it is: it owns no node.
    is_leaf_ = true;
    data_ = t;
    return;
  }
  data_ = t.detach();
  output_nr_ = meta->output_nr;
  if (is_output) {
    weak_grad_fn_ = meta->grad_fn;
  } else {
    grad_fn_ = meta->grad_fn;
  }
}

void SavedTensor::reset() {
  data_ = Tensor();
  release_node(grad_fn_);
  weak_grad_fn_.reset();
  was_released_ = true;
}

Tensor SavedTensor::unpack(const Node& owner) const {
  // NOTE: owner.name() builds a string, so it is called only on failure (this runs per unpack).
  if (was_released_) {
    throw Error(fmt::format("{}: trying to backward through the graph a second time (its saved tensors were freed "
                            "after the first backward); pass retain_graph = true to the first backward",
                            owner.name()));
  }
  if (!data_.defined()) return Tensor();
  if (data_.version() != saved_version_) {
    throw Error(fmt::format("{}: a tensor saved by {} was modified in place (version {}, saved at version {}); "
                            "compute it out of place, or clone it before the in-place op",
                            owner.name(), owner.name(), data_.version(), saved_version_));
  }
  if (is_leaf_ || !grad_mode_enabled()) return data_;
  // Under create_graph, the unpacked tensor stands where the saved one was in the graph.
  std::shared_ptr<Node> grad_fn = is_output_ ? weak_grad_fn_.lock() : grad_fn_;
  Tensor unpacked = data_.detach();
  if (grad_fn) {
    unpacked.requires_grad_(true);
    AutogradMeta& meta = autograd_meta(unpacked);
    meta.grad_fn = std::move(grad_fn);
    meta.output_nr = output_nr_;
  }
  return unpacked;
}

// ---- modes ----

bool grad_mode_enabled() { return t_grad_mode; }
void set_grad_mode(bool enabled) { t_grad_mode = enabled; }
bool anomaly_mode_enabled() { return t_anomaly_mode; }
AnomalyGuard::AnomalyGuard() : previous_(t_anomaly_mode) { t_anomaly_mode = true; }
AnomalyGuard::~AnomalyGuard() { t_anomaly_mode = previous_; }

}  // namespace descent::autograd

// ---- Tensor's autograd methods ----

namespace descent {

using autograd::autograd_meta;
using autograd::autograd_meta_if;

Tensor Tensor::grad() const {
  autograd::AutogradMeta* meta = autograd_meta_if(*this);
  return meta ? meta->grad : Tensor();
}

void Tensor::set_grad(const Tensor& grad) const {
  if (grad.defined()) {
    check<ShapeError>(grad.sizes() == sizes(), "set_grad: gradient of shape {} for a tensor of shape {}",
                      grad.sizes(), sizes());
    check<DTypeError>(grad.dtype() == dtype(), "set_grad: gradient of dtype {} for a tensor of dtype {}",
                      grad.dtype(), dtype());
  }
  autograd_meta(*this).grad = grad;
}

std::shared_ptr<autograd::Node> Tensor::grad_fn() const {
  autograd::AutogradMeta* meta = autograd_meta_if(*this);
  return meta ? meta->grad_fn : nullptr;
}

bool Tensor::is_leaf() const { return grad_fn() == nullptr; }

uint32_t Tensor::output_nr() const {
  autograd::AutogradMeta* meta = autograd_meta_if(*this);
  return meta ? meta->output_nr : 0;
}

Tensor& Tensor::retain_grad() {
  check<Error>(requires_grad(), "retain_grad: the tensor of shape {} does not require grad", sizes());
  autograd::AutogradMeta& meta = autograd_meta(*this);
  if (!meta.grad_fn || meta.retains_grad) return *this;  // leaves keep their grad anyway
  meta.retains_grad = true;
  std::weak_ptr<TensorImpl> weak_self = impl_ptr();
  // The hook stores (or adds) the gradient flowing into this tensor's output of grad_fn.
  meta.grad_fn->add_pre_hook(meta.output_nr, meta.next_hook_id++, [weak_self](const Tensor& grad) {
    if (std::shared_ptr<TensorImpl> self = weak_self.lock()) {
      autograd::AutogradMeta& m = autograd_meta(Tensor(self));
      m.grad = m.grad.defined() ? core::add(m.grad, grad) : core::clone(grad);
    }
    return Tensor();
  });
  return *this;
}

bool Tensor::retains_grad() const {
  autograd::AutogradMeta* meta = autograd_meta_if(*this);
  return meta && meta->retains_grad;
}

int Tensor::register_hook(std::function<Tensor(const Tensor&)> hook) {
  check<Error>(requires_grad(), "register_hook: the tensor of shape {} does not require grad", sizes());
  autograd::AutogradMeta& meta = autograd_meta(*this);
  int id = meta.next_hook_id++;
  if (meta.grad_fn) {
    meta.grad_fn->add_pre_hook(meta.output_nr, id, std::move(hook));
  } else {
    meta.leaf_hooks.push_back({id, std::move(hook)});
  }
  return id;
}

void Tensor::remove_hook(int id) {
  autograd::AutogradMeta* meta = autograd_meta_if(*this);
  if (!meta) return;
  if (meta->grad_fn && meta->grad_fn->remove_pre_hook(id)) return;
  std::erase_if(meta->leaf_hooks, [id](const auto& h) { return h.first == id; });
  std::erase_if(meta->post_accumulate_hooks, [id](const auto& h) { return h.first == id; });
}

int Tensor::register_post_accumulate_grad_hook(std::function<void(const Tensor&)> hook) {
  check<Error>(requires_grad() && is_leaf(),
               "register_post_accumulate_grad_hook: only leaf tensors that require grad accumulate gradients");
  autograd::AutogradMeta& meta = autograd_meta(*this);
  int id = meta.next_hook_id++;
  meta.post_accumulate_hooks.push_back({id, std::move(hook)});
  return id;
}

void Tensor::backward(const Tensor& gradient, std::optional<bool> retain_graph, bool create_graph) const {
  autograd::backward({*this}, gradient.defined() ? std::vector<Tensor>{gradient} : std::vector<Tensor>{},
                     {.retain_graph = retain_graph, .create_graph = create_graph});
}

}  // namespace descent
