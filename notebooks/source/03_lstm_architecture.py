# %% [markdown]
# # 03 · LSTM architecture
# <!-- summary: the six LSTM equations; one unit stepped by hand; gates as percentages; Keras LSTM API, parameter count, weight layout; the gates of an LSTM trained from nine starts on a marker and question task, untrained against trained -->
# <!-- facts: 100 (per cent, a gate fully open); 1997 (Hochreiter and Schmidhuber's LSTM paper); 2014 (Cho et al.'s GRU); 2015 (Olah's blog post) -->
#
# Notebook 02 ended with a problem: in a plain RNN, what happened on day 1 reaches day n multiplied by the recurrent
# weight $W_2$ again and again (input day 1 × $W_2^n$), so its influence, and its gradient, either vanishes or explodes.
# The **Long Short-Term Memory** (LSTM) cell fixes this with a second, protected path for memory. This notebook takes
# the cell apart: its six equations, one unit stepped by hand with real numbers, and then the Keras layer that runs
# many of these units side by side.
#
# **By the end of this notebook you will be able to**
#
# 1. write down the six LSTM equations and say in one sentence what each one does;
# 2. step one LSTM unit by hand: long-term memory C, short-term memory h, forget / input / output gates as percentages;
# 3. explain why sigmoid sits on the gates and tanh on the memory content, and why the cell-state path does not
#    vanish the way $W_2^n$ does;
# 4. use `keras.layers.LSTM`: `units`, `return_sequences`, `return_state`, `stateful`, stacking, `Bidirectional`
#    (and know what a GRU is);
# 5. count an LSTM's parameters from its weight shapes (the exercise) and read its weights in Keras' gate order
#    **i, f, c, o**;
# 6. look inside a trained LSTM and see its gates open and close.

# %% [markdown]
# ## Setup
#
# `utils` is this course's package (the `utils/` folder): data loaders, plots, exercise checks and the code that
# several notebooks share. It comes before Keras because it keeps TensorFlow's start-up log quiet.
# `course.setup(seed=42)` seeds Python, NumPy and TensorFlow, so that a rerun gives the same numbers. A code cell that
# starts with `# Saved in utils/...` is the lesson's code, kept identical in that module because later notebooks or
# the checks use it from there.

# %%
from utils import course, lstm, plots  # first, before Keras: see utils/__init__.py
from utils.checks import hint, progress, use_reference_if_needed
from utils.checks.lstm import check_lstm_param_count

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

course.setup(seed=42, notebook="03")  # seeds Python, NumPy and TensorFlow; deterministic ops; figure style (utils/course.py)
pd.set_option("display.precision", 3)


# %% [markdown]
# ## Start from the problem LSTMs solve
#
# In the lecture's toy RNN the hidden value of day 1 is multiplied by the same recurrent weight $W_2$ at every later step,
# so after n steps its contribution (and the gradient that flows back to it) carries a factor $W_2^n$:

# %% tags=["nbval-check-output"]
steps = [1, 5, 10, 20, 50]
repeated = pd.DataFrame({"W2 = 0.5": [0.5**n for n in steps], "W2 = 1": [1.0**n for n in steps],
                         "W2 = 2": [2.0**n for n in steps]}, index=pd.Index(steps, name="steps n"))
print("Factor W2^n that multiplies input day 1 after n steps (no units: a ratio)")
print(repeated.to_string(float_format=lambda v: f"{v:.3g}"))

# %% [markdown]
# After 20 steps, $W_2 = 0.5$ leaves about a millionth (9.54e-07) of day 1, and $W_2 = 2$ blows it up about a million
# times (1.05e+06). Only $W_2 = 1$ exactly keeps it, and a trained weight never stays at exactly 1. An LSTM keeps its long-term
# memory on a line where **no weight multiplies it at all**: only a gate that the network sets, step by step, from
# the data.

# %% [markdown]
# ## Read the six equations
#
# At time step t the cell receives today's input $x_t$ and the two memories of yesterday: the **short-term memory**
# $h_{t-1}$ (also the layer's output) and the **long-term memory** $C_{t-1}$ (the *cell state*). $[h_{t-1}, x_t]$
# means the two vectors placed side by side; $\sigma$ is the sigmoid; $*$ multiplies element by element. Each gate has
# its own weights $W$ and bias $b$.
#
# $$f_t = \sigma\left(W_f \cdot [h_{t-1}, x_t] + b_f\right)$$
# **Forget gate**: for each memory slot, the fraction (0 … 1, "% to remember") of yesterday's long-term memory to keep.
#
# $$i_t = \sigma\left(W_i \cdot [h_{t-1}, x_t] + b_i\right)$$
# **Input gate**: the fraction ("% of the potential memory to add") of today's candidate that gets written in.
#
# $$\tilde{C}_t = \tanh\left(W_C \cdot [h_{t-1}, x_t] + b_C\right)$$
# **Candidate** ("potential memory"): what could be written today, between -1 and 1, so memory can go down as well as up.
#
# $$C_t = f_t * C_{t-1} + i_t * \tilde{C}_t$$
# **Cell-state update**: keep the remembered share of the old memory and add the admitted share of the candidate.
#
# $$o_t = \sigma\left(W_o \cdot [h_{t-1}, x_t] + b_o\right)$$
# **Output gate**: the fraction of the (squashed) long-term memory to show as today's output.
#
# $$h_t = o_t * \tanh(C_t)$$
# **New short-term memory**: the squashed long-term memory, filtered by the output gate; it is the output and it feeds
# the gates tomorrow.
#
# The diagram draws the same six lines. Follow the red line on top: from $C_{t-1}$ to $C_t$ it meets one
# multiplication (by $f_t$) and one addition, and **no weight**.

# %%
plots.show(plots.draw_lstm_cell(), alt="Diagram of one LSTM cell at time step t. The long-term memory runs straight "
                                       "along the top from C_(t-1) to C_t, touched only by one multiplication, by the "
                                       "forget gate f_t, and one addition, of the input gate i_t times the candidate "
                                       "C~_t. Along the bottom, the short-term memory h_(t-1) and today's input x_t "
                                       "are joined and go to all four gates: three sigmoid gates, f_t, i_t and o_t "
                                       "(fractions from 0 to 1), and one tanh, the candidate C~_t (from -1 to 1). On "
                                       "the right, tanh(C_t) times the output gate o_t gives the new short-term "
                                       "memory h_t, which is also the cell's output.")

# %% [markdown]
# ## Compare sigmoid and tanh
#
# Two squashing functions share the work. The sigmoid $\sigma(z) = 1/(1+e^{-z})$ maps any number into (0, 1): a
# **fraction**, which is exactly what a gate is ("let four fifths through"). tanh maps into (-1, 1): a **signed amount**, which
# is what memory content needs (the price went up / down). A ReLU, the toy RNN's activation, would be a poor gate: it
# has no upper limit, so it could not mean "at most 100 %".
#
# In NumPy the sigmoid is one line. Written with tanh, $\sigma(z) = (1 + \tanh(z/2))/2$, it gives the same values as
# $1/(1+e^{-z})$ but never overflows, where $e^{-z}$ would for a very negative z:

# %%
# Saved in utils/lstm.py: the LSTM step there, notebook 04 and the checks use it from there
def sigmoid(z):
    """The logistic function 1 / (1 + e^-z), elementwise, written so it never overflows: its values lie in (0, 1)."""
    z = np.asarray(z)
    return 0.5 * (1.0 + np.tanh(0.5 * z))


# %% tags=["nbval-check-output"]
z = np.array([-4.0, -2.0, -1.0, 0.0, 1.0, 2.0, 4.0])
squash = pd.DataFrame({"sigmoid(z)": sigmoid(z), "tanh(z)": np.tanh(z)}, index=pd.Index(z, name="z"))
print(squash.T.to_string(float_format=lambda v: f"{v:.3f}"))

# %%
z_axis = np.linspace(-6, 6, 241)
fig, ax = plt.subplots()
ax.plot(z_axis, sigmoid(z_axis), label="sigmoid: gates f, i, o (0 … 1)")
ax.plot(z_axis, np.tanh(z_axis), label="tanh: candidate C~ and tanh(C) (-1 … 1)")
ax.axhline(0, color="black", lw=0.6)
ax.set(title="The two squashing functions of an LSTM", xlabel="pre-activation z (no units)",
       ylabel="activation (no units)")
ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))  # beside the axes: it hides no part of the curves
fig.tight_layout()
plots.show(fig, alt="The sigmoid and tanh curves for pre-activation z from -6 to 6. The sigmoid, used by the gates, "
                    "rises from 0 to 1 and is 0.5 at z = 0; tanh, used for the candidate and for tanh(C), rises from "
                    "-1 to 1 and is 0 at z = 0. Notice that beyond z = 4 or -4 both are almost flat at their limits, "
                    "so a gate can be almost fully open or almost fully closed.")

# %% [markdown]
# What to notice: at z = 0 the sigmoid is 0.5 ("keep half") while tanh is 0 ("write nothing"); from z = ±4 on, both
# are within a few hundredths of their limits (0.982 and 0.999), so a gate can be almost fully open or almost fully
# closed.

# %% [markdown]
# ## Step one LSTM unit by hand
#
# Take the smallest LSTM there is: **one unit** (u = 1) with **one input** (d = 1). Each gate then has just three
# numbers: a weight on today's input $x_t$, a weight on yesterday's short-term memory $h_{t-1}$, and a bias. (In the
# equations above, $W_f$ is then the pair of weights of the forget gate, $b_f$ its bias, and so on.) These are the values
# used below, chosen by hand so that each gate visibly does its job (a trained network would find its own):

# %% tags=["nbval-check-output"]
weights = pd.DataFrame(lstm.ONE_UNIT_WEIGHTS).T.rename(
    index=lstm.GATE_NAMES, columns={"x": "weight on x_t", "h": "weight on h_(t-1)", "b": "bias"})
print(weights.to_string())

# %% [markdown]
# The input is the lecture's stock example: four days of company A's price, scaled to 0 … 1, starting from empty
# memories ($h_0 = C_0 = 0$). Here is day 1 worked out line by line, exactly as you would on paper:

# %% tags=["nbval-check-output"]
company_a = [0.0, 0.5, 0.25, 1.0]
x, h_prev, c_prev = company_a[0], 0.0, 0.0
g = lstm.ONE_UNIT_WEIGHTS
forget = sigmoid(g["f"]["x"] * x + g["f"]["h"] * h_prev + g["f"]["b"])
remember = sigmoid(g["i"]["x"] * x + g["i"]["h"] * h_prev + g["i"]["b"])
potential = np.tanh(g["c"]["x"] * x + g["c"]["h"] * h_prev + g["c"]["b"])
c_new = forget * c_prev + remember * potential
show = sigmoid(g["o"]["x"] * x + g["o"]["h"] * h_prev + g["o"]["b"])
h_new = show * np.tanh(c_new)
print(f"x_1 = {x}, h_0 = {h_prev}, C_0 = {c_prev}")
print(f"f_1  = sigmoid({g['f']['x']}·{x} + {g['f']['h']}·{h_prev} + {g['f']['b']}) = {forget:.4f}  -> remember {100 * forget:.1f} % of C_0")
print(f"i_1  = sigmoid({g['i']['x']}·{x} + {g['i']['h']}·{h_prev} + {g['i']['b']}) = {remember:.4f}  -> add {100 * remember:.1f} % of the potential memory")
print(f"C~_1 = tanh({g['c']['x']}·{x} + {g['c']['h']}·{h_prev} + {g['c']['b']})    = {potential:.4f}  (the potential memory)")
print(f"C_1  = {forget:.4f}·{c_prev} + {remember:.4f}·{potential:.4f} = {c_new:.4f}  (new long-term memory)")
print(f"o_1  = sigmoid({g['o']['x']}·{x} + {g['o']['h']}·{h_prev} + {g['o']['b']})  = {show:.4f}  -> output {100 * show:.1f} % of tanh(C_1)")
print(f"h_1  = {show:.4f}·tanh({c_new:.4f}) = {h_new:.4f}  (new short-term memory and output)")

# %% [markdown]
# Written once for a batch of examples and any number of units u, in the layout Keras uses (see "Read the weight
# layout from the layer" below: `W` multiplies $x_t$, `U` multiplies $h_{t-1}$, the four gates' columns side by side
# in the order i, f, c, o), these lines are the first two exercises of notebook 04, where you write the step and the
# loop over time yourself. Until then this notebook runs the course's reference versions from `utils/lstm.py`:
# `lstm.lstm_cell_step` (one step), `lstm.lstm_gate_activations` (every step's gates, for the heatmaps at the end)
# and `lstm.lstm_forward` (what a Keras layer returns).

# %% [markdown]
# `one_unit_table` runs `lstm.lstm_gate_activations` on the one unit over a list of days and lays out each day's numbers in the order
# they are computed:

# %%
def one_unit_table(xs, weights=None, h0=0.0, c0=0.0):
    """One LSTM unit stepped over the 1-D sequence ``xs``: one row per day t, gates in percent, memories as values."""
    xs = np.asarray(xs, dtype=float)
    run = lstm.lstm_gate_activations(xs.reshape(1, -1, 1), np.array([[h0]]), np.array([[c0]]),
                                *lstm.one_unit_keras_weights(weights))
    s = {key: values[0, :, 0] for key, values in run.items()}  # one value per day in each
    h_prev, c_prev = np.append(h0, s["h"][:-1]), np.append(c0, s["c"][:-1])  # the memories each day starts from
    return pd.DataFrame({
        "x_t": xs, "h_(t-1)": h_prev, "C_(t-1)": c_prev,
        "f_t: % to remember": 100 * s["f"], "kept f·C_(t-1)": s["f"] * c_prev,
        "C~_t: potential memory": s["c_tilde"], "i_t: % of potential to add": 100 * s["i"],
        "added i·C~_t": s["i"] * s["c_tilde"], "C_t (long-term)": s["c"],
        "o_t: % to output": 100 * s["o"], "h_t (short-term)": s["h"],
    }, index=pd.Index(np.arange(1, len(xs) + 1), name="t"))


# %% [markdown]
# Company A's four days, one column per day (day 1 repeats the lines above):

# %% tags=["nbval-check-output"]
table_a = one_unit_table(company_a)
print(table_a.T.to_string(float_format=lambda v: f"{v:.3f}"))

# %% [markdown]
# Read the table column by column (gates in percent, memories as values). On day 1 ($x_1 = 0$) there is nothing to
# remember yet, and the small input lets in only 18.243 % of a negative potential memory, so C becomes slightly
# negative (-0.084). On day 4 the big input ($x_4 = 1$) does three things at once: the forget gate drops to 39.423 %
# (old memory mostly dropped), the input gate opens to 82.277 %, and the candidate is strongly positive (0.892), so
# the long-term memory jumps to 0.774.
#
# Does the memory of an early day survive? Company B has the same last three days but starts high ($x_1 = 1$):

# %% tags=["nbval-check-output"]
company_b = [1.0, 0.5, 0.25, 1.0]
table_b = one_unit_table(company_b)
both = pd.DataFrame({"C_t company A": table_a["C_t (long-term)"], "C_t company B": table_b["C_t (long-term)"],
                     "h_t company A": table_a["h_t (short-term)"], "h_t company B": table_b["h_t (short-term)"]})
print(both.to_string(float_format=lambda v: f"{v:.3f}"))

# %% [markdown]
# Days 2–4 are identical for both companies, yet on day 4 company B's memories are still higher (C 0.842 vs 0.774,
# h 0.572 vs 0.534): day 1 is still in there, three steps later.
#
# The same numbers come out of Keras. `keras.layers.LSTM(1)` has exactly these twelve numbers, once they are put in
# Keras' layout (more on that layout below):

# %% tags=["nbval-check-output"]
one_unit = keras.layers.LSTM(1, return_sequences=True, return_state=True)
one_unit.build((None, None, 1))
lstm.set_keras_lstm_weights(one_unit, *lstm.one_unit_keras_weights())
hs, h_last, c_last = lstm.run_keras_lstm(one_unit, np.array(company_a, dtype="float32").reshape(1, 4, 1))
print("Keras h_t:", np.round(hs[0, :, 0], 3), " final C:", np.round(c_last[0], 3))
print("same as the hand-stepped table (to 1e-6):",
      np.allclose(hs[0, :, 0], table_a["h_t (short-term)"], atol=1e-6)
      and np.allclose(c_last[0, 0], table_a["C_t (long-term)"].iloc[-1], atol=1e-6))

# %%
fig, (ax_mem, ax_gates) = plt.subplots(1, 2, figsize=(10, 3.5))
days = table_a.index
for table, name, style in ((table_a, "A", "-o"), (table_b, "B", "--s")):
    ax_mem.plot(days, table["C_t (long-term)"], style, color="C3", label=f"C_t long-term, company {name}")
    ax_mem.plot(days, table["h_t (short-term)"], style, color="C4", label=f"h_t short-term, company {name}")
ax_mem.set(title="Memories of one LSTM unit", xlabel="day t", ylabel="memory value (no units)", xticks=days)
ax_mem.legend(fontsize=8)
for column, colour in (("f_t: % to remember", "C0"), ("i_t: % of potential to add", "C2"),
                       ("o_t: % to output", "C1")):
    ax_gates.plot(days, table_a[column], "-o", color=colour, label=column)
ax_gates.set(title="Its gates on company A", xlabel="day t", ylabel="gate value (%)", ylim=(0, 100), xticks=days)
ax_gates.legend(fontsize=8)
fig.tight_layout()
plots.show(fig, alt=f"Two line charts over days {days[0]} to {days[-1]}. Left, the long-term memory C_t and the "
                    "short-term memory h_t of one LSTM unit, for company A (solid lines) and company B (dashed). "
                    "Notice that B's memories start far above A's and the gap narrows but has not closed by the last "
                    "day. Right, company A's forget, input and output gates in percent: on the last day the forget "
                    "gate falls while the input and output gates rise.")

# %% [markdown]
# Left, the two tables as curves: company B's memories (dashed) start far above A's and the gap narrows, but has
# not closed by day 4. Right, A's three gates day by day: on day 4 the forget gate falls while the input and output
# gates rise.

# %% [markdown]
# ## See why the memory line does not vanish
#
# Along the red line, one step does $C_t = f_t * C_{t-1} + \dots$, so a small change in $C_{t-1}$ reaches $C_t$
# multiplied by $f_t$, and after n steps by $f_1 f_2 \cdots f_n$. That is the LSTM's version of $W_2^n$, with two
# differences: each $f_t$ lies between 0 and 1, so nothing can explode along this line, and it is **computed from the
# data at every step**, so the network can hold it near 1 for as long as the memory matters and drop it to 0 to erase.
#
# To measure it, take the hand-made unit but give its forget gate a bias of 4 (a gate that has learnt to stay almost
# fully open), feed it a quiet input (x = 0.1 every day), and compare:
#
# * **cell-state line only**: the product of the forget gates $f_1 \cdots f_n$;
# * **all paths**: the measured derivative $dC_n/dC_0$ (nudge $C_0$ by ±1e-6 and watch $C_n$). It also includes the
#   paths through h, which *do* pass through weights at every step.

# %%
def cell_state_gradient(xs, weights=None, eps=1e-6):
    """How much C_T moves when C_0 moves, for the one unit run over the 1-D sequence ``xs`` from h_0 = C_0 = 0.

    Returns ``(total, direct)``: dC_T/dC_0 measured by nudging C_0 by ±eps (every path), and f_1 … f_T (the C line).
    """
    xs, zero = np.asarray(xs, dtype=float).reshape(1, -1, 1), np.zeros((1, 1))
    W, U, b = lstm.one_unit_keras_weights(weights)
    c_up = lstm.lstm_forward(xs, zero, zero + eps, W, U, b)[2]
    c_down = lstm.lstm_forward(xs, zero, zero - eps, W, U, b)[2]
    forget = lstm.lstm_gate_activations(xs, zero, zero, W, U, b)["f"]
    return float((c_up - c_down)[0, 0] / (2 * eps)), float(np.prod(forget))


# %% [markdown]
# Both, next to the plain RNN's $W_2^n$:

# %% tags=["nbval-check-output"]
open_forget = {gate: dict(values) for gate, values in lstm.ONE_UNIT_WEIGHTS.items()}
open_forget["f"]["b"] = 4.0
rows = []
for n in steps:
    total, direct = cell_state_gradient(np.full(n, 0.1), open_forget)
    rows.append({"steps n": n, "RNN W2^n, W2 = 0.5": 0.5**n, "RNN W2^n, W2 = 2": 2.0**n,
                 "LSTM f_1…f_n (C line only)": direct, "LSTM dC_n/dC_0 (all paths)": total})
print(pd.DataFrame(rows).set_index("steps n").to_string(float_format=lambda v: f"{v:.3g}"))
at_20 = rows[steps.index(20)]
print(f"at 20 steps, all paths / W2^n (W2 = 0.5): {at_20['LSTM dC_n/dC_0 (all paths)'] / at_20['RNN W2^n, W2 = 0.5']:,.0f}")

# %% [markdown]
# After 20 steps the cell-state line still carries 0.591 of the original change, where $W_2 = 0.5$ leaves 9.54e-07 and
# $W_2 = 2$ gives 1.05e+06. The full derivative is smaller than the C line alone (0.0426 at 20 steps, 0.000467 at 50):
# for this hand-picked unit the paths through h work against the C line. Even so it is tens of thousands of times
# larger than $0.5^{20}$ (the last line above), and it fades gradually instead of collapsing. That is the deck's point: the long-term memory is not
# multiplied by a weight at every step, so an LSTM can carry a signal across many more steps than a plain RNN (notebook
# 02 measures this on a real task). It does not make gradients immortal: a forget gate that sits at 0.8176 (this
# unit's own, $f_1$ above, from its bias of 1.5) would still shrink the memory by $0.8176^n$.

# %% [markdown]
# ## Play with the gates (optional)
#
# The three panels below are snapshots of the same unit in three situations (gates as fractions from 0 to 1; memories
# as values). Then, if you run the notebook live, the **gate playground** lets you move the input, the two memories
# and the four biases with sliders and watch $C_t$ and $h_t$ respond.

# %%
scenarios = {"quiet day: keep the memory": (0.0, 0.0, 1.0), "big rise: overwrite": (1.0, 0.0, -1.0),
             "big fall: hold on": (-1.0, 0.0, 1.0)}
fig = lstm.plot_gate_scenarios(scenarios)
plots.show(fig, alt="Three bar charts of one step of an LSTM unit, one per situation, each with bars for the gates "
                    "f_t, i_t and o_t (fractions from 0 to 1) and for C_(t-1), the candidate C~_t, C_t and h_t. Quiet "
                    "day: the forget gate keeps most of the memory 1.0 and little of a negative candidate is added. "
                    "Big rise: the forget gate drops, the input gate opens and the old memory -1.0 is mostly replaced "
                    "by the positive candidate. Big fall: the input gate is nearly shut and the forget gate nearly "
                    "fully open, so the memory 1.0 is held almost unchanged.")

# %% [markdown]
# The same three snapshots as numbers, one column each (one step of `one_unit_table` from the given memories):

# %% tags=["nbval-check-output"]
snapshots = pd.concat({name: one_unit_table([x], h0=h, c0=c).iloc[0] for name, (x, h, c) in scenarios.items()},
                      axis=1)
shown = snapshots.apply(lambda row: row.map(("{:.1f}" if "%" in row.name else "{:.3f}").format), axis=1)
print(shown.to_string())  # gates in percent to one decimal, memories to three

# %% [markdown]
# What to notice: on the quiet day, 81.8 % of the memory 1.0 is kept and only 18.2 % of a negative candidate is
# added, so $C_t$ = 0.733. On the big rise the forget gate drops to 37.8 % and the input gate opens to 81.8 %: the old
# memory -1.0 is mostly replaced by the positive candidate ($C_t$ = 0.362). On the big fall the input gate is nearly
# shut (1.1 %) and the forget gate is 97.1 % open, so the memory 1.0 is held almost unchanged (0.960) while the output
# gate shows only 37.8 % of it.

# %% tags=["nbval-ignore-output"]
# Interactive: needs a running kernel (in a static view on GitHub nothing appears here; the panels above are the same).
plots.show(lstm.gate_playground(), alt="Interactive gate playground (needs a running kernel): seven sliders set x_t, "
                                       "h_(t-1), C_(t-1) and the biases of the four gates, and a bar chart of f_t, "
                                       "i_t, o_t, C_(t-1), C~_t, C_t and h_t redraws with the step's values. The "
                                       "three panels above are the same chart for three fixed situations.")

# %% [markdown]
# ## Use `keras.layers.LSTM`
#
# A Keras LSTM layer with `units = u` runs u of these cells side by side (their gates see each other's h through the
# recurrent weights). Its input is a batch of sequences, shaped `(batch, time steps, features d)`. Three arguments
# decide what comes out:
#
# * `units`: u, the size of h and C;
# * `return_sequences=True`: h at every step `(batch, T, u)` instead of only the last one `(batch, u)`;
# * `return_state=True`: also return the final memories h_T and C_T (an encoder hands these to a decoder in
#   notebooks 06 and 07).

# %% tags=["nbval-check-output"]
rng = np.random.default_rng(course.seed(0))
batch_xs = rng.normal(size=(2, 7, 3)).astype("float32")  # 2 sequences, 7 steps, 3 features
print("input (batch, T, d):", batch_xs.shape)
for options in ({}, {"return_sequences": True}, {"return_state": True},
                {"return_sequences": True, "return_state": True}):
    layer = keras.layers.LSTM(4, **options)
    out = layer(batch_xs)
    shapes = [tuple(o.shape) for o in out] if isinstance(out, (list, tuple)) else tuple(out.shape)
    print(f"LSTM(4, {', '.join(f'{k}=True' for k in options) or 'defaults'}) ->", shapes)

# %% [markdown]
# With both options the layer returns `[all h, h_T, C_T]`. The last row of "all h" *is* h_T, since the output of an
# LSTM is its short-term memory:

# %% tags=["nbval-check-output"]
all_h, h_T, c_T = layer(batch_xs)
print("all_h[:, -1] equals h_T:", np.allclose(all_h[:, -1], h_T))
print("h_T equals C_T:", np.allclose(h_T, c_T), "(h is the squashed, filtered C)")

# %% [markdown]
# **Stacking.** A second LSTM layer needs a sequence as input, so every LSTM except the last one in a stack must use
# `return_sequences=True`. **Bidirectional** runs one LSTM forwards and a second one backwards over the sequence and
# joins their outputs, so the size doubles (useful when the whole sequence is known in advance, as in translation;
# not for forecasting, where the future is unknown).

# %% tags=["nbval-check-output"]
stacked = keras.Sequential([
    keras.Input(shape=(None, 3)),
    keras.layers.LSTM(8, return_sequences=True, name="lower_lstm"),
    keras.layers.LSTM(4, name="upper_lstm"),
    keras.layers.Dense(1, name="forecast"),
])
for layer in stacked.layers:
    print(f"{layer.name:<12} output shape {layer.output.shape}   parameters {layer.count_params()}")
both_ways = keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True))
one_way = keras.layers.LSTM(4)
one_way.build((None, None, 3))
print("Bidirectional(LSTM(4)) on (2, 7, 3) ->", tuple(both_ways(batch_xs).shape),
      " parameters", both_ways.count_params(), "= 2 ×", one_way.count_params())

# %% [markdown]
# ### Stream with stateful layers; meet the GRU (optional)
#
# **Stateful layers.** Normally each batch starts from empty memories. With `stateful=True` the layer keeps its final
# h and C and starts the next batch from them, so a long series can be fed in chunks (a live price feed, for example).
# The batch size must then be fixed, given with `keras.Input(batch_shape=...)`, and `reset_state()` empties the memories
# when a new series begins. Check: feeding 10 steps as two chunks of 5 gives the same result as feeding all 10 at once.

# %% tags=["nbval-check-output"]
streaming = keras.layers.LSTM(4, stateful=True)
stream_model = keras.Sequential([keras.Input(batch_shape=(2, 5, 3)), streaming])
long_xs = rng.normal(size=(2, 10, 3)).astype("float32")
_ = stream_model(long_xs[:, :5])             # first chunk: steps 1-5
after_two_chunks = stream_model(long_xs[:, 5:])  # second chunk starts from the memories left by the first
whole = keras.layers.LSTM(4)
whole.build((None, None, 3))
whole.set_weights(streaming.get_weights())
print("two chunks of 5 = one pass of 10:", np.allclose(after_two_chunks, whole(long_xs), atol=1e-6))
streaming.reset_state()
fresh = stream_model(long_xs[:, 5:])          # after reset_state() the second chunk starts from zeros again
print("after reset_state(), chunk 2 starts from empty memories again (no longer the one pass of 10):",
      not np.allclose(fresh, whole(long_xs), atol=1e-6))

# %% [markdown]
# **GRU, in one paragraph.** The Gated Recurrent Unit (Cho et al., 2014) is a slimmer cousin: it merges the long- and
# short-term memories into one vector h and uses two gates instead of three (an *update* gate that blends old h and a
# candidate, and a *reset* gate that decides how much of old h feeds the candidate). It has three weight blocks
# instead of four, so fewer parameters (108 against 128 in the example below); on many tasks it does about as well as
# an LSTM (try it on the marker task at the end). `keras.layers.GRU` takes the same arguments as `keras.layers.LSTM`.

# %% tags=["nbval-check-output"]
for layer in (keras.layers.LSTM(4), keras.layers.GRU(4)):
    layer.build((None, None, 3))
    print(f"{type(layer).__name__}(4) on 3 features: {layer.count_params()} parameters, weight shapes "
          f"{[tuple(w.shape) for w in layer.weights]}")

# %% [markdown]
# ## Exercise 1 · LSTM parameter count
#
# You have seen Keras count parameters (`count_params()`) above; now derive the count yourself. Each of the four
# blocks (i, f, c, o) has a weight for every (input feature, unit) pair, a weight for every (unit, unit) pair (the
# recurrent weights that read $h_{t-1}$), and one bias per unit. Write the count as a function of d (input features)
# and u (units), then run the check. It tries sizes you have not seen; if it says your count is wrong twice, it also
# shows the count worked out (or ask for it with `hint()`).

# %%
def lstm_param_count(input_dim, units):
    """Number of trainable numbers in keras.layers.LSTM(units) on input_dim features."""
    ### BEGIN SOLUTION
    return 4 * (units * (input_dim + units) + units)
    ### END SOLUTION


# %%
passed = check_lstm_param_count(lstm_param_count)
lstm_param_count = use_reference_if_needed(lstm_param_count, passed, check_lstm_param_count)

# %% [markdown]
# Compare the count (yours if it passed, the reference otherwise) with what Keras itself counts, for a few sizes:

# %% tags=["nbval-check-output"]
rows = []
for d, u in [(1, 1), (1, 8), (3, 8), (3, 32), (10, 64)]:
    layer = keras.layers.LSTM(u)
    layer.build((None, None, d))
    rows.append({"d": d, "u": u, "lstm_param_count(d, u)": lstm_param_count(d, u), "count_params()": layer.count_params()})
counts = pd.DataFrame(rows)
print(counts.to_string(index=False))
print("formula = Keras everywhere:", bool((counts["lstm_param_count(d, u)"] == counts["count_params()"]).all()))

# %% [markdown]
# The count, worked out: per block, u·d input weights, u·u recurrent weights and u biases; four blocks, so
# 4·(u·(d + u) + u). Two things to notice: it does not depend on the sequence length (the same weights are reused at
# every step, as in notebook 01), and it grows with u²: on 3 features, 8 units need 384 parameters and 32 units
# (4 times as many) need 4,608 (12 times as many).

# %% [markdown]
# ## Read the weight layout from the layer
#
# Keras does not store four separate $W_f, W_i, W_C, W_o$ acting on $[h_{t-1}, x_t]$. It splits each of them into the
# part that multiplies $x_t$ and the part that multiplies $h_{t-1}$, and puts the four gates side by side:
#
# | weight | shape | multiplies |
# |---|---|---|
# | `kernel` W | (d, 4u) | today's input $x_t$ |
# | `recurrent_kernel` U | (u, 4u) | yesterday's short-term memory $h_{t-1}$ |
# | `bias` b | (4u,) | — |
#
# so all four pre-activations come from one product, $z = x_t W + h_{t-1} U + b$, of shape (batch, 4u). Which block of
# u columns is which gate? The layer tells us itself: a fresh LSTM sets the **forget** gate's biases to 1
# (`unit_forget_bias=True`, so that it starts by remembering) and all other biases to 0.

# %% tags=["nbval-check-output"]
layout = keras.layers.LSTM(3, name="layout")
layout.build((None, None, 2))
for variable in layout.weights:
    print(f"{variable.path:<32} shape {tuple(variable.shape)}")
kernel, recurrent_kernel, bias = layout.get_weights()
print("bias of a fresh LSTM(3):", bias)
for k, gate in enumerate(lstm.GATES):  # four blocks of u = 3 columns
    columns = slice(3 * k, 3 * (k + 1))
    print(f"  columns {columns.start}:{columns.stop} -> {lstm.GATE_NAMES[gate]:<16} bias {bias[columns]}")

# %% [markdown]
# The ones sit in the second block, columns 3:6, so the order is **i, f, c, o** (input, forget, candidate, output),
# not the f, i, C, o order in which the equations are usually written. Final check of the layout: the NumPy
# `lstm.lstm_forward` (the loop of notebook 04), which cuts z into blocks in exactly this order, reproduces
# the layer's own outputs.

# %% tags=["nbval-check-output"]
layout_seq = keras.layers.LSTM(3, return_sequences=True, return_state=True)
layout_seq.build((None, None, 2))
layout_seq.set_weights(layout.get_weights())
sample = rng.normal(size=(4, 6, 2)).astype("float32")
zeros = np.zeros((4, 3), dtype="float32")
numpy_hs, numpy_h, numpy_c = lstm.lstm_forward(sample, zeros, zeros, kernel, recurrent_kernel, bias)
keras_hs, keras_h, keras_c = lstm.run_keras_lstm(layout_seq, sample)
print("NumPy reference = keras.layers.LSTM (to 1e-6):",
      all(np.allclose(a, b, atol=1e-6) for a, b in [(numpy_hs, keras_hs), (numpy_h, keras_h), (numpy_c, keras_c)]))

# %% [markdown]
# ## Watch the gates of a trained LSTM
#
# Finally, a look inside an LSTM that has learnt something. To *see* the three gates at work, the task must need each
# of them: "**remember the marked number, and say it only when asked**". Every sequence has three input channels:
#
# * a **value**, fresh noise in [-1, 1] at every step;
# * a **marker**, 1 at one early step (0 elsewhere): the value at that step is the one to keep;
# * a **question**, 1 at one late step: that is where the network must answer.
#
# The target is the marked value at the question step and 0 at every other step. So the network has to let the marked
# value in and no other (input gate), keep it while the noise goes on (forget gate), and stay quiet until the question
# (output gate). Steps are numbered from 1, as in the equations.

# %%
LENGTH = 16                                # time steps per sequence
MARKER_STEPS, QUESTION_STEPS = (2, 7), (12, 15)  # the first and last step where the marker / the question can fall


def gate_task(n, seed):
    """``n`` sequences of the marker task: inputs ``xs (n, LENGTH, 3)`` (value, marker, question), targets ``ys``.

    ``ys (n, LENGTH, 1)`` is 0 except at the question step, where it is the value at the marked step. Also returns the
    positions of the marker and the question, ``marked`` and ``asked`` (n,), as 0-based indices into the time axis.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive whole number of sequences, such as 500, not {n!r}")
    rng = np.random.default_rng(seed)
    rows = np.arange(n)
    values = rng.uniform(-1, 1, (n, LENGTH))
    marked = rng.integers(MARKER_STEPS[0] - 1, MARKER_STEPS[1], n)      # step s is index s - 1
    asked = rng.integers(QUESTION_STEPS[0] - 1, QUESTION_STEPS[1], n)
    xs = np.zeros((n, LENGTH, 3), dtype="float32")
    xs[:, :, 0] = values
    xs[rows, marked, 1] = 1.0
    xs[rows, asked, 2] = 1.0
    ys = np.zeros((n, LENGTH, 1), dtype="float32")
    ys[rows, asked, 0] = values[rows, marked]
    return xs, ys, marked, asked


# %% [markdown]
# One sequence, channel by channel:

# %% tags=["nbval-check-output"]
one_xs, one_ys, one_marked, one_asked = gate_task(1, seed=course.seed(0))
print(f"{LENGTH} steps; the marker falls on one of steps {MARKER_STEPS[0]} … {MARKER_STEPS[1]}, "
      f"the question on one of steps {QUESTION_STEPS[0]} … {QUESTION_STEPS[1]}")
print(pd.DataFrame({"value": one_xs[0, :, 0], "marker": one_xs[0, :, 1], "question": one_xs[0, :, 2],
                    "target": one_ys[0, :, 0]}, index=pd.Index(np.arange(1, LENGTH + 1), name="step")).T
      .to_string(float_format=lambda v: f"{v:.2f}"))
print(f"marked step {one_marked[0] + 1} holds {one_xs[0, one_marked[0], 0]:.2f}; "
      f"the question at step {one_asked[0] + 1} asks for it")

# %% [markdown]
# Three sets of sequences: one to train on, a validation set to pick which unit to watch, and a test set, scored
# once, for every number quoted below. The baseline predicts the training answers' mean at the question step: that is
# the best a network with no memory can do, since the value it sees at the question step is fresh noise.

# %%
train_xs, train_ys, _, train_asked = gate_task(800, seed=course.seed(1))
val_xs, val_ys, val_marked, val_asked = gate_task(300, seed=course.seed(2))
test_xs, test_ys, test_marked, test_asked = gate_task(500, seed=course.seed(3))
test_answers = test_ys[np.arange(len(test_ys)), test_asked, 0]
train_mean = float(train_ys[np.arange(len(train_ys)), train_asked, 0].mean())
baseline_mse = float(np.mean((test_answers - train_mean) ** 2))
print(f"{len(train_xs)} training, {len(val_xs)} validation and {len(test_xs)} test sequences")
print(f"baseline (always answer the training mean {train_mean:.3f}): test MSE at the question step {baseline_mse:.3f}")

# %% [markdown]
# The model is one small LSTM layer, three units, with `return_sequences=True`, so that it answers at every step, and
# one Dense unit on top. Two choices help the gates take on clear roles:
#
# * they start in hold mode: forget gate open, input and output gates almost shut (biases `3`, `-3`, `-3`: Keras
#   starts them at 1, 0, 0), so the cell keeps what it holds until training teaches it when to write and when to show;
# * in the loss, the question step counts `ANSWER_WEIGHT = 8` times, so that the one step that matters is not
#   drowned by the fifteen quiet ones.
#
# The first choice matters for reading the result: a gate that is shut after training may have been shut from the
# start. So every gate below is shown twice, **untrained** (the starting weights, before any training) and
# **trained**, and only the difference is credited to training.
#
# One trained network is one draw of its random starting weights. To tell what the method does from what one draw
# happened to find, the same model is trained from nine random starts (nine draws of the starting weights; the same
# data and the same batches). `lstm.stack_starts` sets the nine side by side in one Keras model: start k's three units
# are units 3k+1 … 3k+3 of one LSTM layer, and the weights through which one start could read another's units are
# held at zero, so each start trains as it would alone, and all nine train in about the time of one.

# %% tags=["nbval-check-output"]
UNITS, ANSWER_WEIGHT, STARTS = 3, 8, 9
START_BIAS = {"i": -3.0, "f": 3.0, "c": 0.0, "o": -3.0}  # one bias per gate, for every unit


def marker_model():
    """The model one start trains: LSTM(3) answering at every step, a Dense unit on top; gates start in hold mode."""
    model = keras.Sequential([
        keras.Input(shape=(None, 3)),
        keras.layers.LSTM(UNITS, return_sequences=True, name="memory"),
        keras.layers.Dense(1, name="answer"),
    ])
    W, U, _ = lstm.keras_lstm_weights(model.get_layer("memory"))
    b = np.concatenate([np.full(UNITS, START_BIAS[gate]) for gate in lstm.GATES])
    lstm.set_keras_lstm_weights(model.get_layer("memory"), W, U, b)
    return model


gate_model = lstm.stack_starts(marker_model, course.seeds(STARTS))  # start k draws its weights with seed k
start_weights = lstm.keras_lstm_weights(gate_model.get_layer("memory"))  # kept: the untrained gates come from these
per_start = 4 * (UNITS * (3 + UNITS) + UNITS) + UNITS + 1  # the LSTM's (Exercise 1) and the Dense unit's
print(f"{STARTS} starts of LSTM({UNITS}) + Dense(1), {per_start} parameters each; in the stack they are "
      f"{STARTS * per_start} of its {gate_model.count_params()} (the others are held at 0)")
print("starting gates (no input): " + ", ".join(f"{lstm.GATE_NAMES[g]} {100 * sigmoid(START_BIAS[g]):.1f} %"
                                                for g in ("f", "i", "o")))
answer_weights = np.ones(train_ys.shape[:2], dtype="float32")
answer_weights[np.arange(len(train_ys)), train_asked] = ANSWER_WEIGHT

# %% tags=["nbval-ignore-output"]
course.reseed(4)  # the order of the batches
gate_model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.02), loss=lstm.summed_mse)
history = gate_model.fit(train_xs, np.repeat(train_ys, STARTS, axis=-1), sample_weight=answer_weights,
                         epochs=course.epochs(12), batch_size=64, verbose=0)
test_pred = gate_model.predict(test_xs, verbose=0)  # (sequences, steps, starts)
is_asked = np.arange(LENGTH)[None, :] == test_asked[:, None]
lstm_mse = ((test_pred[is_asked] - test_answers[:, None]) ** 2).mean(axis=0)  # one test MSE per start
quiet = np.abs(test_pred[~is_asked]).mean(axis=0)
print(f"{STARTS} starts after {len(history.history['loss'])} epochs: test MSE at the question step from "
      f"{lstm_mse.min():.4f} to {lstm_mse.max():.4f} (baseline {baseline_mse:.3f}); mean |output| at the other "
      f"steps from {quiet.min():.3f} to {quiet.max():.3f}")

# %% [markdown]
# Now read the trained layer's gates with the NumPy reference `lstm.lstm_gate_activations` and the layer's own
# weights, after checking that it gives the layer's own outputs h. `gate_summary` then measures, per unit and
# averaged over a set of sequences, the input gate at the marker and between the marker and the question, the forget
# gate at the marker and between them, the output gate at the question and before it, and how closely the unit's
# long-term memory at the question follows the value it had to keep (a correlation: ±1 means C is a straight-line
# function of the value).

# %%
def gate_summary(activations, xs, marked, asked):
    """Per unit, the mean gate values around the marker and the question, and corr(C at the question, marked value).

    ``activations`` is what ``lstm.lstm_gate_activations`` returns for the sequences ``xs (n, T, 3)``, whose marker
    and question positions (0-based) are ``marked`` and ``asked`` (n,). Gates are fractions from 0 to 1.
    """
    rows, steps = np.arange(len(xs)), np.arange(xs.shape[1])[None, :]
    at_marker, at_question = steps == marked[:, None], steps == asked[:, None]
    between = (steps > marked[:, None]) & (steps < asked[:, None])
    before_question = steps < asked[:, None]
    kept = xs[rows, marked, 0]
    c_at_question = activations["c"][rows, asked]
    units = activations["i"].shape[2]
    return pd.DataFrame({
        "i at the marker": activations["i"][at_marker].mean(axis=0),
        "i between marker and question": activations["i"][between].mean(axis=0),
        "f at the marker": activations["f"][at_marker].mean(axis=0),
        "f between marker and question": activations["f"][between].mean(axis=0),
        "o at the question": activations["o"][at_question].mean(axis=0),
        "o before the question": activations["o"][before_question].mean(axis=0),
        "corr(C at the question, marked value)": [np.corrcoef(c_at_question[:, k], kept)[0, 1] for k in range(units)],
    }, index=pd.Index(np.arange(1, units + 1), name="unit"))


# %% tags=["nbval-check-output"]
memory_weights = lstm.keras_lstm_weights(gate_model.get_layer("memory"))
empty_val = np.zeros((len(val_xs), STARTS * UNITS))  # h_0 = C_0 = 0
empty_test = np.zeros((len(test_xs), STARTS * UNITS))
val_gates = lstm.lstm_gate_activations(val_xs, empty_val, empty_val, *memory_weights)
test_gates = lstm.lstm_gate_activations(test_xs, empty_test, empty_test, *memory_weights)
untrained_gates = lstm.lstm_gate_activations(test_xs, empty_test, empty_test, *start_weights)
keras_h = np.asarray(gate_model.get_layer("memory")(test_xs))
print("NumPy gates give the layer's own h on the test sequences (to 1e-5):",
      np.allclose(test_gates["h"], keras_h, atol=1e-5))

# %% [markdown]
# Which units carry the value? In each start, pick them on the validation sequences: every unit whose C at the
# question follows the marked value closely (|correlation| > 0.8), and among them the closest one, the start's
# **memory unit**. The table then gives, for each start's memory unit on the test sequences, each gate untrained →
# trained, and what the forget gate alone keeps of C over the mean gap between marker and question ($f^{gap}$).

# %% tags=["nbval-ignore-output"]
follows = gate_summary(val_gates, val_xs, val_marked, val_asked)["corr(C at the question, marked value)"].abs()
trained = gate_summary(test_gates, test_xs, test_marked, test_asked)
untrained = gate_summary(untrained_gates, test_xs, test_marked, test_asked)
gap = float(np.mean(test_asked - test_marked))
GATE_COLUMNS = ["i at the marker", "i between marker and question", "f between marker and question",
                "o at the question", "o before the question"]


def units_of(start):
    """The stack's unit numbers (1, 2, ...) that belong to ``start`` (0, 1, ...)."""
    return list(range(start * UNITS + 1, (start + 1) * UNITS + 1))


memory_unit = {k: int(follows[units_of(k)].idxmax()) for k in range(STARTS)}  # each start's closest follower
rows = {}
for k, unit in memory_unit.items():
    before, after = untrained.loc[unit], trained.loc[unit]
    rows[k] = {
        "test MSE at the question": f"{lstm_mse[k]:.4f}",
        "times below the baseline": f"{baseline_mse / lstm_mse[k]:.0f}",
        "units with |corr| > 0.8": int((follows[units_of(k)] > 0.8).sum()),
        "memory unit (1 to 3)": unit - k * UNITS,
        "its corr on test": f"{after['corr(C at the question, marked value)']:+.2f}",
        **{column: f"{before[column]:.2f} → {after[column]:.2f}" for column in GATE_COLUMNS},
        "C kept over the gap, f^gap": (f"{before['f between marker and question'] ** gap:.0%} → "
                                       f"{after['f between marker and question'] ** gap:.0%}"),
    }
starts = pd.DataFrame(rows).rename_axis(columns="start")
print(f"each start's memory unit on the {len(test_xs)} test sequences (gates: untrained → trained; "
      f"mean gap from marker to question {gap:.1f} steps)")
print(starts.to_string())

# %% [markdown]
# The verdicts, each over the nine starts, with a margin that other starts keep. What training learned is the change
# from untrained to trained; where a gate was already where it ends up, the starting bias did the work.

# %% tags=["nbval-check-output"]
memory = trained.loc[list(memory_unit.values())]
start_memory = untrained.loc[list(memory_unit.values())]
change = memory - start_memory  # trained minus untrained, per start's memory unit


def over_starts(values):
    return course.over_seeds(np.asarray(values), unit="starts", fmt=".2f")


_ = course.claim_runs("the LSTM's test error at the question step is at least 10 times below the baseline's",
                      over_starts(baseline_mse / lstm_mse), each=lambda ratio: ratio >= 10)
_ = course.claim_runs("a unit's C at the question follows the marked value (|correlation| > 0.8 on the test "
                      "sequences)", over_starts(memory["corr(C at the question, marked value)"].abs()),
                      each=lambda corr: corr > 0.8)
_ = course.claim_runs("training opened that unit's input gate at the marker, by at least 0.15",
                      over_starts(change["i at the marker"]), each=lambda rise: rise >= 0.15)
_ = course.claim_runs("between the marker and the question its input gate stays below 0.3 (untrained, the starting "
                      "bias held it near 0.05)", over_starts(memory["i between marker and question"]),
                      each=lambda i: i < 0.3)
_ = course.claim_runs("its forget gate was above 0.9 there before training (the starting bias)",
                      over_starts(start_memory["f between marker and question"]), each=lambda f: f > 0.9)
_ = course.claim_runs("training raised that forget gate further", over_starts(change["f between marker and question"]),
                      each=lambda rise: rise > 0)
_ = course.claim_runs("training opened its output gate at the question, by at least 0.3, in at least 7 of the 9 "
                      "starts",
                      over_starts(change["o at the question"]), each=lambda rise: rise >= 0.3, need=STARTS - 2)
_ = course.claim_runs("before the question its output gate stays below 0.2 (untrained: near 0.05)",
                      over_starts(memory["o before the question"]), each=lambda o: o < 0.2)

# %% [markdown]
# Now one trained network up close: start 0, the first of the nine (not picked for looking good). Its three units,
# each gate untrained → trained, on the test sequences:

# %% tags=["nbval-ignore-output"]
SHOWN = 0  # the start drawn below
shown_units = units_of(SHOWN)
memory_units = [u - SHOWN * UNITS for u in shown_units if follows[u] > 0.8]  # numbered 1 to 3 within the start
closest = memory_unit[SHOWN] - SHOWN * UNITS
unit_table = pd.DataFrame({
    f"unit {u - SHOWN * UNITS}" + (" (memory)" if follows[u] > 0.8 else ""): {
        **{column: f"{untrained.loc[u, column]:.2f} → {trained.loc[u, column]:.2f}" for column in GATE_COLUMNS},
        "corr(C at the question, marked value)": f"{trained.loc[u, 'corr(C at the question, marked value)']:+.2f}",
    } for u in shown_units})
print(f"start {SHOWN}: units carrying the value (|corr| > 0.8 on validation): {memory_units}; the closest: "
      f"unit {closest}")
print(unit_table.to_string())


def of_start(activations, start):
    """The gates and memories of one start's units only, from the activations of the whole stack."""
    return {key: values[..., (start * UNITS):(start + 1) * UNITS] for key, values in activations.items()}


shown_gates, shown_untrained = of_start(test_gates, SHOWN), of_start(untrained_gates, SHOWN)


# %% [markdown]
# The heat-maps show it for three test sequences, one per column. Each row of a panel is a unit, each column a time
# step; the dashed line is the marker, the dotted line the question. Each gate has its own colour scale (read it on
# its colour bar): the forget gate lives close to 1, and on a scale from 0 to 1 its dips would not show.
# `gate_heatmaps` draws them:

# %%
def gate_heatmaps(activations, examples, marked, asked, memory_units=()):
    """Heat-maps (unit × time step) of i, f, o and C for the sequences ``examples``, one column per sequence.

    Each gate's row has its own colour scale, from the lowest value shown (rounded down to 0.05) to 1, so that a gate
    that stays near 1, as the forget gate does, still shows its dips; C has a diverging scale around 0. Ticks are
    whole steps, numbered from 1, and every unit is labelled, the ``memory_units`` (numbered from 1) as "(memory)";
    lines mark each sequence's marker (dashed) and question (dotted), ``marked``/``asked`` 0-based. The legend sits
    above the panels, where it hides no unit.
    """
    titles = {"i": "input gate i_t", "f": "forget gate f_t", "o": "output gate o_t", "c": "long-term memory C_t"}
    length, units = activations["i"].shape[1:]
    labels = [f"unit {k}" + (" (memory)" if k in memory_units else "") for k in range(1, units + 1)]
    fig, axes = plt.subplots(len(titles), len(examples), figsize=(3.4 * len(examples) + 1.2, 7.4), sharex=True,
                             sharey=True, squeeze=False, layout="constrained")
    for row, key in enumerate(titles):
        shown = activations[key][examples]
        if key == "c":
            limit = max(float(np.abs(shown).max()), 1e-6)
            scale, label = dict(cmap="RdBu_r", vmin=-limit, vmax=limit), "value"
        else:
            scale = dict(cmap="viridis", vmin=min(np.floor(20 * float(shown.min())) / 20, 0.95), vmax=1)
            label = f"fraction, {scale['vmin']:.2f} to 1"
        for col, example in enumerate(examples):
            ax = axes[row, col]
            image = ax.imshow(activations[key][example].T, aspect="auto", interpolation="nearest", **scale)
            ax.axvline(marked[example], color="C3", ls="--", lw=1.5, label="marker")
            ax.axvline(asked[example], color="C1", ls=":", lw=2, label="question")
            ax.set_title(f"{titles[key]}, sequence {example}", fontsize=9)
            ax.set_xticks(np.arange(length), labels=np.arange(1, length + 1), fontsize=7)
            ax.set_yticks(np.arange(units), labels=labels, fontsize=8)
            ax.grid(False)
        fig.colorbar(image, ax=axes[row, :], pad=0.01, label=label)
    for ax in axes[-1]:
        ax.set_xlabel("time step t")
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside upper center", ncols=2, fontsize=8)
    return fig


# %%
examples = [0, 1, 2]
print("test sequence: marker at step, question at step, value to keep")
for example in examples:
    print(f"  {example}: {test_marked[example] + 1}, {test_asked[example] + 1}, {test_answers[example]:.2f}")
fig = gate_heatmaps(shown_gates, examples, test_marked, test_asked, memory_units)
named = " and ".join(f"unit {k}" for k in memory_units)
plots.show(fig, alt=f"Twelve heat maps in four rows and three columns, one column per test sequence ({examples}), "
                    f"for start {SHOWN} of the trained LSTM. Rows: input gate, forget gate and output gate, each on "
                    f"its own colour scale up to 1, and long-term memory C, each with the {UNITS} units as rows "
                    f"({named} labelled memory) and time steps 1 to {LENGTH} as columns; a dashed line marks the "
                    f"marker step and a dotted line the question step. In the memory units' rows, notice the input "
                    f"gate brightening at the dashed line, the forget gate bright throughout with a darker patch at "
                    f"the marker, the output gate dark until it lights up at the dotted line, and C taking a colour "
                    f"at the marker that it keeps until the question.")

# %% [markdown]
# Start 0's closest memory unit alone, step by step, for the second of these sequences: each gate trained (solid) and
# untrained (dashed, the same starting weights before training), so that you can see what training changed. Read C's
# sign with care: a unit may store the value or its negative (the correlation in the table says which), since the
# Dense layer on top can flip the sign back. A unit with a negative correlation holds a kept value of −1 as a
# *positive* C.

# %%
example = examples[1]
time_steps = np.arange(1, LENGTH + 1)
unit = closest - 1  # the array index of unit 1, 2 or 3
fig, ax = plt.subplots(figsize=(8, 3.5))
for key, colour in (("i", "C2"), ("f", "C0"), ("o", "C1")):
    ax.plot(time_steps, shown_gates[key][example, :, unit], "-o", ms=3, color=colour, label=lstm.GATE_NAMES[key])
    ax.plot(time_steps, shown_untrained[key][example, :, unit], "--", color=colour, lw=1,
            label=f"{lstm.GATE_NAMES[key]}, untrained")
ax.plot(time_steps, shown_gates["c"][example, :, unit], "-s", ms=3, color="C3", label="long-term memory C_t")
ax.axvline(test_marked[example] + 1, color="C3", ls="--", lw=1, label="marker")
ax.axvline(test_asked[example] + 1, color="C1", ls=":", lw=2, label="question")
ax.axhline(0, color="black", lw=0.6)
stored_as = "minus" if trained.loc[memory_unit[SHOWN], "corr(C at the question, marked value)"] < 0 else "plus"
ax.set(title=f"Start {SHOWN}, unit {closest}, test sequence {example}: kept value {test_answers[example]:.2f}, "
             f"held in C with a {stored_as} sign",
       xlabel="time step t", ylabel="gate (0 … 1) or memory value", xticks=time_steps)
ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
fig.tight_layout()
plots.show(fig, alt=f"Line chart over time steps 1 to {LENGTH} of unit {closest}'s input, forget and output gates "
                    f"(solid: trained; dashed: untrained, from the same starting weights) and its long-term memory C "
                    f"on test sequence {example}, with the marker step (dashed) and the question step (dotted) "
                    "marked. Notice that the untrained gates barely move: input and output near 0.05, forget near "
                    "0.95. The trained output gate rises at the question, where the unit shows its memory; the "
                    "trained input gate is above its untrained line around the marker and stays low after it; the "
                    "trained forget gate stays near 1, above its untrained line; C builds up from the marker on and "
                    "keeps its sign until the question.")

# %% [markdown]
# What to notice (the verdicts above, over nine starts; the figures, one of them):
#
# * The LSTM solved the task in every start: its test error at the question step is more than ten times below the
#   baseline's, and it stays close to 0 at the other steps (printed after training).
# * In every start, at least one unit's C follows the marked value closely. How many units share the job differs
#   from start to start (the row "units with |corr| > 0.8"), and so does the sign with which each stores it: the
#   Dense layer on top can flip it back.
# * **Input gate.** What training learned is to open it at the marker, letting the value in. Between the marker and
#   the question it stays low, so the noise that follows changes C much less than the marked value did; but it was
#   low before training too (the untrained value in the table): the starting bias of `-3` shut it, and training only
#   left it low.
# * **Forget gate.** It stays close to 1 from the marker to the question. Most of that was given, not learned: the
#   forget bias `3` starts it near 1, and training raised it a little further. Small as that step looks, over the gap
#   it is the difference between the two percentages of the last row of the table. The gate also dips at the marker;
#   compare its dashed, untrained line in the chart before reading that dip as learned.
# * **Output gate.** Training opened it at the question (in at least 7 of the 9 starts): the unit shows its memory
#   when asked. Before the question it stays near its untrained value, shut by the starting bias.
#
# Here training found the textbook pattern, though the starting biases did half of the work and the job is shared out
# differently in each start; on other tasks or from other starts a trained LSTM can use its gates in ways that are
# harder to read. What the equations guarantee is that storing, holding and overwriting are all possible.

# %% [markdown]
# ## Key takeaways
#
# * An LSTM cell carries two memories: the long-term cell state **C** and the short-term **h** (also its output).
# * Three sigmoid gates are fractions: **forget** (% of C to remember), **input** (% of the potential memory C~ to add),
#   **output** (% of tanh(C) to show). tanh keeps the memory content signed and bounded.
# * $C_t = f_t * C_{t-1} + i_t * \tilde{C}_t$: no weight multiplies C on its way through time, so the memory and its
#   gradient fade only as fast as the forget gates let them, instead of as $W_2^n$.
# * The parameter count of `keras.layers.LSTM(u)` (your Exercise 1) does not depend on the sequence length; its
#   kernel (d, 4u), recurrent kernel (u, 4u) and bias (4u,) hold the gates in the order **i, f, c, o**.
# * `return_sequences` for stacking and per-step outputs, `return_state` for handing memories on, `stateful` with
#   `keras.Input(batch_shape=...)` and `reset_state()` for streams; `Bidirectional` when the whole sequence is known.
#
# ## Try it yourself (optional)
#
# 1. In the gate playground, find bias settings for which the unit keeps $C$ fixed whatever the input. Which two
#    gates matter, and what values do they need?
# 2. Change the forget-gate bias of `open_forget` to a smaller value (say 2) and a larger one (say 6) and rerun the
#    gradient table. How does $f_1 \cdots f_{50}$ change?
# 3. Train one marker-task model with `keras.layers.GRU(3)` in place of the LSTM (build it as `marker_model` does and
#    fit it alone: `lstm.stack_starts` stacks LSTMs only). How many parameters does it have, and is its test error at
#    the question step different? (It has no output gate: what keeps it quiet before the question?)
# 4. Leave out the starting biases in `marker_model`, so the gates start where Keras starts them, and retrain the
#    nine starts. Does every start still solve the task, and which rows of the starts' table change?
#
# Next, in notebook 04, you build this cell yourself: in NumPy, then as a Keras layer.
#
# ## Further reading
#
# * The lecture's video on LSTMs (IBM Technology): <https://www.youtube.com/watch?v=b61DPVFX03I>
# * The lecture's video on RNNs, unrolling and vanishing gradients: <https://www.youtube.com/watch?v=AsNTP8Kwu80>
# * Christopher Olah, *Understanding LSTM Networks* (2015): <https://colah.github.io/posts/2015-08-Understanding-LSTMs/>
# * S. Hochreiter and J. Schmidhuber, *Long Short-Term Memory*, Neural Computation 9(8), 1997.
# * Keras API: [`keras.layers.LSTM`](https://keras.io/api/layers/recurrent_layers/lstm/),
#   [`keras.layers.GRU`](https://keras.io/api/layers/recurrent_layers/gru/),
#   [`keras.layers.Bidirectional`](https://keras.io/api/layers/recurrent_layers/bidirectional/).

# %%
_ = progress()
