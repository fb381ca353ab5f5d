"""Golden values for tests/core/test_indexing.cpp, computed with PyTorch 1.13.

Run with Debian's Python (it has torch): /usr/bin/python3 tests/core/golden/gen_indexing.py
Inputs hold small integers (stored as float64), so one entry checks float32, float64 and int64
alike; entries named *_nan hold NaN and are for floating dtypes only. Each case stores its inputs
next to the expected outputs, so the C++ test needs no random generator of its own.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
import golden_io  # noqa: E402

g = torch.Generator().manual_seed(1234)


def ints(*shape, low=-9, high=10):
    return torch.randint(low, high, shape, generator=g).double()


def distinct(*shape):
    """Distinct values (a shuffled range centred on 0), so topk has no ties."""
    n = 1
    for s in shape:
        n *= s
    return (torch.randperm(n, generator=g) - n // 2).double().reshape(shape)


def index(high, *shape):
    return torch.randint(0, high, shape, generator=g)


def unique_lines(n, length, dim_size):
    """[n, length] indices with no repeat inside a row: scatter's result is then well defined."""
    return torch.stack([torch.randperm(dim_size, generator=g)[:length] for _ in range(n)])


e = {}

# cat / stack
e["cat_a"], e["cat_b"], e["cat_c"] = ints(2, 3), ints(2, 1), ints(2, 4)
e["cat_dim1"] = torch.cat([e["cat_a"], e["cat_b"], e["cat_c"]], 1)
e["cat_d"] = ints(3, 3)
e["cat_dim0"] = torch.cat([e["cat_a"], e["cat_d"]], 0)
e["stack_a"], e["stack_b"], e["stack_c"] = ints(2, 3), ints(2, 3), ints(2, 3)
for d in (0, 1, 2):
    e[f"stack_dim{d}"] = torch.stack([e["stack_a"], e["stack_b"], e["stack_c"]], d)

# gather: index larger than x along dim, smaller elsewhere
e["gather_x"] = ints(3, 4, 5)
for d, shape in ((0, (5, 2, 3)), (1, (3, 6, 2)), (2, (2, 4, 7))):
    e[f"gather_index_dim{d}"] = index(e["gather_x"].shape[d], *shape)
    e[f"gather_dim{d}"] = torch.gather(e["gather_x"], d, e[f"gather_index_dim{d}"])

# scatter (no repeated index in a line) and scatter_add (repeats add up)
e["scatter_x"] = ints(4, 6)
e["scatter_src"] = ints(3, 5)
e["scatter_index_dim1"] = unique_lines(3, 4, 6)
e["scatter_dim1"] = e["scatter_x"].scatter(1, e["scatter_index_dim1"], e["scatter_src"])
e["scatter_value_dim1"] = e["scatter_x"].scatter(1, e["scatter_index_dim1"], -5)
e["scatter_index_dim0"] = unique_lines(4, 2, 4).t().contiguous()  # [2, 4], distinct down each column
e["scatter_dim0"] = e["scatter_x"].scatter(0, e["scatter_index_dim0"], e["scatter_src"])
e["scatter_add_index_dim0"] = index(4, 3, 5)
e["scatter_add_dim0"] = e["scatter_x"].scatter_add(0, e["scatter_add_index_dim0"], e["scatter_src"])
e["scatter_add_index_dim1"] = index(6, 2, 5)
e["scatter_add_dim1"] = e["scatter_x"].scatter_add(1, e["scatter_add_index_dim1"], e["scatter_src"])

# index_select / index_add (repeated indices)
e["select_x"] = ints(4, 3, 5)
e["select_index"] = torch.tensor([2, 0, 2, 3, 1, 0])
for d in (0, 1, 2):
    idx = e["select_index"] % e["select_x"].shape[d]
    e[f"select_index_dim{d}"] = idx
    e[f"index_select_dim{d}"] = torch.index_select(e["select_x"], d, idx)
e["index_add_x"] = ints(5, 3)
e["index_add_index"] = torch.tensor([0, 2, 0, 4])
e["index_add_source"] = ints(4, 3)
e["index_add_alpha2"] = e["index_add_x"].index_add(0, e["index_add_index"], e["index_add_source"], alpha=2)
e["index_add_index_dim1"] = torch.tensor([2, 0, 2, 1])
e["index_add_source_dim1"] = ints(5, 4)
e["index_add_dim1"] = e["index_add_x"].index_add(1, e["index_add_index_dim1"], e["index_add_source_dim1"], alpha=-1)

# masks
e["mask_x"] = ints(3, 4)
e["mask_row"] = torch.tensor([True, False, False, True])
e["masked_fill_row"] = e["mask_x"].masked_fill(e["mask_row"], -7)
e["mask_full"] = torch.rand(3, 4, generator=g) < 0.5
e["masked_select_full"] = e["mask_x"].masked_select(e["mask_full"])
e["mask_x_col"] = ints(3, 1)
e["mask_wide"] = torch.rand(2, 1, 4, generator=g) < 0.5
e["masked_fill_both"] = e["mask_x_col"].masked_fill(e["mask_wide"], 3)
e["masked_select_both"] = e["mask_x_col"].masked_select(e["mask_wide"])
e["nonzero_x"] = ints(3, 4, 2, low=-1, high=2)
e["nonzero"] = torch.nonzero(e["nonzero_x"])
e["one_hot_labels"] = index(5, 2, 3)
e["one_hot_infer"] = torch.nn.functional.one_hot(e["one_hot_labels"], -1)
e["one_hot_7"] = torch.nn.functional.one_hot(e["one_hot_labels"], 7)

# topk (distinct values) and sort (ties: stable indices are well defined)
e["topk_x"] = distinct(4, 6)
for d in (0, 1):
    for largest in (True, False):
        v, i = torch.topk(e["topk_x"], 3, dim=d, largest=largest)
        name = f"topk_dim{d}_{'largest' if largest else 'smallest'}"
        e[name + "_values"], e[name + "_indices"] = v, i
e["sort_x"] = ints(5, 6, low=-3, high=4)
for d in (0, 1):
    for descending in (False, True):
        v, i = torch.sort(e["sort_x"], dim=d, descending=descending, stable=True)
        name = f"sort_dim{d}_{'desc' if descending else 'asc'}"
        e[name + "_values"], e[name + "_indices"] = v, i
nan, inf = float("nan"), float("inf")
e["sort_x_nan"] = torch.tensor([[1.0, nan, -inf, 2.0, nan, inf, 1.0], [nan, 0.0, -1.0, nan, -inf, 0.0, 3.0]])
for descending in (False, True):
    v, i = torch.sort(e["sort_x_nan"], dim=1, descending=descending, stable=True)
    name = f"sort_nan_{'desc' if descending else 'asc'}"
    e[name + "_values"], e[name + "_indices"] = v, i
for largest in (True, False):
    v, i = torch.topk(e["sort_x_nan"][:, :5], 3, dim=1, largest=largest)
    name = f"topk_nan_{'largest' if largest else 'smallest'}"
    e[name + "_values"], e[name + "_indices"] = v, i

# triangles, repeat, flip, pad
e["tri_x"] = ints(2, 4, 5)
for diagonal in (-2, 0, 1, 7):
    key = str(diagonal).replace("-", "m")
    e[f"tril_{key}"] = torch.tril(e["tri_x"], diagonal)
    e[f"triu_{key}"] = torch.triu(e["tri_x"], diagonal)
e["repeat_x"] = ints(2, 3)
e["repeat_1_2"] = e["repeat_x"].repeat(1, 2)
e["repeat_2_1_3"] = e["repeat_x"].repeat(2, 1, 3)
e["repeat_v"] = ints(3)
e["repeat_v_2_2"] = e["repeat_v"].repeat(2, 2)
e["flip_x"] = ints(2, 3, 4)
e["flip_0_2"] = torch.flip(e["flip_x"], [0, 2])
e["flip_1"] = torch.flip(e["flip_x"], [1])
e["flip_all"] = torch.flip(e["flip_x"], [0, 1, 2])
e["pad_x"] = ints(2, 3, 4)
e["pad_1_2"] = torch.nn.functional.pad(e["pad_x"], (1, 2), value=9)
e["pad_m1_1_2_0"] = torch.nn.functional.pad(e["pad_x"], (-1, 1, 2, 0), value=9)
e["pad_0_0_m1_m1_1_1"] = torch.nn.functional.pad(e["pad_x"], (0, 0, -1, -1, 1, 1), value=9)

golden_io.write(os.path.join(os.path.dirname(os.path.abspath(__file__)), "indexing.json"), e)
