// TensorImpl and the graph-free parts of Tensor: geometry, element access, requires_grad.
#include <descent/core/tensor.h>

namespace descent {

TensorImpl::TensorImpl(std::shared_ptr<Storage> storage_, const Dims& sizes_, const Dims& strides_, int64_t offset_,
                       DType dtype_)
    : storage(std::move(storage_)), sizes(sizes_), strides(strides_), offset(offset_), dtype(dtype_) {
  detail::count_tensor(+1);
}

TensorImpl::~TensorImpl() { detail::count_tensor(-1); }

// NOTE: a shape with a zero size has no elements but still has strides, the products of the sizes
// after each dim (size 0 counted as 1): [0, 2^32, 2^32] overflows them though numel() is 0.
Dims contiguous_strides(const Dims& sizes) {
  Dims strides = Dims::filled(sizes.size(), 1);
  int64_t running = 1;
  for (int d = sizes.size() - 1; d >= 0; --d) {
    strides[d] = running;
    check<ValueError>(!__builtin_mul_overflow(running, std::max<int64_t>(sizes[d], 1), &running),
                      "contiguous_strides: the strides of shape {} overflow int64", sizes);
  }
  return strides;
}

int wrap_dim(int64_t dim, int ndim, const char* op) {
  // A 0-d tensor accepts dim 0 and -1, as in PyTorch.
  int64_t range = std::max(ndim, 1);
  check<IndexError>(dim >= -range && dim < range, "{}: dim {} out of range for a tensor of {} dims", op, dim,
                    ndim);
  return static_cast<int>(dim < 0 ? dim + range : dim);
}

std::shared_ptr<TensorImpl> detail::new_impl(std::shared_ptr<Storage> storage, const Dims& sizes, const Dims& strides,
                                             int64_t offset, DType dtype) {
  return std::allocate_shared<TensorImpl>(ObjectPool<TensorImpl>(), std::move(storage), sizes, strides, offset,
                                          dtype);
}

namespace {
// Throws unless every size is non-negative and the element count fits in int64.
int64_t checked_numel(const Dims& sizes, const char* op) {
  int64_t n = 1;
  for (int64_t s : sizes) {
    check<ValueError>(s >= 0, "{}: negative size in shape {}", op, sizes);
    check<ValueError>(!__builtin_mul_overflow(n, s, &n), "{}: shape {} has more elements than int64 can count", op,
                      sizes);
  }
  return n;
}
}  // namespace

Tensor Tensor::empty(const Dims& sizes, DType dtype) {
  int64_t bytes = 0;
  check<ValueError>(!__builtin_mul_overflow(checked_numel(sizes, "empty"), descent::element_size(dtype), &bytes),
                    "empty: shape {} of {} is too large", sizes, dtype);
  Dims strides = contiguous_strides(sizes);
  return Tensor(detail::new_impl(Storage::allocate(bytes), sizes, strides, 0, dtype));
}

Tensor Tensor::make_view(std::shared_ptr<Storage> storage, const Dims& sizes, const Dims& strides, int64_t offset,
                         DType dtype) {
  check<ShapeError>(sizes.size() == strides.size(), "view: sizes {} and strides {} differ in length", sizes,
                    strides);
  int64_t n = checked_numel(sizes, "view");
  check<ValueError>(offset >= 0, "view: negative offset {}", offset);
  if (n > 0) {
    // The last element's byte, in 128 bits: hostile strides cannot wrap it back inside the storage.
    __int128 last = offset;
    for (int d = 0; d < sizes.size(); ++d) {
      check<ValueError>(strides[d] >= 0, "view: negative stride in {}", strides);
      last += static_cast<__int128>(sizes[d] - 1) * strides[d];
    }
    check<ValueError>((last + 1) * descent::element_size(dtype) <= storage->nbytes(),
                      "view: sizes {} with strides {} at offset {} reach past a storage of {} bytes", sizes,
                      strides, offset, storage->nbytes());
  }
  return Tensor(detail::new_impl(std::move(storage), sizes, strides, offset, dtype));
}

int64_t Tensor::size(int64_t dim) const { return impl_->sizes[wrap_dim(dim, this->dim(), "size")]; }
int64_t Tensor::stride(int64_t dim) const { return impl_->strides[wrap_dim(dim, this->dim(), "stride")]; }

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (int d = dim() - 1; d >= 0; --d) {
    if (sizes()[d] == 1) continue;  // the stride of a size-1 dim never matters
    if (strides()[d] != expected) return numel() == 0;
    expected *= sizes()[d];
  }
  return true;
}

void* Tensor::raw_data() const {
  return static_cast<char*>(storage()->data()) + offset() * element_size();
}

Tensor& Tensor::requires_grad_(bool requires_grad) {
  check<DTypeError>(!requires_grad || is_floating_point(),
                    "requires_grad_: only floating tensors can require gradients, not {}", dtype());
  impl_->requires_grad = requires_grad;
  return *this;
}

Tensor Tensor::detach() const {
  return Tensor(detail::new_impl(storage(), sizes(), strides(), offset(), dtype()));
}

void detail::check_data_access(const Tensor& t, DType requested, const char* op) {
  check<DTypeError>(t.dtype() == requested, "{}: the tensor holds {}, not {}", op, t.dtype(), requested);
  check<ValueError>(t.is_contiguous(), "{}: the tensor of shape {} with strides {} is not contiguous", op,
                    t.sizes(), t.strides());
}

int64_t detail::flat_offset(const Tensor& t, const Dims& index, const char* op) {
  check<IndexError>(index.size() == t.dim(), "{}: index {} has {} entries for a tensor of shape {}", op, index,
                    index.size(), t.sizes());
  int64_t element = t.offset();
  for (int d = 0; d < t.dim(); ++d) {
    int64_t i = index[d];
    int64_t n = t.sizes()[d];
    check<IndexError>(i >= -n && i < n, "{}: index {} out of range for dim {} of size {} (shape {})", op, i, d, n,
                      t.sizes());
    element += (i < 0 ? i + n : i) * t.strides()[d];
  }
  return element;
}

}  // namespace descent
