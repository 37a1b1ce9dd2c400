"""Loads a `nanofed train` checkpoint in PyTorch the way the README promises: the tensors read
with safetensors.torch.load_file (where the safetensors package is absent, with the few lines of
its format below), then load_state_dict(strict=True) into the same architecture written in
PyTorch, whose logits must match the ones nanofed computed.

usage: python3 torch_load_state_dict.py CKPT EXPECTED
  CKPT      a checkpoint of `nanofed train --model cnn` (nn/models.cpp's FmnistCNN)
  EXPECTED  safetensors with "x" (inputs) and "logits" (nanofed's outputs on them)
Exits 0 when the strict load succeeds and the logits agree, 1 otherwise (with the reason).
"""
import json
import struct
import sys

import torch
import torch.nn.functional as F
from torch import nn

DTYPES = {"F32": torch.float32, "I32": torch.int32, "I64": torch.int64, "U8": torch.uint8}


def read_header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n)), 8 + n


def load_file(path):
    try:
        from safetensors.torch import load_file as library_load_file
    except ImportError:
        library_load_file = None
    if library_load_file:
        return library_load_file(path)
    header, start = read_header(path)
    with open(path, "rb") as f:
        data = f.read()[start:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        flat = torch.frombuffer(bytearray(data[begin:end]), dtype=DTYPES[info["dtype"]])
        out[name] = flat.reshape(info["shape"])
    return out


class FmnistCNN(nn.Module):
    """nn/models.cpp's "cnn" (the Ditto FMNIST CNN): same names, same layers."""

    def __init__(self, channels, side, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 32, 5, 1, 2)
        self.conv2 = nn.Conv2d(32, 64, 5, 1, 2)
        self.fc1 = nn.Linear(64 * (side // 4) ** 2, 1024)
        self.fc2 = nn.Linear(1024, classes)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.conv1(x)), 2)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)
        return self.fc2(F.relu(self.fc1(h.flatten(1))))


def main(ckpt, expected_path):
    meta = read_header(ckpt)[0]["__metadata__"]
    model = FmnistCNN(int(meta["in_channels"]), int(meta["image_size"]), int(meta["num_classes"]))
    model.load_state_dict(load_file(ckpt), strict=True)  # raises on missing or unexpected keys
    model.eval()
    expected = load_file(expected_path)
    with torch.no_grad():
        logits = model(expected["x"])
    error = (logits - expected["logits"]).abs().max().item()
    if error > 1e-4:
        print(f"logits differ from nanofed's by {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
