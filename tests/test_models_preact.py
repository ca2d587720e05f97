"""The pre-activation block and zero-init gamma: what "do nothing" means in a residual block."""

import pytest
import torch
from torch import nn

from coursecnn.models import BasicBlock, Bottleneck, PreActBlock, zero_init_residual

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_preact_block_shapes_and_shortcut():
    b = PreActBlock(8, 16, stride=2)
    assert b(torch.randn(2, 8, 8, 8)).shape == (2, 16, 4, 4)
    assert isinstance(b.shortcut, nn.Conv2d)
    same = PreActBlock(16, 16)
    assert isinstance(same.shortcut, nn.Identity)
    x = torch.randn(2, 16, 4, 4)
    torch.testing.assert_close(same(x), x + same.residual(x))  # nothing after the addition


def test_zero_init_residual_post_activation_gives_relu_not_identity():
    torch.manual_seed(0)
    x = torch.randn(4, 8, 6, 6, requires_grad=True)
    for block in (BasicBlock(8, 8), Bottleneck(32, 8)):
        xin = torch.randn(4, block.conv1.in_channels, 6, 6, requires_grad=True)
        zero_init_residual(block).train()
        out = block(xin)
        torch.testing.assert_close(out, torch.relu(xin))  # act(x + 0), not x
        (grad,) = torch.autograd.grad(out.sum(), xin)
        torch.testing.assert_close(grad, (xin > 0).float())  # the ReLU masks the gradient
    pre = zero_init_residual(PreActBlock(8, 8)).train()
    out = pre(x)
    torch.testing.assert_close(out, x)  # exactly the identity
    (grad,) = torch.autograd.grad(out.sum(), x)
    torch.testing.assert_close(grad, torch.ones_like(x))


def test_small_weights_do_not_make_the_residual_small_with_bn():
    torch.manual_seed(0)
    block = BasicBlock(8, 8).train()
    x = torch.randn(16, 8, 6, 6)
    before = block.residual(x).std().item()
    with torch.no_grad():
        for conv in (block.conv1, block.conv2):
            conv.weight.mul_(0.1)
    after = block.residual(x).std().item()
    assert after == pytest.approx(before, rel=0.05)  # BN undid the scale: F is not smaller


def test_cifar_resnet_preact_has_the_same_convolutions():
    from coursecnn.models import cifar_resnet

    post, pre = (
        cifar_resnet(20, in_channels=1, width=0.25),
        cifar_resnet(20, in_channels=1, width=0.25, preact=True),
    )
    convs = [[m.weight.shape for m in net.modules() if isinstance(m, nn.Conv2d)]
             for net in (post, pre)]  # fmt: skip
    assert convs[0] == convs[1]  # option A shortcuts: no projection in either
    blocks = [m for m in pre.modules() if isinstance(m, PreActBlock)]
    assert len(blocks) == 9 and hasattr(pre, "final")
    x = torch.randn(2, 1, 28, 28)
    assert pre(x).shape == (2, 10)
    zero_init_residual(pre).eval()
    with torch.no_grad():  # every block the identity: the stages only subsample and pad
        h = pre.stem(x)
        torch.testing.assert_close(pre.layer1(h), h)
    with pytest.raises(ValueError, match="preact"):
        cifar_resnet(20, plain=True, preact=True)
