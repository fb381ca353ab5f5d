// Views (new geometry over the same storage) and copies: view/reshape, permute, transpose,
// narrow/slice/select, expand, squeeze/unsqueeze, flatten/unflatten; contiguous, clone, copy_,
// and dtype conversion. Graph-free kernels; the public names are in autograd/ops.h.
#pragma once

#include <descent/core/tensor.h>

namespace descent::core {

Tensor as_strided(const Tensor& t, const Dims& sizes, const Dims& strides, int64_t offset);
Tensor view(const Tensor& t, const Dims& sizes);      // one size may be -1; ShapeError if strides cannot
Tensor reshape(const Tensor& t, const Dims& sizes);   // view when possible, else a contiguous copy
Tensor permute(const Tensor& t, const Dims& order);
Tensor transpose(const Tensor& t, int64_t dim0, int64_t dim1);
Tensor t(const Tensor& t);                            // 0-, 1- or 2-d only
Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length);
Tensor slice(const Tensor& t, int64_t dim, int64_t start = 0, int64_t end = INT64_MAX, int64_t step = 1);
Tensor select(const Tensor& t, int64_t dim, int64_t index);
Tensor expand(const Tensor& t, const Dims& sizes);    // -1 keeps a size; new leading dims allowed
Tensor broadcast_to(const Tensor& t, const Dims& sizes);
Tensor squeeze(const Tensor& t);
Tensor squeeze(const Tensor& t, int64_t dim);
Tensor unsqueeze(const Tensor& t, int64_t dim);
Tensor flatten(const Tensor& t, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor unflatten(const Tensor& t, int64_t dim, const Dims& sizes);  // one size may be -1

Tensor contiguous(const Tensor& t);        // t itself when already contiguous
Tensor clone(const Tensor& t);             // always a new contiguous tensor
void copy_(const Tensor& dst, const Tensor& src);  // src broadcast to dst's shape, converted; bumps version
void fill_(const Tensor& dst, const Scalar& value);  // bumps version
Tensor to(const Tensor& t, DType dtype);   // t itself when already of that dtype

}  // namespace descent::core
