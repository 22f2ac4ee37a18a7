"""Time-series forecasting with honest baselines (notebook 08): splits, scaling, Keras datasets, baselines, metrics,
Exercise 2's reference LSTM forecaster, and the whole pipeline for a second series.

The conventions, used everywhere in this module:

* A series is indexed by time step ``t = 0 … T-1``. A *one-step forecast for step t* may use the values at steps
  ``t-window … t-1`` only: the window ends the step before its target.
* Splits are chronological and are given by the target index: targets ``t < train_end`` are training targets,
  ``train_end <= t < val_end`` validation targets, ``t >= val_end`` test targets. The *inputs* of a test window may lie
  in the validation period: those values are in the past at forecast time, so using them is honest.
* Scalers are fitted on the training part only, then applied to everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from utils.data import _float_array, window_arrays
from utils.validate import finite_array, has, number, whole

# --- splits and scaling ---------------------------------------------------------------------------------------------


def split_points(n: int, train: float = 0.7, val: float = 0.15) -> tuple[int, int]:
    """Chronological split of ``n`` time steps: returns ``(train_end, val_end)`` (train = [0, train_end), ...)."""
    n, train, val = whole(n, "n", fix="pass len(series)"), number(train, "train"), number(val, "val")
    if not (0 < train < 1 and 0 < val < 1 and train + val < 1):
        raise ValueError(f"train={train} and val={val} must be fractions in (0, 1) that leave room for a test part")
    if n < 10:
        raise ValueError(f"a series of {n} steps is too short to split into train / validation / test")
    return int(round(n * train)), int(round(n * (train + val)))


@dataclass
class Scaler:
    """Min-max (to [0, 1]) or standard (mean 0, std 1) scaling, with the statistics of the data it was fitted on."""

    kind: str = "minmax"
    offset: float = field(default=np.nan)
    scale: float = field(default=np.nan)

    def fit(self, values) -> Scaler:
        values = _float_array(values, "values").reshape(-1)
        values = values[~np.isnan(values)]
        if values.size < 2:
            raise ValueError("fit the scaler on at least two non-NaN values (the training part of the series)")
        if self.kind == "minmax":
            self.offset, self.scale = float(values.min()), float(values.max() - values.min())
        elif self.kind == "standard":
            self.offset, self.scale = float(values.mean()), float(values.std())
        else:
            raise ValueError(f"kind must be 'minmax' or 'standard', not {self.kind!r}")
        if self.scale == 0:
            raise ValueError("the values are constant: there is nothing to scale")
        return self

    def _check(self) -> None:
        if np.isnan(self.scale):
            raise ValueError("this scaler is not fitted yet: call .fit(training_values) first")

    def transform(self, values):
        self._check()
        return (_float_array(values, "values") - self.offset) / self.scale

    def inverse_transform(self, values):
        self._check()
        return _float_array(values, "values") * self.scale + self.offset


def fit_scaler(values, kind: str = "minmax") -> Scaler:
    """A ``Scaler`` fitted on ``values`` (pass the training part only)."""
    return Scaler(kind).fit(values)


# --- windows (cut by utils.data.window_arrays) ----------------------------------------------------------------------


def window_dataset(inputs, targets, window: int, first: int, last: int, *, batch_size: int = 64,
                   shuffle: bool = False, seed: int = 0):
    """The windows of ``utils.data.window_arrays`` (targets ``t`` in ``[first, last)``) as a batched
    ``tf.data.Dataset``, for ``model.fit``.

    The windows are cut once and cached (cutting them again every epoch is slow on a CPU); ``shuffle=True`` (training
    data only) reshuffles them every epoch with a fixed seed.
    """
    import tensorflow as tf

    X, y = window_arrays(inputs, targets, window, first, last)
    batch_size = whole(batch_size, "batch_size")
    windows = tf.data.Dataset.from_tensor_slices((X, y)).cache()
    if shuffle:
        windows = windows.shuffle(len(X), seed=seed, reshuffle_each_iteration=True)
    return windows.batch(batch_size)


def dataset_arrays(dataset):
    """Concatenate the (inputs, targets) batches of a dataset into two NumPy arrays (in the dataset's order)."""
    has(dataset, "__iter__", "dataset", "a batched tf.data.Dataset of (inputs, targets), from window_dataset")
    batches = [(np.asarray(x), np.asarray(y)) for x, y in dataset]
    if not batches:
        raise ValueError("the dataset is empty: make it from a range [first, last) with at least one target")
    xs, ys = zip(*batches, strict=True)
    return np.concatenate(xs), np.concatenate(ys)


# --- baselines ------------------------------------------------------------------------------------------------------


def persistence(X, target: int = 0) -> np.ndarray:
    """"Tomorrow = today": the last value of each window. ``X``: (n, window, features) -> (n,)."""
    X = _windows(X, target)
    return X[:, -1, target]


def moving_average(X, k: int, target: int = 0) -> np.ndarray:
    """The mean of the last ``k`` values of each window. ``X``: (n, window, features) -> (n,)."""
    X = _windows(X, target)
    if not 1 <= whole(k, "k") <= X.shape[1]:
        raise ValueError(f"k={k} must be between 1 and the window length {X.shape[1]}")
    return X[:, -k:, target].astype(float).mean(axis=1)


def seasonal_naive(X, period: int, target: int = 0) -> np.ndarray:
    """"Same as one season ago": the value ``period`` steps before the target. ``X``: (n, window, features) -> (n,)."""
    X = _windows(X, target)
    if not 1 <= whole(period, "period") <= X.shape[1]:
        raise ValueError(f"period={period} must be between 1 and the window length {X.shape[1]}")
    return X[:, -period, target].astype(float)


def _windows(X, target: int = 0) -> np.ndarray:
    """Windows (n, window, features) as floats, with ``target`` one of the features; else a ValueError."""
    X = finite_array(X, "X", ndim=3)
    if not 0 <= whole(target, "target", minimum=0) < X.shape[2]:
        raise ValueError(f"target={target} is not a feature of windows with {X.shape[2]} feature(s): use 0 … "
                         f"{X.shape[2] - 1}")
    return X


class LinearWindowModel:
    """Least-squares linear regression on the flattened window (plus an intercept): the LSTM's linear rival."""

    def fit(self, X, y) -> LinearWindowModel:
        A = self._design(X)
        y = finite_array(y, "y")
        if y.size % len(A):
            raise ValueError(f"y has {y.size} values for {len(A)} windows: pass one target row per window")
        self.coef_, *_ = np.linalg.lstsq(A, y.reshape(len(A), -1), rcond=None)
        return self

    def predict(self, X) -> np.ndarray:
        if not hasattr(self, "coef_"):
            raise ValueError("fit the linear model on the training windows first")
        out = self._design(X) @ self.coef_
        return out[:, 0] if out.shape[1] == 1 else out

    @staticmethod
    def _design(X) -> np.ndarray:
        X = finite_array(X, "X", ndim=(2, 3))
        return np.column_stack([X.reshape(len(X), -1), np.ones(len(X))])


# --- metrics --------------------------------------------------------------------------------------------------------


def _pair(y_true, y_pred):
    y_true = finite_array(y_true, "y_true").reshape(-1)
    y_pred = finite_array(y_pred, "y_pred").reshape(-1)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} values and y_pred {y_pred.size}: compare the same test steps")
    return y_true, y_pred


def mae(y_true, y_pred) -> float:
    """Mean absolute error, in the units of the series."""
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.mean(np.abs(y_pred - y_true)))


def rmse(y_true, y_pred) -> float:
    """Root mean squared error, in the units of the series (punishes large misses more than MAE)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.sqrt(np.mean((y_pred - y_true) ** 2)))


def mape(y_true, y_pred) -> float:
    """Mean absolute percentage error, in percent of the actual value (needs actual values far from 0)."""
    y_true, y_pred = _pair(y_true, y_pred)
    if np.any(y_true == 0):
        raise ValueError("MAPE divides by the actual values, and some are 0: use MAE or RMSE for this series")
    return float(100 * np.mean(np.abs((y_pred - y_true) / y_true)))


def forecast_metrics(y_true, y_pred) -> dict[str, float]:
    """MAE, RMSE (series units) and MAPE (%) in one dict: the evaluation used in every table of notebook 08."""
    return {"MAE": mae(y_true, y_pred), "RMSE": rmse(y_true, y_pred), "MAPE %": mape(y_true, y_pred)}


def directional_accuracy(last, y_true, y_pred) -> float:
    """Percent of steps where the forecast moves in the same direction (up / down) from ``last`` as the truth did.

    A forecast equal to ``last`` (persistence) names no direction: the result is NaN. Steps with no actual change
    are left out.
    """
    last, y_true = _pair(last, y_true)
    _, y_pred = _pair(last, y_pred)
    predicted, actual = np.sign(y_pred - last), np.sign(y_true - last)
    keep = actual != 0
    if not np.any(predicted[keep] != 0):
        return float("nan")
    return float(100 * np.mean(predicted[keep] == actual[keep]))


def comparison_table(y_true, forecasts: dict, last=None, unit: str = "", metrics=None) -> pd.DataFrame:
    """One row per forecast (name -> predictions on the same test steps): MAE, RMSE, MAPE, and direction if ``last``.

    Sorted by MAE, best first. ``unit`` (e.g. "$") is added to the column names of MAE and RMSE. ``metrics``: the
    function ``(y_true, y_pred) -> dict`` to use (default ``forecast_metrics``; the notebook passes the student's).
    """
    metrics = metrics or forecast_metrics
    if not isinstance(forecasts, dict) or not forecasts:
        raise ValueError(f"forecasts must be a dict name -> predictions, e.g. {{'persistence': persistence(X_test)}}, "
                         f"not {forecasts!r:.40}")
    rows = {}
    for name, y_pred in forecasts.items():
        row = dict(metrics(y_true, y_pred))
        if last is not None:
            row["direction %"] = directional_accuracy(last, y_true, y_pred)
        rows[name] = row
    table = pd.DataFrame(rows).T.sort_values("MAE")
    if unit:
        table = table.rename(columns={"MAE": f"MAE ({unit})", "RMSE": f"RMSE ({unit})"})
    table.index.name = "forecast"
    return table


# --- the LSTM forecaster --------------------------------------------------------------------------------------------


def build_forecaster(window: int, n_features: int = 1, units: int = 32, horizon: int = 1) -> keras.Model:
    """Exercise 2's reference: Input (window, n_features) -> LSTM(units) -> Dense(horizon), linear output, compiled
    with Adam (learning rate 0.003) and MSE."""
    window, n_features = whole(window, "window"), whole(n_features, "n_features")
    units, horizon = whole(units, "units"), whole(horizon, "horizon")
    model = keras.Sequential([
        keras.Input(shape=(window, n_features)),
        keras.layers.LSTM(units),
        keras.layers.Dense(horizon),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.003), loss="mse")
    return model


def train_forecaster(model: keras.Model, train_ds, val_ds, epochs: int, patience: int = 5):
    """Exercise 2's reference: fit with EarlyStopping on the validation loss (best weights restored); the History."""
    has(model, "fit", "model", "a compiled Keras model, e.g. from build_forecaster(window)")
    epochs, patience = whole(epochs, "epochs"), whole(patience, "patience")
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    # shuffle=False: a Dataset is shuffled when it is made (training windows only); Keras can't reshuffle it anyway.
    return model.fit(train_ds, validation_data=val_ds, epochs=epochs, callbacks=[stop], shuffle=False, verbose=0)


def predict(model: keras.Model, X) -> np.ndarray:
    """Model outputs for windows ``X`` as NumPy: (n,) for one output, else (n, horizon).

    Calls the model directly (one batch) rather than ``model.predict``: for a few hundred windows that is faster, and
    it does not build a new prediction function for every model.
    """
    if not callable(model):
        raise ValueError(f"model must be a Keras model, e.g. from build_forecaster(window), not {type(model).__name__}")
    out = keras.ops.convert_to_numpy(model(finite_array(X, "X", ndim=3).astype("float32"), training=False))
    return out[:, 0] if out.shape[1] == 1 else out


# --- the whole pipeline, for a second series ------------------------------------------------------------------------


@dataclass
class Experiment:
    """What ``one_step_experiment`` returns: the table and everything needed to plot or reuse its parts."""

    table: pd.DataFrame
    model: keras.Model
    history: object
    scaler: Scaler
    test_index: pd.Index
    actual: np.ndarray
    forecasts: dict
    splits: tuple[int, int]


def one_step_experiment(series: pd.Series, window: int, build, train, *, epochs: int, units: int = 32,
                        ma_k: int = 3, season: int | None = None, scaler_kind: str = "standard", patience: int = 8,
                        batch_size: int = 32, unit: str = "") -> Experiment:
    """The notebook's pipeline in one call, for a series whose level an LSTM can model directly.

    Chronological 70/15/15 split, scaler fitted on train, Keras windows, the LSTM made by the notebook's
    ``build(window, n_features, units)`` and fitted by its ``train(model, train_ds, val_ds, epochs, patience)``
    (Exercise 2), and the baselines (persistence, moving average of ``ma_k``, seasonal naive if ``season``, linear on
    the same window) on the same test steps, in the series' units.
    """
    for name, fn in (("build", build), ("train", train)):
        if not callable(fn):
            raise ValueError(f"{name} must be a function, e.g. the notebook's {name}_forecaster, not {fn!r:.40}")
    has(series, "to_numpy", "series", "a pandas Series, e.g. data.load_elnino()")
    values = finite_array(series.to_numpy(dtype=float), "series", ndim=1)
    epochs = whole(epochs, "epochs")
    train_end, val_end = split_points(len(values))
    scaler = fit_scaler(values[:train_end], scaler_kind)
    scaled = scaler.transform(values)
    n = len(values)
    train_ds = window_dataset(scaled, scaled, window, window, train_end, batch_size=batch_size, shuffle=True)
    val_ds = window_dataset(scaled, scaled, window, train_end, val_end, batch_size=batch_size)
    model = build(window, 1, units)
    history = train(model, train_ds, val_ds, epochs, patience)
    X_train, y_train = window_arrays(values, values, window, window, train_end)
    X_test, y_test = window_arrays(values, values, window, val_end, n)
    actual = y_test[:, 0].astype(float)
    forecasts = {"persistence": persistence(X_test), f"moving average ({ma_k})": moving_average(X_test, ma_k)}
    if season:
        forecasts[f"seasonal naive ({season})"] = seasonal_naive(X_test, season)
    forecasts["linear, same window"] = LinearWindowModel().fit(X_train, y_train).predict(X_test)
    forecasts[f"LSTM({units})"] = scaler.inverse_transform(predict(model, scaler.transform(X_test)))
    table = comparison_table(actual, forecasts, unit=unit)
    return Experiment(table, model, history, scaler, series.index[val_end:], actual, forecasts, (train_end, val_end))


# --- leakage demonstrations -----------------------------------------------------------------------------------------


def shuffled_split(n: int, train: float = 0.7, val: float = 0.15, seed: int = 0):
    """The *wrong* split, for the pitfall demo: window indices 0 … n-1 dealt at random into train / val / test."""
    n, train, val = whole(n, "n"), number(train, "train"), number(val, "val")
    if not (0 < train < 1 and 0 < val < 1 and train + val < 1):
        raise ValueError(f"train={train} and val={val} must be fractions in (0, 1) that leave room for a test part")
    order = np.random.default_rng(seed).permutation(n)
    a, b = int(round(n * train)), int(round(n * (train + val)))
    return np.sort(order[:a]), np.sort(order[a:b]), np.sort(order[b:])


# --- plots ----------------------------------------------------------------------------------------------------------


def plot_forecasts(index, actual, forecasts: dict, title: str, ylabel: str, ax=None, last: int | None = None):
    """Actual values and some forecasts over the test period (optionally only its ``last`` steps)."""
    if not isinstance(forecasts, dict):
        raise ValueError(f"forecasts must be a dict name -> predictions, not {type(forecasts).__name__}")
    actual = finite_array(actual, "actual", ndim=1)
    if not hasattr(index, "__len__") or len(index) != len(actual):
        raise ValueError("index must have one entry per actual value: pass the test period's dates")
    if last is not None:
        whole(last, "last")
    ax = ax or plt.subplots()[1]
    sl = slice(-last, None) if last else slice(None)
    ax.plot(index[sl], np.asarray(actual)[sl], color="black", lw=2, label="actual")
    for name, pred in forecasts.items():
        ax.plot(index[sl], np.asarray(pred)[sl], lw=1.2, label=name)
    ax.set(title=title, xlabel="date", ylabel=ylabel)
    ax.legend(fontsize=8)
    return ax
