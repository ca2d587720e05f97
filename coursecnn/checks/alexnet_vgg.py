"""Graded checks of notebook 06, AlexNet, VGG and NiN; dropout.

References are what nobody here wrote: output shapes and parameter counts of ``torch.nn.Conv2d``
(built on the meta device, so nothing is computed), ``torch.nn.functional.conv2d`` for the 1x1
convolution, and the layers of ``coursecnn.models.make_layers`` (proven against torchvision's
VGG) for the VGG block. Each check also computes what the classic mistakes give, so that a
failure can name the mistake it recognises.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from coursecnn.checks._guard import (
    BUILD_MODULE,
    TORCH_CONV,
    declare,
    student_code,
)
from coursecnn.checks._report import (
    CheckFailed,
    as_float_array,
    as_ints,
    call_student,
    fail,
    passed,
)

__all__ = [
    "check_conv_layer",
    "check_vgg_block",
    "check_conv1x1",
    "check_inverted_dropout",
]


# ----------------------------------------------------------------------------------- conv layer
#: (in_shape, out_channels, kernel, stride, padding, what the case is)
_CONV_CASES = [
    ((3, 227, 227), 96, 11, 4, 0, "AlexNet conv1 at 227x227"),
    ((3, 224, 224), 96, 11, 4, 0, "AlexNet conv1 at 224x224 (the stride leaves a remainder)"),
    ((3, 224, 224), 64, 11, 4, 2, "torchvision's AlexNet conv1: 224x224, padding 2"),
    ((96, 27, 27), 256, 5, 1, 2, "AlexNet conv2"),
    ((256, 13, 13), 384, 3, 1, 1, "AlexNet conv3"),
    ((3, 100, 60), 8, 5, 3, 1, "a non-square 100x60 input, stride 3"),
    ((192, 28, 28), 64, 1, 1, 0, "a 1x1 convolution"),
    ((1, 7, 9), 1, 2, 2, 0, "one channel in and out, an even kernel on a 7x9 input"),
]


def _torch_conv(in_shape, f, k, s, p) -> tuple[tuple[int, int, int], int]:
    """(output shape without the batch, parameters) of ``nn.Conv2d``, on the meta device."""
    with torch.device("meta"):
        conv = nn.Conv2d(in_shape[0], f, k, stride=s, padding=p)
        out = conv(torch.empty(1, *in_shape))
    return tuple(int(d) for d in out.shape[1:]), sum(t.numel() for t in conv.parameters())


def _as_shape(got: Any) -> tuple | None:
    try:
        shape = tuple(got)
    except TypeError:
        return None
    return shape


def _wrong_sides(h: int, w: int, k: int, s: int, p: int) -> list[tuple[tuple[int, int], str]]:
    """(H_out, W_out) that the classic slips in the size formula give, and the slip."""
    rules = [
        (lambda n: math.ceil((n + 2 * p - k) / s) + 1,
         "the division is floored (a window that does not fit is dropped), not rounded up"),
        (lambda n: (n + 2 * p - k) // s,
         "the formula is floor((H + 2p - k) / s) + 1: the +1 is missing"),
        (lambda n: (n + p - k) // s + 1, "padding adds p pixels on *both* sides: H + 2p"),
        (lambda n: (n - k) // s + 1, "the padding is missing: H + 2p - k"),
        (lambda n: (n + 2 * p - k + 1) // s,
         "the formula is floor((H + 2p - k) / s) + 1: add 1 after dividing"),
    ]  # fmt: skip
    return [((rule(h), rule(w)), mistake) for rule, mistake in rules]


def _wrong_params(c: int, f: int, k: int) -> list[tuple[int, str]]:
    """Parameter counts that the classic slips give, and the slip."""
    return [
        (f * c * k * k, "the biases are missing: one per filter"),
        (f * (k * k + 1), "each filter has kernel_size x kernel_size weights for *each* input "
         "channel: in_channels * k * k"),
        (f * c * k * k + 1, "there is one bias per filter, not one for the layer"),
        (f * (c * k + 1), "a k x k kernel has k * k weights per input channel"),
        (c * k * k + 1, "that is one filter: multiply by out_channels"),
        (f * c * k * k + c, "there is one bias per filter (out_channels), not per input channel"),
    ]  # fmt: skip


def _conv_answer(check: str, func: Callable[..., Any], case: tuple) -> tuple[tuple, int, str]:
    """The student's (shape, params) for one case, checked for type; and the case's label."""
    in_shape, f, k, s, p, what = case
    label = f"conv_layer({in_shape}, {f}, kernel_size={k}, stride={s}, padding={p}) [{what}]"
    shape, params = _torch_conv(in_shape, f, k, s, p)
    got = call_student(check, func, in_shape, f, k, s, p)
    if not isinstance(got, tuple | list) or len(got) != 2:
        fail(check, f"{label}: a pair (output shape, params) = ({shape}, {params:,})", got,
             "return two things: `return (c_out, h_out, w_out), params`")  # fmt: skip
    got_shape = _as_shape(got[0])
    if got_shape is None or len(got_shape) != 3:
        fail(check, f"{label}: output shape {shape}", got[0],
             "the output shape has three numbers: (out_channels, H_out, W_out)")  # fmt: skip
    got_shape = as_ints(check, tuple(got_shape), shape, f"{label}: output shape", count=3)
    got_params = as_ints(check, got[1], f"{params:,}", f"{label}: parameters")
    return got_shape, got_params, label


def check_conv_layer(func: Callable[..., Any]) -> None:
    """``func(in_shape, out_channels, kernel_size, stride, padding)`` returns
    ``((C_out, H_out, W_out), params)`` of a square-kernel ``nn.Conv2d`` with bias.

    A slip is named when it explains the answers to every case, else when it explains the first
    wrong one (several slips give the same number on some layers).
    """
    check = "conv_layer"
    answers = [_conv_answer(check, func, case) for case in _CONV_CASES]
    refs = [_torch_conv(*case[:5]) for case in _CONV_CASES]
    sides = [_wrong_sides(c[0][1], c[0][2], c[2], c[3], c[4]) for c in _CONV_CASES]
    counts = [_wrong_params(c[0][0], c[1], c[2]) for c in _CONV_CASES]
    for i, (case, (got_shape, got_params, label), (shape, params)) in enumerate(
        zip(_CONV_CASES, answers, refs, strict=True)
    ):
        in_shape, f = case[0], case[1]
        if got_shape != shape:
            if got_shape[0] != f:
                fail(check, f"{label}: output shape {shape}", got_shape,
                     "the output has one channel per filter: out_channels")  # fmt: skip
            for r, (_, mistake) in enumerate(sides[i]):
                if all(a[0][1:] == sd[r][0] for a, sd in zip(answers, sides, strict=True)):
                    fail(check, f"{label}: output shape {shape}", got_shape, mistake)
            for wrong, mistake in sides[i]:
                if got_shape[1:] == wrong != shape[1:]:
                    fail(check, f"{label}: output shape {shape}", got_shape, mistake)
            h, w = in_shape[1:]
            if got_shape[1:] in ((shape[1], shape[1]), (shape[2], shape[2])) and h != w:
                fail(check, f"{label}: output shape {shape}", got_shape,
                     "height and width each follow the formula with their own input side "
                     "(in_shape is (C, H, W))")  # fmt: skip
            fail(check, f"{label}: output shape {shape}", got_shape,
                 "H_out = floor((H + 2*padding - kernel_size) / stride) + 1, the same for W")  # fmt: skip
        if got_params != params:
            for r, (_, mistake) in enumerate(counts[i]):
                if all(a[1] == cn[r][0] for a, cn in zip(answers, counts, strict=True)):
                    fail(check, f"{label}: {params:,} parameters", f"{got_params:,}", mistake)
            for wrong, mistake in counts[i]:
                if got_params == wrong:
                    fail(check, f"{label}: {params:,} parameters", f"{got_params:,}", mistake)
            fail(check, f"{label}: {params:,} parameters", f"{got_params:,}",
                 "params = out_channels * (in_channels * k * k + 1): weights plus one bias "
                 "per filter")  # fmt: skip
    passed(check, "AlexNet conv1 at 227: (96, 55, 55) and 34,944 parameters; 54x54 at 224")


# ----------------------------------------------------------------------------------- VGG block
_VGG_CASES = [(2, 3, 64), (1, 1, 8), (3, 4, 6), (4, 5, 7)]


def _leaves(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if next(m.children(), None) is None]


def _vgg_reference(num_convs: int, c_in: int, c_out: int) -> nn.Sequential:
    from coursecnn.models import make_layers

    return make_layers([c_out] * num_convs + ["M"], in_channels=c_in)


def _pair(v: Any) -> tuple:
    return tuple(v) if isinstance(v, tuple | list) else (v, v)


def check_vgg_block(func: Callable[..., Any]) -> None:
    """``func(num_convs, in_channels, out_channels)`` returns a VGG block: ``num_convs`` times
    (3x3 conv, padding 1, then ReLU), then one 2x2 max-pool with stride 2."""
    check = "vgg_block"
    for n, c_in, c_out in _VGG_CASES:
        case = f"vgg_block({n}, {c_in}, {c_out})"
        block = call_student(check, func, n, c_in, c_out)
        if not isinstance(block, nn.Module):
            fail(check, f"{case}: an nn.Module (e.g. nn.Sequential)", type(block).__name__,
                 "return nn.Sequential(*layers)")  # fmt: skip
        layers = _leaves(block)
        kinds = [type(m).__name__ for m in layers]
        want = ["Conv2d", "ReLU"] * n + ["MaxPool2d"]
        if kinds != want:
            n_conv, n_pool = kinds.count("Conv2d"), kinds.count("MaxPool2d")
            if n_conv != n:
                mistake = f"num_convs={n} convolutions; check the loop's range"
            elif "AvgPool2d" in kinds:
                mistake = "VGG pools with nn.MaxPool2d, not average pooling"
            elif n_pool > 1:
                mistake = "one pooling at the end of the block, not one after every convolution"
            elif n_pool == 0:
                mistake = "the block ends with nn.MaxPool2d(2, stride=2)"
            elif kinds.count("ReLU") != n:
                mistake = "every convolution is followed by its own nn.ReLU()"
            elif kinds[-1] != "MaxPool2d":
                mistake = "the pooling comes last, after the last conv and its ReLU"
            elif any(k not in ("Conv2d", "ReLU", "MaxPool2d") for k in kinds):
                mistake = "only Conv2d, ReLU and MaxPool2d layers (no batch norm, no dropout)"
            else:
                mistake = "each ReLU comes right after its convolution: conv, ReLU, conv, ReLU"
            fail(check, f"{case}: layers {want}", kinds, mistake)
        convs = [m for m in layers if isinstance(m, nn.Conv2d)]
        chain = [(m.in_channels, m.out_channels) for m in convs]
        want_chain = [(c_in, c_out)] + [(c_out, c_out)] * (n - 1)
        if chain != want_chain:
            fail(check, f"{case}: convolutions (in, out) {want_chain}", chain,
                 "the first conv maps in_channels to out_channels, the others out_channels to "
                 "out_channels")  # fmt: skip
        for m in convs:
            if _pair(m.kernel_size) != (3, 3):
                fail(check, f"{case}: 3x3 kernels", _pair(m.kernel_size),
                     "VGG uses only 3x3 convolutions: kernel_size=3")  # fmt: skip
            if _pair(m.stride) != (1, 1):
                fail(check, f"{case}: stride 1 in the convolutions", _pair(m.stride),
                     "only the pooling halves the map; the convolutions keep stride 1")  # fmt: skip
            if m.padding != "same" and _pair(m.padding) != (1, 1):  # "same" is 1 for a 3x3
                fail(check, f"{case}: padding 1 in the convolutions", m.padding,
                     "padding=1 keeps a 3x3 convolution's output the size of its input")  # fmt: skip
            if m.bias is None:
                fail(check, f"{case}: convolutions with a bias", "bias=False",
                     "VGG's convolutions have biases (bias=True, the default)")  # fmt: skip
        pool = layers[-1]
        if _pair(pool.kernel_size) != (2, 2) or _pair(pool.stride) != (2, 2):
            fail(check, f"{case}: max-pool 2x2, stride 2",
                 f"kernel {pool.kernel_size}, stride {pool.stride}",
                 "nn.MaxPool2d(2, stride=2) halves the height and the width")  # fmt: skip
        ref = _vgg_reference(n, c_in, c_out)
        with torch.no_grad():
            for mine, theirs in zip(convs, [m for m in ref if isinstance(m, nn.Conv2d)],
                                    strict=True):  # fmt: skip
                mine.weight.copy_(theirs.weight)
                mine.bias.copy_(theirs.bias)
            x = torch.randn(2, c_in, 9, 14, generator=torch.Generator().manual_seed(n))
            try:
                with student_code(check):
                    out = block.eval()(x.clone())
            except CheckFailed:
                raise
            except Exception as err:
                fail(check, f"{case}: a forward pass on a (2, {c_in}, 9, 14) batch",
                     f"{type(err).__name__}: {err}",
                     "the layers do not fit together: check the channels of each conv")  # fmt: skip
            expected = ref.eval()(x.clone())
        if not isinstance(out, torch.Tensor) or out.shape != expected.shape:
            fail(check, f"{case}: output shape {tuple(expected.shape)} for a 9x14 input",
                 tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__,
                 "3x3 convs with padding 1 keep 9x14; the 2x2 pooling makes it 4x7")  # fmt: skip
        if not torch.allclose(out, expected, atol=1e-5):
            fail(check, f"{case}: the output of conv, ReLU, ..., max-pool", "other values",
                 "the forward pass must run the layers in the order conv, ReLU, ..., pool")  # fmt: skip
    passed(check, "2 x (3x3 conv, ReLU) + 2x2 max-pool = VGG's first block, 38,720 parameters")


# ------------------------------------------------------------------------------- 1x1 convolution
_CONV1X1_CASES = [(2, 3, 4, 5, 6), (1, 1, 1, 7, 2), (3, 4, 3, 3, 4), (2, 5, 2, 6, 3)]


def check_conv1x1(func: Callable[..., Any]) -> None:
    """``func(x (N, C, H, W), weight (F, C), bias (F,))`` returns the 1x1 convolution
    ``(N, F, H, W)``, computed as one matrix product (no convolution function)."""
    check = "conv1x1"
    for n, c, h, w, f in _CONV1X1_CASES:
        g = torch.Generator().manual_seed(n * 100 + c * 10 + f)
        x = torch.randn(n, c, h, w, generator=g, dtype=torch.float64)
        weight = torch.randn(f, c, generator=g, dtype=torch.float64)
        bias = torch.randn(f, generator=g, dtype=torch.float64)
        case = f"x of shape {(n, c, h, w)}, weight {(f, c)}, bias {(f,)}"
        expected = F.conv2d(x, weight[:, :, None, None], bias).numpy()
        try:  # a convolution function raises: see the rules declared at the end
            got = call_student(check, func, x.clone(), weight.clone(), bias.clone())
        except CheckFailed:
            raise
        except Exception as err:
            fail(check, f"{case}: an output of shape {expected.shape}",
                 f"{type(err).__name__}: {err}",
                 "move the channels last, x.permute(0, 2, 3, 1), flatten to (N*H*W, C) and "
                 "multiply by weight.T, which is (C, F)")  # fmt: skip
        got = as_float_array(check, got, f"{case}: a tensor of shape {expected.shape}",
                             type_hint="return a torch tensor")  # fmt: skip
        if got.shape != expected.shape:
            mistake = "the output is (N, F, H, W): one map per output channel"
            if got.shape == (n, h, w, f):
                mistake = "that is channels-last (N, H, W, F): permute back with (0, 3, 1, 2)"
            elif got.shape == (n * h * w, f):
                mistake = "reshape the (N*H*W, F) product back to (N, H, W, F), then permute"
            fail(check, f"{case}: shape {expected.shape}", f"shape {got.shape}", mistake)
        if np.allclose(got, expected, atol=1e-9):
            continue
        flat = x.permute(0, 2, 3, 1).reshape(-1, c) @ weight.T  # (N*H*W, F), no bias
        no_bias = flat.reshape(n, h, w, f).permute(0, 3, 1, 2).numpy()
        no_permute_in = (
            (x.reshape(-1, c) @ weight.T + bias).reshape(n, h, w, f).permute(0, 3, 1, 2).numpy()
        )
        no_permute_out = (flat + bias).reshape(n, f, h, w).numpy()
        candidates = [
            (no_bias, "the bias is missing: add bias (one value per output channel)"),
            (
                no_permute_in,
                "x.reshape(-1, C) mixes pixels and channels: x is (N, C, H, W), so "
                "move the channels last first, x.permute(0, 2, 3, 1)",
            ),  # fmt: skip
            (
                no_permute_out,
                "reshaping the (N*H*W, F) product straight to (N, F, H, W) scrambles "
                "it: reshape to (N, H, W, F), then permute(0, 3, 1, 2)",
            ),  # fmt: skip
        ]
        for wrong, mistake in candidates:
            if wrong is not None and wrong.shape == got.shape and np.allclose(got, wrong):
                fail(check, case, "other values", mistake)
        fail(check, f"{case}: the values of F.conv2d(x, weight[:, :, None, None], bias)",
             "other values",
             "out[n, f, i, j] = sum over c of weight[f, c] * x[n, c, i, j], plus bias[f]")  # fmt: skip
    passed(check, "a 1x1 convolution is one (N*H*W, C) @ (C, F) product")


# ------------------------------------------------------------------------------ inverted dropout
def _signed(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Values of size 0.5 to 1.5 with random signs: none is 0, so a zero means "dropped"."""
    return rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def _run_dropout(check, func, x, p, training, seed) -> np.ndarray:
    before = x.copy()
    got = call_student(check, func, x, p, training, np.random.default_rng(seed))
    if not np.array_equal(x, before):
        fail(check, "x left as it was (a new array returned)", "x was changed in place",
             "do not write into x (x *= mask): compute and return a new array, x * mask")  # fmt: skip
    got = as_float_array(check, got, f"an array of shape {x.shape}",
                         "the function returns nothing", "return a NumPy array")  # fmt: skip
    if got.shape != x.shape:
        fail(check, f"shape {x.shape} (that of x)", f"shape {got.shape}",
             "dropout keeps the shape: draw one random number per element, rng.random(x.shape)")  # fmt: skip
    return got


def check_inverted_dropout(func: Callable[..., Any]) -> None:
    """``func(x, p, training, rng)``: in training, each value of ``x`` is dropped (set to 0) with
    probability ``p`` and the others are divided by ``1 - p``; in evaluation, ``x`` unchanged.
    The random numbers come from ``rng`` (a ``np.random.Generator``)."""
    check = "inverted_dropout"
    data = np.random.default_rng(2024)
    small = _signed(data, (4, 6))
    for p in (0.5, 0.3):
        got = _run_dropout(check, func, small.copy(), p, False, 0)
        if np.allclose(got, small):
            continue
        if np.allclose(got, small * (1 - p)):
            mistake = ("inverted dropout is the identity at evaluation time: the scaling by "
                       "1 / (1 - p) happens in training, so nothing is left to do here")  # fmt: skip
        elif np.isclose(got, 0).any():
            mistake = "nothing is dropped in evaluation mode (training=False): return x"
        else:
            mistake = "with training=False, return x unchanged"
        fail(check, f"training=False, p={p}: x unchanged\n{small}", got, mistake)
    x = _signed(data, (400, 250))
    for p in (0.5, 0.2, 0.75):
        case = f"training=True, p={p}, x of shape {x.shape}"
        got = _run_dropout(check, func, x.copy(), p, True, 1)
        zero = np.isclose(got, 0.0, atol=1e-12)
        kept = np.isclose(got, x / (1 - p))
        if not (zero | kept).all():
            wrong_scales = [
                (
                    1.0,
                    "the kept values must be divided by 1 - p (inverted dropout), so that "
                    "the expected output equals x",
                ),  # fmt: skip
                (1 - p, "divide the kept values by 1 - p, do not multiply"),
                (1 / p, "divide by the probability of *keeping*, 1 - p, not by p"),
                (p, "the kept values are x / (1 - p)"),
            ]
            for scale, mistake in wrong_scales:
                if (zero | np.isclose(got, x * scale)).all():
                    fail(check, f"{case}: each value either 0 or x / (1 - p)",
                         f"kept values equal to x * {scale:g}", mistake)  # fmt: skip
            fail(check, f"{case}: each value either 0 or x / (1 - p)", got,
                 "out = x * mask / (1 - p), with mask 0 (dropped) or 1 (kept)")  # fmt: skip
        if (zero == zero[:1]).all():
            fail(check, f"{case}: a separate random mask for every element",
                 "the same mask for every row", "draw the mask for the whole array, "
                 "rng.random(x.shape), not one row's worth shared by the batch")  # fmt: skip
        if (zero == zero[:, :1]).all():
            fail(check, f"{case}: a separate random mask for every element",
                 "one decision per row", "draw one random number per element: "
                 "rng.random(x.shape)")  # fmt: skip
        frac = zero.mean()
        if abs(frac - p) > 0.01:
            mistake = "drop each value with probability p: rng.random(x.shape) < p drops it"
            if abs(frac - (1 - p)) <= 0.01:
                mistake = ("p is the probability of *dropping* a value, not of keeping it: "
                           "keep it when rng.random(x.shape) >= p")  # fmt: skip
            fail(check, f"{case}: a fraction {p} of the values dropped",
                 f"{frac:.3f} dropped", mistake)  # fmt: skip
        ratio = float((got / x).mean())  # each output over its input: 1 on average
        if not 0.95 < ratio < 1.05:
            fail(check, f"{case}: the output equal to x on average (mean of out / x = 1)",
                 f"mean of out / x = {ratio:.3f}", "inverted dropout keeps the expectation")  # fmt: skip

    got = _run_dropout(check, func, small.copy(), 0.0, True, 0)
    if not np.allclose(got, small):
        fail(check, f"p=0, training=True: x unchanged\n{small}", got,
             "with p = 0 nothing is dropped and the scale 1 / (1 - 0) is 1")  # fmt: skip

    first = _run_dropout(check, func, x.copy(), 0.5, True, 7)
    again = _run_dropout(check, func, x.copy(), 0.5, True, 7)
    other = _run_dropout(check, func, x.copy(), 0.5, True, 8)
    if not np.array_equal(first, again) or np.array_equal(first, other):
        fail(check, "the same mask from the same rng seed, another from another seed",
             "masks that do not follow rng",
             "draw the random numbers from the rng argument (rng.random(x.shape)), not from "
             "np.random or a generator of your own")  # fmt: skip
    nchw = _signed(data, (2, 3, 4, 5))
    got = _run_dropout(check, func, nchw.copy(), 0.5, True, 3)
    if not (np.isclose(got, 0) | np.isclose(got, 2 * nchw)).all():
        fail(check, "a 4-D (N, C, H, W) input: each value 0 or 2x (p = 0.5)", got,
             "the same rule for any shape: x * mask / (1 - p)")  # fmt: skip
    passed(check, "a fraction p dropped, survivors scaled by 1 / (1 - p), identity in eval")


# ------------------------------------------------------------- what each exercise rules out
declare("conv_layer", "the size and parameter formulas", forbid=BUILD_MODULE)
declare(
    "vgg_block",
    "the VGG block",
    rng=True,  # building layers draws their initial weights
    forbid=["torchvision.models.vgg:make_layers"],
)
declare(
    "conv1x1",
    "the 1x1 convolution as one matrix product",
    forbid=TORCH_CONV + ("torch.nn.functional:linear", "torch.nn:Linear"),
)
declare(
    "inverted_dropout",
    "inverted dropout",
    forbid=["torch.nn.functional:dropout", "torch.nn:Dropout", "torch:dropout"],
)
