"""Unit tests of notebook 08's code: utils.forecasting, the notebook's own lesson code, and the four exercise checkers
(both ways). The windows themselves (utils.data.window_arrays, make_windows) are tested in test_data.py."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import pytest
from scipy import signal, stats

import utils.checks as checks_framework
from tests.answers import as_student
from tests.notebook_code import (
    assignments,
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


def test_windows_at_cuts_the_window_before_each_target_day_in_any_order():
    series = np.arange(50.0)
    X, y = fc.windows_at(series, series, 5, np.array([40, 31, 45]))
    assert y[:, 0].tolist() == [40, 31, 45]
    np.testing.assert_array_equal(X[:, -1, 0] + 1, y[:, 0])  # each window ends the day before its target
    assert X[1, :, 0].tolist() == [26, 27, 28, 29, 30]
    with pytest.raises(ValueError, match="whole step numbers"):
        fc.windows_at(series, series, 5, [30.5])


def _tiny_starts():
    """fc.Starts on a tiny LSTM, counting how often the builder is called."""
    built = []

    def build(window, n_features, units, horizon):
        built.append((window, n_features, units, horizon))
        return fc.build_forecaster(window, n_features, units, horizon)

    return fc.Starts(build, fc.train_forecaster), built


def test_starts_learn_as_new_models_would_whatever_ran_before_them():
    """A start's result depends on its own seed only: fresh weights from the builder and a reset optimizer, on one
    compiled model per input shape (the builder is called once more per start, to draw the fresh weights)."""
    series = np.sin(np.arange(120) / 3.0)
    days = (np.arange(8, 90), np.arange(90, 120))
    starts, built = _tiny_starts()
    alone = starts.train([7], series, series, 8, *days, epochs=3, units=3, batch_size=16)
    after_another = starts.train([11, 7], series, series, 8, *days, epochs=[2, 3], units=3, batch_size=16)
    for mine, again in zip(alone.weights[0], after_another.weights[1], strict=True):
        np.testing.assert_allclose(mine, again, rtol=1e-5, atol=1e-6)
    assert not np.allclose(after_another.weights[0][0], after_another.weights[1][0])  # another seed, another start
    assert after_another.epochs == [2, 3] and len(built) == 1 + 1 + 2  # one model kept, one fresh draw per start
    X, _ = fc.windows_at(series, series, 8, days[1])
    assert after_another.predict(X).shape == (2, 30) and after_another.predict(X, start=1).shape == (30,)
    np.testing.assert_allclose(after_another.predict(X, start=1), alone.predict(X)[0], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="one seed per start"):
        starts.train(7, series, series, 8, *days, epochs=3)
    with pytest.raises(ValueError, match="one epoch limit per start"):
        starts.train([1, 2], series, series, 8, *days, epochs=[3])


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
    """A function of notebook 08's section 7 (the paired test and the comparison with persistence), from its source."""
    if name == "diebold_mariano":  # just the function, as the student writes it (Exercise 5's solution)
        return notebook_function("08", name, np=np, stats=stats)
    return notebook_namespace("08", name, "diebold_mariano", "evaluate_forecast")[name]


DM_IMPLEMENTATIONS = pytest.mark.parametrize("implementation", ["reference", "notebook"])


def _dm(implementation):
    """Exercise 5's reference (utils.forecasting) or the solution the notebook shows."""
    return fc.diebold_mariano if implementation == "reference" else _notebook("diebold_mariano")


@DM_IMPLEMENTATIONS
def test_diebold_mariano_without_lags_is_scipys_paired_t_test(implementation):
    diebold_mariano = _dm(implementation)
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


@DM_IMPLEMENTATIONS
def test_diebold_mariano_keeps_its_size_when_errors_are_autocorrelated(implementation):
    """With independent days both versions reject a true null about 5 % of the time; when the loss differential is
    autocorrelated (errors that cluster in time) the plain paired t-test rejects far too often, the HAC default
    (n ** (1/3) lags) close to 5 %. The function as first written (no lags) failed this."""
    diebold_mariano = _dm(implementation)
    assert _null_rejection_rate(diebold_mariano, 0.5) < 0.12  # the default: HAC variance
    assert 0.03 < _null_rejection_rate(diebold_mariano, 0.0) < 0.08
    assert _null_rejection_rate(diebold_mariano, 0.5, lags=0) > 0.2  # a plain paired t-test
    assert 0.03 < _null_rejection_rate(diebold_mariano, 0.0, lags=0) < 0.08


def test_diebold_mariano_finds_a_real_difference_and_rejects_bad_input():
    diebold_mariano = fc.diebold_mariano
    rng = np.random.default_rng(2)
    actual = rng.normal(size=300)
    statistic, p = diebold_mariano(actual, actual + rng.normal(0, 0.5, 300), actual + rng.normal(0, 1, 300), np.square)
    assert statistic < 0 and p < 1e-6  # the first forecast's loss is lower, and clearly so
    with pytest.raises(ValueError, match="same test steps"):
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
    assert row["verdict"] == "win" and row["MAE ratio"] < 1 and row["days"] == 300
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

    def build(window, n_features, units, horizon):
        calls.append(("build", window, n_features, units, horizon))
        return fc.build_forecaster(window, n_features, units, horizon)

    def train(model, train_ds, val_ds, epochs, patience):
        calls.append(("train", epochs, patience))
        return fc.train_forecaster(model, train_ds, val_ds, epochs, patience)

    series = pd.Series(np.sin(np.arange(120) / 3.0) + 5.0)
    run = fc.one_step_experiment(series, 6, fc.Starts(build, train), [1, 2], epochs=1, units=3, patience=2)
    assert calls.count(("train", 1, 2)) == 2 and ("build", 6, 1, 3, 1) in calls
    assert {"LSTM(3), start 1", "LSTM(3), start 2", "persistence", "linear, same window"} <= set(run.table.index)
    assert run.forecasts["LSTM"].shape == (2, len(run.actual))
    assert run.runs.model.count_params() == 4 * 3 * (1 + 3 + 1) + 3 + 1
    with pytest.raises(ValueError, match="Starts"):
        fc.one_step_experiment(series, 6, None, [1], epochs=1)


def test_one_step_experiment_learns_nothing_from_the_test_period():
    """The leak notebook 08 warns about: a scaler fitted on the whole series hands the training data the test
    period's level. Two series that differ only in their test period must give the model the same training and
    validation windows, and the same scaler."""
    seen = []

    def record(model, train_ds, val_ds, epochs, patience):  # what the model would learn from; no training needed
        seen.append([np.concatenate([np.asarray(x).ravel() for x, _ in ds]) for ds in (train_ds, val_ds)])

    calm = pd.Series(np.sin(np.arange(200) / 4.0) + 10.0)
    crash = calm.copy()
    crash.iloc[170:] = 1000.0  # only the test part (the last 15 %, from step 170) differs
    runs = [fc.one_step_experiment(series, 6, fc.Starts(fc.build_forecaster, record), [1], epochs=1, units=2)
            for series in (calm, crash)]
    assert runs[0].splits == runs[1].splits == (140, 170)
    for before, after in zip(*seen, strict=True):
        np.testing.assert_array_equal(before, after)
    assert (runs[0].scaler.offset, runs[0].scaler.scale) == (runs[1].scaler.offset, runs[1].scaler.scale)
    assert abs(np.mean(runs[0].scaler.transform(calm.to_numpy()[:140]))) < 1e-9  # fitted on the training part


def test_every_lstm_of_08_is_built_and_trained_by_its_visible_exercise_functions():
    """The lesson's model is in sight: utils' builder and trainer appear only as the exercise's fallback, and every
    training run goes through fc.Starts with the notebook's own functions, from the notebook's seeds."""
    used = [name for name in attributes_used("08", "fc") if name.startswith(("build_", "train"))]
    assert used == []  # the fallback is named by the checker
    assert ["build_forecaster", "passed", "check_forecaster"] in call_arguments("08", "use_reference_if_needed")
    assert call_arguments("08", "fc.Starts") == [["build_forecaster", "train_forecaster"]]
    assert assignments("08")["STARTS"] == ["course.seeds(3)"]
    assert [args[0] for args in call_arguments("08", "lstm.train")] == ["STARTS"] * 6
    assert [args[2:4] for args in call_arguments("08", "fc.one_step_experiment")] == [["lstm", "STARTS"]]
    assert len(call_arguments("08", "model.fit")) == 1  # no training run outside train_forecaster
    assert "recursive_forecast" in set().union(*map(defined_names, code_cells("08")))


def test_08_scores_the_test_days_in_one_place_only():
    """Decisions on validation, the test period scored once: only the final table's cell (and the optional sections
    on another series) touch the test days."""
    cells = [cell for cell in code_cells("08") if "test_days" in cell or "test_actual" in cell]
    scoring = [cell for cell in cells if "windows_at(close, close, WINDOW, test_days)" in cell]
    assert len(scoring) == 1, "the MSFT test windows are cut in one cell, the final table's"
    after = code_cells("08")[code_cells("08").index(scoring[0]):]
    assert all(cell in after for cell in cells if "test_actual" in cell)


def test_load_elnino():
    series = load_elnino()
    assert len(series) == 732 and series.isna().sum() == 0
    assert series.index[0] == pd.Timestamp("1950-01-01") and series.index[-1] == pd.Timestamp("2010-12-01")
    assert 15 < series.min() < series.max() < 30


# --- checkers: right answers in other styles pass, typical mistakes fail with their hint ----------------------------


@pytest.fixture(autouse=True)
def fresh_session():
    """Each test starts as a new kernel would: no earlier failing tries (which would print the worked steps)."""
    checks_framework.reset()
    yield
    checks_framework.reset()


def _first_and_second_try(check, answer, capsys):
    """The output of two failing runs of the same check: the fault first, the worked step only the second time."""
    assert check(answer) is False
    first = capsys.readouterr().out
    assert check(answer) is False
    return first, capsys.readouterr().out


def _lookup_table(reference, cases, key):
    """An answer key of the cases the notebook shows: right on them, 0 on any other case."""
    table = {key(*case): reference(*case) for case in cases}
    return lambda *args: table.get(key(*args), 0.0)


def test_answer_array_reports_a_crash_and_an_answer_that_is_not_numbers(capsys):
    @exercise("a test exercise")
    def check(fn, report):
        assert answer_array(fn, (3,), report, "case", what="return numbers") is None

    assert not check(lambda x: 1 / 0) and "your function raised ZeroDivisionError" in capsys.readouterr().out
    assert not check(lambda x: "three") and "case: return numbers" in capsys.readouterr().out


# Exercise 1 · windows


def _windows_with_sliding_view(series, window, horizon=1):
    values = np.asarray(series, dtype=float).reshape(len(series), -1)
    X = np.lib.stride_tricks.sliding_window_view(values[:len(values) - horizon], window, axis=0)
    y = np.lib.stride_tricks.sliding_window_view(values[window:, 0], horizon)
    return np.moveaxis(X, -1, 1).copy(), y.copy()


def _windows_with_a_loop(series, window, horizon=1):
    values = np.array(series, dtype=float)
    if values.ndim == 1:
        values = values.reshape(-1, 1)
    X, y = [], []
    for start in range(len(values) - window - horizon + 1):
        X.append(values[start:start + window])
        y.append(values[start + window:start + window + horizon, 0])
    return np.array(X), np.array(y)


@pytest.mark.parametrize("answer", [notebook_function("08", "make_windows", np=np), _windows_with_sliding_view,
                                    _windows_with_a_loop], ids=["notebook", "sliding view", "loop"])
def test_check_make_windows_accepts_right_answers_in_other_styles(answer, capsys):
    assert checks.check_make_windows(answer)
    assert "correct" in capsys.readouterr().out


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
    for series, window, horizon in checks._WINDOW_CASES + checks._fresh_window_cases(np.random.default_rng(0)):
        right_X, right_y = make_windows(series, window, horizon)
        X_mistakes, y_mistakes = checks._mistaken_windows(series, window, horizon)
        assert all(wrong.shape == right_X.shape and not np.allclose(wrong, right_X, equal_nan=True)
                   for wrong in X_mistakes.values())
        assert all(wrong.shape == right_y.shape and not np.allclose(wrong, right_y, equal_nan=True)
                   for wrong in y_mistakes.values())


@pytest.mark.parametrize(
    ("kind", "hint"),
    [
        ("off by one", "off-by-one target"),
        ("includes target", "window includes the value it should forecast"),
        ("too few", "one window too few"),
        ("no features axis", "add a features axis"),
        ("horizon ignored", "next `horizon`"),
        ("flat y", "keep a horizon axis"),
    ],
)
def test_check_make_windows_names_the_mistake_and_shows_the_slices_only_on_the_second_try(kind, hint, capsys):
    first, second = _first_and_second_try(checks.check_make_windows, _windows_mistake(kind), capsys)
    assert hint in first
    assert "series[i" not in first and "→ a worked step" not in first, first  # no code on the first try
    assert "a worked step: X[i] = series[i : i + window]" in second


def test_check_make_windows_refuses_the_course_and_keras_windowing():
    from utils import data

    def with_keras(series, window, horizon=1):
        values = np.asarray(series, dtype=float).reshape(len(series), -1)
        ds = keras.utils.timeseries_dataset_from_array(values[:len(values) - horizon], None, window, batch_size=999)
        return np.concatenate(list(ds)), make_windows(series, window, horizon)[1]

    for cheat in (lambda s, w, h=1: make_windows(s, w, h), with_keras,
                  lambda s, w, h=1: data.window_arrays(s, data.horizon_targets(np.asarray(s).reshape(len(s), -1)[:, 0],
                                                                                 h), w, w, len(s) - h + 1)):
        assert checks.check_make_windows(cheat) is False


def test_check_make_windows_refuses_an_answer_key_of_the_visible_cases(capsys):
    answer_key = {(np.asarray(s).tobytes(), w, h): make_windows(s, w, h) for s, w, h in checks._WINDOW_CASES}

    def lookup(series, window, horizon=1):
        return answer_key.get((np.asarray(series).tobytes(), window, horizon), (np.zeros((1, window, 1)),
                                                                                np.zeros((1, horizon))))

    assert checks.check_make_windows(lookup) is False
    assert "wrong shape of X" in capsys.readouterr().out


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
        X, y = _windows_with_a_loop(series, window, horizon)
        return list(X), list(y)

    assert checks.check_make_windows(as_lists) is False
    assert "right values, but X and y must be NumPy arrays" in capsys.readouterr().out


# Exercise 2 · build and train the forecaster: judged by what the model and the training do


def _build(units=None, return_sequences=False, activation=None, compiled=True, lstm=True, input_window=None,
           use_horizon=True, optimizer=None, loss="mse", layer=None, extra=False):
    def build(window, n_features, units_=32, horizon=1):
        layers = [keras.Input(shape=(input_window or window, n_features))]
        size = units or units_
        if layer is not None:
            layers.append(layer(size))
        elif lstm:
            layers.append(keras.layers.LSTM(size, return_sequences=return_sequences))
        else:
            layers.append(keras.layers.Flatten())
        if extra:
            layers.append(keras.layers.Dense(8, activation="relu"))
        layers.append(keras.layers.Dense(horizon if use_horizon else 1, activation=activation))
        model = keras.Sequential(layers)
        if compiled:
            model.compile(optimizer=optimizer or keras.optimizers.Adam(learning_rate=0.003), loss=loss)
        return model

    return build


def _train(monitor="val_loss", restore=True, early_stopping=True, validation=True, use_epochs=True,
           use_patience=True):
    def train(model, train_ds, val_ds, epochs, patience=5):
        stop = keras.callbacks.EarlyStopping(monitor=monitor, patience=patience if use_patience else 5,
                                             restore_best_weights=restore)
        return model.fit(train_ds, validation_data=val_ds if validation else None,
                         epochs=epochs if use_epochs else 40, callbacks=[stop] if early_stopping else [],
                         shuffle=False, verbose=0)

    return train


class _FakeHistory:
    """What a student who never calls fit might return: a History look-alike with invented numbers."""

    def __init__(self, epochs):
        self.history = {"loss": [1.0, 0.9, 0.8], "val_loss": [1.0, 0.9, 0.8]}
        self.params, self.epoch = {"epochs": epochs}, [0, 1, 2]


def test_check_forecaster_accepts_the_reference_written_by_a_student(capsys):
    assert checks.check_forecaster(as_student(fc.build_forecaster), as_student(fc.train_forecaster))
    assert "correct" in capsys.readouterr().out


def test_check_forecaster_accepts_an_rnn_of_an_lstm_cell_and_the_functional_api(capsys):
    def functional(window, n_features, units=32, horizon=1):
        inputs = keras.Input(shape=(window, n_features))
        outputs = keras.layers.Dense(horizon)(keras.layers.RNN(keras.layers.LSTMCell(units))(inputs))
        model = keras.Model(inputs, outputs)
        model.compile(optimizer=keras.optimizers.Adam(0.003), loss=keras.losses.MeanSquaredError())
        return model

    train = _train()
    assert checks.check_forecaster(_build(layer=lambda u: keras.layers.RNN(keras.layers.LSTMCell(u))), train)
    assert checks.check_forecaster(functional, train)
    assert capsys.readouterr().out.count("correct") == 2


@pytest.mark.parametrize(
    ("build", "hint"),
    [
        (_build(optimizer=keras.optimizers.SGD(0.003), loss="mae"), "mean absolute error (MAE)"),
        (_build(optimizer=keras.optimizers.SGD(0.003)), "plain gradient descent"),
        (_build(optimizer="adam"), "0.001 is Adam's default"),
        (_build(units=32), "32 units whatever `units` says"),
        (_build(layer=lambda u: keras.layers.Bidirectional(keras.layers.LSTM(u))), "holds 2 LSTMs"),
        (_build(extra=True), "layers or weights beyond"),
        (_build(return_sequences=True), "whole sequence"),
        (_build(activation="sigmoid"), "leave the output layer linear"),
        (_build(compiled=False), "not compiled"),
        (_build(lstm=False), "no LSTM layer"),
        (_build(input_window=5), "windows of shape (window, n_features)"),
        (_build(use_horizon=False), "`horizon` of them"),
        (lambda window, n_features: _build()(window, n_features), "the parameters of the exercise"),
    ],
)
def test_check_forecaster_names_what_the_model_does_wrong(build, hint, capsys):
    assert not checks.check_forecaster(build, _train())
    assert hint in capsys.readouterr().out


@pytest.mark.parametrize(
    ("train", "hint"),
    [
        (_train(monitor="loss", restore=False), "watch the validation loss"),
        (_train(early_stopping=False), "training ran all epochs, though the validation loss was lowest"),
        (_train(restore=False), "restore_best_weights=True"),
        (_train(use_patience=False), "not `patience`"),
        (_train(validation=False), "no validation loss was recorded"),
        (_train(use_epochs=False), "did not use the `epochs` argument"),
        (lambda model, train_ds, val_ds, epochs, patience=5: _FakeHistory(epochs), "weights did not change"),
        (lambda model, train_ds, val_ds, epochs, patience=5: model.fit(train_ds, epochs=1, verbose=0) and None,
         "return the History"),
    ],
)
def test_check_forecaster_names_what_the_training_does_wrong(train, hint, capsys):
    assert not checks.check_forecaster(as_student(fc.build_forecaster), train)
    assert hint in capsys.readouterr().out


def test_check_forecaster_refuses_the_reference(capsys):
    assert not checks.check_forecaster(lambda *a, **k: fc.build_forecaster(*a, **k), as_student(fc.train_forecaster))
    assert "calls utils.forecasting.build_forecaster" in capsys.readouterr().out
    assert not checks.check_forecaster(as_student(fc.build_forecaster), lambda *a: fc.train_forecaster(*a))
    assert "calls utils.forecasting.train_forecaster" in capsys.readouterr().out


def test_check_forecaster_wrong_return(capsys):
    assert not checks.check_forecaster(lambda w, f, u=32, h=1: None, as_student(fc.train_forecaster))
    assert "your function returned nothing" in capsys.readouterr().out


def test_forecaster_harnesses_return_plain_data_only():
    """The grader runs the harnesses in the submission's process: only numbers, strings and lists may come back."""
    def plain(value):
        if isinstance(value, dict):
            return all(isinstance(k, str) and plain(v) for k, v in value.items())
        if isinstance(value, list | tuple):
            return all(plain(v) for v in value)
        return value is None or isinstance(value, bool | int | float | str)

    assert plain(checks.build_harness(as_student(fc.build_forecaster), [((6, 2, 3, 2), {})]))
    assert plain(checks.training_harness(as_student(fc.train_forecaster), 10, 2))


# Exercise 3 · the moving average


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


def test_check_moving_average_accepts_right_answers(capsys):
    assert checks.check_moving_average(as_student(fc.moving_average))
    assert checks.check_moving_average(lambda X, k: np.array([np.mean(w[len(w) - k:, 0]) for w in X]))
    assert capsys.readouterr().out.count("correct") == 2


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
def test_check_moving_average_names_the_mistake_before_it_shows_code(kind, hint, capsys):
    first, second = _first_and_second_try(checks.check_moving_average, _ma_mistake(kind), capsys)
    assert hint in first and "X[:, -k:, 0]" not in first, first
    assert "a worked step: forecast = X[:, -k:, 0].mean(axis=1)" in second


def test_check_moving_average_refuses_the_reference_and_an_answer_key(capsys):
    assert checks.check_moving_average(lambda X, k: fc.moving_average(X, k)) is False
    assert "calls utils.forecasting.moving_average" in capsys.readouterr().out
    visible = checks._ma_cases(np.random.default_rng(0))[:3]
    key = _lookup_table(fc.moving_average, visible, lambda X, k: (np.asarray(X).tobytes(), k))
    assert checks.check_moving_average(key) is False


def test_check_moving_average_string_answer_gets_a_finding(capsys):
    assert checks.check_moving_average(lambda X, k: "the mean") is False
    out = capsys.readouterr().out
    assert "return an array of forecasts" in out and "check itself" not in out, out


# Exercise 4 · the metrics


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


NOTEBOOK_METRICS = notebook_function("08", "evaluate_forecast", np=np)


def test_check_evaluate_forecast_accepts_right_answers(capsys):
    assert checks.check_evaluate_forecast(NOTEBOOK_METRICS)
    assert checks.check_evaluate_forecast(lambda y_true, y_pred: pd.Series(NOTEBOOK_METRICS(y_true, y_pred)))
    assert capsys.readouterr().out.count("correct") == 2


@pytest.mark.parametrize(
    ("kind", "hint"),
    [
        ("signed MAE", "errors of opposite sign cancel"),
        ("MSE", "that is the MSE"),
        ("MAPE by prediction", "divides by the actual values"),
        ("MAPE fraction", "multiply by 100"),
        ("missing key", "return a dict with the keys"),
    ],
)
def test_check_evaluate_forecast_names_the_mistake_without_code(kind, hint, capsys):
    assert not checks.check_evaluate_forecast(_metrics_mistake(kind))
    out = capsys.readouterr().out
    assert hint in out and "np.abs" not in out and "sqrt(" not in out, out


def test_check_evaluate_forecast_refuses_library_metrics_and_an_answer_key(capsys):
    from sklearn import metrics

    def with_sklearn(y_true, y_pred):
        return {"MAE": metrics.mean_absolute_error(y_true, y_pred),
                "RMSE": np.sqrt(metrics.mean_squared_error(y_true, y_pred)),
                "MAPE %": 100 * metrics.mean_absolute_percentage_error(y_true, y_pred)}

    assert checks.check_evaluate_forecast(with_sklearn) is False
    assert "calls sklearn.metrics" in capsys.readouterr().out
    assert checks.check_evaluate_forecast(lambda t, p: {"MAE": fc.mae(t, p), "RMSE": fc.rmse(t, p),
                                                        "MAPE %": fc.mape(t, p)}) is False
    assert "calls utils.forecasting.mae" in capsys.readouterr().out
    key = _lookup_table(NOTEBOOK_METRICS, checks._METRIC_CASES, lambda t, p: (t.tobytes(), p.tobytes()))
    assert checks.check_evaluate_forecast(lambda t, p: key(t, p) or {"MAE": 0.0, "RMSE": 0.0, "MAPE %": 0.0}) is False


# Exercise 5 · the Diebold–Mariano test

NOTEBOOK_DM = notebook_function("08", "diebold_mariano", np=np, stats=stats)


def _dm_by_matrix(actual, forecast, reference, loss, lags=None):
    """The same test written another way: the Newey–West variance as a quadratic form e' W e / n, with the Bartlett
    weights in a matrix W[i, j] = max(0, 1 - |i - j| / (L + 1))."""
    d = loss(np.asarray(forecast) - actual) - loss(np.asarray(reference) - actual)
    n = len(d)
    L = int(n ** (1 / 3)) if lags is None else lags
    gap = np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
    W = np.clip(1 - gap / (L + 1), 0, None)
    e = d - d.mean()
    variance = e @ W @ e / n * n / (n - 1)
    statistic = d.mean() / np.sqrt(variance / n)
    return statistic, 2 * stats.t.sf(abs(statistic), n - 1)


@pytest.mark.parametrize("answer", [as_student(fc.diebold_mariano), NOTEBOOK_DM, _dm_by_matrix],
                         ids=["reference as a student writes it", "notebook", "matrix form"])
def test_check_diebold_mariano_accepts_right_answers_in_other_styles(answer, capsys):
    assert checks.check_diebold_mariano(answer)
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("implementation", [fc.diebold_mariano, NOTEBOOK_DM], ids=["reference", "notebook"])
def test_diebold_mariano_agrees_with_values_worked_out_independently(implementation):
    """lags=0: SciPy's paired t-test; lags > 0: the matrix form of the Newey–West variance."""
    rng = np.random.default_rng(4)
    for _ in range(3):
        label, actual, forecast, reference, _, _ = checks._dm_cases(rng)[2]
        expected = stats.ttest_rel(np.abs(forecast - actual), np.abs(reference - actual))
        np.testing.assert_allclose(implementation(actual, forecast, reference, np.abs, 0),
                                   (expected.statistic, expected.pvalue))
        for lags in (None, 1, 4):
            np.testing.assert_allclose(implementation(actual, forecast, reference, np.square, lags),
                                       _dm_by_matrix(actual, forecast, reference, np.square, lags), rtol=1e-9)


def _dm_mistake(kind):
    def fn(actual, forecast, reference, loss, lags=None):
        actual, forecast, reference = (np.asarray(a, dtype=float) for a in (actual, forecast, reference))
        d = loss(forecast - actual) - loss(reference - actual)
        if kind == "reversed":
            d = -d
        if kind == "loss of forecasts":
            d = loss(forecast) - loss(reference)
        n = len(d)
        L = int(n ** (1 / 3)) if lags is None else lags
        if kind == "plain t-test":
            L = 0
        if kind == "square-root lags" and lags is None:
            L = int(round(n ** 0.5))
        e = d - d.mean() if kind != "not centred" else d
        gamma = np.array([e[k:] @ e[:n - k] / (n - k if kind == "n - k" else n) for k in range(L + 1)])
        w = np.ones(L + 1) if kind == "flat weights" else 1 - np.arange(L + 1) / (L + 1)
        variance = gamma[0] + (1 if kind == "once" else 2) * (w[1:] @ gamma[1:])
        if kind != "no correction":
            variance *= n / (n - 1)
        statistic = d.mean() / np.sqrt(variance if kind == "no sqrt n" else variance / n)
        p = 2 * stats.t.sf(abs(statistic), n - 1)
        if kind == "one-sided":
            p /= 2
        if kind == "normal":
            p = 2 * stats.norm.sf(abs(statistic))
        if kind == "no abs":
            p = 2 * stats.t.sf(statistic, n - 1)
        return statistic, p

    return fn


@pytest.mark.parametrize(
    ("kind", "hint"),
    [
        ("reversed", "the sign is reversed"),
        ("loss of forecasts", "the loss is of the errors"),
        ("plain t-test", "leaves out the autocovariances"),
        ("flat weights", "the lags are not weighted"),
        ("once", "each autocovariance counts twice"),
        ("not centred", "CENTRED differences"),
        ("n - k", "not by the number of products"),
        ("no correction", "n / (n − 1) factor"),
        ("no sqrt n", "square root of variance / n"),
        ("one-sided", "the p-value is one-sided"),
        ("normal", "Student's t with n − 1 degrees of freedom"),
        ("no abs", "not beyond |DM|"),
        ("square-root lags", "not 1"),
    ],
)
def test_check_diebold_mariano_names_the_mistake_and_shows_the_steps_only_on_the_second_try(kind, hint, capsys):
    first, second = _first_and_second_try(checks.check_diebold_mariano, _dm_mistake(kind), capsys)
    assert hint in first, first
    assert "e[k:]" not in first and "stats.t.sf" not in first, first
    assert "a worked step: d = loss(forecast - actual)" in second


def test_check_diebold_mariano_default_lags_hint_names_the_rule(capsys):
    assert not checks.check_diebold_mariano(_dm_mistake("square-root lags"))
    assert "with lags=None use L = floor(n ** (1/3))" in capsys.readouterr().out


def test_check_diebold_mariano_refuses_the_reference_and_an_answer_key(capsys):
    assert checks.check_diebold_mariano(lambda *args: fc.diebold_mariano(*args)) is False
    assert "calls utils.forecasting.diebold_mariano" in capsys.readouterr().out
    visible = [case[1:] for case in checks._dm_cases(np.random.default_rng(0))[:2]]
    table = {a.tobytes(): fc.diebold_mariano(a, f, r, checks._LOSSES[loss], lags) for a, f, r, loss, lags in visible}
    assert checks.check_diebold_mariano(lambda a, f, r, loss, lags=None: table.get(a.tobytes(), (0.0, 1.0))) is False


@pytest.mark.parametrize("odd", [lambda *a: {"DM": 1.0, "p": 0.5}, lambda *a: "0.3", lambda *a: (1.0, 0.2, 3.0),
                                 lambda *a: (np.nan, np.nan)])
def test_check_diebold_mariano_odd_answers_get_a_finding(odd, capsys):
    assert checks.check_diebold_mariano(odd) is False
    out = capsys.readouterr().out
    assert "❌" in out and "check itself" not in out, out


def test_check_diebold_mariano_notices_an_answer_that_changes_its_arguments(capsys):
    def in_place(actual, forecast, reference, loss, lags=None):
        forecast -= actual  # the notebook passes the same test days to every comparison: this corrupts them
        return NOTEBOOK_DM(actual, forecast + actual, reference, loss, lags)

    assert checks.check_diebold_mariano(in_place) is False
    assert "changed its argument `forecast` in place" in capsys.readouterr().out
