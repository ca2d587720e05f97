"""Kernel lab: edit a 3x3 or 5x5 kernel, pick one of seed 003's presets, and filter a photo.

``compute`` does the work (through ``coursecnn.ops``); ``KernelLab`` wires controls to it:

    lab = kernel_lab(photo("camera", gray=True))   # last expression of a cell: it displays
    lab.preset.value = "Sharpen"                    # the callback recomputes
    lab.output, lab.shape_text                      # the array shown and the shape formula
    lab.scale                                       # how the output is shown (display_scale)

A kernel whose weights sum to 1 keeps the brightness (identity, sharpen, blurs, unsharp
masking): its output is shown on the input's own scale, so that a blur looks as bright as the
photo and sharpening's overshoots show as saturated pixels, not stretched to fill the grey range.
One summing to 0 answers only to change (edge detectors): a scale symmetric about 0.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np

from coursecnn import ops
from coursecnn.widgets._display import (
    Explorer,
    default_photo,
    new_figure,
    prepare_image,
)
from coursecnn.widgets.kernels import KERNELS

__all__ = [
    "MODES",
    "PADDINGS",
    "KernelLab",
    "compute",
    "describe",
    "display_scale",
    "kernel_lab",
    "shape_formula",
]

MODES = ("convolution", "correlation")
PADDINGS = ("zero", "replicate", "reflect", "none")  # "none": no padding, a "valid" output
CUSTOM = "Custom"


def shape_formula(size: int, kernel_size: int, stride: int, padding: int, dilation: int) -> str:
    """The output-size formula with the numbers put in, e.g.
    ``floor((512 + 2·1 − 1·(3−1) − 1)/1) + 1 = 512``."""
    out = ops.conv_output_size(size, kernel_size, stride=stride, padding=padding, dilation=dilation)
    return f"floor(({size} + 2·{padding} − {dilation}·({kernel_size}−1) − 1)/{stride}) + 1 = {out}"


def compute(
    image: np.ndarray,
    kernel: np.ndarray,
    mode: str = "convolution",
    padding: str = "zero",
    stride: int = 1,
    dilation: int = 1,
) -> tuple[np.ndarray, str]:
    """Filter a grayscale image with one kernel; return ``(output, shape_text)``.

    image: (H, W); kernel: (KH, KW). mode "convolution" flips the kernel (true convolution,
    like ``scipy.signal.convolve2d``), "correlation" does not (what CNN layers compute).
    padding "zero" / "replicate" / "reflect" pads P = dilation·(K−1)//2 pixels a side with
    ``ops.pad2d`` (a "same" output at stride 1); "none" pads nothing ("valid").
    Returns output (H_out, W_out) from ``ops.conv2d`` and the two output-size formulas,
    ``"H_out = floor((H + 2·P − D·(K−1) − 1)/S) + 1 = H_out\\nW_out = ..."``.
    """
    image = np.asarray(image, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    if image.ndim != 2:
        raise ValueError(f"image: expected a 2-D array (H, W), got shape {image.shape}")
    if kernel.ndim != 2:
        raise ValueError(f"kernel: expected a 2-D array (KH, KW), got shape {kernel.shape}")
    if mode not in MODES:
        raise ValueError(f"mode: expected one of {MODES}, got {mode!r}")
    if padding not in PADDINGS:
        raise ValueError(f"padding: expected one of {PADDINGS}, got {padding!r}")
    for name, value in (("stride", stride), ("dilation", dilation)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    kh, kw = kernel.shape
    w = kernel[::-1, ::-1] if mode == "convolution" else kernel
    if padding == "none":
        ph = pw = 0
    else:
        ph, pw = dilation * (kh - 1) // 2, dilation * (kw - 1) // 2
    x = image[None, None]
    if ph or pw:
        x = ops.pad2d(x, (ph, pw), mode=padding)
    out = ops.conv2d(x, np.ascontiguousarray(w)[None, None], stride=stride, dilation=dilation)
    h, wid = image.shape
    text = (
        f"H_out = {shape_formula(h, kh, stride, ph, dilation)}\n"
        f"W_out = {shape_formula(wid, kw, stride, pw, dilation)}"
    )
    return out[0, 0], text


#: How close a kernel's sum must be to 0 or 1 to count as "sums to 0" or "sums to 1", in the
#: readout and in the choice of display scale alike (typed weights such as 0.1111 for 1/9 leave
#: sums about 1e-4 away).
SUM_TOL = 5e-4


def sum_kind(total: float) -> str:
    """``"one"`` (brightness kept), ``"zero"`` (only change answers) or ``"other"``."""
    if abs(total - 1.0) < SUM_TOL:
        return "one"
    if abs(total) < SUM_TOL:
        return "zero"
    return "other"


def describe(
    kernel: np.ndarray, preset: str, mode: str, padding: str, stride: int, dilation: int,
    output: np.ndarray,
) -> str:  # fmt: skip
    """One line on what is computed: the operation, the kernel and its sum, padding, stride,
    dilation, and the range of the output, e.g. ``convolution (kernel flipped) with the Sharpen
    kernel (3x3, sum 1: brightness kept), zero padding P = 1, stride 1, dilation 1; output in
    [-0.31, 1.4]``.
    """
    kh, kw = kernel.shape
    total = float(kernel.sum())
    kind = sum_kind(total)
    if kind == "zero":
        effect = "sum 0: flat regions go to 0"
    elif kind == "one":
        effect = "sum 1: brightness kept"
    else:
        effect = f"sum {total:.4g}: brightness scaled by {total:.4g}"
    name = "a custom kernel" if preset == CUSTOM else f"the {preset} kernel"
    op = "convolution (kernel flipped)" if mode == "convolution" else "correlation (no flip)"
    pad = "no padding" if padding == "none" else f"{padding} padding P = {dilation * (kh - 1) // 2}"
    out = f"output in [{output.min():.3g}, {output.max():.3g}]" if output.size else "no output"
    return (
        f"{op} with {name} ({kh}x{kw}, {effect}), {pad}, stride {stride}, dilation {dilation}; "
        f"{out}"
    )


def display_scale(
    kernel: np.ndarray, image: np.ndarray, output: np.ndarray
) -> tuple[float, float, str, str]:
    """How to show ``output``: ``(vmin, vmax, cmap, text)``.

    Weights summing to 1 within ``SUM_TOL`` (brightness kept): the input's own range ``image.min()..image.max()``,
    grey; ``text`` counts the output pixels beyond it (shown saturated). Summing to 0 (only
    change answers): ``-m..m`` with ``m = max|output|``, a diverging map. Otherwise the output's
    own range, grey. ``text`` is the readout's line for the scale.
    """
    total = float(np.sum(kernel))
    if sum_kind(total) == "one":
        lo, hi = float(image.min()), float(image.max())
        beyond = float(np.mean((output < lo) | (output > hi))) if output.size else 0.0
        text = (
            f"kernel sum {total:.3g}: brightness kept, output on the input's scale "
            f"[{lo:.3g}, {hi:.3g}]; {beyond:.1%} of its pixels beyond it (shown saturated)"
        )
        return lo, hi, "gray", text
    if sum_kind(total) == "zero":
        m = float(np.abs(output).max()) if output.size else 0.0
        m = m or 1.0
        text = f"kernel sum {total:.3g}: answers only to change, scale symmetric about 0 (±{m:.3g})"
        return -m, m, "RdBu_r", text
    lo = float(output.min()) if output.size else 0.0
    hi = float(output.max()) if output.size else 1.0
    hi = hi if hi > lo else lo + 1.0
    text = f"kernel sum {total:.4g}: output on its own range [{lo:.3g}, {hi:.3g}]"
    return lo, hi, "gray", text


def _match_preset(kernel: np.ndarray) -> str:
    for name, k in KERNELS.items():
        if k.shape == kernel.shape and np.allclose(k, kernel, rtol=0, atol=5e-4):
            return name
    return CUSTOM


def _resize_kernel(kernel: np.ndarray, size: int) -> np.ndarray:
    """Crop or zero-pad a square kernel around its centre to ``size`` x ``size``."""
    k = kernel.shape[0]
    if k == size:
        return kernel.copy()
    if k > size:
        m = (k - size) // 2
        return kernel[m : m + size, m : m + size].copy()
    m = (size - k) // 2
    return np.pad(kernel, m)


class KernelLab(Explorer):
    """Controls: ``preset`` (Dropdown: the names of ``KERNELS`` and "Custom"), ``size``
    (ToggleButtons 3 / 5), ``cells`` (list of ``size*size`` FloatText, row by row, in
    ``grid``), ``mode`` ("convolution" / "correlation"), ``padding`` ("zero" / "replicate" /
    "reflect" / "none"), ``stride`` (1..4), ``dilation`` (1..3).
    State set by the callback: ``image`` (the (H, W) input, grayscale, <= 256 px a side),
    ``kernel`` (the kernel as entered), ``output`` (the filtered image shown), ``shape_text``,
    ``description`` (``describe``), ``scale`` (``display_scale``: vmin, vmax, colour map and the
    readout's line about them). The readout ``shape_label`` (HTML) shows the description, the
    output-size formulas and the scale; every control changes it and the picture.
    ``widget`` is the VBox shown; ``figure`` the Image widget holding the plot.
    """

    def __init__(self, image: np.ndarray | None = None, preset: str = "Edge detection 3"):
        self.image = prepare_image(default_photo("camera") if image is None else image)
        if preset not in KERNELS:
            raise ValueError(f"preset: expected one of {list(KERNELS)}, got {preset!r}")
        self._busy = False
        self.kernel = KERNELS[preset].copy()
        self.output = np.zeros((0, 0))
        self.shape_text = self.description = ""
        self.scale: tuple[float, float, str, str] = (0.0, 1.0, "gray", "")

        style = {"description_width": "70px"}
        self.preset = widgets.Dropdown(
            options=[*KERNELS, CUSTOM], value=preset, description="preset", style=style
        )
        self.size = widgets.ToggleButtons(
            options=[3, 5], value=self.kernel.shape[0], description="size", style=style
        )
        self.size.style.button_width = "40px"
        self.mode = widgets.ToggleButtons(
            options=list(MODES), value="convolution", description="mode", style=style
        )
        self.mode.style.button_width = "100px"
        self.padding = widgets.Dropdown(
            options=list(PADDINGS), value="zero", description="padding", style=style
        )
        self.stride = widgets.IntSlider(
            value=1, min=1, max=4, description="stride", continuous_update=False, style=style
        )
        self.dilation = widgets.IntSlider(
            value=1, min=1, max=3, description="dilation", continuous_update=False, style=style
        )
        self.grid = widgets.GridBox(layout=widgets.Layout(grid_gap="2px"))
        self.cells: list[widgets.FloatText] = []
        self._build_cells(self.kernel)
        self.shape_label = widgets.HTML()
        self.figure = widgets.Image(format="png")

        self.preset.observe(self._on_preset, names="value")
        self.size.observe(self._on_size, names="value")
        for control in (self.mode, self.padding, self.stride, self.dilation):
            control.observe(self._on_change, names="value")

        controls = widgets.VBox(
            [self.preset, self.size, self.mode, self.padding, self.stride, self.dilation]
        )
        kernel_box = widgets.VBox([widgets.HTML("<b>kernel</b> (edit the cells)"), self.grid])
        self._widget = widgets.VBox(
            [widgets.HBox([controls, kernel_box]), self.shape_label, self.figure]
        )
        self.update()

    # --- controls -> kernel ------------------------------------------------------------------
    def _build_cells(self, kernel: np.ndarray) -> None:
        for cell in self.cells:
            cell.unobserve(self._on_cell, names="value")
            cell.close()
        k = kernel.shape[0]
        self.cells = [
            widgets.FloatText(value=float(v), step=0.1, layout=widgets.Layout(width="70px"))
            for v in kernel.ravel()
        ]
        for cell in self.cells:
            cell.observe(self._on_cell, names="value")
        self.grid.children = self.cells
        self.grid.layout.grid_template_columns = f"repeat({k}, 72px)"

    def _set_cells(self, kernel: np.ndarray) -> None:
        if len(self.cells) != kernel.size:
            self._build_cells(kernel)
        else:
            for cell, v in zip(self.cells, kernel.ravel(), strict=True):
                cell.value = float(v)

    def _read_cells(self) -> np.ndarray:
        k = self.size.value
        return np.array([c.value for c in self.cells], dtype=float).reshape(k, k)

    def _on_preset(self, change) -> None:
        if self._busy or change["new"] == CUSTOM:
            return
        self._busy = True
        try:
            kernel = KERNELS[change["new"]]
            self.size.value = kernel.shape[0]
            self._set_cells(kernel)
        finally:
            self._busy = False
        self.update()

    def _on_size(self, change) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            kernel = _resize_kernel(self.kernel, change["new"])
            self._build_cells(kernel)
            self.preset.value = _match_preset(kernel)
        finally:
            self._busy = False
        self.update()

    def _on_cell(self, change) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            self.preset.value = _match_preset(self._read_cells())
        finally:
            self._busy = False
        self.update()

    # --- compute and draw --------------------------------------------------------------------
    def update(self) -> None:
        """Recompute ``kernel``, ``output`` and ``shape_text`` from the controls, and redraw."""
        self.kernel = self._read_cells()
        self.output, self.shape_text = compute(
            self.image,
            self.kernel,
            mode=self.mode.value,
            padding=self.padding.value,
            stride=self.stride.value,
            dilation=self.dilation.value,
        )
        self.description = describe(
            self.kernel,
            self.preset.value,
            self.mode.value,
            self.padding.value,
            self.stride.value,
            self.dilation.value,
            self.output,
        )
        self.scale = display_scale(self.kernel, self.image, self.output)
        self.shape_label.value = "<br>".join(
            [html.escape(self.description, quote=False)]
            + [f"<code>{line}</code>" for line in self.shape_text.splitlines()]
            + [html.escape(self.scale[3], quote=False)]
        )
        self.refresh()

    def draw(self):
        """The figure: input, kernel (with its numbers), output."""
        fig = new_figure(10.5, 3.6)
        ax_in, ax_k, ax_out = fig.subplots(1, 3, width_ratios=[1, 0.7, 1])
        h, w = self.image.shape
        im_in = ax_in.imshow(self.image, cmap="gray")  # its own range: the scale of kept brightness
        fig.colorbar(im_in, ax=ax_in, shrink=0.8, label="input value")
        ax_in.set_title(f"input {h}x{w}")
        k = self.kernel
        lim = max(float(np.abs(k).max()), 1e-12)
        ax_k.imshow(k, cmap="RdBu_r", vmin=-lim, vmax=lim)
        fontsize = 10 if k.shape[0] <= 3 else 8
        for (i, j), v in np.ndenumerate(k):
            color = "white" if abs(v) > 0.6 * lim else "black"
            ax_k.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=fontsize, color=color)
        flip = " (flipped when applied)" if self.mode.value == "convolution" else ""
        ax_k.set_title(f"kernel {k.shape[0]}x{k.shape[1]}{flip}", fontsize=10)
        ho, wo = self.output.shape
        if self.output.size:
            vmin, vmax, cmap, _ = self.scale
            shown = ax_out.imshow(self.output, cmap=cmap, vmin=vmin, vmax=vmax)
            fig.colorbar(shown, ax=ax_out, shrink=0.8, label="output value")
        ax_out.set_title(f"output {ho}x{wo} ({self.mode.value})")
        for ax in (ax_in, ax_k, ax_out):
            ax.set_xticks([])
            ax.set_yticks([])
        ax_in.set_xlabel("x (column)")
        ax_in.set_ylabel("y (row)")
        ax_out.set_xlabel("x (column)")
        return fig


def kernel_lab(image: np.ndarray | None = None) -> KernelLab:
    """A kernel lab on ``image`` ((H, W) or (H, W, 3); default the camera photo).

    Returns the ``KernelLab``; as a cell's last expression it displays its widget.
    """
    return KernelLab(image)
