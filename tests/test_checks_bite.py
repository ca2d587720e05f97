"""CI proof that the graded checks bite, on the real notebooks (slow: whole notebooks run).

For every notebook in ``notebooks/`` with graded check cells:

* the master notebook earns every point (one ``grade`` call for all of them, each master cut
  after its last graded check: nbval runs it whole in the same ``./course test``);
* its released student version earns none (one ``release``, one ``grade`` call), and in that run
  no cell fails but the graded checks: every other cell that raises is tagged
  ``raises-exception``, so JupyterLab's *Run All* runs a fresh release to its end;
* every known-wrong solution in ``tests/wrong_solutions/NN_topic.json`` loses the points of each
  check in its ``must_fail`` (see ``tests/wrong_solutions/README.md``).

Each wrong solution is judged by checks that run right after its own wrong solution cell, so a
failure is its own doing and not that of another wrong function used later (``convolve_true``
calls ``conv2d_single``, for one). To keep that cheap, the notebook is cut after the last check
in ``must_fail`` (master and submission alike, so ``grade`` does not put later locked cells
back), the entries that replace the same cell share one notebook (see ``wrong_results``), and
all are graded in one ``grade`` call, ``COURSECNN_PROOF_JOBS`` (default 2) notebooks at a time.

Environment: ``COURSECNN_PROOF_NOTEBOOKS`` and ``COURSECNN_PROOF_WRONG`` point the proof at other
folders; ``COURSECNN_PROOF_TIMEOUT`` is the per-cell limit in seconds (default 600).
"""

from __future__ import annotations

import copy
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from coursecnn.grading import notebook as nbm
from coursecnn.grading.grade import NotebookResult, grade, graded_masters
from coursecnn.grading.release import release

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = Path(os.environ.get("COURSECNN_PROOF_NOTEBOOKS", ROOT / "notebooks"))
WRONG = Path(os.environ.get("COURSECNN_PROOF_WRONG", ROOT / "tests" / "wrong_solutions"))
TIMEOUT = float(os.environ.get("COURSECNN_PROOF_TIMEOUT", "600"))
JOBS = int(os.environ.get("COURSECNN_PROOF_JOBS", "2"))

pytestmark = pytest.mark.slow

GRADED = [p.name for p in graded_masters(NOTEBOOKS)] if NOTEBOOKS.is_dir() else []
NONE_YET = pytest.param(
    None, marks=pytest.mark.skip(reason=f"no notebook in {NOTEBOOKS} has a graded check cell")
)


def _wrong_solutions() -> list[Any]:
    params = []
    for path in sorted(WRONG.glob("*.json")) if WRONG.is_dir() else []:
        entries = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(entries, list):
            raise ValueError(f"{path}: expected a JSON list of wrong solutions")
        for entry in entries:
            params.append(
                pytest.param(path.stem + ".ipynb", entry, id=f"{path.stem}::{entry['name']}")
            )
    return params or [pytest.param(None, None, marks=pytest.mark.skip(reason=f"none in {WRONG}"))]


def _by_name(results: list[NotebookResult]) -> dict[str, NotebookResult]:
    return {r.name: r for r in results}


def _timed_grade(label: str, submitted: Path, master: Path, out: Path) -> list[NotebookResult]:
    start = time.monotonic()
    # the sandbox where bwrap works (CI); the checks bite the same without it
    results = grade(submitted, master, out, timeout=TIMEOUT, echo=False, jobs=JOBS, sandbox="auto")
    print(f"[proof] {label}: {time.monotonic() - start:.0f} s")
    return results


@pytest.fixture(scope="module")
def master_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, NotebookResult]:
    """Each master, cut after its last graded check: the points are all earned by then, and
    ``./course test`` runs every master whole under nbval anyway (one run serves both)."""
    cut = tmp_path_factory.mktemp("master-cut")
    for name in GRADED:
        nb = nbm.read(NOTEBOOKS / name)
        last = max(i for i, c in enumerate(nb.cells) if nbm.is_graded(c))
        nb.cells = nb.cells[: last + 1]
        nbm.write_atomic(nb, cut / name)
    for extra in NOTEBOOKS.iterdir():  # data files a notebook may read beside itself
        if extra.is_file() and extra.suffix != ".ipynb":
            (cut / extra.name).write_bytes(extra.read_bytes())
    out = tmp_path_factory.mktemp("master-scores")
    return _by_name(_timed_grade("grade masters (cut after the last check)", cut, cut, out))


@pytest.fixture(scope="module")
def student_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, NotebookResult]:
    student = tmp_path_factory.mktemp("student")
    for name in GRADED:  # one by one: a markup error elsewhere is test_release_whole_folder's
        release(NOTEBOOKS / name, student)
    return _by_name(_timed_grade("grade student versions", student, NOTEBOOKS, student))


def test_release_whole_folder(tmp_path: Path) -> None:
    """``release notebooks/`` works: every notebook's markup is sound (no kernel needed)."""
    if not NOTEBOOKS.is_dir():
        pytest.skip(f"no folder {NOTEBOOKS}")
    written = release(NOTEBOOKS, tmp_path)
    assert {p.name for p in written} == {p.name for p in nbm.notebook_paths(NOTEBOOKS)}


def _table(result: NotebookResult) -> str:
    return "\n".join(
        f"  {c.grade_id}: {c.earned:g}/{c.possible:g} {c.reason}" for c in result.checks
    )


@pytest.mark.parametrize("name", GRADED or [NONE_YET])
def test_master_earns_every_point(name: str, master_results: dict[str, NotebookResult]) -> None:
    result = master_results[name]
    assert result.checks, f"{name}: no graded check found"
    lost = [c for c in result.checks if c.earned != c.possible]
    assert not lost, f"{name}: the master notebook loses points:\n{_table(result)}"


@pytest.mark.parametrize("name", GRADED or [NONE_YET])
def test_student_version_earns_nothing(
    name: str, student_results: dict[str, NotebookResult]
) -> None:
    result = student_results[name]
    earned = [c for c in result.checks if c.earned > 0]
    assert not earned, f"{name}: checks pass on the released version:\n{_table(result)}"
    unclear = [c for c in result.checks if "not yet answered" not in c.reason]
    assert not unclear, f"{name}: say 'not yet answered' on a fresh release:\n{_table(result)}"


@pytest.mark.parametrize("name", GRADED or [NONE_YET])
def test_student_version_runs_to_the_end(
    name: str, student_results: dict[str, NotebookResult]
) -> None:
    """Only the graded checks fail in a fresh release; in JupyterLab, *Run All* stops at an
    untagged cell that raises (nbval does not, so this reads nbval's word on every cell). A demo
    cell that uses a learner's answer fails here: it must not, or it must be tagged."""
    result = student_results[name]
    code = [c for c in nbm.read(NOTEBOOKS / name).cells if c.cell_type == "code"]
    assert result.cells, f"{name}: nbval reported on no cell"
    stops = {
        k: o.message.strip().splitlines()[-1][:200] if o.message.strip() else o.status
        for k, o in sorted(result.cells.items())
        if o.status != "passed" and not (k < len(code) and nbm.is_graded(code[k]))
    }
    assert not stops, f"{name}: Run All would stop at these code cells of the release: {stops}"


@pytest.mark.parametrize("name", GRADED or [NONE_YET])
def test_every_graded_notebook_has_wrong_solutions(name: str) -> None:
    path = WRONG / name.replace(".ipynb", ".json")
    assert path.is_file(), f"{name}: no known-wrong solutions in {path}"


def _problems(master: Any, name: str, entry: dict[str, Any]) -> str:
    """What is wrong with a wrong-solution entry itself, or ``""``."""
    where = {nbm.grade_id(c): i for i, c in enumerate(master.cells) if nbm.grade_id(c)}
    target, must_fail = entry.get("grade_id"), entry.get("must_fail")
    if target not in where or nbm.is_locked(master.cells[where[target]]):
        return f"{name}: {target!r} is not an unlocked (solution) cell's grade_id"
    if not must_fail or not isinstance(must_fail, list):
        return f"{entry.get('name')}: must_fail must be a non-empty list of grade_ids"
    for gid in must_fail:
        if gid not in where or not nbm.is_graded(master.cells[where[gid]]):
            return f"{name}: {gid!r} is not a graded check cell"
        if where[gid] < where[target]:
            return f"{name}: {gid!r} comes before the solution cell {target!r}"
    return ""


def _where(nb: Any) -> dict[str, int]:
    return {gid: i for i, c in enumerate(nb.cells) if (gid := nbm.grade_id(c))}


def _renamed(cells: list[Any], k: int) -> list[Any]:
    """Copies of ``cells`` whose grade_ids and cell ids end in ``__k``, to be unique."""
    out = copy.deepcopy(cells)
    for cell in out:
        if nbm.grade_id(cell):
            cell.metadata.nbgrader.grade_id = f"{nbm.grade_id(cell)}__{k}"
        if "id" in cell:
            cell.id = f"{cell.id}__{k}"[-64:]
    return out


@pytest.fixture(scope="module")
def wrong_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``{entry id: (NotebookResult, k)}``, or a problem string, for every wrong solution.

    The entries that replace the same solution cell and must fail checks up to the same cell
    share one notebook ``NN_topic__FIRST_LAST.ipynb``: the master cells before the solution cell,
    then for the k-th entry the cells from the solution cell to its last ``must_fail`` check,
    with the wrong source and grade_ids renamed ``ID__k``. Every entry re-runs the same cells
    from its own wrong solution on, and each check follows the solution it judges, so its result
    is that entry's doing. The master for it is built the same way with the master's source.
    All of these notebooks are graded in one ``grade`` call.
    """
    tmp = tmp_path_factory.mktemp("wrong")
    (tmp / "master").mkdir()
    (tmp / "wrong").mkdir()
    answers: dict[str, Any] = {}
    groups: dict[tuple[str, int, int], list[tuple[str, dict[str, Any]]]] = {}
    for param in _wrong_solutions():
        name, entry = param.values
        if name is None:
            continue
        master = nbm.read(NOTEBOOKS / name)
        problem = _problems(master, name, entry)
        if problem:
            answers[param.id] = problem
            continue
        where = _where(master)
        key = (name, where[entry["grade_id"]], max(where[g] for g in entry["must_fail"]))
        groups.setdefault(key, []).append((param.id, entry))
    files: dict[str, tuple[str, int]] = {}
    for (name, first, last), members in groups.items():
        master = nbm.read(NOTEBOOKS / name)
        segment = master.cells[first : last + 1]
        cut, wrong = copy.deepcopy(master), copy.deepcopy(master)
        cut.cells = cut.cells[:first]
        wrong.cells = wrong.cells[:first]
        for k, (pid, entry) in enumerate(members):
            cut.cells += _renamed(segment, k)
            wrong.cells += _renamed(segment, k)
            wrong.cells[-len(segment)].source = entry["source"]
            files[pid] = (f"{name[: -len('.ipynb')]}__{first:03d}_{last:03d}.ipynb", k)
        file = files[members[0][0]][0]
        nbm.write_atomic(cut, tmp / "master" / file)
        nbm.write_atomic(wrong, tmp / "wrong" / file)
    if files:
        results = _by_name(
            _timed_grade("grade wrong solutions", tmp / "wrong", tmp / "master", tmp)
        )
        answers.update({pid: (results[file], k) for pid, (file, k) in files.items()})
    return answers


@pytest.mark.parametrize(("name", "entry"), _wrong_solutions())
def test_wrong_solution_fails_its_checks(
    name: str, entry: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    answer = request.getfixturevalue("wrong_results")[request.node.callspec.id]
    assert not isinstance(answer, str), answer
    result, k = answer
    scores = {c.grade_id: c for c in result.checks}
    passing = [g for g in entry["must_fail"] if scores[f"{g}__{k}"].earned > 0]
    assert not passing, f"{entry['name']}: passes {passing}, it must fail:\n{_table(result)}"
    before = [g for g, c in scores.items() if "__" not in g and c.earned < c.possible]
    assert not before, (
        f"checks before {entry['grade_id']!r} fail, the run is broken:\n{_table(result)}"
    )
