"""Checks for the encoder–decoder notebooks: 06's decoding loop, attention by hand and beam search; 07's temperature.

Notebook 06, Exercises 1 and 3: the student's ``run_decoder(step, state, start_id, end_id, max_len, pick=np.argmax)``
and ``beam_search(step, state, start_id, end_id, max_len, beam_width=3, alpha=1.0)`` run against *stub decoders*:
``step`` functions whose answers are known in advance. ``StubDecoder`` logs every call, so the check can say exactly
where the loop went wrong (first token fed, token fed back, state passed on, when it stopped, whether it let ``pick``
choose); ``TreeDecoder`` gives every prefix its own probabilities, so that greedy decoding and beam search differ.
Besides the cases the notebook describes, every run draws fresh ones (``Report.rng``).

Notebook 06, Exercise 2: the student's ``dot_attention(query, values, mask)`` is compared with
``keras.layers.Attention`` on batches padded at the front (as the encoder input is), on scores large enough to overflow
a naive softmax, and on fresh random batches; a wrong answer is matched against a catalogue of typical mistakes.

Notebook 07: the student's ``apply_temperature(probabilities, temperature)`` is compared with ``utils.sampling``'s and
with the outputs of typical mistakes.
"""

from __future__ import annotations

import numpy as np

from utils.checks import as_array, call, close, diagnose, exercise
from utils.sampling import apply_temperature
from utils.seq2seq import beam_search, run_decoder

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


def _fresh_paths(rng: np.random.Generator) -> list[tuple]:
    """Three more cases drawn for this run: random answers, lengths and limits (the second with another ``pick``)."""
    cases = []
    for i in range(3):
        path = [int(t) for t in rng.integers(4, VOCAB_SIZE, size=int(rng.integers(0, 9)))]
        max_len = int(rng.integers(1, 11))
        cases.append((f"a fresh case (answer of {len(path)} tokens)", path, max_len, SecondBest if i == 1 else None,
                      int(rng.integers(1, 2**31))))
    return cases


def _as_ids(result) -> list[int] | None:
    try:
        ids = [int(x) for x in np.asarray(result).ravel()] if result is not None else None
    except (TypeError, ValueError):
        return None
    if ids is None or np.asarray(result).ndim > 1 or not all(np.asarray(result).ravel() == ids):
        return None
    return ids


def _diagnose(calls: list, got: list[int], expected: list[int], max_len: int, pick_calls: int | None = None) -> str:
    """The likely fault, read from the stub's call log (``calls``), how often ``pick`` was asked (None: no pick given)
    and the answer."""
    if not calls:
        return "call step(token, state) inside your loop"
    if pick_calls == 0:
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
    """Run ``fn(step, state, start_id, end_id, max_len[, pick])`` on stub decoders with known answers: the cases the
    notebook describes, then fresh ones."""
    for description, path, max_len, make_pick, seed in [(*case, 0) for case in _CASES] + _fresh_paths(report.rng):
        second_best = make_pick is not None
        expected = run_decoder(StubDecoder(path, seed).step, StubDecoder(path, seed).initial_state(), START, END,
                               max_len, *((SecondBest(),) if second_best else ()))
        result, error = call(run_on_stub, fn, path, seed, max_len, second_best)
        if error:
            report.fail(f"{description}: your function raised {error}", hint=_error_hint(error))
            continue
        got, returned, calls, pick_calls = result
        if got is None:
            report.fail(f"{description}: return a flat list of token ids (ints)", expected=expected,
                        got=returned, hint="append the token int(pick(probabilities)), not the probabilities")
            continue
        if got != expected:
            report.fail(f"{description} (max_len={max_len})", expected=expected, got=got,
                        hint=_diagnose(calls, got, expected, max_len, pick_calls))


def run_on_stub(fn, path: list[int], seed: int, max_len: int, second_best: bool):
    """Run a decoding loop ``fn`` on a fresh stub decoder (in the grader's worker, when graded) and return plain data:
    (the token ids it returned, or None if they are not a flat list of ints; what it returned, shortened, in that
    case (None when it returned nothing); the stub's call log; how often ``pick`` was asked, None when none was passed)."""
    stub = StubDecoder(path, seed)
    picks = (SecondBest(),) if second_best else ()
    result = fn(stub.step, stub.initial_state(), START, END, max_len, *picks)
    ids = _as_ids(result)
    return ids, (None if ids is not None or result is None else repr(result)[:200]), [list(c) for c in stub.calls], \
        (picks[0].calls if picks else None)


# --- notebook 06, Exercise 2: attention by hand ----------------------------------------------------------------------

_ATTENTION_SHOW = ("scores = query @ values.transpose(0, 2, 1); scores = np.where(mask[:, None, :], scores, -np.inf); "
                   "weights = np.exp(scores - scores.max(axis=-1, keepdims=True)); "
                   "weights /= weights.sum(axis=-1, keepdims=True); context = weights @ values")


def _front_padded_mask(rng: np.random.Generator, batch: int, tv: int, padded: bool = False) -> np.ndarray:
    """(batch, tv) booleans: each row real (True) on its last 1 … tv positions, padding (False) before, as the
    encoder input of notebook 06 is laid out; ``padded``: every row has some padding."""
    real = rng.integers(1, tv if padded else tv + 1, size=batch)
    return np.arange(tv)[None, :] >= (tv - real)[:, None]


def _attention_case(rng: np.random.Generator, batch: int, tq: int, tv: int, units: int, scale: float = 1.0,
                    padded: bool = False):
    """Random (query, values, mask) of the given sizes; ``scale`` makes the scores large (about scale² · units)."""
    query = rng.normal(0.0, scale, size=(batch, tq, units))
    values = rng.normal(0.0, scale, size=(batch, tv, units))
    return query, values, _front_padded_mask(rng, batch, tv, padded)


def visible_attention_cases() -> list[tuple[str, tuple]]:
    """The cases the notebook describes: (label, (query, values, mask))."""
    rng = np.random.default_rng(6)
    return [("one decoder step, two sources padded at the front", _attention_case(rng, 2, 1, 4, 3, padded=True)),
            ("three decoder steps, no padding", (*_attention_case(rng, 1, 3, 5, 2)[:2], np.ones((1, 5), bool))),
            ("scores in the thousands", _attention_case(rng, 2, 2, 3, 4, scale=25.0))]


def keras_attention(query, values, mask) -> tuple[np.ndarray, np.ndarray]:
    """(context, weights) of ``keras.layers.Attention`` (dot-product scores, no scale) on these arrays: the values
    the check expects."""
    import keras

    context, weights = keras.layers.Attention()([np.asarray(query, "float32"), np.asarray(values, "float32")],
                                                mask=[None, np.asarray(mask, bool)], return_attention_scores=True)
    return np.asarray(context, dtype=float), np.asarray(weights, dtype=float)


def _softmax(scores: np.ndarray, axis: int = -1) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        weights = np.exp(scores - np.max(scores, axis=axis, keepdims=True))
        return weights / weights.sum(axis=axis, keepdims=True)


def _attention_mistakes(query, values, mask) -> dict[str, np.ndarray]:
    """Hint -> the weights (batch, Tq, Tv) that a typical mistake gives."""
    scores = query @ values.transpose(0, 2, 1)
    real = mask[:, None, :]
    masked = np.where(real, scores, -np.inf)
    plain = _softmax(scores)
    return {
        "padding got weight: mask the scores of the padded positions (mask False) before the softmax, so that they "
        "get weight 0": plain,
        "the mask is the wrong way round: True marks the real tokens, False the padding": _softmax(
            np.where(~real, scores, -np.inf)),
        "multiplying the scores by the mask makes a padded score 0, not minus infinity: exp(0) = 1 still gives the "
        "padding weight": _softmax(scores * real),
        "the padding was zeroed after the softmax, so the weights of a row no longer sum to 1: mask the scores before "
        "the softmax": plain * real,
        "the softmax runs over the wrong axis: each decoder step (a row) spreads its weight over the source positions, "
        "the last axis": _softmax(masked, axis=1),
        "the scores are divided by √units: Keras' Attention (Luong's dot score) uses the plain dot product": _softmax(
            masked / np.sqrt(query.shape[-1])),
        "the weights are the scores themselves: turn the scores into weights with a softmax": np.where(
            real, scores, 0.0),
    }


def _as_pair(result):
    """(context, weights) as float arrays, or None when ``result`` is not a pair of numeric arrays."""
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        return None
    context, weights = as_array(result[0]), as_array(result[1])
    return None if context is None or weights is None else (context, weights)


@exercise("Exercise 2 · attention by hand",
          notebook="06", answer="dot_attention", reference="utils.seq2seq:dot_attention", points=4, minutes=20,
          forbid=("keras.layers:Attention", "keras.layers:AdditiveAttention", "keras.layers:MultiHeadAttention",
                  "keras.ops:dot_product_attention", "keras.ops:softmax", "keras.activations:softmax",
                  "scipy.special:softmax"))
def check_dot_attention(fn, report) -> None:
    """Compare ``fn(query, values, mask) -> (context, weights)`` with ``keras.layers.Attention``: two small padded
    batches, scores too large for a naive softmax, then fresh random batches."""
    cases = visible_attention_cases()
    for _ in range(3):
        batch, tq, tv, units = (int(n) for n in report.rng.integers([1, 1, 2, 2], [5, 4, 8, 6]))
        cases.append((f"a fresh case (batch {batch}, {tq} steps, {tv} positions, {units} units)",
                      _attention_case(report.rng, batch, tq, tv, units)))
    for label, (query, values, mask) in cases:
        context, weights = keras_attention(query, values, mask)
        arguments = (query.copy(), values.copy(), mask.copy())
        result, error = call(fn, *arguments)
        if error:
            report.fail(f"{label}: your function raised {error}",
                        hint="query @ values needs the values' last two axes swapped (values.transpose(0, 2, 1))"
                        if "matmul" in error or "shapes" in error or "align" in error else None)
            return
        pair = _as_pair(result)
        if pair is None:
            report.fail(f"{label}: return the pair (context, weights), two arrays", got=result,
                        hint="end with a `return` of the context and the weights, in that order")
            return
        got_context, got_weights = pair
        if got_context.shape == weights.shape and got_weights.shape == context.shape and weights.shape != \
                context.shape:
            report.fail(f"{label}: (weights, context) came back in the wrong order",
                        hint="return (context, weights): the context first, as keras.layers.Attention does")
            return
        if got_weights.shape != weights.shape:
            transposed = got_weights.shape == weights.shape[:1] + weights.shape[:0:-1]
            report.fail(f"{label}: weights must have shape (batch, Tq, Tv) = {weights.shape}", expected=weights.shape,
                        got=got_weights.shape, hint="one row per decoder step (query), one column per source position "
                        "(value)" + ("; yours are transposed" if transposed else ""))
            return
        if not close(got_weights, weights, atol=1e-5, rtol=1e-4):
            hint = next((hint for hint, value in _attention_mistakes(query, values, mask).items()
                         if value.shape == got_weights.shape and np.allclose(got_weights, value, atol=1e-5, rtol=1e-4,
                                                                             equal_nan=True)), None)
            if hint is None and not np.all(np.isfinite(got_weights)):
                hint = ("exp of a large score overflows: take each row's largest score off all its scores before exp "
                        "(the softmax does not change)" if "thousands" in label else
                        "a row of weights must be finite and sum to 1 over the real positions")
            report.fail(f"{label}: wrong weights", expected=weights, got=got_weights,
                        hint=hint or "compare each line with the three equations above: scores, softmax (with the "
                        "padding masked), context", show=_ATTENTION_SHOW)
            return
        if not close(got_context, context, atol=1e-5, rtol=1e-4):
            unweighted = values.sum(axis=1, keepdims=True).repeat(query.shape[1], axis=1)
            hint = ("the context is the weighted sum of the values (the encoder states), one per decoder step"
                    if got_context.shape != context.shape or close(got_context, unweighted) else
                    "the weights are right, the context is not: weight each value by its weight and add them up")
            report.fail(f"{label}: wrong context", expected=context, got=got_context, hint=hint,
                        show=_ATTENTION_SHOW)
            return
        if not all(np.array_equal(a, b) for a, b in zip(arguments, (query, values, mask), strict=True)):
            report.fail(f"{label}: your function changed its arguments in place",
                        hint="compute new arrays (scores = ...) instead of writing into query, values or mask: the "
                             "encoder states are used again after this call")
            return


# --- notebook 06, Exercise 3: beam search ----------------------------------------------------------------------------

_A, _B, _C = 4, 5, 6  # the words of the tree decoders' vocabulary (0-3 are padding, [UNK], [start], [end])
_TREE_VOCAB = 7


class TreeDecoder:
    """A pretend decoder whose next-token probabilities depend on everything written so far (a tree of prefixes).

    ``step(token, state) -> (probabilities (7,), new_state)``: the state is ``[tokens fed so far]`` (a 1-D int array,
    like the real model's list of arrays); ``table`` gives the probabilities after some prefixes (tuples of the tokens
    written, [start] left out), any other prefix gets probabilities drawn from ``seed`` and the prefix itself, so they
    do not depend on the order in which a search asks for them. It refuses to run more than ``limit`` steps.
    """

    def __init__(self, table: dict | None = None, seed: int = 0, limit: int = 400, end_weight: float = 1.0):
        self.table, self.seed, self.limit, self.end_weight = dict(table or {}), seed, limit, end_weight
        self.calls = 0

    def initial_state(self):
        return [np.zeros(0, dtype="int64")]

    def probabilities(self, written: tuple) -> np.ndarray:
        if written in self.table:
            p = np.zeros(_TREE_VOCAB)
            for token, weight in self.table[written].items():
                p[token] = weight
        else:
            p = np.random.default_rng([self.seed, *written]).dirichlet(np.full(_TREE_VOCAB, 0.6))
            p[END] *= self.end_weight
        p = p + 1e-9  # every token possible, however unlikely
        return p / p.sum()

    def step(self, token, state):
        self.calls += 1
        if self.calls > self.limit:
            raise RuntimeError(f"the decoder was called more than {self.limit} times")
        fed = tuple(int(t) for t in np.asarray(state[0]).ravel()) + (int(np.asarray(token).ravel()[0]),)
        return self.probabilities(fed[1:]), [np.array(fed)]


#: (description, table of the tree decoder, max_len, beam_width, alpha) of the cases the notebook describes.
_GREEDY_TRAP = {(): {_A: 0.5, _B: 0.4, END: 0.1}, (_A,): {_A: 0.34, _B: 0.33, END: 0.33},
                (_B,): {END: 0.9, _A: 0.1}, (_A, _A): {END: 0.4, _B: 0.6}, (_A, _B): {END: 0.45, _A: 0.55}}
_LENGTH_TRAP = {(): {END: 0.4, _A: 0.55, _B: 0.05}, (_A,): {_A: 0.85, END: 0.15},
                (_A, _A): {END: 0.8, _B: 0.2}}
_BEAM_CASES = [
    ("greedy's first choice leads nowhere (beam_width=2, alpha=0)", _GREEDY_TRAP, 4, 2, 0.0),
    ("beam_width=1 is greedy decoding", _GREEDY_TRAP, 4, 1, 0.0),
    ("a short answer is more probable, a longer one has the better mean (beam_width=2, alpha=0)", _LENGTH_TRAP, 5,
     2, 0.0),
    ("the same decoder with length normalisation (beam_width=2, alpha=1)", _LENGTH_TRAP, 5, 2, 1.0),
]


_LENGTH_COUNT_TRAP = {(): {_A: 0.9, END: 0.05, _B: 0.05}, (_A,): {END: 0.409, _A: 0.55, _B: 0.041},
                      (_A, _A): {_A: 0.8, END: 0.2}, (_A, _A, _A): {END: 0.28, _A: 0.6, _B: 0.12}}
_PRODUCT_TRAP = {(): {_A: 0.6, END: 0.3, _B: 0.1}, (_A,): {_A: 0.8, END: 0.2}, (_A, _A): {END: 0.75, _B: 0.25}}
_BEAM_CASES += [("an [end] counts in the length (beam_width=2, alpha=1)", _LENGTH_COUNT_TRAP, 5, 2, 1.0),
                ("the longer output is more probable and has the better mean (beam_width=2, alpha=1)", _PRODUCT_TRAP,
                 4, 2, 1.0)]

#: Hint -> the typical mistake of ``_beam_variant`` that gives it.
_BEAM_MISTAKES = {
    "no normalisation": "length normalisation is missing (alpha had no effect): compare the outputs by their score "
                        "divided by their length to the power alpha",
    "one token per output": "each live output must be extended by each of its beam_width most probable tokens, not "
                            "only by its best one (that is greedy decoding again)",
    "finished dropped": "an output that chose end_id is finished: keep it aside, and let it compete with the others "
                        "at the end",
    "end kept": "don't include end_id in the answer",
    "length without end": "a finished output's length counts its [end] token too",
    "probabilities": "a score is the sum of log-probabilities, not the product of probabilities (the length "
                     "normalisation divides a log-probability)",
}
_BEAM_SHOW = ("keep (score, tokens, token to feed, state) for each live output; for each, "
              "probabilities, new_state = step(token, state) and add the extensions (score + log p[t], t) of its "
              "beam_width best tokens t; sort all extensions, keep the best beam_width; those with t == end_id go to "
              "finished; at the end return the tokens of max(finished + live, key=score / length ** alpha)")


def _beam_variant(step, state, max_len, beam_width, alpha, mistake=None):
    """Beam search as the exercise describes it (``mistake=None``), or with one of ``_BEAM_MISTAKES``."""
    product = mistake == "probabilities"
    live, finished = [(1.0 if product else 0.0, [], START, state)], []
    for _ in range(max_len):
        extensions = []
        for score, tokens, token, beam_state in live:
            p, new_state = step(token, beam_state)
            p = np.asarray(p, dtype=float)
            for choice in np.argsort(-p, kind="stable")[:1 if mistake == "one token per output" else beam_width]:
                extensions.append((score * p[choice] if product else score + np.log(p[choice]), tokens, int(choice),
                                   new_state))
        extensions.sort(key=lambda extension: -extension[0])
        live = []
        for score, tokens, choice, new_state in extensions[:beam_width]:
            if choice == END:
                length = len(tokens) + (mistake != "length without end")
                finished.append((score, tokens + [END] if mistake == "end kept" else tokens, length))
            else:
                live.append((score, tokens + [choice], choice, new_state))
        if not live:
            break
    outputs = ([] if mistake == "finished dropped" else finished) + [(s, t, len(t)) for s, t, _, _ in live]
    power = 0.0 if mistake == "no normalisation" else alpha
    return max(outputs, key=lambda output: output[0] / max(output[2], 1) ** power)[1] if outputs else []


def _fresh_trees(rng: np.random.Generator) -> list[tuple]:
    """Three tree decoders drawn for this run, with random limits, widths and length normalisations."""
    cases = []
    for _ in range(3):
        seed, max_len, width = int(rng.integers(1, 2**31)), int(rng.integers(3, 6)), int(rng.integers(2, 5))
        alpha = float(rng.choice([0.0, 0.5, 1.0]))
        cases.append((f"a fresh decoder (max_len={max_len}, beam_width={width}, alpha={alpha:g})",
                      {"seed": seed, "end_weight": 0.5}, max_len, width, alpha))
    return cases


@exercise("Exercise 3 · beam search",
          notebook="06", answer="beam_search", reference="utils.seq2seq:beam_search", points=3, minutes=25,
          optional=True)
def check_beam_search(fn, report) -> None:
    """Run ``fn(step, state, start_id, end_id, max_len, beam_width=..., alpha=...)`` on tree decoders whose best
    outputs are known: the cases the notebook describes, then fresh ones. A wrong output is blamed on the typical
    mistake that gives the student's outputs on every case tried."""
    cases = [(label, i, max_len, width, alpha) for i, (label, _, max_len, width, alpha) in enumerate(_BEAM_CASES)]
    tried, wrong = [], []  # (case, the student's output) of every case that returned ids; the wrong ones
    for case in cases + _fresh_trees(report.rng):
        label, spec, max_len, width, alpha = case
        tree = _tree(spec)
        case = (label, tree, max_len, width, alpha)
        expected = beam_search(TreeDecoder(**tree).step, TreeDecoder(**tree).initial_state(), START, END, max_len,
                               beam_width=width, alpha=alpha)
        result, error = call(run_on_tree, fn, spec, max_len, width, alpha)
        if error:
            report.fail(f"{label}: your function raised {error}", hint=_beam_error_hint(error))
            return
        got, returned = result
        if got is None:
            report.fail(f"{label}: return a flat list of token ids (ints)", expected=expected, got=returned,
                        hint="return the tokens of the best output, without its end_id")
            return
        tried.append((case, got))
        if got != expected:
            wrong.append((label, expected, got))
    if wrong:
        label, expected, got = wrong[0]
        hint = next((hint for mistake, hint in _BEAM_MISTAKES.items()
                     if all(_beam_variant(TreeDecoder(**tree).step, TreeDecoder(**tree).initial_state(), max_len,
                                          width, alpha, mistake) == output
                            for (_, tree, max_len, width, alpha), output in tried)), None)
        report.fail(label, expected=expected, got=got,
                    hint=hint or "follow the four steps above one at a time on this small case", show=_BEAM_SHOW)


def _tree(spec) -> dict:
    """A tree decoder's arguments from plain data: the index of a case the notebook describes, or a fresh case's
    arguments (seed, end_weight) as they are."""
    return {"table": _BEAM_CASES[spec][1]} if isinstance(spec, int) else dict(spec)


def run_on_tree(fn, spec, max_len: int, width: int, alpha: float):
    """Run a beam search ``fn`` on a fresh tree decoder (in the grader's worker, when graded) and return plain data:
    (the token ids it returned, or None if they are not a flat list of ints; what it returned, shortened, then)."""
    stub = TreeDecoder(**_tree(spec))
    result = fn(stub.step, stub.initial_state(), START, END, max_len, beam_width=width, alpha=alpha)
    ids = _as_ids(result)
    return ids, (None if ids is not None or result is None else repr(result)[:200])


def _beam_error_hint(error: str) -> str | None:
    """The likely fault behind an exception the student's beam search raised."""
    if "called more than" in error:
        return "the search never stops: run at most max_len steps, and stop when no output is left alive"
    if "unexpected keyword" in error or "positional argument" in error:
        return "keep the signature beam_search(step, state, start_id, end_id, max_len, beam_width=3, alpha=1.0)"
    return _error_hint(error)


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


@exercise("Exercise 1 · temperature",
          notebook="07", answer="apply_temperature", reference="utils.seq2seq:apply_temperature", points=2,
          minutes=10, forbid=("utils.music:sample_with_temperature",))
def check_apply_temperature(fn, report) -> None:
    """Compare ``fn(probabilities, temperature)`` with p^(1/T) / sum(p^(1/T)) on small vectors."""
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
