"""A small residual CNN (torch, CPU) trained on a folder with augmentation and early stopping."""
from __future__ import annotations

import contextlib
import sys
import time

import numpy as np

from .._shared import require, resolve_device
from ._data import prepare_batch
from ._model import Classifier
from ._modelfile import Invalid, _short, check_array, check_no_extra, is_int

#: Bounds on the architecture a model file may declare (checked at load, before anything is built).
MAX_STAGES = 8
MAX_WIDTH = 1024
MAX_BLOCKS = 8
#: Largest feature map of one image, in values (64 MiB of float32), so prediction memory is bounded.
MAX_ACTIVATION = 2 ** 24
_BATCH_VALUES = 2 ** 26  # feature-map values per prediction batch (so at most 64 images of 1 Mi values)

_NETS = {}


def _torch(feature="cvtools.recognize.train(method='cnn')"):
    return require("torch", feature=feature)


def _net_classes(torch):
    """Build the nn.Module classes once per process (torch is imported lazily)."""
    if "ResNetSmall" in _NETS:
        return _NETS["ResNetSmall"]
    nn = torch.nn

    def conv_bn(cin, cout, k, stride=1, relu=True):
        layers = [nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False), nn.BatchNorm2d(cout)]
        if relu:
            layers.append(nn.ReLU(inplace=True))
        return nn.Sequential(*layers)

    class Bottleneck(nn.Module):
        """He et al. 2016 bottleneck: 1x1 reduce -> 3x3 -> 1x1 expand, plus the skip connection.

        The 1x1 convolutions cut the channels the 3x3 works on by 4, which is where the cost is;
        the skip lets the gradient reach early layers unchanged (identity, or a strided 1x1
        projection when the shape changes).
        """

        def __init__(self, cin, cout, stride):
            super().__init__()
            mid = max(cout // 4, 8)
            self.reduce = conv_bn(cin, mid, 1)
            self.conv = conv_bn(mid, mid, 3, stride)
            self.expand = conv_bn(mid, cout, 1, relu=False)
            self.skip = (nn.Identity() if cin == cout and stride == 1
                         else conv_bn(cin, cout, 1, stride, relu=False))
            self.relu = nn.ReLU(inplace=True)

        def forward(self, x):
            return self.relu(self.expand(self.conv(self.reduce(x))) + self.skip(x))

    class ResNetSmall(nn.Module):
        """Stem conv-BN-ReLU, one stage of bottlenecks per width (stride 2 between stages),
        global average pooling, dropout, a linear layer."""

        def __init__(self, in_channels, n_classes, widths=(32, 64, 128), blocks=1, dropout=0.3,
                     stem_stride=2):
            super().__init__()
            self.stem = conv_bn(in_channels, widths[0], 3, stem_stride)
            layers, prev = [], widths[0]
            for i, w in enumerate(widths):
                for b in range(blocks):
                    layers.append(Bottleneck(prev, w, 2 if (i > 0 and b == 0) else 1))
                    prev = w
            self.stages = nn.Sequential(*layers)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.dropout = nn.Dropout(dropout)
            self.fc = nn.Linear(prev, n_classes)

        def embed(self, x):
            return self.pool(self.stages(self.stem(x))).flatten(1)

        def forward(self, x):
            return self.fc(self.dropout(self.embed(x)))

    _NETS["ResNetSmall"] = ResNetSmall
    _NETS["Bottleneck"] = Bottleneck
    return ResNetSmall


@contextlib.contextmanager
def _deterministic(torch):
    """Deterministic kernels while training, restoring the caller's setting afterwards."""
    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        with _one_thread(torch):
            yield
    finally:
        torch.use_deterministic_algorithms(before)


@contextlib.contextmanager
def _one_thread(torch):
    """Run torch on one thread for the duration (restoring the caller's thread count).

    torch 2.13's multi-threaded oneDNN convolution backward corrupts the heap (double free) on
    some small batch / feature-map shapes this network meets; single-threaded it is correct, and
    at these sizes one thread is about as fast (the native kernels without oneDNN are ~20x slower).
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _precise_bn(torch, net, x_t, batch: int = 128):
    """Re-estimate batch-norm statistics over the (un-augmented) training set.

    With a few batches per epoch the running averages (momentum 0.1) lag far behind the weights,
    so the network in eval mode is much worse than in training mode; averaging the statistics of
    the current weights exactly ("precise BN", Wu & Johnson 2021) fixes that for small data sets.
    """
    bns = [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the pass
    net.train()
    with torch.no_grad():
        for i in range(0, len(x_t), batch):
            if len(x_t[i:i + batch]) > 1:
                net(x_t[i:i + batch])
    for m, mom in zip(bns, saved):
        m.momentum = mom


def state_shapes(arch: dict, in_channels: int, n_classes: int) -> dict:
    """The name and shape of every tensor in ``ResNetSmall(...).state_dict()``, without torch.

    It mirrors :func:`_net_classes` (a test checks it against a real network), so a model file's
    weights can be checked at load before torch is imported or anything is allocated.
    """
    shapes = {}

    def conv_bn(prefix, cin, cout, k):
        shapes[f"{prefix}.0.weight"] = (cout, cin, k, k)
        for p in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{prefix}.1.{p}"] = (cout,)
        shapes[f"{prefix}.1.num_batches_tracked"] = ()

    widths = arch["widths"]
    conv_bn("stem", in_channels, widths[0], 3)
    i, prev = 0, widths[0]
    for s, w in enumerate(widths):
        for b in range(arch["blocks"]):
            stride = 2 if (s > 0 and b == 0) else 1
            mid = max(w // 4, 8)
            conv_bn(f"stages.{i}.reduce", prev, mid, 1)
            conv_bn(f"stages.{i}.conv", mid, mid, 3)
            conv_bn(f"stages.{i}.expand", mid, w, 1)
            if not (prev == w and stride == 1):
                conv_bn(f"stages.{i}.skip", prev, w, 1)
            i, prev = i + 1, w
    shapes["fc.weight"] = (n_classes, prev)
    shapes["fc.bias"] = (n_classes,)
    return shapes


def activation_values(arch: dict, image_size, in_channels: int = 3) -> int:
    """The most values one feature map of one image holds in the network (a bound on its memory)."""
    h, w = (-(-v // arch["stem_stride"]) for v in image_size)  # the stem's padded 3x3 conv: ceil(v / s)
    most = max(in_channels * image_size[0] * image_size[1], arch["widths"][0] * h * w)
    prev = arch["widths"][0]
    for s, width in enumerate(arch["widths"]):
        mid = max(width // 4, 8)
        most = max(most, max(width, mid, prev) * h * w)
        if s > 0:
            h, w = -(-h // 2), -(-w // 2)
        prev = width
    return most


def check_arch(arch) -> dict:
    """A model file's ``arch``, checked against the bounds above; raises :class:`Invalid`."""
    if not isinstance(arch, dict):
        raise Invalid(f"`arch` must be an object; got {_short(arch)}")
    missing = [k for k in ("widths", "blocks", "dropout", "stem_stride") if k not in arch]
    if missing:
        raise Invalid(f"`arch` lacks {', '.join(missing)}")
    widths = arch["widths"]
    if (not isinstance(widths, list) or not 1 <= len(widths) <= MAX_STAGES
            or not all(is_int(w) and 1 <= w <= MAX_WIDTH for w in widths)):
        raise Invalid(f"`arch.widths` must be 1 to {MAX_STAGES} integers in 1..{MAX_WIDTH}; got {_short(widths)}")
    if not is_int(arch["blocks"]) or not 1 <= arch["blocks"] <= MAX_BLOCKS:
        raise Invalid(f"`arch.blocks` must be an integer in 1..{MAX_BLOCKS}; got {_short(arch['blocks'])}")
    dropout = arch["dropout"]
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise Invalid(f"`arch.dropout` must be a number in [0, 1); got {_short(dropout)}")
    if not is_int(arch["stem_stride"]) or arch["stem_stride"] not in (1, 2):
        raise Invalid(f"`arch.stem_stride` must be 1 or 2; got {_short(arch['stem_stride'])}")
    return {"widths": list(widths), "blocks": arch["blocks"], "dropout": float(dropout),
            "stem_stride": arch["stem_stride"]}


def build_net(arch: dict, in_channels: int, n_classes: int, *, seed: int = 0):
    torch = _torch()
    cls = _net_classes(torch)
    torch.manual_seed(seed)
    return cls(in_channels, n_classes, widths=tuple(arch["widths"]), blocks=int(arch["blocks"]),
               dropout=float(arch["dropout"]), stem_stride=int(arch["stem_stride"]))


def _augmenter(seed: int, flip: bool):
    import cv2

    A = require("albumentations", feature="cvtools.recognize.train(method='cnn', augment=True)")
    transforms = [
        A.Affine(scale=(0.9, 1.1), translate_percent=(-0.06, 0.06), rotate=(-12, 12),
                 border_mode=cv2.BORDER_REFLECT_101, p=0.8),
        A.RandomBrightnessContrast(brightness_limit=0.2, contrast_limit=0.2, p=0.5),
    ]
    if flip:
        transforms.insert(0, A.HorizontalFlip(p=0.5))
    return A.Compose(transforms, seed=seed)


class CnnClassifier(Classifier):
    """A small residual network: made by ``train(root, method="cnn")``, runs on the CPU with torch.

    Attributes besides :class:`Classifier`'s: ``arch`` (widths, blocks, dropout, stem stride),
    ``mean`` / ``std`` (per-channel input normalisation), ``state`` (the weights as numpy arrays).
    """

    method = "cnn"

    def __init__(self, classes, image_size, channels, *, arch, mean, std, state, info=None):
        super().__init__(classes, image_size, channels, info)
        self.arch = dict(arch)
        self.mean = np.asarray(mean, np.float32).reshape(-1)
        self.std = np.asarray(std, np.float32).reshape(-1)
        self.state = {k: np.asarray(v) for k, v in state.items()}
        self._net = None

    def network(self):
        """The torch module (built on first use, in eval mode)."""
        if self._net is None:
            torch = _torch("cvtools.recognize.CnnClassifier")
            net = build_net(self.arch, self.channels, len(self.classes))
            net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in self.state.items()})
            net.eval()
            self._net = net
        return self._net

    def _tensor(self, items):
        torch = _torch("cvtools.recognize.CnnClassifier")
        x = prepare_batch(items, size=self.image_size, channels=self.channels)
        x = (x - self.mean) / self.std
        return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))

    def _run(self, items, what):
        torch = _torch("cvtools.recognize.CnnClassifier")
        net = self.network()
        out = []
        step = max(1, min(64, _BATCH_VALUES // activation_values(self.arch, self.image_size, self.channels)))
        with torch.no_grad(), _one_thread(torch):
            for i in range(0, len(items), step):
                x = self._tensor(items[i:i + step])
                out.append((torch.softmax(net(x), 1) if what == "proba" else net.embed(x)).numpy())
        return np.concatenate(out).astype(np.float32)

    def _proba(self, items):
        return self._run(items, "proba")

    def embed(self, images) -> np.ndarray:
        """The globally pooled features before the last layer, ``(N, widths[-1])`` float32."""
        from ._data import as_image_list

        items = as_image_list(images)
        if not items:
            return np.zeros((0, self.arch["widths"][-1]), np.float32)
        return self._run(items, "embed")

    def _arrays(self):
        out = {"norm_mean": self.mean, "norm_std": self.std}
        out.update({f"w.{k}": v for k, v in self.state.items()})
        return out

    def _meta(self):
        return {"arch": self.arch}

    @classmethod
    def _from_saved(cls, meta, arrays, common):
        arch = check_arch(meta.get("arch"))
        c = common["channels"]
        act = activation_values(arch, common["image_size"], c)
        if act > MAX_ACTIVATION:
            raise Invalid(f"its network would hold {act:,} values in one feature map of one image; at most "
                          f"{MAX_ACTIVATION:,} are allowed (smaller `arch.widths` or `image_size`)")
        shapes = state_shapes(arch, c, len(common["classes"]))
        check_no_extra(arrays, ["norm_mean", "norm_std"] + [f"w.{k}" for k in shapes])
        mean = check_array(arrays, "norm_mean", (c,))
        std = check_array(arrays, "norm_std", (c,))
        if not (std > 0).all():
            raise Invalid("array 'norm_std' must be > 0 (inputs are divided by it)")
        state = {}
        for name, shape in shapes.items():
            if name.endswith("num_batches_tracked"):  # a scalar; saved as (1,) (np.ascontiguousarray)
                got = arrays.get(f"w.{name}")
                shape = (1,) if got is not None and got.shape == (1,) else shape
                state[name] = check_array(arrays, f"w.{name}", shape, kind="iu").reshape(())
                continue
            state[name] = check_array(arrays, f"w.{name}", shape)
            if name.endswith("running_var") and not (state[name] >= 0).all():
                raise Invalid(f"array 'w.{name}' has negative variances")
        return cls(common["classes"], common["image_size"], c, arch=arch, mean=mean, std=std, state=state,
                   info=common["info"])


def train_cnn(x_items, y, classes, *, image_size, channels, seed, epochs, batch_size, lr, patience,
              augment, flip, widths, blocks, dropout, val_items=None, y_val=None, progress=None,
              info=None, device="cpu") -> CnnClassifier:
    """Train :class:`CnnClassifier` on prepared item lists (arrays or paths) and labels."""
    torch = _torch()
    dev = resolve_device(device, feature="cvtools.recognize.train(method='cnn')")
    t0 = time.perf_counter()
    index = {c: i for i, c in enumerate(classes)}
    x = prepare_batch(x_items, size=image_size, channels=channels)
    yi = np.array([index[c] for c in y], np.int64)
    mean = x.mean((0, 1, 2)).astype(np.float32)
    std = np.maximum(x.std((0, 1, 2)), 1e-3).astype(np.float32)
    has_val = val_items is not None and len(val_items) > 0
    x_norm_t = torch.from_numpy(np.ascontiguousarray(((x - mean) / std).transpose(0, 3, 1, 2))).to(dev)
    if has_val:
        xv = (prepare_batch(val_items, size=image_size, channels=channels) - mean) / std
        xv_t = torch.from_numpy(np.ascontiguousarray(xv.transpose(0, 3, 1, 2))).to(dev)
        yv_t = torch.from_numpy(np.array([index[c] for c in y_val], np.int64)).to(dev)
    arch = {"widths": [int(w) for w in widths], "blocks": int(blocks), "dropout": float(dropout),
            "stem_stride": 2 if min(image_size) >= 48 else 1}
    aug = _augmenter(seed, flip) if augment else None
    rng = np.random.default_rng(seed)
    history, best, best_loss, best_epoch, bad = [], None, np.inf, 0, 0
    from tqdm import tqdm

    show = sys.stderr.isatty() if progress is None else bool(progress)
    # deterministic algorithms on the CPU; on CUDA they would need CUBLAS_WORKSPACE_CONFIG set beforehand
    with _deterministic(torch) if dev.type == "cpu" else contextlib.nullcontext():
        net = build_net(arch, channels, len(classes), seed=seed).to(dev)
        opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(epochs, 1))
        loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.05)
        bar = tqdm(range(epochs), desc="train cnn", unit="epoch", disable=not show, file=sys.stderr)
        for epoch in bar:
            net.train()
            order = rng.permutation(len(x))
            total, seen = 0.0, 0
            for s in range(0, len(order), batch_size):
                idx = order[s:s + batch_size]
                if len(idx) < 2 and len(order) > 1:
                    continue  # batch norm needs two samples
                xb = x[idx]
                if aug is not None:
                    xb = np.stack([aug(image=im)["image"].reshape(im.shape) for im in xb])
                xb = (xb - mean) / std
                xb_t = torch.from_numpy(np.ascontiguousarray(xb.transpose(0, 3, 1, 2), np.float32)).to(dev)
                opt.zero_grad()
                loss = loss_fn(net(xb_t), torch.from_numpy(yi[idx]).to(dev))
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
                seen += len(idx)
            sched.step()
            row = {"epoch": epoch + 1, "train_loss": total / max(seen, 1)}
            if has_val or epoch == epochs - 1:
                _precise_bn(torch, net, x_norm_t)
            if has_val:
                net.eval()
                with torch.no_grad():
                    logits = torch.cat([net(xv_t[i:i + 128]) for i in range(0, len(xv_t), 128)])
                    vloss = float(torch.nn.functional.cross_entropy(logits, yv_t))
                    vacc = float((logits.argmax(1) == yv_t).float().mean())
                row.update(val_loss=vloss, val_accuracy=vacc)
                if vloss < best_loss - 1e-4:
                    best_loss, best_epoch, bad = vloss, epoch + 1, 0
                    best = {k: v.detach().clone() for k, v in net.state_dict().items()}
                else:
                    bad += 1
            history.append(row)
            bar.set_postfix({k: round(v, 3) for k, v in row.items() if k != "epoch"})
            if has_val and bad >= patience:
                break
        bar.close()
    if best is not None:
        net.load_state_dict(best)
    info = dict(info or {})
    info.update(epochs_run=len(history), best_epoch=best_epoch or len(history), history=history,
                train_seconds=info.get("train_seconds", 0.0) + time.perf_counter() - t0)
    if has_val:
        info["val_accuracy"] = next(r["val_accuracy"] for r in history if r["epoch"] == info["best_epoch"])
    state = {k: v.detach().cpu().numpy().copy() for k, v in net.state_dict().items()}
    model = CnnClassifier(classes, image_size, channels, arch=arch, mean=mean, std=std, state=state, info=info)
    return model
