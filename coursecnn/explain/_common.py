"""What every explanation shares: argument checks, and leaving the model as it was found.

Every public function of ``coursecnn.explain`` runs inside :func:`untouched`, which switches the
model to eval mode (dropout off, batch norm on its running statistics) and afterwards puts back
each module's training flag, each parameter's ``requires_grad`` and ``.grad``, and removes the
hooks it registered, even when the computation fails. Gradients are taken with
``torch.autograd.grad`` with respect to the input (or a layer's output) only, so the parameters'
``.grad`` are never written.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn

LayerArg = str | nn.Module


def check_model(model: Any) -> nn.Module:
    """``model`` itself, or ``ValueError`` when it is not an ``nn.Module``."""
    if not isinstance(model, nn.Module):
        raise ValueError(f"model: expected a torch nn.Module, got {type(model).__name__}")
    return model


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter or buffer (the CPU for a model with none)."""
    for t in (*model.parameters(), *model.buffers()):
        return t.device
    return torch.device("cpu")


def model_dtype(model: nn.Module) -> torch.dtype:
    """The dtype of the model's first floating-point parameter or buffer (float32 if none)."""
    for t in (*model.parameters(), *model.buffers()):
        if t.is_floating_point():
            return t.dtype
    return torch.float32


def check_images(x: Any, name: str = "x") -> torch.Tensor:
    """``x`` as a float tensor ``(N, C, H, W)``; ``ValueError`` naming ``name`` otherwise."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name}: expected a torch.Tensor (N, C, H, W), got {type(x).__name__}")
    if x.dim() != 4:
        raise ValueError(f"{name}: expected a 4-D tensor (N, C, H, W), got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"{name}: expected a floating-point tensor, got dtype {x.dtype}")
    if min(x.shape) < 1:
        raise ValueError(f"{name}: expected a non-empty tensor, got shape {tuple(x.shape)}")
    return x


def is_int(value: Any) -> bool:
    """An integer that is not a bool (Python, NumPy or a 0-d integer tensor)."""
    if isinstance(value, torch.Tensor):
        return value.dim() == 0 and not value.is_floating_point() and value.dtype != torch.bool
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def pair(value: Any, name: str, minimum: int = 1) -> tuple[int, int]:
    """An int or a pair of ints, as ``(h, w)``, each at least ``minimum``."""
    items = (value, value) if is_int(value) else value
    try:
        items = tuple(items)
    except TypeError:
        raise ValueError(f"{name}: expected an int or a pair of ints, got {value!r}") from None
    if len(items) != 2 or not all(is_int(v) for v in items):
        raise ValueError(f"{name}: expected an int or a pair of ints, got {value!r}")
    h, w = int(items[0]), int(items[1])
    if min(h, w) < minimum:
        raise ValueError(f"{name}: expected values of at least {minimum}, got {value!r}")
    return h, w


def check_targets(target: Any, n: int, num_classes: int) -> torch.Tensor:
    """``target`` (an int, or one int per image: a list, a NumPy array or a tensor) as a long
    tensor ``(n,)`` in ``0..K-1``."""
    if is_int(target):
        values = [int(target)] * n
    elif isinstance(target, torch.Tensor | np.ndarray | Sequence) and not isinstance(target, str):
        if isinstance(target, torch.Tensor | np.ndarray):
            integer = (
                not target.is_floating_point() and target.dtype != torch.bool
                if isinstance(target, torch.Tensor)
                else np.issubdtype(target.dtype, np.integer)
            )
            if target.ndim != 1 or not integer:
                raise ValueError(
                    f"target: expected an int or a 1-D integer array of {n} classes, got shape "
                    f"{tuple(target.shape)} and dtype {target.dtype}"
                )
            values = target.tolist()
        else:
            values = list(target)
        if len(values) != n or not all(is_int(v) for v in values):
            raise ValueError(f"target: expected an int or {n} ints (one per image), got {target!r}")
        values = [int(v) for v in values]
    else:
        raise ValueError(f"target: expected an int or one int per image, got {target!r}")
    bad = [v for v in values if not 0 <= v < num_classes]
    if bad:
        raise ValueError(
            f"target: expected classes in 0..{num_classes - 1} (the model has {num_classes} "
            f"outputs), got {bad[0]}"
        )
    return torch.tensor(values, dtype=torch.long)


def scores(out: Any) -> torch.Tensor:
    """The model's output as class scores ``(N, K)``, or ``ValueError`` naming ``model``."""
    if not isinstance(out, torch.Tensor) or out.dim() != 2:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"model: expected an output of class scores (N, K), got {shape}")
    return out


def resolve_layer(model: nn.Module, layer: Any, name: str = "layer") -> tuple[str, nn.Module]:
    """``(qualified name, module)`` of ``layer``: a name from ``model.named_modules()`` or a
    module inside ``model``."""
    named = dict(model.named_modules())
    if isinstance(layer, str):
        if layer not in named:
            some = ", ".join(repr(n) for n in list(named)[1:9])
            raise ValueError(
                f"{name}: expected the name of one of the model's modules ({some}, ...), "
                f"got {layer!r}"
            )
        return layer, named[layer]
    if isinstance(layer, nn.Module):
        for qual, module in named.items():
            if module is layer:
                return qual or type(model).__name__, module
        raise ValueError(f"{name}: the module {type(layer).__name__} is not part of the model")
    raise ValueError(f"{name}: expected a module name (str) or an nn.Module, got {layer!r}")


@contextmanager
def untouched(model: nn.Module) -> Iterator[nn.Module]:
    """Run the body with ``model`` in eval mode; afterwards restore every module's mode and every
    parameter's ``requires_grad`` and ``.grad``, whatever happened in the body."""
    modes = [(m, m.training) for m in model.modules()]
    params = [(p, p.requires_grad, p.grad) for p in model.parameters()]
    model.eval()
    try:
        yield model
    finally:
        for m, training in modes:
            m.training = training
        for p, requires_grad, grad in params:
            p.requires_grad_(requires_grad)
            p.grad = grad


def first_tensor(out: Any) -> torch.Tensor | None:
    """``out`` when it is a tensor, else the first tensor of a tuple or list output."""
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, tuple | list):
        return next((t for t in out if isinstance(t, torch.Tensor)), None)
    return None


def input_gradient(model: nn.Module, x: torch.Tensor, target: Any) -> torch.Tensor:
    """d score_target / d x, signed, the shape of ``x`` and on its device: each image's gradient of
    its own target score. The model runs as found (``untouched``); ``x`` is not modified."""
    with untouched(model), torch.enable_grad():
        xi = x.detach().to(model_device(model)).clone().requires_grad_(True)
        out = scores(model(xi))
        t = check_targets(target, len(x), out.shape[1]).to(out.device)
        score = out.gather(1, t[:, None]).sum()
        (grad,) = torch.autograd.grad(score, xi)
    return grad.to(x.device)
