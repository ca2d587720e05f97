"""coursecnn.checks.inception_resnet: passes right answers (the zoo's own modules included),
fails every known-wrong solution of notebook 07 and names the classic mistakes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from coursecnn.checks import CheckFailed
from coursecnn.checks import inception_resnet as checks
from coursecnn.models import BasicBlock, Inception, count_params

pytestmark = pytest.mark.usefixtures("one_torch_thread")

WRONG = Path(__file__).parent / "wrong_solutions" / "07_inception_resnet.json"
TARGETS = {
    "ex_batch_norm_forward": (checks.check_batch_norm_forward, "batch_norm_forward"),
    "ex_inception_params": (checks.check_inception_params, "inception_params"),
    "ex_factorised_conv": (checks.check_factorised_conv, "factorised_conv"),
    "ex_residual_block": (checks.check_residual_block, "ResidualBlock"),
}


def inception_params(c, n1, r3, n3, r5, n5, pp, naive=False):
    def conv(a, b, k):
        return a * b * k * k + b

    if naive:
        return conv(c, n1, 1) + conv(c, n3, 3) + conv(c, n5, 5)
    return (
        conv(c, n1, 1)
        + conv(c, r3, 1)
        + conv(r3, n3, 3)
        + conv(c, r5, 1)
        + conv(r5, n5, 5)
        + conv(c, pp, 1)
    )


def batch_norm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    shape = (1, -1, 1, 1)  # one value per channel, broadcast over (N, C, H, W)
    if training:
        mu = x.mean(dim=(0, 2, 3))
        var = x.var(dim=(0, 2, 3), unbiased=False)  # biased: divide by N*H*W
        n = x.numel() // x.shape[1]
        new_mean = (1 - momentum) * running_mean + momentum * mu
        new_var = (1 - momentum) * running_var + momentum * var * n / (n - 1)  # unbiased
    else:
        mu, var = running_mean, running_var
        new_mean, new_var = running_mean.clone(), running_var.clone()
    y = gamma.view(shape) * (x - mu.view(shape)) / torch.sqrt(var.view(shape) + eps)
    return y + beta.view(shape), new_mean, new_var


def factorised_conv(c_in, c_out, k):
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, (1, k), padding=(0, k // 2), bias=False),
        nn.ReLU(),
        nn.Conv2d(c_out, c_out, (k, 1), padding=(k // 2, 0), bias=False),
    )


class ResidualBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(out))
        out += x if self.shortcut is None else self.shortcut(x)
        return F.relu(out)


def test_right_answers_pass(capsys):
    checks.check_batch_norm_forward(batch_norm_forward)
    checks.check_inception_params(inception_params)
    checks.check_factorised_conv(factorised_conv)
    checks.check_residual_block(ResidualBlock)
    checks.check_residual_block(BasicBlock)  # the zoo's block equals torchvision's
    out = capsys.readouterr().out
    assert "163,696 parameters in inception (3a), 387,296" in out
    assert out.count("passed") == 5


def test_inception_reference_is_the_module_itself():
    args = (192, 64, 96, 128, 16, 32, 32)
    assert count_params(Inception(*args)) == inception_params(*args) == 163_696
    assert count_params(Inception(*args, naive=True)) == inception_params(*args, naive=True)


def unfinished(*args, **kwargs):
    raise NotImplementedError()


class UnfinishedBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        raise NotImplementedError()


@pytest.mark.parametrize(
    "check, func",
    [
        (checks.check_batch_norm_forward, unfinished),
        (checks.check_inception_params, unfinished),
        (checks.check_factorised_conv, unfinished),
        (checks.check_residual_block, UnfinishedBlock),
    ],
)
def test_student_version_fails(check, func):
    with pytest.raises(CheckFailed, match="not yet answered"):
        check(func)


def _entries():
    return [pytest.param(e, id=e["name"]) for e in json.loads(WRONG.read_text(encoding="utf-8"))]


@pytest.mark.parametrize("entry", _entries())
def test_every_known_wrong_solution_fails_its_check(entry):
    check, name = TARGETS[entry["grade_id"]]
    namespace = {"torch": torch, "nn": nn, "F": F, "Inception": Inception, "BasicBlock": BasicBlock}
    exec(entry["source"], namespace)
    assert entry["must_fail"] == ["check" + entry["grade_id"][2:]]
    with pytest.raises(CheckFailed):
        check(namespace[name])


def _wrong(name):
    entry = next(e for e in json.loads(WRONG.read_text(encoding="utf-8")) if e["name"] == name)
    namespace = {"torch": torch, "nn": nn, "F": F}
    exec(entry["source"], namespace)
    return namespace[TARGETS[entry["grade_id"]][1]]


@pytest.mark.parametrize(
    "name, message",
    [
        ("batch norm normalising with the unbiased variance", "biased variance"),
        ("batch norm updating the running variance with the biased variance", "unbiased batch"),
        ("batch norm with the batch statistics in eval mode too", "running statistics, not"),
        ("batch norm with the momentum on the old running value", "momentum weighs the batch"),
        ("batch norm per image instead of per channel", "not per image"),
        ("batch norm updating the running statistics in place", "in place"),
        ("Inception count without the biases", "biases are missing"),
        ("Inception count with the 3x3 and 5x5 on all input maps (reductions ignored)", "reduced"),
        ("Inception count with the 5x5 counted as a 3x3", "25 weights"),
        ("Inception count with a pool projection in the naive module", "no parameters"),
        ("factorised conv as one k x k conv", "split it in two"),
        ("factorised conv padded on both axes", "long side"),
        ("factorised conv with k fixed at 3", "not a fixed 3"),
        ("factorised conv with biases", "bias=False"),
        ("residual block with an identity shortcut always", r"projection \(stride 2"),
        ("residual block projecting only when the stride changes", r"channels 6 -> 10, stride 1"),
        ("residual block projecting always", "identity"),
        ("residual block projecting without batch norm", "its own nn.BatchNorm2d"),
        ("residual block with ReLU before the addition", "before the addition"),
        ("residual block without the final ReLU", "final ReLU is missing"),
        ("residual block with batch norm after the addition", "batch norm after the addition"),
        ("residual block with the stride on the second conv", "first 3x3 conv"),
        ("residual block normalising with batch statistics in eval mode too", "eval mode"),
        ("residual block with a detached shortcut", "detach"),
        ("residual block with conv biases", "bias=False"),
    ],
)
def test_failures_name_the_mistake(name, message):
    check, _ = TARGETS[
        "ex_batch_norm_forward"
        if name.startswith("batch norm")
        else "ex_inception_params"
        if name.startswith("Inception")
        else "ex_factorised_conv"
        if name.startswith("factorised")
        else "ex_residual_block"
    ]
    with pytest.raises(CheckFailed, match=message):
        check(_wrong(name))


def test_wrong_return_types():
    with pytest.raises(CheckFailed, match="a str is not an int"):
        checks.check_inception_params(lambda *a, naive=False: "163696")
    right = checks._inception_count
    with pytest.raises(CheckFailed, match="a float is not an int"):  # a whole float
        checks.check_inception_params(lambda *a, naive=False: float(right(a, naive)))
    with pytest.raises(CheckFailed, match="a Tensor is not an int"):
        checks.check_inception_params(lambda *a, naive=False: torch.tensor(right(a, naive)))
    with pytest.raises(CheckFailed, match="nn.Module"):
        checks.check_factorised_conv(lambda c_in, c_out, k: [nn.Conv2d(c_in, c_out, 1)])
    with pytest.raises(CheckFailed, match="nn.Module"):
        checks.check_residual_block(lambda c_in, c_out, stride: None)


def test_block_check_uses_train_and_eval_mode():
    """A block whose eval mode is wrong passes train mode only: the check sees it."""

    class TrainOnly(ResidualBlock):
        def forward(self, x):
            if not self.training:
                return super().forward(x) * 1.01
            return super().forward(x)

    with pytest.raises(CheckFailed, match="eval mode"):
        checks.check_residual_block(TrainOnly)
