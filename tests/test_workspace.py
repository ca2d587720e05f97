"""The student's path: the work folder that ``./course lab`` fills, ``fresh`` and ``check``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from coursecnn.grading import notebook as nbm
from coursecnn.grading import workspace

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def _masters(tmp_path: Path, names: list[str]) -> Path:
    folder = tmp_path / "masters"
    folder.mkdir()
    for name in names:
        shutil.copy(NOTEBOOKS / name, folder / name)
    return folder


def _solutions(nb) -> list[str]:
    return [c.source for c in nb.cells if nbm.nbgrader_meta(c).get("solution")]


def test_sync_releases_once_then_adds_only_new_notebooks(tmp_path):
    masters = _masters(tmp_path, ["00_start_here.ipynb", "01_convolution_math.ipynb"])
    work = tmp_path / "my_course"
    added, kept = workspace.sync(masters, work)
    assert [p.name for p in added] == ["00_start_here.ipynb", "01_convolution_math.ipynb"]
    assert kept == []
    student = nbm.read(work / "01_convolution_math.ipynb")
    assert all("raise NotImplementedError()" in s for s in _solutions(student))
    assert all(not getattr(c, "outputs", []) for c in student.cells)

    (work / "01_convolution_math.ipynb").write_text("my own work", encoding="utf-8")
    shutil.copy(NOTEBOOKS / "02_filters.ipynb", masters / "02_filters.ipynb")
    added, kept = workspace.sync(masters, work)
    assert [p.name for p in added] == ["02_filters.ipynb"]
    assert {p.name for p in kept} == {"00_start_here.ipynb", "01_convolution_math.ipynb"}
    assert (work / "01_convolution_math.ipynb").read_text(encoding="utf-8") == "my own work"

    with pytest.raises(ValueError, match="master folder"):
        workspace.sync(masters, masters)


def test_fresh_keeps_the_old_copy_and_leaves_the_others(tmp_path):
    masters = _masters(tmp_path, ["00_start_here.ipynb", "01_convolution_math.ipynb"])
    work = tmp_path / "my_course"
    workspace.sync(masters, work)
    (work / "00_start_here.ipynb").write_text("notes", encoding="utf-8")
    (work / "01_convolution_math.ipynb").write_text("half done", encoding="utf-8")
    new, old = workspace.fresh(masters, work, "01")
    assert new == work / "01_convolution_math.ipynb" and old is not None
    assert old.read_text(encoding="utf-8") == "half done" and old.name.endswith(".ipynb")
    assert "raise NotImplementedError()" in "".join(_solutions(nbm.read(new)))
    assert (work / "00_start_here.ipynb").read_text(encoding="utf-8") == "notes"
    for bad, message in (("0", "several"), ("99", "no notebook")):
        with pytest.raises(ValueError, match=message):
            workspace.fresh(masters, work, bad)


@pytest.mark.slow
def test_check_scores_a_fresh_release_zero_and_the_solved_copy_full(tmp_path, capsys):
    masters = _masters(tmp_path, ["01_convolution_math.ipynb"])
    work = tmp_path / "my_course"
    workspace.sync(masters, work)
    (result,) = workspace.check(work, masters)
    assert result.checks and result.earned == 0
    assert all("not yet answered" in c.reason for c in result.checks), result.checks
    out = capsys.readouterr().out
    assert "TOTAL  0 / " in out and "not yet answered" in out

    shutil.copy(masters / "01_convolution_math.ipynb", work / "01_convolution_math.ipynb")
    (result,) = workspace.check(work, masters, ["01"])
    assert result.earned == result.possible > 0, result.checks


def test_cli_says_where_the_work_lives(tmp_path):
    masters = _masters(tmp_path, ["00_start_here.ipynb"])
    work = tmp_path / "w"
    run = [sys.executable, "-m", "coursecnn", "workspace", "--master", str(masters)]
    out = subprocess.run([*run, "--work", str(work)], capture_output=True, text=True, check=True)
    assert f"your work lives in {work}" in out.stdout and "1 student notebooks" in out.stdout
    again = subprocess.run([*run, "--work", str(work)], capture_output=True, text=True, check=True)
    assert "none is new" in again.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "coursecnn", "check", "--work", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "./course lab" in bad.stderr
