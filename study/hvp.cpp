// Hessian-vector products (study/hvp.h): double backward and central differences.
#include <descent/study/hvp.h>

#include <descent/autograd/engine.h>
#include <descent/autograd/graph.h>
#include <descent/autograd/ops.h>

namespace descent::study {

namespace {

Tensor evaluate(const LossFunction& loss, const char* op) {
  check<ValueError>(static_cast<bool>(loss), "{}: the loss function is empty", op);
  Tensor value = loss();
  check<ShapeError>(value.defined() && value.numel() == 1, "{}: the loss must be one number, not shape {}", op,
                    value.defined() ? fmt::format("{}", value.sizes()) : std::string("undefined"));
  return value;
}

// Undefined gradients (inputs the outputs do not depend on) become zeros.
TensorList defined_or_zeros(TensorList grads, const TensorList& params) {
  for (size_t i = 0; i < grads.size(); ++i) {
    if (!grads[i].defined()) grads[i] = zeros(params[i].sizes(), {.dtype = params[i].dtype()});
  }
  return grads;
}

ValueAndGradient value_and_gradient_of(const LossFunction& loss, const TensorList& params, const char* op) {
  autograd::EnableGradGuard grad_mode;
  Tensor value = evaluate(loss, op);
  double number = value.item<double>();
  if (!value.requires_grad()) return {number, zeros_like(params)};
  return {number, clone(defined_or_zeros(autograd::grad({value}, params, {.allow_unused = true}), params))};
}

TensorList gradient_of(const LossFunction& loss, const TensorList& params, const char* op) {
  return value_and_gradient_of(loss, params, op).gradient;
}

}  // namespace

TensorList gradient(const LossFunction& loss, const TensorList& params) {
  check_parameters(params, "study::gradient");
  return gradient_of(loss, params, "study::gradient");
}

ValueAndGradient value_and_gradient(const LossFunction& loss, const TensorList& params) {
  check_parameters(params, "study::value_and_gradient");
  return value_and_gradient_of(loss, params, "study::value_and_gradient");
}

TensorList hvp(const LossFunction& loss, const TensorList& params, const TensorList& v) {
  check_parameters(params, "study::hvp");
  check_like(v, params, "study::hvp");
  autograd::EnableGradGuard grad_mode;
  Tensor value = evaluate(loss, "study::hvp");
  if (!value.requires_grad()) return zeros_like(params);
  TensorList g = autograd::grad({value}, params, {.create_graph = true, .allow_unused = true});
  // <g, v> as a graph: its gradient with respect to w is H v (v is a constant).
  Tensor inner;
  for (size_t i = 0; i < g.size(); ++i) {
    if (!g[i].defined() || !g[i].requires_grad()) continue;  // constant in w: no curvature
    Tensor term = (g[i] * v[i].detach().to(g[i].dtype())).sum();
    inner = inner.defined() ? inner + term : term;
  }
  if (!inner.defined()) return zeros_like(params);
  return clone(defined_or_zeros(autograd::grad({inner}, params, {.allow_unused = true}), params));
}

TensorList hvp_finite_difference(const LossFunction& loss, const TensorList& params, const TensorList& v, double h) {
  const char* op = "study::hvp_finite_difference";
  check_parameters(params, op);
  check_like(v, params, op);
  check<ValueError>(h > 0.0, "{}: the step h must be positive, not {}", op, h);
  ParameterSnapshot snapshot(params);
  TensorList step = clone(v);
  scale_(step, h);
  snapshot.set_offset(step);
  TensorList plus = gradient_of(loss, params, op);
  scale_(step, -1.0);
  snapshot.set_offset(step);
  TensorList minus = gradient_of(loss, params, op);
  snapshot.restore();
  axpy_(plus, -1.0, minus);
  scale_(plus, 1.0 / (2.0 * h));
  return plus;
}

}  // namespace descent::study
