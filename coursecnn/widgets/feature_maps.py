"""Feature-map explorer: pick an image, a layer and a channel of a CNN, see what that channel
computes, where it answers most, and which input pixels that strongest unit sees (notebook 08).

    e = feature_map_explorer(model, images, labels=labels, class_names=FASHION_CLASSES)
    e.layer.value = "conv2"; e.channel.value = 5; e.image.value = 3
    e.fmap, e.stats, e.box             # the map shown, its numbers, the peak's receptive field
"""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.patches import Rectangle
from torch import nn

from coursecnn.explain import ReceptiveField, feature_maps, leaf_names, receptive_field
from coursecnn.widgets._display import Explorer, new_figure

__all__ = ["FeatureMapExplorer", "channel_stats", "feature_map_explorer", "mosaic"]


def channel_stats(fmap: np.ndarray) -> dict[str, float | tuple[int, int]]:
    """Numbers of one channel's map ``(h, w)``: min, mean, max, the peak's ``(row, column)``
    (the first maximum in row-major order) and the fraction of positions above 0."""
    a = np.asarray(fmap, dtype=float)
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"fmap: expected a non-empty 2-D map (h, w), got shape {a.shape}")
    i, j = np.unravel_index(int(np.argmax(a)), a.shape)
    return {
        "min": float(a.min()),
        "mean": float(a.mean()),
        "max": float(a.max()),
        "peak": (int(i), int(j)),
        "active": float((a > 0).mean()),
    }


def mosaic(maps: np.ndarray, ncols: int = 8) -> np.ndarray:
    """Channels ``(C, h, w)`` tiled ``ncols`` a row, one NaN pixel between tiles: 2-D."""
    maps = np.asarray(maps, dtype=float)
    if maps.ndim != 3:
        raise ValueError(f"maps: expected channels (C, h, w), got shape {maps.shape}")
    c, h, w = maps.shape
    ncols = max(1, min(ncols, c))
    nrows = -(-c // ncols)
    out = np.full((nrows * (h + 1) - 1, ncols * (w + 1) - 1), np.nan)
    for k in range(c):
        r, q = divmod(k, ncols)
        out[r * (h + 1) : r * (h + 1) + h, q * (w + 1) : q * (w + 1) + w] = maps[k]
    return out


class FeatureMapExplorer(Explorer):
    """Controls: ``image`` (IntSlider over the images), ``layer`` (Dropdown of layer names),
    ``channel`` (IntSlider; its range follows the layer's channel count).
    State set by the callback: ``maps`` (``{layer: (N, C_l, h, w)}``, computed once),
    ``fmap`` (the chosen ``(h, w)`` map), ``stats`` (``channel_stats`` of it), ``field``
    (the layer's ``ReceptiveField``, or None where it cannot be traced), ``box`` (``(top, left,
    bottom, right)`` that the peak unit sees, or None). The readout (``summary``) prints them.
    """

    def __init__(
        self,
        model: nn.Module,
        images: torch.Tensor,
        layers: Sequence[str] | None = None,
        labels: Sequence[int] | None = None,
        class_names: Sequence[str] | None = None,
    ):
        if not isinstance(images, torch.Tensor) or images.dim() != 4 or len(images) < 1:
            got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images)
            raise ValueError(f"images: expected a tensor (N, C, H, W), got {got}")
        if labels is not None and len(labels) != len(images):
            raise ValueError(f"labels: expected {len(images)} labels, got {len(labels)}")
        self.images = images.detach().cpu()
        self.labels = None if labels is None else [int(v) for v in labels]
        self.class_names = None if class_names is None else list(class_names)
        names = leaf_names(model) if layers is None else list(layers)
        all_maps = feature_maps(model, self.images, names)
        self.maps = {n: m.cpu() for n, m in all_maps.items() if m.dim() == 4}
        if not self.maps:
            raise ValueError(f"layers: expected layers with 2-D maps (N, C, h, w), got {names}")
        modules = dict(model.named_modules())
        self.types = {n: type(modules[n]).__name__ for n in self.maps}
        self.fields: dict[str, ReceptiveField | None] = {}
        for n in self.maps:
            try:
                self.fields[n] = receptive_field(model, n, tuple(self.images.shape[1:]))
            except ValueError:
                self.fields[n] = None
        self.fmap = np.zeros((1, 1))
        self.stats: dict = {}
        self.field: ReceptiveField | None = None
        self.box: tuple[int, int, int, int] | None = None
        self._busy = False

        style = {"description_width": "70px"}
        first = next(iter(self.maps))
        self.image = widgets.IntSlider(
            value=0, min=0, max=len(self.images) - 1, description="image",
            continuous_update=False, style=style,
        )  # fmt: skip
        self.layer = widgets.Dropdown(
            options=list(self.maps), value=first, description="layer", style=style
        )
        self.channel = widgets.IntSlider(
            value=0, min=0, max=self.maps[first].shape[1] - 1, description="channel",
            continuous_update=False, style=style,
        )  # fmt: skip
        self.image.observe(self._on_change, names="value")
        self.channel.observe(self._on_change, names="value")
        self.layer.observe(self._on_layer, names="value")
        self.summary = widgets.HTML()
        self.figure = widgets.Image(format="png")
        self._widget = widgets.VBox(
            [widgets.HBox([self.image, self.layer, self.channel]), self.summary, self.figure]
        )
        self.update()

    def _on_layer(self, change) -> None:
        """A new layer: the channel slider's range becomes its channels, then one update."""
        self._busy = True
        try:
            top = self.maps[change["new"]].shape[1] - 1
            self.channel.value = min(self.channel.value, top)
            self.channel.max = top
        finally:
            self._busy = False
        self.update()

    def _label(self, n: int) -> str:
        if self.labels is None:
            return f"image {n}"
        y = self.labels[n]
        name = self.class_names[y] if self.class_names is not None else str(y)
        return f"image {n} ({name})"

    def update(self) -> None:
        """Recompute the chosen map, its numbers and the peak's receptive field, and redraw."""
        n, name, c = self.image.value, self.layer.value, self.channel.value
        maps = self.maps[name]
        self.fmap = maps[n, c].numpy()
        self.stats = channel_stats(self.fmap)
        self.field = self.fields[name]
        self.box = None if self.field is None else self.field.box(*self.stats["peak"])
        _, C, h, w = maps.shape
        s = self.stats
        where = "receptive field not traceable here"
        if self.box is not None:
            t, left, b, r = self.box
            size = self.field.size
            where = (
                f"it sees a {size[0]}×{size[1]} px window: rows {t}..{b - 1}, "
                f"columns {left}..{r - 1}"
            )
        self.summary.value = (
            f"{self._label(n)} · layer <code>{name}</code> ({self.types[name]}), output "
            f"{C}×{h}×{w} · channel {c}: min {s['min']:.3g}, mean {s['mean']:.3g}, "
            f"max {s['max']:.3g} at (row {s['peak'][0]}, column {s['peak'][1]}), "
            f"{100 * s['active']:.0f}% of positions &gt; 0<br>the strongest unit: {where}"
        )
        self.refresh()

    def draw(self):
        """The image with the peak unit's receptive field, the channel's map, all channels."""
        fig = new_figure(12.0, 3.8)
        ax_img, ax_map, ax_all = fig.subplots(1, 3, width_ratios=[1, 1, 1.6])
        n, name, c = self.image.value, self.layer.value, self.channel.value
        img = self.images[n]
        shown = img[0] if img.shape[0] == 1 else img.permute(1, 2, 0)
        ax_img.imshow(shown.numpy(), cmap="gray_r")  # dark: ink, as the notebooks show images
        if self.box is not None:
            t, left, b, r = self.box
            ax_img.add_patch(
                Rectangle((left - 0.5, t - 0.5), r - left, b - t, ec="red", fc="none", lw=2)
            )
            H, W = img.shape[1:]  # show the whole window, also where it reaches into the padding
            ax_img.set_xlim(min(left, 0) - 0.5, max(r, W) - 0.5)
            ax_img.set_ylim(max(b, H) - 0.5, min(t, 0) - 0.5)
        ax_img.set_title(f"{self._label(n)}\nred: what the peak unit sees", fontsize=9)
        ax_img.set(xlabel="column (px)", ylabel="row (px)")
        im = ax_map.imshow(self.fmap, cmap="viridis")
        i, j = self.stats["peak"]
        ax_map.plot([j], [i], marker="x", color="red", ms=8)
        ax_map.set_title(f"{name}, channel {c} (x: peak)", fontsize=9)
        ax_map.set(xlabel="column (unit)", ylabel="row (unit)")
        fig.colorbar(im, ax=ax_map, label="activation", shrink=0.85)
        maps = self.maps[name][n].numpy()
        ncols = min(8, maps.shape[0])
        tiles = mosaic(maps, ncols)
        im_all = ax_all.imshow(tiles, cmap="viridis")
        h, w = maps.shape[1:]
        r, q = divmod(c, ncols)
        ax_all.add_patch(
            Rectangle((q * (w + 1) - 1, r * (h + 1) - 1), w + 1, h + 1, ec="red", fc="none", lw=2)
        )
        ax_all.set_title(f"all {maps.shape[0]} channels of {name} (red: channel {c})", fontsize=9)
        ax_all.set_axis_off()
        fig.colorbar(im_all, ax=ax_all, label="activation", shrink=0.85)
        return fig


def feature_map_explorer(
    model: nn.Module,
    images: torch.Tensor,
    layers: Sequence[str] | None = None,
    labels: Sequence[int] | None = None,
    class_names: Sequence[str] | None = None,
) -> FeatureMapExplorer:
    """A feature-map explorer over ``images`` ``(N, C, H, W)`` (as the model takes them) for the
    ``layers`` named (default: every leaf layer with a 2-D map). Returns the
    ``FeatureMapExplorer``; as a cell's last expression it displays its widget."""
    return FeatureMapExplorer(model, images, layers, labels, class_names)
