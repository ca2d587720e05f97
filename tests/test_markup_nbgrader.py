"""The course's markup check refuses what nbgrader's generate_assignment refuses.

Each case is one broken cell in an otherwise good notebook. The course's ``validate`` must refuse
it, naming notebook and cell; nbgrader's own preprocessors (``generate_assignment``'s, run here in
this process) must refuse it too, or, where the course is stricter on purpose, accept it.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

from coursecnn.grading import MarkupError
from coursecnn.grading import notebook as nbm
from coursecnn.grading.release import RAISES, student_version

ROOT = Path(__file__).resolve().parents[1]


def meta(cell: Any, **fields: Any) -> Any:
    cell.metadata["nbgrader"] = {
        "grade": False,
        "solution": False,
        "locked": False,
        "schema_version": 3,
        **fields,
    }
    return cell


def solution(source: str, gid: str = "ex_f") -> Any:
    return meta(new_code_cell(source), solution=True, grade_id=gid)


def check(source: str, gid: str = "check_f", points: float = 1) -> Any:
    return meta(new_code_cell(source), grade=True, locked=True, grade_id=gid, points=points)


GOOD = "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n"


def good_notebook() -> Any:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "P"}
    nb.cells = [
        new_markdown_cell("# 01 · Tiny\nWrite `f`."),
        solution(GOOD),
        check("assert f(1) == 1"),
    ]
    return nb


def nbgrader_error(nb: Any) -> Exception | None:
    """What nbgrader's generate_assignment preprocessors raise on ``nb``, or None.

    The converter's list (nbgrader 0.9), less the steps that need a kernel, a database or files
    (InstantiateTests, SaveCells, IncludeHeaderFooter).
    """
    from nbgrader import preprocessors as pp

    nb = copy.deepcopy(nb)
    resources: dict[str, Any] = {}
    steps = [pp.LockCells, pp.ClearSolutions, pp.ClearOutput, pp.CheckCellMetadata,
             pp.ComputeChecksums, pp.ClearHiddenTests, pp.ClearMarkScheme, pp.ComputeChecksums,
             pp.CheckCellMetadata]  # fmt: skip
    try:
        for step in steps:
            nb, resources = step().preprocess(nb, resources)
    except Exception as err:  # noqa: BLE001 - any refusal counts; the test prints which
        return err
    return None


def with_cell(cell: Any) -> Any:
    nb = good_notebook()
    cell.id = "broken-cell"
    nb.cells.insert(1, cell)
    return nb


# (cell, words in the course's refusal, whether nbgrader refuses it too)
CASES = {
    "prose quoting both markers": (
        new_markdown_cell("Code goes between `### BEGIN SOLUTION` and `### END SOLUTION`."),
        "markdown cell",
        True,
    ),
    "prose quoting them on two lines": (
        new_markdown_cell("Starts at `### BEGIN SOLUTION`,\nends at `### END SOLUTION`."),
        "markdown cell",
        True,
    ),
    "a region in a markdown cell": (
        new_markdown_cell("### BEGIN SOLUTION\nanswer\n### END SOLUTION"),
        "markdown cell",
        True,
    ),
    "a raw cell naming a marker": (new_raw_cell("BEGIN SOLUTION"), "raw cell", True),
    "both markers on one line": (
        solution("### BEGIN SOLUTION ### END SOLUTION\nx = 1"),
        "on one line",
        True,
    ),
    "a region never closed": (solution("### BEGIN SOLUTION\nx = 1"), "never closed", True),
    "nested regions": (
        solution("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n### END SOLUTION"),
        "inside the region",
        True,
    ),
    "a region outside a solution cell": (
        new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION"),
        "not a solution cell",
        True,
    ),
    "unclosed hidden tests in a check": (
        check("### BEGIN HIDDEN TESTS\nassert f(2) == 2", gid="check_g"),
        "hidden tests",
        True,
    ),
    "an old schema version": (
        meta(new_code_cell("x = 1"), schema_version=2),
        "schema_version",
        True,
    ),
    "an unknown metadata key": (meta(new_code_cell("x = 1"), colour="red"), "unknown keys", True),
    "a check without points": (
        meta(new_code_cell("pass"), grade=True, locked=True, grade_id="check_g"),
        "points",
        True,
    ),
    "negative points": (check("pass", gid="check_g", points=-1), "points", True),
    "a grade_id with a space": (check("pass", gid="check g"), "grade_id", True),
    "a solution cell without grade_id": (
        meta(new_code_cell(GOOD.replace("f(", "g(")), solution=True),
        "without nbgrader.grade_id",
        True,
    ),
    "grade not a boolean": (meta(new_code_cell("x = 1"), grade="yes"), "nbgrader.grade", True),
    "a grade_id used twice": (check("pass", gid="check_f"), "already used", True),
    # Stricter than nbgrader, because the course would release or grade these otherwise:
    "prose quoting the end marker alone": (
        new_markdown_cell("It ends at `### END SOLUTION`."),
        "markdown cell",
        False,
    ),
    "a marker with code before it": (
        solution("x = 1  # BEGIN SOLUTION\ny = 2\n### END SOLUTION", gid="ex_g"),
        "holds 'BEGIN SOLUTION'",
        False,
    ),
    "a graded markdown answer": (
        meta(new_markdown_cell("answer"), grade=True, solution=True, grade_id="ans", points=1),
        "solution markdown cell",
        False,
    ),
    "a graded cell left unlocked": (
        meta(new_code_cell("pass"), grade=True, grade_id="check_g", points=1),
        "locked false",
        False,
    ),
    "a task cell": (
        meta(new_markdown_cell("Explain."), task=True, grade_id="task", points=1),
        "task cell",
        False,
    ),
    "closed hidden tests in a check": (
        check("### BEGIN HIDDEN TESTS\nassert f(2) == 2\n### END HIDDEN TESTS", gid="check_g"),
        "hidden tests",
        False,
    ),
}


def test_the_good_notebook_passes_both() -> None:
    nbm.validate(good_notebook(), "01_tiny.ipynb")
    assert nbgrader_error(good_notebook()) is None


@pytest.mark.parametrize("case", CASES)
def test_refused_as_nbgrader_refuses(case: str) -> None:
    cell, words, nbgrader_refuses = CASES[case]
    nb = with_cell(copy.deepcopy(cell))
    with pytest.raises(MarkupError, match=words) as err:
        nbm.validate(nb, "01_tiny.ipynb")
    where = "cell 1 (id 'broken-cell')" if case != "a grade_id used twice" else "cell 3"
    assert f"01_tiny.ipynb: {where}" in str(err.value)
    error = nbgrader_error(nb)
    if nbgrader_refuses:
        assert error is not None, "nbgrader accepts what the course refuses"
    else:  # the course is stricter here on purpose
        assert error is None, f"nbgrader refuses it too ({error!r}): move the case up"


def test_autotest_is_refused() -> None:
    """nbgrader would start a kernel and look for autotests.yml (not run here)."""
    nb = with_cell(new_code_cell("# AUTOTEST f(1)"))
    with pytest.raises(MarkupError, match="AUTOTEST"):
        nbm.validate(nb, "01_tiny.ipynb")


def test_every_master_passes_both() -> None:
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        nbm.validate(nb, path.name)
        error = nbgrader_error(nb)
        assert error is None, f"{path.name}: {error!r}"


def test_release_clears_solutions_as_nbgrader_does() -> None:
    """Solution regions become the same stub in both, and the same cells are tagged."""
    from nbgrader.preprocessors import ClearSolutions

    from coursecnn.grading.nbgrader_tags import RaisesExceptionTags

    nb = good_notebook()
    two = "a = 0\n    ### BEGIN SOLUTION\n    a = 1\n    ### END SOLUTION\nb = a\n"
    nb.cells.insert(1, solution(two, "ex_two"))
    ours = student_version(nb, "01_tiny.ipynb")
    theirs, _ = ClearSolutions().preprocess(copy.deepcopy(nb), {})
    theirs, _ = RaisesExceptionTags().preprocess(theirs, {})
    assert [c.source for c in ours.cells] == [c.source for c in theirs.cells]
    assert [c.metadata.get("tags") for c in ours.cells] == [
        c.metadata.get("tags") for c in theirs.cells
    ]
    assert (
        ours.cells[1].source
        == "a = 0\n    # YOUR CODE HERE\n    raise NotImplementedError()\nb = a\n"
    )
    assert RAISES in ours.cells[1].metadata["tags"]


def test_the_nbgrader_config_loads_and_leaves_the_environment_alone() -> None:
    """nbgrader's JupyterLab extensions read it too: it must not change what kernels inherit."""
    from traitlets.config import Config

    from coursecnn.grading.nbgrader_tags import RaisesExceptionTags

    path = ROOT / "nbgrader_config.py"
    config, before = Config(), dict(os.environ)
    exec(compile(path.read_text(), str(path), "exec"), {"get_config": lambda: config})
    assert dict(os.environ) == before
    assert config.GenerateAssignment.preprocessors[-1] is RaisesExceptionTags
    assert config.Execute.timeout == 120 and config.OverwriteCells.add_missing_cells is True
