// Binary elementwise kernels: arithmetic, comparisons, logical ops, where, and the in-place
// forms. Read core/iterate.h first: every kernel here is a map_elementwise over ElementwiseLoop.
// Each op's element function is written once, as a "family" (a template lambda that gives the
// function for an element type T); the tensor-tensor, tensor-scalar and in-place forms share it.
#include <descent/core/binary.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <utility>

#include <descent/core/iterate.h>
#include <descent/core/views.h>

namespace descent::core {

namespace {

// ---- element arithmetic ----

// NOTE: int64 overflow wraps around, as in PyTorch; signed overflow is undefined behaviour in
// C++, so integers are added and multiplied as uint64 (two's complement gives the same bits).
// On bool, + is logical or and * logical and (True + True = True), as in PyTorch.
template <typename T>
T plus(T a, T b) {
  if constexpr (std::is_same_v<T, bool>) return a || b;
  else if constexpr (std::is_integral_v<T>) return static_cast<T>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
  else return a + b;
}

template <typename T>
T minus(T a, T b) {
  static_assert(!std::is_same_v<T, bool>, "bool subtraction is rejected before dispatch");
  if constexpr (std::is_integral_v<T>) return static_cast<T>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
  else return a - b;
}

template <typename T>
T times(T a, T b) {
  if constexpr (std::is_same_v<T, bool>) return a && b;
  else if constexpr (std::is_integral_v<T>) return static_cast<T>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
  else return a * b;
}

// Integer power by repeated squaring. A negative exponent gives the integer part of 1 / a^-b,
// as PyTorch's tensor-tensor pow does: 1 for a = 1, +-1 for a = -1, else 0.
int64_t integer_pow(int64_t base, int64_t exponent) {
  if (exponent < 0) {
    if (base == 1) return 1;
    if (base == -1) return exponent % 2 == 0 ? 1 : -1;
    return 0;
  }
  int64_t result = 1;
  while (exponent > 0) {
    if (exponent & 1) result = times(result, base);
    base = times(base, base);
    exponent >>= 1;
  }
  return result;
}

// Python's a % b: the result has the sign of the divisor. For floats, fmod then a shift by b
// when the signs differ (PyTorch's remainder kernel); for integers a % b likewise.
template <typename T>
T python_remainder(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    check<ValueError>(b != 0, "remainder: integer division by zero");
    if (b == -1) return 0;  // NOTE: INT64_MIN % -1 overflows in C++; the answer is 0
    T r = a % b;
    return (r != 0 && ((r < 0) != (b < 0))) ? static_cast<T>(r + b) : r;
  } else {
    T r = std::fmod(a, b);
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
  }
}

// ---- families: make_fn.template operator()<T>() gives the element function for T ----

// a + alpha * b (alpha = 1 is exact: 1 * b == b).
auto add_family(const Scalar& alpha) {
  return [alpha]<typename T>() {
    T k = alpha.to<T>();
    return [k](T a, T b) { return plus(a, times(k, b)); };
  };
}
// a - alpha * b
auto sub_family(const Scalar& alpha) {
  return [alpha]<typename T>() {
    T k = alpha.to<T>();
    return [k](T a, T b) { return minus(a, times(k, b)); };
  };
}
constexpr auto mul_family = []<typename T>() { return [](T a, T b) { return times(a, b); }; };
constexpr auto div_family = []<typename T>() { return [](T a, T b) { return a / b; }; };
constexpr auto pow_family = []<typename T>() {
  return [](T a, T b) -> T {
    if constexpr (std::is_integral_v<T>) return integer_pow(a, b);
    else return std::pow(a, b);
  };
};
// NaN propagates from either side: a NaN `a` is returned, and `a > b` is false for a NaN `b`.
constexpr auto maximum_family = []<typename T>() { return [](T a, T b) { return (a != a || a > b) ? a : b; }; };
constexpr auto minimum_family = []<typename T>() { return [](T a, T b) { return (a != a || a < b) ? a : b; }; };
constexpr auto remainder_family = []<typename T>() { return [](T a, T b) { return python_remainder(a, b); }; };
// Comparisons follow IEEE: everything with NaN is false except !=.
constexpr auto eq_family = []<typename T>() { return [](T a, T b) { return a == b; }; };
constexpr auto ne_family = []<typename T>() { return [](T a, T b) { return a != b; }; };
constexpr auto lt_family = []<typename T>() { return [](T a, T b) { return a < b; }; };
constexpr auto le_family = []<typename T>() { return [](T a, T b) { return a <= b; }; };
constexpr auto gt_family = []<typename T>() { return [](T a, T b) { return a > b; }; };
constexpr auto ge_family = []<typename T>() { return [](T a, T b) { return a >= b; }; };
constexpr auto and_family = []<typename T>() { return [](T a, T b) { return a != T(0) && b != T(0); }; };
constexpr auto or_family = []<typename T>() { return [](T a, T b) { return a != T(0) || b != T(0); }; };
constexpr auto xor_family = []<typename T>() { return [](T a, T b) { return (a != T(0)) != (b != T(0)); }; };

// ---- type rules ----

// True division computes in floating point: integers and bools divide as float32.
DType division_dtype(DType promoted_dtype) { return is_floating(promoted_dtype) ? promoted_dtype : kFloat32; }

// PyTorch's alpha rules: a bool alpha only for bool results, a floating alpha only for floating.
void check_alpha(const char* op, DType result, const Scalar& alpha) {
  check<DTypeError>(!alpha.is_bool() || result == kBool, "{}: a bool alpha is only supported for bool results, not {}",
                    op, result);
  check<DTypeError>(is_floating(result) || !alpha.is_floating(),
                    "{}: alpha must not be a floating point number for {} tensors", op, result);
}

// PyTorch rejects subtraction involving bool, pointing to logical_xor / logical_not instead.
void check_subtraction(const char* op, DType a, DType b) {
  check<DTypeError>(a != kBool || b != kBool,
                    "{}: subtraction of two bool tensors is not supported; use logical_xor() instead", op);
  check<DTypeError>(a != kBool && b != kBool,
                    "{}: subtraction with a bool tensor is not supported; to invert a mask use logical_not()", op);
}

// ---- loops ----

// out = f(inputs...) elementwise, with Out and In... the C++ element types.
// NOTE: small tensors (a loop of one thread) with every operand contiguous and of out's shape,
// one-element tensors above all, skip the loop planning: for them the planning of
// ElementwiseLoop and parallel_for cost more than the arithmetic.
template <typename Out, typename... In, typename F, typename... Inputs>
void apply(const F& f, const Tensor& out, const Inputs&... inputs) {
  const int64_t n = out.numel();
  if (n <= kElementwiseGrain && out.is_contiguous() && ((inputs.numel() == n && inputs.is_contiguous()) && ...)) {
    Out* result = static_cast<Out*>(out.raw_data());
    const F fn = f;  // a copy the stores cannot alias (see map_elementwise in core/iterate.h)
    [&]<size_t... I>(std::index_sequence<I...>) {
      using InputTypes = std::tuple<In...>;
      const std::tuple<const std::tuple_element_t<I, InputTypes>*...> sources = {
          static_cast<const std::tuple_element_t<I, InputTypes>*>(inputs.raw_data())...};
      for (int64_t i = 0; i < n; ++i) result[i] = fn(std::get<I>(sources)[i]...);
    }(std::index_sequence_for<Inputs...>{});
    return;
  }
  map_elementwise<Out, In...>(ElementwiseLoop(out, {inputs...}), f);
}

// `t` in `dtype`: t itself when it already is (no handle copied: this runs for every op), else
// its conversion, kept in `converted`.
const Tensor& in_dtype(const Tensor& t, DType dtype, Tensor& converted) {
  if (t.dtype() == dtype) return t;
  converted = to(t, dtype);
  return converted;
}

// a op b: both broadcast, converted to `compute`, the result's dtype that of f's return type.
template <typename Types = AllTypes, typename Family>
Tensor binary(const char* op, const Tensor& a, const Tensor& b, DType compute, const Family& family) {
  Dims shape = broadcast_shapes(a.sizes(), b.sizes(), op);
  Tensor converted_a, converted_b;
  const Tensor& x = in_dtype(a, compute, converted_a);
  const Tensor& y = in_dtype(b, compute, converted_b);
  return dispatch<Types>(compute, op, [&]<typename T>() {
    auto f = family.template operator()<T>();
    using Out = decltype(f(T{}, T{}));
    Tensor out = Tensor::empty(shape, dtype_v<Out>);
    apply<Out, T, T>(f, out, x, y);
    return out;
  });
}

// Which operand of a binary op a scalar stands for.
enum class ScalarSide { Left, Right };

// t op s (or s op t): a one-input loop with the scalar, converted to `compute`, held in f.
template <typename Types = AllTypes, typename Family>
Tensor binary(const char* op, const Tensor& t, const Scalar& s, ScalarSide side, DType compute, const Family& family) {
  Tensor converted;
  const Tensor& x = in_dtype(t, compute, converted);
  return dispatch<Types>(compute, op, [&]<typename T>() {
    auto f = family.template operator()<T>();
    using Out = decltype(f(T{}, T{}));
    Tensor out = Tensor::empty(t.sizes(), dtype_v<Out>);
    T v = s.to<T>();
    if (side == ScalarSide::Right) apply<Out, T>([f, v](T e) { return f(e, v); }, out, x);
    else apply<Out, T>([f, v](T e) { return f(v, e); }, out, x);
    return out;
  });
}

// The common case: computed in the promoted dtype of the operands.
template <typename Types = AllTypes, typename Family>
Tensor binary_promoted(const char* op, const Tensor& a, const Tensor& b, const Family& family) {
  return binary<Types>(op, a, b, result_type(a, b), family);
}
template <typename Types = AllTypes, typename Family>
Tensor binary_promoted(const char* op, const Tensor& a, const Scalar& b, const Family& family) {
  return binary<Types>(op, a, b, ScalarSide::Right, promote_with_scalar(a.dtype(), b), family);
}

// ---- in place ----

// Throws unless `result` (the dtype `self op other` would have) is self's own dtype.
void check_inplace_dtype(const char* op, const Tensor& self, DType result) {
  check<DTypeError>(result == self.dtype(), "{}: result type {} cannot be written into a tensor of dtype {}", op,
                    result, self.dtype());
}

// NOTE: a written-to tensor with a stride-0 dim (an expanded view) would receive several results
// in one element; PyTorch refuses it, and so do we.
void check_no_internal_overlap(const char* op, const Tensor& self) {
  for (int d = 0; d < self.dim(); ++d) {
    check<ValueError>(self.strides()[d] != 0 || self.sizes()[d] <= 1,
                      "{}: the written-to tensor of shape {} with strides {} has elements that share memory "
                      "(an expanded view); clone() it first",
                      op, self.sizes(), self.strides());
  }
}

// The first and one-past-last byte a tensor can touch in its storage.
std::pair<int64_t, int64_t> byte_extent(const Tensor& t) {
  int64_t last = t.offset();
  for (int d = 0; d < t.dim(); ++d) last += (t.sizes()[d] - 1) * t.strides()[d];
  return {t.offset() * t.element_size(), (last + 1) * t.element_size()};
}

// `other` made safe to read while `self` is written: itself, unless it shares memory with self in
// another layout (x[1:] += x[:-1], x.t() += x). Then an element could be read after it was
// overwritten, so it is copied first (PyTorch raises instead). Reading exactly self is safe: each
// element is read before it is written.
Tensor readable_while_writing(const Tensor& self, const Tensor& other) {
  if (!self.shares_storage(other) || self.numel() == 0 || other.numel() == 0) return other;
  if (self.offset() == other.offset() && self.sizes() == other.sizes() && self.strides() == other.strides()) {
    return other;
  }
  auto [self_begin, self_end] = byte_extent(self);
  auto [other_begin, other_end] = byte_extent(other);
  bool overlap = self_begin < other_end && other_begin < self_end;
  return overlap ? clone(other) : other;
}

// self = self op other, other broadcast to self's shape; `result` is the dtype of `self op other`.
template <typename Types = AllTypes, typename Family>
void binary_(const char* op, const Tensor& self, const Tensor& other, DType result, const Family& family) {
  check_inplace_dtype(op, self, result);
  Dims shape = broadcast_shapes(self.sizes(), other.sizes(), op);
  check<ShapeError>(shape == self.sizes(), "{}: other of shape {} does not broadcast to self's shape {}", op,
                    other.sizes(), self.sizes());
  check_no_internal_overlap(op, self);
  Tensor y = readable_while_writing(self, to(other, self.dtype()));
  dispatch<Types>(self.dtype(), op, [&]<typename T>() {
    apply<T, T, T>(family.template operator()<T>(), self, self, y);
  });
  self.bump_version();
}

// self = self op s
template <typename Types = AllTypes, typename Family>
void binary_(const char* op, const Tensor& self, const Scalar& s, DType result, const Family& family) {
  check_inplace_dtype(op, self, result);
  check_no_internal_overlap(op, self);
  dispatch<Types>(self.dtype(), op, [&]<typename T>() {
    auto f = family.template operator()<T>();
    T v = s.to<T>();
    apply<T, T>([f, v](T e) { return f(e, v); }, self, self);
  });
  self.bump_version();
}

// ---- where ----

void check_condition(const Tensor& condition) {
  check<DTypeError>(condition.dtype() == kBool, "where: the condition must be a bool tensor, not {}",
                    condition.dtype());
}

}  // namespace

// ---- type rules ----

DType result_type(const Tensor& a, const Tensor& b) {
  const bool a_zero_dim = a.dim() == 0, b_zero_dim = b.dim() == 0;
  if (a_zero_dim == b_zero_dim) return promote_types(a.dtype(), b.dtype());
  const DType dimensioned = a_zero_dim ? b.dtype() : a.dtype();
  const DType zero_dim = a_zero_dim ? a.dtype() : b.dtype();
  return dtype_category(zero_dim) > dtype_category(dimensioned) ? promote_types(dimensioned, zero_dim) : dimensioned;
}

// ---- arithmetic ----

Tensor add(const Tensor& a, const Tensor& b, const Scalar& alpha) {
  DType result = result_type(a, b);
  check_alpha("add", result, alpha);
  return binary("add", a, b, result, add_family(alpha));
}
Tensor add(const Tensor& a, const Scalar& b) {
  return binary_promoted("add", a, b, add_family(1));
}

Tensor sub(const Tensor& a, const Tensor& b, const Scalar& alpha) {
  check_subtraction("sub", a.dtype(), b.dtype());
  DType result = result_type(a, b);
  check_alpha("sub", result, alpha);
  return binary<NumericTypes>("sub", a, b, result, sub_family(alpha));
}
Tensor sub(const Tensor& a, const Scalar& b) {
  check_subtraction("sub", a.dtype(), b.default_dtype());
  return binary<NumericTypes>("sub", a, b, ScalarSide::Right, promote_with_scalar(a.dtype(), b), sub_family(1));
}
Tensor sub(const Scalar& a, const Tensor& b) {
  check_subtraction("sub", a.default_dtype(), b.dtype());
  return binary<NumericTypes>("sub", b, a, ScalarSide::Left, promote_with_scalar(b.dtype(), a), sub_family(1));
}

Tensor mul(const Tensor& a, const Tensor& b) {
  return binary_promoted("mul", a, b, mul_family);
}
Tensor mul(const Tensor& a, const Scalar& b) {
  return binary_promoted("mul", a, b, mul_family);
}

Tensor div(const Tensor& a, const Tensor& b) {
  return binary<FloatingTypes>("div", a, b, division_dtype(result_type(a, b)), div_family);
}
Tensor div(const Tensor& a, const Scalar& b) {
  DType compute = division_dtype(promote_with_scalar(a.dtype(), b));
  return binary<FloatingTypes>("div", a, b, ScalarSide::Right, compute, div_family);
}
Tensor div(const Scalar& a, const Tensor& b) {
  DType compute = division_dtype(promote_with_scalar(b.dtype(), a));
  return binary<FloatingTypes>("div", b, a, ScalarSide::Left, compute, div_family);
}

Tensor pow(const Tensor& a, const Tensor& b) {
  return binary_promoted<NumericTypes>("pow", a, b, pow_family);
}
Tensor pow(const Scalar& a, const Tensor& b) {
  return binary<NumericTypes>("pow", b, a, ScalarSide::Left, promote_with_scalar(b.dtype(), a), pow_family);
}

Tensor maximum(const Tensor& a, const Tensor& b) {
  return binary_promoted("maximum", a, b, maximum_family);
}
Tensor minimum(const Tensor& a, const Tensor& b) {
  return binary_promoted("minimum", a, b, minimum_family);
}

Tensor remainder(const Tensor& a, const Tensor& b) {
  return binary_promoted<NumericTypes>("remainder", a, b, remainder_family);
}
Tensor remainder(const Tensor& a, const Scalar& b) {
  return binary_promoted<NumericTypes>("remainder", a, b, remainder_family);
}

// ---- comparisons and logical ops ----

Tensor eq(const Tensor& a, const Tensor& b) { return binary_promoted("eq", a, b, eq_family); }
Tensor eq(const Tensor& a, const Scalar& b) { return binary_promoted("eq", a, b, eq_family); }
Tensor ne(const Tensor& a, const Tensor& b) { return binary_promoted("ne", a, b, ne_family); }
Tensor ne(const Tensor& a, const Scalar& b) { return binary_promoted("ne", a, b, ne_family); }
Tensor lt(const Tensor& a, const Tensor& b) { return binary_promoted("lt", a, b, lt_family); }
Tensor lt(const Tensor& a, const Scalar& b) { return binary_promoted("lt", a, b, lt_family); }
Tensor le(const Tensor& a, const Tensor& b) { return binary_promoted("le", a, b, le_family); }
Tensor le(const Tensor& a, const Scalar& b) { return binary_promoted("le", a, b, le_family); }
Tensor gt(const Tensor& a, const Tensor& b) { return binary_promoted("gt", a, b, gt_family); }
Tensor gt(const Tensor& a, const Scalar& b) { return binary_promoted("gt", a, b, gt_family); }
Tensor ge(const Tensor& a, const Tensor& b) { return binary_promoted("ge", a, b, ge_family); }
Tensor ge(const Tensor& a, const Scalar& b) { return binary_promoted("ge", a, b, ge_family); }

Tensor logical_and(const Tensor& a, const Tensor& b) {
  return binary_promoted("logical_and", a, b, and_family);
}
Tensor logical_or(const Tensor& a, const Tensor& b) {
  return binary_promoted("logical_or", a, b, or_family);
}
Tensor logical_xor(const Tensor& a, const Tensor& b) {
  return binary_promoted("logical_xor", a, b, xor_family);
}

// ---- where ----

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  check_condition(condition);
  Dims shape = broadcast_shapes(broadcast_shapes(condition.sizes(), a.sizes(), "where"), b.sizes(), "where");
  DType result = result_type(a, b);
  Tensor x = to(a, result);
  Tensor y = to(b, result);
  Tensor out = Tensor::empty(shape, result);
  // NOTE: the condition is read as bytes (bool's storage) compared with 0: GCC 12 vectorises
  // that select, and not one on a loaded bool.
  dispatch(result, "where", [&]<typename T>() {
    apply<T, uint8_t, T, T>([](uint8_t c, T u, T v) { return c != 0 ? u : v; }, out, condition, x, y);
  });
  return out;
}

// condition ? t : s (or condition ? s : t when the scalar stands on the left).
Tensor where_scalar(const Tensor& condition, const Tensor& t, const Scalar& s, ScalarSide side) {
  check_condition(condition);
  Dims shape = broadcast_shapes(condition.sizes(), t.sizes(), "where");
  DType result = promote_with_scalar(t.dtype(), s);
  Tensor x = to(t, result);
  Tensor out = Tensor::empty(shape, result);
  dispatch(result, "where", [&]<typename T>() {
    T v = s.to<T>();
    // NOTE: the condition as bytes, as in where above.
    if (side == ScalarSide::Right) {
      apply<T, uint8_t, T>([v](uint8_t c, T u) { return c != 0 ? u : v; }, out, condition, x);
    } else {
      apply<T, uint8_t, T>([v](uint8_t c, T u) { return c != 0 ? v : u; }, out, condition, x);
    }
  });
  return out;
}
Tensor where(const Tensor& condition, const Tensor& a, const Scalar& b) {
  return where_scalar(condition, a, b, ScalarSide::Right);
}
Tensor where(const Tensor& condition, const Scalar& a, const Tensor& b) {
  return where_scalar(condition, b, a, ScalarSide::Left);
}

// ---- in place ----

void add_(const Tensor& self, const Tensor& other, const Scalar& alpha) {
  DType result = result_type(self, other);
  check_alpha("add_", result, alpha);
  binary_("add_", self, other, result, add_family(alpha));
}
void add_(const Tensor& self, const Scalar& other) {
  binary_("add_", self, other, promote_with_scalar(self.dtype(), other), add_family(1));
}
void sub_(const Tensor& self, const Tensor& other, const Scalar& alpha) {
  check_subtraction("sub_", self.dtype(), other.dtype());
  DType result = result_type(self, other);
  check_alpha("sub_", result, alpha);
  binary_<NumericTypes>("sub_", self, other, result, sub_family(alpha));
}
void sub_(const Tensor& self, const Scalar& other) {
  check_subtraction("sub_", self.dtype(), other.default_dtype());
  binary_<NumericTypes>("sub_", self, other, promote_with_scalar(self.dtype(), other), sub_family(1));
}
void mul_(const Tensor& self, const Tensor& other) {
  binary_("mul_", self, other, result_type(self, other), mul_family);
}
void mul_(const Tensor& self, const Scalar& other) {
  binary_("mul_", self, other, promote_with_scalar(self.dtype(), other), mul_family);
}
void div_(const Tensor& self, const Tensor& other) {
  binary_<FloatingTypes>("div_", self, other, division_dtype(result_type(self, other)), div_family);
}
void div_(const Tensor& self, const Scalar& other) {
  binary_<FloatingTypes>("div_", self, other, division_dtype(promote_with_scalar(self.dtype(), other)), div_family);
}

}  // namespace descent::core
