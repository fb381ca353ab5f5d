// Hessian-vector products of a loss with respect to a list of parameters, the primitive every
// curvature instrument (study/curvature.h) is built on. Read study/parameters.h first.
//
// Estimator: exact H v by double backward, Pearlmutter's trick (B. A. Pearlmutter, "Fast exact
// multiplication by the Hessian", Neural Computation 6(1), 1994): H v = d/dw <dL/dw, v>, one
// gradient with create_graph and a second backward through it, about the cost of two backwards.
// The finite-difference variant (central differences of gradients,
// H v ~ (g(w + h v) - g(w - h v)) / 2h, error O(h^2)) is there to check it.
#pragma once

#include <functional>

#include <descent/study/parameters.h>

namespace descent::study {

// The loss, re-evaluated on every call: a closure over the model and a fixed batch (evaluate
// the model in eval mode, or with fixed dropout masks, if the instrument must see one function).
using LossFunction = std::function<Tensor()>;

// dL/dw for each parameter, detached, without touching the parameters' .grad (a parameter the
// loss does not depend on gets zeros). Runs the loss with grad mode on.
TensorList gradient(const LossFunction& loss, const TensorList& params);

// The loss and its gradient from one evaluation.
struct ValueAndGradient {
  double value = 0.0;
  TensorList gradient;
};
ValueAndGradient value_and_gradient(const LossFunction& loss, const TensorList& params);

// H v by double backward. `v` has one tensor per parameter, of its shape.
TensorList hvp(const LossFunction& loss, const TensorList& params, const TensorList& v);

// H v by central differences of gradients with step h (in units of v): the parameters are moved
// to w + h v and w - h v and put back bit for bit.
TensorList hvp_finite_difference(const LossFunction& loss, const TensorList& params, const TensorList& v,
                                 double h = 1e-4);

}  // namespace descent::study
