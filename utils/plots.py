"""Diagrams and plots shared by the notebooks, drawn with matplotlib (no pasted images), and the course's accessible
way to show them: ``show(fig, alt=...)``, or ``show(fig)`` then ``describe(alt)`` in the next cell (alt text in the
output's metadata), and one colour-blind-safe palette."""

from __future__ import annotations

import base64
import html
import io

import matplotlib.pyplot as plt
import numpy as np
from cycler import cycler
from matplotlib.colors import to_rgb
from matplotlib.patches import Circle, FancyArrowPatch

# Okabe & Ito's palette (Wong, "Color blindness", Nature Methods 8, 441, 2011): its colours stay distinct for the
# common colour-vision deficiencies. ``course.setup`` makes COLOUR_CYCLE the line colours, so "C0" … "C6" in a plot
# are these, in this order (the same roles as matplotlib's defaults: C0 blue, C1 orange, C2 green, C3 red, C4 purple).
PALETTE = {"blue": "#0072B2", "orange": "#E69F00", "green": "#009E73", "vermillion": "#D55E00",
           "purple": "#CC79A7", "sky blue": "#56B4E9", "black": "#000000", "yellow": "#F0E442"}
COLOUR_CYCLE = cycler(color=[PALETTE[name] for name in
                             ("blue", "orange", "green", "vermillion", "purple", "sky blue", "black")])

ALT_KEY = "alt"  # the output metadata key, per MIME type: output["metadata"]["image/png"]["alt"] (as IPython's Image)
MIN_ALT_CHARS = 40


def _tint(colour: str, strength: float = 0.25) -> tuple[float, float, float]:
    """A pale version of a palette colour (mixed with white), for filled boxes that carry black text."""
    return tuple(1 - strength * (1 - c) for c in to_rgb(colour))


def show(obj, alt: str | None = None) -> None:
    """Display a figure (or a widget, or an audio player) with alt text that says what it shows and what to notice.

    Use it instead of ``plt.show()``: ``plots.show(fig, alt="...")``. ``obj`` is a matplotlib Figure or Axes (its
    figure is shown), or anything IPython can display. The alt text goes into the output's metadata under each of
    its MIME types (``output["metadata"]["image/png"]["alt"]``, the key ``IPython.display.Image(alt=...)`` writes and
    nbconvert's HTML reads) and replaces the ``text/plain`` fallback ("<Figure size 560x280 with 1 Axes>"), so the
    description travels with the stored notebook to JupyterLab, Colab, GitHub and the course website. An audio
    player's HTML also gets it as a visible caption. The figure is closed, so the inline backend does not show it twice.

    Without ``alt``, the next cell gives it with ``describe``: the generated notebooks move a source's
    ``plots.show(fig, alt=...)`` there, into a cell whose code is collapsed (see tools/build_notebooks.py).
    """
    from IPython import get_ipython
    from IPython.display import display

    global _shown
    data, metadata = alt_bundle(obj, alt) if alt is not None else _bundle(obj)
    shell = get_ipython()
    if shell is None:  # a plain Python run: no notebook to store the output in
        print(data["text/plain"])
        _shown = None
    else:
        handle = display(data, metadata=metadata, raw=True, display_id=alt is None)  # describe updates it by its id
        _shown = (shell.execution_count, handle, _bundle_copy(data, metadata)) if alt is None else None
    if isinstance(obj, plt.Axes | plt.Figure):
        plt.close(obj.figure if isinstance(obj, plt.Axes) else obj)


def describe(alt: str) -> None:
    """Give what the cell just above showed with ``show(obj)`` its alt text, as ``show(obj, alt=...)`` would have.

    The output above is updated in place (a display update, which JupyterLab, VS Code, Colab and nbclient apply), so the
    description sits in the figure's own metadata. It acts only right after that cell ran: run out of order, it
    leaves every output as it is rather than describe another cell's figure.
    """
    from IPython import get_ipython

    global _shown
    alt = _checked_alt(alt)
    shell = get_ipython()
    if shell is None:
        print(alt)
        return
    if _shown is None or _shown[0] != shell.execution_count - 1:
        return
    _, handle, (data, metadata) = _shown
    data, metadata = _with_alt(data, metadata, alt)
    handle.update(data, metadata=metadata, raw=True)
    _shown = None


#: What ``show`` displayed without alt text: (the execution count of its cell, the display handle, the MIME bundle).
_shown = None


def alt_bundle(obj, alt: str) -> tuple[dict, dict]:
    """The (data, metadata) that ``show`` displays: ``obj``'s own MIME bundle with ``alt`` added (see ``show``).

    A figure is rendered as IPython would (honouring the inline backend's settings, e.g. retina); where IPython cannot
    render it (no inline backend, e.g. under MPLBACKEND=Agg or outside Jupyter) it becomes a PNG all the same.
    """
    alt = _checked_alt(alt)
    return _with_alt(*_bundle(obj), alt)


def _checked_alt(alt) -> str:
    """``alt`` with its whitespace normalised, or a ValueError that says what alt text is for."""
    if not isinstance(alt, str) or len(" ".join(alt.split())) < MIN_ALT_CHARS:
        raise ValueError(f"alt must be a sentence or two ({MIN_ALT_CHARS}+ characters) saying what the figure shows "
                         f"and what to notice, e.g. 'Loss against epoch: validation loss stops falling after epoch 5', "
                         f"not {alt!r}")
    return " ".join(alt.split())


def _bundle(obj) -> tuple[dict, dict]:
    """``obj``'s (data, metadata) MIME bundle as IPython renders it; a figure without an inline backend as a PNG."""
    from IPython import get_ipython
    from IPython.core.formatters import DisplayFormatter

    figure = obj.figure if isinstance(obj, plt.Axes) else obj  # (get_figure(root=True) needs matplotlib 3.10)
    shell = get_ipython()
    data, metadata = (shell.display_formatter if shell is not None else DisplayFormatter()).format(figure)
    data, metadata = _bundle_copy(data, metadata)
    if isinstance(figure, plt.Figure) and not any(mime.startswith("image/") for mime in data):
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", bbox_inches="tight")
        data = {"image/png": base64.b64encode(buffer.getvalue()).decode("ascii"), "text/plain": data["text/plain"]}
    if not any(mime != "text/plain" for mime in data):
        raise ValueError(f"obj must be a matplotlib Figure or Axes, a widget or an audio player, not "
                         f"{type(obj).__name__}")
    return data, metadata


def _bundle_copy(data: dict, metadata: dict) -> tuple[dict, dict]:
    return dict(data), {key: dict(v) if isinstance(v, dict) else v for key, v in metadata.items()}


def _with_alt(data: dict, metadata: dict, alt: str) -> tuple[dict, dict]:
    """A copy of the bundle with ``alt`` in each MIME type's metadata, as the text fallback, and as an audio caption."""
    data, metadata = _bundle_copy(data, metadata)
    if "<audio" in data.get("text/html", ""):
        data["text/html"] = f'<figure>{data["text/html"]}<figcaption>{html.escape(alt)}</figcaption></figure>'
    for mime in data:
        if mime != "text/plain":
            metadata[mime] = {**metadata.get(mime, {}), ALT_KEY: alt}
    data["text/plain"] = alt
    return data, metadata


def _node(ax, xy, text, color, radius=0.32):
    ax.add_patch(Circle(xy, radius, facecolor=color, edgecolor="black", lw=1.2, zorder=3))
    ax.text(*xy, text, ha="center", va="center", fontsize=10, zorder=4)


def _arrow(ax, start, end, label=None, color="black", label_offset=(0.0, 0.12), rad=0.0):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, lw=1.4, color=color,
                                 shrinkA=14, shrinkB=14, connectionstyle=f"arc3,rad={rad}", zorder=2))
    if label:
        mid = ((start[0] + end[0]) / 2 + label_offset[0], (start[1] + end[1]) / 2 + label_offset[1])
        ax.text(*mid, label, ha="center", va="center", fontsize=9, color=color,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5}, zorder=5)


def draw_unrolled_rnn(xs, hidden=None, prediction=None, ax=None, title=None):
    """Draw the toy RNN unrolled over ``len(xs)`` days: inputs at the bottom, one ReLU unit per day, one prediction.

    The same w1 goes into every unit, the same w2 carries each unit's value to the next day, and w3, b2 turn the last
    hidden value into the prediction: one set of five weights, however many days. Pass ``hidden`` (length T) and
    ``prediction`` to print the computed values in the nodes.
    """
    steps = len(xs)
    if not steps:
        raise ValueError("xs must hold at least one day's input, e.g. [1.0, 0.5, 0.0]")
    if ax is None:
        _, ax = plt.subplots(figsize=(2.1 * steps + 2.2, 3.4))
    for t in range(steps):
        x_pos = 2.0 * t
        _node(ax, (x_pos, 0), f"x{t + 1}\n{xs[t]:g}", _tint(PALETTE["blue"]))
        h_text = f"ReLU\nh{t + 1}" if hidden is None else f"h{t + 1}\n{hidden[t]:.3g}"
        _node(ax, (x_pos, 1.4), h_text, _tint(PALETTE["orange"]), radius=0.38)
        _arrow(ax, (x_pos, 0), (x_pos, 1.4), "w1, b1", label_offset=(0.0, -0.05))
        if t > 0:
            _arrow(ax, (x_pos - 2.0, 1.4), (x_pos, 1.4), "w2", color=PALETTE["vermillion"])
    last = 2.0 * (steps - 1)
    out_text = "ŷ" if prediction is None else f"ŷ\n{prediction:.3g}"
    _node(ax, (last + 1.6, 2.6), out_text, _tint(PALETTE["green"]))
    _arrow(ax, (last, 1.4), (last + 1.6, 2.6), "w3, b2", label_offset=(-0.25, 0.1))
    ax.text(-0.9, 0, "inputs\n(day t)", ha="right", va="center", fontsize=9)
    ax.text(-0.9, 1.4, "hidden\nunit", ha="right", va="center", fontsize=9)
    ax.set_xlim(-2.0, last + 2.4)
    ax.set_ylim(-0.6, 3.2)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title or f"The toy RNN unrolled over {steps} day(s): the same 5 weights at every step")


def draw_lstm_cell(ax=None, title: str = "One LSTM cell at time step t"):
    """Diagram of one LSTM cell: the long-term memory line C on top, the short-term memory h below, the four gates.

    Drawn with matplotlib only. Colours: red = long-term memory (cell state C), purple = short-term memory h (as in
    the lecture deck), blue boxes = sigmoid gates (fractions 0–1), orange = tanh (values -1…1). Returns the axes.
    """
    from matplotlib.patches import FancyBboxPatch

    if ax is not None and not hasattr(ax, "add_patch"):
        raise ValueError(f"ax must be a matplotlib Axes (e.g. plt.subplots()[1]) or None, not {type(ax).__name__}")
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 5.2))
    long_term, short_term = PALETTE["vermillion"], PALETTE["purple"]
    gate_colour, tanh_colour = _tint(PALETTE["sky blue"], 0.35), _tint(PALETTE["orange"])

    def line(points, colour, arrow=False, lw=2.0):
        xs, ys = zip(*points, strict=True)
        ax.plot(xs[:-1] if arrow else xs, ys[:-1] if arrow else ys, color=colour, lw=lw, solid_capstyle="round")
        if arrow:
            ax.add_patch(FancyArrowPatch(points[-2], points[-1], arrowstyle="-|>", mutation_scale=14, color=colour,
                                         lw=lw, shrinkA=0, shrinkB=0))

    def node(x, y, symbol, colour="white"):
        ax.add_patch(Circle((x, y), 0.28, facecolor=colour, edgecolor="black", zorder=3))
        ax.text(x, y, symbol, ha="center", va="center", fontsize=13, zorder=4)

    def box(x, y, label, colour, note):
        ax.add_patch(FancyBboxPatch((x - 0.45, y - 0.32), 0.9, 0.64, boxstyle="round,pad=0.05", facecolor=colour,
                                    edgecolor="black", zorder=3))
        ax.text(x, y, label, ha="center", va="center", fontsize=11, zorder=4)
        ax.text(x + 0.12, 1.62, note, ha="left", va="center", fontsize=8, color="dimgray")

    f_x, i_x, c_x, o_x, out_x, split_x, right = 2.2, 4.6, 6.8, 9.0, 10.4, 11.2, 13.0
    ax.add_patch(FancyBboxPatch((0.4, 0.4), split_x + 0.3, 5.5, boxstyle="round,pad=0.1", facecolor="#f7f7f7",
                                edgecolor="gray", zorder=0))
    # Long-term memory: straight through the cell, touched only by one multiplication and one addition.
    line([(-0.8, 5.2), (right, 5.2)], long_term, arrow=True, lw=3)
    ax.text(-0.8, 5.45, "C_(t-1)\nlong-term memory", fontsize=9, color=long_term, va="bottom")
    ax.text(right - 0.6, 5.45, "C_t", fontsize=10, color=long_term, va="bottom")
    node(f_x, 5.2, "×")
    node(c_x, 5.2, "+")
    # Short-term memory and today's input are joined into [h_(t-1), x_t] and fed to all four gates.
    line([(-0.8, 1.0), (o_x, 1.0)], short_term, lw=2.5)
    ax.text(-0.8, 0.55, "h_(t-1)\nshort-term memory", fontsize=9, color=short_term, va="top")
    line([(1.2, -0.7), (1.2, 1.0)], "black", lw=2)
    ax.text(1.35, -0.6, "x_t  (today's input)", fontsize=9)
    ax.text(3.0, 0.72, "[h_(t-1), x_t] goes to all four gates", fontsize=8, color=short_term, va="top")
    for x in (f_x, i_x, c_x, o_x):
        line([(x, 1.0), (x, 2.28)], "gray", arrow=True, lw=1.5)
    box(f_x, 2.6, "σ", gate_colour, "f_t: % of C\nto remember")
    box(i_x, 2.6, "σ", gate_colour, "i_t: % of the\npotential to add")
    box(c_x, 2.6, "tanh", tanh_colour, "C~_t: potential\nmemory")
    box(o_x, 2.6, "σ", gate_colour, "o_t: % of\ntanh(C_t) out")
    # Forget: C_(t-1) × f_t.   Input: i_t × C~_t, added to the memory.
    line([(f_x, 2.95), (f_x, 4.92)], "gray", arrow=True, lw=1.5)
    line([(i_x, 2.95), (i_x, 4.0), (c_x - 0.28, 4.0)], "gray", arrow=True, lw=1.5)
    line([(c_x, 2.95), (c_x, 3.72)], "gray", arrow=True, lw=1.5)
    node(c_x, 4.0, "×")
    line([(c_x, 4.28), (c_x, 4.92)], "gray", arrow=True, lw=1.5)
    # Output: h_t = o_t × tanh(C_t).
    line([(out_x, 5.2), (out_x, 4.38)], long_term, arrow=True, lw=1.8)
    ax.add_patch(FancyBboxPatch((out_x - 0.4, 3.78), 0.8, 0.45, boxstyle="round,pad=0.05", facecolor=tanh_colour,
                                edgecolor="black", zorder=3))
    ax.text(out_x, 4.0, "tanh", ha="center", va="center", fontsize=10, zorder=4)
    line([(out_x, 3.75), (out_x, 2.88)], "gray", arrow=True, lw=1.5)
    line([(o_x + 0.5, 2.6), (out_x - 0.28, 2.6)], "gray", arrow=True, lw=1.5)
    node(out_x, 2.6, "×")
    line([(out_x + 0.28, 2.6), (split_x, 2.6), (split_x, 1.0), (right, 1.0)], short_term, arrow=True, lw=2.5)
    line([(split_x, 2.6), (split_x, 6.6)], short_term, arrow=True, lw=2.5)
    ax.text(split_x + 0.15, 6.45, "h_t (output)", fontsize=9, color=short_term)
    ax.text(right - 0.6, 0.55, "h_t", fontsize=10, color=short_term, va="top")
    ax.set_xlim(-1.0, right + 0.3)
    ax.set_ylim(-1.0, 7.0)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title)
    return ax


def plot_learning_curves(history, title: str, ax=None, loss_label: str = "loss", mark_best: bool = False):
    """Training and validation loss per epoch: the picture that shows whether a model learns and when it overfits.

    ``history`` is what ``model.fit(..., validation_data=...)`` returns, or a dict with the lists ``loss`` and
    ``val_loss`` (several ``fit`` calls joined). ``mark_best`` draws a line at the epoch of lowest validation loss, for
    training that keeps those weights (``EarlyStopping(restore_best_weights=True)``). Returns the axes.
    """
    log = history if isinstance(history, dict) else getattr(history, "history", None)
    if not isinstance(log, dict) or not log.get("loss") or not log.get("val_loss"):
        raise ValueError("history must be what model.fit(..., validation_data=...) returns, or a dict with the lists "
                         f"'loss' and 'val_loss', not {history!r:.40}")
    ax = ax or plt.subplots()[1]
    loss, val = log["loss"], log["val_loss"]
    epochs = np.arange(1, len(loss) + 1)
    ax.plot(epochs, loss, "o-", label="training loss", ms=3)
    ax.plot(np.arange(1, len(val) + 1), val, "s-", label="validation loss", ms=3)
    if mark_best:
        best = int(np.argmin(val)) + 1
        ax.axvline(best, color="grey", ls=":", label=f"best validation (epoch {best}, weights kept)")
    ax.set(title=title, xlabel="epoch", ylabel=loss_label)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend()
    return ax
