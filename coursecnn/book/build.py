"""Build the course website: ``./course book [--out DIR]`` (``python -m coursecnn book``).

The pages (:mod:`coursecnn.book.pages`) are written to a temporary folder with Jupyter Book's
``_config.yml`` and ``_toc.yml``, and Jupyter Book 1 builds them without running a notebook
(``execute_notebooks: off``). MathJax comes with the site (``sphinx-mathjax-offline``), so the
maths is typeset with no network. Any Sphinx warning (a broken link, bad markup) fails the build.
The site replaces ``out`` only once it is built; a folder that is not a site built here is never
replaced.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from coursecnn.book.pages import front_page, page_notebook
from coursecnn.grading import notebook as nbm

MARK = ".coursecnn-book"  # the file that says a folder is a site built here
CONFIG = {
    "title": "coursecnn",
    "author": "coursecnn",
    "only_build_toc_files": True,
    "execute": {"execute_notebooks": "off"},
    "parse": {"myst_enable_extensions": ["amsmath", "colon_fence", "dollarmath"]},
    "html": {"use_repository_button": False, "home_page_in_navbar": True},
    "sphinx": {
        "extra_extensions": ["sphinx-mathjax-offline"],
        "config": {"html_show_copyright": False, "html_show_sphinx": False},
    },
}


def write_sources(master: Path, readme: Path, folder: Path) -> list[str]:
    """Write the pages, the front page, ``_config.yml`` and ``_toc.yml`` into ``folder``; return
    the notebook names. Every notebook is prepared before any file is written."""
    paths = nbm.notebook_paths(master)
    if not paths:
        raise ValueError(f"master: no notebooks (*.ipynb) in {master}")
    names = [p.name for p in paths]
    pages = [(p.name, page_notebook(nbm.read(p), p.name, names)) for p in paths]
    index = front_page(readme.read_text(encoding="utf-8"), names)
    folder.mkdir(parents=True, exist_ok=True)
    for name, nb in pages:
        nbm.write_atomic(nb, folder / name)
    (folder / "index.md").write_text(index, encoding="utf-8")
    toc = {
        "format": "jb-book",
        "root": "index",
        "chapters": [{"file": Path(n).stem} for n in names],
    }
    for file, content in (("_config.yml", CONFIG), ("_toc.yml", toc)):  # JSON is YAML
        (folder / file).write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
    return names


def _check_out(out: Path, master: Path) -> None:
    """Refuse an ``out`` that is the notebooks' folder or a folder this did not build."""
    if out.exists() and out.resolve() == master.resolve():
        raise ValueError(f"out: {out} is the notebooks' folder; pick another folder")
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARK).exists())):
        raise ValueError(
            f"out: {out} exists and is not a site built by ./course book; pick another folder "
            "or remove it"
        )


def build(master: str | Path, out: str | Path, readme: str | Path) -> Path:
    """Build the site of the notebooks in ``master`` into ``out``; return ``out/index.html``.

    ``ValueError`` for a bad argument or a notebook that cannot be shown (its markup, a widget
    without a picture); ``RuntimeError`` when Jupyter Book fails (its output in the message).
    """
    master, out, readme = Path(master), Path(out), Path(readme)
    if not master.is_dir():
        raise ValueError(f"master: expected a folder of notebooks, got {master}")
    if not readme.is_file():
        raise ValueError(f"readme: expected the README file, got {readme}")
    _check_out(out, master)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{out.name}.", dir=out.parent) as tmp:
        work = Path(tmp)
        write_sources(master, readme, work / "src")
        command = [
            sys.executable,
            "-c",
            "from jupyter_book.cli.main import main; main()",
            "build",
            str(work / "src"),
            "--path-output",
            str(work / "build"),
            "--builder",
            "html",
            "--warningiserror",
            "--keep-going",
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        html = work / "build" / "_build" / "html"
        if done.returncode != 0 or not (html / "index.html").is_file():
            raise RuntimeError(
                f"jupyter-book build failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
            )
        (html / MARK).write_text("built by ./course book; replaced by the next build\n")
        if out.exists():
            out.rename(work / "old")
        html.rename(out)
    return out / "index.html"


def main(args: argparse.Namespace) -> int:
    """CLI entry: build the site; 0 on success, 1 on a refusal or a failed build."""
    start = time.monotonic()
    try:
        index = build(args.master, args.out, args.readme)
    except (ValueError, RuntimeError) as err:
        print(f"book: {err}", file=sys.stderr)
        return 1
    print(f"built the site in {time.monotonic() - start:.0f} s: {index}")
    return 0
