"""Golden values for tests/nn/test_functional_*.cpp: the output of each nn.functional op on small
float64 inputs and the gradients of sum(out * gy) for a random gy, from PyTorch.
Run with /usr/bin/python3 (Debian's torch): writes functional.json next to this file."""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
import golden_io  # noqa: E402

torch.manual_seed(0)
entries = {}


def randn(*shape):
    return torch.randn(shape, dtype=torch.float64)


def case(name, fn, inputs, differentiable):
    """inputs: name -> tensor; records name/<input>, name/out, name/gy, name/grad_<input>."""
    leaves = {}
    for key, value in inputs.items():
        leaf = value.detach().clone()
        if key in differentiable:
            leaf.requires_grad_(True)
        leaves[key] = leaf
        entries[f"{name}/{key}"] = value
    out = fn(**leaves)
    gy = randn(*out.shape)
    (out * gy).sum().backward()
    entries[f"{name}/out"] = out
    entries[f"{name}/gy"] = gy
    for key in differentiable:
        entries[f"{name}/grad_{key}"] = leaves[key].grad


# ---- convolutions ----
def conv2d_case(name, n, cin, cout, hw, k, groups=1, bias=True, **options):
    inputs = {"x": randn(n, cin, *hw), "w": randn(cout, cin // groups, *k)}
    if bias:
        inputs["b"] = randn(cout)
    case(name, lambda x, w, b=None: F.conv2d(x, w, b, groups=groups, **options), inputs, list(inputs))


conv2d_case("conv2d_plain", 2, 3, 4, (6, 5), (3, 3))
conv2d_case("conv2d_stride_pad", 2, 2, 3, (7, 6), (3, 2), stride=(2, 1), padding=(1, 2), bias=False)
conv2d_case("conv2d_dilation", 1, 2, 2, (7, 7), (3, 3), dilation=(2, 1), padding=1)
conv2d_case("conv2d_groups", 2, 4, 6, (5, 5), (3, 3), groups=2, stride=2, padding=1)
conv2d_case("conv2d_same_even", 1, 2, 3, (5, 6), (2, 4), padding="same")
conv2d_case("conv2d_pointwise", 2, 3, 4, (3, 3), (1, 1))
case("conv1d", lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, dilation=2, groups=2),
     {"x": randn(2, 4, 9), "w": randn(6, 2, 3), "b": randn(6)}, ["x", "w", "b"])

# ---- pooling ----
case("max_pool2d", lambda x: F.max_pool2d(x, 2), {"x": randn(2, 3, 6, 5)}, ["x"])
case("max_pool2d_options", lambda x: F.max_pool2d(x, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2), ceil_mode=True),
     {"x": randn(1, 2, 7, 6)}, ["x"])
case("avg_pool2d", lambda x: F.avg_pool2d(x, 3, stride=2, padding=1), {"x": randn(2, 2, 7, 6)}, ["x"])
case("avg_pool2d_ceil_exclude_pad",
     lambda x: F.avg_pool2d(x, (3, 2), stride=2, padding=1, ceil_mode=True, count_include_pad=False),
     {"x": randn(1, 2, 6, 7)}, ["x"])
case("avg_pool2d_ceil_include_pad", lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True),
     {"x": randn(1, 2, 6, 6)}, ["x"])
case("adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, (3, 4)), {"x": randn(2, 2, 7, 5)}, ["x"])

# ---- norms and embedding ----
case("batch_norm_train", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True, eps=1e-3),
     {"x": randn(4, 3, 2, 2), "w": randn(3), "b": randn(3)}, ["x", "w", "b"])
case("batch_norm_eval", lambda x, rm, rv, w, b: F.batch_norm(x, rm, rv, w, b, training=False),
     {"x": randn(3, 2, 3), "rm": randn(2), "rv": torch.rand(2, dtype=torch.float64) + 0.5, "w": randn(2), "b": randn(2)},
     ["x", "w", "b"])
running_mean, running_var = randn(3), torch.rand(3, dtype=torch.float64) + 0.5
entries["batch_norm_running/rm"], entries["batch_norm_running/rv"] = running_mean.clone(), running_var.clone()
x_running = randn(5, 3, 2)
entries["batch_norm_running/x"] = x_running
F.batch_norm(x_running, running_mean, running_var, training=True, momentum=0.3)
entries["batch_norm_running/rm_after"], entries["batch_norm_running/rv_after"] = running_mean, running_var
case("layer_norm", lambda x, w, b: F.layer_norm(x, (3, 4), w, b), {"x": randn(2, 3, 4), "w": randn(3, 4), "b": randn(3, 4)},
     ["x", "w", "b"])
case("layer_norm_plain", lambda x: F.layer_norm(x, (5,)), {"x": randn(3, 5)}, ["x"])
case("group_norm", lambda x, w, b: F.group_norm(x, 2, w, b), {"x": randn(2, 4, 3), "w": randn(4), "b": randn(4)},
     ["x", "w", "b"])
case("embedding", lambda i, w: F.embedding(i, w, padding_idx=2),
     {"i": torch.tensor([[0, 2, 4], [2, 1, 0]]), "w": randn(5, 3)}, ["w"])

# ---- attention (torch 1.13 has no F.scaled_dot_product_attention: written out) ----
def attention(q, k, v, mask=None, causal=False, scale=None):
    scores = q @ k.transpose(-2, -1) * (scale if scale is not None else q.shape[-1] ** -0.5)
    if causal:
        scores = scores.masked_fill(~torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool).tril(), float("-inf"))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    return torch.softmax(scores, -1) @ v


case("attention", lambda q, k, v: attention(q, k, v), {"q": randn(2, 3, 4), "k": randn(2, 5, 4), "v": randn(2, 5, 2)},
     ["q", "k", "v"])
case("attention_causal_bool_mask",
     lambda q, k, v, m: attention(q, k, v, mask=m, causal=True, scale=0.7),
     {"q": randn(1, 2, 4, 3), "k": randn(1, 2, 4, 3), "v": randn(1, 2, 4, 3),
      "m": torch.tensor([[True, False, True, True]] * 4)}, ["q", "k", "v"])
case("attention_float_mask", lambda q, k, v, m: attention(q, k, v, mask=m),
     {"q": randn(3, 2), "k": randn(4, 2), "v": randn(4, 3), "m": randn(3, 4)}, ["q", "k", "v"])

# ---- losses ----
logits = randn(5, 4)
labels = torch.tensor([0, 3, 1, 3, 2])
probs = torch.softmax(randn(5, 4), 1)
class_weight = torch.rand(4, dtype=torch.float64) + 0.5
case("cross_entropy", lambda x, y: F.cross_entropy(x, y), {"x": logits, "y": labels}, ["x"])
case("cross_entropy_options",
     lambda x, y, w: F.cross_entropy(x, y, weight=w, ignore_index=3, label_smoothing=0.2),
     {"x": logits, "y": labels, "w": class_weight}, ["x"])
case("cross_entropy_smoothing_sum", lambda x, y: F.cross_entropy(x, y, label_smoothing=0.1, reduction="sum"),
     {"x": logits, "y": labels}, ["x"])
case("cross_entropy_none_spatial", lambda x, y, w: F.cross_entropy(x, y, weight=w, reduction="none"),
     {"x": randn(2, 3, 2, 2), "y": torch.tensor([[[0, 2], [1, 1]], [[2, 0], [0, 1]]]), "w": torch.rand(3, dtype=torch.float64) + 0.5},
     ["x"])
case("cross_entropy_probs", lambda x, p, w: F.cross_entropy(x, p, weight=w, label_smoothing=0.3),
     {"x": logits, "p": probs, "w": class_weight}, ["x", "p"])
case("cross_entropy_large_logits", lambda x, y: F.cross_entropy(x, y),
     {"x": torch.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [3.0, -1e4, 2.0]], dtype=torch.float64),
      "y": torch.tensor([1, 2, 0])}, ["x"])
log_probs = torch.log_softmax(randn(5, 4), 1)
case("nll_loss", lambda x, y, w: F.nll_loss(x, y, weight=w, ignore_index=1), {"x": log_probs, "y": labels, "w": class_weight}, ["x"])
case("nll_loss_sum", lambda x, y: F.nll_loss(x, y, reduction="sum"), {"x": log_probs, "y": labels}, ["x"])
a, b = randn(3, 4), randn(3, 4)
case("mse_loss", lambda x, y: F.mse_loss(x, y), {"x": a, "y": b}, ["x", "y"])
case("l1_loss_sum", lambda x, y: F.l1_loss(x, y, reduction="sum"), {"x": a, "y": b}, ["x", "y"])
case("smooth_l1_loss", lambda x, y: F.smooth_l1_loss(x, y, beta=0.8), {"x": a, "y": b}, ["x", "y"])
case("huber_loss_none", lambda x, y: F.huber_loss(x, y, reduction="none", delta=0.7), {"x": a, "y": b}, ["x", "y"])
p = torch.rand(3, 4, dtype=torch.float64) * 0.9 + 0.05
t = torch.rand(3, 4, dtype=torch.float64)
case("binary_cross_entropy", lambda x, y, w: F.binary_cross_entropy(x, y, weight=w),
     {"x": p, "y": t, "w": torch.rand(3, 4, dtype=torch.float64)}, ["x", "y"])
case("binary_cross_entropy_with_logits",
     lambda x, y, pw: F.binary_cross_entropy_with_logits(x, y, pos_weight=pw, reduction="sum"),
     {"x": randn(3, 4) * 3, "y": t, "pw": torch.rand(4, dtype=torch.float64) + 0.5}, ["x", "y"])
case("kl_div_batchmean", lambda x, y: F.kl_div(x, y, reduction="batchmean"),
     {"x": log_probs, "y": torch.cat([probs[:, :3], torch.zeros(5, 1, dtype=torch.float64)], 1)}, ["x"])
case("kl_div_log_target", lambda x, y: F.kl_div(x, y, reduction="sum", log_target=True),
     {"x": log_probs, "y": torch.log(probs)}, ["x", "y"])

# ---- numerical edges: PyTorch's clamps and the all-ignored mean (gradcheck off: at x in {0, 1}
# the gradient is PyTorch's clamped one, not the derivative) ----
case("binary_cross_entropy_edges", lambda x, y: F.binary_cross_entropy(x, y, reduction="sum"),
     {"x": torch.tensor([0.0, 1.0, 1e-30, 0.0, 1.0, 0.5, 1e-7], dtype=torch.float64),
      "y": torch.tensor([0.0, 1.0, 0.0, 1.0, 0.0, 0.25, 1.0], dtype=torch.float64)}, ["x"])
case("cross_entropy_all_ignored", lambda x, y: F.cross_entropy(x, y, ignore_index=2),
     {"x": randn(3, 4), "y": torch.tensor([2, 2, 2])}, ["x"])
case("nll_loss_all_ignored", lambda x, y, w: F.nll_loss(x, y, weight=w),
     {"x": log_probs[:2], "y": torch.tensor([-100, -100]), "w": class_weight}, ["x"])

# ---- options: avg_pool2d's divisor_override, pad's modes ----
case("avg_pool2d_divisor_override", lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, divisor_override=5),
     {"x": randn(2, 2, 7, 6)}, ["x"])
case("pad_reflect_1d", lambda x: F.pad(x, (2, 3), mode="reflect"), {"x": randn(2, 3, 5)}, ["x"])
case("pad_replicate_1d", lambda x: F.pad(x, (4, 1), mode="replicate"), {"x": randn(3, 4)}, ["x"])
case("pad_circular_1d", lambda x: F.pad(x, (3, 2), mode="circular"), {"x": randn(2, 2, 4)}, ["x"])
case("pad_reflect_2d", lambda x: F.pad(x, (1, 2, 3, 0), mode="reflect"), {"x": randn(2, 2, 4, 3)}, ["x"])
case("pad_replicate_2d", lambda x: F.pad(x, (2, 0, 1, 3), mode="replicate"), {"x": randn(2, 3, 4)}, ["x"])
case("pad_circular_2d", lambda x: F.pad(x, (1, 3, 2, 1), mode="circular"), {"x": randn(1, 2, 3, 4)}, ["x"])
case("pad_circular_crop", lambda x: F.pad(x, (-1, 2), mode="circular"), {"x": randn(2, 2, 4)}, ["x"])
case("pad_constant_value", lambda x: F.pad(x, (1, 2, 0, 1), value=0.5), {"x": randn(2, 3, 2)}, ["x"])

golden_io.write(os.path.join(os.path.dirname(__file__), "functional.json"), entries)
