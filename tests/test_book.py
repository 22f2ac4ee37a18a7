"""The course website (``make book``, tools/book.py): built right, and read in a real browser with no network.

The page-building functions are tested directly (fast, part of the unit tests). The tests marked ``browser`` read the
built site ``build/book/`` in headless Chromium (tests/browser.py) with every network request failing:
`make browser-tests` builds the book first; run by hand without it, they are skipped with a message saying which
command sets them up.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from tests.browser import Chromium, network_and_errors, require_chromium
from tools import book

INDEX = book.OUT / "index.html"
browser = pytest.mark.browser
#: axe-core impacts the site must not have (WCAG 2.1 AA: the issue asks for zero of these on every page).
BLOCKING = ("critical", "serious")


# --- the page-building functions (no build, no browser) ---------------------------------------------------------------


README_SAMPLE = """# A course

Intro with [data](data/README.md) and [CONTRIBUTING.md](CONTRIBUTING.md).

## Notebooks

| # | notebook | Colab |
|---|---|---|
| 01 | [First](notebooks/01_first.ipynb) ([solution](notebooks/solutions/01_first.ipynb)) | BADGE |

## Two commands

Run `make lab`. <!-- a comment -->

## For instructors

Slides.

## For students

Run each cell.

## License

MIT.
""".replace("BADGE", "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
           "(https://colab.research.google.com/github/o/r/blob/main/notebooks/01_first.ipynb)")


def test_landing_page_links_pages_downloads_and_github_and_loads_no_badge_image():
    page = book.landing_page(README_SAMPLE, "https://github.com/o/r")
    assert "[First](01_first.ipynb)" in page  # the title opens the notebook's page
    assert "{download}`student notebook <notebooks/01_first.ipynb>`" in page
    assert "[data](https://github.com/o/r/blob/main/data/README.md)" in page
    assert "colab-badge.svg" not in page and "[Open in Colab](https://colab.research.google.com/github/o/r/" in page
    assert "For instructors" not in page.split("```{toctree}")[0].replace("README on GitHub", "")
    assert "<!--" not in page and "Run each cell." in page and "MIT." in page


def test_landing_page_names_a_missing_readme_section():
    with pytest.raises(ValueError, match="## For students"):
        book.landing_page(README_SAMPLE.replace("## For students", "## Students"), "https://github.com/o/r")


def test_toctree_lists_the_nine_notebooks_in_lecture_order():
    page = book.landing_page(book.README.read_text(), "https://github.com/o/r")
    names = page.split("```{toctree}")[1].split("```")[0].split()[-9:]
    assert names == [p.stem for p in book.solution_notebooks()] and len(names) == 9


def _figure_cell(*alts):
    outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo="},
                                      metadata={"image/png": {"alt": alt}} if alt else {}) for alt in alts]
    return nbformat.v4.new_code_cell("plot()", outputs=outputs)


def test_alt_text_moves_from_the_image_output_to_the_cell_for_myst_nb():
    cell = _figure_cell("Loss falls for 10 epochs, then flattens.")
    book.alt_to_cell(cell, "cell 1")
    assert cell.metadata["mystnb"]["image"]["alt"] == "Loss falls for 10 epochs, then flattens."
    bare = _figure_cell(None)
    book.alt_to_cell(bare, "cell 2")
    assert "mystnb" not in bare.metadata
    with pytest.raises(ValueError, match="its own cell"):
        book.alt_to_cell(_figure_cell("one", "two"), "cell 3")


def test_page_drops_the_frame_cells_and_test_markers_and_explains_widgets():
    solution = book.solution_notebooks()[1]  # 02 has a widget
    nb = book.page_notebook(solution, book.NOTEBOOKS / solution.name)
    tags = [tag for cell in nb.cells for tag in cell.metadata.get("tags", [])]
    assert tags.count("book-header") == 1 and not book.LEFT_OUT_TAGS & set(tags)
    assert nb.cells[0].source.startswith("# 02 ")  # the title first, so the headings stay in order
    assert "Open the student version in Colab" in nb.cells[1].source
    code = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    assert "NBVAL" not in code.upper()
    assert "plots.describe(" not in code and "plots.show(" in code  # the figure's description is its img alt
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not any(book.WIDGET in o.get("data", {}) for o in outputs)
    assert any(o.get("data", {}).get("text/markdown", "").startswith(book.WIDGET_NOTE) for o in outputs)


def test_a_widget_keeps_its_description_on_the_site():
    widget = nbformat.v4.new_output("display_data", data={book.WIDGET: {"model_id": "1"}, "text/plain": "interactive"},
                                    metadata={book.WIDGET: {"alt": "Sliders for W2 and n redraw the curve."}})
    (note,) = book.without_widgets([widget])
    assert note.data["text/markdown"] == book.WIDGET_NOTE + "\n\nSliders for W2 and n redraw the curve."


def test_student_colab_url_comes_from_the_generated_badge(tmp_path):
    student = book.NOTEBOOKS / book.solution_notebooks()[0].name
    assert book.student_colab_url(student).endswith(f"/blob/main/notebooks/{student.name}")
    bare = tmp_path / student.name
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# x")]), bare)
    with pytest.raises(ValueError, match="build_notebooks"):
        book.student_colab_url(bare)


# --- a real browser -----------------------------------------------------------------------------------------------


@dataclass
class Visit:
    """What one page did in the browser."""

    remote_requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    math: int = 0
    math_errors: int = 0
    violations: list[dict] = field(default_factory=list)


AXE_RUN = """axe.run(document, {resultTypes: ["violations"]}).then(result => result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map(n => n.target.join(" ")).slice(0, 5),
    nodes: v.nodes.length})))"""


def visit(chromium: Chromium, page: Path, axe_source: str) -> Visit:
    """Open one page, let it settle, count math, run axe-core in it; what it requested and logged."""
    session = chromium.open(page.as_uri())
    found = Visit()
    found.math = chromium.evaluate(session, "document.querySelectorAll('mjx-container').length")
    found.math_errors = chromium.evaluate(session, "document.querySelectorAll('mjx-merror').length")
    found.remote_requests, found.errors = network_and_errors(chromium.events(session))  # the page's own, before axe
    chromium.evaluate(session, axe_source + "\n;0")
    found.violations = chromium.evaluate(session, AXE_RUN, timeout=120)
    return found


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    require_chromium()
    if not INDEX.exists():
        pytest.skip("the website is not built: run `make book` (or `make browser-tests`, which builds it first)")
    if not book.AXE.exists():
        pytest.skip("axe-core is not installed: `make book` fetches it from the npm registry")
    browser_ = Chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield browser_
    browser_.close()


@pytest.fixture(scope="module")
def visits(chromium) -> dict[str, Visit]:
    axe_source = book.AXE.read_text()
    return {page.name: visit(chromium, page, axe_source) for page in book.pages()}


@browser
def test_site_has_the_landing_page_nine_notebooks_and_search(visits):
    names = set(visits)
    assert {"index.html", "search.html"} <= names
    assert {f"{p.stem}.html" for p in book.solution_notebooks()} <= names and len(book.solution_notebooks()) == 9


@browser
def test_no_page_sends_a_request_off_the_machine(visits):
    remote = {name: v.remote_requests for name, v in visits.items() if v.remote_requests}
    assert remote == {}


@browser
def test_no_page_logs_a_console_error(visits):
    errors = {name: v.errors for name, v in visits.items() if v.errors}
    assert errors == {}


@browser
def test_math_is_rendered_by_the_local_mathjax(visits):
    """Every page whose HTML holds TeX shows typeset formulas (no raw \\( ... \\)), without a MathJax error."""
    for name, found in visits.items():
        source_math = (book.OUT / name).read_text().count('class="math')
        assert found.math_errors == 0, name
        if source_math:
            assert found.math >= source_math, f"{name}: {found.math} typeset formulas for {source_math} in the HTML"
    assert visits["09_music_composition.html"].math > 0 and visits["03_lstm_architecture.html"].math > 0


@browser
def test_the_audio_players_of_09_are_present_and_playable(chromium):
    session = chromium.open((book.OUT / "09_music_composition.html").as_uri())
    durations = chromium.evaluate(session, """Promise.all([...document.querySelectorAll('audio')].map(a =>
        a.readyState >= 1 ? a.duration : new Promise(done => {
            a.addEventListener('loadedmetadata', () => done(a.duration));
            a.addEventListener('error', () => done(-1)); a.load(); })))""")
    assert len(durations) >= 2, "09 embeds a tune from the model and one from the corpus"
    assert all(d > 0 and d != float("inf") for d in durations), durations
    assert chromium.evaluate(session, "document.querySelector('audio').play().then(() => 'playing')") == "playing"


@browser
def test_search_finds_the_lstm_notebook_for_forget_gate(chromium):
    session = chromium.open((book.OUT / "search.html").as_uri() + "?q=forget+gate")
    deadline, hits = time.monotonic() + 30, []
    while not hits and time.monotonic() < deadline:
        hits = chromium.evaluate(session, "[...document.querySelectorAll('#search-results li a')].map(a => a.href)")
        time.sleep(0.2)
    assert any(hit.split("#")[0].endswith("/03_lstm_architecture.html") for hit in hits), hits
    remote, errors = network_and_errors(chromium.events(session))
    assert remote == [] and errors == []


def blocking(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in BLOCKING]


@browser
def test_axe_finds_no_critical_or_serious_accessibility_violation(visits):
    found = {name: [f"{v['impact']} {v['id']} ({v['nodes']}): {v['help']}: {v['targets']}"
                    for v in blocking(found.violations)] for name, found in visits.items()}
    assert {name: items for name, items in found.items() if items} == {}


@browser
def test_every_figure_on_the_site_has_alt_text(visits):
    """docutils writes an image's file name as its alt when the notebook gave none: that is not a description."""
    missing = {}
    for name in visits:
        images = re.findall(r"<img\b[^>]*>", (book.OUT / name).read_text())
        bare = [tag for tag in images if re.search(r'alt="(_images/[^"]*)?"', tag)]
        if bare:
            missing[name] = len(bare)
    assert missing == {}, f"figures without alt text (set in the notebooks, through utils/plots.py): {missing}"


@browser
def test_notebook_pages_link_previous_next_and_the_student_downloads(visits):
    order = ["index", *(p.stem for p in book.solution_notebooks())]
    for number, page in enumerate(order[1:], start=1):
        html = (book.OUT / f"{page}.html").read_text()
        assert re.search(rf'<a class="left-prev"\s+href="{order[number - 1]}\.html"', html), page
        if number + 1 < len(order):
            assert re.search(rf'<a class="right-next"\s+href="{order[number + 1]}\.html"', html), page
        download = re.search(rf'href="(_downloads/[0-9a-f]+/{page}\.ipynb)"', html)
        assert download and (book.OUT / download.group(1)).exists(), page
        colab = rf'href="https://colab.research.google.com/github/[^"]+/blob/main/notebooks/{page}\.ipynb"'
        assert re.search(colab, html), page


def test_built_pages_load_no_script_or_style_from_the_internet():
    if not INDEX.exists():
        pytest.skip("the website is not built: run `make book`")
    assert book.remote_assets() == {}


def test_make_test_builds_the_book_before_its_browser_tests_and_unit_tests_leave_them_out():
    from tests.test_make import MAKE, dry_run

    if MAKE is None:
        pytest.skip("make is not installed")
    assert 'pytest tests -m "not browser"' in dry_run("unit") and "tools.book" not in dry_run("unit")
    commands = dry_run("test")
    assert commands.index("-m tools.book") < commands.index("pytest tests -m browser")
    assert "-m tools.book" in dry_run("browser-tests")
