"""AlexNet's ablation options (tanh, non-overlapping pooling, no LRN) and ``init_weights``."""

import math

import pytest
import torch
from torch import nn

from coursecnn.models import alexnet, count_params, init_weights, summary

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def shapes(model, size, channels=3):
    s = summary(model, (channels, size, size))
    return {r.name: r.output_shape for r in s.rows}


def test_defaults_are_unchanged():
    with torch.device("meta"):
        model = alexnet()
    kinds = [type(m).__name__ for m in model.features]
    assert kinds[:5] == ["Conv2d", "ReLU", "LocalResponseNorm", "MaxPool2d", "Conv2d"]
    pools = [m for m in model.features if isinstance(m, nn.MaxPool2d)]
    assert [(p.kernel_size, p.stride) for p in pools] == [(3, 2)] * 3
    assert count_params(model) == 62_378_344


def test_non_overlapping_pooling_keeps_the_papers_map_sizes():
    # the paper: 3x3 stride-2 pooling "produces output of equivalent dimensions" to 2x2 stride 2
    with torch.device("meta"):
        overlap, tiled = alexnet(), alexnet(pool_kernel=2)
    a, b = shapes(overlap, 227), shapes(tiled, 227)
    assert a == b
    assert [a[f"features.pool{i}"][2] for i in (1, 2, 5)] == [27, 13, 6]
    assert count_params(overlap) == count_params(tiled)
    assert all(m.kernel_size == 2 for m in tiled.features if isinstance(m, nn.MaxPool2d))


@pytest.mark.parametrize("size, sides", [(31, [15, 7, 3]), (28, None)])
def test_course_size_pooling_sides(size, sides):
    kw = dict(num_classes=10, in_channels=1, input_size=size, width=0.0625)
    a = shapes(alexnet(**kw), size, 1)
    b = shapes(alexnet(pool_kernel=2, **kw), size, 1)
    got_a = [a[f"features.pool{i}"][2] for i in (1, 2, 5)]
    got_b = [b[f"features.pool{i}"][2] for i in (1, 2, 5)]
    if sides is None:  # an even side: 2x2 windows leave one more row than 3x3 ones
        assert got_a == [13, 6, 2] and got_b == [14, 7, 3]
    else:  # odd sides all the way: the same maps
        assert got_a == got_b == sides


def test_tanh_everywhere_relu_nowhere():
    model = alexnet(num_classes=10, in_channels=1, input_size=31, width=0.0625, activation="tanh")
    kinds = [type(m) for m in model.modules()]
    assert kinds.count(nn.Tanh) == 7 and nn.ReLU not in kinds  # 5 convs + 2 hidden FC
    relu = alexnet(num_classes=10, in_channels=1, input_size=31, width=0.0625)
    assert [type(m) for m in relu.modules()].count(nn.ReLU) == 7
    assert relu.state_dict().keys() == model.state_dict().keys()
    x = torch.randn(2, 1, 31, 31)
    assert model(x).shape == (2, 10)


def test_without_lrn():
    with torch.device("meta"):
        model = alexnet(lrn=False)
    assert not any(isinstance(m, nn.LocalResponseNorm) for m in model.modules())
    assert count_params(model) == 62_378_344  # LRN has no parameters


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"activation": "sigmoid"}, "activation"),
        ({"pool_kernel": 1}, "pool_kernel"),
        ({"pool_kernel": 2.0}, "pool_kernel"),
    ],
)
def test_option_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        alexnet(**kw)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_init_weights_scales(activation):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(16, 64, 3), nn.Linear(400, 300))
    assert init_weights(model, activation) is model
    conv, fc = model
    for layer, fan_in, fan_out in ((conv, 16 * 9, 64 * 9), (fc, 400, 300)):
        std = layer.weight.std().item()
        if activation == "relu":
            expected = math.sqrt(2 / fan_in)  # He et al. 2015
        else:
            expected = 5 / 3 * math.sqrt(2 / (fan_in + fan_out))  # Glorot and Bengio, tanh gain
        assert std == pytest.approx(expected, rel=0.05)
        assert torch.count_nonzero(layer.bias) == 0


def test_init_weights_keeps_a_relu_signal():
    """Through 8 ReLU layers He init keeps the second moment; torch's default weights shrink it
    sixfold a layer (variance 1 / (3 fan_in), halved by the ReLU)."""
    torch.manual_seed(0)
    layers = [nn.Linear(256, 256, bias=False) for _ in range(8)]
    x = torch.randn(512, 256)

    def second_moment(ls):
        h = x
        for layer in ls:
            h = torch.relu(layer(h))
        return h.square().mean().item()

    default = second_moment(layers)
    init_weights(nn.Sequential(*layers), "relu")
    he = second_moment(layers)
    assert 0.3 < he < 3.0
    assert 6.0**-8 / 3 < default < 3 * 6.0**-8


def test_init_weights_rejects_unknown():
    with pytest.raises(ValueError, match="activation"):
        init_weights(nn.Linear(2, 2), "gelu")
