"""The grader's worker: runs one submission's exercise code, isolated, and answers the grader's calls with plain data.

``python -m tools.grade`` starts one worker per submission inside the sandbox (``tools/sandbox.py``) and talks to it
over its standard input and output, one JSON message per line:

* ``{"op": "load", "setup": <the notebook's setup imports>, "cells": [[key, code], ...]}`` runs the setup imports
  (from the course's own source, never the submission's) and each exercise cell's code (only its imports,
  definitions and constants: ``tools.grade`` drops everything else) in one namespace; the reply says, per cell,
  whether it loaded.
* ``{"op": "reference", "names": {"lstm_cell_step": "utils.lstm:lstm_cell_step"}}`` puts the course's reference in
  place of an answer that failed its check, so later exercises that use it are graded on their own merit (as the
  notebook does).
* ``{"op": "call", "fn": ..., "args": [...], "kwargs": {...}, "exercise": "04.1"}`` runs the student's answer (or a
  checker's harness given the answer) once and replies with the outcome: the result, or the error text naming the
  student's line, and whether it ran a function the exercise forbids (``utils.checks.run_answer``).

The checker and the values it expects never enter this process: the grader judges the plain data that comes back.
What may cross, both ways (``encode`` / ``decode``): None, booleans, numbers and fractions, strings, bytes, lists,
tuples, dicts with string keys, NumPy arrays and scalars (never pickled), pandas Series, and NumPy random generators
(whose advanced state is sent back, so a checker's draws go on where the answer left them). Arguments come back
too, so a checker still sees an answer that changed its input in place. Anything else comes back as an ``Opaque``
stand-in that names its type, which a checker reports as "not numbers".
"""

from __future__ import annotations

import base64
import io
import json
import os
import sys
from fractions import Fraction

import numpy as np

ANSWER_KEY, HARNESS_KEY = "__answer__", "__harness__"
#: Checker modules whose module-level functions may be run here as harnesses (they receive the student's answer).
HARNESS_PACKAGE = "utils.checks."
MAX_DEPTH = 20
BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")


class Opaque:
    """What an answer returned that cannot cross between processes: its type name and a short description."""

    def __init__(self, type_name: str, text: str):
        self.type_name, self.text = type_name, text

    def __repr__(self) -> str:
        return self.text

    def __eq__(self, other) -> bool:
        return isinstance(other, Opaque) and (self.type_name, self.text) == (other.type_name, other.text)

    __hash__ = None


class Answer:
    """In the grader's process: the student's answer by name. A checker passes it to ``call``; calling it there is a
    bug of the checker, since the answer lives only in the worker."""

    def __init__(self, name: str):
        self.__name__ = name

    def __call__(self, *args, **kwargs):
        raise TypeError(f"a checker must run the student's {self.__name__} through utils.checks.call(...)")

    def __repr__(self) -> str:
        return f"<your {self.__name__}>"


def encode(value, generators: list | None = None, depth: int = 0):
    """``value`` as JSON-able data (see the module doc). ``generators`` collects the random generators it holds."""
    if depth > MAX_DEPTH:
        return {"__opaque__": "nested too deeply", "text": "<a value nested more than 20 levels deep>"}
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int) and not isinstance(value, np.integer):
        return value if abs(value) < 2**63 else {"__bigint__": str(value)}
    if isinstance(value, float):
        return value if np.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, Fraction):
        return {"__fraction__": [value.numerator, value.denominator]}
    if isinstance(value, Answer):
        return {ANSWER_KEY: value.__name__}
    if isinstance(value, np.random.Generator):
        if generators is not None:
            generators.append(value)
        return {"__rng__": _jsonable_state(value.bit_generator.state)}
    if isinstance(value, np.ndarray | np.generic):
        array = np.asarray(value)
        if array.dtype.kind not in "biufcUSM" or array.dtype.hasobject:
            return _opaque(value)
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        return {"__ndarray__" if isinstance(value, np.ndarray) else "__npscalar__":
                base64.b64encode(buffer.getvalue()).decode("ascii")}
    if isinstance(value, bytes):
        return {"__bytes__": base64.b64encode(value).decode("ascii")}
    if isinstance(value, list | tuple):
        items = [encode(v, generators, depth + 1) for v in value]
        return items if type(value) is list else {"__tuple__": items}
    if type(value) is dict and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: encode(v, generators, depth + 1) for k, v in value.items()}}
    if type(value).__name__ == "Series" and type(value).__module__.startswith("pandas"):
        return {"__series__": {"values": encode(value.to_numpy(), None, depth + 1),
                               "index": encode(value.index.to_numpy(), None, depth + 1),
                               "name": encode(value.name, None, depth + 1)}}
    return _opaque(value)


def _opaque(value) -> dict:
    kind = type(value).__name__
    if kind.endswith("iterator") or kind == "generator":
        text = f"a {kind} (which can be read only once): return a list or an array"
    else:
        try:
            text = repr(value)
        except Exception:  # an answer's own __repr__ may raise
            text = f"<a {kind}>"
        text = text if len(text) <= 200 else text[:199] + "…"
    return {"__opaque__": kind, "text": text}


def _jsonable_state(state):
    if isinstance(state, dict):
        return {k: _jsonable_state(v) for k, v in state.items()}
    if isinstance(state, np.ndarray):
        return {"__ndarray__": encode(state)["__ndarray__"]}
    return str(state) if isinstance(state, int) and abs(state) >= 2**53 else state


def _state_from_json(state):
    if isinstance(state, dict) and "__ndarray__" in state:
        return decode(state)
    if isinstance(state, dict):
        return {k: _state_from_json(v) for k, v in state.items()}
    return int(state) if isinstance(state, str) and state.lstrip("-").isdigit() else state


def decode(data, answers: dict | None = None, generators: list | None = None):
    """The value ``encode`` made; ``{ANSWER_KEY: name}`` becomes ``answers[name]`` (in the worker)."""
    if isinstance(data, list):
        return [decode(v, answers, generators) for v in data]
    if not isinstance(data, dict):
        return data
    (key, body), *_ = data.items() if data else ((None, None),)
    if key == "__tuple__":
        return tuple(decode(v, answers, generators) for v in body)
    if key == "__dict__":
        return {k: decode(v, answers, generators) for k, v in body.items()}
    if key in ("__ndarray__", "__npscalar__"):
        array = np.load(io.BytesIO(base64.b64decode(body)), allow_pickle=False)
        return array if key == "__ndarray__" else array[()]
    if key == "__bytes__":
        return base64.b64decode(body)
    if key == "__fraction__":
        return Fraction(*body)
    if key == "__bigint__":
        return int(body)
    if key == "__float__":
        return float(body)
    if key == "__rng__":
        kind = _state_from_json(body).get("bit_generator")
        if kind not in BIT_GENERATORS:
            raise ValueError(f"unknown random generator {kind!r}")
        bit_generator = getattr(np.random, kind)()
        bit_generator.state = _state_from_json(body)
        generator = np.random.Generator(bit_generator)
        if generators is not None:
            generators.append(generator)
        return generator
    if key == "__series__":
        import pandas as pd

        return pd.Series(decode(body["values"]), index=decode(body["index"]), name=decode(body["name"]))
    if key == ANSWER_KEY:
        if answers is None or body not in answers:
            raise KeyError(f"no answer named {body!r} was loaded")
        return answers[body]
    if key == "__opaque__":
        return Opaque(body, data.get("text", f"<a {body}>"))
    raise ValueError(f"unknown encoded value {key!r}")


# --- the grader's side: utils.checks.call, sent to a worker ----------------------------------------------------------


def make_dispatch(send):
    """A ``utils.checks.remote`` dispatch that sends each call to a worker: ``send(message) -> reply``.

    Only the answer (an ``Answer``) or a checker module's harness function may be called, with arguments that can
    cross (see ``encode``): anything else is a fault of the checker, which it must fix by building the object in a
    harness, inside the worker.
    """
    from utils.checks import Outcome

    def dispatch(fn, args, kwargs, report) -> Outcome:
        if isinstance(fn, Answer):
            spec = {ANSWER_KEY: fn.__name__}
        elif (callable(fn) and getattr(fn, "__module__", "").startswith(HARNESS_PACKAGE)
              and getattr(fn, "__qualname__", "") == getattr(fn, "__name__", None)):
            spec = {HARNESS_KEY: f"{fn.__module__}:{fn.__name__}"}
        else:
            raise TypeError(f"a checker may call only the student's answer or a harness function of its checker "
                            f"module through the grader, not {fn!r}")
        generators: list = []
        message = {"op": "call", "fn": spec, "args": encode(list(args), generators),
                   "kwargs": encode(dict(kwargs), generators),
                   "exercise": report.exercise.key if report is not None and report.exercise else None}
        if '"__opaque__"' in json.dumps([message["args"], message["kwargs"]]):
            raise TypeError(f"an argument of {fn!r} cannot be sent to the grader's worker (only plain data can): "
                            "build that object inside a harness function of the checker module")
        reply = send(message)
        if "fault" in reply:
            return Outcome(error=reply["fault"])
        for generator, state in zip(generators, reply.get("generators", []), strict=False):
            generator.bit_generator.state = _state_from_json(state)
        for original, after in zip(args, decode(reply.get("args_after", [])), strict=False):
            _write_back(original, after)
        return Outcome(result=decode(reply["result"]), error=reply["error"],
                       not_implemented=bool(reply["not_implemented"]), references=list(reply["references"]))

    return dispatch


def _write_back(original, after) -> None:
    """Make an argument the checker holds what the answer left it as (an in-place change shows, as in a notebook)."""
    if isinstance(original, np.ndarray) and isinstance(after, np.ndarray) and original.flags.writeable:
        if after.shape == original.shape:
            np.copyto(original, after, casting="unsafe")
    elif type(original) is list and isinstance(after, list):
        original[:] = after
    elif type(original) is dict and isinstance(after, dict):
        original.clear()
        original.update(after)


# --- the worker's side ------------------------------------------------------------------------------------------------


def _harness(spec: str):
    """The checker's harness function that ``"utils.checks.lstm:run_cell"`` names (only checker modules qualify)."""
    from utils.checks import resolve

    if not spec.startswith(HARNESS_PACKAGE) or "." in spec.partition(":")[2]:
        raise ValueError(f"{spec!r} is not a module-level function of a checker module")
    return resolve(spec)


def handle(message: dict, namespace: dict) -> dict:
    """Carry out one message of the grader (see the module doc); the reply to send back."""
    from utils.checks import exercises, forbidden_codes, resolve, run_answer

    op = message.get("op")
    if op == "load":
        exec(compile(message["setup"], "<setup cell>", "exec"), namespace)  # the course's own imports
        loaded = {}
        for key, code in message["cells"]:
            try:
                exec(compile(code, f"<your exercise {key}>", "exec"), namespace)
                loaded[key] = None
            except BaseException as exc:  # noqa: BLE001 - whatever the cell does, the worker answers
                loaded[key] = f"{type(exc).__name__}: {exc}"[:300]
        return {"loaded": loaded}
    if op == "reference":
        for name, target in message["names"].items():
            namespace[name] = resolve(target)
        return {"ok": True}
    if op == "call":
        answers = {k: v for k, v in namespace.items() if not k.startswith("__")}
        generators: list = []
        spec = message["fn"]
        fn = answers[spec[ANSWER_KEY]] if ANSWER_KEY in spec else _harness(spec[HARNESS_KEY])
        args = decode(message["args"], answers, generators)
        kwargs = decode(message["kwargs"], answers, generators)
        exercise = {ex.key: ex for ex in exercises()}.get(message.get("exercise"))
        forbidden = forbidden_codes(exercise) if exercise else {}
        pid = os.getpid()
        outcome = run_answer(fn, tuple(args), kwargs, forbidden)
        if os.getpid() != pid:  # a process the answer forked: it must not answer the grader, nor read its messages
            os._exit(0)
        return {"result": encode(outcome.result), "error": outcome.error, "not_implemented": outcome.not_implemented,
                "references": outcome.references, "args_after": encode(list(args)),
                "generators": [_jsonable_state(g.bit_generator.state) for g in generators]}
    raise ValueError(f"unknown message {op!r}")


def main() -> None:
    """Serve the grader on stdin/stdout. What the student's code prints goes to stderr, not into the replies."""
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    namespace: dict = {"__name__": "__main__"}
    for line in sys.stdin:
        try:
            reply = handle(json.loads(line), namespace)
        except BaseException as exc:  # noqa: BLE001 - a broken message or a student's SystemExit: say so, go on
            reply = {"fault": f"{type(exc).__name__}: {exc}"[:500]}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


if __name__ == "__main__":
    main()
