"""VGG (Simonyan and Zisserman 2015): configurations A, A-LRN, B, C, D and E from one table.

Each list reads like a column of the paper's Table 1: a number is a 3x3 convolution (padding 1)
with that many filters, ``(n, 1)`` a 1x1 convolution (configuration C), ``"M"`` a 2x2 max-pool
with stride 2, ``"LRN"`` local response normalisation (A-LRN). Every convolution is followed by
a ReLU (and batch norm first with ``batch_norm=True``, the torchvision ``_bn`` models).
Then FC 4096, 4096, ``num_classes`` with dropout 0.5.

Parameters at 224x224 (measured; the paper rounds them to 133, 133, 134, 138 and 144 million):
A 132,863,336; A-LRN 132,863,336; B 133,047,848; C 133,638,952; D 138,357,544; E 143,667,240.
torchvision's vgg11, vgg13, vgg16 and vgg19 are A, B, D and E (``vgg(11)`` etc. also work) and
have the same counts: its ``AdaptiveAvgPool2d(7)`` has no parameters and is the identity at 224;
``adaptive_pool=True`` adds it here too.

Course size: ``vgg("A", input_size=32, in_channels=1, num_classes=10, width=0.125)``; ``width``
scales every layer, the five poolings leave 1x1 of a 32x32 input.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from ._util import check_positive, scaled, spatial_size

M, LRN = "M", "LRN"

CONFIGS: dict[str, list] = {
    "A": [64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M],
    "A-LRN": [64, LRN, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M],
    "B": [64, 64, M, 128, 128, M, 256, 256, M, 512, 512, M, 512, 512, M],
    "C": [64, 64, M, 128, 128, M, 256, 256, (256, 1), M, 512, 512, (512, 1), M,
          512, 512, (512, 1), M],
    "D": [64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M, 512, 512, 512, M],
    "E": [64, 64, M, 128, 128, M, 256, 256, 256, 256, M, 512, 512, 512, 512, M,
          512, 512, 512, 512, M],
}  # fmt: skip

#: torchvision's names: vgg11 = A, vgg13 = B, vgg16 = D, vgg19 = E.
DEPTHS = {11: "A", 13: "B", 16: "D", 19: "E"}


def make_layers(
    cfg: list, batch_norm: bool = False, in_channels: int = 3, width: float = 1.0
) -> nn.Sequential:
    """The convolutional part of a configuration.

    x: (N, in_channels, H, W) -> (N, C, H / 2^p, W / 2^p) for p poolings (5 in VGG).
    """
    layers: list[nn.Module] = []
    c_in = in_channels
    for v in cfg:
        if v == M:
            layers.append(nn.MaxPool2d(2, stride=2))
        elif v == LRN:
            layers.append(nn.LocalResponseNorm(5, alpha=5 * 1e-4, beta=0.75, k=2.0))
        else:
            filters, k = v if isinstance(v, tuple) else (v, 3)
            c_out = scaled(filters, width)
            layers.append(nn.Conv2d(c_in, c_out, k, padding=k // 2))
            if batch_norm:
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.ReLU(inplace=True))
            c_in = c_out
    return nn.Sequential(*layers)


def vgg(
    config: str | int = "D",
    num_classes: int = 1000,
    in_channels: int = 3,
    input_size: int = 224,
    batch_norm: bool = False,
    width: float = 1.0,
    dropout: float = 0.5,
    adaptive_pool: bool = False,
) -> nn.Module:
    """VGG by configuration letter ("A", "A-LRN", "B", "C", "D", "E") or depth (11, 13, 16, 19).

    x: (N, in_channels, input_size, input_size) -> logits (N, num_classes).
    """
    name = DEPTHS.get(config, config) if isinstance(config, int) else config
    if name not in CONFIGS:
        valid = list(CONFIGS) + list(DEPTHS)
        raise ValueError(f"config: expected one of {valid}, got {config!r}")
    check_positive("num_classes", num_classes)
    features = make_layers(CONFIGS[name], batch_norm, in_channels, width)
    c_out = next(m.out_channels for m in reversed(features) if isinstance(m, nn.Conv2d))
    if adaptive_pool:
        side, avgpool = 7, nn.AdaptiveAvgPool2d(7)
    else:
        side, avgpool = spatial_size(features, input_size), nn.Identity()
    if side < 1:
        raise ValueError(f"input_size: expected at least 32 (five 2x2 poolings), got {input_size}")
    fc = scaled(4096, width)
    classifier = nn.Sequential(
        nn.Linear(c_out * side * side, fc),
        nn.ReLU(inplace=True),
        nn.Dropout(dropout),
        nn.Linear(fc, fc),
        nn.ReLU(inplace=True),
        nn.Dropout(dropout),
        nn.Linear(fc, num_classes),
    )
    return nn.Sequential(
        OrderedDict(features=features, avgpool=avgpool, flatten=nn.Flatten(), classifier=classifier)
    )
