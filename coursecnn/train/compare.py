"""Runs compared fairly: several networks trained by ``fit`` on the same batches, checked.

A comparison of two runs says something about the networks only when the runs saw the same
images in the same order. ``fit_same_batches`` trains each variant on one loader with one seed and
checks, with each history's ``data_digest``, that they did; ``Spread`` summarises a measure over
seeds (mean, standard deviation, smallest and largest).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from coursecnn.train.fit import _batches_per_epoch, fit
from coursecnn.train.history import History

Build = Callable[[], tuple[nn.Module, torch.optim.Optimizer | None]]


@dataclass
class Compared:
    """What ``fit_same_batches`` returns: per label the trained net and its history; the labels
    whose run diverged, with the error; the batches' digest and their number per run."""

    nets: dict[str, nn.Module] = field(default_factory=dict)
    histories: dict[str, History] = field(default_factory=dict)
    diverged: dict[str, str] = field(default_factory=dict)
    digest: str = ""
    steps: int = 0


def fit_same_batches(
    variants: Mapping[str, Build],
    loader: Iterable[Any],
    *,
    epochs: int,
    seed: int = 0,
    allow_divergence: bool = False,
    **fit_kwargs: Any,
) -> Compared:
    """Train every variant on ``loader`` for ``epochs`` with ``fit(..., seed=seed)``.

    variants: ``{label: build}``; ``build()`` returns ``(net, optimizer)`` (optimizer None: ``fit``'s
        Adam) and is called right before its run, so that seeding in it fixes the initial weights.
    allow_divergence: a run that raises ``FloatingPointError`` (``fit``'s divergence) is recorded
        in ``diverged`` instead of stopping the comparison.
    fit_kwargs: passed to every ``fit`` (``val_loader``, ``channels_last``, ``progress``, ...).
    Raises ``AssertionError`` when the finished runs did not all train on the same batches.
    """
    if not variants:
        raise ValueError("variants: expected at least one {label: build}, got none")
    if epochs < 1:
        raise ValueError(f"epochs: expected a positive number of epochs, got {epochs}")
    out = Compared()
    for label, build in variants.items():
        net, optimizer = build()
        try:
            history = fit(net, loader, epochs=epochs, optimizer=optimizer, seed=seed, **fit_kwargs)
        except FloatingPointError as err:
            if not allow_divergence:
                raise
            out.diverged[label] = str(err)
            continue
        out.nets[label], out.histories[label] = net, history
    digests = {label: h.data_digest for label, h in out.histories.items()}
    if len(set(digests.values())) > 1:
        raise AssertionError(f"the runs saw different batches: data_digest per run {digests}")
    out.digest = next(iter(digests.values()), "")
    out.steps = epochs * (_batches_per_epoch(loader) or 0)
    return out


@dataclass(frozen=True)
class Spread:
    """A measure over seeds: its mean, standard deviation (population), smallest and largest."""

    mean: float
    std: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Iterable[float]) -> Spread:
        a = np.asarray(list(values), dtype=float)
        if a.size == 0:
            raise ValueError("values: expected at least one value, got none")
        return cls(float(a.mean()), float(a.std()), float(a.min()), float(a.max()))
