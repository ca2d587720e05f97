"""Pooling explorer: max or average pooling of a small input, and what a shift of the input by
a pixel or two changes in the output (translation invariance, seeds 000 and 001).

    p = pooling_explorer()
    p.shift_x.value = 1
    p.output, p.shifted_output, p.changed      # changed: fraction of output cells that differ
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.patches import Rectangle

from coursecnn import ops
from coursecnn.widgets._display import Explorer, new_figure

__all__ = ["KINDS", "PoolingExplorer", "compute", "default_input", "pooling_explorer", "shift"]

KINDS = ("max", "avg")

_SEVEN = np.array(
    [
        [0, 0, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 0],
        [0, 0, 1, 1, 1, 1, 0, 0],
        [0, 0, 0, 0, 0, 1, 0, 0],
        [0, 0, 0, 0, 1, 0, 0, 0],
        [0, 0, 0, 1, 0, 0, 0, 0],
        [0, 0, 0, 1, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 0],
    ],
    dtype=float,
)


def default_input() -> np.ndarray:
    """An 8x8 digit-like "7": stroke pixels of seeded intensities in [0.5, 1], zeros elsewhere."""
    rng = np.random.default_rng(0)
    return np.round(_SEVEN * rng.uniform(0.5, 1.0, size=_SEVEN.shape), 2)


def shift(x: np.ndarray, dy: int = 0, dx: int = 0) -> np.ndarray:
    """``x`` (H, W) moved ``dy`` rows down and ``dx`` columns right; zeros fill what enters."""
    h, w = x.shape
    out = np.zeros_like(x)
    if abs(dy) >= h or abs(dx) >= w:
        return out
    src = x[max(-dy, 0) : h - max(dy, 0), max(-dx, 0) : w - max(dx, 0)]
    out[max(dy, 0) : h - max(-dy, 0), max(dx, 0) : w - max(-dx, 0)] = src
    return out


def compute(x: np.ndarray, kind: str = "max", kernel_size: int = 2, stride: int = 2) -> np.ndarray:
    """Pool a 2-D input ``x`` (H, W) with ``ops.max_pool2d`` or ``ops.avg_pool2d``."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"x: expected a 2-D array (H, W), got shape {x.shape}")
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {KINDS}, got {kind!r}")
    pool = ops.max_pool2d if kind == "max" else ops.avg_pool2d
    return pool(x[None, None], kernel_size, stride=stride)[0, 0]


class PoolingExplorer(Explorer):
    """Controls: ``kind`` ("max" / "avg"), ``kernel_size`` (2..4), ``stride`` (1..4),
    ``shift_x`` and ``shift_y`` (-2..2 pixels, zero fill).
    State set by the callback: ``x`` (the input), ``x_shifted``, ``output`` (pooled ``x``),
    ``shifted_output`` (pooled ``x_shifted``), ``differs`` (boolean mask of the output cells
    that differ), ``changed`` (the fraction of them), ``shape_text``. The readout ``summary`` (HTML)
    names the pooling and prints the size formula and the changed cells. ``widget`` is the VBox;
    ``figure`` the Image.
    """

    def __init__(self, x: np.ndarray | None = None):
        x = default_input() if x is None else np.asarray(x, dtype=float)
        if x.ndim != 2 or min(x.shape) < 4:
            raise ValueError(f"x: expected a 2-D array (H, W) with H, W >= 4, got shape {x.shape}")
        self.x = x
        self.x_shifted = x
        self.output = self.shifted_output = np.zeros((0, 0))
        self.differs = np.zeros((0, 0), dtype=bool)
        self.changed = 0.0
        self.shape_text = ""

        style = {"description_width": "80px"}
        self.kind = widgets.ToggleButtons(
            options=list(KINDS), value="max", description="pooling", style=style
        )
        self.kernel_size = widgets.IntSlider(
            value=2, min=2, max=4, description="kernel", continuous_update=False, style=style
        )
        self.stride = widgets.IntSlider(
            value=2, min=1, max=4, description="stride", continuous_update=False, style=style
        )
        self.shift_x = widgets.IntSlider(
            value=1, min=-2, max=2, description="shift x (px)", continuous_update=False, style=style
        )
        self.shift_y = widgets.IntSlider(
            value=0, min=-2, max=2, description="shift y (px)", continuous_update=False, style=style
        )
        controls = [self.kind, self.kernel_size, self.stride, self.shift_x, self.shift_y]
        for control in controls:
            control.observe(self._on_change, names="value")
        self.summary = widgets.HTML()
        self.figure = widgets.Image(format="png")
        self._widget = widgets.VBox(
            [
                widgets.HBox([widgets.VBox(controls[:3]), widgets.VBox(controls[3:])]),
                self.summary,
                self.figure,
            ]
        )
        self.update()

    def update(self) -> None:
        """Recompute the pooled outputs and ``changed`` from the controls, and redraw."""
        k, s = self.kernel_size.value, self.stride.value
        self.x_shifted = shift(self.x, self.shift_y.value, self.shift_x.value)
        self.output = compute(self.x, self.kind.value, k, s)
        self.shifted_output = compute(self.x_shifted, self.kind.value, k, s)
        self.differs = ~np.isclose(self.output, self.shifted_output)
        differs = self.differs
        self.changed = float(differs.mean()) if differs.size else 0.0
        h, w = self.x.shape
        self.shape_text = (
            f"H_out = floor(({h} − {k})/{s}) + 1 = {self.output.shape[0]}, "
            f"W_out = floor(({w} − {k})/{s}) + 1 = {self.output.shape[1]}"
        )
        self.summary.value = (
            f"<b>{self.kind.value}</b> pooling {k}x{k}, stride {s}: "
            f"<code>{self.shape_text}</code><br>{differs.sum()} of {differs.size} output cells "
            f"changed ({100 * self.changed:.0f}%) under a shift of "
            f"({self.shift_y.value}, {self.shift_x.value}) px"
        )
        self.refresh()

    def draw(self):
        """The figure: input, shifted input, their pooled outputs; changed cells outlined."""
        fig = new_figure(11.0, 3.2)
        axes = fig.subplots(1, 4)
        vmin = min(float(self.x.min()), 0.0)
        vmax = max(float(self.x.max()), vmin + 1e-12)
        kind = f"{self.kind.value} pool {self.kernel_size.value}x{self.kernel_size.value}"
        kind += f", stride {self.stride.value}"
        panels = [
            (self.x, "input", None),
            (self.x_shifted, f"input shifted ({self.shift_y.value}, {self.shift_x.value})", None),
            (self.output, f"output ({kind})", None),
            (self.shifted_output, "output of the shifted input", self.differs),
        ]
        for ax, (a, title, mark) in zip(axes, panels, strict=True):
            ax.imshow(a, cmap="viridis", vmin=vmin, vmax=vmax)
            ax.set_title(title, fontsize=9)
            if max(a.shape) <= 16:
                ax.set_xticks(range(a.shape[1]))
                ax.set_yticks(range(a.shape[0]))
            ax.tick_params(labelsize=7)
            ax.set_xlabel("column")
            if a.size <= 100:
                for (i, j), v in np.ndenumerate(a):
                    color = "black" if v > vmin + 0.6 * (vmax - vmin) else "white"
                    ax.text(j, i, f"{v:.2g}", ha="center", va="center", fontsize=7, color=color)
            if mark is not None:
                for i, j in zip(*np.nonzero(mark), strict=True):
                    ax.add_patch(
                        Rectangle((j - 0.5, i - 0.5), 1, 1, ec="red", fc="none", linewidth=2)
                    )
        axes[0].set_ylabel("row")
        return fig


def pooling_explorer(x: np.ndarray | None = None) -> PoolingExplorer:
    """A pooling explorer on ``x`` ((H, W); default an 8x8 digit-like "7").

    Returns the ``PoolingExplorer``; as a cell's last expression it displays its widget.
    """
    return PoolingExplorer(x)
