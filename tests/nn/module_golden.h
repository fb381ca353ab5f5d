// The golden-value driver of the layer-module tests (test_conv.cpp, test_normalization.cpp,
// test_attention.cpp, test_loss.cpp): a case names an entry group of tests/nn/golden/modules.json
// (gen_modules.py) and builds the module. Each case checks that the state_dict names equal
// PyTorch's, loads PyTorch's state, and compares the output, the gradients of sum(out * gy) with
// respect to the inputs and every parameter, and the buffers after the forward, in float64; then
// the output in float32.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "testing.h"

namespace descent::testing {

struct ModuleCase {
  std::string name;  // the entry prefix in modules.json
  std::function<std::shared_ptr<nn::Module>()> make;
  std::function<Tensor(nn::Module&, const std::vector<Tensor>&)> forward;
  std::vector<std::string> inputs = {"x"};  // passed to forward in this order
  bool train = true;
};

inline std::ostream& operator<<(std::ostream& os, const ModuleCase& c) { return os << c.name; }

// A case for a module M{args...} called as forward(x).
template <typename M, typename... Args>
ModuleCase unary_case(std::string name, Args... args) {
  return {std::move(name), [=] { return std::make_shared<M>(args...); },
          [](nn::Module& m, const std::vector<Tensor>& in) { return static_cast<M&>(m).forward(in[0]); }};
}

inline const Golden& module_golden() {
  static const Golden golden("nn/golden/modules.json");
  return golden;
}

// The module's state from the golden file (converted to the module's dtypes on load).
inline void load_golden_state(nn::Module& module, const std::string& name) {
  nn::StateDict state;
  for (const auto& key : module_golden().json().at(name + "/keys").at("keys")) {
    state.insert(key.get<std::string>(), module_golden().tensor(name + "/state/" + key.get<std::string>()));
  }
  module.load_state_dict(state);
}

inline std::vector<Tensor> load_module_inputs(const ModuleCase& c, DType floating) {
  std::vector<Tensor> inputs;
  for (const std::string& input : c.inputs) {
    Tensor t = module_golden().tensor(c.name + "/in/" + input);
    if (t.is_floating_point()) t = t.to(floating).requires_grad_(true);
    inputs.push_back(t);
  }
  return inputs;
}

inline void check_module_case(const ModuleCase& c) {
  const Golden& golden = module_golden();
  ASSERT_TRUE(golden.has(c.name + "/out")) << c.name << " is not in the golden file";
  std::shared_ptr<nn::Module> module = c.make();
  std::vector<std::string> expected_keys;
  for (const auto& key : golden.json().at(c.name + "/keys").at("keys")) expected_keys.push_back(key.get<std::string>());
  EXPECT_EQ(module->state_dict().keys(), expected_keys) << c.name << " state_dict names";

  module->to(kFloat64);
  load_golden_state(*module, c.name);
  module->train(c.train);
  std::vector<Tensor> inputs = load_module_inputs(c, kFloat64);
  Tensor out = c.forward(*module, inputs);
  EXPECT_TRUE(tensors_close(out, golden.tensor(c.name + "/out"), 1e-10, 1e-10)) << c.name << " output";
  sum(mul(out, golden.tensor(c.name + "/gy"))).backward();
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    if (!inputs[i].requires_grad()) continue;
    EXPECT_TRUE(tensors_close(inputs[i].grad(), golden.tensor(c.name + "/grad_in/" + c.inputs[i]), 1e-9, 1e-10))
        << c.name << " gradient of input " << c.inputs[i];
  }
  for (const auto& [key, param] : module->named_parameters()) {
    EXPECT_TRUE(tensors_close(param.grad(), golden.tensor(c.name + "/grad/" + key), 1e-9, 1e-10))
        << c.name << " gradient of " << key;
  }
  for (const auto& [key, buffer] : module->named_buffers()) {
    EXPECT_TRUE(tensors_close(buffer, golden.tensor(c.name + "/after/" + key), 1e-12, 1e-12))
        << c.name << " buffer " << key << " after the forward";
  }

  std::shared_ptr<nn::Module> module32 = c.make();
  module32->to(kFloat32);  // NOTE: a tensor argument of make() (a class weight) is shared with the float64 module
  load_golden_state(*module32, c.name);
  module32->train(c.train);
  Tensor out32 = c.forward(*module32, load_module_inputs(c, kFloat32));
  EXPECT_EQ(out32.dtype(), kFloat32) << c.name;
  EXPECT_TRUE(tensors_close(out32, golden.tensor(c.name + "/out"), 1e-4, 1e-4)) << c.name << " float32 output";
}

// max |t| and the mean of t, for checking a default initialisation's distribution.
inline std::pair<double, double> abs_max_and_mean(const Tensor& t) {
  std::vector<double> values = t.to_vector<double>();
  double max = 0.0, total = 0.0;
  for (double v : values) {
    max = std::max(max, std::abs(v));
    total += v;
  }
  return {max, total / static_cast<double>(values.size())};
}

}  // namespace descent::testing
