"""Graded checks that the notebooks' check cells call, one module per notebook.

Each ``check_*`` function prints a pass line, or raises :class:`CheckFailed` whose message says
what was expected, what came back and the likely mistake.
"""

from coursecnn.checks._report import CheckFailed

__all__ = ["CheckFailed"]
