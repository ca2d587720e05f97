"""Re-execute notebooks in place so that their committed outputs are current (``./course regen``).

    python scripts/regen.py notebooks/05_lenet.ipynb [...]

Each notebook runs top to bottom in a fresh kernel started in its own folder (as JupyterLab and
nbval do), with a 600 s limit per cell; an error stops that notebook and leaves the file as it was.
Outputs are recorded for reading without a kernel (``COURSECNN_STATIC_OUTPUT=1``: ``fit`` prints a
line per run, no live bar). The wall time of the run is written into the notebook's opening cell
(the line that starts ``**Measured run time:**``) and into ``notebooks/timings.json``, so that the
time a learner is told is the one measured.
Widget state is not kept in the file: widgets need a live kernel, and the committed outputs show
the figures they drew. (nbclient's ``store_widget_state=False`` is not used: with it, an
``Output`` widget that clears itself, as ``interact`` does, makes nbclient fail with a KeyError;
the state is kept while running, then dropped.)
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coursecnn.grading.notebook import write_atomic  # noqa: E402
from coursecnn.grading.runtime import record_timing, set_runtime_line  # noqa: E402


def regen(path: Path, timeout: int = 600) -> float:
    """Execute ``path`` in place; return the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    os.environ["COURSECNN_STATIC_OUTPUT"] = "1"
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
        record_timing=False,
    )
    start = time.monotonic()
    client.execute()
    seconds = time.monotonic() - start
    nb.metadata.pop("widgets", None)
    set_runtime_line(nb, seconds)
    write_atomic(nb, path)
    record_timing(path, seconds)
    return seconds


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    for path in paths:
        print(f"== {path}", flush=True)
        print(f"   {regen(path):.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
