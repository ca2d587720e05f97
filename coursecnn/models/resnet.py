"""ResNet (He et al. 2016): depths 18 to 152 from one table, its plain twin, PReLU, and a
residual net with one block shared across depth (the recurrent view).

``DEPTHS`` maps a depth to its block and the number of blocks in each of the four stages
(64, 128, 256 and 512 channels; bottleneck blocks output 4x that). Every depth reuses
:class:`BasicBlock` (two 3x3 convs) or :class:`Bottleneck` (1x1 reduce, 3x3, 1x1 expand);
the stride-2 downsampling sits on the 3x3 conv and the shortcut is a 1x1 projection with batch
norm where the shape changes (option B), as in torchvision, whose resnet18...resnet152 have
the same parameter counts: 11,689,512 / 21,797,672 / 25,557,032 / 44,549,160 / 60,192,808.

- ``plain=True``: the same layers without the shortcuts (and without the projections), the
  paper's "plain" baseline of any depth.
- ``activation="prelu"``: channel-wise PReLU (He et al. 2015) instead of ReLU; adds one
  parameter per channel per activation.
- Course size: ``small_input=True`` swaps the 7x7 stride-2 stem and its max-pool for one 3x3
  conv (for 28x28 and 32x32 images); ``width`` scales every stage.
- :class:`PreActBlock`: the pre-activation block of He et al. (2016b, "Identity mappings in
  deep residual networks"): BN -> act -> conv -> BN -> act -> conv, plus the shortcut, and
  nothing after the addition, so that the identity path is clean, forward and backward.
- :func:`zero_init_residual`: set the last BN's gamma of every residual block to 0 (torchvision's
  ``zero_init_residual``), so that each block starts as ``act(x)`` (post-activation) or exactly
  ``x`` (:class:`PreActBlock`, whose last layer is a convolution: it zeroes that instead).
- :func:`shared_resnet`: one residual block applied ``steps`` times, ``x <- x + F(x)``, the same
  weights at every step: a recurrent net unrolled in depth (Liao and Poggio 2016).
- :func:`cifar_resnet`: the paper's CIFAR-10 nets (section 4.2), depth 6n+2: a 3x3 stem, three
  stages of n basic blocks at 16, 32 and 64 channels (times ``width``), global average pooling;
  option A shortcuts (:class:`PadShortcut`, no parameters), so that the plain twin has exactly
  the same parameters. ResNet-20: 269,722 parameters (3 input channels), the paper's "0.27M"; ResNet-56 853,018 ("0.85M").
"""

from __future__ import annotations

import torch
from torch import nn

from ._util import check_choice, check_positive, scaled


def _act(name: str, channels: int) -> nn.Module:
    check_choice("activation", name, ("relu", "prelu"))
    return nn.ReLU(inplace=True) if name == "relu" else nn.PReLU(channels)


class PadShortcut(nn.Module):
    """Option A of He et al. (2016): the identity, subsampled by ``stride`` and zero-padded with
    new channels; no parameters. x: (N, in_channels, H, W) -> (N, out_channels, ceil(H / stride),
    ceil(W / stride)), the input in the first ``in_channels`` channels, zeros in the rest.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(
                f"out_channels: expected at least in_channels={in_channels}, got {out_channels}"
            )
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        return nn.functional.pad(x, (0, 0, 0, 0, 0, self.out_channels - self.in_channels))

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, stride={self.stride}"


class BasicBlock(nn.Module):
    """3x3 conv -> BN -> act -> 3x3 conv -> BN, plus the shortcut, -> act.

    x: (N, in_channels, H, W) -> (N, channels, H / stride, W / stride). Where the shape changes
    the shortcut is a 1x1 projection with BN (``shortcut_type="B"``) or the zero-padded identity
    (``"A"``, :class:`PadShortcut`); ``shortcut=False`` drops it (the plain block).
    """

    expansion = 1

    def __init__(
        self,
        in_channels: int,
        channels: int,
        stride: int = 1,
        shortcut: bool = True,
        activation: str = "relu",
        shortcut_type: str = "B",
    ):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.act1 = _act(activation, channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.act2 = _act(activation, channels)
        self.shortcut = _shortcut(in_channels, channels, stride, shortcut, shortcut_type)

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn2(self.conv2(self.act1(self.bn1(self.conv1(x)))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.residual(x)
        if self.shortcut is not None:
            out = out + self.shortcut(x)
        return self.act2(out)


class PreActBlock(nn.Module):
    """He et al. (2016b): BN -> act -> 3x3 conv (stride) -> BN -> act -> 3x3 conv, plus the
    shortcut; no BN and no activation after the addition: ``y = x + F(x)``.

    x: (N, in_channels, H, W) -> (N, channels, H / stride, W / stride). Where the shape changes
    the shortcut is a 1x1 projection (``shortcut_type="B"``; no BN: the next block's BN follows)
    or the zero-padded identity (``"A"``, :class:`PadShortcut`) of the pre-activated input, as in
    the paper's code; otherwise the identity on ``x`` itself.
    """

    expansion = 1

    def __init__(
        self,
        in_channels: int,
        channels: int,
        stride: int = 1,
        activation: str = "relu",
        shortcut_type: str = "B",
    ):
        super().__init__()
        check_choice("shortcut_type", shortcut_type, ("A", "B"))
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.act1 = _act(activation, in_channels)
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.act2 = _act(activation, channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        project = stride != 1 or in_channels != channels
        if not project:
            self.shortcut: nn.Module = nn.Identity()
        elif shortcut_type == "A":
            self.shortcut = PadShortcut(in_channels, channels, stride)
        else:
            self.shortcut = nn.Conv2d(in_channels, channels, 1, stride, bias=False)

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.act2(self.bn2(self.conv1(self.act1(self.bn1(x))))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if isinstance(self.shortcut, nn.Identity):
            return x + self.residual(x)
        pre = self.act1(self.bn1(x))
        out = self.conv2(self.act2(self.bn2(self.conv1(pre))))
        return out + self.shortcut(pre)


class Bottleneck(nn.Module):
    """1x1 conv (reduce) -> 3x3 conv (stride) -> 1x1 conv (expand x4), BN after each, plus the
    shortcut, -> act. x: (N, in_channels, H, W) -> (N, 4 * channels, H / stride, W / stride).
    """

    expansion = 4

    def __init__(
        self,
        in_channels: int,
        channels: int,
        stride: int = 1,
        shortcut: bool = True,
        activation: str = "relu",
    ):
        super().__init__()
        out = channels * self.expansion
        self.conv1 = nn.Conv2d(in_channels, channels, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.act1 = _act(activation, channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.act2 = _act(activation, channels)
        self.conv3 = nn.Conv2d(channels, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.act3 = _act(activation, out)
        self.shortcut = _shortcut(in_channels, out, stride, shortcut)

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.act2(self.bn2(self.conv2(x)))
        return self.bn3(self.conv3(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.residual(x)
        if self.shortcut is not None:
            out = out + self.shortcut(x)
        return self.act3(out)


def zero_init_residual(model: nn.Module) -> nn.Module:
    """Make every residual block of ``model`` start as "do nothing" to its residual: F = 0.

    :class:`BasicBlock` and :class:`Bottleneck` get their last BN's gamma set to 0 (torchvision's
    ``zero_init_residual=True``, Goyal et al. 2017): the block then computes ``act(x)``, not
    ``x``, since the activation follows the addition. :class:`PreActBlock` ends in a convolution,
    whose weights are set to 0: the block is then exactly ``x``. Returns ``model``.
    """
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, BasicBlock):
                m.bn2.weight.zero_()
            elif isinstance(m, Bottleneck):
                m.bn3.weight.zero_()
            elif isinstance(m, PreActBlock):
                m.conv2.weight.zero_()
    return model


def _shortcut(
    c_in: int, c_out: int, stride: int, enabled: bool, kind: str = "B"
) -> nn.Module | None:
    """``None`` (plain net), the identity, or where the shape changes a 1x1 projection with BN
    (option B) or the zero-padded identity (option A)."""
    check_choice("shortcut_type", kind, ("A", "B"))
    if not enabled:
        return None
    if stride == 1 and c_in == c_out:
        return nn.Identity()
    if kind == "A":
        return PadShortcut(c_in, c_out, stride)
    return nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))


#: depth -> (block, blocks per stage), the paper's Table 1.
DEPTHS: dict[int, tuple[type[nn.Module], tuple[int, int, int, int]]] = {
    18: (BasicBlock, (2, 2, 2, 2)),
    34: (BasicBlock, (3, 4, 6, 3)),
    50: (Bottleneck, (3, 4, 6, 3)),
    101: (Bottleneck, (3, 4, 23, 3)),
    152: (Bottleneck, (3, 8, 36, 3)),
}


def _stem(in_channels: int, c: int, small_input: bool, activation: str) -> nn.Sequential:
    if small_input:
        conv = nn.Conv2d(in_channels, c, 3, 1, 1, bias=False)
        return nn.Sequential(conv, nn.BatchNorm2d(c), _act(activation, c))
    conv = nn.Conv2d(in_channels, c, 7, 2, 3, bias=False)
    return nn.Sequential(conv, nn.BatchNorm2d(c), _act(activation, c), nn.MaxPool2d(3, 2, 1))


def _init(model: nn.Module) -> None:
    """He (fan-out) initialisation for convolutions, BN at weight 1, bias 0 (as torchvision)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def resnet(
    depth: int,
    num_classes: int = 1000,
    in_channels: int = 3,
    plain: bool = False,
    activation: str = "relu",
    width: float = 1.0,
    small_input: bool = False,
) -> nn.Sequential:
    """ResNet-``depth`` (18, 34, 50, 101, 152); x: (N, in_channels, 224, 224) -> (N, num_classes).

    Children: ``stem``, ``layer1`` ... ``layer4`` (each an ``nn.Sequential`` of blocks),
    ``avgpool``, ``flatten``, ``fc``. Any input size works (global average pooling).
    """
    if depth not in DEPTHS:
        raise ValueError(f"depth: expected one of {sorted(DEPTHS)}, got {depth!r}")
    check_positive("num_classes", num_classes)
    _act(activation, 1)
    block, counts = DEPTHS[depth]
    c_in = scaled(64, width)
    model = nn.Sequential()
    model.add_module("stem", _stem(in_channels, c_in, small_input, activation))
    for i, (n, channels) in enumerate(zip(counts, (64, 128, 256, 512), strict=True), start=1):
        c = scaled(channels, width)
        blocks = []
        for j in range(n):
            stride = 2 if j == 0 and i > 1 else 1
            blocks.append(block(c_in, c, stride, shortcut=not plain, activation=activation))
            c_in = c * block.expansion
        model.add_module(f"layer{i}", nn.Sequential(*blocks))
    model.add_module("avgpool", nn.AdaptiveAvgPool2d(1))
    model.add_module("flatten", nn.Flatten())
    model.add_module("fc", nn.Linear(c_in, num_classes))
    _init(model)
    return model


class SharedResNet(nn.Module):
    """Stem, then ``block`` applied ``steps`` times with the same weights, pool, classifier.

    x: (N, in_channels, H, W) -> (N, num_classes). ``h_{t+1} = act(h_t + F(h_t))`` for
    t = 0 .. steps-1: the unrolled view of a recurrent net; its parameter count does not grow
    with ``steps``.
    """

    def __init__(self, stem: nn.Module, block: nn.Module, steps: int, head: nn.Module):
        super().__init__()
        self.stem, self.block, self.steps, self.head = stem, block, steps, head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        for _ in range(self.steps):
            h = self.block(h)
        return self.head(h)


def shared_resnet(
    steps: int = 8,
    channels: int = 16,
    num_classes: int = 10,
    in_channels: int = 1,
    activation: str = "relu",
    plain: bool = False,
) -> SharedResNet:
    """A course-size residual net whose ``steps`` blocks are one :class:`BasicBlock`.

    x: (N, in_channels, H, W) -> (N, num_classes); 3x3 stem to ``channels``, no downsampling.
    ``plain=True`` drops the shortcut (the same weights then compose without the identity path).
    """
    check_positive("steps", steps)
    check_positive("channels", channels)
    stem = _stem(in_channels, channels, True, activation)
    block = BasicBlock(channels, channels, shortcut=not plain, activation=activation)
    head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes))
    model = SharedResNet(stem, block, steps, head)
    _init(model)
    return model


def cifar_resnet(
    depth: int = 20,
    num_classes: int = 10,
    in_channels: int = 3,
    plain: bool = False,
    activation: str = "relu",
    width: float = 1.0,
    preact: bool = False,
) -> nn.Sequential:
    """The CIFAR-10 ResNet of He et al. (2016, section 4.2), ``depth = 6n + 2`` (20, 32, 44, 56,
    110, ...); x: (N, in_channels, H, W) -> (N, num_classes), for 32x32 (or 28x28) images.

    3x3 conv (16 channels) -> BN -> act, then three stages of ``n`` :class:`BasicBlock` at 16, 32
    and 64 channels (each times ``width``; the first block of stages 2 and 3 has stride 2), global
    average pooling, one linear layer: 6n + 2 weight layers. Shortcuts are option A (zero-padded
    identity, :class:`PadShortcut`): ``plain=True`` has exactly the same parameters. Children:
    ``stem``, ``layer1`` ... ``layer3``, ``avgpool``, ``flatten``, ``fc``.

    ``preact=True``: the pre-activation net of He et al. (2016b) with the same convolutions: the
    stem is the 3x3 conv alone, every block a :class:`PreActBlock` (option A shortcuts), and
    one BN -> act (child ``final``) follows the last block, before the pooling.
    """
    if preact and plain:
        raise ValueError("preact: a pre-activation net has shortcuts; got plain=True as well")
    if not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
        raise ValueError(
            f"depth: expected 6n + 2 with n >= 1 (8, 14, 20, 32, 56, ...), got {depth!r}"
        )
    check_positive("num_classes", num_classes)
    _act(activation, 1)
    n = (depth - 2) // 6
    c_in = scaled(16, width)
    model = nn.Sequential()
    if preact:
        model.add_module("stem", nn.Sequential(nn.Conv2d(in_channels, c_in, 3, 1, 1, bias=False)))
    else:
        model.add_module("stem", _stem(in_channels, c_in, True, activation))
    for i, channels in enumerate((16, 32, 64), start=1):
        c = scaled(channels, width)
        blocks: list[nn.Module] = []
        for j in range(n):
            stride = 2 if j == 0 and i > 1 else 1
            if preact:
                blocks.append(PreActBlock(c_in, c, stride, activation, shortcut_type="A"))
            else:
                blocks.append(
                    BasicBlock(c_in, c, stride, shortcut=not plain, activation=activation,
                               shortcut_type="A")
                )  # fmt: skip
            c_in = c
        model.add_module(f"layer{i}", nn.Sequential(*blocks))
    if preact:
        model.add_module("final", nn.Sequential(nn.BatchNorm2d(c_in), _act(activation, c_in)))
    model.add_module("avgpool", nn.AdaptiveAvgPool2d(1))
    model.add_module("flatten", nn.Flatten())
    model.add_module("fc", nn.Linear(c_in, num_classes))
    _init(model)
    return model
