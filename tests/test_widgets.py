"""coursecnn.widgets: set ``.value`` on the controls, assert on the state the callback computed.

References are what nobody here wrote: scipy.signal, scipy.ndimage, skimage, the seed's numbers.
The explorers draw with matplotlib's ``Figure`` and Agg directly (no pyplot): no display needed.
"""

from __future__ import annotations

import math

import ipywidgets
import numpy as np
import pytest
from scipy import ndimage, signal
from skimage.filters import gabor_kernel as sk_gabor_kernel

from coursecnn import ops
from coursecnn.widgets import (
    KERNELS,
    ActivationExplorer,
    GaborExplorer,
    KernelLab,
    PoolingExplorer,
    activation_explorer,
    gabor_explorer,
    gabor_kernel,
    kernel_lab,
    pooling_explorer,
)
from coursecnn.widgets import pooling as pooling_module
from coursecnn.widgets._display import prepare_image
from coursecnn.widgets.activation import FUNCTIONS
from coursecnn.widgets.activation import compute as activation_compute
from coursecnn.widgets.kernel_lab import compute as kernel_lab_compute

PNG = b"\x89PNG"


@pytest.fixture(scope="module")
def image():
    """A small, seeded, non-symmetric test image (H != W, so transposes show)."""
    rng = np.random.default_rng(0)
    return rng.random((40, 52))


ASYMMETRIC = np.array([[1.0, 2.0, 0.0], [-1.0, 0.5, 3.0], [0.0, -2.0, 4.0]])


def assert_draws(explorer) -> bytes:
    """Nothing is drawn until the widget is shown; displaying it draws a PNG."""
    assert len(explorer.figure.value) == 0
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith(f"<{type(explorer).__name__}")
    png = bytes(explorer.figure.value)
    assert png.startswith(PNG)
    return png


def set_cells(lab: KernelLab, kernel: np.ndarray) -> None:
    lab.size.value = kernel.shape[0]
    for cell, v in zip(lab.cells, kernel.ravel(), strict=True):
        cell.value = float(v)


# --- kernels -------------------------------------------------------------------------------------
def test_kernels_are_the_seed_table_in_order():
    assert list(KERNELS) == [
        "Identity",
        "Edge detection 1",
        "Edge detection 2",
        "Edge detection 3",
        "Sharpen",
        "Box blur",
        "Gaussian blur 3x3",
        "Gaussian blur 5x5",
        "Unsharp masking 5x5",
    ]
    assert np.array_equal(KERNELS["Identity"], [[0, 0, 0], [0, 1, 0], [0, 0, 0]])
    assert np.array_equal(KERNELS["Edge detection 1"], [[1, 0, -1], [0, 0, 0], [-1, 0, 1]])
    assert np.array_equal(KERNELS["Edge detection 2"], [[0, 1, 0], [1, -4, 1], [0, 1, 0]])
    assert np.array_equal(KERNELS["Edge detection 3"], [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]])
    assert np.array_equal(KERNELS["Sharpen"], [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    assert np.allclose(KERNELS["Box blur"], np.full((3, 3), 1 / 9))
    assert np.allclose(KERNELS["Gaussian blur 3x3"] * 16, [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    g5 = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1])  # the seed's 5x5 table is this outer product
    assert np.allclose(KERNELS["Gaussian blur 5x5"] * 256, g5)
    unsharp = -KERNELS["Unsharp masking 5x5"] * 256
    assert unsharp[2, 2] == pytest.approx(-476)
    off_centre = np.ones((5, 5), bool)
    off_centre[2, 2] = False
    assert np.allclose(unsharp[off_centre], g5[off_centre])
    # blurs keep the mean (sum 1), edge detectors kill flat regions (sum 0), unsharp sums to 1
    for name in ("Identity", "Sharpen", "Box blur", "Gaussian blur 3x3", "Gaussian blur 5x5"):
        assert KERNELS[name].sum() == pytest.approx(1.0)
    for name in ("Edge detection 1", "Edge detection 2", "Edge detection 3"):
        assert KERNELS[name].sum() == pytest.approx(0.0)
    assert KERNELS["Unsharp masking 5x5"].sum() == pytest.approx(1.0)


@pytest.mark.parametrize(
    "theta, wavelength, sigma, gamma, psi",
    [(0.0, 8.0, 3.0, 1.0, 0.0), (0.7, 6.0, 2.5, 0.5, 1.2), (2.0, 10.0, 4.0, 1.7, -0.4)],
)
def test_gabor_kernel_matches_skimage(theta, wavelength, sigma, gamma, psi):
    sx, sy = sigma, sigma / gamma
    ref = sk_gabor_kernel(1 / wavelength, theta, sigma_x=sx, sigma_y=sy, offset=psi).real
    ref = ref * 2 * math.pi * sx * sy  # skimage normalises the Gaussian envelope to unit integral
    size = max(ref.shape) | 1
    k = gabor_kernel(size, theta, wavelength, sigma, gamma, psi)
    assert k.shape == (size, size)
    c, (h, w) = size // 2, ref.shape  # skimage's support is (2*y0+1, 2*x0+1), centred
    np.testing.assert_allclose(k[c - h // 2 : c + h // 2 + 1, c - w // 2 : c + w // 2 + 1], ref)


def test_gabor_kernel_shape_and_errors():
    k = gabor_kernel(7, 0.0, 4.0, 2.0)
    assert k.shape == (7, 7) and k[3, 3] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="size"):
        gabor_kernel(6, 0.0, 4.0, 2.0)
    with pytest.raises(ValueError, match="wavelength"):
        gabor_kernel(7, 0.0, 0.0, 2.0)
    with pytest.raises(ValueError, match="sigma"):
        gabor_kernel(7, 0.0, 4.0, -1.0)


# --- kernel lab ----------------------------------------------------------------------------------
def test_kernel_lab_identity_returns_the_image(image):
    lab = kernel_lab(image)
    assert isinstance(lab, KernelLab)
    lab.preset.value = "Identity"
    lab.padding.value = "zero"
    lab.stride.value = 1
    np.testing.assert_allclose(lab.output, image)
    np.testing.assert_allclose(lab.kernel, KERNELS["Identity"])
    assert lab.shape_text.splitlines() == [
        "H_out = floor((40 + 2·1 − 1·(3−1) − 1)/1) + 1 = 40",
        "W_out = floor((52 + 2·1 − 1·(3−1) − 1)/1) + 1 = 52",
    ]
    png = assert_draws(lab)
    lab.preset.value = "Sharpen"  # once shown, every change redraws
    assert bytes(lab.figure.value).startswith(PNG) and bytes(lab.figure.value) != png


def test_kernel_lab_convolution_vs_correlation_match_scipy(image):
    lab = kernel_lab(image)
    set_cells(lab, ASYMMETRIC)
    assert lab.preset.value == "Custom"
    np.testing.assert_allclose(lab.kernel, ASYMMETRIC)
    lab.mode.value = "convolution"
    conv = lab.output.copy()
    np.testing.assert_allclose(conv, signal.convolve2d(image, ASYMMETRIC, mode="same"))
    lab.mode.value = "correlation"
    np.testing.assert_allclose(lab.output, signal.correlate2d(image, ASYMMETRIC, mode="same"))
    assert not np.allclose(conv, lab.output)
    lab.padding.value = "none"
    np.testing.assert_allclose(lab.output, signal.correlate2d(image, ASYMMETRIC, mode="valid"))
    assert lab.output.shape == (38, 50)
    assert lab.shape_text.splitlines()[0] == "H_out = floor((40 + 2·0 − 1·(3−1) − 1)/1) + 1 = 38"


@pytest.mark.parametrize("padding, ndimage_mode", [("replicate", "nearest"), ("reflect", "mirror")])
def test_kernel_lab_padding_modes_match_ndimage(image, padding, ndimage_mode):
    lab = kernel_lab(image)
    set_cells(lab, ASYMMETRIC)
    lab.mode.value = "correlation"
    lab.padding.value = padding
    np.testing.assert_allclose(lab.output, ndimage.correlate(image, ASYMMETRIC, mode=ndimage_mode))
    lab.mode.value = "convolution"
    np.testing.assert_allclose(lab.output, ndimage.convolve(image, ASYMMETRIC, mode=ndimage_mode))


def test_kernel_lab_stride_and_dilation(image):
    lab = kernel_lab(image)
    set_cells(lab, ASYMMETRIC)
    lab.mode.value = "correlation"
    lab.stride.value = 2
    h_out = ops.conv_output_size(40, 3, stride=2, padding=1)
    w_out = ops.conv_output_size(52, 3, stride=2, padding=1)
    assert lab.output.shape == (h_out, w_out) == (20, 26)
    assert lab.shape_text.splitlines() == [
        f"H_out = floor((40 + 2·1 − 1·(3−1) − 1)/2) + 1 = {h_out}",
        f"W_out = floor((52 + 2·1 − 1·(3−1) − 1)/2) + 1 = {w_out}",
    ]
    same = signal.correlate2d(image, ASYMMETRIC, mode="same")
    np.testing.assert_allclose(lab.output, same[::2, ::2])
    lab.dilation.value = 2  # padding grows to 2 so that stride 1 would still give "same"
    dilated = np.zeros((5, 5))
    dilated[::2, ::2] = ASYMMETRIC
    ref = signal.correlate2d(image, dilated, mode="same")[::2, ::2]
    np.testing.assert_allclose(lab.output, ref)
    assert lab.shape_text.splitlines()[0] == "H_out = floor((40 + 2·2 − 2·(3−1) − 1)/2) + 1 = 20"


def test_kernel_lab_presets_sizes_and_cells(image):
    lab = kernel_lab(image)
    lab.preset.value = "Gaussian blur 5x5"
    assert lab.size.value == 5 and len(lab.cells) == 25 and len(lab.grid.children) == 25
    np.testing.assert_allclose(lab.kernel, KERNELS["Gaussian blur 5x5"])
    np.testing.assert_allclose(lab.output, ndimage.correlate(image, lab.kernel, mode="constant"))
    old = lab.cells[0].value
    lab.cells[0].value = 1.0  # an edit makes it custom, and the output follows
    assert lab.preset.value == "Custom" and lab.kernel[0, 0] == 1.0
    lab.cells[0].value = old  # back to the table's values: the preset is recognised again
    assert lab.preset.value == "Gaussian blur 5x5"
    lab.size.value = 3  # 5x5 -> 3x3 keeps the centre
    assert len(lab.cells) == 9
    np.testing.assert_allclose(lab.kernel, KERNELS["Gaussian blur 5x5"][1:4, 1:4])
    assert lab.output.shape == image.shape
    lab.preset.value = "Sharpen"
    np.testing.assert_allclose(lab.kernel, KERNELS["Sharpen"])
    lab.size.value = 5  # 3x3 -> 5x5 pads with zeros: the same filter
    assert lab.preset.value == "Custom"
    np.testing.assert_allclose(lab.kernel[1:4, 1:4], KERNELS["Sharpen"])
    np.testing.assert_allclose(
        lab.output, ndimage.convolve(image, KERNELS["Sharpen"], mode="constant")
    )


def test_kernel_lab_default_photo():
    lab = kernel_lab()
    assert lab.image.shape == (256, 256)  # the 512x512 camera photo, halved
    assert lab.widget is lab.widget and lab.figure in lab.widget.children


def test_kernel_lab_prepares_colour_and_large_photos():
    rng = np.random.default_rng(1)
    lab = kernel_lab(rng.random((600, 300, 3)))
    assert lab.image.shape == (200, 100)  # grayscale, 3x3 block means: at most 256 a side
    assert lab.output.shape == (200, 100)
    with pytest.raises(ValueError, match="image"):
        prepare_image(np.zeros((2, 3, 4, 5)))


def test_kernel_lab_compute_errors(image):
    with pytest.raises(ValueError, match="mode"):
        kernel_lab_compute(image, ASYMMETRIC, mode="conv")
    with pytest.raises(ValueError, match="padding"):
        kernel_lab_compute(image, ASYMMETRIC, padding="circular")
    with pytest.raises(ValueError, match="stride"):
        kernel_lab_compute(image, ASYMMETRIC, stride=0)
    with pytest.raises(ValueError, match="kernel"):
        kernel_lab_compute(image, np.ones(3))


# --- Gabor explorer ------------------------------------------------------------------------------
def test_gabor_explorer_kernel_and_response(image):
    g = gabor_explorer(image)
    assert isinstance(g, GaborExplorer)
    g.theta.value, g.wavelength.value, g.sigma.value = 30.0, 6.0, 2.0
    g.gamma.value, g.psi.value, g.size.value = 0.5, 90.0, 13
    k = gabor_kernel(13, math.radians(30), 6.0, 2.0, 0.5, math.radians(90))
    np.testing.assert_allclose(g.kernel, k)
    ref = signal.correlate2d(image - image.mean(), k, mode="same")
    np.testing.assert_allclose(g.response, ref, atol=1e-10)
    assert_draws(g)
    g.theta.value = 0.0
    k0 = g.kernel.copy()
    g.theta.value = 90.0  # rotating by 90 degrees swaps x and y
    np.testing.assert_allclose(g.kernel, k0.T, atol=1e-12)


def test_gabor_explorer_prefers_the_matching_orientation():
    cols = np.arange(64)
    stripes = np.tile(0.5 + 0.5 * np.cos(2 * np.pi * cols / 8), (64, 1))  # vertical stripes
    g = gabor_explorer(stripes)
    g.wavelength.value, g.psi.value = 8.0, 0.0
    g.theta.value = 0.0  # wave along x: matches
    along = np.abs(g.response[16:-16, 16:-16]).mean()
    g.theta.value = 90.0  # wave along y: does not
    across = np.abs(g.response[16:-16, 16:-16]).mean()
    assert along > 10 * across


# --- pooling explorer ----------------------------------------------------------------------------
def blocks(x, k, reduce):
    h, w = x.shape[0] // k * k, x.shape[1] // k * k
    return reduce(x[:h, :w].reshape(h // k, k, w // k, k), axis=(1, 3))


def test_pooling_explorer_outputs():
    p = pooling_explorer()
    assert isinstance(p, PoolingExplorer)
    assert p.x.shape == (8, 8)
    p.shift_x.value, p.shift_y.value = 0, 0
    p.kind.value, p.kernel_size.value, p.stride.value = "max", 2, 2
    np.testing.assert_allclose(p.output, blocks(p.x, 2, np.max))
    assert p.changed == 0.0 and np.array_equal(p.output, p.shifted_output)
    p.kind.value = "avg"
    np.testing.assert_allclose(p.output, blocks(p.x, 2, np.mean))
    p.kernel_size.value, p.stride.value = 3, 1  # overlapping pooling
    assert p.output.shape == (6, 6)
    assert p.shape_text.startswith("H_out = floor((8 − 3)/1) + 1 = 6")
    np.testing.assert_allclose(p.output, ndimage.uniform_filter(p.x, 3)[1:-1, 1:-1], atol=1e-12)
    assert_draws(p)


def test_pooling_explorer_shift_inside_a_window_is_invisible_to_max():
    x = np.zeros((8, 8))
    x[2, 2] = 1.0  # one bright pixel at the left of its 2x2 window
    p = pooling_explorer(x)
    p.kind.value, p.kernel_size.value, p.stride.value = "max", 2, 2
    p.shift_y.value = 0
    p.shift_x.value = 1  # stays in the window: max pooling does not see it
    np.testing.assert_array_equal(p.x_shifted, pooling_module.shift(x, 0, 1))
    assert p.x_shifted[2, 3] == 1.0
    assert p.changed == 0.0
    p.shift_x.value = 2  # crosses into the next window: two of 16 cells change
    assert p.changed == pytest.approx(2 / 16)
    p.shift_x.value = -1  # leaves the window to the left
    assert p.changed == pytest.approx(2 / 16)


def test_pooling_explorer_rejects_bad_input():
    with pytest.raises(ValueError, match="x"):
        pooling_explorer(np.zeros((3, 8)))
    with pytest.raises(ValueError, match="kind"):
        pooling_module.compute(np.zeros((4, 4)), kind="min")


def test_shift_fills_with_zeros():
    x = np.arange(1.0, 10.0).reshape(3, 3)
    np.testing.assert_array_equal(pooling_module.shift(x, 1, -1), [[0, 0, 0], [2, 3, 0], [5, 6, 0]])
    np.testing.assert_array_equal(pooling_module.shift(x, 0, 0), x)
    np.testing.assert_array_equal(pooling_module.shift(x, 3, 0), np.zeros((3, 3)))


# --- activation explorer -------------------------------------------------------------------------
def _reference(name, x, a):
    sig = 1 / (1 + np.exp(-x))
    return {
        "sigmoid": (sig, sig * (1 - sig)),
        "tanh": (np.tanh(x), 1 - np.tanh(x) ** 2),
        "relu": (np.maximum(x, 0), (x > 0).astype(float)),
        "leaky_relu": (np.where(x > 0, x, a * x), np.where(x > 0, 1.0, a)),
        "elu": (np.where(x > 0, x, a * np.expm1(x)), np.where(x > 0, 1.0, a * np.exp(x))),
        "prelu": (np.where(x > 0, x, a * x), np.where(x > 0, 1.0, a)),
        "maxout": (np.maximum(x, -a * x), np.where(x > -a * x, 1.0, -a)),
    }[name]


def test_activation_explorer_every_function():
    a = activation_explorer()
    assert isinstance(a, ActivationExplorer)
    x = a.x
    assert x[0] == -5 and x[-1] == 5
    away = np.abs(x) > 1e-9  # the kink at 0 is a convention
    for name in FUNCTIONS:
        a.function.value = name
        pname, default, _ = FUNCTIONS[name]
        assert a.param.disabled == (pname is None)
        y, dy = _reference(name, x, default)
        np.testing.assert_allclose(a.y, y, atol=1e-12)
        np.testing.assert_allclose(a.dy[away], dy[away], atol=1e-12)
    assert_draws(a)


def test_activation_explorer_parameter_and_derivative():
    a = activation_explorer()
    a.function.value = "leaky_relu"
    assert a.param.value == pytest.approx(0.1)  # the seed's max(0.1x, x)
    a.param.value = 0.3
    i = int(np.argmin(np.abs(a.x + 2)))
    assert a.y[i] == pytest.approx(-0.6) and a.dy[i] == pytest.approx(0.3)
    a.function.value = "elu"
    assert a.param.value == pytest.approx(1.0)
    a.param.value = 0.5
    np.testing.assert_allclose(a.y, _reference("elu", a.x, 0.5)[0], atol=1e-12)
    y = a.y.copy()
    a.derivative.value = False  # only the drawing changes
    np.testing.assert_array_equal(a.y, y)
    # the derivative agrees with a central difference away from the kink
    h = 1e-6
    for name in FUNCTIONS:
        xs = np.array([-2.0, -0.5, 0.7, 3.0])
        up, _ = activation_compute(name, xs + h, 0.2)
        down, _ = activation_compute(name, xs - h, 0.2)
        _, dy = activation_compute(name, xs, 0.2)
        np.testing.assert_allclose(dy, (up - down) / (2 * h), rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="name"):
        activation_compute("swish", xs)


# --- every control changes the picture and the readout ------------------------------------------
# What the browser suite (tests/browser/) proves in JupyterLab, here on the Python side: moving any
# control redraws the picture and rewrites the readout (the explorer's HTML widgets).
def _walk(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)


CONTROLS = (
    ipywidgets.Dropdown, ipywidgets.ToggleButtons, ipywidgets.IntSlider, ipywidgets.FloatSlider,
    ipywidgets.Checkbox, ipywidgets.FloatText,
)  # fmt: skip


def _controls(explorer) -> list:
    """The controls a student can move, in the order shown."""
    return [w for w in _walk(explorer.widget) if isinstance(w, CONTROLS)]


def _new_value(w):
    if isinstance(w, (ipywidgets.Dropdown, ipywidgets.ToggleButtons)):
        values = [o[1] if isinstance(o, tuple) else o for o in w.options]
        return values[(values.index(w.value) + 1) % len(values)]
    if isinstance(w, (ipywidgets.IntSlider, ipywidgets.FloatSlider)):
        return w.value - w.step if w.value + w.step > w.max else w.value + w.step
    if isinstance(w, ipywidgets.Checkbox):
        return not w.value
    return w.value + 1.0


def _readout(explorer) -> str:
    return " | ".join(w.value for w in _walk(explorer.widget) if isinstance(w, ipywidgets.HTML))


@pytest.mark.parametrize(
    "make",
    [kernel_lab, gabor_explorer, pooling_explorer, activation_explorer],
    ids=["kernel_lab", "gabor", "pooling", "activation"],
)
def test_every_control_changes_the_picture_and_the_readout(make, image):
    explorer = make(image) if make in (kernel_lab, gabor_explorer) else make()
    assert explorer.widget is not None  # shown: drawing on
    count = len(_controls(explorer))
    moved = []
    for i in range(count):  # looked up again each time: a size change rebuilds the kernel cells
        control = _controls(explorer)[i]
        if control.disabled:
            continue  # relu has no parameter
        png, text = bytes(explorer.figure.value), _readout(explorer)
        control.value = _new_value(control)
        label = f"control {i} ({control.description or type(control).__name__})"
        assert bytes(explorer.figure.value) != png, f"{label}: the picture did not change"
        assert _readout(explorer) != text, f"{label}: the readout did not change"
        moved.append(i)
    assert len(moved) >= count - 1, f"moved only {moved} of {count} controls"


def test_kernel_lab_shows_brightness_kept_on_the_inputs_scale(image):
    from coursecnn.widgets.kernel_lab import display_scale

    lab = kernel_lab(image)
    lo, hi = float(lab.image.min()), float(lab.image.max())
    lab.preset.value = "Sharpen"  # sums to 1: overshoots beyond the input's range, not stretched
    vmin, vmax, cmap, text = lab.scale
    assert (vmin, vmax, cmap) == (lo, hi, "gray")
    assert lab.output.min() < lo and lab.output.max() > hi  # sharpening overshoots
    beyond = np.mean((lab.output < lo) | (lab.output > hi))
    assert f"{beyond:.1%} of its pixels beyond it" in text and text in lab.shape_label.value
    fig = lab.draw()
    out_image = [ax for ax in fig.axes if ax.images][2].images[0]
    assert out_image.get_clim() == (lo, hi)
    lab.preset.value = "Box blur"  # a blur stays within the input's range
    assert lab.scale[:2] == (lo, hi) and "0.0% of its pixels" in lab.scale[3]
    lab.preset.value = "Edge detection 3"  # sums to 0: symmetric about 0, a diverging map
    vmin, vmax, cmap, text = lab.scale
    assert vmin == -vmax == -np.abs(lab.output).max() and cmap == "RdBu_r"
    before = lab.shape_label.value
    lab.cells[4].value = 9.0  # sum 1 again: the readout says so
    assert lab.scale[:2] == (lo, hi) and lab.shape_label.value != before
    lab.cells[4].value = 10.0  # sum 2: the output's own range
    assert lab.scale[:2] == (float(lab.output.min()), float(lab.output.max()))
    assert display_scale(np.ones((3, 3)) / 9, image, np.zeros((0, 0)))[:2] == (lo, hi)


def test_kernel_lab_readout_and_scale_use_one_tolerance_for_sums(image):
    from coursecnn.widgets.kernel_lab import SUM_TOL, describe, display_scale

    typed_box = np.full((3, 3), 0.1111)  # 1/9 typed to four decimals: sums to 0.9999
    assert abs(typed_box.sum() - 1) < SUM_TOL
    out = np.zeros((4, 4))
    assert "sum 1: brightness kept" in describe(
        typed_box, "custom", "correlation", "zero", 1, 1, out
    )
    assert "brightness kept" in display_scale(typed_box, image, out)[3]
    off = np.full((3, 3), 1 / 9 + 2 * SUM_TOL / 9)  # beyond the tolerance: neither says sum 1
    assert "sum 1:" not in describe(off, "custom", "correlation", "zero", 1, 1, out)
    assert "brightness kept" not in display_scale(off, image, out)[3]
