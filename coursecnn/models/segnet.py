"""A small SegNet: an encoder-decoder that labels every pixel (a structured output).

Badrinarayanan, Kendall and Cipolla, "SegNet" (2015): the encoder is blocks of 3x3
convolutions, each block followed by 2x2 max-pooling that remembers *where* each maximum was;
the decoder mirrors it, and each of its blocks first upsamples with max-unpooling at those
indices (``up="unpool"``), so that fine positions come back from the encoder. A last 1x1
convolution gives one score per class and pixel. For comparison ``up="transpose"`` upsamples
with a learned 4x4, stride-2 transposed convolution (its output is 2H or 2H + 1, so
every size before a pooling comes back), ``up="resize"`` with a nearest-neighbour
resize; every variant then applies the same convolutions.

The table ``channels`` drives the depth: ``(16, 32, 64)`` is three blocks down (1/8 of the
input size) and three up. Any H, W of at least ``2**len(channels)`` works, non-square and odd
sizes included (each upsampling restores the exact size before its pooling).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._util import check_choice, check_positive

UPSAMPLING = ("unpool", "transpose", "resize")


def _conv_block(c_in: int, c_out: int, convs: int, batch_norm: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for k in range(convs):
        layers.append(
            nn.Conv2d(c_in if k == 0 else c_out, c_out, 3, padding=1, bias=not batch_norm)
        )
        if batch_norm:
            layers.append(nn.BatchNorm2d(c_out))
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class _Unpool(nn.Module):
    """``nn.MaxUnpool2d(2)`` with the signature of the other upsamplers."""

    def __init__(self) -> None:
        super().__init__()
        self.unpool = nn.MaxUnpool2d(2)

    def forward(self, x: torch.Tensor, indices: torch.Tensor, size: tuple[int, int]):
        return self.unpool(x, indices, output_size=size)


class _Transpose(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(channels, channels, 4, stride=2, padding=1)  # 2H or 2H + 1

    def forward(self, x: torch.Tensor, indices: torch.Tensor, size: tuple[int, int]):
        return self.up(x, output_size=size)  # torch picks the output_padding that gives `size`


class _Resize(nn.Module):
    def forward(self, x: torch.Tensor, indices: torch.Tensor, size: tuple[int, int]):
        return nn.functional.interpolate(x, size=size, mode="nearest")


def _check_input(x: torch.Tensor, poolings: int) -> None:
    """x must be (N, C, H, W) with H and W large enough for ``poolings`` 2x2 poolings."""
    if x.ndim != 4:
        raise ValueError(f"x: expected (N, C, H, W), got shape {tuple(x.shape)}")
    smallest = 2**poolings
    if min(x.shape[-2:]) < smallest:
        raise ValueError(
            f"x: expected H and W of at least {smallest} for {poolings} poolings, "
            f"got {tuple(x.shape[-2:])}"
        )


class SegNet(nn.Module):
    """x: (N, in_channels, H, W) -> class scores (logits) (N, num_classes, H, W)."""

    def __init__(
        self,
        num_classes: int,
        in_channels: int = 1,
        channels: Sequence[int] = (16, 32, 64),
        up: str = "unpool",
        convs_per_block: int = 1,
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        check_positive("num_classes", num_classes)
        check_positive("in_channels", in_channels)
        check_positive("convs_per_block", convs_per_block)
        check_choice("up", up, UPSAMPLING)
        channels = tuple(channels)
        if not channels or any(c < 1 for c in channels):
            raise ValueError(f"channels: expected one or more positive widths, got {channels!r}")
        self.up, self.channels = up, channels
        widths = (in_channels, *channels)
        self.encoder = nn.ModuleList(
            _conv_block(a, b, convs_per_block, batch_norm)
            for a, b in zip(widths[:-1], channels, strict=True)
        )
        self.pool = nn.MaxPool2d(2, return_indices=True)
        # decoder block i (deepest first): upsample channels[i] maps, convolve to channels[i-1]
        self.upsample = nn.ModuleList()
        self.decoder = nn.ModuleList()
        for i in reversed(range(len(channels))):
            c = channels[i]
            self.upsample.append(
                _Unpool() if up == "unpool" else _Transpose(c) if up == "transpose" else _Resize()
            )
            self.decoder.append(
                _conv_block(c, channels[max(i - 1, 0)], convs_per_block, batch_norm)
            )
        self.classifier = nn.Conv2d(channels[0], num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, len(self.channels))
        stack = []
        for block in self.encoder:
            x = block(x)
            size = tuple(x.shape[-2:])
            x, idx = self.pool(x)
            stack.append((idx, size))
        for up, block in zip(self.upsample, self.decoder, strict=True):
            idx, size = stack.pop()
            x = block(up(x, idx, size))
        return self.classifier(x)


def segnet(
    num_classes: int,
    in_channels: int = 1,
    channels: Sequence[int] = (16, 32, 64),
    up: str = "unpool",
    convs_per_block: int = 1,
    batch_norm: bool = True,
) -> SegNet:
    """A :class:`SegNet`: x (N, in_channels, H, W) -> logits (N, num_classes, H, W).

    up: ``"unpool"`` (max-unpooling at the encoder's indices, as in SegNet), ``"transpose"``
    (4x4 stride-2 transposed convolution) or ``"resize"`` (nearest-neighbour, then convolve).
    """
    return SegNet(num_classes, in_channels, channels, up, convs_per_block, batch_norm)


__all__ = ["UPSAMPLING", "SegNet", "segnet"]
