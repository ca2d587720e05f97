"""The checks of 09_autoencoders pass right answers and catch the classic mistakes."""

from __future__ import annotations

import numpy as np
import pytest

from coursecnn.checks import CheckFailed
from coursecnn.checks import autoencoders as ca


def convt_size(size, kernel_size, stride=1, padding=0, output_padding=0, dilation=1):
    return (size - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1


def max_unpool(x, indices, output_size):
    n, c = x.shape[:2]
    out = np.zeros((n, c, *output_size))
    for a, b, i, j in np.ndindex(x.shape):
        r, q = divmod(int(indices[a, b, i, j]), output_size[1])
        out[a, b, r, q] = x[a, b, i, j]
    return out


def mean_iou(pred, target, num_classes):
    ious = []
    for c in range(num_classes):
        union = np.sum((pred == c) | (target == c))
        if union:
            ious.append(np.sum((pred == c) & (target == c)) / union)
    return float(np.mean(ious))


def unfinished(*args, **kwargs):
    raise NotImplementedError()


def test_right_answers_pass(capsys):
    ca.check_conv_transpose_output_size(convt_size)
    ca.check_max_unpool(max_unpool)
    ca.check_mean_iou(mean_iou)
    from coursecnn.train import mean_iou as package_mean_iou

    ca.check_mean_iou(package_mean_iou)
    assert capsys.readouterr().out.count("passed") == 4


def test_the_cases_span_what_they_claim():
    cases = np.array(ca.CONV_TRANSPOSE_CASES)
    _, k, s, _, op, d = cases.T
    assert set(k) >= {1, 2, 3, 4, 5, 7} and set(s) >= {1, 2, 3}
    assert (op > 0).sum() >= 4 and (d > 1).sum() >= 3
    assert all(o < max(a, b) for o, a, b in zip(op, s, d, strict=True))  # valid for torch


@pytest.mark.parametrize(
    "check", [ca.check_conv_transpose_output_size, ca.check_max_unpool, ca.check_mean_iou]
)
def test_unfinished_work_fails_with_a_clear_message(check):
    with pytest.raises(CheckFailed, match="NotImplementedError"):
        check(unfinished)
    with pytest.raises(CheckFailed, match="not a function"):
        check(None)


# ---------------------------------------------------------------------------- output size
CONVT_WRONG = {
    "no output_padding": (
        lambda n, k, s=1, p=0, op=0, d=1: (n - 1) * s - 2 * p + d * (k - 1) + 1,
        "output_padding",
    ),
    "no dilation": (
        lambda n, k, s=1, p=0, op=0, d=1: (n - 1) * s - 2 * p + (k - 1) + op + 1,
        "dilation",
    ),
    "kernel 3 built in": (
        lambda n, k, s=1, p=0, op=0, d=1: (n - 1) * s - 2 * p + 2 * d + op + 1,
        "kernel of 3",
    ),
    "dilation times k": (
        lambda n, k, s=1, p=0, op=0, d=1: (n - 1) * s - 2 * p + d * k + op,
        "off by one",
    ),
    "n times stride": (
        lambda n, k, s=1, p=0, op=0, d=1: n * s - 2 * p + d * (k - 1) + op + 1,
        r"\(n - 1\)\*stride",
    ),
    "padding once": (
        lambda n, k, s=1, p=0, op=0, d=1: (n - 1) * s - p + d * (k - 1) + op + 1,
        "both sides",
    ),
    "padding added": (
        lambda n, k, s=1, p=0, op=0, d=1: (n - 1) * s + 2 * p + d * (k - 1) + op + 1,
        "not added",
    ),
    "conv formula": (
        lambda n, k, s=1, p=0, op=0, d=1: (n + 2 * p - d * (k - 1) - 1) // s + 1,
        "convolution",
    ),
    "no +1": (
        lambda n, k, s=1, p=0, op=0, d=1: (n - 1) * s - 2 * p + d * (k - 1) + op,
        r"\+1",
    ),
    "k without dilation, no -1": (
        lambda n, k, s=1, p=0, op=0, d=1: (n - 1) * s - 2 * p + k + op,
        "dilation",
    ),
    "float result": (lambda *a: float(convt_size(*a)), "not a float"),
    "a tuple": (lambda *a: (convt_size(*a), convt_size(*a)), "Python int"),
    "output_padding ignored when the stride is 2": (
        lambda n, k, s=1, p=0, op=0, d=1: convt_size(n, k, s, p, 0 if s == 2 else op, d),
        "output_padding",
    ),
}


@pytest.mark.parametrize("name", sorted(CONVT_WRONG))
def test_output_size_mistakes_are_caught_and_named(name):
    func, message = CONVT_WRONG[name]
    with pytest.raises(CheckFailed, match=message):
        ca.check_conv_transpose_output_size(func)


# ---------------------------------------------------------------------------- max unpooling
def ignores_indices(x, indices, output_size):
    out = np.zeros((*x.shape[:2], *output_size))
    out[:, :, : 2 * x.shape[2] : 2, : 2 * x.shape[3] : 2] = x
    return out


def nearest(x, indices, output_size):
    up = np.kron(x, np.ones((2, 2)))
    out = np.zeros((*x.shape[:2], *output_size))
    out[:, :, : up.shape[2], : up.shape[3]] = up
    return out


def divmod_by_height(x, indices, output_size):
    n, c = x.shape[:2]
    out = np.zeros((n, c, *output_size))
    for a, b, i, j in np.ndindex(x.shape):
        r, q = divmod(int(indices[a, b, i, j]), output_size[0])
        if r < output_size[0] and q < output_size[1]:
            out[a, b, r, q] = x[a, b, i, j]
    return out


def whole_sample_flat(x, indices, output_size):
    n, c = x.shape[:2]
    out = np.zeros((n, c, *output_size))
    for a in range(n):
        np.put(out[a], indices[a].ravel(), x[a].ravel())  # index into (C, OH, OW): channel 0
    return out


def channel_zero_indices(x, indices, output_size):
    n, c = x.shape[:2]
    out = np.zeros((n, c, *output_size)).reshape(n, c, -1)
    for b in range(c):
        np.put_along_axis(out[:, b], indices[:, 0].reshape(n, -1), x[:, b].reshape(n, -1), axis=1)
    return out.reshape(n, c, *output_size)


def whole_array_flat(x, indices, output_size):
    out = np.zeros((*x.shape[:2], *output_size))
    out.reshape(-1)[indices.ravel()] = x.ravel()  # indices as positions in the whole array
    return out


def accumulates(x, indices, output_size):
    n, c = x.shape[:2]
    out = np.zeros((n, c, output_size[0] * output_size[1]))
    for a, b in np.ndindex(n, c):
        np.add.at(out[a, b], indices[a, b].ravel(), x[a, b].ravel())
    return out.reshape(n, c, *output_size)


def zero_started_max(x, indices, output_size):
    n, c = x.shape[:2]
    out = np.zeros((n, c, output_size[0] * output_size[1]))
    for a, b in np.ndindex(n, c):
        np.maximum.at(out[a, b], indices[a, b].ravel(), x[a, b].ravel())
    return out.reshape(n, c, *output_size)


def doubled_size(x, indices, output_size):
    n, c, h, w = x.shape
    out = np.zeros((n, c, 2 * h, 2 * w))
    for a, b, i, j in np.ndindex(x.shape):
        r, q = divmod(int(indices[a, b, i, j]), 2 * w)
        if r < 2 * h:
            out[a, b, r, q] = x[a, b, i, j]
    return out


def swapped_axes(x, indices, output_size):
    out = max_unpool(x, indices, output_size)
    return out.transpose(0, 1, 3, 2).reshape(out.shape)


def first_sample_only(x, indices, output_size):
    out = max_unpool(x[:1], indices[:1], output_size)
    return np.repeat(out, len(x), axis=0)


UNPOOL_WRONG = {
    "indices ignored": (ignores_indices, "indices are ignored"),
    "nearest neighbour": (nearest, "nearest-neighbour"),
    "divmod by the height": (divmod_by_height, "OW"),
    "flat index into the whole sample": (whole_sample_flat, "own \\(n, c\\) plane"),
    "channel 0's indices for all": (channel_zero_indices, "own indices"),
    "flat index into the whole array": (whole_array_flat, "expected"),
    "accumulated": (accumulates, "added twice"),
    "maximum from zero": (zero_started_max, "negative"),
    "2H x 2W": (doubled_size, "output_size"),
    "rows and columns swapped": (swapped_axes, "expected"),
    "first sample only": (first_sample_only, "expected"),
    "a list": (lambda x, i, s: max_unpool(x, i, s).tolist()[:1], "shape"),
    "nothing returned": (lambda x, i, s: None, "return"),
}


@pytest.mark.parametrize("name", sorted(UNPOOL_WRONG))
def test_unpool_mistakes_are_caught_and_named(name):
    func, message = UNPOOL_WRONG[name]
    with pytest.raises(CheckFailed, match=message):
        ca.check_max_unpool(func)


def test_unpool_accepts_a_tensor_back(capsys):
    import torch

    ca.check_max_unpool(lambda x, i, size: torch.from_numpy(max_unpool(x, i, size)))
    assert "passed" in capsys.readouterr().out


# --------------------------------------------------------------------------------------- IoU
def absent_as_zero(pred, target, k):
    return float(
        sum(
            np.sum((pred == c) & (target == c)) / max(np.sum((pred == c) | (target == c)), 1)
            for c in range(k)
        )
        / k
    )


def absent_as_one(pred, target, k):
    ious = []
    for c in range(k):
        union = np.sum((pred == c) | (target == c))
        ious.append(np.sum((pred == c) & (target == c)) / union if union else 1.0)
    return float(np.mean(ious))


def pixel_accuracy(pred, target, k):
    return float(np.mean(pred == target))


def frequency_weighted(pred, target, k):
    total = 0.0
    for c in range(k):
        union = np.sum((pred == c) | (target == c))
        if union:
            total += np.mean(target == c) * np.sum((pred == c) & (target == c)) / union
    return float(total)


def dice(pred, target, k):
    scores = []
    for c in range(k):
        a, b = pred == c, target == c
        if a.sum() + b.sum():
            scores.append(2 * np.sum(a & b) / (a.sum() + b.sum()))
    return float(np.mean(scores))


def union_without_minus(pred, target, k):
    scores = []
    for c in range(k):
        a, b = pred == c, target == c
        if a.sum() + b.sum():
            scores.append(np.sum(a & b) / (a.sum() + b.sum()))
    return float(np.mean(scores))


def recall(pred, target, k):
    return float(np.mean([np.sum((pred == c) & (target == c)) / np.sum(target == c)
                          for c in range(k) if np.any(target == c)]))  # fmt: skip


def precision(pred, target, k):
    return float(np.mean([np.sum((pred == c) & (target == c)) / np.sum(pred == c)
                          for c in range(k) if np.any(pred == c)]))  # fmt: skip


def no_background(pred, target, k):
    ious = []
    for c in range(1, k):
        union = np.sum((pred == c) | (target == c))
        if union:
            ious.append(np.sum((pred == c) & (target == c)) / union)
    return float(np.mean(ious))


def classes_in_truth_only(pred, target, k):
    ious = []
    for c in np.unique(target):
        ious.append(np.sum((pred == c) & (target == c)) / np.sum((pred == c) | (target == c)))
    return float(np.mean(ious))


def per_image(pred, target, k):
    if pred.ndim == 2:
        return mean_iou(pred, target, k)
    return float(np.mean([mean_iou(p, t, k) for p, t in zip(pred, target, strict=True)]))


def per_class_array(pred, target, k):
    out = []
    for c in range(k):
        union = np.sum((pred == c) | (target == c))
        out.append(np.sum((pred == c) & (target == c)) / union if union else np.nan)
    return np.array(out)


def classes_from_num_classes_only_present_in_pred(pred, target, k):
    ious = []
    for c in np.unique(pred):
        ious.append(np.sum((pred == c) & (target == c)) / np.sum((pred == c) | (target == c)))
    return float(np.mean(ious))


def percent(pred, target, k):
    return 100 * mean_iou(pred, target, k)


IOU_WRONG = {
    "absent classes count 0": (absent_as_zero, "counted as IoU 0"),
    "absent classes count 1": (absent_as_one, "counted as IoU 1"),
    "pixel accuracy": (pixel_accuracy, "pixel accuracy"),
    "frequency weighted": (frequency_weighted, "frequency-weighted"),
    "dice": (dice, "Dice"),
    "union without the minus": (union_without_minus, "overlap twice"),
    "recall": (recall, "recall"),
    "precision": (precision, "precision"),
    "background left out": (no_background, "background"),
    "classes of the truth only": (classes_in_truth_only, "predicted but absent"),
    "classes of the prediction only": (
        classes_from_num_classes_only_present_in_pred,
        "expected",
    ),
    "image by image": (per_image, "image by image"),
    "the per-class array": (per_class_array, "one value per class"),
    "in percent": (percent, "expected"),
}


@pytest.mark.parametrize("name", sorted(IOU_WRONG))
def test_iou_mistakes_are_caught_and_named(name):
    func, message = IOU_WRONG[name]
    with pytest.raises(CheckFailed, match=message):
        ca.check_mean_iou(func)
