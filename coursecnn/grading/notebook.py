"""The exercise markup, in nbgrader's conventions: solution regions and graded-cell metadata.

A solution region is the lines of a code cell from ``### BEGIN SOLUTION`` to
``### END SOLUTION``; a cell may hold several. A graded check cell has cell metadata
``{"nbgrader": {"grade": true, "locked": true, "grade_id": "check_<name>", "points": N}}``.
Release and grade both read the markup through this module.

``validate`` refuses what nbgrader 0.9's ``generate_assignment`` refuses, so that a master the
course releases is one nbgrader releases too: nbgrader reads *any* line holding
``BEGIN SOLUTION`` or ``END SOLUTION`` (``ClearSolutions``), in any cell, even quoted in prose,
as a marker, and its metadata schema (``CheckCellMetadata``, schema version 3) is strict.
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
# nbgrader's delimiters (ClearSolutions): a line holding one of them is a marker line to nbgrader.
NBGRADER_BEGIN = "BEGIN SOLUTION"
NBGRADER_END = "END SOLUTION"
# nbgrader's other markup, which ``release`` would hand to students unchanged: refused.
UNSUPPORTED = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "BEGIN MARK SCHEME", "END MARK SCHEME")
# nbgrader's cell metadata schema, version 3 (nbgrader/nbgraderformat/v3.json)
NBGRADER_SCHEMA = 3
NBGRADER_KEYS = {"schema_version", "grade", "locked", "solution", "task", "grade_id", "points",
                 "checksum", "cell_type"}  # fmt: skip
GRADE_ID = re.compile(r"[A-Za-z0-9_-]+")


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


def is_solution(cell: Any) -> bool:
    """True for a solution cell (``nbgrader.solution`` is true)."""
    return nbgrader_meta(cell).get("solution") is True


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

    Raises ``ValueError`` for a region left open, a nested one, an end marker without a begin, and
    a line that nbgrader reads as a marker (it holds ``BEGIN SOLUTION`` or ``END SOLUTION``) but
    that is not a marker alone on its line, both markers on one line included.
    """
    regions: list[tuple[int, int]] = []
    begin: int | None = None
    for i, line in enumerate(source.splitlines()):
        has_begin, has_end = NBGRADER_BEGIN in line, NBGRADER_END in line
        if has_begin and has_end:
            raise ValueError(
                f"line {i + 1}: {NBGRADER_BEGIN!r} and {NBGRADER_END!r} on one line "
                "(nbgrader reads it as a region that is never closed); put each marker alone "
                "on its own line"
            )
        marker = BEGIN_SOLUTION if has_begin else END_SOLUTION if has_end else None
        if marker is not None and line.strip() != marker:
            word = NBGRADER_BEGIN if has_begin else NBGRADER_END
            raise ValueError(
                f"line {i + 1}: {line.strip()[:80]!r} holds {word!r}, which nbgrader reads as a "
                f"solution marker; expected the line {marker!r} alone"
            )
        if has_begin:
            if begin is not None:
                raise ValueError(
                    f"line {i + 1}: {BEGIN_SOLUTION!r} inside the region opened on line {begin + 1}"
                )
            begin = i
        elif has_end:
            if begin is None:
                raise ValueError(f"line {i + 1}: {END_SOLUTION!r} without a {BEGIN_SOLUTION!r}")
            regions.append((begin, i))
            begin = None
    if begin is not None:
        raise ValueError(f"line {begin + 1}: {BEGIN_SOLUTION!r} is never closed")
    return regions


def _replace_regions(source: str, keep_markers: bool) -> str:
    """Each solution region's lines become the stub, indented like its begin line; the markers
    are kept or dropped with them."""
    regions = solution_regions(source)
    if not regions:
        return source
    lines = source.splitlines()
    out: list[str] = []
    pos = 0
    for begin, end in regions:
        out.extend(lines[pos : begin + 1 if keep_markers else begin])
        indent = re.match(r"\s*", lines[begin]).group(0)  # type: ignore[union-attr]
        out.extend(indent + stub for stub in STUB)
        if keep_markers:
            out.append(lines[end])
        pos = end + 1
    out.extend(lines[pos:])
    return "\n".join(out) + ("\n" if source.endswith("\n") else "")


def strip_solutions(source: str) -> str:
    """Replace every solution region, markers included, by the stub, indented like its begin line."""
    return _replace_regions(source, keep_markers=False)


def blank_solutions(source: str) -> str:
    """Empty every solution region, keeping its markers: the lines between them become the stub,
    indented like the begin line. ``strip_solutions`` of the result equals that of ``source``."""
    return _replace_regions(source, keep_markers=True)


def validate(nb: Any, name: str) -> None:
    """Raise ``MarkupError`` naming notebook and cell for markup that release, grade or nbgrader
    cannot use.

    Refused as nbgrader's ``generate_assignment`` refuses it: a solution marker in a cell that is
    not a code cell (even quoted inline in prose), a marker line that is not the marker alone,
    unclosed or nested regions, a region outside a solution cell, ``nbgrader`` metadata outside
    nbgrader's schema (version 3), a graded cell without points, a graded, solution or locked
    cell without a ``grade_id``, and a ``grade_id`` used twice. Refused because the course
    would grade it otherwise than nbgrader: hidden tests, mark schemes, autotests, task cells,
    and a graded cell that is not a locked code cell (see ``cell_problem``).
    """
    seen: dict[str, int] = {}
    for index, cell in enumerate(nb.cells):
        where = f"{name}: {cell_label(index, cell)}"
        problem = cell_problem(cell)
        if problem is not None:
            raise MarkupError(f"{where}: {problem}")
        gid = grade_id(cell)
        if gid is not None:
            if gid in seen:
                raise MarkupError(f"{where}: grade_id {gid!r} already used by cell {seen[gid]}")
            seen[gid] = index


def cell_problem(cell: Any) -> str | None:
    """What is wrong with one cell's markup (see ``validate``), or None."""
    return _marker_problem(cell) or _metadata_problem(cell)


def _marker_problem(cell: Any) -> str | None:
    source = cell.get("source", "")
    lines = source.splitlines()
    for word in UNSUPPORTED:
        if any(word in line for line in lines):
            return (
                f"{word!r}: nbgrader's hidden tests and mark schemes are not supported "
                "(./course release would hand them to students)"
            )
    if cell.cell_type != "code":
        if any(NBGRADER_BEGIN in line or NBGRADER_END in line for line in lines):
            return (
                f"solution marker in a {cell.cell_type} cell: nbgrader reads any line holding "
                f"{NBGRADER_BEGIN!r} or {NBGRADER_END!r}, even quoted in prose, as a solution "
                "region; solution regions belong in code cells, and prose must not quote them"
            )
        return None
    if "AUTOTEST" in source:
        return (
            "'AUTOTEST' in a code cell: nbgrader then instantiates its automatic tests "
            "(autotests.yml), which the course does not use"
        )
    try:
        regions = solution_regions(source)
    except ValueError as err:
        return str(err)
    if regions and not is_solution(cell):
        return (
            "solution region in a cell that is not a solution cell: nbgrader wants the cell "
            "metadata nbgrader.solution true (with a grade_id)"
        )
    return None


def _metadata_problem(cell: Any) -> str | None:
    """nbgrader's ``CheckCellMetadata`` (schema version 3), and what the course's grade needs."""
    metadata = cell.get("metadata", {})
    meta = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    if meta is None:
        return None
    if not isinstance(meta, dict):
        return f"nbgrader: expected an object, got {meta!r}"[:200]
    extra = sorted(set(meta) - NBGRADER_KEYS)
    if extra:
        return f"nbgrader: unknown keys {extra}; nbgrader's schema allows {sorted(NBGRADER_KEYS)}"
    version = meta.get("schema_version")
    if type(version) is not int or version != NBGRADER_SCHEMA:
        return (
            f"nbgrader.schema_version: expected {NBGRADER_SCHEMA}, got {version!r} "
            "(`nbgrader update` upgrades an older notebook)"
        )
    for key in ("grade", "locked", "solution", "task"):
        if (key in meta or key != "task") and not isinstance(meta.get(key), bool):
            return f"nbgrader.{key}: expected true or false, got {meta.get(key)!r}"
    gid = meta.get("grade_id")
    if "grade_id" in meta and not (isinstance(gid, str) and GRADE_ID.fullmatch(gid)):
        return f"nbgrader.grade_id: expected letters, digits, '_' and '-', got {gid!r}"
    if (meta["grade"] or meta["solution"] or meta["locked"]) and "grade_id" not in meta:
        return "graded, solution or locked cell without nbgrader.grade_id"
    pts = meta.get("points")
    if ("points" in meta or meta["grade"]) and not (
        isinstance(pts, int | float) and not isinstance(pts, bool) and pts >= 0
    ):
        return f"nbgrader.points: expected a number >= 0, got {pts!r}"
    checksum = meta.get("checksum")
    if "checksum" in meta and not (isinstance(checksum, str) and len(checksum) == 32):
        return f"nbgrader.checksum: expected 32 characters, got {checksum!r}"
    if meta.get("cell_type", cell.cell_type) not in ("code", "markdown", "raw"):
        return f"nbgrader.cell_type: expected code, markdown or raw, got {meta['cell_type']!r}"
    if meta.get("task"):
        return "nbgrader task cell: tasks are graded by hand, and ./course grade does not see them"
    if meta["solution"] and cell.cell_type != "code":
        return (
            f"solution {cell.cell_type} cell: ./course release clears solutions in code cells only"
        )
    if meta["grade"] and cell.cell_type != "code":
        return (
            f"graded {cell.cell_type} cell: ./course grade scores code cells that run without "
            "an error (a written answer is graded by hand in nbgrader)"
        )
    if meta["grade"] and not meta["locked"]:
        return (
            "graded cell with nbgrader.locked false: nbgrader puts every graded cell back from "
            "the release before grading, ./course grade only locked ones; set locked true"
        )
    return None


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
