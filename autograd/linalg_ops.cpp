// Differentiable matrix products: each forward (a core kernel plus its node) beside its backward.
//   C = A @ B:  dA = dC @ B^T,  dB = A^T @ dC   (per batch entry; a broadcast batch dim sums back)
// The transposes are views: core's GEMM reads them through BLAS transpose flags, so a backward
// costs two GEMMs and no copies. Backward products call the public ops, so create_graph works.
#include <descent/autograd/linalg_ops.h>

#include <utility>

#include <descent/autograd/ops.h>
#include <descent/autograd/record.h>

namespace descent {

using autograd::Node;
using autograd::record;
using autograd::SavedTensor;
using autograd::sum_to;

namespace {

// The last two dims swapped (a view).
Tensor transposed(const Tensor& t) { return transpose(t, -2, -1); }

// Whether t is a matrix stored column by column: the transpose of a contiguous matrix, as the
// weight.t() of a linear layer.
bool is_column_major(const Tensor& t) {
  return t.dim() == 2 && t.size(0) > 1 && t.size(1) > 1 && t.stride(0) == 1 && t.stride(1) == t.size(0);
}

// x @ y for a 2-d gradient, laid out like its operand: computed as (y^T @ x^T)^T when the operand
// is column-major, so that the gradient is contiguous again once the operand's transpose node
// transposes it back, and accumulating it into the leaf copies nothing (PyTorch does the same).
// The transposes are views; the GEMM reads them through flags.
Tensor product_in_layout(const Tensor& x, const Tensor& y, bool column_major) {
  return column_major ? transposed(mm(transposed(y), transposed(x))) : mm(x, y);
}

// The operands a product's backward needs (b for dA, a for dB), and how each was laid out.
struct SavedOperands {
  SavedTensor a, b;
  bool a_column_major = false, b_column_major = false;
  // Saves for the node's inputs `first` (a) and `first + 1` (b).
  void save(const Node& node, const Tensor& a_value, const Tensor& b_value, size_t first) {
    if (node.needs_input_grad(first)) b = SavedTensor(b_value, false);
    if (node.needs_input_grad(first + 1)) a = SavedTensor(a_value, false);
    a_column_major = is_column_major(a_value);
    b_column_major = is_column_major(b_value);
  }
  void reset() {
    a.reset();
    b.reset();
  }
};

// The gradients of a @ b with NumPy's matmul semantics, for whichever of the two is asked for.
// A 1-d a is the row [1, K] and a 1-d b the column [K, 1]; those dims are absent from the
// gradient g, which is brought back to batch + [M, N] first.
struct ProductGrads {
  Tensor a, b;
};

ProductGrads matmul_grads(const Tensor& grad, const Dims& a_shape, const Dims& b_shape, SavedOperands& saved,
                          Node& node, bool need_a, bool need_b) {
  const bool a_vector = a_shape.size() == 1, b_vector = b_shape.size() == 1;
  const bool matrices = a_shape.size() == 2 && b_shape.size() == 2;
  Tensor g = grad;
  if (b_vector) g = unsqueeze(g, g.dim());
  if (a_vector) g = unsqueeze(g, g.dim() - 1);
  ProductGrads out;
  if (need_a) {
    // dA [..., M, K] = dC [..., M, N] @ B^T [..., N, K]
    Tensor b = saved.b.unpack(node);
    if (matrices) {
      out.a = product_in_layout(g, transposed(b), saved.a_column_major);
    } else {
      Tensor ga = matmul(g, b_vector ? unsqueeze(b, 0) : transposed(b));
      if (a_vector) ga = squeeze(ga, -2);
      out.a = sum_to(ga, a_shape);
    }
  }
  if (need_b) {
    Tensor a = saved.a.unpack(node);
    if (matrices) {
      out.b = product_in_layout(transposed(a), g, saved.b_column_major);
    } else if (b_shape.size() == 2 && a_shape.size() > 2) {
      // b shared by every batch entry (a linear layer on [B, T, K]): one tall product
      // dB [K, N] = A^T [K, B*T] @ dC [B*T, N] instead of a batch of products summed afterwards.
      Dims leading = a_shape;
      leading.resize(leading.size() - 1);
      const int64_t rows = leading.product();  // NOTE: not -1 in reshape: K or N may be 0
      out.b = product_in_layout(transposed(reshape(a, {rows, a_shape.back()})), reshape(g, {rows, g.size(-1)}),
                                saved.b_column_major);
    } else {
      // dB [..., K, N] = A^T [..., K, M] @ dC [..., M, N]
      Tensor gb = matmul(a_vector ? unsqueeze(a, 1) : transposed(a), g);
      if (b_vector) gb = squeeze(gb, -1);
      out.b = sum_to(gb, b_shape);
    }
  }
  return out;
}

// matmul, mm and bmm: the one formula above (mm and bmm are its 2-d and 3-d cases).
struct MatmulBackward : autograd::NamedNode {
  using NamedNode::NamedNode;
  SavedOperands operands;
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    const bool need_a = needs_input_grad(0), need_b = needs_input_grad(1);
    ProductGrads g = matmul_grads(grads[0], input_meta(0).shape, input_meta(1).shape, operands, *this, need_a, need_b);
    return {std::move(g.a), std::move(g.b)};
  }
  void release_saved() override { operands.reset(); }
};

Tensor record_product(Tensor out, const Tensor& a, const Tensor& b, const char* name) {
  if (auto node = record<MatmulBackward>(out, {a, b}, name)) node->operands.save(*node, a, b, 0);
  return out;
}

// beta * input + alpha * (a @ b)
struct AddmmBackward : Node {
  SavedOperands operands;
  double beta = 1.0, alpha = 1.0;
  std::string name() const override { return "AddmmBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    const Tensor& g = grads[0];
    Tensor g_input;
    if (needs_input_grad(0)) g_input = autograd::reduce_to_input(beta == 1.0 ? g : g * beta, input_meta(0));
    const bool need_a = needs_input_grad(1), need_b = needs_input_grad(2);
    ProductGrads products;
    if (need_a || need_b) {
      products = matmul_grads(alpha == 1.0 ? g : g * alpha, input_meta(1).shape, input_meta(2).shape, operands, *this,
                              need_a, need_b);
    }
    return {std::move(g_input), std::move(products.a), std::move(products.b)};
  }
  void release_saved() override { operands.reset(); }
};

// outer: C[i, j] = a[i] b[j], so da = C' @ b and db = C'^T @ a (= a @ C').
// dot: c = a . b, so da = c' b and db = c' a.
struct OuterBackward : Node {
  SavedOperands operands;
  bool is_dot = false;
  std::string name() const override { return is_dot ? "DotBackward" : "OuterBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    const Tensor& g = grads[0];
    Tensor ga, gb;
    if (needs_input_grad(0)) {
      Tensor b = operands.b.unpack(*this);
      ga = is_dot ? g * b : matmul(g, b);
    }
    if (needs_input_grad(1)) {
      Tensor a = operands.a.unpack(*this);
      gb = is_dot ? g * a : matmul(a, g);
    }
    return {ga, gb};
  }
  void release_saved() override { operands.reset(); }
};

Tensor record_vector_product(Tensor out, const Tensor& a, const Tensor& b, bool is_dot) {
  if (auto node = record<OuterBackward>(out, {a, b})) {
    node->is_dot = is_dot;
    node->operands.save(*node, a, b, 0);
  }
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) { return record_product(core::matmul(a, b), a, b, "MatmulBackward"); }
Tensor mm(const Tensor& a, const Tensor& b) { return record_product(core::mm(a, b), a, b, "MmBackward"); }
Tensor bmm(const Tensor& a, const Tensor& b) { return record_product(core::bmm(a, b), a, b, "BmmBackward"); }

Tensor addmm(const Tensor& input, const Tensor& a, const Tensor& b, const Scalar& beta, const Scalar& alpha) {
  Tensor out = core::addmm(input, a, b, beta, alpha);
  if (auto node = record<AddmmBackward>(out, {input, a, b})) {
    node->beta = beta.to<double>();
    node->alpha = alpha.to<double>();
    node->operands.save(*node, a, b, 1);
  }
  return out;
}

Tensor outer(const Tensor& a, const Tensor& b) { return record_vector_product(core::outer(a, b), a, b, false); }
Tensor dot(const Tensor& a, const Tensor& b) { return record_vector_product(core::dot(a, b), a, b, true); }

}  // namespace descent
