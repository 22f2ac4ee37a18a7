# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 09 · Home exercise: compose folk tunes with an LSTM
# <!-- summary: folk tunes as (pitch, duration) tokens; an LSTM language model vs Kneser–Ney n-grams; temperature sampling; MIDI, audio and piano roll -->
# <!-- facts: 8,500 1850 371 0.75 20 1713 2 2015 2016 23,000 1998 -->
#
# The lecture ends with a home exercise: teach an LSTM to **write melodies**. A melody is a sequence, just like the
# stock prices of notebook 08, but each step is now a *symbol* (a note) chosen from a vocabulary, not a number. The model
# we build is a **language model**: given the notes so far, it gives a probability to every possible next note. To
# compose, we draw one note from those probabilities, feed it back, and repeat.
#
# **By the end of this notebook you will be able to**
#
# 1. turn real sheet music (a folk-song collection that ships inside the `music21` package) into tokens a network can
#    read, and move every tune to a common key;
# 2. measure how well a model predicts music with the **negative log-likelihood per token**, and compare an LSTM with
#    honest n-gram baselines on the same held-out tunes;
# 3. compose new tunes with **temperature sampling**, write them as MIDI files, listen to them in the notebook and draw
#    them as piano rolls;
# 4. judge the generated tunes with numbers (key, range, endings), not only with your ears.
#
# Exercises: **1** transpose a melody, **2** sample with a temperature; open-ended homework tasks are at the end.

# %% [markdown]
# ## Setup
#
# `utils` is this course's package (the `utils/` folder): data loaders, plots, exercise checks and the code that
# several notebooks share. It comes before Keras because it keeps TensorFlow's start-up log quiet.
# `course.setup(seed=9)` seeds Python, NumPy and TensorFlow, so that a rerun gives the same numbers. A code cell that
# starts with `# Saved in utils/...` is the lesson's code, kept identical in that module because later notebooks or
# the checks use it from there.

# %%
import time
from collections import Counter

from utils import course, music, plots  # first, before Keras: see utils/__init__.py
from utils.checks import progress, use_reference_if_needed
from utils.checks.music import check_sample_with_temperature, check_transpose
from utils.validate import has, whole

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

course.setup(seed=9, notebook="09")  # seeds Python, NumPy and TensorFlow; deterministic ops; figure style (utils/course.py)


# %% [markdown]
# ## 1 · The corpus: German folk songs from the Essen collection
#
# `music21` ships three collections of real music that need no download: the **Essen folk songs** (about 8,500
# melodies from Europe and China, collected by Helmut Schaffrath), **O'Neill's 1850 Irish tunes**, and **371 Bach chorales**.
# We use the German part of the Essen collection, because
#
# * every tune is a **single melody line** (Bach chorales have four voices; a one-line model would have to throw three away);
# * the tunes are short, simple and in a clearly marked key, so "does it sound like a folk song?" can be measured;
# * with 5,979 tunes (counted below) it is the largest of the three sources of one musical style (O'Neill's Irish dance tunes
#   are fewer, longer and full of ornaments and repeat signs).
#
# Reading the ABC files with music21 takes several minutes, so the maintainers' tool `python -m tools.music_data parse`
# did it once and cached the notes in `data/essen_german.json.gz` (its source and checksum are in `data/README.md`).
# Each tune keeps its title, meter, key signature (the number of sharps, negative for flats) and its notes.

# %% tags=["nbval-check-output"]
tunes = music.load_tunes()
n_notes = sum(len(t["notes"]) for t in tunes)
print(f"{len(tunes):,} tunes, {n_notes:,} notes and rests in all, {n_notes / len(tunes):.1f} per tune on average")
lullaby = next(t for t in tunes if t["essen_id"] == "K0001")
print(f"tune K0001: '{lullaby['title']}', meter {lullaby['meter']}, key signature {lullaby['key_sharps']:+d} "
      f"({abs(lullaby['key_sharps'])} flat: {music.key_name(lullaby['key_sharps'])} major)")
print("its first notes as (MIDI pitch, duration in quarter notes):",
      [(p, str(d)) for p, d in lullaby["notes"][:8]])

# %% [markdown]
# A **note** is a pair *(pitch, duration)*. The pitch is a MIDI number: 60 is middle C (written C4), each step of 1 is a
# semitone, 12 steps make an octave, so 69 is the A above middle C. A rest has no pitch (`None`). The duration counts
# quarter notes: 1 is a quarter note, 1/2 an eighth, 3/2 a dotted quarter.
#
# Let us listen to that tune, a lullaby from Hesse ("Schlaf, Kindlein, schlaf"). The player below is made by a 20-line NumPy
# synthesizer in `utils.music.synthesize` (a few sine harmonics per note with a soft attack and decay), so it needs no
# sound library on your computer. It plays at most 12 seconds, to keep the notebook file small.

# %% tags=["nbval-ignore-output"]
plots.show(music.audio_player(lullaby["notes"], bpm=100), alt="Audio player: the lullaby 'Schlaf, Kindlein, schlaf' "
                                                              f"from Hesse (tune K0001, {len(lullaby['notes'])} notes "
                                                              "and rests; its first notes are printed above as "
                                                              "(pitch, duration) pairs), played by the course's NumPy "
                                                              "synthesizer at 100 beats per minute, at most its first "
                                                              "12 seconds.")

# %% [markdown]
# ## 2 · From notes to tokens
#
# The corpus is written in twelve different keys. "C D E" in C major and "G A B" in G major are the same melody moved up
# by 7 semitones, yet a model would see different symbols. So we **transpose** every tune to one key: the key
# signature tells us the major key (0 sharps → C, 1 sharp → G, 1 flat → F, …), and we move the tune by the smallest
# number of semitones that takes that key to C major. (A tune in a minor key shares its signature with a major key, so
# it lands in A minor: same notes as C major.)
#
# ### Exercise 1 · transpose a melody
#
# Write `transpose(notes, semitones)`: return a **new** list in which every pitch is moved by `semitones` (positive =
# up). Rests stay rests and durations never change.

# %%
def transpose(notes, semitones):
    """notes: list of (pitch or None, duration) -> a new list with every pitch moved by `semitones`."""
    ### BEGIN SOLUTION
    return [(None if pitch is None else pitch + semitones, duration) for pitch, duration in notes]
    ### END SOLUTION


# %%
passed = check_transpose(transpose)
transpose = use_reference_if_needed(transpose, passed, check_transpose)

# %% [markdown]
# How far does each key signature move? `key_tonic(sharps)` is the major key's pitch class
# ($7 \times \text{sharps} \bmod 12$: each sharp adds a fifth, 7 semitones), and `shift_to_c` picks the move of
# −5 … +6 semitones that lands on C, so tunes stay near their original height. The key's name comes from music21
# (`key_name`), which spells it as musicians do: five flats are D♭ major, not C♯, although both are the same pitch
# class.

# %% tags=["nbval-check-output"]
signatures = Counter(t["key_sharps"] for t in tunes)
print(f"{'key signature':>14} {'major key':>10} {'move to C':>10} {'tunes':>6}")
for sharps in sorted(signatures):
    print(f"{sharps:>+14d} {music.key_name(sharps):>10} {music.shift_to_c(sharps):>+10d} "
          f"{signatures[sharps]:>6}")

# %% [markdown]
# Now each note becomes a **token**, a short piece of text such as `"E4:1/2"` (E above middle C, an eighth note) or
# `"rest:1"`, and each tune is wrapped in a start marker `<s>` and an end marker `</s>`. The end marker lets the model
# learn *when a tune is over*, so that generated tunes can end by themselves.

# %% tags=["nbval-check-output"]
in_c = [transpose(t["notes"], music.shift_to_c(t["key_sharps"])) for t in tunes]
token_lists = [music.tune_tokens(notes) for notes in in_c]
vocab = music.NoteVocabulary(token_lists)
print("the lullaby in C, as tokens:", " ".join(music.tune_tokens(transpose(lullaby["notes"], music.shift_to_c(lullaby["key_sharps"])))[:12]), "…")
print(f"vocabulary: {len(vocab)} tokens (including <pad>, <s>, </s>)")
print("the 12 most common:", ", ".join(f"{t} ({vocab.counts[t]:,})" for t in vocab.tokens[3:15]))
rare = sum(1 for t in vocab.tokens[1:] if vocab.counts[t] < 5)
print(f"{rare} tokens occur fewer than 5 times in the whole corpus")

# %% [markdown]
# A few tokens are played thousands of times (the twelve printed are quarter and eighth notes of the C-major scale,
# from D4 to G5); a long tail of rare durations and high or low notes appears only a handful of times. The model has
# to give each of them *some* probability.
#
# We hold out 10% of the **tunes** (not 10% of the notes: a tune is never cut in two, otherwise the model would be
# tested on the second half of a melody whose first half it trained on). `vocab.encode` turns tokens into integers, the
# ids the Embedding layer reads; id 0 is reserved for padding.

# %% tags=["nbval-check-output"]
train_idx, val_idx = music.split_by_tune(len(tunes), music.TRAINING["val_fraction"], music.TRAINING["split_seed"])
ids = [vocab.encode(t) for t in token_lists]
train_ids, val_ids = [ids[i] for i in train_idx], [ids[i] for i in val_idx]
n_train_tokens = sum(len(s) - 1 for s in train_ids)
n_val_tokens = sum(len(s) - 1 for s in val_ids)
print(f"training: {len(train_ids):,} tunes, {n_train_tokens:,} tokens to predict")
print(f"validation: {len(val_ids):,} tunes, {n_val_tokens:,} tokens to predict "
      f"({music.TRAINING['val_fraction']:.0%} of the tunes, held out whole)")

# %% [markdown]
# ## 3 · Baselines: n-gram models
#
# Before any neural network, the simplest language models: an **n-gram** model predicts the next token from the
# previous $n-1$ tokens only, by counting. A **unigram** ignores the past (it knows only how common each token is), a
# **bigram** looks at one previous token, a **trigram** at two. We add a **4-gram** (three previous tokens) as an extra,
# stronger check.
#
# Counting alone gives probability 0 to any pair never seen in training, and one zero on the validation set makes the
# likelihood 0. **Interpolated Kneser–Ney smoothing** (the standard fix) subtracts a small discount $D = 0.75$ from
# every count and hands the freed probability to the shorter context:
#
# $$P(w \mid u, v) = \frac{\max(c(u,v,w) - D,\, 0)}{c(u,v)} + \frac{D \cdot N_{1+}(u,v,\cdot)}{c(u,v)}\, P(w \mid v)$$
#
# where $c(\cdot)$ counts occurrences in the training tunes and $N_{1+}(u,v,\cdot)$ is the number of different tokens
# seen after $(u, v)$. The shorter models count *in how many contexts* a token appears, and the shortest is mixed with
# a uniform distribution, so every token keeps some probability.
#
# We score every model by the **negative log-likelihood (NLL) per token** on the validation tunes: the average of
# $-\ln P(\text{actual next token})$, in nats. Lower is better; $e^{\text{NLL}}$ (the *perplexity*) is the number of
# equally likely tokens the model is, on average, as unsure as. Guessing uniformly among all tokens would score
# $\ln(|V|)$, with $|V|$ the number of tokens in the vocabulary.

# %% [markdown]
# In code, the formula is one short loop, from no context (a uniform guess) to the longest context the model counts.
# `music.KneserNey` does the counting (`fit`) and computes every probability with this function:

# %%
# Saved in utils/music.py: music.KneserNey.prob calls it (the n-gram baselines below, and tests/test_music.py)
def kneser_ney_prob(model, context: tuple, w: int) -> float:
    """P(w | context) of a fitted ``KneserNey`` model: a uniform guess, refined by ever longer contexts.

    For k = 0, 1, … order − 1, the last k tokens of ``context`` are looked up: ``model.counts[k][ctx]`` counts the
    tokens seen after them (for k < order − 1: in how many different longer contexts), ``model.totals[k][ctx]`` is
    c(ctx), their sum. Each seen context discounts its counts by D and hands the freed share to the estimate so far.
    """
    has(model, "totals", "model", "a fitted music.KneserNey: call .fit(train_ids) first")  # a clear error otherwise
    D, p = model.discount, 1.0 / model.vocab_size  # p starts as the uniform guess 1 / |V|
    for k in range(model.order):  # contexts of 0, 1, … order - 1 previous tokens, shortest first
        ctx = tuple(context[len(context) - k:]) if k else ()
        followers = model.counts[k].get(ctx)
        if followers:  # a context never seen in training leaves p as the shorter contexts made it
            p = (max(followers.get(w, 0) - D, 0.0) + D * len(followers) * p) / model.totals[k][ctx]
    return p


# %% tags=["nbval-check-output"]
started = time.perf_counter()
ngrams = {name: music.KneserNey(order, len(vocab)).fit(train_ids)
          for name, order in (("unigram", 1), ("bigram", 2), ("trigram", 3), ("4-gram", 4))}
ngram_token_nlls = {name: model.token_nlls(val_ids) for name, model in ngrams.items()}  # one array per tune
results = {"uniform guess": np.log(len(vocab))}
results.update({f"{name} (Kneser–Ney)": np.concatenate(nlls).mean() for name, nlls in ngram_token_nlls.items()})
for name, nll in results.items():
    print(f"{name:<24} {nll:.3f} nats/token   perplexity {np.exp(nll):6.1f}")
drops = np.diff([results[f"{name} (Kneser–Ney)"] for name in ngrams])
print("NLL saved by each extra note of context:", ", ".join(f"{-d:.2f}" for d in drops), "nats/token")
ngram_seconds = time.perf_counter() - started

# %% [markdown]
# Each extra note of context helps, but less and less: from unigram to bigram the NLL drops by 1.35 nats, from
# trigram to 4-gram by only 0.06, because longer contexts are seen too rarely to count reliably. None of these models
# looks further back than three notes, while folk songs repeat whole phrases: the second line of a tune often echoes
# the first. An LSTM carries a memory of the whole tune so far.

# %% [markdown]
# ## 4 · The LSTM language model
#
# The model reads one token id per step:
#
# * an **Embedding** turns each id into a vector of 64 numbers, learned so that similar notes get similar vectors
#   (`mask_zero=True` tells the layers below to skip the padding);
# * an **LSTM** with 256 units reads those vectors one step at a time; at every step its short-term memory $h_t$ sums up
#   the tune so far (`return_sequences=True`: one output per step);
# * a **Dense** layer turns $h_t$ into one score (*logit*) per vocabulary token; a softmax of the logits is the
#   predicted distribution of the next token.
#
# The training target is the same sequence shifted by one: at step $t$ the model sees tokens $1 … t$ and must predict
# token $t+1$. The loss is the cross-entropy, the same NLL per token we use to compare models (padding ignored).
#
# `build_melody_lstm` below builds exactly that with Keras (the tool that trained the shipped weights builds the same
# model). In the table under it, output shapes are (batch, time, …); `None` means "any size": any number of tunes, of
# any length.

# %%
# Saved in utils/music.py: the weights tool (tools/music_data.py) builds the same model
def build_melody_lstm(vocab_size: int, embed_dim: int = 64, units: int = 256, dropout: float = 0.1,
                      learning_rate: float = 2e-3, compile: bool = True):
    """Embedding → LSTM (one output per step) → Dense logits over the vocabulary; the loss ignores padding (id 0).

    ``compile=False`` gives a model for predictions only (its saved weights then hold no optimizer state).
    """
    import keras  # inside the function, as in utils/music.py, which parses the corpus without loading TensorFlow

    vocab_size = whole(vocab_size, "vocab_size", 2, "pass len(vocab)")  # whole numbers, or a clear error
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


# %% tags=["nbval-check-output"]
model = build_melody_lstm(len(vocab), compile=False)  # the shipped model's size; its weights come below
for layer in model.layers:
    print(f"{layer.name:<10} {type(layer).__name__:<10} output shape {str(tuple(layer.output.shape)):<16} "
          f"{layer.count_params():>8,} parameters")
print(f"{'total':<38} {model.count_params():>8,} parameters")
d, u = model.get_layer("embedding").output_dim, model.get_layer("lstm").units
print(f"LSTM check: 4 gates x units x (inputs + units + 1) = 4 x {u} x ({d} + {u} + 1) = {4 * u * (d + u + 1):,}")

# %% [markdown]
# ### A short live run
#
# Training this model to a good NLL takes many minutes on a laptop CPU, too long for a lecture. What can a run of a few
# seconds learn? The seconds go into weight updates, and each update costs time for every step of every tune in the
# batch, so a live run must make each update count:
#
# * a **smaller model**: 64 memory cells and 32-number embeddings, a quarter of the shipped model's cells, so each
#   update is cheap;
# * a **large learning rate**: Adam with 0.04, twenty times the shipped model's, because a small model
#   tolerates large steps and a short run cannot afford small ones;
# * **many batches over all the training tunes**: one epoch in batches of 48 gives over a hundred updates, and every
#   tune is seen once. (Batches of 32 would give half as many updates again, and, since for a model this small an
#   update costs about as much whatever the batch size, take about half as long again.)
#
# `music.tune_batches` groups tunes of similar length into each batch, so that little time is lost on padding.

# %% tags=["nbval-ignore-output"]
live_model = build_melody_lstm(len(vocab), embed_dim=32, units=64, dropout=0.0, learning_rate=0.04)
live_epochs = course.epochs(1)
live_batches = music.tune_batches(train_ids, batch_size=48, seed=0)
started = time.perf_counter()
history = live_model.fit(live_batches, epochs=live_epochs, verbose=0)
live_seconds = time.perf_counter() - started
print(f"{live_model.count_params():,} parameters; {live_epochs} epoch on {len(train_ids):,} tunes "
      f"({live_epochs * len(live_batches)} weight updates) in {live_seconds:.0f} s; "
      f"training loss {history.history['loss'][-1]:.3f} nats/token")

# %% tags=["nbval-ignore-output"]
live_nll = music.lstm_nll(live_model, val_ids)
print(f"validation NLL of the live model: {live_nll:.3f} nats/token "
      f"(bigram {results['bigram (Kneser–Ney)']:.3f}, trigram {results['trigram (Kneser–Ney)']:.3f})")

# %% tags=["nbval-check-output"]
_ = course.claim("the live run beats the bigram on the validation tunes (by more than 0.02 nats/token)",
                 live_nll < results["bigram (Kneser–Ney)"] - 0.02)
_ = course.claim("but not the trigram", live_nll > results["trigram (Kneser–Ney)"])

# %% [markdown]
# In the run stored with this notebook, those seconds were enough to beat the bigram: the LSTM has learned more than
# which note tends to follow which (the verdicts above check it on your run). The trigram, which sees two notes back,
# is still ahead. Try the shipped model's size and learning rate instead, `build_melody_lstm(len(vocab))`, in the
# cell above: its one epoch makes the same number of updates (the batches do not change), but each costs more, so the
# run takes longer, and each is a smaller step; compare its NLL with the live model's.

# %% [markdown]
# ### The shipped model
#
# `python -m tools.music_data train` trained the model printed above for much longer, in two runs: 20 epochs at
# Adam's constant learning rate 0.002, then (`train --resume`) 6 more while the rate falls to 0 along a cosine, so that
# ever smaller steps let the weights settle. Both runs kept the epoch with the lowest loss on 5% of the training tunes,
# held back for that purpose, and the result is saved in `data/music_lstm.weights.h5` (about 2 MB; details in
# `data/README.md`). It never saw the validation tunes. We load those weights into the model printed above.

# %% tags=["nbval-ignore-output"]
model.load_weights(music.WEIGHTS)  # into the model whose layers are printed above (no optimizer)
shipped_token_nlls = music.lstm_token_nlls(model, val_ids)  # one array per tune, as for the n-grams
shipped_nll = np.concatenate(shipped_token_nlls).mean()
results[f"LSTM, live run (64 cells, {live_epochs} epoch)"] = live_nll
results["LSTM, shipped weights"] = shipped_nll
table = pd.DataFrame({"validation NLL (nats/token)": results})
table["perplexity"] = np.exp(table.iloc[:, 0])
for baseline in ("trigram", "4-gram"):
    reference = results[f"{baseline} (Kneser–Ney)"]
    table[f"vs {baseline}"] = [f"{100 * (v / reference - 1):+.1f}%" for v in table.iloc[:, 0]]
print(table.round(3).to_string())

# %% tags=["nbval-check-output"]
_ = course.claim("the shipped LSTM beats the trigram on the validation tunes by more than 5 % in NLL per token",
                 shipped_nll < 0.95 * results["trigram (Kneser–Ney)"])
_ = course.claim("the shipped LSTM beats the 4-gram, the best counting model, by more than 10 %",
                 shipped_nll < 0.90 * results["4-gram (Kneser–Ney)"])

# %% [markdown]
# The shipped LSTM predicts the validation tunes with **2.443 nats per token**: 12.1% below the trigram and 10.3%
# below the 4-gram (the table's last row). Its perplexity is 11.504, as if it hesitated between about 12 equally
# likely notes at each step, against 16.118 for the trigram. The live run, seconds old, sits between the bigram and
# the trigram: the other minutes of training buy the rest. Homework 5 asks where more training stops helping.

# %% [markdown]
# **Where does the LSTM gain?** Below, the average NLL of the 4-gram and of the shipped LSTM by position in the tune.
# If the LSTM's advantage grows later in the tune, it comes from remembering what was played earlier, which the
# 4-gram cannot do.

# %% tags=["nbval-ignore-output"]
bins = np.array([0, 4, 8, 16, 32, 64, 1000])
labels = ["1–4", "5–8", "9–16", "17–32", "33–64", "65+"]
by_position = {}
fig, ax = plt.subplots()
for name, per_token in (("4-gram", ngram_token_nlls["4-gram"]), ("LSTM (shipped)", shipped_token_nlls)):
    positions = np.concatenate([np.arange(len(x)) for x in per_token])
    values = np.concatenate(per_token)
    which = np.digitize(positions, bins) - 1
    by_position[name] = [values[which == b].mean() for b in range(len(labels))]
    ax.plot(labels, by_position[name], marker="o", label=name)
ax.set_title("Validation NLL by position in the tune")
ax.set_xlabel("position of the predicted token in its tune")
ax.set_ylabel("mean NLL (nats/token)")
ax.legend()
plots.show(fig, alt="Line chart of the mean validation NLL per token, in nats, by the position of the predicted token "
                    f"in its tune ({', '.join(labels)}), for the 4-gram and the shipped LSTM. Notice that the LSTM "
                    "is below the 4-gram at every position, and that its advantage is small in a tune's first four "
                    "notes and larger from the ninth note on.")

# %% tags=["nbval-ignore-output"]
print(pd.DataFrame(by_position, index=pd.Index(labels, name="position")).T.round(2).to_string())

# %% tags=["nbval-check-output"]
gain = np.array(by_position["4-gram"]) - np.array(by_position["LSTM (shipped)"])
_ = course.claim("the shipped LSTM has a lower NLL than the 4-gram at every position", bool((gain > 0).all()))
_ = course.claim("its advantage in a tune's first four notes is less than half its advantage from the ninth note on",
                 gain[0] < gain[2:].min() / 2)

# %% [markdown]
# The LSTM is better at every position, but not equally: in the first four notes of a tune the gap is small (the
# printed rows), because there the 4-gram's short context *is* the whole tune so far. From the ninth note on, the
# gap is several times larger and stays so: the LSTM's advantage comes from what it remembers of the earlier notes.

# %% [markdown]
# ## 5 · Composing with temperature sampling
#
# To compose, we give the model a **seed phrase** (the start marker and the first notes of a tune), take its logits
# $z$ for the next token, draw one token, append it, and repeat until the model picks `</s>`.
#
# Always taking the most likely token is dull (and often loops forever); drawing from the model's distribution as it is
# can wander. The **temperature** $T$ sets the balance: divide the logits by $T$ before the softmax,
#
# $$p_i = \frac{e^{z_i / T}}{\sum_j e^{z_j / T}}.$$
#
# $T = 1$ is the model's own distribution, $T < 1$ sharpens it (the likely notes get likelier: safer, more
# repetitive), $T > 1$ flattens it (more surprises, more wrong notes).
#
# ### Exercise 2 · sampling with a temperature
#
# Write `sample_with_temperature(logits, temperature, rng)`: return **one index** drawn from the probabilities above.
# `rng` is a NumPy random generator: use `rng.choice(len(p), p=p)`. Subtract the largest logit before `np.exp`, or large
# logits overflow.

# %%
def sample_with_temperature(logits, temperature, rng):
    """logits: (vocab,) scores; returns an int index drawn from softmax(logits / temperature)."""
    ### BEGIN SOLUTION
    z = np.asarray(logits, dtype=float) / temperature
    p = np.exp(z - z.max())
    p /= p.sum()
    return int(rng.choice(len(p), p=p))
    ### END SOLUTION


# %%
passed = check_sample_with_temperature(sample_with_temperature)
sample_with_temperature = use_reference_if_needed(sample_with_temperature, passed, check_sample_with_temperature)

# %% [markdown]
# What does the temperature do to the model's choice? Here is the shipped model's distribution for the token after the
# first four notes of a validation tune, at three temperatures (the 10 likeliest tokens).

# %% tags=["nbval-ignore-output"]
seed_phrase = token_lists[val_idx[0]][:5]
logits = np.asarray(model(music.pad_batch([vocab.encode(seed_phrase)]), training=False))[0, -1]
top = np.argsort(logits)[::-1][:10]
fig, ax = plt.subplots()
for k, temperature in enumerate((0.5, 1.0, 2.0)):
    ax.bar(np.arange(10) + (k - 1) * 0.27, music.softmax(logits, temperature)[top], width=0.27, label=f"T = {temperature}")
ax.set_xticks(np.arange(10), vocab.decode(top), rotation=45, ha="right")
ax.set_title(f"Next-token probabilities after {' '.join(seed_phrase[1:])}")
ax.set_xlabel("next token (pitch:duration)")
ax.set_ylabel("probability")
ax.legend()
plots.show(fig, alt="Grouped bar chart of the shipped model's probabilities for the 10 likeliest next tokens after "
                    f"{' '.join(seed_phrase[1:])}, at temperatures 0.5, 1 and 2. Notice that T = 0.5 gives the "
                    "likeliest token an even larger share while T = 2 levels the bars, so the rarer tokens gain.")

# %% [markdown]
# In the plot, $T = 0.5$ gives the likeliest token an even larger share and $T = 2$ levels the bars, so the rarer
# tokens gain: halving $T$ squares the ratio of any two probabilities, doubling it takes the square root.
#
# Composing is one loop: read the seed, then draw a token with your sampler, append it and feed it back, until the
# model picks `</s>`. The loop only needs a *stepper* that reads one token at a time and returns logits for the next:
# `music.LSTMStepper` copies the trained weights into the NumPy LSTM cell of notebook 04 (`utils.lstm.lstm_cell_step`)
# and carries the memories $h_t$ and $C_t$ from step to step, instead of asking Keras to re-read the whole tune for
# every new note. (Section 6 drives the 4-gram with the same loop.)

# %%
# Saved in utils/music.py: tests/test_music.py checks it, with the LSTM and with an n-gram model
def compose(stepper, vocab, seed, temperature, rng, sampler, max_notes=120):
    """Continue a seed phrase (tokens starting with "<s>") until the model picks "</s>" or after max_notes new tokens.

    ``stepper`` reads one token id at a time and carries its memory in ``state`` (an LSTM: h and C; an n-gram: the
    last tokens); after each token, ``sampler(logits, temperature, rng)`` draws the next one from its logits.
    """
    has(stepper, "step", "stepper", "music.LSTMStepper(model) or a fitted music.KneserNey")  # a clear error otherwise
    ids, state = vocab.encode(seed), stepper.start()
    for token in ids:  # read the seed phrase
        logits, state = stepper.step(token, state)
    for _ in range(max_notes):
        logits[[vocab.index["<pad>"], vocab.index["<s>"]]] = -np.inf  # never padding, never a second start
        ids.append(int(sampler(logits, temperature, rng)))
        if ids[-1] == vocab.index["</s>"]:  # the model ends the tune
            break
        logits, state = stepper.step(ids[-1], state)
    return vocab.decode(ids)


# %% [markdown]
# Now compose: eight new tunes, each started from the first four notes of a different validation tune, at $T = 0.8$.
# Each tune is written as a MIDI file in `music.OUTPUT_DIR`, the course's folder for your files (never the repository,
# which may be read-only; see "Where notebooks write" in the course README); open them in any music program.

# %% tags=["nbval-ignore-output"]
rng = np.random.default_rng(2024)
seeds = [token_lists[i][:5] for i in val_idx[:8]]
started = time.perf_counter()
stepper = music.LSTMStepper(model)
composed = [compose(stepper, vocab, seed, 0.8, rng, sample_with_temperature) for seed in seeds]
print(f"8 tunes composed in {time.perf_counter() - started:.1f} s")
composed_notes = [music.tokens_to_notes(t) for t in composed]
for k, (tokens, notes) in enumerate(zip(composed, composed_notes)):
    path = music.notes_to_midi(notes, music.OUTPUT_DIR / f"lstm_tune_{k + 1}.mid")
    ended = "ends with </s>" if tokens[-1] == music.EOS else "cut at the length limit"
    print(f"{path.name}: {len(notes)} notes, {ended}; starts "
          + " ".join(tokens[1:9]))

# %% [markdown]
# The piano roll draws each note as a bar: its height is the pitch, its length the duration. The first four notes are
# the seed, the rest is the model's. Below them, for comparison, the real tune the seed came from.

# %% tags=["nbval-ignore-output"]
rolls = [composed_notes[0], composed_notes[1], in_c[val_idx[0]]]
quarters = [sum(float(duration) for _, duration in notes) for notes in rolls]
fig = music.plot_piano_roll(
    rolls, ["LSTM tune 1 (T = 0.8)", "LSTM tune 2 (T = 0.8)", f"the real tune seed 1 came from: '{tunes[val_idx[0]]['title']}'"],
    max_quarters=max(quarters))  # wide enough for the longest of the three: no note is cut off
plots.show(fig, alt="Three piano rolls, pitch against time in quarter notes on a shared axis, one bar per note, the "
                    "pitch axis labelled only at the notes C, E and G: two tunes composed by the LSTM at T = 0.8, "
                    f"tune 1 with {len(rolls[0])} notes over {quarters[0]:.0f} quarters and tune 2 with "
                    f"{len(rolls[1])} notes over {quarters[1]:.0f} quarters, and, below, the real tune "
                    f"'{tunes[val_idx[0]]['title']}', {len(rolls[2])} notes over {quarters[2]:.0f} quarters, whose "
                    "first four notes seeded tune 1. Both LSTM tunes move mostly in small steps, as the real one does.")

# %% [markdown]
# Compare the rolls: does the LSTM's tune move in small steps like the real one, repeat figures, end on its home
# note? Section 6 measures such things over many tunes. And listen (the first 12 seconds):

# %% tags=["nbval-ignore-output"]
plots.show(music.audio_player(composed_notes[0], bpm=100), alt="Audio player: LSTM tune 1 (T = 0.8), the top piano "
                                                               f"roll above, {len(composed_notes[0])} notes and rests "
                                                               "played by the course's NumPy synthesizer at 100 beats "
                                                               "per minute, at most its first 12 seconds.")

# %% [markdown]
# ## 6 · Judging the tunes with numbers
#
# Ears are the final judge, but numbers catch problems quickly. For the validation tunes (real music), for 120 tunes
# from the LSTM at two temperatures, and for 120 tunes from the 4-gram, the best counting model (at $T = 1$: its own
# probabilities), each started from the first four notes of the same validation tunes, we measure
#
# * **notes per tune**, and how many tunes `compose` had to cut at its limit of 120 new tokens;
# * **share of notes in the key**: all tunes are in C major / A minor, so notes outside C D E F G A B are "wrong" notes
#   (real folk songs have a few, as passing notes or in minor keys);
# * **range**: highest minus lowest pitch, in semitones (12 = one octave);
# * **share ending on C or A**: the home note of C major or A minor; most folk songs end there;
# * **last note**: how long the final note is held, in quarter notes (a tune closes on a long note);
# * **pitch-class histogram distance** to the real tunes: how often each of the 12 note names is played (weighted by
#   duration), compared with the corpus by the total-variation distance (0 = the same mix of notes, 1 = no overlap).

# %% tags=["nbval-ignore-output"]
started = time.perf_counter()
stat_seeds = [token_lists[i][:5] for i in val_idx[:120]]
real_notes = [in_c[i] for i in val_idx]
reference_hist = music.pitch_class_histogram(real_notes)


def measure(token_tunes):
    """The row of the table for composed tunes (token lists): ``tune_statistics``, cut tunes, pitch-class distance."""
    notes = [music.tokens_to_notes(t) for t in token_tunes]
    return music.tune_statistics(notes) | {
        "cut at the limit (%)": 100 * np.mean([t[-1] != music.EOS for t in token_tunes]),
        "pitch-class distance": music.histogram_distance(music.pitch_class_histogram(notes), reference_hist)}


samplers = {"LSTM, T = 0.8": (stepper, 0.8), "LSTM, T = 1": (stepper, 1.0), "4-gram": (ngrams["4-gram"], 1.0)}
samples = {name: [compose(source, vocab, seed, temperature, np.random.default_rng(k), sample_with_temperature)
                  for k, seed in enumerate(stat_seeds)]  # one random generator per seed: rows differ only by model
           for name, (source, temperature) in samplers.items()}
rows = {"validation tunes (real)": music.tune_statistics(real_notes) | {"cut at the limit (%)": 0.0,
                                                                         "pitch-class distance": 0.0}}
rows |= {name: measure(token_tunes) for name, token_tunes in samples.items()}
stats = pd.DataFrame(rows).T
lstm_hist = music.pitch_class_histogram([music.tokens_to_notes(t) for t in samples["LSTM, T = 1"]])
print(stats.round(2).to_string())
print(f"({time.perf_counter() - started:.0f} s to sample and measure)")

# %% tags=["nbval-check-output"]
cool, own, real, four = (stats.loc[name] for name in ("LSTM, T = 0.8", "LSTM, T = 1", "validation tunes (real)",
                                                      "4-gram"))
ending, in_key, span = "share ending on C or A (%)", "share of notes in key (%)", "range (semitones)"
_ = course.claim("at T = 1 the LSTM's tunes end on the home note within 5 points as often as the real tunes",
                 abs(own[ending] - real[ending]) < 5)
_ = course.claim("at T = 0.8 they end there more often than the real tunes do", cool[ending] > real[ending])
_ = course.claim("the LSTM's tunes end on the home note more often than the 4-gram's", own[ending] > four[ending])
_ = course.claim("at T = 1 the LSTM's share of notes in the key is within 5 points of the real tunes'",
                 abs(own[in_key] - real[in_key]) < 5)
_ = course.claim("and its range within 2 semitones of theirs, while the 4-gram's is more than 3 semitones wider",
                 abs(own[span] - real[span]) < 2 and four[span] > real[span] + 3)
_ = course.claim("lowering T to 0.8 lets fewer wrong notes in and narrows the range",
                 cool[in_key] > own[in_key] and cool[span] < own[span])
_ = course.claim("the LSTM's tunes are shorter than real ones (fewer than 9 notes in 10 of theirs), at both T",
                 max(cool["notes per tune"], own["notes per tune"]) < 0.9 * real["notes per tune"])
_ = course.claim("and they close on a longer last note than real tunes do",
                 min(cool["last note (quarters)"], own["last note (quarters)"]) > real["last note (quarters)"])
_ = course.claim("the 4-gram has to be cut at the length limit more often than the LSTM",
                 four["cut at the limit (%)"] > own["cut at the limit (%)"])
_ = course.claim("the 4-gram's share of notes in the key is closer to the real tunes' than the LSTM's at T = 1",
                 abs(four[in_key] - real[in_key]) < abs(own[in_key] - real[in_key]))
_ = course.claim("and so is its mix of note names (pitch-class distance less than two thirds of the LSTM's)",
                 four["pitch-class distance"] < 2 / 3 * own["pitch-class distance"])
name_share = dict(zip(music.NOTE_NAMES, lstm_hist - reference_hist))  # LSTM at T = 1 minus real, share of time
_ = course.claim("the LSTM at T = 1 plays E less than the real tunes do, and Eb, F and Bb more",
                 name_share["E"] < 0 and min(name_share[n] for n in ("Eb", "F", "Bb")) > 0)

# %% [markdown]
# At $T = 1$, the model's own probabilities, the **endings** match real tunes; $T = 0.8$ overshoots: the sharpened
# probabilities favour the commonest close, the home note, more often than real tunes do. The tunes'
# **length** is another matter: temperature hardly moves it, the LSTM ends its tunes too early.
#
# Where could the length come from? The model ends a tune when it draws `</s>`. Its probability is learned at every
# step of the training tunes, where the model always reads the *real* earlier notes; while composing it reads its own,
# and a tune that drifts into a close (a long note on C) invites `</s>` sooner than a real one. One number can
# correct for that: lower the logit of `</s>` by a constant $b$ (its probability falls by about the factor $e^{-b}$,
# so tunes grow by about $e^{b}$). We learn $b$ from **training** tunes, never the validation tunes of the table:
# compose from the first notes of 120 training tunes at $T = 1$ and compare their length with the real ones',
# $b = \ln(\text{real new notes} / \text{composed new notes})$. The NLL of section 4 is the model's own; $b$ only
# changes how we compose.

# %% tags=["nbval-ignore-output"]
class EndBias:
    """A stepper whose ``</s>`` logit is lowered by ``bias``: the model's tunes, made to end less readily."""

    def __init__(self, stepper, bias):
        self.stepper, self.bias = stepper, bias

    def start(self):
        return self.stepper.start()

    def step(self, token, state):
        logits, state = self.stepper.step(token, state)
        logits[vocab.index[music.EOS]] -= self.bias
        return logits, state


started = time.perf_counter()
fit_idx = train_idx[:120]  # training tunes: the bias is learned where the model was
fit_composed = [compose(stepper, vocab, token_lists[i][:5], 1.0, np.random.default_rng(k), sample_with_temperature)
                for k, i in enumerate(fit_idx)]
new_real, new_composed = (np.mean([len(t) - 6 for t in tunes_]) for tunes_ in
                          ([token_lists[i] for i in fit_idx], fit_composed))  # tokens after <s> and the 4 seed notes
end_bias = float(np.log(new_real / new_composed))
print(f"training tunes: {new_real:.1f} new tokens in the real ones, {new_composed:.1f} composed: b = {end_bias:.2f}")
samples["LSTM, T = 1, end bias b"] = [compose(EndBias(stepper, end_bias), vocab, seed, 1.0, np.random.default_rng(k),
                                              sample_with_temperature) for k, seed in enumerate(stat_seeds)]
stats.loc["LSTM, T = 1, end bias b"] = measure(samples["LSTM, T = 1, end bias b"])
print(stats.round(2).to_string())
print(f"({time.perf_counter() - started:.0f} s to learn b, sample and measure)")

# %% tags=["nbval-check-output"]
biased = stats.loc["LSTM, T = 1, end bias b"]
_ = course.claim("b, learned on training tunes, moves the length of the validation tunes by less than 2 notes",
                 abs(biased["notes per tune"] - own["notes per tune"]) < 2)
_ = course.claim("so they stay shorter than real ones (fewer than 9 notes in 10 of theirs), on a longer last note",
                 biased["notes per tune"] < 0.9 * real["notes per tune"]
                 and biased["last note (quarters)"] > real["last note (quarters)"])
_ = course.claim("while their endings, key and range stay within 5 points and 2 semitones of the real tunes'",
                 abs(biased[ending] - real[ending]) < 5 and abs(biased[in_key] - real[in_key]) < 5
                 and abs(biased[span] - real[span]) < 2)

# %% [markdown]
# The correction is small and does little: the length gap is **not** a slightly too likely `</s>` at every step. The
# model stops after a close, and a bias of this size does not make it reach its closes later: its tunes close too
# soon, and on a longer note than real tunes do (the last-note column). We report the gap
# as it is rather than force it, for example by forbidding `</s>` before a set length, which would hide what the
# model does. Making the model reach its closes later is homework 3 (bar lines let it count where it is).
#
# In short, against the real tunes:
#
# * **Endings**: at $T = 1$ the LSTM ends on the home note as often as real tunes do, and more often than the
#   4-gram, which cannot know where it is in a tune; at $T = 0.8$ it overshoots.
# * **Key and range**: at $T = 1$ its notes stay in the key almost as often as in the real tunes, within a realistic
#   range. The 4-gram keeps closer to the key than the LSTM does, but wanders over a wider range, and more of its
#   tunes are cut at the limit of 120 new tokens. Lowering $T$ to 0.8 lets fewer wrong notes in and narrows the range.
# * **Length**: the LSTM's tunes are shorter than real ones and close on a longer note, at both temperatures and
#   with the end bias.
# * **Note names**: here the 4-gram is closer to real tunes than the LSTM (the table's last column, the distance to
#   the real mix). The bars below show where: the LSTM at $T = 1$ plays E less often than real tunes do, and Eb, F and
#   Bb more often; the 4-gram's bars stay near the real ones.
#
# (The numbers are in the tables above; the verdicts check each sentence.) With 120 tunes per row these numbers move
# by a few points from one random seed to another; rerun the cells with other seeds before drawing fine conclusions.

# %% tags=["nbval-ignore-output"]
fig, ax = plt.subplots()
width = 0.27
for k, (name, hist) in enumerate([("real tunes", reference_hist),
                                   ("LSTM, T = 1", lstm_hist),
                                   ("4-gram", music.pitch_class_histogram(
                                       [music.tokens_to_notes(t) for t in samples["4-gram"]]))]):
    ax.bar(np.arange(12) + (k - 1) * width, hist, width=width, label=name)
ax.set_xticks(np.arange(12), music.NOTE_NAMES)
ax.set_title("How often each note name is played (weighted by duration)")
ax.set_xlabel("pitch class")
ax.set_ylabel("share of played time")
ax.legend()
plots.show(fig, alt="Grouped bar chart of the share of played time for each of the 12 note names, weighted by "
                    "duration, for the real tunes, the LSTM's tunes at T = 1 and the 4-gram's tunes. C and G are "
                    "played most by all three. The LSTM plays E less often than the real tunes, and Eb, F and Bb "
                    "more often; the 4-gram's bars stay close to the real tunes' for every note name.")

# %% [markdown]
# ## Key takeaways
#
# * Music can be treated as a language: each note becomes a *(pitch, duration)* token, each tune is wrapped in start
#   and end markers, and moving every tune to one key lets the model share what it learns across keys.
# * A language model is judged by its **NLL per token on held-out tunes** (split by tune, never inside one), against
#   properly smoothed n-gram baselines on the same tokens.
# * The shipped LSTM's validation NLL is 10.3% below the best counting model's, the 4-gram (12.1% below the
#   trigram's), because it can use the earlier part of the tune; the gain is small in a tune's first notes and largest
#   later on.
# * A live run of seconds is worth designing so that every second counts: a small model, a large learning rate,
#   many batches. A good model needs far longer; shipping trained weights next to a short live run, and saying which
#   is which, keeps the notebook honest and fast.
# * **Temperature** trades safety for surprise. Judge generated music with numbers (length, key, range, endings) *and*
#   with your ears; a gap the numbers show may have a cause you can test; the end-marker bias showed this one was
#   not it.

# %% [markdown]
# ## Homework
#
# The two checked exercises above are the warm-up. Choose at least two of these open-ended tasks and write down what you
# measured (NLL table, statistics, and what you hear):
#
# 1. **Copying or composing?** For each generated tune, find the longest run of tokens that also appears in some
#    training tune. Does it grow as the temperature falls? A model that only stitches together long pieces of its
#    training data is memorizing, not composing.
# 2. **Augment instead of transposing.** Instead of moving every tune to C, keep the original keys and add copies of each
#    training tune transposed by −5 … +6 semitones (use your `transpose`). Compare the validation NLL on tunes in C.
# 3. **Bar lines.** Add a `|` token at each bar line (use the tune's `meter`) so the model knows where the beat is.
#    Does the NLL per *note* improve (count only note tokens to compare fairly)?
# 4. **Separate pitch and duration.** Replace the single token by two embeddings (pitch and duration) added together,
#    and two softmax outputs. How many parameters does that save, and what happens to the NLL?
# 5. **Bigger, longer, or dropout?** Train `build_melody_lstm` for more epochs, with more units or more dropout, on
#    `music.tune_batches(train_ids)` (`train_shipped_model` in `tools/music_data.py` is the shipped run: read it for the
#    schedule); plot training and validation NLL per epoch and find where it starts to overfit.
# 6. **Another corpus.** Parse O'Neill's Irish tunes (`music21.corpus` folder `oneills1850`) with `utils.music.parse_tune`
#    and compare the generated jigs and reels with the German tunes.
#
# ## Further reading
#
# * The lecture's videos: [RNNs, unrolling and vanishing gradients](https://www.youtube.com/watch?v=AsNTP8Kwu80) and
#   [LSTM architecture (IBM)](https://www.youtube.com/watch?v=b61DPVFX03I).
# * A. Karpathy, [The unreasonable effectiveness of recurrent neural networks](https://karpathy.github.io/2015/05/21/rnn-effectiveness/)
#   (2015): character-level LSTMs writing text, code and music.
# * B. L. Sturm et al., [Music transcription modelling and composition using deep learning](https://arxiv.org/abs/1604.08723)
#   (2016): the *folk-rnn* LSTM trained on 23,000 Irish tunes in ABC notation.
# * [music21 documentation](https://www.music21.org/music21docs/): parsing, analysing and writing music in Python.
# * S. F. Chen and J. Goodman, *An empirical study of smoothing techniques for language modeling* (1998): Kneser–Ney
#   and friends.

# %%
_ = progress()
