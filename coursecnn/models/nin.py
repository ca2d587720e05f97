"""Network in Network (Lin, Chen and Yan 2014): mlpconv blocks and global average pooling.

An mlpconv block is a k x k convolution followed by two 1x1 convolutions, each with a ReLU: a
small MLP slid over the image. The last block outputs one map per class and global average
pooling turns each map into a score, with no fully connected layer at all.

``CONFIGS`` holds two networks, one row per block:
(k, stride, padding, (c1, c2, c3), pooling after it, dropout after it).

- ``"imagenet"`` (default, 224x224): the 4-block ImageNet model of the authors' Caffe release
  (96, 256, 384 and 1024 filters, 11x11 stride-4 first); 7,595,176 parameters with 1000 classes.
- ``"cifar"`` (32x32 or 28x28): the paper's 3-block CIFAR-10 model (192/160/96,
  192/192/192, 192/192/classes; 5x5, 5x5, 3x3).
- ``"course"`` (course size, 32x32 or 28x28, quick on a CPU): three mlpconv blocks of 3x3 then
  two 1x1 (16, 32 and 32 maps, the last block ``num_classes``), max-pooling between, no
  dropout; its last block's maps (8x8 on 32x32) are the class maps that global average pooling
  averages.

``width`` scales every layer but the last (which has ``num_classes`` maps).
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from ._util import check_choice, check_positive, scaled

CLASSES = "classes"  # stands for num_classes in the last block

CONFIGS: dict[str, list] = {
    "imagenet": [
        (11, 4, 0, (96, 96, 96), "max", 0.0),
        (5, 1, 2, (256, 256, 256), "max", 0.0),
        (3, 1, 1, (384, 384, 384), "max", 0.5),
        (3, 1, 1, (1024, 1024, CLASSES), None, 0.0),
    ],
    "cifar": [
        (5, 1, 2, (192, 160, 96), "max", 0.5),
        (5, 1, 2, (192, 192, 192), "avg", 0.5),
        (3, 1, 1, (192, 192, CLASSES), None, 0.0),
    ],
    "course": [
        (3, 1, 1, (16, 16, 16), "max", 0.0),
        (3, 1, 1, (32, 32, 32), "max", 0.0),
        (3, 1, 1, (32, 32, CLASSES), None, 0.0),
    ],
}


def mlpconv(
    c_in: int, channels: tuple[int, int, int], k: int, stride: int = 1, padding: int = 0
) -> nn.Sequential:
    """k x k conv -> ReLU -> 1x1 conv -> ReLU -> 1x1 conv -> ReLU.

    x: (N, c_in, H, W) -> (N, channels[2], H', W') with H' = (H + 2p - k) // stride + 1.
    """
    c1, c2, c3 = channels
    return nn.Sequential(
        nn.Conv2d(c_in, c1, k, stride, padding),
        nn.ReLU(inplace=True),
        nn.Conv2d(c1, c2, 1),
        nn.ReLU(inplace=True),
        nn.Conv2d(c2, c3, 1),
        nn.ReLU(inplace=True),
    )


def nin(
    num_classes: int = 1000,
    in_channels: int = 3,
    config: str = "imagenet",
    width: float = 1.0,
) -> nn.Sequential:
    """NiN; x: (N, in_channels, H, W) -> logits (N, num_classes) (224x224 for "imagenet",
    32x32 for "cifar"; any size the poolings allow)."""
    check_choice("config", config, CONFIGS)
    check_positive("num_classes", num_classes)
    blocks: OrderedDict[str, nn.Module] = OrderedDict()
    c_in = in_channels
    for i, (k, s, p, chs, pool, drop) in enumerate(CONFIGS[config], start=1):
        chs = tuple(num_classes if c == CLASSES else scaled(c, width) for c in chs)
        blocks[f"mlpconv{i}"] = mlpconv(c_in, chs, k, s, p)
        if pool == "max":
            blocks[f"pool{i}"] = nn.MaxPool2d(3, stride=2, ceil_mode=config != "imagenet")
        elif pool == "avg":
            blocks[f"pool{i}"] = nn.AvgPool2d(3, stride=2, ceil_mode=True)
        if drop:
            blocks[f"dropout{i}"] = nn.Dropout(drop)
        c_in = chs[-1]
    blocks["gap"] = nn.AdaptiveAvgPool2d(1)
    blocks["flatten"] = nn.Flatten()
    return nn.Sequential(blocks)
