// Element types, their promotion rules, and dispatch: the one place that maps a runtime
// DType to a C++ type. Kernels write `dispatch(dtype, "op", [&]<typename T>() { ... })`.
#pragma once

#include <cstdint>
#include <string_view>
#include <type_traits>

#include <fmt/format.h>

#include <descent/core/error.h>

namespace descent {

enum class DType : uint8_t { Bool, Int64, Float32, Float64 };

inline constexpr DType kBool = DType::Bool;
inline constexpr DType kInt64 = DType::Int64;
inline constexpr DType kFloat32 = DType::Float32;
inline constexpr DType kFloat64 = DType::Float64;

constexpr std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::Bool: return "bool";
    case DType::Int64: return "int64";
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
  }
  return "?";
}

constexpr int64_t element_size(DType t) {
  switch (t) {
    case DType::Bool: return 1;
    case DType::Int64: return 8;
    case DType::Float32: return 4;
    case DType::Float64: return 8;
  }
  return 0;
}

constexpr bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64; }
constexpr bool is_integral(DType t, bool include_bool = false) {
  return t == DType::Int64 || (include_bool && t == DType::Bool);
}

// The C++ type of each dtype, and back. Bool is stored as one byte (bool).
template <typename T> struct dtype_of;
template <> struct dtype_of<bool> { static constexpr DType value = DType::Bool; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::Int64; };
template <> struct dtype_of<float> { static constexpr DType value = DType::Float32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::Float64; };
template <typename T> inline constexpr DType dtype_v = dtype_of<T>::value;

// The promoted dtype of a binary op on tensors of dtypes a and b: the larger of the two in the
// order bool < int64 < float32 < float64 (the same result PyTorch gives for these dtypes).
constexpr DType promote_types(DType a, DType b) { return a > b ? a : b; }

// Calls fn.template operator()<T>() with T the C++ type of `t`. `op` names the caller in
// the error thrown for a dtype outside the allowed set.
struct AllTypes {};
struct FloatingTypes {};
struct NumericTypes {};  // int64, float32, float64

template <typename Set = AllTypes, typename Fn>
decltype(auto) dispatch(DType t, std::string_view op, Fn&& fn) {
  constexpr bool allow_bool = std::is_same_v<Set, AllTypes>;
  constexpr bool allow_int = !std::is_same_v<Set, FloatingTypes>;
  switch (t) {
    case DType::Float32: return fn.template operator()<float>();
    case DType::Float64: return fn.template operator()<double>();
    case DType::Int64:
      if constexpr (allow_int) return fn.template operator()<int64_t>();
      break;
    case DType::Bool:
      if constexpr (allow_bool) return fn.template operator()<bool>();
      break;
  }
  throw DTypeError(fmt::format("{}: dtype {} is not supported", op, dtype_name(t)));
}

template <typename Fn>
decltype(auto) dispatch_floating(DType t, std::string_view op, Fn&& fn) {
  return dispatch<FloatingTypes>(t, op, std::forward<Fn>(fn));
}
template <typename Fn>
decltype(auto) dispatch_numeric(DType t, std::string_view op, Fn&& fn) {
  return dispatch<NumericTypes>(t, op, std::forward<Fn>(fn));
}

// A number given to an op beside tensors (x + 2, full(..., 0.5)). It remembers whether it was
// written as a bool, an integer or a floating value, which decides type promotion: an int64
// tensor plus 0.5 gives float32, plus 2 stays int64.
class Scalar {
 public:
  enum class Kind : uint8_t { Bool, Integral, Floating };

  Scalar(bool v) : kind_(Kind::Bool), i_(v), d_(v) {}
  template <typename I>
    requires(std::is_integral_v<I> && !std::is_same_v<I, bool>)
  Scalar(I v) : kind_(Kind::Integral), i_(static_cast<int64_t>(v)), d_(static_cast<double>(v)) {}
  template <typename F>
    requires std::is_floating_point_v<F>
  Scalar(F v) : kind_(Kind::Floating), i_(static_cast<int64_t>(v)), d_(static_cast<double>(v)) {}

  Kind kind() const { return kind_; }
  bool is_floating() const { return kind_ == Kind::Floating; }
  bool is_integral() const { return kind_ == Kind::Integral; }
  bool is_bool() const { return kind_ == Kind::Bool; }

  // The value as T (exact for integers, which are not routed through double).
  template <typename T>
  T to() const {
    if constexpr (std::is_same_v<T, bool>) return kind_ == Kind::Floating ? d_ != 0.0 : i_ != 0;
    else if constexpr (std::is_integral_v<T>) return kind_ == Kind::Floating ? static_cast<T>(d_) : static_cast<T>(i_);
    else return kind_ == Kind::Floating ? static_cast<T>(d_) : static_cast<T>(i_);
  }

  // The dtype a lone scalar takes: bool, int64 or float32 (the default floating dtype).
  DType default_dtype() const {
    return kind_ == Kind::Bool ? kBool : kind_ == Kind::Integral ? kInt64 : kFloat32;
  }

 private:
  Kind kind_;
  int64_t i_;
  double d_;
};

// The dtype of `tensor op scalar`: the tensor's, unless the scalar is of a higher category
// (bool < integral < floating), then the default dtype of the scalar's category.
constexpr int dtype_category(DType t) { return t == kBool ? 0 : t == kInt64 ? 1 : 2; }
inline DType promote_with_scalar(DType tensor, const Scalar& s) {
  int scalar_category = s.is_bool() ? 0 : s.is_integral() ? 1 : 2;
  return scalar_category > dtype_category(tensor) ? s.default_dtype() : tensor;
}

}  // namespace descent

template <>
struct fmt::formatter<descent::DType> : fmt::formatter<std::string_view> {
  template <typename Context>
  auto format(descent::DType t, Context& ctx) const {
    return fmt::formatter<std::string_view>::format(descent::dtype_name(t), ctx);
  }
};
