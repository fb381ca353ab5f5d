// Tensor: a cheap handle (one shared_ptr) to a TensorImpl, which is a strided view of a Storage:
// sizes, strides and offset in elements, a dtype, and the autograd slot. Copying a Tensor copies
// the handle; views share storage. Read this file first, then core/iterate.h.
//
// The op methods declared at the bottom (t.sum(), t.view(...), ...) are the public, differentiable
// ops; they are defined in autograd/tensor_methods.cpp. Code inside core/ never calls them: it
// calls the graph-free kernels in namespace descent::core (core/*.h).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include <descent/core/dims.h>
#include <descent/core/dtype.h>
#include <descent/core/error.h>
#include <descent/core/storage.h>

namespace descent {

namespace autograd {
struct AutogradMeta;  // grad, grad_fn, hooks: defined by autograd/, opaque to core
class Node;
}

// Options of every factory: tensor({1, 2}, {.dtype = kFloat64, .requires_grad = true}).
// Without a dtype, factories use float32, except those that infer it from their values
// (tensor() from a list, full(), arange(), randint(), randperm()), as PyTorch does.
struct TensorOptions {
  std::optional<DType> dtype = std::nullopt;
  bool requires_grad = false;
};

struct TensorImpl {
  TensorImpl(std::shared_ptr<Storage> storage, const Dims& sizes, const Dims& strides, int64_t offset, DType dtype);
  ~TensorImpl();
  TensorImpl(const TensorImpl&) = delete;
  TensorImpl& operator=(const TensorImpl&) = delete;

  std::shared_ptr<Storage> storage;
  Dims sizes;
  Dims strides;         // in elements; may be 0 (broadcast) but never negative
  int64_t offset = 0;   // in elements from the start of storage
  DType dtype;
  bool requires_grad = false;
  std::shared_ptr<autograd::AutogradMeta> autograd;  // null until autograd needs it
};

// Contiguous (row-major) strides of a shape.
Dims contiguous_strides(const Dims& sizes);
// `dim` wrapped into [0, ndim): -1 is the last dim. Throws IndexError naming `op` otherwise.
int wrap_dim(int64_t dim, int ndim, const char* op);

class Tensor {
 public:
  Tensor() = default;  // an undefined tensor (no impl); defined() is false
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // A new tensor with its own uninitialised contiguous storage.
  static Tensor empty(const Dims& sizes, DType dtype);
  // A tensor viewing `storage` with the given geometry (no copy). Checks the view fits.
  static Tensor make_view(std::shared_ptr<Storage> storage, const Dims& sizes, const Dims& strides,
                          int64_t offset, DType dtype);

  bool defined() const { return impl_ != nullptr; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  // Two handles to the same TensorImpl.
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }

  // ---- geometry ----
  const Dims& sizes() const { return impl_->sizes; }
  const Dims& shape() const { return impl_->sizes; }
  const Dims& strides() const { return impl_->strides; }
  int64_t size(int64_t dim) const;    // negative dims count from the end
  int64_t stride(int64_t dim) const;
  int dim() const { return impl_->sizes.size(); }
  int64_t numel() const { return impl_->sizes.product(); }
  int64_t offset() const { return impl_->offset; }
  DType dtype() const { return impl_->dtype; }
  int64_t element_size() const { return descent::element_size(impl_->dtype); }
  bool is_floating_point() const { return is_floating(impl_->dtype); }
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const { return impl_->storage; }
  // Whether this tensor and `other` view the same storage.
  bool shares_storage(const Tensor& other) const { return impl_->storage == other.impl_->storage; }

  // ---- element access ----
  // Pointer to the first element (storage start + offset), whatever the strides.
  void* raw_data() const;
  // Typed pointer; the tensor must be contiguous and of dtype T (else DTypeError / ValueError).
  template <typename T> T* data() const;
  // The single element, converted to T. The tensor must have exactly one element.
  template <typename T> T item() const;
  // All elements in row-major order, converted to T, whatever the strides.
  template <typename T> std::vector<T> to_vector() const;
  // The element at a full index (negative indices count from the end), converted to T.
  template <typename T = double> T at(const Dims& index) const;

  // ---- autograd slot (requires_grad lives here; the rest is defined in autograd/) ----
  bool requires_grad() const { return impl_->requires_grad; }
  // Sets requires_grad; only floating tensors may require gradients.
  Tensor& requires_grad_(bool requires_grad = true);
  // The rest of the slot is defined in autograd/graph.cpp:
  Tensor grad() const;                      // the accumulated gradient (undefined if none yet)
  void set_grad(const Tensor& grad) const;  // replace it (undefined clears it)
  std::shared_ptr<autograd::Node> grad_fn() const;  // the node that made this tensor; null for leaves
  bool is_leaf() const;
  uint32_t output_nr() const;               // which output of grad_fn this tensor is
  Tensor& retain_grad();                    // a non-leaf keeps its .grad after backward
  bool retains_grad() const;
  // Runs when this tensor's gradient is computed; may return a replacement (or an undefined
  // Tensor to keep it). Returns an id for remove_hook.
  int register_hook(std::function<Tensor(const Tensor&)> hook);
  // Runs right after a leaf's .grad was updated by backward; receives the leaf.
  int register_post_accumulate_grad_hook(std::function<void(const Tensor&)> hook);
  void remove_hook(int id);
  // Backward from this tensor: a scalar, or any tensor with an explicit gradient.
  void backward(const Tensor& gradient = Tensor(), std::optional<bool> retain_graph = std::nullopt,
                bool create_graph = false) const;
  // In-place writes through this tensor call this: it bumps the storage's version counter.
  void bump_version() const { impl_->storage->bump_version(); }
  uint64_t version() const { return impl_->storage->version(); }

  // ---- views (share storage) ----
  Tensor view(const Dims& sizes) const;           // one size may be -1
  Tensor reshape(const Dims& sizes) const;        // a view when the strides allow, else a copy
  Tensor permute(const Dims& order) const;
  Tensor transpose(int64_t dim0, int64_t dim1) const;
  Tensor t() const;                               // transpose of a 0-, 1- or 2-d tensor
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  // Python-style dim slice: start/end clamped, negative counted from the end, step > 0.
  Tensor slice(int64_t dim, int64_t start = 0, int64_t end = INT64_MAX, int64_t step = 1) const;
  Tensor select(int64_t dim, int64_t index) const;  // removes `dim`
  Tensor operator[](int64_t index) const;           // select(0, index)
  Tensor expand(const Dims& sizes) const;           // -1 keeps a size
  Tensor expand_as(const Tensor& other) const;
  Tensor broadcast_to(const Dims& sizes) const;
  Tensor squeeze() const;
  Tensor squeeze(int64_t dim) const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor unflatten(int64_t dim, const Dims& sizes) const;
  Tensor contiguous() const;  // itself when already contiguous
  Tensor clone() const;       // a contiguous copy
  Tensor to(DType dtype) const;  // itself when already of that dtype
  Tensor detach() const;      // the same storage and geometry, requires_grad false, no graph

  // ---- in place (respect views; bump the version) ----
  Tensor& copy_(const Tensor& src);  // src broadcast to this shape, converted to this dtype
  Tensor& fill_(const Scalar& value);
  Tensor& zero_();
  Tensor& add_(const Tensor& other, const Scalar& alpha = 1);
  Tensor& add_(const Scalar& other);
  Tensor& sub_(const Tensor& other, const Scalar& alpha = 1);
  Tensor& sub_(const Scalar& other);
  Tensor& mul_(const Tensor& other);
  Tensor& mul_(const Scalar& other);
  Tensor& div_(const Tensor& other);
  Tensor& div_(const Scalar& other);
  Tensor& clamp_(std::optional<Scalar> min, std::optional<Scalar> max);
  Tensor& masked_fill_(const Tensor& mask, const Scalar& value);
  Tensor& uniform_(double low = 0.0, double high = 1.0);
  Tensor& normal_(double mean = 0.0, double std = 1.0);

  // ---- math (see the free functions of the same names) ----
  Tensor neg() const;
  Tensor abs() const;
  Tensor exp() const;
  Tensor log() const;
  Tensor sqrt() const;
  Tensor square() const;
  Tensor tanh() const;
  Tensor sigmoid() const;
  Tensor relu() const;
  Tensor pow(const Scalar& exponent) const;
  Tensor pow(const Tensor& exponent) const;
  Tensor clamp(std::optional<Scalar> min, std::optional<Scalar> max) const;
  Tensor matmul(const Tensor& other) const;
  Tensor mm(const Tensor& other) const;

  // ---- reductions ----
  Tensor sum() const;
  Tensor sum(const Dims& dims, bool keepdim = false) const;
  Tensor mean() const;
  Tensor mean(const Dims& dims, bool keepdim = false) const;
  Tensor prod() const;
  Tensor max() const;
  std::pair<Tensor, Tensor> max(int64_t dim, bool keepdim = false) const;  // values, indices
  Tensor min() const;
  std::pair<Tensor, Tensor> min(int64_t dim, bool keepdim = false) const;
  Tensor argmax() const;
  Tensor argmax(int64_t dim, bool keepdim = false) const;
  Tensor argmin() const;
  Tensor argmin(int64_t dim, bool keepdim = false) const;
  Tensor var(const Dims& dims = {}, int64_t correction = 1, bool keepdim = false) const;  // {} = all
  Tensor std(const Dims& dims = {}, int64_t correction = 1, bool keepdim = false) const;
  Tensor norm(double p = 2.0, const Dims& dims = {}, bool keepdim = false) const;
  Tensor logsumexp(const Dims& dims, bool keepdim = false) const;
  Tensor all() const;
  Tensor any() const;
  Tensor softmax(int64_t dim) const;
  Tensor log_softmax(int64_t dim) const;

  // ---- operators on tensors are free functions (a + b, a == b, ...) in autograd/ops.h ----

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// ---- template definitions ----

namespace detail {
// A TensorImpl from the object pool (core/storage.h), unchecked: every op and view makes one.
std::shared_ptr<TensorImpl> new_impl(std::shared_ptr<Storage> storage, const Dims& sizes, const Dims& strides,
                                     int64_t offset, DType dtype);
void check_data_access(const Tensor& t, DType requested, const char* op);
int64_t flat_offset(const Tensor& t, const Dims& index, const char* op);
}  // namespace detail

template <typename T>
T* Tensor::data() const {
  detail::check_data_access(*this, dtype_v<T>, "data");
  return static_cast<T*>(raw_data());
}

template <typename T>
T Tensor::item() const {
  check<ValueError>(numel() == 1, "item: a tensor of shape {} has {} elements, not 1", sizes(), numel());
  return at<T>(Dims::filled(dim(), 0));
}

template <typename T>
T Tensor::at(const Dims& index) const {
  int64_t element = detail::flat_offset(*this, index, "at");
  return dispatch(dtype(), "at", [&]<typename S>() {
    return static_cast<T>(static_cast<const S*>(storage()->data())[element]);
  });
}

template <typename T>
std::vector<T> Tensor::to_vector() const {
  std::vector<T> out;
  out.reserve(static_cast<size_t>(numel()));
  if (numel() == 0) return out;
  dispatch(dtype(), "to_vector", [&]<typename S>() {
    const S* base = static_cast<const S*>(storage()->data()) + offset();
    Dims index = Dims::filled(dim(), 0);
    for (int64_t n = 0; n < numel(); ++n) {
      int64_t element = 0;
      for (int d = 0; d < dim(); ++d) element += index[d] * strides()[d];
      out.push_back(static_cast<T>(base[element]));
      for (int d = dim() - 1; d >= 0; --d) {  // odometer increment, last dim fastest
        if (++index[d] < sizes()[d]) break;
        index[d] = 0;
      }
    }
  });
  return out;
}

}  // namespace descent
