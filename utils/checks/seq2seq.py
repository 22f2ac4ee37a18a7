"""Checks for notebook 06 (the encoder–decoder): its decoding loop. Notebook 07's check is in ``utils.checks.chat``.

Notebook 06: the student's ``run_decoder(step, state, start_id, end_id, max_len, pick=np.argmax)`` is run against a
*stub decoder*: a ``step`` function whose answers are known in advance. The stub logs every call, so the check can say
exactly where the loop went wrong (first token fed, token fed back, state passed on, when it stopped, whether it let
``pick`` choose).
"""

from __future__ import annotations

import numpy as np

from utils.checks import call, exercise
from utils.seq2seq import run_decoder

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


class SecondBest:
    """A ``pick`` other than np.argmax: the second most probable token. It counts how often it is asked."""

    def __init__(self):
        self.calls = 0

    def __call__(self, probabilities):
        self.calls += 1
        return int(np.argsort(probabilities)[-2])


# (description, path the stub produces, max_len, pick: None for the default)
_CASES = [
    ("an answer of 4 tokens", [5, 7, 4, 6], 10, None),
    ("an answer longer than max_len", [5, 6, 7, 8, 4, 5, 6], 4, None),
    ("an answer that is empty (the first prediction is [end])", [], 5, None),
    ("an answer with a repeated token", [6, 6, 8, 5, 4], 12, None),
    ("a decoder that never predicts [end]", [4 + i % 5 for i in range(2 * CALL_LIMIT)], 6, None),
    ("pick=<the second most probable token>", [5, 7, 4, 6], 5, SecondBest),
]


def _as_ids(result) -> list[int] | None:
    try:
        ids = [int(x) for x in np.asarray(result).ravel()] if result is not None else None
    except (TypeError, ValueError):
        return None
    if ids is None or np.asarray(result).ndim > 1 or not all(np.asarray(result).ravel() == ids):
        return None
    return ids


def _diagnose(stub: StubDecoder, got: list[int], expected: list[int], max_len: int, pick=None) -> str:
    """The likely fault, read from the stub's call log, the pick's count and the answer."""
    calls = stub.calls
    if not calls:
        return "call step(token, state) inside your loop"
    if pick is not None and pick.calls == 0:
        return "choose each token with pick(probabilities): np.argmax is only its default"
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
        return "choose each token with pick(probabilities) (by default np.argmax: the most probable)"
    return "compare your loop with the description above, one step at a time"


def _error_hint(error: str) -> str | None:
    """The likely fault behind an exception the student's loop raised."""
    if "called more than" in error:
        return "the loop never stops: run at most max_len steps"
    if "unpack" in error or "not subscriptable" in error:
        return "step(token, state) returns a pair (probabilities, new_state)"
    if "positional argument" in error:
        return "the signature is run_decoder(step, state, start_id, end_id, max_len, pick=np.argmax)"
    return None


@exercise("Exercise 1 · greedy decoding",
          notebook="06", answer="run_decoder", reference="utils.seq2seq:run_decoder", points=4, minutes=20,
          forbid=("utils.seq2seq:greedy_decode_batch",))
def check_run_decoder(fn, report) -> None:
    """Run ``fn(step, state, start_id, end_id, max_len[, pick])`` on stub decoders with known answers."""
    for description, path, max_len, make_pick in _CASES:
        picks = () if make_pick is None else (make_pick(),)
        expected = run_decoder(StubDecoder(path).step, StubDecoder(path).initial_state(), START, END, max_len,
                               *(make_pick() for _ in picks))
        stub = StubDecoder(path)
        result, error = call(fn, stub.step, stub.initial_state(), START, END, max_len, *picks)
        if error:
            report.fail(f"{description}: your function raised {error}", hint=_error_hint(error))
            continue
        got = _as_ids(result)
        if got is None:
            report.fail(f"{description}: return a flat list of token ids (ints)", expected=expected,
                        got=result, hint="append the token int(pick(probabilities)), not the probabilities")
            continue
        if got != expected:
            report.fail(f"{description} (max_len={max_len})", expected=expected, got=got,
                        hint=_diagnose(stub, got, expected, max_len, *picks))
