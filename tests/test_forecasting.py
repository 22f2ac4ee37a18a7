"""Unit tests of notebook 08's code: utils.forecasting, the notebook's own lesson code, and the four exercise checkers
(both ways). The windows themselves (utils.data.window_arrays, make_windows) are tested in test_data.py."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import pytest
from scipy import signal, stats

from tests.answers import as_student
from tests.notebook_code import (
    attributes_used,
    call_arguments,
    code_cells,
    defined_names,
    notebook_function,
    notebook_namespace,
)
from utils import forecasting as fc
from utils.checks import answer_array, exercise
from utils.checks import forecasting as checks
from utils.data import load_elnino, make_windows


def test_window_dataset_shuffles_pairs_together():
    series = np.arange(50.0)
    shuffled = fc.window_dataset(series, series, 5, 30, 40, batch_size=4, shuffle=True, seed=1)
    Xs, ys = fc.dataset_arrays(shuffled)
    assert sorted(ys[:, 0].tolist()) == list(range(30, 40)) and ys[:, 0].tolist() != list(range(30, 40))
    np.testing.assert_array_equal(Xs[:, -1, 0] + 1, ys[:, 0])  # pairs stay together when shuffled


# --- splits, scaling, baselines, metrics ----------------------------------------------------------------------------


def test_split_points_and_bad_fractions():
    assert fc.split_points(100) == (70, 85)
    with pytest.raises(ValueError, match="fractions"):
        fc.split_points(100, train=0.9, val=0.2)


def test_scaler_fitted_on_train_only():
    values = np.array([1.0, 2.0, 3.0, 10.0])
    scaler = fc.fit_scaler(values[:3], "minmax")
    np.testing.assert_allclose(scaler.transform(values), [0, 0.5, 1, 4.5])  # test values can leave [0, 1]
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(values)), values)
    standard = fc.fit_scaler([1.0, np.nan, 3.0], "standard")
    assert standard.offset == 2.0 and standard.scale == 1.0
    with pytest.raises(ValueError, match="not fitted"):
        fc.Scaler().transform(values)
    with pytest.raises(ValueError, match="'minmax' or 'standard'"):
        fc.fit_scaler(values, "robust")


def test_baselines():
    X = np.arange(24.0).reshape(2, 4, 3)  # two windows, 4 steps, 3 features
    assert fc.persistence(X).tolist() == [9.0, 21.0]
    assert fc.moving_average(X, 2).tolist() == [7.5, 19.5]
    assert fc.seasonal_naive(X, 4).tolist() == [0.0, 12.0]
    with pytest.raises(ValueError, match="between 1 and the window length"):
        fc.moving_average(X, 5)


def test_linear_model_recovers_an_autoregression():
    rng = np.random.default_rng(0)
    series = np.zeros(400)
    for t in range(2, 400):
        series[t] = 0.6 * series[t - 1] - 0.3 * series[t - 2] + 1.0 + rng.normal(scale=0.1)
    X, y = make_windows(series, 2)
    model = fc.LinearWindowModel().fit(X, y)
    np.testing.assert_allclose(model.coef_[:, 0], [-0.3, 0.6, 1.0], atol=0.05)
    with pytest.raises(ValueError, match="fit"):
        fc.LinearWindowModel().predict(X)


def test_metrics_known_values():
    y_true, y_pred = np.array([100.0, 200.0]), np.array([110.0, 180.0])
    assert fc.mae(y_true, y_pred) == 15.0
    assert fc.rmse(y_true, y_pred) == pytest.approx(np.sqrt(250.0))
    assert fc.mape(y_true, y_pred) == pytest.approx(10.0)
    with pytest.raises(ValueError, match="MAE or RMSE"):
        fc.mape([0.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="same test steps"):
        fc.mae([1.0, 2.0], [1.0])


def test_directional_accuracy():
    last = np.array([10.0, 10.0, 10.0, 10.0])
    actual = np.array([11.0, 9.0, 12.0, 10.0])  # up, down, up, unchanged (left out)
    assert fc.directional_accuracy(last, actual, [10.5, 9.5, 9.0, 11.0]) == pytest.approx(200 / 3)
    assert np.isnan(fc.directional_accuracy(last, actual, last))  # persistence names no direction


def test_comparison_table_sorted_with_units():
    table = fc.comparison_table(np.array([1.0, 2.0]), {"bad": [3.0, 3.0], "good": [1.0, 2.5]}, unit="$")
    assert list(table.index) == ["good", "bad"] and "MAE ($)" in table.columns


def test_recursive_forecast_of_the_notebook_feeds_predictions_back():
    recursive_forecast = notebook_function("08", "recursive_forecast", np=np)
    X = np.arange(6.0).reshape(2, 3, 1)
    out = recursive_forecast(lambda w: w[:, -1, 0] + 1.0, X, 3)  # "next = last + 1"
    np.testing.assert_array_equal(out, [[3, 4, 5], [6, 7, 8]])
    seen = []
    recursive_forecast(lambda w: seen.append(w[:, :, 0].tolist()) or w[:, -1, 0] * 10, X[:1], 2)
    assert seen == [[[0, 1, 2]], [[1, 2, 20]]]  # the oldest value dropped, the forecast appended


def _notebook(name):
    """A function of notebook 08's section 6 (the paired test and the comparison with persistence), from its source."""
    if name == "diebold_mariano":  # just the function, as the student reads it
        return notebook_function("08", name, np=np, stats=stats)
    return notebook_namespace("08", name)[name]


def test_diebold_mariano_without_lags_is_scipys_paired_t_test():
    diebold_mariano = _notebook("diebold_mariano")
    rng = np.random.default_rng(1)
    actual = rng.normal(size=200)
    forecast, reference = actual + rng.normal(0, 1.0, 200), actual + rng.normal(0.1, 1.2, 200)
    expected = stats.ttest_rel(np.abs(forecast - actual), np.abs(reference - actual))
    np.testing.assert_allclose(diebold_mariano(actual, forecast, reference, np.abs, lags=0),
                               (expected.statistic, expected.pvalue))


def _null_rejection_rate(diebold_mariano, phi, reps=600, n=300, seed=0, **lags):
    """Share of p < 0.05 when the loss differential is AR(1) noise with mean 0: equal forecasts, by construction."""
    rng = np.random.default_rng(seed)
    d = signal.lfilter([1.0], [1.0, -phi], rng.standard_normal((reps, n)), axis=1)
    zeros = np.zeros(n)
    return np.mean([diebold_mariano(zeros, row, zeros, lambda e: e, **lags)[1] < 0.05 for row in d])


def test_diebold_mariano_keeps_its_size_when_errors_are_autocorrelated():
    """With independent days both versions reject a true null about 5 % of the time; when the loss differential is
    autocorrelated (errors that cluster in time) the plain paired t-test rejects far too often, the HAC default
    (n ** (1/3) lags) close to 5 %. The function as first written (no lags) failed this."""
    diebold_mariano = _notebook("diebold_mariano")
    assert _null_rejection_rate(diebold_mariano, 0.5) < 0.12  # the default: HAC variance
    assert 0.03 < _null_rejection_rate(diebold_mariano, 0.0) < 0.08
    assert _null_rejection_rate(diebold_mariano, 0.5, lags=0) > 0.2  # a plain paired t-test
    assert 0.03 < _null_rejection_rate(diebold_mariano, 0.0, lags=0) < 0.08


def test_diebold_mariano_finds_a_real_difference_and_rejects_bad_input():
    diebold_mariano = _notebook("diebold_mariano")
    rng = np.random.default_rng(2)
    actual = rng.normal(size=300)
    statistic, p = diebold_mariano(actual, actual + rng.normal(0, 0.5, 300), actual + rng.normal(0, 1, 300), np.square)
    assert statistic < 0 and p < 1e-6  # the first forecast's loss is lower, and clearly so
    with pytest.raises(ValueError, match="same test days"):
        diebold_mariano(actual, actual[:-1], actual, np.abs)
    with pytest.raises(ValueError, match="lags"):
        diebold_mariano(actual, actual + 1, actual, np.abs, lags=-1)
    with pytest.raises(ValueError, match="no difference"):
        diebold_mariano(actual, actual + 1, actual + 1, np.abs)


def test_against_persistence_calls_a_win_only_when_both_losses_say_so():
    against_persistence = _notebook("against_persistence")
    rng = np.random.default_rng(3)
    actual = 50 + rng.normal(size=300).cumsum()
    today = actual + rng.normal(0, 1, 300)
    better, worse = actual + rng.normal(0, 0.5, 300), actual + rng.normal(0, 2, 300)
    row = against_persistence(actual, better, today)
    assert row["verdict"] == "win" and row["MAE ratio"] < 1 and row["test days"] == 300
    assert row["persistence MAE ($)"] == pytest.approx(fc.mae(actual, today))
    assert against_persistence(actual, worse, today)["verdict"] == "loss"
    assert against_persistence(actual, today + rng.normal(0, 0.01, 300), today)["verdict"] == "no clear difference"


def test_shuffled_split_partitions():
    a, b, c = fc.shuffled_split(100, seed=3)
    assert len(a) == 70 and len(b) == 15 and len(c) == 15
    assert sorted(np.concatenate([a, b, c]).tolist()) == list(range(100))


def test_build_forecaster_shapes_and_a_name_of_its_own():
    model = fc.build_forecaster(10, 2, units=4, horizon=3)
    assert model.input_shape == (None, 10, 2) and model.output_shape == (None, 3)


def test_one_step_experiment_builds_and_trains_with_the_functions_it_is_given():
    """Notebook 08 passes its own build_forecaster / train_forecaster (Exercise 2): the pipeline must use them."""
    calls = []

    def build(window, n_features, units):
        calls.append(("build", window, n_features, units))
        return fc.build_forecaster(window, n_features, units)

    def train(model, train_ds, val_ds, epochs, patience):
        calls.append(("train", epochs, patience))
        return fc.train_forecaster(model, train_ds, val_ds, epochs, patience)

    series = pd.Series(np.sin(np.arange(120) / 3.0) + 5.0)
    run = fc.one_step_experiment(series, 6, build, train, epochs=1, units=3, patience=2)
    assert calls == [("build", 6, 1, 3), ("train", 1, 2)]
    assert "LSTM(3)" in run.table.index and run.model.count_params() == 4 * 3 * (1 + 3 + 1) + 3 + 1
    with pytest.raises(ValueError, match="build_forecaster"):
        fc.one_step_experiment(series, 6, None, train, epochs=1)


def test_one_step_experiment_learns_nothing_from_the_test_period():
    """The leak notebook 08 warns about: a scaler fitted on the whole series hands the training data the test
    period's level. Two series that differ only in their test period must give the model the same training and
    validation windows, and the same scaler."""
    seen = []

    def build(window, n_features, units):
        return fc.build_forecaster(window, n_features, units)

    def record(model, train_ds, val_ds, epochs, patience):  # what the model would learn from; no training needed
        seen.append([np.concatenate([np.asarray(x).ravel() for x, _ in ds]) for ds in (train_ds, val_ds)])

    calm = pd.Series(np.sin(np.arange(200) / 4.0) + 10.0)
    crash = calm.copy()
    crash.iloc[170:] = 1000.0  # only the test part (the last 15 %, from step 170) differs
    runs = [fc.one_step_experiment(series, 6, build, record, epochs=1, units=2) for series in (calm, crash)]
    assert runs[0].splits == runs[1].splits == (140, 170)
    for before, after in zip(*seen, strict=True):
        np.testing.assert_array_equal(before, after)
    assert (runs[0].scaler.offset, runs[0].scaler.scale) == (runs[1].scaler.offset, runs[1].scaler.scale)
    assert abs(np.mean(runs[0].scaler.transform(calm.to_numpy()[:140]))) < 1e-9  # fitted on the training part


def test_every_lstm_of_08_is_built_and_trained_by_its_visible_exercise_functions():
    """The lesson's model is in sight: utils' builder and trainer appear only as the exercise's fallback."""
    used = [name for name in attributes_used("08", "fc") if name.startswith(("build_", "train"))]
    assert used == []  # the fallback is named by the checker
    assert ["build_forecaster", "passed", "check_forecaster"] in call_arguments("08", "use_reference_if_needed")
    assert [args[2:4] for args in call_arguments("08", "fc.one_step_experiment")] == [
        ["build_forecaster", "train_forecaster"]]
    assert ["SST_WINDOW", "1", "horizon=H"] in call_arguments("08", "build_forecaster")
    assert "recursive_forecast" in set().union(*map(defined_names, code_cells("08")))


def test_load_elnino():
    series = load_elnino()
    assert len(series) == 732 and series.isna().sum() == 0
    assert series.index[0] == pd.Timestamp("1950-01-01") and series.index[-1] == pd.Timestamp("2010-12-01")
    assert 15 < series.min() < series.max() < 30


# --- checkers: the reference passes, typical mistakes fail with their hint ------------------------------------------


def _windows_mistake(kind):
    def fn(series, window, horizon=1):
        values = np.asarray(series, dtype=float)
        values = values[:, None] if values.ndim == 1 else values
        n = len(values) - window - horizon + 1
        x_shift = 1 if kind == "includes target" else 0
        y_shift = -1 if kind == "off by one" else 0
        if kind == "too few":
            n -= 1
        X = np.stack([values[i + x_shift:i + x_shift + window] for i in range(n)])
        y = np.stack([values[i + window + y_shift:i + window + y_shift + horizon, 0] for i in range(n)])
        if kind == "no features axis":
            X = X[..., 0]
        if kind == "horizon ignored":
            y = y[:, :1]
        if kind == "flat y":
            y = y[:, 0]
        return X, y

    return fn


def test_check_make_windows_keeps_no_copy_of_the_right_windows():
    """The checker's mistaken windows are mistakes on every case: the right ones come from utils.data only."""
    for series, window, horizon in checks._WINDOW_CASES:
        right_X, right_y = make_windows(series, window, horizon)
        X_mistakes, y_mistakes = checks._mistaken_windows(series, window, horizon)
        assert all(wrong.shape == right_X.shape and not np.allclose(wrong, right_X, equal_nan=True)
                   for wrong in X_mistakes.values())
        assert all(wrong.shape == right_y.shape and not np.allclose(wrong, right_y, equal_nan=True)
                   for wrong in y_mistakes.values())


def test_answer_array_reports_a_crash_and_an_answer_that_is_not_numbers(capsys):
    @exercise("a test exercise")
    def check(fn, report):
        assert answer_array(fn, (3,), report, "case", what="return numbers") is None

    assert not check(lambda x: 1 / 0) and "your function raised ZeroDivisionError" in capsys.readouterr().out
    assert not check(lambda x: "three") and "case: return numbers" in capsys.readouterr().out


def test_check_make_windows_accepts_reference(capsys):
    assert checks.check_make_windows(as_student(make_windows))
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("kind", "hint"),
    [
        ("off by one", "off-by-one target"),
        ("includes target", "window includes the target"),
        ("too few", "one window too few"),
        ("no features axis", "add a features axis"),
        ("horizon ignored", "next `horizon`"),
        ("flat y", "keep a horizon axis"),
    ],
)
def test_check_make_windows_rejects_mistakes(kind, hint, capsys):
    assert not checks.check_make_windows(_windows_mistake(kind))
    assert hint in capsys.readouterr().out


def test_check_make_windows_not_done_and_crash(capsys):
    def stub(series, window, horizon=1):
        raise NotImplementedError

    assert not checks.check_make_windows(stub)
    assert "not done yet" in capsys.readouterr().out
    assert not checks.check_make_windows(lambda s, w, h=1: 1 / 0)
    assert "ZeroDivisionError" in capsys.readouterr().out


def test_check_make_windows_ragged_slices_get_a_finding_not_a_crash(capsys):
    def ragged(series, window, horizon=1):
        X = [series[i:i + window] for i in range(len(series) - window)]
        y = [series[i + window:i + window + horizon] for i in range(len(series) - window)]
        return X, y

    assert checks.check_make_windows(ragged) is False
    out = capsys.readouterr().out
    assert "X and y must be arrays of numbers, every window of the same length" in out, out
    assert "check itself" not in out


def test_check_make_windows_rejects_lists_the_later_cells_cannot_use(capsys):
    def as_lists(series, window, horizon=1):
        X, y = make_windows(series, window, horizon)
        return list(X), list(y)

    assert checks.check_make_windows(as_lists) is False
    assert "right values, but X and y must be NumPy arrays" in capsys.readouterr().out


def _build(units=4, return_sequences=False, activation=None, compiled=True, lstm=True, input_window=None,
           use_horizon=True):
    def build(window, n_features, horizon=1):
        layers = [keras.Input(shape=(input_window or window, n_features))]
        layers.append(keras.layers.LSTM(units, return_sequences=return_sequences) if lstm
                      else keras.layers.Flatten())
        layers.append(keras.layers.Dense(horizon if use_horizon else 1, activation=activation))
        model = keras.Sequential(layers)
        if compiled:
            model.compile(optimizer="adam", loss="mse")
        return model

    return build


def _train(early_stopping=True, validation=True, use_epochs=True):
    def train(model, train_ds, val_ds, epochs):
        callbacks = [keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)]
        return model.fit(train_ds, validation_data=val_ds if validation else None,
                         epochs=epochs if use_epochs else 3, callbacks=callbacks if early_stopping else [],
                         shuffle=False, verbose=0)

    return train


def test_check_forecaster_accepts_reference(capsys):
    assert checks.check_forecaster(as_student(fc.build_forecaster), as_student(fc.train_forecaster))
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("build", "train", "hint"),
    [
        (_build(return_sequences=True), _train(), "return_sequences=True"),
        (_build(activation="sigmoid"), _train(), "leave the last Dense linear"),
        (_build(compiled=False), _train(), "model.compile"),
        (_build(lstm=False), _train(), "add keras.layers.LSTM"),
        (_build(input_window=5), _train(), "keras.Input(shape=(window, n_features))"),
        (_build(use_horizon=False), _train(), "Dense(horizon)"),
        (lambda window, n_features: _build()(window, n_features), _train(), "a parameter horizon=1"),
        (_build(), _train(early_stopping=False), "EarlyStopping"),
        (_build(), _train(validation=False), "validation_data=val_ds"),
        (_build(), _train(use_epochs=False), "epochs=epochs"),
    ],
)
def test_check_forecaster_rejects_mistakes(build, train, hint, capsys):
    assert not checks.check_forecaster(build, train)
    assert hint in capsys.readouterr().out


def test_check_forecaster_wrong_return(capsys):
    assert not checks.check_forecaster(lambda w, f: None, fc.train_forecaster)
    assert "return a Keras model" in capsys.readouterr().out.replace("should return", "return")


@pytest.mark.parametrize("layer", [lambda: keras.layers.RNN(keras.layers.LSTMCell(4)),
                                   lambda: keras.layers.Bidirectional(keras.layers.LSTM(4))])
def test_check_forecaster_accepts_other_ways_to_write_an_lstm(layer, capsys):
    def build(window, n_features, horizon=1):
        model = keras.Sequential([keras.Input(shape=(window, n_features)), layer(), keras.layers.Dense(horizon)])
        model.compile(optimizer="adam", loss="mse")
        return model

    assert checks.check_forecaster(build, as_student(fc.train_forecaster)) is True
    out = capsys.readouterr().out
    assert "correct" in out and "no LSTM layer" not in out, out


def _ma_mistake(kind):
    def fn(X, k):
        X = np.asarray(X, dtype=float)
        if kind == "whole window":
            return X[:, :, 0].mean(1)
        if kind == "first k":
            return X[:, :k, 0].mean(1)
        if kind == "skips today":
            return X[:, -k - 1:-1, 0].mean(1)
        if kind == "all features":
            return X[:, -k:, :].mean(axis=(1, 2))
        if kind == "column shape":
            return X[:, -k:, 0].mean(1, keepdims=True)
        raise AssertionError(kind)

    return fn


def test_check_moving_average_accepts_reference(capsys):
    assert checks.check_moving_average(as_student(fc.moving_average))
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("kind", "hint"),
    [
        ("whole window", "mean of the whole window"),
        ("first k", "first (oldest) k values"),
        ("skips today", "today's value is left out"),
        ("all features", "only the target column"),
        ("column shape", "shape (n,)"),
    ],
)
def test_check_moving_average_rejects_mistakes(kind, hint, capsys):
    assert not checks.check_moving_average(_ma_mistake(kind))
    assert hint in capsys.readouterr().out


def _metrics_mistake(kind):
    def fn(y_true, y_pred):
        err = y_pred - y_true
        out = {"MAE": np.mean(np.abs(err)), "RMSE": np.sqrt(np.mean(err ** 2)),
               "MAPE %": 100 * np.mean(np.abs(err / y_true))}
        if kind == "signed MAE":
            out["MAE"] = np.mean(err)
        if kind == "MSE":
            out["RMSE"] = np.mean(err ** 2)
        if kind == "MAPE by prediction":
            out["MAPE %"] = 100 * np.mean(np.abs(err / y_pred))
        if kind == "MAPE fraction":
            out["MAPE %"] = np.mean(np.abs(err / y_true))
        if kind == "missing key":
            del out["MAPE %"]
        return out

    return fn


def test_check_evaluate_forecast_accepts_reference(capsys):
    assert checks.check_evaluate_forecast(as_student(fc.forecast_metrics))
    assert "correct" in capsys.readouterr().out


def test_check_evaluate_forecast_accepts_a_pandas_series(capsys):
    metrics = as_student(fc.forecast_metrics)
    assert checks.check_evaluate_forecast(lambda y_true, y_pred: pd.Series(metrics(y_true, y_pred)))
    assert "correct" in capsys.readouterr().out


def test_check_moving_average_string_answer_gets_a_finding(capsys):
    assert checks.check_moving_average(lambda X, k: "the mean") is False
    out = capsys.readouterr().out
    assert "return an array of forecasts" in out and "check itself" not in out, out


@pytest.mark.parametrize(
    ("kind", "hint"),
    [
        ("signed MAE", "without the absolute value"),
        ("MSE", "that is the MSE"),
        ("MAPE by prediction", "divides by the actual values"),
        ("MAPE fraction", "multiply by 100"),
        ("missing key", "return a dict with the keys"),
    ],
)
def test_check_evaluate_forecast_rejects_mistakes(kind, hint, capsys):
    assert not checks.check_evaluate_forecast(_metrics_mistake(kind))
    assert hint in capsys.readouterr().out
