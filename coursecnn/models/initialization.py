"""Initial weights matched to the activation, so that a signal keeps its scale through the layers.

For a layer with ``fan_in`` inputs (``C_in * k * k`` for a convolution), weights drawn with
variance ``gain**2 / fan_in`` keep the variance of the pre-activations about constant from layer
to layer:

- ReLU zeroes half its inputs, so ``gain = sqrt(2)`` (He et al. 2015, "Kaiming" normal);
- tanh is the identity near 0 and squashes beyond it, so ``gain = 5/3`` with Glorot and Bengio's
  (2010) average of ``fan_in`` and ``fan_out`` ("Xavier" normal).

PyTorch's default weights (uniform with variance ``1 / (3 fan_in)``) shrink a ReLU signal's
second moment about sixfold at every layer; only its biases keep a deep stack from going silent.

``init_weights(model, activation)`` re-initialises every convolution and linear layer for its
activation (notebook 06); ``he_init(model, mode)`` every convolution only, in He et al.'s fan-in
form (variance ``2 / fan_in``, keeps the forward activations' scale) or torchvision ResNet's
fan-out form (``2 / fan_out``, keeps the backward gradients' scale), and resets batch norm
(notebook 07). ``fan_in = in_channels / groups * kH * kW``, ``fan_out = out_channels * kH * kW /
groups``.
"""

from __future__ import annotations

import torch
from torch import nn

from ._util import check_choice

__all__ = ["he_init", "init_weights"]

INITS = ("relu", "tanh")


def init_weights(model: nn.Module, activation: str = "relu") -> nn.Module:
    """Re-initialise every ``Conv2d`` and ``Linear`` of ``model`` in place for ``activation``.

    ``"relu"``: He (Kaiming) normal, fan-in mode; ``"tanh"``: Glorot (Xavier) normal with
    gain 5/3. Biases are set to 0. Returns the model. Uses torch's global random generator
    (seed it first for reproducible weights).
    """
    check_choice("activation", activation, INITS)
    for m in model.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            if activation == "relu":
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            else:
                nn.init.xavier_normal_(m.weight, gain=nn.init.calculate_gain("tanh"))
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model


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
