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


def test_close_is_shape_strict_and_never_raises():
    assert checks.close([1.0, 2.0], np.array([1.0, 2.0]))
    assert not checks.close([1.0, 2.0], [[1.0, 2.0]])
    assert not checks.close("abc", [1.0])
    assert not checks.close([[1.0], [1.0, 2.0]], [1.0])
