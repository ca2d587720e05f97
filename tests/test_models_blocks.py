"""Building blocks and options: Inception modules, residual blocks, shared weights, errors."""

import pytest
import torch
from torch import nn

from coursecnn.models import (
    BasicBlock,
    Bottleneck,
    Inception,
    alexnet,
    char_cnn,
    conv_autoencoder,
    count_params,
    googlenet,
    nin,
    resnet,
    shared_resnet,
    summary,
    text_cnn,
    vgg,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


INCEPTION_3A = (192, 64, 96, 128, 16, 32, 32)  # GoogLeNet Table 1, inception (3a)


def test_inception_3a_naive_vs_reduced():
    naive, reduced = Inception(*INCEPTION_3A, naive=True), Inception(*INCEPTION_3A)
    assert naive.out_channels == 64 + 128 + 32 + 192 and reduced.out_channels == 256
    # naive: 1x1, 3x3 and 5x5 on all 192 channels
    assert count_params(naive) == (192 + 1) * 64 + (192 * 9 + 1) * 128 + (192 * 25 + 1) * 32
    # reduced: 1x1 64 | 1x1 96 -> 3x3 128 | 1x1 16 -> 5x5 32 | pool -> 1x1 32
    expected = (193 * 64) + (193 * 96 + (96 * 9 + 1) * 128) + (193 * 16 + (16 * 25 + 1) * 32)
    assert count_params(reduced) == expected + 193 * 32 == 163_696
    s_naive, s_red = summary(naive, (192, 28, 28)), summary(reduced, (192, 28, 28))
    assert s_naive.output_shape == (1, 416, 28, 28)
    assert s_naive.total_macs == 28 * 28 * 192 * (64 + 9 * 128 + 25 * 32)
    assert s_red.total_macs < s_naive.total_macs / 2
    assert max(r.rf for r in s_red.rows) == 5  # the 5x5 branch


def test_inception_v2_and_v3_blocks():
    v2 = Inception(*INCEPTION_3A, batch_norm=True)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in v2.modules()) == 6
    assert all(m.bias is None for m in v2.modules() if isinstance(m, nn.Conv2d))
    v3 = Inception(*INCEPTION_3A, batch_norm=True, factorised=True)
    kernels = [m.kernel_size[0] for m in v3.branch3.modules() if isinstance(m, nn.Conv2d)]
    assert kernels == [1, 3, 3]
    s = summary(v3, (192, 28, 28))
    assert max(r.rf for r in s.rows) == 5  # two 3x3 see what one 5x5 sees
    x = torch.randn(2, 192, 8, 8)
    assert v3(x).shape == v2(x).shape == (2, 256, 8, 8)


def test_googlenet_versions_differ_as_documented():
    with torch.device("meta"):
        v1, v2, v3 = (googlenet(version=v) for v in (1, 2, 3))
    assert any(isinstance(m, nn.LocalResponseNorm) for m in v1.modules())
    assert not any(isinstance(m, nn.LocalResponseNorm) for m in v2.modules())
    assert not any(m.kernel_size == (5, 5) for m in v3.modules() if isinstance(m, nn.Conv2d))
    assert count_params(v1) == 6_998_552


@pytest.mark.parametrize("block, out", [(BasicBlock, 32), (Bottleneck, 128)])
def test_residual_blocks(block, out):
    b = block(16, 32, stride=2)
    assert b(torch.randn(2, 16, 8, 8)).shape == (2, out, 4, 4)
    assert isinstance(b.shortcut, nn.Sequential)  # projection where the shape changes
    same = block(out, 32)
    assert isinstance(same.shortcut, nn.Identity)
    plain = block(16, 32, stride=2, shortcut=False)
    assert plain.shortcut is None
    x = torch.randn(2, out, 4, 4)
    same.eval()
    torch.testing.assert_close(same(x), torch.relu(same.residual(x) + x))


def test_plain_resnet_has_no_shortcuts_and_prelu_counts():
    with torch.device("meta"):
        plain = resnet(34, plain=True)
        assert all(b.shortcut is None for b in plain.modules() if isinstance(b, BasicBlock))
        relu, prelu = resnet(18), resnet(18, activation="prelu")
    prelus = [m for m in prelu.modules() if isinstance(m, nn.PReLU)]
    assert count_params(prelu) - count_params(relu) == sum(m.weight.numel() for m in prelus)
    assert count_params(relu) == 11_689_512


def test_shared_resnet_reuses_one_block():
    short, deep = shared_resnet(steps=2), shared_resnet(steps=10)
    assert count_params(short) == count_params(deep)
    model = shared_resnet(steps=3, channels=4)
    model.eval()
    x = torch.randn(2, 1, 12, 12)
    h = model.stem(x)
    for _ in range(3):
        h = model.block(h)
    torch.testing.assert_close(model(x), model.head(h))
    rows = summary(model, (1, 12, 12)).rows
    assert sum(r.name == "block.conv1" for r in rows) == 3
    assert [r.rf for r in rows if r.name == "block.conv2"] == [7, 11, 15]


def test_autoencoder_unpool_puts_values_back_where_the_max_was():
    model = conv_autoencoder(down="pool", up="unpool", channels=(4,))
    x = torch.rand(1, 1, 8, 8)
    z, indices = model.encode(x, return_indices=True)
    unpooled = model.unpools[0](z, indices[0], output_size=(8, 8))
    assert unpooled.shape == (1, 4, 8, 8)
    assert (unpooled != 0).sum() <= 4 * 16  # one value per 2x2 window
    with pytest.raises(ValueError, match="indices"):
        model.decode(z)
    with pytest.raises(ValueError, match="up"):
        conv_autoencoder(down="stride", up="unpool")


def test_text_cnn_max_over_time():
    model = text_cnn(100, embed_dim=8, widths=(3,), filters=4, dropout=0.0)
    model.eval()
    ids = torch.randint(0, 100, (1, 10))
    emb, conv = model.embedding(ids)[0], model.convs[0]  # (L, E), weight (F, E, 3)
    windows = [
        torch.relu((conv.weight * emb[t : t + 3].T).sum((1, 2)) + conv.bias) for t in range(8)
    ]
    expected = model.fc(torch.stack(windows).amax(dim=0))
    torch.testing.assert_close(model(ids)[0], expected)
    s = summary(model, (10,), dtype=torch.long)
    assert s.rows[1].output_shape == (1, 4, 8) and s.rows[1].rf == 3


def test_char_cnn_one_hot_zero_is_unknown():
    model = char_cnn(alphabet_size=5, length=123, width=0.05)
    onehot = model.onehot(torch.tensor([[0, 1, 5]]))
    assert onehot.shape == (1, 5, 3)
    assert onehot[0, :, 0].sum() == 0 and onehot[0, 0, 1] == 1 and onehot[0, 4, 2] == 1
    with pytest.raises(ValueError, match="length"):
        char_cnn(length=122)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: vgg("F"), "'A-LRN'"),
        (lambda: vgg(12), "config"),
        (lambda: vgg("A", input_size=16), "input_size"),
        (lambda: resnet(20), r"\[18, 34, 50, 101, 152\]"),
        (lambda: resnet(18, activation="gelu"), "activation"),
        (lambda: alexnet(variant="caffe"), "variant"),
        (lambda: googlenet(version=4), "version"),
        (lambda: nin(config="mnist"), "config"),
        (lambda: conv_autoencoder(up="bilinear"), "up"),
        (lambda: text_cnn(0), "vocab_size"),
        (lambda: alexnet(num_classes=0), "num_classes"),
    ],
)
def test_errors_name_the_argument_and_the_choices(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_nin_course_config_class_maps_are_averaged_into_logits():
    torch.manual_seed(0)
    net = nin(config="course", in_channels=1, num_classes=10).eval()
    x = torch.randn(3, 1, 32, 32)
    maps = net[:-2](x)  # the last mlpconv's class maps, before GAP and flatten
    assert maps.shape == (3, 10, 8, 8)
    torch.testing.assert_close(maps.mean(dim=(2, 3)), net(x))
    assert not any(isinstance(m, nn.Dropout | nn.Linear) for m in net.modules())
