"""Tests of utils.lstm (reference LSTM in NumPy and Keras), of the code notebook 03 writes in its cells, and of the
notebook-03 and notebook-04 checkers, both ways."""

from __future__ import annotations

import re
import warnings

import keras
import numpy as np
import pytest
from keras import ops

from tests.answers import as_student
from tests.notebook_code import call_arguments, code_cells, defined_names, notebook_function, notebook_namespace
from utils import checks, lstm
from utils.checks import lstm as lstm_checks
from utils.checks.lstm import (
    check_lstm_cell_backward,
    check_lstm_cell_class,
    check_lstm_cell_step,
    check_lstm_forward,
    check_lstm_param_count,
)
from utils.lstm import sigmoid


@pytest.fixture(autouse=True)
def fresh_session():
    """Each test starts as a new kernel would: no earlier failing tries (which would print the worked steps)."""
    checks.reset()
    yield
    checks.reset()


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
    assert not {"lstm_cell_gates", "lstm_cell_step", "lstm_gate_activations", "lstm_forward",
                "lstm_cell_backward"} & defined


def test_the_step_and_the_loop_over_time_are_written_once(monkeypatch):
    """lstm_gate_activations is lstm_forward keeping the gates, and the loop calls lstm_cell_step: one copy of each
    (the references of notebook 04's Exercises 1 and 2, written as a student would write them)."""
    calls = []
    real_forward, real_step = lstm.lstm_forward, lstm.lstm_cell_step
    monkeypatch.setattr(lstm, "lstm_forward", lambda *args, **kw: calls.append("forward") or real_forward(*args, **kw))
    monkeypatch.setattr(lstm, "lstm_cell_step", lambda *args, **kw: calls.append("step") or real_step(*args, **kw))
    W, U, b = lstm.one_unit_keras_weights()
    run = lstm.lstm_gate_activations(np.ones((2, 3, 1)), np.zeros((2, 1)), np.zeros((2, 1)), W, U, b)
    assert calls == ["forward", "step", "step", "step"]
    hs, h_T, c_T = real_forward(np.ones((2, 3, 1)), np.zeros((2, 1)), np.zeros((2, 1)), W, U, b)
    np.testing.assert_array_equal(hs, run["h"])
    np.testing.assert_array_equal(h_T, hs[:, -1])
    np.testing.assert_array_equal(c_T, run["c"][:, -1])


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
        step = lstm.lstm_cell_step(np.array([[x]]), h, c, W, U, b, gates=True)
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
                         "must be NumPy arrays"),  # with T = batch = 1 (the first case) it is the type that shows
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
    assert "right values, but h_t and c_t must be NumPy arrays" in out and "no .tolist()" not in out, out
    assert check_lstm_cell_step(step_lists) is False  # the second try shows the worked step
    assert "no .tolist()" in capsys.readouterr().out
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
    "recurrent d × u": (lambda d, u: 4 * (2 * u * d + u), "the recurrent weights pair every unit with every unit"),
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
            nb03["gate_task"](bad, seed=0)


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


# --- hints name the fault first; answer keys and the reference are refused --------------------------------------------

#: What a worked step looks like: code (an assignment, a call, a slice, a matrix product) or the count's formula.
CODE = re.compile(r"`|\w\s*=\s*\S|np\.|ops\.|@ |\[:, |\.T\b|\.sum\(|4·\(")


def _findings(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.strip().startswith("✗")]


def _first_and_second_try(check, answer, capsys):
    """The output of two failing runs of the same check: the fault first, the worked step only the second time."""
    assert check(answer) is False
    first = capsys.readouterr().out
    assert check(answer) is False
    return first, capsys.readouterr().out


FAULTS_FIRST = {
    "count: no biases": (check_lstm_param_count, WRONG_COUNTS["no biases"][0]),
    "count: something else": (check_lstm_param_count, WRONG_COUNTS["something else"][0]),
    "step: f and i swapped": (check_lstm_cell_step, WRONG_STEPS["forget f and input i swapped"][0]),
    "step: tanh missing": (check_lstm_cell_step, WRONG_STEPS["tanh missing on C in h"][0]),
    "step: W transposed": (check_lstm_cell_step, WRONG_STEPS["W transposed"][0]),
    "step: batch dropped": (check_lstm_cell_step, WRONG_STEPS["batch dropped with [0]"][0]),
    "loop: time-major": (check_lstm_forward, WRONG_LOOPS["time-major hs"][0]),
    "loop: state not carried": (check_lstm_forward, WRONG_LOOPS["state not carried"][0]),
    "loop: two things": (check_lstm_forward, WRONG_LOOPS["returns two things"][0]),
    "cell: no forget": (check_lstm_cell_class, WRONG_CELLS["no forget"][0]),
}


@pytest.mark.parametrize("name", list(FAULTS_FIRST))
def test_hints_name_the_fault_in_words_and_show_the_worked_step_only_on_the_second_try(name, capsys):
    check, answer = FAULTS_FIRST[name]
    first, second = _first_and_second_try(check, answer, capsys)
    # a named fault, or (where no typical mistake matches) where to look: in words either way
    hints = [line.split(marker, 1)[1].split(" — ")[0] for line in _findings(first)
             for marker in ("likely fault: ", "no typical mistake matches it: ") if marker in line]
    assert hints, first
    assert not any(CODE.search(hint) for hint in hints), hints
    assert "→ a worked step" not in first and "hint()" in first, first
    assert "→ a worked step: " in second, second


def _answer_key(reference, cases):
    """A table of the reference's answers on ``cases`` (tuples of arguments): right on them, wrong on any other."""
    table = {tuple(np.asarray(a).tobytes() for a in case): reference(*case) for case in cases}

    def lookup(*args):
        key = tuple(np.asarray(a).tobytes() for a in args)
        if key in table:
            return table[key]
        h_prev, c_prev = (args[1], args[2]) if len(args) == 6 else (args[3], args[4])
        return h_prev, c_prev

    return lookup


def _step_cases(steps=False, seeds=range(4), offset=0):
    chosen = lstm_checks._FORWARD_CASES if steps else lstm_checks._STEP_CASES
    out = []
    for seed, case in zip(seeds, chosen, strict=False):
        batch, *rest = case
        if steps:
            _, T, d, u, dtype = case
            _, W, U, b, x, h, c = lstm_checks._case_arrays(batch, d, u, dtype, seed + offset, steps=T)
        else:
            _, d, u, dtype = case
            _, W, U, b, x, h, c = lstm_checks._case_arrays(batch, d, u, dtype, seed + offset)
        out.append((x, h, c, W, U, b))
    return out


def test_an_answer_key_of_the_fixed_cases_fails_on_the_fresh_ones(capsys):
    """Every check also draws a case of its own each run: a table of the fixed cases (which a student could read off
    the check's messages) passes those and fails the fresh one."""
    step_key = _answer_key(student_step, _step_cases())
    assert check_lstm_cell_step(step_key) is False
    out = capsys.readouterr().out
    assert out.count("✗") == 1 and "wrong h_t" in out, out  # the four fixed cases pass, the fresh one does not
    forward_key = _answer_key(student_forward, _step_cases(steps=True, offset=10))
    assert check_lstm_forward(forward_key) is False
    assert "✗" in capsys.readouterr().out
    cases = []
    for seed, (batch, d, u, dtype) in enumerate(lstm_checks._STEP_CASES[:3]):  # as the check draws them
        _, W, U, b, x, h, c = lstm_checks._case_arrays(batch, d, u, dtype, seed + 40)
        upstream = np.random.default_rng(seed + 240)
        dh, dc = (upstream.normal(0, 1, (batch, u)).astype(dtype) for _ in range(2))
        cases.append((dh, dc, x, h, c, W, U, b))
    assert check_lstm_cell_backward(_answer_key(student_backward, cases)) is False
    out = capsys.readouterr().out
    assert out.count("✗") == 1 and "return the six gradients" in out, out  # the fresh case: not in the table


def test_an_answer_key_of_the_counts_the_notebook_shows_fails(capsys):
    visible = [(1, 1), (1, 8), (3, 8), (3, 32), (10, 64), (3, 4), (2, 32), (10, 4)]  # the table, the text, the check
    table = {case: lstm.parameter_count(*case) for case in visible}
    assert check_lstm_param_count(lambda d, u: table.get((d, u), 0)) is False
    assert "wrong count" in capsys.readouterr().out


def test_fresh_cases_differ_from_run_to_run_and_repeat_with_the_grader_seed():
    rng = lambda seed: np.random.default_rng(seed)  # noqa: E731
    assert lstm_checks._fresh_case(rng(1)) == lstm_checks._fresh_case(rng(1))
    drawn = {lstm_checks._fresh_case(rng(seed))[1] for seed in range(20)}
    assert len(drawn) == 20
    for seed in range(20):
        (batch, d, u, dtype), _ = lstm_checks._fresh_case(rng(seed))
        assert batch >= 2 and d != u and dtype in ("float32", "float64")


def _calls_the_layer(x_t, h_prev, c_prev, W, U, b):
    layer = keras.layers.LSTM(U.shape[0], return_state=True, dtype="float64")
    layer.build((None, None, W.shape[0]))
    layer.set_weights([W, U, b])
    _, h, c = layer(x_t[:, None, :], initial_state=[h_prev, c_prev])
    return np.asarray(h), np.asarray(c)


def _calls_gate_activations(x_t, h_prev, c_prev, W, U, b):
    run = lstm.lstm_gate_activations(x_t[:, None, :], h_prev, c_prev, W, U, b)
    return run["h"][:, 0], run["c"][:, 0]


def _forward_with_the_gates_helper(xs, h0, c0, W, U, b):
    run = lstm.lstm_gate_activations(xs, h0, c0, W, U, b)
    return run["h"], run["h"][:, -1], run["c"][:, -1]


REFUSED = {
    "step: the reference": (check_lstm_cell_step, lstm.lstm_cell_step, "utils.lstm.lstm_cell_step"),
    "step: the gates helper": (check_lstm_cell_step, _calls_gate_activations, "utils.lstm.lstm_gate_activations"),
    "step: keras.layers.LSTM": (check_lstm_cell_step, _calls_the_layer, "keras.layers.LSTM"),
    "loop: the reference": (check_lstm_forward, lstm.lstm_forward, "utils.lstm.lstm_forward"),
    "loop: the gates helper": (check_lstm_forward, _forward_with_the_gates_helper, "utils.lstm.lstm_gate_activations"),
    "cell: the reference": (check_lstm_cell_class, lstm.ReferenceLSTMCell, "utils.lstm.ReferenceLSTMCell"),
    "count: the reference": (check_lstm_param_count, lstm.parameter_count, "utils.lstm.parameter_count"),
    "backward: the reference": (check_lstm_cell_backward, lstm.lstm_cell_backward, "utils.lstm.lstm_cell_backward"),
}


class _CellAroundKeras(keras.layers.Layer):
    """A 'home-made' cell that hands the step to Keras' own LSTMCell."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.inner = keras.layers.LSTMCell(units)
        self.state_size, self.output_size = [units, units], units

    def build(self, input_shape):
        self.inner.build(input_shape)

    def call(self, inputs, states):
        return self.inner(inputs, states)


REFUSED["cell: keras.layers.LSTMCell"] = (check_lstm_cell_class, _CellAroundKeras, "keras.layers.LSTMCell")


@pytest.mark.parametrize("name", list(REFUSED))
def test_an_answer_that_runs_the_reference_or_the_keras_layer_is_refused(name, capsys):
    check, answer, label = REFUSED[name]
    assert check(answer) is False
    out = capsys.readouterr().out
    assert f"your answer calls {label}" in out, out


def test_the_reference_is_not_named_in_the_student_notebook():
    """The check cells fall back to the reference through the checker; the student's view never names it."""
    import nbformat

    from tools.build_notebooks import NOTEBOOKS

    # 03 may run 04's references as tools of its lesson (it steps a unit, it reads a layer's gates); its own
    # exercise's reference, the parameter count, stays out of sight.
    references = {"03": ("lstm.parameter_count(", "getdoc"),
                  "04": ("lstm.lstm_cell_step(", "lstm.lstm_forward(", "lstm.ReferenceLSTMCell",
                         "lstm.lstm_cell_backward", "getdoc")}
    for number, names in references.items():
        (student,) = NOTEBOOKS.glob(f"{number}_*.ipynb")
        code = "\n".join(c.source for c in nbformat.read(student, as_version=4).cells if c.cell_type == "code")
        for reference in names:
            assert reference not in code, (number, reference)


# --- Exercise 4 (optional): the backward pass of one step ------------------------------------------------------------

student_backward = as_student(lstm.lstm_cell_backward)


def _backward_from_scratch(dh_t, dc_t, x_t, h_prev, c_prev, W, U, b):
    """A right answer written another way: gates recomputed by hand, gradients block by block, sums with einsum."""
    u = h_prev.shape[1]
    z = x_t @ W + h_prev @ U + b
    i, f, o = (1 / (1 + np.exp(-z[:, k * u:(k + 1) * u])) for k in (0, 1, 3))
    g = np.tanh(z[:, 2 * u:3 * u])
    c_t = f * c_prev + i * g
    total = dc_t + dh_t * o * (1 - np.tanh(c_t) ** 2)
    blocks = [total * g * i * (1 - i), total * c_prev * f * (1 - f), total * i * (1 - g * g),
              dh_t * np.tanh(c_t) * o * (1 - o)]
    dz = np.hstack(blocks)
    return (np.einsum("bk,dk->bd", dz, W), np.einsum("bk,uk->bu", dz, U), total * f, np.einsum("bd,bk->dk", x_t, dz),
            np.einsum("bu,bk->uk", h_prev, dz), np.einsum("bk->k", dz))


def _backward_with(**switches):
    return lambda *args: lstm_checks._mistaken_backward(*args, **switches)


def _backward_db_per_example(*args):
    grads = list(student_backward(*args))
    x_t = args[2]
    grads[5] = np.repeat(grads[5][None] / len(x_t), len(x_t), axis=0)
    return tuple(grads)


def _backward_dw_transposed(*args):
    grads = list(student_backward(*args))
    grads[3] = grads[3].T
    return tuple(grads)


def _backward_with_the_tape(dh_t, dc_t, x_t, h_prev, c_prev, W, U, b):
    import tensorflow as tf

    variables = [tf.Variable(a) for a in (x_t, h_prev, c_prev, W, U, b)]
    with tf.GradientTape() as tape:
        x, h, c, w, r, bias = variables
        z = x @ w + h @ r + bias
        zi, zf, zc, zo = tf.split(z, 4, axis=-1)
        c_t = tf.sigmoid(zf) * c + tf.sigmoid(zi) * tf.tanh(zc)
        loss = tf.reduce_sum(dh_t * tf.sigmoid(zo) * tf.tanh(c_t)) + tf.reduce_sum(dc_t * c_t)
    return tuple(np.asarray(g) for g in tape.gradient(loss, variables))


WRONG_BACKWARDS = {
    "no path through h_t": (_backward_with(h_path=False), "dC_t misses the path through h_t"),
    "no dc_t": (_backward_with(c_path=False), "dC_t misses dc_t"),
    "no tanh' in the h path": (_backward_with(squash_grad=False), "the derivative of tanh(C_t) is missing"),
    "do with C_t": (_backward_with(out_uses="c"), "the output gate's gradient uses C_t"),
    "sigmoid' as tanh'": (_backward_with(gate_grad="tanh"), "sigmoid's derivative is σ·(1 − σ)"),
    "no sigmoid'": (_backward_with(gate_grad="none"), "σ·(1 − σ) is missing on the gates"),
    "candidate with sigmoid'": (_backward_with(cand_grad="sigmoid"), "the candidate's derivative is sigmoid's"),
    "i and f swapped": (_backward_with(swap_if=True), "the input and forget gates' gradients are swapped"),
    "dc_prev without f": (_backward_with(forget_back=False), "dc_prev misses the forget gate"),
    "no dh_prev": (_backward_with(dh_via="none"), "dh_prev is missing"),
    "dz blocks as f, i, c, o": (_backward_with(order=("f", "i", "c", "o")), "the blocks of dz are in the wrong order"),
    "db per example": (_backward_db_per_example, "db has one row per example"),
    "dW transposed": (_backward_dw_transposed, "dW came back transposed"),
    "returns a dict": (lambda *a: dict(zip(lstm_checks._GRADIENTS, student_backward(*a), strict=True)),
                       "return the six gradients"),
    "returns None": (lambda *a: None, "returned nothing"),
    "crashes": (lambda *a: a[99], "IndexError"),
    "the tape": (_backward_with_the_tape, "your answer calls tensorflow.GradientTape"),
}


@pytest.mark.parametrize("answer", [student_backward, _backward_from_scratch,
                                    lambda *a: tuple(np.float32(1) * g for g in student_backward(*a))],
                         ids=["the reference's code", "from scratch", "in float32"])
def test_backward_check_accepts_right_answers(answer, capsys):
    assert check_lstm_cell_backward(answer) is True, capsys.readouterr().out


def test_backward_check_accepts_the_notebook_solution(capsys):
    solution = notebook_function("04", "lstm_cell_backward", np=np, lstm=lstm)
    assert check_lstm_cell_backward(solution) is True, capsys.readouterr().out


@pytest.mark.parametrize("name", list(WRONG_BACKWARDS))
def test_backward_check_names_the_missing_or_wrong_term(name, capsys):
    answer, hint = WRONG_BACKWARDS[name]
    assert check_lstm_cell_backward(answer) is False
    out = capsys.readouterr().out
    assert hint in out and "❌" in out, out


def test_backward_check_says_not_done(capsys):
    def stub(*args):
        raise NotImplementedError

    assert check_lstm_cell_backward(stub) is False
    assert "not done yet" in capsys.readouterr().out


def test_the_backward_reference_agrees_with_gradient_tape_through_keras():
    """An independent expected value: TensorFlow's automatic differentiation through keras.layers.LSTM itself."""
    layer, W, U, b, x, h, c = lstm_checks._case_arrays(3, 4, 2, "float64", seed=5)
    rng = np.random.default_rng(6)
    dh, dc = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    for mine, tape in zip(lstm.lstm_cell_backward(dh, dc, x, h, c, W, U, b),
                          lstm_checks._tape_gradients(layer, dh, dc, x, h, c), strict=True):
        np.testing.assert_allclose(mine, tape, atol=1e-12)
    assert lstm_checks.check_lstm_cell_backward.exercise.optional


def test_every_backward_mistake_differs_from_the_right_answer():
    _, W, U, b, x, h, c = lstm_checks._case_arrays(3, 2, 2, "float64", seed=7)
    rng = np.random.default_rng(8)
    dh, dc = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    right = lstm.lstm_cell_backward(dh, dc, x, h, c, W, U, b)
    for hint, _, switches in lstm_checks.backward_mistakes():
        wrong = lstm_checks._mistaken_backward(dh, dc, x, h, c, W, U, b, **switches)
        assert not all(np.allclose(r, w) for r, w in zip(right, wrong, strict=True)), hint


# --- notebook 04: the training comparison does not depend on the student's random draws -----------------------------


def test_notebook_04_models_start_the_same_whatever_the_students_code_drew():
    """The cell that builds the two recall models restarts the random numbers, and draws the weights for the Keras
    layer, then copies them into the home-made one: the student's class and random draws change nothing."""
    cells = code_cells("04")
    (build,) = [cell for cell in cells if "def recall_model" in cell]
    weights = []
    for draws in (0, 5):
        namespace = notebook_namespace("04")  # the setup cell's imports
        namespace["HomeMadeLSTMCell"] = StudentCell
        namespace["course"].setup(seed=4)
        np.random.default_rng().random(draws)
        keras.utils.set_random_seed(1000 + draws)  # what a student's own code might have done
        keras.random.normal((draws + 1,))
        exec(compile(build, "notebook 04", "exec"), namespace)
        weights.append(namespace["home_made"].get_weights())
    for first, second in zip(*weights, strict=True):
        np.testing.assert_array_equal(first, second)
    assert "course.reseed(" in next(cell for cell in cells if "def train(" in cell)


# --- several starts of one model, trained together ---------------------------------------------------------------


def _tiny_model(units=2):
    model = keras.Sequential([keras.Input(shape=(None, 3)), keras.layers.LSTM(units, return_sequences=True),
                              keras.layers.Dense(1)])
    return model


def test_stacked_starts_train_exactly_as_each_would_alone():
    rng = np.random.default_rng(0)
    xs, ys = rng.normal(size=(32, 5, 3)).astype("float32"), rng.normal(size=(32, 5, 1)).astype("float32")
    seeds = [11, 12]
    stack = lstm.stack_starts(_tiny_model, seeds)
    stack.compile(optimizer=keras.optimizers.Adam(0.05), loss=lstm.summed_mse)
    keras.utils.set_random_seed(3)
    stack.fit(xs, np.repeat(ys, 2, axis=-1), epochs=2, batch_size=8, verbose=0)
    together = stack.predict(xs, verbose=0)
    for k, seed in enumerate(seeds):
        keras.utils.set_random_seed(seed)
        alone = _tiny_model()
        alone.compile(optimizer=keras.optimizers.Adam(0.05), loss=lstm.summed_mse)
        keras.utils.set_random_seed(3)
        alone.fit(xs, ys, epochs=2, batch_size=8, verbose=0)
        np.testing.assert_allclose(together[..., k], alone.predict(xs, verbose=0)[..., 0], atol=2e-5)
    W, U, b = lstm.keras_lstm_weights(stack.get_layer("memory"))
    owner = np.arange(4) // 2
    assert not U[owner[:, None] != np.tile(owner, 4)[None, :]].any(), "one start reads another's units"
    answer = stack.get_layer("answer").get_weights()[0]
    assert not answer[owner[:, None] != np.arange(2)[None, :]].any()


def test_stack_starts_refuses_a_model_it_cannot_stack():
    with pytest.raises(ValueError, match="LSTM"):
        lstm.stack_starts(lambda: keras.Sequential([keras.Input(shape=(None, 3)), keras.layers.GRU(2),
                                                    keras.layers.Dense(1)]), [0, 1])
    with pytest.raises(ValueError, match="at least one seed"):
        lstm.stack_starts(_tiny_model, [])


# --- notebook 03's figures: what the text asks you to read is not hidden ---------------------------------------------


def test_notebook_03_squashing_figure_keeps_its_legend_off_the_zero_crossing(monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    from utils import course, plots

    shown = []
    monkeypatch.setattr(plots, "show", lambda fig, alt=None: shown.append(fig))
    course.setup(seed=42)  # the notebook's figure size and style
    notebook_namespace("03", "sigmoid", "z_axis")
    (fig,) = [f for f in shown if f.axes and f.axes[0].get_title().startswith("The two squashing")]
    ax = fig.axes[0]
    fig.canvas.draw()
    box = ax.get_legend().get_window_extent()
    for x in np.linspace(-2, 2, 17):  # where tanh crosses 0 and the sigmoid passes 0.5
        for y in (np.tanh(x), sigmoid(x)):
            assert not box.contains(*ax.transData.transform((x, y))), (x, y)


def test_notebook_03_forget_gate_heatmap_has_its_own_scale(nb03):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs, _, marked, asked = nb03["gate_task"](4, seed=0)
    zeros = np.zeros((4, 3))
    run = lstm.lstm_gate_activations(xs, zeros, zeros, *_textbook_gates(units=3))
    fig = nb03["gate_heatmaps"](run, [0, 2], marked, asked)
    try:
        limits = {ax.get_title().split(",")[0]: ax.images[0].get_clim() for ax in fig.axes if ax.images}
        assert limits["forget gate f_t"][0] >= 0.9 and limits["forget gate f_t"][1] == 1  # f stays near 1 here
        assert limits["input gate i_t"] == (0, 1) and limits["output gate o_t"] == (0, 1)
    finally:
        plt.close(fig)
