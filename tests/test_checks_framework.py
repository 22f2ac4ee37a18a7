"""utils.checks: the contract every exercise check follows."""

from __future__ import annotations

import numpy as np

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
