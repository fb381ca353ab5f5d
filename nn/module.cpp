// Module: registration, the tree walks, modes, dtype conversion, state dicts and printing.
// The ownership rules and their checks are described at the top of nn/module.h.
#include <descent/nn/module.h>

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <mutex>
#include <ostream>
#include <set>
#include <typeinfo>
#include <unordered_set>

#include <descent/autograd/graph.h>
#include <descent/autograd/ops.h>
#include <descent/core/type_name.h>

namespace descent::nn {

// ---- StateDict ----

void StateDict::insert(const std::string& name, const Tensor& tensor) {
  check<ValueError>(!contains(name), "StateDict: key '{}' is already present", name);
  index_.emplace(name, entries_.size());
  entries_.emplace_back(name, tensor);
}

const Tensor& StateDict::at(const std::string& name) const {
  auto found = index_.find(name);
  check<IndexError>(found != index_.end(), "StateDict: no key '{}'", name);
  return entries_[found->second].second;
}

std::vector<std::string> StateDict::keys() const {
  std::vector<std::string> names;
  names.reserve(entries_.size());
  for (const auto& [name, tensor] : entries_) names.push_back(name);
  return names;
}

// ---- construction, moves, destruction ----

namespace {

// Every live Module's address, for unregistered_modules (which looks for modules inside a
// model's object). A mutex: modules are built and destroyed rarely, on any thread.
struct LiveModules {
  std::mutex mutex;
  std::set<const Module*> addresses;
};
LiveModules& live_modules() {
  static LiveModules live;
  return live;
}
void set_live(const Module* module, bool live) {
  LiveModules& registry = live_modules();
  std::lock_guard lock(registry.mutex);
  if (live) registry.addresses.insert(module);
  else registry.addresses.erase(module);
}

}  // namespace

Module::Module() { set_live(this, true); }

Module::~Module() {
  set_live(this, false);
  for (Module* parent : referencing_parents_) {
    for (Child& child : parent->children_) {
      if (child.module == this && !child.owned) child.module = nullptr;
    }
  }
  detach_from_children();
}

// Forgets this module as a parent of the children it holds by reference.
void Module::detach_from_children() {
  for (Child& child : children_) {
    if (child.module && !child.owned) std::erase(child.module->referencing_parents_, this);
  }
}

void Module::take_registry_from(Module& other, const char* op) {
  for (const Child& child : other.children_) {
    check(child.owned != nullptr,
          "{}: {} holds its submodule '{}' by reference (a member registered with register_module); "
          "moving it would leave the registry pointing into the old object. Construct it in place, "
          "or hold it through a std::shared_ptr / std::unique_ptr",
          op, other.type_name(), child.name);
  }
  check(other.referencing_parents_.empty(),
        "{}: cannot move out of a {} that a parent module holds by reference", op, other.type_name());
  detach_from_children();  // the registry being replaced (empty in a move constructor)
  parameters_ = std::move(other.parameters_);
  buffers_ = std::move(other.buffers_);
  non_persistent_buffers_ = std::move(other.non_persistent_buffers_);
  children_ = std::move(other.children_);
  training_ = other.training_;
  other.parameters_.clear();
  other.buffers_.clear();
  other.non_persistent_buffers_.clear();
  other.children_.clear();
}

Module::Module(Module&& other) {
  take_registry_from(other, "Module (move)");
  set_live(this, true);
}

Module& Module::operator=(Module&& other) {
  if (this == &other) return *this;
  // The registry is replaced; parents holding *this by reference keep pointing at it, which
  // stays valid (fc1 = nn::Linear(3, 4) replaces a member layer).
  take_registry_from(other, "Module (move assignment)");
  return *this;
}

// ---- registration ----

void Module::check_new_name(const std::string& name, const char* op) const {
  check<ValueError>(!name.empty(), "{}: {}: the name is empty", op, type_name());
  check<ValueError>(name.find('.') == std::string::npos, "{}: {}: name '{}' contains '.'", op, type_name(), name);
  auto same = [&](const auto& entry) { return entry.first == name; };
  bool taken = std::any_of(parameters_.begin(), parameters_.end(), same) ||
               std::any_of(buffers_.begin(), buffers_.end(), same) ||
               std::any_of(children_.begin(), children_.end(), [&](const Child& c) { return c.name == name; });
  check<ValueError>(!taken, "{}: {}: name '{}' is already registered", op, type_name(), name);
}

Tensor Module::register_parameter(const std::string& name, Tensor tensor, bool requires_grad) {
  check_new_name(name, "register_parameter");
  check<ValueError>(tensor.defined(), "register_parameter: {}: '{}' is an undefined tensor", type_name(), name);
  check<DTypeError>(tensor.is_floating_point() || !requires_grad,
                    "register_parameter: {}: '{}' of dtype {} cannot require grad", type_name(), name,
                    dtype_name(tensor.dtype()));
  tensor.requires_grad_(requires_grad);
  parameters_.emplace_back(name, tensor);
  return tensor;
}

Tensor Module::register_buffer(const std::string& name, Tensor tensor, bool persistent) {
  check_new_name(name, "register_buffer");
  check<ValueError>(tensor.defined(), "register_buffer: {}: '{}' is an undefined tensor", type_name(), name);
  buffers_.emplace_back(name, tensor);
  if (!persistent) non_persistent_buffers_.push_back(name);
  return tensor;
}

void Module::add_child(const std::string& name, Module* module, std::shared_ptr<Module> owned) {
  check_new_name(name, "register_module");
  check<ValueError>(module != nullptr, "register_module: {}: '{}' is null", type_name(), name);
  check<ValueError>(module != this, "register_module: {}: cannot register a module as its own child '{}'",
                    type_name(), name);
  if (!owned) module->referencing_parents_.push_back(this);
  children_.push_back(Child{name, module, std::move(owned)});
}

Module& Module::child_module(const Child& child) const {
  check(child.module != nullptr,
        "{}: submodule '{}' was registered by reference and has been destroyed; a module registered "
        "with register_module(name, module) must outlive its parent",
        type_name(), child.name);
  return *child.module;
}

// ---- walking ----

namespace {

// "prefix.name", or "name" at the root.
std::string join_name(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : fmt::format("{}.{}", prefix, name);
}

}  // namespace

// Calls visit(dotted_name, module) on this module ("") and every module below it, parents first,
// each module once (a shared submodule is visited under its first name).
template <typename Visit>
void Module::walk(Visit&& visit) const {
  std::unordered_set<const Module*> seen;
  std::vector<std::pair<std::string, const Module*>> stack = {{"", this}};
  while (!stack.empty()) {
    auto [name, module] = std::move(stack.back());
    stack.pop_back();
    if (!seen.insert(module).second) continue;
    visit(name, *module);
    // Pushed in reverse so that children come out in registration order.
    for (auto child = module->children_.rbegin(); child != module->children_.rend(); ++child) {
      stack.emplace_back(join_name(name, child->name), &module->child_module(*child));
    }
  }
}

Module::NamedTensors Module::named_tensors(NamedTensors Module::*list, bool recurse) const {
  NamedTensors out;
  std::unordered_set<const TensorImpl*> seen;
  auto visit = [&](const std::string& prefix, const Module& module) {
    for (const auto& [name, tensor] : module.*list) {
      if (seen.insert(tensor.impl()).second) out.emplace_back(join_name(prefix, name), tensor);
    }
  };
  if (recurse) {
    walk(visit);
  } else {
    visit("", *this);
  }
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters(bool recurse) const {
  return named_tensors(&Module::parameters_, recurse);
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers(bool recurse) const {
  return named_tensors(&Module::buffers_, recurse);
}

namespace {

std::vector<Tensor> tensors_of(const std::vector<std::pair<std::string, Tensor>>& named) {
  std::vector<Tensor> out;
  out.reserve(named.size());
  for (const auto& entry : named) out.push_back(entry.second);
  return out;
}

}  // namespace

std::vector<Tensor> Module::parameters(bool recurse) const { return tensors_of(named_parameters(recurse)); }
std::vector<Tensor> Module::buffers(bool recurse) const { return tensors_of(named_buffers(recurse)); }

std::vector<std::pair<std::string, Module*>> Module::named_children() const {
  std::vector<std::pair<std::string, Module*>> out;
  std::unordered_set<const Module*> seen;
  for (const Child& child : children_) {
    Module& module = child_module(child);
    if (seen.insert(&module).second) out.emplace_back(child.name, &module);
  }
  return out;
}

std::vector<Module*> Module::children() const {
  std::vector<Module*> out;
  for (const auto& entry : named_children()) out.push_back(entry.second);
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out;
  // NOTE: walk() hands out const modules; they are all reachable from the non-const *this.
  walk([&](const std::string& name, const Module& module) { out.emplace_back(name, const_cast<Module*>(&module)); });
  return out;
}

std::vector<Module*> Module::modules() {
  std::vector<Module*> out;
  for (const auto& entry : named_modules()) out.push_back(entry.second);
  return out;
}

Module& Module::apply(const std::function<void(Module&)>& fn) {
  for (Module* child : children()) child->apply(fn);
  fn(*this);
  return *this;
}

int64_t Module::num_parameters(bool only_trainable) const {
  int64_t count = 0;
  for (const Tensor& p : parameters()) {
    if (!only_trainable || p.requires_grad()) count += p.numel();
  }
  return count;
}

// ---- modes and state ----

void Module::train(bool on) {
  training_ = on;
  for (Module* child : children()) child->train(on);
}

void Module::zero_grad() {
  for (const Tensor& p : parameters()) {
    if (p.grad().defined()) p.set_grad(Tensor());
  }
}

namespace {

// Gives `t` (every handle to it) the dtype `dtype`: its impl is pointed at a converted contiguous
// copy, as PyTorch's module.to() swaps param.data. Views taken earlier keep the old storage.
void convert_in_place(const Tensor& t, DType dtype) {
  if (!t.is_floating_point() || t.dtype() == dtype) return;
  Tensor grad = t.grad();
  Tensor converted = t.detach().to(dtype).contiguous();
  TensorImpl* impl = t.impl();
  impl->storage = converted.storage();
  impl->strides = converted.strides();
  impl->offset = converted.offset();
  impl->dtype = dtype;
  if (grad.defined()) t.set_grad(grad.to(dtype));
}

}  // namespace

Module& Module::to(DType dtype) {
  check<DTypeError>(is_floating(dtype), "Module::to: {}: dtype {} is not floating point", type_name(),
                    dtype_name(dtype));
  autograd::NoGradGuard no_grad;
  for (const Tensor& p : parameters()) convert_in_place(p, dtype);
  for (const Tensor& b : buffers()) convert_in_place(b, dtype);
  return *this;
}

StateDict Module::state_dict() const {
  StateDict dict;
  walk([&](const std::string& prefix, const Module& module) {
    for (const auto& [name, tensor] : module.parameters_) dict.insert(join_name(prefix, name), tensor.detach());
    for (const auto& [name, tensor] : module.buffers_) {
      const auto& skip = module.non_persistent_buffers_;
      if (std::find(skip.begin(), skip.end(), name) == skip.end()) {
        dict.insert(join_name(prefix, name), tensor.detach());
      }
    }
  });
  return dict;
}

LoadResult Module::load_state_dict(const StateDict& dict, bool strict) {
  StateDict own = state_dict();
  LoadResult result;
  std::vector<std::string> mismatches;
  for (const auto& [name, tensor] : own) {
    if (!dict.contains(name)) {
      result.missing_keys.push_back(name);
    } else if (!(dict.at(name).sizes() == tensor.sizes())) {
      mismatches.push_back(
          fmt::format("{}: checkpoint {}, model {}", name, dict.at(name).sizes(), tensor.sizes()));
    }
  }
  for (const auto& [name, tensor] : dict) {
    if (!own.contains(name)) result.unexpected_keys.push_back(name);
  }
  std::vector<std::string> problems;
  if (strict && !result.missing_keys.empty()) {
    problems.push_back(fmt::format("missing keys: {}", fmt::join(result.missing_keys, ", ")));
  }
  if (strict && !result.unexpected_keys.empty()) {
    problems.push_back(fmt::format("unexpected keys: {}", fmt::join(result.unexpected_keys, ", ")));
  }
  if (!mismatches.empty()) problems.push_back(fmt::format("shape mismatches: {}", fmt::join(mismatches, "; ")));
  check<ValueError>(problems.empty(), "load_state_dict: {}: {}", type_name(), fmt::join(problems, "; "));

  autograd::NoGradGuard no_grad;
  for (const auto& [name, tensor] : own) {
    if (dict.contains(name)) Tensor(tensor).copy_(dict.at(name));
  }
  return result;
}

// ---- printing ----

std::string Module::type_name() const { return core::unqualified_type_name(typeid(*this)); }

namespace {

// "1,234,567": parameter counts read better with thousands separators.
std::string with_separators(int64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

// A leaf:   Linear(in_features=4, out_features=8, bias=true)  # 40 parameters
// A parent: Net(
//             (fc1): Linear(...)  # 40 parameters
//           )  # 40 parameters
// A parent's own options go on the first line inside it; counts of zero are not shown.
void Module::print_tree(std::string& out, int indent) const {
  fmt::format_to(std::back_inserter(out), "{}(", type_name());
  auto children = named_children();
  if (children.empty()) {
    out += extra_repr();
  } else {
    std::string pad(static_cast<size_t>(indent) + 2, ' ');
    if (!extra_repr().empty()) fmt::format_to(std::back_inserter(out), "\n{}{}", pad, extra_repr());
    for (const auto& [name, child] : children) {
      fmt::format_to(std::back_inserter(out), "\n{}({}): ", pad, name);
      child->print_tree(out, indent + 2);
    }
    fmt::format_to(std::back_inserter(out), "\n{:{}}", "", indent);
  }
  out += ")";
  if (int64_t count = num_parameters(); count > 0) fmt::format_to(std::back_inserter(out), "  # {} parameters", with_separators(count));
}

std::string Module::to_string() const {
  std::string out;
  print_tree(out, 0);
  return out;
}

std::vector<std::string> Module::unregistered_modules_within(const void* object, size_t size) {
  const char* begin = static_cast<const char*>(object);
  std::unordered_set<const Module*> reachable;
  for (Module* module : modules()) reachable.insert(module);
  std::vector<std::string> found;
  LiveModules& registry = live_modules();
  std::lock_guard lock(registry.mutex);
  for (auto it = registry.addresses.lower_bound(static_cast<const Module*>(object));
       it != registry.addresses.end() && reinterpret_cast<const char*>(*it) < begin + size; ++it) {
    if (reachable.count(*it) == 0) {
      found.push_back(fmt::format("{} at byte offset {} of {}", (*it)->type_name(),
                                  reinterpret_cast<const char*>(*it) - begin, type_name()));
    }
  }
  return found;
}

std::ostream& operator<<(std::ostream& os, const Module& module) { return os << module.to_string(); }

// ---- calling ----

Tensor Module::forward(const Tensor& x) {
  throw Error(fmt::format("{}: no forward(const Tensor&) to call on input {}: declare `Tensor forward(const Tensor& "
                          "x)` (not const, the tensor by reference) to make the module callable",
                          type_name(), x.sizes()));
}

}  // namespace descent::nn
