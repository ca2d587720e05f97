"""Graded checks for ``02_filters``: Gaussian kernels, template matching, same-size filtering.

References come from code nobody here wrote: the Gaussian formula, ``scipy.signal.correlate2d``,
``scipy.ndimage.correlate``, ``skimage.feature.match_template`` (normalised cross-correlation)
and a real photo from ``skimage.data``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import ndimage, signal

from coursecnn.checks._guard import (
    SCIPY_CONV,
    TORCH_CONV,
    declare,
)
from coursecnn.checks._report import CheckFailed, as_ints, call_student, fail, passed

# ---------------------------------------------------------------------------------------------
# Gaussian kernel


def _gauss(
    size: int, sigma: float, *, denom: float | None = None, centre: float | None = None
) -> np.ndarray:
    c = (size - 1) / 2 if centre is None else centre
    ax = np.arange(size) - c
    r2 = ax[:, None] ** 2 + ax[None, :] ** 2
    g = np.exp(-r2 / (2 * sigma**2 if denom is None else denom))
    return g / g.sum()


GAUSS_CASES = [(3, 1.0), (5, 1.0), (7, 2.5), (5, 0.6), (1, 1.0)]


def check_gaussian_kernel(gaussian_kernel: Callable) -> None:
    """``gaussian_kernel(size, sigma)``: (size, size), sums to 1, peak in the centre, odd sizes only."""
    check = "check_gaussian_kernel"
    for size, sigma in GAUSS_CASES:
        got = call_student(check, gaussian_kernel, size, sigma)
        if got is None:
            fail(check, "an array", None, "the function does not `return` the kernel")
        got = np.asarray(got, dtype=float)
        want = _gauss(size, sigma)
        args = f"gaussian_kernel({size}, {sigma})"
        if got.shape != want.shape:
            why = (
                "return the 2-D kernel: the outer product of the 1-D Gaussian with itself"
                if got.ndim == 1
                else "the kernel is size x size"
            )
            fail(check, f"{args} of shape {want.shape}", f"shape {got.shape}", why)
        if np.allclose(got, want, atol=1e-6):
            continue
        if not np.isclose(got.sum(), 1.0, atol=1e-6) and got.sum() > 0:
            if np.allclose(got / got.sum(), want, atol=1e-6):
                fail(
                    check,
                    f"{args} summing to 1",
                    f"values proportional to the right ones, summing to {got.sum():.4f}",
                    "not normalised: divide by the sum so that blurring keeps the brightness",
                )
        if np.allclose(got, _gauss(size, sigma, denom=2 * sigma), atol=1e-6):
            why = "sigma used as a variance: the exponent is -(x^2 + y^2) / (2 * sigma**2)"
        elif np.allclose(got, _gauss(size, sigma, denom=sigma**2), atol=1e-6):
            why = "the factor 2 is missing: the exponent is -(x^2 + y^2) / (2 * sigma**2)"
        elif np.unravel_index(np.argmax(got), got.shape) != (
            size // 2,
            size // 2,
        ) or not np.allclose(got, got[::-1, ::-1], atol=1e-9):
            why = f"the centre is off: measure x and y from the middle pixel, index {size // 2}"
        else:
            why = "use g[i, j] = exp(-((i - c)**2 + (j - c)**2) / (2 * sigma**2)) / sum, c = size // 2"
        fail(check, want, got, f"{why} ({args})")
    for size in (4, 0, -3, -1):  # even, zero, and negative odd sizes: all promised to raise
        try:
            call_student(check, gaussian_kernel, size, 1.0)
        except ValueError:
            continue
        except CheckFailed:
            raise
        except Exception as err:  # noqa: BLE001 - any other error is the student's to see
            fail(check, "ValueError", type(err).__name__, f"raise ValueError for size={size}")
        fail(
            check,
            f"gaussian_kernel({size}, 1.0) raises ValueError",
            "no error",
            "an even size has no centre pixel, and a zero or negative one no pixel at all: "
            "raise ValueError naming `size` (note that -3 % 2 == 1 in Python)",
        )
    passed(
        check, f"{len(GAUSS_CASES)} sizes and sigmas match the formula; even sizes raise ValueError"
    )


# ---------------------------------------------------------------------------------------------
# Template matching


def _score(image: np.ndarray, template: np.ndarray, *, zero_mean: bool = True) -> np.ndarray:
    t = template - template.mean() if zero_mean else template
    return signal.correlate2d(image, t, mode="valid")


def _argmax2d(score: np.ndarray) -> tuple[int, int]:
    r, c = np.unravel_index(np.argmax(score), score.shape)
    return int(r), int(c)


def _photo() -> np.ndarray:
    from skimage import data

    return data.camera()[::4, ::4].astype(float) / 255.0  # (128, 128) in [0, 1]


def _template_cases() -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(261)
    cases = []
    # 1. A non-square crop of a real photo, found again.
    photo = _photo()
    cases.append(("a 15x23 crop of the camera photo (128x128)", photo, photo[70:85, 40:63].copy()))
    # 2. A bright block that wins if the template is not made zero-mean first.
    img = 0.1 * rng.random((40, 50))
    img[5:20, 30:48] = 1.0
    tpl = rng.random((6, 9))
    img[25:31, 8:17] = tpl
    cases.append(("a noisy image with a bright white block", img, tpl))
    # 3. A tie: the pattern appears twice; the first in reading order (row-major) wins.
    img = np.zeros((20, 30))
    tpl = np.array([[0.0, 2.0, 0.0, 2.0], [2.0, 0.0, 2.0, 0.0], [0.0, 2.0, 0.0, 2.0]])
    img[12:15, 3:7] = tpl
    img[4:7, 20:24] = tpl
    cases.append(("two exact copies of the template (a tie)", img, tpl))
    # 4. The best window is the last one: bottom-right corner (a loop that stops one short misses it).
    img = 0.2 * rng.random((17, 21))
    tpl = rng.random((5, 4))
    img[-5:, -4:] = tpl
    cases.append(("the template in the bottom-right corner (the last valid window)", img, tpl))
    return cases


def check_match_template(match_template: Callable) -> None:
    """``match_template(image, template)`` -> (row, col) of the top-left corner of the best window.

    Score of a window = sum((template - template.mean()) * window); ties go to the first window
    in row-major order (what ``np.argmax`` returns).
    """
    check = "check_match_template"
    for desc, image, template in _template_cases():
        got = call_student(check, match_template, image.copy(), template.copy())
        score = _score(image, template)
        want = _argmax2d(score)
        got_t = as_ints(check, got, want, f"{desc}: the (row, col) pair", count=2)
        if got_t == want:
            continue
        th, tw = template.shape
        if got_t == (want[0] + th // 2, want[1] + tw // 2):
            why = "returned the centre of the window; return its top-left corner"
        elif want == (score.shape[0] - 1, score.shape[1] - 1):
            why = (
                "the last window was never scored: an image of H rows has H - h + 1 windows "
                "down (range(H - h + 1)), and likewise across"
            )
        elif got_t == (want[1], want[0]):
            why = "row and column swapped: return (row, col)"
        elif got_t == _argmax2d(_score(image, template, zero_mean=False)):
            why = (
                "the template was not made zero-mean: raw correlation is largest where the image "
                "is brightest, not where it matches"
            )
        elif got_t == _argmax2d(signal.convolve2d(image, template - template.mean(), mode="valid")):
            why = "the template was flipped (true convolution); matching slides it unflipped"
        elif (
            score[got_t] == score[want]
            if (0 <= got_t[0] < score.shape[0] and 0 <= got_t[1] < score.shape[1])
            else False
        ):
            why = "a tie: return the first best window in row-major order, as np.argmax does"
        else:
            why = "take np.unravel_index(np.argmax(score), score.shape) of the 'valid' score map"
        fail(check, f"{want} on {desc}", got_t, why)
    passed(
        check,
        "found a crop of a real photo, ignored a bright block, broke a tie row-major, "
        "reached the last window",
    )


# ---------------------------------------------------------------------------------------------
# Normalised cross-correlation


def _ncc_cases() -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(262)
    photo = _photo()
    cases = [("a 15x23 crop of the camera photo (128x128)", photo, photo[70:85, 40:63].copy())]
    # a flat grey background (windows with no contrast score 0) around a random patch
    img = np.full((20, 30), 0.5)
    img[5:12, 10:25] = rng.random((7, 15))
    cases.append(("a flat grey image with a random 7x15 patch", img, img[6:10, 12:17].copy()))
    # the template twice: as it is, and with a third of its contrast on a brighter background
    tpl = rng.random((5, 4))
    img = 0.2 * rng.random((16, 19))
    img[2:7, 3:7] = tpl
    img[9:14, 12:16] = 0.6 + tpl / 3
    cases.append(("a 5x4 template, once as it is and once with a third of its contrast", img, tpl))
    return cases


def _window_sums(image: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    ones = np.ones(shape)
    return (signal.correlate2d(image, ones, mode="valid"),
            signal.correlate2d(image**2, ones, mode="valid"))  # fmt: skip


def check_ncc(ncc: Callable) -> None:
    """``ncc(image, template)`` -> the valid map ``(H - h + 1, W - w + 1)`` of normalised
    cross-correlations, ``sum((t - t.mean()) * (W - W.mean())) / sqrt(sum((t - t.mean())**2) *
    sum((W - W.mean())**2))`` for every window W; 0 where a window is flat. Compared with
    ``skimage.feature.match_template`` (whose default output is that valid map)."""
    from skimage.feature import match_template

    check = "check_ncc"
    for desc, image, template in _ncc_cases():
        got = call_student(check, ncc, image.copy(), template.copy())
        want = match_template(image, template)
        if got is None:
            fail(check, "an array", None, "the function does not `return` the score map")
        got = np.asarray(got, dtype=float)
        h, w = template.shape
        if got.shape != want.shape:
            why = (
                "that is the image's size, as skimage's pad_input=True gives: return the 'valid' "
                "map, one score per window that fits entirely"
                if got.shape == image.shape
                else "one score per window where the template fits: (H - h + 1, W - w + 1)"
            )
            fail(check, f"shape {want.shape} for {desc}", f"shape {got.shape}", why)
        if not np.all(np.isfinite(got)):
            fail(check, f"finite scores for {desc}", f"{np.sum(~np.isfinite(got))} NaN or inf",
                 "a flat window has no contrast, so its score is 0 / 0: return 0 there "
                 "(where the denominator is 0, or below a tiny threshold such as 1e-12)")  # fmt: skip
        tz = template - template.mean()
        num = signal.correlate2d(image, tz, mode="valid")
        s1, s2 = _window_sums(image, template.shape)
        var_w = np.maximum(s2 - s1**2 / template.size, 0)
        norm_t = np.sqrt((tz**2).sum())
        ok = var_w > 1e-10  # windows with contrast; skimage leaves rounding noise on flat ones
        if np.allclose(got[ok], want[ok], atol=1e-8):
            if np.abs(got[~ok]).max(initial=0.0) > 1e-6:
                fail(check, f"0 for the {np.sum(~ok)} flat windows of {desc}",
                     f"up to {np.abs(got[~ok]).max():.3g}",
                     "a flat window has no contrast: its score is 0 / 0; return 0 there")  # fmt: skip
            continue
        den = np.sqrt(np.where(ok, var_w, 1.0)) * norm_t
        candidates = [
            (want * norm_t, "divide by the template's norm too: sqrt(sum((t - t.mean())**2))"),
            (
                want * template.size,
                "n times too large: with standard deviations the score is the MEAN, "
                "np.mean((t - t.mean()) * (W - W.mean())) / (t.std() * W.std())",
            ),  # fmt: skip
            (
                num / np.sqrt(np.maximum(s2, 1e-300)) / norm_t,
                "use the window's deviations from its own mean, sum((W - W.mean())**2) = "
                "sum(W**2) - sum(W)**2 / n, not sum(W**2)",
            ),  # fmt: skip
            (
                num / np.where(ok, var_w, 1.0) / norm_t**2,
                "take the square root of the product of the two sums of squares",
            ),  # fmt: skip
            (
                signal.correlate2d(image, template, mode="valid") / den,
                "subtract the template's mean in the numerator: sum((t - t.mean()) * W)",
            ),  # fmt: skip
            (
                signal.convolve2d(image, tz, mode="valid") / den,
                "the template was flipped (true convolution); matching slides it unflipped",
            ),  # fmt: skip
        ]
        for wrong, why in candidates:
            if np.allclose(got[ok], wrong[ok], atol=1e-8):
                fail(check, want, got, f"{why} ({desc})")
        fail(check, want, got,
             "score = sum((t - t.mean()) * (W - W.mean())) / sqrt(sum((t - t.mean())**2) * "
             f"sum((W - W.mean())**2)) for each window W ({desc})")  # fmt: skip
    passed(
        check,
        "matches skimage.feature.match_template on a real photo, a flat image and a copy with a "
        "third of the contrast",
    )


# ---------------------------------------------------------------------------------------------
# Same-size filtering with padding

_SCIPY_MODE = {"zero": "constant", "replicate": "nearest"}


def _filter(image: np.ndarray, kernel: np.ndarray, padding: str) -> np.ndarray:
    return ndimage.correlate(image, kernel, mode=_SCIPY_MODE.get(padding, padding), cval=0.0)


def check_apply_kernel(apply_kernel: Callable) -> None:
    """``apply_kernel(image, kernel, padding="replicate")``: same-size correlation, odd kernels."""
    check = "check_apply_kernel"
    rng = np.random.default_rng(320)
    cases = [
        (np.ones((6, 9)), np.full((3, 3), 1 / 9), "replicate"),
        (rng.random((7, 10)), rng.normal(size=(3, 5)), "replicate"),
        (rng.random((9, 6)), rng.normal(size=(5, 3)), "zero"),
        (rng.random((8, 11)), rng.normal(size=(3, 3)), "replicate"),
    ]
    for image, kernel, padding in cases:
        got = call_student(check, apply_kernel, image.copy(), kernel.copy(), padding=padding)
        if got is None:
            fail(check, "an array", None, "the function does not `return` the filtered image")
        got = np.asarray(got, dtype=float)
        want = _filter(image, kernel, padding)
        args = f"image {image.shape}, kernel {kernel.shape}, padding={padding!r}"
        if got.shape != want.shape:
            kh, kw = kernel.shape
            if got.shape == (image.shape[0] - kh + 1, image.shape[1] - kw + 1):
                why = "no padding: pad kH // 2 rows and kW // 2 columns on each side first"
            else:
                why = "pad kH // 2 rows top and bottom and kW // 2 columns left and right"
            fail(
                check,
                f"shape {want.shape} (same as the image) for {args}",
                f"shape {got.shape}",
                why,
            )
        if np.allclose(got, want, atol=1e-6):
            continue
        other = "zero" if padding == "replicate" else "replicate"
        if np.allclose(got, _filter(image, kernel, other), atol=1e-6):
            why = (
                "zero padding was used: it darkens the borders; replicate repeats the edge pixel"
                if padding == "replicate"
                else "asked for zero padding, got the edge pixel repeated"
            )
        elif np.allclose(got, _filter(image, kernel, "mirror"), atol=1e-6) or np.allclose(
            got, _filter(image, kernel, "reflect"), atol=1e-6
        ):
            why = "the border was mirrored; 'replicate' repeats the edge pixel (np.pad mode='edge')"
        elif np.allclose(got, _filter(image, kernel[::-1, ::-1], padding), atol=1e-6):
            why = "the kernel was flipped: filtering here is cross-correlation"
        elif np.allclose(got[1:-1, 2:-2], want[1:-1, 2:-2], atol=1e-6):
            why = "the interior is right but the borders are not: check the padding"
        else:
            why = "pad, then out[i, j] = sum of padded[i + m, j + n] * kernel[m, n]"
        fail(check, want, got, f"{why} ({args})")
    passed(check, "4 non-square cases, replicate and zero padding, match scipy.ndimage.correlate")


# ------------------------------------------------------------- what each exercise rules out
_MATCH = ("skimage.feature:match_template",)
declare(
    "check_match_template",
    "the template search",
    allow=["coursecnn.ops:correlate2d"],
    forbid=_MATCH,
)
declare(
    "check_ncc", "normalised cross-correlation", allow=["coursecnn.ops:correlate2d"], forbid=_MATCH
)
declare(
    "check_gaussian_kernel",
    "the Gaussian kernel",
    forbid=[
        "scipy.signal.windows:gaussian",
        "skimage.filters:gaussian",
        "scipy.ndimage:gaussian_filter",
        "torchvision.transforms.functional:gaussian_blur",
        "torchvision.transforms.v2.functional:gaussian_blur",
    ],
)
declare(
    "check_apply_kernel",
    "same-size filtering",
    allow=["coursecnn.ops:correlate2d", "coursecnn.ops:pad2d"],
    # scipy.signal's correlate2d is the allowed valid correlation; its filters that pad are not
    forbid=tuple(n for n in SCIPY_CONV if not n.startswith("scipy.signal")) + TORCH_CONV,
)
