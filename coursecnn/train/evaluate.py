"""Loss and accuracy of a model on a loader, and its predictions for confusion matrices."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch
from torch import nn

from coursecnn.train._batches import (
    amp_dtype,
    autocast,
    count_correct,
    pick_device,
    to_device,
    unpack,
    use_channels_last,
)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: Iterable[Any],
    device: str | torch.device | None = None,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    *,
    amp: bool | str = "auto",
    channels_last: bool | str = "auto",
) -> dict[str, float]:
    """Mean loss and accuracy over every batch of ``loader`` (inputs ``(N, ...)``, labels ``(N,)``).

    Returns ``{"loss": ..., "accuracy": ..., "n": ...}``; accuracy is a fraction in [0, 1]
    (NaN when the targets are not class labels). The model is left in the mode it was in.
    """
    dev = pick_device(device)
    dtype = amp_dtype(amp, dev)
    cl = use_channels_last(channels_last, dev)
    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    was_training = model.training
    model.to(dev).eval()
    loss_sum = torch.zeros((), device=dev, dtype=torch.float64)
    correct = torch.zeros((), device=dev, dtype=torch.int64)
    n = 0
    classify = True
    try:
        for batch in loader:
            x, y = to_device(*unpack(batch), dev, cl)
            with autocast(dev, dtype):
                out = model(x)
                loss = loss_fn(out.float(), y)
            loss_sum += loss.double() * len(x)
            c = count_correct(out, y)
            if c is None:
                classify = False
            else:
                correct += c
            n += len(x)
    finally:
        model.train(was_training)
    if n == 0:
        raise ValueError("loader: expected at least one batch, got an empty loader")
    acc = correct.item() / n if classify else float("nan")
    return {"loss": loss_sum.item() / n, "accuracy": acc, "n": n}


@torch.no_grad()
def predict(
    model: nn.Module, loader: Iterable[Any], device: str | torch.device | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predicted classes, true labels and softmax probabilities for every image in ``loader``.

    Returns ``preds (N,)`` int64, ``labels (N,)`` int64, ``probs (N, K)`` float32, in loader order
    (use a loader without shuffling to match them to the images).
    """
    dev = pick_device(device)
    was_training = model.training
    model.to(dev).eval()
    preds, labels, probs = [], [], []
    try:
        for batch in loader:
            x, y = unpack(batch)
            out = model(x.to(dev)).float()
            if out.ndim != 2:
                raise ValueError(
                    f"model: expected logits of shape (N, K), got shape {tuple(out.shape)}"
                )
            p = torch.softmax(out, dim=1)
            probs.append(p.cpu())
            preds.append(p.argmax(dim=1).cpu())
            labels.append(y.cpu())
    finally:
        model.train(was_training)
    if not preds:
        raise ValueError("loader: expected at least one batch, got an empty loader")
    return (
        torch.cat(preds).numpy().astype(np.int64),
        torch.cat(labels).numpy().astype(np.int64),
        torch.cat(probs).numpy().astype(np.float32),
    )


@torch.no_grad()
def predict_outputs(
    model: nn.Module,
    inputs: torch.Tensor,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    call: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """``model(inputs)`` batch by batch, in eval mode, without gradients; float32 on the CPU.

    inputs: (N, ...) tensor; ``call`` replaces ``model`` for the forward pass (e.g.
    ``model.encode`` for an autoencoder's codes) while ``model`` still gives the mode and the
    device. The model is left in the mode it was in.
    """
    if not isinstance(inputs, torch.Tensor) or inputs.ndim < 1:
        kind = type(inputs).__name__
        raise ValueError(f"inputs: expected a tensor (N, ...), got {kind}")
    if batch_size < 1:
        raise ValueError(f"batch_size: expected a positive integer, got {batch_size!r}")
    dev = pick_device(device)
    forward = model if call is None else call
    was_training = model.training
    model.to(dev).eval()
    out = []
    try:
        for start in range(0, len(inputs), batch_size):
            out.append(forward(inputs[start : start + batch_size].to(dev)).float().cpu())
    finally:
        model.train(was_training)
    if not out:
        raise ValueError("inputs: expected at least one example, got none")
    return torch.cat(out)


@torch.no_grad()
def predict_masks(
    model: nn.Module,
    images: torch.Tensor,
    batch_size: int = 256,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Per-pixel classes of a segmentation model: the argmax of its scores at every pixel.

    images: (N, C, H, W) float; the model maps (B, C, H, W) to scores (B, K, H, W).
    Returns int64 (N, H, W), in the order of ``images``. The model is run in eval mode and left
    in the mode it was in.
    """
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        shape = tuple(images.shape) if hasattr(images, "shape") else type(images).__name__
        raise ValueError(f"images: expected a 4-D tensor (N, C, H, W), got {shape}")

    def classes(batch: torch.Tensor) -> torch.Tensor:
        scores = model(batch)
        if scores.ndim != 4 or scores.shape[-2:] != images.shape[-2:]:
            raise ValueError(
                f"model: expected scores (B, K, {images.shape[2]}, {images.shape[3]}), "
                f"got shape {tuple(scores.shape)}"
            )
        return scores.argmax(dim=1)

    return predict_outputs(model, images, batch_size, device, call=classes).numpy().astype(np.int64)
