"""Every test sees the same world, whatever the machine that runs it holds (tests/test_isolation.py proves it).

* **No ``COURSE_*`` switch from the shell.** A maintainer may have exported ``COURSE_STRICT_CHECKS=1`` or
  ``COURSE_QUICK=1`` to debug a notebook run; no test sees it. Every test starts offline (``COURSE_OFFLINE=1``: none
  reaches the network unless it removes the switch and replaces the download) and sets any other switch it needs itself.
* **No user folder.** ``HOME``, the XDG folders and Windows' ``LOCALAPPDATA`` / ``APPDATA`` point into a fresh folder
  per test, and ``COURSE_DATA_HOME`` to an empty data folder in it: a download cached in the user's
  ``~/.local/share/rnn-lstm-course`` cannot change a result, and no test writes there. Matplotlib's and Keras'
  configuration are read from the session's own folder too (set before the test modules import them).
* **No state left by an earlier test.** The checks framework forgets what was checked (``utils.checks.reset``), and
  ``utils.data_home`` forgets the fallback folders it has announced.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

#: The switches every test starts with (see the module doc); everything else named COURSE_* is removed.
TEST_SWITCHES = {"COURSE_OFFLINE": "1"}


def user_folders(home: Path) -> dict[str, str]:
    """The environment variables from which programs derive the user's folders, all pointing below ``home``."""
    return {"HOME": str(home), "USERPROFILE": str(home), "XDG_DATA_HOME": str(home / ".local" / "share"),
            "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache"),
            "LOCALAPPDATA": str(home / "AppData" / "Local"), "APPDATA": str(home / "AppData" / "Roaming")}


_session: dict = {}


def pytest_configure(config):
    """Before any test module is imported: a home folder of the session's own, and no COURSE_* switch from the shell."""
    home = Path(tempfile.mkdtemp(prefix="course-tests-home-"))
    _session.update(home=home, saved={name: os.environ.get(name) for name in [
        *user_folders(home), "MPLCONFIGDIR", *(n for n in os.environ if n.startswith("COURSE_"))]})
    os.environ.update(user_folders(home), MPLCONFIGDIR=str(home / ".config" / "matplotlib"))
    for name in [n for n in os.environ if n.startswith("COURSE_")]:
        del os.environ[name]


def pytest_unconfigure(config):
    for name, value in _session.get("saved", {}).items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    if "home" in _session:
        shutil.rmtree(_session["home"], ignore_errors=True)


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path_factory):
    """A fresh home and data folder, only the test switches, and a checks framework with nothing recorded."""
    import utils
    from utils import checks

    home = tmp_path_factory.mktemp("home")
    for name, value in user_folders(home).items():
        monkeypatch.setenv(name, value)
    for name in [n for n in os.environ if n.startswith("COURSE_")]:
        monkeypatch.delenv(name)
    for name, value in TEST_SWITCHES.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(utils.DATA_HOME_ENV, str(home / "course-data"))
    monkeypatch.setattr(utils, "_fallback_announced", set())
    checks.reset()
    yield home
    checks.reset()
    if "matplotlib.pyplot" in sys.modules:  # a figure a test left open must not change what the next one counts
        sys.modules["matplotlib.pyplot"].close("all")
