# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 01 · RNN architecture and unrolling
# <!-- summary: why sequences need RNNs; the 5-parameter RNN by hand; unrolling; it learns to filter a noisy sensor, beating persistence; SimpleRNN and a tanh layer of u units in matrix form; padding, masking, weight sharing -->
#
# **Lecture part 1 of 4 — Recurrent neural networks: architecture and their benefits.**
#
# A recurrent neural network (RNN) reads a sequence one element at a time and carries a *memory* (its hidden value)
# from one step to the next. In this notebook you will take apart the smallest possible RNN, five numbers in all, and
# see that it handles sequences of any length without growing.
#
# **By the end you will be able to**
#
# 1. explain why a network with a fixed number of inputs cannot use price histories of different lengths;
# 2. compute the forward pass of a one-unit ReLU RNN by hand, step by step, from its equations;
# 3. *unroll* an RNN over time and draw it;
# 4. get the same numbers from `keras.layers.SimpleRNN`, write its layer of $u$ tanh units in matrix form yourself, and
#    batch sequences of different lengths with padding and masking;
# 5. explain weight sharing: the parameter count does not grow with the length of the sequence;
# 6. train the five parameters on a task where memory matters, compare them with fair baselines, and read what each
#    learned weight does.
#
# **How to use this notebook.** Run the cells from top to bottom (Shift+Enter). Cells marked **Exercise** are for
# you to complete; the cell under each exercise checks your answer and names the mistake if there is one. If you skip an
# exercise, the check says "not done yet" and the notebook carries on with a reference implementation.

# %% [markdown]
# ## Setup
#
# `utils` is this course's package (the `utils/` folder): data loaders, plots, exercise checks and the code that
# several notebooks share. It comes before Keras because it keeps TensorFlow's start-up log quiet.
# `course.setup(seed=42)` seeds Python, NumPy and TensorFlow, so that a rerun gives the same numbers. A code cell that
# starts with `# Saved in utils/...` is the lesson's code, kept identical in that module because later notebooks or
# the checks use it from there.

# %%
from utils import course, data, plots, rnn  # first, before Keras: see utils/__init__.py
from utils.checks import progress, use_reference_if_needed
from utils.checks.rnn import check_rnn_forward, check_toy_rnn_forward
from utils.validate import whole

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

course.setup(seed=42, notebook="01")  # seeds Python, NumPy and TensorFlow; deterministic ops; figure style (utils/course.py)


# %% [markdown]
# ## Sequences come in different lengths
#
# The lecture's running example: we want a model that looks at a company's past prices and predicts the next one. The
# challenge is that **we have more history for company A than for company B.** Here is real data: monthly closing
# prices of five companies from January 2000 to March 2010 (bundled with the course; see `data/README.md`). Google
# only went public in August 2004, so it has a shorter history than Microsoft.

# %% tags=["nbval-check-output"]
closes = data.load_monthly_closes()
company_a, company_b = closes["MSFT"].dropna(), closes["GOOG"].dropna()
print(f"Company A (MSFT): {len(company_a)} months, {company_a.index[0]:%Y-%m} … {company_a.index[-1]:%Y-%m}")
print(f"Company B (GOOG): {len(company_b)} months, {company_b.index[0]:%Y-%m} … {company_b.index[-1]:%Y-%m}")
late_start = (company_b.index[0].to_period("M") - company_a.index[0].to_period("M")).n
print(f"B's history starts {late_start} months after A's")

# %%
fig, ax = plt.subplots()
for name, series in [("Company A (MSFT)", company_a), ("Company B (GOOG)", company_b)]:
    ax.plot(series.index, series / series.iloc[0], label=f"{name}: {len(series)} months")
ax.set(title="Two price histories of different lengths", xlabel="month",
       ylabel="closing price / first closing price", yscale="log")
ax.legend()
plots.show(fig, alt="Line chart, log scale, of each company's monthly closing price divided by its first closing "
                    f"price. Company A (MSFT) has {len(company_a)} months, from {company_a.index[0]:%Y-%m}; company B "
                    f"(GOOG) has {len(company_b)} months, from {company_b.index[0]:%Y-%m}; both end in "
                    f"{company_a.index[-1]:%Y-%m}. Notice the x-axis: B's line starts {late_start} months after A's, "
                    "so the two sequences have different lengths.")

# %% [markdown]
# Prices are divided by each company's first price so both fit on one chart (log scale: equal vertical steps are equal
# percentage changes). The point to notice is the x-axis: B's line starts later, by the number of months printed
# above.

# %% [markdown]
# ## Why a fixed-input network cannot use them
#
# A regular (dense) network has one weight per input. Build one for "the last 3 months" and its first layer has
# exactly 3 input weights: it can only ever read 3 numbers. Give it 5 months of history and it refuses.

# %% tags=["nbval-ignore-output"]
dense_net = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1, name="price_next_month")])
print("A dense network for 3 months has", dense_net.count_params(), "parameters (3 weights + 1 bias).")
five_months = company_a.to_numpy()[-5:].reshape(1, 5)
try:
    dense_net(five_months)
except ValueError as error:
    reason = next(line for line in str(error).splitlines() if "expected" in line)
    print("Giving it 5 months fails:", reason.replace("\x1b[1m", "").replace("\x1b[0m", ""))

# %% [markdown]
# We could cut every history down to the shortest one, and throw away most of company A's data, or build one network
# per length. Neither is satisfying. An RNN solves this differently: it uses **the same small network at every time
# step** and passes a value from one step to the next through a feedback loop.

# %% [markdown]
# ## The smallest RNN: one unit, five parameters
#
# The lecture's RNN has a single hidden unit with a ReLU activation and five parameters: three weights $W_1, W_2,
# W_3$ and two biases $b_1, b_2$. On day $t$ (counting $t = 1, 2, \dots, T$ for a history of $T$ days) it receives
# the input $x_t$ (that day's price, scaled to the range 0–1) and its own output from the day before, $h_{t-1}$ (the
# *hidden value*, the network's memory; before the first day there is nothing to remember, so $h_0 = 0$). It adds
# them up, weighted, into $z_t$ and passes the sum through ReLU, which keeps positive numbers and turns negative ones
# into 0:
#
# $$z_t = W_1\,x_t + W_2\,h_{t-1} + b_1, \qquad h_t = \mathrm{ReLU}(z_t) = \max(z_t, 0)$$
#
# After the last day $T$, the output layer turns the memory into a prediction $\hat y$ for the next day:
#
# $$\hat{y} = W_3\,h_T + b_2$$
#
# - $W_1$ weighs today's input, $W_2$ weighs yesterday's memory (the feedback loop), $b_1$ shifts the unit;
# - $W_3$ and $b_2$ map the final memory to a price.
#
# We use the weights from the lecture's worked example (in a real model, training finds them). In the code, the five
# are the Python names `w1, b1, w2, w3, b2` (lower case, as Python names usually are); they mean $W_1, b_1, W_2, W_3,
# b_2$.

# %% tags=["nbval-check-output"]
weights = rnn.TOY_WEIGHTS
print(weights)

# %% [markdown]
# ## Unrolling: one copy of the unit per day
#
# The feedback loop is easier to follow if we draw one copy of the unit per day and let the arrow from day $t-1$ go
# into day $t$. This is called **unrolling** the network. Unrolled over three days, the RNN looks like a network with
# three inputs, but every copy uses *the same* $W_1, b_1, W_2$: it is still one unit with five parameters.
#
# Let us feed three days of scaled prices that fall: high (1.0), medium (0.5), low (0.0). The table prints one row per
# day: each term of $z_t$, then $h_t$, then the prediction the output layer would make if that day were the last.

# %% tags=["nbval-check-output"]
falling = [1.0, 0.5, 0.0]
pd.set_option("display.width", 140)
print(rnn.toy_rnn_table(falling, **weights).round(3).to_string())

# %% [markdown]
# Read the table row by row, as the network does. Day 1: $z_1 = 1.8 \cdot 1.0 + (-0.5) \cdot 0 + 0 = 1.8$, and ReLU
# keeps it: $h_1 = 1.8$. Day 2: $z_2 = 1.8 \cdot 0.5 + (-0.5) \cdot 1.8 = 0$, so $h_2 = 0$. Day 3: $h_3 = 0$. The
# prediction is $\hat y = 1.1 \cdot 0 + 0 = 0$: after a fall, the network predicts a low price. Here is the same
# computation as a picture:

# %%
hidden, prediction = rnn.toy_rnn_forward(falling, **weights)
plots.draw_unrolled_rnn(falling, hidden, prediction)
plots.show(plt.gcf(), alt=f"Diagram of the toy RNN unrolled over {len(falling)} days. Bottom row: the inputs "
                          f"{', '.join(map('{:g}'.format, falling))}; each feeds one ReLU hidden unit through w1, b1, "
                          "and arrows labelled w2 carry each hidden value to the next day's unit; from the last unit, "
                          "w3, b2 lead to the prediction. The hidden values are "
                          f"{', '.join(map('{:.3g}'.format, hidden))} and the prediction is {prediction:.3g}. Notice "
                          "that the same five weights are used at every step.")

# %% [markdown]
# Now rising prices, low → medium → high. The negative $W_2$ means a large memory *lowers* the next step, and ReLU cuts
# any negative sum to zero. Look at $z_t$ and $h_t$ on day 3:

# %% tags=["nbval-check-output"]
rising = [0.0, 0.5, 1.0]
print(rnn.toy_rnn_table(rising, **weights).round(3).to_string())

# %% [markdown]
# On day 3 the memory term $W_2 h_2 = -0.45$ pulls $z_3$ down from 1.8 to 1.35: yesterday's value changes today's.
# After rising prices the network predicts $\hat y = 1.485$, a high price, where after falling prices it predicted 0.
# Same inputs in another order, another prediction: the order of the days matters, which a sum or average would lose.

# %% [markdown]
# ## Exercise 1 · the forward pass for a sequence of any length
#
# Write `toy_rnn_forward(xs, w1, b1, w2, w3, b2)`. It receives a 1-D sequence `xs` of **any** length $T \ge 1$ and
# returns a pair `(hidden, prediction)`:
#
# - `hidden`: a NumPy array of shape `(T,)` with $h_1, \dots, h_T$;
# - `prediction`: the number $W_3 h_T + b_2$.
#
# Start with $h_0 = 0$ and loop over the days, applying the equation above at each step. `np.maximum(z, 0)` is ReLU.

# %%
def toy_rnn_forward(xs, w1, b1, w2, w3, b2):
    """Hidden values h_1 … h_T (array of shape (T,)) and the prediction w3·h_T + b2 of the toy RNN."""
    ### BEGIN SOLUTION
    hidden, h = [], 0.0
    for x in xs:
        h = np.maximum(w1 * x + w2 * h + b1, 0.0)
        hidden.append(h)
    return np.array(hidden), w3 * hidden[-1] + b2
    ### END SOLUTION


# %%
passed = check_toy_rnn_forward(toy_rnn_forward)
toy_rnn_forward = use_reference_if_needed(toy_rnn_forward, passed, check_toy_rnn_forward)

# %% [markdown]
# The check ran your function on sequences of length 1 to 12 with weights of its own. The same function, unchanged,
# now handles both companies' whole histories: 123 months for A and 68 for B (prices scaled to 0–1 by each company's
# own maximum).

# %% tags=["nbval-check-output"]
for name, series in [("A (MSFT)", company_a), ("B (GOOG)", company_b)]:
    scaled = (series / series.max()).to_numpy()
    hidden, prediction = toy_rnn_forward(scaled, **weights)
    print(f"Company {name}: read {len(scaled):3d} months -> {len(hidden):3d} hidden values, prediction {prediction:.4f}")

# %% [markdown]
# The predictions themselves mean little, since the lecture's weights were never trained on these prices. The point is
# the shapes: one hidden value per month, whatever the length, from the same five parameters.

# %% [markdown]
# ## The same numbers from Keras
#
# Keras' `SimpleRNN` layer is exactly this recurrence, for any number of units. With one unit and a ReLU activation,
# its three parameters are $W_1$ (the *kernel*), $W_2$ (the *recurrent kernel*) and $b_1$ (the *bias*); a `Dense(1)`
# layer on top holds $W_3$ and $b_2$. The function below builds that model and sets the five weights with
# `set_weights`; each Keras weight is an array (the kernel is a 1 × 1 matrix), hence the brackets. It first makes sure
# the five weights are numbers, because a `nan` weight would only show up later as a `nan` prediction.

# %%
# Saved in utils/rnn.py: notebook 02 builds this model (rnn.toy_rnn_keras) to check its chain rule with GradientTape.
def toy_rnn_keras(w1, b1, w2, w3, b2):
    """The toy RNN as a Keras model: ``SimpleRNN(1, relu)`` then ``Dense(1)``, with the five weights set.

    Input shape (batch, time steps, 1); output (batch, 1), the prediction after the last step.
    """
    values = [float(w) for w in (w1, b1, w2, w3, b2)]  # a TypeError for anything that is not a number
    if not np.isfinite(values).all():
        raise ValueError(f"the five weights must be finite numbers, not {values}: pass e.g. **rnn.TOY_WEIGHTS")
    w1, b1, w2, w3, b2 = values
    model = keras.Sequential([
        keras.Input(shape=(None, 1)),
        keras.layers.SimpleRNN(1, activation="relu", name="recurrent_unit"),  # holds w1 (kernel), w2, b1
        keras.layers.Dense(1, name="output"),  # holds w3 and b2
    ])
    model.get_layer("recurrent_unit").set_weights([np.array([[w1]]), np.array([[w2]]), np.array([b1])])
    model.get_layer("output").set_weights([np.array([[w3]]), np.array([b2])])
    return model


# %% [markdown]
# Keras expects input of shape `(batch, time steps, features)`: here one sequence, 3 days, 1 feature per day. The
# cell runs both price paths through the Keras model and through the NumPy reference, and prints the weights each
# layer holds.

# %% tags=["nbval-check-output"]
toy_model = toy_rnn_keras(**weights)
for days in (falling, rising):
    keras_prediction = float(toy_model(np.array(days).reshape(1, -1, 1))[0, 0])
    _, numpy_prediction = rnn.toy_rnn_forward(days, **weights)
    assert abs(keras_prediction - numpy_prediction) < 1e-6
    print(f"{days}: NumPy {numpy_prediction:.6f}, Keras {keras_prediction:.6f}")
for layer in toy_model.layers:  # each weight array printed flat
    print(f"layer {layer.name!r} holds", [[round(float(v), 3) for v in w.ravel()] for w in layer.get_weights()])

# %% [markdown]
# ## Weight sharing: the parameter count does not grow with length
#
# Because the same unit is reused at every step, a sequence of 3 days and one of 300 days use the same five
# parameters. A dense network that reads the whole history at once needs one weight per day. Let us count:

# %% tags=["nbval-check-output"]
print(f"{'days of history':>16} {'toy RNN params':>15} {'dense net params':>17}")
for days in (3, 30, 300):
    recurrent = keras.Sequential([keras.Input(shape=(days, 1)), keras.layers.SimpleRNN(1, activation="relu"),
                                  keras.layers.Dense(1)])
    dense = keras.Sequential([keras.Input(shape=(days,)), keras.layers.Dense(1)])
    print(f"{days:>16} {recurrent.count_params():>15} {dense.count_params():>17}")

# %% [markdown]
# The RNN's count stays at 5 (3 in the recurrent unit, 2 in the output layer), the dense network's grows with the
# window. In fact the RNN's `keras.Input(shape=(None, 1))` can leave the number of days open altogether.

# %% [markdown]
# ## From one unit to a layer: u tanh units in matrix form
#
# Real RNN layers have many units. With $u$ units the hidden value becomes a vector $h_t$ of $u$ numbers, and each
# weight becomes a matrix: $W_x$ weighs each input feature for each unit, $W_h$ weighs what each unit remembered for
# each unit (every unit reads all the others' memories), and $b$ holds one bias per unit. Keras' `SimpleRNN` uses
# $\tanh$, which keeps every hidden value between $-1$ and $1$, and computes a whole batch of sequences at once. Its
# rows are the sequences of the batch, so the inputs multiply the weights from the left:
#
# $$h_t = \tanh(x_t W_x + h_{t-1} W_h + b), \qquad h_0 = 0,$$
#
# with the shapes: $x_t$ is (batch, features), $h_{t-1}$ and $h_t$ are (batch, units), $W_x$ is (features, units),
# $W_h$ is (units, units) and $b$ is (units,). These are the three weights a `SimpleRNN` layer holds, in this order:
# `kernel` ($W_x$), `recurrent_kernel` ($W_h$), `bias` ($b$). With one unit and one feature, this is the toy RNN's
# $z_t$, with tanh in place of ReLU.

# %% [markdown]
# ### Exercise 2 · a tanh RNN layer in matrix form
#
# Write two functions, in NumPy (`@` is the matrix product, `np.tanh` the activation):
#
# - `rnn_cell_forward(x_t, h_prev, Wx, Wh, b)`: **one step** for the whole batch, the equation above; returns $h_t$;
# - `rnn_forward(x, Wx, Wh, b)`: the **whole sequences**. `x` has the shape Keras uses, (batch, time steps,
#   features); start from $h_0 = 0$, apply `rnn_cell_forward` at every step, and return **every** hidden state,
#   $h_1, \dots, h_T$, as one array of shape (batch, time steps, units).
#
# The check compares both with the computation `SimpleRNN` does, on its own weights and on new ones each run. Keras'
# recurrent layers are not allowed in your answer: the point is to write the loop yourself.

# %%
def rnn_cell_forward(x_t, h_prev, Wx, Wh, b):
    """One step of a tanh RNN layer: h_t = tanh(x_t Wx + h_prev Wh + b).

    x_t: (batch, features); h_prev: (batch, units); Wx: (features, units); Wh: (units, units); b: (units,).
    Returns h_t, shape (batch, units).
    """
    ### BEGIN SOLUTION
    return np.tanh(x_t @ Wx + h_prev @ Wh + b)
    ### END SOLUTION


def rnn_forward(x, Wx, Wh, b):
    """Every hidden state of a tanh RNN layer over whole sequences, from h_0 = 0.

    x: (batch, time steps, features); Wx: (features, units); Wh: (units, units); b: (units,).
    Returns h_1 … h_T, shape (batch, time steps, units).
    """
    ### BEGIN SOLUTION
    h = np.zeros((x.shape[0], Wh.shape[0]))
    states = []
    for t in range(x.shape[1]):
        h = rnn_cell_forward(x[:, t], h, Wx, Wh, b)
        states.append(h)
    return np.stack(states, axis=1)
    ### END SOLUTION


# %%
passed = check_rnn_forward(rnn_cell_forward, rnn_forward)
rnn_cell_forward = use_reference_if_needed(rnn_cell_forward, passed, check_rnn_forward)
rnn_forward = use_reference_if_needed(rnn_forward, passed, check_rnn_forward)

# %% [markdown]
# Now the comparison itself, in sight: a `SimpleRNN` layer with 4 units reads 2 sequences of 5 steps with 3 features
# each. Its weights, whatever Keras drew for them, are copied into your `rnn_forward`, and the two lists of hidden
# states are compared.

# %% tags=["nbval-check-output"]
layer = keras.layers.SimpleRNN(4, return_sequences=True)
sequences = np.random.default_rng(course.seed(5)).normal(size=(2, 5, 3)).astype("float32")
keras_states = np.asarray(layer(sequences))  # calling the layer once creates its weights
kernel, recurrent_kernel, bias = layer.get_weights()
print("SimpleRNN weights:", {"kernel": kernel.shape, "recurrent_kernel": recurrent_kernel.shape, "bias": bias.shape})
my_states = np.asarray(rnn_forward(sequences, kernel, recurrent_kernel, bias))
print("hidden states: Keras", keras_states.shape, "| yours", my_states.shape, "| parameters:", layer.count_params())
largest_gap = float(np.max(np.abs(my_states - keras_states)))
_ = course.claim("your rnn_forward gives SimpleRNN's hidden states, to float32 precision (largest difference below "
                 "1e-5)", holds=largest_gap < 1e-5, evidence=f"largest difference {largest_gap:.1e}")

# %% [markdown]
# A layer of 4 units has $3 \cdot 4 + 4 \cdot 4 + 4 = 32$ parameters, whatever the length of the sequences: weight
# sharing again, now with matrices. The last hidden state, `states[:, -1]`, is what `SimpleRNN` returns without
# `return_sequences=True`, and what a `Dense` layer on top turns into a prediction, as $W_3 h_T + b_2$ did for one unit.

# %% [markdown]
# ## Batches of different lengths: padding and masking
#
# Training uses *batches*: several sequences processed together as one array, so they must have the same length. The
# usual trick is to **pad** the short sequences with a filler value up to the longest one, and tell the network to
# **mask** (skip) the filler. Here is a batch with the last 6 months of A and the last 3 months of B:

# %% tags=["nbval-check-output"]
seq_a = (company_a / company_a.max()).to_numpy()[-6:]
seq_b = (company_b / company_b.max()).to_numpy()[-3:]
PAD = -1.0  # a value no real (scaled) price takes
batch = keras.utils.pad_sequences([seq_a, seq_b], padding="post", value=PAD, dtype="float32")[..., np.newaxis]
print("batch shape (sequences, time steps, features):", batch.shape)
print(batch[..., 0].round(3))

# %% [markdown]
# `keras.layers.Masking(mask_value=-1.0)` marks the padded steps, and the recurrent layer then carries its memory
# across them unchanged. Check it: with the mask, B's prediction from the padded batch equals its prediction alone;
# without the mask, the padding leaks in and changes it.

# %% tags=["nbval-check-output"]
masked_model = keras.Sequential([keras.Input(shape=(None, 1)), keras.layers.Masking(mask_value=PAD),
                                 keras.layers.SimpleRNN(1, activation="relu"), keras.layers.Dense(1)])
masked_model.layers[1].set_weights(toy_model.layers[0].get_weights())
masked_model.layers[2].set_weights(toy_model.layers[1].get_weights())
alone = float(toy_model(seq_b.reshape(1, -1, 1))[0, 0])
with_mask = float(masked_model(batch)[1, 0])
without_mask = float(toy_model(batch)[1, 0])
assert abs(with_mask - alone) < 1e-6
print(f"B alone: {alone:.4f} | B in the padded batch, masked: {with_mask:.4f} | not masked: {without_mask:.4f}")

# %% [markdown]
# ## Training the five parameters on real prices (optional)
#
# So far the weights were given. Let Keras *learn* them from data. Each training example is a stretch of 3 to 12
# consecutive months of one company (lengths mixed, so the batches need padding and masking), and the target is the
# next month's price. To make companies comparable, every stretch is divided by its own last price: the network
# predicts next month's price **relative to this month's**. Training stretches end before 2008, test stretches after.
#
# Every model in this course is compared with a simple **baseline**. Here it is *persistence*: "next month's price
# equals this month's", which is 1.0 in these relative units.
#
# Training means: start from random weights, and let gradient descent (here the Adam optimizer, with learning rate
# 0.05) nudge all five of them, batch after batch, to lower the *mean absolute error* (MAE: the average distance
# between prediction and target). 20% of the training stretches are held back as a *validation* set, to watch for
# overfitting; the test stretches are used once, at the end.

# %% tags=["nbval-check-output"]
train_x, train_y, test_x, test_y = rnn.monthly_training_data(closes, split="2008-01-01", min_len=3, max_len=12,
                                                              pad_value=PAD, seed=course.seed(0))
print(f"training stretches: {len(train_x)}, test stretches: {len(test_x)}, padded length: {train_x.shape[1]}")

# %% tags=["nbval-ignore-output"]
course.reseed(1)  # the same start whatever the exercises above drew from the random generators
learned = keras.Sequential([keras.Input(shape=(None, 1)), keras.layers.Masking(mask_value=PAD),
                            keras.layers.SimpleRNN(1, activation="relu"), keras.layers.Dense(1)])
learned.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05), loss="mae")
history = learned.fit(train_x, train_y, validation_split=0.2, epochs=course.epochs(30), batch_size=64, verbose=0)
print(f"trained {len(history.history['loss'])} epochs; learned weights:",
      {name: round(float(np.ravel(value)[0]), 3) for name, value in
       zip(["w1", "w2", "b1", "w3", "b2"], learned.layers[1].get_weights() + learned.layers[2].get_weights(), strict=True)})

# %% tags=["nbval-ignore-output"]
rnn_mae = float(np.mean(np.abs(learned.predict(test_x, verbose=0)[:, 0] - test_y)))
persistence_mae = float(np.mean(np.abs(1.0 - test_y)))
print(f"test mean absolute error, in units of this month's price: RNN {rnn_mae:.4f}, persistence {persistence_mae:.4f}")

ax = plots.plot_learning_curves(history, "Learning the five weights", loss_label="mean absolute error (relative price)")
ax.axhline(persistence_mae, color="gray", ls="--", label="persistence on the test set")
ax.legend()
plots.show(ax.figure, alt="Learning curves of the five-weight RNN: mean absolute error per epoch for training "
                          f"(from {history.history['loss'][0]:.4f} in epoch 1 to {history.history['loss'][-1]:.4f} in "
                          f"epoch {len(history.history['loss'])}) and validation (from "
                          f"{history.history['val_loss'][0]:.4f} to {history.history['val_loss'][-1]:.4f}), with a "
                          "dashed line at persistence's test error. Compare the curves with that line: the test "
                          f"error is {rnn_mae:.4f} for the RNN and {persistence_mae:.4f} for persistence, so the RNN is no "
                          "better than predicting 'no change'.")

# %% tags=["nbval-check-output"]
_ = course.claim("the trained RNN's test MAE is within 5% of persistence's: no better than 'no change'",
                 holds=abs(rnn_mae - persistence_mae) <= 0.05 * persistence_mae)

# %% [markdown]
# In the plot, training and validation error fall over the first few epochs and then stay flat, near the dashed line
# of persistence's test error. The RNN has learned next to nothing beyond persistence. Why? Look inside: run your own
# `toy_rnn_forward` with the learned weights over every test stretch (without its padding) and count how often the
# hidden unit is switched on.

# %% tags=["nbval-ignore-output"]
w1, w2, b1 = (float(np.ravel(w)[0]) for w in learned.layers[1].get_weights())
w3, b2 = (float(np.ravel(w)[0]) for w in learned.layers[2].get_weights())
active = [toy_rnn_forward(x[x != PAD], w1, b1, w2, w3, b2)[0] > 0 for x in test_x[..., 0]]
print(f"in this run, the hidden unit is on (h_t > 0) at {np.mean(np.concatenate(active)):.0%} of the test steps; "
      f"learned w1 = {w1:.3f}, b1 = {b1:.3f}, w3 = {w3:.3f}, b2 = {b2:.3f}")

# %% [markdown]
# How often the unit is on depends on the random start: rerun the notebook with other seeds and this number moves from
# almost never to almost always. Where it is off, training has switched it off: with the learned $W_1$ and $b_1$,
# $z_t$ stays negative, ReLU outputs 0, and the network predicts the constant $b_2 \approx 1$, which is persistence in
# disguise. This is called a **dead ReLU unit**, a known hazard of ReLU networks: once $z_t$ is negative everywhere,
# its gradient is 0 and training can't bring it back. Where it is on, the learned weights still add little to "no
# change" (the claim above holds either way). Both are sensible answers: monthly stock prices are close to a *random
# walk* (next month is this month plus noise), and "no change" is about the best a five-parameter model can say.
# Always measure a model against the simplest baseline; notebook 08 does this in depth. What this section shows is
# the mechanism: one small set of weights, trained on sequences of mixed lengths. The next section gives the unit data
# where remembering pays.

# %% [markdown]
# ## A task where memory matters: a noisy sensor
#
# Prices (in the optional section above) left the unit nothing to remember. Here is a task where memory is the whole
# point. A sensor measures a level
# that drifts slowly: the water in a tank, the temperature of a room. Each reading is the true level plus measurement
# noise, and the task is to predict the **next reading** from the readings so far.
#
# The data are **simulated**, so that we know exactly how they are made (the function below): the true level of each
# sensor starts anywhere from 0.5 to 1.5 and then takes a small random step at every time step (a *random walk*, steps
# with standard deviation 0.035); every reading adds independent noise with standard deviation 0.1, about three times
# the step. Each example is a window of 12 readings of one sensor, and the target is its 13th reading. Training,
# validation and test windows come from different sensors (different random seeds), so the test is on sensors the
# model has never seen.
#
# Why memory helps: persistence, "the next reading equals the last one", copies the last reading *with its noise*.
# Averaging several recent readings cancels much of the noise, while the level moves only a little in a few steps. The
# classic way to average is the **exponential moving average** (EMA): $\ell_t = (1-a)\,\ell_{t-1} + a\,x_t$, which
# gives the newest reading the weight $a$, the one before $a(1-a)$, then $a(1-a)^2$, and so on. For a random walk
# seen through noise this is what the optimal (Kalman) filter settles to, so the EMA, with $a$ chosen on the
# validation sensors, is the strong baseline here, next to persistence. Compare it with the toy RNN: if ReLU stays
# on, $h_t = W_2 h_{t-1} + W_1 x_t + b_1$ is an EMA with $W_2$ in the role of $1-a$. Can training find that?

# %% tags=["nbval-check-output"]
def simulate_sensor(n_windows, steps=12, seed=0, with_level=False):
    """Simulated sensor readings, ``n_windows`` independent sensors: returns (x, y), or (x, y, level).

    x, shape (n_windows, steps, 1): the readings; y, shape (n_windows,): the reading after them, the target. The true
    level starts uniformly from 0.5 to 1.5 and follows a random walk (steps of standard deviation 0.035); each reading
    adds independent noise of standard deviation 0.1. ``with_level=True`` also returns that hidden level, shape
    (n_windows, steps + 1), to plot what the readings scatter around.
    """
    n_windows, steps = whole(n_windows, "n_windows"), whole(steps, "steps", fix="a window needs at least one reading")
    rng = np.random.default_rng(seed)
    start = rng.uniform(0.5, 1.5, size=(n_windows, 1))
    level = start + np.cumsum(rng.normal(0.0, 0.035, size=(n_windows, steps + 1)), axis=1)
    readings = (level + rng.normal(0.0, 0.1, size=level.shape)).astype("float32")
    if with_level:
        return readings[:, :-1, np.newaxis], readings[:, -1], level
    return readings[:, :-1, np.newaxis], readings[:, -1]


sensor_train_x, sensor_train_y = simulate_sensor(300, seed=course.seed(1))
sensor_val_x, sensor_val_y = simulate_sensor(300, seed=course.seed(2))
sensor_test_x, sensor_test_y = simulate_sensor(1000, seed=course.seed(3))
print(f"windows: {len(sensor_train_x)} training, {len(sensor_val_x)} validation, {len(sensor_test_x)} test; "
      f"each {sensor_train_x.shape[1]} readings")
print(f"readings range from {sensor_train_x.min():.2f} to {sensor_train_x.max():.2f} in the training windows")

# %% [markdown]
# Both baselines first. Persistence needs no choice. The EMA needs its $a$: we try every $a$ from 0.05 to 0.95 in
# steps of 0.05 on the **validation** windows and keep the one with the lowest mean squared error (MSE); the test
# windows wait until the end.

# %% tags=["nbval-check-output"]
def ema_forecast(x, a):
    """Forecast of the next reading of each window: the exponential moving average of its readings, started at the
    first one. x has shape (windows, steps, 1); returns shape (windows,)."""
    if not 0 < a <= 1:
        raise ValueError(f"the EMA weight a must be in (0, 1], not {a!r}: 1 is persistence, small a averages longer")
    level = x[:, 0, 0]
    for t in range(1, x.shape[1]):
        level = (1 - a) * level + a * x[:, t, 0]
    return level


def mse(prediction, target):
    """Mean squared error."""
    return float(np.mean((np.asarray(prediction) - target) ** 2))


candidate_a = np.linspace(0.05, 0.95, 19)
ema_a = min(candidate_a, key=lambda a: mse(ema_forecast(sensor_val_x, a), sensor_val_y))
print(f"validation MSE: persistence {mse(sensor_val_x[:, -1, 0], sensor_val_y):.5f}, "
      f"EMA with the best a = {ema_a:.2f}: {mse(ema_forecast(sensor_val_x, ema_a), sensor_val_y):.5f}")

# %% [markdown]
# Now train the toy RNN five times, from five random starts (numbered 0 to 4, each drawn with its own random seed),
# to see how much the result depends on luck. Each start avoids a *dead unit* (a hazard the optional price section
# shows: a ReLU unit whose $z_t$ is negative at every step outputs 0 and stops learning): $W_1$, $W_2$ and
# $W_3$ are drawn between 0.1 and 1 (positive) and the biases start at 0. Keras' default start can give $W_1 < 0$;
# with readings that are nearly all positive, $z_t$ is then negative from the first step and the unit is dead before
# training begins. The loss is the MSE, the optimizer Adam with learning rate 0.05.
#
# For five weights, Keras takes longer to prepare a training step (it traces it into a TensorFlow graph) than to run
# it, and running five small models costs five times the steps of one. So the five runs train **side by side, as the
# five units of one `SimpleRNN` layer**: unit $k$ is start $k$'s toy RNN. A layer's units normally read each other's
# memories through $W_h$ (the next section writes it out); here $W_h$ and the output layer's weights are kept
# *diagonal* (a Keras constraint sets every other entry back to 0 after each step), so that unit $k$ reads only its
# own memory and feeds only prediction $k$. The loss is the sum of the five runs' MSEs, and each run's MSE depends on
# its own five weights only: the five learn exactly as five separate models would, in one model's time.
#
# How long to train? Not a number fixed in advance: the cell trains 60 epochs, records every run's five weights after
# each epoch, and each run keeps the weights of its epoch with the lowest **validation** MSE. The learning curves
# below show whether 60 epochs were enough.

# %%
class Diagonal(keras.constraints.Constraint):
    """Keeps a square weight matrix diagonal: unit k reads only its own memory, and feeds only output k."""

    def __call__(self, w):
        return w * keras.ops.eye(w.shape[0], dtype=w.dtype)


def toy_rnns_side_by_side(starts):
    """Toy RNNs trained together, as the units of one ``SimpleRNN`` layer: ``starts`` is a list of dicts of the five
    weights (w1, b1, w2, w3, b2), one per run. Output ``start_k`` of the Keras model is run k's prediction."""
    n = len(starts)
    recurrent = keras.layers.SimpleRNN(n, activation="relu", recurrent_constraint=Diagonal(), name="recurrent_units")
    output = keras.layers.Dense(n, kernel_constraint=Diagonal(), name="outputs")
    readings = keras.Input(shape=(None, 1))
    predictions = output(recurrent(readings))
    model = keras.Model(readings, [keras.layers.Lambda(lambda p, k=k: p[:, k], name=f"start_{k}")(predictions)
                                   for k in range(n)])
    weights = {name: np.array([start[name] for start in starts], dtype="float32") for name in starts[0]}
    recurrent.set_weights([weights["w1"][np.newaxis], np.diag(weights["w2"]), weights["b1"]])
    output.set_weights([np.diag(weights["w3"]), weights["b2"]])
    return model


def toy_weights(model, k):
    """Run k's five weights in a ``toy_rnns_side_by_side`` model, as the dict ``toy_rnn_forward`` takes."""
    kernel, recurrent_kernel, bias = model.get_layer("recurrent_units").get_weights()
    output_kernel, output_bias = model.get_layer("outputs").get_weights()
    return {"w1": float(kernel[0, k]), "b1": float(bias[k]), "w2": float(recurrent_kernel[k, k]),
            "w3": float(output_kernel[k, k]), "b2": float(output_bias[k])}


# %% tags=["nbval-ignore-output"]
initial = {}
for start, seed in enumerate(course.seeds(5)):
    w1, w2, w3 = np.random.default_rng(seed).uniform(0.1, 1.0, size=3)  # start k: its own random numbers
    initial[start] = {"w1": w1, "b1": 0.0, "w2": w2, "w3": w3, "b2": 0.0}
sensor_model = toy_rnns_side_by_side(list(initial.values()))
sensor_model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05), loss=["mse"] * len(initial))
after_epoch = []  # after_epoch[e][start]: that run's five weights after epoch e + 1
record = keras.callbacks.LambdaCallback(
    on_epoch_end=lambda epoch, logs: after_epoch.append({start: toy_weights(sensor_model, start) for start in initial}))
sensor_fit = sensor_model.fit(sensor_train_x, [sensor_train_y] * len(initial),
                              validation_data=(sensor_val_x, [sensor_val_y] * len(initial)),
                              epochs=course.epochs(60), batch_size=32, validation_batch_size=len(sensor_val_x),
                              verbose=0, callbacks=[record])
curves = {start: (np.array(sensor_fit.history[f"start_{start}_loss"]),
                  np.array(sensor_fit.history[f"val_start_{start}_loss"])) for start in initial}
trained, validation_mse, best_epoch = {}, {}, {}
for start, (_, validation_curve) in curves.items():
    best_epoch[start] = int(np.argmin(validation_curve)) + 1
    trained[start] = after_epoch[best_epoch[start] - 1][start]
    validation_mse[start] = mse([toy_rnn_forward(x[:, 0], **trained[start])[1] for x in sensor_val_x], sensor_val_y)
    print(f"start {start}: w1={initial[start]['w1']:.2f}, w2={initial[start]['w2']:.2f}, w3={initial[start]['w3']:.2f}"
          f"; lowest validation MSE {validation_mse[start]:.5f} after epoch {best_epoch[start]} of "
          f"{len(validation_curve)}")
best_start = min(validation_mse, key=validation_mse.get)
ema_validation = mse(ema_forecast(sensor_val_x, ema_a), sensor_val_y)
print(f"lowest validation MSE: start {best_start}; the EMA's validation MSE: {ema_validation:.5f}")

# %%
fig, ax = plt.subplots(figsize=(7, 4))
for start, (training_curve, validation_curve) in curves.items():
    line, = ax.plot(np.arange(1, len(validation_curve) + 1), validation_curve, lw=1.5,
                    label=f"start {start}: validation")
    ax.plot(np.arange(1, len(training_curve) + 1), training_curve, lw=0.8, ls=":", color=line.get_color())
    ax.plot(best_epoch[start], validation_curve[best_epoch[start] - 1], "o", color=line.get_color())
ax.axhline(ema_validation, color=plots.PALETTE["black"], ls="--", lw=1, label=f"EMA (a = {ema_a:.2f}), validation")
ax.set(title="Learning curves of the five starts (dotted: training)", xlabel="epoch", ylabel="MSE",
       ylim=(ema_validation * 0.9, ema_validation * 1.6))
ax.legend(fontsize="small", ncols=2)
mean_curve = np.mean([validation_curve for _, validation_curve in curves.values()], axis=0)
tail = min(20, len(mean_curve) - 1)  # the last 20 epochs (fewer in a quick run, COURSE_QUICK=1)
last_gain = float(mean_curve[-tail - 1] - mean_curve[-1])
print(f"mean validation MSE of the five starts: {mean_curve[0]:.5f} after epoch 1, {mean_curve[-tail - 1]:.5f} after "
      f"epoch {len(mean_curve) - tail}, {mean_curve[-1]:.5f} after epoch {len(mean_curve)}")
plots.show(fig, alt=f"Line chart of the validation MSE per epoch of each of the five starts (solid), their training "
                    f"MSE (dotted) and the EMA's validation MSE {ema_validation:.4f} (dashed line). A dot marks each "
                    "start's epoch of lowest validation MSE: epochs "
                    f"{', '.join(str(best_epoch[s]) for s in initial)}. The validation curves fall in the first "
                    f"epochs and then flatten near the EMA's line; over the last {tail} epochs their mean falls by "
                    f"{last_gain:.5f}.")

# %% tags=["nbval-check-output"]
_ = course.claim(f"over the last {tail} epochs, the mean validation MSE of the five starts falls by less than 2% of "
                 "the EMA's: the curves have flattened", holds=last_gain < 0.02 * ema_validation)

# %% [markdown]
# The curves drop in the first epochs and then flatten, with the jitter of Adam's steps on small batches; a start that
# began far from a good memory may still creep down at the end. The dot is the epoch whose weights the run keeps.
# Training longer would change the average little (the claim above): the gap that remains to the EMA's dashed line
# is what these five weights reach from these starts, not a lack of training.

# %% [markdown]
# The test windows, scored once. Each trained run goes through your `toy_rnn_forward` from Exercise 1 (the learned
# weights are five numbers, nothing more), which also tells us how often the unit is on.

# %% tags=["nbval-ignore-output"]
persistence_test = mse(sensor_test_x[:, -1, 0], sensor_test_y)
ema_test = mse(ema_forecast(sensor_test_x, ema_a), sensor_test_y)
rows = []
for start, learned_weights in trained.items():
    runs = [toy_rnn_forward(x[:, 0], **learned_weights) for x in sensor_test_x]
    rnn_test = mse([prediction for _, prediction in runs], sensor_test_y)
    rows.append({"start": start, "RNN MSE": rnn_test, "persistence MSE": persistence_test,
                 "RNN / persistence": rnn_test / persistence_test, "RNN / EMA": rnn_test / ema_test,
                 "unit on (h_t > 0)": np.mean(np.concatenate([hidden for hidden, _ in runs]) > 0)})
results = pd.DataFrame(rows).set_index("start")
print(f"test MSE: persistence {persistence_test:.5f}, EMA (a = {ema_a:.2f}) {ema_test:.5f}")
print(results.round(4).to_string())
for column in ("RNN / persistence", "RNN / EMA"):
    ratio = results[column]
    print(f"{column} over the starts: mean {ratio.mean():.3f}, from {ratio.min():.3f} (start {ratio.idxmin()}) "
          f"to {ratio.max():.3f} (start {ratio.idxmax()})")

# %% tags=["nbval-check-output"]
rnn_vs_persistence = course.over_seeds(results["RNN / persistence"], unit="starts")
rnn_vs_ema = course.over_seeds(results["RNN / EMA"], unit="starts")
_ = course.claim_runs("the RNN's test MSE is below persistence's in every start", rnn_vs_persistence,
                      each=lambda ratio: ratio < 1)
_ = course.claim("the ReLU unit is on at more than 90% of the test steps in at least 4 of the 5 starts",
                 holds=(results["unit on (h_t > 0)"] > 0.9).sum() >= 4)
_ = course.claim_runs("no start beats the tuned EMA by more than 5% (test MSE ratio RNN / EMA above 0.95)",
                      rnn_vs_ema, each=lambda ratio: ratio > 0.95)
_ = course.claim_runs("at least 4 of the 5 starts come within 25% of the EMA's test MSE", rnn_vs_ema,
                      each=lambda ratio: ratio < 1.25, need=4)

# %% [markdown]
# The toy RNN beats persistence on sensors it has never seen, in every start, with its unit on: it uses its memory.
# Trained until its learning curve is flat, it comes close to the EMA, but no start gets more than 5% ahead of it (the
# bracket of each verdict gives the ratio's mean and range over the five starts). It could hardly do better: for this data the EMA is
# close to the best filter there is, and the toy RNN cannot even be one exactly. Its memory starts at $h_0 = 0$ in
# every window, where the EMA starts at the first reading, and its biases add a constant that the EMA does not have.
# Five random starts give five different results: that spread, not one lucky run, is what the verdicts rest on.

# %% [markdown]
# ## What the five weights learned (optional)
#
# What did the sensor RNN learn? Unroll the recurrence while ReLU is on, $h_t = W_1 x_t + W_2 h_{t-1} + b_1$ from $h_0 = 0$,
# over the $T = 12$ readings of a window:
#
# $$h_T = W_1 x_T + W_2 (W_1 x_{T-1} + W_2 h_{T-2} + b_1) + b_1 = \dots
#       = \sum_{k=0}^{T-1} W_2^k \,(W_1 x_{T-k} + b_1),$$
#
# so the prediction $\hat y = W_3 h_T + b_2$ gives the reading $k$ steps back the weight $W_1 W_3 W_2^k$, and adds
# the constant $W_3 b_1 (1 + W_2 + \dots + W_2^{T-1}) + b_2$. The geometric sum is
# $1 + W_2 + \dots + W_2^{T-1} = (1 - W_2^{T}) / (1 - W_2)$. Hence the columns of the next table:
#
# - $W_1 W_3$: the weight of the **newest reading** ($k = 0$; for the EMA, $a$);
# - $W_1 W_3 / (1 - W_2)$: the total weight on all past readings of an endless window ($T \to \infty$, with
#   $0 < W_2 < 1$), which must be near 1 so that a steady level is predicted as itself;
# - $W_1 W_3 (1 - W_2^{12}) / (1 - W_2)$: the same total over the 12 readings a window really has; the readings
#   before them, which the endless sum counts, are not there ($h_0 = 0$);
# - $W_3 b_1 (1 - W_2^{12}) / (1 - W_2) + b_2$: the constant the biases add to every prediction. A negative constant
#   pulls the prediction below the average of the readings.

# %% tags=["nbval-ignore-output"]
weights_table = pd.DataFrame(trained).T.rename_axis("start")[["w1", "w2", "w3", "b1", "b2"]]
weights_table.insert(1, "w2 at the start", [initial[start]["w2"] for start in weights_table.index])
w1, w2, w3, b1, b2 = (weights_table[name] for name in ("w1", "w2", "w3", "b1", "b2"))
window_sum = (1 - w2 ** 12) / (1 - w2)  # 1 + w2 + ... + w2^11: how the 12 steps of a window add up
weights_table["w1·w3 (newest reading)"] = w1 * w3
weights_table["w1·w3 / (1 - w2) (all readings)"] = w1 * w3 / (1 - w2)
weights_table["12 readings"] = w1 * w3 * window_sum
weights_table["constant"] = w3 * b1 * window_sum + b2
print(weights_table.round(3).to_string())
print(f"the EMA chosen on validation: newest reading {ema_a:.2f}, memory 1 - a = {1 - ema_a:.2f}, all readings 1, "
      "constant 0")
moved = (weights_table["w2"] - weights_table["w2 at the start"]).abs()
print(f"how far training moved w2 from its start: {', '.join(f'{m:.3f}' for m in moved)} (starts 0 to 4)")

# %% tags=["nbval-check-output"]
_ = course.claim("W2 is between 0 and 1 in at least 4 of the 5 starts: each step keeps part of the memory",
                 holds=weights_table["w2"].between(0, 1).sum() >= 4)
_ = course.claim("the total weight w1·w3 / (1 - w2) is within 0.2 of 1 in at least 4 of the 5 starts",
                 holds=(weights_table["w1·w3 / (1 - w2) (all readings)"].sub(1).abs() < 0.2).sum() >= 4)

# %% [markdown]
# Read the weights as the RNN uses them:
#
# - $W_2$ is the **memory**: the share of yesterday's hidden value that survives into today's. Between 0 and 1, old
#   readings fade step by step, as in the EMA, where it is $1 - a$. Unrolled, the reading $k$ steps back reaches the
#   prediction with the weight $W_1 W_3 W_2^k$: a weight that shrinks geometrically, like the EMA's.
# - $W_1$ scales today's reading into the unit, and $W_3$ scales the unit back into a reading. Only their product
#   matters for the prediction (doubling $W_1$ and $b_1$ and halving $W_3$ changes nothing), so read $W_1$ and $W_3$
#   through their product $W_1 W_3$.
# - $b_1$ and $b_2$ are small corrections: $b_1$ shifts the unit (a slightly negative $b_1$ still leaves it on, since
#   nearly all readings are well above zero) and $b_2$ shifts the prediction back.
#
# The starts need not land on the same memory: some end with a longer memory (larger $W_2$) and a small weight on the
# newest reading, others with a shorter memory and a larger weight, and their errors differ (the column "RNN / EMA").
# Compare $W_2$ with where it started (the column "w2 at the start" and the distances printed under the table): the
# runs do not all end at the same memory, and where a run ends depends on where it began. That is why a verdict about
# the method rests on several starts, and a single run's weights describe only that run.
#
# The figure takes one longer held-out sensor and, at every step, gives each model the last 12 readings, as in
# training, to predict the next one. The RNN is the run with the lowest *validation* MSE (picking by test error would
# flatter it). The simulation also knows the true level that the noisy readings scatter around, which no model sees:
# it is drawn too.

# %%
long_x, _, long_level = simulate_sensor(1, steps=52, seed=course.seed(4), with_level=True)
readings = long_x[0, :, 0]
windows = np.lib.stride_tricks.sliding_window_view(readings[:-1], 12)[..., np.newaxis]  # the 12 readings before each
targets = readings[12:]
forecasts = {"persistence": windows[:, -1, 0], "EMA": ema_forecast(windows, ema_a),
             "RNN": np.array([toy_rnn_forward(w[:, 0], **trained[best_start])[1] for w in windows])}
fig, ax = plt.subplots(figsize=(7, 4.6), layout="constrained")
ax.plot(np.arange(1, len(readings) + 1), readings, "o", ms=4, label="reading (noisy; the target)")
ax.plot(np.arange(1, len(readings) + 1), long_level[0, :-1], color=plots.PALETTE["black"], lw=1, alpha=0.6,
        label="true level (no model sees it)")
predicted_steps = np.arange(13, len(readings) + 1)
ax.plot(predicted_steps, forecasts["persistence"], drawstyle="steps-mid", label="persistence: the last reading")
ax.plot(predicted_steps, forecasts["RNN"], lw=2, label=f"toy RNN (start {best_start})")
ax.plot(predicted_steps, forecasts["EMA"], ls="--", label=f"EMA, a = {ema_a:.2f}")
ax.set(title="Next-reading predictions on a held-out simulated sensor",
       xlabel="time step", ylabel="reading (arbitrary units)")
fig.legend(fontsize="small", loc="outside lower center", ncols=3)  # below the axes, where it hides no data
errors = {name: mse(forecast, targets) for name, forecast in forecasts.items()}
gap = float(np.mean(np.abs(forecasts["RNN"] - forecasts["EMA"])))
true_level = long_level[0, 12:-1]  # the level at each predicted step
level_gap = {name: float(np.mean(np.abs(forecast - true_level))) for name, forecast in forecasts.items()}
print(pd.DataFrame({"MSE against the readings": errors, "mean distance from the true level": level_gap})
      .round(4).to_string())
plots.show(fig, alt=f"Line chart of {len(readings)} simulated readings of one held-out sensor (dots), the true level "
                    f"they scatter around (thin line) and, from step 13 on, three predictions of each reading from "
                    f"the 12 before it: persistence jumps with every noisy reading, while the EMA and the toy RNN draw "
                    f"smoother lines through the dots, on average {gap:.3f} apart. Mean distance from the true "
                    f"level: EMA {level_gap['EMA']:.3f}, RNN {level_gap['RNN']:.3f}, persistence "
                    f"{level_gap['persistence']:.3f}. On this sensor the MSE is {errors['persistence']:.4f} for "
                    f"persistence, {errors['RNN']:.4f} for the RNN and {errors['EMA']:.4f} for the EMA.")

# %% tags=["nbval-check-output"]
_ = course.claim("on this sensor, the EMA and the RNN stay closer to the true level than persistence does (mean "
                 "distance)", holds=max(level_gap["EMA"], level_gap["RNN"]) < level_gap["persistence"])

# %% [markdown]
# Persistence follows every jitter of the noise; the RNN and the EMA average much of it away and stay nearer the true
# level (the table and the claim above; this is one sensor and the one run with the lowest validation MSE, an
# illustration of the test table's verdicts, not more evidence). One handicap of the RNN is built into
# every one of its predictions, since each starts from a fresh window: its memory starts at $h_0 = 0$, so the weight
# that readings before the window would carry is simply missing (the column "12 readings" against "all readings"),
# where the EMA gives that weight to the first reading of the window.

# %% [markdown]
# ## Key takeaways
#
# - A dense network has one weight per input, so it cannot take histories of different lengths.
# - An RNN applies **the same unit at every time step** and feeds its hidden value $h_{t-1}$ back in:
#   $h_t = \mathrm{ReLU}(W_1 x_t + W_2 h_{t-1} + b_1)$, prediction $W_3 h_T + b_2$.
# - **Unrolling** draws one copy of the unit per step; the copies share weights, so the parameter count (5 here)
#   does not grow with the length of the sequence.
# - `keras.layers.SimpleRNN` computes exactly this; batches of different lengths are **padded** and **masked**.
# - Trained, the five parameters do what the data need: on stock prices the unit died and the model fell back on
#   persistence; on a noisy sensor it learned a fading memory ($0 < W_2 < 1$) that comes close to an exponential
#   moving average, no start more than 5% ahead of it. Always compare with the baselines (persistence, and the EMA, tuned on
#   validation data), train until the learning curve is flat, and judge over several random starts.
# - A layer of $u$ units is the same recurrence in matrix form, $h_t = \tanh(x_t W_x + h_{t-1} W_h + b)$: a loop over
#   the time steps, which is all `SimpleRNN` computes.
# - RNNs combine a distributed hidden state (memory of the past) with non-linear updates, which makes them powerful,
#   but, as notebook 02 shows, hard to train on long sequences.

# %% [markdown]
# ## Further reading
#
# - StatQuest, "Recurrent Neural Networks (RNNs), Clearly Explained!!!" — the lecture's video on RNNs, unrolling and
#   vanishing / exploding gradients: https://www.youtube.com/watch?v=AsNTP8Kwu80
# - Keras documentation: `SimpleRNN` (https://keras.io/api/layers/recurrent_layers/simple_rnn/) and
#   "Masking and padding with Keras" (https://keras.io/guides/understanding_masking_and_padding/).
#
# ## Your progress in this notebook

# %%
_ = progress()
