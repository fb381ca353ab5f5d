"""Golden values of the nn layer modules (tests/nn/test_conv.cpp, test_normalization.cpp,
test_attention.cpp, test_loss.cpp), from PyTorch in float64. For each case `name`:
  name/keys       {"keys": [...]}: the module's state_dict names, in order
  name/state/K    the state_dict entry K before the forward (the C++ test loads these)
  name/in/I       the inputs;  name/out  the output;  name/gy  the upstream gradient of out
  name/grad_in/I  d sum(out * gy) / d input I (floating inputs);  name/grad/P  the same for parameter P
  name/after/K    the buffers after the forward (running statistics)
Run: /usr/bin/python3 tests/nn/golden/gen_modules.py   (writes modules.json next to this file)"""
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
import golden_io  # noqa: E402

torch.manual_seed(0)
out = {}


def randn(*shape):
    return torch.randn(*shape, dtype=torch.float64)


def case(name, module, inputs, forward=None, train=True, extra=None):
    """Runs module on inputs (a dict name -> tensor, in call order) and records everything."""
    module = module.double()
    module.train(train)
    state = module.state_dict()
    out[name + "/keys"] = {"keys": list(state.keys())}
    for key, value in state.items():
        out[name + "/state/" + key] = value.clone()
    args = []
    for key, value in inputs.items():
        out[name + "/in/" + key] = value
        leaf = value.clone().requires_grad_(value.is_floating_point())
        args.append(leaf)
    result = forward(module, *args) if forward else module(*args)
    if isinstance(result, tuple):
        result, weights = result
        if weights is not None:
            out[name + "/weights"] = weights
    out[name + "/out"] = result
    gy = torch.randn(result.shape, dtype=torch.float64)
    out[name + "/gy"] = gy
    (result * gy).sum().backward()
    for key, leaf in zip(inputs.keys(), args):
        if leaf.is_floating_point():
            out[name + "/grad_in/" + key] = leaf.grad
    for key, param in module.named_parameters():
        out[name + "/grad/" + key] = param.grad
    for key, buffer in module.named_buffers():
        out[name + "/after/" + key] = buffer
    if extra:
        out.update({name + "/" + k: v for k, v in extra.items()})


# ---- convolution and pooling ----
case("conv2d", nn.Conv2d(2, 3, 3), {"x": randn(2, 2, 5, 5)})
case("conv2d_options", nn.Conv2d(4, 6, (3, 2), stride=2, padding=1, dilation=(1, 2), groups=2, bias=False),
     {"x": randn(1, 4, 7, 6)})
case("conv2d_same", nn.Conv2d(2, 2, 4, padding="same"), {"x": randn(1, 2, 5, 5)})
case("conv1d", nn.Conv1d(2, 4, 3, stride=2, padding=1), {"x": randn(2, 2, 7)})
case("conv1d_same_groups", nn.Conv1d(4, 4, 3, groups=4, dilation=2, padding="same"), {"x": randn(1, 4, 6)})
case("max_pool2d", nn.MaxPool2d(2), {"x": randn(2, 3, 6, 6)})
case("max_pool2d_options", nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), {"x": randn(1, 2, 6, 6)})
ties = randn(1, 2, 5, 6).round()  # many ties: the gradient goes to the first maximum
ties[0, 0, 2, 3] = float("nan")  # interior window: NaN wins
ties[0, 1, 0, 0] = float("nan")  # border window
case("max_pool2d_ties_nan", nn.MaxPool2d(2, stride=1, padding=1), {"x": ties})
case("avg_pool2d", nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), {"x": randn(1, 2, 5, 6)})
case("adaptive_avg_pool2d", nn.AdaptiveAvgPool2d((2, 3)), {"x": randn(1, 2, 5, 7)})

# ---- normalisation and embedding ----
case("batch_norm1d", nn.BatchNorm1d(3), {"x": randn(4, 3)})
case("batch_norm1d_3d", nn.BatchNorm1d(3, momentum=0.3), {"x": randn(2, 3, 4)})
bn = nn.BatchNorm2d(3, eps=1e-3)
bn.running_mean.copy_(randn(3))
bn.running_var.copy_(randn(3).abs() + 0.5)
bn.weight.data.copy_(randn(3))
bn.bias.data.copy_(randn(3))
bn.num_batches_tracked.fill_(3)
case("batch_norm2d_eval", bn, {"x": randn(2, 3, 2, 2)}, train=False)
bn = nn.BatchNorm2d(3, momentum=None)
bn.running_mean.copy_(randn(3))
bn.num_batches_tracked.fill_(3)
case("batch_norm2d_cumulative", bn, {"x": randn(3, 3, 2, 2)})
case("batch_norm2d_plain_eval", nn.BatchNorm2d(2, affine=False, track_running_stats=False), {"x": randn(2, 2, 2, 3)},
     train=False)
ln = nn.LayerNorm(4)
ln.weight.data.copy_(randn(4))
ln.bias.data.copy_(randn(4))
case("layer_norm", ln, {"x": randn(2, 3, 4)})
case("layer_norm_2d_no_affine", nn.LayerNorm([3, 4], elementwise_affine=False), {"x": randn(2, 3, 4)})
gn = nn.GroupNorm(2, 4)
gn.weight.data.copy_(randn(4))
gn.bias.data.copy_(randn(4))
case("group_norm", gn, {"x": randn(2, 4, 3)})
case("embedding", nn.Embedding(6, 3, padding_idx=1), {"x": torch.tensor([[0, 1, 5], [1, 2, 0]])})

# ---- attention ----
def mha_case(name, mha, call, inputs, **kwargs):
    with torch.no_grad():
        for p in mha.parameters():
            p.copy_(randn(*p.shape) * 0.5)  # non-zero biases, so that their gradients are tested
    case(name, mha, inputs, forward=lambda m, q, k, v: m(q, k, v, **call), **kwargs)


mha_case("mha", nn.MultiheadAttention(4, 2), {"need_weights": False},
         {"q": randn(3, 2, 4), "k": randn(5, 2, 4), "v": randn(5, 2, 4)})
masked = torch.tensor([[False, True, False, False, True]] * 3)
padding = torch.tensor([[False, False, False, True, True], [False] * 5])
mha_case("mha_masked_weights", nn.MultiheadAttention(4, 2, batch_first=True),
         {"attn_mask": masked, "key_padding_mask": padding},
         {"q": randn(2, 3, 4), "k": randn(2, 5, 4), "v": randn(2, 5, 4)},
         extra={"attn_mask": masked, "key_padding_mask": padding})
mha_case("mha_causal_no_bias", nn.MultiheadAttention(6, 3, bias=False, batch_first=True),
         {"attn_mask": torch.triu(torch.full((4, 4), float("-inf"), dtype=torch.float64), 1), "need_weights": False},
         {"q": randn(1, 4, 6), "k": randn(1, 4, 6), "v": randn(1, 4, 6)})

# ---- losses ----
logits, labels = randn(4, 3), torch.tensor([0, 2, 1, 2])
probs, binary = torch.rand(4, 3, dtype=torch.float64) * 0.9 + 0.05, (torch.rand(4, 3) > 0.5).double()
class_weight = torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64)
case("mse_loss", nn.MSELoss(), {"x": randn(3, 4), "target": randn(3, 4)})
case("l1_loss_sum", nn.L1Loss(reduction="sum"), {"x": randn(3, 4), "target": randn(3, 4)})
case("smooth_l1_loss", nn.SmoothL1Loss(beta=0.5), {"x": randn(3, 4), "target": randn(3, 4)})
case("huber_loss_none", nn.HuberLoss(reduction="none", delta=0.7), {"x": randn(3, 4), "target": randn(3, 4)})
case("cross_entropy_loss", nn.CrossEntropyLoss(weight=class_weight, label_smoothing=0.1, ignore_index=1),
     {"x": logits, "target": labels})
case("nll_loss", nn.NLLLoss(weight=class_weight, reduction="sum"), {"x": logits.log_softmax(1), "target": labels})
case("bce_loss", nn.BCELoss(weight=class_weight), {"x": probs, "target": binary})
case("bce_with_logits_loss", nn.BCEWithLogitsLoss(pos_weight=class_weight), {"x": logits, "target": binary})
case("kl_div_loss", nn.KLDivLoss(reduction="batchmean"), {"x": logits.log_softmax(1), "target": probs.softmax(1)})

# ---- options added later (appended here, so that the cases above keep their random draws) ----
# padding given as a string; "same" with even kernels and odd dilation pads one more at the end
case("conv2d_same_string", nn.Conv2d(2, 3, (4, 2), padding="same", dilation=(1, 3)), {"x": randn(1, 2, 5, 6)})
case("conv2d_valid", nn.Conv2d(2, 2, 3, stride=2, padding="valid"), {"x": randn(1, 2, 6, 5)})
case("conv1d_same_even", nn.Conv1d(2, 3, 4, padding="same", dilation=3), {"x": randn(2, 2, 9)})

# Embedding: max_norm renormalises the looked-up rows in place (name/weight_after), scale_grad_by_freq
lookups = torch.tensor([[0, 1, 5, 1], [3, 2, 0, 1]])
emb = nn.Embedding(6, 3, padding_idx=2, max_norm=1.2)
with torch.no_grad():
    emb.weight.mul_(1.5)
case("embedding_max_norm", emb, {"x": lookups})
out["embedding_max_norm/weight_after"] = emb.weight.detach().clone()
emb = nn.Embedding(6, 3, max_norm=2.0, norm_type=1.0, scale_grad_by_freq=True)
case("embedding_max_norm_l1_freq", emb, {"x": lookups})
out["embedding_max_norm_l1_freq/weight_after"] = emb.weight.detach().clone()
case("embedding_freq_padding", nn.Embedding(6, 3, padding_idx=1, scale_grad_by_freq=True), {"x": lookups})
pretrained = randn(4, 3)
case("embedding_from_pretrained", nn.Embedding.from_pretrained(pretrained.clone(), freeze=False, padding_idx=1),
     {"x": torch.tensor([1, 3, 1, 0])})

# MultiheadAttention options: kdim / vdim (separate projection weights), add_bias_kv, add_zero_attn,
# unbatched input, per-head weights; dropout is off in eval mode. name/weights: need_weights=True.
mha_case("mha_kdim_vdim", nn.MultiheadAttention(4, 2, kdim=3, vdim=5), {},
         {"q": randn(3, 2, 4), "k": randn(5, 2, 3), "v": randn(5, 2, 5)})
mha_case("mha_bias_kv_zero_attn", nn.MultiheadAttention(4, 2, add_bias_kv=True, add_zero_attn=True, batch_first=True),
         {"attn_mask": masked, "key_padding_mask": padding, "average_attn_weights": False},
         {"q": randn(2, 3, 4), "k": randn(2, 5, 4), "v": randn(2, 5, 4)})
mha_case("mha_unbatched_bias_kv_kdim", nn.MultiheadAttention(6, 3, bias=False, add_bias_kv=True, kdim=2, vdim=4),
         {"attn_mask": torch.triu(torch.full((3, 4), float("-inf"), dtype=torch.float64), 1)},
         {"q": randn(3, 6), "k": randn(4, 2), "v": randn(4, 4)})
mha_case("mha_zero_attn_dropout_eval", nn.MultiheadAttention(4, 2, dropout=0.4, add_zero_attn=True),
         {"key_padding_mask": padding, "need_weights": False},
         {"q": randn(3, 2, 4), "k": randn(5, 2, 4), "v": randn(5, 2, 4)}, train=False)

# Conv padding_mode (the input padded by F.pad, then convolved unpadded); AvgPool2d divisor_override
case("conv2d_reflect", nn.Conv2d(2, 3, 3, padding=(1, 2), padding_mode="reflect"), {"x": randn(2, 2, 4, 5)})
case("conv2d_replicate_same", nn.Conv2d(2, 2, (2, 3), padding="same", padding_mode="replicate"),
     {"x": randn(1, 2, 4, 4)})
case("conv2d_circular_strided", nn.Conv2d(2, 2, 3, stride=2, padding=1, padding_mode="circular"),
     {"x": randn(1, 2, 5, 6)})
case("conv1d_circular", nn.Conv1d(2, 3, 3, padding=2, padding_mode="circular", dilation=2), {"x": randn(2, 2, 6)})
case("conv1d_reflect_same_even", nn.Conv1d(2, 2, 4, padding="same", padding_mode="reflect"), {"x": randn(1, 2, 7)})
case("avg_pool2d_divisor_override", nn.AvgPool2d(3, stride=2, padding=1, divisor_override=4), {"x": randn(1, 2, 5, 5)})

golden_io.write(os.path.join(os.path.dirname(os.path.abspath(__file__)), "modules.json"), out)
