"""Vanishing and exploding gradients, measured: the plumbing and the exercise references of notebook 02.

Notebook 02 writes its lesson in its own cells: the factor W2ⁿ, the chain rule dSSR/dw1 of the toy RNN and its check
with ``tf.GradientTape``, gradient descent on w1, the memory task and its models. This module keeps what the notebook
hides: the exercise references (``day1_factor``, ``clip_by_norm``), the plots and the slider, and the measuring
machinery on real Keras layers (gradient of the last state with respect to the first input, the cost of
backpropagation through time). ``make_recurrent_layer`` is written in the notebook too; this copy serves the
measurements here.
"""

from __future__ import annotations

import time

import keras
import numpy as np
import pandas as pd

from utils.validate import finite_array, has, number, whole

# --- the deck's "input day 1 × W2^n" --------------------------------------------------------------------------------


def day1_factor(w2: float, days: int) -> float:
    """dh_T/dh_1 of the toy RNN over ``days`` = T days with every ReLU active (notebook 02's Exercise 1 reference)."""
    return number(w2, "w2") ** (whole(days, "days", fix="the sequence length T, e.g. 4") - 1)


def plot_unroll_factors(table: pd.DataFrame, ax=None):
    """A table of ``input day 1 × w2 ** n`` (rows n, one column per W2) on a log scale: one line per W2."""
    import matplotlib.pyplot as plt

    has(table, "columns", "table", "a DataFrame with one column of factors per W2, indexed by n")
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


# --- gradient descent on w1, drawn --------------------------------------------------------------------------------


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


def make_recurrent_layer(kind, units, forget_bias=None, **kwargs):
    """A fresh ``SimpleRNN`` or ``LSTM`` layer (``kind``); for an LSTM, ``forget_bias`` sets every forget-gate bias.

    Keras' default LSTM starts its forget-gate biases at 1 (``unit_forget_bias=True``): the forget gate is then
    sigmoid(1) ≈ 0.73 open, so the long-term memory keeps about 73 % of itself per step before any learning.
    """
    if kind not in ("SimpleRNN", "LSTM"):
        raise ValueError(f"kind must be 'SimpleRNN' or 'LSTM', got {kind!r}")
    if kind == "SimpleRNN":
        if forget_bias is not None:
            raise ValueError("forget_bias only applies to an LSTM (a SimpleRNN has no forget gate): leave it None")
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


# --- the cost of backpropagation through time -----------------------------------------------------------------------


def train_step_seconds(kind: str, lengths=(25, 50, 100, 200, 400), units: int = 32, batch: int = 32,
                       repeats: int = 7) -> pd.DataFrame:
    """Wall time of one training step (forward through T steps, backward through T steps, update) against length T.

    Each length is timed ``repeats`` times and the fastest is kept (the others were slowed by something else).

    One model and one compiled step serve every length (the time axis is left open), so only the first call pays
    for tracing; it is not timed. Times depend on the machine and on its load.
    """
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
