"""Graded checks of notebook 05, LeNet.

References are real models: parameter counts come from ``coursecnn.models.mlp`` and torch's
own ``parameters()``, accuracies from ``coursecnn.train.evaluate``. Each check also computes what
the classic mistakes give (biases counted as weights, the output layer forgotten, max pooling
where LeNet-5 averages, ...) so that a failure can name the mistake it recognises.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from coursecnn.checks._report import call_student, fail, passed

__all__ = [
    "check_mlp_param_count",
    "check_lenet5",
    "check_accuracy",
    "check_test_accuracy",
    "LENET5_PARAMS",
]

#: LeNet-5 with full C3 connections and parameter-free average pooling, 28x28 input padded by 2.
LENET5_PARAMS = 61_706


def _mlp_counts(input_size: int, hidden: tuple[int, ...], num_classes: int) -> tuple[int, int]:
    """(weights, biases) of ``coursecnn.models.mlp``, counted from its parameters."""
    from coursecnn.models import mlp

    model = mlp(input_size=input_size, hidden=hidden, num_classes=num_classes)
    weights = sum(p.numel() for p in model.parameters() if p.ndim > 1)
    biases = sum(p.numel() for p in model.parameters() if p.ndim == 1)
    return weights, biases


def _as_pair(check: str, got: Any, expected: tuple[int, int], case: str) -> tuple[int, int]:
    if not isinstance(got, tuple | list) or len(got) != 2:
        fail(
            check,
            f"{case}: a pair (weights, biases) = {expected}",
            got,
            "return two numbers, `return weights, biases`",
        )
    try:
        return int(got[0]), int(got[1])
    except (TypeError, ValueError):
        fail(check, f"{case}: two integers {expected}", got, "return whole numbers of parameters")
    raise AssertionError  # unreachable: fail() raised


def check_mlp_param_count(func: Callable[..., Any]) -> None:
    """``func(input_size, hidden, num_classes) -> (weights, biases)`` of a greyscale MLP."""
    check = "mlp_param_count"
    cases = [
        (32, (512, 256), 10),  # seed 004: 657,920 weights; 778 biases (the seed says 1,802)
        (9, (20, 20), 10),  # seed 001: 600 + 20 * 9**2 = 2,220 weights
        (28, (100,), 10),
        (5, (), 3),
    ]
    for input_size, hidden, k in cases:
        case = f"mlp_param_count({input_size}, {hidden}, {k})"
        expected = _mlp_counts(input_size, hidden, k)
        got = _as_pair(
            check, call_student(check, func, input_size, list(hidden), k), expected, case
        )
        if got == expected:
            continue
        w, b = expected
        widths = [input_size**2, *hidden, k]
        no_out_w = sum(a * c for a, c in zip(widths[:-2], widths[1:-1], strict=True))
        lin_in_w = sum(a * c for a, c in zip([input_size, *hidden], [*hidden, k], strict=True))
        mistakes = [
            ((w + b, b), "the biases are counted twice: once inside the weights, once alone"),
            ((w + b, 0), "the biases are counted as weights; report them separately"),
            ((w, 0), "the biases are missing: each layer has one bias per output unit"),
            ((no_out_w, b - k), "the output layer (last hidden width x num_classes) is missing"),
            ((no_out_w, b), "the output layer's weights are missing"),
            (
                (lin_in_w, b),
                "an input_size x input_size image has input_size**2 pixels, not input_size",
            ),
            ((w, b - k), "the output layer's biases are missing"),
            (
                (w, b + input_size**2),
                "the input pixels have no bias, only the units a layer computes (this is how "
                "the seed gets 1,802 = 1,024 + 512 + 256 + 10)",
            ),
        ]
        for wrong, mistake in mistakes:
            if got == wrong:
                fail(check, f"{case} = {expected}", got, mistake)
        fail(
            check,
            f"{case} = {expected}",
            got,
            "a Linear(n_in, n_out) layer has n_in * n_out weights and n_out biases; add them up "
            "over every layer, output layer included",
        )
    passed(check, "657,920 weights and 778 biases for the seed's 32x32 / 512 / 256 / 10 MLP")


def _layers(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if not list(m.children())]


def check_lenet5(model: Any) -> None:
    """``model``: LeNet-5 for 1x28x28 digits, tanh and 2x2 average pooling, 61,706 parameters."""
    check = "lenet5"
    if model is None:
        fail(
            check,
            "an nn.Module (your LeNet-5)",
            None,
            "the exercise cell has not set `my_lenet5` yet: build it and run that cell",
        )
    if not isinstance(model, nn.Module):
        fail(
            check,
            "an nn.Module (your LeNet-5)",
            type(model).__name__,
            "wrap the layers in nn.Sequential(...)",
        )
    x = torch.zeros(2, 1, 28, 28)
    was_training = model.training
    try:
        with torch.no_grad():
            out = model.eval()(x)
    except NotImplementedError:
        raise
    except Exception as err:  # shapes that do not fit: say which layer size is off
        fail(
            check,
            "a forward pass on a (2, 1, 28, 28) batch",
            f"{type(err).__name__}: {err}",
            "C1 needs padding=2 so that 28x28 acts like LeNet-5's 32x32 (28 -> 14 -> 10 -> 5 "
            "-> C5 1x1), and C5's output flattens to 120 features",
        )
    finally:
        model.train(was_training)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (2, 10):
        fail(
            check,
            "output shape (2, 10): one score per digit",
            tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__,
            "the last layer is nn.Linear(84, 10)",
        )
    layers = _layers(model)
    convs = [m for m in layers if isinstance(m, nn.Conv2d)]
    linears = [m for m in layers if isinstance(m, nn.Linear)]
    if any(isinstance(m, nn.MaxPool2d) for m in layers):
        fail(
            check,
            "2x2 average pooling (nn.AvgPool2d), as in 1998",
            "nn.MaxPool2d",
            "LeNet-5 averages (subsampling); max pooling is the modern choice compared later",
        )
    pools = [m for m in layers if isinstance(m, nn.AvgPool2d)]
    if len(pools) != 2:
        fail(
            check,
            "2 average-pooling layers (S2 and S4)",
            f"{len(pools)}",
            "LeNet-5 is C1, S2, C3, S4, C5, F6, output",
        )
    if any(isinstance(m, nn.ReLU | nn.LeakyReLU | nn.ELU | nn.PReLU) for m in layers):
        fail(
            check,
            "tanh activations (nn.Tanh)",
            "a ReLU-type activation",
            "LeNet-5 predates ReLU: use nn.Tanh() after C1, C3, C5 and F6",
        )
    n_tanh = sum(isinstance(m, nn.Tanh) for m in layers)
    if n_tanh != 4:
        fail(
            check,
            "4 nn.Tanh layers (after C1, C3, C5, F6)",
            n_tanh,
            "every convolution and F6 is followed by tanh; the output layer is not",
        )
    channels = [c.out_channels for c in convs]
    if channels != [6, 16, 120]:
        fail(
            check,
            "convolutions with 6, 16 and 120 output maps (C1, C3, C5)",
            channels,
            "C1 has 6 maps, C3 16, C5 120, all with 5x5 kernels",
        )
    kernels = [tuple(c.kernel_size) for c in convs]
    if kernels != [(5, 5)] * 3:
        fail(check, "5x5 kernels in C1, C3 and C5", kernels, "LeNet-5 uses kernel_size=5")
    widths = [(m.in_features, m.out_features) for m in linears]
    if widths != [(120, 84), (84, 10)]:
        fail(
            check,
            "Linear(120, 84) then Linear(84, 10)",
            widths,
            "F6 has 84 units; the output layer 10",
        )
    n = sum(p.numel() for p in model.parameters())
    if n != LENET5_PARAMS:
        fail(
            check,
            f"{LENET5_PARAMS:,} parameters",
            f"{n:,}",
            "a layer has no bias (bias=False) or an extra layer has parameters",
        )
    passed(check, f"{n:,} parameters, output (N, 10), tanh and average pooling")


def check_accuracy(func: Callable[..., Any]) -> None:
    """``func(logits (N, K), labels (N,)) -> float`` fraction of rows whose argmax is the label."""
    check = "accuracy"
    g = torch.Generator().manual_seed(5)
    cases = [
        (
            torch.tensor([[2.0, 1.0, 0.1], [0.1, 0.2, 3.0], [1.0, 4.0, 0.0], [0.5, 0.4, 0.3]]),
            torch.tensor([0, 2, 0, 0]),
        ),
        (torch.randn(7, 10, generator=g), torch.randint(0, 10, (7,), generator=g)),
        (torch.randn(4, 2, generator=g), torch.tensor([1, 1, 0, 1])),
    ]
    for logits, labels in cases:
        case = f"logits of shape {tuple(logits.shape)}, labels {labels.tolist()}"
        expected = (logits.argmax(dim=1) == labels).float().mean().item()
        got = call_student(check, func, logits.clone(), labels.clone())
        try:
            got = float(got)
        except (TypeError, ValueError):
            fail(
                check,
                f"{case}: a number {expected:.4f}",
                got,
                "return a single number, e.g. `.float().mean().item()`",
            )
        if np.isclose(got, expected):
            continue
        correct = (logits.argmax(dim=1) == labels).sum().item()
        if np.isclose(got, correct) and correct != expected:
            fail(
                check,
                f"{case}: {expected:.4f}",
                got,
                "that is the number of correct rows: divide by the number of rows",
            )
        if np.isclose(got, 100 * expected):
            fail(check, f"{case}: {expected:.4f}", got, "return a fraction in [0, 1], not percent")
        if np.isclose(got, 1 - expected):
            fail(check, f"{case}: {expected:.4f}", got, "that is the error rate, 1 - accuracy")
        by_col = logits.argmax(dim=0)
        if len(by_col) <= len(labels):
            wrong = (by_col == labels[: len(by_col)]).float().mean().item()
            if np.isclose(got, wrong):
                fail(
                    check,
                    f"{case}: {expected:.4f}",
                    got,
                    "argmax over dim 0 picks a row per class; take it over dim=1 (the classes)",
                )
        probs_wrong = (torch.softmax(logits, 0).argmax(1) == labels).float().mean().item()
        if np.isclose(got, probs_wrong) and not np.isclose(probs_wrong, expected):
            fail(check, f"{case}: {expected:.4f}", got, "softmax over dim 0 mixes the images")
        fail(
            check,
            f"{case}: {expected:.4f}",
            got,
            "the prediction is the class with the largest logit, logits.argmax(dim=1); "
            "accuracy is the mean of (prediction == label)",
        )
    passed(check)


def _held_out_digits(batch_size: int = 500) -> Any:
    from coursecnn.data import digits, loader, stats

    mean, std = stats(digits("train")[0])
    x, y = digits("test")
    return loader(x, y, batch_size=batch_size, mean=mean, std=std)


def check_test_accuracy(model: Any, target: float = 0.97) -> None:
    """``model`` reaches ``target`` accuracy on the 1,000 held-out shipped digits.

    The test images are normalised with the training split's mean and std, 28x28, as
    ``coursecnn.data.loader`` does.
    """
    from coursecnn.train import evaluate

    check = "test_accuracy"
    if model is None:
        fail(
            check,
            "a trained nn.Module",
            None,
            "the exercise cell has not set `trained_lenet5` yet: train it and run that cell",
        )
    if not isinstance(model, nn.Module):
        fail(check, "a trained nn.Module", type(model).__name__, "pass the model itself")
    try:
        res = evaluate(model, _held_out_digits(), device=next(model.parameters()).device)
    except Exception as err:
        fail(
            check,
            "a model that takes (N, 1, 28, 28) digits",
            f"{type(err).__name__}: {err}",
            "train a model for 28x28 inputs, e.g. lenet5(input_size=28)",
        )
    acc = res["accuracy"]
    if acc < target:
        mistake = (
            "no better than guessing: was the model trained at all?"
            if acc < 0.2
            else "train for more epochs, or check the learning rate (Adam 1e-3 to 3e-3) and "
            "that the images are normalised with the training mean and std"
        )
        fail(
            check,
            f"test accuracy >= {target:.0%} on the 1,000 held-out digits",
            f"{acc:.2%}",
            mistake,
        )
    passed(check, f"{acc:.2%} on the 1,000 held-out digits (target {target:.0%})")
