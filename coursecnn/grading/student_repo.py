"""A repository for students, without the solutions: ``./course release --repo DIR``.

It holds what ``./course lab``, ``check`` and ``fresh`` need and nothing that holds an answer:
the package (``coursecnn/``, the course's public reference code), the shipped data (``data/``,
the files of the package's manifest and their README), ``pyproject.toml``, ``environment.yml``,
the ``course`` script, ``LICENSE``, ``.gitignore``, a README for students, and in ``notebooks/``
the masters with every solution region emptied (``blank_master``). Tests, scripts, benchmarks and
CI are left out: they hold or need the solutions. No git history is copied.

``notebooks/`` there plays the masters' part: ``./course lab`` releases from it the same student
copies as here, and ``./course check`` puts its check cells back before grading. They keep the
markers around the stub and carry no ``raises-exception`` tag, so a restored check cell that fails
still scores 0 (a released copy's tag would let nbval pass it).

The repository is built in a temporary folder beside ``DIR``, then renamed into place.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from coursecnn.grading import notebook as nbm

#: Files copied from the course repository as they are (those missing are skipped, but for
#: ``REQUIRED``).
FILES = ("pyproject.toml", "environment.yml", "course", "LICENSE", ".gitignore")
REQUIRED = ("pyproject.toml", "course", "coursecnn", "data")
#: The shipped data files, by name (``coursecnn.data.samples`` verifies them on every load).
MANIFEST = "coursecnn/data/manifest.json"
#: Sections of the course README that hold for the students' repository too.
README_SECTIONS = ("## What the course covers", "## Using a GPU", "## Data")
#: The sections after which the students' own section on exercises comes.
BEFORE_EXERCISES = "## What the course covers"
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".*")

STUDENT_README = """\
# coursecnn, the student's repository

A course on convolutional neural networks: ordered Jupyter notebooks that teach, and the Python
package `coursecnn` that they import. This copy is for students: its notebooks hold the
exercises without their solutions (it was made with `./course release --repo`).

## Start

You need Linux or macOS, Python 3.11 or newer, about 7 GB of disk and, for the first install only,
access to PyPI. Then, from this folder:

```bash
./course lab     # set up (first time only) and open the course in JupyterLab, on your own copies
```

It creates a virtual environment in `.venv` when there is none, installs the package with
everything it needs (reinstalling only when `pyproject.toml` changes), and is safe to re-run.
Everything runs offline on the data shipped in `data/`. Start with `00_start_here.ipynb`.
Conda users can instead run `conda env create -f environment.yml && conda activate coursecnn`,
then `python -m coursecnn workspace` (it makes `my_course/`) and `jupyter lab my_course`.

**Two folders.** `notebooks/` holds the course's copies, exercises empty. `./course lab` opens
yours, in `my_course/` (git-ignored): the first time it releases your copies there (outputs
cleared), and each later time it only adds notebooks that are new in `notebooks/`, never
overwriting a file you have. `COURSECNN_WORK=DIR` puts your copies elsewhere.
"""

EXERCISES = """
## Graded exercises

In each solution cell replace `# YOUR CODE HERE` and
`raise NotImplementedError()` with your code, run it, then run the check cell below it: it says
"not yet answered" until you have answered, else what it expected, what came back and the likely
mistake. Do not edit check cells: they are put back before grading. `./course check` grades your
copies as the instructor will (check cells restored, every notebook run from the top) and prints
the points of each check and a total; `./course check 03` grades one notebook. `./course fresh 03`
writes a fresh copy of one notebook and keeps your old one beside it, renamed. Before handing in,
run *Kernel -> Restart Kernel and Run All Cells*, and keep the notebooks' file names.
"""


def blank_master(nb: Any, name: str) -> Any:
    """A copy of master ``nb`` with every solution region emptied (markers kept, the stub
    inside), outputs and widget state cleared; metadata kept, no tag added. ``MarkupError``
    (naming ``name`` and the cell) on bad markup."""
    nbm.validate(nb, name)
    out = copy.deepcopy(nb)
    for cell in out.cells:
        if cell.cell_type == "code":
            cell.source = nbm.blank_solutions(cell.source)
    nbm.clear_outputs(out)
    return out


def course_root() -> Path:
    """The course repository this package runs from (the folder above ``coursecnn/``)."""
    return Path(__file__).resolve().parents[2]


def _readme(root: Path) -> str:
    """The student README: its own opening, then the course README's sections that hold."""
    text = STUDENT_README
    source = root / "README.md"
    course = source.read_text(encoding="utf-8") if source.is_file() else ""
    for heading in README_SECTIONS:
        start = course.find("\n" + heading + "\n")
        if start >= 0:
            end = course.find("\n## ", start + 1)
            text += course[start : end if end >= 0 else len(course)].rstrip() + "\n"
        if heading == BEFORE_EXERCISES:
            text += EXERCISES
    return text


def _refuse_dest(dest: Path, sources: list[Path]) -> None:
    if dest.exists() and not dest.is_dir():
        raise ValueError(f"repo: expected a new or empty folder, got the file {dest}")
    if dest.is_dir() and any(dest.iterdir()):
        raise ValueError(f"repo: {dest} exists and is not empty; name a new or empty folder")
    resolved = dest.resolve()
    for source in sources:
        if resolved == source or source in resolved.parents:
            raise ValueError(f"repo: {dest} lies in {source}, which is copied; name another folder")


def build_student_repo(
    dest: str | Path, master: str | Path | None = None, root: str | Path | None = None
) -> list[Path]:
    """Write the students' repository into the new or empty folder ``dest``; return the
    notebooks written there.

    ``master``: the folder of master notebooks (default ``root/notebooks``); ``root``: the course
    repository whose package, data and scripts are copied (default ``course_root()``). Raises
    ``ValueError`` naming the argument (``MarkupError`` for a master's markup) and writes nothing.
    """
    root = Path(root).resolve() if root is not None else course_root()
    master = Path(master) if master is not None else root / "notebooks"
    dest = Path(dest)
    missing = [name for name in REQUIRED if not (root / name).exists()]
    if missing:
        raise ValueError(f"root: {root} is not the course repository (no {', '.join(missing)})")
    if not master.is_dir():
        raise ValueError(f"source: expected a folder of master notebooks, got {master}")
    paths = nbm.notebook_paths(master)
    if not paths:
        raise ValueError(f"source: no notebooks (*.ipynb) in {master}")
    _refuse_dest(dest, [root, root / "coursecnn", root / "data", master.resolve()])
    blanks = []
    for path in paths:  # every master is checked before anything is written
        try:
            nb = nbm.read(path)
        except Exception as err:  # nbformat raises several kinds for a broken file
            raise nbm.MarkupError(f"{path.name}: cannot read the notebook: {err}") from None
        blanks.append((path.name, blank_master(nb, path.name)))

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        shutil.copytree(root / "coursecnn", tmp / "coursecnn", ignore=_SKIP)
        (tmp / "data").mkdir()
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
        for name in ("README.md", *manifest):
            if (root / "data" / name).is_file():
                shutil.copy2(root / "data" / name, tmp / "data" / name)
        for name in FILES:
            if (root / name).is_file():
                shutil.copy2(root / name, tmp / name)
        (tmp / "README.md").write_text(_readme(root), encoding="utf-8")
        (tmp / "notebooks").mkdir()
        for name, nb in blanks:
            nbm.write_atomic(nb, tmp / "notebooks" / name)
        os.replace(tmp, dest)  # an empty dest is replaced; anything else was refused above
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [dest / "notebooks" / name for name, _ in blanks]
