// Parameter-space vectors and ParameterSnapshot (study/parameters.h). Every update runs under
// NoGradGuard with the library's in-place kernels.
#include <descent/study/parameters.h>

#include <cmath>

#include <descent/autograd/graph.h>
#include <descent/autograd/ops.h>

namespace descent::study {

void check_parameters(const TensorList& params, const char* op) {
  check<ValueError>(!params.empty(), "{}: the parameter list is empty", op);
  for (size_t i = 0; i < params.size(); ++i) {
    check<ValueError>(params[i].defined(), "{}: parameter {} is undefined", op, i);
    check<DTypeError>(params[i].is_floating_point(), "{}: parameter {} of shape {} is {}, not floating", op, i,
                      params[i].sizes(), params[i].dtype());
  }
}

void check_like(const TensorList& vectors, const TensorList& params, const char* op) {
  check<ShapeError>(vectors.size() == params.size(), "{}: {} vectors for {} parameters", op, vectors.size(),
                    params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    check<ShapeError>(vectors[i].defined() && vectors[i].sizes() == params[i].sizes(),
                      "{}: vector {} has shape {}, parameter {} has shape {}", op, i,
                      vectors[i].defined() ? fmt::format("{}", vectors[i].sizes()) : std::string("undefined"), i,
                      params[i].sizes());
  }
}

TensorList clone(const TensorList& vectors) {
  autograd::NoGradGuard no_grad;
  TensorList out;
  out.reserve(vectors.size());
  for (const Tensor& v : vectors) out.push_back(v.detach().clone());
  return out;
}

TensorList zeros_like(const TensorList& vectors) {
  TensorList out;
  out.reserve(vectors.size());
  for (const Tensor& v : vectors) out.push_back(zeros(v.sizes(), {.dtype = v.dtype()}));
  return out;
}

double dot(const TensorList& a, const TensorList& b) {
  check<ShapeError>(a.size() == b.size(), "study::dot: lists of {} and {} tensors", a.size(), b.size());
  autograd::NoGradGuard no_grad;
  double total = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    check<ShapeError>(a[i].sizes() == b[i].sizes(), "study::dot: tensor {} has shapes {} and {}", i, a[i].sizes(),
                      b[i].sizes());
    total += (a[i].to(kFloat64) * b[i].to(kFloat64)).sum().item<double>();
  }
  return total;
}

double squared_norm(const TensorList& a) { return dot(a, a); }

double norm(const TensorList& a) { return std::sqrt(squared_norm(a)); }

void axpy_(TensorList& y, double alpha, const TensorList& x) {
  check<ShapeError>(y.size() == x.size(), "study::axpy_: lists of {} and {} tensors", y.size(), x.size());
  autograd::NoGradGuard no_grad;
  for (size_t i = 0; i < y.size(); ++i) y[i].add_(x[i], alpha);
}

void scale_(TensorList& x, double alpha) {
  autograd::NoGradGuard no_grad;
  for (Tensor& t : x) t.mul_(alpha);
}

double normalize_(TensorList& x) {
  double length = norm(x);
  if (length > 0.0) scale_(x, 1.0 / length);
  return length;
}

TensorList randn_like(const TensorList& like, Generator& generator) {
  TensorList out;
  out.reserve(like.size());
  for (const Tensor& t : like) out.push_back(core::randn(t.sizes(), {.dtype = t.dtype()}, &generator));
  return out;
}

TensorList rademacher_like(const TensorList& like, Generator& generator) {
  autograd::NoGradGuard no_grad;
  TensorList out;
  out.reserve(like.size());
  for (const Tensor& t : like) {
    Tensor bits = core::randint(0, 2, t.sizes(), {.dtype = t.dtype()}, &generator);
    out.push_back(bits * 2.0 - 1.0);
  }
  return out;
}

ParameterSnapshot::ParameterSnapshot(const TensorList& params) : params_(params), values_(clone(params)) {}

ParameterSnapshot::~ParameterSnapshot() {
  if (restored_) return;
  try {
    restore();
  } catch (...) {  // NOTE: already unwinding (or restore failed once); a destructor must not throw
  }
}

void ParameterSnapshot::set_offset(const TensorList& delta) const {
  autograd::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor p = params_[i];
    p.copy_(values_[i]);
    if (!delta.empty()) p.add_(delta[i]);
  }
}

void ParameterSnapshot::restore() {
  restored_ = true;
  set_offset({});
}

}  // namespace descent::study
