"""Checks for notebook 08 (time-series forecasting): windowing, the LSTM forecaster, a baseline, the metrics and the
Diebold–Mariano test.

Every check runs the student's function on the cases the notebook shows and on fresh ones drawn for this run
(``report.rng``), so an answer key of the visible cases does not pass. Exercise 2's model and training function are
run by harnesses (module-level functions below) that build and train on data the check holds and return plain
numbers; the checker judges those numbers.
"""

from __future__ import annotations

import numpy as np

from utils.checks import _describe, answer_array, as_array, call, close, diagnose, exercise
from utils.data import make_windows
from utils.forecasting import diebold_mariano, forecast_metrics, moving_average

# --- Exercise 1 · windowing -----------------------------------------------------------------------------------------

# (series, window, horizon) the notebook's text works through: 1-D and 2-D series, horizon 1 and > 1, exactly one window
_WINDOW_CASES = [
    (np.arange(10.0) * 1.5 + 2.0, 3, 1),
    (np.linspace(-1.0, 4.0, 12) ** 2, 4, 3),
    (np.column_stack([np.arange(15.0) ** 1.5, 100 - np.arange(15.0)]), 5, 2),
    (np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0]), 4, 2),
]

_SLICES = ("X[i] = series[i : i + window] (every feature); y[i] = series[i + window : i + window + horizon, 0]; "
           "n = len(series) - window - horizon + 1 windows, stacked with np.stack")


def _fresh_window_cases(rng) -> list:
    """Two series of random length, window and horizon (one with two features), new in every run."""
    cases = []
    for features in (1, 2):
        window, horizon = int(rng.integers(2, 7)), int(rng.integers(1, 4))
        length = window + horizon + int(rng.integers(2, 9))
        series = np.round(rng.normal(size=(length, features)).cumsum(axis=0) + 10.0, 3)
        cases.append((series[:, 0] if features == 1 else series, window, horizon))
    return cases


def _mistaken_windows(series, window: int, horizon: int) -> tuple[dict, dict]:
    """What the typical mistakes return, to name the one a student made: (hint -> X, hint -> y).

    Each is the right formula with one index off by a step (NaN past the end of the series, so every mistake has the
    right shape); the right windows themselves come from ``utils.data.make_windows``.
    """
    values = np.asarray(series, dtype=float)
    values = values[:, None] if values.ndim == 1 else values
    values = np.concatenate([values, np.full((2, values.shape[1]), np.nan)])
    starts = np.arange(len(series) - window - horizon + 1)[:, None]
    future = starts + window + np.arange(horizon)  # the right target steps of each window
    X_mistakes = {
        "the window includes the value it should forecast: a window must end the step before its first target":
            values[starts + 1 + np.arange(window)],
    }
    y_mistakes = {
        "off-by-one target: the first target is the step right after the window, not the window's own last value":
            values[future - 1, 0],
        "the targets start two steps late: the first target is the step right after the window":
            values[future + 1, 0],
    }
    return X_mistakes, y_mistakes


@exercise("Exercise 1 · cut a series into windows",
          notebook="08", answer="make_windows", reference="utils.data:make_windows", points=2, minutes=10,
          optional=True, forbid=("keras.utils:timeseries_dataset_from_array", "utils.data:window_arrays",
                                 "utils.data:horizon_targets"))
def check_make_windows(fn, report) -> None:
    """Compare ``fn(series, window, horizon) -> (X, y)`` with ``utils.data.make_windows`` on 1-D and 2-D series."""
    for series, window, horizon in _WINDOW_CASES + _fresh_window_cases(report.rng):
        expected_X, expected_y = make_windows(series, window, horizon)
        label = f"series of shape {series.shape}, window={window}, horizon={horizon}"
        result, error = call(fn, series.copy(), window, horizon)
        if error:
            report.fail(f"{label}: your function raised {error}")
            continue
        if not (isinstance(result, tuple) and len(result) == 2):
            report.fail(f"{label}: return a pair (X, y)", got=result, hint="end with `return X, y`")
            continue
        X, y = (as_array(part) for part in result)
        n = len(expected_X)
        if X is None or y is None:
            report.fail(f"{label}: X and y must be arrays of numbers, every window of the same length",
                        got=result[0] if X is None else result[1],
                        hint=f"there are {n} windows here; a slice that runs past the end of the series is shorter "
                             "than the others; stack the windows into one array", show=_SLICES)
            continue
        if X.shape != expected_X.shape:
            report.fail(f"{label}: wrong shape of X", expected=expected_X.shape, got=X.shape,
                        hint=_shape_hint_X(X.shape, expected_X.shape, window), show=_SLICES)
            continue
        if y.shape != expected_y.shape:
            report.fail(f"{label}: wrong shape of y", expected=expected_y.shape, got=y.shape,
                        hint=_shape_hint_y(y.shape, expected_y.shape, horizon, n), show=_SLICES)
            continue
        if not close(X, expected_X):
            hint = diagnose(X, _mistaken_windows(series, window, horizon)[0])
            report.fail(f"{label}: wrong input windows X", expected=expected_X[0, :, 0], got=X[0, :, 0],
                        hint=hint or "window i holds the `window` values that start at step i, every feature",
                        show=_SLICES)
            continue
        if not close(y, expected_y):
            hint = diagnose(y, _mistaken_windows(series, window, horizon)[1])
            if hint is None and series.ndim == 2:
                other = make_windows(series, window, horizon, target=1)[1]
                hint = "y comes from the wrong column: the target is column 0" if close(y, other) else None
            report.fail(f"{label}: wrong targets y", expected=expected_y[0], got=y[0],
                        hint=hint or "the targets of window i are the `horizon` values right after it, column 0",
                        show=_SLICES)
            continue
        if not all(isinstance(part, np.ndarray) for part in result):
            report.fail(f"{label}: right values, but X and y must be NumPy arrays",
                        got=tuple(type(part).__name__ for part in result),
                        hint="the cells below read X.shape and slice X[:, -1, 0]: return NumPy arrays (np.stack or "
                             "np.array of the windows)")


def _shape_hint_X(got, expected, window) -> str:
    n = expected[0]
    if len(got) == 2 and got == expected[:2]:
        return "add a features axis: X has shape (n, window, features), also for a 1-D series"
    if len(got) >= 1 and got[0] == n - 1:
        return f"one window too few: there are len(series) - window - horizon + 1 = {n} windows"
    if len(got) >= 1 and got[0] == n + 1:
        return f"one window too many: the last window must leave room for its horizon ({n} windows in all)"
    if len(got) >= 2 and got[1] != window:
        return f"each window holds `window` = {window} time steps"
    return "X has shape (n windows, window, features)"


def _shape_hint_y(got, expected, horizon, n) -> str:
    if got == (n,):
        return "keep a horizon axis: y has shape (n, horizon), here (n, 1)"
    if len(got) == 3:
        return "y keeps only the target column 0: shape (n, horizon), no features axis"
    if len(got) == 2 and got[0] == n and got[1] != horizon:
        return f"y[i] holds the next `horizon` = {horizon} values"
    return "y has shape (n windows, horizon)"


# --- Exercise 2 · build and train the forecaster --------------------------------------------------------------------

#: Adam's first step moves every weight whose gradient is not 0 by the learning rate, whatever the gradient's size.
_LEARNING_RATE = 0.003


def _lstm_units(layer) -> list[int]:
    """The units of every LSTM in ``layer``: keras.layers.LSTM, RNN(LSTMCell), wrappers and nested models."""
    import keras

    if isinstance(layer, keras.layers.LSTM):
        return [int(layer.units)]
    if isinstance(layer, keras.layers.RNN):
        cells = getattr(layer.cell, "cells", [layer.cell])
        return [int(c.units) for c in cells if isinstance(c, keras.layers.LSTMCell)]
    if isinstance(layer, keras.layers.Bidirectional):
        return _lstm_units(layer.forward_layer) + _lstm_units(layer.backward_layer)
    return [units for inner in getattr(layer, "layers", []) for units in _lstm_units(inner)]


def build_harness(build_fn, cases) -> list[dict]:
    """Run the student's ``build_forecaster`` on each case and describe each model in plain numbers and words.

    ``cases``: (args, kwargs) pairs. For each model: its input and output shapes, weight count, LSTM units, the
    output layer's activation, whether it is compiled, the loss it computes next to the MSE and MAE of its own
    outputs, and how far its optimizer's first step moves the weights (Adam: every weight by the learning rate).
    """
    import keras

    described = []
    for args, kwargs in cases:
        try:
            model = build_fn(*args, **kwargs)
        except NotImplementedError:
            raise
        except Exception as exc:  # reported for this case; the other cases still run
            described.append({"error": _describe(exc)})
            continue
        if not isinstance(model, keras.Model):
            described.append({"returned": type(model).__name__})
            continue
        try:
            info = _describe_model(model, args[0], args[1])
        except Exception as exc:  # a model Keras cannot read: not built (no keras.Input), not callable...
            info = {"returned": "model", "unreadable": f"{type(exc).__name__}: {exc}"[:200]}
        described.append(info)
    return described


def _describe_model(model, window: int, n_features: int) -> dict:
    """What ``build_harness`` reports about one model (see there)."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, window, n_features)).astype("float32")
    info = {"returned": "model", "input_shape": list(model.input_shape), "output_shape": list(model.output_shape),
            "params": int(model.count_params()), "lstm_units": _lstm_units(model),
            "activation": getattr(getattr(model.layers[-1], "activation", None), "__name__", "linear"),
            "compiled": bool(getattr(model, "compiled", False) and getattr(model, "optimizer", None) is not None)}
    if info["compiled"] and len(info["output_shape"]) == 2:
        y = rng.normal(size=(16, info["output_shape"][1])).astype("float32")
        variables = model.trainable_variables
        with tf.GradientTape() as tape:
            outputs = model(X, training=True)
            loss = model.compute_loss(x=X, y=y, y_pred=outputs)
        grads = tape.gradient(loss, variables)
        before = [v.numpy().copy() for v in variables]
        model.optimizer.apply_gradients(zip(grads, variables, strict=True))
        moved = np.concatenate([np.abs(v.numpy() - b).ravel() for v, b in zip(variables, before, strict=True)])
        sizable = np.concatenate([np.abs(np.asarray(g)).ravel() > 1e-4 for g in grads])  # Adam: a step of lr
        step = moved[sizable] if sizable.any() else moved
        outputs = np.asarray(outputs)
        info.update(loss=float(loss), mse=float(np.mean((outputs - y) ** 2)), mae=float(np.mean(np.abs(outputs - y))),
                    step=float(np.median(step)), same_step=float(np.mean(np.isclose(step, np.median(step), rtol=0.1))))
    return info


def training_harness(train_fn, epochs: int, patience: int) -> dict:
    """Run the student's ``train_forecaster`` on a model and data of the check's own, and report what happened.

    The training windows teach the model "tomorrow = today"; the validation windows want the opposite, so the more
    the model learns, the worse its validation loss gets: the best epoch is an early one, and early stopping on the
    validation loss must end the run ``patience`` epochs later and put the best epoch's weights back.
    """
    import keras
    import tensorflow as tf

    rng = np.random.default_rng(1)  # the check's own numbers: the notebook's random state is left alone
    X = rng.normal(size=(96, 8, 1)).astype("float32")
    X_val = rng.normal(size=(32, 8, 1)).astype("float32")
    train_ds = tf.data.Dataset.from_tensor_slices((X, X[:, -1, :])).batch(16)
    val_ds = tf.data.Dataset.from_tensor_slices((X_val, -X_val[:, -1, :])).batch(16)
    model = keras.Sequential([keras.Input(shape=(8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(1, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.02), loss="mse")
    before = [w.copy() for w in model.get_weights()]
    history = train_fn(model, train_ds, val_ds, epochs, patience)
    after = model.get_weights()
    logs = getattr(history, "history", None)
    params = getattr(history, "params", None)
    return {
        "returned": type(history).__name__,
        "logs": {str(k): [float(v) for v in vs] for k, vs in logs.items()} if isinstance(logs, dict) else None,
        "epochs_param": params.get("epochs") if isinstance(params, dict) else None,
        "weights_changed": any(not np.allclose(a, b) for a, b in zip(after, before, strict=True)),
        "val_loss_after": float(np.mean((np.asarray(model(X_val)) + X_val[:, -1, :]) ** 2)),
    }


@exercise("Exercise 2 · build and train the LSTM forecaster",
          notebook="08", answer=("build_forecaster", "train_forecaster"),
          reference=("utils.forecasting:build_forecaster", "utils.forecasting:train_forecaster"), points=4,
          minutes=15)
def check_forecaster(build_fn, report, train_fn=None) -> None:
    """Check ``build_fn(window, n_features, units=32, horizon=1) -> compiled model`` and
    ``train_fn(model, train_ds, val_ds, epochs, patience=5) -> History`` by what they do (see the harnesses)."""
    units, horizon = int(report.rng.integers(3, 10)), int(report.rng.integers(2, 5))
    window, n_features = int(report.rng.integers(5, 13)), int(report.rng.integers(2, 4))
    cases = [((30, 1), {}), ((window, n_features, units, horizon), {}), ((12, 1), {"horizon": horizon})]
    labels = ["build_forecaster(30, 1)", f"build_forecaster({window}, {n_features}, {units}, {horizon})",
              f"build_forecaster(12, 1, horizon={horizon})"]
    described, error = call(build_harness, build_fn, cases)
    if error:
        report.fail(f"build_forecaster raised {error}")
        return
    for (args, kwargs), label, info in zip(cases, labels, described, strict=True):
        if _judge_model(info, args, kwargs, label, report):
            break  # one finding about the model at a time: the same fault shows in every case
    if report.failures or train_fn is None:
        return
    _check_training(train_fn, report)


def _judge_model(info: dict, args, kwargs, label: str, report) -> bool:
    """Record the first fault of one described model; True if there was one."""
    window, n_features = args[0], args[1]
    units = args[2] if len(args) > 2 else 32
    horizon = kwargs.get("horizon", args[3] if len(args) > 3 else 1)
    if "error" in info:
        hint = ("give build_forecaster the parameters of the exercise, with units=32 and horizon=1 as defaults"
                if "argument" in info["error"] else None)
        report.fail(f"{label} raised {info['error']}", hint=hint)
        return True
    if info["returned"] != "model":
        got = None if info["returned"] == "NoneType" else f"a {info['returned']}"
        report.fail(f"{label} should return a compiled Keras model", got=got,
                    hint="build the model, compile it, and return it")
        return True
    if "unreadable" in info:
        report.fail(f"{label}: Keras cannot read the model's shapes ({info['unreadable']})",
                    hint="start the model with keras.Input(shape=(window, n_features)), so that it is built")
        return True
    if info["input_shape"] != [None, window, n_features]:
        report.fail(f"{label}: wrong input shape", expected=(None, window, n_features),
                    got=tuple(info["input_shape"]), hint="the input takes windows of shape (window, n_features)")
        return True
    if not info["lstm_units"]:
        report.fail(f"{label}: no LSTM layer in the model", hint="the window goes through an LSTM layer first")
        return True
    out = info["output_shape"]
    if out != [None, horizon]:
        hint = ("the LSTM returns its whole sequence of outputs: the Dense layer must see only the last one"
                if len(out) == 3 else "the output layer needs one number per future step: `horizon` of them")
        report.fail(f"{label}: wrong output shape", expected=(None, horizon), got=tuple(out), hint=hint)
        return True
    if info["activation"] != "linear":
        report.fail(f"{label}: the output layer has activation '{info['activation']}'",
                    hint="leave the output layer linear (no activation): a forecast must be free to take any value, "
                         "negative returns and prices above the training range included")
        return True
    expected_params = 4 * units * (n_features + units + 1) + (units + 1) * horizon
    if info["lstm_units"] != [units] or info["params"] != expected_params:
        if info["lstm_units"] == [32] and units != 32:
            hint = "the LSTM has 32 units whatever `units` says: use the parameter"
        elif len(info["lstm_units"]) > 1:
            hint = f"the model holds {len(info['lstm_units'])} LSTMs: the exercise asks for one LSTM(units)"
        else:
            hint = "the model has layers or weights beyond the input, one LSTM(units) and the Dense(horizon) output"
        report.fail(f"{label}: the model has {info['params']:,} weights, LSTM({units}) → Dense({horizon}) has "
                    f"{expected_params:,}", hint=hint)
        return True
    if not info["compiled"]:
        report.fail(f"{label}: the model is not compiled", hint="compile it with the optimizer and loss the exercise "
                    "names, then return it")
        return True
    if not np.isclose(info["loss"], info["mse"], rtol=1e-3, atol=1e-6):
        said = "the mean absolute error (MAE)" if np.isclose(info["loss"], info["mae"], rtol=1e-3) else "not the MSE"
        report.fail(f"{label}: the loss the model minimises is {said}", expected=info["mse"], got=info["loss"],
                    hint="compile with the mean squared error (MSE), the loss the notebook's scaled errors are in")
        return True
    step, same = info["step"], info["same_step"]
    if same < 0.8:
        report.fail(f"{label}: the optimizer's first step moves the weights by amounts that follow the size of their "
                    "gradients", hint="that is plain gradient descent (or another rule), not Adam, which moves every "
                                      f"weight by the learning rate on its first step: use Adam with {_LEARNING_RATE}")
        return True
    if not np.isclose(step, _LEARNING_RATE, rtol=0.05):
        default = " (0.001 is Adam's default)" if np.isclose(step, 0.001, rtol=0.05) else ""
        report.fail(f"{label}: the optimizer's first step moves each weight by {step:.4g}", expected=_LEARNING_RATE,
                    got=step, hint=f"Adam's first step moves each weight by its learning rate: set it to "
                                   f"{_LEARNING_RATE}{default}")
        return True
    return False


def _check_training(train_fn, report, epochs: int = 20) -> None:
    patience = int(report.rng.integers(2, 5))
    label = f"train_forecaster(model, train_ds, val_ds, {epochs}, {patience}) on the check's own data"
    ran, error = call(training_harness, train_fn, epochs, patience)
    if error:
        report.fail(f"{label} raised {error}")
        return
    logs = ran["logs"]
    if logs is None:
        got = None if ran["returned"] == "NoneType" else f"a {ran['returned']}"
        report.fail(f"{label}: return the History that model.fit returns", got=got,
                    hint="model.fit returns a History object: return it")
        return
    if not ran["weights_changed"]:
        report.fail(f"{label}: the model's weights did not change", hint="train_forecaster must train the model it "
                    "is given (model.fit), and return the History that fit returns")
        return
    if "val_loss" not in logs or not logs["val_loss"]:
        report.fail(f"{label}: no validation loss was recorded",
                    hint="give fit the validation windows, so that it measures the validation loss every epoch")
        return
    if ran["epochs_param"] != epochs:
        report.fail(f"{label}: fit did not use the `epochs` argument", expected=epochs, got=ran["epochs_param"],
                    hint="pass the `epochs` parameter on to fit")
        return
    val_loss = np.asarray(logs["val_loss"])
    best = int(np.argmin(val_loss))
    expected_run = min(epochs, best + 1 + patience)
    if len(val_loss) != expected_run:
        train_loss = np.asarray(logs.get("loss", []))
        watched_training = train_loss.size and len(val_loss) == min(epochs, int(np.argmin(train_loss)) + 1 + patience)
        if len(val_loss) == epochs:
            hint = (f"training ran all epochs, though the validation loss was lowest at epoch {best + 1}: stop early "
                    "when it has not improved for `patience` epochs, and watch the validation loss ('val_loss')")
        elif watched_training:
            hint = ("early stopping watched the TRAINING loss: it must watch the validation loss ('val_loss'), "
                    f"lowest here at epoch {best + 1}")
        elif len(val_loss) - best - 1 == 5:
            hint = f"it stopped 5 epochs after the best one, not `patience` = {patience}: pass patience on"
        else:
            hint = (f"it should stop `patience` = {patience} epochs after the epoch with the lowest validation loss "
                    f"(epoch {best + 1}): early stopping must watch 'val_loss'")
        report.fail(f"{label}: trained {len(val_loss)} epochs", expected=expected_run, got=len(val_loss), hint=hint)
        return
    if not np.isclose(ran["val_loss_after"], val_loss[best], rtol=1e-3, atol=1e-6):
        report.fail(f"{label}: the model ends with the weights of its last epoch (validation loss "
                    f"{ran['val_loss_after']:.4g}), not of its best one ({val_loss[best]:.4g})",
                    hint="ask early stopping to restore the best epoch's weights (restore_best_weights=True)")


# --- Exercise 3 · a baseline ----------------------------------------------------------------------------------------

_MA_SHOW = "forecast = X[:, -k:, 0].mean(axis=1): the last k steps of column 0, averaged over the time axis"


def _ma_cases(rng) -> list:
    """Windows of prices (one case with a second feature far from the first), some fixed and some new each run."""
    fixed = np.random.default_rng(8)
    cases = [
        (100 + np.cumsum(fixed.normal(size=(6, 10, 1)), axis=1), 3),
        (50 + np.cumsum(fixed.normal(size=(5, 8, 1)), axis=1), 1),
        (np.cumsum(fixed.normal(size=(4, 6, 1)), axis=1), 6),
    ]
    n, window = int(rng.integers(3, 8)), int(rng.integers(5, 12))
    prices = 20 + np.cumsum(rng.normal(size=(n, window, 1)), axis=1)
    cases.append((np.concatenate([prices, rng.normal(size=(n, window, 1)) * 100], axis=2),
                  int(rng.integers(2, window))))
    return cases


def _ma_mistakes(X, k) -> dict[str, np.ndarray]:
    X = np.asarray(X, dtype=float)
    mistakes = {
        "that is the mean of the whole window: average only its last k values": X[:, :, 0].mean(1),
        "those are the first (oldest) k values of each window: the last k are the newest": X[:, :k, 0].mean(1),
        "all features are averaged: use only the target column 0": X[:, -k:, :].mean(axis=(1, 2)),
    }
    if k < X.shape[1]:
        mistakes["today's value is left out: the last k values end with the window's last step"] = \
            X[:, -k - 1:-1, 0].mean(1)
    return mistakes


@exercise("Exercise 3 · the moving-average baseline",
          notebook="08", answer="moving_average_forecast", reference="utils.forecasting:moving_average", points=1,
          minutes=5, optional=True)
def check_moving_average(fn, report) -> None:
    """Compare ``fn(X, k) -> (n,)`` with ``utils.forecasting.moving_average`` on windows of prices."""
    for X, k in _ma_cases(report.rng):
        expected = moving_average(X, k)
        label = f"windows of shape {X.shape}, k={k}"
        got_arr = answer_array(fn, (X.copy(), k), report, label,
                               what="return an array of forecasts, one number per window",
                               hint="one forecast per window: an array of shape (n,)")
        if got_arr is None:
            continue
        if got_arr.shape != expected.shape:
            hint = "return one number per window, shape (n,): average away the time axis" \
                if got_arr.size == expected.size else "average over the time axis (axis 1) of the last k steps"
            report.fail(f"{label}: wrong shape", expected=expected.shape, got=got_arr.shape, hint=hint, show=_MA_SHOW)
            continue
        if not close(got_arr, expected):
            hint = diagnose(got_arr, {h: m for h, m in _ma_mistakes(X, k).items() if not close(m, expected)})
            report.fail(f"{label}: wrong forecasts", expected=expected, got=got_arr,
                        hint=hint or "each forecast is the mean of the last k values of the target column",
                        show=_MA_SHOW)


# --- Exercise 4 · the evaluation metrics ----------------------------------------------------------------------------

_METRIC_CASES = [
    (np.array([100.0, 102.0, 101.0, 105.0, 104.0]), np.array([101.0, 101.0, 103.0, 104.0, 104.0])),
    (np.array([20.0, 25.0, 22.0]), np.array([24.0, 21.0, 22.5])),
]
_METRIC_SHOW = ("e = y_pred - y_true; MAE = mean(|e|); RMSE = sqrt(mean(e ** 2)); MAPE % = 100 * mean(|e / y_true|)")


def _metric_cases(rng) -> list:
    n = int(rng.integers(4, 9))
    y_true = np.round(rng.uniform(1.0, 4.0, size=n), 2)
    return _METRIC_CASES + [(y_true, np.round(y_true + rng.normal(0, 0.5, size=n), 2))]


def _metric_mistakes(y_true, y_pred) -> dict[str, dict[str, float]]:
    err = y_pred - y_true
    return {
        "MAE": {"the errors' signs are kept, so errors of opposite sign cancel: MAE averages their absolute values":
                float(np.mean(err))},
        "RMSE": {"that is the MSE: RMSE is its square root": float(np.mean(err ** 2)),
                 "RMSE squares the errors before it averages them, then takes the root":
                 float(np.mean(np.sqrt(np.abs(err))))},
        "MAPE %": {"MAPE divides by the actual values y_true, not by the forecasts":
                   float(100 * np.mean(np.abs(err / y_pred))),
                   "MAPE is in percent: multiply by 100": float(np.mean(np.abs(err / y_true))),
                   "MAPE takes the absolute value of each percentage error": float(100 * np.mean(err / y_true))},
    }


@exercise("Exercise 4 · evaluation metrics MAE, RMSE, MAPE",
          notebook="08", answer="evaluate_forecast", reference="utils.forecasting:forecast_metrics", points=1,
          minutes=10, optional=True,
          forbid=("sklearn.metrics:mean_absolute_error", "sklearn.metrics:mean_squared_error",
                  "sklearn.metrics:root_mean_squared_error", "sklearn.metrics:mean_absolute_percentage_error",
                  "utils.forecasting:mae", "utils.forecasting:rmse", "utils.forecasting:mape"))
def check_evaluate_forecast(fn, report) -> None:
    """Compare ``fn(y_true, y_pred) -> {"MAE": ..., "RMSE": ..., "MAPE %": ...}`` with ``forecast_metrics``."""
    for y_true, y_pred in _metric_cases(report.rng):
        expected = forecast_metrics(y_true, y_pred)
        label = f"{len(y_true)} forecasts"
        got, error = call(fn, y_true.copy(), y_pred.copy())
        if error:
            report.fail(f"{label}: your function raised {error}")
            continue
        try:  # a dict, or anything with .items() that dict() reads the same way (a pandas Series, say)
            got = dict(got.items())
        except Exception:
            report.fail(f"{label}: return a dict with the keys {sorted(expected)}", got=got)
            continue
        if not set(expected) <= set(got):
            report.fail(f"{label}: return a dict with the keys {sorted(expected)}", got=sorted(map(str, got)))
            continue
        mistakes = _metric_mistakes(y_true, y_pred)
        for key, value in expected.items():
            value_arr = as_array(got[key])
            answer = value_arr.item() if value_arr is not None and value_arr.size == 1 else None
            if answer is None or not close(answer, value):
                hint = diagnose(answer, mistakes[key]) if answer is not None else "return one number per metric"
                report.fail(f"{label}: wrong {key}", expected=value, got=got[key],
                            hint=hint or f"check the definition of {key} in the text above", show=_METRIC_SHOW)


# --- Exercise 5 · the Diebold–Mariano test --------------------------------------------------------------------------

_DM_SHOW = ("d = loss(forecast - actual) - loss(reference - actual); e = d - d.mean(); "
            "gamma[k] = e[k:] @ e[:n - k] / n for k = 0 … L; w = 1 - k / (L + 1); "
            "variance = (gamma[0] + 2 * sum(w[1:] * gamma[1:])) * n / (n - 1); "
            "DM = d.mean() / sqrt(variance / n); p = 2 * stats.t.sf(abs(DM), df=n - 1)")


def _ar1(rng, n: int, phi: float, scale: float) -> np.ndarray:
    """Noise whose neighbours are correlated (phi from one step to the next): errors that cluster in time."""
    noise = rng.normal(0.0, scale, size=n)
    for t in range(1, n):
        noise[t] += phi * noise[t - 1]
    return noise


def _dm_case(rng, n: int, phi: float, bias: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    actual = np.round(50 + np.cumsum(rng.normal(size=n)), 3)
    forecast = np.round(actual + _ar1(rng, n, phi, 1.0), 3)
    reference = np.round(actual + bias + _ar1(rng, n, phi, 1.1), 3)
    return actual, forecast, reference


def _dm_cases(rng) -> list:
    """(label, actual, forecast, reference, loss name, lags): the notebook's losses, a loss of the check's own,
    default and given lags; the last two are new in every run."""
    fixed = np.random.default_rng(5)
    n = [int(rng.integers(30, 60)), int(rng.integers(150, 260))]
    n = [m + 1 if round(m ** (1 / 3)) ** 3 == m else m for m in n]  # no perfect cubes: floor(n ** (1/3)) is clear
    return [
        ("12 test steps, absolute error, lags=0", *_dm_case(fixed, 12, 0.0, 0.3), "absolute", 0),
        ("80 test steps, squared error, default lags", *_dm_case(fixed, 80, 0.6, 0.2), "squared", None),
        (f"{n[0]} test steps, absolute error, lags=3", *_dm_case(rng, n[0], 0.5, 0.4), "absolute", 3),
        (f"{n[1]} test steps, a loss |e| ** 1.5, default lags", *_dm_case(rng, n[1], 0.7, 0.1), "power 1.5", None),
    ]


def _power_loss(errors):
    """A loss of the check's own (not one of the notebook's two): an answer must use the ``loss`` it is given."""
    return np.abs(errors) ** 1.5


_LOSSES = {"absolute": np.abs, "squared": np.square, "power 1.5": _power_loss}


def dm_harness(diebold_mariano_fn, actual, forecast, reference, loss: str, lags):
    """Run the student's ``diebold_mariano`` with the loss the check names (functions cannot be sent to the grader's
    worker, names can); ``lags=None`` leaves the argument out, to test the default. Returns what the answer returns."""
    extra = () if lags is None else (lags,)
    return diebold_mariano_fn(actual, forecast, reference, _LOSSES[loss], *extra)


def _dm_mistakes(actual, forecast, reference, loss, lags) -> dict[str, tuple[float, float]]:
    """What the typical mistakes return (statistic, p-value), to name the one a student made."""
    from scipy import stats

    n = len(actual)
    L = int(n ** (1 / 3)) if lags is None else lags

    def dm(d, L=L, weights="bartlett", twice=True, centre=True, by_n_minus_k=False, correction=True, per_step=True):
        e = d - d.mean() if centre else d
        gamma = np.array([e[k:] @ e[:n - k] / ((n - k) if by_n_minus_k else n) for k in range(L + 1)])
        w = 1 - np.arange(L + 1) / (L + 1) if weights == "bartlett" else np.ones(L + 1)
        variance = (gamma[0] + (2 if twice else 1) * (w[1:] @ gamma[1:])) * (n / (n - 1) if correction else 1)
        return d.mean() / np.sqrt(variance / n if per_step else variance)

    def p_t(s):
        return float(2 * stats.t.sf(abs(s), df=n - 1))

    d = loss(forecast - actual) - loss(reference - actual)
    right = dm(d)
    mistakes = {
        "the sign is reversed: d_t is the loss of `forecast` minus the loss of `reference`": (-right, p_t(right)),
        "the loss is of the errors (forecast − actual), not of the forecasts themselves":
            (dm(loss(forecast) - loss(reference)), p_t(dm(loss(forecast) - loss(reference)))),
        "the p-value is one-sided: a two-sided test doubles the tail probability of |DM|":
            (right, p_t(right) / 2),
        "the p-value comes from the normal distribution: read it from Student's t with n − 1 degrees of freedom":
            (right, float(2 * stats.norm.sf(abs(right)))),
        "the p-value is the tail beyond DM, not beyond |DM|: for a negative DM it must still be below 1":
            (right, float(2 * stats.t.sf(right, df=n - 1))),
        "DM divides the mean difference by its standard error, the square root of variance / n":
            (dm(d, per_step=False), p_t(dm(d, per_step=False))),
        "the n / (n − 1) factor of the variance is missing (it makes lags=0 the paired t-test)":
            (dm(d, correction=False), p_t(dm(d, correction=False))),
        "the autocovariances must be of the CENTRED differences, d − mean(d)": (dm(d, centre=False),
                                                                                  p_t(dm(d, centre=False))),
        "each autocovariance divides its sum by n, not by the number of products (n − k)":
            (dm(d, by_n_minus_k=True), p_t(dm(d, by_n_minus_k=True))),
    }
    if L > 0:
        mistakes.update({
            "the variance leaves out the autocovariances (that is the plain paired t-test): add the lags 1 … L":
                (dm(d, L=0), p_t(dm(d, L=0))),
            "the lags are not weighted: lag k counts with the weight 1 − k / (L + 1)":
                (dm(d, weights="flat"), p_t(dm(d, weights="flat"))),
            "each autocovariance counts twice in the variance (lag k and lag −k): 2 × the weighted sum":
                (dm(d, twice=False), p_t(dm(d, twice=False))),
        })
    if lags is None:
        for wrong, why in ((int(round(n ** 0.5)), "the square root of n"), (int(np.ceil(n ** (1 / 3))), "rounded up"),
                           (0, "no lags at all")):
            if wrong != L and 0 <= wrong < n - 1:
                mistakes[f"with lags=None use L = floor(n ** (1/3)) = {L} lags, not {wrong} ({why})"] = (
                    dm(d, L=wrong), p_t(dm(d, L=wrong)))
    return mistakes


@exercise("Exercise 5 · the Diebold–Mariano test",
          notebook="08", answer="diebold_mariano", reference="utils.forecasting:diebold_mariano", points=4, minutes=20)
def check_diebold_mariano(fn, report) -> None:
    """Compare ``fn(actual, forecast, reference, loss, lags=None) -> (DM, p)`` with the reference on series whose
    errors cluster in time, with the notebook's two losses and one of the check's own."""
    for label, actual, forecast, reference, loss_name, lags in _dm_cases(report.rng):
        loss = _LOSSES[loss_name]
        expected = diebold_mariano(actual, forecast, reference, loss, lags)
        given = (actual.copy(), forecast.copy(), reference.copy())
        got, error = call(dm_harness, fn, *given, loss_name, lags)
        if error:
            report.fail(f"{label}: your function raised {error}")
            continue
        answer = as_array(got)
        if answer is None or answer.shape != (2,) or isinstance(got, dict | str):
            report.fail(f"{label}: return the pair (DM statistic, p-value)", got=got,
                        hint="return two numbers: the statistic, then the two-sided p-value")
            continue
        changed = [name for name, before, after in zip(("actual", "forecast", "reference"), (actual, forecast,
                                                                                           reference), given,
                                                       strict=True) if not np.array_equal(before, after)]
        if changed:
            report.fail(f"{label}: your function changed its argument `{changed[0]}` in place",
                        hint="work on new arrays: the notebook passes the same test days to every comparison")
            continue
        if not np.all(np.isfinite(answer)):
            report.fail(f"{label}: the statistic and p-value must be finite numbers", expected=expected, got=got)
            continue
        if not close(answer, expected, rtol=1e-4, atol=1e-8):
            hint = diagnose(answer, _dm_mistakes(actual, forecast, reference, loss, lags), rtol=1e-4, atol=1e-8)
            if hint is None and close(answer[0], expected[0], rtol=1e-4):
                hint = "the statistic is right, the p-value is not: two-sided, from Student's t with n − 1 degrees"
            report.fail(f"{label}: wrong (DM, p)", expected=np.array(expected), got=answer,
                        hint=hint or "follow the steps of the formula above one at a time: d_t, its mean, the "
                                     "autocovariances of d_t − mean, the weighted variance, then DM and p",
                        show=_DM_SHOW)
