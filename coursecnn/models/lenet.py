"""LeNet-1 (LeCun et al. 1989/1990) and LeNet-5 (LeCun et al. 1998), as published and modernised.

Published form: tanh units, subsampling by 2x2 averaging. Each constructor has two knobs that
separate the textbook net from the paper's exact one:

- ``connections="full"`` joins every map of a layer to every map of the previous one (the form
  most textbooks and frameworks use); ``"paper"`` uses the paper's partial connection table
  (:class:`TableConv2d`, one 5x5 kernel per listed pair only).
- ``pool="avg"`` is plain 2x2 average pooling (no parameters), ``"max"`` the modern max pooling,
  ``"paper"`` the trainable subsampling of the papers (:class:`Subsampling`: average times a
  trainable coefficient plus a trainable bias per map, then the activation).

Parameter counts (measured by the tests):

- ``lenet1()``: 3,246 (full connections, plain average pooling).
- ``lenet1(connections="paper", pool="paper")``: 2,578, the 1990 paper's count (and its 98,442
  connections); the seed's "about 2,600".
- ``lenet5()``: 61,706 (full C3, plain average pooling), the count most textbooks quote.
- ``lenet5(connections="paper", pool="paper")``: 60,850 = the paper's 60,000 + 850 for the
  output layer.

The 1998 output layer is 10 Euclidean RBF units whose 84x10 parameters were fixed by hand; here
it is an ``nn.Linear(84, 10)`` (850 parameters), so the paper's "60,000 trainable parameters" are
everything but the output layer. The paper's scaled tanh (1.7159 tanh(2x/3)) is a plain tanh.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._util import activation_layer, check_choice, check_positive, conv_out, scaled
from .provenance import course_model

#: LeNet-5's C3 table (1998, Table I): which S2 maps each of the 16 C3 maps reads.
LENET5_C3_TABLE: tuple[tuple[int, ...], ...] = (
    *(tuple((i + j) % 6 for j in range(3)) for i in range(6)),  # 6 maps x 3 contiguous
    *(tuple((i + j) % 6 for j in range(4)) for i in range(6)),  # 6 maps x 4 contiguous
    (0, 1, 3, 4),
    (1, 2, 4, 5),
    (0, 2, 3, 5),  # 3 maps x 4 discontinuous
    (0, 1, 2, 3, 4, 5),  # 1 map x all 6
)

#: LeNet-1's H3 table (12 maps from the 4 H2 maps). The 1990 paper states the totals, not the
#: table: 20 kernels reproduce its 2,578 parameters and 98,442 connections exactly. Here 4 maps
#: read one H2 map and 8 maps read two (a reconstruction, not the paper's figure).
LENET1_H3_TABLE: tuple[tuple[int, ...], ...] = (
    (0,),
    (1,),
    (2,),
    (3,),
    (0, 1),
    (1, 2),
    (2, 3),
    (3, 0),
    (0, 2),
    (1, 3),
    (0, 1),
    (2, 3),
)

POOLS = ("avg", "max", "paper")
CONNECTIONS = ("full", "paper")


class TableConv2d(nn.Module):
    """A convolution in which output map ``o`` reads only the input maps listed in ``table[o]``.

    x: (N, in_channels, H, W) -> (N, len(table), H - k + 1, W - k + 1).
    One (k, k) kernel per listed pair: ``weight`` is (connections, k, k), so the parameter count
    is the paper's, not that of a dense kernel with zeros in it.
    """

    def __init__(self, in_channels: int, table: Sequence[Sequence[int]], kernel_size: int = 5):
        super().__init__()
        pairs = [(o, i) for o, ins in enumerate(table) for i in ins]
        if any(not 0 <= i < in_channels for _, i in pairs):
            raise ValueError(f"table: expected input maps in [0, {in_channels}), got {table}")
        self.in_channels, self.out_channels, self.kernel_size = in_channels, len(table), kernel_size
        self.register_buffer("out_index", torch.tensor([o for o, _ in pairs]), persistent=False)
        self.register_buffer("in_index", torch.tensor([i for _, i in pairs]), persistent=False)
        self.weight = nn.Parameter(torch.empty(len(pairs), kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(len(table)))
        fan_in = torch.bincount(self.out_index).float()[self.out_index] * kernel_size**2
        with torch.no_grad():  # uniform(+-1/sqrt(fan_in)) per kernel, like nn.Conv2d's default
            bound = fan_in.rsqrt().view(-1, 1, 1)
            self.weight.uniform_(-1, 1).mul_(bound)

    def dense_weight(self) -> torch.Tensor:
        """The (out, in, k, k) kernel with zeros where the table has no connection."""
        k = self.kernel_size
        w = self.weight.new_zeros(self.out_channels, self.in_channels, k, k)
        return w.index_put((self.out_index, self.in_index), self.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.dense_weight(), self.bias)

    def extra_repr(self) -> str:
        n = self.weight.shape[0]
        return f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, pairs={n}"


class Subsampling(nn.Module):
    """The papers' trainable subsampling: 2x2 average, times a coefficient, plus a bias, per map.

    x: (N, C, H, W) -> (N, C, H // 2, W // 2); 2*C parameters.
    """

    def __init__(self, channels: int, kernel_size: int = 2):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, kernel_size
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.avg_pool2d(x, self.kernel_size)
        return y * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


def _conv(in_ch: int, out_ch: int, table, connections: str) -> nn.Module:
    if connections == "paper":
        return TableConv2d(in_ch, table)
    return nn.Conv2d(in_ch, out_ch, 5)


def _pool(kind: str, channels: int, activation: str) -> nn.Module:
    if kind == "max":
        return nn.MaxPool2d(2)
    if kind == "avg":
        return nn.AvgPool2d(2)
    return nn.Sequential(Subsampling(channels), activation_layer(activation))


def _check(connections: str, pool: str, width: float) -> None:
    check_choice("connections", connections, CONNECTIONS)
    check_choice("pool", pool, POOLS)
    if connections == "paper" and width != 1.0:
        raise ValueError(f"width: the paper's connection table needs width=1.0, got {width}")


@course_model
def lenet1(
    num_classes: int = 10,
    in_channels: int = 1,
    input_size: int = 28,
    activation: str = "tanh",
    pool: str = "avg",
    connections: str = "full",
    width: float = 1.0,
) -> nn.Sequential:
    """LeNet-1: 28x28 -> conv 5x5 4 maps (24x24) -> pool (12x12) -> conv 5x5 12 maps (8x8)
    -> pool (4x4) -> FC 192 -> num_classes.

    x: (N, in_channels, input_size, input_size) -> (N, num_classes).
    3,246 parameters as built by default; ``connections="paper", pool="paper"`` gives the paper's
    2,578 (see the module docstring). Modern: ``activation="relu", pool="max"``.
    """
    _check(connections, pool, width)
    check_positive("num_classes", num_classes)
    h1, h3 = scaled(4, width), scaled(12, width)
    side = (conv_out(input_size, 5) // 2 - 4) // 2
    if side < 1:
        raise ValueError(f"input_size: expected at least 16, got {input_size}")
    return nn.Sequential(
        OrderedDict(
            h1=nn.Conv2d(in_channels, h1, 5),
            act1=activation_layer(activation),
            h2=_pool(pool, h1, activation),
            h3=_conv(h1, h3, LENET1_H3_TABLE, connections),
            act3=activation_layer(activation),
            h4=_pool(pool, h3, activation),
            flatten=nn.Flatten(),
            out=nn.Linear(h3 * side * side, num_classes),
        )
    )


@course_model
def lenet5(
    num_classes: int = 10,
    in_channels: int = 1,
    input_size: int = 32,
    activation: str = "tanh",
    pool: str = "avg",
    connections: str = "full",
    width: float = 1.0,
) -> nn.Sequential:
    """LeNet-5: 32x32 -> C1 6@5x5 (28x28) -> S2 (14x14) -> C3 16@5x5 (10x10) -> S4 (5x5)
    -> C5 120@5x5 (1x1) -> F6 84 -> num_classes.

    x: (N, in_channels, input_size, input_size) -> (N, num_classes).
    ``input_size=28`` (MNIST) pads C1 by 2, the usual way to get the paper's 32x32 geometry;
    other sizes keep C1 unpadded and widen F6's input to C5's output. 61,706 parameters as built
    by default; ``connections="paper", pool="paper"`` gives the paper's 60,000 plus an
    850-parameter output layer. Modern: ``activation="relu", pool="max"``.
    """
    _check(connections, pool, width)
    check_positive("num_classes", num_classes)
    c1, c3, c5, f6 = (scaled(c, width) for c in (6, 16, 120, 84))
    padding = 2 if input_size == 28 else 0
    side = conv_out((conv_out(input_size, 5, padding=padding) // 2 - 4) // 2, 5)
    if side < 1:
        raise ValueError(f"input_size: expected at least 28, got {input_size}")
    return nn.Sequential(
        OrderedDict(
            c1=nn.Conv2d(in_channels, c1, 5, padding=padding),
            act1=activation_layer(activation),
            s2=_pool(pool, c1, activation),
            c3=_conv(c1, c3, LENET5_C3_TABLE, connections),
            act3=activation_layer(activation),
            s4=_pool(pool, c3, activation),
            c5=nn.Conv2d(c3, c5, 5),
            act5=activation_layer(activation),
            flatten=nn.Flatten(),
            f6=nn.Linear(c5 * side * side, f6),
            act6=activation_layer(activation),
            out=nn.Linear(f6, num_classes),
        )
    )
