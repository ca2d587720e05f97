"""AlexNet (Krizhevsky, Sutskever and Hinton 2012), one tower, and two well-known relatives.

One table, three variants:

- ``"paper"`` (default): conv 96 11x11 stride 4 -> ReLU -> LRN -> max-pool 3x3 stride 2
  (overlapping) -> conv 256 5x5 -> ReLU -> LRN -> pool -> conv 384, 384, 256 3x3 -> pool ->
  FC 4096, 4096, 1000 with dropout 0.5 before the first two (torchvision's placement: it drops
  the flattened conv features and fc6's outputs; the paper drops the outputs of fc6 and fc7).
  62,378,344 parameters.
  The paper's two-GPU split (grouped conv2, conv4, conv5) is merged into one tower.
- ``"seed"``: the course seed's figure (Prince 2023, fig. 10.16), whose last 13x13x256 map is
  flattened without the final pooling: 43,264 = 256*13*13 inputs to FC-4096, so that layer has
  43,264 * 4,096 = 177,209,344 weights and 4,096 biases.
- ``"torchvision"``: ``torchvision.models.alexnet`` (the "one weird trick" version: 64, 192,
  384, 256, 256 filters, no LRN, adaptive 6x6 pooling), 61,100,840 parameters.

224 or 227? The paper and the seed say 224x224, but an 11x11 kernel with stride 4 gives
(224 - 11)/4 + 1 = 54.25, not the quoted 55x55; 55 is exact for 227 (no padding) or for 224
with padding 2 (torchvision's choice). ``"paper"`` and ``"seed"`` default to 227 unpadded,
``"torchvision"`` to 224 with padding 2; all three reach 55x55, then 27, 13 and 6.

LRN: PyTorch divides ``alpha`` by the window ``size``; the paper's k=2, n=5, alpha=1e-4,
beta=0.75 is ``nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)``.

Course size: ``alexnet(input_size=32, in_channels=1, num_classes=10, width=0.25)``. Inputs under
64 pixels swap the 11x11 stride-4 stem for 3x3 stride 1 (``small_input``, automatic), so the
three poolings leave 3x3 of a 32x32 image; ``width`` scales every conv and FC layer.

Two of the paper's ablations are options: ``activation="tanh"`` (its Figure 1 races ReLU against
tanh) puts tanh after every conv and hidden FC layer, and ``pool_kernel=2`` pools 2x2 windows
with stride 2 (non-overlapping) instead of 3x3 with stride 2. Both poolings give the same map
sizes whenever the map entering them has an odd side: at 227, 55 -> 27 -> 13 -> 6 either way (a
course-size net keeps them equal at 31x31: 31 -> 15 -> 7 -> 3). ``lrn=False`` drops the two LRN
layers (VGG's A-LRN found they do not help).
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from ._util import activation_layer, check_choice, check_positive, scaled, spatial_size

#: conv layers: (filters, kernel, stride, padding, LRN after it, max-pool after it)
ALEXNET = {
    "paper": {
        "convs": [
            (96, 11, 4, 0, True, True),
            (256, 5, 1, 2, True, True),
            (384, 3, 1, 1, False, False),
            (384, 3, 1, 1, False, False),
            (256, 3, 1, 1, False, True),
        ],
        "fc": (4096, 4096),
        "input_size": 227,
        "adaptive_pool": None,
    },
    "seed": {
        "convs": [
            (96, 11, 4, 0, True, True),
            (256, 5, 1, 2, True, True),
            (384, 3, 1, 1, False, False),
            (384, 3, 1, 1, False, False),
            (256, 3, 1, 1, False, False),  # no final pooling: 13x13x256 = 43,264 to the FC
        ],
        "fc": (4096, 4096),
        "input_size": 227,
        "adaptive_pool": None,
    },
    "torchvision": {
        "convs": [
            (64, 11, 4, 2, False, True),
            (192, 5, 1, 2, False, True),
            (384, 3, 1, 1, False, False),
            (256, 3, 1, 1, False, False),
            (256, 3, 1, 1, False, True),
        ],
        "fc": (4096, 4096),
        "input_size": 224,
        "adaptive_pool": 6,
    },
}


def local_response_norm() -> nn.LocalResponseNorm:
    """The paper's local response normalisation (k=2, n=5, alpha=1e-4, beta=0.75)."""
    return nn.LocalResponseNorm(5, alpha=5 * 1e-4, beta=0.75, k=2.0)


def alexnet(
    num_classes: int = 1000,
    in_channels: int = 3,
    input_size: int | None = None,
    width: float = 1.0,
    dropout: float = 0.5,
    variant: str = "paper",
    small_input: bool | None = None,
    activation: str = "relu",
    pool_kernel: int = 3,
    lrn: bool = True,
) -> nn.Module:
    """AlexNet; x: (N, in_channels, input_size, input_size) -> logits (N, num_classes).

    ``input_size`` defaults to the variant's (227, or 224 for torchvision); ``small_input``
    defaults to ``input_size < 64``. The model has ``features``, ``avgpool`` (identity unless
    torchvision's) and ``classifier``; ``classifier[1]`` is the FC after the last conv.
    activation: ``"relu"`` (the paper's) or ``"tanh"``, after every conv and hidden FC layer.
    pool_kernel: the side of the max-pooling windows, always with stride 2 (3: overlapping, the
    paper's; 2: non-overlapping). lrn: keep the variant's LRN layers (none in torchvision's).
    """
    check_choice("variant", variant, ALEXNET)
    check_positive("num_classes", num_classes)
    check_choice("activation", activation, ("relu", "tanh"))
    if not isinstance(pool_kernel, int) or isinstance(pool_kernel, bool) or pool_kernel < 2:
        raise ValueError(f"pool_kernel: expected an integer of at least 2, got {pool_kernel!r}")
    spec = ALEXNET[variant]
    input_size = spec["input_size"] if input_size is None else input_size
    if small_input is None:
        small_input = input_size < 64
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    c_in = in_channels
    for i, (filters, k, s, p, use_lrn, pool) in enumerate(spec["convs"], start=1):
        if i == 1 and small_input:
            k, s, p = 3, 1, 1
        c_out = scaled(filters, width)
        layers[f"conv{i}"] = nn.Conv2d(c_in, c_out, k, stride=s, padding=p)
        layers[f"{activation}{i}"] = activation_layer(activation)
        if use_lrn and lrn:
            layers[f"lrn{i}"] = local_response_norm()
        if pool:
            layers[f"pool{i}"] = nn.MaxPool2d(pool_kernel, stride=2)
        c_in = c_out
    features = nn.Sequential(layers)
    if spec["adaptive_pool"]:
        side = spec["adaptive_pool"]
        avgpool: nn.Module = nn.AdaptiveAvgPool2d(side)
    else:
        side = spatial_size(features, input_size)
        avgpool = nn.Identity()
    if side < 1:
        raise ValueError(f"input_size: too small for AlexNet's poolings, got {input_size}")
    fc1, fc2 = (scaled(f, width) for f in spec["fc"])
    classifier = nn.Sequential(
        nn.Dropout(dropout),
        nn.Linear(c_in * side * side, fc1),
        activation_layer(activation),
        nn.Dropout(dropout),
        nn.Linear(fc1, fc2),
        activation_layer(activation),
        nn.Linear(fc2, num_classes),
    )
    return nn.Sequential(
        OrderedDict(features=features, avgpool=avgpool, flatten=nn.Flatten(), classifier=classifier)
    )
