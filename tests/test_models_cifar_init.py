"""The CIFAR ResNets (6n+2, option A shortcuts), He initialisation, and the per-layer gradient
and activation statistics that notebook 07 measures with."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from coursecnn.gradient_norms import activation_rms, layer_gradient_stats
from coursecnn.models import (
    BasicBlock,
    PadShortcut,
    cifar_resnet,
    count_params,
    googlenet,
    he_init,
    summary,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize(
    "depth, millions", [(20, 0.27), (32, 0.46), (44, 0.66), (56, 0.85), (110, 1.7)]
)
def test_cifar_resnet_counts_match_the_paper(depth, millions):
    # He et al. 2016, Table 6: 0.27M, 0.46M, 0.66M, 0.85M, 1.7M parameters on CIFAR-10
    with torch.device("meta"):
        res, plain = cifar_resnet(depth), cifar_resnet(depth, plain=True)
    n = count_params(res)
    assert round(n / 1e6, 2 if depth < 110 else 1) == millions
    assert count_params(plain) == n  # option A shortcuts have no parameters
    layers = [m for m in res.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    assert len(layers) == depth  # 6n + 2 weight layers


def test_cifar_resnet_shapes_and_plain_twin():
    model = cifar_resnet(20, in_channels=1, width=0.25)
    s = summary(model, (1, 28, 28))
    shapes = {r.name: r.output_shape for r in s.rows}
    assert shapes["layer1.2.conv2"] == (1, 4, 28, 28)
    assert shapes["layer2.0.conv1"] == (1, 8, 14, 14)
    assert shapes["layer3.2.conv2"] == (1, 16, 7, 7)
    assert s.output_shape == (1, 10)
    plain = cifar_resnet(20, in_channels=1, width=0.25, plain=True)
    assert all(b.shortcut is None for b in plain.modules() if isinstance(b, BasicBlock))
    plain.load_state_dict(model.state_dict())  # the same tensors, names and shapes
    first = model.layer2[0]
    assert isinstance(first.shortcut, PadShortcut)
    assert isinstance(model.layer2[1].shortcut, nn.Identity)


@pytest.mark.parametrize("depth", [7, 21, 0, "20"])
def test_cifar_resnet_rejects_depths_not_6n_plus_2(depth):
    with pytest.raises(ValueError, match="depth"):
        cifar_resnet(depth)


@given(
    c_in=st.integers(1, 5),
    extra=st.integers(0, 4),
    stride=st.integers(1, 3),
    h=st.integers(1, 9),
    w=st.integers(1, 9),
)
@settings(max_examples=30, deadline=None)
def test_pad_shortcut_is_subsampled_identity_with_zero_channels(c_in, extra, stride, h, w):
    x = torch.randn(2, c_in, h, w)
    out = PadShortcut(c_in, c_in + extra, stride)(x)
    # what a strided 1x1 conv with an identity weight (and zero rows) would compute
    eye = torch.zeros(c_in + extra, c_in, 1, 1)
    eye[:c_in, :, 0, 0] = torch.eye(c_in)
    torch.testing.assert_close(out, F.conv2d(x, eye, stride=stride))
    assert out.shape == (2, c_in + extra, math.ceil(h / stride), math.ceil(w / stride))


def test_pad_shortcut_and_shortcut_type_errors():
    with pytest.raises(ValueError, match="out_channels"):
        PadShortcut(8, 4)
    with pytest.raises(ValueError, match="shortcut_type"):
        BasicBlock(4, 8, 2, shortcut_type="C")


def test_option_a_block_adds_the_padded_input():
    block = BasicBlock(3, 6, stride=2, shortcut_type="A").eval()
    x = torch.randn(2, 3, 5, 7)
    padded = F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, 0, 3))
    torch.testing.assert_close(block(x), torch.relu(block.residual(x) + padded))
    assert count_params(block) == count_params(BasicBlock(3, 6, 2, shortcut=False))


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
def test_he_init_variance(mode):
    conv = nn.Conv2d(64, 32, 3, bias=True)
    bn = nn.BatchNorm2d(32)
    with torch.no_grad():
        bn.weight.fill_(3.0)
    he_init(nn.Sequential(conv, bn), mode=mode, seed=0)
    fan = 64 * 9 if mode == "fan_in" else 32 * 9
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / fan), rel=0.05)
    assert conv.bias.abs().max() == 0 and bn.weight.eq(1).all() and bn.bias.eq(0).all()
    with pytest.raises(ValueError, match="mode"):
        he_init(conv, mode="xavier")


def test_he_init_keeps_relu_activations_and_default_shrinks_them():
    # wide 1x1 convolutions (a fully connected layer per pixel): little finite-width noise
    x = torch.randn(4, 256, 12, 12)

    def deep():
        torch.manual_seed(0)
        layers = [nn.Sequential(nn.Conv2d(256, 256, 1, bias=False), nn.ReLU()) for _ in range(8)]
        return nn.Sequential(*layers)

    rms_default, rms_he = activation_rms(deep(), x), activation_rms(he_init(deep()), x)
    assert list(rms_he) == [str(i) for i in range(8)]
    # PyTorch's default: variance 1/(3 fan_in), so the mean square falls 6x per ReLU layer
    # (no biases here: the default ones would add a floor that carries nothing of the input)
    assert rms_default["7"] / rms_default["0"] < 6**-3
    assert 0.7 < rms_he["7"] / rms_he["0"] < 1.4


def test_activation_rms_matches_a_hand_computation_and_rejects_unknown_names():
    model = googlenet(small_input=True, in_channels=1, num_classes=10, width=0.0625).eval()
    x = torch.randn(2, 1, 14, 14)
    rms = activation_rms(model, x, ["stem", "inception3a"])
    with torch.no_grad():
        h = model.stem(x)
        expected = model.inception3a(h).pow(2).mean().sqrt().item()
    assert rms["stem"] == pytest.approx(h.pow(2).mean().sqrt().item(), rel=1e-6)
    assert rms["inception3a"] == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="names"):
        activation_rms(model, x, ["inception9z"])


def test_layer_gradient_stats_against_autograd():
    torch.manual_seed(0)
    model = cifar_resnet(8, in_channels=1, width=0.25)
    x, y = torch.randn(8, 1, 12, 12), torch.randint(0, 10, (8,))
    stats = layer_gradient_stats(model, x, y)
    names = [s.name for s in stats]
    assert names[0] == "stem.0" and names[-1] == "fc" and len(names) == 8
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    for s in stats:
        w = dict(model.named_modules())[s.name].weight
        assert s.numel == w.numel()
        assert s.norm == pytest.approx(w.grad.norm().item(), rel=1e-5)
        assert s.rms == pytest.approx(w.grad.pow(2).mean().sqrt().item(), rel=1e-5)
        assert s.relative == pytest.approx((w.grad.norm() / w.norm()).item(), rel=1e-5)
    with pytest.raises(ValueError, match="labels"):
        layer_gradient_stats(model, x, y[:3])
