# %% [markdown]
# # 08 · Class exercise 2: forecasting stock prices with an LSTM, honestly
# <!-- summary: windows, splits and scaling without leaks; an LSTM forecaster judged against persistence, moving-average and linear baselines; leaks that fake a win, called by a Diebold–Mariano test; multi-step forecasts -->
# <!-- facts: 0.01 1 1.96 -->
#
# The lecture's running example is a model that "looks at the sequential data of the stock market for a given
# company and predicts the next day's stock price". In this class exercise you build that model, train it, and, most
# important of all, **judge** it: against forecasts so simple that they need no training at all.
#
# **Learning objectives.** After this notebook you can
#
# 1. look at a price series before modelling it (price, log returns, volume);
# 2. split a time series by time (train / validation / test) and fit the scaler on the training part only;
# 3. cut a series into (window, next value) pairs by hand, and with `keras.utils.timeseries_dataset_from_array`;
# 4. build and train an LSTM forecaster with early stopping, and read its learning curves;
# 5. compare it, on the same test days and in dollars, with persistence, a moving average and a linear model, and
#    call a difference a win only when a paired test (Diebold–Mariano) says it is more than noise;
# 6. explain why an LSTM trained on raw prices fails on new highs, and fix it by forecasting returns;
# 7. forecast several steps ahead, recursively or directly, and see how the error grows with the horizon;
# 8. recognise three leaks that make a test score look better than it is, one of which fakes a win;
# 9. apply the same pipeline to another real series, where the LSTM does learn something.
#
# **Exercises** (each with a check cell): 1 · cut windows, 2 · build and train the LSTM, 3 · a moving-average
# baseline, 4 · the evaluation metrics.

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
from utils.checks.forecasting import (check_evaluate_forecast, check_forecaster, check_make_windows,
                                      check_moving_average)

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
#
# Keep these three facts in mind: they decide which models can work.

# %% [markdown]
# ## 2 · Split by time, then scale with the training part only
#
# A forecaster is used on days that come *after* the data it was trained on, so we test it that way: the first 70 %
# of the days train the model, the next 15 % (**validation**) decide when to stop training, and the last 15 %
# (**test**) are touched only once, for the final comparison. No shuffling.
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
above = np.mean(close[val_end:] > close[:train_end].max())
print(f"\nScaled test prices lie between {scaled_close[val_end:].min():.2f} and {scaled_close[val_end:].max():.2f}; "
      f"{100 * above:.0f} % of the test days close above the highest training price.")

# %% [markdown]
# Every test price is higher than any price the model will see in training: scaled, they lie above 1, outside the
# range [0, 1] of the training data. Remember this when we read the first results.

# %% [markdown]
# ## 3 · Cut the series into windows (Exercise 1)
#
# An LSTM reads a sequence and outputs one number. To train it we cut the series into pairs: a **window** of the last
# `window` values as input, and the value that comes right after it as the target. For a series $s_0, s_1, \dots$:
#
# $$X_i = (s_i, s_{i+1}, \dots, s_{i+\text{window}-1}), \qquad
#   y_i = (s_{i+\text{window}}, \dots, s_{i+\text{window}+\text{horizon}-1}).$$
#
# `horizon` is how many future values we forecast (1 for "tomorrow"). Keras wants `X` with shape
# (n windows, window, features) and we use `y` with shape (n windows, horizon). A series of length $T$ gives
# $n = T - \text{window} - \text{horizon} + 1$ windows. Work out on paper what the series 0, 1, …, 7 gives with
# `window=3, horizon=2` before you write the code: how many windows, and what are the first and the last? The
# check cell prints them once your function passes.

# %% [markdown]
# ### Exercise 1 · write `make_windows`
#
# Write it yourself: `series` has shape (time,) or (time, features); the target is column 0. The two classic bugs
# are a target that is off by one (the window's own last value) and a window that includes its target: the check
# below recognises both.

# %%
def make_windows(series, window, horizon=1):
    """Return (X, y): X[i] = series[i : i+window] (n, window, features), y[i] = series[i+window : i+window+horizon, 0]
    (n, horizon), with n = len(series) - window - horizon + 1."""
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
# ### The same windows from Keras
#
# Keras cuts windows for you with `keras.utils.timeseries_dataset_from_array(data, targets, sequence_length)`: window
# $i$ is `data[i : i+sequence_length]` and its target is `targets[i]`. So we pass the series as `data` and the
# series shifted by `window` as `targets`. Let's check that it gives exactly our windows on the scaled prices (with
# `window = 30` trading days, about six weeks):

# %%
WINDOW = 30
hand_X, hand_y = make_windows(scaled_close, WINDOW)
keras_ds = keras.utils.timeseries_dataset_from_array(
    data=scaled_close[:-1, None], targets=scaled_close[WINDOW:], sequence_length=WINDOW, batch_size=256)
keras_X = np.concatenate([x for x, _ in keras_ds])
keras_y = np.concatenate([y for _, y in keras_ds])
print(f"by hand: X {hand_X.shape}, y {hand_y.shape};  Keras: X {keras_X.shape}, y {keras_y.shape}")
print("same windows:", np.allclose(hand_X, keras_X), "  same targets:", np.allclose(hand_y[:, 0], keras_y))

# %% [markdown]
# Same windows, same targets. (`data=series[:-1, None]`: the `[:-1]` stops Keras from cutting a last window that has
# no target, and `None` adds the features axis.)
# From now on two helpers cut the windows. `data.window_arrays(inputs, targets, window, first, last)` returns, as
# NumPy arrays, the windows whose **target** day lies in `[first, last)`, and `fc.window_dataset` with the same
# arguments gives them as a batched `tf.data` dataset for `fit`. A window's inputs may reach back into the
# previous part (the first test windows read validation days, which are in the past on the day we forecast, so that
# is honest). Training windows are reshuffled every epoch; validation and test windows keep their order.
#
# We start every part at day `WINDOW + 1` so that the price windows here and the return windows of section 6 cover
# the same target days.

# %%
FIRST = WINDOW + 1
BATCH = 128
train_ds = fc.window_dataset(scaled_close, scaled_close, WINDOW, FIRST, train_end, batch_size=BATCH, shuffle=True)
val_ds = fc.window_dataset(scaled_close, scaled_close, WINDOW, train_end, val_end, batch_size=BATCH)
X_val_check, y_val_check = fc.dataset_arrays(val_ds)
X_ref, y_ref = make_windows(scaled_close[train_end - WINDOW:val_end], WINDOW)
print(f"{sum(len(y) for _, y in train_ds)} training windows, {len(y_val_check)} validation windows; "
      f"validation windows equal make_windows': {np.allclose(X_val_check, X_ref) and np.allclose(y_val_check, y_ref)}")

# %% [markdown]
# ## 4 · An LSTM forecaster (Exercise 2)
#
# The model is the lecture's LSTM with a one-number head: the input window goes through an `LSTM(32)` layer, whose
# last short-term memory $h_T$ (32 numbers) feeds a `Dense(1)` layer with no activation, the forecast. The loss is the
# mean squared error (MSE) on scaled values, minimised with Adam.
#
# **Early stopping**: after each epoch Keras measures the loss on the validation windows; when it has not improved
# for `patience` epochs, training stops and the weights of the best epoch are restored. The validation set, not the
# test set, decides when to stop.

# %% [markdown]
# ### Exercise 2 · build and train the forecaster
#
# `build_forecaster(window, n_features, units=32, horizon=1)`: `keras.Input(shape=(window, n_features))`, an
# `LSTM(units)`, a `Dense(horizon)` (one output per future step: `horizon=1` for tomorrow, more in section 9);
# compile with `keras.optimizers.Adam(learning_rate=0.003)` and `loss="mse"`; return the model. Every LSTM in this
# notebook is built by your `build_forecaster` and, but for one leak demo in section 7, trained by your
# `train_forecaster`.
#
# `train_forecaster(model, train_ds, val_ds, epochs, patience=5)`: fit with `validation_data=val_ds`, an
# `EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)` callback, `shuffle=False`
# (the dataset is already shuffled) and `verbose=0`; return the `History` that `fit` returns.

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
# ### First attempt: an LSTM on scaled prices
#
# This is the textbook recipe: scaled prices in, tomorrow's scaled price out. (At most 40 epochs; fewer in the quick
# run that CI makes of the student version.)

# %% tags=["nbval-ignore-output"]
EPOCHS = course.epochs(40)
price_model = build_forecaster(WINDOW, 1)
price_model.summary()
price_history = train_forecaster(price_model, train_ds, val_ds, EPOCHS)
print(f"trained {len(price_history.epoch)} epochs; best validation MSE "
      f"{min(price_history.history['val_loss']):.5f} (scaled units)")

# %%
_ = plots.plot_learning_curves(price_history, "LSTM on scaled MSFT prices: learning curves",
                              loss_label="MSE on scaled values", mark_best=True)
plots.show(plt.gcf(), alt="Learning curves of the LSTM on scaled MSFT prices: training and validation MSE per epoch "
                          f"over {len(price_history.epoch)} epochs, with a dotted line at the best validation epoch, "
                          "whose weights early stopping keeps. Notice that the training loss goes from "
                          f"{price_history.history['loss'][0]:.5f} to {price_history.history['loss'][-1]:.5f}, while "
                          "the validation loss is lowest at epoch "
                          f"{int(np.argmin(price_history.history['val_loss'])) + 1} and does not improve after it.")

# %% [markdown]
# In the curves, the training loss falls and stays low while the validation loss stops improving after a few epochs;
# early stopping ends the run and keeps the weights of the best validation epoch (the dotted line).
#
# Now the test days. For every test day we have its window (the 30 closes before it), the actual close, and
# forecasts. The simplest forecast of all is **persistence**: tomorrow's close = today's close.

# %%
X_test, y_test = data.window_arrays(close, close, WINDOW, val_end, len(close))  # windows in dollars
actual = y_test[:, 0].astype(float)  # the close of each test day
today = fc.persistence(X_test)  # the close the day before: persistence's forecast
lstm_on_prices = price_scaler.inverse_transform(fc.predict(price_model, price_scaler.transform(X_test)))
test_dates = dates[val_end:]

print(f"{len(actual)} test days, {test_dates[0].date()} … {test_dates[-1].date()}")
print(f"mean absolute error, LSTM on prices: ${fc.mae(actual, lstm_on_prices):.2f}")
print(f"mean absolute error, persistence:    ${fc.mae(actual, today):.2f}")
print(f"test days on which the LSTM's forecast is below the actual close: {100 * np.mean(lstm_on_prices < actual):.0f} %")

# %%
_ = fc.plot_forecasts(test_dates, actual, {"LSTM on scaled prices": lstm_on_prices, "persistence": today},
                      "MSFT test period: forecasts of the next close", "close (US$)")
plots.show(plt.gcf(), alt=f"Line chart of the actual MSFT close over the {len(actual)} test days, with the next-close "
                          "forecasts of the LSTM on scaled prices and of persistence. Notice that persistence follows "
                          "the actual close closely, while the LSTM's forecast stays below the actual close on "
                          f"{100 * np.mean(lstm_on_prices < actual):.0f} % of the test days.")

# %% tags=["nbval-check-output"]
_ = course.claim("the LSTM on prices is far worse than persistence (MAE more than 3 times larger)",
                 fc.mae(actual, lstm_on_prices) > 3 * fc.mae(actual, today))
_ = course.claim("its forecasts stay below the actual close on at least 9 test days in 10",
                 np.mean(lstm_on_prices < actual) >= 0.9)

# %% [markdown]
# The LSTM is far worse than "tomorrow = today", and the plot shows why: its forecasts stay **below** the actual
# prices (the printed share of test days) and fall further behind as the price climbs. Every test price lies above the training range (scaled
# value > 1), and the network never had to produce such an output: the LSTM's hidden state is squashed by tanh into
# (−1, 1), so its output is bounded too. A network does not extrapolate a trend it has not seen. Early stopping cannot
# rescue it either, since the validation closes rise above the training range too (up to 56.80 dollars, against a
# training maximum of 46.11).
#
# This is the most common failure of stock-price LSTM tutorials. The fix is to forecast something whose range does
# not drift: the **return** of tomorrow, which is then turned back into a price.

# %% [markdown]
# ## 5 · Baselines (Exercise 3) and the evaluation metrics (Exercise 4)
#
# Before fixing the LSTM, we set up the yardsticks it must beat. Each takes the same test windows:
#
# * **persistence**: $\hat p_{t} = p_{t-1}$;
# * **moving average** of the last $k$ closes: $\hat p_{t} = \frac1k (p_{t-k} + \dots + p_{t-1})$;
# * a **linear model** on the same 30-day window: $\hat p_t = w_1 p_{t-30} + \dots + w_{30} p_{t-1} + b$, fitted by
#   least squares on the training windows (the LSTM's linear rival: no hidden state, no nonlinearity).

# %% [markdown]
# ### Exercise 3 · the moving-average baseline
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
# ### Exercise 4 · the evaluation metrics
#
# With $e_t = \hat y_t - y_t$ the error on test day $t$ and $n$ test days:
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
# ## 6 · The fix: forecast tomorrow's return, then turn it into a price
#
# Log returns do not drift with the price level: training and test returns have the same range. We standardise them
# with the mean and standard deviation of the **training** returns, cut the same 30-day windows (the same target
# days as before), and train the same architecture to forecast tomorrow's standardised return $\hat r_t$. The price
# forecast is then $\hat p_t = p_{t-1}\, e^{\hat r_t}$.

# %% tags=["nbval-ignore-output"]
return_scaler = fc.fit_scaler(log_return[1:train_end], "standard")
scaled_return = return_scaler.transform(log_return)  # NaN on day 0, which no window uses (FIRST = WINDOW + 1)
ret_train_ds = fc.window_dataset(scaled_return, scaled_return, WINDOW, FIRST, train_end, batch_size=BATCH,
                                 shuffle=True)
ret_val_ds = fc.window_dataset(scaled_return, scaled_return, WINDOW, train_end, val_end, batch_size=BATCH)

return_model = build_forecaster(WINDOW, 1)
return_history = train_forecaster(return_model, ret_train_ds, ret_val_ds, EPOCHS)
_, val_targets = fc.dataset_arrays(ret_val_ds)
print(f"trained {len(return_history.epoch)} epochs; best validation MSE "
      f"{min(return_history.history['val_loss']):.3f} (standardised returns)")
print(f"for comparison, always forecasting the average training return scores {np.mean(val_targets ** 2):.3f}")

# %%
_ = plots.plot_learning_curves(return_history, "LSTM on standardised MSFT log returns: learning curves",
                               loss_label="MSE (standardised returns)", mark_best=True)
plots.show(plt.gcf(), alt="Learning curves of the LSTM on standardised MSFT log returns: training and validation MSE "
                          f"per epoch over {len(return_history.epoch)} epochs, with a dotted line at the best "
                          "validation epoch. Notice that the validation loss hardly improves: its best, "
                          f"{min(return_history.history['val_loss']):.3f}, is about what always forecasting the "
                          f"average training return scores, {np.mean(val_targets ** 2):.3f}.")

# %% tags=["nbval-check-output"]
_ = course.claim("on the validation days the LSTM on returns is within 5 % of the constant forecast's MSE",
                 abs(min(return_history.history["val_loss"]) / np.mean(val_targets ** 2) - 1) < 0.05)

# %% [markdown]
# The two numbers printed above are almost the same (the verdict says within 5 %): on the validation days, the LSTM
# forecasts tomorrow's return about as well as a constant, the average training return (0 in standardised units).
# The curves show the same thing: the validation loss hardly moves from its first epoch. Let's see what that is worth in dollars.
#
# ### The comparison table: every forecast, the same test days, in dollars
#
# Besides the errors, the table has a **direction** column for models that forecast a move: the percentage of test
# days on which the forecast went the same way (up or down) as the actual close. Persistence forecasts no move, so it
# gets no direction score.

# %% tags=["nbval-ignore-output"]
X_test_ret, _ = data.window_arrays(scaled_return, scaled_return, WINDOW, val_end, len(close))
lstm_on_returns = today * np.exp(return_scaler.inverse_transform(fc.predict(return_model, X_test_ret)))

X_train, y_train = data.window_arrays(close, close, WINDOW, FIRST, train_end)
linear_on_prices = fc.LinearWindowModel().fit(X_train, y_train).predict(X_test)
X_train_r, y_train_r = data.window_arrays(log_return, log_return, WINDOW, FIRST, train_end)
X_test_r, _ = data.window_arrays(log_return, log_return, WINDOW, val_end, len(close))
linear_on_returns = today * np.exp(fc.LinearWindowModel().fit(X_train_r, y_train_r).predict(X_test_r))

MA_K = 5
msft_forecasts = {
    "persistence (tomorrow = today)": today,
    f"moving average, last {MA_K} days": moving_average_forecast(X_test, MA_K),
    "linear model, 30-day price window": linear_on_prices,
    "linear model, 30-day return window": linear_on_returns,
    "LSTM on prices": lstm_on_prices,
    "LSTM on returns": lstm_on_returns,
}
msft_table = fc.comparison_table(actual, msft_forecasts, last=today, unit="$", metrics=evaluate_forecast)
up_days = 100 * np.mean(actual > today)
print(f"MSFT, {len(actual)} test days ({test_dates[0].date()} … {test_dates[-1].date()}); "
      f"the close went up on {up_days:.1f} % of them.")
msft_table

# %%
_ = fc.plot_forecasts(test_dates, actual, {"persistence": today, "LSTM on returns": lstm_on_returns,
                                           f"moving average ({MA_K})": msft_forecasts[f"moving average, last {MA_K} days"]},
                      "MSFT, last 40 test days: next-close forecasts", "close (US$)", last=40)
plots.show(plt.gcf(), alt="Line chart of the MSFT close over the last 40 test days, with the next-close forecasts of "
                          f"persistence, the LSTM on returns and the {MA_K}-day moving average. Notice that the LSTM "
                          "on returns lies almost on top of persistence, which is the actual close one day late, and "
                          "the moving average trails further behind the rise.")

# %% [markdown]
# The plot of the last 40 test days shows why the table is so tight: the LSTM on returns lies almost on top of
# persistence, which is the actual close one day late, and the 5-day moving average trails further behind the rise.
#
# ### Is a difference in this table real, or noise?
#
# Several rows differ from persistence by a fraction of a cent, and a handful of test days can tip such a difference
# either way. Two habits make a comparison fair:
#
# * **A ratio on the same days.** Divide the model's MAE (or RMSE) by persistence's on exactly the same test days:
#   below 1, the model's error is the smaller one. A dollar error on its own says little, because it grows with the
#   price level of the days it is measured on (section 7 shows how that misleads).
# * **A paired test.** The **Diebold–Mariano (DM) test** asks whether two forecasts' average losses differ by more
#   than the day-to-day noise of their difference. For every test day take $d_t$ = the model's loss − persistence's
#   loss (the absolute error, which MAE averages, or the squared error, which RMSE averages); then
#
# $$\text{DM} = \frac{\bar d}{\sqrt{\hat\sigma^2 / n}}, \qquad
#   \hat\sigma^2 = \hat\gamma_0 + 2 \sum_{k=1}^{L} \Big(1 - \frac{k}{L+1}\Big)\, \hat\gamma_k,$$
#
# with $\bar d$ the mean of the $n$ daily differences and $\hat\gamma_k$ their autocovariance $k$ days apart. Errors
# on neighbouring days are related (big moves come in clusters, section 1), so the days are not independent evidence:
# the sum over $L$ lags, the Newey–West (HAC) variance, counts that. We take $L = \lfloor n^{1/3} \rfloor$. If the
# two forecasts are equally good, DM follows Student's t distribution (with $n-1$ degrees of freedom) closely, so a
# two-sided p-value below 0.05 says the difference is more than noise; a negative DM means the model's loss is the
# lower one. With $L = 0$ (and the variance scaled by $n/(n-1)$, as below) DM is exactly the paired t-test on the
# daily losses: the cell after the code checks that against `scipy.stats.ttest_rel`.
#
# The rule of this notebook: **a difference from persistence counts as a win (or a loss) only when both ratios are
# on that side of 1 and both DM p-values are below 0.05**; anything else is "no clear difference".

# %%
def diebold_mariano(actual, forecast, reference, loss, lags=None):
    """Diebold–Mariano test that ``forecast`` and ``reference`` have the same mean ``loss`` on the same test steps.

    Returns (DM statistic, two-sided p-value). d_t = loss(forecast - actual) - loss(reference - actual), in time
    order; its mean is divided by a Newey–West (HAC) standard error over ``lags`` lags (default n ** (1/3)), which
    allows for errors that are correlated from one day to the next. The variance is scaled by n/(n-1) and the p-value
    read from Student's t with n-1 degrees of freedom, so that lags=0 gives exactly the paired t-test.
    """
    actual, forecast, reference = (np.asarray(a, dtype=float) for a in (actual, forecast, reference))
    if not actual.ndim == 1 or actual.shape != forecast.shape or actual.shape != reference.shape:
        raise ValueError("actual, forecast and reference must be 1-D arrays over the same test days")
    d = loss(forecast - actual) - loss(reference - actual)
    n = len(d)
    lags = int(n ** (1 / 3)) if lags is None else lags
    if not 0 <= lags < n - 1:
        raise ValueError(f"lags={lags} must be from 0 to {n - 2} for {n} test days (the default is n ** (1/3))")
    e = d - d.mean()
    autocovariance = np.array([e[k:] @ e[:n - k] / n for k in range(lags + 1)])
    bartlett = 1 - np.arange(lags + 1) / (lags + 1)  # the Newey–West weights: 1 at lag 0, falling to 0
    variance = (2 * bartlett @ autocovariance - autocovariance[0]) * n / (n - 1)
    if variance <= 0:
        raise ValueError("the two forecasts have the same loss on every day: there is no difference to test")
    statistic = d.mean() / np.sqrt(variance / n)
    return float(statistic), float(2 * stats.t.sf(abs(statistic), df=n - 1))


LOSSES = {"absolute error": np.abs, "squared error": np.square}  # what MAE and RMSE average


def against_persistence(actual, forecast, today):
    """A forecast and persistence (``today``) on the same test days: MAEs, the ratios of MAE and RMSE (below 1: the
    forecast's error is smaller), the DM p-value in each loss, and the verdict: "win" or "loss" only when both ratios
    are on that side of 1 and both p-values are below 0.05, otherwise "no clear difference"."""
    ratios = [fc.mae(actual, forecast) / fc.mae(actual, today), fc.rmse(actual, forecast) / fc.rmse(actual, today)]
    p = {name: diebold_mariano(actual, forecast, today, loss)[1] for name, loss in LOSSES.items()}
    clear = max(p.values()) < 0.05
    verdict = ("win" if clear and max(ratios) < 1 else "loss" if clear and min(ratios) > 1
               else "no clear difference")
    return {"test days": len(actual), "MAE ($)": fc.mae(actual, forecast),
            "persistence MAE ($)": fc.mae(actual, today), "MAE ratio": ratios[0], "RMSE ratio": ratios[1],
            **{f"DM p ({name})": value for name, value in p.items()}, "verdict": verdict}


# %% [markdown]
# First a check of the test itself: with no lags it must give what SciPy's paired t-test gives on the same daily
# losses (here the absolute errors of the LSTM on returns and of persistence).

# %% tags=["nbval-check-output"]
dm_no_lags = diebold_mariano(actual, lstm_on_returns, today, np.abs, lags=0)
t_test = stats.ttest_rel(np.abs(lstm_on_returns - actual), np.abs(today - actual))
print(f"with lags=0, DM = the paired t-test: same statistic {np.isclose(dm_no_lags[0], t_test.statistic)}, "
      f"same p-value {np.isclose(dm_no_lags[1], t_test.pvalue)}")
print(f"with the default, {int(len(actual) ** (1 / 3))} lags for {len(actual)} test days")

# %% [markdown]
# Now every model of the table against persistence, on the same test days:

# %% tags=["nbval-ignore-output"]
fair_table = pd.DataFrame.from_dict({name: against_persistence(actual, forecast, today)
                                     for name, forecast in msft_forecasts.items() if forecast is not today},
                                    orient="index")
fair_table.index.name = "against persistence"
fair_table.round(3)

# %% tags=["nbval-check-output"]
RATIO_OF = {"absolute error": "MAE ratio", "squared error": "RMSE ratio"}


def beats_persistence(name):
    """True if the model's loss is lower than persistence's by more than noise, in absolute or squared error."""
    row = fair_table.loc[name]
    return any(row[RATIO_OF[loss]] < 1 and row[f"DM p ({loss})"] < 0.05 for loss in LOSSES)


_ = course.claim("no model beats persistence on the MSFT test days by more than noise",
                 not any(beats_persistence(name) for name in fair_table.index))
_ = course.claim("the LSTM on returns and persistence differ by noise only (p above 0.05 in MAE's and RMSE's loss)",
                 all(fair_table.loc["LSTM on returns", f"DM p ({loss})"] > 0.05 for loss in LOSSES))
_ = course.claim("the two linear models are within 3 % of persistence's MAE",
                 all(abs(fair_table.loc[name, "MAE ratio"] - 1) < 0.03
                     for name in ("linear model, 30-day price window", "linear model, 30-day return window")))
_ = course.claim("the linear model on price windows loses to persistence by more than noise, if only by a cent",
                 fair_table.loc["linear model, 30-day price window", "verdict"] == "loss")
_ = course.claim("the 5-day moving average and the LSTM on prices lose to persistence by more than noise",
                 all(fair_table.loc[name, "verdict"] == "loss"
                     for name in (f"moving average, last {MA_K} days", "LSTM on prices")))
_ = course.claim("no model calls the direction of the next move more often than always saying 'up' would",
                 msft_table["direction %"].max() < up_days)

# %% [markdown]
# **What the tables say.** (Read the numbers above first; these sentences describe them.)
#
# * **Persistence is the model to beat, and no model beats it by more than noise.** Forecasting returns fixed the
#   failure of the LSTM on prices (whose MAE was several dollars): the LSTM on returns is now level with persistence.
#   Whichever side of 1 its MAE and RMSE ratios fall in a run (in the one stored here, its errors differ from
#   persistence's by a fraction of a cent), the Diebold–Mariano p-values are above 0.05: the difference is noise,
#   and the verdict column says so. It has learned little more than "tomorrow is about today". The two linear
#   models land in the same place, within a few per cent of persistence: the one on return windows by noise only,
#   the one on price windows a little behind, by a cent. That loss is borderline: its p-value for absolute errors is
#   only just below 0.05, and with ten p-values in the table, one that low can turn up by chance (its squared-error
#   p-value is lower). The linear models have no random initialisation (least squares has one answer), so these
#   numbers are the same in every run. A difference can be real and still too small to matter; the test tells you
#   which differences not to read at all.
# * The 5-day moving average is clearly worse, by much more than noise: in a rising market, an average of past days
#   lags behind.
# * **Direction:** every model calls the next move right on about half of the days, less often than the close went
#   up: a forecaster that always says "up" would do better. No model here predicts where MSFT goes next.
#
# This is not a failure of the LSTM but a property of the data: daily stock returns are close to unpredictable from
# their own past (a *random walk* price: tomorrow = today + noise). When the noise is all there is, the best
# forecast of tomorrow is today, and an honest notebook says so. What would help, if anything, is information that
# is not in the price history.

# %% [markdown]
# ## 7 · Pitfalls: leaks that make the test score look better, and one that fakes a win
#
# The mistakes below are common in published stock-forecasting code. Each repeats one of our LSTMs with one leak, on
# a shorter budget: at most 12 epochs, where the honest runs had up to 40 (with early stopping in both; each cell
# prints how many epochs it used). So a leak's better score does not come from longer training. Each is scored once on
# its own test days, **against persistence on the same days** (the ratio and the DM test of
# section 6): a dollar error measured on other days, at other price levels, cannot be compared with ours.
#
# 1. **Scaling on the full series** (LSTM on prices). The min-max scaler sees the test prices: the test days are
#    squeezed into [0, 1] like everything else. They still lie above the training days' range, but much nearer to it
#    than with the honest scaler (the cell prints both ranges), so the network has less far to extrapolate. On the
#    day of a real forecast, the future maximum is unknown.
# 2. **A shuffled split** (LSTM on prices). Windows are dealt at random into train / validation / test. Every test day
#    then has training days right next to it (yesterday's window is in training, with almost the same values), so the
#    test measures memory of neighbours, not forecasting.
# 3. **A smoothed input** (LSTM on returns). "Denoising" a series with a moving average before cutting windows looks
#    harmless, but pandas' `rolling(5, center=True)` averages each day with the two days *after* it: the smoothed
#    value of day $t-1$ averages days $t-3 \dots t+1$, so the window that forecasts day $t$ contains day $t$'s
#    return. The same happens with any feature of the target day itself (its open, high or low).

# %% tags=["nbval-ignore-output"]
PITFALL_EPOCHS = course.epochs(12)  # a short run each: enough to show the effect

# Leak 1: the scaler is fitted on the whole series (train + validation + test)
leaky_scaler = fc.fit_scaler(close, "minmax")
leaky_scaled = leaky_scaler.transform(close)
leaky_model = build_forecaster(WINDOW, 1)
leaky_history = train_forecaster(
    leaky_model,
    fc.window_dataset(leaky_scaled, leaky_scaled, WINDOW, FIRST, train_end, batch_size=BATCH, shuffle=True),
    fc.window_dataset(leaky_scaled, leaky_scaled, WINDOW, train_end, val_end, batch_size=BATCH),
    PITFALL_EPOCHS)
leaky_scaling = leaky_scaler.inverse_transform(fc.predict(leaky_model, leaky_scaler.transform(X_test)))
print(f"leak 1: trained {len(leaky_history.epoch)} epochs")
for part, (lo, hi) in {"training": (0, train_end), "test": (val_end, len(close))}.items():
    print(f"  {part} closes scaled on all days: {leaky_scaled[lo:hi].min():.2f} … {leaky_scaled[lo:hi].max():.2f} "
          f"(honest scaler: {scaled_close[lo:hi].min():.2f} … {scaled_close[lo:hi].max():.2f})")

# %% tags=["nbval-ignore-output"]
# Leak 2: the windows of the whole period are dealt at random into train / validation / test
X_all, y_all = data.window_arrays(scaled_close, scaled_close, WINDOW, FIRST, len(close))
shuffled_train, shuffled_val, shuffled_test = fc.shuffled_split(len(X_all), seed=0)
shuffled_model = build_forecaster(WINDOW, 1)
stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)
shuffled_history = shuffled_model.fit(
    X_all[shuffled_train], y_all[shuffled_train], batch_size=BATCH, epochs=PITFALL_EPOCHS,
    validation_data=(X_all[shuffled_val], y_all[shuffled_val]), callbacks=[stop], verbose=0)
shuffled_actual = price_scaler.inverse_transform(y_all[shuffled_test, 0])
shuffled_pred = price_scaler.inverse_transform(fc.predict(shuffled_model, X_all[shuffled_test]))
shuffled_today = price_scaler.inverse_transform(X_all[shuffled_test, -1, 0])
shuffled_dates = dates[FIRST + shuffled_test]  # window i forecasts day FIRST + i
print(f"leak 2: trained {len(shuffled_history.epoch)} epochs")

# %% tags=["nbval-ignore-output"]
# Leak 3: a second input, the returns smoothed by a centred 5-day moving average (days t-2 … t+2 for day t)
smoothed = pd.Series(log_return).rolling(5, center=True, min_periods=1).mean().to_numpy()
smooth_scaler = fc.fit_scaler(smoothed[:train_end], "standard")  # fitted on the training days, as it should be
two_inputs = np.column_stack([scaled_return, smooth_scaler.transform(smoothed)])  # (days, 2 features)
smoothed_model = build_forecaster(WINDOW, 2)
smoothed_history = train_forecaster(
    smoothed_model,
    fc.window_dataset(two_inputs, scaled_return, WINDOW, FIRST, train_end, batch_size=BATCH, shuffle=True),
    fc.window_dataset(two_inputs, scaled_return, WINDOW, train_end, val_end, batch_size=BATCH),
    PITFALL_EPOCHS)
X_test_two, _ = data.window_arrays(two_inputs, scaled_return, WINDOW, val_end, len(close))
leaky_smoothing = today * np.exp(return_scaler.inverse_transform(fc.predict(smoothed_model, X_test_two)))
print(f"leak 3: trained {len(smoothed_history.epoch)} epochs")

# %% [markdown]
# One table, each setup on its own test days: the LSTM's MAE, persistence's MAE on the same days, the two ratios and
# the Diebold–Mariano p-values (HAC variance, as in section 6), and the verdict by this notebook's rule.

# %% tags=["nbval-ignore-output"]
setups = {
    "honest: LSTM on prices": (actual, lstm_on_prices, today),
    "leak 1: scaler fitted on all days": (actual, leaky_scaling, today),
    "leak 2: shuffled split": (shuffled_actual, shuffled_pred, shuffled_today),
    "honest: LSTM on returns": (actual, lstm_on_returns, today),
    "leak 3: centred moving average as input": (actual, leaky_smoothing, today),
}
pitfalls = pd.DataFrame.from_dict({name: against_persistence(*days) for name, days in setups.items()},
                                  orient="index")
pitfalls.index.name = "setup (each on its own test days)"
print(f"test days: {test_dates[0].date()} … {test_dates[-1].date()}, except leak 2's, which are spread over "
      f"{shuffled_dates[0].date()} … {shuffled_dates[-1].date()}")
pitfalls.round(3)

# %% tags=["nbval-check-output"]
ratio = pitfalls["MAE ratio"]
_ = course.claim("leaks 1 and 2 make the LSTM on prices look at least twice as good as the honest run (MAE ratio)",
                 max(ratio["leak 1: scaler fitted on all days"], ratio["leak 2: shuffled split"])
                 < ratio["honest: LSTM on prices"] / 2)
_ = course.claim("with leaks 1 and 2 the LSTM on prices still loses to persistence, by more than noise",
                 all(pitfalls.loc[name, "verdict"] == "loss"
                     for name in ("leak 1: scaler fitted on all days", "leak 2: shuffled split")))
_ = course.claim("persistence's MAE on leak 2's test days is lower than on the honest test days (lower prices)",
                 pitfalls.loc["leak 2: shuffled split", "persistence MAE ($)"]
                 < pitfalls.loc["honest: LSTM on prices", "persistence MAE ($)"])
_ = course.claim("leak 3 makes the LSTM appear to beat persistence: MAE and RMSE ratios below 0.7, both p below 0.01",
                 max(pitfalls.loc["leak 3: centred moving average as input", ["MAE ratio", "RMSE ratio"]]) < 0.7
                 and max(pitfalls.loc["leak 3: centred moving average as input",
                                      [f"DM p ({loss})" for loss in LOSSES]]) < 0.01)
_ = course.claim("the honest LSTM on returns shows no clear difference from persistence",
                 pitfalls.loc["honest: LSTM on returns", "verdict"] == "no clear difference")

# %% [markdown]
# **What the table says.** Read each row against persistence on its own days, not against the other rows' dollars.
#
# * The leaky scaler and the shuffled split make the LSTM on prices look far better than its honest run (its MAE
#   ratio at least halves), yet with either leak it still **loses** to persistence, by more than noise. Their
#   dollar errors alone would mislead: leak 2's test days are spread over all the years, mostly at lower prices where
#   every error is smaller, so even persistence's MAE on those days is lower than on the honest test days.
# * Leak 3 is the dangerous one. The LSTM on returns, which honestly shows no clear difference from persistence,
#   now **appears to beat it**: both ratios well below 1 (under 0.7) and both p-values below 0.01, a "win" by this
#   notebook's own rule. It is the smoothed input handing the model part of the return it forecasts.
#
# A paired test tells you whether a difference is more than noise; it cannot tell you whether it is honest. What
# catches a leak is asking, for every input, on which day it becomes known, and distrust of any model that beats a
# random walk by a wide margin. The rule: **split by time first, fit every statistic (scaler, linear weights, early
# stopping) on the past part only, and compute every input from days before the one forecast** (a trailing
# `rolling(5)`, never `center=True`).

# %% [markdown]
# ## 8 · A series an LSTM can learn: sea temperature off Peru
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
# on the training months, windows of 24 months, an LSTM(32) built and trained by your `build_forecaster` and
# `train_forecaster` (early stopping included), and the baselines on the same test months. Since the series is
# seasonal, it adds the **seasonal naive** forecast, "same as twelve months ago", the classic baseline for a yearly
# cycle.

# %% tags=["nbval-ignore-output"]
SST_WINDOW = 24
sst_run = fc.one_step_experiment(sst, SST_WINDOW, build_forecaster, train_forecaster, epochs=course.epochs(30),
                                 season=12, unit="°C", batch_size=64)
print(f"LSTM trained {len(sst_run.history.epoch)} epochs; test: {sst_run.test_index[0]:%Y-%m} … "
      f"{sst_run.test_index[-1]:%Y-%m} ({len(sst_run.actual)} months); "
      f"{sst_run.splits[0] - SST_WINDOW} training windows, {sst_run.model.count_params():,} LSTM weights")
sst_p = {name: diebold_mariano(sst_run.actual, forecast, sst_run.forecasts["LSTM(32)"], np.abs)[1]
         for name, forecast in sst_run.forecasts.items() if name != "LSTM(32)"}  # each baseline against the LSTM
sst_run.table.assign(**{"DM p against the LSTM (absolute error)": pd.Series(sst_p)}).round(3)

# %% tags=["nbval-check-output"]
sst_mae = sst_run.table["MAE (°C)"]
_ = course.claim("on the sea temperature the LSTM's test MAE is less than half of persistence's",
                 sst_mae["LSTM(32)"] < sst_mae["persistence"] / 2)
_ = course.claim("the LSTM's test MAE is well below the seasonal naive forecast's (by more than a third)",
                 sst_mae["LSTM(32)"] < 2 / 3 * sst_mae["seasonal naive (12)"])
_ = course.claim("the linear model on the same window is as good as the LSTM (MAEs within 10 % of each other)",
                 abs(sst_mae["linear, same window"] / sst_mae["LSTM(32)"] - 1) < 0.1)
_ = course.claim("the LSTM's lower errors than persistence's and the seasonal naive forecast's pass the DM test "
                 "(p below 0.05)", max(sst_p["persistence"], sst_p["seasonal naive (12)"]) < 0.05)
_ = course.claim("the linear model and the LSTM differ by noise only (DM p above 0.05)",
                 sst_p["linear, same window"] > 0.05)
_ = course.claim("the LSTM used all its epochs (early stopping did not stop it)",
                 len(sst_run.history.epoch) == course.epochs(30))

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
plots.plot_learning_curves(sst_run.history, "Niño 1+2 LSTM: learning curves", ax=axes[0],
                           loss_label="MSE on scaled values", mark_best=True)
fc.plot_forecasts(sst_run.test_index, sst_run.actual,
                  {name: sst_run.forecasts[name] for name in ("persistence", "LSTM(32)")},
                  "Niño 1+2 test months: next-month forecasts", "temperature (°C)", ax=axes[1])
fig.tight_layout()
plots.show(fig, alt="Two charts. Left, learning curves of the Niño 1+2 LSTM: training and validation MSE per epoch "
                    f"over {len(sst_run.history.epoch)} epochs, the training loss going from "
                    f"{sst_run.history.history['loss'][0]:.4f} to {sst_run.history.history['loss'][-1]:.4f}. "
                    "Right, the actual temperature over the test months with the next-month forecasts of "
                    "persistence and of the LSTM. Notice that persistence is the actual curve shifted one month "
                    "later, so it misses each turn of the cycle by a month, while the LSTM's forecast turns with the "
                    "actual temperature.")

# %% [markdown]
# **What the table says.** Here the LSTM learns real structure: its test MAE is less than half that of persistence
# and well below the seasonal naive forecast, by more than noise (the DM p-values in the last column, against the
# LSTM on the same months, are below 0.05), because it combines the season (read from the shape of the last 24
# months) with the current anomaly. But the **linear model on the same window is as good** (the two MAEs are within
# a tenth of each other, and the DM test finds no clear difference): most of this series' structure is linear (a cycle plus slowly fading anomalies), and a few
# hundred training windows (the number is printed above) are few for the LSTM's 4,385 weights. One caveat: the LSTM
# used every epoch it was allowed (early stopping never fired, though its learning curves flatten after the first few
# epochs), so longer training might change the comparison: raise `epochs` in the `fc.one_step_experiment` call to
# try it. In the right-hand plot, persistence is the actual curve shifted one month later, so it misses each turn of
# the cycle by a month; the LSTM's forecast turns with the actual temperature. An LSTM earns its cost when the
# structure is nonlinear and data are plentiful; the baseline table is how you find out.

# %% [markdown]
# ## 9 · Several steps ahead: recursive vs direct
#
# To forecast $H$ months ahead there are two strategies:
#
# * **recursive**: use the one-step model $H$ times, each time appending its own forecast to the window as if it were
#   an observation (errors feed on themselves);
# * **direct**: train one model whose output layer has $H$ units, one per horizon, on targets $y_i = (s_{i+w}, \dots,
#   s_{i+w+H-1})$ (`make_windows(..., horizon=H)`).
#
# We compare both on the Niño 1+2 test months for $H = 12$, with persistence ("all future months = this month"),
# seasonal naive ("each future month = the same month last year") and a direct linear model as references. The
# recursive strategy is a short loop around any one-step forecaster:

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
last_origin = len(sst_values) - H + 1  # the last target row that is complete

direct_model = build_forecaster(SST_WINDOW, 1, horizon=H)
direct_history = train_forecaster(
    direct_model,
    fc.window_dataset(scaled_sst, targets_H, SST_WINDOW, SST_WINDOW, sst_train_end - H + 1, batch_size=64,
                      shuffle=True),
    fc.window_dataset(scaled_sst, targets_H, SST_WINDOW, sst_train_end, sst_val_end - H + 1, batch_size=64),
    course.epochs(30), patience=8)

X_origin, Y_future = data.window_arrays(scaled_sst, targets_H, SST_WINDOW, sst_val_end, last_origin)
truth = sst_run.scaler.inverse_transform(Y_future)
windows_c = sst_run.scaler.inverse_transform(X_origin[:, :, 0])
X_train_H, Y_train_H = data.window_arrays(sst_values, data.horizon_targets(sst_values, H), SST_WINDOW, SST_WINDOW,
                                          sst_train_end - H + 1)
multi = {
    "LSTM, recursive": sst_run.scaler.inverse_transform(
        recursive_forecast(lambda X: fc.predict(sst_run.model, X), X_origin, H)),
    "LSTM, direct": sst_run.scaler.inverse_transform(fc.predict(direct_model, X_origin)),
    "linear, direct": fc.LinearWindowModel().fit(X_train_H, Y_train_H).predict(windows_c),
    "persistence": np.repeat(windows_c[:, -1:], H, axis=1),
    "seasonal naive": np.stack([windows_c[:, -12 + h % 12] for h in range(H)], axis=1),
}
horizon_mae = pd.DataFrame({name: np.abs(pred - truth).mean(axis=0) for name, pred in multi.items()},
                           index=pd.RangeIndex(1, H + 1, name="months ahead"))
print(f"direct LSTM trained {len(direct_history.epoch)} epochs; {len(truth)} forecast origins in the test period; "
      "MAE (°C) by horizon:")
horizon_mae.T.round(2)

# %%
fig, ax = plt.subplots(figsize=(7, 3.8))
for name in horizon_mae:
    style = "-o" if name.startswith("LSTM") else "--"
    ax.plot(horizon_mae.index, horizon_mae[name], style, ms=4, label=name)
ax.set(title="Niño 1+2: test error against forecast horizon", xlabel="months ahead", ylabel="MAE (°C)",
       xticks=range(1, H + 1))
ax.legend(fontsize=8)
fig.tight_layout()
plots.show(fig, alt=f"Line chart of test MAE in °C against the forecast horizon, 1 to {H} months ahead, for the "
                    "recursive and the direct LSTM (lines with dots) and for the direct linear model, persistence and "
                    "the seasonal naive forecast (dashed). Notice that the learned models' error grows with the "
                    "horizon and levels off from about four months on, on average below the seasonal naive "
                    "forecast, while persistence is worst at six months, when the cycle is at its opposite phase, "
                    "and recovers at twelve.")

# %% tags=["nbval-check-output"]
learned = ["LSTM, recursive", "LSTM, direct", "linear, direct"]
later = horizon_mae.loc[4:]
_ = course.claim("from four months ahead on, each learned model's average error is below the seasonal naive one",
                 bool((later[learned].mean() < later["seasonal naive"].mean()).all()))
_ = course.claim("persistence is worst at six months ahead and recovers by twelve (error at most half)",
                 horizon_mae["persistence"].idxmax() == 6 and horizon_mae.loc[12, "persistence"] <= horizon_mae.loc[6, "persistence"] / 2)
_ = course.claim("the recursive LSTM beats the direct one at one month ahead, by more than 0.1 °C",
                 horizon_mae.loc[1, "LSTM, recursive"] < horizon_mae.loc[1, "LSTM, direct"] - 0.1)
_ = course.claim("the recursive LSTM beats the direct one at most horizons (at least 9 of 12)",
                 int((horizon_mae["LSTM, recursive"] < horizon_mae["LSTM, direct"]).sum()) >= 9)
_ = course.claim("at one and two months the direct linear model is within 0.05 °C of the best model",
                 all(horizon_mae.loc[h, "linear, direct"] - horizon_mae.loc[h].min() < 0.05 for h in (1, 2)))
_ = course.claim("from three months on the recursive LSTM has a lower average error than the direct linear model",
                 horizon_mae.loc[3:, "LSTM, recursive"].mean() < horizon_mae.loc[3:, "linear, direct"].mean())
_ = course.claim("the direct LSTM used all its epochs (early stopping did not stop it)",
                 len(direct_history.epoch) == course.epochs(30))

# %% [markdown]
# **What the plot says.** The learned models' error grows with the horizon and levels off from about four months
# on, on average below the seasonal naive forecast: beyond a few months the current anomaly is mostly forgotten and
# only the season is left to forecast. Persistence is worst at six months, when the cycle is at its opposite phase, and
# recovers at twelve. The recursive LSTM beats the direct one at most horizons, by far at one month: its one-step
# model is strong, and the error it feeds back grows slowly here. The direct linear model is about as good as the
# best at one and two months and falls behind the recursive LSTM from three months on. Both LSTMs stopped at their
# epoch limit, so the direct one in particular may be undertrained. Which strategy wins depends on the series and the
# model: measure it, as here.

# %% [markdown]
# ## Key takeaways
#
# * **Look first, split by time, scale with the past only, and build every input from days before the one you
#   forecast.** Any statistic fitted on the test part (a scaler, a shuffled split) flatters the test score, and an
#   input that reads the target day (a centred moving average) fakes a win that a paired test cannot tell from a
#   real one: section 7 showed both.
# * **An LSTM on raw prices cannot forecast prices above its training range**: its output is bounded. Forecast
#   returns (or differences, or values normalised within each window) and convert back.
# * **Always compare with persistence, a moving average and a linear model** on the same test days, in the units
#   that matter, as a ratio, and test whether a difference is more than noise (Diebold–Mariano, with a HAC variance
#   for errors that cluster in time). On MSFT, no model beats
#   persistence by more than noise and direction is a coin flip: daily prices are close to a random walk. On the sea
#   temperature, the LSTM halves persistence's error, and a linear model matches it.
# * **Multi-step**: recursive forecasts reuse one model and feed errors back; direct forecasts train one output per
#   horizon. Plot the error against the horizon to choose.
# * `make_windows` by hand and `keras.utils.timeseries_dataset_from_array` cut the same windows; getting the
#   alignment right (target after the window, never inside it) is the first thing to test.

# %% [markdown]
# ## Further reading
#
# * The lecture's videos: [Recurrent neural networks, clearly explained](https://www.youtube.com/watch?v=AsNTP8Kwu80)
#   and [IBM: what is an LSTM?](https://www.youtube.com/watch?v=b61DPVFX03I).
# * TensorFlow tutorial [Time series forecasting](https://www.tensorflow.org/tutorials/structured_data/time_series):
#   windowing, baselines, single-shot (direct) and autoregressive (recursive) models on weather data.
# * R. J. Hyndman and G. Athanasopoulos, *Forecasting: Principles and Practice* (3rd ed.),
#   [otexts.com/fpp3](https://otexts.com/fpp3/): simple benchmark methods (naive, seasonal naive, drift) and
#   time-series cross-validation.
# * Keras API: [`timeseries_dataset_from_array`](https://keras.io/api/data_loading/timeseries/) and
#   [`EarlyStopping`](https://keras.io/api/callbacks/early_stopping/).
#
# ## Your progress

# %%
_ = progress()
