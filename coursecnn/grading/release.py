"""Student versions of the notebooks: ``python -m coursecnn release notebooks/ --out DIR``.

Every solution region becomes ``# YOUR CODE HERE`` / ``raise NotImplementedError()`` (indented
like its ``### BEGIN SOLUTION`` line); outputs, execution counts and widget state are cleared;
cell ids and metadata (``nbgrader`` included) are kept. Every notebook is checked before any is
written, so a markup error writes nothing. ``student_version(..., keep_outputs=True)`` is the
reading copy of the course website (``coursecnn.book``): the other cells keep their outputs, and
only the solution cells lose theirs.

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


def student_version(nb: Any, name: str, *, keep_outputs: bool = False) -> Any:
    """A copy of ``nb`` with solutions replaced and outputs cleared; ``MarkupError`` on bad markup.

    Solution cells and graded check cells are tagged ``raises-exception`` (see the module
    docstring); ``nb`` itself is left as it was. With ``keep_outputs`` only the cells that held a
    solution lose their outputs (what the model answer printed or drew); the widget state goes
    either way.
    """
    nbm.validate(nb, name)
    out = copy.deepcopy(nb)
    for cell in out.cells:
        if cell.cell_type != "code":
            continue
        stripped = nbm.strip_solutions(cell.source)
        if stripped != cell.source or nbm.is_graded(cell):
            tags = cell.metadata.setdefault("tags", [])
            if RAISES not in tags:
                tags.append(RAISES)
        if stripped != cell.source:
            cell.outputs = []
            cell.execution_count = None
        cell.source = stripped
    if keep_outputs:
        out.metadata.pop("widgets", None)
    else:
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
    """CLI entry: release ``args.source`` into ``args.out``, or build a students' repository in
    ``args.repo`` (``student_repo``); 0 on success, 1 on a refusal."""
    try:
        if getattr(args, "repo", None):
            from coursecnn.grading.student_repo import build_student_repo

            written = build_student_repo(args.repo, args.source)
        else:
            written = release(args.source, args.out)
    except ValueError as err:  # MarkupError is a ValueError
        print(f"release refused: {err}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    if getattr(args, "repo", None):
        print(f"== the students' repository is {args.repo}: package, data and these notebooks, "
              "no solutions. There: ./course lab, ./course check")  # fmt: skip
    return 0
