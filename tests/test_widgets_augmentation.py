"""The augmentation explorer: set ``.value`` on the controls, assert on what the callback computed.

References: torchvision's random transforms pinned to one value (``RandomRotation((a, a))``,
``ColorJitter(brightness=(b, b))``), NumPy's ``rot90``, and the formulas of exposure and contrast.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.transforms import v2

from coursecnn.widgets import AugmentationExplorer, augmentation_explorer
from coursecnn.widgets.augmentation import augment, default_images
from coursecnn.widgets.pooling import shift

PNG = b"\x89PNG"


@pytest.fixture(scope="module")
def image():
    """A seeded, non-square image in [0, 1] with a black border (what shifts bring in)."""
    rng = np.random.default_rng(0)
    img = np.zeros((20, 26))
    img[3:-3, 4:-4] = rng.random((14, 18))
    return img


def test_identity(image):
    np.testing.assert_allclose(augment(image), image, atol=1e-5)


def test_shift_is_a_translation_with_zero_fill(image):
    np.testing.assert_allclose(
        augment(image, shift_x=3, shift_y=-2), shift(image, -2, 3), atol=1e-5
    )


def test_rotation_is_clockwise_and_matches_random_rotation():
    rng = np.random.default_rng(1)
    square = rng.random((16, 16))
    np.testing.assert_allclose(augment(square, rotation=90), np.rot90(square, -1), atol=1e-5)
    # v2.RandomRotation counts counter-clockwise: a range of one angle, -a, is our a
    t = torch.from_numpy(square.astype(np.float32))[None]
    pinned = v2.RandomRotation((-25.0, -25.0), interpolation=v2.InterpolationMode.BILINEAR)
    np.testing.assert_allclose(augment(square, rotation=25), pinned(t)[0].numpy(), atol=1e-5)


def test_scale_matches_random_affine_pinned(image):
    t = torch.from_numpy(image.astype(np.float32))[None]
    pinned = v2.RandomAffine(
        degrees=(0, 0), scale=(1.3, 1.3), interpolation=v2.InterpolationMode.BILINEAR
    )
    np.testing.assert_allclose(augment(image, scale=1.3), pinned(t)[0].numpy(), atol=1e-5)


def test_exposure_and_contrast_formulas(image):
    np.testing.assert_allclose(
        augment(image, brightness=1.6), np.clip(1.6 * image, 0, 1), atol=1e-5
    )
    mean = image.astype(np.float32).mean()
    np.testing.assert_allclose(
        augment(image, contrast=0.4), np.clip(0.4 * image + 0.6 * mean, 0, 1), atol=1e-5
    )
    t = torch.from_numpy(image.astype(np.float32))[None]
    pinned = v2.ColorJitter(brightness=(1.6, 1.6))
    np.testing.assert_allclose(augment(image, brightness=1.6), pinned(t)[0].numpy(), atol=1e-5)


def test_augment_errors(image):
    with pytest.raises(ValueError, match="image"):
        augment(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="scale"):
        augment(image, scale=0)
    with pytest.raises(ValueError, match="brightness"):
        augment(image, brightness=-1)


def test_default_images_are_shipped_and_in_range():
    images = default_images()
    assert len(images) == 11 and "Ankle boot" in images and "camera (photo)" in images
    assert images["Ankle boot"].shape == (28, 28)
    assert all(0 <= im.min() and im.max() <= 1 for im in images.values())


def test_explorer_every_control_changes_output_and_readout():
    a = augmentation_explorer()
    assert isinstance(a, AugmentationExplorer)
    assert a.image_name.value == "T-shirt/top"
    np.testing.assert_allclose(a.output, augment(a.image, 15.0, 2, 0, 1.0, 1.0, 1.0), atol=1e-12)
    new_values = [
        (a.rotation, -20.0),
        (a.shift_x, -3),
        (a.shift_y, 4),
        (a.scale, 1.25),
        (a.brightness, 1.5),
        (a.contrast, 0.5),
        (a.image_name, "Ankle boot"),
    ]
    for control, value in new_values:
        before_out, before_text = a.output.copy(), a.summary.value
        control.value = value
        assert not np.allclose(a.output, before_out), control.description
        assert a.summary.value != before_text, control.description
    expected = augment(a.images["Ankle boot"], -20.0, -3, 4, 1.25, 1.5, 0.5)
    np.testing.assert_allclose(a.output, expected, atol=1e-12)
    assert "angle=-20" in a.code and "translate=[-3, 4]" in a.code and "scale=1.25" in a.code
    assert "Ankle boot" in a.summary.value
    assert 0 < a.changed <= 1


def test_explorer_identity_changes_nothing():
    a = augmentation_explorer()
    a.rotation.value, a.shift_x.value = 0.0, 0
    assert a.changed == 0.0
    np.testing.assert_allclose(a.output, a.image, atol=1e-5)


def test_explorer_draws_only_when_shown():
    a = augmentation_explorer({"noise": np.random.default_rng(0).random((12, 10))})
    assert len(a.figure.value) == 0
    bundle = a._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("<AugmentationExplorer")
    png = bytes(a.figure.value)
    assert png.startswith(PNG)
    a.contrast.value = 1.5  # shown: a change redraws
    assert bytes(a.figure.value) != png


def test_explorer_rejects_no_images():
    with pytest.raises(ValueError, match="images"):
        augmentation_explorer({})
