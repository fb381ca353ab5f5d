// The golden-value driver of tests/nn/test_functional_*.cpp: a case names an entry group of
// tests/nn/golden/functional.json (gen_functional.py) and the C++ call. Each case is checked
// three ways: the output and the gradients of sum(out * gy) against PyTorch's in float64, the
// output in float32, and gradcheck (float64 central differences) on the same inputs.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <descent/autograd/gradcheck.h>
#include "testing.h"

namespace descent::testing {

struct FunctionalCase {
  std::string name;                         // the entry prefix in functional.json
  std::vector<std::string> inputs;          // passed to fn in this order
  std::vector<std::string> differentiable;  // the inputs that require grad
  std::function<Tensor(const std::vector<Tensor>&)> fn;
  // false where the gradient is defined not to be the derivative (embedding's padding_idx row)
  bool gradcheck = true;
};

inline std::ostream& operator<<(std::ostream& os, const FunctionalCase& c) { return os << c.name; }

inline std::string functional_case_name(const ::testing::TestParamInfo<FunctionalCase>& info) {
  return info.param.name;
}

inline const Golden& functional_golden() {
  static const Golden golden("nn/golden/functional.json");
  return golden;
}

inline bool is_differentiable(const FunctionalCase& c, const std::string& input) {
  for (const std::string& name : c.differentiable) {
    if (name == input) return true;
  }
  return false;
}

inline std::vector<Tensor> load_inputs(const FunctionalCase& c, DType floating) {
  std::vector<Tensor> inputs;
  for (const std::string& input : c.inputs) {
    Tensor t = functional_golden().tensor(c.name + "/" + input);
    if (t.is_floating_point()) t = t.to(floating);
    if (is_differentiable(c, input)) t.requires_grad_(true);
    inputs.push_back(t);
  }
  return inputs;
}

inline void check_functional_case(const FunctionalCase& c) {
  const Golden& golden = functional_golden();
  ASSERT_TRUE(golden.has(c.name + "/out")) << c.name << " is not in the golden file";
  std::vector<Tensor> inputs = load_inputs(c, kFloat64);
  Tensor out = c.fn(inputs);
  EXPECT_TRUE(tensors_close(out, golden.tensor(c.name + "/out"), 1e-10, 1e-10)) << c.name << " output";
  sum(mul(out, golden.tensor(c.name + "/gy"))).backward();
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    if (!is_differentiable(c, c.inputs[i])) continue;
    EXPECT_TRUE(tensors_close(inputs[i].grad(), golden.tensor(c.name + "/grad_" + c.inputs[i]), 1e-9, 1e-10))
        << c.name << " gradient of " << c.inputs[i];
  }
  Tensor out32 = c.fn(load_inputs(c, kFloat32));
  EXPECT_EQ(out32.dtype(), kFloat32) << c.name;
  EXPECT_TRUE(tensors_close(out32, golden.tensor(c.name + "/out"), 1e-4, 1e-4)) << c.name << " float32 output";
  if (!c.gradcheck) return;
  auto result = autograd::gradcheck(c.fn, load_inputs(c, kFloat64));
  EXPECT_TRUE(result.ok) << c.name << ": " << result.message;
}

}  // namespace descent::testing
