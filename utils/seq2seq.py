"""Sequence-to-sequence (encoder–decoder) LSTMs, shared by notebooks 06 (translation) and 07 (chat).

The pieces, in the order the notebooks meet them:

* **Data.** ``number_split`` / ``number_pairs``: English → French number words written by num2words (training,
  validation and test numbers never overlap). ``chat_pairs``: (prompt, reply) pairs from the English dialogues that
  ship inside the chatterbot-corpus package (YAML files, read offline), a user's line and the bot's answer to it
  (``conversation_pairs``); ``split_by_prompt`` keeps every held-out prompt unseen and ``replies_by_prompt`` gathers
  the true replies of each held-out prompt.
* **Vocabulary.** ``WordVocabulary`` maps word tokens to integer ids with four specials (padding 0, unknown 1, start 2,
  end 3). ``keras_word_vectorizer`` builds the same layout from a Keras ``TextVectorization`` layer.
  ``teacher_forcing`` turns id sequences into the three padded arrays training needs.
* **Model.** Written and explained in notebook 06, saved here for notebook 07 (``tests/test_saved_code.py`` keeps the
  copies identical): ``training_model`` and ``inference_models`` wire five layers into the training model (teacher
  forcing) and the separate encoder and one-step decoder used at inference, sharing the *same layer objects*;
  ``build_seq2seq`` makes the layers and returns a ``Seq2Seq``. The model knows the source length it reads, and
  ``Seq2Seq.encoder_input`` is the one place that lays sources out for it, so one sentence and a whole batch reach the
  encoder in the same form. ``build_attention_seq2seq`` (same arguments) adds Keras' (dot-product) ``Attention``:
  ``attention_training_model`` / ``attention_inference_models`` wire six layers, and the ``AttentionSeq2Seq`` it returns
  carries the decoder state ``[encoder states, source mask, h, c]``, so the decoding functions below work unchanged;
  ``attention_map`` / ``attention_maps`` record the attention weights of greedy translations (notebook 06's
  heat-maps). ``Seq2Seq.restart`` gives a compiled model a fresh random start, for several training runs of one model.
  ``dot_attention`` is what Keras' ``Attention`` computes, in NumPy (the reference of notebook 06's Exercise 2).
* **Decoding.** ``run_decoder``, the one decoding loop (the reference of notebook 06's Exercise 1): ``pick`` chooses
  each next token, ``np.argmax`` for greedy decoding, a random draw for sampling (notebook 07). ``greedy_decode_batch``
  is its vectorised greedy form, for whole test sets (a test checks that it gives the loop's answers).
  ``beam_search`` keeps several partial outputs, with length normalisation (the reference of 06's Exercise 3).
* **Evaluation.** ``per_token_loss`` (cross-entropy in nats per token) and ``unigram_loss`` (the baseline).
* **Files.** ``save_seq2seq`` / ``load_seq2seq`` (``.keras``), by default in ``OUTPUT_DIR``,
  ``utils.data_home("models")`` (the repository may be read-only).
"""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

import utils
from utils.sampling import apply_temperature as apply_temperature  # notebook 07's exercise reference
from utils.validate import finite_array, has, number, string, whole
from utils.validate import path as as_path


def __getattr__(name: str):
    """``s2s.OUTPUT_DIR``: where notebooks save trained models, ``utils.data_home("models")`` (never the repository)."""
    if name == "OUTPUT_DIR":
        return utils.data_home("models")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


PAD, UNK, START, END = "", "[UNK]", "[start]", "[end]"
SPECIALS = (PAD, UNK, START, END)
PAD_ID, UNK_ID, START_ID, END_ID = 0, 1, 2, 3

# --- data: number words ---------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"[^\s,-]+|[,-]")


def number_split(*sizes: int, max_number: int = 99_999, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Disjoint random samples of the integers 0 … ``max_number``, one sorted array per size.

    ``number_split(20_000, 2_000, 5_000)`` gives (training, validation, test) numbers: no number is in two of them, so
    validation and test accuracy measure how well a model generalises to numbers it has never seen.
    """
    if not sizes:
        raise ValueError("Give the size of each sample, e.g. number_split(20_000, 2_000, 5_000) for training, "
                         "validation and test numbers.")
    sizes = tuple(whole(size, f"size {i + 1}", fix="give each sample's size, e.g. 2_000") for i, size in
                  enumerate(sizes))
    max_number = whole(max_number, "max_number", minimum=0, fix="e.g. 99_999")
    if sum(sizes) > max_number + 1:
        raise ValueError(f"Cannot draw {' + '.join(map(str, sizes))} distinct numbers from 0 … {max_number}: "
                         f"raise max_number or ask for fewer numbers.")
    chosen = np.random.default_rng(seed).choice(max_number + 1, size=sum(sizes), replace=False)
    ends = np.cumsum(sizes)
    return tuple(np.sort(chosen[end - size: end]) for size, end in zip(sizes, ends, strict=True))


def number_pairs(numbers: Iterable[int]) -> list[tuple[str, str]]:
    """(English words, French words) for each number, written by num2words, e.g. (``"seventy-one"``, ``"soixante et
    onze"``)."""
    from num2words import num2words

    pairs = []
    for n in numbers:
        if int(n) != n or n < 0:
            raise ValueError(f"Numbers must be non-negative integers (got {n!r}).")
        pairs.append((num2words(int(n), lang="en"), num2words(int(n), lang="fr")))
    if not pairs:
        raise ValueError("No numbers given: pass a non-empty list, e.g. from number_split().")
    return pairs


def number_tokens(text: str) -> list[str]:
    """Split number words into word tokens, keeping hyphens and commas as tokens of their own.

    ``"quatre-vingt-onze mille"`` → ``["quatre", "-", "vingt", "-", "onze", "mille"]``; ``join_number_tokens``
    undoes it.
    """
    return _TOKEN.findall(string(text, "text", "'forty-two'").lower())


def join_number_tokens(tokens: Sequence[str]) -> str:
    """The text of a token list from ``number_tokens``: hyphens glue their neighbours, commas stick to the left."""
    text = " ".join(tokens)
    return text.replace(" - ", "-").replace(" ,", ",").strip()


# --- data: chat ------------------------------------------------------------------------------------------------------


def chatterbot_dir(language: str = "english") -> Path:
    """The folder of YAML dialogue files installed with the ``chatterbot-corpus`` package (no download)."""
    try:
        import chatterbot_corpus
    except ImportError as exc:
        raise ValueError("The chatterbot-corpus package is not installed: "
                         "run `pip install chatterbot-corpus`.") from exc
    folder = Path(chatterbot_corpus.__file__).resolve().parent / "data" / language
    if not folder.is_dir():
        available = sorted(p.name for p in folder.parent.iterdir() if p.is_dir())
        raise ValueError(f"chatterbot-corpus has no language {language!r}; choose one of {available}.")
    return folder


#: The corpus files whose conversations are one prompt followed by *alternative* replies to it, not a dialogue (read
#: by hand in chatterbot-corpus 1.3.3: "You are arrogant" is followed by four different bot answers to it).
ALTERNATIVE_REPLY_FILES = frozenset({"computers", "emotion"})


def conversation_pairs(lines: Sequence[str], alternatives: bool = False) -> list[tuple[str, str]]:
    """The (prompt, reply) pairs of one conversation, a list of lines.

    A dialogue alternates speakers (line 0 the user, 1 the bot, 2 the user, ...), so its pairs are lines (2k, 2k + 1):
    a bot's answer is never used as the next prompt. With ``alternatives=True`` every line after the first is another
    reply to line 0.
    """
    if alternatives:
        return [(lines[0], line) for line in lines[1:]]
    return list(zip(lines[0::2], lines[1::2], strict=False))


def chat_pairs(language: str = "english", categories: Iterable[str] | None = None,
               corpus_dir: str | Path | None = None,
               alternative_reply_files: Iterable[str] = ALTERNATIVE_REPLY_FILES) -> list[tuple[str, str]]:
    """(prompt, reply) pairs of every conversation (``conversation_pairs``), duplicates removed, in file order.

    ``categories``: file names without ``.yml`` (e.g. ``["greetings", "ai"]``), default all. ``corpus_dir`` overrides
    the installed package's folder (tests use it). ``alternative_reply_files``: the files (names without ``.yml``)
    whose conversations list alternative replies to their first line.
    """
    import yaml

    folder = Path(corpus_dir) if corpus_dir is not None else chatterbot_dir(language)
    files = sorted(folder.glob("*.yml"))
    if categories is not None:
        wanted = set(categories)
        missing = wanted - {f.stem for f in files}
        if missing:
            raise ValueError(f"No corpus file for categories {sorted(missing)}; available: {[f.stem for f in files]}.")
        files = [f for f in files if f.stem in wanted]
    alternatives = set(alternative_reply_files)
    pairs, seen = [], set()
    for path in files:
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for conversation in content.get("conversations", []) or []:
            if not isinstance(conversation, list):  # a lone line, not a dialogue
                continue
            lines = [" ".join(str(line).split()) for line in conversation if isinstance(line, (str, int, float))]
            for prompt, reply in conversation_pairs(lines, alternatives=path.stem in alternatives):
                if prompt and reply and (prompt, reply) not in seen:
                    seen.add((prompt, reply))
                    pairs.append((prompt, reply))
    if not pairs:
        raise ValueError(f"No dialogue pairs found in {folder}: check the folder holds chatterbot-corpus YAML files "
                         "with a 'conversations' list.")
    return pairs


def prompt_key(prompt: str) -> str:
    """A prompt compared case- and punctuation-insensitively: "What is AI?" and "what is ai" are the same prompt."""
    return " ".join(re.findall(r"[a-z0-9']+", string(prompt, "prompt", "'What is AI?'").lower()))


def replies_by_prompt(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Every reply of each distinct prompt (``prompt_key``), keyed by the prompt's first spelling, in order.

    A held-out prompt with several replies in the corpus is scored against each of them (the best counts): any of
    them is a right answer.
    """
    first: dict[str, str] = {}
    grouped: dict[str, list[str]] = defaultdict(list)
    for prompt, reply in pairs:
        grouped[first.setdefault(prompt_key(prompt), prompt)].append(reply)
    if not grouped:
        raise ValueError("No pairs given: pass (prompt, reply) pairs, e.g. from chat_pairs().")
    return dict(grouped)


def split_by_prompt(pairs: Sequence[tuple[str, str]], test_fraction: float = 0.1,
                    seed: int = 0) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Split pairs into (train, test) so that no prompt (compared case- and punctuation-insensitively) is in both."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1 (got {test_fraction}).")
    if len(pairs) < 2:
        raise ValueError("Need at least two pairs to split: check the corpus loaded.")
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for prompt, reply in pairs:
        groups[prompt_key(prompt)].append((prompt, reply))
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    n_test_keys = max(1, round(test_fraction * len(keys)))
    test = [pair for key in keys[:n_test_keys] for pair in groups[key]]
    train = [pair for key in keys[n_test_keys:] for pair in groups[key]]
    return train, test


# --- vocabulary and arrays -------------------------------------------------------------------------------------------


class WordVocabulary:
    """Word tokens ↔ integer ids, for the encoder–decoders of notebooks 06 and 07.

    Ids 0–3 are the specials: padding, unknown, start, end; real tokens follow.

    ``unknown`` says what ``encode`` does with a token not in the vocabulary: ``"error"`` (raise, the default: for a
    closed vocabulary such as number words an unknown token is a bug) or ``"unk"`` (map it to the unknown id).
    """

    def __init__(self, tokens: Iterable[str], unknown: str = "error"):
        if unknown not in ("error", "unk"):
            raise ValueError(f"unknown must be 'error' or 'unk' (got {unknown!r}).")
        words = [t for t in dict.fromkeys(tokens) if t not in SPECIALS]
        if not words:
            raise ValueError("Empty vocabulary: build it from a non-empty corpus.")
        self.unknown = unknown
        self.tokens = list(SPECIALS) + words
        self.index = {token: i for i, token in enumerate(self.tokens)}

    @classmethod
    def from_corpus(cls, token_lists: Iterable[Sequence[str]], min_count: int = 1,
                    unknown: str = "error") -> WordVocabulary:
        """Every token seen at least ``min_count`` times, most frequent first (ties alphabetical)."""
        counts = Counter(token for tokens in token_lists for token in tokens)
        kept = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
        if not kept:
            raise ValueError(f"Empty corpus (or no token seen {min_count}+ times): pass the training token lists.")
        return cls(kept, unknown=unknown)

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Ids of ``tokens`` (no start / end added)."""
        ids = []
        for token in tokens:
            if token in self.index:
                ids.append(self.index[token])
            elif self.unknown == "unk":
                ids.append(UNK_ID)
            else:
                raise ValueError(f"Token {token!r} is not in the vocabulary: build the vocabulary from data that "
                                 "contains it, or create it with unknown='unk' to map unknown tokens to [UNK].")
        return ids

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Tokens of ``ids``, stopping at the first end id and skipping padding and start."""
        out = []
        for i in ids:
            i = int(i)
            if i == END_ID:
                break
            if i in (PAD_ID, START_ID):
                continue
            if not 0 <= i < len(self.tokens):
                raise ValueError(f"Id {i} is outside this vocabulary of {len(self.tokens)} tokens.")
            out.append(self.tokens[i])
        return out


def keras_word_vectorizer(texts: Sequence[str], max_tokens: int | None = None, output_length: int | None = None):
    """A Keras ``TextVectorization`` layer adapted on ``texts`` and a ``WordVocabulary`` with the same ids.

    The layer lowercases, strips punctuation and splits on whitespace. Its vocabulary is rearranged to the
    ``WordVocabulary`` layout (padding, [UNK], [start], [end], then words by frequency), so the layer's output ids
    decode with the ``WordVocabulary`` and [start] / [end] ids can be added around replies. Unknown words become
    [UNK] (id 1).
    Returns ``(layer, vocabulary)``.
    """
    texts = [t for t in texts if t and t.strip()]
    if not texts:
        raise ValueError("Empty corpus: pass at least one non-empty text to build the vocabulary.")
    layer = keras.layers.TextVectorization(max_tokens=max_tokens, output_mode="int",
                                           output_sequence_length=output_length)
    layer.adapt(texts)
    words = [str(w) for w in layer.get_vocabulary() if w not in SPECIALS]
    if max_tokens is not None:
        words = words[: max(max_tokens - len(SPECIALS), 1)]
    layer.set_vocabulary([START, END] + words)
    vocabulary = WordVocabulary(words, unknown="unk")
    if layer.get_vocabulary() != vocabulary.tokens:
        raise RuntimeError("TextVectorization and WordVocabulary disagree on the token ids "
                           "(unexpected Keras behaviour).")
    return layer, vocabulary


def source_array(source_ids: Sequence[Sequence[int]], source_length: int | None = None,
                 reverse: bool = True) -> np.ndarray:
    """Source ids as a (batch, source_length) int array, **reversed and padded at the front** (id 0).

    Reversing puts the first source word right before the decoder starts, where the first target word needs it (a trick
    from Sutskever et al., 2014). The encoder built by ``build_seq2seq`` masks the padding, so how much of it a row has
    does not change what the encoder reads. Longer sources keep their first ``source_length`` ids.
    """
    if len(source_ids) == 0:
        raise ValueError("Empty corpus: pass at least one source sequence.")
    if any(len(s) == 0 for s in source_ids):
        raise ValueError("A source sequence is empty: drop empty prompts (every source needs at least one token).")
    source_length = source_length or max(len(s) for s in source_ids)
    if source_length < 1:
        raise ValueError("source_length must be >= 1.")
    array = np.zeros((len(source_ids), source_length), dtype="int32")
    for row, src in enumerate(source_ids):
        src = list(src)[:source_length]
        if reverse:
            src = src[::-1]
        array[row, source_length - len(src):] = src
    return array


def teacher_forcing(source_ids: Sequence[Sequence[int]], target_ids: Sequence[Sequence[int]],
                    source_length: int | None = None, target_length: int | None = None):
    """The three int arrays that train an encoder–decoder with teacher forcing.

    * ``encoder_input`` (batch, source_length): the source ids, as ``source_array`` lays them out.
    * ``decoder_input`` (batch, target_length): [start] followed by the target ids — what the decoder *reads*.
    * ``decoder_target`` (batch, target_length): the target ids followed by [end] — what it must *predict*, one step
      ahead of its input. Padding (id 0) at the end; give the loss ``sample_weight=decoder_target != 0`` to skip it.

    Lengths default to the longest sequence (+1 for start / end); longer targets are cut (and keep their [end]).
    """
    if len(source_ids) != len(target_ids):
        raise ValueError(f"{len(source_ids)} sources but {len(target_ids)} targets: pass one target per source.")
    encoder_input = source_array(source_ids, source_length)
    if len(target_ids) and min(len(t) for t in target_ids) == 0:
        raise ValueError("A target sequence is empty: drop pairs with empty replies.")
    target_length = target_length or max(len(t) for t in target_ids) + 1
    if target_length < 2:
        raise ValueError("target_length must be >= 2 (room for a token and [end]).")
    n = len(target_ids)
    decoder_input = np.zeros((n, target_length), dtype="int32")
    decoder_target = np.zeros((n, target_length), dtype="int32")
    for row, tgt in enumerate(target_ids):
        tgt = list(tgt)[: target_length - 1]
        decoder_input[row, : len(tgt) + 1] = [START_ID] + tgt
        decoder_target[row, : len(tgt) + 1] = tgt + [END_ID]
    return encoder_input, decoder_input, decoder_target


# --- model: written and explained in notebook 06 (the cells marked "Saved in utils/seq2seq.py") ----------------------

LAYER_NAMES = ("encoder_embedding", "encoder_lstm", "decoder_embedding", "decoder_lstm", "decoder_output")


def check_sizes(source_vocab_size, target_vocab_size, source_length, embed_dim, units) -> None:
    """Refuse sizes ``build_seq2seq`` cannot use, with the fix (Keras would fail deep inside a layer instead)."""
    for size, name in ((source_vocab_size, "source_vocab_size"), (target_vocab_size, "target_vocab_size")):
        if whole(size, name, fix="pass len(vocab)") <= len(SPECIALS):
            raise ValueError("Vocabulary sizes must count the 4 special tokens plus at least one word: "
                             "pass len(vocab).")
    whole(source_length, "source_length", fix="pass the width of the encoder_input arrays (teacher_forcing's)")
    whole(embed_dim, "embed_dim", fix="e.g. 32")
    whole(units, "units", fix="e.g. 64")


def check_layers(layers, source_length, names=LAYER_NAMES) -> None:
    """Refuse what ``training_model`` / ``inference_models`` (or their attention forms, with ``names`` =
    ``ATTENTION_LAYER_NAMES``) cannot wire, with the fix."""
    if not isinstance(layers, dict) or any(name not in layers for name in names):
        raise ValueError(f"layers must be a dict of the {len(names)} layers {list(names)}: pass the .layers of a "
                         f"model made by {'build_seq2seq' if names == LAYER_NAMES else 'build_attention_seq2seq'}().")
    whole(source_length, "source_length", fix="pass the width of the encoder_input arrays (teacher_forcing's)")


def training_model(layers, source_length):
    """The model training runs: [source ids (batch, source_length), decoder input ids (batch, T)] -> probabilities
    of the next target token (batch, T, target vocabulary), the decoder reading the true previous token."""
    check_layers(layers, source_length)
    encoder_input = keras.Input(shape=(source_length,), dtype="int32", name="encoder_input")
    decoder_input = keras.Input(shape=(None,), dtype="int32", name="decoder_input")
    _, h, c = layers["encoder_lstm"](layers["encoder_embedding"](encoder_input))  # keep only the final memories
    sequence, _, _ = layers["decoder_lstm"](layers["decoder_embedding"](decoder_input), initial_state=[h, c])
    probabilities = layers["decoder_output"](sequence)  # a softmax over the target tokens, at every step
    return keras.Model([encoder_input, decoder_input], probabilities, name="seq2seq_teacher_forcing")


def inference_models(layers, source_length):
    """The two models inference runs, built from the same layer objects (so with the trained weights):

    the encoder, source ids (batch, source_length) -> [h, c], and the one-step decoder,
    [previous token (batch, 1), h, c] -> [probabilities of the next token (batch, V), new h, new c].
    """
    check_layers(layers, source_length)
    source = keras.Input(shape=(source_length,), dtype="int32", name="source")
    _, h, c = layers["encoder_lstm"](layers["encoder_embedding"](source))
    encoder = keras.Model(source, [h, c], name="inference_encoder")
    units = layers["decoder_lstm"].units
    token = keras.Input(shape=(1,), dtype="int32", name="previous_token")
    h_in, c_in = keras.Input(shape=(units,), name="h_in"), keras.Input(shape=(units,), name="c_in")
    step, h_out, c_out = layers["decoder_lstm"](layers["decoder_embedding"](token), initial_state=[h_in, c_in])
    probabilities = keras.layers.Reshape((layers["decoder_output"].units,), name="drop_time_axis")(
        layers["decoder_output"](step))  # one time step: (batch, 1, V) -> (batch, V)
    decoder = keras.Model([token, h_in, c_in], [probabilities, h_out, c_out], name="inference_decoder")
    return encoder, decoder


def build_seq2seq(source_vocab_size, target_vocab_size, source_length, embed_dim=32, units=128, learning_rate=3e-3):
    """A compiled LSTM encoder–decoder: five layers, wired for training and for inference (a ``Seq2Seq``).

    The encoder's embedding masks padding (``mask_zero=True``): padded steps leave its memories unchanged. Padded
    target positions get sample weight 0 in ``fit``, and the loss averages over the weighted (real) tokens only, so
    it is the cross-entropy in nats per token.
    """
    check_sizes(source_vocab_size, target_vocab_size, source_length, embed_dim, units)
    layers = {
        "encoder_embedding": keras.layers.Embedding(source_vocab_size, embed_dim, mask_zero=True,
                                                    name="encoder_embedding"),
        "encoder_lstm": keras.layers.LSTM(units, return_state=True, name="encoder_lstm"),
        "decoder_embedding": keras.layers.Embedding(target_vocab_size, embed_dim, name="decoder_embedding"),
        "decoder_lstm": keras.layers.LSTM(units, return_sequences=True, return_state=True, name="decoder_lstm"),
        "decoder_output": keras.layers.Dense(target_vocab_size, activation="softmax", name="decoder_output"),
    }
    model = training_model(layers, source_length)
    encoder, decoder = inference_models(layers, source_length)
    loss = keras.losses.SparseCategoricalCrossentropy(reduction="mean_with_sample_weight")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, weighted_metrics=["accuracy"])
    return Seq2Seq(model, encoder, decoder, layers)


ATTENTION_LAYER_NAMES = LAYER_NAMES + ("attention",)


def attention_training_model(layers, source_length):
    """Teacher forcing with attention: [source ids (batch, S), decoder input ids (batch, T)] -> probabilities of the
    next target token (batch, T, V). At every step the decoder's output asks the attention layer which encoder states
    to read; the weighted sum of them (the context) joins the decoder output before the softmax."""
    check_layers(layers, source_length, ATTENTION_LAYER_NAMES)
    encoder_input = keras.Input(shape=(source_length,), dtype="int32", name="encoder_input")
    decoder_input = keras.Input(shape=(None,), dtype="int32", name="decoder_input")
    source_mask = layers["encoder_embedding"].compute_mask(encoder_input)  # False at padding: never attended to
    states, h, c = layers["encoder_lstm"](layers["encoder_embedding"](encoder_input))  # every step's h, and the last
    sequence, _, _ = layers["decoder_lstm"](layers["decoder_embedding"](decoder_input), initial_state=[h, c])
    context, _ = layers["attention"]([sequence, states], mask=[None, source_mask],  # query: decoder, value: encoder
                                     return_attention_scores=True)  # the weights, unused here (the same call as below)
    probabilities = layers["decoder_output"](keras.layers.Concatenate()([sequence, context]))
    return keras.Model([encoder_input, decoder_input], probabilities, name="attention_teacher_forcing")


def attention_inference_models(layers, source_length):
    """The encoder, source ids (batch, S) -> state [encoder states (batch, S, units), source mask (batch, S), h, c],
    and the one-step decoder, [previous token (batch, 1), *state] -> [probabilities of the next token (batch, V),
    new h, new c, attention weights over the S source positions (batch, S)], from the same (trained) layers."""
    check_layers(layers, source_length, ATTENTION_LAYER_NAMES)
    source = keras.Input(shape=(source_length,), dtype="int32", name="source")
    states, h, c = layers["encoder_lstm"](layers["encoder_embedding"](source))
    source_mask = layers["encoder_embedding"].compute_mask(source)
    encoder = keras.Model(source, [states, source_mask, h, c], name="attention_inference_encoder")
    units = layers["decoder_lstm"].units
    token = keras.Input(shape=(1,), dtype="int32", name="previous_token")
    states_in = keras.Input(shape=(source_length, units), name="encoder_states")
    mask_in = keras.Input(shape=(source_length,), dtype="bool", name="source_mask")
    h_in, c_in = keras.Input(shape=(units,), name="h_in"), keras.Input(shape=(units,), name="c_in")
    step, h_out, c_out = layers["decoder_lstm"](layers["decoder_embedding"](token), initial_state=[h_in, c_in])
    context, weights = layers["attention"]([step, states_in], mask=[None, mask_in], return_attention_scores=True)
    probabilities = keras.layers.Reshape((layers["decoder_output"].units,), name="drop_time_axis")(
        layers["decoder_output"](keras.layers.Concatenate()([step, context])))
    weights = keras.layers.Reshape((source_length,), name="weights_of_this_step")(weights)  # (batch, 1, S) -> (b., S)
    decoder = keras.Model([token, states_in, mask_in, h_in, c_in], [probabilities, h_out, c_out, weights],
                          name="attention_inference_decoder")
    return encoder, decoder


def build_attention_seq2seq(source_vocab_size, target_vocab_size, source_length, embed_dim=32, units=128,
                            learning_rate=3e-3):
    """``build_seq2seq`` with attention (Luong-style, dot-product score): returns an ``AttentionSeq2Seq``.

    The encoder LSTM returns all its states, not only the last; at each step, Keras' ``Attention`` scores (dot product)
    every (unpadded) encoder state against the decoder's output, a softmax turns the scores into weights, and the
    weighted sum of encoder states (the context) is concatenated with the decoder output before the softmax layer.
    The decoder state that ``run_decoder`` passes along is ``[encoder states, source mask, h, c]``; a step returns the
    first two unchanged.
    """
    check_sizes(source_vocab_size, target_vocab_size, source_length, embed_dim, units)
    layers = {
        "encoder_embedding": keras.layers.Embedding(source_vocab_size, embed_dim, mask_zero=True,
                                                    name="encoder_embedding"),
        "encoder_lstm": keras.layers.LSTM(units, return_sequences=True, return_state=True, name="encoder_lstm"),
        "decoder_embedding": keras.layers.Embedding(target_vocab_size, embed_dim, name="decoder_embedding"),
        "decoder_lstm": keras.layers.LSTM(units, return_sequences=True, return_state=True, name="decoder_lstm"),
        "attention": keras.layers.Attention(name="attention"),
        "decoder_output": keras.layers.Dense(target_vocab_size, activation="softmax", name="decoder_output"),
    }
    model = attention_training_model(layers, source_length)
    encoder, decoder = attention_inference_models(layers, source_length)
    loss = keras.losses.SparseCategoricalCrossentropy(reduction="mean_with_sample_weight")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, weighted_metrics=["accuracy"])
    return AttentionSeq2Seq(model, encoder, decoder, layers)


def dot_attention(query, values, mask):
    """Dot-product attention in NumPy, the computation of ``keras.layers.Attention`` (notebook 06's Exercise 2).

    ``query`` (batch, Tq, units): what each decoder step asks for (the decoder LSTM's outputs); ``values``
    (batch, Tv, units): the encoder states it may read; ``mask`` (batch, Tv): True at real tokens, False at padding.
    Returns ``(context (batch, Tq, units), weights (batch, Tq, Tv))``: the scores are dot products, −∞ at padding;
    the weights their softmax over the Tv positions; the context the weighted sum of the values.
    """
    query = finite_array(query, "query", ndim=3)
    values = finite_array(values, "values", ndim=3)
    mask = np.asarray(mask, dtype=bool)
    if query.shape[::2] != values.shape[::2] or mask.shape != values.shape[:2] or not mask.any(axis=1).all():
        raise ValueError(f"query {query.shape}, values {values.shape} and mask {mask.shape} must be (batch, Tq, "
                         "units), (batch, Tv, units) and (batch, Tv), with at least one True (real token) per row")
    scores = query @ values.transpose(0, 2, 1)  # (batch, Tq, Tv): how well each state answers each query
    scores = np.where(mask[:, None, :], scores, -np.inf)  # padding can never be read
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))  # the largest score subtracted: no overflow
    weights /= weights.sum(axis=-1, keepdims=True)
    return weights @ values, weights


@dataclass
class Seq2Seq:
    """An LSTM encoder–decoder: the training model and the two inference models, sharing the same layer objects.

    * ``model``: ``[encoder_input (batch, S), decoder_input (batch, T)] -> next-token probabilities (batch, T, V)``,
      trained with teacher forcing (the decoder reads the true previous token). S, the source length, is fixed when the
      model is built and stored in the model itself (its input shape), so it survives ``save_seq2seq`` /
      ``load_seq2seq``.
    * ``encoder``: ``encoder_input -> [h, c]``, the final short-term (h) and long-term (c) memories, each
      (batch, units).
    * ``decoder``: ``[token (batch, 1), h, c] -> [probabilities (batch, V), h, c]``: one step of the decoder, which
      at inference reads its own previous prediction.
    """

    model: object
    encoder: object
    decoder: object
    layers: dict

    @classmethod
    def from_model(cls, model) -> Seq2Seq:
        """Rebuild the inference models of a trained (e.g. reloaded) training model, finding its layers by name."""
        layers = {}
        for name in LAYER_NAMES:
            try:
                layers[name] = model.get_layer(name)
            except ValueError as exc:
                raise ValueError(f"The model has no layer named {name!r}: load a model made by build_seq2seq.") from exc
        source_length = model.inputs[0].shape[1]
        if source_length is None:
            raise ValueError("The training model reads sources of any length; rebuild it with "
                             "build_seq2seq(..., source_length=S) so one sentence and a batch are laid out alike.")
        return cls(model, *inference_models(layers, source_length), layers)

    @property
    def units(self) -> int:
        return self.layers["decoder_lstm"].units

    @property
    def source_length(self) -> int:
        """How many source ids the encoder reads per sentence (the width of ``encoder_input`` arrays)."""
        return int(self.model.inputs[0].shape[1])

    def encoder_input(self, source_ids: Sequence[Sequence[int]]) -> np.ndarray:
        """Lay out lists of source ids for this model: ``source_array`` at the model's own source length.

        The one function that prepares encoder input, for one sentence or many, so both reach the encoder alike.
        """
        return source_array(source_ids, self.source_length)

    def checked_encoder_input(self, encoder_input) -> np.ndarray:
        """``encoder_input`` as an int32 array, after checking it is (batch, source_length) for this model."""
        array = np.asarray(encoder_input, dtype="int32")
        if array.ndim != 2 or len(array) == 0:
            raise ValueError(f"encoder_input must be a non-empty 2-D array of ids (batch, {self.source_length}); got "
                             f"shape {array.shape}. Build it with seq2seq.encoder_input(list_of_id_lists).")
        if array.shape[1] != self.source_length:
            raise ValueError(f"encoder_input has {array.shape[1]} columns but this model reads sources of "
                             f"{self.source_length} ids: build it with seq2seq.encoder_input(list_of_id_lists) or "
                             f"teacher_forcing(..., source_length={self.source_length}).")
        return array

    def encode(self, encoder_input) -> list[np.ndarray]:
        """Final [h, c] of the encoder for a batch of source ids (batch, source_length)."""
        h, c = self.encoder.predict_on_batch(self.checked_encoder_input(encoder_input))
        return [np.asarray(h), np.asarray(c)]

    def step(self, tokens, state):
        """One decoder step for a batch: ``tokens`` (batch,), ``state`` [h, c] -> (probabilities (batch, V), [h, c])."""
        tokens = np.asarray(tokens, dtype="int32").reshape(-1, 1)
        probabilities, h, c = self.decoder.predict_on_batch([tokens, np.asarray(state[0]), np.asarray(state[1])])
        return np.asarray(probabilities), [np.asarray(h), np.asarray(c)]

    def step_one(self, token: int, state):
        """One decoder step for one sequence: ``token`` (an int) -> (probabilities (V,), new state)."""
        probabilities, state = self.step([token], state)
        return probabilities[0], state

    def initial_state(self, source_ids: Sequence[int]):
        """The encoder's [h, c] for one source sequence of ids: the decoder's starting state.

        Laid out by ``encoder_input`` exactly like a row of a batch, so decoding it alone gives the batch's answer.
        """
        if len(source_ids) == 0:
            raise ValueError("Empty source sequence: give at least one token.")
        return self.encode(self.encoder_input([source_ids]))

    def restart(self) -> None:
        """A fresh random start for this compiled model, as if it had just been built: new initial weights (drawn
        from the random state, so seed it first: ``course.reseed``) and Adam's step count and running averages at 0.

        Keras prepares a model's training and decoding steps once (it traces them into TensorFlow graphs); restarting
        one model for each of several training runs saves that work, where a new model per run would repeat it.
        """
        fresh = keras.models.clone_model(self.model)  # the same layers, newly initialised
        self.model.set_weights(fresh.get_weights())
        for variable in self.model.optimizer.variables:
            if variable.name != "learning_rate":
                variable.assign(np.zeros(variable.shape, dtype=variable.dtype))


@dataclass
class AttentionSeq2Seq(Seq2Seq):
    """An encoder–decoder with attention (``build_attention_seq2seq``): the same helpers as ``Seq2Seq``, so
    ``run_decoder``, ``greedy_decode_batch`` and ``per_token_loss`` work unchanged, with a longer decoder state.

    * ``encoder``: ``encoder_input -> [states (batch, S, units), source_mask (batch, S), h, c]``: every step's h
      (what attention reads), which source positions are real (not padding), and the final memories.
    * ``decoder``: ``[token (batch, 1), states, source_mask, h, c] -> [probabilities (batch, V), h, c,
      weights (batch, S)]``; ``weights`` is the attention paid to each encoder position (sums to 1 over the real ones).

    The state ``run_decoder`` carries is ``[states, source_mask, h, c]``; ``step`` returns it with new h and c.
    Encoder position ``j`` holds source token ``S - 1 - j`` (sources are reversed and padded at the front):
    ``attention_map`` undoes that.
    """

    def encode(self, encoder_input) -> list[np.ndarray]:
        """The decoder's starting state [encoder states, source mask, h, c] for a batch (batch, source_length)."""
        return [np.asarray(x) for x in self.encoder.predict_on_batch(self.checked_encoder_input(encoder_input))]

    def step_with_weights(self, tokens, state):
        """One decoder step for a batch -> (probabilities (batch, V), new state, attention weights (batch, S))."""
        if len(state) != 4:
            raise ValueError("An attention decoder's state is [encoder states, source mask, h, c]: start from "
                             "seq2seq.encode(...) or seq2seq.initial_state(...).")
        tokens = np.asarray(tokens, dtype="int32").reshape(-1, 1)
        states, mask = np.asarray(state[0]), np.asarray(state[1], dtype=bool)
        probabilities, h, c, weights = self.decoder.predict_on_batch(
            [tokens, states, mask, np.asarray(state[2]), np.asarray(state[3])])
        return np.asarray(probabilities), [states, mask, np.asarray(h), np.asarray(c)], np.asarray(weights)

    def step(self, tokens, state):
        """One decoder step for a batch: ``tokens`` (batch,), ``state`` -> (probabilities (batch, V), new state)."""
        probabilities, state, _ = self.step_with_weights(tokens, state)
        return probabilities, state


def attention_map(seq2seq: AttentionSeq2Seq, source_ids: Sequence[int], max_len: int, end_id: int = END_ID):
    """Greedy-decode one source and record the attention of every step: (output ids, weights).

    ``weights`` has one row per decoder step (the output tokens, then the step that chose [end]) and one column per
    source token **in reading order** (the reversal and padding of ``source_array`` undone); each row sums to 1.
    """
    has(seq2seq, "step_with_weights", "seq2seq", "an AttentionSeq2Seq from build_attention_seq2seq()")
    if len(source_ids) == 0:
        raise ValueError("Empty source sequence: give at least one token.")
    rows = []

    def step(token, state):
        probabilities, state, weights = seq2seq.step_with_weights([token], state)
        rows.append(weights[0])
        return probabilities[0], state

    ids = run_decoder(step, seq2seq.initial_state(source_ids), START_ID, end_id, max_len)
    return ids, _reading_order(np.array(rows), len(source_ids), seq2seq.source_length)


def attention_maps(seq2seq: AttentionSeq2Seq, sources: Sequence[Sequence[int]], max_len: int,
                   end_id: int = END_ID) -> list[tuple[list[int], np.ndarray]]:
    """``attention_map`` for many sources at once (one decoder call per step for all): a list of (ids, weights)."""
    has(seq2seq, "step_with_weights", "seq2seq", "an AttentionSeq2Seq from build_attention_seq2seq()")
    max_len = whole(max_len, "max_len", fix="the longest output to produce, e.g. 20")
    state = seq2seq.encode(seq2seq.encoder_input(sources))
    tokens = np.full(len(sources), START_ID, dtype="int32")
    chosen, rows = [], []
    for _ in range(max_len):
        probabilities, state, weights = seq2seq.step_with_weights(tokens, state)
        tokens = probabilities.argmax(axis=-1).astype("int32")
        chosen.append(tokens)
        rows.append(weights)
        if (np.array(chosen) == end_id).any(axis=0).all():
            break
    chosen, rows = np.stack(chosen, axis=1), np.stack(rows, axis=1)  # (batch, steps), (batch, steps, S)
    maps = []
    for ids, row_ids, row_weights in zip(sources, chosen, rows, strict=True):
        ends = np.flatnonzero(row_ids == end_id)
        written = int(ends[0]) if len(ends) else len(row_ids)
        maps.append((row_ids[:written].tolist(),
                     _reading_order(row_weights[: min(written + 1, len(row_ids))], len(ids), seq2seq.source_length)))
    return maps


def _reading_order(rows: np.ndarray, n_tokens: int, source_length: int) -> np.ndarray:
    """Attention rows over the encoder's positions -> columns of the source tokens in reading order.

    Encoder position ``j`` holds source token ``source_length - 1 - j`` (sources are reversed and padded at the front).
    """
    n = min(n_tokens, source_length)
    return np.asarray(rows)[:, source_length - 1 - np.arange(n)]


# --- decoding --------------------------------------------------------------------------------------------------------


def run_decoder(step, state, start_id, end_id, max_len, pick=np.argmax):
    """Decode one sequence: feed start_id, then each token ``pick`` chose, until it picks end_id or after max_len.

    step(token, state) -> (probabilities of the next token (vocab,), new state).
    pick(probabilities) -> the next token: np.argmax (the default) is greedy decoding, a random draw is sampling.
    Returns the token ids (a list of ints), without end_id.
    """
    token, output = start_id, []
    for _ in range(max_len):
        probabilities, state = step(token, state)
        token = int(pick(probabilities))
        if token == end_id:
            break
        output.append(token)
    return output


def beam_search(step, state, start_id, end_id, max_len, beam_width=3, alpha=1.0):
    """``run_decoder`` that keeps the ``beam_width`` most probable partial outputs at every step, not only one
    (notebook 06's Exercise 3); ``beam_width=1`` is greedy decoding.

    step(token, state) -> (probabilities of the next token (vocab,), new state), as for ``run_decoder``.
    An output's score is the sum of the log-probabilities of its tokens. At each step every live output is extended
    by each of its ``beam_width`` most probable next tokens, and the ``beam_width`` best extensions of all are kept;
    those that chose ``end_id`` are finished, the others live on. After ``max_len`` steps (or when none lives on),
    the finished outputs and the live ones (``max_len`` tokens) compete on their score divided by their length to the
    power ``alpha`` (the length counts the [end] of a finished output): ``alpha=0`` ranks by probability, which
    favours short outputs; ``alpha=1`` by the mean log-probability per token.
    Returns the winner's token ids (a list of ints), without end_id.
    """
    max_len = whole(max_len, "max_len", fix="the longest output to produce, e.g. 20")
    beam_width = whole(beam_width, "beam_width", fix="how many outputs to keep at each step, e.g. 3")
    alpha = number(alpha, "alpha", fix="0 for no length normalisation, 1 for the mean log-probability per token")
    if not callable(step):
        raise ValueError(f"step must be a function step(token, state) -> (probabilities, new state), such as "
                         f"seq2seq.step_one, not {type(step).__name__}")
    live = [(0.0, [], start_id, state)]  # (score, tokens written, token to feed next, decoder state)
    finished = []  # (score, tokens written), each ended by choosing end_id
    for _ in range(max_len):
        extensions = []
        for score, tokens, token, beam_state in live:
            probabilities, new_state = step(token, beam_state)
            log_p = np.log(np.clip(np.asarray(probabilities, dtype=float), 1e-30, None))
            for choice in np.argsort(-log_p, kind="stable")[:beam_width]:
                extensions.append((score + log_p[choice], tokens, int(choice), new_state))
        extensions.sort(key=lambda extension: -extension[0])
        live = []
        for score, tokens, choice, new_state in extensions[:beam_width]:
            if choice == end_id:
                finished.append((score, tokens))
            else:
                live.append((score, tokens + [choice], choice, new_state))
        if not live:
            break
    outputs = [(score, tokens, len(tokens) + 1) for score, tokens in finished]
    outputs += [(score, tokens, len(tokens)) for score, tokens, _, _ in live]
    return max(outputs, key=lambda output: output[0] / output[2] ** alpha)[1]


def greedy_decode_batch(seq2seq: Seq2Seq, encoder_input, max_len: int, batch_size: int = 4096,
                        never: Sequence[int] = ()) -> list[list[int]]:
    """``run_decoder`` with its greedy pick, for many sources at once: the same result, with one decoder call per step
    for the whole batch instead of one per step and sentence.

    ``never``: token ids never to pick (notebook 07 passes ``[UNK_ID]``), as a step that sets their probability to 0.
    """
    has(seq2seq, "checked_encoder_input", "seq2seq", "a Seq2Seq from build_seq2seq()")
    encoder_input = seq2seq.checked_encoder_input(encoder_input)
    max_len = whole(max_len, "max_len", fix="the longest output to produce, e.g. 20")
    batch_size = whole(batch_size, "batch_size", fix="e.g. 4096")
    results = []
    for begin in range(0, len(encoder_input), batch_size):
        state = seq2seq.encode(encoder_input[begin: begin + batch_size])
        tokens = np.full(len(state[0]), START_ID, dtype="int32")
        produced = np.zeros((len(tokens), max_len), dtype="int32")
        finished = np.zeros(len(tokens), dtype=bool)
        for t in range(max_len):
            probabilities, state = seq2seq.step(tokens, state)
            if len(never):
                probabilities = probabilities.copy()
                probabilities[:, list(never)] = 0.0
            tokens = probabilities.argmax(axis=-1).astype("int32")
            produced[:, t] = np.where(finished, END_ID, tokens)
            finished |= tokens == END_ID
            if finished.all():
                break
        for row in produced:
            ends = np.flatnonzero(row == END_ID)
            results.append(row[: ends[0] if len(ends) else max_len].tolist())
    return results


# --- evaluation ------------------------------------------------------------------------------------------------------


def per_token_loss(seq2seq: Seq2Seq, encoder_input, decoder_input, decoder_target, batch_size: int = 256) -> float:
    """Mean cross-entropy −ln p(true next token), in nats per token, over the non-padding target positions."""
    has(seq2seq, "model", "seq2seq", "a Seq2Seq from build_seq2seq()")
    encoder_input = seq2seq.checked_encoder_input(encoder_input)
    probabilities = seq2seq.model.predict([encoder_input, decoder_input], batch_size=batch_size, verbose=0)
    target = np.asarray(decoder_target)
    mask = target != PAD_ID
    if not mask.any():
        raise ValueError("decoder_target has no non-padding tokens to score.")
    p_true = np.take_along_axis(probabilities, target[..., None], axis=-1)[..., 0]
    return float(-np.log(np.clip(p_true[mask], 1e-12, None)).mean())


def unigram_probabilities(train_target, vocab_size: int, smoothing: float = 1.0) -> np.ndarray:
    """How often each id is the next token in the training targets (add-``smoothing`` counts), shape (vocab_size,)."""
    ids = np.asarray(train_target).ravel()
    ids = ids[ids != PAD_ID]
    if len(ids) == 0:
        raise ValueError("train_target has no non-padding tokens: pass the decoder_target array of the training set.")
    counts = np.bincount(ids, minlength=vocab_size).astype("float64") + smoothing
    counts[PAD_ID] = 0.0  # padding is never a target
    return counts / counts.sum()


def unigram_loss(train_target, test_target, vocab_size: int, smoothing: float = 1.0) -> float:
    """The baseline: predict every next token from training frequencies alone, ignoring the prompt and the context.

    Mean −ln p(token), in nats per token, over the non-padding positions of ``test_target``.
    """
    probabilities = unigram_probabilities(train_target, vocab_size, smoothing)
    ids = np.asarray(test_target).ravel()
    ids = ids[ids != PAD_ID]
    if len(ids) == 0:
        raise ValueError("test_target has no non-padding tokens to score.")
    return float(-np.log(probabilities[ids]).mean())


# --- baseline for translation ----------------------------------------------------------------------------------------


#: The English number words, each with the value num2words writes it for.
_ENGLISH_WORD_VALUES = {**{w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen "
    "eighteen nineteen".split())}, **{w: 10 * i for i, w in enumerate(
        "twenty thirty forty fifty sixty seventy eighty ninety".split(), start=2)}, "hundred": 100, "thousand": 1000}


def word_dictionary() -> dict[str, str]:
    """A bilingual dictionary of the 30 English number words ("seventy" → "soixante-dix", "hundred" → "cent").

    Each entry is num2words' French for that one word's value: a translator that knows every word but no grammar.
    """
    from num2words import num2words

    return {word: num2words(value, lang="fr") for word, value in _ENGLISH_WORD_VALUES.items()}


def dictionary_translate(dictionary: dict[str, str], english: str) -> str:
    """The baseline: replace each English number word by its dictionary entry, in English word order.

    Hyphens are kept where English has them ("seventy-one" → "soixante-dix-un"); "and" and commas are dropped.
    """
    out = []
    for token in number_tokens(english):
        if token in ("and", ","):
            continue
        if token == "-":
            out.append(token)
        elif token in dictionary:
            out.append(dictionary[token])
        else:
            raise ValueError(f"{token!r} is not in the dictionary: translate English number words only.")
    return join_number_tokens(out)


# --- files -----------------------------------------------------------------------------------------------------------


def save_seq2seq(seq2seq: Seq2Seq, path: str | Path) -> Path:
    """Save the training model (its layers hold all the weights) as a ``.keras`` file; returns the path."""
    path = as_path(path, "path", "s2s.OUTPUT_DIR / 'nmt.keras'")
    if path.suffix != ".keras":
        raise ValueError(f"Save to a file ending in .keras (got {path.name!r}), e.g. s2s.OUTPUT_DIR / 'nmt.keras'.")
    if not hasattr(seq2seq, "model"):
        raise ValueError(f"pass the Seq2Seq that build_seq2seq() returned, not {type(seq2seq).__name__}.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        seq2seq.model.save(path)
    except OSError as exc:
        raise ValueError(f"Cannot write {path} ({exc.strerror}): save into s2s.OUTPUT_DIR, which is always "
                         "writable, e.g. s2s.OUTPUT_DIR / 'nmt.keras'.") from None
    return path


def load_seq2seq(path: str | Path) -> Seq2Seq:
    """Reload a ``.keras`` file written by ``save_seq2seq`` and rebuild its inference encoder and decoder."""
    path = as_path(path, "path", "s2s.OUTPUT_DIR / 'nmt.keras'")
    if not path.exists():
        raise ValueError(f"No model file at {path}: train and save_seq2seq() first.")
    return Seq2Seq.from_model(keras.models.load_model(path))


# --- diagram ---------------------------------------------------------------------------------------------------------


def plot_encoder_decoder(source_tokens: Sequence[str], target_tokens: Sequence[str], ax=None):
    """Draw the encoder–decoder unrolled in time: the encoder reads the (reversed) source, hands over [h, c], and the
    decoder reads [start] + target while predicting target + [end] one step ahead. Returns the matplotlib Axes."""
    import matplotlib.pyplot as plt

    if not source_tokens or not target_tokens:
        raise ValueError("Give at least one source token and one target token to draw.")
    source = list(source_tokens)[::-1]
    reads = [START] + list(target_tokens)
    predicts = list(target_tokens) + [END]
    step = 1.4  # horizontal distance between time steps
    enc_x = [step * i for i in range(len(source))]
    dec_x = [enc_x[-1] + step * (j + 2) for j in range(len(reads))]
    if ax is None:
        _, ax = plt.subplots(figsize=(min(0.95 * (len(enc_x) + len(dec_x) + 3), 14), 3.4))
    box = dict(boxstyle="round,pad=0.3", linewidth=1.2)
    arrow = dict(arrowstyle="->")

    def cell(x, color, below, above=None, previous=True):
        ax.text(x, 1, "LSTM", ha="center", va="center", bbox={**box, "facecolor": color})
        ax.text(x, 0, below, ha="center", va="center", fontsize=9)
        ax.annotate("", (x, 0.78), (x, 0.22), arrowprops=arrow)
        if above is not None:
            ax.text(x, 2, above, ha="center", va="center", fontsize=9, fontweight="bold")
            ax.annotate("", (x, 1.8), (x, 1.22), arrowprops=arrow)
        if previous:
            ax.annotate("", (x - 0.45, 1), (x - step + 0.45, 1), arrowprops=arrow)

    for i, (x, token) in enumerate(zip(enc_x, source, strict=False)):
        cell(x, "#cfe2f3", token, previous=i > 0)
    ax.annotate("", (dec_x[0] - 0.45, 1), (enc_x[-1] + 0.45, 1),
                arrowprops=dict(arrowstyle="->", color="C3", linewidth=2))
    ax.text((dec_x[0] + enc_x[-1]) / 2, 1.25, "[h, c]", ha="center", color="C3", fontsize=9)
    for j, (x, read, predicted) in enumerate(zip(dec_x, reads, predicts, strict=False)):
        cell(x, "#d9ead3", read, predicted, previous=j > 0)
    ax.text(enc_x[-1] / 2, 2.6, "encoder: reads English (reversed)", ha="center", color="C0", fontsize=9)
    ax.text((dec_x[0] + dec_x[-1]) / 2, 2.6, "decoder: writes French", ha="center", color="C2", fontsize=9)
    ax.text(-0.7, 0, "reads", ha="right", va="center", fontsize=9, style="italic")
    ax.text(-0.7, 2, "predicts", ha="right", va="center", fontsize=9, style="italic")
    ax.set_xlim(-2.0, dec_x[-1] + 0.8)
    ax.set_ylim(-0.4, 2.9)
    ax.set_axis_off()
    ax.set_title("Encoder–decoder unrolled in time (each box is one time step; a row shares its weights)")
    return ax
