// Factories: tensors from sizes and values, ranges, identity matrices, and foreign memory.
#include <descent/core/factory.h>

#include <cmath>
#include <cstring>

#include <descent/core/iterate.h>
#include <descent/core/views.h>

namespace descent::core {

namespace {
Tensor with_grad(Tensor t, const TensorOptions& options) {
  if (options.requires_grad) t.requires_grad_(true);
  return t;
}
}  // namespace

Tensor empty(const Dims& sizes, TensorOptions options) {
  return with_grad(Tensor::empty(sizes, options.dtype.value_or(kFloat32)), options);
}

Tensor zeros(const Dims& sizes, TensorOptions options) {
  Tensor t = Tensor::empty(sizes, options.dtype.value_or(kFloat32));
  std::memset(t.raw_data(), 0, static_cast<size_t>(t.numel() * t.element_size()));  // all-zero bits are 0
  return with_grad(t, options);
}

Tensor ones(const Dims& sizes, TensorOptions options) {
  return full(sizes, 1, {.dtype = options.dtype.value_or(kFloat32), .requires_grad = options.requires_grad});
}

Tensor full(const Dims& sizes, const Scalar& value, TensorOptions options) {
  Tensor t = Tensor::empty(sizes, options.dtype.value_or(value.default_dtype()));
  fill_(t, value);
  return with_grad(t, options);
}

Tensor arange(const Scalar& end, TensorOptions options) { return arange(0, end, 1, options); }

Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step, TensorOptions options) {
  bool integral = !start.is_floating() && !end.is_floating() && !step.is_floating();
  DType dtype = options.dtype.value_or(integral ? kInt64 : kFloat32);
  double first = start.to<double>(), last = end.to<double>(), delta = step.to<double>();
  check<ValueError>(delta != 0, "arange: step must be nonzero");
  check<ValueError>(std::isfinite(first) && std::isfinite(last), "arange: bounds {} and {} must be finite", first,
                    last);
  check<ValueError>((delta > 0 && last >= first) || (delta < 0 && last <= first),
                    "arange: upper bound {} and lower bound {} are inconsistent with step sign {}", last, first,
                    delta);
  int64_t count = integral ? (end.to<int64_t>() - start.to<int64_t>() + step.to<int64_t>() -
                              (step.to<int64_t>() > 0 ? 1 : -1)) / step.to<int64_t>()
                           : static_cast<int64_t>(std::ceil((last - first) / delta));
  Tensor t = Tensor::empty({count}, dtype);
  dispatch<NumericTypes>(dtype, "arange", [&]<typename T>() {
    T* out = t.data<T>();
    if constexpr (std::is_integral_v<T>) {
      int64_t s = start.to<int64_t>(), d = step.to<int64_t>();
      for (int64_t i = 0; i < count; ++i) out[i] = static_cast<T>(s + i * d);
    } else {
      for (int64_t i = 0; i < count; ++i) out[i] = static_cast<T>(first + static_cast<double>(i) * delta);
    }
  });
  return with_grad(t, options);
}

Tensor linspace(double start, double end, int64_t steps, TensorOptions options) {
  check<ValueError>(steps >= 0, "linspace: number of steps must be non-negative, got {}", steps);
  DType dtype = options.dtype.value_or(kFloat32);
  Tensor t = Tensor::empty({steps}, dtype);
  double step = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
  dispatch<NumericTypes>(dtype, "linspace", [&]<typename T>() {
    T* out = t.data<T>();
    // Symmetric from both ends (as PyTorch), so that the last value is exactly `end`; one step is `start`.
    for (int64_t i = 0; i < steps; ++i) {
      double v = steps == 1 || i < steps / 2 ? start + step * static_cast<double>(i)
                               : end - step * static_cast<double>(steps - 1 - i);
      out[i] = static_cast<T>(v);
    }
  });
  return with_grad(t, options);
}

Tensor eye(int64_t n, TensorOptions options) { return eye(n, n, options); }

Tensor eye(int64_t n, int64_t m, TensorOptions options) {
  check<ValueError>(n >= 0 && m >= 0, "eye: sizes must be non-negative, got {} x {}", n, m);
  Tensor t = zeros({n, m}, {.dtype = options.dtype});
  dispatch(t.dtype(), "eye", [&]<typename T>() {
    T* out = t.data<T>();
    for (int64_t i = 0; i < std::min(n, m); ++i) out[i * m + i] = T(1);
  });
  return with_grad(t, options);
}

template <typename T>
Tensor tensor(const std::vector<T>& values, const Dims& shape, TensorOptions options) {
  DType natural = std::is_same_v<T, bool> ? kBool : std::is_integral_v<T> ? kInt64 : kFloat32;
  DType dtype = options.dtype.value_or(natural);
  int64_t count = static_cast<int64_t>(values.size());
  check<ShapeError>(shape.product() == count && std::all_of(shape.begin(), shape.end(), [](int64_t s) { return s >= 0; }),
                    "tensor: {} values do not fill shape {}", count, shape);
  Tensor t = Tensor::empty(shape, dtype);
  dispatch(dtype, "tensor", [&]<typename D>() {
    D* out = t.data<D>();
    for (int64_t i = 0; i < count; ++i) out[i] = static_cast<D>(values[static_cast<size_t>(i)]);
  });
  return with_grad(t, options);
}

#define DESCENT_INSTANTIATE_TENSOR(T) \
  template Tensor tensor<T>(const std::vector<T>&, const Dims&, TensorOptions);
DESCENT_INSTANTIATE_TENSOR(bool)
DESCENT_INSTANTIATE_TENSOR(int)
DESCENT_INSTANTIATE_TENSOR(long)
DESCENT_INSTANTIATE_TENSOR(long long)
DESCENT_INSTANTIATE_TENSOR(unsigned)
DESCENT_INSTANTIATE_TENSOR(unsigned long)
DESCENT_INSTANTIATE_TENSOR(float)
DESCENT_INSTANTIATE_TENSOR(double)
#undef DESCENT_INSTANTIATE_TENSOR

Tensor scalar_tensor(const Scalar& value, TensorOptions options) { return full({}, value, options); }

Tensor from_blob(void* data, const Dims& sizes, DType dtype, std::function<void(void*)> deleter) {
  check<ValueError>(data != nullptr || sizes.product() == 0, "from_blob: null data for shape {}", sizes);
  for (int64_t s : sizes) check<ValueError>(s >= 0, "from_blob: negative size in shape {}", sizes);
  auto storage = Storage::wrap(data, sizes.product() * element_size(dtype), std::move(deleter));
  return Tensor::make_view(std::move(storage), sizes, contiguous_strides(sizes), 0, dtype);
}

Tensor empty_like(const Tensor& t, TensorOptions options) {
  return empty(t.sizes(), {.dtype = options.dtype.value_or(t.dtype()), .requires_grad = options.requires_grad});
}
Tensor zeros_like(const Tensor& t, TensorOptions options) {
  return zeros(t.sizes(), {.dtype = options.dtype.value_or(t.dtype()), .requires_grad = options.requires_grad});
}
Tensor ones_like(const Tensor& t, TensorOptions options) { return full_like(t, 1, options); }
Tensor full_like(const Tensor& t, const Scalar& value, TensorOptions options) {
  return full(t.sizes(), value, {.dtype = options.dtype.value_or(t.dtype()), .requires_grad = options.requires_grad});
}

}  // namespace descent::core
