"""utils.course: seeds and the seed shift, quick mode, and the verdicts the text may state with their evidence."""

from __future__ import annotations

import re

import numpy as np
import pytest

from utils import course


def test_seed_is_the_notebooks_own_unless_shifted(monkeypatch):
    monkeypatch.delenv(course.SEED_SHIFT_ENV, raising=False)
    assert course.seed(42) == 42 and course.seeds(3, start=5) == [5, 6, 7]
    monkeypatch.setenv(course.SEED_SHIFT_ENV, "2")
    assert course.seed(42) == 42 + 2 * course.SEED_STEP
    assert course.seeds(2) == [2 * course.SEED_STEP, 2 * course.SEED_STEP + 1]
    assert len({course.seed(n) for n in range(course.SEED_STEP)} & {n for n in range(course.SEED_STEP)}) == 0


@pytest.mark.parametrize("value", ["-1", "one", "1.5"])
def test_a_bad_seed_shift_names_the_fix(monkeypatch, value):
    monkeypatch.setenv(course.SEED_SHIFT_ENV, value)
    with pytest.raises(ValueError, match="COURSE_SEED_SHIFT must be a whole number"):
        course.seed(1)


def test_reseed_restores_the_same_random_state_whatever_ran_before():
    course.reseed(3)
    first = np.random.random(3)
    np.random.random(100)  # a student's exercise drawing numbers
    course.reseed(3)
    assert np.array_equal(np.random.random(3), first)


@pytest.mark.parametrize("full, quick_epochs, expected", [(1, None, 1), (4, None, 1), (5, None, 1), (20, None, 4),
                                                          (22, None, 4), (6, 2, 2)])
def test_quick_mode_shortens_training_but_never_to_zero(monkeypatch, full, quick_epochs, expected):
    monkeypatch.setenv(course.QUICK_ENV, "1")
    assert course.epochs(full, quick_epochs) == expected
    assert type(course.epochs(full, quick_epochs)) is int  # Keras' fit counts epochs with range(): 4.0 fails there
    monkeypatch.delenv(course.QUICK_ENV)
    assert course.epochs(full, quick_epochs) == full


@pytest.mark.parametrize("full", [0, -3, True, 2.5, "20", None])
def test_epochs_refuses_what_is_not_a_positive_whole_number_and_names_the_fix(full):
    with pytest.raises(ValueError, match=r"full must be a positive whole number of epochs, such as 20, not "):
        course.epochs(full)


def test_a_claim_prints_its_verdict_and_evidence(capsys):
    assert course.claim("the LSTM beats persistence", True, "5 of 5 seeds") is True
    assert course.claim("attention helps", False) is False
    assert capsys.readouterr().out.splitlines() == ["✓ the LSTM beats persistence [5 of 5 seeds]",
                                                    "✗ not in this run: attention helps"]


def test_a_failed_claim_raises_under_strict_claims_and_is_not_judged_in_quick_mode(monkeypatch, capsys):
    monkeypatch.setenv(course.STRICT_CLAIMS_ENV, "1")
    with pytest.raises(course.ClaimFailed, match="attention helps"):
        course.claim("attention helps", False)
    assert course.claim("it holds", True) is True
    monkeypatch.setenv(course.QUICK_ENV, "1")
    assert course.claim("attention helps", False) is False  # quick mode never raises and never says ✗
    assert capsys.readouterr().out.splitlines()[-1] == ("◌ not judged in a quick run (training was shortened): "
                                                        "attention helps")


@pytest.mark.parametrize("statement", ["", "   ", "a [bracket]", None, 3])
def test_a_claim_needs_a_sentence_without_brackets(statement):
    with pytest.raises(ValueError, match="statement must be the sentence"):
        course.claim(statement, True)


def test_claim_runs_counts_the_runs_that_agree(capsys):
    runs = course.over_seeds([0.8, 0.9, 1.1])
    assert (runs.mean, runs.low, runs.high, len(runs)) == (pytest.approx(0.9333333), 0.8, 1.1, 3)
    assert course.claim_runs("below 1 in every seed", runs, lambda v: v < 1) is False
    assert course.claim_runs("below 1 in most seeds", runs, lambda v: v < 1, need=2) is True
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ("✗ not in this run: below 1 in every seed "
                      "[2 of 3 seeds; mean 0.933, range 0.800 … 1.100 over 3 seeds]")
    assert out[1].startswith("✓ below 1 in most seeds [2 of 3 seeds;")
    with pytest.raises(ValueError, match="need must be"):
        course.claim_runs("x", runs, lambda v: True, need=4)


@pytest.mark.parametrize("values", [[1.0], [], "abc", [1.0, float("nan")], None])
def test_over_seeds_refuses_what_is_not_several_runs(values):
    with pytest.raises(ValueError, match="two or more finite numbers"):
        course.over_seeds(values)


def test_paired_bootstrap_of_per_unit_differences():
    rng = np.random.default_rng(1)
    diff = 0.5 + rng.normal(size=400)
    state = np.random.get_state()[1].copy()
    interval = course.paired_bootstrap(diff, units="test days")
    assert np.array_equal(np.random.get_state()[1], state)  # the notebook's random state is untouched
    assert interval.estimate == pytest.approx(diff.mean()) and interval.low < interval.estimate < interval.high
    assert 0.3 < interval.low and interval.high < 0.7  # ± about 2 standard errors (0.05) around 0.5
    assert interval == course.paired_bootstrap(diff, units="test days")  # its own seed: the same every time
    assert str(interval).endswith("paired bootstrap over 400 test days")


def test_paired_bootstrap_of_a_statistic_that_is_not_a_mean():
    hits_a = np.array([1] * 80 + [0] * 20)
    hits_b = np.array([1] * 60 + [0] * 40)

    def accuracy_gap(index):
        return hits_a[index].mean() - hits_b[index].mean()

    interval = course.paired_bootstrap(accuracy_gap, len(hits_a), units="numbers")
    assert interval.estimate == pytest.approx(0.2) and interval.low > 0
    with pytest.raises(ValueError, match="n must be the number of test units"):
        course.paired_bootstrap(accuracy_gap, units="numbers")


def test_claim_interval_holds_only_when_the_whole_interval_agrees(capsys):
    clear = course.Interval(0.05, 0.02, 0.08, 100, "prompts")
    unclear = course.Interval(0.01, -0.02, 0.04, 100, "prompts")
    assert course.claim_interval("A beats B", clear, above=0) is True
    assert course.claim_interval("A beats B", unclear, above=0) is False
    assert course.claim_interval("A and B are within 0.05", unclear, within=0.05) is True
    assert course.claim_interval("A and B are within 0.05", clear, within=0.05) is False
    assert course.claim_interval("B beats A", course.Interval(-0.05, -0.08, -0.02, 9, "days"), below=0) is True
    assert "paired bootstrap over 100 prompts]" in capsys.readouterr().out
    with pytest.raises(ValueError, match="exactly one"):
        course.claim_interval("x", clear, above=0, below=1)
    with pytest.raises(ValueError, match=r"must come from course\.paired_bootstrap\(\.\.\.\), not tuple"):
        course.claim_interval("x", (0.05, 0.02, 0.08), above=0)


def test_an_interval_that_touches_the_margin_does_not_support_the_claim(capsys):
    """"The whole interval lies above 0": an interval from 0 to 0.08 does not rule out "no difference"."""
    touching = course.Interval(0.04, 0.0, 0.08, 100, "prompts")
    assert course.claim_interval("A beats B", touching, above=0) is False
    assert course.claim_interval("B beats A", course.Interval(-0.04, -0.08, 0.0, 100, "prompts"), below=0) is False
    assert course.claim_interval("A and B are within 0.05", course.Interval(0.0, -0.05, 0.01, 100, "prompts"),
                                 within=0.05) is False
    assert course.claim_interval("A and B are within 0.05", course.Interval(0.0, -0.01, 0.05, 100, "prompts"),
                                 within=0.05) is False
    assert capsys.readouterr().out.count("✗ not in this run") == 4


# --- the verdict follows the evidence, whatever kind of truth value a notebook computes ------------------------------


@pytest.mark.parametrize("evidence", [False, np.False_, np.float64(0.3) > 0.5], ids=["False", "numpy-False", "a<b"])
def test_a_claim_whose_evidence_does_not_hold_prints_a_cross_and_returns_false(capsys, evidence):
    """Never "✓" for a claim that fails: a notebook's stored "✓" would then pass nbval on any run."""
    assert course.claim("the LSTM beats persistence", holds=evidence) is False
    out = capsys.readouterr().out
    assert out.startswith("✗") and "the LSTM beats persistence" in out and "✓" not in out, out


@pytest.mark.parametrize("evidence", [True, np.True_, np.float64(0.7) > 0.5], ids=["True", "numpy-True", "a>b"])
def test_a_claim_whose_evidence_holds_prints_a_tick_and_returns_true(capsys, evidence):
    assert course.claim("the LSTM beats persistence", holds=evidence) is True
    out = capsys.readouterr().out
    assert out.startswith("✓") and "the LSTM beats persistence" in out and "✗" not in out, out


def test_the_verdict_follows_the_evidence_not_the_statement(capsys):
    """Two claims with the same words and opposite evidence print opposite verdicts."""
    verdicts = [course.claim("persistence is hard to beat", holds=h) for h in (True, False, True)]
    lines = capsys.readouterr().out.splitlines()
    assert verdicts == [True, False, True] and [line[0] for line in lines] == ["✓", "✗", "✓"], lines


@pytest.mark.parametrize("word", ["1", "true", "yes", "on", " YES "])
def test_quick_mode_reads_the_switch_like_every_course_switch(monkeypatch, word):
    monkeypatch.setenv(course.QUICK_ENV, word)
    assert course.quick() and course.epochs(40) < 40
    monkeypatch.setenv(course.QUICK_ENV, "0")
    assert not course.quick() and course.epochs(40) == 40


# --- what the refusals and the strict failure say ---------------------------------------------------------------------


@pytest.mark.parametrize("n", [-1, course.SEED_STEP, 2.5, True, "42"])
def test_seed_refuses_what_is_not_a_notebook_seed_and_names_the_range(monkeypatch, n):
    monkeypatch.delenv(course.SEED_SHIFT_ENV, raising=False)
    with pytest.raises(ValueError, match=rf"^a notebook's seed must be a whole number from 0 to 9999, such as 42, "
                                         rf"not {re.escape(repr(n))}$"):
        course.seed(n)
    assert course.seed(course.SEED_STEP - 1) == 9999 and course.seed(np.int64(0)) == 0  # both ends of the range


@pytest.mark.parametrize("count", [0, 2.5, True, "3"])
def test_seeds_refuses_what_is_not_a_number_of_runs(monkeypatch, count):
    monkeypatch.delenv(course.SEED_SHIFT_ENV, raising=False)
    with pytest.raises(ValueError, match=rf"^count must be a positive whole number of runs, such as 5, not "
                                         rf"{re.escape(repr(count))}$"):
        course.seeds(count)
    assert course.seeds(1, start=7) == [7]  # one run is a number of runs too


def test_a_claim_with_blank_evidence_prints_no_empty_brackets(capsys):
    course.claim("the LSTM beats persistence", True, "")
    course.claim("the LSTM beats persistence", True, "   ")
    assert capsys.readouterr().out.splitlines() == ["✓ the LSTM beats persistence"] * 2


def test_a_strict_failure_names_the_seed_shift_it_ran_under(monkeypatch):
    """CI's reruns with other seeds: the failure says which shift to rerun with; an unshifted run names none."""
    monkeypatch.setenv(course.STRICT_CLAIMS_ENV, "1")
    monkeypatch.delenv(course.SEED_SHIFT_ENV, raising=False)
    with pytest.raises(course.ClaimFailed) as failure:
        course.claim("attention helps", False, "2 of 5 seeds")
    assert str(failure.value) == "a claim the text makes does not hold in this run: attention helps [2 of 5 seeds]"
    monkeypatch.setenv(course.SEED_SHIFT_ENV, "1")
    with pytest.raises(course.ClaimFailed) as failure:
        course.claim("attention helps", False)
    assert str(failure.value) == "a claim the text makes does not hold in this run (seed shift 1): attention helps"


def test_claim_runs_needs_runs_from_over_seeds_and_a_whole_number_of_them(capsys):
    runs = course.over_seeds([0.8, 0.9, 1.1])
    assert course.claim_runs("above 1 in one seed", runs, lambda v: v > 1, need=1) is True
    assert capsys.readouterr().out.startswith("✓ above 1 in one seed [1 of 3 seeds;")
    for need in (0, 1.5, True, "2"):
        with pytest.raises(ValueError, match=rf"^need must be a number of runs from 1 to 3, not "
                                             rf"{re.escape(repr(need))}$"):
            course.claim_runs("x", runs, lambda v: True, need=need)
    with pytest.raises(ValueError, match=r"^runs must come from course\.over_seeds\(values\), not list$"):
        course.claim_runs("x", [0.8, 0.9, 1.1], lambda v: True)


def test_claim_interval_asks_for_exactly_one_margin():
    interval = course.Interval(0.05, 0.02, 0.08, 100, "prompts")
    for margins in ({}, {"above": 0, "within": 0.1}):
        with pytest.raises(ValueError, match=r"^give exactly one of above=, below= or within=$"):
            course.claim_interval("x", interval, **margins)
