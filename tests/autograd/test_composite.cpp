// Gradients of whole expressions rather than single ops: composite expressions that chain several
// op families, against PyTorch's gradients (golden/gen_composite.py writes the same expressions),
// and the Hessian-vector product of a small MLP's loss against finite differences of its gradient.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <descent/descent.h>

#include "testing.h"

namespace descent {
namespace {

using testing::Golden;
using testing::tensors_close;

const Golden& golden() {
  static const Golden file("autograd/golden/composite.json");
  return file;
}

using Inputs = std::map<std::string, Tensor>;

struct CompositeCase {
  std::string name;
  std::vector<std::string> inputs;  // the names of the inputs in the golden file
  std::function<Tensor(Inputs&)> expression;
};

Tensor ints(std::vector<int64_t> values) { return tensor(values); }

std::vector<CompositeCase> composite_cases() {
  return {
      {"mlp_nll", {"x", "w1", "b1", "w2", "target"},
       [](Inputs& in) {
         Tensor logits = matmul(tanh(matmul(in["x"], in["w1"]) + in["b1"]), in["w2"]);
         return -gather(log_softmax(logits, 1), 1, in["target"].view({-1, 1})).mean();
       }},
      {"attention", {"q", "k", "v"},
       [](Inputs& in) {
         Tensor weights = softmax(matmul(in["q"], in["k"].transpose(1, 2)) / 2.0, -1);
         return pow(matmul(weights, in["v"]), 2).sum();
       }},
      {"layer_norm_by_hand", {"x", "gamma", "beta"},
       [](Inputs& in) {
         const Tensor& x = in["x"];
         Tensor centred = x - x.mean({-1}, true);
         Tensor normalised = centred / sqrt(var(x, {-1}, /*correction=*/0, /*keepdim=*/true) + 1e-5);
         return sin(normalised * in["gamma"] + in["beta"]).sum();
       }},
      {"reductions", {"a", "b"},
       [](Inputs& in) {
         const Tensor &a = in["a"], &b = in["b"];
         return logsumexp(a * b.view({1, -1}), {1}).sum() + amax(a, {0}).sum() +
                norm(a - b, 2.0) * prod(a, {1}).mean();
       }},
      {"joining", {"a", "b"},
       [](Inputs& in) {
         const Tensor &a = in["a"], &b = in["b"];
         Tensor picked = index_select(cat({a, flip(b, {0})}, 0).slice(0, 0, INT64_MAX, 2), 1, ints({2, 0, 2}));
         Tensor rows = stack({a[0], b[1]}, 0).sum({0}).slice(0, 0, 3);
         Tensor total = exp(picked * rows).sum();
         for (const Tensor& piece : split(cat({a, b}, 1), 2, 1)) total = total + square(piece).sum();
         return total;
       }},
      {"elementwise", {"x", "y"},
       [](Inputs& in) {
         const Tensor &x = in["x"], &y = in["y"];
         Tensor chosen = where(x > 0.0, sigmoid(x * y), pow(clamp(y, -0.5, 0.5), 2)).sum();
         return chosen + pow(abs(x) + 1.0, abs(y)).mean() - log1p(x * x).sum() / exp(y).sum();
       }},
      {"clamp_tensor_bounds", {"x", "lo", "hi", "w"},
       [](Inputs& in) {
         const Tensor &x = in["x"], &lo = in["lo"], &hi = in["hi"], &w = in["w"];
         return (clamp(x, lo, hi) * w).sum() + (clamp(x, lo, Tensor()) * w).sum() +
                sin(clamp(x, Tensor(), hi[0] * 0.5)).sum();
       }},
  };
}

class Composite : public ::testing::TestWithParam<CompositeCase> {};

TEST_P(Composite, GradientsMatchPyTorch) {
  const CompositeCase& c = GetParam();
  Inputs inputs;
  std::vector<std::string> differentiated;
  for (const std::string& name : c.inputs) {
    Tensor value = golden().tensor(c.name + "/" + name);
    if (is_floating(value.dtype())) {
      value.requires_grad_(true);
      differentiated.push_back(name);
    }
    inputs[name] = value;
  }
  Tensor value = c.expression(inputs);
  ASSERT_EQ(value.dim(), 0);
  EXPECT_TRUE(tensors_close(value, golden().tensor(c.name + "/value"), 1e-12, 1e-12)) << c.name;
  value.backward();
  for (const std::string& name : differentiated) {
    ASSERT_TRUE(inputs[name].grad().defined()) << c.name << ": no gradient for " << name;
    EXPECT_TRUE(tensors_close(inputs[name].grad(), golden().tensor(c.name + "/grad_" + name), 1e-10, 1e-12))
        << c.name << ": gradient of " << name;
  }
}

INSTANTIATE_TEST_SUITE_P(PyTorch, Composite, ::testing::ValuesIn(composite_cases()),
                         [](const auto& info) { return info.param.name; });

// ---- Hessian-vector product of a small MLP ----

struct Mlp {
  Tensor x, y;                      // data: [5, 3] -> [5, 2]
  std::vector<Tensor> parameters;  // w1 [3, 4], b1 [4], w2 [4, 2]

  Tensor loss(const std::vector<Tensor>& p) const {
    Tensor prediction = matmul(tanh(matmul(x, p[0]) + p[1]), p[2]);
    return square(prediction - y).mean();
  }
  // The gradient of the loss at p (new leaves, so nothing is accumulated anywhere).
  std::vector<Tensor> gradient_at(const std::vector<Tensor>& p, bool create_graph) const {
    return autograd::grad({loss(p)}, p, {.create_graph = create_graph});
  }
};

// p + scale * v, as new leaves that require grad.
std::vector<Tensor> shifted(const std::vector<Tensor>& p, const std::vector<Tensor>& v, double scale) {
  std::vector<Tensor> out;
  autograd::NoGradGuard no_grad;
  for (size_t i = 0; i < p.size(); ++i) out.push_back((p[i] + v[i] * scale).requires_grad_(true));
  return out;
}

TEST(HessianVectorProduct, SmallMlpMatchesFiniteDifferencesOfTheGradient) {
  manual_seed(11);
  const TensorOptions f64{.dtype = kFloat64};
  Mlp mlp{randn({5, 3}, f64), randn({5, 2}, f64), {}};
  for (Dims shape : {Dims{3, 4}, Dims{4}, Dims{4, 2}}) {
    mlp.parameters.push_back(randn(shape, {.dtype = kFloat64, .requires_grad = true}));
  }
  std::vector<Tensor> v;
  for (const Tensor& p : mlp.parameters) v.push_back(randn(p.sizes(), f64));

  // H v = d/dp (grad(p) . v), through a differentiable gradient.
  std::vector<Tensor> gradient = mlp.gradient_at(mlp.parameters, /*create_graph=*/true);
  Tensor directional = (gradient[0] * v[0]).sum() + (gradient[1] * v[1]).sum() + (gradient[2] * v[2]).sum();
  std::vector<Tensor> hvp = autograd::grad({directional}, mlp.parameters);

  // (grad(p + eps v) - grad(p - eps v)) / (2 eps): error O(eps^2) from the third derivative.
  constexpr double eps = 1e-5;
  std::vector<Tensor> plus = mlp.gradient_at(shifted(mlp.parameters, v, eps), false);
  std::vector<Tensor> minus = mlp.gradient_at(shifted(mlp.parameters, v, -eps), false);
  for (size_t i = 0; i < hvp.size(); ++i) {
    Tensor finite_difference = (plus[i] - minus[i]) / (2 * eps);
    ASSERT_EQ(hvp[i].sizes(), mlp.parameters[i].sizes());
    EXPECT_TRUE(tensors_close(hvp[i], finite_difference, 1e-6, 1e-8)) << "parameter " << i;
  }
  // Not trivially zero: the product has real curvature in it.
  EXPECT_GT(norm(hvp[0]).item<double>(), 1e-3);
}

}  // namespace
}  // namespace descent
