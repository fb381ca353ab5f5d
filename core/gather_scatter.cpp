// gather, scatter, scatter_add, index_select and index_add with PyTorch 1.13 semantics: gathers
// run on ElementwiseLoop (core/iterate.h), scatters one line along dim per thread (no races).
#include <descent/core/indexing.h>

#include <cstring>
#include <type_traits>

#include <descent/core/factory.h>
#include <descent/core/iterate.h>
#include <descent/core/views.h>

#include <descent/core/indexing_walk.h>

namespace descent::core {
namespace {

using namespace indexing;

// out[p] = x[p with its coordinate along dim replaced by index[p]], for every position p of out
// (index has out's shape; it may be a broadcast view). Walked in out's memory order.
void gather_elements(const Tensor& out, const Tensor& index, const Tensor& x, int dim, const char* op) {
  // x seen with out's shape and stride 0 along dim: it points at the start of each line along dim.
  Dims x_strides = x.strides();
  x_strides[dim] = 0;
  const Tensor x_lines = Tensor::make_view(x.storage(), out.sizes(), x_strides, x.offset(), x.dtype());
  const int64_t limit = x.size(dim);
  const int64_t step = x.stride(dim) * x.element_size();
  ElementwiseLoop loop(out, {index, x_lines});
  dispatch(x.dtype(), op, [&]<typename T>() {
    loop.run([&](char* const* p, const int64_t* s, int64_t n) {
      if (s[1] == 0) {  // one index for the whole run: a block copy (index_select of rows)
        const char* from = p[2] + checked_index(*reinterpret_cast<const int64_t*>(p[1]), limit, dim, op) * step;
        if (s[0] == sizeof(T) && s[2] == sizeof(T)) {
          std::memcpy(p[0], from, static_cast<size_t>(n) * sizeof(T));
        } else {
          for (int64_t i = 0; i < n; ++i) {
            *reinterpret_cast<T*>(p[0] + i * s[0]) = *reinterpret_cast<const T*>(from + i * s[2]);
          }
        }
        return;
      }
      for (int64_t i = 0; i < n; ++i) {
        int64_t k = checked_index(*reinterpret_cast<const int64_t*>(p[1] + i * s[1]), limit, dim, op);
        *reinterpret_cast<T*>(p[0] + i * s[0]) = *reinterpret_cast<const T*>(p[2] + i * s[2] + k * step);
      }
    });
  });
}

// target[i][index[i][j][k]][k] = combine(that, src[i][j][k]) for dim = 1, likewise for any dim, at
// every position of index's shape (src has at least that shape; it may be a broadcast view).
// NOTE: one thread walks a whole line along dim, and different lines write disjoint parts of
// target, so duplicate indices never race; along a line later positions win (scatter) or add up.
template <typename T, typename Combine>
void scatter_lines(const Tensor& target, int dim, const Tensor& index, const Tensor& src, const char* op,
                   const Combine& combine) {
  Dims outer = index.sizes();
  const int64_t length = outer[dim];
  outer[dim] = 1;
  if (index.numel() == 0) return;
  const int64_t limit = target.size(dim);
  const int64_t index_step = index.stride(dim), src_step = src.stride(dim), target_step = target.stride(dim);
  const int64_t* index_data = data_of<const int64_t>(index);
  const T* src_data = data_of<const T>(src);
  T* target_data = data_of<T>(target);
  for_each_line(outer, {index.strides(), src.strides(), target.strides()}, length,
                [&](int64_t, const Cursor& at) {
                  const int64_t* line_index = index_data + at[0];
                  const T* line_src = src_data + at[1];
                  T* line_target = target_data + at[2];
                  for (int64_t j = 0; j < length; ++j) {
                    int64_t k = checked_index(line_index[j * index_step], limit, dim, op);
                    combine(line_target[k * target_step], line_src[j * src_step]);
                  }
                });
}

// slot += alpha * value (for bool: slot |= alpha & value, as PyTorch adds bools).
template <typename T>
auto add_scaled(T alpha) {
  return [alpha](T& slot, T value) {
    if constexpr (std::is_same_v<T, bool>) {
      slot = slot || (alpha && value);
    } else {
      slot += alpha * value;
    }
  };
}

template <typename T>
void assign(T& slot, T value) {
  slot = value;
}

// The shared body of scatter with a tensor or a broadcast scalar source: a contiguous copy of x
// with src's elements written at index.
Tensor scatter_copy(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src, const char* op) {
  Tensor out = core::clone(x);
  int d = wrap_dim(dim, x.dim(), op);
  dispatch(x.dtype(), op, [&]<typename T>() {
    scatter_lines<T>(at_least_1d(out), d, at_least_1d(index), at_least_1d(src), op, assign<T>);
  });
  return out;
}

void check_scatter_args(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src, const char* op) {
  check_index_dtype(index, op);
  check<DTypeError>(src.dtype() == x.dtype(), "{}: src of dtype {} differs from x of dtype {}", op, src.dtype(),
                    x.dtype());
  check_index_shape(x, wrap_dim(dim, x.dim(), op), index, &src, op);
}

}  // namespace

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  check_index_dtype(index, "gather");
  const int d = wrap_dim(dim, x.dim(), "gather");
  check_index_shape(x, d, index, nullptr, "gather");
  Tensor out = core::empty(index.sizes(), {.dtype = x.dtype()});
  gather_elements(at_least_1d(out), at_least_1d(index), at_least_1d(x), d, "gather");
  return out;
}

Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  check_scatter_args(x, dim, index, src, "scatter");
  return scatter_copy(x, dim, index, src, "scatter");
}

Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Scalar& value) {
  check_index_dtype(index, "scatter");
  check_index_shape(x, wrap_dim(dim, x.dim(), "scatter"), index, nullptr, "scatter");
  const Tensor src = core::expand(core::full({}, value, {.dtype = x.dtype()}), index.sizes());
  return scatter_copy(x, dim, index, src, "scatter");
}

Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  check_scatter_args(x, dim, index, src, "scatter_add");
  Tensor out = core::clone(x);
  scatter_add_(out, dim, index, src);
  return out;
}

void scatter_add_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  check_scatter_args(x, dim, index, src, "scatter_add_");
  check_writable(x, "scatter_add_");
  const int d = wrap_dim(dim, x.dim(), "scatter_add_");
  x.bump_version();
  dispatch(x.dtype(), "scatter_add_", [&]<typename T>() {
    scatter_lines<T>(at_least_1d(x), d, at_least_1d(index), at_least_1d(src), "scatter_add_", add_scaled<T>(1));
  });
}

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  const Tensor index1d = index_vector(index, "index_select");
  const int d = wrap_dim(dim, x.dim(), "index_select");
  if (x.dim() == 0) {
    // NOTE: PyTorch returns a 0-d copy of a 0-d x for any index whose values are all 0.
    for (int64_t i : index1d.to_vector<int64_t>()) checked_index(i, 1, 0, "index_select");
    return core::clone(x);
  }
  Dims out_sizes = x.sizes();
  out_sizes[d] = index1d.numel();
  Tensor out = core::empty(out_sizes, {.dtype = x.dtype()});
  if (out.numel() > 0) gather_elements(out, index_along(index1d, out_sizes, d), x, d, "index_select");
  return out;
}

Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source, const Scalar& alpha) {
  Tensor out = core::clone(x);
  index_add_(out, dim, index, source, alpha);
  return out;
}

void index_add_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source, const Scalar& alpha) {
  const Tensor index1d = index_vector(index, "index_add_");
  check<DTypeError>(source.dtype() == x.dtype(), "index_add_: source of dtype {} differs from x of dtype {}",
                    source.dtype(), x.dtype());
  const int d = wrap_dim(dim, x.dim(), "index_add_");
  const Tensor x1 = at_least_1d(x), source1 = at_least_1d(source);
  bool fits = x1.dim() == source1.dim();
  for (int k = 0; fits && k < x1.dim(); ++k) fits = k == d || x1.size(k) == source1.size(k);
  check<ShapeError>(fits, "index_add_: source of shape {} does not match x of shape {} outside dim {}",
                    source.sizes(), x.sizes(), d);
  check<ShapeError>(source1.size(d) == index1d.numel(),
                    "index_add_: index has {} elements but source of shape {} has size {} along dim {}",
                    index1d.numel(), source.sizes(), source1.size(d), d);
  check_writable(x, "index_add_");
  x.bump_version();
  dispatch(x.dtype(), "index_add_", [&]<typename T>() {
    scatter_lines<T>(x1, d, index_along(index1d, source1.sizes(), d), source1, "index_add_",
                     add_scaled<T>(alpha.to<T>()));
  });
}

}  // namespace descent::core
