// Vectorisable elementary functions for float and double: exp, expm1, log, log1p, log2, tanh, erf,
// erfc, the activations built on them (sigmoid, silu, softplus, gelu in both forms), and array
// forms of sin, cos, sqrt and rsqrt. The scalar functions are branch-free and inline, so that GCC
// vectorises a plain loop calling them (vecmath::map): 16 floats wide under -march=native with
// AVX-512, 8 with AVX2, with the same code (on baseline x86-64, SSE2, the float ones 4 wide).
// Accuracy, checked against the C library over ranges that include the extremes in
// tests/core/test_unary.cpp: exp 1 ulp; expm1, log, tanh, erf, sigmoid 3; log2, log1p, softplus
// 4; erfc 6; gelu 8 (float: also swept densely against double in tests/core/test_vecmath_gelu.cpp,
// with gelu_derivative); sin and cos 1 (float) and 2 (double). Read core/unary.cpp for their use.
//
// Method: Cody-Waite range reduction by ln 2 or pi/2 and Taylor polynomials on the reduced range
// (Muller, "Elementary Functions", ch. 11); log through 2 atanh(s) with s = (m - 1)/(m + 1); erfc
// as t W(u) exp(-z^2) with t = 2/(2 + z) and u = 2t - 1 = (2 - z)/(2 + z) (the variables of
// Numerical Recipes' erfcc, 3rd ed. 6.2.2), where W = erfc(z) exp(z^2) / t is a polynomial in u:
// our own relative least-squares fit on Chebyshev nodes (mpmath), each coefficient rounded to T in
// turn and the rest refitted: to 1.8e-8 for float (z <= 10.5), 1.8e-17 for double (z <= 27.5).
// Float GELU and its derivative have their own kernel (detail::NormalTail): no erfc polynomial in
// t, whose division and 11 terms made it compute-bound, but Phi(-|x|) = exp(-x^2/2) N(|x|)/D(|x|)
// with a rational N/D and a degree-6 exp, all fitted by tests/core/golden/fit_gelu_float.py.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>

#include <immintrin.h>

namespace descent::vecmath {

namespace detail {

// The IEEE-754 layout of T and the constants of the range reductions.
template <typename T> struct Format;
template <> struct Format<float> {
  using Int = int32_t;
  static constexpr int kMantissaBits = 23;
  static constexpr Int kExponentBias = 127;
  static constexpr float kRoundShift = 0x1.8p23f;  // x + this - this rounds x to an integer (|x| < 2^22)
  // ln 2 = kLn2Hi + kLn2Lo, kLn2Hi with 15 significant bits so that n * kLn2Hi is exact.
  static constexpr float kLn2Hi = 0.693145751953125f;
  static constexpr float kLn2Lo = 1.428606765e-06f;
  static constexpr Int kMaxExponent = 127;
  // |x| beyond which exp(x) is 0 or +inf (2^n for the n of such x still fits in two factors),
  // and beyond which expm1(x) is -1 or +inf (t = 2^(n-1) for such x is still normal).
  static constexpr float kExpLimit = 104.0f;
  static constexpr float kExpm1Limit = 89.0f;
  static constexpr float kTanhSaturation = 10.0f;  // tanh(x) rounds to 1 above this
  static constexpr float kErfcMaxZ = 10.15f;       // erfc(z) rounds to 0 above this; z^2 < kExpLimit
  static constexpr float kNormalExpLimit = 87.0f;  // exp(-x) is a normal float for x below this
};
template <> struct Format<double> {
  using Int = int64_t;
  static constexpr int kMantissaBits = 52;
  static constexpr Int kExponentBias = 1023;
  static constexpr double kRoundShift = 0x1.8p52;
  static constexpr double kLn2Hi = 6.93147180601954460e-01;  // 32 significant bits
  static constexpr double kLn2Lo = -4.20091507268108460e-11;
  static constexpr Int kMaxExponent = 1023;
  static constexpr double kExpLimit = 746.0;
  static constexpr double kExpm1Limit = 710.0;
  static constexpr double kTanhSaturation = 20.0;
  static constexpr double kErfcMaxZ = 27.25;
  static constexpr double kNormalExpLimit = 708.0;
};

template <typename T> inline constexpr T kLog2e = T(1.44269504088896339e+00);
template <typename T> inline constexpr T kSqrtHalf = T(7.07106781186547573e-01);        // 1/sqrt(2)
template <typename T> inline constexpr T kTwoOverSqrtPi = T(1.12837916709551256e+00);   // 2/sqrt(pi)
template <typename T> inline constexpr T kSqrtTwoOverPi = T(7.97884560802865406e-01);   // sqrt(2/pi)
template <typename T> inline constexpr T kInvSqrt2Pi = T(3.98942280401432678e-01);      // 1/sqrt(2 pi)

// a * b + c, fused (one rounding) when the CPU has FMA.
template <typename T>
[[gnu::always_inline]] inline T mul_add(T a, T b, T c) {
#ifdef __FMA__
  return std::fma(a, b, c);
#else
  return a * b + c;
#endif
}

// c[0] + c[1] x + ... + c[N-1] x^(N-1) by Estrin's scheme: the low and high halves evaluated
// independently and joined by a power x^(2^k). Its dependency chain is log2(N) fused
// multiply-adds deep where Horner's is N - 1, which is what bounds the throughput here: a
// vectorised loop over one of these functions is latency-bound, not port-bound.
template <size_t K, typename T>
[[gnu::always_inline]] inline T power_of_power_of_two(T x) {  // x^(2^K)
  if constexpr (K == 0) {
    return x;
  } else {
    T half = power_of_power_of_two<K - 1>(x);
    return half * half;
  }
}
template <size_t Offset, size_t Count, typename T, size_t N>
[[gnu::always_inline]] inline T estrin(T x, const std::array<T, N>& c) {  // c[Offset, Offset + Count)
  if constexpr (Count == 1) {
    return c[Offset];
  } else {
    constexpr size_t kLowCount = std::bit_floor(Count - 1);  // the largest power of two below Count
    constexpr size_t kLog2LowCount = std::countr_zero(kLowCount);
    T low = estrin<Offset, kLowCount>(x, c);
    T high = estrin<Offset + kLowCount, Count - kLowCount>(x, c);
    return mul_add(high, power_of_power_of_two<kLog2LowCount>(x), low);
  }
}
template <typename T, size_t N>
[[gnu::always_inline]] inline T polynomial(T x, const std::array<T, N>& c) {
  // The two lowest terms by Horner's rule, which keeps the accuracy of the leading terms.
  static_assert(N >= 3);
  return mul_add(mul_add(estrin<2, N - 2>(x, c), x, c[1]), x, c[0]);
}

// c[0] + c[1] x + ... + c[N-1] x^(N-1) by Horner's rule: N - 1 fused multiply-adds and no
// powers. Where a loop is bound by the FMA ports rather than by latency (16-wide AVX-512 with
// enough independent elements in flight, as the float GELU kernels), this beats Estrin's scheme.
// NOTE: unrolled by recursion; a loop over the coefficients stays a loop in some instantiations,
// and the enclosing element loop is then not vectorised.
template <size_t Offset = 0, typename T, size_t N>
[[gnu::always_inline]] inline T horner(T x, const std::array<T, N>& c) {  // c[Offset, N)
  if constexpr (Offset + 1 == N) {
    return c[Offset];
  } else {
    return mul_add(horner<Offset + 1>(x, c), x, c[Offset]);
  }
}

// Taylor coefficients, computed in double and rounded once to T.
// q(r) = sum_k r^k / (k + 1)!, so that expm1(r) = r q(r) and exp(r) = 1 + r q(r).
template <typename T, size_t N>
constexpr std::array<T, N> expm1_quotient_coefficients() {
  std::array<T, N> c{};
  double factorial = 1.0;
  for (size_t k = 0; k < N; ++k) {
    factorial *= static_cast<double>(k + 1);
    c[k] = static_cast<T>(1.0 / factorial);
  }
  return c;
}
// 2 atanh(s) / s = sum_k 2 s^(2k) / (2k + 1), as a polynomial in s^2.
template <typename T, size_t N>
constexpr std::array<T, N> atanh_coefficients() {
  std::array<T, N> c{};
  for (size_t k = 0; k < N; ++k) c[k] = static_cast<T>(2.0 / static_cast<double>(2 * k + 1));
  return c;
}
// (sin r - r) / r^3 = sum_k (-1)^(k+1) r^(2k) / (2k + 3)!, and (cos r - 1 + r^2/2) / r^4 =
// sum_k (-1)^k r^(2k) / (2k + 4)!, as polynomials in r^2.
template <typename T, size_t N>
constexpr std::array<T, N> sin_tail_coefficients() {
  std::array<T, N> c{};
  double factorial = 6.0;  // 3!
  for (size_t k = 0; k < N; ++k) {
    c[k] = static_cast<T>((k % 2 == 0 ? -1.0 : 1.0) / factorial);
    factorial *= static_cast<double>((2 * k + 4) * (2 * k + 5));
  }
  return c;
}
template <typename T, size_t N>
constexpr std::array<T, N> cos_tail_coefficients() {
  std::array<T, N> c{};
  double factorial = 24.0;  // 4!
  for (size_t k = 0; k < N; ++k) {
    c[k] = static_cast<T>((k % 2 == 0 ? 1.0 : -1.0) / factorial);
    factorial *= static_cast<double>((2 * k + 5) * (2 * k + 6));
  }
  return c;
}
// erf(z) / z = 2/sqrt(pi) sum_k (-1)^k z^(2k) / (k! (2k + 1)), as a polynomial in z^2.
template <typename T, size_t N>
constexpr std::array<T, N> erf_series_coefficients() {
  std::array<T, N> c{};
  double factorial = 1.0;
  for (size_t k = 0; k < N; ++k) {
    if (k > 0) factorial *= static_cast<double>(k);
    c[k] = static_cast<T>((k % 2 == 0 ? 1.0 : -1.0) * 1.12837916709551256 / (factorial * static_cast<double>(2 * k + 1)));
  }
  return c;
}

// Degrees chosen so that the first omitted term is below 0.1 ulp on the reduced range.
template <typename T> struct Polynomials;
template <> struct Polynomials<float> {
  static constexpr auto kExpm1Quotient = expm1_quotient_coefficients<float, 7>();  // |r| <= ln2/2
  static constexpr auto kAtanh = atanh_coefficients<float, 5>();                    // |s| <= 0.172
  static constexpr auto kErfSeries = erf_series_coefficients<float, 7>();           // |z| <= 0.5
  // erfc(z) exp(z^2) / t as a polynomial in u = 2t - 1, t = 2/(2 + z): u in [-0.680, 1] (z in [0, 10.5]).
  static constexpr std::array<float, 11> kErfcx = {
      5.107913613e-01f,  3.435803652e-01f,  1.397357136e-01f, 1.822064072e-02f,  -1.075163484e-02f,
      -3.236916848e-03f, 1.527706045e-03f,  4.147713189e-04f, -2.919528633e-04f, -2.337129445e-05f,
      3.331968401e-05f};
};
template <> struct Polynomials<double> {
  static constexpr auto kExpm1Quotient = expm1_quotient_coefficients<double, 14>();
  static constexpr auto kAtanh = atanh_coefficients<double, 12>();
  static constexpr auto kErfSeries = erf_series_coefficients<double, 12>();
  static constexpr auto kSinTail = sin_tail_coefficients<double, 8>();  // |r| <= pi/4
  static constexpr auto kCosTail = cos_tail_coefficients<double, 8>();
  // erfc(z) exp(z^2) / t as a polynomial in u, u in [-0.864, 1] (z in [0, 27.5]).
  static constexpr std::array<double, 26> kErfcx = {
      5.10791352621011496e-01,  3.43580342206905365e-01,  1.39736046278025827e-01,  1.82211157534309109e-02,
      -1.07553309446684828e-02, -3.23959253354276716e-03, 1.54530602801342554e-03,  4.18648025375893424e-04,
      -3.31536734258382345e-04, -1.71856584625275134e-05, 7.22352405113296992e-05,  -1.70748236952427025e-05,
      -1.08474444249449566e-05, 8.06198810215716643e-06,  -5.65175491702978197e-07, -1.82598666037295037e-06,
      1.00724733884487942e-06,  6.09012065201928504e-09,  -2.97320637397211018e-07, 1.54530982161577659e-07,
      1.31541985087130758e-08,  -5.07761444169857739e-08, 1.69350581532570868e-08,  4.63047630226486475e-09,
      -3.99854928581342918e-09, 6.66984492689019984e-10};
};

// NOTE: clamps and saturations are integer min on the bit patterns (which order non-negative
// floats as their values do): a float compare-and-select lets GCC thread jumps over the
// correlated conditions that follow, and the vectorised code then drowns in mask juggling.
// These lose NaN (its pattern is above +inf's); callers restore it with keep_nan.

// min(a, limit) for a >= 0 and limit > 0; NaN becomes limit.
template <typename T>
[[gnu::always_inline]] inline T min_magnitude(T a, T limit) {
  using Int = typename Format<T>::Int;
  return std::bit_cast<T>(std::min(std::bit_cast<Int>(a), std::bit_cast<Int>(limit)));
}
// x with its magnitude clamped to limit; NaN becomes +-limit.
template <typename T>
[[gnu::always_inline]] inline T clamp_magnitude(T x, T limit) {
  return std::copysign(min_magnitude(std::abs(x), limit), x);
}
// condition ? a : b, as a bitwise blend of a and b. NOTE: a plain ?: lets GCC sink the
// computation of the unselected value into a branch, and with -ftrapping-math (the default) it
// then does not if-convert that floating-point operation, so the loop is not vectorised (short
// of AVX-512 masking). The blend uses both values unconditionally.
template <typename T>
[[gnu::always_inline]] inline T select(bool condition, T a, T b) {
  using Int = typename Format<T>::Int;
  Int mask = -static_cast<Int>(condition);
  return std::bit_cast<T>((std::bit_cast<Int>(a) & mask) | (std::bit_cast<Int>(b) & ~mask));
}

// result, or x itself where x is NaN.
template <typename T>
[[gnu::always_inline]] inline T keep_nan(T x, T result) {
  return select(x != x, x, result);
}

// 2^k as T, for k within T's normal exponent range.
template <typename T>
[[gnu::always_inline]] inline T pow2(typename Format<T>::Int k) {
  using F = Format<T>;
  return std::bit_cast<T>(static_cast<typename F::Int>((k + F::kExponentBias) << F::kMantissaBits));
}

// The integer n nearest x / ln2, as T and as an integer (|x| < 2^21 ln2).
template <typename T>
struct Ln2Multiple {
  T n;
  typename Format<T>::Int n_int;
};
template <typename T>
[[gnu::always_inline]] inline Ln2Multiple<T> nearest_ln2_multiple(T x) {
  using F = Format<T>;
  using Int = typename F::Int;
  T shifted = x * kLog2e<T> + F::kRoundShift;  // rounds to an integer in the last place
  return {shifted - F::kRoundShift, std::bit_cast<Int>(shifted) - std::bit_cast<Int>(F::kRoundShift)};
}

// x = n ln2 + r with n an integer and |r| <= ln2/2 (Cody-Waite: n ln2_hi is exact).
template <typename T>
struct Ln2Reduced {
  T r;
  typename Format<T>::Int n;
};
template <typename T>
[[gnu::always_inline]] inline Ln2Reduced<T> reduce_by_ln2(T x) {
  using F = Format<T>;
  auto [n, n_int] = nearest_ln2_multiple(x);
  return {mul_add(-n, F::kLn2Lo, mul_add(-n, F::kLn2Hi, x)), n_int};
}

// a - b modulo 2^bits, without signed overflow.
template <typename Int>
[[gnu::always_inline]] inline Int wrapping_sub(Int a, Int b) {
  using Unsigned = std::make_unsigned_t<Int>;
  return static_cast<Int>(static_cast<Unsigned>(a) - static_cast<Unsigned>(b));
}

// x = m 2^k with m in [sqrt(1/2), sqrt(2)), for finite x > 0 (subnormals included).
template <typename T>
struct Log2Split {
  T m;
  T k;
};
template <typename T>
[[gnu::always_inline]] inline Log2Split<T> split_exponent(T x) {
  using F = Format<T>;
  using Int = typename F::Int;
  // A subnormal x is scaled up by 2^kMantissaBits first, chosen with an integer mask (see the
  // NOTE on clamps above).
  Int bits = std::bit_cast<Int>(x);
  Int scaled_bits = std::bit_cast<Int>(x * pow2<T>(F::kMantissaBits));
  // NOTE: the differences wrap (negative x and NaN, whose results the caller replaces, have
  // bit patterns near the most negative Int), so they are taken in unsigned arithmetic.
  Int subnormal_mask = wrapping_sub(bits, std::bit_cast<Int>(std::numeric_limits<T>::min())) >> (8 * sizeof(T) - 1);
  bits = (scaled_bits & subnormal_mask) | (bits & ~subnormal_mask);
  Int k = wrapping_sub(bits, std::bit_cast<Int>(kSqrtHalf<T>)) >> F::kMantissaBits;
  T m = std::bit_cast<T>(wrapping_sub(bits, static_cast<Int>(k << F::kMantissaBits)));
  // k as T through the round-shift constant: a plain int64 -> double conversion does not
  // vectorise without AVX-512.
  k -= subnormal_mask & F::kMantissaBits;
  T k_real = std::bit_cast<T>(static_cast<Int>(std::bit_cast<Int>(F::kRoundShift) + k)) - F::kRoundShift;
  return {m, k_real};
}

// log(m) for m in [sqrt(1/2), sqrt(2)): 2 atanh(s), s = (m - 1)/(m + 1).
template <typename T>
[[gnu::always_inline]] inline T log_of_mantissa(T m) {
  T f = m - T(1);
  T s = f / (T(2) + f);
  return s * polynomial(s * s, Polynomials<T>::kAtanh);
}

// log, log2 and log1p at their argument u: the finite result for a positive finite u, else -inf
// at +-0, +inf at +inf, NaN below 0 and at NaN. (The conditions are integer tests of the bit
// pattern: see the NOTE on clamps above.)
template <typename T>
[[gnu::always_inline]] inline T log_special_cases(T u, T finite_result) {
  using Int = typename Format<T>::Int;
  using UInt = std::make_unsigned_t<Int>;
  constexpr T kInfinity = std::numeric_limits<T>::infinity();
  UInt bits = std::bit_cast<UInt>(u);
  Int finite_mask = -static_cast<Int>(bits - 1 < std::bit_cast<UInt>(kInfinity) - 1);  // 0 < u < inf
  Int zero_mask = -static_cast<Int>((bits << 1) == 0);
  T inf_or_nan = (u + std::abs(u)) * kInfinity;  // +inf at +inf, NaN at negative u and NaN
  Int special = (std::bit_cast<Int>(-kInfinity) & zero_mask) | (std::bit_cast<Int>(inf_or_nan) & ~zero_mask);
  return std::bit_cast<T>((std::bit_cast<Int>(finite_result) & finite_mask) | (special & ~finite_mask));
}

// 2^n exp(r) from the reduced exp(r), in two factors of 2^(n/2), so that results near overflow
// and in the subnormal range come out right.
template <typename T>
[[gnu::always_inline]] inline T scale_by_pow2(T exp_r, typename Format<T>::Int n) {
  typename Format<T>::Int half = n >> 1;
  return exp_r * pow2<T>(half) * pow2<T>(n - half);
}

// Whether a result below the smallest normal number comes out right (Keep) or may be garbage for
// the caller to replace (Flush, which saves a multiplication and four integer operations).
enum class Subnormals { Keep, Flush };

// exp(x) for |x| <= kExpLimit (Keep) or -kNormalExpLimit <= x <= kExpLimit (Flush).
template <Subnormals mode = Subnormals::Keep, typename T>
[[gnu::always_inline]] inline T exp_in_range(T x) {
  auto [r, n] = reduce_by_ln2(x);
  T exp_r = mul_add(r, polynomial(r, Polynomials<T>::kExpm1Quotient), T(1));
  if constexpr (mode == Subnormals::Keep) {
    return scale_by_pow2(exp_r, n);
  } else {
    return exp_r * pow2<T>(n);
  }
}

// expm1(x) for |x| <= kExpm1Limit (see vecmath::expm1).
template <typename T>
[[gnu::always_inline]] inline T expm1_in_range(T x) {
  using F = Format<T>;
  auto [r, n] = reduce_by_ln2(x);
  T expm1_r = r * polynomial(r, Polynomials<T>::kExpm1Quotient);
  // Where the result rounds to -1, a larger n gives the same result and keeps t normal.
  n = std::max(n, typename F::Int{-F::kMantissaBits - 8});
  T t = pow2<T>(n - 1);
  return T(2) * mul_add(t, expm1_r, t - T(0.5));
}

// a * a = hi + lo exactly (Dekker's product; with FMA the low part is one fused operation).
template <typename T>
struct TwoProduct {
  T hi;
  T lo;
};
template <typename T>
[[gnu::always_inline]] inline TwoProduct<T> square_exact(T a) {
  T hi = a * a;
#ifdef __FMA__
  return {hi, std::fma(a, a, -hi)};
#else
  // NOTE: Veltkamp's split relies on every operation rounding on its own; without FMA the
  // compiler has nothing to contract them into.
  constexpr T kSplitter = T(1 << ((Format<T>::kMantissaBits + 2) / 2)) + T(1);
  T c = kSplitter * a;
  T a_hi = c - (c - a);
  T a_lo = a - a_hi;
  return {hi, ((a_hi * a_hi - hi) + T(2) * a_hi * a_lo) + a_lo * a_lo};
#endif
}

// erfc(a) for 0 <= a <= kErfcMaxZ, given a^2 = a2_hi + a2_lo exactly, as t W(u) exp(-a^2) with
// W = erfcx / t (erfcx(a) = erfc(a) exp(a^2) ~ t near infinity, so W varies little and its
// polynomial does not cancel): W by its polynomial, exp(-a^2) from the exact square (so that it
// keeps full relative accuracy where a^2 is large), with exp(-a2_lo) = 1 - a2_lo to within
// a2_lo^2. The factors are independent, which halves the dependency chain. With
// Subnormals::Flush, a may be larger (or infinite or NaN), and the result is garbage where
// a2_hi > kNormalExpLimit (erfc below the smallest normal number): the caller replaces it.
template <Subnormals mode, typename T>
[[gnu::always_inline]] inline T erfc_nonnegative(T a, T a2_hi, T a2_lo) {
  T t = T(2) / (T(2) + a);
  T scaled = t * polynomial(T(2) * t - T(1), Polynomials<T>::kErfcx);
  if constexpr (mode == Subnormals::Flush) a2_hi = min_magnitude(a2_hi, Format<T>::kNormalExpLimit);
  T e = exp_in_range<mode>(-a2_hi);
  return scaled * mul_add(e, -a2_lo, e);
}

// erfc(min(a, kErfcMaxZ)) for a >= 0: beyond kErfcMaxZ, erfc is 0 in T.
template <typename T>
[[gnu::always_inline]] inline T erfc_of_magnitude(T a) {
  a = min_magnitude(a, Format<T>::kErfcMaxZ);
  auto [a2_hi, a2_lo] = square_exact(a);
  return erfc_nonnegative<Subnormals::Keep>(a, a2_hi, a2_lo);
}

// c[k] / 2^k: the polynomial in 2r of a polynomial in r (exact: powers of two).
template <size_t N>
constexpr std::array<float, N> in_double_argument(const std::array<float, N>& c) {
  std::array<float, N> scaled{};
  float factor = 1.0f;
  for (size_t k = 0; k < N; ++k, factor *= 0.5f) scaled[k] = c[k] * factor;
  return scaled;
}

// The float32 GELU kernels' coefficients, printed by tests/core/golden/fit_gelu_float.py
// (relative minimax fits, each coefficient rounded to float in turn and the rest refitted).
struct GeluFloat {
  // Phi(-a) exp(a^2/2) = N(a) / D(a) for a in [0, 13.25], to a relative 1.0e-8.
  static constexpr std::array<float, 5> kTailNumerator = {0.5f, 0.435587436f, 0.181233555f, 0.0399595276f,
                                                          0.00401653629f};
  static constexpr std::array<float, 6> kTailDenominator = {1.0f,         1.66905975f,  1.19418001f,
                                                            0.464187145f, 0.100171089f, 0.0100678196f};
  // exp(s/2) for |s| <= 0.7, from the fit of exp(r) for |r| <= 0.35 (relative 4.8e-9).
  static constexpr std::array<float, 7> kExpHalf = in_double_argument<7>(
      {1.0f, 1.0f, 0.49999994f, 0.166665152f, 0.041668456f, 0.00836941134f, 0.00138131564f});
  // Beyond x^2 = 174 (|x| > 13.19), Phi(-|x|) is below the smallest normal float: both parts flush to 0.
  static constexpr float kSaturation = 174.0f;
};

// For a float x: e = exp(-x^2/2) and q = Phi(-|x|) = e N(|x|)/D(|x|) (the lower tail of the
// standard normal distribution), both 0 where x^2 > GeluFloat::kSaturation. Branch-free and
// division-light (one division), so that the GELU loops vectorise and stay cheap per element:
// exp(-x^2/2) = 2^n exp(s/2) with -x^2 = 2n ln2 + s, reduced from x^2 = x2 + x2_lo split exactly
// (x2_lo joins s, so that e keeps full relative accuracy where x^2 is large), 2^n added to the
// exponent bits. NOTE: q is subnormal for x^2 beyond ~170; the products x q stay within 8 ulp for
// |x| <= 13 (x q > 1e-37) and lose bits beyond, down to the flush at |x| = 13.19.
struct NormalTail {
  float density;     // exp(-x^2/2)
  float lower_tail;  // Phi(-|x|)
};
[[gnu::always_inline]] inline NormalTail normal_tail(float x) {
  using F = Format<float>;
  using Int = F::Int;
  const float a = std::abs(x);
  const auto [x2, x2_lo] = square_exact(x);
  const float x2_clamped = min_magnitude(x2, GeluFloat::kSaturation);
  const float shifted = mul_add(x2_clamped, -0.5f * kLog2e<float>, F::kRoundShift);
  const float n = shifted - F::kRoundShift;
  const Int n_int = std::bit_cast<Int>(shifted) - std::bit_cast<Int>(F::kRoundShift);
  float s = mul_add(n, -2.0f * F::kLn2Hi, -x2_clamped);  // exact: n 2ln2_hi has 16 bits, |n| <= 126
  s = mul_add(n, -2.0f * F::kLn2Lo, s) - x2_lo;
  const float exp_s = horner(s, GeluFloat::kExpHalf);
  const float e = std::bit_cast<float>(std::bit_cast<Int>(exp_s) + static_cast<Int>(n_int << F::kMantissaBits));
  const float q = e * horner(a, GeluFloat::kTailNumerator) / horner(a, GeluFloat::kTailDenominator);
  const bool saturated = x2 > GeluFloat::kSaturation;
  return {select(saturated, 0.0f, e), select(saturated, 0.0f, q)};
}

}  // namespace detail

// condition ? a : b for float and double, both computed (see the NOTE at detail::select).
using detail::select;

// ---- exponentials and logarithms ----

template <typename T>
[[gnu::always_inline]] inline T exp(T x) {
  using F = detail::Format<T>;
  return detail::keep_nan(x, detail::exp_in_range(detail::clamp_magnitude(x, F::kExpLimit)));
}

// exp(x) - 1, accurate near 0: 2^n expm1(r) + (2^n - 1), written as 2 (t expm1(r) + (t - 1/2))
// with t = 2^(n-1) so that no intermediate overflows before the result does.
template <typename T>
[[gnu::always_inline]] inline T expm1(T x) {
  using F = detail::Format<T>;
  T result = detail::expm1_in_range(detail::clamp_magnitude(x, F::kExpm1Limit));
  return detail::keep_nan(x, detail::select(x == T(0), x, result));  // expm1(-0) = -0
}

template <typename T>
[[gnu::always_inline]] inline T log(T x) {
  using F = detail::Format<T>;
  auto [m, k] = detail::split_exponent(x);
  T log_m = detail::log_of_mantissa(m);
  T result = detail::mul_add(k, F::kLn2Hi, detail::mul_add(k, F::kLn2Lo, log_m));
  return detail::log_special_cases(x, result);
}

template <typename T>
[[gnu::always_inline]] inline T log2(T x) {
  auto [m, k] = detail::split_exponent(x);
  T result = detail::mul_add(detail::log_of_mantissa(m), detail::kLog2e<T>, k);  // exact at powers of 2
  return detail::log_special_cases(x, result);
}

// log(1 + x) = log(u) + (x - (u - 1)) / u with u = 1 + x rounded: the quotient restores what the
// rounding of u lost (a first-order correction, exact enough since that loss is below ulp(u)).
template <typename T>
[[gnu::always_inline]] inline T log1p(T x) {
  using F = detail::Format<T>;
  T u = T(1) + x;
  auto [m, k] = detail::split_exponent(u);
  T log_m = detail::log_of_mantissa(m);
  bool correctable = (u > T(0)) & (u < std::numeric_limits<T>::infinity());  // & rather than &&: no branch
  T quotient = (x - (u - T(1))) / u;
  T correction = detail::select(correctable, quotient, T(0));
  T result = detail::mul_add(k, F::kLn2Hi, detail::mul_add(k, F::kLn2Lo, log_m) + correction);
  return detail::log_special_cases(u, result);
}

// ---- hyperbolic, error function ----

// tanh(x) = sign(x) e / (e + 2) with e = expm1(2|x|), which keeps relative accuracy near 0.
template <typename T>
[[gnu::always_inline]] inline T tanh(T x) {
  using F = detail::Format<T>;
  T e = detail::expm1_in_range(T(2) * detail::min_magnitude(std::abs(x), F::kTanhSaturation));
  return detail::keep_nan(x, std::copysign(e / (e + T(2)), x));
}

template <typename T>
[[gnu::always_inline]] inline T erfc(T x) {
  T tail = detail::erfc_of_magnitude(std::abs(x));
  return detail::keep_nan(x, detail::select(x < T(0), T(2) - tail, tail));
}

// erf by its Taylor series for |x| <= 1/2, else 1 - erfc(|x|) with the sign of x.
template <typename T>
[[gnu::always_inline]] inline T erf(T x) {
  T series = x * detail::polynomial(x * x, detail::Polynomials<T>::kErfSeries);
  T from_erfc = std::copysign(T(1) - detail::erfc_of_magnitude(std::abs(x)), x);
  return detail::keep_nan(x, detail::select(std::abs(x) <= T(0.5), series, from_erfc));
}

// ---- activations (formulas as torch.nn.functional, PyTorch 1.13) ----

// 1 / (1 + exp(-x)), evaluated as e / (1 + e) with e = exp(x) for negative x: never 0/0 or
// inf/inf, and accurate where the result is tiny.
template <typename T>
[[gnu::always_inline]] inline T sigmoid(T x) {
  T e = vecmath::exp(-std::abs(x));
  T positive = T(1) / (T(1) + e);
  return detail::select(x >= T(0), positive, e * positive);
}

// x sigmoid(x); NaN at -inf (-inf * 0), as PyTorch.
template <typename T>
[[gnu::always_inline]] inline T silu(T x) {
  return x * sigmoid(x);
}

// log(1 + exp(beta x)) / beta, or x itself where beta x > threshold (PyTorch's softplus). The
// logarithm is evaluated as max(z, 0) + log1p(exp(-|z|)), z = beta x, which never overflows.
template <typename T>
[[gnu::always_inline]] inline T softplus(T x, T beta, T threshold) {
  T z = x * beta;
  T soft = (detail::select(z > T(0), z, T(0)) + vecmath::log1p(vecmath::exp(-std::abs(z)))) / beta;
  return detail::select(z > threshold, x, soft);
}

// x Phi(x) = x/2 erfc(-x/sqrt(2)) (the exact GELU, Hendrycks & Gimpel 2016). Through the lower
// tail Phi(-|x|) rather than 1 + erf, so that the negative tail keeps relative accuracy: float by
// detail::normal_tail, x (1 - q) or x q; double by erfc with x^2/2 split exactly.
// NOTE: results below 1e-37 (x < -13.1 for float; 1e-307 for double) flush to -0, for speed.
template <typename T>
[[gnu::always_inline]] inline T gelu(T x) {
  if constexpr (std::is_same_v<T, float>) {
    const float q = detail::normal_tail(x).lower_tail;
    return x * detail::select(x > 0.0f, 1.0f - q, q);  // -inf * 0 is NaN, as in PyTorch
  } else {
    using F = detail::Format<T>;
    auto [x2_hi, x2_lo] = detail::square_exact(x);
    T half_x2 = T(0.5) * x2_hi;
    T tail = detail::erfc_nonnegative<detail::Subnormals::Flush>(std::abs(x) * detail::kSqrtHalf<T>, half_x2,
                                                                  T(0.5) * x2_lo);
    tail = detail::select(half_x2 > F::kNormalExpLimit, T(0), tail);
    // At x = -inf, x * 0 is NaN, as in PyTorch; a NaN x stays NaN through the product.
    return T(0.5) * x * detail::select(x > T(0), T(2) - tail, tail);
  }
}

// x/2 (1 + tanh(y)), y = sqrt(2/pi) (x + 0.044715 x^3), computed as x / (1 + exp(-2y)) (the same
// value, 1 + tanh(y) = 2 sigmoid(2y), without the cancellation of 1 + tanh(y) for negative x).
template <typename T>
[[gnu::always_inline]] inline T gelu_tanh(T x) {
  T y = detail::kSqrtTwoOverPi<T> * detail::mul_add(T(0.044715) * x, x * x, x);
  return x / (T(1) + vecmath::exp(T(-2) * y));
}

// d/dx gelu(x) = Phi(x) + x phi(x), phi(x) = exp(-x^2/2) / sqrt(2 pi) the standard normal
// density: float from detail::normal_tail, double from erfc and exp.
template <typename T>
[[gnu::always_inline]] inline T gelu_derivative(T x) {
  if constexpr (std::is_same_v<T, float>) {
    const auto [e, q] = detail::normal_tail(x);
    return detail::mul_add(x * e, detail::kInvSqrt2Pi<float>, detail::select(x > 0.0f, 1.0f - q, q));
  } else {
    // exp(-x^2/2) from x^2 split exactly (exp(-lo/2) = 1 - lo/2), as the density dominates the tail.
    const auto [x2_hi, x2_lo] = detail::square_exact(x);
    const T e = vecmath::exp(T(-0.5) * x2_hi);
    const T cdf = T(0.5) * vecmath::erfc(-x * detail::kSqrtHalf<T>);
    return detail::mul_add(x * detail::mul_add(e, T(-0.5) * x2_lo, e), detail::kInvSqrt2Pi<T>, cdf);
  }
}

// d/dx of gelu_tanh(x) = x s, s = sigmoid(2y), y = sqrt(2/pi) (x + 0.044715 x^3):
// s + x s (1 - s) 2 dy/dx, dy/dx = sqrt(2/pi) (1 + 3 * 0.044715 x^2). (The same as
// (1 + t)/2 + x (1 - t^2)/2 dy/dx with t = tanh(y), as 1 + t = 2s and 1 - t^2 = 4s(1 - s).)
template <typename T>
[[gnu::always_inline]] inline T gelu_tanh_derivative(T x) {
  const T x2 = x * x;
  const T y = detail::kSqrtTwoOverPi<T> * detail::mul_add(T(0.044715) * x, x2, x);
  const T s = T(1) / (T(1) + vecmath::exp(T(-2) * y));
  const T twice_dy = (T(2) * detail::kSqrtTwoOverPi<T>) * detail::mul_add(T(3 * 0.044715), x2, T(1));
  return detail::mul_add(x * s * (T(1) - s), twice_dy, s);
}

// ---- array forms ----

// y[i] = f(x[i]) for i < n; x and y may be the same array. With an inlinable f made of the
// functions above, GCC vectorises this loop.
template <typename In, typename Out, typename F>
[[gnu::always_inline]] inline void map(const In* x, Out* y, int64_t n, const F& f) {
  for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

namespace detail {

// Reduction by pi/2 is exact enough for |x| <= kSinCosLimit (Cody-Waite in four parts of 32, 32,
// 32 and 53 bits, each product with |q| < 2^20 exact); beyond it std::sin/cos take over.
inline constexpr double kSinCosLimit = 0x1p19;
inline constexpr double kTwoOverPi = 6.36619772367581382e-01;
inline constexpr double kPiOver2Parts[4] = {1.57079632673412561e+00, 6.07710050630396598e-11,
                                            2.02226624871116646e-21, 8.47842766036889957e-32};

// sin(x) (want_cos false) or cos(x) for |x| <= kSinCosLimit, in double.
template <bool want_cos>
[[gnu::always_inline]] inline double sin_or_cos_reduced(double x) {
  double shifted = x * kTwoOverPi + Format<double>::kRoundShift;
  double q = shifted - Format<double>::kRoundShift;
  int64_t quadrant = std::bit_cast<int64_t>(shifted) - std::bit_cast<int64_t>(Format<double>::kRoundShift);
  double r = x - q * kPiOver2Parts[0];  // exact: q pi/2 and x are within a factor 2 (Sterbenz)
  r = r - q * kPiOver2Parts[1];
  r = r - q * kPiOver2Parts[2];
  r = r - q * kPiOver2Parts[3];
  double r2 = r * r;
  double sin_r = mul_add(r * r2, polynomial(r2, Polynomials<double>::kSinTail), r);
  double cos_r = mul_add(r2 * r2, polynomial(r2, Polynomials<double>::kCosTail), mul_add(-0.5, r2, 1.0));
  // sin(x) over quadrants 0..3: sin r, cos r, -sin r, -cos r; cos(x) is sin(x + pi/2).
  int64_t k = (quadrant + (want_cos ? 1 : 0)) & 3;
  double value = select((k & 1) != 0, cos_r, sin_r);
  return select((k & 2) != 0, -value, value);
}

template <bool want_cos, typename T>
void sin_or_cos(const T* x, T* y, int64_t n) {
  constexpr int64_t kBlock = 256;
  for (int64_t begin = 0; begin < n; begin += kBlock) {
    int64_t count = std::min(kBlock, n - begin);
    const T* in = x + begin;
    T* out = y + begin;
    bool beyond_limit = false;
    for (int64_t i = 0; i < count; ++i) beyond_limit |= std::abs(static_cast<double>(in[i])) > kSinCosLimit;
    if (beyond_limit) [[unlikely]] {
      for (int64_t i = 0; i < count; ++i) out[i] = want_cos ? std::cos(in[i]) : std::sin(in[i]);
    } else {
      for (int64_t i = 0; i < count; ++i) {
        out[i] = static_cast<T>(sin_or_cos_reduced<want_cos>(static_cast<double>(in[i])));
      }
    }
  }
}

}  // namespace detail

// sin and cos of arrays: float through the double kernel (so within 1 ulp), blocks holding an
// |x| > 2^19 through std::sin/cos.
template <typename T>
void sin(const T* x, T* y, int64_t n) {
  detail::sin_or_cos<false>(x, y, n);
}
template <typename T>
void cos(const T* x, T* y, int64_t n) {
  detail::sin_or_cos<true>(x, y, n);
}

// sqrt and 1/sqrt of arrays. NOTE: std::sqrt does not vectorise while it may set errno (without
// -fno-math-errno), hence the intrinsics.
template <typename T, bool reciprocal>
void sqrt_array(const T* x, T* y, int64_t n) {
  int64_t i = 0;
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>) {
    for (; i + 16 <= n; i += 16) {
      __m512 root = _mm512_maskz_sqrt_ps(0xffff, _mm512_loadu_ps(x + i));  // maskz: GCC 12 warns on the plain form
      _mm512_storeu_ps(y + i, reciprocal ? _mm512_div_ps(_mm512_set1_ps(1.0f), root) : root);
    }
  } else {
    for (; i + 8 <= n; i += 8) {
      __m512d root = _mm512_maskz_sqrt_pd(0xff, _mm512_loadu_pd(x + i));
      _mm512_storeu_pd(y + i, reciprocal ? _mm512_div_pd(_mm512_set1_pd(1.0), root) : root);
    }
  }
#elif defined(__AVX__)
  if constexpr (std::is_same_v<T, float>) {
    for (; i + 8 <= n; i += 8) {
      __m256 root = _mm256_sqrt_ps(_mm256_loadu_ps(x + i));
      _mm256_storeu_ps(y + i, reciprocal ? _mm256_div_ps(_mm256_set1_ps(1.0f), root) : root);
    }
  } else {
    for (; i + 4 <= n; i += 4) {
      __m256d root = _mm256_sqrt_pd(_mm256_loadu_pd(x + i));
      _mm256_storeu_pd(y + i, reciprocal ? _mm256_div_pd(_mm256_set1_pd(1.0), root) : root);
    }
  }
#else
  if constexpr (std::is_same_v<T, float>) {
    for (; i + 4 <= n; i += 4) {
      __m128 root = _mm_sqrt_ps(_mm_loadu_ps(x + i));
      _mm_storeu_ps(y + i, reciprocal ? _mm_div_ps(_mm_set1_ps(1.0f), root) : root);
    }
  } else {
    for (; i + 2 <= n; i += 2) {
      __m128d root = _mm_sqrt_pd(_mm_loadu_pd(x + i));
      _mm_storeu_pd(y + i, reciprocal ? _mm_div_pd(_mm_set1_pd(1.0), root) : root);
    }
  }
#endif
  for (; i < n; ++i) y[i] = reciprocal ? T(1) / std::sqrt(x[i]) : std::sqrt(x[i]);
}
template <typename T>
void sqrt(const T* x, T* y, int64_t n) {
  sqrt_array<T, false>(x, y, n);
}
template <typename T>
void rsqrt(const T* x, T* y, int64_t n) {
  sqrt_array<T, true>(x, y, n);
}

}  // namespace descent::vecmath
