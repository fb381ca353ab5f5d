// The public matrix products, differentiable: matmul (NumPy semantics), mm, bmm, addmm, outer,
// dot. Forward and backward of each sit together in autograd/linalg_ops.cpp; the kernels are
// core/linalg.h (OpenBLAS, transposed operands passed as flags).
#pragma once

#include <descent/core/linalg.h>

namespace descent {

Tensor matmul(const Tensor& a, const Tensor& b);
Tensor mm(const Tensor& a, const Tensor& b);    // [M, K] @ [K, N]
Tensor bmm(const Tensor& a, const Tensor& b);   // [B, M, K] @ [B, K, N]
// beta * input + alpha * (a @ b), input broadcast to [M, N]
Tensor addmm(const Tensor& input, const Tensor& a, const Tensor& b, const Scalar& beta = 1, const Scalar& alpha = 1);
Tensor outer(const Tensor& a, const Tensor& b);  // [M] x [N] -> [M, N]
Tensor dot(const Tensor& a, const Tensor& b);    // [N] . [N] -> 0-d

}  // namespace descent
