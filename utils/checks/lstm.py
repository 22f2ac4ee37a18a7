"""Checks for notebooks 03 and 04: the LSTM parameter count; one step in NumPy, the loop over time, a Keras cell class,
and (optional) the backward pass of one step.

Every check builds a ``keras.layers.LSTM`` with random weights (and a random bias), runs it and the student's code on
random batches (float32 and float64, a batch of 1 and larger batches, input size d different from units u, and d = u),
and compares; besides these fixed cases, each run draws a fresh one (``Report.rng``), so that a table of known answers
fails. When an answer is wrong, it is run against a catalogue of typical mistakes (gates in another order, sigmoid and
tanh swapped, tanh missing in h_t, a missing term of the chain rule, ...) to name the likely fault: in words first
(``hint``), with the worked line of code or formula held back until a second failing try (``show``).
"""

from __future__ import annotations

import itertools
import re

import numpy as np

from utils import lstm
from utils.checks import as_array, call, close, exercise

# (batch, d, u, dtype) of the cases, in the order they are tried: a batch of one first, then larger batches. The first
# has d = u, where x_t @ U and h_prev @ W also fit (the only way to see W and U swapped rather than a shape error);
# the others have d != u, where W transposed or W and U mixed up cannot hide. A fresh case follows (``_fresh_case``).
_STEP_CASES = [(1, 2, 2, "float64"), (4, 3, 2, "float32"), (3, 2, 3, "float64"), (5, 4, 3, "float32")]
# (batch, T, d, u, dtype) for the sequence loop: batch != T everywhere, so time and batch axes can't be confused.
_FORWARD_CASES = [(1, 1, 2, 3, "float64"), (1, 6, 2, 3, "float32"), (3, 5, 2, 3, "float64"), (4, 7, 3, 2, "float32")]

_PRE_ACTIVATIONS = "z = x_t @ W + h_prev @ U + b   # (batch, 4u); gate k is z[:, k*u:(k+1)*u], in the order i, f, c, o"
_SHAPE_HINT = ("shapes don't line up: the input multiplies the kernel W (d rows) and the short-term memory multiplies "
               "the recurrent kernel U (u rows), giving one row of 4u pre-activations per example")
_BATCH_HINT = ("the batch dimension is not handled: every array stays 2-D, one row per example, and the whole batch "
               "is computed at once")
_BATCH_SHOW = "x_t @ W on the whole (batch, d) array; no [0], no .flatten() or .ravel(), no loop over single rows"


def _tolerance(dtype: str) -> dict:
    """float64 answers must match to 1e-6 (so a float32 computation is still accepted), float32 answers to 1e-5."""
    return {"atol": 1e-5, "rtol": 1e-4} if dtype == "float32" else {"atol": 1e-6, "rtol": 1e-6}


def _unnamed(message: str, advice: str) -> str:
    """A finding for which no typical mistake matched: ``advice`` (where to look) joins the message rather than
    standing as a "likely fault", so that the grader's class summary does not count it as a named fault."""
    return f"{message}; no typical mistake matches it: {advice}"


def _fresh_case(rng: np.random.Generator, steps: bool = False) -> tuple:
    """A case drawn for this run: batch 2–6, d != u from 1–5 (T 2–8 with ``steps``), float32 or float64; its seed."""
    d, u = (int(v) for v in rng.choice(np.arange(1, 6), size=2, replace=False))
    batch, dtype = int(rng.integers(2, 7)), str(rng.choice(["float32", "float64"]))
    seed = int(rng.integers(1_000, 2**31 - 1_000))
    case = (batch, int(rng.integers(2, 9)), d, u, dtype) if steps else (batch, d, u, dtype)
    return case, seed


def _case_arrays(batch: int, d: int, u: int, dtype: str, seed: int, steps: int | None = None):
    """Random weights in a Keras LSTM, random inputs; returns (layer, W, U, b, x or xs, h0, c0) in ``dtype``."""
    layer = lstm.random_keras_lstm(d, u, seed=seed, dtype=dtype)
    W, U, b = (a.astype(dtype) for a in lstm.keras_lstm_weights(layer))
    rng = np.random.default_rng(seed + 100)
    shape = (batch, d) if steps is None else (batch, steps, d)
    x = rng.normal(0, 1, shape).astype(dtype)
    h0 = rng.normal(0, 0.5, (batch, u)).astype(dtype)
    c0 = rng.normal(0, 1.0, (batch, u)).astype(dtype)
    return layer, W, U, b, x, h0, c0


# --- typical mistakes, computed with the reference's own building blocks ----------------------------------------------


def _mistaken_step(x, h, c, W, U, b, *, order=lstm.GATES, gate_act=lstm.sigmoid, cand_act=np.tanh, out_act=np.tanh,
                   use_forget=True, use_input=True, h_from="new", swap_wu=False, interleaved=False, use_bias=True,
                   use_h=True):
    """One LSTM step with one typical mistake switched on; returns (h_t, c_t)."""
    u = U.shape[0]
    if swap_wu:
        z = x @ U + h @ W
    else:
        z = x @ W + (h @ U if use_h else 0.0)
    if use_bias:
        z = z + b
    if interleaved:  # gate k taken as every 4th column starting at k
        blocks = {g: z[:, k::4] for k, g in enumerate(order)}
    else:
        blocks = {g: z[:, k * u:(k + 1) * u] for k, g in enumerate(order)}
    i, f, o = gate_act(blocks["i"]), gate_act(blocks["f"]), gate_act(blocks["o"])
    c_tilde = cand_act(blocks["c"])
    c_new = (f * c if use_forget else c) + (i * c_tilde if use_input else c_tilde)
    memory = {"new": c_new, "old": c, "candidate": c_tilde}[h_from]
    h_new = o * out_act(memory) if out_act is not None else o * memory
    return h_new, c_new


def _order_hint(order: tuple[str, ...]) -> str:
    wrong = [(g, w) for g, w in zip(lstm.GATES, order, strict=True) if g != w]
    if len(wrong) == 2:
        (a, _), (b, _) = wrong
        return (f"gates in the wrong order: the {lstm.GATE_NAMES[a]} and {lstm.GATE_NAMES[b]} blocks are swapped "
                "(Keras' column blocks are i, f, c, o)")
    return f"gates in the wrong order: you used the blocks as {', '.join(order)}; Keras' order is i, f, c, o"


_SWAPPED_ACTIVATIONS = ("sigmoid and tanh swapped: the gates i, f, o are fractions from 0 to 1, which sigmoid gives; "
                        "the candidate C~_t and the squashing of C_t in h_t are signed amounts from -1 to 1, which "
                        "tanh gives")
_ACTIVATIONS_SHOW = "i, f, o = sigmoid of their blocks; c_tilde = np.tanh(z_c); h_t = o * np.tanh(c_t)"
_CELL_SHOW = "c_t = f * c_prev + i * c_tilde, then h_t = o * np.tanh(c_t) (the new c_t)"


def step_mistakes() -> list[tuple[str, str, dict]]:
    """(hint, worked step, keyword arguments of ``_mistaken_step`` that reproduce that mistake): the catalogue."""
    catalogue = [
        (_SWAPPED_ACTIVATIONS, _ACTIVATIONS_SHOW, dict(gate_act=np.tanh, cand_act=lstm.sigmoid, out_act=lstm.sigmoid)),
        (_SWAPPED_ACTIVATIONS, _ACTIVATIONS_SHOW, dict(gate_act=np.tanh, cand_act=lstm.sigmoid)),
        ("the gates use tanh: i_t, f_t and o_t must be fractions between 0 and 1, which sigmoid gives",
         _ACTIVATIONS_SHOW, dict(gate_act=np.tanh)),
        ("the candidate C~_t uses sigmoid: it needs tanh, so that the memory can move down as well as up",
         _ACTIVATIONS_SHOW, dict(cand_act=lstm.sigmoid)),
        ("h_t squashes C_t with sigmoid: the squashing in h_t is tanh", _CELL_SHOW, dict(out_act=lstm.sigmoid)),
        ("missing tanh on the cell state in h_t: the output gate filters the squashed C_t, not C_t itself",
         _CELL_SHOW, dict(out_act=None)),
        ("the old cell state is used in h_t: compute the new C_t first, then squash that one", _CELL_SHOW,
         dict(h_from="old")),
        ("h_t uses the candidate C~_t: it should use the new cell state C_t", _CELL_SHOW, dict(h_from="candidate")),
        ("forget gate ignored: the old cell state is added without being multiplied by f_t", _CELL_SHOW,
         dict(use_forget=False)),
        ("input gate ignored: the candidate is added without being multiplied by i_t", _CELL_SHOW,
         dict(use_input=False)),
        ("weights sliced wrongly: each gate is a block of u consecutive columns, not every 4th column",
         _PRE_ACTIVATIONS, dict(interleaved=True)),
        ("W and U swapped: x_t goes with W (the kernel, d rows) and h_prev with U (the recurrent kernel, u rows)",
         _PRE_ACTIVATIONS, dict(swap_wu=True)),
        ("bias b missing from the pre-activations", _PRE_ACTIVATIONS, dict(use_bias=False)),
        ("h_prev not used: the gates also read yesterday's short-term memory, through U", _PRE_ACTIVATIONS,
         dict(use_h=False)),
    ]
    wrong_orders = [order for order in itertools.permutations(lstm.GATES) if order != lstm.GATES]  # 23 of them
    catalogue += [(_order_hint(order), _PRE_ACTIVATIONS, dict(order=order)) for order in wrong_orders]
    return catalogue


def _forward_with(step, xs, h0, c0, W, U, b, *, carry_h=True, carry_c=True, reverse=False):
    """The loop over time with a given step function and optional loop mistakes; returns (hs, hs_c, h_T, c_T)."""
    h, c, hs, cs = h0, c0, [], []
    times = range(xs.shape[1])
    for t in (reversed(times) if reverse else times):
        h_new, c_new = step(xs[:, t], h if carry_h else h0, c if carry_c else c0, W, U, b)
        h, c = h_new, c_new
        hs.append(h)
        cs.append(c)
    return np.stack(hs, axis=1), np.stack(cs, axis=1), h, c


def _diagnose_step(got_h, got_c, x, h, c, W, U, b, tol) -> tuple[str | None, str | None]:
    """(hint, worked step) of the first catalogued mistake that reproduces the student's (h_t, c_t)."""
    expected = lstm.lstm_cell_step(x, h, c, W, U, b)
    for hint, show, kwargs in step_mistakes():
        try:
            mh, mc = _mistaken_step(x, h, c, W, U, b, **kwargs)
        except ValueError:  # e.g. W and U swapped when d != u: that mistake cannot run here
            continue
        if close(mh, expected[0], **tol) and close(mc, expected[1], **tol):
            continue  # indistinguishable from the right answer in this case
        if close(got_h, mh, **tol) and close(got_c, mc, **tol):
            return hint, show
        if close(got_h, mc, **tol) and close(got_c, mh, **tol):
            return hint + "; and (c_t, h_t) came back in the wrong order: h_t comes first", show
    return None, None


#: (argument names, what is returned, hint for inputs changed in place, its worked step, hint for results that are
#: not arrays, its worked step).
_STEP_CLEAN = (("x_t", "h_prev", "c_prev", "W", "U", "b"), "h_t and c_t",
               "compute new arrays instead of updating the inputs in place",
               "c_t = f * c_prev + i * c_tilde (a new array), not c_prev *= f ...",
               "return NumPy arrays: the cells below index h_t and feed it back into the next step",
               "return h_t, c_t as they are, no .tolist()")
_FORWARD_CLEAN = (("xs", "h0", "c0", "W", "U", "b"), "hs, h_T and c_T",
                  "keep the memories in new variables instead of updating h0, c0 or xs in place",
                  "h, c = h0, c0 before the loop, then h, c = lstm_cell_step(...) inside it",
                  "return NumPy arrays: the cells below slice them",
                  "return np.stack(hs, axis=1), h, c (no .tolist())")


def _clean(report, label: str, args, originals, result, wording) -> bool:
    """A right answer still fails when it changed its inputs in place or is not NumPy arrays: later cells need both."""
    names, returned, in_place_hint, in_place_show, arrays_hint, arrays_show = wording
    changed = [name for name, a, orig in zip(names, args, originals, strict=True)
               if as_array(a) is None or as_array(a).shape != orig.shape or not np.array_equal(a, orig)]
    if changed:
        report.fail(f"{label}: right answer, but your function changed its input(s) {changed} in place",
                    hint=in_place_hint, show=in_place_show)
        return False
    if not all(isinstance(r, np.ndarray) for r in result):
        report.fail(f"{label}: right values, but {returned} must be NumPy arrays",
                    got=tuple(type(r).__name__ for r in result), hint=arrays_hint, show=arrays_show)
        return False
    return True


def _error_hint(error: str) -> tuple[str, str | None]:
    """(hint, worked step) for an exception raised by the student's code, from its message."""
    error = error.split(" (line ")[0]  # the message only, not the student's line of code that ``call`` appends
    if re.search(r"matmul|shapes? |align|broadcast|dimension|size|reshape", error, re.IGNORECASE):
        return _SHAPE_HINT, _PRE_ACTIVATIONS
    if "index" in error.lower():
        return ("an index is out of range: the gates are four blocks of u columns each, in the (batch, 4u) "
                "pre-activations", _PRE_ACTIVATIONS)
    return None, None  # no fault named: the message and the line of the student's code say what happened


# --- exercise 1: one step ---------------------------------------------------------------------------------------------


@exercise("Exercise 1 · lstm_cell_step",
          notebook="04", answer="lstm_cell_step", reference="utils.lstm:lstm_cell_step", points=4, minutes=20,
          forbid=("utils.lstm:lstm_forward", "utils.lstm:lstm_gate_activations",
                  "utils.lstm:ReferenceLSTMCell", "utils.lstm:run_keras_lstm", "keras.layers:LSTMCell",
                  "keras.layers:LSTM"))
def check_lstm_cell_step(fn, report) -> None:
    """Compare ``fn(x_t, h_prev, c_prev, W, U, b) -> (h_t, c_t)`` with ``keras.layers.LSTM`` on one step."""
    batch_one_ok = False
    cases = [(case, seed) for seed, case in enumerate(_STEP_CASES)] + [_fresh_case(report.rng)]
    for (batch, d, u, dtype), seed in cases:
        layer, W, U, b, x, h, c = _case_arrays(batch, d, u, dtype, seed)
        _, exp_h, exp_c = lstm.run_keras_lstm(layer, x[:, None, :], h, c)
        tol = _tolerance(dtype)
        label = f"batch of {batch}, d={d}, u={u}, {dtype}"
        args = [a.copy() for a in (x, h, c, W, U, b)]
        result, error = call(fn, *args)
        if error:
            hint, show = (_BATCH_HINT, _BATCH_SHOW) if batch_one_ok and batch > 1 else _error_hint(error)
            report.fail(f"{label}: your function raised {error}", hint=hint, show=show)
            return
        if not (isinstance(result, (tuple, list)) and len(result) == 2):
            report.fail(f"{label}: return a pair (h_t, c_t)", got=result, hint="return the two new memories, h_t first",
                        show="return h_t, c_t")
            return
        got_h, got_c = as_array(result[0]), as_array(result[1])
        if got_h is None or got_c is None:
            report.fail(f"{label}: h_t and c_t must be numeric arrays", got=result,
                        hint="compute them with NumPy, on the whole batch at once", show=_CELL_SHOW)
            return
        want = (batch, u)
        if got_h.shape != want or got_c.shape != want:
            show = None
            if batch_one_ok or got_h.shape in ((u,), (1, u)) or got_h.size == u:
                hint, show = _BATCH_HINT, _BATCH_SHOW
            elif got_h.shape == (u, batch):
                hint, show = "h_t came back transposed (u, batch): keep one row per example", "x_t @ W, not W.T @ x_t.T"
            else:
                hint, show = _SHAPE_HINT, _PRE_ACTIVATIONS
            report.fail(f"{label}: h_t and c_t must each have shape (batch, u) = {want}", expected=want,
                        got=(got_h.shape, got_c.shape), hint=hint, show=show)
            return
        if close(got_h, exp_h, **tol) and close(got_c, exp_c, **tol):
            if not _clean(report, label, args, (x, h, c, W, U, b), result, _STEP_CLEAN):
                return
            batch_one_ok = batch_one_ok or batch == 1
            continue
        if close(got_h, exp_c, **tol) and close(got_c, exp_h, **tol):
            report.fail(f"{label}: (c_t, h_t) came back in the wrong order", hint="h_t comes first",
                        show="return h_t, c_t")
            return
        hint, show = _diagnose_step(got_h, got_c, x, h, c, W, U, b, tol)
        which = "h_t" if not close(got_h, exp_h, **tol) else "c_t"
        message = f"{label}: wrong {which}"
        report.fail(message if hint else _unnamed(message, "compare your code with the six equations, one line at a "
                                                           "time, in Keras' gate order i, f, c, o"),
                    expected=exp_h if which == "h_t" else exp_c, got=got_h if which == "h_t" else got_c,
                    hint=hint, show=show or _PRE_ACTIVATIONS)
        return


# --- exercise 2: the loop over time ----------------------------------------------------------------------------------

_LOOP_SHOW = "h, c, hs = h0, c0, []; for t in range(T): h, c = lstm_cell_step(xs[:, t], h, c, W, U, b); hs.append(h)"


def _forward_mistakes(xs, h0, c0, W, U, b) -> list[tuple[str, str, tuple]]:
    """(hint, worked step, (hs, h_T, c_T)) that a typical mistake in the loop (or in the step it calls) produces."""
    ref = lstm.lstm_cell_step
    hs, cs, h_T, c_T = _forward_with(ref, xs, h0, c0, W, U, b)
    loops = {
        "the memories are not carried: each step must start from the h_t and c_t of the step before, not from h0, c0":
            _forward_with(ref, xs, h0, c0, W, U, b, carry_h=False, carry_c=False),
        "the cell state is not carried: the next step must start from the new c_t, not from c0 again":
            _forward_with(ref, xs, h0, c0, W, U, b, carry_c=False),
        "the short-term memory is not carried: the next step must start from the new h_t, not from h0 again":
            _forward_with(ref, xs, h0, c0, W, U, b, carry_h=False),
        "the sequence is read backwards: go from the first step to the last":
            _forward_with(ref, xs, h0, c0, W, U, b, reverse=True),
    }
    out = [(hint, _LOOP_SHOW, (m[0], m[2], m[3])) for hint, m in loops.items()]
    out += [("hs collects the cell states c_t: it should collect the outputs h_t", _LOOP_SHOW, (cs, h_T, c_T)),
            ("hs starts with h0 and misses the last step: collect each h_t after computing it", _LOOP_SHOW,
             (np.concatenate([h0[:, None], hs[:, :-1]], axis=1), h_T, c_T)),
            ("h_T and c_T are from the first step: return the memories after the last step", _LOOP_SHOW,
             (hs, hs[:, 0], cs[:, 0]))]
    for hint, show, kwargs in step_mistakes():
        step = (lambda kw: (lambda *a: _mistaken_step(*a, **kw)))(kwargs)
        try:
            m = _forward_with(step, xs, h0, c0, W, U, b)
        except ValueError:
            continue
        out.append((f"in the step: {hint}", show, (m[0], m[2], m[3])))
    return out


@exercise("Exercise 2 · lstm_forward",
          notebook="04", answer="lstm_forward", reference="utils.lstm:lstm_forward", points=3, minutes=15,
          forbid=("utils.lstm:lstm_gate_activations", "utils.lstm:run_keras_lstm", "keras.layers:LSTMCell",
                  "keras.layers:LSTM"))
def check_lstm_forward(fn, report) -> None:
    """Compare ``fn(xs, h0, c0, W, U, b) -> (hs, h_T, c_T)`` with ``keras.layers.LSTM`` over whole sequences."""
    batch_one_ok = False
    cases = [(case, seed + 10) for seed, case in enumerate(_FORWARD_CASES)] + [_fresh_case(report.rng, steps=True)]
    for (batch, steps, d, u, dtype), seed in cases:
        layer, W, U, b, xs, h0, c0 = _case_arrays(batch, d, u, dtype, seed, steps=steps)
        expected = lstm.run_keras_lstm(layer, xs, h0, c0)
        tol = _tolerance(dtype)
        label = f"batch of {batch}, T={steps} steps, d={d}, u={u}, {dtype}"
        args = [a.copy() for a in (xs, h0, c0, W, U, b)]
        result, error = call(fn, *args)
        if error:
            if batch_one_ok and batch > 1:
                hint, show = _BATCH_HINT, _BATCH_SHOW
            elif "index" in error.lower() or f"({steps}, {d})" in error:  # xs[t] is (T, d) when batch is 1
                hint = "time is axis 1: indexing the first axis picks an example, not a time step"
                show = "step t is xs[:, t], of shape (batch, d)"
            else:
                hint, show = _error_hint(error)
            report.fail(f"{label}: your function raised {error}", hint=hint, show=show)
            return
        if not (isinstance(result, (tuple, list)) and len(result) == 3):
            got = f"{type(result).__name__} of length {len(result)}" if isinstance(result, (tuple, list)) else result
            report.fail(f"{label}: return three things (hs, h_T, c_T)", got=got,
                        hint="return every step's h, then the last h and c", show="return np.stack(hs, axis=1), h, c")
            return
        got = [as_array(r) for r in result]
        if any(g is None for g in got):
            report.fail(f"{label}: hs, h_T and c_T must be numeric arrays", got=result,
                        hint="put the list of h_t together into one array, time on axis 1",
                        show="np.stack(hs, axis=1)")
            return
        want = [(batch, steps, u), (batch, u), (batch, u)]
        if [g.shape for g in got] != want:
            show = "np.stack(hs, axis=1) gives (batch, T, u)"
            if got[0].shape == (steps, batch, u) and close(np.swapaxes(got[0], 0, 1), expected[0], **tol):
                hint = "hs has time first (T, batch, u): time belongs on axis 1, after the batch"
            elif (batch_one_ok and batch > 1) or any(g.shape == w[1:] for g, w in zip(got, want, strict=True)):
                hint, show = _BATCH_HINT, _BATCH_SHOW
            elif got[0].shape == (batch, steps + 1, u):
                hint = "hs has one step too many: don't include h0, only h_1 … h_T"
            else:
                hint = "hs is (batch, T, u), h_T and c_T are (batch, u)"
            report.fail(f"{label}: wrong shapes", expected=want, got=[g.shape for g in got], hint=hint, show=show)
            return
        if all(close(g, e, **tol) for g, e in zip(got, expected, strict=True)):
            if not _clean(report, label, args, (xs, h0, c0, W, U, b), result, _FORWARD_CLEAN):
                return
            batch_one_ok = batch_one_ok or batch == 1
            continue
        if close(got[0], expected[0], **tol) and close(got[1], expected[2], **tol) and \
                close(got[2], expected[1], **tol):
            report.fail(f"{label}: (c_T, h_T) came back in the wrong order", hint="h_T comes before c_T",
                        show="return hs, h, c")
            return
        hint, show = None, _LOOP_SHOW
        for name, worked, mistake in _forward_mistakes(xs, h0, c0, W, U, b):
            if all(close(m, e, **tol) for m, e in zip(mistake, expected, strict=True)):
                continue
            if all(close(g, m, **tol) for g, m in zip(got, mistake, strict=True)):
                hint, show = name, worked
                break
        names = ("hs", "h_T", "c_T")
        k = next(k for k in range(3) if not close(got[k], expected[k], **tol))
        message = f"{label}: wrong {names[k]}"
        report.fail(message if hint else _unnamed(message, "check the loop: start from h0, c0; step t uses the "
                                                           "inputs of step t and the h, c of step t-1; collect every "
                                                           "h_t"),
                    expected=expected[k], got=got[k], hint=hint, show=show)
        return


# --- exercise 3: a Keras cell class ----------------------------------------------------------------------------------


def _find_cell_weights(cell, d: int, u: int):
    """The cell's (kernel, recurrent_kernel, bias) variables, by name, else by shape; or an error message."""
    variables = list(cell.weights)
    by_name = {v.path.rsplit("/", 1)[-1]: v for v in variables}
    if {"kernel", "recurrent_kernel", "bias"} <= by_name.keys():
        found = [by_name["kernel"], by_name["recurrent_kernel"], by_name["bias"]]
    elif len(variables) == 3:
        found = variables
    else:
        return None, (f"the cell has {len(variables)} weight(s) {[v.path.rsplit('/', 1)[-1] for v in variables]}; "
                      "create three in build(): kernel (d, 4u), recurrent_kernel (u, 4u), bias (4u,)")
    shapes = [tuple(v.shape) for v in found]
    want = [(d, 4 * u), (u, 4 * u), (4 * u,)]
    if shapes != want:
        return None, f"weight shapes {shapes}, expected kernel {want[0]}, recurrent_kernel {want[1]}, bias {want[2]}"
    return found, None


def _states_mixed_up(xs, h0, c0, W, U, b, read_swapped: bool, write_swapped: bool):
    """Outputs hs of a cell that reads its states as [c, h] and/or returns them as [c, h] (Keras passes [h0, c0])."""
    first, second, hs = h0, c0, []
    for t in range(xs.shape[1]):
        h_prev, c_prev = (second, first) if read_swapped else (first, second)
        h, c = lstm.lstm_cell_step(xs[:, t], h_prev, c_prev, W, U, b)
        first, second = (c, h) if write_swapped else (h, c)
        hs.append(h)
    return np.stack(hs, axis=1)


def run_cell_class(cls, u: int, d: int, dtype: str, W, U, b, xs, h0=None, c0=None, compiled: bool = False) -> dict:
    """Harness, run where the student's class lives (see ``utils.checks.call``): wrap ``cls(u)`` in
    ``keras.layers.RNN``, give it the weights W, U, b and run it on ``xs`` from ``h0, c0`` (eagerly, or inside a
    compiled model when ``compiled``). Returns plain data: the stage it reached ("done", or where it stopped), the
    error there, and the outputs (hs, h_T, c_T; hs only when compiled).
    """
    import keras

    from utils.checks import _describe

    if not isinstance(cls, type) or not issubclass(cls, keras.layers.Layer):
        return {"stage": "class", "got": repr(cls)[:90]}
    if compiled:
        try:
            inputs = keras.Input((None, d))
            rnn = keras.layers.RNN(cls(u), return_sequences=True)
            model = keras.Model(inputs, rnn(inputs))
            weights, _ = _find_cell_weights(rnn.cell, d, u)
            for variable, value in zip(weights, (W, U, b), strict=True):
                variable.assign(value)
            return {"stage": "done", "outputs": [np.asarray(model.predict(xs, verbose=0))]}
        except Exception as exc:  # the eager runs passed, so even a NotImplementedError here is TensorFlow
            # refusing NumPy on a symbolic tensor, not an unfinished stub
            return {"stage": "compiled", "error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:150]}"}
    stage = "create"
    try:
        cell = cls(u, dtype=dtype)
        state_size = getattr(cell, "state_size", None)
        try:
            sizes = [int(size) for size in state_size]
        except (TypeError, ValueError):
            return {"stage": "state_size", "got": repr(state_size)[:90]}
        if sizes != [u, u]:
            return {"stage": "state_size", "got": sizes}
        stage = "wrap"
        rnn = keras.layers.RNN(cell, return_sequences=True, return_state=True, dtype=dtype)
        stage = "build"
        rnn.build((None, None, d))
        weights, problem = _find_cell_weights(cell, d, u)
        if problem:
            return {"stage": "weights", "error": problem}
        for variable, value in zip(weights, (W, U, b), strict=True):
            variable.assign(value)
        stage = "run"
        hs, h_T, c_T = lstm.run_keras_lstm(rnn, xs, h0, c0)
    except NotImplementedError:
        raise  # the stub: the exercise is not done yet
    except Exception as exc:  # the student's class failed at this stage: a finding, never a crash
        return {"stage": stage, "error": _describe(exc)}
    return {"stage": "done", "outputs": [np.asarray(hs), np.asarray(h_T), np.asarray(c_T)]}


_STAGE_FAULTS = {
    "create": ("creating the cell with {name}({u}) raised {error}",
               "keep the given __init__(self, units, **kwargs) and pass **kwargs to super().__init__"),
    "wrap": ("keras.layers.RNN could not wrap your cell: {error}",
             "a cell needs state_size, output_size and call(inputs, states)"),
    "build": ("building the cell raised {error}", "build(input_shape) creates the weights; d = input_shape[-1]"),
    "weights": ("{error}", "use self.add_weight(shape=..., name=...) in build()"),
}


def _cell_case(cls, batch, steps, d, u, dtype, seed, report, label):
    """Run one case through ``keras.layers.RNN(cls(u))``; returns True when it matches keras.layers.LSTM."""
    layer, W, U, b, xs, h0, c0 = _case_arrays(batch, d, u, dtype, seed, steps=steps)
    expected = lstm.run_keras_lstm(layer, xs, h0, c0)
    tol = _tolerance(dtype)
    ran, error = call(run_cell_class, cls, u, d, dtype, W, U, b, xs, h0, c0)
    if error:
        report.fail(f"{label}: running your cell raised {error}", hint=_cell_error_hint(error))
        return False
    stage = ran.get("stage") if isinstance(ran, dict) else None
    if stage == "class":
        report.fail("pass the class itself (HomeMadeLSTMCell), a subclass of keras.layers.Layer", got=ran["got"])
        return False
    if stage == "state_size":
        report.fail(f"{label}: state_size should be [units, units] (h and c)", expected=[u, u], got=ran["got"],
                    hint="set self.state_size = [units, units] in __init__")
        return False
    if stage in _STAGE_FAULTS:
        message, hint = _STAGE_FAULTS[stage]
        report.fail(f"{label}: " + message.format(name="your class", u=u, error=ran["error"]), hint=hint)
        return False
    if stage == "run":
        report.fail(f"{label}: running the cell raised {ran['error']}", hint=_cell_error_hint(ran["error"]))
        return False
    got_hs, got_h, got_c = ran["outputs"]
    if got_hs.shape != expected[0].shape:
        report.fail(f"{label}: wrong output shape", expected=expected[0].shape, got=got_hs.shape,
                    hint="the cell's output (first return value) is h_t of shape (batch, u)")
        return False
    if all(close(g, e, **tol) for g, e in zip((got_hs, got_h, got_c), expected, strict=True)):
        return True
    if close(got_h, expected[2], **tol) and close(got_c, expected[1], **tol) and close(got_hs, expected[0], **tol):
        report.fail(f"{label}: the final states came back as [c, h]",
                    hint="return the new states as [h_t, c_t], the order of state_size and of keras.layers.LSTM")
        return False
    cs = lstm.lstm_gate_activations(xs, h0, c0, W, U, b)["c"]
    if close(got_hs, cs, **tol):
        report.fail(f"{label}: the cell outputs the cell state", expected=expected[0], got=got_hs,
                    hint="return h_t, [h_t, c_t]: the output is the short-term memory h_t, not C_t")
        return False
    if any(close(got_hs, _states_mixed_up(xs, h0, c0, W, U, b, read, write), **tol)
           for read, write in ((True, False), (False, True), (True, True))):
        report.fail(f"{label}: the states are read or returned as [c, h]",
                    hint="states arrive as [h_prev, c_prev]; return h_t, [h_t, c_t] in that order")
        return False
    hint, show = None, _PRE_ACTIVATIONS
    for name, worked, mistake in _forward_mistakes(xs, h0, c0, W, U, b):
        if name.startswith("in the step: ") and not close(mistake[0], expected[0], **tol) and \
                close(got_hs, mistake[0], **tol):
            hint, show = name.removeprefix("in the step: "), worked
            break
    message = f"{label}: outputs differ from keras.layers.LSTM with the same weights"
    report.fail(message if hint else _unnamed(message, "compare call() with the six equations; Keras' gate order is "
                                                       "i, f, c, o"),
                expected=expected[0], got=got_hs, hint=hint, show=show)
    return False


def _cell_error_hint(error: str) -> str | None:
    """A hint for an exception raised while running the student's cell, from its message (Keras' wrapping removed)."""
    error = error.split(" (line ")[0]
    if re.search(r"unpack|NoneType|not iterable|not subscriptable", error):
        return "call(inputs, states) gets states = [h_prev, c_prev] and must return (h_t, [h_t, c_t])"
    if re.search(r"incompatible shapes|matmul|broadcast|dimensions? must|shape mismatch", error, re.I):
        return _SHAPE_HINT
    return None  # no fault named: the message and the line of the student's code say what happened


@exercise("Exercise 3 · HomeMadeLSTMCell",
          notebook="04", answer="HomeMadeLSTMCell", reference="utils.lstm:ReferenceLSTMCell", points=3, minutes=20,
          forbid=("keras.layers:LSTMCell", "keras.layers:LSTM"))
def check_lstm_cell_class(cls, report) -> None:
    """Wrap ``cls(units)`` in ``keras.layers.RNN``, copy random LSTM weights into it and compare with keras.layers.LSTM.

    Runs eagerly (float64 and float32, batch of 1 and more, and a case drawn for this run), then once inside a
    compiled Keras model, where NumPy calls on tensors no longer work.
    """
    cases = [(case, seed + 20) for seed, case in enumerate([(1, 4, 3, 2, "float64"), (3, 6, 2, 4, "float32")])]
    for (batch, steps, d, u, dtype), seed in cases + [_fresh_case(report.rng, steps=True)]:
        label = f"batch of {batch}, T={steps}, d={d}, u={u}, {dtype}"
        if not _cell_case(cls, batch, steps, d, u, dtype, seed, report, label):
            return
    # Inside model.predict the cell runs as a compiled graph, as it does in fit().
    batch, steps, d, u = 2, 5, 3, 2
    layer, W, U, b, xs, h0, c0 = _case_arrays(batch, d, u, "float32", 30, steps=steps)
    expected, _, _ = lstm.run_keras_lstm(layer, xs)
    ran, error = call(run_cell_class, cls, u, d, "float32", W, U, b, xs, compiled=True)
    if error or ran.get("stage") != "done":
        report.fail(f"inside a compiled model (as in fit): {error or ran.get('error')}",
                    hint="use keras.ops (ops.matmul, ops.sigmoid, ops.tanh, ops.split) on tensors, not NumPy or "
                         ".numpy(): the cell must work on symbolic tensors too")
        return
    if not close(ran["outputs"][0], expected, **_tolerance("float32")):
        report.fail("inside a compiled model the outputs differ from eager mode", expected=expected,
                    got=ran["outputs"][0], hint="use keras.ops, not NumPy, inside call()")


# --- exercise 4 (optional): the backward pass of one step -------------------------------------------------------------

_GRADIENTS = ("dx_t", "dh_prev", "dc_prev", "dW", "dU", "db")  # in the order of the step's arguments


def _tape_gradients(layer, dh_t, dc_t, x_t, h_prev, c_prev) -> list[np.ndarray]:
    """What ``tf.GradientTape`` says, independently of any formula: the gradients of sum(dh_t·h_t) + sum(dc_t·c_t), a
    loss whose gradients with respect to h_t and c_t are dh_t and dc_t, for one step of the Keras LSTM ``layer`` from
    (h_prev, c_prev), with respect to x_t, h_prev, c_prev and the layer's kernel, recurrent kernel and bias."""
    import tensorflow as tf

    inputs = [tf.Variable(a) for a in (x_t, h_prev, c_prev)]
    named = {v.path.rsplit("/", 1)[-1]: v.value for v in layer.weights}
    weights = [named["kernel"], named["recurrent_kernel"], named["bias"]]
    with tf.GradientTape() as tape:
        _, h_t, c_t = layer(inputs[0][:, None, :], initial_state=inputs[1:])
        loss = tf.reduce_sum(dh_t * h_t) + tf.reduce_sum(dc_t * c_t)
    return [np.asarray(g) for g in tape.gradient(loss, inputs + weights)]


def _mistaken_backward(dh, dc, x, h, c, W, U, b, *, h_path=True, c_path=True, squash_grad=True, out_uses="tanh",
                       gate_grad="sigmoid", cand_grad="tanh", swap_if=False, forget_back=True, dh_via="U",
                       order=lstm.GATES):
    """The backward pass of one step with one typical mistake switched on; the six gradients."""
    s = lstm.lstm_cell_step(x, h, c, W, U, b, gates=True)
    i, f, c_tilde, o, tanh_c = s["i"], s["f"], s["c_tilde"], s["o"], np.tanh(s["c"])
    through_h = dh * o * ((1 - tanh_c ** 2) if squash_grad else 1.0)
    d_c = (dc if c_path else 0.0) + (through_h if h_path else 0.0)
    do = dh * (tanh_c if out_uses == "tanh" else s["c"])
    di, df = (d_c * c, d_c * c_tilde) if swap_if else (d_c * c_tilde, d_c * c)
    derivative = {"sigmoid": lambda a: a * (1 - a), "tanh": lambda a: 1 - a ** 2, "none": lambda a: 1.0}
    blocks = {"i": di * derivative[gate_grad](i), "f": df * derivative[gate_grad](f),
              "c": d_c * i * derivative[cand_grad](c_tilde), "o": do * derivative[gate_grad](o)}
    dz = np.concatenate([blocks[g] for g in order], axis=-1)
    dh_prev = {"U": dz @ U.T, "W": dz @ W.T, "none": np.zeros_like(h)}[dh_via]
    return dz @ W.T, dh_prev, d_c * (f if forget_back else 1.0), x.T @ dz, h.T @ dz, dz.sum(axis=0)


_CELL_GRADIENT_SHOW = "dC = dc_t + dh_t * o * (1 - np.tanh(c_t)**2)   # C_t reaches the loss directly and through h_t"
_GATE_GRADIENT_SHOW = ("di, df, dc_tilde = dC * c_tilde, dC * c_prev, dC * i;  dz_i = di * i * (1 - i) (f, o alike); "
                       "dz_c = dc_tilde * (1 - c_tilde**2)")
_INPUT_GRADIENT_SHOW = ("dz = concatenate(dz_i, dz_f, dz_c, dz_o);  dx_t = dz @ W.T;  dh_prev = dz @ U.T;  "
                        "dW = x_t.T @ dz;  dU = h_prev.T @ dz;  db = dz.sum(axis=0)")


def backward_mistakes() -> list[tuple[str, str, dict]]:
    """(hint naming the missing or wrong term, worked step, switches of ``_mistaken_backward``): the catalogue."""
    return [
        ("dC_t misses the path through h_t: h_t = o_t·tanh(C_t) depends on C_t too, so the gradient that reaches h_t "
         "also flows into C_t", _CELL_GRADIENT_SHOW, dict(h_path=False)),
        ("dC_t misses dc_t, the gradient that the next step passes back through the cell state",
         _CELL_GRADIENT_SHOW, dict(c_path=False)),
        ("in the path from h_t to C_t, the derivative of tanh(C_t) is missing: 1 − tanh²(C_t)", _CELL_GRADIENT_SHOW,
         dict(squash_grad=False)),
        ("the output gate's gradient uses C_t: o_t multiplies tanh(C_t), so its gradient is dh_t times tanh(C_t)",
         "do = dh_t * np.tanh(c_t)", dict(out_uses="c")),
        ("the gates' derivative is tanh's (1 − σ²): sigmoid's derivative is σ·(1 − σ)", _GATE_GRADIENT_SHOW,
         dict(gate_grad="tanh")),
        ("the sigmoid's derivative σ·(1 − σ) is missing on the gates", _GATE_GRADIENT_SHOW, dict(gate_grad="none")),
        ("the candidate's derivative is sigmoid's: tanh's derivative is 1 − tanh²", _GATE_GRADIENT_SHOW,
         dict(cand_grad="sigmoid")),
        ("the tanh's derivative 1 − tanh² is missing on the candidate", _GATE_GRADIENT_SHOW, dict(cand_grad="none")),
        ("the input and forget gates' gradients are swapped: f_t multiplies C_(t-1) and i_t multiplies C~_t",
         _GATE_GRADIENT_SHOW, dict(swap_if=True)),
        ("dc_prev misses the forget gate: C_(t-1) reaches C_t multiplied by f_t", "dc_prev = dC * f",
         dict(forget_back=False)),
        ("dh_prev is missing: h_prev reaches the loss through all four gates, through U", _INPUT_GRADIENT_SHOW,
         dict(dh_via="none")),
        ("dh_prev goes back through W: h_prev was multiplied by U (the recurrent kernel), x_t by W",
         _INPUT_GRADIENT_SHOW, dict(dh_via="W")),
        *[(_order_hint(order).replace("gates in the wrong order", "the blocks of dz are in the wrong order"),
           _INPUT_GRADIENT_SHOW, dict(order=order)) for order in itertools.permutations(lstm.GATES)
          if order != lstm.GATES],
    ]


def _backward_shape_hint(name: str, got: tuple, want: tuple) -> tuple[str, str]:
    if name == "db" and len(got) == 2 and got[1:] == want:
        return ("db has one row per example: the bias is shared by the whole batch, so its gradient adds up the "
                "rows", "db = dz.sum(axis=0)")
    if got == want[::-1]:
        return (f"{name} came back transposed: each gradient has the shape of what it is the gradient of",
                _INPUT_GRADIENT_SHOW)
    if name in ("dW", "dU") and len(got) == 2 and got[1] == want[1]:
        return ("dW and dU swapped: W multiplied x_t and U multiplied h_prev, so dW comes from x_t and dU from "
                "h_prev", _INPUT_GRADIENT_SHOW)
    return f"{name} must have the shape of {name[1:]}, {want}", _INPUT_GRADIENT_SHOW


@exercise("Exercise 4 · lstm_cell_backward",
          notebook="04", answer="lstm_cell_backward", reference="utils.lstm:lstm_cell_backward", points=2, minutes=30,
          forbid=("tensorflow:GradientTape", "tensorflow:gradients", "tensorflow:autodiff.ForwardAccumulator",
                  "keras.layers:LSTMCell", "keras.layers:LSTM"), optional=True)
def check_lstm_cell_backward(fn, report) -> None:
    """Compare ``fn(dh_t, dc_t, x_t, h_prev, c_prev, W, U, b) -> (dx_t, dh_prev, dc_prev, dW, dU, db)`` with what
    ``tf.GradientTape`` computes through one step of ``keras.layers.LSTM`` with the same weights."""
    cases = [(case, seed + 40) for seed, case in enumerate(_STEP_CASES[:3])] + [_fresh_case(report.rng)]
    for (batch, d, u, dtype), seed in cases:
        layer, W, U, b, x, h, c = _case_arrays(batch, d, u, dtype, seed)
        upstream = np.random.default_rng(seed + 200)
        dh, dc = (upstream.normal(0, 1, (batch, u)).astype(dtype) for _ in range(2))
        expected = _tape_gradients(layer, dh, dc, x, h, c)
        tol = _tolerance(dtype)
        label = f"batch of {batch}, d={d}, u={u}, {dtype}"
        originals = (dh, dc, x, h, c, W, U, b)
        args = [a.copy() for a in originals]
        result, error = call(fn, *args)
        if error:
            hint, show = _error_hint(error)
            report.fail(f"{label}: your function raised {error}", hint=hint, show=show)
            return
        if not (isinstance(result, (tuple, list)) and len(result) == 6):
            got = f"{type(result).__name__} of length {len(result)}" if isinstance(result, (tuple, list, dict)) \
                else result
            report.fail(f"{label}: return the six gradients (dx_t, dh_prev, dc_prev, dW, dU, db)", got=got,
                        hint="return a tuple of six arrays, in the order of the step's arguments x_t, h_prev, "
                             "c_prev, W, U, b", show="return dx_t, dh_prev, dc_prev, dW, dU, db")
            return
        got = [as_array(r) for r in result]
        if any(g is None for g in got):
            report.fail(f"{label}: the six gradients must be numeric arrays", got=result,
                        hint="compute each gradient as a NumPy array")
            return
        for name, g, e in zip(_GRADIENTS, got, expected, strict=True):
            if g.shape != e.shape:
                hint, show = _backward_shape_hint(name, g.shape, e.shape)
                report.fail(f"{label}: {name} has the wrong shape", expected=e.shape, got=g.shape, hint=hint,
                            show=show)
                return
        if all(close(g, e, **tol) for g, e in zip(got, expected, strict=True)):
            changed = [n for n, a, orig in zip(("dh_t", "dc_t", *_STEP_CLEAN[0]), args, originals, strict=True)
                       if as_array(a) is None or as_array(a).shape != orig.shape or not np.array_equal(a, orig)]
            if changed:
                report.fail(f"{label}: right gradients, but your function changed its input(s) {changed} in place",
                            hint="compute new arrays instead of updating the inputs in place")
                return
            if not all(isinstance(r, np.ndarray) for r in result):
                report.fail(f"{label}: right values, but the gradients must be NumPy arrays",
                            got=tuple(type(r).__name__ for r in result),
                            hint="return NumPy arrays: the cell below adds them up over many steps")
                return
            continue
        hint, show = None, _INPUT_GRADIENT_SHOW
        for name, worked, switches in backward_mistakes():
            mistake = _mistaken_backward(*originals, **switches) if switches.get("dh_via") != "W" or d == u else None
            if mistake is None or all(close(m, e, **tol) for m, e in zip(mistake, expected, strict=True)):
                continue  # cannot happen here, or indistinguishable from the right answer in this case
            if all(close(g, m, **tol) for g, m in zip(got, mistake, strict=True)):
                hint, show = name, worked
                break
        k = next(k for k in range(6) if not close(got[k], expected[k], **tol))
        message = f"{label}: wrong {_GRADIENTS[k]} (tf.GradientTape through keras.layers.LSTM gives another)"
        report.fail(message if hint else _unnamed(message, "go back through the six equations in reverse order, one "
                                                           "at a time: first the gradient reaching C_t, then each "
                                                           "gate's, then through the activations to z, then to the "
                                                           "inputs and the weights"),
                    expected=expected[k], got=got[k], hint=hint, show=show)
        return


# --- notebook 03: the parameter count --------------------------------------------------------------------------------

_COUNT_SHOW = "per block: u·d input weights + u·u recurrent weights + u biases; four blocks: 4·(u·(d + u) + u)"
_COUNT_MISTAKES = {
    "the biases are missing: each of the four blocks also has one bias per unit": lambda d, u: 4 * u * (d + u),
    "the recurrent weights are missing: each block also has a weight for every (unit, unit) pair, the weights that "
    "read h_(t-1)": lambda d, u: 4 * (u * d + u),
    "only one block counted: the input, forget and output gates and the candidate each have their own":
        lambda d, u: u * (d + u) + u,
    "three blocks counted (that is the GRU's gates); the LSTM has four: i, f, c, o":
        lambda d, u: 3 * (u * (d + u) + u),
    "the recurrent weights pair every unit with every unit (they read h_(t-1), which has u values), not every input "
    "feature with every unit": lambda d, u: 4 * (2 * u * d + u),
}


@exercise("Exercise 1 · LSTM parameter count",
          notebook="03", answer="lstm_param_count", reference="utils.lstm:parameter_count", points=2, minutes=10,
          forbid=("keras.layers:LSTM",))
def check_lstm_param_count(fn, report) -> None:
    """Compare ``fn(input_dim, units) -> int`` with what ``keras.layers.LSTM(units).count_params()`` reports.

    Fixed sizes, then three fresh ones drawn for this run, so that a table of the sizes the notebook shows fails.
    """
    fresh = [(int(report.rng.integers(2, 60)), int(report.rng.integers(2, 130))) for _ in range(3)]
    cases, answers = [(1, 1), (3, 8), (10, 4), (2, 32), *fresh], []
    for d, u in cases:
        got, error = call(fn, d, u)
        if error:
            report.fail(f"d={d} input features, u={u} units: your function raised {error}")
            return
        answers.append(got)
    hint = next((h for h, wrong in _COUNT_MISTAKES.items()
                 if all(close(got, wrong(d, u), atol=0, rtol=0) for got, (d, u) in zip(answers, cases, strict=True))),
                None)
    for got, (d, u) in zip(answers, cases, strict=True):
        expected = lstm.parameter_count(d, u)
        if not close(got, expected, atol=0, rtol=0):
            message = f"d={d} input features, u={u} units: wrong count"
            report.fail(message if hint else _unnamed(message, "count, per block, a weight for each (input feature, "
                                                               "unit) pair, one for each (unit, unit) pair and one "
                                                               "bias per unit; then the blocks"),
                        expected=expected, got=got, hint=hint, show=_COUNT_SHOW)
            return
