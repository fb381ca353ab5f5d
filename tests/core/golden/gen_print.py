"""Golden strings for tests/core/test_print.cpp: each case's tensor and the text PyTorch's own
printer (torch._tensor_str) lays out for it, with our suffixes (shape=[..], dtype=..) added by
PyTorch's _add_suffixes and bools spelled true/false. Run with /usr/bin/python3 (torch 1.13)."""
import os
import sys

import torch
import torch._tensor_str as tensor_str

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
import golden_io  # noqa: E402

PREFIX = "tensor("
DEFAULTS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80}


def expected(t, options):
    """Our format of t: PyTorch's values, then shape (unless 0-d), dtype, requires_grad."""
    torch.set_printoptions(**options)
    try:
        if t.dtype.is_floating_point and t.numel() > 0:
            # NOTE: PyTorch prints all-integer float tensors as "1., 2."; we always print
            # `precision` digits, so golden cases must hold a non-integer value.
            summarize = t.numel() > options["threshold"]
            shown = tensor_str.get_summarized_data(t) if summarize else t
            assert not tensor_str._Formatter(shown).int_mode, "case would print in PyTorch's int mode"
        values = tensor_str._tensor_str(t.detach(), len(PREFIX))
        values = values.replace("True", "true").replace("False", "false")
        suffixes = [] if t.dim() == 0 else ["shape=[{}]".format(", ".join(str(s) for s in t.shape))]
        suffixes.append("dtype=" + str(t.dtype).replace("torch.", ""))
        if t.requires_grad:
            suffixes.append("requires_grad=true")
        return tensor_str._add_suffixes(PREFIX + values, suffixes, len(PREFIX), False)
    finally:
        torch.set_printoptions(**DEFAULTS)


def case(base, view=None, options=None, requires_grad=False):
    """The golden entry: the base tensor, the view the test takes of it, the expected text."""
    options = dict(DEFAULTS, **(options or {}))
    shown = base
    if view == "transpose":
        shown = base.t()
    elif view == "slice_step2":
        shown = base[:, ::2]
    if requires_grad:
        shown = shown.clone().requires_grad_(True)
    entry = golden_io.entry(base)
    entry.update({"view": view or "none", "options": options, "requires_grad": requires_grad,
                  "expected": expected(shown, options)})
    return entry


f32, f64, i64 = torch.float32, torch.float64, torch.int64
cases = {
    "vector_float32": case(torch.tensor([1.5, -2.25, 3.125, 100.0625], dtype=f32)),
    "matrix_float32": case(torch.tensor([[0.5, -1.25, 10.0], [3.75, 200.5, -0.125]], dtype=f32)),
    "cube_float64": case((torch.arange(12, dtype=f64) * 0.25 - 1.0).reshape(2, 2, 3)),
    "matrix_int64": case(torch.tensor([[1, -20, 300], [4000, 5, -6]], dtype=i64)),
    "matrix_bool": case(torch.tensor([[True, False, True], [False, False, True]])),
    "nonfinite_float32": case(torch.tensor([float("nan"), float("inf"), float("-inf"), 1.5, -0.25], dtype=f32)),
    "scientific_small_float32": case(torch.tensor([1e-5, 1.0, 123456.0], dtype=f32)),
    "scientific_large_float64": case(torch.tensor([[1.5e9, -2.0], [3.25, 0.0]], dtype=f64)),
    "rounding_float64": case(torch.tensor([0.015, 2.71828182, -3.14159265, 9.99995, 0.00005 + 1.0], dtype=f64)),
    "summarised_vector_float32": case(torch.arange(2000, dtype=f32) * 0.5 + 0.25),
    "summarised_matrix_int64": case(torch.arange(40 * 50, dtype=i64).reshape(40, 50)),
    "summarised_cube_float32": case((torch.arange(12 * 12 * 12, dtype=f32) * 0.1).reshape(12, 12, 12)),
    "summarised_rows_only_float32": case((torch.arange(500 * 3, dtype=f32) * 0.5 - 7.25).reshape(500, 3)),
    "wrapped_vector_float32": case(torch.linspace(-3.0, 3.0, 30, dtype=f32)),
    "suffix_on_new_line_float32": case(torch.arange(9, dtype=f32) + 1.25),
    "scalar_float32": case(torch.tensor(3.5, dtype=f32)),
    "scalar_int64": case(torch.tensor(-7, dtype=i64)),
    "empty_float32": case(torch.zeros(0, 3, dtype=f32)),
    "empty_vector_int64": case(torch.zeros(0, dtype=i64)),
    "transposed_float32": case(torch.tensor([[0.5, 1.25], [-2.5, 3.75], [40.125, -5.5]], dtype=f32),
                               view="transpose"),
    "sliced_step_float64": case((torch.arange(20, dtype=f64) * 1.5 - 4.75).reshape(4, 5), view="slice_step2"),
    "requires_grad_float32": case(torch.tensor([0.5, -1.5], dtype=f32), requires_grad=True),
    "options_float64": case((torch.arange(30, dtype=f64) / 7.0).reshape(5, 6),
                            options={"precision": 2, "threshold": 10, "edgeitems": 1, "linewidth": 40}),
    "narrow_lines_int64": case(torch.arange(100, 130, dtype=i64), options={"linewidth": 30}),
}

golden_io.write(os.path.join(os.path.dirname(__file__), "print.json"), cases)
