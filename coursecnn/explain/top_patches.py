"""``top_patches``: the image patches that excite one unit most (Zeiler & Fergus 2013, Fig. 2).

For a channel of a layer, every image is run through the model and the channel's strongest
position in it is kept; the ``k`` images with the largest such activation win, and from each the
unit's receptive field is cut out (``receptive_field``). Early layers have small receptive
fields and answer to edges and blobs; deeper ones see more of the image and answer to larger
patterns.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from coursecnn.explain._common import LayerArg, check_images, check_model, is_int
from coursecnn.explain.feature_maps import feature_maps
from coursecnn.explain.receptive_field import ReceptiveField, receptive_field

__all__ = ["TopPatches", "top_patches"]


@dataclass(frozen=True)
class TopPatches:
    """The ``k`` best images for a unit, best first.

    patches: ``(k, C, size_h, size_w)`` receptive-field crops (``fill`` past the border);
    activations: ``(k,)`` the unit's value; image_index: ``(k,)`` into ``images``;
    positions: ``(k, 2)`` the unit's ``(row, column)`` in the layer's map; boxes: ``(k, 4)``
    ``(top, left, bottom, right)`` in the image, bottom and right excluded;
    field: the layer's :class:`ReceptiveField`.
    """

    patches: torch.Tensor
    activations: torch.Tensor
    image_index: torch.Tensor
    positions: torch.Tensor
    boxes: torch.Tensor
    field: ReceptiveField


def top_patches(
    model: nn.Module,
    layer: LayerArg,
    channel: int,
    images: torch.Tensor,
    k: int,
    *,
    fill: float = 0.0,
    batch_size: int = 512,
) -> TopPatches:
    """The ``k`` images whose strongest ``channel`` activation at ``layer`` is largest, with the
    receptive-field patch around that activation.

    model: any CNN whose layers up to ``layer`` form a chain (see ``receptive_field``); run in
    eval mode without gradients, left as found. layer: a name or a module of the model with
    output ``(N, C_l, h, w)``; channel: ``0..C_l - 1``. images: ``(N, C, H, W)``, as the model
    takes them; k: ``1..N``. One patch per image (its strongest position; ties: the first in
    row-major order); ties between images: the lower index first.
    """
    check_model(model)
    check_images(images, "images")
    if not is_int(k) or not 1 <= int(k) <= len(images):
        raise ValueError(f"k: expected an integer in 1..{len(images)} (the images), got {k!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive integer, got {batch_size!r}")
    field = receptive_field(model, layer, tuple(images.shape[1:]))
    best_value, best_pos = [], []
    for b in range(0, len(images), batch_size):
        (fmap,) = feature_maps(model, images[b : b + batch_size], layer).values()
        if b == 0 and not (is_int(channel) and 0 <= int(channel) < fmap.shape[1]):
            raise ValueError(
                f"channel: expected an integer in 0..{fmap.shape[1] - 1} (the layer's "
                f"channels), got {channel!r}"
            )
        flat = fmap[:, int(channel)].flatten(1).cpu()  # (B, h * w)
        value, where = flat.max(dim=1)  # first maximum in row-major order
        best_value.append(value)
        best_pos.append(where)
    values, where = torch.cat(best_value), torch.cat(best_pos)
    order = torch.sort(values, descending=True, stable=True).indices[: int(k)]
    w = field.map_size[1]
    positions = torch.stack([where[order] // w, where[order] % w], dim=1)
    patches, boxes = [], []
    for n, (i, j) in zip(order.tolist(), positions.tolist(), strict=True):
        patches.append(field.crop(images[n].detach().cpu(), i, j, fill=fill))
        boxes.append(field.box(i, j))
    return TopPatches(
        patches=torch.stack(patches),
        activations=values[order],
        image_index=order,
        positions=positions,
        boxes=torch.tensor(boxes, dtype=torch.long),
        field=field,
    )
