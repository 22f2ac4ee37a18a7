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
from utils.checks import music as checks
from utils.checks.music import (
    check_build_melody_lstm,
    check_generation_loop,
    check_longest_shared_runs,
    check_train_melody_lstm,
    check_transpose,
)

F = Fraction
SOURCE = ROOT / "notebooks" / "source" / "09_music_composition.py"


@pytest.fixture(autouse=True)
def _fresh_session():
    """Each test starts as a new kernel would: no earlier failing tries (which would show the worked steps)."""
    from utils import checks as framework

    framework.reset()
    yield
    framework.reset()


# --- what lives where: the teaching package, the lesson's code, the maintainers' tool --------------------------------


def test_utils_music_keeps_only_what_notebooks_import():
    """The scripts that make the shipped data are a tool; names shared with other modules tell the two apart."""
    source = (ROOT / "utils" / "music.py").read_text(encoding="utf-8")
    for gone in ("main", "build_cache", "prepare", "train_shipped_model", "measure_homework_plan", "sample_ngram",
                 "generate", "Vocabulary", "build_lstm", "MODEL"):
        assert not hasattr(music, gone), f"utils.music still defines {gone}"
    assert "argparse" not in source and "__main__" not in source
    assert callable(music_data.main) and callable(music_data.build_cache) and callable(music_data.train_shipped_model)


def test_notebook_09_has_the_lesson_in_sight_and_the_homework_as_exercises():
    """Kneser–Ney's formula is a visible saved cell; the model, its training, the loop and the runs are exercises."""
    source = SOURCE.read_text(encoding="utf-8")
    cell = re.search(r"^# %%\n(# Saved in utils/music\.py: .*)\ndef kneser_ney_prob\(", source, flags=re.M)
    assert cell, "notebook 09 has no visible cell 'Saved in utils/music.py' defining kneser_ney_prob"
    for name in ("transpose", "build_melody_lstm", "train_melody_lstm", "sample_with_temperature", "compose",
                 "longest_shared_runs"):
        block = re.search(rf"^def {name}\(.*?\n    ### BEGIN SOLUTION\n.*?### END SOLUTION", source, flags=re.M | re.S)
        assert block, f"{name} is not an exercise with a solution block"
    for reference in ("music.build_melody_lstm(len(vocab), compile=False)", ):
        assert reference in source  # the shipped model is built by the reference, named as such
    assert "music.compose(" not in source and "music.train_melody_lstm(" not in source


def test_homework_run_differs_only_in_the_instructor_version_and_says_so():
    from tools.build_notebooks import build, sources

    source = next(s for s in sources() if s.name.startswith("09"))
    student, solution = build(source, sources())
    run = [c.source for c in student.cells if "my_lstm = build_melody_lstm" in c.source]
    assert run and "shipped_lstm, fit_ids[:640]" not in run[0] and "start, train_part = 10, 32, None" in run[0]
    solved = next(c.source for c in solution.cells if "my_lstm = build_melody_lstm" in c.source)
    assert "shipped_lstm, fit_ids[:640]" in solved and "INSTRUCTOR" not in solved
    text = SOURCE.read_text(encoding="utf-8")
    assert "instructor's version" in text and "pre-trained start" in text


def test_the_homework_plan_in_the_notebook_is_the_one_the_tool_measures():
    source = SOURCE.read_text(encoding="utf-8")
    plan = dict(music.HOMEWORK_PLAN)
    line = re.search(r'^plan = \{"embed_dim": (\d+), "units": (\d+), "learning_rate": ([\d.]+)\}', source, re.M)
    assert line and (int(line[1]), int(line[2]), float(line[3])) == (plan["embed_dim"], plan["units"],
                                                                      plan["learning_rate"])
    assert f"epochs, batch_size, start, train_part = {plan['epochs']}, {plan['batch_size']}, None" in source


def test_the_notebook_scans_the_n_gram_orders_the_target_check_scans():
    assert f"MAX_ORDER = {checks.TARGET_MAX_ORDER}\n" in SOURCE.read_text(encoding="utf-8")


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


@pytest.fixture(scope="module")
def few_tunes(tmp_path_factory):
    pytest.importorskip("music21")
    path = tmp_path_factory.mktemp("few") / "few.json.gz"
    return music.load_tunes(music_data.build_cache(("kinder0",), path, limit=24)["path"])


def test_train_tool_on_a_few_tunes_saves_weights_the_notebook_model_loads(tmp_path, few_tunes):
    pytest.importorskip("keras")
    info = music_data.train_shipped_model(tmp_path / "w.weights.h5", epochs=1, tunes=few_tunes)
    assert info["epochs_run"] == 1 and info["path"].exists() and math.isfinite(info["val_nll"])
    model = music.build_melody_lstm(info["vocab"], compile=False)
    model.load_weights(info["path"])
    assert model.count_params() == info["params"]
    section = music_data.weights_section(info | {"seconds": 1.0})
    assert "Embedding(64) →\n  LSTM(256) → Dense(" in section and "python -m tools.music_data train" in section
    again = music_data.train_shipped_model(tmp_path / "annealed.weights.h5", epochs=1, tunes=few_tunes,
                                           resume=info["path"])
    assert again["resumed_sha256"] == info["sha256"] and again["resumed_val_nll"] == pytest.approx(info["val_nll"])
    section = music_data.weights_section(again)
    assert "--resume" in section and again["resumed_sha256"] in section
    with pytest.raises(ValueError, match="run `python -m tools.music_data train` first"):
        music_data.train_shipped_model(tmp_path / "x.weights.h5", epochs=1, tunes=few_tunes,
                                       resume=tmp_path / "none.h5")


def test_homework_tool_on_a_few_tunes_writes_the_table_the_notebook_reads(tmp_path, few_tunes):
    pytest.importorskip("keras")
    info = music_data.measure_homework_plan(tmp_path / "runs.csv", starts=2, epochs=1, tunes=few_tunes)
    table = music.homework_runs(info["path"])
    assert list(table.columns) == ["start", "epoch", "seconds", "CPU seconds", "validation NLL", "hold-out NLL"]
    assert table["start"].tolist() == [0, 1] and table["epoch"].tolist() == [1, 1]
    assert np.isfinite(table["validation NLL"]).all()
    assert "python -m tools.music_data homework" in music_data.homework_section(info)
    with pytest.raises(ValueError, match="tools.music_data homework"):
        music.homework_runs(tmp_path / "missing.csv")


def test_readme_section_is_replaced_in_place(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# Data\n\n## `a.csv` — A\n\nold text\n\n## `b.csv` — B\n\nkept\n")
    music_data.replace_readme_section("## `a.csv` — A\n\nnew text", "## `a.csv` — A", readme)
    text = readme.read_text()
    assert "old text" not in text and text.count("new text") == 1 and "## `b.csv` — B\n\nkept" in text


def _readme_section(text: str, heading: str) -> str:
    return re.search(rf"{re.escape(heading)}\n.*?(?=\n## |\Z)", text, re.S).group(0).strip()


def test_data_readme_sections_are_what_the_tool_writes():
    """data/README.md documents the cache, the weights and the homework runs in the words the tool writes."""
    readme = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    cache, weights, homework = (_readme_section(readme, h) for h in (
        music_data.CACHE_HEADING, music_data.WEIGHTS_HEADING, music_data.HOMEWORK_HEADING))

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
    homework_info = {"starts": found(r"after each epoch of (\d+) runs", homework),
                     "epochs": found(r"batches of \d+, (\d+) epochs", homework),
                     "rows": found(r"(\d+) rows\.", homework), "load": found(r"load average ([\d.]+)", homework, float),
                     "sha256": found(r"sha256:\*\* `(\w+)`", homework, str)}
    assert music_data.homework_section(homework_info) == homework
    table = music.homework_runs()
    assert len(table) == homework_info["rows"] and table["start"].nunique() == homework_info["starts"]


def test_shipped_files_match_their_recorded_checksums():
    import hashlib

    readme = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    for heading, path in ((music_data.HOMEWORK_HEADING, music.HOMEWORK_RUNS), (music_data.CACHE_HEADING, music.CACHE)):
        recorded = re.search(r"sha256:\*\* `(\w+)`", _readme_section(readme, heading)).group(1)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == recorded, path.name


def test_fast_parse_gives_the_same_notes_as_strip_ties():
    pytest.importorskip("music21")
    chunks = music.split_abc(music.corpus_path("erk5").read_text(encoding="latin-1"))
    tune = chunks[1]  # X:2 has ties ("d6-d4", "z2-z6")
    assert "X:2" in tune and "-" in tune
    fast, slow = music.parse_tune(tune, fast=True), music.parse_tune(tune, fast=False)
    assert fast == slow


def test_load_tunes_missing_file_names_the_fix(tmp_path):
    with pytest.raises(ValueError, match="python -m tools.music_data parse"):
        music.load_tunes(tmp_path / "nope.json.gz")


def test_corpus_path_unknown_file():
    pytest.importorskip("music21")
    with pytest.raises(ValueError, match="no Essen file"):
        music.corpus_path("not-a-file")


# --- keys, transposition, tokens, families, the split, the vocabulary ------------------------------------------------


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
    assert music.tokens_to_notes(["<s>", "C4:1", "<unk>", "</s>"]) == [(60, F(1))]  # <unk> has no note to play
    with pytest.raises(ValueError, match="not a note token"):
        music.token_to_note("H4:1")


def test_vocabulary_comes_from_the_tunes_it_is_given_and_rare_or_new_tokens_become_unk():
    vocab = music.NoteVocabulary([["<s>", "C4:1", "D4:1", "C4:1", "E4:1", "</s>"], ["<s>", "D4:1", "C4:1", "</s>"]])
    assert vocab.tokens == ["<pad>", "<s>", "</s>", "<unk>", "C4:1", "D4:1"]  # E4:1 was seen once: <unk>
    unk = vocab.index["<unk>"]
    assert vocab.encode(["<s>", "E4:1", "G4:1", "D4:1"]) == [1, unk, unk, 5]
    assert vocab.decode(vocab.encode(["<s>", "D4:1"])) == ["<s>", "D4:1"]
    assert len(music.NoteVocabulary([["<s>", "E4:1", "</s>"]], min_count=1)) == 5
    with pytest.raises(ValueError, match="list of token strings"):
        vocab.encode("C4:1")


def test_song_families_join_variants_and_copies_and_the_split_keeps_them_on_one_side():
    def tune(essen_id, pitches, sharps=0):
        return {"essen_id": essen_id, "key_sharps": sharps, "notes": [(p, F(1)) for p in pitches]}

    tunes = [tune("A0220A", [60, 62]), tune("A0220B", [64, 65]), tune("E0061", [67, 69]),
             tune("Q0024G", [69, 71], sharps=2), tune("K0001", [60, 60])]  # Q0024G in D = E0061's notes in C
    families = music.song_families(tunes)
    assert families[0] == families[1] and families[2] == families[3]
    assert len({families[0], families[2], families[4]}) == 3
    many = np.repeat(np.arange(40), 3)  # 40 families of 3 tunes
    train, val = music.split_by_tune(len(many), 0.1, seed=0, families=many)
    assert not set(many[train]) & set(many[val]) and len(val) == 12
    assert np.array_equal(np.sort(np.concatenate([train, val])), np.arange(len(many)))
    with pytest.raises(ValueError, match="one number per tune"):
        music.split_by_tune(10, 0.1, families=[0, 1])


def test_split_without_families_holds_out_whole_tunes():
    train, val = music.split_by_tune(100, 0.1, seed=0)
    assert len(val) == 10 and len(train) == 90 and not set(train) & set(val)


def test_prepare_corpus_builds_the_vocabulary_from_the_training_tunes_only(few_tunes):
    corpus = music.prepare_corpus(few_tunes)
    fit, hold, val = corpus["fit"], corpus["hold"], corpus["val"]
    assert not set(fit) & set(hold) and not set(fit) & set(val) and not set(hold) & set(val)
    assert sorted([*fit, *hold, *val]) == list(range(len(few_tunes)))
    kept = {t for t, n in music.NoteVocabulary([corpus["tokens"][i] for i in fit]).counts.items() if n >= 2}
    assert set(corpus["vocab"].tokens[4:]) == kept - {"<s>", "</s>"}


# --- n-gram baselines ------------------------------------------------------------------------------------------------


def test_kneser_ney_by_hand_on_a_tiny_corpus():
    """A bigram on two tunes, worked by hand: <s> a b </s> and <s> a a </s> (ids 1 = <s>, 2 = </s>, 3 = a, 4 = b)."""
    model = music.KneserNey(2, 5).fit([[1, 3, 4, 2], [1, 3, 3, 2]])
    # continuation counts: a follows <s> and a (2 contexts), b follows a, </s> follows b and a: 5 in all
    # the unigram *model* counts tokens: a 3 times, b once, </s> twice (6 in all), mixed with 1/5
    assert model.with_order(1).prob((), 3) == pytest.approx((3 - 0.75 + 0.75 * 3 * (1 / 5)) / 6)
    # inside the bigram, the shorter level counts contexts: b follows only a, so its continuation share is
    p_b = (1 - 0.75 + 0.75 * 3 * (1 / 5)) / 5
    # after a: seen a b (1), a a (1), a </s> (1): c(a) = 3, three followers
    assert model.prob((3,), 4) == pytest.approx((1 - 0.75 + 0.75 * 3 * p_b) / 3)


def test_kneser_ney_is_a_distribution_orders_help_and_lower_orders_come_from_one_fit():
    rng = np.random.default_rng(0)
    vocab_size = 7  # ids 1 = </s>, 2 = <s>, 3..6 notes
    seqs = []
    for _ in range(60):  # a repeating pattern 3 4 5 6 3 4 5 6 ...: a trigram predicts it well
        start = int(rng.integers(4))
        seqs.append([2] + [3 + (start + i) % 4 for i in range(int(rng.integers(4, 12)))] + [1])
    big = music.KneserNey(4, vocab_size).fit(seqs)
    models = {n: music.KneserNey(n, vocab_size).fit(seqs) for n in (1, 2, 3)}
    for n, model in models.items():
        assert big.with_order(n).nll(seqs) == pytest.approx(model.nll(seqs), abs=1e-12)
        for context in [(2, 2), (3, 4), (6, 6), (2, 5)]:
            ctx = context[-(model.order - 1):] if model.order > 1 else ()
            total = sum(model.prob(ctx, w) for w in range(vocab_size))
            assert math.isclose(total, 1.0, rel_tol=1e-9)
            np.testing.assert_allclose(model.distribution(ctx), [model.prob(ctx, w) for w in range(vocab_size)])
            np.testing.assert_allclose(big.with_order(n).distribution(ctx), model.distribution(ctx))
    nll = {n: m.nll(seqs) for n, m in models.items()}
    assert nll[3] < nll[2] < nll[1]
    with pytest.raises(ValueError, match="order"):
        music.KneserNey(0, 5)
    with pytest.raises(ValueError, match="fitted with"):
        big.with_order(5)
    assert music.kneser_ney_prob(models[3], (3, 4), 5) == models[3].prob((3, 4), 5)
    with pytest.raises(ValueError, match="call .fit"):
        music.kneser_ney_prob(music.KneserNey(2, 5), (1,), 2)


def test_compose_drives_an_n_gram_with_the_context_it_was_fitted_on():
    """The trigram learned the cycle C D E F: composing from <s> C D at a low temperature continues it."""
    vocab = music.NoteVocabulary([["<s>", "C4:1", "D4:1", "E4:1", "F4:1", "</s>"]], min_count=1)
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


# --- the LSTM: training, the context cut, the stepper ----------------------------------------------------------------


def test_lstm_nll_of_a_uniform_model_is_log_vocab():
    keras = pytest.importorskip("keras")
    model = music.build_melody_lstm(9, embed_dim=4, units=8)
    dense = model.get_layer("logits")
    dense.set_weights([np.zeros_like(w) for w in dense.get_weights()])
    seqs = [[2, 3, 4, 5, 1], [2, 6, 1], [2, 7, 8, 3, 4, 5, 6, 1]]
    assert music.lstm_nll(model, seqs) == pytest.approx(math.log(9), rel=1e-5)
    assert keras.backend.backend() == "tensorflow"


def test_context_cut_reads_only_the_start_marker_and_the_last_tokens():
    pytest.importorskip("keras")
    model = music.build_melody_lstm(9, embed_dim=4, units=6)
    rng = np.random.default_rng(1)
    model.set_weights([rng.normal(0, 0.6, w.shape) for w in model.get_weights()])
    seqs = [[1, 3, 4, 5, 6, 7, 8, 2], [1, 5, 2]]
    full = music.lstm_token_nlls(model, seqs)
    long = music.context_cut_token_nlls(model, seqs, keep=20)  # longer than any tune: nothing is cut
    for a, b in zip(full, long, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
    cut = music.context_cut_token_nlls(model, seqs, keep=2)
    np.testing.assert_allclose(cut[0][:3], full[0][:3], atol=1e-5)  # the first keep + 1 predictions are whole
    by_hand = music.lstm_token_nlls(model, [[1, 6, 7, 8]])[0][-1]  # token 8 of tune 0, from <s> and its 2 previous
    assert cut[0][5] == pytest.approx(by_hand, abs=1e-5)
    assert abs(cut[0][5] - full[0][5]) > 1e-4


def test_numpy_stepper_matches_keras_with_the_one_lstm_step_and_composing_stops_at_end_marker(monkeypatch):
    pytest.importorskip("keras")
    from utils import lstm

    vocab = music.NoteVocabulary([["<s>", "C4:1", "D4:1", "</s>"]], min_count=1)
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
    bias[vocab.index["<unk>"]] = 60.0  # now <unk> is the likeliest: compose never draws it
    dense.set_weights([np.zeros_like(dense.get_weights()[0]), bias])
    assert music.compose(music.LSTMStepper(model), vocab, ["<s>"], 1.0, rng, music.sample_with_temperature) == \
        ["<s>", "</s>"]
    with pytest.raises(ValueError, match="LSTMStepper"):
        music.compose(model, vocab, ["<s>"], 1.0, rng, music.sample_with_temperature)


# --- sampling, statistics, runs shared with training tunes, plots ----------------------------------------------------


def test_sample_with_temperature_matches_softmax():
    from utils.sampling import softmax

    rng = np.random.default_rng(0)
    logits = np.array([1.0, 0.0, -1.0])
    draws = [music.sample_with_temperature(logits, 0.5, rng) for _ in range(4000)]
    freq = np.bincount(draws, minlength=3) / len(draws)
    assert np.abs(freq - softmax(logits, 0.5)).max() < 0.03
    assert music.sample_with_temperature([1000.0, -np.inf], 1.0, rng) == 0  # no overflow; -inf is never drawn
    with pytest.raises(ValueError, match="temperature must be > 0"):
        music.sample_with_temperature(logits, 0.0, rng)


def test_measures_of_known_tunes():
    tune = [(60, F(1)), (62, F(1)), (None, F(1)), (66, F(2)), (69, F(1))]  # F#4 is not in C major; ends on A
    home = [(64, F(1)), (72, F(3)), (None, F(2))]  # ends on C, held 3 quarters (the closing rest is skipped)
    measures = music.tune_measures([tune, home])
    assert measures["notes per tune"].tolist() == [5, 3]
    assert measures["notes on C D E F G A B (%)"].tolist() == [75.0, 100.0]
    assert measures["range (semitones)"].tolist() == [9, 8]
    assert measures["ending on C (%)"].tolist() == [0.0, 100.0]
    assert measures["last note (quarters)"].tolist() == [1.0, 3.0]
    stats = music.tune_statistics([tune, home, [(None, F(1))]])  # a tune of rests only is left out
    assert stats["tunes"] == 2 and stats["ending on C (%)"] == 50.0
    hist = music.pitch_class_histogram([tune])
    assert hist[6] == pytest.approx(2 / 5) and hist.sum() == pytest.approx(1.0)
    assert music.histogram_distance(hist, hist) == 0.0
    assert music.histogram_distance(np.eye(12)[0], np.eye(12)[1]) == 1.0
    with pytest.raises(ValueError, match="no notes"):
        music.pitch_class_histogram([[(None, F(1))]])


def test_longest_shared_runs_by_hand():
    training = [["a", "b", "c", "d"], ["x", "y", "z"]]
    assert music.longest_shared_runs([["q", "b", "c", "q"], ["c", "d", "x", "y"], ["z", "a"], ["q"]], training) == \
        [2, 2, 1, 0]  # "c d x y" spans the end of one training tune and the start of the next: 2, not 4
    assert music.longest_shared_runs([["a", "b", "c", "d"]], training) == [4]


def test_piano_roll_names_every_note_of_c_major_and_marks_the_seed():
    import matplotlib

    matplotlib.use("Agg")
    tune = [(60, F(1)), (64, F(1)), (62, F(1)), (None, F(1)), (67, F(2)), (71, F(1))]
    fig = music.plot_piano_roll([tune], ["a tune"], max_quarters=8, seed_notes=3)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["C4", "D4", "E4", "F4", "G4", "A4", "B4"]
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert len(dashed) == 1 and dashed[0].get_xdata()[0] == 3.0  # after three quarters of seed
    assert ax.get_legend().get_texts()[0].get_text() == "seed"


def test_midi_written_and_read_back_with_the_same_notes(tmp_path):
    pytest.importorskip("pretty_midi")
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


# --- the exercise checks, both ways ----------------------------------------------------------------------------------

REFERENCES = {check_transpose: (music.transpose,), check_build_melody_lstm: (music.build_melody_lstm,),
              check_train_melody_lstm: (music.train_melody_lstm,),
              check_generation_loop: (music.sample_with_temperature, music.compose),
              check_longest_shared_runs: (music.longest_shared_runs,)}


def _run(check, *answers, **kwargs):
    return check(*answers, **kwargs)


@pytest.mark.parametrize("check", list(REFERENCES), ids=lambda c: c.__name__)
def test_checks_accept_the_reference_written_as_a_student_would(check, capsys):
    answers = [as_student(ref) for ref in REFERENCES[check]]
    kwargs = {"compose": answers.pop()} if check is check_generation_loop else {}
    assert check(*answers, **kwargs), capsys.readouterr().out
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("check", list(REFERENCES), ids=lambda c: c.__name__)
def test_checks_refuse_an_answer_that_calls_the_reference(check, capsys):
    refs = REFERENCES[check]
    answers = [lambda *a, _ref=ref, **k: _ref(*a, **k) for ref in refs]
    kwargs = {"compose": answers.pop()} if check is check_generation_loop else {}
    assert not check(*answers, **kwargs)
    assert "which already computes what this exercise asks for" in capsys.readouterr().out


@pytest.mark.parametrize("check", list(REFERENCES), ids=lambda c: c.__name__)
def test_checks_say_not_done_for_a_stub(check, capsys):
    def stub(*args, **kwargs):
        raise NotImplementedError

    kwargs = {"compose": stub} if check is check_generation_loop else {}
    assert not check(stub, **kwargs)
    assert "not done yet" in capsys.readouterr().out


# Exercise 1 · transpose


@pytest.mark.parametrize("wrong, hint", [
    (lambda notes, k: [(p + k, d) for p, d in notes], "cannot be moved"),
    (lambda notes, k: [(None if p is None else p - k, d) for p, d in notes], "moves the melody up"),
    (lambda notes, k: [(None if p is None else (p + k) % 12, d) for p, d in notes], "octave"),
    (lambda notes, k: [(None if p is None else p + k, d * 2) for p, d in notes], "never durations"),
    (lambda notes, k: [(p + k, d) for p, d in notes if p is not None], "keep the rest"),
    (lambda notes, k: None, "return the new list"),
])
def test_check_transpose_rejects_mistakes_naming_the_fault_without_code(wrong, hint, capsys):
    assert not check_transpose(wrong)
    out = capsys.readouterr().out
    assert hint in out and "❌" in out
    assert "pitch + semitones, duration)" not in out  # the worked step waits for a second try


def test_check_transpose_rejects_a_lookup_table_of_the_visible_melody(capsys):
    answers = {shift: [(None if p is None else p + shift, d) for p, d in checks._MELODY] for shift in checks._SHIFTS}

    def lookup(notes, k):
        return answers[k] if list(notes) == checks._MELODY and k in answers else list(notes)

    assert not check_transpose(lookup)
    assert "a melody of" in capsys.readouterr().out


def test_check_transpose_rejects_a_generator_and_an_in_place_edit(capsys):
    assert not check_transpose(lambda notes, k: ((None if p is None else p + k, d) for p, d in notes))
    assert "return a list of (pitch, duration) pairs — got a generator" in capsys.readouterr().out

    def in_place(notes, k):
        for i, (p, d) in enumerate(notes):
            notes[i] = (None if p is None else p + k, d)
        return notes

    assert not check_transpose(in_place)
    assert "new list" in capsys.readouterr().out


# Exercise 2 · build the melody LSTM


def _builder(*, sequences=True, activation=None, ignore=True, mask=True, lr_used=True, units_used=True,
             compiled=True, bidirectional=False, from_logits=True, extra=False):
    """A build_melody_lstm with one mistake switched on."""
    import keras

    def build(vocab_size, embed_dim=64, units=256, dropout=0.1, learning_rate=2e-3):
        cells = units if units_used else 256
        lstm = keras.layers.LSTM(cells, return_sequences=sequences, dropout=dropout)
        layers = [keras.Input(shape=(None,), dtype="int32"), keras.layers.Embedding(vocab_size, embed_dim,
                                                                                    mask_zero=mask),
                  keras.layers.Bidirectional(lstm) if bidirectional else lstm]
        if extra:
            layers.append(keras.layers.Dense(cells, activation="relu"))
        layers.append(keras.layers.Dense(vocab_size, activation=activation))
        model = keras.Sequential(layers)
        if compiled:
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits,
                                                              **({"ignore_class": 0} if ignore else {}))
            model.compile(optimizer=keras.optimizers.Adam(learning_rate if lr_used else 2e-3), loss=loss)
        return model

    return build


@pytest.mark.parametrize("mistake, hint", [
    ({"sequences": False}, "return_sequences=True"),
    ({"activation": "softmax"}, "leave the last Dense layer linear"),
    ({"ignore": False, "mask": False}, "counts the padding positions"),
    ({"lr_used": False}, "pass `learning_rate` to the optimizer"),
    ({"units_used": False}, "the argument units is not used"),
    ({"compiled": False}, "not compiled"),
    ({"bidirectional": True}, "no Bidirectional layer"),
    ({"from_logits": False}, "from_logits=True"),
    ({"extra": True}, "nothing more"),
])
def test_check_build_rejects_mistakes_with_their_hint(mistake, hint, capsys):
    pytest.importorskip("keras")
    assert not check_build_melody_lstm(_builder(**mistake))
    out = capsys.readouterr().out
    assert hint in out and "❌" in out, out


def test_check_build_accepts_a_mask_instead_of_ignore_class(capsys):
    pytest.importorskip("keras")
    assert check_build_melody_lstm(_builder(ignore=False)), capsys.readouterr().out


# Exercise 3 · train it to beat the n-grams


def _trainer(*, stop=True, monitor="val_loss", restore=True, use_epochs=True, validate_on="hold", shift=True,
             fit=True, batch_used=True):
    """A train_melody_lstm with one mistake switched on."""
    import keras

    def train(model, train_ids, hold_ids, epochs, batch_size=64):
        class Fake:
            history = {"loss": [1.0], "val_loss": [1.0]}
            params = {"epochs": epochs}

        if not fit:
            return Fake()
        callbacks = [keras.callbacks.EarlyStopping(monitor=monitor, patience=2, restore_best_weights=restore)] \
            if stop else []
        data = music.tune_batches(train_ids, batch_size if batch_used else 64)
        if not shift:  # targets equal to inputs
            x = music.pad_batch([t[:-1] for t in train_ids])
            return model.fit(x, x, batch_size=batch_size, epochs=epochs if use_epochs else 40, callbacks=callbacks,
                             validation_data=(music.pad_batch([t[:-1] for t in hold_ids]),) * 2, verbose=0)
        validation = music.tune_batches(hold_ids if validate_on == "hold" else train_ids, 256)
        return model.fit(data, validation_data=validation, epochs=epochs if use_epochs else 40, callbacks=callbacks,
                         verbose=0)

    return train


@pytest.mark.parametrize("mistake, hint", [
    ({"stop": False}, "has not improved for a few epochs"),
    ({"monitor": "loss"}, "(val_loss)"),
    ({"restore": False}, "keep the weights of the epoch with the lowest hold-out loss"),
    ({"use_epochs": False}, "pass epochs=epochs"),
    ({"validate_on": "train"}, "validate on `hold_ids`"),
    ({"shift": False}, "the token *after* each input"),
    ({"fit": False}, "call model.fit"),
    ({"batch_used": False}, "batch the training tunes by `batch_size`"),
])
def test_check_train_rejects_mistakes_with_their_hint(mistake, hint, capsys):
    pytest.importorskip("keras")
    assert not check_train_melody_lstm(_trainer(**mistake))
    out = capsys.readouterr().out
    assert hint in out and "❌" in out, out


def test_check_train_skips_the_made_up_tunes_for_a_function_that_passed_them_and_checks_the_target(capsys):
    pytest.importorskip("keras")
    train = as_student(music.train_melody_lstm)
    assert check_train_melody_lstm(train)
    capsys.readouterr()
    ref = checks.target_reference()
    shipped = music.build_melody_lstm(ref["vocab_size"], compile=False)
    shipped.load_weights(music.WEIGHTS)
    assert not check_train_melody_lstm(train, model=shipped)
    out = capsys.readouterr().out
    assert "passed on made-up tunes above" in out and "the shipped weights, untouched" in out, out
    rng = np.random.default_rng(0)
    shipped.set_weights([w + rng.normal(0, 1e-3, w.shape) for w in shipped.get_weights()])  # "trained" a little
    assert check_train_melody_lstm(train, model=shipped), capsys.readouterr().out
    assert "target met" in capsys.readouterr().out


def test_the_target_refuses_a_weak_model_and_one_that_looks_ahead(capsys):
    import keras

    ref = checks.target_reference()
    weak = music.build_melody_lstm(ref["vocab_size"], embed_dim=4, units=4)  # untrained: near uniform
    checks._remember(train := as_student(music.train_melody_lstm))
    assert not check_train_melody_lstm(train, model=weak)
    assert "the best n-gram (order" in capsys.readouterr().out
    ahead = keras.Sequential([keras.Input(shape=(None,), dtype="int32"),
                              keras.layers.Embedding(ref["vocab_size"], 4, mask_zero=True),
                              keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True)),
                              keras.layers.Dense(ref["vocab_size"])])
    assert not check_train_melody_lstm(train, model=ahead)
    assert "it looks ahead" in capsys.readouterr().out
    assert not check_train_melody_lstm(train, model="a model")
    assert "pass the trained Keras model" in capsys.readouterr().out


# Exercise 4 · the generation loop


def _softmax_sampler(transform, stable=True):
    def sampler(logits, temperature, rng):
        z = transform(np.asarray(logits, dtype=float), temperature)
        with np.errstate(all="ignore"):  # the unstable version overflows on purpose
            e = np.exp(z - z.max()) if stable else np.exp(z)
            return int(rng.choice(len(z), p=e / e.sum()))

    return sampler


_GOOD_SAMPLER = _softmax_sampler(lambda z, t: z / t)


@pytest.mark.parametrize("wrong, hint", [
    (_softmax_sampler(lambda z, t: z), "temperature is ignored"),
    (_softmax_sampler(lambda z, t: z * t), "multiplied by T"),
    (lambda logits, t, rng: int(np.argmax(logits)), "instead of taking the largest"),
    (lambda logits, t, rng: int(rng.integers(len(logits))), "equally likely"),
    (lambda logits, t, rng: int(rng.choice(len(logits), p=np.asarray(logits) / t)), "turn the logits into"),
    (_softmax_sampler(lambda z, t: z / t, stable=False), "overflows"),
    (lambda logits, t, rng: np.full(len(logits), 1 / len(logits)), "return one index"),
])
def test_check_sampling_rejects_mistakes(wrong, hint, capsys):
    assert not check_generation_loop(wrong, compose=as_student(music.compose))
    out = capsys.readouterr().out
    assert hint in out and "❌" in out


def _global_sampler(logits, temperature, rng):
    """Right probabilities, but drawn from NumPy's global generator instead of ``rng``."""
    z = np.asarray(logits, dtype=float) / temperature
    p = np.exp(z - z.max())
    return int(np.random.choice(len(p), p=p / p.sum()))


def test_check_sampling_rejects_a_sampler_that_ignores_its_rng(capsys):
    assert not check_generation_loop(_global_sampler, compose=as_student(music.compose))
    out = capsys.readouterr().out
    assert "do not come from the `rng` you are given" in out, out


def test_check_sampling_rejects_a_lookup_table_of_the_visible_logits(capsys):
    def lookup(logits, temperature, rng):
        if np.array_equal(logits, checks._LOGITS):
            return _GOOD_SAMPLER(logits, temperature, rng)
        return int(rng.integers(len(logits)))

    assert not check_generation_loop(lookup, compose=as_student(music.compose))
    assert "logits [" in capsys.readouterr().out


def _composer(*, ban=True, feed_back=True, keep_state=True, extra_step=False, ids=False, keep_seed=True,
              read_seed=True, temperature=None):
    """A compose with one mistake switched on."""

    def compose(stepper, vocab, seed, temperature_given, rng, sampler, max_notes=120):
        banned = [vocab.index["<pad>"], vocab.index["<s>"], vocab.index["<unk>"]]
        ids_ = vocab.encode(seed)
        state = stepper.start()
        for token in ids_ if read_seed else ids_[-1:]:
            logits, state = stepper.step(token, state)
        for _ in range(max_notes + (1 if extra_step else 0)):
            logits = np.array(logits, dtype=float)
            if ban:
                logits[banned] = -np.inf
            ids_.append(int(sampler(logits, temperature if temperature is not None else temperature_given, rng)))
            if ids_[-1] == vocab.index["</s>"]:
                break
            token = ids_[-1] if feed_back else ids_[len(seed) - 1]
            logits, state = stepper.step(token, state if keep_state else stepper.start())
        out = ids_ if ids else vocab.decode(ids_)
        if not keep_seed:
            seed.append("C4:1")
        return out

    return compose


@pytest.mark.parametrize("mistake, hint", [
    ({"ban": False}, "must never be drawn"),
    ({"feed_back": False}, "feed it to the stepper"),
    ({"keep_state": False}, "the memory is lost between steps"),
    ({"extra_step": True}, "after max_notes new tokens"),
    ({"ids": True}, "return tokens"),
    ({"keep_seed": False}, "never on `seed` itself"),
    ({"read_seed": False}, "read the whole seed"),
    ({"temperature": 1.0}, "the sampler was not given the temperature"),
])
def test_check_compose_rejects_mistakes_with_their_hint(mistake, hint, capsys):
    assert not check_generation_loop(as_student(music.sample_with_temperature), compose=_composer(**mistake))
    out = capsys.readouterr().out
    assert hint in out and "❌" in out, out


def test_check_generation_loop_accepts_the_mistake_free_composer_and_asks_for_compose(capsys):
    assert check_generation_loop(as_student(music.sample_with_temperature), compose=_composer())
    assert not check_generation_loop(as_student(music.sample_with_temperature))
    assert "give the check your compose too" in capsys.readouterr().out


def test_check_generation_loop_refuses_the_courses_softmax(capsys):
    from utils.sampling import softmax

    def sampler(logits, temperature, rng):
        return int(rng.choice(len(logits), p=softmax(logits, temperature)))

    assert not check_generation_loop(sampler, compose=_composer())
    assert "utils.sampling.softmax" in capsys.readouterr().out


# Exercise 5 · copying or composing?


def _runs_answer(how):
    def answer(tunes, training_tunes):
        return [checks._runs_mistaken(tune, training_tunes, how) for tune in tunes]

    return answer


@pytest.mark.parametrize("how, hint", [
    ("joined", "search each training tune on its own"),
    ("subsequence", "consecutive in both tunes"),
    ("prefix", "not only at their first tokens"),
    ("aligned", "different positions in the two tunes"),
])
def test_check_runs_rejects_mistakes_with_their_hint(how, hint, capsys):
    assert not check_longest_shared_runs(_runs_answer(how))
    out = capsys.readouterr().out
    assert hint in out and "❌" in out, out


def test_check_runs_accepts_an_independent_dynamic_programme_and_rejects_off_by_one_and_lookup(capsys):
    assert check_longest_shared_runs(_runs_answer("substring")), capsys.readouterr().out
    assert not check_longest_shared_runs(lambda tunes, training: [n + 1 for n in
                                                                  _runs_answer("substring")(tunes, training)])
    assert "off by one" in capsys.readouterr().out
    assert not check_longest_shared_runs(lambda tunes, training: [3 for _ in tunes])
    assert not check_longest_shared_runs(lambda tunes, training: 3)
    assert "one length per tune" in capsys.readouterr().out
