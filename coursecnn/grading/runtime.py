"""A notebook's measured run time: recorded by ``./course regen``, stated in its opening cell.

The opening (first markdown) cell of each notebook carries one line that starts with
``**Measured run time:**``; ``./course regen`` rewrites it from the wall time of the run it just
made and records the same figure in ``notebooks/timings.json``. ``stated_seconds`` reads the line
back, so that a test can hold the two together.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

PREFIX = "**Measured run time:**"
TIMINGS = "timings.json"
_PATTERN = re.compile(r"about (?:(\d+) min)?\s*(?:(\d+) s)?")


def format_duration(seconds: float) -> str:
    """``about 45 s`` (to 5 s) under 100 s, else ``about 2 min 10 s`` (to 10 s)."""
    if seconds < 0 or seconds != seconds:
        raise ValueError(f"seconds: expected a duration >= 0, got {seconds!r}")
    if seconds < 100:
        return f"about {max(5, 5 * round(seconds / 5))} s"
    total = 10 * round(seconds / 10)
    minutes, rest = divmod(total, 60)
    return f"about {minutes} min" + (f" {rest} s" if rest else "")


def runtime_line(seconds: float, cpus: int | None = None) -> str:
    cpus = os.cpu_count() if cpus is None else cpus
    return (
        f"{PREFIX} {format_duration(seconds)} from top to bottom on a {cpus}-core CPU, "
        f"quick profile (the last `./course regen`, {dt.date.today().isoformat()})."
    )


def _opening(nb: Any) -> Any:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            return cell
    raise ValueError("notebook: expected an opening markdown cell, found none")


def set_runtime_line(nb: Any, seconds: float) -> None:
    """Replace (or append) the opening cell's run-time line with ``seconds``."""
    cell = _opening(nb)
    lines = [ln for ln in cell.source.split("\n") if not ln.startswith(PREFIX)]
    while lines and not lines[-1].strip():
        lines.pop()
    cell.source = "\n".join([*lines, "", runtime_line(seconds)])


def stated_seconds(nb: Any) -> float | None:
    """The seconds that the opening cell's run-time line states, or None without one."""
    for line in _opening(nb).source.split("\n"):
        if line.startswith(PREFIX):
            m = _PATTERN.search(line[len(PREFIX) :])
            if m and (m.group(1) or m.group(2)):
                return 60 * int(m.group(1) or 0) + int(m.group(2) or 0)
    return None


def read_timings(folder: Path) -> dict[str, Any]:
    path = Path(folder) / TIMINGS
    return json.loads(path.read_text()) if path.exists() else {}


def record_timing(notebook: Path, seconds: float) -> None:
    """Store ``seconds`` for ``notebook`` in ``timings.json`` beside it (temp file, then move)."""
    notebook = Path(notebook)
    timings = read_timings(notebook.parent)
    timings[notebook.name] = {
        "seconds": round(seconds, 1),
        "cpus": os.cpu_count(),
        "date": dt.date.today().isoformat(),
    }
    fd, tmp = tempfile.mkstemp(dir=notebook.parent, suffix=".json.tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(dict(sorted(timings.items())), f, indent=1)
        f.write("\n")
    os.replace(tmp, notebook.parent / TIMINGS)
