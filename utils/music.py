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

``kneser_ney_prob`` is written in notebook 09, where it is taught, and saved here (tests/test_saved_code.py keeps the
copies identical). ``transpose``, ``build_melody_lstm``, ``train_melody_lstm``, ``sample_with_temperature``,
``compose`` and ``longest_shared_runs`` are the reference answers of its exercises: the notebook falls back to them
until a student's own answer passes its check, and the course's tool trains the shipped weights with them.
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
from utils.sampling import softmax  # noqa: F401 (notebook 09 calls music.softmax for its temperature chart)
from utils.validate import finite_array, has, non_empty, number, string, whole
from utils.validate import path as as_path

BOS, EOS, PAD, UNK = "<s>", "</s>", "<pad>", "<unk>"
REST = "rest"
#: The German files of music21's Essen collection (folk songs from German-speaking regions, 20 files).
GERMAN_FILES = ("altdeu10", "altdeu20", "ballad10", "ballad20", "ballad30", "ballad40", "ballad50", "ballad60",
                "ballad70", "ballad80", "boehme10", "boehme20", "dva0", "erk5", "erk10", "erk20", "erk30", "fink0",
                "kinder0", "zuccal0")
CACHE = DATA_DIR / "essen_german.json.gz"
WEIGHTS = DATA_DIR / "music_lstm.weights.h5"
HOMEWORK_RUNS = DATA_DIR / "music_homework_runs.csv"
NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
#: How the shipped model was trained (``python -m tools.music_data train``, then ``train --resume``): schedule and the
#: tune split. Its sizes are the defaults of ``build_melody_lstm``.
TRAINING = {"epochs": 20, "batch_size": 64, "val_fraction": 0.1, "hold_fraction": 0.05, "split_seed": 0,
            "resume_epochs": 6, "resume_batch_size": 32}
#: The homework plan of notebook 09's Exercise 3 that ``python -m tools.music_data homework`` measures from scratch.
HOMEWORK_PLAN = {"embed_dim": 48, "units": 128, "learning_rate": 0.005, "batch_size": 32, "epochs": 10}



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


def homework_runs(path: Path = HOMEWORK_RUNS):
    """The measured runs of ``HOMEWORK_PLAN`` (a pandas table: start, epoch, validation NLL, hold-out NLL, seconds,
    CPU seconds), written by ``python -m tools.music_data homework``."""
    import pandas as pd

    path = as_path(path, "path", "music.HOMEWORK_RUNS")
    if not path.exists():
        raise ValueError(f"{path} is missing: run `python -m tools.music_data homework` to measure the homework plan")
    return pd.read_csv(path)


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
    """Back from tokens to ``(pitch, duration)`` pairs; markers, padding and ``<unk>`` (no note to play) are skipped."""
    return [token_to_note(t) for t in tokens if t not in (BOS, EOS, PAD, UNK)]


class NoteVocabulary:
    """Token ↔ integer id, built from the **training** tunes only. Id 0 is padding (``<pad>``), so a Keras Embedding
    can mask it (``mask_zero=True``); then ``<s>``, ``</s>``, ``<unk>`` and the notes, commonest first.

    A token seen fewer than ``min_count`` times in the training tunes gets no id of its own: it, and any token the
    training tunes never had (a rare note of a validation tune), is encoded as ``<unk>``. Its training occurrences
    teach a model how likely "some rare note" is, so a held-out tune never meets a token the model cannot score.
    """

    def __init__(self, token_lists, min_count: int = 2):
        token_lists = non_empty(token_lists, "token_lists", "list of tokens")
        min_count = whole(min_count, "min_count", minimum=1, fix="2: tokens seen once become <unk>")
        counts = Counter(t for tokens in token_lists for t in non_empty(tokens, "each token list", "token"))
        kept = [t for t in counts if counts[t] >= min_count and t not in (BOS, EOS, UNK, PAD)]
        self.tokens = [PAD, BOS, EOS, UNK] + sorted(kept, key=lambda t: (-counts[t], t))
        self.index = {t: i for i, t in enumerate(self.tokens)}
        self.counts = counts  # training counts of every token, kept or not
        self.min_count = min_count

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, tokens) -> list[int]:
        """Token strings → ids; a token without an id of its own becomes ``<unk>``."""
        if isinstance(tokens, str) or not hasattr(tokens, "__iter__"):
            raise ValueError(f"tokens must be a list of token strings such as ['<s>', 'C4:1'], not {tokens!r:.60}")
        unk = self.index[UNK]
        return [self.index.get(t, unk) for t in tokens]

    def decode(self, ids) -> list[str]:
        return [self.tokens[int(i)] for i in ids]


def song_families(tunes) -> np.ndarray:
    """One family number per tune: the variants of one song are one family, so that a split never separates them.

    The Essen collection prints variants of a song under one number with a letter (``A0220A``, ``A0220B``), and the
    same melody sometimes appears in two of its collections under two numbers: tunes that share an Essen number
    (without the letter) or have the same notes once moved to C are one family.
    """
    tunes = non_empty(tunes, "tunes", "tune dict from load_tunes()")
    parent = list(range(len(tunes)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict = {}
    for i, tune in enumerate(tunes):
        notes = in_c(tune)
        number = re.sub(r"[A-Z]+$", "", str(tune.get("essen_id", ""))) or f"#{i}"
        for key in (("number", number), ("notes", tuple(notes))):
            j = first.setdefault(key, i)
            parent[root(i)] = root(j)
    roots = [root(i) for i in range(len(tunes))]
    return np.unique(roots, return_inverse=True)[1]


def split_by_tune(n_tunes: int, val_fraction: float = 0.1, seed: int = 0,
                  families=None) -> tuple[np.ndarray, np.ndarray]:
    """Indices of training and validation tunes: whole tunes go to one side, never split inside a tune.

    With ``families`` (one number per tune, ``song_families``), whole families go to one side: the validation tunes
    then have no variant among the training tunes. Validation takes families in a random order until it holds
    ``val_fraction`` of the tunes.
    """
    n_tunes = whole(n_tunes, "n_tunes", minimum=2, fix="pass len(tunes); a split needs two tunes or more")
    if not 0 < number(val_fraction, "val_fraction") < 1:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    if families is None:
        families = np.arange(n_tunes)
    families = np.asarray(families)
    if families.shape != (n_tunes,):
        raise ValueError(f"families must hold one number per tune ({n_tunes}), got shape {families.shape}: "
                         "use song_families(tunes)")
    order = np.random.default_rng(seed).permutation(np.unique(families))
    sizes = np.bincount(np.unique(families, return_inverse=True)[1])[np.searchsorted(np.unique(families), order)]
    n_val = max(1, round(n_tunes * val_fraction))
    chosen = order[:int(np.searchsorted(np.cumsum(sizes), n_val)) + 1]
    is_val = np.isin(families, chosen)
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


def prepare_corpus(tunes=None) -> dict:
    """What notebook 09 computes before any model, the same way: families, the split, tokens, the vocabulary, ids.

    The split is fixed (``TRAINING["split_seed"]``), not shifted with the notebook's seeds: the shipped weights were
    trained on exactly these training tunes, and never saw the validation tunes. Keys: ``tunes``, ``tokens``
    (one list per tune, in C), ``train``, ``val`` (indices into ``tunes``), ``fit``, ``hold`` (indices into ``tunes``:
    the training tunes a model learns from, and the few held back to choose epochs and orders), ``vocab``, ``ids``.
    """
    tunes = load_tunes() if tunes is None else tunes
    families = song_families(tunes)
    split = TRAINING["split_seed"]
    train, val = split_by_tune(len(tunes), TRAINING["val_fraction"], split, families)
    fit, hold = (train[i] for i in split_by_tune(len(train), TRAINING["hold_fraction"], split, families[train]))
    tokens = [tune_tokens(in_c(t)) for t in tunes]
    vocab = NoteVocabulary([tokens[i] for i in fit])
    return {"tunes": tunes, "tokens": tokens, "train": train, "val": val, "fit": fit, "hold": hold, "vocab": vocab,
            "ids": [vocab.encode(t) for t in tokens]}


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
    """Interpolated Kneser–Ney n-gram model over token ids (order 1 = unigram, 2 = bigram, 3 = trigram, …).

    P(w | ctx) = max(c(ctx, w) - D, 0) / c(ctx) + D · N1+(ctx ·) / c(ctx) · P_lower(w | shorter ctx), where the lower
    orders use continuation counts (in how many different contexts a token appears) and the lowest order is mixed with
    a uniform distribution over the vocabulary, so that no token ever gets probability 0. An unseen context falls back
    entirely to the shorter one. Each tune is padded with ``order - 1`` start markers on the left.

    One ``fit`` counts every context length up to ``order - 1``, so ``with_order(k)`` gives the model of any lower
    order without counting again (a k-gram uses the continuation counts of its shorter contexts and the plain counts
    of its longest one).
    """

    MAX_ORDER = 12

    def __init__(self, order: int, vocab_size: int, discount: float = 0.75):
        if isinstance(order, bool) or order not in range(1, self.MAX_ORDER + 1):
            raise ValueError(f"order must be 1 … {self.MAX_ORDER}, got {order!r}")
        if not 0 < discount < 1:
            raise ValueError(f"discount must be between 0 and 1, got {discount}")
        vocab_size = whole(vocab_size, "vocab_size", 2, "pass len(vocab)")
        self.order, self.vocab_size, self.discount = order, vocab_size, discount

    def fit(self, sequences) -> KneserNey:
        """``sequences``: lists of ids, each starting with the start marker and ending with the end marker."""
        n = self.order
        sequences = _id_sequences(sequences, "sequences", self.vocab_size)
        plain = [defaultdict(Counter) for _ in range(n)]  # plain[k][context of length k][w]: how often w followed it
        for seq in sequences:
            padded = [seq[0]] * (n - 1) + list(seq)
            for i in range(n, len(padded)):  # predict every token after the first start marker
                w = padded[i]
                for k in range(n):
                    plain[k][tuple(padded[i - k:i])][w] += 1
        continuation = [defaultdict(Counter) for _ in range(n - 1)]  # in how many longer contexts w followed it
        for k in range(1, n):
            for context, followers in plain[k].items():
                for w in followers:
                    continuation[k - 1][context[1:]][w] += 1
        self._plain, self._continuation, self._totals = plain, continuation, {}
        return self._use(n)

    def with_order(self, order: int) -> KneserNey:
        """The fitted model of a lower order (1 … ``self.order``), from the counts this one already holds."""
        has(self, "_plain", "model", "a fitted music.KneserNey: call .fit(train_ids) first")
        if isinstance(order, bool) or order not in range(1, self.order + 1):
            raise ValueError(f"order must be 1 … {self.order} (the order this model was fitted with), got {order!r}")
        lower = KneserNey(order, self.vocab_size, self.discount)
        lower._plain, lower._continuation, lower._totals = self._plain, self._continuation, self._totals
        return lower._use(order)

    def _use(self, order: int) -> KneserNey:
        """Point ``counts`` and ``totals`` at the levels a model of ``order`` uses."""
        levels = [("continuation", k) for k in range(order - 1)] + [("plain", order - 1)]
        source = {"plain": self._plain, "continuation": self._continuation}
        self.counts = [source[kind][k] for kind, k in levels]
        for level in levels:
            if level not in self._totals:
                self._totals[level] = {c: sum(f.values()) for c, f in source[level[0]][level[1]].items()}
        self.totals = [self._totals[level] for level in levels]
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


def train_melody_lstm(model, train_ids, hold_ids, epochs: int, batch_size: int = TRAINING["batch_size"]):
    """Fit a compiled melody LSTM on the training tunes; keep the epoch with the lowest loss on the hold-out tunes.

    ``train_ids`` and ``hold_ids`` are tunes as lists of ids. Batches group tunes of similar length
    (``tune_batches``); training stops when the hold-out loss has not improved for two epochs, and the best epoch's
    weights are restored. Returns Keras' ``History``.
    """
    import keras

    epochs, batch_size = whole(epochs, "epochs"), whole(batch_size, "batch_size")
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    return model.fit(tune_batches(train_ids, batch_size), validation_data=tune_batches(hold_ids, 256), epochs=epochs,
                     callbacks=[stop], verbose=0)


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


def context_cut_token_nlls(model, sequences, keep: int, batch_size: int = 4096) -> list[np.ndarray]:
    """``lstm_token_nlls`` of a model that may read only the start marker and the last ``keep`` tokens.

    To predict token t, the model reads ``<s>`` followed by tokens t - keep … t - 1 of the tune, as if the tune began
    there, instead of the whole tune so far; in a tune's first ``keep`` + 1 positions nothing is cut. The ablation of
    section 4: what the LSTM loses when it cannot remember further back than an n-gram.
    """
    has(model, "predict_on_batch", "model", "a Keras model (from build_melody_lstm)")
    sequences = _id_sequences(sequences, "sequences")
    keep = whole(keep, "keep")
    windows, targets, owner = [], [], []
    for j, seq in enumerate(sequences):
        for t in range(1, len(seq)):
            windows.append(seq[:t] if t <= keep + 1 else [seq[0]] + seq[t - keep:t])
            targets.append(seq[t])
            owner.append(j)
    lengths = np.array([len(w) for w in windows])
    x = pad_batch(windows, keep + 1)
    nlls = np.empty(len(windows))
    for start in range(0, len(windows), batch_size):
        rows = slice(start, start + batch_size)
        logits = np.asarray(model.predict_on_batch(x[rows]), dtype="float64")
        last = logits[np.arange(len(logits)), lengths[rows] - 1]  # the logits after each window's last token
        last -= last.max(axis=-1, keepdims=True)
        log_probs = last - np.log(np.exp(last).sum(axis=-1, keepdims=True))
        nlls[rows] = -log_probs[np.arange(len(last)), np.asarray(targets[rows])]
    bounds = np.cumsum([0] + [len(s) - 1 for s in sequences])
    return [nlls[bounds[j]:bounds[j + 1]] for j in range(len(sequences))]


def sample_with_temperature(logits, temperature: float, rng: np.random.Generator) -> int:
    """Draw one index from softmax(logits / temperature): T < 1 sharpens (safer), T > 1 flattens (bolder)."""
    if number(temperature, "temperature") <= 0:
        raise ValueError(f"temperature must be > 0 (use a small value like 0.05 for almost-greedy), got {temperature}")
    has(rng, "choice", "rng", "a NumPy random generator such as np.random.default_rng(0)")
    z = np.asarray(logits, dtype=float) / temperature
    p = np.exp(z - z.max())  # the largest logit becomes exp(0) = 1: no overflow; a banned token (-inf) gets 0
    return int(rng.choice(len(p), p=p / p.sum()))


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
    last tokens); after each token, ``sampler(logits, temperature, rng)`` draws the next one from its logits, with
    ``<pad>``, ``<s>`` and ``<unk>`` banned. The reference answer of notebook 09's Exercise 4.
    """
    has(stepper, "step", "stepper", "music.LSTMStepper(model) or a fitted music.KneserNey")
    banned = [vocab.index[PAD], vocab.index[BOS], vocab.index[UNK]]
    ids, state = vocab.encode(seed), stepper.start()
    for token in ids:
        logits, state = stepper.step(token, state)
    for _ in range(max_notes):
        logits = np.array(logits, dtype=float)
        logits[banned] = -np.inf
        ids.append(int(sampler(logits, temperature, rng)))
        if ids[-1] == vocab.index[EOS]:
            break
        logits, state = stepper.step(ids[-1], state)
    return vocab.decode(ids)


def longest_shared_runs(tunes, training_tunes) -> list[int]:
    """For each of ``tunes``, the length of its longest run of consecutive tokens that also appears, consecutively,
    inside one of ``training_tunes`` (a run never spans the end of one training tune and the start of the next).

    Each token becomes one character and the training tunes one text, separated by a character no token has; a run
    that is found stays found when its first token is dropped, so its end never moves back: one pass over each tune.
    """
    tunes = [[str(t) for t in non_empty(tune, "each tune", "token")] for tune in non_empty(tunes, "tunes", "tune")]
    training_tunes = non_empty(training_tunes, "training_tunes", "list of tokens")
    alphabet: dict[str, str] = {}

    def letters(tokens):
        return "".join(alphabet.setdefault(str(t), chr(0x100 + len(alphabet))) for t in tokens)

    text = "\n".join(letters(t) for t in training_tunes)  # "\n" is no token's character (those start at U+0100)
    lengths = []
    for tune in tunes:
        word, best, end = letters(tune), 0, 0
        for start in range(len(word)):
            end = max(end, start)
            while end < len(word) and word[start:end + 1] in text:
                end += 1
            best = max(best, end - start)
        lengths.append(best)
    return lengths


# --- statistics of tunes ---------------------------------------------------------------------------------------------

C_MAJOR = {0, 2, 4, 5, 7, 9, 11}  # the pitch classes of C D E F G A B: the notes without a sharp or flat
#: What ``tune_measures`` measures of each tune, in the order the notebook's tables show them.
MEASURES = ("notes per tune", "notes on C D E F G A B (%)", "range (semitones)", "ending on C (%)",
            "last note (quarters)")


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


def tune_measures(tunes_notes) -> dict[str, np.ndarray]:
    """Each of ``MEASURES`` for each tune (arrays, one value per tune), for tunes moved to C.

    The notes on C D E F G A B are the notes the key signature of C major has no sharp or flat for. A tune ends on its
    last pitched note (a closing rest is skipped): on C, the home note of C major, or not; held for how many quarter
    notes. A tune of rests only has no pitch to measure: its values are NaN.
    """
    rows = []
    for notes in _tunes(tunes_notes):
        pitches = [p for p, _ in notes if p is not None]
        if not pitches:
            rows.append([len(notes)] + [np.nan] * 4)
            continue
        last = float(next(d for p, d in reversed(notes) if p is not None))
        rows.append([len(notes), 100 * np.mean([p % 12 in C_MAJOR for p in pitches]), max(pitches) - min(pitches),
                     100.0 * (pitches[-1] % 12 == 0), last])
    values = np.array(rows, dtype=float)
    return {name: values[:, k] for k, name in enumerate(MEASURES)}


def tune_statistics(tunes_notes) -> dict[str, float]:
    """The mean of each of ``tune_measures`` over the tunes (tunes of rests only left out), and their number."""
    measures = tune_measures(tunes_notes)
    pitched = ~np.isnan(measures[MEASURES[1]])
    if not pitched.any():
        raise ValueError("no tune has a note (only rests): pass tunes as lists of (pitch, duration) pairs")
    return {"tunes": int(pitched.sum())} | {name: float(values[pitched].mean()) for name, values in measures.items()}


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


def plot_piano_roll(tunes_notes, titles, max_quarters: float = 32.0, seed_notes: int = 0):
    """One piano roll per tune: a bar per note, pitch against time in quarter notes.

    Every note name of C major (C D E F G A B, with its octave) in the tune's range is labelled. With ``seed_notes``,
    the first that many notes of each tune are drawn in another colour and a dashed line marks where they end: the
    seed a model continued, and what it wrote.
    """
    import matplotlib.pyplot as plt

    from utils.plots import PALETTE

    tunes_notes = _tunes(tunes_notes)
    if isinstance(titles, str) or not hasattr(titles, "__len__") or len(titles) != len(tunes_notes):
        raise ValueError(f"titles must be a list with one title per tune ({len(tunes_notes)}), not {titles!r:.60}")
    seed_notes = whole(seed_notes, "seed_notes", minimum=0, fix="the number of seed notes, such as 4, or 0")
    fig, axes = plt.subplots(len(tunes_notes), 1, figsize=(8, 2.1 * len(tunes_notes)), sharex=True, squeeze=False)
    for ax, notes, title in zip(axes[:, 0], tunes_notes, titles, strict=True):
        start, pitches = 0.0, []
        for k, (pitch, duration) in enumerate(notes):
            if k == seed_notes and seed_notes:
                ax.axvline(start, color="black", linestyle="--", linewidth=1)
            if start >= max_quarters:
                break
            if pitch is not None:
                colour = PALETTE["orange"] if k < seed_notes else PALETTE["blue"]
                ax.barh(pitch, float(duration), left=start, height=0.8, color=colour, edgecolor="black")
                pitches.append(pitch)
            start += float(duration)
        if pitches:
            ticks = [p for p in range(min(pitches), max(pitches) + 1) if p % 12 in C_MAJOR]
            ax.set_yticks(ticks, [pitch_name(p) for p in ticks], fontsize=7)
            ax.set_ylim(min(pitches) - 1.5, max(pitches) + 1.5)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel("pitch")
    if seed_notes:
        from matplotlib.patches import Patch

        axes[0, 0].legend(handles=[Patch(facecolor=PALETTE["orange"], edgecolor="black", label="seed"),
                                   Patch(facecolor=PALETTE["blue"], edgecolor="black", label="continuation")],
                          loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    axes[-1, 0].set_xlabel("time (quarter notes); dashed line: where the seed ends" if seed_notes else
                           "time (quarter notes)")
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
