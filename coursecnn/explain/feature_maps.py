"""``feature_maps``: what chosen layers output for a batch, caught by forward hooks.

A *forward hook* is a function that torch calls right after a module's ``forward``, with the
module, its inputs and its output. Registering one on a layer, running the model once and
removing the hook is how to look inside a network without changing its code. The hook stores a
copy (``clone``): a later in-place operation, such as ``nn.ReLU(inplace=True)`` after a
convolution, would otherwise overwrite the stored map.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from coursecnn.explain._common import (
    LayerArg,
    check_model,
    first_tensor,
    model_device,
    resolve_layer,
    untouched,
)

__all__ = ["feature_maps", "leaf_names"]


class _AllCaught(Exception):
    """Raised by the last hook: the rest of the forward pass is not needed."""


def leaf_names(model: nn.Module) -> list[str]:
    """The qualified names of the model's leaf modules (those without children), in order."""
    check_model(model)
    return [n for n, m in model.named_modules() if n and next(m.children(), None) is None]


def feature_maps(
    model: nn.Module, x: torch.Tensor, layers: LayerArg | Sequence[LayerArg] | None = None
) -> dict[str, torch.Tensor]:
    """``{layer name: output}`` of each of ``layers`` for the batch ``x``.

    model: any ``nn.Module``; run once, in eval mode, without gradients, then left as it was
    (mode, ``requires_grad``, gradients; the hooks are removed even if the forward pass fails).
    x: the model's input, batch first, e.g. ``(N, C, H, W)``; moved to the model's device.
    layers: a name from ``model.named_modules()`` (``"0"``, ``"features.3"``) or a module of the
    model, or a list of them; ``None``: every leaf module. A layer called more than once (shared
    weights) gives its first call's output. The forward pass stops once every layer asked for
    has run.
    Returns detached copies on ``x``'s device, e.g. ``(N, C_l, H_l, W_l)`` for a conv layer;
    for ``nn.Sequential`` model ``m``, ``feature_maps(m, x, str(i))[str(i)]`` equals ``m[: i + 1](x)``.
    """
    check_model(model)
    if not isinstance(x, torch.Tensor) or x.dim() < 1:
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x: expected a tensor with a batch dimension first, got {got}")
    if layers is None:
        layers = leaf_names(model)
    elif isinstance(layers, str | nn.Module):
        layers = [layers]
    try:
        chosen = [resolve_layer(model, layer, "layers") for layer in layers]
    except TypeError:
        raise ValueError(
            f"layers: expected a name, a module or a list of them, got {layers!r}"
        ) from None
    if not chosen:
        raise ValueError("layers: expected at least one layer, got none")
    caught: dict[str, torch.Tensor] = {}
    wanted = {name for name, _ in chosen}

    def hook_for(name: str):
        def hook(module: nn.Module, args: Any, out: Any) -> None:
            t = first_tensor(out)
            if t is None:
                raise ValueError(f"layers: {name!r} returned no tensor ({type(out).__name__})")
            caught.setdefault(name, t.detach().clone())
            if len(caught) == len(wanted):
                raise _AllCaught

        return hook

    handles = []
    try:
        with untouched(model), torch.no_grad():
            for name, module in chosen:
                handles.append(module.register_forward_hook(hook_for(name)))
            model(x.to(model_device(model)))
    except _AllCaught:  # every layer asked for has run: stop the forward pass there
        pass
    finally:
        for h in handles:
            h.remove()
    missing = [name for name, _ in chosen if name not in caught]
    if missing:
        raise ValueError(f"layers: {missing[0]!r} is not called in the model's forward pass")
    return {name: caught[name].to(x.device) for name, _ in chosen}
