"""Shortcuts flagged for review: what each exercise forbids, found in a submission's code.

``flag_shortcuts(master, submitted)`` reads the submitted notebook's code (its syntax tree; nothing
is run) and lists, for each graded check of the master, the calls to what that exercise rules
out, as the checkers declare it (``coursecnn.checks._guard.Rules``; see ``_forbidden``):

* an exercise's cells are the code cells after the previous graded check cell and up to its own,
  the check cells found in the submission by ``grade_id`` (the student may have moved, edited or
  duplicated cells); cells the course wrote and the student left as they were, and the check
  cells themselves (the grader puts them back), are not judged;
* names are resolved through the notebook's imports and assignments, in the order the cells run
  (``F.conv2d``, ``from coursecnn.ops import *``, ``conv = F.conv2d``); a function the exercise's
  code calls that the student wrote elsewhere is followed; ``.backward()`` on anything counts as
  ``torch.Tensor.backward`` where autograd is ruled out;
* ``getattr`` on a module with a computed name, ``eval``, ``exec``, ``compile``, ``__import__``,
  ``importlib.import_module``, ``globals()``, ``sys.modules`` and ``%run`` are flagged as a
  dynamic lookup, which a static scan cannot see through;
* a cell that does not parse is reported as such; IPython's ``%`` and ``!`` lines are turned into
  Python first (``%time`` code is read as code).

The guard (``_guard``) enforces the same rules while the check runs; this scan is for a person
to review: it also sees what the check never calls.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from typing import Any

from coursecnn.checks._guard import Rules
from coursecnn.grading import notebook as nbm
from coursecnn.grading._forbidden import compiled
from coursecnn.grading._scan import Exercise, Hit, Walk
from coursecnn.grading._syntax import parse
from coursecnn.grading.safe_text import spreadsheet_safe, strip_control

TOO_DEEP = "code nested too deeply to scan"
MISSING_CHECK = "check cell not found in the submission: its exercise was not scanned"
#: The most characters ``report_strings`` puts in one check's report.
REPORT_LIMIT = 300


def _source(cell: Any) -> str:
    source = cell.get("source", "") if hasattr(cell, "get") else ""
    if isinstance(source, list):
        source = "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""


def _cells(nb: Any, argument: str) -> list[Any]:
    cells = nb.get("cells") if hasattr(nb, "get") else None
    if not isinstance(cells, list):
        raise TypeError(f"{argument}: expected a notebook (a mapping with a list of cells), got "
                        f"{type(nb).__name__}")  # fmt: skip
    return [c if hasattr(c, "get") else {} for c in cells]  # indices kept


@cache
def _transformer() -> Any:
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:
        return None
    return TransformerManager()


_MAGIC_LINE = re.compile(r"^(\s*)[%!].*$", re.MULTILINE)


def python_source(source: str) -> str:
    """A cell's source as Python: IPython's ``%magic``, ``!shell`` and ``?`` lines turned into
    the calls IPython makes of them (each stays on its line), or into ``pass`` without IPython."""
    manager = _transformer()
    if manager is not None:
        try:
            return manager.transform_cell(source)
        except Exception:  # IPython gives up on some broken input; parsing will say why
            return source
    return _MAGIC_LINE.sub(lambda m: f"{m.group(1)}pass", source)


def _parse(source: str) -> ast.Module | SyntaxError:
    try:
        return parse(python_source(source))
    except SyntaxError as err:
        return err
    except (ValueError, RecursionError, MemoryError) as err:  # null bytes, absurd nesting
        return SyntaxError(f"{type(err).__name__}: {err}")


def _given(master_cells: list[Any]) -> frozenset[str]:
    """The code the course wrote (master code cells without a solution region), as the text
    and as the syntax tree (so that a cell reformatted or re-commented still counts)."""
    keys = set()
    for cell in master_cells:
        source = _source(cell)
        if cell.get("cell_type") == "code" and nbm.BEGIN_SOLUTION not in source:
            keys.add(source.strip())
            if dump := _dump(_parse(source)):
                keys.add(dump)
    return frozenset(keys)


def _dump(tree: ast.Module | SyntaxError) -> str:
    """The tree as text, or ``""`` (which no cell has) when it cannot be dumped."""
    if isinstance(tree, SyntaxError):
        return ""
    try:
        return ast.dump(tree)
    except RecursionError:
        return ""


def _run_cell(
    walk: Walk,
    source: str,
    index: int,
    given: bool,
    ex: Exercise | None,
    keys: frozenset[str] = frozenset(),
) -> None:
    """Bind one cell's names; judge it for ``ex`` unless the course wrote it (``given``, or its
    text or tree is one of ``keys``). A cell that does not parse is reported, not run."""
    tree = _parse(source)
    if not given:
        dump = _dump(tree)
        given = source.strip() in keys or (bool(dump) and dump in keys)
    judged = None if given else ex
    if isinstance(tree, SyntaxError):
        if judged is not None:
            judged.hits.append(Hit(f"unparsable cell: {tree.msg}", index, tree.lineno or 0))
        return
    try:
        walk.run_cell(tree, index, given, judged)
    except RecursionError:  # parsed, but nested deeper than a walk can follow
        if judged is not None:
            judged.hits.append(Hit(TOO_DEEP, index, 0))


@cache
def _rules_for(grade_id: str) -> Rules:
    from coursecnn.checks.rules import rules_for

    # A check without declared rules runs under the guard's default, the package ruled out.
    return rules_for(grade_id) or Rules(write="this exercise's answer")


def flag_shortcuts(master_nb: Any, submitted_nb: Any) -> dict[str, list[str]]:
    """``{grade_id: [finding, ...]}`` for every graded check cell of ``master_nb``, in order.

    A finding reads ``"torch.nn.functional.conv2d (cell 12, line 4)"`` (cell index in the
    submission, line within the cell; ``", in helper"`` when found in a function the exercise's
    code calls), ``"dynamic lookup (getattr/eval/import): eval (cell 12, line 2)"``,
    ``"unparsable cell: invalid syntax (cell 12, line 3)"``, ``TOO_DEEP``, or ``MISSING_CHECK``.
    Raises ``TypeError`` when either argument is not a notebook.
    """
    master_cells = _cells(master_nb, "master_nb")
    cells = _cells(submitted_nb, "submitted_nb")
    graded = [nbm.grade_id(c) for c in master_cells if nbm.is_graded(c) and nbm.grade_id(c)]
    locked = {nbm.grade_id(c): _source(c) for c in master_cells if nbm.is_locked(c)}
    given = _given(master_cells)

    # where each check and each locked cell is in the submission (the first copy counts)
    first: dict[str, int] = {}
    for index, cell in enumerate(cells):
        gid = nbm.grade_id(cell)
        if gid is not None and gid in locked:
            first.setdefault(gid, index)
    check_at = {first[g]: g for g in graded if g in first}
    owner: dict[int, str] = {}
    start = 0
    for index in sorted(check_at):
        for k in range(start, index):
            owner[k] = check_at[index]
        start = index + 1

    exercises = {gid: Exercise(compiled(_rules_for(gid))) for gid in check_at.values()}
    walk = Walk()
    for index, cell in enumerate(cells):
        gid = nbm.grade_id(cell)
        restored = gid is not None and first.get(gid) == index  # the grader puts it back
        if restored:
            _run_cell(walk, locked[gid or ""], index, True, None)
        elif cell.get("cell_type") == "code":
            ex = exercises.get(owner.get(index, ""))
            _run_cell(walk, _source(cell), index, False, ex, given)
        if index in check_at:
            done = exercises[check_at[index]]
            try:
                walk.finish(done)
            except RecursionError:
                done.hits.append(Hit(TOO_DEEP, walk.cell, 0))
    flags: dict[str, list[str]] = {}
    for gid in graded:
        if gid in exercises:
            hits = sorted(exercises[gid].hits, key=lambda h: (h.cell, h.line, h.text))
            flags[gid] = [str(h) for h in hits]
        else:
            flags[gid] = [MISSING_CHECK]
    return flags


def _one_line(items: list[str], limit: int) -> str:
    text = ""
    for k, item in enumerate(items):
        after = len(items) - k - 1
        candidate = f"{text}; {item}" if text else item
        suffix = f" (+{after} more)" if after else ""
        if len(candidate) + len(suffix) <= limit:
            text = candidate
            continue
        if text:  # fitted with this many left over, so it fits with the count
            return f"{text} (+{after + 1} more)"
        return item[: limit - len(suffix) - 3] + "..." + suffix
    return text


def report_strings(flags: dict[str, list[str]], limit: int = REPORT_LIMIT) -> dict[str, str]:
    """One line per check for a report column: the findings joined with ``"; "``, cut to at most
    ``limit`` characters (saying how many were left out), without control characters and safe
    to open in a spreadsheet; ``""`` for a check with none."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 40:
        raise ValueError(f"limit: expected an int >= 40, got {limit!r}")
    out = {}
    for gid, found in flags.items():
        items = [" ".join(strip_control(str(f)).split()) for f in found]
        out[gid] = spreadsheet_safe(_one_line([i for i in items if i], limit - 1))
    return out
