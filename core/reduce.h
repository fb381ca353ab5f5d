// Reductions over any set of dims (an empty Dims means all dims), with keepdim; softmax and
// log_softmax along one dim, stable for large values and -inf entries. Sums accumulate in
// double for float32 inputs where that costs nothing, or pairwise/blocked otherwise, so that
// the sum of 16M float32 values is accurate. Graph-free kernels; public names in autograd/ops.h.
// Reductions are in core/reduce.cpp, softmax in core/softmax.cpp, both on core/reduction_engine.h.
#pragma once

#include <utility>

#include <descent/core/tensor.h>

namespace descent::core {

// sum of bool/int64 gives int64; of floats the same dtype. mean of an integer tensor: DTypeError.
Tensor sum(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor prod(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
// Over all elements (a 0-d result); NaN propagates. An empty tensor: ValueError.
Tensor max(const Tensor& x);
Tensor min(const Tensor& x);
// Along one dim: values and int64 indices (the first index of the extreme value).
std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim = false);
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor amax(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor amin(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor argmax(const Tensor& x);  // index into the flattened tensor
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmin(const Tensor& x);
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim = false);
// Variance with Bessel's correction by default (correction = 1), and its square root.
Tensor var(const Tensor& x, const Dims& dims = {}, int64_t correction = 1, bool keepdim = false);
Tensor std(const Tensor& x, const Dims& dims = {}, int64_t correction = 1, bool keepdim = false);
// p = 1, 2, any p > 0, or INFINITY (max of |x|).
Tensor norm(const Tensor& x, double p = 2.0, const Dims& dims = {}, bool keepdim = false);
Tensor logsumexp(const Tensor& x, const Dims& dims, bool keepdim = false);
Tensor all(const Tensor& x, const Dims& dims = {}, bool keepdim = false);  // bool
Tensor any(const Tensor& x, const Dims& dims = {}, bool keepdim = false);  // bool

Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

// The shape of reducing `sizes` over `dims` (wrapped, each at most once), as the reductions use.
Dims reduced_shape(const Dims& sizes, const Dims& dims, bool keepdim, const char* op);

}  // namespace descent::core
