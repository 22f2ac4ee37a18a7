"""Music composition with an LSTM (notebook 09): a real folk-song corpus, tokens, n-grams, sampling, MIDI, audio.

The corpus is the German part of the Essen folk-song collection that ships inside music21 (ABC files, one melody per
tune, every tune with its key signature). Parsing it with music21 is slow (about 0.1 s per tune), so the maintainers'
tool ``python -m tools.music_data parse`` parses once and caches the notes in ``data/essen_german.json.gz``, and
``python -m tools.music_data train`` trains the shipped weights; the notebook only reads those files. Keras is
imported inside the functions that need it, so that parsing (in worker processes) never loads TensorFlow.

Representation (what the notebook explains):

* a **note** is a pair ``(pitch, duration)``: ``pitch`` is a MIDI number (60 = middle C) or ``None`` for a rest,
  ``duration`` a ``Fraction`` of quarter notes (1 = a quarter, 1/2 = an eighth, 3/2 = a dotted quarter);
* a **token** is that pair written as text, ``"E4:1/2"`` or ``"rest:1"``; each tune becomes
  ``["<s>", token, ..., "</s>"]``, so the model learns where tunes begin and end.

``build_melody_lstm``, ``kneser_ney_prob`` and ``compose`` are written in notebook 09, where they are taught, and saved
here (tests/test_saved_code.py keeps the copies identical).
"""

from __future__ import annotations

import gzip
import json
import math
import re
from collections import Counter, defaultdict
from fractions import Fraction
from pathlib import Path

import numpy as np

import utils
from utils import DATA_DIR
from utils.sampling import softmax
from utils.validate import finite_array, has, non_empty, number, string, whole
from utils.validate import path as as_path

BOS, EOS, PAD = "<s>", "</s>", "<pad>"
REST = "rest"
#: The German files of music21's Essen collection (folk songs from German-speaking regions, 20 files).
GERMAN_FILES = ("altdeu10", "altdeu20", "ballad10", "ballad20", "ballad30", "ballad40", "ballad50", "ballad60",
                "ballad70", "ballad80", "boehme10", "boehme20", "dva0", "erk5", "erk10", "erk20", "erk30", "fink0",
                "kinder0", "zuccal0")
CACHE = DATA_DIR / "essen_german.json.gz"
WEIGHTS = DATA_DIR / "music_lstm.weights.h5"
NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
#: How the shipped model was trained (``python -m tools.music_data train``, then ``train --resume``): schedule and the
#: tune split. Its sizes are the defaults of ``build_melody_lstm``.
TRAINING = {"epochs": 20, "batch_size": 64, "val_fraction": 0.1, "split_seed": 0,
            "resume_epochs": 6, "resume_batch_size": 32}



def __getattr__(name: str):
    """``music.OUTPUT_DIR``: where notebook 09 writes MIDI files, ``utils.data_home("music")``, not the repository."""
    if name == "OUTPUT_DIR":
        return utils.data_home("music")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --- parsing the corpus with music21 (slow; cached) ------------------------------------------------------------------


def corpus_path(name: str) -> Path:
    """The path of one Essen ABC file inside the installed music21 package, e.g. ``corpus_path("kinder0")``."""
    from music21 import corpus

    string(name, "name", "'kinder0'")
    for path in corpus.getCorePaths():
        path = Path(path)
        if path.parent.name == "essenFolksong" and path.stem == name:
            return path
    raise ValueError(f"no Essen file named {name!r} in music21's corpus; choose one of {GERMAN_FILES}")


def split_abc(text: str) -> list[str]:
    """Split the text of an ABC file into one chunk per tune (each starts with its ``X:`` line)."""
    string(text, "text", "the contents of an .abc file")
    return [chunk.strip() + "\n" for chunk in re.split(r"\n(?=X:)", "\n" + text) if chunk.strip().startswith("X:")]


def parse_tune(abc: str, fast: bool = True) -> dict | None:
    """Parse one ABC tune with music21 into ``{"title", "essen_id", "meter", "key_sharps", "notes"}``.

    ``notes`` is a list of ``[midi_pitch_or_None, "duration as a fraction of quarters"]``; tied notes are merged,
    grace notes (no duration) dropped, a chord keeps its top note. Returns None for a tune without notes.
    ``fast`` skips music21's beaming (it only changes how notes are drawn) and merges ties directly instead of
    ``stripTies()`` (which copies the whole score): the same notes, in about half the time.
    """
    from music21 import converter, key, meter, stream

    if not isinstance(abc, str) or "X:" not in abc:
        raise ValueError(f"abc must be the text of one ABC tune starting with 'X:', not {abc!r:.60}: "
                         "use split_abc(file_text) to cut a file into tunes")
    if fast:
        saved, stream.Stream.makeBeams = stream.Stream.makeBeams, lambda self, *a, **k: None
        try:
            score = converter.parse(abc, format="abc")
        finally:
            stream.Stream.makeBeams = saved
        flat = score.flatten()
    else:
        score = converter.parse(abc, format="abc")
        flat = score.stripTies().flatten()
    notes = []
    for element in flat.notesAndRests:
        length = Fraction(element.quarterLength).limit_denominator(48)
        if length <= 0:
            continue
        if element.isRest:
            pitch = None
        elif element.isChord:
            pitch = max(p.midi for p in element.pitches)
        else:
            pitch = element.pitch.midi
        tie = getattr(element, "tie", None)
        continues = fast and tie is not None and tie.type in ("continue", "stop") and notes and notes[-1][0] == pitch
        if continues or (notes and pitch is None and notes[-1][0] is None):  # tied notes / two rests: one longer
            notes[-1][1] = str(Fraction(notes[-1][1]) + length)
            continue
        notes.append([pitch, str(length)])
    while notes and notes[0][0] is None:  # a tune starts with its first note, ends with its last one
        notes.pop(0)
    while notes and notes[-1][0] is None:
        notes.pop()
    if not notes:
        return None
    signatures = list(flat.getElementsByClass(key.KeySignature))
    meters = list(flat.getElementsByClass(meter.TimeSignature))
    essen_id = re.search(r"^N:\s*(\S+)", abc, re.M)
    return {"title": (score.metadata.title or "").strip().title(), "essen_id": essen_id.group(1) if essen_id else "",
            "meter": meters[0].ratioString if meters else "", "key_sharps": signatures[0].sharps if signatures else 0,
            "notes": notes}


def load_tunes(path: Path = CACHE) -> list[dict]:
    """The cached tunes; each has ``notes`` as a list of ``(pitch or None, Fraction)`` pairs."""
    path = as_path(path, "path", "music.CACHE")
    if not path.exists():
        raise ValueError(f"{path} is missing: run `python -m tools.music_data parse` to parse the corpus and cache it")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        tunes = json.load(handle)["tunes"]
    for tune in tunes:
        tune["notes"] = [(pitch, Fraction(duration)) for pitch, duration in tune["notes"]]
    return tunes


# --- keys and transposition ------------------------------------------------------------------------------------------


def key_tonic(key_sharps: int) -> int:
    """Pitch class (0 = C … 11 = B) of the major key with this many sharps (negative = flats): 1 → G, -1 → F."""
    if not -7 <= whole(key_sharps, "key_sharps", minimum=-7) <= 7:
        raise ValueError(f"key_sharps must be between -7 (7 flats) and 7 (7 sharps), got {key_sharps}")
    return (7 * int(key_sharps)) % 12


def key_name(key_sharps: int) -> str:
    """The major key of this signature as musicians spell it, from music21: -5 → "D♭", 6 → "F♯", 0 → "C".

    A pitch-class name (``NOTE_NAMES``) cannot do this: five flats and seven sharps share a pitch class, but the first
    is D♭ major and the second C♯ major.
    """
    from music21 import key

    key_tonic(key_sharps)  # the same range check
    return key.KeySignature(int(key_sharps)).asKey("major").tonic.unicodeName


def shift_to_c(key_sharps: int) -> int:
    """Semitones that move a tune with this key signature to C major (or A minor), by the smallest move, -5 … +6."""
    shift = -key_tonic(key_sharps) % 12
    return shift - 12 if shift > 6 else shift


def transpose(notes, semitones: int) -> list[tuple]:
    """Every pitch moved by ``semitones``; rests stay rests and durations are unchanged."""
    semitones = whole(semitones, "semitones", minimum=-127)
    return [(None if pitch is None else pitch + semitones, duration) for pitch, duration in notes]


def in_c(tune: dict) -> list[tuple]:
    """A cached tune's notes transposed to C major / A minor."""
    if not isinstance(tune, dict) or "notes" not in tune or "key_sharps" not in tune:
        raise ValueError(f"tune must be a dict with 'notes' and 'key_sharps', as load_tunes() gives, not {tune!r:.60}")
    return transpose(tune["notes"], shift_to_c(tune["key_sharps"]))


# --- tokens and vocabulary ------------------------------------------------------------------------------------------


def pitch_name(pitch: int | None) -> str:
    """``60`` → ``"C4"``, ``None`` → ``"rest"``."""
    if pitch is not None:
        whole(pitch, "pitch", minimum=0, fix="a MIDI note number 0 … 127 (60 is middle C), or None for a rest")
    return REST if pitch is None else f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def note_to_token(pitch: int | None, duration) -> str:
    """``(64, Fraction(1, 2))`` → ``"E4:1/2"``."""
    return f"{pitch_name(pitch)}:{Fraction(duration)}"


def token_to_note(token: str) -> tuple[int | None, Fraction]:
    """``"E4:1/2"`` → ``(64, Fraction(1, 2))``; ``"rest:1"`` → ``(None, Fraction(1))``."""
    string(token, "token", "'E4:1/2'")
    match = re.fullmatch(r"([A-G][b#]?)(-?\d+):(\d+(?:/\d+)?)|rest:(\d+(?:/\d+)?)", token)
    if not match:
        raise ValueError(f"{token!r} is not a note token like 'E4:1/2' or 'rest:1'")
    if match.group(4):
        return None, Fraction(match.group(4))
    name, octave, duration = match.group(1), int(match.group(2)), Fraction(match.group(3))
    return NOTE_NAMES.index(name) + 12 * (octave + 1), duration


def tune_tokens(notes) -> list[str]:
    """A tune's notes as tokens between the start and end markers."""
    return [BOS] + [note_to_token(p, d) for p, d in notes] + [EOS]


def tokens_to_notes(tokens) -> list[tuple]:
    """Back from tokens to ``(pitch, duration)`` pairs; markers and padding are skipped."""
    return [token_to_note(t) for t in tokens if t not in (BOS, EOS, PAD)]


class NoteVocabulary:
    """Token ↔ integer id. Id 0 is padding (``<pad>``), so a Keras Embedding can mask it (``mask_zero=True``)."""

    def __init__(self, token_lists):
        token_lists = non_empty(token_lists, "token_lists", "list of tokens")
        counts = Counter(t for tokens in token_lists for t in non_empty(tokens, "each token list", "token"))
        ordered = sorted(counts, key=lambda t: (t not in (BOS, EOS), -counts[t], t))
        self.tokens = [PAD] + ordered
        self.index = {t: i for i, t in enumerate(self.tokens)}
        self.counts = counts

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, tokens) -> list[int]:
        unknown = [t for t in tokens if t not in self.index]
        if unknown:
            raise ValueError(f"tokens not in the vocabulary: {unknown[:5]}; build the NoteVocabulary from all tunes")
        return [self.index[t] for t in tokens]

    def decode(self, ids) -> list[str]:
        return [self.tokens[int(i)] for i in ids]


def split_by_tune(n_tunes: int, val_fraction: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices of training and validation tunes: whole tunes go to one side, never split inside a tune."""
    n_tunes = whole(n_tunes, "n_tunes", minimum=2, fix="pass len(tunes); a split needs two tunes or more")
    if not 0 < number(val_fraction, "val_fraction") < 1:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    order = np.random.default_rng(seed).permutation(n_tunes)
    n_val = max(1, round(n_tunes * val_fraction))
    return np.sort(order[n_val:]), np.sort(order[:n_val])


# --- n-gram baselines (interpolated Kneser-Ney) ----------------------------------------------------------------------


def kneser_ney_prob(model, context: tuple, w: int) -> float:
    """P(w | context) of a fitted ``KneserNey`` model: a uniform guess, refined by ever longer contexts.

    For k = 0, 1, … order − 1, the last k tokens of ``context`` are looked up: ``model.counts[k][ctx]`` counts the
    tokens seen after them (for k < order − 1: in how many different longer contexts), ``model.totals[k][ctx]`` is
    c(ctx), their sum. Each seen context discounts its counts by D and hands the freed share to the estimate so far.
    """
    has(model, "totals", "model", "a fitted music.KneserNey: call .fit(train_ids) first")
    D, p = model.discount, 1.0 / model.vocab_size
    for k in range(model.order):
        ctx = tuple(context[len(context) - k:]) if k else ()
        followers = model.counts[k].get(ctx)
        if followers:
            p = (max(followers.get(w, 0) - D, 0.0) + D * len(followers) * p) / model.totals[k][ctx]
    return p


class KneserNey:
    """Interpolated Kneser–Ney n-gram model over token ids (order 1 = unigram, 2 = bigram, 3 = trigram).

    P(w | ctx) = max(c(ctx, w) - D, 0) / c(ctx) + D · N1+(ctx ·) / c(ctx) · P_lower(w | shorter ctx), where the lower
    orders use continuation counts (in how many different contexts a token appears) and the lowest order is mixed with
    a uniform distribution over the vocabulary, so that no token ever gets probability 0. An unseen context falls back
    entirely to the shorter one. Each tune is padded with ``order - 1`` start markers on the left.
    """

    def __init__(self, order: int, vocab_size: int, discount: float = 0.75):
        if order not in (1, 2, 3, 4, 5):
            raise ValueError(f"order must be 1 … 5, got {order}")
        if not 0 < discount < 1:
            raise ValueError(f"discount must be between 0 and 1, got {discount}")
        vocab_size = whole(vocab_size, "vocab_size", 2, "pass len(vocab)")
        self.order, self.vocab_size, self.discount = order, vocab_size, discount

    def fit(self, sequences) -> KneserNey:
        """``sequences``: lists of ids, each starting with the start marker and ending with the end marker."""
        n = self.order
        sequences = _id_sequences(sequences, "sequences", self.vocab_size)
        self.counts = [defaultdict(Counter) for _ in range(n)]  # counts[k][context of length k][w]
        for seq in sequences:
            padded = [seq[0]] * (n - 1) + list(seq)
            for i in range(n - 1 + 1, len(padded)):  # predict every token after the first start marker
                context = tuple(padded[i - n + 1:i])
                self.counts[n - 1][context][padded[i]] += 1
        for k in range(n - 1, 0, -1):  # continuation counts for the shorter contexts
            for context, followers in self.counts[k].items():
                for w in followers:
                    self.counts[k - 1][context[1:]][w] += 1
        self.totals = [{c: sum(f.values()) for c, f in level.items()} for level in self.counts]
        return self

    def prob(self, context: tuple, w: int) -> float:
        """P(w | context), with ``context`` the last ``order - 1`` ids: ``kneser_ney_prob``, written in notebook 09."""
        return kneser_ney_prob(self, context, w)

    def distribution(self, context: tuple) -> np.ndarray:
        """P(· | context) over the whole vocabulary at once, shape (vocab_size,).

        ``kneser_ney_prob`` for every token in one pass of NumPy (sampling needs all of them at each step); the test
        ``test_kneser_ney_is_a_distribution_and_orders_help`` keeps the two equal.
        """
        p = np.full(self.vocab_size, 1.0 / self.vocab_size)
        for k in range(0, self.order):
            ctx = tuple(context[len(context) - k:]) if k else ()
            followers = self.counts[k].get(ctx)
            if not followers:
                continue
            counts = np.zeros(self.vocab_size)
            counts[list(followers)] = list(followers.values())
            p = (np.maximum(counts - self.discount, 0.0) + self.discount * len(followers) * p) / self.totals[k][ctx]
        return p

    def start(self) -> None:
        """No token read yet (for ``compose``, which drives an n-gram and an LSTM the same way)."""
        return None

    def step(self, token: int, context: tuple | None) -> tuple[np.ndarray, tuple]:
        """Read one token id: the log-probabilities of the next token (logits for ``compose``) and the new context.

        The first token read (the start marker) also pads the context on the left, as ``fit`` pads every tune.
        """
        n = self.order - 1
        history = ((token,) * n if context is None else context) + (token,)
        context = history[len(history) - n:]
        return np.log(self.distribution(context)), context

    def token_nlls(self, sequences) -> list[np.ndarray]:
        """Negative log-likelihood (nats) of each predicted token of each sequence (every token after the start)."""
        n, out = self.order, []
        for seq in _id_sequences(sequences, "sequences", self.vocab_size):
            padded = [seq[0]] * (n - 1) + list(seq)
            out.append(np.array([-math.log(self.prob(tuple(padded[i - n + 1:i]) if n > 1 else (), padded[i]))
                                 for i in range(n, len(padded))]))
        return out

    def nll(self, sequences) -> float:
        """Mean negative log-likelihood in nats per predicted token (every token after the start marker)."""
        return float(np.concatenate(self.token_nlls(sequences)).mean())


# --- the LSTM language model -----------------------------------------------------------------------------------------


def _id_sequences(sequences, name: str, vocab_size: int | None = None, min_length: int = 2) -> list[list[int]]:
    """``sequences`` as lists of ids, each at least ``min_length`` long (start and end marker), else a ValueError."""
    sequences = non_empty(sequences, name, "list of token ids")
    out = []
    for seq in sequences:
        ids = non_empty(seq, f"each of {name}", "token id")
        if len(ids) < min_length or any(isinstance(i, bool) or not isinstance(i, (int, np.integer)) or i < 0 or
                                        (vocab_size is not None and i >= vocab_size) for i in ids):
            limit = f" below {vocab_size}" if vocab_size is not None else ""
            raise ValueError(f"each of {name} must hold at least {min_length} ids >= 0{limit}, got {ids[:8]!r}: "
                             "encode tunes with vocab.encode(tune_tokens(notes))")
        out.append(ids)
    return out


def pad_batch(sequences, length: int | None = None) -> np.ndarray:
    """Sequences of ids → an int32 array (n, length), right-padded with 0 (``<pad>``), cut at ``length``."""
    sequences = _id_sequences(sequences, "sequences", min_length=1)
    if length is not None:
        whole(length, "length")
    length = length or max(len(s) for s in sequences)
    out = np.zeros((len(sequences), length), dtype="int32")
    for row, seq in enumerate(sequences):
        seq = seq[:length]
        out[row, :len(seq)] = seq
    return out


def lm_arrays(sequences, max_len: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets for next-token prediction: x = tokens[:-1], y = tokens[1:], both (n, time), 0 = padding."""
    sequences = _id_sequences(sequences, "sequences")
    max_len = whole(max_len, "max_len")
    inputs = pad_batch([s[:-1] for s in sequences], min(max_len, max(len(s) for s in sequences) - 1))
    targets = pad_batch([s[1:] for s in sequences], inputs.shape[1])
    return inputs, targets


def build_melody_lstm(vocab_size: int, embed_dim: int = 64, units: int = 256, dropout: float = 0.1,
                      learning_rate: float = 2e-3, compile: bool = True):
    """Embedding → LSTM (one output per step) → Dense logits over the vocabulary; the loss ignores padding (id 0).

    ``compile=False`` gives a model for predictions only (its saved weights then hold no optimizer state).
    """
    import keras

    vocab_size = whole(vocab_size, "vocab_size", 2, "pass len(vocab)")
    embed_dim, units = whole(embed_dim, "embed_dim"), whole(units, "units")
    model = keras.Sequential([
        keras.Input(shape=(None,), dtype="int32"),
        keras.layers.Embedding(vocab_size, embed_dim, mask_zero=True, name="embedding"),
        keras.layers.LSTM(units, return_sequences=True, dropout=dropout, name="lstm"),
        keras.layers.Dense(vocab_size, name="logits"),
    ], name="music_lstm")
    if compile:
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0), loss=loss)
    return model


def length_batches(sequences, batch_size: int) -> list[np.ndarray]:
    """Indices of the sequences grouped into batches of similar length, so that little time is spent on padding."""
    sequences = _id_sequences(sequences, "sequences", min_length=1)
    batch_size = whole(batch_size, "batch_size")
    order = np.argsort([len(s) for s in sequences], kind="stable")
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def tune_batches(sequences, batch_size: int = TRAINING["batch_size"], seed: int = 0):
    """A Keras dataset of (inputs, targets) batches of tunes of similar length, in a new random order every epoch."""
    import keras

    sequences, batch_size = _id_sequences(sequences, "sequences"), whole(batch_size, "batch_size")

    class TuneBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.batches = length_batches(sequences, batch_size)
            self.rng = np.random.default_rng(seed)
            self.order = self.rng.permutation(len(self.batches))

        def __len__(self):
            return len(self.batches)

        def __getitem__(self, i):
            return lm_arrays([sequences[j] for j in self.batches[self.order[i]]], max_len=10_000)

        def on_epoch_end(self):
            self.order = self.rng.permutation(len(self.batches))

    return TuneBatches()


def lstm_token_nlls(model, sequences, batch_size: int = 256) -> list[np.ndarray]:
    """Negative log-likelihood (nats) of each predicted token of each sequence, as ``KneserNey.token_nlls``."""
    has(model, "predict", "model", "a Keras model (from build_melody_lstm)")
    sequences = _id_sequences(sequences, "sequences")
    out = [None] * len(sequences)
    for batch in length_batches(sequences, batch_size):
        x, y = lm_arrays([sequences[j] for j in batch], max_len=10_000)
        logits = np.asarray(model.predict_on_batch(x), dtype="float64")  # compiled: faster than model(x)
        logits -= logits.max(axis=-1, keepdims=True)
        log_probs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
        picked = np.take_along_axis(log_probs, y[..., None], axis=-1)[..., 0]
        for row, j in enumerate(batch):
            out[j] = -picked[row, :len(sequences[j]) - 1]
    return out


def lstm_nll(model, sequences, batch_size: int = 256) -> float:
    """Mean negative log-likelihood in nats per predicted token, over exactly the tokens the n-grams predict."""
    return float(np.concatenate(lstm_token_nlls(model, sequences, batch_size)).mean())


def sample_with_temperature(logits, temperature: float, rng: np.random.Generator) -> int:
    """Draw one index from softmax(logits / temperature): T < 1 sharpens (safer), T > 1 flattens (bolder)."""
    if number(temperature, "temperature") <= 0:
        raise ValueError(f"temperature must be > 0 (use a small value like 0.05 for almost-greedy), got {temperature}")
    has(rng, "choice", "rng", "a NumPy random generator such as np.random.default_rng(0)")
    probs = softmax(logits, temperature)
    return int(rng.choice(len(probs), p=probs))


class LSTMStepper:
    """The trained model's arithmetic, one token at a time, in NumPy, with the LSTM cell of notebook 04.

    Calling the Keras model once per new note would re-read the whole tune every time; stepping the cell keeps the
    memories ``(h, c)`` between steps instead, so composing a tune takes milliseconds.
    """

    def __init__(self, model):
        has(model, "get_layer", "model", "the Keras model from build_melody_lstm (layers embedding, lstm, logits)")
        # float64 once here, like the memories: mixing in Keras' float32 would convert every matrix at every step
        weights = [np.asarray(w, dtype="float64") for name in ("embedding", "lstm", "logits")
                   for w in model.get_layer(name).get_weights()]
        self.embedding, self.W, self.U, self.b, self.dense_w, self.dense_b = weights

    def start(self) -> tuple[np.ndarray, np.ndarray]:
        """Empty short-term (h) and long-term (c) memories, shape (1, units) each."""
        units = self.U.shape[0]
        return np.zeros((1, units)), np.zeros((1, units))

    def step(self, token: int, state: tuple[np.ndarray, np.ndarray]):
        """Read one token id: the logits of the next token, shape (vocab,), and the new memories ``(h, c)``."""
        from utils.lstm import lstm_cell_step  # here, not at the top: utils.lstm loads Keras

        h, c = lstm_cell_step(self.embedding[[token]], *state, self.W, self.U, self.b)
        return (h @ self.dense_w + self.dense_b)[0], (h, c)


def compose(stepper, vocab, seed, temperature, rng, sampler, max_notes=120):
    """Continue a seed phrase (tokens starting with "<s>") until the model picks "</s>" or after max_notes new tokens.

    ``stepper`` reads one token id at a time and carries its memory in ``state`` (an LSTM: h and C; an n-gram: the
    last tokens); after each token, ``sampler(logits, temperature, rng)`` draws the next one from its logits.
    """
    has(stepper, "step", "stepper", "music.LSTMStepper(model) or a fitted music.KneserNey")
    ids, state = vocab.encode(seed), stepper.start()
    for token in ids:
        logits, state = stepper.step(token, state)
    for _ in range(max_notes):
        logits[[vocab.index["<pad>"], vocab.index["<s>"]]] = -np.inf
        ids.append(int(sampler(logits, temperature, rng)))
        if ids[-1] == vocab.index["</s>"]:
            break
        logits, state = stepper.step(ids[-1], state)
    return vocab.decode(ids)


# --- statistics of tunes ---------------------------------------------------------------------------------------------

C_MAJOR = {0, 2, 4, 5, 7, 9, 11}


def pitch_class_histogram(tunes_notes) -> np.ndarray:
    """Share of notes on each pitch class C … B (rests ignored), each note weighted by its duration; sums to 1."""
    hist = np.zeros(12)
    for notes in _tunes(tunes_notes):
        for pitch, duration in notes:
            if pitch is not None:
                hist[pitch % 12] += float(duration)
    if hist.sum() == 0:
        raise ValueError("no notes at all: pass tunes as lists of (pitch, duration) pairs")
    return hist / hist.sum()


def tune_statistics(tunes_notes) -> dict[str, float]:
    """Summary of tunes in C major / A minor: length, share of notes in the key, range, how they end.

    A tune ends on its last pitched note (a closing rest is skipped): on C or A, the home note of C major or A minor,
    and held for how many quarter notes.
    """
    in_key, ranges, lengths, endings, last = [], [], [], [], []
    for notes in _tunes(tunes_notes):
        pitches = [p for p, _ in notes if p is not None]
        if not pitches:
            continue
        in_key.append(np.mean([p % 12 in C_MAJOR for p in pitches]))
        ranges.append(max(pitches) - min(pitches))
        lengths.append(len(notes))
        endings.append(pitches[-1] % 12 in (0, 9))
        last.append(float(next(d for p, d in reversed(notes) if p is not None)))
    if not lengths:
        raise ValueError("no tune has a note (only rests): pass tunes as lists of (pitch, duration) pairs")
    return {"tunes": len(lengths), "notes per tune": float(np.mean(lengths)),
            "share of notes in key (%)": 100 * float(np.mean(in_key)), "range (semitones)": float(np.mean(ranges)),
            "share ending on C or A (%)": 100 * float(np.mean(endings)), "last note (quarters)": float(np.mean(last))}


def histogram_distance(p, q) -> float:
    """Total-variation distance between two histograms: half the sum of absolute differences, 0 (same) … 1."""
    p, q = finite_array(p, "p", ndim=1), finite_array(q, "q", ndim=1)
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same length, got {len(p)} and {len(q)}: use pitch_class_histogram")
    return 0.5 * float(np.abs(p - q).sum())


# --- MIDI, audio, piano roll -----------------------------------------------------------------------------------------


def notes_to_midi(notes, path, bpm: float = 100.0, program: int = 0) -> Path:
    """Write ``(pitch, duration)`` pairs to a MIDI file (one instrument, ``bpm`` quarter notes per minute)."""
    import pretty_midi

    notes, path = _notes(notes, "notes"), as_path(path, "path", "music.OUTPUT_DIR / 'tune.mid'")
    bpm = number(bpm, "bpm", positive=True)
    midi = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    instrument = pretty_midi.Instrument(program=program, name="melody")
    seconds_per_quarter, time_now = 60.0 / bpm, 0.0
    for pitch, duration in notes:
        length = float(duration) * seconds_per_quarter
        if pitch is not None:
            instrument.notes.append(pretty_midi.Note(velocity=90, pitch=int(pitch), start=time_now,
                                                     end=time_now + length))
        time_now += length
    midi.instruments.append(instrument)
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        midi.write(str(path))
    except OSError as exc:
        raise ValueError(f"Cannot write {path} ({exc.strerror}): write into music.OUTPUT_DIR, which is always "
                         "writable, e.g. music.OUTPUT_DIR / 'tune.mid'.") from None
    return path


def midi_to_notes(path, bpm: float = 100.0) -> list[tuple]:
    """Read a one-melody MIDI file back into ``(pitch, duration)`` pairs (gaps become rests, durations in quarters)."""
    import pretty_midi

    path = as_path(path, "path", "music.OUTPUT_DIR / 'tune.mid'")
    if not path.is_file():
        raise ValueError(f"No MIDI file at {path}: write one first with notes_to_midi(notes, path).")
    bpm = number(bpm, "bpm", positive=True)
    midi = pretty_midi.PrettyMIDI(str(path))
    seconds_per_quarter, notes, time_now = 60.0 / bpm, [], 0.0
    for note in sorted(midi.instruments[0].notes, key=lambda n: n.start):
        gap = Fraction(round((note.start - time_now) / seconds_per_quarter * 48), 48)
        if gap > 0:
            notes.append((None, gap))
        notes.append((note.pitch, Fraction(round((note.end - note.start) / seconds_per_quarter * 48), 48)))
        time_now = note.end
    return notes


def synthesize(notes, bpm: float = 100.0, rate: int = 8000, max_seconds: float = 12.0) -> np.ndarray:
    """A small NumPy synthesizer: each note a few harmonics with a soft attack and a decay; no sound card library.

    Returns float samples in [-1, 1] at ``rate`` Hz, cut after ``max_seconds`` (short keeps the notebook small).
    """
    notes, bpm = _notes(notes, "notes"), number(bpm, "bpm", positive=True)
    rate, max_seconds = whole(rate, "rate"), number(max_seconds, "max_seconds", positive=True)
    seconds_per_quarter = 60.0 / bpm
    total = sum(float(d) for _, d in notes) * seconds_per_quarter
    samples = np.zeros(int(min(total, max_seconds) * rate) + 1)
    start = 0.0
    for pitch, duration in notes:
        length = float(duration) * seconds_per_quarter
        begin = int(start * rate)
        if begin >= len(samples):
            break
        if pitch is not None:
            t = np.arange(min(int(length * rate), len(samples) - begin)) / rate
            freq = 440.0 * 2 ** ((pitch - 69) / 12)
            tone = sum(a * np.sin(2 * np.pi * k * freq * t) for k, a in ((1, 1.0), (2, 0.4), (3, 0.2), (4, 0.1)))
            envelope = np.minimum(t / 0.01, 1.0) * np.exp(-3.0 * t) * np.minimum((length - t) / 0.02, 1.0)
            samples[begin:begin + len(t)] += tone * envelope
        start += length
    peak = np.abs(samples).max()
    return samples / peak * 0.8 if peak > 0 else samples


def audio_player(notes, bpm: float = 100.0, rate: int = 8000, max_seconds: float = 12.0):
    """An in-notebook audio player (``IPython.display.Audio``) for a tune, synthesized with NumPy."""
    from IPython.display import Audio

    return Audio(synthesize(notes, bpm, rate, max_seconds), rate=rate)


def plot_piano_roll(tunes_notes, titles, bpm: float | None = None, max_quarters: float = 32.0):
    """One piano roll per tune: a bar per note, pitch (MIDI number, named) against time in quarter notes."""
    import matplotlib.pyplot as plt

    tunes_notes = _tunes(tunes_notes)
    if isinstance(titles, str) or not hasattr(titles, "__len__") or len(titles) != len(tunes_notes):
        raise ValueError(f"titles must be a list with one title per tune ({len(tunes_notes)}), not {titles!r:.60}")
    fig, axes = plt.subplots(len(tunes_notes), 1, figsize=(8, 1.9 * len(tunes_notes)), sharex=True, squeeze=False)
    for ax, notes, title in zip(axes[:, 0], tunes_notes, titles, strict=True):
        start, pitches = 0.0, []
        for pitch, duration in notes:
            if start >= max_quarters:
                break
            if pitch is not None:
                ax.barh(pitch, float(duration), left=start, height=0.8, color="C0", edgecolor="black")
                pitches.append(pitch)
            start += float(duration)
        if pitches:
            ticks = [p for p in range(min(pitches), max(pitches) + 1) if p % 12 in (0, 4, 7)]
            ax.set_yticks(ticks, [pitch_name(p) for p in ticks])
            ax.set_ylim(min(pitches) - 1.5, max(pitches) + 1.5)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel("pitch")
    axes[-1, 0].set_xlabel("time (quarter notes)")
    axes[-1, 0].set_xlim(0, max_quarters)
    fig.tight_layout()
    return fig


def _notes(notes, name: str) -> list[tuple]:
    """``notes`` as a list of ``(pitch or None, duration > 0)`` pairs, else a ValueError naming the expected form."""
    notes = non_empty(notes, name, "(pitch, duration) pair")
    for pair in notes:
        ok = isinstance(pair, (tuple, list)) and len(pair) == 2
        if ok:
            pitch, duration = pair
            ok = (pitch is None or (isinstance(pitch, (int, np.integer)) and not isinstance(pitch, bool)
                                    and 0 <= pitch <= 127))
            try:
                ok = ok and float(duration) > 0 and math.isfinite(float(duration))
            except (TypeError, ValueError):
                ok = False
        if not ok:
            raise ValueError(f"{name} must be (pitch, duration) pairs such as (60, 1) or (None, 0.5) for a rest, "
                             f"with pitch 0 … 127 and duration > 0 quarters; got {pair!r:.40}")
    return notes


def _tunes(tunes_notes) -> list[list[tuple]]:
    """A non-empty list of tunes, each checked by ``_notes``."""
    return [_notes(notes, "each tune") for notes in non_empty(tunes_notes, "tunes_notes", "list of (pitch, duration)")]
