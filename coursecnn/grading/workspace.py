"""The student's work folder: released copies of the notebooks that are never overwritten.

``./course lab`` calls :func:`sync` before it opens JupyterLab: the first time it releases every
master notebook into the work folder (``my_course/`` by default); later it adds only the
notebooks that are new among the masters and leaves every file the student already has alone.
:func:`fresh` gives one notebook a fresh student copy, keeping the old one under another name.
:func:`check` is the student's own graded run (``./course check``): the same grading as
``grade``, on the work folder, with points per check and a total printed in the terminal.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from coursecnn.grading import notebook as nbm
from coursecnn.grading.grade import (
    NotebookResult,
    format_notebook,
    format_total,
    grade_notebook,
    read_graded_masters,
)
from coursecnn.grading.release import student_version


def sync(master: str | Path, work: str | Path) -> tuple[list[Path], list[Path]]:
    """Release into ``work`` every master notebook it does not have yet.

    Returns ``(added, kept)``: the notebooks written now and those already there (untouched).
    Every master is checked first, so a markup error writes nothing.
    """
    master, work = Path(master), Path(work)
    if not master.is_dir():
        raise ValueError(f"master: expected a folder of notebooks, got {master}")
    if work.exists() and work.resolve() == master.resolve():
        raise ValueError(f"work: {work} is the master folder; the solutions would be handed out")
    missing, kept = [], []
    for path in nbm.notebook_paths(master):
        (kept if (work / path.name).exists() else missing).append(path)
    students = [(p.name, student_version(nbm.read(p), p.name)) for p in missing]
    work.mkdir(parents=True, exist_ok=True)
    for name, nb in students:
        nbm.write_atomic(nb, work / name)
    return [work / p.name for p in missing], [work / p.name for p in kept]


def resolve_names(master: Path, names: list[str]) -> list[Path]:
    """Master notebooks by name: ``03``, ``03_pooling_and_activations`` or the file name."""
    paths = nbm.notebook_paths(master)
    chosen = []
    for name in names:
        stem = Path(name).name.removesuffix(".ipynb")
        hits = [p for p in paths if p.stem == stem] or [p for p in paths if p.stem.startswith(stem)]
        if len(hits) != 1:
            known = ", ".join(p.stem for p in paths)
            what = "matches several" if hits else "matches no"
            raise ValueError(f"notebook: {name!r} {what} notebook in {master} ({known})")
        chosen.append(hits[0])
    return chosen


def fresh(master: str | Path, work: str | Path, name: str) -> tuple[Path, Path | None]:
    """A fresh student copy of one notebook in ``work``; the old copy is renamed, not deleted.

    Returns ``(new copy, where the old one went or None)``.
    """
    master, work = Path(master), Path(work)
    (path,) = resolve_names(master, [name])
    nb = student_version(nbm.read(path), path.name)
    target = work / path.name
    kept = None
    if target.exists():
        stamp = time.strftime("%Y%m%d-%H%M%S")
        kept = work / f"{path.stem}.old-{stamp}.ipynb"
        target.rename(kept)
    work.mkdir(parents=True, exist_ok=True)
    nbm.write_atomic(nb, target)
    return target, kept


def check(
    work: str | Path,
    master: str | Path,
    names: list[str] | None = None,
    timeout: float = 600,
    echo: bool = True,
    sandbox: str = "auto",
) -> list[NotebookResult]:
    """Grade the student's notebooks in ``work`` against ``master``; print a table per notebook.

    ``names`` picks notebooks (``03``, ``03_pooling_and_activations``, ...); by default every
    graded notebook that the work folder holds. Locked cells are put back from the masters, as
    ``grade`` does, and the checks decide outside the kernel, so the points and reasons are the
    ones a grader would get. ``sandbox``: ``"auto"`` uses bubblewrap where it works.
    """
    work, master = Path(work), Path(master)
    if not work.is_dir():
        raise ValueError(f"work: no such folder {work}; `./course lab` makes it")
    graded = read_graded_masters(master)
    if names:
        wanted = {p.name for p in resolve_names(master, names)}
        chosen = [p for p in graded if p.name in wanted]
        if not chosen:
            raise ValueError(f"notebook: none of {names} has graded checks")
    else:
        chosen = [p for p in graded if (work / p.name).exists()]
        if not chosen:
            raise ValueError(f"work: {work} holds none of the graded notebooks")
    import tempfile

    from coursecnn.grading.grade import resolve_sandbox
    from coursecnn.grading.intake import copy_submission

    mode = resolve_sandbox(sandbox)
    results = []
    with tempfile.TemporaryDirectory(prefix="coursecnn-check-") as tmp:
        copy = Path(tmp) / "copy"
        refused = copy_submission(work, copy, max_depth=0)
        for m in chosen:
            results.append(grade_notebook(m, copy, timeout, sandbox=mode, refused=refused))
            if echo:
                print(format_notebook(results[-1]), flush=True)
    if echo:
        print(format_total(results), flush=True)
    return results


def main(args: argparse.Namespace) -> int:
    """CLI for ``workspace`` (sync, or ``--fresh NAME``) and ``check``."""
    try:
        if args.command == "check":
            check(args.work, args.master, args.notebooks, args.timeout)
            return 0
        if args.fresh:
            new, old = fresh(args.master, args.work, args.fresh)
            print(f"fresh copy: {new}" + (f" (your old one is now {old.name})" if old else ""))
            return 0
        added, kept = sync(args.master, args.work)
    except ValueError as err:  # MarkupError is a ValueError
        print(f"{args.command}: {err}", file=sys.stderr)
        return 2
    work = Path(args.work)
    if added and not kept:
        print(f"== your work lives in {work}: {len(added)} student notebooks released there")
    elif added:
        names = ", ".join(p.name for p in added)
        print(f"== your work lives in {work}; new notebooks added: {names}")
    else:
        print(f"== your work lives in {work} ({len(kept)} notebooks; none is new)")
    print(
        "   Nothing there is ever overwritten. A fresh copy of one notebook: "
        "./course fresh NN (the old one is kept, renamed).\n"
        "   Your graded checks: ./course check [NN ...].  "
        "The instructor's copies: ./course lab --solutions"
    )
    return 0
