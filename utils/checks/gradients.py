"""Checks for notebook 02: the day-1 gradient factor of the toy RNN, backpropagation through time by hand (compared
with ``tf.GradientTape``), and clipping a gradient by its norm.

Each check runs the answer on the cases the notebook shows, a few more, and fresh ones drawn for this run
(``report.rng``), then names a mistake only when it explains the answer on every case (``_explains``): a mistake
that matches one case by coincidence (clipping by value and clipping each row give the same matrix when one row holds
all the norm) is not named.
"""

from __future__ import annotations

import numpy as np

from utils.checks import as_array, call, close, exercise

# --- shared ----------------------------------------------------------------------------------------------------------


def _explains(answers: list, mistakes: list[dict[str, object]], expected: list, **tolerance) -> str | None:
    """The first mistake (a hint) whose outputs equal the answer's on every case, if any, and which is wrong somewhere.

    ``answers[i]`` is the answer's output on case i (None where it gave no usable output), ``mistakes[i]`` maps each
    hint to that mistake's output on case i, ``expected[i]`` is the right output.
    """
    if not mistakes or any(answer is None for answer in answers):
        return None
    for hint in mistakes[0]:
        if all(close(got, wrong[hint], **tolerance) for got, wrong in zip(answers, mistakes, strict=True)) and any(
                not close(wrong[hint], right, **tolerance) for wrong, right in zip(mistakes, expected, strict=True)):
            return hint
    return None


# --- Exercise 1: dh_T/dh_1 --------------------------------------------------------------------------------------------


def _day1_mistakes(w2: float, days: int) -> dict[str, float]:
    return {
        "a sequence of T days has T − 1 unrolls after day 1 (from day 1 to day 2, …, from day T − 1 to day T); "
        "you counted T": w2**days,
        "the unrolls multiply, they do not add: one factor W2 per unroll, not W2 times the number of unrolls":
            w2 * (days - 1),
        "one unroll too few: day 1's value passes through W2 once on the way into each of the days 2 … T":
            w2 ** (days - 2),
    }


@exercise("Exercise 1 · day 1's gradient factor",
          notebook="02", answer="day1_factor", reference="utils.gradients:day1_factor", points=1, minutes=5)
def check_day1_factor(fn, report) -> None:
    """``fn(w2, days) -> dh_T/dh_1`` for the toy RNN with every ReLU active: W2 to the power T − 1."""
    cases = [(2.0, 4), (0.5, 10), (0.9, 50), (1.0, 30), (1.1, 7), (-0.5, 3), (3.0, 1)]
    cases += [(float(np.round(report.rng.choice([-1, 1]) * report.rng.uniform(0.3, 1.6), 2)),
               int(report.rng.integers(2, 40))) for _ in range(4)]
    tol = {"atol": 1e-12, "rtol": 1e-5}  # a float32 computation (about 7 significant digits) is right too
    answers, mistakes, expected, wrong = [], [], [], []
    for w2, days in cases:
        right = w2 ** (days - 1)
        label = f"W2 = {w2}, T = {days} days"
        got, error = call(fn, w2, days)
        if error:
            report.fail(f"{label}: your function raised {error}")
            answers.append(None)
            continue
        answer = as_array(got)
        if answer is None or answer.ndim != 0:
            report.fail(f"{label}: return one number, the factor dh_T/dh_1 (not a list or an array)", got=got,
                        hint="the factor is a single number: W2 multiplied by itself once per unroll")
            answers.append(None)
            continue
        answers.append(answer)
        mistakes.append(_day1_mistakes(w2, days))
        expected.append(right)
        if not close(answer, right, **tol):
            wrong.append((label, right, got))
    if not wrong:
        return
    hint = _explains(answers, mistakes, expected, **tol) or (
        "follow day 1's value to day T: how many times is it multiplied by W2 on the way?")
    for label, right, got in wrong:
        report.fail(f"{label}: wrong factor", expected=right, got=got, hint=hint,
                    show="dh_T/dh_1 = W2 ** (T − 1): `return w2 ** (days - 1)`")


# --- Exercise 2: backpropagation through time ------------------------------------------------------------------------


def tape_terms(xs, y, w1, b1, w2, w3, b2) -> tuple[np.ndarray, np.ndarray]:
    """What TensorFlow says each day adds to dSSR/dW1 and dSSR/dW2, for one sequence ``xs`` (T,) with target ``y``.

    The toy RNN runs with its own copy of W1 and of W2 for each day (all copies equal, so it computes the same
    prediction); ``tf.GradientTape``'s gradient with respect to day t's copy is the term that day t's use of the
    weight adds. Their sums are the gradients with respect to the shared W1 and W2. 64-bit floats.
    """
    import tensorflow as tf

    xs = np.asarray(xs, dtype="float64").reshape(-1)
    w1_copies = tf.Variable(np.full(len(xs), w1, dtype="float64"))
    w2_copies = tf.Variable(np.full(len(xs), w2, dtype="float64"))
    with tf.GradientTape() as tape:
        hidden = tf.constant(0.0, dtype=tf.float64)
        for t, x in enumerate(xs):
            hidden = tf.nn.relu(w1_copies[t] * x + w2_copies[t] * hidden + b1)
        ssr = (y - (w3 * hidden + b2)) ** 2
    d_w1, d_w2 = tape.gradient(ssr, [w1_copies, w2_copies])
    return d_w1.numpy(), d_w2.numpy()


def _bptt(xs, y, w1, b1, w2, w3, b2, *, later_slopes=True, own_slope=True, d_prediction="right", uses_w3=True,
          w2_input="previous", extra_unroll=False, only_last=False) -> np.ndarray:
    """The per-day terms (2, T) as the chain rule gives them, or as one typical mistake gets them (the switches)."""
    xs = np.asarray(xs, dtype=float).reshape(-1)
    hidden, h = [], 0.0
    for x in xs:
        h = max(w1 * x + w2 * h + b1, 0.0)
        hidden.append(h)
    hidden = np.array(hidden)
    previous = np.concatenate([[0.0], hidden[:-1]])
    slope = (w1 * xs + w2 * previous + b1 > 0).astype(float)
    prediction = w3 * hidden[-1] + b2
    d_pred = {"right": -2 * (y - prediction), "sign": 2 * (y - prediction), "half": -(y - prediction),
              "none": 1.0}[d_prediction]
    later = slope if later_slopes else np.ones_like(slope)
    path = np.ones(len(xs))  # dh_T/dh_t = product over k = t+1 … T of W2 · ReLU'(z_k)
    for t in range(len(xs) - 2, -1, -1):
        path[t] = path[t + 1] * w2 * later[t + 1]
    if extra_unroll:
        path = path * w2
    common = d_pred * (w3 if uses_w3 else 1.0) * path * (slope if own_slope else 1.0)
    w2_factor = {"previous": previous, "current": hidden, "input": xs}[w2_input]
    terms = np.stack([common * xs, common * w2_factor])
    if only_last:
        terms[:, :-1] = 0.0
    return terms


_BPTT_MISTAKES = {
    "the path from day t to day T passes through the ReLU of every later day: dh_T/dh_t multiplies W2 · ReLU'(z_k) "
    "for each later day k, not W2 alone (a ReLU that is off cuts the path)": dict(later_slopes=False),
    "a day whose ReLU is off adds nothing: the factor dh_t/dz_t = ReLU'(z_t) of the day itself is missing":
        dict(own_slope=False),
    "every term has the wrong sign: dSSR/dprediction is −2(observed − predicted)": dict(d_prediction="sign"),
    "every term is half what it should be: the derivative of (observed − predicted)² is −2(observed − predicted)":
        dict(d_prediction="half"),
    "your terms are those of the prediction, not of SSR: the chain starts with dSSR/dprediction = "
    "−2(observed − predicted)": dict(d_prediction="none"),
    "the factor dprediction/dh_T = W3 is missing": dict(uses_w3=False),
    "the dSSR/dW2 terms use h_t: W2 multiplies the hidden value of the day before, so dz_t/dW2 = h_(t−1) (and "
    "h_0 = 0 on day 1)": dict(w2_input="current"),
    "the dSSR/dW2 terms use x_t, which is dz_t/dW1: W2 multiplies the hidden value of the day before, h_(t−1)":
        dict(w2_input="input"),
    "one unroll too many: day T's path factor is 1, and each earlier day adds one factor W2 · ReLU'": dict(
        extra_unroll=True),
    "only day T has a term: W1 and W2 are used on every day, and each use adds a term; go back through all the "
    "days": dict(only_last=True),
}


def _bptt_mistakes(xs, y, weights) -> dict[str, np.ndarray]:
    right = _bptt(xs, y, **weights)
    mistakes = {hint: _bptt(xs, y, **weights, **switches) for hint, switches in _BPTT_MISTAKES.items()}
    mistakes["the terms are in reverse order: the first entry is day 1, the last day T"] = right[:, ::-1]
    mistakes["the two arrays are swapped: return the dSSR/dW1 terms first, then the dSSR/dW2 terms"] = right[::-1]
    return mistakes


def _as_pair(got, days: int) -> np.ndarray | None:
    """The answer as an array (2, T), from a pair of arrays or lists (or one (2, T) array); None if it is not one."""
    if isinstance(got, dict):
        return None
    whole = as_array(got)
    if whole is not None:
        return whole if whole.shape == (2, days) else None
    if isinstance(got, tuple | list) and len(got) == 2:
        parts = [as_array(part) for part in got]
        if all(part is not None and part.shape == (days,) for part in parts):
            return np.stack(parts)
    return None


def _bptt_cases(rng) -> list[tuple[str, np.ndarray, float, dict]]:
    """The notebook's sequence with the lecture's weights and W2 = 2, 0.5; one day; 30 days; and four fresh cases."""
    from utils.rnn import TOY_WEIGHTS

    days = np.array([1.0, 0.3, 0.25, 0.8])
    cases = [(f"the notebook's 4 days, W2 = {w2}", days, 1.0, dict(TOY_WEIGHTS, w2=w2)) for w2 in (-0.5, 2.0, 0.5)]
    cases.append(("one day", np.array([0.7]), 0.5, dict(TOY_WEIGHTS)))
    cases.append(("30 days, W2 = 1.05", np.linspace(0.1, 1.0, 30), 2.0, dict(w1=0.4, b1=0.1, w2=1.05, w3=0.8, b2=0.2)))
    while len(cases) < 9:
        length = int(rng.integers(3, 10))
        weights = dict(w1=rng.uniform(0.3, 1.5), b1=rng.uniform(-0.3, 0.3), w2=rng.uniform(-1.2, 1.6),
                       w3=rng.choice([-1, 1]) * rng.uniform(0.5, 2.0), b2=rng.uniform(-0.5, 0.5))
        weights = {name: float(np.round(value, 3)) for name, value in weights.items()}
        xs = np.round(rng.uniform(-0.6, 1.5, size=length), 3)
        slopes = _bptt(xs, 0.0, **weights, d_prediction="none", uses_w3=False)[0] / np.where(xs == 0, 1, xs)
        if slopes[-1] != 0 and np.count_nonzero(slopes) > length // 2:  # the path reaches back past half the days
            cases.append((f"fresh case {len(cases) - 4} ({length} days)", xs, float(np.round(rng.uniform(-1, 2), 3)),
                          weights))
    return cases


def _bptt_structure(got: np.ndarray, expected: np.ndarray) -> str:
    """A hint from where the answer differs from the right terms, when no single known mistake explains it."""
    w1_right, w2_right = close(got[0], expected[0]), close(got[1], expected[1])
    if w1_right and not w2_right:
        return ("your dSSR/dW1 terms are right and the dSSR/dW2 terms are not: the chain is the same up to the last "
                "factor, dz_t/dW2")
    if w2_right and not w1_right:
        return ("your dSSR/dW2 terms are right and the dSSR/dW1 terms are not: the chain is the same up to the last "
                "factor, dz_t/dW1")
    if close(got[:, -1], expected[:, -1]):
        return "day T's terms are right and earlier days' are not: check the path factor dh_T/dh_t of the earlier days"
    return "compare your terms with the chain rule above, one factor at a time, starting from day T"


@exercise("Exercise 2 · backpropagation through time",
          notebook="02", answer="toy_rnn_gradients", reference="utils.gradients:toy_rnn_gradients", points=4,
          minutes=25, forbid=("tensorflow:GradientTape",))
def check_toy_rnn_gradients(fn, report) -> None:
    """``fn(xs, y, w1, b1, w2, w3, b2) -> (terms_w1, terms_w2)``: each day's term of dSSR/dW1 and dSSR/dW2, compared
    with ``tf.GradientTape`` on the toy RNN with one copy of each weight per day."""
    tol = {"atol": 1e-7, "rtol": 1e-5}
    answers, mistakes, expected, wrong = [], [], [], []
    for label, xs, y, weights in _bptt_cases(report.rng):
        right = np.stack(tape_terms(xs, y, **weights))
        given = xs.copy()
        got, error = call(fn, given, y, **weights)
        if error:
            report.fail(f"{label}: your function raised {error}")
            answers.append(None)
            continue
        if not np.array_equal(given, xs):
            report.fail(f"{label}: your function changed the sequence xs it was given",
                        hint="compute new arrays (x * w, np.concatenate...) instead of writing into xs: the notebook "
                             "uses its sequences again after your function has run")
        pair = _as_pair(got, len(xs))
        sums = as_array(got) if pair is None and not isinstance(got, dict) else None
        if sums is not None and sums.shape == (2,) and close(sums, right.sum(axis=1), **tol):
            report.fail(f"{label}: you returned the two gradients, the sums over the days; return each day's term "
                        "(the notebook adds them up)", got=got,
                        hint="keep one number per day for each weight instead of adding them up")
            answers.append(None)
            continue
        if pair is None:
            report.fail(f"{label}: return two arrays of {len(xs)} numbers each, the terms of dSSR/dW1 then those of "
                        "dSSR/dW2, one per day", got=got,
                        hint="build one array with a number per day for each weight, and return the two as a pair")
            answers.append(None)
            continue
        answers.append(pair)
        mistakes.append(_bptt_mistakes(xs, y, weights))
        expected.append(right)
        if not close(pair, right, **tol):
            wrong.append((label, right, pair))
    if not wrong:
        return
    named = _explains(answers, mistakes, expected, **tol)
    for label, right, got in wrong:
        report.fail(f"{label}: your terms differ from tf.GradientTape's", expected=right, got=got,
                    hint=named or _bptt_structure(got, right),
                    show="day t's term of dSSR/dW2 is −2(y − ŷ) · W3 · dh_T/dh_t · ReLU'(z_t) · h_(t−1); going "
                         "backwards from day T, keep d = dSSR/dh_t: `d_z = d * (z[t] > 0)`, add `d_z * xs[t]` and "
                         "`d_z * h_previous[t]`, then `d = d_z * w2` for day t − 1")


# --- Exercise 3: clipping by norm -------------------------------------------------------------------------------------


def _clip_mistakes(gradient: np.ndarray, max_norm: float) -> dict[str, np.ndarray]:
    norm = float(np.sqrt(np.sum(gradient**2)))
    safe = norm if norm > 0 else 1.0
    rows = np.sqrt(np.sum(gradient**2, axis=-1, keepdims=True))
    return {
        "the gradient was rescaled although its norm was already below max_norm: only shrink, never grow":
            gradient * max_norm / safe,
        "that is clipping by VALUE (each entry cut to ±max_norm); clipping by norm rescales the whole gradient and "
        "keeps its direction": np.clip(gradient, -max_norm, max_norm),
        "the norm is the square root of the sum of squares (you divided by the sum of squares)":
            gradient * max_norm / max(float(np.sum(gradient**2)), max_norm),
        "you clipped each row by its own norm: take one norm over ALL entries of the gradient together":
            gradient * max_norm / np.maximum(rows, max_norm),
        "the result's norm must be max_norm, not 1: you returned the unit direction gradient / norm":
            gradient / safe,
    }


def _clip_cases(rng) -> list[tuple[str, np.ndarray, float]]:
    fixed = np.random.default_rng(2)  # the same 3×4 matrix in every run
    cases = [
        ("a long vector (norm 5)", np.array([3.0, -4.0]), 1.0),
        ("a short vector (norm 0.5, below max_norm)", np.array([0.3, 0.4]), 1.0),
        ("a 3×4 matrix", fixed.normal(size=(3, 4)) * 3, 2.0),
        ("a matrix with one large row", np.array([[10.0, 0.0], [0.1, 0.2]]), 5.0),
        ("a matrix whose first row alone is longer than max_norm", np.array([[3.0, 4.0], [0.3, 0.4]]), 4.5),
        ("a zero gradient", np.zeros(3), 1.0),
    ]
    for k in range(3):
        shape = [(7,), (4, 3), (2, 3, 2)][k]
        scale = float(rng.choice([0.2, 3.0]))
        cases.append((f"fresh case {k + 1} (shape {shape})", rng.normal(size=shape) * scale,
                      float(np.round(rng.uniform(0.5, 2.0), 2))))
    return cases


@exercise("Exercise 3 · clip a gradient by its norm",
          notebook="02", answer="clip_by_norm", reference="utils.gradients:clip_by_norm", points=2, minutes=10,
          forbid=("tensorflow:clip_by_norm", "tensorflow:clip_by_global_norm"), optional=True)
def check_clip_by_norm(fn, report) -> None:
    """``fn(gradient, max_norm)`` must agree with ``tf.clip_by_norm`` on vectors, matrices, small and zero gradients."""
    import tensorflow as tf

    answers, mistakes, expected, wrong = [], [], [], []
    for label, gradient, max_norm in _clip_cases(report.rng):
        right = tf.clip_by_norm(tf.constant(gradient), max_norm).numpy()
        given = gradient.copy()
        got, error = call(fn, given, max_norm)
        if not error and not np.array_equal(given, gradient):
            report.fail(f"{label}: your function changed the gradient it was given",
                        hint="return a new array (gradient * scale) instead of scaling the given one in place: the "
                             "caller may still need the unclipped gradient")
        if error:
            report.fail(f"{label}: your function raised {error}",
                        hint="a zero gradient has norm 0: do not divide by it" if not gradient.any() else None)
            answers.append(None)
            continue
        got_arr = as_array(got)
        if got_arr is None:
            report.fail(f"{label}: return the clipped gradient, an array of numbers", got=got,
                        hint="return an array of the gradient's shape: the gradient times a scale factor")
            answers.append(None)
            continue
        if got_arr.shape != gradient.shape:
            report.fail(f"{label}: the clipped gradient must keep the gradient's shape", expected=gradient.shape,
                        got=got_arr.shape)
            answers.append(None)
            continue
        if not np.all(np.isfinite(got_arr)):
            report.fail(f"{label}: the result contains nan or inf", expected=right, got=got,
                        hint="a zero gradient has norm 0: never divide by 0 (a gradient at or below max_norm is "
                             "returned as it is)", show="scale = max_norm / max(norm, max_norm)")
            answers.append(None)
            continue
        answers.append(got_arr)
        mistakes.append(_clip_mistakes(gradient, max_norm))
        expected.append(right)
        if not close(got_arr, right):
            wrong.append((label, max_norm, right, got))
    if not wrong:
        return
    hint = _explains(answers, mistakes, expected) or (
        "clipping by norm multiplies the whole gradient by one number: max_norm / norm when the norm is above "
        "max_norm, 1 otherwise")
    for label, max_norm, right, got in wrong:
        report.fail(f"{label} with max_norm = {max_norm}: differs from tf.clip_by_norm", expected=right, got=got,
                    hint=hint, show="norm = np.sqrt(np.sum(gradient**2)); return gradient * (max_norm / max(norm, "
                                    "max_norm))")
