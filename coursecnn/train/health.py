"""Is a trained net healthy? Dead ReLU channels, and layers whose gradient vanishes or explodes.

A ReLU channel is *dead* on a data set when it is zero at every position of every image: it
passes no signal forward and, since ReLU's slope is 0 there, no gradient back, so training can
no longer revive it. A large learning rate (Adam at 8e-3 in this course) kills many.

health_report(model, loader)  -> HealthReport (print it; .worst_dead_share, .dead_layers())
DeadChannelTracker(model)     forward hooks that record which channels ever fired (``fit`` uses
                              it on the last epoch and prints one warning line)
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from coursecnn.train._batches import pick_device, unpack

#: ``fit`` warns when a run leaves more than this share of a ReLU layer's channels dead.
WARN_DEAD_SHARE = 0.10
#: A layer's gradient per weight this many times below the median layer's: vanishing.
VANISHING_RATIO = 1e-3
#: ... this many times above it (or not finite): exploding.
EXPLODING_RATIO = 1e3

RELUS = (nn.ReLU, nn.ReLU6)


@dataclass(frozen=True)
class DeadChannels:
    """One ReLU module: ``dead`` of its ``channels`` never fired on the data seen."""

    name: str
    channels: int
    dead: int

    @property
    def share(self) -> float:
        return self.dead / self.channels if self.channels else 0.0


@dataclass(frozen=True)
class GradientHealth:
    """One weight layer's gradient on a batch: per-weight RMS and its verdict."""

    name: str
    rms: float
    verdict: str  # "ok", "vanishing" or "exploding"


class DeadChannelTracker:
    """Forward hooks on every ``nn.ReLU``/``nn.ReLU6`` of ``model`` that record, per channel
    (dim 1 of an ``(N, C, ...)`` output; units of an ``(N, F)`` one), whether it was ever > 0.

    A module used twice in one forward pass (torchvision's BasicBlock) counts a channel alive if
    it fired at either use. ReLUs applied as functions (``F.relu``) are not seen. Use as a context
    manager, or call :meth:`close`.
    """

    def __init__(self, model: nn.Module) -> None:
        self._alive: dict[str, torch.Tensor] = {}
        self._handles = [
            module.register_forward_hook(self._hook(name or type(module).__name__))
            for name, module in model.named_modules()
            if isinstance(module, RELUS)
        ]

    def _hook(self, name: str) -> Callable[..., None]:
        def record(module: nn.Module, args: Any, out: torch.Tensor) -> None:
            if not isinstance(out, torch.Tensor) or out.ndim < 2:
                return
            with torch.no_grad():
                fired = out.detach().transpose(0, 1).reshape(out.shape[1], -1).gt(0).any(dim=1)
            key = (
                name
                if name not in self._alive or len(self._alive[name]) == len(fired)
                else (f"{name} ({len(fired)} channels)")
            )
            self._alive[key] = fired if key not in self._alive else self._alive[key] | fired

        return record

    @property
    def seen(self) -> bool:
        """True once any ReLU output was recorded."""
        return bool(self._alive)

    def result(self) -> list[DeadChannels]:
        """One :class:`DeadChannels` per ReLU seen, in the order they first fired."""
        return [
            DeadChannels(name, len(alive), int((~alive).sum()))
            for name, alive in self._alive.items()
        ]

    def close(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()

    def __enter__(self) -> DeadChannelTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class HealthReport:
    """Dead channels per ReLU layer on ``n_images`` images, and each weight layer's gradient."""

    dead: list[DeadChannels]
    gradients: list[GradientHealth] = field(default_factory=list)
    n_images: int = 0

    @property
    def worst_dead_share(self) -> float:
        """The largest share of dead channels in any ReLU layer (0 when there is none)."""
        return max((d.share for d in self.dead), default=0.0)

    def dead_layers(self, threshold: float = WARN_DEAD_SHARE) -> list[DeadChannels]:
        """The ReLU layers with more than ``threshold`` of their channels dead."""
        return [d for d in self.dead if d.share > threshold]

    @property
    def gradient_problems(self) -> list[GradientHealth]:
        return [g for g in self.gradients if g.verdict != "ok"]

    def __str__(self) -> str:
        lines = [f"health on {self.n_images:,} images"]
        lines += [
            f"  {d.name:<24} {d.dead:>4} of {d.channels:>4} channels dead ({d.share:6.1%})"
            for d in self.dead
        ] or ["  no nn.ReLU module seen"]
        for g in self.gradients:
            lines.append(f"  {g.name:<24} gradient per weight {g.rms:9.2e}  {g.verdict}")
        worst = self.worst_dead_share
        verdict = "healthy" if worst <= 0.05 and not self.gradient_problems else "NOT healthy"
        lines.append(
            f"  {verdict}: worst layer {worst:.1%} dead channels, "
            f"{len(self.gradient_problems)} layer(s) with vanishing or exploding gradients"
        )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)


def dead_channel_line(
    dead: list[DeadChannels], where: str, threshold: float = WARN_DEAD_SHARE
) -> str:
    """One line a student understands, or "" when no layer has more than ``threshold`` dead."""
    bad = [d for d in dead if d.share > threshold]
    if not bad:
        return ""
    worst = sorted(bad, key=lambda d: -d.share)[:3]
    parts = ", ".join(f"{d.name} {d.dead} of {d.channels} ({d.share:.0%})" for d in worst)
    if len(bad) > len(worst):
        parts += f" and {len(bad) - len(worst)} more layer(s)"
    return (
        f"WARNING: dead ReLU channels (zero on every one of {where}): {parts}. They pass no "
        "signal and get no gradient; a lower learning rate usually avoids them "
        "(coursecnn.train.health_report)."
    )


def _gradient_health(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn: Callable[..., torch.Tensor]
) -> list[GradientHealth]:
    """Per-weight gradient RMS of every Conv/Linear layer on one batch, with a verdict."""
    from coursecnn.gradient_norms import layer_gradient_stats

    saved = {
        n: (p.grad.clone() if p.grad is not None else None) for n, p in model.named_parameters()
    }
    try:
        stats = layer_gradient_stats(
            model, x, y, loss_fn, layers=(nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
        )
    finally:
        for n, p in model.named_parameters():
            p.grad = saved[n]
    finite = [s.rms for s in stats if math.isfinite(s.rms)]
    mid = statistics.median(finite) if finite else 0.0
    out = []
    for s in stats:
        if not math.isfinite(s.rms) or (mid > 0 and s.rms > EXPLODING_RATIO * mid):
            verdict = "exploding"
        elif s.rms < VANISHING_RATIO * mid:
            verdict = "vanishing"
        else:
            verdict = "ok"
        out.append(GradientHealth(s.name, s.rms, verdict))
    return out


def health_report(
    model: nn.Module,
    loader: Iterable[Any],
    *,
    loss_fn: Callable[..., torch.Tensor] | None = None,
    device: str | torch.device | None = None,
    max_batches: int | None = None,
    gradients: bool = True,
) -> HealthReport:
    """How healthy ``model`` is on the ``(inputs, labels)`` batches of ``loader``.

    Dead channels: in eval mode, every ReLU module's channels that are zero on every image.
    Gradients (``gradients=True``): one backward pass on the first batch, in eval mode; a
    layer's per-weight gradient RMS is *vanishing* when it is more than 1,000 times below the median layer's, *exploding* when it is
    more than 1,000 times above it or not finite.
    device: None runs where the model's parameters are; a name moves the model there.
    The model is left as found otherwise: its mode and its parameters' ``.grad``.
    """
    if device is None:
        dev = next((p.device for p in model.parameters()), torch.device("cpu"))
    else:
        dev = pick_device(device)
        model.to(dev)
    loss_fn = F.cross_entropy if loss_fn is None else loss_fn
    was_training = model.training
    first: tuple[torch.Tensor, torch.Tensor] | None = None
    n = 0
    model.eval()
    try:
        with DeadChannelTracker(model) as tracker, torch.no_grad():
            for i, batch in enumerate(loader):
                if max_batches is not None and i >= max_batches:
                    break
                x, y = (t.to(dev) for t in unpack(batch))
                if first is None:
                    first = (x, y)
                model(x)
                n += len(x)
        if n == 0:
            raise ValueError("loader: expected at least one batch, got an empty loader")
        grads = _gradient_health(model, *first, loss_fn) if gradients and first else []
    finally:
        model.train(was_training)
    return HealthReport(dead=tracker.result(), gradients=grads, n_images=n)
