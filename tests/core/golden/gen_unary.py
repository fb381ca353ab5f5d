"""Golden values for tests/core/test_unary.cpp from PyTorch 1.13. Run with /usr/bin/python3 (Debian's
python3-torch) from anywhere: it rewrites unary.json next to it.

Layout:
  "<op>/x"        float32 inputs: edge values (0, -0, +-tiny, +-huge, +-inf, NaN, values where the
                  op changes regime) and random ones. Stored as float32, exact in float64 too.
  "<op>/f64"      the op in float64 on those inputs: the reference for both dtypes (the C++
                  test rounds it to float32 for float32 results). For gelu, PyTorch's formulas
                  lose the negative tail to cancellation (1 + erf(x/sqrt2), 1 + tanh(y)) even in
                  float64, so the reference is x Phi(x) in mpmath (40 digits) and the tanh
                  form through torch.sigmoid; "<op>/torch" keeps F.gelu's own float64 values.
  "<op>/f32"      PyTorch's own float32 result, for the ops whose edge semantics are PyTorch's
                  rather than mathematics' (sign of NaN, clamp with NaN bounds, ...).
  "int/<op>", "bool/<op>"   ops on int64 (small values, 2^40 + 3, -2^62) and bool inputs.
  "<op>@<param>"  ops with arguments (softplus beta/threshold, leaky_relu slope, clamp bounds,
                  pow exponents, nan_to_num replacements)."""
import math
import os
import sys

import mpmath
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
import golden_io  # noqa: E402

torch.manual_seed(0)
INF, NAN = math.inf, math.nan
F32_MAX = float(np.finfo(np.float32).max)
F32_TINY = float(np.finfo(np.float32).tiny)  # smallest normal
F32_SUB = 1e-45  # smallest subnormal (rounds to 2^-149 in float32)

EDGES = [0.0, -0.0, NAN, INF, -INF, F32_SUB, -F32_SUB, F32_TINY, -F32_TINY, 1e-30, -1e-30, 1e-8, -1e-8,
         0.5, -0.5, 1.0, -1.0, 1.5, -1.5, 2.5, -2.5, 3.0, -3.0, 1e30, -1e30, F32_MAX, -F32_MAX]


def inputs(extra, low, high, count=48):
    """Edge values, op-specific values and `count` uniform random values in [low, high], as float32."""
    random = torch.empty(count, dtype=torch.float64).uniform_(low, high).tolist()
    return torch.tensor(EDGES + extra + random, dtype=torch.float32)


def exact_gelu(t):
    """x Phi(x) in 40-digit arithmetic, rounded to float64 (torch.erfc(-x / sqrt2) rounds its argument
    first, which costs up to 2 z^2 ulp in the negative tail)."""
    mpmath.mp.dps = 40
    def gelu(x):
        if not math.isfinite(x):  # as the float formula: NaN, inf, and -inf * 0 = NaN
            return 0.5 * x * math.erfc(-x / math.sqrt(2.0))
        m = mpmath.mpf(x)
        return float(m * mpmath.erfc(-m / mpmath.sqrt(2)) / 2)

    values = [gelu(x) for x in t.tolist()]
    return torch.tensor(values, dtype=torch.float64)


# op -> (torch function, op-specific inputs, random range)
FLOAT_OPS = {
    "neg": (torch.neg, [], -10, 10),
    "abs": (torch.abs, [], -10, 10),
    "sign": (torch.sign, [], -10, 10),
    "square": (torch.square, [1e20, -1e20], -10, 10),
    "exp": (torch.exp, [88.0, 88.7, 89.0, -87.0, -88.0, -100.0, -103.0, -104.0, 709.0, -745.0], -20, 20),
    "expm1": (torch.expm1, [1e-6, -1e-6, 0.3, -0.3, 88.0, 89.0, -17.0, -40.0], -5, 5),
    "log": (torch.log, [1.0 + 2**-23, 1.0 - 2**-24, 0.7071, 1.4142, 1e-40], 0, 100),
    "log1p": (torch.log1p, [1e-6, -1e-6, -0.999999, -1.0 + 2**-24, 1e-40, 10.0], -1, 10),
    "log2": (torch.log2, [8.0, 1024.0, 2**-130, 0.75, 3.0], 0, 100),
    "sqrt": (torch.sqrt, [4.0, 2.0, 1e-40], 0, 100),
    "rsqrt": (torch.rsqrt, [4.0, 2.0, 1e-40], 0, 100),
    "reciprocal": (torch.reciprocal, [3.0, 1e-40, 1e38], -10, 10),
    "sin": (torch.sin, [3.14159265, 1e4, 1e5, 1e6, 1e7, -4e20, 1.5707964], -10, 10),
    "cos": (torch.cos, [3.14159265, 1e4, 1e5, 1e6, 1e7, -4e20, 1.5707964], -10, 10),
    "tanh": (torch.tanh, [0.1, -0.1, 9.0, 10.0, 20.0, -20.0, 1e-4], -6, 6),
    "sigmoid": (torch.sigmoid, [20.0, -20.0, 88.0, -88.0, -89.0, 100.0, -100.0, -104.0], -10, 10),
    "erf": (torch.erf, [0.5, -0.5, 0.49, 0.51, 2.0, 4.0, -4.0, 6.0], -4, 4),
    "relu": (torch.relu, [], -10, 10),
    "gelu": (lambda t: exact_gelu(t), [-5.0, -10.0, -13.0, -14.0, -30.0, 5.0, 10.0], -6, 6),
    "gelu_tanh": (lambda t: t * torch.sigmoid(2.0 * math.sqrt(2.0 / math.pi) * (t + 0.044715 * t**3)),
                  [-5.0, -10.0, -13.0, -30.0, 5.0, 10.0], -6, 6),
    "silu": (F.silu, [-20.0, -88.0, -100.0, 20.0, 100.0], -10, 10),
    "softplus": (F.softplus, [19.9, 20.0, 20.1, 30.0, -30.0, -100.0], -25, 25),
    "leaky_relu": (F.leaky_relu, [], -10, 10),
    "floor": (torch.floor, [8388607.5, -8388607.5, 0.49999997], -10, 10),
    "ceil": (torch.ceil, [8388607.5, -8388607.5, 0.49999997], -10, 10),
    "round": (torch.round, [0.49999997, 4.5, 5.5, -4.5, -5.5, 8388607.5, -8388607.5], -10, 10),
    "isnan": (torch.isnan, [], -10, 10),
    "isinf": (torch.isinf, [], -10, 10),
    "isfinite": (torch.isfinite, [], -10, 10),
    "logical_not": (torch.logical_not, [], -10, 10),
    "nan_to_num": (torch.nan_to_num, [], -10, 10),
}
# Ops whose float32 edge behaviour the test checks against PyTorch's own float32 result.
TORCH_F32 = {"sign", "relu", "leaky_relu", "round", "floor", "ceil", "nan_to_num", "isnan", "isinf", "isfinite",
             "logical_not", "neg", "abs"}

# op@param -> (torch function, input op whose "x" it reuses)
PARAM_OPS = {
    "softplus@beta2_threshold5": (lambda t: F.softplus(t, beta=2.0, threshold=5.0), "softplus"),
    "softplus@beta-1": (lambda t: F.softplus(t, beta=-1.0), "softplus"),
    "leaky_relu@0.2": (lambda t: F.leaky_relu(t, negative_slope=0.2), "leaky_relu"),
    "clamp@-1_2": (lambda t: torch.clamp(t, min=-1.0, max=2.0), "relu"),
    "clamp@min0.5": (lambda t: torch.clamp(t, min=0.5), "relu"),
    "clamp@max-0.5": (lambda t: torch.clamp(t, max=-0.5), "relu"),
    "clamp@2_1": (lambda t: torch.clamp(t, min=2.0, max=1.0), "relu"),
    "clamp@minnan": (lambda t: torch.clamp(t, min=NAN), "relu"),
    "clamp@maxnan": (lambda t: torch.clamp(t, max=NAN), "relu"),
    "clamp@0_nan": (lambda t: torch.clamp(t, min=0.0, max=NAN), "relu"),
    "nan_to_num@1.5_7_-7": (lambda t: torch.nan_to_num(t, nan=1.5, posinf=7.0, neginf=-7.0), "nan_to_num"),
}
POW_EXPONENTS = [0.5, -0.5, 1.0, 2.0, 3.0, -1.0, -2.0, 0.0, 1.5, -1.5, 1.0 / 3.0]

# Exact in float64 (the C++ golden reader goes through double); squares of the last two wrap.
INT_VALUES = [-3, 0, 5, -7, 2, 1, -1, 2**40 + 3, -(2**62)]
INT_OPS = {
    "neg": torch.neg, "abs": torch.abs, "sign": torch.sign, "square": torch.square, "relu": torch.relu,
    "floor": torch.floor, "ceil": torch.ceil, "round": torch.round,
    "exp": torch.exp, "sqrt": torch.sqrt, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "reciprocal": torch.reciprocal,
    "log2": torch.log2, "erf": torch.erf,
    "isnan": torch.isnan, "isinf": torch.isinf, "isfinite": torch.isfinite, "logical_not": torch.logical_not,
    "nan_to_num": torch.nan_to_num,
    "clamp@-2_3": lambda t: torch.clamp(t, min=-2, max=3),
    "clamp@min0.5": lambda t: torch.clamp(t, min=0.5),
    "pow@2": lambda t: torch.pow(t, 2), "pow@3": lambda t: torch.pow(t, 3), "pow@0": lambda t: torch.pow(t, 0),
    "pow@0.5": lambda t: torch.pow(t, 0.5),
}
BOOL_OPS = {
    "sign": torch.sign, "square": torch.square, "exp": torch.exp, "sqrt": torch.sqrt, "sigmoid": torch.sigmoid,
    "isnan": torch.isnan, "isfinite": torch.isfinite, "logical_not": torch.logical_not,
    "nan_to_num": torch.nan_to_num, "clamp@0_1": lambda t: torch.clamp(t, min=0, max=1),
    "pow@2": lambda t: torch.pow(t, 2), "pow@0.5": lambda t: torch.pow(t, 0.5),
}

entries = {}
for op, (fn, extra, low, high) in FLOAT_OPS.items():
    x = inputs(extra, low, high)
    entries[op + "/x"] = x
    entries[op + "/f64"] = fn(x.to(torch.float64))
    if op in TORCH_F32:
        entries[op + "/f32"] = fn(x)
entries["gelu/torch"] = F.gelu(entries["gelu/x"].to(torch.float64))
entries["gelu_tanh/torch"] = F.gelu(entries["gelu_tanh/x"].to(torch.float64), approximate="tanh")
for name, (fn, source) in PARAM_OPS.items():
    x = entries[source + "/x"]
    entries[name + "/f64"] = fn(x.to(torch.float64))
    entries[name + "/f32"] = fn(x)
pow_x = inputs([4.0, 0.25, 1e-20, -1e-20, 1e20, -1e20], -5, 5, count=24)
entries["pow/x"] = pow_x
for e in POW_EXPONENTS:
    entries[f"pow@{e!r}/f64"] = torch.pow(pow_x.to(torch.float64), e)
    entries[f"pow@{e!r}/f32"] = torch.pow(pow_x, e)
entries["pow/exponents"] = torch.tensor(POW_EXPONENTS, dtype=torch.float64)

ints = torch.tensor(INT_VALUES, dtype=torch.int64)
entries["int/x"] = ints
for op, fn in INT_OPS.items():
    entries["int/" + op] = fn(ints)
bools = torch.tensor([True, False, True])
entries["bool/x"] = bools
for op, fn in BOOL_OPS.items():
    entries["bool/" + op] = fn(bools)

golden_io.write(os.path.join(os.path.dirname(os.path.abspath(__file__)), "unary.json"), entries)
