// Indexing and joining: cat/stack/split/chunk, gather/scatter, index_select/index_add,
// masked_fill/masked_select, nonzero, one_hot, topk, sort/argsort, tril/triu, repeat, flip and
// constant padding. Index tensors are int64; masks are bool. Graph-free kernels; the public
// names are in autograd/ops.h. Kernels by subject: core/join.cpp, gather_scatter.cpp, masks.cpp,
// sort.cpp and shape_copies.cpp, on the walks of core/indexing_walk.h.
#pragma once

#include <utility>
#include <vector>

#include <descent/core/tensor.h>

namespace descent::core {

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
void scatter_add_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);  // index 1-d
Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source, const Scalar& alpha = 1);
void index_add_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source, const Scalar& alpha = 1);
Tensor masked_fill(const Tensor& x, const Tensor& mask, const Scalar& value);
void masked_fill_(const Tensor& x, const Tensor& mask, const Scalar& value);
Tensor masked_select(const Tensor& x, const Tensor& mask);  // 1-d
Tensor nonzero(const Tensor& x);                             // [count, ndim] int64
Tensor one_hot(const Tensor& labels, int64_t num_classes = -1);  // int64; -1: max + 1

// k largest (or smallest) along dim: values and int64 indices, sorted when `sorted`.
std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim = -1, bool largest = true, bool sorted = true);
std::pair<Tensor, Tensor> sort(const Tensor& x, int64_t dim = -1, bool descending = false, bool stable = true);
Tensor argsort(const Tensor& x, int64_t dim = -1, bool descending = false, bool stable = true);

Tensor tril(const Tensor& x, int64_t diagonal = 0);  // last two dims
Tensor triu(const Tensor& x, int64_t diagonal = 0);
Tensor repeat(const Tensor& x, const Dims& repeats);
Tensor flip(const Tensor& x, const Dims& dims);
// Constant padding, PyTorch's F.pad order: (left, right) of the last dim, then of the one before, ...
// Negative padding crops.
Tensor pad(const Tensor& x, const std::vector<int64_t>& padding, const Scalar& value = 0);

}  // namespace descent::core
