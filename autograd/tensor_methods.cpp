// Tensor's op methods (t.sum(), t.view(...), t.add_(...)): each forwards to the public op of the
// same name in autograd/ops.h, so that a method and its free function never differ.
#include <descent/autograd/ops.h>
#include <descent/autograd/record.h>

namespace descent {

// views and copies
Tensor Tensor::view(const Dims& sizes) const { return descent::view(*this, sizes); }
Tensor Tensor::reshape(const Dims& sizes) const { return descent::reshape(*this, sizes); }
Tensor Tensor::permute(const Dims& order) const { return descent::permute(*this, order); }
Tensor Tensor::transpose(int64_t dim0, int64_t dim1) const { return descent::transpose(*this, dim0, dim1); }
Tensor Tensor::t() const {
  check<ShapeError>(dim() <= 2, "t: expects a tensor of at most 2 dims, got shape {}", sizes());
  return dim() < 2 ? descent::view(*this, sizes()) : descent::transpose(*this, 0, 1);
}
Tensor Tensor::narrow(int64_t dim, int64_t start, int64_t length) const {
  return descent::narrow(*this, dim, start, length);
}
Tensor Tensor::slice(int64_t dim, int64_t start, int64_t end, int64_t step) const {
  return descent::slice(*this, dim, start, end, step);
}
Tensor Tensor::select(int64_t dim, int64_t index) const { return descent::select(*this, dim, index); }
Tensor Tensor::operator[](int64_t index) const { return descent::select(*this, 0, index); }
Tensor Tensor::expand(const Dims& sizes) const { return descent::expand(*this, sizes); }
Tensor Tensor::expand_as(const Tensor& other) const { return descent::expand(*this, other.sizes()); }
Tensor Tensor::broadcast_to(const Dims& sizes) const { return descent::broadcast_to(*this, sizes); }
Tensor Tensor::squeeze() const { return descent::squeeze(*this); }
Tensor Tensor::squeeze(int64_t dim) const { return descent::squeeze(*this, dim); }
Tensor Tensor::unsqueeze(int64_t dim) const { return descent::unsqueeze(*this, dim); }
Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const {
  return descent::flatten(*this, start_dim, end_dim);
}
Tensor Tensor::unflatten(int64_t dim, const Dims& sizes) const { return descent::unflatten(*this, dim, sizes); }
Tensor Tensor::contiguous() const { return descent::contiguous(*this); }
Tensor Tensor::clone() const { return descent::clone(*this); }
Tensor Tensor::to(DType dtype) const { return descent::to(*this, dtype); }

// in place
// copy_ is followed by autograd when self requires grad: src gets the gradient of the copied
// values, self's old history none (a where on an all-true mask, so that the result depends on
// self even when src needs no gradient); a view's base keeps its gradient outside the view.
// NOTE: a self outside the graph takes src's values only, not its history (PyTorch records it).
Tensor& Tensor::copy_(const Tensor& src) {
  if (!requires_grad()) {
    core::copy_(*this, src);
    return *this;
  }
  autograd::run_in_place(*this, src, "copy_", false, [&] { core::copy_(*this, src); },
                         [&](const Tensor& s) {
                           Tensor all_true = core::ones(s.sizes(), {.dtype = kBool});
                           return descent::where(all_true, descent::expand(descent::to(src, s.dtype()), s.sizes()), s);
                         });
  return *this;
}
Tensor& Tensor::fill_(const Scalar& value) {
  autograd::check_untracked_in_place(*this, "fill_");
  core::fill_(*this, value);
  return *this;
}
Tensor& Tensor::zero_() { return fill_(0); }
Tensor& Tensor::add_(const Tensor& other, const Scalar& alpha) {
  descent::add_(*this, other, alpha);
  return *this;
}
Tensor& Tensor::add_(const Scalar& other) {
  descent::add_(*this, other);
  return *this;
}
Tensor& Tensor::sub_(const Tensor& other, const Scalar& alpha) {
  descent::sub_(*this, other, alpha);
  return *this;
}
Tensor& Tensor::sub_(const Scalar& other) {
  descent::sub_(*this, other);
  return *this;
}
Tensor& Tensor::mul_(const Tensor& other) {
  descent::mul_(*this, other);
  return *this;
}
Tensor& Tensor::mul_(const Scalar& other) {
  descent::mul_(*this, other);
  return *this;
}
Tensor& Tensor::div_(const Tensor& other) {
  descent::div_(*this, other);
  return *this;
}
Tensor& Tensor::div_(const Scalar& other) {
  descent::div_(*this, other);
  return *this;
}
Tensor& Tensor::clamp_(std::optional<Scalar> min, std::optional<Scalar> max) {
  autograd::run_in_place(*this, Tensor(), "clamp_", true, [&] { core::clamp_(*this, min, max); },
                         [&](const Tensor& s) { return descent::clamp(s, min, max); });
  return *this;
}
Tensor& Tensor::masked_fill_(const Tensor& mask, const Scalar& value) {
  autograd::run_in_place(*this, Tensor(), "masked_fill_", false, [&] { core::masked_fill_(*this, mask, value); },
                         [&](const Tensor& s) { return descent::masked_fill(s, mask, value); });
  return *this;
}
Tensor& Tensor::uniform_(double low, double high) {
  autograd::check_untracked_in_place(*this, "uniform_");
  core::uniform_(*this, low, high);
  return *this;
}
Tensor& Tensor::normal_(double mean, double std) {
  autograd::check_untracked_in_place(*this, "normal_");
  core::normal_(*this, mean, std);
  return *this;
}

// math
Tensor Tensor::neg() const { return descent::neg(*this); }
Tensor Tensor::abs() const { return descent::abs(*this); }
Tensor Tensor::exp() const { return descent::exp(*this); }
Tensor Tensor::log() const { return descent::log(*this); }
Tensor Tensor::sqrt() const { return descent::sqrt(*this); }
Tensor Tensor::square() const { return descent::square(*this); }
Tensor Tensor::tanh() const { return descent::tanh(*this); }
Tensor Tensor::sigmoid() const { return descent::sigmoid(*this); }
Tensor Tensor::relu() const { return descent::relu(*this); }
Tensor Tensor::pow(const Scalar& exponent) const { return descent::pow(*this, exponent); }
Tensor Tensor::pow(const Tensor& exponent) const { return descent::pow(*this, exponent); }
Tensor Tensor::clamp(std::optional<Scalar> min, std::optional<Scalar> max) const {
  return descent::clamp(*this, min, max);
}
Tensor Tensor::matmul(const Tensor& other) const { return descent::matmul(*this, other); }
Tensor Tensor::mm(const Tensor& other) const { return descent::mm(*this, other); }

// reductions
Tensor Tensor::sum() const { return descent::sum(*this); }
Tensor Tensor::sum(const Dims& dims, bool keepdim) const { return descent::sum(*this, dims, keepdim); }
Tensor Tensor::mean() const { return descent::mean(*this); }
Tensor Tensor::mean(const Dims& dims, bool keepdim) const { return descent::mean(*this, dims, keepdim); }
Tensor Tensor::prod() const { return descent::prod(*this); }
Tensor Tensor::max() const { return descent::max(*this); }
std::pair<Tensor, Tensor> Tensor::max(int64_t dim, bool keepdim) const { return descent::max(*this, dim, keepdim); }
Tensor Tensor::min() const { return descent::min(*this); }
std::pair<Tensor, Tensor> Tensor::min(int64_t dim, bool keepdim) const { return descent::min(*this, dim, keepdim); }
Tensor Tensor::argmax() const { return descent::argmax(*this); }
Tensor Tensor::argmax(int64_t dim, bool keepdim) const { return descent::argmax(*this, dim, keepdim); }
Tensor Tensor::argmin() const { return descent::argmin(*this); }
Tensor Tensor::argmin(int64_t dim, bool keepdim) const { return descent::argmin(*this, dim, keepdim); }
Tensor Tensor::var(const Dims& dims, int64_t correction, bool keepdim) const {
  return descent::var(*this, dims, correction, keepdim);
}
Tensor Tensor::std(const Dims& dims, int64_t correction, bool keepdim) const {
  return descent::std(*this, dims, correction, keepdim);
}
Tensor Tensor::norm(double p, const Dims& dims, bool keepdim) const { return descent::norm(*this, p, dims, keepdim); }
Tensor Tensor::logsumexp(const Dims& dims, bool keepdim) const { return descent::logsumexp(*this, dims, keepdim); }
Tensor Tensor::all() const { return descent::all(*this); }
Tensor Tensor::any() const { return descent::any(*this); }
Tensor Tensor::softmax(int64_t dim) const { return descent::softmax(*this, dim); }
Tensor Tensor::log_softmax(int64_t dim) const { return descent::log_softmax(*this, dim); }

}  // namespace descent
