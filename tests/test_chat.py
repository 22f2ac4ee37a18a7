"""Notebook 07's chat data and scoring: prompt -> reply pairs, held-out prompts, token F1, distinct replies, the
unigram and retrieval baselines, greedy replies that never write [UNK] (one prompt at a time and in a batch), and the
repetition ban of Exercise 1 with its check, both ways.

The scoring and baseline functions live in notebook 07's cells (they are its lesson): they are tested there, through
``tests/notebook_code.py``. The data functions live in ``utils.seq2seq``.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics.pairwise import cosine_similarity

from tests.answers import as_student
from tests.notebook_code import notebook_function, notebook_namespace
from utils import sampling
from utils import seq2seq as s2s
from utils.checks import chat as chat_checks

# --- pairs: a prompt is what the user says, its reply what the bot answers -------------------------------------------


def _corpus(folder, name, *conversations):
    """Write a chatterbot-style YAML file ``name``.yml with these conversations (lists of lines)."""
    lines = [f"categories: [{name}]", "conversations:"]
    for conversation in conversations:
        lines += [f"- - {conversation[0]}"] + [f"  - {line}" for line in conversation[1:]]
    (folder / f"{name}.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_dialogue_pairs_each_user_line_with_the_bot_line_after_it(tmp_path):
    _corpus(tmp_path, "talk", ["Hello", "Hi", "How are you doing?", "I am doing well.", "That is good to hear"])
    assert s2s.chat_pairs(corpus_dir=tmp_path) == [("Hello", "Hi"), ("How are you doing?", "I am doing well.")]


def test_a_file_of_alternative_replies_pairs_every_line_with_the_first(tmp_path):
    _corpus(tmp_path, "emotion", ["You are arrogant", "Arrogance is not one of my emotions.", "I am terse."])
    assert s2s.chat_pairs(corpus_dir=tmp_path) == [("You are arrogant", "Arrogance is not one of my emotions."),
                                                   ("You are arrogant", "I am terse.")]
    assert s2s.chat_pairs(corpus_dir=tmp_path, alternative_reply_files=()) == [
        ("You are arrogant", "Arrogance is not one of my emotions.")]


def test_installed_corpus_pairs_are_prompt_then_reply():
    pairs = s2s.chat_pairs()
    assert len(pairs) == 1125  # chatterbot-corpus 1.3.3 (data/README.md)
    assert ("How are you doing?", "I am doing well.") in pairs  # conversations.yml, lines 2 -> 3
    assert ("Hi", "How are you doing?") not in pairs  # the bot's line 1 is never a prompt
    assert ("You are arrogant", "I have no real emotions, so how can I be arrogant?") in pairs  # emotion.yml
    assert not any(prompt == "Arrogance is not one of my emotions." for prompt, _ in pairs)
    assert ("What is a computer?", "The thing you're using to talk to me is a computer.") in pairs  # computers.yml


def test_conversation_pairs():
    assert s2s.conversation_pairs(["a", "b", "c"]) == [("a", "b")]
    assert s2s.conversation_pairs(["a", "b", "c"], alternatives=True) == [("a", "b"), ("a", "c")]
    assert s2s.conversation_pairs(["a"]) == []


def test_replies_by_prompt_gathers_every_reply_of_a_prompt():
    held_out = s2s.replies_by_prompt([("What is AI?", "A field."), ("Hi", "Hello"), ("what is AI", "Science.")])
    assert held_out == {"What is AI?": ["A field.", "Science."], "Hi": ["Hello"]}
    assert s2s.prompt_key("What is AI?") == s2s.prompt_key("what is ai") == "what is ai"
    with pytest.raises(ValueError, match="No pairs"):
        s2s.replies_by_prompt([])
    with pytest.raises(ValueError, match="must be a string"):
        s2s.prompt_key(None)


def test_notebook_splits_keep_every_held_out_prompt_unseen():
    pairs = s2s.chat_pairs()
    train_val, test = s2s.split_by_prompt(pairs, test_fraction=0.1, seed=7)
    train, val = s2s.split_by_prompt(train_val, test_fraction=0.1, seed=8)
    keys = [{s2s.prompt_key(p) for p, _ in part} for part in (train, val, test)]
    assert not keys[0] & keys[1] and not keys[0] & keys[2] and not keys[1] & keys[2]
    assert len(train) + len(val) + len(test) == len(pairs)


# --- token F1 and distinct replies (notebook 07's cell) --------------------------------------------------------------


@pytest.fixture(scope="module")
def scoring():
    return notebook_namespace("07", "reply_words", "token_f1", "score_replies")


def test_token_f1_is_squad_style(scoring):
    f1 = scoring["token_f1"]
    assert f1("I am doing well.", "I am doing very well, thank you.") == pytest.approx(8 / 11)  # P 1, R 4/7
    assert f1("Python.", "I am written in Python.") == pytest.approx(2 * 1 * 0.2 / 1.2)  # P 1, R 1/5
    assert f1("yes yes", "Yes!") == pytest.approx(2 * 0.5 * 1 / 1.5)  # a repeated word counts once per match
    assert f1("The cat", "a cat") == 1.0  # articles and case do not count
    assert f1("The.", "A") == 1.0 and f1("", "Hello") == 0.0 and f1("dog", "cat") == 0.0


def test_score_replies_takes_the_best_true_reply_and_counts_distinct_replies(scoring):
    held_out = {"Hi": ["Hello there", "Hi!"], "How are you?": ["Fine."]}
    f1, distinct = scoring["score_replies"](["hi", "Hi."], held_out)
    assert f1 == pytest.approx((1.0 + 0.0) / 2)
    assert distinct == 0.5  # "hi" and "Hi." are the same reply
    with pytest.raises(ValueError, match="one reply per held-out prompt"):
        scoring["score_replies"](["hi"], held_out)


# --- the baselines (notebook 07's cells) -----------------------------------------------------------------------------


def test_retrieval_answers_with_the_reply_of_the_most_similar_training_prompt():
    from sklearn.feature_extraction.text import TfidfVectorizer

    retrieval_model = notebook_function("07", "retrieval_model", cosine_similarity=cosine_similarity)
    train = [("How are you?", "Fine."), ("What is Python?", "A language."), ("What is Python?", "A snake."),
             ("Who are you?", "A bot.")]
    replies_to = retrieval_model(TfidfVectorizer(), train)
    assert replies_to(["what is python", "how are YOU", "who are you then"]) == ["A language.", "Fine.", "A bot."]
    assert replies_to(["zebra"]) == ["Fine."]  # no word in common with any prompt: all ties, the first pair


def test_unigram_reply_is_the_most_frequent_words():
    from collections import Counter

    unigram_reply = notebook_function("07", "unigram_reply", word_counts=Counter("i am i a bot i am".split()))
    assert unigram_reply(2) == "i am"


# --- greedy replies never write [UNK], one at a time and in a batch --------------------------------------------------


class UnkLovingModel:
    """A stand-in encoder–decoder whose likeliest next token is always [UNK]; the runner-up depends on the prompt's
    first id and the previous token, and [end] comes after two words."""

    vocab_size, source_length = 8, 4

    def encoder_input(self, source_ids):
        return s2s.source_array(source_ids, self.source_length)

    def checked_encoder_input(self, encoder_input):
        return np.asarray(encoder_input, dtype="int32")

    def encode(self, encoder_input):
        first = self.checked_encoder_input(encoder_input)[:, -1]  # sources are reversed: the first id is last
        return [first.astype(float), np.zeros(len(first))]  # [prompt's first id, words written so far]

    def initial_state(self, source_ids):
        return self.encode(self.encoder_input([source_ids]))

    def step(self, tokens, state):
        tokens = np.asarray(tokens).ravel()
        first, written = state
        runner_up = np.where(written >= 2, s2s.END_ID, 4 + (first.astype(int) + tokens) % 4)
        probabilities = np.full((len(tokens), self.vocab_size), 0.01)
        probabilities[:, s2s.UNK_ID] = 0.6
        probabilities[np.arange(len(tokens)), runner_up] = 0.3
        return probabilities / probabilities.sum(axis=1, keepdims=True), [first, written + 1]

    def step_one(self, token, state):
        probabilities, state = self.step([token], state)
        return probabilities[0], state


def test_greedy_decode_batch_never_picks_banned_tokens():
    model = UnkLovingModel()
    encoder_input = model.encoder_input([[4], [5], [6, 7]])
    assert all(set(ids) == {s2s.UNK_ID} for ids in s2s.greedy_decode_batch(model, encoder_input, max_len=3))
    banned = s2s.greedy_decode_batch(model, encoder_input, max_len=3, never=[s2s.UNK_ID])
    assert banned == [[6, 6], [7, 4], [4, 6]]


def test_notebook_reply_and_greedy_replies_agree_and_never_write_unk():
    vocab = s2s.WordVocabulary(["four", "five", "six", "seven"], unknown="unk")
    namespace = {"s2s": s2s, "np": np, "vocab": vocab, "TARGET_LENGTH": 6,
                 "word_ids": lambda texts: [vocab.encode(text.split()) for text in texts]}
    namespace["without_unk"] = notebook_function("07", "without_unk", s2s=s2s)
    namespace["with_rule"] = notebook_function("07", "with_rule", s2s=s2s)
    reply = notebook_function("07", "reply", **namespace)
    greedy_replies = notebook_function("07", "greedy_replies", **namespace)
    model, prompts = UnkLovingModel(), ["four", "five", "six seven", "nothing known"]
    one_at_a_time = [reply(model, prompt) for prompt in prompts]
    assert one_at_a_time == greedy_replies(model, prompts)
    assert one_at_a_time[:3] == ["six six", "seven four", "four six"] and "[UNK]" not in " ".join(one_at_a_time)
    # with a rule (the repetition ban of Exercise 1, n = 1), one at a time and in a batch still agree
    ban = lambda probabilities, written: sampling.ban_repeats(probabilities, written, 1)  # noqa: E731
    banned = [reply(model, prompt, rule=ban) for prompt in prompts]
    assert banned == greedy_replies(model, prompts, rule=ban)
    assert banned[0] != one_at_a_time[0] and all(len(set(r.split())) == len(r.split()) for r in banned)


# --- the repetition ban (Exercise 1): the reference, the batched decoder's rule, and the check both ways ------------


def test_ban_repeats_by_hand():
    """Worked by hand: reply so far 2 3 2, n = 2. The last word is 2 and the pair (2, 3) is in the reply, so token 3 is
    banned: [0.1, 0.2, 0.3, 0] / 0.6. With n = 1 tokens 2 and 3 are banned: [0.1, 0.2] / 0.3."""
    p = np.array([0.1, 0.2, 0.3, 0.4])
    assert np.allclose(sampling.ban_repeats(p, [2, 3, 2], 2), [1 / 6, 1 / 3, 1 / 2, 0])
    assert np.allclose(sampling.ban_repeats(p, [2, 3, 2], 1), [1 / 3, 2 / 3, 0, 0])
    assert np.allclose(sampling.ban_repeats(p, [1, 1], 2), [0.1 / 0.8, 0, 0.3 / 0.8, 0.4 / 0.8])  # "the the"
    assert np.allclose(sampling.ban_repeats(p, [3], 2), p) and np.allclose(sampling.ban_repeats(p, [], 1), p)
    assert np.allclose(p, [0.1, 0.2, 0.3, 0.4])  # the input is not changed
    with pytest.raises(ValueError, match="n must be a positive whole number"):
        sampling.ban_repeats(p, [1], 0)
    with pytest.raises(ValueError, match="leaves no token"):
        sampling.ban_repeats([0.5, 0.5], [0, 1], 1)


def test_greedy_decode_batch_applies_a_rule_per_row_with_what_that_row_wrote():
    model = UnkLovingModel()
    encoder_input = model.encoder_input([[4], [5], [6, 7]])
    seen = []

    def rule(probabilities, written):
        seen.append(list(written))
        return sampling.ban_repeats(probabilities, written, 1)

    ids = s2s.greedy_decode_batch(model, encoder_input, max_len=3, never=[s2s.UNK_ID], rule=rule)
    assert ids[0][0] == 6 and ids[0][1] != 6  # without the rule the first row is [6, 6]
    assert all(len(set(row)) == len(row) for row in ids)
    assert seen[:3] == [[], [], []] and [6] in seen and [7] in seen  # each row's own reply so far


def _notebook_ban():
    return notebook_function("07", "ban_repeats", np=np)


def _vectorised(probabilities, written, n=2):
    """Another style: all n-grams as tuples, the banned ids gathered in a set, NumPy indexing."""
    grams = [tuple(written[i:i + n]) for i in range(len(written) - n + 1)]
    last = tuple(written[len(written) - (n - 1):]) if n > 1 else ()
    banned = [gram[-1] for gram in grams if gram[:-1] == last]
    out = np.copy(probabilities)
    out[banned] = 0
    return out / np.sum(out)


def _as_list(probabilities, written, n=2):
    """Another style: plain Python lists, a list comes back."""
    words = list(written)
    start = words[len(words) - n + 1:] if n > 1 else []
    banned = {words[i + n - 1] for i in range(len(words) - n + 1) if words[i:i + n - 1] == start}
    kept = [0.0 if token in banned else float(p) for token, p in enumerate(probabilities)]
    return [p / sum(kept) for p in kept]


@pytest.mark.parametrize("answer", [_notebook_ban, lambda: as_student(sampling.ban_repeats), lambda: _vectorised,
                                    lambda: _as_list], ids=["notebook", "reference as a student", "vectorised", "list"])
def test_ban_check_accepts_right_answers_in_other_styles(answer, capsys):
    assert chat_checks.check_ban_repeats(answer()) is True, capsys.readouterr().out


def test_ban_check_refuses_the_reference(capsys):
    assert chat_checks.check_ban_repeats(sampling.ban_repeats) is False
    assert "utils.sampling.ban_repeats" in capsys.readouterr().out
    assert chat_checks.check_ban_repeats(lambda p, w, n=2: sampling.ban_repeats(p, w, n)) is False


def _mistake(kind):
    def answer(probabilities, written, n=2):
        written = list(written)
        p = probabilities if kind == "in place" else np.array(probabilities, dtype=float)
        start = written[len(written) - n + 1:] if n > 1 else []
        stop = len(written) - n + (kind != "skips the last n-gram")
        if kind == "bans every word":
            banned = set(written)
        elif kind == "last word only":
            banned = set(written[-1:])
        elif kind == "n words as the start":
            start = written[len(written) - n:]
            banned = {written[i + n] for i in range(len(written) - n) if written[i:i + n] == start}
        else:
            banned = {written[i + n - 1] for i in range(max(0, stop)) if written[i:i + n - 1] == start}
        for token in banned:
            p[token] = 0.0
        return p if kind == "not renormalised" else p / p.sum()
    return answer


@pytest.mark.parametrize("kind, hint", [
    ("bans every word", "every word already written is banned, whatever n"),
    ("skips the last n-gram", "the last n-gram of the reply is never looked at"),
    ("n words as the start", "starts with the last n - 1 words written, not the last n"),
    ("last word only", "only the last word written is banned"),
    ("not renormalised", "divided by their sum"),
    ("in place", "your function changed the probabilities"),
])
def test_ban_check_names_typical_mistakes_and_shows_code_only_on_a_second_try(kind, hint, capsys):
    assert chat_checks.check_ban_repeats(_mistake(kind)) is False
    first = capsys.readouterr().out
    assert hint in first, first
    assert "worked step:" not in first and "written[i + n - 1]" not in first and "np.array(" not in first
    assert chat_checks.check_ban_repeats(_mistake(kind)) is False
    assert "a worked step:" in capsys.readouterr().out


def test_ban_check_refuses_a_lookup_table_of_the_visible_cases(capsys):
    table = {(tuple(p), tuple(w), n): sampling.ban_repeats(p, w, n) for p, w, n in chat_checks._CASES}

    def lookup(probabilities, written, n=2):
        return table[(tuple(probabilities), tuple(written), n)]

    assert chat_checks.check_ban_repeats(lookup) is False
    assert "KeyError" in capsys.readouterr().out


@pytest.mark.parametrize("odd", [None, "banned", np.array([np.nan, 0.5]), np.zeros((2, 3)), 0.5,
                                 (x for x in (0.1, 0.9))], ids=["None", "str", "NaN", "2-d", "number", "generator"])
def test_ban_check_never_crashes_on_odd_answers(odd, capsys):
    assert chat_checks.check_ban_repeats(lambda p, w, n=2: odd) is False
    out = capsys.readouterr().out
    assert "check itself hit a problem" not in out and "Traceback" not in out, out


def test_ban_check_accepts_an_object_with_an_array_interface(capsys):
    class Wrapped:
        def __init__(self, values):
            self.values = values

        def __array__(self, dtype=None, copy=None):
            return np.asarray(self.values, dtype=dtype)

    assert chat_checks.check_ban_repeats(lambda p, w, n=2: Wrapped(_vectorised(p, w, n))) is True


def test_ban_check_draws_fresh_cases_each_run():
    rng_a, rng_b = np.random.default_rng(1), np.random.default_rng(2)
    a = [chat_checks._fresh_case(rng_a) for _ in range(3)]
    b = [chat_checks._fresh_case(rng_b) for _ in range(3)]
    assert [w for _, w, _ in a] != [w for _, w, _ in b]
    assert all(np.isclose(p.sum(), 1) and (p > 0).all() for p, _, _ in a + b)
