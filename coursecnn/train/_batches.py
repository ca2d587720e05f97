"""Shared by fit and evaluate: unpack a batch, move it, choose mixed precision."""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from coursecnn.device import resolve_device


def pick_device(device: str | torch.device | None) -> torch.device:
    """``None``: the best device here; otherwise a name this machine has (``ValueError`` if not)."""
    try:
        return resolve_device(device)
    except RuntimeError as err:  # torch.device("banana")
        raise ValueError(
            f"device: expected 'cpu', 'cuda', 'cuda:N', 'mps' or None, got {device!r} ({err})"
        ) from None


def unpack(batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """A loader's batch must be ``(inputs, targets)``."""
    if isinstance(batch, list | tuple) and len(batch) == 2:
        return batch[0], batch[1]
    kind = type(batch).__name__
    size = len(batch) if isinstance(batch, list | tuple) else "-"
    raise ValueError(
        f"loader: expected batches of (inputs, targets), got a {kind} of length {size}"
    )


def to_device(
    x: torch.Tensor, y: torch.Tensor, device: torch.device, channels_last: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    x = x.to(device, non_blocking=True)
    y = y.to(device, non_blocking=True)
    if channels_last and x.ndim == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x, y


def amp_dtype(amp: bool | str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype, or None for full float32. AMP is only used on CUDA."""
    if amp not in ("auto", True, False, "bf16", "fp16"):
        raise ValueError(f"amp: expected 'auto', True, False, 'bf16' or 'fp16', got {amp!r}")
    if amp is False or (amp == "auto" and device.type != "cuda"):
        return None
    if device.type != "cuda":
        raise ValueError(f"amp: mixed precision is only used on CUDA, got device {str(device)!r}")
    if amp == "fp16":
        return torch.float16
    if amp == "bf16" or torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


def use_channels_last(channels_last: bool | str, device: torch.device) -> bool:
    if channels_last not in ("auto", True, False):
        raise ValueError(f"channels_last: expected 'auto', True or False, got {channels_last!r}")
    if channels_last == "auto":
        return device.type == "cuda"
    return bool(channels_last)


def autocast(device: torch.device, dtype: torch.dtype | None) -> Any:
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def count_correct(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor | None:
    """Correct predictions in a classification batch (logits (N, K), labels (N,)), else None."""
    if out.ndim == 2 and y.ndim == 1 and not y.is_floating_point():
        return (out.argmax(dim=1) == y).sum()
    return None


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
