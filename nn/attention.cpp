// MultiheadAttention: the projections, the extra keys (bias_k / bias_v, the zero key), the masks
// combined into one additive mask, attention per head (the fused
// nn::functional::scaled_dot_product_attention when neither the weights nor dropout are needed and
// the mask is shared across the batch; softmax(q k^T / sqrt(D) + mask), dropout, then times v,
// written out otherwise), and the output projection. The order of steps is PyTorch 1.13's
// F.multi_head_attention_forward.
// Shapes: B batch, L query positions, S key positions (S' with the appended keys), E embed_dim,
// H heads, D = E / H head size.
#include <descent/nn/attention.h>

#include <cmath>

#include <descent/autograd/ops.h>
#include <descent/nn/functional.h>
#include <descent/nn/functional_attention.h>
#include <descent/nn/init.h>

namespace descent::nn {
namespace {

// A bool mask (true = masked) as an additive one: -inf where masked, 0 elsewhere; a floating
// mask as is. In `dtype`, and a constant.
Tensor additive_mask(const Tensor& mask, DType dtype) {
  if (mask.dtype() != kBool) return mask.to(dtype);
  return core::masked_fill(core::zeros(mask.sizes(), {.dtype = dtype}), mask, -INFINITY);
}

}  // namespace

MultiheadAttention::MultiheadAttention(int64_t embed_dim, int64_t num_heads, const MultiheadAttentionOptions& options)
    : embed_dim(embed_dim),
      num_heads(num_heads),
      head_dim(0),
      kdim(options.kdim.value_or(embed_dim)),
      vdim(options.vdim.value_or(embed_dim)),
      options(options) {
  const char* op = "MultiheadAttention";
  check<ValueError>(embed_dim > 0 && num_heads > 0 && embed_dim % num_heads == 0,
                    "{}: embed_dim={} has to be a positive multiple of num_heads={}", op, embed_dim, num_heads);
  check<ValueError>(kdim > 0 && vdim > 0, "{}: kdim={} and vdim={} have to be positive", op, kdim, vdim);
  check<ValueError>(options.dropout >= 0.0 && options.dropout <= 1.0,
                    "{}: dropout has to be between 0 and 1, but got {}", op, options.dropout);
  head_dim = embed_dim / num_heads;
  // Registered in PyTorch's order, so that state_dict keys come out in the same order.
  if (kdim == embed_dim && vdim == embed_dim) {
    in_proj_weight = register_parameter("in_proj_weight", empty({3 * embed_dim, embed_dim}));
  } else {
    q_proj_weight = register_parameter("q_proj_weight", empty({embed_dim, embed_dim}));
    k_proj_weight = register_parameter("k_proj_weight", empty({embed_dim, kdim}));
    v_proj_weight = register_parameter("v_proj_weight", empty({embed_dim, vdim}));
  }
  if (options.bias) in_proj_bias = register_parameter("in_proj_bias", empty({3 * embed_dim}));
  out_proj = std::make_shared<Linear>(embed_dim, embed_dim, options.bias);
  register_module("out_proj", out_proj);
  if (options.add_bias_kv) {
    bias_k = register_parameter("bias_k", empty({1, 1, embed_dim}));
    bias_v = register_parameter("bias_v", empty({1, 1, embed_dim}));
  }
  reset_parameters();
}

void MultiheadAttention::reset_parameters() {
  for (const Tensor& weight : {in_proj_weight, q_proj_weight, k_proj_weight, v_proj_weight}) {
    if (weight.defined()) init::xavier_uniform_(weight);
  }
  out_proj->reset_parameters();
  if (options.bias) {
    init::zeros_(in_proj_bias);
    init::zeros_(out_proj->bias);
  }
  if (options.add_bias_kv) {
    init::xavier_normal_(bias_k);
    init::xavier_normal_(bias_v);
  }
}

Tensor MultiheadAttention::forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                   const MultiheadAttentionCall& call) {
  return attend(query, key, value, call, /*need_weights=*/false).first;
}

std::pair<Tensor, Tensor> MultiheadAttention::forward_with_weights(const Tensor& query, const Tensor& key,
                                                                   const Tensor& value,
                                                                   const MultiheadAttentionCall& call) {
  return attend(query, key, value, call, /*need_weights=*/true);
}

std::pair<Tensor, Tensor> MultiheadAttention::attend(const Tensor& query, const Tensor& key, const Tensor& value,
                                                     const MultiheadAttentionCall& call, bool need_weights) {
  const char* op = "MultiheadAttention";
  const int64_t E = embed_dim, H = num_heads, D = head_dim;
  bool batched = query.dim() == 3;
  check<ShapeError>((batched || query.dim() == 2) && key.dim() == query.dim() && value.dim() == query.dim(),
                    "{}: query {}, key {}, value {} should all be 3-d ({}) or all 2-d [L, E]", op, query.sizes(),
                    key.sizes(), value.sizes(), options.batch_first ? "[B, L, E]" : "[L, B, E]");
  check<ShapeError>(query.size(-1) == E && key.size(-1) == kdim && value.size(-1) == vdim,
                    "{}: query {}, key {}, value {} should end in embed_dim {}, kdim {} and vdim {}", op,
                    query.sizes(), key.sizes(), value.sizes(), E, kdim, vdim);
  auto to_batch_first = [&](const Tensor& t) {
    if (!batched) return t.unsqueeze(0);
    return options.batch_first ? t : t.transpose(0, 1);
  };
  Tensor q = to_batch_first(query), k = to_batch_first(key), v = to_batch_first(value);  // [B, L|S, *]
  const int64_t B = q.size(0), L = q.size(1), S = k.size(1);
  check<ShapeError>(k.size(0) == B && v.size(0) == B && v.size(1) == S,
                    "{}: query {}, key {}, value {}: batch sizes or key and value lengths differ", op, query.sizes(),
                    key.sizes(), value.sizes());

  // The projection `index` (0 query, 1 key, 2 value): [B, positions, features] -> [B, positions, E].
  auto project = [&](const Tensor& x, int64_t index) {
    Tensor weight = packed_projection() ? in_proj_weight.narrow(0, index * E, E)
                                        : (index == 0 ? q_proj_weight : index == 1 ? k_proj_weight : v_proj_weight);
    Tensor bias = in_proj_bias.defined() ? in_proj_bias.narrow(0, index * E, E) : Tensor();
    return functional::linear(x, weight, bias);
  };
  Tensor qp = project(q, 0), kp = project(k, 1), vp = project(v, 2);

  // The additive mask over the given keys, broadcast to [B, H, L, S].
  DType dtype = query.dtype();
  Tensor mask;
  auto add_mask = [&](const Tensor& m) { mask = mask.defined() ? add(mask, m) : m; };
  if (call.attn_mask.defined()) {
    const Tensor& m = call.attn_mask;
    bool shared = m.dim() == 2 && m.size(0) == L && m.size(1) == S;
    bool per_head = m.dim() == 3 && m.size(0) == B * H && m.size(1) == L && m.size(2) == S;
    check<ShapeError>(shared || per_head, "{}: attn_mask {} should be [{}, {}] or [{}, {}, {}]", op, m.sizes(), L, S,
                      B * H, L, S);
    Tensor additive = additive_mask(m, dtype);
    add_mask(shared ? additive : additive.view({B, H, L, S}));
  }
  if (call.key_padding_mask.defined()) {
    const Tensor& m = call.key_padding_mask;
    bool fits = batched ? m.dim() == 2 && m.size(0) == B && m.size(1) == S : m.dim() == 1 && m.size(0) == S;
    check<ShapeError>(fits, "{}: key_padding_mask {} should be [{}, {}] for key {}", op, m.sizes(), B, S, key.sizes());
    add_mask(additive_mask(m, dtype).view({B, 1, 1, S}));
  }
  if (call.is_causal) add_mask(core::triu(core::full({L, S}, -INFINITY, {.dtype = dtype}), 1));

  // Appended keys and values, which every query may attend to (the mask is padded with zeros).
  int64_t appended = 0;
  auto append = [&](const Tensor& k_row, const Tensor& v_row) {  // each [1, 1, E]
    kp = cat({kp, k_row.expand({B, 1, E})}, 1);
    vp = cat({vp, v_row.expand({B, 1, E})}, 1);
    ++appended;
  };
  if (options.add_bias_kv) append(bias_k, bias_v);
  if (options.add_zero_attn) {
    Tensor zero = core::zeros({1, 1, E}, {.dtype = kp.dtype()});
    append(zero, zero);
  }
  if (mask.defined() && appended > 0) mask = pad(mask, {0, appended});

  auto split_heads = [&](const Tensor& x) { return x.view({B, x.size(1), H, D}).transpose(1, 2); };
  Tensor qh = split_heads(qp), kh = split_heads(kp), vh = split_heads(vp);  // [B, H, L|S', D]
  const bool dropout = is_training() && options.dropout > 0.0;
  Tensor attended, weights;  // [B, H, L, D], [B, H, L, S']
  if (!need_weights && !dropout && (!mask.defined() || mask.dim() == 2)) {
    attended = functional::scaled_dot_product_attention(qh, kh, vh, {.attn_mask = mask});
  } else {
    Tensor scores = mul(matmul(qh, kh.transpose(2, 3)), 1.0 / std::sqrt(static_cast<double>(D)));
    weights = softmax(mask.defined() ? add(scores, mask) : scores, -1);
    if (dropout) weights = functional::dropout(weights, options.dropout, true, options.generator);
    attended = matmul(weights, vh);
  }
  Tensor out = (*out_proj)(attended.transpose(1, 2).reshape({B, L, E}));  // [B, L, E]
  out = !batched ? out.squeeze(0) : options.batch_first ? out : out.transpose(0, 1);
  if (!need_weights) return {out, Tensor()};
  if (call.average_attn_weights) weights = mean(weights, {1});
  if (!batched) weights = weights.squeeze(0);
  return {out, weights};
}

// PyTorch's constructor arguments, those not at their default after the first two.
std::string MultiheadAttention::extra_repr() const {
  std::string repr = fmt::format("embed_dim={}, num_heads={}", embed_dim, num_heads);
  if (options.dropout != 0.0) repr += fmt::format(", dropout={}", options.dropout);
  repr += fmt::format(", bias={}", options.bias);
  if (options.add_bias_kv) repr += ", add_bias_kv=true";
  if (options.add_zero_attn) repr += ", add_zero_attn=true";
  if (kdim != embed_dim) repr += fmt::format(", kdim={}", kdim);
  if (vdim != embed_dim) repr += fmt::format(", vdim={}", vdim);
  repr += fmt::format(", batch_first={}", options.batch_first);
  return repr;
}

}  // namespace descent::nn
