# %% [markdown]
# # 07 · Sequence-to-sequence chat model
# <!-- summary: the same encoder–decoder on real dialogues; greedy and temperature sampling; held-out loss vs a unigram baseline; what such models cannot do -->
# <!-- facts: 2014 2015 2017 (years of the papers cited) -->
#
# Notebook 06 translated English into French with an LSTM **encoder–decoder**. Nothing in that model knows it is
# translating: it maps one sequence of tokens to another. Feed it a *message* and train it to produce the *reply*, and
# the same machine becomes a chat model. This is how the first neural chatbots were built (Vinyals and Le, *A Neural
# Conversational Model*, 2015), and it is the lecture's last encoder–decoder example: an LSTM encoder reads the prompt,
# an LSTM decoder writes the answer.
#
# This notebook is also about **honesty**. Translation of numbers has one right answer and a model can get nearly all
# of them;
# conversation has many acceptable answers, our corpus is tiny, and the model will be far from a chatbot you would
# want to talk to. We measure *how much* it learned, with a number, against a baseline that knows nothing.
#
# **Learning objectives.** After this notebook you can
#
# 1. load a real dialogue corpus and split it so that held-out prompts are truly unseen;
# 2. vectorise text at the word level with Keras' `TextVectorization`;
# 3. reuse the encoder–decoder of notebook 06 (saved in `utils/seq2seq.py`) on a new task;
# 4. measure a language model by its **held-out per-token loss** and compare it with a **unigram baseline**;
# 5. generate replies by **greedy decoding** and by **temperature sampling**, and say what such a model cannot do.

# %% [markdown]
# ## Setup
#
# `utils` is this course's package (the `utils/` folder): data loaders, plots, exercise checks and the code that
# several notebooks share. It comes before Keras because it keeps TensorFlow's start-up log quiet.
# `course.setup(seed=7)` seeds Python, NumPy and TensorFlow, so that a rerun gives the same numbers.

# %%
import time

from utils import course, plots  # first, before Keras: see utils/__init__.py
from utils import seq2seq as s2s
from utils.checks import progress, use_reference_if_needed
from utils.checks.seq2seq import check_apply_temperature

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

course.setup(seed=7)  # seeds Python, NumPy and TensorFlow; deterministic ops; figure style (utils/course.py)


# %% [markdown]
# ## The corpus: chatterbot-corpus dialogues
#
# The `chatterbot-corpus` package ships small hand-written conversations as YAML files, one per topic (greetings,
# computers, emotions, trivia, tech support, ...), so nothing is downloaded. Each conversation is a list of lines;
# every two consecutive lines make one (prompt, reply) pair. `s2s.chat_pairs()` reads them all and drops exact
# duplicates.

# %%
# NBVAL_CHECK_OUTPUT
pairs = s2s.chat_pairs()
print(f"{len(pairs):,} (prompt, reply) pairs from {len(list(s2s.chatterbot_dir().glob('*.yml')))} topic files")
for prompt, reply in pairs[::450]:
    print(f"  {prompt!r:<45} → {reply!r}")

# %% [markdown]
# 1,176 pairs: a *very* small corpus (the 2015 paper used tens of millions of sentences of movie subtitles and IT
# helpdesk chats). Some prompts have several replies, and many lines are questions with factual answers.
#
# ## Held-out prompts the model never sees
#
# Many prompts appear several times with different replies. If "What is AI?" were in training with one reply and in
# the test set with another, the test would reward memorising. So `s2s.split_by_prompt` puts **all** pairs of a prompt
# on the same side: 10% of the distinct prompts go to the test set, 10% of the rest to a validation set (used to decide
# when to stop training), and the remainder to training.

# %%
# NBVAL_CHECK_OUTPUT
HELD_OUT = 0.1
train_val, test = s2s.split_by_prompt(pairs, test_fraction=HELD_OUT, seed=7)
train, val = s2s.split_by_prompt(train_val, test_fraction=HELD_OUT, seed=8)
print(f"{HELD_OUT:.0%} of the distinct prompts held out for testing, {HELD_OUT:.0%} of the rest for validation")
print(f"train {len(train):,} pairs, validation {len(val):,}, test {len(test):,}")
print("prompts in both train and test:", len({p for p, _ in train} & {p for p, _ in test}))

# %% [markdown]
# ## Word-level vectorisation with Keras
#
# Keras' `TextVectorization` layer lowercases, strips punctuation, splits on spaces and maps each word to an id. We
# *adapt* it on the training prompts and replies only (the test set must not shape the vocabulary), and keep the 1,000
# most frequent tokens; rarer words become `[UNK]`. `s2s.keras_word_vectorizer` also reserves the ids notebook 06 used:
# 0 padding, 1 `[UNK]`, 2 `[start]`, 3 `[end]`, so the same encoder–decoder code works unchanged.

# %%
# NBVAL_CHECK_OUTPUT
vectorizer, vocab = s2s.keras_word_vectorizer([p for p, _ in train] + [r for _, r in train], max_tokens=1000)
print(f"vocabulary: {len(vocab):,} tokens; first words: {vocab.tokens[4:16]}")
example = "Hello, how are you doing today?"
ids = np.asarray(vectorizer([example]))[0]
print(f"{example!r} → {ids[ids > 0].tolist()} → {vocab.decode(ids)}")

# %% [markdown]
# The punctuation is gone and the words are lowercase: that is the layer's default standardisation. Now the three
# teacher-forcing arrays, as in notebook 06. Prompts are cut to 16 words and replies to 24 (including `[end]`); that
# keeps nearly all replies whole (the cell counts the ones it cuts).

# %%
# NBVAL_CHECK_OUTPUT
SOURCE_LENGTH, TARGET_LENGTH = 16, 24


def word_ids(texts):
    """Lists of word ids (no padding) for a list of texts, by the Keras vectorizer."""
    rows = np.asarray(vectorizer(list(texts)))
    return [row[row > 0].tolist() for row in rows]


def to_arrays(pairs):
    """(encoder_input, decoder_input, decoder_target) for (prompt, reply) pairs; pairs with an empty side dropped."""
    prompts, replies = word_ids(p for p, _ in pairs), word_ids(r for _, r in pairs)
    kept = [(p, r) for p, r in zip(prompts, replies) if p and r]
    return s2s.teacher_forcing([p for p, _ in kept], [r for _, r in kept], SOURCE_LENGTH, TARGET_LENGTH)


train_arrays, val_arrays, test_arrays = to_arrays(train), to_arrays(val), to_arrays(test)
reply_lengths = np.array([len(r) for r in word_ids(r for _, r in train)])
print(f"arrays: {train_arrays[0].shape} prompts, {train_arrays[2].shape} replies (train)")
print(f"replies cut at {TARGET_LENGTH - 1} words: {np.mean(reply_lengths > TARGET_LENGTH - 1):.1%} of training replies")
_ = course.claim("over nine in ten training replies fit whole", np.mean(reply_lengths > TARGET_LENGTH - 1) < 0.1)
test_tokens = test_arrays[2][test_arrays[2] > 0]
print(f"test reply tokens: {test_tokens.size:,}, of which [UNK]: {np.mean(test_tokens == s2s.UNK_ID):.1%}")

# %% [markdown]
# ## The baseline: a unigram model
#
# How do we score a reply generator? There is no single right answer to "How are you?". Instead we ask how much
# probability the model gives to the **actual** held-out reply, word by word: the **per-token loss**
# $-\frac{1}{N}\sum \ln p(\text{true next token})$, in nats per token (lower is better; $e^{\text{loss}}$ is the
# *perplexity*, the number of equally likely words the model is effectively choosing between).
#
# The baseline ignores the prompt and every previous word: it predicts each next token with its frequency in the
# training replies (a **unigram** model, with add-one smoothing so no word has probability 0). We score it on the same
# held-out tokens.

# %%
# NBVAL_CHECK_OUTPUT
unigram_test = s2s.unigram_loss(train_arrays[2], test_arrays[2], len(vocab))
print(f"Unigram baseline on held-out replies: {unigram_test:.3f} nats/token (perplexity {np.exp(unigram_test):.0f})")

# %% [markdown]
# ## Build and train the same encoder–decoder
#
# `s2s.build_seq2seq` is the function written in notebook 06 and saved in `utils/seq2seq.py`; only the vocabulary
# changes (the same word list on both sides here) and the sizes grow a little: 64-number embeddings, 96 LSTM units.
# The prompt's length, `SOURCE_LENGTH`, is part of the model: a prompt that is replied to on its own is laid out
# (cut, reversed, padded) exactly like the training prompts. With so little data the model can memorise the training
# replies, so we watch the **validation** loss and stop when it stops improving (`EarlyStopping`, keeping the best
# weights). The test set stays untouched until the end.

# %%
# NBVAL_CHECK_OUTPUT
chatbot = s2s.build_seq2seq(len(vocab), len(vocab), source_length=SOURCE_LENGTH, embed_dim=64, units=96,
                            learning_rate=1e-2)
print(f"{chatbot.model.count_params():,} parameters")

# %% [markdown]
# Training runs in three cells, so each stays short: two epochs, then twice up to four more that continue from the
# same weights. Each cell stops early if the validation loss stops improving for two epochs. The first cell's time
# includes TensorFlow building the training and validation steps, which happens once.

# %%
# NBVAL_IGNORE_OUTPUT
def weights(arrays):
    """Loss weight 1 for real target tokens, 0 for padding."""
    return (arrays[2] != 0).astype("float32")


def train(epochs):
    """Continue training for up to ``epochs`` epochs; record the losses in ``curves``; print what happened."""
    started = time.perf_counter()
    history = chatbot.model.fit(
        list(train_arrays[:2]), train_arrays[2], sample_weight=weights(train_arrays),
        validation_data=(list(val_arrays[:2]), val_arrays[2], weights(val_arrays)),
        batch_size=64, epochs=epochs, verbose=0,
        callbacks=[keras.callbacks.EarlyStopping(patience=2, restore_best_weights=True)])
    for key in curves:
        curves[key] += history.history[key]
    print(f"trained {len(history.history['loss'])} epochs in {time.perf_counter() - started:.1f} s; "
          f"validation loss {curves['val_loss'][-1]:.3f} nats/token after epoch {len(curves['val_loss'])}")


curves = {"loss": [], "val_loss": []}
train(course.epochs(2))

# %%
# NBVAL_IGNORE_OUTPUT
train(course.epochs(4))

# %%
# NBVAL_IGNORE_OUTPUT
train(course.epochs(4))

# %% [markdown]
# The learning curves of the three training cells, joined, with the unigram baseline's loss on the same validation
# replies as a dashed line (`plots.plot_learning_curves` draws the curves, as in notebook 08).

# %%
# NBVAL_IGNORE_OUTPUT
unigram_val = s2s.unigram_loss(train_arrays[2], val_arrays[2], len(vocab))
ax = plots.plot_learning_curves(curves, "Chat model: per-token loss while training (validation: unseen prompts)",
                                loss_label="cross-entropy (nats / token)")
ax.axhline(unigram_val, color="gray", linestyle="--", label="unigram baseline (validation)")
ax.legend()
plots.show(ax.figure, alt="Line chart of the chat model's per-token cross-entropy per epoch, for training (with teacher "
                         "forcing) and for validation (unseen prompts), with a dashed line for the unigram baseline on "
                         "validation. Notice that the training loss starts above the validation loss and ends below it, "
                         "and that the validation loss ends below the unigram baseline, still falling in the last epoch.")

# %%
# NBVAL_CHECK_OUTPUT
_ = course.claim("the training loss of the first epoch is above its validation loss",
                 curves["loss"][0] > curves["val_loss"][0])
_ = course.claim("the training loss ends below the validation loss", curves["loss"][-1] < curves["val_loss"][-1])
_ = course.claim("the validation loss ends below the unigram baseline", curves["val_loss"][-1] < unigram_val)
_ = course.claim("the validation loss was still falling in the last epoch",
                 len(curves["val_loss"]) > 1 and curves["val_loss"][-1] < curves["val_loss"][-2])

# %% [markdown]
# The training loss is averaged while the weights are still changing during each epoch, so in the first epoch it is
# above the validation loss; it then falls faster and ends below it. The validation loss (prompts never trained on)
# ends below the unigram baseline (the dashed line); the last claim above says whether it was still falling in the
# last epoch (then more training would still help) or had flattened. The test
# set is scored only once, below.
#
# ## Held-out loss: model against baseline

# %%
# NBVAL_IGNORE_OUTPUT
model_test = s2s.per_token_loss(chatbot, *test_arrays)
print(pd.DataFrame({
    "held-out loss (nats/token)": [round(unigram_test, 3), round(model_test, 3)],
    "perplexity": [round(float(np.exp(unigram_test)), 1), round(float(np.exp(model_test)), 1)],
}, index=["unigram baseline", "LSTM encoder–decoder"]).to_string())
print(f"tokens scored: {test_tokens.size:,} (the same held-out reply tokens for both)")
gain = unigram_test - model_test
print(f"the model's loss is {gain:.2f} nats/token lower: it gives the true next word e^{gain:.2f} = "
      f"{np.exp(gain):.1f} times the baseline's probability, on average (geometric mean)")

# %%
# NBVAL_CHECK_OUTPUT
_ = course.claim("the encoder–decoder beats the unigram baseline on the held-out replies", model_test < unigram_test)
_ = course.claim("its held-out perplexity is well above ten: it is still unsure of most words",
                 np.exp(model_test) > 10)

# %% [markdown]
# On the same held-out reply tokens, the encoder–decoder's loss is lower than the unigram baseline's: the cell prints
# by how much, and how many times more probability it gives, on average, to the true next word. So it did learn
# something that carries over to unseen prompts, mostly which words start a reply and which words tend to follow
# which. Two caveats keep this modest: almost a quarter of the held-out tokens are `[UNK]` (rare words, which both
# models score the same way), and its perplexity (printed in the table) means the model is still as unsure as if it
# chose among that many equally likely words at every step. Lower loss than a baseline is not the same as good replies, as we are
# about to see.
#
# ## Exercise 1 · temperature
#
# Sampling replies needs one small function. Given the model's probabilities $p_i$ for the next word and a temperature
# $T > 0$, return the reweighted probabilities
#
# $$q_i = \frac{p_i^{1/T}}{\sum_j p_j^{1/T}}.$$
#
# $T = 1$ changes nothing; $T < 1$ makes likely words likelier (towards greedy decoding); $T > 1$ flattens the
# distribution (towards uniformly random words).

# %%
def apply_temperature(probabilities, temperature):
    """Reweight a probability vector (vocab,) to p^(1/T), renormalised to sum to 1."""
    ### BEGIN SOLUTION
    weights = np.power(np.asarray(probabilities, dtype=float), 1.0 / temperature)
    return weights / weights.sum()
    ### END SOLUTION


# %%
passed = check_apply_temperature(apply_temperature)
apply_temperature = use_reference_if_needed(apply_temperature, passed, s2s.apply_temperature)

# %% [markdown]
# What temperature does to the model's first word of a reply to "How are you?": the five most likely words at
# three temperatures.

# %%
# NBVAL_IGNORE_OUTPUT
first_word = chatbot.step_one(s2s.START_ID, chatbot.initial_state(word_ids(["How are you?"])[0]))[0]
top = np.argsort(first_word)[::-1][:5]
print(pd.DataFrame({f"T = {t}": np.round(apply_temperature(first_word, t)[top], 3) for t in (0.5, 1.0, 2.0)},
                   index=[vocab.tokens[i] for i in top]).to_string())

# %% [markdown]
# Read the table across: at $T = 0.5$ the likeliest word takes an even larger share, at $T = 2$ the five come closer
# together. That holds for any model: $p^{1/T}$ squares the ratio of any two probabilities at $T = 0.5$ and takes its
# square root at $T = 2$.
#
# ## Replies: greedy and sampled
#
# `reply(prompt)` vectorises the prompt, runs the encoder, and decodes a reply with notebook 06's loop, `run_decoder`,
# never writing `[UNK]` (we set its probability to 0 at each step). Greedy and sampled replies differ only in how the
# loop picks each word: `np.argmax` when `temperature=None`, otherwise a random draw from the probabilities your
# `apply_temperature` returns.

# %%
rng = np.random.default_rng(7)


def step_without_unk(token, state):
    """One decoder step that never proposes [UNK]: a reply made of "unknown word" tokens says nothing."""
    probabilities, state = chatbot.step_one(token, state)
    probabilities = probabilities.copy()
    probabilities[s2s.UNK_ID] = 0.0
    return probabilities / probabilities.sum(), state


def reply(prompt, temperature=None, max_len=TARGET_LENGTH):
    """The chat model's reply to ``prompt``: greedy when temperature is None, else temperature sampling."""
    prompt_ids = word_ids([prompt])[0] or [s2s.UNK_ID]  # a prompt of unknown words is one [UNK]
    state = chatbot.initial_state(prompt_ids)  # laid out like the training prompts: cut, reversed, padded
    if temperature is None:
        pick = np.argmax  # greedy: the most probable word
    else:
        pick = lambda p: rng.choice(len(p), p=apply_temperature(p, temperature))  # sample: draw a word
    ids = s2s.run_decoder(step_without_unk, state, s2s.START_ID, s2s.END_ID, max_len, pick)
    return " ".join(vocab.decode(ids))


print(reply("Hello"))

# %% [markdown]
# Greedy replies to held-out prompts the model has never seen, next to the corpus' own reply:

# %%
# NBVAL_IGNORE_OUTPUT
greedy_replies = []
for prompt, true_reply in test[::max(1, len(test) // 10)][:10]:
    greedy_replies.append(reply(prompt))
    print(f"prompt:  {prompt}\n  model:  {greedy_replies[-1]}\n  corpus: {true_reply}\n")
print(f"{len(set(greedy_replies))} different replies to {len(greedy_replies)} prompts")

# %%
# NBVAL_CHECK_OUTPUT
_ = course.claim("greedy replies repeat: fewer different replies than prompts",
                 len(set(greedy_replies)) < len(greedy_replies))

# %% [markdown]
# Greedy replies are short and generic: a few stock replies (the cell counts them) cover all the prompts. They start
# with the openings most common in the corpus' replies (*i am …*, *heres a …*, from "Here's a …"), chosen by the
# *kind* of prompt rather than its meaning; trivia questions, whose answers are rare words the model never learned to
# produce, get a stock reply too. This is the **bland reply** problem of greedy chat models.
#
# The same prompt, sampled three times at each of three temperatures:

# %%
# NBVAL_IGNORE_OUTPUT
sampled_words = {0.5: set(), 1.0: set(), 1.5: set()}
for prompt in ["What is your favorite movie?", "My computer is very slow."]:
    print(f"prompt: {prompt}")
    for temperature in sampled_words:
        for _ in range(3):
            sample = reply(prompt, temperature)
            sampled_words[temperature] |= set(sample.split())
            print(f"  T={temperature}: {sample}")
print("different words in the six samples:", {t: len(words) for t, words in sampled_words.items()})

# %%
# NBVAL_CHECK_OUTPUT
_ = course.claim("the samples at T = 1.5 use more different words than those at T = 0.5",
                 len(sampled_words[0.5]) < len(sampled_words[1.5]))

# %% [markdown]
# The samples at $T = 1.5$ use more different words than those at $T = 0.5$ (counted above, and checked by the
# claim; six samples per temperature are few, so the claim compares only the two ends). At $T = 0.5$ the samples
# mostly keep the stock openings; at $T = 1.5$ they become word salad mixing every topic of the corpus (Python
# names, emotions, computers, people). Sampling buys variety, not understanding.
#
# Try your own: edit the text and run the cell.

# %%
# NBVAL_IGNORE_OUTPUT
print(reply("Do you like music?"))
print(reply("Do you like music?", temperature=0.8))

# %% [markdown]
# ## What this model cannot do, and what came after
#
# * **It has no memory of the conversation.** Each reply depends only on the last message; ask "What did I just say?"
#   and it cannot know. Chatbots that hold a dialogue feed the whole history back in.
# * **It knows only its 955 training pairs.** Facts, names and words outside them are `[UNK]` or never produced. It
#   does not *understand* the prompt; it maps word patterns to likely word patterns.
# * **Greedy decoding is bland.** The most probable reply is often a generic one that fits many prompts; sampling adds
#   variety and also nonsense. Beam search (keeping several candidate replies) helps a little.
# * **One fixed-size memory is a bottleneck.** The encoder must squeeze the whole prompt into `[h, c]`. **Attention**
#   (Bahdanau, Cho and Bengio, 2014) lets the decoder look back at every encoder step and weigh them, which fixed long
#   sentences in translation. The **Transformer** (Vaswani et al., *Attention Is All You Need*, 2017) drops the
#   recurrence altogether and uses attention only, so it trains in parallel over the whole sequence; scaled up to
#   billions of parameters and trained on much of the web, it became the large language models behind today's chat
#   assistants.
#
# ## Key takeaways
#
# * A chat model is an encoder–decoder trained on (message, reply) pairs: the same code as translation.
# * Split by prompt so held-out prompts are unseen, and let a validation set decide when to stop.
# * Score a generator by the held-out **per-token loss** of the true replies, next to a **unigram** baseline.
# * Greedy decoding is repetitive, temperature sampling trades safety for variety; neither adds knowledge.
# * Attention and Transformers removed the single-vector bottleneck that limits this model.
#
# ## Further reading
#
# * O. Vinyals, Q. V. Le, *A Neural Conversational Model* (2015), arXiv:1506.05869.
# * D. Bahdanau, K. Cho, Y. Bengio, *Neural Machine Translation by Jointly Learning to Align and Translate* (2014),
#   arXiv:1409.0473.
# * A. Vaswani et al., *Attention Is All You Need* (2017), arXiv:1706.03762.
# * The lecture's RNN video: https://www.youtube.com/watch?v=AsNTP8Kwu80

# %%
_ = progress()
