// Reductions and softmax (read core/reduce.h first). Every reduction is a small "reducer" (its
// identity, a step that folds in one element, a merge of two partial results, a write of the
// final value) run by one engine over a ReductionPlan: the input's dims split into kept and
// reduced axes, size-1 dims dropped, neighbours merged, innermost (smallest stride) first.
#include <descent/core/reduce.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>

#include <descent/core/reduction_engine.h>

namespace descent::core {
namespace {

using namespace reduction;

// ---- reducers ----

// The accumulator of sums: double for floating inputs (float32 sums stay accurate over millions
// of elements), int64 for integers and bool.
template <typename T>
using SumAcc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
// The result dtype of sum and prod: the floating dtype itself, else int64.
template <typename T>
using SumOut = std::conditional_t<std::is_floating_point_v<T>, T, int64_t>;

template <typename T, bool kMax>
struct ExtremeIndexReducer {
  using In = T;
  struct Acc {
    T value;
    int64_t index;
  };
  T* values;
  int64_t* indices;

  static bool better(T value, int64_t index, const Acc& than) {
    if constexpr (std::is_floating_point_v<T>) {
      bool nan = value != value, than_nan = than.value != than.value;
      if (nan || than_nan) return nan && (!than_nan || index < than.index);
    }
    if (value == than.value) return index < than.index;
    return kMax ? value > than.value : value < than.value;
  }
  Acc identity() const { return {kMax ? lowest<T>() : highest<T>(), INT64_MAX}; }
  void step(Acc& acc, T value, int64_t index) const {
    if (better(value, index, acc)) acc = {value, index};
  }
  void merge(Acc& acc, const Acc& other) const {
    if (better(other.value, other.index, acc)) acc = other;
  }
  // A contiguous run in two passes: its extreme value by the vectorised fold, then the first
  // position holding it (the first NaN when it is NaN), rather than comparing (value, index) pairs.
  void fold_contiguous(Acc& acc, const T* p, int64_t n, int64_t index, int64_t index_stride) const {
    auto extreme_of = extreme_fold<T, kMax>();
    T extreme = extreme_of.identity();
    fold_run(extreme_of, extreme, p, 1, n, 0, 0);
    int64_t i = 0;
    if (extreme != extreme) {
      while (p[i] == p[i]) ++i;
    } else {
      while (p[i] != extreme) ++i;
    }
    step(acc, extreme, index + i * index_stride);
  }
  void write(int64_t offset, const Acc& acc) const {
    if (values != nullptr) values[offset] = acc.value;
    if (indices != nullptr) indices[offset] = acc.index;
  }
};

// Variance by Welford's online update (Welford 1962), partials merged by the pairwise formula of
// Chan, Golub & LeVeque (1979): stable where sum(x^2) - n mean^2 would cancel. Divides the sum
// of squared deviations by max(0, n - correction), as PyTorch.
template <typename T>
struct VarianceReducer {
  using In = T;
  struct Acc {
    double count;
    double mean;
    double m2;  // sum of squared deviations from the mean
  };
  T* out;
  double correction;
  bool take_sqrt;

  Acc identity() const { return {0.0, 0.0, 0.0}; }
  void step(Acc& acc, T value, int64_t) const {
    double v = static_cast<double>(value);
    acc.count += 1.0;
    double delta = v - acc.mean;
    acc.mean += delta / acc.count;
    acc.m2 += delta * (v - acc.mean);
  }
  void merge(Acc& acc, const Acc& other) const {
    if (other.count == 0.0) return;
    if (acc.count == 0.0) {
      acc = other;
      return;
    }
    double count = acc.count + other.count;
    double delta = other.mean - acc.mean;
    acc.mean += delta * (other.count / count);
    acc.m2 += other.m2 + delta * delta * (acc.count * other.count / count);
    acc.count = count;
  }
  void write(int64_t offset, const Acc& acc) const {
    double variance = acc.m2 / std::max(0.0, acc.count - correction);
    out[offset] = static_cast<T>(take_sqrt ? std::sqrt(variance) : variance);
  }
};

// log(sum(exp(x))) in one pass: the accumulator is (m, s) with sum(exp(x)) = s * exp(m), m the
// largest value so far, rescaled when a larger one arrives (the "online softmax" normaliser of
// Milakov & Gimelshein 2018). NOTE: equal maxima add without rescaling, so runs of +inf or -inf
// never compute inf - inf; a NaN turns s into NaN, which then stays.
template <typename T>
struct LogSumExpReducer {
  using In = T;
  struct Acc {
    double max;
    double scaled_sum;
  };
  T* out;

  Acc identity() const { return {-std::numeric_limits<double>::infinity(), 0.0}; }
  void step(Acc& acc, T value, int64_t) const { merge(acc, {static_cast<double>(value), 1.0}); }
  // A contiguous run with a finite maximum m in two vectorised passes: m, then sum(exp(x - m))
  // through the vector exp, a chunk at a time.
  void fold_contiguous(Acc& acc, const T* p, int64_t n, int64_t, int64_t) const {
    T max = lowest<T>();
    fold_run(extreme_fold<T, true>(), max, p, 1, n, 0, 0);
    if (!std::isfinite(max)) {  // infinities or NaN: the careful fold, step by step
      for (int64_t i = 0; i < n; ++i) step(acc, p[i], 0);
      return;
    }
    constexpr int64_t kChunk = 256;
    T shifted[kChunk];
    double sum = 0.0;
    for (int64_t i = 0; i < n; i += kChunk) {
      int64_t m = std::min(kChunk, n - i);
      for (int64_t k = 0; k < m; ++k) shifted[k] = p[i + k] - max;
      exp_in_place(shifted, m);
      fold_run(sum_fold<T>(), sum, shifted, 1, m, 0, 0);
    }
    merge(acc, {static_cast<double>(max), sum});
  }
  void merge(Acc& acc, const Acc& other) const {
    if (other.max == acc.max) {
      acc.scaled_sum += other.scaled_sum;
    } else if (other.max < acc.max) {
      acc.scaled_sum += other.scaled_sum * std::exp(other.max - acc.max);
    } else {  // a larger maximum, or a NaN on either side
      acc.scaled_sum = acc.scaled_sum * std::exp(acc.max - other.max) + other.scaled_sum;
      acc.max = other.max;
    }
  }
  void write(int64_t offset, const Acc& acc) const {
    out[offset] = static_cast<T>(acc.max + std::log(acc.scaled_sum));
  }
};

// ---- running a reduction ----

struct Reduction {
  ReductionPlan plan;
  Tensor out;
};

// Plans the reduction of x over dims and allocates its result, of dtype out_dtype.
Reduction plan_reduction(const Tensor& x, const Dims& dims, bool keepdim, DType out_dtype, const char* op) {
  DimMask mask = reduced_mask(x.sizes(), dims, op);
  Dims out_strides = contiguous_strides(shape_without(x.sizes(), mask, true));
  for (int d = 0; d < x.dim(); ++d) {
    if (mask & (DimMask{1} << d)) out_strides[d] = 0;  // lets neighbouring reduced dims merge
  }
  Tensor out = Tensor::empty(shape_without(x.sizes(), mask, keepdim), out_dtype);
  return {make_plan(x, mask, out_strides), out};
}

// Ops without an identity (max, argmax, the inf-norm) cannot reduce an empty dim.
void check_nonempty(const Reduction& reduction, const Tensor& x, const char* op) {
  check<ValueError>(reduction.plan.reduced.numel > 0,
                    "{}: cannot reduce over a dim of size 0 (input shape {}): the op has no identity", op,
                    x.sizes());
}

// sum(map(x)), then finish; the shared body of sum, mean and the p-norms.
template <typename T, typename Map, typename Finish>
void run_sum(const Reduction& reduction, const Tensor& x, Map map, Finish finish) {
  using Out = SumOut<T>;
  run_reduction(reduction.plan, input_data<T>(x),
                fold<T>(SumAcc<T>{0}, map, Plus<SumAcc<T>>{}, finish, reduction.out.data<Out>()));
}

// amax/amin over dims: NaN propagates; an empty dim is an error.
template <bool kMax>
Tensor extreme(const Tensor& x, const Dims& dims, bool keepdim, const char* op) {
  Reduction reduction = plan_reduction(x, dims, keepdim, x.dtype(), op);
  check_nonempty(reduction, x, op);
  dispatch(x.dtype(), op, [&]<typename T>() {
    run_reduction(reduction.plan, input_data<T>(x), extreme_fold<T, kMax>(reduction.out.data<T>()));
  });
  return reduction.out;
}

// Values and/or indices of the extreme along `dims` (one dim, or all for a flattened index).
template <bool kMax>
std::pair<Tensor, Tensor> extreme_with_index(const Tensor& x, const Dims& dims, bool keepdim, bool want_values,
                                              const char* op) {
  Reduction reduction = plan_reduction(x, dims, keepdim, kInt64, op);
  check_nonempty(reduction, x, op);
  Tensor values = want_values ? Tensor::empty(reduction.out.sizes(), x.dtype()) : Tensor();
  auto body = [&]<typename T>() {
    ExtremeIndexReducer<T, kMax> r{want_values ? values.data<T>() : nullptr, reduction.out.data<int64_t>()};
    run_reduction(reduction.plan, input_data<T>(x), r);
  };
  // NOTE: PyTorch 1.13 has argmax/argmin for numbers only, but max/min along a dim for bool too.
  if (want_values) dispatch(x.dtype(), op, body);
  else dispatch_numeric(x.dtype(), op, body);
  return {values, reduction.out};
}

Tensor variance(const Tensor& x, const Dims& dims, int64_t correction, bool keepdim, bool take_sqrt,
                const char* op) {
  Reduction reduction = plan_reduction(x, dims, keepdim, x.dtype(), op);
  dispatch_floating(x.dtype(), op, [&]<typename T>() {
    VarianceReducer<T> r{reduction.out.data<T>(), static_cast<double>(correction), take_sqrt};
    run_reduction(reduction.plan, input_data<T>(x), r);
  });
  return reduction.out;
}

// all/any of any dtype: nonzero (NaN included) is true.
template <bool kAll>
Tensor logical_reduction(const Tensor& x, const Dims& dims, bool keepdim, const char* op) {
  Reduction reduction = plan_reduction(x, dims, keepdim, kBool, op);
  dispatch(x.dtype(), op, [&]<typename T>() {
    auto truth = [](T v) { return v != T(0); };
    auto combine = [](bool a, bool b) { return kAll ? a && b : a || b; };
    run_reduction(reduction.plan, input_data<T>(x),
                  fold<T>(kAll, truth, combine, Cast<bool, bool>{}, reduction.out.data<bool>()));
  });
  return reduction.out;
}
}  // namespace

Dims reduced_shape(const Dims& sizes, const Dims& dims, bool keepdim, const char* op) {
  return shape_without(sizes, reduced_mask(sizes, dims, op), keepdim);
}

Tensor sum(const Tensor& x, const Dims& dims, bool keepdim) {
  Reduction reduction = plan_reduction(x, dims, keepdim, is_floating(x.dtype()) ? x.dtype() : kInt64, "sum");
  dispatch(x.dtype(), "sum", [&]<typename T>() {
    run_sum<T>(reduction, x, Cast<SumAcc<T>, T>{}, Cast<SumOut<T>, SumAcc<T>>{});
  });
  return reduction.out;
}

Tensor mean(const Tensor& x, const Dims& dims, bool keepdim) {
  Reduction reduction = plan_reduction(x, dims, keepdim, x.dtype(), "mean");
  // NOTE: an empty reduction gives 0 / 0 = NaN, as PyTorch.
  const double count = static_cast<double>(reduction.plan.reduced.numel);
  dispatch_floating(x.dtype(), "mean", [&]<typename T>() {
    run_sum<T>(reduction, x, Cast<double, T>{}, [count](double total) { return static_cast<T>(total / count); });
  });
  return reduction.out;
}

Tensor prod(const Tensor& x, const Dims& dims, bool keepdim) {
  Reduction reduction = plan_reduction(x, dims, keepdim, is_floating(x.dtype()) ? x.dtype() : kInt64, "prod");
  dispatch(x.dtype(), "prod", [&]<typename T>() {
    using Acc = SumAcc<T>;
    run_reduction(reduction.plan, input_data<T>(x),
                  fold<T>(Acc{1}, Cast<Acc, T>{}, Times<Acc>{}, Cast<SumOut<T>, Acc>{},
                          reduction.out.data<SumOut<T>>()));
  });
  return reduction.out;
}

Tensor amax(const Tensor& x, const Dims& dims, bool keepdim) { return extreme<true>(x, dims, keepdim, "amax"); }
Tensor amin(const Tensor& x, const Dims& dims, bool keepdim) { return extreme<false>(x, dims, keepdim, "amin"); }
Tensor max(const Tensor& x) { return extreme<true>(x, {}, false, "max"); }
Tensor min(const Tensor& x) { return extreme<false>(x, {}, false, "min"); }

std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim) {
  return extreme_with_index<true>(x, {dim}, keepdim, true, "max");
}
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim) {
  return extreme_with_index<false>(x, {dim}, keepdim, true, "min");
}
Tensor argmax(const Tensor& x) { return extreme_with_index<true>(x, {}, false, false, "argmax").second; }
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  return extreme_with_index<true>(x, {dim}, keepdim, false, "argmax").second;
}
Tensor argmin(const Tensor& x) { return extreme_with_index<false>(x, {}, false, false, "argmin").second; }
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim) {
  return extreme_with_index<false>(x, {dim}, keepdim, false, "argmin").second;
}

Tensor var(const Tensor& x, const Dims& dims, int64_t correction, bool keepdim) {
  return variance(x, dims, correction, keepdim, false, "var");
}
Tensor std(const Tensor& x, const Dims& dims, int64_t correction, bool keepdim) {
  return variance(x, dims, correction, keepdim, true, "std");
}

// The vector p-norm (sum |x|^p)^(1/p), as torch.linalg.vector_norm: p = inf is max |x|,
// p = -inf min |x|, p = 0 the count of nonzeros; p = 1 and 2 skip the pow calls.
Tensor norm(const Tensor& x, double p, const Dims& dims, bool keepdim) {
  Reduction reduction = plan_reduction(x, dims, keepdim, x.dtype(), "norm");
  if (std::isinf(p)) {
    check<ValueError>(reduction.plan.reduced.numel > 0,
                      "norm: cannot compute the {} norm over a dim of size 0 (input shape {}): it has no identity",
                      p, x.sizes());
  }
  dispatch_floating(x.dtype(), "norm", [&]<typename T>() {
    auto to_t = [](double total) { return static_cast<T>(total); };
    auto magnitude = [](T v) { return std::abs(static_cast<double>(v)); };
    const T* data = input_data<T>(x);
    if (p == INFINITY || p == -INFINITY) {
      auto run = [&](auto combine, double init) {
        run_reduction(reduction.plan, data, fold<T>(init, magnitude, combine, to_t, reduction.out.data<T>()));
      };
      if (p > 0) run(MaxNan<double>{}, 0.0);
      else run(MinNan<double>{}, INFINITY);
    } else if (p == 0.0) {
      run_sum<T>(reduction, x, [](T v) { return v != T(0) ? 1.0 : 0.0; }, to_t);
    } else if (p == 1.0) {
      run_sum<T>(reduction, x, magnitude, to_t);
    } else if (p == 2.0) {
      run_sum<T>(reduction, x, [](T v) { return static_cast<double>(v) * static_cast<double>(v); },
                 [](double total) { return static_cast<T>(std::sqrt(total)); });
    } else {
      run_sum<T>(reduction, x, [p](T v) { return std::pow(std::abs(static_cast<double>(v)), p); },
                 [p](double total) { return static_cast<T>(std::pow(total, 1.0 / p)); });
    }
  });
  return reduction.out;
}

Tensor logsumexp(const Tensor& x, const Dims& dims, bool keepdim) {
  Reduction reduction = plan_reduction(x, dims, keepdim, x.dtype(), "logsumexp");
  dispatch_floating(x.dtype(), "logsumexp", [&]<typename T>() {
    run_reduction(reduction.plan, input_data<T>(x), LogSumExpReducer<T>{reduction.out.data<T>()});
  });
  return reduction.out;
}

Tensor all(const Tensor& x, const Dims& dims, bool keepdim) { return logical_reduction<true>(x, dims, keepdim, "all"); }
Tensor any(const Tensor& x, const Dims& dims, bool keepdim) { return logical_reduction<false>(x, dims, keepdim, "any"); }

}  // namespace descent::core
