// Views (new sizes/strides/offset over the same storage) and copies between tensors of any
// geometry and dtype. A view never copies; reshape and flatten copy only when no strides can
// express the new shape over the old storage.
#include <descent/core/views.h>

#include <cstring>

#include <descent/core/iterate.h>

namespace descent::core {

namespace {

Tensor restride(const Tensor& t, const Dims& sizes, const Dims& strides, int64_t offset) {
  return Tensor(descent::detail::new_impl(t.storage(), sizes, strides, offset, t.dtype()));
}

// Sizes with one -1 resolved so that they hold `numel` elements.
Dims infer_sizes(const Dims& sizes, int64_t numel, const char* op, const Dims& input_sizes) {
  Dims out = sizes;
  int inferred = -1;
  int64_t known = 1;
  for (int d = 0; d < sizes.size(); ++d) {
    if (sizes[d] == -1) {
      check<ShapeError>(inferred < 0, "{}: shape {} has more than one -1", op, sizes);
      inferred = d;
    } else {
      check<ValueError>(sizes[d] >= 0, "{}: negative size in shape {}", op, sizes);
      known *= sizes[d];
    }
  }
  if (inferred >= 0) {
    check<ShapeError>(known != 0 && numel % known == 0, "{}: shape {} is invalid for input {} of {} elements", op,
                      sizes, input_sizes, numel);
    out[inferred] = numel / known;
  } else {
    check<ShapeError>(known == numel, "{}: shape {} is invalid for input {} of {} elements", op, sizes,
                      input_sizes, numel);
  }
  return out;
}

// Strides that lay `new_sizes` over memory with old sizes/strides, if any exist. Old dims are
// taken in chunks that are contiguous among themselves; each chunk must be split exactly.
std::optional<Dims> view_strides(Dims old_sizes, Dims old_strides, const Dims& new_sizes) {
  if (old_sizes.product() == 0) return contiguous_strides(new_sizes);
  if (old_sizes.empty()) {
    old_sizes = {1};
    old_strides = {1};
  }
  Dims new_strides = Dims::filled(new_sizes.size(), 1);
  int view_d = new_sizes.size() - 1;
  int64_t chunk_base_stride = old_strides.back();
  int64_t tensor_numel = 1;
  int64_t view_numel = 1;
  for (int tensor_d = old_sizes.size() - 1; tensor_d >= 0; --tensor_d) {
    tensor_numel *= old_sizes[tensor_d];
    bool chunk_ends = tensor_d == 0 || (old_sizes[tensor_d - 1] != 1 &&
                                        old_strides[tensor_d - 1] != tensor_numel * chunk_base_stride);
    if (!chunk_ends) continue;
    while (view_d >= 0 && (view_numel < tensor_numel || new_sizes[view_d] == 1)) {
      new_strides[view_d] = view_numel * chunk_base_stride;
      view_numel *= new_sizes[view_d];
      --view_d;
    }
    if (view_numel != tensor_numel) return std::nullopt;
    if (tensor_d > 0) {
      chunk_base_stride = old_strides[tensor_d - 1];
      tensor_numel = 1;
      view_numel = 1;
    }
  }
  if (view_d != -1) return std::nullopt;
  return new_strides;
}

}  // namespace

Tensor as_strided(const Tensor& t, const Dims& sizes, const Dims& strides, int64_t offset) {
  return Tensor::make_view(t.storage(), sizes, strides, offset, t.dtype());
}

Tensor view(const Tensor& t, const Dims& sizes) {
  Dims target = infer_sizes(sizes, t.numel(), "view", t.sizes());
  std::optional<Dims> strides = view_strides(t.sizes(), t.strides(), target);
  check<ShapeError>(strides.has_value(),
                    "view: shape {} is not compatible with input {} of strides {} (a view cannot express it); "
                    "use reshape",
                    sizes, t.sizes(), t.strides());
  return restride(t, target, *strides, t.offset());
}

Tensor reshape(const Tensor& t, const Dims& sizes) {
  Dims target = infer_sizes(sizes, t.numel(), "reshape", t.sizes());
  if (std::optional<Dims> strides = view_strides(t.sizes(), t.strides(), target)) {
    return restride(t, target, *strides, t.offset());
  }
  Tensor copy = clone(t);
  return restride(copy, target, contiguous_strides(target), 0);
}

Tensor permute(const Tensor& t, const Dims& order) {
  check<IndexError>(order.size() == t.dim(), "permute: order {} has {} entries for a tensor of shape {}", order,
                    order.size(), t.sizes());
  Dims sizes = Dims::filled(t.dim(), 0), strides = Dims::filled(t.dim(), 0);
  bool seen[kMaxDims] = {};
  for (int i = 0; i < t.dim(); ++i) {
    int d = wrap_dim(order[i], t.dim(), "permute");
    check<IndexError>(!seen[d], "permute: order {} repeats dim {} (shape {})", order, d, t.sizes());
    seen[d] = true;
    sizes[i] = t.sizes()[d];
    strides[i] = t.strides()[d];
  }
  return restride(t, sizes, strides, t.offset());
}

Tensor transpose(const Tensor& t, int64_t dim0, int64_t dim1) {
  if (t.dim() == 0) {
    wrap_dim(dim0, 0, "transpose");
    wrap_dim(dim1, 0, "transpose");
    return restride(t, t.sizes(), t.strides(), t.offset());
  }
  int a = wrap_dim(dim0, t.dim(), "transpose"), b = wrap_dim(dim1, t.dim(), "transpose");
  Dims sizes = t.sizes(), strides = t.strides();
  std::swap(sizes[a], sizes[b]);
  std::swap(strides[a], strides[b]);
  return restride(t, sizes, strides, t.offset());
}

Tensor t(const Tensor& x) {
  check<ShapeError>(x.dim() <= 2, "t: expects a tensor of at most 2 dims, got shape {}", x.sizes());
  return x.dim() < 2 ? restride(x, x.sizes(), x.strides(), x.offset()) : transpose(x, 0, 1);
}

Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length) {
  check<ShapeError>(t.dim() > 0, "narrow: cannot narrow a 0-d tensor");
  int d = wrap_dim(dim, t.dim(), "narrow");
  int64_t size = t.sizes()[d];
  check<IndexError>(start >= -size && start <= size, "narrow: start {} out of range for dim {} of size {} (shape {})",
                    start, d, size, t.sizes());
  if (start < 0) start += size;
  check<ValueError>(length >= 0 && start + length <= size,
                    "narrow: start {} + length {} exceeds dim {} of size {} (shape {})", start, length, d, size,
                    t.sizes());
  return slice(t, d, start, start + length, 1);
}

Tensor slice(const Tensor& t, int64_t dim, int64_t start, int64_t end, int64_t step) {
  check<ShapeError>(t.dim() > 0, "slice: cannot slice a 0-d tensor");
  check<ValueError>(step > 0, "slice: step must be positive, got {}", step);
  int d = wrap_dim(dim, t.dim(), "slice");
  int64_t size = t.sizes()[d];
  auto clamp_index = [size](int64_t i) {
    if (i < 0) i += size;
    return std::clamp<int64_t>(i, 0, size);
  };
  start = clamp_index(start);
  end = std::max(clamp_index(end), start);
  Dims sizes = t.sizes(), strides = t.strides();
  sizes[d] = (end - start + step - 1) / step;
  strides[d] = t.strides()[d] * step;
  int64_t offset = t.offset() + (sizes[d] > 0 ? start * t.strides()[d] : 0);
  return restride(t, sizes, strides, offset);
}

Tensor select(const Tensor& t, int64_t dim, int64_t index) {
  check<IndexError>(t.dim() > 0, "select: cannot index a 0-d tensor");
  int d = wrap_dim(dim, t.dim(), "select");
  int64_t size = t.sizes()[d];
  check<IndexError>(index >= -size && index < size, "select: index {} out of range for dim {} of size {} (shape {})",
                    index, d, size, t.sizes());
  if (index < 0) index += size;
  Dims sizes = t.sizes(), strides = t.strides();
  sizes.erase(d);
  strides.erase(d);
  return restride(t, sizes, strides, t.offset() + index * t.strides()[d]);
}

Tensor expand(const Tensor& t, const Dims& sizes) {
  check<ShapeError>(sizes.size() >= t.dim(), "expand: shape {} has fewer dims than the input {}", sizes, t.sizes());
  int lead = sizes.size() - t.dim();
  Dims out_sizes = sizes, out_strides = Dims::filled(sizes.size(), 0);
  for (int d = 0; d < sizes.size(); ++d) {
    if (d < lead) {
      check<ShapeError>(sizes[d] >= 0, "expand: shape {} has {} in a new leading dim of input {}", sizes, sizes[d],
                        t.sizes());
      continue;  // new leading dims broadcast with stride 0
    }
    int64_t own = t.sizes()[d - lead];
    if (sizes[d] == -1) {
      out_sizes[d] = own;
      out_strides[d] = t.strides()[d - lead];
    } else if (own == sizes[d]) {
      out_strides[d] = t.strides()[d - lead];
    } else {
      check<ShapeError>(own == 1 && sizes[d] >= 0,
                        "expand: input {} cannot be expanded to {} (dim {} has size {}, not 1)", t.sizes(), sizes,
                        d - lead, own);
    }
  }
  return restride(t, out_sizes, out_strides, t.offset());
}

Tensor broadcast_to(const Tensor& t, const Dims& sizes) { return expand(t, sizes); }

Tensor squeeze(const Tensor& t) {
  Dims sizes, strides;
  for (int d = 0; d < t.dim(); ++d) {
    if (t.sizes()[d] == 1) continue;
    sizes.push_back(t.sizes()[d]);
    strides.push_back(t.strides()[d]);
  }
  return restride(t, sizes, strides, t.offset());
}

Tensor squeeze(const Tensor& t, int64_t dim) {
  int d = wrap_dim(dim, t.dim(), "squeeze");
  Dims sizes = t.sizes(), strides = t.strides();
  if (t.dim() > 0 && sizes[d] == 1) {
    sizes.erase(d);
    strides.erase(d);
  }
  return restride(t, sizes, strides, t.offset());
}

Tensor unsqueeze(const Tensor& t, int64_t dim) {
  int d = wrap_dim(dim, t.dim() + 1, "unsqueeze");
  Dims sizes = t.sizes(), strides = t.strides();
  int64_t stride = d < t.dim() ? t.strides()[d] * t.sizes()[d] : 1;
  sizes.insert(d, 1);
  strides.insert(d, stride);
  return restride(t, sizes, strides, t.offset());
}

Tensor flatten(const Tensor& t, int64_t start_dim, int64_t end_dim) {
  if (t.dim() == 0) return reshape(t, {1});
  int start = wrap_dim(start_dim, t.dim(), "flatten"), end = wrap_dim(end_dim, t.dim(), "flatten");
  check<IndexError>(start <= end, "flatten: start_dim {} comes after end_dim {} (shape {})", start_dim, end_dim,
                    t.sizes());
  Dims sizes;
  for (int d = 0; d < start; ++d) sizes.push_back(t.sizes()[d]);
  int64_t merged = 1;
  for (int d = start; d <= end; ++d) merged *= t.sizes()[d];
  sizes.push_back(merged);
  for (int d = end + 1; d < t.dim(); ++d) sizes.push_back(t.sizes()[d]);
  return reshape(t, sizes);
}

Tensor unflatten(const Tensor& t, int64_t dim, const Dims& sizes) {
  check<ShapeError>(t.dim() > 0, "unflatten: cannot unflatten a 0-d tensor");
  int d = wrap_dim(dim, t.dim(), "unflatten");
  check<ShapeError>(!sizes.empty(), "unflatten: empty sizes for dim {} of shape {}", d, t.sizes());
  Dims split = infer_sizes(sizes, t.sizes()[d], "unflatten", t.sizes());
  Dims out_sizes, out_strides;
  for (int i = 0; i < d; ++i) {
    out_sizes.push_back(t.sizes()[i]);
    out_strides.push_back(t.strides()[i]);
  }
  Dims split_strides = Dims::filled(split.size(), 0);
  int64_t stride = t.strides()[d];
  for (int i = split.size() - 1; i >= 0; --i) {
    split_strides[i] = stride;
    stride *= split[i];
  }
  for (int i = 0; i < split.size(); ++i) {
    out_sizes.push_back(split[i]);
    out_strides.push_back(split_strides[i]);
  }
  for (int i = d + 1; i < t.dim(); ++i) {
    out_sizes.push_back(t.sizes()[i]);
    out_strides.push_back(t.strides()[i]);
  }
  return restride(t, out_sizes, out_strides, t.offset());
}

Tensor contiguous(const Tensor& t) { return t.is_contiguous() ? t : clone(t); }

Tensor clone(const Tensor& t) {
  Tensor out = Tensor::empty(t.sizes(), t.dtype());
  copy_(out, t);
  return out;
}

namespace {
// Whether two tensors on one storage touch a common byte range (a cheap, conservative test).
bool may_overlap(const Tensor& a, const Tensor& b) {
  if (!a.shares_storage(b) || a.numel() == 0 || b.numel() == 0) return false;
  auto extent = [](const Tensor& t) {
    int64_t last = t.offset();
    for (int d = 0; d < t.dim(); ++d) last += (t.sizes()[d] - 1) * t.strides()[d];
    return std::pair<int64_t, int64_t>{t.offset() * t.element_size(), (last + 1) * t.element_size()};
  };
  auto [a_begin, a_end] = extent(a);
  auto [b_begin, b_end] = extent(b);
  return a_begin < b_end && b_begin < a_end;
}

bool same_geometry(const Tensor& a, const Tensor& b) {
  return a.shares_storage(b) && a.offset() == b.offset() && a.sizes() == b.sizes() && a.strides() == b.strides() &&
         a.dtype() == b.dtype();
}
}  // namespace

void copy_(const Tensor& dst, const Tensor& src) {
  Dims shape = broadcast_shapes(dst.sizes(), src.sizes(), "copy_");
  check<ShapeError>(shape == dst.sizes(), "copy_: source of shape {} does not broadcast to destination {}",
                    src.sizes(), dst.sizes());
  dst.bump_version();
  if (same_geometry(dst, src)) return;
  // NOTE: a source that overlaps the destination in another layout is read fully first.
  const Tensor source = may_overlap(dst, src) ? clone(src) : src;
  if (dst.dtype() == source.dtype() && dst.is_contiguous() && source.is_contiguous() &&
      dst.sizes() == source.sizes()) {
    std::memcpy(dst.raw_data(), source.raw_data(), static_cast<size_t>(dst.numel() * dst.element_size()));
    return;
  }
  ElementwiseLoop loop(dst, {source});
  dispatch(dst.dtype(), "copy_", [&]<typename D>() {
    dispatch(source.dtype(), "copy_", [&]<typename S>() {
      map_elementwise<D, S>(loop, [](S v) { return static_cast<D>(v); });
    });
  });
}

void fill_(const Tensor& dst, const Scalar& value) {
  dst.bump_version();
  ElementwiseLoop loop(dst, {});
  dispatch(dst.dtype(), "fill_", [&]<typename T>() {
    T v = value.to<T>();
    map_elementwise<T>(loop, [v]() { return v; });
  });
}

Tensor to(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out = Tensor::empty(t.sizes(), dtype);
  copy_(out, t);
  return out;
}

}  // namespace descent::core
