// The public reductions, softmax and log_softmax. Every reduction with a floating result is
// differentiable (forward and backward in autograd/reduce_ops.cpp); those with int64 or bool
// results (argmax, argmin, all, any) are the core kernels of core/reduce.h.
#pragma once

#include <utility>

#include <descent/core/reduce.h>

namespace descent {

using core::all;
using core::any;
using core::argmax;
using core::argmin;

// An empty Dims means all dims, as in core/reduce.h.
Tensor sum(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor prod(const Tensor& x, const Dims& dims = {}, bool keepdim = false);  // exact with zeros in x
// Over all elements: tied extremes share the gradient evenly.
Tensor max(const Tensor& x);
Tensor min(const Tensor& x);
// Along one dim, values and indices: the gradient goes to the returned index.
std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim = false);
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim = false);
// Tied extremes along the reduced dims share the gradient evenly.
Tensor amax(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor amin(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor var(const Tensor& x, const Dims& dims = {}, int64_t correction = 1, bool keepdim = false);
Tensor std(const Tensor& x, const Dims& dims = {}, int64_t correction = 1, bool keepdim = false);  // std'(0) = 0
Tensor norm(const Tensor& x, double p = 2.0, const Dims& dims = {}, bool keepdim = false);  // norm'(0) = 0
Tensor logsumexp(const Tensor& x, const Dims& dims, bool keepdim = false);
// Fused: one node each, whose backward is the closed form.
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

}  // namespace descent
