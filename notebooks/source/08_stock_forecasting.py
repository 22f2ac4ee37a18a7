# %% [markdown]
# # 08 · Class exercise 2: forecasting stock prices with an LSTM, honestly
# <!-- summary: windows, splits and scaling without leaks; an LSTM forecaster trained from several random starts and judged against persistence, moving-average and linear baselines; a Diebold–Mariano test you write; leaks that fake a win; the test period scored once; multi-step forecasts -->
# <!-- facts: 0.01 1 1.96 75 (minutes of a class) 1995 (the DM paper) -->
#
# The lecture's running example is a model that "looks at the sequential data of the stock market for a given
# company and predicts the next day's stock price". In this class exercise you build that model, train it and, most
# important of all, **judge** it: against forecasts that need no training, with a test that tells a real difference
# from luck.
#
# **Learning objectives.** After this notebook you can
#
# 1. split a series by time, scale it with the training part only, decide on validation and score the test once;
# 2. build and train an LSTM forecaster with early stopping, from several random starts;
# 3. compare it with persistence, a moving average and a linear model on the same days, and call a difference a win
#    only when a paired test (Diebold–Mariano, which you write) says it is more than noise;
# 4. explain why an LSTM on raw prices fails on new highs, and fix it by forecasting returns;
# 5. *(optional)* cut windows by hand, recognise leaks that fake a win, and forecast a series an LSTM can learn.
#
# **In class (75 minutes)** follow everything not marked *(optional)*, with Exercises 2 (the LSTM) and 5 (the
# Diebold–Mariano test). The optional parts are for later: the notebook runs the same whether you do them or not.

# %% [markdown]
# ## Setup
#
# `utils` is this course's package (the `utils/` folder): data loaders, plots, exercise checks and the code that
# several notebooks share. It comes before Keras because it keeps TensorFlow's start-up log quiet.
# `course.setup(seed=42)` seeds Python, NumPy and TensorFlow, so that a rerun gives the same numbers.

# %%
from utils import course, data, plots  # first, before Keras: see utils/__init__.py
from utils import forecasting as fc
from utils.checks import progress, use_reference_if_needed
from utils.checks.forecasting import (check_diebold_mariano, check_evaluate_forecast, check_forecaster,
                                      check_make_windows, check_moving_average)

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

course.setup(seed=42, notebook="08")  # seeds Python, NumPy and TensorFlow; deterministic ops; figure style (utils/course.py)
pd.set_option("display.precision", 3)


# %% [markdown]
# ## 1 · Look at the data before any model
#
# We use Microsoft's (ticker MSFT) daily prices from 2010 to November 2017. `load_prices` downloads them with
# yfinance when the internet is reachable, and otherwise uses the copy bundled with the course (its provenance is in
# `data/README.md`); the line it prints says which. The **close** is the last traded price of the day, in US dollars;
# the **volume** is the number of shares traded that day.

# %%
prices = data.load_prices("MSFT", "2010-01-01", "2017-11-10")
close = prices["Close"].to_numpy(dtype=float)
dates = prices.index
prices.tail(3)

# %% [markdown]
# A price series is hard to read by eye: what moves a trader's money is the **change** from one day to the next. The
# *log return* of day $t$ is
#
# $$r_t = \ln\frac{p_t}{p_{t-1}} \approx \frac{p_t - p_{t-1}}{p_{t-1}},$$
#
# the relative change of the close $p_t$ (0.01 ≈ a 1 % rise). Log returns add up over days, and their size does not
# depend on the price level, unlike dollar changes.

# %%
log_return = np.full(len(close), np.nan)
log_return[1:] = np.diff(np.log(close))

fig, axes = plt.subplots(3, 1, figsize=(8, 7), sharex=True)
axes[0].plot(dates, close)
axes[0].set(title="MSFT daily close", ylabel="price (US$)")
axes[1].plot(dates, 100 * log_return, lw=0.6)
axes[1].set(title="Daily log return", ylabel="log return (%)")
axes[2].plot(dates, prices["Volume"] / 1e6, lw=0.6)
axes[2].set(title="Daily volume", ylabel="shares traded (millions)", xlabel="date")
fig.tight_layout()

print(f"{len(close):,} trading days; close from ${close[0]:.2f} to ${close[-1]:.2f}.")
print(f"Daily log return: mean {100 * np.nanmean(log_return):.3f} %, standard deviation "
      f"{100 * np.nanstd(log_return):.2f} %, largest fall {100 * np.nanmin(log_return):.1f} %, "
      f"largest rise {100 * np.nanmax(log_return):.1f} %.")
print(f"Days the close went up: {100 * np.mean(log_return[1:] > 0):.1f} %.")
plots.show(fig, alt=f"Three stacked charts of MSFT over {len(close):,} trading days: the daily close in US$, the "
                    "daily log return in percent, and the daily volume in millions of shares. Notice that the close "
                    f"more than triples, from ${close[0]:.2f} to ${close[-1]:.2f}, mostly in the last years; the "
                    "returns look like noise around zero, with big moves in clusters; volume has spikes and drifts "
                    "down over the years.")

# %% [markdown]
# What to notice:
#
# * The price more than triples, mostly in the last few years: a **trend**, with the highest prices at the end.
# * The returns look like noise around zero: the average day moves the price by less than a tenth of its typical
#   daily move (the standard deviation). Big moves come in clusters.
# * Volume has spikes (days with big news, such as quarterly results) and drifts down over the years; nothing in it
#   obviously says where tomorrow's price goes.

# %% [markdown]
# ## 2 · Split by time, then scale with the training part only
#
# A forecaster is used on days that come *after* the data it was trained on, so we test it that way, in three parts
# in time order, never shuffled:
#
# * **train** (the first 70 % of the days): what the models learn from;
# * **validation** (the next 15 %): where we make every decision: when to stop training, which settings a baseline
#   uses, whether a model is worth keeping;
# * **test** (the last 15 %): scored **once**, at the end, in one table (section 9). A test score that was looked at
#   while deciding is no longer a test.
#
# Neural networks train best on inputs of order 1, so we rescale the prices. *Min-max scaling* maps the training
# prices to [0, 1]: $\tilde p = (p - p_{\min}) / (p_{\max} - p_{\min})$, where $p_{\min}$ and $p_{\max}$ come from
# the **training part only**: on the day we forecast, later prices are not known yet.

# %%
train_end, val_end = fc.split_points(len(close), train=0.70, val=0.15)
parts = {"train": slice(0, train_end), "validation": slice(train_end, val_end), "test": slice(val_end, None)}
for name, part in parts.items():
    span = dates[part]
    print(f"{name:<10}: {span[0].date()} … {span[-1].date()}  ({len(span):>4} days), "
          f"close ${close[part].min():6.2f} … ${close[part].max():6.2f}")

print(f"shares of the days: {train_end / len(close):.0%} train, {(val_end - train_end) / len(close):.0%} validation, "
      f"{1 - val_end / len(close):.0%} test")

price_scaler = fc.fit_scaler(close[:train_end], "minmax")
scaled_close = price_scaler.transform(close)
for name in ("validation", "test"):
    part = parts[name]
    print(f"{name} days above the highest training close: {100 * np.mean(close[part] > close[:train_end].max()):.0f} "
          f"%; scaled, they reach {scaled_close[part].max():.2f}")

# %% [markdown]
# Part of the validation days and every test day close higher than any training day: scaled, they lie above 1,
# outside the range [0, 1] the model is trained on. Remember this when we read the first results.

# %% [markdown]
# ## 3 · Cut the series into windows
#
# An LSTM reads a sequence and outputs one number. To train it we cut the series into pairs: a **window** of the last
# `window` values as input, and the value that comes right after it as the target. For a series $s_0, s_1, \dots$:
#
# $$X_i = (s_i, s_{i+1}, \dots, s_{i+\text{window}-1}), \qquad
#   y_i = (s_{i+\text{window}}, \dots, s_{i+\text{window}+\text{horizon}-1}).$$
#
# `horizon` is how many future values we forecast (1 for "tomorrow"). Keras wants `X` with shape
# (n windows, window, features), and `y` has shape (n windows, horizon). We name each window by the day it forecasts:
# `fc.windows_at(inputs, targets, window, days)` returns, for each day in `days`, the `window` days before it and that
# day's target. The first windows of a part read days of the previous part, which are in the past on the day we
# forecast: that is honest. Every part starts at day `WINDOW + 1`, so that the price windows and the return windows
# of section 6 forecast the same days.

# %%
WINDOW = 30  # trading days, about six weeks
FIRST = WINDOW + 1
train_days = np.arange(FIRST, train_end)
val_days = np.arange(train_end, val_end)
test_days = np.arange(val_end, len(close))
print(f"{len(train_days)} training, {len(val_days)} validation and {len(test_days)} test windows of {WINDOW} days")

# %% [markdown]
# ### Cut windows yourself (optional)
#
# Work out on paper what the series 0, 1, …, 7 gives with `window=3, horizon=2` before you write the code: how many
# windows, and what are the first and the last? The check cell prints them once your function passes.

# %% [markdown]
# #### Exercise 1 · cut a series into windows
#
# Write `make_windows(series, window, horizon=1)`: `series` has shape (time,) or (time, features); the target is
# column 0. The two classic bugs are a target that is off by one (the window's own last value) and a window that
# includes its target: the check below recognises both.

# %%
def make_windows(series, window, horizon=1):
    """Cut ``series`` (time,) or (time, features) into input windows and the values that follow each one.

    Returns (X, y): X of shape (n windows, window, features), y of shape (n windows, horizon), from column 0.
    """
    ### BEGIN SOLUTION
    values = np.asarray(series, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    n = len(values) - window - horizon + 1
    X = np.stack([values[i:i + window] for i in range(n)])
    y = np.stack([values[i + window:i + window + horizon, 0] for i in range(n)])
    return X, y
    ### END SOLUTION


# %%
passed = check_make_windows(make_windows)
make_windows = use_reference_if_needed(make_windows, passed, check_make_windows)

# %% [markdown]
# Your windows of the tiny series (shown only once the check passes, so that they do not give the answer away):

# %% tags=["nbval-check-output"]
if passed:
    toy_X, toy_y = make_windows(np.arange(8.0), window=3, horizon=2)
    print("X shape", toy_X.shape, " y shape", toy_y.shape)
    for i in range(len(toy_X)):
        print(f"X[{i}] = {toy_X[i, :, 0]}  ->  y[{i}] = {toy_y[i]}")
else:
    print("The windows of the series 0 … 7 appear here once your make_windows passes the check above.")

# %% [markdown]
# #### The same windows from Keras
#
# Keras cuts windows for you with `keras.utils.timeseries_dataset_from_array(data, targets, sequence_length)`: window
# $i$ is `data[i : i+sequence_length]` and its target is `targets[i]`. So we pass the series as `data` and the
# series shifted by `window` as `targets`. Let's check that it gives exactly your windows on the scaled prices, and
# that `fc.windows_at` does too:

# %%
hand_X, hand_y = make_windows(scaled_close, WINDOW)
keras_ds = keras.utils.timeseries_dataset_from_array(
    data=scaled_close[:-1, None], targets=scaled_close[WINDOW:], sequence_length=WINDOW, batch_size=256)
keras_X = np.concatenate([x for x, _ in keras_ds])
keras_y = np.concatenate([y for _, y in keras_ds])
print(f"by hand: X {hand_X.shape}, y {hand_y.shape};  Keras: X {keras_X.shape}, y {keras_y.shape}")
print("same windows:", np.allclose(hand_X, keras_X), "  same targets:", np.allclose(hand_y[:, 0], keras_y))

# %%
X_check, y_check = fc.windows_at(scaled_close, scaled_close, WINDOW, val_days)
X_ref, y_ref = make_windows(scaled_close[train_end - WINDOW:val_end], WINDOW)
print(f"fc.windows_at's validation windows equal make_windows': {np.allclose(X_check, X_ref) and np.allclose(y_check, y_ref)}")

# %% [markdown]
# Same windows, same targets. (`data=series[:-1, None]`: the `[:-1]` stops Keras from cutting a last window that has
# no target, and `None` adds the features axis.)

# %% [markdown]
# ## 4 · An LSTM forecaster (Exercise 2)
#
# The model is the lecture's LSTM with a one-number head: the input window goes through an `LSTM(32)` layer, whose
# last short-term memory $h_T$ (32 numbers) feeds a `Dense(1)` layer with no activation, the forecast. The loss is the
# mean squared error (MSE) on scaled values, minimised with Adam. **Early stopping** ends training when the loss on
# the validation windows has not improved for `patience` epochs, and restores the weights of the best epoch: the
# validation days, not the test days, decide when to stop.

# %% [markdown]
# ### Exercise 2 · build and train the LSTM forecaster
#
# `build_forecaster(window, n_features, units=32, horizon=1)`: an input of shape `(window, n_features)`, an LSTM with
# `units` units, a `Dense(horizon)` output with no activation (one number per future step: `horizon=1` for tomorrow,
# more in section 11); compile with Adam at learning rate 0.003 and the MSE loss; return the model.
#
# `train_forecaster(model, train_ds, val_ds, epochs, patience=5)`: fit on `train_ds` for at most `epochs` epochs,
# measuring the loss on `val_ds` after each one; stop early when the validation loss has not improved for `patience`
# epochs and keep the weights of the best epoch; `shuffle=False` (the dataset comes shuffled) and `verbose=0`; return
# the `History` that `fit` returns.
#
# The check runs your functions on models and data of its own and looks at what they do: the loss, Adam's first step,
# when training stops and which weights it keeps. Every LSTM below is built and trained by your two functions.

# %%
def build_forecaster(window, n_features, units=32, horizon=1):
    """A compiled Keras model: (batch, window, n_features) -> LSTM(units) -> Dense(horizon), Adam + MSE."""
    ### BEGIN SOLUTION
    model = keras.Sequential([
        keras.Input(shape=(window, n_features)),
        keras.layers.LSTM(units),
        keras.layers.Dense(horizon),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.003), loss="mse")
    return model
    ### END SOLUTION


def train_forecaster(model, train_ds, val_ds, epochs, patience=5):
    """Fit with early stopping on the validation loss (best weights restored); return the History."""
    ### BEGIN SOLUTION
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    return model.fit(train_ds, validation_data=val_ds, epochs=epochs, callbacks=[stop], shuffle=False, verbose=0)
    ### END SOLUTION


# %% tags=["nbval-ignore-output"]
passed = check_forecaster(build_forecaster, train_forecaster)
build_forecaster = use_reference_if_needed(build_forecaster, passed, check_forecaster)
train_forecaster = use_reference_if_needed(train_forecaster, passed, check_forecaster)

# %% [markdown]
# ### One training run is an anecdote: several random starts
#
# An LSTM starts from random weights and sees its training windows in a random order: trained again with another
# seed, the same code gives another model. A verdict about the *method* must hold for every start, not for one lucky
# run, so every LSTM below is trained from **three starts** (seeds) and the tables show each start.
#
# `fc.Starts` does the bookkeeping. Keras prepares a model's training step (traces it into a graph) the first time it
# trains, which takes longer than a short run; so `Starts` keeps one compiled model per input shape and, for each
# seed, gives it fresh weights drawn by your `build_forecaster`, resets its optimizer and trains it with your
# `train_forecaster`. Each start sets its own seed: the numbers below do not depend on what the code above drew from
# the random generators.

# %%
STARTS = course.seeds(3)  # the seeds of three independent starts
lstm = fc.Starts(build_forecaster, train_forecaster)

# %% [markdown]
# ### First attempt: an LSTM on scaled prices
#
# This is the textbook recipe: scaled prices in, tomorrow's scaled price out, at most 40 epochs (fewer in the quick
# run that CI makes of the student version).

# %% tags=["nbval-ignore-output"]
EPOCHS = course.epochs(40)
price_runs = lstm.train(STARTS, scaled_close, scaled_close, WINDOW, train_days, val_days, epochs=EPOCHS)
print(f"{price_runs.model.count_params():,} weights; epochs trained by each start: {price_runs.epochs}; best "
      "validation MSE (scaled): " + ", ".join(f"{min(h.history['val_loss']):.5f}" for h in price_runs.histories))

# %%
_ = plots.plot_learning_curves(price_runs.histories[0], "LSTM on scaled MSFT prices, first start: learning curves",
                               loss_label="MSE on scaled values", mark_best=True)
first_history = price_runs.histories[0].history
plots.show(plt.gcf(), alt="Learning curves of the LSTM on scaled MSFT prices (first start): training and validation "
                          f"MSE per epoch over {len(first_history['loss'])} epochs. Notice that the validation loss is "
                          f"lowest at epoch {int(np.argmin(first_history['val_loss'])) + 1} (the dotted line, whose "
                          "weights early stopping keeps) and does not improve after it.")

# %% [markdown]
# The training loss falls and stays low while the validation loss stops improving after a few epochs; early stopping
# ends the run and keeps the weights of the best validation epoch (the dotted line).
#
# Now the validation days, in dollars, against the simplest forecast of all, **persistence**: tomorrow's close =
# today's close.

# %%
X_val, y_val = fc.windows_at(close, close, WINDOW, val_days)  # windows in dollars
val_actual = y_val[:, 0].astype(float)  # the close of each validation day
val_today = fc.persistence(X_val)  # the close the day before: persistence's forecast
val_price_lstm = price_scaler.inverse_transform(price_runs.predict(price_scaler.transform(X_val)))  # (starts, days)
training_top = close[:train_end].max()
high = val_actual > training_top  # validation days above the training range
price_ratio = course.over_seeds([fc.mae(val_actual, f) / fc.mae(val_actual, val_today) for f in val_price_lstm],
                                unit="starts")
print(f"{len(val_days)} validation days, {high.sum()} above the highest training close; MAE: persistence "
      f"${fc.mae(val_actual, val_today):.2f}, the starts " + ", ".join(f"${fc.mae(val_actual, f):.2f}"
                                                                      for f in val_price_lstm))

# %%
ax = fc.plot_forecasts(dates[val_days], val_actual, {"persistence": val_today,
                                                     "LSTM on scaled prices, first start": val_price_lstm[0]},
                       "MSFT validation days: forecasts of the next close", "close (US$)")
ax.axhline(training_top, color="grey", ls=":", lw=1)
ax.annotate("highest training close", (dates[val_days[0]], training_top), xytext=(0, 4), textcoords="offset points",
            fontsize=8, color="grey")
plt.gcf().tight_layout()
plots.show(plt.gcf(), alt=f"Line chart of the MSFT close over the {len(val_days)} validation days, with the "
                          "next-close forecasts of persistence and of the LSTM on scaled prices (first start), and a "
                          f"dotted line at the highest training close, ${training_top:.2f}. Notice that persistence "
                          "follows the actual close closely, and the LSTM's forecast less so.")

# %% tags=["nbval-check-output"]
_ = course.claim_runs("on the validation days the LSTM on prices is far worse than persistence (MAE at least 1.5 "
                      "times larger) in every start", price_ratio, each=lambda ratio: ratio > 1.5)

# %% [markdown]
# Every start is far worse than "tomorrow = today", and most validation days lie above the highest training close.
# Can the network follow a price up there? Feed it windows that stay flat at one scaled level, from inside the
# training range (0 to 1) to far above it, and look at what it forecasts:

# %% tags=["nbval-check-output"]
levels = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])
flat_windows = np.repeat(levels[:, None, None], WINDOW, axis=1)  # window k: 30 days at levels[k]
flat_forecasts = price_runs.predict(flat_windows)  # (starts, levels)
print(pd.DataFrame(flat_forecasts.T, index=pd.Index(levels, name="flat window at scaled level"),
                   columns=[f"start {s} forecasts" for s in range(1, len(STARTS) + 1)]).round(2).to_string())
inside = flat_forecasts[:, 2] - flat_forecasts[:, 0]  # the rise from level 0 to 1, per unit of input
above = (flat_forecasts[:, -1] - flat_forecasts[:, 2]) / (levels[-1] - levels[2])  # from level 1 to 2.5
_ = course.claim_runs("above the training range each start's forecast rises at most 80 % as fast as inside it",
                      course.over_seeds(above / inside, unit="starts", fmt=".2f"), each=lambda ratio: ratio <= 0.8)

# %% [markdown]
# Inside the training range the forecast follows the level; above it, it rises ever more slowly. The LSTM's gates
# (sigmoids) and outputs (tanh) saturate for inputs far outside the range they were trained on, and nothing in
# training asked the network to map larger inputs to larger outputs: **a network does not extrapolate a trend it has
# not seen**. The test days reach much further above the training range (section 2 printed how far): expect a far
# larger error there.
#
# This is the most common failure of stock-price LSTM tutorials. The fix is to forecast something whose range does
# not drift: tomorrow's **return**, turned back into a price (section 6).

# %% [markdown]
# ## 5 · Baselines
#
# Before fixing the LSTM, we set up the yardsticks it must beat. Each takes the same windows:
#
# * **persistence**: $\hat p_{t} = p_{t-1}$;
# * **moving average** of the last $k$ closes: $\hat p_{t} = \frac1k (p_{t-k} + \dots + p_{t-1})$;
# * a **linear model** on the same 30-day window: $\hat p_t = w_1 p_{t-30} + \dots + w_{30} p_{t-1} + b$, fitted by
#   least squares on the training windows (the LSTM's linear rival: no hidden state, no nonlinearity).

# %% [markdown]
# ### Two warm-ups: the moving average and the metrics (optional)

# %% [markdown]
# #### Exercise 3 · the moving-average baseline
#
# `X` has shape (n windows, window, features); the target is column 0. Return one forecast per window, shape (n,).

# %%
def moving_average_forecast(X, k):
    """The mean of the last k values of column 0 of each window: (n, window, features) -> (n,)."""
    ### BEGIN SOLUTION
    return np.asarray(X, dtype=float)[:, -k:, 0].mean(axis=1)
    ### END SOLUTION


# %%
passed = check_moving_average(moving_average_forecast)
moving_average_forecast = use_reference_if_needed(moving_average_forecast, passed, check_moving_average)

# %% [markdown]
# #### Exercise 4 · evaluation metrics MAE, RMSE, MAPE
#
# With $e_t = \hat y_t - y_t$ the error on day $t$ and $n$ days:
#
# * **MAE** (mean absolute error) $= \frac1n \sum |e_t|$, in dollars: the typical miss;
# * **RMSE** (root mean squared error) $= \sqrt{\frac1n \sum e_t^2}$, in dollars: punishes big misses more;
# * **MAPE** (mean absolute percentage error) $= \frac{100}{n} \sum |e_t / y_t|$, in percent of the actual price.
#
# Return a dict with the keys `"MAE"`, `"RMSE"` and `"MAPE %"`.

# %%
def evaluate_forecast(y_true, y_pred):
    """MAE and RMSE (units of y) and MAPE (%) of the forecasts y_pred of y_true (1-D arrays of the same length)."""
    ### BEGIN SOLUTION
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    errors = y_pred - y_true
    return {
        "MAE": float(np.mean(np.abs(errors))),
        "RMSE": float(np.sqrt(np.mean(errors ** 2))),
        "MAPE %": float(100 * np.mean(np.abs(errors / y_true))),
    }
    ### END SOLUTION


# %%
passed = check_evaluate_forecast(evaluate_forecast)
evaluate_forecast = use_reference_if_needed(evaluate_forecast, passed, check_evaluate_forecast)

# %% [markdown]
# ### The moving average's $k$, chosen on validation
#
# Which $k$? That is a choice, so the validation days make it:

# %%
ma_val_mae = {k: fc.mae(val_actual, moving_average_forecast(X_val, k)) for k in (2, 5, 10, 20)}
MA_K = min(ma_val_mae, key=ma_val_mae.get)
print("validation MAE ($) by k: " + ", ".join(f"k={k}: {v:.3f}" for k, v in ma_val_mae.items()) + f"; chosen: k={MA_K}")


# %% [markdown]
# ## 6 · The fix: forecast tomorrow's return, then turn it into a price
#
# Log returns do not drift with the price level: training and later returns have the same range. We standardise them
# with the mean and standard deviation of the **training** returns, cut the same 30-day windows (the same target
# days as before), and train the same architecture, from the same three starts, to forecast tomorrow's standardised
# return $\hat r_t$. The price forecast is then $\hat p_t = p_{t-1}\, e^{\hat r_t}$.

# %% tags=["nbval-ignore-output"]
return_scaler = fc.fit_scaler(log_return[1:train_end], "standard")
scaled_return = return_scaler.transform(log_return)  # NaN on day 0, which no window uses (FIRST = WINDOW + 1)
return_runs = lstm.train(STARTS, scaled_return, scaled_return, WINDOW, train_days, val_days, epochs=EPOCHS)
val_targets = scaled_return[val_days]
constant_mse = np.mean(val_targets ** 2)  # always forecasting the average training return, 0 once standardised
best_mse = course.over_seeds([min(h.history["val_loss"]) / constant_mse for h in return_runs.histories],
                             unit="starts")
print(f"epochs trained by each start: {return_runs.epochs}; best validation MSE (standardised returns): "
      + ", ".join(f"{min(h.history['val_loss']):.3f}" for h in return_runs.histories))
print(f"for comparison, always forecasting the average training return scores {constant_mse:.3f}")

# %% tags=["nbval-check-output"]
_ = course.claim_runs("on the validation days, every start of the LSTM on returns is within 5 % of the constant "
                      "forecast's MSE", best_mse, each=lambda ratio: abs(ratio - 1) < 0.05)

# %% [markdown]
# On the validation days, every start forecasts tomorrow's return about as well as a constant, the average training
# return (0 in standardised units). What is that worth in dollars? The cell below turns every forecast into closes of
# the validation days (each start of each LSTM separately), next to the baselines, and plots the last 40 days.

# %%
def linear_forecasts(days):
    """The two linear models, fitted by least squares on the training windows, forecasting ``days``."""
    on_prices = fc.LinearWindowModel().fit(*fc.windows_at(close, close, WINDOW, train_days))
    on_returns = fc.LinearWindowModel().fit(*fc.windows_at(log_return, log_return, WINDOW, train_days))
    X_prices, _ = fc.windows_at(close, close, WINDOW, days)
    X_returns, _ = fc.windows_at(log_return, log_return, WINDOW, days)
    today = X_prices[:, -1, 0]
    return {"linear model, 30-day price window": on_prices.predict(X_prices),
            "linear model, 30-day return window": today * np.exp(on_returns.predict(X_returns))}


def lstm_on_returns(runs, days):
    """Each start's forecasts of the closes of ``days``: (starts, days), from its forecast of the return."""
    X_returns, _ = fc.windows_at(scaled_return, scaled_return, WINDOW, days)
    return close[days - 1] * np.exp(return_scaler.inverse_transform(runs.predict(X_returns)))


val_forecasts = {"persistence (tomorrow = today)": val_today,
                 f"moving average, last {MA_K} days": moving_average_forecast(X_val, MA_K),
                 **linear_forecasts(val_days),
                 **{f"LSTM on prices, start {s}": f for s, f in enumerate(val_price_lstm, 1)},
                 **{f"LSTM on returns, start {s}": f for s, f in enumerate(lstm_on_returns(return_runs, val_days), 1)}}
_ = fc.plot_forecasts(dates[val_days], val_actual, {"persistence": val_today,
                                                    "LSTM on returns, first start": val_forecasts["LSTM on returns, start 1"],
                                                    f"moving average ({MA_K})": val_forecasts[f"moving average, last {MA_K} days"]},
                      "MSFT, last 40 validation days: next-close forecasts", "close (US$)", last=40)
plt.gcf().tight_layout()
plots.show(plt.gcf(), alt="Line chart of the MSFT close over the last 40 validation days, with the next-close "
                          f"forecasts of persistence, the first start of the LSTM on returns and the {MA_K}-day moving "
                          "average. Notice that the LSTM on returns lies almost on top of persistence, which is the "
                          "actual close one day late, and the moving average trails a little further behind.")

# %% [markdown]
# The LSTM on returns lies almost on top of persistence, which is the actual close one day late. When two forecasts
# differ by a fraction of a cent, is the difference real, or would a few other days have tipped it the other way?
# That needs a test.

# %% [markdown]
# ## 7 · Is a difference real, or noise? (Exercise 5)
#
# Two habits make a comparison fair. **A ratio on the same days**: divide the model's MAE (or RMSE) by
# persistence's on exactly the same days, since a dollar error grows with the price level of its days. And **a paired
# test**: the **Diebold–Mariano (DM) test** asks whether two forecasts' average losses differ by more than the
# day-to-day noise of their difference. For every day take $d_t$ = the forecast's loss − the reference's loss (the
# absolute error $|\hat y_t - y_t|$, which MAE averages, or the squared error, which RMSE averages); then
#
# $$\text{DM} = \frac{\bar d}{\sqrt{\hat\sigma^2 / n}}, \qquad
#   \hat\sigma^2 = \frac{n}{n-1}\Big(\hat\gamma_0 + 2 \sum_{k=1}^{L} \Big(1 - \frac{k}{L+1}\Big)\, \hat\gamma_k\Big),
#   \qquad \hat\gamma_k = \frac1n \sum_{t=k+1}^{n} (d_t - \bar d)(d_{t-k} - \bar d),$$
#
# with $\bar d$ the mean of the $n$ daily differences and $\hat\gamma_k$ their autocovariance $k$ days apart. Errors
# on neighbouring days are related (big moves come in clusters, section 1), so the days are not independent evidence:
# the weighted sum over $L$ lags, the Newey–West (HAC) variance, counts that. By default $L = \lfloor n^{1/3}
# \rfloor$. If the two forecasts are equally good, DM follows Student's t distribution with $n-1$ degrees of freedom
# closely, so a two-sided p-value below 0.05 says the difference is more than noise; a negative DM means the
# forecast's loss is the lower one. With $L = 0$, DM is exactly the paired t-test on the daily losses.

# %% [markdown]
# ### Exercise 5 · the Diebold–Mariano test
#
# Write `diebold_mariano(actual, forecast, reference, loss, lags=None)`: `actual`, `forecast` and `reference` are 1-D
# arrays over the same days, `loss` a function of the errors (such as `np.abs` or `np.square`), `lags` the $L$ of the
# formula (`None`: the default). Return the pair (DM statistic, two-sided p-value); `stats.t.sf(x, df)` is Student's
# t upper tail, $P(T > x)$. Work step by step: $d_t$, its mean, the autocovariances, the variance, DM, p.

# %%
def diebold_mariano(actual, forecast, reference, loss, lags=None):
    """Diebold–Mariano test that ``forecast`` and ``reference`` have the same mean ``loss`` on the same days.

    Returns (DM statistic, two-sided p-value); a negative statistic means ``forecast``'s loss is the lower one.
    """
    ### BEGIN SOLUTION
    actual, forecast, reference = (np.asarray(a, dtype=float) for a in (actual, forecast, reference))
    d = loss(forecast - actual) - loss(reference - actual)
    n = len(d)
    lags = int(n ** (1 / 3)) if lags is None else lags
    e = d - d.mean()
    autocovariance = np.array([e[k:] @ e[:n - k] / n for k in range(lags + 1)])
    bartlett = 1 - np.arange(lags + 1) / (lags + 1)  # the Newey–West weights: 1 at lag 0, falling towards 0
    variance = (2 * bartlett @ autocovariance - autocovariance[0]) * n / (n - 1)
    statistic = d.mean() / np.sqrt(variance / n)
    return float(statistic), float(2 * stats.t.sf(abs(statistic), df=n - 1))
    ### END SOLUTION


# %%
passed = check_diebold_mariano(diebold_mariano)
diebold_mariano = use_reference_if_needed(diebold_mariano, passed, check_diebold_mariano)

# %% [markdown]
# The rule of this notebook: **a difference from persistence counts as a win (or a loss) only when both ratios (MAE
# and RMSE) are on that side of 1 and both DM p-values are below 0.05**; anything else is "no clear difference".
# `against_persistence` applies it with your `diebold_mariano`:

# %%
LOSSES = {"absolute error": np.abs, "squared error": np.square}  # what MAE and RMSE average


def against_persistence(actual, forecast, today):
    """A forecast and persistence (``today``) on the same days: MAEs, the ratios of MAE and RMSE (below 1: the
    forecast's error is smaller), the DM p-value in each loss, and the verdict: "win" or "loss" only when both ratios
    are on that side of 1 and both p-values are below 0.05, otherwise "no clear difference"."""
    mine, theirs = evaluate_forecast(actual, forecast), evaluate_forecast(actual, today)  # Exercise 4's metrics
    ratios = [mine["MAE"] / theirs["MAE"], mine["RMSE"] / theirs["RMSE"]]
    p = {name: diebold_mariano(actual, forecast, today, loss)[1] for name, loss in LOSSES.items()}
    clear = max(p.values()) < 0.05
    verdict = ("win" if clear and max(ratios) < 1 else "loss" if clear and min(ratios) > 1
               else "no clear difference")
    return {"days": len(actual), "MAE ($)": mine["MAE"], "persistence MAE ($)": theirs["MAE"], "MAE ratio": ratios[0],
            "RMSE ratio": ratios[1], **{f"DM p ({name})": value for name, value in p.items()}, "verdict": verdict}


def verdicts(rows):
    """``against_persistence`` for every entry of ``rows`` (name -> (actual, forecast, persistence)), as a table,
    with the share of days on which the forecast moved the same way as the close (direction)."""
    table = pd.DataFrame.from_dict({name: {**against_persistence(actual, forecast, today),
                                           "direction %": fc.directional_accuracy(today, actual, forecast)}
                                    for name, (actual, forecast, today) in rows.items()}, orient="index")
    table.index.name = "against persistence"
    return table


# %%
val_verdicts = verdicts({name: (val_actual, f, val_today) for name, f in val_forecasts.items()
                         if not name.startswith("persistence")})
val_verdicts.drop(columns="days").round(3)

# %% [markdown]
# That is the development picture, from the validation days only: the test days have not been looked at yet.

# %% [markdown]
# ## 8 · Pitfalls: leaks that make the test score look better, and one that fakes a win (optional)
#
# Three mistakes common in published stock-forecasting code. Each repeats one of our LSTMs with one leak, from the
# same three starts, and each start trains at most as many epochs as the same start of its honest run used: a
# leak's score cannot come from longer training. Section 9 scores them, each **against persistence on its own days**.
#
# 1. **Scaling on the full series** (LSTM on prices). The scaler sees the test prices: the test days still lie above
#    the training days' range, but much nearer to it (the cell prints both ranges), so the network has less far to
#    extrapolate. On the day of a real forecast, the future maximum is unknown.
# 2. **A shuffled split** (LSTM on prices). Windows are dealt at random into train / validation / test, so every
#    test day has training days right next to it, with almost the same values: the test measures memory of
#    neighbours, not forecasting.
# 3. **A smoothed input** (LSTM on returns). pandas' `rolling(5, center=True)` averages each day with the two days
#    *after* it: the smoothed value of day $t-1$ averages days $t-3 \dots t+1$, so the window that forecasts day $t$
#    contains day $t$'s return. Any feature of the target day itself (its open, high or low) does the same.

# %% tags=["nbval-ignore-output"]
# Leak 1: the scaler is fitted on the whole series (train + validation + test)
leaky_scaler = fc.fit_scaler(close, "minmax")
leaky_scaled = leaky_scaler.transform(close)
leak1_runs = lstm.train(STARTS, leaky_scaled, leaky_scaled, WINDOW, train_days, val_days, epochs=price_runs.epochs)
print(f"leak 1: epochs trained by each start {leak1_runs.epochs} (limits: {price_runs.epochs})")
for part, (lo, hi) in {"training": (0, train_end), "test": (val_end, len(close))}.items():
    print(f"  {part} closes scaled on all days: {leaky_scaled[lo:hi].min():.2f} … {leaky_scaled[lo:hi].max():.2f} "
          f"(honest scaler: {scaled_close[lo:hi].min():.2f} … {scaled_close[lo:hi].max():.2f})")

# %% tags=["nbval-ignore-output"]
# Leak 2: the windows of the whole period are dealt at random into train / validation / test
all_days = np.arange(FIRST, len(close))
shuffled_train, shuffled_val, shuffled_test = (all_days[i] for i in fc.shuffled_split(len(all_days),
                                                                                      seed=course.seed(0)))
leak2_runs = lstm.train(STARTS, scaled_close, scaled_close, WINDOW, shuffled_train, shuffled_val,
                        epochs=price_runs.epochs)
print(f"leak 2: epochs trained by each start {leak2_runs.epochs} (limits: {price_runs.epochs}); its test days are "
      f"spread over {dates[shuffled_test[0]].date()} … {dates[shuffled_test[-1]].date()}")

# %% tags=["nbval-ignore-output"]
# Leak 3: a second input, the returns smoothed by a centred 5-day moving average (days t-2 … t+2 for day t)
smoothed = pd.Series(log_return).rolling(5, center=True, min_periods=1).mean().to_numpy()
smooth_scaler = fc.fit_scaler(smoothed[:train_end], "standard")  # fitted on the training days, as it should be
two_inputs = np.column_stack([scaled_return, smooth_scaler.transform(smoothed)])  # (days, 2 features)
leak3_runs = lstm.train(STARTS, two_inputs, scaled_return, WINDOW, train_days, val_days, epochs=return_runs.epochs)
print(f"leak 3: epochs trained by each start {leak3_runs.epochs} (limits: {return_runs.epochs})")

# %% [markdown]
# ## 9 · The test period, scored once
#
# Every setup of this notebook, on the test days, once: the baselines (with the $k$ the validation days chose), the
# two honest LSTMs and the three leaks, each start on its own row, each against persistence on its own days (leak 2's
# test days are its shuffled ones). The verdict column applies the rule of section 7 with your `diebold_mariano`.

# %% tags=["nbval-ignore-output"]
X_test, y_test = fc.windows_at(close, close, WINDOW, test_days)
test_actual, test_today = y_test[:, 0].astype(float), fc.persistence(X_test)
X_leak2, y_leak2 = fc.windows_at(close, close, WINDOW, shuffled_test)
X_leak3, _ = fc.windows_at(two_inputs, scaled_return, WINDOW, test_days)
on_test = {f"moving average, last {MA_K} days": [moving_average_forecast(X_test, MA_K)],
           **{name: [f] for name, f in linear_forecasts(test_days).items()},
           "LSTM on prices": price_scaler.inverse_transform(price_runs.predict(price_scaler.transform(X_test))),
           "LSTM on returns": lstm_on_returns(return_runs, test_days),
           "leak 1: scaler fitted on all days":
               leaky_scaler.inverse_transform(leak1_runs.predict(leaky_scaler.transform(X_test))),
           "leak 3: centred moving average as input":
               test_today * np.exp(return_scaler.inverse_transform(leak3_runs.predict(X_leak3)))}
rows = {(name, s): (test_actual, f, test_today) for name, fs in on_test.items() for s, f in enumerate(fs, 1)}
leak2_actual, leak2_today = y_leak2[:, 0].astype(float), fc.persistence(X_leak2)
leak2_forecasts = price_scaler.inverse_transform(leak2_runs.predict(price_scaler.transform(X_leak2)))
rows.update({("leak 2: shuffled split", s): (leak2_actual, f, leak2_today) for s, f in enumerate(leak2_forecasts, 1)})
final = verdicts(rows)
final.index.names = ["setup", "start"]
up_days = 100 * np.mean(test_actual > test_today)
print(f"MSFT, {len(test_days)} test days ({dates[test_days[0]].date()} … {dates[test_days[-1]].date()}), the close "
      f"up on {up_days:.1f} % of them; leak 2's {len(shuffled_test)} test days are spread over all the years")
final.round(3)

# %% tags=["nbval-check-output"]
def over_starts(setup, column="MAE ratio"):
    """One number per start of a setup of the final table, for a verdict over starts."""
    return course.over_seeds(final.loc[setup, column], unit="starts")


def claim_verdicts(statement, setup, verdict):
    """A verdict over starts: it holds when every start of ``setup`` has ``verdict``; the MAE ratios are its spread."""
    agree = int((final.loc[setup, "verdict"] == verdict).sum())
    return course.claim(statement, agree == len(STARTS), f"{agree} of {len(STARTS)} starts; {over_starts(setup)}")


def direction_edge(forecast):
    """Paired bootstrap over the test days: the forecast's direction hit rate minus always saying "up"."""
    moved = test_actual != test_today
    hit = np.sign(forecast - test_today) == np.sign(test_actual - test_today)
    return course.paired_bootstrap(100 * (hit[moved].astype(float) - (test_actual > test_today)[moved]),
                                   units="test days", fmt="+.1f")


honest = final.drop(index=[name for name in final.index.unique("setup") if name.startswith("leak")], level="setup")
_ = course.claim("no honest forecast beats persistence on the test days by more than noise",
                 not (honest["verdict"] == "win").any(), f"verdicts: {honest['verdict'].value_counts().to_dict()}")
_ = claim_verdicts("every start of the LSTM on returns shows no clear difference from persistence",
                   "LSTM on returns", "no clear difference")
_ = course.claim_runs("and its MAE is within 2 % of persistence's in every start", over_starts("LSTM on returns"),
                      each=lambda ratio: abs(ratio - 1) < 0.02)
linear = honest.loc[["linear model, 30-day price window", "linear model, 30-day return window"], "MAE ratio"]
_ = course.claim("the two linear models are within 3 % of persistence's MAE", (abs(linear - 1) < 0.03).all(),
                 f"MAE ratios {linear.iloc[0]:.3f} and {linear.iloc[1]:.3f}")
average = final.loc[(f"moving average, last {MA_K} days", 1)]
_ = course.claim(f"the {MA_K}-day moving average loses to persistence by more than noise", average["verdict"] == "loss",
                 f"MAE ratio {average['MAE ratio']:.3f}, DM p {average['DM p (absolute error)']:.2g}")
_ = claim_verdicts("every start of the LSTM on prices loses to persistence by more than noise", "LSTM on prices",
                   "loss")
_ = course.claim_runs("its MAE is more than 3 times persistence's in every start", over_starts("LSTM on prices"),
                      each=lambda ratio: ratio > 3)
edges = {f"{setup}, start {s}": direction_edge(rows[setup, s][1]) for setup, s in honest.index
         if setup != "LSTM on prices"}
_ = course.claim("no honest forecast calls the direction of the next move more often than always saying 'up', by "
                 "more than noise", all(iv.low < 0 for iv in edges.values()),
                 "; ".join(f"{name}: {iv}" for name, iv in edges.items() if name.startswith("LSTM")))

# %% [markdown]
# **What the honest rows say.** (Read the numbers above first; these sentences describe them.)
#
# * **Persistence is the model to beat, and no honest forecast beats it by more than noise.** Forecasting returns
#   fixed the failure of the LSTM on prices (its MAE is several times persistence's in every start): every start of
#   the LSTM on returns is level with persistence, verdict "no clear difference". It has learned little more than
#   "tomorrow is about today". The two linear models (one row each: least squares has one answer, no random start)
#   land within a few per cent of persistence; with many p-values in one table, one below 0.05 can turn up by chance,
#   so read a borderline one with care.
# * The moving average is clearly worse: in a rising market, an average of past days lags behind.
# * **Direction:** no forecast calls the next move right more often than "always up" would, by more than noise (the
#   bracket prints the LSTM starts' intervals). No model here predicts where MSFT goes next.
#
# This is not a failure of the LSTM but a property of the data: daily stock returns are close to unpredictable from
# their own past (a *random walk*: tomorrow = today + noise), and then the best forecast of tomorrow is today.

# %% [markdown]
# ### What the leaks did (optional)
#
# The leak rows of the final table, start by start (section 8 explains each leak).

# %% tags=["nbval-check-output"]
leak_gain = course.over_seeds(final.loc["LSTM on prices", "MAE ratio"].to_numpy()
                              / np.maximum(final.loc["leak 1: scaler fitted on all days", "MAE ratio"].to_numpy(),
                                           final.loc["leak 2: shuffled split", "MAE ratio"].to_numpy()),
                              unit="starts", fmt=".1f")
_ = course.claim_runs("leaks 1 and 2 make the LSTM on prices look at least twice as good as its honest run (MAE "
                      "ratio, start by start)", leak_gain, each=lambda gain: gain >= 2)
_ = claim_verdicts("with leak 1 every start of the LSTM on prices still loses to persistence by more than noise",
                   "leak 1: scaler fitted on all days", "loss")
_ = claim_verdicts("and so does every start with leak 2", "leak 2: shuffled split", "loss")
_ = course.claim("persistence's MAE on leak 2's test days is lower than on the honest test days (lower prices)",
                 fc.mae(leak2_actual, leak2_today) < fc.mae(test_actual, test_today),
                 f"${fc.mae(leak2_actual, leak2_today):.2f} against ${fc.mae(test_actual, test_today):.2f}")
leak3 = "leak 3: centred moving average as input"
_ = claim_verdicts("leak 3 makes every start of the LSTM on returns appear to beat persistence", leak3, "win")
_ = course.claim_runs("by a wide margin: MAE ratio below 0.7 in every start", over_starts(leak3),
                      each=lambda ratio: ratio < 0.7)
_ = course.claim_runs("and it calls the direction of the next move right on more than 70 % of the test days",
                      over_starts(leak3, "direction %"), each=lambda share: share > 70)

# %% [markdown]
# **What the leak rows say.** Read each row against persistence on its own days, not against the other rows' dollars.
#
# * The leaky scaler and the shuffled split make the LSTM on prices look far better than its honest run (its MAE
#   ratio at least halves, start by start), yet it still **loses** to persistence, by more than noise. Dollar errors
#   alone would mislead: leak 2's test days are spread over all the years, mostly at lower prices, so even
#   persistence's MAE is lower on them than on the honest test days.
# * Leak 3 is the dangerous one. The LSTM on returns, which honestly shows no clear difference from persistence, now
#   **appears to beat it** in every start, by a wide margin and with tiny p-values: a "win" by this notebook's own
#   rule, and a direction hit rate no real forecaster of stock prices has. It is the smoothed input handing the model
#   part of the return it forecasts.
#
# A paired test tells you whether a difference is more than noise, not whether it is honest. What catches a leak is
# asking, for every input, on which day it becomes known, and distrust of any model that beats a random walk by a wide
# margin: **split by time first, fit every statistic on the past part only, and compute every input from days before
# the one forecast** (a trailing `rolling(5)`, never `center=True`).

# %% [markdown]
# ## 10 · A series an LSTM can learn: sea temperature off Peru (optional)
#
# "Apply LSTM on other sequential datasets" is one of the lecture's objectives, and stock prices are a hard place to
# see an LSTM learn anything. So we run **the same pipeline** on a real series with structure: the monthly mean
# sea-surface temperature of the *Niño 1+2* region of the Pacific (off Ecuador and Peru), January 1950 … December
# 2010, measured by NOAA (bundled with the course; see `data/README.md`). It has a strong yearly cycle, and El Niño
# years push it up irregularly.

# %%
sst = data.load_elnino()
fig, ax = plt.subplots(figsize=(8, 3))
ax.plot(sst.index, sst.to_numpy())
ax.set(title="Niño 1+2 monthly sea-surface temperature", xlabel="month", ylabel="temperature (°C)")
print(f"{len(sst)} months, {sst.index[0]:%Y-%m} … {sst.index[-1]:%Y-%m}; "
      f"{sst.min():.1f} … {sst.max():.1f} °C, no missing months: {not sst.isna().any()}")
plots.show(fig, alt=f"Line chart of the Niño 1+2 monthly mean sea-surface temperature, {sst.index[0]:%Y-%m} to "
                    f"{sst.index[-1]:%Y-%m}, between {sst.min():.1f} and {sst.max():.1f} °C. Notice the strong yearly "
                    "cycle, and the El Niño years that push the temperature up irregularly.")

# %% [markdown]
# `fc.one_step_experiment` runs the steps of this notebook in one call: chronological 70/15/15 split, scaler fitted
# on the training months, windows of 24 months, the LSTM(32) trained from the same three starts by your
# `build_forecaster` and `train_forecaster` (at most 100 epochs, early stopping after 8 without improvement), and the
# baselines on the same test months, scored once. Since the series is seasonal, it adds the **seasonal naive**
# forecast, "same as twelve months ago", the classic baseline for a yearly cycle.

# %% tags=["nbval-ignore-output"]
SST_WINDOW = 24
SST_EPOCHS = course.epochs(100)
sst_run = fc.one_step_experiment(sst, SST_WINDOW, lstm, STARTS, epochs=SST_EPOCHS, patience=8, season=12,
                                 unit="°C", batch_size=32)
print(f"epochs trained by each start: {sst_run.runs.epochs} (limit {SST_EPOCHS}); test: {sst_run.test_index[0]:%Y-%m} "
      f"… {sst_run.test_index[-1]:%Y-%m} ({len(sst_run.actual)} months); {sst_run.splits[0] - SST_WINDOW} training "
      f"windows, {sst_run.runs.model.count_params():,} LSTM weights")
sst_run.table

# %% [markdown]
# Each start of the LSTM against each baseline on the same test months: the ratio of MAEs (below 1: the LSTM's error
# is the smaller one) and the DM p-value in absolute error.

# %% tags=["nbval-ignore-output"]
sst_baselines = ["persistence", "seasonal naive (12)", "linear, same window"]
sst_pairs = pd.DataFrame(
    {(name, column): [value(lstm_forecast, sst_run.forecasts[name]) for lstm_forecast in sst_run.forecasts["LSTM"]]
     for name in sst_baselines
     for column, value in (("MAE ratio", lambda f, b: fc.mae(sst_run.actual, f) / fc.mae(sst_run.actual, b)),
                           ("DM p", lambda f, b: diebold_mariano(sst_run.actual, f, b, np.abs)[1]))},
    index=pd.Index(range(1, len(STARTS) + 1), name="LSTM start"))
sst_pairs.round(3)

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
plots.plot_learning_curves(sst_run.runs.histories[0], "Niño 1+2 LSTM, first start: learning curves", ax=axes[0],
                           loss_label="MSE on scaled values", mark_best=True)
fc.plot_forecasts(sst_run.test_index, sst_run.actual,
                  {"persistence": sst_run.forecasts["persistence"], "LSTM, first start": sst_run.forecasts["LSTM"][0]},
                  "Niño 1+2 test months: next-month forecasts", "temperature (°C)", ax=axes[1])
fig.tight_layout()
sst_history = sst_run.runs.histories[0].history
plots.show(fig, alt="Two charts. Left, learning curves of the first start of the Niño 1+2 LSTM: training and "
                    f"validation MSE per epoch over {len(sst_history['loss'])} epochs, the training loss going from "
                    f"{sst_history['loss'][0]:.4f} to {sst_history['loss'][-1]:.4f}, with a dotted line at the best "
                    "validation epoch. Right, the actual temperature over the test months with the next-month "
                    "forecasts of persistence and of the LSTM's first start, the legend below the chart. Notice that "
                    "persistence is the actual curve shifted one month later, so it misses each turn of the cycle by "
                    "a month, while the LSTM's forecast turns with the actual temperature.")

# %% tags=["nbval-check-output"]
def sst_runs(name, column):
    return course.over_seeds(sst_pairs[(name, column)], unit="starts")


_ = course.claim_runs("on the sea temperature every start's test MAE is at most 60 % of persistence's",
                      sst_runs("persistence", "MAE ratio"), each=lambda ratio: ratio <= 0.6)
_ = course.claim_runs("and at most 75 % of the seasonal naive forecast's", sst_runs("seasonal naive (12)", "MAE ratio"),
                      each=lambda ratio: ratio <= 0.75)
_ = course.claim_runs("both differences pass the DM test in every start (p below 0.05)",
                      course.over_seeds(np.maximum(sst_pairs[("persistence", "DM p")],
                                                   sst_pairs[("seasonal naive (12)", "DM p")]), unit="starts",
                                        fmt=".2g"), each=lambda p: p < 0.05)
linear_pairs = zip(sst_pairs[("linear, same window", "MAE ratio")], sst_pairs[("linear, same window", "DM p")],
                   strict=True)
_ = course.claim("no start beats the linear model on the same window by more than noise",
                 not any(ratio < 1 and p < 0.05 for ratio, p in linear_pairs),
                 f"MAE ratio to the linear model: {sst_runs('linear, same window', 'MAE ratio')}")
_ = course.claim_runs("early stopping ended every start before its epoch limit",
                      course.over_seeds(sst_run.runs.epochs, unit="starts", fmt=".0f"),
                      each=lambda epochs: epochs < SST_EPOCHS)

# %% [markdown]
# **What the tables say.** Here the LSTM learns real structure: in every start its test MAE is well below that of
# persistence and of the seasonal naive forecast, by more than noise, because it combines the season (read from the
# shape of the last 24 months) with the current anomaly. But it does **not beat the linear model on the same
# window**: no start is ahead of it by more than noise (the p-values in the table say, start by start, whether the
# linear model's lead is more than noise). Most of this series' structure is linear (a cycle plus slowly fading
# anomalies), and a few hundred training windows (the number is printed above) are few for the LSTM's 4,385 weights.
# In the right-hand plot, persistence is the actual curve shifted one month later, so it misses each turn of the cycle
# by a month; the LSTM's forecast turns with the actual temperature. An LSTM earns its cost when the structure is
# nonlinear and data are plentiful; the baseline table is how you find out.

# %% [markdown]
# ## 11 · Several steps ahead: recursive vs direct (optional)
#
# To forecast $H$ months ahead there are two strategies:
#
# * **recursive**: use the one-step model $H$ times, each time appending its own forecast to the window as if it were
#   an observation (errors feed on themselves);
# * **direct**: train one model whose output layer has $H$ units, one per horizon, on targets $y_i = (s_{i+w}, \dots,
#   s_{i+w+H-1})$ (`make_windows(..., horizon=H)`).
#
# We compare both on the Niño 1+2 test months for $H = 12$, each LSTM from the same three starts, with persistence
# ("all future months = this month"), seasonal naive ("each future month = the same month last year") and a direct
# linear model as references. The recursive strategy is a short loop around any one-step forecaster:

# %%
def recursive_forecast(predict_one, X, horizon):
    """Forecast `horizon` steps from each window of X (n, window, 1): forecast one step, append it to the window as
    its newest value, drop the oldest, repeat. predict_one: windows -> next values (n,). Returns (n, horizon)."""
    forecasts = []
    for _ in range(horizon):
        step = predict_one(X)
        forecasts.append(step)
        X = np.concatenate([X[:, 1:], step[:, None, None]], axis=1)
    return np.stack(forecasts, axis=1)


# %% tags=["nbval-ignore-output"]
H = 12
sst_values = sst.to_numpy(dtype=float)
sst_train_end, sst_val_end = sst_run.splits
scaled_sst = sst_run.scaler.transform(sst_values)
targets_H = data.horizon_targets(scaled_sst, H)  # row t: months t … t+H-1
origins = np.arange(sst_val_end, len(sst_values) - H + 1)  # test months whose whole horizon is known

direct_runs = lstm.train(STARTS, scaled_sst, targets_H, SST_WINDOW, np.arange(SST_WINDOW, sst_train_end - H + 1),
                         np.arange(sst_train_end, sst_val_end - H + 1), epochs=SST_EPOCHS, patience=8, batch_size=32)
print(f"direct LSTM: epochs trained by each start {direct_runs.epochs}")

# %% tags=["nbval-ignore-output"]
X_origin, Y_future = fc.windows_at(scaled_sst, targets_H, SST_WINDOW, origins)
truth = sst_run.scaler.inverse_transform(Y_future)
windows_c = sst_run.scaler.inverse_transform(X_origin[:, :, 0])
X_train_H, Y_train_H = fc.windows_at(sst_values, data.horizon_targets(sst_values, H), SST_WINDOW,
                                     np.arange(SST_WINDOW, sst_train_end - H + 1))
multi = {  # name -> forecasts (origins, H), or (starts, origins, H) for the LSTMs
    "LSTM, recursive": sst_run.scaler.inverse_transform(np.stack([
        recursive_forecast(lambda X, s=s: sst_run.runs.predict(X, start=s), X_origin, H) for s in range(len(STARTS))])),
    "LSTM, direct": sst_run.scaler.inverse_transform(direct_runs.predict(X_origin)),
    "linear, direct": fc.LinearWindowModel().fit(X_train_H, Y_train_H).predict(windows_c),
    "persistence": np.repeat(windows_c[:, -1:], H, axis=1),
    "seasonal naive": np.stack([windows_c[:, -12 + h % 12] for h in range(H)], axis=1),
}
errors = {name: np.abs(forecast - truth) for name, forecast in multi.items()}  # (…, origins, H)
horizon_mae = pd.DataFrame({(f"{name} (mean of the starts)" if error.ndim == 3 else name):
                            error.mean(axis=-2).mean(axis=0) if error.ndim == 3 else error.mean(axis=0)
                            for name, error in errors.items()}, index=pd.RangeIndex(1, H + 1, name="months ahead"))
print(f"{len(origins)} forecast origins in the test period; MAE (°C) by horizon:")
horizon_mae.T.round(2)

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
colour = {name: f"C{i}" for i, name in enumerate(errors)}  # the same colour for a forecast in both panels
for ax, names in zip(axes, (list(errors), [name for name in errors if name != "persistence"]), strict=True):
    for name in names:
        error = errors[name]
        if error.ndim == 3:  # the LSTM's starts: their mean, and the band from the best start to the worst
            by_start = error.mean(axis=1)
            ax.plot(horizon_mae.index, by_start.mean(axis=0), "-o", ms=4, color=colour[name],
                    label=f"{name} (mean and range of the starts)")
            ax.fill_between(horizon_mae.index, by_start.min(axis=0), by_start.max(axis=0), alpha=0.2,
                            color=colour[name])
        else:
            ax.plot(horizon_mae.index, error.mean(axis=0), "--", color=colour[name], label=name)
    ax.set(xlabel="months ahead", ylabel="MAE (°C)", xticks=range(1, H + 1))
axes[0].set_title("Niño 1+2: test error against forecast horizon")
axes[1].set_title("the same without persistence, whose scale hides the others")
fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=8, frameon=False)
fig.tight_layout(rect=(0, 0.12, 1, 1))
plots.show(fig, alt=f"Two line charts of test MAE in °C against the forecast horizon, 1 to {H} months ahead. Left, "
                    "all five forecasts: persistence's error rises to a peak at six months, far above the others, "
                    "and falls back at twelve. Right, the same without persistence, on a scale that shows the others: "
                    "the recursive and the direct LSTM (the mean of the three starts, with a shaded band from the "
                    "best start to the worst), the direct linear model and the seasonal naive forecast. Notice that "
                    "at one month the recursive LSTM and the linear model are far below the direct LSTM, and that "
                    "from a few months on all the learned models level off near the seasonal naive forecast.")

# %% [markdown]
# Reading a plot of averages ranks nothing: each claim below compares two forecasts on the same origins with your
# `diebold_mariano`. Forecasts for several months ahead from neighbouring origins share most of their future, so
# their errors are correlated over up to $H - 1$ origins: for an error averaged over horizons we use $L = H - 1$ lags.

# %% tags=["nbval-check-output"]
def dm_of_losses(loss_a, loss_b, lags=None):
    """Diebold–Mariano on two series of per-origin losses, compared as they are (the loss function is the identity)."""
    return diebold_mariano(np.zeros(len(loss_a)), loss_a, loss_b, lambda loss: loss, lags)


def per_start(name):
    """The errors of each start (starts, origins, H) of an LSTM, or the one forecast's errors as a single 'start'."""
    return errors[name] if errors[name].ndim == 3 else errors[name][None]


month_one = course.over_seeds([dm_of_losses(r[:, 0], d[:, 0])[0] for r, d in zip(per_start("LSTM, recursive"),
                                                                                   per_start("LSTM, direct"),
                                                                                   strict=True)],
                              unit="starts", fmt=".1f")
_ = course.claim_runs("at one month ahead the recursive LSTM beats the direct one, start by start, by more than "
                      "noise (DM below −1.96)", month_one, each=lambda dm: dm < -1.96)
later = slice(3, H)  # 4 … 12 months ahead
versus_seasonal = [dm_of_losses(e[:, later].mean(axis=1), errors["seasonal naive"][:, later].mean(axis=1), lags=H - 1)
                   for name in ("LSTM, recursive", "LSTM, direct") for e in per_start(name)]
_ = course.claim("beyond three months no LSTM start is behind the seasonal naive forecast by more than noise",
                 not any(dm > 0 and p < 0.05 for dm, p in versus_seasonal),
                 "DM of the recursive and the direct starts against it: " + ", ".join(f"{dm:+.1f} (p {p:.2f})"
                                                                                      for dm, p in versus_seasonal))
versus_linear = [dm_of_losses(e[:, h], errors["linear, direct"][:, h])
                 for name in ("LSTM, recursive", "LSTM, direct") for e in per_start(name) for h in (0, 1)]
_ = course.claim("at one and two months no LSTM start beats the direct linear model by more than noise",
                 not any(dm < 0 and p < 0.05 for dm, p in versus_linear),
                 f"lowest DM {min(dm for dm, _ in versus_linear):+.1f}")
_ = course.claim("persistence is worst at six months ahead and recovers by twelve (error at most half)",
                 horizon_mae["persistence"].idxmax() == 6
                 and horizon_mae.loc[12, "persistence"] <= horizon_mae.loc[6, "persistence"] / 2)

# %% [markdown]
# **What the tests say.** At one month ahead the recursive LSTM is clearly ahead of the direct one in every start:
# its one-step model is trained for exactly that step, while the direct model shares its 32 units among twelve
# horizons. Beyond three months the current anomaly is mostly forgotten and the season is what is left to forecast:
# no LSTM start is behind the seasonal naive forecast by more than noise, and their leads over it are small (the
# printed DM statistics say, start by start, which lead is more than noise). At one and two months no LSTM start beats
# the direct linear model. Persistence is worst at six months, when the cycle is at its opposite phase, and recovers
# at twelve. Which strategy wins depends on the series, the model and the horizon: measure it, with a test, as here.

# %% [markdown]
# ## Key takeaways
#
# * **Split by time, scale with the past only, build every input from earlier days.** A statistic fitted on the test
#   part flatters the test score; an input that reads the target day fakes a win a paired test cannot catch.
# * **Decide on validation, score the test once**, in one table.
# * **One training run is an anecdote**: train from several starts and state only what holds for every start.
# * **An LSTM on raw prices cannot follow prices above its training range**: forecast returns and convert back.
# * **Compare with persistence, a moving average and a linear model** on the same days, as a ratio, and test whether a
#   difference is more than noise (Diebold–Mariano, with a HAC variance for errors that cluster in time). On MSFT
#   no forecast beats persistence by more than noise: daily prices are close to a random walk. On the sea temperature the
#   LSTM is far ahead of persistence, and a linear model is level with it.
# * Get the windows' alignment right first (the target after the window, never inside it).

# %% [markdown]
# ## Further reading (optional)
#
# * The lecture's videos: [Recurrent neural networks, clearly explained](https://www.youtube.com/watch?v=AsNTP8Kwu80)
#   and [IBM: what is an LSTM?](https://www.youtube.com/watch?v=b61DPVFX03I).
# * TensorFlow tutorial [Time series forecasting](https://www.tensorflow.org/tutorials/structured_data/time_series):
#   windowing, baselines, single-shot (direct) and autoregressive (recursive) models on weather data.
# * R. J. Hyndman and G. Athanasopoulos, *Forecasting: Principles and Practice* (3rd ed.),
#   [otexts.com/fpp3](https://otexts.com/fpp3/): simple benchmark methods (naive, seasonal naive, drift) and
#   time-series cross-validation.
# * F. X. Diebold and R. S. Mariano, "Comparing predictive accuracy", *Journal of Business & Economic Statistics*
#   (1995): the test of section 7.
# * Keras API: [`timeseries_dataset_from_array`](https://keras.io/api/data_loading/timeseries/) and
#   [`EarlyStopping`](https://keras.io/api/callbacks/early_stopping/).
#
# ## Your progress

# %%
_ = progress()
