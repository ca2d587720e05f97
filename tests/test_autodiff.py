"""Forward mode (dual numbers) and reverse mode (Value graph) agree with PyTorch autograd."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coursecnn import autodiff as ad
from coursecnn.gradient_norms import (
    layer_gradient_norms,
    layer_gradient_stats,
    mean_local_slopes,
    plain_cnn,
)


def f_ad(x1, x2):
    """The worked example: f(x1, x2) = ln(x1) + x1 * x2 - sin(x2)."""
    return ad.log(x1) + x1 * x2 - ad.sin(x2)


def g_ad(x1, x2, x3):
    """Every operation once: +, -, *, /, **, exp, cos, tanh, sigmoid, constants on both sides."""
    return (
        (x1 * x2 + 2.0) / (1.0 + x3**2)
        - ad.exp(x1 / 3.0) * ad.cos(x2)
        + ad.tanh(x3 - x1)
        + 3.0 * ad.sigmoid(x2)
        - 1.0 / (2.0 + x1**2)
    )


def _torch_grad(fn, xs):
    ts = [torch.tensor(float(x), dtype=torch.float64, requires_grad=True) for x in xs]
    out = fn(*ts)
    out.backward()
    return float(out.detach()), [float(t.grad) for t in ts]


def f_torch(x1, x2):
    return torch.log(x1) + x1 * x2 - torch.sin(x2)


def g_torch(x1, x2, x3):
    return (
        (x1 * x2 + 2.0) / (1.0 + x3**2)
        - torch.exp(x1 / 3.0) * torch.cos(x2)
        + torch.tanh(x3 - x1)
        + 3.0 * torch.sigmoid(x2)
        - 1.0 / (2.0 + x1**2)
    )


def test_worked_example_by_hand():
    grad_f, passes_f = ad.forward_mode_gradient(f_ad, [2.0, 5.0])
    grad_r, passes_r = ad.reverse_mode_gradient(f_ad, [2.0, 5.0])
    expected = [1 / 2 + 5, 2 - math.cos(5)]
    assert grad_f == pytest.approx(expected, abs=1e-12)
    assert grad_r == pytest.approx(expected, abs=1e-12)
    assert (passes_f, passes_r) == (2, 2)
    assert f_ad(2.0, 5.0) == pytest.approx(math.log(2) + 10 - math.sin(5))


finite = st.floats(-3.0, 3.0, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(finite, finite, finite)
def test_both_modes_match_torch(a, b, c):
    value, expected = _torch_grad(g_torch, [a, b, c])
    grad_f, passes = ad.forward_mode_gradient(g_ad, [a, b, c])
    grad_r, _ = ad.reverse_mode_gradient(g_ad, [a, b, c])
    assert passes == 3
    assert grad_f == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert grad_r == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert ad.Dual(a) is not None and g_ad(
        ad.Value(a), ad.Value(b), ad.Value(c)
    ).data == pytest.approx(value)


@settings(max_examples=20, deadline=None)
@given(st.floats(0.1, 4.0), st.floats(-3.0, 3.0))
def test_worked_example_matches_torch(a, b):
    _, expected = _torch_grad(f_torch, [a, b])
    assert ad.reverse_mode_gradient(f_ad, [a, b])[0] == pytest.approx(
        expected, rel=1e-12, abs=1e-12
    )
    assert ad.forward_mode_gradient(f_ad, [a, b])[0] == pytest.approx(
        expected, rel=1e-12, abs=1e-12
    )


def test_reused_node_accumulates_and_backward_is_repeatable():
    x = ad.Value(3.0)
    y = x * x + x  # x is used three times
    y.backward()
    assert x.grad == 7.0
    y.backward()  # grads are reset, not doubled
    assert x.grad == 7.0


def test_deep_graph_does_not_hit_recursion_limit():
    x = ad.Value(0.5)
    y = x
    for _ in range(5000):
        y = y * 1.0
    y.backward()
    assert x.grad == 1.0


def test_sigmoid_is_stable_for_large_inputs():
    assert ad.sigmoid(-1000.0) == 0.0
    assert ad.sigmoid(ad.Dual(-1000.0, 1.0)).tangent == 0.0


def test_gradient_norms_per_layer():
    torch.manual_seed(0)
    model = plain_cnn(torch.nn.Sigmoid, n_conv=2, n_fc=2, channels=4, width=8, image_size=8)
    x = torch.rand(5, 1, 8, 8)
    y = torch.randint(0, 10, (5,))
    norms = layer_gradient_norms(model, x, y)
    assert list(norms) == ["conv1", "conv2", "fc1", "fc2"]
    layers = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)]
    for (_, n), layer in zip(norms.items(), layers, strict=True):
        assert n == pytest.approx(float(layer.weight.grad.norm()))
    # sigmoid's derivative is at most 1/4: the layer furthest from the loss gets the smallest gradient
    assert norms["conv1"] < norms["fc2"]
    with pytest.raises(ValueError, match="n_conv"):
        plain_cnn(n_conv=0)


def test_gradient_stats_per_weight_and_relative():
    torch.manual_seed(0)
    model = plain_cnn(torch.nn.Tanh, n_conv=2, n_fc=2, channels=4, width=8, image_size=8)
    x = torch.rand(5, 1, 8, 8)
    y = torch.randint(0, 10, (5,))
    stats = layer_gradient_stats(model, x, y)
    layers = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)]
    assert [row.label for row in stats] == ["conv1", "conv2", "fc1", "fc2"]
    for row, layer in zip(stats, layers, strict=True):
        g, w = layer.weight.grad, layer.weight.detach()
        assert row.numel == g.numel()
        assert row.norm == pytest.approx(float(g.norm()))
        assert row.rms == pytest.approx(float(g.pow(2).mean().sqrt()))
        assert row.relative == pytest.approx(float(g.norm() / w.norm()))


def test_mean_local_slopes_and_he_init():
    torch.manual_seed(1)
    x = torch.randn(6, 1, 8, 8)
    for act, slope in [
        (torch.nn.Sigmoid, lambda z: torch.sigmoid(z) * (1 - torch.sigmoid(z))),
        (torch.nn.Tanh, lambda z: 1 - torch.tanh(z) ** 2),
        (torch.nn.ReLU, lambda z: (z > 0).double()),
    ]:
        model = plain_cnn(act, n_conv=2, n_fc=2, channels=4, width=8, image_size=8)
        with torch.no_grad():
            z1 = model[0](x)
        got = mean_local_slopes(model, x)
        assert len(got) == 3  # two conv layers and one hidden FC layer are followed by act
        assert got[0] == pytest.approx(float(slope(z1).mean()), rel=1e-5)
    torch.manual_seed(2)
    he = plain_cnn(torch.nn.ReLU, channels=16, init="he")
    w = he[2].weight  # fan-in 16 * 3 * 3 = 144
    assert float(w.std()) == pytest.approx((2 / 144) ** 0.5, rel=0.05)
    assert float(he[2].bias.abs().max()) == 0.0
    torch.manual_seed(3)
    glorot = plain_cnn(torch.nn.Tanh, channels=16, width=256, init="glorot")
    assert float(glorot[2].weight.std()) == pytest.approx((2 / (144 + 144)) ** 0.5, rel=0.05)
    assert float(glorot[12].weight.std()) == pytest.approx((2 / (256 + 256)) ** 0.5, rel=0.05)
    for model in (he, glorot):  # the output layer: the same Glorot normal whatever the hidden init
        out = model[-1]
        fans = out.in_features + out.out_features
        assert float(out.weight.std()) == pytest.approx((2 / fans) ** 0.5, rel=0.1)
        assert float(out.bias.abs().max()) == 0.0
    with pytest.raises(ValueError, match="init"):
        plain_cnn(init="xavier")
