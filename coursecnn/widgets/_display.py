"""What every explorer shares: a figure drawn to PNG, image preparation, self-display.

Figures are ``matplotlib.figure.Figure`` objects drawn with Agg into an ``ipywidgets.Image``:
no pyplot state, the same in a notebook, in a test and on a headless machine.
"""

from __future__ import annotations

import io
import math

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

MAX_SIDE = 256  # photos are downsampled to at most this many pixels a side, for responsiveness


def new_figure(width: float, height: float) -> Figure:
    """A pyplot-free figure of ``width`` x ``height`` inches."""
    return Figure(figsize=(width, height), dpi=80, layout="constrained")


def figure_png(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def prepare_image(image: np.ndarray, name: str = "image", max_side: int = MAX_SIDE) -> np.ndarray:
    """A 2-D float image (H, W) of at most ``max_side`` pixels a side.

    image: (H, W) grayscale, or (H, W, 3) / (H, W, 4) colour (converted to luminance).
    Downsampling averages f x f blocks, f = ceil(max(H, W) / max_side).
    """
    img = np.asarray(image, dtype=float)
    if img.ndim == 3 and img.shape[-1] in (3, 4):
        from skimage.color import rgb2gray

        img = rgb2gray(img[..., :3])
    if img.ndim != 2:
        raise ValueError(
            f"{name}: expected a 2-D array (H, W) or a colour image (H, W, 3), got shape "
            f"{np.shape(image)}"
        )
    if min(img.shape) < 1:
        raise ValueError(f"{name}: expected a non-empty image, got shape {img.shape}")
    f = math.ceil(max(img.shape) / max_side)
    if f > 1:
        h, w = (img.shape[0] // f) * f, (img.shape[1] // f) * f
        img = img[:h, :w].reshape(h // f, f, w // f, f).mean(axis=(1, 3))
    return img


def default_photo(name: str) -> np.ndarray:
    """``coursecnn.data.photo(name, gray=True)``."""
    from coursecnn.data import photo

    return photo(name, gray=True)


class Explorer:
    """Base of the explorers: ``widget`` is what the notebook shows; the object displays as it.

    Subclasses build their controls and ``figure`` (an ``ipywidgets.Image``), keep the layout in
    ``_widget``, compute their state in ``update`` and end it with ``self.refresh()``; ``draw``
    returns a matplotlib ``Figure``. The figure is drawn from the moment the widget is taken to
    be shown (``widget`` read, or the explorer displayed) on, so that building an explorer and
    setting values in a test computes the state without drawing.
    """

    _widget: widgets.Widget
    figure: widgets.Image
    _live: bool = False
    _busy: bool = False  # set while a callback changes several controls; they recompute once

    def update(self) -> None:
        raise NotImplementedError

    def _on_change(self, change) -> None:
        """What every control observes: recompute (and redraw) unless a batch change is on."""
        if not self._busy:
            self.update()

    @property
    def widget(self) -> widgets.Widget:
        """The widget to show; reading it turns drawing on."""
        if not self._live:
            self._live = True
            self.redraw()
        return self._widget

    def draw(self) -> Figure:
        raise NotImplementedError

    def redraw(self) -> None:
        """Draw the figure now, into ``figure`` (PNG bytes)."""
        self.figure.value = figure_png(self.draw())

    def refresh(self) -> None:
        """Redraw if the widget is (or was) shown."""
        if self._live:
            self.redraw()

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = repr(self)  # not the VBox's page-long repr
        return bundle

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: an ipywidgets explorer; run the cell in Jupyter to use it>"
