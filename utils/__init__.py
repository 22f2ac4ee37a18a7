"""Shared helpers for the RNN / LSTM lecture notebooks: data, plots, exercise checks and code several notebooks share.

Every notebook imports ``utils`` before Keras, for two reasons that both act when TensorFlow loads:

* TensorFlow's log is set up here (``utils.tf_log``, the one place): its C++ start-up chatter (CUDA probing, CPU
  features, oneDNN) stays out of the notebooks, and in a Jupyter kernel a filter on the process's native stderr drops
  the few known-harmless lines that ignore every setting; real errors and warnings still show.
* TensorFlow 2.21 loads its own TLS library, after which curl_cffi (which yfinance uses to reach Yahoo Finance) can no
  longer impersonate a browser. Importing curl_cffi first keeps downloads in-process; ``utils.data`` still copes
  (it downloads in a fresh process) when TensorFlow came first.
"""

import os
from pathlib import Path

from utils.tf_log import quiet_tensorflow

quiet_tensorflow()  # before TensorFlow loads: see the docstring

try:  # pragma: no cover - the import itself is the point
    import curl_cffi  # noqa: F401
except ImportError:  # yfinance older than 0.2.54 does not use curl_cffi; nothing to protect then
    pass

#: The repository root, found from this file so that notebooks run from any working directory.
ROOT = Path(__file__).resolve().parent.parent
#: Bundled data (committed) and the download cache (git-ignored) below it.
DATA_DIR = ROOT / "data"

#: Set this to a folder to choose where notebooks write files (downloads, saved models, MIDI); see ``data_home``.
DATA_HOME_ENV = "COURSE_DATA_HOME"
_APP = "rnn-lstm-course"
_fallback_announced: set[str] = set()


def env_flag(name: str) -> bool:
    """Whether the environment variable ``name`` switches a course option on (``1``, ``true``, ``yes`` or ``on``).

    The one reading of the course's switches (``COURSE_QUICK``, ``COURSE_OFFLINE``), so they all accept the same words.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"env_flag takes the variable's name as a string, such as env_flag('COURSE_QUICK'), "
                         f"not {name!r}")
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def default_data_home() -> Path:
    """The platform's per-user data folder for the course, as platformdirs' ``user_data_dir`` would give it.

    Windows ``%LOCALAPPDATA%\\rnn-lstm-course``; macOS ``~/Library/Application Support/rnn-lstm-course``; elsewhere
    ``$XDG_DATA_HOME/rnn-lstm-course``, by default ``~/.local/share/rnn-lstm-course``. Written here (a few lines)
    because platformdirs is not among the course's run-time dependencies.
    """
    import sys

    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = str(Path.home() / "Library" / "Application Support")
    else:
        base = os.environ.get("XDG_DATA_HOME", "").strip() or str(Path.home() / ".local" / "share")
    return Path(base) / _APP


def _writable(folder: Path) -> bool:
    """Whether ``folder`` exists (or can be created) and a file can be written in it."""
    import tempfile

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def data_home(*parts: str) -> Path:
    """The one folder notebooks write to (downloads, saved models, MIDI files), created if needed; ``parts`` below it.

    Never the repository, which may be read-only (a shared JupyterHub where the instructor owns the course copy).
    ``$COURSE_DATA_HOME`` if set, else the platform's user data folder (``default_data_home``). If that folder cannot
    be written, a folder in the system's temporary directory is used instead, and one line says so (once).
    """
    if not all(isinstance(part, str) and part.strip() for part in parts):
        raise ValueError(f"data_home takes folder names as strings, such as data_home('music'), not {parts!r}")
    chosen = os.environ.get(DATA_HOME_ENV, "").strip()
    home = Path(chosen).expanduser() if chosen else default_data_home()
    if not _writable(home):
        import getpass
        import tempfile

        try:
            user = getpass.getuser()
        except Exception:  # no user name in this container's password file
            user = str(os.getuid()) if hasattr(os, "getuid") else "user"
        fallback = Path(tempfile.gettempdir()) / f"{_APP}-{user}"
        if str(home) not in _fallback_announced:
            _fallback_announced.add(str(home))
            how = f"${DATA_HOME_ENV}" if chosen else "the user data folder"
            print(f"Cannot write to {how} ({home}); files go to {fallback} for this session "
                  f"(set {DATA_HOME_ENV} to a writable folder to keep them).")
        home = fallback
    folder = home.joinpath(*parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
