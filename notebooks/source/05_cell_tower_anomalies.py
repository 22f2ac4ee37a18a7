# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 05 · Cell tower anomalies: an LSTM watches the network
# <!-- summary: simulated cell KPIs with labelled faults; an LSTM forecaster flags anomalies; precision, recall, F1 per kind against a rolling z-score -->
# <!-- facts: 0.55, 0.7, 20, 30 %, 45, 55 % (fault sizes of the simulator, utils.anomaly); 2015 (Malhotra et al.) -->
#
# A mobile network has thousands of cells (the antennas on a tower, each serving one area). Every hour each cell
# reports its **KPIs** (key performance indicators): how many users are connected, how loaded its radio is, how much
# data it delivers. When something breaks (a site goes down, a link degrades, a counter freezes) the KPIs look
# *unusual*, and an operator wants an alarm, without drowning in false ones.
#
# In this notebook an LSTM learns what a normal hour looks like from the hours before it; an hour it cannot
# forecast well is flagged. We compare it with the classic baseline, a rolling z-score, on cells neither detector has
# seen.
#
# **You will learn to**
#
# - describe hourly cell KPIs: a daily and weekly rhythm, a trend, noise, and faults of several kinds;
# - see why a threshold on raw values misses subtle faults;
# - turn an LSTM **forecaster** into an **anomaly detector**: forecast error → score → threshold;
# - choose the threshold on **validation** cells and measure on **held-out** cells, never on the data you tuned on;
# - read **precision, recall and F1** per kind of fault, for the LSTM and for the baseline.
#
# **Notation.** A cell's KPIs at hour $t$ form a vector $x_t$ with 4 numbers. The LSTM reads the window
# $x_{t-L}, \dots, x_{t-1}$ of the last $L = 24$ hours (in code `WINDOW`) and forecasts $\hat{x}_t$, its guess of
# $x_t$.

# %% [markdown]
# ## Setup
#
# `utils` is this course's package (the `utils/` folder): data loaders, plots, exercise checks and the code that
# several notebooks share. It comes before Keras because it keeps TensorFlow's start-up log quiet.
# `course.setup(seed=5)` seeds Python, NumPy and TensorFlow, so that a rerun gives the same numbers.

# %%
import time

from utils import anomaly, course, plots  # first, before Keras: see utils/__init__.py
from utils.anomaly import KINDS, KPIS, SIZES
from utils.checks import progress, use_reference_if_needed
from utils.checks.anomaly import check_precision_recall_f1, check_rolling_zscore

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

course.setup(seed=5)  # seeds Python, NumPy and TensorFlow; deterministic ops; figure style (utils/course.py)
pd.set_option("display.precision", 2)
pd.set_option("display.width", 130)


# %% [markdown]
# ## Simulate a small network
#
# **The data in this notebook is simulated.** Operators do not publish labelled per-cell KPIs (they are commercially
# sensitive), and no public, labelled cell-tower KPI data set ships with a Python package we could use offline. So
# `utils.anomaly.simulate_network` draws it, with a fixed seed, in the spirit of real networks:
#
# | KPI | unit | what it is |
# |---|---|---|
# | `users` | connected users | people attached to the cell (a count) |
# | `dl_load_pct`, `ul_load_pct` | % of radio resources | how busy the downlink (to phones) and uplink (from phones) are |
# | `dl_throughput_mbps` | Mbit/s | data delivered to phones |
#
# Each cell mixes a *business* rhythm (busy in office hours, quiet at weekends) and a *residential* one (evening peak,
# busier at weekends), grows or shrinks slowly (trend), and has correlated and white noise. Then faults are injected
# and **labelled hour by hour**, each kind in a *large* and a *subtle* size:
#
# | kind | large | subtle |
# |---|---|---|
# | `spike` (flash crowd) | 1–3 h, every KPI up by about one extra peak | 1–3 h **at night**, up by a third to a half of a peak |
# | `outage` | site down 2–6 h: every KPI drops to 0 | one sector down 3–8 h in the day: KPIs × 0.55–0.7 |
# | `level_shift` (degraded link) | 8–24 h: throughput −45–55 %, load up | 8–24 h: throughput −20–30 %, load up a little |
# | `freeze` (stale counters) | every KPI repeats its last value for 8–16 h | the same for 3–6 h |
#
# The first week of every cell is kept clean: it is the *calibration week* the detectors use to learn each cell's scale.

# %%
# NBVAL_CHECK_OUTPUT
network = anomaly.simulate_network(n_cells=16, weeks=6, seed=5)
anomalous = network.labels > 0
print(f"{network.n_cells} cells × {network.n_hours} hours ({network.n_hours // 168} weeks), KPIs: {', '.join(KPIS)}")
print(f"{len(network.anomalies)} injected anomalies, covering {anomalous.sum()} of {anomalous.size} cell-hours "
      f"({anomalous.mean():.1%})")
network.summary()

# %% [markdown]
# 16 cells, 6 weeks each; every cell has one large and one subtle fault of each of the four kinds, so about one hour in
# sixteen is anomalous (the 6.3 % printed above). `network.frame(cell)` gives one cell as a table, a row per hour; `kind` is the label
# ("" when the hour is normal). Here are a few hours of cell 0 on its first Monday morning:

# %%
network.frame(0).iloc[6:12].round(1)

# %% [markdown]
# A week of one cell, with the injected faults shaded (we pick the week of cell 0 that holds the most kinds):

# %%
cell = 0
week = max(range(1, 6), key=lambda w: len({a.kind for a in network.anomalies
                                            if a.cell == cell and w * 168 <= a.start < (w + 1) * 168}))
_ = anomaly.plot_cell(network, cell, slice(week * 168, (week + 1) * 168),
                      kpis=("users", "dl_load_pct", "dl_throughput_mbps"),
                      title=f"Simulated cell {cell}, week {week + 1}: hourly KPIs with the injected faults shaded")
plots.show(plt.gcf(), alt=f"Three stacked line charts of simulated cell {cell}'s hourly KPIs over week {week + 1}: "
                          "connected users, downlink load in percent and downlink throughput in Mbit/s, with the "
                          "injected faults shaded and named by kind in the legend. Notice the daily rhythm and the "
                          "quieter weekend at the end of the week. The outage drops every KPI to 0 and the spike "
                          "jumps above every other hour: those are easy. The level shift is hard to see: throughput "
                          "falls relative to load, in hours that are quiet anyway.")

# %% [markdown]
# Notice the daily rhythm and the quieter weekend (the last two days of the week shown). The outage (grey) drops every KPI to 0 and the spike
# (red) jumps above every other hour of the week: those are easy. The level shift (purple) is harder to see: throughput
# falls *relative to* load, in hours that are quiet anyway.
#
# ### Why a threshold on raw values is not enough
#
# The simplest detector flags an hour when a KPI leaves the cell's normal range, say below its 1st or above its 99th
# percentile. How many injected faults ever leave that range, on any KPI?

# %%
# NBVAL_CHECK_OUTPUT
leaves_range = pd.DataFrame(
    {size: [f"{sum(anomaly.outside_normal_range(network, a) for a in network.anomalies if a.kind == kind and a.size == size)}"
            f"/{sum(a.kind == kind and a.size == size for a in network.anomalies)}" for kind in KINDS]
     for size in SIZES}, index=pd.Index(KINDS, name="kind"))
print("Events whose values ever leave their cell's 1st-99th percentile range:")
leaves_range

# %% [markdown]
# Every large spike, outage and level shift leaves its cell's normal range, so a raw threshold could catch them. But
# none of the 16 subtle spikes, 16 subtle outages and 16 subtle freezes does, and only 1 of the 16 large freezes: a
# frozen counter repeats a perfectly ordinary value. Only the subtle level shifts mostly leave the range (12 of 16),
# because their downlink load rises above its usual peak.
#
# To catch the rest, a detector has to know what is *normal for this hour of this cell*. That is a forecasting
# problem, and forecasting sequences is what an LSTM does.

# %% [markdown]
# ## Split cells: train, validation, held-out test
#
# We split by **cell**, not by time: the detector must work on cells it has never seen, as it would on a new site.
#
# - **train** (cells 0–7): the LSTM learns normal behaviour here;
# - **validation** (cells 8–11): each detector's threshold (and the baseline's window) is chosen here;
# - **test** (cells 12–15): touched once, at the end, for the numbers we report.

# %%
train_cells, val_cells, test_cells = list(range(0, 8)), list(range(8, 12)), list(range(12, 16))

# %% [markdown]
# ## Prepare the inputs
#
# 1. **Scale each cell** with the mean and standard deviation of its own calibration week: a busy cell and one with a
#    quarter of its users then look alike, so one model serves all.
# 2. **Calendar features**: the sine and cosine of the hour of day (so 23:00 is next to 0:00) and a weekend flag.
# 3. **Windows**: each example is the $L = 24$ hours before hour $t$ (4 KPIs + 3 calendar features = 7 inputs per
#    hour); its target is the 4 KPIs at hour $t$.

# %%
# NBVAL_CHECK_OUTPUT
WINDOW = 24
scaled = anomaly.scale_cells(network.kpis, calibration_hours=168)
calendar = anomaly.time_features(network.n_hours)
X_train, y_train, where_train = anomaly.kpi_windows(scaled[train_cells], WINDOW, calendar)
print(f"scaled KPIs: {scaled.shape} (cells, hours, KPIs); calendar: {calendar.shape} (hours, features)")
print(f"training windows X: {X_train.shape} (windows, hours, inputs), targets y: {y_train.shape} (windows, KPIs)")
print(f"where: {where_train.shape}, first rows (cell, target hour): {where_train[:2].tolist()}")

# %% [markdown]
# `where` records which (cell, hour) each target belongs to, so we can put scores back on the time axis.
#
# **Train on normal behaviour only.** A forecaster that also learns from faulty hours learns to expect faults. The
# training cells come with an incident log (their labels), so we keep only windows whose 24 input hours *and* target
# hour are all normal. We also take every second window: neighbouring windows overlap in 23 of their 24 hours, so this
# halves the number of training windows and loses little.

# %%
# NBVAL_CHECK_OUTPUT
normal = anomaly.normal_windows(network.labels[train_cells], where_train, WINDOW)
X_fit, y_fit = X_train[normal][::2], y_train[normal][::2]
print(f"{normal.sum()} of {len(normal)} training windows are entirely normal ({normal.mean():.0%}); "
      f"we fit on every second one: {X_fit.shape}")

# %% [markdown]
# ### Bad input gets a clear error
#
# Real KPI feeds have gaps (a missing report is a NaN) and new cells have short histories. The helpers refuse them
# with a message that says what to do, rather than failing somewhere deep inside TensorFlow:

# %%
# NBVAL_CHECK_OUTPUT
with_gap = network.kpis[:1].copy()
with_gap[0, 30, 0] = np.nan
for bad_call in (lambda: anomaly.scale_cells(with_gap), lambda: anomaly.kpi_windows(scaled[:1, :20], WINDOW)):
    try:
        bad_call()
    except ValueError as error:
        print(f"ValueError: {error}")

# %% [markdown]
# ## The LSTM forecaster
#
# One LSTM layer of 32 units reads the window; its last hidden state $h_{t-1}$ goes through a dense layer to the 4
# forecast KPIs $\hat{x}_t$. It is trained with the mean squared error between $\hat{x}_t$ and $x_t$.

# %%
# NBVAL_CHECK_OUTPUT
model = keras.Sequential([keras.Input(shape=(WINDOW, X_fit.shape[-1])),
                          keras.layers.LSTM(32),
                          keras.layers.Dense(len(KPIS))], name="kpi_forecaster")
model.compile(optimizer=keras.optimizers.Adam(learning_rate=3e-3), loss="mse")
print(f"parameters: {model.count_params()} = LSTM 4·32·(7 + 32 + 1) = {4 * 32 * (7 + 32 + 1)} "
      f"+ dense (32 + 1)·4 = {33 * 4}")

# %%
# NBVAL_IGNORE_OUTPUT
epochs = course.epochs(6)
started = time.perf_counter()
history = model.fit(X_fit, y_fit, epochs=epochs, batch_size=64, verbose=0)
print(f"trained {epochs} epochs in {time.perf_counter() - started:.1f} s; training MSE per epoch (scaled units²): "
      f"{np.round(history.history['loss'], 3).tolist()}")

# %% [markdown]
# Before we trust its errors, is the forecaster any good on normal hours? We compare it, on the normal hours of the
# validation cells, with the *seasonal naive* forecast "the same hour yesterday" ($\hat{x}_t = x_{t-24}$, the first
# hour of each window). The yardstick is the RMSE (root mean squared error: the square root of the average squared
# miss), per KPI:

# %%
# NBVAL_IGNORE_OUTPUT
X_val, y_val, where_val = anomaly.kpi_windows(scaled[val_cells], WINDOW, calendar)
predicted_val = model.predict(X_val, verbose=0)
normal_val = network.labels[val_cells][where_val[:, 0], where_val[:, 1]] == 0
rmse_lstm = np.sqrt(((predicted_val - y_val)[normal_val] ** 2).mean(axis=0))
rmse_yesterday = np.sqrt(((X_val[:, 0, :len(KPIS)] - y_val)[normal_val] ** 2).mean(axis=0))
pd.DataFrame({"LSTM": rmse_lstm, "same hour yesterday": rmse_yesterday}, index=list(KPIS)).rename_axis(
    "RMSE on normal validation hours (scaled units)")

# %%
# NBVAL_CHECK_OUTPUT
_ = course.claim("on normal validation hours the LSTM's RMSE is below 0.7 × that of 'the same hour yesterday', "
                 "on every KPI", holds=bool((rmse_lstm < 0.7 * rmse_yesterday).all()))

# %% [markdown]
# On normal hours the LSTM misses by clearly less than "the same hour yesterday" (in this run by about half: the
# table is in units of each KPI's standard deviation over the calibration week): it has learned the daily rhythm and
# uses the latest hours. The rest of its error is mostly the simulator's noise, which no forecaster can predict.

# %% [markdown]
# ## From forecast errors to an anomaly score
#
# An hour is suspicious when the forecast misses it by much more than usual. For each KPI $k$ we divide the absolute
# error $|x_{t,k} - \hat{x}_{t,k}|$ by $\sigma_k$, the standard deviation of the training errors of that KPI (here
# $\sigma$ is a standard deviation, not the sigmoid of notebooks 03 and 04), and take the largest over the 4 KPIs:
#
# $$\text{score}_t = \max_k \frac{|x_{t,k} - \hat{x}_{t,k}|}{\sigma_k}$$
#
# A score of 5 means "five typical errors off on at least one KPI". The first 24 hours of a cell have no window, so no
# score (NaN); they lie in the clean calibration week.

# %%
error_scale = (model.predict(X_fit, verbose=0) - y_fit).std(axis=0)  # sigma_k, one per KPI


def lstm_scores(cells):
    """LSTM anomaly score per (cell, hour) of these cells, shape (len(cells), hours); NaN where no forecast exists."""
    X, y, where = anomaly.kpi_windows(scaled[cells], WINDOW, calendar)
    errors = np.abs(y - model.predict(X, verbose=0).astype(float)) / error_scale  # (windows, KPIs), in sigmas
    scores = np.full((len(cells), network.n_hours), np.nan)
    scores[where[:, 0], where[:, 1]] = errors.max(axis=1)  # the worst KPI, at the hour each window forecasts
    return scores


val_scores, test_scores = lstm_scores(val_cells), lstm_scores(test_cells)
print(f"typical training error per KPI, sigma (scaled units): {np.round(error_scale.astype(float), 3).tolist()}")

# %% [markdown]
# ### Choose the threshold on validation cells
#
# An hour is flagged when its score exceeds a threshold. A low threshold catches more faults (higher **recall**: the
# share of anomalous hours flagged) but raises more false alarms (lower **precision**: the share of flags that are
# real). We pick the threshold with the best **F1**, a single number that is high only when both are (the formulas
# come before Exercise 2), on the **validation** cells, then freeze it. Choosing it on the test cells would flatter
# the test numbers: they would no longer say what a new cell would see. The candidates are quantiles of the
# validation scores from the median up: flagging more than half of all hours is never useful.

# %%
def choose_threshold(scores, labels, candidates=200):
    """The threshold with the best F1 on these cells, and that F1; an hour is flagged when its score > threshold.

    scores, labels: (cells, hours); hours without a score (NaN) are left out."""
    scored = ~np.isnan(scores)
    values, truth = scores[scored], labels[scored] > 0
    best_threshold, best_f1 = np.nan, -1.0
    for threshold in np.unique(np.quantile(values, np.linspace(0.5, 1.0, candidates, endpoint=False))):
        f1 = anomaly.precision_recall_f1(values > threshold, truth)[2]
        if f1 > best_f1:
            best_threshold, best_f1 = float(threshold), float(f1)
    return best_threshold, best_f1


# %%
# NBVAL_IGNORE_OUTPUT
val_labels = network.labels[val_cells]
lstm_threshold, lstm_val_f1 = choose_threshold(val_scores, val_labels)
print(f"LSTM threshold: score > {lstm_threshold:.2f} typical errors (F1 on validation cells: {lstm_val_f1:.2f})")

scored = ~np.isnan(val_scores)
bins = np.linspace(0, np.nanpercentile(val_scores, 99.5), 60)
plt.hist(val_scores[scored & (val_labels == 0)], bins=bins, density=True, alpha=0.6, label="normal hours")
plt.hist(val_scores[scored & (val_labels > 0)], bins=bins, density=True, alpha=0.6, label="anomalous hours")
plt.axvline(lstm_threshold, color="black", ls="--", label="threshold chosen on validation")
plt.yscale("log")
plt.title("LSTM anomaly scores on the validation cells")
plt.xlabel("score (largest forecast error, in typical errors)")
plt.ylabel("density (log scale)")
plt.legend()
plots.show(plt.gcf(), alt="Two overlaid histograms, log density, of the LSTM anomaly score on the validation cells, "
                          "one for normal hours and one for anomalous hours, with a dashed line at the threshold "
                          f"chosen on validation (a score of {lstm_threshold:.2f}). Notice that the two overlap: "
                          "normal hours pile up at low scores, anomalous hours spread far to the right but many sit "
                          "among the normal ones, so no threshold separates them perfectly.")

# %% [markdown]
# The two distributions overlap: no threshold separates them perfectly. Normal hours pile up at low scores; anomalous
# hours spread far to the right, but many sit among the normal ones (the subtle faults, and the hours of a long fault
# that the forecaster, having seen the fault in its window, starts to expect).

# %% [markdown]
# ## The baseline: a rolling z-score
#
# The classic detector needs no training: compare each hour with the **previous $w$ hours** of the same KPI,
#
# $$z_t = \frac{x_t - \operatorname{mean}(x_{t-w}, \dots, x_{t-1})}{\operatorname{std}(x_{t-w}, \dots, x_{t-1})},$$
#
# and flag the hour when $|z_t|$ is large on any KPI. The window holds only the past: at hour $t$ nobody knows the
# future yet.
#
# ### Exercise 1 · rolling z-score
#
# Write `rolling_zscore(x, window)` for one KPI series `x` of shape (hours,). Return an array of the same shape:
# NaN for the first `window` hours (they have no full past window), then $z_t$ as above with the population standard
# deviation (`np.std`). A frozen counter makes the window flat (std 0): floor the std at `min_std` so that a flat stretch
# gives a finite z-score. A plain loop over $t$ is fine.

# %%
def rolling_zscore(x, window, min_std=1e-8):
    """z-score of each x_t against the `window` values before it; x: (hours,) -> (hours,), NaN for t < window."""
    x = np.asarray(x, dtype=float)
    z = np.full(x.shape, np.nan)
    ### BEGIN SOLUTION
    for t in range(window, len(x)):
        past = x[t - window:t]
        z[t] = (x[t] - past.mean()) / max(past.std(), min_std)
    ### END SOLUTION
    return z


# %%
passed = check_rolling_zscore(rolling_zscore)
rolling_zscore = use_reference_if_needed(rolling_zscore, passed, anomaly.rolling_zscore)

# %% [markdown]
# To be fair to the baseline it gets the same chance as the LSTM: its window $w$ **and** its threshold are both
# chosen on the validation cells. Its score for an hour is the largest $|z_t|$ over the 4 KPIs.

# %%
def zscore_scores(kpis, window):
    """Baseline anomaly score per (cell, hour): the largest |rolling z-score| over the KPIs. kpis: (cells, hours, k)."""
    z = np.stack([[rolling_zscore(cell[:, k], window) for k in range(cell.shape[1])] for cell in kpis])
    return np.abs(z).max(axis=1)


# %%
# NBVAL_IGNORE_OUTPUT
choices = {}
for w in (6, 12, 24, 48, 168):
    threshold, f1 = choose_threshold(zscore_scores(network.kpis[val_cells], w), val_labels)
    choices[w] = (threshold, f1)
    print(f"window {w:>3} h: best threshold |z| > {threshold:.2f}, F1 on validation cells {f1:.2f}")
z_window = max(choices, key=lambda w: choices[w][1])
z_threshold = choices[z_window][0]
print(f"chosen: window {z_window} h, |z| > {z_threshold:.2f}")

# %%
# NBVAL_CHECK_OUTPUT
_ = course.claim("the longest window, a week (168 h), gives the z-score its best validation F1", holds=z_window == 168)
_ = course.claim("the z-score's best validation F1 is less than half the LSTM's",
                 holds=2 * choices[z_window][1] < lstm_val_f1)

# %% [markdown]
# The longest window does best (compare the F1 values printed for each window): over a short window every morning
# ramp-up looks unusual compared with the quiet night before it. Even so, the baseline's best validation F1 is less
# than half the LSTM's (printed when its threshold was chosen).

# %% [markdown]
# ## Precision, recall and F1
#
# Each hour of a held-out cell is *flagged* or not, and *anomalous* or not:
#
# - **TP** (true positive): flagged and anomalous; **FP** (false alarm): flagged but normal; **FN** (miss): anomalous
#   but not flagged.
# - **precision** = TP / (TP + FP): of the alarms, the share that were real;
# - **recall** = TP / (TP + FN): of the anomalous hours, the share that raised an alarm;
# - **F1** = 2 · precision · recall / (precision + recall): high only when both are.
#
# ### Exercise 2 · precision, recall and F1
#
# Write `precision_recall_f1(flags, truth)` for two boolean arrays of the same shape (any shape). Return the three
# numbers; when a ratio is 0/0 (nothing flagged, or no anomaly at all) return 0 for it.

# %%
def precision_recall_f1(flags, truth):
    """(precision, recall, f1) of boolean flags against boolean truth, 0 where a ratio is 0/0."""
    flags, truth = np.asarray(flags, dtype=bool), np.asarray(truth, dtype=bool)
    ### BEGIN SOLUTION
    tp = np.sum(flags & truth)
    fp, fn = np.sum(flags & ~truth), np.sum(~flags & truth)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return float(precision), float(recall), float(f1)
    ### END SOLUTION


# %%
passed = check_precision_recall_f1(precision_recall_f1)
precision_recall_f1 = use_reference_if_needed(precision_recall_f1, passed, anomaly.precision_recall_f1)

# %% [markdown]
# **Per kind.** A false alarm has no kind, so for kind K we count only the normal hours and the hours of kind K: the
# precision of K is then what the precision would be if K were the only fault in the network. It shares the false
# alarms with every other kind, so a rare kind (few anomalous hours) gets a low precision even when it is caught.
# A second table therefore also counts *events found*: faults with at least one flagged hour, which is what gets an
# engineer to look.

# %% [markdown]
# ## Evaluate both detectors on the held-out cells
#
# The thresholds are frozen; now, once, the test cells:

# %%
# NBVAL_IGNORE_OUTPUT
test_labels = network.labels[test_cells]
test_events = anomaly.renumber(network.anomalies, test_cells)
lstm_flags = test_scores > lstm_threshold
z_flags = zscore_scores(network.kpis[test_cells], z_window) > z_threshold
lstm_table = anomaly.per_kind_table(lstm_flags, test_labels, metric=precision_recall_f1)
z_table = anomaly.per_kind_table(z_flags, test_labels, metric=precision_recall_f1)
metrics = ["precision", "recall", "F1"]
results = pd.concat({"LSTM": lstm_table[metrics], f"z-score, w={z_window} h": z_table[metrics]}, axis=1)
results[("held-out", "anomalous hours")] = lstm_table["anomalous hours"]
print(f"held-out cells {test_cells}: {np.isfinite(test_scores).sum()} scored cell-hours, {len(test_events)} faults")
results

# %%
# NBVAL_CHECK_OUTPUT
_ = course.claim("on the held-out cells the LSTM has the higher precision, recall and F1 on every kind",
                 holds=bool((lstm_table[metrics] > z_table[metrics]).to_numpy().all()))
_ = course.claim("overall, at least half of the LSTM's alarms are real, under a third of the z-score's",
                 holds=lstm_table.loc["all kinds", "precision"] >= 0.5 and z_table.loc["all kinds", "precision"] < 1 / 3)

# %% [markdown]
# On the held-out cells the LSTM has the higher precision, recall and F1 on every kind. Read the last row, all kinds:
# in this run its F1 is 0.57 against 0.24 for the rolling z-score, and about two in three LSTM alarms are real
# (precision 0.64), against one in five for the baseline (0.19).
#
# Per kind, the LSTM's spike precision looks poor only because spikes are short (few anomalous hours, last column) and
# share every false alarm with the other kinds; its spike recall is much higher. Its recall is lowest on level shifts
# and outages: the table below shows where those hours go.

# %% [markdown]
# Large and subtle faults separately: events with at least one flagged hour, and in brackets the share of their hours
# flagged:

# %%
# NBVAL_IGNORE_OUTPUT
found = {"LSTM": anomaly.events_found(lstm_flags, test_events),
         "rolling z-score": anomaly.events_found(z_flags, test_events)}
pd.concat(found, axis=1)

# %%
# NBVAL_CHECK_OUTPUT
def all_found(table, kinds, size):
    """True when every event of these kinds and this size has at least one flagged hour ("4/4 (…)")."""
    return all(table.loc[k, size].split(" ")[0].split("/")[0] == table.loc[k, size].split(" ")[0].split("/")[1]
               for k in kinds)


def none_found(table, kinds, size):
    """True when no event of these kinds and this size has a flagged hour ("0/4 (0%)")."""
    return all(table.loc[k, size].startswith("0/") for k in kinds)


_ = course.claim("the LSTM finds every large fault of every kind",
                 holds=all_found(found["LSTM"], KINDS, "large"))
_ = course.claim("the LSTM misses some subtle freezes", holds=not all_found(found["LSTM"], ["freeze"], "subtle"))
_ = course.claim("the z-score finds every large spike and outage, as the LSTM does",
                 holds=all_found(found["rolling z-score"], ["spike", "outage"], "large"))
_ = course.claim("the z-score finds no subtle spike, outage or freeze",
                 holds=none_found(found["rolling z-score"], ["spike", "outage", "freeze"], "subtle"))

# %% [markdown]
# - The LSTM finds **every large fault** and, in this run, every subtle spike, outage and level shift, but not every
#   **subtle freeze**: a counter stuck for 3–6 hours at an ordinary value is close to what it expected.
# - Inside a long fault it flags only part of the hours (the percentages in brackets): once the fault fills part of
#   its 24-hour input window, its forecasts follow the faulty level and the errors shrink.
# - The z-score **finds every large spike and outage, as the LSTM does**, and may flag a larger share of their hours.
#   It is blind to every subtle spike, outage and freeze, and misses most large freezes: a flat stretch has a small
#   z-score once the window's mean is near the frozen value.
#
# Where do the false alarms fall? We count them per cell and day, and look at two places: the 24 hours after a fault
# ends (the LSTM's input window then still holds faulty hours), and the evening, 20:00–24:00.

# %%
# NBVAL_IGNORE_OUTPUT
after_fault = np.zeros(test_labels.shape, dtype=bool)
for event in test_events:
    after_fault[event.cell, event.stop:event.stop + WINDOW] = True
evening = np.broadcast_to(np.arange(network.n_hours) % 24 >= 20, test_labels.shape)
cell_days = np.isfinite(test_scores).sum() / 24
normal_hours = test_labels == 0
per_day, share_after, share_evening = {}, {}, {}
for name, flags in (("LSTM", lstm_flags), ("z-score", z_flags)):
    false_alarms = flags & normal_hours
    per_day[name] = false_alarms.sum() / cell_days
    share_after[name] = (false_alarms & after_fault).sum() / false_alarms.sum()
    share_evening[name] = (false_alarms & evening).sum() / false_alarms.sum()
    print(f"{name:>8}: {false_alarms.sum()} false alarms in {cell_days:.0f} cell-days = {per_day[name]:.2f} per cell "
          f"per day; {share_after[name]:.0%} of them in the 24 h after a fault, "
          f"{share_evening[name]:.0%} between 20:00 and 24:00")
normal_after = (after_fault & normal_hours).sum() / normal_hours.sum()
print(f"for comparison, the 24 h after a fault hold {normal_after:.0%} of the normal hours, 20:00-24:00 holds "
      f"{4 / 24:.0%}")

# %%
# NBVAL_CHECK_OUTPUT
_ = course.claim("the z-score raises at least twice as many false alarms per cell and day as the LSTM",
                 holds=per_day["z-score"] >= 2 * per_day["LSTM"])
_ = course.claim("more than half of the LSTM's false alarms fall in the 24 h after a fault, which hold under a "
                 "third of the normal hours", holds=share_after["LSTM"] > 0.5 and normal_after < 1 / 3)
_ = course.claim("both detectors put more than a sixth of their false alarms in 20:00-24:00, a sixth of the day",
                 holds=min(share_evening.values()) > 1 / 6)

# %% [markdown]
# The z-score raises at least twice as many false alarms per cell per day as the LSTM (the two rates are printed
# above). Most of the LSTM's fall in the 24 hours after a fault, which hold only a small share of the normal hours:
# this is the *echo* of a fault in the input window, and it will show in the plot below. Both detectors also
# over-flag the evening (a larger share of their false alarms than the sixth of the day that 20:00–24:00 is): the
# evening peak is the most variable part of the day, and for the z-score it is simply the hour furthest from the
# week's mean.

# %% [markdown]
# ## Look at a held-out cell
#
# Numbers hide *where* the alarms fall. Here is the week of a held-out cell with the most faults, with the hours
# each detector flagged (markers above the curve; the faults are shaded as before):

# %%
test_position, plot_week = max(((c, w) for c in range(len(test_cells)) for w in range(1, 6)),
                               key=lambda cw: sum(a.cell == cw[0] and cw[1] * 168 <= a.start < (cw[1] + 1) * 168
                                                  for a in test_events))
held_out = anomaly.CellNetwork(network.kpis[test_cells], network.clean[test_cells], test_labels,
                               tuple(test_events), network.seed)
_ = anomaly.plot_cell(held_out, test_position, slice(plot_week * 168, (plot_week + 1) * 168),
                      kpis=("users", "dl_load_pct", "dl_throughput_mbps"),
                      flags={"LSTM": lstm_flags[test_position], "z-score": z_flags[test_position]},
                      title=f"Held-out cell {test_cells[test_position]}, week {plot_week + 1}: faults and alarms")
plots.show(plt.gcf(), alt=f"Three stacked line charts of held-out cell {test_cells[test_position]}'s hourly KPIs over "
                          f"week {plot_week + 1}: connected users, downlink load and downlink throughput, with the "
                          "injected faults shaded by kind and, above the users curve, markers for the hours flagged "
                          "by the LSTM detector and by the rolling z-score. Look at which faults get markers from "
                          "both detectors and which only from the LSTM, runs of LSTM markers just after a fault has "
                          "ended, and markers of both on ordinary evening peaks.")

# %% [markdown]
# What to look for: which shaded faults get markers from both detectors and which only from the LSTM (the subtle
# ones); a run of LSTM markers just after a fault has ended (the echo); and markers of both detectors on ordinary
# evening peaks. The figure is one week of one cell: the tables above are what to trust.

# %%
# NBVAL_CHECK_OUTPUT
_ = course.claim("the LSTM has a higher held-out F1 than the rolling z-score on every kind of fault",
                 holds=bool((lstm_table["F1"] > z_table["F1"]).all()))

# %% [markdown]
# ## What the numbers say
#
# - **The LSTM wins on every kind here** (by F1, the claim above), because it knows what is normal *for this hour of
#   this cell*; that is what subtle faults violate. The rolling z-score only knows the recent mean and spread, which the daily rhythm already
#   makes wide.
# - **The baseline is not useless**: it needs no training and no labels, and on large spikes and large outages it
#   finds every event, as the LSTM does. If only gross failures matter, it is a reasonable first alarm. Its cost is
#   false alarms: its rate per cell per day (printed above) would mean thousands a day in a network of thousands of
#   cells.
# - **Neither sees what looks normal**: most short freezes at ordinary values slip past both. A dedicated rule ("no KPI
#   changed for 3 hours") would catch them; not every fault needs a neural network.
# - **The LSTM's main weakness is its window**: after a fault its inputs are spoiled (the echo, most of its false
#   alarms), and during a long fault it starts to expect the faulty level. Operators often silence a cell for a while
#   after an alarm, or feed the model its own forecasts in place of flagged hours.
# - **How far to trust these numbers**: the data is simulated, with faults we designed; the test set is 4 cells and
#   32 faults (printed with the results), 4 of each kind and size, so one event more or less moves a row of the
#   events table by a quarter. Real KPIs have more kinds of fault,
#   missing reports, and labels that are themselves uncertain.

# %% [markdown]
# ## Key takeaways
#
# - An LSTM forecaster becomes an anomaly detector through its **errors**: learn normal behaviour, flag the hours it
#   cannot forecast, measure the error in units of its usual error.
# - **Train on normal data** and **scale per cell** with a calibration period, so one model serves cells of any size.
# - Choose thresholds (and any other setting, for every detector) on **validation** data; report on **held-out**
#   cells, once.
# - Report precision, recall and F1 **per kind**: one overall number hides the faults a detector cannot see.
# - A detector's inputs decide what it can see: a rolling z-score has no notion of "normal for this hour", the LSTM
#   does; neither sees a fault that looks exactly like normal traffic.

# %% [markdown]
# ## More exercises (no checks)
#
# 1. Make the baseline smarter: compare each hour with the same hour on the previous 7 days (a *seasonal* z-score).
#    Which kinds does it now catch?
# 2. Replace the maximum over KPIs by the mean in the score. Which kinds gain, which lose, and why?
# 3. Train the LSTM on *all* windows, faults included. What happens to the score distribution and to F1?
# 4. Lower the threshold until the LSTM finds every test event. How many false alarms per cell and day does that cost?
#
# ## Further reading
#
# - The lecture's videos: [Recurrent neural networks](https://www.youtube.com/watch?v=AsNTP8Kwu80) and
#   [LSTM, by IBM](https://www.youtube.com/watch?v=b61DPVFX03I).
# - P. Malhotra et al., *Long Short Term Memory Networks for Anomaly Detection in Time Series* (ESANN 2015): the
#   forecast-error idea used here.
# - Keras guide to [timeseries forecasting](https://keras.io/examples/timeseries/timeseries_weather_forecasting/).

# %%
_ = progress()
