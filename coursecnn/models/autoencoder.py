"""A convolutional autoencoder: convolutions down to a code, and back up to the image.

Down (``down``): ``"stride"`` - 3x3 convolutions with stride 2; ``"pool"`` - 3x3 convolutions
then 2x2 max-pooling. Up (``up``): ``"transpose"`` - 3x3 transposed convolutions with stride 2
(their ``output_padding`` chosen so every size comes back exactly, 28 -> 14 -> 7 -> 14 -> 28);
``"unpool"`` - ``nn.MaxUnpool2d`` puts each value back where the encoder's max came from (the
encoder's pooling indices, so it needs ``down="pool"``), then a 3x3 convolution; ``"resize"`` -
nearest-neighbour resizing to the size, then a 3x3 convolution (``ResizeConv2d``, the fix for
the checkerboard artefact of transposed convolutions).
``code_size`` adds a fully connected bottleneck (a vector code); without it the code is the
last feature map. The output goes through a sigmoid: images in [0, 1], e.g. for ``nn.BCELoss``
or ``nn.MSELoss``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._util import check_choice, check_positive, conv_out
from .upsampling import ResizeConv2d


class ConvAutoencoder(nn.Module):
    """x: (N, C, S, S) -> reconstruction (N, C, S, S); ``encode`` / ``decode`` for the halves."""

    def __init__(
        self,
        in_channels: int = 1,
        input_size: int = 28,
        channels: Sequence[int] = (16, 32),
        code_size: int | None = None,
        down: str = "stride",
        up: str = "transpose",
    ):
        super().__init__()
        check_choice("down", down, ("stride", "pool"))
        check_choice("up", up, ("transpose", "unpool", "resize"))
        if up == "unpool" and down != "pool":
            raise ValueError(f"up: 'unpool' needs the pooling indices of down='pool', got {down!r}")
        self.down, self.up = down, up
        sizes = [input_size]
        for _ in channels:
            sizes.append(conv_out(sizes[-1], 3, 2, 1) if down == "stride" else sizes[-1] // 2)
        if sizes[-1] < 1:
            raise ValueError(
                f"input_size: too small for {len(channels)} halvings, got {input_size}"
            )
        self.sizes = sizes
        widths = [in_channels, *channels]

        self.encoder = nn.ModuleList()
        self.pools = nn.ModuleList()
        for c_in, c_out in zip(widths[:-1], widths[1:], strict=True):
            stride = 2 if down == "stride" else 1
            self.encoder.append(
                nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1), nn.ReLU(inplace=True))
            )
            if down == "pool":
                self.pools.append(nn.MaxPool2d(2, return_indices=True))

        c_last, s_last = widths[-1], sizes[-1]
        self.code_size = code_size
        if code_size is not None:
            check_positive("code_size", code_size)
            self.to_code = nn.Sequential(nn.Flatten(), nn.Linear(c_last * s_last**2, code_size))
            self.from_code = nn.Sequential(
                nn.Linear(code_size, c_last * s_last**2),
                nn.ReLU(inplace=True),
                nn.Unflatten(1, (c_last, s_last, s_last)),
            )

        self.decoder = nn.ModuleList()
        self.unpools = nn.ModuleList()
        for i in reversed(range(len(channels))):
            c_in, c_out, s_in, s_out = widths[i + 1], widths[i], sizes[i + 1], sizes[i]
            last = i == 0
            act = nn.Sigmoid() if last else nn.ReLU(inplace=True)
            if up == "transpose":
                pad = s_out - ((s_in - 1) * 2 - 2 + 3)
                layer = nn.ConvTranspose2d(c_in, c_out, 3, 2, 1, output_padding=pad)
            elif up == "resize":
                layer = ResizeConv2d(c_in, c_out, 3, size=s_out)
            else:
                self.unpools.append(nn.MaxUnpool2d(2))
                layer = nn.Conv2d(c_in, c_out, 3, 1, 1)
            self.decoder.append(nn.Sequential(layer, act))

    def encode(self, x: torch.Tensor, return_indices: bool = False):
        """x: (N, C, S, S) -> code (N, code_size), or (N, channels[-1], s, s) without one.

        ``return_indices=True`` also returns the pooling indices that ``decode`` needs for
        ``up="unpool"``.
        """
        indices = []
        for i, block in enumerate(self.encoder):
            x = block(x)
            if self.down == "pool":
                x, idx = self.pools[i](x)
                indices.append(idx)
        if self.code_size is not None:
            x = self.to_code(x)
        return (x, indices) if return_indices else x

    def decode(self, z: torch.Tensor, indices: list[torch.Tensor] | None = None) -> torch.Tensor:
        """code -> reconstruction (N, C, S, S) in [0, 1]; ``up="unpool"`` needs ``indices``."""
        if self.up == "unpool" and indices is None:
            raise ValueError("indices: up='unpool' needs the encoder's pooling indices, got None")
        x = self.from_code(z) if self.code_size is not None else z
        for j, block in enumerate(self.decoder):
            if self.up == "unpool":
                i = len(self.decoder) - 1 - j
                size = self.sizes[i]
                x = self.unpools[j](x, indices[i], output_size=(size, size))
            x = block(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z, indices = self.encode(x, return_indices=True)
        return self.decode(z, indices if self.up == "unpool" else None)


def conv_autoencoder(
    in_channels: int = 1,
    input_size: int = 28,
    channels: Sequence[int] = (16, 32),
    code_size: int | None = None,
    down: str = "stride",
    up: str = "transpose",
) -> ConvAutoencoder:
    """A :class:`ConvAutoencoder`; x: (N, in_channels, input_size, input_size) -> same shape."""
    return ConvAutoencoder(in_channels, input_size, channels, code_size, down, up)
