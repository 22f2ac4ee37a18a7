"""Build the course as a static website that reads offline: ``build/book/index.html``.

    make book              # = python -m tools.book

The site is Sphinx with myst-nb and sphinx-book-theme. Its pages are a landing page made from README.md (what the
course is, the notebook table, how to run it) and the nine executed instructor notebooks with their stored outputs,
in lecture order; they are never re-executed (``nb_execution_mode = "off"``). Each notebook page starts with a link
that opens the student version in Colab and one that downloads it.

Everything a page loads is local, so ``build/book/`` works from a USB stick or any static web server: MathJax 3 comes
from the npm registry (fetched once into ``build/book-vendor/``, like the slides' reveal.js), the theme ships its own
fonts, and the Colab badge images (served by Google) are replaced by text links. The Sphinx project is generated into
``build/book-src/`` each time; nothing is written into ``notebooks/``.
"""

from __future__ import annotations

import argparse
import copy
import re
import shutil
import sys
import time
from pathlib import Path

import nbformat

from tools.build_notebooks import ALT_TAG, NOTEBOOKS, SOLUTIONS, repository_url
from tools.slides import external_assets, install_vendor
from utils import ROOT

README = ROOT / "README.md"
SOURCE = ROOT / "build" / "book-src"
OUT = ROOT / "build" / "book"
VENDOR = ROOT / "build" / "book-vendor"
#: npm packages and a file each provides: MathJax for the pages, axe-core for the audit in tests/test_book.py.
PACKAGES = {
    "mathjax@3.2.2": "node_modules/mathjax/es5/tex-chtml.js",
    "axe-core@4.11.0": "node_modules/axe-core/axe.min.js",
}
MATHJAX = VENDOR / "node_modules" / "mathjax" / "es5"
AXE = VENDOR / PACKAGES["axe-core@4.11.0"]
#: README sections the landing page keeps (the ones a reader needs); the others stay on the repository's README.
LANDING_SECTIONS = ("Notebooks", "Two commands", "For students", "License")
#: Cells a website leaves out: its own navigation replaces nav-*, the Colab bootstrap is a no-op, and an alt-text cell
#: has already given the figure above it its description (the page's img alt, see ``alt_to_cell``).
LEFT_OUT_TAGS = {"nav-top", "nav-bottom", "colab-bootstrap", ALT_TAG}
WIDGET = "application/vnd.jupyter.widget-view+json"
WIDGET_NOTE = ("*Here the notebook shows interactive sliders. They need a running Python kernel: open the notebook in "
               "JupyterLab or Colab to move them. The static figure next to them shows the same effect.*")
COLAB_BADGE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\(([^)]+)\)")


def solution_notebooks() -> list[Path]:
    """The executed instructor notebooks, in lecture order (file names start with the number)."""
    return sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))


# --- the landing page ------------------------------------------------------------------------------------------------


def readme_sections(text: str) -> tuple[str, dict[str, str]]:
    """README split at its ``## `` headings: the part before the first one, and each section's text by heading."""
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    return parts[0], {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def site_link(target: str, repo: str) -> str:
    """Where a README link points on the site: a solution notebook to its page, other files to GitHub."""
    if re.match(r"[a-z]+:|#", target):
        return target
    if target.startswith("notebooks/solutions/"):
        return target.removeprefix("notebooks/solutions/")  # the notebook's own page
    return f"{repo}/blob/main/{target}"


def without_remote_badges(markdown: str) -> str:
    """Colab badge images (loaded from Google's server) become plain links, so a page fetches nothing."""
    return COLAB_BADGE.sub(r"[Open in Colab](\1)", markdown)


def download(text: str, path: str) -> str:
    """A Sphinx download link: the file is copied into the site, so the link works offline too."""
    return f"{{download}}`{text} <{path}>`"


def site_links(markdown: str, repo: str) -> str:
    """README links rewritten for the site: in the notebook table the title opens the page and a second link downloads
    the student notebook; other student notebooks become downloads; the rest goes through site_link."""
    def table_row(m: re.Match) -> str:
        return f"[{m.group(1)}](notebooks/solutions/{m.group(3)}) ({download('student notebook', m.group(2))})"

    markdown = re.sub(r"\[([^\]]+)\]\((notebooks/([^/)]+\.ipynb))\) \(\[solution\]\(notebooks/solutions/\3\)\)",
                      table_row, markdown)
    markdown = re.sub(r"\[([^\]]+)\]\((notebooks/[^/)]+\.ipynb)\)", lambda m: download(m.group(1), m.group(2)),
                      markdown)
    return re.sub(r"\]\(([^)\s]+)\)", lambda m: f"]({site_link(m.group(1), repo)})", markdown)


def landing_page(readme: str, repo: str) -> str:
    """The landing page's Markdown from README: the introduction and the sections in LANDING_SECTIONS, links fixed."""
    intro, sections = readme_sections(readme)
    missing = [name for name in LANDING_SECTIONS if name not in sections]
    if missing:
        raise ValueError(f"README.md has no '## {missing[0]}' section: add it, or update LANDING_SECTIONS in "
                         "tools/book.py")
    text = intro + "".join(f"## {name}\n{sections[name]}" for name in LANDING_SECTIONS)
    text = re.sub(r"<!--.*?-->\n?", "", text, flags=re.S)
    text = without_remote_badges(text)
    text = site_links(text, repo)
    more = (f"\nInstructors and maintainers (slides, regenerating notebooks, tests): see the [README on GitHub]"
            f"({repo}#for-instructors).\n")
    return text.rstrip() + "\n" + more + "\n" + toctree([p.stem for p in solution_notebooks()])


def toctree(names: list[str]) -> str:
    """The hidden table of contents that orders the pages (the sidebar and previous / next links follow it)."""
    return "```{toctree}\n:hidden:\n:maxdepth: 1\n:caption: Notebooks\n\n" + "\n".join(names) + "\n```\n"


# --- the notebook pages ----------------------------------------------------------------------------------------------


def student_colab_url(student: Path) -> str:
    """The Colab address of a student notebook, read from the badge its generated navigation cell carries."""
    nb = nbformat.read(student, as_version=4)
    for cell in nb.cells:
        match = COLAB_BADGE.search(cell.source) if "nav-top" in cell.metadata.get("tags", []) else None
        if match:
            return match.group(1)
    raise ValueError(f"{student.name} has no Colab badge in its top navigation cell: rebuild it with "
                     "`python -m tools.build_notebooks`")


def header_cell(student: Path) -> nbformat.NotebookNode:
    """The first cell of a page: open the student version in Colab, or download it (copied next to the pages)."""
    text = (f"[Open the student version in Colab]({student_colab_url(student)}) · "
            f"{download('Download the student notebook', f'notebooks/{student.name}')} (exercises to fill in) · "
            "this page is the instructor version, with solutions and stored outputs")
    return nbformat.v4.new_markdown_cell(text, metadata={"tags": ["book-header"]})


def alt_to_cell(cell: nbformat.NotebookNode, where: str) -> None:
    """Give myst-nb the figure's alt text: it reads it from the cell (``mystnb.image.alt``), not from the output.

    The notebooks store it in the image output's metadata (``{"image/png": {"alt": ...}}``), which JupyterLab and
    Colab see; a page has one alt option per cell, so two figures with different alt texts in one cell are refused.
    """
    alts = {meta["alt"] for output in cell.get("outputs", [])
            for mime, meta in output.get("metadata", {}).items()
            if mime.startswith("image/") and isinstance(meta, dict) and meta.get("alt")}
    if len(alts) > 1:
        raise ValueError(f"{where} has figures with different alt texts; the website gives one alt text per cell: "
                         "draw each figure in its own cell")
    if alts:
        cell.metadata.setdefault("mystnb", {}).setdefault("image", {})["alt"] = alts.pop()


def without_widgets(outputs: list) -> list:
    """Widget outputs need a live kernel: each becomes a sentence saying so, then the widget's own description (its
    alt text, when the notebook gave one) of what it shows."""
    return [widget_note(output) if WIDGET in output.get("data", {}) else output for output in outputs]


def widget_note(output: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The text that stands in for one widget output on the site."""
    alt = output.get("metadata", {}).get(WIDGET, {}).get("alt")
    text = WIDGET_NOTE + (f"\n\n{alt}" if alt else "")
    return nbformat.v4.new_output("display_data", data={"text/markdown": text})


def page_notebook(solution: Path, student: Path) -> nbformat.NotebookNode:
    """The solution notebook as a page: frame cells out, a header under the title, test markers out, widgets explained.

    The first cell left must be the title (a ``# `` heading), so that the page's headings start at level 1.
    """
    nb = copy.deepcopy(nbformat.read(solution, as_version=4))
    cells = [cell for cell in nb.cells if not LEFT_OUT_TAGS & set(cell.metadata.get("tags", []))]
    if not cells or cells[0].cell_type != "markdown" or not cells[0].source.startswith("# "):
        raise ValueError(f"{solution.name} does not start with its '# ' title cell (after the navigation cell): "
                         "rebuild it with `python -m tools.build_notebooks`")
    for index, cell in enumerate(cells):
        if cell.cell_type == "markdown":
            cell.source = without_remote_badges(cell.source)
        elif cell.cell_type == "code":
            cell.outputs = without_widgets(cell.outputs)
            alt_to_cell(cell, f"cell {index} of {solution.name}")
    nb.cells = [cells[0], header_cell(student), *cells[1:]]  # after the title: headings stay in order
    return nb


# --- the Sphinx project ----------------------------------------------------------------------------------------------


def conf_py(title: str, repo: str) -> str:
    """Sphinx configuration: myst-nb without execution, the book theme, local MathJax, nothing from a CDN."""
    settings = {
        "project": title,
        "html_title": title,
        "extensions": ["myst_nb"],
        "exclude_patterns": ["notebooks/**"],
        "nb_execution_mode": "off",  # stored outputs only: the site never runs a notebook
        "nb_merge_streams": True,
        "nb_ipywidgets_js": {},  # myst-nb's default loads the widget manager from a CDN
        "myst_enable_extensions": ["dollarmath", "amsmath"],
        "myst_heading_anchors": 3,
        "mathjax_path": "mathjax/tex-chtml.js",  # copied into _static from the npm package
        "html_static_path": ["_static"],
        "templates_path": ["_templates"],
        "html_sidebars": {"**": ["course-title.html", "sbt-sidebar-nav.html"]},  # search: in the header
        "html_context": {"default_mode": "light"},  # the theme logs a console error when no mode is set
        "html_css_files": ["course.css"],
        "html_theme": "sphinx_book_theme",
        "html_theme_options": {"repository_url": repo, "use_repository_button": True, "use_download_button": True,
                               "show_toc_level": 2},
        "html_show_sourcelink": False,
        "html_copy_source": False,
    }
    return "# Generated by tools/book.py: edit that file, not this one.\n" + "".join(
        f"{key} = {value!r}\n" for key, value in settings.items())


#: Site style sheet: fixes the accessibility audit (tests/test_book.py) asked for, and download links in body text.
COURSE_CSS = """\
/* Generated by tools/book.py. */
/* Keras' model summaries colour layer names and counts in terminal colours too light for a white page
   (contrast below 4.5:1, WCAG 2.1 AA): the same hues, darkened. */
.output pre span[style*="#00af00"] { color: #006b00 !important; }
.output pre span[style*="#0087ff"] { color: #0055b3 !important; }
.output pre span[style*="#00d7ff"] { color: #00687d !important; }
/* Sphinx writes a download link's text as code: read it as a link like the others. */
a.download code { font-family: inherit; font-size: inherit; font-weight: inherit; background: none; border: none;
                  padding: 0; color: inherit; }
"""
#: The site's title in the sidebar, inside a landmark (the theme's logo block sits outside one: axe rule "region").
COURSE_TITLE_HTML = """\
<nav aria-label="Course home" class="sidebar-primary-item">
  <a class="navbar-brand logo" href="{{ pathto(root_doc) }}"><p class="title logo__title">{{ docstitle }}</p></a>
</nav>
"""


def mathjax_unused(folder: str, names: list[str]) -> list[str]:
    """What the pages never load from MathJax: the other combined bundles and the SVG output (a third of its size)."""
    top = Path(folder) == MATHJAX
    return [name for name in names if "svg" in name or (top and name.endswith(".js") and name != "tex-chtml.js")]


def write_project(source: Path = SOURCE) -> None:
    """Generate the Sphinx project: conf.py, index.md, the nine pages, student notebooks, MathJax, the style sheet."""
    repo = repository_url()
    readme = README.read_text()
    title = re.search(r"^# (.+)$", readme, flags=re.M).group(1).strip()
    shutil.rmtree(source, ignore_errors=True)
    (source / "notebooks").mkdir(parents=True)
    (source / "conf.py").write_text(conf_py(title, repo))
    (source / "index.md").write_text(landing_page(readme, repo))
    for solution in solution_notebooks():
        student = NOTEBOOKS / solution.name
        if not student.exists():
            raise ValueError(f"{solution.name} has no student version in notebooks/: "
                             "run `python -m tools.build_notebooks`")
        nbformat.write(page_notebook(solution, student), source / solution.name)
        shutil.copy2(student, source / "notebooks" / student.name)
    shutil.copytree(MATHJAX, source / "_static" / "mathjax", ignore=mathjax_unused)
    (source / "_static" / "course.css").write_text(COURSE_CSS)
    (source / "_templates").mkdir()
    (source / "_templates" / "course-title.html").write_text(COURSE_TITLE_HTML)


def build(source: Path = SOURCE, out: Path = OUT) -> None:
    """Run Sphinx (HTML); a warning fails the build, so a broken link or output does not go unnoticed."""
    from sphinx.cmd.build import build_main

    shutil.rmtree(out, ignore_errors=True)
    status = build_main(["-b", "html", "-q", "-W", "--keep-going", "-d", str(source / ".doctrees"),
                         str(source), str(out)])
    if status:
        raise RuntimeError(f"Sphinx failed (exit {status}): see the warnings above")


def pages(out: Path = OUT) -> list[Path]:
    """Every HTML page of the built site."""
    return sorted(out.glob("*.html"))


def remote_assets(out: Path = OUT) -> dict[str, list[str]]:
    """Per page, the scripts and style sheets it would fetch from the internet (none, when the build is right)."""
    found = {page.name: external_assets(page.read_text()) for page in pages(out)}
    return {name: urls for name, urls in found.items() if urls}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.parse_args(argv)
    start = time.perf_counter()
    install_vendor(PACKAGES, VENDOR, "`make book`")
    write_project()
    build()
    remote = remote_assets()
    if remote:
        print(f"pages that would load from the internet: {remote}", file=sys.stderr)
        return 1
    print(f"{(OUT / 'index.html').relative_to(ROOT)}: {len(pages())} pages in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
