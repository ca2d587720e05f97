"""Scores for submitted notebooks: ``python -m coursecnn grade DIR [--master notebooks/]``.

Grading treats every submission as hostile; the verdicts are made outside the student's code:

1. the masters are read and hashed once, at the start, and never reread; the score files of an
   earlier run are removed from the output folder;
2. the student's folder is copied first, regular files only (:mod:`.intake`: symlinks, FIFOs and
   devices are refused, saying so, and a refused notebook costs only its own points);
3. in the copy of each notebook, every locked cell (``nbgrader.locked``) is put back from the
   master by ``grade_id``; a locked cell the student deleted is put back after the nearest
   earlier cell that is still there;
4. the notebook's cells run one at a time in a kernel of its own inside a sandbox
   (:mod:`.sandbox`: ``bwrap``, no network, limits, the whole process tree killed at the end);
5. each graded check cell runs *here*, in the grader's process, never in the kernel: its code
   is the master's, its names are the master's imports or the student's objects fetched through
   a channel that carries data only (:mod:`.channel`, :mod:`.codec`); a check earns its points
   when it raises nothing;
6. a scan of the solution cells lists calls to what each exercise rules out (:mod:`.shortcuts`),
   for the instructor to review;
7. the scores go to the terminal and, written atomically by the grader alone, to
   ``scores.json``, ``scores.csv`` and ``scores.xml`` (JUnit), with what the instructor should
   know: limits hit, network tried, processes left behind, files refused.
"""

from __future__ import annotations

import argparse
import copy
import csv
import hashlib
import io
import json
import os
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
from coursecnn.grading.release import RAISES
from coursecnn.grading.safe_text import spreadsheet_safe, strip_control


@dataclass
class CheckResult:
    """One graded check of one notebook; ``flags``: calls to what the exercise rules out."""

    grade_id: str
    earned: float
    possible: float
    reason: str
    flags: list[str] = field(default_factory=list)


@dataclass
class CellOutcome:
    """How one code cell ran: ``passed``, ``failed`` or ``skipped`` (did not run), and why."""

    status: str
    message: str = ""


@dataclass
class NotebookResult:
    """The graded checks of one notebook, in notebook order."""

    name: str
    checks: list[CheckResult] = field(default_factory=list)
    seconds: float = 0.0
    # how the k-th code cell of the notebook ran (locked cells put back)
    cells: dict[int, CellOutcome] = field(default_factory=dict)
    # what the instructor should know: limits hit, network tried, processes left, files refused
    notes: list[str] = field(default_factory=list)

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


# ---------------------------------------------------------------------------- grading


@dataclass(frozen=True)
class Master:
    """A master notebook as read, once, at the start: its name, bytes' SHA-256 and cells."""

    name: str
    sha256: str
    nb: Any


def read_master(path: Path) -> Master:
    """Read and hash one master; ``MarkupError`` when its markup is wrong."""
    raw = path.read_bytes()
    try:
        nb = nbm.reads(raw.decode("utf-8"))
    except Exception as err:  # nbformat raises several kinds for a broken file
        raise nbm.MarkupError(f"{path.name}: cannot read the master notebook: {err}") from None
    nbm.validate(nb, path.name)
    return Master(path.name, hashlib.sha256(raw).hexdigest(), nb)


def _all_lost(name: str, master: Any, reason: str) -> NotebookResult:
    return NotebookResult(
        name,
        [
            CheckResult(nbm.grade_id(c) or "?", 0.0, nbm.points(c), reason)
            for _, c in nbm.graded_cells(master)
        ],
    )


def grade_notebook(
    master: Path | Master,
    submitted_dir: Path,
    timeout: float = 120,
    overall: float | None = None,
    threads: int | None = None,
    *,
    sandbox: str = "bwrap",
    refused: dict[str, str] | None = None,
    limits: Any = None,
) -> NotebookResult:
    """Grade the submitted copy of one master notebook (see the module docstring).

    ``submitted_dir`` must already be the grader's private copy (:func:`.intake.copy_submission`);
    ``refused``: what that copy left out, by relative path. ``threads``: CPU threads for the
    kernel's torch (``COURSECNN_THREADS``). ``sandbox``: ``"bwrap"`` or ``"none"`` (see
    :mod:`.sandbox`).
    """
    from coursecnn.train.seed import available_cpus

    start = time.monotonic()
    if not isinstance(master, Master):
        master = read_master(Path(master))
    threads = threads or available_cpus()
    try:
        why = (refused or {}).get(master.name)
        if why:
            result = _all_lost(master.name, master.nb, f"{master.name}: {why}")
        else:
            result = _grade(master, Path(submitted_dir), timeout, overall, threads, sandbox,
                            limits)  # fmt: skip
    except Exception as err:  # one notebook's trouble never stops the grading of the others
        result = _all_lost(
            master.name, master.nb, f"grading error ({type(err).__name__}: {err})"[:300]
        )
    result.seconds = time.monotonic() - start
    return result


def _grade(
    master: Master, submitted_dir: Path, timeout: float, overall: float | None, threads: int,
    sandbox_mode: str, limits: Any = None,
) -> NotebookResult:  # fmt: skip
    from coursecnn.grading import channel as ch
    from coursecnn.grading import intake, sandbox

    name = master.name
    path = submitted_dir / name
    if not path.is_file():
        return _all_lost(name, master.nb, f"missing notebook {name}")
    try:
        submitted = nbm.read(path)
        submitted.cells  # noqa: B018 - a JSON file that is not a notebook fails here
    except Exception as err:  # nbformat raises several kinds for a broken file
        first = " ".join(str(err).split())[:200]
        return _all_lost(name, master.nb, f"not a valid notebook ({type(err).__name__}: {first})")
    nb, notes = restore_locked(master.nb, submitted)
    code = [c for c in nb.cells if c.cell_type == "code"]
    graded = {nbm.grade_id(c) for c in code if nbm.is_graded(c)}
    if overall is None:
        overall = timeout * (len(code) + 2) + 120
    result = NotebookResult(name)
    verdicts: dict[str, tuple[bool, str]] = {}
    imports = ch.master_imports([c.source for c in master.nb.cells if c.cell_type == "code"])
    limits = limits or sandbox.Limits()
    kernel = sandbox.start(intake.data_files(submitted_dir), limits, threads, sandbox_mode)
    deadline = time.monotonic() + overall
    channel = ch.Channel(kernel, timeout, deadline)
    stopped = ""
    try:
        channel.ready(timeout=max(timeout, 120))
    except (ch.KernelGone, ch.KernelTimeout) as err:
        stopped = f"the kernel did not start ({err or 'no answer'})"
        time.sleep(0.2)  # let the reader take what it printed
        tail = strip_control(kernel.output.decode("utf-8", "replace"))[-400:]
        result.notes.append(f"the kernel did not start: {tail}")
    seen: set[str] = set()
    for k, cell in enumerate(code):
        gid = nbm.grade_id(cell)
        is_check = gid in graded and nbm.is_graded(cell) and gid not in seen
        if stopped:
            result.cells[k] = CellOutcome("skipped", stopped)
            if is_check:
                seen.add(gid)
                verdicts[gid] = (False, stopped)
            continue
        try:
            if is_check:
                seen.add(gid)
                check = gid.removeprefix("check_")
                ok, reason, _ = ch.run_check(channel, imports, cell.source, check)
                verdicts[gid] = (ok, reason)
                result.cells[k] = CellOutcome("passed" if ok else "failed", reason)
            else:
                ok, error = channel.run_cell(cell.source)
                if not ok and RAISES in cell.metadata.get("tags", []):
                    result.cells[k] = CellOutcome("passed", f"raised, as its tag says: {error}")
                else:
                    result.cells[k] = CellOutcome("passed" if ok else "failed", error)
        except ch.KernelTimeout:
            late = time.monotonic() >= deadline
            why = (f"the notebook ran past the overall limit of {overall:g} s" if late
                   else f"timed out after {timeout:g} s")  # fmt: skip
            result.cells[k] = CellOutcome("failed", why)
            if is_check:
                verdicts[gid] = (False, why)
            if not late and channel.interrupt():
                result.notes.append(f"code cell {k} {why} and was interrupted")
                continue
            stopped = f"did not run: code cell {k} {'ran past the overall limit' if late else 'timed out'}"
            result.notes.append(f"code cell {k} {why}; the kernel was stopped there")
        except ch.KernelGone as err:
            why = f"the kernel died (crashed or exited) in code cell {k}: {err}"
            result.cells[k] = CellOutcome("failed", why)
            if is_check:
                verdicts[gid] = (False, why)
            stopped = f"did not run: the kernel had died in code cell {k}"
            result.notes.append(why)
    report = {} if stopped else channel.report()
    _finish(kernel, channel, result, report, limits)
    for _, m_cell in nbm.graded_cells(master.nb):
        gid = nbm.grade_id(m_cell) or "?"
        possible = nbm.points(m_cell)
        ok, reason = verdicts.get(gid, (False, f"cell {gid!r} is missing or is not a code cell"))
        if any(repr(gid) in note for note in notes):
            reason += " (the cell had been deleted and was put back)"
        result.checks.append(CheckResult(gid, possible if ok else 0.0, possible, reason))
    _flag(master.nb, submitted, result)
    return result


def _finish(kernel: Any, channel: Any, result: NotebookResult, report: dict, limits: Any) -> None:
    """Stop the kernel, kill what it left, and note what the instructor should know."""
    from coursecnn.grading import sandbox

    extra = kernel.leftover()
    channel.close()
    if extra:
        result.notes.append(f"left {extra} process(es) running at the end; all were killed")
    for line in (report.get("network") or [])[:3]:
        result.notes.append(f"tried the network (blocked): {strip_control(str(line))[:100]}")
    if any("MemoryError" in o.message for o in result.cells.values()):
        result.notes.append(
            f"hit the memory limit ({limits.memory / 2**30:g} GiB): a cell raised MemoryError"
        )
    if any("File too large" in o.message for o in result.cells.values()):
        result.notes.append("hit the file-size limit")
    kernel.stop()
    if kernel.output_total > sandbox.OUTPUT_KEEP:
        result.notes.append(
            f"printed {kernel.output_total} bytes; only the first {sandbox.OUTPUT_KEEP} were kept"
        )
    status = kernel.exit_status()
    if status in (128 + 24, -24):
        result.notes.append("hit the CPU-time limit (SIGXCPU)")
    elif status in (128 + 25, -25):
        result.notes.append("hit the file-size limit (SIGXFSZ)")


#: What a solution has no business touching: the checkers, the grader, the interpreter's
#: frames and objects, raw file descriptors (found in the syntax tree; noted for review).
REACH_IN_MODULES = ("coursecnn.checks", "coursecnn.grading", "ctypes", "gc", "inspect")
REACH_IN_NAMES = {"_getframe", "set_custom_exc", "dup2", "settrace", "setprofile",
                  "addaudithook", "get_ipython"}  # fmt: skip


def reach_ins(master: Any, submitted: Any) -> list[str]:
    """Code in the submission's own cells (not the master's) that reaches into the checkers,
    the grader or the interpreter, as ``"what (code cell k, line n)"``."""
    import ast

    from IPython.core.inputtransformer2 import TransformerManager

    from coursecnn.grading._syntax import parse

    theirs = {c.source for c in master.cells if c.cell_type == "code"}
    found: list[str] = []
    code = [c for c in submitted.cells if c.cell_type == "code"]
    for k, cell in enumerate(code):
        if cell.source in theirs or nbm.is_locked(cell):
            continue
        try:
            tree = parse(TransformerManager().transform_cell(cell.source))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            what = ""
            if isinstance(node, ast.Import):
                what = next((a.name for a in node.names if a.name.startswith(REACH_IN_MODULES)), "")
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                REACH_IN_MODULES
            ):
                what = node.module or ""
            elif isinstance(node, ast.Attribute) and node.attr in REACH_IN_NAMES:
                what = node.attr
            elif isinstance(node, ast.Name) and node.id in REACH_IN_NAMES:
                what = node.id
            elif (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and ("/proc/self" in node.value or "COURSECNN_CHANNEL" in node.value)
            ):
                what = repr(node.value[:40])
            if what and len(found) < 20:
                found.append(f"{what} (code cell {k}, line {getattr(node, 'lineno', '?')})")
    return found


def _flag(master: Any, submitted: Any, result: NotebookResult) -> None:
    """Put the shortcut scan's findings on each check (for review; they cost no points)."""
    reach = reach_ins(master, submitted)
    if reach:
        result.notes.append(
            "for review: the student's cells reach into the checkers, the grader or the "
            "interpreter: " + "; ".join(reach[:8])
        )
    try:
        from coursecnn.grading.shortcuts import flag_shortcuts
    except ImportError:
        return
    try:
        flags = flag_shortcuts(master, submitted)
    except Exception as err:  # a scan that fails says so; it never costs points
        result.notes.append(f"the shortcut scan failed: {type(err).__name__}: {err}"[:200])
        return
    for check in result.checks:
        check.flags = [strip_control(f)[:200] for f in flags.get(check.grade_id, [])]


def read_graded_masters(master: Path) -> list[Master]:
    """Every master notebook with a graded check cell, each read and hashed once."""
    return [m for p in nbm.notebook_paths(master) if nbm.has_graded_cells((m := read_master(p)).nb)]


def graded_masters(master: Path) -> list[Path]:
    """The master notebooks that hold at least one graded check cell."""
    return [p for p in nbm.notebook_paths(master) if nbm.has_graded_cells(nbm.read(p))]


def resolve_sandbox(mode: str) -> str:
    """``"bwrap"`` or ``"none"`` for ``mode`` (``"auto"``: bwrap where it works); ``ValueError``
    when ``"bwrap"`` is asked for and cannot run here."""
    from coursecnn.grading.sandbox import bwrap_usable

    if mode not in ("auto", "bwrap", "none"):
        raise ValueError(f"sandbox: expected 'auto', 'bwrap' or 'none', got {mode!r}")
    if mode == "none":
        return mode
    why = bwrap_usable()
    if not why:
        return "bwrap"
    if mode == "auto":
        return "none"
    raise ValueError(
        f"sandbox: {why}. Grade on Linux with bubblewrap, or pass --sandbox none only inside a "
        "container that holds this one submission"
    )


def grade(
    submitted: str | Path,
    master: str | Path = "notebooks",
    out: str | Path | None = None,
    timeout: float = 120,
    echo: bool = True,
    jobs: int = 1,
    sandbox: str = "bwrap",
    limits: Any = None,
) -> list[NotebookResult]:
    """Grade every graded master notebook's submitted copy; write the scores into ``out``.

    ``jobs`` notebooks run at a time, each with ``cores // jobs`` torch threads (at least 1);
    the tables are printed in notebook order.
    """
    submitted, master = Path(submitted), Path(master)
    if not master.exists():
        raise ValueError(f"master: no such folder or notebook: {master}")
    if not submitted.is_dir():
        raise ValueError(f"submitted: expected a folder of notebooks, got {submitted}")
    masters = read_graded_masters(master)  # read and hashed once; never reread
    if not masters:
        raise ValueError(f"master: no notebook in {master} has a graded check cell")
    mode = resolve_sandbox(sandbox)
    out_dir = Path(out) if out is not None else submitted
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("scores.json", "scores.csv", "scores.xml"):
        (out_dir / stale).unlink(missing_ok=True)
    from coursecnn.grading.intake import copy_submission
    from coursecnn.train.seed import available_cpus

    threads = max(1, available_cpus() // max(1, jobs))
    with tempfile.TemporaryDirectory(prefix="coursecnn-submission-") as tmp:
        copy = Path(tmp) / "copy"
        refused = copy_submission(submitted, copy)
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = [
                pool.submit(
                    grade_notebook,
                    m,
                    copy,
                    timeout,
                    None,
                    threads,
                    sandbox=mode,
                    refused=refused,
                    limits=limits,
                )  # fmt: skip
                for m in masters
            ]
            results = []
            for future in futures:
                results.append(future.result())
                if echo:
                    print(format_notebook(results[-1]), flush=True)
    names = {m.name for m in masters}
    for path, why in refused.items():
        if path not in names and results:
            results[0].notes.append(f"{path}: {why}")
    if echo:
        print(format_total(results), flush=True)
    write_reports(results, out_dir, timeout, {m.name: m.sha256 for m in masters})
    return results


# ---------------------------------------------------------------------------- reports


def _num(x: float) -> str:
    return f"{x:g}"


def _json_num(x: float) -> float | int:
    return int(x) if float(x).is_integer() else x


def format_notebook(result: NotebookResult, width: int = 110) -> str:
    """The table of one notebook: grade_id, earned / possible, reason; then what to review."""
    gw = max([len("notebook total"), *(len(c.grade_id) for c in result.checks)])
    lines = [f"== {result.name}  ({result.seconds:.0f} s)"]
    for c in result.checks:
        pts = f"{_num(c.earned)} / {_num(c.possible)}"
        text = strip_control(c.reason)
        reason = text if len(text) <= width - gw - 14 else text[: width - gw - 17] + "..."
        lines.append(f"   {c.grade_id:<{gw}}  {pts:>9}  {reason}")
    pts = f"{_num(result.earned)} / {_num(result.possible)}"
    lines.append(f"   {'notebook total':<{gw}}  {pts:>9}")
    for c in result.checks:
        if c.flags:
            lines.append(f"   review {c.grade_id}: calls what it rules out: {'; '.join(c.flags)}")
    for note in result.notes:
        lines.append(f"   note: {strip_control(note)}")
    return "\n".join(lines)


def format_total(results: list[NotebookResult]) -> str:
    """The total line."""
    earned = sum(r.earned for r in results)
    possible = sum(r.possible for r in results)
    return f"TOTAL  {_num(earned)} / {_num(possible)}  ({len(results)} notebooks)"


def scores_dict(results: list[NotebookResult], timeout: float,
                masters: dict[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
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
                    "reason": strip_control(c.reason),
                    **({"review": c.flags} if c.flags else {}),
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
                "notes": [strip_control(n) for n in r.notes],
            }
            for r in results
        },
        "masters_sha256": masters or {},
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
                reason = strip_control(c.reason)
                ET.SubElement(case, "failure", message=reason).text = reason
            if c.flags:
                ET.SubElement(case, "system-out").text = "review: " + "; ".join(c.flags)
        if r.notes:
            ET.SubElement(suite, "system-out").text = "\n".join(strip_control(n) for n in r.notes)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")


def _cell(text: str) -> str:
    """A CSV cell from text a submission may have shaped: one line, never a formula."""
    return spreadsheet_safe(strip_control(str(text)))


def _write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_reports(results: list[NotebookResult], out: Path, timeout: float,
                  masters: dict[str, str] | None = None) -> None:  # fmt: skip
    """Write ``scores.json``, ``scores.csv`` and ``scores.xml`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(scores_dict(results, timeout, masters), indent=2) + "\n"
    _write_text(out / "scores.json", text)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["notebook", "grade_id", "earned", "possible", "reason", "review", "notes"])
    for r in results:
        notes = "; ".join(r.notes)
        for c in r.checks:
            writer.writerow([_cell(r.name), _cell(c.grade_id), _num(c.earned), _num(c.possible),
                             _cell(c.reason), _cell("; ".join(c.flags)), _cell(notes)])  # fmt: skip
    _write_text(out / "scores.csv", buf.getvalue())
    _write_text(out / "scores.xml", junit_xml(results))


def main(args: argparse.Namespace) -> int:
    """CLI entry: 0 when grading ran, whatever the score; 2 when it could not start."""
    if args.timeout <= 0:
        print(f"--timeout: expected seconds > 0, got {args.timeout}", file=sys.stderr)
        return 2
    try:
        grade(args.submitted, args.master, args.out, args.timeout, jobs=getattr(args, "jobs", 1),
              sandbox=getattr(args, "sandbox", "bwrap"))  # fmt: skip
    except ValueError as err:  # MarkupError is a ValueError
        print(f"grade could not start: {err}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out is not None else Path(args.submitted)
    print(f"wrote {out / 'scores.json'}, {out / 'scores.csv'}, {out / 'scores.xml'}")
    return 0
