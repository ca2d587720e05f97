"""The course website's pages, without building it (coursecnn.book; the build and the pages in
Chromium: tests/browser/test_book.py): the student versions with outputs, the widgets' pictures,
the links between notebooks, the front page, and what the committed notebooks must hold for it."""

from __future__ import annotations

import base64
import copy
import importlib.util
import json
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from coursecnn.__main__ import main as cli
from coursecnn.book.build import build, write_sources
from coursecnn.book.links import link_notebooks, notebook_files
from coursecnn.book.pages import front_page, page_notebook, page_text, solution_lines
from coursecnn.book.pictures import (
    LIVE_LINE,
    PNG,
    WIDGET_STATE,
    WIDGET_VIEW,
    picture_in_state,
    preview,
    store_pictures,
    widget_outputs,
)
from coursecnn.grading import notebook as nbm
from coursecnn.grading.release import RAISES, student_version

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
NAMES = [p.name for p in nbm.notebook_paths(NOTEBOOKS)]
# A 1x1 PNG: what a widget's picture looks like in a notebook (base64).
PIXEL = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d4944415478da63f8cf000000030101005c2ec8e60000000049454e44ae426082"
    )
).decode()
COURSE = ["00_start_here.ipynb", "01_convolution_math.ipynb", "03_pooling_and_activations.ipynb"]


def widget_output(model_id: str, picture: str | None = None) -> nbformat.NotebookNode:
    data = {WIDGET_VIEW: {"model_id": model_id, "version_major": 2, "version_minor": 0}}
    data["text/plain"] = "<SomeExplorer: an ipywidgets explorer>"
    if picture:
        data[PNG] = picture
    return new_output("display_data", data=data)


def master() -> nbformat.NotebookNode:
    """A master with an exercise whose cell printed, its check, a figure and a widget."""
    solution = new_code_cell(
        "def area(w, h):\n    ### BEGIN SOLUTION\n    product_of_the_sides = w * h\n"
        "    return product_of_the_sides\n    ### END SOLUTION\nprint(area(2, 3))",
        outputs=[new_output("stream", name="stdout", text="6\n")],
        execution_count=2,
    )
    solution.metadata["nbgrader"] = {"grade": False, "solution": True, "locked": False,
                                     "grade_id": "ex_area", "schema_version": 3}  # fmt: skip
    check = new_code_cell(
        "check_area(area)",
        outputs=[new_output("stream", name="stdout", text="[area] passed\n")],
        execution_count=3,
    )
    check.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
                                  "grade_id": "check_area", "points": 1, "schema_version": 3}  # fmt: skip
    nb = new_notebook()
    nb.cells = [
        new_markdown_cell("# 01 · Tiny\nAs notebook 00 showed, and notebook 01 says again."),
        new_code_cell("x = 1", execution_count=1),
        solution,
        check,
        new_code_cell("plot()", outputs=[new_output("display_data", data={PNG: PIXEL})]),
        new_code_cell("explore()", outputs=[widget_output("m1", PIXEL)], execution_count=5),
    ]
    nb.metadata["widgets"] = {WIDGET_STATE: {"state": {}}}
    return nb


# ------------------------------------------------------------------ student versions with outputs


def test_keep_outputs_clears_only_the_solution_cells() -> None:
    nb = master()
    before = copy.deepcopy(nb)
    page = student_version(nb, "01_tiny.ipynb", keep_outputs=True)
    assert nb == before  # the master is left as it was
    solution, check = page.cells[2], page.cells[3]
    assert "product_of_the_sides" not in solution.source
    assert "raise NotImplementedError()" in solution.source
    assert solution.outputs == [] and solution.execution_count is None
    assert check.outputs[0].text == "[area] passed\n" and check.execution_count == 3
    assert page.cells[4].outputs == nb.cells[4].outputs
    assert page.cells[1].execution_count == 1
    assert RAISES in solution.metadata["tags"] and RAISES in check.metadata["tags"]
    assert "widgets" not in page.metadata
    plain = student_version(nb, "01_tiny.ipynb")  # the release: every output cleared
    assert all(c.outputs == [] for c in plain.cells if c.cell_type == "code")


def test_solution_lines_are_those_only_the_solutions_hold() -> None:
    nb = master()
    assert solution_lines(nb) == {"product_of_the_sides = w * h", "return product_of_the_sides"}
    assert solution_lines(nb, shortest=30) == set()
    other = new_notebook(cells=[new_code_cell("return product_of_the_sides")])
    assert solution_lines(nb, other) == {"product_of_the_sides = w * h"}


# ------------------------------------------------------------------ the site's page of a notebook


def test_page_shows_each_widget_as_its_picture_with_the_live_line() -> None:
    page = page_notebook(master(), "01_tiny.ipynb", COURSE)
    shown = page.cells[5].outputs
    assert len(shown) == 1 and WIDGET_VIEW not in shown[0].data
    figure = shown[0].data["text/html"]
    assert f'src="data:image/png;base64,{PIXEL}"' in figure
    assert LIVE_LINE in figure and "live in JupyterLab" in LIVE_LINE
    assert list(widget_outputs(page)) == []
    assert page.cells[4].outputs[0].data[PNG] == PIXEL  # a plain figure stays as it is


def test_page_refuses_a_widget_without_a_picture() -> None:
    nb = master()
    nb.cells[5].outputs = [widget_output("m1")]
    nb.cells[5].id = "widget-cell"
    with pytest.raises(ValueError, match=r"01_tiny.ipynb: cell 5 \(id 'widget-cell'\).*--pictures"):
        page_notebook(nb, "01_tiny.ipynb", COURSE)


def test_page_refuses_an_output_that_shows_a_solution_line() -> None:
    nb = master()
    nb.cells[4].outputs.append(
        new_output("stream", name="stdout", text="    product_of_the_sides = w * h\n")
    )
    with pytest.raises(ValueError, match="product_of_the_sides = w \\* h"):
        page_notebook(nb, "01_tiny.ipynb", COURSE)


def test_page_links_the_other_notebooks_not_itself() -> None:
    page = page_notebook(master(), "01_convolution_math.ipynb", COURSE)
    assert page.cells[0].source == (
        "# 01 · Tiny\nAs [notebook 00](00_start_here.ipynb) showed, and notebook 01 says again."
    )


def test_preview_refuses_a_damaged_picture() -> None:
    assert preview(PIXEL[:20] + "\n" + PIXEL[20:], "alt") == preview(PIXEL, "alt")
    with pytest.raises(ValueError):
        preview("not a picture!", "alt")


# ------------------------------------------------------------------ pictures from the widget state


def test_picture_in_state_finds_an_explorers_image_and_interacts_output() -> None:
    layout = {"model_name": "LayoutModel", "state": {}}
    slider = {"model_name": "IntSliderModel", "state": {"layout": "IPY_MODEL_lay"}}
    image = {
        "model_name": "ImageModel",
        "state": {"format": "png", "layout": "IPY_MODEL_lay"},
        "buffers": [{"path": ["value"], "encoding": "base64", "data": PIXEL}],
    }
    output = {
        "model_name": "OutputModel",
        "state": {"outputs": [{"output_type": "display_data", "data": {PNG: "b3V0cHV0"}}]},
    }
    states = {
        "lay": layout,
        "s": slider,
        "img": image,
        "out": output,
        "row": {"model_name": "HBoxModel", "state": {"children": ["IPY_MODEL_s"]}},
        "box": {
            "model_name": "VBoxModel",
            "state": {"children": ["IPY_MODEL_row", "IPY_MODEL_img"]},
        },
        "act": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_s", "IPY_MODEL_out"]}},
        "both": {
            "model_name": "VBoxModel",
            "state": {"children": ["IPY_MODEL_out", "IPY_MODEL_img"]},
        },
    }
    assert picture_in_state(states, "box") == PIXEL  # an explorer: controls, then its Image
    assert picture_in_state(states, "act") == "b3V0cHV0"  # interact: controls, then an Output
    assert picture_in_state(states, "both") == "b3V0cHV0"  # the first, children in order
    assert picture_in_state(states, "row") is None  # controls only
    assert picture_in_state(states, "gone") is None  # a model the state lacks


def test_store_pictures_adds_the_picture_beside_the_view() -> None:
    nb = new_notebook()
    nb.cells = [new_code_cell("w", outputs=[widget_output("img"), widget_output("none")])]
    nb.metadata["widgets"] = {
        WIDGET_STATE: {
            "state": {
                "img": {
                    "model_name": "ImageModel",
                    "state": {"format": "png"},
                    "buffers": [{"path": ["value"], "encoding": "base64", "data": PIXEL}],
                },
                "none": {"model_name": "IntSliderModel", "state": {}},
            }
        }
    }
    assert store_pictures(nb) == 1
    first, second = nb.cells[0].outputs
    assert first.data[PNG] == PIXEL and WIDGET_VIEW in first.data
    assert PNG not in second.data


def test_every_widget_of_the_course_keeps_its_picture() -> None:
    """The committed notebooks: each widget output holds a PNG (``./course regen --pictures``)."""
    found = 0
    for name in NAMES:
        for index, _cell, output in widget_outputs(nbm.read(NOTEBOOKS / name)):
            picture = output.data.get(PNG, "")
            assert picture, f"{name}: cell {index}: no picture; run ./course regen --pictures"
            assert base64.b64decode(picture)[:8] == b"\x89PNG\r\n\x1a\n", f"{name}: cell {index}"
            found += 1
    assert found >= 7  # 00 (interact), 02 (2), 03 (2), 06, 08


def test_regen_renews_only_the_pictures(tmp_path: Path) -> None:
    """``scripts/regen.py --pictures`` runs a copy through the last widget cell in a kernel and
    writes only the pictures: an explorer's Image, and what an Output widget drew."""
    spec = importlib.util.spec_from_file_location("regen", ROOT / "scripts" / "regen.py")
    regen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(regen)
    png = base64.b64decode(PIXEL)
    nb = new_notebook()
    nb.cells = [
        new_code_cell("print('now')", outputs=[new_output("stream", name="stdout", text="then\n")]),
        new_code_cell(
            f"import ipywidgets as w\nw.VBox([w.IntSlider(), w.Image(value={png!r})])",
            outputs=[widget_output("old-1")],
        ),
        new_code_cell(
            "from IPython.display import Image, display\nout = w.Output()\n"
            f"with out:\n    display(Image(data={png!r}))\nout",
            outputs=[widget_output("old-2")],
        ),
        new_code_cell("raise RuntimeError('not run: after the last widget')"),
    ]
    path = tmp_path / "nb.ipynb"
    nbm.write_atomic(nb, path)
    assert regen.renew_pictures(path, timeout=60) == 2
    after = nbm.read(path)
    assert after.cells[0].outputs[0].text == "then\n"  # other outputs stay as committed
    for cell, model in ((after.cells[1], "old-1"), (after.cells[2], "old-2")):
        (output,) = cell.outputs
        assert base64.b64decode(output.data[PNG]) == png
        assert output.data[WIDGET_VIEW]["model_id"] == model
    assert after.cells[3].outputs == []


# ------------------------------------------------------------------ links between notebooks


@pytest.mark.parametrize(
    ("text", "linked"),
    [
        ("Notebook 03's formula", "[Notebook 03](03_pooling_and_activations.ipynb)'s formula"),
        (
            "notebooks 00 to 03",
            "notebooks [00](00_start_here.ipynb) to [03](03_pooling_and_activations.ipynb)",
        ),
        (
            "(notebooks 00\nand 01)",
            "(notebooks [00](00_start_here.ipynb)\nand [01](01_convolution_math.ipynb))",
        ),
        (
            "notebooks 00, 01 or 07",
            "notebooks [00](00_start_here.ipynb), [01](01_convolution_math.ipynb) or 07",
        ),  # fmt: skip
        ("see 00_start_here.ipynb", "see [00_start_here.ipynb](00_start_here.ipynb)"),
        ("`00_start_here`", "[`00_start_here`](00_start_here.ipynb)"),
        ("`00_start_here.ipynb`", "[`00_start_here.ipynb`](00_start_here.ipynb)"),
        ("notebook 07, 99_other.ipynb, notebook 003", "notebook 07, 99_other.ipynb, notebook 003"),
        ("`notebook 03` and `x = 00_start_here`", "`notebook 03` and `x = 00_start_here`"),
        ("$notebook 03$ $$\nnotebook 03\n$$", "$notebook 03$ $$\nnotebook 03\n$$"),
        ("[notebook 03](elsewhere.ipynb) ![notebook 03](a.png)", None),
        ('<a title="notebook 03">', None),
        (
            "```\nnotebook 03\n```\nnotebook 00",
            "```\nnotebook 03\n```\n[notebook 00](00_start_here.ipynb)",
        ),  # fmt: skip
        ("~~~python\n# notebook 03\n~~~", None),
    ],
)
def test_link_notebooks(text: str, linked: str | None) -> None:
    assert link_notebooks(text, COURSE) == (text if linked is None else linked)


def test_link_notebooks_twice_changes_nothing_more() -> None:
    once = link_notebooks("notebook 00 and notebooks 01 to 03, `00_start_here`", COURSE)
    assert link_notebooks(once, COURSE) == once


def test_notebook_files_refuses_bad_names() -> None:
    assert notebook_files(["notebooks/00_a.ipynb"]) == {"00": "00_a.ipynb"}
    with pytest.raises(ValueError, match="names: expected notebook files named NN_topic.ipynb"):
        notebook_files(["intro.ipynb"])
    with pytest.raises(ValueError, match="two notebooks numbered 00"):
        notebook_files(["00_a.ipynb", "00_b.ipynb"])


# ------------------------------------------------------------------ the front page


def test_front_page_is_the_readmes_table_with_links() -> None:
    page = front_page((ROOT / "README.md").read_text(encoding="utf-8"), NAMES)
    assert page.startswith("# coursecnn\n\nA course on convolutional neural networks")
    for name in NAMES:
        stem = Path(name).stem
        assert f"| [`{stem}`]({name}) |" in page
    assert "## The package" not in page


def test_front_page_refuses_a_readme_without_the_table() -> None:
    with pytest.raises(ValueError, match="readme: expected a '## What the course covers'"):
        front_page("# x\n\nintro\n\n## Other\n", NAMES)
    with pytest.raises(ValueError, match="readme: expected a table"):
        front_page("# x\n\nintro\n\n## What the course covers\n\ntext\n", NAMES)


# ------------------------------------------------------------------ the notebooks' maths


def display_math_problems(source: str) -> list[str]:
    """``$$`` display formulas that do not stand as their own block (a blank line before and
    after), which MyST and GitHub render as garbled text; fenced code is skipped."""
    lines = source.split("\n")
    problems: list[str] = []
    fence: str | None = None
    opened: int | None = None  # the line where a formula over several lines opened

    def blank_after(i: int) -> None:
        if i + 1 < len(lines) and lines[i + 1].strip():
            problems.append(f"line {i + 1}: no blank line after the formula")

    for i, raw in enumerate(lines):
        line = raw.strip()
        mark = re.match(r"`{3,}|~{3,}", line)
        if mark and opened is None and (fence is None or line.startswith(fence)):
            fence = mark[0] if fence is None else None
            continue
        if fence is not None or "$$" not in line:
            continue
        if opened is None:
            if not line.startswith("$$"):
                problems.append(f"line {i + 1}: '$$' inside a line: {line[:60]!r}")
            if i > 0 and lines[i - 1].strip():
                problems.append(f"line {i + 1}: no blank line before the formula")
            if line.count("$$") >= 2:
                blank_after(i)
            else:
                opened = i
        else:
            if not line.endswith("$$"):
                problems.append(f"line {i + 1}: '$$' inside a line: {line[:60]!r}")
            blank_after(i)
            opened = None
    if opened is not None:
        problems.append(f"line {opened + 1}: '$$' never closed")
    return problems


def test_display_math_problems_sees_a_formula_inside_a_paragraph() -> None:
    assert display_math_problems("text\n\n$$x = 1$$\n\nmore") == []
    assert display_math_problems("text\n\n$$x = 1,\ny = 2$$\n\nmore") == []
    assert len(display_math_problems("computes\n$$x = 1$$\none number")) == 2
    assert display_math_problems("a $$x$$ b") == ["line 1: '$$' inside a line: 'a $$x$$ b'"]
    assert display_math_problems("```\ncomputes\n$$x$$\n```") == []
    assert display_math_problems("text\n\n$$x = 1") == ["line 3: '$$' never closed"]


@pytest.mark.parametrize("name", NAMES)
def test_every_display_formula_stands_as_its_own_block(name: str) -> None:
    nb = nbm.read(NOTEBOOKS / name)
    problems = [
        f"cell {i}: {p}"
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "markdown"
        for p in display_math_problems(cell.source)
    ]
    assert not problems, f"{name}: " + "; ".join(problems)


# ------------------------------------------------------------------ the build's sources and refusals


def test_write_sources_writes_the_pages_and_jupyter_books_files(tmp_path: Path) -> None:
    names = write_sources(NOTEBOOKS, ROOT / "README.md", tmp_path)
    assert names == NAMES
    config = json.loads((tmp_path / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "off"
    assert "dollarmath" in config["parse"]["myst_enable_extensions"]
    toc = json.loads((tmp_path / "_toc.yml").read_text())
    assert toc["root"] == "index"
    assert [c["file"] for c in toc["chapters"]] == [Path(n).stem for n in NAMES]
    assert (tmp_path / "index.md").read_text().startswith("# coursecnn")
    hidden = solution_lines(*(nbm.read(NOTEBOOKS / n) for n in NAMES))
    for name in NAMES:
        page = nbm.read(tmp_path / name)
        assert list(widget_outputs(page)) == []
        code = "".join(c.source for c in page.cells if c.cell_type == "code")
        assert nbm.BEGIN_SOLUTION not in code and nbm.END_SOLUTION not in code
        assert hidden.isdisjoint(line.strip() for line in page_text(page).splitlines()), name


def test_build_refuses_to_replace_a_folder_it_did_not_build(tmp_path: Path, capsys) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    with pytest.raises(ValueError, match="out: .* is not a site built by ./course book"):
        build(NOTEBOOKS, mine, ROOT / "README.md")
    with pytest.raises(ValueError, match="out: .* is the notebooks' folder"):
        build(NOTEBOOKS, NOTEBOOKS, ROOT / "README.md")
    with pytest.raises(ValueError, match="master: expected a folder of notebooks"):
        build(tmp_path / "nowhere", tmp_path / "site", ROOT / "README.md")
    with pytest.raises(ValueError, match="readme: expected the README file"):
        build(NOTEBOOKS, tmp_path / "site", tmp_path / "README.md")
    assert cli(["book", "--master", str(NOTEBOOKS), "--out", str(mine)]) == 1
    assert "book: out:" in capsys.readouterr().err
    assert (mine / "thesis.tex").read_text() == "precious"
    assert not (tmp_path / "site").exists()
