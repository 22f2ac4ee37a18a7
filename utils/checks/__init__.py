"""Exercise checks: run a student's function on known cases, say what is right or name the likely mistake.

Every checker in this package follows one contract, so that students meet the same behaviour in every notebook:

* ``check_<exercise>(fn) -> bool`` prints one line per finding and returns True only when every case is right.
* If the student has not written the exercise yet (the stub raises ``NotImplementedError``), it prints "not done yet"
  and returns False; the notebook then goes on with the reference implementation (see ``use_reference_if_needed``).
* A wrong answer never crashes the checker: exceptions from the student's code become findings.
* Results are recorded, so ``progress()`` at the end of a notebook lists its exercises as done / not done / failing.

Topic checkers live in submodules (``utils.checks.rnn``, ``utils.checks.lstm``, ...) and are built with ``Report``
and ``exercise``.
"""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable

import numpy as np

_PROGRESS: dict[str, str] = {}


class Report:
    """Collects the findings of one check and prints each as it is made."""

    def __init__(self, name: str):
        self.name = name
        self.failures: list[str] = []

    def fail(self, message: str, *, expected=None, got=None, hint: str | None = None) -> None:
        """Record one wrong case: what was expected, what came back, and the likely fault."""
        parts = [message]
        if expected is not None or got is not None:
            parts.append(f"expected {_short(expected)}, got {_short(got)}")
        if hint:
            parts.append(f"likely fault: {hint}")
        line = " — ".join(parts)
        self.failures.append(line)
        print(f"  ✗ {line}")

    @property
    def passed(self) -> bool:
        return not self.failures


class NotDone(Exception):
    """Raised inside a checker when the student's stub still raises NotImplementedError."""


def call(fn: Callable, *args, **kwargs):
    """Call the student's ``fn``; returns ``(result, None)`` or ``(None, "ExceptionType: message")``.

    A ``NotImplementedError`` means the exercise is not done yet and stops the whole check.
    """
    try:
        return fn(*args, **kwargs), None
    except NotImplementedError as exc:
        raise NotDone from exc
    except Exception as exc:  # a wrong answer that crashes is still just a wrong answer
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        return None, f"{type(exc).__name__}: {exc} (line {frame.lineno})"


def exercise(name: str):
    """Decorator for a checker ``check(fn, report) -> None`` that turns it into ``check(fn) -> bool``.

    The wrapped checker prints a heading, the findings and a verdict, and records the result for ``progress()``.
    """

    def decorate(check: Callable) -> Callable[..., bool]:
        @functools.wraps(check)
        def run(fn, *args, **kwargs) -> bool:
            report = Report(name)
            try:
                check(fn, report, *args, **kwargs)
            except NotDone:
                _PROGRESS[name] = "not done"
                print(f"⏳ {name}: not done yet. The notebook carries on with the reference implementation.")
                return False
            _PROGRESS[name] = "done" if report.passed else "failing"
            if report.passed:
                print(f"✅ {name}: correct.")
            else:
                print(f"❌ {name}: {len(report.failures)} problem(s) above. Fix them and run this check again.")
            return report.passed

        return run

    return decorate


def use_reference_if_needed(student_fn: Callable, passed: bool, reference: Callable) -> Callable:
    """The student's function when its check passed, else the reference, so the rest of the notebook still runs."""
    return student_fn if passed else reference


def progress() -> dict[str, str]:
    """Print and return the exercises checked in this session: done / not done / failing."""
    if not _PROGRESS:
        print("No exercise has been checked yet in this session: run the check cells under the exercises.")
    marks = {"done": "✅ done", "not done": "⏳ not done", "failing": "❌ failing"}
    for name, state in _PROGRESS.items():
        print(f"{marks[state]:<12} {name}")
    return dict(_PROGRESS)


def close(got, expected, *, atol: float = 1e-6, rtol: float = 1e-5) -> bool:
    """Shape-strict numerical comparison that never raises (ragged or non-numeric answers are simply not close)."""
    try:
        got_arr, exp_arr = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    except (TypeError, ValueError):
        return False
    return got_arr.shape == exp_arr.shape and bool(np.allclose(got_arr, exp_arr, atol=atol, rtol=rtol))


def diagnose(got, candidates: dict[str, object], **tolerance) -> str | None:
    """Name the known mistake whose output ``got`` matches, if any (``candidates``: hint -> that mistake's output)."""
    for hint, value in candidates.items():
        if close(got, value, **tolerance):
            return hint
    return None


def _short(value, limit: int = 90) -> str:
    """A one-line, length-limited rendering of a value for findings."""
    if isinstance(value, np.ndarray):
        text = np.array2string(value, precision=4, suppress_small=True, threshold=8, edgeitems=2)
        text = f"array{value.shape} {text}"
    elif isinstance(value, float):
        text = f"{value:.6g}"
    else:
        text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
