"""Tests of utils.music (notebook 09), its exercise checks, and the tool that makes its data (tools/music_data.py)."""

from __future__ import annotations

import math
import re
from fractions import Fraction

import numpy as np
import pytest

from tests.answers import as_student
from tools import music_data
from utils import ROOT, music
from utils.checks.music import check_sample_with_temperature, check_transpose
from utils.sampling import softmax

F = Fraction


# --- what lives where: the teaching package, the lesson's code, the maintainers' tool --------------------------------


def test_utils_music_keeps_only_what_notebooks_import():
    """The scripts that make the shipped data are a tool; names shared with other modules tell the two apart."""
    source = (ROOT / "utils" / "music.py").read_text(encoding="utf-8")
    for gone in ("main", "build_cache", "prepare", "train_shipped_model", "_append_readme", "sample_ngram",
                 "generate", "Vocabulary", "build_lstm", "MODEL"):
        assert not hasattr(music, gone), f"utils.music still defines {gone}"
    assert "argparse" not in source and "__main__" not in source
    assert callable(music_data.main) and callable(music_data.build_cache) and callable(music_data.train_shipped_model)


def test_notebook_09_writes_its_model_n_gram_and_composing_loop_in_sight():
    """The model 09 trains, the Kneser-Ney formula and the composing loop are visible cells saved to utils/music.py."""
    source = (ROOT / "notebooks" / "source" / "09_music_composition.py").read_text(encoding="utf-8")
    for name in ("build_melody_lstm", "kneser_ney_prob", "compose"):
        cell = re.search(rf"^# %%\n(# Saved in utils/music\.py: .*)\ndef {name}\(", source, flags=re.M)
        assert cell, f"notebook 09 has no visible cell 'Saved in utils/music.py' defining {name}"
    assert "the weights tool (tools/music_data.py) builds the same model" in source
    assert "music.build_melody_lstm(" not in source and "music.compose(" not in source  # it uses its own copies


# --- the tool: parsing on a small subset, training on a handful of tunes ---------------------------------------------


def test_parse_tool_on_a_subset(tmp_path, capsys):
    out = tmp_path / "few.json.gz"
    assert music_data.main(["parse", "--files", "kinder0", "--limit", "3", "--out", str(out), "--no-readme"]) == 0
    tunes = music.load_tunes(out)
    assert len(tunes) == 3
    first = tunes[0]
    assert first["essen_id"] == "K0001" and first["meter"] == "2/4" and first["key_sharps"] == -1
    # K: F, L: 1/8, "A2GG | F2z": A4 quarter, G4 eighth, G4 eighth, F4 quarter, eighth rest
    assert first["notes"][:5] == [(69, F(1)), (67, F(1, 2)), (67, F(1, 2)), (65, F(1)), (None, F(1, 2))]
    again = tmp_path / "again.json.gz"
    music_data.main(["parse", "--files", "kinder0", "--limit", "3", "--out", str(again), "--no-readme"])
    assert again.read_bytes() == out.read_bytes()  # same notes, same bytes, same sha256


def test_train_tool_on_a_few_tunes_saves_weights_the_notebook_model_loads(tmp_path):
    pytest.importorskip("keras")
    few = music_data.build_cache(("kinder0",), tmp_path / "few.json.gz", limit=12)
    tunes = music.load_tunes(few["path"])
    info = music_data.train_shipped_model(tmp_path / "w.weights.h5", epochs=1, tunes=tunes)
    assert info["epochs_run"] == 1 and info["path"].exists() and math.isfinite(info["val_nll"])
    model = music.build_melody_lstm(info["vocab"], compile=False)
    model.load_weights(info["path"])
    assert model.count_params() == info["params"]
    section = music_data.weights_section(info | {"seconds": 1.0})
    assert "Embedding(64) →\n  LSTM(256) → Dense(" in section and "python -m tools.music_data train" in section
    again = music_data.train_shipped_model(tmp_path / "annealed.weights.h5", epochs=1, tunes=tunes, resume=info["path"])
    assert again["resumed_sha256"] == info["sha256"] and again["resumed_val_nll"] == pytest.approx(info["val_nll"])
    section = music_data.weights_section(again)
    assert "--resume" in section and again["resumed_sha256"] in section
    with pytest.raises(ValueError, match="run `python -m tools.music_data train` first"):
        music_data.train_shipped_model(tmp_path / "x.weights.h5", epochs=1, tunes=tunes, resume=tmp_path / "none.h5")


def test_readme_section_is_replaced_in_place(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# Data\n\n## `a.csv` — A\n\nold text\n\n## `b.csv` — B\n\nkept\n")
    music_data.replace_readme_section("## `a.csv` — A\n\nnew text", "## `a.csv` — A", readme)
    text = readme.read_text()
    assert "old text" not in text and text.count("new text") == 1 and "## `b.csv` — B\n\nkept" in text


def _readme_section(text: str, heading: str) -> str:
    return re.search(rf"{re.escape(heading)}\n.*?(?=\n## |\Z)", text, re.S).group(0).strip()


def test_data_readme_sections_are_what_the_tool_writes():
    """data/README.md documents the cache and the weights in the very words the tool writes after a run."""
    readme = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    cache, weights = (_readme_section(readme, h) for h in (music_data.CACHE_HEADING, music_data.WEIGHTS_HEADING))

    def found(pattern, text, kind=int):
        return kind(re.search(pattern, text, re.S).group(1).replace(",", ""))

    cache_info = {"tunes": found(r"\*\*Rows:\*\* ([\d,]+) tunes", cache),
                  "notes": found(r"\(([\d,]+) notes and rests\)", cache),
                  "music21": found(r"inside music21 (\S+) on PyPI", cache, str),
                  "files": re.findall(r"`(\w+)\.abc`", cache), "sha256": found(r"sha256:\*\* `(\w+)`", cache, str)}
    assert tuple(cache_info["files"]) == music.GERMAN_FILES
    assert music_data.cache_section(cache_info) == cache
    weights_info = {"vocab": found(r"build_melody_lstm\((\d+)\)", weights),
                    "params": found(r"([\d,]+) parameters", weights),
                    "best_epoch": found(r"best epoch (\d+) of", weights), "epochs_run": found(r"of (\d+);", weights),
                    "seconds": found(r"(\d+) s on 2", weights), "val_nll": found(r"is ([\d.]+) nats", weights, float),
                    "sha256": found(r"sha256:\*\* `(\w+)`", weights, str)}
    if "--resume" in weights:  # the shipped weights continue an earlier run: the README names it by its NLL and hash
        weights_info |= {"resumed_val_nll": found(r"validation NLL ([\d.]+),", weights, float),
                         "resumed_sha256": found(r"validation NLL [\d.]+, sha256 `(\w+)`", weights, str)}
    assert music_data.weights_section(weights_info) == weights


def test_fast_parse_gives_the_same_notes_as_strip_ties():
    chunks = music.split_abc(music.corpus_path("erk5").read_text(encoding="latin-1"))
    tune = chunks[1]  # X:2 has ties ("d6-d4", "z2-z6")
    assert "X:2" in tune and "-" in tune
    fast, slow = music.parse_tune(tune, fast=True), music.parse_tune(tune, fast=False)
    assert fast == slow


def test_load_tunes_missing_file_names_the_fix(tmp_path):
    with pytest.raises(ValueError, match="python -m tools.music_data parse"):
        music.load_tunes(tmp_path / "nope.json.gz")


def test_corpus_path_unknown_file():
    with pytest.raises(ValueError, match="no Essen file"):
        music.corpus_path("not-a-file")


# --- keys, transposition, tokens -------------------------------------------------------------------------------------


def test_keys_and_shift_to_c():
    assert [music.key_tonic(s) for s in (0, 1, 2, -1, -2, -3)] == [0, 7, 2, 5, 10, 3]
    assert music.shift_to_c(1) == 5 and music.shift_to_c(-1) == -5 and music.shift_to_c(2) == -2
    for sharps in range(-7, 8):
        assert (music.key_tonic(sharps) + music.shift_to_c(sharps)) % 12 == 0
        assert -5 <= music.shift_to_c(sharps) <= 6
    with pytest.raises(ValueError, match="between -7"):
        music.key_tonic(9)


def test_transpose_keeps_rests_and_durations():
    notes = [(67, F(1, 2)), (None, F(1)), (72, F(3, 2))]
    assert music.transpose(notes, -7) == [(60, F(1, 2)), (None, F(1)), (65, F(3, 2))]


def test_tokens_round_trip():
    notes = [(60, F(1)), (61, F(1, 3)), (None, F(1, 2)), (47, F(3, 2)), (70, F(4))]
    tokens = music.tune_tokens(notes)
    assert tokens == ["<s>", "C4:1", "C#4:1/3", "rest:1/2", "B2:3/2", "Bb4:4", "</s>"]
    assert music.tokens_to_notes(tokens) == notes
    with pytest.raises(ValueError, match="not a note token"):
        music.token_to_note("H4:1")


def test_vocabulary_and_split():
    vocab = music.NoteVocabulary([["<s>", "C4:1", "D4:1", "C4:1", "</s>"]])
    assert vocab.tokens == ["<pad>", "</s>", "<s>", "C4:1", "D4:1"]
    assert vocab.decode(vocab.encode(["<s>", "D4:1"])) == ["<s>", "D4:1"]
    with pytest.raises(ValueError, match="not in the vocabulary"):
        vocab.encode(["E4:1"])
    train, val = music.split_by_tune(100, 0.1, seed=0)
    assert len(val) == 10 and len(train) == 90 and not set(train) & set(val)
    assert np.array_equal(np.sort(np.concatenate([train, val])), np.arange(100))


# --- n-gram baselines ------------------------------------------------------------------------------------------------


def test_kneser_ney_is_a_distribution_and_orders_help():
    rng = np.random.default_rng(0)
    vocab_size = 7  # ids 1 = </s>, 2 = <s>, 3..6 notes
    seqs = []
    for _ in range(60):  # a repeating pattern 3 4 5 6 3 4 5 6 ...: a trigram predicts it well
        start = int(rng.integers(4))
        seqs.append([2] + [3 + (start + i) % 4 for i in range(int(rng.integers(4, 12)))] + [1])
    models = {n: music.KneserNey(n, vocab_size).fit(seqs) for n in (1, 2, 3)}
    for model in models.values():
        for context in [(2, 2), (3, 4), (6, 6), (2, 5)]:
            total = sum(model.prob(context[-(model.order - 1):] if model.order > 1 else (), w)
                        for w in range(vocab_size))
            assert math.isclose(total, 1.0, rel_tol=1e-9)
            ctx = context[-(model.order - 1):] if model.order > 1 else ()
            np.testing.assert_allclose(model.distribution(ctx), [model.prob(ctx, w) for w in range(vocab_size)])
    nll = {n: m.nll(seqs) for n, m in models.items()}
    assert nll[3] < nll[2] < nll[1]
    with pytest.raises(ValueError, match="order"):
        music.KneserNey(0, 5)
    assert music.kneser_ney_prob(models[3], (3, 4), 5) == models[3].prob((3, 4), 5)
    with pytest.raises(ValueError, match="call .fit"):
        music.kneser_ney_prob(music.KneserNey(2, 5), (1,), 2)


def test_compose_drives_an_n_gram_with_the_context_it_was_fitted_on():
    """The trigram learned the cycle C D E F: composing from <s> C D at a low temperature continues it."""
    vocab = music.NoteVocabulary([["<s>", "C4:1", "D4:1", "E4:1", "F4:1", "</s>"]])
    cycle = [vocab.index[t] for t in ("C4:1", "D4:1", "E4:1", "F4:1")]
    bos, eos = vocab.index["<s>"], vocab.index["</s>"]
    tunes = [[bos] + [cycle[(start + i) % 4] for i in range(12)] + [eos] for start in range(4)]
    trigram = music.KneserNey(3, len(vocab)).fit(tunes)
    logits, context = trigram.step(bos, trigram.start())
    assert context == (bos, bos)  # the start marker pads the context, as fit pads every tune
    np.testing.assert_allclose(np.exp(logits), trigram.distribution((bos, bos)))
    tune = music.compose(trigram, vocab, ["<s>", "C4:1", "D4:1"], 0.05, np.random.default_rng(0),
                         music.sample_with_temperature, max_notes=8)
    assert tune == ["<s>"] + ["C4:1", "D4:1", "E4:1", "F4:1"] * 2 + ["C4:1", "D4:1"]


# --- sampling, generation, statistics --------------------------------------------------------------------------------


def test_sample_with_temperature_matches_softmax():
    rng = np.random.default_rng(0)
    logits = np.array([1.0, 0.0, -1.0])
    draws = [music.sample_with_temperature(logits, 0.5, rng) for _ in range(4000)]
    freq = np.bincount(draws, minlength=3) / len(draws)
    assert np.abs(freq - softmax(logits, 0.5)).max() < 0.03
    with pytest.raises(ValueError, match="temperature must be > 0"):
        music.sample_with_temperature(logits, 0.0, rng)


def test_numpy_stepper_matches_keras_with_the_one_lstm_step_and_composing_stops_at_end_marker(monkeypatch):
    pytest.importorskip("keras")
    from utils import lstm

    vocab = music.NoteVocabulary([["<s>", "C4:1", "D4:1", "</s>"]])
    model = music.build_melody_lstm(len(vocab), embed_dim=4, units=6)
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 0.5, w.shape) for w in model.get_weights()])
    seq = vocab.encode(["<s>", "C4:1", "D4:1", "C4:1"])
    expected = np.asarray(model(music.pad_batch([seq]), training=False))[0]
    calls, real_step = [], lstm.lstm_cell_step
    monkeypatch.setattr(lstm, "lstm_cell_step", lambda *args: calls.append(1) or real_step(*args))  # a spy
    stepper = music.LSTMStepper(model)
    state = stepper.start()
    # the weights in the memories' float64, converted once: float32 ones would be converted at every step
    weights = (stepper.embedding, stepper.W, stepper.U, stepper.b, stepper.dense_w)
    assert {w.dtype for w in weights} == {np.dtype("float64")}
    for t, token in enumerate(seq):
        logits, state = stepper.step(token, state)
        np.testing.assert_allclose(logits, expected[t], atol=1e-5)
    assert len(calls) == len(seq), "LSTMStepper must step with utils.lstm.lstm_cell_step (notebook 04's cell)"
    dense = model.get_layer("logits")
    bias = np.full(len(vocab), -30.0)
    bias[vocab.index["</s>"]] = 30.0  # the model always wants to end
    dense.set_weights([np.zeros_like(dense.get_weights()[0]), bias])
    stepper, rng = music.LSTMStepper(model), np.random.default_rng(0)
    tunes = [music.compose(stepper, vocab, seed, 1.0, rng, music.sample_with_temperature, max_notes=10)
             for seed in (["<s>"], ["<s>", "D4:1"])]
    assert tunes == [["<s>", "</s>"], ["<s>", "D4:1", "</s>"]]
    with pytest.raises(ValueError, match="LSTMStepper"):
        music.compose(model, vocab, ["<s>"], 1.0, rng, music.sample_with_temperature)


def test_statistics_of_a_known_tune():
    tune = [(60, F(1)), (62, F(1)), (None, F(1)), (66, F(2)), (69, F(1))]  # F#4 is out of C major; ends on A
    stats = music.tune_statistics([tune])
    assert stats["share of notes in key (%)"] == 75.0 and stats["range (semitones)"] == 9.0
    assert stats["share ending on C or A (%)"] == 100.0 and stats["notes per tune"] == 5
    assert stats["last note (quarters)"] == 1.0  # the closing A4's length
    assert music.tune_statistics([tune + [(None, F(2))]])["last note (quarters)"] == 1.0  # a closing rest is skipped
    hist = music.pitch_class_histogram([tune])
    assert hist[6] == pytest.approx(2 / 5) and hist.sum() == pytest.approx(1.0)
    assert music.histogram_distance(hist, hist) == 0.0
    assert music.histogram_distance(np.eye(12)[0], np.eye(12)[1]) == 1.0
    with pytest.raises(ValueError, match="no notes"):
        music.pitch_class_histogram([[(None, F(1))]])


# --- MIDI, audio -----------------------------------------------------------------------------------------------------


def test_midi_written_and_read_back_with_the_same_notes(tmp_path):
    notes = [(67, F(1, 2)), (69, F(1, 2)), (None, F(1)), (71, F(1, 3)), (72, F(1, 3)), (74, F(1, 3)), (72, F(3, 2))]
    path = music.notes_to_midi(notes, tmp_path / "tune.mid", bpm=100)
    assert path.exists()
    assert music.midi_to_notes(path, bpm=100) == notes


def test_synthesize_is_short_and_bounded():
    notes = [(60, F(1)), (None, F(1)), (64, F(2))] * 10
    samples = music.synthesize(notes, bpm=120, rate=8000, max_seconds=3.0)
    assert len(samples) == 3 * 8000 + 1 and np.abs(samples).max() <= 0.8 + 1e-9
    player = music.audio_player(notes[:3], bpm=120)
    assert player.data[:4] == b"RIFF"


def test_lstm_nll_of_a_uniform_model_is_log_vocab():
    keras = pytest.importorskip("keras")
    model = music.build_melody_lstm(9, embed_dim=4, units=8)
    dense = model.get_layer("logits")
    dense.set_weights([np.zeros_like(w) for w in dense.get_weights()])
    seqs = [[2, 3, 4, 5, 1], [2, 6, 1], [2, 7, 8, 3, 4, 5, 6, 1]]
    assert music.lstm_nll(model, seqs) == pytest.approx(math.log(9), rel=1e-5)
    assert keras.backend.backend() == "tensorflow"


# --- the exercise checks, both ways ----------------------------------------------------------------------------------


@pytest.mark.parametrize("check, reference", [(check_transpose, music.transpose),
                                              (check_sample_with_temperature, music.sample_with_temperature)])
def test_checks_accept_the_reference(check, reference, capsys):
    assert check(as_student(reference))
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("check", [check_transpose, check_sample_with_temperature])
def test_checks_say_not_done_for_a_stub(check, capsys):
    def stub(*args):
        raise NotImplementedError

    assert not check(stub)
    assert "not done yet" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, hint", [
    (lambda notes, k: [(p + k, d) for p, d in notes], "leave it as it is"),
    (lambda notes, k: [(None if p is None else p - k, d) for p, d in notes], "the wrong way"),
    (lambda notes, k: [(None if p is None else (p + k) % 12, d) for p, d in notes], "octave"),
    (lambda notes, k: [(None if p is None else p + k, d * 2) for p, d in notes], "never durations"),
    (lambda notes, k: [(p + k, d) for p, d in notes if p is not None], "keep the rest"),
    (lambda notes, k: None, "return the new list"),
])
def test_check_transpose_rejects_mistakes(wrong, hint, capsys):
    assert not check_transpose(wrong)
    out = capsys.readouterr().out
    assert hint in out and "❌" in out


def test_check_transpose_names_doubled_durations_also_for_a_shift_of_0(capsys):
    assert not check_transpose(lambda notes, k: [(None if p is None else p + k, d * 2) for p, d in notes])
    out = capsys.readouterr().out
    assert out.count("durations changed") == len((5, -7, 0, 12)), out
    assert "wrong way" not in out and "expected 67, got 67" not in out, out


def test_check_transpose_rejects_a_generator_the_later_cells_cannot_reread(capsys):
    assert not check_transpose(lambda notes, k: ((None if p is None else p + k, d) for p, d in notes))
    out = capsys.readouterr().out
    assert "return a list of (pitch, duration) pairs — got a generator" in out and "square brackets" in out, out


def test_check_transpose_rejects_in_place_edit(capsys):
    def in_place(notes, k):
        for i, (p, d) in enumerate(notes):
            notes[i] = (None if p is None else p + k, d)
        return notes

    assert not check_transpose(in_place)
    assert "new list" in capsys.readouterr().out


def _softmax_sampler(transform, stable=True):
    def sampler(logits, temperature, rng):
        z = transform(np.asarray(logits, dtype=float), temperature)
        with np.errstate(all="ignore"):  # the unstable version overflows on purpose
            e = np.exp(z - z.max()) if stable else np.exp(z)
            return int(rng.choice(len(z), p=e / e.sum()))

    return sampler


@pytest.mark.parametrize("wrong, hint", [
    (_softmax_sampler(lambda z, t: z), "temperature is ignored"),
    (_softmax_sampler(lambda z, t: z * t), "multiplied by T"),
    (lambda logits, t, rng: int(np.argmax(logits)), "argmax"),
    (lambda logits, t, rng: int(rng.integers(len(logits))), "equally likely"),
    (lambda logits, t, rng: int(rng.choice(len(logits), p=np.asarray(logits) / t)), "softmax"),
    (_softmax_sampler(lambda z, t: z / t, stable=False), "overflows"),
    (lambda logits, t, rng: softmax(logits, t), "return one index"),
])
def test_check_sampling_rejects_mistakes(wrong, hint, capsys):
    assert not check_sample_with_temperature(wrong)
    out = capsys.readouterr().out
    assert hint in out and "❌" in out


def _global_sampler(logits, temperature, rng):
    """Right probabilities, but drawn from NumPy's global generator instead of ``rng``."""
    return int(np.random.choice(len(logits), p=softmax(logits, temperature)))


def _fresh_sampler(logits, temperature, rng):
    """Right probabilities, but drawn from a new, unseeded generator at every call."""
    return int(np.random.default_rng().choice(len(logits), p=softmax(logits, temperature)))


@pytest.mark.parametrize("sampler", [_global_sampler, _fresh_sampler])
def test_check_sampling_rejects_a_sampler_that_ignores_its_rng(sampler, capsys):
    assert not check_sample_with_temperature(sampler)
    out = capsys.readouterr().out
    assert "do not come from the `rng` you are given" in out and "rng.choice(len(probs), p=probs)" in out, out
