"""Canvases of a few Fashion-MNIST items, each pixel labelled with its item's class or background.

A structured-output task (notebook 09): the input is a canvas ``(H, W)`` with ``items`` items
dropped at random places; the target is a mask ``(H, W)`` of the same size whose pixels are
``0`` (background) or ``1 + class`` of the item that covers them.

The rules, so that labels and pixels always agree:

* an item *covers* the pixels where its intensity is at least ``threshold``; its fainter pixels
  (the black square around it, faint edges) are not drawn, so the background is exactly 0;
* items are drawn in order, each on top of those before it: where two items' covered pixels
  overlap, the later item's intensity and label win.

Hence ``mask == 0`` exactly where ``canvas == 0``, and a pixel labelled ``1 + c`` holds the
intensity of an item of class ``c`` (the topmost one covering it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coursecnn.data.classes import FASHION_CLASSES

#: The labels of a canvas mask: 0 is background, ``1 + c`` the Fashion-MNIST class ``c``.
CANVAS_CLASSES = ("background", *FASHION_CLASSES)


@dataclass(frozen=True)
class Canvases:
    """``make_canvases``' result; N canvases of ``H x W`` with K items each.

    images: uint8 (N, H, W); masks: int64 (N, H, W), 0 background, ``1 + class`` elsewhere;
    classes: int64 (N, K), each item's class, in drawing order (the last one on top);
    positions: int64 (N, K, 2), each item's top-left corner (row, column) on its canvas;
    sources: int64 (N, K), each item's index in the ``images`` it was taken from.
    """

    images: np.ndarray
    masks: np.ndarray
    classes: np.ndarray
    positions: np.ndarray
    sources: np.ndarray

    def __len__(self) -> int:
        return len(self.images)


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return int(value)


def make_canvases(
    images: np.ndarray,
    labels: np.ndarray,
    n: int,
    size: int | tuple[int, int] = (48, 64),
    items: int = 2,
    threshold: int = 32,
    seed: int = 0,
) -> Canvases:
    """``n`` canvases of ``size`` (H, W), each with ``items`` distinct items drawn from ``images``.

    images: uint8 (M, h, w), e.g. Fashion-MNIST's (M, 28, 28); labels: (M,) classes in 0..9
    (any non-negative integers). Items are chosen uniformly without repetition within a canvas
    and placed uniformly at random (wholly inside it); ``threshold`` (1..255) decides which of an
    item's pixels it covers. Seeded by ``seed``: the same arguments give the same canvases. Use
    the training images for training canvases and the test images for test canvases.
    """
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(
            f"images: expected uint8 images (M, h, w), got shape {images.shape}, "
            f"dtype {images.dtype}"
        )
    if labels.shape != (len(images),) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"labels: expected {len(images)} integer labels (shape ({len(images)},)), "
            f"got shape {labels.shape}, dtype {labels.dtype}"
        )
    if labels.size and labels.min() < 0:
        raise ValueError(f"labels: expected non-negative classes, got minimum {labels.min()}")
    n = _positive_int("n", n)
    items = _positive_int("items", items)
    if items > len(images):
        raise ValueError(f"items: expected at most the {len(images)} images given, got {items}")
    hw = (size, size) if isinstance(size, int | np.integer) else tuple(size)
    if len(hw) != 2:
        raise ValueError(f"size: expected an int or a pair (H, W), got {size!r}")
    height, width = (_positive_int("size", s) for s in hw)
    h, w = images.shape[1:]
    if height < h or width < w:
        raise ValueError(
            f"size: expected a canvas at least as large as an item ({h}, {w}), "
            f"got ({height}, {width})"
        )
    if isinstance(threshold, bool) or not isinstance(threshold, int | np.integer):
        raise ValueError(f"threshold: expected an integer in 1..255, got {threshold!r}")
    if not 1 <= threshold <= 255:
        raise ValueError(f"threshold: expected an integer in 1..255, got {threshold}")

    rng = np.random.default_rng(seed)
    sources = np.stack([rng.choice(len(images), size=items, replace=False) for _ in range(n)])
    rows = rng.integers(0, height - h + 1, size=(n, items))
    cols = rng.integers(0, width - w + 1, size=(n, items))
    canvas = np.zeros((n, height, width), dtype=np.uint8)
    masks = np.zeros((n, height, width), dtype=np.int64)
    for i in range(n):
        for k in range(items):
            item = images[sources[i, k]]
            covered = item >= threshold
            r, c = rows[i, k], cols[i, k]
            window = (i, slice(r, r + h), slice(c, c + w))
            canvas[window] = np.where(covered, item, canvas[window])  # later items on top
            masks[window] = np.where(covered, 1 + labels[sources[i, k]], masks[window])
    return Canvases(
        images=canvas,
        masks=masks,
        classes=labels[sources].astype(np.int64),
        positions=np.stack([rows, cols], axis=-1).astype(np.int64),
        sources=sources.astype(np.int64),
    )


__all__ = ["CANVAS_CLASSES", "Canvases", "make_canvases"]
