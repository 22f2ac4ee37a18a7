"""Notebooks 02, 08 and 09 say only what their outputs show, hide exercise answers, and use the deck's notation."""

from __future__ import annotations

import re

import pytest

from tests.helpers import markdown, output_text, solution, student
from tests.notebook_code import assignments, call_arguments
from tools.build_notebooks import is_checked
from utils import gradients, music


def _claims(nb):
    """Every line that ``course.claim`` printed in a compared cell (a "✓ …" or "✗ not in this run: …" line)."""
    lines = []
    for cell in nb.cells:
        if cell.cell_type == "code" and is_checked(cell):
            lines += [line for line in output_text(cell).splitlines() if line.startswith(("✓ ", "✗ "))]
    return lines


# --- every result the prose states is a printed, compared verdict ---------------------------------------------------


@pytest.mark.parametrize("number, at_least", [("02", 15), ("08", 15), ("09", 8)])
def test_result_claims_are_printed_in_compared_cells_and_hold(number, at_least):
    claims = _claims(solution(number))
    assert len(claims) >= at_least, f"notebook {number}: only {len(claims)} claims printed by course.claim"
    failing = [line for line in claims if not line.startswith("✓ ")]
    assert not failing, f"notebook {number}: claims that do not hold in the stored run: {failing}"


def test_02_memory_demo_claims_cover_the_lesson():
    claims = "\n".join(_claims(solution("02")))
    for said in ("the LSTM with forget bias 5 learns the 30-step gap in every run",
                 "the SimpleRNN learns the 30-step gap in no run",
                 "the LSTM with forget bias 1 learns the 30-step gap in some runs and not in others",
                 "at gap 30, from the same start and data, forget bias 5 scores at least as high as forget bias 1"):
        assert said in claims, said
    assert "[8 of 8 runs; mean" in claims  # the spread over the runs is printed with each verdict


def test_02_sets_every_seed_through_course():
    """COURSE_SEED_SHIFT must move every random number of the notebook: no bare literal seed (course.setup's own seed
    is shifted by course.setup)."""
    code = "\n".join(c.source for c in solution("02").cells if c.cell_type == "code")
    bare = re.findall(r"(?:set_random_seed|default_rng)\(\s*\d|(?<!setup\()\bseed=\d", code)
    assert not bare, bare


def test_08_says_the_lstm_on_returns_ties_persistence_by_noise():
    text = "\n".join(markdown(solution("08")))
    assert "nothing beats" not in text.lower()
    assert "Diebold–Mariano" in text
    claims = "\n".join(_claims(solution("08")))
    assert "✓ no honest forecast beats persistence on the test days by more than noise" in claims
    assert "✓ every start of the LSTM on returns shows no clear difference from persistence [3 of 3 starts" in claims


def test_08_final_table_scores_every_setup_once_against_persistence_on_its_own_days():
    """Dollar errors on different test days mislead: each setup is a ratio to persistence on the same days, with a
    paired test, each start on its own row; one leak makes the LSTM appear to beat persistence, the honest run does
    not. The verdicts over starts print their spread."""
    cells = solution("08").cells
    table = next(c for c in cells if c.cell_type == "code" and "final = verdicts(rows)" in c.source)
    assert '("leak 2: shuffled split", s): (leak2_actual, f, leak2_today)' in table.source
    shown = output_text(table)
    for column in ("persistence MAE ($)", "MAE ratio", "RMSE ratio", "DM p (absolute error)", "DM p (squared error)",
                   "verdict", "direction %"):
        assert column in shown, f"the final table has no column {column!r}"
    for setup in ("LSTM on prices", "leak 1", "leak 2", "LSTM on returns", "leak 3", "start"):
        assert setup in shown
    claims = "\n".join(_claims(solution("08")))
    assert "✓ leak 3 makes every start of the LSTM on returns appear to beat persistence [3 of 3 starts" in claims
    assert "✓ with leak 1 every start of the LSTM on prices still loses to persistence by more than noise" in claims
    assert "paired bootstrap over" in claims  # the direction verdict prints its intervals
    text = "\n".join(markdown(solution("08")))
    assert "Newey–West" in text and "p-value" in text  # the test is named, with how it handles autocorrelation


def test_08_promises_no_follow_up_exercise():
    text = "\n".join(markdown(solution("08")))
    assert "follow-up" not in text and "follow up" not in text


def test_09_gives_no_target_that_was_never_set():
    text = "\n".join(markdown(solution("09")))
    assert "target was" not in text


# --- exercises do not show their answers ----------------------------------------------------------------------------


def test_02_check_cell_does_not_show_the_day1_formula():
    for cell in student("02").cells:
        if cell.cell_type == "code":
            assert "days - 1" not in cell.source, "the check cell gives Exercise 1's answer away"


def test_08_shows_no_reference_windows_before_the_check_passes():
    cells = student("08").cells
    exercise = next(i for i, c in enumerate(cells) if c.cell_type == "markdown" and "Exercise 1 ·" in c.source)
    check = next(i for i, c in enumerate(cells) if "check_make_windows(make_windows)" in c.source and i > exercise)
    for cell in cells[:check + 1]:
        if cell.cell_type == "code":
            calls = re.findall(r"(?<!def )\bmake_windows\(", cell.source)  # check_make_windows( does not match
            assert not calls, f"windows are cut before the check passes: {cell.source[:80]!r}"
    toy = next(c for c in cells[check + 1:] if "np.arange(8.0)" in c.source)
    assert "if passed:" in toy.source


def test_08_toy_windows_are_printed_after_the_check_in_thesolution():
    cells = solution("08").cells
    check = next(i for i, c in enumerate(cells) if "check_make_windows(make_windows)" in c.source)
    after = "".join(output_text(c) for c in cells[check + 1:check + 4])
    assert "X[3] = [3. 4. 5.]  ->  y[3] = [6. 7.]" in after


# --- notation of the deck; forget gate introduced where it is used ---------------------------------------------------


def test_02_text_writes_the_toy_weights_as_the_deck_does():
    for text in markdown(solution("02")):
        prose = re.sub(r"`[^`]*`", "", text)  # Python names in code spans may stay lower-case
        hit = re.search(r"\b[wW]_?\{?[123]\}?\b", prose)
        lower = [m.group(0) for m in re.finditer(r"\bw_?[123]\b", prose)]
        assert not lower, f"lower-case weight names in the text: {lower} in {text[:80]!r}"
        assert hit is None or hit.group(0)[0] == "W"


def test_02_introduces_the_forget_gate_before_it_uses_one():
    cells = solution("02").cells
    first_use = next(i for i, c in enumerate(cells) if c.cell_type == "code" and "forget_bias" in c.source)
    introduced = [i for i, c in enumerate(cells) if c.cell_type == "markdown" and r"f_t = \sigma" in c.source]
    assert introduced and introduced[0] < first_use


def test_day1_factor_reference():
    assert gradients.day1_factor(2.0, 4) == 8.0
    assert gradients.day1_factor(0.5, 1) == 1.0


# --- keys spelled as musicians do ---------------------------------------------------------------------------------


@pytest.mark.parametrize("sharps, name", [(-5, "D♭"), (-6, "G♭"), (-1, "F"), (0, "C"), (6, "F♯"), (7, "C♯")])
def test_key_name_spells_the_major_key(sharps, name):
    pytest.importorskip("music21")
    assert music.key_name(sharps) == name


def test_key_name_rejects_impossible_signatures():
    with pytest.raises(ValueError, match="between -7"):
        music.key_name(9)


def test_09_key_table_says_d_flat_for_five_flats():
    table = next(output_text(c) for c in solution("09").cells if "major key" in output_text(c))
    row = next(line for line in table.splitlines() if line.split()[:1] == ["-5"])
    assert row.split()[1] == "D♭"


# --- the 08/09 review: what the new sections say matches what they print --------------------------------------------


def _alt_texts(nb):
    return [str(o.get("data", {}).get("text/plain", "")) for cell in nb.cells if cell.cell_type == "code"
            for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]


def test_08_leak_1_prints_that_the_test_days_stay_above_the_training_range():
    """Fitting the scaler on all days brings the test days nearer the training range, not inside it."""
    nb = solution("08")
    shown = output_text(next(c for c in nb.cells if c.cell_type == "code" and "leaky_scaler = " in c.source))
    ranges = dict(re.findall(r"(training|test) closes scaled on all days: ([\d.]+) …", shown))
    tops = dict(re.findall(r"(training|test) closes scaled on all days: [\d.]+ … ([\d.]+)", shown))
    assert set(ranges) == {"training", "test"}, f"leak 1 prints no scaled ranges: {shown!r}"
    assert float(ranges["test"]) > float(tops["training"]), "the text says the test days stay above training's"
    text = " ".join(" ".join(markdown(nb)).split())
    assert "never meets an input or target outside" not in text
    assert "still lie above the training days' range" in text


def test_08_calls_the_linear_loss_borderline_and_gives_each_leak_its_honest_runs_budget():
    text = "\n".join(markdown(solution("08")))
    assert "involve no training" not in text, "the linear models are fitted by least squares"
    assert "borderline" in text and "by chance" in text
    assert "trains at most as many epochs as the same start of its honest" in text
    assert assignments("08")["EPOCHS"] == ["course.epochs(40)"]
    limits = [arg for args in call_arguments("08", "lstm.train") for arg in args if arg.startswith("epochs=")]
    assert limits.count("epochs=price_runs.epochs") == 2 and limits.count("epochs=return_runs.epochs") == 1


def test_09_text_states_only_what_it_prints():
    text = "\n".join(markdown(solution("09")))
    for stale in ("almost twice the time", "slightly better model", "in the same seconds", "far likelier than any",
                  "some of its tunes never end", "Temperature closes the gap", "name and correct",
                  "All tunes are in C major", "the advantage comes from what it remembers",
                  "best counting model, the 4"):
        assert stale not in text, f"09 still says {stale!r}"
    claims = "\n".join(_claims(solution("09")))
    assert "✓ the shipped LSTM predicts the validation tunes with an NLL per token more than 0.1 nats below" in claims
    assert "✓ cutting the shipped LSTM's context to 7 tokens raises its NLL per token" in claims
    assert "✓ with the same 7 tokens of context, the LSTM still predicts better than the 8-gram" in claims


def test_09_compares_composed_tunes_with_the_tunes_they_continue():
    """The statistics pair each composed tune with the real tune whose first notes seeded it, drawn from every
    collection, and every verdict about them carries a paired interval over tunes."""
    nb = solution("09")
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "val_idx[:120]" not in source and "choice(val_idx, size=N_JUDGED, replace=False)" in source
    assert 'tune_notes = {"real tunes": [in_c[i] for i in judged]}' in source
    stat_claims = [line for line in _claims(nb) if "T = 0.8" in line or "T = 1" in line or "-gram's range" in line]
    assert stat_claims and all("paired bootstrap over" in line for line in stat_claims), stat_claims


def test_09_figures_describe_what_they_show_and_the_piano_roll_cuts_no_tune():
    nb = solution("09")
    alts = _alt_texts(nb)
    assert not [a for a in alts if "Compare whether" in a or "Notice where" in a], "alt text must say what is shown"
    roll = next(a for a in alts if a.startswith("Three piano rolls"))
    assert len(re.findall(r"\d+ notes over \d+ quarters", roll)) == 3
    assert "every note of C major labelled" in roll and "dashed line where they end" in roll
    cell = next(c for c in nb.cells if c.cell_type == "code" and "music.plot_piano_roll(" in c.source)
    assert "max_quarters=max(quarters)" in cell.source, "the shared x-limit must fit the longest tune"
    assert "seed_notes=4" in cell.source
    audio = [c.source for c in nb.cells if c.cell_type == "code" and "music.audio_player(duet_notes[" in c.source]
    assert len(audio) == 2 and "ngram_tune" in audio[1], "an n-gram's tune must be heard beside the LSTM's"
