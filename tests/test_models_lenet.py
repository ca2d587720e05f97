"""MLP and LeNet: the seeds' parameter counts, the papers' counts, shapes, forward and backward."""

import pytest
import torch
from torch import nn

from coursecnn.models import count_params, lenet1, lenet5, mlp
from coursecnn.models.lenet import LENET1_H3_TABLE, LENET5_C3_TABLE, TableConv2d


def weights_and_biases(model: nn.Module) -> tuple[int, int]:
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return sum(m.weight.numel() for m in linears), sum(m.bias.numel() for m in linears)


def test_mlp_seed_32x32_counts():
    # seed 004: 1024*512 + 512*256 + 256*10 = 657,920 weights "and 1,802 offsets". The seed's
    # 1,802 is 1024 + 512 + 256 + 10, an offset for every unit including the 1,024 input pixels;
    # a network has offsets on its 512 + 256 + 10 computing units only.
    weights, biases = weights_and_biases(mlp(input_size=32, hidden=(512, 256), num_classes=10))
    assert weights == 657_920
    assert biases == 512 + 256 + 10 == 1_802 - 32 * 32
    assert weights_and_biases(mlp()) == (weights, biases)


def test_mlp_seed_9x9_counts():
    # seed 001: 9x9 image, two 20-wide layers, 10 outputs: 600 + 20K^2 = 2,220 weights
    assert weights_and_biases(mlp(input_size=9, hidden=(20, 20)))[0] == 2_220


def test_mlp_forward_backward():
    model = mlp(input_size=28, hidden=(32,), in_channels=3, num_classes=4, dropout=0.1)
    y = model(torch.randn(2, 3, 28, 28))
    assert y.shape == (2, 4)
    y.sum().backward()


def test_lenet1_counts():
    assert count_params(lenet1()) == 4 * 26 + 12 * (4 * 25 + 1) + 192 * 10 + 10 == 3_246
    # LeCun et al. 1990: "2578 independent parameters"
    assert count_params(lenet1(connections="paper", pool="paper")) == 2_578


def test_lenet1_paper_connections():
    # LeCun et al. 1990: "4635 units, 98442 connections": every unit's inputs plus its bias
    model = lenet1(connections="paper", pool="paper")
    h3 = 8 * 8 * sum(len(ins) * 25 + 1 for ins in LENET1_H3_TABLE)
    connections = 4 * 24 * 24 * 26 + 4 * 12 * 12 * 5 + h3 + 12 * 4 * 4 * 5 + 10 * 193
    assert connections == 98_442
    assert model.h3.weight.shape == (20, 5, 5) and model.h3.out_channels == 12
    units = 28 * 28 + 4 * 24 * 24 + 4 * 12 * 12 + 12 * 8 * 8 + 12 * 4 * 4 + 10
    assert units + 1 == 4_635  # the paper counts the bias unit


def test_lenet5_counts():
    assert count_params(lenet5()) == 61_706
    paper = lenet5(connections="paper", pool="paper")
    # LeCun et al. 1998: 60,000 trainable parameters, the output RBF's fixed ones aside
    assert count_params(paper) - count_params(paper.out) == 60_000
    assert count_params(paper.c3) == 1_516  # Table I: 60 kernels of 5x5 plus 16 biases
    assert sum(len(t) for t in LENET5_C3_TABLE) == 60


@pytest.mark.parametrize("factory", [lenet1, lenet5])
@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"activation": "relu", "pool": "max"},
        {"connections": "paper", "pool": "paper"},
        {"input_size": 32, "in_channels": 3, "num_classes": 5, "width": 2.0},
    ],
)
def test_lenet_forward_backward(factory, kw):
    model = factory(**kw)
    size = kw.get("input_size", 28 if factory is lenet1 else 32)
    x = torch.randn(2, kw.get("in_channels", 1), size, size)
    y = model(x)
    assert y.shape == (2, kw.get("num_classes", 10))
    y.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_lenet5_mnist_size_pads_c1():
    model = lenet5(input_size=28)
    assert model.c1.padding == (2, 2)
    assert count_params(model) == 61_706
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_table_conv_matches_masked_dense_conv():
    conv = TableConv2d(6, LENET5_C3_TABLE)
    x = torch.randn(2, 6, 14, 14)
    dense = conv.dense_weight()
    mask = torch.zeros(16, 6)
    for o, ins in enumerate(LENET5_C3_TABLE):
        mask[o, list(ins)] = 1
    assert torch.equal(dense.abs().sum((2, 3)) > 0, mask > 0)
    expected = torch.nn.functional.conv2d(x, dense, conv.bias)
    torch.testing.assert_close(conv(x), expected)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: lenet5(pool="median"), "pool"),
        (lambda: lenet5(activation="gelu2"), "activation"),
        (lambda: lenet1(connections="sparse"), "connections"),
        (lambda: lenet5(connections="paper", width=0.5), "width"),
        (lambda: lenet5(input_size=16), "input_size"),
        (lambda: mlp(hidden=(0,)), "hidden"),
    ],
)
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()
