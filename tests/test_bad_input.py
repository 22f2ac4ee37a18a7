"""Bad input gets a clear error everywhere: every public function of ``utils`` is called with bad arguments.

The functions are *discovered* (every public function and class defined in a ``utils`` module), not listed by hand, so
a new function is covered the day it is added. Each one is called with each kind of bad value in turn (empty, NaN,
negative, wrong type) for all its required arguments (or its first argument, when none is required). It must refuse
the value with

* a ``ValueError`` raised by the course's own code whose message names the fix, or
* a ``TypeError`` that Python itself raises (a wrong number of arguments, an operator applied to the wrong type in
  the course's own code),

never with an error from deep inside NumPy, pandas, Keras or TensorFlow, an ``IndexError`` / ``AttributeError`` /
``KeyError``, a ValueError without a fix, or a hang. A few calls rightly accept such a value (a record that holds
what it is given, elementwise math, a negative number where negatives are values): they are listed in ``ACCEPTED``,
each with the reason it was reviewed for, and must go on accepting. So ``test_bad_input_is_refused_with_the_fix``
counts the refused cases, and a new function that accepts a bad value fails until it refuses it or is reviewed into
the list. The cases the issue names must be refused outright.

Exempt, with the reason:

* ``utils.checks``: the exercise checkers take a *student's* function and must never raise; they report a finding
  instead (tested in tests/test_checks_*.py).

Maintainers' command-line tools (the notebook builder, the slide and README generators, notebook 09's corpus and
weights scripts) are in ``tools/``, outside ``utils``, and are not walked here.
"""

from __future__ import annotations

import importlib
import inspect
import math
import pkgutil
import re
import signal
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import utils

EXEMPT_MODULES = {"checks"}
EXEMPT_FUNCTIONS: set[str] = set()
BAD_VALUES = {"empty": [], "nan": math.nan, "negative": -2, "wrong-type": object()}
UTILS_DIR = str(Path(utils.__file__).parent)
#: A message "names the fix" when it says what to pass or do.
FIX = re.compile(r"\b(use|pass|give|choose|fill|write|swap|call|train|build|set|make|add|drop|check|pick|reshape|"
                 r"encode|leave|raise|save|must|should|needs?|e\.g\.|such as|one of|at least|instead)\b", re.I)
CASE_SECONDS = 10


def public_callables():
    """(qualified name, object) of every public function and class defined in a non-exempt ``utils`` module."""
    names = ["__init__"] + sorted(m.name for m in pkgutil.iter_modules(utils.__path__) if m.name not in EXEMPT_MODULES)
    for module_name in names:
        module = utils if module_name == "__init__" else importlib.import_module(f"utils.{module_name}")
        short = "utils" if module_name == "__init__" else module_name
        for name, obj in sorted(vars(module).items()):
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isclass(obj) and issubclass(obj, BaseException):
                continue
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and f"{short}.{name}" not in EXEMPT_FUNCTIONS:
                yield f"{short}.{name}", obj


@dataclass
class Case:
    id: str
    function: object
    args: tuple
    kwargs: dict


def _bad_arguments(function, value):
    """All required arguments set to ``value``; if none is required, the first optional one (or one ``*args``)."""
    parameters = [p for p in inspect.signature(function).parameters.values() if p.kind != p.VAR_KEYWORD]
    required = [p for p in parameters if p.default is p.empty and p.kind != p.VAR_POSITIONAL]
    chosen = required or parameters[:1]
    args = tuple(value for p in chosen if p.kind != p.KEYWORD_ONLY)
    kwargs = {p.name: value for p in chosen if p.kind == p.KEYWORD_ONLY}
    return args, kwargs


def cases():
    """Every discovered function × every kind of bad value (functions without parameters are skipped)."""
    for name, function in public_callables():
        try:
            has_parameters = any(p.kind != p.VAR_KEYWORD for p in inspect.signature(function).parameters.values())
        except (TypeError, ValueError):
            continue
        if not has_parameters:
            continue
        for kind, value in BAD_VALUES.items():
            yield Case(f"{name}[{kind}]", function, *_bad_arguments(function, value))


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout


def outcome(case: Case) -> tuple[str, str]:
    """("accepted" | "refused" | "bad", detail) for one call."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(CASE_SECONDS)
    try:
        case.function(*case.args, **case.kwargs)
        return "accepted", "returned normally"
    except _Timeout:
        return "bad", f"no answer within {CASE_SECONDS} s"
    except Exception as exc:  # classified below: ours and clear, or deep / unclear
        frames = traceback.extract_tb(exc.__traceback__)
        where = frames[-1].filename if frames else ""
        detail = f"{type(exc).__name__} from {Path(where).name}: {exc}"
        if not where.startswith(UTILS_DIR) and not (isinstance(exc, TypeError) and len(frames) <= 1):
            return "bad", "deep library error: " + detail
        if isinstance(exc, ValueError):
            return ("refused", detail) if FIX.search(str(exc)) else ("bad", "ValueError names no fix: " + detail)
        if type(exc) is TypeError:
            return "refused", detail
        return "bad", "not a ValueError: " + detail
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


ALL_CASES = list(cases())


def _accepting(reason: str, *names: str) -> dict[str, str]:
    """{case id: reason} for the cases ``names`` ("module.function[kind]"; "[*]" stands for all four kinds)."""
    ids = [name.replace("[*]", f"[{kind}]") for name in names for kind in (BAD_VALUES if "[*]" in name else [None])]
    return dict.fromkeys(ids, reason)


#: The bad values that a function rightly accepts (returns normally for), each with the reason it was reviewed for.
ACCEPTED = {
    **_accepting("a record (dataclass) of what the course's functions return: it holds what it is given, and the "
                 "functions that make one check their input", "anomaly.Anomaly[*]", "anomaly.CellNetwork[*]",
                 "course.Interval[*]", "course.Runs[*]", "forecasting.Experiment[*]", "forecasting.TrainedStarts[*]",
                 "seq2seq.Seq2Seq[*]",
                 "seq2seq.AttentionSeq2Seq[*]"),
    **_accepting("a record whose kind is checked where it is used: fit() refuses an unknown kind with the fix",
                 "forecasting.Scaler[*]"),
    **_accepting("a switch: any value reads as Python's `if offline:` does; None asks the environment",
                 "data.is_offline[*]"),
    **_accepting("elementwise math: an empty array gives an empty array, NaN gives NaN, negatives are its domain",
                 "lstm.sigmoid[empty]", "lstm.sigmoid[nan]", "lstm.sigmoid[negative]", "rnn.relu[empty]",
                 "rnn.relu[nan]", "rnn.relu[negative]"),
    **_accepting("negative numbers are values here: prices, errors, inputs and weights may be below zero",
                 "forecasting.mae[negative]", "forecasting.rmse[negative]", "forecasting.mape[negative]",
                 "forecasting.forecast_metrics[negative]", "gradients.toy_rnn_gradients[negative]",
                 "rnn.toy_rnn_forward[negative]",
                 "rnn.toy_rnn_keras[negative]", "rnn.toy_rnn_table[negative]", "validate.finite_array[negative]",
                 "validate.number[negative]"),
    **_accepting("no step changed: NaN, as documented (a forecast that names no direction)",
                 "forecasting.directional_accuracy[negative]"),
    **_accepting("−2 on the circle of fifths is a key of two flats (B♭ major)", "music.key_name[negative]",
                 "music.key_tonic[negative]", "music.shift_to_c[negative]"),
    **_accepting("nothing in, nothing out: no tokens, notes, dialogues or events (an empty tune is its two markers)",
                 "music.tokens_to_notes[empty]", "music.tune_tokens[empty]", "seq2seq.conversation_pairs[empty]",
                 "seq2seq.join_number_tokens[empty]", "anomaly.renumber[empty]", "anomaly.events_found[empty]"),
    **_accepting("no hours: every ratio is 0, as documented (0 where undefined)", "anomaly.precision_recall_f1[empty]",
                 "anomaly.f1_of_counts[empty]"),
    **_accepting("notebook 06's decoding loop, written in sight and kept short: max_len −2 takes no step",
                 "seq2seq.run_decoder[negative]"),
}
REFUSED = [case for case in ALL_CASES if case.id not in ACCEPTED]


def test_discovery_finds_the_modules_and_enough_functions():
    found = {case.id.split(".")[0] for case in ALL_CASES}
    assert {"utils", "data", "forecasting", "music", "seq2seq", "rnn", "lstm", "anomaly", "gradients", "plots",
            "course", "validate"} <= found
    assert len({case.id.split("[")[0] for case in ALL_CASES}) > 120


def test_no_two_modules_of_utils_define_the_same_public_name():
    """A name means one thing across the course (music's language model is ``build_melody_lstm``, 08's forecaster
    ``build_forecaster``; notebook 06's vocabulary ``WordVocabulary``, 09's ``NoteVocabulary``), so a reader who meets
    it in a notebook knows which contract it has."""
    modules: dict[str, list[str]] = {}
    for qualified, _ in public_callables():
        module, name = qualified.split(".", 1)
        modules.setdefault(name, []).append(module)
    assert not {name: found for name, found in modules.items() if len(found) > 1}


def test_the_reviewed_acceptances_are_cases_that_exist_and_few():
    assert set(ACCEPTED) <= {case.id for case in ALL_CASES}, set(ACCEPTED) - {case.id for case in ALL_CASES}
    assert len(REFUSED) >= 0.9 * len(ALL_CASES)


@pytest.mark.parametrize("case", REFUSED, ids=[c.id for c in REFUSED])
def test_bad_input_is_refused_with_the_fix(case, capsys):
    verdict, detail = outcome(case)
    assert verdict != "bad", detail
    assert verdict == "refused", (f"{case.id} accepted a bad value ({detail}): refuse it with a ValueError that names "
                                  "the fix, or, if accepting it is right, add it to ACCEPTED with the reason")


@pytest.mark.parametrize("case", [c for c in ALL_CASES if c.id in ACCEPTED], ids=lambda c: c.id)
def test_the_reviewed_acceptances_still_accept(case, capsys):
    verdict, detail = outcome(case)
    assert verdict == "accepted", f"{case.id} now gives: {detail}; take it off ACCEPTED ({ACCEPTED[case.id]})"


def _series(n=40):
    return np.sin(np.arange(n) / 3.0)


def _issue_cases():
    """The reproductions of the issue: each must be refused with a ValueError that names the fix."""
    from utils import course, data, forecasting, gradients, music, rnn
    from utils import seq2seq as s2s

    x = _series()
    with_nan = x.copy()
    with_nan[5] = np.nan
    return {
        "windows_at(window=0)": lambda: forecasting.windows_at(x, x, 0, np.arange(5, 30)),
        "windows_at(window=-2)": lambda: forecasting.windows_at(x, x, -2, np.arange(5, 30)),
        "windows_at(NaN input)": lambda: forecasting.windows_at(with_nan, x, 3, np.arange(3, 30)),
        "windows_at(NaN target)": lambda: forecasting.windows_at(x, with_nan, 3, np.arange(3, 30)),
        "window_arrays(window=0)": lambda: data.window_arrays(x, x, 0, 5, 30),
        "window_arrays(NaN input)": lambda: data.window_arrays(with_nan, x, 3, 3, 30),
        "NoteVocabulary([])": lambda: music.NoteVocabulary([]),
        "NoteVocabulary([[]])": lambda: music.NoteVocabulary([[]]),
        "KneserNey.fit([])": lambda: music.KneserNey(2, 5).fit([]),
        "KneserNey.fit([[]])": lambda: music.KneserNey(2, 5).fit([[]]),
        "KneserNey.fit(ids beyond the vocabulary)": lambda: music.KneserNey(2, 5).fit([[1, 9, 2]]),
        "KneserNey(vocab_size=0)": lambda: music.KneserNey(2, 0),
        "pad_batch([])": lambda: music.pad_batch([]),
        "lm_arrays([])": lambda: music.lm_arrays([]),
        "lm_arrays([[1]])": lambda: music.lm_arrays([[1]]),
        "split_by_tune(0)": lambda: music.split_by_tune(0),
        "softmax([])": lambda: music.softmax([]),
        "softmax([nan])": lambda: music.softmax([np.nan, 1.0]),
        "apply_temperature([])": lambda: s2s.apply_temperature([], 1.0),
        "apply_temperature([nan])": lambda: s2s.apply_temperature([np.nan, 0.5], 1.0),
        "toy_rnn_forward([])": lambda: rnn.toy_rnn_forward([], **rnn.TOY_WEIGHTS),
        "toy_rnn_forward([nan])": lambda: rnn.toy_rnn_forward([np.nan], **rnn.TOY_WEIGHTS),
        "toy_rnn_forward(w1=nan)": lambda: rnn.toy_rnn_forward([1.0], **{**rnn.TOY_WEIGHTS, "w1": np.nan}),
        "build_forecaster(window=0)": lambda: forecasting.build_forecaster(0),
        "music.build_melody_lstm(0)": lambda: music.build_melody_lstm(0),
        "mae(nan)": lambda: forecasting.mae([1.0, 2.0], [np.nan, 2.0]),
        "notes_to_midi([])": lambda: music.notes_to_midi([], "x.mid"),
        "save_seq2seq(not a Seq2Seq)": lambda: s2s.save_seq2seq(object(), "m.keras"),
        "clip_by_norm(NaN gradient)": lambda: gradients.clip_by_norm([np.nan, 1.0], 1.0),
        "course.epochs([])": lambda: course.epochs([]),
        "course.claim('', True)": lambda: course.claim("", True),
    }


ISSUE_CASES = _issue_cases()


@pytest.mark.parametrize("name", list(ISSUE_CASES))
def test_the_issues_cases_are_refused_with_the_fix(name):
    with pytest.raises(ValueError) as info:
        ISSUE_CASES[name]()
    assert FIX.search(str(info.value)), str(info.value)
    frames = traceback.extract_tb(info.value.__traceback__)
    assert frames[-1].filename.startswith(UTILS_DIR), f"raised deep inside a library: {frames[-1].filename}"


def test_valid_calls_still_work():
    """The checks refuse bad input only: the same functions on good input give what they gave before."""
    from utils import data, music, rnn
    from utils import seq2seq as s2s

    hidden, prediction = rnn.toy_rnn_forward([1.0, 2.0], **rnn.TOY_WEIGHTS)
    assert hidden.shape == (2,) and np.isfinite(prediction)
    vocab = music.NoteVocabulary([["<s>", "C4:1", "</s>"]])
    model = music.KneserNey(2, len(vocab)).fit([vocab.encode(["<s>", "C4:1", "</s>"])])
    assert 0 < model.prob((1,), 2) <= 1
    assert music.pad_batch([[1, 2], [3]]).tolist() == [[1, 2], [3, 0]]
    assert np.allclose(s2s.apply_temperature([0.5, 0.5], 2.0), [0.5, 0.5])
    assert np.isclose(music.softmax([0.0, -np.inf]).sum(), 1.0)  # -inf bans a token: allowed
    x = _series(20)
    assert data.window_arrays(x, x, 4, 4, 20)[0].shape == (16, 4, 1)
