"""Data loading that works offline (daily stock prices: yfinance, then a cache, then bundled data; monthly closes;
the Niño 1+2 series), and the course's one windowing function, ``window_arrays``.

``load_prices`` tries, in order: a live download with yfinance (at most ``COURSE_DOWNLOAD_TIMEOUT`` seconds, 8 by
default), the downloads cached in the course's data folder (``utils.data_home("cache")``, never the repository,
which may be read-only), and the copy bundled in ``data/`` (see ``data/README.md``). A local copy is used only if it
holds every trading day of the requested range, so a short or old download never stands in for the bundled copy;
when none does, the error says what each one holds. A cached file is checked as strictly as a download; a damaged one
is moved aside. It prints one line saying which source it used and why. Set ``COURSE_OFFLINE=1`` (CI does) or pass
``offline=True`` to skip the network.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import math
import numbers
import os
import subprocess
import sys
import tarfile
import tempfile
import threading
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import utils
from utils import DATA_DIR, env_flag
from utils.validate import finite_array, whole

PRICE_COLUMNS = ["Open", "High", "Low", "Close", "Volume"]
#: Columns that must hold a number on every row (Volume may be missing on some days).
REQUIRED_PRICES = ["Open", "High", "Low", "Close"]
#: Bundled daily prices: ticker -> (file in data/, member inside the archive).
BUNDLED_PRICES = {"MSFT": ("msft.tar.gz", "msft.csv")}
OFFLINE_ENV = "COURSE_OFFLINE"
#: Total seconds a download may take before the loader gives up and uses a local copy.
TIMEOUT_ENV = "COURSE_DOWNLOAD_TIMEOUT"
DEFAULT_TIMEOUT_S = 8.0
#: The longest the exchange was closed in the bundled history, in calendar days (11-16 September 2001). A local copy
#: with a longer stretch without rows inside a requested range, or at its ends, lacks trading days of that range.
LONGEST_CLOSURE_DAYS = 6


class DownloadError(RuntimeError):
    """A live download failed or returned unusable data; the loader falls back to local copies."""


class BadPriceData(ValueError):
    """A price table (downloaded or cached) that cannot be used: unreadable dates, non-numeric or missing prices."""


def cache_dir() -> Path:
    """Where downloads are cached: ``utils.data_home("cache")`` (``$COURSE_DATA_HOME/cache`` if that is set)."""
    return utils.data_home("cache")


def __getattr__(name: str):
    """``data.CACHE_DIR``, the same folder as ``cache_dir()``, looked up when asked (the env var may change)."""
    if name == "CACHE_DIR":
        return cache_dir()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def is_offline(offline: bool | None = None) -> bool:
    """True when the caller or the environment (``COURSE_OFFLINE=1``) asks for no network access."""
    if offline is not None:
        return bool(offline)
    return env_flag(OFFLINE_ENV)


def download_timeout(timeout: float | None = None) -> float:
    """Seconds a download may take in all: ``timeout`` if given, else ``$COURSE_DOWNLOAD_TIMEOUT``, else 8."""
    raw = timeout if timeout is not None else os.environ.get(TIMEOUT_ENV, "").strip() or DEFAULT_TIMEOUT_S
    try:
        seconds = float(raw)
    except (TypeError, ValueError):
        seconds = math.nan
    if isinstance(raw, bool) or not (0 < seconds < math.inf):
        source = "timeout" if timeout is not None else f"${TIMEOUT_ENV}"
        raise ValueError(f"{source} must be a positive number of seconds such as 8, not {raw!r}")
    return seconds


def load_prices(ticker: str, start=None, end=None, *, offline: bool | None = None,
                timeout: float | None = None) -> pd.DataFrame:
    """Daily prices of ``ticker`` from ``start`` to ``end``, both inclusive.

    ``start`` / ``end``: a year (``2015``, ``"2015"``: from 1 January / to 31 December), a date string
    (``"2015-06-30"``), a ``datetime.date`` / ``datetime`` / ``pd.Timestamp`` (a time zone is dropped, the date is
    kept), or None for "from the beginning" / "to the end". ``timeout``: seconds the download may take in all.
    Returns a DataFrame with a tz-naive ``DatetimeIndex`` named ``Date`` and the columns Open, High, Low, Close, Volume.
    Offline, or when the download fails, the first local copy that holds every trading day of the range is used (the
    cache, then the bundled copy; see ``_holds_range``). Raises ``ValueError`` naming what each source holds when none
    has the ticker or the whole date range.
    """
    ticker = _normalise_ticker(ticker)
    start_ts, end_ts = _parse_range(start, end)
    limit = download_timeout(timeout)
    failure = "offline mode"
    if not is_offline(offline):
        try:
            frame = clean_price_frame(_download(ticker, start_ts, end_ts, limit), ticker)
            _write_cache(ticker, frame)
            return _select(frame, ticker, start_ts, end_ts, "live from Yahoo Finance (yfinance)")
        except Exception as exc:  # any failure means: fall back to local copies, and say why
            failure = f"download failed: {_one_line(exc)}"
    sources = list(_local_sources(ticker))
    if not sources:
        raise ValueError(
            f"No price data for {ticker!r}: {failure}, and there is no cached or bundled copy. "
            f"Available offline: {_describe_available()}. Check the ticker symbol, or connect to the internet."
        )
    for i, (source, frame, note) in enumerate(sources):
        if _holds_range(frame, start_ts, end_ts, later=[f for _, f, _ in sources[i + 1:]]):
            return _select(frame, ticker, start_ts, end_ts, f"{source} ({failure}{note})")
    held = "; ".join(f"the {source.split(' (')[0]}" + (f" ({_cache_path(ticker)})" if source == _CACHED else "")
                     + f" holds {_holding(frame)}" for source, frame, _ in sources)
    online = (f"go online to download them (unset {OFFLINE_ENV}, or pass offline=False)" if failure == "offline mode"
              else "download them once the network works")
    raise ValueError(
        f"No local copy of {ticker} prices holds every trading day from {_day(start_ts)} to {_day(end_ts)} "
        f"({failure}{sources[-1][2]}): {held}. Choose dates inside one of these ranges, or {online}."
    )


def _holds_range(frame: pd.DataFrame, start, end, later=()) -> bool:
    """Whether the price table ``frame`` has a row for every trading day from ``start`` to ``end`` (timestamps or None).

    Trading days are not listed anywhere, so a missing one shows as a stretch of more than ``LONGEST_CLOSURE_DAYS``
    calendar days without a row, inside the range or between its ends and the first / last row. An open end (None)
    reaches as far as the copies in ``later`` (those it would be used instead of) reach: a copy of one week in 2024
    does not hold "everything up to the end" while the bundled copy holds 31 years.
    """
    tables = [frame, *later]
    first = start if start is not None else min(table.index[0] for table in tables)
    last = end if end is not None else max(table.index[-1] for table in tables)
    days = frame.index[(frame.index >= first) & (frame.index <= last)]
    if days.empty:
        return False
    one = pd.Timedelta(days=1)
    bounds = pd.DatetimeIndex([first - one, *days, last + one])
    return bool((bounds[1:] - bounds[:-1]).max() <= pd.Timedelta(days=LONGEST_CLOSURE_DAYS + 1))


def load_monthly_closes() -> pd.DataFrame:
    """Monthly closing prices of MSFT, AMZN, IBM, AAPL (2000-01 … 2010-03) and GOOG (from 2004-08), bundled.

    Wide table: one row per month (``DatetimeIndex``), one column per company, NaN before a company's first month.
    The companies have histories of different lengths, which is the lecture's "company A vs company B".
    """
    raw = pd.read_csv(DATA_DIR / "stocks.csv")
    raw["date"] = pd.to_datetime(raw["date"], format="%b %d %Y")
    wide = raw.pivot(index="date", columns="symbol", values="price")
    wide.index.name, wide.columns.name = "Date", None
    return wide[["MSFT", "AMZN", "IBM", "AAPL", "GOOG"]]


def clean_price_frame(frame: pd.DataFrame, ticker: str) -> pd.DataFrame:
    """Bring a yfinance result into the course's shape, or raise ``DownloadError`` if it is unusable.

    Handles what yfinance versions differ in: MultiIndex columns (since 0.2.48), a tz-aware index, extra columns;
    drops the rows without a close (yfinance pads holidays with them), then checks it like a cached file.
    """
    if frame is not None and not isinstance(frame, pd.DataFrame):
        raise ValueError(f"frame must be the DataFrame yf.download() returns, not {type(frame).__name__}")
    if frame is None or len(frame) == 0:
        raise DownloadError(f"yfinance returned no rows for {ticker}")
    frame = frame.copy()
    if isinstance(frame.columns, pd.MultiIndex):
        level = next((i for i in range(frame.columns.nlevels) if "Close" in frame.columns.get_level_values(i)), 0)
        frame.columns = frame.columns.get_level_values(level)
    missing = [c for c in PRICE_COLUMNS if c not in frame.columns]
    if missing:
        raise DownloadError(f"yfinance result for {ticker} lacks columns {missing}")
    frame = frame.loc[:, PRICE_COLUMNS].dropna(subset=["Close"])
    if frame.empty:
        raise DownloadError(f"yfinance returned only empty rows for {ticker}")
    try:
        return checked_prices(frame)
    except BadPriceData as exc:
        raise DownloadError(f"yfinance result for {ticker} is unusable: {exc}") from None


def checked_prices(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a sorted, tz-naive ``DatetimeIndex`` named Date and float price columns, or ``BadPriceData``.

    The one check every price table passes, downloaded or cached: every index value a date, no date twice, Open,
    High, Low and Close numbers on every row and above zero, Volume a number where present.
    """
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"frame must be a DataFrame with columns {PRICE_COLUMNS}, not {type(frame).__name__}")
    missing = [c for c in PRICE_COLUMNS if c not in frame.columns]
    if missing:
        raise BadPriceData(f"columns {missing} are missing")
    frame = frame.loc[:, PRICE_COLUMNS].copy()
    if not isinstance(frame.index, pd.DatetimeIndex):
        parsed = pd.to_datetime(pd.Series(frame.index.astype(str)), errors="coerce", format="ISO8601")
        if parsed.isna().any():
            raise BadPriceData(f"unreadable dates, e.g. {frame.index[int(parsed.isna().to_numpy().argmax())]!r}")
        frame.index = pd.DatetimeIndex(parsed)
    if frame.index.tz is not None:
        frame.index = frame.index.tz_localize(None)
    frame.index.name = "Date"
    for column in PRICE_COLUMNS:
        numbers_ = pd.to_numeric(frame[column], errors="coerce")
        bad = numbers_.isna() & frame[column].notna()
        if bad.any():
            raise BadPriceData(f"non-numeric {column} values, e.g. {frame[column][bad].iloc[0]!r}")
        frame[column] = numbers_.astype(float)
    gaps = frame[REQUIRED_PRICES].isna().any(axis=1)
    if gaps.any():
        raise BadPriceData(f"{int(gaps.sum())} row(s) without a price, the first on {frame.index[gaps][0].date()}")
    if (frame[REQUIRED_PRICES] <= 0).any(axis=None):
        raise BadPriceData("prices of zero or below")
    if frame.index.has_duplicates:
        raise BadPriceData(f"the date {frame.index[frame.index.duplicated()][0].date()} appears twice")
    if frame.empty:
        raise BadPriceData("no rows")
    return frame.sort_index()


# --- download -------------------------------------------------------------------------------------------------------


def _download(ticker: str, start: pd.Timestamp | None, end: pd.Timestamp | None,
              limit: float = DEFAULT_TIMEOUT_S) -> pd.DataFrame:
    """Download with yfinance within ``limit`` seconds, in this process if curl_cffi works here, else in a fresh one."""
    if _impersonation_works():
        return _within(limit, _quiet_download, ticker, start, end, limit)
    return _download_in_subprocess(ticker, start, end, limit)


def _within(limit: float, function, *args):
    """``function(*args)`` in a worker thread; ``DownloadError`` if it has not finished after ``limit`` seconds.

    A network that accepts connections and never answers would otherwise hold the cell for minutes (yfinance retries).
    The abandoned thread is a daemon: it ends with its own socket timeout and never blocks the kernel from exiting.
    """
    outcome = {}

    def work():
        try:
            outcome["value"] = function(*args)
        except BaseException as exc:  # handed to the caller's thread below
            outcome["error"] = exc

    worker = threading.Thread(target=work, name="course-download", daemon=True)
    worker.start()
    worker.join(limit)
    if worker.is_alive():
        raise DownloadError(f"no answer within {limit:g} s (set {TIMEOUT_ENV} to wait longer)")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


class _Collect(logging.Handler):
    """Keeps log messages in a list instead of printing them."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(" ".join(record.getMessage().split()))


def _quiet_download(ticker: str, start, end, limit: float = DEFAULT_TIMEOUT_S) -> pd.DataFrame:
    """``_yfinance_download`` without its log lines and pandas warnings; an empty result names yfinance's reason.

    Offline, yfinance logs about ten lines (crumb, failed download, deprecations) above the course's one line.
    """
    import yfinance  # noqa: F401  (first: importing it puts its own "show DeprecationWarnings" filter in front)

    warnings.filterwarnings("ignore", module=r"yfinance(\.|$)")  # warnings raised inside yfinance's own code
    logger, collect = logging.getLogger("yfinance"), _Collect()
    propagate, logger.propagate = logger.propagate, False
    logger.addHandler(collect)
    try:
        frame = _yfinance_download(ticker, start, end, limit)
    finally:
        logger.removeHandler(collect)
        logger.propagate = propagate
    if (frame is None or len(frame) == 0) and collect.messages:
        reason = next((m for m in reversed(collect.messages) if ticker in m), collect.messages[-1])
        raise DownloadError(f"yfinance returned no rows for {ticker}: {reason[:160]}")
    return frame


def _yfinance_download(ticker: str, start, end, timeout: float = DEFAULT_TIMEOUT_S) -> pd.DataFrame:
    """One yfinance call, ``auto_adjust`` explicit (its default changed in 0.2.51).

    ``yf.download`` swallows errors and returns an empty frame; ``clean_price_frame`` turns that into a failure.
    """
    import yfinance as yf

    end_exclusive = None if end is None else end + pd.Timedelta(days=1)  # yfinance's end date is exclusive
    kwargs = {"start": start, "end": end_exclusive} if start is not None or end is not None else {"period": "max"}
    return yf.download(ticker, auto_adjust=True, progress=False, threads=False, timeout=timeout, **kwargs)


def _impersonation_works() -> bool:
    """Whether curl_cffi can still impersonate a browser in this process (TensorFlow imported first breaks it).

    Probes a closed local port: a working curl_cffi fails to connect, a broken one refuses to impersonate.
    """
    try:
        from curl_cffi import requests as curl_requests
    except ImportError:
        return True  # older yfinance uses requests; nothing to check
    try:
        curl_requests.get("http://127.0.0.1:9/", impersonate="chrome", timeout=1)
    except Exception as exc:  # a connection error is expected; ImpersonateError is the breakage
        return "impersonat" not in str(exc).lower()
    return True


def _download_in_subprocess(ticker: str, start, end, limit: float = DEFAULT_TIMEOUT_S) -> pd.DataFrame:
    """Run the download in a fresh interpreter (no TensorFlow loaded), killed after ``limit`` s; read its CSV back."""
    args = [ticker, "" if start is None else start.date().isoformat(), "" if end is None else end.date().isoformat()]
    try:
        done = subprocess.run([sys.executable, "-W", "ignore", "-m", "utils.data", *args, str(limit)],
                              capture_output=True, text=True, timeout=limit, cwd=DATA_DIR.parent)
    except subprocess.TimeoutExpired:
        raise DownloadError(f"no answer within {limit:g} s (set {TIMEOUT_ENV} to wait longer)") from None
    if done.returncode != 0:
        raise DownloadError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "download process failed")
    return pd.read_csv(io.StringIO(done.stdout), index_col=0, parse_dates=True)


# --- local copies ---------------------------------------------------------------------------------------------------


def _cache_path(ticker: str) -> Path:
    return cache_dir() / f"{ticker}.csv"


def _write_cache(ticker: str, frame: pd.DataFrame) -> None:
    """Write the cache atomically: a temporary file in the same folder, moved into place only when complete.

    A download that covers less than the cached copy does not shrink the cache; a damaged cache is moved aside.
    """
    path = _cache_path(ticker)
    if path.exists():
        old, _ = _read_cache(path)
        if old is not None:
            frame = pd.concat([old[~old.index.isin(frame.index)], frame]).sort_index()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{ticker}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            frame.to_csv(handle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_csv_prices(path_or_buffer) -> pd.DataFrame:
    """Read a price CSV (Date index first) and check it with ``checked_prices``."""
    return checked_prices(pd.read_csv(path_or_buffer, index_col=0))


def _read_cache(path: Path) -> tuple[pd.DataFrame | None, str]:
    """(the cached prices, "") if the file passes the checks, else (None, a note saying why and where it went).

    A file that fails is renamed ``<TICKER>.csv.damaged`` so it is neither used nor merged into again.
    """
    try:
        return _read_csv_prices(path), ""
    except Exception as exc:  # unreadable CSV, unreadable dates, non-numeric or missing prices
        reason = str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__
        aside = path.with_name(path.name + ".damaged")
        try:
            os.replace(path, aside)
            where = f"moved to {aside}"
        except OSError:
            where = f"left at {path}"
    return None, f"; the cached copy was unusable ({reason}), {where}"


def _read_bundled(ticker: str) -> pd.DataFrame:
    archive, member = BUNDLED_PRICES[ticker]
    with tarfile.open(DATA_DIR / archive) as tar:
        return _read_csv_prices(tar.extractfile(member))


_CACHED = "cached copy in the course data folder"


def _local_sources(ticker: str):
    """Yield (description, frame, note) for the cache, then the bundled copy, whichever exist and are usable.

    ``note`` says why a damaged cache was skipped, so the one printed line (or the error) can say it too.
    """
    note = ""
    if _cache_path(ticker).exists():
        cached, note = _read_cache(_cache_path(ticker))
        if cached is not None:
            yield _CACHED, cached, ""
    if ticker in BUNDLED_PRICES:
        yield "bundled copy (see data/README.md)", _read_bundled(ticker), note


def _holding(frame: pd.DataFrame) -> str:
    """What a price table holds, for an error: its span, its number of rows, and its longest hole if it has one."""
    text = f"{_span(frame)} ({len(frame):,} trading days"
    gaps = frame.index[1:] - frame.index[:-1]
    if len(gaps) and gaps.max() > pd.Timedelta(days=LONGEST_CLOSURE_DAYS + 1):
        after = int(gaps.argmax())
        text += f", none from {(frame.index[after] + pd.Timedelta(days=1)).date()} to " \
                f"{(frame.index[after + 1] - pd.Timedelta(days=1)).date()}"
    return text + ")"


def _describe_available() -> str:
    parts = []
    for ticker in sorted(BUNDLED_PRICES):
        frame = _read_bundled(ticker)
        parts.append(f"{ticker} (bundled, {_span(frame)})")
    parts += [f"{p.stem} (cached)" for p in sorted(cache_dir().glob("*.csv")) if p.stem not in BUNDLED_PRICES]
    return ", ".join(parts)


# --- small helpers --------------------------------------------------------------------------------------------------


def _normalise_ticker(ticker) -> str:
    if not isinstance(ticker, str) or not ticker.strip():
        raise ValueError(f"ticker must be a non-empty string such as 'MSFT', not {ticker!r}")
    return ticker.strip().upper()


_DATE_FIX = "write a year (2015), a date string ('2015-06-30'), a datetime.date or a pd.Timestamp, or None"


def _parse_day(value, name: str, last: bool) -> pd.Timestamp | None:
    """One end of a date range as a tz-naive day; a bare year means its first (``last=False``) or last day."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) == 4:
        value = int(value)
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if not 1900 <= value <= 2100:
            raise ValueError(f"{name}={value!r} is not a year between 1900 and 2100: {_DATE_FIX}")
        return pd.Timestamp(year=int(value), month=12 if last else 1, day=31 if last else 1)
    if not isinstance(value, (str, dt.date, pd.Timestamp)) and not hasattr(value, "dtype"):
        raise ValueError(f"{name}={value!r} ({type(value).__name__}) is not a date: {_DATE_FIX}")
    try:
        ts = pd.Timestamp(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name}={value!r} is not a date pandas can read: {_DATE_FIX}") from None
    if ts is pd.NaT:
        raise ValueError(f"{name} is missing (NaT): {_DATE_FIX}")
    return ts.tz_localize(None) if ts.tz is not None else ts


def _parse_range(start, end):
    """``start`` and ``end`` as tz-naive timestamps (see ``load_prices``), or a ValueError that names the fix."""
    start_ts, end_ts = _parse_day(start, "start", last=False), _parse_day(end, "end", last=True)
    if start_ts is not None and end_ts is not None and start_ts > end_ts:
        raise ValueError(f"start {start_ts.date()} is after end {end_ts.date()}: swap them")
    return start_ts, end_ts


def _select(frame: pd.DataFrame, ticker: str, start, end, source: str) -> pd.DataFrame:
    """Cut ``frame`` to [start, end], raise if that leaves nothing, and print the one line naming the source."""
    chosen = frame.loc[start:end]
    if chosen.empty:
        raise ValueError(
            f"No {ticker} prices between {_day(start)} and {_day(end)} in the {source.split(' (')[0]}: "
            f"it covers {_span(frame)}. Choose dates inside that range."
        )
    print(f"{ticker} prices: {source}; {_span(chosen)}, {len(chosen):,} trading days.")
    return chosen


def _span(frame: pd.DataFrame) -> str:
    return f"{frame.index[0].date()} … {frame.index[-1].date()}"


def _day(ts) -> str:
    return "the beginning" if ts is None else str(ts.date()) if hasattr(ts, "date") else str(ts)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _main(argv: list[str]) -> int:
    """``python -m utils.data TICKER START END [TIMEOUT]`` (``_download_in_subprocess``): prices as CSV on stdout."""
    ticker, start, end, limit = (argv + ["", "", "", ""])[:4]
    try:
        frame = _quiet_download(ticker, pd.Timestamp(start) if start else None, pd.Timestamp(end) if end else None,
                                download_timeout(limit or None))
        clean_price_frame(frame, ticker).to_csv(sys.stdout)
    except Exception as exc:  # one line on stderr: the parent shows it as the reason for falling back
        print(_one_line(exc), file=sys.stderr)
        return 1
    return 0


# --- windows (notebooks 05 and 08) ----------------------------------------------------------------------------------


def window_arrays(inputs, targets, window: int, first: int, last: int, *, dtype="float32"):
    """The course's one windowing function: for each target index ``t`` in ``[first, last)``, the window
    ``X[j] = inputs[t-window : t]`` and its target ``y[j] = targets[t]``.

    ``inputs``: (time,) or (time, features); ``targets``: (time,) or (time, k). Returns X (n, window, features) and
    y (n, k), n = last - first, as ``dtype`` (float32 by default, Keras' dtype). The window always ends the step
    before its target. Cut with NumPy's ``sliding_window_view``; ``make_windows``, the Keras datasets of
    ``utils.forecasting`` and the KPI windows of ``utils.anomaly`` are all made by this function.
    """
    inputs, targets = _checked_windows(inputs, targets, window, first, last)
    view = np.lib.stride_tricks.sliding_window_view(inputs[first - window:last - 1], window, axis=0)
    return np.moveaxis(view, -1, 1).astype(dtype), targets[first:last].astype(dtype)


def _checked_windows(inputs, targets, window: int, first: int, last: int) -> tuple[np.ndarray, np.ndarray]:
    """``inputs`` and ``targets`` as 2-D float arrays after every check windowing needs, each naming the fix.

    Only the part the windows read must be free of NaN: ``horizon_targets`` leaves NaN past the end on purpose.
    """
    window = whole(window, "window", fix="the number of past time steps each forecast sees, e.g. 30")
    first, last = whole(first, "first", minimum=0), whole(last, "last", minimum=0)
    inputs, targets = _float_array(inputs, "inputs"), _float_array(targets, "targets")
    if inputs.ndim not in (1, 2) or targets.ndim not in (1, 2):
        raise ValueError(f"inputs and targets must be (time,) or (time, features), got {inputs.shape} and "
                         f"{targets.shape}")
    if first < window:
        raise ValueError(f"first target index {first} leaves no room for a window of {window} steps before it: "
                         f"use first >= {window}")
    if not first < last <= len(targets):
        raise ValueError(f"need first < last <= {len(targets)} (the series length), got first={first}, last={last}")
    if len(inputs) < last - 1:
        raise ValueError(f"inputs has {len(inputs)} steps but the windows need {last - 1}: pass the whole series")
    finite_array(inputs[first - window:last - 1], "inputs (the part the windows read)")
    finite_array(targets[first:last], "targets (the part [first, last) the windows predict)")
    inputs, targets = (a[:, None] if a.ndim == 1 else a for a in (inputs, targets))
    return inputs, targets


def _float_array(values, name: str) -> np.ndarray:
    """``values`` as a float array, else a ValueError naming the fix. NaN is kept: only the part a window reads must be
    finite, and ``utils.forecasting``'s scalers pass gaps through."""
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numbers (a list, NumPy array or pandas Series of floats), "
                         f"not {type(values).__name__}") from None


def horizon_targets(series, horizon: int) -> np.ndarray:
    """Targets for direct multi-step forecasting: row ``t`` holds ``series[t : t+horizon]`` (NaN past the end).

    Shape (time, horizon); with ``window_arrays`` a window ending at step t-1 predicts the whole row t at once.
    """
    series = finite_array(series, "series").reshape(-1)
    horizon = whole(horizon, "horizon", fix="the number of future steps to predict, e.g. 5")
    padded = np.concatenate([series, np.full(horizon - 1, np.nan)])
    return np.lib.stride_tricks.sliding_window_view(padded, horizon).copy()


def make_windows(series, window: int, horizon: int = 1, target: int = 0):
    """Cut a series into (input window, future values) pairs for supervised forecasting (notebook 08's Exercise 1).

    ``series``: shape (time,) or (time, features). Returns ``(X, y)`` with ``X[i] = series[i : i+window]`` of shape
    (n, window, features) and ``y[i] = series[i+window : i+window+horizon, target]`` of shape (n, horizon), where
    n = time - window - horizon + 1. The target values always come *after* the window: no window contains its target.
    """
    values = np.asarray(series, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise ValueError(f"series must have shape (time,) or (time, features), not {values.shape}")
    for name, number in (("window", window), ("horizon", horizon)):
        if not isinstance(number, (int, np.integer)) or isinstance(number, bool) or number < 1:
            raise ValueError(f"{name} must be a positive whole number of time steps, not {number!r}")
    if not 0 <= target < values.shape[1]:
        raise ValueError(f"target={target} is not a column of a series with {values.shape[1]} feature(s)")
    if window + horizon > len(values):
        raise ValueError(
            f"window + horizon = {window} + {horizon} = {window + horizon} is longer than the series "
            f"({len(values)} steps): use a shorter window or horizon, or a longer series"
        )
    if np.isnan(values).any():
        first = int(np.argwhere(np.isnan(values))[0, 0])
        raise ValueError(
            f"series has {int(np.isnan(values).sum())} NaN value(s), the first at position {first}: "
            "fill them first (e.g. pandas .interpolate() or .ffill()) or drop those rows"
        )
    # Exercise 1's reference, written as an answer would be (window_arrays is the course's own windowing function,
    # which an answer may not call): tests/test_data.py checks that the two cut the same windows.
    n = len(values) - window - horizon + 1
    X = np.stack([values[i:i + window] for i in range(n)])
    y = np.stack([values[i + window:i + window + horizon, target] for i in range(n)])
    return X, y


def load_elnino() -> pd.Series:
    """Monthly mean sea-surface temperature (°C) of the Niño 1+2 region, Jan 1950 … Dec 2010, bundled (732 months).

    A real, observed series with a strong yearly cycle and El Niño years on top (see ``data/README.md``).
    Returns a Series with a monthly ``DatetimeIndex`` named ``Month``.
    """
    wide = pd.read_csv(DATA_DIR / "elnino.csv").set_index("YEAR")
    long = wide.stack()
    index = pd.to_datetime([f"{int(year)}-{month}-01" for year, month in long.index], format="%Y-%b-%d")
    series = pd.Series(long.to_numpy(dtype=float), index=pd.DatetimeIndex(index, name="Month"),
                       name="Niño 1+2 SST (°C)")
    return series.sort_index()


if __name__ == "__main__":  # used by _download_in_subprocess
    sys.exit(_main(sys.argv[1:]))
