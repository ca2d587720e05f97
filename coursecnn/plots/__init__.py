"""Figures the notebooks share: a row or grid of images, a labelled sample, a kernel's values,
several runs' learning curves side by side, images beside their per-pixel label maps, per-layer
histograms of activations and gradients for several networks; and (``diagrams``) architecture
diagrams drawn by code: the Inception module, residual and bottleneck blocks, two stacked 3x3
windows, a ResNet's stages.

Each function draws one labelled figure and returns it (``matplotlib.figure.Figure``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from coursecnn.plots.diagrams import (
    bottleneck_block as bottleneck_block,
)
from coursecnn.plots.diagrams import (
    inception_module as inception_module,
)
from coursecnn.plots.diagrams import (
    residual_block as residual_block,
)
from coursecnn.plots.diagrams import (
    resnet_stages as resnet_stages,
)
from coursecnn.plots.diagrams import (
    stacked_3x3 as stacked_3x3,
)
from coursecnn.train.history import History


def show_images(
    images: Sequence[np.ndarray] | np.ndarray,
    titles: Sequence[str] | None = None,
    ncols: int = 8,
    cmap: str = "gray",
    suptitle: str | None = None,
    size: float = 1.6,
    symmetric: bool = False,
    colorbar: bool = False,
) -> Figure:
    """Images side by side, ``ncols`` a row; each ``(H, W)`` (shown with ``cmap``) or
    ``(H, W, 3)``; grey ones share no colour scale unless they are uint8 (0..255).

    ``symmetric=True`` centres each 2-D panel's colour scale on 0 (``-max|x|`` to ``max|x|``), as
    signed weights need with a diverging ``cmap`` such as ``"RdBu_r"``. ``colorbar=True`` puts a
    colour bar beside each 2-D panel, so that panels scaled to their own range can be read."""
    images = list(images)
    if not images:
        raise ValueError("images: expected at least one image, got none")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"titles: expected {len(images)} titles, got {len(titles)}")
    ncols = max(1, min(ncols, len(images)))
    nrows = -(-len(images) // ncols)
    row = size + (0.3 if titles is not None else 0.0)  # room for each row's titles
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(
            size * ncols * (1.25 if colorbar else 1.0),
            row * nrows + (0.4 if suptitle else 0.0),
        ),
        squeeze=False,
    )
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i >= len(images):
            continue
        img = np.asarray(images[i])
        limits = {"vmin": 0, "vmax": 255} if img.dtype == np.uint8 and img.ndim == 2 else {}
        if symmetric and img.ndim == 2:
            lim = float(np.abs(img).max()) or 1.0
            limits = {"vmin": -lim, "vmax": lim}
        shown = ax.imshow(img, cmap=cmap if img.ndim == 2 else None, **limits)
        if colorbar and img.ndim == 2:
            fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def show_samples(
    images: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    per_class: int = 1,
    seed: int = 0,
    title: str | None = None,
) -> Figure:
    """A grid with ``per_class`` random images of each class (one row each), titled by class."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    picks = [
        rng.choice(np.flatnonzero(labels == c), per_class, replace=False)
        for c in range(len(class_names))
        if (labels == c).sum() >= per_class
    ]
    order = np.stack(picks, axis=1).ravel() if picks else np.array([], int)
    return show_images(
        images[order],
        titles=[class_names[labels[i]] for i in order],
        ncols=len(picks),
        suptitle=title,
    )


def label_colormap(num_classes: int) -> ListedColormap:
    """``num_classes`` distinct colours for label maps: black for class 0 (background), then
    the colours of matplotlib's ``tab10`` and ``tab20`` palettes."""
    if num_classes < 1:
        raise ValueError(f"num_classes: expected at least 1, got {num_classes}")
    palette = list(plt.get_cmap("tab10").colors) + list(plt.get_cmap("tab20").colors[1::2])
    if num_classes - 1 > len(palette):
        raise ValueError(f"num_classes: expected at most {len(palette) + 1}, got {num_classes}")
    return ListedColormap([(0.0, 0.0, 0.0), *palette[: num_classes - 1]], name="labels")


def show_segmentation(
    images: np.ndarray,
    label_maps: Mapping[str, np.ndarray],
    class_names: Sequence[str],
    suptitle: str | None = None,
    size: float = 2.2,
) -> Figure:
    """One row per image: the image (grey), then each label map of ``label_maps`` in the same
    colours (class 0 black), with a colour bar naming the classes.

    images: (N, H, W); label_maps: ``{column title: (N, H, W) integer classes}``.
    """
    images = np.asarray(images)
    if images.ndim != 3 or not len(images):
        raise ValueError(f"images: expected (N, H, W) with N >= 1, got shape {images.shape}")
    maps = {title: np.asarray(m) for title, m in label_maps.items()}
    for title, m in maps.items():
        if m.shape != images.shape:
            raise ValueError(
                f"label_maps[{title!r}]: expected shape {images.shape} like images, got {m.shape}"
            )
    k = len(class_names)
    cmap = label_colormap(k)
    n, h, w = images.shape
    cols = 1 + len(maps)
    fig, axes = plt.subplots(
        n,
        cols,
        figsize=(size * cols * w / max(h, w) + 2.2, size * n * h / max(h, w) + 0.6),
        squeeze=False,
        layout="constrained",
    )
    shown = None
    for i in range(n):
        axes[i, 0].imshow(images[i], cmap="gray")
        for j, m in enumerate(maps.values(), start=1):
            shown = axes[i, j].imshow(
                m[i], cmap=cmap, vmin=-0.5, vmax=k - 0.5, interpolation="nearest"
            )
        for j, title in enumerate(["image", *maps]):
            axes[i, j].set_xticks([])
            axes[i, j].set_yticks([])
            if i == 0:
                axes[i, j].set_title(title, fontsize=10)
    if shown is not None:
        bar = fig.colorbar(shown, ax=axes, ticks=range(k), shrink=0.9, label="class")
        bar.ax.set_yticklabels(class_names, fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def show_kernel(kernel: np.ndarray, title: str = "kernel", cmap: str = "RdBu_r") -> Figure:
    """A 2-D kernel ``(kH, kW)`` as a heat map centred on 0, each weight written in its cell."""
    k = np.asarray(kernel, dtype=float)
    if k.ndim != 2:
        raise ValueError(f"kernel: expected a 2-D array (kH, kW), got shape {k.shape}")
    lim = float(np.abs(k).max()) or 1.0
    fig, ax = plt.subplots(figsize=(0.6 * k.shape[1] + 1.6, 0.6 * k.shape[0] + 0.8))
    im = ax.imshow(k, cmap=cmap, vmin=-lim, vmax=lim)
    for (r, c), v in np.ndenumerate(k):
        shade = "white" if abs(v) > 0.6 * lim else "black"
        ax.text(c, r, f"{v:.2g}", ha="center", va="center", color=shade, fontsize=9)
    ax.set_xticks(range(k.shape[1]))
    ax.set_yticks(range(k.shape[0]))
    ax.set_xlabel("column j")
    ax.set_ylabel("row i")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, shrink=0.8, label="weight")
    fig.tight_layout()
    return fig


def plot_histories(
    runs: Mapping[str, History],
    title: str = "Learning curves",
    val: bool = True,
    ylabel: str = "cross-entropy loss",
) -> Figure:
    """Several runs' learning curves on shared axes: loss (left) and accuracy (right).

    runs: ``{label: History}``, one colour a run; training solid with circles, validation
    dashed with squares (``val=False`` or a run without validation: training only). When no run
    measured an accuracy (an autoencoder's or a segmentation's targets are not class labels),
    only the loss is drawn.
    """
    runs = dict(runs)
    if not runs:
        raise ValueError("runs: expected at least one {label: History}, got none")
    for label, h in runs.items():
        if not isinstance(h, History) or not len(h):
            raise ValueError(f"runs[{label!r}]: expected a History with epochs, got {h!r}")
    with_acc = any(not math.isnan(a) for h in runs.values() for a in h.train_acc + h.val_acc)
    if with_acc:
        fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 3.8))
    else:
        fig, ax_loss = plt.subplots(figsize=(6.5, 3.8))
        ax_acc = None
    for label, h in runs.items():
        (line,) = ax_loss.plot(h.epochs, h.train_loss, "o-", ms=3, label=f"{label}, training")
        colour = line.get_color()
        if ax_acc is not None:
            ax_acc.plot(h.epochs, [100 * a for a in h.train_acc], "o-", ms=3, color=colour,
                        label=f"{label}, training")  # fmt: skip
        if val and h.has_val:
            ax_loss.plot(h.epochs, h.val_loss, "s--", ms=3, color=colour,
                         label=f"{label}, validation")  # fmt: skip
            if ax_acc is not None:
                ax_acc.plot(h.epochs, [100 * a for a in h.val_acc], "s--", ms=3, color=colour,
                            label=f"{label}, validation")  # fmt: skip
    ax_loss.set(xlabel="epoch", ylabel=ylabel, title=f"{title}: loss")
    axes = [ax_loss] if ax_acc is None else [ax_loss, ax_acc]
    if ax_acc is not None:
        ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title=f"{title}: accuracy")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    fig.tight_layout()
    return fig


def plot_layer_histograms(
    runs: Mapping[str, tuple[Mapping[str, object], Mapping[str, object]]],
    bins: int = 40,
    title: str = "Per-layer histograms",
) -> Figure:
    """For each run one column: above, a histogram of every layer's activation outputs; below, of
    every layer's weight gradients on a log scale, ``log10 |dL/dW|`` (exact zeros left out).

    runs: ``{label: (outputs, gradients)}``, each a ``{layer label: values}`` in input-to-output
    order, as ``coursecnn.gradient_norms.layer_values`` returns them (arrays or CPU tensors).
    Layers are coloured from dark (input side) to light (output side); each curve is the share
    of its layer's values per bin, so that layers of different sizes compare. The activation
    row has a log y axis (a ReLU layer's zeros would flatten the rest); the gradient row shares
    its bins and x axis, so that runs compare.
    """
    runs = dict(runs)
    if not runs:
        raise ValueError("runs: expected at least one {label: (outputs, gradients)}, got none")
    for label, pair in runs.items():
        if not (isinstance(pair, tuple) and len(pair) == 2 and len(pair[0]) and len(pair[1])):
            raise ValueError(
                f"runs[{label!r}]: expected a pair (outputs, gradients) of non-empty mappings"
            )
    fig, axes = plt.subplots(2, len(runs), figsize=(2.9 * len(runs) + 0.6, 6.2), squeeze=False)
    outputs = {
        label: {k: np.asarray(v).ravel() for k, v in outs.items()}
        for label, (outs, _) in runs.items()
    }
    logs = {
        label: {k: _log10_abs(v) for k, v in grads.items()} for label, (_, grads) in runs.items()
    }
    finite = [v for g in logs.values() for v in g.values() if v.size]
    low = min(float(v.min()) for v in finite) if finite else -1.0
    high = max(float(v.max()) for v in finite) if finite else 0.0
    edges_g = np.linspace(np.floor(low), np.ceil(high), bins + 1)
    for col, label in enumerate(runs):
        low = min(float(v.min()) for v in outputs[label].values() if v.size)
        high = max(float(v.max()) for v in outputs[label].values() if v.size)
        edges_a = np.linspace(low, high if high > low else low + 1.0, bins + 1)
        for ax, layers, edges in (
            (axes[0, col], outputs[label], edges_a),
            (axes[1, col], logs[label], edges_g),
        ):
            colours = plt.cm.viridis(np.linspace(0.0, 0.9, len(layers)))
            for (name, v), colour in zip(layers.items(), colours, strict=True):
                if v.size:
                    counts, _ = np.histogram(v, bins=edges)
                    ax.stairs(counts / v.size, edges, color=colour, lw=1.3, label=name)
            ax.grid(alpha=0.3)
        axes[0, col].set_yscale("log")
        axes[0, col].set_title(f"{label}: activations", fontsize=10)
        axes[0, col].set_xlabel("activation output f(z)")
        axes[1, col].set_title(f"{label}: weight gradients", fontsize=10)
        axes[1, col].set(xlabel="log10 |∂L/∂W|", xlim=(edges_g[0], edges_g[-1]))
    axes[0, 0].set_ylabel("share of the layer's outputs")
    axes[1, 0].set_ylabel("share of the layer's weights")
    for row, heading in enumerate(("activation after", "layer")):
        axes[row, 0].legend(fontsize=7, title=heading, title_fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def _log10_abs(values) -> np.ndarray:
    """log10 of the absolute values, exact zeros left out (a dead unit's weights get none)."""
    v = np.abs(np.asarray(values, dtype=np.float64).ravel())
    return np.log10(v[v > 0])
