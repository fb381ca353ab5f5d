// The public op set of namespace descent: what users call (exp(x), a + b, cat(...)).
// Today every op is the graph-free core kernel of the same name, brought in by a
// using-declaration; the autograd work replaces each line with a differentiable op that calls
// the kernel and records its backward node (see docs/ARCHITECTURE.md, "Layers").
#pragma once

#include "core/factory.h"
#include "core/indexing.h"
#include "core/linalg.h"
#include "core/random.h"
#include "core/reduce.h"
#include "core/binary.h"
#include "core/unary.h"
#include "core/views.h"

namespace descent {

// factories
using core::arange;
using core::empty;
using core::empty_like;
using core::eye;
using core::from_blob;
using core::full;
using core::full_like;
using core::linspace;
using core::ones;
using core::ones_like;
using core::scalar_tensor;
using core::tensor;
using core::zeros;
using core::zeros_like;
// random
using core::bernoulli;
using core::rand;
using core::rand_like;
using core::randint;
using core::randn;
using core::randn_like;
using core::randperm;
// views and copies
using core::as_strided;
using core::broadcast_to;
using core::clone;
using core::contiguous;
using core::expand;
using core::flatten;
using core::narrow;
using core::permute;
using core::reshape;
using core::select;
using core::slice;
using core::squeeze;
using core::transpose;
using core::unflatten;
using core::unsqueeze;
using core::view;
// unary
using core::abs;
using core::ceil;
using core::clamp;
using core::cos;
using core::erf;
using core::exp;
using core::expm1;
using core::floor;
using core::gelu;
using core::isfinite;
using core::isinf;
using core::isnan;
using core::leaky_relu;
using core::log;
using core::log1p;
using core::log2;
using core::logical_not;
using core::nan_to_num;
using core::neg;
using core::reciprocal;
using core::relu;
using core::round;
using core::rsqrt;
using core::sigmoid;
using core::sign;
using core::silu;
using core::sin;
using core::softplus;
using core::sqrt;
using core::square;
using core::tanh;
using core::GeluApproximate;
// binary
using core::add;
using core::div;
using core::eq;
using core::ge;
using core::gt;
using core::le;
using core::logical_and;
using core::logical_or;
using core::logical_xor;
using core::lt;
using core::maximum;
using core::minimum;
using core::mul;
using core::ne;
using core::pow;
using core::remainder;
using core::sub;
using core::where;
// reductions
using core::all;
using core::amax;
using core::amin;
using core::any;
using core::argmax;
using core::argmin;
using core::log_softmax;
using core::logsumexp;
using core::max;
using core::mean;
using core::min;
using core::norm;
using core::prod;
using core::softmax;
using core::std;
using core::sum;
using core::var;
// matrices
using core::addmm;
using core::bmm;
using core::dot;
using core::matmul;
using core::mm;
using core::outer;
// indexing and joining
using core::argsort;
using core::cat;
using core::chunk;
using core::flip;
using core::gather;
using core::index_add;
using core::index_select;
using core::masked_fill;
using core::masked_select;
using core::nonzero;
using core::one_hot;
using core::pad;
using core::repeat;
using core::scatter;
using core::scatter_add;
using core::sort;
using core::split;
using core::stack;
using core::topk;
using core::tril;
using core::triu;

// ---- operators ----
inline Tensor operator-(const Tensor& a) { return neg(a); }
inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator+(const Tensor& a, const Scalar& b) { return add(a, b); }
inline Tensor operator+(const Scalar& a, const Tensor& b) { return add(b, a); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator-(const Tensor& a, const Scalar& b) { return sub(a, b); }
inline Tensor operator-(const Scalar& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator*(const Tensor& a, const Scalar& b) { return mul(a, b); }
inline Tensor operator*(const Scalar& a, const Tensor& b) { return mul(b, a); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator/(const Tensor& a, const Scalar& b) { return div(a, b); }
inline Tensor operator/(const Scalar& a, const Tensor& b) { return div(a, b); }
inline Tensor operator%(const Tensor& a, const Tensor& b) { return remainder(a, b); }
inline Tensor operator%(const Tensor& a, const Scalar& b) { return remainder(a, b); }
inline Tensor operator==(const Tensor& a, const Tensor& b) { return eq(a, b); }
inline Tensor operator==(const Tensor& a, const Scalar& b) { return eq(a, b); }
inline Tensor operator!=(const Tensor& a, const Tensor& b) { return ne(a, b); }
inline Tensor operator!=(const Tensor& a, const Scalar& b) { return ne(a, b); }
inline Tensor operator<(const Tensor& a, const Tensor& b) { return lt(a, b); }
inline Tensor operator<(const Tensor& a, const Scalar& b) { return lt(a, b); }
inline Tensor operator<=(const Tensor& a, const Tensor& b) { return le(a, b); }
inline Tensor operator<=(const Tensor& a, const Scalar& b) { return le(a, b); }
inline Tensor operator>(const Tensor& a, const Tensor& b) { return gt(a, b); }
inline Tensor operator>(const Tensor& a, const Scalar& b) { return gt(a, b); }
inline Tensor operator>=(const Tensor& a, const Tensor& b) { return ge(a, b); }
inline Tensor operator>=(const Tensor& a, const Scalar& b) { return ge(a, b); }
inline Tensor operator&(const Tensor& a, const Tensor& b) { return logical_and(a, b); }
inline Tensor operator|(const Tensor& a, const Tensor& b) { return logical_or(a, b); }
inline Tensor operator^(const Tensor& a, const Tensor& b) { return logical_xor(a, b); }
inline Tensor operator!(const Tensor& a) { return logical_not(a); }
inline Tensor& operator+=(Tensor& a, const Tensor& b) { return a.add_(b); }
inline Tensor& operator+=(Tensor& a, const Scalar& b) { return a.add_(b); }
inline Tensor& operator-=(Tensor& a, const Tensor& b) { return a.sub_(b); }
inline Tensor& operator-=(Tensor& a, const Scalar& b) { return a.sub_(b); }
inline Tensor& operator*=(Tensor& a, const Tensor& b) { return a.mul_(b); }
inline Tensor& operator*=(Tensor& a, const Scalar& b) { return a.mul_(b); }
inline Tensor& operator/=(Tensor& a, const Tensor& b) { return a.div_(b); }
inline Tensor& operator/=(Tensor& a, const Scalar& b) { return a.div_(b); }

}  // namespace descent
