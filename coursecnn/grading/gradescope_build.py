"""Gradescope's autograder zip: ``python -m coursecnn gradescope --out autograder.zip``.

At the zip's root (Gradescope unpacks it into ``/autograder/source``):

- ``setup.sh``, which Gradescope runs once, as root, on its Ubuntu image: bubblewrap, Python
  >= 3.11 (from Ubuntu's packages where the image has none), a virtual environment in ``/autograder/venv``
  with CPU-only torch, and the course installed from these files;
- ``run_autograder``, which Gradescope runs for each submission (see ``gradescope``);
- the course's files: ``pyproject.toml``, ``README.md``, ``LICENSE``, the package
  ``coursecnn/`` (no caches), ``data/`` (the shipped files that ``coursecnn/data/manifest.json``
  names, and ``data/README.md``) and ``notebooks/`` (the graded masters, or those named, with
  their outputs cleared).

The requirements in ``setup.sh`` are read from ``pyproject.toml``; entries carry a fixed date,
so the same files make the same zip.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import tomllib
import zipfile
from pathlib import Path

import nbformat

from coursecnn.grading import notebook as nbm

PACKAGE = Path(__file__).resolve().parents[1]  # coursecnn/
DATE = (2020, 1, 1, 0, 0, 0)  # every entry's timestamp: the zip depends on the files alone
COURSE_FILES = ("pyproject.toml", "README.md", "LICENSE")

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder's image (an Ubuntu base
# image: 22.04, Gradescope's default, or 24.04). It installs Python >= 3.11 (Ubuntu's python3.11
# where python3 is older), a virtual environment in /autograder/venv with CPU-only torch, and the
# course from /autograder/source. Written by `./course gradescope`.
set -euo pipefail
SRC=/autograder/source
VENV=/autograder/venv

find_python() {{
    local cand
    for cand in python3.13 python3.12 python3.11 python3; do
        if command -v "$cand" >/dev/null 2>&1 &&
            "$cand" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
            command -v "$cand"
            return 0
        fi
    done
    return 1
}}

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y bubblewrap  # grading sandboxes each notebook where the container allows it
if ! PY=$(find_python); then
    apt-get install -y python3.11 python3.11-venv
    PY=$(find_python)
fi
if ! "$PY" -m venv "$VENV"; then  # Ubuntu packages the venv module apart
    apt-get install -y "python$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')-venv"
    "$PY" -m venv --clear "$VENV"
fi
"$VENV/bin/python" -m pip install --upgrade pip
# CPU-only builds: Gradescope's machines have no GPU, and CUDA's wheels are gigabytes.
"$VENV/bin/python" -m pip install --index-url https://download.pytorch.org/whl/cpu {torch}
"$VENV/bin/python" -m pip install -e "$SRC" {grader}
"$VENV/bin/python" -m coursecnn info
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for each submission (copied to /autograder/run_autograder, run in
# /autograder): it grades the notebooks under $ROOT/submission with the course's grader
# (`python -m coursecnn grade`, {timeout} s per cell) and writes $ROOT/results/results.json.
# COURSECNN_GRADESCOPE_ROOT (default /autograder) and COURSECNN_PYTHON (default the virtual
# environment setup.sh made) let a test run it elsewhere. Written by `./course gradescope`.
set -euo pipefail
ROOT=${{COURSECNN_GRADESCOPE_ROOT:-/autograder}}
PY=${{COURSECNN_PYTHON:-$ROOT/venv/bin/python}}
export PYTHONPATH="$ROOT/source${{PYTHONPATH:+:$PYTHONPATH}}"
cd "$ROOT/source"
exec "$PY" -m coursecnn gradescope --run --root "$ROOT" --timeout {timeout}
"""


def requirements(pyproject: str) -> tuple[list[str], list[str]]:
    """``(torch and torchvision, pytest and nbval)``: the lines of ``pyproject.toml`` for them."""
    project = tomllib.loads(pyproject)["project"]
    reqs = list(project["dependencies"]) + list(project["optional-dependencies"]["test"])
    by_name = {re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0].lower(): r for r in reqs}
    missing = [n for n in ("torch", "torchvision", "pytest", "nbval") if n not in by_name]
    if missing:
        raise ValueError(f"pyproject.toml: expected requirements for {missing}, found none")
    return [by_name["torch"], by_name["torchvision"]], [by_name["pytest"], by_name["nbval"]]


def select(master: Path, wanted: list[str] | None) -> list[Path]:
    """The graded masters in ``master``, or those whose names start with one of ``wanted``."""
    if not master.is_dir():
        raise ValueError(f"master: expected a folder of master notebooks, got {str(master)!r}")
    graded = [p for p in nbm.notebook_paths(master) if nbm.has_graded_cells(nbm.read(p))]
    if not graded:
        raise ValueError(f"master: no notebook in {master} has a graded check cell")
    if not wanted:
        return graded
    chosen = []
    for key in wanted:
        hits = [p for p in graded if p.stem == key or p.stem.startswith(f"{key}_")]
        if len(hits) != 1:
            names = ", ".join(p.stem.split("_")[0] for p in graded)
            raise ValueError(f"notebooks: expected one of {names}, got {key!r}")
        if hits[0] not in chosen:
            chosen.append(hits[0])
    return sorted(chosen)


def _package_files() -> list[Path]:
    files = []
    for dirpath, dirnames, filenames in os.walk(PACKAGE):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" and not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith(".") and not name.endswith((".pyc", ".pyo")):
                files.append(Path(dirpath) / name)
    return files


def entries(
    master: Path, notebooks: list[str] | None, timeout: int
) -> list[tuple[str, bytes, int]]:
    """``[(name in the zip, bytes, mode), ...]``; ``ValueError`` for bad input."""
    if timeout <= 0:
        raise ValueError(f"timeout: expected seconds > 0, got {timeout}")
    course = PACKAGE.parent
    absent = [n for n in COURSE_FILES if not (course / n).is_file()]
    if absent:
        raise ValueError(f"the course's files {absent} are not beside the package in {course}")
    masters = select(master, notebooks)
    for path in masters:  # refuse broken markup before anything is written
        nbm.validate(nbm.read(path), path.name)
    pyproject = (course / "pyproject.toml").read_text(encoding="utf-8")
    torch, grader = requirements(pyproject)
    setup = SETUP_SH.format(torch=_words(torch), grader=_words(grader))
    out = [
        ("setup.sh", setup.encode(), 0o755),
        ("run_autograder", RUN_AUTOGRADER.format(timeout=timeout).encode(), 0o755),
    ]
    out += [(n, (course / n).read_bytes(), 0o644) for n in COURSE_FILES]
    out += [(p.relative_to(course).as_posix(), p.read_bytes(), 0o644) for p in _package_files()]
    manifest = json.loads((PACKAGE / "data" / "manifest.json").read_text(encoding="utf-8"))
    for name in ["README.md", *manifest]:
        if (course / "data" / name).is_file():
            out.append((f"data/{name}", (course / "data" / name).read_bytes(), 0o644))
    for path in masters:  # outputs cleared: grading clears them anyway, and they are most bytes
        nb = nbm.read(path)
        nbm.clear_outputs(nb)
        out.append((f"notebooks/{path.name}", (nbformat.writes(nb) + "\n").encode(), 0o644))
    return out


def _words(reqs: list[str]) -> str:
    """The requirements quoted for bash."""
    return " ".join("'" + r.replace("'", "'\\''") + "'" for r in reqs)


def build(
    out: str | Path,
    master: str | Path = "notebooks",
    notebooks: list[str] | None = None,
    timeout: int = 120,
) -> list[str]:
    """Write the autograder zip to ``out`` (a temporary file, then moved); return its names."""
    out = Path(out)
    if out.suffix != ".zip":
        raise ValueError(f"out: expected a file name ending in .zip, got {str(out)!r}")
    files = entries(Path(master), notebooks, timeout)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp makes it private; the zip is meant to be uploaded
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data, mode in files:
                info = zipfile.ZipInfo(name, date_time=DATE)
                info.external_attr = (0o100000 | mode) << 16  # a regular file, with its mode
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, data)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return [name for name, _, _ in files]
