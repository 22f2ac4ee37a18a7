"""Exercise checks: run a student's function on known cases, say what is right or name the likely mistake.

Every checker in this package follows one contract, so that students meet the same behaviour in every notebook:

* ``check_<exercise>(fn) -> bool`` prints one line per finding and returns True only when every case is right.
* If the student has not written the exercise yet (the stub raises ``NotImplementedError`` and never returns), it
  prints "not done yet" and returns False; the notebook then goes on with the reference implementation (see
  ``use_reference_if_needed``). A function that raises it for some inputs only is failing, not "not done".
* A wrong answer never crashes the checker: exceptions from the student's code become findings that name the line of
  the student's own code, and an answer of a kind the check did not foresee, which makes the check itself raise, is
  reported as such and counts as failing.
* Results are recorded, so ``progress()`` at the end of a notebook lists its exercises as done / not done / failing.
* In the instructor notebooks (``STRICT_ENV`` set) anything but "done" raises ``SolutionCheckFailed``.

Topic checkers live in submodules (``utils.checks.rnn``, ``utils.checks.lstm``, ...) and are built with ``Report``
and ``exercise``.
"""

from __future__ import annotations

import functools
import inspect
import os
import re
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np

_PROGRESS: dict[str, str] = {}
_ACTIVE: list[Report] = []  # the report of the check that is running, so that ``call`` can count into it
_UNSET = object()  # "not given", so that ``fail(..., got=None)`` can say the function returned nothing

STRICT_ENV = "COURSE_STRICT_CHECKS"
"""Set (to the notebook's name, or to 1) for runs of the instructor notebooks: there every check must pass.

The nbval plugin (``tests/nbval_plugin.py``) sets it for the kernels of ``notebooks/solutions/``, and the builder
(``python -m tools.build_notebooks``) for the kernels that execute the solutions. A check that does not pass, and a
``progress()`` that lists an exercise not done, then raise ``SolutionCheckFailed``: the cell fails, and so does the run.
"""

_LIBRARY_DIRS = tuple(str(Path(p).resolve()) for p in {sys.prefix, sys.base_prefix, sys.exec_prefix}) + (
    str(Path(__file__).resolve().parents[1]),)  # installed packages, the standard library, and this course's utils/
_KERAS_WRAPPED = re.compile(r"\x1b\[1m(.*?)\x1b\[0m", re.DOTALL)  # Keras' "Exception encountered when calling ..."


class SolutionCheckFailed(AssertionError):
    """Raised in strict mode (instructor notebooks) when a check does not pass or an exercise is not done."""


class Report:
    """Collects the findings of one check; the verdict prints them (a check that turns out "not done" prints none)."""

    def __init__(self, name: str):
        self.name = name
        self.failures: list[str] = []
        self.answered: list[Callable] = []  # functions that returned normally at least once
        self.unimplemented: list[Callable] = []  # functions that raised NotImplementedError

    def fail(self, message: str, *, expected=_UNSET, got=_UNSET, hint: str | None = None) -> None:
        """Record one wrong case: what was expected, what came back, and the likely fault.

        ``got=None`` means the function returned nothing, and the finding says so (a missing ``return``).
        """
        parts = [message]
        if got is None:
            parts.append("your function returned nothing (None): add a `return` line"
                         + ("" if expected is _UNSET else f"; expected {_short(expected)}"))
        elif expected is not _UNSET and got is not _UNSET:
            parts.append(f"expected {_short(expected)}, got {_short(got)}")
        elif got is not _UNSET:
            parts.append(f"got {_short(got)}")
        elif expected is not _UNSET:
            parts.append(f"expected {_short(expected)}")
        if hint:
            parts.append(f"likely fault: {hint}")
        self.failures.append(" — ".join(parts))

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def not_done(self) -> bool:
        """True when a function raised NotImplementedError and never returned: the exercise is not written yet."""
        return bool(self.unimplemented) and not any(f in self.answered for f in self.unimplemented)


class NotDone(Exception):
    """Raise inside a checker to stop it and report the exercise as not done yet."""


def call(fn: Callable, *args, **kwargs):
    """Call the student's ``fn``; returns ``(result, None)`` or ``(None, "ExceptionType: message (line N: code)")``.

    The line named is the last one of the student's own code the error passed through, not one inside NumPy or Keras.
    A ``NotImplementedError`` is recorded: when the function raised it and never returned, the exercise is "not done";
    when it raised it for some inputs only, it is a wrong answer like any other.
    """
    report = _ACTIVE[-1] if _ACTIVE else None
    try:
        result = fn(*args, **kwargs)
    except NotImplementedError as exc:
        if report is None:
            raise NotDone from exc
        if fn not in report.unimplemented:
            report.unimplemented.append(fn)
        return None, _describe(exc)
    except Exception as exc:  # a wrong answer that crashes is still just a wrong answer
        return None, _describe(exc)
    if report is not None and fn not in report.answered:
        report.answered.append(fn)
    return result, None


def _describe(exc: BaseException) -> str:
    """``"Type: message (line N: code)"`` for an exception from the student's code; Keras' wrapping removed."""
    text = str(exc)
    if text.startswith("Exception encountered when calling") and _KERAS_WRAPPED.search(text):
        text = _KERAS_WRAPPED.search(text).group(1)  # Keras' own text lists argument shapes; keep the real message
    text = " ".join(text.split())
    text = text if len(text) <= 300 else text[:299] + "…"
    frame = _student_frame(exc)
    where = f" (line {frame.lineno} of your code: {frame.line.strip()})" if frame and frame.line else (
        f" (line {frame.lineno} of your code)" if frame else "")
    return f"{type(exc).__name__}: {text}{where}"


def _student_frame(exc: BaseException):
    """The innermost traceback frame in the student's code: not in an installed package, the standard library, utils."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        name = frame.filename
        if name.startswith("<frozen") or "__autograph_generated" in name:
            continue
        try:
            resolved = str(Path(name).resolve())
        except (OSError, ValueError):
            resolved = name
        if not resolved.startswith(_LIBRARY_DIRS):
            return frame
    return None


def strict() -> str:
    """The notebook named in ``COURSE_STRICT_CHECKS`` ("this notebook" when it is just 1), or "" when not strict."""
    value = os.environ.get(STRICT_ENV, "").strip()
    if value.lower() in {"", "0", "false", "no", "off"}:
        return ""
    return "this notebook" if value.lower() in {"1", "true", "yes", "on"} else value


def strict_env(notebook: str) -> dict[str, str]:
    """The environment for a kernel that runs the instructor notebook ``notebook``: strict checks switched on."""
    return {**os.environ, STRICT_ENV: notebook}


def exercise(name: str):
    """Decorator for a checker ``check(fn, report) -> None`` that turns it into ``check(fn) -> bool``.

    The wrapped checker prints a heading, the findings and a verdict, and records the result for ``progress()``. It
    never raises (outside strict mode): a problem inside the check itself is reported as such, and the exercise counts
    as failing, so the notebook goes on with the reference.
    """

    def decorate(check: Callable) -> Callable[..., bool]:
        @functools.wraps(check)
        def run(fn, *args, **kwargs) -> bool:
            report = Report(name)
            _ACTIVE.append(report)
            try:
                check(fn, report, *args, **kwargs)
            except NotDone:
                report.unimplemented.append(NotDone)
            except Exception as exc:  # a fault of the check (or an answer it did not foresee): never a crash
                report.failures.append(f"the check itself hit a problem ({_describe(exc)}), so this answer could not "
                                       "be judged; the notebook carries on with the reference implementation")
            finally:
                _ACTIVE.pop()
            state = _verdict(report)
            _PROGRESS[name] = state
            where = strict()
            if where and state != "done":
                first = f" First finding: {report.failures[0]}" if report.failures else ""
                raise SolutionCheckFailed(f"{where}: {name} is {state}; a solution notebook must pass its own checks "
                                          f"(fix the solution in notebooks/source/).{first}")
            return state == "done"

        run.exercise_name = name
        return run

    return decorate


def _verdict(report: Report) -> str:
    """Print the findings and the verdict of a finished check; returns its state for ``progress()``."""
    if report.not_done:
        print(f"⏳ {report.name}: not done yet. The notebook carries on with the reference implementation.")
        return "not done"
    for line in report.failures:
        print(f"  ✗ {line}")
    if report.passed:
        print(f"✅ {report.name}: correct.")
        return "done"
    if report.unimplemented:
        print("  ✗ your function raises NotImplementedError for some inputs only: finish every case")
    print(f"❌ {report.name}: {len(report.failures)} problem(s) above. Fix them and run this check again.")
    return "failing"


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
    where, unfinished = strict(), [f"{name} ({state})" for name, state in _PROGRESS.items() if state != "done"]
    if where and unfinished:
        raise SolutionCheckFailed(f"{where}: progress() lists exercises that are not done: {', '.join(unfinished)}")
    return dict(_PROGRESS)


def reset() -> None:
    """Forget this session's checks: the results ``progress()`` lists and any check still marked as running.

    Test suites call it between tests, so that no test reads what an earlier one recorded.
    """
    _PROGRESS.clear()
    _ACTIVE.clear()


def close(got, expected, *, atol: float = 1e-6, rtol: float = 1e-5) -> bool:
    """Shape-strict numerical comparison that never raises (ragged or non-numeric answers are simply not close)."""
    try:
        got_arr, exp_arr = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    except Exception:  # whatever the answer is, it is not close
        return False
    return got_arr.shape == exp_arr.shape and bool(np.allclose(got_arr, exp_arr, atol=atol, rtol=rtol))


def as_array(value) -> np.ndarray | None:
    """``value`` as a float array, or None when it is not numeric (None, a string, a generator, ragged lists...)."""
    if value is None or isinstance(value, (str, bytes)) or inspect.isgenerator(value):
        return None
    try:
        return np.asarray(value, dtype=float)
    except Exception:  # ragged, non-numeric, or an object NumPy cannot read
        return None


def answer_array(fn, args: tuple, report: Report, label: str, *, what: str, hint: str | None = None,
                 scalar_ok: bool = True) -> np.ndarray | None:
    """Call the student's ``fn(*args)``; the answer as a float array, or None once a finding is recorded.

    The finding says that the function raised, or that it returned something that is not numbers (``what``: what to
    return instead, ``hint``: how). ``scalar_ok=False`` also refuses a single number where an array is wanted.
    """
    got, error = call(fn, *args)
    if error:
        report.fail(f"{label}: your function raised {error}")
        return None
    answer = as_array(got)
    if answer is None or (not scalar_ok and answer.ndim == 0):
        report.fail(f"{label}: {what}", got=got, hint=hint)
        return None
    return answer


def diagnose(got, candidates: dict[str, object], **tolerance) -> str | None:
    """Name the known mistake whose output ``got`` matches, if any (``candidates``: hint -> that mistake's output)."""
    for hint, value in candidates.items():
        if close(got, value, **tolerance):
            return hint
    return None


def _short(value, limit: int = 90) -> str:
    """A one-line, length-limited rendering of a value for findings."""
    if inspect.isgenerator(value) or type(value).__name__.endswith("iterator"):
        text = f"a {type(value).__name__} (which can be read only once): return a list or an array"
    elif isinstance(value, np.ndarray):
        text = np.array2string(value, precision=4, suppress_small=True, threshold=8, edgeitems=2)
        text = f"array{value.shape} {text}"
    elif isinstance(value, float):
        text = f"{value:.6g}"
    else:
        text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
