"""The lecture's toy RNN: one ReLU unit with five parameters (w1, b1, w2, w3, b2), in NumPy and in Keras.

At every step t the unit mixes today's input with its own previous value, and only the last step makes a prediction::

    h_t        = ReLU(w1 * x_t + w2 * h_{t-1} + b1)      with h_0 = 0
    prediction = w3 * h_T + b2

The same five numbers are used at every step (weight sharing), however long the sequence is. Notebook 01 writes
``toy_rnn_keras`` in a cell of its own (this is the copy notebook 02 imports); ``toy_rnn_forward`` is the reference
answer of its Exercise 1, which the checker and notebook 02 use.

The same recurrence with u tanh units, for a batch, in matrix form (the reference answers of notebook 01's Exercise 2,
computed as ``keras.layers.SimpleRNN`` computes them, with its weights ``kernel``, ``recurrent_kernel``, ``bias``)::

    h_t = tanh(x_t Wx + h_{t-1} Wh + b)      with h_0 = 0
"""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd

from utils.validate import finite_array, has, number, whole

#: Weights used throughout the lecture (the deck's worked example): w2 < 0 so ReLU visibly clips some steps.
TOY_WEIGHTS = {"w1": 1.8, "b1": 0.0, "w2": -0.5, "w3": 1.1, "b2": 0.0}


def relu(z):
    """max(z, 0), elementwise."""
    return np.maximum(z, 0.0)


def toy_rnn_forward(xs, w1, b1, w2, w3, b2):
    """Run the toy RNN over a 1-D sequence ``xs`` of any length T >= 1.

    Returns ``(hidden, prediction)``: the hidden values h_1 … h_T as an array of shape (T,), and w3 * h_T + b2.
    """
    xs, (w1, b1, w2, w3, b2) = _toy_inputs(xs, w1, b1, w2, w3, b2)
    hidden, h = [], 0.0
    for x in xs:
        h = relu(w1 * x + w2 * h + b1)
        hidden.append(h)
    return np.array(hidden), w3 * hidden[-1] + b2


def _toy_weights(*weights) -> list[float]:
    """The five toy weights as floats, else a ValueError naming the one at fault."""
    return [number(w, name, fix="pass one number, e.g. rnn.TOY_WEIGHTS['" + name + "']")
            for w, name in zip(weights, ("w1", "b1", "w2", "w3", "b2"), strict=True)]


def _toy_inputs(xs, *weights) -> tuple[np.ndarray, list[float]]:
    """A sequence of at least one number (T,) and the five weights, checked."""
    return finite_array(xs, "xs", ndim=(0, 1)).reshape(-1), _toy_weights(*weights)


def toy_rnn_table(xs, w1, b1, w2, w3, b2) -> pd.DataFrame:
    """The unrolled computation step by step, one row per day: what goes in, what the unit computes, what comes out.

    The hidden values come from ``toy_rnn_forward`` (the one recurrence); the table adds the terms of each z_t.
    """
    hidden, _ = toy_rnn_forward(xs, w1, b1, w2, w3, b2)
    xs, (w1, b1, w2, w3, b2) = _toy_inputs(xs, w1, b1, w2, w3, b2)
    previous = np.concatenate([[0.0], hidden[:-1]])  # h_(t-1), with h_0 = 0
    table = pd.DataFrame({"x_t": xs, "w1·x_t": w1 * xs, "w2·h_(t-1)": w2 * previous,
                          "z_t = … + b1": w1 * xs + w2 * previous + b1, "h_t = ReLU(z_t)": hidden},
                         index=pd.Index(np.arange(1, len(xs) + 1), name="day t"))
    table["prediction w3·h_t + b2"] = w3 * table["h_t = ReLU(z_t)"] + b2
    return table


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


def _tanh_rnn_inputs(x, Wx, Wh, b, x_name: str, x_ndim: int) -> tuple[np.ndarray, ...]:
    """The input and the three weights of a tanh RNN layer as float arrays whose shapes fit, else a ValueError."""
    x = finite_array(x, x_name, ndim=x_ndim)
    Wx, Wh, b = (finite_array(w, name, ndim=d) for w, name, d in ((Wx, "Wx", 2), (Wh, "Wh", 2), (b, "b", 1)))
    units = Wh.shape[0]
    if Wh.shape != (units, units) or Wx.shape != (x.shape[-1], units) or b.shape != (units,):
        raise ValueError(f"shapes do not fit: {x_name} {x.shape} (last axis: features), Wx {Wx.shape} (features, "
                         f"units), Wh {Wh.shape} (units, units), b {b.shape} (units,): pass the layer's kernel, "
                         "recurrent_kernel and bias, in that order")
    return x, Wx, Wh, b


def rnn_cell_forward(x_t, h_prev, Wx, Wh, b):
    """One step of a tanh RNN layer with u units, for a batch: ``h_t = tanh(x_t Wx + h_prev Wh + b)``.

    x_t: (batch, features), this step's inputs; h_prev: (batch, u), the hidden states of the step before;
    Wx: (features, u), Wh: (u, u), b: (u,) (SimpleRNN's kernel, recurrent_kernel and bias). Returns h_t, (batch, u).
    """
    x_t, Wx, Wh, b = _tanh_rnn_inputs(x_t, Wx, Wh, b, "x_t", 2)
    h_prev = finite_array(h_prev, "h_prev", ndim=2)
    if h_prev.shape != (len(x_t), len(b)):
        raise ValueError(f"h_prev must have shape (batch, units) = {(len(x_t), len(b))}, not {h_prev.shape}")
    return np.tanh(x_t @ Wx + h_prev @ Wh + b)


def rnn_forward(x, Wx, Wh, b):
    """A tanh RNN layer with u units over whole sequences, from h_0 = 0: every hidden state, as SimpleRNN(u,
    return_sequences=True) gives them.

    x: (batch, T, features); Wx: (features, u), Wh: (u, u), b: (u,). Returns (batch, T, u): h_1 … h_T of each sequence.
    """
    x, Wx, Wh, b = _tanh_rnn_inputs(x, Wx, Wh, b, "x", 3)
    h = np.zeros((x.shape[0], len(b)))
    states = []
    for t in range(x.shape[1]):
        # rnn_cell_forward's step, written out rather than called: the check refuses an answer that runs a reference
        # answer, and this one, handed in as a student's, must pass
        h = np.tanh(x[:, t] @ Wx + h @ Wh + b)
        states.append(h)
    return np.stack(states, axis=1)


def monthly_training_data(closes: pd.DataFrame, split, min_len: int = 3, max_len: int = 12, pad_value: float = -1.0,
                          seed: int = 0):
    """Stretches of ``min_len`` … ``max_len`` consecutive months of each company, padded, with next month as target.

    Every stretch and its target are divided by the stretch's last price, so companies with very different price
    levels are comparable and "no change" is 1.0. Stretches whose target month is before ``split`` train, the others
    test. Returns ``(train_x, train_y, test_x, test_y)``; x has shape (n, max_len, 1), padded at the end with
    ``pad_value``, y has shape (n,).
    """
    has(closes, "items", "closes", "a DataFrame of prices, one column per company (data.load_monthly_closes())")
    min_len, max_len = whole(min_len, "min_len"), whole(max_len, "max_len")
    if not isinstance(split, (str, pd.Timestamp)) and not hasattr(split, "year"):
        raise ValueError(f"split must be a date such as '2006-01-01', not {split!r}")
    if not 1 <= min_len <= max_len:
        raise ValueError(f"need 1 <= min_len <= max_len, got min_len={min_len}, max_len={max_len}")
    rng = np.random.default_rng(seed)
    split = pd.Timestamp(split)
    parts = {True: ([], []), False: ([], [])}
    for _, series in closes.items():
        prices = series.dropna()
        values = prices.to_numpy(dtype=float)
        for end in range(min_len - 1, len(values) - 1):
            length = int(rng.integers(min_len, min(max_len, end + 1) + 1))
            stretch = values[end - length + 1 : end + 1] / values[end]
            xs, ys = parts[prices.index[end + 1] < split]
            xs.append(np.concatenate([stretch, np.full(max_len - length, pad_value)]))
            ys.append(values[end + 1] / values[end])
    if not parts[True][0] or not parts[False][0]:
        raise ValueError(f"split {split.date()} leaves no training or no test stretches: choose a date inside the data")
    arrays = []
    for is_train in (True, False):
        xs, ys = parts[is_train]
        arrays += [np.array(xs, dtype="float32")[..., np.newaxis], np.array(ys, dtype="float32")]
    return tuple(arrays)
