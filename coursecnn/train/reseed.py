"""Make a run a function of its seed: reseed a loader's shuffle, and fingerprint the batches.

``fit(seed=s)`` calls :func:`reseed_loader` so that the same model, data and seed give the same
batches whatever ran before in the kernel, and :class:`BatchDigest` records which batches a run
saw, so that a notebook can assert that two compared runs saw the same ones.
"""

from __future__ import annotations

import hashlib
from typing import Any

import torch

from coursecnn.train._batches import unpack


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


def loader_digest(loader: Any, epochs: int, seed: int | None = None) -> str:
    """The ``data_digest`` that ``fit(model, loader, epochs=epochs, seed=seed)`` would record,
    without training: the loader is reseeded (when ``seed`` is given) and read ``epochs`` times.

    Use it to show what two runs shared when their batches cannot be equal: e.g. with the
    augmentation switched off (``dataset.transform = None``), an augmented run's loader gives
    the digest of the un-augmented run exactly when both drew the same images in the same order.
    """
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise ValueError(f"epochs: expected a positive integer, got {epochs!r}")
    if seed is not None:
        reseed_loader(loader, seed)
    digest = BatchDigest()
    for _ in range(epochs):
        for batch in loader:
            digest.add(*unpack(batch))
        digest.flush()
    return digest.hexdigest()


class BatchDigest:
    """A fingerprint of the batches a run trained on: their order, inputs and labels.

    Per batch it keeps float64 sums on the batch's device (no synchronisation per batch): of the
    inputs, of the inputs weighted by their position within an example (so that a flipped or
    shifted image changes the fingerprint even when its plain sum does not), and of the labels
    weighted by position in the batch; ``hexdigest`` hashes them all. Two runs with equal digests
    saw the same batches in the same order (up to a sum collision).
    """

    def __init__(self) -> None:
        self._sums: list[torch.Tensor] = []
        self._hash = hashlib.sha256()
        self._ramps: dict[tuple[int, str], torch.Tensor] = {}

    def _ramp(self, size: int, device: torch.device) -> torch.Tensor:
        key = (size, str(device))
        if key not in self._ramps:
            self._ramps[key] = torch.linspace(1.0, 2.0, size, dtype=torch.float64, device=device)
        return self._ramps[key]

    def add(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """Record one batch: ``x`` inputs ``(N, ...)``, ``y`` targets ``(N, ...)``."""
        with torch.no_grad():
            weights = torch.arange(1, len(y) + 1, device=y.device, dtype=torch.float64)
            yy = y.reshape(len(y), -1).double().sum(dim=1)
            flat = x.reshape(len(x), -1).double()
            xs = flat.sum().to(y.device)
            xw = (flat @ self._ramp(flat.shape[1], flat.device)).sum().to(y.device)
            self._sums.append(torch.stack([xs, xw, (yy * weights).sum(), yy.sum()]))
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
