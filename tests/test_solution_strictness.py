"""A solution notebook whose exercise fails its own check, or is left undone, fails the notebook run (strict checks)."""

from __future__ import annotations

import re
import sys

import nbformat
import pytest

from tests import helpers
from utils import checks

NBVAL = ["-p", "tests.nbval_plugin", "--nbval-lax", "--nbval-current-env", "-p", "no:cacheprovider", "-rA"]
SETUP = ("import utils\nfrom utils.checks import progress\nfrom utils.checks.gradients import check_day1_factor\n"
         "from utils.checks.anomaly import check_rolling_zscore")
WRONG = "passed = check_day1_factor(lambda w2, days: w2 ** days)"  # a typical mistake: one unroll too many
STUB = ("def rolling_zscore(x, window):\n    raise NotImplementedError('Exercise: write this part')\n"
        "passed = check_rolling_zscore(rolling_zscore)")
EXERCISE = "Exercise 1 · day 1's gradient factor"
UNDONE = "Exercise 3 · rolling z-score"


def _notebook(path, *cells):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]), path)


def _run_nbval(folder):
    """pytest + nbval + the course plugin over ``folder``; returns (exit status, output, {notebook: outcome})."""
    run = helpers.run([sys.executable, "-m", "pytest", *NBVAL, "--rootdir", folder, "."], cwd=folder, ok=None,
                      env={checks.STRICT_ENV: None})
    outcomes: dict[str, list[str]] = {}
    for outcome, notebook in re.findall(r"^(PASSED|FAILED) (\S+\.ipynb)::Cell \d+", run.stdout, re.MULTILINE):
        outcomes.setdefault(notebook, []).append(outcome)
    return run.returncode, run.stdout, outcomes


def test_solution_run_fails_on_a_failing_or_undone_check_and_names_notebook_and_exercise(tmp_path):
    # in the solution: a wrong answer (its cell marked, which must not matter), an unfinished one, then progress()
    _notebook(tmp_path / "solutions" / "broken.ipynb", SETUP, "# NBVAL_IGNORE_OUTPUT\n" + WRONG, STUB, "_ = progress()")
    _notebook(tmp_path / "student.ipynb", SETUP, WRONG, STUB, "_ = progress()")  # students may be wrong or unfinished
    status, out, outcomes = _run_nbval(tmp_path)

    assert status == 1, out
    assert outcomes["solutions/broken.ipynb"] == ["PASSED", "FAILED", "FAILED", "FAILED"], out
    assert outcomes["student.ipynb"] == ["PASSED"] * 4, out
    assert f"solutions/broken.ipynb: {EXERCISE} is failing" in out
    assert f"solutions/broken.ipynb: {UNDONE} is not done" in out
    assert (f"solutions/broken.ipynb: progress() lists exercises that are not done: {EXERCISE} (failing), "
            f"{UNDONE} (not done)") in out


def test_strict_mode_raises_naming_notebook_and_exercise_and_is_off_by_default(monkeypatch, capsys):
    from utils.checks.gradients import check_day1_factor

    def wrong(w2, days):
        return w2 ** days

    monkeypatch.setattr(checks, "_PROGRESS", {})  # this session's record only: other tests' checks are not ours
    monkeypatch.delenv(checks.STRICT_ENV, raising=False)
    assert check_day1_factor(wrong) is False
    monkeypatch.setenv(checks.STRICT_ENV, "notebooks/solutions/02_x.ipynb")
    with pytest.raises(checks.SolutionCheckFailed, match=f"02_x.ipynb: {EXERCISE} is failing"):
        check_day1_factor(wrong)
    unfinished = re.escape(f"02_x.ipynb: progress() lists exercises that are not done: {EXERCISE} (failing)")
    with pytest.raises(checks.SolutionCheckFailed, match=unfinished + "$"):
        checks.progress()
    assert check_day1_factor(lambda w2, days: w2 ** (days - 1)) is True  # a right solution passes in strict mode
    assert checks.progress()[EXERCISE] == "done"
    capsys.readouterr()


def test_the_builder_executes_solutions_with_strict_checks(tmp_path):
    from nbclient.exceptions import CellExecutionError

    from tools.build_notebooks import execute

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SETUP), nbformat.v4.new_code_cell(WRONG)])
    with pytest.raises(CellExecutionError, match=f"notebooks/solutions/demo.ipynb: {EXERCISE} is failing"):
        execute(nb, tmp_path, "notebooks/solutions/demo.ipynb")
