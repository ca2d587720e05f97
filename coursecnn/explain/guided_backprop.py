"""``guided_backprop``: the gradient, with every ReLU's backward pass changed (Springenberg et al.
2015; Zeiler & Fergus's deconvnet).

Plain backprop through ``y = ReLU(x)`` passes the incoming gradient where the *input* was
positive: ``grad_in = grad_out * [x > 0]``. Two variants change that rule, at every ReLU:

    guided backprop (Springenberg et al. 2015)   grad_in = grad_out * [x > 0] * [grad_out > 0]
    deconvnet (Zeiler & Fergus 2013)             grad_in = grad_out * [grad_out > 0]

Guided backprop passes only the signals that raise the score *and* went through the unit in the
forward pass; the deconvnet's rule ignores the forward pass at the ReLU. Everything else (the
convolutions, pooling's switches, batch norm) is back-propagated as usual. The result is not a
gradient of anything, only a picture: it tends to show the image's edges (Adebayo et al. 2018
found guided backprop's maps nearly unchanged when a model's top layers are re-drawn at random).
Only ``nn.ReLU`` *modules* are changed, as in captum; a ``torch.relu`` inside a ``forward`` is
back-propagated as usual.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from coursecnn.explain._common import check_images, check_model, input_gradient

__all__ = ["RULES", "guided_backprop", "guided_relu_backward"]

RULES = ("guided", "deconvnet")


def guided_relu_backward(x: torch.Tensor, grad_out: torch.Tensor) -> torch.Tensor:
    """Guided backprop's rule at a ReLU: ``grad_out`` where ``x > 0`` and ``grad_out > 0``, else 0.

    x: the ReLU's input, grad_out: the gradient arriving at its output (same shape). Neither is
    modified. A zero (in ``x`` or in ``grad_out``) passes nothing.
    """
    if not isinstance(x, torch.Tensor) or not isinstance(grad_out, torch.Tensor):
        raise ValueError(
            f"x, grad_out: expected two tensors, got {type(x).__name__} and "
            f"{type(grad_out).__name__}"
        )
    if x.shape != grad_out.shape:
        raise ValueError(
            f"grad_out: expected the shape of x {tuple(x.shape)}, got {tuple(grad_out.shape)}"
        )
    return torch.where((x > 0) & (grad_out > 0), grad_out, torch.zeros_like(grad_out))


class _ModifiedReLU(torch.autograd.Function):
    """ReLU forward; backward by guided backprop's or the deconvnet's rule."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, deconvnet: bool) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.deconvnet = deconvnet
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor, None]:
        (x,) = ctx.saved_tensors
        if ctx.deconvnet:
            return grad_out.clamp(min=0), None
        return guided_relu_backward(x, grad_out), None


def guided_backprop(
    model: nn.Module, x: torch.Tensor, target: Any, *, rule: str = "guided"
) -> torch.Tensor:
    """The gradient of ``target``'s score with respect to ``x``, each ``nn.ReLU``'s backward pass
    replaced by ``rule``: ``"guided"`` (guided backprop) or ``"deconvnet"``. Signed, the shape of
    ``x``.

    model: maps ``(N, C, H, W)`` to class scores ``(N, K)``; run in eval mode, left as found
    (modes, ``requires_grad``, ``.grad``, each ReLU's ``inplace`` flag, no hook left behind).
    x: images ``(N, C, H, W)`` (not modified). target: one class for all (int) or one per image.
    Equals ``captum.attr.GuidedBackprop(model).attribute(x, target)`` (``rule="guided"``) and
    ``captum.attr.Deconvolution(model).attribute(x, target)`` (``rule="deconvnet"``) on a model
    in eval mode.
    """
    check_model(model)
    check_images(x)
    if rule not in RULES:
        raise ValueError(f"rule: expected one of {RULES}, got {rule!r}")
    deconvnet = rule == "deconvnet"
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    inplace = [m.inplace for m in relus]

    def hook(module: nn.Module, args: Any, out: Any) -> torch.Tensor:
        return _ModifiedReLU.apply(args[0], deconvnet)  # replaces the ReLU's own output

    handles = []
    try:
        for m in relus:
            m.inplace = False  # the hook needs the ReLU's input as it was
            handles.append(m.register_forward_hook(hook))
        return input_gradient(model, x, target)
    finally:
        for h in handles:
            h.remove()
        for m, flag in zip(relus, inplace, strict=True):
            m.inplace = flag
