"""Cell tower anomalies: a seeded simulator of hourly cell KPIs with labelled anomalies, and the detector helpers.

No public, labelled cell-tower KPI data set ships offline, so notebook 05 uses this simulator. It is written to look
like what a network operator sees per cell and hour, not to be an exact radio model:

* **KPIs** (``KPIS``): connected users (count), downlink and uplink load (% of the cell's radio resources in use) and
  downlink throughput (Mbit/s).
* **Rhythm**: each cell mixes a *business* daily profile (busy 9:00-17:00 on weekdays, quiet at weekends) with a
  *residential* one (evening peak, busier at weekends); a slow linear trend over the weeks; correlated (AR(1)) and
  white noise; users are Poisson counts.
* **Anomalies** (``KINDS``), injected after the clean series is drawn and labelled hour by hour, each in a *large*
  and a *subtle* size (subtle ones mostly stay inside the cell's normal range of values):

  - ``spike`` (a flash crowd), 1-3 h: every KPI rises by 1-1.3 times its usual peak; subtle: at night (0:00-5:00),
    by 0.35-0.5 times the peak, so the values look like an ordinary afternoon.
  - ``outage``: large, the site is down for 2-6 h and every KPI drops to 0; subtle, one sector is down for 3-8 h in
    the day and every KPI is multiplied by 0.55-0.7.
  - ``level_shift`` (a degraded radio link), 8-24 h: throughput falls by 45-55 % (subtle: 20-30 %) and the downlink
    load rises by half that fraction, since the same traffic now needs more radio resources.
  - ``freeze`` (stale counters): every KPI repeats its last good value, for 8-16 h (subtle: 3-6 h).

The first ``clean_weeks`` of every cell carry no anomaly: they are the calibration period the detectors scale with.

Detector plumbing: per-cell scaling, time-of-day features, the windows a forecaster reads, several Keras models
trained and run as one (``models_as_one``, ``train_side_by_side``, ``forecast_errors``, ``model_forecast``), the
references of the notebook's exercises (precision / recall / F1, the threshold chosen on validation cells, the rolling
z-score), the one-row ``scorecard`` of a detector (``mean_scorecard`` over several runs), events found per kind and
size, and the per cell-day counts a paired bootstrap resamples. The detectors themselves (the LSTM, the Dense model
and the seasonal forecast, forecast error -> score -> threshold chosen on validation cells, flagged hours replaced)
are written in notebook 05.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from utils.data import window_arrays
from utils.validate import finite_array, has, whole

#: The KPIs, in the order of the last axis of ``CellNetwork.kpis``, and their units.
KPIS = ("users", "dl_load_pct", "ul_load_pct", "dl_throughput_mbps")
KPI_UNITS = {"users": "connected users", "dl_load_pct": "% of resources", "ul_load_pct": "% of resources",
             "dl_throughput_mbps": "Mbit/s"}
#: Anomaly kinds; in ``CellNetwork.labels`` 0 means normal and ``i + 1`` means ``KINDS[i]``.
KINDS = ("spike", "outage", "level_shift", "freeze")
SIZES = ("large", "subtle")
HOURS_PER_WEEK = 168
#: Monday 4 March 2024, 00:00: the simulated series start on a Monday at midnight.
START = pd.Timestamp("2024-03-04 00:00")
_MARKERS = ("v", "x", "^", "+")
_KIND_COLORS = {"spike": "C3", "outage": "black", "level_shift": "C4", "freeze": "C5"}  # the course palette


@dataclass(frozen=True)
class Anomaly:
    """One injected anomaly: in ``cell``, hours ``start`` … ``start + length - 1`` (0 = the first simulated hour)."""

    cell: int
    kind: str
    size: str
    start: int
    length: int

    @property
    def stop(self) -> int:
        """One past the last anomalous hour."""
        return self.start + self.length


@dataclass(frozen=True)
class CellNetwork:
    """Simulated hourly KPIs of several cells.

    kpis:   (cells, hours, len(KPIS)) the observed values, anomalies included.
    clean:  (cells, hours, len(KPIS)) the same series before any anomaly was injected.
    labels: (cells, hours) int, 0 = normal, i + 1 = KINDS[i].
    anomalies: every injected event, in order of cell and start hour.
    """

    kpis: np.ndarray
    clean: np.ndarray
    labels: np.ndarray
    anomalies: tuple[Anomaly, ...]
    seed: int

    @property
    def n_cells(self) -> int:
        return self.kpis.shape[0]

    @property
    def n_hours(self) -> int:
        return self.kpis.shape[1]

    @property
    def times(self) -> pd.DatetimeIndex:
        """The hourly time stamps shared by all cells."""
        return pd.date_range(START, periods=self.n_hours, freq="h")

    def frame(self, cell: int) -> pd.DataFrame:
        """One cell as a table: a column per KPI and ``kind`` ("" when normal), indexed by time."""
        _check_cell(cell, self.n_cells)
        table = pd.DataFrame(self.kpis[cell], index=self.times, columns=list(KPIS))
        table["kind"] = np.array(("",) + KINDS, dtype=object)[self.labels[cell]]
        return table

    def summary(self) -> pd.DataFrame:
        """Number of events and anomalous hours per kind and size."""
        rows = [{"kind": a.kind, "size": a.size, "events": 1, "hours": a.length} for a in self.anomalies]
        table = pd.DataFrame(rows).groupby(["kind", "size"], sort=False).sum()
        return table.reindex(pd.MultiIndex.from_product([KINDS, SIZES], names=["kind", "size"]), fill_value=0)


# --- the simulator ----------------------------------------------------------------------------------------------------


def _bumps(hours: np.ndarray, peaks: list[tuple[float, float, float]]) -> np.ndarray:
    """A daily profile: a sum of bumps (centre hour, width in hours, height) on a 24-hour circle, scaled to max 1."""
    total = np.zeros_like(hours, dtype=float)
    for centre, width, height in peaks:
        distance = np.abs(hours - centre)
        distance = np.minimum(distance, 24 - distance)
        total += height * np.exp(-0.5 * (distance / width) ** 2)
    return total / total.max()


def _ar1(rng: np.random.Generator, n: int, phi: float, sd: float) -> np.ndarray:
    """AR(1) noise with correlation ``phi`` from one hour to the next and marginal standard deviation ``sd``."""
    shocks = rng.normal(0.0, sd * np.sqrt(1 - phi**2), n)
    out = np.empty(n)
    out[0] = rng.normal(0.0, sd)
    for t in range(1, n):
        out[t] = phi * out[t - 1] + shocks[t]
    return out


def _clean_cell(rng: np.random.Generator, n_hours: int) -> np.ndarray:
    """One cell's anomaly-free KPIs, shape (n_hours, len(KPIS))."""
    t = np.arange(n_hours)
    hour, weekday = t % 24, (t // 24) % 7
    weekend = weekday >= 5
    business = 0.12 + _bumps(hour.astype(float), [(10.5, 2.0, 0.9), (15.0, 2.5, 0.85)])
    residential = 0.18 + _bumps(hour.astype(float), [(8.0, 1.5, 0.35), (13.0, 3.0, 0.45), (20.5, 2.2, 1.0)])
    mix = rng.uniform(0.0, 1.0)  # 1 = pure business district, 0 = pure residential
    daily = mix * business * np.where(weekend, 0.45, 1.0) + (1 - mix) * residential * np.where(weekend, 1.1, 1.0)
    daily = daily / daily.max()
    trend = 1.0 + rng.uniform(-0.05, 0.15) * t / n_hours
    peak_users = rng.uniform(200, 800)
    mean_users = peak_users * daily * trend * np.exp(_ar1(rng, n_hours, 0.8, 0.03))
    users = rng.poisson(mean_users).astype(float)
    capacity = peak_users / rng.uniform(0.55, 0.85)  # users at which the downlink would be fully loaded
    dl_load = np.clip(100 * users / capacity * np.exp(rng.normal(0, 0.02, n_hours)), 0, 100)
    ul_load = np.clip(dl_load * rng.uniform(0.3, 0.45) * np.exp(rng.normal(0, 0.03, n_hours)), 0, 100)
    throughput = rng.uniform(120, 300) * dl_load / 100 * np.exp(rng.normal(0, 0.03, n_hours))
    return np.stack([users, dl_load, ul_load, throughput], axis=-1)


def _draw_event(rng: np.random.Generator, kind: str, size: str) -> tuple[int, int | None]:
    """Length in hours, and the hour of day the event must start at (None: any hour)."""
    if kind == "spike":
        return int(rng.integers(1, 4)), (int(rng.integers(0, 5)) if size == "subtle" else None)
    if kind == "outage":
        if size == "large":
            return int(rng.integers(2, 7)), None
        return int(rng.integers(3, 9)), int(rng.integers(9, 15))
    if kind == "level_shift":
        return int(rng.integers(8, 25)), None
    return (int(rng.integers(8, 17)) if size == "large" else int(rng.integers(3, 7))), None


def _inject(rng: np.random.Generator, series: np.ndarray, kind: str, size: str, start: int, length: int,
            peaks: np.ndarray) -> None:
    """Apply one anomaly to ``series`` (hours, KPIs) in place; ``peaks`` is each KPI's usual peak (99th percentile)."""
    span = slice(start, start + length)
    if kind == "spike":
        extra = rng.uniform(1.0, 1.3) if size == "large" else rng.uniform(0.35, 0.5)
        series[span] += extra * peaks
        series[span, 0] = np.round(series[span, 0])
    elif kind == "outage":
        series[span] *= 0.0 if size == "large" else rng.uniform(0.55, 0.7)
        series[span, 0] = np.round(series[span, 0])
    elif kind == "level_shift":
        drop = rng.uniform(0.45, 0.55) if size == "large" else rng.uniform(0.2, 0.3)
        series[span, 3] *= 1 - drop
        series[span, 1] *= 1 + drop / 2
    else:  # freeze: the last good report repeats
        series[span] = series[start - 1]
    series[span, 1:3] = np.clip(series[span, 1:3], 0, 100)


def simulate_network(n_cells: int = 16, weeks: int = 6, seed: int = 0, events_per_kind: int = 2,
                     clean_weeks: int = 1, gap_hours: int = 30) -> CellNetwork:
    """Simulate ``n_cells`` cells for ``weeks`` weeks of hourly KPIs with labelled anomalies (see the module docstring).

    Each cell gets ``events_per_kind`` events of every kind, alternating large and subtle (the first is large), placed
    at random after the first ``clean_weeks`` weeks, at least ``gap_hours`` apart. The same ``seed`` gives the same
    network, value for value.
    """
    if n_cells < 1 or events_per_kind < 0 or clean_weeks < 0 or gap_hours < 0:
        raise ValueError("n_cells must be >= 1 and events_per_kind, clean_weeks, gap_hours >= 0.")
    if weeks <= clean_weeks:
        raise ValueError(f"weeks={weeks} leaves no room for anomalies after clean_weeks={clean_weeks}: "
                         "ask for more weeks or fewer clean weeks.")
    rng = np.random.default_rng(seed)
    n_hours = weeks * HOURS_PER_WEEK
    clean = np.stack([_clean_cell(rng, n_hours) for _ in range(n_cells)])
    kpis, labels, events = clean.copy(), np.zeros((n_cells, n_hours), dtype=int), []
    first = clean_weeks * HOURS_PER_WEEK + 1  # a freeze repeats the hour before it, which must be clean
    for cell in range(n_cells):
        peaks = np.percentile(clean[cell], 99, axis=0)
        wanted = [(kind, SIZES[i % 2]) for i in range(events_per_kind) for kind in KINDS]
        rng.shuffle(wanted)
        taken = np.zeros(n_hours, dtype=bool)
        for kind, size in wanted:
            for _ in range(2000):
                length, hour_of_day = _draw_event(rng, kind, size)
                start = int(rng.integers(first, n_hours - length))
                if hour_of_day is not None:
                    start = start - start % 24 + hour_of_day
                if start < first or start + length > n_hours:
                    continue
                if not taken[max(0, start - gap_hours): start + length + gap_hours].any():
                    break
            else:
                raise ValueError(f"could not place {events_per_kind} events of each kind in {weeks} weeks: "
                                 "ask for more weeks, fewer events_per_kind or a smaller gap_hours.")
            taken[start:start + length] = True
            _inject(rng, kpis[cell], kind, size, start, length, peaks)
            labels[cell, start:start + length] = KINDS.index(kind) + 1
            events.append(Anomaly(cell, kind, size, start, length))
    events.sort(key=lambda a: (a.cell, a.start))
    return CellNetwork(kpis=kpis, clean=clean, labels=labels, anomalies=tuple(events), seed=seed)


def outside_normal_range(network: CellNetwork, event: Anomaly, calibration_hours: int = HOURS_PER_WEEK,
                         low: float = 1.0, high: float = 99.0) -> bool:
    """True if any KPI during ``event`` leaves its cell's normal range: the [low, high] percentiles of the cell's
    first ``calibration_hours`` (its calibration week, which carries no fault).

    That week is what an operator has too: a stretch of history believed normal (the simulator's fault-free series,
    ``network.clean``, is something no operator has). A detector that only thresholds raw values can at best catch
    the events for which this is True.
    """
    has(network, "kpis", "network", "a CellNetwork from simulate_network()")
    has(event, "cell", "event", "an Anomaly, one of network.anomalies")
    calibration_hours = whole(calibration_hours, "calibration_hours", minimum=1,
                              fix="pass the length of the calibration period in hours, e.g. 168")
    lo, hi = np.percentile(network.kpis[event.cell, :calibration_hours], [low, high], axis=0)
    values = network.kpis[event.cell, event.start:event.stop]
    return bool(np.any((values < lo) | (values > hi)))


# --- input checks -----------------------------------------------------------------------------------------------------


def _check_cell(cell: int, n_cells: int) -> None:
    if not 0 <= whole(cell, "cell", minimum=0, fix=f"pick a cell number from 0 to {n_cells - 1}") < n_cells:
        raise ValueError(f"cell={cell} does not exist: pick a cell number from 0 to {n_cells - 1}.")


def _check_series(values, name: str, min_length: int, ndim: int | tuple[int, ...]) -> np.ndarray:
    """``values`` as a float array, with a clear error for NaNs, wrong shapes and series too short to use."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of numbers, not {type(values).__name__}.") from None
    ndims = (ndim,) if isinstance(ndim, int) else ndim
    if array.ndim not in ndims:
        raise ValueError(f"{name} should have {' or '.join(map(str, ndims))} dimensions, got shape {array.shape}.")
    if np.isnan(array).any():
        raise ValueError(f"{name} contains {int(np.isnan(array).sum())} NaN value(s): fill them first "
                         "(e.g. pandas .interpolate() or .ffill()) or drop those hours.")
    length = array.shape[-1] if array.ndim == 1 else array.shape[1]
    if length < min_length:
        raise ValueError(f"{name} is {length} hours long, too short: it needs at least {min_length} hours "
                         "(use a longer series or a shorter window).")
    return array


def _labels(labels) -> np.ndarray:
    """Labels (cells, hours), 0 = normal, else a ValueError."""
    labels = finite_array(labels, "labels", ndim=2)
    return labels


def _where(where) -> np.ndarray:
    """(n, 2) integer (cell, hour) pairs as from ``kpi_windows``, else a ValueError."""
    array = finite_array(where, "where", ndim=2, min_size=0)
    if array.shape[1:] != (2,) or (array < 0).any() or (array != np.round(array)).any():
        raise ValueError(f"where must be (n, 2) whole (cell, hour) numbers as kpi_windows returns, got {array.shape}")
    return array.astype(int)


# --- detector helpers -------------------------------------------------------------------------------------------------


def scale_cells(kpis, calibration_hours: int = HOURS_PER_WEEK) -> np.ndarray:
    """Standardise each cell and KPI with the mean and standard deviation of its first ``calibration_hours``.

    kpis: (cells, hours, k) -> (cells, hours, k). Cells of different sizes end up on the same scale, so one model
    serves them all, and a new cell only needs its calibration week.
    """
    kpis = _check_series(kpis, "kpis", calibration_hours, 3)
    calibration = kpis[:, :calibration_hours]
    mean, std = calibration.mean(axis=1, keepdims=True), calibration.std(axis=1, keepdims=True)
    return (kpis - mean) / np.maximum(std, 1e-8)


def time_features(n_hours: int, start: pd.Timestamp = START) -> np.ndarray:
    """Calendar inputs, shape (n_hours, 3): sine and cosine of the hour of day, and 1.0 on Saturdays and Sundays."""
    n_hours = whole(n_hours, "n_hours", fix="pass the number of hours, e.g. scaled.shape[1]")
    times = pd.date_range(start, periods=n_hours, freq="h")
    angle = 2 * np.pi * times.hour.to_numpy() / 24
    return np.stack([np.sin(angle), np.cos(angle), (times.dayofweek.to_numpy() >= 5).astype(float)], axis=-1)


def kpi_windows(scaled, window: int = 24, extra=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Windows of scaled KPIs (plus calendar features) to forecast each hour from the ``window`` hours before it.

    scaled: (cells, hours, k) scaled KPIs; extra: optional (hours, e) calendar features, the same for every cell,
    added to each hour of the window. Returns ``X`` (n, window, k + e) float32, ``y`` (n, k) float32 (the KPIs of the
    hour right after each window) and ``where`` (n, 2) int: the (cell, hour) each target belongs to. Each cell is cut
    by ``utils.data.window_arrays``, the course's one windowing function.
    """
    if whole(window, "window", minimum=-10**9) < 1:
        raise ValueError(f"window={window}: use a window of at least 1 hour.")
    scaled = _check_series(scaled, "scaled", window + 1, 3)
    n_cells, n_hours, _ = scaled.shape
    inputs = scaled
    if extra is not None:
        extra = np.asarray(extra, dtype=float)
        if extra.ndim != 2 or np.isnan(extra).any():
            raise ValueError(f"extra should be (hours, features) with no NaN, got shape {extra.shape}: build it with "
                             "time_features(scaled.shape[1]).")
        if extra.shape[0] != n_hours:
            raise ValueError(f"extra has {extra.shape[0]} hours but the KPIs have {n_hours}: build both for the "
                             "same hours, e.g. time_features(scaled.shape[1]).")
        inputs = np.concatenate([scaled, np.broadcast_to(extra, (n_cells,) + extra.shape)], axis=-1)
    cells = [window_arrays(inputs[c], scaled[c], window, window, n_hours) for c in range(n_cells)]
    X, y = (np.concatenate(parts) for parts in zip(*cells, strict=True))
    where = np.stack(np.meshgrid(np.arange(n_cells), np.arange(window, n_hours), indexing="ij"), axis=-1)
    return X, y, where.reshape(-1, 2)


def normal_windows(labels, where, window: int) -> np.ndarray:
    """Boolean mask over windows from ``kpi_windows``: True where the window's hours and its target are all normal.

    labels: (cells, hours) of the same cells as the windows, 0 = normal; where: (n, 2) (cell, target hour).
    Training a forecaster only on these windows teaches it what *normal* traffic looks like.
    """
    labels, where = _labels(labels), _where(where)
    window = whole(window, "window", fix="the window used by kpi_windows, e.g. 24")
    if where.size and (where[:, 0].max() >= labels.shape[0] or where[:, 1].max() >= labels.shape[1] or
                       where[:, 1].min() < window):
        raise ValueError("where does not fit labels and window: pass the where, labels and window kpi_windows used")
    anomalous = np.concatenate([np.zeros((labels.shape[0], 1), dtype=int), np.cumsum(labels > 0, axis=1)], axis=1)
    cells, targets = where[:, 0], where[:, 1]
    return (anomalous[cells, targets + 1] - anomalous[cells, targets - window]) == 0


def rolling_zscore(x, window: int = 24, min_std: float = 1e-8) -> np.ndarray:
    """z_t = (x_t - mean) / std of the ``window`` values *before* t (t itself excluded); NaN for the first ``window``.

    x: (hours,). The standard deviation is the population one (``np.std``), floored at ``min_std`` so a flat stretch
    gives 0 (not a division by zero) when the value stays on it.
    """
    if whole(window, "window", minimum=-10**9) < 2:
        raise ValueError(f"window={window}: a standard deviation needs a window of at least 2 hours.")
    x = _check_series(x, "x", window + 1, 1)
    past = window_arrays(x, x, window, window, len(x), dtype=float)[0][:, :, 0]  # row i: x[i : i+window]
    z = np.full(x.shape, np.nan)
    z[window:] = (x[window:] - past.mean(axis=1)) / np.maximum(past.std(axis=1), min_std)
    return z


def _hourly_flags(values, name: str = "flags") -> np.ndarray:
    """``values`` as a boolean array of hourly flags, or a ValueError naming the fix.

    A single value, NaN or objects are not flags: each would be read as True and score as a perfect detector.
    """
    array = np.asarray(values)
    if array.ndim == 0 or array.dtype == object or (array.dtype.kind == "f" and np.isnan(array).any()):
        raise ValueError(f"{name} must be an array of True/False, one per hour (e.g. scores > threshold), "
                         f"not {values!r:.40}")
    return array.astype(bool)


def precision_recall_f1(flags, truth) -> tuple[float, float, float]:
    """Precision, recall and F1 of boolean ``flags`` against boolean ``truth`` (same shape); 0 where undefined.

    precision = TP / (TP + FP): the share of flagged hours that are anomalous.
    recall    = TP / (TP + FN): the share of anomalous hours that are flagged.
    F1        = 2 P R / (P + R): their harmonic mean.
    """
    flags, truth = _hourly_flags(flags, "flags"), _hourly_flags(truth, "truth")
    if flags.shape != truth.shape:
        raise ValueError(f"flags {flags.shape} and truth {truth.shape} must have the same shape.")
    tp = int(np.sum(flags & truth))
    fp, fn = int(np.sum(flags & ~truth)), int(np.sum(~flags & truth))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def choose_threshold(scores, labels, candidates=None) -> tuple[float, float]:
    """The candidate threshold with the best F1 on these cells, and that F1 (the reference of notebook 05's exercise).

    scores, labels: (cells, hours); an hour is flagged when its score is above the threshold and anomalous when its
    label is above 0; hours without a score (NaN) are left out. candidates: the thresholds to try, lowest first (None:
    200 quantiles of the scores from the median up, since flagging more than half of all hours is never useful). On a
    tie the first candidate wins.
    """
    scores, labels = np.asarray(scores, dtype=float), np.asarray(labels)
    if scores.ndim == 0 or scores.shape != labels.shape or not np.isfinite(scores).any():
        raise ValueError(f"scores {scores.shape} and labels {labels.shape} must be arrays of the same shape (cells, "
                         "hours) with at least one finite score: pass a detector's scores on the validation cells "
                         "and those cells' labels")
    if candidates is None:
        candidates = np.nanquantile(scores, np.linspace(0.5, 1.0, 200, endpoint=False))
    scored = ~np.isnan(scores)
    values, truth = scores[scored], labels[scored] > 0
    best_threshold, best_f1 = np.nan, -1.0
    for threshold in candidates:
        f1 = precision_recall_f1(values > threshold, truth)[2]
        if f1 > best_f1:
            best_threshold, best_f1 = float(threshold), f1
    return best_threshold, best_f1


def day_counts(flags, labels, scored) -> np.ndarray:
    """True positives, false alarms and misses of each scored cell-day: (cell-days, 3), the units of a bootstrap.

    flags, labels, scored: (cells, hours), whole days of hours; a day counts when any of its hours is scored, and only
    its scored hours are counted. F1 is not a mean over days: a resample of days is scored by summing their counts
    first (``f1_of_counts``).
    """
    flags, labels, scored = (np.asarray(a) for a in (flags, labels, scored))
    if not flags.shape == labels.shape == scored.shape or flags.ndim != 2 or flags.shape[1] % 24:
        raise ValueError(f"flags {flags.shape}, labels {labels.shape} and scored {scored.shape} must have the same "
                         "shape (cells, hours), with whole days of hours.")
    scored = scored.astype(bool)
    flagged = (flags.astype(bool) & scored).reshape(-1, 24)
    truth = ((labels > 0) & scored).reshape(-1, 24)
    counts = np.stack([(flagged & truth).sum(1), (flagged & ~truth).sum(1), (~flagged & truth).sum(1)], axis=1)
    return counts[scored.reshape(-1, 24).any(axis=1)]


def f1_of_counts(counts) -> float:
    """F1 from (true positives, false alarms, misses) summed over the rows of ``counts`` (``day_counts``); 0 if 0/0."""
    tp, fp, fn = np.asarray(counts, dtype=float).reshape(-1, 3).sum(axis=0)
    return float(2 * tp / (2 * tp + fp + fn)) if tp else 0.0


def scorecard(flags, labels, anomalies, scored) -> dict:
    """One detector's held-out numbers, as a row of the comparison table.

    Precision, recall and F1 over the scored hours; recall (the share of anomalous hours flagged) on the large and on
    the subtle faults and on each kind; events with at least one flagged hour; and false alarms per cell-day. A false
    alarm has no kind or size, so detection is given per kind and size, and false alarms once: a per-kind F1 would
    count every false alarm against every kind. flags, labels, scored: (cells, hours), ``scored`` marks the hours
    every detector is judged on (flags outside it are ignored); anomalies: events whose ``cell`` indexes the rows.
    """
    flags, labels, scored = (np.asarray(a) for a in (flags, labels, scored))
    if not flags.shape == labels.shape == scored.shape:
        raise ValueError(f"flags {flags.shape}, labels {labels.shape} and scored {scored.shape} must have the same "
                         "shape (cells, hours).")
    if not scored.astype(bool).any():
        raise ValueError("scored marks no hour: pass True for the hours every detector is judged on")
    flags, scored = flags.astype(bool) & scored.astype(bool), scored.astype(bool)
    row = dict(zip(("precision", "recall", "F1"), precision_recall_f1(flags[scored], labels[scored] > 0),
                   strict=True))
    size = np.full(labels.shape, "", dtype=object)
    for a in anomalies:
        size[a.cell, a.start:a.stop] = a.size
    groups = [(name, size == name) for name in SIZES] + [(kind, labels == i + 1) for i, kind in enumerate(KINDS)]
    for name, hours in groups:
        hours = hours & scored
        row[f"recall {name}"] = float(flags[hours].mean()) if hours.any() else np.nan
    row["events found"] = sum(bool(flags[a.cell, a.start:a.stop].any()) for a in anomalies)
    row["false alarms / cell-day"] = float((flags & (labels == 0)).sum() / (scored.sum() / 24))
    return row


def events_found(flags, anomalies) -> pd.DataFrame:
    """For each kind and size: events with at least one flagged hour, and the share of their hours flagged.

    Cells read "found/total (share of hours %)". flags: (cells, hours) bool; anomalies: events whose ``cell``
    indexes the rows of ``flags``.
    """
    flags = np.asarray(flags, dtype=bool)
    table = pd.DataFrame("", index=pd.Index(KINDS, name="kind"), columns=list(SIZES))
    for kind in KINDS:
        for size in SIZES:
            events = [a for a in anomalies if a.kind == kind and a.size == size]
            found = sum(bool(flags[a.cell, a.start:a.stop].any()) for a in events)
            hours = np.concatenate([flags[a.cell, a.start:a.stop] for a in events]) if events else np.zeros(0)
            share = f" ({hours.mean():.0%})" if events else ""
            table.loc[kind, size] = f"{found}/{len(events)}{share}"
    return table


def renumber(anomalies, cells) -> list[Anomaly]:
    """The events of ``cells`` (a list of cell numbers), with ``cell`` renumbered to the position in that list."""
    position = {cell: i for i, cell in enumerate(cells)}
    return [Anomaly(position[a.cell], a.kind, a.size, a.start, a.length) for a in anomalies if a.cell in position]


def models_as_one(models):
    """Several Keras models as one: it takes a list of inputs, one per model, and returns their outputs, in order.

    The models' layers are shared, so fitting it (each output with its own target) trains every model, all on the
    same batches, and one call of ``predict_on_batch`` runs them all: a detector that watches hour by hour then makes
    one call an hour, not one per model.
    """
    import keras

    models = list(models) if isinstance(models, list | tuple) else None
    if not models or not all(isinstance(m, keras.Model) for m in models):
        raise ValueError("models_as_one takes a list of Keras models, such as [build_kpi_forecaster('LSTM', 7, "
                         "f'LSTM_{i}') for i in range(3)]")
    inputs = [keras.Input(shape=m.input_shape[1:]) for m in models]
    return keras.Model(inputs, [m(x) for m, x in zip(models, inputs, strict=True)], name="models_as_one")


def train_side_by_side(build, X, y, seeds, fit_seed: int, epochs: int, batch_size: int = 64,
                       learning_rate: float = 3e-3):
    """One model per seed, ``build(i)`` with its weights drawn from that seed, trained side by side on (X, y).

    Adam and the mean squared error; the batches come in the order ``course.reseed(fit_seed)`` gives, whatever code
    ran before. Returns the models joined by ``models_as_one``; prints their size, the time and the mean training MSE
    per epoch.
    """
    import time

    import keras

    from utils import course

    seeds = list(seeds) if isinstance(seeds, list | tuple) else None
    if not seeds or not callable(build):
        raise ValueError("train_side_by_side(build, X, y, seeds, ...) needs a function build(i) that returns a fresh "
                         "Keras model and a list of seeds, such as course.seeds(3)")
    models = []
    for i, seed in enumerate(seeds):
        keras.utils.set_random_seed(seed)
        models.append(build(i))
    together = models_as_one(models)
    together.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="mse")
    course.reseed(fit_seed)
    started = time.perf_counter()
    history = together.fit([X] * len(models), [y] * len(models), epochs=epochs, batch_size=batch_size, verbose=0)
    mse = np.array(history.history["loss"]) / len(models)
    print(f"{len(models)} × {models[0].name.rsplit('_', 1)[0]}: {models[0].count_params()} parameters each, {epochs} "
          f"epochs in {time.perf_counter() - started:.1f} s; mean training MSE per epoch (scaled units²): "
          f"{np.round(mse, 3).tolist()}")
    return together


def forecast_errors(together, series, calendar, first: int) -> np.ndarray:
    """Each model's forecast errors x_t - x̂_t from the windows of ``series``: (models, cells, hours, k), NaN before
    hour ``first``.

    together: models joined by ``models_as_one``, each reading windows of ``kpi_windows(series, window, calendar)``
    (the window length is read from the models); series: (cells, hours, k), what they read and forecast.
    """
    series = _check_series(series, "series", 2, 3)
    window = together.inputs[0].shape[1]
    X, y, where = kpi_windows(series, window, calendar)
    keep = where[:, 1] >= first
    predicted = together.predict([X[keep]] * len(together.inputs), batch_size=1024, verbose=0)
    errors = np.full((len(predicted),) + series.shape, np.nan)
    for m, forecast in enumerate(predicted):
        errors[m, where[keep, 0], where[keep, 1]] = y[keep] - forecast
    return errors


def model_forecast(together, windows, calendar, t: int) -> np.ndarray:
    """Each model's forecast of hour ``t`` from its own windows of the hours before t, calendar features added.

    windows: (models, cells, window, k), the k values of the hours t - window ... t - 1; returns (models, cells, k).
    One ``predict_on_batch`` call runs every model: a detector that watches hour by hour calls this once an hour.
    """
    windows = finite_array(windows, "windows", ndim=4)
    hours = windows.shape[-2]
    features = np.broadcast_to(calendar[t - hours:t], windows.shape[:-1] + (calendar.shape[1],))
    inputs = np.concatenate([windows, features], axis=-1).astype("float32")
    return np.stack(together.predict_on_batch(list(inputs)))


def mean_scorecard(runs, labels, anomalies, scored) -> dict:
    """The ``scorecard`` of a detector averaged over its runs (one flags array per training seed), with their number
    and the range of their F1."""
    if isinstance(runs, np.ndarray | str) or not isinstance(runs, list | tuple) or not runs:
        raise ValueError("runs must be a list of flags arrays, one per trained model, such as [flags] for one run")
    rows = pd.DataFrame([scorecard(flags, labels, anomalies, scored) for flags in runs])
    spread = f"{rows['F1'].min():.2f}–{rows['F1'].max():.2f}" if len(rows) > 1 else ""
    return {"runs": len(rows), **rows.mean().to_dict(), "F1 range": spread}


# --- plots ------------------------------------------------------------------------------------------------------------


def plot_cell(network: CellNetwork, cell: int, hours: slice = slice(None), kpis=("users", "dl_throughput_mbps"),
              flags=None, title: str | None = None, ax=None):
    """Plot some KPIs of one cell over ``hours`` with the injected anomalies shaded by kind and ``flags`` marked.

    flags: optional ``{detector name: (hours,) bool}`` for this cell, drawn as markers on the first KPI (one row of
    markers per detector, so they don't hide each other). Returns the matplotlib axes.
    """
    import matplotlib.pyplot as plt

    has(network, "n_cells", "network", "a CellNetwork from simulate_network()")
    _check_cell(cell, network.n_cells)
    frame = network.frame(cell).iloc[hours]
    if ax is None:
        ax = plt.subplots(len(kpis), 1, figsize=(10, 2.2 * len(kpis)), layout="constrained", sharex=True)[1]
    axes = ax
    axes = np.atleast_1d(axes)
    for axis, kpi in zip(axes, kpis, strict=True):
        axis.plot(frame.index, frame[kpi], lw=0.9, color="C0", label=kpi)
        axis.set_ylabel(f"{kpi}\n({KPI_UNITS[kpi]})", fontsize=8)
    shown = set()
    for event in network.anomalies:
        if event.cell != cell:
            continue
        lo, hi = network.times[event.start], network.times[event.stop - 1] + pd.Timedelta(hours=1)
        if hi < frame.index[0] or lo > frame.index[-1]:
            continue
        for axis in axes:
            label = f"{event.kind} (injected)" if event.kind not in shown and axis is axes[0] else None
            axis.axvspan(lo, hi, color=_KIND_COLORS[event.kind], alpha=0.25, label=label)
        shown.add(event.kind)
    top = frame[kpis[0]].max()
    for i, (name, flagged) in enumerate((flags or {}).items()):
        marked = np.asarray(flagged, dtype=bool)[hours]
        axes[0].plot(frame.index[marked], np.full(marked.sum(), top * (1.08 + 0.1 * i)), _MARKERS[i % len(_MARKERS)],
                     ms=4, label=f"flagged by {name}")
    if flags:
        axes[0].set_ylim(top=top * (1.15 + 0.1 * len(flags)))
    axes[0].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    axes[0].set_title(title or f"Cell {cell}", fontsize=10)
    axes[-1].set_xlabel("time (hourly)")
    for axis in axes:
        axis.tick_params(axis="x", labelrotation=20, labelsize=8)
    return axes
