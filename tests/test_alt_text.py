"""Figures, widgets and audio players carry a text alternative (issue 15: the course must be readable without sight).

``utils.plots.show(obj, alt=...)`` stores the description in the output's metadata, per MIME type
(``output["metadata"]["image/png"]["alt"]``) and as the ``text/plain`` fallback. In the generated notebooks the figure
cell ends in ``plots.show(obj)`` and the collapsed cell after it, ``plots.describe(alt)``, puts the same description
there (tools/build_notebooks.py). These tests check both in a real kernel, and that every figure in the executed
solution notebooks has its description.
"""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import pytest  # noqa: E402

from tests.helpers import read_notebook  # noqa: E402
from utils import ROOT, plots  # noqa: E402

SOLUTIONS = sorted((ROOT / "notebooks" / "solutions").glob("[0-9][0-9]_*.ipynb"))
WIDGET = "application/vnd.jupyter.widget-view+json"
ALT = "Loss against epoch: the validation loss stops falling after epoch 5 while the training loss goes on falling."


def _described(output) -> list[str]:
    """The MIME types of ``output`` that need a text alternative: images, audio players (HTML) and widgets."""
    data = output.get("data", {})
    return [mime for mime in data if mime.startswith("image/") or mime == WIDGET
            or (mime == "text/html" and "<audio" in data[mime])]


def _missing_alt(nb) -> list[str]:
    """'cell N: mime' for every figure, widget or audio output of ``nb`` without alt text in its metadata."""
    missing = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            for mime in _described(output):
                alt = (output.get("metadata", {}).get(mime) or {}).get(plots.ALT_KEY, "")
                if len(alt.strip()) < plots.MIN_ALT_CHARS:
                    missing.append(f"cell {index} ({cell.source.splitlines()[-1][:50]!r}): {mime}")
    return missing


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem[:2])
def test_every_figure_widget_and_player_in_the_solution_notebooks_has_alt_text(path):
    nb = read_notebook(path)
    assert any(_described(o) for cell in nb.cells for o in cell.get("outputs", [])), "no figure found: not executed?"
    missing = _missing_alt(nb)
    assert not missing, (f"{path.name}: outputs without alt text (show them with plots.show(fig, alt='what it shows "
                         f"and what to notice')):\n" + "\n".join(missing))


def test_the_check_finds_a_plain_plt_show_figure():
    plain = nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0K", "text/plain": "<Figure>"})
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("plt.show()", outputs=[plain])])
    assert _missing_alt(nb) == ["cell 0 ('plt.show()'): image/png"]


@pytest.mark.parametrize("alt", ["", "   ", "a plot", "<Figure>", 42, ["a description that is long enough"]])
def test_show_and_describe_refuse_too_short_alt_text(alt):
    fig, _ = plt.subplots()
    with pytest.raises(ValueError, match="alt must be a sentence or two .* saying what the figure shows"):
        plots.show(fig, alt=alt)
    with pytest.raises(ValueError, match="alt must be a sentence or two .* saying what the figure shows"):
        plots.describe(alt)
    plt.close(fig)


def test_outside_a_notebook_show_and_describe_print_the_figure_and_its_description(capsys):
    fig, ax = plt.subplots()
    plots.show(ax)
    plots.describe("  " + ALT.replace(" ", "\n ", 1))
    shown, described = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"<Figure size \d+x\d+ with 1 Axes>", shown) and described == ALT
    assert not plt.fignum_exists(fig.number), "the figure is closed once shown"


def test_show_refuses_what_it_cannot_display():
    with pytest.raises(ValueError, match="obj must be a matplotlib Figure or Axes, a widget or an audio player"):
        plots.show(object(), alt=ALT)


def test_without_the_inline_backend_a_figure_still_becomes_a_png_with_alt_text():
    _, ax = plt.subplots()
    ax.plot([3, 2, 1])
    data, metadata = plots.alt_bundle(ax, "  " + ALT.replace(" ", "\n ", 1))  # whitespace is normalised
    assert data["image/png"].startswith("iVBORw0K")  # base64 of the PNG signature
    assert data["text/plain"] == ALT
    assert metadata == {"image/png": {"alt": ALT}}
    plt.close("all")


NOTEBOOK_CELLS = [
    "from utils import plots\nimport matplotlib.pyplot as plt\nimport numpy as np",
    f"fig, ax = plt.subplots()\nax.plot([1, 2, 3])\nplots.show(ax, alt={ALT!r})",
    "%config InlineBackend.figure_format = 'retina'\nfig, ax = plt.subplots()\nax.plot([1, 2])\n"
    f"plots.show(fig, alt={ALT!r})",
    "from IPython.display import Audio\n"
    f"plots.show(Audio(np.sin(np.arange(800) / 3), rate=8000), alt={'A short sine tone. ' + ALT!r})",
    f"import ipywidgets\nplots.show(ipywidgets.IntSlider(3), alt={'A slider for n. ' + ALT!r})",
    # as the generated notebooks write it: the figure, then its description in the next cell
    "epochs = 12\nfig, ax = plt.subplots()\nax.plot(range(epochs))\nplots.show(fig)",
    "plots.describe(f'Loss against epoch over {epochs} epochs: it falls, then flattens out for good.')",
    "plots.show(Audio(np.sin(np.arange(800) / 3), rate=8000))",
    f"plots.describe({'A short sine tone. ' + ALT!r})",
    "plots.show(ipywidgets.IntSlider(3))",
    f"plots.describe({'A slider for n. ' + ALT!r})",
    # run out of order, a description leaves the figures alone: not the cell just above ...
    "fig, ax = plt.subplots()\nax.plot([3, 1])\nplots.show(fig)",
    "x = 1",
    f"plots.describe({'Not this figure: ' + ALT!r})",
    # ... nor twice
    f"plots.describe({'Nor this one: ' + ALT!r})",
]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """A small notebook run as the builder runs the solutions (fresh kernel, Jupyter's inline backend)."""
    from tools.build_notebooks import execute

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in NOTEBOOK_CELLS])
    execute(nb, tmp_path_factory.mktemp("alt"), "notebooks/solutions/alt_demo.ipynb")
    return nb


def test_show_in_a_kernel_stores_the_alt_text_in_the_image_metadata_and_shows_the_figure_once(executed):
    for cell in executed.cells[1:3]:
        [output] = cell.outputs  # one image: closing the figure keeps the inline backend from showing it again
        assert output.output_type == "display_data"
        assert output.metadata["image/png"]["alt"] == ALT
        assert output.data["text/plain"] == ALT
        assert output.data["image/png"]
    retina = executed.cells[2].outputs[0].metadata["image/png"]
    assert {"width", "height"} <= set(retina), "the inline backend's own rendering (retina sizes) must be kept"


def test_show_gives_an_audio_player_a_caption_and_a_widget_its_description(executed):
    [audio] = executed.cells[3].outputs
    assert re.fullmatch(r"<figure>\s*<audio .*</audio>\s*<figcaption>A short sine tone\. Loss against epoch: .*"
                        r"</figcaption></figure>", audio.data["text/html"], re.DOTALL)
    assert audio.metadata["text/html"]["alt"].startswith("A short sine tone.")
    [widget] = executed.cells[4].outputs
    assert widget.data[WIDGET]["model_id"]
    assert widget.metadata[WIDGET]["alt"] == widget.data["text/plain"] == "A slider for n. " + ALT


def test_describe_in_the_next_cell_gives_the_figure_above_the_same_alt_text_as_show(executed):
    cells = executed.cells
    [figure] = cells[5].outputs  # shown once, in the cell that draws it
    assert figure.metadata["image/png"]["alt"] == figure.data["text/plain"] == (
        "Loss against epoch over 12 epochs: it falls, then flattens out for good.")  # computed by the run
    assert figure.data["image/png"]
    assert [cells[i].outputs for i in (6, 8, 10)] == [[], [], []], "a description shows nothing of its own"
    [with_alt, described] = [cell.outputs[0] for cell in (cells[3], cells[7])]  # the same player, two ways
    assert described.data == with_alt.data and described.metadata == with_alt.metadata
    [with_alt, described] = [cell.outputs[0] for cell in (cells[4], cells[9])]  # two sliders, two ways
    assert described.metadata == with_alt.metadata and described.data["text/plain"] == with_alt.data["text/plain"]
    assert not _missing_alt(nbformat.v4.new_notebook(cells=cells[:11]))


def test_a_description_run_out_of_order_leaves_every_figure_as_it_is(executed):
    [figure] = executed.cells[11].outputs
    assert "alt" not in figure.metadata.get("image/png", {}) and figure.data["text/plain"].startswith("<Figure")
    assert all(not executed.cells[i].outputs for i in (13, 14))
    texts = [o.data.get("text/plain", "") for cell in executed.cells for o in cell.get("outputs", [])]
    assert not any(text.startswith(("Not this figure", "Nor this one")) for text in texts)


TAB_COLOUR = re.compile(r"""["']tab:(?!gr[ae]y)\w+["']|color=["']red["']""")


def test_plots_use_the_colour_blind_safe_course_palette_not_matplotlib_defaults():
    """Colours that carry meaning are "C0"… (the course cycle, set by course.setup) or plots.PALETTE entries."""
    sources = [*sorted((ROOT / "utils").rglob("*.py")), *sorted((ROOT / "notebooks" / "source").glob("*.py"))]
    found = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}" for path in sources
             for number, line in enumerate(path.read_text().splitlines(), 1) if TAB_COLOUR.search(line)]
    assert not found, "use the course palette (\"C0\" … \"C6\" or plots.PALETTE):\n" + "\n".join(found)
    assert plots.COLOUR_CYCLE.by_key()["color"][:5] == [plots.PALETTE[name] for name in
                                                        ("blue", "orange", "green", "vermillion", "purple")]
