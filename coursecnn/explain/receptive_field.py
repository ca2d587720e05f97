"""``receptive_field``: which input pixels one unit of a layer sees, row by row and column by
column.

Along each axis three numbers travel from the input (``size 1, jump 1, start 0``) through every
layer with a kernel ``k``, stride ``s``, padding ``p`` and dilation ``d`` (convolutions and
pooling)::

    size  <- size + (k - 1) * d * jump      the window grows by the kernel, in input pixels
    start <- start - p * jump               padding moves the first window up / left
    jump  <- jump * s                       input pixels between neighbouring units

Unit ``(i, j)`` of the layer then sees rows ``start_h + i * jump_h`` to
``start_h + i * jump_h + size_h - 1`` (columns likewise); a negative ``start`` is padding.
``size`` and ``jump`` are ``summary``'s ``rf`` and ``rf stride`` (for square kernels).
Element-wise layers (activations, batch norm, dropout) pass the numbers on. The leaf modules up
to ``layer`` must form a chain (each one takes the very tensor the previous one returned, as in
``nn.Sequential``); branches, operations between modules (``x[..., ::2]``, ``F.relu``), global
pooling, flattening, upsampling and transposed convolutions raise ``ValueError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from coursecnn.explain._common import (
    LayerArg,
    check_model,
    first_tensor,
    model_device,
    model_dtype,
    resolve_layer,
    untouched,
)

__all__ = ["ReceptiveField", "receptive_field"]

_UNSUPPORTED = (
    nn.modules.conv._ConvTransposeNd,
    nn.MaxUnpool2d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveMaxPool2d,
    nn.Upsample,
    nn.Fold,
    nn.Unfold,
    nn.PixelShuffle,
    nn.PixelUnshuffle,
)
_KERNEL_LAYERS = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, nn.LPPool2d)


@dataclass(frozen=True)
class ReceptiveField:
    """Geometry of one layer's units in input pixels, each ``(rows, columns)``.

    size: pixels one unit sees; jump: pixels between neighbouring units; start: top-left pixel
    seen by unit ``(0, 0)`` (negative: padding); map_size: the layer's ``(h, w)``;
    input_size: the image's ``(H, W)``.
    """

    size: tuple[int, int]
    jump: tuple[int, int]
    start: tuple[int, int]
    map_size: tuple[int, int]
    input_size: tuple[int, int]

    def box(self, i: int, j: int) -> tuple[int, int, int, int]:
        """``(top, left, bottom, right)`` seen by unit ``(i, j)``, bottom and right excluded;
        it may reach past the image's border (into the padding)."""
        h, w = self.map_size
        if not (0 <= i < h and 0 <= j < w):
            raise ValueError(f"(i, j): expected a unit of the {h}x{w} map, got {(i, j)}")
        top = self.start[0] + i * self.jump[0]
        left = self.start[1] + j * self.jump[1]
        return top, left, top + self.size[0], left + self.size[1]

    def crop(self, image: torch.Tensor, i: int, j: int, fill: float = 0.0) -> torch.Tensor:
        """The pixels of ``image`` ``(C, H, W)`` that unit ``(i, j)`` sees: ``(C, size_h,
        size_w)``, with ``fill`` where the window reaches past the border (0 is what a zero-padded
        layer sees there)."""
        if not isinstance(image, torch.Tensor) or image.dim() != 3:
            got = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
            raise ValueError(f"image: expected a tensor (C, H, W), got {got}")
        if tuple(image.shape[1:]) != self.input_size:
            raise ValueError(
                f"image: expected the input size {self.input_size}, got {tuple(image.shape[1:])}"
            )
        top, left, bottom, right = self.box(i, j)
        H, W = self.input_size
        pad = (max(0, -left), max(0, right - W), max(0, -top), max(0, bottom - H))
        inside = image[:, max(top, 0) : min(bottom, H), max(left, 0) : min(right, W)]
        return F.pad(inside, pad, value=fill)


def _pairs(module: nn.Module, attr: str, default: int) -> tuple[int, int]:
    v = getattr(module, attr, default)
    if v is None:
        v = default
    return (int(v[0]), int(v[1])) if isinstance(v, tuple | list) else (int(v), int(v))


def _geometry(module: nn.Module) -> tuple[tuple[int, int], ...]:
    """Kernel, stride, left/top padding and dilation of a kernel layer, each ``(rows, cols)``."""
    k = _pairs(module, "kernel_size", 1)
    s = _pairs(module, "stride", 1) if getattr(module, "stride", None) else k
    d = _pairs(module, "dilation", 1)
    padding = getattr(module, "padding", 0)
    if padding == "valid":
        p = (0, 0)
    elif padding == "same":
        p = tuple(di * (ki - 1) // 2 for ki, di in zip(k, d, strict=True))
    else:
        p = _pairs(module, "padding", 0)
    return k, s, p, d


def receptive_field(
    model: nn.Module, layer: LayerArg, input_shape: tuple[int, ...]
) -> ReceptiveField:
    """Receptive field of ``layer``'s units for inputs of ``input_shape`` ``(C, H, W)``.

    Found by one forward pass of zeros with hooks on every leaf module (eval mode, no gradients,
    the model left as found); see the module docstring for the rules and limits.
    """
    check_model(model)
    name, target = resolve_layer(model, layer)
    shape = tuple(int(s) for s in input_shape) if isinstance(input_shape, tuple | list) else ()
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"input_shape: expected (C, H, W) of positive sizes, got {input_shape!r}")
    calls: list[tuple[str, nn.Module, Any, Any]] = []
    done: list[int] = []
    names = {m: n for n, m in model.named_modules()}

    def record(module: nn.Module, args: Any, out: Any) -> None:
        if not done:
            calls.append((names[module], module, first_tensor(args), first_tensor(out)))

    def finish(module: nn.Module, args: Any, out: Any) -> None:
        if not done:
            done.append(len(calls))

    leaves = [m for m in model.modules() if next(m.children(), None) is None]
    handles = [m.register_forward_hook(record) for m in leaves]
    handles.append(target.register_forward_hook(finish))  # after record, if target is a leaf
    x = torch.zeros((1, *shape), device=model_device(model), dtype=model_dtype(model))
    try:
        with untouched(model), torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    if not done:
        raise ValueError(f"layer: {name!r} is not called in the model's forward pass")
    size, jump, start = [1, 1], [1, 1], [0, 0]
    spatial, previous, before = shape[1:], x, "the model's input"
    for qual, module, inp, out in calls[: done[0]]:
        where = f"{qual!r} ({type(module).__name__})"
        if inp is not previous:
            raise ValueError(
                f"model: the layers up to {name!r} are not a chain: {where} does not take the "
                f"output of {before} (a branch, or an operation outside the modules)"
            )
        if isinstance(module, _UNSUPPORTED) or out is None or out.dim() != 4:
            raise ValueError(
                f"layer: cannot follow the receptive field through {where} to {name!r}"
            )
        if isinstance(module, _KERNEL_LAYERS):
            k, s, p, d = _geometry(module)
            for a in range(2):
                size[a] += (k[a] - 1) * d[a] * jump[a]
                start[a] -= p[a] * jump[a]
                jump[a] *= s[a]
        elif tuple(out.shape[-2:]) != spatial:
            raise ValueError(
                f"layer: cannot follow the receptive field through {where}: it changes the map "
                f"from {spatial} to {tuple(out.shape[-2:])} without a kernel"
            )
        spatial, previous, before = tuple(out.shape[-2:]), out, where
    return ReceptiveField(
        size=(size[0], size[1]),
        jump=(jump[0], jump[1]),
        start=(start[0], start[1]),
        map_size=(int(spatial[0]), int(spatial[1])),
        input_size=(shape[1], shape[2]),
    )
