# %% [markdown]
# # 06 · Neural machine translation
# <!-- summary: an LSTM encoder–decoder with teacher forcing translates English number words to French; greedy decoding; exact match vs a dictionary baseline; attention written out and built by hand, then compared with the plain model at the same size over three starts; attention heat-maps; beam search -->
# <!-- facts: 2014 (Sutskever, Vinyals and Le; Bahdanau, Cho and Bengio), 2015 (Luong, Pham and Manning), 2016 (Wu et al.); 75 (minutes of a class) -->
#
# The lecture's first application of LSTMs beyond forecasting: **translation**. A sentence in one language goes in, a
# sentence in another language comes out, and the two need not have the same length. One LSTM, the **encoder**, reads
# the English sentence and squeezes it into its final memories; a second LSTM, the **decoder**, starts from those
# memories and writes the French sentence one word at a time. This is the *sequence-to-sequence* (seq2seq) model of
# Sutskever, Vinyals and Le (2014), the design behind the first neural Google Translate.
#
# Real translation needs millions of sentence pairs and hours of GPU time. We use a small language where every
# sentence is a number, **English number words → French number words**, because French counting has real grammar that
# a word-for-word dictionary gets wrong: 71 is *soixante et onze* ("sixty and eleven"), 80 is *quatre-vingts* ("four
# twenties", with an *s*) but 81 is *quatre-vingt-un* (no *s*), 200 is *deux cents* but 201 is *deux cent un*.
#
# **Learning objectives.** After this notebook you can
#
# 1. split the data into training, validation and test numbers, and use each for its own job;
# 2. lay out the three arrays of **teacher forcing** and build an LSTM encoder–decoder with its separate
#    **inference** encoder and decoder;
# 3. write the **greedy decoding** loop (Exercise 1) and measure exact-match accuracy against a baseline;
# 4. write **attention** as equations and in NumPy (Exercise 2), and compare the model with and without it at the same
#    size over several training runs;
# 5. save a trained model and load it back; read an attention heat-map, knowing what each column holds; try
#    **beam search** (Exercise 3, optional).
#
# **Plan for a 75-minute class.** Sections 1–8 are the core path, with Exercises 1 and 2. Sections marked
# *(optional)* (heat-maps, beam search with Exercise 3) are for after class.

# %% [markdown]
# ## Setup
#
# `utils` is this course's package (the `utils/` folder): data loaders, plots, exercise checks and the code that
# several notebooks share. It comes before Keras because it keeps TensorFlow's start-up log quiet.
# `course.setup(seed=6)` seeds Python, NumPy and TensorFlow, so that a rerun gives the same numbers. A code cell that
# starts with `# Saved in utils/...` is the lesson's code, kept identical in that module because later notebooks or
# the checks use it from there.

# %%
import textwrap
import time

from utils import course, plots  # first, before Keras: see utils/__init__.py
from utils import seq2seq as s2s
from utils.checks import progress, use_reference_if_needed
from utils.checks.seq2seq import check_beam_search, check_dot_attention, check_run_decoder
from utils.seq2seq import ATTENTION_LAYER_NAMES, AttentionSeq2Seq, Seq2Seq, check_layers, check_sizes

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

course.setup(seed=6, notebook="06")  # seeds Python, NumPy and TensorFlow; deterministic ops; figure style (utils/course.py)


# %% [markdown]
# ## 1 · Make the data: training, validation and test numbers
#
# We draw three disjoint sets of numbers between 0 and 99,999, and `num2words` writes each one in English and in
# French. Each set has one job:
#
# * **training** numbers (16,000): the model learns from them;
# * **validation** numbers (2,000): every choice we make looks at these, and only these: which epoch's weights to keep,
#   which examples to show, how to read the errors;
# * **test** numbers (4,000): scored once, in the final table of section 8, after every choice is made.
#
# No number is in two sets, so a good score on the validation or test numbers means the model learned the rules of
# French counting, not a list of answers.

# %% tags=["nbval-check-output"]
MAX_NUMBER = 99_999
train_numbers, val_numbers, test_numbers = s2s.number_split(16_000, 2_000, 4_000, max_number=MAX_NUMBER,
                                                            seed=course.seed(6))
every_number = np.concatenate([train_numbers, val_numbers, test_numbers])
print(f"{len(train_numbers):,} training, {len(val_numbers):,} validation and {len(test_numbers):,} test numbers; "
      f"numbers in two sets: {len(every_number) - len(np.unique(every_number))}")
for number in [71, 80, 81, 200, 201, 21_071]:
    english, french = s2s.number_pairs([number])[0]
    print(f"{number:>6}  {english:<38} → {french}")

# %% [markdown]
# Look at the examples: French is not English with the words replaced. The same English word *one* becomes *un*,
# *et un* or nothing at all (*one hundred* → *cent*), and *seventy-one* becomes three words.
#
# Writing tens of thousands of numbers in two languages keeps `num2words` busy for a few seconds.

# %% tags=["nbval-check-output"]
train_pairs, val_pairs, test_pairs = (s2s.number_pairs(numbers) for numbers in (train_numbers, val_numbers,
                                                                                test_numbers))
print(f"{len(train_pairs):,} training pairs, the first: {train_pairs[0]}")
print(f"{len(val_pairs):,} validation pairs, the first: {val_pairs[0]}")

# %% [markdown]
# ## 2 · A baseline: a dictionary without grammar
#
# Before training anything, how far does a pocket dictionary get? `s2s.word_dictionary()` knows the French for each
# English number word (*seventy* → *soixante-dix*, *hundred* → *cent*, looked up one word at a time), and
# `dictionary_translate` replaces each English word by its entry, in English order, dropping *and* and commas.

# %% tags=["nbval-check-output"]
dictionary = s2s.word_dictionary()


def dictionary_correct(pairs):
    """One boolean per (English, French) pair: does the dictionary baseline translate it exactly?"""
    return np.array([s2s.dictionary_translate(dictionary, english) == french for english, french in pairs])


baseline_val = dictionary_correct(val_pairs)
print(f"Dictionary baseline: {baseline_val.mean():.1%} of the {len(val_pairs):,} validation numbers exactly right")
for number in [71, 80, 81, 200, 21_071, 42_537]:
    english, french = s2s.number_pairs([number])[0]
    guess = s2s.dictionary_translate(dictionary, english)
    print(f"{'✓' if guess == french else '✗'} {number:>6}  {guess:<40} (French: {french})")

# %% tags=["nbval-check-output"]
_ = course.claim("the dictionary baseline gets between 40% and 60% of the validation numbers right",
                 0.4 < baseline_val.mean() < 0.6)

# %% [markdown]
# The dictionary is right about half the time: whenever French happens to follow English word order (*quarante-deux
# mille cinq cent trente-sept*). It fails on the grammar we listed: *et*, the *s* of *quatre-vingts* and *cents*,
# *soixante et onze* for 71, and the *un* French drops before *cent* and *mille* (*one thousand* is *mille*, where the
# dictionary writes *un mille*). That is the bar the neural model has to clear.

# %% [markdown]
# ## 3 · Tokens, vocabularies and teacher forcing
#
# A network reads integers, not words. We split each sentence into **tokens** (words, with hyphens and commas as
# tokens of their own, so *quatre-vingt-dix* is `quatre - vingt - dix`), then give each distinct token an id. Each
# language gets its own `WordVocabulary`, built from the *training* sentences only. Ids 0–3 are reserved: 0 is padding
# (to fill short sentences up to the batch's length), 1 `[UNK]` (a word the vocabulary does not know), 2 `[start]`
# ("begin writing", the decoder's first input) and 3 `[end]` ("the sentence is finished", the decoder's last output).

# %% tags=["nbval-check-output"]
english_vocab = s2s.WordVocabulary.from_corpus(s2s.number_tokens(english) for english, _ in train_pairs)
french_vocab = s2s.WordVocabulary.from_corpus(s2s.number_tokens(french) for _, french in train_pairs)
print(f"English vocabulary: {len(english_vocab)} tokens (4 special + {len(english_vocab) - 4} words)")
print(f"French vocabulary:  {len(french_vocab)} tokens (4 special + {len(french_vocab) - 4} words)")
print("French tokens:", " ".join(french_vocab.tokens[4:]))

# %% [markdown]
# About thirty words per language are enough to write every number up to 99,999 (a validation or test sentence with a
# word the training sentences lack would make `encode` raise an error and say so).
#
# During training the decoder is given the **true** previous French word at every step and asked for the next one.
# This is *teacher forcing*: the decoder never has to live with its own early mistakes while it learns. For each pair we
# build three arrays:
#
# * `encoder_input`: the English ids, **reversed** and padded at the front to `SOURCE_LENGTH` (reversing puts the first
#   English word right before the first French word, a trick from Sutskever et al. that they found makes learning much
#   easier);
# * `decoder_input`: `[start]` followed by the French ids;
# * `decoder_target`: the French ids followed by `[end]`, one step ahead of `decoder_input`.

# %% tags=["nbval-check-output"]
def to_arrays(pairs):
    """(encoder_input, decoder_input, decoder_target) for a list of (English, French) pairs."""
    english_ids = [english_vocab.encode(s2s.number_tokens(english)) for english, _ in pairs]
    french_ids = [french_vocab.encode(s2s.number_tokens(french)) for _, french in pairs]
    return s2s.teacher_forcing(english_ids, french_ids, source_length=SOURCE_LENGTH, target_length=TARGET_LENGTH)


every_pair = train_pairs + val_pairs + test_pairs  # only to size the arrays: the longest sentence of each language
SOURCE_LENGTH = max(len(s2s.number_tokens(english)) for english, _ in every_pair)
TARGET_LENGTH = max(len(s2s.number_tokens(french)) for _, french in every_pair) + 1
train_arrays, val_arrays, test_arrays = to_arrays(train_pairs), to_arrays(val_pairs), to_arrays(test_pairs)
encoder_input, decoder_input, decoder_target = train_arrays
print("shapes:", encoder_input.shape, decoder_input.shape, decoder_target.shape, "(pairs, time steps)")
example = s2s.number_pairs([71])[0]  # we only look at its arrays here
print(f"71 is a training number: {71 in train_numbers}; pair: {example}")
for name, array, vocab in zip(["encoder_input", "decoder_input", "decoder_target"], to_arrays([example]),
                              [english_vocab, french_vocab, french_vocab]):
    print(f"{name + ':':<15}", array[0], "=", [vocab.tokens[i] for i in array[0]])

# %% [markdown]
# Each row of `decoder_target` is its `decoder_input` shifted one step to the left. The zeros are padding. The loss
# will ignore padded targets (`sample_weight = decoder_target != 0`), and the encoder will skip padded sources: its
# embedding layer **masks** id 0 (`mask_zero=True`; notebook 01 did the same with a `Masking` layer), so a padded step
# leaves the encoder's memory as it was, and a sentence reads the same however much padding it gets.

# %%
_ = s2s.plot_encoder_decoder(s2s.number_tokens(example[0]), s2s.number_tokens(example[1]))
plots.show(plt.gcf(), alt=f"Diagram of the encoder-decoder unrolled in time for '{example[0]}' to '{example[1]}'. On "
                          "the left, the encoder's LSTM boxes, one per English token, read the sentence in reverse "
                          "order; one arrow carries their final memories [h, c] to the decoder on the right, whose "
                          "boxes each read one token (the start marker, then the French tokens) and predict the next "
                          "one, ending with the end marker. Each row of boxes shares one set of weights. Notice that "
                          "[h, c] is the only link between the English and the French half.")

# %% [markdown]
# Each box is one time step of an LSTM (notebook 03); the encoder's boxes all share one set of weights, and the
# decoder's another. The only thing that crosses from encoder to decoder is the thick arrow labelled `[h, c]`: the
# final short-term memory **h** and long-term memory **C** (Keras calls it `c`), two vectors of `units` numbers each.
# Everything the decoder knows about the English sentence has to fit in there.
#
# ## 4 · Build and train the encoder–decoder
#
# Five layers make the model: for each language an `Embedding`, which turns each token id into a small learned vector
# (32 numbers here), and an `LSTM`; then a `Dense` softmax that gives a probability for each French token. For
# training they are wired with the functional API: `return_state=True` makes the encoder LSTM also return its final
# `h` and `c`, and `initial_state=[h, c]` starts the decoder from them. The decoder reads the whole `decoder_input` at
# once (teacher forcing) and predicts a next token at every step. (`check_layers` and, below, `check_sizes` only
# refuse a wrong argument with a message that says what to pass.)

# %%
# Saved in utils/seq2seq.py: notebook 07 imports it from there
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


# %% [markdown]
# After training there is no French sentence to read at once: the decoder must write one token at a time and feed
# each back in. That needs two more models, wired from the **same layer objects**, so they use the trained weights
# (section 5 runs them): the encoder alone, and a decoder that takes one token and a state `[h, c]`
# and returns the next token's probabilities and the new state.

# %%
# Saved in utils/seq2seq.py: notebook 07 imports it from there
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


# %% [markdown]
# `build_seq2seq` makes the five layers, wires all three models and compiles the training one. The encoder's
# embedding **masks** id 0 (`mask_zero=True`), and the loss is the cross-entropy of the true next token averaged over
# the real (weight 1) target tokens. It returns a `Seq2Seq` (from `utils/seq2seq.py`), which holds the three models
# and the small helpers that run them on NumPy arrays.

# %%
# Saved in utils/seq2seq.py: notebook 07 imports it from there
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


# %% [markdown]
# We give the model 32 units, a small memory: `[h, c]` is then two vectors of 32 numbers for a sentence of up to
# eight English words. The size, the four epochs and the learning rate were fixed before any held-out number was scored, by what trains
# in seconds on a laptop CPU; they are not tuned on the validation or test numbers.

# %% tags=["nbval-check-output"]
UNITS, EPOCHS = 32, course.epochs(4)
translator = build_seq2seq(len(english_vocab), len(french_vocab), source_length=SOURCE_LENGTH, embed_dim=32,
                           units=UNITS, learning_rate=1e-2)
translator.model.summary(line_length=100)

# %% [markdown]
# About twenty thousand parameters (the total is printed above): tiny by translation standards. (The LSTM counts follow
# notebook 03's formula, 4 × (inputs + units + 1) × units.)
#
# ### Train
#
# `train` runs four passes (epochs) over the 16,000 training pairs, 128 pairs per step. After each epoch it measures
# the loss on the validation pairs, and at the end it keeps the weights of the epoch whose validation loss was lowest
# (`EarlyStopping` with `restore_best_weights`): the first choice the validation numbers make. The `start` number
# seeds the random initial weights and the order of the batches; `restart` gives the model fresh random weights, as
# if it had just been built, so that section 7 can train it again from other starts without Keras preparing its
# training step again.

# %% tags=["nbval-ignore-output"]
def train(seq2seq, start, epochs=EPOCHS):
    """Train ``seq2seq`` from random start ``start`` for ``epochs`` passes; keep the epoch with the lowest validation
    loss. Prints one line per epoch; returns the history (a dict of per-epoch lists)."""
    course.reseed(start)  # start k: the same initial weights and batch order in every run of the notebook
    seq2seq.restart()
    keep_best = keras.callbacks.EarlyStopping(monitor="val_loss", patience=epochs, restore_best_weights=True)
    started = time.perf_counter()
    history = seq2seq.model.fit(
        [encoder_input, decoder_input], decoder_target, sample_weight=(decoder_target != 0).astype("float32"),
        validation_data=(list(val_arrays[:2]), val_arrays[2], (val_arrays[2] != 0).astype("float32")),
        batch_size=128, epochs=epochs, callbacks=[keep_best], verbose=0).history
    best = int(np.argmin(history["val_loss"]))
    for epoch, (loss, val_loss) in enumerate(zip(history["loss"], history["val_loss"])):
        print(f"start {start}, epoch {epoch + 1}: loss {loss:.4f}, validation loss {val_loss:.4f} nats/token"
              + ("  ← kept" if epoch == best else ""))
    print(f"({time.perf_counter() - started:.1f} s on this machine's CPU)")
    return history


translator_history = train(translator, start=0)

# %% [markdown]
# The loss is the average cross-entropy of the true next token, in nats (natural-log units): 0 would mean the model
# puts probability 1 on every right token. The first epoch's time includes TensorFlow preparing the training step,
# which happens once per model.

# %% tags=["nbval-check-output"]
_ = course.claim("the validation loss falls to under half of its first-epoch value",
                 min(translator_history["val_loss"]) < translator_history["val_loss"][0] / 2)

# %% [markdown]
# The loss falls fast, but a low loss is measured with teacher forcing, where the decoder always reads the *right*
# previous word. The real test is translating on its own.

# %% [markdown]
# ## 5 · Inference: the decoder feeds on its own predictions
#
# At inference we have no French sentence to feed the decoder. Instead:
#
# 1. run the **encoder** on the English sentence to get `[h, c]`;
# 2. feed the decoder `[start]` with that state; it returns probabilities for the first French token and a new state;
# 3. pick a token, feed it back in as the next input with the new state, and repeat until `[end]` (or a length limit).
#
# For step 2 we need the decoder as a model that runs **one step** and returns its state. `inference_models` built
# it inside `build_seq2seq`, from the *same layer objects* as the training model (so it has the trained weights), not
# by digging into `model.layers` by position:

# %% tags=["nbval-check-output"]
print("encoder:", [tuple(t.shape) for t in translator.encoder.inputs], "->",
      [tuple(t.shape) for t in translator.encoder.outputs])
print("decoder:", [tuple(t.shape) for t in translator.decoder.inputs], "->",
      [tuple(t.shape) for t in translator.decoder.outputs])
print("decoder LSTM shared with the training model:",
      translator.layers["decoder_lstm"] is translator.model.get_layer("decoder_lstm"))

# %% [markdown]
# `translator.step_one(token, state)` wraps the one-step decoder for a single sentence: it returns the probabilities of
# the next token (one per French token) and the new `[h, c]`. `translator.initial_state(ids)` runs the encoder on one
# sentence, laid out by `translator.encoder_input` exactly like a row of the training arrays (reversed, padded to
# `SOURCE_LENGTH`), so one sentence on its own is translated as it would be in a batch.
#
# ### Exercise 1 · greedy decoding
#
# Write the decoding loop, `run_decoder(step, state, start_id, end_id, max_len, pick=np.argmax)`. `step(token, state)`
# returns the probabilities of the next token and the decoder's new state. The first input is `start_id`; after that,
# the decoder reads the token it has just chosen, from the state it has just returned. Decoding ends when the chosen
# token is `end_id` or when `max_len` tokens have been written, whichever comes first.
#
# Each token is chosen by `pick(probabilities)`. Its default, `np.argmax`, picks the single most probable token: that
# is **greedy decoding**. (Notebook 07 passes another `pick` to the same loop, to sample replies.)
#
# Return the list of token ids (ints), without `[end]`.

# %%
def run_decoder(step, state, start_id, end_id, max_len, pick=np.argmax):
    """Decode one sequence: feed start_id, then each token ``pick`` chose, until it picks end_id or after max_len.

    step(token, state) -> (probabilities of the next token (vocab,), new state).
    pick(probabilities) -> the next token: np.argmax (the default) is greedy decoding, a random draw is sampling.
    Returns the token ids (a list of ints), without end_id.
    """
    ### BEGIN SOLUTION
    token, output = start_id, []
    for _ in range(max_len):
        probabilities, state = step(token, state)
        token = int(pick(probabilities))
        if token == end_id:
            break
        output.append(token)
    return output
    ### END SOLUTION


# %% [markdown]
# The check runs your loop on pretend decoders whose right answers are known (an answer of four tokens, one longer
# than `max_len`, an empty one, a repeated token, a decoder that never says `[end]`, another `pick`), then on fresh
# ones drawn for this run, and names the mistake if it finds one.

# %%
passed = check_run_decoder(run_decoder)
run_decoder = use_reference_if_needed(run_decoder, passed, check_run_decoder)

# %% [markdown]
# Now translate a few validation numbers, one at a time, with your loop and the trained decoder:

# %% tags=["nbval-ignore-output"]
def translate(english, seq2seq=translator, max_len=TARGET_LENGTH):
    """French for an English number sentence, by greedy decoding."""
    state = seq2seq.initial_state(english_vocab.encode(s2s.number_tokens(english)))
    ids = run_decoder(seq2seq.step_one, state, s2s.START_ID, s2s.END_ID, max_len)  # greedy: pick=np.argmax
    return s2s.join_number_tokens(french_vocab.decode(ids))


shown = list(range(0, len(val_pairs), 200))
one_at_a_time = {i: translate(val_pairs[i][0]) for i in shown}
for i in shown:
    english, french = val_pairs[i]
    print(f"{'✓' if one_at_a_time[i] == french else '✗'} {english:<55} → {one_at_a_time[i]}")

# %% [markdown]
# These come from your loop, one number at a time; a ✗ marks a wrong one. To translate all validation numbers
# quickly, `s2s.greedy_decode_batch` runs the same greedy loop for all of them at once (one decoder call per step for
# the whole batch); the first claim below checks that it gives these same translations, right or wrong. A
# translation counts only if it is **exactly** the French sentence, every word and hyphen.

# %% tags=["nbval-ignore-output"]
def exact_matches(seq2seq, arrays, pairs):
    """One boolean per (English, French) pair: is the greedy translation exactly the French? Also the translations."""
    ids = s2s.greedy_decode_batch(seq2seq, arrays[0], max_len=TARGET_LENGTH)
    translations = [s2s.join_number_tokens(french_vocab.decode(row)) for row in ids]
    return np.array([guess == french for guess, (_, french) in zip(translations, pairs)]), translations


val_correct, val_translations = exact_matches(translator, val_arrays, val_pairs)
print(pd.DataFrame({
    "exact match on validation numbers": [f"{baseline_val.mean():.1%}", f"{val_correct.mean():.1%}"],
    f"wrong (of {len(val_pairs):,})": [int((~baseline_val).sum()), int((~val_correct).sum())],
}, index=["dictionary baseline", "encoder–decoder, start 0"]).to_string())

# %% tags=["nbval-check-output"]
_ = course.claim("one number at a time (your loop above) gives exactly the batch's translation",
                 all(one_at_a_time[i] == val_translations[i] for i in shown))
_ = course.claim("this trained model translates more validation numbers exactly than the dictionary does",
                 val_correct.mean() > baseline_val.mean())

# %% [markdown]
# After four short epochs the encoder–decoder writes more numbers exactly right than the dictionary: it learned
# grammar the dictionary lacks.
#
# ### Save and reload
#
# The training model holds every weight; `.keras` is Keras 3's single-file format. `s2s.load_seq2seq` loads it and
# rebuilds the inference encoder and decoder with `inference_models`, from the loaded layers, which it finds by their
# names.

# %% tags=["nbval-ignore-output"]
path = s2s.save_seq2seq(translator, s2s.OUTPUT_DIR / "nmt_numbers.keras")
reloaded = s2s.load_seq2seq(path)
again = s2s.greedy_decode_batch(reloaded, val_arrays[0][:200], max_len=TARGET_LENGTH)
print(f"saved {path.name} ({path.stat().st_size / 1024:.0f} KiB);", "reloaded model gives the same 200 translations:",
      [s2s.join_number_tokens(french_vocab.decode(ids)) for ids in again] == val_translations[:200])

# %% [markdown]
# The translator is not perfect, though. Where are its errors?

# %% tags=["nbval-ignore-output"]
def english_words(pairs):
    """The length of each English sentence in words (hyphens and commas not counted: *seventy-one* is two words)."""
    return np.array([sum(token not in ("-", ",") for token in s2s.number_tokens(english)) for english, _ in pairs])


def error_rates_by_length(correct, words):
    """Share of wrong translations among numbers of 1–5 words and of 7–8 words."""
    short, long = words <= 5, words >= 7
    return (~correct[short]).mean(), (~correct[long]).mean()


val_words = english_words(val_pairs)
print(pd.DataFrame({"numbers": val_words, "wrong": ~val_correct}).groupby(val_words).agg(
    numbers=("numbers", "size"), wrong=("wrong", "sum")).assign(
    error_rate=lambda t: (t["wrong"] / t["numbers"]).map("{:.0%}".format)).rename_axis("English words").to_string())
wrong = np.flatnonzero(~val_correct)
print(pd.DataFrame({"number": val_numbers[wrong], "model": [val_translations[i] for i in wrong],
                    "correct French": [val_pairs[i][1] for i in wrong]}).head(8).to_string(index=False))
short_rate, long_rate = error_rates_by_length(val_correct, val_words)
print(f"\nerror rate: {short_rate:.0%} on numbers of 1–5 words, {long_rate:.0%} on numbers of 7–8 words; "
      f"numbers below 1,000 are {np.mean(train_numbers < 1000):.1%} of the training set")

# %% tags=["nbval-check-output"]
_ = course.claim("this model gets numbers of 1–5 words wrong more often than numbers of 7–8 words",
                 short_rate > long_rate)

# %% [markdown]
# Read the tables. Most errors get the shape of the sentence right and one part wrong, often a single word. And they
# are not where a human would expect: this model gets the short numbers wrong *more often* than the long ones. We drew
# the training numbers uniformly from 0 to 99,999, so fewer than one in a hundred is below 1,000: the model has seen
# thousands of sentences of the form "*… mille …*" and only a couple of hundred without *mille*. A model is only as
# good as the data it saw, *where* it saw it: a uniform sample of numbers is not a uniform sample of sentence shapes.
# (Section 8 checks this on the test numbers, for three trained models.)
#
# Errors are also sticky: each word the decoder writes is its next input, so a first slip is never corrected. And the
# decoder writes everything from one fixed-size memory `[h, c]`; attention, next, was invented to remove that
# bottleneck.

# %% [markdown]
# ## 6 · Attention: the decoder reads every encoder state
#
# The plain decoder gets one message from the encoder, the final `[h, c]`, and must write the whole French sentence
# from it. **Attention** (Bahdanau, Cho and Bengio, 2014; Luong, Pham and Manning, 2015) keeps *all* the encoder's
# states, one vector $h_j$ per English token $j = 1, \dots, S$, and lets the decoder look back at them at every step.
# At decoder step $t$, with $s_t$ the decoder LSTM's output (the **query**):
#
# $$e_{t,j} = s_t \cdot h_j \qquad (e_{t,j} = -\infty \text{ where position } j \text{ is padding}),$$
#
# the **scores**: how much each encoder state points the same way as the query;
#
# $$\alpha_{t,j} = \frac{\exp(e_{t,j})}{\sum_{k=1}^{S} \exp(e_{t,k})},$$
#
# the **weights**: a softmax over the source positions, so that $\sum_j \alpha_{t,j} = 1$ and padding gets weight 0;
#
# $$c_t = \sum_{j=1}^{S} \alpha_{t,j}\, h_j,$$
#
# the **context**: the weighted sum of the encoder states. The output layer reads the decoder output and the context,
# joined: $P(y_t) = \operatorname{softmax}\big(W_o\,[s_t ; c_t] + b_o\big)$.
#
# This is Luong's *dot* score, the one `keras.layers.Attention` computes. The weights $\alpha_{t,j}$ say where the
# decoder looked in the English sentence while writing French word $t$; section 9 draws them.
#
# ### Exercise 2 · attention by hand
#
# Write `dot_attention(query, values, mask)` in NumPy, for a whole batch at once: `query` is (batch, Tq, units), one
# $s_t$ per decoder step; `values` is (batch, Tv, units), the encoder states $h_j$; `mask` is (batch, Tv), `True` at
# real tokens and `False` at padding. Return `(context, weights)`, of shapes (batch, Tq, units) and (batch, Tq, Tv),
# as the three equations above say. Two facts help: `a @ b` multiplies every pair of matrices of two batches
# (`(batch, n, k) @ (batch, k, m)` is `(batch, n, m)`), and a softmax does not change when the same number is taken off
# all its scores: taking off each row's largest score keeps `np.exp` from overflowing when scores are large.

# %%
def dot_attention(query, values, mask):
    """Dot-product attention for a batch: scores, mask, softmax, context.

    query (batch, Tq, units), values (batch, Tv, units), mask (batch, Tv): True at real tokens, False at padding.
    Returns (context (batch, Tq, units), weights (batch, Tq, Tv)); each row of weights sums to 1 and is 0 at padding.
    """
    ### BEGIN SOLUTION
    scores = query @ np.swapaxes(values, 1, 2)  # (batch, Tq, Tv): e[t, j] = s_t · h_j
    scores = np.where(mask[:, None, :], scores, -np.inf)  # padding is never read
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights = weights / weights.sum(axis=-1, keepdims=True)
    return weights @ values, weights
    ### END SOLUTION


# %% [markdown]
# The check compares your function with `keras.layers.Attention` on two small batches (one padded at the front, as
# our encoder input is, and one with three decoder steps), on scores in the thousands, and on fresh random batches.
# Keras' layer itself is not allowed in your answer.

# %%
passed = check_dot_attention(dot_attention)
dot_attention = use_reference_if_needed(dot_attention, passed, check_dot_attention)

# %% [markdown]
# Keras wires the same computation into the encoder–decoder with one more layer, `"attention"`. The encoder LSTM now
# returns its whole sequence of states (`return_sequences=True`), and `compute_mask` gives the padding mask that its
# embedding already uses, so attention never reads a padded position. The one-step decoder takes the encoder states
# and the mask as inputs next to `h` and `c`: its state is `[encoder states, source mask, h, c]`, and a step passes
# the first two on unchanged, so `run_decoder` and `greedy_decode_batch` work as they are.

# %%
# Saved in utils/seq2seq.py: 07 reuses it
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


# %% [markdown]
# `build_attention_seq2seq` takes the same arguments as `build_seq2seq`, makes the six layers and returns an
# `AttentionSeq2Seq`: a `Seq2Seq` whose `encode` and `step` carry the longer state, and whose `step_with_weights` also
# returns the attention weights of the step.

# %%
# Saved in utils/seq2seq.py: 07 reuses it
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


# %% [markdown]
# For a fair comparison the attention model gets the same embeddings, the same 32 units and the same learning rate as
# the plain translator. Attention itself has no weights; the output layer, which reads the context as well as the
# decoder output, has a few more (printed below).

# %% tags=["nbval-check-output"]
attentive = build_attention_seq2seq(len(english_vocab), len(french_vocab), source_length=SOURCE_LENGTH, embed_dim=32,
                                    units=UNITS, learning_rate=1e-2)
parameters = {"plain": translator.model.count_params(), "attention": attentive.model.count_params()}
print(f"parameters: plain {parameters['plain']:,}, with attention {parameters['attention']:,} "
      f"({parameters['attention'] / parameters['plain'] - 1:+.0%})")

# %% [markdown]
# Same data, same batches of 128, same four epochs, same `train` function, from start 0:

# %% tags=["nbval-ignore-output"]
attentive_history = train(attentive, start=0)

# %% [markdown]
# Your `dot_attention` can now reproduce what the trained model does. One decoder step from `[start]` for the first
# 200 validation numbers: the model's own attention weights, and those of your function given the same query (the new
# `h`, which is the decoder LSTM's output for this step) and the same encoder states and mask.

# %% tags=["nbval-check-output"]
state = attentive.encode(val_arrays[0][:200])  # [encoder states, source mask, h, c]
_, new_state, model_weights = attentive.step_with_weights(np.full(200, s2s.START_ID), state)
context, your_weights = dot_attention(new_state[2][:, None, :], state[0], state[1])
print("weights of the first validation number, encoder positions (padding first):", np.round(model_weights[0], 3))
_ = course.claim("your dot_attention gives the trained model's attention weights (to 1e-5)",
                 np.allclose(your_weights[:, 0, :], model_weights, atol=1e-5))

# %% [markdown]
# ## 7 · Three starts of each model
#
# One training run is an anecdote: another random start gives other weights, other errors, maybe another ranking. So
# before comparing the two models we train each from two more random starts (1 and 2), with the same data, epochs and
# `train` function, one cell per run; `restart` gives the compiled model fresh weights for each. We keep every start's
# trained weights.

# %% tags=["nbval-ignore-output"]
STARTS = [0, 1, 2]
models = {"plain": translator, "attention": attentive}
trained = {kind: {0: model.model.get_weights()} for kind, model in models.items()}  # start 0, trained above
histories = {("plain", 0): translator_history, ("attention", 0): attentive_history}


def train_and_keep(kind, start):
    """Train the model of this kind from random start ``start``; keep its history and its trained weights."""
    histories[kind, start] = train(models[kind], start)
    trained[kind][start] = models[kind].model.get_weights()


train_and_keep("plain", 1)

# %% tags=["nbval-ignore-output"]
train_and_keep("plain", 2)

# %% tags=["nbval-ignore-output"]
train_and_keep("attention", 1)

# %% tags=["nbval-ignore-output"]
train_and_keep("attention", 2)

# %% [markdown]
# On the validation numbers, each start of each model: the epoch kept, its validation loss, and how many validation
# numbers it translates wrongly.

# %% tags=["nbval-ignore-output"]
def with_start(kind, start):
    """The model of this kind with the trained weights of this start."""
    models[kind].model.set_weights(trained[kind][start])
    return models[kind]


print(pd.DataFrame([{
    "model": kind, "start": start, "epoch kept": int(np.argmin(histories[kind, start]["val_loss"])) + 1,
    "validation loss": min(histories[kind, start]["val_loss"]),
    f"wrong (of {len(val_pairs):,})": int((~exact_matches(with_start(kind, start), val_arrays, val_pairs)[0]).sum())}
    for kind in models for start in STARTS]).to_string(index=False, formatters={"validation loss": "{:.4f}".format}))

# %% [markdown]
# Every choice is now made: the test numbers can be scored, once.
#
# ## 8 · The test: every model scored once
#
# The final table scores the dictionary and all six trained models on the 4,000 test numbers: exact match and the
# held-out loss in nats per token (`s2s.per_token_loss`, teacher-forced like the training loss, so one wrong word does
# not derail the rest of the sentence; it also counts how sure the model was of each right word).

# %% tags=["nbval-ignore-output"]
baseline_test = dictionary_correct(test_pairs)
test_correct, test_loss = {}, {}
for kind in models:
    for start in STARTS:
        test_correct[kind, start] = exact_matches(with_start(kind, start), test_arrays, test_pairs)[0]
        test_loss[kind, start] = s2s.per_token_loss(models[kind], *test_arrays, batch_size=2500)
final = pd.DataFrame([{"model": "dictionary baseline", "start": "", "exact match": baseline_test.mean(),
                       "wrong": int((~baseline_test).sum()), "held-out loss": np.nan}] + [
    {"model": f"encoder–decoder, {kind}", "start": start, "exact match": test_correct[kind, start].mean(),
     "wrong": int((~test_correct[kind, start]).sum()), "held-out loss": test_loss[kind, start]}
    for kind in models for start in STARTS])
print(final.to_string(index=False, formatters={"exact match": "{:.2%}".format, "held-out loss": "{:.4f}".format}))

# %% [markdown]
# Each verdict below rests on all three starts (how many agree, with the mean and range over them), or on a paired
# bootstrap over the test numbers: resampling the numbers, each with its six results, gives an interval for the
# difference between the models (`course.paired_bootstrap`).

# %% tags=["nbval-check-output"]
accuracy = {key: correct.mean() for key, correct in test_correct.items()}
_ = course.claim_runs("every start of the plain encoder–decoder translates more test numbers exactly than the "
                      "dictionary", course.over_seeds([accuracy["plain", s] - baseline_test.mean() for s in STARTS],
                                                      unit="starts", fmt="+.1%"), each=lambda gain: gain > 0)
_ = course.claim_runs("at the same size and training budget, the model with attention translates more test numbers "
                      "exactly than the plain one, in every start", course.over_seeds(
                          [accuracy["attention", s] - accuracy["plain", s] for s in STARTS], unit="starts",
                          fmt="+.1%"), each=lambda gain: gain > 0)
per_number = np.mean([test_correct["attention", s].astype(float) - test_correct["plain", s] for s in STARTS], axis=0)
_ = course.claim_interval("averaged over the three starts, attention's gain in exact match is above 0 over the test "
                          "numbers", course.paired_bootstrap(per_number, units="test numbers", fmt="+.2%"), above=0)
_ = course.claim_runs("the attention model's held-out loss is below the plain model's in every start",
                      course.over_seeds([test_loss["plain", s] - test_loss["attention", s] for s in STARTS],
                                        unit="starts", fmt="+.4f"), each=lambda gap: gap > 0)
test_words = english_words(test_pairs)
_ = course.claim_runs("every start of the plain model gets numbers of 1–5 words wrong more often than numbers of "
                      "7–8 words", course.over_seeds([np.subtract(*error_rates_by_length(test_correct["plain", s],
                                                                                          test_words))
                                                      for s in STARTS], unit="starts", fmt="+.1%"),
                      each=lambda gap: gap > 0)

# %% [markdown]
# At the same size and the same training budget, the model with attention translates more test numbers exactly than
# the plain one, in every start, and its held-out loss is lower too: reading the encoder's states, the decoder no
# longer has to carry the whole sentence in its final memories alone (the table counts each model's errors). Both
# clear the dictionary by far. Short numbers stay the plain model's weak spot in every start: they are rare in the
# training data.
#
# These verdicts are about this small model and this short budget (32 units, four epochs). Whether the plain model
# closes the gap with more units or more epochs is the first of the extra exercises at the end.

# %% [markdown]
# ## 9 · Where the decoder looks: attention heat-maps (optional)
#
# `s2s.attention_maps` translates numbers greedily, as `translate` did, and keeps the attention weights
# $\alpha_{t,j}$ of every step: one row per French token written (and the step that chose `[end]`), one column per
# English token, in reading order.
#
# **What a column holds.** The encoder read the English sentence *backwards* and in one direction only, so the state
# $h_j$ in the column of word $j$ is its memory after reading word $j$ *and everything to its right* (from the end of
# the sentence back to word $j$): the column of *seventy* in *seventy-one* has read the whole sentence. What sets
# column $j$ apart from column $j + 1$ (which has read everything but word $j$) is word $j$, the newest word in it. So
# a bright cell under word $j$ means: the decoder read the encoder's memory at the moment it had just taken in word
# $j$. The column to its left (the hyphen or comma before a word) holds the same memory one step later.
#
# We draw the attention of start 0 for three validation numbers, picked by rule: the smallest ending in 71
# (*soixante et onze*), the smallest ending in 80 (*quatre-vingts*), and the largest (close to 99,999).

# %% tags=["nbval-ignore-output"]
attentive = with_start("attention", 0)
picks = [int(val_numbers[val_numbers % 100 == 71].min()), int(val_numbers[val_numbers % 100 == 80].min()),
         int(val_numbers.max())]
print(f"picked: the smallest validation number ending in 71, {picks[0]:,}; the smallest ending in 80, {picks[1]:,}; "
      f"the largest, {picks[2]:,}")
fig, axes = plt.subplots(1, 3, figsize=(15, 6.5), layout="constrained", gridspec_kw={"width_ratios": [2, 2, 2.6]})
fig.get_layout_engine().set(wspace=0.06)  # room between panels for the next panel's French row labels
heat_maps = {}
for ax, number in zip(axes, picks):
    english, french = val_pairs[int(np.flatnonzero(val_numbers == number)[0])]
    source = s2s.number_tokens(english)
    ids, weights = s2s.attention_maps(attentive, [english_vocab.encode(source)], max_len=TARGET_LENGTH)[0]
    written = (french_vocab.decode(ids) + ["[end]"])[: len(weights)]
    heat_maps[number] = (source, written, weights)
    print(f"{number:>6}:", ", ".join(f"{w} <- {source[int(row.argmax())]}" for w, row in zip(written, weights)))
    ax.imshow(weights, cmap="viridis", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
    ax.grid(False)  # the style's grid lines would cut through the cells
    ax.set_xticks(range(len(source)), source, rotation=60, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(len(written)), written)
    ax.set_xlabel("English source (reading order; the encoder read it right to left)")
    guess = s2s.join_number_tokens(french_vocab.decode(ids))
    ax.set_title(textwrap.fill(f"{number:,}: {'✓' if guess == french else '✗'} {guess}", width=40), fontsize=9)
axes[0].set_ylabel("French output, one row per decoder step")
fig.colorbar(axes[-1].images[0], ax=axes, shrink=0.6, label="attention weight (each row sums to 1)")
plots.show(fig, alt=f"Three heat-maps of the attention weights of the attention model trained from start 0, for the "
                    f"validation numbers {picks[0]:,}, {picks[1]:,} and {picks[2]:,}: rows are the French tokens it "
                    "wrote, columns the English source tokens in reading order, brighter means more weight, and each "
                    "row sums to 1. The lines printed above the figure name the brightest column of every row; the "
                    "text below says how to read them, and measures over all validation numbers how often a French "
                    "units word looks at its English word.")

# %% [markdown]
# Read each row as one decoder step: the printed lines name its brightest column. In a well-aligned row, a French
# word looks at the English word it translates, or at the column just left of it. The telling rows are where the two
# languages part. Where do the *quatre*, *vingt* and *dix* of *quatre-vingt-dix* look, three French words for one
# English *ninety*? And the *et* and the *onze* of *soixante et onze*, where French counts "sixty and eleven" and the
# ten inside *seventy* ends up in *onze*? A heat-map describes one trained model: another start may share the work out
# differently, and the decoder need not look at a word to write it, since its LSTM also carries what the final
# `[h, c]` told it.
#
# What holds for the method, not only for this model? The cell below takes every correctly translated validation
# number and every French units word in it (*deux* … *neuf*, matched to the English word of the same value), and
# counts how often the brightest column is that English word, or the column just left of it, in each of the three
# attention models. It also counts, for comparison, how often *mille* looks at *thousand*.

# %% tags=["nbval-ignore-output"]
UNITS_WORDS = {"deux": "two", "trois": "three", "cinq": "five", "six": "six", "sept": "seven", "huit": "eight",
               "neuf": "nine"}


def alignment(maps, pairs, words):
    """Share of the French ``words`` (French -> English) in correct translations whose brightest column is the
    matching English word (``at``) or that word or the column just left of it (``near``)."""
    at = near = total = 0
    for (english, french), (ids, weights) in zip(pairs, maps):
        source, written = s2s.number_tokens(english), french_vocab.decode(ids)
        if s2s.join_number_tokens(written) != french:
            continue
        for step, word in enumerate(written):
            targets = [j for j, token in enumerate(source) if token == words.get(word)]
            same = [k for k, token in enumerate(written) if token == word]
            if not targets or len(targets) != len(same):  # no English word to match, or no one-to-one match
                continue
            target, peak = targets[same.index(step)], int(weights[step].argmax())
            at, near, total = at + (peak == target), near + (peak in (target - 1, target)), total + 1
    return at / total, near / total


sources = [english_vocab.encode(s2s.number_tokens(english)) for english, _ in val_pairs]
aligned = {}
for start in STARTS:
    maps = s2s.attention_maps(with_start("attention", start), sources, max_len=TARGET_LENGTH)
    aligned[start] = alignment(maps, val_pairs, UNITS_WORDS), alignment(maps, val_pairs, {"mille": "thousand"})
    print(f"start {start}: units words at their English word {aligned[start][0][0]:.0%}, at it or just left of it "
          f"{aligned[start][0][1]:.0%}; mille at thousand {aligned[start][1][0]:.0%}")

# %% tags=["nbval-check-output"]
_ = course.claim_runs("in every attention model, more than 90% of the French units words look most at their English "
                      "word or the column just left of it", course.over_seeds(
                          [aligned[s][0][1] for s in STARTS], unit="starts", fmt=".0%"), each=lambda share: share > 0.9)
_ = course.claim("each row of attention weights sums to 1",
                 all(np.allclose(weights.sum(axis=1), 1, atol=1e-4) for _, _, weights in heat_maps.values()))

# %% [markdown]
# The units words are the clearest alignment: in every start the decoder, writing *sept*, reads the encoder's memory
# right after it took in *seven* (or one step later, at the hyphen or comma). Whether it looks *at* the word or just
# left of it, and where *mille* looks, differs from one start to the next (the shares printed above): attention
# learns an alignment that works, not necessarily the one a linguist would draw.

# %% [markdown]
# ## 10 · Beam search (optional)
#
# Greedy decoding commits to the most probable word at every step, and a first slip is never undone. **Beam search**
# keeps several partial translations alive: at each step every live one is extended by each of its `beam_width` most
# probable next words, and the `beam_width` best extensions of all, by their total log-probability, live on. An
# extension that chose `[end]` is finished. Comparing finished outputs of different lengths by total log-probability
# favours short ones (each word multiplies in a probability below 1), so they are ranked with **length
# normalisation**: score divided by length$^\alpha$ (Wu et al., 2016, use a smoother form of the same idea).
#
# ### Exercise 3 · beam search
#
# Write `beam_search(step, state, start_id, end_id, max_len, beam_width=3, alpha=1.0)`, an extension of your
# `run_decoder` with the same arguments. Precisely:
#
# 1. Start with one live output: no tokens, score 0, the given `state`, next input `start_id`.
# 2. At each step (at most `max_len` of them), call `step(token, state)` once for each live output, with its own last
#    token and state, and extend it by each of its `beam_width` most probable tokens: the new score is the old one plus
#    the token's log-probability.
# 3. Sort all extensions by score and keep the best `beam_width`. Those whose token is `end_id` are finished (the
#    `end_id` is not written); the others are the new live outputs. Stop early when none is live.
# 4. The finished outputs and the live ones that reached `max_len` tokens compete on score / length ** `alpha`, where
#    the length of a finished output counts its `end_id`. Return the winner's tokens (a list of ints).
#
# With `beam_width=1` this is greedy decoding again.

# %%
def beam_search(step, state, start_id, end_id, max_len, beam_width=3, alpha=1.0):
    """Decode one sequence, keeping the beam_width best partial outputs at each step; rank the outputs by score /
    length ** alpha (scores are sums of log-probabilities). Returns the best output's token ids, without end_id."""
    ### BEGIN SOLUTION
    live = [(0.0, [], start_id, state)]  # (score, tokens written, token to feed next, decoder state)
    finished = []  # (score, tokens, length with the end_id)
    for _ in range(max_len):
        extensions = []
        for score, tokens, token, beam_state in live:
            probabilities, new_state = step(token, beam_state)
            log_p = np.log(np.asarray(probabilities, dtype=float) + 1e-30)
            for choice in np.argsort(-log_p)[:beam_width]:
                extensions.append((score + log_p[choice], tokens, int(choice), new_state))
        extensions.sort(key=lambda extension: -extension[0])
        live = []
        for score, tokens, choice, new_state in extensions[:beam_width]:
            if choice == end_id:
                finished.append((score, tokens, len(tokens) + 1))
            else:
                live.append((score, tokens + [choice], choice, new_state))
        if not live:
            break
    outputs = finished + [(score, tokens, len(tokens)) for score, tokens, _, _ in live]
    return max(outputs, key=lambda output: output[0] / output[2] ** alpha)[1]
    ### END SOLUTION


# %% [markdown]
# The check runs your search on pretend decoders whose best outputs are known (one where greedy decoding's first
# choice leads nowhere, `beam_width=1`, short outputs against longer ones with `alpha` 0 and 1), then on fresh ones.

# %%
passed = check_beam_search(beam_search)
beam_search = use_reference_if_needed(beam_search, passed, check_beam_search)

# %% [markdown]
# Does beam search fix the model's own mistakes? The plain translator of start 0 gets some of the validation numbers
# wrong. We take the first 20 it gets wrong and the first 20 it gets right, and decode each again with
# `beam_width=3, alpha=1`.

# %% tags=["nbval-ignore-output"]
translator = with_start("plain", 0)
BEAM_WIDTH, ALPHA, SAMPLE = 3, 1.0, 20
greedy_right = exact_matches(translator, val_arrays, val_pairs)[0]
rows = []
for index in list(np.flatnonzero(~greedy_right)[:SAMPLE]) + list(np.flatnonzero(greedy_right)[:SAMPLE]):
    english, french = val_pairs[index]
    state = translator.initial_state(english_vocab.encode(s2s.number_tokens(english)))
    ids = beam_search(translator.step_one, state, s2s.START_ID, s2s.END_ID, TARGET_LENGTH, BEAM_WIDTH, ALPHA)
    width_one = beam_search(translator.step_one, state, s2s.START_ID, s2s.END_ID, TARGET_LENGTH, 1, ALPHA)
    rows.append({"number": val_numbers[index], "greedy right": bool(greedy_right[index]),
                 "beam right": s2s.join_number_tokens(french_vocab.decode(ids)) == french,
                 "width 1 = greedy": s2s.join_number_tokens(french_vocab.decode(width_one)) == translate(english)})
beams = pd.DataFrame(rows)
print(beams.groupby("greedy right")["beam right"].agg(numbers="size", beam_right="sum").rename(
    index={False: "greedy wrong", True: "greedy right"}).to_string())
fixed = int(beams["beam right"][~beams["greedy right"]].sum())
broken = int((~beams["beam right"][beams["greedy right"]]).sum())
print(f"beam search (width {BEAM_WIDTH}, alpha {ALPHA:g}) fixes {fixed} of greedy's {SAMPLE} errors "
      f"and breaks {broken} of its {SAMPLE} right translations")

# %% tags=["nbval-check-output"]
_ = course.claim("beam search with beam_width=1 gives greedy decoding's translation of every one of these numbers",
                 beams["width 1 = greedy"].all())

# %% [markdown]
# Read the counts printed above; they are measured on this model and these numbers, not a verdict about beam
# search. Beam search can only fix an error when the right translation is among the few most probable words at the
# step where greedy went wrong, and the model must still prefer it over the whole sentence. A model that is confidently
# wrong (a short number it hardly saw in training) gives the right word too little probability for any search to find
# it. Search repairs decoding; it cannot repair what the model learned.

# %% [markdown]
# ## Key takeaways
#
# * An **encoder–decoder** maps a sequence to a sequence of a different length: the plain encoder's final `[h, c]` is
#   the whole message the decoder gets.
# * **Teacher forcing** trains the decoder on the true previous token; at **inference** it feeds on its own
#   predictions, with a separate one-step decoder model built from the same trained layers. **Greedy decoding** picks
#   the most probable token at each step until `[end]`.
# * Training numbers to learn, **validation** numbers for every choice (here: the epoch kept, the examples shown), test
#   numbers scored once at the end. Measure with a strict metric (exact match) against a baseline: a dictionary gets
#   about half right.
# * **Attention** scores every encoder state against the decoder's output ($e_{t,j} = s_t \cdot h_j$), turns the scores
#   into weights with a softmax (padding masked) and reads their weighted sum, the context. At the same size and
#   training budget it translated far more numbers exactly than the plain model, in every one of three starts.
# * One training run is an anecdote: compare methods over several starts, or with a paired bootstrap over the test
#   units. A heat-map describes one trained model; its columns are encoder states, which (read backwards) hold the
#   word and everything to its right.
# * Errors are far more common on **short numbers**, which are rare in a uniform sample of 0 … 99,999: a model is
#   only as good as the data it saw, where it saw it.
#
# ## More exercises
#
# 1. Train both models for twice as many epochs, or with twice the units, over the three starts. Does the plain model close
#    the gap? (Expect a few minutes of CPU time.)
# 2. Train without reversing the source: in a copy of `to_arrays`, replace the `encoder_input` that
#    `s2s.teacher_forcing` returns by `s2s.source_array(english_ids, SOURCE_LENGTH, reverse=False)`, and score with
#    `s2s.greedy_decode_batch` on those arrays (`translator.initial_state` always reverses). What changes, and what do
#    the heat-maps' columns hold now?
# 3. Add all numbers below 1,000 that are not validation or test numbers to the training set. Do the short-number
#    errors go?
# 4. Translate French → English: swap the roles of the two vocabularies.
#
# ## Further reading
#
# * I. Sutskever, O. Vinyals, Q. V. Le, *Sequence to Sequence Learning with Neural Networks* (2014), arXiv:1409.3215.
# * K. Cho et al., *Learning Phrase Representations using RNN Encoder–Decoder for Statistical Machine Translation*
#   (2014), arXiv:1406.1078.
# * D. Bahdanau, K. Cho, Y. Bengio, *Neural Machine Translation by Jointly Learning to Align and Translate* (2014),
#   arXiv:1409.0473: attention.
# * M.-T. Luong, H. Pham, C. D. Manning, *Effective Approaches to Attention-based Neural Machine Translation* (2015),
#   arXiv:1508.04025: the dot score and the decoder-output query used here (Luong's model passes the joined vector
#   through a `tanh` layer first; here it goes straight into the softmax layer).
# * Y. Wu et al., *Google's Neural Machine Translation System* (2016), arXiv:1609.08144: beam search with length
#   normalisation.
# * The lecture's LSTM video (IBM): https://www.youtube.com/watch?v=b61DPVFX03I
# * Next: notebook 07 uses the same encoder–decoders, plain and with attention, to *reply* instead of translate.

# %%
_ = progress()
