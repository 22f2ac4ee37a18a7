"""What every notebook's setup cell does (seeds, deterministic ops, plot style), the quick-run switch for CI, the seed
shift that reruns a notebook with other seeds, and the verdicts the text may state: ``claim`` and the evidence behind
it (results over several seeds, ``over_seeds``; a paired bootstrap over test units, ``paired_bootstrap``)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from utils import env_flag

QUICK_ENV = "COURSE_QUICK"
#: Rerun a notebook with other seeds: every seed a notebook sets goes through ``seed(n)``, which adds 10,000 × this.
SEED_SHIFT_ENV = "COURSE_SEED_SHIFT"
#: Set by the notebook test runs (tests/nbval_plugin.py): a claim that does not hold raises instead of printing "✗".
STRICT_CLAIMS_ENV = "COURSE_STRICT_CLAIMS"
SEED_STEP = 10_000


class ClaimFailed(AssertionError):
    """Raised (with ``COURSE_STRICT_CLAIMS`` set, as in CI) when a claim the text makes does not hold in this run."""


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


# --- seeds ------------------------------------------------------------------------------------------------------------


def seed_shift() -> int:
    """The seed shift asked for with ``COURSE_SEED_SHIFT`` (0 when unset): 1 and 2 rerun a notebook with other seeds."""
    text = os.environ.get(SEED_SHIFT_ENV, "").strip()
    if not text:
        return 0
    if not text.isdigit():
        raise ValueError(f"{SEED_SHIFT_ENV} must be a whole number such as 1 (0 or unset: the notebook's own seeds), "
                         f"not {text!r}")
    return int(text)


def seed(n: int) -> int:
    """The seed to use where a notebook would write ``n``: ``n`` itself, or ``n + 10,000 × shift`` under a seed shift.

    Every seed a notebook sets (data simulators, splits, weight initialisation) goes through this function, so that
    ``COURSE_SEED_SHIFT=1`` reruns the whole notebook with other random numbers, and its verdicts can be seen to hold.
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 0 <= n < SEED_STEP:
        raise ValueError(f"a notebook's seed must be a whole number from 0 to {SEED_STEP - 1}, such as 42, not {n!r}")
    return int(n) + SEED_STEP * seed_shift()


def seeds(count: int, start: int = 0) -> list[int]:
    """``count`` seeds for independent runs of the same experiment: ``seed(start)``, ``seed(start + 1)``, ..."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a positive whole number of runs, such as 5, not {count!r}")
    return [seed(start + i) for i in range(count)]


def reseed(n: int) -> None:
    """Restart Python's, NumPy's and TensorFlow's random numbers from ``seed(n)``.

    Call it before a training run that follows an exercise: whatever the student's code drew from the random
    generators, the run below starts from the same state, so its numbers match the text.
    """
    import keras

    keras.utils.set_random_seed(seed(n))


def setup(seed: int = 42, notebook: str | None = None) -> None:
    """Make the notebook reproducible and its figures readable.

    Seeds Python, NumPy and TensorFlow (``reseed(seed)``, so a seed shift applies), asks TensorFlow for deterministic
    ops and for errors only in its Python log, sets a modest figure size and dpi so stored outputs stay small on
    GitHub, and the colour-blind-safe line colours (``utils.plots.COLOUR_CYCLE``); matplotlib's load-dependent note
    on slow legend placement is not shown. ``notebook`` ("04") tells ``progress()`` which exercises to list.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < SEED_STEP:
        raise ValueError(f"seed must be a whole number from 0 to {SEED_STEP - 1}, such as 42, not {seed!r}")
    import matplotlib.pyplot as plt
    import tensorflow as tf

    from utils import checks

    if notebook is not None:
        checks.set_notebook(notebook)
    reseed(seed)
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


# --- evidence ---------------------------------------------------------------------------------------------------------


def _number(value: float, fmt: str) -> str:
    return format(float(value), fmt)


@dataclass(frozen=True)
class Runs:
    """One number per independent run (seed) of the same experiment: its mean and range, as the evidence prints it."""

    values: tuple[float, ...]
    unit: str = "seeds"
    fmt: str = ".3f"

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def low(self) -> float:
        return float(np.min(self.values))

    @property
    def high(self) -> float:
        return float(np.max(self.values))

    def __len__(self) -> int:
        return len(self.values)

    def __str__(self) -> str:
        f = self.fmt
        return (f"mean {_number(self.mean, f)}, range {_number(self.low, f)} … {_number(self.high, f)} over "
                f"{len(self)} {self.unit}")


def over_seeds(values: Sequence[float], unit: str = "seeds", fmt: str = ".3f") -> Runs:
    """The results of several independent runs, one number each (a test error per seed, say), for a verdict."""
    array = np.asarray(values, dtype=float).reshape(-1) if _numeric(values) else None
    if array is None or array.size < 2 or not np.all(np.isfinite(array)):
        raise ValueError(f"over_seeds needs two or more finite numbers, one per run, not {values!r}")
    return Runs(tuple(float(v) for v in array), unit, fmt)


@dataclass(frozen=True)
class Interval:
    """A statistic of A minus B on the test units, with a paired bootstrap interval (``paired_bootstrap``)."""

    estimate: float
    low: float
    high: float
    n: int
    units: str
    level: float = 0.95
    fmt: str = "+.3f"

    def __str__(self) -> str:
        f = self.fmt
        return (f"difference {_number(self.estimate, f)}, {self.level:.0%} interval {_number(self.low, f)} … "
                f"{_number(self.high, f)}, paired bootstrap over {self.n:,} {self.units}")


def paired_bootstrap(difference: Sequence[float] | Callable[[np.ndarray], float], n: int | None = None, *,
                     units: str, resamples: int = 2000, level: float = 0.95, fmt: str = "+.3f") -> Interval:
    """How sure a difference between two methods is, from the test units they were both scored on.

    ``difference`` is either one number per test unit (A's score minus B's on that number, prompt, day...; the
    statistic is their mean), or a function that takes an array of unit indices (a resample, with repeats) and returns
    the statistic of A minus B on those units (for scores such as F1 that are not a mean over units); then ``n`` is
    the number of units. Resampling the units, not the two methods separately, keeps each unit's pair together. The
    resampling has its own seed (``seed(0)``): the interval does not depend on, or change, the notebook's random state.
    """
    if not isinstance(units, str) or not units.strip():
        raise ValueError("units must say what was resampled, e.g. units='test days'")
    if not 0.5 < level < 1:
        raise ValueError(f"level must be between 0.5 and 1, such as 0.95, not {level!r}")
    if callable(difference):
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
            raise ValueError(f"with a function, n must be the number of test units (2 or more), not {n!r}")
        statistic = difference
    else:
        values = np.asarray(difference, dtype=float).reshape(-1) if _numeric(difference) else None
        if values is None or values.size < 2 or not np.all(np.isfinite(values)):
            raise ValueError("difference must be one finite number per test unit (two or more), or a function of "
                             f"unit indices; got {difference!r:.80}")
        n = values.size

        def statistic(index):
            return float(values[index].mean())

    rng = np.random.default_rng(seed(0))
    estimate = float(statistic(np.arange(n)))
    samples = np.array([statistic(rng.integers(0, n, size=n)) for _ in range(resamples)], dtype=float)
    tail = (1 - level) / 2
    low, high = np.quantile(samples, [tail, 1 - tail])
    return Interval(estimate, float(low), float(high), int(n), units, level, fmt)


def _numeric(values) -> bool:
    try:
        np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        return False
    return not isinstance(values, str | bytes)


# --- verdicts ---------------------------------------------------------------------------------------------------------


def claim(statement: str, holds: bool, evidence: object = None) -> bool:
    """Print a verdict the text states, marked by whether this run supports it; returns ``holds``.

    The prose of a notebook may only state a result that a ``claim`` prints. ``evidence`` (a ``Runs``, an
    ``Interval`` or a short text) is printed after the statement in brackets: what the verdict rests on, with its
    spread. A verdict about a method needs evidence from several seeds or a paired resampling (``claim_runs``,
    ``claim_interval``); a plain ``claim`` is for facts of this run and descriptions of one trained model.

    Cells that call it carry the ``nbval-check-output`` tag: the stored solution output says "✓", so a stack or a rerun
    on which the claim fails changes the output and fails CI (the bracketed evidence may move: nbval masks it). With
    ``COURSE_STRICT_CLAIMS`` set (CI), a claim that does not hold raises ``ClaimFailed``. In quick mode (shortened
    training) a claim that does not hold says it was not judged, instead of "✗".
    """
    if not isinstance(statement, str) or not statement.strip() or "[" in statement:
        raise ValueError(f"statement must be the sentence the text claims, without square brackets (they hold the "
                         f"evidence), e.g. 'the LSTM beats persistence', not {statement!r}")
    holds = bool(holds)
    tail = f" [{evidence}]" if evidence is not None and str(evidence).strip() else ""
    if holds:
        print(f"✓ {statement}{tail}")
    elif quick():
        print(f"◌ not judged in a quick run (training was shortened): {statement}{tail}")
    else:
        print(f"✗ not in this run: {statement}{tail}")
        if env_flag(STRICT_CLAIMS_ENV):
            shift = f" (seed shift {seed_shift()})" if seed_shift() else ""
            raise ClaimFailed(f"a claim the text makes does not hold in this run{shift}: {statement}{tail}")
    return holds


def claim_runs(statement: str, runs: Runs, each: Callable[[float], bool], need: int | None = None) -> bool:
    """A verdict over independent runs: it holds when ``each(value)`` is true for ``need`` of them (default all)."""
    if not isinstance(runs, Runs):
        raise ValueError(f"runs must come from course.over_seeds(values), not {type(runs).__name__}")
    agree = sum(bool(each(v)) for v in runs.values)
    need = len(runs) if need is None else need
    if isinstance(need, bool) or not isinstance(need, int) or not 1 <= need <= len(runs):
        raise ValueError(f"need must be a number of runs from 1 to {len(runs)}, not {need!r}")
    return claim(statement, agree >= need, f"{agree} of {len(runs)} {runs.unit}; {runs}")


def claim_interval(statement: str, interval: Interval, *, above: float | None = None, below: float | None = None,
                   within: float | None = None) -> bool:
    """A verdict from a paired bootstrap: the whole interval lies above ``above``, below ``below``, or inside
    ±``within`` (the two methods are the same to that margin). Give exactly one."""
    if not isinstance(interval, Interval):
        raise ValueError(f"interval must come from course.paired_bootstrap(...), not {type(interval).__name__}")
    given = [v for v in (above, below, within) if v is not None]
    if len(given) != 1:
        raise ValueError("give exactly one of above=, below= or within=")
    if above is not None:
        holds = interval.low > above
    elif below is not None:
        holds = interval.high < below
    else:
        holds = -within < interval.low and interval.high < within
    return claim(statement, holds, interval)
