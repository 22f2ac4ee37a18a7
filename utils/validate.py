"""Argument checks shared by the course's public functions: bad input gets a ValueError that names the fix.

Each check returns the value in the form the caller needs (an ``int``, a float array, ...), so a function validates and
converts its arguments in one line each, before any library sees them and fails deep inside with its own message.
"""

from __future__ import annotations

import numbers
from pathlib import Path

import numpy as np


def whole(value, name: str, minimum: int = 1, fix: str = "") -> int:
    """``value`` as an ``int`` of at least ``minimum`` (a count, a length, a size), else a ValueError naming the fix."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        kind = "a positive whole number" if minimum == 1 else f"a whole number >= {minimum}"
        raise ValueError(f"{name} must be {kind}, not {value!r}{': ' + fix if fix else ''}")
    return int(value)


def number(value, name: str, positive: bool = False, fix: str = "") -> float:
    """``value`` as a finite ``float`` (above zero if ``positive``), else a ValueError naming the fix."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
    if not ok or (positive and value <= 0):
        kind = "a positive finite number" if positive else "a finite number"
        raise ValueError(f"{name} must be {kind}, not {value!r}{': ' + fix if fix else ''}")
    return float(value)


def finite_array(values, name: str, ndim: int | tuple[int, ...] | None = None, min_size: int = 1,
                 minus_infinity_ok: bool = False) -> np.ndarray:
    """``values`` as a float array with at least ``min_size`` elements, no NaN or infinity, of ``ndim`` dimensions.

    ``minus_infinity_ok``: -inf is allowed (a logit that bans a token), NaN and +inf are not.
    """
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of numbers, not {type(values).__name__}: pass a list or "
                         "NumPy array of floats") from None
    dims = (ndim,) if isinstance(ndim, int) else ndim
    if dims is not None and array.ndim not in dims:
        shapes = " or ".join(f"{d}-D" for d in dims)
        raise ValueError(f"{name} must be {shapes}, got shape {array.shape}: reshape it (e.g. np.asarray(x)[None])")
    if array.size < min_size:
        raise ValueError(f"{name} is empty (shape {array.shape}): pass at least {min_size} value(s)")
    finite = np.isfinite(array) | (minus_infinity_ok & (array == -np.inf))
    if not finite.all():
        bad = int((~finite).sum())
        raise ValueError(f"{name} holds {bad} NaN or infinite value(s): fill them first (e.g. pandas .interpolate() "
                         "or .ffill()) or drop them")
    return array


def non_empty(items, name: str, what: str = "one item") -> list:
    """``items`` as a list with at least one element; strings and non-iterables are refused with the fix."""
    if isinstance(items, (str, bytes)) or not hasattr(items, "__iter__"):
        raise ValueError(f"{name} must be a list of {what}s, not {type(items).__name__}: pass e.g. [{what}, ...]")
    items = list(items)
    if not items:
        raise ValueError(f"{name} is empty: pass at least {what}")
    return items


def has(obj, attribute: str, name: str, what: str):
    """``obj`` if it has ``attribute`` (duck typing: a model, a layer, a random generator), else a ValueError."""
    if not hasattr(obj, attribute):
        raise ValueError(f"{name} must be {what}, not {type(obj).__name__} ({obj!r:.40})")
    return obj


def path(value, name: str = "path", example: str = "'file.ext'") -> Path:
    """``value`` as a ``Path`` (str or os.PathLike), else a ValueError with an example."""
    if not isinstance(value, (str, Path)) and not hasattr(value, "__fspath__") or value == "":
        raise ValueError(f"{name} must be a file path (str or pathlib.Path), not {value!r}: e.g. {example}")
    return Path(value)


def string(value, name: str, example: str = "'forty-two'") -> str:
    """``value`` if it is a string, else a ValueError with an example."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string such as {example}, not {type(value).__name__} {value!r:.40}")
    return value
