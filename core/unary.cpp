// Elementwise functions of one tensor (core/unary.h): their dtype rules, the layout of their
// output, and the loop that hands contiguous runs to the array kernels built on core/vecmath.h.
// Read core/iterate.h first, then the "Loops" section below.
#include <descent/core/unary.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <tuple>
#include <type_traits>
#include <utility>

#include <descent/core/binary.h>
#include <descent/core/factory.h>
#include <descent/core/iterate.h>
#include <descent/core/vecmath.h>
#include <descent/core/views.h>

namespace descent::core {

namespace {

// ---- Loops ----

// A new tensor for the result of an elementwise op on x. As in PyTorch, it takes x's memory order
// when x is dense (its elements fill a block of memory without gaps or overlaps in some order of
// its dims, as a transposed or permuted contiguous tensor does), so that the loop walks input and
// output alike in memory order; otherwise (slices with steps, broadcasts) it is contiguous.
Tensor empty_in_layout_of(const Tensor& x, DType dtype) {
  if (x.is_contiguous()) return Tensor::empty(x.sizes(), dtype);
  const int ndim = x.dim();
  std::array<int, kMaxDims> order{};  // dims from innermost to outermost
  for (int i = 0; i < ndim; ++i) order[i] = ndim - 1 - i;
  std::stable_sort(order.begin(), order.begin() + ndim, [&](int a, int b) { return x.strides()[a] < x.strides()[b]; });
  Dims strides = Dims::filled(ndim, 0);
  int64_t expected = 1;
  for (int i = 0; i < ndim; ++i) {
    const int d = order[i];
    if (x.sizes()[d] != 1 && x.strides()[d] != expected) return Tensor::empty(x.sizes(), dtype);
    strides[d] = expected;
    expected *= x.sizes()[d];
  }
  return Tensor::make_view(Storage::allocate(x.numel() * element_size(dtype)), x.sizes(), strides, 0, dtype);
}

// Runs of up to this many elements are gathered from strided memory into a stack buffer.
constexpr int64_t kGatherBlock = 256;

// A run of n elements of one operand, as a contiguous array: the operand's own memory when its
// stride is the element size, else gathered into `buffer` (kGatherBlock elements).
template <typename T>
const T* contiguous_run(const char* bytes, int64_t stride, int64_t begin, int64_t count, T* buffer) {
  if (stride == static_cast<int64_t>(sizeof(T))) return reinterpret_cast<const T*>(bytes) + begin;
  for (int64_t i = 0; i < count; ++i) buffer[i] = *reinterpret_cast<const T*>(bytes + (begin + i) * stride);
  return buffer;
}

template <typename T>
struct GatherBuffer {
  alignas(64) T data[kGatherBlock];
};

// out = kernel(inputs...) over any strides: kernel(const In* x..., Out* y, int64_t n) computes n
// elements of contiguous arrays. Strided runs are gathered into buffers in blocks, computed, and
// scattered.
template <typename Out, typename... In, typename Kernel, size_t... K>
void compute_run(char* const* pointers, const int64_t* strides, int64_t n, const Kernel& kernel,
                 std::index_sequence<K...>) {
  const bool out_contiguous = strides[0] == sizeof(Out);
  if (out_contiguous && ((strides[K + 1] == sizeof(In)) && ...)) {
    kernel(reinterpret_cast<const In*>(pointers[K + 1])..., reinterpret_cast<Out*>(pointers[0]), n);
    return;
  }
  std::tuple<GatherBuffer<In>...> in_buffers;
  GatherBuffer<Out> out_buffer;
  for (int64_t begin = 0; begin < n; begin += kGatherBlock) {
    const int64_t count = std::min(kGatherBlock, n - begin);
    Out* result = out_contiguous ? reinterpret_cast<Out*>(pointers[0]) + begin : out_buffer.data;
    kernel(contiguous_run<In>(pointers[K + 1], strides[K + 1], begin, count, std::get<K>(in_buffers).data)..., result,
           count);
    if (!out_contiguous) {
      for (int64_t i = 0; i < count; ++i) *reinterpret_cast<Out*>(pointers[0] + (begin + i) * strides[0]) = out_buffer.data[i];
    }
  }
}

template <typename Out, typename... In, typename Kernel, typename... Inputs>
void for_each_run(const Tensor& out, const Kernel& kernel, const Inputs&... inputs) {
  static_assert(sizeof...(In) == sizeof...(Inputs));
  ElementwiseLoop loop(out, {inputs...});
  loop.run_staged([&](char* const* pointers, const int64_t* strides, int64_t n) {
    compute_run<Out, In...>(pointers, strides, n, kernel, std::index_sequence_for<In...>{});
  });
}

// The array kernel of an element function f (inlinable, so that GCC vectorises the loop).
template <typename F>
auto elementwise(const F& f) {
  return [f](const auto* x, auto* y, int64_t n) { vecmath::map(x, y, n, f); };
}

// out = kernel(x) in a new tensor, for x of dtype T.
template <typename T, typename Kernel>
Tensor map_typed(const Tensor& x, const Kernel& kernel) {
  Tensor out = empty_in_layout_of(x, dtype_v<T>);
  for_each_run<T, T>(out, kernel, x);
  return out;
}

// out = kernel(x) in a new tensor of x's dtype, dispatched over the dtype set `Types` (whose
// error names `op`); kernel is generic over the element type.
template <typename Types, typename Kernel>
Tensor map_same_dtype(const Tensor& x, const char* op, const Kernel& kernel) {
  return dispatch<Types>(x.dtype(), op, [&]<typename T>() { return map_typed<T>(x, kernel); });
}

// A function defined on reals: int64 and bool inputs are computed in float32, as PyTorch does.
template <typename Kernel>
Tensor map_floating(const Tensor& x, const char* op, const Kernel& kernel) {
  return map_same_dtype<FloatingTypes>(is_floating(x.dtype()) ? x : core::to(x, kFloat32), op, kernel);
}

// An activation: float32 and float64 only (PyTorch rejects integer inputs too).
template <typename Kernel>
Tensor map_activation(const Tensor& x, const char* op, const Kernel& kernel) {
  return map_same_dtype<FloatingTypes>(x, op, kernel);
}

// A bool-valued test of each element.
template <typename Test>
Tensor map_to_bool(const Tensor& x, const char* op, const Test& test) {
  Tensor out = empty_in_layout_of(x, kBool);
  dispatch(x.dtype(), op, [&]<typename T>() { for_each_run<bool, T>(out, elementwise(test), x); });
  return out;
}

// ---- Element functions ----

// NOTE: int64 negation and squaring wrap around, as in PyTorch (-INT64_MIN is INT64_MIN). Signed
// overflow is undefined behaviour in C++, so they run on uint64.
template <typename T>
T negate(T x) {
  if constexpr (std::is_integral_v<T>) return static_cast<T>(uint64_t{0} - static_cast<uint64_t>(x));
  else return -x;
}

template <typename T>
T square_of(T x) {
  if constexpr (std::is_integral_v<T>) return static_cast<T>(static_cast<uint64_t>(x) * static_cast<uint64_t>(x));
  else return x * x;
}

// (0 < x) - (x < 0): sign(NaN) is 0, as in PyTorch 1.13.
template <typename T>
T sign_of(T x) {
  return static_cast<T>(static_cast<int>(T(0) < x) - static_cast<int>(x < T(0)));
}

// A double as T: beyond T's range +-inf (a plain cast would be undefined behaviour).
template <typename T>
T to_floating(double value) {
  constexpr T kInfinity = std::numeric_limits<T>::infinity();
  if (value > static_cast<double>(std::numeric_limits<T>::max())) return kInfinity;
  if (value < static_cast<double>(std::numeric_limits<T>::lowest())) return -kInfinity;
  return static_cast<T>(value);
}

}  // namespace

// ---- Sign and magnitude ----

Tensor neg(const Tensor& x) {
  check<DTypeError>(x.dtype() != kBool,
                    "neg: negation of a bool tensor (shape {}) is not supported; use logical_not", x.sizes());
  return map_same_dtype<NumericTypes>(x, "neg", elementwise([](auto v) { return negate(v); }));
}

Tensor abs(const Tensor& x) {
  return map_same_dtype<NumericTypes>(x, "abs", elementwise([](auto v) {
    using T = decltype(v);
    if constexpr (std::is_integral_v<T>) return v < 0 ? negate(v) : v;
    else return std::abs(v);
  }));
}

Tensor sign(const Tensor& x) {
  return map_same_dtype<AllTypes>(x, "sign", elementwise([](auto v) { return sign_of(v); }));
}

Tensor square(const Tensor& x) {
  // bool squares as int64 (PyTorch: square is pow(x, 2), and bool ** int is int64).
  const Tensor input = x.dtype() == kBool ? core::to(x, kInt64) : x;
  return map_same_dtype<NumericTypes>(input, "square", elementwise([](auto v) { return square_of(v); }));
}

// ---- Exponentials and logarithms ----

Tensor exp(const Tensor& x) { return map_floating(x, "exp", elementwise([](auto v) { return vecmath::exp(v); })); }
Tensor expm1(const Tensor& x) { return map_floating(x, "expm1", elementwise([](auto v) { return vecmath::expm1(v); })); }
Tensor log(const Tensor& x) { return map_floating(x, "log", elementwise([](auto v) { return vecmath::log(v); })); }
Tensor log1p(const Tensor& x) { return map_floating(x, "log1p", elementwise([](auto v) { return vecmath::log1p(v); })); }
Tensor log2(const Tensor& x) { return map_floating(x, "log2", elementwise([](auto v) { return vecmath::log2(v); })); }

Tensor sqrt(const Tensor& x) {
  return map_floating(x, "sqrt", [](const auto* in, auto* out, int64_t n) { vecmath::sqrt(in, out, n); });
}
Tensor rsqrt(const Tensor& x) {
  return map_floating(x, "rsqrt", [](const auto* in, auto* out, int64_t n) { vecmath::rsqrt(in, out, n); });
}
Tensor reciprocal(const Tensor& x) {
  return map_floating(x, "reciprocal", elementwise([](auto v) { return decltype(v)(1) / v; }));
}

// ---- Trigonometric, hyperbolic, error function ----

Tensor sin(const Tensor& x) {
  return map_floating(x, "sin", [](const auto* in, auto* out, int64_t n) { vecmath::sin(in, out, n); });
}
Tensor cos(const Tensor& x) {
  return map_floating(x, "cos", [](const auto* in, auto* out, int64_t n) { vecmath::cos(in, out, n); });
}
Tensor tanh(const Tensor& x) { return map_floating(x, "tanh", elementwise([](auto v) { return vecmath::tanh(v); })); }
Tensor sigmoid(const Tensor& x) { return map_floating(x, "sigmoid", elementwise([](auto v) { return vecmath::sigmoid(v); })); }
Tensor erf(const Tensor& x) { return map_floating(x, "erf", elementwise([](auto v) { return vecmath::erf(v); })); }

// ---- Activations ----

// max(x, 0) with NaN kept (x < 0 is false for NaN) and -0 kept, as PyTorch's relu.
Tensor relu(const Tensor& x) {
  check<DTypeError>(x.dtype() != kBool, "relu: bool inputs (shape {}) are not supported", x.sizes());
  return map_same_dtype<NumericTypes>(x, "relu", elementwise([](auto v) { return v < decltype(v)(0) ? decltype(v)(0) : v; }));
}

Tensor leaky_relu(const Tensor& x, double negative_slope) {
  return dispatch_floating(x.dtype(), "leaky_relu", [&]<typename T>() {
    const T slope = static_cast<T>(negative_slope);
    return map_typed<T>(x, elementwise([slope](T v) { return vecmath::select(v > T(0), v, v * slope); }));
  });
}

Tensor gelu(const Tensor& x, GeluApproximate approximate) {
  if (approximate == GeluApproximate::Tanh) return map_activation(x, "gelu", elementwise([](auto v) { return vecmath::gelu_tanh(v); }));
  return map_activation(x, "gelu", elementwise([](auto v) { return vecmath::gelu(v); }));
}

// grad * gelu'(x) in one pass (vecmath::gelu_derivative, gelu_tanh_derivative): the backward of
// gelu without the five to eight temporaries of the composed formula.
Tensor gelu_backward(const Tensor& grad, const Tensor& x, GeluApproximate approximate) {
  check<ShapeError>(grad.sizes() == x.sizes(), "gelu_backward: grad of shape {} for an input of shape {}", grad.sizes(),
                    x.sizes());
  check<DTypeError>(is_floating(grad.dtype()) && is_floating(x.dtype()),
                    "gelu_backward: grad ({}) and input ({}) must be floating, shape {}", grad.dtype(), x.dtype(),
                    x.sizes());
  const DType dtype = promote_types(grad.dtype(), x.dtype());
  const Tensor g = core::to(grad, dtype);
  const Tensor input = core::to(x, dtype);
  Tensor out = empty_in_layout_of(input, dtype);
  dispatch_floating(dtype, "gelu_backward", [&]<typename T>() {
    auto chain = [approximate](const T* gs, const T* xs, T* ys, int64_t n) {
      if (approximate == GeluApproximate::Tanh) {
        for (int64_t i = 0; i < n; ++i) ys[i] = gs[i] * vecmath::gelu_tanh_derivative(xs[i]);
      } else {
        for (int64_t i = 0; i < n; ++i) ys[i] = gs[i] * vecmath::gelu_derivative(xs[i]);
      }
    };
    for_each_run<T, T, T>(out, chain, g, input);
  });
  return out;
}

Tensor silu(const Tensor& x) { return map_activation(x, "silu", elementwise([](auto v) { return vecmath::silu(v); })); }

Tensor softplus(const Tensor& x, double beta, double threshold) {
  return dispatch_floating(x.dtype(), "softplus", [&]<typename T>() {
    const T b = static_cast<T>(beta);
    const T limit = static_cast<T>(threshold);
    return map_typed<T>(x, elementwise([b, limit](T v) { return vecmath::softplus(v, b, limit); }));
  });
}

// ---- Rounding ----

// Integers round to themselves; floor, ceil and round (half to even: the default rounding mode
// of std::nearbyint) compute on floats.
template <typename Round>
Tensor round_with(const Tensor& x, const char* op, const Round& round_floating) {
  check<DTypeError>(x.dtype() != kBool, "{}: bool inputs (shape {}) are not supported", op, x.sizes());
  if (!is_floating(x.dtype())) return core::clone(x);
  return map_same_dtype<FloatingTypes>(x, op, elementwise(round_floating));
}

Tensor floor(const Tensor& x) { return round_with(x, "floor", [](auto v) { return std::floor(v); }); }
Tensor ceil(const Tensor& x) { return round_with(x, "ceil", [](auto v) { return std::ceil(v); }); }
Tensor round(const Tensor& x) { return round_with(x, "round", [](auto v) { return std::nearbyint(v); }); }

// ---- clamp ----

namespace {

// The dtype of clamp(x, min, max): x's, promoted by each bound given, as PyTorch's result_type.
DType clamp_dtype(const Tensor& x, const std::optional<Scalar>& min, const std::optional<Scalar>& max) {
  DType dtype = x.dtype();
  if (min) dtype = promote_types(dtype, promote_with_scalar(x.dtype(), *min));
  if (max) dtype = promote_types(dtype, promote_with_scalar(x.dtype(), *max));
  return dtype;
}

// out = clamp(x) for out and x of one dtype (out may be x itself).
// NOTE: PyTorch 1.13's NaN rules, kept: a NaN in x stays NaN; a NaN bound is ignored when it is
// the only bound, and makes every element NaN when both bounds are given. With min > max every
// element becomes max.
void clamp_into(const Tensor& out, const Tensor& x, const std::optional<Scalar>& min,
                const std::optional<Scalar>& max, const char* op) {
  check<ValueError>(min.has_value() || max.has_value(), "{}: at least one of min and max must be given", op);
  dispatch<NumericTypes>(out.dtype(), op, [&]<typename T>() {
    const T low = min ? min->to<T>() : std::numeric_limits<T>::lowest();
    const T high = max ? max->to<T>() : std::numeric_limits<T>::max();
    if constexpr (std::is_floating_point_v<T>) {
      if (min && max && (std::isnan(low) || std::isnan(high))) {
        core::fill_(out, std::numeric_limits<T>::quiet_NaN());
        return;
      }
      // Unbounded sides use infinities, so that an infinite x passes through them unchanged.
      const T lower = min ? low : -std::numeric_limits<T>::infinity();
      const T upper = max ? high : std::numeric_limits<T>::infinity();
      for_each_run<T, T>(out, elementwise([lower, upper](T v) {
                           T raised = v < lower ? lower : v;
                           return raised > upper ? upper : raised;
                         }), x);
    } else {
      for_each_run<T, T>(out, elementwise([low, high](T v) { return std::min(std::max(v, low), high); }), x);
    }
  });
}

}  // namespace

Tensor clamp(const Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max) {
  const DType dtype = clamp_dtype(x, min, max);
  check<DTypeError>(dtype != kBool, "clamp: bool tensors (shape {}) with bool bounds are not supported", x.sizes());
  const Tensor input = core::to(x, dtype);
  Tensor out = empty_in_layout_of(input, dtype);
  clamp_into(out, input, min, max, "clamp");
  return out;
}

void clamp_(const Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max) {
  const DType dtype = clamp_dtype(x, min, max);
  check<DTypeError>(dtype == x.dtype(), "clamp_: the result type {} cannot be written into a {} tensor of shape {}",
                    dtype, x.dtype(), x.sizes());
  check<DTypeError>(dtype != kBool, "clamp_: bool tensors (shape {}) are not supported", x.sizes());
  x.bump_version();
  clamp_into(x, x, min, max, "clamp_");
}

// ---- pow ----

Tensor pow(const Tensor& x, const Scalar& exponent) {
  const DType dtype = promote_with_scalar(x.dtype(), exponent);
  check<DTypeError>(dtype != kBool, "pow: a bool tensor (shape {}) to a bool power is not supported", x.sizes());
  if (!is_floating(dtype)) {
    check<ValueError>(exponent.to<int64_t>() >= 0, "pow: integers to negative integer powers are not allowed (shape {}, exponent {})",
                      x.sizes(), exponent.to<int64_t>());
    return core::pow(x, core::scalar_tensor(exponent, {.dtype = kInt64}));
  }
  const Tensor input = core::to(x, dtype);
  // The exponents PyTorch computes without std::pow (with their own edge values: pow(-inf, 0.5)
  // is NaN as sqrt(-inf), not +inf as std::pow).
  const double e = exponent.to<double>();
  if (e == 0.5) return core::sqrt(input);
  if (e == -0.5) return core::rsqrt(input);
  if (e == 1.0) return core::clone(input);
  if (e == 2.0) return core::square(input);
  if (e == 3.0) return map_same_dtype<FloatingTypes>(input, "pow", elementwise([](auto v) { return v * v * v; }));
  if (e == -1.0) return core::reciprocal(input);
  if (e == -2.0) return map_same_dtype<FloatingTypes>(input, "pow", elementwise([](auto v) { return decltype(v)(1) / (v * v); }));
  return core::pow(input, core::scalar_tensor(exponent, {.dtype = dtype}));
}

// ---- Tests and replacements ----

Tensor isnan(const Tensor& x) {
  return map_to_bool(x, "isnan", [](auto v) {
    if constexpr (std::is_floating_point_v<decltype(v)>) return v != v;
    else return false;
  });
}

Tensor isinf(const Tensor& x) {
  return map_to_bool(x, "isinf", [](auto v) {
    if constexpr (std::is_floating_point_v<decltype(v)>) return std::abs(v) == std::numeric_limits<decltype(v)>::infinity();
    else return false;
  });
}

Tensor isfinite(const Tensor& x) {
  return map_to_bool(x, "isfinite", [](auto v) {
    if constexpr (std::is_floating_point_v<decltype(v)>) return std::abs(v) < std::numeric_limits<decltype(v)>::infinity();
    else return true;
  });
}

Tensor logical_not(const Tensor& x) {
  return map_to_bool(x, "logical_not", [](auto v) { return v == decltype(v)(0); });
}

Tensor nan_to_num(const Tensor& x, double nan, std::optional<double> posinf, std::optional<double> neginf) {
  if (!is_floating(x.dtype())) return core::clone(x);  // integers hold no NaN or infinity
  return dispatch_floating(x.dtype(), "nan_to_num", [&]<typename T>() {
    const T nan_value = to_floating<T>(nan);
    const T posinf_value = posinf ? to_floating<T>(*posinf) : std::numeric_limits<T>::max();
    const T neginf_value = neginf ? to_floating<T>(*neginf) : std::numeric_limits<T>::lowest();
    constexpr T kInfinity = std::numeric_limits<T>::infinity();
    return map_typed<T>(x, elementwise([=](T v) {
      T replaced = v == kInfinity ? posinf_value : v;
      replaced = v == -kInfinity ? neginf_value : replaced;
      return v != v ? nan_value : replaced;
    }));
  });
}

}  // namespace descent::core
