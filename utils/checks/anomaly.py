"""Checks for notebook 05: the rolling z-score baseline and precision / recall / F1."""

from __future__ import annotations

import numpy as np

from utils.anomaly import precision_recall_f1, rolling_zscore
from utils.checks import answer_array, call, close, exercise

_RNG = np.random.default_rng(5)
# A noisy daily-looking series; a short one; one with a flat stretch (a frozen counter), where the std is 0.
_ZSCORE_CASES = [
    (np.sin(np.arange(60) * 2 * np.pi / 24) * 3 + 10 + _RNG.normal(0, 0.3, 60), 24),
    (np.array([1.0, 2.0, 4.0, 3.0, 8.0, 2.0, 1.0]), 3),
    (np.concatenate([_RNG.normal(5, 1, 10), np.full(8, 7.0), [9.0], _RNG.normal(5, 1, 5)]), 4),
]


def _zscore_variant(x, window, *, include_now=False, centred=False, ddof=0, square=False, fill=np.nan,
                    guard=True):
    """The rolling z-score with one typical mistake switched on, to recognise it in a student's answer."""
    x = np.asarray(x, dtype=float)
    z = np.full(x.shape, fill, dtype=float)
    for t in range(window, len(x)):
        if include_now:
            past = x[t - window + 1: t + 1]
        elif centred:
            past = x[max(0, t - window // 2): t + window - window // 2]
        else:
            past = x[t - window: t]
        spread = past.var(ddof=ddof) if square else past.std(ddof=ddof)
        spread = max(spread, 1e-8) if guard else spread
        with np.errstate(divide="ignore", invalid="ignore"):
            z[t] = (x[t] - past.mean()) / spread
    return z


def _same(got, expected) -> bool:
    """Same shape, NaN in the same places, close values elsewhere; never raises."""
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return False
    if got.shape != expected.shape or not np.array_equal(np.isnan(got), np.isnan(expected)):
        return False
    keep = ~np.isnan(expected)
    return close(got[keep], expected[keep], atol=1e-6, rtol=1e-5)


def _zscore_mistakes(x, window) -> dict[str, np.ndarray]:
    return {
        "the window includes x_t itself: use the `window` values *before* t, x[t-window:t]":
            _zscore_variant(x, window, include_now=True),
        "the window is centred on t, so it looks into the future: use only x[t-window:t]":
            _zscore_variant(x, window, centred=True),
        "sample standard deviation (ddof=1): use the population one, np.std(past) (ddof=0)":
            _zscore_variant(x, window, ddof=1),
        "divided by the variance: divide by the standard deviation": _zscore_variant(x, window, square=True),
        "the first `window` hours have no full past window: leave NaN there, not 0": _zscore_variant(x, window,
                                                                                                       fill=0.0),
        "the absolute value is taken: keep the sign (the baseline takes |z| later)":
            np.abs(_zscore_variant(x, window)),
    }


@exercise("Exercise 1 · rolling z-score",
          notebook="05", answer="rolling_zscore", reference="utils.anomaly:rolling_zscore", points=3, minutes=15)
def check_rolling_zscore(fn, report) -> None:
    """Compare ``fn(x, window) -> z`` with the reference on three series, one with a flat (frozen) stretch."""
    for x, window in _ZSCORE_CASES:
        expected = rolling_zscore(x, window)
        label = f"series of {len(x)} hours, window={window}"
        got = answer_array(fn, (x.copy(), window), report, label, scalar_ok=False,
                           what="return an array of numbers, one z-score per hour",
                           hint="start from z = np.full(len(x), np.nan) and fill z[t] for t >= window")
        if got is None:
            continue
        if got.shape != expected.shape:
            report.fail(f"{label}: return one z-score per hour, NaN for the first `window` hours",
                        expected=expected.shape, got=got.shape)
            continue
        if _same(got, expected):
            continue
        bad = np.nonzero(~np.isfinite(got[window:]))[0] + window
        if bad.size:
            flat = any(np.ptp(x[t - window:t]) == 0 for t in bad)
            report.fail(f"{label}: inf or NaN after the first {window} hours, at hour {int(bad[0])}",
                        hint="the past window is flat there (std 0): floor it, np.maximum(std, min_std)" if flat
                        else "only the first `window` hours, which have no full past window, should be NaN")
            continue
        hint = next((h for h, wrong in _zscore_mistakes(x, window).items() if _same(got, wrong)), None)
        report.fail(f"{label}: wrong z-scores", expected=expected, got=got,
                    hint=hint or "z_t = (x_t - mean(x[t-window:t])) / std(x[t-window:t]), NaN for t < window")


_PRF_CASES = [
    # flags, truth: TP=3, FP=1, FN=2 -> P=0.75, R=0.6
    (np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], bool), np.array([1, 1, 1, 0, 1, 1, 0, 0, 0, 0], bool)),
    # nothing flagged: precision is undefined (0/0) -> 0
    (np.zeros(6, bool), np.array([0, 1, 1, 0, 0, 0], bool)),
    # a 2-D (cells, hours) case: TP=2, FP=3, FN=1
    (np.array([[1, 0, 1, 0], [1, 1, 1, 0]], bool), np.array([[1, 0, 0, 0], [0, 1, 0, 1]], bool)),
]


def _prf_mistakes(flags, truth) -> dict[str, tuple]:
    precision, recall, f1 = precision_recall_f1(flags, truth)
    accuracy = float(np.mean(flags == truth))
    return {
        "precision and recall are swapped: precision = TP / (TP + FP), recall = TP / (TP + FN)":
            (recall, precision, f1),
        "F1 is the arithmetic mean: use the harmonic mean 2 P R / (P + R)": (precision, recall,
                                                                            (precision + recall) / 2),
        "this is accuracy, not precision: count only the flagged hours in the denominator":
            (accuracy, recall, _harmonic(accuracy, recall)),
        "F1 lacks the factor 2: F1 = 2 P R / (P + R)": (precision, recall, f1 / 2),
    }


def _harmonic(a: float, b: float) -> float:
    return 2 * a * b / (a + b) if a + b else 0.0


@exercise("Exercise 2 · precision, recall and F1",
          notebook="05", answer="precision_recall_f1", reference="utils.anomaly:precision_recall_f1", points=2,
          minutes=10,
          forbid=("sklearn.metrics:precision_recall_fscore_support", "sklearn.metrics:f1_score",
                  "sklearn.metrics:precision_score", "sklearn.metrics:recall_score"))
def check_precision_recall_f1(fn, report) -> None:
    """Compare ``fn(flags, truth) -> (precision, recall, f1)`` with the reference, including a 0/0 case."""
    for flags, truth in _PRF_CASES:
        expected = precision_recall_f1(flags, truth)
        label = f"flags {flags.astype(int).tolist()} vs truth {truth.astype(int).tolist()}"
        got, error = call(fn, flags.copy(), truth.copy())
        if error:
            hint = ("when nothing is flagged TP + FP = 0: return 0 for an undefined ratio"
                    if "ZeroDivision" in error else None)
            report.fail(f"{label}: your function raised {error}", hint=hint)
            continue
        try:
            got = tuple(float(v) for v in got)
        except (TypeError, ValueError):
            report.fail(f"{label}: return three numbers (precision, recall, f1)", got=got)
            continue
        if len(got) != 3:
            report.fail(f"{label}: return three numbers (precision, recall, f1)", got=got)
            continue
        if close(got, expected):
            continue
        if any(np.isnan(got)):
            report.fail(f"{label}: NaN came back", expected=expected, got=got,
                        hint="when a denominator is 0 (nothing flagged, or no anomaly), return 0")
            continue
        hint = None
        for text, wrong in _prf_mistakes(flags, truth).items():
            if close(got, wrong) and not close(got, expected):
                hint = text
                break
        report.fail(f"{label}: wrong (precision, recall, f1)", expected=tuple(round(v, 4) for v in expected),
                    got=tuple(round(v, 4) for v in got), hint=hint or "count TP, FP and FN first, then divide")
