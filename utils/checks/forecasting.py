"""Checks for notebook 08 (time-series forecasting): windowing, the LSTM forecaster, a baseline, the metrics."""

from __future__ import annotations

import numpy as np

from utils.checks import answer_array, as_array, call, close, diagnose, exercise
from utils.data import make_windows
from utils.forecasting import forecast_metrics, moving_average

# --- Exercise 1 · windowing -----------------------------------------------------------------------------------------

# (series, window, horizon): 1-D and 2-D series, horizon 1 and > 1, and the edge case of exactly one window.
_WINDOW_CASES = [
    (np.arange(10.0) * 1.5 + 2.0, 3, 1),
    (np.linspace(-1.0, 4.0, 12) ** 2, 4, 3),
    (np.column_stack([np.arange(15.0) ** 1.5, 100 - np.arange(15.0)]), 5, 2),
    (np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0]), 4, 2),
]


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
        "the window includes the target: X[i] = series[i : i+window] ends the step BEFORE y[i] starts":
            values[starts + 1 + np.arange(window)],
    }
    y_mistakes = {
        "off-by-one target: y[i] starts at series[i+window] (the step after the window), "
        "not at series[i+window-1] (the window's own last value)": values[future - 1, 0],
        "target two steps late: y[i] starts at series[i+window], right after the window": values[future + 1, 0],
    }
    return X_mistakes, y_mistakes


@exercise("Exercise 1 · cut a series into windows",
          notebook="08", answer="make_windows", reference="utils.data:make_windows", points=2, minutes=10,
          forbid=("keras.utils:timeseries_dataset_from_array",))
def check_make_windows(fn, report) -> None:
    """Compare ``fn(series, window, horizon) -> (X, y)`` with ``utils.data.make_windows`` on 1-D and 2-D series."""
    for series, window, horizon in _WINDOW_CASES:
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
                        hint=f"there are len(series) - window - horizon + 1 = {n} windows; a slice that runs past the "
                             "end of the series is shorter than the others; np.stack the windows into one array")
            continue
        if X.shape != expected_X.shape:
            report.fail(f"{label}: wrong shape of X", expected=expected_X.shape, got=X.shape,
                        hint=_shape_hint_X(X.shape, expected_X.shape, series, window))
            continue
        if y.shape != expected_y.shape:
            report.fail(f"{label}: wrong shape of y", expected=expected_y.shape, got=y.shape,
                        hint=_shape_hint_y(y.shape, expected_y.shape, horizon, n))
            continue
        if not close(X, expected_X):
            hint = diagnose(X, _mistaken_windows(series, window, horizon)[0])
            report.fail(f"{label}: wrong input windows X", expected=expected_X[0, :, 0], got=X[0, :, 0],
                        hint=hint or "X[i] = series[i : i+window] (all features)")
            continue
        if not close(y, expected_y):
            hint = diagnose(y, _mistaken_windows(series, window, horizon)[1])
            if hint is None and series.ndim == 2:
                other = make_windows(series, window, horizon, target=1)[1]
                hint = "y comes from the wrong column: the target is column 0" if close(y, other) else None
            report.fail(f"{label}: wrong targets y", expected=expected_y[0], got=y[0],
                        hint=hint or "y[i] = series[i+window : i+window+horizon] (target column 0)")
            continue
        if not all(isinstance(part, np.ndarray) for part in result):
            report.fail(f"{label}: right values, but X and y must be NumPy arrays",
                        got=tuple(type(part).__name__ for part in result),
                        hint="return np.stack(...) of the windows: the cells below read X.shape and slice X[:, -1, 0]")


def _shape_hint_X(got, expected, series, window) -> str:
    n = expected[0]
    if len(got) == 2 and got == expected[:2]:
        return "add a features axis: X has shape (n, window, features); for a 1-D series use series[:, None] first"
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


@exercise("Exercise 2 · build and train the LSTM forecaster",
          notebook="08", answer=("build_forecaster", "train_forecaster"),
          reference=("utils.forecasting:build_forecaster", "utils.forecasting:train_forecaster"), points=4,
          minutes=20)
def check_forecaster(build_fn, report, train_fn=None) -> None:
    """Check ``build_fn(window, n_features, horizon=1) -> compiled keras.Model`` and
    ``train_fn(model, train_ds, val_ds, epochs)``.

    The model is inspected (input, output, an LSTM layer, a linear output, compiled). The training function is run
    on a tiny model whose learning rate is 0, so its validation loss can never improve: EarlyStopping must stop it.
    """
    import keras

    for window, n_features, horizon in ((30, 1, 1), (12, 3, 4)):
        kwargs = {} if horizon == 1 else {"horizon": horizon}  # the first call leaves horizon at its default
        label = f"build_forecaster({window}, {n_features}{''.join(f', horizon={h}' for h in kwargs.values())})"
        model, error = call(build_fn, window, n_features, **kwargs)
        if error:
            report.fail(f"{label} raised {error}", hint="give build_forecaster a parameter horizon=1 and end with "
                        "Dense(horizon)" if "horizon" in error else None)
            return
        if not isinstance(model, keras.Model):
            report.fail(f"{label} should return a Keras model", got=model,
                        hint="build a keras.Sequential([...]), compile it, and return it")
            return
        if tuple(model.input_shape) != (None, window, n_features):
            report.fail(f"{label}: wrong input shape", expected=(None, window, n_features),
                        got=tuple(model.input_shape), hint="start with keras.Input(shape=(window, n_features))")
            continue
        out = tuple(model.output_shape)
        if not _has_lstm(model):
            report.fail(f"{label}: no LSTM layer in the model", hint="add keras.layers.LSTM(units) after the input")
            continue
        if out != (None, horizon):
            hint = ("the last LSTM returns the whole sequence (return_sequences=True): drop that so Dense(horizon) "
                    "sees only the final hidden state" if len(out) == 3 else
                    "end with keras.layers.Dense(horizon): one number per future step")
            report.fail(f"{label}: wrong output shape", expected=(None, horizon), got=out, hint=hint)
            continue
        activation = getattr(model.layers[-1], "activation", None)
        name = getattr(activation, "__name__", "linear")
        if name != "linear":
            report.fail(f"{label}: the output layer has activation '{name}'",
                        hint="leave the last Dense linear (no activation): a forecast must be free to take any value, "
                             "negative returns and prices above the training range included")
            continue
        if getattr(model, "optimizer", None) is None or getattr(model, "loss", None) is None:
            report.fail(f"{label}: the model is not compiled", hint="model.compile(optimizer='adam', loss='mse')")
            continue
    if report.failures or train_fn is None:
        return
    _check_training(train_fn, report)


def _has_lstm(layer) -> bool:
    """True if ``layer`` is or holds an LSTM: keras.layers.LSTM, RNN(LSTMCell), Bidirectional(LSTM), nested models."""
    import keras

    if isinstance(layer, keras.layers.LSTM):
        return True
    if isinstance(layer, keras.layers.RNN):
        cell = layer.cell
        return isinstance(cell, keras.layers.LSTMCell) or any(
            isinstance(c, keras.layers.LSTMCell) for c in getattr(cell, "cells", []))
    if isinstance(layer, keras.layers.Bidirectional):
        return _has_lstm(layer.forward_layer) or _has_lstm(layer.backward_layer)
    return any(_has_lstm(inner) for inner in getattr(layer, "layers", []))


def _tiny_data():
    """Two small window datasets of a sine wave, for the training check."""
    import tensorflow as tf

    wave = np.sin(np.arange(80) / 4.0).astype("float32")
    X, y = make_windows(wave, 8)

    def batches(part):
        return tf.data.Dataset.from_tensor_slices((X[part].astype("float32"), y[part].astype("float32"))).batch(32)

    return batches(slice(0, 56)), batches(slice(56, None))


def _check_training(train_fn, report, epochs: int = 25) -> None:
    import keras

    frozen = keras.Sequential([keras.Input(shape=(8, 1)), keras.layers.LSTM(4), keras.layers.Dense(1)])
    frozen.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse")
    train_ds, val_ds = _tiny_data()
    history, error = call(train_fn, frozen, train_ds, val_ds, epochs)
    label = "train_forecaster on a model that cannot improve"
    if error:
        report.fail(f"{label} raised {error}")
        return
    logs = getattr(history, "history", None)
    if not isinstance(logs, dict):
        report.fail(f"{label}: return the History object", got=history,
                    hint="return model.fit(...), which is the History")
        return
    if "val_loss" not in logs:
        report.fail(f"{label}: no validation loss was recorded", hint="pass validation_data=val_ds to model.fit")
        return
    ran = len(logs["val_loss"])
    if getattr(history, "params", {}).get("epochs") != epochs:
        report.fail(f"{label}: fit did not use the `epochs` argument", expected=epochs,
                    got=getattr(history, "params", {}).get("epochs"), hint="pass epochs=epochs to model.fit")
        return
    if ran >= epochs:
        report.fail(f"{label}: it trained all {epochs} epochs though the validation loss never improved",
                    hint="add callbacks=[keras.callbacks.EarlyStopping(monitor='val_loss', patience=5, "
                         "restore_best_weights=True)] to model.fit")


# --- Exercise 3 · a baseline ----------------------------------------------------------------------------------------

_RNG = np.random.default_rng(8)
_MA_CASES = [
    (100 + np.cumsum(_RNG.normal(size=(6, 10, 1)), axis=1), 3),
    (50 + np.cumsum(_RNG.normal(size=(5, 8, 1)), axis=1), 1),
    (np.cumsum(_RNG.normal(size=(4, 6, 1)), axis=1), 6),
    (np.concatenate([20 + np.cumsum(_RNG.normal(size=(5, 7, 1)), axis=1), _RNG.normal(size=(5, 7, 1)) * 100], axis=2),
     4),
]


def _ma_mistakes(X, k) -> dict[str, np.ndarray]:
    X = np.asarray(X, dtype=float)
    mistakes = {
        "that is the mean of the whole window: average only its last k values, X[:, -k:, 0]": X[:, :, 0].mean(1),
        "those are the first (oldest) k values: the last k are X[:, -k:, 0]": X[:, :k, 0].mean(1),
        "average all features: use only the target column 0": X[:, -k:, :].mean(axis=(1, 2)),
    }
    if k < X.shape[1]:
        mistakes["today's value is left out: the last k values end with X[:, -1, 0]"] = X[:, -k - 1:-1, 0].mean(1)
    return mistakes


@exercise("Exercise 3 · the moving-average baseline",
          notebook="08", answer="moving_average_forecast", reference="utils.forecasting:moving_average", points=2,
          minutes=10)
def check_moving_average(fn, report) -> None:
    """Compare ``fn(X, k) -> (n,)`` with ``utils.forecasting.moving_average`` on windows of prices."""
    for X, k in _MA_CASES:
        expected = moving_average(X, k)
        label = f"windows of shape {X.shape}, k={k}"
        got_arr = answer_array(fn, (X.copy(), k), report, label,
                               what="return an array of forecasts, one number per window",
                               hint="X[:, -k:, 0].mean(axis=1)")
        if got_arr is None:
            continue
        if got_arr.shape != expected.shape:
            hint = "return one number per window, shape (n,): e.g. .mean(axis=1)" if got_arr.size == expected.size \
                else "average over the time axis (axis=1) of the last k steps, for each window"
            report.fail(f"{label}: wrong shape", expected=expected.shape, got=got_arr.shape, hint=hint)
            continue
        if not close(got_arr, expected):
            hint = diagnose(got_arr, {h: m for h, m in _ma_mistakes(X, k).items() if not close(m, expected)})
            report.fail(f"{label}: wrong forecasts", expected=expected, got=got_arr,
                        hint=hint or "forecast = mean of X[:, -k:, 0] for every window")


# --- Exercise 4 · the evaluation metrics ----------------------------------------------------------------------------

_METRIC_CASES = [
    (np.array([100.0, 102.0, 101.0, 105.0, 104.0]), np.array([101.0, 101.0, 103.0, 104.0, 104.0])),
    (np.array([20.0, 25.0, 22.0]), np.array([24.0, 21.0, 22.5])),
    (np.array([1.5, 2.0, 2.5, 3.0]), np.array([1.0, 2.5, 2.5, 4.0])),
]


def _metric_mistakes(y_true, y_pred) -> dict[str, dict[str, float]]:
    err = y_pred - y_true
    return {
        "MAE": {"MAE without the absolute value lets errors of opposite sign cancel: use np.abs(y_pred - y_true)":
                float(np.mean(err))},
        "RMSE": {"that is the MSE: RMSE is its square root": float(np.mean(err ** 2)),
                 "RMSE squares the errors before averaging: sqrt(mean((y_pred - y_true) ** 2))":
                 float(np.mean(np.sqrt(np.abs(err))))},
        "MAPE %": {"MAPE divides by the actual values y_true, not by the forecasts":
                   float(100 * np.mean(np.abs(err / y_pred))),
                   "MAPE is in percent: multiply by 100": float(np.mean(np.abs(err / y_true))),
                   "MAPE takes the absolute value of each percentage error": float(100 * np.mean(err / y_true))},
    }


@exercise("Exercise 4 · evaluation metrics MAE, RMSE, MAPE",
          notebook="08", answer="evaluate_forecast", reference="utils.forecasting:forecast_metrics", points=2,
          minutes=10,
          forbid=("sklearn.metrics:mean_absolute_error", "sklearn.metrics:mean_squared_error",
                  "sklearn.metrics:mean_absolute_percentage_error"))
def check_evaluate_forecast(fn, report) -> None:
    """Compare ``fn(y_true, y_pred) -> {"MAE": ..., "RMSE": ..., "MAPE %": ...}`` with ``forecast_metrics``."""
    for y_true, y_pred in _METRIC_CASES:
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
                            hint=hint or f"check the formula of {key} in the text above")
