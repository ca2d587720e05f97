"""Weight initialisation by name: PyTorch's default, or He et al. (2015) for ReLU nets.

PyTorch's default for ``nn.Conv2d`` and ``nn.Linear`` draws weights uniformly with variance
``1 / (3 * fan_in)``: through a ReLU layer the mean square of the part of the activations that
comes from the input then shrinks by a factor of about 6, layer after layer (the default biases,
also random, add a floor that carries nothing of the input). He et al. (2015, "Delving deep into rectifiers", eq. 10)
draw them with variance ``2 / fan_in``, which keeps it constant (``mode="fan_in"``); the
``"fan_out"`` form (``2 / fan_out``, what torchvision's ResNet uses) keeps the backward
gradients' instead. ``fan_in = in_channels / groups * kH * kW``, ``fan_out = out_channels *
kH * kW / groups``.
"""

from __future__ import annotations

import torch
from torch import nn

from ._util import check_choice

__all__ = ["he_init"]


@torch.no_grad()
def he_init(model: nn.Module, mode: str = "fan_in", seed: int | None = None) -> nn.Module:
    """He (Kaiming) normal initialisation, in place, for every ``nn.Conv2d`` of ``model``.

    Weights ~ N(0, 2 / fan) with ``fan`` the ``mode`` ("fan_in" or "fan_out"), conv biases 0,
    batch-norm weights 1 and biases 0; linear layers keep their initialisation. ``seed`` seeds
    torch first. Returns ``model``.
    """
    check_choice("mode", mode, ("fan_in", "fan_out"))
    if seed is not None:
        torch.manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode=mode, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return model
