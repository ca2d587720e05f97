"""Graded checks of notebook 08, what CNNs learn.

References are what the course proved elsewhere: ``coursecnn.models.summary`` for receptive
fields, slicing ``nn.Sequential`` for captured layers, ``coursecnn.explain.saliency`` and
``coursecnn.explain.occlusion`` (tested against captum) for the maps. Each check runs the
student's function on small seeded models and inputs (non-square images, 1 and 3 channels,
windows that overlap) and, when the answer is wrong, computes what the classic mistakes give so
that the failure can name the one it recognises.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from coursecnn.checks._guard import (
    declare,
)
from coursecnn.checks._report import CheckFailed, as_ints, call_student, fail, passed

__all__ = [
    "check_capture",
    "check_guided_relu",
    "check_occlusion",
    "check_receptive_field",
    "check_saliency",
]


def _run(check: str, func: Callable[..., Any], *args: Any, hint: str) -> Any:
    """``call_student``, with any other exception turned into a failure that names it."""
    try:
        return call_student(check, func, *args)
    except CheckFailed:
        raise
    except Exception as err:
        fail(check, "a result", f"{type(err).__name__}: {err}", hint)


def _close(got: torch.Tensor, expected: torch.Tensor, atol: float = 1e-5) -> bool:
    return bool(torch.allclose(got.double(), expected.double(), rtol=1e-4, atol=atol))


def _as_tensor(check: str, got: Any, shape: tuple[int, ...], case: str) -> torch.Tensor:
    if not isinstance(got, torch.Tensor):
        fail(check, f"{case}: a torch.Tensor of shape {shape}", type(got).__name__,
             "return the tensor itself (not a list, a dict or a NumPy array)")  # fmt: skip
    if tuple(got.shape) != shape:
        fail(check, f"{case}: shape {shape}", f"shape {tuple(got.shape)}",
             "the result must have the shape asked for, one value per input pixel")  # fmt: skip
    if not torch.isfinite(got).all():
        fail(check, f"{case}: finite values", "NaN or inf values",
             "a division by zero: some pixel was never covered, or counted 0 times")  # fmt: skip
    return got.detach()


# --- Exercise 1: receptive field -------------------------------------------------------------
def _field_by_summary(layers: list[tuple[int, int]]) -> tuple[int, int]:
    """(rf, rf stride) of the last of a chain of convolutions, measured by ``summary``."""
    from coursecnn.models import summary

    side = 1
    for k, s in reversed(layers):  # the smallest input that leaves a 1x1 output
        side = (side - 1) * s + k
    with torch.device("meta"):  # shapes and counts only, nothing computed
        model = nn.Sequential(*[nn.Conv2d(1, 1, k, stride=s) for k, s in layers])
    row = summary(model, (1, side, side)).rows[-1]
    return int(row.rf), int(row.rf_stride)


def check_receptive_field(func: Callable[..., Any]) -> None:
    """``func(layers) -> (size, jump)`` for ``layers`` a list of ``(kernel_size, stride)``."""
    check = "receptive_field"
    cases = [
        [(3, 1), (3, 1)],
        [(7, 1), (2, 2), (3, 1), (2, 2), (3, 1)],  # the notebook's CNN: 22, 4
        [(3, 2), (3, 2)],
        [(5, 1)],
        [(2, 2), (2, 2), (2, 2)],
        [(11, 4), (3, 2), (5, 1), (3, 2), (3, 1)],  # AlexNet's first layers
        [(1, 3), (4, 1), (3, 2), (2, 3)],
    ]
    for layers in cases:
        case = f"receptive_field_size({layers})"
        expected = _field_by_summary(layers)
        got = call_student(check, func, [tuple(layer) for layer in layers])
        if not isinstance(got, tuple | list) or len(got) != 2:
            fail(check, f"{case}: a pair (size, jump) = {expected}", got,
                 "return two numbers, `return size, jump`")  # fmt: skip
        got = as_ints(check, got, expected, case, count=2)
        if got == expected:
            continue
        size = jump = 1
        no_jump, after, jumps = 1, 1, 1
        for k, s in layers:
            size, jump = size + (k - 1) * jump, jump * s
            no_jump += k - 1
            jumps *= s
            after += (k - 1) * jumps
        mistakes = [
            (
                got[0] == no_jump and no_jump != expected[0],
                "each layer's k - 1 is counted in its input's pixels, which are `jump` input pixels "
                "apart: size += (k - 1) * jump",
            ),
            (
                got[0] == after and after != expected[0],
                "the jump used for a layer must be the one *before* it (its input's spacing): add "
                "(k - 1) * jump first, then multiply jump by the stride",
            ),
            (
                got[0] == expected[0] + 1 or got[0] == expected[0] - 1,
                "off by one: a single pixel (no layer) has size 1, and a k-wide kernel adds k - 1",
            ),
            (
                got[0] == expected[0] and got[1] == layers[-1][1],
                "the jump is the product of all the strides so far, not the last one",
            ),
            (got == (expected[1], expected[0]), "the pair is (size, jump), in that order"),
        ]
        for hit, mistake in mistakes:
            if hit:
                fail(check, f"{case} = {expected}", got, mistake)
        fail(check, f"{case} = {expected}", got,
             "start from size 1, jump 1; for each (k, s): size += (k - 1) * jump, then "
             "jump *= s")  # fmt: skip
    alexnet = _field_by_summary(cases[5])
    passed(check, f"(22, 4) for the notebook's CNN, {alexnet} for AlexNet's conv1 to conv3")


class _Block(nn.Module):
    """A nested block with its own ``forward`` (a residual sum), batch norm and dropout: the
    kinds of layer an answer right only for a flat ``nn.Sequential`` misses."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn = nn.BatchNorm2d(channels)
        self.drop = nn.Dropout(0.3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop(torch.relu(self.bn(self.conv(x))))


class _Raise(nn.Module):
    """Fails every forward pass: a capture helper must still remove its hook."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("this layer fails on purpose (the check tests your try/finally)")


# --- Exercise 2: capture a layer with a forward hook -----------------------------------------
def _capture_model(c: int) -> nn.Sequential:
    torch.manual_seed(3)
    return nn.Sequential(
        nn.Conv2d(c, 4, 3, padding=1),
        nn.ReLU(inplace=True),  # overwrites the conv's output: a hook must keep a copy
        nn.MaxPool2d(2),
        nn.Conv2d(4, 5, (3, 2)),
        nn.ReLU(inplace=True),
        nn.Flatten(),
        nn.Linear(5 * 2 * 4, 3),
    ).eval()


def _nested_capture_model(c: int) -> nn.Sequential:
    torch.manual_seed(5)
    model = nn.Sequential(
        nn.Conv2d(c, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(inplace=True),
        _Block(4),
        nn.Flatten(),
        nn.Linear(4 * 8 * 10, 3),
    )
    with torch.no_grad():  # statistics of its own, so that eval mode differs from training
        model[1].running_mean.uniform_(-0.5, 0.5)
        model[1].running_var.uniform_(0.5, 2.0)
    return model.eval()


def _hook_count(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def check_capture(func: Callable[..., Any]) -> None:
    """``func(model, layer, x) -> tensor``: ``layer``'s output when ``model`` runs on ``x``."""
    check = "capture"
    g = torch.Generator().manual_seed(4)
    for c, n in ((1, 2), (3, 1)):
        model = _capture_model(c)
        x = torch.randn(n, c, 8, 10, generator=g)
        for i in (0, 3, 4, 2, 6):
            layer = model[i]
            case = f"capture(model, model[{i}] = {layer}, x of shape {tuple(x.shape)})"
            with torch.no_grad():
                expected = model[: i + 1](x.clone())
                before = model[:i](x.clone())  # the layer's input
            got = _run(check, func, model, layer, x.clone(),
                       hint="register the hook on `layer`, run `model(x)`, remove the hook")  # fmt: skip
            # a hook left behind fails in call_student's audit
            if isinstance(got, list | tuple) and len(got) == 1:
                fail(check, f"{case}: a tensor", f"a {type(got).__name__} of one tensor",
                     "return the tensor the hook caught, not the list that holds it")  # fmt: skip
            if (
                isinstance(got, torch.Tensor)
                and tuple(got.shape) == tuple(before.shape)
                and _close(got, before)
                and not (tuple(got.shape) == tuple(expected.shape) and _close(got, expected))
            ):
                fail(check, f"{case}: the layer's output", "the layer's input",
                     "a forward hook is called as hook(module, inputs, output): keep the "
                     "third argument")  # fmt: skip
            got = _as_tensor(check, got, tuple(expected.shape), case)
            if _close(got, expected):
                continue
            if _close(got, expected.clamp(min=0)):
                fail(check, f"{case}: the convolution's output, negative values included",
                     "the output after the in-place ReLU that follows it",
                     "the next layer, nn.ReLU(inplace=True), overwrites the tensor you kept: "
                     "store a copy, `output.detach().clone()`")  # fmt: skip
            fail(check, f"{case}: model[: {i + 1}](x)", got,
                 "register the hook on `layer` itself and keep the output of its first call")  # fmt: skip
    for c in (1, 3):  # a layer inside a nested block with its own forward, batch norm, dropout
        model = _nested_capture_model(c)
        x = torch.randn(2, c, 8, 10, generator=g)
        for name in ("3.conv", "3", "1"):
            layer = model.get_submodule(name)
            with torch.no_grad():
                seen: list[torch.Tensor] = []
                h = layer.register_forward_hook(
                    lambda m, i, o, seen=seen: seen.append(o.detach().clone())
                )
                try:
                    model(x.clone())
                finally:
                    h.remove()
            case = f"capture(model, model.get_submodule({name!r}), x): a nested block"
            got = _run(check, func, model, layer, x.clone(),
                       hint="register the hook on `layer` itself, run `model(x)`, remove it")  # fmt: skip
            got = _as_tensor(check, got, tuple(seen[0].shape), case)
            if not _close(got, seen[0]):
                fail(check, f"{case}: that layer's output in eval mode", got,
                     "hook the module you are given, wherever it sits in the model, and run the "
                     "whole model as it is (in its own mode)")  # fmt: skip
    boom = nn.Sequential(nn.Conv2d(1, 2, 3), _Raise()).eval()
    try:
        call_student(check, func, boom, boom[0], torch.randn(1, 1, 6, 6, generator=g))
    except CheckFailed:
        raise
    except Exception:  # the forward pass's error may pass through; the hook must not stay
        pass
    if _hook_count(boom):
        fail(check, "no hook left on the model when its forward pass raises",
             f"{_hook_count(boom)} hook(s) still registered after the error",
             "remove the hook in a `finally:` block, so that it goes also when model(x) "
             "raises")  # fmt: skip
    passed(check, "the layers' outputs, in-place ReLUs notwithstanding, no hook left behind")


# --- Exercise 3: guided backprop's ReLU rule ------------------------------------------------
def _guided_cases() -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """(description, x, grad_out): every sign combination, exact zeros in both, 1-D to 4-D."""
    g = torch.Generator().manual_seed(13)
    signs = torch.tensor([-1.5, 0.0, 2.0])
    x_all, g_all = torch.meshgrid(signs, signs, indexing="ij")  # the nine sign pairs
    cases = [("the nine sign pairs of (x, grad_out), zeros included", x_all.flatten(),
              g_all.flatten())]  # fmt: skip
    for shape, dtype in (((4, 6), torch.float32), ((2, 3, 4, 5), torch.float64)):
        x = torch.randn(shape, generator=g, dtype=dtype)
        up = torch.randn(shape, generator=g, dtype=dtype)
        x[x.abs() < 0.3] = 0.0  # exact zeros: a ReLU at 0 passes nothing
        up[up.abs() < 0.3] = 0.0
        cases.append((f"random x and grad_out of shape {shape}, {dtype}, some exact zeros", x, up))
    return cases


def _relu_backward(x: torch.Tensor, grad_out: torch.Tensor) -> torch.Tensor:
    """Plain backprop through a ReLU, by autograd."""
    xi = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(torch.relu(xi), xi, grad_out)
    return grad


def check_guided_relu(func: Callable[..., Any]) -> None:
    """``func(x, grad_out) -> grad_in``: ``grad_out`` where ``x > 0`` and ``grad_out > 0``, else 0;
    the inputs left as they were."""
    check = "guided_relu"
    for case, x, up in _guided_cases():
        plain = _relu_backward(x, up)
        expected = plain.clamp(min=0)  # captum's rule: the ReLU's own gradient, then a ReLU
        got = _run(check, func, x.clone(), up.clone(),
                   hint="return torch.where((x > 0) & (grad_out > 0), grad_out, 0.0)")  # fmt: skip
        got = _as_tensor(check, got, tuple(x.shape), case)
        if got.dtype == torch.bool or not got.is_floating_point():
            fail(check, f"{case}: gradient values (floats)", f"a tensor of dtype {got.dtype}",
                 "return the gradient that passes, grad_out where the rule lets it through, "
                 "not the mask itself")  # fmt: skip
        if _close(got, expected, atol=0.0):
            continue
        mask = ((x > 0) & (up > 0)).to(x.dtype)
        variants = [
            (plain, "that is plain backprop through a ReLU; guided backprop also drops the "
                    "negative gradients: keep grad_out only where grad_out > 0 as well"),
            (up.clamp(min=0), "that is the deconvnet's rule (only grad_out > 0); guided backprop "
                              "also needs the forward pass's input to be positive, x > 0"),
            (up.clamp(min=0) * x.clamp(min=0), "multiply by a mask of 0s and 1s, not by x's "
                                               "values: (x > 0), not x.clamp(min=0)"),
            (torch.where((x >= 0) & (up > 0), up, 0.0), "a ReLU whose input is exactly 0 passes "
                                                        "nothing: x > 0, not x >= 0"),
            (mask, "return the gradient that passes (grad_out), not the mask"),
            (up * (x > 0) * (up < 0), "keep the *positive* gradients (grad_out > 0)"),
            (up.abs() * (x > 0), "keep only the positive gradients; do not flip the negative "
                                 "ones with abs()"),
        ]  # fmt: skip
        for wrong, mistake in variants:
            if _close(got, wrong, atol=0.0):
                fail(check, f"{case}: grad_out where x > 0 and grad_out > 0", got.numpy(), mistake)
        fail(check, f"{case}: grad_out where x > 0 and grad_out > 0, else 0", got.numpy(),
             "keep grad_out where both the ReLU's input x and grad_out are positive (strictly), "
             "0 elsewhere")  # fmt: skip
    passed(check, "grad_out only where x > 0 and grad_out > 0, zeros and all signs included")


# --- Exercise 4: saliency with autograd ------------------------------------------------------
def _saliency_model(c: int) -> nn.Sequential:
    torch.manual_seed(7)
    return nn.Sequential(
        nn.Conv2d(c, 4, 3, padding=1),
        nn.ReLU(),
        _Block(4),  # batch norm and dropout in a block with its own forward
        nn.Dropout(0.5),  # in training mode this would make the map random
        nn.Conv2d(4, 6, 3, stride=2),
        nn.Tanh(),
        nn.Flatten(),
        nn.Linear(6 * 3 * 4, 5),
    )


def _grad(model: nn.Module, x: torch.Tensor, score: Callable[[torch.Tensor], torch.Tensor]):
    xi = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(score(model(xi)), xi)
    return g


def _saliency_mistakes(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> list:
    """What the classic mistakes give, each with its explanation."""
    rows = torch.arange(len(x))
    return [
        (_grad(model, x, lambda s: s[rows, target].sum()),
         "the saliency map is the gradient's magnitude: take .abs()"),
        (_grad(model, x, lambda s: s.softmax(1)[rows, target].sum()).abs(),
         "use the score (the logit), not the softmax probability: a probability can rise "
         "because other classes fall"),
        (_grad(model, x, lambda s: s.log_softmax(1)[rows, target].sum()).abs(),
         "use the score (the logit), not the log-probability or the loss"),
        (_grad(model, x, lambda s: nn.functional.cross_entropy(s, target)).abs(),
         "use the target's score (the logit), not the loss"),
        (_grad(model, x, lambda s: s.sum()).abs(),
         "take only each image's target score, s[torch.arange(N), target], not all scores"),
        (_grad(model, x, lambda s: s[:, target[0]].sum()).abs(),
         "each image has its own target: s[torch.arange(N), target]"),
    ]  # fmt: skip


def check_saliency(func: Callable[..., Any]) -> None:
    """``func(model, x, target) -> |d score / d x|``, shape of ``x``; eval mode, model and x as
    found, parameters' ``.grad`` untouched."""
    from coursecnn.explain import saliency

    check = "saliency"
    g = torch.Generator().manual_seed(8)
    for c, n in ((3, 2), (1, 3)):
        model = _saliency_model(c).train()
        for p in model.parameters():  # gradients the caller still needs: leave them alone
            p.grad = torch.full_like(p, 0.25)
        x = torch.randn(n, c, 8, 10, generator=g)
        target = torch.randint(0, 5, (n,), generator=g)
        if n > 1:
            target[1] = (target[0] + 2) % 5  # different targets for different images
        case = f"x of shape {tuple(x.shape)}, target {target.tolist()}, model in training mode"
        expected = saliency(model, x, target)
        xin = x.clone()
        got = _run(check, func, model, xin, target.clone(),
                   hint="x.requires_grad_(True) on a copy, scores = model(x), pick each image's "
                        "target score, torch.autograd.grad(score, x)")  # fmt: skip
        # the model's mode, its .grad and x itself are audited by call_student
        if not torch.equal(xin, x) or xin.requires_grad:
            fail(check, f"{case}: x unchanged", "x modified (or requires_grad set on it)",
                 "work on a copy: x = x.detach().clone().requires_grad_(True)")  # fmt: skip
        got = _as_tensor(check, got, tuple(x.shape), case)
        if _close(got, expected):
            continue
        variants = _saliency_mistakes(model.eval(), x, target)
        for wrong, mistake in variants:
            if _close(got, wrong):
                fail(check, f"{case}: {'|d score / d x|'}", got.numpy(), mistake)
        fail(check, f"{case}: |d score / d x|", got.numpy(),
             "compute it in eval mode (model.eval(): dropout off), then put the mode back; "
             "the gradient of the target logit with respect to x, in absolute value")  # fmt: skip
    passed(check, "|d score / d x| per image, in eval mode, model and input left as they were")


# --- Exercise 5: the occlusion loop ----------------------------------------------------------
def _occlusion_model(c: int, h: int, w: int) -> nn.Sequential:
    torch.manual_seed(11)
    return nn.Sequential(
        nn.Conv2d(c, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * (h // 2) * (w // 2), 4),
    ).eval()


def _naive_occlusion(
    model: nn.Module,
    image: torch.Tensor,
    target: int,
    window: int,
    stride: int,
    *,
    last_corner: bool = True,
    assign: bool = False,
    channel0: bool = False,
    probs: bool = False,
    average: bool = True,
) -> torch.Tensor:
    """The occlusion loop written out, right by default; each flag is one classic mistake."""
    C, H, W = image.shape
    total, count = torch.zeros(H, W), torch.zeros(H, W)

    def score(batch: torch.Tensor) -> torch.Tensor:
        out = model(batch)
        return (out.softmax(1) if probs else out)[0, target]

    with torch.no_grad():
        s0 = score(image[None])
        end = (lambda size: size - window + 1) if last_corner else (lambda size: size - window)
        for top in range(0, end(H), stride):
            for left in range(0, end(W), stride):
                rows, cols = slice(top, top + window), slice(left, left + window)
                covered = image.clone()
                covered[0 if channel0 else slice(None), rows, cols] = 0.0
                drop = s0 - score(covered[None])
                total[rows, cols] = drop if assign else total[rows, cols] + drop
                count[rows, cols] += 1
    if not average:
        return total
    return torch.where(count > 0, total / count.clamp(min=1), 0.0)


def check_occlusion(func: Callable[..., Any]) -> None:
    """``func(model, image, target, window, stride) -> (H, W)`` mean score drop when a
    ``window x window`` square of zeros (all channels) covers each pixel; corners at 0, stride,
    ..., up to ``H - window``."""
    from coursecnn.explain import occlusion

    check = "occlusion"
    g = torch.Generator().manual_seed(12)
    # (C, H, W, window, stride, target); (H - window) and (W - window) are multiples of stride
    cases = [(3, 8, 10, 3, 1, 2), (1, 8, 10, 4, 2, 1), (3, 8, 10, 2, 2, 3), (1, 11, 8, 5, 3, 0)]
    for c, h, w, window, stride, target in cases:
        model = _occlusion_model(c, h, w)
        image = torch.randn(c, h, w, generator=g)
        case = (f"image {c}x{h}x{w}, target {target}, window {window}, stride {stride}")  # fmt: skip
        expected = occlusion(model, image[None], target, window, stride)[0]
        got = _run(check, func, model, image.clone(), target, window, stride,
                   hint="loop over the window's top-left corners, cover, run the model, "
                        "credit the drop to the covered pixels")  # fmt: skip
        if isinstance(got, torch.Tensor) and tuple(got.shape) == (w, h) and h != w:
            fail(check, f"{case}: shape {(h, w)}", f"shape {tuple(got.shape)}",
                 "rows first: the map is (H, W), like the image")  # fmt: skip
        if (
            isinstance(got, torch.Tensor)
            and tuple(got.shape) == (h, w)
            and not torch.isfinite(got).all()
        ):
            fail(check, f"{case}: finite values", "NaN or inf",
                 "some pixels were never covered: the last corner is H - window itself, so "
                 "loop over range(0, H - window + 1, stride)")  # fmt: skip
        got = _as_tensor(check, got, (h, w), case)
        if _close(got, expected):
            continue
        args = (model, image, target, window, stride)
        variants = [
            (
                _naive_occlusion(*args, average=False),
                "average: divide each pixel's summed drops by the number of windows that covered "
                "it",
            ),
            (-expected, "the drop is score(original) - score(covered), not the other way round"),
            (
                _naive_occlusion(*args, last_corner=False),
                "the last window starts at H - window: range(0, H - window + 1, stride)",
            ),
            (
                _naive_occlusion(*args, assign=True, average=False),
                "add each drop to the covered pixels (+=); `=` keeps only the last window's",
            ),
            (
                _naive_occlusion(*args, assign=True),
                "add each drop to the covered pixels (+=); `=` keeps only the last window's",
            ),
            (
                _naive_occlusion(*args, probs=True),
                "use the target's score (the logit), not its probability",
            ),
        ]
        if c > 1:
            variants.append((_naive_occlusion(*args, channel0=True),
                             "cover every channel, image[:, rows, cols], not only channel 0"))  # fmt: skip
        for wrong, mistake in variants:
            if _close(got, wrong):
                fail(check, f"{case}: the mean drop map", got.numpy(), mistake)
        fail(check, f"{case}: the mean drop map", got.numpy(),
             "for every corner: copy the image, set image[:, r:r+window, c:c+window] = 0, add "
             "score - covered score to those pixels and 1 to their count; return sum / count")  # fmt: skip
    passed(check, "mean score drops over overlapping windows, every channel covered")


# ------------------------------------------------------------- what each exercise rules out
declare("receptive_field", "the receptive-field recursion")
declare("capture", "the hook")
declare(
    "guided_relu",
    "guided backprop's ReLU rule",
    forbid=["captum.attr:GuidedBackprop", "captum.attr:Deconvolution"],
    changed_hint="return a new tensor; do not write into x or grad_out (no `grad_out[...] = 0`, "
    "no `clamp_`)",
)
declare(
    "saliency", "the saliency map", forbid=["captum.attr:Saliency", "captum.attr:InputXGradient"]
)
declare("occlusion", "the occlusion loop", forbid=["captum.attr:Occlusion"])
