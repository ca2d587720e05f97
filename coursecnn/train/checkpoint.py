"""Save and load model weights safely.

Saving writes a temporary file in the target folder and renames it into place (``os.replace``),
so a crash never leaves half a checkpoint under the real name. Loading uses
``torch.load(weights_only=True)`` (no arbitrary code from a file) and refuses a checkpoint made
for another architecture, or a damaged file, with a message that says which.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

FORMAT = "coursecnn-checkpoint/1"
_PLAIN = (type(None), bool, int, float, str, torch.Tensor)


def _bare(model: nn.Module) -> nn.Module:
    """The module under a ``torch.compile`` wrapper (same weights, clean key names)."""
    return getattr(model, "_orig_mod", model)


def _check_plain(value: Any, where: str) -> None:
    if isinstance(value, _PLAIN):
        return
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check_plain(v, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str | int):
                raise ValueError(f"{where}: expected str or int keys, got {type(k).__name__}")
            _check_plain(v, f"{where}[{k!r}]")
        return
    raise ValueError(
        f"{where}: expected numbers, strings, tensors, lists or dicts (what weights_only=True "
        f"can load), got {type(value).__name__}"
    )


def save_checkpoint(model: nn.Module, path: str | os.PathLike[str], **extra: Any) -> Path:
    """Write ``model``'s weights and ``extra`` (e.g. ``epoch=3, history=h.as_dict()``) to ``path``.

    Atomic: a temporary file in the same folder is written, flushed, then renamed over ``path``.
    Returns the path.
    """
    path = Path(path)
    _check_plain(extra, "extra")
    state = {k: v.detach().cpu() for k, v in _bare(model).state_dict().items()}
    payload = {"format": FORMAT, "state_dict": state, "extra": extra}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def _listing(names: list[str], limit: int = 4) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def load_checkpoint(
    model: nn.Module, path: str | os.PathLike[str], *, map_location: Any = "cpu"
) -> dict[str, Any]:
    """Load the weights in ``path`` into ``model``; returns the ``extra`` saved with them.

    Raises ``FileNotFoundError`` if there is no file, and ``ValueError`` if the file is truncated
    or not a checkpoint, or if its weights do not fit ``model`` (missing, unexpected and
    wrongly shaped parameters are named). A plain ``state_dict`` file is accepted too.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path: no checkpoint file at {str(path)!r}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # truncated zip, bad pickle, foreign objects
        raise ValueError(
            f"path: {str(path)!r} is not a readable checkpoint (truncated, corrupt or not "
            f"saved by save_checkpoint): {type(err).__name__}: {str(err).splitlines()[0][:200]}"
        ) from None
    if isinstance(payload, dict) and payload.get("format") == FORMAT:
        state, extra = payload["state_dict"], dict(payload.get("extra") or {})
    elif isinstance(payload, dict) and all(isinstance(v, torch.Tensor) for v in payload.values()):
        state, extra = payload, {}
    else:
        raise ValueError(
            f"path: {str(path)!r} holds a {type(payload).__name__}, expected a checkpoint "
            "written by save_checkpoint or a state_dict"
        )
    target = _bare(model)
    own = target.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [
        f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}"
        for k in own
        if k in state and state[k].shape != own[k].shape
    ]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing from the file: {_listing(missing)}")
        if unexpected:
            parts.append(f"not in the model: {_listing(unexpected)}")
        if wrong:
            parts.append(f"shape in file vs model: {_listing(wrong)}")
        raise ValueError(
            f"path: the checkpoint {str(path)!r} was saved from a different architecture; "
            + "; ".join(parts)
        )
    target.load_state_dict(state)
    return extra
