// Matrix products through OpenBLAS (cblas_sgemm / cblas_dgemm): transposed operands are passed
// as flags, never copied; only a tensor that is neither row- nor column-major is made contiguous.
// Graph-free kernels; the public names are in autograd/ops.h.
//   Shapes: M, N, K as in C[M, N] = A[M, K] @ B[K, N]; B for batch dims.
#pragma once

#include <descent/core/tensor.h>

namespace descent::core {

// NumPy semantics: 1-d @ 1-d is a dot product (0-d), 1-d operands gain and lose a dim, and
// batch dims broadcast. Float32 and float64 only, both the same dtype.
Tensor matmul(const Tensor& a, const Tensor& b);
Tensor mm(const Tensor& a, const Tensor& b);    // [M, K] @ [K, N]
Tensor bmm(const Tensor& a, const Tensor& b);   // [B, M, K] @ [B, K, N]
// beta * input + alpha * (a @ b), input broadcast to [M, N]
Tensor addmm(const Tensor& input, const Tensor& a, const Tensor& b, const Scalar& beta = 1, const Scalar& alpha = 1);
Tensor outer(const Tensor& a, const Tensor& b);  // [M] x [N] -> [M, N]
Tensor dot(const Tensor& a, const Tensor& b);    // [N] . [N] -> 0-d

// OpenBLAS runs a GEMM of at most this many multiply-adds (M N K) on the calling thread alone:
// SMP_THRESHOLD_MIN (65536) * GEMM_MULTITHREAD_THRESHOLD of the build (see its interface/gemm.c).
// Products are threaded by descent above it (core/linalg.cpp, nn/functional_conv.cpp).
extern const double kBlasSingleThreadWork;

// The one raw GEMM entry point on row-major buffers: C[m, n] = op(A) op(B) + beta C, op(X) = X^T
// when its flag is set (A is [m, k] or, transposed, [k, m]; B is [k, n] or [n, k]; C is [m, n]),
// all contiguous. For callers that thread themselves (convolution over the batch): inside a
// parallel region it runs on the calling thread alone; outside one, above kBlasSingleThreadWork,
// it is cut into row blocks on descent's threads (OpenBLAS itself always runs on one thread).
void raw_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, const float* b,
              float beta, float* c);
void raw_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const double* a, const double* b,
              double beta, double* c);

// out = beta * out + alpha * (a @ b) into an existing contiguous [M, N] (or [B, M, N]) tensor;
// the building block that later fused kernels and backward passes call to avoid temporaries.
void gemm_into(const Tensor& out, const Tensor& a, const Tensor& b, double alpha, double beta);

}  // namespace descent::core
