// The public indexing and joining ops. The ones with a floating result are differentiable
// (forward and backward together in autograd/indexing_ops.cpp); those with int64 or bool results
// (argsort, nonzero, one_hot) are the core kernels of core/indexing.h.
#pragma once

#include <utility>
#include <vector>

#include <descent/core/indexing.h>

namespace descent {

using core::argsort;
using core::nonzero;
using core::one_hot;

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim = 0);  // views; last may be smaller
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim = 0);
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim = 0);

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
// A copy of x with src scattered at index along dim (scatter overwrites, scatter_add adds).
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Scalar& value);
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);  // index 1-d
Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source, const Scalar& alpha = 1);
Tensor masked_fill(const Tensor& x, const Tensor& mask, const Scalar& value);
// value 0-d; the result keeps x's dtype, and value gets the sum of the gradient where mask is set.
Tensor masked_fill(const Tensor& x, const Tensor& mask, const Tensor& value);
Tensor masked_select(const Tensor& x, const Tensor& mask);  // 1-d

// Values are differentiable (the gradient goes to the positions of the indices); indices are int64.
std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim = -1, bool largest = true, bool sorted = true);
std::pair<Tensor, Tensor> sort(const Tensor& x, int64_t dim = -1, bool descending = false, bool stable = true);

Tensor tril(const Tensor& x, int64_t diagonal = 0);  // last two dims
Tensor triu(const Tensor& x, int64_t diagonal = 0);
Tensor repeat(const Tensor& x, const Dims& repeats);
Tensor flip(const Tensor& x, const Dims& dims);
// Constant padding, PyTorch's F.pad order: (left, right) of the last dim, then of the one before, ...
// Negative padding crops.
Tensor pad(const Tensor& x, const std::vector<int64_t>& padding, const Scalar& value = 0);

}  // namespace descent
