"""Graded checks that the notebooks' check cells call, one module per notebook.

Each ``check_*`` function prints a pass line, or raises :class:`CheckFailed` whose message says
what was expected, what came back and the likely mistake. Inside IPython (a notebook's kernel),
importing this package makes a ``CheckFailed`` show as its message alone, without a traceback
(``_report.install_ipython_handler``); the cell still ends in an error.
"""

from coursecnn.checks._report import CheckFailed, install_ipython_handler

__all__ = ["CheckFailed"]

install_ipython_handler()
