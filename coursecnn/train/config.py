"""Run settings that follow the profile: ``quick`` on a 2-core CPU, ``full`` on a GPU.

A notebook states both settings once and gets the one that applies::

    cfg = profile_settings(quick=TrainConfig(epochs=3, train_size=4000),
                           full=TrainConfig(epochs=15, train_size=None))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from coursecnn.profile import is_full, profile

T = TypeVar("T")


@dataclass(frozen=True)
class TrainConfig:
    """How much to train: epochs, batch size, learning rate, training images (None: all)."""

    epochs: int = 3
    batch_size: int = 64
    lr: float = 1e-3
    train_size: int | None = 4000

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs: expected a positive integer, got {self.epochs!r}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size: expected a positive integer, got {self.batch_size!r}")
        if not self.lr > 0:
            raise ValueError(f"lr: expected a positive number, got {self.lr!r}")
        if self.train_size is not None and self.train_size < 1:
            raise ValueError(
                f"train_size: expected None or a positive integer, got {self.train_size!r}"
            )


def profile_settings(quick: T, full: T) -> T:
    """``full`` when the ``full`` profile is active (``COURSECNN_PROFILE=full``), else ``quick``."""
    return full if is_full() else quick


__all__ = ["TrainConfig", "profile", "profile_settings"]
