// Reverse-mode autograd by example: gradients with backward(), a second derivative and a
// Hessian-vector product with autograd::grad(create_graph), a hook, and the recorded graph as
// Graphviz DOT. Read autograd/graph.h and autograd/engine.cpp for how it works inside.
#include <cmath>

#include <descent/descent.h>

using namespace descent;

int main() {
  // ---- backward(): d/dx and d/dw of a scalar ----
  Tensor x = tensor({1.0, 2.0, 3.0}, {.dtype = kFloat64, .requires_grad = true});
  Tensor w = tensor({0.5, -1.0, 2.0}, {.dtype = kFloat64, .requires_grad = true});
  Tensor loss = (tanh(x * w)).sum();  // sum_i tanh(x_i w_i)
  loss.backward();
  fmt::print("loss = {}\n", loss.item<double>());
  fmt::print("dloss/dx = w (1 - tanh^2(x w)):\n{}\n", x.grad());
  // The same by hand, for the first element:
  const double t0 = std::tanh(0.5);
  fmt::print("by hand, element 0: {}\n\n", 0.5 * (1 - t0 * t0));

  // ---- a second derivative: f(y) = y^3, f'(y) = 3 y^2, f''(y) = 6 y ----
  Tensor y = tensor({2.0}, {.dtype = kFloat64, .requires_grad = true});
  Tensor f = (y * y * y).sum();
  Tensor dy = autograd::grad({f}, {y}, {.create_graph = true})[0];  // differentiable itself
  Tensor d2y = autograd::grad({dy.sum()}, {y})[0];
  fmt::print("f'(2) = {} (12), f''(2) = {} (12)\n\n", dy.item<double>(), d2y.item<double>());

  // ---- a Hessian-vector product without forming the Hessian: H v = d/dp (grad(p) . v) ----
  Tensor p = tensor({1.0, -1.0}, {.dtype = kFloat64, .requires_grad = true});
  Tensor v = tensor({1.0, 0.0}, {.dtype = kFloat64});
  Tensor g = p * p * p[0];  // f(p) = p0^3 + p1^2 p0 through broadcasting
  Tensor grad_p = autograd::grad({g.sum()}, {p}, {.create_graph = true})[0];
  Tensor hv = autograd::grad({(grad_p * v).sum()}, {p})[0];
  fmt::print("H v with H = [[6 p0, 2 p1], [2 p1, 2 p0]] at (1, -1), v = (1, 0):\n{}\n", hv);

  // ---- a hook reads (or replaces) the gradient flowing through a tensor ----
  Tensor a = tensor({1.0, 2.0}, {.requires_grad = true});
  Tensor b = a * 3.0;
  b.register_hook([](const Tensor& grad) {
    fmt::print("gradient arriving at b: {}\n", grad);
    return grad * 2.0;  // doubles it on its way to a
  });
  b.sum().backward();
  fmt::print("a.grad (3 * 2 per element): {}\n", a.grad());

  // ---- the recorded graph: paste into `dot -Tpng` to draw it ----
  Tensor h = relu(matmul(x.view({1, 3}), w.view({3, 1}))).sum();
  fmt::print("graph of relu(x @ w).sum() in DOT:\n{}\n", autograd::to_dot(h));
  return 0;
}
