"""coursecnn.checks.lenet: passes the right answers, names the classic mistakes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from coursecnn.checks import CheckFailed
from coursecnn.checks import lenet as checks
from coursecnn.models import lenet5

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def mlp_count(input_size, hidden, num_classes):
    widths = [input_size * input_size, *hidden, num_classes]
    weights = sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=True))
    return weights, sum(widths[1:])


def test_mlp_param_count_passes_and_names_mistakes(capsys):
    checks.check_mlp_param_count(mlp_count)
    assert "657,920 weights and 778 biases" in capsys.readouterr().out

    def biases_as_weights(i, h, k):
        w, b = mlp_count(i, h, k)
        return w + b, 0

    def no_biases(i, h, k):
        return mlp_count(i, h, k)[0], 0

    def side_not_area(i, h, k):
        widths = [i, *h, k]
        return sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=True)), sum(widths[1:])

    def seed_count(i, h, k):  # seed 004's 1,802: an offset for every unit, inputs included
        w, b = mlp_count(i, h, k)
        return w, b + i * i

    def unfinished(i, h, k):
        raise NotImplementedError()

    for func, message in [
        (biases_as_weights, "counted as weights"),
        (no_biases, "biases are missing"),
        (side_not_area, "input_size\\*\\*2"),
        (seed_count, "input pixels have no bias"),
        (unfinished, "NotImplementedError"),
        (lambda i, h, k: 657920, "pair"),
    ]:
        with pytest.raises(CheckFailed, match=message):
            checks.check_mlp_param_count(func)


def by_hand(pool=nn.AvgPool2d, act=nn.Tanh, c3=16, padding=2):
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=padding), act(), pool(2),
        nn.Conv2d(6, c3, 5), act(), pool(2),
        nn.Conv2d(c3, 120, 5), act(), nn.Flatten(),
        nn.Linear(120, 84), act(), nn.Linear(84, 10),
    )  # fmt: skip


def test_lenet5_passes_zoo_and_hand_built(capsys):
    checks.check_lenet5(lenet5(input_size=28))
    checks.check_lenet5(by_hand())
    assert "61,706 parameters" in capsys.readouterr().out


@pytest.mark.parametrize(
    "model, message",
    [
        (None, "has not set"),
        ("lenet", "nn.Sequential"),
        (by_hand(pool=nn.MaxPool2d), "average pooling"),
        (by_hand(act=nn.ReLU), "tanh"),
        (by_hand(c3=12), "6, 16 and 120"),
        (by_hand(padding=0), "padding=2"),
        (lenet5(input_size=28, pool="paper"), "2 average-pooling layers"),
    ],
)
def test_lenet5_names_mistakes(model, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_lenet5(model)


def test_accuracy_passes_and_names_mistakes():
    checks.check_accuracy(lambda z, y: (z.argmax(1) == y).float().mean().item())
    checks.check_accuracy(lambda z, y: (z.argmax(1) == y).float().mean())  # a 0-d tensor is fine
    for func, message in [
        (lambda z, y: (z.argmax(1) == y).sum().item(), "number of correct rows"),
        (lambda z, y: 100 * (z.argmax(1) == y).float().mean().item(), "not percent"),
        (lambda z, y: (z.argmax(1) != y).float().mean().item(), "error rate"),
        (lambda z, y: None, "a number"),
    ]:
        with pytest.raises(CheckFailed, match=message):
            checks.check_accuracy(func)


def test_test_accuracy_fails_untrained_and_none():
    with pytest.raises(CheckFailed, match="has not set"):
        checks.check_test_accuracy(None)
    torch.manual_seed(0)
    with pytest.raises(CheckFailed, match="test accuracy >= 97%"):
        checks.check_test_accuracy(lenet5(input_size=28))
    with pytest.raises(CheckFailed, match="28x28"):
        checks.check_test_accuracy(lenet5())  # a 32x32 LeNet-5 cannot take the digits
