"""The students' repository (``./course release --repo DIR``): no solutions, and lab and check work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from coursecnn.__main__ import main as cli
from coursecnn.grading import notebook as nbm
from coursecnn.grading.release import student_version
from coursecnn.grading.student_repo import blank_master, build_student_repo

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
MASTERS = sorted(NOTEBOOKS.glob("*.ipynb"))


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("built") / "student"
    build_student_repo(dest, root=ROOT)
    return dest


def _solution_lines() -> dict[str, str]:
    """``{line: notebook}``: the stripped lines longer than 25 characters inside the masters'
    solution regions, but those the package's own (public) source holds too."""
    lines: dict[str, str] = {}
    for path in MASTERS:
        for cell in nbm.read(path).cells:
            if cell.cell_type != "code":
                continue
            source = cell.source.splitlines()
            for begin, end in nbm.solution_regions(cell.source):
                for line in source[begin + 1 : end]:
                    if len(line.strip()) > 25:
                        lines.setdefault(line.strip(), path.name)
    package = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "coursecnn").rglob("*.py"))
    return {line: nb for line, nb in lines.items() if line not in package}


def test_the_repository_holds_no_solution_text(repo):
    secret = _solution_lines()
    assert len(secret) > 100  # the masters' answers, beyond what the package teaches anyway
    names = {p.name for p in repo.iterdir()}
    assert names == {
        "coursecnn", "data", "notebooks", "README.md", "pyproject.toml", "environment.yml",
        "course", "LICENSE", ".gitignore",
    }  # fmt: skip
    assert os.access(repo / "course", os.X_OK)
    files = [p for p in repo.rglob("*") if p.is_file()]
    assert len(files) > 100
    leaks = []
    for path in files:
        data = path.read_bytes()
        leaks += [(path, line) for line in secret if line.encode() in data]
    assert leaks == []
    # the same search finds them where they are
    found = {nb for line, nb in secret.items() for p in MASTERS if line.encode() in p.read_bytes()}
    assert found == {nb for nb in secret.values()}


def test_blank_solutions_keeps_markers_and_indentation():
    src = (
        "def f(x):\n"
        "    ### BEGIN SOLUTION\n"
        "    return x + 1\n"
        "    ### END SOLUTION\n"
        "\n"
        "### BEGIN SOLUTION\n"
        "z = 3\n"
        "w = 4\n"
        "### END SOLUTION\n"
        "print(z)"
    )
    out = nbm.blank_solutions(src)
    assert out == (
        "def f(x):\n"
        "    ### BEGIN SOLUTION\n"
        "    # YOUR CODE HERE\n"
        "    raise NotImplementedError()\n"
        "    ### END SOLUTION\n"
        "\n"
        "### BEGIN SOLUTION\n"
        "# YOUR CODE HERE\n"
        "raise NotImplementedError()\n"
        "### END SOLUTION\n"
        "print(z)"
    )
    assert nbm.strip_solutions(out) == nbm.strip_solutions(src)
    assert nbm.blank_solutions(out) == out
    assert nbm.blank_solutions("x = 1\n") == "x = 1\n"


def test_its_notebooks_release_as_the_masters_do_and_release_is_idempotent(repo):
    for path in MASTERS:
        master = nbm.read(path)
        blank = nbm.read(repo / "notebooks" / path.name)
        assert blank == blank_master(master, path.name)
        released = student_version(master, path.name)
        assert student_version(blank, path.name) == released
        assert student_version(released, path.name) == released  # stubs stay stubs
        graded = [(nbm.grade_id(c), nbm.points(c)) for _, c in nbm.graded_cells(master)]
        assert [(nbm.grade_id(c), nbm.points(c)) for _, c in nbm.graded_cells(blank)] == graded
        # check cells as the masters have them: a failing check fails (no raises-exception tag)
        for (_, m), (_, b) in zip(nbm.graded_cells(master), nbm.graded_cells(blank), strict=True):
            assert b.source == m.source and b.metadata == m.metadata


def _run(repo: Path, code: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_CORE_"))}
    env.update(PYTHONPATH=str(repo), COURSECNN_THREADS="1", OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=repo, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.slow
def test_lab_and_check_work_from_the_repository_alone(repo):
    """In the students' repository, with its own package: the work folder gets the student
    versions, and notebook 01 scores 0 blank and full once solved."""
    out = _run(
        repo,
        "import coursecnn, sys\n"
        "from coursecnn.__main__ import main\n"
        "print(coursecnn.__file__)\n"
        "sys.exit(main(['workspace', '--master', 'notebooks', '--work', 'my_course']))\n",
    )
    assert out.splitlines()[0] == str(repo / "coursecnn" / "__init__.py")
    for path in MASTERS:
        copy = nbm.read(repo / "my_course" / path.name)
        assert copy == student_version(nbm.read(path), path.name)

    # notebook 01 as released there (blank), and with the master's answers put in (solved)
    name = "01_convolution_math.ipynb"
    master = nbm.read(NOTEBOOKS / name)
    solved = nbm.read(repo / "my_course" / name)
    answers = {nbm.grade_id(c): c.source for c in master.cells if nbm.BEGIN_SOLUTION in c.source}
    for cell in solved.cells:
        if nbm.grade_id(cell) in answers:
            cell.source = answers[nbm.grade_id(cell)]
    (repo / "solved").mkdir()
    nbm.write_atomic(solved, repo / "solved" / name)
    out = _run(
        repo,
        "import json\n"
        "from coursecnn.grading import workspace\n"
        "for work in ('my_course', 'solved'):\n"
        "    (r,) = workspace.check(work, 'notebooks', ['01'], timeout=120, echo=False)\n"
        "    print(json.dumps([[c.grade_id, c.earned, c.possible, c.reason] for c in r.checks]))\n",
    )
    blank, full = (json.loads(line) for line in out.splitlines()[-2:])
    assert [c[0] for c in blank] == [nbm.grade_id(c) for _, c in nbm.graded_cells(master)]
    assert all(c[1] == 0 and "not yet answered" in c[3] for c in blank), blank
    assert [c[0] for c in full] == [c[0] for c in blank]
    assert all(c[1] == c[2] > 0 for c in full), full


def test_refusals_write_nothing(tmp_path):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ValueError, match=f"repo: {taken} exists and is not empty"):
        build_student_repo(taken, root=ROOT)
    assert [p.name for p in taken.iterdir()] == ["notes.txt"]
    with pytest.raises(ValueError, match="repo: expected a new or empty folder, got the file"):
        build_student_repo(taken / "notes.txt", root=ROOT)
    with pytest.raises(ValueError, match="lies in"):
        build_student_repo(ROOT / "coursecnn" / "student", root=ROOT)
    assert not (ROOT / "coursecnn" / "student").exists()

    broken = tmp_path / "masters"
    broken.mkdir()
    nb = nbm.read(MASTERS[1])
    nb.cells[0].cell_type = "code"
    nb.cells[0].source = "### BEGIN SOLUTION\nx = 1\n"  # never closed
    nb.cells[0].outputs, nb.cells[0].execution_count = [], None
    nbm.write_atomic(nb, broken / MASTERS[1].name)
    with pytest.raises(nbm.MarkupError, match="never closed"):
        build_student_repo(tmp_path / "out", master=broken, root=ROOT)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["masters", "taken"]


def test_cli_release_repo(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()  # an empty folder is taken
    assert cli(["release", str(NOTEBOOKS), "--repo", str(empty)]) == 0
    assert len(list((empty / "notebooks").glob("*.ipynb"))) == len(MASTERS)
    assert "no solutions" in capsys.readouterr().out
    assert cli(["release", str(NOTEBOOKS), "--repo", str(empty)]) == 1
    assert "release refused: repo:" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli(["release", "--out", str(tmp_path / "a"), "--repo", str(tmp_path / "b")])
    assert "not allowed with argument" in capsys.readouterr().err


def test_instructor_commands_say_why_they_are_missing(repo):
    for cmd in ("test", "regen"):
        proc = subprocess.run(["bash", str(repo / "course"), cmd], capture_output=True, text=True)
        assert proc.returncode == 2 and "students' repository" in proc.stderr
