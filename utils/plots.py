"""Diagrams and plots shared by the notebooks, drawn with matplotlib (no pasted images)."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import Circle, FancyArrowPatch


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
    if ax is None:
        _, ax = plt.subplots(figsize=(2.1 * steps + 2.2, 3.4))
    for t in range(steps):
        x_pos = 2.0 * t
        _node(ax, (x_pos, 0), f"x{t + 1}\n{xs[t]:g}", "#dbe9f6")
        h_text = f"ReLU\nh{t + 1}" if hidden is None else f"h{t + 1}\n{hidden[t]:.3g}"
        _node(ax, (x_pos, 1.4), h_text, "#fde2c8", radius=0.38)
        _arrow(ax, (x_pos, 0), (x_pos, 1.4), "w1, b1", label_offset=(0.0, -0.05))
        if t > 0:
            _arrow(ax, (x_pos - 2.0, 1.4), (x_pos, 1.4), "w2", color="#b03a2e")
    last = 2.0 * (steps - 1)
    out_text = "ŷ" if prediction is None else f"ŷ\n{prediction:.3g}"
    _node(ax, (last + 1.6, 2.6), out_text, "#d5f5e3")
    _arrow(ax, (last, 1.4), (last + 1.6, 2.6), "w3, b2", label_offset=(-0.25, 0.1))
    ax.text(-0.9, 0, "inputs\n(day t)", ha="right", va="center", fontsize=9)
    ax.text(-0.9, 1.4, "hidden\nunit", ha="right", va="center", fontsize=9)
    ax.set_xlim(-2.0, last + 2.4)
    ax.set_ylim(-0.6, 3.2)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title or f"The toy RNN unrolled over {steps} day(s): the same 5 weights at every step")
    return ax
