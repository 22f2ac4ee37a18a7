"""Tests for utils.anomaly (simulator, data builders, detector helpers) and utils.checks.anomaly (both ways)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from tests.answers import as_student
from tests.notebook_code import code_cells, defined_names, notebook_function
from utils import anomaly
from utils.anomaly import HOURS_PER_WEEK, KINDS, KPIS, SIZES
from utils.checks.anomaly import _zscore_variant, check_precision_recall_f1, check_rolling_zscore


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


class _ConstantForecaster:
    """Stands in for notebook 05's trained model: forecasts 0 for every KPI of every window."""

    def predict(self, X, verbose=0):
        return np.zeros((len(X), len(KPIS)), dtype="float32")

    def predict_on_batch(self, X):
        return self.predict(X)


def _notebook_05(net, **extra):
    """The names notebook 05's detector functions read, with the constant forecaster as the model."""
    window, scaled = 24, anomaly.scale_cells(net.kpis)
    return dict(np=np, anomaly=anomaly, scaled=scaled, WINDOW=window, calendar=anomaly.time_features(net.n_hours),
                model=_ConstantForecaster(), network=net, KPIS=KPIS, **extra)


def test_the_notebooks_lstm_errors_are_observed_minus_forecast_from_week_2(net):
    names = _notebook_05(net)
    errors = notebook_function("05", "lstm_errors", **names)([1, 3])
    assert errors.shape == (2, net.n_hours, len(KPIS)) and np.isnan(errors[:, :HOURS_PER_WEEK]).all()
    np.testing.assert_allclose(errors[:, HOURS_PER_WEEK:], names["scaled"][[1, 3], HOURS_PER_WEEK:], rtol=1e-6)
    forecast = notebook_function("05", "lstm_forecast", **names)
    assert np.array_equal(forecast(names["scaled"][:2], 30), np.zeros((2, len(KPIS))))


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
    forecast = notebook_function("05", "seasonal_forecast", np=np, anomaly=anomaly)
    series = np.zeros((1, 5 * HOURS_PER_WEEK, 1))
    t = 4 * HOURS_PER_WEEK + 7
    series[0, t - np.array([1, 2, 3, 4]) * HOURS_PER_WEEK, 0] = [1.0, 50.0, 2.0, 3.0]  # one faulty week: 50
    assert forecast(series, t, 4)[0, 0] == 2.5 and forecast(series, t, 1)[0, 0] == 1.0
    assert forecast(series, HOURS_PER_WEEK + 7, 4)[0, 0] == series[0, 7, 0]  # in week 2 only one week exists


def test_the_notebooks_online_errors_replace_flagged_hours_by_their_forecast():
    online_errors = notebook_function("05", "online_errors", np=np)

    def persistence(inputs, t):  # forecast: the hour before
        return inputs[:, t - 1]

    series = np.array([[0.0, 0.0, 10.0, 10.0, 10.0, 0.0, 0.0]])[..., None]  # a 3-hour fault
    plain = online_errors(persistence, series, 1)
    assert np.isnan(plain[0, 0, 0]) and plain[0, 1:, 0].tolist() == [0, 10, 0, 0, -10, 0]  # misses and an echo

    def score(errors, hour):
        return np.abs(errors[..., 0])

    live = online_errors(persistence, series, 1, score, cut=5.0)
    assert live[0, 1:, 0].tolist() == [0, 10, 10, 10, 0, 0]  # every fault hour flagged, no echo


def test_scorecard_counts_sizes_events_and_false_alarms():
    labels = np.array([[0, 1, 1, 0, 2, 0, 0, 0] * 3])
    events = [anomaly.Anomaly(0, "spike", "large", 1, 2), anomaly.Anomaly(0, "outage", "subtle", 4, 1)]
    labels[0, 8:] = 0
    flags = np.zeros(labels.shape, bool)
    flags[0, [1, 2, 6, 20]] = True  # the large spike, one false alarm, and one outside the judged hours
    judged = np.ones(labels.shape, bool)
    judged[0, 20:] = False
    row = anomaly.scorecard(flags, labels, events, judged)
    assert row["precision"] == pytest.approx(2 / 3) and row["recall"] == pytest.approx(2 / 3)
    assert row["F1 large"] == pytest.approx(0.8) and row["F1 subtle"] == 0.0
    assert row["F1 spike"] == pytest.approx(0.8) and row["F1 outage"] == 0.0
    assert row["events found"] == "1/2" and row["false alarms / cell-day"] == pytest.approx(1 / (20 / 24))
    with pytest.raises(ValueError, match="same shape"):
        anomaly.scorecard(flags, labels[:, :5], events, judged)


# --- detector helpers -------------------------------------------------------------------------------------------


def test_rolling_zscore_matches_a_loop_and_handles_flat_stretches():
    x = np.concatenate([np.random.default_rng(1).normal(size=30), np.full(10, 2.0)])
    z = anomaly.rolling_zscore(x, 6)
    assert np.isnan(z[:6]).all() and np.isfinite(z[6:]).all()
    assert np.allclose(z[6:], _zscore_variant(x, 6)[6:])
    assert z[-1] == 0.0  # a flat window and the same value: z = 0, not a division by zero
    zscore_scores = notebook_function("05", "zscore_scores", np=np, rolling_zscore=anomaly.rolling_zscore,
                                      anomaly=anomaly)
    long = np.random.default_rng(2).normal(size=HOURS_PER_WEEK + 40)
    scores = zscore_scores(np.stack([np.stack([long, -3 * long], axis=-1)]), 6)
    assert scores.shape == (1, len(long)) and np.isnan(scores[0, :HOURS_PER_WEEK]).all()  # week 1 is not judged
    assert np.allclose(scores[0, HOURS_PER_WEEK:], np.abs(anomaly.rolling_zscore(long, 6))[HOURS_PER_WEEK:])


def test_precision_recall_f1():
    flags = np.array([1, 1, 1, 1, 0, 0, 0, 0], bool)
    truth = np.array([1, 1, 1, 0, 1, 1, 0, 0], bool)
    assert np.allclose(anomaly.precision_recall_f1(flags, truth), (0.75, 0.6, 2 * 0.45 / 1.35))
    assert anomaly.precision_recall_f1(np.zeros(4, bool), truth[:4]) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="same shape"):
        anomaly.precision_recall_f1(flags, truth[:3])


def test_the_notebooks_threshold_separates_perfectly_when_it_can():
    choose_threshold = notebook_function("05", "choose_threshold", np=np, anomaly=anomaly)
    scores = np.array([[np.nan, 0.1, 0.2, 0.3, 5.0, 6.0, 0.15, 0.25]])
    labels = np.array([[1, 0, 0, 0, 2, 3, 0, 0]])  # the NaN hour is skipped, whatever its label
    threshold, f1 = choose_threshold(scores, labels, candidates=50)
    assert f1 == 1.0 and 0.3 <= threshold < 5.0
    labels[0, 6] = 1  # an anomalous hour scored below the median: no candidate reaches it
    threshold, f1 = choose_threshold(scores, labels, candidates=50)
    assert f1 == pytest.approx(0.8) and 0.3 <= threshold < 5.0  # 2 of 3 found, no false alarm


def test_the_detector_of_05_is_written_in_the_notebook():
    """The lesson (forecast error -> score -> threshold) is in visible cells of 05, not hidden in utils.anomaly."""
    written = set().union(*map(defined_names, code_cells("05")))
    assert {"lstm_errors", "make_scorer", "choose_threshold", "zscore_scores", "seasonal_forecast",
            "online_errors"} <= written  # and utils has no second copy: tests/test_saved_code.py


def test_per_kind_table_and_events_found():
    labels = np.array([[0, 1, 1, 0, 2, 0, 4, 4, 0, 0]])
    flags = np.array([[0, 1, 0, 1, 0, 0, 1, 1, 0, 0]], bool)
    events = [anomaly.Anomaly(0, "spike", "large", 1, 2), anomaly.Anomaly(0, "outage", "subtle", 4, 1),
              anomaly.Anomaly(0, "freeze", "large", 6, 2)]
    table = anomaly.per_kind_table(flags, labels, events)
    assert table.loc["spike", "precision"] == 0.5 and table.loc["spike", "recall"] == 0.5  # 1 TP, 1 false alarm
    assert table.loc["outage", "recall"] == 0.0 and table.loc["freeze", "recall"] == 1.0
    assert table.loc["all kinds", "precision"] == 0.75 and table.loc["all kinds", "anomalous hours"] == 5
    assert table.loc["level_shift", "events found"] == "0/0" and table.loc["all kinds", "events found"] == "2/3"
    found = anomaly.events_found(flags, events)
    assert found.loc["spike", "large"] == "1/1 (50%)" and found.loc["outage", "subtle"] == "0/1 (0%)"
    assert found.loc["spike", "subtle"] == "0/0"


def test_renumber_and_plot(net):
    events = anomaly.renumber(net.anomalies, [2, 3])
    assert {a.cell for a in events} == {0, 1} and len(events) == 2 * len(KINDS) * 2
    flags = np.zeros(net.n_hours, bool)
    flags[200:210] = True
    axes = anomaly.plot_cell(net, 1, slice(168, 336), flags={"LSTM": flags, "z": ~flags})
    assert len(axes) == 2 and axes[0].get_title() == "Cell 1"
    assert isinstance(net.summary(), pd.DataFrame)


# --- checkers, both ways -------------------------------------------------------------------------------------------


def test_rolling_zscore_checker_accepts_the_reference(capsys):
    assert check_rolling_zscore(as_student(anomaly.rolling_zscore))
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, hint", [
    (lambda x, w: _zscore_variant(x, w, include_now=True), "includes x_t itself"),
    (lambda x, w: _zscore_variant(x, w, centred=True), "looks into the future"),
    (lambda x, w: _zscore_variant(x, w, ddof=1), "ddof=1"),
    (lambda x, w: _zscore_variant(x, w, square=True), "divided by the variance"),
    (lambda x, w: _zscore_variant(x, w, fill=0.0), "leave NaN there"),
    (lambda x, w: np.abs(_zscore_variant(x, w)), "keep the sign"),
    (lambda x, w: _zscore_variant(x, w, guard=False), "floor it"),
    (lambda x, w: _zscore_variant(x, w)[1:], "one z-score per hour"),
    (lambda x, w: 1 / 0, "ZeroDivisionError"),
    (lambda x, w: "z", "return an array of numbers"),
])
def test_rolling_zscore_checker_names_the_mistake(wrong, hint, capsys):
    assert not check_rolling_zscore(wrong)
    assert hint in capsys.readouterr().out


def test_checkers_say_not_done(capsys):
    def stub(*args):
        raise NotImplementedError

    assert not check_rolling_zscore(stub) and not check_precision_recall_f1(stub)
    assert capsys.readouterr().out.count("not done yet") == 2


def test_prf_checker_accepts_the_reference(capsys):
    assert check_precision_recall_f1(as_student(anomaly.precision_recall_f1))
    assert "correct" in capsys.readouterr().out


def _prf(flags, truth, *, swap=False, mean=False, accuracy=False, half=False, divide_blindly=False):
    flags, truth = np.asarray(flags, bool), np.asarray(truth, bool)
    tp, fp, fn = np.sum(flags & truth), np.sum(flags & ~truth), np.sum(~flags & truth)
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
    (lambda f, t: _prf(f, t, divide_blindly=True), "return 0"),
    (lambda f, t: int(np.sum(f & t)) / int(np.sum(f)), "return 0 for an undefined ratio"),
    (lambda f, t: (0.5, 0.5), "three numbers"),
])
def test_prf_checker_names_the_mistake(wrong, hint, capsys):
    assert not check_precision_recall_f1(wrong)
    assert hint in capsys.readouterr().out
