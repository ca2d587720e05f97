"""One exercise's declared rules, compiled for a static scan: is the name ``a.b.c`` forbidden?

The declarations are ``coursecnn.checks._guard.Rules`` (``"module:qualname"`` strings). A dotted
name that a scan of the student's code resolved (``torch.nn.functional.conv2d``) is forbidden when

* it is a ``forbid`` entry, spelled the same or naming the same object (``torch.conv2d`` is
  ``F.conv2d``), or builds a subclass of a forbidden class (``nn.Linear`` builds a
  ``torch.nn.Module``, so ``torch.nn:Module.__init__`` rules it out);
* ``rules.package`` is true and it is a function or class of the course's reference code
  (``_guard.PACKAGE_REFERENCE``) that ``rules.allow`` does not name (a function, or a whole module);
* ``"torch:*"`` is declared and it lies in ``torch``.

Names are looked up as objects only in the libraries the declarations name (torch, scipy, ...,
and ``coursecnn``), which are imported for it; nothing the student wrote is imported or run.
"""

from __future__ import annotations

import importlib
import types
from functools import cache
from typing import Any

from coursecnn.checks._guard import ANY_TORCH, PACKAGE_REFERENCE, Rules

_MISSING = object()


def dotted(name: str) -> str:
    """``"torch.nn:Conv2d"`` -> ``"torch.nn.Conv2d"``; ``"coursecnn.data"`` stays as it is."""
    return name.replace(":", ".")


def _under(name: str, modules: tuple[str, ...]) -> bool:
    return any(name == m or name.startswith(m + ".") for m in modules)


@cache
def trusted_tops() -> frozenset[str]:
    """The top-level packages whose objects a scan may import to compare names: those the
    declarations name, and the course's own."""
    from coursecnn.checks.rules import all_rules

    tops = {"coursecnn", "torch"}
    for rules in all_rules().values():
        for name in (*rules.forbid, *rules.allow, *rules.subclass):
            tops.add(name.split(":")[0].split(".")[0])
    return frozenset(tops)


@cache
def lookup(name: str) -> Any:
    """The object a dotted name names in a trusted library (importing its modules), or
    ``_MISSING`` when the name is outside them or names nothing."""
    parts = name.split(".")
    if parts[0] not in trusted_tops():
        return _MISSING
    try:
        obj: Any = importlib.import_module(parts[0])
    except Exception:  # a library that is missing or broken names nothing
        return _MISSING
    for i, part in enumerate(parts[1:], start=1):
        if isinstance(obj, types.ModuleType) and not hasattr(obj, part):
            try:
                obj = importlib.import_module(".".join(parts[: i + 1]))
                continue
            except Exception:
                return _MISSING
        try:
            obj = getattr(obj, part)
        except Exception:
            return _MISSING
    return obj


def found(obj: Any) -> bool:
    """True when ``lookup`` found an object."""
    return obj is not _MISSING


class Forbidden:
    """What one exercise rules out, as a scan asks: ``verdict("torch.nn.Conv2d")``."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.any_torch = ANY_TORCH in rules.forbid
        self.names: set[str] = set()  # dotted forbid entries
        self.ids: dict[int, str] = {}  # id(object) -> dotted forbid entry
        self.classes: list[tuple[type, str]] = []  # building a subclass is forbidden
        self.methods: dict[str, str] = {}  # method name -> "torch.Tensor.backward"
        for entry in rules.forbid:
            if entry == ANY_TORCH:
                continue
            name = dotted(entry)
            self.names.add(name)
            obj = lookup(name)
            if found(obj):
                self.ids[id(obj)] = name
                if isinstance(obj, type):
                    self.classes.append((obj, name))
            qualname = entry.partition(":")[2]
            if "." in qualname:  # Class.method
                owner_name, _, method = name.rpartition(".")
                owner = lookup(owner_name)
                if method == "__init__":
                    if isinstance(owner, type):
                        self.classes.append((owner, owner_name))
                else:
                    self.methods[method] = name
        self.allow_modules = tuple(a for a in rules.allow if ":" not in a)
        self.allow_names = {dotted(a) for a in rules.allow if ":" in a}
        self.allow_ids = {id(o) for a in self.allow_names if found(o := lookup(a))}
        self.subclass: list[tuple[Any, str]] = [
            (lookup(dotted(s)), dotted(s)) for s in rules.subclass
        ]

    @property
    def active(self) -> bool:
        """True when the exercise rules anything out."""
        return bool(self.rules.package or self.rules.forbid or self.rules.subclass)

    def _package(self, name: str, obj: Any) -> bool:
        if not self.rules.package:
            return False
        if found(obj):
            if not isinstance(obj, types.FunctionType | type):
                return False
            module = getattr(obj, "__module__", "") or ""
            if not _under(module, PACKAGE_REFERENCE) or _under(module, self.allow_modules):
                return False
            return id(obj) not in self.allow_ids
        # unknown to the installed package: judge by its spelling
        return (
            _under(name, PACKAGE_REFERENCE)
            and not _under(name, self.allow_modules)
            and name not in self.allow_names
        )

    def verdict(self, name: str) -> str | None:
        """What a call of ``name`` is reported as, or None when the exercise allows it."""
        if self.any_torch and _under(name, ("torch",)):
            return name
        if name in self.names:
            return name
        obj = lookup(name)
        if found(obj):
            hit = self.ids.get(id(obj))
            if hit is not None:
                return name if hit == name else f"{name} (= {hit})"
            if isinstance(obj, type):
                for cls, cname in self.classes:
                    if _subclass(obj, cls):
                        return name if obj is cls else f"{name} (a {cname})"
        if self._package(name, obj):
            return name
        return None

    def base_verdict(self, name: str) -> str | None:
        """The class of ``rules.subclass`` that deriving from ``name`` derives from, or None."""
        obj = lookup(name)
        for sub, sname in self.subclass:
            if name == sname or (found(obj) and isinstance(sub, type) and _subclass(obj, sub)):
                return sname
        return None


def _subclass(obj: type, cls: type) -> bool:
    try:
        return issubclass(obj, cls)
    except TypeError:
        return False


@cache
def compiled(rules: Rules) -> Forbidden:
    """``Forbidden(rules)``, made once per set of rules."""
    return Forbidden(rules)
