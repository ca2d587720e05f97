"""The feature-map explorer: set ``.value`` on its controls, check the state against slicing the
``nn.Sequential``, and check that every control changes both the readout and the picture."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from coursecnn.explain import receptive_field
from coursecnn.widgets import FeatureMapExplorer, feature_map_explorer
from coursecnn.widgets.feature_maps import channel_stats, mosaic

PNG = b"\x89PNG"
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(6 * 6 * 7, 3),
    ).eval()
    images = torch.randn(5, 1, 12, 14)
    return model, images


def test_the_state_is_the_sliced_model(setup):
    model, images = setup
    e = feature_map_explorer(model, images, labels=[0, 1, 2, 0, 1], class_names=["a", "b", "c"])
    assert isinstance(e, FeatureMapExplorer)
    assert list(e.layer.options) == ["0", "1", "2", "3", "4"]  # Flatten and Linear: no map
    for n, layer, c in [(0, "0", 0), (3, "3", 5), (4, "2", 2), (1, "4", 1)]:
        e.image.value, e.layer.value, e.channel.value = n, layer, c
        with torch.no_grad():
            ref = model[: int(layer) + 1](images)[n, c].numpy()
        np.testing.assert_allclose(e.fmap, ref, rtol=1e-6)
        assert e.stats == channel_stats(ref)
        field = receptive_field(model, layer, (1, 12, 14))
        assert e.field == field and e.box == field.box(*e.stats["peak"])
    assert f"image 1 ({'b'})" in e.summary.value and "layer <code>4</code>" in e.summary.value


def test_the_channel_range_follows_the_layer(setup):
    model, images = setup
    e = feature_map_explorer(model, images, layers=["0", "3"])
    assert e.channel.max == 3
    e.layer.value = "3"
    assert e.channel.max == 5
    e.channel.value = 5
    e.layer.value = "0"  # 4 channels: the slider comes back to 3
    assert (e.channel.max, e.channel.value) == (3, 3)
    np.testing.assert_allclose(e.fmap, model[:1](images)[0, 3].detach().numpy(), rtol=1e-6)


def test_every_control_changes_the_readout_and_the_picture(setup):
    model, images = setup
    e = feature_map_explorer(model, images)
    assert len(e.figure.value) == 0  # nothing drawn before it is shown
    bundle = e._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("<FeatureMapExplorer")
    before_text, before_png = e.summary.value, bytes(e.figure.value)
    assert before_png.startswith(PNG)
    for control, value in [(e.image, 2), (e.layer, "3"), (e.channel, 4)]:
        control.value = value
        assert e.summary.value != before_text, control.description
        assert bytes(e.figure.value) != before_png, control.description
        before_text, before_png = e.summary.value, bytes(e.figure.value)


def test_channel_stats_and_mosaic():
    a = np.array([[0.0, -1.0, 2.0], [2.0, 0.5, -3.0]])
    s = channel_stats(a)
    assert s == {"min": -3.0, "mean": pytest.approx(0.5 / 6), "max": 2.0, "peak": (0, 2),
                 "active": pytest.approx(0.5)}  # fmt: skip
    maps = np.arange(5 * 2 * 3, dtype=float).reshape(5, 2, 3)
    tiles = mosaic(maps, ncols=2)
    assert tiles.shape == (3 * 3 - 1, 2 * 4 - 1)
    np.testing.assert_array_equal(tiles[3:5, 4:7], maps[3])
    assert np.isnan(tiles[2]).all() and np.isnan(tiles[:, 3]).all()
    with pytest.raises(ValueError, match="fmap"):
        channel_stats(np.zeros(3))
    with pytest.raises(ValueError, match="maps"):
        mosaic(np.zeros((2, 3)))


def test_bad_arguments(setup):
    model, images = setup
    with pytest.raises(ValueError, match="images"):
        feature_map_explorer(model, images[0])
    with pytest.raises(ValueError, match="labels"):
        feature_map_explorer(model, images, labels=[0, 1])
    with pytest.raises(ValueError, match="layers"):
        feature_map_explorer(model, images, layers=["6"])
    with pytest.raises(ValueError, match="layers"):
        feature_map_explorer(model, images, layers=["conv1"])
