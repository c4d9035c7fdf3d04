"""Seeded synthetic noise, for testing denoisers and teaching."""
from __future__ import annotations

import numbers

import numpy as np

from .._shared import check_choice, dtype_max
from ._common import nonneg, prep

KINDS = ("gaussian", "salt-and-pepper", "poisson")
#: Largest ``amount`` for gaussian noise (standard deviations of 1000 full ranges only saturate).
MAX_GAUSSIAN_AMOUNT = 1e3
#: Largest photon count for poisson noise (numpy's sampler refuses rates near 2**63).
MAX_PHOTONS = 1e15


def _rng(seed) -> np.random.Generator:
    """numpy's generator for ``seed``, with a message that names the argument when it is not one."""
    if seed is None or isinstance(seed, (np.random.Generator, np.random.BitGenerator, np.random.SeedSequence)):
        return np.random.default_rng(seed)
    if not isinstance(seed, numbers.Integral) or isinstance(seed, (bool, np.bool_)):
        raise TypeError(f"`seed` must be None, an integer >= 0 or a numpy.random.Generator; got {seed!r}.")
    if seed < 0:
        raise ValueError(f"`seed` must be None, an integer >= 0 or a numpy.random.Generator; got {seed!r}.")
    return np.random.default_rng(int(seed))


def add_noise(image: np.ndarray, kind: str = "gaussian", *, amount: float | None = None,
              seed: int | np.random.Generator | None = None) -> np.ndarray:
    """Add synthetic noise; the result is an image of the same dtype, clipped to the valid range.

    * ``"gaussian"``: additive, zero-mean; ``amount`` is the standard deviation as a fraction of the
      full range (default 0.05, i.e. 12.75 gray levels for uint8; at most 1000). Independent per channel.
    * ``"salt-and-pepper"``: ``amount`` is the fraction of pixels replaced (default 0.05), half by 0
      and half by full intensity; a pixel is replaced in all its channels.
    * ``"poisson"``: shot noise; ``amount`` is the photon count at full intensity (default 255, so a
      uint8 value is its own photon count; at most 1e15); smaller is noisier.

    Floats are clipped to [0, 1], integers saturate.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        uint8, uint16, float32 or float64.
    kind : {"gaussian", "salt-and-pepper", "poisson"}
        The noise model.
    amount : float, optional
        Strength, as above.
    seed : int or numpy.random.Generator, optional
        Random seed for reproducible noise.

    Returns
    -------
    ndarray
        Same shape and dtype.

    Examples
    --------
    >>> img = np.full((100, 100), 0.5, np.float32)
    >>> noisy = add_noise(img, "gaussian", amount=0.1, seed=0)
    >>> noisy.dtype, round(float(noisy.std()), 1)
    (dtype('float32'), 0.1)
    """
    check_choice(kind, KINDS, name="kind")
    image = prep(image)
    rng = _rng(seed)
    top = float(dtype_max(image.dtype))
    work = np.float64 if image.dtype == np.float64 else np.float32
    if kind == "gaussian":
        sd = 0.05 if amount is None else nonneg(amount, "amount")
        if sd > MAX_GAUSSIAN_AMOUNT:
            raise ValueError(f"`amount` for gaussian noise is a standard deviation in full ranges, at most "
                             f"{MAX_GAUSSIAN_AMOUNT:g}; got {sd:g}.")
        out = image.astype(work)
        out += rng.standard_normal(image.shape, dtype=work) * work(sd * top)
    elif kind == "salt-and-pepper":
        frac = 0.05 if amount is None else nonneg(amount, "amount")
        if frac > 1:
            raise ValueError(f"`amount` for salt-and-pepper is a fraction of pixels in [0, 1]; got {frac}.")
        out = image.copy()
        u = rng.random(image.shape[:2])
        out[u < frac / 2] = 0
        out[(u >= frac / 2) & (u < frac)] = image.dtype.type(top)
        return out
    else:
        peak = 255.0 if amount is None else nonneg(amount, "amount")
        if peak == 0 or peak > MAX_PHOTONS:
            raise ValueError(f"`amount` for poisson is the photon count at full intensity, in (0, {MAX_PHOTONS:g}]; "
                             f"got {peak:g}.")
        lam = np.clip(image.astype(np.float64), 0, top) * (peak / top)  # (out-of-range floats: rate bounded)
        out = (rng.poisson(lam) * (top / peak)).astype(work)
    np.clip(out, 0, top, out=out)
    if image.dtype.kind == "u":
        np.rint(out, out=out)
    return out.astype(image.dtype, copy=False)
