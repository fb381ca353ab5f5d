// scaled_dot_product_attention as one node. With scores S = q k^T scale + mask, P = softmax(S)
// over the keys and out = P v, the backward (Vaswani et al. 2017; the softmax Jacobian
// diag(P) - P P^T applied row by row) is
//   dv = P^T dout,   dP = dout v^T,   dS = P (dP - sum_keys(dP P)),
//   dq = dS k scale,   dk = dS^T q scale,
// written with public ops; P is recomputed from the saved q and k rather than saved (one
// [*, L, S] tensor less held between forward and backward). Shapes: L queries, S keys, E
// features, Ev value features.
#include <descent/nn/functional_attention.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <descent/autograd/ops.h>
#include <descent/autograd/record.h>
#include <descent/core/error.h>

namespace descent::nn::functional {

using autograd::Node;
using autograd::record;
using autograd::SavedTensor;

namespace {

// The additive mask [L, S] (0 where attended, -inf elsewhere), from the causal flag and the
// user's mask; undefined when there is neither.
Tensor additive_mask(const AttentionOptions& options, int64_t queries, int64_t keys, DType dtype) {
  Tensor mask;
  if (options.is_causal) {
    Tensor allowed = core::tril(core::ones({queries, keys}, {.dtype = kBool}));
    mask = core::masked_fill(core::zeros({queries, keys}, {.dtype = dtype}), core::logical_not(allowed),
                             -std::numeric_limits<double>::infinity());
  }
  const Tensor& user = options.attn_mask;
  if (user.defined()) {
    Tensor user_additive = user.dtype() == kBool
                               ? core::masked_fill(core::zeros(user.sizes(), {.dtype = dtype}), core::logical_not(user),
                                                   -std::numeric_limits<double>::infinity())
                               : user.to(dtype);
    mask = mask.defined() ? core::add(mask, user_additive) : user_additive;
  }
  return mask;
}

// softmax(q k^T scale + mask) with any op set: the core kernels forward, public ops backward.
Tensor attention_weights(const Tensor& q, const Tensor& k, const Tensor& mask, double scale) {
  Tensor scores = mul(matmul(q, transpose(k, -2, -1)), scale);
  if (mask.defined()) scores = add(scores, mask);
  return softmax(scores, -1);
}

struct AttentionBackward : Node {
  SavedTensor query, key, value;
  Tensor mask;  // a constant (no graph), or undefined
  double scale = 1.0;
  std::string name() const override { return "ScaledDotProductAttentionBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    Tensor q = query.unpack(*this), k = key.unpack(*this), v = value.unpack(*this);
    const Tensor& dout = grads[0];
    Tensor p = attention_weights(q, k, mask, scale);
    std::vector<Tensor> result(3);
    if (needs_input_grad(2)) result[2] = matmul(transpose(p, -2, -1), dout);
    if (needs_input_grad(0) || needs_input_grad(1)) {
      Tensor dp = matmul(dout, transpose(v, -2, -1));
      // Masked keys have P = 0, so dS is 0 there (dP stays finite): no special case.
      Tensor ds = mul(p, sub(dp, sum(mul(dp, p), {-1}, true)));
      if (needs_input_grad(0)) result[0] = mul(matmul(ds, k), scale);
      if (needs_input_grad(1)) result[1] = mul(matmul(transpose(ds, -2, -1), q), scale);
    }
    return result;
  }
  void release_saved() override {
    query.reset();
    key.reset();
    value.reset();
  }
};

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionOptions& options) {
  const char* op = "scaled_dot_product_attention";
  check<ShapeError>(q.dim() >= 2 && k.dim() == q.dim() && v.dim() == q.dim(),
                    "{}: query {}, key {} and value {} need the same number (>= 2) of dims", op, q.sizes(), k.sizes(),
                    v.sizes());
  check<DTypeError>(q.is_floating_point() && k.dtype() == q.dtype() && v.dtype() == q.dtype(),
                    "{}: query, key and value must share one floating dtype ({}, {}, {})", op, q.dtype(), k.dtype(),
                    v.dtype());
  const int n = q.dim();
  bool batch_match = true;
  for (int d = 0; d < n - 2; ++d) batch_match = batch_match && k.size(d) == q.size(d) && v.size(d) == q.size(d);
  check<ShapeError>(batch_match && k.size(-1) == q.size(-1) && v.size(-2) == k.size(-2),
                    "{}: query {} [*, L, E], key {} [*, S, E] and value {} [*, S, Ev] do not fit", op, q.sizes(),
                    k.sizes(), v.sizes());
  const int64_t queries = q.size(-2), keys = k.size(-2);
  if (options.attn_mask.defined()) {
    const Tensor& m = options.attn_mask;
    check<ShapeError>(m.dim() == 2 && m.size(0) == queries && m.size(1) == keys,
                      "{}: attn_mask {} should be [{}, {}] for query {} and key {}", op, m.sizes(), queries, keys,
                      q.sizes(), k.sizes());
  }
  const double scale = options.scale.value_or(1.0 / std::sqrt(static_cast<double>(q.size(-1))));
  Tensor mask = additive_mask(options, queries, keys, q.dtype());
  Tensor out;
  {
    autograd::NoGradGuard no_grad;  // the forward records nothing of its own; the node below does
    out = matmul(attention_weights(q, k, mask, scale), v);
  }
  if (auto node = record<AttentionBackward>(out, {q, k, v})) {
    node->query = SavedTensor(q, false);
    node->key = SavedTensor(k, false);
    node->value = SavedTensor(v, false);
    node->mask = mask;
    node->scale = scale;
  }
  return out;
}

}  // namespace descent::nn::functional
