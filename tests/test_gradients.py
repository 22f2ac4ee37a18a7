"""utils.gradients, the lesson code notebook 02 writes in its own cells, and the notebook-02 checkers (offline)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.answers import as_student
from tests.notebook_code import notebook_namespace
from utils import gradients as g
from utils import lstm
from utils.checks.gradients import check_clip_by_norm, check_day1_factor
from utils.rnn import TOY_WEIGHTS

XS = np.array([[1.0, 0.5, 0.25, 0.8], [0.3, 1.2, 0.7, 0.4]])
YS = np.array([1.0, 0.2])


@pytest.fixture(scope="module")
def nb02():
    """The functions notebook 02 defines in its cells (the chain rule, gradient descent, the memory task, ...)."""
    return notebook_namespace("02", "factors", "dssr_dw1_terms", "dssr_dw1_by_hand", "dssr_dw1_tape", "toy_ssr",
                              "gradient_descent_w1", "make_recurrent_layer", "memory_task", "memory_model",
                              "forget_gates")


# --- W2^n -----------------------------------------------------------------------------------------------------------


def test_unroll_table_is_w2_to_the_n(nb02):
    table = nb02["factors"]
    assert table.shape == (50, 5) and list(table.index[:2]) == [1, 2]
    assert table.loc[10, "W2 = 2"] == 1024.0
    assert table.loc[1, "W2 = 0.5"] == 0.5
    assert (table["W2 = 1"] == 1.0).all()
    assert table.loc[3, "W2 = 0.9"] == pytest.approx(0.729)


def test_day1_factor_reference_counts_t_minus_1_unrolls_and_refuses_bad_input():
    assert g.day1_factor(2.0, 4) == 8.0 and g.day1_factor(0.9, 1) == 1.0
    with pytest.raises(ValueError, match="sequence length T"):
        g.day1_factor(2.0, 0)


# --- chain rule -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("w2", [TOY_WEIGHTS["w2"], 0.5, 2.0])
def test_hand_gradient_matches_finite_differences(nb02, w2):
    weights = dict(TOY_WEIGHTS, w2=w2)
    eps = 1e-6
    others = {k: v for k, v in weights.items() if k != "w1"}
    numeric = (nb02["toy_ssr"](XS, YS, w1=weights["w1"] + eps, **others)
               - nb02["toy_ssr"](XS, YS, w1=weights["w1"] - eps, **others)) / (2 * eps)
    assert nb02["dssr_dw1_by_hand"](XS, YS, **weights) == pytest.approx(numeric, rel=1e-6, abs=1e-6)


def test_hand_gradient_matches_gradient_tape(nb02):
    for w2 in (TOY_WEIGHTS["w2"], 2.0):
        weights = dict(TOY_WEIGHTS, w2=w2)
        by_hand = nb02["dssr_dw1_by_hand"](XS, YS, **weights)
        assert by_hand != 0 and nb02["dssr_dw1_tape"](XS, YS, **weights) == pytest.approx(by_hand, rel=1e-6)


def test_terms_table_day1_path_is_w2_power_when_relu_active(nb02):
    table = nb02["dssr_dw1_terms"]([1.0, 0.0, 0.0, 0.0], 4.0, w1=1.0, b1=0.0, w2=2.0, w3=1.0, b2=0.0)
    assert table["dh_T/dh_t"].tolist() == [8.0, 4.0, 2.0, 1.0]
    assert list(table.index) == [1, 2, 3, 4]
    # prediction 8, target 4: dSSR/dprediction = -2 (4 - 8) = 8; only day 1 has an input, so the sum is 8 · 8 · 1
    assert table.attrs["dssr_dpred"] == 8.0 and table["term of day t"].sum() == 64.0


def test_gradient_descent_diverges_for_large_w2_and_stalls_for_small(nb02):
    descend = nb02["gradient_descent_w1"]
    xs, weights = [[1.0, 0.0, 0.0, 0.0]], dict(w1=1.0, b1=0.0, w2=2.0, w3=1.0, b2=0.0)
    big = descend(xs, [8.0], weights, learning_rate=0.018, steps=8, w1_start=0.95)
    assert abs(big["w1"].iloc[-1] - 1.0) > abs(big["w1"].iloc[0] - 1.0)
    small = descend(xs, [0.125], dict(weights, w2=0.5), 0.018, 8, w1_start=0.95)
    assert abs(small["w1"].iloc[-1] - 0.95) < 1e-3
    clipped = descend(xs, [8.0], weights, 0.018, 8, w1_start=0.95, clip_norm=1.0)
    assert (clipped["step taken"].abs() <= 0.018 + 1e-12).all()


# --- clipping -------------------------------------------------------------------------------------------------------


def test_reference_clip_by_norm_matches_tensorflow():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    for gradient in (rng.normal(size=5) * 4, rng.normal(size=(3, 2)) * 0.1, np.zeros(4)):
        expected = tf.clip_by_norm(tf.constant(gradient), 1.5).numpy()
        np.testing.assert_allclose(g.clip_by_norm(gradient, 1.5), expected, atol=1e-12)
    with pytest.raises(ValueError, match="max_norm"):
        g.clip_by_norm([1.0], 0.0)


# --- real layers ----------------------------------------------------------------------------------------------------


def test_make_recurrent_layer_sets_forget_bias_and_rejects_bad_kinds():
    """The utils copy (the notebook's copy is kept identical by tests/test_saved_code.py)."""
    layer = g.make_recurrent_layer("LSTM", 3, forget_bias=2.5)
    layer.build((None, None, 1))
    bias = layer.cell.bias.numpy()
    assert np.allclose(bias[3:6], 2.5) and np.allclose(bias[:3], 0.0) and np.allclose(bias[6:], 0.0)
    with pytest.raises(ValueError, match="kind"):
        g.make_recurrent_layer("GRUU", 3)
    with pytest.raises(ValueError, match="forget_bias"):
        g.make_recurrent_layer("SimpleRNN", 3, forget_bias=1.0)


def test_first_input_gradient_ratios_shape_and_vanishing():
    ratios = g.first_input_gradient_ratios("LSTM", lengths=(2, 30), seeds=range(2), units=4)
    assert len(ratios) == 4 and set(ratios["length T"]) == {2, 30}
    means = g.geometric_mean_by_length(ratios)
    assert means[30] < means[2]
    with pytest.raises(ValueError, match="at least 2"):
        g.first_input_gradient_ratios("LSTM", lengths=(1,), seeds=[0])


def test_memory_task_layout(nb02):
    xs, ys = nb02["memory_task"](50, gap=7, seed=3)
    assert xs.shape == (50, 8, 2) and ys.shape == (50,)
    assert np.array_equal(xs[:, 0, 0], 2 * ys - 1)
    assert np.all(xs[:, 0, 1] == 1) and np.all(xs[:, 1:, 1] == 0)
    assert 0.2 < ys.mean() < 0.8 and xs[:, 1:, 0].std() == pytest.approx(1.0, abs=0.1)


def test_memory_model_is_one_recurrent_layer_and_a_sigmoid_with_clipping(nb02):
    model = nb02["memory_model"]("LSTM", units=4, forget_bias=5.0, clipnorm=1.0)
    assert [type(layer).__name__ for layer in model.layers] == ["LSTM", "Dense"]
    assert np.allclose(model.get_layer("recurrent").cell.bias.numpy()[4:8], 5.0)
    assert model.optimizer.clipnorm == 1.0 and nb02["memory_model"]("SimpleRNN").optimizer.clipnorm is None
    assert model.predict(np.zeros((3, 5, 2)), verbose=0).shape == (3, 1)


def test_train_step_seconds_returns_one_row_per_length():
    table = g.train_step_seconds("SimpleRNN", lengths=(5, 10), units=4, batch=4, repeats=2)
    assert list(table["length T"]) == [5, 10] and (table["ms per train step"] > 0).all()


# --- checkers, both ways --------------------------------------------------------------------------------------------


def test_day1_factor_checker_accepts_reference(capsys):
    assert check_day1_factor(lambda w2, days: w2 ** (days - 1))
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, hint", [
    (lambda w2, days: w2**days, "T - 1 unrolls"),
    (lambda w2, days: w2 * (days - 1), "do not add"),
    (lambda w2, days: w2 ** (days - 2), "one unroll too few"),
    (lambda w2, days: 1 / 0, "ZeroDivisionError"),
])
def test_day1_factor_checker_rejects_mistakes(wrong, hint, capsys):
    assert not check_day1_factor(wrong)
    assert hint in capsys.readouterr().out


def test_day1_factor_checker_accepts_a_float32_answer(capsys):
    assert check_day1_factor(lambda w2, days: np.float32(w2) ** np.float32(days - 1)) is True
    out = capsys.readouterr().out
    assert "correct" in out and "unroll" not in out, out


def test_day1_factor_checker_not_done(capsys):
    def stub(w2, days):
        raise NotImplementedError

    assert not check_day1_factor(stub)
    assert "not done yet" in capsys.readouterr().out


def test_clip_checker_accepts_reference(capsys):
    assert check_clip_by_norm(as_student(g.clip_by_norm))
    assert "correct" in capsys.readouterr().out


def _always_rescale(gradient, max_norm):
    norm = np.sqrt(np.sum(gradient**2))
    return gradient * max_norm / norm if norm > 0 else gradient


def _per_row(gradient, max_norm):
    rows = np.sqrt(np.sum(gradient**2, axis=-1, keepdims=True))
    return gradient * max_norm / np.maximum(rows, max_norm)


def _nan_on_zero(gradient, max_norm):
    norm = np.sqrt(np.sum(gradient**2))
    return gradient * min(1.0, max_norm / norm) if norm > 0 else gradient / norm


@pytest.mark.parametrize("wrong, hint", [
    (_always_rescale, "only shrink, never grow"),
    (lambda gradient, max_norm: np.clip(gradient, -max_norm, max_norm), "clipping by VALUE"),
    (lambda gradient, max_norm: gradient * max_norm / max(np.sum(gradient**2), max_norm), "square root"),
    (_per_row, "not one per row"),
    (_nan_on_zero, "never divide by 0"),
    (lambda gradient, max_norm: gradient.ravel(), "keep the gradient's shape"),
])
def test_clip_checker_rejects_mistakes(wrong, hint, capsys):
    with np.errstate(all="ignore"):
        assert not check_clip_by_norm(wrong)
    assert hint in capsys.readouterr().out


def test_forget_gates_follow_keras_equations(nb02):
    layer = g.make_recurrent_layer("LSTM", 4, forget_bias=5.0)
    layer.build((None, None, 2))
    xs, _ = nb02["memory_task"](3, gap=6, seed=0)
    gates = nb02["forget_gates"](layer, xs)
    assert gates.shape == (3, 7, 4) and np.all((gates > 0) & (gates < 1))
    W, U, b = lstm.keras_lstm_weights(layer)
    # step 1 starts from h_0 = 0: f_1 = sigmoid(x_1 · W_f + b_f), the forget block being the second of i, f, c, o
    np.testing.assert_allclose(gates[:, 0], 1 / (1 + np.exp(-(xs[:, 0] @ W[:, 4:8] + b[4:8]))), rtol=1e-5)
    zero = nb02["forget_gates"](layer, np.zeros((1, 1, 2)))
    np.testing.assert_allclose(zero, 1 / (1 + np.exp(-5.0)), rtol=1e-6)


def test_side_by_side_layers_compute_what_each_layer_computes():
    import keras

    for kind in ("SimpleRNN", "LSTM"):
        layers = []
        for seed in (0, 1):
            keras.utils.set_random_seed(seed)
            layer = g.make_recurrent_layer(kind, 3)
            layer.build((None, None, 2))
            layers.append(layer)
        combined = g.side_by_side(kind, layers, features=2)
        xs = np.random.default_rng(0).normal(size=(2, 5, 4)).astype("float32")
        together = combined(xs).numpy()
        np.testing.assert_allclose(together[:, :3], layers[0](xs[:, :, :2]).numpy(), atol=1e-6)
        np.testing.assert_allclose(together[:, 3:], layers[1](xs[:, :, 2:]).numpy(), atol=1e-6)
