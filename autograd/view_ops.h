// The public view and copy ops, differentiable: view, reshape, permute, transpose, narrow, slice,
// select, expand, squeeze/unsqueeze, flatten/unflatten, contiguous, clone, to. Forward and
// backward of each sit together in autograd/view_ops.cpp; the kernels are core/views.h.
#pragma once

#include <descent/core/views.h>

namespace descent {

Tensor view(const Tensor& t, const Dims& sizes);
Tensor reshape(const Tensor& t, const Dims& sizes);
Tensor permute(const Tensor& t, const Dims& order);
Tensor transpose(const Tensor& t, int64_t dim0, int64_t dim1);
Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length);
Tensor slice(const Tensor& t, int64_t dim, int64_t start = 0, int64_t end = INT64_MAX, int64_t step = 1);
Tensor select(const Tensor& t, int64_t dim, int64_t index);
Tensor expand(const Tensor& t, const Dims& sizes);
Tensor broadcast_to(const Tensor& t, const Dims& sizes);
Tensor squeeze(const Tensor& t);
Tensor squeeze(const Tensor& t, int64_t dim);
Tensor unsqueeze(const Tensor& t, int64_t dim);
Tensor flatten(const Tensor& t, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor unflatten(const Tensor& t, int64_t dim, const Dims& sizes);
Tensor contiguous(const Tensor& t);
Tensor clone(const Tensor& t);
Tensor to(const Tensor& t, DType dtype);
// Not differentiable: throws for an input that requires grad while grad mode is on.
Tensor as_strided(const Tensor& t, const Dims& sizes, const Dims& strides, int64_t offset);

}  // namespace descent
