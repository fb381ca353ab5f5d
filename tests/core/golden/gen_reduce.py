"""Golden values for tests/core/test_reduce.cpp from PyTorch 1.13 (and NumPy where torch takes
one dim only). Run with /usr/bin/python3 (Debian's python3-torch) from the repository root:
    /usr/bin/python3 tests/core/golden/gen_reduce.py
Each case names an input, a view of it that the C++ test rebuilds with core:: views, an op and
its arguments, and the expected result(s)."""
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
import golden_io  # noqa: E402

torch.manual_seed(0)
INF, NAN = math.inf, math.nan

inputs = {
    "x32": torch.randn(3, 4, 5, dtype=torch.float32),
    "x64": torch.randn(3, 4, 5, dtype=torch.float64),
    # rows: NaNs, all -inf, +inf with ties, plain ties, -inf mixed with finite values
    "special32": torch.tensor([[1.0, NAN, 3.0, NAN],
                               [-INF, -INF, -INF, -INF],
                               [INF, 1.0, INF, -2.0],
                               [2.0, 2.0, -1.0, 2.0],
                               [-INF, 0.0, 1.0, -INF]], dtype=torch.float32),
    "ints": torch.tensor([[3, -1, 3, 0], [-5, 2, 2, -5], [7, 0, 1, 1]], dtype=torch.int64),
    "bools": torch.tensor([[True, False, True, True], [True, True, True, True], [False, False, False, False]]),
}
inputs["special64"] = inputs["special32"].to(torch.float64)


def view(x, kind):
    """The views the C++ test rebuilds: see make_view in test_reduce.cpp."""
    if kind == "plain":
        return x
    if kind == "transposed":  # transpose(0, last)
        return x.transpose(0, x.dim() - 1)
    if kind == "sliced":  # slice(1, 0, end, 2)
        return x[:, ::2]
    if kind == "expanded":  # narrow(1, 0, 1), then expand back to the full shape
        return x.narrow(1, 0, 1).expand(x.shape)
    raise ValueError(kind)


def all_dims(x, dims):
    return tuple(dims) if dims else tuple(range(x.dim()))


def reduce(op, x, dims, keepdim, p=None, correction=None):
    """Our op over `dims` ([] = all) computed by torch/numpy."""
    d = all_dims(x, dims)
    if op == "sum":
        return torch.sum(x, dim=d, keepdim=keepdim)
    if op == "mean":
        return torch.mean(x, dim=d, keepdim=keepdim)
    if op == "prod":  # torch.prod takes one dim: numpy in float64, cast back
        wide = x.to(torch.float64) if x.is_floating_point() else x.to(torch.int64)
        r = np.prod(wide.numpy(), axis=d, keepdims=keepdim)
        return torch.from_numpy(np.asarray(r)).to(x.dtype if x.is_floating_point() else torch.int64)
    if op == "amax":
        return torch.amax(x, dim=d, keepdim=keepdim)
    if op == "amin":
        return torch.amin(x, dim=d, keepdim=keepdim)
    if op == "var":
        return torch.var(x, dim=d, correction=correction, keepdim=keepdim)
    if op == "std":
        return torch.std(x, dim=d, correction=correction, keepdim=keepdim)
    if op == "norm":
        return torch.linalg.vector_norm(x, ord=p, dim=d, keepdim=keepdim)
    if op == "logsumexp":
        return torch.logsumexp(x, dim=d, keepdim=keepdim)
    if op == "all":
        return torch.from_numpy(np.asarray(np.all(x.numpy() != 0, axis=d, keepdims=keepdim)))
    if op == "any":
        return torch.from_numpy(np.asarray(np.any(x.numpy() != 0, axis=d, keepdims=keepdim)))
    raise ValueError(op)


cases = []
entries = {}


def add(name, spec, *results):
    keys = ["expected", "indices"]
    for key, result in zip(keys, results):
        entries[f"{name}.{key}"] = result
        spec[key] = f"{name}.{key}"
    spec["name"] = name
    cases.append(spec)


def add_reduction(input_name, kind, op, dims, keepdim, p=None, correction=None):
    x = view(inputs[input_name], kind)
    tag = "all" if not dims else "d" + "_".join(str(d).replace("-", "m") for d in dims)
    name = f"{op}_{input_name}_{kind}_{tag}{'_keep' if keepdim else ''}"
    if p is not None:
        name += "_p" + str(p).replace(".", "p").replace("-", "m")
    if correction is not None:
        name += f"_c{correction}"
    spec = {"op": op, "input": input_name, "view": kind, "dims": list(dims), "keepdim": keepdim}
    if p is not None:
        spec["p"] = "inf" if p == INF else "-inf" if p == -INF else p
    if correction is not None:
        spec["correction"] = correction
    add(name, spec, reduce(op, x, dims, keepdim, p, correction))


def add_along(input_name, kind, op, dim, keepdim=False):
    """max/min (values, indices), argmax/argmin, softmax/log_softmax along one dim (None: flattened argmax)."""
    x = view(inputs[input_name], kind)
    tag = "flat" if dim is None else f"d{dim}".replace("-", "m")
    name = f"{op}_{input_name}_{kind}_{tag}{'_keep' if keepdim else ''}"
    spec = {"op": op, "input": input_name, "view": kind, "dim": dim, "keepdim": keepdim}
    if op in ("max", "min"):
        values, indices = getattr(torch, op)(x, dim, keepdim=keepdim)
        add(name, spec, values, indices)
    elif op in ("argmax", "argmin"):
        f = getattr(torch, op)
        add(name, spec, f(x) if dim is None else f(x, dim, keepdim=keepdim))
    else:
        add(name, spec, getattr(torch, op)(x, dim))


# Random inputs: every reduction over several dim sets, on contiguous and strided views.
dim_sets = [([], False), ([1], False), ([0, 2], True), ([-1], False)]
for input_name, kinds in [("x32", ["plain", "transposed", "sliced", "expanded"]), ("x64", ["plain", "transposed"])]:
    for kind in kinds:
        for dims, keepdim in dim_sets:
            for op in ["sum", "mean", "prod", "amax", "amin", "logsumexp"]:
                add_reduction(input_name, kind, op, dims, keepdim)
            add_reduction(input_name, kind, "var", dims, keepdim, correction=1)
            add_reduction(input_name, kind, "std", dims, keepdim, correction=0)
            for p in [2.0, INF, 3.0]:
                add_reduction(input_name, kind, "norm", dims, keepdim, p=p)
        for p in [1.0, 0.5, 0.0, -INF, -1.0]:
            add_reduction(input_name, kind, "norm", [1], False, p=p)
        add_reduction(input_name, kind, "var", [0], False, correction=2)
        for dim in [0, 1, -1]:
            for op in ["max", "min", "argmax", "argmin", "softmax", "log_softmax"]:
                add_along(input_name, kind, op, dim, keepdim=(dim == 1))
        add_along(input_name, kind, "argmax", None)
        add_along(input_name, kind, "argmin", None)

# NaN, infinities and ties: first occurrences, NaN propagation, stable softmax/logsumexp.
for input_name in ["special32", "special64"]:
    for dims in ([1], [0], []):
        for op in ["sum", "mean", "amax", "amin", "logsumexp", "var"]:
            add_reduction(input_name, "plain", op, dims, False, correction=1 if op == "var" else None)
        add_reduction(input_name, "plain", "norm", dims, False, p=INF)
        add_reduction(input_name, "plain", "norm", dims, False, p=2.0)
    for dim in [0, 1]:
        for op in ["max", "min", "argmax", "argmin", "softmax", "log_softmax"]:
            add_along(input_name, "plain", op, dim)
    add_along(input_name, "transposed", "softmax", 0)
    add_along(input_name, "transposed", "log_softmax", 0)
    add_along(input_name, "plain", "argmax", None)
    add_along(input_name, "transposed", "argmax", None)
    add_along(input_name, "plain", "argmin", None)
    for op in ["all", "any"]:
        add_reduction(input_name, "plain", op, [1], False)

# Integers and bools: int64 results for sum/prod, bool for all/any, indices of ties.
for input_name in ["ints", "bools"]:
    for kind in ["plain", "transposed"]:
        for dims, keepdim in [([], False), ([0], False), ([1], True)]:
            for op in ["sum", "prod", "amax", "amin", "all", "any"]:
                add_reduction(input_name, kind, op, dims, keepdim)
        for dim in [0, 1]:
            add_along(input_name, kind, "max", dim)
            add_along(input_name, kind, "min", dim)
            if input_name == "ints":  # torch 1.13: argmax/argmin have no bool kernel
                add_along(input_name, kind, "argmax", dim)
                add_along(input_name, kind, "argmin", dim)
    if input_name == "ints":
        add_along(input_name, "plain", "argmax", None)

entries.update(inputs)
entries["cases"] = {"list": cases}
golden_io.write(os.path.join(os.path.dirname(__file__), "reduce.json"), entries)
print(f"{len(cases)} cases, {os.path.getsize(os.path.join(os.path.dirname(__file__), 'reduce.json'))} bytes")
