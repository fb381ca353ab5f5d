"""Golden gradients of the reductions from PyTorch, for tests/autograd/test_reduce_grad.cpp: where
the derivative is a choice (tied extremes, zeros in prod, norm and std at 0, NaN extremes) or
where a naive formula overflows (logsumexp, softmax, log_softmax at +-1e4). Each case: the
input x, an upstream gradient g, x.grad after y.backward(g) in float64, and for max/min along a
dim the returned indices. Run with /usr/bin/python3 (Debian's python3-torch) from any folder."""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
import golden_io  # noqa: E402

NAN = math.nan
TIES = [[1.0, 3.0, 3.0, -2.0], [3.0, 0.5, -2.0, -2.0], [0.0, 3.0, 1.0, -2.0]]
BIG = [[1e4, -1e4, 1e4 - 1.0, 0.0], [-1e4, -1e4 + 2.0, -1e4, -1e4]]

# name: (function of x, x); the name is what the C++ test looks the case up by.
CASES = {
    "max_all_ties": (lambda x: torch.max(x), TIES),
    "min_all_ties": (lambda x: torch.min(x), TIES),
    "max_all_nan": (lambda x: torch.max(x), [[1.0, NAN, 2.0], [NAN, 5.0, 0.0]]),
    "max_dim1_ties": (lambda x: torch.max(x, 1)[0], TIES),
    "min_dim0_ties_keepdim": (lambda x: torch.min(x, 0, keepdim=True)[0], TIES),
    "max_dim-1_ties_keepdim": (lambda x: torch.max(x, -1, keepdim=True)[0], TIES),
    "amax_all_ties": (lambda x: torch.amax(x), TIES),
    "amax_dim1_ties": (lambda x: torch.amax(x, 1), TIES),
    "amin_dim0_ties_keepdim": (lambda x: torch.amin(x, 0, keepdim=True), TIES),
    "amin_dims01_ties": (lambda x: torch.amin(x, (0, 1)), TIES),
    "amax_nan": (lambda x: torch.amax(x, 1), [[1.0, NAN, 2.0], [4.0, 5.0, 5.0]]),
    "prod_all_one_zero": (lambda x: torch.prod(x), [[1.5, -2.0, 0.0], [0.5, 3.0, -1.0]]),
    "prod_all_two_zeros": (lambda x: torch.prod(x), [[1.5, 0.0, 2.0], [0.5, 0.0, -1.0]]),
    "prod_dim1_zeros": (lambda x: torch.prod(x, 1),
                        [[1.5, 0.0, 2.0, 3.0], [0.0, 0.0, 2.0, 1.0], [1.0, 2.0, -3.0, 0.5]]),
    "prod_dim0_keepdim_zeros": (lambda x: torch.prod(x, 0, keepdim=True),
                                [[1.5, 0.0, 2.0, 0.0], [0.0, 0.0, 2.0, 1.0], [1.0, 2.0, -3.0, 0.5]]),
    "std_all_constant": (lambda x: torch.std(x), [[2.5, 2.5], [2.5, 2.5]]),
    "std_dim1_constant_row": (lambda x: torch.std(x, 1), [[2.5, 2.5, 2.5], [1.0, -2.0, 0.5]]),
    "std_dim1_correction0": (lambda x: torch.std(x, 1, correction=0), [[1.0, 4.0, 2.5], [1.0, -2.0, 0.5]]),
    "var_dim0_correction2": (lambda x: torch.var(x, 0, correction=2),
                             [[1.0, 4.0], [1.0, -2.0], [0.5, 3.0], [-1.0, 0.0]]),
    "norm2_zero_row": (lambda x: torch.linalg.vector_norm(x, 2, 1), [[0.0, 0.0, 0.0], [3.0, 0.0, -4.0]]),
    "norm1_zeros": (lambda x: torch.linalg.vector_norm(x, 1, 1), [[0.0, 0.0, 0.0], [3.0, 0.0, -4.0]]),
    "norm3_zeros": (lambda x: torch.linalg.vector_norm(x, 3, 1), [[0.0, 0.0, 0.0], [3.0, 0.0, -4.0]]),
    "norm1.5_zeros": (lambda x: torch.linalg.vector_norm(x, 1.5, 1), [[0.0, 0.0, 0.0], [3.0, 0.0, -4.0]]),
    "norm0.5_zeros": (lambda x: torch.linalg.vector_norm(x, 0.5, 1), [[0.0, 0.0, 1.0], [3.0, 0.0, -4.0]]),
    "norm0": (lambda x: torch.linalg.vector_norm(x, 0, 1), [[0.0, 0.0, 1.0], [3.0, 0.0, -4.0]]),
    "norminf_ties": (lambda x: torch.linalg.vector_norm(x, math.inf, 1), [[-3.0, 3.0, 1.0], [0.0, 0.0, 0.0]]),
    "norm-inf_ties": (lambda x: torch.linalg.vector_norm(x, -math.inf, 1), [[-1.0, 3.0, 1.0], [2.0, -2.0, 5.0]]),
    "norminf_all_ties": (lambda x: torch.linalg.vector_norm(x, math.inf), [[-3.0, 3.0, 1.0], [0.0, 3.0, 0.0]]),
    "logsumexp_big_dim1": (lambda x: torch.logsumexp(x, 1), BIG),
    "logsumexp_big_all": (lambda x: torch.logsumexp(x, (0, 1)), BIG),
    "softmax_big_dim1": (lambda x: torch.softmax(x, 1), BIG),
    "log_softmax_big_dim1": (lambda x: torch.log_softmax(x, 1), BIG),
    "log_softmax_big_dim0": (lambda x: torch.log_softmax(x, 0), BIG),
}


def main():
    entries = {}
    for name, (fn, values) in CASES.items():
        x = torch.tensor(values, dtype=torch.float64, requires_grad=True)
        y = fn(x)
        g = 0.5 + 0.25 * torch.arange(y.numel(), dtype=torch.float64).reshape(y.shape)
        y.backward(g)
        entries[f"{name}/x"] = x.detach()
        entries[f"{name}/g"] = g
        # PyTorch leaves no gradient (zero) for the 0-"norm", a count
        entries[f"{name}/grad"] = x.grad if x.grad is not None else torch.zeros_like(x)
        if name.startswith(("max_dim", "min_dim")):
            dim = 1 if "dim1" in name else 0 if "dim0" in name else -1
            op = torch.max if name.startswith("max") else torch.min
            entries[f"{name}/indices"] = op(x.detach(), dim, keepdim="keepdim" in name)[1]
    golden_io.write(os.path.join(os.path.dirname(os.path.abspath(__file__)), "reduce_grad.json"), entries)


if __name__ == "__main__":
    main()
