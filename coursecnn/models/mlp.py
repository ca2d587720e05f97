"""The multilayer perceptron: the fully connected baseline that CNNs are compared against.

The seed's count: a 32x32 greyscale image, hidden layers of 512 and 256, 10 outputs, has
1024*512 + 512*256 + 256*10 = 657,920 weights. The seed adds "1,802 offsets", which is
1024 + 512 + 256 + 10: one per unit including the 1,024 input pixels. The network has offsets
on its computing units only, 512 + 256 + 10 = 778.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from ._util import activation_layer, check_positive


def mlp(
    input_size: int = 32,
    hidden: Sequence[int] = (512, 256),
    num_classes: int = 10,
    in_channels: int = 1,
    activation: str = "relu",
    dropout: float = 0.0,
) -> nn.Sequential:
    """Flatten, then ``Linear -> activation`` for each width in ``hidden``, then ``Linear``.

    x: (N, in_channels, input_size, input_size) -> logits (N, num_classes).

    ``mlp()`` is the seed's net (32x32x1, 512, 256, 10: 657,920 weights, 778 biases);
    ``mlp(input_size=9, hidden=(20, 20))`` the seed's 9x9 example (81*20 + 20*20 + 20*10
    = 2,220 weights).
    """
    check_positive("input_size", input_size)
    check_positive("num_classes", num_classes)
    check_positive("in_channels", in_channels)
    for h in hidden:
        check_positive("hidden", h)
    layers: list[nn.Module] = [nn.Flatten()]
    width = in_channels * input_size * input_size
    for h in hidden:
        layers += [nn.Linear(width, h), activation_layer(activation)]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)
