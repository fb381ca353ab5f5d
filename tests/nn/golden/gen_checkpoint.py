"""Safetensors interoperability with PyTorch (tests/nn/test_checkpoint.cpp).

Writes, next to this file, a small model's state dict in the safetensors layout (written here
by hand: the safetensors package is not needed) and its input and output:
  checkpoint_model.safetensors, checkpoint_io.json
    /usr/bin/python3 tests/nn/golden/gen_checkpoint.py
Checks a file that descent saved (the test writes one, see test_checkpoint.cpp) with this
script's own reader: its tensors equal the model's, and the model loaded from it gives the
expected output:
    /usr/bin/python3 tests/nn/golden/gen_checkpoint.py --check FILE"""
import json
import os
import struct
import sys

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", ".."))
import golden_io  # noqa: E402

DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64", torch.bool: "BOOL"}
SIZES = {"F32": 4, "F64": 8, "I64": 8, "BOOL": 1}


class Net(nn.Module):
    """The same model as NetForInterop in test_checkpoint.cpp: dotted names, a nested
    Sequential, a Linear without bias, and int64 and bool buffers."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.body = nn.Sequential(nn.Tanh(), nn.Linear(8, 8, bias=False))
        self.fc2 = nn.Linear(8, 3)
        self.register_buffer("counts", torch.tensor([3, -1, 7]))
        self.register_buffer("mask", torch.tensor([True, False, True]))

    def forward(self, x):
        return self.fc2(self.body(torch.relu(self.fc1(x))))


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata} if metadata else {}
    offset = 0
    blobs = []
    for name, t in tensors.items():
        data = t.detach().contiguous().numpy().tobytes()  # little-endian on x86
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in blobs:
            f.write(data)


def read_safetensors(path):
    """The tensors (in header order) and metadata; checks that the ranges tile the data."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    assert 8 + n <= len(blob), "header length past the end of the file"
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    metadata = header.pop("__metadata__", {})
    tensors = {}
    position = 0
    for name, entry in sorted(header.items(), key=lambda item: item[1]["data_offsets"][0]):
        begin, end = entry["data_offsets"]
        assert begin == position, f"{name}: starts at {begin}, expected {position}"
        numel = 1
        for s in entry["shape"]:
            numel *= s
        assert end - begin == numel * SIZES[entry["dtype"]], f"{name}: byte count"
        dtype = {v: k for k, v in DTYPES.items()}[entry["dtype"]]
        raw = bytearray(data[begin:end])
        tensors[name] = torch.frombuffer(raw, dtype=dtype).reshape(entry["shape"]) if numel else \
            torch.empty(entry["shape"], dtype=dtype)
        position = end
    assert position == len(data), "bytes after the last tensor"
    return {name: tensors[name] for name in header}, metadata


def model():
    torch.manual_seed(0)
    return Net()


def generate():
    net = model()
    write_safetensors(os.path.join(HERE, "checkpoint_model.safetensors"), net.state_dict(),
                      {"producer": "gen_checkpoint.py"})
    x = torch.randn(5, 4)
    golden_io.write(os.path.join(HERE, "checkpoint_io.json"), {"input": x, "expected": net(x)})


def check(path):
    tensors, metadata = read_safetensors(path)
    reference = model().state_dict()
    assert list(tensors) == list(reference), f"keys {list(tensors)} != {list(reference)}"
    for name, t in tensors.items():
        assert t.dtype == reference[name].dtype, f"{name}: dtype {t.dtype}"
        assert torch.equal(t, reference[name]), f"{name}: values differ"
    net = Net()
    net.load_state_dict(tensors, strict=True)
    io = json.load(open(os.path.join(HERE, "checkpoint_io.json")))
    x = torch.tensor(io["input"]["data"], dtype=torch.float32).reshape(io["input"]["shape"])
    expected = torch.tensor(io["expected"]["data"], dtype=torch.float32).reshape(io["expected"]["shape"])
    assert torch.allclose(net(x), expected, rtol=0, atol=1e-6), "forward differs"
    print(f"OK: {path}: {len(tensors)} tensors equal to the model's, forward matches, metadata {metadata}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check(sys.argv[2])
    else:
        generate()
