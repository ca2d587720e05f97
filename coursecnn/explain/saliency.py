"""``saliency``: how much each input pixel moves the class score (Simonyan et al. 2014).

For an image ``x`` and a class ``c`` with score ``S_c(x)`` (the logit, before softmax), the
saliency map is ``|dS_c / dx|``: one backward pass. A large value says that a small change of
that pixel changes the score a lot; it says nothing about the sign, and it is local (a
derivative at ``x``, not the effect of removing anything).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from coursecnn.explain._common import check_images, check_model, input_gradient

__all__ = ["saliency"]


def saliency(model: nn.Module, x: torch.Tensor, target: Any) -> torch.Tensor:
    """``|d score_target / d x|``, the shape of ``x``.

    model: maps ``(N, C, H, W)`` to class scores ``(N, K)``; run in eval mode, left as found.
    x: images ``(N, C, H, W)`` (not modified; its ``requires_grad`` is left alone).
    target: a class for every image (int) or one per image (``N`` ints).
    Each image's map is the gradient of its own target score (the scores are summed over the
    batch, and image ``i``'s score does not depend on image ``j`` in eval mode). Equals
    ``captum.attr.Saliency(model).attribute(x, target, abs=True)``.
    """
    check_model(model)
    check_images(x)
    return input_gradient(model, x, target).abs()
