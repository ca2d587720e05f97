"""layer_values and plot_layer_histograms: per-layer activations and weight gradients."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch

from coursecnn import plots
from coursecnn.gradient_norms import layer_gradient_stats, layer_values, plain_cnn

matplotlib.use("Agg")


def small_net(act=torch.nn.ReLU, init="torch"):
    return plain_cnn(act, n_conv=2, n_fc=2, channels=4, width=8, image_size=8, init=init)


def batch(n=5):
    torch.manual_seed(0)
    return torch.randn(n, 1, 8, 8), torch.randint(0, 10, (n,))


def test_layer_values_are_the_activations_and_the_weight_gradients():
    x, y = batch()
    torch.manual_seed(1)
    model = small_net(torch.nn.Tanh)
    outputs, gradients = layer_values(model, x, y)
    # an activation follows conv1, conv2 and fc1; fc2 gives the logits, with none after it
    assert list(outputs) == ["conv1", "conv2", "fc1"]
    with torch.no_grad():
        a1 = model[1](model[0](x))
        a2 = model[3](model[2](a1))
        a3 = model[7](model[6](model[5](model[4](a2))))
    for got, want in zip(outputs.values(), (a1, a2, a3), strict=True):
        assert got.shape == (want.numel(),)
        torch.testing.assert_close(got, want.reshape(-1))
    assert list(gradients) == [row.label for row in layer_gradient_stats(model, x, y)]
    layers = [m for m in model if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)]
    for g, layer in zip(gradients.values(), layers, strict=True):
        torch.testing.assert_close(g, layer.weight.grad.reshape(-1))
    # copies: a later pass leaves them as they were
    before = gradients["conv1"].clone()
    layer_values(model, x * 2, y)
    torch.testing.assert_close(gradients["conv1"], before)
    assert not any(m._forward_hooks for m in model.modules())  # every hook removed
    with pytest.raises(ValueError, match="y: expected 5 labels"):
        layer_values(model, x, y[:3])


def test_plot_layer_histograms_draws_a_column_per_run_with_labelled_axes():
    x, y = batch(16)
    runs = {}
    for name, act, init in [("ReLU", torch.nn.ReLU, "torch"), ("ReLU, He", torch.nn.ReLU, "he")]:
        torch.manual_seed(0)
        runs[name] = layer_values(small_net(act, init), x, y)
    fig = plots.plot_layer_histograms(runs, bins=10, title="demo")
    axes = np.array(fig.axes).reshape(2, 2)
    assert [ax.get_title() for ax in axes[0]] == ["ReLU: activations", "ReLU, He: activations"]
    assert axes[1, 1].get_title() == "ReLU, He: weight gradients"
    assert all(ax.get_xlabel() and ax.get_title() for ax in fig.axes)
    assert axes[0, 0].get_ylabel() and axes[1, 0].get_ylabel()
    assert axes[0, 0].get_yscale() == "log"
    assert axes[0, 0].get_legend().get_title().get_text() == "activation after"
    assert axes[1, 0].get_xlim() == axes[1, 1].get_xlim()  # the gradient row compares runs
    for ax, n_layers in [(axes[0, 0], 3), (axes[1, 0], 4)]:
        curves = ax.patches  # one step curve per layer, each a share of its layer: sums to 1
        assert len(curves) == n_layers
        for curve in curves:
            assert curve.get_data().values.sum() == pytest.approx(1.0)
    assert fig._suptitle.get_text() == "demo"
    matplotlib.pyplot.close(fig)
    with pytest.raises(ValueError, match="runs"):
        plots.plot_layer_histograms({})
    with pytest.raises(ValueError, match=r"runs\['bad'\]"):
        plots.plot_layer_histograms({"bad": ({}, {})})
