"""utils.course as a student and CI meet it: the verdicts ``claim`` prints, and the shortened training of quick mode."""

from __future__ import annotations

import numpy as np
import pytest

from utils import course

# --- claim: the text's statements about results, marked by whether this run supports them ----------------------------


def test_a_claim_whose_evidence_holds_prints_a_tick_and_returns_true(capsys):
    assert course.claim("the LSTM beats persistence", holds=True) is True
    out = capsys.readouterr().out
    assert out.startswith("✓") and "the LSTM beats persistence" in out and "✗" not in out, out


@pytest.mark.parametrize("evidence", [False, np.False_, np.float64(0.3) > 0.5], ids=["False", "numpy-False", "a<b"])
def test_a_claim_whose_evidence_does_not_hold_prints_a_cross_and_returns_false(capsys, evidence):
    """Never "✓" for a claim that fails: a notebook's stored "✓" would then pass nbval on any run."""
    assert course.claim("the LSTM beats persistence", holds=evidence) is False
    out = capsys.readouterr().out
    assert out.startswith("✗") and "the LSTM beats persistence" in out and "✓" not in out, out


def test_the_verdict_follows_the_evidence_not_the_statement(capsys):
    """Two claims with the same words and opposite evidence print opposite verdicts."""
    verdicts = [course.claim("persistence is hard to beat", holds=h) for h in (True, False, True)]
    lines = capsys.readouterr().out.splitlines()
    assert verdicts == [True, False, True] and [line[0] for line in lines] == ["✓", "✗", "✓"], lines


# --- epochs: quick mode trains less, never nothing ------------------------------------------------------------------


@pytest.mark.parametrize("full", [1, 2, 3, 4, 5, 9, 12, 40])
def test_quick_mode_trains_at_least_one_epoch_and_never_more_than_the_full_run(monkeypatch, full):
    monkeypatch.setenv(course.QUICK_ENV, "1")
    assert 1 <= course.epochs(full) <= full


def test_quick_mode_shortens_long_runs_and_normal_mode_keeps_them(monkeypatch):
    assert [course.epochs(n) for n in (1, 4, 40)] == [1, 4, 40]  # conftest: no COURSE_QUICK from the shell
    monkeypatch.setenv(course.QUICK_ENV, "1")
    assert course.quick() and course.epochs(40) < 40
    assert course.epochs(40, quick_epochs=3) == 3


@pytest.mark.parametrize("word", ["1", "true", "yes", "on", " YES "])
def test_quick_mode_reads_the_switch_like_every_course_switch(monkeypatch, word):
    monkeypatch.setenv(course.QUICK_ENV, word)
    assert course.quick()
    monkeypatch.setenv(course.QUICK_ENV, "0")
    assert not course.quick() and course.epochs(40) == 40
