"""Checks for notebook 07 (the chat model): Exercise 1, the repetition ban ``ban_repeats``.

The student's ``ban_repeats(probabilities, written, n)`` is run on small next-token distributions and replies so far:
a few fixed cases and fresh ones drawn for each run (``Report.rng``), so that an answer key of the visible example
does not pass. A wrong answer is compared with the outputs of typical mistakes (every written word banned whatever
``n``, the last n-gram of the reply skipped, the wrong n - 1 words taken as the start of the n-gram, no renormalising)
to name the fault.
"""

from __future__ import annotations

import numpy as np

from utils.checks import answer_array, close, diagnose, exercise
from utils.sampling import ban_repeats

#: (probabilities, written, n) that every run checks, besides its fresh cases: loops as the chat model writes them.
_CASES = [
    (np.array([0.05, 0.1, 0.15, 0.2, 0.25, 0.25]), [5, 4, 5], 2),  # "the cat the" -> "cat" is banned
    (np.array([0.3, 0.1, 0.2, 0.1, 0.2, 0.1]), [4, 4], 2),  # "the the" -> "the" is banned: the last pair counts
    (np.array([0.1, 0.1, 0.2, 0.3, 0.2, 0.1]), [3, 5, 2, 3], 1),  # n = 1: every word written is banned
    (np.array([0.2, 0.2, 0.2, 0.1, 0.1, 0.1, 0.1]), [2, 3, 4, 2, 3], 3),  # (2, 3, 4) written: after "2 3", 4 banned
    (np.array([0.25, 0.25, 0.25, 0.25]), [], 2),  # nothing written yet: nothing banned
]
FRESH_CASES = 8


def _mistakes(p: np.ndarray, written: list[int], n: int) -> dict[str, np.ndarray]:
    """What typical mistakes return for one case: the fault's description -> that mistake's output."""
    def renormalised(banned):
        q = p.copy()
        q[sorted(banned)] = 0.0
        return q / q.sum() if q.sum() > 0 else q

    def following(prefix_length, stop):
        prefix = written[len(written) - prefix_length:] if prefix_length else []
        return {written[i + prefix_length] for i in range(stop) if written[i:i + prefix_length] == prefix}

    right = {written[i + n - 1] for i in range(len(written) - n + 1)
             if written[i:i + n - 1] == (written[len(written) - n + 1:] if n > 1 else [])}
    unnormalised = p.copy()
    unnormalised[sorted(right)] = 0.0
    return {
        "every word already written is banned, whatever n: ban only the words that would complete an n-gram the "
        "reply already contains": renormalised(set(written)),
        "the last n-gram of the reply is never looked at (an off-by-one in the range of start positions): "
        "\"the the\" must ban \"the\"": renormalised(following(n - 1, max(0, len(written) - n))),
        "the n-gram to complete starts with the last n - 1 words written, not the last n": renormalised(
            following(n, max(0, len(written) - n)) if n < len(written) else set()),
        "only the last word written is banned: ban every word that followed the same n - 1 words earlier":
            renormalised({written[-1]} if written else set()),
        "the probabilities left must be divided by their sum, so that they add up to 1 again": unnormalised,
    }


def _fresh_case(rng: np.random.Generator) -> tuple[np.ndarray, list[int], int]:
    """A random distribution and a reply that loops (drawn from few words, so n-grams repeat)."""
    vocab = int(rng.integers(6, 12))
    words = rng.choice(np.arange(1, vocab), size=int(rng.integers(2, 5)), replace=False)
    written = [int(w) for w in rng.choice(words, size=int(rng.integers(3, 11)))]
    return rng.dirichlet(np.ones(vocab)) * 0.9 + 0.1 / vocab, written, int(rng.integers(1, 4))


@exercise("Exercise 1 · a repetition ban",
          notebook="07", answer="ban_repeats", reference="utils.sampling:ban_repeats", points=3, minutes=20)
def check_ban_repeats(fn, report) -> None:
    """Compare ``fn(probabilities, written, n)`` with the ban on fixed and fresh cases; name the likely fault."""
    cases = _CASES + [_fresh_case(report.rng) for _ in range(FRESH_CASES)]
    for probabilities, written, n in cases:
        expected = ban_repeats(probabilities, written, n)
        given_p, given_written = probabilities.copy(), list(written)
        label = f"written = {written}, n = {n}, {len(probabilities)} tokens"
        got = answer_array(fn, (given_p, given_written, n), report, label,
                           what="return the new probabilities: an array with one number per token",
                           hint="copy the probabilities, set the banned tokens to 0, divide by the sum",
                           scalar_ok=False)
        if got is None:
            continue
        if not np.array_equal(given_p, probabilities) or given_written != written:
            changed = "the probabilities" if not np.array_equal(given_p, probabilities) else "written"
            report.fail(f"{label}: your function changed {changed}, which it was given",
                        hint="work on a copy: the decoder still needs what it passed in",
                        show="allowed = np.array(probabilities, dtype=float)  # a copy")
            continue
        if close(got, expected, atol=1e-6):
            continue
        candidates = {hint: value for hint, value in _mistakes(probabilities, written, n).items()
                      if not close(value, expected, atol=1e-6)}
        hint = diagnose(got, candidates, atol=1e-6)
        if hint is None and got.shape != expected.shape:
            hint = "return one probability per token, the same shape as the probabilities given"
        report.fail(label, expected=expected, got=got,
                    hint=hint or "compare each earlier n-gram of the reply with the last n - 1 words written",
                    show="previous = written[len(written) - n + 1:] if n > 1 else []; for every start i with "
                         "written[i:i + n - 1] == previous, set the probability of written[i + n - 1] to 0; then "
                         "divide by the sum")
