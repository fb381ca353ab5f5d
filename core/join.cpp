// Joining and splitting: cat (with legacy PyTorch's skipping of 1-d empty tensors), stack, and
// split/chunk as views.
#include <descent/core/indexing.h>

#include <algorithm>
#include <cstring>

#include <descent/core/factory.h>
#include <descent/core/views.h>

#include <descent/core/indexing_walk.h>

namespace descent::core {

using namespace indexing;

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  check<ValueError>(!tensors.empty(), "cat: expected a non-empty list of tensors");
  // NOTE: as legacy PyTorch, 1-d tensors of shape [0] are skipped whatever their dims, so
  // cat({x, empty}) == x; they still take part in the dtype promotion.
  auto skipped = [](const Tensor& t) { return t.dim() == 1 && t.size(0) == 0; };
  DType dtype = kBool;  // the lowest dtype: promote_types(kBool, t) is t
  int reference = -1;  // the first tensor that is not skipped: the others must match its shape
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    check<ValueError>(t.defined(), "cat: tensor {} is undefined", i);
    check<ShapeError>(t.dim() > 0, "cat: tensor {} is zero-dimensional (shape []) and cannot be concatenated", i);
    dtype = promote_types(dtype, t.dtype());
    if (reference < 0 && !skipped(t)) reference = static_cast<int>(i);
  }
  if (reference < 0) return core::empty({0}, {.dtype = dtype});
  const Tensor& first = tensors[reference];
  const int d = wrap_dim(dim, first.dim(), "cat");
  Dims out_sizes = first.sizes();
  out_sizes[d] = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    if (skipped(t)) continue;
    bool fits = t.dim() == first.dim();
    for (int k = 0; fits && k < t.dim(); ++k) fits = k == d || t.sizes()[k] == first.sizes()[k];
    check<ShapeError>(fits, "cat: tensor {} of shape {} does not match tensor {} of shape {} outside dim {}", i,
                      t.sizes(), reference, first.sizes(), d);
    out_sizes[d] += t.size(d);
  }
  Tensor out = core::empty(out_sizes, {.dtype = dtype});
  int64_t start = 0;
  for (const Tensor& t : tensors) {
    if (skipped(t)) continue;
    core::copy_(core::narrow(out, d, start, t.size(d)), t);  // parallel inside when large
    start += t.size(d);
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  check<ValueError>(!tensors.empty(), "stack: expected a non-empty list of tensors");
  for (size_t i = 0; i < tensors.size(); ++i) {
    check<ValueError>(tensors[i].defined(), "stack: tensor {} is undefined", i);
    check<ShapeError>(tensors[i].sizes() == tensors[0].sizes(),
                      "stack: tensor {} of shape {} differs from tensor 0 of shape {}", i, tensors[i].sizes(),
                      tensors[0].sizes());
  }
  const int d = wrap_dim(dim, tensors[0].dim() + 1, "stack");
  std::vector<Tensor> slices;
  slices.reserve(tensors.size());
  for (const Tensor& t : tensors) slices.push_back(core::unsqueeze(t, d));
  return cat(slices, d);
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  check<ShapeError>(x.dim() > 0, "split: expected a tensor of at least 1 dim, got shape {}", x.sizes());
  const int d = wrap_dim(dim, x.dim(), "split");
  const int64_t n = x.size(d);
  check<ValueError>(split_size > 0 || (split_size == 0 && n == 0),
                    "split: split_size {} is invalid for dim {} of size {} (only a dim of size 0 allows 0)",
                    split_size, d, n);
  const int64_t parts = split_size == 0 ? 1 : std::max<int64_t>((n + split_size - 1) / split_size, 1);
  std::vector<Tensor> out;
  out.reserve(static_cast<size_t>(parts));
  for (int64_t i = 0; i < parts; ++i) {
    const int64_t start = i * split_size;
    out.push_back(core::narrow(x, d, start, std::min(split_size, n - start)));
  }
  return out;
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
  check<ShapeError>(x.dim() > 0, "split: expected a tensor of at least 1 dim, got shape {}", x.sizes());
  const int d = wrap_dim(dim, x.dim(), "split");
  int64_t total = 0;
  for (int64_t s : sizes) {
    check<ValueError>(s >= 0, "split: negative size {} in sizes {}", s, fmt::join(sizes, ", "));
    total += s;
  }
  check<ShapeError>(total == x.size(d), "split: sizes [{}] sum to {}, but dim {} of shape {} has size {}",
                    fmt::join(sizes, ", "), total, d, x.sizes(), x.size(d));
  std::vector<Tensor> out;
  out.reserve(sizes.size());
  int64_t start = 0;
  for (int64_t s : sizes) {
    out.push_back(core::narrow(x, d, start, s));
    start += s;
  }
  return out;
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  check<ShapeError>(x.dim() > 0, "chunk: expected a tensor of at least 1 dim, got shape {}", x.sizes());
  check<ValueError>(chunks > 0, "chunk: chunks must be positive, got {}", chunks);
  const int d = wrap_dim(dim, x.dim(), "chunk");
  // PyTorch's sizing: pieces of ceil(n / chunks), so there may be fewer than `chunks` (6 in 4 gives
  // 2, 2, 2); an empty dim gives `chunks` empty pieces.
  const int64_t piece = (x.size(d) + chunks - 1) / chunks;
  if (piece == 0) return split(x, std::vector<int64_t>(static_cast<size_t>(chunks), 0), d);
  return split(x, piece, d);
}

}  // namespace descent::core
