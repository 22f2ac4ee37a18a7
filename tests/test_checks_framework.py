"""utils.checks: the contract every exercise check follows."""

from __future__ import annotations

import re

import numpy as np
import pytest

from utils import checks


@checks.exercise("Demo · square")
def check_square(fn, report):
    for x in (0.0, 2.0, -3.0):
        got, error = checks.call(fn, x)
        if error:
            report.fail(f"square({x}) raised {error}")
        elif not checks.close(got, x * x):
            report.fail(f"square({x})", expected=x * x, got=got,
                        hint=checks.diagnose(got, {"returned 2·x instead of x²": 2 * x}))


def test_pass_fail_not_done_and_crash_are_all_reported(capsys):
    assert check_square(lambda x: x * x) is True
    assert check_square(lambda x: 2 * x) is False
    assert "likely fault: returned 2·x instead of x²" in capsys.readouterr().out
    assert check_square(lambda x: 1 / 0) is False
    assert "ZeroDivisionError" in capsys.readouterr().out
    assert check_square(lambda x: (_ for _ in ()).throw(NotImplementedError())) is False
    assert "not done yet" in capsys.readouterr().out


def test_progress_lists_each_state(capsys):
    check_square(lambda x: x * x)
    assert checks.progress()["Demo · square"] == "done"
    check_square(lambda x: x)
    assert checks.progress()["Demo · square"] == "failing"
    assert "failing" in capsys.readouterr().out


def test_an_answer_off_in_the_third_decimal_is_wrong(capsys):
    """What the checks promise a student: a right answer to 6 digits; an answer off by 0.001 is a mistake to fix."""
    assert check_square(lambda x: x * x + 1e-9) is True
    assert check_square(lambda x: x * x + 1e-3) is False
    assert "square(2.0) — expected 4, got 4.001" in capsys.readouterr().out
    assert checks.close(1.0 + 1e-7, 1.0) and not checks.close(1.0 + 1e-3, 1.0) and not checks.close(1e-4, 0.0)


def test_close_is_shape_strict_and_never_raises():
    assert checks.close([1.0, 2.0], np.array([1.0, 2.0]))
    assert not checks.close([1.0, 2.0], [[1.0, 2.0]])
    assert not checks.close("abc", [1.0])
    assert not checks.close([[1.0], [1.0, 2.0]], [1.0])


def test_a_check_that_raises_records_failing_says_so_and_returns_false(capsys):
    @checks.exercise("Demo · broken check")
    def check_broken(fn, report):
        fn(1.0)
        raise KeyError("a bug in the check")

    assert check_broken(lambda x: x) is False
    out = capsys.readouterr().out
    assert "the check itself hit a problem (KeyError" in out and "carries on with the reference" in out, out
    assert checks.progress()["Demo · broken check"] == "failing"


def test_a_finding_with_only_got_none_says_the_function_returned_nothing(capsys):
    report = checks.Report("demo")
    report.fail("return a pair (hidden, prediction)", got=None)
    report.fail("wrong value", expected=2.0, got=None)
    report.fail("wrong kind", got="abc")
    assert report.failures[0] == ("return a pair (hidden, prediction) — your function returned nothing (None): "
                                  "add a `return` line")
    assert report.failures[1].endswith("add a `return` line; expected 2")
    assert report.failures[2] == "wrong kind — got 'abc'"
    assert not any("expected None" in line for line in report.failures)


def test_errors_name_the_students_line_not_numpys():
    def student(x):
        return np.stack([np.zeros(1), np.zeros(2)]) + x

    _, error = checks.call(student, 1.0)
    assert error.startswith("ValueError:") and error.endswith(
        f"(line {student.__code__.co_firstlineno + 1} of your code: "
        "return np.stack([np.zeros(1), np.zeros(2)]) + x)"), error


def test_an_error_in_a_students_helper_names_the_helpers_line_where_it_happened(capsys):
    """The student's function calls their own helper, which fails inside NumPy: the finding names the helper's line
    (the innermost of the student's lines), not the call in the outer function."""

    def gate(x):
        return np.ones(2) @ np.ones(3) + x

    def square(x):
        return gate(x) * x

    assert check_square(square) is False
    out = capsys.readouterr().out
    assert f"(line {gate.__code__.co_firstlineno + 1} of your code: return np.ones(2) @ np.ones(3) + x)" in out, out
    assert "return gate(x) * x" not in out, out


def test_as_array_reads_numbers_and_refuses_the_rest():
    assert checks.as_array([1, 2]).tolist() == [1.0, 2.0]
    for odd in (None, "12", (x for x in [1.0]), [[1.0], [1.0, 2.0]], object()):
        assert checks.as_array(odd) is None


# --- the registry, progress(), references, hints, fresh cases and the grader's dispatch ------------------------------


@pytest.fixture
def demo_exercises():
    """Two exercises of a notebook "00" that exists only in these tests; removed from the registry afterwards."""
    from utils import rnn

    @checks.exercise("Exercise 1 · relu", notebook="00", answer="relu", reference="utils.rnn:relu", points=2,
                     minutes=5)
    def check_relu(fn, report):
        for x in (-2.0, 0.0, 3.0, *report.rng.normal(size=3)):
            got, error = checks.call(fn, x)
            if error or not checks.close(got, max(x, 0.0)):
                report.fail(f"relu({x:.3f})", expected=max(x, 0.0), got=got, hint="negative inputs must give 0",
                            show="return max(x, 0.0)")

    @checks.exercise("Exercise 2 · add fractions", notebook="00", answer="add", reference="utils.rnn:relu",
                     points=1, minutes=5, forbid=("fractions:Fraction",), optional=True)
    def check_add(fn, report):
        got, error = checks.call(fn, 1, 2, 1, 3)
        if error or got != (5, 6):
            report.fail("1/2 + 1/3", expected=(5, 6), got=got)

    checks.reset()
    yield rnn, check_relu, check_add
    for key in ("00.1", "00.2"):
        checks._REGISTRY.pop(key, None)
    checks.reset()


def test_progress_lists_every_exercise_of_the_notebook_even_unchecked_ones(demo_exercises, capsys):
    _, check_relu, _ = demo_exercises
    checks.set_notebook("00")
    assert checks.progress() == {"Exercise 1 · relu": "not done", "Exercise 2 · add fractions (optional)": "not done"}
    check_relu(lambda x: max(x, 0.0))
    assert checks.progress()["Exercise 1 · relu"] == "done"
    assert "⏳ not done   Exercise 2 · add fractions (optional)" in capsys.readouterr().out


def test_strict_progress_fails_on_an_exercise_whose_check_was_deleted(demo_exercises, monkeypatch):
    _, check_relu, _ = demo_exercises
    checks.set_notebook("00")
    check_relu(lambda x: max(x, 0.0))
    monkeypatch.setenv(checks.STRICT_ENV, "00_demo.ipynb")
    with pytest.raises(checks.SolutionCheckFailed, match="Exercise 2 · add fractions"):
        checks.progress()


def test_an_answer_that_calls_the_reference_is_not_accepted_however_it_reaches_it(demo_exercises, capsys):
    rnn, check_relu, check_add = demo_exercises
    alias = rnn.relu
    assert check_relu(lambda x: float(np.maximum(x, 0.0))) is True
    for cheat in (lambda x: rnn.relu(x), lambda x: alias(x), lambda x: checks.resolve("utils.rnn:relu")(x)):
        assert check_relu(cheat) is False
        assert "your answer calls utils.rnn.relu, which already computes" in capsys.readouterr().out
    from fractions import Fraction

    def add_with_the_library(a, b, c, d):
        total = Fraction(a, b) + Fraction(c, d)
        return total.numerator, total.denominator

    assert check_add(add_with_the_library) is False
    assert "calls fractions.Fraction" in capsys.readouterr().out
    assert check_add(lambda a, b, c, d: (5, 6)) is True  # no forbidden call (the check itself is weak on purpose)


def test_the_first_failure_names_the_fault_and_the_worked_step_waits(demo_exercises, capsys):
    _, check_relu, _ = demo_exercises
    checks.set_notebook("00")
    check_relu(lambda x: x)
    first = capsys.readouterr().out
    assert "likely fault: negative inputs must give 0" in first and "return max" not in first
    assert "`hint()` shows a worked step" in first
    checks.hint()
    assert "return max(x, 0.0)" in capsys.readouterr().out
    check_relu(lambda x: x)
    assert "a worked step: return max(x, 0.0)" in capsys.readouterr().out  # the second failing try shows it


def test_fresh_cases_differ_between_runs_unless_the_grader_fixes_them(demo_exercises):
    seen = []

    @checks.exercise("Demo · record")
    def check_record(fn, report):
        seen.append(report.rng.normal())

    check_record(None)
    check_record(None)
    assert seen[0] != seen[1]
    with checks.remote(lambda *a: checks.Outcome(result=1.0), case_seed=7):
        check_record(None)
        check_record(None)
    assert seen[2] == seen[3]


def test_the_graders_dispatch_receives_every_call_and_its_outcome_counts(demo_exercises, capsys):
    _, check_relu, _ = demo_exercises
    calls = []

    def dispatch(fn, args, kwargs, report):
        calls.append((fn, args))
        return checks.Outcome(error="NotImplementedError: (line 2 of your code)", not_implemented=True)

    with checks.remote(dispatch):
        assert check_relu("the student's relu, in another process") is False
    assert len(calls) == 6 and all(fn == "the student's relu, in another process" for fn, _ in calls)
    assert "not done yet" in capsys.readouterr().out
    with checks.remote(lambda fn, args, kwargs, report: checks.Outcome(result=0.0, references=["utils.rnn.relu"])):
        assert check_relu("remote") is False
    assert "your answer calls utils.rnn.relu" in capsys.readouterr().out


def test_use_reference_if_needed_takes_the_reference_from_the_checker(demo_exercises):
    rnn, check_relu, _ = demo_exercises

    def mine(x):
        return x

    assert checks.use_reference_if_needed(mine, True, check_relu) is mine
    assert checks.use_reference_if_needed(mine, False, check_relu) is rnn.relu
    with pytest.raises(ValueError, match="takes the exercise's checker"):
        checks.use_reference_if_needed(mine, False, rnn.relu)


def test_every_registered_exercise_is_complete_and_its_references_resolve():
    declared = checks.exercises()
    assert len({ex.key for ex in declared}) == len(declared) >= 17
    for ex in declared:
        assert ex.points > 0 and ex.minutes > 0 and ex.answer, ex
        assert checks.forbidden_codes(ex), f"{ex.key}: its reference has no code to watch"


def test_use_reference_if_needed_picks_the_reference_of_the_answer_named_like_the_students_function():
    """An exercise with two answers (a function and a class, say): each falls back to its own reference."""
    from utils import rnn

    @checks.exercise("Exercise 1 · two answers", notebook="00", answer=("relu", "toy_rnn_forward"),
                     reference=("utils.rnn:relu", "utils.rnn:toy_rnn_forward"), points=1, minutes=5)
    def check_both(relu, forward, report):
        report.fail("not yet")

    try:
        def toy_rnn_forward(*args):
            return None

        def relu(x):
            return x

        assert checks.use_reference_if_needed(toy_rnn_forward, False, check_both) is rnn.toy_rnn_forward
        assert checks.use_reference_if_needed(relu, False, check_both) is rnn.relu
        assert checks.use_reference_if_needed(None, False, check_both) is rnn.relu  # not even a function: the first
    finally:
        checks._REGISTRY.pop("00.1", None)


@checks.exercise("Demo · halves")
def check_halves(fn, report, scalar_ok=True):
    answer = checks.answer_array(fn, ([2.0, 4.0],), report, "halves([2, 4])", what="return the halves as numbers",
                                 hint="divide each by 2", **({} if scalar_ok else {"scalar_ok": False}))
    if answer is not None and not checks.close(answer, [1.0, 2.0]):
        report.fail("halves([2, 4])", expected=[1.0, 2.0], got=answer)


def test_answer_array_reads_the_answer_or_says_what_is_wrong_with_it(capsys):
    assert check_halves(lambda xs: [x / 2 for x in xs]) is True
    assert check_halves(lambda xs: 1 / 0) is False
    assert "halves([2, 4]): your function raised ZeroDivisionError: division by zero" in capsys.readouterr().out
    assert check_halves(lambda xs: "1, 2") is False
    out = capsys.readouterr().out
    assert "halves([2, 4]): return the halves as numbers — got '1, 2' — likely fault: divide each by 2" in out
    assert check_halves(lambda xs: 1.5, scalar_ok=False) is False  # one number where two are wanted
    assert "return the halves as numbers — got 1.5" in capsys.readouterr().out
    assert check_halves(lambda xs: 1.5) is False  # a number is read, and is wrong
    assert "expected [1.0, 2.0], got array() 1.5" in capsys.readouterr().out


# --- what a finding says, exactly: the student's line, Keras' wrapping, long texts, arrays, iterators ----------------


def _raise(exc):
    raise exc


def test_a_keras_wrapped_error_is_reduced_to_the_real_message():
    wrapped = ValueError("Exception encountered when calling Dense.call().\n\n\x1b[1mInput 0 is incompatible: "
                         "expected shape (None, 3)\x1b[0m\n\nArguments received by Dense.call(): inputs=tf.Tensor")
    _, error = checks.call(_raise, wrapped)
    assert error.startswith("ValueError: Input 0 is incompatible: expected shape (None, 3) (line "), error
    _, error = checks.call(_raise, ValueError("\x1b[1mbold\x1b[0m from another library"))  # not Keras' wrapping
    assert error.startswith("ValueError: \x1b[1mbold\x1b[0m from another library (line "), error


@pytest.mark.parametrize("length, shown", [(300, "x" * 300), (301, "x" * 299 + "…"), (400, "x" * 299 + "…")])
def test_a_long_error_message_is_cut_to_300_characters(length, shown):
    _, error = checks.call(_raise, ValueError("x" * length))
    assert error.startswith(f"ValueError: {shown} (line "), error


def test_an_error_names_the_line_number_even_without_its_text_and_nothing_without_a_line_of_the_students():
    """Code without a source file (run with exec) still has line numbers; an error raised in a library function
    the student passed directly has no line of theirs to name."""
    namespace = {}
    exec(compile("def answer(x):\n    return 1 / 0\n", "<answer>", "exec"), namespace)
    assert checks.call(namespace["answer"], 1.0) == (None, "ZeroDivisionError: division by zero (line 2 of your "
                                                           "code)")
    import math

    assert checks.call(math.sqrt, -1.0) == (None, "ValueError: math domain error")


def test_an_error_inside_pythons_own_frozen_modules_or_generated_code_names_the_students_line():
    """The innermost frames of an import error are importlib's frozen ones, and tf.function's generated code is
    not the student's either: the finding names the student's own line."""
    import importlib

    def load(name):
        return importlib.import_module(name)

    _, error = checks.call(load, "no_such_module_anywhere")
    assert error.endswith(f"(line {load.__code__.co_firstlineno + 1} of your code: return "
                          "importlib.import_module(name))"), error
    namespace = {}
    exec(compile("def converted(x):\n    return x / 0\n", "/tmp/__autograph_generated_filek2x.py", "exec"), namespace)

    def traced(x):
        return namespace["converted"](x)

    _, error = checks.call(traced, 1.0)
    assert error.endswith(f"(line {traced.__code__.co_firstlineno + 1} of your code: return "
                          "namespace[\"converted\"](x))"), error


def test_findings_show_values_short_and_readable():
    report = checks.Report("demo")
    report.fail("a", got=np.arange(9) / 3)
    report.fail("b", got=np.array([1e-9, 1.0, 2.123456]))
    report.fail("c", got=iter([1, 2]))
    report.fail("d", got=(x for x in [1]))
    report.fail("e", got="a" * 200)
    report.fail("f", expected=2.0)
    report.fail("g", got="b" * 88)  # 90 characters with its quotes: the longest shown whole
    assert report.failures == [
        "a — got array(9,) [0. 0.3333 ... 2.3333 2.6667]",
        "b — got array(3,) [0. 1. 2.1235]",
        "c — got a list_iterator (which can be read only once): return a list or an array",
        "d — got a generator (which can be read only once): return a list or an array",
        "e — got '" + "a" * 88 + "…",
        "f — expected 2",
        "g — got '" + "b" * 88 + "'",
    ]


def test_close_never_raises_whatever_either_side_holds_and_diagnose_uses_the_tolerance_given():
    assert not checks.close("abc", 1.0) and not checks.close(1.0, "abc") and not checks.close(1.0, None)
    assert checks.diagnose(1.05, {"off by a little": 1.0}) is None
    assert checks.diagnose(1.05, {"off by a little": 1.0}, atol=0.1, rtol=0.0) == "off by a little"


def test_call_passes_keyword_arguments_and_reports_a_partial_answer_as_failing(capsys):
    assert checks.call(lambda a, *, scale: a * scale, 2, scale=3) == (6, None)

    def partial(x):
        if x < 0:
            raise NotImplementedError("negative numbers: to do")
        return x * x

    assert check_square(partial) is False
    out = capsys.readouterr().out
    assert "square(-3.0) raised NotImplementedError: negative numbers: to do (line" in out, out
    assert "raises NotImplementedError for some inputs only" in out and "returned nothing" not in out, out


def test_a_failing_check_without_a_worked_step_offers_none(capsys):
    assert check_square(lambda x: 2 * x) is False
    assert "hint()" not in capsys.readouterr().out
    checks.hint()
    assert capsys.readouterr().out == ("No worked step to show: run the check under the exercise first (a hint "
                                       "appears when it fails).\n")


def test_use_reference_if_needed_names_the_fix_for_a_missing_checker():
    with pytest.raises(ValueError, match=r"^use_reference_if_needed\(fn, passed, check\) takes the exercise's "
                                         r"checker as its third argument, such as check_lstm_cell_step, not None$"):
        checks.use_reference_if_needed(abs, False, None)


# --- registering exercises --------------------------------------------------------------------------------------------

_REGISTERING = "a registered exercise needs the name 'Exercise N · title', answer= and reference= (one reference " \
               "per answer), and positive points= and minutes="


@pytest.mark.parametrize("name, declared", [
    ("Demo", {"answer": "relu", "reference": "utils.rnn:relu", "points": 1, "minutes": 5}),
    ("Exercise 1 · x", {"answer": (), "reference": (), "points": 1, "minutes": 5}),
    ("Exercise 1 · x", {"answer": ("relu", "tanh"), "reference": "utils.rnn:relu", "points": 1, "minutes": 5}),
    ("Exercise 1 · x", {"answer": "relu", "reference": "utils.rnn:relu", "minutes": 5}),
    ("Exercise 1 · x", {"answer": "relu", "reference": "utils.rnn:relu", "points": 1}),
    ("Exercise 1 · x", {"answer": "relu", "reference": "utils.rnn:relu", "points": 0, "minutes": 5}),
    ("Exercise 1 · x", {"answer": "relu", "reference": "utils.rnn:relu", "points": 5, "minutes": 0}),
], ids=["name", "no-answer", "answers-without-references", "no-points", "no-minutes", "zero-points", "zero-minutes"])
def test_an_incomplete_exercise_declaration_is_refused_with_what_it_needs(name, declared):
    with pytest.raises(ValueError) as info:
        checks.exercise(name, notebook="98", **declared)
    assert str(info.value) == f"{name!r}: {_REGISTERING}"
    assert "98.1" not in checks._REGISTRY


def test_a_declared_exercise_is_registered_with_its_checker_and_a_second_declaration_of_it_is_refused():
    try:
        @checks.exercise("Exercise 1 · one minute", notebook="98", answer="relu", reference="utils.rnn:relu",
                         points=3, minutes=1)
        def check_it(fn, report):
            pass

        (declared,) = checks.exercises("98")
        assert (declared.points, declared.minutes, declared.title) == (3, 1, "one minute")
        assert checks.checker(declared) is check_it and check_it.exercise_name == "Exercise 1 · one minute"
        checks.exercise("Exercise 1 · one minute", notebook="98", answer="relu", reference="utils.rnn:relu",
                        points=3, minutes=1)  # the same declaration again (a module imported twice) is fine
        with pytest.raises(ValueError) as info:
            checks.exercise("Exercise 1 · another", notebook="98", answer="relu", reference="utils.rnn:relu",
                            points=3, minutes=1)
        assert str(info.value) == "two exercises are declared as 98.1: 'Exercise 1 · one minute' and " \
                                  "'Exercise 1 · another'"
    finally:
        checks._REGISTRY.pop("98.1", None)
        checks._CHECKERS.pop("98.1", None)


# --- progress() and hint(number), line by line ------------------------------------------------------------------------


def test_progress_before_any_check_says_so_and_lists_nothing(capsys):
    assert checks.progress() == {}
    assert capsys.readouterr().out == ("No exercise has been checked yet in this session: run the check cells under "
                                       "the exercises.\n")


def test_progress_prints_one_line_per_exercise_with_its_mark(demo_exercises, capsys):
    _, check_relu, _ = demo_exercises
    check_relu(lambda x: max(x, 0.0))
    check_square(lambda x: x)
    capsys.readouterr()
    checks.progress()  # no notebook set: the checks that ran, registered or not
    assert capsys.readouterr().out.splitlines() == ["✅ done       Exercise 1 · relu", "❌ failing    Demo · square"]
    checks.set_notebook("00")
    checks.progress()  # this notebook's exercises once each, then the other checks that ran
    assert capsys.readouterr().out.splitlines() == ["✅ done       Exercise 1 · relu",
                                                    "⏳ not done   Exercise 2 · add fractions (optional)",
                                                    "❌ failing    Demo · square"]


def test_progress_names_a_checked_exercise_of_another_notebook_by_its_title(demo_exercises, capsys):
    _, check_relu, _ = demo_exercises
    check_relu(lambda x: max(x, 0.0))
    checks.set_notebook("01")
    assert checks.progress()["Exercise 1 · relu"] == "done"
    assert "Exercise 1 · relu" in capsys.readouterr().out


def test_strict_progress_passes_when_all_is_done_and_lists_what_is_not(demo_exercises, monkeypatch):
    _, check_relu, check_add = demo_exercises
    checks.set_notebook("00")
    check_relu(lambda x: x)
    monkeypatch.setenv(checks.STRICT_ENV, "00_demo.ipynb")
    with pytest.raises(checks.SolutionCheckFailed) as info:
        checks.progress()
    assert str(info.value) == ("00_demo.ipynb: progress() lists exercises that are not done: Exercise 1 · relu "
                               "(failing), Exercise 2 · add fractions (optional) (not done)")
    check_relu(lambda x: max(x, 0.0))
    check_add(lambda a, b, c, d: (5, 6))
    assert checks.progress() == {"Exercise 1 · relu": "done", "Exercise 2 · add fractions (optional)": "done"}


def test_hint_with_a_number_shows_that_exercise_of_this_notebook_only(demo_exercises, capsys):
    _, check_relu, _ = demo_exercises
    checks.set_notebook("00")
    check_relu(lambda x: x)
    capsys.readouterr()
    checks.hint(1)
    assert capsys.readouterr().out == "→ Exercise 1 · relu: return max(x, 0.0)\n"
    checks.hint(2)
    assert capsys.readouterr().out.startswith("No worked step to show")
    checks.set_notebook("01")  # another notebook's Exercise 1 has not failed
    checks.hint(1)
    assert capsys.readouterr().out.startswith("No worked step to show")


def test_an_answer_that_calls_the_reference_and_then_crashes_is_still_told_it_calls_the_reference(demo_exercises,
                                                                                                     capsys):
    rnn, check_relu, _ = demo_exercises
    assert check_relu(lambda x: rnn.relu(x) + 1 / 0) is False
    assert "your answer calls utils.rnn.relu, which already computes" in capsys.readouterr().out


# --- the verdict lines, the reference finding, the grader's dispatch, strict mode's switch, reset --------------------


def test_each_verdict_prints_its_line_and_progress_reads_its_state(capsys):
    assert check_square(lambda x: x * x) is True
    assert capsys.readouterr().out == "✅ Demo · square: correct.\n"
    assert check_square(lambda x: 2 * x) is False
    assert capsys.readouterr().out.splitlines()[-1] == ("❌ Demo · square: 1 problem(s) above. Fix them and run this "
                                                        "check again.")

    def partial(x):
        if x < 0:
            raise NotImplementedError
        return x * x

    check_square(partial)
    assert "  ✗ your function raises NotImplementedError for some inputs only: finish every case\n" in \
        capsys.readouterr().out
    check_square(lambda x: _raise(NotImplementedError()))
    assert checks.progress() == {"Demo · square": "not done"}
    assert capsys.readouterr().out.splitlines()[-1] == "⏳ not done   Demo · square"


def test_the_first_failure_with_a_worked_step_ends_by_offering_hint(demo_exercises, capsys):
    _, check_relu, _ = demo_exercises
    check_relu(lambda x: x)
    assert capsys.readouterr().out.rstrip().endswith(
        " problem(s) above. Fix them and run this check again. Stuck? `hint()` shows a worked step.")


def test_calling_the_reference_is_one_finding_that_names_it_and_the_fix(demo_exercises, capsys):
    rnn, check_relu, _ = demo_exercises
    check_relu(lambda x: rnn.relu(x))  # called in each of the six cases
    out = capsys.readouterr().out
    assert out.count("your answer calls") == 1, out
    assert ("  ✗ your answer calls utils.rnn.relu, which already computes what this exercise asks for: that is not an "
            "answer, so it is not accepted — likely fault: write the computation yourself, from the equations above "
            "(helpers the text offers, such as sigmoid, are fine)\n") in out, out


def test_outside_a_check_an_unwritten_answer_stops_with_not_done_and_its_error():
    with pytest.raises(checks.NotDone, match=r"^NotImplementedError: write me"):
        checks.call(lambda: _raise(NotImplementedError("write me")))


def test_the_graders_dispatch_receives_the_arguments_and_the_report(demo_exercises):
    received = []

    def dispatch(fn, args, kwargs, report):
        received.append((args, kwargs, report.name))
        return checks.Outcome(result=args[0] * kwargs["scale"])

    @checks.exercise("Demo · scaled")
    def check_scaled(fn, report):
        got, _ = checks.call(fn, 2.0, scale=3.0)
        if got != 6.0:
            report.fail("scaled", expected=6.0, got=got)

    with checks.remote(dispatch):
        assert check_scaled("the student's function") is True
    assert received == [((2.0,), {"scale": 3.0}, "Demo · scaled")]


def test_close_honours_its_tolerances():
    assert checks.close(5e-7, 0.0) and not checks.close(5e-6, 0.0)  # 1e-6 absolute by default
    assert checks.close(1.5, 1.0, rtol=0.6) and checks.close(0.05, 0.0, atol=0.1)


@pytest.mark.parametrize("notebook", ["00", "00_demo.ipynb", " 00_demo "])
def test_a_notebook_is_named_by_its_two_digits(demo_exercises, notebook):
    checks.set_notebook(notebook)
    assert list(checks.progress()) == ["Exercise 1 · relu", "Exercise 2 · add fractions (optional)"]


def test_a_notebook_name_without_its_number_is_refused_with_an_example():
    with pytest.raises(ValueError) as info:
        checks.set_notebook("demo")
    assert str(info.value) == "notebook must be the notebook's number as two digits, such as '04', not 'demo'"


@pytest.mark.parametrize("value, where", [("0", None), ("false", None), ("No", None), ("OFF", None), ("", None),
                                          ("1", "this notebook"), ("True", "this notebook"), ("yes", "this notebook"),
                                          ("ON", "this notebook"), ("04_lstm.ipynb", "04_lstm.ipynb")])
def test_strict_mode_reads_its_switch_and_names_the_notebook(demo_exercises, monkeypatch, value, where):
    checks.set_notebook("00")
    monkeypatch.setenv(checks.STRICT_ENV, value)
    if where is None:
        assert checks.progress()["Exercise 1 · relu"] == "not done"
    else:
        with pytest.raises(checks.SolutionCheckFailed, match=rf"^{re.escape(where)}: progress\(\) lists"):
            checks.progress()


def test_reset_is_a_fresh_start_as_in_a_new_kernel(demo_exercises, capsys):
    checks.set_notebook("00")
    seen = []

    @checks.exercise("Demo · record")
    def check_record(fn, report):
        got, _ = checks.call(fn)
        seen.append((got, report.rng.normal()))

    with checks.remote(lambda *a: checks.Outcome(result="remote"), case_seed=7):
        checks.reset()
        check_record(lambda: "here")
        check_record(lambda: "here")
    assert [got for got, _ in seen] == ["here", "here"] and seen[0][1] != seen[1][1]
    checks.reset()
    capsys.readouterr()
    assert checks.progress() == {}  # no notebook any more, nothing recorded


def test_run_answer_reports_an_unwritten_answer_as_plain_data_with_what_it_called(demo_exercises):
    """What the grader's worker sends back for an answer still raising NotImplementedError: the error text, the flag,
    and the list of forbidden functions it called before raising (a list, even when empty)."""
    rnn, _, _ = demo_exercises
    (relu_exercise, _) = checks.exercises("00")
    forbidden = checks.forbidden_codes(relu_exercise)
    outcome = checks.run_answer(lambda: _raise(NotImplementedError("to do")), (), {}, forbidden)
    assert outcome.error.startswith("NotImplementedError: to do (line") and outcome.not_implemented
    assert outcome.references == []
    outcome = checks.run_answer(lambda x: (rnn.relu(x), _raise(NotImplementedError())), (1.0,), {}, forbidden)
    assert outcome.not_implemented and outcome.references == ["utils.rnn.relu"]
