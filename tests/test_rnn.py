"""utils.rnn (the toy RNN) and its exercise check, utils.checks.rnn, tested both ways."""

from __future__ import annotations

import numpy as np
import pytest

from tests.answers import as_student
from tests.notebook_code import call_arguments, code_cells, notebook_namespace
from utils import checks, rnn
from utils.checks.rnn import check_rnn_forward, check_toy_rnn_forward
from utils.data import load_monthly_closes


def test_reference_matches_the_lecture_example():
    hidden, prediction = rnn.toy_rnn_forward([0.0, 0.5, 1.0], **rnn.TOY_WEIGHTS)
    np.testing.assert_allclose(hidden, [0.0, 0.9, 1.35])
    assert prediction == pytest.approx(1.485)


def test_table_rows_follow_the_equation():
    table = rnn.toy_rnn_table([1.0, 0.5, 0.0], **rnn.TOY_WEIGHTS)
    np.testing.assert_allclose(table["h_t = ReLU(z_t)"], [1.8, 0.0, 0.0])
    assert list(table.index) == [1, 2, 3]


def test_keras_model_matches_numpy_on_random_weights_and_lengths():
    rng = np.random.default_rng(0)
    for length in (1, 4, 17):
        weights = dict(zip(["w1", "b1", "w2", "w3", "b2"], rng.normal(size=5), strict=True))
        xs = rng.uniform(size=length)
        keras_out = float(rnn.toy_rnn_keras(**weights)(xs.reshape(1, -1, 1).astype("float32"))[0, 0])
        assert keras_out == pytest.approx(rnn.toy_rnn_forward(xs, **weights)[1], abs=1e-5)


def test_keras_model_refuses_a_weight_that_is_not_a_finite_number():
    with pytest.raises(ValueError, match=r"finite numbers.*pass e\.g\. \*\*rnn\.TOY_WEIGHTS"):
        rnn.toy_rnn_keras(**{**rnn.TOY_WEIGHTS, "w2": np.nan})
    with pytest.raises(TypeError):
        rnn.toy_rnn_keras(**{**rnn.TOY_WEIGHTS, "b1": [0.0, 1.0]})


def test_table_terms_add_up_to_z_and_its_relu_is_the_forward_pass():
    xs = np.array([0.2, 1.0, -0.3, 0.9, 0.4])
    weights = {"w1": 1.3, "b1": 0.1, "w2": -0.7, "w3": 0.8, "b2": -0.2}
    table = rnn.toy_rnn_table(xs, **weights)
    hidden, prediction = rnn.toy_rnn_forward(xs, **weights)
    np.testing.assert_allclose(table["z_t = … + b1"], table["w1·x_t"] + table["w2·h_(t-1)"] + weights["b1"])
    np.testing.assert_allclose(table["h_t = ReLU(z_t)"], np.maximum(table["z_t = … + b1"], 0.0))
    np.testing.assert_allclose(table["w2·h_(t-1)"], weights["w2"] * np.concatenate([[0.0], hidden[:-1]]))
    assert table["prediction w3·h_t + b2"].iloc[-1] == pytest.approx(prediction)


def test_notebook_01_writes_the_keras_toy_rnn_in_a_cell_and_it_gives_the_numpy_numbers():
    toy_rnn_keras = notebook_namespace("01", "toy_rnn_keras")["toy_rnn_keras"]
    xs = np.array([0.0, 0.5, 1.0])
    model = toy_rnn_keras(**rnn.TOY_WEIGHTS)
    assert float(model(xs.reshape(1, -1, 1).astype("float32"))[0, 0]) == pytest.approx(1.485, abs=1e-6)


def test_notebook_01_draws_its_learning_curves_with_the_shared_helper():
    assert [args[0] for args in call_arguments("01", "plots.plot_learning_curves")] == ["history"]
    inline = [args for args in call_arguments("01", "ax.plot") if "history.history" in " ".join(args)]
    assert not inline, f"learning curves drawn inline: {inline}"


def test_monthly_training_data_shapes_split_and_padding():
    train_x, train_y, test_x, test_y = rnn.monthly_training_data(load_monthly_closes(), split="2008-01-01")
    assert train_x.shape[1:] == (12, 1) and test_x.shape[1:] == (12, 1)
    assert len(train_x) == len(train_y) and len(test_x) == len(test_y)
    # each stretch ends with its own last price, so the last real value is exactly 1.0 before the padding
    for row in train_x[:20, :, 0]:
        real = row[row != -1.0]
        assert 3 <= len(real) <= 12 and real[-1] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="min_len"):
        rnn.monthly_training_data(load_monthly_closes(), split="2008-01-01", min_len=5, max_len=2)
    with pytest.raises(ValueError, match="choose a date inside"):
        rnn.monthly_training_data(load_monthly_closes(), split="1990-01-01")


# --- the exercise check, both ways ----------------------------------------------------------------------------------


def _relu(z):
    return np.maximum(z, 0.0)


def no_relu(xs, w1, b1, w2, w3, b2):
    hidden, h = [], 0.0
    for x in xs:
        h = w1 * x + w2 * h + b1
        hidden.append(h)
    return np.array(hidden), w3 * hidden[-1] + b2


def no_feedback(xs, w1, b1, w2, w3, b2):
    hidden = [_relu(w1 * x + b1) for x in xs]
    return np.array(hidden), w3 * hidden[-1] + b2


def feeds_output_back(xs, w1, b1, w2, w3, b2):
    hidden, h = [], 0.0
    for x in xs:
        new = _relu(w1 * x + w2 * h + b1)
        hidden.append(new)
        h = w3 * new + b2
    return np.array(hidden), w3 * hidden[-1] + b2


def first_not_last(xs, w1, b1, w2, w3, b2):
    hidden, _ = written_in_this_test(xs, w1, b1, w2, w3, b2)
    return hidden, w3 * hidden[0] + b2


def missing_b1(xs, w1, b1, w2, w3, b2):
    return written_in_this_test(xs, w1, 0.0, w2, w3, b2)


def missing_b2(xs, w1, b1, w2, w3, b2):
    hidden, _ = written_in_this_test(xs, w1, b1, w2, w3, b2)
    return hidden, w3 * hidden[-1]


def two_days_only(xs, w1, b1, w2, w3, b2):
    h1 = _relu(w1 * xs[0] + b1)
    h2 = _relu(w1 * xs[1] + w2 * h1 + b1)
    return np.array([h1, h2]), w3 * h2 + b2


def swapped_return(xs, w1, b1, w2, w3, b2):
    hidden, prediction = written_in_this_test(xs, w1, b1, w2, w3, b2)
    return prediction, hidden


def returns_prediction_only(xs, w1, b1, w2, w3, b2):
    return written_in_this_test(xs, w1, b1, w2, w3, b2)[1]


def not_done(xs, w1, b1, w2, w3, b2):
    raise NotImplementedError


def test_reference_passes(capsys):
    assert check_toy_rnn_forward(as_student(rnn.toy_rnn_forward)) is True
    assert "correct" in capsys.readouterr().out


# --- expected values that do not come from the reference: worked by hand, and Keras' SimpleRNN ----------------------

# (xs, weights, hidden, prediction), each worked by hand in its comment. Weights as the check uses them: w2 < 0 and
# biases that are not 0, so that a ReLU, a bias or the feedback left out changes the numbers.
CHECK_LIKE = {"w1": 1.8, "b1": 0.1, "w2": -0.5, "w3": 1.1, "b2": 0.2}
BY_HAND = [
    # h1 = ReLU(1.8·1 + 0.1) = 1.9; h2 = ReLU(1.8·0 − 0.5·1.9 + 0.1) = ReLU(−0.85) = 0; y = 1.1·0 + 0.2 = 0.2
    ([1.0, 0.0], CHECK_LIKE, [1.9, 0.0], 0.2),
    # h1 = 1.9; h2 = ReLU(0.9 − 0.95 + 0.1) = 0.05; h3 = ReLU(1.8 − 0.025 + 0.1) = 1.875; y = 1.1·1.875 + 0.2 = 2.2625
    ([1.0, 0.5, 1.0], CHECK_LIKE, [1.9, 0.05, 1.875], 2.2625),
    # one step: h1 = ReLU(1.8·(−1) + 0.1) = 0; y = 0.2
    ([-1.0], CHECK_LIKE, [0.0], 0.2),
    # the lecture's weights (no biases): h = 0, 0.9, 1.8·1 − 0.5·0.9 = 1.35; y = 1.1·1.35 = 1.485
    ([0.0, 0.5, 1.0], rnn.TOY_WEIGHTS, [0.0, 0.9, 1.35], 1.485),
]


def keras_toy_rnn(xs, w1, b1, w2, w3, b2):
    """The toy RNN as Keras computes it: SimpleRNN(1, ReLU) with these weights, then Dense(1) on the last step.

    Built here from Keras' own layers (not from utils.rnn), in float64: values no fault of the reference can move.
    """
    import keras

    inputs = keras.Input((None, 1), dtype="float64")
    hidden = keras.layers.SimpleRNN(1, activation="relu", return_sequences=True, dtype="float64")
    output = keras.layers.Dense(1, dtype="float64")
    sequence = hidden(inputs)
    model = keras.Model(inputs, [sequence, output(sequence[:, -1])])
    hidden.set_weights([np.array([[w1]]), np.array([[w2]]), np.array([b1])])
    output.set_weights([np.array([[w3]]), np.array([b2])])
    hs, prediction = model(np.asarray(xs, dtype="float64").reshape(1, -1, 1))
    return np.asarray(hs)[0, :, 0], float(np.asarray(prediction)[0, 0])


def written_in_this_test(xs, w1, b1, w2, w3, b2):
    """The forward pass as a student writes it, here rather than taken from utils.rnn."""
    hidden, h = [], 0.0
    for x in xs:
        h = max(0.0, w1 * x + w2 * h + b1)
        hidden.append(h)
    return np.array(hidden), w3 * hidden[-1] + b2


@pytest.mark.parametrize("xs, weights, hidden, prediction", BY_HAND)
def test_hand_worked_cases_agree_with_keras_this_tests_answer_and_the_reference(xs, weights, hidden, prediction):
    for forward in (keras_toy_rnn, written_in_this_test, rnn.toy_rnn_forward):
        got_hidden, got_prediction = forward(np.array(xs), **weights)
        np.testing.assert_allclose(got_hidden, hidden, atol=1e-12)
        assert got_prediction == pytest.approx(prediction, abs=1e-12)


def test_this_tests_answer_is_keras_simple_rnn_on_random_weights_and_lengths():
    rng = np.random.default_rng(3)
    for length in (1, 5, 12):
        weights = dict(zip(["w1", "b1", "w2", "w3", "b2"], rng.normal(size=5), strict=True))
        xs = rng.normal(size=length)
        for got, want in zip(written_in_this_test(xs, **weights), keras_toy_rnn(xs, **weights), strict=True):
            np.testing.assert_allclose(got, want, atol=1e-12)


def test_the_check_accepts_an_answer_that_does_not_come_from_the_reference(capsys):
    """The check compares with the reference on its cases (fresh ones each run); an answer pinned to Keras passing
    them means the check's expected values are right, whatever the reference does."""
    assert check_toy_rnn_forward(written_in_this_test) is True, capsys.readouterr().out


def test_hidden_as_a_list_is_rejected_because_later_cells_compare_it_as_an_array(capsys):
    def as_list(*args, **kwargs):
        hidden, prediction = rnn.toy_rnn_forward(*args, **kwargs)
        return list(hidden), float(prediction)

    assert check_toy_rnn_forward(as_list) is False
    out = capsys.readouterr().out
    assert "right values, but hidden is a list" in out and "into a NumPy array" in out, out
    assert "return np.array(hidden)" not in out, "the first try names the fault without the code"
    check_toy_rnn_forward(as_list)
    assert "return np.array(hidden)" in capsys.readouterr().out, "the second try shows the worked step"


def test_a_prediction_of_shape_1_is_named_as_such(capsys):
    def pred_array(xs, w1, b1, w2, w3, b2):
        hidden, _ = rnn.toy_rnn_forward(xs, w1, b1, w2, w3, b2)
        return hidden, w3 * hidden[-1:] + b2  # shape (1,)

    assert check_toy_rnn_forward(pred_array) is False
    out = capsys.readouterr().out
    assert "right value but is an array of shape (1,), not a number" in out, out
    assert "wrong prediction" not in out


@pytest.mark.parametrize("answer", [("hello", "world"), ((h for h in (0.1, 0.2)), 1.0), None])
def test_odd_answers_get_a_finding_not_a_crash(capsys, answer):
    assert check_toy_rnn_forward(lambda *a, **k: answer) is False
    out = capsys.readouterr().out
    assert "✗" in out and "check itself" not in out, out
    if answer is None:
        assert "your function returned nothing (None): add a `return` line" in out
        assert "expected None" not in out


def test_not_implemented_for_some_inputs_only_is_failing_not_not_done(capsys):
    def short_only(xs, *weights, **kw):
        if len(xs) > 3:
            raise NotImplementedError("long sequences later")
        return rnn.toy_rnn_forward(xs, *weights, **kw)

    assert check_toy_rnn_forward(short_only) is False
    out = capsys.readouterr().out
    assert "not done" not in out and "for some inputs only" in out, out
    assert checks.progress()["Exercise 1 · toy RNN forward pass"] == "failing"


def test_the_line_named_in_an_error_is_in_the_students_code(capsys):
    def ragged(xs, w1, b1, w2, w3, b2):
        hidden = [np.zeros(i + 1) for i in range(len(xs))]
        return np.stack(hidden), 0.0  # raises inside NumPy for sequences longer than 1

    assert check_toy_rnn_forward(ragged) is False
    out = capsys.readouterr().out
    line = ragged.__code__.co_firstlineno + 2
    assert f"(line {line} of your code: return np.stack(hidden), 0.0" in out, out


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (no_relu, "ReLU missing"),
        (no_feedback, "not fed back"),
        (feeds_output_back, "output w3·h + b2 is fed back"),
        (first_not_last, "uses the first hidden value"),
        (missing_b1, "bias b1 is missing"),
        (missing_b2, "bias b2 is missing"),
        (two_days_only, "run it over every element of xs"),
        (swapped_return, "wrong order"),
        (returns_prediction_only, "return a pair"),
    ],
)
def test_typical_mistakes_are_rejected_with_their_hint(capsys, wrong, hint):
    assert check_toy_rnn_forward(as_student(wrong)) is False
    out = capsys.readouterr().out
    assert hint in out, out
    assert "❌" in out and "a worked step:" not in out and "np.maximum" not in out and "return np." not in out, out
    assert "calls utils.rnn" not in out, out


def test_parameters_named_otherwise_are_told_the_names_the_cells_below_use(capsys):
    def capitals(xs, W1, B1, W2, W3, B2):
        return rnn.toy_rnn_forward(xs, W1, B1, W2, W3, B2)

    assert check_toy_rnn_forward(capitals) is False
    out = capsys.readouterr().out
    assert "name the parameters exactly as the exercise does" in out and "every element" not in out, out


def test_a_lookup_table_of_the_fixed_cases_fails_on_the_cases_drawn_for_the_run(capsys):
    from utils.checks import rnn as rnn_checks

    table = {tuple(xs): rnn.toy_rnn_forward(xs, **rnn_checks._WEIGHTS) for xs in rnn_checks._CASES}

    def lookup(xs, w1, b1, w2, w3, b2):
        return table.get(tuple(xs), (np.zeros(len(xs)), 0.0))

    assert check_toy_rnn_forward(lookup) is False
    assert "weights drawn for this run" in capsys.readouterr().out


def test_not_done_says_so_and_reference_takes_over(capsys):
    assert check_toy_rnn_forward(not_done) is False
    assert "not done yet" in capsys.readouterr().out
    assert checks.use_reference_if_needed(not_done, False, check_toy_rnn_forward) is rnn.toy_rnn_forward
    assert checks.progress()["Exercise 1 · toy RNN forward pass"] == "not done"


# --- notebook 01's noisy-sensor section: the data, the EMA baseline and reading the trained weights -----------------


@pytest.fixture(scope="module")
def sensor():
    """The functions notebook 01 writes for its noisy-sensor task, taken from its cells."""
    return notebook_namespace("01", "simulate_sensor", "ema_forecast", "mse", "Diagonal", "toy_rnns_side_by_side",
                              "toy_weights")


def test_simulated_sensor_windows_have_the_documented_shape_noise_and_drift(sensor):
    x, y = sensor["simulate_sensor"](4000, steps=12, seed=7)
    assert x.shape == (4000, 12, 1) and y.shape == (4000,)
    # reading_{t+1} - reading_t = one walk step + two independent noises: variance 0.035² + 2·0.1²
    diffs = np.diff(np.concatenate([x[..., 0], y[:, None]], axis=1), axis=1)
    assert np.var(diffs) == pytest.approx(0.035**2 + 2 * 0.1**2, rel=0.05)
    # consecutive differences share one noise term (with opposite signs): correlation -0.1² / (0.035² + 2·0.1²)
    noise_share = 2 * 0.1**2 / (0.035**2 + 2 * 0.1**2)
    lag1 = np.mean(diffs[:, 1:] * diffs[:, :-1]) / np.var(diffs)
    assert lag1 == pytest.approx(-noise_share / 2, abs=0.03)
    assert 0.5 - 0.4 < x[:, 0, 0].min() and x[:, 0, 0].max() < 1.5 + 0.4
    again, _ = sensor["simulate_sensor"](4000, steps=12, seed=7)
    np.testing.assert_array_equal(x, again)


def test_simulated_sensor_can_return_the_hidden_level_the_readings_scatter_around(sensor):
    """Notebook 01's figure draws the true level; it must be the one the readings were drawn from, and asking for it
    must not change the readings."""
    x, y = sensor["simulate_sensor"](2000, steps=12, seed=9)
    x2, y2, level = sensor["simulate_sensor"](2000, steps=12, seed=9, with_level=True)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert level.shape == (2000, 13)
    noise = np.concatenate([x[..., 0], y[:, None]], axis=1) - level
    assert np.std(noise) == pytest.approx(0.1, rel=0.03)
    assert abs(np.mean(noise)) < 0.005
    assert np.std(np.diff(level, axis=1)) == pytest.approx(0.035, rel=0.03)


@pytest.mark.parametrize("bad", [{"n_windows": 0}, {"n_windows": 2.5}, {"n_windows": 3, "steps": 0}])
def test_simulated_sensor_refuses_a_size_that_is_not_a_positive_whole_number(sensor, bad):
    with pytest.raises(ValueError, match="must be a positive whole number"):
        sensor["simulate_sensor"](**bad)


def test_ema_forecast_follows_its_recurrence_and_a_1_is_persistence(sensor):
    ema = sensor["ema_forecast"]
    x = np.array([[1.0, 2.0, 4.0]])[..., None]
    assert ema(x, 0.5)[0] == pytest.approx(0.5 * (0.5 * 1.0 + 0.5 * 2.0) + 0.5 * 4.0)
    rng = np.random.default_rng(0)
    windows = rng.uniform(0.5, 1.5, size=(20, 9, 1))
    np.testing.assert_allclose(ema(windows, 1.0), windows[:, -1, 0])
    np.testing.assert_allclose(ema(np.full((3, 5, 1), 1.3), 0.3), 1.3)
    for a in (0.0, -0.1, 1.5):
        with pytest.raises(ValueError, match=r"must be in \(0, 1\]"):
            ema(windows, a)


def test_toy_rnn_with_w2_equal_one_minus_a_is_the_ema_apart_from_its_start(sensor):
    """The notebook's claim: with ReLU on, the toy RNN with w1 = a, w2 = 1 - a, w3 = 1 is an EMA (started at h_0 = 0,
    where the EMA starts at the first reading: they differ by (1 - a)^T times the first reading)."""
    rng = np.random.default_rng(1)
    x = rng.uniform(0.5, 1.5, size=(6, 12, 1))
    for a in (0.25, 0.6):
        rnn_out = np.array([rnn.toy_rnn_forward(w[:, 0], w1=a, b1=0.0, w2=1 - a, w3=1.0, b2=0.0)[1] for w in x])
        np.testing.assert_allclose(rnn_out + (1 - a) ** 12 * x[:, 0, 0], sensor["ema_forecast"](x, a))


def test_side_by_side_holds_each_runs_five_weights_and_computes_each_toy_rnn(sensor):
    starts = [{"w1": 0.7, "b1": -0.05, "w2": 0.6, "w3": 0.4, "b2": 0.1}, {"w1": 1.3, "b1": 0.2, "w2": -0.3, "w3": 0.9,
                                                                         "b2": -0.4}]
    model = sensor["toy_rnns_side_by_side"](starts)
    for k, start in enumerate(starts):
        read = sensor["toy_weights"](model, k)
        assert read.keys() == start.keys()
        for name, value in start.items():
            assert read[name] == pytest.approx(value, abs=1e-6), (k, name)
    xs = np.array([[0.2, 1.0, 0.4, 0.9]], dtype="float32")[..., None]
    for k, prediction in enumerate(model(xs)):
        assert float(np.asarray(prediction)[0]) == pytest.approx(rnn.toy_rnn_forward(xs[0, :, 0], **starts[k])[1],
                                                                 abs=1e-5)


def test_mse_is_the_mean_squared_error(sensor):
    assert sensor["mse"]([1.0, 2.0], np.array([0.0, 4.0])) == pytest.approx((1 + 4) / 2)


def test_notebook_01_fits_on_training_windows_and_picks_the_ema_on_validation():
    cells = code_cells("01")
    fits = [cell for cell in cells if "sensor_model.fit(" in cell]
    assert len(fits) == 1 and "sensor_model.fit(sensor_train_x, [sensor_train_y]" in fits[0]
    assert "validation_data=(sensor_val_x" in fits[0] and "sensor_test" not in fits[0]
    choice = next(cell for cell in cells if "ema_a = " in cell)
    assert "ema_forecast(sensor_val_x" in choice and "sensor_test" not in choice
    scored = [cell for cell in cells if "sensor_test_x" in cell and "simulate_sensor(1000" not in cell]
    assert len(scored) == 1, "the test windows are scored in one cell, once"


def test_runs_trained_side_by_side_learn_as_separate_models_would(sensor):
    """Notebook 01 trains its five starts as the units of one layer, kept apart by diagonal weights: the loss is the
    sum of their MSEs, so each run's gradient, and Adam's step, must be what it would be alone (the constraint keeps
    the other entries at 0)."""
    import keras

    x, y = sensor["simulate_sensor"](64, seed=5)
    starts = [{"w1": 0.6, "b1": 0.0, "w2": 0.5, "w3": 0.7, "b2": 0.0}, {"w1": 0.2, "b1": 0.0, "w2": 0.9, "w3": 0.3,
                                                                       "b2": 0.0}]

    def trained(group):
        model = sensor["toy_rnns_side_by_side"](group)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05), loss=["mse"] * len(group))
        model.fit(x, [y] * len(group), epochs=2, batch_size=16, shuffle=False, verbose=0)
        return model

    together = trained(starts)
    recurrent_kernel = together.get_layer("recurrent_units").get_weights()[1]
    assert recurrent_kernel[0, 1] == 0 and recurrent_kernel[1, 0] == 0
    for k, start in enumerate(starts):
        alone = sensor["toy_weights"](trained([start]), 0)
        for name, value in alone.items():
            assert sensor["toy_weights"](together, k)[name] == pytest.approx(value, abs=1e-5), name


# --- Exercise 2: a tanh RNN layer in matrix form, tested both ways ---------------------------------------------------


def keras_simple_rnn(x, Wx, Wh, b):
    """Every hidden state of keras.layers.SimpleRNN (tanh) with these weights copied in, in float64: expected values
    that do not come from utils.rnn."""
    import keras

    layer = keras.layers.SimpleRNN(len(b), return_sequences=True, dtype="float64")
    layer.build((None, None, np.shape(x)[-1]))
    layer.set_weights([np.asarray(Wx), np.asarray(Wh), np.asarray(b)])
    return np.asarray(layer(np.asarray(x, dtype="float64")))


def cell_in_this_test(x_t, h_prev, Wx, Wh, b):
    """One step as another student writes it: a sum over units with einsum."""
    return np.tanh(np.einsum("bf,fu->bu", x_t, Wx) + np.einsum("bv,vu->bu", h_prev, Wh) + b[None, :])


def forward_in_this_test(x, Wx, Wh, b):
    """Whole sequences as another student writes them: an array filled in place, the state kept in a variable."""
    x = np.asarray(x)
    states = np.zeros((x.shape[0], x.shape[1], len(b)))
    h = np.zeros((x.shape[0], len(b)))
    for t in range(x.shape[1]):
        h = cell_in_this_test(x[:, t, :], h, Wx, Wh, b)
        states[:, t, :] = h
    return states


def test_a_hand_worked_case_agrees_with_keras_simple_rnn_and_the_reference():
    """One unit, one feature, Wx = Wh = 0.5, b = 0.1, inputs 1 then -1 (h_0 = 0):
    h_1 = tanh(0.5 + 0 + 0.1) = tanh(0.6); h_2 = tanh(-0.5 + 0.5·tanh(0.6) + 0.1)."""
    import math

    x, Wx, Wh, b = np.array([[[1.0], [-1.0]]]), np.array([[0.5]]), np.array([[0.5]]), np.array([0.1])
    h1 = math.tanh(0.6)
    by_hand = np.array([[[h1], [math.tanh(-0.4 + 0.5 * h1)]]])
    np.testing.assert_allclose(keras_simple_rnn(x, Wx, Wh, b), by_hand, atol=1e-12)
    np.testing.assert_allclose(rnn.rnn_forward(x, Wx, Wh, b), by_hand, atol=1e-12)
    np.testing.assert_allclose(forward_in_this_test(x, Wx, Wh, b), by_hand, atol=1e-12)


def test_reference_and_this_tests_answer_are_keras_simple_rnn_on_random_shapes():
    rng = np.random.default_rng(4)
    for batch, steps, features, units in ((1, 1, 1, 1), (3, 6, 2, 4), (2, 9, 5, 3)):
        x = rng.normal(size=(batch, steps, features))
        Wx, Wh, b = rng.normal(size=(features, units)), rng.normal(size=(units, units)), rng.normal(size=units)
        keras_states = keras_simple_rnn(x, Wx, Wh, b)
        np.testing.assert_allclose(rnn.rnn_forward(x, Wx, Wh, b), keras_states, atol=1e-10)
        np.testing.assert_allclose(forward_in_this_test(x, Wx, Wh, b), keras_states, atol=1e-10)
        np.testing.assert_allclose(rnn.rnn_cell_forward(x[:, 0], np.zeros((batch, units)), Wx, Wh, b),
                                   keras_states[:, 0], atol=1e-10)


def test_reference_functions_refuse_shapes_that_do_not_fit_with_the_fix():
    x, Wx, Wh, b = np.zeros((2, 3, 4)), np.zeros((4, 5)), np.zeros((5, 5)), np.zeros(5)
    with pytest.raises(ValueError, match=r"shapes do not fit.*kernel, recurrent_kernel and bias"):
        rnn.rnn_forward(x, Wh, Wx, b)
    with pytest.raises(ValueError, match=r"h_prev must have shape \(batch, units\)"):
        rnn.rnn_cell_forward(x[:, 0], np.zeros((5, 2)), Wx, Wh, b)
    with pytest.raises(ValueError, match="x must be 3-D"):
        rnn.rnn_forward(x[0], Wx, Wh, b)


def test_layer_check_accepts_the_reference_as_a_student_writes_it_and_an_answer_pinned_to_keras(capsys):
    assert check_rnn_forward(as_student(rnn.rnn_cell_forward), as_student(rnn.rnn_forward)) is True
    assert check_rnn_forward(cell_in_this_test, forward_in_this_test) is True, capsys.readouterr().out


def test_layer_check_accepts_tensorflow_ops_and_a_forward_pass_that_returns_a_list_of_lists(capsys):
    import tensorflow as tf

    def tf_cell(x_t, h_prev, Wx, Wh, b):
        return tf.tanh(tf.matmul(x_t, Wx) + tf.matmul(h_prev, Wh) + b).numpy()

    def nested_lists(x, Wx, Wh, b):
        return forward_in_this_test(x, Wx, Wh, b).tolist()

    assert check_rnn_forward(tf_cell, nested_lists) is True, capsys.readouterr().out


def test_layer_check_refuses_the_reference_itself_and_keras_simple_rnn(capsys):
    assert check_rnn_forward(rnn.rnn_cell_forward, rnn.rnn_forward) is False
    out = capsys.readouterr().out
    assert "calls utils.rnn.rnn_cell_forward" in out and "calls utils.rnn.rnn_forward" in out, out

    def via_keras(x, Wx, Wh, b):
        return keras_simple_rnn(x, Wx, Wh, b)

    assert check_rnn_forward(cell_in_this_test, via_keras) is False
    assert "calls keras.layers.SimpleRNN" in capsys.readouterr().out


def test_layer_check_refuses_a_lookup_table_of_its_fixed_cases(capsys):
    from utils.checks import rnn as rnn_checks

    fixed = rnn_checks._layer_cases(np.random.default_rng(0))[:3]  # the fixed cases; the drawn ones differ each run
    cells = {case["x"][:, -1].tobytes(): cell_in_this_test(case["x"][:, -1], np.tanh(case["x"][:, 0, :1] - case["b"]),
                                                            case["Wx"], case["Wh"], case["b"]) for case in fixed}
    layers = {case["x"].tobytes(): forward_in_this_test(case["x"], case["Wx"], case["Wh"], case["b"])
              for case in fixed}

    def cell_lookup(x_t, h_prev, Wx, Wh, b):
        return cells.get(np.asarray(x_t).tobytes(), np.zeros((len(x_t), len(b))))

    def layer_lookup(x, Wx, Wh, b):
        return layers.get(np.asarray(x).tobytes(), np.zeros((len(x), np.shape(x)[1], len(b))))

    assert check_rnn_forward(cell_lookup, layer_lookup) is False
    out = capsys.readouterr().out
    assert out.count("wrong values") == 2, out


def _step(x_t, h, Wx, Wh, b, activation=np.tanh, bias=True, Wh_t=False, swap=False, recurrent=True, after=False):
    if swap:
        Wx, Wh = Wh, Wx
    z = x_t @ Wx + (h @ (Wh.T if Wh_t else Wh) if recurrent else 0.0) + (b if bias and not after else 0.0)
    return activation(z) + (b if after else 0.0)


def _layer(step, h0=0.0, carry=True, last_only=False, time_first=False, with_h0=False):
    def forward(x, Wx, Wh, b):
        h = start = np.full((len(x), len(b)), h0)
        states = [h] if with_h0 else []
        for t in range(np.shape(x)[1]):
            h = step(x[:, t], h if carry else start, Wx, Wh, b)
            states.append(h)
        return h if last_only else np.stack(states, axis=0 if time_first else 1)

    return forward


def right_step(x_t, h, Wx, Wh, b):
    return _step(x_t, h, Wx, Wh, b)


CELL_MISTAKES = [
    (lambda *a: _step(*a, bias=False), "the bias b is missing"),
    (lambda *a: _step(*a, Wh_t=True), "Wh is used transposed"),
    (lambda *a: _step(*a, activation=lambda z: z), "tanh is missing"),
    (lambda *a: _step(*a, activation=lambda z: np.maximum(z, 0)), "ReLU instead of tanh"),
    (lambda *a: _step(*a, swap=True), "Wx and Wh are swapped"),
    (lambda *a: _step(*a, recurrent=False), "previous hidden state is left out"),
    (lambda *a: _step(*a, after=True), "b is added after tanh"),
    (lambda x_t, h, Wx, Wh, b: _step(x_t, h, Wx, Wh, b).T, "units on the first axis"),
    (lambda x_t, h, Wx, Wh, b: Wx @ x_t, "a product whose shapes do not fit"),
]

LAYER_MISTAKES = [
    (_layer(right_step, h0=1.0), "h_0 is not zeros"),
    (_layer(right_step, last_only=True), "only the last state came back"),
    (_layer(right_step, time_first=True), "the time axis comes first"),
    (_layer(right_step, with_h0=True), "h_0 is among the states returned"),
    (_layer(right_step, carry=False), "the state is not carried over"),
    (_layer(lambda *a: _step(*a, bias=False)), "in the step: the bias b is missing"),
    (_layer(lambda *a: _step(*a, activation=lambda z: z)), "in the step: tanh is missing"),
]


@pytest.mark.parametrize("wrong, hint", CELL_MISTAKES, ids=[h for _, h in CELL_MISTAKES])
def test_layer_check_names_each_mistake_of_the_step_without_code_on_the_first_try(capsys, wrong, hint):
    assert check_rnn_forward(wrong, forward_in_this_test) is False
    out = capsys.readouterr().out
    assert hint in out and "rnn_cell_forward, batch" in out and "rnn_forward, batch" not in out, out
    assert "np.tanh" not in out and "a worked step:" not in out, out
    check_rnn_forward(wrong, forward_in_this_test)
    assert "a worked step: h_t = np.tanh(x_t @ Wx + h_prev @ Wh + b)" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, hint", LAYER_MISTAKES, ids=[h for _, h in LAYER_MISTAKES])
def test_layer_check_names_each_mistake_of_the_loop(capsys, wrong, hint):
    assert check_rnn_forward(cell_in_this_test, wrong) is False
    out = capsys.readouterr().out
    assert hint in out and "rnn_forward, batch" in out and "rnn_cell_forward, batch" not in out, out
    assert "np.zeros" not in out, out


class HasArray:
    def __array__(self, dtype=None, copy=None):
        return np.full((1, 1), np.nan)


@pytest.mark.parametrize("odd", [None, "text", (h for h in range(3)), np.zeros((1, 1)), np.full((2, 3), np.nan),
                                 [[0.1, 0.2]], HasArray(), {"h": 1}])
def test_layer_check_survives_odd_answers(capsys, odd):
    assert check_rnn_forward(lambda *a: odd, lambda *a: odd) is False
    out = capsys.readouterr().out
    assert "✗" in out and "check itself" not in out and "Traceback" not in out, out


def test_layer_check_not_done_and_the_reference_takes_over(capsys):
    def stub(*args):
        raise NotImplementedError

    assert check_rnn_forward(stub, stub) is False
    assert "not done yet" in capsys.readouterr().out
    assert checks.use_reference_if_needed(stub, False, check_rnn_forward) is rnn.rnn_cell_forward
    assert checks.progress()["Exercise 2 · a tanh RNN layer in matrix form"] == "not done"
