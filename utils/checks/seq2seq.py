"""Checks for notebook 06: the greedy decoding loop of an encoder–decoder.

The student's ``greedy_decode(step, state, start_id, end_id, max_len)`` is run against a *stub decoder*: a ``step``
function whose answers are known in advance. The stub logs every call, so the check can say exactly where the loop went
wrong (first token fed, token fed back, state passed on, when it stopped).
"""

from __future__ import annotations

import numpy as np

from utils.checks import call, exercise
from utils.seq2seq import greedy_decode

VOCAB_SIZE = 9
START, END, WRONG = 2, 3, 1
CALL_LIMIT = 60


class StubDecoder:
    """A pretend decoder that has learned to produce ``path`` (then [end]).

    ``step(token, state) -> (probabilities (VOCAB_SIZE,), new_state)``; the state is ``[h, c]`` like the real model's,
    with the number of steps taken written into ``h``. Fed the right previous token, it puts most probability on the
    next token of ``path``; fed anything else, on token 1 ([UNK]). It refuses to run more than ``CALL_LIMIT`` steps.
    """

    def __init__(self, path: list[int], seed: int = 0):
        self.path = list(path)
        self.calls: list[tuple[int, int]] = []  # (token fed, steps recorded in the state received)
        self._noise = np.random.default_rng(seed).uniform(0.0, 0.08, size=(CALL_LIMIT + 1, VOCAB_SIZE))

    def initial_state(self):
        return [np.zeros((1, 4)), np.zeros((1, 4))]

    def step(self, token, state):
        if len(self.calls) >= CALL_LIMIT:
            raise RuntimeError(f"the decoder was called more than {CALL_LIMIT} times")
        steps = int(np.asarray(state[0]).ravel()[0])
        token = int(np.asarray(token).ravel()[0]) if np.ndim(token) else int(token)
        self.calls.append((token, steps))
        expected_previous = START if steps == 0 else self.path[steps - 1] if steps <= len(self.path) else END
        if token == expected_previous:
            peak = self.path[steps] if steps < len(self.path) else END
        else:
            peak = WRONG
        probabilities = self._noise[len(self.calls)].copy()
        probabilities[peak] = 0.6
        probabilities /= probabilities.sum()
        new_state = [np.full((1, 4), steps + 1.0), np.full((1, 4), steps + 1.0)]
        return probabilities, new_state


# (description, path the stub produces, max_len)
_CASES = [
    ("an answer of 4 tokens", [5, 7, 4, 6], 10),
    ("an answer longer than max_len", [5, 6, 7, 8, 4, 5, 6], 4),
    ("an answer that is empty (the first prediction is [end])", [], 5),
    ("an answer with a repeated token", [6, 6, 8, 5, 4], 12),
    ("a decoder that never predicts [end]", [4 + i % 5 for i in range(2 * CALL_LIMIT)], 6),
]


def _as_ids(result) -> list[int] | None:
    try:
        ids = [int(x) for x in np.asarray(result).ravel()] if result is not None else None
    except (TypeError, ValueError):
        return None
    if ids is None or np.asarray(result).ndim > 1 or not all(np.asarray(result).ravel() == ids):
        return None
    return ids


def _diagnose(stub: StubDecoder, got: list[int], expected: list[int], max_len: int) -> str:
    """The likely fault, read from the stub's call log and the answer."""
    calls = stub.calls
    if not calls:
        return "call step(token, state) inside your loop"
    if calls[0][0] != START:
        return f"start the loop by feeding start_id ({START}), not {calls[0][0]}"
    if len(calls) > 1 and all(steps == 0 for _, steps in calls):
        return "keep the new state that step returns and pass it to the next call (state was never updated)"
    fed_back = [token for token, _ in calls[1:]]
    if len(calls) > 1 and all(t == START for t in fed_back):
        return "feed back the token you just predicted; you fed start_id at every step"
    if got and got[-1] == END and got[:-1] == expected:
        return "don't include end_id in the answer: stop before appending it"
    if END in got:
        return "stop the loop when the prediction is end_id (break), instead of carrying on"
    if len(got) == max_len + 1:
        return f"produce at most max_len = {max_len} tokens (off by one?)"
    if len(got) > max_len:
        return f"produce at most max_len = {max_len} tokens: let max_len bound the loop"
    if len(expected) < max_len and len(got) == max_len and got[: len(expected)] == expected:
        return "stop the loop when the prediction is end_id (break), instead of carrying on"
    if len(got) < len(expected) and got == expected[: len(got)]:
        return "you stopped too early: keep going until end_id or max_len tokens"
    if expected and got and got[0] != expected[0]:
        return "pick the most probable token with np.argmax(probabilities)"
    return "compare your loop with the description above, one step at a time"


@exercise("Exercise 1 · greedy decoding")
def check_greedy_decode(fn, report) -> None:
    """Run ``fn(step, state, start_id, end_id, max_len)`` on stub decoders with known answers."""
    for description, path, max_len in _CASES:
        expected = greedy_decode(StubDecoder(path).step, StubDecoder(path).initial_state(), START, END, max_len)
        stub = StubDecoder(path)
        result, error = call(fn, stub.step, stub.initial_state(), START, END, max_len)
        if error:
            hint = ("the loop never stops: run at most max_len steps" if "called more than" in error
                    else "step(token, state) returns a pair (probabilities, new_state)"
                    if "unpack" in error or "not subscriptable" in error else None)
            report.fail(f"{description}: your function raised {error}", hint=hint)
            continue
        got = _as_ids(result)
        if got is None:
            report.fail(f"{description}: return a flat list of token ids (ints)", expected=expected,
                        got=result, hint="append int(np.argmax(probabilities)), not the probabilities")
            continue
        if got != expected:
            report.fail(f"{description} (max_len={max_len})", expected=expected, got=got,
                        hint=_diagnose(stub, got, expected, max_len))


# --- notebook 07: temperature ----------------------------------------------------------------------------------------

_TEMPERATURE_CASES = [
    (np.array([0.5, 0.3, 0.2]), 1.0),
    (np.array([0.5, 0.3, 0.2]), 0.5),
    (np.array([0.6, 0.25, 0.1, 0.05]), 2.0),
    (np.array([0.7, 0.2, 0.1]), 0.1),
]


def _temperature_mistakes(p: np.ndarray, t: float) -> dict[str, np.ndarray]:
    def normalise(w):
        return w / w.sum()

    softmax = np.exp(p / t - (p / t).max())
    return {
        "raise p to the power 1/T, not T": normalise(p**t),
        "divide by the sum so the probabilities add up to 1": p ** (1 / t),
        "apply the temperature to log-probabilities, exp(log p / T), not to the probabilities (softmax(p / T))":
            softmax / softmax.sum(),
        "multiply the log-probabilities by 1/T, not by T (softmax(T · log p))": normalise(np.exp(t * np.log(p))),
    }


@exercise("Exercise 1 · temperature")
def check_apply_temperature(fn, report) -> None:
    """Compare ``fn(probabilities, temperature)`` with p^(1/T) / sum(p^(1/T)) on small vectors."""
    from utils.checks import close, diagnose
    from utils.seq2seq import apply_temperature

    for probabilities, temperature in _TEMPERATURE_CASES:
        expected = apply_temperature(probabilities, temperature)
        result, error = call(fn, probabilities.copy(), temperature)
        label = f"p = {probabilities.tolist()}, T = {temperature}"
        if error:
            report.fail(f"{label}: your function raised {error}")
            continue
        if close(result, expected, atol=1e-6):
            continue
        if close(result, probabilities) and temperature != 1.0:
            hint = "the temperature had no effect: reweight p to p^(1/T)"
        else:
            candidates = {h: v for h, v in _temperature_mistakes(probabilities, temperature).items()
                          if not close(v, expected)}
            hint = diagnose(result, candidates, atol=1e-6) or "compute p ** (1 / T), then divide by its sum"
        report.fail(label, expected=expected, got=result, hint=hint)
