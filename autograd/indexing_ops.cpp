// Differentiable indexing and joining: each forward (a core kernel plus its node) beside its
// backward. Each backward is another op of this family, so create_graph works throughout:
//   gather / index_select / topk / sort  <->  scatter_add / index_add into zeros
//   cat / stack / split  <->  narrow / select / cat of the gradient pieces
//   tril, triu, flip, masked_fill: the same op on the gradient; pad: pad by the negated amounts.
// Indices and masks are constants of the graph: their tensors are made with core kernels.
#include <descent/autograd/indexing_ops.h>

#include <algorithm>

#include <descent/autograd/ops.h>
#include <descent/autograd/record.h>
#include <descent/core/iterate.h>

namespace descent {

using autograd::Node;
using autograd::record;
using autograd::reduce_to_input;
using autograd::SavedTensor;

namespace {

Tensor zeros_for(const autograd::InputMeta& meta) { return core::zeros(meta.shape, {.dtype = meta.dtype}); }

// gather(grad, dim, index) laid out as `shape`, the shape of scatter's src: src may be larger than
// index in any dim (only its first index.size(d) elements are read); the rest gets zeros.
Tensor gather_to(const Tensor& grad, int64_t dim, const Tensor& index, const Dims& shape) {
  Tensor picked = gather(grad, dim, index);
  if (picked.sizes() == shape) return picked;
  if (picked.dim() == 0) picked = reshape(picked, {1});
  std::vector<int64_t> padding;  // F.pad order: the last dim first
  for (int d = shape.size() - 1; d >= 0; --d) {
    padding.push_back(0);
    padding.push_back(shape[d] - picked.size(d));
  }
  return pad(picked, padding);
}

}  // namespace

// ---- joining and splitting ----

namespace {
// cat: input i's gradient is its stretch of the output along dim (1-d empty inputs, which cat
// skips, get an empty gradient).
struct CatBackward : Node {
  int dim = 0;
  std::vector<int64_t> starts;  // -1 for a skipped input
  std::string name() const override { return "CatBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    std::vector<Tensor> out(num_inputs());
    for (size_t i = 0; i < num_inputs(); ++i) {
      if (!needs_input_grad(i)) continue;
      const autograd::InputMeta& meta = input_meta(i);
      out[i] = starts[i] < 0 ? zeros_for(meta)
                             : reduce_to_input(narrow(grads[0], dim, starts[i], meta.shape[dim]), meta);
    }
    return out;
  }
};

// stack: input i's gradient is entry i of the output along dim.
struct StackBackward : Node {
  int dim = 0;
  std::string name() const override { return "StackBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    std::vector<Tensor> out(num_inputs());
    for (size_t i = 0; i < num_inputs(); ++i) {
      if (needs_input_grad(i)) out[i] = reduce_to_input(select(grads[0], dim, static_cast<int64_t>(i)), input_meta(i));
    }
    return out;
  }
};

// split and chunk: one node for all the pieces; the input's gradient is the pieces' gradients
// joined again, zeros for a piece that got none.
struct SplitBackward : autograd::NamedNode {
  using NamedNode::NamedNode;
  int dim = 0;
  std::vector<int64_t> sizes;
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    const autograd::InputMeta& meta = input_meta(0);
    std::vector<Tensor> pieces;
    pieces.reserve(grads.size());
    for (size_t i = 0; i < grads.size(); ++i) {
      if (grads[i].defined()) {
        pieces.push_back(grads[i]);
      } else {
        Dims shape = meta.shape;
        shape[dim] = sizes[i];
        pieces.push_back(core::zeros(shape, {.dtype = meta.dtype}));
      }
    }
    return {pieces.size() == 1 ? pieces[0] : cat(pieces, dim)};
  }
};

std::vector<Tensor> record_split(std::vector<Tensor> pieces, const Tensor& x, int64_t dim, const char* name) {
  if (auto node = record<SplitBackward>(std::span<const Tensor>(pieces), std::span<const Tensor>(&x, 1), name)) {
    node->dim = wrap_dim(dim, x.dim(), name);
    for (const Tensor& piece : pieces) node->sizes.push_back(piece.size(node->dim));
  }
  for (const Tensor& piece : pieces) autograd::mark_as_view(piece, x);
  return pieces;
}
}  // namespace

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  Tensor out = core::cat(tensors, dim);
  if (auto node = record<CatBackward>(out, tensors)) {
    node->dim = wrap_dim(dim, out.dim(), "cat");
    int64_t start = 0;
    for (const Tensor& t : tensors) {
      const bool skipped = t.dim() == 1 && t.size(0) == 0;  // as core::cat
      node->starts.push_back(skipped ? -1 : start);
      if (!skipped) start += t.size(node->dim);
    }
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  Tensor out = core::stack(tensors, dim);
  if (auto node = record<StackBackward>(out, tensors)) node->dim = wrap_dim(dim, out.dim(), "stack");
  return out;
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  return record_split(core::split(x, split_size, dim), x, dim, "SplitBackward");
}
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
  return record_split(core::split(x, sizes, dim), x, dim, "SplitWithSizesBackward");
}
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  return record_split(core::chunk(x, chunks, dim), x, dim, "ChunkBackward");
}

// ---- gather, scatter, index_select, index_add ----
//
// gather(x, dim, index)[i][j] = x[index[i][j]][j] (dim 0): x's gradient adds g at those places,
// duplicates accumulating: scatter_add(zeros, dim, index, g). The converse for the scatters.

namespace {
struct GatherBackward : Node {
  int64_t dim = 0;
  SavedTensor index;
  std::string name() const override { return "GatherBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    return {scatter_add(zeros_for(input_meta(0)), dim, index.unpack(*this), grads[0])};
  }
  void release_saved() override { index.reset(); }
};

// scatter_add: x's gradient passes; src's is g read back at the indices.
// scatter: the same, except that x's overwritten positions get none (scatter 0 into g).
struct ScatterBackward : Node {
  int64_t dim = 0;
  SavedTensor index;
  bool overwrites = false;
  std::string name() const override { return overwrites ? "ScatterBackward" : "ScatterAddBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    const Tensor& g = grads[0];
    std::vector<Tensor> out(num_inputs());
    Tensor at = index.unpack(*this);
    if (needs_input_grad(0)) out[0] = overwrites ? scatter(g, dim, at, 0.0) : g;
    if (num_inputs() > 1 && needs_input_grad(1)) out[1] = gather_to(g, dim, at, input_meta(1).shape);
    return out;
  }
  void release_saved() override { index.reset(); }
};

Tensor record_scatter(Tensor out, const Tensor& x, int64_t dim, const Tensor& index, const Tensor* src,
                      bool overwrites) {
  std::shared_ptr<ScatterBackward> node =
      src != nullptr ? record<ScatterBackward>(out, {x, *src}) : record<ScatterBackward>(out, {x});
  if (node) {
    node->dim = dim;
    node->index = SavedTensor(index, false);
    node->overwrites = overwrites;
  }
  return out;
}

struct IndexSelectBackward : Node {
  int64_t dim = 0;
  SavedTensor index;
  std::string name() const override { return "IndexSelectBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    return {index_add(zeros_for(input_meta(0)), dim, index.unpack(*this), grads[0])};
  }
  void release_saved() override { index.reset(); }
};

// x + alpha * (source added at index along dim): x's gradient passes, source's is
// alpha * index_select(g).
struct IndexAddBackward : Node {
  int64_t dim = 0;
  SavedTensor index;
  double alpha = 1.0;
  std::string name() const override { return "IndexAddBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    const Tensor& g = grads[0];
    Tensor g_source;
    if (needs_input_grad(1)) {
      g_source = index_select(g, dim, index.unpack(*this));
      if (alpha != 1.0) g_source = g_source * alpha;
      // A 0-d x takes a source of one element, 0-d or [1].
      if (g_source.sizes() != input_meta(1).shape) g_source = reshape(g_source, input_meta(1).shape);
    }
    return {g, g_source};
  }
  void release_saved() override { index.reset(); }
};
}  // namespace

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  Tensor out = core::gather(x, dim, index);
  if (auto node = record<GatherBackward>(out, {x})) {
    node->dim = dim;
    node->index = SavedTensor(index, false);
  }
  return out;
}

Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  return record_scatter(core::scatter(x, dim, index, src), x, dim, index, &src, true);
}
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Scalar& value) {
  return record_scatter(core::scatter(x, dim, index, value), x, dim, index, nullptr, true);
}
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  return record_scatter(core::scatter_add(x, dim, index, src), x, dim, index, &src, false);
}

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  Tensor out = core::index_select(x, dim, index);
  if (auto node = record<IndexSelectBackward>(out, {x})) {
    node->dim = dim;
    node->index = SavedTensor(index, false);
  }
  return out;
}

Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source, const Scalar& alpha) {
  Tensor out = core::index_add(x, dim, index, source, alpha);
  if (auto node = record<IndexAddBackward>(out, {x, source})) {
    node->dim = dim;
    node->alpha = alpha.to<double>();
    if (node->needs_input_grad(1)) node->index = SavedTensor(index, false);
  }
  return out;
}

// ---- masks ----

namespace {
// masked_fill: g where mask is clear goes to x (summed back over broadcast dims); the rest, summed,
// to a tensor value. masked_select: g goes back to the selected places of x.
struct MaskBackward : Node {
  SavedTensor mask;
  bool selects = false;  // masked_select, else masked_fill
  std::string name() const override { return selects ? "MaskedSelectBackward" : "MaskedFillBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    const Tensor& g = grads[0];
    const Tensor m = mask.unpack(*this);
    std::vector<Tensor> out(num_inputs());
    if (selects) {
      out[0] = reduce_to_input(place_selected(g, m), input_meta(0));
      return out;
    }
    if (needs_input_grad(0)) out[0] = reduce_to_input(masked_fill(g, m, 0.0), input_meta(0));
    if (num_inputs() > 1 && needs_input_grad(1)) {
      out[1] = reduce_to_input(sum(masked_fill(g, core::logical_not(m), 0.0)), input_meta(1));
    }
    return out;
  }
  void release_saved() override { mask.reset(); }

  // The 1-d g of masked_select put back at the selected places of the broadcast shape, zeros
  // elsewhere: index_add into zeros at the selected flat positions.
  Tensor place_selected(const Tensor& g, const Tensor& m) const {
    const Dims shape = broadcast_shapes(input_meta(0).shape, m.sizes(), "masked_select");
    const int64_t count = shape.product();
    Tensor positions = core::masked_select(core::reshape(core::arange(count, {.dtype = kInt64}), shape), m);
    Tensor flat = index_add(core::zeros({count}, {.dtype = g.dtype()}), 0, positions, g);
    return reshape(flat, shape);
  }
};

Scalar scalar_of(const Tensor& value) {
  check<ShapeError>(value.defined() && value.dim() == 0, "masked_fill: value must be a 0-d tensor, got shape {}",
                    value.defined() ? value.sizes() : Dims{});
  return dispatch(value.dtype(), "masked_fill", [&]<typename T>() { return Scalar(value.item<T>()); });
}
}  // namespace

Tensor masked_fill(const Tensor& x, const Tensor& mask, const Scalar& value) {
  Tensor out = core::masked_fill(x, mask, value);
  if (auto node = record<MaskBackward>(out, {x})) node->mask = SavedTensor(mask, false);
  return out;
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, const Tensor& value) {
  Tensor out = core::masked_fill(x, mask, scalar_of(value));
  if (auto node = record<MaskBackward>(out, {x, value})) node->mask = SavedTensor(mask, false);
  return out;
}

Tensor masked_select(const Tensor& x, const Tensor& mask) {
  Tensor out = core::masked_select(x, mask);
  if (auto node = record<MaskBackward>(out, {x})) {
    node->mask = SavedTensor(mask, false);
    node->selects = true;
  }
  return out;
}

// ---- sorting: the values are x at the indices ----

namespace {
struct ValuesAtIndicesBackward : autograd::NamedNode {
  using NamedNode::NamedNode;
  int64_t dim = 0;
  SavedTensor indices;
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    return {scatter_add(zeros_for(input_meta(0)), dim, indices.unpack(*this), grads[0])};
  }
  void release_saved() override { indices.reset(); }
};

std::pair<Tensor, Tensor> record_values(std::pair<Tensor, Tensor> result, const Tensor& x, int64_t dim,
                                        const char* name) {
  if (auto node = record<ValuesAtIndicesBackward>(result.first, {x}, name)) {
    node->dim = dim;
    node->indices = SavedTensor(result.second, false);
  }
  return result;
}
}  // namespace

std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted) {
  return record_values(core::topk(x, k, dim, largest, sorted), x, dim, "TopkBackward");
}
std::pair<Tensor, Tensor> sort(const Tensor& x, int64_t dim, bool descending, bool stable) {
  return record_values(core::sort(x, dim, descending, stable), x, dim, "SortBackward");
}

// ---- shaping copies ----

namespace {
struct TriangleBackward : Node {
  int64_t diagonal = 0;
  bool lower = true;
  std::string name() const override { return lower ? "TrilBackward" : "TriuBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    return {lower ? tril(grads[0], diagonal) : triu(grads[0], diagonal)};
  }
};

Tensor record_triangle(Tensor out, const Tensor& x, int64_t diagonal, bool lower) {
  if (auto node = record<TriangleBackward>(out, {x})) {
    node->diagonal = diagonal;
    node->lower = lower;
  }
  return out;
}

// repeat: x's gradient sums the copies. Output dim d holds repeats[d] blocks of x's size s_d, so
// with the output viewed as [before, repeats[d], s_d * after] the copies of dim d are its dim 1.
struct RepeatBackward : Node {
  Dims repeats;
  std::string name() const override { return "RepeatBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    const autograd::InputMeta& meta = input_meta(0);
    Tensor g = grads[0];
    if (g.numel() == 0) return {zeros_for(meta)};
    const int ndim = repeats.size();
    Dims sizes = g.sizes();  // becomes x's shape with leading 1s, one dim at a time
    for (int d = 0; d < ndim; ++d) {
      if (repeats[d] == 1) continue;
      const int64_t block = sizes[d] / repeats[d];
      int64_t before = 1, after = 1;
      for (int k = 0; k < d; ++k) before *= sizes[k];
      for (int k = d + 1; k < ndim; ++k) after *= sizes[k];
      g = sum(reshape(g, {before, repeats[d], block * after}), {1});
      sizes[d] = block;
      g = reshape(g, sizes);
    }
    return {reshape(g, meta.shape)};
  }
};

struct FlipBackward : Node {
  Dims dims;
  std::string name() const override { return "FlipBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override { return {flip(grads[0], dims)}; }
};

// pad: x's gradient is the part of g where x was copied to: g padded by the negated amounts
// (cropping what was padded, and zeros where x was cropped).
struct PadBackward : Node {
  std::vector<int64_t> negated;
  std::string name() const override { return "PadBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override { return {pad(grads[0], negated)}; }
};
}  // namespace

Tensor tril(const Tensor& x, int64_t diagonal) { return record_triangle(core::tril(x, diagonal), x, diagonal, true); }
Tensor triu(const Tensor& x, int64_t diagonal) { return record_triangle(core::triu(x, diagonal), x, diagonal, false); }

Tensor repeat(const Tensor& x, const Dims& repeats) {
  Tensor out = core::repeat(x, repeats);
  if (auto node = record<RepeatBackward>(out, {x})) node->repeats = repeats;
  return out;
}

Tensor flip(const Tensor& x, const Dims& dims) {
  Tensor out = core::flip(x, dims);
  if (auto node = record<FlipBackward>(out, {x})) node->dims = dims;
  return out;
}

Tensor pad(const Tensor& x, const std::vector<int64_t>& padding, const Scalar& value) {
  Tensor out = core::pad(x, padding, value);
  if (auto node = record<PadBackward>(out, {x})) {
    for (int64_t amount : padding) node->negated.push_back(-amount);
  }
  return out;
}

}  // namespace descent
