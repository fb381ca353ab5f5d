// The public elementwise functions of two tensors (NumPy broadcasting, PyTorch's type promotion),
// differentiable where they have a derivative; comparisons, logical ops are not. Forward and
// backward of each sit together in autograd/binary_ops.cpp; the kernels are core/binary.h.
#pragma once

#include <descent/core/binary.h>

namespace descent {

Tensor add(const Tensor& a, const Tensor& b, const Scalar& alpha = 1);  // a + alpha * b
Tensor add(const Tensor& a, const Scalar& b);
Tensor sub(const Tensor& a, const Tensor& b, const Scalar& alpha = 1);  // a - alpha * b
Tensor sub(const Tensor& a, const Scalar& b);
Tensor sub(const Scalar& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Scalar& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Scalar& b);
Tensor div(const Scalar& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor pow(const Scalar& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);  // ties split the gradient in half
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor remainder(const Tensor& a, const Tensor& b);
Tensor remainder(const Tensor& a, const Scalar& b);
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);
Tensor where(const Tensor& condition, const Tensor& a, const Scalar& b);
Tensor where(const Tensor& condition, const Scalar& a, const Tensor& b);

// Not differentiable (bool results).
using core::eq;
using core::ge;
using core::gt;
using core::le;
using core::logical_and;
using core::logical_or;
using core::logical_xor;
using core::lt;
using core::ne;

// In place, through views. With autograd: a leaf that requires grad cannot be changed in place
// (outside NoGradGuard); a non-leaf takes the history of the out-of-place result.
void add_(const Tensor& self, const Tensor& other, const Scalar& alpha = 1);
void add_(const Tensor& self, const Scalar& other);
void sub_(const Tensor& self, const Tensor& other, const Scalar& alpha = 1);
void sub_(const Tensor& self, const Scalar& other);
void mul_(const Tensor& self, const Tensor& other);
void mul_(const Tensor& self, const Scalar& other);
void div_(const Tensor& self, const Tensor& other);
void div_(const Tensor& self, const Scalar& other);

}  // namespace descent
