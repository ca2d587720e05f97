"""Graded checks of notebook 09, autoencoders and structured outputs.

References come from torch: the output sizes of ``torch.nn.functional.conv_transpose2d``,
``torch.nn.functional.max_unpool2d`` at indices from ``max_pool2d``; mean IoU is computed
here from its definition, class by class, with Python sets of pixel positions. Each check also
computes what the classic mistakes give (output padding or dilation left out, a kernel of 3
built in, indices ignored or read in the wrong plane, absent classes counted, pixels averaged
instead of classes, ...) so that a failure can name the mistake it recognises.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from coursecnn.checks._guard import (
    ANY_TORCH,
    BUILD_MODULE,
    TORCH_CONV,
    declare,
)
from coursecnn.checks._report import as_float_array, call_student, fail, passed

__all__ = [
    "check_conv_transpose_output_size",
    "check_max_unpool",
    "check_mean_iou",
    "CONV_TRANSPOSE_CASES",
]


def _fmt(a: np.ndarray) -> str:
    with np.printoptions(precision=3, suppress=True, threshold=120, linewidth=110):
        return str(a)


# ------------------------------------------------------------ transposed-convolution output size
#: (size, kernel_size, stride, padding, output_padding, dilation): the autoencoder's 7 -> 14 and
#: 14 -> 28, DCGAN's 4x4 stride 2, odd and even kernels, stride 3, dilation, output padding.
CONV_TRANSPOSE_CASES = [
    (7, 3, 2, 1, 1, 1),
    (14, 3, 2, 1, 1, 1),
    (7, 4, 2, 1, 0, 1),
    (5, 5, 2, 2, 1, 1),
    (6, 2, 2, 0, 0, 1),
    (4, 7, 3, 0, 2, 1),
    (9, 1, 1, 0, 0, 1),
    (5, 3, 1, 1, 0, 2),
    (6, 3, 2, 0, 1, 3),
    (3, 5, 2, 1, 0, 2),
    (8, 4, 3, 2, 2, 1),
    (10, 3, 1, 0, 0, 1),
]


def _torch_convt_size(n: int, k: int, s: int, p: int, op: int, d: int) -> int:
    """The output length torch gives (one row, so only the width is computed)."""
    x = torch.zeros(1, 1, 1, n)
    w = torch.zeros(1, 1, 1, k)
    out = F.conv_transpose2d(x, w, stride=(1, s), padding=(0, p), output_padding=(0, op),
                             dilation=(1, d))  # fmt: skip
    return int(out.shape[-1])


def _convt_mistakes() -> list[tuple[Callable[..., float], str]]:
    return [
        (
            lambda n, k, s, p, op, d: (n - 1) * s - 2 * p + d * (k - 1) + 1,
            "output_padding is left out: it adds output_padding rows at the bottom/right",
        ),
        (
            lambda n, k, s, p, op, d: (n - 1) * s - 2 * p + (k - 1) + op + 1,
            "dilation is left out: a dilated kernel spans dilation*(kernel_size - 1) + 1 pixels",
        ),
        (
            lambda n, k, s, p, op, d: (n - 1) * s - 2 * p + 2 * d + op + 1,
            "a kernel of 3 is built in: use kernel_size, it is not always 3",
        ),
        (
            lambda n, k, s, p, op, d: (n - 1) * s - 2 * p + d * k + op,
            "off by one: the dilated kernel spans dilation*(kernel_size - 1) + 1, not "
            "dilation*kernel_size",
        ),
        (
            lambda n, k, s, p, op, d: n * s - 2 * p + d * (k - 1) + op + 1,
            "n*stride: the n input values are stride apart, so their stamps start (n - 1)*stride "
            "apart",
        ),
        (
            lambda n, k, s, p, op, d: (n - 1) * s - p + d * (k - 1) + op + 1,
            "padding is cut from both sides: subtract 2*padding",
        ),
        (
            lambda n, k, s, p, op, d: (n - 1) * s + 2 * p + d * (k - 1) + op + 1,
            "padding is cut from the output of a transposed convolution, not added: "
            "subtract 2*padding",
        ),
        (
            lambda n, k, s, p, op, d: (n + 2 * p - d * (k - 1) - 1) // s + 1,
            "that is the size formula of a convolution; the transposed one runs it backwards",
        ),
        (
            lambda n, k, s, p, op, d: (n - 1) * s - 2 * p + d * (k - 1) + op,
            "forgot the +1 (a single input value stamps a whole kernel: k pixels when s = 1)",
        ),
        (
            lambda n, k, s, p, op, d: (n - 1) * s - 2 * p + k + op,
            "dilation is left out: a dilated kernel spans dilation*(kernel_size - 1) + 1 pixels",
        ),
    ]


def check_conv_transpose_output_size(func: Callable[..., Any]) -> None:
    """``func(size, kernel_size, stride, padding, output_padding, dilation)`` -> int, as torch."""
    check = "check_conv_transpose_output_size"
    results = [call_student(check, func, *case) for case in CONV_TRANSPOSE_CASES]
    for case, got in zip(CONV_TRANSPOSE_CASES, results, strict=True):
        want = _torch_convt_size(*case)
        n, k, s, p, op, d = case
        args = (
            f"conv_transpose_output_size({n}, kernel_size={k}, stride={s}, padding={p}, "
            f"output_padding={op}, dilation={d})"
        )
        if isinstance(got, bool) or not isinstance(got, int | np.integer | float | np.floating):
            fail(check, f"{args} = int {want}", got, "return one whole number, a Python int")
        if isinstance(got, float | np.floating):
            if float(got) == want:
                fail(check, f"{args} = int {want}", got, "return an int, not a float")
            if not math.isfinite(float(got)):
                fail(check, f"{args} = {want}", got, "the result must be a finite whole number")
        if int(got) == want and float(got) == want:
            continue
        why = "OH = (H - 1)*stride - 2*padding + dilation*(kernel_size - 1) + output_padding + 1"
        mistakes = _convt_mistakes()
        for formula, mistake in mistakes:  # the formula that explains every answer
            if all(formula(*c) == r for c, r in zip(CONV_TRANSPOSE_CASES, results, strict=True)):
                why = mistake
                break
        else:
            for formula, mistake in mistakes:  # else one that explains this answer
                if formula(*case) == got:
                    why = mistake
                    break
        fail(check, f"{args} = {want}", got, why)
    passed(
        check,
        f"{len(CONV_TRANSPOSE_CASES)} cases (kernels 1-7, strides 1-3, output padding, dilation) "
        "match torch",
    )


# ------------------------------------------------------------------------------- max unpooling
def _pooled(x: np.ndarray, k: int, s: int) -> tuple[np.ndarray, np.ndarray]:
    out, idx = F.max_pool2d(torch.from_numpy(x), k, s, return_indices=True)
    return out.numpy(), idx.numpy()


def _torch_unpool(x: np.ndarray, idx: np.ndarray, k: int, s: int, size: tuple[int, int]):
    out = F.max_unpool2d(torch.from_numpy(x), torch.from_numpy(idx), k, s, output_size=size)
    return out.numpy()


def _wrong_unpools(
    x: np.ndarray, idx: np.ndarray, k: int, s: int, size: tuple[int, int]
) -> list[tuple[np.ndarray | None, str]]:
    n, c, h, w = x.shape
    oh, ow = size
    top_left = np.zeros((n, c, oh, ow))
    nearest = np.zeros((n, c, oh, ow))
    for i in range(h):
        for j in range(w):
            top_left[:, :, i * s, j * s] = x[:, :, i, j]
            nearest[:, :, i * s : i * s + k, j * s : j * s + k] = x[:, :, i, j, None, None]
    kron = np.zeros((n, c, oh, ow))
    rep = x.repeat(s, axis=2).repeat(s, axis=3)[:, :, :oh, :ow]
    kron[:, :, : rep.shape[2], : rep.shape[3]] = rep
    rows_by_height = np.zeros((n, c, oh, ow))
    by_height = oh != ow
    plane_of_sample = np.zeros((n, c, oh, ow))
    first_channel = np.zeros((n, c, oh, ow))
    added = np.zeros((n, c, oh, ow))
    zero_started_max = np.zeros((n, c, oh, ow))
    for a in range(n):
        for b in range(c):
            for v, f in zip(x[a, b].ravel(), idx[a, b].ravel(), strict=True):
                if by_height:
                    r, q = divmod(int(f), oh)
                    if r < oh and q < ow:
                        rows_by_height[a, b, r, q] = v
                plane_of_sample[a].reshape(-1)[int(f)] = v  # a flat index into (C, OH, OW)
                added[a, b].reshape(-1)[int(f)] += v
                flat = zero_started_max[a, b].reshape(-1)
                flat[int(f)] = max(flat[int(f)], v)
            for v, f in zip(x[a, b].ravel(), idx[a, 0].ravel(), strict=True):
                first_channel[a, b].reshape(-1)[int(f)] = v
    return [
        (
            top_left,
            "the indices are ignored: each value went to its window's top-left corner; it "
            "belongs where the maximum came from, at indices[n, c, i, j]",
        ),
        (
            nearest,
            "that is nearest-neighbour upsampling, a copy over the whole window: unpooling puts "
            "each value at its index only and leaves zeros everywhere else",
        ),
        (
            kron,
            "that is nearest-neighbour upsampling (np.repeat / np.kron): unpooling puts each value "
            "at its index only and leaves zeros everywhere else",
        ),
        (
            rows_by_height if by_height else None,
            "the flat index is row * OW + column (OW, the output's width): use divmod(index, OW), "
            "not the height",
        ),
        (
            plane_of_sample,
            "each index counts within its own (n, c) plane of OH*OW pixels; here it was read as a "
            "position in the whole (C, OH, OW) block, so every value landed in channel 0",
        ),
        (
            first_channel if c > 1 else None,
            "every channel has its own indices: use indices[n, c], not channel 0's for all",
        ),
        (
            added,
            "overlapping windows can pick the same maximum: it was added twice; assign (=) the "
            "value, do not add (+=)",
        ),
        (
            zero_started_max,
            "np.maximum with a zero-filled output loses negative values: assign each value at "
            "its index",
        ),
    ]


def _unpool_cases() -> list[tuple[str, np.ndarray, int, int, tuple[int, int]]]:
    rng = np.random.default_rng(9)
    distinct = rng.permutation(2 * 3 * 7 * 9).reshape(2, 3, 7, 9) - 100.0
    small = rng.permutation(24).reshape(1, 1, 4, 6).astype(np.float64)
    overlap = rng.integers(-5, 5, size=(1, 2, 7, 8)).astype(np.float64)
    negative = -1.0 - rng.random((2, 2, 6, 4))
    return [
        ("one 4x6 plane, 2x2 pooling", small, 2, 2, (4, 6)),
        (
            "a batch of 2, 3 channels, a 7x9 input pooled 2x2 (its last row and column were "
            "left over: output_size (7, 9))",
            distinct,
            2,
            2,
            (7, 9),
        ),
        (
            "overlapping 3x3 windows, stride 2, on 7x8 planes of few values (windows share maxima)",
            overlap,
            3,
            2,
            (7, 8),
        ),
        ("all-negative values, 2x2 pooling of 6x4 planes", negative, 2, 2, (6, 4)),
    ]


def check_max_unpool(func: Callable[..., Any]) -> None:
    """``func(x, indices, output_size)``: x, indices (N, C, H, W) -> (N, C, OH, OW), zeros except
    each ``x[n, c, i, j]`` at flat position ``indices[n, c, i, j]`` of plane ``(n, c)``."""
    check = "check_max_unpool"
    for case, source, k, s, size in _unpool_cases():
        x, idx = _pooled(source, k, s)
        want = _torch_unpool(x, idx, k, s, size)
        got = call_student(check, func, x.copy(), idx.copy(), size)
        label = f"{case}; x {x.shape}, indices {idx.shape}, output_size {size}"
        arr = as_float_array(check, got, f"{label}: an array of shape {want.shape}",
                             "add `return`", "return a NumPy array")  # fmt: skip
        if arr.shape != want.shape:
            hint = "the output has shape (N, C, OH, OW) with (OH, OW) = output_size"
            if arr.shape == x.shape[:2] + (x.shape[2] * s, x.shape[3] * s):
                hint = (
                    "the output size is output_size, not 2H x 2W: pooling dropped the left-over "
                    "row and column, unpooling must give them back"
                )
            fail(check, f"{label}: shape {want.shape}", f"shape {arr.shape}", hint)
        if np.allclose(arr, want):
            continue
        for wrong, mistake in _wrong_unpools(x, idx, k, s, size):
            if wrong is not None and np.allclose(arr, wrong):
                fail(check, f"{label}\n{_fmt(want)}", _fmt(arr), mistake)
        fail(
            check,
            f"{label}\n{_fmt(want)}",
            _fmt(arr),
            "start from zeros (N, C, OH, OW); for every (n, c, i, j) put x[n, c, i, j] at row, "
            "column = divmod(indices[n, c, i, j], OW) of plane (n, c)",
        )
    passed(
        check,
        "batches, channels with their own indices, left-over borders, overlapping windows and "
        "negative values match torch.nn.functional.max_unpool2d",
    )


# --------------------------------------------------------------------------------------- IoU
def _iou_by_sets(pred: np.ndarray, target: np.ndarray, num_classes: int) -> float:
    """Mean IoU from the definition: sets of pixel positions, class by class."""
    positions = list(np.ndindex(pred.shape))
    ious = []
    for c in range(num_classes):
        p = {pos for pos in positions if pred[pos] == c}
        t = {pos for pos in positions if target[pos] == c}
        if p | t:
            ious.append(len(p & t) / len(p | t))
    return float(np.mean(ious))


def _wrong_ious(pred: np.ndarray, target: np.ndarray, k: int) -> list[tuple[float, str]]:
    m = np.zeros((k, k))
    np.add.at(m, (target.ravel(), pred.ravel()), 1)
    inter = np.diag(m)
    n_pred, n_true = m.sum(0), m.sum(1)
    union = n_pred + n_true - inter
    present = union > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = inter / union
        dice = 2 * inter / (n_pred + n_true)
        recall = inter / n_true
        precision = inter / n_pred
        no_minus = inter / (n_pred + n_true)
    per_image = []
    if pred.ndim == 3:
        per_image = [_iou_by_sets(pred[i], target[i], k) for i in range(len(pred))]
    wrong = [
        (
            float(np.where(present, iou, 0).sum() / k),
            "a class absent from both prediction and truth was counted as IoU 0: leave it out of "
            "the mean (its IoU is 0/0, undefined)",
        ),
        (
            float(np.where(present, iou, 1).sum() / k),
            "a class absent from both prediction and truth was counted as IoU 1: leave it out of "
            "the mean (its IoU is 0/0, undefined)",
        ),
        (
            float(inter.sum() / m.sum()),
            "that is pixel accuracy, an average over pixels: mean IoU averages over classes, "
            "each class weighing the same",
        ),
        (
            float(np.sum(n_true[present] / m.sum() * iou[present])),
            "that weighs each class by its pixels (frequency-weighted IoU): mean IoU gives every "
            "class present the same weight",
        ),
        (
            float(np.nanmean(dice[present])),
            "that is the Dice coefficient 2|A & B| / (|A| + |B|): IoU is |A & B| / |A | B|",
        ),
        (
            float(np.nanmean(np.where(present, no_minus, np.nan))),
            "the union counts the overlap twice: |A | B| = |A| + |B| - |A & B|",
        ),
        (
            float(np.nanmean(np.where(n_true > 0, recall, np.nan))),
            "that divides by the true pixels only (recall): divide by the union of predicted and "
            "true pixels",
        ),
        (
            float(np.nanmean(np.where(n_pred > 0, precision, np.nan))),
            "that divides by the predicted pixels only (precision): divide by the union of "
            "predicted and true pixels",
        ),
        (
            float(np.nanmean(np.where(present, iou, np.nan)[1:])) if present[1:].any() else None,
            "class 0 (background) was left out: it is a class like the others here",
        ),
        (
            float(np.nanmean(np.where(n_true > 0, iou, np.nan))),
            "only the classes in the truth were averaged: a class that is predicted but absent "
            "from the truth has IoU 0 and counts too",
        ),
        (
            float(np.mean(per_image)) if per_image else None,
            "the IoU was averaged image by image: pool the pixels of all images, then compute "
            "each class's IoU once",
        ),
    ]
    return [(v, why) for v, why in wrong if v is not None and math.isfinite(v)]


def _iou_cases() -> list[tuple[str, np.ndarray, np.ndarray, int]]:
    rng = np.random.default_rng(12)
    hand_t = np.array([[2, 0, 1, 0], [0, 0, 1, 1], [1, 0, 1, 0]])
    hand_p = np.array([[2, 0, 2, 1], [0, 0, 1, 1], [1, 0, 0, 0]])
    absent_t = np.array([[0, 0, 0, 4, 4], [0, 0, 1, 4, 4], [0, 1, 1, 0, 0]])
    absent_p = np.array([[0, 0, 1, 4, 4], [0, 0, 1, 1, 4], [0, 0, 1, 0, 0]])
    only_pred_t = np.array([[0, 0, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0]])
    only_pred_p = np.array([[0, 0, 2, 2], [1, 1, 0, 0], [1, 0, 0, 0]])
    # a batch: mostly background, small objects of several classes, one missed entirely
    batch_t = np.zeros((3, 8, 10), dtype=np.int64)
    batch_t[0, 1:4, 1:5] = 1
    batch_t[0, 5:8, 6:9] = 3
    batch_t[1, 2:6, 3:9] = 2
    batch_t[2, 0:3, 0:3] = 5
    batch_t[2, 4:8, 5:10] = 1
    batch_p = batch_t.copy()
    batch_p[0, 1:4, 4] = 0
    batch_p[0, 5:7, 6:9] = 2
    batch_p[1, 2:6, 2] = 2
    batch_p[2, 0:3, 0:3] = 0
    batch_p[2, 4:8, 9] = 0
    rand_t = rng.integers(0, 6, size=(2, 6, 7))
    rand_p = np.where(rng.random((2, 6, 7)) < 0.6, rand_t, rng.integers(0, 6, size=(2, 6, 7)))
    return [
        ("3 classes, all present, a 3x4 map", hand_p, hand_t, 3),
        (
            "num_classes=6, classes 2, 3 and 5 in neither prediction nor truth",
            absent_p,
            absent_t,
            6,
        ),
        ("class 2 predicted but absent from the truth", only_pred_p, only_pred_t, 3),
        (
            "a batch of 3 maps (3, 8, 10): much background, small objects, class 5 missed, "
            "num_classes=7",
            batch_p,
            batch_t,
            7,
        ),
        ("random maps (2, 6, 7) of 6 classes, 60 % right", rand_p, rand_t, 6),
    ]


def check_mean_iou(func: Callable[..., Any]) -> None:
    """``func(pred, target, num_classes)`` -> float: the mean over the classes present in
    ``pred`` or ``target`` of |pred = c and target = c| / |pred = c or target = c|, pooled over
    every pixel of every map given."""
    check = "check_mean_iou"
    for case, pred, target, k in _iou_cases():
        want = _iou_by_sets(pred, target, k)
        got = call_student(check, func, pred.copy(), target.copy(), k)
        label = f"{case},\npred =\n{_fmt(pred)}\ntarget =\n{_fmt(target)}\nmean IoU"
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if isinstance(got, np.ndarray) and got.ndim == 0:
            got = got.item()
        if isinstance(got, bool) or not isinstance(got, int | float | np.integer | np.floating):
            hint = "return one number, e.g. float(np.mean(ious))"
            if isinstance(got, np.ndarray | list | tuple):
                hint = "that is one value per class: return their mean over the classes present"
            fail(check, f"{label} = {want:.4f}", got, hint)
        got = float(got)
        if math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9):
            continue
        why = (
            "for each class c with pixels in pred or target: |pred == c & target == c| / "
            "|pred == c | target == c|; then the plain mean over those classes"
        )
        for wrong, mistake in _wrong_ious(pred, target, k):
            if math.isclose(got, wrong, rel_tol=1e-6, abs_tol=1e-9):
                why = mistake
                break
        fail(check, f"{label} = {want:.4f}", f"{got:.4f}", why)
    passed(
        check,
        "absent classes left out, predicted-only classes counted, classes weighed equally, "
        "pixels of a batch pooled",
    )


# ------------------------------------------------------------- what each exercise rules out
declare(
    "check_conv_transpose_output_size", "the output-size formula", forbid=BUILD_MODULE + TORCH_CONV
)
declare(
    "check_max_unpool",
    "max-unpooling with NumPy",
    forbid=[ANY_TORCH],
)
declare("check_mean_iou", "the mean IoU", forbid=["sklearn.metrics:jaccard_score"])
