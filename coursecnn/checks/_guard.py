"""What an exercise forbids, enforced while the student's code runs under its check.

One mechanism for every graded check: :func:`coursecnn.checks._report.call_student` runs the
student's function inside :func:`guard`, which

* makes the calls the exercise rules out raise :class:`ForbiddenCall` ("this exercise asks you to
  write X yourself; you called Y"): by default every function and class of the course's own
  reference code (``coursecnn.ops``, ``models``, ``train``, ``numpy_cnn``, ``explain``,
  ``autodiff``, ``gradient_norms``), plus the library equivalents an exercise names
  (``torch.nn.functional.conv2d``, ``torch.nn.Conv2d``, ...), minus what the exercise may reuse
  (what the master solution calls);
* records everything it hands over and everything global it could disturb (see ``_audit``) and
  fails the check when the student's code changed it;
* catches warnings raised inside the call and prints them on stdout (graders that score any
  stderr output as a failure, nbgrader among them, then take no points from a right answer).

A call is forbidden when it is made from the student's code: walking up the stack from it, a
frame of the student's code (a notebook cell) comes before any frame of the course's package;
frames of torch, NumPy and the standard library are looked through. So a forbidden function that
an allowed package function uses internally still works, and ``nn.Conv2d`` built inside a student's
class is caught although torch itself calls ``Module.__init__``.

Rules are plain data (``"module:qualname"`` strings), so that a grader can send them to the
process that runs the student's code.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import os
import sys
import sysconfig
import types
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from coursecnn.checks._report import CheckFailed

#: The course's own reference code: reusing it answers an exercise without doing it.
PACKAGE_REFERENCE = (
    "coursecnn.ops",
    "coursecnn.models",
    "coursecnn.train",
    "coursecnn.numpy_cnn",
    "coursecnn.explain",
    "coursecnn.autodiff",
    "coursecnn.gradient_norms",
)
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_GUARD_FILE = os.path.abspath(__file__)


#: Set to a file path to record, instead of enforcing, what the code under each check calls
#: (one JSON line per call: ``{"check": ..., "called": [...], "changed": [...]}``); used to
#: derive what the masters reuse.
RECORD_ENV = "COURSECNN_GUARD_RECORD"


def _append_record(check: str, called: list[str], changed: list[str] | None = None) -> None:
    import json

    with open(os.environ[RECORD_ENV], "a", encoding="utf-8") as f:
        f.write(json.dumps({"check": check, "called": called, "changed": changed or []}) + "\n")


class ForbiddenCall(CheckFailed):
    """The student's code called what the exercise asks them to write themselves."""


@dataclass(frozen=True)
class Rules:
    """What one exercise rules out.

    write: what the exercise asks for, as the message says it ("the volume convolution").
    forbid: library callables the text rules out, ``"module:qualname"`` (a function, a builtin,
        or a class: every method of it, ``__init__`` included).
    allow: package callables the exercise may reuse (the master calls them), ``"module:qualname"``
        or a whole module ``"coursecnn.data"``.
    subclass: classes the student's classes must not derive from, ``"module:qualname"``.
    package: whether the course's reference code (``PACKAGE_REFERENCE``) is forbidden.
    mutates: the exercise may change what it is given (a training function trains the model).
    rng: the exercise may draw from the global random generators.
    changed_hint: the likely mistake when the student's code changes what it was given.
    """

    write: str
    forbid: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()
    subclass: tuple[str, ...] = ()
    package: bool = True
    mutates: bool = False
    rng: bool = False
    changed_hint: str = ""


# Library equivalents that exercises rule out, by group.
SCIPY_CONV = tuple(
    f"{m}:{f}"
    for m, fs in {
        "scipy.signal": ("correlate2d", "convolve2d", "correlate", "convolve", "fftconvolve",
                         "oaconvolve"),
        "scipy.ndimage": ("correlate", "convolve", "correlate1d", "convolve1d"),
        "numpy": ("convolve", "correlate"),
    }.items()
    for f in fs
)  # fmt: skip
TORCH_CONV = (
    "torch.nn.functional:conv1d",
    "torch.nn.functional:conv2d",
    "torch.nn.functional:conv3d",
    "torch.nn.functional:conv_transpose1d",
    "torch.nn.functional:conv_transpose2d",
    "torch.nn:Conv1d",
    "torch.nn:Conv2d",
    "torch.nn:Conv3d",
    "torch.nn:ConvTranspose1d",
    "torch.nn:ConvTranspose2d",
    "torch.nn.grad:conv2d_input",
    "torch.nn.grad:conv2d_weight",
)
TORCH_POOL = (
    "torch.nn.functional:max_pool2d",
    "torch.nn.functional:max_pool2d_with_indices",
    "torch.nn.functional:avg_pool2d",
    "torch.nn.functional:adaptive_max_pool2d",
    "torch.nn.functional:adaptive_avg_pool2d",
    "torch.nn:MaxPool2d",
    "torch.nn:AvgPool2d",
    "skimage.measure:block_reduce",
)
AUTOGRAD = (
    "torch.autograd:grad",
    "torch.autograd:backward",
    "torch:Tensor.backward",
    "torch.autograd.functional:vjp",
    "torch.autograd.functional:jacobian",
    "torch.func:grad",
    "torch.func:vjp",
    "torch.func:jacrev",
)
#: Building any torch module ("from the formula, without building a layer").
BUILD_MODULE = ("torch.nn:Module.__init__",)
#: Every torch function ("without running torch").
ANY_TORCH = "torch:*"

_GROUPS = (
    (SCIPY_CONV, "scipy's and NumPy's convolution and correlation functions"),
    (
        tuple(n for n in SCIPY_CONV if not n.startswith("scipy.signal")),
        "scipy.ndimage's and NumPy's convolution and correlation functions",
    ),
    (TORCH_CONV, "torch's convolutions (`F.conv2d`, `nn.Conv2d`, ...)"),
    (TORCH_POOL, "torch's pooling (`F.max_pool2d`, `nn.MaxPool2d`, ...)"),
    (AUTOGRAD, "autograd (`.backward()`, `torch.autograd.grad`, `torch.func`)"),
    (BUILD_MODULE, "building any torch module (`nn.Conv2d` on the meta device included)"),
    ((ANY_TORCH,), "every torch function"),
)


def _short(name: str) -> str:
    module, _, qualname = name.partition(":")
    module = {"torch.nn.functional": "F", "torch.nn": "nn"}.get(module, module)
    return f"`{module}.{qualname}`" if qualname else f"`{module}`"


def describe(rules: Rules) -> str:
    """The sentence an exercise's text carries: what its check rules out, as the rules say."""
    parts: list[str] = []
    if rules.package:
        text = "the course's own reference code (`coursecnn.ops`, `.models`, `.train`, ...)"
        if rules.allow:
            text += ", except " + ", ".join(_short(a) for a in rules.allow)
        parts.append(text)
    rest = list(rules.forbid)
    for group, phrase in _GROUPS:
        if group and all(g in rest for g in group):
            parts.append(phrase)
            rest = [r for r in rest if r not in group]
    parts += [_short(r) for r in rest]
    parts += [f"deriving from {_short(c)}" for c in rules.subclass]
    if not parts:
        return ""
    return "*Ruled out here, and the check enforces it:* " + "; ".join(parts) + "."


#: ``{check name: Rules}``: every checker module declares its exercises' rules here.
RULES: dict[str, Rules] = {}


def declare(check: str, write: str, **kwargs: Any) -> Rules:
    """Declare the rules of the exercise behind ``check`` (once per check name)."""
    flags = ("package", "mutates", "rng", "changed_hint")
    fields = {k: (v if k in flags else tuple(v)) for k, v in kwargs.items()}
    rules = Rules(write=write, **fields)
    RULES[check] = rules
    return rules


def resolve(name: str) -> Any:
    """``"torch.nn.functional:conv2d"`` or ``"torch.nn:Module.__init__"`` -> the object; None
    when its module is not installed (a library the course does not need cannot be called)."""
    module, _, qualname = name.partition(":")
    try:
        obj: Any = importlib.import_module(module)
    except ImportError:
        return None
    for part in qualname.split(".") if qualname else ():
        obj = getattr(obj, part)
    return obj


# ------------------------------------------------------------------------------ whose frame is it
def _library_dirs() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    dirs = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    dirs |= {os.path.dirname(os.__file__)}
    for mod in ("torch", "numpy", "scipy", "IPython", "ipykernel", "skimage", "sklearn"):
        m = sys.modules.get(mod)
        if m is not None and getattr(m, "__file__", None):
            dirs.add(os.path.dirname(os.path.dirname(os.path.abspath(m.__file__))))
    return tuple(sorted(os.path.abspath(d) + os.sep for d in dirs))


_LIBS: tuple[str, ...] = ()


def _kind(filename: str) -> str:
    """``"package"`` (coursecnn), ``"library"`` or ``"student"``, from a frame's file name."""
    path = os.path.abspath(filename) if not filename.startswith("<") else filename
    if path == _GUARD_FILE:
        return "guard"
    if path.startswith(_PACKAGE_DIR + os.sep):
        return "package"
    if path.startswith(_LIBS) or filename.startswith("<frozen"):
        return "library"
    return "student"


def _called_by_student(frame: types.FrameType | None) -> bool:
    """Walking up from ``frame``: does a student frame come before any package frame?"""
    while frame is not None:
        kind = _kind(frame.f_code.co_filename)
        if kind == "student":
            return True
        if kind == "package":
            return False
        frame = frame.f_back
    return False


# ------------------------------------------------------------------------------ the active guard
@dataclass
class _Active:
    check: str
    rules: Rules
    record: set[str] | None = None  # record mode: names called, nothing raised


_ACTIVE: list[_Active] = []
_ORIGINALS: dict[int, tuple[types.FunctionType, str]] = {}
_KEYS = itertools.count()


def _trip(name: str, frame: types.FrameType | None) -> None:
    if not _ACTIVE or not _called_by_student(frame):
        return
    active = _ACTIVE[-1]
    if active.record is not None:
        active.record.add(name)
        return
    raise ForbiddenCall(
        f"\n[{active.check}] not yet right.\n"
        f"  This exercise asks you to write {active.rules.write} yourself; you called {name}.\n"
        "  Write it with the operations the exercise names, without that function."
    )


def _trampoline(key: int, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    original, name = _ORIGINALS[key]
    _trip(name, sys._getframe(2))
    return original(*args, **kwargs)


_SENTINEL = -918_273_645  # stands for the key in the compiled template
_TEMPLATES: dict[int, types.CodeType] = {}


def _trampoline_code(key: int, nfree: int) -> types.CodeType:
    """A function body that hands its call to ``_trampoline(key, ...)``, with ``nfree`` free
    variables (a function's ``__code__`` can only be swapped for one with as many). Compiled
    once per ``nfree``; each key is put in with ``code.replace``."""
    template = _TEMPLATES.get(nfree)
    if template is None:
        names = [f"_free{i}" for i in range(nfree)]
        lines = [f"def _outer({', '.join(names)}):", "    def _guarded(*args, **kwargs):"]
        if names:  # never true: only makes the names free variables of _guarded
            lines.append(f"        if args is None: ({', '.join(names)},)")
        lines += [
            "        return __import__('coursecnn.checks._guard', fromlist=['_'])"
            f"._trampoline({_SENTINEL}, args, kwargs)",
            "    return _guarded",
        ]
        namespace: dict[str, Any] = {}
        exec(compile("\n".join(lines) + "\n", _GUARD_FILE, "exec"), namespace)
        outer = namespace["_outer"]
        template = next(c for c in outer.__code__.co_consts if isinstance(c, types.CodeType))
        _TEMPLATES[nfree] = template
    consts = tuple(key if c == _SENTINEL else c for c in template.co_consts)
    return template.replace(co_consts=consts)


@dataclass
class _Swap:
    func: types.FunctionType
    code: types.CodeType
    key: int


def _functions_of(obj: Any, name: str) -> Iterator[tuple[types.FunctionType, str]]:
    """The plain functions behind ``obj``: itself, or each method a class defines."""
    if isinstance(obj, types.FunctionType):
        yield obj, name
    elif isinstance(obj, type):
        for attr, value in vars(obj).items():
            raw = value.__func__ if isinstance(value, classmethod | staticmethod) else value
            if isinstance(raw, property):
                for f in (raw.fget, raw.fset):
                    if isinstance(f, types.FunctionType):
                        yield f, f"{name}.{attr}"
            elif isinstance(raw, types.FunctionType):
                yield raw, f"{name}.{attr}"


def _package_functions(allow: tuple[str, ...]) -> Iterator[tuple[types.FunctionType, str]]:
    """Every function and class method defined in the course's reference modules, but those
    the exercise allows."""
    allowed_modules = tuple(a for a in allow if ":" not in a)
    allowed_objs = {id(resolve(a)) for a in allow if ":" in a}
    for modname, module in list(sys.modules.items()):
        if module is None or not modname.startswith(PACKAGE_REFERENCE):
            continue
        if modname.startswith(allowed_modules) and allowed_modules:
            continue
        if modname == __name__ or modname == "coursecnn.checks._report":
            continue
        for attr, value in list(vars(module).items()):
            if getattr(value, "__module__", None) != modname or id(value) in allowed_objs:
                continue
            if isinstance(value, types.FunctionType | type):
                label = f"{modname}.{attr}"
                for func, fname in _functions_of(value, label):
                    if id(func) not in allowed_objs:
                        yield func, fname


def _swap_in(func: types.FunctionType, name: str) -> _Swap | None:
    code = func.__code__
    if code.co_filename == _GUARD_FILE:
        return None  # already guarded (a function reachable twice)
    copy = types.FunctionType(code, func.__globals__, func.__name__, func.__defaults__,
                              func.__closure__)  # fmt: skip
    copy.__kwdefaults__ = func.__kwdefaults__
    key = next(_KEYS)
    _ORIGINALS[key] = (copy, name)
    func.__code__ = _trampoline_code(key, len(code.co_freevars))
    return _Swap(func, code, key)


def _torch_mode(forbidden: dict[int, str], any_torch: bool = False) -> Any:
    from torch.overrides import TorchFunctionMode

    class _Forbid(TorchFunctionMode):
        def __torch_function__(self, func, types_, args=(), kwargs=None):
            name = forbidden.get(id(func))
            if name is None and any_torch:
                name = f"torch.{getattr(func, '__name__', func)}"
            if name is not None:
                _trip(name, sys._getframe(1))
            return func(*args, **(kwargs or {}))

    return _Forbid()


_TARGETS: dict[tuple[Rules, int], tuple[list[tuple[types.FunctionType, str]], dict[int, str]]]
_TARGETS = {}


def _targets(rules: Rules) -> tuple[list[tuple[types.FunctionType, str]], dict[int, str]]:
    """The functions to swap and the builtins to watch for ``rules``; cached until another
    module is imported."""
    key = (rules, len(sys.modules))
    if key not in _TARGETS:
        targets: list[tuple[types.FunctionType, str]] = []
        builtins_forbidden: dict[int, str] = {}
        if rules.package:
            targets += _package_functions(rules.allow)
        for name in rules.forbid:
            obj = None if name == ANY_TORCH else resolve(name)
            if obj is None:
                continue
            found = list(_functions_of(obj, name.replace(":", ".")))
            if found:
                targets += found
            else:  # a builtin (torch.conv2d): caught by a torch function mode
                builtins_forbidden[id(obj)] = name.replace(":", ".")
        if len(_TARGETS) > 256:
            _TARGETS.clear()
        _TARGETS[key] = (targets, builtins_forbidden)
    return _TARGETS[key]


@contextlib.contextmanager
def guard(check: str, rules: Rules | None = None, *, record: set[str] | None = None):
    """Enforce ``rules`` (default: ``RULES[check]``, else the package default) while the block
    runs; with ``record`` a set, collect the forbidden names called instead of raising."""
    global _LIBS
    if not _LIBS:
        _LIBS = _library_dirs()
    rules = rules or RULES.get(check) or Rules(write="this exercise's answer")
    swaps: list[_Swap] = []
    try:
        targets, builtins_forbidden = _targets(rules)
        any_torch = ANY_TORCH in rules.forbid
        seen: set[int] = set()
        for func, name in targets:
            if id(func) in seen:
                continue
            seen.add(id(func))
            swap = _swap_in(func, name)
            if swap is not None:
                swaps.append(swap)
        _ACTIVE.append(_Active(check, rules, record))
        if any_torch or builtins_forbidden:
            mode = _torch_mode(builtins_forbidden, any_torch)
        else:
            mode = contextlib.nullcontext()
        with mode:
            yield
    finally:
        if _ACTIVE and _ACTIVE[-1].check == check:
            _ACTIVE.pop()
        if record is not None and os.environ.get(RECORD_ENV):
            _append_record(check, sorted(record))
        for swap in reversed(swaps):
            swap.func.__code__ = swap.code
            _ORIGINALS.pop(swap.key, None)


def check_subclass(check: str, cls: Any, rules: Rules | None = None) -> None:
    """Fail when the student's class derives from a class the exercise rules out."""
    rules = rules or RULES.get(check)
    if rules is None or not isinstance(cls, type):
        return
    for name in rules.subclass:
        base = resolve(name)
        if isinstance(base, type) and issubclass(cls, base) and cls is not base:
            raise ForbiddenCall(
                f"\n[{check}] not yet right.\n"
                f"  This exercise asks you to write {rules.write} yourself; your class derives "
                f"from {name.replace(':', '.')}.\n"
                "  Derive from torch.nn.Module and write the layers and forward pass yourself."
            )


@contextlib.contextmanager
def student_code(check: str) -> Iterator[None]:
    """Run a block that calls the student's code (a module's forward pass, say) under the
    exercise's rules, with its warnings on stdout; nothing is audited."""
    with warnings_to_stdout(check), guard(check):
        yield


@contextlib.contextmanager
def warnings_to_stdout(check: str) -> Iterator[None]:
    """Catch the warnings raised inside the block and print them on stdout, one line each."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        print(f"[{check}] note: your code raised a warning ({w.category.__name__}): {w.message}")
