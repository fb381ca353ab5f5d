"""Golden values of the nn layer modules (tests/nn/test_conv.cpp, test_normalization.cpp,
test_attention.cpp, test_loss.cpp), from PyTorch in float64. For each case `name`:
  name/keys       {"keys": [...]}: the module's state_dict names, in order
  name/state/K    the state_dict entry K before the forward (the C++ test loads these)
  name/in/I       the inputs;  name/out  the output;  name/gy  the upstream gradient of out
  name/grad_in/I  d sum(out * gy) / d input I (floating inputs);  name/grad/P  the same for parameter P
  name/after/K    the buffers after the forward (running statistics)
Run: /usr/bin/python3 tests/nn/golden/gen_modules.py   (writes modules.json next to this file)"""
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
import golden_io  # noqa: E402

torch.manual_seed(0)
out = {}


def randn(*shape):
    return torch.randn(*shape, dtype=torch.float64)


def case(name, module, inputs, forward=None, train=True, extra=None):
    """Runs module on inputs (a dict name -> tensor, in call order) and records everything."""
    module = module.double()
    module.train(train)
    state = module.state_dict()
    out[name + "/keys"] = {"keys": list(state.keys())}
    for key, value in state.items():
        out[name + "/state/" + key] = value.clone()
    args = []
    for key, value in inputs.items():
        out[name + "/in/" + key] = value
        leaf = value.clone().requires_grad_(value.is_floating_point())
        args.append(leaf)
    result = forward(module, *args) if forward else module(*args)
    if isinstance(result, tuple):
        result, weights = result
        if weights is not None:
            out[name + "/weights"] = weights
    out[name + "/out"] = result
    gy = randn(*result.shape)
    out[name + "/gy"] = gy
    (result * gy).sum().backward()
    for key, leaf in zip(inputs.keys(), args):
        if leaf.is_floating_point():
            out[name + "/grad_in/" + key] = leaf.grad
    for key, param in module.named_parameters():
        out[name + "/grad/" + key] = param.grad
    for key, buffer in module.named_buffers():
        out[name + "/after/" + key] = buffer
    if extra:
        out.update({name + "/" + k: v for k, v in extra.items()})


# ---- convolution and pooling ----
case("conv2d", nn.Conv2d(2, 3, 3), {"x": randn(2, 2, 5, 5)})
case("conv2d_options", nn.Conv2d(4, 6, (3, 2), stride=2, padding=1, dilation=(1, 2), groups=2, bias=False),
     {"x": randn(1, 4, 7, 6)})
case("conv2d_same", nn.Conv2d(2, 2, 4, padding="same"), {"x": randn(1, 2, 5, 5)})
case("conv1d", nn.Conv1d(2, 4, 3, stride=2, padding=1), {"x": randn(2, 2, 7)})
case("conv1d_same_groups", nn.Conv1d(4, 4, 3, groups=4, dilation=2, padding="same"), {"x": randn(1, 4, 6)})
case("max_pool2d", nn.MaxPool2d(2), {"x": randn(2, 3, 6, 6)})
case("max_pool2d_options", nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), {"x": randn(1, 2, 6, 6)})
case("avg_pool2d", nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), {"x": randn(1, 2, 5, 6)})
case("adaptive_avg_pool2d", nn.AdaptiveAvgPool2d((2, 3)), {"x": randn(1, 2, 5, 7)})

golden_io.write(os.path.join(os.path.dirname(os.path.abspath(__file__)), "modules.json"), out)
