"""Golden gradients of the unary ops from PyTorch, for tests/autograd/test_unary_grad.cpp.
Each case: the input x, an upstream gradient g and x.grad after y.backward(g), in float32 and
float64; kinks (relu and abs at 0, clamp at its bounds, pow(0, 0), nan_to_num of NaN and inf)
included on purpose. Run with /usr/bin/python3 (Debian's python3-torch) from this folder."""
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
import golden_io  # noqa: E402

# The general inputs hold 0, the clamp bounds -1, 0.5, 1 and a value past softplus' threshold.
X = [-2.5, -1.0, -0.5, 0.0, 0.3, 0.5, 1.0, 2.0, 3.5, 25.0]
POSITIVE = [0.01, 0.3, 0.5, 1.0, 2.0, 3.5, 10.0]
NONZERO = [-2.5, -1.0, -0.5, 0.3, 0.5, 1.0, 2.0, 3.5]

CASES = {
    "neg": (torch.neg, X),
    "abs": (torch.abs, X),
    "sign": (torch.sign, X),
    "exp": (torch.exp, [v for v in X if v < 20]),
    "expm1": (torch.expm1, [v for v in X if v < 20]),
    "log": (torch.log, POSITIVE),
    "log1p": (torch.log1p, POSITIVE + [-0.5]),
    "log2": (torch.log2, POSITIVE),
    "sqrt": (torch.sqrt, POSITIVE),
    "rsqrt": (torch.rsqrt, POSITIVE),
    "square": (torch.square, X),
    "sin": (torch.sin, X),
    "cos": (torch.cos, X),
    "tanh": (torch.tanh, X),
    "sigmoid": (torch.sigmoid, X),
    "relu": (torch.relu, X),
    "relu_nan": (torch.relu, [math.nan, 1.0, -1.0]),
    "leaky_relu": (F.leaky_relu, X),
    "leaky_relu_0.2": (lambda x: F.leaky_relu(x, 0.2), X),
    "gelu": (F.gelu, X),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), X),
    "silu": (F.silu, X),
    "softplus": (F.softplus, X),
    "softplus_beta2_threshold3": (lambda x: F.softplus(x, beta=2.0, threshold=3.0), X),
    "erf": (torch.erf, X),
    "floor": (torch.floor, X),
    "ceil": (torch.ceil, X),
    "round": (torch.round, X),
    "clamp_-1_1": (lambda x: torch.clamp(x, -1.0, 1.0), X),
    "clamp_min_0.5": (lambda x: torch.clamp(x, min=0.5), X),
    "clamp_max_0": (lambda x: torch.clamp(x, max=0), X),
    "clamp_empty_range": (lambda x: torch.clamp(x, 1.0, -1.0), X),
    "reciprocal": (torch.reciprocal, NONZERO),
    "pow_3": (lambda x: torch.pow(x, 3), X),
    "pow_2.5": (lambda x: torch.pow(x, 2.5), POSITIVE),
    "pow_-1.5": (lambda x: torch.pow(x, -1.5), POSITIVE),
    "pow_0": (lambda x: torch.pow(x, 0), X),
    "pow_0.5": (lambda x: torch.pow(x, 0.5), [0.0, 1.0, 4.0]),
    "nan_to_num": (torch.nan_to_num, [math.nan, math.inf, -math.inf, 1.0, -2.0]),
}


def main():
    entries = {}
    for name, (fn, values) in CASES.items():
        for dtype in (torch.float32, torch.float64):
            suffix = "f32" if dtype == torch.float32 else "f64"
            x = torch.tensor(values, dtype=dtype, requires_grad=True)
            g = 0.5 + 0.25 * torch.arange(len(values), dtype=dtype)
            fn(x).backward(g)
            entries[f"{name}/{suffix}/x"] = x.detach()
            entries[f"{name}/{suffix}/g"] = g
            entries[f"{name}/{suffix}/grad"] = x.grad
    golden_io.write(os.path.join(os.path.dirname(os.path.abspath(__file__)), "unary_grad.json"), entries)


if __name__ == "__main__":
    main()
