"""Which modules the course's own factories built: so that a check can refuse, as an answer to
"build it yourself", a model the package made (``my_lenet5 = lenet5()``).

Every module of a model returned by a factory decorated with :func:`course_model` is remembered
(weakly: nothing is kept alive) with the factory's name, and carries that name as a plain
attribute (``MADE_BY``), so that the fact travels with the model when a grader receives it as
data (``coursecnn.grading.codec``); :func:`made_by_course` looks a model and all its submodules up.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from torch import nn

F = TypeVar("F", bound=Callable[..., Any])

_MADE: weakref.WeakKeyDictionary[nn.Module, str] = weakref.WeakKeyDictionary()
MADE_BY = "_coursecnn_made_by"


def course_model(factory: F) -> F:
    """Remember every module of the model that ``factory`` returns as made by it."""

    @functools.wraps(factory)
    def build(*args: Any, **kwargs: Any) -> Any:
        model = factory(*args, **kwargs)
        if isinstance(model, nn.Module):
            name = f"{factory.__module__}.{factory.__qualname__}"
            for m in model.modules():
                _MADE.setdefault(m, name)
                if MADE_BY not in vars(m):
                    object.__setattr__(m, MADE_BY, name)
        return model

    return build  # type: ignore[return-value]


def made_by_course(model: nn.Module) -> str | None:
    """The factory that built ``model`` or one of its submodules, else None."""
    for m in model.modules():
        name = _MADE.get(m) or vars(m).get(MADE_BY)
        if isinstance(name, str):
            return name
    return None
