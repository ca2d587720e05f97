"""Re-execute notebooks in place so that their committed outputs are current (``./course regen``).

    python scripts/regen.py notebooks/05_lenet.ipynb [...]
    python scripts/regen.py --pictures notebooks/08_what_cnns_learn.ipynb [...]

Each notebook runs top to bottom in a fresh kernel started in its own folder (as JupyterLab and
nbval do), with a 600 s limit per cell; an error stops that notebook and leaves the file as it was.
Outputs are recorded for reading without a kernel (``COURSECNN_STATIC_OUTPUT=1``: ``fit`` prints a
line per run, no live bar). The wall time of the run is written into the notebook's opening cell
(the line that starts ``**Measured run time:**``) and into ``notebooks/timings.json``, so that the
time a learner is told is the one measured.
Widget state is not kept in the file: widgets need a live kernel. Each widget output keeps instead
a picture of what its widget showed (``image/png`` beside the widget view, see
``coursecnn.book.pictures``), which GitHub and the course website (``./course book``) show.
(nbclient's ``store_widget_state=False`` is not used: with it, an ``Output`` widget that clears
itself, as ``interact`` does, makes nbclient fail with a KeyError; the state is kept while
running, then dropped.)

``--pictures`` renews only those pictures: it runs a copy of the notebook through its last widget
cell and writes nothing into the file but the pictures; every other output, and the run time,
stay as committed.
"""

from __future__ import annotations

import copy
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coursecnn.book.pictures import PNG, WIDGET_VIEW, store_pictures, widget_outputs  # noqa: E402
from coursecnn.grading.notebook import write_atomic  # noqa: E402
from coursecnn.grading.runtime import record_timing, set_runtime_line  # noqa: E402


def _execute(nb: nbformat.NotebookNode, folder: Path, timeout: int) -> float:
    """Run ``nb`` in a fresh kernel started in ``folder``, store its widgets' pictures in their
    outputs, drop the widget state; return the seconds the run took."""
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
        store_widget_state=True,
        record_timing=False,
    )
    before = os.environ.get("COURSECNN_STATIC_OUTPUT")
    os.environ["COURSECNN_STATIC_OUTPUT"] = "1"  # the kernel inherits it; restored after
    try:
        start = time.monotonic()
        client.execute()
        seconds = time.monotonic() - start
    finally:
        if before is None:
            os.environ.pop("COURSECNN_STATIC_OUTPUT", None)
        else:
            os.environ["COURSECNN_STATIC_OUTPUT"] = before
    store_pictures(nb)
    nb.metadata.pop("widgets", None)
    return seconds


def regen(path: Path, timeout: int = 600) -> float:
    """Execute ``path`` in place; return the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    seconds = _execute(nb, path.parent, timeout)
    set_runtime_line(nb, seconds)
    write_atomic(nb, path)
    record_timing(path, seconds)
    return seconds


def renew_pictures(path: Path, timeout: int = 600) -> int:
    """Store in ``path``'s widget outputs the pictures of a run through its last widget cell,
    changing nothing else in the file; return how many were stored."""
    nb = nbformat.read(path, as_version=4)
    shown = list(widget_outputs(nb))
    if not shown:
        return 0
    run = copy.deepcopy(nb)
    run.cells = run.cells[: shown[-1][0] + 1]
    _execute(run, path.parent, timeout)
    ran: dict[str, list] = {}
    for _, cell, output in widget_outputs(run):
        ran.setdefault(cell.id, []).append(output)
    stored = 0
    for index, cell in enumerate(nb.cells):
        mine = [o for o in cell.get("outputs", []) if WIDGET_VIEW in o.get("data", {})]
        theirs = ran.get(cell.get("id"), [])
        if len(theirs) != len(mine):
            raise RuntimeError(
                f"{path.name}: cell {index}: the run showed {len(theirs)} widgets, "
                f"the file holds {len(mine)}; run a full regen instead"
            )
        for output, shown_now in zip(mine, theirs, strict=True):
            if PNG not in shown_now.data:
                raise RuntimeError(f"{path.name}: cell {index}: the widget showed no picture")
            output.data[PNG] = shown_now.data[PNG]
            stored += 1
    write_atomic(nb, path)
    return stored


def main(argv: list[str]) -> int:
    pictures_only = "--pictures" in argv
    argv = [a for a in argv if a != "--pictures"]
    paths = [Path(a) for a in argv] or sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    for path in paths:
        print(f"== {path}", flush=True)
        if pictures_only:
            print(f"   {renew_pictures(path)} widget pictures stored", flush=True)
        else:
            print(f"   {regen(path):.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
