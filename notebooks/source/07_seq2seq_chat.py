# %% [markdown]
# # 07 · Sequence-to-sequence chat model
# <!-- summary: the encoder–decoders of 06, plain and with attention, on real dialogues; unigram and TF-IDF retrieval baselines; held-out loss, token F1 and reply variety; sampled replies; what such models cannot do -->
# <!-- facts: 2014 2015 2016 2017 (years of the papers cited); 100,000 (in the title of the SQuAD paper) -->
#
# Notebook 06 translated English into French with an LSTM **encoder–decoder**. Nothing in that model knows it is
# translating: it maps one sequence of tokens to another. Feed it a *message* and train it to produce the *reply*, and
# the same machine becomes a chat model. This is how the first neural chatbots were built (Vinyals and Le, *A Neural
# Conversational Model*, 2015), and it is the lecture's last encoder–decoder example: an LSTM encoder reads the prompt,
# an LSTM decoder writes the answer.
#
# This notebook is also about **honesty**. Translation of numbers has one right answer and a model can get nearly all
# of them; conversation has many acceptable answers, our corpus is tiny, and the models will be far from a chatbot you
# would want to talk to. We measure *how much* they learned, with numbers, against two baselines: one that knows
# nothing, and one that an engineer would actually try first.
#
# **Learning objectives.** After this notebook you can
#
# 1. load a real dialogue corpus as (prompt, reply) pairs and split it so that held-out prompts are truly unseen;
# 2. vectorise text at the word level with Keras' `TextVectorization`;
# 3. reuse both encoder–decoders of notebook 06, plain and with attention, on a new task;
# 4. score a chat model three ways: **held-out per-token loss**, **token F1** of its reply against the true reply, and
#    the **share of distinct replies**;
# 5. compare it with a **unigram** baseline and a **retrieval** baseline (TF-IDF nearest prompt);
# 6. generate replies by **greedy decoding** and by **temperature sampling**, and say what such a model cannot do.

# %% [markdown]
# ## Setup
#
# `utils` is this course's package (the `utils/` folder): data loaders, plots, exercise checks and the code that
# several notebooks share. It comes before Keras because it keeps TensorFlow's start-up log quiet.
# `course.setup(seed=7)` seeds Python, NumPy and TensorFlow, so that a rerun gives the same numbers.

# %%
import string
import time
from collections import Counter

from utils import course, plots  # first, before Keras: see utils/__init__.py
from utils import seq2seq as s2s
from utils.checks import progress, use_reference_if_needed
from utils.checks.seq2seq import check_apply_temperature

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import cosine_similarity

course.setup(seed=7, notebook="07")  # seeds Python, NumPy and TensorFlow; deterministic ops; figure style (utils/course.py)
pd.set_option("display.max_colwidth", 60)


# %% [markdown]
# ## The corpus: chatterbot-corpus dialogues
#
# The `chatterbot-corpus` package ships small hand-written conversations as YAML files, one per topic (greetings,
# computers, emotions, trivia, tech support, ...), so nothing is downloaded. Each conversation is a list of lines, and
# the speakers alternate: line 0 is the user, line 1 the bot, line 2 the user again, and so on. So the pairs are
# lines (0, 1), (2, 3), ...: pairing *every* two consecutive lines would also make the bot's answer the next prompt
# ("I am doing well." → "That is good to hear" has the roles reversed). Two files are written differently: in
# `emotion.yml` and `computers.yml` a conversation is one prompt followed by several *alternative* replies to it, so
# each of those lines is paired with line 0. `s2s.conversation_pairs` does both; `s2s.chat_pairs()` applies it to
# every file and drops exact duplicates.

# %% tags=["nbval-check-output"]
dialogue = ["Hello", "Hi", "How are you doing?", "I am doing well.", "That is good to hear"]
print("a dialogue:         ", s2s.conversation_pairs(dialogue))
print("alternative replies:", s2s.conversation_pairs(["What makes you mad", "Anger is a difficult human emotion.",
                                                      "Mad?"], alternatives=True))
pairs = s2s.chat_pairs()
print(f"{len(pairs):,} (prompt, reply) pairs from {len(list(s2s.chatterbot_dir().glob('*.yml')))} topic files")
trivia = s2s.chat_pairs(categories=["trivia"])
print(f"of which trivia questions: {len(trivia)} ({len(trivia) / len(pairs):.0%})")
for prompt, reply_text in pairs[::250]:
    print(f"  {prompt[:60]!r:<62} → {reply_text[:60]!r}")

# %% [markdown]
# 1,125 pairs: a *very* small corpus (the 2015 paper used tens of millions of sentences of movie subtitles and IT
# helpdesk chats). Many prompts have several replies, and many are questions with factual answers: trivia alone
# is almost a quarter of the pairs (printed above).
#
# ## Held-out prompts the model never sees
#
# If "What is AI?" were in training with one reply and in the test set with another, the test would reward
# memorising. So `s2s.split_by_prompt` puts **all** pairs of a prompt on the same side: 10% of the distinct prompts go
# to the test set, 10% of the rest to a validation set (it decides when training stops and which baseline settings
# to use), and the remainder to training. `s2s.replies_by_prompt` gathers each held-out prompt's replies: a prompt
# with several replies is scored against each of them, and the best match counts, since any of them is a right answer.

# %% tags=["nbval-check-output"]
HELD_OUT = 0.1
train_val, test = s2s.split_by_prompt(pairs, test_fraction=HELD_OUT, seed=7)
train, val = s2s.split_by_prompt(train_val, test_fraction=HELD_OUT, seed=8)
val_prompts, test_prompts = s2s.replies_by_prompt(val), s2s.replies_by_prompt(test)
print(f"{HELD_OUT:.0%} of the distinct prompts held out for testing, {HELD_OUT:.0%} of the rest for validation")
print(f"train {len(train):,} pairs, validation {len(val):,} pairs ({len(val_prompts)} prompts), "
      f"test {len(test):,} pairs ({len(test_prompts)} prompts)")
print("prompts in both train and test:",
      len({s2s.prompt_key(p) for p, _ in train} & {s2s.prompt_key(p) for p in test_prompts}))

# %% [markdown]
# ## Word-level vectorisation with Keras
#
# Keras' `TextVectorization` layer lowercases, strips punctuation, splits on spaces and maps each word to an id. We
# *adapt* it on the training prompts and replies only (the test set must not shape the vocabulary), and keep the 1,000
# most frequent tokens; rarer words become `[UNK]`. `s2s.keras_word_vectorizer` also reserves the ids notebook 06 used:
# 0 padding, 1 `[UNK]`, 2 `[start]`, 3 `[end]`, so the same encoder–decoder code works unchanged.

# %% tags=["nbval-check-output"]
vectorizer, vocab = s2s.keras_word_vectorizer([p for p, _ in train] + [r for _, r in train], max_tokens=1000)
print(f"vocabulary: {len(vocab):,} tokens; first words: {vocab.tokens[4:16]}")
example = "Hello, how are you doing today?"
ids = np.asarray(vectorizer([example]))[0]
print(f"{example!r} → {ids[ids > 0].tolist()} → {vocab.decode(ids)}")

# %% [markdown]
# The punctuation is gone and the words are lowercase: that is the layer's default standardisation. Now the three
# teacher-forcing arrays, as in notebook 06. Prompts are cut to 16 words and replies to 24 (including `[end]`); that
# keeps over nine in ten replies whole (the cell counts the ones it cuts, and checks that).

# %% tags=["nbval-check-output"]
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
_ = course.claim("more than a fifth of the test reply tokens are the unknown-word token", np.mean(test_tokens == s2s.UNK_ID) > 0.2)

# %% [markdown]
# More than a fifth of the held-out reply tokens are `[UNK]` (the share is printed above): the names, places and
# years of the trivia answers, and other words too rare to make the 1,000. Keep that in mind for the scores below.
# The per-token loss counts `[UNK]` like any other token, so a model earns a lower loss by predicting *that* an
# unknown word comes next, yet a reply made of `[UNK]` says nothing, and our decoding never writes it.

# %% [markdown]
# ## Three ways to score a reply
#
# There is no single right answer to "How are you?", so no one number says how good a chat model is. We use three,
# each on the held-out prompts.
#
# 1. **Per-token loss**: how much probability the model gives to the **actual** held-out reply, word by word,
#    $-\frac{1}{N}\sum \ln p(\text{true next token})$ in nats per token (lower is better; $e^{\text{loss}}$ is the
#    *perplexity*, the number of equally likely words the model is effectively choosing between). It is defined only
#    for a model that gives probabilities.
# 2. **Token F1** of the reply the model actually writes (greedy decoding) against the true reply, the way the SQuAD
#    question-answering benchmark scores answers (Rajpurkar et al., 2016): both are lowercased, stripped of
#    punctuation and of the articles *a*, *an*, *the*, and compared as bags of words. Precision is the share of the
#    reply's words that are in the true reply, recall the share of the true reply's words that the reply has, F1 their
#    harmonic mean (0 to 1, higher is better). For a prompt with several true replies, the best of them counts.
# 3. **Share of distinct replies**: different replies divided by prompts. A model that says the same thing to
#    everyone scores near 0, even if that one reply has a decent F1.

# %%
ARTICLES = {"a", "an", "the"}
NO_PUNCTUATION = str.maketrans("", "", string.punctuation)


def reply_words(text):
    """The words of a reply as the token F1 compares them: lowercase, no punctuation, no articles."""
    return [word for word in text.lower().translate(NO_PUNCTUATION).split() if word not in ARTICLES]


def token_f1(reply, true_reply):
    """SQuAD-style token F1 of ``reply`` against ``true_reply``: the overlap of their bags of words."""
    words, true_words = reply_words(reply), reply_words(true_reply)
    if not words or not true_words:
        return float(words == true_words)  # both empty: a match; only one empty: nothing in common
    shared = sum((Counter(words) & Counter(true_words)).values())  # each word counted at most as often as in both
    if shared == 0:
        return 0.0
    precision, recall = shared / len(words), shared / len(true_words)
    return 2 * precision * recall / (precision + recall)


def score_replies(replies, held_out):
    """(mean token F1, share of distinct replies) of ``replies``, one per prompt of ``held_out`` and in its order.

    ``held_out`` maps each prompt to its true replies (``s2s.replies_by_prompt``); a prompt's best F1 counts.
    """
    if len(replies) != len(held_out):
        raise ValueError(f"{len(replies)} replies for {len(held_out)} prompts: give one reply per held-out prompt.")
    f1 = [max(token_f1(reply, true) for true in trues) for reply, trues in zip(replies, held_out.values())]
    distinct = len({tuple(reply_words(reply)) for reply in replies})
    return float(np.mean(f1)), distinct / len(replies)


# %% tags=["nbval-check-output"]
for reply_text, true_reply in [("I am doing well.", "I am doing very well, thank you."),
                               ("Python.", "I am written in Python."), ("The cat.", "A dog")]:
    print(f"F1({reply_text!r}, {true_reply!r}) = {token_f1(reply_text, true_reply):.2f}")

# %% [markdown]
# In the first example, the reply's four words are all in the true reply (precision 1) and cover four of its seven
# words (recall 4/7), so F1 is 0.73. The F1 rewards shared *words*, also common ones like *i* and *am*, so even a
# reply that ignores the prompt can score above 0: that is what the first baseline measures.
#
# ## Baseline 1: a unigram model
#
# The **unigram** model ignores the prompt and every previous word: it predicts each next token with its frequency in
# the training replies (with add-one smoothing so no word has probability 0). Its per-token loss is defined. As a
# *reply* it can only say the same thing to everyone: we give it the $k$ most frequent words of the training replies,
# with $k$ chosen on the validation prompts (the $k$ that scores the best F1 there).

# %% tags=["nbval-check-output"]
unigram_val = s2s.unigram_loss(train_arrays[2], val_arrays[2], len(vocab))
word_counts = Counter(word for _, reply_text in train for word in reply_words(reply_text))


def unigram_reply(k):
    """The unigram baseline's one reply: the ``k`` most frequent words of the training replies."""
    return " ".join(word for word, _ in word_counts.most_common(k))


unigram_f1 = {k: score_replies([unigram_reply(k)] * len(val_prompts), val_prompts)[0] for k in range(1, 11)}
UNIGRAM_WORDS = max(unigram_f1, key=unigram_f1.get)
print("validation F1 by k:", {k: round(f1, 3) for k, f1 in unigram_f1.items()})
print(f"chosen k = {UNIGRAM_WORDS}: the reply {unigram_reply(UNIGRAM_WORDS)!r}")
print(f"unigram loss on validation replies: {unigram_val:.3f} nats/token")

# %% [markdown]
# ## Baseline 2: retrieval
#
# The baseline an engineer would try first has no neural network at all: find the **training prompt most similar**
# to the new one and answer with **its reply**. Similarity is the cosine between TF-IDF vectors (scikit-learn's
# `TfidfVectorizer`): each prompt becomes a vector of word (or character n-gram) counts, weighted down for words that
# are in many prompts, so that "python" counts for more than "what". When several training pairs tie, the first one
# is used. Retrieval gives no probabilities, so its per-token loss is not defined; its replies are real sentences, always
# fluent, never new. Which features to use is chosen on the validation prompts.

# %% tags=["nbval-check-output"]
def retrieval_model(tfidf, train_pairs):
    """A chat model that answers each prompt with the reply of the most similar training prompt (TF-IDF cosine)."""
    index = tfidf.fit_transform([prompt for prompt, _ in train_pairs])  # the vocabulary comes from training only

    def replies_to(prompts):
        similarity = cosine_similarity(tfidf.transform(list(prompts)), index)  # (prompts, training pairs)
        return [train_pairs[i][1] for i in similarity.argmax(axis=1)]

    return replies_to


TFIDF_OPTIONS = {"words": dict(), "words and word pairs": dict(ngram_range=(1, 2)),
                 "character 2- to 4-grams": dict(analyzer="char_wb", ngram_range=(2, 4))}
retrieval_val = {name: score_replies(retrieval_model(TfidfVectorizer(**options), train)(val_prompts), val_prompts)
                 for name, options in TFIDF_OPTIONS.items()}
print(pd.DataFrame(retrieval_val, index=["validation F1", "distinct share"]).T.round(3).to_string())
RETRIEVAL = max(retrieval_val, key=lambda name: retrieval_val[name][0])
retrieve = retrieval_model(TfidfVectorizer(**TFIDF_OPTIONS[RETRIEVAL]), train)
print(f"chosen: {RETRIEVAL}")

# %% [markdown]
# ## The encoder–decoder of notebook 06
#
# `s2s.build_seq2seq` is the function written in notebook 06 and saved in `utils/seq2seq.py`; only the vocabulary
# changes (the same word list on both sides here) and the sizes grow a little: 64-number embeddings, 96 LSTM units.
# The prompt's length, `SOURCE_LENGTH`, is part of the model: a prompt that is replied to on its own is laid out
# (cut, reversed, padded) exactly like the training prompts. With so little data the model can memorise the training
# replies, so we watch the **validation** loss and stop early if it stops improving (`EarlyStopping`, keeping the
# best weights), within a budget of ten epochs that keeps this notebook short. The test set stays untouched until the
# end.

# %% tags=["nbval-check-output"]
chatbot = s2s.build_seq2seq(len(vocab), len(vocab), source_length=SOURCE_LENGTH, embed_dim=64, units=96,
                            learning_rate=1e-2)
print(f"{chatbot.model.count_params():,} parameters")

# %% [markdown]
# Training runs in short cells: a few epochs, then more that continue from the same weights. Each cell stops early if
# the validation loss stops improving for two epochs; if it never stops, the budget of ten epochs ends training while
# the validation loss may still be falling. The first cell's time includes TensorFlow building the training and
# validation steps, which happens once per model.

# %% tags=["nbval-ignore-output"]
def weights(arrays):
    """Loss weight 1 for real target tokens, 0 for padding."""
    return (arrays[2] != 0).astype("float32")


def train(model, curves, epochs):
    """Continue training ``model`` for up to ``epochs`` epochs; add the losses to ``curves``; print what happened."""
    started = time.perf_counter()
    history = model.model.fit(
        list(train_arrays[:2]), train_arrays[2], sample_weight=weights(train_arrays),
        validation_data=(list(val_arrays[:2]), val_arrays[2], weights(val_arrays)),
        batch_size=64, epochs=epochs, verbose=0,
        callbacks=[keras.callbacks.EarlyStopping(patience=2, restore_best_weights=True)])
    for key in curves:
        curves[key] += history.history[key]
    print(f"trained {len(history.history['loss'])} epochs in {time.perf_counter() - started:.1f} s; "
          f"validation loss {curves['val_loss'][-1]:.3f} nats/token after epoch {len(curves['val_loss'])}")


curves = {"loss": [], "val_loss": []}
train(chatbot, curves, course.epochs(4))

# %% tags=["nbval-ignore-output"]
train(chatbot, curves, course.epochs(6))

# %% [markdown]
# ## The encoder–decoder with attention, also from notebook 06
#
# The plain model squeezes the whole prompt into one pair of memories `[h, c]`. The attention model of notebook 06
# (`s2s.build_attention_seq2seq`, saved in `utils/seq2seq.py` from its visible cell) keeps every encoder state, and at
# each step of the reply the decoder weighs all of them by how well they match what it is writing. The same data and
# training cells; 64 LSTM units instead of 96, since attention costs time at every step and the notebook has a
# running-time budget.

# %% tags=["nbval-check-output"]
attention_bot = s2s.build_attention_seq2seq(len(vocab), len(vocab), source_length=SOURCE_LENGTH, embed_dim=64,
                                            units=64, learning_rate=1e-2)
print(f"{attention_bot.model.count_params():,} parameters")

# %% tags=["nbval-ignore-output"]
attention_curves = {"loss": [], "val_loss": []}
train(attention_bot, attention_curves, course.epochs(4))

# %% tags=["nbval-ignore-output"]
train(attention_bot, attention_curves, course.epochs(6))

# %% [markdown]
# The learning curves of both models, with the unigram baseline's loss on the same validation replies as a dashed
# line (`plots.plot_learning_curves` draws the curves; it is used again in notebook 08). The line under the figure
# says at which epoch each model's validation loss was lowest.

# %% tags=["nbval-ignore-output"]
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
for ax, (name, model_curves) in zip(axes, [("plain", curves), ("with attention", attention_curves)]):
    plots.plot_learning_curves(model_curves, f"Encoder–decoder, {name}", ax=ax,
                               loss_label="cross-entropy (nats / token)")
    ax.axhline(unigram_val, color="gray", linestyle="--", label="unigram baseline (validation)")
    ax.legend()
plots.show(fig, alt="Two line charts, one per chat model (plain encoder–decoder and with attention), of the per-token "
                    "cross-entropy per epoch for training (with teacher forcing) and for validation (unseen prompts), "
                    "with a dashed line for the unigram baseline on validation. Notice that in both the validation "
                    "loss gets below the unigram baseline while the training loss falls further.")

# %% tags=["nbval-ignore-output"]
for name, model_curves in [("plain", curves), ("attention", attention_curves)]:
    print(f"{name}: lowest validation loss at epoch {int(np.argmin(model_curves['val_loss'])) + 1} "
          f"of {len(model_curves['val_loss'])}")

# %% tags=["nbval-check-output"]
for name, model_curves in [("plain", curves), ("attention", attention_curves)]:
    _ = course.claim(f"the {name} model's best validation loss (the weights it keeps) is below the unigram baseline",
                     min(model_curves["val_loss"]) < unigram_val)
    _ = course.claim(f"the {name} model's training loss ends below its validation loss",
                     model_curves["loss"][-1] < model_curves["val_loss"][-1])

# %% [markdown]
# Both models' validation loss (prompts never trained on) gets below the unigram baseline, while their training loss
# falls further: with under a thousand pairs, much of what they learn is the training replies themselves. Where a
# model's lowest validation loss is at its last epoch (printed under the figure; in the run stored here, the plain
# model's is), early stopping never stopped it: its validation loss was still falling when the budget ran out, so
# that model is probably undertrained, and more epochs might lower its loss further.
# The test set is scored only once, below.
#
# ## The test: every model on the same held-out prompts
#
# `reply(model, prompt)` vectorises the prompt, runs the encoder, and decodes a reply with notebook 06's loop,
# `run_decoder`, never writing `[UNK]` (we set its probability to 0 at each step). With `temperature=None` the loop
# picks the most probable word (`np.argmax`, greedy decoding): these are the replies the token F1 scores. Temperature
# sampling comes in Exercise 1. `greedy_replies(model, prompts)` gives the same greedy replies for many prompts at
# once (`s2s.greedy_decode_batch`, told never to pick `[UNK]`), with one decoder call per step for all of them.

# %%
rng = np.random.default_rng(7)


def without_unk(step):
    """A decoder step that never proposes [UNK]: a reply made of "unknown word" tokens says nothing."""
    def step_without_unk(token, state):
        probabilities, state = step(token, state)
        probabilities = probabilities.copy()
        probabilities[s2s.UNK_ID] = 0.0
        return probabilities / probabilities.sum(), state

    return step_without_unk


def reply(model, prompt, temperature=None, max_len=TARGET_LENGTH):
    """``model``'s reply to ``prompt``: greedy when temperature is None, else temperature sampling."""
    prompt_ids = word_ids([prompt])[0] or [s2s.UNK_ID]  # a prompt of unknown words is one [UNK]
    state = model.initial_state(prompt_ids)  # laid out like the training prompts: cut, reversed, padded
    if temperature is None:
        pick = np.argmax  # greedy: the most probable word
    else:
        pick = lambda p: rng.choice(len(p), p=apply_temperature(p, temperature))  # sample: draw a word
    ids = s2s.run_decoder(without_unk(model.step_one), state, s2s.START_ID, s2s.END_ID, max_len, pick)
    return " ".join(vocab.decode(ids))


def greedy_replies(model, prompts):
    """``reply(model, prompt)`` for many prompts at once (greedy): one decoder call per step for all of them."""
    prompt_ids = [ids or [s2s.UNK_ID] for ids in word_ids(prompts)]
    ids = s2s.greedy_decode_batch(model, model.encoder_input(prompt_ids), TARGET_LENGTH, never=[s2s.UNK_ID])
    return [" ".join(vocab.decode(row)) for row in ids]


print(reply(chatbot, "Hello"), "|", reply(attention_bot, "Hello"))

# %% [markdown]
# Now every model answers every test prompt once, and each gets its three numbers. The unigram baseline's loss is on
# the same held-out reply tokens as the two networks'; retrieval has no loss (NaN in the table).

# %% tags=["nbval-ignore-output"]
started = time.perf_counter()
prompts = list(test_prompts)
chatbots = {"encoder–decoder": chatbot, "with attention": attention_bot}
test_replies = {"unigram": [unigram_reply(UNIGRAM_WORDS)] * len(prompts), "retrieval (TF-IDF)": retrieve(prompts)}
test_loss = {"unigram": s2s.unigram_loss(train_arrays[2], test_arrays[2], len(vocab)), "retrieval (TF-IDF)": np.nan}
for name, model in chatbots.items():
    test_replies[name] = greedy_replies(model, prompts)
    test_loss[name] = s2s.per_token_loss(model, *test_arrays)
results = pd.DataFrame({name: [test_loss[name], *score_replies(test_replies[name], test_prompts)]
                        for name in test_replies}, index=["loss (nats/token)", "token F1", "distinct share"]).T
print(f"{len(prompts)} held-out prompts, {test_tokens.size:,} reply tokens (the same for every model)")
print(results.round(3).to_string())
print(f"scored in {time.perf_counter() - started:.1f} s")

# %% [markdown]
# Eight test prompts drawn at random (seeded), answered by every model, next to the corpus' reply (the first one, if
# it has several):

# %% tags=["nbval-ignore-output"]
for i in sorted(np.random.default_rng(7).choice(len(prompts), size=8, replace=False)):
    print(f"prompt: {prompts[i]}\n  {'corpus':<20} {test_prompts[prompts[i]][0]}")
    for name, replies in test_replies.items():
        print(f"  {name:<20} {replies[i]}")
    print()

# %% tags=["nbval-check-output"]
f1, loss, distinct = results["token F1"], results["loss (nats/token)"], results["distinct share"]
networks = list(chatbots)
_ = course.claim("both encoder–decoders have a lower held-out loss than the unigram baseline",
                 max(loss[networks]) < loss["unigram"])
_ = course.claim("retrieval has the highest token F1 of the four", f1.idxmax() == "retrieval (TF-IDF)")
_ = course.claim("the plain model's token F1 is clearly (by more than 0.02) below the unigram baseline's",
                 f1["encoder–decoder"] < f1["unigram"] - 0.02)
_ = course.claim("the attention model's token F1 is close to (within 0.03 of) the unigram baseline's",
                 abs(f1["with attention"] - f1["unigram"]) < 0.03)
_ = course.claim("attention gives more varied replies than the plain model (a higher distinct share)",
                 distinct["with attention"] > distinct["encoder–decoder"])
_ = course.claim("retrieval's replies are the most varied, and the networks give fewer than half as many distinct "
                 "replies as prompts", distinct.idxmax() == "retrieval (TF-IDF)" and max(distinct[networks]) < 0.5)
_ = course.claim("attention changes the held-out loss by less than 0.1 nats/token",
                 abs(loss["with attention"] - loss["encoder–decoder"]) < 0.1)

# %% [markdown]
# **What the numbers say.** On the per-token loss, both networks clearly beat the unigram baseline: they learned
# which words start a reply and which words follow which, and that carries over to prompts they never saw. On the
# replies they actually write, the ranking turns around. Retrieval, which has no neural network and only copies the
# reply of the most similar training prompt, has the highest token F1 and by far the most varied replies; when it is
# wrong it can still give the right *kind* of answer (a person's name to a "Who was ...?" question above). Both
# networks score a lower token F1 than the unigram baseline's one fixed reply, five frequent words that fit no
# prompt: the plain model clearly lower, the attention model close to it (the table shows where each lands; a
# difference of a hundredth or two over 79 prompts is within noise, so another run may put it level). The bar is low,
# because the F1 also counts common words such as *i* and *is*, and the networks do not clear it, because their
# greedy replies are a few stock phrases (often a word repeated to the end). Attention gives more varied replies than
# the plain model (a higher distinct share) and, in this run, a slightly higher F1, but still below the unigram's; its
# held-out loss stays within 0.1 nats/token of the plain model's. The lower loss also needs a caveat: more than a
# fifth of the held-out reply tokens are `[UNK]`, and the loss rewards predicting them, while the replies we score
# never write `[UNK]`. None of this is surprising with under a thousand training pairs,
# almost a quarter of them trivia whose held-out answers (names, places, years) no model here has seen: a
# sequence-to-sequence chat model needs far more data than retrieval does before its replies are worth reading,
# which is why the 2015 paper trained on millions of sentences. The lower loss is real learning, but of word
# statistics, not of what to say.

# %% [markdown]
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
apply_temperature = use_reference_if_needed(apply_temperature, passed, check_apply_temperature)

# %% [markdown]
# What temperature does to the plain model's first word of a reply to "How are you?": the five most likely words at
# three temperatures.

# %% tags=["nbval-ignore-output"]
first_word = chatbot.step_one(s2s.START_ID, chatbot.initial_state(word_ids(["How are you?"])[0]))[0]
top = np.argsort(first_word)[::-1][:5]
print(pd.DataFrame({f"T = {t}": np.round(apply_temperature(first_word, t)[top], 3) for t in (0.5, 1.0, 2.0)},
                   index=[vocab.tokens[i] for i in top]).to_string())

# %% [markdown]
# Read the table across: at $T = 0.5$ the likeliest word takes an even larger share, at $T = 2$ the five come closer
# together. `[UNK]` can rank high in the table, since every rare word of the training replies maps to it, but no reply
# ever writes it: `reply` sets its probability to 0 before each pick (`without_unk`), sampled or greedy. That holds for any model: $p^{1/T}$ squares the ratio of any two probabilities at $T = 0.5$ and takes its
# square root at $T = 2$.
#
# ## Sampled replies
#
# `reply(model, prompt, temperature)` draws each word from the probabilities your `apply_temperature` returns instead
# of taking the most probable one. The same prompt, sampled three times at each of three temperatures, from the
# plain model:

# %% tags=["nbval-ignore-output"]
sampled_words = {0.5: set(), 1.0: set(), 1.5: set()}
for prompt in ["What is your favorite movie?", "My computer is very slow."]:
    print(f"prompt: {prompt}")
    for temperature in sampled_words:
        for _ in range(3):
            sample = reply(chatbot, prompt, temperature)
            sampled_words[temperature] |= set(sample.split())
            print(f"  T={temperature}: {sample}")
print("different words in the six samples:", {t: len(words) for t, words in sampled_words.items()})

# %% tags=["nbval-check-output"]
_ = course.claim("the samples at T = 1.5 use more different words than those at T = 0.5",
                 len(sampled_words[0.5]) < len(sampled_words[1.5]))

# %% [markdown]
# The samples at $T = 1.5$ use more different words than those at $T = 0.5$ (counted above, and checked by the
# claim; six samples per temperature are few, so the claim compares only the two ends). At $T = 0.5$ the samples
# mostly keep the stock openings; at $T = 1.5$ they mix words from every topic of the corpus. Sampling buys variety,
# not understanding.
#
# Try your own: edit the text and run the cell.

# %% tags=["nbval-ignore-output"]
for model in chatbots.values():
    print(reply(model, "Do you like music?"), "|", reply(model, "Do you like music?", temperature=0.8))

# %% [markdown]
# ## What these models cannot do, and what came after
#
# * **They have no memory of the conversation.** Each reply depends only on the last message; ask "What did I just
#   say?" and they cannot know. Chatbots that hold a dialogue feed the whole history back in.
# * **They know only their training pairs.** Facts, names and words outside them are `[UNK]` or never produced. They
#   do not *understand* the prompt; they map word patterns to likely word patterns. A held-out trivia question has
#   an answer no model here has seen with it, so none of them, retrieval included, can know it.
# * **Greedy decoding is bland.** The most probable reply is often a generic one that fits many prompts; sampling adds
#   variety and also nonsense. Beam search (keeping several candidate replies) helps a little.
# * **Attention is not knowledge.** It removes the single-vector bottleneck (Bahdanau, Cho and Bengio, 2014), which
#   matters for long inputs such as the sentences of translation; our prompts are short and our data small. The
#   **Transformer** (Vaswani et al., *Attention Is All You Need*, 2017) drops the recurrence altogether and uses
#   attention only, so it trains in parallel over the whole sequence; scaled up to billions of parameters and trained
#   on much of the web, it became the large language models behind today's chat assistants.
#
# ## Key takeaways
#
# * A chat model is an encoder–decoder trained on (message, reply) pairs: the same code as translation.
# * Build pairs that are really prompt → reply, split by prompt so held-out prompts are unseen, and let a validation
#   set decide when to stop and which baseline settings to use.
# * Score a generator more than one way: held-out **per-token loss** (next to a **unigram** baseline), **token F1** of
#   its replies, and how many **distinct** replies it gives; and compare it with **retrieval**, the baseline an
#   engineer would try first.
# * Greedy decoding is repetitive, temperature sampling trades safety for variety; neither adds knowledge.
#
# ## Further reading
#
# * O. Vinyals, Q. V. Le, *A Neural Conversational Model* (2015), arXiv:1506.05869.
# * P. Rajpurkar, J. Zhang, K. Lopyrev, P. Liang, *SQuAD: 100,000+ Questions for Machine Comprehension of Text*
#   (2016), arXiv:1606.05250.
# * D. Bahdanau, K. Cho, Y. Bengio, *Neural Machine Translation by Jointly Learning to Align and Translate* (2014),
#   arXiv:1409.0473.
# * A. Vaswani et al., *Attention Is All You Need* (2017), arXiv:1706.03762.
# * The lecture's RNN video: https://www.youtube.com/watch?v=AsNTP8Kwu80

# %%
_ = progress()
