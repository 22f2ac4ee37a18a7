"""A synthetic class of submissions of notebook 04, made from the student version, for the grader's tests and benchmark.

Each submission is the student notebook with its exercise cells filled in: right answers in several styles, typical
mistakes (each loses exactly its exercise's points), the untouched stubs, the ways a student could try to earn a ✅
without the work, hostile code, and broken files. Nothing here is committed as notebook files: the notebooks are
written into a folder when a test (or ``make grade-benchmark``) asks for them.

    python -m tests.grading_class OUT_FOLDER [--size 100]   # a class of that many for the benchmark
"""

from __future__ import annotations

import argparse
import copy
import json
import re
from pathlib import Path

import nbformat

from utils import ROOT

STUDENT = ROOT / "notebooks" / "04_homemade_lstm_cell.ipynb"
SOLUTION = ROOT / "notebooks" / "solutions" / "04_homemade_lstm_cell.ipynb"
ANSWERS = ("lstm_cell_step", "lstm_forward", "HomeMadeLSTMCell", "lstm_cell_backward")  # the last one optional


def _solution_cells() -> dict[str, str]:
    """The solution's exercise cells, by the name they define."""
    nb = nbformat.read(SOLUTION, as_version=4)
    found = {}
    for cell in nb.cells:
        for name in ANSWERS:
            if cell.cell_type == "code" and re.search(rf"^(def|class) {name}\b", cell.source, flags=re.M):
                found[name] = cell.source
    return found


RIGHT = _solution_cells()

# Right answers written another way.
STEP_OTHER_STYLE = '''def lstm_cell_step(x_t, h_prev, c_prev, W, U, b):
    """One LSTM step, gate by gate."""
    u = h_prev.shape[1]
    z = np.dot(x_t, W) + np.dot(h_prev, U) + b
    gates = [z[:, k * u:(k + 1) * u] for k in range(4)]
    input_gate, forget_gate = 1 / (1 + np.exp(-gates[0])), 1 / (1 + np.exp(-gates[1]))
    candidate, output_gate = np.tanh(gates[2]), 1 / (1 + np.exp(-gates[3]))
    cell_state = forget_gate * c_prev + input_gate * candidate
    return output_gate * np.tanh(cell_state), cell_state
'''
FORWARD_OTHER_STYLE = '''def lstm_forward(xs, h0, c0, W, U, b):
    """The loop, filling a preallocated array."""
    batch, steps, _ = xs.shape
    hs = np.zeros((batch, steps, h0.shape[1]))
    h, c = h0, c0
    for t in range(steps):
        h, c = lstm_cell_step(xs[:, t, :], h, c, W, U, b)
        hs[:, t, :] = h
    return hs, h, c
'''

# Typical mistakes, one exercise each: the checker names the fault (the words to find in the feedback).
STEP_GATES_SWAPPED = RIGHT["lstm_cell_step"].replace("i = lstm.sigmoid(z[:, :u])", "i = lstm.sigmoid(z[:, u:2 * u])")
STEP_GATES_SWAPPED = STEP_GATES_SWAPPED.replace("f = lstm.sigmoid(z[:, u:2 * u])", "f = lstm.sigmoid(z[:, :u])")
FORWARD_LAST_ONLY = '''def lstm_forward(xs, h0, c0, W, U, b):
    h, c = h0, c0
    for t in range(xs.shape[1]):
        h, c = lstm_cell_step(xs[:, t], h, c, W, U, b)
    return h[:, None, :], h, c
'''
CELL_NO_TANH = RIGHT["HomeMadeLSTMCell"].replace("h_t = ops.sigmoid(z_o) * ops.tanh(c_t)",
                                                 "h_t = ops.sigmoid(z_o) * c_t")

# Ways to earn a ✅ in one's own notebook without doing the work: pasted cells, and answers that reach for the answer.
TAMPERING = {
    "patch the verdict and the fallback": '''import utils.checks as uc
uc._verdict = lambda report, earlier=0: (print("✅ correct."), "done")[1]
uc.use_reference_if_needed = lambda fn, passed, check: fn
''',
    "make Report.fail a no-op": "import utils.checks as uc\nuc.Report.fail = lambda self, *a, **k: None\n",
    "swap a checker's reference": '''import utils.lstm, utils.checks.lstm as cl
cl.lstm.lstm_cell_step = lambda *args: (args[1], args[2])
''',
    "replace a checker module": '''import sys, types
fake = types.ModuleType("utils.checks.lstm")
fake.check_lstm_cell_step = fake.check_lstm_forward = fake.check_lstm_cell_class = lambda *a: True
sys.modules["utils.checks.lstm"] = fake
''',
    "silence the running report": "import utils.checks as uc\nuc._ACTIVE.append(type('R', (), {'fail': print})())\n",
}
STUB_AGAIN = '''def lstm_cell_step(x_t, h_prev, c_prev, W, U, b):
    raise NotImplementedError("later")
'''
ANSWER_TAMPERING = {
    "pass once, then redefine the function": (RIGHT["lstm_cell_step"], STUB_AGAIN),
    "read the checker's frame": ('''import sys

def lstm_cell_step(x_t, h_prev, c_prev, W, U, b):
    frame = sys._getframe(1)
    while frame is not None:
        for name in ("expected", "want", "h_expected"):
            if name in frame.f_locals:
                return frame.f_locals[name]
        frame = frame.f_back
    return h_prev, c_prev
''', None),
    "an __array__ that fetches the expected value": ('''import gc
import numpy as np

class Sly:
    def __array__(self, dtype=None, copy=None):
        for obj in gc.get_objects():
            if isinstance(obj, dict) and "expected" in obj:
                return np.asarray(obj["expected"])
        return np.zeros(1)

def lstm_cell_step(x_t, h_prev, c_prev, W, U, b):
    return Sly(), Sly()
''', None),
    "call the reference": ('''from utils import lstm as course_lstm

def lstm_cell_step(x_t, h_prev, c_prev, W, U, b):
    return course_lstm.lstm_cell_step(x_t, h_prev, c_prev, W, U, b)
''', None),
    "call the reference through getattr": ('''import importlib

def lstm_cell_step(x_t, h_prev, c_prev, W, U, b):
    module = importlib.import_module("utils." + "lstm")
    return getattr(module, "lstm_cell" + "_step")(x_t, h_prev, c_prev, W, U, b)
''', None),
}

# Hostile code in the first exercise: the grader must survive it and grade the other exercises.
HOSTILE = {
    "loops forever": "def lstm_cell_step(x_t, h_prev, c_prev, W, U, b):\n    while True:\n        pass\n",
    "allocates 20 GB": ("def lstm_cell_step(x_t, h_prev, c_prev, W, U, b):\n"
                        "    block = bytearray(20 * 1024**3)\n    return h_prev, c_prev\n"),
    "forks without end": ("import os\n\ndef lstm_cell_step(x_t, h_prev, c_prev, W, U, b):\n"
                          "    while True:\n        os.fork()\n"),
    "opens a socket": ("import socket\n\ndef lstm_cell_step(x_t, h_prev, c_prev, W, U, b):\n"
                       "    socket.create_connection(('pypi.org', 443), timeout=5).sendall(b'grades')\n"
                       "    return h_prev, c_prev\n"),
    "deletes and overwrites files": ("import pathlib, shutil, utils\n\n"
                                     "def lstm_cell_step(x_t, h_prev, c_prev, W, U, b):\n"
                                     "    (utils.ROOT / 'utils' / 'checks' / '__init__.py').write_text('')\n"
                                     "    shutil.rmtree(utils.ROOT / 'data')\n    return h_prev, c_prev\n"),
    "reads another submission": ("def lstm_cell_step(x_t, h_prev, c_prev, W, U, b):\n"
                                 "    return open(OTHER).read(), None\n"),
    "kills its parent": ("import os, signal\n\ndef lstm_cell_step(x_t, h_prev, c_prev, W, U, b):\n"
                         "    os.kill(os.getppid(), signal.SIGKILL)\n    os.kill(-1, signal.SIGKILL)\n"),
}


def submission(answers: dict[str, str], extra_cells: tuple[str, ...] = ()) -> nbformat.NotebookNode:
    """The student notebook with the exercise cells of ``answers`` (name -> cell code) replaced; ``extra_cells`` are
    pasted after each exercise's check cell (as a student who pastes code into their notebook would)."""
    nb = copy.deepcopy(nbformat.read(STUDENT, as_version=4))
    cells = []
    for cell in nb.cells:
        name = next((n for n in ANSWERS if cell.cell_type == "code"
                     and re.search(rf"^(def|class) {n}\b", cell.source, flags=re.M)), None)
        if name in answers:
            cell.source = answers[name]
        cells.append(cell)
        if cell.cell_type == "code" and "use_reference_if_needed(" in cell.source:
            cells += [nbformat.v4.new_code_cell(code) for code in extra_cells]
    nb.cells = cells
    return nb


def write(folder: Path, name: str, nb) -> Path:
    path = folder / f"{name}.ipynb"
    path.write_text(json.dumps(nb) if not isinstance(nb, str) else nb, encoding="utf-8")
    return path


def honest_class(folder: Path) -> dict[str, dict]:
    """Write the test class into ``folder``; returns, per student, the points each exercise deserves (and notes)."""
    folder.mkdir(parents=True, exist_ok=True)
    full = {"04.1": 4, "04.2": 3, "04.3": 3, "04.4": 2}
    deserved: dict[str, dict] = {}

    def add(student, nb, points, **expect):
        write(folder, student, nb)
        deserved[student] = {"points": points, **expect}

    add("strong-solution", submission(RIGHT), full)
    add("strong-other-style", submission({**RIGHT, "lstm_cell_step": STEP_OTHER_STYLE,
                                          "lstm_forward": FORWARD_OTHER_STYLE}), full)
    add("weak-gates-swapped", submission({**RIGHT, "lstm_cell_step": STEP_GATES_SWAPPED}), {**full, "04.1": 0},
        fault={"04.1": "input gate i_t and forget gate f_t"})
    add("weak-last-step-only", submission({**RIGHT, "lstm_forward": FORWARD_LAST_ONLY}), {**full, "04.2": 0})
    add("weak-no-tanh", submission({**RIGHT, "HomeMadeLSTMCell": CELL_NO_TANH}), {**full, "04.3": 0})
    add("untouched-stub", submission({}), {"04.1": 0, "04.2": 0, "04.3": 0, "04.4": 0}, state="not done")
    return deserved


def tampering_class(folder: Path) -> dict[str, dict]:
    """The ways to fake a ✅, each in its own submission; none may earn the points it fakes."""
    folder.mkdir(parents=True, exist_ok=True)
    deserved = {}
    for i, (what, cell) in enumerate(TAMPERING.items()):
        write(folder, f"tamper-{i}", submission({}, extra_cells=(cell,)))
        deserved[f"tamper-{i}"] = {"what": what, "points": {"04.1": 0, "04.2": 0, "04.3": 0, "04.4": 0}}
    for i, (what, (first, later)) in enumerate(ANSWER_TAMPERING.items()):
        nb = submission({"lstm_cell_step": first}, extra_cells=(later,) if later else ())
        write(folder, f"cheat-{i}", nb)
        deserved[f"cheat-{i}"] = {"what": what, "points": {"04.1": 0, "04.2": 0, "04.3": 0, "04.4": 0}}
    return deserved


def hostile_class(folder: Path, other: Path) -> dict[str, dict]:
    """Hostile first exercises (right answers elsewhere), and broken files; ``other`` is another student's file."""
    folder.mkdir(parents=True, exist_ok=True)
    deserved = {}
    for i, (what, code) in enumerate(HOSTILE.items()):
        write(folder, f"hostile-{i}", submission({**RIGHT, "lstm_cell_step": code.replace("OTHER", repr(str(other)))}))
        deserved[f"hostile-{i}"] = {"what": what, "points": {"04.1": 0, "04.2": 3, "04.3": 3, "04.4": 2}}
    good = json.dumps(submission(RIGHT))
    broken = {"empty": "", "truncated": good[: len(good) // 2], "not-a-notebook": "lorem ipsum\n",
              "another-notebook": (ROOT / "notebooks" / "solutions" / "03_lstm_architecture.ipynb").read_text(),
              "renamed-function": json.dumps(submission({**RIGHT, "lstm_cell_step": RIGHT["lstm_cell_step"].replace(
                  "def lstm_cell_step", "def my_step")}))}
    for what, text in broken.items():
        write(folder, f"broken-{what}", text)
        points = ({"04.1": 0, "04.2": 3, "04.3": 3, "04.4": 2} if what == "renamed-function" else
                  {"04.1": 0, "04.2": 0, "04.3": 0, "04.4": 0})
        deserved[f"broken-{what}"] = {"what": what, "points": points}
    return deserved


def benchmark_class(folder: Path, size: int) -> None:
    """``size`` submissions: the test class's kinds in turn (right, other style, each mistake, stub)."""
    kinds = [submission(RIGHT), submission({**RIGHT, "lstm_cell_step": STEP_OTHER_STYLE}),
             submission({**RIGHT, "lstm_cell_step": STEP_GATES_SWAPPED}),
             submission({**RIGHT, "lstm_forward": FORWARD_LAST_ONLY}),
             submission({**RIGHT, "HomeMadeLSTMCell": CELL_NO_TANH}), submission({})]
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(size):
        write(folder, f"student-{i:03d}", kinds[i % len(kinds)])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="write a synthetic class of notebook 04 submissions")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--size", type=int, default=100)
    args = parser.parse_args()
    benchmark_class(args.folder, args.size)
    print(f"wrote {args.size} submissions to {args.folder}")
