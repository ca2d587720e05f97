"""U-Net: shapes, the parameter count from its table, and skips that concatenate the encoder's maps."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from coursecnn.models import UNet, count_params, segnet, summary, unet

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("size", [(40, 56), (37, 29), (8, 8), (17, 64)])
def test_unet_gives_a_score_per_class_and_pixel(size):
    torch.manual_seed(0)
    model = unet(11, channels=(4, 8, 8))
    out = model(torch.rand(2, 1, *size))
    assert out.shape == (2, 11, *size)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_unet_parameters_follow_the_table():
    conv = lambda a, b: a * b * 9  # noqa: E731  (no bias: batch norm follows)
    bn = lambda c: 2 * c  # noqa: E731
    upconv = lambda c: c * (c // 2) * 4 + c // 2  # noqa: E731  (2x2 transposed, halves channels)
    enc = conv(1, 16) + bn(16) + conv(16, 32) + bn(32) + conv(32, 64) + bn(64)
    dec = (
        upconv(64) + conv(32 + 64, 32) + bn(32)
        + upconv(32) + conv(16 + 32, 16) + bn(16)
        + upconv(16) + conv(8 + 16, 16) + bn(16)
    )  # fmt: skip
    head = 16 * 11 + 11
    assert count_params(unet(11)) == enc + dec + head == 72_547
    # the same encoder as SegNet's: the same parameter names and shapes
    ours = {k: v.shape for k, v in unet(11).state_dict().items() if k.startswith("encoder.")}
    theirs = {k: v.shape for k, v in segnet(11).state_dict().items() if k.startswith("encoder.")}
    assert ours == theirs
    two = unet(11, channels=(8, 16), convs_per_block=2, batch_norm=False)
    assert sum(isinstance(m, nn.Conv2d) for m in two.modules()) == 2 * 2 + 2 * 2 + 1
    assert not any(isinstance(m, nn.BatchNorm2d) for m in two.modules())


def test_unet_concatenates_the_encoder_maps_before_each_pooling():
    torch.manual_seed(0)
    model = unet(11, channels=(4, 8, 16)).eval()
    encoded, decoder_inputs = [], []
    hooks = [b.register_forward_hook(lambda m, i, o: encoded.append(o)) for b in model.encoder]
    hooks += [
        b[0].register_forward_hook(lambda m, i, o: decoder_inputs.append(i[0]))
        for b in model.decoder
    ]
    with torch.no_grad():
        model(torch.rand(2, 1, 21, 30))
    for h in hooks:
        h.remove()
    for j, x in enumerate(decoder_inputs):  # deepest first
        skip = encoded[len(encoded) - 1 - j]
        c = skip.shape[1]
        assert x.shape == (2, c // 2 + c, *skip.shape[-2:])  # upsampled half, then the skip
        assert torch.equal(x[:, c // 2 :], skip)  # the encoder's map itself, before pooling


def test_unet_summary_and_bad_input():
    assert "ConvTranspose2d" in str(summary(unet(11), (1, 40, 56)))
    assert isinstance(unet(3), UNet)
    with pytest.raises(ValueError, match="x: expected H and W of at least 8"):
        unet(11)(torch.rand(1, 1, 7, 30))
    with pytest.raises(ValueError, match="x: expected"):
        unet(11)(torch.rand(1, 40, 56))
    with pytest.raises(ValueError, match="channels"):
        unet(11, channels=(1, 8))
    with pytest.raises(ValueError, match="num_classes"):
        unet(0)
