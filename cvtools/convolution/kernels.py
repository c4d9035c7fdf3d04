"""A library of classic 2-D kernels, ready for :func:`cvtools.convolution.correlate2d`.

Every kernel is a float64 ``(height, width)`` array meant for *correlation* (the OpenCV
convention): ``sobel("x")`` responds positively where intensity grows to the right. Pass it to
:func:`~cvtools.convolution.convolve2d` and the sign flips for antisymmetric kernels.

Build any of them by name with :func:`get_kernel` (used by the batch ``convolve`` operation)::

    get_kernel("gaussian", sigma=2.0)

Examples
--------
>>> float(box(3).sum())
1.0
>>> sobel("x")
array([[-1.,  0.,  1.],
       [-2.,  0.,  2.],
       [-1.,  0.,  1.]])
"""
from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["box", "gaussian", "sobel", "scharr", "prewitt", "laplacian", "sharpen", "emboss",
           "motion_blur", "gabor", "get_kernel", "KERNELS"]


def _size_pair(size, *, name="size", odd=False, minimum=1):
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        size = (size, size)
    if not (isinstance(size, (tuple, list)) and len(size) == 2
            and all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in size)):
        raise TypeError(f"`{name}` must be an int or (height, width) ints; got {size!r}.")
    h, w = int(size[0]), int(size[1])
    if h < minimum or w < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}; got {size!r}.")
    if odd and (h % 2 == 0 or w % 2 == 0):
        raise ValueError(f"`{name}` must be odd so the kernel has a centre pixel; got {size!r}.")
    return h, w


def _axis(axis):
    if axis in ("x", "y"):
        return axis
    raise ValueError(f"`axis` must be 'x' (horizontal derivative) or 'y' (vertical); got {axis!r}.")


def _positive(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a number > 0; got {value!r}.")
    if not value > 0:
        raise ValueError(f"`{name}` must be > 0; got {value!r}.")
    return float(value)


def box(size=3) -> np.ndarray:
    """Normalised box (mean) kernel of ``size`` (int or (height, width)), summing to 1.

    Examples
    --------
    >>> box((1, 4))
    array([[0.25, 0.25, 0.25, 0.25]])
    """
    h, w = _size_pair(size)
    return np.full((h, w), 1.0 / (h * w))


def _gauss1d(n, sigma):
    x = np.arange(n) - (n - 1) / 2
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


def gaussian(size=None, *, sigma) -> np.ndarray:
    """Normalised, sampled Gaussian kernel (sums to 1), the outer product of two 1-D Gaussians.

    Parameters
    ----------
    size : int or (int, int), optional
        Odd kernel size; default ``2 * ceil(3 * sigma) + 1`` per axis.
    sigma : float or (float, float)
        Standard deviation in pixels, or (vertical, horizontal).

    Examples
    --------
    >>> k = gaussian(sigma=1.0)
    >>> k.shape, round(float(k.sum()), 6), round(float(k[3, 3]), 4)
    ((7, 7), 1.0, 0.1592)
    """
    if isinstance(sigma, (tuple, list)):
        if len(sigma) != 2:
            raise ValueError(f"`sigma` must be a number or (vertical, horizontal); got {sigma!r}.")
        sy, sx = (_positive(s, "sigma") for s in sigma)
    else:
        sy = sx = _positive(sigma, "sigma")
    if size is None:
        size = (2 * math.ceil(3 * sy) + 1, 2 * math.ceil(3 * sx) + 1)
    h, w = _size_pair(size, odd=True)
    return np.outer(_gauss1d(h, sy), _gauss1d(w, sx))


def _binomial(n):
    row = np.array([1.0])
    for _ in range(n - 1):
        row = np.convolve(row, [1.0, 1.0])
    return row


def sobel(axis="x", *, size=3) -> np.ndarray:
    """Sobel derivative kernel: binomial smoothing across, central difference along ``axis``.

    Parameters
    ----------
    axis : {'x', 'y'}
        'x' differentiates horizontally (responds to vertical edges), 'y' vertically.
    size : {3, 5, 7, ...}
        Odd kernel size (same kernels as ``cv2.getDerivKernels``).

    Examples
    --------
    >>> sobel("y")
    array([[-1., -2., -1.],
           [ 0.,  0.,  0.],
           [ 1.,  2.,  1.]])
    """
    axis = _axis(axis)
    n = _size_pair(size, odd=True, minimum=3)[0]
    smooth = _binomial(n)
    deriv = np.convolve(_binomial(n - 2), [1.0, 0.0, -1.0])  # ascending: [-1, 0, 1] after flip below
    deriv = deriv[::-1]
    k = np.outer(smooth, deriv)
    return k if axis == "x" else np.ascontiguousarray(k.T)


def scharr(axis="x") -> np.ndarray:
    """Scharr 3x3 derivative kernel (better rotation invariance than Sobel).

    Examples
    --------
    >>> scharr("x")
    array([[ -3.,   0.,   3.],
           [-10.,   0.,  10.],
           [ -3.,   0.,   3.]])
    """
    k = np.outer([3.0, 10.0, 3.0], [-1.0, 0.0, 1.0])
    return k if _axis(axis) == "x" else np.ascontiguousarray(k.T)


def prewitt(axis="x") -> np.ndarray:
    """Prewitt 3x3 derivative kernel (box smoothing across the derivative).

    Examples
    --------
    >>> prewitt("x")[0]
    array([-1.,  0.,  1.])
    """
    k = np.outer([1.0, 1.0, 1.0], [-1.0, 0.0, 1.0])
    return k if _axis(axis) == "x" else np.ascontiguousarray(k.T)


def laplacian(*, diagonal=False) -> np.ndarray:
    """3x3 Laplacian (sum of second derivatives); 4-neighbour, or 8-neighbour with ``diagonal``.

    Examples
    --------
    >>> laplacian()
    array([[ 0.,  1.,  0.],
           [ 1., -4.,  1.],
           [ 0.,  1.,  0.]])
    """
    if diagonal:
        k = np.ones((3, 3))
        k[1, 1] = -8.0
        return k
    return np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def sharpen(amount=1.0) -> np.ndarray:
    """Sharpening kernel ``identity - amount * laplacian()``; sums to 1 (flat areas unchanged).

    Examples
    --------
    >>> sharpen()
    array([[ 0., -1.,  0.],
           [-1.,  5., -1.],
           [ 0., -1.,  0.]])
    """
    if isinstance(amount, bool) or not isinstance(amount, numbers.Real):
        raise TypeError(f"`amount` must be a number; got {amount!r}.")
    k = -float(amount) * laplacian()
    k[1, 1] += 1.0
    return k + 0.0  # no negative zeros


def emboss() -> np.ndarray:
    """3x3 emboss kernel (light from the top-left); sums to 1.

    Examples
    --------
    >>> emboss()
    array([[-2., -1.,  0.],
           [-1.,  1.,  1.],
           [ 0.,  1.,  2.]])
    """
    return np.array([[-2.0, -1.0, 0.0], [-1.0, 1.0, 1.0], [0.0, 1.0, 2.0]])


def motion_blur(size=9, angle=0.0) -> np.ndarray:
    """Linear motion-blur kernel: a normalised line of length ``size`` through the centre.

    Parameters
    ----------
    size : int
        Odd kernel side and line length in pixels.
    angle : float
        Direction in degrees, counter-clockwise from horizontal (the image y axis points down).

    Examples
    --------
    >>> motion_blur(3, 0)
    array([[0.        , 0.        , 0.        ],
           [0.33333333, 0.33333333, 0.33333333],
           [0.        , 0.        , 0.        ]])
    >>> bool(np.allclose(motion_blur(5, 90), motion_blur(5, 0).T))
    True
    """
    n = _size_pair(size, odd=True)[0]
    if isinstance(angle, bool) or not isinstance(angle, numbers.Real):
        raise TypeError(f"`angle` must be a number of degrees; got {angle!r}.")
    c = (n - 1) / 2
    theta = math.radians(float(angle))
    dx, dy = math.cos(theta), -math.sin(theta)
    y, x = np.mgrid[0:n, 0:n] - c
    across = np.abs(x * dy - y * dx)  # distance of each pixel centre to the line
    along = np.abs(x * dx + y * dy)
    # a one-pixel-wide anti-aliased segment of length ``n``
    k = np.clip(1.0 - across, 0.0, None) * np.clip(c + 1.0 - along, 0.0, 1.0)
    k[k < 1e-12] = 0.0
    return k / k.sum()


def gabor(size=None, *, sigma, theta=0.0, wavelength, gamma=0.5, psi=0.0) -> np.ndarray:
    """Gabor kernel: a Gaussian envelope times a cosine wave (same values as ``cv2.getGaborKernel``).

    Parameters
    ----------
    size : int or (int, int), optional
        Odd kernel size; default ``2 * ceil(3 * sigma / min(gamma, 1)) + 1``.
    sigma : float
        Envelope standard deviation along the wave, in pixels.
    theta : float
        Orientation of the wave's normal, in radians.
    wavelength : float
        Wavelength of the cosine, in pixels.
    gamma : float
        Spatial aspect ratio (envelope is ``sigma / gamma`` across the wave).
    psi : float
        Phase offset in radians (0: even/symmetric, pi/2: odd).

    Examples
    --------
    >>> k = gabor(sigma=2.0, wavelength=4.0)
    >>> k.shape, float(k[k.shape[0] // 2, k.shape[1] // 2])
    ((25, 25), 1.0)
    """
    sigma = _positive(sigma, "sigma")
    wavelength = _positive(wavelength, "wavelength")
    gamma = _positive(gamma, "gamma")
    if size is None:
        half = math.ceil(3 * sigma / min(gamma, 1.0))
        size = 2 * half + 1
    h, w = _size_pair(size, odd=True)
    ymax, xmax = h // 2, w // 2
    # cv2.getGaborKernel fills kernel[ymax - y, xmax - x] from coordinates (x, y)
    y, x = np.mgrid[ymax:-ymax - 1:-1, xmax:-xmax - 1:-1].astype(np.float64)
    c, s = math.cos(theta), math.sin(theta)
    xr = x * c + y * s
    yr = -x * s + y * c
    sx, sy = sigma, sigma / gamma
    return np.exp(-0.5 * (xr * xr / (sx * sx) + yr * yr / (sy * sy))) * np.cos(2 * math.pi * xr / wavelength + psi)


_BUILDERS = {
    "box": box, "gaussian": gaussian, "sobel": sobel, "scharr": scharr, "prewitt": prewitt,
    "laplacian": laplacian, "sharpen": sharpen, "emboss": emboss, "motion_blur": motion_blur,
    "gabor": gabor,
}

#: Names accepted by :func:`get_kernel`.
KERNELS = tuple(_BUILDERS)


def get_kernel(name, **params) -> np.ndarray:
    """Build a kernel of this library by name, passing ``params`` to its function.

    Examples
    --------
    >>> get_kernel("box", size=2)
    array([[0.25, 0.25],
           [0.25, 0.25]])
    >>> get_kernel("sobel", axis="y").shape
    (3, 3)
    """
    if name not in _BUILDERS:
        raise ValueError(f"unknown kernel {name!r}; valid: {', '.join(repr(k) for k in KERNELS)}.")
    try:
        return _BUILDERS[name](**params)
    except TypeError as exc:
        raise TypeError(f"get_kernel({name!r}): {exc}") from None
