"""Checks for notebook 09 (music composition): transposing a melody, and sampling with a temperature."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from utils.checks import call, exercise
from utils.sampling import softmax

# "Alle meine Entchen" opening in G major, with a rest and a dotted note, so each typical mistake shows.
_MELODY = [(67, Fraction(1, 2)), (69, Fraction(1, 2)), (71, Fraction(1, 2)), (72, Fraction(1, 2)), (74, Fraction(1)),
           (None, Fraction(1, 2)), (74, Fraction(3, 2)), (76, Fraction(1, 4))]
_SHIFTS = (5, -7, 0, 12)


def _as_pairs(result):
    """The student's result as a list of (pitch or None, Fraction), or None if it is not a list of pairs."""
    try:
        pairs = []
        for pitch, duration in result:
            pairs.append((None if pitch is None else int(pitch), Fraction(duration).limit_denominator(96)))
        return pairs
    except (TypeError, ValueError):
        return None


@exercise("Exercise 1 · transpose a melody",
          notebook="09", answer="transpose", reference="utils.music:transpose", points=2, minutes=10)
def check_transpose(fn, report) -> None:
    """``fn(notes, semitones)`` must move every pitch by ``semitones``, keep rests and durations, not edit its input."""
    for shift in _SHIFTS:
        melody = list(_MELODY)
        expected = [(None if p is None else p + shift, d) for p, d in _MELODY]
        result, error = call(fn, melody, shift)
        label = f"'Alle meine Entchen' moved by {shift:+d} semitones"
        if error:
            hint = ("a rest has pitch None: leave it as it is (`None if pitch is None else pitch + semitones`)"
                    if "NoneType" in error else None)
            report.fail(f"{label}: your function raised {error}", hint=hint)
            continue
        if melody != _MELODY:
            report.fail(f"{label}: your function changed the melody it was given",
                        hint="build and return a new list instead of editing `notes` in place")
            continue
        if result is None:
            report.fail(f"{label}: no list came back", got=None, hint="return the new list of (pitch, duration)")
            continue
        if not isinstance(result, (list, tuple)):
            report.fail(f"{label}: return a list of (pitch, duration) pairs", got=result,
                        hint="build it with [ ... for pitch, duration in notes] (square brackets): the cells below "
                             "read the result more than once and index it, which a generator or map cannot do")
            continue
        pairs = _as_pairs(result)
        if pairs is None:
            report.fail(f"{label}: return a list of (pitch, duration) pairs", got=result)
            continue
        if pairs == expected:
            continue
        rests = [p for p, _ in pairs].count(None)
        if len(pairs) != len(expected) or rests != 1:
            hint = "keep the rest in the list, unchanged" if rests == 0 else "one output note per input note"
            report.fail(f"{label}: wrong notes", expected=expected, got=pairs, hint=hint)
        elif [p for p, _ in pairs] == [p for p, _ in expected]:
            report.fail(f"{label}: durations changed", expected=[d for _, d in expected][:4],
                        got=[d for _, d in pairs][:4], hint="transposing changes pitches only, never durations")
        elif [p for p, _ in pairs] == [None if p is None else p - shift for p, _ in _MELODY]:
            report.fail(f"{label}: pitches moved the wrong way", expected=expected[0][0], got=pairs[0][0],
                        hint="add `semitones` to each pitch (positive = up)")
        elif [p for p, _ in pairs] == [None if p is None else (p + shift) % 12 for p, _ in _MELODY]:
            report.fail(f"{label}: the octave was lost", expected=expected[0][0], got=pairs[0][0],
                        hint="don't take `% 12`: a MIDI number holds the octave too")
        else:
            report.fail(f"{label}: wrong pitches", expected=[p for p, _ in expected], got=[p for p, _ in pairs],
                        hint="each pitch should become pitch + semitones")


_LOGITS = np.array([2.0, 1.0, 0.0, -1.0])
_DRAWS = 3000
_TOLERANCE = 0.04  # about 4 standard errors of a share estimated from 3,000 draws


def _frequencies(fn, logits, temperature, seed, report, label):
    """Share of each index over many draws, or None (after reporting) if the function misbehaves."""
    rng = np.random.default_rng(seed)
    counts = np.zeros(len(logits))
    for _ in range(_DRAWS):
        index, error = call(fn, logits.copy(), temperature, rng)
        if error:
            hint = ("turn the logits into probabilities with a softmax before sampling"
                    if "probabilit" in error or "negative" in error else None)
            report.fail(f"{label}: your function raised {error}", hint=hint)
            return None
        if not isinstance(index, (int, np.integer)) or not 0 <= index < len(logits):
            report.fail(f"{label}: return one index, an int between 0 and {len(logits) - 1}", got=index,
                        hint="draw with rng.choice(len(probs), p=probs) and return int(...) of it")
            return None
        counts[index] += 1
    return counts / _DRAWS


@exercise("Exercise 2 · sampling with a temperature",
          notebook="09", answer="sample_with_temperature", reference="utils.music:sample_with_temperature", points=2,
          minutes=10, forbid=("utils.seq2seq:apply_temperature",))
def check_sample_with_temperature(fn, report) -> None:
    """Draw many samples from ``fn(logits, temperature, rng)`` and compare their shares with softmax(logits / T)."""
    for temperature, seed in ((1.0, 1), (0.5, 2), (2.0, 3)):
        label = f"T = {temperature}"
        freq = _frequencies(fn, _LOGITS, temperature, seed, report, label)
        if freq is None:
            return
        expected = softmax(_LOGITS, temperature)
        if np.abs(freq - expected).max() <= _TOLERANCE:
            continue
        mistakes = {
            "the temperature is ignored: divide the logits by T before the softmax": softmax(_LOGITS),
            "logits multiplied by T: divide them by T instead": softmax(_LOGITS * temperature),
            "always the most likely index: sample from the probabilities instead of taking the argmax":
                np.eye(len(_LOGITS))[np.argmax(_LOGITS)],
            "every index equally likely: the probabilities are not used (pass p=probs to rng.choice)":
                np.full(len(_LOGITS), 1 / len(_LOGITS)),
        }
        hint = next((h for h, p in mistakes.items()
                     if np.abs(p - expected).max() > _TOLERANCE and np.abs(freq - p).max() <= _TOLERANCE), None)
        report.fail(f"{label}: shares of 3,000 draws differ from softmax(logits / T)", expected=np.round(expected, 3),
                    got=np.round(freq, 3), hint=hint or "probs = exp(z - max z) / sum(...), with z = logits / T")
    if not report.failures:
        _check_uses_rng(fn, report)
    big = np.array([1000.0, 999.0, 998.0])
    index, error = call(fn, big.copy(), 0.5, np.random.default_rng(4))
    if error or index is None or not isinstance(index, (int, np.integer)) or not 0 <= index < 3:
        report.fail("large logits [1000, 999, 998] at T = 0.5 gave no valid index", got=error or index,
                    hint="subtract the largest logit before exp, or exp(1000) overflows to inf and gives nan")


def _check_uses_rng(fn, report, draws: int = 40) -> None:
    """The draws must come from the ``rng`` passed in: it must advance, and the same seed must give the same draws."""
    runs = []
    for _ in range(2):
        rng = np.random.default_rng(11)
        runs.append([call(fn, _LOGITS.copy(), 1.0, rng)[0] for _ in range(draws)])
        untouched = rng.bit_generator.state == np.random.default_rng(11).bit_generator.state
        if untouched:
            break
    if untouched or runs[0] != runs[1]:
        report.fail("the draws do not come from the `rng` you are given" + (
            " (it was never used)" if untouched else " (the same seed gave other draws)"),
                    hint="draw with rng.choice(len(probs), p=probs), not np.random.choice or a new generator: "
                         "with the same rng the draws must repeat, so that a composition can be reproduced")
