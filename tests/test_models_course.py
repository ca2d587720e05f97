"""Every course-size variant runs forward and backward on a batch of two on the CPU."""

import pytest
import torch

from coursecnn.models import (
    alexnet,
    char_cnn,
    cifar_resnet,
    conv_autoencoder,
    count_params,
    dogs_vs_cats,
    googlenet,
    lenet5,
    mlp,
    nin,
    resnet,
    shared_resnet,
    text_cnn,
    vgg,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# (name, constructor call, input shape without the batch)
IMAGE_MODELS = [
    ("mlp", lambda: mlp(input_size=28), (1, 28, 28)),
    ("lenet5-relu-max", lambda: lenet5(input_size=28, activation="relu", pool="max"), (1, 28, 28)),
    (
        "alexnet",
        lambda: alexnet(input_size=32, in_channels=1, num_classes=10, width=0.25),
        (1, 32, 32),
    ),
    (
        "alexnet-28",
        lambda: alexnet(input_size=28, in_channels=1, num_classes=10, width=0.125),
        (1, 28, 28),
    ),
    (
        "alexnet-seed",
        lambda: alexnet(input_size=32, num_classes=10, width=0.125, variant="seed"),
        (3, 32, 32),
    ),
    (
        "alexnet-tv",
        lambda: alexnet(input_size=32, num_classes=10, width=0.125, variant="torchvision"),
        (3, 32, 32),
    ),
    (
        "vgg-A-LRN",
        lambda: vgg("A-LRN", input_size=32, in_channels=1, num_classes=10, width=0.125),
        (1, 32, 32),
    ),
    (
        "vgg-C-bn",
        lambda: vgg("C", input_size=32, num_classes=10, width=0.125, batch_norm=True),
        (3, 32, 32),
    ),
    ("vgg-E", lambda: vgg("E", input_size=32, num_classes=10, width=0.0625), (3, 32, 32)),
    (
        "nin-cifar",
        lambda: nin(config="cifar", in_channels=1, num_classes=10, width=0.25),
        (1, 28, 28),
    ),
    ("nin-imagenet", lambda: nin(num_classes=10, width=0.125), (3, 96, 96)),
    ("nin-course", lambda: nin(config="course", in_channels=1, num_classes=10), (1, 32, 32)),
    (
        "cifar-resnet-preact",
        lambda: cifar_resnet(20, in_channels=1, width=0.25, preact=True),
        (1, 28, 28),
    ),  # fmt: skip
    (
        "googlenet",
        lambda: googlenet(small_input=True, in_channels=1, num_classes=10, width=0.125),
        (1, 28, 28),
    ),
    (
        "googlenet-naive",
        lambda: googlenet(naive=True, small_input=True, num_classes=10, width=0.0625),
        (3, 32, 32),
    ),
    (
        "googlenet-v3",
        lambda: googlenet(version=3, small_input=True, num_classes=10, width=0.125),
        (3, 32, 32),
    ),
    (
        "resnet18",
        lambda: resnet(18, small_input=True, in_channels=1, num_classes=10, width=0.25),
        (1, 28, 28),
    ),
    (
        "resnet50-plain-prelu",
        lambda: resnet(
            50, small_input=True, num_classes=10, width=0.125, plain=True, activation="prelu"
        ),
        (3, 32, 32),
    ),
    ("shared_resnet", lambda: shared_resnet(steps=4, channels=8), (1, 28, 28)),
    ("dogs_vs_cats", lambda: dogs_vs_cats(input_size=32, width=0.25), (3, 32, 32)),
]


@pytest.mark.parametrize(
    "make, shape", [m[1:] for m in IMAGE_MODELS], ids=[m[0] for m in IMAGE_MODELS]
)
def test_forward_backward(make, shape):
    torch.manual_seed(0)
    model = make()
    assert count_params(model) < 2_000_000, "a course-size model should stay small"
    x = torch.randn(2, *shape)
    y = model(x)
    assert y.shape[0] == 2 and y.dim() == 2 and torch.isfinite(y).all()
    y.square().mean().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"down": "pool"},
        {"down": "pool", "up": "unpool"},
        {"code_size": 16},
        {"down": "pool", "up": "unpool", "channels": (8, 16, 32), "code_size": 8},
        {"in_channels": 3, "input_size": 32, "channels": (8, 16, 32)},
    ],
)
def test_autoencoder(kw):
    model = conv_autoencoder(**kw)
    shape = (2, kw.get("in_channels", 1), kw.get("input_size", 28), kw.get("input_size", 28))
    x = torch.rand(shape)
    y = model(x)
    assert y.shape == shape and (y >= 0).all() and (y <= 1).all()
    torch.nn.functional.mse_loss(y, x).backward()
    z = model.encode(x)
    if "code_size" in kw:
        assert z.shape == (2, kw["code_size"])
    if kw.get("up") != "unpool":
        assert model.decode(z).shape == shape


def test_text_cnn_course_size():
    model = text_cnn(500, num_classes=3, embed_dim=16, widths=(2, 3), filters=8)
    ids = torch.randint(0, 500, (2, 12))
    y = model(ids)
    assert y.shape == (2, 3)
    y.sum().backward()
    # max over time: any sentence length gives the same feature width
    assert model(torch.randint(0, 500, (2, 40))).shape == (2, 3)


def test_char_cnn_course_size():
    model = char_cnn(alphabet_size=40, num_classes=2, length=128, width=0.125)
    y = model(torch.randint(0, 41, (2, 128)))
    assert y.shape == (2, 2)
    y.sum().backward()
