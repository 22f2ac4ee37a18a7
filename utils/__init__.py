"""Shared helpers for the RNN / LSTM lecture notebooks, one module per topic.

Import ``utils`` before TensorFlow. TensorFlow 2.21 loads its own TLS library, and curl_cffi (which yfinance uses
to reach Yahoo Finance) can no longer impersonate a browser when it is loaded afterwards: downloads then fail.
Importing curl_cffi here, first, avoids that; ``utils.data`` also copes when a notebook imported TensorFlow first.
"""

import os
from pathlib import Path

# Keep TensorFlow's C++ start-up chatter (CUDA probing, CPU features) out of the notebooks; real errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

try:  # pragma: no cover - the import itself is the point
    import curl_cffi  # noqa: F401
except ImportError:  # yfinance older than 0.2.54 does not use curl_cffi; nothing to protect then
    pass

#: The repository root, found from this file so that notebooks run from any working directory.
ROOT = Path(__file__).resolve().parent.parent
#: Bundled data (committed) and the download cache (git-ignored) below it.
DATA_DIR = ROOT / "data"
