"""Accuracy and the confusion matrix, with a labelled plot of the matrix; for per-pixel labels
(segmentation), pixel accuracy and intersection over union (IoU) per class and averaged."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The fraction of rows whose largest logit is at the true label.

    logits: (N, K); labels: (N,) integers in ``[0, K)``.
    """
    if logits.ndim != 2:
        raise ValueError(f"logits: expected a 2-D tensor (N, K), got shape {tuple(logits.shape)}")
    if labels.shape != logits.shape[:1]:
        raise ValueError(
            f"labels: expected shape ({logits.shape[0]},), got shape {tuple(labels.shape)}"
        )
    if len(labels) == 0:
        return float("nan")
    return (logits.argmax(dim=1) == labels).float().mean().item()


def confusion_matrix(preds: Any, labels: Any, num_classes: int | None = None) -> np.ndarray:
    """Counts ``m[true, predicted]``: row ``i`` holds the images whose true class is ``i``.

    preds, labels: (N,) integer class indices. Returns an int64 array (K, K).
    """
    preds = np.asarray(preds).astype(np.int64).ravel()
    labels = np.asarray(labels).astype(np.int64).ravel()
    if preds.shape != labels.shape:
        raise ValueError(
            f"preds: expected the shape of labels {labels.shape}, got shape {preds.shape}"
        )
    if num_classes is None:
        num_classes = int(max(preds.max(initial=-1), labels.max(initial=-1))) + 1
    for name, arr in (("preds", preds), ("labels", labels)):
        if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
            raise ValueError(
                f"{name}: expected class indices in [0, {num_classes}), "
                f"got values from {arr.min()} to {arr.max()}"
            )
    m = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(m, (labels, preds), 1)
    return m


def pixel_accuracy(preds: Any, labels: Any) -> float:
    """The fraction of pixels whose predicted class is the true one.

    preds, labels: integer class maps of the same shape, e.g. (N, H, W); every pixel counts once.
    """
    preds, labels = np.asarray(preds), np.asarray(labels)
    if preds.shape != labels.shape:
        raise ValueError(
            f"preds: expected the shape of labels {labels.shape}, got shape {preds.shape}"
        )
    if preds.size == 0:
        return float("nan")
    return float(np.mean(preds == labels))


def iou_per_class(preds: Any, labels: Any, num_classes: int) -> np.ndarray:
    """Intersection over union of each class over all the pixels given.

    ``IoU_c = |{pred = c} & {label = c}| / |{pred = c} | {label = c}|``, from the confusion matrix
    of every pixel (the images of a batch are pooled, as in PASCAL VOC). preds, labels: integer
    class maps of the same shape; returns float64 (num_classes,), NaN for a class that appears
    in neither (its IoU is 0 / 0, undefined).
    """
    m = confusion_matrix(preds, labels, num_classes)
    inter = np.diag(m).astype(np.float64)
    union = m.sum(axis=0) + m.sum(axis=1) - inter
    return np.divide(inter, union, out=np.full(num_classes, np.nan), where=union > 0)


def mean_iou(preds: Any, labels: Any, num_classes: int) -> float:
    """Mean IoU: the average of ``iou_per_class`` over the classes present in the prediction or
    the truth (absent classes are left out, not counted as 0 or 1); NaN when there is no pixel.

    Every class weighs the same, however few pixels it has: unlike pixel accuracy, a model that
    ignores a rare class loses a whole 1/K of the score.
    """
    iou = iou_per_class(preds, labels, num_classes)
    present = ~np.isnan(iou)
    return float(iou[present].mean()) if present.any() else float("nan")


def image_quality(images: Any, references: Any, data_range: float = 1.0) -> dict[str, float]:
    """How close images are to their references, averaged over the images.

    images, references: (N, H, W) grey images (values spanning ``data_range``, e.g. 0..1).
    Returns ``{"psnr": dB, "ssim": ..., "edge_ratio": ...}``: PSNR and SSIM from
    ``skimage.metrics`` (SSIM with its default 7x7 window), image by image, then averaged
    (an identical pair has PSNR inf); ``edge_ratio`` is the mean Sobel gradient magnitude
    (``skimage.filters.sobel``) of ``images`` over that of ``references``: below 1, the images
    are blurrier than the references; above 1, busier (noise, artefacts).
    """
    from skimage.filters import sobel
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    images = np.asarray(images, dtype=np.float64)
    references = np.asarray(references, dtype=np.float64)
    if images.ndim != 3 or images.shape != references.shape:
        raise ValueError(
            f"images: expected (N, H, W) images of the references' shape {references.shape}, "
            f"got shape {images.shape}"
        )
    with np.errstate(divide="ignore"):
        psnr = [
            peak_signal_noise_ratio(r, i, data_range=data_range)
            for i, r in zip(images, references, strict=True)
        ]
    ssim = [
        structural_similarity(r, i, data_range=data_range)
        for i, r in zip(images, references, strict=True)
    ]
    edges_ref = np.mean([sobel(r).mean() for r in references])
    edges = np.mean([sobel(i).mean() for i in images])
    return {
        "psnr": float(np.mean(psnr)),
        "ssim": float(np.mean(ssim)),
        "edge_ratio": float(edges / edges_ref) if edges_ref > 0 else float("nan"),
    }


def plot_confusion_matrix(
    matrix: np.ndarray,
    class_names: Sequence[str] | None = None,
    *,
    title: str = "Confusion matrix",
    normalize: bool = False,
    ax: Any = None,
) -> Any:
    """Draw ``matrix`` (K, K) with true classes down and predictions across; returns the Figure."""
    import matplotlib.pyplot as plt

    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"matrix: expected a square 2-D array, got shape {matrix.shape}")
    k = matrix.shape[0]
    names = [str(i) for i in range(k)] if class_names is None else [str(c) for c in class_names]
    if len(names) != k:
        raise ValueError(f"class_names: expected {k} names, got {len(names)}")
    shown = matrix.astype(float)
    if normalize:
        shown = shown / np.maximum(shown.sum(axis=1, keepdims=True), 1)
    if ax is None:
        size = max(4.0, 0.45 * k + 2.5)
        fig, ax = plt.subplots(figsize=(size + 1, size))
    else:
        fig = ax.figure
    im = ax.imshow(shown, cmap="Blues")
    fig.colorbar(im, ax=ax, label="fraction of the true class" if normalize else "images")
    ax.set_xticks(range(k), names, rotation=45 if max(map(len, names)) > 2 else 0, ha="right")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    if k <= 12:
        hi = shown.max() if shown.size else 0
        for i in range(k):
            for j in range(k):
                text = f"{shown[i, j]:.2f}" if normalize else f"{matrix[i, j]:d}"
                ax.text(
                    j,
                    i,
                    text,
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if shown[i, j] > 0.6 * hi else "black",
                )
    fig.tight_layout()
    return fig
