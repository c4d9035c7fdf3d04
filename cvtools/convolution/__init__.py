"""Convolution as a concept and as a fast tool.

* :func:`correlate2d` / :func:`convolve2d` with padding, stride and dilation, and the output-size
  formula :func:`output_shape`;
* :mod:`~cvtools.convolution.kernels`, a library of classic kernels (:func:`kernels.get_kernel`);
* :func:`pool2d` (max / average / min pooling);
* up-sampling by interpolation (:func:`upsample`) or by :func:`transposed_conv2d`;
* Gaussian and Laplacian pyramids.

The engine (OpenCV direct or separable; for strides a numba kernel computing only the kept outputs,
its separable twin, a decimated FFT, or stride 1 then subsampling) is chosen automatically; see
``docs/convolution.md`` for the contract and the measured speed.
"""
from . import kernels
from ._correlate import convolve2d, correlate2d
from ._params import output_shape
from ._pool import pool2d
from ._pyramid import gaussian_pyramid, laplacian_pyramid, reconstruct_laplacian
from ._resample import transposed_conv2d, upsample

__all__ = [
    "correlate2d", "convolve2d", "output_shape", "kernels", "pool2d", "upsample",
    "transposed_conv2d", "gaussian_pyramid", "laplacian_pyramid", "reconstruct_laplacian",
]
