"""A solution notebook whose exercise fails its own check, or is left undone, fails the notebook run (strict checks)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import nbformat
import pytest

from utils import ROOT, checks

NBVAL = ["-p", "tests.nbval_plugin", "--nbval-lax", "--nbval-current-env", "-p", "no:cacheprovider", "-rA"]
SETUP = "import utils\nfrom utils.checks import progress\nfrom utils.checks.gradients import check_day1_factor"
WRONG = "passed = check_day1_factor(lambda w2, days: w2 ** days)"  # a typical mistake: one unroll too many
RIGHT = "passed = check_day1_factor(lambda w2, days: w2 ** (days - 1))"
STUB = ("def day1_factor(w2, days):\n    raise NotImplementedError('Exercise: write this part')\n"
        "passed = check_day1_factor(day1_factor)")
EXERCISE = "Exercise 1 · day 1's gradient factor"


def _notebook(path, *cells):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]), path)


def _run_nbval(folder):
    """pytest + nbval + the course plugin over ``folder``; returns (exit status, output, {notebook: outcome})."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    env.pop(checks.STRICT_ENV, None)
    run = subprocess.run([sys.executable, "-m", "pytest", *NBVAL, "--rootdir", str(folder), "."],
                         cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    outcomes: dict[str, set[str]] = {}
    for outcome, notebook in re.findall(r"^(PASSED|FAILED) (\S+\.ipynb)::Cell \d+", run.stdout, re.MULTILINE):
        outcomes.setdefault(notebook, set()).add(outcome)
    return run.returncode, run.stdout, outcomes


def test_solution_run_fails_on_a_failing_or_undone_check_and_names_notebook_and_exercise(tmp_path):
    _notebook(tmp_path / "solutions" / "wrong.ipynb", SETUP, "# NBVAL_IGNORE_OUTPUT\n" + WRONG)  # marker: no bypass
    _notebook(tmp_path / "solutions" / "undone.ipynb", SETUP, STUB)
    _notebook(tmp_path / "solutions" / "progress.ipynb", SETUP,
              f"from utils import checks\nchecks._PROGRESS[{EXERCISE!r}] = 'not done'", "_ = progress()")
    _notebook(tmp_path / "solutions" / "right.ipynb", SETUP, RIGHT, "_ = progress()")
    _notebook(tmp_path / "student.ipynb", SETUP, WRONG, STUB, "_ = progress()")  # students may be wrong or unfinished
    status, out, outcomes = _run_nbval(tmp_path)

    assert status == 1, out
    assert outcomes["solutions/wrong.ipynb"] == {"PASSED", "FAILED"}, out
    assert outcomes["solutions/undone.ipynb"] == {"PASSED", "FAILED"}, out
    assert outcomes["solutions/progress.ipynb"] == {"PASSED", "FAILED"}, out
    assert outcomes["solutions/right.ipynb"] == {"PASSED"}, out
    assert outcomes["student.ipynb"] == {"PASSED"}, out
    assert f"solutions/wrong.ipynb: {EXERCISE} is failing" in out
    assert f"solutions/undone.ipynb: {EXERCISE} is not done" in out
    assert f"solutions/progress.ipynb: progress() lists exercises that are not done: {EXERCISE} (not done)" in out


def test_strict_mode_raises_naming_notebook_and_exercise_and_is_off_by_default(monkeypatch, capsys):
    from utils.checks.gradients import check_day1_factor

    def wrong(w2, days):
        return w2 ** days

    monkeypatch.delenv(checks.STRICT_ENV, raising=False)
    assert check_day1_factor(wrong) is False
    monkeypatch.setenv(checks.STRICT_ENV, "notebooks/solutions/02_x.ipynb")
    with pytest.raises(checks.SolutionCheckFailed, match=f"02_x.ipynb: {EXERCISE} is failing"):
        check_day1_factor(wrong)
    with pytest.raises(checks.SolutionCheckFailed, match=f"not done: {EXERCISE} \\(failing\\)"):
        checks.progress()
    assert check_day1_factor(lambda w2, days: w2 ** (days - 1)) is True
    assert checks.progress()[EXERCISE] == "done"
    capsys.readouterr()


def test_the_builder_executes_solutions_with_strict_checks(tmp_path):
    from nbclient.exceptions import CellExecutionError

    from utils.build_notebooks import execute

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SETUP), nbformat.v4.new_code_cell(WRONG)])
    with pytest.raises(CellExecutionError, match=f"notebooks/solutions/demo.ipynb: {EXERCISE} is failing"):
        execute(nb, tmp_path, "notebooks/solutions/demo.ipynb")
