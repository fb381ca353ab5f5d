"""Golden gradients of composite expressions from PyTorch, for tests/autograd/test_composite.cpp:
expressions that chain several op families (matrix products, broadcasting, reductions, softmax,
indexing, views), so that a wrong backward anywhere in a chain shows. Each case "<name>" stores
its inputs "<name>/<input>", the scalar value "<name>/value" and the gradient of every input
"<name>/grad_<input>", all float64. Run with /usr/bin/python3 (Debian's python3-torch)."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
import golden_io  # noqa: E402

torch.manual_seed(7)


def randn(*shape):
    return torch.randn(*shape, dtype=torch.float64)


# name: (function of the inputs, {input name: tensor}); the C++ test writes the same expressions.
CASES = {
    # a two-layer MLP with a cross-entropy written out: log_softmax + gather + mean
    "mlp_nll": (lambda x, w1, b1, w2, target: -torch.log_softmax(torch.tanh(x @ w1 + b1) @ w2, 1)
                .gather(1, target.view(-1, 1)).mean(),
                {"x": randn(4, 3), "w1": randn(3, 5), "b1": randn(5), "w2": randn(5, 3),
                 "target": torch.tensor([0, 2, 1, 2])}),
    # attention-like: softmax(q k^T / sqrt(d)) v with a transposed view and a batch
    "attention": (lambda q, k, v: (torch.softmax(q @ k.transpose(1, 2) / 2.0, -1) @ v).pow(2).sum(),
                  {"q": randn(2, 3, 4), "k": randn(2, 3, 4), "v": randn(2, 3, 2)}),
    # normalisation by hand: (x - mean) / sqrt(var + eps) * gamma + beta over the last dim
    "layer_norm_by_hand": (lambda x, gamma, beta: ((x - x.mean(-1, keepdim=True))
                                                   / torch.sqrt(x.var(-1, keepdim=True, unbiased=False) + 1e-5)
                                                   * gamma + beta).sin().sum(),
                           {"x": randn(3, 5), "gamma": randn(5), "beta": randn(5)}),
    # reductions and broadcasting: logsumexp, amax, norm, prod mixed
    "reductions": (lambda a, b: torch.logsumexp(a * b.view(1, -1), 1).sum() + a.amax(0).sum()
                   + torch.linalg.vector_norm(a - b, 2) * a.prod(1).mean(),
                   {"a": randn(3, 4), "b": randn(4)}),
    # joining and slicing: cat, stack, split, flip, index_select, a strided slice
    "joining": (lambda a, b: (torch.cat([a, b.flip(0)], 0)[::2].index_select(1, torch.tensor([2, 0, 2]))
                              * torch.stack([a[0], b[1]], 0).sum(0)[:3]).exp().sum()
                + sum(p.square().sum() for p in torch.split(torch.cat([a, b], 1), 2, 1)),
                {"a": randn(3, 4), "b": randn(3, 4)}),
    # elementwise chain with where, clamp, sigmoid, pow with a tensor exponent
    "elementwise": (lambda x, y: torch.where(x > 0, torch.sigmoid(x * y), torch.clamp(y, -0.5, 0.5) ** 2).sum()
                    + (x.abs() + 1.0).pow(y.abs()).mean() - torch.log1p(x * x).sum() / torch.exp(y).sum(),
                    {"x": randn(2, 3), "y": randn(2, 3)}),
    # clamp with tensor bounds, broadcast, with ties, min == max and min > max (PyTorch's gradients)
    "clamp_tensor_bounds": (lambda x, lo, hi, w: (torch.clamp(x, lo, hi) * w).sum()
                            + (torch.clamp(x, min=lo) * w).sum() + torch.clamp(x, max=hi[0] * 0.5).sin().sum(),
                            {"x": torch.tensor([[0.0, 1.0, 2.0], [3.0, -1.0, 1.5]], dtype=torch.float64),
                             "lo": torch.tensor([1.0, 1.0, 2.5], dtype=torch.float64),
                             "hi": torch.tensor([[2.0, 1.0, 1.0], [2.0, 0.5, 3.0]], dtype=torch.float64),
                             "w": torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], dtype=torch.float64)}),
}

entries = {}
for name, (fn, inputs) in CASES.items():
    leaves = {k: (v.clone().requires_grad_(True) if v.is_floating_point() else v) for k, v in inputs.items()}
    value = fn(**leaves)
    value.backward()
    entries[f"{name}/value"] = value.detach()
    for k, v in leaves.items():
        entries[f"{name}/{k}"] = v.detach()
        if v.is_floating_point():
            entries[f"{name}/grad_{k}"] = v.grad
golden_io.write(os.path.join(os.path.dirname(os.path.abspath(__file__)), "composite.json"), entries)
