"""Slides: decks build from the notebooks, need nothing from the internet, and render in headless Chromium.

The tests that build or render a deck carry the `browser` marker: `make unit` leaves them out, and `make browser-tests`
runs them after installing the local reveal.js / MathJax copy (`make slides`, npm) and Chromium (`make browser`).
Run by hand without those, they are skipped with a message saying which command sets them up.
"""

from __future__ import annotations

import re
import subprocess
import sys

import nbformat
import pytest

from tests.browser import CHROMIUM, INSTALL, OFFLINE_ARGS
from tools import slides
from tools.build_notebooks import SOLUTIONS

FIRST = sorted(SOLUTIONS.glob("*.ipynb"))[0]
needs_vendor = pytest.mark.skipif(not (slides.VENDOR / "node_modules" / "reveal.js").exists(),
                                  reason="run `make slides` once to install the local reveal.js copy")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason=INSTALL)


def test_headings_start_slides_and_frame_cells_are_skipped():
    nb = nbformat.read(FIRST, as_version=4)
    types = [c.metadata["slideshow"]["slide_type"] for c in nb.cells]
    assert types[0] == "skip" and types[-1] == "skip"
    for cell, kind in zip(nb.cells, types, strict=True):
        if cell.cell_type == "markdown" and re.match(r"#{1,2} ", cell.source):
            optional = cell.source.splitlines()[0].rstrip().endswith("(optional)")
            assert kind == ("skip" if optional else "slide"), cell.source.splitlines()[0]  # slides keep the core path
    assert types.count("slide") >= 5


@pytest.fixture(scope="module")
def deck(tmp_path_factory):
    if not (slides.VENDOR / "node_modules" / "reveal.js").exists():
        pytest.skip("run `make slides` once to install the local reveal.js copy")
    return slides.build_deck(FIRST, tmp_path_factory.mktemp("slides"))


@pytest.mark.browser
@needs_vendor
def test_deck_loads_no_script_or_style_from_the_internet(deck):
    html = deck.read_text()
    assert slides.external_assets(html) == []
    assert "unpkg.com" not in html and "cdnjs" not in html and "cdn.jsdelivr" not in html


@pytest.mark.browser
@needs_vendor
@needs_chromium
def test_deck_renders_title_and_figure_offline_in_chromium(deck, tmp_path):
    """All DNS lookups fail in this browser, so a deck that needed a CDN would never become 'ready'."""
    args = [CHROMIUM, *OFFLINE_ARGS, f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=8000",
            "--window-size=1280,800"]
    dom = subprocess.run([*args, "--dump-dom", deck.as_uri()], capture_output=True, text=True, timeout=120).stdout
    assert re.search(r'class="reveal [^"]*\bready\b', dom), "reveal.js did not start"
    title = nbformat.read(FIRST, as_version=4).cells[1].source.splitlines()[0].lstrip("# ").strip()
    assert title in dom
    assert re.search(r"<section[^>]*>.*?<img[^>]+src=\"data:image/png;base64,", dom, flags=re.S), "no figure"
    shot = tmp_path / "title.png"
    subprocess.run([*args, f"--screenshot={shot}", deck.as_uri()], capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 10_000


def test_rise_is_installed_for_live_slides_in_jupyterlab():
    done = subprocess.run([sys.executable, "-m", "jupyter", "labextension", "list"], capture_output=True, text=True)
    listing = done.stdout + done.stderr
    assert re.search(r"jupyterlab-rise v\S+ .*enabled.*OK", listing), listing[-2000:]
