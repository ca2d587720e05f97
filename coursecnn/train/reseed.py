"""Make a run a function of its seed: reseed a loader's shuffle, and fingerprint the batches.

``fit(seed=s)`` calls :func:`reseed_loader` so that the same model, data and seed give the same
batches whatever ran before in the kernel, and :class:`BatchDigest` records which batches a run
saw, so that a notebook can assert that two compared runs saw the same ones.
"""

from __future__ import annotations

import hashlib
from typing import Any

import torch


def _generators(loader: Any) -> list[torch.Generator]:
    """The ``torch.Generator`` objects that decide a loader's order (its own, its samplers')."""
    found: list[torch.Generator] = []
    for owner in (
        loader,
        getattr(loader, "sampler", None),
        getattr(getattr(loader, "batch_sampler", None), "sampler", None),
    ):
        gen = getattr(owner, "generator", None)
        if isinstance(gen, torch.Generator) and all(gen is not g for g in found):
            found.append(gen)
    return found


def reseed_loader(loader: Any, seed: int) -> bool:
    """Reset the shuffle order of ``loader`` to the one ``seed`` gives; True if it had one.

    A :class:`~coursecnn.train.TensorLoader` is reseeded through ``reseed``; a torch
    ``DataLoader`` through its ``generator`` (and its sampler's). A ``DataLoader`` without a
    generator draws its order from torch's global generator, which ``seed_everything`` already
    resets. Any other iterable is left alone (False).
    """
    if hasattr(loader, "reseed") and callable(loader.reseed):
        loader.reseed(seed)
        return True
    gens = _generators(loader)
    for gen in gens:
        gen.manual_seed(int(seed))
    return bool(gens)


class BatchDigest:
    """A fingerprint of the batches a run trained on: their order, inputs and labels.

    Per batch it keeps the float64 sums of the inputs and of the labels weighted by position,
    on the batch's device (no synchronisation per batch); ``hexdigest`` hashes them all. Two runs
    with equal digests saw the same batches in the same order (up to a sum collision).
    """

    def __init__(self) -> None:
        self._sums: list[torch.Tensor] = []
        self._hash = hashlib.sha256()

    def add(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """Record one batch: ``x`` inputs ``(N, ...)``, ``y`` targets ``(N, ...)``."""
        with torch.no_grad():
            weights = torch.arange(1, len(y) + 1, device=y.device, dtype=torch.float64)
            yy = y.reshape(len(y), -1).double().sum(dim=1)
            xs = x.double().sum().to(y.device)
            self._sums.append(torch.stack([xs, (yy * weights).sum(), yy.sum()]))
            self._hash.update(repr((tuple(x.shape), tuple(y.shape))).encode())

    def flush(self) -> None:
        """Fold the recorded sums into the hash (once per epoch: one device-to-host copy)."""
        if self._sums:
            values = torch.stack(self._sums).cpu().numpy()
            self._hash.update(values.round(decimals=6).tobytes())
            self._sums.clear()

    def hexdigest(self) -> str:
        self.flush()
        return self._hash.hexdigest()[:16]
