"""Photos from ``skimage.data`` as float arrays in [0, 1], all bundled with scikit-image."""

from __future__ import annotations

import numpy as np

#: The photos ``photo`` knows; each loads offline (none needs pooch). ``*`` marks colour ones.
PHOTOS = (
    "camera",
    "astronaut",  # *
    "chelsea",  # * a cat
    "coffee",  # *
    "rocket",  # *
    "coins",
    "moon",
    "text",
    "page",
    "brick",
    "grass",
    "gravel",
    "checkerboard",
    "horse",
)


def photo(name: str, gray: bool = False, size: int | tuple[int, int] | None = None) -> np.ndarray:
    """A photo as float64 in [0, 1]: ``(H, W)`` for grey ones, ``(H, W, 3)`` for colour ones.

    gray: convert a colour photo to grey levels (luminance), ``(H, W)``.
    size: resize (with anti-aliasing) to ``(size, size)`` or to ``(H, W)`` given as a pair.
    """
    if name not in PHOTOS:
        raise ValueError(f"name: expected one of {PHOTOS}, got {name!r}")
    from skimage import color, data, transform, util

    image = util.img_as_float64(getattr(data, name)())
    if gray and image.ndim == 3:
        image = color.rgb2gray(image)
    if size is not None:
        shape = (size, size) if isinstance(size, int) else tuple(size)
        if len(shape) != 2 or min(shape) < 1:
            raise ValueError(f"size: expected a positive int or an (H, W) pair, got {size!r}")
        image = transform.resize(image, shape + image.shape[2:], anti_aliasing=True)
    return np.clip(image, 0.0, 1.0)
