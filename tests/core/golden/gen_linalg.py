"""Golden values for tests/core/test_linalg.cpp: operands and PyTorch's matmul, addmm, outer and dot
of them, in float32 and float64. Operands are multiples of 1/16 in [-2, 2] (exact in both dtypes and
short in JSON). Run with /usr/bin/python3 (torch 1.13): it rewrites linalg.json next to it."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
import golden_io  # noqa: E402

torch.manual_seed(0)


def operand(*shape):
    return torch.randint(-32, 33, shape).to(torch.float32) / 16


# name: (shape of a, shape of b) for matmul, covering NumPy's 1-d and batch broadcasting rules.
MATMUL = {
    "vector_vector": ((5,), (5,)),
    "vector_matrix": ((4,), (4, 3)),
    "matrix_vector": ((3, 4), (4,)),
    "matrix_matrix": ((3, 4), (4, 5)),
    "odd_sizes": ((17, 40), (40, 23)),
    "batch_matrix": ((2, 3, 4), (4, 5)),
    "matrix_batch": ((3, 4), (2, 4, 5)),
    "vector_batch": ((4,), (2, 4, 5)),
    "batch_vector": ((2, 3, 4), (4,)),
    "batch_batch": ((2, 3, 4), (2, 4, 5)),
    "broadcast_batch": ((2, 1, 3, 4), (3, 4, 2)),
    "size_one_dims": ((1, 4), (4, 1)),
    "empty_rows": ((0, 3), (3, 4)),
    "empty_cols": ((2, 3), (3, 0)),
    "empty_inner": ((3, 0), (0, 4)),
    "empty_inner_vectors": ((0,), (0,)),
    "empty_batch": ((0, 2, 3), (3, 4)),
}


def main():
    entries = {}
    for name, (shape_a, shape_b) in MATMUL.items():
        a, b = operand(*shape_a), operand(*shape_b)
        entries[f"matmul.{name}.a"] = a
        entries[f"matmul.{name}.b"] = b
        entries[f"matmul.{name}.out32"] = a @ b
        entries[f"matmul.{name}.out64"] = a.double() @ b.double()

    # NaN and infinities in an operand propagate as IEEE arithmetic says.
    a, b = operand(3, 4), operand(4, 5)
    a[0, 1], a[2, 3] = float("nan"), float("inf")
    b[3, 0] = 0.0  # inf * 0 is NaN
    entries["matmul.nonfinite.a"], entries["matmul.nonfinite.b"] = a, b
    entries["matmul.nonfinite.out32"], entries["matmul.nonfinite.out64"] = a @ b, a.double() @ b.double()

    # addmm: name -> (input, beta, alpha); a [3, 4] @ b [4, 5].
    a, b = operand(3, 4), operand(4, 5)
    entries["addmm.a"], entries["addmm.b"] = a, b
    nan_input = operand(3, 5)
    nan_input[1, 2] = float("nan")
    addmm_cases = {
        "full": (operand(3, 5), 1.0, 1.0),
        "row": (operand(5), 0.5, 2.0),
        "column": (operand(3, 1), -1.5, 0.25),
        "scalar": (operand(), 2.0, 1.0),
        "nan_beta_one": (nan_input, 1.0, 1.0),
        "nan_beta_zero": (nan_input, 0.0, 1.0),
        "alpha_zero": (operand(3, 5), 0.5, 0.0),
    }
    for name, (inp, beta, alpha) in addmm_cases.items():
        entries[f"addmm.{name}.input"] = inp
        entries[f"addmm.{name}.beta"] = torch.tensor(beta, dtype=torch.float64)
        entries[f"addmm.{name}.alpha"] = torch.tensor(alpha, dtype=torch.float64)
        entries[f"addmm.{name}.out32"] = torch.addmm(inp, a, b, beta=beta, alpha=alpha)
        entries[f"addmm.{name}.out64"] = torch.addmm(inp.double(), a.double(), b.double(), beta=beta, alpha=alpha)

    u, v = operand(6), operand(4)
    entries["outer.a"], entries["outer.b"] = u, v
    entries["outer.out32"], entries["outer.out64"] = torch.outer(u, v), torch.outer(u.double(), v.double())
    u, v = operand(9), operand(9)
    entries["dot.a"], entries["dot.b"] = u, v
    entries["dot.out32"], entries["dot.out64"] = torch.dot(u, v), torch.dot(u.double(), v.double())

    golden_io.write(os.path.join(os.path.dirname(os.path.abspath(__file__)), "linalg.json"), entries)


if __name__ == "__main__":
    main()
