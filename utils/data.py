"""Data loading that works offline: daily stock prices (yfinance, then a cache, then bundled data) and monthly closes.

``load_prices`` tries, in order: a live download with yfinance, the last download cached under ``data/cache/``, and the
copy bundled in ``data/`` (see ``data/README.md``). It prints one line saying which source it used. Set the environment
variable ``COURSE_OFFLINE=1`` (CI does) or pass ``offline=True`` to skip the network.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pandas as pd

from utils import DATA_DIR

PRICE_COLUMNS = ["Open", "High", "Low", "Close", "Volume"]
CACHE_DIR = DATA_DIR / "cache"
#: Bundled daily prices: ticker -> (file in data/, member inside the archive).
BUNDLED_PRICES = {"MSFT": ("msft.tar.gz", "msft.csv")}
OFFLINE_ENV = "COURSE_OFFLINE"


class DownloadError(RuntimeError):
    """A live download failed or returned unusable data; the loader falls back to local copies."""


def is_offline(offline: bool | None = None) -> bool:
    """True when the caller or the environment (``COURSE_OFFLINE=1``) asks for no network access."""
    if offline is not None:
        return bool(offline)
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def load_prices(ticker: str, start=None, end=None, *, offline: bool | None = None) -> pd.DataFrame:
    """Daily prices of ``ticker`` between ``start`` and ``end`` (inclusive, anything ``pd.Timestamp`` accepts).

    Returns a DataFrame with a tz-naive ``DatetimeIndex`` named ``Date`` and the columns Open, High, Low, Close, Volume.
    Raises ``ValueError`` naming what is available when no source has the ticker or the date range.
    """
    ticker = _normalise_ticker(ticker)
    start_ts, end_ts = _parse_range(start, end)
    failure = "offline mode"
    if not is_offline(offline):
        try:
            frame = clean_price_frame(_download(ticker, start_ts, end_ts), ticker)
            _write_cache(ticker, frame)
            return _select(frame, ticker, start_ts, end_ts, "live from Yahoo Finance (yfinance)")
        except Exception as exc:  # any failure means: fall back to local copies, and say why
            failure = f"download failed: {_one_line(exc)}"
    range_error = None
    for source, frame in _local_sources(ticker):
        try:
            return _select(frame, ticker, start_ts, end_ts, f"{source} ({failure})")
        except ValueError as exc:  # this copy lacks the dates; a later one may have them
            range_error = exc
    if range_error is not None:
        raise range_error
    raise ValueError(
        f"No price data for {ticker!r}: {failure}, and there is no cached or bundled copy. "
        f"Available offline: {_describe_available()}. Check the ticker symbol, or connect to the internet."
    )


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

    Handles what yfinance versions differ in: MultiIndex columns (since 0.2.48), a tz-aware index, extra columns.
    """
    if frame is None or len(frame) == 0:
        raise DownloadError(f"yfinance returned no rows for {ticker}")
    frame = frame.copy()
    if isinstance(frame.columns, pd.MultiIndex):
        level = next((i for i in range(frame.columns.nlevels) if "Close" in frame.columns.get_level_values(i)), 0)
        frame.columns = frame.columns.get_level_values(level)
    missing = [c for c in PRICE_COLUMNS if c not in frame.columns]
    if missing:
        raise DownloadError(f"yfinance result for {ticker} lacks columns {missing}")
    frame = frame.loc[:, PRICE_COLUMNS]
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.index))
    if frame.index.tz is not None:
        frame.index = frame.index.tz_localize(None)
    frame.index.name = "Date"
    frame = frame.dropna(subset=["Close"]).sort_index()
    if frame.empty:
        raise DownloadError(f"yfinance returned only empty rows for {ticker}")
    return frame


# --- download -------------------------------------------------------------------------------------------------------


def _download(ticker: str, start: pd.Timestamp | None, end: pd.Timestamp | None) -> pd.DataFrame:
    """Download with yfinance, in this process if curl_cffi works here, else in a fresh Python process."""
    if _impersonation_works():
        return _yfinance_download(ticker, start, end)
    return _download_in_subprocess(ticker, start, end)


def _yfinance_download(ticker: str, start, end) -> pd.DataFrame:
    """One yfinance call, ``auto_adjust`` explicit (its default changed in 0.2.51).

    ``yf.download`` swallows errors and returns an empty frame; ``clean_price_frame`` turns that into a failure.
    """
    import yfinance as yf

    end_exclusive = None if end is None else end + pd.Timedelta(days=1)  # yfinance's end date is exclusive
    kwargs = {"start": start, "end": end_exclusive} if start is not None or end is not None else {"period": "max"}
    return yf.download(ticker, auto_adjust=True, progress=False, threads=False, **kwargs)


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


def _download_in_subprocess(ticker: str, start, end) -> pd.DataFrame:
    """Run ``_yfinance_download`` in a fresh interpreter (no TensorFlow loaded) and read its CSV back."""
    args = [ticker, "" if start is None else start.date().isoformat(), "" if end is None else end.date().isoformat()]
    done = subprocess.run(
        [sys.executable, "-m", "utils.data", *args], capture_output=True, text=True, timeout=120, cwd=DATA_DIR.parent
    )
    if done.returncode != 0:
        raise DownloadError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "download process failed")
    return pd.read_csv(io.StringIO(done.stdout), index_col=0, parse_dates=True)


# --- local copies ---------------------------------------------------------------------------------------------------


def _cache_path(ticker: str) -> Path:
    return CACHE_DIR / f"{ticker}.csv"


def _write_cache(ticker: str, frame: pd.DataFrame) -> None:
    """Write the cache atomically: a temporary file in the same folder, moved into place only when complete.

    A download that covers less than the cached copy does not shrink the cache.
    """
    path = _cache_path(ticker)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        old = _read_csv_prices(path)
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
    frame = pd.read_csv(path_or_buffer, index_col=0, parse_dates=True)
    frame.index.name = "Date"
    return frame.loc[:, PRICE_COLUMNS]


def _read_bundled(ticker: str) -> pd.DataFrame:
    archive, member = BUNDLED_PRICES[ticker]
    with tarfile.open(DATA_DIR / archive) as tar:
        return _read_csv_prices(tar.extractfile(member))


def _local_sources(ticker: str):
    """Yield (description, frame) for the cache, then the bundled copy, whichever exist."""
    if _cache_path(ticker).exists():
        try:
            yield "cached copy in data/cache/", _read_csv_prices(_cache_path(ticker))
        except Exception:  # a damaged cache is skipped, never fatal
            pass
    if ticker in BUNDLED_PRICES:
        yield "bundled copy (see data/README.md)", _read_bundled(ticker)


def _describe_available() -> str:
    parts = []
    for ticker in sorted(BUNDLED_PRICES):
        frame = _read_bundled(ticker)
        parts.append(f"{ticker} (bundled, {_span(frame)})")
    if CACHE_DIR.exists():
        parts += [f"{p.stem} (cached)" for p in sorted(CACHE_DIR.glob("*.csv")) if p.stem not in BUNDLED_PRICES]
    return ", ".join(parts)


# --- small helpers --------------------------------------------------------------------------------------------------


def _normalise_ticker(ticker) -> str:
    if not isinstance(ticker, str) or not ticker.strip():
        raise ValueError(f"ticker must be a non-empty string such as 'MSFT', not {ticker!r}")
    return ticker.strip().upper()


def _parse_range(start, end):
    start_ts = None if start is None else pd.Timestamp(start)
    end_ts = None if end is None else pd.Timestamp(end)
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


if __name__ == "__main__":  # used by _download_in_subprocess: python -m utils.data TICKER START END
    _ticker, _start, _end = (sys.argv[1:] + ["", ""])[:3]
    _frame = _yfinance_download(_ticker, pd.Timestamp(_start) if _start else None, pd.Timestamp(_end) if _end else None)
    clean_price_frame(_frame, _ticker).to_csv(sys.stdout)


# --- windows for forecasting (notebook 08) --------------------------------------------------------------------------


def make_windows(series, window: int, horizon: int = 1, target: int = 0):
    """Cut a series into (input window, future values) pairs for supervised forecasting.

    ``series``: shape (time,) or (time, features). Returns ``(X, y)`` with ``X[i] = series[i : i+window]`` of shape
    (n, window, features) and ``y[i] = series[i+window : i+window+horizon, target]`` of shape (n, horizon), where
    n = time - window - horizon + 1. The target values always come *after* the window: no window contains its target.
    """
    import numpy as np

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
    n = len(values) - window - horizon + 1
    starts = np.arange(n)
    X = values[starts[:, None] + np.arange(window)]
    y = values[starts[:, None] + window + np.arange(horizon), target]
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
