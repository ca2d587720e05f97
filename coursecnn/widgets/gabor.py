"""Gabor explorer: orientation, wavelength, sigma, aspect and phase of a Gabor kernel, and the
response of a texture photo to it (seed 001's Gabor filters).

    g = gabor_explorer(photo("brick", gray=True))
    g.theta.value = 90                # degrees
    g.kernel, g.response              # the arrays shown
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
from coursecnn.widgets.kernels import gabor_kernel

__all__ = ["FORMULA", "GaborExplorer", "compute", "describe", "gabor_explorer"]

MAX_SIDE = 128  # the response is a large-kernel correlation: keep the photo small


def compute(
    image: np.ndarray,
    size: int,
    theta_deg: float,
    wavelength: float,
    sigma: float,
    gamma: float,
    psi_deg: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The Gabor kernel ``(size, size)`` and the image's response ``(H, W)`` to it.

    Angles in degrees. The response is ``ops.correlate2d(image, kernel, "same")`` after
    subtracting the image's mean (so that flat regions answer about 0).
    """
    image = np.asarray(image, dtype=float)
    if image.ndim != 2:
        raise ValueError(f"image: expected a 2-D array (H, W), got shape {image.shape}")
    kernel = gabor_kernel(
        size, np.deg2rad(theta_deg), wavelength, sigma, gamma=gamma, psi=np.deg2rad(psi_deg)
    )
    response = ops.correlate2d(image - image.mean(), kernel, "same")
    return kernel, response


FORMULA = (
    "g(x, y) = exp(−(x′² + γ²·y′²) / (2σ²)) · cos(2π·x′/λ + ψ), "
    "x′ = x·cos θ + y·sin θ, y′ = −x·sin θ + y·cos θ"
)


def describe(
    size: int, theta_deg: float, wavelength: float, sigma: float, gamma: float, psi_deg: float,
    response: np.ndarray,
) -> str:  # fmt: skip
    """The kernel's parameters in words and numbers, and the range of the response."""
    lo, hi = (float(response.min()), float(response.max())) if response.size else (0.0, 0.0)
    return (
        f"θ = {theta_deg:g}°, λ = {wavelength:g} px, σ = {sigma:g} px, γ = {gamma:g}, "
        f"ψ = {psi_deg:g}°: a {size}x{size} kernel, a wave of period {wavelength:g} px along "
        f"the direction θ (its stripes run across it), an envelope {sigma:g} px wide along θ "
        f"and {sigma / gamma:.3g} px across; response in [{lo:.3g}, {hi:.3g}]"
    )


class GaborExplorer(Explorer):
    """Controls: ``theta`` (degrees, 0..180), ``wavelength`` (pixels), ``sigma`` (pixels),
    ``gamma`` (aspect ratio), ``psi`` (phase, degrees), ``size`` (odd kernel side).
    State set by the callback: ``image`` ((H, W), <= 128 px a side), ``kernel`` ((size, size)),
    ``response`` ((H, W)), ``description`` (``describe``). The readout ``summary`` (HTML) shows
    the formula and the description. ``widget`` is the VBox shown; ``figure`` the Image widget.
    """

    def __init__(self, image: np.ndarray | None = None):
        img = default_photo("brick") if image is None else image
        self.image = prepare_image(img, max_side=MAX_SIDE)
        self.kernel = np.zeros((0, 0))
        self.response = np.zeros((0, 0))
        self.description = ""

        def slider(cls, description, value, lo, hi, step, **kw):
            return cls(
                value=value,
                min=lo,
                max=hi,
                step=step,
                description=description,
                continuous_update=False,
                style={"description_width": "110px"},
                **kw,
            )

        self.theta = slider(widgets.FloatSlider, "theta (°)", 45.0, 0.0, 180.0, 15.0)
        self.wavelength = slider(widgets.FloatSlider, "wavelength (px)", 8.0, 2.0, 32.0, 1.0)
        self.sigma = slider(widgets.FloatSlider, "sigma (px)", 3.0, 0.5, 10.0, 0.5)
        self.gamma = slider(widgets.FloatSlider, "gamma (aspect)", 0.5, 0.1, 2.0, 0.1)
        self.psi = slider(widgets.FloatSlider, "psi (phase °)", 0.0, -180.0, 180.0, 15.0)
        self.size = slider(widgets.IntSlider, "size (px)", 21, 3, 41, 2)
        self.controls = [self.theta, self.wavelength, self.sigma, self.gamma, self.psi, self.size]
        for control in self.controls:
            control.observe(self._on_change, names="value")
        self.summary = widgets.HTML()
        self.figure = widgets.Image(format="png")
        self._widget = widgets.VBox(
            [
                widgets.HBox([widgets.VBox(self.controls[:3]), widgets.VBox(self.controls[3:])]),
                self.summary,
                self.figure,
            ]
        )
        self.update()

    def update(self) -> None:
        """Recompute ``kernel`` and ``response`` from the controls, and redraw."""
        size = self.size.value
        if size % 2 == 0:  # the slider steps by 2 from 3, but a value can be typed in
            size += 1
        self.kernel, self.response = compute(
            self.image,
            size,
            self.theta.value,
            self.wavelength.value,
            self.sigma.value,
            self.gamma.value,
            self.psi.value,
        )
        self.description = describe(
            size,
            self.theta.value,
            self.wavelength.value,
            self.sigma.value,
            self.gamma.value,
            self.psi.value,
            self.response,
        )
        self.summary.value = f"<code>{FORMULA}</code><br>{html.escape(self.description)}"
        self.refresh()

    def draw(self):
        """The figure: input, kernel, response."""
        fig = new_figure(10.5, 3.6)
        ax_in, ax_k, ax_out = fig.subplots(1, 3)
        h, w = self.image.shape
        ax_in.imshow(self.image, cmap="gray")
        ax_in.set_title(f"input {h}x{w}")
        lim = max(float(np.abs(self.kernel).max()), 1e-12)
        half = self.kernel.shape[0] // 2
        extent = (-half - 0.5, half + 0.5, half + 0.5, -half - 0.5)  # offsets from the centre
        ax_k.imshow(self.kernel, cmap="RdBu_r", vmin=-lim, vmax=lim, extent=extent)
        ax_k.set_title(
            f"Gabor kernel {self.kernel.shape[0]}x{self.kernel.shape[1]}\n"
            f"θ={self.theta.value:g}°, λ={self.wavelength.value:g}, σ={self.sigma.value:g}, "
            f"γ={self.gamma.value:g}, ψ={self.psi.value:g}°",
            fontsize=10,
        )
        lim = max(float(np.abs(self.response).max()), 1e-12)
        ax_out.imshow(self.response, cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax_out.set_title(f"response {self.response.shape[0]}x{self.response.shape[1]}")
        for ax in (ax_in, ax_out):
            ax.set_xlabel("x (column)")
            ax.set_ylabel("y (row)")
        ax_k.set_xlabel("x offset (px)")
        ax_k.set_ylabel("y offset (px)")
        return fig


def gabor_explorer(image: np.ndarray | None = None) -> GaborExplorer:
    """A Gabor explorer on ``image`` ((H, W) or (H, W, 3); default the brick photo).

    Returns the ``GaborExplorer``; as a cell's last expression it displays its widget.
    """
    return GaborExplorer(image)
