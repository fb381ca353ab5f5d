// gradcheck and gradgradcheck: analytical Jacobian rows from autograd::grad with one-hot output
// gradients; numerical columns from central differences (f(x + eps) - f(x - eps)) / 2 eps.
#include <descent/autograd/gradcheck.h>

#include <cmath>

#include <descent/autograd/engine.h>
#include <descent/autograd/graph.h>
#include <descent/autograd/ops.h>

namespace descent::autograd {

namespace {

// The storage element of the k-th (row-major) element of t.
double& element(const Tensor& t, int64_t k) {
  int64_t offset = t.offset();
  for (int d = t.dim() - 1; d >= 0; --d) {
    offset += (k % t.sizes()[d]) * t.strides()[d];
    k /= t.sizes()[d];
  }
  return static_cast<double*>(t.storage()->data())[offset];
}

bool self_overlapping(const Tensor& t) {
  for (int d = 0; d < t.dim(); ++d) {
    if (t.sizes()[d] > 1 && t.strides()[d] == 0) return true;
  }
  return false;
}

std::vector<double> evaluate(const DifferentiableFunction& fn, const std::vector<Tensor>& inputs) {
  NoGradGuard no_grad;
  return fn(inputs).to_vector<double>();
}

}  // namespace

GradcheckResult gradcheck(const DifferentiableFunction& fn, const std::vector<Tensor>& inputs,
                          GradcheckOptions options) {
  std::vector<size_t> checked;  // indices of the inputs that require grad
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    if (!x.defined() || !x.requires_grad()) continue;
    check<DTypeError>(x.dtype() == kFloat64, "gradcheck: input {} is {}; gradcheck needs float64 inputs", i,
                      x.dtype());
    check<ValueError>(!self_overlapping(x),
                      "gradcheck: input {} (shape {}, strides {}) overlaps itself in memory; expand inside fn", i,
                      x.sizes(), x.strides());
    checked.push_back(i);
  }
  check<ValueError>(!checked.empty(), "gradcheck: no input requires grad");

  Tensor output = fn(inputs);
  check<DTypeError>(output.dtype() == kFloat64, "gradcheck: the output is {}; gradcheck needs float64", output.dtype());
  const int64_t n_out = output.numel();
  std::vector<Tensor> wrt;
  for (size_t i : checked) wrt.push_back(inputs[i]);

  // Analytical: row j of every input's Jacobian from a one-hot output gradient.
  std::vector<std::vector<double>> analytical(checked.size());  // [input][j * numel + k]
  for (size_t c = 0; c < checked.size(); ++c) analytical[c].assign(n_out * wrt[c].numel(), 0.0);
  if (output.requires_grad()) {
    for (int64_t j = 0; j < n_out; ++j) {
      Tensor onehot = core::zeros(output.sizes(), {.dtype = kFloat64});
      element(onehot, j) = 1.0;
      std::vector<Tensor> grads = grad({output}, wrt, {.grad_outputs = {onehot}, .retain_graph = true, .allow_unused = true});
      for (size_t c = 0; c < checked.size(); ++c) {
        if (!grads[c].defined()) continue;
        std::vector<double> row = grads[c].to_vector<double>();
        std::copy(row.begin(), row.end(), analytical[c].begin() + j * wrt[c].numel());
      }
    }
  }

  // Numerical: column k from central differences, compared as it is made.
  for (size_t c = 0; c < checked.size(); ++c) {
    const Tensor& x = wrt[c];
    for (int64_t k = 0; k < x.numel(); ++k) {
      double& value = element(x, k);
      const double original = value;
      value = original + options.eps;
      std::vector<double> plus = evaluate(fn, inputs);
      value = original - options.eps;
      std::vector<double> minus = evaluate(fn, inputs);
      value = original;
      for (int64_t j = 0; j < n_out; ++j) {
        double numerical = (plus[j] - minus[j]) / (2 * options.eps);
        double analytic = analytical[c][j * x.numel() + k];
        if (!(std::abs(numerical - analytic) <= options.atol + options.rtol * std::abs(numerical))) {
          return {false, fmt::format("gradcheck: Jacobian mismatch for input {} (shape {}) at output element {}, "
                                     "input element {}: numerical {:.10g}, analytical {:.10g}",
                                     checked[c], x.sizes(), j, k, numerical, analytic)};
        }
      }
    }
  }
  return {};
}

GradcheckResult gradgradcheck(const DifferentiableFunction& fn, const std::vector<Tensor>& inputs,
                              GradcheckOptions options) {
  const size_t n = inputs.size();
  Tensor probe;
  {
    NoGradGuard no_grad;
    Tensor output = fn(inputs);
    Generator generator(12345);
    probe = core::randn(output.sizes(), {.dtype = kFloat64}, &generator);
  }
  probe.requires_grad_(true);
  std::vector<Tensor> args = inputs;
  args.push_back(probe);
  // One gradcheck per differentiated input k, of (inputs, v) -> d<fn, v>/d input_k.
  for (size_t k = 0; k < n; ++k) {
    if (!inputs[k].defined() || !inputs[k].requires_grad()) continue;
    auto first_derivative = [&](const std::vector<Tensor>& xs) {
      EnableGradGuard grad_mode;  // gradcheck evaluates under NoGradGuard; the inner grad needs a graph
      std::vector<Tensor> own(xs.begin(), xs.begin() + static_cast<std::ptrdiff_t>(n));
      Tensor output = fn(own);
      Tensor g = grad({output}, {own[k]}, {.grad_outputs = {xs[n]}, .create_graph = true, .allow_unused = true})[0];
      return g.defined() ? descent::reshape(g, {-1}) : core::zeros({own[k].numel()}, {.dtype = kFloat64});
    };
    GradcheckResult result = gradcheck(first_derivative, args, options);
    if (!result.ok) {
      result.message = fmt::format("gradgradcheck (gradient of input {}): {}", k, result.message);
      return result;
    }
  }
  return {};
}

}  // namespace descent::autograd
