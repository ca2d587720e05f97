"""What the website shows: each notebook's page source and the front page.

A page is the notebook's student version with its outputs kept (``student_version(...,
keep_outputs=True)``: no solution, and the solution cells' outputs removed), each widget output
replaced by its preview (:func:`coursecnn.book.pictures.preview`) and the prose's references to
other notebooks made links (:func:`coursecnn.book.links.link_notebooks`). The front page is the
README's opening paragraph and its table of the course.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from nbformat.v4 import new_output

from coursecnn.book.links import link_notebooks
from coursecnn.book.pictures import PNG, preview, widget_outputs
from coursecnn.grading import notebook as nbm
from coursecnn.grading.release import student_version

TABLE_HEADING = "## What the course covers"
ABOUT_SITE = (
    "These pages are the notebooks as a student receives them, with the outputs of the "
    "instructor's run: each exercise is left for you to write (`# YOUR CODE HERE`) and shows no "
    "output, the cells after it show what a correct answer gives, and each widget is shown as a "
    "picture of its default state. To run the notebooks and use the widgets, get the course and "
    "open it in JupyterLab with `./course lab`."
)


def solution_lines(*nbs: Any, shortest: int = 12) -> set[str]:
    """The lines (stripped, at least ``shortest`` characters) of the solution regions of the
    notebooks ``nbs`` that appear nowhere else in them: what the site must not show."""
    inside: set[str] = set()
    outside: set[str] = set()
    for cell in (cell for nb in nbs for cell in nb.cells):
        regions = nbm.solution_regions(cell.source) if cell.cell_type == "code" else []
        hidden = {i for begin, end in regions for i in range(begin + 1, end)}
        for i, line in enumerate(cell.source.splitlines()):
            (inside if i in hidden else outside).add(line.strip())
    return {line for line in inside - outside if len(line) >= shortest}


def page_text(nb: Any) -> str:
    """Every text a page shows: cell sources and the text of every output."""
    parts = []
    for cell in nb.cells:
        parts.append(cell.source)
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append("\n".join(output.get("traceback", [])))
            for mime, value in output.get("data", {}).items():
                if mime.startswith("text/"):
                    parts.append("".join(value) if isinstance(value, list) else value)
    return "\n".join(parts)


def page_notebook(nb: Any, name: str, names: Iterable[str]) -> Any:
    """The site's copy of the master notebook ``nb`` (file ``name``); ``names``: every notebook
    of the course, for the links. ``ValueError`` for a widget output without a picture, and for
    a page that would show a line of a solution."""
    names = list(names)
    page = student_version(nb, name, keep_outputs=True)
    for index, cell, output in list(widget_outputs(page)):
        picture = output.data.get(PNG)
        if not picture:
            raise ValueError(
                f"{name}: {nbm.cell_label(index, cell)}: a widget output without a picture "
                f"({PNG}); store one with `./course regen --pictures notebooks/{name}`"
            )
        figure = new_output(
            "display_data",
            data={
                "text/html": preview(picture, "the widget's picture at its default settings"),
                "text/plain": "a picture of the widget; the widget is live in JupyterLab",
            },
        )
        cell.outputs[cell.outputs.index(output)] = figure
    for cell in page.cells:
        if cell.cell_type == "markdown":
            cell.source = link_notebooks(cell.source, names, this=name)
    shown = {line.strip() for line in page_text(page).splitlines()}
    leaked = sorted(solution_lines(nb) & shown)
    if leaked:
        raise ValueError(f"{name}: the page would show lines of the solutions: {leaked[:3]}")
    return page


def front_page(readme: str, names: Iterable[str]) -> str:
    """The front page (MyST markdown): the README's title and opening paragraph, a word on what
    the site shows, and the README's table of the course with each notebook linked."""
    names = list(names)
    title = re.search(r"^# (.+)$", readme, re.MULTILINE)
    if title is None:
        raise ValueError("readme: expected a '# title' line, found none")
    opening = readme[title.end() :].strip().split("\n\n", 1)[0].strip()
    section = readme.split(f"\n{TABLE_HEADING}\n", 1)
    if len(section) != 2:
        raise ValueError(f"readme: expected a {TABLE_HEADING!r} section, found none")
    table = re.match(r"\s*((?:\|[^\n]*\n?)+)", section[1])
    if table is None:
        raise ValueError(f"readme: expected a table right under {TABLE_HEADING!r}")
    rows = link_notebooks(table.group(1).strip(), names)
    return f"# {title.group(1).strip()}\n\n{opening}\n\n{ABOUT_SITE}\n\n{TABLE_HEADING}\n\n{rows}\n"
