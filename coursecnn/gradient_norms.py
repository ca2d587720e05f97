"""Gradients per layer: the measurement behind "where are unstable gradients a problem?".

``plain_cnn`` builds a deep-ish plain network (conv layers, then fully connected layers, no batch
norm, no skip connections) with a chosen activation; ``layer_gradient_norms`` runs one forward
and backward pass on a batch and returns, layer by layer from input to output, the norm of the
loss gradient with respect to that layer's weights.

Layers of different sizes are compared per weight: a raw norm grows with the square root of the
number of weights even when every weight gets the same gradient (layers of 72 and 25,088
weights, in notebook 04). ``layer_gradient_stats`` returns, for every conv and linear layer, the
raw norm, the root mean square ``||dL/dW|| / sqrt(n)`` and the relative size ``||dL/dW|| /
||W||`` (how far one SGD step of rate 1 would move the weights, relative to where they are).
``mean_local_slopes`` measures why gradients shrink: the mean derivative of each activation at
the inputs it receives. ``activation_rms`` is the forward counterpart: the root mean square of
chosen modules' outputs, to see signals shrink or grow with depth. ``layer_values`` returns the
values themselves, every activation's outputs and every weight gradient of one batch, for
per-layer histograms (``coursecnn.plots.plot_layer_histograms``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "LayerGradient",
    "activation_rms",
    "layer_gradient_norms",
    "layer_values",
    "layer_gradient_stats",
    "mean_local_slopes",
    "plain_cnn",
]

INITS = ("torch", "he", "glorot")


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
    (uniform, std ``1/sqrt(3 fan_in)``) everywhere. The matched initialisations set every hidden
    conv and linear layer's weights and zero its biases: ``"he"``, He et al.'s (2015) normal with
    std ``sqrt(2/fan_in)``, for ReLU; ``"glorot"``, Glorot and Bengio's (2010) normal with std
    ``sqrt(2/(fan_in + fan_out))``, for tanh and sigmoid. With either, the output layer (no
    activation after it) gets the same Glorot normal, so that runs compared side by side differ
    only in their hidden layers. ``fan_in = C_in * 3 * 3`` and ``fan_out = C_out * 3 * 3`` for a
    convolution, ``in_features`` and ``out_features`` for a linear layer.
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
    model = nn.Sequential(*layers)
    if init != "torch":
        weighted = [m for m in model if isinstance(m, nn.Conv2d | nn.Linear)]
        with torch.no_grad():
            for m in weighted:
                if m is weighted[-1] or init == "glorot":
                    nn.init.xavier_normal_(m.weight)
                else:
                    nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                nn.init.zeros_(m.bias)
    return model


@dataclass(frozen=True)
class LayerGradient:
    """The loss gradient of one layer's weight tensor ``W`` (``n`` numbers)."""

    name: str  # the module's name in the model, e.g. "layer1.0.conv1" ("0" in a Sequential)
    label: str  # "conv1", "conv2", ..., "fc1", ...: its kind and rank, input to output
    numel: int  # n, the number of weights
    norm: float  # ||dL/dW||
    rms: float  # ||dL/dW|| / sqrt(n): per weight, comparable across layer sizes
    relative: float  # ||dL/dW|| / ||W||


def layer_gradient_stats(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    loss_fn=F.cross_entropy,
    layers: tuple[type[nn.Module], ...] = (nn.Conv2d, nn.Linear),
) -> list[LayerGradient]:
    """One :class:`LayerGradient` per ``layers`` module (each shared module once), in the order
    the model registers them (input to output for the zoo's nets, a block's shortcut after its
    convolutions).

    ``x: (N, C, H, W)`` a batch, ``y: (N,)`` its labels; one forward and one backward pass in the
    mode the model is in (train mode: batch norm uses the batch's statistics). Only the weights'
    gradients are read, not the biases'; the model's gradients are left set.
    """
    if len(x) != len(y):
        raise ValueError(f"y: expected {len(x)} labels to match x, got {len(y)}")
    model.zero_grad()
    loss_fn(model(x), y).backward()
    stats = []
    counts: dict[str, int] = {}
    for name, module in model.named_modules():
        if not isinstance(module, layers) or getattr(module, "weight", None) is None:
            continue
        w, g = module.weight.detach(), module.weight.grad
        if g is None:
            raise ValueError(f"model: layer {name!r} got no gradient; is it used in forward?")
        kind = "fc" if isinstance(module, nn.Linear) else "conv"
        counts[kind] = counts.get(kind, 0) + 1
        norm = float(g.norm())
        stats.append(
            LayerGradient(
                name=name,
                label=f"{kind}{counts[kind]}",
                numel=w.numel(),
                norm=norm,
                rms=norm / w.numel() ** 0.5,
                relative=norm / max(float(w.norm()), 1e-30),
            )
        )
    return stats


def layer_gradient_norms(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn=F.cross_entropy
) -> dict[str, float]:
    """``{"conv1": ||dL/dW||, ..., "fc1": ...}`` for every Conv2d and Linear layer, input to output.

    ``x: (N, C, H, W)`` a batch, ``y: (N,)`` its labels; one forward and one backward pass.
    """
    return {row.label: row.norm for row in layer_gradient_stats(model, x, y, loss_fn)}


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


@torch.no_grad()
def activation_rms(
    model: nn.Module, x: torch.Tensor, names: Sequence[str] | None = None
) -> dict[str, float]:
    """``{name: sqrt(mean(out ** 2))}`` of the named modules' outputs for one forward pass.

    ``names``: module names as ``model.named_modules()`` gives them (default: the direct
    children), in that order; a module called twice reports its last call. The model's mode is
    left as it is.
    """
    modules = dict(model.named_modules())
    if names is None:
        names = [n for n, _ in model.named_children()]
    missing = [n for n in names if n not in modules]
    if missing:
        raise ValueError(f"names: expected modules of the model, got unknown {missing}")
    out: dict[str, float] = {}

    def hook(name):
        def record(module, args, result):
            out[name] = float(result.detach().double().pow(2).mean().sqrt())

        return record

    handles = [modules[n].register_forward_hook(hook(n)) for n in names]
    try:
        model(x)
    finally:
        for h in handles:
            h.remove()
    return {n: out[n] for n in names if n in out}


ACTIVATIONS: tuple[type[nn.Module], ...] = (nn.Sigmoid, nn.Tanh, nn.ReLU, nn.LeakyReLU, nn.ELU)


def layer_values(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    loss_fn=F.cross_entropy,
    activations: tuple[type[nn.Module], ...] = ACTIVATIONS,
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """``(outputs, gradients)`` of one forward and one backward pass on the batch ``x``, ``y``.

    ``outputs``: for every ``activations`` module, in the order the forward pass runs them, its
    output values flattened to 1-D, under the label of the conv or linear layer that ran just
    before it (``"conv1"``: what the activation after ``conv1`` passes on). ``gradients``: for
    every Conv2d and Linear layer, ``dL/dW`` flattened, labelled as ``layer_gradient_stats``
    labels it (``"conv1", ..., "fc1", ...``). ``x: (N, C, H, W)``, ``y: (N,)``. Tensors are
    detached copies on the CPU; the model's gradients are left set. A module called twice
    reports its last call.
    """
    if len(x) != len(y):
        raise ValueError(f"y: expected {len(x)} labels to match x, got {len(y)}")
    labels: dict[nn.Module, str] = {}
    counts: dict[str, int] = {}
    for module in model.modules():
        if isinstance(module, nn.Conv2d | nn.Linear) and module not in labels:
            kind = "fc" if isinstance(module, nn.Linear) else "conv"
            counts[kind] = counts.get(kind, 0) + 1
            labels[module] = f"{kind}{counts[kind]}"
    outputs: dict[str, torch.Tensor] = {}
    last = ["input"]

    def weighted(module, args, result):
        last[0] = labels[module]

    def activated(module, args, result):
        outputs[last[0]] = result.detach().reshape(-1).cpu().clone()

    handles = [m.register_forward_hook(weighted) for m in labels]
    handles += [
        m.register_forward_hook(activated) for m in model.modules() if isinstance(m, activations)
    ]
    model.zero_grad()
    try:
        loss = loss_fn(model(x), y)
    finally:
        for h in handles:
            h.remove()
    loss.backward()
    gradients = {}
    for module, label in labels.items():
        if module.weight.grad is None:
            raise ValueError(f"model: layer {label!r} got no gradient; is it used in forward?")
        gradients[label] = module.weight.grad.detach().reshape(-1).cpu().clone()
    return outputs, gradients
