"""The LSTM cell of the lecture, in NumPy and in Keras, with Keras' own weight layout.

One step takes the input x_t, the short-term memory h_{t-1} and the long-term memory C_{t-1} (deck notation)::

    f_t  = sigmoid(W_f·[h_{t-1}, x_t] + b_f)     forget gate: the fraction of C_{t-1} to keep
    i_t  = sigmoid(W_i·[h_{t-1}, x_t] + b_i)     input gate: the fraction of the candidate to add
    C~_t = tanh(W_C·[h_{t-1}, x_t] + b_C)        candidate ("potential") memory
    C_t  = f_t * C_{t-1} + i_t * C~_t            new long-term memory
    o_t  = sigmoid(W_o·[h_{t-1}, x_t] + b_o)     output gate: the fraction of tanh(C_t) to show
    h_t  = o_t * tanh(C_t)                       new short-term memory (and the layer's output)

Keras stores the four W_g·[h, x] products in three arrays: the kernel ``W (d, 4u)`` multiplies x_t, the recurrent kernel
``U (u, 4u)`` multiplies h_{t-1}, and the bias is ``b (4u,)``. Their columns are four blocks of u columns in the gate
order **i, f, c, o**, so for example W_f·[h, x] + b_f = x @ W[:, u:2u] + h @ U[:, u:2u] + b[u:2u].
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from utils.validate import has, whole

#: Keras' gate order of the column blocks in the kernel, recurrent kernel and bias.
GATES = ("i", "f", "c", "o")
GATE_NAMES = {"i": "input gate i_t", "f": "forget gate f_t", "c": "candidate C~_t", "o": "output gate o_t"}


def parameter_count(input_dim: int, units: int) -> int:
    """Trainable numbers in ``keras.layers.LSTM(units)`` on ``input_dim`` features: 4·(u·(d+u)+u).

    Four blocks (i, f, c, o), each with u·d input weights, u·u recurrent weights and u biases.
    """
    input_dim, units = whole(input_dim, "input_dim"), whole(units, "units")
    return 4 * (units * (input_dim + units) + units)


def step_arrays(x_t, h_prev, c_prev, W, U, b):
    """The six arguments of one step as NumPy arrays, or a ValueError that names the wrong one and its right shape.

    Shapes: x_t (batch, d); h_prev, c_prev (batch, u); W (d, 4u); U (u, 4u); b (4u,).
    """
    x_t, h_prev, c_prev, W, U, b = (np.asarray(a) for a in (x_t, h_prev, c_prev, W, U, b))
    if x_t.ndim != 2:
        raise ValueError(f"x_t must be 2-D (batch, d), got shape {x_t.shape}: use x_t.reshape(1, -1) for one example")
    batch, d = x_t.shape
    if U.ndim != 2 or U.shape[1] != 4 * U.shape[0]:
        raise ValueError(f"U (the recurrent kernel) must have shape (u, 4u), got {U.shape}")
    u = U.shape[0]
    expected = {"h_prev": (h_prev, (batch, u)), "c_prev": (c_prev, (batch, u)), "W": (W, (d, 4 * u)),
                "b": (b, (4 * u,))}
    for name, (value, shape) in expected.items():
        if value.shape != shape:
            raise ValueError(f"{name} must have shape {shape} for x_t {x_t.shape} and U {U.shape}, got {value.shape}")
    return x_t, h_prev, c_prev, W, U, b


# --- the NumPy LSTM: written in notebook 03, where it is taught; the copies here must stay identical ---------------


def sigmoid(z):
    """The logistic function 1 / (1 + e^-z), elementwise, written so it never overflows: its values lie in (0, 1)."""
    z = np.asarray(z)
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def lstm_cell_step(x_t, h_prev, c_prev, W, U, b, *, gates: bool = False):
    """One LSTM step in Keras' layout; returns ``(h_t, c_t)``, both (batch, u).

    x_t: (batch, d); h_prev, c_prev: (batch, u); W: (d, 4u); U: (u, 4u); b: (4u,). With ``gates=True`` it returns
    everything the step computes, by name: ``i, f, c_tilde, o`` (the gates) and ``c, h`` (the new memories), each
    (batch, u). Notebook 04's Exercise 1 (the student's answer has no ``gates``).
    """
    x_t, h_prev, c_prev, W, U, b = step_arrays(x_t, h_prev, c_prev, W, U, b)
    z = x_t @ W + h_prev @ U + b
    z_i, z_f, z_c, z_o = np.split(z, 4, axis=-1)
    i, f, c_tilde, o = sigmoid(z_i), sigmoid(z_f), np.tanh(z_c), sigmoid(z_o)
    c = f * c_prev + i * c_tilde
    h = o * np.tanh(c)
    return {"i": i, "f": f, "c_tilde": c_tilde, "o": o, "c": c, "h": h} if gates else (h, c)


def lstm_forward(xs, h0, c0, W, U, b, *, gates: bool = False):
    """Run the LSTM over a batch of sequences; returns ``(hs, h_T, c_T)``.

    xs: (batch, T, d); h0, c0: (batch, u). hs: (batch, T, u) holds h_1 … h_T; h_T, c_T: (batch, u), the last memories.
    Each step starts from the memories h, c that the step before it left. With ``gates=True`` it returns every step's
    gates and memories by name instead (``lstm_gate_activations``). Notebook 04's Exercise 2.
    """
    xs = np.asarray(xs)
    if xs.ndim != 3:
        raise ValueError(f"xs must be 3-D (batch, T, d), got shape {xs.shape}: add a batch axis with xs[None]")
    if xs.shape[1] < 1:
        raise ValueError("xs must hold at least one time step")
    h, c, steps = h0, c0, []
    for t in range(xs.shape[1]):
        step = lstm_cell_step(xs[:, t], h, c, W, U, b, gates=True)
        h, c = step["h"], step["c"]
        steps.append(step)
    run = {key: np.stack([step[key] for step in steps], axis=1) for key in steps[0]}
    return run if gates else (run["h"], run["h"][:, -1], run["c"][:, -1])


def lstm_gate_activations(xs, h0, c0, W, U, b) -> dict[str, np.ndarray]:
    """Run the LSTM over ``xs (batch, T, d)`` from ``h0, c0 (batch, u)``; every step's gates and memories (batch, T, u).

    Keys: ``i, f, c_tilde, o, c, h``, as ``lstm_cell_step(..., gates=True)`` gives them for one step.
    """
    return lstm_forward(xs, h0, c0, W, U, b, gates=True)


def lstm_cell_backward(dh_t, dc_t, x_t, h_prev, c_prev, W, U, b):
    """The backward pass of one LSTM step: the gradients of the loss with respect to each of the step's arguments.

    ``dh_t, dc_t`` (batch, u) are the gradients of the loss with respect to the step's outputs h_t and c_t (dc_t is
    what the next step passes back through the cell state: zeros after the last step). Returns ``(dx_t, dh_prev,
    dc_prev, dW, dU, db)``, each with the shape of the argument it belongs to. Notebook 04's optional Exercise 4; the
    check compares it with ``tf.GradientTape``.
    """
    x_t, h_prev, c_prev, W, U, b = step_arrays(x_t, h_prev, c_prev, W, U, b)
    s = lstm_cell_step(x_t, h_prev, c_prev, W, U, b, gates=True)
    tanh_c = np.tanh(s["c"])
    d_c = np.asarray(dc_t) + np.asarray(dh_t) * s["o"] * (1 - tanh_c ** 2)  # C_t reaches the loss directly, and via h_t
    dz = np.concatenate([d_c * s["c_tilde"] * s["i"] * (1 - s["i"]),      # input gate
                         d_c * c_prev * s["f"] * (1 - s["f"]),             # forget gate
                         d_c * s["i"] * (1 - s["c_tilde"] ** 2),           # candidate
                         np.asarray(dh_t) * tanh_c * s["o"] * (1 - s["o"])], axis=-1)  # output gate
    return dz @ W.T, dz @ U.T, d_c * s["f"], x_t.T @ dz, h_prev.T @ dz, dz.sum(axis=0)


# --- Keras: the layer's weights, a reference cell class, copying weights ----------------------------------------------


def keras_lstm_weights(layer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(W, U, b)`` of a built ``keras.layers.LSTM`` (or an RNN around an LSTM-like cell) as NumPy arrays."""
    named = _named_weights(layer)
    return named["kernel"], named["recurrent_kernel"], named["bias"]


def _named_weights(layer) -> dict[str, np.ndarray]:
    has(layer, "built", "layer", "a Keras LSTM layer or an RNN around an LSTM-like cell, e.g. random_keras_lstm(2, 3)")
    if not layer.built:
        raise ValueError(f"layer {layer.name!r} is not built yet: call it once on an input (or layer.build(shape))")
    named = {}
    for variable in layer.weights:
        key = variable.path.rsplit("/", 1)[-1]
        if key in named:
            raise ValueError(f"layer {layer.name!r} has two weights called {key!r}: pass a single LSTM layer")
        named[key] = np.asarray(variable.numpy())
    missing = {"kernel", "recurrent_kernel", "bias"} - named.keys()
    if missing:
        raise ValueError(f"layer {layer.name!r} has no weight(s) {sorted(missing)}: its cell must create 'kernel', "
                         "'recurrent_kernel' and 'bias' with add_weight(name=...)")
    return named


def set_keras_lstm_weights(layer, W, U, b) -> None:
    """Load ``W (d, 4u)``, ``U (u, 4u)``, ``b (4u,)`` into a built LSTM-like layer, matching the weights by name."""
    values = {"kernel": np.asarray(W), "recurrent_kernel": np.asarray(U), "bias": np.asarray(b)}
    _named_weights(layer)  # validates that the three names exist
    for variable in layer.weights:
        key = variable.path.rsplit("/", 1)[-1]
        if tuple(variable.shape) != values[key].shape:
            raise ValueError(f"{key} of layer {layer.name!r} has shape {tuple(variable.shape)}, the value has "
                             f"{values[key].shape}: the two layers need the same input size and units")
        variable.assign(values[key].astype(variable.dtype))


def copy_lstm_weights(source, target) -> None:
    """Copy kernel, recurrent kernel and bias from one LSTM-like layer to another (e.g. ``LSTM`` <-> ``RNN(cell)``)."""
    set_keras_lstm_weights(target, *keras_lstm_weights(source))


def random_keras_lstm(input_dim: int, units: int, *, seed: int = 0, dtype: str = "float64"):
    """A built ``keras.layers.LSTM`` returning ``(hs, h_T, c_T)``, with random weights *and* a random bias.

    The default initialisation has a bias of zeros (ones in the forget block), which would hide mistakes with the bias;
    here every weight is drawn from N(0, 0.7²) so that each gate is visibly different.
    """
    input_dim, units = whole(input_dim, "input_dim"), whole(units, "units")
    rng = np.random.default_rng(seed)
    layer = keras.layers.LSTM(units, return_sequences=True, return_state=True, dtype=dtype)
    layer.build((None, None, input_dim))
    W = rng.normal(0, 0.7, (input_dim, 4 * units))
    U = rng.normal(0, 0.7, (units, 4 * units))
    b = rng.normal(0, 0.7, (4 * units,))
    set_keras_lstm_weights(layer, W, U, b)
    return layer


def run_keras_lstm(layer, xs, h0=None, c0=None):
    """Run an LSTM-like layer built with ``return_sequences=True, return_state=True``; returns NumPy ``(hs, h_T, c_T)``.

    xs: (batch, T, d); h0, c0: (batch, u) initial memories (zeros when omitted).
    """
    if not (getattr(layer, "return_sequences", False) and getattr(layer, "return_state", False)):
        raise ValueError("build the layer with return_sequences=True and return_state=True")
    xs = np.asarray(xs)
    initial = None if h0 is None else [np.asarray(h0, dtype=xs.dtype), np.asarray(c0, dtype=xs.dtype)]
    hs, h_T, c_T = layer(xs, initial_state=initial)
    return np.asarray(hs), np.asarray(h_T), np.asarray(c_T)


def _forget_bias_one(shape, dtype=None):
    """Bias initialiser of ``keras.layers.LSTM`` (``unit_forget_bias=True``): zeros, except ones in the f block."""
    u = shape[0] // 4
    return ops.concatenate([ops.zeros((u,), dtype), ops.ones((u,), dtype), ops.zeros((2 * u,), dtype)])


@keras.saving.register_keras_serializable(package="course")
class ReferenceLSTMCell(keras.layers.Layer):
    """The LSTM step written with ``keras.ops``, for ``keras.layers.RNN(ReferenceLSTMCell(units))``.

    Its weights have the names and shapes of ``keras.layers.LSTM``'s (kernel (d, 4u), recurrent_kernel (u, 4u),
    bias (4u,), gate order i, f, c, o), so weights copy either way with ``copy_lstm_weights``. States are [h, c].

    ``call`` is also the solution of notebook 04's Exercise 3, and stays a second copy on purpose: there it is the
    student's to write (the student version has a stub), so the known-good cell that the notebook falls back to and
    the checker's tests accept has to live here.
    """

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.units = whole(units, "units", fix="e.g. ReferenceLSTMCell(3)")
        self.state_size = [self.units, self.units]  # [h, c], the order keras.layers.LSTM uses
        self.output_size = self.units

    def build(self, input_shape):
        d, u = input_shape[-1], self.units
        self.kernel = self.add_weight(shape=(d, 4 * u), initializer="glorot_uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(u, 4 * u), initializer="orthogonal", name="recurrent_kernel")
        self.bias = self.add_weight(shape=(4 * u,), initializer=_forget_bias_one, name="bias")

    def call(self, inputs, states):
        h_prev, c_prev = states
        z = ops.matmul(inputs, self.kernel) + ops.matmul(h_prev, self.recurrent_kernel) + self.bias
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
        c_t = ops.sigmoid(z_f) * c_prev + ops.sigmoid(z_i) * ops.tanh(z_c)
        h_t = ops.sigmoid(z_o) * ops.tanh(c_t)
        return h_t, [h_t, c_t]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


# --- several random starts of one small model, trained together -----------------------------------------------------


@keras.saving.register_keras_serializable(package="course")
class _KeepMask(keras.constraints.Constraint):
    """Multiplies a weight by a fixed 0/1 ``mask`` after every update, so the weights outside the mask stay at 0."""

    def __init__(self, mask):
        self.mask = np.asarray(mask, dtype="float32")

    def __call__(self, w):
        return w * ops.cast(self.mask, w.dtype)

    def get_config(self):
        return {"mask": self.mask.tolist()}


def summed_mse(y_true, y_pred):
    """The squared error summed over the last axis (the starts of ``stack_starts``): for one output, plain MSE.

    Summing, not averaging, gives each start the gradient it would get alone.
    """
    shapes = [getattr(a, "shape", None) for a in (y_true, y_pred)]
    if any(shape is None or len(shape) < 1 or shape[-1] == 0 for shape in shapes):
        raise ValueError("summed_mse compares arrays (or tensors) of answers whose last axis holds one answer per "
                         f"start, such as (batch, steps, starts), not {y_true!r} and {y_pred!r}: give it to "
                         "model.compile(loss=lstm.summed_mse), which calls it on such tensors")
    return ops.sum(ops.square(y_true - y_pred), axis=-1)


def stack_starts(build, seeds) -> keras.Model:
    """Several random starts of one small model, side by side in one Keras model that trains them all in one ``fit``.

    ``build()`` makes the model one start trains: ``keras.Input((None, d))``, a ``keras.layers.LSTM(u,
    return_sequences=True)`` and a ``keras.layers.Dense(1)``, with whatever starting weights it sets. Start k is
    ``build()`` run after ``keras.utils.set_random_seed(seeds[k])``. In the stack, its units are ``k·u … (k+1)·u - 1``
    of one LSTM layer named "memory" and its answer is output k, so the model maps (batch, T, d) to (batch, T, starts).
    The recurrent weights from one start's units to another's, and the Dense weights from one start's units to another
    start's answer, are 0 and held there (``_KeepMask``): no start sees another, and with ``summed_mse`` as the loss
    each start trains as it would alone. The stack runs as many operations per step as one model, so all the starts
    train in about the time of one. Compile it, then fit it on targets repeated once per start.
    """
    seeds = [whole(s, "seed", minimum=0) for s in seeds]
    if not seeds:
        raise ValueError("seeds must list at least one seed, such as course.seeds(9)")
    starts = []
    for seed in seeds:
        keras.utils.set_random_seed(seed)
        model = build()
        layers = [layer for layer in getattr(model, "layers", []) if layer.weights]
        kinds = [type(layer).__name__ for layer in layers]
        if kinds != ["LSTM", "Dense"] or layers[1].units != 1 or not layers[0].return_sequences:
            raise ValueError(f"build() must return a model of an LSTM(u, return_sequences=True) and a Dense(1), not "
                             f"{kinds or model!r}")
        starts.append((layers[0], layers[1]))
    first = starts[0][0]
    d, u, k = first.weights[0].shape[0], first.units, len(seeds)
    owner = np.arange(k * u) // u  # the start each unit of the stack belongs to
    W, U, b = np.zeros((d, 4 * k * u)), np.zeros((k * u, 4 * k * u)), np.zeros(4 * k * u)
    dense_w, dense_b = np.zeros((k * u, k)), np.zeros(k)
    for s, (memory, answer) in enumerate(starts):
        w, r, bias = keras_lstm_weights(memory)
        if w.shape != (d, 4 * u):
            raise ValueError("every start must have the same input size and units")
        for g in range(4):  # gate blocks i, f, c, o: start s's columns inside each block
            cols, own = slice(g * k * u + s * u, g * k * u + (s + 1) * u), slice(g * u, (g + 1) * u)
            W[:, cols], U[s * u:(s + 1) * u, cols], b[cols] = w[:, own], r[:, own], bias[own]
        dense_w[s * u:(s + 1) * u, s], dense_b[s] = answer.get_weights()[0][:, 0], answer.get_weights()[1][0]
    recurrent_mask = owner[:, None] == np.tile(owner, 4)[None, :]
    answer_mask = owner[:, None] == np.arange(k)[None, :]
    stack = keras.Sequential([
        keras.Input(shape=(None, d)),
        keras.layers.LSTM(k * u, return_sequences=True, recurrent_constraint=_KeepMask(recurrent_mask), name="memory"),
        keras.layers.Dense(k, kernel_constraint=_KeepMask(answer_mask), name="answer"),
    ])
    set_keras_lstm_weights(stack.get_layer("memory"), W, U * recurrent_mask, b)
    stack.get_layer("answer").set_weights([dense_w, dense_b])
    return stack


# --- one unit stepped by hand ----------------------------------------------------------------------------------------

#: The weights of a single LSTM unit (d = u = 1) used for stepping by hand: for each gate, the weight on today's input
#: x, the weight on yesterday's short-term memory h, and the bias. Chosen so that each gate visibly does its job.
ONE_UNIT_WEIGHTS = {
    "f": {"x": -2.0, "h": 1.0, "b": 1.5},   # forget gate: keep most of C, but forget when a big input arrives
    "i": {"x": 3.0, "h": 0.5, "b": -1.5},   # input gate: let in new memory mostly when the input is big
    "c": {"x": 2.0, "h": -1.0, "b": -0.5},  # candidate memory: positive for big inputs, negative for small ones
    "o": {"x": 1.0, "h": 0.5, "b": 0.5},    # output gate: show about two thirds or more of the memory
}


def one_unit_keras_weights(weights=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The one-unit weights as Keras arrays ``W (1, 4)``, ``U (1, 4)``, ``b (4,)`` in the gate order i, f, c, o."""
    weights = ONE_UNIT_WEIGHTS if weights is None else weights
    missing = set(GATES) - set(weights)
    if missing:
        raise ValueError(f"weights need an entry for each gate {GATES}; missing {sorted(missing)}")
    W = np.array([[weights[g]["x"] for g in GATES]], dtype=float)
    U = np.array([[weights[g]["h"] for g in GATES]], dtype=float)
    b = np.array([weights[g]["b"] for g in GATES], dtype=float)
    return W, U, b


# --- a small memory task, gate plots, the gate playground -------------------------------------------------------------


def make_recall_task(n: int, length: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sequences where the answer is a value seen long before: "remember the marked number".

    Each sequence has ``length`` steps of two features: a random value in [-1, 1] and a marker that is 1 at exactly one
    step in the first half (0 elsewhere). The target is the value at the marked step, so the network must store it and
    keep it until the end. Returns ``xs (n, length, 2)`` float32 and ``ys (n, 1)`` float32.
    """
    if whole(n, "n", minimum=-10**9) < 1 or whole(length, "length", minimum=-10**9) < 2:
        raise ValueError(f"need n >= 1 sequences of length >= 2, got n={n}, length={length}")
    rng = np.random.default_rng(seed)
    values = rng.uniform(-1, 1, (n, length))
    marked = rng.integers(0, length // 2, n)
    markers = np.zeros((n, length))
    markers[np.arange(n), marked] = 1.0
    xs = np.stack([values, markers], axis=-1).astype("float32")
    ys = values[np.arange(n), marked][:, None].astype("float32")
    return xs, ys


def _playground_bars(ax, x_t: float, h_prev: float, c_prev: float, weights=None):
    """One bar chart of a single unit's step: the three gates (0–1) and C_(t-1), C~_t, C_t, h_t (-1…1 or more)."""
    W, U, b = one_unit_keras_weights(weights)
    s = {k: float(v[0, 0]) for k, v in lstm_cell_step([[x_t]], [[h_prev]], [[c_prev]], W, U, b, gates=True).items()}
    labels = ["f_t", "i_t", "o_t", "C_(t-1)", "C~_t", "C_t", "h_t"]
    values = [s["f"], s["i"], s["o"], c_prev, s["c_tilde"], s["c"], s["h"]]
    colors = ["C0"] * 3 + ["tab:gray", "C1", "C3", "C2"]
    ax.bar(labels, values, color=colors)
    for k, v in enumerate(values):
        ax.text(k, v + (0.05 if v >= 0 else -0.12), f"{v:.2f}", ha="center", fontsize=8)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_ylim(-2.2, 2.2)
    ax.set_ylabel("value (gates: fraction 0–1)")
    return s


def plot_gate_scenarios(scenarios: dict[str, tuple[float, float, float]], weights=None):
    """Static snapshots of the gate playground, one panel per ``name -> (x_t, h_prev, c_prev)``."""
    import matplotlib.pyplot as plt

    if not scenarios:
        raise ValueError("pass at least one scenario name -> (x_t, h_prev, c_prev)")
    fig, axes = plt.subplots(1, len(scenarios), figsize=(4.2 * len(scenarios), 3.4), sharey=True)
    for ax, (name, (x_t, h_prev, c_prev)) in zip(np.atleast_1d(axes), scenarios.items(), strict=True):
        _playground_bars(ax, x_t, h_prev, c_prev, weights)
        ax.set_title(f"{name}\nx_t={x_t}, h_(t-1)={h_prev}, C_(t-1)={c_prev}", fontsize=9)
    fig.tight_layout()
    return fig


def gate_playground():
    """Interactive sliders (ipywidgets) for one unit: move x_t, h_(t-1), C_(t-1) and the four biases, watch C_t and h_t.

    Returns the widget (display it as a cell's last expression). Needs a live kernel; the static version is
    ``plot_gate_scenarios``.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    def show(x_t, h_prev, c_prev, b_f, b_i, b_c, b_o):
        weights = {g: dict(ONE_UNIT_WEIGHTS[g]) for g in GATES}
        for gate, bias in zip("fico", (b_f, b_i, b_c, b_o), strict=True):
            weights[gate]["b"] = bias
        fig, ax = plt.subplots(figsize=(6, 3.2))
        s = _playground_bars(ax, x_t, h_prev, c_prev, weights)
        ax.set_title(f"keep {100 * s['f']:.0f}% of C_(t-1), add {100 * s['i']:.0f}% of C~_t, "
                     f"show {100 * s['o']:.0f}% of tanh(C_t)", fontsize=10)
        plt.show()

    slider = dict(min=-3.0, max=3.0, step=0.1, continuous_update=False)
    defaults = {"x_t": 1.0, "h_prev": 0.0, "c_prev": 1.0, **{f"b_{g}": ONE_UNIT_WEIGHTS[g]["b"] for g in "fico"}}
    controls = {name: widgets.FloatSlider(value=value, description=name, **slider) for name, value in defaults.items()}
    return widgets.interactive(show, **controls)
