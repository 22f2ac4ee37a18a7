"""Tests for utils.anomaly (simulator, data builders, detector helpers) and utils.checks.anomaly (both ways)."""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from tests.answers import as_student
from tests.notebook_code import SOURCES, code_cells, defined_names, notebook_function
from utils import anomaly, checks
from utils.anomaly import HOURS_PER_WEEK, KINDS, KPIS, SIZES
from utils.checks.anomaly import (
    _zscore_variant,
    check_choose_threshold,
    check_precision_recall_f1,
    check_rolling_zscore,
)


@pytest.fixture(scope="module")
def net():
    return anomaly.simulate_network(n_cells=4, weeks=4, seed=3)


# --- simulator ------------------------------------------------------------------------------------------------------


def test_same_seed_same_network_other_seed_differs():
    a, b = anomaly.simulate_network(n_cells=2, weeks=4, seed=11), anomaly.simulate_network(n_cells=2, weeks=4, seed=11)
    assert np.array_equal(a.kpis, b.kpis) and np.array_equal(a.labels, b.labels) and a.anomalies == b.anomalies
    c = anomaly.simulate_network(n_cells=2, weeks=4, seed=12)
    assert not np.array_equal(a.kpis, c.kpis)


def test_shapes_and_plausible_values(net):
    assert net.kpis.shape == (4, 4 * HOURS_PER_WEEK, len(KPIS)) and net.labels.shape == (4, 4 * HOURS_PER_WEEK)
    assert np.isfinite(net.kpis).all() and (net.kpis >= 0).all()
    assert (net.kpis[..., 1:3] <= 100).all()  # loads are percentages
    assert np.array_equal(net.clean[..., 0], np.round(net.clean[..., 0]))  # users are counts


def test_labels_exactly_where_anomalies_were_injected(net):
    changed = np.any(net.kpis != net.clean, axis=-1)
    assert np.array_equal(changed, net.labels > 0)
    expected = np.zeros_like(net.labels)
    for a in net.anomalies:
        expected[a.cell, a.start:a.stop] = KINDS.index(a.kind) + 1
    assert np.array_equal(expected, net.labels)


def test_events_per_kind_size_clean_week_and_gaps(net):
    counts = net.summary()["events"]
    assert (counts == net.n_cells).all() and len(counts) == len(KINDS) * len(SIZES)
    assert not net.labels[:, :HOURS_PER_WEEK + 1].any()
    for cell in range(net.n_cells):
        events = [a for a in net.anomalies if a.cell == cell]
        assert all(b.start - a.stop >= 30 for a, b in zip(events, events[1:], strict=False))


def test_each_kind_looks_like_its_description(net):
    for a in net.anomalies:
        values, clean = net.kpis[a.cell, a.start:a.stop], net.clean[a.cell, a.start:a.stop]
        if a.kind == "freeze":
            assert (values == net.kpis[a.cell, a.start - 1]).all()
        elif a.kind == "outage" and a.size == "large":
            assert (values == 0).all()
        elif a.kind == "outage":
            assert (values <= clean + 1e-9).all()
        elif a.kind == "spike":
            assert (values[:, 0] > clean[:, 0]).all()
            if a.size == "subtle":
                assert a.start % 24 < 5
        else:  # level shift: throughput down, users untouched
            assert (values[:, 3] < clean[:, 3]).all() and np.array_equal(values[:, 0], clean[:, 0])


def test_large_spikes_leave_normal_range_subtle_spikes_do_not(net):
    spikes = [a for a in net.anomalies if a.kind == "spike"]
    assert all(anomaly.outside_normal_range(net, a) for a in spikes if a.size == "large")
    assert not any(anomaly.outside_normal_range(net, a) for a in spikes if a.size == "subtle")


def test_normal_range_comes_from_the_calibration_week_not_the_clean_series(net):
    """An operator has no fault-free series, only a week believed normal: the range is taken from that week."""
    event = next(a for a in net.anomalies if a.kind == "spike" and a.size == "large")
    changed = net.clean.copy()
    changed[event.cell, HOURS_PER_WEEK:] *= 100.0  # a "clean" series no one observes: it must not matter
    other = anomaly.CellNetwork(net.kpis, changed, net.labels, net.anomalies, net.seed)
    assert anomaly.outside_normal_range(other, event) == anomaly.outside_normal_range(net, event) is True
    with pytest.raises(ValueError, match="calibration period"):
        anomaly.outside_normal_range(net, event, calibration_hours=0)


def test_frame_and_bad_simulator_arguments(net):
    frame = net.frame(1)
    assert list(frame.columns) == [*KPIS, "kind"] and frame.index[0] == anomaly.START
    assert set(frame["kind"]) <= {"", *KINDS}
    with pytest.raises(ValueError, match="pick a cell number"):
        net.frame(9)
    with pytest.raises(ValueError, match="more weeks"):
        anomaly.simulate_network(weeks=1, clean_weeks=1)
    with pytest.raises(ValueError, match="could not place"):
        anomaly.simulate_network(n_cells=1, weeks=2, events_per_kind=6)


# --- data builders -----------------------------------------------------------------------------------------------


def test_scale_cells_uses_calibration_week(net):
    scaled = anomaly.scale_cells(net.kpis, calibration_hours=HOURS_PER_WEEK)
    calibration = scaled[:, :HOURS_PER_WEEK]
    assert np.allclose(calibration.mean(axis=1), 0, atol=1e-9) and np.allclose(calibration.std(axis=1), 1)


def test_bad_input_names_the_fix(net):
    with_gap = net.kpis.copy()
    with_gap[0, 5, 2] = np.nan
    with pytest.raises(ValueError, match=r"NaN.*interpolate"):
        anomaly.scale_cells(with_gap)
    with pytest.raises(ValueError, match="too short"):
        anomaly.scale_cells(net.kpis[:, :100])
    with pytest.raises(ValueError, match="too short"):
        anomaly.kpi_windows(net.kpis[:, :10], window=24)
    with pytest.raises(ValueError, match="at least 1 hour"):
        anomaly.kpi_windows(net.kpis, window=0)
    with pytest.raises(ValueError, match="same hours"):
        anomaly.kpi_windows(net.kpis, 24, anomaly.time_features(50))
    with pytest.raises(ValueError, match="no NaN"):
        anomaly.kpi_windows(net.kpis, 24, np.full((net.n_hours, 3), np.nan))
    with pytest.raises(ValueError, match="dimensions"):
        anomaly.scale_cells(net.kpis[0])
    with pytest.raises(ValueError, match="NaN"):
        anomaly.rolling_zscore([1.0, np.nan, 2.0, 3.0, 4.0], 2)
    with pytest.raises(ValueError, match="too short"):
        anomaly.rolling_zscore([1.0, 2.0, 3.0], 5)


def test_time_features():
    features = anomaly.time_features(48)
    assert features.shape == (48, 3)
    assert np.allclose(features[0, :2], [0, 1]) and np.allclose(features[6, :2], [1, 0], atol=1e-12)
    weekend = anomaly.time_features(7 * 24)[:, 2].reshape(7, 24)
    assert (weekend[:5] == 0).all() and (weekend[5:] == 1).all()  # the series start on a Monday


def test_kpi_windows_match_a_loop():
    rng = np.random.default_rng(0)
    scaled, extra, window = rng.normal(size=(2, 30, 4)), rng.normal(size=(30, 3)), 5
    X, y, where = anomaly.kpi_windows(scaled, window, extra)
    assert X.shape == (2 * 25, window, 7) and y.shape == (50, 4) and X.dtype == np.float32
    for i, (cell, t) in enumerate(where):
        assert np.allclose(X[i], np.concatenate([scaled[cell, t - window:t], extra[t - window:t]], axis=1))
        assert np.allclose(y[i], scaled[cell, t])
    assert where[0].tolist() == [0, window] and where[-1].tolist() == [1, 29]


def test_normal_windows_matches_a_loop(net):
    window = 24
    _, _, where = anomaly.kpi_windows(anomaly.scale_cells(net.kpis), window)
    mask = anomaly.normal_windows(net.labels, where, window)
    expected = [not net.labels[c, t - window:t + 1].any() for c, t in where]
    assert mask.tolist() == expected and 0 < mask.mean() < 1


class _ConstantForecasters:
    """Stands in for notebook 05's side-by-side forecasters: each of its two models forecasts 0 for every KPI."""

    inputs = [SimpleNamespace(shape=(None, 24, 7))] * 2  # two inputs, each a window of 24 hours of 7 numbers

    def predict(self, X, batch_size=None, verbose=0):
        return [np.zeros((len(X[0]), len(KPIS)), dtype="float32") for _ in X]

    def predict_on_batch(self, X):
        return self.predict(X)


def _notebook_05(net, **extra):
    """The names notebook 05's detector functions read, with the constant forecasters as the models."""
    window, scaled = 24, anomaly.scale_cells(net.kpis)
    return dict(np=np, anomaly=anomaly, scaled=scaled, WINDOW=window, FIRST=HOURS_PER_WEEK + window,
                calendar=anomaly.time_features(net.n_hours), network=net, KPIS=KPIS,
                HOURS_PER_WEEK=HOURS_PER_WEEK, **extra)


def test_forecast_errors_are_observed_minus_forecast_per_model_from_first(net):
    names = _notebook_05(net)
    first, scaled = names["FIRST"], names["scaled"]
    errors = anomaly.forecast_errors(_ConstantForecasters(), scaled[[1, 3]], names["calendar"], first)
    assert errors.shape == (2, 2, net.n_hours, len(KPIS)) and np.isnan(errors[:, :, :first]).all()
    for model in range(2):
        np.testing.assert_allclose(errors[model, :, first:], scaled[[1, 3], first:], rtol=1e-6)
    windows = np.zeros((2, 3, 24, len(KPIS)))
    forecast = anomaly.model_forecast(_ConstantForecasters(), windows, names["calendar"], 30)
    assert np.array_equal(forecast, np.zeros((2, 3, len(KPIS))))


def test_the_notebooks_missed_forecast_is_the_seasonal_forecast_plus_the_forecast_miss(net):
    names = _notebook_05(net, seasonal_weeks=2)
    names["seasonal_forecast"] = notebook_function("05", "seasonal_forecast", **names)
    missed_forecast = notebook_function("05", "missed_forecast", **names)
    inputs = np.repeat(names["scaled"][None, :3], 2, axis=0)
    t = 3 * HOURS_PER_WEEK + 5
    expected = np.median(inputs[:, :, [t - HOURS_PER_WEEK, t - 2 * HOURS_PER_WEEK]], axis=2)
    np.testing.assert_allclose(missed_forecast(_ConstantForecasters(), inputs, t), expected)  # the miss forecast is 0


def _scorer(how):
    """make_scorer calibrated on normal errors whose 4 KPIs move together (correlation 0.9), sigma 2 at 3:00."""
    rng = np.random.default_rng(0)
    common = rng.normal(size=(24_000, 1))
    normal = np.sqrt(0.9) * common + np.sqrt(0.1) * rng.normal(size=(24_000, 4))
    hours = np.arange(24_000) % 24
    normal[hours == 3] *= 2.0
    return notebook_function("05", "make_scorer", np=np)(normal, hours, how)


def test_the_notebooks_largest_score_is_the_worst_kpi_in_its_hours_typical_errors():
    score = _scorer("largest")
    errors = np.array([[1.0, -3.0, 0.5, 0.0]])
    assert score(errors, 5)[0] == pytest.approx(3.0, rel=0.08)
    assert score(errors, 3)[0] == pytest.approx(1.5, rel=0.08)  # twice as noisy at 3:00: half the score
    assert np.isnan(score(np.full((1, 4), np.nan), 5)).all()


def test_the_notebooks_joint_score_sees_kpis_moving_against_each_other():
    score = _scorer("joint")
    together, apart = np.array([[2.0, 2.0, 2.0, 2.0]]), np.array([[1.0, 1.0, 1.0, -1.0]])
    assert score(apart, 5)[0] > 2 * score(together, 5)[0]  # smaller errors, but they break the pattern
    with pytest.raises(ValueError, match="'largest' or 'joint'"):
        notebook_function("05", "make_scorer", np=np)(np.ones((48, 4)), np.arange(48) % 24, "mean")


def test_the_notebooks_seasonal_forecast_is_the_median_of_past_weeks():
    forecast = notebook_function("05", "seasonal_forecast", np=np, HOURS_PER_WEEK=HOURS_PER_WEEK)
    series = np.zeros((1, 5 * HOURS_PER_WEEK, 1))
    t = 4 * HOURS_PER_WEEK + 7
    series[0, t - np.array([1, 2, 3, 4]) * HOURS_PER_WEEK, 0] = [1.0, 50.0, 2.0, 3.0]  # one faulty week: 50
    assert forecast(series, t, 4)[0, 0] == 2.5 and forecast(series, t, 1)[0, 0] == 1.0
    assert forecast(series, HOURS_PER_WEEK + 7, 4)[0, 0] == series[0, 7, 0]  # in week 2 only one week exists
    per_model = np.stack([series, 2 * series])  # a leading axis of models: the same median for each
    assert forecast(per_model, t, 4)[:, 0, 0].tolist() == [2.5, 5.0]


def test_the_notebooks_online_errors_replace_flagged_hours_by_their_forecast():
    online_errors = notebook_function("05", "online_errors", np=np)

    def persistence(inputs, t):  # forecast: the hour before
        return inputs[..., t - 1, :]

    series = np.array([[0.0, 0.0, 10.0, 10.0, 10.0, 0.0, 0.0]])[..., None]  # a 3-hour fault
    plain = online_errors(persistence, series, 1)
    assert np.isnan(plain[0, 0, 0]) and plain[0, 1:, 0].tolist() == [0, 10, 0, 0, -10, 0]  # misses and an echo

    def score(errors, hour):
        return np.abs(errors[..., 0])

    live = online_errors(persistence, series, 1, score, cut=5.0)
    assert live[0, 1:, 0].tolist() == [0, 10, 10, 10, 0, 0]  # every fault hour flagged, no echo
    two_models = online_errors(persistence, np.stack([series, series]), 1, score, cut=np.array([[5.0], [50.0]]))
    assert two_models[0, 0, 1:, 0].tolist() == [0, 10, 10, 10, 0, 0]  # each model replaces by its own cut
    assert two_models[1, 0, 1:, 0].tolist() == [0, 10, 0, 0, -10, 0]


def test_scorecard_gives_recall_per_size_and_kind_events_and_false_alarms():
    labels = np.array([[0, 1, 1, 0, 2, 0, 0, 0] * 3])
    events = [anomaly.Anomaly(0, "spike", "large", 1, 2), anomaly.Anomaly(0, "outage", "subtle", 4, 1)]
    labels[0, 8:] = 0
    flags = np.zeros(labels.shape, bool)
    flags[0, [1, 2, 6, 20]] = True  # the large spike, one false alarm, and one outside the judged hours
    judged = np.ones(labels.shape, bool)
    judged[0, 20:] = False
    row = anomaly.scorecard(flags, labels, events, judged)
    assert row["precision"] == pytest.approx(2 / 3) and row["recall"] == pytest.approx(2 / 3)
    assert row["recall large"] == 1.0 and row["recall subtle"] == 0.0
    assert row["recall spike"] == 1.0 and row["recall outage"] == 0.0 and np.isnan(row["recall freeze"])
    assert row["events found"] == 1 and row["false alarms / cell-day"] == pytest.approx(1 / (20 / 24))
    with pytest.raises(ValueError, match="same shape"):
        anomaly.scorecard(flags, labels[:, :5], events, judged)


def test_day_counts_and_their_f1_match_the_hourly_f1():
    rng = np.random.default_rng(4)
    labels = np.where(rng.random((3, 96)) < 0.2, 2, 0)
    flags = rng.random((3, 96)) < 0.3
    scored = np.ones((3, 96), bool)
    scored[:, :30] = False  # day 0 unscored, day 1 in part
    counts = anomaly.day_counts(flags, labels, scored)
    assert counts.shape == (3 * 3, 3)  # days 1-3 of each cell
    assert anomaly.f1_of_counts(counts) == pytest.approx(anomaly.precision_recall_f1(flags[scored],
                                                                                     labels[scored] > 0)[2])
    assert anomaly.f1_of_counts(np.zeros((4, 3))) == 0.0
    assert anomaly.f1_of_counts([[2, 1, 1]]) == pytest.approx(2 / 3)  # 2·2 / (2·2 + 1 + 1)
    with pytest.raises(ValueError, match="whole days"):
        anomaly.day_counts(flags[:, :50], labels[:, :50], scored[:, :50])


def test_the_notebooks_per_day_sums_the_scored_cell_days_in_the_order_of_day_counts():
    rng = np.random.default_rng(5)
    labels = np.where(rng.random((2, 72)) < 0.3, 1, 0)
    flags = rng.random((2, 72)) < 0.4
    judged = np.ones((2, 72), bool)
    judged[:, :30] = False  # day 0 unscored, day 1 in part
    per_day = notebook_function("05", "per_day", np=np, judged=judged)
    counts = anomaly.day_counts(flags, labels, judged)
    assert per_day(flags & (labels > 0)).tolist() == counts[:, 0].tolist()  # true positives, day by day
    assert per_day(flags & (labels == 0)).tolist() == counts[:, 1].tolist()  # false alarms


def test_models_as_one_runs_each_model_as_it_would_run_alone_and_trains_each():
    import keras

    models = [keras.Sequential([keras.Input((5, 2)), keras.layers.LSTM(3), keras.layers.Dense(2)]) for _ in range(2)]
    together = anomaly.models_as_one(models)
    x = [np.random.default_rng(i).normal(size=(4, 5, 2)).astype("float32") for i in range(2)]
    for model, inputs, output in zip(models, x, together.predict_on_batch(x), strict=True):
        np.testing.assert_allclose(output, model.predict_on_batch(inputs), rtol=1e-5, atol=1e-6)
    together.compile(optimizer="adam", loss="mse")
    before = models[1].get_weights()[0].copy()
    together.fit(x, [np.ones((4, 2))] * 2, epochs=1, verbose=0)
    assert not np.allclose(before, models[1].get_weights()[0])  # fitting it trains each model
    with pytest.raises(ValueError, match="list of Keras models"):
        anomaly.models_as_one([])


def test_train_side_by_side_draws_each_model_from_its_seed_and_the_batches_from_fit_seed(capsys):
    import keras

    X = np.random.default_rng(0).normal(size=(32, 5, 2)).astype("float32")
    y = X[:, -1]

    def build(i):
        return keras.Sequential([keras.Input((5, 2)), keras.layers.Flatten(), keras.layers.Dense(2)], name=f"D_{i}")

    first = anomaly.train_side_by_side(build, X, y, [1, 2], fit_seed=3, epochs=2)
    again = anomaly.train_side_by_side(build, X, y, [1, 2], fit_seed=3, epochs=2)
    for a, b in zip(first.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # the same seeds: the same models, whatever ran in between
    weights = first.get_weights()
    assert not np.allclose(weights[0], weights[2])  # two seeds: two different models
    assert "2 × D: 22 parameters each" in capsys.readouterr().out  # 10 inputs × 2 + 2 biases
    with pytest.raises(ValueError, match="list of seeds"):
        anomaly.train_side_by_side(build, X, y, 3, fit_seed=3, epochs=1)


def test_mean_scorecard_averages_the_runs_and_gives_the_range_of_f1():
    labels = np.array([[0, 1, 1, 0] * 6])
    events = [anomaly.Anomaly(0, "spike", "large", 1, 2)]
    scored = np.ones(labels.shape, bool)
    perfect, half = labels > 0, np.zeros(labels.shape, bool)
    half[0, 1] = True
    row = anomaly.mean_scorecard([perfect, half], labels, events, scored)
    half_f1 = 2 * (1 / 12) / (1 + 1 / 12)  # precision 1, recall 1 of 12 anomalous hours
    assert row["runs"] == 2 and row["F1 range"] == f"{half_f1:.2f}–1.00"
    assert row["F1"] == pytest.approx((1 + half_f1) / 2)
    assert row["recall large"] == 0.75  # the one large event: 2 of its 2 hours, then 1 of 2


# --- detector helpers -------------------------------------------------------------------------------------------


def test_rolling_zscore_matches_a_loop_and_handles_flat_stretches():
    x = np.concatenate([np.random.default_rng(1).normal(size=30), np.full(10, 2.0)])
    z = anomaly.rolling_zscore(x, 6)
    assert np.isnan(z[:6]).all() and np.isfinite(z[6:]).all()
    assert np.allclose(z[6:], _zscore_variant(x, 6)[6:])
    assert z[-1] == 0.0  # a flat window and the same value: z = 0, not a division by zero
    assert anomaly.rolling_zscore([1.0, 2.0, 4.0, 3.0, 8.0], 3)[3] == pytest.approx((3 - 7 / 3) / np.std([1, 2, 4]))
    zscore_scores = notebook_function("05", "zscore_scores", np=np, rolling_zscore=anomaly.rolling_zscore,
                                      FIRST=HOURS_PER_WEEK + 24)
    long = np.random.default_rng(2).normal(size=HOURS_PER_WEEK + 40)
    scores = zscore_scores(np.stack([np.stack([long, -3 * long], axis=-1)]), 6)
    first = HOURS_PER_WEEK + 24
    assert scores.shape == (1, len(long)) and np.isnan(scores[0, :first]).all()  # only the scored hours
    assert np.allclose(scores[0, first:], np.abs(anomaly.rolling_zscore(long, 6))[first:])


def test_precision_recall_f1():
    flags = np.array([1, 1, 1, 1, 0, 0, 0, 0], bool)
    truth = np.array([1, 1, 1, 0, 1, 1, 0, 0], bool)
    assert np.allclose(anomaly.precision_recall_f1(flags, truth), (0.75, 0.6, 2 * 0.45 / 1.35))
    assert anomaly.precision_recall_f1(np.zeros(4, bool), truth[:4]) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="same shape"):
        anomaly.precision_recall_f1(flags, truth[:3])


def test_choose_threshold_worked_by_hand():
    from utils.checks.anomaly import _THRESHOLD_CASE

    # Scored values 0.2 0.9 3.0 0.4 2.5 | 0.1 4.0 0.3 0.8 1.2, anomalous 3.0, 2.5, 4.0 (the NaN hours are left out):
    # above 1.2 flags exactly those three, F1 = 1; above 0.9 adds 1.2, F1 = 2·0.75/1.75.
    assert anomaly.choose_threshold(*_THRESHOLD_CASE) == (1.2, 1.0)
    scores, labels, _ = _THRESHOLD_CASE
    assert anomaly.choose_threshold(scores, labels, [0.9])[1] == pytest.approx(2 * 0.75 / 1.75)
    assert anomaly.choose_threshold(scores, labels, [1.2, 1.5, 2.0])[0] == 1.2  # a tie: the first candidate
    threshold, _ = anomaly.choose_threshold(scores, labels)  # default candidates: quantiles from the median up
    assert np.nanmedian(scores) <= threshold < 4.0


def test_the_detector_of_05_is_written_in_the_notebook():
    """The lesson (forecast error -> score -> threshold) is in visible cells of 05, not hidden in utils.anomaly."""
    written = set().union(*map(defined_names, code_cells("05")))
    assert {"build_kpi_forecaster", "make_scorer", "choose_threshold", "validation_choices", "zscore_scores",
            "seasonal_forecast", "online_errors", "with_the_rule", "missed_forecast", "watch_with_misses",
            "f1_difference"} <= written
    # and utils has no second copy: tests/test_saved_code.py


def test_events_found():
    flags = np.array([[0, 1, 0, 1, 0, 0, 1, 1, 0, 0]], bool)
    events = [anomaly.Anomaly(0, "spike", "large", 1, 2), anomaly.Anomaly(0, "outage", "subtle", 4, 1),
              anomaly.Anomaly(0, "freeze", "large", 6, 2)]
    found = anomaly.events_found(flags, events)
    assert found.loc["spike", "large"] == "1/1 (50%)" and found.loc["outage", "subtle"] == "0/1 (0%)"
    assert found.loc["freeze", "large"] == "1/1 (100%)" and found.loc["spike", "subtle"] == "0/0"


def test_renumber_and_plot(net):
    events = anomaly.renumber(net.anomalies, [2, 3])
    assert {a.cell for a in events} == {0, 1} and len(events) == 2 * len(KINDS) * 2
    flags = np.zeros(net.n_hours, bool)
    flags[200:210] = True
    axes = anomaly.plot_cell(net, 1, slice(168, 336), flags={"LSTM": flags, "z": ~flags})
    assert len(axes) == 2 and axes[0].get_title() == "Cell 1"
    assert isinstance(net.summary(), pd.DataFrame)


# --- checkers, both ways -------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def fresh_session():
    """Each test starts as a new kernel would: no earlier failing tries (worked steps show from the second one)."""
    checks.reset()
    yield
    checks.reset()


def _first_and_second_try(checker, answer, capsys) -> tuple[str, str]:
    assert checker(answer) is False
    first = capsys.readouterr().out
    assert checker(answer) is False
    return first, capsys.readouterr().out


def _names_fault_then_shows_step(checker, answer, hint, capsys):
    """A typical mistake: the first try names the fault and shows no worked step; the second try shows it."""
    first, second = _first_and_second_try(checker, answer, capsys)
    assert hint in first, first
    assert "→ a worked step" not in first and "Stuck? `hint()` shows a worked step." in first, first
    assert "→ a worked step:" in second, second


# Right answers in a student's own style: the checks judge what comes back, not how it is written.
def _prf_counted(flags, truth):
    flags, truth = np.asarray(flags, bool).ravel(), np.asarray(truth, bool).ravel()
    tp = np.count_nonzero(flags & truth)
    precision = tp / np.count_nonzero(flags) if flags.any() else 0
    recall = tp / np.count_nonzero(truth) if truth.any() else 0
    return [precision, recall, 0 if tp == 0 else 2 * precision * recall / (precision + recall)]


def _threshold_vectorised(scores, labels, candidates=None):
    scores, labels = np.asarray(scores, dtype=float), np.asarray(labels)
    if candidates is None:
        candidates = np.nanquantile(scores, np.linspace(0.5, 1.0, 200, endpoint=False))
    keep = ~np.isnan(scores)
    flags = scores[keep][None, :] > np.asarray(candidates)[:, None]
    truth = labels[keep] > 0
    tp = (flags & truth).sum(axis=1)
    f1 = np.where(tp > 0, 2 * tp / np.maximum(flags.sum(axis=1) + truth.sum(), 1), 0.0)
    best = int(np.argmax(f1))  # argmax returns the first of equal values
    return float(candidates[best]), float(f1[best])


def _zscore_with_pandas(x, window, min_std=1e-8):
    past = pd.Series(np.asarray(x, dtype=float)).shift(1).rolling(window)
    z = (pd.Series(x) - past.mean()) / past.std(ddof=0).clip(lower=min_std)
    return z.to_numpy()


CHECKS = {
    "Exercise 1": (check_precision_recall_f1, anomaly.precision_recall_f1, _prf_counted),
    "Exercise 2": (check_choose_threshold, anomaly.choose_threshold, _threshold_vectorised),
    "Exercise 3": (check_rolling_zscore, anomaly.rolling_zscore, _zscore_with_pandas),
}


@pytest.mark.parametrize("exercise", CHECKS)
def test_right_answers_pass_in_the_references_style_and_in_another(exercise, capsys):
    checker, reference, other_style = CHECKS[exercise]
    assert checker(as_student(reference)) is True
    assert checker(other_style) is True
    assert capsys.readouterr().out.count("correct") == 2


@pytest.mark.parametrize("exercise", CHECKS)
def test_an_answer_that_calls_the_reference_is_refused(exercise, capsys):
    checker, reference, _ = CHECKS[exercise]
    assert checker(lambda *args, **kwargs: reference(*args, **kwargs)) is False
    assert f"calls utils.anomaly.{reference.__name__}" in capsys.readouterr().out


def test_scikit_learns_metrics_are_refused_in_exercises_1_and_2(capsys):
    from sklearn.metrics import f1_score, precision_recall_fscore_support

    def with_sklearn(flags, truth):
        p, r, f, _ = precision_recall_fscore_support(np.ravel(truth), np.ravel(flags), average="binary",
                                                     zero_division=0)
        return p, r, f

    assert check_precision_recall_f1(with_sklearn) is False
    assert "calls sklearn.metrics.precision_recall_fscore_support" in capsys.readouterr().out

    def threshold_with_sklearn(scores, labels, candidates=None):
        keep = ~np.isnan(scores)
        f1 = [f1_score(labels[keep] > 0, scores[keep] > c, zero_division=0) for c in candidates]
        return float(candidates[int(np.argmax(f1))]), float(max(f1))

    assert check_choose_threshold(threshold_with_sklearn) is False
    assert "calls sklearn.metrics.f1_score" in capsys.readouterr().out


def test_a_lookup_table_of_the_visible_cases_is_refused(capsys):
    from utils.checks.anomaly import _PRF_CASES, _ZSCORE_CASES

    prf_table = {(f.tobytes(), t.tobytes()): anomaly.precision_recall_f1(f, t) for f, t in _PRF_CASES}
    assert check_precision_recall_f1(lambda f, t: prf_table.get((f.tobytes(), t.tobytes()), (0.0, 0.0, 0.0))) is False
    assert check_choose_threshold(lambda s, lab, c=None: (1.2, 1.0)) is False
    z_table = {x.tobytes(): anomaly.rolling_zscore(x, w) for x, w in _ZSCORE_CASES}
    assert check_rolling_zscore(lambda x, w, min_std=1e-8: z_table.get(np.asarray(x).tobytes(),
                                                                       np.full(len(x), np.nan))) is False
    out = capsys.readouterr().out
    assert out.count("drawn for this run") + out.count("wrong") >= 3, out


def test_fresh_cases_differ_from_run_to_run():
    from utils.checks import Report
    from utils.checks.anomaly import _prf_fresh, _threshold_fresh, _zscore_fresh

    a, b = Report("a"), Report("b")
    assert not np.array_equal(_threshold_fresh(a.rng)[0][0], _threshold_fresh(b.rng)[0][0], equal_nan=True)
    assert [x.shape for x, _ in _prf_fresh(a.rng)] != [] and len(_zscore_fresh(b.rng)) == 2


@pytest.mark.parametrize("wrong, hint", [
    (lambda x, w: _zscore_variant(x, w, include_now=True), "includes x_t itself"),
    (lambda x, w: _zscore_variant(x, w, centred=True), "looks into the future"),
    (lambda x, w: _zscore_variant(x, w, ddof=1), "ddof=1"),
    (lambda x, w: _zscore_variant(x, w, square=True), "divided by the variance"),
    (lambda x, w: _zscore_variant(x, w, fill=0.0), "leave NaN there"),
    (lambda x, w: np.abs(_zscore_variant(x, w)), "keep the sign"),
    (lambda x, w: _zscore_variant(x, w, guard=False), "floor the std"),
])
def test_rolling_zscore_checker_names_the_mistake_then_shows_the_step(wrong, hint, capsys):
    _names_fault_then_shows_step(check_rolling_zscore, wrong, hint, capsys)


@pytest.mark.parametrize("wrong, hint", [
    (lambda x, w: _zscore_variant(x, w)[1:], "one z-score per hour"),
    (lambda x, w: 1 / 0, "ZeroDivisionError"),
    (lambda x, w: "z", "return an array of numbers"),
])
def test_rolling_zscore_checker_rejects_answers_of_the_wrong_kind(wrong, hint, capsys):
    assert not check_rolling_zscore(wrong)
    assert hint in capsys.readouterr().out


def _prf(flags, truth, *, swap=False, mean=False, accuracy=False, half=False, divide_blindly=False, tp_all=False):
    flags, truth = np.asarray(flags, bool), np.asarray(truth, bool)
    tp, fp, fn = np.sum(flags & truth), np.sum(flags & ~truth), np.sum(~flags & truth)
    if tp_all:
        tp = np.sum(flags)
    if divide_blindly:
        with np.errstate(invalid="ignore", divide="ignore"):
            p, r = np.float64(tp) / (tp + fp), np.float64(tp) / (tp + fn)
        return p, r, 2 * p * r / (p + r)
    p = float(np.mean(flags == truth)) if accuracy else (tp / (tp + fp) if tp + fp else 0.0)
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = (p + r) / 2 if mean else (2 * p * r / (p + r) if p + r else 0.0)
    f1 = f1 / 2 if half else f1
    return (r, p, f1) if swap else (p, r, f1)


@pytest.mark.parametrize("wrong, hint", [
    (lambda f, t: _prf(f, t, swap=True), "swapped"),
    (lambda f, t: _prf(f, t, mean=True), "harmonic mean"),
    (lambda f, t: _prf(f, t, accuracy=True), "accuracy"),
    (lambda f, t: _prf(f, t, half=True), "factor 2"),
    (lambda f, t: _prf(f, t, tp_all=True), "flagged *and* anomalous"),
    (lambda f, t: _prf(f, t, divide_blindly=True), "return 0 for it"),
])
def test_prf_checker_names_the_mistake_then_shows_the_step(wrong, hint, capsys):
    _names_fault_then_shows_step(check_precision_recall_f1, wrong, hint, capsys)


@pytest.mark.parametrize("wrong, hint", [
    (lambda f, t: int(np.sum(f & t)) / int(np.sum(f)), "return 0 for it"),
    (lambda f, t: (0.5, 0.5), "three numbers"),
])
def test_prf_checker_rejects_answers_of_the_wrong_kind(wrong, hint, capsys):
    assert not check_precision_recall_f1(wrong)
    assert hint in capsys.readouterr().out


def _threshold(scores, labels, candidates=None, **mistake):
    """choose_threshold with one typical mistake (see utils.checks.anomaly._pick), as a student would write it."""
    from utils.checks.anomaly import _pick

    return _pick(np.asarray(scores, float), np.asarray(labels), candidates, **mistake)


@pytest.mark.parametrize("wrong, hint", [
    (lambda s, lab, c=None: _threshold(s, lab, c, unscored=True), "without a score (NaN) are counted"),
    (lambda s, lab, c=None: _threshold(s, lab, c, at_threshold=True), "equals the threshold"),
    (lambda s, lab, c=None: _threshold(s, lab, c, last_on_tie=True), "on a tie the last candidate wins"),
    (lambda s, lab, c=None: _threshold(s, lab, c, metric=0), "best precision"),
    (lambda s, lab, c=None: _threshold(s, lab, c, metric=1), "best recall"),
    (lambda s, lab, c=None: _threshold(s, lab, c, label_one=True), "only label 1"),
    (lambda s, lab, c=None: _threshold(s, lab, c)[::-1], "wrong order"),
])
def test_threshold_checker_names_the_mistake_then_shows_the_step(wrong, hint, capsys):
    _names_fault_then_shows_step(check_choose_threshold, wrong, hint, capsys)


def test_threshold_checker_names_the_position_returned_instead_of_the_threshold(capsys):
    def position(scores, labels, candidates=None):
        threshold, f1 = _threshold(scores, labels, candidates)
        return float(np.flatnonzero(np.asarray(candidates) == threshold)[0]), f1

    assert not check_choose_threshold(position)
    assert "position of the best candidate" in capsys.readouterr().out


def test_answers_that_change_their_inputs_in_place_are_told_so(capsys):
    def prf_in_place(flags, truth):
        result = _prf(flags, truth)
        flags &= truth
        return result

    def threshold_in_place(scores, labels, candidates=None):
        result = _threshold(scores, labels, candidates)
        scores[np.isnan(scores)] = -1.0
        return result

    def zscore_in_place(x, window, min_std=1e-8):
        z = anomaly.rolling_zscore(np.array(x), window)
        x -= 1.0
        return z

    for checker, answer in ((check_precision_recall_f1, prf_in_place), (check_choose_threshold, threshold_in_place),
                            (check_rolling_zscore, as_student(zscore_in_place))):
        assert checker(answer) is False
        assert "changed its first argument in place" in capsys.readouterr().out


class _ArrayLike:
    """An object NumPy can read (``__array__``) that is not a tuple, a list or an array."""

    def __init__(self, values):
        self.values = values

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.values, dtype=dtype)


@pytest.mark.parametrize("checker, odd", [
    (check_precision_recall_f1, lambda f, t: float("nan")),
    (check_precision_recall_f1, lambda f, t: (np.nan, np.nan, np.nan)),
    (check_precision_recall_f1, lambda f, t: (0.5, 0.5, 0.5, 0.5)),
    (check_precision_recall_f1, lambda f, t: _ArrayLike(anomaly.precision_recall_f1(f, t))),
    (check_choose_threshold, lambda s, lab, c=None: (np.nan, np.nan)),
    (check_choose_threshold, lambda s, lab, c=None: (1.0, 0.5, 0.1)),
    (check_choose_threshold, lambda s, lab, c=None: _ArrayLike(_threshold(s, lab, c))),
    (check_choose_threshold, lambda s, lab, c=None: np.zeros((2, 2))),
    (check_rolling_zscore, lambda x, w: np.full(len(x), np.nan)),
    (check_rolling_zscore, lambda x, w: np.zeros((len(x), 2))),
])
def test_odd_answers_are_rejected_without_crashing_the_check(checker, odd, capsys):
    assert checker(odd) is False
    out = capsys.readouterr().out
    assert "✗" in out and "check itself hit a problem" not in out and "Traceback" not in out, out


def test_a_list_where_a_tuple_or_an_array_is_expected_is_accepted_and_the_notebook_can_use_it(capsys):
    assert check_precision_recall_f1(lambda f, t: list(_prf(f, t))) is True
    assert check_choose_threshold(lambda s, lab, c=None: list(_threshold(s, lab, c if c is not None else
                                                                         np.nanquantile(s, [0.5, 0.75])))) is True
    own_zscore = as_student(anomaly.rolling_zscore)
    assert check_rolling_zscore(lambda x, w: own_zscore(np.array(x), w).tolist()) is True


def test_checkers_say_not_done(capsys):
    def stub(*args):
        raise NotImplementedError

    assert not check_rolling_zscore(stub) and not check_precision_recall_f1(stub) and not check_choose_threshold(stub)
    assert capsys.readouterr().out.count("not done yet") == 3


def test_the_exercises_are_declared_in_the_notebooks_order():
    declared = checks.exercises("05")
    assert [(ex.number, ex.answer, ex.optional) for ex in declared] == [
        (1, ("precision_recall_f1",), False), (2, ("choose_threshold",), False), (3, ("rolling_zscore",), True)]
    source = next(SOURCES.glob("05_*.py")).read_text(encoding="utf-8")
    positions = [source.index(f"### {ex.name}\n") for ex in declared]
    assert positions == sorted(positions)
