// Factories: new tensors from sizes, values or foreign memory. Graph-free kernels (namespace
// descent::core); the public names in namespace descent are declared in autograd/ops.h.
#pragma once

#include <functional>
#include <initializer_list>
#include <vector>

#include <descent/core/tensor.h>

namespace descent::core {

Tensor empty(const Dims& sizes, TensorOptions options = {});
Tensor zeros(const Dims& sizes, TensorOptions options = {});
Tensor ones(const Dims& sizes, TensorOptions options = {});
// The dtype, unless given, follows the value: bool, int64 or float32.
Tensor full(const Dims& sizes, const Scalar& value, TensorOptions options = {});
// [0, end) and [start, end) by step (step != 0, may be negative). Without a dtype: int64 when
// every bound is an integer, float32 otherwise (as PyTorch).
Tensor arange(const Scalar& end, TensorOptions options = {});
Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step = 1, TensorOptions options = {});
// `steps` evenly spaced values from start to end inclusive.
Tensor linspace(double start, double end, int64_t steps, TensorOptions options = {});
// An n x m matrix with ones on the diagonal (m = n by default).
Tensor eye(int64_t n, TensorOptions options = {});
Tensor eye(int64_t n, int64_t m, TensorOptions options = {});

// From values in row-major order, with a shape (whose element count must match) or as 1-d.
// Without a dtype: double and float give float32, integers int64, bool bool.
template <typename T>
Tensor tensor(const std::vector<T>& values, const Dims& shape, TensorOptions options = {});
template <typename T>
Tensor tensor(const std::vector<T>& values, TensorOptions options = {}) {
  return tensor(values, Dims{static_cast<int64_t>(values.size())}, options);
}
template <typename T>
Tensor tensor(std::initializer_list<T> values, const Dims& shape, TensorOptions options = {}) {
  return tensor(std::vector<T>(values), shape, options);
}
template <typename T>
Tensor tensor(std::initializer_list<T> values, TensorOptions options = {}) {
  return tensor(std::vector<T>(values), options);
}
// A 0-d tensor holding one value.
Tensor scalar_tensor(const Scalar& value, TensorOptions options = {});

// A contiguous tensor over memory the caller owns; `deleter` (if any) runs when the last view
// is gone. Writes through the tensor reach the caller's memory.
Tensor from_blob(void* data, const Dims& sizes, DType dtype, std::function<void(void*)> deleter = {});

Tensor empty_like(const Tensor& t, TensorOptions options = {});  // options.dtype overrides t's
Tensor zeros_like(const Tensor& t, TensorOptions options = {});
Tensor ones_like(const Tensor& t, TensorOptions options = {});
Tensor full_like(const Tensor& t, const Scalar& value, TensorOptions options = {});

}  // namespace descent::core
