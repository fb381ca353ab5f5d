// Custom differentiable functions, like torch.autograd.Function: a struct with a static forward
// and a static backward, and a context that carries what forward saves for backward.
//
//   struct Cube : autograd::Function<Cube> {
//     static Tensor forward(autograd::Context& ctx, const Tensor& x) {
//       ctx.save_for_backward({x});
//       return x * x * x;                       // runs without recording a graph
//     }
//     static std::vector<Tensor> backward(autograd::Context& ctx, std::vector<Tensor> grads) {
//       Tensor x = ctx.saved_tensors()[0];
//       return {grads[0] * 3 * x * x};          // one gradient per tensor argument of forward
//     }
//   };
//   Tensor y = Cube::apply(x);
#pragma once


#include <string>
#include <type_traits>
#include <typeinfo>
#include <unordered_map>
#include <vector>

#include <descent/autograd/record.h>
#include <descent/core/type_name.h>

namespace descent::autograd {

class Context {
 public:
  // Tensors backward will need (inputs or outputs of forward). Call at most once, in forward.
  void save_for_backward(std::vector<Tensor> tensors) { to_save_ = std::move(tensors); }
  // The saved tensors, checked against in-place changes since forward.
  std::vector<Tensor> saved_tensors() const {
    check<Error>(!released_,
                 "{}: trying to backward through the graph a second time (its saved tensors were freed after "
                 "the first backward); pass retain_graph = true to the first backward",
                 node_name_);
    std::vector<Tensor> out;
    for (const SavedTensor& s : saved_) out.push_back(node_ ? s.unpack(*node_) : Tensor());
    return out;
  }
  // Whether the i-th tensor argument of forward needs a gradient.
  bool needs_input_grad(size_t i) const { return node_ != nullptr && node_->needs_input_grad(i); }
  // Non-tensor values forward wants to hand to backward.
  std::unordered_map<std::string, double> saved_values;

  // Used by Function::apply.
  void pack(const Node* node, const std::vector<Tensor>& outputs) {
    node_ = node;
    node_name_ = node->name();
    for (const Tensor& t : to_save_) {
      bool is_output = std::any_of(outputs.begin(), outputs.end(), [&](const Tensor& o) { return o.is_same(t); });
      saved_.emplace_back(t, is_output);
    }
    to_save_.clear();
  }
  void release() {
    saved_.clear();
    released_ = true;
  }

 private:
  std::vector<Tensor> to_save_;
  std::vector<SavedTensor> saved_;
  const Node* node_ = nullptr;
  std::string node_name_;
  bool released_ = false;
};

namespace detail {
// "Cube" for struct Cube (the demangled type name without namespaces).
template <typename T>
std::string type_name() {
  return core::unqualified_type_name(typeid(T));
}

template <typename Derived>
class FunctionNode : public Node {
 public:
  std::string name() const override { return type_name<Derived>() + "Backward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    return Derived::backward(context, std::move(grads));
  }
  void release_saved() override { context.release(); }
  Context context;
};

inline void collect_tensor(std::vector<Tensor>& out, const Tensor& t) { out.push_back(t); }
template <typename T>
void collect_tensor(std::vector<Tensor>&, const T&) {}
}  // namespace detail

template <typename Derived>
struct Function {
  // Runs Derived::forward without recording, then records one node whose backward is
  // Derived::backward. Returns what forward returns (a Tensor or a std::vector<Tensor>).
  template <typename... Args>
  static auto apply(Args&&... args) {
    std::vector<Tensor> inputs;
    (detail::collect_tensor(inputs, args), ...);
    auto node = std::make_shared<detail::FunctionNode<Derived>>();
    bool recording = needs_grad(std::span<const Tensor>(inputs));
    auto result = [&] {
      NoGradGuard no_grad;
      return Derived::forward(node->context, std::forward<Args>(args)...);
    }();
    if (recording) {
      std::vector<Tensor> outputs;
      if constexpr (std::is_same_v<decltype(result), Tensor>) {
        outputs = {result};
      } else {
        outputs = result;
      }
      // An input returned as it is becomes a fresh view, so that its own history stays intact.
      for (Tensor& out : outputs) {
        for (const Tensor& in : inputs) {
          if (out.is_same(in)) out = out.detach();
        }
      }
      detail::connect(*node, node, outputs, inputs);
      node->context.pack(node.get(), outputs);
      if constexpr (std::is_same_v<decltype(result), Tensor>) {
        result = outputs[0];
      } else {
        result = outputs;
      }
    }
    return result;
  }
};

}  // namespace descent::autograd
