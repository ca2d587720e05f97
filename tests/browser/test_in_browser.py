"""The widgets and the student's view, in JupyterLab in headless Chromium (marker ``browser``).

For every notebook in ``WIDGETS``: open it (outputs cleared, as a student first sees it), run
all, wait for the kernel to be idle; no error output, no "Error displaying widget"; then for each
of its explorers (a widget output with controls, in page order) move every control once, as a
student would (a select's next option, a slider's handle by the arrow keys, the other toggle
button, the checkbox, a text cell typed into), and require that the picture changes (the bytes
behind the ``img``'s ``src``) and, where the table says so, the readout (the widget's HTML
text). Screenshots of each explorer, as shown and after each move, go to
``artifacts/browser/<notebook>/<k>-<explorer>/``.

For every notebook in ``STUDENT_VIEW``: open its released version, run all; Run All must reach
the last cell, and every graded check must show "not yet answered", without a traceback.

All the notebooks are opened, each in its own tab, and set running before the first test looks
at one, so that their kernels run side by side. Adding a notebook with widgets is one entry in
``WIDGETS``; ``through_last_widget`` opens it cut after its last widget cell, for a notebook
whose later cells (training, say) its widgets do not need.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import labdriver
import pytest
from labdriver import OpenNotebook, controls, move, snapshot, unknown_controls, wait_for_change

from coursecnn.grading import notebook as nbm
from coursecnn.grading.release import RAISES, student_version

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@dataclass(frozen=True)
class Explorer:
    """One widget as the table expects it: how many controls of each kind, and whether each
    move must change its readout (its HTML text) as well as its picture."""

    name: str
    controls: dict[str, int]
    readout: bool = True


@dataclass(frozen=True)
class Widgets:
    notebook: str
    explorers: tuple[Explorer, ...]
    through_last_widget: bool = False  # open the notebook cut after its last widget cell


WIDGETS = (
    Widgets(
        "00_start_here.ipynb",
        (Explorer("digit viewer (interact)", {"slider": 1}, readout=False),),
    ),
    Widgets(
        "02_filters.ipynb",
        (
            Explorer("kernel lab", {"select": 2, "toggle": 2, "slider": 2, "text": 9}),
            Explorer("Gabor explorer", {"slider": 6}),
        ),
    ),
    Widgets(
        "03_pooling_and_activations.ipynb",
        (
            Explorer("pooling explorer", {"toggle": 1, "slider": 4}),
            Explorer("activation explorer", {"select": 1, "slider": 1, "checkbox": 1}),
        ),
    ),
    Widgets(
        "06_alexnet_vgg_nin.ipynb",
        (Explorer("augmentation explorer", {"select": 1, "slider": 6}),),
        through_last_widget=True,
    ),
    Widgets(
        "08_what_cnns_learn.ipynb",
        (Explorer("feature-map explorer", {"select": 1, "slider": 2}),),
        through_last_widget=True,
    ),
)
STUDENT_VIEW = ("01_convolution_math.ipynb",)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()


def _widget_copy(case: Widgets, root: Path) -> str:
    """The master with outputs cleared (cut after its last widget cell if asked) in ``root``."""
    nb = nbm.read(NOTEBOOKS / case.notebook)
    if case.through_last_widget:
        shown = [
            i
            for i, c in enumerate(nb.cells)
            if any(WIDGET_VIEW in o.get("data", {}) for o in c.get("outputs", []))
        ]
        assert shown, f"{case.notebook}: no committed widget output to cut after"
        nb.cells = nb.cells[: shown[-1] + 1]
    nbm.clear_outputs(nb)
    nbm.write_atomic(nb, root / case.notebook)
    return case.notebook


def _student_copy(name: str, root: Path) -> str:
    (root / "student").mkdir(exist_ok=True)
    nbm.write_atomic(student_version(nbm.read(NOTEBOOKS / name), name), root / "student" / name)
    return f"student/{name}"


@pytest.fixture(scope="module")
def tabs(lab, browser, request):
    """``{path: OpenNotebook}``: the notebooks of the selected tests (``-k``) open, each in its
    own tab, Run All started in each."""
    mine = [i for i in request.session.items if getattr(i, "module", None) is request.module]
    params = [i.callspec.params for i in mine if hasattr(i, "callspec")]
    cases = [c for c in WIDGETS if any(p.get("case") == c for p in params)]
    names = [n for n in STUDENT_VIEW if any(p.get("name") == n for p in params)]
    opened: dict[str, OpenNotebook] = {}
    paths = [_widget_copy(c, lab.root) for c in cases]
    paths += [_student_copy(n, lab.root) for n in names]
    try:
        for path in paths:  # all loading, and their kernels starting, at once
            opened[path] = OpenNotebook(browser, lab, path)
        for nb in opened.values():
            nb.ready()
            nb.start_run_all()
        yield opened
    finally:
        for nb in opened.values():
            nb.close()


def _run(nb: OpenNotebook) -> list[dict]:
    nb.wait_run_all()
    cells = nb.cells()
    not_run = [c["index"] for c in cells if c["count"] is None]
    assert not not_run, f"{nb.path}: Run All did not run the cells {not_run}"
    return cells


@pytest.mark.parametrize("case", WIDGETS, ids=[c.notebook for c in WIDGETS])
def test_every_control_changes_the_picture_and_the_readout(case: Widgets, tabs, artifacts):
    nb = tabs[case.notebook]
    cells = _run(nb)
    start = time.monotonic()
    errors = [(c["index"], e["ename"], e["evalue"]) for c in cells for e in c["errors"]]
    assert not errors, f"{case.notebook}: error outputs (cell, exception, message): {errors}"
    assert nb.widget_errors() == 0, f"{case.notebook}: 'Error displaying widget' in the page"
    areas = nb.explorers()
    names = [e.name for e in case.explorers]
    assert len(areas) == len(names), (
        f"{case.notebook}: {len(areas)} widgets with controls in the page, the table expects "
        f"{len(names)} ({names})"
    )
    failures: list[str] = []
    moves = 0
    for k, (area, spec) in enumerate(zip(areas, case.explorers, strict=True), start=1):
        folder = artifacts / Path(case.notebook).stem / f"{k}-{_slug(spec.name)}"
        folder.mkdir(parents=True)
        area.scroll_into_view_if_needed()
        before = snapshot(area)
        assert before.complete, f"{spec.name}: no picture shown ({before.srcs})"
        area.screenshot(path=folder / "00-shown.png")
        unknown = unknown_controls(area)
        assert not unknown, f"{spec.name}: controls of a kind labdriver cannot move: {unknown}"
        found = controls(area)
        kinds = dict(Counter(c.kind for c in found))
        assert kinds == spec.controls, (
            f"{spec.name}: controls found {kinds}, the table expects {spec.controls}"
        )
        todo, step = list(range(len(found))), 0
        for _attempt in range(2):  # a control disabled now (relu has no parameter) gets a 2nd go
            later = []
            for i in todo:
                control = controls(area)[i]  # looked up again: a move may rebuild others
                if control.disabled:
                    later.append(i)
                    continue
                sent = nb.sent()
                did = move(area, control)
                moves, step = moves + 1, step + 1
                after = wait_for_change(nb, area, before, sent)
                what = f"{spec.name}: {control.name}: {did}"
                if after is None:
                    failures.append(f"{what}: the picture did not change")
                    before = snapshot(area)
                    continue
                if spec.readout and after.readout == before.readout:
                    failures.append(f"{what}: the readout did not change ({after.readout!r})")
                area.screenshot(path=folder / f"{step:02d}-{_slug(control.name)}.png")
                before = after
            todo = later
        failures += [f"{spec.name}: {controls(area)[i].name} stayed disabled" for i in todo]
    labdriver.REPORT.append(
        f"{case.notebook}: open {nb.opened_s:.0f} s, Run All {nb.run_s:.0f} s, {moves} moves "
        f"{time.monotonic() - start:.0f} s; screenshots in {artifacts / Path(case.notebook).stem}"
    )
    print(labdriver.REPORT[-1])
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", STUDENT_VIEW)
def test_student_view_every_check_says_not_yet_answered(name: str, tabs, lab, artifacts):
    nb = tabs[f"student/{name}"]
    cells = _run(nb)  # Run All reached the last cell
    released = nbm.read(lab.root / "student" / name)
    folder = artifacts / f"student-{Path(name).stem}"
    folder.mkdir(parents=True)
    problems = []
    checks = 0
    for c in cells:
        cell = released.cells[c["index"]]
        if nbm.is_graded(cell):
            checks += 1
            gid = nbm.grade_id(cell)
            shown = nb.page.locator(".jp-Notebook .jp-Cell").nth(c["index"])
            text = shown.locator(".jp-OutputArea").inner_text()
            error = c["errors"][0] if c["errors"] else {}
            traceback = ANSI.sub("", "\n".join(error.get("traceback", [])))
            if error.get("ename") != "CheckFailed" or "not yet answered" not in text:
                problems.append(f"{gid}: expected 'not yet answered', the page shows {text!r}")
            if "Traceback" in text or "Traceback" in traceback or "File " in traceback:
                problems.append(f"{gid}: a traceback is shown: {text[:300]!r}")
            shown.screenshot(path=folder / f"{gid}.png")
        elif c["errors"] and RAISES not in cell.metadata.get("tags", []):
            problems.append(f"cell {c['index']}: untagged, yet raised {c['errors'][0]['ename']}")
    assert checks, f"{name}: no graded check cell"
    labdriver.REPORT.append(
        f"student/{name}: open {nb.opened_s:.0f} s, Run All {nb.run_s:.0f} s, {checks} checks "
        f"say 'not yet answered'; screenshots in {folder}"
    )
    print(labdriver.REPORT[-1])
    assert not problems, "\n".join(problems)


def test_widget_copy_clears_outputs_and_cuts_after_the_last_widget(tmp_path: Path) -> None:
    """No browser needed: what ``through_last_widget`` opens."""
    case = Widgets("02_filters.ipynb", (), through_last_widget=True)
    nb = nbm.read(tmp_path / _widget_copy(case, tmp_path))
    master = nbm.read(NOTEBOOKS / case.notebook)
    assert [c.id for c in nb.cells] == [c.id for c in master.cells[: len(nb.cells)]]
    assert nb.cells[-1].source.startswith("gabor_explorer(")  # the last widget cell of 02
    assert len(nb.cells) < len(master.cells)
    assert all(c.outputs == [] for c in nb.cells if c.cell_type == "code")
    full = nbm.read(tmp_path / _widget_copy(Widgets("02_filters.ipynb", ()), tmp_path))
    assert len(full.cells) == len(master.cells)
