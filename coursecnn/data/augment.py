"""Data augmentation with ``torchvision.transforms.v2``, with a fresh random draw for every image.

A v2 random transform draws its random parameters once per call (``Transform.forward`` calls
``make_params`` once, then applies them to every input). Called on a batch ``(N, C, H, W)`` it
therefore turns, shifts, scales and brightens *all* N images alike: one augmentation per batch,
not one per image. ``per_sample`` and ``AugmentedDataset`` call the transform on each image.

    augmentation(rotation=10, translate=0.0625, scale=0.1, brightness=0.2, contrast=0.2)
                                   the seed's five (rotation, translation, scale, exposure,
                                   contrast) as one v2 pipeline of random transforms
    per_sample(transform, x)       x: (N, C, H, W) -> each image with its own draw
    AugmentedDataset(x, y, transform, mean, std)
                                   a Dataset: item i is ((transform(x[i]) - mean) / std, y[i])

Augment pixels in [0, 1] (``coursecnn.data.to_tensor(images)``, which zero-pads to black with
``pad_to``), then normalise: brightness and contrast clamp to [0, 1], and what a shift or a
rotation brings in is filled with 0, the black background of MNIST and Fashion-MNIST.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.utils.data import Dataset

__all__ = ["AugmentedDataset", "augmentation", "per_sample"]

Transform = Callable[[torch.Tensor], torch.Tensor]


def _check_range(name: str, value: float, upper: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name}: expected a number >= 0, got {value!r}")
    if upper is not None and value >= upper:
        raise ValueError(f"{name}: expected a number below {upper}, got {value!r}")
    return float(value)


def augmentation(
    rotation: float = 10.0,
    translate: float = 0.0625,
    scale: float = 0.1,
    brightness: float = 0.2,
    contrast: float = 0.2,
):
    """The seed's augmentations as one ``v2.Compose`` of random transforms, for images (C, H, W).

    rotation: the largest angle in degrees (uniform in [-rotation, rotation]). translate: the
    largest shift as a fraction of the width and of the height (whole pixels, zero fill). scale:
    zoom uniform in [1 - scale, 1 + scale]. brightness ("exposure"): pixels multiplied by a
    factor uniform in [1 - b, 1 + b], clamped to [0, 1]. contrast: blended with the image's mean
    by a factor uniform in [1 - c, 1 + c]. Geometry is bilinear; a value of 0 switches that
    transform off. Random numbers come from torch's global generator.
    """
    from torchvision.transforms import v2

    rotation = _check_range("rotation", rotation, 180.0)
    translate = _check_range("translate", translate, 1.0)
    scale = _check_range("scale", scale, 1.0)
    brightness = _check_range("brightness", brightness, 1.0)
    contrast = _check_range("contrast", contrast, 1.0)
    return v2.Compose(
        [
            v2.RandomAffine(
                degrees=rotation,
                translate=(translate, translate) if translate else None,
                scale=(1 - scale, 1 + scale) if scale else None,
                interpolation=v2.InterpolationMode.BILINEAR,
                fill=0.0,
            ),
            v2.ColorJitter(brightness=brightness, contrast=contrast),
        ]
    )


def _check_images(x: torch.Tensor, name: str = "x") -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        shape = tuple(x.shape) if hasattr(x, "shape") else type(x).__name__
        raise ValueError(f"{name}: expected a 4-D tensor (N, C, H, W), got {shape}")


def per_sample(transform: Transform, x: torch.Tensor) -> torch.Tensor:
    """``transform`` applied to each image of ``x`` (N, C, H, W) on its own: N random draws.

    Returns a tensor of the shape the transform gives each image, stacked: (N, C', H', W').
    """
    _check_images(x)
    return torch.stack([transform(image) for image in x])


class AugmentedDataset(Dataset):
    """Images augmented one at a time when they are read, then normalised.

    x: float (N, C, H, W) pixels in [0, 1]; y: (N,) labels. Item i is
    ``((transform(x[i]) - mean) / std, y[i])``; ``transform=None`` leaves the pixels as they are.
    A ``DataLoader`` over it draws a new augmentation of every image in every epoch.
    """

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        transform: Transform | None = None,
        mean: float = 0.0,
        std: float = 1.0,
    ) -> None:
        _check_images(x)
        if len(y) != len(x):
            raise ValueError(f"y: expected {len(x)} labels to match x, got {len(y)}")
        if not std > 0:
            raise ValueError(f"std: expected a positive number, got {std!r}")
        self.x, self.y = x, y
        self.transform, self.mean, self.std = transform, float(mean), float(std)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = self.x[i]
        if self.transform is not None:
            image = self.transform(image)
        return (image - self.mean) / self.std, self.y[i]
