"""What every notebook's setup cell does (seeds, deterministic ops, plot style), the quick-run switch for CI, and
``claim``, which prints each training result the text states."""

from __future__ import annotations

import warnings

from utils import env_flag

QUICK_ENV = "COURSE_QUICK"


def quick() -> bool:
    """True when ``COURSE_QUICK=1``: CI's student-version run, where training is shortened (same code, fewer epochs)."""
    return env_flag(QUICK_ENV)


def epochs(full: int, quick_epochs: int | None = None) -> int:
    """Number of training epochs: ``full`` normally, fewer (default a fifth, at least 1) in quick mode."""
    if isinstance(full, bool) or not isinstance(full, int) or full < 1:
        raise ValueError(f"full must be a positive whole number of epochs, such as 20, not {full!r}")
    if not quick():
        return full
    return quick_epochs if quick_epochs is not None else max(1, full // 5)


def setup(seed: int = 42) -> None:
    """Make the notebook reproducible and its figures readable.

    Seeds Python, NumPy and TensorFlow (``keras.utils.set_random_seed``), asks TensorFlow for deterministic ops and
    for errors only in its Python log, and sets a modest figure size and dpi so stored outputs stay small on GitHub,
    and the colour-blind-safe line colours (``utils.plots.COLOUR_CYCLE``); matplotlib's load-dependent note on slow
    legend placement is not shown.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be a whole number from 0 to 2**32 - 1, such as 42, not {seed!r}")
    import keras
    import matplotlib.pyplot as plt
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    # TensorFlow's Python warnings, such as "tf.function retracing" when tunes or replies of different lengths are
    # decoded, are advice for library authors, not something a student can act on. Set after TensorFlow has loaded:
    # in a Jupyter kernel, loading it resets its logger to INFO.
    tf.get_logger().setLevel("ERROR")
    from utils.plots import COLOUR_CYCLE  # the colour-blind-safe course palette

    plt.rcParams.update({"figure.figsize": (7, 3.5), "figure.dpi": 80, "axes.grid": True, "grid.alpha": 0.3,
                         "axes.prop_cycle": COLOUR_CYCLE})
    # matplotlib times its search for a legend's best place and warns when it took over a second of wall time, which
    # a busy laptop reaches with the course's small figures: a note on the machine's load, not on the plot.
    warnings.filterwarnings("ignore", message='Creating legend with loc="best" can be slow', category=UserWarning)


def claim(statement: str, holds: bool) -> bool:
    """Print a claim the text makes about a result, marked by whether this run supports it; returns ``holds``.

    The prose of a notebook may only state a training result that a ``claim`` prints. Cells that call it carry
    the ``nbval-check-output`` tag: the stored solution output says "✓", so a stack or a rerun on which the claim fails
    changes the output and fails CI, while the exact numbers printed next to it may move.
    """
    if not isinstance(statement, str) or not statement.strip():
        raise ValueError(f"statement must be the sentence the text claims, e.g. 'the LSTM beats persistence', "
                         f"not {statement!r}")
    holds = bool(holds)
    print(f"✓ {statement}" if holds else f"✗ not in this run: {statement}")
    return holds
