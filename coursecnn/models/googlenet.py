"""GoogLeNet (Szegedy et al. 2015) and its Inception module, naive, reduced, v2 and v3-style.

The :class:`Inception` module concatenates four branches along the channels:

- naive (``naive=True``, the paper's fig. 2a): 1x1, 3x3 and 5x5 convolutions and a 3x3
  max-pool, all on the full input; the pool branch passes all input channels on, so the width
  grows module after module;
- with dimension reductions (fig. 2b, the default): 1x1 "reduce" convolutions before the 3x3
  and the 5x5, and a 1x1 "pool projection" after the pool;
- ``batch_norm=True``: the seed's "Inception v2 = v1 + batch norm", every conv is conv (no
  bias) -> batch norm -> ReLU;
- ``factorised=True``: the seed's "Inception v3", the 5x5 as two stacked 3x3 (same 5x5 receptive
  field, 18/25 of the weights when the width is kept).

``googlenet(version=1|2|3)`` builds the network of Table 1 from those modules (version 2 adds
batch norm, 3 also factorises): the seed's simplifications, not the papers' networks. Ioffe and
Szegedy's BN-Inception (2015) also replaced every 5x5 by two 3x3, added a third 28x28 module,
mixed average and max pooling, used stride-2 modules between stages and dropped dropout and LRN
(13.6 million parameters); Szegedy et al.'s Inception-v3 (2016) adds 1xn/nx1 factorisations,
grid-size reduction modules, label smoothing, RMSProp and a batch-normalised auxiliary head. ``variant="torchvision"`` is ``torchvision.models.googlenet``
(``aux_logits=False``): batch norm, no LRN, and - a known quirk kept for its weights - a 3x3
where the paper has the 5x5; 6,624,904 parameters. The paper's two auxiliary classifiers (used
in training only) are not built.

Course size: ``googlenet(small_input=True, in_channels=1, num_classes=10, width=0.25)``: a
3x3 stem without poolings replaces the 7x7 stride-2 stem, for 28x28 or 32x32 inputs.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from ._util import check_choice, check_positive, scaled

#: Table 1: (name, #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj); "M" a 3x3/2 max-pool.
INCEPTION_TABLE: list = [
    ("3a", 64, 96, 128, 16, 32, 32),
    ("3b", 128, 128, 192, 32, 96, 64),
    "M",
    ("4a", 192, 96, 208, 16, 48, 64),
    ("4b", 160, 112, 224, 24, 64, 64),
    ("4c", 128, 128, 256, 24, 64, 64),
    ("4d", 112, 144, 288, 32, 64, 64),
    ("4e", 256, 160, 320, 32, 128, 128),
    "M",
    ("5a", 256, 160, 320, 32, 128, 128),
    ("5b", 384, 192, 384, 48, 128, 128),
]


class ConvUnit(nn.Sequential):
    """conv -> ReLU, or conv (no bias) -> batch norm -> ReLU with ``batch_norm=True``."""

    def __init__(self, c_in: int, c_out: int, k: int, stride: int = 1, batch_norm: bool = False):
        layers: list[nn.Module] = [
            nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, bias=not batch_norm)
        ]
        if batch_norm:
            layers.append(nn.BatchNorm2d(c_out, eps=1e-3))
        layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class Inception(nn.Module):
    """One Inception module; x: (N, in_channels, H, W) -> (N, out_channels, H, W).

    ``out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj``; naive: ``pool_proj`` is unused and the
    pool branch keeps ``in_channels``. ``large_kernel`` is the 5x5 branch's kernel (3 in
    torchvision's GoogLeNet).
    """

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch3x3red: int,
        ch3x3: int,
        ch5x5red: int,
        ch5x5: int,
        pool_proj: int,
        *,
        naive: bool = False,
        batch_norm: bool = False,
        factorised: bool = False,
        large_kernel: int = 5,
    ):
        super().__init__()
        bn = batch_norm

        def unit(c_in, c_out, k):
            return ConvUnit(c_in, c_out, k, batch_norm=bn)

        if naive:
            self.branch1 = unit(in_channels, ch1x1, 1)
            self.branch2 = unit(in_channels, ch3x3, 3)
            self.branch3 = unit(in_channels, ch5x5, large_kernel)
            self.branch4 = nn.MaxPool2d(3, stride=1, padding=1)
            self.out_channels = ch1x1 + ch3x3 + ch5x5 + in_channels
        else:
            self.branch1 = unit(in_channels, ch1x1, 1)
            self.branch2 = nn.Sequential(unit(in_channels, ch3x3red, 1), unit(ch3x3red, ch3x3, 3))
            if factorised:
                large = [unit(ch5x5red, ch5x5, 3), unit(ch5x5, ch5x5, 3)]
            else:
                large = [unit(ch5x5red, ch5x5, large_kernel)]
            self.branch3 = nn.Sequential(unit(in_channels, ch5x5red, 1), *large)
            self.branch4 = nn.Sequential(
                nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                unit(in_channels, pool_proj, 1),
            )
            self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = (self.branch1, self.branch2, self.branch3, self.branch4)
        return torch.cat([b(x) for b in branches], dim=1)


def _lrn() -> nn.Module:
    return nn.LocalResponseNorm(5, alpha=5 * 1e-4, beta=0.75, k=2.0)


def googlenet(
    num_classes: int = 1000,
    in_channels: int = 3,
    naive: bool = False,
    version: int = 1,
    variant: str = "paper",
    width: float = 1.0,
    small_input: bool = False,
    dropout: float | None = None,
) -> nn.Sequential:
    """GoogLeNet (Table 1); x: (N, in_channels, 224, 224) -> logits (N, num_classes).

    ``version``: 1 (the paper), 2 (the seed's v2: batch norm), 3 (the seed's v3: batch norm and
    5x5 as two 3x3); see the module docstring for what the papers' v2 and v3 change besides.
    ``variant="torchvision"`` matches torchvision's parameter count (see the module docstring).
    Dropout defaults to the paper's 0.4 (torchvision's 0.2). Any input size works (global
    average pooling); the paper's is 224. Parameters: 6,998,552 (version 1), 7,005,832 (2),
    7,292,264 (3), 6,624,904 (torchvision); ``naive=True`` 97,526,008, as the pool branches
    pass every channel on and the 3x3 and 5x5 convolutions see them all.
    """
    check_choice("version", version, (1, 2, 3))
    check_choice("variant", variant, ("paper", "torchvision"))
    check_positive("num_classes", num_classes)
    tv = variant == "torchvision"
    bn = tv or version >= 2
    lrn = not bn
    if dropout is None:
        dropout = 0.2 if tv else 0.4
    if tv and (naive or version != 1):
        raise ValueError(
            f"variant: 'torchvision' is one fixed net, got it with naive={naive}, version={version}"
        )

    layers: list[tuple[str, nn.Module]] = []
    c64, c192 = scaled(64, width), scaled(192, width)
    if small_input:
        layers.append(("stem", ConvUnit(in_channels, c192, 3, batch_norm=bn)))
    else:
        layers += [
            ("conv1", ConvUnit(in_channels, c64, 7, stride=2, batch_norm=bn)),
            ("pool1", nn.MaxPool2d(3, stride=2, ceil_mode=True)),
        ]
        layers += [("lrn1", _lrn())] if lrn else []
        layers += [("conv2", ConvUnit(c64, c64, 1, batch_norm=bn))]
        layers += [("conv3", ConvUnit(c64, c192, 3, batch_norm=bn))]
        layers += [("lrn2", _lrn())] if lrn else []
        layers += [("pool2", nn.MaxPool2d(3, stride=2, ceil_mode=True))]
    c_in, pools = c192, 2
    for row in INCEPTION_TABLE:
        if row == "M":
            pools += 1
            layers.append((f"pool{pools}", nn.MaxPool2d(3, stride=2, ceil_mode=True)))
            continue
        name, *chs = row
        block = Inception(
            c_in,
            *(scaled(c, width) for c in chs),
            naive=naive,
            batch_norm=bn,
            factorised=version == 3,
            large_kernel=3 if tv else 5,
        )
        layers.append((f"inception{name}", block))
        c_in = block.out_channels
    layers += [
        ("avgpool", nn.AdaptiveAvgPool2d(1)),
        ("flatten", nn.Flatten()),
        ("dropout", nn.Dropout(dropout)),
        ("fc", nn.Linear(c_in, num_classes)),
    ]
    return nn.Sequential(OrderedDict(layers))
