"""Each graded exercise's rules, found from a notebook: which check judges it, what it rules out.

``exercise_rules(nb)`` pairs the markdown cell that states an exercise with the sentence that
``_guard.describe`` makes of its check's declared rules; ``scripts/rules_text.py`` writes the
sentences into the notebooks and a test holds the two together.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from coursecnn.checks._guard import RULES, describe
from coursecnn.grading import notebook as nbm


def all_rules() -> dict[str, Any]:
    """``RULES`` once every checker module is imported (each declares its exercises' rules)."""
    import coursecnn.checks as package

    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"coursecnn.checks.{info.name}")
    return RULES


def rules_for(grade_id: str) -> Any:
    """The rules of the check cell ``check_NAME`` (declared as ``check_NAME`` or ``NAME``)."""
    rules = all_rules()
    name = grade_id.removeprefix("check_")
    return rules.get(f"check_{name}") or rules.get(name)


def exercise_rules(nb: Any) -> list[tuple[int, str]]:
    """``(index of the exercise's markdown cell, sentence)`` for each graded check cell: the
    markdown cell is the last one before the solution cell that precedes the check."""
    out = []
    for k, cell in enumerate(nb.cells):
        if not nbm.is_graded(cell):
            continue
        sol = next(
            (i for i in range(k - 1, -1, -1) if nbm.BEGIN_SOLUTION in nb.cells[i].source), None
        )
        if sol is None:
            continue
        md = next((i for i in range(sol - 1, -1, -1) if nb.cells[i].cell_type == "markdown"), None)
        rules = rules_for(nbm.grade_id(cell))
        if md is None or rules is None:
            continue
        out.append((md, describe(rules)))
    return out
