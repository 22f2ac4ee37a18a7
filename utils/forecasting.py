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
from scipy import stats

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
    """Exercise 4's reference: MAE, RMSE (series units) and MAPE (%) in one dict, the evaluation of notebook 08's
    tables. Written out rather than built on ``mae``, ``rmse`` and ``mape``, which an answer may not call."""
    y_true, y_pred = _pair(y_true, y_pred)
    if np.any(y_true == 0):
        raise ValueError("MAPE divides by the actual values, and some are 0: use MAE or RMSE for this series")
    errors = y_pred - y_true
    return {"MAE": float(np.mean(np.abs(errors))), "RMSE": float(np.sqrt(np.mean(errors ** 2))),
            "MAPE %": float(100 * np.mean(np.abs(errors / y_true)))}


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


# --- is a difference more than noise? -------------------------------------------------------------------------------


def diebold_mariano(actual, forecast, reference, loss, lags=None) -> tuple[float, float]:
    """Exercise 5's reference: the Diebold–Mariano test that ``forecast`` and ``reference`` have the same mean
    ``loss`` on the same test steps; returns (DM statistic, two-sided p-value).

    d_t = loss(forecast_t - actual_t) - loss(reference_t - actual_t), in time order; its mean is divided by a
    Newey–West (HAC) standard error over ``lags`` lags (default floor(n ** (1/3))), which allows for errors that are
    correlated from one step to the next. The variance is scaled by n/(n-1) and the p-value read from Student's t with
    n-1 degrees of freedom, so that lags=0 gives exactly the paired t-test. A negative statistic: ``forecast``'s loss
    is the lower one.
    """
    actual = finite_array(actual, "actual", ndim=1, min_size=3)
    forecast, reference = finite_array(forecast, "forecast", ndim=1), finite_array(reference, "reference", ndim=1)
    if actual.shape != forecast.shape or actual.shape != reference.shape:
        raise ValueError(f"actual, forecast and reference must be 1-D arrays over the same test steps, got "
                         f"{actual.shape}, {forecast.shape} and {reference.shape}: pass one value per test step each")
    if not callable(loss):
        raise ValueError(f"loss must be a function of the errors, such as np.abs or np.square, not {loss!r:.40}")
    d = np.asarray(loss(forecast - actual), dtype=float) - np.asarray(loss(reference - actual), dtype=float)
    n = len(d)
    if lags is None:
        lags = int(n ** (1 / 3))
    lags = whole(lags, "lags", minimum=0, fix="pass None for the default n ** (1/3)")
    if lags >= n - 1:
        raise ValueError(f"lags={lags} must be from 0 to {n - 2} for {n} test steps (the default is n ** (1/3))")
    e = d - d.mean()
    autocovariance = np.array([e[k:] @ e[:n - k] / n for k in range(lags + 1)])
    bartlett = 1 - np.arange(lags + 1) / (lags + 1)  # the Newey–West weights: 1 at lag 0, falling towards 0
    variance = (2 * bartlett @ autocovariance - autocovariance[0]) * n / (n - 1)
    if variance <= 0:
        raise ValueError("the two forecasts have the same loss on every step: there is no difference to test "
                         "(compare two different forecasts)")
    statistic = d.mean() / np.sqrt(variance / n)
    return float(statistic), float(2 * stats.t.sf(abs(statistic), df=n - 1))


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


# --- several random starts -----------------------------------------------------------------------------------------


def windows_at(inputs, targets, window: int, days) -> tuple[np.ndarray, np.ndarray]:
    """The windows of ``utils.data.window_arrays`` for the target steps ``days`` (any order, e.g. a shuffled split):
    ``X[j] = inputs[days[j]-window : days[j]]`` (n, window, features) and ``y[j] = targets[days[j]]`` (n, k)."""
    days = np.asarray(days)
    if days.ndim != 1 or days.size == 0 or not np.issubdtype(days.dtype, np.integer):
        raise ValueError("days must be a non-empty 1-D array of whole step numbers, e.g. np.arange(first, last)")
    first = int(days.min())
    X, y = window_arrays(inputs, targets, window, first, int(days.max()) + 1)
    return X[days - first], y[days - first]


@dataclass
class TrainedStarts:
    """One model trained from several random starts (one seed each): what each start learned."""

    model: keras.Model  # the compiled model every start trained (it holds the last start's weights)
    seeds: list
    weights: list  # each start's trained weights (model.get_weights())
    histories: list  # each start's History, as the notebook's train function returned it

    @property
    def epochs(self) -> list[int]:
        """How many epochs each start trained (early stopping decides)."""
        return [len(history.epoch) for history in self.histories]

    def predict(self, X, start: int | None = None) -> np.ndarray:
        """Every start's outputs for windows ``X``: (starts, n) for one output, (starts, n, horizon) for several;
        with ``start`` (0, 1, ...) only that start's, (n,) or (n, horizon)."""
        if start is not None:
            if isinstance(start, bool) or not isinstance(start, int | np.integer) or not 0 <= start < len(self.weights):
                raise ValueError(f"start must be 0 … {len(self.weights) - 1}, one of the {len(self.weights)} starts, "
                                 f"not {start!r}")
            self.model.set_weights(self.weights[start])
            return predict(self.model, X)
        return np.stack([self.predict(X, start) for start in range(len(self.weights))])


class Starts:
    """Train the notebook's LSTM from several random starts, preparing Keras' training step only once per shape.

    Keras prepares (traces) a model's training step on its first ``fit``, and on a CPU that takes longer than a short
    training run. So for each input shape one model made by ``build`` is kept and reused: each start draws fresh
    weights with ``build`` under its own seed and resets the optimizer (step count and running averages to zero), so
    the start learns as a new model would, and ``train`` fits it. ``build(window, n_features, units, horizon)`` and
    ``train(model, train_ds, val_ds, epochs, patience)`` are the notebook's own (Exercise 2).
    """

    def __init__(self, build, train):
        for name, fn in (("build", build), ("train", train)):
            if not callable(fn):
                raise ValueError(f"{name} must be a function, e.g. the notebook's {name}_forecaster, not {fn!r:.40}")
        self.build, self.train_fn = build, train
        self._models: dict = {}  # (window, n_features, units, horizon) -> (model, the optimizer's untrained values)

    def _model(self, shape):
        if shape not in self._models:
            model = self.build(*shape)
            model.optimizer.build(model.trainable_variables)
            self._models[shape] = model, [variable.numpy() for variable in model.optimizer.variables]
        return self._models[shape]

    def train(self, seeds, inputs, targets, window: int, train_days, val_days, *, epochs, patience: int = 5,
              units: int = 32, batch_size: int = 128) -> TrainedStarts:
        """Train one start per seed on the windows whose targets are ``train_days``, stopping early on ``val_days``.

        ``inputs`` (time,) or (time, features), ``targets`` (time,) or (time, horizon): as for ``window_arrays``.
        ``epochs``: the limit for every start, or a list with one limit per start (to give a second experiment the
        budget each start of a first one used). Each start's training windows are reshuffled every epoch in an order
        its own seed fixes.
        """
        import tensorflow as tf

        if isinstance(seeds, str) or not hasattr(seeds, "__iter__") or not list(seeds):
            raise ValueError(f"seeds must be a list with one seed per start, such as course.seeds(3), not "
                             f"{seeds!r:.40}")
        seeds = [whole(seed, "each seed", minimum=0) for seed in seeds]
        limits = list(epochs) if hasattr(epochs, "__iter__") else [epochs] * len(seeds)
        if len(limits) != len(seeds):
            raise ValueError(f"give one epoch limit per start: {len(limits)} limits for {len(seeds)} seeds")
        limits = [whole(limit, "epochs") for limit in limits]
        patience, batch_size = whole(patience, "patience"), whole(batch_size, "batch_size")
        X_train, y_train = windows_at(inputs, targets, window, train_days)
        X_val, y_val = windows_at(inputs, targets, window, val_days)
        val_ds = tf.data.Dataset.from_tensor_slices((X_val, y_val)).batch(batch_size).cache()
        shape = (int(window), X_train.shape[2], whole(units, "units"), y_train.shape[1])
        model, untrained_optimizer = self._model(shape)
        trained, histories = [], []
        for seed, limit in zip(seeds, limits, strict=True):
            keras.utils.set_random_seed(seed)
            model.set_weights(self.build(*shape).get_weights())  # fresh weights, drawn under this start's seed
            for variable, value in zip(model.optimizer.variables, untrained_optimizer, strict=True):
                variable.assign(value)  # step count 0, running averages 0: as a new optimizer
            train_ds = (tf.data.Dataset.from_tensor_slices((X_train, y_train)).cache()
                        .shuffle(len(X_train), seed=seed, reshuffle_each_iteration=True).batch(batch_size))
            histories.append(self.train_fn(model, train_ds, val_ds, limit, patience))
            trained.append(model.get_weights())
        return TrainedStarts(model, seeds, trained, histories)


# --- the whole pipeline, for a second series ------------------------------------------------------------------------


@dataclass
class Experiment:
    """What ``one_step_experiment`` returns: the table and everything needed to plot or reuse its parts."""

    table: pd.DataFrame  # one row per baseline and per start of the LSTM, in the series' units
    runs: TrainedStarts  # the LSTM's starts
    scaler: Scaler
    test_index: pd.Index
    actual: np.ndarray  # the test values, (n,)
    forecasts: dict  # name -> (n,) for each baseline; "LSTM" -> (starts, n)
    splits: tuple[int, int]


def one_step_experiment(series: pd.Series, window: int, starts: Starts, seeds, *, epochs: int, units: int = 32,
                        ma_k: int = 3, season: int | None = None, scaler_kind: str = "standard", patience: int = 8,
                        batch_size: int = 32, unit: str = "") -> Experiment:
    """The notebook's pipeline in one call, for a series whose level an LSTM can model directly.

    Chronological 70/15/15 split, scaler fitted on train, the LSTM trained from each of ``seeds`` by ``starts``
    (the notebook's own builder and training function, Exercise 2) with early stopping on the validation part, and
    the baselines (persistence, moving average of ``ma_k``, seasonal naive if ``season``, linear on the same window) on
    the same test steps, scored once, in the series' units.
    """
    has(starts, "train", "starts", "an fc.Starts(build_forecaster, train_forecaster)")
    has(series, "to_numpy", "series", "a pandas Series, e.g. data.load_elnino()")
    values = finite_array(series.to_numpy(dtype=float), "series", ndim=1)
    window = whole(window, "window")
    n = len(values)
    train_end, val_end = split_points(n)
    if not window < train_end:
        raise ValueError(f"window={window} leaves no training windows in {train_end} training steps: use a shorter "
                         "window")
    scaler = fit_scaler(values[:train_end], scaler_kind)
    scaled = scaler.transform(values)
    runs = starts.train(seeds, scaled, scaled, window, np.arange(window, train_end), np.arange(train_end, val_end),
                        epochs=epochs, patience=patience, units=units, batch_size=batch_size)
    X_train, y_train = window_arrays(values, values, window, window, train_end)
    X_test, y_test = window_arrays(values, values, window, val_end, n)
    actual = y_test[:, 0].astype(float)
    forecasts = {"persistence": persistence(X_test), f"moving average ({ma_k})": moving_average(X_test, ma_k)}
    if season:
        forecasts[f"seasonal naive ({season})"] = seasonal_naive(X_test, season)
    forecasts["linear, same window"] = LinearWindowModel().fit(X_train, y_train).predict(X_test)
    forecasts["LSTM"] = scaler.inverse_transform(runs.predict(scaler.transform(X_test)))
    rows = {name: f for name, f in forecasts.items() if name != "LSTM"}
    rows.update({f"LSTM({units}), start {i + 1}": f for i, f in enumerate(forecasts["LSTM"])})
    table = comparison_table(actual, rows, unit=unit)
    return Experiment(table, runs, scaler, series.index[val_end:], actual, forecasts, (train_end, val_end))


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
    """Actual values and some forecasts over the test period (optionally only its ``last`` steps).

    Dates are labelled compactly (month and day, the year where it changes), so that they never overlap, and the
    legend sits below the axes, where it covers no data.
    """
    import matplotlib.dates as mdates

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
    if isinstance(index, pd.DatetimeIndex):
        locator = mdates.AutoDateLocator(maxticks=7)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=len(forecasts) + 1, frameon=False)
    return ax
