// Elementwise functions of two tensors (NumPy broadcasting, dtype promotion as PyTorch for
// bool < int64 < float32 < float64), their scalar overloads, comparisons, logical ops, where,
// and the in-place forms that write through views. Graph-free kernels; the public names and
// the operators (a + b, a < b, ...) are in autograd/ops.h.
#pragma once

#include <descent/core/tensor.h>

namespace descent::core {

// The dtype of a binary op on a and b, PyTorch's rule: dimensioned tensors win. A 0-d tensor
// takes part like a scalar: it changes the result only when it is of a higher category
// (bool < integral < floating) than the dimensioned operand, and then keeps its own dtype
// (float32 [3] * float64 [] is float32; int64 [3] * float64 [] is float64).
DType result_type(const Tensor& a, const Tensor& b);

// a + alpha * b
Tensor add(const Tensor& a, const Tensor& b, const Scalar& alpha = 1);
Tensor add(const Tensor& a, const Scalar& b);
Tensor sub(const Tensor& a, const Tensor& b, const Scalar& alpha = 1);
Tensor sub(const Tensor& a, const Scalar& b);
Tensor sub(const Scalar& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Scalar& b);
Tensor div(const Tensor& a, const Tensor& b);  // true division: integers give float32
Tensor div(const Tensor& a, const Scalar& b);
Tensor div(const Scalar& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor pow(const Scalar& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);  // NaN propagates
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor remainder(const Tensor& a, const Tensor& b);  // sign of the divisor (Python's %)
Tensor remainder(const Tensor& a, const Scalar& b);

// Comparisons give bool tensors.
Tensor eq(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, const Scalar& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Scalar& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Scalar& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Scalar& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Scalar& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Scalar& b);
// Logical ops treat nonzero as true and give bool tensors.
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor logical_xor(const Tensor& a, const Tensor& b);
// condition ? a : b elementwise, all three broadcast together; condition must be bool.
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);
Tensor where(const Tensor& condition, const Tensor& a, const Scalar& b);
Tensor where(const Tensor& condition, const Scalar& a, const Tensor& b);

// In place: self op= other, other broadcast to self's shape; the promoted dtype must be
// self's dtype (an int64 tensor cannot take += 0.5: DTypeError). Each bumps self's version.
void add_(const Tensor& self, const Tensor& other, const Scalar& alpha = 1);
void add_(const Tensor& self, const Scalar& other);
void sub_(const Tensor& self, const Tensor& other, const Scalar& alpha = 1);
void sub_(const Tensor& self, const Scalar& other);
void mul_(const Tensor& self, const Tensor& other);
void mul_(const Tensor& self, const Scalar& other);
void div_(const Tensor& self, const Tensor& other);
void div_(const Tensor& self, const Scalar& other);

}  // namespace descent::core
