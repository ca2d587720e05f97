"""From NumPy arrays to torch: a normalised ``TensorDataset`` and a seeded ``DataLoader``.

Normalisation: ``x = (pixel / 255 - mean) / std``. Compute ``mean`` and ``std`` on the training
images (``stats(train_images)``) and pass the same two numbers for the test images, so that
both splits go through the same transform; ``to_dataset`` computes them from the images it is
given only when they are left out. ``train_test_loaders`` does all this for a named data set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch
    from torch.utils.data import DataLoader, Dataset, TensorDataset


def stats(images: np.ndarray) -> tuple[float, float]:
    """``(mean, std)`` of the pixels of uint8 ``images`` scaled to [0, 1]."""
    x = np.asarray(images, dtype=np.float64) / 255.0
    return float(x.mean()), float(x.std())


def _as_nchw(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim == 3:
        return images[:, None]
    if images.ndim == 4:
        return images
    raise ValueError(
        f"images: expected (N, H, W) or (N, C, H, W) uint8 images, got shape {images.shape}"
    )


def to_tensor(
    images: np.ndarray, mean: float = 0.0, std: float = 1.0, pad_to: int | None = None
) -> torch.Tensor:
    """uint8 images ``(N, H, W)`` or ``(N, C, H, W)`` -> float32 ``(N, C, H, W)`` normalised.

    pad_to: zero-pad (after normalising, so padding is the value 0) centred to
    ``pad_to x pad_to``, e.g. 32 for LeNet-5.
    """
    import torch

    x = torch.from_numpy(_as_nchw(images).astype(np.float32) / 255.0)
    x = (x - mean) / std
    if pad_to is not None:
        h, w = x.shape[-2:]
        if pad_to < max(h, w):
            raise ValueError(f"pad_to: expected at least the image size {max(h, w)}, got {pad_to}")
        top, left = (pad_to - h) // 2, (pad_to - w) // 2
        x = torch.nn.functional.pad(x, (left, pad_to - w - left, top, pad_to - h - top))
    return x.contiguous()


def to_dataset(
    images: np.ndarray,
    labels: np.ndarray,
    mean: float | None = None,
    std: float | None = None,
    pad_to: int | None = None,
) -> TensorDataset:
    """A ``TensorDataset`` of float32 images ``(N, 1, H, W)`` and int64 labels ``(N,)``.

    mean, std: normalisation constants; left out, they are ``stats(images)``, right for a
    training split only: pass the training split's to a test split.
    """
    from torch import from_numpy
    from torch.utils.data import TensorDataset

    images = _as_nchw(images)
    labels = np.asarray(labels)
    if labels.shape != (len(images),):
        raise ValueError(f"labels: expected shape ({len(images)},), got {labels.shape}")
    if mean is None or std is None:
        m, s = stats(images)
        mean = m if mean is None else mean
        std = s if std is None else std
    x = to_tensor(images, mean, std, pad_to)
    return TensorDataset(x, from_numpy(labels.astype(np.int64)))


def loader(
    images: np.ndarray | Dataset,
    labels: np.ndarray | None = None,
    batch_size: int = 64,
    shuffle: bool = False,
    seed: int = 0,
    num_workers: int = 0,
    **to_dataset_kwargs,
) -> DataLoader:
    """A ``DataLoader`` over ``to_dataset(images, labels, ...)`` (or over a ``Dataset``).

    shuffle: reshuffle each epoch, in an order fixed by ``seed``.
    to_dataset_kwargs: ``mean``, ``std``, ``pad_to``.
    """
    import torch
    from torch.utils.data import DataLoader

    if labels is None and isinstance(images, np.ndarray):
        raise ValueError("labels: expected the labels of the images array, got None")
    dataset = images if labels is None else to_dataset(images, labels, **to_dataset_kwargs)
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        generator=generator,
        num_workers=num_workers,
    )


def train_test_loaders(
    name: str = "fashion_mnist",
    batch_size: int = 64,
    full: bool = False,
    seed: int = 0,
    pad_to: int | None = None,
) -> tuple[DataLoader, DataLoader]:
    """Seeded loaders for ``"fashion_mnist"`` or ``"digits"`` (``"mnist"`` with ``full``).

    The training loader shuffles, the test loader does not; both are normalised with the
    training split's ``stats``.
    """
    from coursecnn.data import digits, fashion_mnist, mnist

    if name == "fashion_mnist":
        train, test = fashion_mnist("train", full=full), fashion_mnist("test", full=full)
    elif name in ("digits", "mnist"):
        get = mnist if full else digits
        train, test = get("train"), get("test")
    else:
        raise ValueError(f"name: expected 'fashion_mnist', 'digits' or 'mnist', got {name!r}")
    mean, std = stats(train[0])
    kw = {"batch_size": batch_size, "seed": seed, "mean": mean, "std": std, "pad_to": pad_to}
    return loader(*train, shuffle=True, **kw), loader(*test, shuffle=False, **kw)
