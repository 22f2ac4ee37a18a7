# %% [markdown]
# # 04 · Class exercise 1: home-made LSTM cell
# <!-- summary: write an LSTM cell and loop in NumPy, then a Keras cell class; checks copy weights from keras.layers.LSTM and name the mistake; optional: the backward pass of one step, checked against GradientTape -->
# <!-- facts: 2000 (Gers and Schmidhuber's peephole LSTM); 2015 (Olah's blog post); 75 (minutes of a class) -->
#
# In notebook 03 you stepped one LSTM unit by hand and read the weights of `keras.layers.LSTM`. Now you build the
# cell yourself, three times over: one step in NumPy, the loop over a whole sequence, and finally a Keras layer that
# you train like any other. Each exercise has a check cell underneath that compares your code with `keras.layers.LSTM`
# (random weights, float32 and float64, a batch of one and larger batches) and, when something is off, names the
# likely mistake.
#
# **By the end of this notebook you will be able to**
#
# 1. write one LSTM step in NumPy in Keras' weight layout (kernel W, recurrent kernel U, bias b; gate order i, f, c, o);
# 2. run it over a batch of sequences and get the same numbers as `keras.layers.LSTM`;
# 3. write a Keras cell class with `keras.ops`, wrap it in `keras.layers.RNN`, train it, and show it is the same model
#    as `keras.layers.LSTM` by copying weights between the two;
# 4. (optional) work out the backward pass of one step by the chain rule, check it against `tf.GradientTape`, and
#    loop it backwards over a sequence: backpropagation through time.
#
# **In class**: Exercises 1 to 3 are the core, and with the reading they fit one 75-minute class (the line under
# exercise heading gives its expected time). Exercise 4, the backward pass of one step, is optional: for those
# who finish early, or for home.
#
# **If you are stuck**: a check names the likely mistake; from your second wrong try on (or when you call `hint()`)
# it also shows the worked line. Every check cell also works when you have not finished: the notebook then
# carries on with the reference solution, so the later parts still run.

# %% [markdown]
# ## Setup
#
# `utils` is this course's package (the `utils/` folder): data loaders, plots, exercise checks and the code that
# several notebooks share. It comes before Keras because it keeps TensorFlow's start-up log quiet.
# `course.setup(seed=4)` seeds Python, NumPy and TensorFlow, so that a rerun gives the same numbers.

# %%
import time

from utils import course, lstm, plots  # first, before Keras: see utils/__init__.py
from utils.checks import hint, progress, use_reference_if_needed
from utils.checks.lstm import check_lstm_cell_backward, check_lstm_cell_class, check_lstm_cell_step, check_lstm_forward

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import tensorflow as tf
from keras import ops

course.setup(seed=4, notebook="04")  # seeds Python, NumPy and TensorFlow; deterministic ops; figure style (utils/course.py)


# %% [markdown]
# ## The equations in Keras' layout
#
# The six equations of notebook 03, for a batch of examples at once. Shapes: batch size B, input features d, units u.
#
# | name | shape | what it is |
# |---|---|---|
# | `x_t` | (B, d) | today's input, one row per example |
# | `h_prev`, `c_prev` | (B, u) | yesterday's short-term memory $h_{t-1}$ and long-term memory $C_{t-1}$ |
# | `W` | (d, 4u) | kernel: multiplies $x_t$ |
# | `U` | (u, 4u) | recurrent kernel: multiplies $h_{t-1}$ |
# | `b` | (4u,) | bias |
#
# 1. All four pre-activations in one go: $z = x_t W + h_{t-1} U + b$, shape (B, 4u).
# 2. Cut z into four blocks of u columns, **in the order i, f, c, o**: `z[:, 0:u]` is the input gate's,
#    `z[:, u:2u]` the forget gate's, `z[:, 2u:3u]` the candidate's, `z[:, 3u:4u]` the output gate's.
# 3. $i_t = \sigma(z_i)$, $f_t = \sigma(z_f)$, $\tilde{C}_t = \tanh(z_c)$, $o_t = \sigma(z_o)$, where $\sigma$ is the
#    sigmoid and $z_i, z_f, z_c, z_o$ are the four blocks of step 2.
# 4. $C_t = f_t * C_{t-1} + i_t * \tilde{C}_t$ and $h_t = o_t * \tanh(C_t)$ ($*$ multiplies element by element).
#
# `lstm.sigmoid` is notebook 03's NumPy sigmoid, which you may use (`np.tanh` is NumPy's tanh).

# %% [markdown]
# ## Exercise 1 · lstm_cell_step
#
# One step in NumPy: write `lstm_cell_step`. It must work for any batch size B (including 1) and return `(h_t, c_t)`, both (B, u), in
# that order.

# %%
def lstm_cell_step(x_t, h_prev, c_prev, W, U, b):
    """One LSTM step. x_t (B, d); h_prev, c_prev (B, u); W (d, 4u); U (u, 4u); b (4u,). Returns (h_t, c_t), each (B, u)."""
    ### BEGIN SOLUTION
    u = U.shape[0]
    z = x_t @ W + h_prev @ U + b
    i = lstm.sigmoid(z[:, :u])
    f = lstm.sigmoid(z[:, u:2 * u])
    c_tilde = np.tanh(z[:, 2 * u:3 * u])
    o = lstm.sigmoid(z[:, 3 * u:])
    c_t = f * c_prev + i * c_tilde
    h_t = o * np.tanh(c_t)
    return h_t, c_t
    ### END SOLUTION


# %%
passed = check_lstm_cell_step(lstm_cell_step)
lstm_cell_step = use_reference_if_needed(lstm_cell_step, passed, check_lstm_cell_step)

# %% [markdown]
# Try it on the smallest case there is, the one unit of notebook 03 on company A's first day ($x_1 = 0$, empty
# memories $h_0 = C_0 = 0$). Its twelve hand-picked numbers, in Keras' layout, are `W_unit` (1, 4), `U_unit` (1, 4)
# and `b_unit` (4,). If your step is right, the line below repeats day 1 of notebook 03's table
# ($C_1$ = -0.084, $h_1$ = -0.052):

# %% tags=["nbval-check-output"]
W_unit, U_unit, b_unit = lstm.one_unit_keras_weights()
h_1, c_1 = lstm_cell_step(np.array([[0.0]]), np.zeros((1, 1)), np.zeros((1, 1)), W_unit, U_unit, b_unit)
print(f"h_1 = {h_1[0, 0]:.3f}, C_1 = {c_1[0, 0]:.3f}")

# %% [markdown]
# ## Exercise 2 · lstm_forward
#
# The loop over time: run the step over a batch of sequences `xs` of shape (B, T, d): start from `h0, c0`, feed step t the input
# `xs[:, t]` and the memories of step t-1, and collect every $h_t$. Return `(hs, h_T, c_T)` with `hs` of shape
# (B, T, u) (time on axis 1, as Keras does), and the final memories h_T, c_T of shape (B, u). Use your
# `lstm_cell_step`.

# %%
def lstm_forward(xs, h0, c0, W, U, b):
    """Run the LSTM over xs (B, T, d) from h0, c0 (B, u). Returns (hs (B, T, u), h_T (B, u), c_T (B, u))."""
    ### BEGIN SOLUTION
    h, c, hs = h0, c0, []
    for t in range(xs.shape[1]):
        h, c = lstm_cell_step(xs[:, t], h, c, W, U, b)
        hs.append(h)
    return np.stack(hs, axis=1), h, c
    ### END SOLUTION


# %%
passed = check_lstm_forward(lstm_forward)
lstm_forward = use_reference_if_needed(lstm_forward, passed, check_lstm_forward)

# %% [markdown]
# The check compared short sequences. Over a long one, small differences could pile up, so run 50 steps in float64
# with a randomly initialised `keras.layers.LSTM(5)` on 3 features, and check that the largest difference stays
# below 1e-6:

# %% tags=["nbval-check-output"]
rng = np.random.default_rng(course.seed(0))
reference_layer = lstm.random_keras_lstm(input_dim=3, units=5, seed=course.seed(1), dtype="float64")
long_xs = rng.normal(size=(4, 50, 3))
h0, c0 = np.zeros((4, 5)), np.zeros((4, 5))
mine = lstm_forward(long_xs, h0, c0, *lstm.keras_lstm_weights(reference_layer))
theirs = lstm.run_keras_lstm(reference_layer, long_xs, h0, c0)
largest = max(float(np.max(np.abs(a - b))) for a, b in zip(mine, theirs, strict=True))
print(f"shapes: hs {mine[0].shape}, h_T {mine[1].shape}, c_T {mine[2].shape}")
print(f"largest difference from keras.layers.LSTM over 50 steps below 1e-6: {largest < 1e-6}")

# %% [markdown]
# ## Exercise 3 · HomeMadeLSTMCell
#
# A Keras cell class. NumPy code runs, but Keras cannot train it: it needs the same maths on tensors, written with `keras.ops`
# (`ops.matmul`, `ops.sigmoid`, `ops.tanh`, `ops.split`), so that it can compute gradients. Keras builds recurrent
# layers from a **cell**: a layer that does one step. `keras.layers.RNN(cell)` then runs the loop over time for you
# (your Exercise 2).
#
# A cell needs three things, two of them already written below:
#
# * `state_size = [units, units]`: it carries two memories, in the order **[h, c]** (the order `keras.layers.LSTM`
#   uses);
# * `build(input_shape)`: creates the weights with the same names and shapes as `keras.layers.LSTM`'s, so that weights
#   can be copied between the two;
# * `call(inputs, states)`: one step. `inputs` is $x_t$ (B, d); `states` is the list `[h_prev, c_prev]`. It returns
#   the output and the new states: `return h_t, [h_t, c_t]`. **This is your part.**

# %%
class HomeMadeLSTMCell(keras.layers.Layer):
    """One LSTM step written with keras.ops, for keras.layers.RNN(HomeMadeLSTMCell(units))."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = [units, units]  # [h, c]
        self.output_size = units

    def build(self, input_shape):
        d, u = input_shape[-1], self.units
        self.kernel = self.add_weight(shape=(d, 4 * u), initializer="glorot_uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(u, 4 * u), initializer="orthogonal", name="recurrent_kernel")
        self.bias = self.add_weight(shape=(4 * u,), initializer="zeros", name="bias")
        # Like keras.layers.LSTM (unit_forget_bias=True): forget-gate biases start at 1, so f_t starts ~73 % open.
        self.bias.assign(ops.concatenate([ops.zeros((u,)), ops.ones((u,)), ops.zeros((2 * u,))]))

    def call(self, inputs, states):
        h_prev, c_prev = states
        ### BEGIN SOLUTION
        z = ops.matmul(inputs, self.kernel) + ops.matmul(h_prev, self.recurrent_kernel) + self.bias
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
        c_t = ops.sigmoid(z_f) * c_prev + ops.sigmoid(z_i) * ops.tanh(z_c)
        h_t = ops.sigmoid(z_o) * ops.tanh(c_t)
        return h_t, [h_t, c_t]
        ### END SOLUTION


# %%
passed = check_lstm_cell_class(HomeMadeLSTMCell)
HomeMadeLSTMCell = use_reference_if_needed(HomeMadeLSTMCell, passed, check_lstm_cell_class)

# %% [markdown]
# ## Train the home-made cell
#
# A cell that only matches Keras on random weights is a good start; a cell that *learns* is the real test. The task
# is notebook 03's "remember the marked number": 20 steps of (random value in [-1, 1], marker), the marker is 1 at one
# step in the first half, and the answer is the value at that step. Three contenders:
#
# * **baseline**: always predict the mean of the training answers (what a model with no memory is reduced to);
# * **home-made**: `keras.layers.RNN(HomeMadeLSTMCell(8))` then `Dense(1)`;
# * **Keras**: `keras.layers.LSTM(8)` then `Dense(1)`, **starting from the same initial weights** as the home-made
#   model (drawn for the Keras model and copied into the home-made one before training), so that any difference
#   comes from the implementation, not the luck of the draw.
#
# The cell that builds them first restarts the random numbers (`course.reseed`), and so does each training run: what
# your own code drew from them above does not change the weights, the order of the batches or the numbers below.

# %%
train_xs, train_ys = lstm.make_recall_task(1000, length=20, seed=course.seed(1))
val_xs, val_ys = lstm.make_recall_task(300, length=20, seed=course.seed(2))
baseline_mse = float(np.mean((val_ys - train_ys.mean()) ** 2))
print(f"{len(train_xs)} training and {len(val_xs)} validation sequences of 20 steps × 2 features; "
      f"baseline validation MSE {baseline_mse:.3f}")


def recall_model(recurrent_layer):
    """The recurrent layer, then one Dense unit that reads the answer from the last h."""
    model = keras.Sequential([keras.Input(shape=(None, 2)), recurrent_layer, keras.layers.Dense(1, name="answer")])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mse")
    return model


course.reseed(4)  # whatever your code drew from the random generators, the models below start the same
built_in = recall_model(keras.layers.LSTM(8, name="keras_lstm"))
home_made = recall_model(keras.layers.RNN(HomeMadeLSTMCell(8), name="home_made_lstm"))
lstm.copy_lstm_weights(built_in.get_layer("keras_lstm"), home_made.get_layer("home_made_lstm"))
home_made.get_layer("answer").set_weights(built_in.get_layer("answer").get_weights())
print("same initial weights:", all(np.array_equal(a, b) for a, b in zip(home_made.get_weights(),
                                                                          built_in.get_weights(), strict=True)))

# %% tags=["nbval-ignore-output"]
epochs = course.epochs(8)
histories, seconds = {}, {}


def train(name, model):
    """Fit on the recall task; keep the history and the wall time; print the last validation MSE.

    Both models are fitted from the same random state, so they see the training sequences in the same order.
    """
    course.reseed(5)
    started = time.perf_counter()
    histories[name] = model.fit(train_xs, train_ys, validation_data=(val_xs, val_ys), epochs=epochs, batch_size=50,
                                verbose=0).history
    seconds[name] = time.perf_counter() - started
    print(f"{name}: validation MSE {histories[name]['val_loss'][-1]:.4f} after {epochs} epochs "
          f"({seconds[name]:.1f} s)")


train("home-made", home_made)

# %% tags=["nbval-ignore-output"]
train("Keras LSTM", built_in)

# %% tags=["nbval-ignore-output"]
results = pd.DataFrame({
    "validation MSE": [baseline_mse] + [histories[n]["val_loss"][-1] for n in histories],
    "training time (s)": [0.0] + [seconds[n] for n in histories],
}, index=["baseline (training mean)", "home-made cell", "keras.layers.LSTM"])
print(f"after {epochs} epochs:")
print(results.round(4).to_string())
gap = max(abs(a - b) for a, b in zip(histories["home-made"]["val_loss"], histories["Keras LSTM"]["val_loss"],
                                     strict=True))
print(f"largest difference between the two validation curves, over all epochs: {gap:.1e}")

# %% [markdown]
# The learning curves of each model, training and validation loss per epoch, with the baseline for scale:

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), sharey=True)
for ax, (name, history) in zip(axes, histories.items(), strict=True):
    plots.plot_learning_curves(history, f"{name}: remember the marked number", ax=ax, loss_label="MSE (value units²)")
    ax.axhline(baseline_mse, color="gray", ls="--", label="baseline (training mean)")
    ax.set_yscale("log")
    ax.legend()
plots.show(fig, alt=f"Two line charts side by side, log scale, of training and validation MSE per epoch over {epochs} "
                    "epochs: the home-made LSTM cell on the left, keras.layers.LSTM on the right, each with a dashed "
                    "line for the baseline that always predicts the training mean. Notice that the two panels show "
                    f"the same curves (the validation curves differ by at most {gap:.1e}) and both end far below the "
                    "baseline.")

# %% tags=["nbval-check-output"]
final = {name: history["val_loss"][-1] for name, history in histories.items()}
_ = course.claim("both LSTMs end at a validation MSE at least 10 times below the baseline's",
                 holds=all(10 * mse < baseline_mse for mse in final.values()))
_ = course.claim("the two validation curves agree to 1e-5 at every epoch", holds=gap < 1e-5)

# %% [markdown]
# What to notice: both LSTMs learn the task, ending far below the baseline's validation MSE (the table above), and
# the two panels show the same curves: same maths, same starting weights, same data. Bit-for-bit equality is not
# guaranteed, since the two implementations may add the same numbers in a different order, but the printed gap
# between the curves is far below anything the plot can show.
#
# The training times are printed in the table, but they are not a verdict. On a CPU, `keras.layers.LSTM` also runs a
# step-by-step loop (its fused cuDNN kernel, NVIDIA's GPU library, is used only on a GPU), so neither model has a
# built-in advantage here, and which one finishes first in a given run depends on the machine and on what else it is
# doing. Measuring that properly takes repeats (Go further, item 3).
#
# ## Show that the two are the same model
#
# The final test: take the **trained** home-made cell's weights, copy them into a fresh `keras.layers.LSTM`, and
# compare the two models' predictions on the validation set.

# %% tags=["nbval-check-output"]
twin = recall_model(keras.layers.LSTM(8, name="keras_lstm"))
lstm.copy_lstm_weights(home_made.get_layer("home_made_lstm"), twin.get_layer("keras_lstm"))
twin.get_layer("answer").set_weights(home_made.get_layer("answer").get_weights())
home_predictions = home_made.predict(val_xs, verbose=0)
twin_predictions = twin.predict(val_xs, verbose=0)
print("predictions of the trained home-made model and of keras.layers.LSTM with its weights agree to 1e-5:",
      np.allclose(home_predictions, twin_predictions, atol=1e-5))

# %% [markdown]
# ## Backpropagate through one step (optional)
#
# Keras trained both models above by backpropagation: `fit` asks TensorFlow for the gradient of the loss with respect
# to every weight, and TensorFlow works it out by the chain rule, step by step, backwards in time (*backpropagation
# through time*, notebook 02). The piece that repeats at every step is the backward pass of one cell: given how the
# loss changes with the step's outputs, how does it change with the step's inputs and weights? This is the optional
# exercise that Ng's *Sequence Models* course also sets; it needs the chain rule and nothing else.
#
# ### Exercise 4 · lstm_cell_backward
#
# Write `lstm_cell_backward(dh_t, dc_t, x_t, h_prev, c_prev, W, U, b)`. The last six arguments are those of your
# `lstm_cell_step`. `dh_t` and `dc_t`, both (B, u), are the gradients of the loss with respect to the step's outputs
# $h_t$ and $C_t$ (the loss at this step, and what the next step passes back). Return the gradients of the loss with
# respect to the six arguments of the step, **in their order and with their shapes**:
# `(dx_t, dh_prev, dc_prev, dW, dU, db)`.
#
# Go through the step's equations backwards, one at a time; each line of the forward pass gives one or two lines:
#
# 1. Recompute the forward step as in Exercise 1, keeping what the backward pass needs: the gates $i_t, f_t, o_t$,
#    the candidate $\tilde{C}_t$ and the new $C_t$.
# 2. $C_t$ reaches the loss in two ways: directly (`dc_t`) and through $h_t = o_t * \tanh(C_t)$. Its total gradient
#    is the sum of the two.
# 3. From $h_t = o_t * \tanh(C_t)$: the gradient of $o_t$. From $C_t = f_t * C_{t-1} + i_t * \tilde{C}_t$: the
#    gradients of $f_t$, $i_t$, $\tilde{C}_t$ and `dc_prev`.
# 4. Through the activations, back to the four blocks of z: $\sigma'(z) = \sigma(z)\,(1 - \sigma(z))$ and
#    $\tanh'(z) = 1 - \tanh^2(z)$. Put the four blocks side by side in Keras' order i, f, c, o: `dz` (B, 4u).
# 5. From $z = x_t W + h_{t-1} U + b$: `dx_t`, `dh_prev`, and the weights' gradients, which add up over the batch.
#
# The check compares your six gradients with what TensorFlow's automatic differentiation (`tf.GradientTape`) gives
# through one step of `keras.layers.LSTM` with the same weights, and names the term that is missing or wrong. Using
# `GradientTape` (or a Keras LSTM) in your answer is not accepted: the point is to do the chain rule yourself.

# %%
def lstm_cell_backward(dh_t, dc_t, x_t, h_prev, c_prev, W, U, b):
    """Gradients of one LSTM step: (dx_t, dh_prev, dc_prev, dW, dU, db), each shaped like x_t, h_prev, c_prev, W, U, b."""
    ### BEGIN SOLUTION
    u = U.shape[0]
    z = x_t @ W + h_prev @ U + b
    i, f, o = lstm.sigmoid(z[:, :u]), lstm.sigmoid(z[:, u:2 * u]), lstm.sigmoid(z[:, 3 * u:])
    c_tilde = np.tanh(z[:, 2 * u:3 * u])
    tanh_c = np.tanh(f * c_prev + i * c_tilde)  # of the new C_t
    dc = dc_t + dh_t * o * (1 - tanh_c**2)  # directly, and through h_t = o * tanh(C_t)
    do = dh_t * tanh_c
    di, df, dc_tilde = dc * c_tilde, dc * c_prev, dc * i
    dz = np.concatenate([di * i * (1 - i), df * f * (1 - f), dc_tilde * (1 - c_tilde**2), do * o * (1 - o)], axis=1)
    return dz @ W.T, dz @ U.T, dc * f, x_t.T @ dz, h_prev.T @ dz, dz.sum(axis=0)
    ### END SOLUTION


# %%
passed = check_lstm_cell_backward(lstm_cell_backward)
lstm_cell_backward = use_reference_if_needed(lstm_cell_backward, passed, check_lstm_cell_backward)

# %% [markdown]
# With the backward pass of one step, backpropagation through time is a loop, run backwards: start after the last
# step with nothing coming back, and at each step t feed `lstm_cell_backward` the gradient that reaches $h_t$ (from
# the loss at step t, plus `dh_prev` of step t+1) and the `dc_prev` of step t+1; add up the weights' gradients over
# the steps. Here it runs over the 50-step sequences of the long check above, for a loss that weighs every $h_t$ with
# random numbers, and is compared with `tf.GradientTape` on `keras.layers.LSTM` itself:

# %% tags=["nbval-check-output"]
def lstm_backward(dhs, xs, h0, c0, W, U, b):
    """Backpropagation through time: the weights' gradients (dW, dU, db) and those of h0, c0, for a loss whose
    gradient with respect to each step's h_t is ``dhs[:, t]`` (B, T, u)."""
    run = lstm.lstm_gate_activations(xs, h0, c0, W, U, b)  # the forward pass, keeping every step's memories
    hs, cs = np.concatenate([h0[:, None], run["h"]], axis=1), np.concatenate([c0[:, None], run["c"]], axis=1)
    dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros_like(b)
    dh_next, dc_next = np.zeros_like(h0), np.zeros_like(c0)  # nothing comes back after the last step
    for t in reversed(range(xs.shape[1])):
        _, dh_next, dc_next, dW_t, dU_t, db_t = lstm_cell_backward(dhs[:, t] + dh_next, dc_next, xs[:, t],
                                                                   hs[:, t], cs[:, t], W, U, b)
        dW, dU, db = dW + dW_t, dU + dU_t, db + db_t
    return dW, dU, db, dh_next, dc_next


weigh = rng.normal(size=mine[0].shape)  # the loss is sum(weigh * hs): its gradient with respect to hs is weigh
h0_var, c0_var = tf.Variable(h0), tf.Variable(c0)
named = {variable.path.rsplit("/", 1)[-1]: variable.value for variable in reference_layer.weights}
with tf.GradientTape() as tape:
    hs_keras, _, _ = reference_layer(long_xs, initial_state=[h0_var, c0_var])
    loss = tf.reduce_sum(weigh * hs_keras)
by_tape = tape.gradient(loss, [named["kernel"], named["recurrent_kernel"], named["bias"], h0_var, c0_var])
by_hand = lstm_backward(weigh, long_xs, h0, c0, *lstm.keras_lstm_weights(reference_layer))
largest = max(float(np.max(np.abs(a - np.asarray(t)))) for a, t in zip(by_hand, by_tape, strict=True))
print(f"gradients of W, U, b, h0 and c0 over {long_xs.shape[1]} steps agree with tf.GradientTape to 1e-8:",
      largest < 1e-8)

# %% [markdown]
# ## Key takeaways
#
# * One LSTM step is one matrix product $x_t W + h_{t-1} U + b$ cut into four blocks (i, f, c, o), three sigmoids, two
#   tanh, and the two memory updates.
# * The layer is that step in a loop: carry h and C from step to step, collect h.
# * A Keras cell (`state_size`, `build`, `call`) written with `keras.ops` can be wrapped in `keras.layers.RNN`, trained,
#   and, with the same weight layout, is exactly `keras.layers.LSTM`.
# * Checking your own implementation against a trusted one, weight for weight, is how you know it is right.
# * Its backward pass (Exercise 4) is the chain rule through the same six equations, run backwards; in a loop over the
#   steps, it is backpropagation through time.

# %% [markdown]
# ## Go further (optional)
#
# 1. Add a `peephole`: let the gates also see $C_{t-1}$ (Gers & Schmidhuber, 2000). Which shapes change?
# 2. Write a GRU cell the same way and train it on the recall task.
# 3. Time one epoch of each model for the task's 20 steps and for 50 steps (the length of the long check above), a
#    few times each. Is the difference between the home-made cell and `keras.layers.LSTM` larger than the spread
#    between repeats of the same model?
#
# ## Further reading
#
# * The lecture's video on LSTMs (IBM Technology): <https://www.youtube.com/watch?v=b61DPVFX03I>
# * Keras guide, *Working with RNNs* (custom cells, `keras.layers.RNN`):
#   <https://keras.io/guides/working_with_rnns/>
# * Christopher Olah, *Understanding LSTM Networks* (2015): <https://colah.github.io/posts/2015-08-Understanding-LSTMs/>

# %%
_ = progress()
