"""utils.gradients, the lesson code notebook 02 writes in its own cells, and the notebook-02 checkers (offline)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tests.answers import as_student  # noqa: E402
from tests.notebook_code import notebook_namespace  # noqa: E402
from utils import checks, lstm, plots  # noqa: E402
from utils import gradients as g  # noqa: E402
from utils.checks.gradients import (  # noqa: E402
    _bptt_cases,
    _clip_cases,
    check_clip_by_norm,
    check_day1_factor,
    check_toy_rnn_gradients,
    tape_terms,
)
from utils.rnn import TOY_WEIGHTS, toy_rnn_forward  # noqa: E402

XS = np.array([[1.0, 0.3, 0.25, 0.8], [0.3, 1.2, 0.7, 0.4]])
YS = np.array([1.0, 0.2])


@pytest.fixture(autouse=True)
def fresh_session():
    """Each test starts like a fresh kernel: no earlier failing tries (they decide when a worked step is shown)."""
    checks.reset()
    yield
    checks.reset()


@pytest.fixture(scope="module")
def nb02():
    """The functions notebook 02 defines in its cells (the chain rule, gradient descent, the memory task, ...)."""
    return notebook_namespace("02", "factors", "toy_rnn_gradients", "dssr_tape", "dssr_by_hand", "toy_ssr",
                              "gradient_descent_w1", "make_recurrent_layer", "memory_task", "memory_model",
                              "lstm_gates")


# --- W2^n -----------------------------------------------------------------------------------------------------------


def test_unroll_table_is_w2_to_the_n(nb02):
    table = nb02["factors"]
    assert table.shape == (50, 5) and list(table.index[:2]) == [1, 2]
    assert table.loc[10, "W2 = 2"] == 1024.0
    assert table.loc[1, "W2 = 0.5"] == 0.5
    assert (table["W2 = 1"] == 1.0).all()
    assert table.loc[3, "W2 = 0.9"] == pytest.approx(0.729)


def test_unroll_plot_draws_no_line_over_the_w2_1_curve(nb02):
    ax = g.plot_unroll_factors(nb02["factors"])
    assert [line.get_label() for line in ax.lines] == list(nb02["factors"].columns)  # no reference line on top
    plt.close(ax.figure)


def test_unroll_widget_redraws_when_a_slider_moves(monkeypatch):
    titles = []
    monkeypatch.setattr(plt, "show", lambda: titles.append(plt.gcf().axes[0].get_title()) or plt.close("all"))
    widget = g.unroll_factor_widget(n_max=50)
    sliders = {child.description: child for child in widget.children if hasattr(child, "description")}
    assert {"W2", "unrolls n"} <= set(sliders) and sliders["unrolls n"].max == 50
    widget.update()
    sliders["W2"].value = 0.5
    sliders["unrolls n"].value = 40
    assert titles[-1] == "W2 = 0.50: after 40 unrolls day 1 counts × 9.09e-13", titles
    assert len(set(titles)) >= 3


def test_day1_factor_reference_counts_t_minus_1_unrolls_and_refuses_bad_input():
    assert g.day1_factor(2.0, 4) == 8.0 and g.day1_factor(0.9, 1) == 1.0
    with pytest.raises(ValueError, match="sequence length T"):
        g.day1_factor(2.0, 0)


# --- backpropagation through time -------------------------------------------------------------------------------------


def test_bptt_worked_by_hand():
    """Two days, x = (1, 2), W1 = 1, W2 = 0.5, W3 = 1, biases 0, y = 0: h = (1, 2.5), prediction 2.5.

    dSSR/dprediction = −2(0 − 2.5) = 5 = dSSR/dh_2. Day 2: W1 term 5 · x_2 = 10, W2 term 5 · h_1 = 5; back to day 1
    through W2: dSSR/dh_1 = 2.5, W1 term 2.5 · x_1 = 2.5, W2 term 2.5 · h_0 = 0.
    """
    weights = dict(w1=1.0, b1=0.0, w2=0.5, w3=1.0, b2=0.0)
    for terms in (g.toy_rnn_gradients([1.0, 2.0], 0.0, **weights), tape_terms([1.0, 2.0], 0.0, **weights)):
        np.testing.assert_allclose(terms[0], [2.5, 10.0])
        np.testing.assert_allclose(terms[1], [0.0, 5.0])


@pytest.mark.parametrize("w2", [TOY_WEIGHTS["w2"], 0.5, 2.0])
def test_notebook_gradients_match_finite_differences_and_the_keras_tape(nb02, w2):
    weights = dict(TOY_WEIGHTS, w2=w2)
    by_hand = nb02["dssr_by_hand"](XS, YS, **weights)
    eps = 1e-6
    for index, name in enumerate(("w1", "w2")):
        up, down = dict(weights), dict(weights)
        up[name] += eps
        down[name] -= eps
        numeric = (nb02["toy_ssr"](XS, YS, **up) - nb02["toy_ssr"](XS, YS, **down)) / (2 * eps)
        assert by_hand[index] == pytest.approx(numeric, rel=1e-6, abs=1e-6)
    assert nb02["dssr_tape"](XS, YS, **weights) == pytest.approx(by_hand, rel=1e-5, abs=1e-6)


def test_the_checkers_tape_terms_agree_with_the_keras_model_and_the_reference(nb02):
    """The checker's expected values (one weight copy per day) sum to what Keras' SimpleRNN gives: independent of
    the reference, which agrees day by day."""
    for label, xs, y, weights in _bptt_cases(np.random.default_rng(0)):
        terms = np.stack(tape_terms(xs, y, **weights))
        np.testing.assert_allclose(terms, np.stack(g.toy_rnn_gradients(xs, y, **weights)), atol=1e-10, err_msg=label)
        np.testing.assert_allclose(terms.sum(axis=1), nb02["dssr_tape"](xs[None], [y], **weights), rtol=1e-4,
                                   atol=1e-5, err_msg=label)


def test_gradient_descent_diverges_for_large_w2_and_stalls_for_small(nb02):
    descend = nb02["gradient_descent_w1"]
    xs, weights = [[1.0, 0.0, 0.0, 0.0]], dict(w1=1.0, b1=0.0, w2=2.0, w3=1.0, b2=0.0)
    big = descend(xs, [8.0], weights, learning_rate=0.018, steps=8, w1_start=0.95)
    assert abs(big["w1"].iloc[-1] - 1.0) > abs(big["w1"].iloc[0] - 1.0)
    small = descend(xs, [0.125], dict(weights, w2=0.5), 0.018, 8, w1_start=0.95)
    assert abs(small["w1"].iloc[-1] - 0.95) < 1e-3
    clipped = descend(xs, [8.0], weights, 0.018, 8, w1_start=0.95, clip_norm=1.0)
    assert (clipped["step taken"].abs() <= 0.018 + 1e-12).all()


def test_descent_plot_numbers_the_steps_with_room_and_never_two_in_one_place(nb02):
    xs, weights = [[1.0, 0.0, 0.0, 0.0]], dict(w1=1.0, b1=0.0, w2=2.0, w3=1.0, b2=0.0)
    others = {k: v for k, v in weights.items() if k != "w1"}
    fig, (zigzag, stalled) = plt.subplots(1, 2)
    path = nb02["gradient_descent_w1"](xs, [8.0], weights, learning_rate=0.018, steps=10, w1_start=0.95)
    g.plot_descent(zigzag, path, lambda w1: nb02["toy_ssr"](xs, [8.0], w1=w1, **others), "W2 = 2", w1_range=(0.2, 1.8))
    labels = [text.get_text() for text in zigzag.texts]
    assert {"0", "10"} <= set(labels) and len(labels) >= 7, labels  # not only steps 0-5
    slow = nb02["gradient_descent_w1"](xs, [8.0], weights, learning_rate=1e-6, steps=10, w1_start=0.95)
    g.plot_descent(stalled, slow, lambda w1: nb02["toy_ssr"](xs, [8.0], w1=w1, **others), "slow", w1_range=(0.94, 1.01))
    assert [text.get_text() for text in stalled.texts] == ["0–10"]  # piled-up steps share one label
    fig.canvas.draw()
    for ax in (zigzag, stalled):
        boxes = [text.get_window_extent() for text in ax.texts]
        assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:]), "two step numbers touch"
    plt.close(fig)


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


def test_memory_model_is_one_recurrent_layer_and_a_sigmoid_without_clipping(nb02):
    model = nb02["memory_model"]("LSTM", units=4, forget_bias=5.0)
    assert [type(layer).__name__ for layer in model.layers] == ["LSTM", "Dense"]
    assert np.allclose(model.get_layer("recurrent").cell.bias.numpy()[4:8], 5.0)
    assert model.optimizer.clipnorm is None
    assert model.predict(np.zeros((3, 5, 2)), verbose=0).shape == (3, 1)


def test_the_two_lstms_of_a_seed_start_alike_but_for_the_forget_bias(nb02):
    """The notebook says the two LSTMs of a seed share their initial weights and differ only in the forget bias."""
    import keras

    made = []
    for forget_bias in (None, 5.0):
        keras.utils.set_random_seed(123)
        made.append(nb02["memory_model"]("LSTM", units=4, forget_bias=forget_bias).get_weights())
    (kernel1, recurrent1, bias1, *head1), (kernel5, recurrent5, bias5, *head5) = made
    assert np.array_equal(kernel1, kernel5) and np.array_equal(recurrent1, recurrent5)
    assert all(np.array_equal(a, b) for a, b in zip(head1, head5, strict=True))
    assert np.allclose(bias1[4:8], 1.0) and np.allclose(bias5[4:8], 5.0)
    assert np.allclose(np.delete(bias1, range(4, 8)), 0) and np.allclose(np.delete(bias5, range(4, 8)), 0)


def test_lstm_gates_follow_keras_equations(nb02):
    layer = g.make_recurrent_layer("LSTM", 4, forget_bias=5.0)
    layer.build((None, None, 2))
    xs, _ = nb02["memory_task"](3, gap=6, seed=0)
    gates = nb02["lstm_gates"](layer, xs)
    assert gates["f"].shape == (3, 7, 4) and np.all((gates["f"] > 0) & (gates["f"] < 1))
    W, U, b = lstm.keras_lstm_weights(layer)
    # step 1 starts from h_0 = 0: f_1 = sigmoid(x_1 · W_f + b_f), the forget block being the second of i, f, c, o
    np.testing.assert_allclose(gates["f"][:, 0], 1 / (1 + np.exp(-(xs[:, 0] @ W[:, 4:8] + b[4:8]))), rtol=1e-5)
    np.testing.assert_allclose(gates["i"][:, 0], 1 / (1 + np.exp(-(xs[:, 0] @ W[:, :4] + b[:4]))), rtol=1e-5)
    np.testing.assert_allclose(gates["h"][:, -1], layer(xs).numpy(), atol=1e-5)


def test_runs_plot_gives_each_model_its_colour_and_keeps_the_legend_off_the_dots():
    import pandas as pd

    runs = pd.DataFrame([{"model": model, "gap": gap, "seed": seed, "test accuracy": 0.5 + 0.05 * seed}
                         for model in ("SimpleRNN", "LSTM, forget bias 5") for gap in (10, 30) for seed in range(3)])
    ax = g.plot_runs(runs, {10: 0.5, 30: 0.52}, title="runs")
    medians = {line.get_label(): line.get_color() for line in ax.lines if "median" in line.get_label()}
    assert medians == {"SimpleRNN (median of 3)": g.MODEL_COLOURS["SimpleRNN"],
                       "LSTM, forget bias 5 (median of 3)": g.MODEL_COLOURS["LSTM, forget bias 5"]}
    assert ax.get_legend().get_bbox_to_anchor().x0 > ax.get_window_extent().x1 - 1  # beside the axes
    plt.close(ax.figure)


def test_model_colours_come_from_the_course_palette():
    assert set(g.MODEL_COLOURS.values()) <= set(plots.PALETTE.values())
    assert len(set(g.MODEL_COLOURS.values())) == len(g.MODEL_COLOURS)


def test_train_step_seconds_returns_one_row_per_length():
    table = g.train_step_seconds("SimpleRNN", lengths=(5, 10), units=4, batch=4, repeats=2)
    assert list(table["length T"]) == [5, 10] and (table["ms per train step"] > 0).all()


# --- several small models side by side ------------------------------------------------------------------------------


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


def _small_models(nb02, kind="LSTM", seeds=(0, 1), **kwargs):
    import keras

    made = []
    for seed in seeds:
        keras.utils.set_random_seed(seed)
        made.append(nb02["memory_model"](kind, units=4, **kwargs))
    return made


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM"])
def test_training_side_by_side_moves_each_model_as_training_it_alone(nb02, kind):
    """What the notebook says of ``SideBySide``: the same weights as one ``fit`` per model."""
    train_sets = [nb02["memory_task"](48, gap=4, seed=10 + k) for k in range(2)]
    validation = nb02["memory_task"](20, gap=4, seed=99)
    together = _small_models(nb02, kind)
    wide = g.SideBySide(together)
    runs = wide.fit(train_sets, validation, epochs=1, batch_size=16, shuffle=False)
    assert [run["best_epoch"] for run in runs] == [1, 1]
    alone = _small_models(nb02, kind)
    for model, (xs, ys) in zip(alone, train_sets, strict=True):
        model.fit(xs, ys, epochs=1, batch_size=16, shuffle=False, verbose=0)
    for a, b in zip(together, alone, strict=True):
        for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
            np.testing.assert_allclose(wa, wb, atol=1e-5)
    both = wide.predict(validation[0])
    assert both.shape == (20, 2)
    np.testing.assert_allclose(both[:, 1], alone[1].predict(validation[0], verbose=0)[:, 0], atol=1e-5)


def test_training_side_by_side_keeps_each_models_best_epoch(nb02):
    train_sets = [nb02["memory_task"](64, gap=3, seed=20 + k) for k in range(3)]
    validation = nb02["memory_task"](40, gap=3, seed=98)
    models = _small_models(nb02, "SimpleRNN", seeds=(0, 1, 2))
    runs = g.SideBySide(models).fit(train_sets, validation, epochs=4)
    probabilities = np.clip(np.concatenate([m.predict(validation[0], verbose=0) for m in models], axis=1), 1e-7,
                            1 - 1e-7)  # each small model on its own, with the weights it got back
    ys = validation[1][:, None]
    kept = -np.mean(ys * np.log(probabilities) + (1 - ys) * np.log(1 - probabilities), axis=0)
    for run, loss in zip(runs, kept, strict=True):
        assert run["best_epoch"] == int(np.argmin(run["validation_loss"])) + 1
        assert loss == pytest.approx(min(run["validation_loss"]), rel=1e-4)


def test_training_side_by_side_refuses_what_would_mix_or_mismatch_the_models(nb02):
    pair = [nb02["memory_task"](8, gap=2, seed=k) for k in range(2)]
    import keras

    clipped = _small_models(nb02)
    for model in clipped:
        model.compile(optimizer=keras.optimizers.Adam(clipnorm=1.0), loss="binary_crossentropy")
    with pytest.raises(ValueError, match="clipnorm"):
        g.SideBySide(clipped)
    with pytest.raises(ValueError, match="same layer kind"):
        g.SideBySide(_small_models(nb02, seeds=(0,)) + _small_models(nb02, "SimpleRNN", seeds=(1,)))
    with pytest.raises(ValueError, match="one \\(xs, ys\\) training pair per model"):
        g.SideBySide(_small_models(nb02)).fit(pair[:1], pair[0], epochs=1)
    with pytest.raises(ValueError, match="one input array shared by all 2 models, or a list of 2"):
        g.SideBySide(_small_models(nb02)).predict([pair[0][0]] * 3)
    for odd in (["not a model"], [], "models"):
        with pytest.raises(ValueError, match="Dense|non-empty"):
            g.SideBySide(odd)


# --- Exercise 1 -------------------------------------------------------------------------------------------------------


def test_day1_factor_checker_accepts_right_answers(capsys):
    assert check_day1_factor(as_student(g.day1_factor))
    assert check_day1_factor(lambda w2, days: np.float32(w2) ** np.float32(days - 1))
    assert check_day1_factor(lambda w2, days: float(np.prod([w2] * (days - 1))))
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, hint", [
    (lambda w2, days: w2**days, "you counted T"),
    (lambda w2, days: w2 * (days - 1), "they do not add"),
    (lambda w2, days: w2 ** (days - 2), "one unroll too few"),
    (lambda w2, days: 1 / 0, "ZeroDivisionError"),
])
def test_day1_factor_checker_names_the_mistake_without_code_first(wrong, hint, capsys):
    assert not check_day1_factor(wrong)
    out = capsys.readouterr().out
    assert hint in out and "days - 1" not in out and "** (" not in out, out
    if hint != "ZeroDivisionError":
        assert not check_day1_factor(wrong)  # the second failing try shows the worked step
        assert "w2 ** (days - 1)" in capsys.readouterr().out


def test_day1_factor_checker_refuses_the_reference_and_a_lookup_table(capsys):
    assert not check_day1_factor(g.day1_factor)
    assert "calls utils.gradients.day1_factor" in capsys.readouterr().out
    visible = {(w2, days): w2 ** (days - 1) for w2, days in
               [(2.0, 4), (0.5, 10), (0.9, 50), (1.0, 30), (1.1, 7), (-0.5, 3), (3.0, 1), (0.9, 250), (1.1, 250)]}
    assert not check_day1_factor(lambda w2, days: visible.get((w2, days), 1.0))


def test_day1_factor_checker_wants_one_number_not_an_array(capsys):
    assert not check_day1_factor(lambda w2, days: [w2 ** (days - 1)])
    assert "not a list or an array" in capsys.readouterr().out


def test_day1_factor_checker_not_done(capsys):
    def stub(w2, days):
        raise NotImplementedError

    assert not check_day1_factor(stub)
    assert "not done yet" in capsys.readouterr().out


# --- Exercise 2 -------------------------------------------------------------------------------------------------------


def _products_style(xs, y, w1, b1, w2, w3, b2):
    """A right answer in another style: the deck's product formula for each day, no backward loop."""
    xs = np.array(xs, dtype=float)
    hidden, prediction = toy_rnn_forward(xs, w1, b1, w2, w3, b2)
    before = np.append(0.0, hidden[:-1])
    on = (w1 * xs + w2 * before + b1 > 0) * 1.0
    terms = []
    for t in range(len(xs)):
        path = np.prod([w2 * on[k] for k in range(t + 1, len(xs))])
        common = -2 * (y - prediction) * w3 * path * on[t]
        terms.append((common * xs[t], common * before[t]))
    return [term[0] for term in terms], [term[1] for term in terms]  # two lists


def _stacked_float32(xs, y, w1, b1, w2, w3, b2):
    """Another right answer: float32 numbers, returned as one (2, T) array."""
    return np.stack(_products_style(xs, y, w1, b1, w2, w3, b2)).astype("float32")


def test_bptt_checker_accepts_right_answers_in_other_styles(capsys):
    assert check_toy_rnn_gradients(as_student(g.toy_rnn_gradients))
    assert check_toy_rnn_gradients(_products_style)
    assert check_toy_rnn_gradients(_stacked_float32)
    assert capsys.readouterr().out.count("correct") == 3


def _mistake(**switches):
    """An answer that makes one of the typical mistakes (computed by the checker's own mistake model)."""
    from utils.checks.gradients import _bptt

    def answer(xs, y, w1, b1, w2, w3, b2):
        terms = _bptt(xs, y, w1, b1, w2, w3, b2, **switches)
        return terms[0], terms[1]

    return answer


def _reversed_days(xs, y, w1, b1, w2, w3, b2):
    terms_w1, terms_w2 = _products_style(xs, y, w1, b1, w2, w3, b2)
    return terms_w1[::-1], terms_w2[::-1]


def _swapped(xs, y, w1, b1, w2, w3, b2):
    terms_w1, terms_w2 = _products_style(xs, y, w1, b1, w2, w3, b2)
    return terms_w2, terms_w1


def _w2_power_only(xs, y, w1, b1, w2, w3, b2):
    """A student who writes dh_T/dh_t = W2 ** (T - t) and forgets the later days' ReLUs."""
    xs = np.asarray(xs, dtype=float)
    hidden, prediction = toy_rnn_forward(xs, w1, b1, w2, w3, b2)
    before = np.append(0.0, hidden[:-1])
    on = (w1 * xs + w2 * before + b1 > 0) * 1.0
    common = -2 * (y - prediction) * w3 * w2 ** (len(xs) - 1 - np.arange(len(xs))) * on
    return common * xs, common * before


@pytest.mark.parametrize("wrong, hint", [
    (_w2_power_only, "passes through the ReLU of every later day"),
    (_mistake(own_slope=False), "the factor dh_t/dz_t = ReLU'(z_t) of the day itself is missing"),
    (_mistake(d_prediction="sign"), "wrong sign"),
    (_mistake(d_prediction="half"), "half what it should be"),
    (_mistake(d_prediction="none"), "those of the prediction, not of SSR"),
    (_mistake(uses_w3=False), "W3 is missing"),
    (_mistake(w2_input="current"), "use h_t"),
    (_mistake(w2_input="input"), "use x_t"),
    (_mistake(extra_unroll=True), "one unroll too many"),
    (_mistake(only_last=True), "only day T has a term"),
    (_reversed_days, "reverse order"),
    (_swapped, "swapped"),
])
def test_bptt_checker_names_the_missing_term_without_code_first(wrong, hint, capsys):
    assert not check_toy_rnn_gradients(wrong)
    out = capsys.readouterr().out
    assert hint in out and "→ a worked step" not in out and "d_z" not in out, out
    assert not check_toy_rnn_gradients(wrong)
    assert "d_z = d * (z[t] > 0)" in capsys.readouterr().out  # the second failing try shows the worked step


def test_bptt_checker_names_the_wrong_part_when_no_known_mistake_fits(capsys):
    def wrong_w2_part(xs, y, w1, b1, w2, w3, b2):
        terms_w1, terms_w2 = _products_style(xs, y, w1, b1, w2, w3, b2)
        return terms_w1, np.asarray(terms_w2) * 0.5 + 0.01

    assert not check_toy_rnn_gradients(wrong_w2_part)
    assert "your dSSR/dW1 terms are right and the dSSR/dW2 terms are not" in capsys.readouterr().out


def test_bptt_checker_says_when_the_sums_come_back_instead_of_the_terms(capsys):
    def sums(xs, y, w1, b1, w2, w3, b2):
        return tuple(np.sum(np.asarray(_products_style(xs, y, w1, b1, w2, w3, b2)), axis=1))

    assert not check_toy_rnn_gradients(sums)
    assert "you returned the two gradients, the sums over the days" in capsys.readouterr().out


def test_bptt_checker_catches_an_answer_that_writes_into_its_input(capsys):
    def in_place(xs, y, w1, b1, w2, w3, b2):
        result = _products_style(xs, y, w1, b1, w2, w3, b2)
        xs *= 2
        return result

    assert not check_toy_rnn_gradients(in_place)
    assert "changed the sequence xs" in capsys.readouterr().out


def test_bptt_checker_refuses_gradient_tape_the_reference_and_a_lookup_table(capsys):
    def with_tape(xs, y, w1, b1, w2, w3, b2):
        return tape_terms(xs, y, w1, b1, w2, w3, b2)

    assert not check_toy_rnn_gradients(with_tape)
    assert "calls tensorflow.GradientTape" in capsys.readouterr().out
    assert not check_toy_rnn_gradients(g.toy_rnn_gradients)
    assert "calls utils.gradients.toy_rnn_gradients" in capsys.readouterr().out
    visible = {(tuple(xs), y, tuple(weights.values())): _products_style(xs, y, **weights)
               for _, xs, y, weights in _bptt_cases(np.random.default_rng(0))[:5]}

    def lookup(xs, y, w1, b1, w2, w3, b2):
        return visible.get((tuple(xs), y, (w1, b1, w2, w3, b2)), (np.zeros(len(xs)), np.zeros(len(xs))))

    assert not check_toy_rnn_gradients(lookup)
    assert "fresh case" in capsys.readouterr().out


def test_bptt_checker_draws_fresh_informative_cases():
    first, second = _bptt_cases(np.random.default_rng(1)), _bptt_cases(np.random.default_rng(2))
    assert [label for label, *_ in first[:5]] == [label for label, *_ in second[:5]]  # the fixed ones
    assert not np.array_equal(first[-1][1], second[-1][1]) if len(first[-1][1]) == len(second[-1][1]) else True
    for _, xs, y, weights in first[5:] + second[5:]:
        terms = tape_terms(xs, y, **weights)[0]
        assert terms[-1] != 0 and np.count_nonzero(terms) > len(xs) // 2


def test_bptt_checker_not_done(capsys):
    def stub(xs, y, w1, b1, w2, w3, b2):
        raise NotImplementedError

    assert not check_toy_rnn_gradients(stub)
    assert "not done yet" in capsys.readouterr().out


# --- Exercise 3 -------------------------------------------------------------------------------------------------------


def test_clip_checker_accepts_right_answers(capsys):
    assert check_clip_by_norm(as_student(g.clip_by_norm))
    assert check_clip_by_norm(lambda gradient, max_norm: gradient * min(1.0, max_norm / (np.linalg.norm(gradient)
                                                                                         or 1.0)))
    assert capsys.readouterr().out.count("correct") == 2


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
    (_per_row, "you clipped each row by its own norm"),
    (_nan_on_zero, "never divide by 0"),
    (lambda gradient, max_norm: gradient.ravel(), "keep the gradient's shape"),
])
def test_clip_checker_rejects_mistakes_with_the_right_diagnosis(wrong, hint, capsys):
    with np.errstate(all="ignore"):
        assert not check_clip_by_norm(wrong)
    out = capsys.readouterr().out
    assert hint in out and "np.sqrt" not in out, out
    if wrong is _per_row:
        assert "VALUE" not in out  # clipping each row is not clipping by value, even where the two coincide


def test_clip_checker_catches_an_answer_that_scales_its_input_in_place(capsys):
    def in_place(gradient, max_norm):
        gradient *= max_norm / max(np.sqrt(np.sum(gradient**2)), max_norm)
        return gradient

    assert not check_clip_by_norm(in_place)
    assert "changed the gradient it was given" in capsys.readouterr().out


def test_clip_checker_refuses_tensorflow_and_a_lookup_table(capsys):
    import tensorflow as tf

    assert not check_clip_by_norm(lambda gradient, max_norm: tf.clip_by_norm(gradient, max_norm).numpy())
    assert "calls tensorflow.clip_by_norm" in capsys.readouterr().out
    visible = {gradient.tobytes(): g.clip_by_norm(gradient, max_norm)
               for _, gradient, max_norm in _clip_cases(np.random.default_rng(0))[:6]}
    assert not check_clip_by_norm(lambda gradient, max_norm: visible.get(gradient.tobytes(), gradient))
    assert "fresh case" in capsys.readouterr().out
