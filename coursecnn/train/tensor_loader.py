"""A loader over tensors already in memory (or on the GPU): no per-image Python work.

``torch.utils.data.DataLoader`` builds every batch image by image; for small images such as
MNIST that overhead, not the model, limits a GPU. ``TensorLoader`` slices whole batches.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from coursecnn.train._batches import pick_device


class TensorLoader:
    """Batches ``(x[idx], y[idx])`` of ``batch_size``, reshuffled every pass when ``shuffle``.

    x: (N, ...) inputs, y: (N,) labels. ``device`` moves both once, up front. The order of the
    passes follows ``seed`` (a random one when None) and restarts at each :meth:`reseed`.
    """

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        batch_size: int = 128,
        *,
        shuffle: bool = False,
        drop_last: bool = False,
        device: str | torch.device | None = "cpu",
        seed: int | None = None,
    ) -> None:
        if len(x) != len(y):
            raise ValueError(f"y: expected {len(x)} labels to match x, got {len(y)}")
        if batch_size < 1:
            raise ValueError(f"batch_size: expected a positive integer, got {batch_size!r}")
        dev = pick_device(device)
        self.x, self.y = x.to(dev), y.to(dev)
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self._gen = torch.Generator()
        self.reseed(int(torch.randint(0, 2**62, (1,)).item()) if seed is None else seed)

    def reseed(self, seed: int) -> None:
        """Restart the shuffle order from ``seed``: the next passes repeat those after any
        other ``reseed(seed)``. ``fit(seed=...)`` calls this, so that runs with one seed see
        the same batches."""
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ValueError(f"seed: expected an integer, got {seed!r}")
        self._gen.manual_seed(seed)

    def __len__(self) -> int:
        n = len(self.x)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.x)
        if self.shuffle:
            order = torch.randperm(n, generator=self._gen).to(self.x.device)
        for b in range(len(self)):
            sl = slice(b * self.batch_size, min((b + 1) * self.batch_size, n))
            if self.shuffle:
                idx = order[sl]
                yield self.x[idx], self.y[idx]
            else:
                yield self.x[sl], self.y[sl]
