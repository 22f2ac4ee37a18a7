"""Checks for notebook 05: precision / recall / F1, a detector's threshold chosen on validation cells, and the rolling
z-score baseline.

Each check runs the student's function on the cases below and on fresh ones drawn for this run (``report.rng``), so
an answer key of the cases a student saw does not pass. A finding names the fault first; the formula or the line of
code that fixes it (``show``) comes on the second failing try, or with ``hint()``.
"""

from __future__ import annotations

import numpy as np

from utils.anomaly import choose_threshold, precision_recall_f1, rolling_zscore
from utils.checks import answer_array, as_array, call, close, exercise

_SKLEARN_METRICS = ("sklearn.metrics:precision_recall_fscore_support", "sklearn.metrics:f1_score",
                    "sklearn.metrics:precision_score", "sklearn.metrics:recall_score",
                    "sklearn.metrics:precision_recall_curve")


def _unchanged(report, label: str, given: tuple, originals: tuple) -> None:
    """Record a finding when the student's function changed the arrays it was given (the notebook reuses them)."""
    for name, array, original in zip(("first", "second", "third"), given, originals, strict=False):
        if isinstance(array, np.ndarray) and not np.array_equal(array, original, equal_nan=array.dtype.kind == "f"):
            report.fail(f"{label}: your function changed its {name} argument in place",
                        hint="the notebook uses these arrays again after your function: leave them as they are and "
                             "work on new arrays")
            return


# --- Exercise 1 · precision, recall and F1 ----------------------------------------------------------------------------

_PRF_CASES = [
    # flags, truth: TP=3, FP=1, FN=2 -> P=0.75, R=0.6
    (np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], bool), np.array([1, 1, 1, 0, 1, 1, 0, 0, 0, 0], bool)),
    # nothing flagged: precision is undefined (0/0) -> 0
    (np.zeros(6, bool), np.array([0, 1, 1, 0, 0, 0], bool)),
    # a 2-D (cells, hours) case: TP=2, FP=3, FN=1
    (np.array([[1, 0, 1, 0], [1, 1, 1, 0]], bool), np.array([[1, 0, 0, 0], [0, 1, 0, 1]], bool)),
]


def _prf_fresh(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cases drawn for this run: a 1-D and a 2-D one with hits, false alarms and misses, and one with no anomaly."""
    cases = []
    for shape in ((int(rng.integers(12, 40)),), (int(rng.integers(2, 5)), int(rng.integers(6, 20)))):
        truth, flags = rng.random(shape) < rng.uniform(0.2, 0.5), rng.random(shape) < rng.uniform(0.2, 0.6)
        flat_t, flat_f = truth.reshape(-1), flags.reshape(-1)
        flat_t[:3], flat_f[:3] = (True, True, False), (True, False, True)  # at least one TP, one FN, one FP
        cases.append((flags, truth))
    cases.append((rng.random(int(rng.integers(5, 15))) < 0.5, np.zeros(0, bool)))
    cases[-1] = (cases[-1][0], np.zeros(cases[-1][0].shape, bool))  # no anomaly at all: recall is 0/0 -> 0
    return cases


def _harmonic(a: float, b: float) -> float:
    return 2 * a * b / (a + b) if a + b else 0.0


def _prf_mistakes(flags, truth) -> list[tuple[tuple, str, str]]:
    """(what that mistake returns, the fault in words, the worked step) for the typical mistakes."""
    precision, recall, f1 = precision_recall_f1(flags, truth)
    accuracy = float(np.mean(flags == truth))
    tp, n_flagged = int(np.sum(flags & truth)), int(np.sum(flags))
    fp, fn = int(np.sum(flags & ~truth)), int(np.sum(~flags & truth))
    every_flag = (n_flagged / (n_flagged + fp), n_flagged / (n_flagged + fn)) if n_flagged else (0.0, 0.0)
    return [
        ((recall, precision, f1), "precision and recall are swapped",
         "precision = TP / (TP + FP) (of the flags, the real ones); recall = TP / (TP + FN) (of the anomalies, the "
         "flagged ones)"),
        ((precision, recall, (precision + recall) / 2), "F1 is the harmonic mean of precision and recall, not their "
         "average", "f1 = 2 * precision * recall / (precision + recall)"),
        ((accuracy, recall, _harmonic(accuracy, recall)), "this precision is accuracy: it counts the normal hours "
         "left unflagged too, where precision looks only at the flagged hours", "precision = tp / (tp + fp)"),
        ((precision, recall, f1 / 2), "F1 lacks its factor 2", "f1 = 2 * precision * recall / (precision + recall)"),
        ((*every_flag, _harmonic(*every_flag)), "TP counts every flagged hour: a true positive must be flagged *and* "
         "anomalous", "tp = np.sum(flags & truth)"),
    ] if tp else []


@exercise("Exercise 1 · precision, recall and F1",
          notebook="05", answer="precision_recall_f1", reference="utils.anomaly:precision_recall_f1", points=2,
          minutes=10, forbid=_SKLEARN_METRICS)
def check_precision_recall_f1(fn, report) -> None:
    """Compare ``fn(flags, truth) -> (precision, recall, f1)`` with the reference, on 0/0 cases too."""
    for flags, truth in [*_PRF_CASES, *_prf_fresh(report.rng)]:
        expected = precision_recall_f1(flags, truth)
        label = f"flags {flags.astype(int).tolist()} vs truth {truth.astype(int).tolist()}"
        given = (flags.copy(), truth.copy())
        got, error = call(fn, *given)
        if error:
            report.fail(f"{label}: your function raised {error}",
                        hint="when nothing is flagged, or nothing is anomalous, a ratio is 0/0: return 0 for it"
                        if "ZeroDivision" in error else None)
            continue
        _unchanged(report, label, given, (flags, truth))
        answer = as_array(got) if isinstance(got, tuple | list | np.ndarray) else None
        if answer is None or answer.shape != (3,):
            report.fail(f"{label}: return three numbers (precision, recall, f1)", got=got,
                        hint="end with a line that returns the three numbers as a tuple")
            continue
        if close(answer, expected):
            continue
        if np.isnan(answer).any():
            report.fail(f"{label}: NaN came back", expected=expected, got=tuple(answer),
                        hint="a ratio was 0/0 (nothing flagged, or no anomaly at all): return 0 for it",
                        show="precision = tp / (tp + fp) if tp + fp else 0.0")
            continue
        fault = next(((hint, show) for wrong, hint, show in _prf_mistakes(flags, truth) if close(answer, wrong)),
                     ("count TP, FP and FN first, then the three ratios", "tp = np.sum(flags & truth); "
                      "fp = np.sum(flags & ~truth); fn = np.sum(~flags & truth)"))
        report.fail(f"{label}: wrong (precision, recall, f1)", expected=tuple(round(v, 4) for v in expected),
                    got=tuple(round(float(v), 4) for v in answer), hint=fault[0], show=fault[1])


# --- Exercise 2 · choose the threshold on validation ------------------------------------------------------------------

_THRESHOLD_CASE = (  # two cells of six hours; the first hour of each has no score (NaN) and is anomalous
    np.array([[np.nan, 0.2, 0.9, 3.0, 0.4, 2.5], [np.nan, 0.1, 4.0, 0.3, 0.8, 1.2]]),
    np.array([[2, 0, 0, 1, 0, 3], [4, 0, 1, 0, 0, 0]]),
    np.array([0.2, 0.4, 0.8, 0.9, 1.2, 2.5]),
)


def _threshold_fresh(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Cases drawn for this run: anomalies score higher on average, and a few unscored (NaN) hours are anomalous.

    In the first two the candidates are score values (so "above" and "at or above" differ); in the third they lie
    between score values, with a twin of the best one that flags the same hours (a tie: the first must win)."""
    cases = []
    for number in range(3):
        cells, n_hours = int(rng.integers(2, 5)), int(rng.integers(30, 80))
        labels = np.where(rng.random((cells, n_hours)) < rng.uniform(0.1, 0.3), rng.integers(1, 5, (cells, n_hours)),
                          0)
        scores = np.round(rng.gamma(2.0, 1.0, (cells, n_hours)) + 2.5 * (labels > 0) * rng.random((cells, n_hours)), 1)
        scores[:, :4] = np.nan
        labels[:, :4] = rng.integers(0, 5, (cells, 4))
        labels[0, 0] = 2  # an anomaly without a score, which must not count as a miss
        values = np.unique(scores[~np.isnan(scores)])
        if number < 2:
            candidates = np.sort(rng.choice(values[:-1], size=min(25, len(values) - 1), replace=False))
        else:
            candidates = (values[:-1] + values[1:]) / 2
            best, _ = choose_threshold(scores, labels, candidates)
            twin = (best + values[values > best][0]) / 2  # between the best and the next score: the same flags
            candidates = np.sort(np.append(candidates, twin))
        cases.append((scores, labels, candidates))
    return cases


def _pick(scores, labels, candidates, *, metric=2, at_threshold=False, last_on_tie=False, unscored=False,
          label_one=False) -> tuple[float, float]:
    """(threshold, value of the metric) as ``choose_threshold`` would pick them with one typical mistake switched on.

    metric: 0, 1, 2 for precision, recall, F1; at_threshold: flag scores >= the threshold; last_on_tie: the last of
    equal candidates wins; unscored: NaN hours are counted (never flagged); label_one: only label 1 is anomalous."""
    keep = np.ones(scores.shape, dtype=bool) if unscored else ~np.isnan(scores)
    values = np.where(np.isnan(scores), -np.inf, scores)[keep]
    truth = labels[keep] == 1 if label_one else labels[keep] > 0
    top, chosen = -1.0, (np.nan, np.nan)
    for threshold in candidates:
        value = precision_recall_f1(values >= threshold if at_threshold else values > threshold, truth)[metric]
        if value > top or (last_on_tie and value == top):
            top, chosen = value, (float(threshold), float(value))
    return chosen


def _threshold_mistakes(scores, labels, candidates) -> list[tuple[tuple, bool, str, str]]:
    """(what that mistake returns, whether only its threshold is telling, the fault in words, the worked step)."""
    right = choose_threshold(scores, labels, candidates)
    position = float(np.flatnonzero(np.asarray(candidates) == right[0])[0])
    return [
        (_pick(scores, labels, candidates, unscored=True), False, "the hours without a score (NaN) are counted, as "
         "misses: leave them out before comparing flags with labels",
         "scored = ~np.isnan(scores); values, truth = scores[scored], labels[scored] > 0"),
        (_pick(scores, labels, candidates, at_threshold=True), False, "an hour whose score equals the threshold is "
         "flagged: flag only the scores above it", "flags = values > threshold"),
        (_pick(scores, labels, candidates, last_on_tie=True), False, "on a tie the last candidate wins: keep the "
         "first, and replace the best only when F1 is strictly higher", "if f1 > best_f1: ..."),
        (_pick(scores, labels, candidates, metric=0), True, "this is the threshold with the best precision: pick the "
         "one with the best F1", "f1 = precision_recall_f1(values > threshold, truth)[2]"),
        (_pick(scores, labels, candidates, metric=1), True, "this is the threshold with the best recall: pick the "
         "one with the best F1", "f1 = precision_recall_f1(values > threshold, truth)[2]"),
        (_pick(scores, labels, candidates, label_one=True), False, "only label 1 counts as anomalous: every label "
         "above 0 is a fault (1 to 4 are the kinds)", "truth = labels[scored] > 0"),
        ((right[1], right[0]), False, "threshold and F1 come back in the wrong order",
         "return best_threshold, best_f1"),
        ((position, right[1]), False, "this is the position of the best candidate among the candidates, not the "
         "threshold itself", "best_threshold = float(threshold)"),
    ]


def _pair(got) -> np.ndarray | None:
    """The answer as two finite numbers (threshold, f1), or None (the notebook unpacks it: a tuple, list or array)."""
    answer = as_array(got) if isinstance(got, tuple | list | np.ndarray) else None
    if answer is None or answer.shape != (2,) or not np.all(np.isfinite(answer)):
        return None
    return answer


@exercise("Exercise 2 · choose the threshold on validation",
          notebook="05", answer="choose_threshold", reference="utils.anomaly:choose_threshold", points=3, minutes=15,
          forbid=_SKLEARN_METRICS)
def check_choose_threshold(fn, report) -> None:
    """Compare ``fn(scores, labels, candidates) -> (threshold, f1)`` with the reference, ties and NaN hours included."""
    cases = [_THRESHOLD_CASE, *_threshold_fresh(report.rng)]
    for number, (scores, labels, candidates) in enumerate(cases):
        expected = choose_threshold(scores, labels, candidates)
        label = (f"the case of {scores.shape[0]} cells × {scores.shape[1]} hours with {len(candidates)} candidates"
                 + (" shown in the check" if number == 0 else f" drawn for this run (number {number})"))
        given = (scores.copy(), labels.copy(), candidates.copy())
        got, error = call(fn, *given)
        if error:
            report.fail(f"{label}: your function raised {error}")
            continue
        _unchanged(report, label, given, (scores, labels, candidates))
        answer = _pair(got)
        if answer is None:
            report.fail(f"{label}: return two numbers, (threshold, f1)", expected=expected, got=got,
                        hint="end with a line that returns the best threshold and its F1 as a tuple")
            continue
        if close(answer, expected):
            continue
        fault = next(((hint, show) for wrong, threshold_only, hint, show
                      in _threshold_mistakes(scores, labels, candidates)
                      if close(answer[:1] if threshold_only else answer, wrong[:1] if threshold_only else wrong)),
                     ("for each candidate: flag the scored hours above it, compute F1 against label > 0, and keep "
                      "the first candidate with the highest F1", "f1 = precision_recall_f1(values > threshold, "
                      "truth)[2]"))
        report.fail(f"{label}: wrong (threshold, f1)", expected=tuple(round(v, 4) for v in expected),
                    got=tuple(round(float(v), 4) for v in answer), hint=fault[0], show=fault[1])
    _, error = call(fn, _THRESHOLD_CASE[0].copy(), _THRESHOLD_CASE[1].copy())
    if error:
        report.fail(f"without candidates (the default): your function raised {error}",
                    hint="keep the given lines that fill in the default candidates when none are passed")


# --- Exercise 3 · rolling z-score -------------------------------------------------------------------------------------

_RNG = np.random.default_rng(5)
# A noisy daily-looking series; a short one; one with a flat stretch (a frozen counter), where the std is 0.
_ZSCORE_CASES = [
    (np.sin(np.arange(60) * 2 * np.pi / 24) * 3 + 10 + _RNG.normal(0, 0.3, 60), 24),
    (np.array([1.0, 2.0, 4.0, 3.0, 8.0, 2.0, 1.0]), 3),
    (np.concatenate([_RNG.normal(5, 1, 10), np.full(8, 7.0), [9.0], _RNG.normal(5, 1, 5)]), 4),
]


def _zscore_fresh(rng: np.random.Generator) -> list[tuple[np.ndarray, int]]:
    """Cases drawn for this run: a random series with a flat stretch longer than its window."""
    cases = []
    for _ in range(2):
        window = int(rng.integers(3, 10))
        flat = np.full(window + int(rng.integers(1, 5)), float(rng.integers(2, 9)))
        cases.append((np.concatenate([rng.normal(5, 2, int(rng.integers(window + 2, 40))), flat,
                                      rng.normal(5, 2, int(rng.integers(3, 12)))]), window))
    return cases


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
    got = as_array(got)
    if got is None or got.shape != expected.shape or not np.array_equal(np.isnan(got), np.isnan(expected)):
        return False
    keep = ~np.isnan(expected)
    return close(got[keep], expected[keep], atol=1e-6, rtol=1e-5)


def _zscore_mistakes(x, window) -> list[tuple[np.ndarray, str, str]]:
    """(what that mistake returns, the fault in words, the worked step) for the typical mistakes."""
    return [
        (_zscore_variant(x, window, include_now=True), "the window includes x_t itself: it must hold only the "
         "`window` values before t", "past = x[t - window:t]"),
        (_zscore_variant(x, window, centred=True), "the window is centred on t, so it looks into the future: use "
         "only the hours before t", "past = x[t - window:t]"),
        (_zscore_variant(x, window, ddof=1), "this is the sample standard deviation (ddof=1): use the population "
         "one, as np.std gives by default", "past.std()"),
        (_zscore_variant(x, window, square=True), "divided by the variance: divide by the standard deviation",
         "z[t] = (x[t] - past.mean()) / max(past.std(), min_std)"),
        (_zscore_variant(x, window, fill=0.0), "the first `window` hours have no full past window: leave NaN there, "
         "not 0", "z = np.full(x.shape, np.nan); then fill z[t] for t >= window only"),
        (np.abs(_zscore_variant(x, window)), "the absolute value is taken: keep the sign (the baseline takes |z| "
         "later)", "z[t] = (x[t] - past.mean()) / max(past.std(), min_std)"),
    ]


@exercise("Exercise 3 · rolling z-score",
          notebook="05", answer="rolling_zscore", reference="utils.anomaly:rolling_zscore", points=3, minutes=15,
          optional=True)
def check_rolling_zscore(fn, report) -> None:
    """Compare ``fn(x, window) -> z`` with the reference on series with a flat (frozen) stretch, among others."""
    for x, window in [*_ZSCORE_CASES, *_zscore_fresh(report.rng)]:
        expected = rolling_zscore(x, window)
        label = f"series of {len(x)} hours, window={window}"
        given = (x.copy(), window)
        got = answer_array(fn, given, report, label, scalar_ok=False,
                           what="return an array of numbers, one z-score per hour",
                           hint="start from an array of NaN, one per hour, and fill in the hours that have a full "
                                "past window")
        if got is None:
            continue
        _unchanged(report, label, given, (x, window))
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
                        hint="the past window is flat there (std 0), and the division blows up: floor the std at "
                             "min_std" if flat else "only the first `window` hours, which have no full past "
                             "window, should be NaN",
                        show="np.maximum(past.std(), min_std)" if flat else None)
            continue
        fault = next(((hint, show) for wrong, hint, show in _zscore_mistakes(x, window) if _same(got, wrong)),
                     ("each z_t compares x_t with the mean and standard deviation of the `window` values before it",
                      "z[t] = (x[t] - x[t - window:t].mean()) / max(x[t - window:t].std(), min_std)"))
        report.fail(f"{label}: wrong z-scores", expected=expected, got=got, hint=fault[0], show=fault[1])
