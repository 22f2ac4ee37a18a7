"""Checks for notebook 02: the day-1 gradient factor of the toy RNN, and clipping a gradient by its norm."""

from __future__ import annotations

import numpy as np

from utils.checks import as_array, call, close, diagnose, exercise


def _day1_mistakes(w2: float, days: int) -> dict[str, float]:
    return {
        f"a sequence of T days has T - 1 unrolls after day 1: use w2 ** (T - 1), not w2 ** T (T = {days})": w2**days,
        "the unrolls multiply, they do not add: a power w2 ** (T - 1), not w2 * (T - 1)": w2 * (days - 1),
        "one unroll too few: day 1 passes through w2 once for each of the days 2 … T": w2 ** (days - 2),
    }


@exercise("Exercise 1 · day 1's gradient factor",
          notebook="02", answer="day1_factor", reference="utils.gradients:day1_factor", points=2, minutes=10)
def check_day1_factor(fn, report) -> None:
    """``fn(w2, days) -> dh_T/dh_1`` for the toy RNN with every ReLU active: w2 ** (days - 1)."""
    for w2, days in [(2.0, 4), (0.5, 10), (0.9, 50), (1.0, 30), (1.1, 7), (-0.5, 3), (3.0, 1)]:
        expected = w2 ** (days - 1)
        got, error = call(fn, w2, days)
        tol = {"atol": 1e-12, "rtol": 1e-5}  # a float32 computation (about 7 significant digits) is right too
        label = f"w2 = {w2}, T = {days} days"
        if error:
            report.fail(f"{label}: your function raised {error}")
            continue
        if close(got, expected, **tol):
            continue
        if as_array(got) is None or np.size(as_array(got)) != 1:
            report.fail(f"{label}: return one number", got=got, hint="return w2 ** (days - 1)")
            continue
        mistakes = {hint: value for hint, value in _day1_mistakes(w2, days).items()
                    if not close(value, expected, **tol)}
        hint = diagnose(got, mistakes, **tol)
        report.fail(f"{label}: wrong factor", expected=expected, got=got,
                    hint=hint or "follow day 1's path: how many times is h multiplied by w2 before day T?")


def _clip_mistakes(gradient: np.ndarray, max_norm: float) -> dict[str, np.ndarray]:
    norm = float(np.sqrt(np.sum(gradient**2)))
    safe = norm if norm > 0 else 1.0
    rows = np.sqrt(np.sum(gradient**2, axis=-1, keepdims=True))
    rows = np.where(rows > 0, rows, 1.0)
    return {
        "the gradient was rescaled although its norm was already below max_norm: only shrink, never grow":
            gradient * max_norm / safe,
        "that is clipping by VALUE (each entry cut to ±max_norm); clipping by norm rescales the whole gradient and "
        "keeps its direction": np.clip(gradient, -max_norm, max_norm),
        "the norm is the square root of the sum of squares (you divided by the sum of squares)":
            gradient * max_norm / max(float(np.sum(gradient**2)), max_norm),
        "take one norm over ALL entries together, not one per row": gradient * max_norm / np.maximum(rows, max_norm),
        "multiply the unit direction by max_norm (you returned gradient / norm)": gradient / safe,
    }


@exercise("Exercise 2 · clip a gradient by its norm",
          notebook="02", answer="clip_by_norm", reference="utils.gradients:clip_by_norm", points=2, minutes=10,
          forbid=("tensorflow:clip_by_norm",))
def check_clip_by_norm(fn, report) -> None:
    """``fn(gradient, max_norm)`` must agree with ``tf.clip_by_norm`` on vectors, matrices, small and zero gradients."""
    import tensorflow as tf

    rng = np.random.default_rng(2)
    cases = [
        ("a long vector (norm 5)", np.array([3.0, -4.0]), 1.0),
        ("a short vector (norm 0.5, below max_norm)", np.array([0.3, 0.4]), 1.0),
        ("a 3×4 matrix", rng.normal(size=(3, 4)) * 3, 2.0),
        ("a matrix with one large row", np.array([[10.0, 0.0], [0.1, 0.2]]), 5.0),
        ("a zero gradient", np.zeros(3), 1.0),
    ]
    for label, gradient, max_norm in cases:
        expected = tf.clip_by_norm(tf.constant(gradient), max_norm).numpy()
        got, error = call(fn, gradient.copy(), max_norm)
        if error:
            report.fail(f"{label}: your function raised {error}",
                        hint="a zero gradient has norm 0: do not divide by it" if not gradient.any() else None)
            continue
        got_arr = as_array(got)
        if got_arr is None:
            report.fail(f"{label}: return the clipped gradient, an array of numbers", got=got,
                        hint="return gradient * scale (a NumPy array of the gradient's shape)")
            continue
        if got_arr.shape != gradient.shape:
            report.fail(f"{label}: the clipped gradient must keep the gradient's shape", expected=gradient.shape,
                        got=got_arr.shape)
            continue
        if not np.all(np.isfinite(got_arr)):
            report.fail(f"{label}: the result contains nan or inf", expected=expected, got=got,
                        hint="a zero gradient has norm 0: rescale by max_norm / max(norm, max_norm) so you never "
                             "divide by 0")
            continue
        if close(got, expected):
            continue
        mistakes = {hint: value for hint, value in _clip_mistakes(gradient, max_norm).items()
                    if not close(value, expected)}
        report.fail(f"{label} with max_norm = {max_norm}: differs from tf.clip_by_norm", expected=expected, got=got,
                    hint=diagnose(got, mistakes) or "scale = max_norm / max(norm, max_norm); return gradient * scale")
