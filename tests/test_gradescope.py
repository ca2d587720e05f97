"""Gradescope's autograder: the zip, the submission's notebooks, and results.json (no kernels).

tests/test_graders_agree.py runs the autograder on real submissions.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from coursecnn.__main__ import main as cli
from coursecnn.grading import gradescope as gs
from coursecnn.grading import gradescope_build as gsb
from coursecnn.grading import notebook as nbm

ROOT = Path(__file__).resolve().parents[1]
WANTED = {"01_a.ipynb", "03_b.ipynb", "05_c.ipynb"}


def touch(path: Path, text: str = "{}") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# ------------------------------------------------------------------ the submission's notebooks


def test_collect_takes_notebooks_from_subfolders_and_refuses_links(tmp_path: Path) -> None:
    sub = tmp_path / "submission"
    touch(sub / "01_a.ipynb")
    touch(sub / "my_course" / "deeper" / "03_b.ipynb")
    touch(sub / "notes.txt")
    touch(sub / ".ipynb_checkpoints" / "05_c.ipynb")  # hidden folders are not searched
    touch(sub / "01_a-checkpoint.ipynb")
    outside = touch(tmp_path / "elsewhere" / "05_c.ipynb")
    os.symlink(outside, sub / "05_c.ipynb")
    os.symlink(outside.parent, sub / "linked")

    found = gs.collect(sub, WANTED)
    assert found.notebooks == {
        "01_a.ipynb": Path("01_a.ipynb"),
        "03_b.ipynb": Path("my_course/deeper/03_b.ipynb"),
    }
    assert "05_c.ipynb is not a regular file" in found.refused["05_c.ipynb"]
    assert any(n.startswith("linked/: a symbolic link") for n in found.notes)


def test_collect_refuses_a_notebook_found_twice(tmp_path: Path) -> None:
    sub = tmp_path / "submission"
    touch(sub / "a" / "01_a.ipynb")
    touch(sub / "b" / "01_a.ipynb")
    touch(sub / "03_b.ipynb")
    found = gs.collect(sub, WANTED)
    assert list(found.notebooks) == ["03_b.ipynb"]
    assert found.refused["01_a.ipynb"] == (
        "submitted 2 times (a/01_a.ipynb, b/01_a.ipynb); upload one copy"
    )
    assert gs.collect(tmp_path / "absent", WANTED).notes == [
        f"no submission folder {tmp_path / 'absent'}"
    ]


# ------------------------------------------------------------------ results.json


def scores_json() -> dict:
    return {
        "total": {"earned": 3, "possible": 6},
        "notebooks": {
            "01_a.ipynb": {
                "check_x": {"earned": 2, "possible": 2, "reason": "passed"},
                "check_y": {
                    "earned": 0,
                    "possible": 3,
                    "reason": "CheckFailed: \x1b[31mred\x1b[0m\x00 and \u202eevil\ttab\r\nline",
                },
            },
            "03_b.ipynb": {"check_z": {"earned": 1, "possible": 1, "reason": "passed"}},
        },
        "notebook_totals": {
            "01_a.ipynb": {"earned": 2, "possible": 5, "seconds": 3.0},
            "03_b.ipynb": {"earned": 1, "possible": 1, "seconds": 2.0},
        },
        "cell_timeout_s": 120,
    }


def test_results_json_has_one_test_per_check_with_safe_text() -> None:
    found = gs.Collected(notebooks={"01_a.ipynb": Path("sub/01_a.ipynb")})
    found.refused["03_b.ipynb"] = "submitted 2 times (a, b); upload one copy"
    found.notes.append("03_b.ipynb: submitted 2 times")
    results = gs.results_json(scores_json(), found, 12.4)
    assert results["score"] == 3 and results["execution_time"] == 12
    assert [(t["name"], t["score"], t["max_score"]) for t in results["tests"]] == [
        ("01_a.ipynb: check_x", 2, 2),
        ("01_a.ipynb: check_y", 0, 3),
        ("03_b.ipynb: check_z", 1, 1),
    ]
    assert results["tests"][1]["output"] == "CheckFailed: red  and evil tab  line"
    assert results["tests"][2]["output"] == (
        "03_b.ipynb not graded: submitted 2 times (a, b); upload one copy"
    )
    assert results["output"].splitlines() == [
        "coursecnn: 3 / 6 points, one test per check.",
        "01_a.ipynb: 2 / 5 (graded sub/01_a.ipynb)",
        "03_b.ipynb: 1 / 1 (not graded: submitted 2 times (a, b); upload one copy)",
        "note: 03_b.ipynb: submitted 2 times",
    ]
    text = json.dumps(results)
    assert "\\u001b" not in text and "\\u0000" not in text and "\\u202e" not in text


def test_safe_text_keeps_newlines_only_when_asked() -> None:
    assert gs.safe_text("a\nb\x07c") == "a b c"
    assert gs.safe_text("a\r\nb\x1b[1mc", newlines=True) == "a\nbc"


def test_run_writes_nothing_when_the_grader_fails(tmp_path: Path) -> None:
    master = new_notebook(cells=[new_code_cell("### BEGIN SOLUTION\nx = 1")])
    master.cells[0].metadata["nbgrader"] = {"grade": True, "locked": True, "solution": False,
                                            "grade_id": "c", "points": 1, "schema_version": 3}  # fmt: skip
    nbm.write_atomic(master, touch(tmp_path / "source" / "notebooks" / "01_a.ipynb"))
    (tmp_path / "submission").mkdir()
    with pytest.raises(gs.GradescopeError, match="exited with 2"):
        gs.run(tmp_path)
    assert not (tmp_path / "results" / "results.json").exists()
    code = cli(["gradescope", "--run", "--root", str(tmp_path / "empty")])
    assert code == 1


# ------------------------------------------------------------------ the zip


@pytest.fixture(scope="module")
def zip_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    out = tmp_path_factory.mktemp("zip") / "autograder.zip"
    code = cli(["gradescope", "--out", str(out), "--master", str(ROOT / "notebooks"),
                "--notebooks", "03", "01", "--timeout", "90"])  # fmt: skip
    assert code == 0
    return out.read_bytes()


def test_zip_holds_the_scripts_and_the_course_files(zip_bytes: bytes, tmp_path: Path) -> None:
    zf = zipfile.ZipFile(io.BytesIO(zip_bytes))
    names = zf.namelist()
    assert names[:2] == ["setup.sh", "run_autograder"]
    for name in ("setup.sh", "run_autograder"):
        assert zf.getinfo(name).external_attr >> 16 == 0o100755
    assert {"pyproject.toml", "README.md", "LICENSE", "coursecnn/__main__.py",
            "coursecnn/grading/grade.py", "coursecnn/data/manifest.json"} <= set(names)  # fmt: skip
    manifest = json.loads((ROOT / "coursecnn" / "data" / "manifest.json").read_text())
    assert {n for n in names if n.startswith("data/")} == {
        f"data/{n}" for n in ["README.md", *manifest]
    }
    assert [n for n in names if n.startswith("notebooks/")] == [
        "notebooks/01_convolution_math.ipynb",
        "notebooks/03_pooling_and_activations.ipynb",
    ]
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or "/." in n]
    shipped = nbformat.reads(zf.read("notebooks/01_convolution_math.ipynb"), as_version=4)
    master = nbm.read(ROOT / "notebooks" / "01_convolution_math.ipynb")
    assert [c.source for c in shipped.cells] == [c.source for c in master.cells]
    assert all(not c.get("outputs") for c in shipped.cells)
    assert len(zip_bytes) < 10_000_000

    setup = zf.read("setup.sh").decode()
    assert "pip install --index-url https://download.pytorch.org/whl/cpu 'torch>=" in setup
    assert 'pip install -e "$SRC" \'pytest>=' in setup and "'nbval>=" in setup
    run = zf.read("run_autograder").decode()
    assert 'gradescope --run --root "$ROOT" --timeout 90' in run
    for name, text in (("setup.sh", setup), ("run_autograder", run)):
        (tmp_path / name).write_text(text)
        check = subprocess.run(["bash", "-n", str(tmp_path / name)], capture_output=True)
        assert check.returncode == 0, check.stderr


def test_zip_is_the_same_for_the_same_files(zip_bytes: bytes, tmp_path: Path) -> None:
    gsb.build(tmp_path / "again.zip", ROOT / "notebooks", ["01", "03"], timeout=90)
    assert (tmp_path / "again.zip").read_bytes() == zip_bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again.zip"]  # no temporary left


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--out", "autograder.tar"], "out: expected a file name ending in .zip, got"),
        (["--out", "a.zip", "--notebooks", "99"], "notebooks: expected one of 01, 02,"),
        (["--out", "a.zip", "--timeout", "0"], "--timeout: expected seconds > 0, got 0"),
        (["--out", "a.zip", "--master", "nowhere"], "master: expected a folder"),
    ],
)
def test_zip_refuses_bad_arguments(
    args: list[str], words: str, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    if "--master" not in args:
        args += ["--master", str(ROOT / "notebooks")]
    assert cli(["gradescope", *args]) == 1
    assert words in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_requirements_come_from_pyproject() -> None:
    torch, grader = gsb.requirements((ROOT / "pyproject.toml").read_text())
    assert [r.split(">")[0] for r in torch + grader] == ["torch", "torchvision", "pytest", "nbval"]
    with pytest.raises(ValueError, match="expected requirements for \\['nbval'\\]"):
        gsb.requirements('[project]\ndependencies = ["torch", "torchvision"]\n'
                         '[project.optional-dependencies]\ntest = ["pytest"]\n')  # fmt: skip
