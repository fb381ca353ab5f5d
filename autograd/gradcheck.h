// Gradient checking, public so that users can check their own ops and Functions: the Jacobian
// that backward computes against central differences, in float64. A failure names the input,
// the output and input elements, and both values.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <descent/core/tensor.h>

namespace descent::autograd {

struct GradcheckOptions {
  double eps = 1e-6;   // the step of the central difference
  double atol = 1e-5;
  double rtol = 1e-3;
};

struct GradcheckResult {
  bool ok = true;
  std::string message;  // what failed, when not ok
  explicit operator bool() const { return ok; }
};

using DifferentiableFunction = std::function<Tensor(const std::vector<Tensor>&)>;

// Checks d fn(inputs) / d inputs for every float64 input that requires grad. Inputs must not
// overlap themselves in memory (expand inside fn instead of passing an expanded view).
GradcheckResult gradcheck(const DifferentiableFunction& fn, const std::vector<Tensor>& inputs,
                          GradcheckOptions options = {});

// Checks the second derivatives: gradcheck of the function (inputs, v) -> grad(fn(inputs),
// inputs, v) with create_graph, for a fixed random v.
GradcheckResult gradgradcheck(const DifferentiableFunction& fn, const std::vector<Tensor>& inputs,
                              GradcheckOptions options = {});

}  // namespace descent::autograd
