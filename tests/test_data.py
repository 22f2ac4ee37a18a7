"""utils.data: every yfinance failure mode (mocked, no network), the offline switch, the cache, bad input."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from utils import ROOT, data


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
    monkeypatch.setattr(data, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.setattr(data, "_impersonation_works", lambda: True)

    def install(fake):
        monkeypatch.setattr(data, "_yfinance_download", fake)

    return install


def test_download_is_flattened_tz_naive_and_cached(online, capsys):
    online(lambda ticker, start, end: _yahoo_frame())
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
    online(lambda ticker, start, end: frame)
    assert list(data.load_prices("MSFT", "2024-01-01", "2024-01-31").columns) == data.PRICE_COLUMNS


@pytest.mark.parametrize(
    "fake, reason",
    [
        (lambda t, s, e: (_ for _ in ()).throw(ConnectionError("no route to host")), "ConnectionError"),
        (lambda t, s, e: pd.DataFrame(), "no rows"),
        (lambda t, s, e: _yahoo_frame().drop(columns="Volume", level=0), "lacks columns ['Volume']"),
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
    online(lambda ticker, start, end: _yahoo_frame(start="2024-03-01"))
    data.load_prices("MSFT", "2024-03-01", "2024-03-31")
    online(lambda ticker, start, end: pd.DataFrame())
    capsys.readouterr()
    frame = data.load_prices("MSFT", "2024-03-01", "2024-03-31")
    assert "cached copy" in capsys.readouterr().out and len(frame) == 5


def test_cache_is_merged_not_shrunk(online):
    online(lambda ticker, start, end: _yahoo_frame(start="2024-01-02", days=5))
    data.load_prices("MSFT", "2024-01-01", "2024-01-31")
    online(lambda ticker, start, end: _yahoo_frame(start="2024-02-01", days=3))
    data.load_prices("MSFT", "2024-02-01", "2024-02-29")
    assert len(data._read_csv_prices(data.CACHE_DIR / "MSFT.csv")) == 8


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
    online(lambda ticker, start, end: pd.DataFrame())
    with pytest.raises(ValueError, match=r"No price data for 'NOPE'.*MSFT \(bundled, 1986-03-13 … 2017-11-10\)"):
        data.load_prices("NOPE")


def test_date_range_outside_the_data_names_the_range():
    with pytest.raises(ValueError, match=r"covers 1986-03-13 … 2017-11-10. Choose dates inside"):
        data.load_prices("MSFT", "2020-01-01", "2020-12-31", offline=True)


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
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


_REAL_REQUEST = """
import http.server, threading
server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
threading.Thread(target=server.serve_forever, daemon=True).start()
from curl_cffi import requests
try:
    ok = requests.get(f"http://127.0.0.1:{server.server_port}/", impersonate="chrome", timeout=10).status_code == 200
except Exception:
    ok = False
print(d._impersonation_works(), ok)
"""


def test_utils_first_keeps_curl_impersonation_working():
    """The order the notebooks use: utils (and so curl_cffi) before TensorFlow; a real impersonated request works."""
    assert _python("import utils.data as d, tensorflow\n" + _REAL_REQUEST) == "True True"


def test_tensorflow_first_is_detected():
    """TF 2.21 imported before curl_cffi breaks its browser impersonation (seen on this stack: a local request fails
    with ImpersonateError). Whatever the versions installed, utils' probe must agree with a real request."""
    probe, real = _python("import tensorflow, utils.data as d\n" + _REAL_REQUEST).split()
    assert probe == real


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
    assert calls[0][1:4] == ["-m", "utils.data", "MSFT"] and len(frame) == 5


def test_fresh_process_has_working_impersonation_even_after_tensorflow():
    """The fallback is sound: a child interpreter started from a TF-first process can impersonate again."""
    code = ("import tensorflow, subprocess, sys; "
            "r = subprocess.run([sys.executable, '-c', 'import utils.data as d; print(d._impersonation_works())'], "
            "capture_output=True, text=True); print(r.stdout.strip())")
    assert _python(code) == "True"
