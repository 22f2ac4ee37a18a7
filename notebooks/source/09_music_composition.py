# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 09 · Home exercise: compose folk tunes with an LSTM
# <!-- summary: folk tunes as (pitch, duration) tokens; you build and train an LSTM language model to beat the best Kneser–Ney n-gram; you write the generation loop; tunes judged against the tunes they continue; MIDI, audio and piano roll -->
# <!-- facts: 8,500 1850 371 0.75 2015 2016 23,000 1998; 15 (minutes: the homework run's budget); 20 (epochs of the shipped model's first training run, data/README.md) -->
#
# The lecture ends with a home exercise: teach an LSTM to **write melodies**. A melody is a sequence, just like the
# stock prices of notebook 08, but each step is now a *symbol* (a note) chosen from a vocabulary, not a number. The model
# is a **language model**: given the notes so far, it gives a probability to every possible next note. To compose, we
# draw one note from those probabilities, feed it back, and repeat.
#
# **By the end of this homework you will be able to**
#
# 1. turn real sheet music (a folk-song collection that ships inside the `music21` package) into tokens a network can
#    read, and split it so that the held-out tunes are really new;
# 2. measure how well a model predicts music with the **negative log-likelihood per token**, against honest n-gram
#    baselines on the same tokens;
# 3. **build and train** an LSTM language model that predicts held-out tunes better than the best n-gram, within a
#    stated CPU budget;
# 4. **write the generation loop** that composes with a temperature, and listen to the tunes, as MIDI, audio and piano
#    rolls;
# 5. judge composed tunes with numbers, against the real tunes they continue, with intervals over tunes.
#
# **The homework.** Exercises 1–4 are the core (the time each takes is under its heading; add one training run of a few
# minutes that runs on its own); Exercise 5 and the open tasks at the end are optional. Sections marked *(optional)* can be skipped
# on a first reading. Two models appear below, and the text always says which: **your model**, trained by your code
# in Exercise 3, and the **shipped model**, trained for much longer by the course's own tool
# (`python -m tools.music_data train`) with the same code, whose weights come with the course.

# %% [markdown]
# ## Setup
#
# `utils` is this course's package (the `utils/` folder): data loaders, plots, exercise checks and the code that
# several notebooks share. It comes before Keras because it keeps TensorFlow's start-up log quiet.
# `course.setup(seed=9)` seeds Python, NumPy and TensorFlow, so that a rerun gives the same numbers. A code cell that
# starts with `# Saved in utils/...` is the lesson's code, kept identical in that module because the checks or the
# course's tools use it from there.

# %%
import time
from collections import Counter

from utils import course, music, plots  # first, before Keras: see utils/__init__.py
from utils.checks import progress, use_reference_if_needed
from utils.checks.music import (check_build_melody_lstm, check_generation_loop, check_longest_shared_runs,
                                check_train_melody_lstm, check_transpose)
from utils.validate import has

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

course.setup(seed=9, notebook="09")  # seeds Python, NumPy and TensorFlow; deterministic ops; figure style (utils/course.py)


# %% [markdown]
# ## 1 · The corpus: German folk songs from the Essen collection
#
# `music21` ships three collections of real music that need no download: the **Essen folk songs** (about 8,500
# melodies from Europe and China, collected by Helmut Schaffrath), **O'Neill's 1850 Irish tunes**, and **371 Bach
# chorales**. We use the German part of the Essen collection: every tune is a **single melody line** (Bach chorales
# have four voices), the tunes are short and simple, and with 5,979 tunes (counted below) it is the largest of the
# three sources of one musical style.
#
# Reading the ABC files with music21 takes several minutes, so the maintainers' tool `python -m tools.music_data parse`
# did it once and cached the notes in `data/essen_german.json.gz` (its source and checksum are in `data/README.md`).
# Each tune keeps its title, its Essen number, meter, key signature (the number of sharps, negative for flats) and its
# notes.

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
# Let us listen to that tune, a lullaby from Hesse ("Schlaf, Kindlein, schlaf"). The player below is made by a small
# NumPy synthesizer in `utils.music.synthesize` (a few sine harmonics per note with a soft attack and decay), so it
# needs no sound library on your computer. It plays at most 12 seconds, to keep the notebook file small.

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
# The corpus is written in many keys. "C D E" in C major and "G A B" in G major are the same melody moved up by 7
# semitones, yet a model would see different symbols. So we **transpose** every tune by its key signature: the
# signature names a major key (0 sharps → C, 1 sharp → G, 1 flat → F, …), and we move the tune by the smallest number
# of semitones that takes that key to C major, whose signature has no sharps or flats.
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
# A signature names the notes a tune uses, not where the tune comes home. After the move every tune has C major's
# signature, but does it *end* on C, the home note of C major? The last note of each tune tells:

# %% tags=["nbval-check-output"]
in_c = [transpose(t["notes"], music.shift_to_c(t["key_sharps"])) for t in tunes]
last_notes = Counter(music.NOTE_NAMES[[p for p, _ in notes if p is not None][-1] % 12] for notes in in_c)
print("last note of the tunes, moved to C:", ", ".join(f"{name} {100 * n / len(in_c):.1f}%"
                                                       for name, n in last_notes.most_common(5)))
print(f"tunes that end on C: {100 * last_notes['C'] / len(in_c):.1f}%, on A (the home note of A minor, which shares "
      f"C major's signature): {100 * last_notes['A'] / len(in_c):.1f}%")

# %% [markdown]
# Most tunes, but not all, are then in C major: about one in seven ends elsewhere, mostly on E, a few on G or D. These
# are tunes in the old church modes, or whose signature was written for their lowest notes; hardly any is in A minor.
# So "notes on C D E F G A B" below means *notes the signature allows*, and "ends on C" *ends on the home note of the
# signature's major key*, which most real tunes do.
#
# Now each note becomes a **token**, a short piece of text such as `"E4:1/2"` (E above middle C, an eighth note) or
# `"rest:1"`, and each tune is wrapped in a start marker `<s>` and an end marker `</s>`. The end marker lets the model
# learn *when a tune is over*, so that generated tunes can end by themselves.
#
# **Held-out tunes that are really new.** We hold out 10% of the tunes for validation: whole tunes, never half a tune
# (otherwise a model would be tested on the second half of a melody whose first half it trained on). One more trap:
# the collection prints several **variants of one song** under one number (`A0220A`, `A0220B`), and a few melodies
# appear in two of its collections. Held-out variants of a training tune would reward copying, so
# `music.song_families` puts such tunes in one family, and whole families go to one side. A further 5% of the
# training tunes (again whole families) are the **hold-out tunes**: models never learn from them; they are for choices
# (the n-gram's order, when to stop training). The validation tunes are scored only to compare finished models.
# (The split's sizes are printed below.)

# %% tags=["nbval-check-output"]
families = music.song_families(tunes)
split_seed = music.TRAINING["split_seed"]  # fixed: the shipped weights were trained on exactly this split
train_idx, val_idx = music.split_by_tune(len(tunes), music.TRAINING["val_fraction"], split_seed, families)
fit_idx, hold_idx = (train_idx[k] for k in music.split_by_tune(len(train_idx), music.TRAINING["hold_fraction"],
                                                               split_seed, families[train_idx]))
token_lists = [music.tune_tokens(notes) for notes in in_c]
print(f"{len(tunes):,} tunes in {families.max() + 1:,} song families; "
      f"{len(set(families[train_idx]) & set(families[val_idx]))} families on both sides of the split")
print(f"validation: {music.TRAINING['val_fraction']:.0%} of the tunes; hold-out: "
      f"{music.TRAINING['hold_fraction']:.0%} of the rest")
for name, idx in (("training (models learn from these)", fit_idx), ("hold-out (for choices)", hold_idx),
                  ("validation", val_idx)):
    print(f"{name:<36} {len(idx):>5,} tunes, {sum(len(token_lists[i]) - 1 for i in idx):>7,} tokens to predict")

# %% [markdown]
# The **vocabulary** is built from the training tunes only: a model must not know which notes the validation tunes
# contain. A token seen fewer than twice there gets no id of its own and becomes `<unk>` ("some rare note"), and so does
# any token of a validation tune that training never had; every model scores `<unk>` like any other token.
# `vocab.encode` turns tokens into integer ids, the input of the Embedding layer; id 0 is reserved for padding.

# %% tags=["nbval-check-output"]
vocab = music.NoteVocabulary([token_lists[i] for i in fit_idx])
ids = [vocab.encode(t) for t in token_lists]
fit_ids, hold_ids, val_ids = ([ids[i] for i in idx] for idx in (fit_idx, hold_idx, val_idx))
print("the lullaby in C, as tokens:", " ".join(token_lists[tunes.index(lullaby)][:12]), "…")
print(f"vocabulary: {len(vocab)} tokens (including <pad>, <s>, </s> and <unk>)")
print("the 12 most common:", ", ".join(f"{t} ({vocab.counts[t]:,})" for t in vocab.tokens[4:16]))
unknown = sum(i == vocab.index[music.UNK] for tune in val_ids for i in tune)
print(f"<unk> in the validation tunes: {unknown} of their {sum(len(t) - 1 for t in val_ids):,} tokens to predict")

# %% [markdown]
# A few tokens are played thousands of times (the twelve printed are quarter and eighth notes of the C-major scale);
# a long tail of rare durations and high or low notes appears only a handful of times. A model has to give each of
# them *some* probability.

# %% [markdown]
# ## 3 · Baselines: n-gram models
#
# Before any neural network, the simplest language models: an **n-gram** model predicts the next token from the
# previous $n-1$ tokens only, by counting. A **unigram** ignores the past (it knows only how common each token is), a
# **bigram** looks at one previous token, a **trigram** at two, and so on.
#
# Counting alone gives probability 0 to any sequence never seen in training, and one zero on the validation set makes
# the likelihood 0. **Interpolated Kneser–Ney smoothing** (the standard fix) subtracts a small discount $D = 0.75$
# from every count and hands the freed probability to the shorter context:
#
# $$P(w \mid u, v) = \frac{\max(c(u,v,w) - D,\, 0)}{c(u,v)} + \frac{D \cdot N_{1+}(u,v,\cdot)}{c(u,v)}\, P(w \mid v)$$
#
# where $c(\cdot)$ counts occurrences in the training tunes and $N_{1+}(u,v,\cdot)$ is the number of different tokens
# seen after $(u, v)$. The shorter contexts count *in how many contexts* a token appears, and the shortest is mixed
# with a uniform distribution, so every token keeps some probability.
#
# We score every model by the **negative log-likelihood (NLL) per token**: the average of
# $-\ln P(\text{actual next token})$, in nats. Lower is better; $e^{\text{NLL}}$ (the *perplexity*) is the number of
# equally likely tokens the model is, on average, as unsure as. Guessing uniformly among all tokens would score
# $\ln(|V|)$, with $|V|$ the number of tokens in the vocabulary.
#
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


# %% [markdown]
# How long a context should the n-gram use? That is a choice, so it is made on the **hold-out** tunes: one fit counts
# every context up to 7 previous tokens, and `with_order(n)` gives the n-gram of each order from those counts.

# %% tags=["nbval-check-output"]
started = time.perf_counter()
MAX_ORDER = 8
counted = music.KneserNey(MAX_ORDER, len(vocab)).fit(fit_ids)
hold_nll = {order: counted.with_order(order).nll(hold_ids) for order in range(1, MAX_ORDER + 1)}
best_order = min(hold_nll, key=hold_nll.get)
print("hold-out NLL by order:", ", ".join(f"{order}: {nll:.3f}" for order, nll in hold_nll.items()))
print("saved by each extra token of context:", ", ".join(f"{hold_nll[k] - hold_nll[k + 1]:.3f}"
                                                          for k in range(1, MAX_ORDER)), "nats/token")
print(f"best on the hold-out tunes: order {best_order}")
ngrams = {"unigram": counted.with_order(1), "bigram": counted.with_order(2), "trigram": counted.with_order(3),
          "4-gram": counted.with_order(4), f"{best_order}-gram (best)": counted.with_order(best_order)}
ngram_token_nlls = {name: model.token_nlls(val_ids) for name, model in ngrams.items()}  # one array per tune
results = {"uniform guess": np.log(len(vocab))}
results |= {f"{name} (Kneser–Ney)": np.concatenate(nlls).mean() for name, nlls in ngram_token_nlls.items()}
for name, nll in results.items():
    print(f"{name:<26} {nll:.3f} nats/token on the validation tunes   perplexity {np.exp(nll):6.1f}")
best_ngram = ngrams[f"{best_order}-gram (best)"]
target = results[f"{best_order}-gram (best) (Kneser–Ney)"]
print(f"the target of Exercise 3: a validation NLL below {target:.3f} nats/token")
print(f"({time.perf_counter() - started:.0f} s to count, choose and score)")

# %% [markdown]
# Each extra token of context helps, first a lot (unigram to bigram), then less and less: by the eighth token it saves
# only a few thousandths of a nat, because long contexts are seen too rarely to count reliably. (We stop the search at order 8.)
# That long contexts help at all says something about folk songs: they share whole phrases, within a tune and across
# tunes. The best n-gram, chosen on the hold-out tunes, is the **target** your LSTM must beat in Exercise 3 (printed
# above).

# %% [markdown]
# ## 4 · The LSTM language model
#
# The model reads one token id per step:
#
# * an **Embedding** turns each id into a vector of `embed_dim` numbers, learned so that similar notes get similar
#   vectors (`mask_zero=True` marks id 0 as padding, so that the layers and the loss skip it);
# * an **LSTM** with `units` memory cells reads those vectors one step at a time; at every step its short-term memory
#   $h_t$ sums up the tune so far (`return_sequences=True`: one output per step);
# * a **Dense** layer turns each $h_t$ into one score (a *logit*) per token of the vocabulary; the softmax of the
#   logits is the model's probability for the next token.
#
# Training minimises the **cross-entropy** between those probabilities and the actual next token: exactly the NLL
# per token of section 3, so the numbers can be compared directly. Tunes have different lengths, so each batch is
# padded with id 0 on the right; the loss must ignore those positions (`ignore_class=0`).
#
# ### Exercise 2 · build the melody LSTM
#
# Write `build_melody_lstm(vocab_size, embed_dim=64, units=256, dropout=0.1, learning_rate=2e-3)`: a
# `keras.Sequential` model that reads `(batch, time)` token ids and gives `(batch, time, vocab_size)` logits, with
#
# * `keras.Input(shape=(None,), dtype="int32")` (tunes of any length);
# * an Embedding of `vocab_size` tokens into `embed_dim` numbers, masking id 0;
# * an LSTM of `units` cells, one output per step, with `dropout` on its inputs;
# * a Dense layer of `vocab_size` logits (no activation: the loss applies the softmax);
#
# compiled with Adam at `learning_rate` (add `clipnorm=1.0`, which keeps one unlucky batch from throwing the weights
# far) and a sparse categorical cross-entropy *from logits* that ignores id 0. The check builds small versions with its
# own sizes, gives them random weights and compares their outputs, parameter count and loss with what it computes
# itself.

# %%
def build_melody_lstm(vocab_size, embed_dim=64, units=256, dropout=0.1, learning_rate=2e-3):
    """Embedding → LSTM (one output per step) → Dense logits over the vocabulary; the loss ignores padding (id 0)."""
    ### BEGIN SOLUTION
    model = keras.Sequential([
        keras.Input(shape=(None,), dtype="int32"),
        keras.layers.Embedding(vocab_size, embed_dim, mask_zero=True),
        keras.layers.LSTM(units, return_sequences=True, dropout=dropout),
        keras.layers.Dense(vocab_size),
    ])
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0), loss=loss)
    return model
    ### END SOLUTION


# %%
built = check_build_melody_lstm(build_melody_lstm)
build_model = use_reference_if_needed(build_melody_lstm, built, check_build_melody_lstm)

# %% [markdown]
# At the default sizes (those of the shipped model), where do the parameters sit?

# %% tags=["nbval-check-output"]
sized = build_model(len(vocab))
for layer in sized.layers:
    print(f"{type(layer).__name__:<10} output shape {str(tuple(layer.output.shape)):<16} "
          f"{layer.count_params():>8,} parameters")
print(f"{'total':<38} {sized.count_params():>8,} parameters")
d, u = sized.layers[0].output_dim, sized.layers[1].units
print(f"LSTM: 4 gates x units x (inputs + units + 1) = 4 x {u} x ({d} + {u} + 1) = {4 * u * (d + u + 1):,}")

# %% [markdown]
# ### Exercise 3 · train it to beat the n-grams
#
# Write `train_melody_lstm(model, train_ids, hold_ids, epochs, batch_size=64)`: train a compiled model on the training
# tunes for at most `epochs` epochs, measure its loss on the hold-out tunes after every epoch, **stop** when that loss
# has not improved for two epochs, keep the weights of the **best** epoch, and return the `History` that `fit` gives.
# `music.tune_batches(tunes, batch_size)` makes the batches: each pairs the inputs `tokens[:-1]` with the targets
# `tokens[1:]` (the token *after* each input), groups tunes of similar length so that little time goes into padding,
# and shuffles the batches every epoch. The check trains tiny models with your function on made-up tunes, where it
# knows what must happen.
#
# **The target.** Your trained model must predict the validation tunes with a lower NLL per token than the best n-gram
# (printed in section 3). After your homework run below, the check measures it on validation tunes it draws itself,
# computes the NLL from your model's probabilities, and checks that no prediction looks ahead at later notes.
#
# **The CPU budget.** The homework run below trains from scratch. The shipped model's size (256 cells) learns too
# slowly for a homework run; the course's measurements (the table below Exercise 3's check, made by
# `python -m tools.music_data homework`, three starts) show how far a smaller plan, 128 cells, 48-number embeddings,
# Adam at 0.005, batches of 32, gets after each epoch, and how much computing an epoch costs. Budget **at most 15
# minutes** of training on a laptop; choose your plan (sizes, learning rate, epochs) in the cell below, and say in one
# sentence why.

# %%
def train_melody_lstm(model, train_ids, hold_ids, epochs, batch_size=64):
    """Fit `model` on the training tunes, keep the epoch with the lowest hold-out loss; return the History."""
    ### BEGIN SOLUTION
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    return model.fit(music.tune_batches(train_ids, batch_size), validation_data=music.tune_batches(hold_ids, 256),
                     epochs=epochs, callbacks=[stop], verbose=0)
    ### END SOLUTION


# %%
trains = check_train_melody_lstm(train_melody_lstm)
train_model = use_reference_if_needed(train_melody_lstm, trains, check_train_melody_lstm)

# %% [markdown]
# What the plan buys, measured by the course's tool (three starts of the plan in the cell below, from scratch: the
# validation NLL after each epoch), and what an epoch costs. CPU seconds count the work of both cores: on a free
# two-core laptop an epoch takes less wall-clock time than that, so the plan's 10 epochs fit the budget several times
# over.

# %% tags=["nbval-check-output"]
plan_runs = music.homework_runs()
print(plan_runs.pivot_table(index="epoch", columns="start", values="validation NLL").round(3).to_string())
cpu = plan_runs["CPU seconds"]
print(f"CPU seconds per epoch: {cpu.median():.0f} (median; {cpu.min():.0f} … {cpu.max():.0f}); "
      f"{plan_runs.groupby('start')['CPU seconds'].sum().median():.0f} for all {plan_runs['epoch'].max()} epochs")
first_below = plan_runs[plan_runs["validation NLL"] < target].groupby("start")["epoch"].min()
print(f"first epoch below the target ({target:.3f}):", ", ".join(f"start {s}: epoch {e}" for s, e in
                                                                  first_below.items()))

# %% [markdown]
# **Your homework run.** The cell below builds your model with your `build_melody_lstm`, and trains it from scratch
# with your `train_melody_lstm`, on the training tunes, choosing the epoch on the hold-out tunes. It runs only when
# both exercises passed their checks (until then the shipped model stands in, so that the rest of the notebook runs).
# In the **instructor's version** of this notebook, and in class, the run starts instead from the shipped weights and
# takes 10 small steps (a small learning rate, part of the training tunes): a pre-trained start, so that the notebook
# fits a lecture; the table below names that row for what it is.

# %% tags=["nbval-ignore-output"]
plan = {"embed_dim": 48, "units": 128, "learning_rate": 0.005}  # your plan: sizes and learning rate
epochs, batch_size, start, train_part = 10, 32, None, fit_ids   # from scratch, all the training tunes
my_label = "LSTM, your run (from scratch)"
shipped_lstm = music.build_melody_lstm(len(vocab), compile=False)  # the shipped model, for reference
shipped_lstm.load_weights(music.WEIGHTS)
### BEGIN INSTRUCTOR ONLY
plan, epochs, batch_size, start, train_part = {"learning_rate": 1e-4}, 1, 64, shipped_lstm, fit_ids[:640]
my_label = "LSTM, the instructor's run (the shipped weights, then 10 small steps)"
### END INSTRUCTOR ONLY
course.reseed(3)  # the same start, whatever the exercises above drew from the random generators
started = time.perf_counter()
if built and trains:  # your functions passed their checks: your run
    my_lstm = build_melody_lstm(len(vocab), **plan)
    if start is not None:  # a pre-trained start: the shipped weights
        my_lstm.set_weights(start.get_weights())
    history = train_melody_lstm(my_lstm, train_part, hold_ids, epochs, batch_size)
    ran = len(history.history["loss"])
    print(f"{my_lstm.count_params():,} parameters; {ran} epoch{'s' if ran != 1 else ''} in "
          f"{time.perf_counter() - started:.0f} s; hold-out loss per epoch:",
          ", ".join(f"{v:.3f}" for v in history.history["val_loss"]))
else:  # not done yet: the shipped model stands in
    my_lstm, my_label = shipped_lstm, "LSTM, your run (not made yet: the shipped weights stand in)"
    print("Exercises 2 and 3 are not done yet: the shipped model stands in for yours.")

# %% [markdown]
# Now the check of Exercise 3 once more, with the model your run trained: its training function again (on fresh
# made-up tunes), then the target.

# %%
trains = check_train_melody_lstm(train_melody_lstm, model=my_lstm)

# %% [markdown]
# ### The shipped model, and where an LSTM gains
#
# `python -m tools.music_data train` trained the model at the default sizes (printed above) with the reference answer
# of Exercise 3, in two runs: 20 epochs at Adam's constant learning rate 0.002, then (`train --resume`) 6 more while
# the rate falls to 0 along a cosine, so that ever smaller steps let the weights settle. Both runs kept the epoch with
# the lowest loss on the hold-out tunes; the weights are in `data/music_lstm.weights.h5` (details in
# `data/README.md`). It never saw the validation tunes. The table compares every model on the same validation tokens;
# the interval under it resamples the validation tunes (a *paired bootstrap*: each resample scores both models on the
# same tunes), to show how much the gap could move with other tunes.

# %% tags=["nbval-ignore-output"]
shipped_token_nlls = music.lstm_token_nlls(shipped_lstm, val_ids)  # one array per tune, as for the n-grams
my_token_nlls = music.lstm_token_nlls(my_lstm, val_ids)
results[my_label] = np.concatenate(my_token_nlls).mean()
results["LSTM, shipped weights"] = np.concatenate(shipped_token_nlls).mean()
table = pd.DataFrame({"validation NLL (nats/token)": results})
table["perplexity"] = np.exp(table.iloc[:, 0])
table[f"vs the {best_order}-gram"] = [f"{100 * (v / target - 1):+.1f}%" for v in table.iloc[:, 0]]
print(table.round(3).to_string())

# %% tags=["nbval-check-output"]
tune_lengths = np.array([len(t) for t in shipped_token_nlls])
shipped_sums, ngram_sums = (np.array([x.sum() for x in per_tune]) for per_tune in
                            (shipped_token_nlls, ngram_token_nlls[f"{best_order}-gram (best)"]))


def per_token_gap(idx):
    """The best n-gram's NLL per token minus the shipped LSTM's, over the validation tunes ``idx`` (a resample)."""
    return (ngram_sums[idx].sum() - shipped_sums[idx].sum()) / tune_lengths[idx].sum()


gap = course.paired_bootstrap(per_token_gap, len(val_ids), units="validation tunes")
_ = course.claim_interval("the shipped LSTM predicts the validation tunes with an NLL per token more than 0.1 nats "
                          "below the best n-gram's", gap, above=0.1)

# %% [markdown]
# That is one trained model, measured on 598 validation tunes; the interval says how far the gap could move with
# other tunes of the same kind, not with another training run. (The table's first rows are the n-grams of section 3;
# your run's row says which model it is.)
#
# **Where does the LSTM gain?** The n-gram sees at most its last few tokens; the LSTM has read the whole tune so far.
# If its advantage came only from that memory, an LSTM that may read only the last few tokens should lose all of it.
# So we cut its context: to predict each token, the shipped LSTM reads only `<s>` and the 7 tokens before it, the
# context of the best n-gram (`music.context_cut_token_nlls`). Below, the mean NLL by position in the tune, for the
# best n-gram, the LSTM with its context cut, and the full LSTM.

# %% tags=["nbval-ignore-output"]
keep = best_order - 1  # the tokens of context the best n-gram reads
cut_token_nlls = music.context_cut_token_nlls(shipped_lstm, val_ids, keep)
bins = np.array([0, 4, 8, 16, 32, 64, 1000])
labels = ["1–4", "5–8", "9–16", "17–32", "33–64", "65+"]
by_position = {}
fig, ax = plt.subplots()
for name, per_token in ((f"{best_order}-gram", ngram_token_nlls[f"{best_order}-gram (best)"]),
                        (f"LSTM reading only the last {keep} tokens", cut_token_nlls),
                        ("LSTM (shipped)", shipped_token_nlls)):
    positions = np.concatenate([np.arange(len(x)) for x in per_token])
    which = np.digitize(positions, bins) - 1
    values = np.concatenate(per_token)
    by_position[name] = [values[which == b].mean() for b in range(len(labels))]
    ax.plot(labels, by_position[name], marker="o", label=name)
ax.set_title("Validation NLL by position in the tune")
ax.set_xlabel("position of the predicted token in its tune")
ax.set_ylabel("mean NLL (nats/token)")
ax.legend()
plots.show(fig, alt="Line chart of the mean validation NLL per token, in nats, by the position of the predicted token "
                    f"in its tune ({', '.join(labels)}), for the best n-gram (order {best_order}), the shipped LSTM "
                    f"reading only the last {keep} tokens, and the full shipped LSTM. The printed table below the "
                    "chart gives the values.")

# %% tags=["nbval-ignore-output"]
print(pd.DataFrame(by_position, index=pd.Index(labels, name="position")).T.round(3).to_string())
mean_nll = {name: np.concatenate(per_token).mean() for name, per_token in
            (("n-gram", ngram_token_nlls[f"{best_order}-gram (best)"]), ("cut", cut_token_nlls),
             ("full", shipped_token_nlls))}
lost = (mean_nll["cut"] - mean_nll["full"]) / (mean_nll["n-gram"] - mean_nll["full"])
print(f"of the shipped LSTM's gain over the {best_order}-gram ({mean_nll['n-gram'] - mean_nll['full']:.3f} "
      f"nats/token), {lost:.0%} is lost when its context is cut to {keep} tokens")

# %% tags=["nbval-check-output"]
cut_sums = np.array([x.sum() for x in cut_token_nlls])
memory = course.paired_bootstrap(lambda idx: (cut_sums[idx].sum() - shipped_sums[idx].sum()) / tune_lengths[idx].sum(),
                                 len(val_ids), units="validation tunes")
_ = course.claim_interval(f"cutting the shipped LSTM's context to {keep} tokens raises its NLL per token",
                          memory, above=0)
short = course.paired_bootstrap(lambda idx: (ngram_sums[idx].sum() - cut_sums[idx].sum()) / tune_lengths[idx].sum(),
                                len(val_ids), units="validation tunes")
_ = course.claim_interval(f"with the same {keep} tokens of context, the LSTM still predicts better than the "
                          f"{best_order}-gram", short, above=0)

# %% [markdown]
# So the LSTM's advantage has two parts. Some of it comes from **memory**: with its context cut to the n-gram's, the
# LSTM loses part of its gain, and only later in a tune, where the cut removes something. But with the same short
# context it still predicts better than the n-gram, from the first notes on: it **generalises** better from what it
# saw, because notes that behave alike get similar embeddings and its predictions share what is learned about them,
# where an n-gram treats every context as a separate count. The printed share says how the gain divides in this model.

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
# The loop only needs a *stepper*: an object with `start()`, the empty memory, and `step(token_id, state)`, which reads
# one token and returns the logits of the next one and the new memory. `music.LSTMStepper` copies the trained weights
# into the NumPy LSTM cell of notebook 04 (`utils.lstm.lstm_cell_step`) and carries the memories $h_t$ and $C_t$ from
# step to step, instead of asking Keras to re-read the whole tune for every new note; a fitted `music.KneserNey`
# is a stepper too (its memory is its last few tokens), so the same loop composes with either.
#
# ### Exercise 4 · the generation loop
#
# Write two functions.
#
# * `sample_with_temperature(logits, temperature, rng)`: return **one index** (an `int`) drawn from the probabilities
#   above, with the NumPy random generator `rng` (so that a seed reproduces a composition). Large logits must not
#   overflow.
# * `compose(stepper, vocab, seed, temperature, rng, sampler, max_notes=120)`: continue the seed phrase (a list of
#   tokens that starts with `"<s>"`). Start the memory once, read every token of the seed, then repeat: never allow
#   `<pad>`, `<s>` or `<unk>` (give them the logit $-\infty$), draw a token with `sampler(logits, temperature, rng)`,
#   append it, stop if it is `</s>` or after `max_notes` new tokens, else feed it to the stepper. Return the tokens:
#   the seed, then the new ones (with the `</s>` if the model ended the tune). Do not change the list `seed`.
#
# The check draws from your sampler thousands of times and compares the shares with the softmax; it runs your loop with
# a scripted stand-in for a model that remembers everything it reads, so it can tell which token your loop must produce
# at every step.

# %%
def sample_with_temperature(logits, temperature, rng):
    """logits: (vocab,) scores; returns an int index drawn from softmax(logits / temperature)."""
    ### BEGIN SOLUTION
    z = np.asarray(logits, dtype=float) / temperature
    p = np.exp(z - z.max())
    p /= p.sum()
    return int(rng.choice(len(p), p=p))
    ### END SOLUTION


def compose(stepper, vocab, seed, temperature, rng, sampler, max_notes=120):
    """Continue the seed phrase until the stepper's model picks "</s>" or after max_notes new tokens; the tokens."""
    ### BEGIN SOLUTION
    banned = [vocab.index["<pad>"], vocab.index["<s>"], vocab.index["<unk>"]]
    ids, state = vocab.encode(seed), stepper.start()
    for token in ids:  # read the seed phrase
        logits, state = stepper.step(token, state)
    for _ in range(max_notes):
        logits = np.array(logits, dtype=float)
        logits[banned] = -np.inf
        ids.append(int(sampler(logits, temperature, rng)))
        if ids[-1] == vocab.index["</s>"]:  # the model ends the tune
            break
        logits, state = stepper.step(ids[-1], state)
    return vocab.decode(ids)
    ### END SOLUTION


# %%
loop_ok = check_generation_loop(sample_with_temperature, compose=compose)
sample_with_temperature = use_reference_if_needed(sample_with_temperature, loop_ok, check_generation_loop)
compose = use_reference_if_needed(compose, loop_ok, check_generation_loop)

# %% [markdown]
# What does the temperature do to a choice? Here is the shipped model's distribution for the token after the first four
# notes of a validation tune, at three temperatures (the 10 likeliest tokens).

# %% tags=["nbval-ignore-output"]
seed_phrase = token_lists[val_idx[0]][:5]
logits = np.asarray(shipped_lstm(music.pad_batch([vocab.encode(seed_phrase)]), training=False))[0, -1]
top = np.argsort(logits)[::-1][:10]
fig, ax = plt.subplots()
for k, temperature in enumerate((0.5, 1.0, 2.0)):
    ax.bar(np.arange(10) + (k - 1) * 0.27, music.softmax(logits, temperature)[top], width=0.27,
           label=f"T = {temperature}")
ax.set_xticks(np.arange(10), vocab.decode(top), rotation=45, ha="right")
ax.set_title(f"Next-token probabilities after {' '.join(seed_phrase[1:])}")
ax.set_xlabel("next token (pitch:duration)")
ax.set_ylabel("probability")
ax.legend()
plots.show(fig, alt="Grouped bar chart of the shipped model's probabilities for the 10 likeliest next tokens after "
                    f"{' '.join(seed_phrase[1:])}, at temperatures 0.5, 1 and 2. T = 0.5 gives the likeliest token an "
                    "even larger share while T = 2 levels the bars, so the rarer tokens gain.")

# %% [markdown]
# $T = 0.5$ gives the likeliest token an even larger share and $T = 2$ levels the bars: halving $T$ squares the ratio
# of any two probabilities, doubling it takes the square root.
#
# Now compose: from the first four notes of a validation tune, one tune by the shipped LSTM at $T = 0.8$ and one by
# the best n-gram at $T = 1$ (its own probabilities), with your loop. Each is written as a MIDI file in
# `music.OUTPUT_DIR`, the course's folder for your files (never the repository, which may be read-only); open them in
# any music program.

# %% tags=["nbval-ignore-output"]
lstm_stepper = music.LSTMStepper(shipped_lstm)
example = val_idx[int(np.random.default_rng(course.seed(1)).integers(len(val_idx)))]
seed_phrase = token_lists[example][:5]
started = time.perf_counter()
duet = {"LSTM (T = 0.8)": compose(lstm_stepper, vocab, seed_phrase, 0.8, np.random.default_rng(course.seed(2)),
                                  sample_with_temperature),
        f"{best_order}-gram (T = 1)": compose(best_ngram, vocab, seed_phrase, 1.0,
                                              np.random.default_rng(course.seed(2)), sample_with_temperature)}
print(f"2 tunes composed in {time.perf_counter() - started:.2f} s, from the first notes of "
      f"'{tunes[example]['title']}' ({tunes[example]['essen_id']}): {' '.join(seed_phrase[1:])}")
duet_notes = {name: music.tokens_to_notes(t) for name, t in duet.items()}
for k, (name, tokens) in enumerate(duet.items()):
    path = music.notes_to_midi(duet_notes[name], music.OUTPUT_DIR / f"tune_{k + 1}.mid")
    ended = "ends with </s>" if tokens[-1] == music.EOS else "cut at the length limit"
    print(f"{path.name}: {name}, {len(duet_notes[name])} notes, {ended}")

# %% [markdown]
# The piano roll draws each note as a bar: its height is the pitch, its length the duration. The seed is orange and a
# dashed line marks where it ends; the rest is the model's. At the bottom, the real tune the seed came from.

# %% tags=["nbval-ignore-output"]
rolls = [*duet_notes.values(), in_c[example]]
quarters = [sum(float(duration) for _, duration in notes) for notes in rolls]
fig = music.plot_piano_roll(rolls, [*duet, f"the real tune: '{tunes[example]['title']}'"],
                            max_quarters=max(quarters), seed_notes=4)  # wide enough for the longest: no note cut off
plots.show(fig, alt="Three piano rolls, pitch against time in quarter notes on a shared axis, one bar per note, every "
                    "note of C major labelled on the pitch axis, the four seed notes in orange and a dashed line "
                    f"where they end: the shipped LSTM's tune at T = 0.8 ({len(rolls[0])} notes over "
                    f"{quarters[0]:.0f} quarters), the best n-gram's tune ({len(rolls[1])} notes over "
                    f"{quarters[1]:.0f} quarters), and the real tune '{tunes[example]['title']}' ({len(rolls[2])} "
                    f"notes over {quarters[2]:.0f} quarters) whose first four notes are the seed.")

# %% [markdown]
# Compare the rolls: does each model's tune move in small steps like the real one, repeat figures, end on its home
# note? Section 6 measures such things over many tunes. And listen to the two side by side (the first 12 seconds):

# %% tags=["nbval-ignore-output"]
lstm_tune, ngram_tune = duet_notes  # the two names, as in the piano rolls
print(lstm_tune)
plots.show(music.audio_player(duet_notes[lstm_tune], bpm=100), alt=f"Audio player: the {lstm_tune} tune of the piano "
                                                                  f"rolls above, {len(duet_notes[lstm_tune])} notes "
                                                                  "and rests played by the course's NumPy synthesizer "
                                                                  "at 100 beats per minute, at most its first 12 "
                                                                  "seconds.")

# %% tags=["nbval-ignore-output"]
print(ngram_tune)
plots.show(music.audio_player(duet_notes[ngram_tune], bpm=100), alt=f"Audio player: the {ngram_tune} tune of the "
                                                                   f"piano rolls above, {len(duet_notes[ngram_tune])} "
                                                                   "notes and rests played by the course's NumPy "
                                                                   "synthesizer at 100 beats per minute, at most its "
                                                                   "first 12 seconds.")

# %% [markdown]
# ## 6 · Judging the tunes with numbers
#
# Ears are the final judge, but numbers catch problems quickly. We draw 300 validation tunes at random (from every
# collection) and continue the first four notes of each with the shipped LSTM at two temperatures and with the best
# n-gram at $T = 1$. Each composed tune is compared with **the real tune it continues**, tune by tune: the real tunes
# are the reference row, and every difference comes with a paired bootstrap interval over the 300 tunes. We measure
#
# * **notes per tune** (seed included), and how many tunes `compose` had to cut at its limit of 120 new tokens;
# * **notes on C D E F G A B**: the share of notes the signature allows (real tunes have a few others, as passing
#   notes);
# * **range**: highest minus lowest pitch, in semitones (12 = one octave);
# * **ending on C**: the home note of the signature's major key (section 2: most real tunes end there);
# * **last note**: how long the final note is held, in quarter notes (a tune closes on a long note);
# * **pitch-class distance** to the real tunes: how often each of the 12 note names is played (weighted by
#   duration), compared by the total-variation distance (0 = the same mix of notes, 1 = no overlap).

# %% tags=["nbval-ignore-output"]
started = time.perf_counter()
N_JUDGED = 300
judged = np.sort(np.random.default_rng(course.seed(3)).choice(val_idx, size=N_JUDGED, replace=False))
sources = {"LSTM, T = 0.8": (lstm_stepper, 0.8), "LSTM, T = 1": (lstm_stepper, 1.0),
           f"{best_order}-gram, T = 1": (best_ngram, 1.0)}
composed = {name: [compose(stepper, vocab, token_lists[i][:5], temperature, np.random.default_rng(course.seed(10 + k)),
                           sample_with_temperature) for k, i in enumerate(judged)]
            for name, (stepper, temperature) in sources.items()}  # one generator per seed tune: sources differ only by model
tune_notes = {"real tunes": [in_c[i] for i in judged]}
tune_notes |= {name: [music.tokens_to_notes(t) for t in tokens] for name, tokens in composed.items()}
measures = {name: music.tune_measures(notes) for name, notes in tune_notes.items()}
played = {name: np.array([music.pitch_class_histogram([n]) * sum(float(d) for p, d in n if p is not None)
                          for n in notes]) for name, notes in tune_notes.items()}  # time per note name, per tune


def mix_distance(name, idx):
    """Total-variation distance between the note-name mix of ``name``'s tunes ``idx`` and the real tunes' ``idx``."""
    mix, real_mix = played[name][idx].sum(axis=0), played["real tunes"][idx].sum(axis=0)
    return music.histogram_distance(mix / mix.sum(), real_mix / real_mix.sum())


stats = pd.DataFrame({name: {key: np.nanmean(values) for key, values in m.items()} for name, m in measures.items()}).T
stats["cut at the limit (%)"] = [0.0] + [100 * np.mean([t[-1] != music.EOS for t in composed[name]])
                                         for name in composed]
stats["pitch-class distance"] = [mix_distance(name, np.arange(N_JUDGED)) for name in tune_notes]
print(stats.round(2).to_string())
print(f"({time.perf_counter() - started:.0f} s to compose and measure)")

# %% [markdown]
# Each composed row minus the real tunes, with its 95% interval over the 300 tunes. A difference is backed only when
# its interval leaves out 0; an interval that contains 0 says that 300 tunes cannot tell the two apart.

# %% tags=["nbval-ignore-output"]
real = measures["real tunes"]
intervals = {}
for name in composed:
    for key in music.MEASURES:
        diff = measures[name][key] - real[key]
        intervals[name, key] = course.paired_bootstrap(diff[~np.isnan(diff)], units="tunes", fmt="+.2f")
        print(f"{name + ': ' + key:<44} {intervals[name, key]}")
cool, own, counted_row = "LSTM, T = 0.8", "LSTM, T = 1", f"{best_order}-gram, T = 1"
mix_gap = course.paired_bootstrap(lambda idx: mix_distance(counted_row, idx) - mix_distance(own, idx), N_JUDGED,
                                  units="tunes")
print(f"pitch-class distance, the {best_order}-gram's minus the LSTM's at T = 1: {mix_gap}")
narrower = course.paired_bootstrap(measures[cool]["range (semitones)"] - measures[own]["range (semitones)"],
                                   units="tunes", fmt="+.2f")
print(f"range at T = 0.8 minus range at T = 1: {narrower}")

# %% tags=["nbval-check-output"]
_ = course.claim_interval("at T = 1 the LSTM's share of notes on C D E F G A B is within 3 points of the real tunes'",
                          intervals[own, "notes on C D E F G A B (%)"], within=3)
_ = course.claim_interval("at T = 1 its range is within 2 semitones of the real tunes'",
                          intervals[own, "range (semitones)"], within=2)
_ = course.claim_interval(f"the {best_order}-gram's range is more than 2 semitones wider than the real tunes'",
                          intervals[counted_row, "range (semitones)"], above=2)
_ = course.claim_interval("lowering T from 1 to 0.8 narrows the LSTM's range", narrower, below=0)
_ = course.claim_interval("and at T = 0.8 its tunes are shorter than the tunes they continue",
                          intervals[cool, "notes per tune"], below=0)

# %% [markdown]
# Against the tunes they continue, tune by tune:
#
# * **Notes and range.** At $T = 1$, the model's own probabilities, the LSTM keeps to the signature's notes as the real
#   tunes do, within a realistic range. The n-gram wanders much wider: once its last seven tokens match no phrase it
#   has counted, nothing holds it near where the tune began.
# * **Temperature.** At $T = 0.8$ the sharpened probabilities favour the commonest moves: a narrower range than at
#   $T = 1$, and tunes that end sooner than the real ones.
# * **The rest** (length at $T = 1$, endings on C, the last note, the mix of note names): read the intervals. Where one
#   contains 0, 300 tunes cannot tell the model from the real tunes; another draw of tunes, or another run of the
#   model's dice, moves those numbers by a few points either way. The shipped LSTM is one trained model: these are
#   its numbers, not those of every LSTM.

# %% [markdown]
# ## 7 · Copying or composing? (optional)
#
# A model that only stitches together long pieces of its training tunes is copying, not composing. A simple measure:
# for each composed tune, the longest run of consecutive tokens that also appears, consecutively, in some training
# tune. Real tunes share phrases too, so the yardstick is the real continuation of the same seed.
#
# ### Exercise 5 · copying or composing?
#
# Write `longest_shared_runs(tunes, training_tunes)`: for each tune of `tunes` (lists of tokens), the length of the
# longest run of its consecutive tokens that appears, consecutively, inside one of `training_tunes` (lists of tokens);
# a list with one length per tune. A run may start anywhere in either tune, but it never spans the end of one training
# tune and the start of the next. The notebook calls it for a few hundred tunes against the 5,112 training tunes at
# once: aim for a few seconds in all.

# %%
def longest_shared_runs(tunes, training_tunes):
    """For each tune, the length of its longest run found, consecutively, inside one of `training_tunes`."""
    ### BEGIN SOLUTION
    alphabet = {}

    def letters(tokens):  # one character per token: a run of tokens is then a substring
        return "".join(alphabet.setdefault(t, chr(0x100 + len(alphabet))) for t in tokens)

    text = "\n".join(letters(t) for t in training_tunes)  # "\n" is no token's character: runs stop at tune ends
    lengths = []
    for tune in tunes:
        word, best, end = letters(tune), 0, 0
        for begin in range(len(word)):  # a run found stays found without its first token: `end` never moves back
            end = max(end, begin)
            while end < len(word) and word[begin:end + 1] in text:
                end += 1
            best = max(best, end - begin)
        lengths.append(best)
    return lengths
    ### END SOLUTION


# %%
copies_ok = check_longest_shared_runs(longest_shared_runs)
longest_shared_runs = use_reference_if_needed(longest_shared_runs, copies_ok, check_longest_shared_runs)

# %% [markdown]
# Now for 100 of the judged tunes, the new tokens only (the seed is the same in all four rows):

# %% tags=["nbval-ignore-output"]
started = time.perf_counter()
training_tokens = [token_lists[i] for i in fit_idx]
copied = {"real tunes": longest_shared_runs([token_lists[i][5:] for i in judged[:100]], training_tokens)}
copied |= {name: longest_shared_runs([tokens[5:] for tokens in composed[name][:100]], training_tokens)
           for name in composed}
print(pd.DataFrame(copied).describe().loc[["mean", "50%", "max"]].round(1).to_string())
runs = {name: np.array(values) for name, values in copied.items()}
for name in composed:
    print(f"{name}: longest shared run minus the real tune's, "
          f"{course.paired_bootstrap(runs[name] - runs['real tunes'], units='tunes', fmt='+.1f')}")
print(f"({time.perf_counter() - started:.0f} s)")

# %% tags=["nbval-check-output"]
copy_gap = course.paired_bootstrap(runs[counted_row] - runs[own], units="tunes", fmt="+.1f")
_ = course.claim_interval(f"the {best_order}-gram copies longer runs of its training tunes than the LSTM at T = 1",
                          copy_gap, above=0)
_ = course.claim_interval("and longer than the real continuations share with them",
                          course.paired_bootstrap(runs[counted_row] - runs["real tunes"], units="tunes", fmt="+.1f"),
                          above=0)
_ = course.claim_interval("the LSTM's runs at T = 1 are shorter than the real continuations'",
                          course.paired_bootstrap(runs[own] - runs["real tunes"], units="tunes", fmt="+.1f"), below=0)

# %% [markdown]
# The n-gram copies: with seven tokens of context, once it is inside a phrase it has counted, it can only go on as that
# phrase went, so its longest borrowed runs are longer than those real tunes share with the training tunes. The LSTM
# at $T = 1$ borrows *shorter* runs than the real continuations do: it composes from what it learned rather than
# stitching long pieces together (real folk songs, for their part, share whole phrases). How its runs move with the
# temperature is homework task 1's question.

# %% [markdown]
# ## Key takeaways
#
# * Music can be treated as a language: each note becomes a *(pitch, duration)* token, each tune is wrapped in start
#   and end markers, and moving every tune to one key signature lets a model share what it learns across keys.
# * A language model is judged by its **NLL per token on held-out tunes**: tunes that are really new (whole songs and
#   their variants held out), a vocabulary from the training tunes only, choices on hold-out tunes, and baselines on
#   the same tokens, with the n-gram's order chosen like any other setting.
# * The shipped LSTM beats the best n-gram partly by **memory** and partly by **generalising** from a short context;
#   cutting its context (an ablation) tells the two apart.
# * Judge composed music against what it continues, tune by tune, with intervals, and with your ears.

# %% [markdown]
# ## Homework: open tasks (optional)
#
# Choose at least two. Each names what to hand in and how it is judged; "judged" always includes: the same tokens
# and the same budget for the models you compare, choices made on the hold-out tunes, and a difference reported with
# its paired bootstrap interval over validation tunes (`course.paired_bootstrap`), or over several training starts
# (`course.over_seeds`) when training is what differs.
#
# 1. **Copying and temperature.** *Hand in*: the table of Exercise 5 for your model at four temperatures, two below 1
#    and one above, on the same seeds, and a sentence on how the longest shared run moves with $T$. *Judged on*: runs measured on the
#    new tokens only, against the real continuations; intervals, not single numbers.
# 2. **Augment instead of transposing.** Keep the original keys and add copies of each training tune transposed by
#    −5 … +6 semitones (your `transpose`). *Hand in*: the validation NLL on the tunes moved to C, for both ways, with
#    the same model size and number of updates. *Judged on*: equal budgets; the vocabulary rebuilt from the training
#    tunes only.
# 3. **Bar lines.** Add a `|` token at each bar line (from the tune's `meter`). *Hand in*: the NLL per *note* (count
#    only note tokens, so both models are scored on the same predictions) with and without bar lines, and whether the
#    composed tunes' lengths move closer to the real ones (section 6's interval). *Judged on*: the same notes scored;
#    the interval.
# 4. **Separate pitch and duration.** Two embeddings (pitch and duration) added together, and two softmax outputs.
#    *Hand in*: the parameter count of both models and their validation NLL per note. *Judged on*: the NLL of a note
#    is the sum of its pitch's and its duration's; same budget.
# 5. **Bigger, longer, or dropout?** *Hand in*: hold-out NLL per epoch for three plans (plot), the plan you choose on
#    the hold-out tunes, and its validation NLL, from three starts each. *Judged on*: the choice made on the hold-out
#    tunes; the spread over starts printed.
# 6. **Another corpus.** Parse O'Neill's Irish tunes (`music21.corpus` folder `oneills1850`) with
#    `utils.music.parse_tune`, split by tune families, and train your model on them. *Hand in*: the n-gram and LSTM
#    table of section 4 for the Irish tunes, and two composed tunes with their piano rolls. *Judged on*: the same
#    checks as this notebook: split, vocabulary, baselines, target.
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
