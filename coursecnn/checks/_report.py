"""How a graded check reports: a pass line, or a failure written for the student."""

from __future__ import annotations

from typing import Any

import numpy as np


class CheckFailed(AssertionError):
    """A graded check failed. The message says what was expected, what came back and why."""


_RED, _RESET = "\x1b[0;31m", "\x1b[0m"


def show_check_failed(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset=None):
    """IPython's handler for ``CheckFailed`` (``set_custom_exc``): show the message, no traceback.

    The traceback would point into the checker, not at the student's code. The cell still ends
    in an error (the kernel sends an ``error`` message, ename ``CheckFailed``), so *Run All*,
    nbval and ``grade`` still see a failure. Returns the lines shown.
    """
    stb = [f"{_RED}{etype.__name__}{_RESET}: {str(value).strip()}"]
    shell._showtraceback(etype, value, stb)
    return stb


def install_ipython_handler() -> bool:
    """Show ``CheckFailed`` without a traceback in the running IPython (a Jupyter kernel).

    Does nothing outside IPython, or when another custom exception handler is already set;
    returns whether ours is installed.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    current = getattr(shell, "custom_exceptions", ())
    if current and current != (CheckFailed,):
        return False  # someone else's handler: leave it
    shell.set_custom_exc((CheckFailed,), show_check_failed)
    return True


def _show(value: Any) -> str:
    if isinstance(value, np.ndarray):
        with np.printoptions(precision=4, suppress=True, threshold=60, edgeitems=3):
            return f"array of shape {value.shape}, dtype {value.dtype}:\n{value}"
    return repr(value)


def fail(check: str, expected: Any, got: Any, mistake: str) -> None:
    """Raise ``CheckFailed`` naming the check, the expected and received values, the likely mistake."""
    raise CheckFailed(
        f"\n[{check}] not yet right.\n"
        f"  expected: {_show(expected)}\n"
        f"  got:      {_show(got)}\n"
        f"  likely mistake: {mistake}"
    )


def not_answered(check: str, what: str) -> None:
    """Raise ``CheckFailed`` saying the exercise has not been answered yet, and what to do."""
    raise CheckFailed(f"\n[{check}] not yet answered: {what}.")


def passed(check: str, detail: str = "") -> None:
    """Print the line a student sees when a check passes."""
    print(f"[{check}] passed" + (f": {detail}" if detail else ""))


def call_student(check: str, func: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a student's function under the exercise's rules; return what it returned.

    A missing or unfinished function is a clear failure. While it runs, what the exercise forbids
    raises (``_guard``), and warnings are printed on stdout; afterwards, anything it changed of
    what it was given, or of the global random states, fails the check (``_audit``), unless the
    exercise's declared rules allow it.
    """
    import os

    from coursecnn.checks import _audit, _guard, _remote

    if isinstance(func, _remote.RemoteObject):  # grading: the call runs in the student's kernel
        return func._channel.call(check, func, args, kwargs, audit=True)
    if not callable(func):
        fail(
            check,
            "a function",
            func,
            "the cell that defines it has not been run, or it is not a function",
        )
    rules = _guard.RULES.get(check) or _guard.Rules(write="this exercise's answer")
    _guard.check_subclass(check, func, rules)
    recording = bool(os.environ.get(_guard.RECORD_ENV))
    snap = None if rules.mutates and rules.rng else _audit.snapshot(args, kwargs, rng=not rules.rng)
    called: set[str] | None = set() if recording else None
    try:
        with _guard.warnings_to_stdout(check), _guard.guard(check, rules, record=called):
            result = func(*args, **kwargs)
    except NotImplementedError:
        raise CheckFailed(
            f"\n[{check}] not yet answered: the function still raises NotImplementedError.\n"
            "  Replace `raise NotImplementedError()` with your code and run that cell again."
        ) from None
    _guard.check_subclass(check, type(result), rules)
    if snap is not None:
        changes = snap.changes()
        if rules.mutates:
            changes = [c for c in changes if "random state" in c]
        if recording:
            if changes:
                _guard._append_record(check, [], changes)
        elif changes:
            fail(
                check,
                "your code to leave what it was given, and the global random generators, as "
                "they were",
                "it changed: " + "; ".join(changes[:6]) + (" ..." if len(changes) > 6 else ""),
                "; ".join(filter(None, [rules.changed_hint, _audit.hints(changes)])),
            )
    return result


def as_float_array(
    check: str,
    got: Any,
    expected: str,
    none_hint: str = "the function returns nothing: add `return`",
    type_hint: str = "return a NumPy array of numbers",
) -> np.ndarray:
    """``got`` (an array, a tensor, nested lists) as a float64 NumPy array, or a failure.

    ``expected`` says what was asked for, e.g. ``"an array of shape (2, 3)"``; the hints are the
    likely mistakes when nothing came back or what came back is not numbers.
    """
    if got is None:
        fail(check, expected, None, none_hint)
    if hasattr(got, "detach"):  # a torch tensor, on any device
        got = got.detach().cpu().numpy()
    try:
        return np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        fail(check, expected, type(got).__name__, type_hint)
    raise AssertionError("unreachable: fail() raised")


def check_array(
    check: str,
    got: Any,
    expected: np.ndarray,
    mistake: str,
    *,
    atol: float = 1e-6,
    rtol: float = 1e-5,
) -> None:
    """Fail unless ``got`` is an array of ``expected``'s shape whose values are close to it."""
    got_arr = np.asarray(got) if got is not None else None
    if got_arr is None or got_arr.shape != expected.shape:
        fail(
            check,
            f"shape {expected.shape}",
            None if got_arr is None else f"shape {got_arr.shape}",
            "the output size is off: check stride, padding and the +1 in the size formula",
        )
    if not np.allclose(got_arr, expected, atol=atol, rtol=rtol):
        fail(check, expected, got_arr, mistake)


def is_int(value: Any) -> bool:
    """A Python ``int`` or a NumPy integer; not a bool, a float (even 3.0) or a tensor."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def as_ints(check: str, got: Any, expected: Any, case: str, count: int | None = None) -> Any:
    """``got`` as Python ints: one integer, or (``count`` given) a tuple or list of ``count``
    integers. Anything else, a whole float such as ``3.0`` or ``55.0`` included, fails: the
    exercise asks for integers (``//`` keeps them whole, ``/`` does not)."""
    items = [got] if count is None else got
    if count is not None and (not isinstance(got, tuple | list) or len(got) != count):
        fail(check, f"{case}: {count} integers {expected}", got,
             f"return a tuple of {count} ints")  # fmt: skip
    bad = [v for v in items if not is_int(v)]
    if bad:
        kind = type(bad[0]).__name__
        fail(check, f"{case}: {'an integer' if count is None else 'integers'} {expected}", got,
             f"a {kind} is not an int: sizes and counts are whole numbers; use // (not /) and "
             "int arithmetic, and return Python ints")  # fmt: skip
    out = [int(v) for v in items]
    return out[0] if count is None else tuple(out)
