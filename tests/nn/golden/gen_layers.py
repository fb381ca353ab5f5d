"""Golden forward values of the nn layers (tests/nn/test_layers.cpp), from PyTorch, in float64.
Run: /usr/bin/python3 tests/nn/golden/gen_layers.py   (writes layers.json next to this file)"""
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
import golden_io  # noqa: E402

torch.manual_seed(0)
x = (torch.randn(3, 5, dtype=torch.float64) * 2.0)
x[0, 0] = 0.0  # the kink of relu and leaky_relu
x4 = torch.randn(2, 3, 2, 2, dtype=torch.float64)
x3 = torch.randn(2, 3, 5, dtype=torch.float64)
weight = torch.randn(4, 5, dtype=torch.float64)
bias = torch.randn(4, dtype=torch.float64)

out = {
    "x": x, "x4": x4, "x3": x3, "weight": weight, "bias": bias,
    "relu": nn.ReLU()(x),
    "leaky_relu_0.2": nn.LeakyReLU(0.2)(x),
    "gelu": nn.GELU()(x),
    "gelu_tanh": nn.GELU(approximate="tanh")(x),
    "silu": nn.SiLU()(x),
    "tanh": nn.Tanh()(x),
    "sigmoid": nn.Sigmoid()(x),
    "softmax_1": nn.Softmax(dim=1)(x),
    "softmax_0": nn.Softmax(dim=0)(x),
    "log_softmax_1": nn.LogSoftmax(dim=1)(x),
    "log_softmax_-1_3d": nn.LogSoftmax(dim=-1)(x3),
    "flatten": nn.Flatten()(x4),
    "flatten_0_2": nn.Flatten(0, 2)(x4),
    "linear": nn.functional.linear(x, weight, bias),
    "linear_no_bias": nn.functional.linear(x, weight),
    "linear_3d": nn.functional.linear(x3, weight, bias),
}
golden_io.write(os.path.join(os.path.dirname(os.path.abspath(__file__)), "layers.json"), out)
