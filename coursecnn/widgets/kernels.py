"""Classic image-processing kernels (seed 003's table) and a Gabor kernel maker.

``KERNELS`` is the seed's table as data, in the seed's order: name -> kernel ``(k, k)``.
``gabor_kernel`` builds the real part of a Gabor filter (seed 001):

    g(x, y) = exp(-(x'^2 + gamma^2 y'^2) / (2 sigma^2)) * cos(2 pi x' / wavelength + psi)
    x' =  x cos(theta) + y sin(theta)
    y' = -x sin(theta) + y cos(theta)

with ``x`` along the columns and ``y`` along the rows (downwards), the convention of
``skimage.filters.gabor_kernel``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["KERNELS", "gabor_kernel"]

_GAUSS_5 = np.array(
    [
        [1, 4, 6, 4, 1],
        [4, 16, 24, 16, 4],
        [6, 24, 36, 24, 6],
        [4, 16, 24, 16, 4],
        [1, 4, 6, 4, 1],
    ],
    dtype=float,
)
_UNSHARP_5 = _GAUSS_5.copy()
_UNSHARP_5[2, 2] = -476.0

#: Seed 003's "Convolution Operators" table, in its order.
KERNELS: dict[str, np.ndarray] = {
    "Identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=float),
    "Edge detection 1": np.array([[1, 0, -1], [0, 0, 0], [-1, 0, 1]], dtype=float),
    "Edge detection 2": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=float),
    "Edge detection 3": np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], dtype=float),
    "Sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=float),
    "Box blur": np.ones((3, 3)) / 9.0,
    "Gaussian blur 3x3": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=float) / 16.0,
    "Gaussian blur 5x5": _GAUSS_5 / 256.0,
    "Unsharp masking 5x5": -_UNSHARP_5 / 256.0,
}


def gabor_kernel(
    size: int,
    theta: float,
    wavelength: float,
    sigma: float,
    gamma: float = 1.0,
    psi: float = 0.0,
) -> np.ndarray:
    """Real part of a Gabor kernel, shape ``(size, size)``, peak 1 at the centre when psi = 0.

    size: odd side length; theta: orientation of the wave's normal in radians (0: the stripes
    are vertical, the wave runs along x); wavelength: of the cosine in pixels; sigma: standard
    deviation of the Gaussian envelope along x'; gamma: aspect ratio (the envelope's standard
    deviation along y' is sigma / gamma); psi: phase offset in radians.

    Equals ``skimage.filters.gabor_kernel(1 / wavelength, theta, sigma_x=sigma,
    sigma_y=sigma / gamma, offset=psi).real`` times ``2 pi sigma_x sigma_y`` (skimage
    normalises the envelope to unit integral), on the common support.
    """
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 1:
        raise ValueError(f"size: expected a positive odd integer, got {size!r}")
    if size % 2 == 0:
        raise ValueError(f"size: expected an odd integer (the kernel has a centre), got {size}")
    for name, value in (("wavelength", wavelength), ("sigma", sigma), ("gamma", gamma)):
        if not value > 0:
            raise ValueError(f"{name}: expected a positive number, got {value!r}")
    half = size // 2
    y, x = np.mgrid[-half : half + 1, -half : half + 1].astype(float)
    xr = x * np.cos(theta) + y * np.sin(theta)
    yr = -x * np.sin(theta) + y * np.cos(theta)
    envelope = np.exp(-(xr**2 + gamma**2 * yr**2) / (2.0 * sigma**2))
    return envelope * np.cos(2.0 * np.pi * xr / wavelength + psi)
