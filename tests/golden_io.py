"""Writes golden files for the C++ tests: {"name": {"shape", "dtype", "data"}} with NaN and
infinities as strings. Imported by the generator scripts in tests/<folder>/golden/."""
import json
import math


def entry(t):
    """A torch tensor or numpy array as a golden entry (row-major data)."""
    try:
        import torch
        if isinstance(t, torch.Tensor):
            t = t.detach().cpu().numpy()
    except ImportError:
        pass
    import numpy as np
    a = np.asarray(t)
    def num(x):
        x = x.item()
        if isinstance(x, float):
            if math.isnan(x):
                return "nan"
            if math.isinf(x):
                return "inf" if x > 0 else "-inf"
        return x
    return {"shape": list(a.shape), "dtype": str(a.dtype), "data": [num(x) for x in a.reshape(-1)]}


def write(path, entries):
    with open(path, "w") as f:
        json.dump({k: entry(v) if not isinstance(v, dict) else v for k, v in entries.items()}, f, indent=None)
        f.write("\n")
