"""The seed's dogs-vs-cats Keras model, in PyTorch.

Keras::

    Conv2D(32, (3, 3), activation="relu", padding="same", input_shape=(150, 150, 3))
    MaxPooling2D(2)        # then the same with 64, 128 and 128 filters
    Flatten(); Dropout(0.5)
    Dense(512, activation="relu"); Dense(128, activation="relu"); Dense(1, activation="sigmoid")

At 150x150 the poolings give 75, 37, 18 and 9, so Flatten has 128*9*9 = 10,368 features;
5,615,553 parameters. Keras flattens channels-last, PyTorch channels-first: the same count, a
different order of the 10,368 weights of each Dense-512 unit.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from ._util import check_positive, scaled, spatial_size

FILTERS = (32, 64, 128, 128)
DENSE = (512, 128)


def dogs_vs_cats(
    num_classes: int = 1,
    in_channels: int = 3,
    input_size: int = 150,
    width: float = 1.0,
    dropout: float = 0.5,
    sigmoid: bool = True,
) -> nn.Sequential:
    """x: (N, in_channels, input_size, input_size) -> (N, num_classes).

    With ``num_classes=1`` and ``sigmoid=True`` (the seed's) the output is P(dog) in (0, 1),
    for ``nn.BCELoss``; ``sigmoid=False`` returns the logit, for ``nn.BCEWithLogitsLoss`` (more
    stable). With ``num_classes > 1`` the output is logits for ``nn.CrossEntropyLoss``.
    Course size: ``dogs_vs_cats(input_size=32, width=0.25)``.
    """
    check_positive("num_classes", num_classes)
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    c_in = in_channels
    for i, filters in enumerate(FILTERS, start=1):
        c_out = scaled(filters, width)
        layers[f"conv{i}"] = nn.Conv2d(c_in, c_out, 3, padding=1)
        layers[f"relu{i}"] = nn.ReLU(inplace=True)
        layers[f"pool{i}"] = nn.MaxPool2d(2)
        c_in = c_out
    side = spatial_size(layers.values(), input_size)
    if side < 1:
        raise ValueError(f"input_size: expected at least 16 (four 2x2 poolings), got {input_size}")
    d1, d2 = (scaled(d, width) for d in DENSE)
    layers["flatten"] = nn.Flatten()
    layers["dropout"] = nn.Dropout(dropout)
    layers["dense1"] = nn.Linear(c_in * side * side, d1)
    layers["relu5"] = nn.ReLU(inplace=True)
    layers["dense2"] = nn.Linear(d1, d2)
    layers["relu6"] = nn.ReLU(inplace=True)
    layers["out"] = nn.Linear(d2, num_classes)
    if sigmoid and num_classes == 1:
        layers["sigmoid"] = nn.Sigmoid()
    return nn.Sequential(layers)
