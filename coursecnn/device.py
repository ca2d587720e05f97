"""Which device torch will use: CUDA, then Apple's MPS, then the CPU."""

from __future__ import annotations

import os

import torch


def default_device() -> torch.device:
    """The best available device; ``COURSECNN_DEVICE=cpu`` (or ``cuda``, ``mps``) overrides it."""
    forced = os.environ.get("COURSECNN_DEVICE")
    if forced:
        return resolve_device(forced)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` means :func:`default_device`; a name must be one this machine has."""
    if device is None:
        return default_device()
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device: expected an available device, got {str(dev)!r} (no CUDA GPU here)"
        )
    if dev.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(
                "device: expected an available device, got 'mps' (MPS is not available)"
            )
    return dev


def describe_device(device: torch.device | None = None) -> str:
    """A one-line description, e.g. ``cuda (NVIDIA H100 80GB HBM3)`` or ``cpu (2 threads)``."""
    dev = default_device() if device is None else torch.device(device)
    if dev.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(dev)})"
    if dev.type == "mps":
        return "mps (Apple GPU)"
    n = torch.get_num_threads()
    return f"cpu ({n} thread{'' if n == 1 else 's'})"
