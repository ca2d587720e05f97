"""What ``fit`` records each epoch, and the learning-curve plot the notebooks draw from it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

FIELDS = (
    "train_loss",
    "train_acc",
    "val_loss",
    "val_acc",
    "epoch_time",
    "images_per_sec",
)


@dataclass
class History:
    """Per-epoch lists, one value per epoch; ``val_*`` hold NaN when there was no validation.

    ``epoch_time`` is in seconds (training and validation); ``images_per_sec`` counts training
    images only. ``best_epoch`` (1-based) and ``stopped_early`` are set by early stopping.
    ``data_digest`` fingerprints the training batches of the last ``fit`` (equal digests: the
    same batches in the same order); ``dead_channels`` maps each ReLU module to (dead, channels)
    on that run's last epoch.
    """

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)
    images_per_sec: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    device: str = ""
    data_digest: str = ""
    dead_channels: dict[str, tuple[int, int]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.train_loss)

    @property
    def epochs(self) -> list[int]:
        """Epoch numbers, 1-based: the x axis of the learning curves."""
        return list(range(1, len(self) + 1))

    @property
    def has_val(self) -> bool:
        return any(not math.isnan(v) for v in self.val_loss)

    def append(self, **values: float) -> None:
        """Record one epoch; every name in ``FIELDS`` must be given."""
        missing = set(FIELDS) - set(values)
        extra = set(values) - set(FIELDS)
        if missing or extra:
            raise ValueError(
                f"values: expected exactly {FIELDS}, missing {sorted(missing)}, "
                f"unexpected {sorted(extra)}"
            )
        for name in FIELDS:
            getattr(self, name).append(float(values[name]))

    def last(self) -> dict[str, float]:
        """The latest epoch's values."""
        if not len(self):
            raise ValueError("history: expected at least one epoch, got none")
        return {name: getattr(self, name)[-1] for name in FIELDS}

    def as_dict(self) -> dict[str, Any]:
        """Plain lists and numbers (JSON-ready)."""
        return {
            f.name: (list(v) if isinstance(v := getattr(self, f.name), list) else v)
            for f in fields(self)
        }

    def summary(self) -> str:
        """One line: epochs, final losses and accuracies, speed."""
        if not len(self):
            return "no epochs yet"
        last = self.last()
        text = f"{len(self)} epochs, train loss {last['train_loss']:.4f}"
        if not math.isnan(last["train_acc"]):  # NaN: the targets were not class labels
            text += f", train acc {last['train_acc']:.2%}"
        if self.has_val:
            text += f", val loss {last['val_loss']:.4f}"
            if not math.isnan(last["val_acc"]):
                text += f", val acc {last['val_acc']:.2%}"
        mean_speed = sum(self.images_per_sec) / len(self)
        return text + f", {mean_speed:,.0f} images/s, {sum(self.epoch_time):.1f} s"

    def plot(self, title: str = "Learning curves", axes: Any = None) -> Any:
        """Loss and accuracy against epoch, training and validation; returns the Figure."""
        import matplotlib.pyplot as plt

        if axes is None:
            fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
        else:
            fig = axes[0].figure
            for ax in axes:
                ax.clear()
        ax_loss, ax_acc = axes
        x = self.epochs
        ax_loss.plot(x, self.train_loss, "o-", label="training")
        ax_acc.plot(x, [100 * a for a in self.train_acc], "o-", label="training")
        if self.has_val:
            ax_loss.plot(x, self.val_loss, "s--", label="validation")
            ax_acc.plot(x, [100 * a for a in self.val_acc], "s--", label="validation")
        if self.best_epoch is not None:
            for ax in axes:
                ax.axvline(self.best_epoch, color="grey", lw=0.8, ls=":", label="best epoch")
        ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title=f"{title}: loss")
        ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title=f"{title}: accuracy")
        for ax in axes:
            ax.legend()
            ax.grid(alpha=0.3)
            if x:
                ax.set_xticks(x if len(x) <= 12 else x[:: max(1, len(x) // 10)])
        fig.tight_layout()
        return fig
