// The non-template half of the reduction engine (core/reduction_engine.h): which dims a reduction
// names, and the plan of its kept and reduced axes.
#include <descent/core/reduction_engine.h>

namespace descent::core::reduction {

DimMask reduced_mask(const Dims& sizes, const Dims& dims, const char* op) {
  int ndim = sizes.size();
  if (dims.empty()) return ndim == 0 ? 0 : (DimMask{1} << ndim) - 1;
  DimMask mask = 0;
  for (int64_t dim : dims) {
    int d = wrap_dim(dim, ndim, op);
    check<IndexError>(!(mask & (DimMask{1} << d)), "{}: dim {} appears more than once in dims {}", op, d, dims);
    mask |= DimMask{1} << d;
  }
  return ndim == 0 ? 0 : mask;  // a 0-d tensor accepts dim 0 / -1 and has nothing to reduce
}

Dims shape_without(const Dims& sizes, DimMask mask, bool keepdim) {
  Dims shape;
  for (int d = 0; d < sizes.size(); ++d) {
    bool reduced = mask & (DimMask{1} << d);
    if (!reduced) shape.push_back(sizes[d]);
    else if (keepdim) shape.push_back(1);
  }
  return shape;
}

AxisGroup make_group(const Axis* dims, int count) {
  AxisGroup group;
  Axis sorted[kMaxDims];
  int kept = 0;
  for (int i = count - 1; i >= 0; --i) {
    if (dims[i].size != 1) sorted[kept++] = dims[i];
  }
  for (int i = 1; i < kept; ++i) {  // insertion sort: at most 8 dims
    for (int j = i; j > 0 && stride_key(sorted[j].in_stride) < stride_key(sorted[j - 1].in_stride); --j) {
      std::swap(sorted[j], sorted[j - 1]);
    }
  }
  for (int i = 0; i < kept; ++i) {
    const Axis& axis = sorted[i];
    group.numel *= axis.size;
    if (group.ndim > 0) {
      Axis& inner = group.axes[group.ndim - 1];
      if (axis.in_stride == inner.in_stride * inner.size && axis.out_stride == inner.out_stride * inner.size &&
          axis.index_stride == inner.index_stride * inner.size) {
        inner.size *= axis.size;
        continue;
      }
    }
    group.axes[group.ndim++] = axis;
  }
  if (group.ndim == 0) group.ndim = 1;  // the single axis of size 1 (Axis's defaults)
  return group;
}

ReductionPlan make_plan(const Tensor& x, DimMask mask, const Dims& out_strides) {
  Axis kept[kMaxDims], reduced[kMaxDims];
  int kept_count = 0, reduced_count = 0;
  int64_t index_stride = 1;
  for (int d = x.dim() - 1; d >= 0; --d) {  // index strides: row-major over the reduced dims
    if (mask & (DimMask{1} << d)) {
      reduced[reduced_count++] = {x.sizes()[d], x.strides()[d], out_strides[d], index_stride};
      index_stride *= x.sizes()[d];
    } else {
      kept[kept_count++] = {x.sizes()[d], x.strides()[d], out_strides[d], 0};
    }
  }
  std::reverse(kept, kept + kept_count);  // make_group takes dims outermost first
  std::reverse(reduced, reduced + reduced_count);
  ReductionPlan plan{make_group(kept, kept_count), make_group(reduced, reduced_count)};
  if (plan.kept.numel == 1) {
    plan.reduces_innermost = true;  // one output: every reduced axis is a run of it
  } else if (plan.reduced.numel <= 1) {
    plan.reduces_innermost = false;  // nothing to fold: a map over the kept tile
  } else {
    plan.reduces_innermost =
        stride_key(plan.reduced.axes[0].in_stride) <= stride_key(plan.kept.axes[0].in_stride);
  }
  return plan;
}

}  // namespace descent::core::reduction
