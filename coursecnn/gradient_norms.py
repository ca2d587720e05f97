"""Gradient norms per layer: the measurement behind "where are unstable gradients a problem?".

``plain_cnn`` builds a deep-ish plain network (conv layers, then fully connected layers, no batch
norm, no skip connections) with a chosen activation; ``layer_gradient_norms`` runs one forward
and backward pass on a batch and returns, layer by layer from input to output, the norm of the
loss gradient with respect to that layer's weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["plain_cnn", "layer_gradient_norms"]


def plain_cnn(
    activation: type[nn.Module] = nn.Sigmoid,
    n_conv: int = 4,
    n_fc: int = 4,
    channels: int = 8,
    width: int = 64,
    image_size: int = 28,
    n_classes: int = 10,
) -> nn.Sequential:
    """``n_conv`` 3x3 conv layers (``channels`` each), a 4x4 max pool, then ``n_fc`` linear layers.

    Input ``x: (N, 1, image_size, image_size)``, output logits ``(N, n_classes)``. Every layer but
    the last is followed by ``activation()``. PyTorch's default initialisation.
    """
    if n_conv < 1 or n_fc < 1:
        raise ValueError(f"n_conv, n_fc: expected at least 1 each, got {n_conv}, {n_fc}")
    layers: list[nn.Module] = []
    c_in = 1
    for _ in range(n_conv):
        layers += [nn.Conv2d(c_in, channels, 3, padding=1), activation()]
        c_in = channels
    layers += [nn.MaxPool2d(4), nn.Flatten()]
    n_in = channels * (image_size // 4) ** 2
    for _ in range(n_fc - 1):
        layers += [nn.Linear(n_in, width), activation()]
        n_in = width
    layers.append(nn.Linear(n_in, n_classes))
    return nn.Sequential(*layers)


def layer_gradient_norms(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn=F.cross_entropy
) -> dict[str, float]:
    """``{"conv1": ||dL/dW||, ..., "fc1": ...}`` for every Conv2d and Linear layer, input to output.

    ``x: (N, C, H, W)`` a batch, ``y: (N,)`` its labels; one forward and one backward pass.
    """
    model.zero_grad()
    loss_fn(model(x), y).backward()
    norms: dict[str, float] = {}
    counts = {"conv": 0, "fc": 0}
    for module in model.modules():
        kind = (
            "conv"
            if isinstance(module, nn.Conv2d)
            else "fc"
            if isinstance(module, nn.Linear)
            else None
        )
        if kind is None:
            continue
        counts[kind] += 1
        norms[f"{kind}{counts[kind]}"] = float(module.weight.grad.norm())
    return norms
