"""SegNet, ResizeConv2d, checkerboard_score, and the autoencoder's resize decoder."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from coursecnn import ops
from coursecnn.models import (
    ResizeConv2d,
    SegNet,
    checkerboard_score,
    conv_autoencoder,
    count_params,
    segnet,
    summary,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ------------------------------------------------------------------------------------ SegNet
@pytest.mark.parametrize("up", ["unpool", "transpose", "resize"])
@pytest.mark.parametrize("size", [(40, 56), (37, 29), (8, 8), (17, 64)])
def test_segnet_gives_a_score_per_class_and_pixel(up, size):
    torch.manual_seed(0)
    model = segnet(11, channels=(4, 8, 8), up=up)
    out = model(torch.rand(2, 1, *size))
    assert out.shape == (2, 11, *size)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_segnet_parameters_follow_the_table():
    # unpool and resize have no parameters of their own; transpose adds a 4x4 kernel per level
    conv = lambda a, b: a * b * 9  # noqa: E731  (no bias: batch norm follows)
    bn = lambda c: 2 * c  # noqa: E731
    enc = conv(1, 16) + bn(16) + conv(16, 32) + bn(32) + conv(32, 64) + bn(64)
    dec = conv(64, 32) + bn(32) + conv(32, 16) + bn(16) + conv(16, 16) + bn(16)
    head = 16 * 11 + 11
    assert count_params(segnet(11)) == enc + dec + head == 49_067
    assert count_params(segnet(11, up="resize")) == 49_067
    ups = sum(c * c * 16 + c for c in (64, 32, 16))
    assert count_params(segnet(11, up="transpose")) == 49_067 + ups
    no_bn = segnet(11, batch_norm=False)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in no_bn.modules())
    two = segnet(11, channels=(8, 16), convs_per_block=2)
    assert sum(isinstance(m, nn.Conv2d) for m in two.modules()) == 2 * 2 + 2 * 2 + 1


def test_segnet_summary_runs_and_the_receptive_field_covers_an_item():
    text = str(summary(segnet(11), (1, 40, 56)))
    assert "1x11x40x56" in text and "MaxUnpool2d" in text


def test_unpooling_puts_values_where_the_encoder_maxima_were():
    torch.manual_seed(1)
    model = segnet(3, channels=(4, 6), up="unpool").eval()
    seen = {}
    model.encoder[1].register_forward_hook(lambda m, i, o: seen.__setitem__("pre_pool", o))
    model.upsample[0].register_forward_hook(lambda m, i, o: seen.__setitem__("unpooled", o))
    with torch.no_grad():
        model(torch.rand(2, 1, 13, 10))
    pre, unpooled = seen["pre_pool"], seen["unpooled"]
    assert unpooled.shape == pre.shape  # (2, 6, 6, 5): the odd size before pooling comes back
    pooled, idx = F.max_pool2d(pre, 2, return_indices=True)
    expected = F.max_unpool2d(pooled, idx, 2, output_size=pre.shape[-2:])
    assert torch.equal(unpooled, expected)
    nonzero = unpooled != 0
    assert torch.equal(unpooled[nonzero], pre[nonzero])  # values sit where they came from


def test_segnet_bad_arguments():
    with pytest.raises(ValueError, match="up: expected one of"):
        segnet(3, up="bilinear")
    with pytest.raises(ValueError, match="channels"):
        segnet(3, channels=())
    with pytest.raises(ValueError, match="num_classes"):
        segnet(0)
    with pytest.raises(ValueError, match="at least 8"):
        segnet(3)(torch.zeros(1, 1, 7, 20))
    with pytest.raises(ValueError, match=r"x: expected \(N, C, H, W\)"):
        segnet(3)(torch.zeros(1, 16, 16))
    assert isinstance(segnet(3), SegNet)


# ------------------------------------------------------------------------------ ResizeConv2d
@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 2),
    c_in=st.integers(1, 3),
    c_out=st.integers(1, 3),
    h=st.integers(1, 7),
    w=st.integers(1, 7),
    k=st.sampled_from([1, 3, 5]),
    mode=st.sampled_from(["nearest", "bilinear"]),
)
def test_resize_conv_is_upsample_then_conv(n, c_in, c_out, h, w, k, mode):
    torch.manual_seed(0)
    layer = ResizeConv2d(c_in, c_out, k, mode=mode)
    x = torch.rand(n, c_in, h, w, dtype=torch.float64)
    layer = layer.double()
    up = nn.Upsample(
        scale_factor=2, mode=mode, **({"align_corners": False} if mode != "nearest" else {})
    )
    expected = F.conv2d(up(x), layer.conv.weight, layer.conv.bias, padding=k // 2)
    assert torch.allclose(layer(x), expected)
    assert layer(x).shape == (n, c_out, 2 * h, 2 * w)
    sized = ResizeConv2d(c_in, c_out, k, size=(2 * h + 1, w + 3)).double()
    assert sized(x).shape == (n, c_out, 2 * h + 1, w + 3)
    assert layer(x, output_size=(3, 4)).shape == (n, c_out, 3, 4)


def test_resize_conv_of_a_constant_map_is_constant_inside():
    torch.manual_seed(0)
    layer = ResizeConv2d(1, 8)
    with torch.no_grad():
        out = layer(torch.ones(1, 1, 6, 6))[0]
    inner = out[:, 1:-1, 1:-1]
    assert torch.allclose(inner, inner[:, :1, :1].expand_as(inner))


def test_resize_conv_bad_arguments():
    with pytest.raises(ValueError, match="mode"):
        ResizeConv2d(1, 1, mode="bicubic")
    with pytest.raises(ValueError, match="kernel_size: expected an odd"):
        ResizeConv2d(1, 1, 4)


# ------------------------------------------------------------------------- checkerboard_score
@settings(max_examples=30, deadline=None)
@given(h=st.integers(1, 6), w=st.integers(1, 6), seed=st.integers(0, 99))
def test_checkerboard_score_is_the_fourier_coefficients_at_nyquist(h, w, seed):
    y = np.random.default_rng(seed).normal(size=(3, 2 * h, 2 * w)) + 2.0
    f = np.fft.fft2(y)
    amplitude = sum(np.abs(f[:, i, j]) for i, j in ((h, 0), (0, w), (h, w))) / (4 * h * w)
    expected = np.mean(amplitude / np.abs(y).mean(axis=(1, 2)))
    assert np.isclose(checkerboard_score(y), expected)


def test_checkerboard_score_of_known_patterns():
    assert checkerboard_score(np.full((8, 8), 3.0)) == 0.0
    assert checkerboard_score(np.zeros((4, 4))) == 0.0
    i, j = np.indices((8, 8))
    assert np.isclose(checkerboard_score(1.0 + 0.5 * (-1.0) ** (i + j)), 0.5)
    smooth = np.exp(-((i - 3.5) ** 2 + (j - 3.5) ** 2) / 20)
    assert checkerboard_score(smooth) < 1e-12  # symmetric about the centre: all sums cancel
    # the overlap counts of a 3x3, stride-2 transposed convolution: 4 2 / 2 1, 1.75 / 2.25
    counts = ops.conv_transpose2d(np.ones((1, 1, 8, 8)), np.ones((1, 1, 3, 3)), stride=2)
    assert counts.shape == (1, 1, 17, 17)
    assert np.isclose(checkerboard_score(counts[..., 2:14, 2:14]), 1.75 / 2.25)
    even = ops.conv_transpose2d(np.ones((1, 1, 8, 8)), np.ones((1, 1, 4, 4)), stride=2)
    assert checkerboard_score(even, border=3) == 0.0
    assert checkerboard_score(torch.from_numpy(counts), border=2) == checkerboard_score(counts, 2)


def test_checkerboard_score_bad_arguments():
    with pytest.raises(ValueError, match="y: expected an array"):
        checkerboard_score(np.ones(5))
    with pytest.raises(ValueError, match="border: expected less than half"):
        checkerboard_score(np.ones((4, 6)), border=2)
    with pytest.raises(ValueError, match="border: expected a non-negative"):
        checkerboard_score(np.ones((4, 6)), border=-1)


# ------------------------------------------------------------------- autoencoder, resize decoder
def test_autoencoder_resize_decoder_restores_every_size_and_has_no_transposed_conv():
    for size, channels in ((28, (16, 32)), (32, (8, 16, 32)), (27, (4, 8))):
        model = conv_autoencoder(input_size=size, channels=channels, up="resize", code_size=5)
        assert model(torch.rand(2, 1, size, size)).shape == (2, 1, size, size)
        assert not any(isinstance(m, nn.ConvTranspose2d) for m in model.modules())
        assert sum(isinstance(m, ResizeConv2d) for m in model.modules()) == len(channels)
    # same parameters as the transposed decoder: a 3x3 kernel per layer either way
    assert count_params(conv_autoencoder(up="resize")) == count_params(conv_autoencoder())
