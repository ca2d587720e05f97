"""Small helpers the model families share: argument checks, activations, widths, counts."""

from __future__ import annotations

import math

from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "prelu": nn.PReLU, "sigmoid": nn.Sigmoid}


def activation_layer(name: str) -> nn.Module:
    """A fresh activation module by name: ``"relu"``, ``"tanh"``, ``"prelu"`` or ``"sigmoid"``."""
    if name not in ACTIVATIONS:
        raise ValueError(f"activation: expected one of {sorted(ACTIVATIONS)}, got {name!r}")
    if name == "relu":
        return nn.ReLU(inplace=True)
    return ACTIVATIONS[name]()


def check_positive(name: str, value: int | float) -> None:
    if not value > 0:
        raise ValueError(f"{name}: expected a positive number, got {value!r}")


def check_choice(name: str, value: object, choices) -> None:
    if value not in choices:
        raise ValueError(f"{name}: expected one of {list(choices)}, got {value!r}")


def scaled(channels: int, width: float) -> int:
    """``channels * width`` rounded, at least 1: the width multiplier of the course-size nets."""
    check_positive("width", width)
    return max(1, int(round(channels * width)))


def conv_out(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Output length of a convolution or pooling: floor((size + 2p - d(k-1) - 1) / s) + 1."""
    return math.floor((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1


def count_params(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (each shared tensor counted once)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def spatial_size(layers, size: int) -> int:
    """Side of the square map that ``layers`` (Conv2d, pooling, anything else passes) make of a
    ``size`` x ``size`` input: the conv arithmetic, without running anything."""
    for m in layers:
        if isinstance(m, nn.Conv2d | nn.MaxPool2d | nn.AvgPool2d):
            k, s, p = (
                v if isinstance(v, int) else v[0] for v in (m.kernel_size, m.stride, m.padding)
            )
            d = m.dilation if isinstance(m, nn.Conv2d | nn.MaxPool2d) else 1
            d = d if isinstance(d, int) else d[0]
            out = (size + 2 * p - d * (k - 1) - 1) / s + 1
            size = math.ceil(out) if getattr(m, "ceil_mode", False) else math.floor(out)
    return size
