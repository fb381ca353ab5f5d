// Containers of modules, which own what they hold: Sequential (a chain of layers, built inline:
// nn::Sequential seq{nn::Linear(4, 8), nn::ReLU(), nn::Linear(8, 2)}), ModuleList (indexed) and
// ModuleDict (named). Their children are named "0", "1", ... or by key, as in PyTorch.
#pragma once

#include <concepts>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <descent/nn/module.h>

namespace descent::nn {

// A module with Tensor forward(const Tensor&): what Sequential can chain.
template <typename M>
concept UnaryModule = std::derived_from<M, Module> && requires(M& module, const Tensor& x) {
  { module.forward(x) } -> std::convertible_to<Tensor>;
};

namespace detail {
// The element `module` of `container` as an M, or an Error naming both types.
template <typename M>
M& cast_element(Module& module, const std::string& container, const std::string& key) {
  auto* typed = dynamic_cast<M*>(&module);
  check(typed != nullptr, "{}: element {} is a {}, not the type asked for", container, key, module.type_name());
  return *typed;
}
}  // namespace detail

class Sequential : public Module {
 public:
  Sequential() = default;
  // From layers moved in: nn::Sequential{nn::Linear(4, 8), nn::ReLU()}.
  template <typename... Layers>
    requires(sizeof...(Layers) > 0 && (UnaryModule<Layers> && ...))
  explicit Sequential(Layers&&... layers) {
    (push_back(std::move(layers)), ...);
  }

  // Appends a layer moved in (modules are not copyable: pass a shared_ptr to share one).
  template <typename M>
    requires UnaryModule<M>
  M& push_back(M&& layer) {
    return push_back(std::make_shared<M>(std::move(layer)));
  }
  template <typename M>
    requires UnaryModule<M>
  M& push_back(std::shared_ptr<M> layer) {
    check<ValueError>(layer != nullptr, "Sequential::push_back: null module");
    M* raw = layer.get();
    layers_.push_back(raw);
    forwards_.push_back([raw](const Tensor& x) { return Tensor(raw->forward(x)); });
    return register_module(std::to_string(forwards_.size() - 1), std::move(layer));
  }

  // x through every layer in order.
  Tensor forward(const Tensor& x);
  Tensor operator()(const Tensor& x) { return forward(x); }

  size_t size() const { return forwards_.size(); }
  Module& operator[](size_t index) const;  // IndexError when out of range
  template <typename M>
  M& at(size_t index) const {
    return detail::cast_element<M>((*this)[index], "Sequential", std::to_string(index));
  }

 private:
  std::vector<Module*> layers_;  // owned through the registry
  std::vector<std::function<Tensor(const Tensor&)>> forwards_;  // layers_[i]'s forward
};

class ModuleList : public Module {
 public:
  ModuleList() = default;
  template <typename... Ms>
    requires(sizeof...(Ms) > 0 && (std::derived_from<Ms, Module> && ...))
  explicit ModuleList(Ms&&... modules) {
    (push_back(std::move(modules)), ...);
  }

  template <typename M>
    requires std::derived_from<M, Module>
  M& push_back(M&& module) {
    return push_back(std::make_shared<M>(std::move(module)));
  }
  template <typename M>
    requires std::derived_from<M, Module>
  M& push_back(std::shared_ptr<M> module) {
    check<ValueError>(module != nullptr, "ModuleList::push_back: null module");
    elements_.push_back(module.get());
    return register_module(std::to_string(elements_.size() - 1), std::move(module));
  }

  size_t size() const { return elements_.size(); }
  Module& operator[](size_t index) const;  // IndexError when out of range
  template <typename M>
  M& at(size_t index) const {
    return detail::cast_element<M>((*this)[index], "ModuleList", std::to_string(index));
  }

 private:
  std::vector<Module*> elements_;  // owned through the registry
};

class ModuleDict : public Module {
 public:
  ModuleDict() = default;

  // Keys follow the rules of register_module (non-empty, no '.', unique).
  template <typename M>
    requires std::derived_from<M, Module>
  M& insert(const std::string& key, M&& module) {
    return insert(key, std::make_shared<M>(std::move(module)));
  }
  template <typename M>
    requires std::derived_from<M, Module>
  M& insert(const std::string& key, std::shared_ptr<M> module) {
    check<ValueError>(module != nullptr, "ModuleDict::insert: null module for key '{}'", key);
    M& inserted = register_module(key, std::move(module));
    keys_.push_back(key);
    elements_.push_back(&inserted);
    return inserted;
  }

  size_t size() const { return keys_.size(); }
  bool contains(const std::string& key) const;
  const std::vector<std::string>& keys() const { return keys_; }  // insertion order
  Module& operator[](const std::string& key) const;  // IndexError naming the key when absent
  template <typename M>
  M& at(const std::string& key) const {
    return detail::cast_element<M>((*this)[key], "ModuleDict", fmt::format("'{}'", key));
  }

 private:
  std::vector<std::string> keys_;
  std::vector<Module*> elements_;  // elements_[i] under keys_[i], owned through the registry
};

}  // namespace descent::nn
