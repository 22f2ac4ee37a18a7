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

from utils import rnn
from utils.plots import PALETTE
from utils.validate import finite_array, has, number, whole

# --- the deck's "input day 1 × W2^n" --------------------------------------------------------------------------------


def day1_factor(w2: float, days: int) -> float:
    """dh_T/dh_1 of the toy RNN over ``days`` = T days with every ReLU active (notebook 02's Exercise 1 reference)."""
    return number(w2, "w2") ** (whole(days, "days", fix="the sequence length T, e.g. 4") - 1)


def plot_unroll_factors(table: pd.DataFrame, ax=None):
    """A table of ``input day 1 × w2 ** n`` (rows n, one column per W2) on a log scale: one line per W2.

    The W2 = 1 line is the level at which day 1 neither grows nor fades, so no separate reference line is drawn over it.
    """
    import matplotlib.pyplot as plt

    has(table, "columns", "table", "a DataFrame with one column of factors per W2, indexed by n")
    if ax is None:
        _, ax = plt.subplots()
    for column in table.columns:
        ax.plot(table.index, table[column], label=column, lw=2.2 if column == "W2 = 1" else 1.5)
    ax.set_yscale("log")
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
        ax.axhline(1.0, color="grey", lw=0.8, ls=":", zorder=0, label="1: day 1 kept as it was")
        ax.plot(steps, np.abs(w2) ** steps.astype(float), marker=".", label=f"|W2|ⁿ with W2 = {w2:.2f}")
        ax.set_yscale("log")
        ax.set(title=f"W2 = {w2:.2f}: after {n} unrolls day 1 counts × {w2 ** n:.3g}", xlabel="number of unrolls n",
               ylabel="|W2|ⁿ (log scale)")
        ax.legend(fontsize="small")
        plt.show()

    return widgets.interactive(
        draw,
        w2=widgets.FloatSlider(value=2.0, min=-2.0, max=2.5, step=0.05, description="W2"),
        n=widgets.IntSlider(value=20, min=1, max=n_max, description="unrolls n"),
    )


# --- backpropagation through time, by hand ---------------------------------------------------------------------------


def toy_rnn_gradients(xs, y, w1, b1, w2, w3, b2):
    """Backpropagation through time for the toy RNN on ONE sequence ``xs`` (T,) with target ``y`` (notebook 02's
    Exercise 2 reference).

    Returns ``(terms_w1, terms_w2)``, two arrays (T,): the term that day t adds to dSSR/dW1 and to dSSR/dW2 (W1 and W2
    are used on every day; each use adds one term). Their sums are the gradients.
    """
    hidden, prediction = rnn.toy_rnn_forward(xs, w1, b1, w2, w3, b2)
    xs = np.asarray(xs, dtype=float).reshape(-1)
    y = number(y, "y", fix="the observed value after the last day, one number")
    previous = np.concatenate([[0.0], hidden[:-1]])  # h_(t-1), with h_0 = 0
    active = (w1 * xs + w2 * previous + b1 > 0).astype(float)  # ReLU'(z_t)
    terms_w1, terms_w2 = np.zeros(len(xs)), np.zeros(len(xs))
    d_hidden = -2.0 * (y - prediction) * w3  # dSSR/dh_T
    for t in reversed(range(len(xs))):  # backwards through time: from the last day to the first
        d_z = d_hidden * active[t]  # dSSR/dz_t
        terms_w1[t], terms_w2[t] = d_z * xs[t], d_z * previous[t]  # dz_t/dW1 = x_t, dz_t/dW2 = h_(t-1)
        d_hidden = d_z * w2  # dSSR/dh_(t-1) = dSSR/dz_t · dz_t/dh_(t-1)
    return terms_w1, terms_w2


# --- gradient descent on w1, drawn --------------------------------------------------------------------------------


def plot_descent(ax, path: pd.DataFrame, ssr_of_w1, title: str, w1_range=None):
    """SSR as a function of w1 (a curve) with the gradient-descent iterates drawn on it, numbered.

    Consecutive steps that land on (almost) the same point share one label, "0–10"; a label that would sit on top of
    an earlier one is left out, except the last step's. Labels are written on the side away from the minimum.
    """
    w1s = path["w1"].to_numpy()
    lo, hi = w1_range if w1_range is not None else (w1s.min(), w1s.max())
    pad = 0.1 * (hi - lo or 1.0)
    grid = np.linspace(lo - pad, hi + pad, 300)
    curve = np.array([ssr_of_w1(w) for w in grid])
    ax.plot(grid, curve, color="grey", label="SSR(W1)")
    shown = path[(path["w1"] >= lo - pad) & (path["w1"] <= hi + pad)]
    ax.plot(shown["w1"], shown["SSR"], "o-", color="C3", ms=4, lw=1, label="gradient-descent steps")
    minimum, top = grid[np.argmin(curve)], max(curve.max(), shown["SSR"].max()) or 1.0

    def near(a, b, size=1.0):  # closer than a label's size (times ``size``), in the axes' width and height
        return abs(a[0] - b[0]) < size * 0.07 * (grid[-1] - grid[0]) and abs(a[1] - b[1]) < size * 0.09 * top

    groups = []  # [first step, last step, (w1, SSR) of the first]
    for step, row in shown.iterrows():
        point = (row["w1"], row["SSR"])
        if groups and near(groups[-1][2], point, size=0.1):  # piled up on the step before
            groups[-1][1] = step
        else:
            groups.append([step, step, point])
    placed = []
    for index, (first, last, point) in enumerate(groups):
        if index < len(groups) - 1 and any(near(point, other) for other in placed):
            continue
        placed.append(point)
        left = point[0] < minimum
        ax.annotate(f"{first}" if first == last else f"{first}–{last}", point, textcoords="offset points",
                    xytext=(-5 if left else 5, 4), ha="right" if left else "left", fontsize=8)
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


# --- the models of sections 4 to 7, one colour each ------------------------------------------------------------------

#: The colour of each model in every figure of notebook 02 (the course palette, ``utils.plots.PALETTE``).
MODEL_COLOURS = {"SimpleRNN": PALETTE["blue"], "LSTM, forget bias 1": PALETTE["orange"],
                 "LSTM, forget bias 5": PALETTE["green"], "chance (baseline)": PALETTE["black"]}


def plot_runs(runs: pd.DataFrame, chance: dict, title: str, ax=None):
    """Test accuracy of every run (a dot each) and each model's median (a line) against the gap; chance dashed.

    ``runs``: one row per run with columns "model", "gap" and "test accuracy" (notebook 02's ``runs_table``);
    ``chance``: the chance accuracy per gap. Each model's dots are shifted a little sideways, so they do not hide each
    other, and the legend sits beside the axes, not over the dots.
    """
    import matplotlib.pyplot as plt

    has(runs, "groupby", "runs", "a DataFrame with one row per run and columns model, gap and test accuracy")
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.5))
    groups = list(runs.groupby("model", sort=False))
    for offset, (name, group) in zip(np.linspace(-2, 2, len(groups)), groups, strict=True):
        colour = MODEL_COLOURS.get(name)
        ax.plot(group["gap"] + offset, group["test accuracy"], "o", color=colour, alpha=0.5, ms=4)
        medians = group.groupby("gap")["test accuracy"].median()
        runs_each = group.groupby("gap").size().max()
        ax.plot(medians.index + offset, medians, "-", color=colour, lw=2, label=f"{name} (median of {runs_each})")
    ax.plot(list(chance), list(chance.values()), "--", color=MODEL_COLOURS["chance (baseline)"],
            label="chance (baseline)")
    ax.set(title=title, xlabel="gap (steps of noise)", ylabel="test accuracy", xticks=sorted(chance), ylim=(0.4, 1.03))
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    return ax


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

    ``layer`` is a recurrent layer (or a model whose first layer is one) returning the last hidden state h_T. The tape
    runs inside one ``tf.function``: tracing the loop once is faster than stepping it eagerly.
    """
    import tensorflow as tf

    if not callable(layer):
        raise ValueError(f"layer must be a recurrent layer (or a model) to call on the batch, such as "
                         f"make_recurrent_layer('LSTM', 8), not {type(layer).__name__}")

    @tf.function
    def gradient(xs):
        with tf.GradientTape() as tape:
            tape.watch(xs)
            total = tf.reduce_sum(layer(xs))
        return tape.gradient(total, xs)

    return gradient(tf.convert_to_tensor(np.asarray(xs, dtype="float32"))).numpy()


# --- several small recurrent models run (and trained) as one ----------------------------------------------------------


class SideBySideCell(keras.layers.Layer):
    """``count`` SimpleRNN or LSTM cells of ``units`` units each, run side by side with no connection between them.

    Cell k reads input features ``k*features … (k+1)*features - 1`` and owns state units ``k*units … (k+1)*units - 1``.
    Its weights hold one block per cell: kernel (count, features, g·units), recurrent kernel (count, units, g·units),
    bias (count, g·units), with g = 1 for a SimpleRNN (tanh) and g = 4 for an LSTM (Keras' gate order i, f, c, o,
    sigmoid gates, tanh candidate and output), so each block is exactly a Keras layer's weights. One step is one
    batched matrix product for all the cells: running ``count`` small networks costs about as much as running one.
    """

    def __init__(self, kind: str, count: int, units: int, features: int, **kwargs):
        super().__init__(**kwargs)
        if kind not in ("SimpleRNN", "LSTM"):
            raise ValueError(f"kind must be 'SimpleRNN' or 'LSTM', got {kind!r}")
        self.kind, self.count, self.units, self.features = kind, count, units, features
        self.gates = 1 if kind == "SimpleRNN" else 4
        self.state_size = [count * units] * (1 if kind == "SimpleRNN" else 2)
        self.output_size = count * units

    def build(self, input_shape):
        count, units, features, gates = self.count, self.units, self.features, self.gates
        self.kernel = self.add_weight(shape=(count, features, gates * units), initializer="zeros", name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(count, units, gates * units), initializer="zeros",
                                                name="recurrent_kernel")
        self.bias = self.add_weight(shape=(count, gates * units), initializer="zeros", name="bias")

    def call(self, inputs, states):
        ops = keras.ops
        x = ops.reshape(inputs, (-1, self.count, self.features))
        h = ops.reshape(states[0], (-1, self.count, self.units))
        z = (ops.einsum("bkf,kfg->bkg", x, self.kernel) + ops.einsum("bku,kug->bkg", h, self.recurrent_kernel)
             + self.bias)
        if self.kind == "SimpleRNN":
            h = ops.reshape(ops.tanh(z), (-1, self.count * self.units))
            return h, [h]
        i, f, candidate, o = ops.split(z, 4, axis=-1)
        c = ops.sigmoid(f) * ops.reshape(states[1], (-1, self.count, self.units)) + ops.sigmoid(i) * ops.tanh(candidate)
        h = ops.sigmoid(o) * ops.tanh(c)
        flat = (-1, self.count * self.units)
        return ops.reshape(h, flat), [ops.reshape(h, flat), ops.reshape(c, flat)]


def side_by_side(kind: str, layers, features: int = 1):
    """One layer that runs several built layers of the same ``kind`` side by side, without any connection between them.

    Layer k reads input features ``k*features … (k+1)*features - 1`` and returns hidden units
    ``k*units … (k+1)*units - 1`` (``SideBySideCell``). Measuring several random initialisations then costs one call
    instead of one per layer (each call of a new layer pays for building its computation graph).
    """
    layers = list(layers) if hasattr(layers, "__iter__") and not isinstance(layers, str) else []
    if not layers or not all(hasattr(layer, "units") and getattr(layer, "built", False) for layer in layers):
        raise ValueError("layers must be a non-empty list of built SimpleRNN or LSTM layers (make_recurrent_layer)")
    features = whole(features, "features")
    combined = keras.layers.RNN(SideBySideCell(kind, len(layers), layers[0].units, features))
    combined.build((None, None, len(layers) * features))
    combined.set_weights([np.stack(weights) for weights in zip(*(layer.get_weights() for layer in layers),
                                                                strict=True)])
    return combined


class _SideBySideHead(keras.layers.Layer):
    """``count`` Dense(1, sigmoid) units side by side: unit k reads only the hidden units of cell k."""

    def __init__(self, count: int, units: int, **kwargs):
        super().__init__(**kwargs)
        self.count, self.units = count, units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(self.count, self.units), initializer="zeros", name="kernel")
        self.bias = self.add_weight(shape=(self.count,), initializer="zeros", name="bias")

    def call(self, hidden):
        hidden = keras.ops.reshape(hidden, (-1, self.count, self.units))
        return keras.ops.sigmoid(keras.ops.einsum("bku,ku->bk", hidden, self.kernel) + self.bias)


def _check_small_models(models) -> tuple[str, int, int]:
    """The kind, units and input features shared by ``models``: each a recurrent layer and a Dense(1) sigmoid unit."""
    models = list(models) if isinstance(models, list | tuple) else []
    if not models:
        raise ValueError("models must be a non-empty list of Keras models, such as notebook 02's memory_model(...)")
    shapes = set()
    for model in models:
        layers = getattr(model, "layers", [])
        if (len(layers) != 2 or type(layers[0]).__name__ not in ("SimpleRNN", "LSTM")
                or getattr(layers[1], "units", None) != 1 or layers[1].activation.__name__ != "sigmoid"):
            raise ValueError("models must be a non-empty list of Keras models of one recurrent layer (SimpleRNN or "
                             "LSTM) and a Dense(1, activation='sigmoid'), such as notebook 02's memory_model(...)")
        shapes.add((type(layers[0]).__name__, layers[0].units, model.inputs[0].shape[-1]))
    if len(shapes) != 1:
        raise ValueError(f"the models must all have the same layer kind, units and input features, not {shapes}")
    return shapes.pop()


def _summed_binary_crossentropy(y_true, y_pred):
    """The sum over the side-by-side models of each one's binary cross-entropy, so each gets its own gradient."""
    return keras.ops.sum(keras.ops.binary_crossentropy(y_true, y_pred), axis=-1)


class SideBySide:
    """Several small recurrent classifiers, alike in kind and size, run and trained at once as one wide network.

    ``models``: compiled Keras models of one recurrent layer (SimpleRNN or LSTM) and a Dense(1) sigmoid unit (notebook
    02's ``memory_model``), each with its own initial weights. The wide network holds them side by side
    (``SideBySideCell``: no weight connects two of them; model k reads input features ``k*f … (k+1)*f - 1``), so
    that for networks this small, whose training steps cost mostly fixed overhead, k models cost about as much as one.
    """

    def __init__(self, models):
        kind, units, features = _check_small_models(models)
        self.models, self.features = list(models), features
        optimizer = getattr(self.models[0], "optimizer", None)
        if optimizer is None:
            raise ValueError("compile the models first (memory_model does): their optimizer settings are used")
        config = optimizer.get_config()
        if config.get("clipnorm") or config.get("global_clipnorm"):
            raise ValueError("clipnorm clips each weight's gradient as a whole, and side by side one weight holds "
                             "every model's part: it would mix the models. Compile them without clipnorm")
        count = len(self.models)
        recurrent = side_by_side(kind, [model.layers[0] for model in self.models], features)
        head = _SideBySideHead(count, units)
        self.wide = keras.Sequential([keras.Input(shape=(None, count * features)), recurrent, head])
        heads = [model.layers[1].get_weights() for model in self.models]
        head.set_weights([np.stack([kernel[:, 0] for kernel, _ in heads]), np.concatenate([b for _, b in heads])])
        # The loss is the sum of the models' losses, so each model's weights get the gradient they would get alone;
        # Adam steps each weight entry on its own, so each model moves as it would alone.
        self.wide.compile(optimizer=type(optimizer).from_config(config), loss=_summed_binary_crossentropy)

    def _join(self, xs) -> np.ndarray:
        """One input array (n, T, count * features) from one array shared by all models, or a list of one per model."""
        count = len(self.models)
        parts = list(xs) if isinstance(xs, list | tuple) else [xs] * count
        if len(parts) != count:
            raise ValueError(f"give one input array shared by all {count} models, or a list of {count}, not "
                             f"{len(parts)}")
        return np.concatenate([np.asarray(part, dtype="float32") for part in parts], axis=-1)

    def predict(self, xs) -> np.ndarray:
        """Each model's output on ``xs`` (one array for all, or a list of one per model): an array (n, models)."""
        return self.wide.predict(self._join(xs), batch_size=500, verbose=0)

    def fit(self, train_sets, validation_set, epochs: int, batch_size: int = 32, shuffle: bool = True) -> list[dict]:
        """Train every model on its own ``(xs, ys)`` of ``train_sets``; each keeps the weights of its best epoch.

        After every epoch each model's loss on ``validation_set`` (one ``(xs, ys)`` for all) is measured; at the end
        the wide network, and each small model, get every model's weights from that model's own best epoch.
        Returns one dict per model: ``best_epoch`` (1 = first) and ``validation_loss`` per epoch.
        """
        epochs, count = whole(epochs, "epochs"), len(self.models)
        pairs = list(train_sets) if isinstance(train_sets, list | tuple) else []
        if len(pairs) != count:
            raise ValueError(f"give one (xs, ys) training pair per model: {count} pairs, not {len(pairs)}")
        xs = self._join([x for x, _ in pairs])
        ys = np.stack([np.asarray(y, dtype="float32").reshape(-1) for _, y in pairs], axis=-1)
        val_ys = np.asarray(validation_set[1], dtype="float32").reshape(-1, 1)
        losses, snapshots = [], []

        def measure(epoch, logs=None):
            probabilities = np.clip(self.predict(validation_set[0]), 1e-7, 1 - 1e-7)
            losses.append(-np.mean(val_ys * np.log(probabilities) + (1 - val_ys) * np.log(1 - probabilities), axis=0))
            snapshots.append(self.wide.get_weights())

        self.wide.fit(xs, ys, epochs=epochs, batch_size=batch_size, shuffle=shuffle, verbose=0,
                      callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=measure)])
        best = np.array(losses).argmin(axis=0)
        # every weight of the wide network is stacked over the models (axis 0), so model k's part is index k
        self.wide.set_weights([np.stack([snapshots[best[k]][i][k] for k in range(count)])
                               for i in range(len(snapshots[0]))])
        kernel, recurrent_kernel, bias, head_kernel, head_bias = self.wide.get_weights()
        for k, model in enumerate(self.models):
            model.layers[0].set_weights([kernel[k], recurrent_kernel[k], bias[k]])
            model.layers[1].set_weights([head_kernel[k][:, None], head_bias[k:k + 1]])
        return [{"best_epoch": int(best[k]) + 1, "validation_loss": [float(v[k]) for v in losses]}
                for k in range(count)]


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
