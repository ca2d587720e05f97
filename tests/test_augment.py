"""coursecnn.data.augment: torchvision v2 transforms, one random draw per image.

The reference is torchvision itself: what a v2 transform does to one image, given the same
random state.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.transforms import v2

from coursecnn.data import fashion_mnist, loader, to_tensor
from coursecnn.data.augment import AugmentedDataset, augmentation, per_sample

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def images():
    x, _ = fashion_mnist("test")
    return to_tensor(x[:16], pad_to=32)  # float (16, 1, 32, 32) in [0, 1], black padding


def test_v2_on_a_batch_draws_one_set_of_parameters(images):
    """The pitfall the module exists for: every image of a batch gets the same rotation."""
    torch.manual_seed(0)
    turned = v2.RandomRotation(30)(images)
    # undo one angle: the batch's images were all turned by the same one
    angles = np.linspace(-30, 30, 121)
    best = [
        min(angles, key=lambda a: (v2.functional.rotate(img, a) - out).abs().sum().item())
        for img, out in zip(images[:4], turned[:4], strict=True)
    ]
    assert len(set(best)) == 1
    # per_sample: one angle each (here: the four images all differ in their best angle)
    torch.manual_seed(0)
    each = per_sample(v2.RandomRotation(30), images[:4])
    best = [
        min(angles, key=lambda a: (v2.functional.rotate(img, a) - out).abs().sum().item())
        for img, out in zip(images[:4], each, strict=True)
    ]
    assert len(set(best)) == 4


def test_per_sample_equals_the_transform_called_image_by_image(images):
    t = augmentation()
    torch.manual_seed(3)
    got = per_sample(t, images)
    torch.manual_seed(3)
    expected = torch.stack([t(img) for img in images])
    torch.testing.assert_close(got, expected)
    assert got.shape == images.shape and got.dtype == torch.float32
    assert got.min() >= 0 and got.max() <= 1  # brightness and contrast clamp
    assert not torch.equal(got, images)


def test_augmentation_is_the_seeds_five(images):
    t = augmentation(rotation=10, translate=0.0625, scale=0.1, brightness=0.2, contrast=0.3)
    affine, jitter = t.transforms
    assert isinstance(affine, v2.RandomAffine) and isinstance(jitter, v2.ColorJitter)
    assert list(affine.degrees) == [-10.0, 10.0]
    assert tuple(affine.translate) == (0.0625, 0.0625) and tuple(affine.scale) == (0.9, 1.1)
    assert jitter.brightness == pytest.approx((0.8, 1.2))
    assert jitter.contrast == pytest.approx((0.7, 1.3))
    # translate 0.0625 of 32 pixels: shifts of at most 2 whole pixels
    make_params = getattr(affine, "make_params", None) or affine._get_params  # before 0.21
    torch.manual_seed(0)
    for _ in range(20):
        params = make_params([images[0]])
        assert max(abs(v) for v in params["translate"]) <= 2
        assert all(float(v).is_integer() for v in params["translate"])


def test_augmentation_zero_is_the_identity(images):
    t = augmentation(rotation=0, translate=0, scale=0, brightness=0, contrast=0)
    torch.testing.assert_close(per_sample(t, images), images)


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"rotation": -1}, "rotation"),
        ({"translate": 1.0}, "translate"),
        ({"scale": 1.5}, "scale"),
        ({"brightness": "a"}, "brightness"),
        ({"contrast": True}, "contrast"),
    ],
)
def test_augmentation_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        augmentation(**kw)


def test_augmented_dataset_draws_again_every_epoch(images):
    y = torch.arange(16)
    ds = AugmentedDataset(images, y, augmentation(), mean=0.3, std=0.35)
    assert len(ds) == 16
    torch.manual_seed(0)
    a, label = ds[5]
    b, _ = ds[5]
    assert label == 5 and a.shape == (1, 32, 32)
    assert not torch.equal(a, b)  # a new draw each read
    plain = AugmentedDataset(images, y, None, mean=0.3, std=0.35)
    torch.testing.assert_close(plain[5][0], (images[5] - 0.3) / 0.35)
    # through a DataLoader: batches of per-image draws, normalised
    torch.manual_seed(1)
    xb, yb = next(iter(loader(ds, batch_size=8, shuffle=True, seed=0)))
    assert xb.shape == (8, 1, 32, 32) and yb.shape == (8,)
    torch.manual_seed(1)
    xb2, yb2 = next(iter(loader(ds, batch_size=8, shuffle=True, seed=0)))
    torch.testing.assert_close(xb, xb2)  # seeded: reproducible
    assert torch.equal(yb, yb2)


def test_augmented_dataset_errors(images):
    with pytest.raises(ValueError, match="x"):
        AugmentedDataset(images[0], torch.zeros(1))
    with pytest.raises(ValueError, match="y"):
        AugmentedDataset(images, torch.zeros(3))
    with pytest.raises(ValueError, match="std"):
        AugmentedDataset(images, torch.zeros(16), std=0)
    with pytest.raises(ValueError, match="x"):
        per_sample(augmentation(), images[0])
