"""Deep Image Prior inpainting (Ulyanov, Vedaldi and Lempitsky, "Deep Image Prior", CVPR 2018).

A randomly initialised encoder-decoder (a U-Net: strided-convolution down-sampling, learnable
transposed-convolution up-sampling, skip connections between equal resolutions) maps a fixed noise
tensor to an image and is fitted, by Adam, to the *known* pixels only. The structure of a
convolutional network fits natural images long before it can fit arbitrary patterns, so the pixels
under the mask — which never enter the loss — come out as the network's own, image-like guess. No
weights are downloaded: every run starts from random weights (seeded).
"""
from __future__ import annotations

import time

import numpy as np

from .._shared import require, resolve_device


def _build_unet(nn, cin: int, cout: int, widths, skip: int):
    """A DIP-style U-Net; ``widths`` are the channel counts of the levels, coarse-most last."""

    def block(a, b, stride=1, k=3):
        return [nn.Conv2d(a, b, k, stride=stride, padding=k // 2, padding_mode="reflect"),
                nn.BatchNorm2d(b), nn.LeakyReLU(0.2, inplace=True)]

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.down = nn.ModuleList()
            self.skip = nn.ModuleList()
            self.up = nn.ModuleList()
            self.fuse = nn.ModuleList()
            prev = cin
            for w in widths:
                # down-sampling by a strided convolution, then a refining convolution
                self.down.append(nn.Sequential(*block(prev, w, stride=2), *block(w, w)))
                # the skip connection carries a few channels of the finer level past the bottleneck
                self.skip.append(nn.Sequential(*block(prev, skip, k=1)) if skip else None)
                prev = w
            for i in reversed(range(len(widths))):
                up_in = widths[i] if i == len(widths) - 1 else widths[i]
                finer = widths[i - 1] if i > 0 else widths[0]
                # learnable up-sampling: a transposed convolution doubles the resolution
                self.up.append(nn.ConvTranspose2d(up_in, finer, 4, stride=2, padding=1))
                self.fuse.append(nn.Sequential(nn.BatchNorm2d(finer + skip), *block(finer + skip, finer),
                                               *block(finer, finer, k=1)))
            self.out = nn.Conv2d(widths[0], cout, 1)

        def forward(self, x):
            skips = []
            for down, sk in zip(self.down, self.skip):
                skips.append(sk(x) if sk is not None else None)
                x = down(x)
            import torch

            for up, fuse, s in zip(self.up, self.fuse, reversed(skips)):
                x = up(x)
                if s is not None:
                    x = torch.cat([x, s], dim=1)
                x = fuse(x)
            return torch.sigmoid(self.out(x))

    return UNet()


def dip_fill(image, hole, *, iterations: int = 3000, time_budget: float | None = 110.0, seed: int = 0,
             device=None, lr: float = 0.01, patience: int = 500, depth: int = 4, width: int = 16,
             input_channels: int = 16, reg_noise: float = 1.0 / 30, threads: int | None = None,
             guide: str = "fsr", progress=None) -> np.ndarray:
    """Fit a random U-Net to the known pixels and read the hole off its output.

    ``iterations`` upper bound on Adam steps; ``time_budget`` seconds after which fitting stops (None:
    no limit); ``patience`` steps without a 1 % improvement of the (smoothed) loss before stopping
    early; ``depth`` number of down/up-sampling levels; ``width`` channels of the finest level
    (doubling per level, capped at 4x); ``threads`` torch CPU threads while fitting (None: a quarter of
    the CPU cores, at least 1 and at most torch's setting — fitting a small network is latency-bound
    and extra threads only help on an idle machine; restored afterwards). ``guide``: ``"fsr"`` (default: the noise input is joined by the image pre-filled with
    FSR, so the randomly initialised network refines a good guess; converges many times faster) or
    ``"none"`` (the paper's setting: pure noise in). The returned image is the exponential moving average of the
    network's outputs, which removes most of the iteration-to-iteration noise.
    """
    torch = require("torch", feature='cvtools.generative.inpaint(method="dip")')
    nn = torch.nn
    for name, v, lo in (("iterations", iterations, 1), ("depth", depth, 1), ("width", width, 4),
                        ("patience", patience, 1), ("input_channels", input_channels, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f"`{name}` must be an integer >= {lo}; got {v!r}.")
    if time_budget is not None and not time_budget > 0:
        raise ValueError(f"`time_budget` must be > 0 seconds or None; got {time_budget!r}.")
    if not lr > 0:
        raise ValueError(f"`lr` must be > 0; got {lr!r}.")
    dev = resolve_device(device, feature='cvtools.generative.inpaint(method="dip")')
    H, W, C = image.shape
    m = 2 ** depth
    ph, pw = (-H) % m, (-W) % m
    img_p = np.pad(image, ((0, ph), (0, pw), (0, 0)), mode="reflect" if min(H, W) > max(ph, pw) else "edge")
    known = np.pad(~hole, ((0, ph), (0, pw)), constant_values=False)
    widths = [min(width * 2 ** i, width * 4) for i in range(depth)]

    if guide not in ("none", "fsr"):
        raise ValueError(f"unknown guide {guide!r}; valid: 'none', 'fsr'.")
    prefill = None
    if guide == "fsr":
        from ._fsr import fsr_fill

        prefill = np.pad(np.clip(fsr_fill(image, hole), 0, 1), ((0, ph), (0, pw), (0, 0)), mode="edge")
    old_threads = torch.get_num_threads()
    if threads is None:
        import os

        threads = max(1, min(old_threads, (os.cpu_count() or 1) // 4))
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ValueError(f"`threads` must be an integer >= 1 or None; got {threads!r}.")
    torch.set_num_threads(int(threads))
    try:
        return _fit(torch, nn, image, known, img_p, H, W, C, ph, pw, widths, dev, seed, input_channels, lr,
                    iterations, reg_noise, progress, patience, time_budget, prefill)
    finally:
        torch.set_num_threads(old_threads)


def _fit(torch, nn, image, known, img_p, H, W, C, ph, pw, widths, dev, seed, input_channels, lr, iterations,
         reg_noise, progress, patience, time_budget, prefill=None):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        extra = 0 if prefill is None else C
        net = _build_unet(nn, input_channels + extra, C, widths, skip=4).to(dev)
        gen = torch.Generator(device="cpu").manual_seed(int(seed) + 1)
        z = (torch.rand((1, input_channels, H + ph, W + pw), generator=gen) * 0.1).to(dev)
        if prefill is not None:
            g = torch.from_numpy(np.ascontiguousarray(prefill.transpose(2, 0, 1)[None])).float().to(dev)
            z = torch.cat([z, g], dim=1)
        target = torch.from_numpy(np.ascontiguousarray(img_p.transpose(2, 0, 1)[None])).float().to(dev)
        kmask = torch.from_numpy(known[None, None].astype(np.float32)).to(dev)
        n_known = float(kmask.sum())
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        ema = None
        best = np.inf
        since = 0
        smooth = None
        t0 = time.perf_counter()
        for _ in range(iterations):
            if reg_noise:
                noise = torch.randn((1, input_channels) + tuple(z.shape[2:]), generator=gen).to(dev)
                if z.shape[1] > input_channels:
                    noise = torch.cat([noise, torch.zeros_like(z[:, input_channels:])], dim=1)
                inp = z + reg_noise * noise
            else:
                inp = z
            out = net(inp)
            loss = (((out - target) * kmask) ** 2).sum() / (n_known * C)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                o = out.detach()
                ema = o.clone() if ema is None else ema.mul_(0.99).add_(o, alpha=0.01)
            if progress is not None:
                progress(1)
            lv = float(loss.detach())
            smooth = lv if smooth is None else 0.9 * smooth + 0.1 * lv
            if smooth < best * 0.99:
                best = smooth
                since = 0
            else:
                since += 1
                if since >= patience:
                    break
            if time_budget is not None and time.perf_counter() - t0 > time_budget:
                break
    out = ema[0].detach().cpu().numpy().transpose(1, 2, 0)[:H, :W].astype(np.float64)
    return out
