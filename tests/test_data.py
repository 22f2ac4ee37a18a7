"""utils.data: every yfinance failure mode (mocked, no network), the offline switch, the cache, bad input; and the
course's one windowing function (window_arrays) with the windows built on it."""

from __future__ import annotations

import ast
import datetime as dt
import socket
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import utils
from tests import helpers
from utils import data
from utils.data import horizon_targets, make_windows, window_arrays


def _yahoo_frame(start="2024-01-02", days=5, multiindex=True, tz="America/New_York", ticker="MSFT"):
    """A frame shaped like yfinance >= 0.2.48 returns for one ticker."""
    index = pd.bdate_range(start, periods=days, tz=tz, name="Date")
    values = {c: np.linspace(100, 104, days) for c in ["Close", "High", "Low", "Open"]}
    values["Volume"] = np.arange(days) * 1000 + 1
    frame = pd.DataFrame(values, index=index)
    if multiindex:
        frame.columns = pd.MultiIndex.from_product([frame.columns, [ticker]], names=["Price", "Ticker"])
    return frame


@pytest.fixture
def online(monkeypatch, tmp_path):
    """Online mode with the cache in a temporary folder and downloads replaced by the test's own function."""
    monkeypatch.delenv(data.OFFLINE_ENV, raising=False)
    monkeypatch.setenv(utils.DATA_HOME_ENV, str(tmp_path))
    monkeypatch.setattr(data, "_impersonation_works", lambda: True)

    def install(fake):
        monkeypatch.setattr(data, "_yfinance_download", fake)

    return install


def test_download_is_flattened_tz_naive_and_cached(online, capsys):
    online(lambda *args: _yahoo_frame())
    frame = data.load_prices("msft", "2024-01-01", "2024-01-31")
    assert list(frame.columns) == data.PRICE_COLUMNS
    assert isinstance(frame.index, pd.DatetimeIndex) and frame.index.tz is None
    assert frame.index.name == "Date" and len(frame) == 5
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "live from Yahoo Finance" in out[0]
    assert (data.CACHE_DIR / "MSFT.csv").exists()
    assert not list(data.CACHE_DIR.glob(".*.tmp")), "no temporary file may be left behind"


def test_single_level_columns_and_extra_columns_are_accepted(online):
    frame = _yahoo_frame(multiindex=False, tz=None)
    frame["Adj Close"] = frame["Close"]
    online(lambda *args: frame)
    assert list(data.load_prices("MSFT", "2024-01-01", "2024-01-31").columns) == data.PRICE_COLUMNS


@pytest.mark.parametrize(
    "fake, reason",
    [
        (lambda *args: (_ for _ in ()).throw(ConnectionError("no route to host")), "ConnectionError"),
        (lambda *args: pd.DataFrame(), "no rows"),
        (lambda *args: _yahoo_frame().drop(columns="Volume", level=0), "lacks columns ['Volume']"),
    ],
    ids=["exception", "empty-frame", "missing-column"],
)
def test_failures_fall_back_to_bundled_data_with_one_line(online, capsys, fake, reason):
    online(fake)
    frame = data.load_prices("MSFT", "2017-01-01", "2017-01-31")
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, out
    assert "bundled copy" in out[0] and reason in out[0]
    assert frame.index[0] == pd.Timestamp("2017-01-03") and list(frame.columns) == data.PRICE_COLUMNS


def test_failure_prefers_the_cache_over_bundled_data(online, capsys):
    online(lambda *args: _yahoo_frame(start="2024-03-01", days=21))  # every weekday of March 2024
    data.load_prices("MSFT", "2024-03-01", "2024-03-31")
    online(lambda *args: pd.DataFrame())
    capsys.readouterr()
    frame = data.load_prices("MSFT", "2024-03-01", "2024-03-31")
    assert "cached copy" in capsys.readouterr().out and len(frame) == 21


def test_cache_is_merged_not_shrunk(online):
    online(lambda *args: _yahoo_frame(start="2024-01-02", days=5))
    data.load_prices("MSFT", "2024-01-01", "2024-01-31")
    online(lambda *args: _yahoo_frame(start="2024-02-01", days=3))
    data.load_prices("MSFT", "2024-02-01", "2024-02-29")
    assert len(data._read_csv_prices(data.CACHE_DIR / "MSFT.csv")) == 8


def test_a_cache_write_that_fails_leaves_the_old_cache_whole_and_no_temporary_file(online, monkeypatch):
    """A full disk while the cache is written: the error reaches the caller's fallback, the cached copy stays as it
    was (never half a file), and no temporary file is left behind."""
    online(lambda *args: _yahoo_frame(start="2024-01-02", days=5))
    data.load_prices("MSFT", "2024-01-01", "2024-01-31")
    before = (data.CACHE_DIR / "MSFT.csv").read_text()

    def disk_full(self, handle, *args, **kwargs):
        handle.write("Date,Open\n2024-02")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", disk_full)
    with pytest.raises(OSError, match="No space left"):
        data._write_cache("MSFT", data.clean_price_frame(_yahoo_frame(start="2024-02-01", days=3), "MSFT"))
    assert (data.CACHE_DIR / "MSFT.csv").read_text() == before
    assert [p.name for p in data.CACHE_DIR.iterdir()] == ["MSFT.csv"]


def test_the_merged_cache_is_in_date_order_whatever_order_the_downloads_came_in(online):
    online(lambda *args: _yahoo_frame(start="2024-02-01", days=3))
    data.load_prices("MSFT", "2024-02-01", "2024-02-29")
    online(lambda *args: _yahoo_frame(start="2024-01-02", days=5))
    data.load_prices("MSFT", "2024-01-01", "2024-01-31")
    dates = pd.read_csv(data.CACHE_DIR / "MSFT.csv", index_col=0).index.tolist()
    assert dates == sorted(dates) and len(dates) == 8


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_offline_switch_never_downloads(online, monkeypatch, capsys, how):
    online(lambda *args: pytest.fail("offline mode must not download"))
    if how == "environment":
        monkeypatch.setenv(data.OFFLINE_ENV, "1")
    frame = data.load_prices("MSFT", "2010-01-01", "2010-12-31", offline=True if how == "argument" else None)
    assert len(frame) == 252
    assert "offline mode" in capsys.readouterr().out


def test_bundled_msft_matches_its_documented_shape():
    frame = data.load_prices("MSFT", offline=True)
    assert len(frame) == 7983
    assert frame.index[0] == pd.Timestamp("1986-03-13") and frame.index[-1] == pd.Timestamp("2017-11-10")


def test_unknown_ticker_names_what_is_available(online):
    online(lambda *args: pd.DataFrame())
    with pytest.raises(ValueError, match=r"No price data for 'NOPE'.*MSFT \(bundled, 1986-03-13 … 2017-11-10\)"):
        data.load_prices("NOPE")


def test_date_range_outside_the_data_names_the_range():
    with pytest.raises(ValueError, match=r"the bundled copy holds 1986-03-13 … 2017-11-10 \(7,983 trading days\)\. "
                                         r"Choose dates inside"):
        data.load_prices("MSFT", "2020-01-01", "2020-12-31", offline=True)


def test_a_fresh_download_wins_over_stale_cached_rows_of_the_same_dates(online, capsys):
    """Yahoo revises prices (splits, dividends, corrections): the newest download is the truth for its dates."""
    _cache(pd.bdate_range("2023-12-27", "2024-01-05"), close=1.0)
    online(lambda *args: _yahoo_frame(start="2024-01-02", days=4))  # closes 100 … 104
    fresh = data.load_prices("MSFT", "2024-01-02", "2024-01-05")
    cached = data.load_prices("MSFT", "2023-12-27", "2024-01-05", offline=True)
    assert cached.loc["2024-01-02":, "Close"].tolist() == fresh["Close"].tolist()
    assert fresh["Close"].tolist() == pytest.approx([100, 101.333, 102.667, 104], abs=1e-3)
    assert cached.loc[:"2023-12-29", "Close"].tolist() == [1.0, 1.0, 1.0]  # the older days it did not download stay
    assert "cached copy" in capsys.readouterr().out.splitlines()[-1]


# --- which local copy: one that holds every trading day asked for, or an error saying what each holds ----------------


def _cache(days, close=50.0):
    """A cached MSFT download holding ``days`` (a DatetimeIndex), every price ``close``."""
    frame = pd.DataFrame({c: close for c in data.PRICE_COLUMNS}, index=pd.DatetimeIndex(days, name="Date"))
    frame.to_csv(data.cache_dir() / "MSFT.csv")


def _source_line(capsys) -> str:
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, out
    return out[0]


@pytest.mark.parametrize(
    "cached, start, end",
    [
        (pd.bdate_range("2015-06-01", periods=5), 2015, 2016),  # partial: a student explored one week (issue 20)
        (pd.bdate_range("2015-01-02", "2015-06-30"), 2015, 2016),  # stale: downloaded in mid-2015, never updated
        (pd.bdate_range("2024-01-02", "2024-01-31"), 2015, 2016),  # another range altogether
        (pd.bdate_range("2018-01-02", "2024-06-28"), 2015, 2016),  # newer than the bundled copy, not as old
        (pd.bdate_range("2015-01-02", "2016-12-30").delete(slice(100, 110)), 2015, 2016),  # a hole of two weeks
        (pd.bdate_range("2015-01-02", periods=5), None, None),  # open ends: "everything" means the longest copy
    ],
    ids=["partial", "stale", "other-range", "newer", "hole", "open-ends"],
)
def test_a_cache_that_lacks_days_of_the_range_never_stands_in_for_the_bundled_copy(capsys, cached, start, end):
    _cache(cached)
    frame = data.load_prices("MSFT", start, end, offline=True)
    assert _source_line(capsys).startswith("MSFT prices: bundled copy")
    assert frame["Close"].ne(50.0).all()
    assert len(frame) == (504 if start else 7983)


def test_a_cache_that_holds_the_range_is_used_before_the_bundled_copy(capsys):
    cached = pd.bdate_range("2009-12-28", "2024-06-28")  # the user's own download, newer than the bundled copy
    _cache(cached)
    for start, end in [("2010-01-01", "2010-12-31"), ("2019-03-01", "2019-03-31"), ("2015-01-01", None)]:
        frame = data.load_prices("MSFT", start, end, offline=True)
        assert _source_line(capsys).startswith("MSFT prices: cached copy"), (start, end)
        assert frame.index.equals(cached[(cached >= start) & (cached <= (end or cached[-1]))])
        assert frame["Close"].eq(50.0).all()
    data.load_prices("MSFT", None, "2012-12-31", offline=True)  # from the beginning: the bundled copy goes back further
    assert _source_line(capsys).startswith("MSFT prices: bundled copy")


def test_weekends_holidays_and_closures_at_the_ends_of_a_range_are_not_missing_days(capsys):
    """The exchange's longest closure in the bundled data: 11-16 September 2001; the bundled copy still holds a week
    around it, and one asked from the middle of it."""
    assert len(data.load_prices("MSFT", "2001-09-08", "2001-09-20", offline=True)) == 5
    assert len(data.load_prices("MSFT", "2001-09-11", "2001-09-18", offline=True)) == 2


def test_when_no_copy_holds_the_range_the_error_says_what_each_holds_and_the_fix():
    _cache(pd.bdate_range("2018-01-02", "2019-12-31").append(pd.bdate_range("2020-03-02", "2020-06-30")))
    with pytest.raises(ValueError) as info:
        data.load_prices("MSFT", 2016, 2020, offline=True)
    message = str(info.value)
    assert message.startswith("No local copy of MSFT prices holds every trading day from 2016-01-01 to 2020-12-31 "
                              "(offline mode): the cached copy in the course data folder (")
    assert "holds 2018-01-02 … 2020-06-30 (608 trading days, none from 2020-01-01 to 2020-03-01)" in message
    assert "the bundled copy holds 1986-03-13 … 2017-11-10 (7,983 trading days)" in message
    assert message.endswith("Choose dates inside one of these ranges, or go online to download them (unset "
                            "COURSE_OFFLINE, or pass offline=False).")


@pytest.mark.parametrize("contents", ["", "Date,Open,High,Low,Close,Volume\n"], ids=["empty-file", "header-only"])
def test_an_empty_cache_is_moved_aside_and_the_bundled_copy_used(capsys, contents):
    path = data.cache_dir() / "MSFT.csv"
    path.write_text(contents)
    assert len(data.load_prices("MSFT", 2015, 2016, offline=True)) == 504
    line = _source_line(capsys)
    assert line.startswith("MSFT prices: bundled copy") and "the cached copy was unusable" in line, line
    assert not path.exists() and path.with_name("MSFT.csv.damaged").exists()


def test_holds_range_allows_up_to_six_closed_days_in_a_row_and_no_more():
    week = pd.DataFrame(index=pd.DatetimeIndex(["2024-01-02", "2024-01-09"]))  # 6 days without a row between them
    day = pd.Timestamp
    assert data._holds_range(week, day("2024-01-02"), day("2024-01-09"))
    assert data._holds_range(week, day("2023-12-27"), day("2024-01-15"))  # 6 closed days before, 6 after
    assert not data._holds_range(week, day("2023-12-26"), day("2024-01-09"))
    assert not data._holds_range(week, day("2024-01-02"), day("2024-01-16"))
    assert not data._holds_range(week.drop(day("2024-01-09")), day("2024-01-02"), day("2024-01-10"))
    assert data._holds_range(week, None, None)
    assert not data._holds_range(week, None, None, later=[week.shift(freq="10D")])  # a later copy reaches further


@pytest.mark.parametrize("ticker", ["", "   ", None, 42])
def test_bad_ticker_type(ticker):
    with pytest.raises(ValueError, match="non-empty string"):
        data.load_prices(ticker, offline=True)


def test_start_after_end_is_explained():
    with pytest.raises(ValueError, match="after end"):
        data.load_prices("MSFT", "2017-02-01", "2017-01-01", offline=True)


def test_monthly_closes_have_different_history_lengths():
    closes = data.load_monthly_closes()
    assert list(closes.columns) == ["MSFT", "AMZN", "IBM", "AAPL", "GOOG"]
    assert closes.count().to_dict() == {"MSFT": 123, "AMZN": 123, "IBM": 123, "AAPL": 123, "GOOG": 68}
    assert closes["GOOG"].first_valid_index() == pd.Timestamp("2004-08-01")


def _python(code: str) -> str:
    return helpers.last_line(helpers.python(code, timeout=180))


_REAL_REQUEST = """
import http.server, threading
server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
threading.Thread(target=server.serve_forever, daemon=True).start()
from curl_cffi import requests
try:
    status = requests.get(f"http://127.0.0.1:{server.server_port}/", impersonate="chrome", timeout=10).status_code
    outcome = "ok" if status == 200 else f"status-{status}"
except Exception as exc:
    outcome = "refused" if "impersonat" in str(exc).lower() else f"failed-{type(exc).__name__}"
print(d._impersonation_works(), outcome)
"""


def test_utils_first_keeps_curl_impersonation_working():
    """The order the notebooks use: utils (and so curl_cffi) before TensorFlow; a real impersonated request works."""
    assert _python("import utils.data as d, tensorflow\n" + _REAL_REQUEST) == "True ok"


def test_tensorflow_first_is_detected():
    """TF 2.21 imported before curl_cffi breaks its browser impersonation (seen on this stack: a local request fails
    with ImpersonateError). Whatever the versions installed, utils' probe must agree with a real request, and that
    request must either work or be refused impersonation: a request that failed for another reason tells nothing."""
    probe, real = _python("import tensorflow, utils.data as d\n" + _REAL_REQUEST).split()
    assert real in ("ok", "refused"), f"the real request failed for another reason ({real}): nothing to compare"
    assert probe == str(real == "ok")


def test_tensorflow_first_downloads_run_in_a_fresh_process(monkeypatch):
    """With impersonation broken, the download runs `python -m utils.data` in a clean interpreter and reads its CSV."""
    calls = []

    def fake_run(argv, **kwargs):
        calls.append(argv)
        csv = data.clean_price_frame(_yahoo_frame(), "MSFT").to_csv()
        return subprocess.CompletedProcess(argv, 0, stdout=csv, stderr="")

    monkeypatch.setattr(data, "_impersonation_works", lambda: False)
    monkeypatch.setattr(data.subprocess, "run", fake_run)
    frame = data._download("MSFT", pd.Timestamp("2024-01-01"), None)
    assert calls[0][1:6] == ["-W", "ignore", "-m", "utils.data", "MSFT"] and len(frame) == 5


def test_fresh_process_has_working_impersonation_even_after_tensorflow():
    """The fallback is sound: a child interpreter started from a TF-first process can impersonate again."""
    code = ("import tensorflow, subprocess, sys; "
            "r = subprocess.run([sys.executable, '-c', 'import utils.data as d; print(d._impersonation_works())'], "
            "capture_output=True, text=True); print(r.stdout.strip())")
    assert _python(code) == "True"


# --- damaged caches, dead networks, dates users write -----------------------------------------------------------------


def _bundled_line(capsys) -> str:
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, out
    assert out[0].startswith("MSFT prices: bundled copy"), out
    return out[0]


@pytest.mark.parametrize(
    "rows, reason",
    [
        ("garbage,1,2,3,4,5\nnot a date,1,2,3,4,5\n", "unreadable dates, e.g. 'garbage'"),
        ("2024-01-02,100,101,99,abc,5\n2024-01-03,100,101,99,100,5\n", "non-numeric Close values, e.g. 'abc'"),
        ("2024-01-02,100,101,99,,5\n2024-01-03,100,101,99,100,5\n", "1 row(s) without a price"),
        ("2024-01-02,100,101,99,100,5\n2024-01-02,100,101,99,100,5\n", "appears twice"),
        ("2024-01-02,100,101,99,-3,5\n", "prices of zero or below"),
    ],
    ids=["dates", "non-numeric", "nan-close", "duplicate-date", "negative"],
)
def test_a_damaged_cache_is_refused_moved_aside_and_bundled_data_used(online, capsys, rows, reason):
    """A cache with the right header but bad contents is checked like a download, never used (before: TypeError in
    16 cells of notebook 08 for bad dates, silently used for non-numeric prices)."""
    path = data.cache_dir() / "MSFT.csv"
    path.write_text("Date,Open,High,Low,Close,Volume\n" + rows)
    frame = data.load_prices("MSFT", "2017-01-01", "2017-01-31", offline=True)
    line = _bundled_line(capsys)
    assert "offline mode; the cached copy was unusable" in line and reason in line and "MSFT.csv.damaged" in line
    assert not path.exists() and path.with_name("MSFT.csv.damaged").exists()
    assert frame.index[0] == pd.Timestamp("2017-01-03") and frame["Close"].dtype == float


def test_a_damaged_cache_is_not_merged_into_a_new_download(online):
    (data.cache_dir() / "MSFT.csv").write_text("Date,Open,High,Low,Close,Volume\nnot a date,1,2,3,4,5\n")
    online(lambda *args: _yahoo_frame())
    data.load_prices("MSFT", "2024-01-01", "2024-01-31")
    assert len(data._read_csv_prices(data.cache_dir() / "MSFT.csv")) == 5


def test_a_download_with_non_numeric_prices_is_a_failed_download(online, capsys):
    frame = _yahoo_frame(multiindex=False, tz=None).astype(object)
    frame.iloc[2, 0] = "n/a"
    online(lambda *args: frame)
    data.load_prices("MSFT", "2017-01-01", "2017-01-31")
    assert "non-numeric Close values, e.g. 'n/a'" in _bundled_line(capsys)


@pytest.mark.timeout(30)
def test_a_download_that_never_returns_is_abandoned_after_the_time_limit(online, capsys, monkeypatch):
    """Injected downloader that blocks: the loader gives up after the limit and says so in its one line."""
    never = threading.Event()
    online(lambda *args: never.wait(60))
    monkeypatch.setenv(data.TIMEOUT_ENV, "1.5")
    started = time.perf_counter()
    data.load_prices("MSFT", "2017-01-01", "2017-01-31")
    assert time.perf_counter() - started < 5
    assert "no answer within 1.5 s (set COURSE_DOWNLOAD_TIMEOUT to wait longer)" in _bundled_line(capsys)
    never.set()


@pytest.fixture
def silent_proxy(monkeypatch):
    """An HTTPS proxy on 127.0.0.1 that accepts connections and never answers: a network that hangs."""
    server = socket.create_server(("127.0.0.1", 0))
    held = []
    threading.Thread(target=lambda: [held.append(server.accept()) for _ in iter(int, 1)], daemon=True).start()
    address = f"http://127.0.0.1:{server.getsockname()[1]}"
    yield address, held
    server.close()


def _run_python(code: str, env: dict, timeout: float = 60) -> tuple[str, float]:
    """Run ``code`` online (no COURSE_OFFLINE) in a fresh interpreter; what it printed, and the seconds it took."""
    started = time.perf_counter()
    done = helpers.python(code, env={**env, data.OFFLINE_ENV: None}, timeout=timeout)
    return done.stdout + done.stderr, time.perf_counter() - started


_LOAD = "from utils import data; data.load_prices('MSFT', 2015, 2015)"


@pytest.mark.timeout(90)
def test_a_network_that_accepts_and_never_answers_costs_the_time_limit_only(silent_proxy, tmp_path):
    """Real yfinance through a proxy that never answers (before: 131 s of silence, longer than the cell timeout)."""
    address, held = silent_proxy
    out, seconds = _run_python(_LOAD, {"HTTPS_PROXY": address, "https_proxy": address, data.TIMEOUT_ENV: "3",
                                       utils.DATA_HOME_ENV: str(tmp_path)})
    assert held, "the download never reached the local proxy: the test did not test anything"
    assert out.strip().splitlines() == [
        "MSFT prices: bundled copy (see data/README.md) (download failed: DownloadError: no answer within 3 s "
        "(set COURSE_DOWNLOAD_TIMEOUT to wait longer)); 2015-01-02 … 2015-12-31, 252 trading days."]
    assert seconds < 25  # 3 s of waiting plus starting Python and importing pandas and yfinance on a busy machine


def test_no_network_shows_only_the_course_line(tmp_path):
    """A refused connection (no network): yfinance's log lines and pandas' deprecation warnings stay hidden."""
    closed = socket.create_server(("127.0.0.1", 0))
    address = f"http://127.0.0.1:{closed.getsockname()[1]}"
    closed.close()  # nothing listens there now: every connection is refused at once
    out, _ = _run_python(_LOAD, {"HTTPS_PROXY": address, "https_proxy": address, utils.DATA_HOME_ENV: str(tmp_path)})
    lines = out.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("MSFT prices: bundled copy (see data/README.md) (download failed: DownloadError: "
                               "yfinance returned no rows for MSFT")


@pytest.mark.parametrize(
    "start, end, first, last",
    [
        (2015, None, "2015-01-02", "2017-11-10"),
        (2015, 2016, "2015-01-02", "2016-12-30"),
        ("2015", "2015", "2015-01-02", "2015-12-31"),
        (np.int64(2016), "2016-03-31", "2016-01-04", "2016-03-31"),
        (" 2015-06-01 ", "2015-06-30", "2015-06-01", "2015-06-30"),
        (dt.date(2015, 6, 1), dt.datetime(2015, 6, 30, 23, 59), "2015-06-01", "2015-06-30"),
        (pd.Timestamp("2015-06-01", tz="America/New_York"), pd.Timestamp("2015-06-30", tz="UTC"), "2015-06-01",
         "2015-06-30"),
        (np.datetime64("2015-06-01"), None, "2015-06-01", "2017-11-10"),
    ],
    ids=["year", "years", "year-strings", "numpy-year", "padded-string", "date-datetime", "tz-aware", "datetime64"],
)
def test_dates_as_users_write_them(start, end, first, last, capsys):
    """Before: 2015 meant 2015 ns after 1970 (data from 1986 came back), a tz-aware start raised TypeError."""
    frame = data.load_prices("MSFT", start, end, offline=True)
    assert (str(frame.index[0].date()), str(frame.index[-1].date())) == (first, last)


@pytest.mark.parametrize(
    "start, end, match",
    [
        ("not-a-date", None, r"start='not-a-date' is not a date pandas can read: write a year \(2015\), a date string"),
        (None, "2015-13-45", r"end='2015-13-45' is not a date pandas can read"),
        (2015.5, None, r"start=2015.5 \(float\) is not a date: write a year"),
        (float("nan"), None, r"start=nan \(float\) is not a date"),
        (pd.NaT, None, r"start is missing \(NaT\)"),
        ("", None, r"start is missing \(NaT\)"),
        (-5, None, r"start=-5 is not a year between 1900 and 2100"),
        (20150101, None, r"not a year between 1900 and 2100"),
        (True, None, r"start=True \(bool\) is not a date"),
        ([2015], None, r"\(list\) is not a date"),
        (2016, 2015, r"start 2016-01-01 is after end 2015-12-31: swap them"),
    ],
)
def test_dates_that_mean_nothing_are_refused_with_the_fix(start, end, match):
    with pytest.raises(ValueError, match=match):
        data.load_prices("MSFT", start, end, offline=True)


@pytest.mark.parametrize("value", ["abc", "0", "-1", "inf", "nan"])
def test_a_bad_time_limit_is_refused_with_the_fix(monkeypatch, value):
    monkeypatch.setenv(data.TIMEOUT_ENV, value)
    with pytest.raises(ValueError, match=r"\$COURSE_DOWNLOAD_TIMEOUT must be a positive number of seconds such as 8"):
        data.load_prices("MSFT", offline=True)
    with pytest.raises(ValueError, match=r"timeout must be a positive number of seconds"):
        data.load_prices("MSFT", offline=True, timeout=value)


# --- windows (window_arrays, make_windows, horizon_targets) -----------------------------------------------------------


def test_make_windows_alignment_and_shapes():
    series = np.arange(10.0)
    X, y = make_windows(series, window=3)
    assert X.shape == (7, 3, 1) and y.shape == (7, 1)
    for i in range(7):
        assert list(X[i, :, 0]) == [i, i + 1, i + 2]
        assert y[i, 0] == i + 3  # the step right after the window
        assert y[i, 0] not in X[i, :, 0]  # no window contains its target


def test_make_windows_horizon_and_features():
    series = np.column_stack([np.arange(12.0), -np.arange(12.0)])
    X, y = make_windows(series, window=4, horizon=3)
    assert X.shape == (12 - 4 - 3 + 1, 4, 2) and y.shape == (6, 3)
    np.testing.assert_array_equal(X[2], series[2:6])
    np.testing.assert_array_equal(y[2], [6, 7, 8])
    _, y1 = make_windows(series, window=4, horizon=3, target=1)
    np.testing.assert_array_equal(y1[2], [-6, -7, -8])


def test_make_windows_exactly_one_window():
    X, y = make_windows([1.0, 2.0, 3.0], window=2, horizon=1)
    assert X.shape == (1, 2, 1) and y.tolist() == [[3.0]]


@pytest.mark.parametrize(
    ("series", "kwargs", "message"),
    [
        (np.arange(5.0), {"window": 4, "horizon": 2}, "longer than the series"),
        (np.arange(5.0), {"window": 6}, "longer than the series"),
        (np.array([1.0, np.nan, 3.0, 4.0]), {"window": 2}, "NaN"),
        (np.arange(5.0), {"window": 0}, "positive whole number"),
        (np.arange(5.0), {"window": 2, "horizon": 0}, "positive whole number"),
        (np.arange(5.0), {"window": 2.5}, "positive whole number"),
        (np.ones((5, 2, 2)), {"window": 2}, "shape"),
        (np.ones((5, 2)), {"window": 2, "target": 2}, "not a column"),
    ],
)
def test_make_windows_bad_input(series, kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_windows(series, **kwargs)


def test_make_windows_nan_message_names_the_fix():
    with pytest.raises(ValueError, match="interpolate"):
        make_windows([1.0, 2.0, np.nan, 4.0, 5.0], 2)


def test_keras_windows_equal_hand_made():
    """window_arrays, make_windows, fc.windows_at and Keras' own timeseries_dataset_from_array: the same windows."""
    import keras

    from utils import forecasting as fc

    series = np.sin(np.arange(60) / 3.0)
    window, first, last = 7, 7, 60
    X_hand, y_hand = make_windows(series, window)
    X_arr, y_arr = window_arrays(series, series, window, first, last)
    X_ds, y_ds = fc.windows_at(series, series, window, np.arange(first, last))
    keras_ds = keras.utils.timeseries_dataset_from_array(series[:-1, None], series[window:], window, batch_size=16)
    X_keras, y_keras = (np.concatenate(part) for part in zip(*keras_ds, strict=True))
    for X in (X_arr, X_ds, X_keras):
        np.testing.assert_allclose(X, X_hand, rtol=1e-6)
    for y in (y_arr, y_ds, y_keras[:, None]):
        np.testing.assert_allclose(y, y_hand, rtol=1e-6)


def test_windows_are_cut_in_one_place():
    """utils.data.window_arrays is the one windowing function: no other module of utils cuts windows itself."""
    from utils import anomaly, forecasting

    cutters = {"sliding_window_view", "timeseries_dataset_from_array"}
    for path in sorted((Path(utils.__file__).parent).rglob("*.py")):
        if path.name != "data.py":  # names the code uses (a check may still name them in a string, to forbid them)
            tree = ast.parse(path.read_text(encoding="utf-8"))
            used = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
            used |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
            used |= {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
            assert not used & cutters, (path, used & cutters)
    assert anomaly.window_arrays is window_arrays and forecasting.window_arrays is window_arrays
    series = np.arange(30.0)
    np.testing.assert_allclose(anomaly.rolling_zscore(series, 4)[4:], 2.5 / np.sqrt(1.25))  # its past windows too


def test_window_ranges_select_targets_by_index():
    series = np.arange(50.0)
    X, y = window_arrays(series, series, 5, 30, 40)
    assert y[:, 0].tolist() == list(range(30, 40))
    assert X[0, :, 0].tolist() == [25, 26, 27, 28, 29]
    with pytest.raises(ValueError, match="first >= 5"):
        window_arrays(series, series, 5, 3, 40)
    with pytest.raises(ValueError, match="first < last"):
        window_arrays(series, series, 5, 10, 60)


def test_horizon_targets():
    targets = horizon_targets(np.arange(6.0), 3)
    assert targets[1].tolist() == [1, 2, 3]
    assert np.isnan(targets[5, 1])


# --- what the one line, the download request and the errors say, exactly ---------------------------------------------


def test_the_one_line_names_the_copy_used_and_why_and_nothing_else(online, capsys):
    data.load_prices("MSFT", "2017-01-01", "2017-01-31", offline=True)
    assert _source_line(capsys) == ("MSFT prices: bundled copy (see data/README.md) (offline mode); "
                                    "2017-01-03 … 2017-01-31, 20 trading days.")
    _cache(pd.bdate_range("2016-12-01", "2017-02-28"))
    data.load_prices("MSFT", "2017-01-01", "2017-01-31", offline=True)
    assert _source_line(capsys) == ("MSFT prices: cached copy in the course data folder (offline mode); "
                                    "2017-01-02 … 2017-01-31, 22 trading days.")


def test_the_download_asks_for_the_ticker_and_dates_and_returns_only_those(online, capsys):
    """Yahoo may send more days than asked for (the whole week, say): the caller gets the range it asked for."""
    asked = []

    def download(ticker, start, end, *rest):
        asked.append((ticker, start, end))
        return _yahoo_frame(start="2024-01-01", days=10)  # 1-12 January

    online(download)
    frame = data.load_prices("msft", "2024-01-03", "2024-01-09")
    assert asked == [("MSFT", pd.Timestamp("2024-01-03"), pd.Timestamp("2024-01-09"))]
    assert frame.index[0] == pd.Timestamp("2024-01-03") and frame.index[-1] == pd.Timestamp("2024-01-09")
    assert _source_line(capsys) == ("MSFT prices: live from Yahoo Finance (yfinance); 2024-01-03 … 2024-01-09, "
                                    "5 trading days.")


def test_a_failed_download_names_the_ticker_in_its_reason(online, capsys):
    online(lambda *args: pd.DataFrame())
    data.load_prices("MSFT", "2017-01-01", "2017-01-31")
    assert "(download failed: DownloadError: yfinance returned no rows for MSFT)" in _source_line(capsys)


def test_an_open_end_is_held_by_the_bundled_copy_even_when_the_cache_reaches_further(capsys):
    """"From 2017 on" with a cache of January 2024 only: the cache lacks 2017-2023, the bundled copy serves to its
    end (the cache is no copy the bundled one would be used instead of)."""
    _cache(pd.bdate_range("2024-01-02", "2024-01-31"))
    frame = data.load_prices("MSFT", "2017-01-01", None, offline=True)
    assert _source_line(capsys).startswith("MSFT prices: bundled copy")
    assert frame.index[-1] == pd.Timestamp("2017-11-10")


def test_a_cache_that_starts_a_week_after_the_bundled_copy_does_not_hold_from_the_beginning(capsys):
    _cache(pd.bdate_range("1986-03-20", "2012-12-31"))  # the bundled copy starts on 1986-03-13
    frame = data.load_prices("MSFT", None, "2012-12-31", offline=True)
    assert _source_line(capsys).startswith("MSFT prices: bundled copy")
    assert frame.index[0] == pd.Timestamp("1986-03-13")


def test_a_range_without_a_trading_day_is_held_by_no_copy():
    january = pd.DataFrame(index=pd.bdate_range("2024-01-01", "2024-01-31"))
    assert not data._holds_range(january, pd.Timestamp("2024-01-06"), pd.Timestamp("2024-01-07"))  # a weekend
    assert data._holds_range(january, pd.Timestamp("2024-01-06"), pd.Timestamp("2024-01-08"))


def test_when_the_download_failed_and_no_copy_holds_the_range_the_error_names_each_copy_and_the_fix(online):
    online(lambda *args: (_ for _ in ()).throw(ConnectionError("no route to host")))
    _cache(pd.bdate_range("2018-01-02", "2019-12-31"))
    with pytest.raises(ValueError) as info:
        data.load_prices("MSFT", 2016, 2020)
    assert str(info.value) == (
        "No local copy of MSFT prices holds every trading day from 2016-01-01 to 2020-12-31 (download failed: "
        "ConnectionError: no route to host): the cached copy in the course data folder "
        f"({data.cache_dir() / 'MSFT.csv'}) holds 2018-01-02 … 2019-12-31 (521 trading days); the bundled copy "
        "holds 1986-03-13 … 2017-11-10 (7,983 trading days). Choose dates inside one of these ranges, or download "
        "them once the network works.")


def test_a_damaged_cache_that_cannot_be_moved_aside_says_where_it_was_left(capsys, monkeypatch):
    """A read-only data folder: the damaged file stays, and the line says where."""
    path = data.cache_dir() / "MSFT.csv"
    path.write_text("Date,Open,High,Low,Close,Volume\nnot a date,1,2,3,4,5\n")

    def read_only(*args):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(data.os, "replace", read_only)
    data.load_prices("MSFT", "2017-01-01", "2017-01-31", offline=True)
    assert _source_line(capsys).endswith(f"unusable (unreadable dates, e.g. 'not a date'), left at {path}); "
                                         "2017-01-03 … 2017-01-31, 20 trading days.")


def test_a_cache_unreadable_for_a_reason_without_words_is_named_by_the_kind_of_error(capsys, monkeypatch):
    """An I/O error with no message (a flaky disk): the line still says what went wrong."""
    read_csv = pd.read_csv

    def flaky_disk(source, *args, **kwargs):
        if isinstance(source, Path):
            raise OSError()
        return read_csv(source, *args, **kwargs)

    _cache(pd.bdate_range("2016-12-01", "2017-02-28"))
    monkeypatch.setattr(data.pd, "read_csv", flaky_disk)
    data.load_prices("MSFT", "2017-01-01", "2017-01-31", offline=True)
    assert "(offline mode; the cached copy was unusable (OSError), moved to " in _source_line(capsys)


def test_while_the_cache_is_written_the_partial_file_is_hidden_beside_it(online, monkeypatch):
    """Written atomically: the partial file sits in the same folder (so the final move is a rename), hidden, named
    after the ticker and ending in .tmp, so that nothing reading the folder mistakes it for a price file."""
    seen = []
    to_csv = pd.DataFrame.to_csv

    def watched(self, *args, **kwargs):
        seen.extend(p.name for p in data.cache_dir().iterdir())
        return to_csv(self, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", watched)
    data._write_cache("MSFT", data.clean_price_frame(_yahoo_frame(), "MSFT"))
    assert len(seen) == 1 and seen[0].startswith(".MSFT.") and seen[0].endswith(".tmp"), seen
    assert [p.name for p in data.cache_dir().iterdir()] == ["MSFT.csv"]
