"""Release and grade on tiny synthetic notebooks built here (coursecnn.grading)."""

from __future__ import annotations

import copy
import csv
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from coursecnn.__main__ import main as cli
from coursecnn.grading import MarkupError
from coursecnn.grading import notebook as nbm
from coursecnn.grading.grade import (
    grade,
    restore_locked,
)
from coursecnn.grading.release import RAISES, release, student_version

TIMEOUT = 5  # seconds a cell may run in these tests


def solution(gid: str, source: str) -> nbformat.NotebookNode:
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {
        "grade": False,
        "solution": True,
        "locked": False,
        "grade_id": gid,
        "schema_version": 3,
    }
    return cell


def check(gid: str, source: str, points: float) -> nbformat.NotebookNode:
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {
        "grade": True,
        "solution": False,
        "locked": True,
        "grade_id": gid,
        "points": points,
        "schema_version": 3,
    }
    return cell


def exercise(name: str, body: str, test: str, points: float) -> list[nbformat.NotebookNode]:
    """A solution cell defining ``name`` (body between markers) and its check cell."""
    src = f"def {name}(a, b):\n    ### BEGIN SOLUTION\n{body}\n    ### END SOLUTION\n"
    return [solution(f"ex_{name}", src), check(f"check_{name}", test, points)]


def master_a() -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.cells = [
        new_markdown_cell("# 01 · Tiny\nWrite each function in the solution cell below its text."),
        new_code_cell("import math"),
        *exercise("add", "    return a + b", "assert add(2, 3) == 5, 'add(2, 3) should be 5'", 2),
        *exercise("mul", "    return a * b", "assert mul(2, 3) == 6, 'mul(2, 3) should be 6'", 3),
        *exercise("sub", "    return a - b", "assert sub(5, 3) == 2, 'sub(5, 3) should be 2'", 1),
        new_markdown_cell("## Summary"),
    ]
    return nb


def master_b() -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.cells = [
        *exercise("pow_", "    return a**b", "assert pow_(2, 3) == 8", 1),
        *exercise("div", "    return a / b", "assert div(6, 3) == 2", 1),
        *exercise("mod", "    return a % b", "assert mod(7, 3) == 1", 4),
    ]
    return nb


def master_c() -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.cells = exercise("mod", "    return a % b", "assert mod(7, 3) == 1", 4)
    return nb


def write(nb: nbformat.NotebookNode, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def cell_by_id(nb: nbformat.NotebookNode, gid: str) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if nbm.grade_id(c) == gid)


# ------------------------------------------------------------------------- markup and release


def test_strip_solutions_keeps_indentation_and_surroundings() -> None:
    src = (
        "import numpy as np\n"
        "def f(x):\n"
        '    """Doc."""\n'
        "    ### BEGIN SOLUTION\n"
        "    y = x + 1\n"
        "    return y\n"
        "    ### END SOLUTION\n"
        "\n"
        "### BEGIN SOLUTION\n"
        "z = 3\n"
        "### END SOLUTION\n"
        "print(z)"
    )
    out = nbm.strip_solutions(src)
    assert out == (
        "import numpy as np\n"
        "def f(x):\n"
        '    """Doc."""\n'
        "    # YOUR CODE HERE\n"
        "    raise NotImplementedError()\n"
        "\n"
        "# YOUR CODE HERE\n"
        "raise NotImplementedError()\n"
        "print(z)"
    )
    compile(out, "cell", "exec")  # still valid Python
    assert nbm.strip_solutions("x = 1\n") == "x = 1\n"


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("### BEGIN SOLUTION\nx = 1", "never closed"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "inside the region"),
        ("x = 1\n### END SOLUTION", "without a"),
    ],
)
def test_solution_regions_refuses_bad_markers(source: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        nbm.solution_regions(source)


def test_release_writes_student_versions(tmp_path: Path) -> None:
    nb = master_a()
    code = nb.cells[1]
    code.execution_count = 3
    code.outputs = [new_output("stream", name="stdout", text="hi\n")]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    write(nb, tmp_path / "src" / "01_tiny.ipynb")
    plain = new_notebook(cells=[new_code_cell("print(1)", execution_count=1)])
    write(plain, tmp_path / "src" / "00_intro.ipynb")

    written = release(tmp_path / "src", tmp_path / "out")
    assert [p.name for p in written] == ["00_intro.ipynb", "01_tiny.ipynb"]
    student = nbformat.read(str(tmp_path / "out" / "01_tiny.ipynb"), as_version=4)
    assert "widgets" not in student.metadata
    assert [c.id for c in student.cells] == [c.id for c in nb.cells]
    # Solution and check cells raise on a fresh release: tagged, so that Run All runs on.
    tagged = {nbm.grade_id(c) for c in student.cells if c.metadata.get("tags") == [RAISES]}
    assert tagged == {
        f"{kind}_{name}" for kind in ("ex", "check") for name in ("add", "mul", "sub")
    }
    for mine, theirs in zip(student.cells, nb.cells, strict=True):
        assert {k: v for k, v in mine.metadata.items() if k != "tags"} == theirs.metadata
    assert not any("tags" in c.metadata for c in nb.cells)  # the master is left untagged
    assert student.cells[0].source == nb.cells[0].source  # prose is left as it is
    for cell in student.cells:
        assert "return" not in cell.source
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert cell_by_id(student, "ex_add").source == (
        "def add(a, b):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"
    )
    assert cell_by_id(student, "check_add").source == cell_by_id(nb, "check_add").source
    again = nbformat.read(str(tmp_path / "out" / "00_intro.ipynb"), as_version=4)
    assert again.cells[0].execution_count is None

    first = (tmp_path / "out" / "01_tiny.ipynb").read_bytes()
    release(tmp_path / "src", tmp_path / "out")  # deterministic, and no temporary left over
    assert (tmp_path / "out" / "01_tiny.ipynb").read_bytes() == first
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "00_intro.ipynb",
        "01_tiny.ipynb",
    ]


def test_release_tag_joins_existing_tags_once() -> None:
    nb = master_a()
    cell_by_id(nb, "ex_add").metadata["tags"] = ["keep"]
    cell_by_id(nb, "check_mul").metadata["tags"] = [RAISES]
    student = student_version(nb, "a")
    assert cell_by_id(student, "ex_add").metadata["tags"] == ["keep", RAISES]
    assert cell_by_id(student, "check_mul").metadata["tags"] == [RAISES]
    assert "tags" not in student.cells[1].metadata  # `import math` raises nothing
    assert cell_by_id(nb, "ex_add").metadata["tags"] == ["keep"]


@pytest.mark.parametrize(
    ("broken", "words"),
    [
        (new_markdown_cell("### BEGIN SOLUTION\nanswer\n### END SOLUTION"), "markdown cell"),
        (new_code_cell("### BEGIN SOLUTION\nx = 1"), "never closed"),
        (new_code_cell("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION"), "inside"),
    ],
)
def test_release_refuses_bad_markup_naming_notebook_and_cell(
    tmp_path: Path, broken: nbformat.NotebookNode, words: str
) -> None:
    nb = master_a()
    broken.id = "broken-cell"
    nb.cells.insert(2, broken)
    write(nb, tmp_path / "src" / "02_bad.ipynb")
    write(master_c(), tmp_path / "src" / "01_fine.ipynb")
    with pytest.raises(MarkupError, match=words) as err:
        release(tmp_path / "src", tmp_path / "out")
    assert "02_bad.ipynb: cell 2 (id 'broken-cell')" in str(err.value)
    assert not (tmp_path / "out" / "01_fine.ipynb").exists()  # nothing written

    code = cli(["release", str(tmp_path / "src"), "--out", str(tmp_path / "out")])
    assert code == 1


def test_release_refuses_duplicate_grade_id_and_own_folder(tmp_path: Path) -> None:
    nb = master_a()
    nb.cells.append(check("check_add", "pass", 1))
    with pytest.raises(MarkupError, match="grade_id 'check_add' already used by cell 3"):
        student_version(nb, "x.ipynb")
    write(master_a(), tmp_path / "01.ipynb")
    with pytest.raises(ValueError, match="source folder"):
        release(tmp_path, tmp_path)


# ------------------------------------------------------------------ restoring the locked cells


def test_restore_locked_puts_back_edited_deleted_and_duplicated_checks() -> None:
    master = master_a()
    sub = student_version(master, "a")
    cell_by_id(sub, "check_mul").source = "pass"  # edited check
    sub.cells = [c for c in sub.cells if nbm.grade_id(c) != "check_sub"]  # deleted check
    dup = check("check_add", "print('mine')", 99)  # a copy of a check, edited
    sub.cells.append(dup)
    sub.cells.append(new_code_cell("extra = 1"))

    cell_by_id(sub, "check_add").source = (
        "# NBVAL_RAISES_EXCEPTION\n" + cell_by_id(sub, "check_add").source
    )

    nb, notes = restore_locked(master, sub)
    assert cell_by_id(nb, "check_mul").source == cell_by_id(master, "check_mul").source
    # The release tagged the checks raises-exception (nbval then lets them fail); the restored
    # cells are the master's, metadata and source: untagged, so a failing check fails.
    assert cell_by_id(sub, "check_mul").metadata["tags"] == [RAISES]
    for gid in ("check_add", "check_mul", "check_sub"):
        assert cell_by_id(nb, gid) == cell_by_id(master, gid)
    ids = [nbm.grade_id(c) for c in nb.cells]
    assert ids.index("check_sub") == ids.index("ex_sub") + 1  # back in its place
    assert ids.count("check_add") == 1 and "nbgrader" not in nb.cells[-2].metadata
    assert notes == ["locked cell 'check_sub' was missing and was put back"]
    assert len({c.id for c in nb.cells}) == len(nb.cells)


# ------------------------------------------------------------------ grading (runs kernels)


def test_grade_master_full_and_released_zero(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    write(master_a(), tmp_path / "master" / "01_tiny.ipynb")
    write(new_notebook(cells=[new_code_cell("1 / 0")]), tmp_path / "master" / "00_plain.ipynb")

    code = cli(
        ["grade", str(tmp_path / "master"), "--master", str(tmp_path / "master"),
         "--out", str(tmp_path / "full"), "--timeout", str(TIMEOUT)]
    )  # fmt: skip
    assert code == 0
    shown = capsys.readouterr().out
    assert "01_tiny.ipynb" in shown and "00_plain" not in shown
    assert "TOTAL  6 / 6" in shown
    scores = json.loads((tmp_path / "full" / "scores.json").read_text())
    assert scores["total"] == {"earned": 6, "possible": 6}
    assert scores["notebooks"]["01_tiny.ipynb"]["check_mul"] == {
        "earned": 3,
        "possible": 3,
        "reason": "passed",
    }

    release(tmp_path / "master", tmp_path / "student")
    student = nbformat.read(str(tmp_path / "student" / "01_tiny.ipynb"), as_version=4)
    assert cell_by_id(student, "check_add").metadata["tags"] == [RAISES]
    # A student who also tags the checks, in metadata and in source, and answers one wrongly.
    cheat = copy.deepcopy(student)
    for cell in cheat.cells:
        if nbm.is_graded(cell):
            cell.metadata["tags"] = [RAISES]
            cell.source = "# NBVAL_RAISES_EXCEPTION\n" + cell.source
    cell_by_id(cheat, "ex_mul").source = "def mul(a, b):\n    return a + b"
    write(cheat, tmp_path / "cheat" / "01_tiny.ipynb")
    # Graded against itself (its tagged checks "restored"), the release still scores nothing:
    # the checks decide in the grader, where no tag excuses a failure.
    write(student, tmp_path / "self" / "01_tiny.ipynb")

    results = grade(tmp_path / "student", tmp_path / "master", timeout=TIMEOUT, echo=False)
    assert [(c.grade_id, c.earned) for c in results[0].checks] == [
        ("check_add", 0),
        ("check_mul", 0),
        ("check_sub", 0),
    ]
    assert "NotImplementedError" in results[0].checks[0].reason
    assert (tmp_path / "student" / "scores.json").exists()  # --out defaults to the submissions
    # Only the checks fail; the tagged solution cells pass nbval: Run All would reach the end.
    code = [c for c in student.cells if c.cell_type == "code"]
    assert {k for k, o in results[0].cells.items() if o.status != "passed"} == {
        k for k, c in enumerate(code) if nbm.is_graded(c)
    }
    cheated = grade(tmp_path / "cheat", tmp_path / "master", timeout=TIMEOUT, echo=False)
    assert [c.earned for c in cheated[0].checks] == [0, 0, 0]
    assert "mul(2, 3) should be 6" in cheated[0].checks[1].reason
    itself = grade(tmp_path / "self", tmp_path / "self", timeout=TIMEOUT, echo=False)
    assert [c.earned for c in itself[0].checks] == [0, 0, 0]


def test_grade_survives_loops_crashes_broken_and_missing_notebooks(tmp_path: Path) -> None:
    master, sub = tmp_path / "master", tmp_path / "submitted"
    for name, nb in [("a", master_a()), ("b", master_b())]:
        write(nb, master / f"{name}.ipynb")
    write(master_c(), master / "d.ipynb")
    write(master_c(), master / "e.ipynb")

    a = student_version(master_a(), "a")
    cell_by_id(a, "ex_add").source = "def add(a, b):\n    return a + b"
    cell_by_id(a, "ex_mul").source = "def mul(a, b):\n    return a + b"  # wrong
    cell_by_id(a, "check_mul").source = "pass"  # edited check: put back, still fails
    cell_by_id(a, "ex_sub").source = "def sub(a, b):\n    return a - b"
    a.cells = [c for c in a.cells if nbm.grade_id(c) != "check_sub"]  # deleted: put back
    write(a, sub / "a.ipynb")
    b = master_b()
    cell_by_id(b, "ex_pow_").source = "def pow_(a, b):\n    while True:\n        pass"
    cell_by_id(b, "ex_mod").source = "import os\nos._exit(1)"  # the kernel crashes
    write(b, sub / "b.ipynb")
    (sub / "d.ipynb").write_text('{"cells": [', encoding="utf-8")  # not valid JSON
    write(master_c(), sub / "E_renamed.ipynb")
    (sub / "conftest.py").write_text("raise SystemExit('must not be loaded')\n")

    results = {r.name: r for r in grade(sub, master, tmp_path / "out", timeout=TIMEOUT, jobs=2)}
    got = {(nb, c.grade_id): (c.earned, c.reason) for nb, r in results.items() for c in r.checks}
    assert got[("a.ipynb", "check_add")] == (2, "passed")
    assert got[("a.ipynb", "check_mul")][0] == 0
    assert "mul(2, 3) should be 6" in got[("a.ipynb", "check_mul")][1]
    assert got[("a.ipynb", "check_sub")] == (
        1,
        "passed (the cell had been deleted and was put back)",
    )
    assert got[("b.ipynb", "check_pow_")] == (0, f"timed out after {TIMEOUT} s")
    assert got[("b.ipynb", "check_div")] == (1, "passed")  # the loop was interrupted
    assert got[("b.ipynb", "check_mod")][0] == 0
    assert "the kernel had died" in got[("b.ipynb", "check_mod")][1]
    assert got[("d.ipynb", "check_mod")][0] == 0
    assert "not a valid notebook" in got[("d.ipynb", "check_mod")][1]
    assert got[("e.ipynb", "check_mod")] == (0, "missing notebook e.ipynb")

    scores = json.loads((tmp_path / "out" / "scores.json").read_text())
    assert scores["total"] == {"earned": 4, "possible": 20}
    rows = list(csv.DictReader((tmp_path / "out" / "scores.csv").open()))
    assert len(rows) == 8 and rows[0]["notebook"] == "a.ipynb"
    assert rows[0]["grade_id"] == "check_add" and rows[0]["earned"] == "2"
    suites = ET.parse(tmp_path / "out" / "scores.xml").getroot().findall("testsuite")
    assert [s.get("name") for s in suites] == [f"{n}.ipynb" for n in "abde"]
    mul = suites[0].find("testcase[@name='check_mul']")
    assert mul is not None and mul.find("failure") is not None


def test_notebooks_graded_side_by_side_share_the_cores(tmp_path: Path, monkeypatch) -> None:
    """With jobs=2 each kernel gets cores // 2 torch threads (COURSECNN_THREADS), not every core;
    the kernel sees it, the check (which runs in the grader) reads what the kernel saw."""
    import coursecnn.train.seed as seed_mod

    monkeypatch.delenv("COURSECNN_THREADS", raising=False)
    monkeypatch.setattr(seed_mod, "available_cpus", lambda: 4)
    for name in ("01_a.ipynb", "02_b.ipynb"):
        nb = new_notebook()
        nb.cells = [
            new_code_cell("import os\nTHREADS = os.environ.get('COURSECNN_THREADS')"),
            check(f"check_{name[:2]}", "assert THREADS == '2', THREADS", 1),
        ]
        write(nb, tmp_path / "master" / name)
    results = grade(tmp_path / "master", tmp_path / "master", tmp_path / "out", echo=False, jobs=2)
    assert [r.earned for r in results] == [1, 1], [c.reason for r in results for c in r.checks]
