"""The papers' and the seeds' numbers: parameter counts, layer shapes at the paper's input size.

Shapes are checked on the meta device (no computation), so the big models cost only their
construction.
"""

import pytest
import torch
from torch import nn

from coursecnn.models import (
    alexnet,
    char_cnn,
    count_params,
    dogs_vs_cats,
    googlenet,
    nin,
    resnet,
    summary,
    text_cnn,
    vgg,
)

meta = torch.device("meta")


def build(factory, *args, **kw) -> nn.Module:
    with meta:
        return factory(*args, **kw)


def test_seed_alexnet_fc_after_last_conv():
    # seed 004 (Prince 2023): the 43,264 vector after the final convolution -> 4096
    model = build(alexnet, variant="seed")
    fc = model.classifier[1]
    assert fc.in_features == 43_264 == 256 * 13 * 13
    assert fc.weight.numel() == 177_209_344 and fc.bias.numel() == 4_096
    s = summary(model, (3, 227, 227))
    rows = {r.name: r for r in s.rows}
    assert rows["features.conv5"].output_shape == (1, 256, 13, 13)
    assert rows["flatten"].output_shape == (1, 43_264)


def test_alexnet_paper_layer_shapes():
    model = build(alexnet)
    assert count_params(model) == 62_378_344
    s = summary(model, (3, 227, 227))
    rows = {r.name: r for r in s.rows}
    shapes = {
        n: rows[f"features.{n}"].output_shape[1:] for n in ("conv1", "pool1", "pool2", "conv5")
    }
    assert shapes == {
        "conv1": (96, 55, 55),  # the seed's 55x55 (exact for 227)
        "pool1": (96, 27, 27),
        "pool2": (256, 13, 13),
        "conv5": (256, 13, 13),
    }
    assert rows["features.pool5"].output_shape == (1, 256, 6, 6)
    assert s.rows[-1].output_shape == (1, 1000)
    assert sum(isinstance(m, nn.LocalResponseNorm) for m in model.modules()) == 2
    # receptive field of the last pooling: 195 pixels (Araujo et al. 2019, Distill)
    assert rows["features.pool5"].rf == 195
    # conv1 MACs: 96 * 3 * 11 * 11 * 55 * 55
    assert rows["features.conv1"].macs == 96 * 3 * 11 * 11 * 55 * 55


def test_alexnet_torchvision_geometry_at_224():
    s = summary(build(alexnet, variant="torchvision"), (3, 224, 224))
    assert s.rows[0].output_shape == (1, 64, 55, 55)


@pytest.mark.parametrize(
    "config, millions", [("A", 133), ("A-LRN", 133), ("B", 133), ("C", 134), ("D", 138), ("E", 144)]
)
def test_vgg_paper_counts(config, millions):
    # Simonyan and Zisserman 2015, Table 2 (the seed's table): 133, 133, 133, 134, 138, 144
    assert round(count_params(build(vgg, config)) / 1e6) == millions


def test_vgg_configuration_structure():
    convs = {
        c: [m.kernel_size[0] for m in build(vgg, c).features if isinstance(m, nn.Conv2d)]
        for c in ("A", "A-LRN", "B", "C", "D", "E")
    }
    assert {c: len(k) + 3 for c, k in convs.items()} == {
        "A": 11,
        "A-LRN": 11,
        "B": 13,
        "C": 16,
        "D": 16,
        "E": 19,
    }
    assert convs["C"].count(1) == 3 and convs["D"].count(1) == 0
    assert any(isinstance(m, nn.LocalResponseNorm) for m in build(vgg, "A-LRN").features)


def test_vgg16_shapes_and_receptive_field():
    s = summary(build(vgg, "D"), (3, 224, 224))
    convs = [r for r in s.rows if r.type == "Conv2d"]
    assert convs[0].output_shape == (1, 64, 224, 224)
    assert convs[-1].output_shape == (1, 512, 14, 14) and convs[-1].rf == 196
    pools = [r for r in s.rows if r.type == "MaxPool2d"]
    assert pools[-1].output_shape == (1, 512, 7, 7) and pools[-1].rf == 212  # Araujo et al.
    assert s.rows[-1].output_shape == (1, 1000)


@pytest.mark.parametrize("kw", [{}, {"naive": True}, {"version": 2}, {"version": 3}])
def test_googlenet_shapes(kw):
    s = summary(build(googlenet, **kw), (3, 224, 224))
    rows = {r.name: r for r in s.rows}
    assert rows["pool2"].output_shape == (1, 192, 28, 28)
    assert rows["avgpool"].output_shape[2:] == (1, 1)
    assert s.rows[-1].output_shape == (1, 1000)
    if not kw:  # Table 1: 3a outputs 256 at 28x28, 5b 1024 at 7x7
        cat_channels = {
            n: b.out_channels for n, b in build(googlenet).named_children() if "incep" in n
        }
        assert cat_channels["inception3a"] == 256 and cat_channels["inception5b"] == 1024
        assert rows["pool3"].output_shape == (1, 480, 14, 14)
        assert rows["pool4"].output_shape == (1, 832, 7, 7)


@pytest.mark.parametrize("depth", [18, 50])
def test_resnet_stage_shapes(depth):
    s = summary(build(resnet, depth), (3, 224, 224))
    rows = {r.name: r for r in s.rows}
    e = 1 if depth == 18 else 4
    assert rows["stem.3"].output_shape == (1, 64, 56, 56)
    last = [r for r in s.rows if r.name.startswith("layer4")][-1]
    assert last.output_shape == (1, 512 * e, 7, 7)
    assert s.rows[-1].output_shape == (1, 1000)


def test_dogs_vs_cats_is_the_keras_model():
    model = build(dogs_vs_cats)
    assert model.dense1.in_features == 128 * 9 * 9
    # Keras model.summary(): 896 + 18,496 + 73,856 + 147,584 + 5,308,928 + 65,664 + 129
    assert count_params(model) == 5_615_553
    s = summary(model, (3, 150, 150))
    assert [r.output_shape[2] for r in s.rows if r.type == "MaxPool2d"] == [75, 37, 18, 9]
    assert isinstance(model[-1], nn.Sigmoid) and s.rows[-1].output_shape == (1, 1)


def test_nin_imagenet_shapes():
    model = build(nin)
    assert not any(isinstance(m, nn.Linear) for m in model.modules())
    s = summary(model, (3, 224, 224))
    assert s.rows[0].output_shape == (1, 96, 54, 54)
    assert s.rows[-1].output_shape == (1, 1000)


def test_text_models_paper_sizes():
    model = build(text_cnn, 20_000)
    assert [c.kernel_size[0] for c in model.convs] == [3, 4, 5]
    assert model.embedding.embedding_dim == 300 and model.fc.in_features == 300
    model = build(char_cnn)
    assert model.fc1.in_features == 256 * 34  # 1014 characters leave 34 positions
