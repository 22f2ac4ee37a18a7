"""Checks for notebook 01: the toy RNN's forward pass over a sequence of any length."""

from __future__ import annotations

import numpy as np

from utils.checks import as_array, call, close, diagnose, exercise
from utils.rnn import relu, toy_rnn_forward

# Weights with w2 < 0 and biases != 0, so that each typical mistake changes the answer.
_WEIGHTS = {"w1": 1.8, "b1": 0.1, "w2": -0.5, "w3": 1.1, "b2": 0.2}
_CASES = [np.array([0.7]), np.array([0.0, 1.0]), np.array([1.0, 0.5, 0.0]), np.array([0.2, 1.0, 0.1, 0.9, 0.3]),
          np.linspace(1.0, -0.4, 12)]


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
    """Compare ``fn(xs, w1, b1, w2, w3, b2) -> (hidden, prediction)`` with the reference on lengths 1 … 12."""
    for xs in _CASES:
        expected_hidden, expected_pred = toy_rnn_forward(xs, **_WEIGHTS)
        result, error = call(fn, xs.copy(), **_WEIGHTS)
        label = f"sequence of length {len(xs)}"
        if error:
            report.fail(f"{label}: your function raised {error}",
                        hint="loop over every element of xs, whatever its length" if len(xs) != 2 else None)
            continue
        if not (isinstance(result, tuple) and len(result) == 2):
            report.fail(f"{label}: return a pair (hidden, prediction)", got=result,
                        hint="end with `return np.array(hidden), prediction`")
            continue
        hidden_raw, pred_raw = result
        hidden, pred = as_array(hidden_raw), as_array(pred_raw)
        if hidden is None or pred is None:
            report.fail(f"{label}: hidden must be an array of numbers and prediction a number", got=result,
                        hint="collect each h_t (a number) in a list, then return np.array(hidden)")
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
                        "number", hint="compute it from the last hidden value, a number: w3 * hidden[-1] + b2 "
                                       "(or float(...)); the cells below print it as a number")
            continue
        if close(hidden, expected_hidden) and close(pred, expected_pred):
            if not isinstance(hidden_raw, np.ndarray) or np.shape(hidden_raw) != (len(xs),):
                report.fail(f"{label}: right values, but hidden is a {type(hidden_raw).__name__} of shape "
                            f"{np.shape(hidden_raw)}, not a NumPy array of shape ({len(xs)},)",
                            hint="return np.array(hidden): the cells below use array operations such as hidden > 0")
            continue
        mistakes = _known_mistakes(xs, _WEIGHTS)
        hint = diagnose(hidden, {h: m[0] for h, m in mistakes.items() if not close(m[0], expected_hidden)})
        if hint is None:
            hint = diagnose(pred, {h: m[1] for h, m in mistakes.items() if not close(m[1], expected_pred)})
        which = "hidden values" if not close(hidden, expected_hidden) else "prediction"
        got = hidden if which == "hidden values" else pred_raw
        want = expected_hidden if which == "hidden values" else expected_pred
        report.fail(f"{label}: wrong {which}", expected=want, got=got,
                    hint=hint or "compare your loop with the equations above, one step at a time")
