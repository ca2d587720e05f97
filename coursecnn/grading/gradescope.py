"""Grading on Gradescope: a submission in, Gradescope's ``results.json`` out.

Gradescope's autograder (``run_autograder``, written by ``gradescope_build``) runs
``python -m coursecnn gradescope --run`` for each submission. In the root (``/autograder`` on
Gradescope) it reads:

- ``source/notebooks/``: the graded masters the zip shipped;
- ``submission/``: what the student uploaded, single ``.ipynb`` files or a folder or zip that
  Gradescope unpacked. Every regular file named like a graded master is taken, in subfolders too
  (hidden folders and symbolic links are refused); a name found twice is graded as missing, with
  the reason.

It copies them into a scratch folder, grades them with ``python -m coursecnn grade`` in a
subprocess, and writes ``results/results.json`` (Gradescope's format: one test per check, named
``NN_topic.ipynb: grade_id``, with ``score``, ``max_score`` and the reason as ``output``, and a
summary as the top-level ``output``) beside the grader's own ``results/scores.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coursecnn.grading import notebook as nbm
from coursecnn.grading.safe_text import strip_control

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")  # a terminal escape sequence, whole
MAX_OUTPUT = 4000  # characters of one test's output


class GradescopeError(RuntimeError):
    """The grader could not grade the submission (not the student's fault)."""


@dataclass
class Collected:
    """The submitted notebooks by file name, and what was refused."""

    notebooks: dict[str, Path] = field(default_factory=dict)  # name -> path under submission/
    refused: dict[str, str] = field(default_factory=dict)  # notebook name -> why not graded
    notes: list[str] = field(default_factory=list)


def safe_text(text: str, newlines: bool = False) -> str:
    """``text`` without terminal escapes, control characters (each a space) or bidirectional
    controls (``safe_text.strip_control``); with ``newlines``, line breaks are kept."""
    text = ANSI.sub("", text)
    if newlines:
        return "\n".join(strip_control(line) for line in text.replace("\r\n", "\n").split("\n"))
    return strip_control(text)


def collect(submission: Path, wanted: set[str]) -> Collected:
    """Find the notebooks named in ``wanted`` anywhere under ``submission`` (see the module)."""
    found = Collected()
    if not submission.is_dir():
        found.notes.append(f"no submission folder {submission}")
        return found
    paths: dict[str, list[str]] = {}
    for dirpath, dirnames, filenames in os.walk(submission):  # does not follow links
        here = Path(dirpath)
        for name in sorted(dirnames):
            rel = (here / name).relative_to(submission)
            if (here / name).is_symlink():
                found.notes.append(f"{rel}/: a symbolic link, not followed")
                dirnames.remove(name)
            elif name.startswith("."):
                dirnames.remove(name)
        dirnames.sort()
        for name in sorted(filenames):
            if name not in wanted:
                continue
            path = here / name
            rel = path.relative_to(submission)
            if path.is_symlink() or not path.is_file():
                found.notes.append(f"{rel}: not a regular file (a symbolic link?), refused")
                found.refused.setdefault(name, f"{rel} is not a regular file; upload the notebook")
                continue
            paths.setdefault(name, []).append(str(rel))
    for name, rels in sorted(paths.items()):
        if len(rels) > 1:
            why = f"submitted {len(rels)} times ({', '.join(rels)}); upload one copy"
            found.refused[name] = why
            found.notes.append(f"{name}: {why}")
            continue
        found.notebooks[name] = Path(rels[0])
        found.refused.pop(name, None)
    return found


def results_json(scores: dict[str, Any], found: Collected, seconds: float) -> dict[str, Any]:
    """Gradescope's ``results.json`` from the grader's ``scores.json`` and what was collected."""
    tests = []
    lines = []
    for nb_name, checks in scores["notebooks"].items():
        refused = found.refused.get(nb_name)
        for gid, check in checks.items():
            reason = f"{nb_name} not graded: {refused}" if refused else check["reason"]
            tests.append(
                {
                    "name": safe_text(f"{nb_name}: {gid}"),
                    "score": check["earned"],
                    "max_score": check["possible"],
                    "output": safe_text(reason)[:MAX_OUTPUT],
                }
            )
        total = scores["notebook_totals"][nb_name]
        where = found.notebooks.get(nb_name)
        source = f"graded {where}" if where else f"not graded: {refused or 'not submitted'}"
        lines.append(f"{nb_name}: {total['earned']:g} / {total['possible']:g} ({source})")
    earned, possible = scores["total"]["earned"], scores["total"]["possible"]
    head = f"coursecnn: {earned:g} / {possible:g} points, one test per check."
    text = "\n".join([head, *lines, *(f"note: {n}" for n in found.notes)])
    return {
        "score": earned,
        "execution_time": round(seconds),
        "output": safe_text(text, newlines=True),
        "tests": tests,
    }


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run(root: str | Path, timeout: float = 120, sandbox: str = "auto") -> dict[str, Any]:
    """Grade ``root/submission`` against ``root/source/notebooks``; write and return the results.

    ``sandbox`` goes to ``grade``: ``"auto"`` runs each notebook in bubblewrap where the container
    allows it, else in the container alone, which Gradescope gives each submission.

    Raises ``GradescopeError`` (and writes no ``results.json``) when the grader itself fails, so
    that Gradescope reports a failed autograder instead of a score of 0.
    """
    start = time.monotonic()
    root = Path(root)
    masters = root / "source" / "notebooks"
    graded = [p for p in nbm.notebook_paths(masters) if nbm.has_graded_cells(nbm.read(p))]
    if not graded:
        raise GradescopeError(f"no graded master notebook in {masters}")
    found = collect(root / "submission", {p.name for p in graded})
    with tempfile.TemporaryDirectory(prefix="coursecnn-gradescope-") as tmp:
        submitted, out = Path(tmp) / "submitted", Path(tmp) / "out"
        submitted.mkdir()
        for name, rel in found.notebooks.items():
            shutil.copyfile(root / "submission" / rel, submitted / name)  # no link: see collect
        cmd = [sys.executable, "-m", "coursecnn", "grade", str(submitted), "--master", str(masters)]
        cmd += ["--out", str(out), "--timeout", f"{timeout:g}", "--sandbox", sandbox]
        print("$ " + " ".join(cmd), flush=True)
        code = subprocess.run(cmd, check=False).returncode
        if code != 0 or not (out / "scores.json").is_file():
            raise GradescopeError(f"python -m coursecnn grade exited with {code} (see above)")
        scores = json.loads((out / "scores.json").read_text(encoding="utf-8"))
    results = results_json(scores, found, time.monotonic() - start)
    _write_json(root / "results" / "scores.json", scores)
    _write_json(root / "results" / "results.json", results)
    return results


def main(args: argparse.Namespace) -> int:
    """CLI entry: ``--out`` writes the autograder zip, ``--run`` grades; 0 on success, else 1."""
    if args.timeout <= 0:
        print(f"--timeout: expected seconds > 0, got {args.timeout}", file=sys.stderr)
        return 1
    if args.run:
        try:
            results = run(args.root, args.timeout)
        except GradescopeError as err:
            print(f"gradescope: the grader failed: {err}", file=sys.stderr)
            return 1
        print(f"wrote {Path(args.root) / 'results' / 'results.json'}: {results['score']:g} points")
        return 0
    from coursecnn.grading.gradescope_build import build

    try:
        names = build(args.out, args.master, args.notebooks, args.timeout)
    except ValueError as err:  # MarkupError is a ValueError
        print(f"gradescope refused: {err}", file=sys.stderr)
        return 1
    shipped = [n.removeprefix("notebooks/") for n in names if n.startswith("notebooks/")]
    print(f"wrote {args.out} ({len(names)} files), grading {', '.join(shipped)}")
    print("upload it in Gradescope: Configure Autograder, Zip file upload, Update Autograder")
    return 0
