"""Write into each exercise's text what its check rules out, as the checker declares it.

    python scripts/rules_text.py [NOTEBOOK ...]

For every graded check cell, the rules declared for it in ``coursecnn.checks`` (``declare``) are
described by ``coursecnn.checks._guard.describe``; that sentence replaces (or is appended as) the
line starting ``*Ruled out here`` in the last markdown cell before the exercise's solution cell.
Idempotent; only markdown changes, so no output needs regenerating.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coursecnn.checks.rules import exercise_rules  # noqa: E402
from coursecnn.grading import notebook as nbm  # noqa: E402

PREFIX = "*Ruled out here"


def update(path: Path) -> int:
    nb = nbm.read(path)
    changed = 0
    for md_index, sentence in exercise_rules(nb):
        cell = nb.cells[md_index]
        lines = [ln for ln in cell.source.split("\n") if not ln.startswith(PREFIX)]
        while lines and not lines[-1].strip():
            lines.pop()
        new = "\n".join([*lines, "", sentence]) if sentence else "\n".join(lines)
        if new != cell.source:
            cell.source = new
            changed += 1
    if changed:
        nbm.write_atomic(nb, path)
    return changed


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    for path in paths:
        print(f"{path.name}: {update(path)} exercise text(s) updated")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
