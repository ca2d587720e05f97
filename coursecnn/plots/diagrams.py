"""Architecture diagrams drawn by code: the blocks of notebooks 06 and 07, box by box.

- :func:`inception_module`: GoogLeNet's module, naive or with 1x1 reductions (the paper's
  figure 2a and 2b), four branches from the previous layer to one concatenation;
- :func:`residual_block`: ResNet's basic block, with the identity shortcut or, where the shape
  changes, a 1x1 projection;
- :func:`bottleneck_block`: 1x1 reduce, 3x3, 1x1 expand, with the identity shortcut;
- :func:`stacked_3x3`: two stacked 3x3 windows: one unit of the second layer sees 3x3 units of
  the first, which together see 5x5 input pixels;
- :func:`resnet_stages`: a ResNet of ``coursecnn.models.resnet.DEPTHS`` stage by stage, with
  the map sizes of a 224x224 image.

Each function draws one figure with a title and returns it (``matplotlib.figure.Figure``). The
boxes are matplotlib patches; data flows bottom to top (left to right for the stages), as in the
papers' figures.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import ConnectionPatch, FancyArrowPatch, FancyBboxPatch, Rectangle

# one colour a kind of layer, as the papers' figures colour them
COLOURS = {
    "conv1": "#fde9a9",  # 1x1 convolutions
    "conv": "#a9d4f5",  # larger convolutions
    "pool": "#f7b7a3",
    "bn": "#d5e8c4",
    "io": "#e6e6e6",
    "add": "#ffffff",
}


def _box(ax: Axes, x: float, y: float, text: str, kind: str, w: float = 2.2, h: float = 0.55):
    """A rounded box centred at (x, y) with ``text`` in it; returns (bottom, top) centres."""
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle="round,pad=0.02,rounding_size=0.08",
            facecolor=COLOURS[kind],
            edgecolor="black",
            lw=1,
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=8.5)
    return (x, y - h / 2), (x, y + h / 2)


def _arrow(ax: Axes, start, end, text: str | None = None, rad: float = 0.0) -> None:
    ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle="-|>",
            mutation_scale=10,
            lw=1,
            color="black",
            connectionstyle=f"arc3,rad={rad}",
            shrinkA=0,
            shrinkB=0,
        )
    )
    if text:
        xm, ym = (start[0] + end[0]) / 2, (start[1] + end[1]) / 2
        ax.text(xm + 0.1, ym, text, fontsize=7.5, color="dimgrey", va="center")


def _canvas(width: float, height: float, xlim, ylim) -> tuple[Figure, Axes]:
    fig, ax = plt.subplots(figsize=(width, height))
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


def _legend(ax: Axes, kinds: dict[str, str]) -> None:
    handles = [Rectangle((0, 0), 1, 1, facecolor=COLOURS[k], edgecolor="black") for k in kinds]
    ax.legend(handles, list(kinds.values()), loc="lower right", fontsize=7, frameon=False)


def inception_module(naive: bool = False) -> Figure:
    """GoogLeNet's Inception module: four parallel branches concatenated along the channels.

    naive: the paper's figure 2a (1x1, 3x3 and 5x5 convolutions and a 3x3 max-pool, all on the
    input); otherwise figure 2b, with 1x1 reductions before the 3x3 and 5x5 and a 1x1
    projection after the pooling.
    """
    fig, ax = _canvas(8.4, 4.2, (-0.2, 11.8), (-0.2, 5.0))
    xs = [1.4, 4.2, 7.0, 9.8]
    _, base_top = _box(ax, 5.6, 0.3, "previous layer", "io", w=3.0)
    concat_bottom, _ = _box(ax, 5.6, 4.4, "filter concatenation", "io", w=3.6)
    if naive:
        branches = [
            [("1x1 conv", "conv1")],
            [("3x3 conv", "conv")],
            [("5x5 conv", "conv")],
            [("3x3 max pool", "pool")],
        ]
    else:
        branches = [
            [("1x1 conv", "conv1")],
            [("1x1 conv (3x3 reduce)", "conv1"), ("3x3 conv", "conv")],
            [("1x1 conv (5x5 reduce)", "conv1"), ("5x5 conv", "conv")],
            [("3x3 max pool", "pool"), ("1x1 conv (pool proj)", "conv1")],
        ]
    for x, layers in zip(xs, branches, strict=True):
        ys = [2.35] if len(layers) == 1 else [1.65, 3.05]
        previous = base_top
        for y, (text, kind) in zip(ys, layers, strict=True):
            bottom, top = _box(ax, x, y, text, kind, w=2.5)
            _arrow(ax, previous, bottom)
            previous = top
        _arrow(ax, previous, concat_bottom)
    kind = "naive (figure 2a)" if naive else "with 1x1 dimension reductions (figure 2b)"
    ax.set_title(f"Inception module, {kind}", fontsize=11)
    _legend(ax, {"conv1": "1x1 conv", "conv": "3x3 / 5x5 conv", "pool": "max pool"})
    fig.tight_layout()
    return fig


def _residual(
    layers: list[tuple[str, str]], shortcut: str | None, title: str, shortcut_kind: str = "conv1"
) -> Figure:
    """A column of ``layers`` from x to the addition, a shortcut beside it, ReLU after."""
    step, mid_x, side_x = 0.8, 2.8, 7.0
    top_y = 0.4 + step * (len(layers) + 2)
    fig, ax = _canvas(6.4, 0.62 * (top_y + 1.2), (-0.3, 8.8), (-0.2, top_y + 0.8))
    _, previous = _box(ax, mid_x, 0.3, "x", "io", w=1.2)
    fork = (mid_x, 0.3 + 0.275 + 0.15)
    for i, (text, kind) in enumerate(layers, start=1):
        bottom, top = _box(ax, mid_x, 0.4 + step * i, text, kind, w=3.9)
        _arrow(ax, previous, bottom)
        previous = top
    add_y = 0.4 + step * (len(layers) + 1)
    ax.add_patch(plt.Circle((mid_x, add_y), 0.22, facecolor="white", edgecolor="black"))
    ax.text(mid_x, add_y, "+", ha="center", va="center", fontsize=12)
    _arrow(ax, previous, (mid_x, add_y - 0.22))
    relu_bottom, _ = _box(ax, mid_x, top_y, "ReLU", "bn", w=1.6)
    _arrow(ax, (mid_x, add_y + 0.22), relu_bottom)
    ax.text(mid_x, top_y + 0.5, "y = ReLU(F(x) + shortcut(x))", ha="center", fontsize=9)
    # the shortcut: out of x to the right, up, into the addition
    ax.plot([fork[0], side_x], [fork[1], fork[1]], color="black", lw=1)
    if shortcut is None:
        ax.plot([side_x, side_x], [fork[1], add_y], color="black", lw=1)
        ax.text(side_x + 0.15, (fork[1] + add_y) / 2, "identity shortcut", fontsize=8.5,
                rotation=90, va="center")  # fmt: skip
    else:
        mid = (fork[1] + add_y) / 2
        bottom, top = _box(ax, side_x, mid, shortcut, shortcut_kind, w=2.9, h=0.8)
        ax.plot([side_x, side_x], [fork[1], bottom[1]], color="black", lw=1)
        ax.plot([side_x, side_x], [top[1], add_y], color="black", lw=1)
    _arrow(ax, (side_x, add_y), (mid_x + 0.22, add_y))
    ax.text(0.0, (0.4 + add_y) / 2, "F(x)", fontsize=11, style="italic", va="center")
    ax.set_title(title, fontsize=11)
    fig.tight_layout()
    return fig


def residual_block(projection: bool = False) -> Figure:
    """ResNet's basic block (ResNet-18/34): 3x3 conv, BN, ReLU, 3x3 conv, BN, add, ReLU.

    projection: the first block of a stage, which halves the map and doubles the channels
    (64 -> 128 here): stride 2 on the first conv and a 1x1 conv with stride 2 and BN on the
    shortcut (option B). Otherwise 64 -> 64 and the identity shortcut.
    """
    c_in, c, s = (64, 128, 2) if projection else (64, 64, 1)
    stride = f", stride {s}" if s > 1 else ""
    layers = [
        (f"3x3 conv, {c_in} -> {c}{stride}", "conv"),
        ("BN, ReLU", "bn"),
        (f"3x3 conv, {c} -> {c}", "conv"),
        ("BN", "bn"),
    ]
    shortcut = f"1x1 conv, {c_in} -> {c},\nstride 2, BN" if projection else None
    kind = "projection shortcut (the shape changes)" if projection else "identity shortcut"
    return _residual(layers, shortcut, f"Basic residual block, {kind}")


def bottleneck_block(channels: int = 256, reduced: int = 64) -> Figure:
    """ResNet's bottleneck block (ResNet-50/101/152): 1x1 conv to ``reduced`` maps, 3x3 conv,
    1x1 conv back to ``channels`` (4x ``reduced``), BN after each, add, ReLU."""
    layers = [
        (f"1x1 conv, {channels} -> {reduced}", "conv1"),
        ("BN, ReLU", "bn"),
        (f"3x3 conv, {reduced} -> {reduced}", "conv"),
        ("BN, ReLU", "bn"),
        (f"1x1 conv, {reduced} -> {channels}", "conv1"),
        ("BN", "bn"),
    ]
    return _residual(layers, None, f"Bottleneck block, {channels} -> {reduced} -> {channels}")


def stacked_3x3() -> Figure:
    """Two stacked 3x3 convolutions (stride 1) see a 5x5 window of their input.

    Three grids side by side: the input (5x5 pixels highlighted), the first layer's map (the
    3x3 units that one unit of the second layer reads), the second layer's unit.
    """
    fig, axes = plt.subplots(1, 3, figsize=(9.5, 3.4), gridspec_kw={"width_ratios": [7, 7, 7]})
    n = 7
    panels = [
        ("input", 5, "the 5x5 pixels it sees"),
        ("after the first 3x3 conv", 3, "the 3x3 units it reads"),
        ("after the second 3x3 conv", 1, "one unit"),
    ]
    for ax, (name, side, what) in zip(axes, panels, strict=True):
        lo = (n - side) // 2
        for r in range(n):
            for c in range(n):
                inside = lo <= r < lo + side and lo <= c < lo + side
                ax.add_patch(
                    Rectangle(
                        (c, r), 1, 1, facecolor="tab:orange" if inside else "white",
                        edgecolor="grey", lw=0.6,
                    )
                )  # fmt: skip
        ax.set_xlim(0, n)
        ax.set_ylim(n, 0)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{name}\n{what}", fontsize=9)
        ax.set_xlabel(f"{side} x {side} highlighted", fontsize=8)
    fig.suptitle(
        "Two stacked 3x3 convolutions: a receptive field of 5x5 (18 instead of 25 weights per "
        "map pair)",
        fontsize=10,
    )
    fig.tight_layout()
    # lines from each highlighted window to the window (or unit) that reads it, panel to panel
    for left, right, side in ((axes[0], axes[1], 5), (axes[1], axes[2], 3)):
        lo, lo_next, side_next = (n - side) // 2, (n - side + 2) // 2, side - 2
        for y, y_next in ((lo, lo_next), (lo + side, lo_next + side_next)):
            fig.add_artist(
                ConnectionPatch(
                    xyA=(lo + side, y), coordsA=left.transData,
                    xyB=(lo_next, y_next), coordsB=right.transData,
                    color="tab:orange", lw=0.8, ls="--",
                )
            )  # fmt: skip
    return fig


def resnet_stages(depth: int = 18, image: int = 224) -> Figure:
    """A ResNet of ``DEPTHS`` (18, 34, 50, 101, 152) stage by stage, left to right: the stem,
    four stages of blocks with their channels and map sizes for an ``image`` x ``image`` input,
    global average pooling and the classifier."""
    from coursecnn.models.resnet import DEPTHS, Bottleneck

    if depth not in DEPTHS:
        raise ValueError(f"depth: expected one of {sorted(DEPTHS)}, got {depth!r}")
    block, counts = DEPTHS[depth]
    expansion = 4 if block is Bottleneck else 1
    name = "bottleneck" if block is Bottleneck else "basic"
    side = image // 4  # the stem's stride-2 conv and stride-2 max-pool
    boxes = [
        (f"7x7 conv, 64\nstride 2\n{image // 2}x{image // 2}", "conv"),
        (f"3x3 max pool\nstride 2\n{side}x{side}", "pool"),
    ]
    for i, (n, c) in enumerate(zip(counts, (64, 128, 256, 512), strict=True)):
        if i:
            side //= 2
        boxes.append((f"stage {i + 1}\n{n} x {name}\n{c * expansion} maps\n{side}x{side}", "conv"))
    boxes += [("global avg\npool\n1x1", "pool"), ("fc\n1000", "conv1")]
    fig, ax = _canvas(11, 2.8, (-0.3, 1.55 * len(boxes)), (-1.0, 1.2))
    previous = None
    for i, (text, kind) in enumerate(boxes):
        x = 0.7 + 1.55 * i
        _box(ax, x, 0.1, text, kind, w=1.3, h=1.5)
        if previous is not None:
            _arrow(ax, (previous + 0.65, 0.1), (x - 0.65, 0.1))
        previous = x
    layers = 2 + sum(counts) * (3 if block is Bottleneck else 2)
    ax.text(
        0.7 + 1.55 * (len(boxes) - 1) / 2,
        -0.95,
        f"weight layers: 1 (stem) + {sum(counts)} blocks x {3 if expansion == 4 else 2} + 1 (fc)"
        f" = {layers}; the first block of stages 2 to 4 halves the map (stride 2)",
        ha="center",
        fontsize=8,
    )
    ax.set_title(f"ResNet-{depth}: stages, channels and map sizes for a {image}x{image} image")
    fig.tight_layout()
    return fig
