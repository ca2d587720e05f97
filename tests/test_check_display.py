"""A failed check shows as its message in a notebook, without a traceback; the cell still fails."""

from __future__ import annotations

import re

import IPython
import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from coursecnn.checks import _report
from coursecnn.checks._report import CheckFailed

ANSI = re.compile(r"\x1b\[[0-9;]*m")


class FakeShell:
    """What the handler and the installer use of IPython's shell."""

    def __init__(self, custom_exceptions: tuple = ()):
        self.custom_exceptions = custom_exceptions
        self.handler = None
        self.shown: list[tuple] = []

    def set_custom_exc(self, exc_tuple, handler):
        self.custom_exceptions, self.handler = exc_tuple, handler

    def _showtraceback(self, etype, value, stb):
        self.shown.append((etype, value, stb))


def test_handler_shows_the_message_alone() -> None:
    shell = FakeShell()
    with pytest.raises(CheckFailed) as err:
        _report.fail("check_x", "shape (2, 3)", "shape (3, 2)", "rows and columns swapped")
    stb = _report.show_check_failed(shell, CheckFailed, err.value, err.tb)
    assert shell.shown == [(CheckFailed, err.value, stb)]
    text = ANSI.sub("", "\n".join(stb))
    assert text.startswith("CheckFailed: [check_x] not yet right.\n  expected: 'shape (2, 3)'")
    assert "likely mistake: rows and columns swapped" in text
    assert "Traceback" not in text and "File " not in text


def test_installed_only_in_ipython_and_never_over_another_handler(monkeypatch) -> None:
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    assert _report.install_ipython_handler() is False  # plain Python: nothing to do

    shell = FakeShell()
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    assert _report.install_ipython_handler() is True
    assert shell.custom_exceptions == (CheckFailed,)
    assert shell.handler is _report.show_check_failed
    assert _report.install_ipython_handler() is True  # again: still ours

    theirs = FakeShell(custom_exceptions=(KeyError,))
    monkeypatch.setattr(IPython, "get_ipython", lambda: theirs)
    assert _report.install_ipython_handler() is False
    assert theirs.custom_exceptions == (KeyError,) and theirs.handler is None


def test_in_a_kernel_a_check_fails_without_traceback_and_other_errors_keep_theirs() -> None:
    """A real ipykernel: importing coursecnn.checks installs the display."""
    nb = new_notebook(
        cells=[
            new_code_cell("from coursecnn.checks import _report"),
            new_code_cell('_report.not_answered("check_x", "run the cell above first")'),
            new_code_cell('_report.fail("check_y", 3, 4, "off by one")'),
            new_code_cell('def mine():\n    raise ValueError("my own bug")\n\nmine()'),
        ]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    NotebookClient(nb, timeout=120, allow_errors=True, kernel_name="python3").execute()
    errors = [[o for o in c.outputs if o.output_type == "error"] for c in nb.cells]
    assert [len(e) for e in errors] == [0, 1, 1, 1]  # each failing cell still ends in an error

    answered, wrong, own = (e[0] for e in errors[1:])
    assert answered.ename == wrong.ename == "CheckFailed"
    shown = ANSI.sub("", "\n".join(answered.traceback))
    assert shown == "CheckFailed: [check_x] not yet answered: run the cell above first."
    shown = ANSI.sub("", "\n".join(wrong.traceback))
    assert shown.startswith("CheckFailed: [check_y] not yet right.\n  expected: 3\n  got:      4")
    assert "Traceback" not in shown and "_report.py" not in shown
    shown = ANSI.sub("", "\n".join(own.traceback))
    assert own.ename == "ValueError" and "Traceback" in shown and "mine()" in shown
    assert isinstance(nbformat.validate(nb), type(None))
