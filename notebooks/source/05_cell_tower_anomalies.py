# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 05 · Cell tower anomalies: an LSTM watches the network
# <!-- summary: simulated cell KPIs with labelled faults; an LSTM forecaster flags anomalies; a fair fight against flagging every hour, a rolling z-score and the same hour of past weeks -->
# <!-- facts: 0.55, 0.7, 20, 30 %, 45, 55 % (fault sizes of the simulator, utils.anomaly); 2015 (Malhotra et al.); 23 (the last hour of the day, 24 − 1) -->
#
# A mobile network has thousands of cells (the antennas on a tower, each serving one area). Every hour each cell
# reports its **KPIs** (key performance indicators): how many users are connected, how loaded its radio is, how much
# data it delivers. When something breaks (a site goes down, a link degrades, a counter freezes) the KPIs look
# *unusual*, and an operator wants an alarm, without drowning in false ones.
#
# In this notebook an LSTM learns what a normal hour looks like from the hours before it; an hour it cannot
# forecast well is flagged. We make it fight fair: against flagging every hour (the floor), the classic rolling
# z-score, and a detector that knows the network's daily and weekly rhythm. Each detector's thresholds and settings
# (the z-score's window, how many past weeks, which score) are chosen on validation cells; the LSTM's size and
# training are fixed in advance, not tuned. The score is taken once, on cells no detector has seen.
#
# **You will learn to**
#
# - describe hourly cell KPIs: a daily and weekly rhythm, a trend, noise, and faults of several kinds;
# - see why a threshold on raw values misses subtle faults;
# - turn an LSTM **forecaster** into an **anomaly detector**: forecast error → score → threshold;
# - choose the threshold on **validation** cells and measure on **held-out** cells, never on the data you tuned on;
# - build the baseline an operator would pick, the **same hour of past weeks**, and give it every trick the LSTM gets;
# - read **precision, recall and F1** per kind and size of fault, events found and false alarms per cell-day.
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
import functools
import time

from utils import anomaly, course, plots  # first, before Keras: see utils/__init__.py
from utils.anomaly import KINDS, KPIS, SIZES
from utils.checks import progress, use_reference_if_needed
from utils.checks.anomaly import check_precision_recall_f1, check_rolling_zscore

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

course.setup(seed=5, notebook="05")  # seeds Python, NumPy and TensorFlow; deterministic ops; figure style (utils/course.py)
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

# %% tags=["nbval-check-output"]
network = anomaly.simulate_network(n_cells=16, weeks=6, seed=5)
anomalous = network.labels > 0
print(f"{network.n_cells} cells × {network.n_hours} hours ({network.n_hours // 168} weeks), KPIs: {', '.join(KPIS)}")
print(f"{len(network.anomalies)} injected anomalies, covering {anomalous.sum()} of {anomalous.size} cell-hours "
      f"({anomalous.mean():.1%})")
network.summary()

# %% [markdown]
# 16 cells, 6 weeks each; every cell has one large and one subtle fault of each of the four kinds. Together they cover
# 6.3 % of the cell-hours (printed above). `network.frame(cell)` gives one cell as a table, a row per hour; `kind` is
# the label ("" when the hour is normal). Here are a few hours of cell 0 on its first Monday morning:

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

# %% tags=["nbval-check-output"]
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
# - **validation** (cells 8–11): each detector's threshold and settings (score, baseline windows) are chosen here;
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

# %% tags=["nbval-check-output"]
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

# %% tags=["nbval-check-output"]
normal = anomaly.normal_windows(network.labels[train_cells], where_train, WINDOW)
X_fit, y_fit = X_train[normal][::2], y_train[normal][::2]
print(f"{normal.sum()} of {len(normal)} training windows are entirely normal ({normal.mean():.0%}); "
      f"we fit on every second one: {X_fit.shape}")

# %% [markdown]
# ### Bad input gets a clear error
#
# Real KPI feeds have gaps (a missing report is a NaN) and new cells have short histories. The helpers refuse them
# with a message that says what to do, rather than failing somewhere deep inside TensorFlow:

# %% tags=["nbval-check-output"]
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

# %% tags=["nbval-check-output"]
model = keras.Sequential([keras.Input(shape=(WINDOW, X_fit.shape[-1])),
                          keras.layers.LSTM(32),
                          keras.layers.Dense(len(KPIS))], name="kpi_forecaster")
model.compile(optimizer=keras.optimizers.Adam(learning_rate=3e-3), loss="mse")
print(f"parameters: {model.count_params()} = LSTM 4·32·(7 + 32 + 1) = {4 * 32 * (7 + 32 + 1)} "
      f"+ dense (32 + 1)·4 = {33 * 4}")

# %% tags=["nbval-ignore-output"]
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

# %% tags=["nbval-ignore-output"]
X_val, y_val, where_val = anomaly.kpi_windows(scaled[val_cells], WINDOW, calendar)
predicted_val = model.predict(X_val, verbose=0)
normal_val = network.labels[val_cells][where_val[:, 0], where_val[:, 1]] == 0
rmse_lstm = np.sqrt(((predicted_val - y_val)[normal_val] ** 2).mean(axis=0))
rmse_yesterday = np.sqrt(((X_val[:, 0, :len(KPIS)] - y_val)[normal_val] ** 2).mean(axis=0))
pd.DataFrame({"LSTM": rmse_lstm, "same hour yesterday": rmse_yesterday}, index=list(KPIS)).rename_axis(
    "RMSE on normal validation hours (scaled units)")

# %% tags=["nbval-check-output"]
_ = course.claim("on normal validation hours the LSTM's RMSE is below 0.7 × that of 'the same hour yesterday', "
                 "on every KPI", holds=bool((rmse_lstm < 0.7 * rmse_yesterday).all()))

# %% [markdown]
# On normal hours the LSTM misses by clearly less than "the same hour yesterday" (in this run by about half: the
# table is in units of each KPI's standard deviation over the calibration week): it has learned the daily rhythm and
# uses the latest hours. What is left includes the simulator's random noise, which no forecaster can predict.

# %% [markdown]
# ## From forecast errors to an anomaly score
#
# An hour is suspicious when the forecast misses it by much more than usual. Two steps turn the 4 errors
# $e_{t,k} = x_{t,k} - \hat{x}_{t,k}$ of hour $t$ into one score:
#
# 1. **Measure each error in its usual size at that hour of the day.** The KPIs are noisier at busy hours than at
#    night, so we divide $e_{t,k}$ by $\sigma_{k,h}$, the standard deviation of the errors of KPI $k$ at hour of day
#    $h$ on the normal hours of the training cells (here $\sigma$ is a standard deviation, not the sigmoid of
#    notebooks 03 and 04). Call the result $z_{t,k}$: "so many typical errors off".
# 2. **Combine the 4 KPIs.** Two ways:
#    - the **largest**, $\max_k |z_{t,k}|$: at least one KPI is far off;
#    - the **joint** (Mahalanobis) distance $\sqrt{z_t^\top \Sigma^{-1} z_t}$, with $\Sigma$ the covariance matrix of
#      the $z$ of normal hours (here $\Sigma$ is a covariance, not a sum, and not the cell state $C$ of notebook 03).
#      The KPIs move together (more users, more load, more throughput), so normal errors do too; an error that breaks
#      the pattern, such as throughput down while the load goes up (a degraded link), is far in this distance even when
#      each KPI alone is only a little off.
#
# Which of the two works better is a choice, so it is made on the validation cells, for the LSTM here and for the
# seasonal baseline below (the rolling z-score has a score of its own). Week 1 is left out of every score: it is the
# calibration week, with no faults, and a baseline below cannot score it.

# %%
def make_scorer(normal_errors, normal_hours, how):
    """score(errors, hours): the anomaly score of forecast errors (..., KPIs) at those hours of day.

    Calibrated on normal_errors (n, KPIs) at normal_hours (n,): they set sigma_{k,h} and the covariance Sigma of z.
    how: "largest" (max_k |z_k|) or "joint" (Mahalanobis distance of z). A NaN error gives a NaN score."""
    if how not in ("largest", "joint"):
        raise ValueError(f"how={how!r}: use 'largest' or 'joint'.")
    sigma = np.stack([normal_errors[normal_hours == h].std(axis=0) for h in range(24)])  # (24, KPIs)
    inverse = np.linalg.inv(np.cov(normal_errors / sigma[normal_hours], rowvar=False))

    def score(errors, hours):
        z = errors / sigma[hours]
        if how == "largest":
            return np.abs(z).max(axis=-1)
        return np.sqrt(np.einsum("...i,ij,...j->...", z, inverse, z))

    return score


def normal_reference(errors, labels):
    """The errors (n, KPIs) and hours of day (n,) of the normal, scored hours: what make_scorer calibrates on."""
    keep = (labels == 0) & ~np.isnan(errors).any(axis=-1)
    return errors[keep], np.nonzero(keep)[1] % 24


def lstm_errors(cells):
    """The LSTM's forecast errors x_t - x̂_t per (cell, hour, KPI), in scaled units; NaN in week 1."""
    X, y, where = anomaly.kpi_windows(scaled[cells], WINDOW, calendar)
    errors = np.full((len(cells), network.n_hours, len(KPIS)), np.nan)
    errors[where[:, 0], where[:, 1]] = y - model.predict(X, verbose=0).astype(float)
    errors[:, :anomaly.HOURS_PER_WEEK] = np.nan  # every detector is scored from week 2 on
    return errors


hours = np.arange(network.n_hours) % 24  # hour of day of every hour
train_labels, val_labels = network.labels[train_cells], network.labels[val_cells]
lstm_reference = normal_reference(lstm_errors(train_cells), train_labels)
lstm_val_errors, lstm_test_errors = lstm_errors(val_cells), lstm_errors(test_cells)
print(f"reference: {len(lstm_reference[0])} normal training hours; sigma_k,h of the LSTM at 4:00 and 20:00 "
      f"(scaled units): {np.round(lstm_reference[0][lstm_reference[1] == 4].std(axis=0), 2).tolist()}, "
      f"{np.round(lstm_reference[0][lstm_reference[1] == 20].std(axis=0), 2).tolist()}")

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


# %% tags=["nbval-ignore-output"]
lstm_choices = {}
for how in ("largest", "joint"):
    lstm_choices[how] = choose_threshold(make_scorer(*lstm_reference, how)(lstm_val_errors, hours), val_labels)
    print(f"LSTM, {how:>7} score: best threshold {lstm_choices[how][0]:.2f}, "
          f"F1 on validation cells {lstm_choices[how][1]:.2f}")
lstm_how = max(lstm_choices, key=lambda how: lstm_choices[how][1])
lstm_threshold, lstm_val_f1 = lstm_choices[lstm_how]
print(f"chosen: the {lstm_how} score, > {lstm_threshold:.2f}")

lstm_score = make_scorer(*lstm_reference, lstm_how)
val_scores = lstm_score(lstm_val_errors, hours)
scored = ~np.isnan(val_scores)
cut_at = np.nanpercentile(val_scores, 99.5)  # the x-axis stops here: a few huge scores would squash the rest
bins = np.linspace(0, cut_at, 60)
plt.hist(val_scores[scored & (val_labels == 0)], bins=bins, density=True, alpha=0.6, label="normal hours")
plt.hist(val_scores[scored & (val_labels > 0)], bins=bins, density=True, alpha=0.6, label="anomalous hours")
plt.axvline(lstm_threshold, color="black", ls="--", label="threshold chosen on validation")
plt.yscale("log")
plt.title(f"LSTM anomaly scores ({lstm_how}) on the validation cells, each class normalised on its own")
plt.xlabel("joint score (Mahalanobis distance of z)" if lstm_how == "joint" else "largest |z| over the KPIs")
plt.ylabel("density within each class (log scale)")
plt.legend()
print(f"x-axis cut at the 99.5th percentile of the scores, {cut_at:.1f}: "
      f"{int((val_scores > cut_at).sum())} of {int(scored.sum())} scored hours lie beyond it")
plots.show(plt.gcf(), alt="Two overlaid histograms, log density, of the LSTM anomaly score on the validation cells, "
                          "one for normal hours and one for anomalous hours, each normalised to area 1 on its own "
                          "(anomalous hours are far fewer), the x-axis cut at the 99.5th percentile of the scores, "
                          f"and a dashed line at the threshold chosen on validation (a score of {lstm_threshold:.2f}). "
                          "Notice that the two overlap: normal hours pile up at low scores, anomalous hours spread "
                          "far to the right but many sit among the normal ones, so no threshold separates them "
                          "perfectly.")

# %% tags=["nbval-check-output"]
_ = course.claim("for the LSTM the joint score gives a higher validation F1 than the largest error",
                 holds=lstm_choices["joint"][1] > lstm_choices["largest"][1])

# %% [markdown]
# The joint score does better for the LSTM (compare the two validation F1 values printed above): many faults move
# the KPIs *against* each other, which the joint distance sees and the largest error alone does not. In the histogram
# each class is normalised on its own (the anomalous hours are far fewer, so on a shared scale they would hardly show),
# and the x-axis stops at the 99.5th percentile of the scores (the count beyond it is printed above the figure). The two
# distributions still overlap: no threshold separates them perfectly. Normal hours pile up at low scores; anomalous
# hours spread far to the right, but many sit among the normal ones (the subtle faults, and the hours of a long fault
# that the forecaster, having seen the fault in its window, starts to expect).

# %% [markdown]
# ## Baseline 1: a rolling z-score
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
rolling_zscore = use_reference_if_needed(rolling_zscore, passed, check_rolling_zscore)

# %% [markdown]
# To be fair to the baseline, its settings are chosen as the LSTM's are: its window $w$ **and** its threshold, both on
# the validation cells. Its score for an hour is the largest $|z_t|$ over the 4 KPIs, from week 2 on; it makes no
# forecast errors for `make_scorer`, so the joint score and the rule for flagged hours (below) are not tried on it.

# %%
def zscore_scores(kpis, window):
    """Baseline anomaly score per (cell, hour): the largest |rolling z-score| over the KPIs; NaN in week 1."""
    z = np.stack([[rolling_zscore(cell[:, k], window) for k in range(cell.shape[1])] for cell in kpis])
    scores = np.abs(z).max(axis=1)
    scores[:, :anomaly.HOURS_PER_WEEK] = np.nan  # scored on the same hours as every detector
    return scores


# %% tags=["nbval-ignore-output"]
choices = {}
for w in (6, 12, 24, 48, 168):
    threshold, f1 = choose_threshold(zscore_scores(network.kpis[val_cells], w), val_labels)
    choices[w] = (threshold, f1)
    print(f"window {w:>3} h: best threshold |z| > {threshold:.2f}, F1 on validation cells {f1:.2f}")
z_window = max(choices, key=lambda w: choices[w][1])
z_threshold = choices[z_window][0]
print(f"chosen: window {z_window} h, |z| > {z_threshold:.2f}")

# %% tags=["nbval-check-output"]
_ = course.claim("the longest window, a week (168 h), gives the z-score its best validation F1", holds=z_window == 168)
_ = course.claim("the z-score's best validation F1 is less than half the LSTM's",
                 holds=2 * choices[z_window][1] < lstm_val_f1)

# %% [markdown]
# The longest window does best (compare the F1 values printed for each window): over a short window every morning
# ramp-up looks unusual compared with the quiet night before it. Even so, the rolling z-score's best validation F1 is
# less than half the LSTM's. But that is a weak opponent: it has no idea that 14:00 is busier than 4:00.

# %% [markdown]
# ## Baseline 2: know the rhythm
#
# An operator would rather compare this Tuesday 14:00 with the Tuesdays before it at 14:00. That is a forecast too,
# the **seasonal** one: the median of the same hour of the week in the $K$ weeks before,
#
# $$\hat{x}_t = \operatorname{median}(x_{t-168}, x_{t-2 \cdot 168}, \dots, x_{t-K \cdot 168}),$$
#
# with as many weeks as exist (in week 2 only one, in week 3 two). The median, not the mean, so that once three or more
# past weeks exist, one faulty week among them does not spoil the forecast; with one or two past weeks it cannot help
# (the median of two values is their mean), so early on a fault still comes back a week later. Its errors go through the
# same `make_scorer` as the LSTM's (measured per KPI and hour against the normal hours of the training cells, then the
# largest or the joint score), and $K$, the score and the threshold are chosen on the validation cells. It learns
# nothing but those spreads.
#
# We write it as a forecaster that works hour by hour, as a live system would: `online_errors` walks through the
# hours, asks a `forecast(inputs, t)` function for hour $t$ (it may read only the hours before $t$) and records the
# error. The argument `cut` is for the next section; with `cut=np.inf` it only records errors.

# %%
def online_errors(forecast, series, first, score=None, cut=np.inf):
    """Forecast errors hour by hour from hour `first` on, as a live detector makes them; NaN before `first`.

    forecast(inputs, t) -> (cells, KPIs) reads only inputs[:, :t]; series: (cells, hours, KPIs). With a `cut`, an
    hour whose score(errors, hour of day) exceeds it is replaced, in the inputs of later forecasts, by its forecast."""
    inputs, errors = series.copy(), np.full(series.shape, np.nan)
    for t in range(first, series.shape[1]):
        predicted = forecast(inputs, t)
        errors[:, t] = series[:, t] - predicted
        if cut < np.inf:
            replace = score(errors[:, t], t % 24) > cut
            inputs[replace, t] = predicted[replace]
    return errors


def seasonal_forecast(inputs, t, weeks):
    """For every cell, the median of hour t's KPIs in the `weeks` weeks before it (as many as exist): (cells, KPIs)."""
    lags = t - anomaly.HOURS_PER_WEEK * np.arange(1, weeks + 1)
    return np.median(inputs[:, lags[lags >= 0]], axis=1)


# %% tags=["nbval-ignore-output"]
seasonal_choices, seasonal_runs = {}, {}
for weeks in (1, 2, 3, 4):
    errors = online_errors(functools.partial(seasonal_forecast, weeks=weeks), scaled, anomaly.HOURS_PER_WEEK)
    reference = normal_reference(errors[train_cells], train_labels)
    for how in ("largest", "joint"):
        score = make_scorer(*reference, how)
        seasonal_choices[weeks, how] = choose_threshold(score(errors[val_cells], hours), val_labels)
        seasonal_runs[weeks, how] = errors, score
        print(f"K = {weeks} weeks, {how:>7} score: best threshold {seasonal_choices[weeks, how][0]:.2f}, "
              f"F1 on validation cells {seasonal_choices[weeks, how][1]:.2f}")
seasonal_weeks, seasonal_how = max(seasonal_choices, key=lambda choice: seasonal_choices[choice][1])
seasonal_threshold, seasonal_val_f1 = seasonal_choices[seasonal_weeks, seasonal_how]
seasonal_all_errors, seasonal_score = seasonal_runs[seasonal_weeks, seasonal_how]
print(f"chosen: K = {seasonal_weeks} weeks, the {seasonal_how} score, > {seasonal_threshold:.2f}")

# %% tags=["nbval-check-output"]
_ = course.claim("the seasonal detector does best with the most past weeks tried (K = 4) and the joint score",
                 holds=(seasonal_weeks, seasonal_how) == (4, "joint"))
_ = course.claim("on the validation cells the LSTM is not ahead of the seasonal detector by more than 0.05 F1",
                 holds=lstm_val_f1 < seasonal_val_f1 + 0.05)
_ = course.claim("the seasonal detector's best validation F1 is more than three times the rolling z-score's",
                 holds=seasonal_val_f1 > 3 * choices[z_window][1])

# %% [markdown]
# Knowing the rhythm changes everything: the seasonal detector's validation F1 is more than three times the rolling
# z-score's, and level with or above the LSTM's (the values are printed above). More past weeks help (the median of
# more weeks is less noisy, and from three weeks on it can outvote one faulty week), and so does the joint score, as
# for the LSTM. This is the opponent the LSTM has to beat, and so far it does not.

# %% [markdown]
# ## Don't let a fault into the inputs
#
# What holds the LSTM back? Its forecast reads the last 24 hours. During a long fault those hours are faulty, so the
# forecast follows the fault and the errors shrink (it misses the later hours); after the fault they are still in
# its window, and the forecasts go wrong on normal hours (false alarms, an *echo* of the fault). The seasonal
# forecast reads hours a week old and more, which a fault of a few hours cannot reach; but a fault does reach the
# same hours of the following weeks, and while fewer than three past weeks exist the median cannot outvote it (the
# echo table below counts those false alarms).
#
# Operators fix this with a simple rule: **an hour that looks faulty is not trusted as an input.** That is the `cut`
# of `online_errors`: an hour scoring above `cut` is replaced, in the inputs of later forecasts, by what was forecast
# for it. We set `cut` to each detector's first threshold (chosen above, on validation), run both detectors this way
# over the validation and test cells (the cells do not see each other), and then choose a new threshold for the
# flags on the validation cells again (both printed below). So the hours replaced are those above the first
# threshold, and the hours flagged those above the new one. The seasonal detector gets the same rule: a replaced
# hour enters the median of later weeks as its forecast, not as its measured value.

# %% tags=["nbval-ignore-output"]
def lstm_forecast(inputs, t):
    """The LSTM's forecast of hour t for every cell, from the WINDOW hours of `inputs` before t: (cells, KPIs)."""
    window = np.concatenate([inputs[:, t - WINDOW:t],
                             np.broadcast_to(calendar[t - WINDOW:t], (len(inputs), WINDOW, calendar.shape[1]))], axis=-1)
    return model.predict_on_batch(window.astype("float32"))


watched = val_cells + test_cells  # one pass over both; the test half is only read at the end
started = time.perf_counter()
lstm_online = online_errors(lstm_forecast, scaled[watched], anomaly.HOURS_PER_WEEK, lstm_score, lstm_threshold)
print(f"LSTM hour by hour over {len(watched)} cells: {time.perf_counter() - started:.1f} s")
seasonal_online = online_errors(functools.partial(seasonal_forecast, weeks=seasonal_weeks), scaled[watched],
                                anomaly.HOURS_PER_WEEK, seasonal_score, seasonal_threshold)
lstm_online_threshold, lstm_online_f1 = choose_threshold(lstm_score(lstm_online[:4], hours), val_labels)
seasonal_online_threshold, seasonal_online_f1 = choose_threshold(seasonal_score(seasonal_online[:4], hours),
                                                                 val_labels)
print(f"hours replaced above the first threshold: LSTM > {lstm_threshold:.2f}, seasonal > {seasonal_threshold:.2f}; "
      f"flags above the new one: LSTM > {lstm_online_threshold:.2f}, seasonal > {seasonal_online_threshold:.2f}")
print(f"validation F1 with flagged hours replaced: LSTM {lstm_online_f1:.2f} (was {lstm_val_f1:.2f}), "
      f"seasonal {seasonal_online_f1:.2f} (was {seasonal_val_f1:.2f})")

# %% tags=["nbval-check-output"]
_ = course.claim("replacing flagged hours raises the validation F1 of both detectors",
                 holds=lstm_online_f1 > lstm_val_f1 and seasonal_online_f1 > seasonal_val_f1)

# %% [markdown]
# The rule lifts both detectors on the validation cells (the F1 values before and after are printed above): a
# detector that does not take the faults it has flagged as the new normal keeps flagging them, and fewer of its
# false alarms are echoes of them (counted on the test cells below; the seasonal detector's total does not fall).

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
precision_recall_f1 = use_reference_if_needed(precision_recall_f1, passed, check_precision_recall_f1)

# %% [markdown]
# **Per kind.** A false alarm has no kind, so for kind K we count only the normal hours and the hours of kind K: the
# precision of K is then what the precision would be if K were the only fault in the network. It shares the false
# alarms with every other kind, so a rare kind (few anomalous hours) gets a low precision even when it is caught.
# The F1 on the large (or subtle) faults is counted the same way: the normal hours and the hours of faults of that
# size. So each per-kind and per-size F1 counts *all* the false alarms, where the overall F1 counts them once against
# all the faults: false alarms weigh more in the per-size F1 values, and two detectors can be level on both sizes yet
# not overall (the one with more false alarms, and more hits, comes out ahead overall). We also count *events found*:
# faults with at least one flagged hour, which is what gets an engineer to look.

# %% [markdown]
# ## Evaluate every detector on the held-out cells
#
# The thresholds and every other choice are frozen; now, once, the test cells. Next to the baselines and the LSTM
# stands the floor, **flag every hour**: its recall is 1 and its precision is the share of anomalous hours, so a
# detector whose F1 is not clearly above it is no detector at all. For each we print precision, recall and F1 over
# all scored hours, F1 on the large and on the subtle faults alone, F1 per kind, the fault *events* with at least one
# flagged hour (what gets an engineer to look), and the false alarms per cell and day.
#
# Before building the detector, the course set the LSTM three goals: a practical bar, not a standard. An alarm that
# operators keep switched on must be right most of the time and catch most faults: F1 at least 0.75 over all hours.
# Large faults (a site down, a flash crowd) must hardly ever slip through: F1 at least 0.9 on them. And a neural
# network is worth its training only if it is clearly ahead of the best simple detector: at least 0.15 F1 above the
# best baseline. The first printed line says where this run stands.

# %% tags=["nbval-ignore-output"]
test_labels = network.labels[test_cells]
test_events = anomaly.renumber(network.anomalies, test_cells)
test_scores = lstm_score(lstm_test_errors, hours)
judged = ~np.isnan(test_scores)  # weeks 2-6 of every test cell
detectors = {
    "flag every hour": judged,
    f"rolling z-score (w = {z_window} h)": zscore_scores(network.kpis[test_cells], z_window) > z_threshold,
    f"seasonal (K = {seasonal_weeks}, {seasonal_how})":
        seasonal_score(seasonal_all_errors[test_cells], hours) > seasonal_threshold,
    "seasonal, flagged hours replaced": seasonal_score(seasonal_online[4:], hours) > seasonal_online_threshold,
    f"LSTM ({lstm_how})": test_scores > lstm_threshold,
    "LSTM, flagged hours replaced": lstm_score(lstm_online[4:], hours) > lstm_online_threshold,
}
results = pd.DataFrame({name: anomaly.scorecard(flags, test_labels, test_events, judged)
                        for name, flags in detectors.items()}).T.rename_axis("held-out cells")
baselines, lstms = list(results.index[:4]), list(results.index[4:])
best_baseline = max(baselines, key=lambda name: results.loc[name, "F1"])
lstm = results.loc["LSTM, flagged hours replaced"]
print(f"held-out cells {test_cells}: {judged.sum()} scored cell-hours ({judged.sum() // 24} cell-days), "
      f"{len(test_events)} fault events, {(test_labels > 0).sum()} anomalous hours")
print(f"LSTM, flagged hours replaced: F1 {lstm['F1']:.2f} (goal 0.75), on large faults {lstm['F1 large']:.2f} "
      f"(goal 0.9); best baseline: {best_baseline}, F1 {results.loc[best_baseline, 'F1']:.2f} "
      "(goal: the LSTM 0.15 above it)")
false_alarm_count = {name: int((detectors[name] & judged & (test_labels == 0)).sum()) for name in results.index}
outage_or_freeze = judged & np.isin(test_labels, [KINDS.index("outage") + 1, KINDS.index("freeze") + 1])
flagged_share = {name: detectors[name][outage_or_freeze].mean() for name in results.index}
print(f"false alarms in {judged.sum() // 24} cell-days: LSTM {false_alarm_count[lstms[1]]}, "
      f"best baseline {false_alarm_count[best_baseline]}; outage and freeze hours flagged: "
      f"LSTM {flagged_share[lstms[1]]:.0%}, best baseline {flagged_share[best_baseline]:.0%}")
results

# %% tags=["nbval-check-output"]
_ = course.claim("the best baseline is a seasonal detector", holds=best_baseline.startswith("seasonal"))
_ = course.claim("the plain LSTM's F1 is below the best baseline's",
                 holds=results.loc[lstms[0], "F1"] < results.loc[best_baseline, "F1"])
_ = course.claim("replacing flagged hours raises the LSTM's held-out F1",
                 holds=lstm["F1"] > results.loc[lstms[0], "F1"])
_ = course.claim("the LSTM's F1 is more than twice the rolling z-score's and more than four times the floor's",
                 holds=lstm["F1"] > 2 * results.iloc[1]["F1"] and lstm["F1"] > 4 * results.iloc[0]["F1"])
_ = course.claim("replacing flagged hours lowers the LSTM's false alarms per cell-day",
                 holds=lstm["false alarms / cell-day"] < results.loc[lstms[0], "false alarms / cell-day"])
_ = course.claim("the LSTM does not beat the best baseline by 0.15 F1: that goal is missed",
                 holds=lstm["F1"] < results.loc[best_baseline, "F1"] + 0.15)
_ = course.claim("the LSTM is not ahead of the best baseline by even 0.05 F1",
                 holds=lstm["F1"] < results.loc[best_baseline, "F1"] + 0.05)
_ = course.claim("the LSTM meets the goal of F1 at least 0.75 over all hours", holds=lstm["F1"] >= 0.75)
_ = course.claim("on the large faults the LSTM's F1 is above 0.85: about the 0.9 goal, on its edge",
                 holds=lstm["F1 large"] > 0.85)
baseline = results.loc[best_baseline]
_ = course.claim("the LSTM's precision is higher than the best baseline's and its recall lower",
                 holds=lstm["precision"] > baseline["precision"] and lstm["recall"] < baseline["recall"])
_ = course.claim("the LSTM raises less than half the best baseline's false alarms",
                 holds=2 * false_alarm_count[lstms[1]] < false_alarm_count[best_baseline])
_ = course.claim("the LSTM's F1 on spikes and on level shifts is higher than the best baseline's",
                 holds=lstm["F1 spike"] > baseline["F1 spike"] and lstm["F1 level_shift"] > baseline["F1 level_shift"])
_ = course.claim("the best baseline flags a larger share of the outage and freeze hours than the LSTM",
                 holds=flagged_share[best_baseline] > flagged_share[lstms[1]])

# %% [markdown]
# Read the table from the top. Flagging every hour finds every event but its F1 is the floor. The rolling z-score is
# not far above it and raises false alarms every cell-day. The seasonal detector is in a different league, and it is
# the best baseline by F1: the plain LSTM stays below it. Replacing flagged hours helps the LSTM (fewer false alarms,
# a higher F1), and the same rule helps the seasonal detector too.
#
# Against the goals: the LSTM's overall F1 meets the 0.75 goal; on the large faults it is about 0.9, on the edge of
# that goal (whether it is met moves with the training seed); and it is nowhere near 0.15 F1 ahead of the best
# baseline: on overall F1 it is not even 0.05 ahead.
#
# But one overall number hides a trade: **the LSTM trades recall for precision.** Far fewer of its alarms are false:
# in this run 1 false alarm in 140 cell-days against 20 for the seasonal detector (printed above the table), and it
# has a higher F1 on spikes and level shifts. It flags fewer of the outage and freeze hours, though (the shares are
# printed above the table too), so its recall is lower and its overall F1 no higher. Which detector an operator prefers
# depends on what a false alarm costs against a missed hour of outage. Its numbers also move with the training seed,
# while the seasonal detector, which trains nothing, gives the same numbers on every run; and 32 faults on 4 cells
# cannot tell a few hundredths of F1 apart.
#
# Large and subtle faults separately, for the two real contenders (both with flagged hours replaced): events with
# at least one flagged hour, and in brackets the share of their hours flagged:

# %% tags=["nbval-ignore-output"]
lstm_flags, seasonal_flags = detectors["LSTM, flagged hours replaced"], detectors["seasonal, flagged hours replaced"]
found = {"LSTM": anomaly.events_found(lstm_flags, test_events),
         "seasonal": anomaly.events_found(seasonal_flags, test_events)}
pd.concat(found, axis=1)

# %% [markdown]
# In this run both find every large fault and every subtle spike and level shift. Both miss every subtle freeze: a counter stuck
# for 3–6 hours at an ordinary value is what both expected. The seasonal detector finds more of the subtle outages
# (a sector down in the day, KPIs × 0.55–0.7) and flags more of the hours of a long freeze, in this run.
#
# Where do the false alarms fall? The plain LSTM reads the last 24 hours, so after a fault its input window still
# holds faulty hours; the plain seasonal detector reads past weeks, so a fault comes back one week later, at the same
# hours. We count each detector's false alarms in those two places, with and without replacing flagged hours. An
# hour can be in both places, so the two columns are not exclusive: they need not add up to the total.

# %% tags=["nbval-ignore-output"]
day_after, week_after = np.zeros(test_labels.shape, dtype=bool), np.zeros(test_labels.shape, dtype=bool)
for event in test_events:
    day_after[event.cell, event.stop:event.stop + WINDOW] = True
    for j in range(1, seasonal_weeks + 1):
        week_after[event.cell, event.start + j * anomaly.HOURS_PER_WEEK:event.stop + j * anomaly.HOURS_PER_WEEK] = True
normal_hours = judged & (test_labels == 0)
echoes = {}
for name in results.index[2:]:
    false_alarms = detectors[name] & normal_hours
    echoes[name] = {"false alarms": false_alarms.sum(), "in the 24 h after a fault": (false_alarms & day_after).sum(),
                    f"at a fault's hours 1-{seasonal_weeks} weeks later": (false_alarms & week_after).sum()}
print(f"chance rates: those two places hold {(day_after & normal_hours).sum() / normal_hours.sum():.0%} and "
      f"{(week_after & normal_hours).sum() / normal_hours.sum():.0%} of the normal hours, so false alarms on random "
      "normal hours would fall there at those rates (the places overlap: the columns are not exclusive)")
echoes = pd.DataFrame(echoes).T
echoes

# %% tags=["nbval-check-output"]
_ = course.claim("most of the plain LSTM's false alarms fall in the 24 h after a fault, and most of the plain "
                 "seasonal detector's at a fault's hours in a later week",
                 holds=echoes.iloc[2, 1] > echoes.iloc[2, 0] / 2 and echoes.iloc[0, 2] > echoes.iloc[0, 0] / 2)
_ = course.claim("replacing flagged hours lowers the LSTM's false alarms, and more than halves the seasonal "
                 "detector's a week after a fault", holds=echoes.iloc[3, 0] < echoes.iloc[2, 0]
                 and 2 * echoes.iloc[1, 2] < echoes.iloc[0, 2])

# %% [markdown]
# Compared with those chance rates, the plain LSTM's false alarms are echoes of the fault that just ended; the plain
# seasonal detector's are echoes of a fault one or more weeks earlier. Replacing flagged hours leaves fewer echoes in
# both (the counts above), though the seasonal detector, its threshold chosen again, spends the saving on other hours.

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
                      flags={"LSTM": lstm_flags[test_position], "seasonal": seasonal_flags[test_position]},
                      title=f"Held-out cell {test_cells[test_position]}, week {plot_week + 1}: faults and alarms")
plots.show(plt.gcf(), alt=f"Three stacked line charts of held-out cell {test_cells[test_position]}'s hourly KPIs over "
                          f"week {plot_week + 1}: connected users, downlink load and downlink throughput, with the "
                          "injected faults shaded by kind and, above the users curve, markers for the hours flagged "
                          "by the LSTM detector and by the seasonal detector, both with flagged hours replaced. Look "
                          "at the faults both detectors mark, the hours inside long faults that only one of them "
                          "marks, and how few markers fall on normal hours.")

# %% [markdown]
# What to look for: the faults both detectors mark, the hours inside a long fault that only one of them marks, and
# how few markers fall outside the shaded faults now that flagged hours are replaced. The figure is one week of one
# cell: the tables above are what to trust.

# %% [markdown]
# ## What the numbers say
#
# - **Know the rhythm first.** The rolling z-score is barely above the floor; the same data compared with the same
#   hour of past weeks makes one of the two best detectors in this notebook. An honest comparison needs that
#   baseline: against the rolling z-score alone the LSTM would look like a triumph.
# - **The LSTM trades recall for precision.** Both are forecasters, scored the same way; they differ in what they
#   read. The LSTM reads the last 24 hours, which makes its forecasts of normal hours sharp, but a fault in its window
#   becomes what it expects and what it forecasts from. Replacing hours that look faulty by forecasts fixes much of
#   that: far fewer of its alarms are then false, but it flags fewer outage and freeze hours than the seasonal
#   detector, and on overall F1 it is not even 0.05 ahead of it, let alone 0.15. The claims above say what held.
# - **The score and the rule matter as much as the model.** The joint distance, which knows that the KPIs move
#   together, lifted both detectors (a degraded link pushes throughput and load apart), and so did not trusting
#   the hours that look faulty. Measure what moves a detector before reaching for a bigger model.
# - **Neither sees what looks normal**: short freezes at ordinary values slip past both. A dedicated rule ("no KPI
#   changed for 3 hours") would catch them; not every fault needs a neural network.
# - **How far to trust these numbers**: the data is simulated, with faults we designed; the test set is 4 cells and
#   32 faults (printed with the results), 4 of each kind and size, so one event more or less moves a row of the
#   events table by a quarter. Real KPIs have more kinds of fault, missing reports, and labels that are themselves
#   uncertain.

# %% [markdown]
# ## Key takeaways
#
# - An LSTM forecaster becomes an anomaly detector through its **errors**: learn normal behaviour, flag the hours it
#   cannot forecast, measure the error in units of its usual error at that hour.
# - **Train on normal data** and **scale per cell** with a calibration period, so one model serves cells of any size.
# - Choose thresholds (and any other setting, for every detector) on **validation** data; report on **held-out**
#   cells, once.
# - Compare with the **strongest honest baseline**: here the same hour of past weeks, which knows the rhythm. Give
#   that baseline every trick the model gets (here the same joint score and the same rule for flagged hours; the
#   weaker rolling z-score got only its own window and threshold).
# - Report precision, recall and F1 **per kind and size**, events found and false alarms per cell-day: one overall
#   number hides the faults a detector cannot see.

# %% [markdown]
# ## More exercises (no checks)
#
# 1. Give the LSTM the seasonal forecast of each hour as extra inputs (so it knows the rhythm *and* the last 24
#    hours). Does it now overtake the seasonal detector on the validation cells?
# 2. Score with the largest error instead of the joint one, for both detectors. Which kinds gain, which lose, and why?
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
