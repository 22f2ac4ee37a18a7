"""Unit tests for utils.seq2seq (data builders, vocabulary, arrays, model, decoding, files) and its two checkers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tests.answers import as_student
from tests.helpers import output_text, solution
from tests.notebook_code import attributes_used, call_arguments, imported_from, notebook_function
from utils import checks as checks_framework
from utils import seq2seq as s2s
from utils.checks import seq2seq as checks


@pytest.fixture(autouse=True)
def fresh_checks():
    """Each test starts as a new kernel would: no earlier failing tries, so worked steps are held back."""
    checks_framework.reset()

# --- number data -----------------------------------------------------------------------------------------------------


def test_number_split_is_disjoint_seeded_and_sorted():
    train, test = s2s.number_split(500, 100, max_number=999, seed=3)
    assert len(train) == 500 and len(test) == 100
    assert not set(train.tolist()) & set(test.tolist())
    assert (np.diff(train) > 0).all() and (np.diff(test) > 0).all()
    again = s2s.number_split(500, 100, max_number=999, seed=3)
    assert (again[0] == train).all() and (again[1] == test).all()
    assert train.min() >= 0 and max(train.max(), test.max()) <= 999


def test_number_split_gives_training_validation_and_test_numbers():
    train, val, test = s2s.number_split(600, 150, 250, max_number=999, seed=4)
    assert (len(train), len(val), len(test)) == (600, 150, 250)
    assert sorted(np.concatenate([train, val, test]).tolist()) == list(range(1000))  # all of them, each once
    assert (s2s.number_split(600, 400, max_number=999, seed=4)[0] == train).all()  # the same draw, cut in three


def test_number_split_rejects_impossible_requests():
    with pytest.raises(ValueError, match="raise max_number"):
        s2s.number_split(900, 200, max_number=999)
    with pytest.raises(ValueError, match="positive whole number"):
        s2s.number_split(0, 10)
    with pytest.raises(ValueError, match="Give the size of each sample"):
        s2s.number_split()


def test_number_pairs_use_real_french_grammar():
    pairs = dict(s2s.number_pairs([71, 80, 81, 200, 21071]))
    assert pairs["seventy-one"] == "soixante et onze"
    assert pairs["eighty"] == "quatre-vingts"
    assert pairs["eighty-one"] == "quatre-vingt-un"
    assert pairs["two hundred"] == "deux cents"
    assert pairs["twenty-one thousand and seventy-one"] == "vingt et un mille soixante et onze"
    with pytest.raises(ValueError, match="non-empty"):
        s2s.number_pairs([])
    with pytest.raises(ValueError, match="non-negative"):
        s2s.number_pairs([-4])


def test_number_tokens_round_trip():
    for english, french in s2s.number_pairs(range(0, 100_000, 997)):
        for text in (english, french):
            assert s2s.join_number_tokens(s2s.number_tokens(text)) == text
    assert s2s.number_tokens("quatre-vingt-onze mille") == ["quatre", "-", "vingt", "-", "onze", "mille"]
    assert s2s.number_tokens("one thousand, two") == ["one", "thousand", ",", "two"]


def test_dictionary_baseline_knows_words_not_grammar():
    dictionary = s2s.word_dictionary()
    assert len(dictionary) == 30 and dictionary["seventy"] == "soixante-dix" and dictionary["hundred"] == "cent"
    assert s2s.dictionary_translate(dictionary, "forty-two thousand, five hundred and thirty-seven") == \
        "quarante-deux mille cinq cent trente-sept"
    assert s2s.dictionary_translate(dictionary, "seventy-one") == "soixante-dix-un"  # French says soixante et onze
    with pytest.raises(ValueError, match="not in the dictionary"):
        s2s.dictionary_translate(dictionary, "one million")


# --- chat data -------------------------------------------------------------------------------------------------------


def test_chat_pairs_from_installed_corpus():
    pairs = s2s.chat_pairs()
    assert len(pairs) > 1000
    assert len(set(pairs)) == len(pairs)
    assert all(isinstance(p, str) and isinstance(r, str) and p and r for p, r in pairs)
    assert ("Hello", "Hi") in s2s.chat_pairs(categories=["greetings"])
    with pytest.raises(ValueError, match="available"):
        s2s.chat_pairs(categories=["no_such_topic"])
    with pytest.raises(ValueError, match="no language"):
        s2s.chatterbot_dir("klingon")


def test_chat_pairs_from_a_folder(tmp_path):
    (tmp_path / "tiny.yml").write_text("categories: [tiny]\nconversations:\n- - Hi\n  - Hello\n  - How are you?\n"
                                       "- - Hi\n  - Hello\n", encoding="utf-8")
    assert s2s.chat_pairs(corpus_dir=tmp_path) == [("Hi", "Hello")]  # the bot's "Hello" is no prompt; no duplicates
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="No dialogue pairs"):
        s2s.chat_pairs(corpus_dir=empty)


def test_split_by_prompt_keeps_test_prompts_unseen():
    pairs = s2s.chat_pairs()
    train, test = s2s.split_by_prompt(pairs, 0.1, seed=1)
    assert len(train) + len(test) == len(pairs)
    key = lambda text: " ".join(text.lower().replace("?", "").replace(".", "").replace("!", "").split())
    assert not {key(p) for p, _ in train} & {key(p) for p, _ in test}
    with pytest.raises(ValueError, match="between 0 and 1"):
        s2s.split_by_prompt(pairs, 1.5)


# --- vocabulary and arrays -------------------------------------------------------------------------------------------


def test_vocabulary_layout_and_unknown_policy():
    vocab = s2s.WordVocabulary.from_corpus([["b", "a", "b"], ["c", "b"]])
    assert vocab.tokens[:4] == list(s2s.SPECIALS) and vocab.tokens[4:] == ["b", "a", "c"]
    assert vocab.encode(["a", "c"]) == [5, 6]
    assert vocab.decode([2, 5, 6, 3, 4, 0]) == ["a", "c"]
    with pytest.raises(ValueError, match="unknown='unk'"):
        vocab.encode(["zebra"])
    lenient = s2s.WordVocabulary(["a"], unknown="unk")
    assert lenient.encode(["a", "zebra"]) == [4, s2s.UNK_ID]
    with pytest.raises(ValueError, match="'error' or 'unk'"):
        s2s.WordVocabulary(["a"], unknown="skip")
    with pytest.raises(ValueError, match="Empty corpus"):
        s2s.WordVocabulary.from_corpus([])


def test_keras_vectorizer_matches_vocabulary():
    layer, vocab = s2s.keras_word_vectorizer(["Hello there!", "hello, how are you?"])
    ids = np.asarray(layer(["hello you", "hello martian"]))
    assert vocab.tokens[:4] == list(s2s.SPECIALS) and layer.get_vocabulary() == vocab.tokens
    assert vocab.decode(ids[0]) == ["hello", "you"]
    assert ids[1][1] == s2s.UNK_ID
    with pytest.raises(ValueError, match="Empty corpus"):
        s2s.keras_word_vectorizer(["", "  "])


def test_teacher_forcing_arrays():
    enc, dec_in, dec_out = s2s.teacher_forcing([[5, 6, 7], [8]], [[9, 10], [11, 12, 13]])
    assert enc.tolist() == [[7, 6, 5], [0, 0, 8]]  # reversed, padded at the front
    assert dec_in.tolist() == [[2, 9, 10, 0], [2, 11, 12, 13]]
    assert dec_out.tolist() == [[9, 10, 3, 0], [11, 12, 13, 3]]
    _, dec_in, dec_out = s2s.teacher_forcing([[5]], [[9, 10, 11, 12]], target_length=3)
    assert dec_in.tolist() == [[2, 9, 10]] and dec_out.tolist() == [[9, 10, 3]]
    with pytest.raises(ValueError, match="one target per source"):
        s2s.teacher_forcing([[5]], [[1], [2]])
    with pytest.raises(ValueError, match="Empty corpus"):
        s2s.teacher_forcing([], [])
    with pytest.raises(ValueError, match="empty"):
        s2s.teacher_forcing([[]], [[4]])


# --- decoding and losses ---------------------------------------------------------------------------------------------


def test_one_decoding_loop_greedy_or_sampled_by_its_pick():
    """Greedy decoding and sampling are the same loop with another ``pick``; a cold temperature is greedy."""
    stub = checks.StubDecoder([5, 7, 4])
    assert s2s.run_decoder(stub.step, stub.initial_state(), 2, 3, 10) == [5, 7, 4]
    rng = np.random.default_rng(0)
    cold = lambda p: rng.choice(len(p), p=s2s.apply_temperature(p, 0.05))
    stub = checks.StubDecoder([5, 7, 4])
    assert s2s.run_decoder(stub.step, stub.initial_state(), 2, 3, 10, cold) == [5, 7, 4]
    hot = lambda p: rng.choice(len(p), p=s2s.apply_temperature(p, 50.0))
    draws = {tuple(s2s.run_decoder(checks.StubDecoder([5, 7, 4]).step, [np.zeros((1, 4))] * 2, 2, 3, 10, hot))
             for _ in range(10)}
    assert len(draws) > 1  # a hot temperature draws different sequences
    assert not any(name in vars(s2s) for name in ("greedy_decode", "sample_decode"))  # one loop, not three


def test_unigram_loss():
    train_target = np.array([[4, 4, 3, 0], [5, 3, 0, 0]])
    probabilities = s2s.unigram_probabilities(train_target, 6, smoothing=0.0)
    assert probabilities[4] == pytest.approx(0.4) and probabilities[0] == 0
    loss = s2s.unigram_loss(train_target, np.array([[4, 3, 0]]), 6, smoothing=0.0)
    assert loss == pytest.approx(-(np.log(0.4) + np.log(0.4)) / 2)
    with pytest.raises(ValueError, match="no non-padding"):
        s2s.unigram_loss(np.zeros((2, 3), int), train_target, 6)


class _Copier:
    """A pretend encoder–decoder that has learned to copy its source: fed the right previous token, it puts most
    probability on the source's next id (padding 0 skipped), then on [end], and after [end] it babbles (id 4), as
    a real decoder may; fed anything else, it gives up ([end]).
    Source id 9 is a word it half knows: there [UNK] gets a little more probability than the right id. It counts its
    steps, and the rows of every batch it encodes."""

    source_length, vocab = 4, 12

    def __init__(self):
        self.steps, self.encoded = 0, []

    def checked_encoder_input(self, encoder_input):
        array = np.asarray(encoder_input, dtype="int32")
        assert array.ndim == 2 and array.shape[1] == self.source_length, array.shape
        return array

    def encode(self, encoder_input):
        self.encoded.append(encoder_input.tolist())
        return [np.asarray(encoder_input, dtype=float), np.zeros((len(encoder_input), 1))]

    def step(self, tokens, state):
        self.steps += 1
        sources, written = state
        probabilities = np.full((len(sources), self.vocab), 0.01)
        for row, (source, token, t) in enumerate(zip(sources.astype(int), np.ravel(tokens), written[:, 0].astype(int),
                                                     strict=True)):
            ids = [i for i in source if i != s2s.PAD_ID] + [s2s.END_ID]
            previous = s2s.START_ID if t == 0 else ids[t - 1] if t <= len(ids) else None
            right = ids[t] if token == previous and t < len(ids) else 4 if token == previous else s2s.END_ID
            probabilities[row, right] = 0.5
            if right == 9:
                probabilities[row, s2s.UNK_ID] = 0.6
        return probabilities, [sources, written + 1]

    def step_one(self, token, state):
        probabilities, state = self.step(np.array([token]), state)
        return probabilities[0], state


_COPIED = [[5, 6, 7, 8], [0, 0, 4, 5], [0, 0, 0, 6], [0, 0, 0, 0], [0, 5, 9, 4], [0, 7, 7, 7], [0, 0, 8, 4]]


def test_batch_decoding_in_chunks_gives_each_row_what_decoding_it_alone_gives():
    """Many sources are decoded in chunks (06 decodes 10,000 rows this way): each chunk is encoded from its own rows,
    and every row gets what greedy decoding of it alone (``run_decoder``) gives, however the rows are chunked."""
    copier = _Copier()
    alone = [s2s.run_decoder(copier.step_one, copier.encode(np.array([row])), s2s.START_ID, s2s.END_ID, 6)
             for row in _COPIED]
    assert alone == [[5, 6, 7, 8], [4, 5], [6], [], [5, 1], [7, 7, 7], [8, 4]]  # 9 lost to [UNK], then off the path
    for chunk in (1, 2, 3, 7, 4096):
        copier.encoded = []
        assert s2s.greedy_decode_batch(copier, _COPIED, 6, batch_size=chunk) == alone, chunk
        assert copier.encoded == [_COPIED[i: i + chunk] for i in range(0, len(_COPIED), chunk)], chunk
    assert s2s.greedy_decode_batch(copier, _COPIED, 2) == [ids[:2] for ids in alone]  # cut at max_len
    assert {type(i) for ids in s2s.greedy_decode_batch(copier, _COPIED, 6) for i in ids} == {int}  # ids, not 4.0


def test_batch_decoding_takes_one_decoder_call_per_step_and_stops_when_every_row_has_ended():
    copier = _Copier()
    assert s2s.greedy_decode_batch(copier, [[0, 0, 4, 5], [0, 0, 0, 6]], 50) == [[4, 5], [6]]
    assert copier.steps == 3  # 4, 5, [end] for the longer row; the shorter one ended a step earlier (and babbles)
    copier.steps = 0
    assert s2s.greedy_decode_batch(copier, [[5, 6, 7, 8]], 3) == [[5, 6, 7]] and copier.steps == 3


def test_batch_decoding_never_picks_the_ids_it_is_told_to_avoid():
    """07 passes never=[UNK_ID]: the decoder then writes its next-best guess, and only where [UNK] would have won."""
    copier = _Copier()
    assert s2s.greedy_decode_batch(copier, [[0, 5, 9, 4], [0, 0, 4, 5]], 6) == [[5, 1], [4, 5]]
    assert s2s.greedy_decode_batch(copier, [[0, 5, 9, 4], [0, 0, 4, 5]], 6, never=[s2s.UNK_ID]) == [[5, 9, 4], [4, 5]]


def test_batch_decoding_refuses_what_is_not_a_model_or_a_length_and_names_the_fix():
    copier = _Copier()
    with pytest.raises(ValueError, match=r"^seq2seq must be a Seq2Seq from build_seq2seq\(\), not list"):
        s2s.greedy_decode_batch([copier], _COPIED, 6)
    with pytest.raises(ValueError, match=r"^max_len must be a positive whole number, not 0: the longest output to "
                                         r"produce, e\.g\. 20$"):
        s2s.greedy_decode_batch(copier, _COPIED, 0)
    with pytest.raises(ValueError, match=r"^batch_size must be a positive whole number, not 0: e\.g\. 4096$"):
        s2s.greedy_decode_batch(copier, _COPIED, 6, batch_size=0)


def test_tiny_model_trains_decodes_saves_and_reloads(tmp_path):
    import keras

    keras.utils.set_random_seed(0)
    sources = [[4 + i % 3, 4 + (i // 3) % 3] for i in range(9)]
    targets = [[s[1], s[0]] for s in sources]  # learn to swap two tokens
    arrays = s2s.teacher_forcing(sources, targets)
    model = s2s.build_seq2seq(7, 7, source_length=2, embed_dim=8, units=16, learning_rate=2e-2)
    repeated = [np.tile(a, (40, 1)) for a in arrays]  # one long epoch: far less Keras overhead than 150 short ones
    model.model.fit(repeated[:2], repeated[2], sample_weight=(repeated[2] != 0).astype("float32"), epochs=6,
                    batch_size=36, verbose=0)
    batch = s2s.greedy_decode_batch(model, arrays[0], max_len=4)
    single = [s2s.run_decoder(model.step_one, model.initial_state(src), s2s.START_ID, s2s.END_ID, 4)
              for src in sources]
    assert batch == single
    assert np.mean([b == t for b, t in zip(batch, targets, strict=False)]) >= 0.8
    path = s2s.save_seq2seq(model, tmp_path / "tiny.keras")
    reloaded = s2s.load_seq2seq(path)
    assert s2s.greedy_decode_batch(reloaded, arrays[0], max_len=4) == batch
    loss = s2s.per_token_loss(reloaded, *arrays)
    assert 0 <= loss < s2s.unigram_loss(arrays[2], arrays[2], 7)
    with pytest.raises(ValueError, match=".keras"):
        s2s.save_seq2seq(model, tmp_path / "tiny.h5")
    with pytest.raises(ValueError, match="No model file"):
        s2s.load_seq2seq(tmp_path / "missing.keras")
    with pytest.raises(ValueError, match="no layer named"):
        s2s.Seq2Seq.from_model(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]))


# --- one sentence at a time must equal the batch ---------------------------------------------------------------------


def _train_briefly(seq2seq, arrays, repeats, batch_size):
    """One quick epoch of teacher forcing over ``repeats`` copies of the data: enough for replies to depend on the
    source, at far less Keras overhead than several short epochs."""
    arrays = [np.tile(a, (repeats, 1)) for a in arrays]
    seq2seq.model.fit(list(arrays[:2]), arrays[2], sample_weight=(arrays[2] != 0).astype("float32"), epochs=1,
                      batch_size=batch_size, verbose=0)


def _assert_one_at_a_time_equals_batch(seq2seq, sources, max_len, what):
    """Encoder states and greedy decodings, sentence by sentence (as notebooks 06 and 07 do: ``initial_state``, then
    ``step_one``) must equal the batch's (``encoder_input`` of all sentences, ``greedy_decode_batch``)."""
    encoder_input = seq2seq.encoder_input(sources)
    batch_h, batch_c = seq2seq.encode(encoder_input)
    batch = s2s.greedy_decode_batch(seq2seq, encoder_input, max_len=max_len)
    wrong_states, wrong_outputs = [], []
    for i, ids in enumerate(sources):
        state = seq2seq.initial_state(ids)
        if not (np.allclose(state[0][0], batch_h[i], atol=1e-5) and np.allclose(state[1][0], batch_c[i], atol=1e-5)):
            wrong_states.append(i)
        if s2s.run_decoder(seq2seq.step_one, state, s2s.START_ID, s2s.END_ID, max_len) != batch[i]:
            wrong_outputs.append(i)
    assert not wrong_states and not wrong_outputs, (
        f"one at a time, {len(wrong_states)} of {len(sources)} {what} get another encoder state and "
        f"{len(wrong_outputs)} another output than in the batch")
    assert len({tuple(b) for b in batch}) > 3, f"the {what} must depend on the source for this test to mean anything"


@pytest.fixture(scope="module")
def number_translator():
    """A small translator trained briefly on numbers below 1,000; its 500 held-out numbers as id lists."""
    import keras

    keras.utils.set_random_seed(5)
    train_numbers, test_numbers = s2s.number_split(500, 500, max_number=999, seed=5)
    train_pairs, test_pairs = s2s.number_pairs(train_numbers), s2s.number_pairs(test_numbers)
    english = s2s.WordVocabulary.from_corpus(s2s.number_tokens(e) for e, _ in train_pairs + test_pairs)
    french = s2s.WordVocabulary.from_corpus(s2s.number_tokens(f) for _, f in train_pairs + test_pairs)

    def ids(pairs):
        return ([english.encode(s2s.number_tokens(e)) for e, _ in pairs],
                [french.encode(s2s.number_tokens(f)) for _, f in pairs])

    source_length = max(len(s) for s in ids(train_pairs + test_pairs)[0]) + 2  # every source has some padding
    target_length = max(len(t) for t in ids(train_pairs + test_pairs)[1]) + 1
    model = s2s.build_seq2seq(len(english), len(french), source_length, embed_dim=16, units=32, learning_rate=2e-2)
    _train_briefly(model, s2s.teacher_forcing(*ids(train_pairs), source_length, target_length), 8, 100)
    return model, ids(test_pairs)[0], target_length


def test_translating_one_number_at_a_time_equals_the_batch(number_translator):
    model, sources, max_len = number_translator
    assert len(sources) >= 500
    _assert_one_at_a_time_equals_batch(model, sources, max_len, "numbers")


def test_decoding_in_chunks_gives_each_row_what_decoding_it_alone_gives(number_translator):
    """Many sources are decoded in chunks (greedy_decode_batch's batch_size, 4,096 by default): every row must get
    what decoding it alone gives. The rows decode differently, so a chunk decoded from another chunk's sources fails."""
    model, sources, max_len = number_translator
    encoder_input = model.encoder_input(sources[:16])
    alone = [s2s.greedy_decode_batch(model, encoder_input[i:i + 1], max_len)[0] for i in range(len(encoder_input))]
    assert len({tuple(ids) for ids in alone}) > 5, "the rows must decode differently for this test to mean anything"
    for chunk in (1, 5, 15):
        assert s2s.greedy_decode_batch(model, encoder_input, max_len, batch_size=chunk) == alone, chunk


def test_source_length_survives_save_and_load(number_translator, tmp_path):
    model, sources, max_len = number_translator
    reloaded = s2s.load_seq2seq(s2s.save_seq2seq(model, tmp_path / "numbers.keras"))
    assert reloaded.source_length == model.source_length
    assert s2s.greedy_decode_batch(reloaded, model.encoder_input(sources), max_len) == \
        s2s.greedy_decode_batch(model, model.encoder_input(sources), max_len)
    _assert_one_at_a_time_equals_batch(reloaded, sources[:100], max_len, "numbers after reloading")


def test_encoder_refuses_input_laid_out_for_another_length(number_translator):
    model, sources, max_len = number_translator
    too_wide = s2s.source_array(sources[:3], model.source_length + 1)
    for use in (model.encode, lambda x: s2s.greedy_decode_batch(model, x, max_len)):
        with pytest.raises(ValueError, match=r"encoder_input\(list_of_id_lists\)"):
            use(too_wide)
    long_source = sources[0] * (model.source_length + 3)
    assert model.encoder_input([long_source]).shape == (1, model.source_length)  # cut, as in the training arrays
    with pytest.raises(ValueError, match="source_length must be a positive whole number.*encoder_input"):
        s2s.build_seq2seq(9, 9, source_length=0)


def test_masking_makes_padding_irrelevant(number_translator):
    model, sources, _ = number_translator
    layers, width = model.layers, model.source_length + 5  # same weights, five more padding steps
    wider = s2s.Seq2Seq(s2s.training_model(layers, width), *s2s.inference_models(layers, width), layers)
    narrow_state = model.encode(model.encoder_input(sources[:50]))
    wide_state = wider.encode(wider.encoder_input(sources[:50]))
    assert np.allclose(narrow_state[0], wide_state[0], atol=1e-5) and np.allclose(narrow_state[1], wide_state[1],
                                                                                   atol=1e-5)


def test_chat_reply_one_prompt_at_a_time_equals_the_batch():
    import keras

    keras.utils.set_random_seed(6)
    train, test = s2s.split_by_prompt(s2s.chat_pairs(categories=["greetings", "emotion", "computers", "ai"]),
                                      test_fraction=0.3, seed=6)
    vectorizer, vocab = s2s.keras_word_vectorizer([p for p, _ in train] + [r for _, r in train], max_tokens=400)

    def word_ids(texts):
        rows = np.asarray(vectorizer(list(texts)))
        return [row[row > 0].tolist() or [s2s.UNK_ID] for row in rows]

    source_length, target_length = 6, 16  # some prompts are longer: they must be cut the same way on both paths
    model = s2s.build_seq2seq(len(vocab), len(vocab), source_length, embed_dim=16, units=32, learning_rate=3e-2)
    _train_briefly(model, s2s.teacher_forcing(word_ids(p for p, _ in train), word_ids(r for _, r in train),
                                              source_length, target_length), 3, 32)
    prompts = word_ids(dict.fromkeys(p for p, _ in test))
    assert any(len(p) > source_length for p in prompts) and any(len(p) < source_length for p in prompts)
    _assert_one_at_a_time_equals_batch(model, prompts, target_length, "prompts")


# --- Exercise 1 (greedy decoding): the checker, both ways ------------------------------------------------------------


#: The typical mistakes of the exercise, each a change to one line of the loop.
MISTAKES = {
    "feeds start every time": "feed back the token you just predicted",
    "state not updated": "keep the new state",
    "keeps end": "don't include end_id",
    "never breaks": "stop the loop when the prediction is end_id",
    "one too many": "at most max_len",
    "no max_len": "never stops",
    "returns probabilities": "not the probabilities",
    "ignores pick": "choose each token with pick(probabilities)",
    "no pick parameter": "pick=np.argmax)",
}


def _loop_with(mistake):
    """The exercise's loop with one typical mistake in it."""
    def run_decoder(step, state, start_id, end_id, max_len, pick=np.argmax):
        token, out = start_id, []
        steps = itertools.count() if mistake == "no max_len" else range(max_len + (mistake == "one too many"))
        for _ in steps:
            probabilities, new_state = step(start_id if mistake == "feeds start every time" else token, state)
            state = state if mistake == "state not updated" else new_state
            token = int(np.argmax(probabilities) if mistake == "ignores pick" else pick(probabilities))
            if token == end_id and mistake not in ("keeps end", "never breaks"):
                break
            out.append(probabilities if mistake == "returns probabilities" else token)
            if token == end_id and mistake == "keeps end":
                break
        return out

    if mistake == "no pick parameter":
        return lambda step, state, start_id, end_id, max_len: run_decoder(step, state, start_id, end_id, max_len)
    return run_decoder


def _not_done(*args, **kwargs):
    raise NotImplementedError


def test_the_mistakes_loop_without_a_mistake_is_the_reference(capsys):
    """Guards the test below: each finding comes from the one mistake, not from a broken copy of the loop."""
    assert checks.check_run_decoder(_loop_with(None)) is True


def test_checker_accepts_reference(capsys):
    assert checks.check_run_decoder(as_student(s2s.run_decoder)) is True
    assert "correct" in capsys.readouterr().out


def test_checker_accepts_the_notebooks_answer(capsys):
    assert checks.check_run_decoder(notebook_function("06", "run_decoder", np=np)) is True


@pytest.mark.parametrize("mistake", MISTAKES)
def test_checker_rejects_typical_mistakes_with_hint(mistake, capsys):
    assert checks.check_run_decoder(_loop_with(mistake)) is False
    out = capsys.readouterr().out
    assert MISTAKES[mistake] in out, out


def test_checker_reports_not_done(capsys):
    assert checks.check_run_decoder(_not_done) is False
    assert "not done yet" in capsys.readouterr().out


def test_run_decoder_check_refuses_the_reference_and_the_batch_decoder(capsys):
    assert checks.check_run_decoder(s2s.run_decoder) is False
    assert "calls utils.seq2seq.run_decoder" in capsys.readouterr().out

    def batch_in_disguise(step, state, start_id, end_id, max_len, pick=np.argmax):
        return s2s.greedy_decode_batch(step, state, max_len)

    assert checks.check_run_decoder(batch_in_disguise) is False
    assert "calls utils.seq2seq.greedy_decode_batch" in capsys.readouterr().out


def test_run_decoder_check_refuses_a_lookup_table_of_the_visible_cases(capsys, monkeypatch):
    monkeypatch.setitem(checks_framework._SESSION, "case_seed", 2024)
    table = {}
    for _, path, max_len, make_pick in checks._CASES:
        stub, picks = checks.StubDecoder(path), (make_pick(),) if make_pick else ()
        table[max_len, bool(picks)] = s2s.run_decoder(stub.step, stub.initial_state(), checks.START, checks.END,
                                                      max_len, *picks)

    def lookup(step, state, start_id, end_id, max_len, pick=None):
        return table.get((max_len, pick is not None), [])

    assert checks.check_run_decoder(lookup) is False
    assert "a fresh case" in capsys.readouterr().out


# --- Exercise 2 (attention by hand): the reference, the checker both ways --------------------------------------------


def test_dot_attention_by_hand_on_a_worked_case():
    """One query, three positions, the first padded: scores 1·1 = 1 and 1·3 = 3, softmax over the last two."""
    query = np.array([[[1.0, 0.0]]])
    values = np.array([[[5.0, 5.0], [1.0, 2.0], [3.0, 0.0]]])
    context, weights = s2s.dot_attention(query, values, np.array([[False, True, True]]))
    e = np.exp([1.0, 3.0])
    np.testing.assert_allclose(weights, [[[0.0, e[0] / e.sum(), e[1] / e.sum()]]])
    np.testing.assert_allclose(context, [[[(e[0] * 1 + e[1] * 3) / e.sum(), 2 * e[0] / e.sum()]]])


@pytest.mark.parametrize("seed", range(4))
def test_dot_attention_is_what_keras_attention_computes(seed):
    rng = np.random.default_rng(seed)
    query, values, mask = checks._attention_case(rng, 3, 2, 6, 4)
    ours, theirs = s2s.dot_attention(query, values, mask), checks.keras_attention(query, values, mask)
    for mine, keras_s in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(mine, keras_s, atol=1e-5, rtol=1e-4)


def test_dot_attention_refuses_arrays_that_do_not_fit():
    with pytest.raises(ValueError, match=r"\(batch, Tq, units\)"):
        s2s.dot_attention(np.ones((1, 2, 3)), np.ones((1, 4, 2)), np.ones((1, 4), bool))
    with pytest.raises(ValueError, match="at least one True"):
        s2s.dot_attention(np.ones((1, 2, 3)), np.ones((1, 4, 3)), np.zeros((1, 4), bool))


def _einsum_attention(query, values, mask):
    """A right answer in another style: einsum, a large negative number instead of -inf, a loop-free softmax."""
    scores = np.einsum("btu,bsu->bts", query, values) - 1e9 * (1 - np.asarray(mask, float))[:, None, :]
    scores = scores - scores.max(axis=2, keepdims=True)
    weights = np.exp(scores) / np.exp(scores).sum(axis=2, keepdims=True)
    return np.einsum("bts,bsu->btu", weights, values), weights


def _looped_attention(query, values, mask):
    """A right answer one decoder step and one batch row at a time, with lists."""
    context, weights = np.zeros(query.shape), np.zeros(query.shape[:2] + values.shape[1:2])
    for b in range(query.shape[0]):
        real = np.flatnonzero(mask[b])
        for t in range(query.shape[1]):
            scores = np.array([query[b, t] @ values[b, j] for j in real])
            w = np.exp(scores - scores.max())
            weights[b, t, real] = w / w.sum()
            context[b, t] = weights[b, t] @ values[b]
    return context, weights


@pytest.mark.parametrize("answer", [as_student(s2s.dot_attention), _einsum_attention, _looped_attention],
                         ids=["reference as a student", "einsum", "loops"])
def test_attention_check_accepts_right_answers_in_other_styles(answer, capsys):
    assert checks.check_dot_attention(answer) is True, capsys.readouterr().out


def test_attention_check_accepts_the_notebooks_answer(capsys):
    assert checks.check_dot_attention(notebook_function("06", "dot_attention", np=np)) is True


def _attention_with(mistake):
    """The reference with one typical mistake."""
    def answer(query, values, mask):
        scores = query @ values.transpose(0, 2, 1)
        if mistake == "scaled":
            scores = scores / np.sqrt(query.shape[-1])
        if mistake == "mask multiplied":
            scores = scores * mask[:, None, :]
        elif mistake == "mask inverted":
            scores = np.where(mask[:, None, :], -np.inf, scores)
        elif mistake not in ("no mask", "mask after softmax"):
            scores = np.where(mask[:, None, :], scores, -np.inf)
        axis = 1 if mistake == "wrong axis" else -1
        if mistake == "no softmax":
            weights = np.where(mask[:, None, :], scores, 0.0)
        elif mistake == "naive softmax":
            weights = np.exp(scores) / np.exp(scores).sum(axis=axis, keepdims=True)
        else:
            weights = np.exp(scores - scores.max(axis=axis, keepdims=True))
            weights = weights / weights.sum(axis=axis, keepdims=True)
        if mistake == "mask after softmax":
            weights = weights * mask[:, None, :]
        if mistake == "unweighted context":
            return values.sum(axis=1, keepdims=True).repeat(query.shape[1], axis=1), weights
        if mistake == "swapped":
            return weights, weights @ values
        if mistake == "transposed":
            return weights @ values, weights.transpose(0, 2, 1)
        if mistake == "in place":
            query *= 1.0
            query[...] = 0.0
        return weights @ values, weights

    return answer


ATTENTION_MISTAKES = {
    "no mask": "padding got weight",
    "mask inverted": "the mask is the wrong way round",
    "mask multiplied": "not minus infinity",
    "mask after softmax": "mask the scores before the softmax",
    "wrong axis": "the softmax runs over the wrong axis",
    "scaled": "divided by √units",
    "no softmax": "turn the scores into weights with a softmax",
    "naive softmax": "exp of a large score overflows",
    "unweighted context": "the context is the weighted sum of the values",
    "swapped": "(weights, context) came back in the wrong order",
    "transposed": "yours are transposed",
    "in place": "changed its arguments in place",
}


@pytest.mark.parametrize("mistake", ATTENTION_MISTAKES)
def test_attention_check_names_each_typical_mistake(mistake, capsys):
    with np.errstate(all="ignore"):
        assert checks.check_dot_attention(_attention_with(mistake)) is False
    out = capsys.readouterr().out
    assert ATTENTION_MISTAKES[mistake] in out, out
    assert "a worked step:" not in out  # the code comes on a second try, or with hint()


def test_attention_check_shows_the_worked_step_on_the_second_try(capsys):
    checks_framework.reset()
    checks.check_dot_attention(_attention_with("no mask"))
    first = capsys.readouterr().out
    checks.check_dot_attention(_attention_with("no mask"))
    second = capsys.readouterr().out
    assert "np.where(mask" not in first and "np.where(mask" in second, second


def test_attention_check_refuses_the_reference_and_keras(capsys):
    assert checks.check_dot_attention(s2s.dot_attention) is False
    assert "calls utils.seq2seq.dot_attention" in capsys.readouterr().out

    def keras_layer(query, values, mask):
        return checks.keras_attention(query, values, mask)

    assert checks.check_dot_attention(keras_layer) is False
    assert "calls keras.layers.Attention" in capsys.readouterr().out


def test_attention_check_refuses_a_lookup_table_of_the_visible_cases(capsys, monkeypatch):
    monkeypatch.setitem(checks_framework._SESSION, "case_seed", 7)
    table = {q.tobytes(): checks.keras_attention(q, v, m) for _, (q, v, m) in checks.visible_attention_cases()}
    assert checks.check_dot_attention(lambda q, v, m: table.get(np.asarray(q).tobytes())) is False
    assert "a fresh case" in capsys.readouterr().out


class _ArrayLike:
    def __init__(self, array):
        self.array = array

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.array, dtype=dtype)


@pytest.mark.parametrize("odd", ["lists", "array-like", "nan", "one array", "generator"])
def test_attention_check_survives_odd_answers(odd, capsys):
    def answer(query, values, mask):
        context, weights = _einsum_attention(query, values, mask)
        return {"lists": (context.tolist(), weights.tolist()),
                "array-like": (_ArrayLike(context), _ArrayLike(weights)),
                "nan": (context, weights * np.nan),
                "one array": weights,
                "generator": (x for x in (context, weights))}[odd]

    verdict = checks.check_dot_attention(answer)
    out = capsys.readouterr().out
    assert "check itself hit a problem" not in out and "Traceback" not in out, out
    assert verdict is (odd in ("lists", "array-like")), out  # numbers in another container are still right


# --- Exercise 3 (beam search): the reference, the checker both ways --------------------------------------------------


def _tree_search(tree, max_len, beam_width, alpha, search=None):
    stub = checks.TreeDecoder(**tree)
    return (search or s2s.beam_search)(stub.step, stub.initial_state(), checks.START, checks.END, max_len,
                                       beam_width=beam_width, alpha=alpha)


def test_beam_search_finds_what_greedy_misses_worked_by_hand():
    """The greedy trap: greedy writes a (0.5), then a flat row; the best whole output is b, [end]: 0.4 × 0.9 = 0.36."""
    tree = {"table": checks._GREEDY_TRAP}
    assert _tree_search(tree, 4, 2, 0.0) == [checks._B]
    stub = checks.TreeDecoder(**tree)
    assert s2s.run_decoder(stub.step, stub.initial_state(), checks.START, checks.END, 4)[0] == checks._A
    # Length: [end] alone has probability 0.4; a, a, [end] has 0.55 × 0.85 × 0.8 = 0.374 but a better mean.
    assert _tree_search({"table": checks._LENGTH_TRAP}, 5, 2, 0.0) == []
    assert _tree_search({"table": checks._LENGTH_TRAP}, 5, 2, 1.0) == [checks._A, checks._A]


@pytest.mark.parametrize("seed", range(5))
def test_beam_width_one_is_greedy_decoding(seed):
    tree = {"seed": seed, "end_weight": 0.5}
    stub = checks.TreeDecoder(**tree)
    assert _tree_search(tree, 5, 1, 1.0) == s2s.run_decoder(stub.step, stub.initial_state(), checks.START,
                                                           checks.END, 5)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_a_beam_wide_enough_to_keep_everything_finds_the_best_output(seed, alpha):
    """With nothing pruned, beam search is an exhaustive search: compare with enumerating every output."""
    tree, max_len = checks.TreeDecoder(seed=seed, end_weight=0.5), 3
    outputs = []
    for length in range(max_len + 1):
        for tokens in itertools.product(range(checks._TREE_VOCAB), repeat=length):
            if checks.END in tokens:
                continue
            log_p, written = 0.0, ()
            for token in tokens:
                log_p, written = log_p + np.log(tree.probabilities(written)[token]), written + (token,)
            if length < max_len:  # finished: [end] chosen next, and counted in the length
                outputs.append(((log_p + np.log(tree.probabilities(written)[checks.END])) / (length + 1) ** alpha,
                                list(tokens)))
            else:
                outputs.append((log_p / length ** alpha, list(tokens)))
    best = max(outputs, key=lambda output: output[0])[1]
    assert _tree_search({"seed": seed, "end_weight": 0.5}, max_len, checks._TREE_VOCAB ** max_len, alpha) == best


def _heap_beam_search(step, state, start_id, end_id, max_len, beam_width=3, alpha=1.0):
    """A right answer in another style: heapq, a dict per output, and all tokens considered before pruning."""
    import heapq

    live, finished = [{"score": 0.0, "tokens": [], "next": start_id, "state": state}], []
    for _ in range(max_len):
        candidates = []
        for output in live:
            probabilities, new_state = step(output["next"], output["state"])
            for token, p in enumerate(probabilities):
                candidates.append({"score": output["score"] + float(np.log(p)), "tokens": output["tokens"],
                                   "next": token, "state": new_state})
        best = heapq.nlargest(beam_width, candidates, key=lambda c: c["score"])
        finished += [{"score": c["score"], "tokens": c["tokens"], "length": len(c["tokens"]) + 1}
                     for c in best if c["next"] == end_id]
        live = [{**c, "tokens": c["tokens"] + [c["next"]]} for c in best if c["next"] != end_id]
        if not live:
            break
    pool = finished + [{"score": o["score"], "tokens": o["tokens"], "length": len(o["tokens"])} for o in live]
    return max(pool, key=lambda o: o["score"] / o["length"] ** alpha)["tokens"]


@pytest.mark.parametrize("answer", [as_student(s2s.beam_search), _heap_beam_search],
                         ids=["reference as a student", "heapq and dicts"])
def test_beam_check_accepts_right_answers_in_other_styles(answer, capsys):
    assert checks.check_beam_search(answer) is True, capsys.readouterr().out


def test_beam_check_accepts_the_notebooks_answer(capsys):
    assert checks.check_beam_search(notebook_function("06", "beam_search", np=np)) is True


def _beam_with(mistake):
    def answer(step, state, start_id, end_id, max_len, beam_width=3, alpha=1.0):
        return checks._beam_variant(step, state, max_len, beam_width, alpha, mistake)

    return answer


@pytest.mark.parametrize("mistake", checks._BEAM_MISTAKES)
def test_beam_check_names_each_typical_mistake(mistake, capsys):
    assert checks.check_beam_search(_beam_with(mistake)) is False
    out = capsys.readouterr().out
    assert checks._BEAM_MISTAKES[mistake] in out, out
    assert "a worked step:" not in out


def test_beam_check_names_other_faults(capsys):
    assert checks.check_beam_search(lambda step, state, start_id, end_id, max_len: []) is False
    assert "keep the signature" in capsys.readouterr().out

    def forever(step, state, start_id, end_id, max_len, beam_width=3, alpha=1.0):
        while True:
            _, state = step(start_id, state)

    assert checks.check_beam_search(forever) is False
    assert "never stops" in capsys.readouterr().out
    assert checks.check_beam_search(_not_done) is False
    assert "not done yet" in capsys.readouterr().out


def test_beam_check_refuses_the_reference_and_a_lookup_table(capsys, monkeypatch):
    assert checks.check_beam_search(s2s.beam_search) is False
    assert "calls utils.seq2seq.beam_search" in capsys.readouterr().out
    monkeypatch.setitem(checks_framework._SESSION, "case_seed", 11)

    def fingerprint(step, state, start_id, alpha):
        return step(start_id, state)[0].round(6).tobytes(), alpha

    table = {}
    for _, tree, max_len, width, alpha in checks._BEAM_CASES:
        stub = checks.TreeDecoder(tree)
        table[fingerprint(stub.step, stub.initial_state(), checks.START, alpha), width] = _tree_search(
            {"table": tree}, max_len, width, alpha)

    def lookup(step, state, start_id, end_id, max_len, beam_width=3, alpha=1.0):
        return table.get((fingerprint(step, state, start_id, alpha), beam_width), [])

    assert checks.check_beam_search(lookup) is False
    assert "a fresh decoder" in capsys.readouterr().out


# --- the exercises of notebook 06 in the student's view -------------------------------------------------------------


def test_the_exercise_stubs_do_not_say_where_the_answers_live():
    """The student's cells of Exercises 1-3 name no module that holds the reference answer."""
    import nbformat

    from utils import ROOT

    student = nbformat.read(ROOT / "notebooks" / "06_neural_machine_translation.ipynb", as_version=4)
    for name in ("run_decoder", "dot_attention", "beam_search"):
        (cell,) = [c.source for c in student.cells if c.cell_type == "code" and f"def {name}(" in c.source]
        assert "NotImplementedError" in cell and "utils" not in cell and "seq2seq" not in cell, cell


# --- notebook 06 shows what its text describes -----------------------------------------------------------------------


def test_notebook_06_lays_out_the_pair_its_text_names():
    """The teacher-forcing cell is meant to show 71 (*soixante et onze*); it once showed whatever pair came first."""
    outputs = [output_text(cell) for cell in solution("06").cells if "encoder_input:" in output_text(cell)]
    assert len(outputs) == 1, "expected one cell printing the three teacher-forcing arrays"
    assert "'seventy'" in outputs[0] and "'soixante', 'et', 'onze'" in outputs[0], outputs[0]


# --- the lesson's code is in the notebooks' sight ---------------------------------------------------------------------


def test_notebook_06_writes_the_wiring_in_visible_saved_cells_and_the_loop_in_its_exercise():
    """The encoder–decoder and the loop are 06's topic: the wiring in saved cells (identical copies checked by
    test_saved_code), the loop in the exercise cell, whose stub must not point at the reference in utils."""
    from tests.test_saved_code import SOURCES, saved_cells, top_level_definitions

    notebook = next(path for path in SOURCES if path.name.startswith("06_"))
    saved = {name for module, code in saved_cells(notebook) if module == "utils/seq2seq.py"
             for name in top_level_definitions(code)}
    assert {"training_model", "inference_models", "build_seq2seq"} <= saved, saved
    assert "build_seq2seq" not in attributes_used("06", "s2s")  # 06 builds its translator with the function it shows
    assert "run_decoder" not in saved  # Exercise 1: the student writes the loop; utils keeps the reference
    notebook_function("06", "run_decoder", np=np)  # defined in a visible cell of its own


def test_notebook_07_reuses_06s_code_and_the_shared_learning_curve_plot():
    used = set(attributes_used("07", "s2s"))
    assert {"build_seq2seq", "run_decoder", "build_attention_seq2seq", "greedy_decode_batch"} <= used
    assert [args[0] for args in call_arguments("07", "plots.plot_learning_curves")] == ["model_curves"]
    assert not call_arguments("07", "ax.plot")


def test_the_checkers_module_says_which_notebooks_it_checks():
    """Its docstring once said "notebook 06" while it also held 07's checker; 07's now has a module of its own."""
    from utils.checks import chat

    for prefix, names, module in (("06", ("check_beam_search", "check_dot_attention", "check_run_decoder"), checks),
                                  ("07", ("check_ban_repeats",), chat)):
        for checker in names:
            assert imported_from(prefix).get(checker) == module.__name__, checker
        assert prefix in module.__doc__.splitlines()[0], module.__doc__.splitlines()[0]


# --- the encoder–decoder with attention (build_attention_seq2seq: notebook 06 teaches it, 07 reuses it) --------------


@pytest.fixture(scope="module")
def attention_translator():
    """A small attention translator trained briefly on numbers below 1,000; 200 held-out numbers as id lists (every
    source padded, lengths 1 to 5 tokens), and the decoding length."""
    import keras

    keras.utils.set_random_seed(7)
    train_numbers, test_numbers = s2s.number_split(500, 200, max_number=999, seed=7)
    pairs = s2s.number_pairs(list(train_numbers) + list(test_numbers))
    english = s2s.WordVocabulary.from_corpus(s2s.number_tokens(e) for e, _ in pairs)
    french = s2s.WordVocabulary.from_corpus(s2s.number_tokens(f) for _, f in pairs)
    sources = [english.encode(s2s.number_tokens(e)) for e, _ in pairs]
    targets = [french.encode(s2s.number_tokens(f)) for _, f in pairs]
    source_length, target_length = max(map(len, sources)) + 2, max(map(len, targets)) + 1
    model = s2s.build_attention_seq2seq(len(english), len(french), source_length, embed_dim=16, units=32,
                                        learning_rate=2e-2)
    arrays = s2s.teacher_forcing(sources[:500], targets[:500], source_length, target_length)
    _train_briefly(model, arrays, 8, 100)
    return model, sources[500:], target_length


def test_attention_models_have_the_documented_shapes(attention_translator):
    model, _, _ = attention_translator
    S, units, V = model.source_length, model.units, model.layers["decoder_output"].units
    assert isinstance(model, s2s.AttentionSeq2Seq) and isinstance(model, s2s.Seq2Seq)
    assert [tuple(t.shape) for t in model.encoder.outputs] == [(None, S, units), (None, S), (None, units),
                                                                (None, units)]
    assert [tuple(t.shape) for t in model.decoder.inputs] == [(None, 1), (None, S, units), (None, S),
                                                               (None, units), (None, units)]
    assert [tuple(t.shape) for t in model.decoder.outputs] == [(None, V), (None, units), (None, units), (None, S)]
    assert tuple(model.model.outputs[0].shape) == (None, None, V)
    assert model.layers["attention"] is model.model.get_layer("attention")  # one set of weights for all three


def test_attention_state_is_passed_along_by_run_decoder(attention_translator):
    """The state contract: [encoder states, source mask, h, c]; a step keeps the first two and renews h and c."""
    model, sources, _ = attention_translator
    state = model.initial_state(sources[0])
    assert len(state) == 4 and state[1].dtype == bool
    assert state[1][0].sum() == len(sources[0])  # the mask is True on the real tokens only
    probabilities, new_state = model.step_one(s2s.START_ID, state)
    assert probabilities.shape == (model.layers["decoder_output"].units,)
    assert np.isclose(probabilities.sum(), 1, atol=1e-5)
    assert new_state[0] is not None and np.array_equal(new_state[0], state[0])
    assert np.array_equal(new_state[1], state[1])
    assert not np.allclose(new_state[2], state[2])
    with pytest.raises(ValueError, match=r"\[encoder states, source mask, h, c\]"):
        model.step([s2s.START_ID], state[2:])


def test_attention_one_at_a_time_equals_the_batch(attention_translator):
    """run_decoder over step_one (one number) and greedy_decode_batch (all) give the same translations."""
    model, sources, max_len = attention_translator
    batch = s2s.greedy_decode_batch(model, model.encoder_input(sources), max_len)
    single = [s2s.run_decoder(model.step_one, model.initial_state(ids), s2s.START_ID, s2s.END_ID, max_len)
              for ids in sources]
    assert single == batch
    assert len({tuple(b) for b in batch}) > 10, "translations must depend on the source for this test to mean anything"


def test_attention_inference_wiring_matches_training(attention_translator):
    """Step by step, the one-step decoder gives the teacher-forced model's probabilities: the two wirings agree."""
    model, sources, max_len = attention_translator
    encoder_input = model.encoder_input(sources[:20])
    decoder_input = np.random.default_rng(0).integers(4, model.layers["decoder_output"].units, (20, max_len))
    decoder_input[:, 0] = s2s.START_ID
    forced = model.model.predict([encoder_input, decoder_input], verbose=0)
    state, steps = model.encode(encoder_input), []
    for t in range(max_len):
        probabilities, state = model.step(decoder_input[:, t], state)
        steps.append(probabilities)
    assert np.allclose(np.stack(steps, axis=1), forced, atol=1e-5)


def test_attention_weights_sum_to_one_on_the_real_tokens(attention_translator):
    model, sources, max_len = attention_translator
    state = model.encode(model.encoder_input(sources))
    _, _, weights = model.step_with_weights(np.full(len(sources), s2s.START_ID), state)
    assert np.allclose(weights.sum(axis=1), 1, atol=1e-5)
    assert np.all(weights[~state[1]] < 1e-6)  # padding gets no attention
    for ids in sources[:5]:
        output, grid = s2s.attention_map(model, ids, max_len)
        assert grid.shape == (len(output) + 1, len(ids)) or (len(output) == max_len and grid.shape[0] == max_len)
        assert np.allclose(grid.sum(axis=1), 1, atol=1e-5)  # all of it on the real tokens, in reading order
        assert output == s2s.run_decoder(model.step_one, model.initial_state(ids), s2s.START_ID, s2s.END_ID, max_len)


def test_attention_map_reads_source_columns_in_reading_order():
    """Column k of attention_map is source token k, though the encoder reads the source reversed behind padding."""

    class Pretend:
        source_length = 5

        def initial_state(self, ids):
            return ["state"]

        def step_with_weights(self, tokens, state):
            weights = np.array([[0.0, 0.0, 0.1, 0.2, 0.7]])  # positions 2..4 hold tokens 2, 1, 0
            return np.eye(6)[[s2s.END_ID]], state, weights

    ids, grid = s2s.attention_map(Pretend(), [7, 8, 9], max_len=4)
    assert ids == [] and np.allclose(grid, [[0.7, 0.2, 0.1]])
    with pytest.raises(ValueError, match="AttentionSeq2Seq"):
        s2s.attention_map(s2s.build_seq2seq(9, 9, source_length=3), [5], 4)


def test_attention_wiring_refuses_the_plain_layers():
    plain = s2s.build_seq2seq(9, 9, source_length=3, embed_dim=4, units=4)
    with pytest.raises(ValueError, match="build_attention_seq2seq"):
        s2s.attention_training_model(plain.layers, 3)
    with pytest.raises(ValueError, match="must be at least|count the 4 special"):
        s2s.build_attention_seq2seq(4, 9, source_length=3)


def test_notebook_06_writes_the_attention_wiring_in_visible_saved_cells():
    from tests.test_saved_code import SOURCES, saved_cells, top_level_definitions

    notebook = next(path for path in SOURCES if path.name.startswith("06_"))
    cells = [code for module, code in saved_cells(notebook) if module == "utils/seq2seq.py"]
    saved = {name for code in cells for name in top_level_definitions(code)}
    assert {"attention_training_model", "attention_inference_models", "build_attention_seq2seq"} <= saved, saved
    assert any(code.startswith("# Saved in utils/seq2seq.py: 07 reuses it") and "def build_attention_seq2seq" in code
               for code in cells)
    assert "build_attention_seq2seq" not in attributes_used("06", "s2s")


def test_attention_maps_decode_a_batch_as_attention_map_decodes_each(attention_translator):
    model, sources, max_len = attention_translator
    maps = s2s.attention_maps(model, sources[:30], max_len)
    for ids, (batch_ids, batch_weights) in zip(sources[:30], maps, strict=True):
        one_ids, one_weights = s2s.attention_map(model, ids, max_len)
        assert batch_ids == one_ids
        np.testing.assert_allclose(batch_weights, one_weights, atol=1e-5)


def test_restart_gives_a_fresh_reproducible_start_and_resets_adam():
    import keras

    model = s2s.build_attention_seq2seq(9, 9, source_length=3, embed_dim=4, units=4, learning_rate=1e-2)
    arrays = s2s.teacher_forcing([[4, 5], [6]], [[7, 8], [5]], 3, 4)
    model.model.fit(list(arrays[:2]), arrays[2], epochs=2, verbose=0)
    trained = model.model.get_weights()
    starts = []
    for _ in range(2):
        keras.utils.set_random_seed(3)
        model.restart()
        starts.append(model.model.get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(*starts, strict=True))  # the same seed, the same start
    assert not all(np.array_equal(a, b) for a, b in zip(trained, starts[0], strict=True))
    optimizer = {v.name: np.asarray(v) for v in model.model.optimizer.variables}
    assert optimizer["iteration"] == 0 and optimizer["learning_rate"] == pytest.approx(1e-2)
    assert all(not value.any() for name, value in optimizer.items() if name not in ("iteration", "learning_rate"))


# --- the decoders' edges: defaults, ties, outputs that all end, bad arguments, the rule, attention_map's wiring -------


def test_beam_search_keeps_three_outputs_and_ranks_by_mean_log_probability_by_default():
    """The documented defaults (beam_width=3, alpha=1), on trees where another width or alpha picks otherwise."""
    wide, long = {"seed": 0, "end_weight": 0.5}, {"seed": 11, "end_weight": 0.5}
    stub = checks.TreeDecoder(**wide)
    default = s2s.beam_search(stub.step, stub.initial_state(), checks.START, checks.END, 4)
    assert default == _tree_search(wide, 4, 3, 1.0) != _tree_search(wide, 4, 4, 1.0)
    stub = checks.TreeDecoder(**long)
    default = s2s.beam_search(stub.step, stub.initial_state(), checks.START, checks.END, 3)
    assert default == _tree_search(long, 3, 3, 1.0) != _tree_search(long, 3, 3, 2.0)


def test_beam_search_returns_the_output_when_every_kept_output_has_ended():
    stub = checks.StubDecoder([5, 7, 4])
    assert s2s.beam_search(stub.step, stub.initial_state(), checks.START, checks.END, 10, beam_width=1) == [5, 7, 4]


def test_beam_width_one_picks_what_greedy_picks_when_words_tie():
    """Eight words equally likely: greedy decoding (np.argmax) takes the first; so does a beam of width one."""
    tie = np.array([0.0] * 9 + [1 / 8] * 8)

    def step(token, steps):
        return (tie if steps < 2 else np.eye(len(tie))[s2s.END_ID]), steps + 1

    greedy = s2s.run_decoder(step, 0, s2s.START_ID, s2s.END_ID, 5)
    assert greedy == [9, 9] and s2s.beam_search(step, 0, s2s.START_ID, s2s.END_ID, 5, beam_width=1) == greedy


@pytest.mark.parametrize("argument, value, message", [
    ("max_len", 0, "max_len must be a positive whole number, not 0: the longest output to produce, e.g. 20"),
    ("beam_width", 0, "beam_width must be a positive whole number, not 0: how many outputs to keep at each step, "
                      "e.g. 3"),
    ("alpha", "1", "alpha must be a finite number, not '1': 0 for no length normalisation, 1 for the mean "
                   "log-probability per token"),
    ("step", [1], "step must be a function step(token, state) -> (probabilities, new state), such as "
                  "seq2seq.step_one, not list"),
])
def test_beam_search_refuses_bad_arguments_and_names_the_fix(argument, value, message):
    stub = checks.StubDecoder([5])
    arguments = {"step": stub.step, "state": stub.initial_state(), "start_id": checks.START, "end_id": checks.END,
                 "max_len": 5, argument: value}
    with pytest.raises(ValueError) as info:
        s2s.beam_search(**arguments)
    assert str(info.value) == message


def test_batch_decoding_applies_the_rule_to_each_unfinished_row_with_what_that_row_wrote():
    """07's repetition ban: ``rule`` sees each row's own written ids, and only while the row is still writing."""
    seen = []

    def no_repeats(probabilities, written):
        seen.append(list(written))
        probabilities = probabilities.copy()
        probabilities[written] = 0.0
        return probabilities

    copier = _Copier()
    assert s2s.greedy_decode_batch(copier, [[0, 7, 7, 7]], 6) == [[7, 7, 7]]
    assert s2s.greedy_decode_batch(copier, [[0, 7, 7, 7], [0, 0, 0, 6]], 6, rule=no_repeats) == [[7, 0], [6]]
    assert seen == [[], [], [7], [6], [7, 0]]  # step 1: both rows; step 2: both; step 3: the row still writing


def test_batch_decoding_leaves_the_models_probabilities_as_they_were():
    """A model may hand back a buffer it keeps: the ban and the rule work on a copy."""
    returned = []

    class Keeping(_Copier):
        def step(self, tokens, state):
            probabilities, state = super().step(tokens, state)
            returned.append((probabilities, probabilities.copy()))
            return probabilities, state

    s2s.greedy_decode_batch(Keeping(), _COPIED, 6, rule=lambda p, written: p * 0 + np.arange(len(p)))
    assert returned and all(np.array_equal(kept, copy) for kept, copy in returned)


class _Reader:
    """A pretend attention model that copies its source and attends to the token it copies: fed [start] and then
    each token it wrote, it writes the source's next token, then [end]; anything else, it gives up ([end])."""

    source_length = 4

    def initial_state(self, ids):
        return [list(ids), 0]

    def step_with_weights(self, tokens, state):
        (token,), (source, t) = np.ravel(tokens).tolist(), state
        expected = s2s.START_ID if t == 0 else source[t - 1]
        word = source[t] if token == expected and t < len(source) else s2s.END_ID
        weights = np.zeros((1, self.source_length))
        weights[0, self.source_length - 1 - min(t, len(source) - 1)] = 1.0  # position of source token t
        return np.eye(12)[[word]], [source, t + 1], weights


def test_attention_map_feeds_each_chosen_token_and_the_state_back():
    ids, grid = s2s.attention_map(_Reader(), [5, 8], max_len=6)
    assert ids == [5, 8] and np.array_equal(grid, [[1, 0], [0, 1], [0, 1]])
    ids, grid = s2s.attention_map(_Reader(), [7], max_len=6)  # one token is a source too
    assert ids == [7] and grid.shape == (2, 1)


def test_attention_map_refuses_an_empty_source_and_a_model_without_attention():
    with pytest.raises(ValueError, match=r"^Empty source sequence: give at least one token\.$"):
        s2s.attention_map(_Reader(), [], max_len=6)
    with pytest.raises(ValueError, match=r"^seq2seq must be an AttentionSeq2Seq from build_attention_seq2seq\(\), "
                                         r"not list"):
        s2s.attention_map([_Reader()], [5], max_len=6)


def test_a_decoder_that_is_sure_of_each_token_is_searched_without_warnings():
    """A confident float32 model gives exactly 0 to most tokens (underflow): the beam still ranks every extension,
    and no "divide by zero in log" warning reaches the student's notebook."""
    import warnings

    path = [5, 7, 4, checks.END]

    def sure(token, steps):
        return np.eye(checks.VOCAB_SIZE)[path[min(steps, 3)]], steps + 1

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert s2s.beam_search(sure, 0, checks.START, checks.END, 6) == [5, 7, 4]
