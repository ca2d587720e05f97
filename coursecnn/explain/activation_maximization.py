"""``activation_maximization``: an input that a class or a channel likes best, found by gradient
ascent on the input (Erhan et al. 2009; Simonyan et al. 2014; Yosinski et al. 2015).

Start from faint noise and repeat ``x <- r(x + lr * g / mean|g|)``, where ``g`` is the gradient
of the unit's value with respect to ``x`` (normalised so that ``lr`` is the mean step per pixel,
whatever the unit's scale) and ``r`` applies the regularisers that are switched on, in
Yosinski et al.'s order:

- ``l2_decay``: ``x <- (1 - l2_decay) x``, pulls every pixel towards 0 (the data's mean in
  normalised inputs): only pixels the unit keeps asking for survive;
- ``blur_sigma`` (every ``blur_every`` steps): a Gaussian blur
  (``torchvision.transforms.v2.functional.gaussian_blur``) removes the high frequencies that
  the unit does not need but gradient ascent puts there;
- ``jitter``: each step's gradient is taken at ``x`` shifted by a random ``(dy, dx)`` of at
  most ``jitter`` pixels (``torch.roll``), so that the pattern must work at several positions
  (Mordvintsev et al. 2015, added to the toolbox's regularisers by later work);
- ``clip_pct``: pixels whose magnitude (norm over channels) is among the smallest ``clip_pct``
  per cent are set to 0 (Yosinski et al.'s "clipping pixels with small norm");
- ``value_range``: ``(low, high)`` clamps every pixel to the range real images have.

Without any of them the result is typically high-frequency noise that excites the unit
strongly and looks like nothing: the gradient points wherever the score rises fastest, and
nothing keeps the input image-like.

For a class, ``objective="log_prob"`` climbs ``log softmax`` of the class instead of its logit:
the class must then win against the others, not only grow (raising a logit can raise the other
classes' logits as well). Climbed without regularisers, that gives inputs the network is
near-certain about and a person sees as noise, Nguyen et al.'s (2015) *fooling images*.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torchvision.transforms.v2 import functional as TF

from coursecnn.explain._common import (
    LayerArg,
    check_model,
    first_tensor,
    is_int,
    model_device,
    model_dtype,
    resolve_layer,
    scores,
    untouched,
)

__all__ = ["OBJECTIVES", "activation_maximization", "gaussian_blur", "roughness"]

OBJECTIVES = ("score", "log_prob")


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """``x`` ``(..., C, H, W)`` blurred by a Gaussian of ``sigma`` pixels (kernel ``2 ceil(3
    sigma) + 1`` wide, reflected borders, no wider than the image allows)."""
    if not isinstance(x, torch.Tensor) or x.dim() < 3:
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x: expected a tensor (..., C, H, W), got {got}")
    sigma = _number(sigma, "sigma", 0.0)
    if sigma == 0:
        raise ValueError("sigma: expected a positive number of pixels, got 0")
    size = 2 * math.ceil(3 * sigma) + 1
    h, w = x.shape[-2:]
    kh = min(size, 2 * ((h - 1) // 2) + 1)
    kw = min(size, 2 * ((w - 1) // 2) + 1)
    return TF.gaussian_blur(x, kernel_size=[kw, kh], sigma=[sigma, sigma])


def roughness(x: torch.Tensor) -> torch.Tensor:
    """How speckled images ``x`` ``(..., H, W)`` are: the mean absolute difference between
    neighbouring pixels (across and down) divided by the pixels' standard deviation, one number
    per image ``(...)``. About ``2 / sqrt(pi) = 1.13`` for white noise, near 0 for smooth images;
    a constant image gives 0."""
    if not isinstance(x, torch.Tensor) or x.dim() < 2 or min(x.shape[-2:]) < 2:
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x: expected a tensor (..., H, W) with H, W >= 2, got {got}")
    x = x.double()
    across = (x[..., :, 1:] - x[..., :, :-1]).abs().flatten(-2)
    down = (x[..., 1:, :] - x[..., :-1, :]).abs().flatten(-2)
    steps = torch.cat([across, down], dim=-1).mean(-1)
    spread = x.flatten(-2).std(-1)
    return torch.where(spread > 0, steps / spread.clamp(min=1e-300), 0.0)


def _number(value: Any, name: str, low: float, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name}: expected a number, got {value!r}")
    if value < low or (high is not None and value > high):
        limits = f"at least {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name}: expected a number {limits}, got {value!r}")
    return float(value)


def activation_maximization(
    model: nn.Module,
    unit: int,
    *,
    layer: LayerArg | None = None,
    shape: tuple[int, int, int] = (1, 28, 28),
    steps: int = 200,
    lr: float = 0.1,
    l2_decay: float = 0.0,
    blur_sigma: float = 0.0,
    blur_every: int = 4,
    jitter: int = 0,
    clip_pct: float = 0.0,
    value_range: tuple[float, float] | None = None,
    init_std: float = 0.1,
    seed: int = 0,
    objective: str = "score",
) -> torch.Tensor:
    """An input ``shape`` ``(C, H, W)`` that maximises ``unit`` by regularised gradient ascent.

    unit: with ``layer=None`` a class, whose score (the logit, before softmax: maximising the
    softmax could also just lower the other classes) is maximised; with ``layer`` (a name or a
    module of the model) a channel of that layer: its unit at the centre of the map (row
    ``h // 2``, column ``w // 2``) is maximised, so the result shows what that unit's receptive
    field should hold (for a layer without a map, e.g. ``Linear``, the unit ``unit`` itself).
    steps, lr: ascent steps and the mean step per pixel (the gradient is divided by its mean
    absolute value). Regularisers (each off at its default): ``l2_decay`` in [0, 1),
    ``blur_sigma`` (pixels) every ``blur_every`` steps, ``jitter`` (pixels), ``clip_pct`` in
    [0, 100), ``value_range`` ``(low, high)``; see the module docstring.
    init_std, seed: the start is seeded Gaussian noise of that standard deviation; the jitter
    offsets come from the same generator, so a call is reproducible.
    objective: for a class (``layer=None``), ``"score"`` climbs its logit, ``"log_prob"`` its
    log-probability (log softmax), which the class only raises by beating the others.
    The model runs in eval mode and is left as found; returns the input, detached, on the
    model's device.
    """
    check_model(model)
    if not isinstance(shape, tuple | list) or len(shape) != 3 or not all(is_int(s) for s in shape):
        raise ValueError(f"shape: expected (C, H, W), got {shape!r}")
    if min(shape) < 1:
        raise ValueError(f"shape: expected positive sizes, got {tuple(shape)}")
    if not is_int(steps) or steps < 1:
        raise ValueError(f"steps: expected a positive integer, got {steps!r}")
    lr = _number(lr, "lr", 0.0)
    l2_decay = _number(l2_decay, "l2_decay", 0.0, 0.999)
    blur_sigma = _number(blur_sigma, "blur_sigma", 0.0)
    if not is_int(blur_every) or blur_every < 1:
        raise ValueError(f"blur_every: expected a positive integer, got {blur_every!r}")
    if not is_int(jitter) or jitter < 0:
        raise ValueError(f"jitter: expected an integer >= 0 (pixels), got {jitter!r}")
    clip_pct = _number(clip_pct, "clip_pct", 0.0, 99.9)
    if value_range is not None:
        if (
            not isinstance(value_range, tuple | list)
            or len(value_range) != 2
            or not value_range[0] < value_range[1]
        ):
            raise ValueError(f"value_range: expected None or (low, high), got {value_range!r}")
        lo, hi = float(value_range[0]), float(value_range[1])
    init_std = _number(init_std, "init_std", 0.0)
    if not is_int(seed):
        raise ValueError(f"seed: expected an integer, got {seed!r}")
    if objective not in OBJECTIVES:
        raise ValueError(f"objective: expected one of {OBJECTIVES}, got {objective!r}")
    if objective == "log_prob" and layer is not None:
        raise ValueError(f"objective: 'log_prob' is for a class (layer=None), got layer={layer!r}")
    module = None if layer is None else resolve_layer(model, layer)[1]
    if not is_int(unit):
        raise ValueError(f"unit: expected an integer (a class or a channel), got {unit!r}")
    unit = int(unit)

    device = model_device(model)
    gen = torch.Generator().manual_seed(int(seed))
    x = init_std * torch.randn(tuple(int(s) for s in shape), generator=gen)
    x = x[None].to(device, model_dtype(model))
    caught: list[torch.Tensor] = []

    def hook(mod: nn.Module, args: Any, out: Any) -> Any:
        if not caught:
            caught.append(first_tensor(out))
            if isinstance(out, torch.Tensor):
                return out.clone()  # an in-place op after the layer must not change it
        return None

    handle = module.register_forward_hook(hook) if module is not None else None
    try:
        with untouched(model), torch.enable_grad():
            for step in range(int(steps)):
                dy, dx = (torch.randint(-jitter, jitter + 1, (2,), generator=gen).tolist()
                          if jitter else (0, 0))  # fmt: skip
                xs = torch.roll(x, shifts=(dy, dx), dims=(2, 3)).requires_grad_(True)
                caught.clear()
                out = model(xs)
                value = _objective(out, caught, unit, layer, objective)
                (g,) = torch.autograd.grad(value, xs)
                g = torch.roll(g, shifts=(-dy, -dx), dims=(2, 3))
                with torch.no_grad():
                    x = x + lr * g / (g.abs().mean() + 1e-12)
                    if l2_decay:
                        x = x * (1.0 - l2_decay)
                    if blur_sigma and step % blur_every == 0:
                        x = gaussian_blur(x, blur_sigma)
                    if clip_pct:
                        norm = x.norm(dim=1, keepdim=True)  # (1, 1, H, W)
                        x = torch.where(norm < torch.quantile(norm, clip_pct / 100.0), 0.0, x)
                    if value_range is not None:
                        x = x.clamp(lo, hi)
    finally:
        if handle is not None:
            handle.remove()
    return x[0].detach()


def _objective(
    out: Any, caught: list, unit: int, layer: Any, objective: str = "score"
) -> torch.Tensor:
    """The value to maximise: a class score (or log-probability), or a channel's centre unit."""
    if layer is None:
        s = scores(out)
        if not 0 <= unit < s.shape[1]:
            raise ValueError(f"unit: expected a class in 0..{s.shape[1] - 1}, got {unit}")
        if objective == "log_prob":
            return torch.log_softmax(s, dim=1)[0, unit]
        return s[0, unit]
    if not caught or caught[0] is None:
        raise ValueError(f"layer: {layer!r} is not called in the model's forward pass")
    a = caught[0]
    if a.dim() < 2 or not 0 <= unit < a.shape[1]:
        raise ValueError(
            f"unit: expected a channel in 0..{a.shape[1] - 1} of the layer's output "
            f"{tuple(a.shape)}, got {unit}"
        )
    if a.dim() == 4:
        return a[0, unit, a.shape[2] // 2, a.shape[3] // 2]
    return a[0, unit].sum()
