# %% [markdown]
# # 06 · Neural machine translation
# <!-- summary: an LSTM encoder–decoder with teacher forcing translates English number words to French; greedy decoding; exact match vs a dictionary baseline; the same model with attention, and its attention heat-maps -->
# <!-- facts: 2014 (Sutskever, Vinyals and Le; Bahdanau, Cho and Bengio), 2015 (Luong, Pham and Manning) -->
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
# 1. build training pairs and a held-out test set the model has never seen, and a simple baseline to beat;
# 2. turn sentences into integer tokens with a vocabulary, and lay out the three arrays of **teacher forcing**;
# 3. build an LSTM encoder–decoder with the Keras functional API, and the separate **inference** encoder and decoder
#    that reuse its trained layers;
# 4. write the **greedy decoding** loop (the exercise), measure exact-match accuracy and read the errors;
# 5. add **attention**, so the decoder reads every encoder state, compare it with the plain model on the same held-out
#    numbers, and read its attention weights as a heat-map;
# 6. save the trained model as a `.keras` file and load it back.

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
from utils.checks.seq2seq import check_run_decoder
from utils.seq2seq import ATTENTION_LAYER_NAMES, AttentionSeq2Seq, Seq2Seq, check_layers, check_sizes

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

course.setup(seed=6, notebook="06")  # seeds Python, NumPy and TensorFlow; deterministic ops; figure style (utils/course.py)


# %% [markdown]
# ## Make the data: numbers the model will never see
#
# We draw 20,000 numbers between 0 and 99,999 for training and 10,000 *other* numbers for testing. `num2words` writes
# each one in English and in French. The test numbers are never shown to the model, so a good test score means it
# learned the rules of French counting, not a list of answers.

# %% tags=["nbval-check-output"]
MAX_NUMBER = 99_999
train_numbers, test_numbers = s2s.number_split(n_train=20_000, n_test=10_000, max_number=MAX_NUMBER, seed=6)
print(f"{len(train_numbers):,} training numbers, {len(test_numbers):,} test numbers, "
      f"{len(set(train_numbers) & set(test_numbers))} numbers in both")
for number in [71, 80, 81, 200, 201, 21_071]:
    english, french = s2s.number_pairs([number])[0]
    print(f"{number:>6}  {english:<38} → {french}")

# %% [markdown]
# The two sets share no number. Look at the examples: French is not English with the words replaced. The same English
# word *one* becomes *un*, *et un* or nothing at all (*one hundred* → *cent*), and *seventy-one* becomes three words.
#
# Writing tens of thousands of numbers in two languages keeps `num2words` busy for a few seconds, so the training and
# the test sentences get a cell each.

# %% tags=["nbval-check-output"]
train_pairs = s2s.number_pairs(train_numbers)
print(f"{len(train_pairs):,} training pairs, the first: {train_pairs[0]}")

# %% tags=["nbval-check-output"]
test_pairs = s2s.number_pairs(test_numbers)
print(f"{len(test_pairs):,} test pairs, the first: {test_pairs[0]}")

# %% [markdown]
# ## A baseline: a dictionary without grammar
#
# Before training anything, how far does a pocket dictionary get? `s2s.word_dictionary()` knows the French for each
# English number word (*seventy* → *soixante-dix*, *hundred* → *cent*, looked up one word at a time), and
# `dictionary_translate` replaces each English word by its entry, in English order, dropping *and* and commas.

# %% tags=["nbval-check-output"]
dictionary = s2s.word_dictionary()
baseline = [s2s.dictionary_translate(dictionary, english) for english, _ in test_pairs]
baseline_correct = np.array([guess == french for guess, (_, french) in zip(baseline, test_pairs)])
print(f"Dictionary baseline: {baseline_correct.mean():.1%} of the {len(test_pairs):,} test numbers exactly right")
for number in [71, 80, 81, 200, 21_071, 42_537]:
    english, french = s2s.number_pairs([number])[0]
    guess = s2s.dictionary_translate(dictionary, english)
    print(f"{'✓' if guess == french else '✗'} {number:>6}  {guess:<40} (French: {french})")

# %% [markdown]
# The dictionary is right about half the time: whenever French happens to follow English word order (*quarante-deux
# mille cinq cent trente-sept*). It fails on the grammar we listed: *et*, the *s* of *quatre-vingts* and *cents*,
# *soixante et onze* for 71, and the *un* French drops before *cent* and *mille* (*one thousand* is *mille*, where the
# dictionary writes *un mille*). That is the bar the neural model has to clear.

# %% [markdown]
# ## Tokens and vocabularies
#
# A network reads integers, not words. We split each sentence into **tokens** (words, with hyphens and commas as tokens
# of their own, so *quatre-vingt-dix* is `quatre - vingt - dix`), then give each distinct token an id. Each language gets
# its own `WordVocabulary`, built from the *training* sentences only. Ids 0–3 are reserved:
#
# | id | token | meaning |
# |---|---|---|
# | 0 | `''` | padding, to fill short sentences up to the batch's length |
# | 1 | `[UNK]` | a word the vocabulary does not know |
# | 2 | `[start]` | "begin writing", the decoder's first input |
# | 3 | `[end]` | "the sentence is finished", the decoder's last output |

# %% tags=["nbval-check-output"]
english_vocab = s2s.WordVocabulary.from_corpus(s2s.number_tokens(english) for english, _ in train_pairs)
french_vocab = s2s.WordVocabulary.from_corpus(s2s.number_tokens(french) for _, french in train_pairs)
print(f"English vocabulary: {len(english_vocab)} tokens (4 special + {len(english_vocab) - 4} words)")
print(f"French vocabulary:  {len(french_vocab)} tokens (4 special + {len(french_vocab) - 4} words)")
print("French tokens:", " ".join(french_vocab.tokens[4:]))

# %% [markdown]
# About thirty words per language are enough to write every number up to 99,999. The test sentences use no word the
# training sentences lack (otherwise `encode` would raise an error and tell us so).
#
# ## Teacher forcing: what the decoder reads and what it must predict
#
# During training the decoder is given the **true** previous French word at every step and asked for the next one.
# This is *teacher forcing*: the decoder never has to live with its own early mistakes while it learns. For each pair we
# build three arrays:
#
# * `encoder_input`: the English ids, **reversed** and padded at the front to `SOURCE_LENGTH` (reversing puts the first
#   English word right before the first French word, a trick from Sutskever et al. that they found makes learning much easier);
# * `decoder_input`: `[start]` followed by the French ids;
# * `decoder_target`: the French ids followed by `[end]`, one step ahead of `decoder_input`.

# %% tags=["nbval-check-output"]
def to_arrays(pairs):
    """(encoder_input, decoder_input, decoder_target) for a list of (English, French) pairs."""
    english_ids = [english_vocab.encode(s2s.number_tokens(english)) for english, _ in pairs]
    french_ids = [french_vocab.encode(s2s.number_tokens(french)) for _, french in pairs]
    return s2s.teacher_forcing(english_ids, french_ids, source_length=SOURCE_LENGTH, target_length=TARGET_LENGTH)


SOURCE_LENGTH = max(len(s2s.number_tokens(e)) for e, _ in train_pairs + test_pairs)
TARGET_LENGTH = max(len(s2s.number_tokens(f)) for _, f in train_pairs + test_pairs) + 1
train_arrays, test_arrays = to_arrays(train_pairs), to_arrays(test_pairs)
encoder_input, decoder_input, decoder_target = train_arrays
print("shapes:", encoder_input.shape, decoder_input.shape, decoder_target.shape, "(pairs, time steps)")
example = s2s.number_pairs([71])[0]  # 71 is a test number: we only look at its arrays, nothing is trained on it
print(f"71 in the training set: {71 in train_numbers}, in the test set: {71 in test_numbers}; pair: {example}")
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
# In the picture, each box is one time step of an LSTM (notebook 03); the encoder's boxes all share one set of weights,
# and the decoder's another. The only thing that crosses from encoder to decoder is the red arrow: the final short-term
# memory **h** and long-term memory **C** (Keras calls it `c`), two vectors of `units` numbers each. Everything the
# decoder knows about the English sentence has to fit in there.
#
# ## Build the encoder–decoder
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
# (section "Inference" below runs them): the encoder alone, and a decoder that takes one token and a state `[h, c]`
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
# The model is told `SOURCE_LENGTH`, the width of the `encoder_input` rows, and keeps it (it is the shape of its first
# input).

# %% tags=["nbval-check-output"]
UNITS = 64
translator = build_seq2seq(len(english_vocab), len(french_vocab), source_length=SOURCE_LENGTH, embed_dim=32,
                           units=UNITS, learning_rate=1e-2)
translator.model.summary(line_length=100)

# %% [markdown]
# Tens of thousands of parameters (the total is printed above): tiny by translation standards. (The LSTM counts follow
# notebook 03's formula, 4 × (inputs + units + 1) × units.)
#
# ## Train
#
# Four passes (epochs) over the 20,000 pairs, 256 pairs per step, in three cells so that each stays short: one epoch,
# one more, then two more; each `fit` continues from the weights the previous one left. We time each.

# %% tags=["nbval-ignore-output"]
def train(seq2seq, epochs, losses, accuracies):
    """Continue training ``seq2seq`` for ``epochs`` passes; print and append each epoch's loss and accuracy; return
    the seconds taken."""
    started = time.perf_counter()
    history = seq2seq.model.fit(
        [encoder_input, decoder_input], decoder_target, sample_weight=(decoder_target != 0).astype("float32"),
        batch_size=256, epochs=epochs, verbose=0)
    seconds = time.perf_counter() - started
    print(f"trained {epochs} epoch(s) in {seconds:.1f} s on this machine's CPU")
    for loss, accuracy in zip(history.history["loss"], history.history["accuracy"]):
        losses.append(loss)
        accuracies.append(accuracy)
        print(f"epoch {len(losses)}: loss {loss:.4f} nats/token, next-token accuracy (teacher forcing) {accuracy:.2%}")
    return seconds


losses, accuracies = [], []
training_seconds = train(translator, course.epochs(1), losses, accuracies)

# %% [markdown]
# The first cell's time includes TensorFlow building the training step, which happens once.

# %% tags=["nbval-ignore-output"]
training_seconds += train(translator, course.epochs(1), losses, accuracies)

# %% tags=["nbval-ignore-output"]
training_seconds += train(translator, course.epochs(2), losses, accuracies)

# %% [markdown]
# The loss is the average cross-entropy of the true next token, in nats (natural-log units): 0 would mean the model
# puts probability 1 on every right token.

# %% tags=["nbval-check-output"]
_ = course.claim("the training loss falls to under a tenth of its first-epoch value", losses[-1] < losses[0] / 10)
_ = course.claim("next-token accuracy (teacher forcing) ends above 99%", accuracies[-1] > 0.99)

# %% [markdown]
# Next-token accuracy ends above 99%. But that is with teacher forcing, where the decoder always reads the *right*
# previous word. The real test is translating on its own.

# %% [markdown]
# ## Inference: the decoder feeds on its own predictions
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
# ## Exercise 1 · greedy decoding
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
# Saved in utils/seq2seq.py (the reference answer): notebook 07 and the exercise check import it from there
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
# The check runs your loop on pretend decoders whose right answers are known, and names the mistake if it finds one.

# %%
passed = check_run_decoder(run_decoder)
run_decoder = use_reference_if_needed(run_decoder, passed, check_run_decoder)

# %% [markdown]
# Now translate a few test numbers, one at a time, with your loop and the trained decoder:

# %% tags=["nbval-ignore-output"]
def translate(english, max_len=TARGET_LENGTH):
    """French for an English number sentence, by greedy decoding."""
    state = translator.initial_state(english_vocab.encode(s2s.number_tokens(english)))
    ids = run_decoder(translator.step_one, state, s2s.START_ID, s2s.END_ID, max_len)  # greedy: pick=np.argmax
    return s2s.join_number_tokens(french_vocab.decode(ids))


shown = list(range(0, len(test_pairs), 1000))
one_at_a_time = {i: translate(test_pairs[i][0]) for i in shown}
for i in shown:
    english, french = test_pairs[i]
    print(f"{'✓' if one_at_a_time[i] == french else '✗'} {english:<55} → {one_at_a_time[i]}")

# %% [markdown]
# These come from your loop, one number at a time; a ✗ marks a wrong one (which numbers fail, and why, is the subject
# of "The errors it still makes" below). Below, all test numbers are translated in one batch; the first
# claim after the table checks that the batch gives these same translations, right or wrong.

# %% [markdown]
# ## Exact-match accuracy on the 10,000 held-out numbers
#
# A translation counts only if it is **exactly** the French sentence, every word and hyphen. To translate all test
# numbers quickly, `s2s.greedy_decode_batch` runs the same greedy loop for all of them at once (one decoder call per
# step for the whole batch).

# %% tags=["nbval-ignore-output"]
started = time.perf_counter()
predicted_ids = s2s.greedy_decode_batch(translator, test_arrays[0], max_len=TARGET_LENGTH)
predictions = [s2s.join_number_tokens(french_vocab.decode(ids)) for ids in predicted_ids]
model_correct = np.array([guess == french for guess, (_, french) in zip(predictions, test_pairs)])
print(f"Decoded {len(predictions):,} test numbers in {time.perf_counter() - started:.1f} s")
print(pd.DataFrame({
    "exact match on held-out numbers": [f"{baseline_correct.mean():.2%}", f"{model_correct.mean():.2%}"],
    "wrong (of 10,000)": [int((~baseline_correct).sum()), int((~model_correct).sum())],
}, index=["dictionary baseline", "LSTM encoder–decoder"]).to_string())
print(f"(training took {training_seconds:.1f} s)")

# %% tags=["nbval-check-output"]
_ = course.claim("one number at a time (your loop above) gives exactly the batch's translation",
                 all(one_at_a_time[i] == predictions[i] for i in shown))
_ = course.claim("the encoder–decoder gets more than 99% of the held-out numbers exactly right",
                 model_correct.mean() > 0.99)
_ = course.claim("the dictionary baseline gets between 40% and 60% right", 0.4 < baseline_correct.mean() < 0.6)

# %% [markdown]
# On 10,000 numbers it has never seen, the encoder–decoder writes the exact French almost every time (the table counts
# its errors), against about half for the dictionary: it learned the grammar the dictionary lacks (*et*, the *s*
# rules, *soixante et onze*). Your exact numbers depend on your machine (timing) and, slightly, on the order of
# floating-point operations.
#
# ## The errors it still makes
#
# A model that is almost always right is most interesting where it is wrong:

# %% tags=["nbval-ignore-output"]
wrong = np.flatnonzero(~model_correct)
errors = pd.DataFrame({
    "number": test_numbers[wrong],
    "model": [predictions[i] for i in wrong],
    "correct French": [test_pairs[i][1] for i in wrong],
})
print(errors.to_string(index=False) if len(errors) else "No errors on the held-out numbers.")
small_errors, small_test = np.mean(errors["number"] < 1000) if len(errors) else 0.0, np.mean(test_numbers < 1000)
print(f"\n{small_errors:.0%} of the errors are numbers below 1,000; such numbers are {small_test:.1%} of the test set "
      f"and {np.mean(train_numbers < 1000):.1%} of the training set ({np.sum(train_numbers < 1000)} numbers).")

# %% tags=["nbval-check-output"]
_ = course.claim("numbers below 1,000 are at least five times more common among the errors than in the test set",
                 small_errors > 5 * small_test)

# %% [markdown]
# Numbers below 1,000 are far more common among the errors than in the test set. We drew the training numbers
# uniformly from 0 to 99,999, so fewer than one in a hundred is below 1,000: the model has seen thousands of sentences
# of the form "*… mille …*" and only the couple of hundred counted above without *mille*. Read the table: in this
# run most errors get the shape of the sentence right and one part wrong, often a single word (a units word such as
# *treize*, or the *cents* of a round hundred), or two parts swapped. A model is only as good as the data it saw,
# *where* it saw it: a uniform sample of numbers is not a uniform sample of sentence shapes.
#
# Errors are also sticky: each word the decoder writes is its next input, so a first slip is never corrected. And the
# decoder writes everything from one fixed-size memory `[h, c]`; attention, next, was invented to remove that
# bottleneck.

# %% [markdown]
# ## Attention: the decoder reads every encoder state
#
# The plain decoder gets one message from the encoder, the final `[h, c]`, and must write the whole French sentence
# from it. **Attention** (Bahdanau, Cho and Bengio, 2014; Luong, Pham and Manning, 2015) keeps *all* the encoder's
# states, one `h` per English token, and lets the decoder look back at them at every step:
#
# 1. the decoder LSTM runs as before and gives its output for this step, the **query**;
# 2. Keras' `Attention` layer scores each encoder state by its dot product with the query (how much the two vectors
#    point the same way), skipping the padding, and a softmax turns the scores into **weights** that sum to 1;
# 3. the weighted sum of the encoder states, the **context**, is joined to the decoder output, and the softmax layer
#    reads both to choose the next French token.
#
# The weights say where the decoder looked in the English sentence while writing each French word: we will draw
# them. The wiring is the one of `training_model` and `inference_models` with one more layer, `"attention"`. The
# encoder LSTM now returns its whole sequence of states (`return_sequences=True`), and `compute_mask` gives the
# padding mask that its embedding already uses, so attention never reads a padded position. The one-step decoder
# takes the encoder states and the mask as inputs next to `h` and `c`: its state is
# `[encoder states, source mask, h, c]`, and a step passes the first two on unchanged, so `run_decoder` and
# `greedy_decode_batch` work as they are.

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
# The same embeddings (32 numbers) and learning rate as the plain translator, but half its units: attention costs
# time at every step, and half the units keep this notebook within its running-time budget. So the comparison is
# deliberately not in attention's favour: a smaller model with attention against the larger plain one.

# %% tags=["nbval-check-output"]
ATTENTION_UNITS = UNITS // 2
attentive = build_attention_seq2seq(len(english_vocab), len(french_vocab), source_length=SOURCE_LENGTH, embed_dim=32,
                                    units=ATTENTION_UNITS, learning_rate=1e-2)
print(f"parameters: plain {translator.model.count_params():,}, with attention {attentive.model.count_params():,}")

# %% [markdown]
# ### Train it on the same data, for the same four epochs
#
# Same pairs, same batches of 256, same `train` function, in the same three cells. Its random start also follows
# from the seed set by `course.setup`, but differs from the plain model's.

# %% tags=["nbval-ignore-output"]
attention_losses, attention_accuracies = [], []
attention_seconds = train(attentive, course.epochs(1), attention_losses, attention_accuracies)

# %% tags=["nbval-ignore-output"]
attention_seconds += train(attentive, course.epochs(1), attention_losses, attention_accuracies)

# %% tags=["nbval-ignore-output"]
attention_seconds += train(attentive, course.epochs(2), attention_losses, attention_accuracies)

# %% [markdown]
# ### Both models on the same 10,000 held-out numbers
#
# Exact match overall and by the length of the English sentence in words (hyphens and commas not counted, so
# *seventy-one* is two words), the held-out loss in nats per token (`s2s.per_token_loss`, a finer measure than exact
# match: it also counts how sure the model was of each right word), and the training time. Unlike exact match, which
# scores the model's own greedy translations, the held-out loss is teacher-forced: at each step the decoder is fed the
# true previous French token, as in training, so one wrong word does not derail the rest of the sentence.

# %% tags=["nbval-ignore-output"]
attention_ids = s2s.greedy_decode_batch(attentive, test_arrays[0], max_len=TARGET_LENGTH)
attention_correct = np.array([s2s.join_number_tokens(french_vocab.decode(ids)) == french
                              for ids, (_, french) in zip(attention_ids, test_pairs)])
test_loss = {"plain": s2s.per_token_loss(translator, *test_arrays, batch_size=2500),
             "attention": s2s.per_token_loss(attentive, *test_arrays, batch_size=2500)}
words = np.array([sum(token not in ("-", ",") for token in s2s.number_tokens(english)) for english, _ in test_pairs])
length = pd.cut(words, [0, 4, 5, 6, 7, 8], labels=["1–4", "5", "6", "7", "8"])
by_length = pd.DataFrame({"numbers": words, "plain": model_correct, "attention": attention_correct}).groupby(
    length, observed=True).agg(numbers=("numbers", "size"), plain=("plain", "mean"), attention=("attention", "mean"))
by_length.loc["all"] = [len(words), model_correct.mean(), attention_correct.mean()]
by_length["plain wrong"] = (by_length["numbers"] * (1 - by_length["plain"])).round().astype(int)
by_length["attention wrong"] = (by_length["numbers"] * (1 - by_length["attention"])).round().astype(int)
print(by_length.rename_axis("English words").to_string(formatters={"plain": "{:.2%}".format,
                                                                   "attention": "{:.2%}".format}))
print(f"\nheld-out loss (nats/token): plain {test_loss['plain']:.4f}, attention {test_loss['attention']:.4f}")
print(f"training seconds (4 epochs): plain {training_seconds:.1f}, attention {attention_seconds:.1f}")
print("training loss by epoch, plain:    ", " ".join(f"{loss:.4f}" for loss in losses))
print("training loss by epoch, attention:", " ".join(f"{loss:.4f}" for loss in attention_losses))

# %% tags=["nbval-check-output"]
short = words <= 4
_ = course.claim("both models get more than 99% of the held-out numbers exactly right",
                 min(model_correct.mean(), attention_correct.mean()) > 0.99)
_ = course.claim("the two exact-match scores are within 0.3 percentage points of each other",
                 abs(model_correct.mean() - attention_correct.mean()) < 0.003)
_ = course.claim("the plain model makes fewer exact-match errors than the attention model",
                 (~model_correct).sum() < (~attention_correct).sum())
_ = course.claim("both models get numbers of 1–4 words wrong at more than ten times the rate of longer ones",
                 all((~ok[short]).mean() > 10 * (~ok[~short]).mean() for ok in (model_correct, attention_correct)))
_ = course.claim("on numbers of 1–4 words, the attention model makes more errors than the plain one",
                 (~attention_correct[short]).sum() > (~model_correct[short]).sum())

# %% [markdown]
# With half the units, and fewer than half the parameters (printed above), the attention model comes close to the
# plain one, but the plain model makes fewer exact-match errors (the table's last row): both translate more than 99%
# of the held-out numbers exactly, within 0.3 percentage points of each other. The held-out losses are close too, and
# need not rank the models the same way (in the run printed above, the attention model's loss is slightly the lower
# one): the teacher-forced loss also rewards being sure of the right words, while exact match counts only the
# numbers whose whole translation comes out wrong. All these differences are small, a few dozen numbers out of
# 10,000. Both models make most of their errors on short numbers (1–4 words), which are rare in a uniform sample:
# there, both err at more than ten times their rate on longer ones, and the attention model makes more errors on
# them than the plain one (the table's first row). Attention does not make up for data the model hardly saw. At the
# other lengths each model makes only a handful of errors, too few to rank the two by length. The training seconds
# of both are printed above; they move with the machine and its load, so read them as a rough cost, not as a race.
#
# What attention adds here is not accuracy, since the plain model leaves almost nothing to fix on sentences this short,
# but a view into the translation: its weights say where the decoder looked.
#
# ### Where the decoder looks: attention heat-maps
#
# `s2s.attention_map` translates one number greedily, as `translate` did, and keeps the attention weights of every
# step: one row per French token written (and the step that chose `[end]`), one column per English token, in reading
# order. We pick three held-out numbers where the two languages do not line up word by word.

# %% tags=["nbval-ignore-output"]
heat_numbers = [71, 71_991, 99_397]  # all three are held-out numbers (the claim below checks)
fig, axes = plt.subplots(1, 3, figsize=(15, 6.5), layout="constrained",
                         gridspec_kw={"width_ratios": [1.2, 2.6, 2.6]})
fig.get_layout_engine().set(wspace=0.06)  # room between panels for the next panel's French row labels
heat_maps = {}
for ax, number in zip(axes, heat_numbers):
    english, french = s2s.number_pairs([number])[0]
    source = s2s.number_tokens(english)
    ids, weights = s2s.attention_map(attentive, english_vocab.encode(source), max_len=TARGET_LENGTH)
    written = french_vocab.decode(ids) + ["[end]"]
    heat_maps[number] = (source, written[: len(weights)], weights)
    print(f"{number:>6}:", ", ".join(f"{w} <- {source[int(row.argmax())]}" for w, row in zip(written, weights)))
    ax.imshow(weights, cmap="viridis", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
    ax.grid(False)  # the style's grid lines would cut through the cells
    ax.set_xticks(range(len(source)), source, rotation=60, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(len(weights)), written[: len(weights)])
    ax.set_xlabel("English source (reading order)")
    guess = s2s.join_number_tokens(french_vocab.decode(ids))
    title = f"{number:,}: {'✓' if guess == french else '✗'} {guess}"
    ax.set_title(textwrap.fill(title, width=22 if number < 1000 else 44), fontsize=9)  # wrapped to its panel
axes[0].set_ylabel("French output, one row per decoder step")
fig.colorbar(axes[-1].images[0], ax=axes, shrink=0.6, label="attention weight (each row sums to 1)")
plots.show(fig, alt="Three heat-maps of the attention model's weights, one per held-out number (71, 71,991 and "
                    "99,397): rows are the French tokens it wrote, columns the English source tokens in reading "
                    "order, brighter means more weight, and each row sums to 1. The bright cells run from top left "
                    "to bottom right, mostly one English word per French word: neuf at nine, trois at three, cent "
                    "at hundred, sept at seven. Every quatre, vingt and dix of quatre-vingt-onze and "
                    "quatre-vingt-dix looks at ninety; in 71, soixante and onze look at seventy and et at one; "
                    "mille does not look at thousand.")

# %% tags=["nbval-check-output"]
def strongest_source(number, french_word):
    """The English token that gets the most attention on the first step that writes ``french_word``."""
    source, written, weights = heat_maps[number]
    return source[int(weights[written.index(french_word)].argmax())]


_ = course.claim("the three numbers of the heat-maps are held-out numbers", set(heat_numbers) <= set(test_numbers))
_ = course.claim("each row of attention weights sums to 1",
                 all(np.allclose(weights.sum(axis=1), 1, atol=1e-4) for _, _, weights in heat_maps.values()))
_ = course.claim("writing neuf (71,991) and sept (99,397), the decoder looks most at nine and at seven",
                 [strongest_source(71_991, "neuf"), strongest_source(99_397, "sept")] == ["nine", "seven"])
_ = course.claim("writing trois (99,397), it looks most at three or at the comma beside it",
                 strongest_source(99_397, "trois") in ("three", ","))
_ = course.claim("writing the et of 71 and of 71,991, it looks most at one, not at seventy",
                 strongest_source(71, "et") == strongest_source(71_991, "et") == "one")
source_71, written_71, weights_71 = heat_maps[71]
_ = course.claim("writing the soixante and the onze of soixante et onze (71 and 71,991), it looks most at seventy",
                 all(strongest_source(number, word) == "seventy" for number in (71, 71_991)
                     for word in ("soixante", "onze")))
_ = course.claim("writing cent, it looks most at hundred, in both numbers",
                 all(strongest_source(number, "cent") == "hundred" for number in (71_991, 99_397)))
_ = course.claim("every quatre, vingt and dix of 71,991 and 99,397 looks most at ninety",
                 all(source[int(row.argmax())] == "ninety" for source, written, weights in
                     (heat_maps[71_991], heat_maps[99_397])
                     for word, row in zip(written, weights) if word in ("quatre", "vingt", "dix")))
_ = course.claim("writing mille, it looks most at another token than thousand, in both numbers",
                 all(strongest_source(number, "mille") != "thousand" for number in (71_991, 99_397)))

# %% [markdown]
# Read each row as one decoder step: the bright cells are the English tokens whose encoder states it read (the lines
# printed above name the brightest of each row). The bright cells follow the English sentence from the top left to the
# bottom right, mostly one English word per French word: *neuf* looks at *nine*, *trois* at *three* (or the comma
# beside it), *cent* at *hundred*, *sept* at *seven*.
#
# The telling rows are where the two languages part. One English word can become several French ones: every
# *quatre*, *vingt* and *dix* of *quatre-vingt-onze* and *quatre-vingt-dix-…* looks at *ninety*. In 71 the English
# words are shared out differently: *soixante* looks at *seventy*, *et* at *one* (the English units word is what
# calls for the *et*), and *onze* back at *seventy*: French counts 71 as "sixty and eleven", so the ten inside
# *seventy* ends up in *onze*. And *mille* does not look at *thousand* in either number: attention is not the
# decoder's only source, since its LSTM started from the encoder's final `[h, c]`, which has read the whole sentence.

# %% [markdown]
# ## Save and reload
#
# The training model holds every weight; `.keras` is Keras 3's single-file format. `s2s.load_seq2seq` loads it and
# rebuilds the inference encoder and decoder with `inference_models`, from the loaded layers, which it finds by their
# names.

# %% tags=["nbval-ignore-output"]
path = s2s.save_seq2seq(translator, s2s.OUTPUT_DIR / "nmt_numbers.keras")
reloaded = s2s.load_seq2seq(path)
again = s2s.greedy_decode_batch(reloaded, test_arrays[0][:200], max_len=TARGET_LENGTH)
print(f"saved {path.name} ({path.stat().st_size / 1024:.0f} KiB);",
      "reloaded model gives the same 200 translations:", again == predicted_ids[:200])

# %% [markdown]
# ## Key takeaways
#
# * An **encoder–decoder** maps a sequence to a sequence of a different length: the encoder's final `[h, c]` is the
#   whole message the decoder gets.
# * **Teacher forcing** trains the decoder on the true previous token; at **inference** it feeds on its own
#   predictions, with a separate one-step decoder model built from the same trained layers.
# * **Greedy decoding** picks the most probable token at each step until `[end]`.
# * Measure on **held-out** data with a strict metric (exact match), against a baseline: here a dictionary gets about
#   half right, a small LSTM encoder–decoder more than 99%, after a short CPU training run.
# * The remaining errors are far more common on **short numbers**, which are rare in a uniform sample of
#   0 … 99,999: a model is only as good as the data it saw, where it saw it.
# * One sentence on its own must reach the encoder exactly as a row of the batch did in training: the model keeps its
#   source length and masks padding, so translating one number gives the batch's answer.
# * **Attention** lets the decoder read every encoder state, weighted anew at each step. On these numbers its exact
#   match is close to the plain model's (both above 99%, the attention model with half the units), though the plain
#   model makes fewer errors, and the two held-out losses are close; the differences are small. Its heat-maps show
#   where it looks: mostly one English word per French word, several French words from one English word
#   (*quatre-vingt-dix* from *ninety*), and the *et* of *soixante et onze* from the English *one*.
#
# ## More exercises
#
# 1. Train without reversing the source: in a copy of `to_arrays`, replace the `encoder_input` that
#    `s2s.teacher_forcing` returns by `s2s.source_array(english_ids, SOURCE_LENGTH, reverse=False)`, and score with
#    `s2s.greedy_decode_batch` on those arrays (`translator.initial_state` always reverses). How many epochs does it
#    need to reach the same accuracy?
# 2. Add all numbers below 1,000 that are not in the test set to the training set. Do the small-number errors go?
# 3. Shrink the training set to a tenth of its size. Which kinds of numbers break first?
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
#   arXiv:1508.04025: the decoder-output query and the context joined before the softmax, close to the model here
#   (Luong's passes the joined vector through a `tanh` layer first; here it goes straight into the softmax layer).
# * The lecture's LSTM video (IBM): https://www.youtube.com/watch?v=b61DPVFX03I
# * Next: notebook 07 uses the same encoder–decoders, plain and with attention, to *reply* instead of translate.

# %%
_ = progress()
