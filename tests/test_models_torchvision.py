"""Parameter counts against torchvision's models (built on the meta device: no memory, no init)."""

import pytest
import torch
import torchvision

from coursecnn.models import alexnet, count_params, googlenet, resnet, summary, vgg

meta = torch.device("meta")


def tv_count(name: str, **kw) -> int:
    with meta:
        return count_params(getattr(torchvision.models, name)(weights=None, **kw))


def our_count(factory, *args, **kw) -> int:
    with meta:
        return count_params(factory(*args, **kw))


def test_alexnet_torchvision():
    assert our_count(alexnet, variant="torchvision") == tv_count("alexnet") == 61_100_840


@pytest.mark.parametrize("depth", [11, 13, 16, 19])
@pytest.mark.parametrize("batch_norm", [False, True])
def test_vgg(depth, batch_norm):
    name = f"vgg{depth}_bn" if batch_norm else f"vgg{depth}"
    assert our_count(vgg, depth, batch_norm=batch_norm) == tv_count(name)
    letter = {11: "A", 13: "B", 16: "D", 19: "E"}[depth]
    expected = tv_count(name)
    assert our_count(vgg, letter, batch_norm=batch_norm, adaptive_pool=True) == expected


def test_googlenet():
    expected = tv_count("googlenet", aux_logits=False, init_weights=False)
    assert our_count(googlenet, variant="torchvision") == expected == 6_624_904


@pytest.mark.parametrize(
    "depth, expected",
    [(18, 11_689_512), (34, 21_797_672), (50, 25_557_032), (101, 44_549_160), (152, 60_192_808)],
)
def test_resnet(depth, expected):
    assert our_count(resnet, depth) == tv_count(f"resnet{depth}") == expected


def test_resnet_state_dict_keys_align_in_shape():
    # same tensors in the same order as torchvision's resnet18: its weights would load by position
    with meta:
        ours = [p.shape for p in resnet(18).state_dict().values()]
        theirs = [p.shape for p in torchvision.models.resnet18().state_dict().values()]
    assert ours == theirs


@pytest.mark.parametrize(
    "weights, make, size",
    [
        ("AlexNet_Weights", lambda: alexnet(variant="torchvision"), 224),
        ("VGG16_Weights", lambda: vgg(16), 224),
        ("GoogLeNet_Weights", lambda: googlenet(variant="torchvision"), 224),
        ("ResNet18_Weights", lambda: resnet(18), 224),
        ("ResNet50_Weights", lambda: resnet(50), 224),
    ],
)
def test_summary_macs_match_torchvision_published_ops(weights, make, size):
    # torchvision's weight tables list "_ops" (GFLOPS, counted as multiply-adds) to 3 decimals
    meta_info = getattr(torchvision.models, weights).DEFAULT.meta
    with meta:
        model = make()
    s = summary(model, (3, size, size))
    assert s.total_params == meta_info["num_params"]
    assert round(s.total_macs / 1e9, 3) == meta_info["_ops"]


def test_resnet18_receptive_field():
    with meta:
        s = summary(resnet(18), (3, 224, 224))
    rows = {r.name: r for r in s.rows}
    assert rows["layer4.1.conv2"].rf == 435  # the last 3x3 conv
    assert rows["layer4.1.conv2"].rf_stride == 32
