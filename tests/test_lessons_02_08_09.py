"""Notebooks 02, 08 and 09 say only what their outputs show, hide exercise answers, and use the deck's notation."""

from __future__ import annotations

import re

import nbformat
import pytest

from tools.build_notebooks import NOTEBOOKS, SOLUTIONS, is_checked
from utils import gradients, music

NAMES = {"02": "02_vanishing_exploding_gradients", "08": "08_stock_forecasting", "09": "09_music_composition"}


def _student(number):
    return nbformat.read(NOTEBOOKS / f"{NAMES[number]}.ipynb", as_version=4)


def _solution(number):
    return nbformat.read(SOLUTIONS / f"{NAMES[number]}.ipynb", as_version=4)


def _outputs(cell):
    return "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) for o in cell.get("outputs", []))


def _markdown(nb):
    return [cell.source for cell in nb.cells if cell.cell_type == "markdown"]


def _claims(nb):
    """Every line that ``course.claim`` printed in a compared cell (a "✓ …" or "✗ not in this run: …" line)."""
    lines = []
    for cell in nb.cells:
        if cell.cell_type == "code" and is_checked(cell):
            lines += [line for line in _outputs(cell).splitlines() if line.startswith(("✓ ", "✗ "))]
    return lines


# --- every result the prose states is a printed, compared verdict ---------------------------------------------------


@pytest.mark.parametrize("number, at_least", [("02", 15), ("08", 15), ("09", 8)])
def test_result_claims_are_printed_in_compared_cells_and_hold(number, at_least):
    claims = _claims(_solution(number))
    assert len(claims) >= at_least, f"notebook {number}: only {len(claims)} claims printed by course.claim"
    failing = [line for line in claims if not line.startswith("✓ ")]
    assert not failing, f"notebook {number}: claims that do not hold in the stored run: {failing}"


def test_02_memory_demo_claims_cover_the_lesson():
    claims = "\n".join(_claims(_solution("02")))
    assert "the LSTM with forget bias 5 remembers across 10, 30 and 60 steps" in claims
    assert "the SimpleRNN is at chance at gap 30" in claims


def test_02_memory_models_train_with_clipping_and_the_best_epoch_restored():
    source = next(c.source for c in _solution("02").cells if "def train_on_gap" in c.source)
    assert "clipnorm=CLIP_NORM" in source and "restore_best_weights=True" in source
    assert "validation_data=validation_sets[gap]" in source


def test_08_says_the_lstm_on_returns_ties_persistence_by_noise():
    text = "\n".join(_markdown(_solution("08")))
    assert "nothing beats" not in text.lower()
    assert "Diebold–Mariano" in text
    claims = "\n".join(_claims(_solution("08")))
    assert "✓ no model beats persistence on the MSFT test days by more than noise" in claims
    assert "✓ the LSTM on returns and persistence differ by noise only" in claims


def test_08_leak_table_scores_every_setup_against_persistence_on_its_own_days():
    """Dollar errors on different test days mislead: each leak is a ratio to persistence on the same days, with a
    paired test, and one leak makes the LSTM appear to beat persistence while the honest run does not."""
    cells = _solution("08").cells
    table = next(c for c in cells if c.cell_type == "code" and "setups = {" in c.source)
    assert '"leak 2: shuffled split": (shuffled_actual, shuffled_pred, shuffled_today)' in table.source
    shown = _outputs(table)
    for column in ("persistence MAE ($)", "MAE ratio", "RMSE ratio", "DM p (absolute error)", "DM p (squared error)",
                   "verdict"):
        assert column in shown, f"the leak table has no column {column!r}"
    for setup in ("honest: LSTM on prices", "leak 1", "leak 2", "honest: LSTM on returns", "leak 3"):
        assert setup in shown
    claims = "\n".join(_claims(_solution("08")))
    assert "✓ leak 3 makes the LSTM appear to beat persistence" in claims
    assert "✓ the honest LSTM on returns shows no clear difference from persistence" in claims
    assert "✓ with leaks 1 and 2 the LSTM on prices still loses to persistence, by more than noise" in claims
    text = "\n".join(_markdown(_solution("08")))
    assert "Newey–West" in text and "p-value" in text  # the test is named, with how it handles autocorrelation


def test_08_promises_no_follow_up_exercise():
    text = "\n".join(_markdown(_solution("08")))
    assert "follow-up" not in text and "follow up" not in text


def test_09_gives_no_target_that_was_never_set():
    text = "\n".join(_markdown(_solution("09")))
    assert "target was" not in text


# --- exercises do not show their answers ----------------------------------------------------------------------------


def test_02_check_cell_does_not_show_the_day1_formula():
    for cell in _student("02").cells:
        if cell.cell_type == "code":
            assert "days - 1" not in cell.source, "the check cell gives Exercise 1's answer away"


def test_08_shows_no_reference_windows_before_the_check_passes():
    cells = _student("08").cells
    exercise = next(i for i, c in enumerate(cells) if c.cell_type == "markdown" and "Exercise 1 ·" in c.source)
    check = next(i for i, c in enumerate(cells) if "check_make_windows(make_windows)" in c.source and i > exercise)
    for cell in cells[:check + 1]:
        if cell.cell_type == "code":
            calls = re.findall(r"(?<!def )\bmake_windows\(", cell.source)  # check_make_windows( does not match
            assert not calls, f"windows are cut before the check passes: {cell.source[:80]!r}"
    toy = next(c for c in cells[check + 1:] if "np.arange(8.0)" in c.source)
    assert "if passed:" in toy.source


def test_08_toy_windows_are_printed_after_the_check_in_the_solution():
    cells = _solution("08").cells
    check = next(i for i, c in enumerate(cells) if "check_make_windows(make_windows)" in c.source)
    after = "".join(_outputs(c) for c in cells[check + 1:check + 4])
    assert "X[3] = [3. 4. 5.]  ->  y[3] = [6. 7.]" in after


# --- notation of the deck; forget gate introduced where it is used ---------------------------------------------------


def test_02_text_writes_the_toy_weights_as_the_deck_does():
    for text in _markdown(_solution("02")):
        prose = re.sub(r"`[^`]*`", "", text)  # Python names in code spans may stay lower-case
        hit = re.search(r"\b[wW]_?\{?[123]\}?\b", prose)
        lower = [m.group(0) for m in re.finditer(r"\bw_?[123]\b", prose)]
        assert not lower, f"lower-case weight names in the text: {lower} in {text[:80]!r}"
        assert hit is None or hit.group(0)[0] == "W"


def test_02_introduces_the_forget_gate_before_it_uses_one():
    cells = _solution("02").cells
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
    table = next(_outputs(c) for c in _solution("09").cells if "major key" in _outputs(c))
    row = next(line for line in table.splitlines() if line.split()[:1] == ["-5"])
    assert row.split()[1] == "D♭"


# --- the 08/09 review: what the new sections say matches what they print --------------------------------------------


def _alt_texts(nb):
    return [str(o.get("data", {}).get("text/plain", "")) for cell in nb.cells if cell.cell_type == "code"
            for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]


def test_08_leak_1_prints_that_the_test_days_stay_above_the_training_range():
    """Fitting the scaler on all days brings the test days nearer the training range, not inside it."""
    nb = _solution("08")
    shown = _outputs(next(c for c in nb.cells if c.cell_type == "code" and "leaky_scaler = " in c.source))
    ranges = dict(re.findall(r"(training|test) closes scaled on all days: ([\d.]+) …", shown))
    tops = dict(re.findall(r"(training|test) closes scaled on all days: [\d.]+ … ([\d.]+)", shown))
    assert set(ranges) == {"training", "test"}, f"leak 1 prints no scaled ranges: {shown!r}"
    assert float(ranges["test"]) > float(tops["training"]), "the text says the test days stay above training's"
    text = "\n".join(_markdown(nb))
    assert "never meets an input or target outside" not in text
    assert "still lie above the training days' range" in text


def test_08_calls_the_linear_loss_borderline_and_states_the_leak_runs_budget():
    text = "\n".join(_markdown(_solution("08")))
    assert "involve no training" not in text, "the linear models are fitted by least squares"
    assert "borderline" in text and "ten p-values" in text
    assert "at most 12 epochs, where the honest runs had up to 40" in text
    source = "\n".join(c.source for c in _solution("08").cells if c.cell_type == "code")
    assert "PITFALL_EPOCHS = course.epochs(12)" in source and "EPOCHS = course.epochs(40)" in source


def test_09_text_states_only_what_it_prints():
    text = "\n".join(_markdown(_solution("09")))
    for stale in ("almost twice the time", "slightly better model", "in the same seconds", "far likelier than any",
                  "some of its tunes never end", "Temperature closes the gap", "name and correct",
                  "All tunes are in C major", "the advantage comes from what it remembers", "best counting model, the 4"):
        assert stale not in text, f"09 still says {stale!r}"
    claims = "\n".join(_claims(_solution("09")))
    assert "✓ the shipped LSTM predicts the validation tunes with an NLL per token more than 0.1 nats below" in claims
    assert "✓ cutting the shipped LSTM's context to 7 tokens raises its NLL per token" in claims
    assert "✓ with the same 7 tokens of context, the LSTM still predicts better than the 8-gram" in claims


def test_09_compares_composed_tunes_with_the_tunes_they_continue():
    """The statistics pair each composed tune with the real tune whose first notes seeded it, drawn from every
    collection, and every verdict about them carries a paired interval over tunes."""
    nb = _solution("09")
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "val_idx[:120]" not in source and "choice(val_idx, size=N_JUDGED, replace=False)" in source
    assert 'tune_notes = {"real tunes": [in_c[i] for i in judged]}' in source
    stat_claims = [line for line in _claims(nb) if "T = 0.8" in line or "T = 1" in line or "-gram's range" in line]
    assert stat_claims and all("paired bootstrap over" in line for line in stat_claims), stat_claims


def test_09_figures_describe_what_they_show_and_the_piano_roll_cuts_no_tune():
    nb = _solution("09")
    alts = _alt_texts(nb)
    assert not [a for a in alts if "Compare whether" in a or "Notice where" in a], "alt text must say what is shown"
    roll = next(a for a in alts if a.startswith("Three piano rolls"))
    assert len(re.findall(r"\d+ notes over \d+ quarters", roll)) == 3
    assert "every note of C major labelled" in roll and "dashed line where they end" in roll
    cell = next(c for c in nb.cells if c.cell_type == "code" and "music.plot_piano_roll(" in c.source)
    assert "max_quarters=max(quarters)" in cell.source, "the shared x-limit must fit the longest tune"
    assert "seed_notes=4" in cell.source
    audio = [c for c in nb.cells if c.cell_type == "code" and "music.audio_player(notes" in c.source]
    assert audio and "duet_notes.items()" in audio[0].source, "an n-gram's tune must be heard beside the LSTM's"
