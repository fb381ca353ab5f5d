"""Golden values for tests/core/test_binary.cpp: operand pairs of every dtype combination and
PyTorch's binary ops of them (tensor-tensor, tensor-scalar, scalar-tensor, in place, where).
Floats are multiples of 1/4 in [-4, 4] (exact in float32 and float64) plus 0, -0, NaN and +-inf.
Run with /usr/bin/python3 (torch 1.13): it rewrites binary.json next to it.

Layout: "inputs/<combo>/a" and ".../b" (or ".../s", a scalar {"scalar": v, "kind": k}) once per
operand combination; "<op>/<combo>" the result. Cases PyTorch rejects are left out (the C++
test checks those errors itself)."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
import golden_io  # noqa: E402

torch.manual_seed(0)
SPECIALS = [0.0, -0.0, float("nan"), float("inf"), float("-inf")]


def floats(shape, dtype):
    x = torch.randint(-16, 17, shape).to(dtype) / 4
    flat = x.reshape(-1)
    for i, v in enumerate(SPECIALS[: flat.numel() // 3]):  # specials on a third of the entries at most
        flat[(7 * i + 1) % flat.numel()] = v
    return x


def ints(shape, low=-7, high=8, nonzero=False):
    x = torch.randint(low, high, shape)
    return torch.where(x == 0, torch.ones_like(x), x) if nonzero else x


def bools(shape):
    return torch.rand(shape) < 0.5


# combo: (a, b). Shapes broadcast (a's shape is the result's, for the in-place ops).
PAIRS = {
    "f32": (floats((2, 3, 4), torch.float32), floats((3, 1), torch.float32)),
    "f64": (floats((3, 5), torch.float64), floats((5,), torch.float64)),
    "i64": (ints((3, 4)), ints((3, 1), -4, 5, nonzero=True)),
    "f32_i64": (floats((4, 3), torch.float32), ints((3,), -4, 5, nonzero=True)),
    "i64_f64": (ints((2, 4)), floats((2, 4), torch.float64)),
    "f32_f64": (floats((3, 2), torch.float32), floats((2,), torch.float64)),
    "bool": (bools((3, 4)), bools((4,))),
    "bool_i64": (bools((2, 3)), ints((2, 3), -3, 4, nonzero=True)),
    "f32_bool": (floats((2, 4), torch.float32), bools((2, 1))),
    "zero_dim": (floats((), torch.float32), floats((2, 3), torch.float32)),
    "size_one": (floats((1, 4, 1), torch.float32), floats((3, 1, 2), torch.float32)),
    # "dimensioned tensors win": a 0-d operand promotes only from a higher category
    "f32_zero_dim_f64": (floats((2, 3), torch.float32), floats((), torch.float64)),
    "zero_dim_f64_f32": (floats((), torch.float64), floats((3, 2), torch.float32)),
    "i64_zero_dim_f64": (ints((2, 3), nonzero=True), floats((), torch.float64)),
    "f32_zero_dim_i64": (floats((2, 2), torch.float32), ints((), 1, 4)),
    "bool_zero_dim_i64": (bools((2, 3)), ints((), 1, 4)),
    "zero_dim_f32_f64_zero_dim": (floats((), torch.float32), floats((), torch.float64)),
    "empty": (floats((0, 3), torch.float32), floats((3,), torch.float32)),
}
# pow gets its own integer exponents (negative ones included) so that results stay small.
POW_PAIRS = {
    "pow_i64": (ints((3, 4), -4, 5), ints((4,), -2, 6)),
    "pow_f32": (floats((3, 4), torch.float32), torch.tensor([-2.0, 0.5, 3.0, 0.0])),
}

ALPHA_OPS = {
    "add": lambda a, b: torch.add(a, b),
    "add_alpha": lambda a, b: torch.add(a, b, alpha=2),
    "add_alpha_float": lambda a, b: torch.add(a, b, alpha=-0.5),
    "sub": lambda a, b: torch.sub(a, b),
    "sub_alpha": lambda a, b: torch.sub(a, b, alpha=3),
}
OPS = {
    **ALPHA_OPS,
    "mul": torch.mul,
    "div": torch.div,
    "maximum": torch.maximum,
    "minimum": torch.minimum,
    "remainder": torch.remainder,
    "eq": torch.eq,
    "ne": torch.ne,
    "lt": torch.lt,
    "le": torch.le,
    "gt": torch.gt,
    "ge": torch.ge,
    "logical_and": torch.logical_and,
    "logical_or": torch.logical_or,
    "logical_xor": torch.logical_xor,
}
INPLACE_OPS = {
    "add_": lambda a, b: a.add_(b),
    "add_alpha_": lambda a, b: a.add_(b, alpha=2),
    "sub_": lambda a, b: a.sub_(b),
    "mul_": lambda a, b: a.mul_(b),
    "div_": lambda a, b: a.div_(b),
}

# combo: (tensor, scalar)
SCALAR_PAIRS = {
    "s_f32_float": (floats((3, 4), torch.float32), 2.5),
    "s_f32_int": (floats((3, 4), torch.float32), -3),
    "s_f64_float": (floats((2, 5), torch.float64), -1.5),
    "s_i64_int": (ints((3, 4), -7, 8, nonzero=True), 3),
    "s_i64_negative_int": (ints((3, 4)), -2),
    "s_i64_float": (ints((3, 4), -7, 8, nonzero=True), 0.5),
    "s_bool_bool": (bools((2, 3)), True),
    "s_bool_int": (bools((2, 3)), 2),
    "s_bool_float": (bools((2, 3)), -0.75),
}
SCALAR_OPS = {
    "add": lambda t, s: t + s,
    "sub": lambda t, s: t - s,
    "rsub": lambda t, s: s - t,
    "mul": lambda t, s: t * s,
    "div": lambda t, s: t / s,
    "rdiv": lambda t, s: s / t,
    "rpow": lambda t, s: torch.pow(s, t),
    "remainder": lambda t, s: torch.remainder(t, s),
    "eq": torch.eq,
    "ne": torch.ne,
    "lt": torch.lt,
    "le": torch.le,
    "gt": torch.gt,
    "ge": torch.ge,
}
INPLACE_SCALAR_OPS = {
    "add_": lambda t, s: t.add_(s),
    "sub_": lambda t, s: t.sub_(s),
    "mul_": lambda t, s: t.mul_(s),
    "div_": lambda t, s: t.div_(s),
}

# combo: (condition, a, b) for where; b may be a scalar (then also the scalar-left form).
WHERE = {
    "where_f32": (bools((3, 1)), floats((1, 4), torch.float32), floats((4,), torch.float32)),
    "where_i64_f64": (bools((2, 3)), ints((2, 3)), floats((3,), torch.float64)),
    "where_bool": (bools((4,)), bools((3, 4)), bools((1,))),
    "where_zero_dim": (torch.tensor(True), floats((2, 2), torch.float32), floats((), torch.float32)),
    "where_zero_dim_f64": (bools((2, 3)), floats((2, 3), torch.float32), floats((), torch.float64)),
    "where_zero_dim_f64_i64": (bools((3,)), floats((), torch.float64), ints((2, 3))),
}
WHERE_SCALAR = {
    "where_s_i64_float": (bools((2, 3)), ints((2, 3)), 0.5),
    "where_s_i64_int": (bools((3,)), ints((2, 3)), 2),
    "where_s_f64_float": (bools((2, 1)), floats((2, 3), torch.float64), -2.5),
    "where_s_bool_int": (bools((2, 3)), bools((2, 3)), 2),
}


def scalar_entry(s):
    kind = "bool" if isinstance(s, bool) else "int" if isinstance(s, int) else "float"
    return {"scalar": s, "kind": kind}


def attempt(fn):
    """fn's result, or None where PyTorch raises (those cases are tested as errors in C++)."""
    try:
        return fn()
    except RuntimeError:
        return None


def main():
    out = {}
    for combo, (a, b) in {**PAIRS, **POW_PAIRS}.items():
        out[f"inputs/{combo}/a"] = a
        out[f"inputs/{combo}/b"] = b
        ops = {"pow": torch.pow} if combo in POW_PAIRS else OPS
        for name, fn in ops.items():
            result = attempt(lambda: fn(a, b))
            if result is not None:
                out[f"{name}/{combo}"] = result
        # NOTE: descent's in-place ops need the promoted dtype to be self's own; PyTorch also
        # lets float32 take a float64 operand, a case left out here.
        in_place = combo not in POW_PAIRS and torch.result_type(a, b) == a.dtype
        for name, fn in (INPLACE_OPS if in_place else {}).items():
            result = attempt(lambda: fn(a.clone(), b))
            if result is not None:
                out[f"{name}/{combo}"] = result
    for combo, (t, s) in SCALAR_PAIRS.items():
        out[f"inputs/{combo}/a"] = t
        out[f"inputs/{combo}/s"] = scalar_entry(s)
        for name, fn in SCALAR_OPS.items():
            result = attempt(lambda: fn(t, s))
            if result is not None:
                out[f"{name}/{combo}"] = result
        for name, fn in INPLACE_SCALAR_OPS.items():
            result = attempt(lambda: fn(t.clone(), s))
            if result is not None:
                out[f"{name}/{combo}"] = result
    for combo, (c, a, b) in WHERE.items():
        out[f"inputs/{combo}/c"] = c
        out[f"inputs/{combo}/a"] = a
        out[f"inputs/{combo}/b"] = b
        out[f"where/{combo}"] = torch.where(c, a, b)
    for combo, (c, t, s) in WHERE_SCALAR.items():
        out[f"inputs/{combo}/c"] = c
        out[f"inputs/{combo}/a"] = t
        out[f"inputs/{combo}/s"] = scalar_entry(s)
        out[f"where/{combo}"] = torch.where(c, t, s)
        out[f"rwhere/{combo}"] = torch.where(c, s, t)
    golden_io.write(os.path.join(os.path.dirname(os.path.abspath(__file__)), "binary.json"), out)


if __name__ == "__main__":
    main()
