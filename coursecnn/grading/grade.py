"""Scores for submitted notebooks: ``python -m coursecnn grade DIR [--master notebooks/]``.

For every master notebook with graded check cells (``nbgrader.grade`` true):

1. the submitted notebook of the same file name is read (missing or unreadable: every check of
   it scores 0, with the reason);
2. every locked cell (``nbgrader.locked`` true) is put back from the master by ``grade_id``, so an
   edited check still checks; a locked cell the student deleted is put back after the nearest
   earlier cell that is still there (matched by ``grade_id`` or cell id);
3. outputs are cleared, so that nbval only asks whether each cell runs without an error;
4. nbval runs the notebook in a subprocess (``pytest --nbval-lax --nbval-current-env
   --nbval-cell-timeout=T``) with an overall timeout, in a scratch folder that mirrors the
   submitted folder; the per-cell results come from its JUnit XML, where nbval names the k-th
   code cell ``Cell k``;
5. a graded check earns its points when its cell ran without an error.

The scores go to the terminal (a table per notebook and a total) and to ``scores.json``,
``scores.csv`` and ``scores.xml`` (JUnit, one test case per ``grade_id``).
"""

from __future__ import annotations

import argparse
import copy
import csv
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coursecnn.grading import notebook as nbm

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
EXC_LINE = re.compile(r"^([A-Za-z_][\w.]*)(?::\s?(.*))?$")
# Never mirrored into the scratch folder: they would change what pytest or ``import`` loads.
NOT_MIRRORED = {"conftest.py", "pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg", "coursecnn"}
NOT_MIRRORED_SUFFIXES = {".py", ".pyc", ".pyd", ".so", ".pth", ".ipynb"}


@dataclass
class CheckResult:
    """One graded check of one notebook."""

    grade_id: str
    earned: float
    possible: float
    reason: str


@dataclass
class CellOutcome:
    """What nbval said about one code cell: ``passed``, ``failed`` or ``skipped``, and why."""

    status: str
    message: str = ""


@dataclass
class NotebookResult:
    """The graded checks of one notebook, in notebook order."""

    name: str
    checks: list[CheckResult] = field(default_factory=list)
    seconds: float = 0.0
    # nbval's word on the k-th code cell of the notebook as it ran (locked cells put back)
    cells: dict[int, CellOutcome] = field(default_factory=dict)

    @property
    def earned(self) -> float:
        return sum(c.earned for c in self.checks)

    @property
    def possible(self) -> float:
        return sum(c.possible for c in self.checks)


# ---------------------------------------------------------------- preparing the notebook to run


def _key(cell: Any) -> tuple[str, str] | None:
    gid = nbm.grade_id(cell)
    if gid is not None:
        return ("grade_id", gid)
    cid = cell.get("id")
    return ("id", cid) if cid else None


def restore_locked(master: Any, submitted: Any) -> tuple[Any, list[str]]:
    """A copy of ``submitted`` whose locked cells are the master's, and notes on what was done.

    A locked cell is matched by ``grade_id``; its first match is replaced by the master cell,
    later duplicates lose their ``nbgrader`` metadata (they run as ordinary cells). A locked cell
    missing from the submission is put back after the nearest earlier master cell that the
    submission still has (by ``grade_id`` or cell id), else before the nearest later one, else at
    the end. Outputs are cleared so that nbval compares none.
    """
    nb = copy.deepcopy(submitted)
    notes: list[str] = []
    cells = list(nb.cells)
    for m_index, m_cell in enumerate(master.cells):
        if not nbm.is_locked(m_cell):
            continue
        gid = nbm.grade_id(m_cell)
        matches = [i for i, c in enumerate(cells) if nbm.grade_id(c) == gid]
        restored = copy.deepcopy(m_cell)
        if matches:
            cells[matches[0]] = restored
            for i in matches[1:]:
                cells[i].metadata.pop("nbgrader", None)
            continue
        notes.append(f"locked cell {gid!r} was missing and was put back")
        cells.insert(_insert_position(master, m_index, cells), restored)
    seen: set[str] = set()
    for cell in cells:  # a put-back cell may repeat an id; nbformat wants them unique
        if "id" in cell and cell.id in seen:
            cell.id = uuid.uuid4().hex[:12]
        if "id" in cell:
            seen.add(cell.id)
    nb.cells = cells
    nbm.clear_outputs(nb)
    return nb, notes


def _insert_position(master: Any, m_index: int, cells: list[Any]) -> int:
    where = {k: i for i, c in reversed(list(enumerate(cells))) if (k := _key(c)) is not None}
    for j in range(m_index - 1, -1, -1):
        k = _key(master.cells[j])
        if k in where:
            return where[k] + 1
    for j in range(m_index + 1, len(master.cells)):
        k = _key(master.cells[j])
        if k in where:
            return where[k]
    return len(cells)


# ---------------------------------------------------------------------------- running nbval


def _mirror(submitted_dir: Path, work: Path) -> None:
    """Link what the notebooks may read (data, images) from the submitted folder into ``work``.

    Python files, packages, pytest configuration and other notebooks are left out: they could
    change what ``import coursecnn`` or pytest loads.
    """
    if not submitted_dir.is_dir():
        return
    for entry in submitted_dir.iterdir():
        if entry.name.startswith(".") or entry.name in NOT_MIRRORED:
            continue
        if entry.suffix in NOT_MIRRORED_SUFFIXES or (entry / "__init__.py").exists():
            continue
        try:
            os.symlink(entry.resolve(), work / entry.name)
        except OSError:
            if entry.is_dir():
                shutil.copytree(entry, work / entry.name)
            else:
                shutil.copy2(entry, work / entry.name)


def run_nbval(
    nb_path: Path, timeout: float, overall: float, threads: int | None = None
) -> tuple[dict[int, CellOutcome], str]:
    """Run nbval on one notebook in a subprocess; ``({code_cell_index: outcome}, problem)``.

    ``problem`` is empty when nbval reported on the notebook, else what went wrong (the overall
    timeout, or pytest's last lines when it wrote no report).
    """
    work = nb_path.parent
    junit = work.parent / "nbval.xml"
    ini = work.parent / "pytest.ini"
    ini.write_text("[pytest]\n", encoding="utf-8")
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "--nbval-lax",
        "--nbval-current-env",
        f"--nbval-cell-timeout={timeout:g}",
        "--nbval-kernel-startup-timeout=120",
        "-p",
        "no:cacheprovider",
        "-c",
        str(ini),
        f"--rootdir={work}",
        f"--junitxml={junit}",
        "-q",
        nb_path.name,
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_CORE_"))}
    env["MPLBACKEND"] = "Agg"
    env["COURSECNN_STATIC_OUTPUT"] = "1"  # fit prints a line per run, no live bar
    if threads is not None:  # the notebooks' limit_threads() reads it (unless already set)
        env.setdefault("COURSECNN_THREADS", str(threads))
        env.setdefault("OMP_NUM_THREADS", str(threads))
    env.setdefault("PYTHONHASHSEED", "0")
    proc = subprocess.Popen(
        cmd,
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    problem = ""
    try:
        output, _ = proc.communicate(timeout=overall)
    except subprocess.TimeoutExpired:
        problem = f"the notebook ran past the overall limit of {overall:g} s and was stopped"
        _stop(proc)
        output, _ = proc.communicate()
    text = ANSI.sub("", output.decode("utf-8", "replace"))
    outcomes = parse_junit(junit) if junit.exists() else {}
    if not outcomes and not problem:
        tail = " | ".join(line for line in text.strip().splitlines()[-3:])
        problem = f"nbval did not run the notebook: {tail[-300:]}"
    return outcomes, problem


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Interrupt pytest (it stops its kernel and writes its report), then kill what is left."""
    for sig, wait in ((signal.SIGINT, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def parse_junit(path: Path) -> dict[int, CellOutcome]:
    """``{k: outcome}`` for nbval's test cases named ``Cell k`` in a JUnit XML report."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        return {}
    outcomes: dict[int, CellOutcome] = {}
    for case in root.iter("testcase"):
        m = re.fullmatch(r"Cell (\d+)", case.get("name", ""))
        if not m:
            continue
        outcome = CellOutcome("passed")
        for tag, status in (("failure", "failed"), ("error", "failed"), ("skipped", "skipped")):
            node = case.find(tag)
            if node is not None:
                text = (node.text or "") or node.get("message", "")
                if status == "skipped":
                    text = node.get("message", "") or text
                outcome = CellOutcome(status, ANSI.sub("", re.sub(r"#x1B", "\x1b", text)))
                break
        outcomes[int(m.group(1))] = outcome
    return outcomes


def explain(outcome: CellOutcome, timeout: float) -> str:
    """A one-line reason for a failed cell, from nbval's report."""
    msg = outcome.message
    if outcome.status == "skipped":
        if "timed out" in msg:
            # nbval turns every failure after a timeout into an xfail, without the error
            return "failed after an earlier cell timed out or the kernel died"
        return f"skipped: {msg.strip()[:200]}"
    if "Failed to interrupt kernel" in msg:
        return (
            f"the kernel crashed or hung: no reply within {timeout:g} s and it could not be "
            "interrupted"
        )
    if "exceeded waiting for output" in msg:
        return "the kernel stopped answering after the cell ran (it crashed or hung)"
    if "Timeout of" in msg and "exceeded" in msg:
        return f"timed out after {timeout:g} s"
    if "Kernel dead" in msg:
        return "did not run: the kernel had died (crashed) in an earlier cell"
    return _exception_reason(msg)


def _exception_reason(msg: str) -> str:
    lines = msg.splitlines()
    start = max(
        (i for i, ln in enumerate(lines) if "Traceback (most recent call last)" in ln), default=-1
    )
    if start < 0:
        # No Python traceback (a CheckFailed shows its message alone, see coursecnn.checks):
        # read after nbval's own "Traceback:" heading, never the cell's source above it.
        inputs = next((i for i, ln in enumerate(lines) if ln.strip() == "Input:"), -1)
        start = next(
            (i for i in range(inputs + 1, len(lines)) if lines[i].strip() == "Traceback:"), -1
        )
    for i in range(start + 1, len(lines)):
        m = EXC_LINE.match(lines[i].rstrip())
        if m and m.group(1) not in {"Input", "Traceback"}:
            body = [m.group(2) or ""] + lines[i + 1 :]
            text = " ".join(" ".join(body).split())
            mistake = re.search(r"likely mistake:\s*(.*)", text)
            if mistake and len(text) > 200:
                head = text[: text.find("expected:")].strip() if "expected:" in text else ""
                text = f"{head} likely mistake: {mistake.group(1)}".strip()
            return f"{m.group(1)}: {text}"[:300].rstrip()
    last = next((ln.strip() for ln in reversed(lines) if ln.strip()), "the cell failed")
    return last[:300]


# ---------------------------------------------------------------------------- grading


def _all_lost(name: str, master: Any, reason: str) -> NotebookResult:
    return NotebookResult(
        name,
        [
            CheckResult(nbm.grade_id(c) or "?", 0.0, nbm.points(c), reason)
            for _, c in nbm.graded_cells(master)
        ],
    )


def grade_notebook(
    master_path: Path,
    submitted_dir: Path,
    timeout: float = 120,
    overall: float | None = None,
    threads: int | None = None,
) -> NotebookResult:
    """Grade the submitted copy of one master notebook (see the module docstring).

    ``threads``: CPU threads for the notebook's torch (``COURSECNN_THREADS``), so that notebooks
    graded side by side do not each take every core.
    """
    start = time.monotonic()
    name = master_path.name
    master = nbm.read(master_path)
    nbm.validate(master, name)
    try:
        result = _grade(master, name, submitted_dir, timeout, overall, threads)
    except Exception as err:  # one notebook's trouble never stops the grading of the others
        result = _all_lost(name, master, f"grading error ({type(err).__name__}: {err})"[:300])
    result.seconds = time.monotonic() - start
    return result


def _grade(
    master: Any,
    name: str,
    submitted_dir: Path,
    timeout: float,
    overall: float | None,
    threads: int | None = None,
) -> NotebookResult:
    path = submitted_dir / name
    if not path.is_file():
        return _all_lost(name, master, f"missing notebook {name}")
    try:
        submitted = nbm.read(path)
        submitted.cells  # noqa: B018 - a JSON file that is not a notebook fails here
    except Exception as err:  # nbformat raises several kinds for a broken file
        first = " ".join(str(err).split())[:200]
        return _all_lost(name, master, f"not a valid notebook ({type(err).__name__}: {first})")
    nb, notes = restore_locked(master, submitted)
    code_index: dict[str, int] = {}
    k = 0
    for cell in nb.cells:
        if cell.cell_type == "code":
            gid = nbm.grade_id(cell)
            if gid is not None and nbm.is_graded(cell):
                code_index.setdefault(gid, k)
            k += 1
    if overall is None:
        overall = timeout * (k + 2) + 120
    with tempfile.TemporaryDirectory(prefix="coursecnn-grade-") as tmp:
        work = Path(tmp) / "work"
        work.mkdir()
        _mirror(submitted_dir, work)
        nbm.write_atomic(nb, work / name)
        outcomes, problem = run_nbval(work / name, timeout, overall, threads)
    result = NotebookResult(name, cells=outcomes)
    for _, m_cell in nbm.graded_cells(master):
        gid = nbm.grade_id(m_cell) or "?"
        possible = nbm.points(m_cell)
        if gid not in code_index:
            reason = f"cell {gid!r} is missing or is not a code cell"
        elif code_index[gid] in outcomes:
            outcome = outcomes[code_index[gid]]
            if outcome.status == "passed":
                result.checks.append(CheckResult(gid, possible, possible, "passed"))
                continue
            reason = explain(outcome, timeout)
        else:
            reason = problem or "nbval did not report on this cell"
        result.checks.append(CheckResult(gid, 0.0, possible, reason))
    if notes:
        for check in result.checks:
            if any(repr(check.grade_id) in note for note in notes):
                check.reason += " (the cell had been deleted and was put back)"
    return result


def graded_masters(master: Path) -> list[Path]:
    """The master notebooks that hold at least one graded check cell."""
    return [p for p in nbm.notebook_paths(master) if nbm.has_graded_cells(nbm.read(p))]


def grade(
    submitted: str | Path,
    master: str | Path = "notebooks",
    out: str | Path | None = None,
    timeout: float = 120,
    echo: bool = True,
    jobs: int = 1,
) -> list[NotebookResult]:
    """Grade every graded master notebook's submitted copy; write the scores into ``out``.

    ``jobs`` notebooks run at a time, each with ``cores // jobs`` torch threads (at least 1):
    two kernels that each start every core's threads at once train tens of times slower; the
    tables are printed in notebook order.
    """
    submitted, master = Path(submitted), Path(master)
    if not master.exists():
        raise ValueError(f"master: no such folder or notebook: {master}")
    masters = graded_masters(master)
    if not masters:
        raise ValueError(f"master: no notebook in {master} has a graded check cell")
    for path in masters:  # refuse bad master markup before spending time on running
        nbm.validate(nbm.read(path), path.name)
    from coursecnn.train.seed import available_cpus

    threads = max(1, available_cpus() // max(1, jobs))
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [
            pool.submit(grade_notebook, path, submitted, timeout, None, threads) for path in masters
        ]
        results = []
        for future in futures:
            results.append(future.result())
            if echo:
                print(format_notebook(results[-1]), flush=True)
    if echo:
        print(format_total(results), flush=True)
    write_reports(results, Path(out) if out is not None else submitted, timeout)
    return results


# ---------------------------------------------------------------------------- reports


def _num(x: float) -> str:
    return f"{x:g}"


def _json_num(x: float) -> float | int:
    return int(x) if float(x).is_integer() else x


def format_notebook(result: NotebookResult, width: int = 110) -> str:
    """The table of one notebook: grade_id, earned / possible, reason."""
    gw = max([len("notebook total"), *(len(c.grade_id) for c in result.checks)])
    lines = [f"== {result.name}  ({result.seconds:.0f} s)"]
    for c in result.checks:
        pts = f"{_num(c.earned)} / {_num(c.possible)}"
        reason = (
            c.reason if len(c.reason) <= width - gw - 14 else c.reason[: width - gw - 17] + "..."
        )
        lines.append(f"   {c.grade_id:<{gw}}  {pts:>9}  {reason}")
    pts = f"{_num(result.earned)} / {_num(result.possible)}"
    lines.append(f"   {'notebook total':<{gw}}  {pts:>9}")
    return "\n".join(lines)


def format_total(results: list[NotebookResult]) -> str:
    """The total line."""
    earned = sum(r.earned for r in results)
    possible = sum(r.possible for r in results)
    return f"TOTAL  {_num(earned)} / {_num(possible)}  ({len(results)} notebooks)"


def scores_dict(results: list[NotebookResult], timeout: float) -> dict[str, Any]:
    """What ``scores.json`` holds."""
    return {
        "total": {
            "earned": _json_num(sum(r.earned for r in results)),
            "possible": _json_num(sum(r.possible for r in results)),
        },
        "notebooks": {
            r.name: {
                c.grade_id: {
                    "earned": _json_num(c.earned),
                    "possible": _json_num(c.possible),
                    "reason": c.reason,
                }
                for c in r.checks
            }
            for r in results
        },
        "notebook_totals": {
            r.name: {
                "earned": _json_num(r.earned),
                "possible": _json_num(r.possible),
                "seconds": round(r.seconds, 1),
            }
            for r in results
        },
        "cell_timeout_s": timeout,
    }


def junit_xml(results: list[NotebookResult]) -> str:
    """JUnit XML: a test suite per notebook, a test case per ``grade_id``."""
    root = ET.Element("testsuites", name="coursecnn grade")
    for r in results:
        failed = [c for c in r.checks if c.earned < c.possible]
        suite = ET.SubElement(
            root,
            "testsuite",
            name=r.name,
            tests=str(len(r.checks)),
            failures=str(len(failed)),
            errors="0",
            time=f"{r.seconds:.1f}",
        )
        for c in r.checks:
            case = ET.SubElement(suite, "testcase", classname=r.name, name=c.grade_id)
            ET.SubElement(case, "properties").extend(
                [
                    ET.Element("property", name="earned", value=_num(c.earned)),
                    ET.Element("property", name="possible", value=_num(c.possible)),
                ]
            )
            if c.earned < c.possible:
                ET.SubElement(case, "failure", message=c.reason).text = c.reason
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")


def _write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_reports(results: list[NotebookResult], out: Path, timeout: float) -> None:
    """Write ``scores.json``, ``scores.csv`` and ``scores.xml`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    _write_text(out / "scores.json", json.dumps(scores_dict(results, timeout), indent=2) + "\n")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["notebook", "grade_id", "earned", "possible", "reason"])
    for r in results:
        for c in r.checks:
            writer.writerow([r.name, c.grade_id, _num(c.earned), _num(c.possible), c.reason])
    _write_text(out / "scores.csv", buf.getvalue())
    _write_text(out / "scores.xml", junit_xml(results))


def main(args: argparse.Namespace) -> int:
    """CLI entry: 0 when grading ran, whatever the score; 2 when it could not start."""
    try:
        import nbval  # noqa: F401
    except ImportError:
        print("grade needs nbval: pip install -e '.[test]'", file=sys.stderr)
        return 2
    if args.timeout <= 0:
        print(f"--timeout: expected seconds > 0, got {args.timeout}", file=sys.stderr)
        return 2
    try:
        grade(args.submitted, args.master, args.out, args.timeout, jobs=getattr(args, "jobs", 1))
    except ValueError as err:  # MarkupError is a ValueError
        print(f"grade could not start: {err}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out is not None else Path(args.submitted)
    print(f"wrote {out / 'scores.json'}, {out / 'scores.csv'}, {out / 'scores.xml'}")
    return 0
