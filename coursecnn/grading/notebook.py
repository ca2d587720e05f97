"""The exercise markup, in nbgrader's conventions: solution regions and graded-cell metadata.

A solution region is the lines of a code cell from ``### BEGIN SOLUTION`` to
``### END SOLUTION``; a cell may hold several. A graded check cell has cell metadata
``{"nbgrader": {"grade": true, "locked": true, "grade_id": "check_<name>", "points": N}}``.
Release and grade both read the markup through this module.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import nbformat

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")


class MarkupError(ValueError):
    """A notebook's exercise markup is wrong; the message names the notebook and the cell."""


def cell_label(index: int, cell: Any) -> str:
    """``cell 7 (id 'a1b2')``: how messages name a cell (index counts every cell from 0)."""
    cid = cell.get("id")
    return f"cell {index}" + (f" (id {cid!r})" if cid else "")


def nbgrader_meta(cell: Any) -> dict[str, Any]:
    """The cell's ``nbgrader`` metadata, or ``{}``."""
    meta = cell.get("metadata", {})
    meta = meta.get("nbgrader", {}) if isinstance(meta, dict) else {}
    return meta if isinstance(meta, dict) else {}


def is_graded(cell: Any) -> bool:
    """True for a graded check cell (``nbgrader.grade`` is true)."""
    return nbgrader_meta(cell).get("grade") is True


def is_locked(cell: Any) -> bool:
    """True for a cell the student may not change (``nbgrader.locked`` is true)."""
    return nbgrader_meta(cell).get("locked") is True


def grade_id(cell: Any) -> str | None:
    """The cell's ``nbgrader.grade_id``, or None."""
    gid = nbgrader_meta(cell).get("grade_id")
    return gid if isinstance(gid, str) and gid else None


def points(cell: Any) -> float:
    """The points a graded cell is worth (``nbgrader.points``)."""
    return float(nbgrader_meta(cell).get("points", 0))


def solution_regions(source: str) -> list[tuple[int, int]]:
    """``[(begin_line, end_line), ...]`` (0-based, both marker lines) of the regions in ``source``.

    Raises ``ValueError`` for a region left open, a nested one, or an end marker without a begin.
    """
    regions: list[tuple[int, int]] = []
    begin: int | None = None
    for i, line in enumerate(source.splitlines()):
        if BEGIN_SOLUTION in line:
            if begin is not None:
                raise ValueError(
                    f"line {i + 1}: {BEGIN_SOLUTION!r} inside the region opened on line {begin + 1}"
                )
            begin = i
        elif END_SOLUTION in line:
            if begin is None:
                raise ValueError(f"line {i + 1}: {END_SOLUTION!r} without a {BEGIN_SOLUTION!r}")
            regions.append((begin, i))
            begin = None
    if begin is not None:
        raise ValueError(f"line {begin + 1}: {BEGIN_SOLUTION!r} is never closed")
    return regions


def strip_solutions(source: str) -> str:
    """Replace every solution region, markers included, by the stub, indented like its begin line."""
    regions = solution_regions(source)
    if not regions:
        return source
    lines = source.splitlines()
    out: list[str] = []
    pos = 0
    for begin, end in regions:
        out.extend(lines[pos:begin])
        indent = re.match(r"\s*", lines[begin]).group(0)  # type: ignore[union-attr]
        out.extend(indent + stub for stub in STUB)
        pos = end + 1
    out.extend(lines[pos:])
    return "\n".join(out) + ("\n" if source.endswith("\n") else "")


def blank_solutions(source: str) -> str:
    """Empty every solution region, keeping its markers: the lines between them become the stub,
    indented like the begin line. ``strip_solutions`` of the result equals that of ``source``."""
    regions = solution_regions(source)
    if not regions:
        return source
    lines = source.splitlines()
    out: list[str] = []
    pos = 0
    for begin, end in regions:
        out.extend(lines[pos : begin + 1])
        indent = re.match(r"\s*", lines[begin]).group(0)  # type: ignore[union-attr]
        out.extend(indent + stub for stub in STUB)
        out.append(lines[end])
        pos = end + 1
    out.extend(lines[pos:])
    return "\n".join(out) + ("\n" if source.endswith("\n") else "")


def validate(nb: Any, name: str) -> None:
    """Raise ``MarkupError`` naming notebook and cell for markup that release or grade cannot use.

    A line starting with a solution marker outside a code cell (prose may name the markers
    inline), unclosed or nested regions, a graded cell without a
    ``grade_id`` or with bad ``points``, and a ``grade_id`` used twice are refused.
    """
    seen: dict[str, int] = {}
    for index, cell in enumerate(nb.cells):
        where = f"{name}: {cell_label(index, cell)}"
        source = cell.get("source", "")
        if cell.cell_type != "code":
            marker_lines = [
                ln
                for ln in source.splitlines()
                if ln.lstrip().startswith((BEGIN_SOLUTION, END_SOLUTION))
            ]
            if marker_lines:
                raise MarkupError(
                    f"{where}: solution marker in a {cell.cell_type} cell; "
                    "solution regions belong in code cells"
                )
        else:
            try:
                solution_regions(source)
            except ValueError as err:
                raise MarkupError(f"{where}: {err}") from None
        gid = grade_id(cell)
        if is_graded(cell) or is_locked(cell):
            if gid is None:
                raise MarkupError(f"{where}: graded or locked cell without nbgrader.grade_id")
        if is_graded(cell):
            try:
                ok = points(cell) >= 0
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise MarkupError(
                    f"{where}: nbgrader.points: expected a number >= 0, "
                    f"got {nbgrader_meta(cell).get('points')!r}"
                )
        if gid is not None:
            if gid in seen:
                raise MarkupError(f"{where}: grade_id {gid!r} already used by cell {seen[gid]}")
            seen[gid] = index


def graded_cells(nb: Any) -> list[tuple[int, Any]]:
    """``[(index, cell), ...]`` of the graded check cells, in notebook order."""
    return [(i, c) for i, c in enumerate(nb.cells) if is_graded(c)]


def has_graded_cells(nb: Any) -> bool:
    """True when the notebook holds at least one graded check cell."""
    return any(is_graded(c) for c in nb.cells)


def reads(text: str) -> Any:
    """A notebook from its JSON text (nbformat 4)."""
    return nbformat.reads(text, as_version=4)


def read(path: str | os.PathLike[str]) -> Any:
    """Read a notebook as nbformat v4."""
    return nbformat.read(os.fspath(path), as_version=4)


def clear_outputs(nb: Any) -> None:
    """Clear outputs and execution counts of every code cell, and the widget state."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.metadata.pop("widgets", None)


def write_atomic(nb: Any, path: str | os.PathLike[str]) -> None:
    """Write ``nb`` to a temporary file beside ``path``, then move it into place."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            nbformat.write(nb, fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def notebook_paths(folder: str | os.PathLike[str]) -> list[Path]:
    """The ``*.ipynb`` files of ``folder`` (or ``[folder]`` for one notebook), sorted by name."""
    folder = Path(folder)
    if folder.is_file():
        return [folder]
    return sorted(p for p in folder.glob("*.ipynb") if p.is_file() and not p.name.startswith("."))
