"""A progress bar that is a widget in Jupyter and text in a terminal, and live learning curves."""

from __future__ import annotations

import os
from typing import Any

#: Set to 1 where a notebook's outputs are recorded rather than watched (``./course regen``,
#: nbval, grading): ``fit`` then prints one line per run instead of a live bar, whose widget
#: would read "0%" in a file opened without a kernel.
STATIC_ENV = "COURSECNN_STATIC_OUTPUT"

#: Seconds between two redraws of a bar. In a notebook every redraw is a few widget messages,
#: and a kernel queues at most 1,000 output messages for a client that reads them only when the
#: cell ends (nbval, grading): more, and the rest, the cell's end included, are dropped.
MIN_INTERVAL = 1.0


def static_output() -> bool:
    """True when outputs are recorded for reading without a kernel (``COURSECNN_STATIC_OUTPUT``)."""
    return os.environ.get(STATIC_ENV, "").strip() not in ("", "0")


def progress_bar(total: int | None, *, enabled: bool = True, desc: str = "training") -> Any:
    """A ``tqdm.auto`` bar (notebook-aware), redrawn at most once a ``MIN_INTERVAL``; a
    do-nothing stand-in when ``enabled`` is False. Callers pass ``refresh=False`` to the
    ``set_*_str`` methods, so that those too wait for the next redraw."""
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit="batch",
        dynamic_ncols=True,
        leave=True,
        mininterval=MIN_INTERVAL,
    )


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        pass

    def set_description_str(self, s: str = "", refresh: bool = True) -> None:
        pass

    def close(self) -> None:
        pass


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where figures can be redrawn in place)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class LivePlot:
    """Redraws ``history.plot()`` in one notebook output after every epoch; silent elsewhere."""

    def __init__(self, title: str = "Learning curves") -> None:
        self.title = title
        self._handle: Any = None
        self._active = in_notebook()

    def update(self, history: Any) -> None:
        if not self._active:
            return
        import matplotlib.pyplot as plt
        from IPython.display import display

        fig = history.plot(title=self.title)
        if self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)
        plt.close(fig)
