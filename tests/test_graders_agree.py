"""nbgrader (with the repository's nbgrader_config.py) and Gradescope's autograder score as
``./course grade`` does.

In a temporary nbgrader course directory, ``nbgrader generate_assignment`` releases every
notebook; its student copies must be the course's own release (sources and the
``raises-exception`` tags). Three submissions of the two quick graded notebooks (01 and 03) are
graded by ``nbgrader autograde`` and by the autograder zip's ``run_autograder`` in a folder laid
out as Gradescope lays it out, which runs ``python -m coursecnn grade``: a solved one (the
masters), a blank one (nbgrader's release) and a partly solved one, built from the release with
a stderr print and a warning in passing answers, a deleted check, an edited check, a wrong
answer and an unanswered exercise. Every check must score the same under the three graders.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import nbformat
import pytest

from coursecnn.grading import gradescope as gs
from coursecnn.grading import gradescope_build as gsb
from coursecnn.grading import notebook as nbm
from coursecnn.grading.release import RAISES, student_version

pytestmark = [pytest.mark.slow, pytest.mark.graders]

ROOT = Path(__file__).resolve().parents[1]
QUICK = ("01_convolution_math.ipynb", "03_pooling_and_activations.ipynb")
SUBMISSIONS = ("solved", "blank", "partly")
# What the partly solved submission passes (see partly_solved)
PARTLY_PASSES = {"check_conv2d_single", "check_convolve_true", "check_max_pool_forward",
                 "check_leaky_relu_grad"}  # fmt: skip


def env() -> dict[str, str]:
    """The environment nbgrader needs: this interpreter's bin on PATH (nbgrader runs alembic),
    this checkout first on the module path (nbgrader_config.py imports coursecnn)."""
    out = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_CORE_"))}
    out["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{out.get('PATH', '')}"
    out["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), out.get("PYTHONPATH")]))
    return out


def nbgrader(args: list[str], cwd: Path) -> str:
    """Run nbgrader; fail on a non-zero exit or any error it logged (a broken config file is only
    logged). Returns its log."""
    exe = Path(sys.executable).parent / "nbgrader"
    proc = subprocess.run([str(exe), *args], cwd=cwd, env=env(), capture_output=True, text=True)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "| ERROR]" not in log, log[-4000:]
    return log


def by_id(nb: Any, gid: str) -> Any:
    return next(c for c in nb.cells if nbm.grade_id(c) == gid)


def answer(master: Any, gid: str) -> str:
    """The master's answer as a student writes it: the marker lines left out."""
    lines = by_id(master, gid).source.split("\n")
    return "\n".join(ln for ln in lines if ln.strip() not in (nbm.BEGIN_SOLUTION, nbm.END_SOLUTION))


def partly_solved(master: Any, released: Any, name: str) -> Any:
    nb = copy.deepcopy(released)
    if name.startswith("01"):
        # right, and prints on stderr inside the check: only an error may cost points
        src = answer(master, "ex_conv2d_single")
        by_id(nb, "ex_conv2d_single").source = "import sys\n" + src.replace(
            "    kh, kw = kernel.shape",
            "    print('debug', file=sys.stderr)\n    kh, kw = kernel.shape",
        )
        by_id(nb, "ex_convolve_true").source = answer(master, "ex_convolve_true")
        nb.cells.remove(by_id(nb, "check_convolve_true"))  # its check deleted: put back
        by_id(nb, "check_conv2d_volume").source = "pass"  # unanswered, its check edited
        by_id(nb, "ex_output_size").source = (  # wrong: ignores stride, padding and dilation
            "def output_size(n, k, stride=1, padding=0, dilation=1):\n    return n - k + 1"
        )
    else:
        src = answer(master, "ex_max_pool_forward")  # right, and raises a warning
        by_id(nb, "ex_max_pool_forward").source = "import warnings\n" + src.replace(
            "    h_out =", "    warnings.warn('a note')\n    h_out =", 1
        )
        by_id(nb, "ex_leaky_relu_grad").source = answer(master, "ex_leaky_relu_grad")
        nb.cells.remove(by_id(nb, "check_leaky_relu_grad"))
        by_id(nb, "ex_stable_softmax").source = (  # wrong: overflows
            "def stable_softmax(z):\n    e = np.exp(z)\n    return e / e.sum(axis=-1, keepdims=True)"
        )
    return nb


# ---------------------------------------------------------------- nbgrader


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An nbgrader course directory with every notebook released as the assignment ``course``."""
    root = tmp_path_factory.mktemp("nbgrader")
    (root / "source" / "course").mkdir(parents=True)
    for path in nbm.notebook_paths(ROOT / "notebooks"):
        shutil.copy(path, root / "source" / "course" / path.name)
    shutil.copy(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    nbgrader(["generate_assignment", "course"], root)
    return root


@pytest.fixture(scope="module")
def submissions(course: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``{kind: folder}`` of the three submissions of notebooks 01 and 03."""
    base = tmp_path_factory.mktemp("submissions")
    for kind in SUBMISSIONS:
        for name in QUICK:
            master = nbm.read(ROOT / "notebooks" / name)
            released = nbm.read(course / "release" / "course" / name)
            nb = {"solved": master, "blank": released}.get(kind)
            if nb is None:
                nb = partly_solved(master, released, name)
            (base / kind).mkdir(exist_ok=True)
            nbformat.write(nb, base / kind / name)
    return {kind: base / kind for kind in SUBMISSIONS}


@pytest.fixture(scope="module")
def nbgrader_scores(course: Path, submissions: dict[str, Path]) -> dict[str, dict]:
    """``{kind: {notebook: {grade_id: (score, max_score)}}}`` from nbgrader autograde."""
    from nbgrader.api import Gradebook

    for kind, folder in submissions.items():
        shutil.copytree(folder, course / "submitted" / kind / "course")
    nbgrader(["autograde", "course"], course)
    out: dict[str, dict] = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for kind in SUBMISSIONS:
            for name in QUICK:
                nb = gb.find_submission_notebook(Path(name).stem, "course", kind)
                assert not [g.name for g in nb.grades if g.needs_manual_grade], (kind, name)
                out.setdefault(kind, {})[name] = {g.name: (g.score, g.max_score) for g in nb.grades}
    return out


def test_nbgrader_releases_every_notebook_as_the_course_does(course: Path) -> None:
    released = sorted(p.name for p in (course / "release" / "course").glob("*.ipynb"))
    assert released == [p.name for p in nbm.notebook_paths(ROOT / "notebooks")]
    for name in released:
        theirs = nbm.read(course / "release" / "course" / name)
        ours = student_version(nbm.read(ROOT / "notebooks" / name), name)
        assert [c.source for c in theirs.cells] == [c.source for c in ours.cells], name
        tags = [sorted(c.metadata.get("tags", [])) for c in theirs.cells]
        assert tags == [sorted(c.metadata.get("tags", [])) for c in ours.cells], name
        for cell in theirs.cells:  # Run All runs on past every cell that raises on a fresh copy
            if cell.cell_type == "code" and (nbm.is_solution(cell) or nbm.is_graded(cell)):
                assert RAISES in cell.metadata["tags"], (name, nbm.grade_id(cell))


# ---------------------------------------------------------------- Gradescope


def unzip(zip_path: Path, dest: Path) -> None:
    """Unpack as Gradescope does, keeping each file's mode."""
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            path = Path(zf.extract(info, dest))
            os.chmod(path, (info.external_attr >> 16) & 0o777)


@pytest.fixture(scope="module")
def gradescope(
    submissions: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[dict, dict]]:
    """``{kind: (results.json, the grader's scores.json)}``: run_autograder, in a folder laid out
    as Gradescope's /autograder, once per submission (the course's grading for every test)."""
    zip_path = tmp_path_factory.mktemp("zip") / "autograder.zip"
    gsb.build(zip_path, ROOT / "notebooks", ["01", "03"])
    out = {}
    for kind, folder in submissions.items():
        root = tmp_path_factory.mktemp(f"autograder-{kind}")
        unzip(zip_path, root / "source")
        shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
        # Uploads come as files, or as a folder (a zip Gradescope unpacked), with other files
        target = root / "submission" / ("my_course" if kind == "blank" else "")
        shutil.copytree(folder, target, dirs_exist_ok=True)
        (root / "submission" / "notes.txt").write_text("not a notebook")
        run_env = env() | {
            "COURSECNN_GRADESCOPE_ROOT": str(root),
            "COURSECNN_PYTHON": sys.executable,
        }
        proc = subprocess.run([str(root / "run_autograder")], cwd=root, env=run_env,
                              capture_output=True, text=True)  # fmt: skip
        assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
        results = json.loads((root / "results" / "results.json").read_text())
        scores = json.loads((root / "results" / "scores.json").read_text())
        out[kind] = (results, scores)
    return out


def test_gradescope_results_are_the_course_scores(gradescope: dict) -> None:
    for kind, (results, scores) in gradescope.items():
        expected = [
            (f"{nb}: {gid}", c["earned"], c["possible"], gs.safe_text(c["reason"]))
            for nb, checks in scores["notebooks"].items()
            for gid, c in checks.items()
        ]
        got = [(t["name"], t["score"], t["max_score"], t["output"]) for t in results["tests"]]
        assert got == expected, kind
        assert list(scores["notebooks"]) == list(QUICK)
        assert results["score"] == scores["total"]["earned"]
        where = "my_course/" if kind == "blank" else ""
        for name in QUICK:
            assert f"(graded {where}{name})" in results["output"], results["output"]
    assert gradescope["solved"][1]["total"] == {"earned": 17, "possible": 17}
    assert gradescope["blank"][1]["total"]["earned"] == 0


def test_nbgrader_scores_as_the_course(nbgrader_scores: dict, gradescope: dict) -> None:
    for kind in SUBMISSIONS:
        course = gradescope[kind][1]["notebooks"]
        for name in QUICK:
            ours = {
                gid: (float(c["earned"]), float(c["possible"])) for gid, c in course[name].items()
            }
            assert nbgrader_scores[kind][name] == ours, (kind, name)
    partly = gradescope["partly"][1]["notebooks"]
    passed = {gid for nb in partly.values() for gid, c in nb.items() if c["earned"] > 0}
    assert passed == PARTLY_PASSES
