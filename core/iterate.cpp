// Broadcasting and the geometry of ElementwiseLoop (reorder, drop size-1 dims, coalesce).
#include "core/iterate.h"

#include <numeric>

namespace descent {

Dims broadcast_shapes(const Dims& a, const Dims& b, const char* op) {
  int n = std::max(a.size(), b.size());
  Dims out = Dims::filled(n, 1);
  for (int i = 0; i < n; ++i) {
    int64_t sa = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t sb = i < n - b.size() ? 1 : b[i - (n - b.size())];
    check<ShapeError>(sa == sb || sa == 1 || sb == 1, "{}: shapes {} and {} cannot be broadcast together", op, a,
                      b);
    out[i] = sa == 1 ? sb : sa;
  }
  return out;
}

ElementwiseLoop::ElementwiseLoop(const Tensor& out, std::initializer_list<Tensor> inputs) {
  check<Error>(inputs.size() + 1 <= kMaxOperands, "elementwise: {} operands, at most {}", inputs.size() + 1,
               kMaxOperands);
  const Dims& shape = out.sizes();
  const int ndim = shape.size();
  operands_ = static_cast<int>(inputs.size()) + 1;
  numel_ = out.numel();

  // Byte strides of every operand over the output's dims (outermost first); 0 where broadcast.
  int64_t strides[kMaxDims][kMaxOperands] = {};
  auto add_operand = [&](int k, const Tensor& t) {
    base_[k] = static_cast<char*>(t.raw_data());
    int lead = ndim - t.dim();
    check<ShapeError>(lead >= 0, "elementwise: input of shape {} does not broadcast to {}", t.sizes(), shape);
    for (int d = 0; d < t.dim(); ++d) {
      int64_t size = t.sizes()[d];
      check<ShapeError>(size == shape[lead + d] || size == 1,
                        "elementwise: input of shape {} does not broadcast to {}", t.sizes(), shape);
      strides[lead + d][k] = size == 1 ? 0 : t.strides()[d] * t.element_size();
    }
  };
  add_operand(0, out);
  int k = 1;
  for (const Tensor& t : inputs) add_operand(k++, t);

  // Order dims innermost first by the output's stride (then the inputs'), a stable sort that
  // keeps the row-major order for ties. Size-1 dims are dropped (their stride never matters).
  int order[kMaxDims];
  int kept = 0;
  for (int d = ndim - 1; d >= 0; --d) {
    if (shape[d] != 1) order[kept++] = d;
  }
  auto inner_than = [&](int a, int b) {  // whether dim a should be more inner than dim b
    for (int op = 0; op < operands_; ++op) {
      int64_t sa = strides[a][op], sb = strides[b][op];
      if (sa == 0 || sb == 0) continue;
      if (sa != sb) return sa < sb;
    }
    return false;
  };
  for (int i = 1; i < kept; ++i) {  // insertion sort: at most 8 dims
    for (int j = i; j > 0 && inner_than(order[j], order[j - 1]); --j) std::swap(order[j], order[j - 1]);
  }

  // Coalesce neighbours that are one contiguous run for every operand.
  ndim_ = 0;
  for (int i = 0; i < kept; ++i) {
    int d = order[i];
    if (ndim_ > 0) {
      bool mergeable = true;
      for (int op = 0; op < operands_; ++op) {
        if (strides[d][op] != strides_[ndim_ - 1][op] * shape_[ndim_ - 1]) mergeable = false;
      }
      if (mergeable) {
        shape_[ndim_ - 1] *= shape[d];
        continue;
      }
    }
    shape_[ndim_] = shape[d];
    for (int op = 0; op < operands_; ++op) strides_[ndim_][op] = strides[d][op];
    ++ndim_;
  }
  if (ndim_ == 0) {  // a 0-d tensor or all dims of size 1: one run of one element
    ndim_ = 1;
    shape_[0] = 1;
  }
}

}  // namespace descent
