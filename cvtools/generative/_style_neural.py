"""Neural style transfer by optimisation (``method="neural"``): Gatys, Ecker & Bethge, CVPR 2016.

The image is optimised so that its deep features match the content photo's (content loss) while the
Gram matrices of its features -- channel-by-channel correlations, i.e. texture statistics with the
spatial layout thrown away -- match the painting's (style loss), plus a total-variation term.

Feature extractors:

* default: a randomly initialised multi-scale convolutional network. He, Wang & Hopcroft (NeurIPS
  2016, "A powerful generative model using random weights for the deep image representation") showed
  that random-weight VGG features already support texture synthesis and style transfer, and
  Ustyuzhaninov et al. (ICLR 2017) that even one layer of random multi-scale filters does: a Gram
  matrix of many random filter responses is a rich set of local statistics (a random projection of
  the local patch distribution), so matching it transfers colours, strokes and textures. What random
  features lack is semantics: strokes follow the photo's edges less cleverly than with VGG.
* ``weights=PATH``: the classic VGG-19 (a torchvision ``vgg19`` state-dict file; the architecture is
  built here, torchvision is not needed), content relu4_2, style relu1_1..relu5_1.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import cv2
import numpy as np

from .._shared import check_choice, require, resolve_device

FEATURE = 'cvtools.generative.stylize(method="neural")'

# torchvision's vgg19().features layout: numbers are conv output channels, "M" a 2x2 max pool
VGG19_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512]
VGG19_STYLE = (1, 6, 11, 20, 29)  # relu1_1, relu2_1, relu3_1, relu4_1, relu5_1
VGG19_CONTENT = 22  # relu4_2

# random extractor: one 3x3 conv + ReLU per scale, 2x2 pooling between scales (receptive fields
# 3, 8, 18, 38 and 78 pixels), wide enough that the Gram matrices hold many statistics
RANDOM_CHANNELS = (32, 64, 128, 256, 256)
RANDOM_CONTENT = 1  # content from the 2nd scale: deeper random features keep too little layout

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
_cache: dict = {}


def _torch():
    return require("torch", feature=FEATURE)


def build_vgg19_features(pooling: str = "avg"):
    """torchvision's VGG-19 ``features`` up to relu5_1, as an ``nn.Sequential`` with the same indices."""
    torch = _torch()
    nn = torch.nn
    layers, c_in = [], 3
    for v in VGG19_CFG:
        if v == "M":
            layers.append(nn.AvgPool2d(2) if pooling == "avg" else nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(c_in, v, 3, padding=1), nn.ReLU(inplace=False)]
            c_in = v
    return nn.Sequential(*layers[:VGG19_STYLE[-1] + 1])


def load_vgg19(path, pooling: str = "avg"):
    """VGG-19 features with weights from a torchvision state-dict file (``torch.load(weights_only=True)``)."""
    torch = _torch()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"`weights` file not found: {str(path)!r} (expected a torchvision VGG-19 "
                                f"state dict, e.g. vgg19-dcbb9e9d.pth).")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle errors, zip errors, non-tensor content refused by weights_only
        raise ValueError(f"cannot load `weights` {str(path)!r} as a torch state dict: {exc}") from exc
    if not isinstance(state, dict):
        raise ValueError(f"`weights` {str(path)!r} holds a {type(state).__name__}, not a state dict.")
    if any(k.startswith("features.") for k in state):
        state = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
    model = build_vgg19_features(pooling)
    wanted = model.state_dict()
    missing = [k for k in wanted if k not in state]
    bad = [k for k in wanted if k in state and tuple(state[k].shape) != tuple(wanted[k].shape)]
    if missing or bad:
        raise ValueError(f"`weights` {str(path)!r} is not a torchvision VGG-19 state dict: "
                         f"missing {missing[:4]}, wrong shapes {bad[:4]}.")
    model.load_state_dict({k: state[k].float() for k in wanted})
    return model


class _Extractor:
    """Features at the style layers and the content layer, from the RGB [0, 1] NCHW tensor."""

    def __init__(self, weights=None, pooling="avg", seed=0, device="cpu"):
        torch = _torch()
        nn = torch.nn
        if weights is not None:
            self.net = load_vgg19(weights, pooling)
            self.style_idx, self.content_idx = VGG19_STYLE, VGG19_CONTENT
        else:
            gen = torch.Generator().manual_seed(int(seed))
            layers, c_in, style_idx = [], 3, []
            for i, c in enumerate(RANDOM_CHANNELS):
                if i:
                    layers.append(nn.AvgPool2d(2) if pooling == "avg" else nn.MaxPool2d(2))
                conv = nn.Conv2d(c_in, c, 3, padding=1)
                with torch.no_grad():  # He initialisation, zero bias
                    conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen) * (2.0 / (9 * c_in)) ** 0.5)
                    conv.bias.zero_()
                layers += [conv, nn.ReLU()]
                style_idx.append(len(layers) - 1)
                c_in = c
            self.net = nn.Sequential(*layers)
            self.style_idx = tuple(style_idx)
            self.content_idx = style_idx[RANDOM_CONTENT]
        self.net = self.net.to(device).eval().requires_grad_(False)
        self.mean = torch.tensor(_IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(_IMAGENET_STD, device=device).view(1, 3, 1, 1)

    def __call__(self, x):
        x = (x - self.mean) / self.std
        style, content = [], None
        last = max(self.style_idx[-1], self.content_idx)
        for i, layer in enumerate(self.net):
            x = layer(x)
            if i in self.style_idx:
                style.append(x)
            if i == self.content_idx:
                content = x
            if i >= last:
                break
        return style, content


def gram_matrix(features):
    """Gram matrix of (N, C, H, W) features, normalised by C*H*W: (N, C, C).

    The style representation of Gatys et al.: which channels fire together, wherever they fire.
    """
    n, c, h, w = features.shape
    f = features.reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


def _extractor(weights, pooling, seed, device):
    key = (str(weights) if weights is not None else None, pooling, None if weights else int(seed), str(device))
    if key not in _cache:
        if len(_cache) >= 4:
            _cache.pop(next(iter(_cache)))
        _cache[key] = _Extractor(weights, pooling, seed, device)
    return _cache[key]


def _fit(rgb: np.ndarray, longest: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    s = longest / max(h, w)
    if s == 1:
        return rgb
    size = (max(8, round(w * s)), max(8, round(h * s)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)


def _check_options(*, optimizer, init, pooling, iterations, scales, size, max_time, threads) -> None:
    check_choice(optimizer, ("lbfgs", "adam"), name="optimizer")
    check_choice(init, ("content", "noise"), name="init")
    check_choice(pooling, ("avg", "max"), name="pooling")
    for name, v in (("iterations", iterations), ("scales", scales)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"`{name}` must be an int >= 1; got {v!r}.")
    if size is not None and (not isinstance(size, (int, np.integer)) or size < 32):
        raise ValueError(f"`size` must be an int >= 32 (longest side optimised) or None; got {size!r}.")
    if max_time is not None and not max_time > 0:
        raise ValueError(f"`max_time` must be a positive number of seconds or None; got {max_time!r}.")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, (int, np.integer))
                                or threads < 1):
        raise ValueError(f"`threads` must be an int >= 1 or None; got {threads!r}.")


def neural_stylize(content: np.ndarray, style: np.ndarray, *, weights=None, iterations: int = 200,
                   max_time: float | None = None, optimizer: str = "lbfgs", scales: int = 2,
                   size: int | None = 512, content_weight: float = 1.0, style_weight: float = 10.0,
                   tv_weight: float = 1.0, seed: int = 0, device="cpu", progress: bool | None = None,
                   callback=None, init: str = "content", lr: float | None = None,
                   pooling: str = "avg", threads: int | None = None) -> np.ndarray:
    """Gatys et al. 2016 on float32 RGB [0, 1]; see :func:`cvtools.generative.stylize` for the options.

    Losses (all scale-free, so the weights transfer between extractors): content
    ``|F(x) - F(c)|^2 / |F(c)|^2`` at the content layer, style ``sum_l |G_l(x) - G_l(s)|^2 / |G_l(s)|^2``
    averaged over the style layers, total variation ``mean(dx^2) + mean(dy^2)`` on the 0-1 image.
    """
    torch = _torch()
    _check_options(optimizer=optimizer, init=init, pooling=pooling, iterations=iterations, scales=scales,
                   size=size, max_time=max_time, threads=threads)
    dev = resolve_device(device, feature=FEATURE)
    if progress is None:
        progress = sys.stderr.isatty()
    h, w = content.shape[:2]
    longest = min(max(h, w), size) if size else max(h, w)
    ext = _extractor(weights, pooling, seed, dev)
    gen = torch.Generator().manual_seed(int(seed))
    if lr is None:
        lr = 1.0 if optimizer == "lbfgs" else 0.02

    def tensor(a):
        return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1))).unsqueeze(0).to(dev)

    # coarse to fine: each scale doubles the longest side; the first gets the smallest images
    sides = [max(32, round(longest / 2 ** k)) for k in reversed(range(scales))]
    per_scale = [iterations // scales + (1 if k < iterations % scales else 0) for k in range(scales)]
    start = time.perf_counter()
    x = None
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=iterations, desc="neural style", unit="it", file=sys.stderr, leave=False)
    step = 0
    saved_threads = torch.get_num_threads()
    if threads is not None:
        # torch's thread count is per process: set for this call only, restored below
        torch.set_num_threads(int(threads))
    try:
        for side, n_it in zip(sides, per_scale):
            c_np = _fit(content, side)
            c_t = tensor(c_np)
            s_t = tensor(_fit(style, side))
            with torch.no_grad():
                s_feats, _ = ext(s_t)
                s_grams = [gram_matrix(f) for f in s_feats]
                s_norms = [g.pow(2).sum().clamp_min(1e-12) for g in s_grams]
                _, c_feat = ext(c_t)
                c_norm = c_feat.pow(2).sum().clamp_min(1e-12)
            if x is None:
                if init == "content":
                    x0 = c_t.clone()
                else:
                    x0 = torch.rand(c_t.shape, generator=gen).to(dev) * 0.2 + 0.4
            else:
                x0 = torch.nn.functional.interpolate(x.detach(), size=c_t.shape[2:], mode="bilinear",
                                                     align_corners=False)
            x = x0.clamp(0, 1).requires_grad_(True)
            if optimizer == "lbfgs":
                opt = torch.optim.LBFGS([x], lr=lr, max_iter=1, history_size=20)
            else:
                opt = torch.optim.Adam([x], lr=lr)
            last = {}

            def losses():
                feats, cf = ext(x)
                lc = (cf - c_feat).pow(2).sum() / c_norm
                ls = sum((gram_matrix(f) - g).pow(2).sum() / n for f, g, n in zip(feats, s_grams, s_norms))
                ltv = ((x[..., 1:, :] - x[..., :-1, :]).pow(2).mean()
                       + (x[..., :, 1:] - x[..., :, :-1]).pow(2).mean())
                ls = ls / len(s_grams)
                total = content_weight * lc + style_weight * ls + tv_weight * ltv
                return total, {"content": lc.item(), "style": ls.item(), "tv": ltv.item(),
                               "total": total.item()}

            def closure():
                opt.zero_grad()
                total, info = losses()
                total.backward()
                last.update(info)
                return total

            if callback is not None and step == 0:
                with torch.no_grad():
                    callback(0, losses()[1])
            for _ in range(n_it):
                opt.step(closure)
                if optimizer == "adam":
                    # projecting would break L-BFGS's curvature pairs (and makes it diverge on some
                    # paintings), so L-BFGS runs unconstrained and the result is clipped at the end
                    with torch.no_grad():
                        x.clamp_(0, 1)
                step += 1
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(content=f"{last['content']:.3g}", style=f"{last['style']:.3g}")
                if callback is not None:
                    callback(step, dict(last, side=side))
                if max_time is not None and time.perf_counter() - start > max_time:
                    break
            if max_time is not None and time.perf_counter() - start > max_time:
                # the time is spent: bring the current image to full resolution and stop
                break
    finally:
        if bar is not None:
            bar.close()
        if threads is not None:
            torch.set_num_threads(saved_threads)
    out = x.detach().clamp(0, 1)[0].permute(1, 2, 0).cpu().numpy()
    if out.shape[:2] != (h, w):
        out = cv2.resize(out, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(out, 0, 1).astype(np.float32)
