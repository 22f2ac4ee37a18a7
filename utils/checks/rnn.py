"""Checks for notebook 01: the toy RNN's forward pass over a sequence of any length (Exercise 1), and a tanh RNN layer
with u units in matrix form, one step and whole sequences (Exercise 2)."""

from __future__ import annotations

import numpy as np

from utils.checks import as_array, call, close, diagnose, exercise
from utils.rnn import relu, rnn_cell_forward, rnn_forward, toy_rnn_forward

# Weights with w2 < 0 and biases != 0, so that each typical mistake changes the answer.
_WEIGHTS = {"w1": 1.8, "b1": 0.1, "w2": -0.5, "w3": 1.1, "b2": 0.2}
_CASES = [np.array([0.7]), np.array([0.0, 1.0]), np.array([1.0, 0.5, 0.0]), np.array([0.2, 1.0, 0.1, 0.9, 0.3]),
          np.linspace(1.0, -0.4, 12)]
_NAMES = ("w1", "b1", "w2", "w3", "b2")


def _fresh_toy_cases(rng: np.random.Generator, count: int = 3) -> list[tuple[np.ndarray, dict]]:
    """Sequences and weights drawn for this run: w2 < 0 and biases != 0, as in the fixed cases."""
    cases = []
    for _ in range(count):
        weights = dict(zip(_NAMES, (rng.uniform(0.8, 2.0), rng.uniform(0.05, 0.3), -rng.uniform(0.2, 0.9),
                                    rng.uniform(0.5, 1.5), rng.uniform(0.05, 0.5)), strict=True))
        weights = {name: round(float(value), 3) for name, value in weights.items()}
        cases.append((rng.uniform(-0.5, 1.0, size=int(rng.integers(3, 13))).round(3), weights))
    return cases


def _error_hint(error: str, length: int) -> str | None:
    """The likely fault behind an error the toy forward pass raised."""
    if "keyword argument" in error:
        return ("name the parameters exactly as the exercise does, xs, w1, b1, w2, w3, b2: the cells below pass the "
                "five weights by these names")
    if length != 2 and ("IndexError" in error or "index" in error):
        return "the loop assumes a fixed number of days: run it over every element of xs, whatever its length"
    return None


def _mistake(xs, w1, b1, w2, w3, b2, *, activation=relu, recurrent=True, feed_output=False, pick=-1,
             use_b1=True, use_b2=True):
    """The forward pass with one typical mistake switched on, to recognise it in a student's answer."""
    hidden, h = [], 0.0
    for x in xs:
        z = w1 * x + (w2 * h if recurrent else 0.0) + (b1 if use_b1 else 0.0)
        new_h = activation(z)
        hidden.append(new_h)
        h = w3 * new_h + b2 if feed_output else new_h
    return np.array(hidden), w3 * hidden[pick] + (b2 if use_b2 else 0.0)


def _known_mistakes(xs, weights) -> dict[str, tuple]:
    return {
        "ReLU missing: a hidden value can never be negative": _mistake(xs, **weights, activation=lambda z: z),
        "the previous hidden value is not fed back (the w2·h_(t-1) term is missing)": _mistake(
            xs, **weights, recurrent=False),
        "the output w3·h + b2 is fed back instead of the hidden value h": _mistake(xs, **weights, feed_output=True),
        "the prediction uses the first hidden value; use the last one, h_T": _mistake(xs, **weights, pick=0),
        "bias b1 is missing inside the ReLU": _mistake(xs, **weights, use_b1=False),
        "bias b2 is missing from the prediction": _mistake(xs, **weights, use_b2=False),
    }


@exercise("Exercise 1 · toy RNN forward pass",
          notebook="01", answer="toy_rnn_forward", reference="utils.rnn:toy_rnn_forward", points=3, minutes=15,
          forbid=("keras.layers:SimpleRNNCell",))
def check_toy_rnn_forward(fn, report) -> None:
    """Compare ``fn(xs, w1, b1, w2, w3, b2) -> (hidden, prediction)`` with the reference on lengths 1 … 12 and on
    sequences and weights drawn for this run."""
    for xs, weights in [(xs, _WEIGHTS) for xs in _CASES] + _fresh_toy_cases(report.rng):
        expected_hidden, expected_pred = toy_rnn_forward(xs, **weights)
        result, error = call(fn, xs.copy(), **weights)
        label = f"sequence of length {len(xs)}" + ("" if weights is _WEIGHTS else " (weights drawn for this run)")
        if error:
            report.fail(f"{label}: your function raised {error}", hint=_error_hint(error, len(xs)))
            continue
        if not (isinstance(result, tuple) and len(result) == 2):
            report.fail(f"{label}: return a pair (hidden, prediction)", got=result,
                        hint="return two things, the hidden values first and then the prediction",
                        show="end with `return np.array(hidden), prediction`")
            continue
        hidden_raw, pred_raw = result
        hidden, pred = as_array(hidden_raw), as_array(pred_raw)
        if hidden is None or pred is None:
            report.fail(f"{label}: hidden must be an array of numbers and prediction a number", got=result,
                        hint="collect each h_t, a single number, and turn the collection into a NumPy array",
                        show="hidden.append(h) inside the loop, then `return np.array(hidden), prediction`")
            continue
        if hidden.ndim == 0 and pred.ndim == 1:
            report.fail(f"{label}: (hidden, prediction) came back in the wrong order", hint="return hidden first")
            continue
        if hidden.size != len(xs):
            report.fail(f"{label}: hidden should hold one value per step", expected=(len(xs),), got=hidden.shape,
                        hint="append h_t at every step, including the first")
            continue
        hidden = hidden.reshape(-1)
        if pred.ndim != 0 and pred.size == 1 and close(pred.item(), expected_pred) and close(hidden, expected_hidden):
            report.fail(f"{label}: the prediction has the right value but is an array of shape {pred.shape}, not a "
                        "number", hint="compute it from the last hidden value alone, a single number: the cells "
                                       "below print the prediction as a number",
                        show="prediction = w3 * hidden[-1] + b2 (or float(...) of it)")
            continue
        if close(hidden, expected_hidden) and close(pred, expected_pred):
            if not isinstance(hidden_raw, np.ndarray) or np.shape(hidden_raw) != (len(xs),):
                report.fail(f"{label}: right values, but hidden is a {type(hidden_raw).__name__} of shape "
                            f"{np.shape(hidden_raw)}, not a NumPy array of shape ({len(xs)},)",
                            hint="turn the hidden values into a NumPy array before returning them: the cells below "
                                 "use array operations such as hidden > 0", show="return np.array(hidden), prediction")
            continue
        mistakes = _known_mistakes(xs, weights)
        hint = diagnose(hidden, {h: m[0] for h, m in mistakes.items() if not close(m[0], expected_hidden)})
        if hint is None:
            hint = diagnose(pred, {h: m[1] for h, m in mistakes.items() if not close(m[1], expected_pred)})
        which = "hidden values" if not close(hidden, expected_hidden) else "prediction"
        got = hidden if which == "hidden values" else pred_raw
        want = expected_hidden if which == "hidden values" else expected_pred
        report.fail(f"{label}: wrong {which}", expected=want, got=got,
                    hint=hint or "compare your loop with the equations above, one step at a time",
                    show="h = np.maximum(w1 * x + w2 * h + b1, 0.0) at each step, from h = 0.0; then w3 * h + b2")


# --- Exercise 2 · a tanh RNN layer in matrix form -------------------------------------------------------------------

_TOL = {"atol": 1e-5, "rtol": 1e-5}  # an answer computed in float32 (TensorFlow ops) is right too


def _shapes_case(rng: np.random.Generator, batch: int, steps: int, features: int, units: int) -> dict:
    """Inputs and weights of one case: x (batch, steps, features), Wx (features, units), Wh (units, units), b (units,).

    Weights of standard deviation 0.6 keep tanh between its linear middle and its flat ends, where a missing tanh, a
    transposed matrix or a missing bias each change the answer.
    """
    return {"x": rng.normal(0.0, 1.0, size=(batch, steps, features)).round(3),
            "Wx": rng.normal(0.0, 0.6, size=(features, units)).round(3),
            "Wh": rng.normal(0.0, 0.6, size=(units, units)).round(3),
            "b": rng.normal(0.0, 0.6, size=units).round(3)}


def _layer_cases(rng: np.random.Generator) -> list[dict]:
    """The shapes a layer must handle: features = units (so a swapped or transposed Wx shows), features != units, one
    sequence of one step; then shapes and numbers drawn for this run."""
    fixed = np.random.default_rng(2024)  # the same fixed cases every run
    cases = [_shapes_case(fixed, 2, 4, 3, 3), _shapes_case(fixed, 3, 5, 2, 4), _shapes_case(fixed, 1, 1, 1, 2)]
    for _ in range(3):
        units = int(rng.integers(1, 6))
        features = units if rng.random() < 0.3 else int(rng.integers(1, 5))
        cases.append(_shapes_case(rng, int(rng.integers(1, 5)), int(rng.integers(2, 8)), features, units))
    return cases


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _step(x_t, h, Wx, Wh, b, *, activation=np.tanh, bias=True, bias_after=False, recurrent=True, Wh_transposed=False,
          Wx_transposed=False, swapped=False):
    """One step with one typical mistake switched on, to recognise it in a student's answer."""
    Wx_used, Wh_used = (Wh, Wx) if swapped else (Wx.T if Wx_transposed else Wx, Wh.T if Wh_transposed else Wh)
    z = x_t @ Wx_used + (h @ Wh_used if recurrent else 0.0) + (b if bias and not bias_after else 0.0)
    return activation(z) + (b if bias_after else 0.0)


def _step_mistakes(Wx, Wh) -> dict[str, dict]:
    """Each typical mistake of one step: its hint (words only) and the switch of ``_step`` that makes it."""
    mistakes = {
        "tanh is missing: h_t is the weighted sum itself, so it is not kept between -1 and 1": {
            "activation": lambda z: z},
        "ReLU instead of tanh: this layer's activation is tanh, and its hidden values can be negative": {
            "activation": relu},
        "the sigmoid instead of tanh: tanh goes from -1 to 1, the sigmoid from 0 to 1": {"activation": _sigmoid},
        "the bias b is missing": {"bias": False},
        "b is added after tanh; it belongs inside, with the two products": {"bias_after": True},
        "the previous hidden state is left out (the h_prev times Wh term is missing)": {"recurrent": False},
        "Wh is used transposed: with Keras' layout, row i of Wh holds what unit i of h_prev sends to each unit, so "
        "h_prev (batch, units) multiplies Wh from the left": {"Wh_transposed": True},
    }
    if Wx.shape == Wh.shape:  # only then do these mistakes run without a shape error
        mistakes["Wx is used transposed: x_t (batch, features) multiplies Wx (features, units) from the left"] = {
            "Wx_transposed": True}
        mistakes["Wx and Wh are swapped: Wx weighs the input x_t, Wh the previous hidden state"] = {"swapped": True}
    return mistakes


def _layer(x, Wx, Wh, b, *, h0=0.0, carry=True, reverse=False, **step):
    """All hidden states (batch, T, units) with a typical mistake of the loop or of its step switched on."""
    start = np.full((x.shape[0], Wh.shape[0]), h0)
    h, states = start, []
    for t in (range(x.shape[1])[::-1] if reverse else range(x.shape[1])):
        h = _step(x[:, t], h if carry else start, Wx, Wh, b, **step)
        states.append(h)
    return np.stack(states[::-1] if reverse else states, axis=1)


_SHOW_STEP = "h_t = np.tanh(x_t @ Wx + h_prev @ Wh + b)"
_SHOW_LOOP = ("h = np.zeros((batch, units)); for t in range(T): h = rnn_cell_forward(x[:, t], h, Wx, Wh, b) and "
              "collect h; return np.stack(states, axis=1)")
_SHAPE_ERROR = ("a product whose shapes do not fit: x_t is (batch, features) and Wx (features, units); h_prev is "
                "(batch, units) and Wh (units, units); the batch stays on the first axis")


def _describe_case(case: dict) -> str:
    batch, steps, features = case["x"].shape
    return f"batch {batch}, {features} feature(s), {len(case['b'])} unit(s)", steps


def _call_student(fn, args, label: str, report, show: str):
    """Call the student's function on copies of ``args``; if it raises, fail with the error (naming a shape fault as
    one) and return ``None, True``, so that each check below reads the same way."""
    got, error = call(fn, *(arg.copy() for arg in args))
    if error:
        shape_fault = any(word in error for word in ("matmul", "shape", "align", "broadcast", "dimension"))
        report.fail(f"{label}: your function raised {error}", hint=_SHAPE_ERROR if shape_fault else None, show=show)
    return got, bool(error)


def _check_cell(cell_fn, case: dict, report) -> None:
    """One step, from a previous state drawn from the case's own numbers (not zeros, so that Wh matters)."""
    shapes, _ = _describe_case(case)
    label = f"rnn_cell_forward, {shapes}"
    x, Wx, Wh, b = case["x"], case["Wx"], case["Wh"], case["b"]
    x_t, h_prev = x[:, -1], np.tanh(x[:, 0, :1] - b)  # (batch, units): a state a layer could be in
    expected = rnn_cell_forward(x_t, h_prev, Wx, Wh, b)
    got, failed = _call_student(cell_fn, (x_t, h_prev, Wx, Wh, b), label, report, _SHOW_STEP)
    if failed:
        return
    answer = as_array(got)
    if answer is None:
        report.fail(f"{label}: return the new hidden states as a NumPy array of shape (batch, units)", got=got,
                    hint="the function computes the states, and returns them: one row per sequence of the batch",
                    show=_SHOW_STEP)
        return
    if answer.shape != expected.shape:
        hint = ("the result has the units on the first axis and the batch on the second: the batch stays first, one "
                "row per sequence" if answer.shape == expected.T.shape and answer.shape != expected.shape else
                "one row per sequence of the batch, one column per unit")
        report.fail(f"{label}: wrong shape", expected=expected.shape, got=answer.shape, hint=hint, show=_SHOW_STEP)
        return
    if close(answer, expected, **_TOL):
        return
    candidates = {}
    for hint, switch in _step_mistakes(Wx, Wh).items():
        value = _step(x_t, h_prev, Wx, Wh, b, **switch)
        if not close(value, expected, **_TOL):
            candidates[hint] = value
    report.fail(f"{label}: wrong values", expected=expected, got=answer,
                hint=diagnose(answer, candidates, **_TOL) or "compare your step with the equation above, term by term",
                show=_SHOW_STEP)


def _check_layer(forward_fn, case: dict, report) -> None:
    """Whole sequences from h_0 = 0: every hidden state, (batch, T, units)."""
    shapes, steps = _describe_case(case)
    label = f"rnn_forward, {shapes}, {steps} step(s)"
    x, Wx, Wh, b = case["x"], case["Wx"], case["Wh"], case["b"]
    expected = rnn_forward(x, Wx, Wh, b)
    got, failed = _call_student(forward_fn, (x, Wx, Wh, b), label, report, _SHOW_LOOP)
    if failed:
        return
    answer = as_array(got)
    if answer is None:
        report.fail(f"{label}: return every hidden state as one NumPy array of shape (batch, T, units)", got=got,
                    hint="collect the state of every step, and stack them into one array", show=_SHOW_LOOP)
        return
    batch, units = x.shape[0], len(b)
    if answer.shape != expected.shape:
        named = {(batch, units): "only the last state came back: return the state of every step, h_1 … h_T",
                 (steps, batch, units): "the time axis comes first: stack the states along axis 1, so the shape is "
                                        "(batch, T, units) as Keras gives it",
                 (batch, steps + 1, units): "h_0 is among the states returned: return h_1 … h_T, one per input step"}
        report.fail(f"{label}: wrong shape", expected=expected.shape, got=answer.shape,
                    hint=named.get(answer.shape, "one state per sequence, per step, per unit: (batch, T, units)"),
                    show=_SHOW_LOOP)
        return
    if close(answer, expected, **_TOL):
        return
    loop_mistakes = {
        "h_0 is not zeros: before the first step there is nothing to remember, so h_0 = 0": {"h0": 1.0},
        "the state is not carried over: every step starts again from h_0 instead of the state of the step before": {
            "carry": False},
        "the steps are read from the last to the first": {"reverse": True},
    }
    step_mistakes = {f"in the step: {hint}": switch for hint, switch in _step_mistakes(Wx, Wh).items()}
    candidates = {}
    for hint, switch in {**loop_mistakes, **step_mistakes}.items():
        value = _layer(x, Wx, Wh, b, **switch)
        if not close(value, expected, **_TOL):
            candidates[hint] = value
    if steps == batch and close(answer, np.swapaxes(expected, 0, 1), **_TOL):
        candidates = {"the time axis comes first: stack the states along axis 1": answer}
    report.fail(f"{label}: wrong values", expected=expected, got=answer,
                hint=diagnose(answer, candidates, **_TOL) or "check the first step (from h_0 = 0) against "
                     "rnn_cell_forward, then the second", show=_SHOW_LOOP)


@exercise("Exercise 2 · a tanh RNN layer in matrix form",
          notebook="01", answer=("rnn_cell_forward", "rnn_forward"),
          reference=("utils.rnn:rnn_cell_forward", "utils.rnn:rnn_forward"), points=5, minutes=20,
          forbid=("keras.layers:SimpleRNN", "keras.layers:SimpleRNNCell", "keras.layers:RNN"))
def check_rnn_forward(cell_fn, report, forward_fn=None) -> None:
    """Check ``rnn_cell_forward(x_t, h_prev, Wx, Wh, b) -> (batch, units)`` and ``rnn_forward(x, Wx, Wh, b) ->
    (batch, T, units)`` against the reference (which ``tests/test_rnn.py`` pins to ``keras.layers.SimpleRNN``), on
    three fixed cases and three drawn for this run; the first wrong case of each function is reported."""
    cases = _layer_cases(report.rng)
    for check, fn in ((_check_cell, cell_fn), (_check_layer, forward_fn)):
        if fn is None:
            report.fail("the check needs both functions: check_rnn_forward(rnn_cell_forward, rnn_forward)")
            return
        failures = len(report.failures)
        for case in cases:  # the first wrong case of each function is enough to name its fault
            check(fn, case, report)
            if len(report.failures) > failures:
                break
