"""coursecnn.checks.explain: passes the right answers, names the classic mistakes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from coursecnn.checks import CheckFailed
from coursecnn.checks import explain as checks

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def unfinished(*args):
    raise NotImplementedError()


# --- receptive field -------------------------------------------------------------------------
def field(layers):
    size, jump = 1, 1
    for k, s in layers:
        size += (k - 1) * jump
        jump *= s
    return size, jump


def field_without_jump(layers):
    return 1 + sum(k - 1 for k, _ in layers), field(layers)[1]


def field_jump_after(layers):
    size, jump = 1, 1
    for k, s in layers:
        jump *= s
        size += (k - 1) * jump
    return size, jump


def field_last_stride(layers):
    return field(layers)[0], layers[-1][1]


def field_sum_of_kernels(layers):
    size, jump = 0, 1
    for k, s in layers:
        size += k * jump if size == 0 else (k - 1) * jump
        jump *= s
    return size + 1, jump


def test_receptive_field_passes(capsys):
    checks.check_receptive_field(field)
    assert "(22, 4)" in capsys.readouterr().out
    checks.check_receptive_field(lambda layers: list(field(layers)))


@pytest.mark.parametrize(
    "func, message",
    [
        (field_without_jump, "size \\+= \\(k - 1\\) \\* jump"),
        (field_jump_after, "before"),
        (field_last_stride, "product of all the strides"),
        (field_sum_of_kernels, "off by one"),
        (lambda layers: field(layers)[::-1], "in that order"),
        (lambda layers: field(layers)[0], "pair"),
        (lambda layers: (1.5, "a"), "whole numbers"),
        (unfinished, "NotImplementedError"),
    ],
)
def test_receptive_field_names_mistakes(func, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_receptive_field(func)


# --- capture ---------------------------------------------------------------------------------
def capture(model, layer, x):
    caught = []
    handle = layer.register_forward_hook(lambda m, a, out: caught.append(out.detach().clone()))
    try:
        with torch.no_grad():
            model(x)
    finally:
        handle.remove()
    return caught[0]


def capture_without_copy(model, layer, x):
    caught = []
    handle = layer.register_forward_hook(lambda m, a, out: caught.append(out))
    with torch.no_grad():
        model(x)
    handle.remove()
    return caught[0]


def capture_leaving_the_hook(model, layer, x):
    caught = []
    layer.register_forward_hook(lambda m, a, out: caught.append(out.clone()))
    with torch.no_grad():
        model(x)
    return caught[-1]


def capture_the_input(model, layer, x):
    caught = []
    handle = layer.register_forward_hook(lambda m, a, out: caught.append(a[0].clone()))
    with torch.no_grad():
        model(x)
    handle.remove()
    return caught[0]


def capture_the_list(model, layer, x):
    caught = []
    handle = layer.register_forward_hook(lambda m, a, out: caught.append(out.clone()))
    with torch.no_grad():
        model(x)
    handle.remove()
    return caught


def capture_by_running_the_layer(model, layer, x):
    return layer(x)  # the layer on the model's input, not on what reaches it


def capture_the_next_layer(model, layer, x):
    i = list(model).index(layer)
    return capture(model, model[min(i + 1, len(model) - 1)], x)


def test_capture_passes(capsys):
    checks.check_capture(capture)
    assert "no hook left behind" in capsys.readouterr().out


@pytest.mark.parametrize(
    "func, message",
    [
        (capture_without_copy, "clone"),
        (capture_leaving_the_hook, "remove"),
        (capture_the_input, "third argument"),
        (capture_the_list, "not the list"),
        (capture_by_running_the_layer, "register the hook"),
        (capture_the_next_layer, "."),
        (unfinished, "NotImplementedError"),
        (lambda m, layer, x: None, "torch.Tensor"),
    ],
)
def test_capture_names_mistakes(func, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_capture(func)


# --- saliency --------------------------------------------------------------------------------
def saliency(model, x, target):
    was_training = model.training
    model.eval()
    try:
        x = x.detach().clone().requires_grad_(True)
        score = model(x)[torch.arange(len(x)), target].sum()
        (grad,) = torch.autograd.grad(score, x)
    finally:
        model.train(was_training)
    return grad.abs()


def saliency_variant(score_of, *, abs_=True, eval_=True, backward=False, restore=True):
    def func(model, x, target):
        was_training = model.training
        if eval_:
            model.eval()
        x = x.detach().clone().requires_grad_(True)
        score = score_of(model(x), target)
        if backward:
            score.backward()
            grad = x.grad
        else:
            (grad,) = torch.autograd.grad(score, x)
        if restore:
            model.train(was_training)
        return grad.abs() if abs_ else grad

    return func


def target_scores(s, t):
    return s[torch.arange(len(s)), t].sum()


def in_place_on_x(model, x, target):
    was_training = model.training
    model.eval()
    x.requires_grad_(True)
    (grad,) = torch.autograd.grad(target_scores(model(x), target), x)
    model.train(was_training)
    return grad.abs()


def test_saliency_passes(capsys):
    checks.check_saliency(saliency)
    assert "eval mode" in capsys.readouterr().out


@pytest.mark.parametrize(
    "func, message",
    [
        (saliency_variant(target_scores, abs_=False), "abs"),
        (saliency_variant(lambda s, t: s.softmax(1)[torch.arange(len(s)), t].sum()), "softmax"),
        (saliency_variant(lambda s, t: nn.functional.cross_entropy(s, t)), "not the loss"),
        (
            saliency_variant(lambda s, t: -nn.functional.cross_entropy(s, t, reduction="sum")),
            "log-probability",
        ),  # fmt: skip
        (saliency_variant(lambda s, t: s.sum()), "not all scores"),
        (saliency_variant(lambda s, t: s[:, t[0]].sum()), "its own target"),
        (saliency_variant(target_scores, eval_=False), "eval mode"),
        (saliency_variant(target_scores, restore=False), "back in training mode"),
        (saliency_variant(target_scores, backward=True), "autograd.grad"),
        (in_place_on_x, "x unchanged"),
        (lambda m, x, t: saliency(m, x, t).amax(dim=1), "shape"),
        (lambda m, x, t: saliency(m, x, t).numpy(), "torch.Tensor"),
        (unfinished, "NotImplementedError"),
    ],
)
def test_saliency_names_mistakes(func, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_saliency(func)


# --- guided backprop's ReLU rule -------------------------------------------------------------
def guided(x, grad_out):
    return torch.where((x > 0) & (grad_out > 0), grad_out, 0.0)


def guided_in_place(x, grad_out):
    grad_out[(x <= 0) | (grad_out < 0)] = 0.0
    return grad_out


def guided_by_the_package(x, grad_out):
    from coursecnn.explain import guided_relu_backward

    return guided_relu_backward(x, grad_out)


def test_guided_relu_passes(capsys):
    checks.check_guided_relu(guided)
    assert "passed" in capsys.readouterr().out
    checks.check_guided_relu(lambda x, g: g * (x > 0) * (g > 0))
    checks.check_guided_relu(lambda x, g: torch.relu(g) * (x > 0).to(g.dtype))


@pytest.mark.parametrize(
    "func, message",
    [
        (lambda x, g: g * (x > 0), "plain backprop"),
        (lambda x, g: g.clamp(min=0), "deconvnet"),
        (lambda x, g: g.clamp(min=0) * x.clamp(min=0), "mask of 0s and 1s"),
        (lambda x, g: torch.where((x >= 0) & (g > 0), g, 0.0), "exactly 0"),
        (lambda x, g: ((x > 0) & (g > 0)).float(), "not the mask"),
        (lambda x, g: (x > 0) & (g > 0), "not the mask itself"),
        (guided_in_place, "do not write into"),
        (guided_by_the_package, "write guided backprop's ReLU rule yourself"),
        (lambda x, g: guided(x, g).numpy(), "torch.Tensor"),
        (unfinished, "NotImplementedError"),
    ],
)
def test_guided_relu_names_mistakes(func, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_guided_relu(func)


# --- occlusion -------------------------------------------------------------------------------
def occlusion(model, image, target, window, stride, *, last=True, assign=False, channel0=False,
              probs=False, average=True, reverse=False, transpose=False):  # fmt: skip
    C, H, W = image.shape
    total, count = torch.zeros(H, W), torch.zeros(H, W)

    def score(batch):
        out = model(batch)
        return (out.softmax(1) if probs else out)[0, target]

    with torch.no_grad():
        s0 = score(image[None])
        for top in range(0, H - window + (1 if last else 0), stride):
            for left in range(0, W - window + (1 if last else 0), stride):
                covered = image.clone()
                covered[
                    0 if channel0 else slice(None), top : top + window, left : left + window
                ] = 0
                drop = s0 - score(covered[None])
                if reverse:
                    drop = -drop
                region = (slice(top, top + window), slice(left, left + window))
                total[region] = drop if assign else total[region] + drop
                count[region] += 1
    out = total / count if average else total
    return out.T if transpose else out


def occ(**kw):
    return lambda m, im, t, w, s: occlusion(m, im, t, w, s, **kw)


def test_occlusion_passes(capsys):
    checks.check_occlusion(occlusion)
    assert "overlapping windows" in capsys.readouterr().out


@pytest.mark.parametrize(
    "func, message",
    [
        (occ(average=False), "average"),
        (occ(reverse=True), "not the other way round"),
        (occ(last=False), "H - window \\+ 1"),
        (occ(assign=True), "keeps only the last"),
        (occ(assign=True, average=False), "keeps only the last"),
        (occ(channel0=True), "every channel"),
        (occ(probs=True), "logit"),
        (occ(transpose=True), "rows first"),
        (lambda m, im, t, w, s: occlusion(m, im, t, w, s)[None], "shape"),
        (unfinished, "NotImplementedError"),
        (lambda m, im, t, w, s: 1 / 0, "ZeroDivisionError"),
    ],
)
def test_occlusion_names_mistakes(func, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_occlusion(func)


# --- other right answers pass too ------------------------------------------------------------
def test_other_right_answers_pass():
    def capture_with_grad(model, layer, x):  # no torch.no_grad(), the handle removed in the hook
        caught = {}

        def hook(module, inputs, output):
            caught["out"] = output.clone()
            caught["handle"].remove()

        caught["handle"] = layer.register_forward_hook(hook)
        model(x)
        return caught["out"]

    def saliency_backward_then_cleaned(model, x, target):
        was = model.training
        model.eval()
        x = x.clone().requires_grad_()
        model(x).gather(1, target[:, None]).sum().backward()
        model.zero_grad(set_to_none=True)
        model.train(was)
        return x.grad.abs()

    def occlusion_batched(model, image, target, window, stride):
        C, H, W = image.shape
        corners = [(r, q) for r in range(0, H - window + 1, stride)
                   for q in range(0, W - window + 1, stride)]  # fmt: skip
        covered = image.repeat(len(corners), 1, 1, 1)
        masks = torch.zeros(len(corners), H, W)
        for k, (r, q) in enumerate(corners):
            covered[k, :, r : r + window, q : q + window] = 0
            masks[k, r : r + window, q : q + window] = 1
        with torch.no_grad():
            drops = model(image[None])[0, target] - model(covered)[:, target]
        return (drops[:, None, None] * masks).sum(0) / masks.sum(0)

    checks.check_capture(capture_with_grad)
    with pytest.raises(CheckFailed, match="parameters' .grad changed"):
        checks.check_saliency(saliency_backward_then_cleaned)  # wipes the caller's gradients
    checks.check_occlusion(occlusion_batched)
    checks.check_receptive_field(lambda layers: field([list(layer) for layer in layers]))
