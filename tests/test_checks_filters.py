"""The checks of 02_filters pass a right answer and catch the classic mistakes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from coursecnn.checks import CheckFailed
from coursecnn.checks import filters as fc


def gaussian_kernel(size, sigma, *, denom=None, normalise=True, check_size=True):
    if check_size and (size < 1 or size % 2 == 0):
        raise ValueError(f"size: expected a positive odd integer, got {size}")
    ax = np.arange(size) - size // 2
    r2 = ax[:, None] ** 2 + ax[None, :] ** 2
    g = np.exp(-r2 / (2 * sigma**2 if denom is None else denom))
    return g / g.sum() if normalise else g


def match_template(image, template, *, zero_mean=True, centre=False):
    t = template - template.mean() if zero_mean else template
    score = signal.correlate2d(image, t, mode="valid")
    r, c = np.unravel_index(np.argmax(score), score.shape)
    if centre:
        return int(r) + template.shape[0] // 2, int(c) + template.shape[1] // 2
    return int(r), int(c)


def apply_kernel(image, kernel, padding="replicate"):
    ph, pw = kernel.shape[0] // 2, kernel.shape[1] // 2
    mode = {"zero": "constant", "replicate": "edge"}[padding]
    padded = np.pad(image, ((ph, ph), (pw, pw)), mode=mode)
    return signal.correlate2d(padded, kernel, mode="valid")


def unfinished(*args, **kwargs):
    raise NotImplementedError()


def test_right_answers_pass(capsys):
    fc.check_gaussian_kernel(gaussian_kernel)
    fc.check_match_template(match_template)
    fc.check_apply_kernel(apply_kernel)
    assert capsys.readouterr().out.count("passed") == 3


@pytest.mark.parametrize(
    "check", [fc.check_gaussian_kernel, fc.check_match_template, fc.check_apply_kernel]
)
def test_unfinished_fails(check):
    with pytest.raises(CheckFailed, match="NotImplementedError"):
        check(unfinished)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda s, sg: gaussian_kernel(s, sg, normalise=False), "not normalised"),
        (lambda s, sg: gaussian_kernel(s, sg, denom=2 * sg), "variance"),
        (lambda s, sg: gaussian_kernel(s, sg, denom=sg**2), "factor 2"),
        (
            lambda s, sg: gaussian_kernel(s, sg, check_size=False) if s > 0 else np.ones((1, 1)),
            "ValueError",
        ),
        (lambda s, sg: np.roll(gaussian_kernel(s, sg), 1, axis=0), "centre"),
    ],
)
def test_gaussian_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        fc.check_gaussian_kernel(wrong)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda im, t: match_template(im, t, centre=True), "centre"),
        (lambda im, t: match_template(im, t)[::-1], "swapped"),
        (lambda im, t: match_template(im, t, zero_mean=False), "zero-mean"),
        (lambda im, t: match_template(im, t[::-1, ::-1]), "flipped"),
        (
            lambda im, t: tuple(
                int(v)
                for v in np.unravel_index(
                    signal.correlate2d(im, t - t.mean(), mode="valid")[::-1, ::-1].argmax(),
                    (im.shape[0] - t.shape[0] + 1, im.shape[1] - t.shape[1] + 1),
                )
            ),
            None,
        ),
    ],
)
def test_match_template_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        fc.check_match_template(wrong)


def _stops_one_short(im, t):  # range(H - h) instead of range(H - h + 1)
    score = signal.correlate2d(im, t - t.mean(), mode="valid")[:-1, :-1]
    r, c = np.unravel_index(score.argmax(), score.shape)
    return int(r), int(c)


def test_match_template_misses_the_last_window():
    with pytest.raises(CheckFailed, match="last window was never scored"):
        fc.check_match_template(_stops_one_short)


def test_tie_goes_to_the_first():
    def last_best(im, t):
        score = signal.correlate2d(im, t - t.mean(), mode="valid")
        flat = score.size - 1 - np.argmax(score.ravel()[::-1])
        r, c = np.unravel_index(flat, score.shape)
        return int(r), int(c)

    with pytest.raises(CheckFailed, match="tie"):
        fc.check_match_template(last_best)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda im, k, padding="replicate": apply_kernel(im, k, "zero"), "darkens"),
        (lambda im, k, padding="replicate": apply_kernel(im, k[::-1, ::-1], padding), "flipped"),
        (lambda im, k, padding="replicate": signal.correlate2d(im, k, mode="valid"), "no padding"),
        (
            lambda im, k, padding="replicate": (
                apply_kernel(im, k, "zero")
                if padding == "replicate"
                else apply_kernel(im, k, "zero")
            ),
            "darkens",
        ),
    ],
)
def test_apply_kernel_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        fc.check_apply_kernel(wrong)


# ---------------------------------------------------------------- normalised cross-correlation
def ncc(image, template, *, mode="right"):
    """Direct, window by window (the check's reference is skimage's FFT version)."""
    h, w = template.shape
    t = template - template.mean()
    out = np.zeros((image.shape[0] - h + 1, image.shape[1] - w + 1))
    for i, j in np.ndindex(out.shape):
        win = image[i : i + h, j : j + w]
        d = win if mode == "raw_window" else win - win.mean()
        # raw_template: sum(t * W), neither centred (centring either one alone is enough)
        num = np.sum(template * win) if mode == "raw_template" else np.sum(t * d)
        den = np.sqrt(np.sum(d**2) * (1.0 if mode == "no_template_norm" else np.sum(t**2)))
        if mode == "nan":
            with np.errstate(invalid="ignore", divide="ignore"):
                out[i, j] = num / den
        else:
            out[i, j] = num / den if den > 1e-12 else 0.0
    if mode == "n_times":
        out *= template.size
    return out


def test_ncc_passes_and_matches_skimage(capsys):
    fc.check_ncc(ncc)
    assert "[check_ncc] passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("mode", "hint"),
    [
        ("raw_window", "deviations from its own mean"),
        ("raw_template", "subtract the template's mean in the numerator"),
        ("no_template_norm", "the template's norm"),
        ("nan", "0 / 0"),
        ("n_times", "n times too large"),
    ],
)
def test_ncc_mistakes(mode, hint):
    with pytest.raises(CheckFailed, match=hint):
        fc.check_ncc(lambda im, t: ncc(im, t, mode=mode))


def test_ncc_shapes_and_flat_windows():
    from skimage.feature import match_template as sk_match

    with pytest.raises(CheckFailed, match="you called skimage.feature.match_template"):
        fc.check_ncc(lambda im, t: sk_match(im, t, pad_input=True))
    with pytest.raises(CheckFailed, match="flat windows"):  # right where there is contrast
        fc.check_ncc(lambda im, t: np.where(ncc(im, t) == 0, 0.5, ncc(im, t)))
    with pytest.raises(CheckFailed, match="NotImplementedError"):
        fc.check_ncc(unfinished)
