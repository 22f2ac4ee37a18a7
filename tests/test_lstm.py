"""Tests of utils.lstm (reference LSTM in NumPy and Keras), of the code notebook 03 writes in its cells, and of the
notebook-03 and notebook-04 checkers, both ways."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest
from keras import ops

from tests.answers import as_student
from tests.notebook_code import call_arguments, code_cells, defined_names, notebook_namespace
from utils import lstm
from utils.checks.lstm import check_lstm_cell_class, check_lstm_cell_step, check_lstm_forward, check_lstm_param_count
from utils.lstm import sigmoid


@pytest.fixture(scope="module")
def nb03():
    """The functions notebook 03 defines in its cells, run as the notebook runs them."""
    return notebook_namespace("03", "sigmoid", "one_unit_table", "cell_state_gradient", "gate_task", "gate_summary",
                              "gate_heatmaps")


# --- what notebook 03 writes in sight --------------------------------------------------------------------------------


def test_notebook_03_writes_its_own_helpers_but_not_the_answers_to_04(nb03):
    """03 shows the sigmoid (saved to utils) and its own helpers; the NumPy step and loop are 04's Exercises 1 and 2,
    so 03 runs utils' reference and does not write them out."""
    defined = set().union(*map(defined_names, code_cells("03")))
    helpers = {"one_unit_table", "cell_state_gradient", "gate_task", "gate_summary", "gate_heatmaps"}
    assert {"sigmoid"} | helpers <= defined
    assert not {"lstm_cell_gates", "lstm_cell_step", "lstm_gate_activations", "lstm_forward"} & defined


def test_the_loop_over_time_is_written_once(monkeypatch):
    """lstm_forward is the h and C of lstm_gate_activations, not a second copy of the loop."""
    calls = []
    real = lstm.lstm_gate_activations
    monkeypatch.setattr(lstm, "lstm_gate_activations", lambda *args: calls.append(1) or real(*args))
    W, U, b = lstm.one_unit_keras_weights()
    hs, h_T, c_T = lstm.lstm_forward(np.ones((2, 3, 1)), np.zeros((2, 1)), np.zeros((2, 1)), W, U, b)
    assert calls == [1]
    np.testing.assert_array_equal(h_T, hs[:, -1])


def test_notebook_04_draws_its_learning_curves_with_the_shared_helper():
    """One learning-curve plot in the course: 04 calls plots.plot_learning_curves, it does not draw val_loss itself."""
    assert [args[0] for args in call_arguments("04", "plots.plot_learning_curves")] == ["history"]
    assert not [args for name in ("plt.plot", "ax.plot") for args in call_arguments("04", name)
                if "val_loss" in " ".join(args)]

# --- the reference implementation -------------------------------------------------------------------------------------


def test_reference_forward_matches_keras_lstm_over_50_steps_in_float64():
    layer = lstm.random_keras_lstm(3, 5, seed=7, dtype="float64")
    rng = np.random.default_rng(1)
    xs, h0, c0 = rng.normal(size=(4, 50, 3)), rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    expected = lstm.run_keras_lstm(layer, xs, h0, c0)
    got = lstm.lstm_forward(xs, h0, c0, *lstm.keras_lstm_weights(layer))
    for g, e in zip(got, expected, strict=True):
        assert g.shape == e.shape
        assert np.max(np.abs(g - e)) < 1e-6


def test_reference_cell_class_matches_keras_lstm_after_copying_weights():
    layer = lstm.random_keras_lstm(2, 3, seed=3, dtype="float64")
    rnn = keras.layers.RNN(lstm.ReferenceLSTMCell(3, dtype="float64"), return_sequences=True, return_state=True,
                           dtype="float64")
    rnn.build((None, None, 2))
    lstm.copy_lstm_weights(layer, rnn)
    xs = np.random.default_rng(0).normal(size=(2, 9, 2))
    for g, e in zip(lstm.run_keras_lstm(rnn, xs), lstm.run_keras_lstm(layer, xs), strict=True):
        assert np.max(np.abs(g - e)) < 1e-9
    back = keras.layers.LSTM(3, dtype="float64")
    back.build((None, None, 2))
    lstm.copy_lstm_weights(rnn, back)
    for g, e in zip(lstm.keras_lstm_weights(back), lstm.keras_lstm_weights(layer), strict=True):
        np.testing.assert_array_equal(g, e)


def test_reference_cell_initialises_the_forget_bias_like_keras():
    rnn = keras.layers.RNN(lstm.ReferenceLSTMCell(2))
    rnn.build((None, None, 3))
    np.testing.assert_array_equal(lstm.keras_lstm_weights(rnn)[2], [0, 0, 1, 1, 0, 0, 0, 0])


def test_parameter_count_formula_matches_keras():
    for d, u in [(1, 1), (3, 8), (10, 4)]:
        layer = keras.layers.LSTM(u)
        layer.build((None, None, d))
        assert layer.count_params() == lstm.parameter_count(d, u)
    with pytest.raises(ValueError, match="positive"):
        lstm.parameter_count(0, 3)


def test_notebook_03_one_unit_table_follows_the_step_day_by_day(nb03):
    W, U, b = lstm.one_unit_keras_weights()
    xs = np.array([0.0, 0.5, 0.25, 1.0])
    table = nb03["one_unit_table"](xs)
    h, c = np.zeros((1, 1)), np.zeros((1, 1))
    for t, x in enumerate(xs, start=1):  # one hand-made step per day, from the memories of the day before
        row = table.loc[t]
        assert (row["h_(t-1)"], row["C_(t-1)"]) == (h[0, 0], c[0, 0])
        step = lstm.lstm_cell_gates(np.array([[x]]), h, c, W, U, b)
        assert row["f_t: % to remember"] == pytest.approx(100 * step["f"][0, 0])
        assert row["i_t: % of potential to add"] == pytest.approx(100 * step["i"][0, 0])
        assert row["o_t: % to output"] == pytest.approx(100 * step["o"][0, 0])
        h, c = step["h"], step["c"]
        assert (row["h_t (short-term)"], row["C_t (long-term)"]) == pytest.approx((h[0, 0], c[0, 0]))
    np.testing.assert_allclose(table["kept f·C_(t-1)"] + table["added i·C~_t"], table["C_t (long-term)"])
    first = nb03["one_unit_table"]([1.0], h0=0.5, c0=-1.0).iloc[0]
    assert (first["h_(t-1)"], first["C_(t-1)"]) == (0.5, -1.0)
    with pytest.raises(ValueError, match="at least one time step"):
        nb03["one_unit_table"]([])


def test_sigmoid_is_stable_and_in_range():
    values = sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_allclose(values, [0.0, 0.5, 1.0])


def test_bad_shapes_raise_clear_value_errors():
    W, U, b = np.zeros((3, 8)), np.zeros((2, 8)), np.zeros(8)
    with pytest.raises(ValueError, match="2-D"):
        lstm.lstm_cell_step(np.zeros(3), np.zeros((1, 2)), np.zeros((1, 2)), W, U, b)
    with pytest.raises(ValueError, match="W must have shape"):
        lstm.lstm_cell_step(np.zeros((1, 3)), np.zeros((1, 2)), np.zeros((1, 2)), W.T, U, b)
    with pytest.raises(ValueError, match="3-D"):
        lstm.lstm_forward(np.zeros((4, 3)), np.zeros((4, 2)), np.zeros((4, 2)), W, U, b)
    with pytest.raises(ValueError, match="return_sequences"):
        lstm.run_keras_lstm(keras.layers.LSTM(2), np.zeros((1, 2, 3)))
    with pytest.raises(ValueError, match="n >= 1"):
        lstm.make_recall_task(0)


def test_recall_task_targets_are_the_marked_values():
    xs, ys = lstm.make_recall_task(50, length=12, seed=1)
    assert xs.shape == (50, 12, 2) and ys.shape == (50, 1)
    assert np.all(xs[:, :, 1].sum(axis=1) == 1)
    assert np.all(np.argmax(xs[:, :, 1], axis=1) < 6)
    np.testing.assert_allclose(ys[:, 0], xs[np.arange(50), np.argmax(xs[:, :, 1], axis=1), 0])


# Right answers as a student would write them: the checkers refuse the reference itself (tests/answers.py).
student_step, student_forward = as_student(lstm.lstm_cell_step), as_student(lstm.lstm_forward)
StudentCell = as_student(lstm.ReferenceLSTMCell)


# --- wrong implementations of one step -------------------------------------------------------------------------------


def _step(x, h, c, W, U, b, *, order="ifco", gate=sigmoid, cand=np.tanh, out=np.tanh, h_from="new", forget=True,
          interleave=False, bias=True):
    u = U.shape[0]
    z = x @ W + h @ U + (b if bias else 0)
    blocks = {g: (z[:, k::4] if interleave else z[:, k * u:(k + 1) * u]) for k, g in enumerate(order)}
    i, f, o, g = gate(blocks["i"]), gate(blocks["f"]), gate(blocks["o"]), cand(blocks["c"])
    c_new = (f * c if forget else c) + i * g
    memory = {"new": c_new, "old": c}[h_from]
    return o * (out(memory) if out else memory), c_new


def _first_row_only(x, h, c, W, U, b):
    h_t, c_t = _step(x[:1], h[:1], c[:1], W, U, b)
    return h_t, c_t


def _in_place(x, h, c, W, U, b):
    h_t, c_t = _step(x, h, c, W, U, b)
    c[...] = c_t
    return h_t, c


WRONG_STEPS = {
    "forget f and input i swapped": (lambda *a: _step(*a, order="fico"), "input gate i_t and forget gate f_t"),
    "candidate and output swapped": (lambda *a: _step(*a, order="ifoc"), "candidate C~_t and output gate o_t"),
    "order f, i, o, c": (lambda *a: _step(*a, order="fioc"), "you used the blocks as f, i, o, c"),
    "sigmoid and tanh swapped": (lambda *a: _step(*a, gate=np.tanh, cand=sigmoid, out=sigmoid),
                                 "sigmoid and tanh swapped"),
    "tanh missing on C in h": (lambda *a: _step(*a, out=None), "missing tanh on the cell state"),
    "old cell state in h": (lambda *a: _step(*a, h_from="old"), "old cell state is used in h_t"),
    "forget gate ignored": (lambda *a: _step(*a, forget=False), "forget gate ignored"),
    "interleaved columns": (lambda *a: _step(*a, interleave=True), "weights sliced wrongly"),
    "bias missing": (lambda *a: _step(*a, bias=False), "bias b missing"),
    "W and U swapped": (lambda x, h, c, W, U, b: _step(x, h, c, U, W, b), "W and U swapped"),
    "W transposed": (lambda x, h, c, W, U, b: _step(x, h, c, W.T, U, b), "shapes don't line up"),
    "(c, h) returned": (lambda *a: _step(*a)[::-1], "(c_t, h_t) came back in the wrong order"),
    "batch dropped with [0]": (lambda x, h, c, *w: tuple(v[0] for v in _step(x, h, c, *w)),
                               "batch dimension is not handled"),
    "only the first row": (_first_row_only, "batch dimension is not handled"),
    "changes c_prev in place": (_in_place, "changed its input(s) ['c_prev'] in place"),
    "returns only h": (lambda *a: _step(*a)[0], "return a pair (h_t, c_t)"),
    "returns None": (lambda *a: None, "return a pair (h_t, c_t)"),
    "crashes": (lambda *a: {}["gates"], "KeyError"),
    "returns NaN": (lambda x, h, c, *w: (np.full(h.shape, np.nan), np.full(c.shape, np.nan)), "wrong h_t"),
}


# --- expected values that do not come from the reference: worked by hand, and Keras' own LSTM layer ------------------


def keras_lstm(xs, h0, c0, W, U, b):
    """(hs, h_T, c_T) of keras.layers.LSTM with kernel W, recurrent kernel U and bias b, built here from Keras' own
    layer (not from utils.lstm) in float64: values no fault of the reference can move."""
    layer = keras.layers.LSTM(U.shape[0], return_sequences=True, return_state=True, dtype="float64")
    layer.build((None, None, W.shape[0]))
    layer.set_weights([W, U, b])
    return tuple(np.asarray(a) for a in layer(np.asarray(xs, dtype="float64"), initial_state=[h0, c0]))


# One unit, one input, every gate set apart: with x_t = 1 and h_(t-1) = 0.5,
#   i = σ(ln 4) = 0.8,   f = σ(−ln 4) = 0.2,   C~ = tanh(2·atanh(0.6)·0.5) = 0.6,   o = σ(ln 3) = 0.75,
#   C_t = f·C_(t-1) + i·C~ = 0.2·0.4 + 0.8·0.6 = 0.56,   h_t = o·tanh(C_t) = 0.75·tanh(0.56).
# Columns in Keras' order i, f, c, o: W feeds x_t to i and f, U feeds h_(t-1) to C~, b opens o.
HAND_W = np.array([[np.log(4), -np.log(4), 0.0, 0.0]])
HAND_U = np.array([[0.0, 0.0, 2 * np.arctanh(0.6), 0.0]])
HAND_B = np.array([0.0, 0.0, 0.0, np.log(3)])
HAND_STEP = {"x": 1.0, "h": 0.5, "c": 0.4, "h_t": 0.75 * np.tanh(0.56), "c_t": 0.56}


def test_one_hand_worked_step_agrees_with_keras_and_the_reference():
    x, h, c = (np.array([[HAND_STEP[k]]]) for k in "xhc")
    hs, h_keras, c_keras = keras_lstm(x[:, None, :], h, c, HAND_W, HAND_U, HAND_B)
    h_ref, c_ref = lstm.lstm_cell_step(x, h, c, HAND_W, HAND_U, HAND_B)
    for got_h, got_c in ((h_keras, c_keras), (h_ref, c_ref)):
        assert got_h[0, 0] == pytest.approx(HAND_STEP["h_t"], abs=1e-12)
        assert got_c[0, 0] == pytest.approx(HAND_STEP["c_t"], abs=1e-12)


def test_two_hand_worked_steps_agree_with_keras_and_the_reference():
    """Step 2 starts from step 1's memories: x_2 = 0 leaves the gates to b and to U·h_1 alone."""
    h1, c1 = HAND_STEP["h_t"], HAND_STEP["c_t"]
    candidate = np.tanh(2 * np.arctanh(0.6) * h1)
    c2 = 0.5 * c1 + 0.5 * candidate  # x_2 = 0: i = f = σ(0) = 0.5
    h2 = 0.75 * np.tanh(c2)
    xs = np.array([[[1.0], [0.0]]])
    h0, c0 = np.array([[HAND_STEP["h"]]]), np.array([[HAND_STEP["c"]]])
    for forward in (keras_lstm, lstm.lstm_forward):
        hs, h_T, c_T = forward(xs, h0, c0, HAND_W, HAND_U, HAND_B)
        np.testing.assert_allclose(hs[0, :, 0], [h1, h2], atol=1e-12)
        assert (h_T[0, 0], c_T[0, 0]) == pytest.approx((h2, c2), abs=1e-12)


def test_this_files_step_and_loop_are_keras_lstm_on_random_weights():
    """``_step`` and ``_loop`` below, written in this file, are the right answers the checks are given: here they are
    pinned to Keras' own layer (the checks may not call it), on random weights, batches and lengths."""
    rng = np.random.default_rng(5)
    for batch, steps, d, u in [(1, 1, 1, 1), (3, 4, 2, 3), (2, 6, 4, 2)]:
        W, U, b = rng.normal(size=(d, 4 * u)), rng.normal(size=(u, 4 * u)), rng.normal(size=4 * u)
        xs, h0, c0 = rng.normal(size=(batch, steps, d)), rng.normal(size=(batch, u)), rng.normal(size=(batch, u))
        for got, want in zip(_loop(xs, h0, c0, W, U, b, step=_step), keras_lstm(xs, h0, c0, W, U, b), strict=True):
            np.testing.assert_allclose(got, want, atol=1e-12)


def test_the_parameter_count_check_accepts_the_count_keras_reports(capsys):
    def keras_count(d, u):
        layer = keras.layers.LSTM(u)
        layer.build((None, None, d))
        return layer.count_params()

    def four_blocks(d, u):  # the student's formula, written here: 4 blocks × (u·d + u·u + u)
        return 4 * (u * d + u * u + u)

    cases = [(1, 1), (3, 8), (10, 4), (2, 32), (7, 5)]
    by_hand = [4 * 3, 4 * (24 + 64 + 8), 4 * (40 + 16 + 4), 4 * (64 + 1024 + 32), 4 * (35 + 25 + 5)]
    assert [keras_count(d, u) for d, u in cases] == [four_blocks(d, u) for d, u in cases] == by_hand
    assert [lstm.parameter_count(d, u) for d, u in cases] == by_hand
    assert check_lstm_param_count(four_blocks) is True, capsys.readouterr().out


def test_step_check_accepts_a_float32_implementation(capsys):
    def in_float32(*args):
        return student_step(*(np.asarray(a, dtype="float32") for a in args))

    assert check_lstm_cell_step(in_float32) is True  # right maths in single precision is still right
    assert "✅" in capsys.readouterr().out


def test_step_check_says_not_done(capsys):
    def stub(*args):
        raise NotImplementedError

    assert check_lstm_cell_step(stub) is False
    assert "not done yet" in capsys.readouterr().out


# --- wrong implementations of the loop -------------------------------------------------------------------------------


def _loop(xs, h0, c0, W, U, b, *, step=student_step, carry=True, carry_c=True, collect="h", order="ok",
          reverse=False, stack_axis=1, first_state=False, off_by_one=False):
    h, c, hs = h0, c0, []
    times = list(range(xs.shape[1]))
    for t in reversed(times) if reverse else times:
        if off_by_one:
            hs.append(h)
        h_new, c_new = step(xs[:, t], h if carry else h0, c if carry_c and carry else c0, W, U, b)
        h, c = h_new, c_new
        if not off_by_one:
            hs.append(h if collect == "h" else c)
        if first_state and t == 0:
            h_first, c_first = h, c
    out_h, out_c = (h_first, c_first) if first_state else (h, c)
    hs = np.stack(hs, axis=stack_axis)
    return (hs, out_c, out_h) if order == "swapped" else (hs, out_h, out_c)


def _batch_index_loop(xs, h0, c0, W, U, b):
    h, c, hs = h0, c0, []
    for t in range(xs.shape[1]):
        h, c = student_step(xs[t], h, c, W, U, b)
        hs.append(h)
    return np.stack(hs, axis=1), h, c


def _first_example_only(xs, h0, c0, W, U, b):
    hs, h, c = student_forward(xs[:1], h0[:1], c0[:1], W, U, b)
    return hs[0], h[0], c[0]


def _in_place_loop(xs, h0, c0, W, U, b):
    hs, h, c = student_forward(xs, h0, c0, W, U, b)
    h0[...] = h
    return hs, h, c


WRONG_LOOPS = {
    "state not carried": (lambda *a: _loop(*a, carry=False), "the memories are not carried"),
    "cell state not carried": (lambda *a: _loop(*a, carry_c=False), "the cell state is not carried"),
    "hs collects c": (lambda *a: _loop(*a, collect="c"), "hs collects the cell states"),
    "(c_T, h_T) swapped": (lambda *a: _loop(*a, order="swapped"), "(c_T, h_T) came back in the wrong order"),
    "time-major hs": (lambda *a: _loop(*a, stack_axis=0), "hs has time first"),
    "list not stacked": (lambda *a: (list(np.swapaxes(student_forward(*a)[0], 0, 1)),) + student_forward(*a)[1:],
                         "np.stack(hs, axis=1)"),  # with T = batch = 1 it is the type that shows, else the axis
    "hs starts at h0": (lambda *a: _loop(*a, off_by_one=True), "hs starts with h0"),
    "read backwards": (lambda *a: _loop(*a, reverse=True), "read backwards"),
    "indexes the batch axis": (_batch_index_loop, "time is axis 1"),
    "final states of step 1": (lambda *a: _loop(*a, first_state=True), "from the first step"),
    "returns two things": (lambda *a: student_forward(*a)[:2], "return three things"),
    "buggy step inside": (lambda *a: _loop(*a, step=WRONG_STEPS["forget gate ignored"][0]),
                          "in the step: forget gate ignored"),
    "batch dropped": (_first_example_only, "batch dimension is not handled"),
    "changes h0 in place": (_in_place_loop, "changed its input(s) ['h0'] in place"),
}


# --- wrong cell classes ----------------------------------------------------------------------------------------------


def _cell_class(mistake: str = "", *, state_size=True, kernel_shape=None):
    """A cell class like the students', with one mistake switched on."""

    class Cell(keras.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            if state_size:
                self.state_size = [units, units]
            self.output_size = units

        def build(self, input_shape):
            d, u = input_shape[-1], self.units
            self.kernel = self.add_weight(shape=kernel_shape(d, u) if kernel_shape else (d, 4 * u), name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(u, 4 * u), name="recurrent_kernel")
            self.bias = self.add_weight(shape=(4 * u,), initializer="zeros", name="bias")

        def call(self, inputs, states):
            if mistake == "not done":
                raise NotImplementedError
            h_prev, c_prev = states if mistake != "read c, h" else states[::-1]
            z = ops.matmul(inputs, self.kernel) + ops.matmul(h_prev, self.recurrent_kernel) + self.bias
            z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
            if mistake == "f, i swapped":
                z_i, z_f = z_f, z_i
            gate, cand = (ops.tanh, ops.sigmoid) if mistake == "sigmoid/tanh" else (ops.sigmoid, ops.tanh)
            f = gate(z_f) if mistake != "no forget" else 1.0
            c_t = f * c_prev + gate(z_i) * cand(z_c)
            h_t = gate(z_o) * (c_t if mistake == "no tanh" else ops.tanh(c_t))
            if mistake == "numpy":
                h_t = np.asarray(h_t)
            if mistake == "outputs c":
                return c_t, [h_t, c_t]
            if mistake in ("return c, h", "read c, h"):
                return h_t, [c_t, h_t] if mistake == "return c, h" else [h_t, c_t]
            return h_t, [h_t, c_t]

    return Cell


WRONG_CELLS = {
    "f, i swapped": (_cell_class("f, i swapped"), "input gate i_t and forget gate f_t"),
    "sigmoid/tanh": (_cell_class("sigmoid/tanh"), "sigmoid and tanh swapped"),
    "no forget": (_cell_class("no forget"), "forget gate ignored"),
    "no tanh": (_cell_class("no tanh"), "missing tanh on the cell state"),
    "outputs c": (_cell_class("outputs c"), "the output is the short-term memory h_t"),
    "returns states as [c, h]": (_cell_class("return c, h"), "[h_t, c_t]"),
    "reads states as [c, h]": (_cell_class("read c, h"), "states arrive as [h_prev, c_prev]"),
    "no state_size": (_cell_class(state_size=False), "state_size"),
    "kernel transposed": (_cell_class(kernel_shape=lambda d, u: (4 * u, d)), "weight shapes"),
    "NumPy in call": (_cell_class("numpy"), "keras.ops"),
    "not a class": (lambda units: None, "pass the class itself"),
}


# --- every checker, both ways ----------------------------------------------------------------------------------------

RIGHT_ANSWERS = {
    "step: the reference": (check_lstm_cell_step, student_step),
    "loop: the reference": (check_lstm_forward, student_forward),
    "cell: the reference": (check_lstm_cell_class, StudentCell),
    "cell: the students' skeleton done right": (check_lstm_cell_class, _cell_class()),
    "step: written in this test": (check_lstm_cell_step, lambda *a: _step(*a)),
    "loop: written in this test": (check_lstm_forward, lambda *a: _loop(*a, step=_step)),
}
WRONG_ANSWERS = {
    **{f"step: {name}": (check_lstm_cell_step, fn, hint) for name, (fn, hint) in WRONG_STEPS.items()},
    **{f"loop: {name}": (check_lstm_forward, fn, hint) for name, (fn, hint) in WRONG_LOOPS.items()},
    **{f"cell: {name}": (check_lstm_cell_class, fn, hint) for name, (fn, hint) in WRONG_CELLS.items()},
}


@pytest.mark.parametrize("name", list(RIGHT_ANSWERS))
def test_checks_accept_right_answers(name, capsys):
    checker, answer = RIGHT_ANSWERS[name]
    assert checker(answer) is True
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize("name", list(WRONG_ANSWERS))
def test_checks_reject_typical_mistakes_with_their_hint(name, capsys):
    checker, answer, hint = WRONG_ANSWERS[name]
    assert checker(answer) is False
    out = capsys.readouterr().out
    assert hint in out, out
    assert "❌" in out


class _RaisesOops(StudentCell):
    def call(self, inputs, states):
        raise ValueError("oops")


class _ReturnsNone(StudentCell):
    def call(self, inputs, states):
        return None


def test_cell_class_errors_get_their_own_hint_not_the_shape_hint(capsys):
    assert check_lstm_cell_class(_RaisesOops) is False
    out = capsys.readouterr().out
    assert "running the cell raised ValueError: oops (line " in out, out
    assert f"(line {_RaisesOops.call.__code__.co_firstlineno + 1} of your code: raise ValueError(\"oops\"))" in out
    assert "shapes don't line up" not in out and "Arguments received" not in out, out
    assert check_lstm_cell_class(_ReturnsNone) is False
    out = capsys.readouterr().out
    assert "must return (h_t, [h_t, c_t])" in out and "shapes don't line up" not in out, out


def test_cell_class_shape_errors_still_get_the_shape_hint(capsys):
    assert check_lstm_cell_class(WRONG_CELLS["kernel transposed"][0]) is False
    capsys.readouterr()

    class MatmulMismatch(StudentCell):
        def call(self, inputs, states):
            return ops.matmul(inputs, ops.transpose(self.kernel)), states

    assert check_lstm_cell_class(MatmulMismatch) is False
    assert "shapes don't line up" in capsys.readouterr().out


def test_step_and_loop_answers_as_lists_are_rejected_because_later_cells_index_arrays(capsys):
    def step_lists(*args):
        h_t, c_t = student_step(*args)
        return h_t.tolist(), c_t.tolist()

    def forward_lists(*args):
        return tuple(part.tolist() for part in student_forward(*args))

    assert check_lstm_cell_step(step_lists) is False
    out = capsys.readouterr().out
    assert "right values, but h_t and c_t must be NumPy arrays" in out and "no .tolist()" in out, out
    assert check_lstm_forward(forward_lists) is False
    assert "right values, but hs, h_T and c_T must be NumPy arrays" in capsys.readouterr().out


def test_cell_class_check_says_not_done(capsys):
    assert check_lstm_cell_class(_cell_class("not done")) is False
    assert "not done yet" in capsys.readouterr().out


# --- the parameter count (notebook 03) --------------------------------------------------------------------------------

WRONG_COUNTS = {
    "no biases": (lambda d, u: 4 * u * (d + u), "biases are missing"),
    "no recurrent weights": (lambda d, u: 4 * (u * d + u), "recurrent weights are missing"),
    "one block": (lambda d, u: u * (d + u) + u, "only one block counted"),
    "three blocks": (lambda d, u: 3 * (u * (d + u) + u), "three blocks counted"),
    "recurrent d × u": (lambda d, u: 4 * (2 * u * d + u), "the recurrent matrix is (u × u)"),
    "something else": (lambda d, u: d * u, "per block"),
    "crashes": (lambda d, u: d / 0, "ZeroDivisionError"),
}


def test_param_count_check_both_ways(capsys):
    assert check_lstm_param_count(as_student(lstm.parameter_count)) is True
    assert check_lstm_param_count(lambda d, u: float(as_student(lstm.parameter_count)(d, u))) is True
    for fn, hint in WRONG_COUNTS.values():
        assert check_lstm_param_count(fn) is False
        out = capsys.readouterr().out
        assert hint in out, out


def test_notebook_03_cell_state_gradient_matches_the_forget_gates_for_one_step(nb03):
    cell_state_gradient = nb03["cell_state_gradient"]
    total, direct = cell_state_gradient([0.3])
    assert abs(total - direct) < 1e-6  # one step: dC_1/dC_0 is exactly f_1
    total, direct = cell_state_gradient(np.full(10, 0.1))
    assert 0 < total < 1 and 0 < direct < 1


# --- notebook 03's marker task: gates you can read ------------------------------------------------------------------


def test_notebook_03_gate_task_asks_for_the_marked_value_at_the_question(nb03):
    xs, ys, marked, asked = nb03["gate_task"](200, seed=5)
    length, rows = nb03["LENGTH"], np.arange(200)
    assert xs.shape == (200, length, 3) and ys.shape == (200, length, 1)
    np.testing.assert_array_equal(xs[:, :, 1].sum(axis=1), 1)  # one marker and one question per sequence
    np.testing.assert_array_equal(xs[:, :, 2].sum(axis=1), 1)
    np.testing.assert_array_equal(np.argmax(xs[:, :, 1], axis=1), marked)
    np.testing.assert_array_equal(np.argmax(xs[:, :, 2], axis=1), asked)
    first, last = nb03["MARKER_STEPS"]
    assert set(marked + 1) == set(range(first, last + 1))  # steps count from 1; every allowed step occurs
    first, last = nb03["QUESTION_STEPS"]
    assert set(asked + 1) == set(range(first, last + 1))
    assert np.all(asked > marked + 3)  # a gap the forget gate has to bridge
    np.testing.assert_array_equal(ys[rows, asked, 0], xs[rows, marked, 0])
    ys[rows, asked, 0] = 0
    assert not ys.any()  # the target is 0 at every other step
    assert np.abs(xs[:, :, 0]).max() <= 1 and xs[:, :, 0].std() > 0.5  # noise at every step, not only at the marker
    np.testing.assert_array_equal(nb03["gate_task"](20, seed=5)[0], nb03["gate_task"](20, seed=5)[0])
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="positive whole number of sequences"):
            nb03["gate_task"](bad)


def _textbook_gates(units=1):
    """Hand-set weights of the gate pattern the notebook looks for: i opens at the marker, f holds, o opens at the
    question, and the candidate is the value. Inputs are (value, marker, question)."""
    W, U, b = np.zeros((3, 4 * units)), np.zeros((units, 4 * units)), np.zeros(4 * units)
    i, f, c, o = (slice(k * units, (k + 1) * units) for k in range(4))
    W[1, i], b[i] = 20.0, -10.0  # input gate: shut, open at the marker
    b[f] = 10.0                  # forget gate: keep
    W[0, c] = 1.0                # candidate: the value
    W[2, o], b[o] = 20.0, -10.0  # output gate: shut, open at the question
    return W, U, b


def test_notebook_03_gate_task_is_solved_by_the_textbook_gates_and_gate_summary_reads_them(nb03):
    xs, ys, marked, asked = nb03["gate_task"](300, seed=6)
    rows, zeros = np.arange(300), np.zeros((300, 1))
    run = lstm.lstm_gate_activations(xs, zeros, zeros, *_textbook_gates())
    np.testing.assert_allclose(run["h"][rows, asked, 0], np.tanh(np.tanh(ys[rows, asked, 0])), atol=1e-3)
    before = np.arange(xs.shape[1])[None, :] < asked[:, None]
    assert np.abs(run["h"][before]).max() < 1e-3  # quiet until asked
    summary = nb03["gate_summary"](run, xs, marked, asked).loc[1]
    assert summary["i at the marker"] > 0.99 and summary["i between marker and question"] < 0.01
    assert summary["f between marker and question"] > 0.99
    assert summary["o at the question"] > 0.99 and summary["o before the question"] < 0.01
    assert summary["corr(C at the question, marked value)"] > 0.99


def test_notebook_03_gate_summary_averages_over_the_right_steps(nb03):
    steps = np.arange(6, dtype=float)
    gates = np.stack([steps, 10 * steps], axis=-1)[None]  # one sequence, 2 units: the value is the step index
    activations = {"i": gates, "f": gates, "o": gates, "c": gates}
    xs = np.zeros((1, 6, 3))
    with warnings.catch_warnings():  # corr() over one sequence is undefined; the windows are what is tested here
        warnings.simplefilter("ignore", RuntimeWarning)
        summary = nb03["gate_summary"](activations, xs, np.array([1]), np.array([4]))
    assert list(summary.index) == [1, 2]  # units are numbered from 1, as in the figures
    expected = {"i at the marker": 1, "i between marker and question": 2.5, "f at the marker": 1,
                "f between marker and question": 2.5,
                "o at the question": 4, "o before the question": 1.5}
    for column, value in expected.items():
        assert summary.loc[1, column] == value and summary.loc[2, column] == 10 * value, column


def test_notebook_03_gate_heatmaps_use_whole_steps_label_every_unit_and_mark_both_events(nb03):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs, _, marked, asked = nb03["gate_task"](4, seed=0)
    zeros = np.zeros((4, 3))
    run = lstm.lstm_gate_activations(xs, zeros, zeros, *_textbook_gates(units=3))
    fig = nb03["gate_heatmaps"](run, [0, 2], marked, asked, memory_units=[1, 3])
    try:
        fig.canvas.draw()
        panels = [ax for ax in fig.axes if ax.images]
        assert len(panels) == 4 * 2  # i, f, o, C for each of the two sequences
        length, labelled = xs.shape[1], []
        for ax in panels:
            np.testing.assert_array_equal(ax.get_xticks(), np.arange(length))  # one tick per whole step
            np.testing.assert_array_equal(ax.get_yticks(), np.arange(3))  # one tick per unit
            x_labels = [t.get_text() for t in ax.get_xticklabels() if t.get_visible()]
            y_labels = [t.get_text() for t in ax.get_yticklabels() if t.get_visible()]
            if ax.get_subplotspec().is_last_row():
                assert x_labels == [str(t) for t in range(1, length + 1)]
                labelled.append("x")
            if ax.get_subplotspec().is_first_col():
                assert y_labels == ["unit 1 (memory)", "unit 2", "unit 3 (memory)"]
                labelled.append("y")
            example = 0 if "sequence 0" in ax.get_title() else 2
            lines = {line.get_label(): line.get_xdata()[0] for line in ax.get_lines()}
            assert lines == {"marker": marked[example], "question": asked[example]}
        assert sorted(labelled) == ["x", "x", "y", "y", "y", "y"]  # the bottom row and the left column show labels
        legends = fig.legends + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
        assert len(legends) == 1, "one legend for marker and question"
        box = legends[0].get_window_extent()
        assert not any(box.overlaps(ax.get_window_extent()) for ax in panels), "the legend must hide no unit's row"
    finally:
        plt.close(fig)
