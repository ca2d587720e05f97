"""A small U-Net: an encoder-decoder whose decoder receives the encoder's feature maps.

Ronneberger, Fischer and Brox, "U-Net" (2015): each step of the expanding path upsamples with a
learned 2x2 "up-convolution" (here a 2x2 transposed convolution with stride 2) that halves the
number of channels, *concatenates* the feature map of the contracting path at the same size (a
skip connection), and convolves the concatenation. Where SegNet (``segnet``) hands the decoder
only the pooling indices (where each maximum was), U-Net hands it the whole feature map before
each pooling: what was there, not only where the maximum was.

Course size, and built to sit beside ``segnet`` with the same table: ``channels=(16, 32, 64)``
gives the same encoder as ``segnet(channels=(16, 32, 64))`` (blocks of 3x3 convolution, batch norm
and ReLU, each followed by 2x2 max pooling) and three decoder steps, deepest first; decoder step
``i`` up-convolves ``channels[i]`` maps to ``channels[i] // 2``, concatenates the ``channels[i]``
maps of encoder block ``i`` and convolves the ``channels[i] * 3 // 2`` maps to
``channels[i - 1]`` (``channels[0]`` for the last); a 1x1 convolution gives the class scores. The
paper's convolutions are unpadded and its skips cropped; these are padded, so every size comes
back exactly (non-square and odd sizes included), and the paper's bottom block of two
convolutions at the smallest size is left out, as in ``segnet``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._util import check_positive
from .segnet import _check_input, _conv_block


class _UpConv(nn.Module):
    """2x2 transposed convolution, stride 2: ``c_in`` maps of H x W -> ``c_out`` maps of ``size``
    (2H or 2H + 1 along each axis)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(c_in, c_out, 2, stride=2)

    def forward(self, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        return self.up(x, output_size=size)  # torch adds the output_padding that gives `size`


class UNet(nn.Module):
    """x: (N, in_channels, H, W) -> class scores (logits) (N, num_classes, H, W)."""

    def __init__(
        self,
        num_classes: int,
        in_channels: int = 1,
        channels: Sequence[int] = (16, 32, 64),
        convs_per_block: int = 1,
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        check_positive("num_classes", num_classes)
        check_positive("in_channels", in_channels)
        check_positive("convs_per_block", convs_per_block)
        channels = tuple(channels)
        if not channels or any(c < 2 for c in channels):
            raise ValueError(
                f"channels: expected one or more widths of 2 or more, got {channels!r}"
            )
        self.channels = channels
        widths = (in_channels, *channels)
        self.encoder = nn.ModuleList(
            _conv_block(a, b, convs_per_block, batch_norm)
            for a, b in zip(widths[:-1], channels, strict=True)
        )
        self.pool = nn.MaxPool2d(2)
        # decoder step i (deepest first): up-convolve channels[i] -> channels[i] // 2, concatenate
        # the channels[i] maps of encoder block i, convolve to channels[i - 1]
        self.upsample = nn.ModuleList()
        self.decoder = nn.ModuleList()
        for i in reversed(range(len(channels))):
            c, half = channels[i], channels[i] // 2
            self.upsample.append(_UpConv(c, half))
            self.decoder.append(
                _conv_block(half + c, channels[max(i - 1, 0)], convs_per_block, batch_norm)
            )
        self.classifier = nn.Conv2d(channels[0], num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, len(self.channels))
        skips = []
        for block in self.encoder:
            x = block(x)
            skips.append(x)  # the whole feature map before pooling: the skip connection
            x = self.pool(x)
        for up, block in zip(self.upsample, self.decoder, strict=True):
            skip = skips.pop()
            x = block(torch.cat([up(x, tuple(skip.shape[-2:])), skip], dim=1))
        return self.classifier(x)


def unet(
    num_classes: int,
    in_channels: int = 1,
    channels: Sequence[int] = (16, 32, 64),
    convs_per_block: int = 1,
    batch_norm: bool = True,
) -> UNet:
    """A :class:`UNet`: x (N, in_channels, H, W) -> logits (N, num_classes, H, W)."""
    return UNet(num_classes, in_channels, channels, convs_per_block, batch_norm)


__all__ = ["UNet", "unet"]
