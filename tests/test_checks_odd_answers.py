"""Every checker in utils.checks survives answers of the wrong kind: it returns False with a readable finding."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import utils.checks

ODD_ANSWERS = {
    "nothing (None)": lambda: None,
    "a string": lambda: "a string",
    "a pair of strings": lambda: ("hello", "world"),
    "a generator": lambda: (x for x in (1.0, 2.0, 3.0)),
    "a ragged list": lambda: [[1.0, 2.0], [3.0]],
    "a pair of ragged lists": lambda: ([[1.0], [2.0, 3.0]], [[1.0], [2.0, 3.0]]),
    "an exception": lambda: (_ for _ in ()).throw(ValueError("odd answer")),
}


def all_checkers():
    """Every ``@exercise`` checker of every module in utils.checks."""
    found = []
    for module in pkgutil.iter_modules(utils.checks.__path__):
        mod = importlib.import_module(f"utils.checks.{module.name}")
        found += [obj for name, obj in vars(mod).items() if name.startswith("check_") and hasattr(obj, "exercise_name")
                  and obj.__module__ == mod.__name__]
    return found


CHECKERS = {checker.__name__: checker for checker in all_checkers()}


def test_every_checker_is_found():
    assert len(CHECKERS) >= 17, sorted(CHECKERS)  # 01 … 09 have 17 exercises with checks


def _answer(checker_name: str, odd):
    """An answer for ``checker_name`` that produces ``odd()`` (a function; a Keras cell class for the cell check)."""
    if checker_name == "check_lstm_cell_class":
        from utils import lstm

        class OddCell(lstm.ReferenceLSTMCell):
            def call(self, inputs, states):
                return odd()

        return OddCell
    return lambda *args, **kwargs: odd()


def _assert_rejected_readably(verdict, out):
    assert verdict is False
    assert "✗" in out and "❌" in out, out
    assert "check itself hit a problem" not in out, out
    assert "Traceback" not in out, out


@pytest.mark.parametrize("kind", ODD_ANSWERS)
@pytest.mark.parametrize("checker_name", sorted(CHECKERS))
def test_checker_rejects_odd_answers_with_a_finding_and_never_raises(checker_name, kind, capsys):
    verdict = CHECKERS[checker_name](_answer(checker_name, ODD_ANSWERS[kind]))
    out = capsys.readouterr().out
    _assert_rejected_readably(verdict, out)
    if kind == "nothing (None)":  # a missing return is named as such, never "expected None, got 'NoneType'"
        said = ("must return (h_t, [h_t, c_t])" if checker_name == "check_lstm_cell_class" else
                "your function returned nothing (None): add a `return` line")
        assert said in out and "NoneType'" not in out, out


@pytest.mark.parametrize("kind", ODD_ANSWERS)
def test_cell_class_check_rejects_odd_objects_instead_of_a_class(kind, capsys):
    from utils.checks.lstm import check_lstm_cell_class

    try:
        odd = ODD_ANSWERS[kind]()
    except ValueError as exc:
        odd = exc
    _assert_rejected_readably(check_lstm_cell_class(odd), capsys.readouterr().out)


@pytest.mark.parametrize("kind", ODD_ANSWERS)
def test_forecaster_check_rejects_an_odd_training_function(kind, capsys):
    from tests.answers import as_student
    from utils.checks.forecasting import check_forecaster
    from utils.forecasting import build_forecaster

    verdict = check_forecaster(as_student(build_forecaster), lambda *args, **kwargs: ODD_ANSWERS[kind]())
    _assert_rejected_readably(verdict, capsys.readouterr().out)


def _stub():
    from tools.build_notebooks import STUB

    exec(STUB)  # the very line the student version has in place of the solution


@pytest.mark.parametrize("checker_name", sorted(CHECKERS))
def test_checker_says_not_done_for_the_generated_stub(checker_name, capsys):
    checker = CHECKERS[checker_name]
    assert checker(_answer(checker_name, _stub)) is False
    out = capsys.readouterr().out
    assert "not done yet" in out and "✗" not in out, out
    assert utils.checks.progress()[checker.exercise_name] == "not done"
