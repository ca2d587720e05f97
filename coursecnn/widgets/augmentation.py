"""Augmentation explorer: the seed's five augmentations (rotation, translation, scale, exposure,
contrast, seed 003) applied by ``torchvision.transforms.v2.functional`` to a shipped image.

    a = augmentation_explorer()
    a.rotation.value = 15; a.brightness.value = 1.3
    a.image, a.output, a.changed     # input, v2's output, fraction of pixels that changed

Each slider sets one parameter exactly; during training, ``coursecnn.data.augment.augmentation``
draws them at random within a range, per image.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np

from coursecnn.widgets._display import Explorer, new_figure, prepare_image

__all__ = ["AugmentationExplorer", "augment", "augmentation_explorer", "default_images"]

CHANGE_TOLERANCE = 0.05  # a pixel "changed" when it moved by more than this (pixels in [0, 1])


def augment(
    image: np.ndarray,
    rotation: float = 0.0,
    shift_x: int = 0,
    shift_y: int = 0,
    scale: float = 1.0,
    brightness: float = 1.0,
    contrast: float = 1.0,
) -> np.ndarray:
    """``image`` (H, W) in [0, 1] through ``torchvision.transforms.v2.functional``.

    First the geometry in one ``affine`` (bilinear, zero fill): ``rotation`` degrees clockwise
    about the centre (``affine``'s convention; ``rotate`` and ``RandomRotation`` count
    counter-clockwise), ``scale`` (zoom about the centre), then a shift of ``shift_x`` pixels
    right and ``shift_y`` down. Then ``adjust_brightness`` (exposure: every
    pixel times ``brightness``, clamped to [0, 1]) and ``adjust_contrast`` (a blend with the
    image's mean: ``contrast * x + (1 - contrast) * mean``, clamped). Returns (H, W) float64.
    """
    import torch
    from torchvision.transforms import v2

    img = np.asarray(image, dtype=float)
    if img.ndim != 2 or min(img.shape) < 1:
        raise ValueError(f"image: expected a 2-D array (H, W), got shape {np.shape(image)}")
    if not scale > 0:
        raise ValueError(f"scale: expected a positive zoom factor, got {scale!r}")
    for name, value in (("brightness", brightness), ("contrast", contrast)):
        if not value >= 0:
            raise ValueError(f"{name}: expected a factor >= 0, got {value!r}")
    f = v2.functional
    t = torch.from_numpy(img.astype(np.float32))[None]  # (1, H, W): one grey channel
    t = f.affine(
        t,
        angle=float(rotation),
        translate=[int(shift_x), int(shift_y)],
        scale=float(scale),
        shear=[0.0, 0.0],
        interpolation=v2.InterpolationMode.BILINEAR,
        fill=0.0,
    )
    t = f.adjust_brightness(t, float(brightness))
    t = f.adjust_contrast(t, float(contrast))
    return t[0].double().numpy()


def default_images() -> dict[str, np.ndarray]:
    """The first shipped Fashion-MNIST test image of each class, and the camera photo (128 px)."""
    from coursecnn.data import FASHION_CLASSES, fashion_mnist, photo

    x, y = fashion_mnist("test")
    images = {name: x[np.flatnonzero(y == c)[0]] / 255.0 for c, name in enumerate(FASHION_CLASSES)}
    images["camera (photo)"] = photo("camera", size=128)
    return images


class AugmentationExplorer(Explorer):
    """Controls: ``image_name`` (Dropdown), ``rotation`` (degrees clockwise), ``shift_x`` and ``shift_y``
    (pixels), ``scale`` (zoom), ``brightness`` and ``contrast`` (factors; 1 leaves the image).
    State set by the callback: ``image`` (the input, (H, W) in [0, 1]), ``output`` (v2's
    result), ``changed`` (fraction of pixels that moved by more than 0.05), ``code`` (the v2
    calls, as text). ``widget`` is the VBox; ``figure`` the Image widget.
    """

    def __init__(self, images: dict[str, np.ndarray] | None = None):
        images = default_images() if images is None else dict(images)
        if not images:
            raise ValueError("images: expected at least one {name: image}, got none")
        self.images = {
            name: np.clip(prepare_image(img, f"images[{name!r}]"), 0.0, 1.0)
            for name, img in images.items()
        }
        first = next(iter(self.images))
        self.image = self.output = self.images[first]
        self.changed = 0.0
        self.code = ""

        style = {"description_width": "90px"}

        def slider(cls, description, value, lo, hi, step):
            return cls(
                value=value, min=lo, max=hi, step=step, description=description,
                continuous_update=False, style=style,
            )  # fmt: skip

        self.image_name = widgets.Dropdown(
            options=list(self.images), value=first, description="image", style=style
        )
        self.rotation = slider(widgets.FloatSlider, "rotation (° cw)", 15.0, -45.0, 45.0, 1.0)
        self.shift_x = slider(widgets.IntSlider, "shift x (px)", 2, -8, 8, 1)
        self.shift_y = slider(widgets.IntSlider, "shift y (px)", 0, -8, 8, 1)
        self.scale = slider(widgets.FloatSlider, "scale", 1.0, 0.5, 1.5, 0.05)
        self.brightness = slider(widgets.FloatSlider, "exposure", 1.0, 0.0, 2.0, 0.05)
        self.contrast = slider(widgets.FloatSlider, "contrast", 1.0, 0.0, 2.0, 0.05)
        controls = [
            self.image_name, self.rotation, self.shift_x, self.shift_y,
            self.scale, self.brightness, self.contrast,
        ]  # fmt: skip
        for control in controls:
            control.observe(self._on_change, names="value")
        self.summary = widgets.HTML()
        self.figure = widgets.Image(format="png")
        self._widget = widgets.VBox(
            [
                widgets.HBox([widgets.VBox(controls[:4]), widgets.VBox(controls[4:])]),
                self.summary,
                self.figure,
            ]
        )
        self.update()

    def update(self) -> None:
        """Recompute the augmented image, the changed fraction and the readout; redraw."""
        self.image = self.images[self.image_name.value]
        r, dx, dy = self.rotation.value, self.shift_x.value, self.shift_y.value
        s, b, c = self.scale.value, self.brightness.value, self.contrast.value
        self.output = augment(self.image, r, dx, dy, s, b, c)
        self.changed = float((np.abs(self.output - self.image) > CHANGE_TOLERANCE).mean())
        self.code = (
            f"img = v2.functional.affine(img, angle={r:g}, translate=[{dx}, {dy}], "
            f"scale={s:g}, shear=[0, 0])\n"
            f"img = v2.functional.adjust_brightness(img, {b:g})  # exposure\n"
            f"img = v2.functional.adjust_contrast(img, {c:g})"
        )
        self.summary.value = (
            f"<b>{html.escape(self.image_name.value)}</b>, "
            f"{self.image.shape[0]}x{self.image.shape[1]} pixels<br>"
            f"<pre style='margin:2px 0'>{html.escape(self.code)}</pre>"
            f"mean pixel {self.image.mean():.3f} → {self.output.mean():.3f}; "
            f"{100 * self.changed:.0f}% of the pixels changed by more than {CHANGE_TOLERANCE}"
        )
        self.refresh()

    def draw(self):
        """The figure: the image, v2's output, and their difference, each with a colour bar."""
        fig = new_figure(11.0, 3.4)
        axes = fig.subplots(1, 3)
        diff = self.output - self.image
        lim = max(float(np.abs(diff).max()), 1e-6)
        panels = [
            (self.image, "original", "gray", 0.0, 1.0, "pixel value"),
            (self.output, "v2 output", "gray", 0.0, 1.0, "pixel value"),
            (diff, "output − original", "RdBu_r", -lim, lim, "difference"),
        ]
        for ax, (a, title, cmap, lo, hi, label) in zip(axes, panels, strict=True):
            im = ax.imshow(a, cmap=cmap, vmin=lo, vmax=hi)
            ax.set_title(title, fontsize=10)
            ax.set_xlabel("column (px)")
            fig.colorbar(im, ax=ax, shrink=0.8, label=label)
        axes[0].set_ylabel("row (px)")
        fig.suptitle(
            f"rotation {self.rotation.value:g}° clockwise, shift ({self.shift_x.value}, "
            f"{self.shift_y.value}) px, scale {self.scale.value:g}, exposure "
            f"{self.brightness.value:g}, contrast {self.contrast.value:g}",
            fontsize=10,
        )
        return fig


def augmentation_explorer(images: dict[str, np.ndarray] | None = None) -> AugmentationExplorer:
    """An augmentation explorer over ``images`` ({name: (H, W) in [0, 1]}; default: one shipped
    Fashion-MNIST image per class and the camera photo). As a cell's last expression it
    displays its widget."""
    return AugmentationExplorer(images)
