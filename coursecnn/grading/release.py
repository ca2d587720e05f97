"""Student versions of the notebooks: ``python -m coursecnn release notebooks/ --out DIR``.

Every solution region becomes ``# YOUR CODE HERE`` / ``raise NotImplementedError()`` (indented
like its ``### BEGIN SOLUTION`` line), and a solution cell without a region becomes those two
lines, as nbgrader's ``ClearSolutions`` makes them; outputs, execution counts and widget state
are cleared; cell ids and metadata (``nbgrader`` included) are kept. Every notebook is checked before any is
written, so a markup error writes nothing.

The cells that raise on a fresh release, the solution cells (``NotImplementedError``) and the
graded check cells (``CheckFailed``: "not yet answered"), get the cell tag ``raises-exception``
(``RAISES``): JupyterLab's *Run All* then runs on past them instead of stopping at the first
(it sends their execute requests with ``stop_on_error: false``), so a student sees every check
report. nbval lets a tagged cell's error pass; ``grade`` therefore puts every locked cell back
from the (untagged) master before it runs nbval, and a failing check still scores 0.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path
from typing import Any

from coursecnn.grading import notebook as nbm

RAISES = "raises-exception"  # the cell tag JupyterLab and nbval read as "an error is expected"


def student_version(nb: Any, name: str) -> Any:
    """A copy of ``nb`` with solutions replaced and outputs cleared; ``MarkupError`` on bad markup.

    Solution cells and graded check cells are tagged ``raises-exception`` (see the module
    docstring); ``nb`` itself is left as it was.
    """
    nbm.validate(nb, name)
    out = copy.deepcopy(nb)
    for cell in out.cells:
        if cell.cell_type != "code":
            continue
        if nbm.is_solution(cell):  # validate refused regions anywhere else
            if nbm.solution_regions(cell.source):
                cell.source = nbm.strip_solutions(cell.source)
            else:  # no region: the whole cell is the answer
                cell.source = "\n".join(nbm.STUB)
        if nbm.is_solution(cell) or nbm.is_graded(cell):
            tags = cell.metadata.setdefault("tags", [])
            if RAISES not in tags:
                tags.append(RAISES)
    nbm.clear_outputs(out)
    return out


def release(source: str | Path, out: str | Path) -> list[Path]:
    """Write the student version of every notebook in ``source`` (a folder or one notebook) to
    the folder ``out``; return the paths written. Raises ``MarkupError`` and writes nothing when a
    notebook's markup is wrong, ``ValueError`` when ``out`` is the source folder.
    """
    source, out = Path(source), Path(out)
    if not source.exists():
        raise ValueError(f"source: no such folder or notebook: {source}")
    paths = nbm.notebook_paths(source)
    if not paths:
        raise ValueError(f"source: no notebooks (*.ipynb) in {source}")
    src_dir = source if source.is_dir() else source.parent
    if out.exists() and out.resolve() == src_dir.resolve():
        raise ValueError(f"out: {out} is the source folder; the master notebooks would be lost")
    students = []
    for path in paths:
        try:
            nb = nbm.read(path)
        except Exception as err:  # nbformat raises several kinds for a broken file
            raise nbm.MarkupError(f"{path.name}: cannot read the notebook: {err}") from None
        students.append((path.name, student_version(nb, path.name)))
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, nb in students:
        nbm.write_atomic(nb, out / name)
        written.append(out / name)
    return written


def main(args: argparse.Namespace) -> int:
    """CLI entry: release ``args.source`` into ``args.out``; 0 on success, 1 on a refusal."""
    try:
        written = release(args.source, args.out)
    except ValueError as err:  # MarkupError is a ValueError
        print(f"release refused: {err}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    return 0
