"""The course website (``./course book``) in headless Chromium with no network (marker ``browser``).

The site is built once (``coursecnn.book.build``), served on 127.0.0.1, and every page (the front
page and one per notebook) is opened in Chromium with every request that is not to that server
aborted. On each page: every formula is typeset by MathJax (no TeX error, every display formula
shown as one, no ``$$`` or ``$``-delimited TeX left in the prose); every figure of the notebook's outputs is shown; every
widget shows its picture with the line saying it is live in JupyterLab; every link to another
notebook names it and leads to its page. The built files are searched for the solutions: no
marker line, and no line of the masters' solution regions. Screenshots go to
``artifacts/browser/book/``.
"""

from __future__ import annotations

import html
import re
import time
from pathlib import Path

import labdriver
import nbformat
import pytest
from loopback import serve_folder

from coursecnn.book.build import build
from coursecnn.book.links import link_notebooks
from coursecnn.book.pages import page_notebook, page_text, solution_lines
from coursecnn.book.pictures import widget_outputs
from coursecnn.grading import notebook as nbm

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
NAMES = [p.name for p in nbm.notebook_paths(NOTEBOOKS)]
LINK = re.compile(r"\]\((\d\d_[A-Za-z0-9_]+)\.ipynb\)")

# What each page shows, read in the page once MathJax has typeset it.
FACTS_JS = """
async () => {
  // MathJax typesets the page once loaded; a page without maths does not load it
  if (window.MathJax && window.MathJax.startup) await window.MathJax.startup.promise;
  const article = document.querySelector('article.bd-article');
  const imgs = [...article.querySelectorAll('img')];
  await Promise.all(imgs.map(i => i.decode().catch(() => null)));
  const prose = [...article.querySelectorAll('p, li, td, th, h1, h2, h3, h4, h5')].map(e => {
    const c = e.cloneNode(true);
    c.querySelectorAll('code, pre, mjx-container, .math').forEach(x => x.remove());
    return c.textContent;
  });
  const shown = i => i.complete && i.naturalWidth > 0 && i.getBoundingClientRect().width > 0;
  return {
    math: article.querySelectorAll('span.math, div.math').length,
    typeset: article.querySelectorAll('mjx-container').length,
    untypeset: [...article.querySelectorAll('span.math, div.math')]
      .filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 80)),
    display: article.querySelectorAll('div.math').length,
    displayShown: article.querySelectorAll('div.math mjx-container[display="true"]').length,
    texErrors: article.querySelectorAll('mjx-merror').length,
    // TeX left as text: "$$", or a pair of "$" around a TeX command, a sub- or superscript
    dollars: prose.filter(t => t.includes('$$') || /\\$[^$]*[\\\\^_{][^$]*\\$/.test(t))
      .map(t => t.trim().slice(0, 120)),
    figures: imgs.filter(i => i.closest('.cell_output') && !i.closest('figure'))
      .map(i => ({src: i.getAttribute('src').slice(0, 60), shown: shown(i)})),
    previews: [...article.querySelectorAll('figure.coursecnn-widget-preview')].map(f => ({
      shown: !!f.querySelector('img') && shown(f.querySelector('img')),
      caption: (f.querySelector('figcaption') || {innerText: ''}).innerText,
    })),
    widgetErrors: /Error displaying widget|Loading widget/.test(article.innerText),
    links: [...article.querySelectorAll('a.reference.internal')]
      .filter(a => /\\d\\d_\\w+\\.html/.test(a.getAttribute('href')))
      .map(a => ({text: a.textContent, href: a.getAttribute('href')})),
  };
}
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("book") / "site"
    start = time.monotonic()
    build(NOTEBOOKS, out, ROOT / "README.md")
    labdriver.REPORT.append(f"the website: built in {time.monotonic() - start:.0f} s")
    return out


@pytest.fixture(scope="module")
def pages(site: Path, browser, artifacts: Path) -> dict[str, dict]:
    """``{page file: facts}`` for the front page and every notebook page, and ``"_blocked"``:
    the requests that left 127.0.0.1 (aborted)."""
    folder = artifacts / "book"
    folder.mkdir()
    facts: dict[str, dict] = {}
    blocked: list[str] = []
    start = time.monotonic()
    with serve_folder(site) as (base, _log):
        context = browser.new_context(viewport={"width": 1280, "height": 900})

        def route(r) -> None:
            if r.request.url.startswith(base + "/"):
                r.continue_()
            else:
                blocked.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        page = context.new_page()
        try:
            for name in ["index.html"] + [f"{Path(n).stem}.html" for n in NAMES]:
                page.goto(f"{base}/{name}", wait_until="load")
                facts[name] = page.evaluate(FACTS_JS)
                preview = page.locator("figure.coursecnn-widget-preview").first
                if preview.count():
                    preview.scroll_into_view_if_needed()
                    preview.screenshot(path=folder / f"{Path(name).stem}-widget.png")
                display = page.locator("article div.math").first
                if display.count():
                    display.screenshot(path=folder / f"{Path(name).stem}-maths.png")
            for href in {link["href"] for f in facts.values() for link in f["links"]}:
                facts.setdefault("_targets", {})[href] = context.request.get(
                    f"{base}/{href.split('#')[0]}"
                ).status
        finally:
            context.close()
    facts["_blocked"] = blocked
    labdriver.REPORT.append(
        f"the website: {len(NAMES) + 1} pages read in {time.monotonic() - start:.0f} s with no "
        f"network; screenshots in {folder}"
    )
    return facts


def _page(name: str) -> str:
    return f"{Path(name).stem}.html"


def _expected(name: str):
    """The page notebook as the site is built from it."""
    return page_notebook(nbm.read(NOTEBOOKS / name), name, NAMES)


def test_the_site_needs_no_network(pages) -> None:
    assert pages["_blocked"] == [], f"requests that left 127.0.0.1: {pages['_blocked'][:5]}"


def test_the_front_page_is_the_course_table(pages) -> None:
    links = {link["href"].split("#")[0] for link in pages["index.html"]["links"]}
    assert links >= {_page(n) for n in NAMES}, f"the front page links only {sorted(links)}"


@pytest.mark.parametrize("name", NAMES)
def test_maths_is_typeset(pages, name: str) -> None:
    facts = pages[_page(name)]
    assert facts["untypeset"] == [], f"{name}: formulas left as TeX: {facts['untypeset'][:3]}"
    assert facts["typeset"] >= facts["math"], facts
    assert facts["texErrors"] == 0, f"{name}: {facts['texErrors']} TeX errors shown"
    assert facts["displayShown"] == facts["display"], f"{name}: display formulas shown inline"
    assert facts["dollars"] == [], f"{name}: '$' left in the prose: {facts['dollars'][:3]}"


def test_notebook_10s_display_equations_are_displayed(site: Path, pages) -> None:
    """The two display equations inside paragraphs of notebook 10 (they garbled once)."""
    name = next(n for n in NAMES if n.startswith("10_"))
    text = (site / _page(name)).read_text(encoding="utf-8")
    blocks = [
        html.unescape(b)
        for b in re.findall(r'<div class="math[^"]*">\s*\\\[(.*?)\\\]\s*</div>', text, re.DOTALL)
    ]
    for tex in (r"c_t = b + \sum_{i=0}^{w-1}", r"L_\text{out} = \left\lfloor"):
        assert any(tex in b for b in blocks), f"{tex!r} is not a display formula: {blocks}"
    assert pages[_page(name)]["displayShown"] == len(blocks)


@pytest.mark.parametrize("name", NAMES)
def test_every_figure_shows(pages, name: str) -> None:
    facts = pages[_page(name)]
    expected = sum(
        1
        for cell in _expected(name).cells
        for out in cell.get("outputs", [])
        if any(m.startswith("image/") for m in out.get("data", {}))
        and "text/html" not in out.get("data", {})
    )
    hidden = [f["src"] for f in facts["figures"] if not f["shown"]]
    assert not hidden, f"{name}: figures not shown: {hidden}"
    assert len(facts["figures"]) == expected, (
        f"{name}: {len(facts['figures'])} figures in the page, {expected} in the notebook's outputs"
    )


@pytest.mark.parametrize("name", NAMES)
def test_every_widget_shows_its_picture_and_says_it_is_live(pages, name: str) -> None:
    facts = pages[_page(name)]
    widgets = len(list(widget_outputs(nbm.read(NOTEBOOKS / name))))
    assert len(facts["previews"]) == widgets, (
        f"{name}: {len(facts['previews'])} widget previews, {widgets} widgets in the notebook"
    )
    for k, preview in enumerate(facts["previews"]):
        assert preview["shown"], f"{name}: widget {k}: its picture is not shown"
        assert "live in JupyterLab" in preview["caption"], preview["caption"]
    assert not facts["widgetErrors"], f"{name}: a widget error or 'Loading widget' in the page"


@pytest.mark.parametrize("name", NAMES)
def test_links_between_notebooks_lead_to_their_pages(pages, name: str) -> None:
    facts = pages[_page(name)]
    expected = sum(
        len(LINK.findall(link_notebooks(c.source, NAMES, this=name)))
        for c in nbm.read(NOTEBOOKS / name).cells
        if c.cell_type == "markdown"
    )
    assert len(facts["links"]) == expected, (
        f"{name}: {len(facts['links'])} links to other notebooks, the prose names {expected}"
    )
    for link in facts["links"]:
        number = re.search(r"\d\d", link["text"])
        target = link["href"].split("#")[0]
        assert number and target.startswith(number[0]), f"{name}: {link} leads elsewhere"
        assert pages["_targets"][link["href"]] == 200, f"{name}: {link['href']} does not load"


def _shown_lines(site: Path) -> set[str]:
    """Every line of text the site holds but its theme's files (``_static``): HTML without tags,
    notebooks' texts, the search index, other text files."""
    lines: set[str] = set()
    for path in site.rglob("*"):
        if not path.is_file() or path.suffix not in {".html", ".txt", ".js", ".ipynb", ".md"}:
            continue
        if "_static" in path.relative_to(site).parts:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".html":
            text = html.unescape(re.sub(r"<[^>]+>", "", text))
        elif path.suffix == ".ipynb" or path.name.endswith(".ipynb.txt"):
            text = page_text(nbformat.reads(text, as_version=4))
        lines |= {line.strip() for line in text.splitlines()}
    return lines


def test_no_solution_anywhere_in_the_site(site: Path) -> None:
    hidden = solution_lines(*(nbm.read(NOTEBOOKS / n) for n in NAMES))
    assert len(hidden) > 100  # the masters' solutions: what the site must not hold
    shown = _shown_lines(site)
    markers = sorted(ln for ln in shown if ln.startswith((nbm.BEGIN_SOLUTION, nbm.END_SOLUTION)))
    assert not markers, f"solution markers in the site: {markers[:3]}"
    leaked = sorted(hidden & shown)
    assert not leaked, f"{len(leaked)} lines of the solutions in the site: {leaked[:5]}"


def test_the_search_finds_a_solution_in_highlighted_code(tmp_path: Path) -> None:
    """No browser needed: the search above sees code as the site highlights it (Pygments)."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    master = nbm.read(NOTEBOOKS / NAMES[1])
    cell = next(c for c in master.cells if c.cell_type == "code" and nbm.solution_regions(c.source))
    (tmp_path / "page.html").write_text(highlight(cell.source, PythonLexer(), HtmlFormatter()))
    shown = _shown_lines(tmp_path)
    assert solution_lines(master) & shown
    assert any(ln.startswith(nbm.BEGIN_SOLUTION) for ln in shown)
