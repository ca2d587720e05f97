"""One checker, two places: called directly in the student's notebook, or by the grader through a
channel to the student's kernel.

In a notebook, a check cell passes the student's functions to a checker, which calls them in the
same interpreter (instant feedback; nothing here is involved). When grading, the checker runs in
the grader's own process, which never executes student code: each argument of the check cell is
fetched from the kernel, as data where it is data (an array, a dict, a model of ``torch.nn``
layers) and otherwise as a :class:`RemoteObject`. Calling a ``RemoteObject`` (through
:func:`coursecnn.checks._report.call_student`, or directly) sends the arguments as data, runs the
call in the kernel under the exercise's rules, and returns the result as data; the expected values
never leave the grader.

What a checker must observe inside the kernel (hooks on a model while the student's training loop
runs, say) is an *observer*: a function of this package registered with :func:`observer` and run
with :func:`observe`, directly in a notebook, in the kernel when grading; it returns data only.
"""

from __future__ import annotations

import builtins
import contextvars
from collections.abc import Callable
from typing import Any

#: The channel of the check now running in the grader (None in a notebook).
ACTIVE: contextvars.ContextVar[Any] = contextvars.ContextVar("coursecnn_channel", default=None)
#: ``{"module:qualname": function}``: the observers a grader may ask a kernel to run.
OBSERVERS: dict[str, Callable[..., Any]] = {}


class StudentError(Exception):
    """An exception the student's code raised in the kernel, re-raised in the grader: its type's
    name and message (builtin exception types are re-raised as themselves)."""


def reraise(type_name: str, message: str) -> None:
    """Raise, in the grader, what the student's code raised in the kernel."""
    from coursecnn.checks._report import CheckFailed

    if type_name in ("CheckFailed", "ForbiddenCall"):
        raise CheckFailed(message)
    cls = getattr(builtins, type_name, None)
    if isinstance(cls, type) and issubclass(cls, Exception) and cls.__module__ == "builtins":
        try:
            raise cls(message)
        except TypeError:  # an exception type whose constructor wants other arguments
            pass
    raise StudentError(f"{type_name}: {message}")


def observer(func: Callable[..., Any]) -> Callable[..., Any]:
    """Register ``func`` as an observer (see the module docstring)."""
    OBSERVERS[f"{func.__module__}:{func.__qualname__}"] = func
    return func


def observe(check: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``func(*args, **kwargs)``: here in a notebook, in the student's kernel when grading."""
    channel = ACTIVE.get()
    name = f"{func.__module__}:{func.__qualname__}"
    if OBSERVERS.get(name) is not func:
        raise RuntimeError(f"observe: {name} is not a registered observer")
    if channel is None:
        return func(*args, **kwargs)
    return channel.observe(check, name, args, kwargs)


class RemoteObject:
    """A function, class or object that lives in the student's kernel (see the module docstring).

    Calling it calls the object there; reading an attribute reads it there. Both return data, or
    another ``RemoteObject`` for what is not data.
    """

    __slots__ = ("_channel", "_handle", "_check")

    def __init__(self, channel: Any, handle: Any, check: str = "") -> None:
        object.__setattr__(self, "_channel", channel)
        object.__setattr__(self, "_handle", handle)
        object.__setattr__(self, "_check", check)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._channel.call(self._check, self, args, kwargs, audit=False)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._channel.getattr(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a RemoteObject is read-only")

    def __repr__(self) -> str:
        return repr(self._handle)


# ---------------------------------------------------------------- observers any checker may use
@observer
def is_module(obj: Any) -> bool:
    """Whether ``obj`` is a torch module (asked where ``obj`` lives)."""
    import torch

    return isinstance(obj, torch.nn.Module)


def module_like(check: str, obj: Any) -> bool:
    """``isinstance(obj, nn.Module)``, for the student's object here or in the kernel."""
    if isinstance(obj, RemoteObject):
        return bool(observe(check, is_module, obj))
    return bool(is_module(obj))


@observer
def forward_backward(check: str, module: Any, x: Any, up: Any) -> tuple[Any, Any, Any]:
    """``out = module(x)`` with autograd on a copy of ``x``, then ``sum(out * up).backward()``,
    under the exercise's rules; returns ``(out, dL/dx, x as it is afterwards)``."""
    from coursecnn.checks._guard import student_code

    xs = x.clone().requires_grad_()
    with student_code(check):
        out = module(xs)
    with student_code(check):
        (out * up).sum().backward()
    return out.detach(), xs.grad, xs.detach()
