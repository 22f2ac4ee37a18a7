"""Exercise checks: run a student's function on known and fresh cases, say what is right or name the likely mistake.

Every checker in this package follows one contract, so that students meet the same behaviour in every notebook:

* ``check_<exercise>(fn) -> bool`` prints one line per finding and returns True only when every case is right.
  Cases go beyond the ones the student sees: each run also draws fresh ones (``Report.rng``), so an answer key of the
  visible cases does not pass.
* If the student has not written the exercise yet (the stub raises ``NotImplementedError`` and never returns), it
  prints "not done yet" and returns False; the notebook then goes on with the reference implementation (see
  ``use_reference_if_needed``). A function that raises it for some inputs only is failing, not "not done".
* An answer that calls the course's own reference, or the library layer the exercise rebuilds (the registry's
  ``forbid``), is told so and not accepted: ``call`` watches which functions the answer runs.
* A wrong answer never crashes the checker: exceptions from the student's code become findings that name the line of
  the student's own code, and an answer of a kind the check did not foresee, which makes the check itself raise, is
  reported as such and counts as failing.
* A finding names the fault first (``hint``); a worked step (``show``) is printed only from the second failing try of
  the same exercise on, or when the student asks for it with ``hint()``.
* Results are recorded, so ``progress()`` at the end of a notebook lists every exercise of the notebook (all of them,
  from the registry, whether or not their check ran) as done / not done / failing.
* In the instructor notebooks (``STRICT_ENV`` set) anything but "done" raises ``SolutionCheckFailed``.

Each exercise is declared once, by its checker's ``@exercise(...)``: notebook, number and title, the name the student
defines, the reference the notebook falls back to, what an answer may not call, points and expected minutes. The
notebooks, ``progress()``, the builder's grading line and the grader (``python -m tools.grade``) all read that
registry. Topic checkers live in submodules (``utils.checks.rnn``, ``utils.checks.lstm``, ...).

A checker touches the student's answer only through ``call`` (``call(fn, ...)``, or ``call(harness, fn, ...)`` with a
module-level harness function for a class or a model): the grader then runs the answer in an isolated process and
only plain data (numbers, arrays, strings) comes back, while the checker and its expected values stay outside.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import os
import re
import secrets
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: The checker modules, one per topic; ``exercises()`` imports them all so the registry is complete.
CHECKER_MODULES = ("rnn", "gradients", "lstm", "anomaly", "seq2seq", "forecasting", "music")

_REGISTRY: dict[str, Exercise] = {}  # "04.1" -> the exercise, filled by @exercise as checker modules are imported
_CHECKERS: dict[str, Callable] = {}  # "04.1" -> its checker
_PROGRESS: dict[str, str] = {}  # exercise key (or name, for a checker outside the registry) -> its state
_ACTIVE: list[Report] = []  # the report of the check that is running, so that ``call`` can count into it
_FAILED_TRIES: dict[str, int] = {}  # exercise key -> failing runs of its check in this session
_LAST_FAILED: list[Report] = []  # the most recent failing report, for ``hint()``
_SESSION: dict[str, object] = {"notebook": None, "case_seed": None, "remote": None}
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
_NAME = re.compile(r"^Exercise (\d+) · (.+)$")


class SolutionCheckFailed(AssertionError):
    """Raised in strict mode (instructor notebooks) when a check does not pass or an exercise is not done."""


# --- the registry -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Exercise:
    """One exercise of one notebook, declared once by its checker's ``@exercise(...)``."""

    notebook: str  # "04"
    number: int  # 1, as in the heading "### Exercise 1 · ..."
    title: str  # the heading's text after the number
    answer: tuple[str, ...]  # the names the student's cell defines (functions or classes), usually one
    reference: tuple[str, ...]  # "utils.lstm:lstm_cell_step" for each: what the notebook falls back to meanwhile
    points: int  # what it is worth when graded
    minutes: int  # the expected time for a student who has read the notebook up to it
    forbid: tuple[str, ...] = ()  # further "module:name"s an answer must not call (the reference never may)
    optional: bool = False  # an extension: not on the notebook's core path

    @property
    def key(self) -> str:
        return f"{self.notebook}.{self.number}"

    @property
    def name(self) -> str:
        return f"Exercise {self.number} · {self.title}"


def exercises(notebook: str | None = None) -> list[Exercise]:
    """Every registered exercise (of one notebook: "04"), in notebook and exercise order."""
    for module in CHECKER_MODULES:
        importlib.import_module(f"{__name__}.{module}")
    chosen = [ex for ex in _REGISTRY.values() if notebook is None or ex.notebook == _notebook_id(notebook)]
    return sorted(chosen, key=lambda ex: (ex.notebook, ex.number))


def checker(exercise: Exercise) -> Callable[..., bool]:
    """The check of ``exercise``: ``checker(ex)(*answers) -> bool``, as the notebook's check cell calls it."""
    exercises()
    return _CHECKERS[exercise.key]


def _notebook_id(notebook) -> str:
    text = str(notebook).strip()
    if not text[:2].isdigit():
        raise ValueError(f"notebook must be the notebook's number as two digits, such as '04', not {notebook!r}")
    return text[:2]


def resolve(target: str):
    """The object that ``"module:qualified.name"`` names (a reference function, a Keras layer class...)."""
    module, _, qualname = target.partition(":")
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def set_notebook(notebook: str) -> None:
    """Tell ``progress()`` which notebook this session is (``course.setup(..., notebook="04")`` calls it)."""
    _SESSION["notebook"] = _notebook_id(notebook)


def reset() -> None:
    """Forget everything this session recorded (progress, tries, the notebook): a fresh start, as in a new kernel."""
    _PROGRESS.clear()
    _ACTIVE.clear()
    _FAILED_TRIES.clear()
    _LAST_FAILED.clear()
    _SESSION.update(notebook=None, case_seed=None, remote=None)


# --- one run of a check -----------------------------------------------------------------------------------------------


class Report:
    """Collects the findings of one check; the verdict prints them (a check that turns out "not done" prints none)."""

    def __init__(self, name: str, exercise: Exercise | None = None):
        self.name = name
        self.exercise = exercise
        self.failures: list[str] = []
        self.shows: list[str] = []  # worked steps, printed from the second failing try on (or by hint())
        self.answered: list[Callable] = []  # functions that returned normally at least once
        self.unimplemented: list[Callable] = []  # functions that raised NotImplementedError
        self.references: list[str] = []  # the forbidden functions the answer was seen to call
        self.case_seed = _SESSION["case_seed"] if _SESSION["case_seed"] is not None else secrets.randbits(32)
        #: Fresh cases for this run (never the notebook's global random state, which the check must not disturb).
        self.rng = np.random.default_rng(self.case_seed)

    def fail(self, message: str, *, expected=_UNSET, got=_UNSET, hint: str | None = None,
             show: str | None = None) -> None:
        """Record one wrong case: what was expected, what came back, and the likely fault.

        ``hint`` names the fault in words ("the forget and input gates are swapped"); ``show`` is a worked step (a
        formula or a line of code) that is held back on the first failing try. ``got=None`` means the function
        returned nothing, and the finding says so (a missing ``return``).
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
        if show and show not in self.shows:
            self.shows.append(show)

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def not_done(self) -> bool:
        """True when a function raised NotImplementedError and never returned: the exercise is not written yet."""
        return bool(self.unimplemented) and not any(f in self.answered for f in self.unimplemented)


class NotDone(Exception):
    """Raise inside a checker to stop it and report the exercise as not done yet."""


@dataclass
class Outcome:
    """What running the student's code once gave: a result or an error text, and what it was seen to do."""

    result: object = None
    error: str | None = None
    not_implemented: bool = False
    references: list[str] = field(default_factory=list)  # forbidden functions it called


def call(fn: Callable, *args, **kwargs):
    """Call the student's ``fn``; returns ``(result, None)`` or ``(None, "ExceptionType: message (line N: code)")``.

    The line named is the last one of the student's own code the error passed through, not one inside NumPy or Keras.
    A ``NotImplementedError`` is recorded: when the function raised it and never returned, the exercise is "not done";
    when it raised it for some inputs only, it is a wrong answer like any other. A call of a function the exercise
    forbids (its reference, the library layer it rebuilds) is recorded as a finding. ``fn`` may also be a harness
    (a module-level function of a checker module) that receives the student's class or function among its arguments.
    While the grader grades, the call runs in the submission's isolated process instead (see ``remote``).
    """
    report = _ACTIVE[-1] if _ACTIVE else None
    dispatch = _SESSION["remote"]
    forbidden = forbidden_codes(report.exercise) if report is not None and report.exercise else {}
    outcome = dispatch(fn, args, kwargs, report) if dispatch else run_answer(fn, args, kwargs, forbidden)
    if outcome.not_implemented:
        if report is None:
            raise NotDone(outcome.error)
        if fn not in report.unimplemented:
            report.unimplemented.append(fn)
        return None, outcome.error
    if report is not None:
        for label in outcome.references:
            if label not in report.references:
                report.references.append(label)
                report.fail(f"your answer calls {label}, which already computes what this exercise asks for: "
                            "that is not an answer, so it is not accepted", hint="write the computation yourself, "
                            "from the equations above (helpers the text offers, such as sigmoid, are fine)")
    if outcome.error is not None:
        return None, outcome.error
    if report is not None and fn not in report.answered:
        report.answered.append(fn)
    return outcome.result, None


def run_answer(fn: Callable, args: tuple, kwargs: dict, forbidden: dict | None = None) -> Outcome:
    """Run the student's code here, in this process, watching for calls of ``forbidden`` code (``forbidden_codes``)."""
    with _watching(forbidden or {}) as seen:
        try:
            result = fn(*args, **kwargs)
        except NotImplementedError as exc:
            return Outcome(error=_describe(exc), not_implemented=True, references=seen)
        except (Exception, SystemExit) as exc:  # a wrong answer that crashes is still just a wrong answer
            return Outcome(error=_describe(exc), references=seen)
    return Outcome(result=result, references=seen)


@functools.cache
def forbidden_codes(exercise: Exercise) -> dict:
    """The code objects an answer to ``exercise`` must not run, each with a readable label.

    The reference and each ``forbid`` entry: a function's own code, or every method a class defines itself (a Keras
    layer's ``call``...). Watching code objects, not names, catches the reference however the answer reached it.
    """
    codes = {}
    for target in (*exercise.reference, *exercise.forbid):
        obj = inspect.unwrap(resolve(target))
        label = target.replace(":", ".")
        if inspect.isclass(obj):
            members = [inspect.unwrap(m) for m in vars(obj).values() if inspect.isfunction(inspect.unwrap(m))
                       if not isinstance(m, property)]
        else:
            members = [obj]
        for member in members:
            code = getattr(member, "__code__", None)
            if code is not None:
                codes[code] = label
    return codes


@contextlib.contextmanager
def _watching(codes: dict):
    """Record, while the block runs, each label of ``codes`` whose code starts running (``sys.setprofile``)."""
    seen: list[str] = []
    if not codes:
        yield seen
        return

    def profiler(frame, event, arg):
        if event == "call":
            label = codes.get(frame.f_code)
            if label is not None and label not in seen:
                seen.append(label)

    previous, previous_threads = sys.getprofile(), threading.getprofile()
    sys.setprofile(profiler)
    threading.setprofile(profiler)
    try:
        yield seen
    finally:
        sys.setprofile(previous)
        threading.setprofile(previous_threads)


@contextlib.contextmanager
def remote(dispatch: Callable, case_seed: int | None = None):
    """Run every ``call`` through ``dispatch(fn, args, kwargs, report) -> Outcome`` (the grader's isolated process).

    ``case_seed`` fixes the fresh cases, so that a grade can be reproduced.
    """
    saved = dict(_SESSION)
    _SESSION.update(remote=dispatch, case_seed=case_seed)
    try:
        yield
    finally:
        _SESSION.update(saved)


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


def exercise(name: str, *, notebook: str | None = None, answer: str | tuple[str, ...] = (),
             reference: str | tuple[str, ...] = (), points: int = 0, minutes: int = 0, forbid: tuple[str, ...] = (),
             optional: bool = False):
    """Decorator for a checker ``check(fn, report) -> None`` that turns it into ``check(fn) -> bool``.

    With ``notebook`` given, the exercise is registered (see ``Exercise``): ``name`` is its heading text, "Exercise N ·
    title". The wrapped checker prints a heading, the findings and a verdict, and records the result for
    ``progress()``. It never raises (outside strict mode): a problem inside the check itself is reported as such, and
    the exercise counts as failing, so the notebook goes on with the reference.
    """
    declared = None
    if notebook is not None:
        match = _NAME.match(name)
        answers = (answer,) if isinstance(answer, str) else tuple(answer)
        references = (reference,) if isinstance(reference, str) else tuple(reference)
        if not (match and answers and len(answers) == len(references) and points > 0 and minutes > 0):
            raise ValueError(f"{name!r}: a registered exercise needs the name 'Exercise N · title', answer= and "
                             "reference= (one reference per answer), and positive points= and minutes=")
        declared = Exercise(_notebook_id(notebook), int(match.group(1)), match.group(2), answers, references,
                            points, minutes, tuple(forbid), optional)
        if declared.key in _REGISTRY and _REGISTRY[declared.key] != declared:
            raise ValueError(f"two exercises are declared as {declared.key}: {_REGISTRY[declared.key].name!r} and "
                             f"{name!r}")
        _REGISTRY[declared.key] = declared

    def decorate(check: Callable) -> Callable[..., bool]:
        @functools.wraps(check)
        def run(fn, *args, **kwargs) -> bool:
            report = Report(name, declared)
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
            key = declared.key if declared else name
            state = _verdict(report, _FAILED_TRIES.get(key, 0))
            _PROGRESS[key] = state
            if state == "failing":
                _FAILED_TRIES[key] = _FAILED_TRIES.get(key, 0) + 1
                _LAST_FAILED[:] = [report]
            where = strict()
            if where and state != "done":
                first = f" First finding: {report.failures[0]}" if report.failures else ""
                raise SolutionCheckFailed(f"{where}: {name} is {state}; a solution notebook must pass its own checks "
                                          f"(fix the solution in notebooks/source/).{first}")
            return state == "done"

        run.exercise_name = name
        run.exercise = declared
        if declared is not None:
            _CHECKERS[declared.key] = run
        return run

    return decorate


def _verdict(report: Report, earlier_failures: int) -> str:
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
    if report.shows and earlier_failures:
        for line in report.shows:
            print(f"  → a worked step: {line}")
    print(f"❌ {report.name}: {len(report.failures)} problem(s) above. Fix them and run this check again."
          + (" Stuck? `hint()` shows a worked step." if report.shows and not earlier_failures else ""))
    return "failing"


def hint(number: int | None = None) -> None:
    """Print the worked steps held back by the last failing check (or by Exercise ``number`` of this notebook)."""
    reports = _LAST_FAILED
    if number is not None:
        notebook = _SESSION["notebook"]
        reports = [r for r in _LAST_FAILED if r.exercise and r.exercise.number == number
                   and r.exercise.notebook == notebook]
    if not reports or not reports[-1].shows:
        print("No worked step to show: run the check under the exercise first (a hint appears when it fails).")
        return
    for line in reports[-1].shows:
        print(f"→ {reports[-1].name}: {line}")


def use_reference_if_needed(student_fn: Callable, passed: bool, check: Callable) -> Callable:
    """The student's function when its check passed, else the exercise's reference, so the rest still runs.

    ``check`` is the exercise's checker (``check_lstm_cell_step``): it knows the reference, which the student's view
    does not need to name. For an exercise with several answers, the reference of the one named like ``student_fn``.
    """
    if passed:
        return student_fn
    declared = getattr(check, "exercise", None)
    if declared is None:
        raise ValueError("use_reference_if_needed(fn, passed, check) takes the exercise's checker as its third "
                         f"argument, such as check_lstm_cell_step, not {check!r}")
    name = getattr(student_fn, "__name__", None)
    index = declared.answer.index(name) if name in declared.answer else 0
    return resolve(declared.reference[index])


def progress() -> dict[str, str]:
    """Print and return every exercise of this notebook (``course.setup(notebook=...)``): done / not done / failing.

    An exercise whose check never ran (a deleted check cell) is listed as not done. Checks of exercises outside the
    registry (or of another notebook) that ran in this session are listed too.
    """
    notebook = _SESSION["notebook"]
    rows = [(ex.name + (" (optional)" if ex.optional else ""), _PROGRESS.get(ex.key, "not done"))
            for ex in (exercises(notebook) if notebook else [])]
    listed = {ex.key for ex in exercises(notebook)} if notebook else set()
    rows += [(_REGISTRY[key].name if key in _REGISTRY else key, state) for key, state in _PROGRESS.items()
             if key not in listed]
    if not rows:
        print("No exercise has been checked yet in this session: run the check cells under the exercises.")
    marks = {"done": "✅ done", "not done": "⏳ not done", "failing": "❌ failing"}
    for name, state in rows:
        print(f"{marks[state]:<12} {name}")
    where, unfinished = strict(), [f"{name} ({state})" for name, state in rows if state != "done"]
    if where and unfinished:
        raise SolutionCheckFailed(f"{where}: progress() lists exercises that are not done: {', '.join(unfinished)}")
    return dict(rows)


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
