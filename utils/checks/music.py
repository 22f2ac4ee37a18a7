"""Checks for notebook 09 (music composition): transposing a melody; building the melody LSTM; training it (and the
trained model's target: a lower validation NLL than the best n-gram's); the generation loop; the longest run a tune
shares with the training tunes.

What runs a Keras model goes through a *harness*: a module-level function here that runs the student's function or
model and returns plain data (numbers, arrays, strings), so that the grader can run it in an isolated process. What is
expected (the masked cross-entropy, the n-gram's NLL, the tokens a loop must produce) is computed on this side.
"""

from __future__ import annotations

import functools
import math
import weakref
from fractions import Fraction

import numpy as np

from utils import music
from utils.checks import call, diagnose, exercise

# --- Exercise 1 · transpose a melody ----------------------------------------------------------------------------------

# "Alle meine Entchen" opening in G major, with a rest and a dotted note, so each typical mistake shows.
_MELODY = [(67, Fraction(1, 2)), (69, Fraction(1, 2)), (71, Fraction(1, 2)), (72, Fraction(1, 2)), (74, Fraction(1)),
           (None, Fraction(1, 2)), (74, Fraction(3, 2)), (76, Fraction(1, 4))]
_SHIFTS = (5, -7, 0, 12)


def _as_pairs(result):
    """The student's result as a list of (pitch or None, Fraction), or None if it is not a list of pairs."""
    try:
        pairs = []
        for pitch, duration in result:
            pairs.append((None if pitch is None else int(pitch), Fraction(duration).limit_denominator(96)))
        return pairs
    except (TypeError, ValueError):
        return None


def _fresh_melody(rng) -> list[tuple]:
    """A random melody of 6 … 10 notes with one rest somewhere inside, for cases no one has seen."""
    n = int(rng.integers(6, 11))
    durations = [Fraction(1, 4), Fraction(1, 2), Fraction(1), Fraction(3, 2), Fraction(2)]
    notes = [(int(rng.integers(55, 80)), durations[int(rng.integers(len(durations)))]) for _ in range(n)]
    notes[int(rng.integers(1, n - 1))] = (None, Fraction(1, 2))
    return notes


@exercise("Exercise 1 · transpose a melody",
          notebook="09", answer="transpose", reference="utils.music:transpose", points=2, minutes=10)
def check_transpose(fn, report) -> None:
    """``fn(notes, semitones)`` must move every pitch by ``semitones``, keep rests and durations, not edit its input."""
    fresh = _fresh_melody(report.rng)
    cases = [(_MELODY, shift) for shift in _SHIFTS] + [(fresh, int(report.rng.integers(-6, 7)) or 3)]
    for melody_given, shift in cases:
        melody = list(melody_given)
        expected = [(None if p is None else p + shift, d) for p, d in melody_given]
        result, error = call(fn, melody, shift)
        label = (f"'Alle meine Entchen' moved by {shift:+d} semitones" if melody_given is _MELODY else
                 f"a melody of {len(melody)} notes moved by {shift:+d} semitones")
        if error:
            hint = "a rest has pitch None, which cannot be moved: keep it as it is" if "NoneType" in error else None
            report.fail(f"{label}: your function raised {error}", hint=hint,
                        show="(None if pitch is None else pitch + semitones, duration)" if hint else None)
            continue
        if melody != melody_given:
            report.fail(f"{label}: your function changed the melody it was given",
                        hint="build and return a new list instead of editing `notes` in place")
            continue
        if result is None:
            report.fail(f"{label}: no list came back", got=None, hint="return the new list of (pitch, duration)")
            continue
        if not isinstance(result, (list, tuple)):
            report.fail(f"{label}: return a list of (pitch, duration) pairs", got=result,
                        hint="the cells below read the result more than once and index it, which a generator or map "
                             "cannot do: return a list", show="[... for pitch, duration in notes] (square brackets)")
            continue
        pairs = _as_pairs(result)
        if pairs is None:
            report.fail(f"{label}: return a list of (pitch, duration) pairs", got=result)
            continue
        if pairs == expected:
            continue
        rests = [p for p, _ in pairs].count(None)
        if len(pairs) != len(expected) or rests != 1:
            hint = "keep the rest in the list, unchanged" if rests == 0 else "one output note per input note"
            report.fail(f"{label}: wrong notes", expected=expected, got=pairs, hint=hint)
        elif [p for p, _ in pairs] == [p for p, _ in expected]:
            report.fail(f"{label}: durations changed", expected=[d for _, d in expected][:4],
                        got=[d for _, d in pairs][:4], hint="transposing changes pitches only, never durations")
        elif [p for p, _ in pairs] == [None if p is None else p - shift for p, _ in melody_given]:
            report.fail(f"{label}: pitches moved the wrong way", expected=expected[0][0], got=pairs[0][0],
                        hint="positive `semitones` moves the melody up: the pitch numbers grow")
        elif [p for p, _ in pairs] == [None if p is None else (p + shift) % 12 for p, _ in melody_given]:
            report.fail(f"{label}: the octave was lost", expected=expected[0][0], got=pairs[0][0],
                        hint="a MIDI number holds the octave too: keep the whole number, not its pitch class")
        else:
            report.fail(f"{label}: wrong pitches", expected=[p for p, _ in expected], got=[p for p, _ in pairs],
                        hint="each pitch should become pitch + semitones")


# --- shared: the masked cross-entropy of logits, computed on the trusted side -----------------------------------------


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=float)
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _masked_nll(logits, targets, count_padding: bool = False) -> float:
    """Mean −log softmax(logits)[target] over the positions whose target is not padding (id 0), or over all."""
    picked = np.take_along_axis(_log_softmax(logits), np.asarray(targets)[..., None], axis=-1)[..., 0]
    keep = np.ones_like(picked, dtype=bool) if count_padding else np.asarray(targets) != 0
    return float(-picked[keep].mean())


def _sequence_nlls(model, sequences) -> np.ndarray:
    """−log p(each next token) of every sequence, read by ``model`` (logits (batch, time, vocab)); one flat array."""
    x, y = music.lm_arrays(sequences, max_len=10_000)
    logits = np.asarray(model.predict_on_batch(x), dtype=float)
    picked = np.take_along_axis(_log_softmax(logits), y[..., None], axis=-1)[..., 0]
    return -picked[y != 0]


def _kind(obj) -> str:
    return "None" if obj is None else type(obj).__name__


# --- Exercise 2 · build the melody LSTM -------------------------------------------------------------------------------


def _param_count(vocab_size: int, embed_dim: int, units: int) -> int:
    """Embedding (vocab × embed) + LSTM (4 gates × units × (embed + units + 1)) + Dense ((units + 1) × vocab)."""
    return vocab_size * embed_dim + 4 * units * (embed_dim + units + 1) + (units + 1) * vocab_size


def probe_built_model(build_fn, vocab_size, embed_dim, units, learning_rate, x, y, x_later) -> dict:
    """Harness: build the student's model and report, as plain data, what the check needs to judge it.

    Its logits for a batch ``x`` and for ``x_later`` (the same batch with its later tokens changed), its parameter
    count, whether it is compiled, its learning rate, and its compiled loss on ``(x, y)`` and on the same batch with
    three more columns of padding.
    """
    model = build_fn(vocab_size, embed_dim=embed_dim, units=units, dropout=0.0, learning_rate=learning_rate)
    if model is None or not callable(getattr(model, "count_params", None)) or not callable(model):
        return {"returned": _kind(model)}
    facts = {"returned": "model", "params": int(model.count_params())}
    try:
        facts["output_shape"] = tuple(model.output_shape)
    except (AttributeError, ValueError, TypeError):  # a model that cannot say: its outputs below will tell
        facts["output_shape"] = None
    if facts["output_shape"] is not None and len(facts["output_shape"]) != 3:
        return facts
    rng = np.random.default_rng(vocab_size)  # large random weights: logits far from uniform, so mistakes show
    try:
        model.set_weights([rng.normal(0, 0.7, np.shape(w)) for w in model.get_weights()])
        logits = model(x, training=False)
        facts["logits"] = np.asarray(logits, dtype=float)
        facts["logits_later"] = np.asarray(model(x_later, training=False), dtype=float)
    except Exception as exc:  # a model whose output is not one array of logits (a list, a dict, a shape error...)
        text = " ".join(str(exc).split())
        return facts | {"problem": f"running it on a batch failed ({type(exc).__name__}: {text})"[:240]}
    facts["compiled"] = bool(getattr(model, "compiled", False)) and getattr(model, "optimizer", None) is not None
    if facts["compiled"]:
        import keras

        rate = model.optimizer.learning_rate
        facts["learning_rate"] = float(np.asarray(keras.ops.convert_to_numpy(rate))) if not callable(rate) else -1.0
        facts["loss"] = float(model.compute_loss(x=x, y=y, y_pred=logits, training=False))
        pad = np.zeros((x.shape[0], 3), dtype=x.dtype)
        x_pad, y_pad = np.hstack([x, pad]), np.hstack([y, pad])
        facts["loss_padded"] = float(model.compute_loss(x=x_pad, y=y_pad, y_pred=model(x_pad, training=False),
                                                        training=False))
    return facts


def _build_case(rng) -> dict:
    """A small random model size and a batch of tunes as the model reads them: inputs and next-token targets, both
    right-padded with 0, as ``music.lm_arrays`` makes them; and the inputs again with their later tokens changed."""
    vocab_size, embed_dim, units = int(rng.integers(12, 40)), int(rng.integers(3, 9)), int(rng.integers(4, 13))
    tunes = [list(rng.integers(1, vocab_size, size=int(n))) for n in (11, *rng.integers(5, 11, size=3))]
    x, y = music.lm_arrays(tunes)
    cut = 5
    x_later = x.copy()
    x_later[:, cut:] = np.where(x[:, cut:] != 0, (x[:, cut:] % (vocab_size - 1)) + 1, 0)  # other tokens after `cut`
    return {"vocab_size": vocab_size, "embed_dim": embed_dim, "units": units,
            "learning_rate": float(rng.choice([0.001, 0.003, 0.01])), "x": x, "y": y, "x_later": x_later, "cut": cut}


@exercise("Exercise 2 · build the melody LSTM",
          notebook="09", answer="build_melody_lstm", reference="utils.music:build_melody_lstm", points=4, minutes=20)
def check_build_melody_lstm(fn, report) -> None:
    """``fn(vocab_size, embed_dim, units, dropout, learning_rate)`` -> a compiled Embedding → LSTM → Dense model."""
    for _ in range(2):
        case = _build_case(report.rng)
        v, d, u = case["vocab_size"], case["embed_dim"], case["units"]
        label = f"build_melody_lstm({v}, embed_dim={d}, units={u})"
        facts, error = call(probe_built_model, fn, v, d, u, case["learning_rate"], case["x"], case["y"],
                            case["x_later"])
        if error:
            hint = ("keep the parameter names vocab_size, embed_dim, units, dropout, learning_rate"
                    if "unexpected keyword" in error or "positional argument" in error else None)
            report.fail(f"{label}: your function raised {error}", hint=hint)
            return
        if facts["returned"] != "model":
            if facts["returned"] == "None":
                report.fail(f"{label}: no model came back", got=None)
            else:
                report.fail(f"{label}: return the Keras model", got=f"a {facts['returned']}",
                            hint="build a keras.Sequential([...]), compile it and return it")
            return
        batch, steps = case["x"].shape
        shape = facts["output_shape"]
        if shape is not None and len(shape) != 3:
            hint = ("the LSTM gives only its last step: it must give one output per step (return_sequences=True)"
                    if len(shape) == 2 else "the model reads (batch, time) token ids and gives (batch, time, "
                                            "vocab_size) logits")
            report.fail(f"{label}: output shape", expected=(None, None, v), got=shape, hint=hint)
            return
        if "problem" in facts:
            report.fail(f"{label}: {facts['problem']}", hint="the model reads (batch, time) token ids and ends with "
                                                             "one Dense layer: one logit per token, at every step")
            return
        logits = facts["logits"]
        if logits.shape != (batch, steps, v):
            if logits.shape == (batch, v):
                hint = "the LSTM gives only its last step: it must give one output per step (return_sequences=True)"
            elif logits.ndim == 3 and logits.shape[:2] == (batch, steps):
                hint = f"the last layer must give one logit per token of the vocabulary ({v} of them) at every step"
            else:
                hint = "the model reads (batch, time) token ids and gives (batch, time, vocab_size) logits"
            report.fail(f"{label}: output shape", expected=(batch, steps, v), got=logits.shape, hint=hint)
            return
        probabilities = np.all(logits >= 0) and np.allclose(logits.sum(axis=-1), 1.0, atol=1e-4)
        if probabilities:
            report.fail(f"{label}: the model's outputs are probabilities (each row sums to 1)",
                        hint="leave the last Dense layer linear: the model gives logits, and the loss applies the "
                             "softmax itself (from_logits=True)")
            return
        cut = case["cut"]
        moved = float(np.abs(logits[:, :cut] - facts["logits_later"][:, :cut]).max())
        if moved > 1e-4:
            report.fail(f"{label}: its predictions for the first {cut} steps change when later tokens change "
                        f"(by up to {moved:.3g})", hint="a language model may read only the tokens before the one it "
                                                       "predicts: no Bidirectional layer, nothing that looks ahead")
        expected = _param_count(v, d, u)
        if facts["params"] != expected:
            ignored = {"embed_dim": _param_count(v, 64, u), "units": _param_count(v, d, 256),
                       "embed_dim and units": _param_count(v, 64, 256)}
            which = next((name for name, count in ignored.items() if count == facts["params"]), None)
            hint = (f"the argument {which} is not used: the layers must take their sizes from the arguments" if which
                    else "Embedding(vocab_size, embed_dim) → LSTM(units, one output per step) → Dense(vocab_size), "
                         "nothing more")
            report.fail(f"{label}: parameter count", expected=expected, got=facts["params"], hint=hint,
                        show="vocab·embed + 4·units·(embed + units + 1) + (units + 1)·vocab")
        if not facts["compiled"]:
            report.fail(f"{label}: the model is not compiled", hint="compile it with Adam at `learning_rate` and a "
                                                                    "cross-entropy loss that ignores padding")
            return
        if not math.isclose(facts["learning_rate"], case["learning_rate"], rel_tol=1e-4):
            report.fail(f"{label}: the optimizer's learning rate", expected=case["learning_rate"],
                        got=facts["learning_rate"], hint="pass `learning_rate` to the optimizer")
        want = _masked_nll(logits, case["y"])
        if not math.isclose(facts["loss"], want, rel_tol=2e-3, abs_tol=2e-3):
            counted = math.isclose(facts["loss"], _masked_nll(logits, case["y"], count_padding=True), rel_tol=2e-3)
            hint = ("the loss counts the padding positions too: make it ignore id 0" if counted else
                    "the loss must be the cross-entropy of the logits: SparseCategoricalCrossentropy with "
                    "from_logits=True (the model ends with logits)")
            report.fail(f"{label}: compiled loss on a padded batch", expected=round(want, 4),
                        got=round(facts["loss"], 4), hint=hint,
                        show="keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)")
        elif not math.isclose(facts["loss_padded"], facts["loss"], rel_tol=1e-4, abs_tol=1e-5):
            report.fail(f"{label}: the loss changes when more padding is added", expected=round(facts["loss"], 4),
                        got=round(facts["loss_padded"], 4), hint="the loss must ignore padding (id 0) entirely")


# --- Exercise 3 · train the melody LSTM (and the trained model's target) ---------------------------------------------


def _markov_tunes(rng, count: int, transitions: np.ndarray, length: int = 12) -> list[list[int]]:
    """Tunes of ``length`` notes from a small Markov chain over notes 4 … 9 (ids 1 = <s>, 2 = </s>).

    All of one length, so that Keras traces its training step once (a new batch shape costs a new trace).
    """
    notes = transitions.shape[0]
    tunes = []
    for _ in range(count):
        note = int(rng.integers(notes))
        tune = [1]
        for _ in range(length):
            tune.append(4 + note)
            note = int(rng.choice(notes, p=transitions[note]))
        tunes.append(tune + [2])
    return tunes


def _chain(rng, notes: int = 6) -> np.ndarray:
    """A transition matrix in which each note has one likely successor (70 %) and a second one (20 %)."""
    matrix = np.full((notes, notes), 0.1 / (notes - 2))
    for note in range(notes):
        first, second = rng.choice(notes, size=2, replace=False)
        matrix[note, [first, second]] = 0.7, 0.2
    return matrix


def _tiny_model(vocab_size: int, learning_rate: float):
    """The model the training check trains: the lesson's layers at a tiny size (the check tests training only)."""
    import keras

    model = keras.Sequential([keras.Input(shape=(None,), dtype="int32"),
                              keras.layers.Embedding(vocab_size, 8, mask_zero=True),
                              keras.layers.LSTM(24, return_sequences=True),
                              keras.layers.Dense(vocab_size)])
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss)
    return model


def probe_training(train_fn, train_ids, hold_ids, test_ids, epochs, batch_size, learning_rate, seed) -> dict:
    """Harness: train a tiny model with the student's function; report its History and the NLL it reached.

    Plain data only: the History's per-epoch logs and its ``epochs`` and ``steps``, and the model's NLL per token on
    the hold-out tunes and on test tunes it never saw, before and after training.
    """
    import keras

    keras.utils.set_random_seed(seed)
    model = _tiny_model(10, learning_rate)
    before = float(_sequence_nlls(model, test_ids).mean())
    history = train_fn(model, train_ids, hold_ids, epochs, batch_size)
    logs = getattr(history, "history", None)
    facts = {"returned": _kind(history), "test_before": before,
             "hold_nll": float(_sequence_nlls(model, hold_ids).mean()),
             "test_nll": float(_sequence_nlls(model, test_ids).mean())}
    if isinstance(logs, dict):
        facts["logs"] = {str(k): [float(v) for v in values] for k, values in logs.items()}
        params = getattr(history, "params", None) or {}
        facts["epochs"] = params.get("epochs")
        facts["steps"] = params.get("steps")
    return facts


def _training_cases(rng) -> tuple[dict, dict]:
    """Two training runs: one that can learn a chain, one on few tunes whose hold-out comes from another chain."""
    chain = _chain(rng)
    learn = {"train_ids": _markov_tunes(rng, 160, chain), "hold_ids": _markov_tunes(rng, 40, chain),
             "test_ids": _markov_tunes(rng, 80, chain), "epochs": 6, "batch_size": 16, "learning_rate": 0.02,
             "seed": int(rng.integers(1000))}
    other = _chain(rng)
    overfit = {"train_ids": _markov_tunes(rng, 6, chain), "hold_ids": _markov_tunes(rng, 40, other),
               "test_ids": _markov_tunes(rng, 10, other), "epochs": 30, "batch_size": 2, "learning_rate": 0.05,
               "seed": int(rng.integers(1000))}
    learn["unigram"] = _unigram_nll(learn["train_ids"], learn["test_ids"])
    return learn, overfit


def _unigram_nll(train_ids, test_ids) -> float:
    """NLL per token on ``test_ids`` of token frequencies counted on ``train_ids`` (add-one smoothing, 10 ids)."""
    counts = np.ones(10)
    for tune in train_ids:
        np.add.at(counts, tune[1:], 1)
    p = counts / counts.sum()
    return float(-np.mean([math.log(p[t]) for tune in test_ids for t in tune[1:]]))


_TRAINED_WELL: weakref.WeakSet = weakref.WeakSet()  # training functions that passed on made-up tunes in this session


def _passed_before(fn) -> bool:
    try:
        return fn in _TRAINED_WELL
    except TypeError:  # an object that cannot be remembered weakly: check it again
        return False


def _remember(fn) -> None:
    try:
        _TRAINED_WELL.add(fn)
    except TypeError:
        pass


@exercise("Exercise 3 · train it to beat the n-grams",
          notebook="09", answer="train_melody_lstm", reference="utils.music:train_melody_lstm", points=6, minutes=30)
def check_train_melody_lstm(fn, report, model=None) -> None:
    """``fn(model, train_ids, hold_ids, epochs, batch_size)`` trains and returns the History, keeping the best epoch.

    It trains two tiny models on made-up tunes (fresh each run): one must learn, one must be stopped early with its
    best epoch restored. With ``model`` (the melody LSTM the notebook trained with ``fn``), the check also measures the
    target on the validation tunes: a lower NLL per token than the best n-gram's (``_check_target``); the made-up
    tunes are then skipped if this very function passed on them earlier in the session.
    """
    if model is not None and _passed_before(fn):
        print("  your train_melody_lstm passed on made-up tunes above; now the target")
        _check_target(model, report)
        return
    learn, overfit = _training_cases(report.rng)
    facts, error = call(probe_training, fn, *(learn[k] for k in ("train_ids", "hold_ids", "test_ids", "epochs",
                                                                  "batch_size", "learning_rate", "seed")))
    label = f"training on {len(learn['train_ids'])} made-up tunes for up to {learn['epochs']} epochs"
    if error:
        hint = ("keep the parameters (model, train_ids, hold_ids, epochs, batch_size)"
                if "positional argument" in error or "unexpected keyword" in error else None)
        report.fail(f"{label}: your function raised {error}", hint=hint)
        return
    if not _history_ok(facts, label, learn, report):
        return
    # half-way from what token counts alone give towards what the chain allows
    target = learn["unigram"] - 0.5 * (learn["unigram"] - 1.0)
    if facts["test_nll"] > target:
        hint = ("each target must be the token *after* each input (inputs = tokens[:-1], targets = tokens[1:]): "
                "music.tune_batches makes such batches")
        report.fail(f"{label}: the trained model predicts new tunes of the same kind with "
                    f"{facts['test_nll']:.2f} nats per token; counting tokens alone gives {learn['unigram']:.2f}, and "
                    f"a model that learned anything gets below {target:.2f}", hint=hint)
        return
    if not _validated_on_hold(facts, label, report):
        return
    facts, error = call(probe_training, fn, *(overfit[k] for k in ("train_ids", "hold_ids", "test_ids", "epochs",
                                                                    "batch_size", "learning_rate", "seed")))
    label = f"training on {len(overfit['train_ids'])} tunes whose hold-out tunes are of another kind"
    if error:
        report.fail(f"{label}: your function raised {error}")
        return
    if not _history_ok(facts, label, overfit, report) or not _validated_on_hold(facts, label, report):
        return
    val = facts["logs"]["val_loss"]
    best, last, final = min(val), val[-1], facts["hold_nll"]
    stopping = "keras.callbacks.EarlyStopping(monitor='val_loss', patience=2, restore_best_weights=True)"
    if len(val) >= overfit["epochs"] and last > best + 0.05:
        report.fail(f"{label}: it trained all {overfit['epochs']} epochs although the hold-out loss was lowest at "
                    f"epoch {int(np.argmin(val)) + 1}", hint="stop when the loss on the hold-out tunes (val_loss) "
                                                            "has not improved for a few epochs", show=stopping)
    elif abs(final - best) > 0.05 and abs(final - best) > 0.25 * abs(last - best):
        report.fail(f"{label}: the model it returns has a hold-out loss of {final:.3f}, but its best epoch had "
                    f"{best:.3f}", hint="keep the weights of the epoch with the lowest hold-out loss (val_loss): "
                                        "stop on val_loss and restore the best weights", show=stopping)
    if report.failures:
        return
    _remember(fn)
    if model is None:
        print("  your function trains as it should; the target is checked on the model your homework run trains")
    else:
        _check_target(model, report)


def _history_ok(facts: dict, label: str, case: dict, report) -> bool:
    """Whether the run returned a History with validation on the hold-out tunes; else a finding."""
    if facts["returned"] == "None":
        report.fail(f"{label}: nothing came back", got=None, hint="return the History that model.fit returns")
        return False
    if "logs" not in facts:
        report.fail(f"{label}: return the History that model.fit returns", got=f"a {facts['returned']}")
        return False
    if abs(facts["test_nll"] - facts["test_before"]) < 1e-6:
        report.fail(f"{label}: the model's predictions did not change", hint="train the model: call model.fit")
        return False
    if "val_loss" not in facts["logs"] or not facts["logs"]["val_loss"]:
        report.fail(f"{label}: no loss on the hold-out tunes was recorded (no val_loss)",
                    hint="give model.fit the hold-out tunes as validation data, batched like the training tunes")
        return False
    if facts["epochs"] is not None and facts["epochs"] != case["epochs"]:
        report.fail(f"{label}: model.fit was not given the `epochs` argument", expected=case["epochs"],
                    got=facts["epochs"], hint="pass epochs=epochs to model.fit")
        return False
    steps = math.ceil(len(case["train_ids"]) / case["batch_size"])
    if facts["steps"] is not None and facts["steps"] != steps:
        report.fail(f"{label}: {facts['steps']} batches per epoch, expected {steps} "
                    f"({len(case['train_ids'])} tunes in batches of {case['batch_size']})",
                    hint="batch the training tunes by `batch_size`, every tune once per epoch")
        return False
    return True


def _validated_on_hold(facts: dict, label: str, report) -> bool:
    """Whether the recorded val_loss is the loss on the hold-out tunes (at its best or last epoch); else a finding."""
    val, hold = facts["logs"]["val_loss"], facts["hold_nll"]
    if math.isclose(min(val), hold, rel_tol=0.15) or math.isclose(val[-1], hold, rel_tol=0.15):
        return True
    report.fail(f"{label}: the recorded val_loss ({min(val):.3f} at best) is not the loss on hold_ids ({hold:.3f})",
                hint="validate on `hold_ids`, the tunes held back for choosing the epoch, not on the training tunes")
    return False


# --- the trained model's target: validation NLL below the best n-gram's ----------------------------------------------

#: How many validation tunes the target is measured on (drawn afresh each run), and the look-ahead test's cut.
TARGET_TUNES, LOOK_AHEAD_CUT = 200, 8
#: The longest n-gram the target considers: notebook 09 scans the same orders (its ``MAX_ORDER``).
TARGET_MAX_ORDER = 8


@functools.cache
def target_reference() -> dict:
    """The trusted side of the target: the corpus prepared as the notebook does, and the best n-gram.

    The n-grams (Kneser–Ney, orders 1 … ``TARGET_MAX_ORDER``) learn from the same training tunes as the LSTM; the
    best order is the one with the lowest NLL on the hold-out tunes. Computed once per process.
    """
    corpus = music.prepare_corpus()
    ids, vocab = corpus["ids"], corpus["vocab"]
    fitted = music.KneserNey(TARGET_MAX_ORDER, len(vocab)).fit([ids[i] for i in corpus["fit"]])
    hold = [ids[i] for i in corpus["hold"]]
    order = min(range(1, TARGET_MAX_ORDER + 1), key=lambda k: fitted.with_order(k).nll(hold))
    return {"val_ids": [ids[i] for i in corpus["val"]], "vocab_size": len(vocab), "order": order,
            "ngram": fitted.with_order(order)}


def probe_language_model(model, sequences, later_sequences, cut) -> dict:
    """Harness: −log p(next token) of ``sequences`` under the student's model, and its log-probabilities for the
    first ``cut`` steps of ``later_sequences`` read with and without their later tokens (the look-ahead test)."""
    if model is None or not callable(getattr(model, "predict_on_batch", None)):
        return {"returned": _kind(model)}
    x, _ = music.lm_arrays(sequences[:1], max_len=10_000)
    width = np.asarray(model.predict_on_batch(x)).shape[-1]
    facts = {"returned": "model", "vocab": int(width)}
    if width <= max(max(s) for s in sequences):  # it cannot score every token: the check says so
        return facts
    nlls = [_sequence_nlls(model, sequences[k:k + 128]) for k in range(0, len(sequences), 128)]
    early = np.asarray(model.predict_on_batch(np.asarray([s[:cut] for s in later_sequences], dtype="int32")))
    later = np.asarray(model.predict_on_batch(np.asarray([s[:2 * cut] for s in later_sequences], dtype="int32")))
    return facts | {"nlls": np.concatenate(nlls), "early": _log_softmax(early),
                    "with_later": _log_softmax(later[:, :cut])}


def _shipped_nlls(sample: tuple[int, ...]) -> np.ndarray | None:
    """The shipped weights' −log p on the sampled validation tunes, to tell them apart from a model trained here
    (None when the shipped weights do not fit this vocabulary: then nothing can be mistaken for them)."""
    ref = target_reference()
    model = music.build_melody_lstm(ref["vocab_size"], compile=False)
    try:
        model.load_weights(music.WEIGHTS)
    except (ValueError, OSError):
        return None
    return np.concatenate(music.lstm_token_nlls(model, [ref["val_ids"][i] for i in sample]))


def _check_target(model, report) -> None:
    """The trained model's NLL per token on fresh validation tunes must be lower than the best n-gram's."""
    ref = target_reference()
    sample = tuple(sorted(report.rng.choice(len(ref["val_ids"]), size=TARGET_TUNES, replace=False).tolist()))
    tunes = [ref["val_ids"][i] for i in sample]
    long_tunes = [t for t in tunes if len(t) >= 2 * LOOK_AHEAD_CUT][:8]
    facts, error = call(probe_language_model, model, tunes, long_tunes, LOOK_AHEAD_CUT)
    label = f"your trained model on {TARGET_TUNES} validation tunes"
    if error:
        report.fail(f"{label}: reading them raised {error}")
        return
    if facts["returned"] != "model":
        report.fail(f"{label}: pass the trained Keras model", got=f"a {facts['returned']}")
        return
    if facts["vocab"] != ref["vocab_size"] or "nlls" not in facts:
        report.fail(f"{label}: the model gives {facts['vocab']} logits per step; the vocabulary has "
                    f"{ref['vocab_size']} tokens", hint="build it with build_melody_lstm(len(vocab))")
        return
    moved = float(np.abs(facts["early"] - facts["with_later"]).max())
    if moved > 1e-4:
        report.fail(f"{label}: its predictions for the first {LOOK_AHEAD_CUT} steps change when later notes are "
                    f"added (by up to {moved:.3g} in log-probability): it looks ahead",
                    hint="a language model may read only the notes before the one it predicts")
        return
    nll = float(facts["nlls"].mean())
    ngram = float(np.concatenate(ref["ngram"].token_nlls(tunes)).mean())
    shipped = _shipped_nlls(sample)
    if shipped is not None and np.abs(facts["nlls"] - shipped).max() < 1e-4:
        report.fail(f"{label}: these are the shipped weights, untouched: the target counts for a model you trained",
                    hint="train your model with your train_melody_lstm")
        return
    if not nll < ngram:
        report.fail(f"{label}: {nll:.3f} nats per token; the best n-gram (order {ref['order']}) gets {ngram:.3f} on "
                    "the same tokens", hint="train longer, or with a larger learning rate or model, within the "
                                            "budget; read the hold-out loss per epoch to see whether it still falls")
        return
    print(f"  target met: {nll:.3f} nats per token on {TARGET_TUNES} validation tunes drawn for this check; the best "
          f"n-gram (order {ref['order']}) gets {ngram:.3f}")


# --- Exercise 4 · the generation loop: sampling with a temperature, and compose ---------------------------------------

_LOGITS = np.array([2.0, 1.0, 0.0, -1.0])
_DRAWS = 3000
_TOLERANCE = 0.04  # about 4 standard errors of a share estimated from 3,000 draws


def _softmax(logits, temperature: float) -> np.ndarray:
    z = np.asarray(logits, dtype=float) / temperature
    z = np.exp(z - z.max())
    return z / z.sum()


def _frequencies(fn, logits, temperature, seed, report, label):
    """Share of each index over many draws, or None (after reporting) if the function misbehaves."""
    rng = np.random.default_rng(seed)
    counts = np.zeros(len(logits))
    for _ in range(_DRAWS):
        index, error = call(fn, logits.copy(), temperature, rng)
        if error:
            hint = ("rng.choice needs probabilities (positive, summing to 1): turn the logits into probabilities "
                    "first" if "probabilit" in error or "negative" in error else None)
            report.fail(f"{label}: your function raised {error}", hint=hint)
            return None
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < len(logits):
            report.fail(f"{label}: return one index, an int between 0 and {len(logits) - 1}", got=index,
                        hint="draw one index with the `rng` you are given and return it as an int",
                        show="int(rng.choice(len(probs), p=probs))")
            return None
        counts[index] += 1
    return counts / _DRAWS


def _check_sampler(fn, report) -> None:
    """Draw many samples from ``fn(logits, temperature, rng)`` and compare their shares with softmax(logits / T)."""
    fresh = np.round(report.rng.normal(0, 1.5, size=5), 2)
    for logits, temperature, seed in ((_LOGITS, 1.0, 1), (_LOGITS, 0.5, 2), (_LOGITS, 2.0, 3),
                                      (fresh, float(report.rng.choice([0.7, 1.5])), 5)):
        label = f"logits {np.round(logits, 2).tolist()} at T = {temperature}"
        freq = _frequencies(fn, logits, temperature, seed, report, label)
        if freq is None:
            return
        expected = _softmax(logits, temperature)
        if np.abs(freq - expected).max() <= _TOLERANCE:
            continue
        mistakes = {
            "the temperature is ignored: divide the logits by T before the softmax": _softmax(logits, 1.0),
            "the logits are multiplied by T: divide them by T instead": _softmax(logits * temperature, 1.0),
            "always the most likely index: sample from the probabilities instead of taking the largest":
                np.eye(len(logits))[np.argmax(logits)],
            "every index equally likely: the probabilities are not used in the draw": np.full(len(logits),
                                                                                           1 / len(logits)),
        }
        hint = next((h for h, p in mistakes.items()
                     if np.abs(p - expected).max() > _TOLERANCE and np.abs(freq - p).max() <= _TOLERANCE), None)
        report.fail(f"{label}: shares of 3,000 draws differ from softmax(logits / T)", expected=np.round(expected, 3),
                    got=np.round(freq, 3), hint=hint or "the probabilities are softmax(logits / T)",
                    show="z = logits / T; probs = exp(z - z.max()) / exp(z - z.max()).sum()")
        return
    _check_uses_rng(fn, report)
    big = np.array([1000.0, 999.0, 998.0])
    index, error = call(fn, big.copy(), 0.5, np.random.default_rng(4))
    if error or index is None or not isinstance(index, (int, np.integer)) or not 0 <= index < 3:
        report.fail("large logits [1000, 999, 998] at T = 0.5 gave no valid index", got=error or index,
                    hint="exp(1000) overflows to inf and the probabilities become nan: subtract the largest logit "
                         "before exp (it does not change the softmax)")


def _check_uses_rng(fn, report, draws: int = 40) -> None:
    """The draws must come from the ``rng`` passed in: it must advance, and the same seed must give the same draws."""
    runs = []
    for _ in range(2):
        rng = np.random.default_rng(11)
        runs.append([call(fn, _LOGITS.copy(), 1.0, rng)[0] for _ in range(draws)])
        untouched = rng.bit_generator.state == np.random.default_rng(11).bit_generator.state
        if untouched:
            break
    if untouched or runs[0] != runs[1]:
        report.fail("the draws do not come from the `rng` you are given" + (
            " (it was never used)" if untouched else " (the same seed gave other draws)"),
                    hint="draw with the `rng` argument, not np.random or a new generator: with the same rng the "
                         "draws must repeat, so that a composition can be reproduced",
                    show="rng.choice(len(probs), p=probs)")


class ScriptedStepper:
    """A stand-in for a trained model in the loop's check: its memory is the list of token ids it has read.

    After each token it prefers one note, chosen from everything read so far (so a loop that loses the memory or
    skips a token gets other notes), and gives ``<pad>``, ``<s>`` and ``<unk>`` even larger logits, which a loop
    must ban. Once it has read ``end_after`` tokens it prefers ``</s>``.
    """

    def __init__(self, vocab_size: int, end_after: int, salt: int):
        self.vocab_size, self.end_after, self.salt = vocab_size, end_after, salt
        self.calls: list[tuple[int, int]] = []  # (token read, how many tokens its memory held before)

    def start(self) -> tuple:
        return ()

    def step(self, token, state):
        state = tuple(state) + (int(token),)
        self.calls.append((int(token), len(state) - 1))
        logits = np.zeros(self.vocab_size)
        logits[ScriptedStepper.preferred(state, self.vocab_size, self.end_after, self.salt)] = 5.0
        logits[[0, 1, 3]] = 9.0  # <pad>, <s>, <unk>: the likeliest, and never to be drawn
        return logits, state

    @staticmethod
    def preferred(state, vocab_size: int, end_after: int, salt: int) -> int:
        """The id this stepper prefers after reading ``state``: ``</s>`` (2) once it is long enough, else a note."""
        if len(state) >= end_after:
            return 2
        return 4 + (sum((k + 1) * t for k, t in enumerate(state)) + salt) % (vocab_size - 4)


def run_compose(compose_fn, tokens, seed, temperature, max_notes, end_after, salt) -> dict:
    """Harness: run the student's ``compose`` with a ``ScriptedStepper`` and a recording greedy sampler.

    Returns what came back (as text), the tokens the stepper read and with how much memory, what the sampler was
    given, and whether the seed list was changed.
    """
    vocab = music.NoteVocabulary([tokens], min_count=1)
    stepper = ScriptedStepper(len(vocab), end_after, salt)
    rng = np.random.default_rng(0)
    given = []

    def greedy(logits, temperature_given, rng_given):
        logits = np.asarray(logits, dtype=float)
        given.append({"temperature": float(temperature_given), "rng": rng_given is rng,
                      "banned": bool(np.all(np.isneginf(logits[[0, 1, 3]])))})
        return int(np.argmax(logits))

    seed_copy = list(seed)
    result = compose_fn(stepper, vocab, seed_copy, temperature, rng, greedy, max_notes=max_notes)
    kind = _kind(result)
    if isinstance(result, (list, tuple)):
        result = [t if isinstance(t, str) else repr(t) for t in result]
    return {"returned": kind, "tokens": result if isinstance(result, list) else None, "calls": stepper.calls,
            "sampler": given, "seed_changed": seed_copy != list(seed), "vocab": vocab.tokens}


def _expected_composition(vocab_tokens, seed, max_notes, end_after, salt) -> list[str]:
    """The tokens a right loop produces with ``ScriptedStepper`` and a greedy sampler (banned tokens never drawn)."""
    index = {t: i for i, t in enumerate(vocab_tokens)}
    state = tuple(index[t] for t in seed)
    out = list(seed)
    for _ in range(max_notes):
        token = ScriptedStepper.preferred(state, len(vocab_tokens), end_after, salt)
        out.append(vocab_tokens[token])
        if token == 2:
            break
        state = state + (token,)
    return out


def _compose_cases(rng) -> list[dict]:
    notes = [f"{name}4:{d}" for name in ("C", "D", "E", "F", "G", "A") for d in ("1", "1/2")]
    tokens = ["<s>"] + notes + ["</s>"]
    cases = []
    for end_after, max_notes in ((9, 20), (40, 6)):  # one ends with </s>, one is cut at max_notes
        seed = ["<s>"] + [notes[int(k)] for k in rng.integers(len(notes), size=int(rng.integers(2, 5)))]
        cases.append({"tokens": tokens, "seed": seed, "temperature": float(rng.choice([0.8, 1.3])),
                      "max_notes": max_notes, "end_after": end_after, "salt": int(rng.integers(100))})
    return cases


def _check_compose(fn, report) -> None:
    for case in _compose_cases(report.rng):
        seed = case["seed"]
        label = (f"composing from {' '.join(seed)} with max_notes={case['max_notes']}")
        facts, error = call(run_compose, fn, case["tokens"], seed, case["temperature"], case["max_notes"],
                            case["end_after"], case["salt"])
        if error:
            report.fail(f"{label}: your function raised {error}")
            return
        if facts["returned"] == "None":
            report.fail(f"{label}: nothing came back", got=None, hint="return the list of tokens: the seed, then "
                                                                      "the new ones")
            return
        if facts["tokens"] is None:
            report.fail(f"{label}: return a list of tokens", got=f"a {facts['returned']}")
            return
        expected = _expected_composition(facts["vocab"], seed, case["max_notes"], case["end_after"], case["salt"])
        got = facts["tokens"]
        if facts["seed_changed"]:
            report.fail(f"{label}: the seed list you were given was changed",
                        hint="work on a new list (the ids of the seed), never on `seed` itself")
            return
        if got == expected:
            if any(given["temperature"] != case["temperature"] or not given["rng"] for given in facts["sampler"]):
                report.fail(f"{label}: the sampler was not given the temperature and rng of compose",
                            hint="call the sampler with compose's own temperature and rng")
                return
            continue
        read = [token for token, _ in facts["calls"]]
        memories = [held for _, held in facts["calls"]]
        if got and all(isinstance(t, str) and t.lstrip("-").isdigit() for t in got[1:]):
            hint = "return tokens (strings such as 'C4:1'), not ids: vocab.decode turns ids back into tokens"
        elif any(t in ("<pad>", "<s>", "<unk>") for t in got[len(seed):]):
            hint = ("<pad>, <s> and <unk> must never be drawn: give them a logit of -inf before the sampler draws "
                    "(copy the logits, or set them in the array the stepper returns)")
        elif len(read) < len(seed) or read[:len(seed)] != [facts["vocab"].index(t) for t in seed]:
            hint = "the model must read the whole seed, token by token, before it draws the first new token"
        elif any(held != k for k, held in enumerate(memories)):
            hint = ("the memory is lost between steps: pass the state the stepper returned into its next step "
                    "(call stepper.start() once, before the seed)")
        elif got[:len(seed)] != seed:
            hint = "the result starts with the seed phrase, then the new tokens"
        elif len(got) == len(expected) + 1 or len(got) == len(expected) - 1:
            hint = ("one token too many or too few: stop right after </s> (keep it), or after max_notes new tokens "
                    "when the model never ends")
        elif len(got) > len(seed) + case["max_notes"] + 1:
            hint = "stop after max_notes new tokens, even when the model has not ended the tune"
        else:
            hint = "after each drawn token, feed it to the stepper and draw the next from the logits it returns"
        report.fail(f"{label}: wrong tokens", expected=" ".join(expected), got=" ".join(got), hint=hint)
        return


@exercise("Exercise 4 · the generation loop",
          notebook="09", answer=("sample_with_temperature", "compose"),
          reference=("utils.music:sample_with_temperature", "utils.music:compose"), points=4, minutes=25,
          forbid=("utils.sampling:softmax", "utils.sampling:apply_temperature", "scipy.special:softmax"))
def check_generation_loop(sampler, report, compose=None) -> None:
    """``sample_with_temperature(logits, T, rng)`` draws from softmax(logits / T); ``compose(...)`` continues a seed."""
    _check_sampler(sampler, report)
    if report.failures:
        return
    if compose is None:
        report.fail("give the check your compose too: check_generation_loop(sample_with_temperature, compose)")
        return
    _check_compose(compose, report)


# --- Exercise 5 · copying or composing? -------------------------------------------------------------------------------


def _runs_mistaken(tune, training, how: str) -> int:
    """The answer of a typical mistake, to name it."""
    if how == "joined":  # training tunes joined with no boundary
        training = [[t for tune_ in training for t in tune_]]
    best = 0
    for other in training:
        if how == "prefix":
            k = 0
            while k < min(len(tune), len(other)) and tune[k] == other[k]:
                k += 1
            best = max(best, k)
            continue
        if how == "aligned":
            run = 0
            for a, b in zip(tune, other, strict=False):  # compared up to the shorter tune
                run = run + 1 if a == b else 0
                best = max(best, run)
            continue
        table = np.zeros((len(tune) + 1, len(other) + 1), dtype=int)
        for i in range(1, len(tune) + 1):
            for j in range(1, len(other) + 1):
                if how == "subsequence":
                    table[i, j] = table[i - 1, j - 1] + 1 if tune[i - 1] == other[j - 1] else max(table[i - 1, j],
                                                                                                   table[i, j - 1])
                elif tune[i - 1] == other[j - 1]:
                    table[i, j] = table[i - 1, j - 1] + 1
        best = max(best, int(table.max()))
    return best


def _run_cases(rng) -> list[tuple[list, list, int]]:
    """(tune, training tunes, longest shared run) cases: a run planted inside a training tune, a trap across the end
    of one training tune and the start of the next, and runs at a tune's very start and end."""
    letters = [f"{name}4:1" for name in "CDEFGAB"] + [f"{name}5:1/2" for name in "CDEFGAB"]

    def random_tune(n, alphabet):
        return [alphabet[int(k)] for k in rng.integers(len(alphabet), size=n)]

    cases = []
    a, b = letters[:7], letters[7:]  # tunes over a and b never share a run longer than their planted ones
    training = [random_tune(12, a) for _ in range(5)]
    run = int(rng.integers(4, 7))
    host, at = int(rng.integers(5)), int(rng.integers(1, 12 - run))
    tune = random_tune(3, b) + training[host][at:at + run] + random_tune(4, b)
    cases.append((tune, training, run))
    # across a boundary: the end of tune 0 followed by the start of tune 1 is no run of the training tunes
    tail, head = training[0][-3:], training[1][:3]
    trap = random_tune(2, b) + tail + head + random_tune(2, b)
    cases.append((trap, training, _runs_mistaken(trap, training, "substring")))
    # runs at the very start and the very end of the tune, shifted against the training tune
    edge = training[2][4:9] + random_tune(3, b) + training[3][0:3]
    cases.append((edge, training, _runs_mistaken(edge, training, "substring")))
    return cases


@exercise("Exercise 5 · copying or composing?",
          notebook="09", answer="longest_shared_runs", reference="utils.music:longest_shared_runs", points=3,
          minutes=20, optional=True)
def check_longest_shared_runs(fn, report) -> None:
    """``fn(tunes, training_tunes)`` -> for each tune, the longest run of it found inside one training tune."""
    visible = (["<s>", "A4:1", "C4:1", "D4:1", "E4:1", "F4:1", "G4:1", "</s>"],
               [["<s>", "E4:1", "E4:1", "C4:1", "D4:1", "E4:1", "B4:1", "G4:1", "</s>"],
                ["<s>", "B4:1", "A4:1", "D4:1", "E4:1", "</s>"]], 3)
    cases = [visible] + _run_cases(report.rng)
    for tune, training, expected in cases:
        label = f"a tune of {len(tune)} tokens against {len(training)} training tunes"
        got, error = call(fn, [list(tune)], [list(t) for t in training])
        if error:
            report.fail(f"{label}: your function raised {error}")
            return
        if got is None:
            report.fail(f"{label}: no lengths came back", got=None, expected=[expected])
            return
        if isinstance(got, (str, bytes)) or not hasattr(got, "__len__") or len(got) != 1:
            report.fail(f"{label}: return a list with one length per tune", got=got,
                        hint="one whole number for each tune of `tunes`, in their order")
            return
        value = got[0]
        if isinstance(value, bool) or not isinstance(value, (int, np.integer, float)) or not float(value).is_integer():
            report.fail(f"{label}: each length must be a whole number", got=value)
            return
        if int(value) == expected:
            continue
        mistakes = {
            "a run across the end of one training tune and the start of the next is not in any training tune: "
            "search each training tune on its own (or join them with a separator no token has)":
                _runs_mistaken(tune, training, "joined"),
            "the tokens of a run must be consecutive in both tunes, not just in the same order":
                _runs_mistaken(tune, training, "subsequence"),
            "runs may start anywhere in either tune, not only at their first tokens":
                _runs_mistaken(tune, training, "prefix"),
            "a run may sit at different positions in the two tunes: compare every position of the tune with every "
            "position of the training tune": _runs_mistaken(tune, training, "aligned"),
            "off by one: count the tokens of the run": expected + 1 if int(value) > expected else expected - 1,
        }
        hint = diagnose(int(value), {h: v for h, v in mistakes.items() if v != expected})
        report.fail(f"{label}: longest shared run", expected=expected, got=value, hint=hint,
                    show="for each start i, grow the run tune[i:j] while it is found inside some training tune")
        return
    tunes = [tune for tune, training, _ in cases[1:] if training is cases[1][1]]
    got, error = call(fn, [list(t) for t in tunes], [list(t) for t in cases[1][1]])
    expected = [e for tune, training, e in cases[1:] if training is cases[1][1]]
    try:
        same = [int(v) for v in got] == expected
    except (TypeError, ValueError):
        same = False
    if error or not same:
        report.fail(f"{len(tunes)} tunes at once against the same training tunes", expected=expected,
                    got=error or got, hint="one length per tune, each measured on its own")
