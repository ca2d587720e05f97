"""Graded checks for ``01_convolution_math``: the convolution formula, shapes and output sizes.

References come from code nobody here wrote: ``scipy.signal`` for 2-D correlation and
convolution, ``torch.nn.functional.conv2d`` for multi-channel layers, and the seeds' numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from scipy import signal

from coursecnn.checks._guard import (
    BUILD_MODULE,
    SCIPY_CONV,
    TORCH_CONV,
    declare,
)
from coursecnn.checks._report import as_float_array, call_student, fail, passed

SEED_INPUT = np.array(
    [
        [1, 1, 1, 0, 0],
        [0, 1, 1, 1, 0],
        [0, 0, 1, 1, 1],
        [0, 0, 1, 1, 0],
        [0, 1, 1, 0, 0],
    ],
    dtype=float,
)
SEED_KERNEL = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=float)
SEED_OUTPUT = np.array([[4, 3, 4], [2, 4, 3], [2, 3, 4]], dtype=float)


def _asym_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    """Non-square images with asymmetric, non-square kernels: a flip or a transpose shows."""
    rng = np.random.default_rng(447)
    return [
        (
            rng.integers(-3, 4, size=(5, 7)).astype(float),
            np.array([[1.0, 2.0, 0.0], [0.0, -1.0, 3.0]]),
        ),
        (rng.normal(size=(6, 4)), rng.normal(size=(3, 2))),
        (rng.normal(size=(4, 9)), rng.normal(size=(1, 4))),
    ]


def _as_array(check: str, got: object) -> np.ndarray:
    return as_float_array(check, got, "an array of numbers",
                          "the function does not `return` its result",
                          "return a NumPy array, not a list of arrays")  # fmt: skip


def _diagnose_2d(
    check: str, got: np.ndarray, image: np.ndarray, kernel: np.ndarray, *, flip: bool
) -> None:
    """Compare with the reference and name the classic mistake (flip, transpose, shape)."""
    corr = signal.correlate2d(image, kernel, mode="valid")
    conv = signal.convolve2d(image, kernel, mode="valid")
    expected = conv if flip else corr
    other = corr if flip else conv
    if got.shape != expected.shape:
        oh, ow = expected.shape
        h, w = image.shape
        kh, kw = kernel.shape
        if got.shape == (h - kh, w - kw):
            why = "off by one: the valid output has H - kH + 1 rows and W - kW + 1 columns"
        elif got.shape == (h - kw + 1, w - kh + 1):
            why = "rows and columns swapped: the kernel's rows slide along the image's rows"
        elif got.shape == image.shape:
            why = "the output keeps the input size: that is 'same' padding, this asks for 'valid'"
        else:
            why = f"a valid output has (H - kH + 1, W - kW + 1) = ({oh}, {ow}) entries"
        fail(
            check,
            f"shape {expected.shape} for image {image.shape}, kernel {kernel.shape}",
            f"shape {got.shape}",
            why,
        )
    if np.allclose(got, expected, atol=1e-8):
        return
    if np.allclose(got, other, atol=1e-8):
        why = (
            "you computed true convolution (kernel flipped); deep-learning 'convolution' is "
            "cross-correlation and does not flip the kernel"
            if not flip
            else "no kernel flip: true convolution flips the kernel in both axes "
            "(kernel[::-1, ::-1]) before sliding it"
        )
        fail(check, expected, got, why)
    for name, k in (("rows only", kernel[::-1, :]), ("columns only", kernel[:, ::-1])):
        if np.allclose(got, signal.correlate2d(image, k, mode="valid"), atol=1e-8):
            fail(check, expected, got, f"the kernel was flipped along {name}; flip both axes")
    fail(
        check,
        expected,
        got,
        "check the indices: out[i, j] = sum over (m, n) of image[i + m, j + n] * kernel[m, n]"
        + ("  with the kernel flipped first" if flip else ""),
    )


def check_conv2d_single(conv2d_single: Callable) -> None:
    """``conv2d_single(image, kernel)``: valid cross-correlation of one 2-D image with one kernel."""
    check = "check_conv2d_single"
    got = _as_array(
        check, call_student(check, conv2d_single, SEED_INPUT.copy(), SEED_KERNEL.copy())
    )
    _diagnose_2d(check, got, SEED_INPUT, SEED_KERNEL, flip=False)
    for image, kernel in _asym_cases():
        img_in, k_in = image.copy(), kernel.copy()
        got = _as_array(check, call_student(check, conv2d_single, img_in, k_in))
        if not (np.array_equal(img_in, image) and np.array_equal(k_in, kernel)):
            fail(
                check, "inputs left unchanged", "the image or kernel was modified", "work on copies"
            )
        _diagnose_2d(check, got, image, kernel, flip=False)
    passed(
        check,
        "seed example and 3 asymmetric kernels on non-square images match scipy.signal.correlate2d",
    )


def check_convolve_true(convolve_true: Callable) -> None:
    """``convolve_true(image, kernel)``: valid true convolution (flipped kernel), as scipy's."""
    check = "check_convolve_true"
    for image, kernel in _asym_cases():
        got = _as_array(check, call_student(check, convolve_true, image.copy(), kernel.copy()))
        _diagnose_2d(check, got, image, kernel, flip=True)
    passed(
        check,
        "3 asymmetric kernels on non-square images match scipy.signal.convolve2d(mode='valid')",
    )


# (n, k, stride, padding, dilation): seed sizes, exact and inexact strides, dilation.
OUTPUT_SIZE_CASES = [
    (5, 3, 1, 0, 1),
    (32, 5, 1, 0, 1),
    (227, 11, 4, 0, 1),
    (224, 11, 4, 0, 1),
    (224, 11, 4, 2, 1),
    (320, 2, 1, 0, 1),
    (7, 3, 2, 0, 1),
    (8, 3, 2, 1, 1),
    (10, 3, 3, 1, 1),
    (7, 3, 1, 0, 2),
    (9, 3, 2, 2, 3),
    (6, 1, 1, 0, 1),
    (5, 5, 2, 0, 1),
    # dilation with kernels other than 3x3 (a formula right for k = 3 only fails here)
    (15, 5, 1, 0, 2),
    (20, 2, 3, 1, 4),
    (11, 4, 2, 3, 2),
    (32, 7, 2, 3, 3),
]


def _size(n: int, k: int, s: int, p: int, d: int) -> int:
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def _size_mistakes() -> list[tuple[Callable, str]]:
    def exact(n, k, s, p, d):
        return (n + 2 * p - d * (k - 1) - 1) / s + 1

    return [
        (exact, "no floor: a window that does not fit is dropped, so round down (use //)"),
        (
            lambda n, k, s, p, d: math.ceil((n + 2 * p - d * (k - 1) - 1) / s) + 1,
            "rounded up: a window that runs off the edge is dropped, so round down",
        ),
        (
            lambda n, k, s, p, d: (n + 2 * p - d * (k - 1) - 1) // s,
            "forgot the +1: the first window sits at position 0",
        ),
        (
            lambda n, k, s, p, d: (n + 2 * p - k) // s + 1,
            "forgot dilation: a dilated kernel spans d*(k-1)+1 pixels",
        ),
        (
            lambda n, k, s, p, d: (n + p - d * (k - 1) - 1) // s + 1,
            "padding is added on both sides: use 2*padding",
        ),
        (
            lambda n, k, s, p, d: (n + 2 * p - d * k) // s + 1,
            "off by one: the dilated span is d*(k-1)+1, not d*k",
        ),
        (
            lambda n, k, s, p, d: (n + 2 * p - k - 2 * (d - 1)) // s + 1,
            "right for 3x3 kernels only: dilation d adds d-1 gaps between each of the k-1 pairs "
            "of neighbouring taps, so the span is d*(k-1)+1, not k + 2*(d-1)",
        ),
        (
            lambda n, k, s, p, d: (n + 2 * p - 2 * d - 1) // s + 1,
            "right for 3x3 kernels only: the span of a dilated kernel is d*(k-1)+1 for any k",
        ),
        (
            lambda n, k, s, p, d: (n + 2 * p - d * (k - 1) - 1) // s + 2,
            "off by one: the +1 already counts the first window",
        ),
    ]


def check_output_size(output_size: Callable) -> None:
    """``output_size(n, k, stride=1, padding=0, dilation=1)`` -> int, floor division as torch."""
    check = "check_output_size"
    results = []
    for n, k, s, p, d in OUTPUT_SIZE_CASES:
        got = call_student(check, output_size, n, k, stride=s, padding=p, dilation=d)
        results.append(got)
    for case, got in zip(OUTPUT_SIZE_CASES, results, strict=True):
        n, k, s, p, d = case
        want = _size(*case)
        args = f"output_size({n}, {k}, stride={s}, padding={p}, dilation={d})"
        if isinstance(got, (float, np.floating)) and float(got) == want:
            fail(
                check, f"{args} = int {want}", got, "return an int: use // (floor division), not /"
            )
        if isinstance(got, (float, np.floating)):
            fail(
                check,
                f"{args} = {want}",
                got,
                "no floor: a window that does not fit is dropped (use //)",
            )
        if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
            fail(check, f"{args} = int {want}", got, "return a Python int")
        if int(got) == want:
            continue
        why = "use (n + 2*padding - dilation*(k - 1) - 1) // stride + 1"
        for formula, mistake in _size_mistakes():  # the formula that explains every answer
            if all(formula(*c) == r for c, r in zip(OUTPUT_SIZE_CASES, results, strict=True)):
                why = mistake
                break
        else:
            for formula, mistake in _size_mistakes():  # else one that explains this answer
                if formula(*case) == got:
                    why = mistake
                    break
        fail(check, f"{args} = {want}", got, why)
    passed(
        check, f"{len(OUTPUT_SIZE_CASES)} cases incl. 224 -> 54, 227 -> 55 and dilation match torch"
    )


def _torch_conv(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int) -> np.ndarray:
    out = F.conv2d(
        torch.from_numpy(x[None]), torch.from_numpy(w), torch.from_numpy(b), stride=stride
    )
    return out[0].numpy()


def check_conv2d_volume(conv2d_volume: Callable) -> None:
    """``conv2d_volume(x, w, b, stride=1)``: x (C, H, W), w (F, C, kH, kW), b (F,) -> (F, OH, OW)."""
    check = "check_conv2d_volume"
    rng = np.random.default_rng(547)
    cases = [
        (rng.normal(size=(3, 7, 9)), rng.normal(size=(4, 3, 3, 2)), rng.normal(size=4), 1),
        (rng.normal(size=(2, 9, 8)), rng.normal(size=(3, 2, 3, 3)), rng.normal(size=3), 2),
        (rng.normal(size=(3, 11, 10)), rng.normal(size=(2, 3, 5, 3)), rng.normal(size=2), 3),
    ]
    for x, w, b, s in cases:
        got = _as_array(
            check, call_student(check, conv2d_volume, x.copy(), w.copy(), b.copy(), stride=s)
        )
        want = _torch_conv(x, w, b, s)
        shape_msg = f"x {x.shape}, w {w.shape}, stride {s}"
        if got.shape != want.shape:
            f_, c = w.shape[:2]
            if got.shape == (f_, c) + want.shape[1:]:
                why = "sum over the input channels too: one filter gives one 2-D map"
            elif got.shape[1:] == _torch_conv(x, w, b, 1).shape[1:]:
                why = "the stride is ignored: move the window by `stride` pixels"
            elif got.shape[0] != f_:
                why = "one output map per filter: the first axis has F = w.shape[0] entries"
            else:
                why = "each spatial size is (H - kH) // stride + 1"
            fail(check, f"shape {want.shape} for {shape_msg}", f"shape {got.shape}", why)
        if np.allclose(got, want, atol=1e-6):
            continue
        if np.allclose(got, want - b[:, None, None], atol=1e-6):
            why = "the bias is missing: add b[f] to every entry of map f"
        elif np.allclose(got, want + (x.shape[0] - 1) * b[:, None, None], atol=1e-6):
            why = "the bias was added once per channel: add it once per filter"
        elif np.allclose(got, _torch_conv(x, w[:, :, ::-1, ::-1].copy(), b, s), atol=1e-6):
            why = "the kernel was flipped: layers compute cross-correlation"
        else:
            why = (
                "out[f, i, j] = b[f] + sum over c, m, n of "
                "x[c, i*stride + m, j*stride + n] * w[f, c, m, n]"
            )
        fail(check, want, got, f"{why} ({shape_msg})")
    passed(check, "3 volumes with strides 1, 2, 3 match torch.nn.functional.conv2d")


# ------------------------------------------------------------- what each exercise rules out
# The course's own reference code (coursecnn.ops, ...) is ruled out for every check by default.
declare("check_conv2d_single", "the cross-correlation", forbid=SCIPY_CONV + TORCH_CONV)
declare("check_convolve_true", "the true convolution", forbid=SCIPY_CONV + TORCH_CONV)
declare("check_conv2d_volume", "the volume convolution", forbid=SCIPY_CONV + TORCH_CONV)
declare("check_output_size", "the output-size formula", forbid=BUILD_MODULE + TORCH_CONV)
