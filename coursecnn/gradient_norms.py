"""Gradient norms per layer: the measurement behind "where are unstable gradients a problem?".

``plain_cnn`` builds a deep-ish plain network (conv layers, then fully connected layers, no batch
norm, no skip connections) with a chosen activation; ``layer_gradient_norms`` runs one forward
and backward pass on a batch and returns, layer by layer from input to output, the norm of the
loss gradient with respect to that layer's weights. A norm grows with the square root of the
number of weights, so layers of 72 and 25,088 weights are compared by ``layer_gradient_stats``:
the per-weight RMS ``||g|| / sqrt(n)`` and the relative size ``||g|| / ||W||`` (how far one SGD
step moves the layer, relative to its weights). ``mean_local_slopes`` measures why: the mean
derivative of each activation at the inputs it receives.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["plain_cnn", "layer_gradient_norms", "layer_gradient_stats", "mean_local_slopes"]

INITS = ("torch", "he")


def plain_cnn(
    activation: type[nn.Module] = nn.Sigmoid,
    n_conv: int = 4,
    n_fc: int = 4,
    channels: int = 8,
    width: int = 64,
    image_size: int = 28,
    n_classes: int = 10,
    init: str = "torch",
) -> nn.Sequential:
    """``n_conv`` 3x3 conv layers (``channels`` each), a 4x4 max pool, then ``n_fc`` linear layers.

    Input ``x: (N, 1, image_size, image_size)``, output logits ``(N, n_classes)``. Every layer but
    the last is followed by ``activation()``. ``init="torch"``: PyTorch's default initialisation
    (uniform, std ``1/sqrt(3 fan_in)``); ``"he"``: He et al.'s normal, std ``sqrt(2/fan_in)``,
    scaled for ReLU, and zero biases.
    """
    if n_conv < 1 or n_fc < 1:
        raise ValueError(f"n_conv, n_fc: expected at least 1 each, got {n_conv}, {n_fc}")
    if init not in INITS:
        raise ValueError(f"init: expected one of {INITS}, got {init!r}")
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
    if init == "he":
        for layer in layers:
            if isinstance(layer, nn.Conv2d | nn.Linear):
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
                nn.init.zeros_(layer.bias)
    return nn.Sequential(*layers)


def layer_gradient_norms(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn=F.cross_entropy
) -> dict[str, float]:
    """``{"conv1": ||dL/dW||, ..., "fc1": ...}`` for every Conv2d and Linear layer, input to output.

    ``x: (N, C, H, W)`` a batch, ``y: (N,)`` its labels; one forward and one backward pass.
    """
    stats = layer_gradient_stats(model, x, y, loss_fn)
    return {name: row["norm"] for name, row in stats.items()}


def _weight_layers(model: nn.Module) -> dict[str, nn.Module]:
    """``{"conv1": ..., "fc1": ...}``: the Conv2d and Linear layers, input to output."""
    layers: dict[str, nn.Module] = {}
    counts = {"conv": 0, "fc": 0}
    for module in model.modules():
        if isinstance(module, nn.Conv2d | nn.Linear):
            kind = "conv" if isinstance(module, nn.Conv2d) else "fc"
            counts[kind] += 1
            layers[f"{kind}{counts[kind]}"] = module
    return layers


def layer_gradient_stats(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn=F.cross_entropy
) -> dict[str, dict[str, float]]:
    """Per Conv2d / Linear layer, input to output, one forward and backward pass on ``(x, y)``:

    ``{"conv1": {"n": weights, "norm": ||g||, "rms": ||g|| / sqrt(n), "relative": ||g|| / ||W||},
    ...}`` with ``g = dL/dW`` (biases left out). ``x: (N, C, H, W)``, ``y: (N,)``.
    """
    model.zero_grad()
    loss_fn(model(x), y).backward()
    stats: dict[str, dict[str, float]] = {}
    for name, layer in _weight_layers(model).items():
        g, w = layer.weight.grad, layer.weight.detach()
        norm = float(g.norm())
        stats[name] = {
            "n": float(g.numel()),
            "norm": norm,
            "rms": norm / g.numel() ** 0.5,
            "relative": norm / float(w.norm()),
        }
    return stats


_SLOPES = {
    nn.Sigmoid: lambda z: torch.sigmoid(z) * (1 - torch.sigmoid(z)),
    nn.Tanh: lambda z: 1 - torch.tanh(z) ** 2,
    nn.ReLU: lambda z: (z > 0).to(z.dtype),
}


@torch.no_grad()
def mean_local_slopes(model: nn.Module, x: torch.Tensor) -> list[float]:
    """The mean derivative ``f'(z)`` of every sigmoid, tanh or ReLU layer of ``model`` at the
    inputs ``z`` it receives on the batch ``x``, input to output (ReLU: the fraction of active
    units). Backprop multiplies the gradient by these factors, layer after layer."""
    slopes: list[float] = []
    hooks = [
        m.register_forward_hook(
            lambda m, inputs, out: slopes.append(float(_SLOPES[type(m)](inputs[0]).mean()))
        )
        for m in model.modules()
        if type(m) in _SLOPES
    ]
    try:
        model(x)
    finally:
        for h in hooks:
            h.remove()
    return slopes
