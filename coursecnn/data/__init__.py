"""Data for the course: shipped samples, full data sets, photos, and torch loaders.

Offline first: the samples are in the repository's ``data/`` folder, checked against their
SHA-256 on first load; the full sets are found on disk or downloaded by torchvision.

    digits(split="train")                     shipped MNIST sample, 4,000 train / 500 test
                                              (/ 500 "check", read by the graded checks only)
    fashion_mnist(split="train", full=False)  shipped Fashion-MNIST sample, 10,000 / 2,000;
                                              full=True: all 60,000 / 10,000
    mnist(split="train")                      the full MNIST, 60,000 / 10,000
        each returns (images, labels): uint8 (N, 28, 28) in 0..255 and int64 (N,) in 0..9;
        the train and test splits share no image; classes are balanced in the samples.
    DIGIT_CLASSES, FASHION_CLASSES            the ten class names, by label
    make_canvases(images, labels, n, size=(48, 64), items=2, threshold=32, seed=0)
                                              canvases of items with per-pixel labels
                                              (0 background, 1 + class), CANVAS_CLASSES
    photo(name, gray=False, size=None)        a skimage photo, float64 in [0, 1]; names in PHOTOS
    stats(images) -> (mean, std)              of the pixels scaled to [0, 1]
    to_dataset(images, labels, mean=None, std=None, pad_to=None)
                                              TensorDataset: float32 (N, 1, H, W), int64 (N,)
    loader(images, labels, batch_size=64, shuffle=False, seed=0, mean=..., std=..., pad_to=...)
                                              a seeded DataLoader (num_workers=0)
    train_test_loaders(name="fashion_mnist", batch_size=64, full=False, seed=0, pad_to=None)
                                              both loaders, normalised with the train split's stats
    find_full(name), data_dirs(name), download_full(name)
                                              where the full sets are, where they are looked for

Text (rated sentences, names by language, vocabulary, padded batches) is in ``coursecnn.data.text``.
Augmentation (``torchvision.transforms.v2``, one random draw per image) is in
``coursecnn.data.augment`` (imported on its own, as it needs torch): ``augmentation``,
``per_sample``, ``AugmentedDataset``.

Example::

    from coursecnn.data import fashion_mnist, loader, stats
    x_train, y_train = fashion_mnist("train")
    mean, std = stats(x_train)
    train = loader(x_train, y_train, batch_size=128, shuffle=True, mean=mean, std=std)
"""

from __future__ import annotations

import numpy as np

from coursecnn.data.canvas import CANVAS_CLASSES, Canvases, make_canvases
from coursecnn.data.classes import DIGIT_CLASSES, FASHION_CLASSES
from coursecnn.data.full import (
    DEBIAN_FASHION_DIR,
    FULL_SETS,
    data_dirs,
    data_roots,
    download_full,
    find_full,
    load_full,
)
from coursecnn.data.loaders import loader, stats, to_dataset, to_tensor, train_test_loaders
from coursecnn.data.photos import PHOTOS, photo
from coursecnn.data.samples import SHIPPED_DIR, load_sample


def digits(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """The shipped MNIST sample: uint8 images (N, 28, 28), int64 labels (N,).

    N is 4,000 for ``"train"`` (400 per digit) and 500 for ``"test"`` (50 per digit). The other
    500 held-out digits, ``"check"``, are kept for the graded checks: a notebook never uses them,
    so a check can compare a model on digits it may have seen with digits it cannot have seen.
    """
    return load_sample("digits", split)


def fashion_mnist(
    split: str = "train", full: bool = False, download: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST: uint8 images (N, 28, 28), int64 labels (N,); names in FASHION_CLASSES.

    full=False: the shipped sample, N = 10,000 for ``"train"`` and 2,000 for ``"test"``.
    full=True: the whole set, 60,000 and 10,000, found on disk or (``download``) downloaded.
    """
    if full:
        return load_full("fashion_mnist", split, download=download)
    return load_sample("fashion_mnist", split)


def mnist(split: str = "train", download: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The full MNIST: uint8 images (N, 28, 28), int64 labels (N,), N = 60,000 or 10,000.

    Found on disk or (``download``) downloaded; ``digits`` is the shipped sample.
    """
    return load_full("mnist", split, download=download)


__all__ = [
    "CANVAS_CLASSES",
    "DEBIAN_FASHION_DIR",
    "DIGIT_CLASSES",
    "FASHION_CLASSES",
    "FULL_SETS",
    "PHOTOS",
    "SHIPPED_DIR",
    "Canvases",
    "data_dirs",
    "data_roots",
    "digits",
    "download_full",
    "fashion_mnist",
    "find_full",
    "loader",
    "make_canvases",
    "mnist",
    "photo",
    "stats",
    "to_dataset",
    "to_tensor",
    "train_test_loaders",
]
