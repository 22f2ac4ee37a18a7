"""Vanishing and exploding gradients, measured: the helpers of notebook 02.

The lecture's toy RNN (``utils.rnn``) carries the first day's input to the prediction through the recurrent weight w2
once per unroll, so the gradient with respect to anything on day 1 is scaled by about ``w2 ** (number of unrolls)``.
This module computes that factor, writes the chain rule dSSR/dw1 out term by term, runs plain gradient descent on the
toy RNN, and measures the same effect on real Keras layers (``SimpleRNN``, ``LSTM``): gradient of the output with
respect to the first input, a long-memory task, gradient clipping and the cost of backpropagation through time.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from utils.rnn import toy_rnn_forward, toy_rnn_keras
from utils.validate import finite_array, has, number, whole

#: The recurrent weights the notebook compares: shrinking (< 1), neutral (1) and growing (> 1).
W2_VALUES = (0.5, 0.9, 1.0, 1.1, 2.0)
#: The Keras recurrent layers the notebook measures, by short name.
LAYER_KINDS = ("SimpleRNN", "LSTM")


# --- the deck's "input day 1 × W2^n" --------------------------------------------------------------------------------


def unroll_factor(w2: float, n: int) -> float:
    """What day 1's input is multiplied by after ``n`` unrolls through the recurrent weight: ``w2 ** n``."""
    return number(w2, "w2") ** whole(n, "n", minimum=0, fix="the number of unrolls, e.g. 20")


def day1_factor(w2: float, days: int) -> float:
    """dh_T/dh_1 of the toy RNN over ``days`` = T days with every ReLU active (notebook 02's Exercise 1 reference)."""
    return unroll_factor(w2, whole(days, "days", fix="the sequence length T, e.g. 4") - 1)


def unroll_factor_table(w2_values=W2_VALUES, n_max: int = 50, input_day1: float = 1.0) -> pd.DataFrame:
    """``input_day1 × w2 ** n`` for n = 1 … n_max (rows) and each w2 (columns named ``W2 = …``)."""
    if int(n_max) < 1:
        raise ValueError(f"n_max must be at least 1, got {n_max}")
    n = np.arange(1, int(n_max) + 1)
    table = pd.DataFrame({f"W2 = {w2:g}": input_day1 * np.asarray(w2, dtype=float) ** n for w2 in w2_values},
                         index=pd.Index(n, name="unrolls n"))
    return table


def plot_unroll_factors(table: pd.DataFrame, ax=None):
    """The table of ``unroll_factor_table`` on a log scale: one line per W2."""
    import matplotlib.pyplot as plt

    has(table, "columns", "table", "the DataFrame from unroll_factor_table()")
    if ax is None:
        _, ax = plt.subplots()
    for column in table.columns:
        ax.plot(table.index, table[column], label=column)
    ax.set_yscale("log")
    ax.axhline(1.0, color="black", lw=0.8)
    ax.set(title="Input day 1 × W2ⁿ: what survives n unrolls", xlabel="number of unrolls n",
           ylabel="factor on day 1's input (log scale)")
    ax.legend(ncol=2, fontsize="small")
    return ax


def unroll_factor_widget(n_max: int = 50):
    """An ipywidgets control (W2 slider, n slider) redrawing W2^n, for live demos. Returns the widget."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    n_max = whole(n_max, "n_max", fix="the largest n the slider offers, e.g. 50")

    def draw(w2=2.0, n=20):
        fig, ax = plt.subplots()
        steps = np.arange(0, n + 1)
        ax.plot(steps, np.abs(w2) ** steps.astype(float), marker=".")
        ax.set_yscale("log")
        ax.axhline(1.0, color="black", lw=0.8)
        ax.set(title=f"W2 = {w2:.2f}: after {n} unrolls day 1 counts × {w2 ** n:.3g}", xlabel="number of unrolls n",
               ylabel="|W2|ⁿ (log scale)")
        plt.show()

    return widgets.interactive(
        draw,
        w2=widgets.FloatSlider(value=2.0, min=-2.0, max=2.5, step=0.05, description="W2"),
        n=widgets.IntSlider(value=20, min=1, max=n_max, description="unrolls n"),
    )


# --- the chain rule for the toy RNN, by hand ------------------------------------------------------------------------


def _as_batch(xs, ys):
    """Sequences as a (batch, T) float array and targets as (batch,), with clear errors for bad shapes."""
    xs = np.asarray(xs, dtype=float)
    if xs.ndim == 1:
        xs = xs[None, :]
    if xs.ndim != 2 or xs.shape[1] < 1:
        raise ValueError(f"xs must be one sequence (T,) or a batch (batch, T) with T >= 1, got shape {xs.shape}")
    ys = np.asarray(ys, dtype=float).reshape(-1)
    if ys.shape[0] != xs.shape[0]:
        raise ValueError(f"one target per sequence: {xs.shape[0]} sequences but {ys.shape[0]} targets")
    return xs, ys


def dssr_dw1_terms(xs, y, w1, b1, w2, w3, b2) -> pd.DataFrame:
    """dSSR/dw1 for ONE sequence ``xs`` (T,) and its target ``y``, one row per day t (the term day t contributes).

    SSR = (y - prediction)², prediction = w3·h_T + b2, h_t = ReLU(z_t), z_t = w1·x_t + w2·h_(t-1) + b1. Day t's term is

        dSSR/dpred · dpred/dh_T · dh_T/dh_t · dh_t/dz_t · dz_t/dw1
        = -2(y - pred) · w3 · Π_(k=t+1..T) [w2 · ReLU'(z_k)] · ReLU'(z_t) · x_t

    where ReLU'(z) is 1 for z > 0 and 0 otherwise. The column "term of day t" sums to dSSR/dw1.
    """
    xs_batch, ys = _as_batch(xs, [y])
    xs = xs_batch[0]
    hidden, prediction = toy_rnn_forward(xs, w1, b1, w2, w3, b2)
    previous = np.concatenate([[0.0], hidden[:-1]])
    z = w1 * xs + w2 * previous + b1
    slope = (z > 0).astype(float)  # ReLU'(z_t)
    # dh_T/dh_t = product over the later days k = t+1 … T of w2·ReLU'(z_k); it is 1 for t = T.
    later = np.append(w2 * slope[1:], 1.0)
    path = np.cumprod(later[::-1])[::-1]
    dssr_dpred = -2.0 * (ys[0] - prediction)
    table = pd.DataFrame({
        "x_t": xs, "z_t": z, "ReLU'(z_t)": slope, "dh_T/dh_t": path,
        "term of day t": dssr_dpred * w3 * path * slope * xs,
    }, index=pd.Index(np.arange(1, len(xs) + 1), name="day t"))
    table.attrs.update(prediction=float(prediction), dssr_dpred=float(dssr_dpred))
    return table


def dssr_dw1_by_hand(xs, ys, w1, b1, w2, w3, b2) -> float:
    """dSSR/dw1 summed over a batch of sequences ``xs`` (batch, T) with targets ``ys`` (batch,), by the chain rule."""
    xs, ys = _as_batch(xs, ys)
    return float(sum(dssr_dw1_terms(x, y, w1, b1, w2, w3, b2).iloc[:, -1].sum() for x, y in zip(xs, ys, strict=True)))


def dssr_dw1_tape(xs, ys, w1, b1, w2, w3, b2) -> float:
    """The same gradient from TensorFlow: notebook 01's Keras toy RNN, SSR, ``tf.GradientTape`` w.r.t. its kernel w1."""
    import tensorflow as tf

    xs, ys = _as_batch(xs, ys)
    model = toy_rnn_keras(w1, b1, w2, w3, b2)
    kernel = model.get_layer("recurrent_unit").cell.kernel
    inputs = tf.constant(xs[:, :, None], dtype=tf.float32)
    with tf.GradientTape() as tape:
        predictions = tf.reshape(model(inputs), [-1])
        ssr = tf.reduce_sum((tf.constant(ys, dtype=tf.float32) - predictions) ** 2)
    return float(tape.gradient(ssr, kernel).numpy().reshape(-1)[0])


# --- gradient descent on w1 -----------------------------------------------------------------------------------------


def gradient_descent_w1(xs, ys, weights: dict, learning_rate: float, steps: int, w1_start: float,
                        clip_norm: float | None = None) -> pd.DataFrame:
    """Plain gradient descent on w1 alone (the other four weights fixed), with the hand-computed gradient.

    Returns one row per step: w1, SSR at that w1, the gradient and the step actually taken. ``clip_norm`` clips the
    gradient to at most that size (for one weight, clipping by norm is clipping its absolute value).
    """
    if steps < 1 or learning_rate <= 0:
        raise ValueError("steps must be >= 1 and learning_rate > 0")
    xs, ys = _as_batch(xs, ys)
    others = {k: v for k, v in weights.items() if k != "w1"}
    rows, w1 = [], float(w1_start)
    for step in range(steps + 1):
        ssr = toy_ssr(xs, ys, w1=w1, **others)
        grad = dssr_dw1_by_hand(xs, ys, w1=w1, **others)
        used = grad if clip_norm is None else float(np.clip(grad, -clip_norm, clip_norm))
        rows.append({"step": step, "w1": w1, "SSR": ssr, "dSSR/dw1": grad, "step taken": -learning_rate * used})
        if not np.isfinite(w1) or abs(w1) > 1e12:
            break
        w1 = w1 - learning_rate * used
    return pd.DataFrame(rows).set_index("step")


def toy_ssr(xs, ys, w1, b1, w2, w3, b2) -> float:
    """Sum of squared residuals of the toy RNN over a batch of sequences."""
    xs, ys = _as_batch(xs, ys)
    return float(sum((y - toy_rnn_forward(x, w1, b1, w2, w3, b2)[1]) ** 2 for x, y in zip(xs, ys, strict=True)))


def plot_descent(ax, path: pd.DataFrame, ssr_of_w1, title: str, w1_range=None):
    """SSR as a function of w1 (a curve) with the gradient-descent iterates drawn on it, numbered."""
    w1s = path["w1"].to_numpy()
    lo, hi = w1_range if w1_range is not None else (w1s.min(), w1s.max())
    pad = 0.1 * (hi - lo or 1.0)
    grid = np.linspace(lo - pad, hi + pad, 300)
    ax.plot(grid, [ssr_of_w1(w) for w in grid], color="grey", label="SSR(W1)")
    shown = path[(path["w1"] >= lo - pad) & (path["w1"] <= hi + pad)]
    ax.plot(shown["w1"], shown["SSR"], "o-", color="C3", ms=4, lw=1, label="gradient-descent steps")
    for step, row in shown.iterrows():
        if step < 6:
            ax.annotate(str(step), (row["w1"], row["SSR"]), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set(title=title, xlabel="W1", ylabel="SSR")
    ax.legend(fontsize="small")
    return ax


# --- gradient clipping ----------------------------------------------------------------------------------------------


def clip_by_norm(gradient, max_norm: float):
    """Rescale ``gradient`` (any shape) so that its L2 norm is at most ``max_norm``; keep its direction.

    Same rule as ``tf.clip_by_norm``: ``gradient * max_norm / max(norm, max_norm)``.
    """
    if number(max_norm, "max_norm") <= 0:
        raise ValueError(f"max_norm must be positive, got {max_norm}")
    gradient = finite_array(gradient, "gradient", min_size=0)
    norm = np.sqrt(np.sum(gradient**2))
    return gradient * (max_norm / max(norm, max_norm))


# --- real layers: how much the first input still counts -------------------------------------------------------------


def make_recurrent_layer(kind: str, units: int, forget_bias: float | None = None, **kwargs):
    """A fresh ``SimpleRNN`` or ``LSTM`` layer (``kind``); for an LSTM, ``forget_bias`` sets every forget-gate bias.

    Keras' default LSTM starts its forget-gate biases at 1 (``unit_forget_bias=True``): the forget gate is then
    sigmoid(1) ≈ 0.73 open, so the long-term memory keeps about 73 % of itself per step before any learning.
    """
    import keras

    if kind not in LAYER_KINDS:
        raise ValueError(f"kind must be one of {LAYER_KINDS}, got {kind!r}")
    if kind == "SimpleRNN":
        if forget_bias is not None:
            raise ValueError("forget_bias only applies to an LSTM (a SimpleRNN has no forget gate)")
        return keras.layers.SimpleRNN(units, **kwargs)
    if forget_bias is None:
        return keras.layers.LSTM(units, **kwargs)
    # Keras packs the LSTM bias as [input gate, forget gate, candidate, output gate], `units` values each.
    bias = np.zeros(4 * units, dtype="float32")
    bias[units:2 * units] = forget_bias
    return keras.layers.LSTM(units, unit_forget_bias=False, bias_initializer=keras.initializers.Constant(bias),
                             **kwargs)


def input_gradients(layer, xs):
    """d sum(h_T) / d x_t for every step t of one batch ``xs`` (batch, T, features): an array (batch, T, features).

    ``layer`` is a recurrent layer (or a model whose first layer is one) returning the last hidden state h_T.
    """
    import tensorflow as tf

    xs = tf.convert_to_tensor(np.asarray(xs, dtype="float32"))
    with tf.GradientTape() as tape:
        tape.watch(xs)
        total = tf.reduce_sum(layer(xs))
    return tape.gradient(total, xs).numpy()


def side_by_side(kind: str, layers, features: int = 1):
    """One layer that runs several built layers of the same ``kind`` side by side, without any connection between them.

    Layer k reads input features ``k*features … (k+1)*features - 1`` and owns hidden units
    ``k*units … (k+1)*units - 1``: the kernels are block-diagonal. Measuring several random initialisations then
    costs one call instead of one per layer (each call of a new layer pays for building its computation graph).
    """
    layers = list(layers) if hasattr(layers, "__iter__") and not isinstance(layers, str) else []
    if not layers or not all(hasattr(layer, "units") for layer in layers):
        raise ValueError("layers must be a non-empty list of built SimpleRNN or LSTM layers (make_recurrent_layer)")
    features = whole(features, "features")
    units = layers[0].units
    count, gates = len(layers), (1 if kind == "SimpleRNN" else 4)
    kernel = np.zeros((count * features, gates * count * units), dtype="float32")
    recurrent = np.zeros((count * units, gates * count * units), dtype="float32")
    bias = np.zeros(gates * count * units, dtype="float32")
    for k, layer in enumerate(layers):
        w, u, b = (v.numpy() for v in (layer.cell.kernel, layer.cell.recurrent_kernel, layer.cell.bias))
        rows_in, rows_h = slice(k * features, (k + 1) * features), slice(k * units, (k + 1) * units)
        for gate in range(gates):  # Keras packs the LSTM gates as [i, f, c, o] blocks of `units` columns
            mine, big = slice(gate * units, (gate + 1) * units), slice((gate * count + k) * units,
                                                                       (gate * count + k + 1) * units)
            kernel[rows_in, big], recurrent[rows_h, big], bias[big] = w[:, mine], u[:, mine], b[mine]
    combined = make_recurrent_layer(kind, count * units)
    combined.build((None, None, count * features))
    combined.set_weights([kernel, recurrent, bias])
    return combined


def first_input_gradient_ratios(kind: str, lengths=(10, 25, 50, 100, 150), seeds=range(5), units: int = 32,
                                features: int = 1, input_scale: float = 1.0,
                                forget_bias: float | None = None) -> pd.DataFrame:
    """How much the FIRST input still moves the last hidden state, relative to the LAST input, at random initialisation.

    For each seed (a freshly initialised layer with Keras' default initialisers) and each length T, a random input
    sequence x_1 … x_T ~ N(0, input_scale²) with ``features`` features goes through the layer, and
    ``ratio = |d sum(h_T)/d x_1| / |d sum(h_T)/d x_T|`` (L2 norms over the features). Returns one row per
    (seed, length) with the ratio and |d sum(h_T)/d x_1|.

    All seeds and lengths are measured in one call: the layers run side by side (``side_by_side``), and shorter
    sequences are padded in front with masked steps, which leave the state at zero exactly as if the sequence
    started later.
    """
    import keras

    lengths, seeds = [int(t) for t in lengths], [int(s) for s in seeds]
    if min(lengths) < 2:
        raise ValueError("every length must be at least 2 (a first and a last step)")
    layers = []
    for seed in seeds:
        keras.utils.set_random_seed(seed)
        layer = make_recurrent_layer(kind, units, forget_bias)
        layer.build((None, None, features))
        layers.append(layer)
    combined = side_by_side(kind, layers, features)
    longest = max(lengths)
    xs = np.zeros((len(lengths), longest, len(seeds) * features), dtype="float32")
    mask = np.zeros((len(lengths), longest), dtype=bool)
    for k, seed in enumerate(seeds):
        rng = np.random.default_rng(seed)
        for i, length in enumerate(lengths):
            noise = input_scale * rng.normal(size=(length, features))
            xs[i, longest - length:, k * features:(k + 1) * features] = noise
    for i, length in enumerate(lengths):
        mask[i, longest - length:] = True
    grad = input_gradients(lambda x: combined(x, mask=mask), xs)
    rows = []
    for k, seed in enumerate(seeds):
        mine = slice(k * features, (k + 1) * features)
        for i, length in enumerate(lengths):
            first = float(np.linalg.norm(grad[i, longest - length, mine]))
            last = float(np.linalg.norm(grad[i, -1, mine]))
            rows.append({"layer": kind, "seed": seed, "length T": length, "|d/dx_1|": first,
                         "ratio first/last": first / last if last > 0 else np.nan})
    return pd.DataFrame(rows)


def geometric_mean_by_length(ratios: pd.DataFrame, column: str = "ratio first/last") -> pd.Series:
    """Geometric mean over seeds, per length: the right average for numbers spread over many orders of magnitude."""
    if not hasattr(ratios, "groupby") or "length T" not in getattr(ratios, "columns", ()) or column not in ratios:
        raise ValueError(f"ratios must be the DataFrame from first_input_gradient_ratios() with 'length T' and "
                         f"{column!r} columns")
    return ratios.groupby("length T")[column].apply(lambda v: float(10 ** np.mean(np.log10(v))))


# --- the long-memory task -------------------------------------------------------------------------------------------


def memory_task(n: int, gap: int, seed: int = 0, noise: float = 1.0):
    """Sequences where the answer is at the very start: "was the first value +1 or -1?", asked after ``gap`` steps.

    Each sequence has ``gap + 1`` steps and two features: feature 0 is the value (±1 on step 1, then Gaussian noise
    of standard deviation ``noise``), feature 1 is a marker that is 1 on step 1 and 0 after, so the network can tell
    the value to remember from the noise. Returns ``xs`` (n, gap + 1, 2) float32 and labels ``ys`` (n,) in {0, 1}
    (1 when the first value was +1). Half the labels are 1 on average, so chance accuracy is 50 %.
    """
    if whole(n, "n", minimum=-10**9) < 1 or whole(gap, "gap", minimum=-10**9) < 0:
        raise ValueError(f"need n >= 1 sequences and a gap >= 0, got n={n}, gap={gap}")
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n)
    xs = np.zeros((n, gap + 1, 2), dtype="float32")
    xs[:, :, 0] = rng.normal(0.0, noise, size=(n, gap + 1))
    xs[:, 0, 0] = 2 * labels - 1
    xs[:, 0, 1] = 1.0
    return xs, labels.astype("float32")


def memory_model(kind: str, units: int = 16, learning_rate: float = 3e-3, forget_bias: float | None = None,
                 clipnorm: float | None = None):
    """A small classifier for ``memory_task``: one recurrent layer (``kind``) then a sigmoid unit, Adam, accuracy.

    ``clipnorm`` caps the norm of each update's gradient (Adam's ``clipnorm``), which keeps a run that has learned the
    task from being thrown off it by one steep step.
    """
    import keras

    model = keras.Sequential([
        keras.Input(shape=(None, 2)),
        make_recurrent_layer(kind, units, forget_bias, name="recurrent"),
        keras.layers.Dense(1, activation="sigmoid", name="first_value_was_positive"),
    ], name=f"{kind}_memory")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=clipnorm), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model


# --- the cost of backpropagation through time -----------------------------------------------------------------------


def train_step_seconds(kind: str, lengths=(25, 50, 100, 200, 400), units: int = 32, batch: int = 32,
                       repeats: int = 7) -> pd.DataFrame:
    """Wall time of one training step (forward through T steps, backward through T steps, update) against length T.

    Each length is timed ``repeats`` times and the fastest is kept (the others were slowed by something else).

    One model and one compiled step serve every length (the time axis is left open), so only the first call pays
    for tracing; it is not timed. Times depend on the machine and on its load.
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(None, 1)), make_recurrent_layer(kind, units), keras.layers.Dense(1)])
    optimizer = keras.optimizers.Adam(1e-3)

    @tf.function(input_signature=[tf.TensorSpec([None, None, 1], tf.float32), tf.TensorSpec([None, 1], tf.float32)])
    def train_step(xs, ys):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((model(xs, training=True) - ys) ** 2)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(grads, model.trainable_variables)
        return loss

    rng = np.random.default_rng(0)
    ys = rng.normal(size=(batch, 1)).astype("float32")
    train_step(rng.normal(size=(batch, 2, 1)).astype("float32"), ys)  # trace once
    rows = []
    for length in lengths:
        xs = rng.normal(size=(batch, int(length), 1)).astype("float32")
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            train_step(xs, ys).numpy()
            times.append(time.perf_counter() - started)
        rows.append({"layer": kind, "length T": int(length), "ms per train step": 1000 * float(np.min(times))})
    return pd.DataFrame(rows)


def _lstm_numpy(layer, xs):
    """The forget-gate values f_t of a built Keras ``LSTM`` layer on inputs ``xs`` (batch, T, features), in NumPy.

    Returns ``(forget_gates, last_hidden)``: forget gates (batch, T, units) and h_T (batch, units).

    Steps the layer's own equations with its weights (gate order i, f, c, o; sigmoid gates, tanh memory):
    f_t = sigmoid(x_t·W_f + h_(t-1)·U_f + b_f). Along the long-term memory the
    gradient is multiplied by f_t at each step: the LSTM's counterpart of W2ⁿ is the product of the f_t.
    """
    kernel, recurrent, bias = (v.numpy() for v in (layer.cell.kernel, layer.cell.recurrent_kernel, layer.cell.bias))
    units = recurrent.shape[0]
    xs = np.asarray(xs, dtype="float32")
    if xs.ndim != 3 or xs.shape[-1] != kernel.shape[0]:
        raise ValueError(f"xs must have shape (batch, T, {kernel.shape[0]}), got {xs.shape}")
    sigmoid = lambda z: 1.0 / (1.0 + np.exp(-z))
    h = np.zeros((xs.shape[0], units))
    c = np.zeros((xs.shape[0], units))
    gates = []
    for t in range(xs.shape[1]):
        z = xs[:, t] @ kernel + h @ recurrent + bias
        i, f = sigmoid(z[:, :units]), sigmoid(z[:, units:2 * units])
        g, o = np.tanh(z[:, 2 * units:3 * units]), sigmoid(z[:, 3 * units:])
        c = f * c + i * g
        h = o * np.tanh(c)
        gates.append(f)
    return np.stack(gates, axis=1), h


def lstm_forget_gates(layer, xs) -> np.ndarray:
    """The forget-gate values f_t (batch, T, units) of a Keras ``LSTM`` layer on ``xs``; see ``_lstm_numpy``."""
    has(layer, "cell", "layer", "a built keras.layers.LSTM")
    return _lstm_numpy(layer, xs)[0]
