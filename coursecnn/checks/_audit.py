"""Side effects audited: what a check hands to the student's code must come back unchanged.

Before the call, :func:`snapshot` records every argument (arrays and tensors by value; a model's
mode in every submodule, its parameters' ``requires_grad`` and ``.grad``, its registered hooks,
its buffers such as BatchNorm's running statistics and counters) and the global random states
(Python, NumPy, torch). :func:`changes` lists what differs afterwards, in words a student reads.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

_HOOK_DICTS = (
    "_forward_hooks",
    "_forward_pre_hooks",
    "_backward_hooks",
    "_backward_pre_hooks",
    "_state_dict_hooks",
    "_load_state_dict_pre_hooks",
)


def _walk(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    yield path, value
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from _walk(v, f"{path}[{i}]")
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, f"{path}[{k!r}]")


def _module_state(model: Any) -> dict[str, Any]:
    import torch

    state: dict[str, Any] = {}
    for name, m in model.named_modules():
        where = name or "the model"
        state[f"mode of {where}"] = "train" if m.training else "eval"
        for hook in _HOOK_DICTS:
            n = len(getattr(m, hook, {}) or {})
            if n:
                state[f"{hook.strip('_').replace('_', ' ')} on {where}"] = n
    for name, p in model.named_parameters():
        state[f"requires_grad of {name}"] = p.requires_grad
        state[f"value of {name}"] = p.detach().clone()
        state[f".grad of {name}"] = None if p.grad is None else p.grad.detach().clone()
    for name, b in model.named_buffers():
        state[f"buffer {name}"] = b.detach().clone() if isinstance(b, torch.Tensor) else b
    state["global gradient mode"] = torch.is_grad_enabled()
    return state


def _same(a: Any, b: Any) -> bool:
    import torch

    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return (
            isinstance(a, torch.Tensor)
            and isinstance(b, torch.Tensor)
            and a.shape == b.shape
            and a.dtype == b.dtype
            and bool(torch.equal(a.detach().cpu(), b.detach().cpu()))
        )
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.shape == b.shape
            and a.dtype == b.dtype
            and np.array_equal(a, b, equal_nan=True)
        )
    return a == b


@dataclass
class Snapshot:
    """What a check handed over, as it was before the student's code ran."""

    state: dict[str, Any]
    objects: list[tuple[str, Any]]
    rng: dict[str, Any]

    def changes(self) -> list[str]:
        """What the student's code changed, one phrase each (empty: nothing)."""
        now = _capture(self.objects)
        out = [k for k, before in self.state.items() if not _same(before, now.get(k, "<gone>"))]
        out += [k for k in now if k not in self.state]
        rng_now = _rng_state() if self.rng else {}
        out += [k for k, v in self.rng.items() if not _same_rng(v, rng_now[k])]
        return out


def _rng_state() -> dict[str, Any]:
    import torch

    return {
        "Python's global random state (random)": random.getstate(),
        "NumPy's global random state (np.random)": np.random.get_state()[1].copy(),
        "torch's global random state (torch.manual_seed)": torch.get_rng_state(),
    }


def _capture(objects: list[tuple[str, Any]]) -> dict[str, Any]:
    import torch
    from torch import nn

    state: dict[str, Any] = {}
    for path, value in objects:
        if isinstance(value, nn.Module):
            for key, v in _module_state(value).items():
                state[f"{key} ({path})"] = v
        elif isinstance(value, torch.Tensor):
            state[f"the values of {path}"] = value.detach().clone()
            state[f"requires_grad of {path}"] = value.requires_grad
        elif isinstance(value, np.ndarray):
            state[f"the values of {path}"] = value.copy()
            state[f"writeable flag of {path}"] = value.flags.writeable
    return state


def snapshot(args: tuple[Any, ...], kwargs: dict[str, Any], *, rng: bool = True) -> Snapshot:
    """Record the arguments (recursively through lists, tuples and dicts) and, with ``rng``,
    the global random states."""
    objects: list[tuple[str, Any]] = []
    for i, a in enumerate(args):
        objects += list(_walk(a, f"argument {i + 1}"))
    for k, v in kwargs.items():
        objects += list(_walk(v, f"argument {k}"))
    return Snapshot(_capture(objects), objects, _rng_state() if rng else {})


def _same_rng(a: Any, b: Any) -> bool:
    import torch

    if isinstance(a, torch.Tensor):
        return bool(torch.equal(a, b))
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    return a == b


#: What each kind of change most likely comes from, and its fix, by a phrase of ``changes()``.
HINTS = (
    ("the values of", "an argument was changed in place: work on a copy (x.copy(), t.clone())"),
    ("writeable flag", "an argument's writeable flag was changed: leave the caller's arrays alone"),
    (
        "requires_grad of argument",
        "requires_grad of an input was changed: leave x unchanged and "
        "work on a copy, x.detach().clone().requires_grad_(True)",
    ),
    (
        "mode of",
        "the model was not put back in the mode it was given in (back in training mode "
        "if it was training): remember model.training, then model.train(was_training), in a "
        "try/finally",
    ),
    (
        ".grad of",
        "the parameters' .grad changed: torch.autograd.grad(score, x) returns the "
        "gradient for x alone and leaves .grad as it was; backward() accumulates into it",
    ),
    ("requires_grad of", "a parameter's requires_grad was changed: leave it as it was"),
    (
        "hooks on",
        "a hook was left registered: keep the handle and call handle.remove() in a "
        "finally block, so that it goes also when the forward pass raises",
    ),
    (
        "buffer",
        "the model's buffers (BatchNorm's running statistics and counter) changed: "
        "run the model in eval mode",
    ),
    ("value of", "the model's weights changed: leave the parameters as they were"),
    (
        "random state",
        "a global random generator moved: draw random numbers only from a "
        "generator you are given (dropout in training mode draws from torch's: compute in eval mode)",
    ),
    (
        "gradient mode",
        "torch's gradient mode was left changed: use `with torch.no_grad():`, which restores it",
    ),
)


def hints(changes: list[str]) -> str:
    """The likely mistakes behind ``changes``, one sentence each, in the order of ``HINTS``."""
    found = [hint for key, hint in HINTS if any(key in c for c in changes)]
    return "; ".join(found) or "leave what you were given as it was"
