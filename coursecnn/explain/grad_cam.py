"""``grad_cam``: where in a conv layer's map the evidence for a class lies (Selvaraju et al. 2017).

For a layer with ``K`` maps ``A^k`` (``h x w`` each) and a class score ``S_c``:

    alpha_k = mean over (i, j) of dS_c / dA^k_ij        how much map k matters for class c
    L_c     = ReLU(sum_k alpha_k A^k)                  (h, w): the class activation map

then ``L_c`` is upsampled (bilinearly) to the input's size to lie over the image. The ReLU keeps
the places that speak *for* the class. A late layer gives coarse maps (one value per ``h x w``
cell) that are class-specific; an early one gives fine maps that hardly depend on the class.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from coursecnn.explain._common import (
    LayerArg,
    check_images,
    check_model,
    check_targets,
    first_tensor,
    model_device,
    resolve_layer,
    scores,
    untouched,
)

__all__ = ["UPSAMPLE_MODES", "grad_cam"]

UPSAMPLE_MODES = ("bilinear", "nearest", "bicubic")


def grad_cam(
    model: nn.Module,
    x: torch.Tensor,
    target: Any,
    layer: LayerArg,
    *,
    relu: bool = True,
    upsample: str | None = "bilinear",
) -> torch.Tensor:
    """Grad-CAM map of ``target`` at ``layer``: ``(N, H, W)`` (input size), or ``(N, h, w)``.

    model: maps ``(N, C, H, W)`` to class scores ``(N, K)``; run in eval mode, left as found.
    x: images ``(N, C, H, W)``. target: one class for all (int) or one per image.
    layer: a name from ``model.named_modules()`` or a module of the model whose output is a
    4-D map ``(N, K, h, w)``, usually the last convolution (or its ReLU).
    relu: apply the paper's ReLU (``False`` keeps the negative evidence too).
    upsample: ``"bilinear"`` (the paper's), ``"nearest"`` or ``"bicubic"`` to ``(H, W)``
    (``align_corners=False``), or ``None`` for the layer's ``(h, w)``.
    With ``relu=False, upsample=None`` it equals ``captum.attr.LayerGradCam(model,
    layer).attribute(x, target)[:, 0]`` (captum's defaults: no ReLU, no upsampling).
    """
    check_model(model)
    check_images(x)
    _, module = resolve_layer(model, layer)
    if upsample is not None and upsample not in UPSAMPLE_MODES:
        raise ValueError(f"upsample: expected None or one of {UPSAMPLE_MODES}, got {upsample!r}")
    caught: list[torch.Tensor] = []

    def hook(module: nn.Module, args: Any, out: Any) -> Any:
        t = first_tensor(out)
        if not caught and isinstance(t, torch.Tensor):
            caught.append(t)
            if isinstance(out, torch.Tensor):
                return out.clone()  # an in-place op after the layer must not change the map
        return None

    handle = module.register_forward_hook(hook)
    try:
        with untouched(model), torch.enable_grad():
            xi = x.detach().to(model_device(model)).clone().requires_grad_(True)
            out = scores(model(xi))
            if not caught:
                raise ValueError("layer: not called in the model's forward pass")
            A = caught[0]
            if A.dim() != 4:
                raise ValueError(
                    f"layer: expected an output map (N, K, h, w), got shape {tuple(A.shape)}"
                )
            t = check_targets(target, len(x), out.shape[1]).to(out.device)
            score = out.gather(1, t[:, None]).sum()
            (dA,) = torch.autograd.grad(score, A, allow_unused=True)
            if dA is None:  # the score does not depend on this layer
                dA = torch.zeros_like(A)
    finally:
        handle.remove()
    alpha = dA.mean(dim=(2, 3), keepdim=True)  # (N, K, 1, 1)
    cam = (alpha * A.detach()).sum(dim=1, keepdim=True)  # (N, 1, h, w)
    if relu:
        cam = F.relu(cam)
    if upsample is not None:
        kw = {} if upsample == "nearest" else {"align_corners": False}
        cam = F.interpolate(cam, size=tuple(x.shape[-2:]), mode=upsample, **kw)
    return cam[:, 0].to(x.device)
