// Module: the base of every layer and model. It registers parameters, buffers and submodules by
// name, walks the tree (named_parameters() gives PyTorch's dotted names), switches train/eval,
// converts dtypes, and saves/loads its state. Read this first in nn/, then nn/container.h.
//
// Ownership. A submodule registered by reference (register_module("fc1", fc1) on a member) is
// not owned: the parent keeps its address. A submodule registered as a shared_ptr, and every
// module a container (Sequential, ModuleList, ModuleDict) holds, is owned. Parameters and
// buffers are Tensor handles shared between the registry and the layer's members (fc.weight).
// Misuse is an Error, never a dangling pointer:
// - modules are not copyable; moving one whose registry holds submodules by reference throws
//   (those submodules are members of the object being moved), and so does moving out of a
//   module that a parent holds by reference;
// - a submodule registered by reference that is destroyed before its parent is marked as gone,
//   and any later walk of the parent throws naming it.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include <descent/core/tensor.h>

namespace descent::nn {

// Named tensors in insertion order, looked up by name: what state_dict() returns and
// load_state_dict() and nn::save take.
class StateDict {
 public:
  using Entry = std::pair<std::string, Tensor>;

  // Adds an entry; a name already present is a ValueError.
  void insert(const std::string& name, const Tensor& tensor);
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  const Tensor& at(const std::string& name) const;  // IndexError naming the key when absent
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  std::vector<std::string> keys() const;
  std::vector<Entry>::const_iterator begin() const { return entries_.begin(); }
  std::vector<Entry>::const_iterator end() const { return entries_.end(); }

 private:
  std::vector<Entry> entries_;
  std::unordered_map<std::string, size_t> index_;
};

// What load_state_dict(dict, /*strict=*/false) skipped.
struct LoadResult {
  std::vector<std::string> missing_keys;     // in the module, not in the dict
  std::vector<std::string> unexpected_keys;  // in the dict, not in the module
};

class Module {
 public:
  Module();
  virtual ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  // Allowed for modules without submodules registered by reference (layers, containers);
  // otherwise an Error (see the ownership rules above).
  Module(Module&& other);
  Module& operator=(Module&& other);

  // ---- registration (names: non-empty, without '.', unique among this module's entries) ----
  // Registers `tensor` as a parameter (it is set to require grad) and returns the handle.
  Tensor register_parameter(const std::string& name, Tensor tensor, bool requires_grad = true);
  // A buffer is state that is not trained (running statistics, ...); persistent buffers are part
  // of state_dict().
  Tensor register_buffer(const std::string& name, Tensor tensor, bool persistent = true);
  // Not owned: `module` must outlive this module (a member, as in the north star).
  template <typename M>
  M& register_module(const std::string& name, M& module) {
    add_child(name, &module, nullptr);
    return module;
  }
  // Owned: a module built in the call, register_module("fc", nn::Linear(4, 2)), is moved into a
  // shared_ptr this module keeps (a module that cannot move throws, see the ownership rules).
  template <typename M>
    requires(!std::is_lvalue_reference_v<M> && std::is_base_of_v<Module, M>)
  M& register_module(const std::string& name, M&& module) {
    return register_module(name, std::make_shared<M>(std::move(module)));
  }
  // Owned (shared with the caller).
  template <typename M>
  M& register_module(const std::string& name, std::shared_ptr<M> module) {
    M* raw = module.get();  // NOTE: taken before the move (argument order is unspecified)
    add_child(name, raw, std::move(module));
    return *raw;
  }

  // ---- calling ----
  // net(x) runs net.forward(x) for every module whose forward takes one tensor: the layers and a
  // user's `struct Net : nn::Module { Tensor forward(const Tensor& x); }` alike.
  // NOTE: forward is virtual because that is the one way Module's operator() can reach the
  // forward of a class that derives from plain Module (no CRTP base, no macro, as the north star
  // writes it); a derived forward(const Tensor&) overrides it without saying so. A forward of
  // another signature (const, by value, several tensors as in the losses) does not override it
  // and hides it: net(x) on such a module does not compile, and a call through Module& throws.
  virtual Tensor forward(const Tensor& x);
  Tensor operator()(const Tensor& x) { return forward(x); }

  // ---- walking the tree (registration order; a tensor or module reached twice is listed once) ----
  std::vector<Tensor> parameters(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_parameters(bool recurse = true) const;
  std::vector<Tensor> buffers(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_buffers(bool recurse = true) const;
  std::vector<Module*> children() const;
  std::vector<std::pair<std::string, Module*>> named_children() const;
  // This module and all below it, depth first, parents before children ("" names this one).
  std::vector<Module*> modules();
  std::vector<std::pair<std::string, Module*>> named_modules();
  // Calls fn on every submodule (children first, as PyTorch's apply), then on this one.
  Module& apply(const std::function<void(Module&)>& fn);
  int64_t num_parameters(bool only_trainable = false) const;

  // ---- modes and state ----
  virtual void train(bool on = true);  // recursive
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void zero_grad();  // sets every parameter's grad to undefined (PyTorch's set_to_none)
  // Converts floating parameters and buffers in place: every handle to them (fc.weight, the
  // optimizer's) sees the new dtype. Gradients are converted too.
  Module& to(DType dtype);

  // Detached handles sharing storage: parameters and persistent buffers by dotted name.
  StateDict state_dict() const;
  // Copies the dict's tensors into this module's (converting dtype). Shape mismatches are
  // always an error; missing or unexpected keys are one when strict. Nothing is copied unless
  // every check passes; the ValueError lists every offending key.
  LoadResult load_state_dict(const StateDict& dict, bool strict = true);

  // Modules inside the object [object, object + size) that no walk from this module reaches, each
  // as "Linear at byte offset 48 of Net": member layers never passed to register_module. Called
  // by nn::unregistered_modules(model), which knows the model's size.
  std::vector<std::string> unregistered_modules_within(const void* object, size_t size);

  // ---- printing ----
  // The type's name as printed ("Linear"); defaults to the C++ class name without namespaces.
  virtual std::string type_name() const;
  // The options shown between the parentheses: "in_features=4, out_features=8, bias=true".
  virtual std::string extra_repr() const { return ""; }
  // The tree with each module's options and parameter count (fmt::print("{}", net) calls it).
  std::string to_string() const;

 private:
  struct Child {
    std::string name;
    Module* module;                  // null once a by-reference child was destroyed
    std::shared_ptr<Module> owned;   // null when registered by reference
  };

  void check_new_name(const std::string& name, const char* op) const;
  void add_child(const std::string& name, Module* module, std::shared_ptr<Module> owned);
  Module& child_module(const Child& child) const;  // throws when a by-reference child is gone
  void take_registry_from(Module& other, const char* op);
  void detach_from_children();
  template <typename Visit>
  void walk(Visit&& visit) const;
  using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
  NamedTensors named_tensors(NamedTensors Module::*list, bool recurse) const;
  void print_tree(std::string& out, int indent) const;

  NamedTensors parameters_;
  NamedTensors buffers_;
  std::vector<std::string> non_persistent_buffers_;
  std::vector<Child> children_;
  // Parents holding this module by reference: told when it is destroyed.
  std::vector<Module*> referencing_parents_;
  bool training_ = true;
};

// The member modules of `model` that it never registered (empty when all are): a layer declared
// as a member but not passed to register_module has no parameters in model.parameters(), so an
// optimizer would never train it. The walk cannot see Tensor members; an optimizer made from
// an empty parameter list says so.
//   EXPECT_TRUE(nn::unregistered_modules(net).empty());
template <typename M>
  requires std::is_base_of_v<Module, M>
std::vector<std::string> unregistered_modules(M& model) {
  return model.unregistered_modules_within(&model, sizeof(M));
}

// std::cout << module: to_string(), the tree fmt::print("{}", module) prints.
std::ostream& operator<<(std::ostream& os, const Module& module);

}  // namespace descent::nn

// fmt::print("{}", module) for Module and every type derived from it.
template <typename M>
struct fmt::formatter<M, char, std::enable_if_t<std::is_base_of_v<descent::nn::Module, M>>>
    : fmt::formatter<std::string_view> {
  template <typename Context>
  auto format(const M& module, Context& ctx) const {
    return fmt::formatter<std::string_view>::format(module.to_string(), ctx);
  }
};
