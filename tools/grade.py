"""Grade a class's submitted notebooks from the grader's side: isolated, in parallel, with feedback and a summary.

Usage (``make grade NB=04 SUBMISSIONS=path/to/folder`` runs the first form)::

    python -m tools.grade 04 path/to/folder            # writes build/grades/04/
    python -m tools.grade 04 folder --jobs 2 --timeout 60 --out somewhere
    python -m tools.grade 04 --gradescope              # writes build/grades/gradescope-04.zip (see README)

What is graded is each exercise's answer, re-checked here with the course's own checker on fresh cases: never what
the submission printed, its check cells, its ✅, or code outside its exercise cells. For each submission:

1. The notebook is read as data (nothing in it runs here). For each exercise of the notebook (``utils.checks``'
   registry), the code cell that defines its answer (the last one, as the notebook would end up) is kept, reduced to
   its imports, definitions and constants; an answer that names the exercise's reference or the layer it rebuilds
   is refused, and code that reaches into the interpreter (frames, tracing, ``utils.checks``) is flagged for a human.
2. A worker process (``tools/grade_worker.py``) starts in the sandbox (``tools/sandbox.py``: no network, no files
   but its scratch folder, limits on memory, CPU and processes), runs the notebook's setup imports (from the
   course's source) and the kept cells, and from then on only answers calls.
3. Each exercise's checker runs here, in this process; every call of the answer goes to the worker and only plain
   data comes back (``utils.checks.remote``). A call that runs past ``--timeout`` kills the worker: the exercise is
   "timed out" and the next exercise gets a fresh worker. An exercise that fails is replaced by the reference for
   the exercises after it, as the notebook does.

Outputs in ``build/grades/NN/``: ``grades.csv`` (one row per student: points per exercise, total, out of, status,
notes), ``feedback/<student>.md`` (each exercise's verdict and named faults, as the notebook's check says them),
``summary.html`` (pass rate per exercise as a chart, the most common faults, what needs a human look) and
``summary.md``. Submissions are one ``.ipynb`` per student, or one folder per student holding it (as LMS exports lay
them out); odd names, duplicates and stray files are reported in the summary, never fatal.
"""

from __future__ import annotations

import argparse
import ast
import base64
import contextlib
import csv
import hashlib
import html
import io
import json
import multiprocessing
import re
import secrets
import select
import shutil
import sys
import tempfile
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tools import sandbox
from tools.grade_worker import Answer, make_dispatch
from utils import ROOT, tf_log

SOURCES = ROOT / "notebooks" / "source"
OUT = ROOT / "build" / "grades"
MAX_NOTEBOOK_BYTES = 20 * 1024**2
#: Code in an exercise cell that reaches into the interpreter or the checks: graded as usual, flagged for a human.
SUSPICIOUS = re.compile(r"_getframe|settrace|setprofile|sys\.monitoring|__code__|f_back|f_locals|\bgc\.|inspect\."
                        r"(stack|currentframe|getouterframes)|utils\.checks|ctypes|os\.write|__builtins__|sys\.modules")
STATES = {"pass": "✅", "fail": "❌", "not done": "⏳", "missing": "∅", "timed out": "⌛", "refused": "⛔",
          "check problem": "⚠"}


# --- 1. submissions and their exercise code ---------------------------------------------------------------------------


@dataclass
class Submission:
    student: str
    path: Path | None
    notes: list[str] = field(default_factory=list)


def collect(folder: Path) -> tuple[list[Submission], list[str]]:
    """The submissions in ``folder`` (one notebook per student, or one folder per student) and what was odd there."""
    if not folder.is_dir():
        raise SystemExit(f"{folder} is not a folder: give the folder that holds the students' notebooks")
    found: dict[str, list[Path]] = {}
    remarks = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            notebooks = sorted(p for p in entry.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
            if not notebooks:
                remarks.append(f"{entry.name}/: no notebook inside: skipped")
                continue
            found.setdefault(_student_id(entry.name), []).extend(notebooks)
        elif entry.suffix == ".ipynb":
            found.setdefault(_student_id(entry.stem), []).append(entry)
        else:
            remarks.append(f"{entry.name}: not a notebook (.ipynb): skipped")
    submissions = []
    for student, paths in sorted(found.items()):
        newest = max(paths, key=lambda p: (p.stat().st_mtime, str(p)))
        sub = Submission(student, newest)
        if len(paths) > 1:
            others = ", ".join(str(p.relative_to(folder)) for p in paths if p != newest)
            sub.notes.append(f"{len(paths)} notebooks for this student: graded the newest, "
                             f"{newest.relative_to(folder)}; not graded: {others}")
        submissions.append(sub)
    return submissions, remarks


def _student_id(name: str) -> str:
    """A file-system-safe student id from a file or folder name ("Ada Lovelace_1234_assign" stays readable)."""
    cleaned = re.sub(r"[^\w.@-]+", "_", name).strip("._") or "unnamed"
    return cleaned[:80]


@dataclass
class Extracted:
    """What a submission's notebook holds for grading: the kept code per exercise and what was found on the way."""

    cells: dict[str, str] = field(default_factory=dict)  # exercise key -> kept code
    missing: dict[str, str] = field(default_factory=dict)  # exercise key -> why there is no answer
    refused: dict[str, str] = field(default_factory=dict)  # exercise key -> the reference it names
    flags: list[str] = field(default_factory=list)  # for a human look
    problem: str | None = None  # the notebook could not be read at all


def read_submission(path: Path, notebook: str) -> Extracted:
    """Read the notebook at ``path`` as data and keep each exercise's answer code (see the module doc)."""
    from utils.checks import exercises

    out = Extracted()
    try:
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            out.problem = f"larger than {MAX_NOTEBOOK_BYTES // 1024**2} MB: not read"
            return out
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
            raise ValueError("no list of cells")
        cells = [c for c in data["cells"] if isinstance(c, dict) and c.get("cell_type") == "code"]
        sources = ["".join(c["source"]) if isinstance(c["source"], list) else str(c["source"]) for c in cells]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        out.problem = f"not a readable notebook ({type(error).__name__}: {str(error)[:100]})"
        return out
    parsed = [_parse(source) for source in sources]
    course_title = _title_of_submission(data)
    if course_title and not course_title.startswith(notebook):
        out.flags.append(f"this looks like notebook {course_title[:2]}, not {notebook}: check the upload")
    for ex in exercises(notebook):
        defining = [tree for tree in parsed if tree is not None and _defines(tree, ex.answer)]
        if not defining:
            names = " and ".join(ex.answer)
            out.missing[ex.key] = f"no code cell defines {names} (renamed, deleted, or a cell that does not parse)"
            continue
        tree = defining[-1]
        kept = _kept(tree)
        code = ast.unparse(kept)
        out.cells[ex.key] = code
        named = _names_a_reference(kept, ex)
        if named:
            out.refused[ex.key] = named
        if SUSPICIOUS.search(ast.unparse(tree)):
            out.flags.append(f"{ex.name}: its cell reaches into the interpreter or the checks "
                             f"({SUSPICIOUS.search(ast.unparse(tree)).group(0)}): look at it")
    return out


def _parse(source: str):
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        return None


def _title_of_submission(data: dict) -> str:
    for cell in data.get("cells", []):
        text = "".join(cell.get("source", "")) if isinstance(cell, dict) else ""
        match = re.search(r"^# (\d\d) · ", text, flags=re.M)
        if match:
            return match.group(1)
    return ""


def _defines(tree: ast.Module, names: tuple[str, ...]) -> bool:
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.ClassDef)}
    return all(name in defined for name in names)


def _kept(tree: ast.Module) -> ast.Module:
    """The statements of a cell that define things: imports, functions, classes, and names bound to constants."""
    kept = []
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            kept.append(node)
        elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            try:
                ast.literal_eval(node.value)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                continue
            if all(isinstance(t, ast.Name) for t in targets):
                kept.append(node)
    return ast.Module(body=kept, type_ignores=[])


def _names_a_reference(tree: ast.Module, exercise) -> str | None:
    """The reference (or forbidden layer) the code names, as ``module.attr`` or an import; None if it names none."""
    targets = {}
    for target in (*exercise.reference, *exercise.forbid):
        module, _, name = target.partition(":")
        targets[name.split(".")[-1]] = target.replace(":", ".")
    answers = set(exercise.answer)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in targets:
            return targets[node.attr]
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name in targets and (alias.name not in answers or (node.module or "").startswith("utils")):
                    return targets[alias.name]
    return None


def setup_imports(notebook: str) -> str:
    """The import statements of the notebook's setup cell, from the course's own source (not the submission)."""
    (source,) = SOURCES.glob(f"{notebook}_*.py")
    parts = re.split(r"^(# %%.*)$", source.read_text(encoding="utf-8"), flags=re.M)[1:]
    for header, cell in zip(parts[::2], parts[1::2], strict=True):
        if "[markdown]" not in header and "course.setup(" in cell:
            tree = ast.parse(cell)
            return ast.unparse(ast.Module(body=[n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)],
                                          type_ignores=[]))
    raise LookupError(f"notebook {notebook}'s source has no setup cell (the one that calls course.setup)")


# --- 2. a worker in the sandbox --------------------------------------------------------------------------------------


class WorkerStopped(Exception):
    """The worker timed out, ran out of memory, or exited: what it was doing gets no answer."""


class Worker:
    """One sandboxed ``tools.grade_worker`` process and the messages to and from it."""

    def __init__(self, scratch: Path, limits: sandbox.Limits, isolate: bool):
        argv = [sys.executable, "-m", "tools.grade_worker"]
        self.process, self.cgroup = sandbox.start(argv, scratch, limits, isolate=isolate)
        self.buffer = b""

    def send(self, message: dict, timeout: float) -> dict:
        try:
            self.process.stdin.write((json.dumps(message) + "\n").encode())
            self.process.stdin.flush()
        except (BrokenPipeError, OSError, ValueError) as error:
            raise WorkerStopped("the submission's process had stopped") from error
        deadline = time.monotonic() + timeout
        fd = self.process.stdout.fileno()
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise WorkerStopped(f"it ran for more than {timeout:.0f} s (the time limit)")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                import os

                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    raise WorkerStopped("the submission's process stopped (out of memory, or it exited)")
                self.buffer += chunk
                if len(self.buffer) > 256 * 1024**2:
                    raise WorkerStopped("it sent back more than 256 MB")
        line, _, self.buffer = self.buffer.partition(b"\n")
        return json.loads(line)

    def close(self) -> None:
        sandbox.stop(self.process, self.cgroup)


# --- 3. grading one submission ---------------------------------------------------------------------------------------


@dataclass
class Settings:
    notebook: str
    timeout: float = 60.0  # seconds per call of the answer
    budget: float = 600.0  # seconds for the whole submission
    limits: sandbox.Limits = sandbox.Limits()
    isolate: bool = True
    salt: str = ""  # mixed into each case seed: fresh cases per grading run, reproducible with the same salt


@dataclass
class Result:
    student: str
    points: dict[str, float] = field(default_factory=dict)
    states: dict[str, str] = field(default_factory=dict)
    feedback: dict[str, str] = field(default_factory=dict)
    faults: dict[str, list[str]] = field(default_factory=dict)
    status: str = "graded"
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total(self) -> float:
        return sum(self.points.values())


def grade_submission(sub: Submission, settings: Settings) -> Result:
    """Grade one submission (see the module doc); never raises for anything the submission does."""
    from utils import checks

    started = time.monotonic()
    result = Result(sub.student, notes=list(sub.notes))
    declared = checks.exercises(settings.notebook)
    extracted = read_submission(sub.path, settings.notebook) if sub.path else Extracted(problem="no file")
    result.notes += extracted.flags
    if extracted.problem:
        result.status = "unreadable"
        result.notes.append(extracted.problem)
        for ex in declared:
            _record(result, ex, "missing", 0, f"the notebook could not be read: {extracted.problem}")
        return result
    setup = setup_imports(settings.notebook)
    replaced: dict[str, str] = {}
    worker = None
    with tempfile.TemporaryDirectory(prefix="grade-") as scratch:
        try:
            for ex in declared:
                if time.monotonic() - started > settings.budget:
                    _record(result, ex, "timed out", 0, f"not graded: the submission used up its "
                            f"{settings.budget:.0f} s")
                    continue
                if ex.key in extracted.missing:
                    _record(result, ex, "missing", 0, extracted.missing[ex.key])
                    replaced.update(zip(ex.answer, ex.reference, strict=True))
                    continue
                if worker is None:
                    worker, load_faults = _start(Path(scratch), settings, setup, extracted, replaced)
                    for key, fault in load_faults.items():
                        extracted.missing.setdefault(key, f"its cell raised {fault} when it was run")
                    if ex.key in extracted.missing:
                        _record(result, ex, "missing", 0, extracted.missing[ex.key])
                        replaced.update(zip(ex.answer, ex.reference, strict=True))
                        continue
                state, text = _check(worker, ex, settings, sub.student)
                if ex.key in extracted.refused and state == "pass":
                    state, text = "fail", (f"  ✗ your answer uses {extracted.refused[ex.key]}, which already computes "
                                           f"what this exercise asks for: not accepted\n{text}")
                _record(result, ex, state, ex.points if state == "pass" else 0, text)
                if state != "pass":
                    replaced.update(zip(ex.answer, ex.reference, strict=True))
                if state in ("timed out", "refused"):
                    worker.close()
                    worker = None
                elif state != "pass":
                    worker.send({"op": "reference", "names": dict(zip(ex.answer, ex.reference, strict=True))},
                                settings.timeout)
        except WorkerStopped as stopped:  # between exercises (loading, or putting a reference in place)
            result.status = "stopped"
            result.notes.append(f"the submission's process stopped while loading: {stopped}")
            for ex in declared:
                if ex.key not in result.states:
                    _record(result, ex, "refused", 0, f"not graded: {stopped}")
        finally:
            if worker is not None:
                worker.close()
    if any(state == "timed out" for state in result.states.values()):
        result.status = "timed out"
    result.seconds = time.monotonic() - started
    return result


def _start(scratch: Path, settings: Settings, setup: str, extracted: Extracted, replaced: dict[str, str]):
    """A fresh worker with the submission's kept code loaded and the references in place; (worker, load faults)."""
    worker = Worker(scratch / f"run-{secrets.token_hex(4)}", settings.limits, settings.isolate)
    try:
        reply = worker.send({"op": "load", "setup": setup, "cells": list(extracted.cells.items())},
                            max(settings.timeout, 120))
        if "fault" in reply:
            raise WorkerStopped(f"the notebook's setup failed in the worker: {reply['fault']}")
        if replaced:
            worker.send({"op": "reference", "names": replaced}, settings.timeout)
    except BaseException:
        worker.close()
        raise
    return worker, {k: v for k, v in reply["loaded"].items() if v}


def _check(worker: Worker, ex, settings: Settings, student: str) -> tuple[str, str]:
    """Run the exercise's checker here, its calls in the worker; (state, what the check printed)."""
    from utils import checks

    stopped: list[str] = []

    def send(message: dict) -> dict:
        if stopped:
            return {"fault": stopped[0]}
        try:
            return worker.send(message, settings.timeout)
        except WorkerStopped as error:
            stopped.append(str(error))
            return {"fault": f"WorkerStopped: {error}"}

    seed = int.from_bytes(hashlib.sha256(f"{settings.salt}/{student}/{ex.key}".encode()).digest()[:4], "big")
    printed = io.StringIO()
    checks.reset()
    with checks.remote(make_dispatch(send), case_seed=seed), contextlib.redirect_stdout(printed):
        passed = checks.checker(ex)(*(Answer(name) for name in ex.answer))
    text = printed.getvalue()
    if stopped:
        state = "timed out" if "time limit" in stopped[0] else "refused"
        return state, f"  ✗ {stopped[0]}: the exercise is not graded further\n{text}"
    if passed:
        return "pass", text
    if "not done yet" in text:
        return "not done", text
    if "the check itself hit a problem" in text:
        return "check problem", text
    return "fail", text


def _record(result: Result, ex, state: str, points: float, text: str) -> None:
    result.states[ex.key] = state
    result.points[ex.key] = points
    result.feedback[ex.key] = text.rstrip()
    # Only a wrong answer has faults worth counting for the class: a timed-out or refused run is listed under
    # "needs a human look" instead, and would otherwise crowd the named mistakes out of the summary.
    result.faults[ex.key] = _faults(text) if state == "fail" else []


def _faults(text: str) -> list[str]:
    """The faults a check's output names ("likely fault: ..."), for the class summary; none when it named none.

    A finding with no named fault (an error, a wrong value no typical mistake explains) is counted in the summary as
    such: its wording holds the case it failed on, so it would not group with the same finding of other students.
    """
    faults = re.findall(r"likely fault: (.+?)(?: — |$)", text, flags=re.M)
    return [re.sub(r"\s+", " ", f)[:140] for f in faults]


# --- 4. the class: in parallel, then the outputs ----------------------------------------------------------------------


def _init_slot() -> None:
    """Load the checks (and TensorFlow) once per parallel slot."""
    from utils import checks

    checks.exercises()


def _grade_in_slot(args):
    sub, settings = args
    try:
        return grade_submission(sub, settings)
    except Exception as error:  # a fault of the grader itself must not lose the other students' grades
        result = Result(sub.student, status="grader error", notes=[f"{type(error).__name__}: {error}"])
        return result


def grade_class(submissions: list[Submission], settings: Settings, jobs: int) -> list[Result]:
    """Grade every submission, ``jobs`` at a time (each slot a process of its own), in the students' order."""
    work = [(sub, settings) for sub in submissions]
    if jobs <= 1:
        _init_slot()
        return [_grade_in_slot(item) for item in work]
    context = multiprocessing.get_context("spawn")
    with context.Pool(jobs, initializer=_init_slot) as pool:
        results = list(pool.imap(_grade_in_slot, work))
    return results


def write_outputs(results: list[Result], remarks: list[str], settings: Settings, out: Path, seconds: float) -> None:
    """grades.csv, feedback/<student>.md, summary.md and summary.html (with its chart) in ``out``."""
    from utils import checks

    declared = checks.exercises(settings.notebook)
    out.mkdir(parents=True, exist_ok=True)
    feedback_dir = out / "feedback"
    if feedback_dir.exists():
        shutil.rmtree(feedback_dir)
    feedback_dir.mkdir()
    with open(out / "grades.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        # "out of" counts the core exercises only: an optional exercise's points come on top (a bonus)
        maximum = _points(sum(ex.points for ex in declared if not ex.optional))
        writer.writerow(["student", *(f"{ex.name} ({ex.points}{', optional' if ex.optional else ''})"
                                      for ex in declared), "total", "out of", "status", "notes"])
        for r in results:
            writer.writerow([r.student, *(_points(r.points.get(ex.key, 0)) for ex in declared), _points(r.total),
                             maximum, r.status, " | ".join(r.notes)])
    for r in results:
        (feedback_dir / f"{r.student}.md").write_text(feedback_text(r, declared, settings), encoding="utf-8")
    summary = class_summary(results, declared, remarks, settings, seconds)
    (out / "summary.md").write_text(summary, encoding="utf-8")
    (out / "summary.html").write_text(summary_html(results, declared, summary), encoding="utf-8")


def _points(value: float) -> str:
    return f"{value:g}"


def feedback_text(r: Result, declared, settings: Settings) -> str:
    maximum = sum(ex.points for ex in declared if not ex.optional)
    lines = [f"# Notebook {settings.notebook}: {r.student}", "",
             f"**{_points(r.total)} of {maximum} points** ({r.status}). Each exercise was checked again by running "
             "your function on fresh cases; the lines below are what the check said.", ""]
    for ex in declared:
        state = r.states.get(ex.key, "missing")
        lines += [f"## {STATES.get(state, '')} {ex.name}: {_points(r.points.get(ex.key, 0))} of {ex.points} "
                  f"points ({state})", "", "```", r.feedback.get(ex.key, "") or "(no output)", "```", ""]
    if r.notes:
        lines += ["## Notes", "", *(f"- {note}" for note in r.notes), ""]
    return "\n".join(lines)


def class_summary(results: list[Result], declared, remarks: list[str], settings: Settings, seconds: float) -> str:
    """The class summary in Markdown: pass rates, the most common faults, what needs a human look."""
    n = len(results)
    lines = [f"# Notebook {settings.notebook}: {n} submission{'s' if n != 1 else ''}", "",
             f"Graded in {seconds:.0f} s ({seconds / max(n, 1):.1f} s per submission), "
             f"{'isolated with bubblewrap' if settings.isolate else 'WITHOUT isolation (--no-sandbox)'}, "
             f"time limit {settings.timeout:.0f} s per call.", "",
             "| exercise | points | passed | most common faults |", "|---|---|---|---|"]
    for ex in declared:
        passed = sum(r.states.get(ex.key) == "pass" for r in results)
        faults = Counter(f for r in results for f in r.faults.get(ex.key, []))
        unnamed = sum(r.states.get(ex.key) == "fail" and not r.faults.get(ex.key) for r in results)
        common = [f"{fault} ({count})" for fault, count in faults.most_common(3)]
        common += [f"no typical fault named ({unnamed})"] if unnamed else []
        common = "; ".join(common) or "—"
        lines.append(f"| {ex.name} | {ex.points} | {passed} of {n} | {common} |")
    totals = sorted(r.total for r in results)
    if totals:
        lines += ["", f"Totals: median {totals[len(totals) // 2]:g}, lowest {totals[0]:g}, highest {totals[-1]:g}."]
    look = [r for r in results if r.status != "graded" or r.notes
            or any(s in ("check problem", "refused") for s in r.states.values())]
    lines += ["", "## Needs a human look", ""]
    lines += [f"- {r.student}: {r.status}; " + "; ".join(r.notes + [f"{k}: {s}" for k, s in r.states.items()
                                                                   if s in ("check problem", "refused")])
              for r in look] or ["- nothing"]
    if remarks:
        lines += ["", "## In the submissions folder", "", *(f"- {remark}" for remark in remarks)]
    return "\n".join(lines) + "\n"


def summary_html(results: list[Result], declared, summary: str) -> str:
    """The summary as a page, with a chart of the pass rate per exercise (alt text says what it shows)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from utils.plots import PALETTE

    n = max(len(results), 1)
    rates = [100 * sum(r.states.get(ex.key) == "pass" for r in results) / n for ex in declared]
    fig, ax = plt.subplots(figsize=(7, 0.5 + 0.45 * len(declared)), dpi=100)
    labels = [ex.name for ex in declared]
    ax.barh(labels[::-1], rates[::-1], color=PALETTE["blue"])
    ax.set_xlim(0, 100)
    ax.set_xlabel("students whose answer passed (%)")
    ax.set_title(f"Pass rate per exercise ({len(results)} submissions)")
    for y, rate in enumerate(rates[::-1]):
        ax.text(min(rate + 1, 92), y, f"{rate:.0f}%", va="center")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    alt = "Bar chart of the share of students whose answer passed, per exercise: " + "; ".join(
        f"{label} {rate:.0f}%" for label, rate in zip(labels, rates, strict=True))
    image = base64.b64encode(buffer.getvalue()).decode("ascii")
    body = html.escape(summary)
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Grades</title></head><body>"
            f"<img src='data:image/png;base64,{image}' alt='{html.escape(alt, quote=True)}'>"
            f"<pre style='white-space: pre-wrap'>{body}</pre></body></html>\n")


# --- 5. Gradescope -------------------------------------------------------------------------------------------------


GRADESCOPE_FILES = ("utils", "tools", "data", "notebooks/source", "pyproject.toml", "README.md", "LICENSE")
SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder's image.
set -euo pipefail
apt-get update -qq && apt-get install -y -qq bubblewrap python3-pip >/dev/null || true
python3 -m pip install --quiet uv
uv venv --python 3.11 /autograder/venv
uv pip install --python /autograder/venv/bin/python --quiet /autograder/source
"""
RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for each submission: it grades /autograder/submission and writes /autograder/results.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PYTHON="${AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}"
cd "$ROOT/source"
"$PYTHON" -m tools.grade NOTEBOOK --gradescope-run "$ROOT"
"""


def gradescope_zip(notebook: str, out: Path) -> Path:
    """The autograder zip for Gradescope: setup.sh, run_autograder and the course's files (see README)."""
    target = out / f"gradescope-{notebook}.zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER.replace("NOTEBOOK", notebook))):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16
            archive.writestr(info, text)
        for part in GRADESCOPE_FILES:
            path = ROOT / part
            files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()
                                                         and "__pycache__" not in p.parts)
            for file in files:
                archive.write(file, f"source/{file.relative_to(ROOT)}")
    return target


def gradescope_run(notebook: str, root: Path, settings: Settings) -> dict:
    """Grade the one submission in ``root/submission`` and write ``root/results/results.json`` (Gradescope's format)."""
    from utils import checks

    declared = checks.exercises(notebook)
    notebooks = sorted((root / "submission").rglob("*.ipynb"))
    sub = Submission("submission", notebooks[-1] if notebooks else None)
    if len(notebooks) > 1:
        sub.notes.append(f"{len(notebooks)} notebooks were uploaded: graded {notebooks[-1].name}")
    settings.isolate = settings.isolate and sandbox.bubblewrap() is not None  # Gradescope's container isolates
    _init_slot()
    result = grade_submission(sub, settings)
    tests = [{"name": ex.name, "score": result.points.get(ex.key, 0), "max_score": ex.points,
              "status": "passed" if result.states.get(ex.key) == "pass" else "failed",
              "output": result.feedback.get(ex.key, "") or result.states.get(ex.key, "missing"),
              "visibility": "visible"} for ex in declared]
    results = {"score": result.total, "tests": tests, "execution_time": round(result.seconds, 1),
               "output": "; ".join(result.notes) if result.notes else f"Graded: {result.status}."}
    (root / "results").mkdir(parents=True, exist_ok=True)
    (root / "results" / "results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    return results


# --- the command ---------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebook", help="the notebook graded: its number, such as 04")
    parser.add_argument("submissions", nargs="?", type=Path, help="the folder of submitted notebooks")
    parser.add_argument("--out", type=Path, help="where to write (default build/grades/NN)")
    parser.add_argument("--jobs", type=int, default=2, help="submissions graded at once (default 2)")
    parser.add_argument("--timeout", type=float, default=60, help="seconds one call of an answer may take")
    parser.add_argument("--memory-gb", type=float, default=4, help="address space per process (TensorFlow needs 3)")
    parser.add_argument("--salt", default=None, help="reproduce a grading run's fresh cases (printed in summary.md)")
    parser.add_argument("--no-sandbox", action="store_true", help="run without isolation (no bubblewrap): see README")
    parser.add_argument("--gradescope", action="store_true", help="write the Gradescope autograder zip instead")
    parser.add_argument("--gradescope-run", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    with tf_log.held_native_stderr():  # TensorFlow's start-up lines, in this process and each slot's (see tf_log)
        return _run(parser, args)


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """The command, once its arguments are read: grade a class, or write or run the Gradescope autograder."""
    notebook = args.notebook.zfill(2)[:2]
    from utils import checks

    if not notebook.isdigit() or not checks.exercises(notebook):
        print(f"notebook {args.notebook!r} has no exercises to grade: give one of "
              f"{sorted({ex.notebook for ex in checks.exercises()})}")
        return 2
    out = args.out or default_out(notebook)
    limits = sandbox.Limits(memory_bytes=int(args.memory_gb * 1024**3))
    settings = Settings(notebook, timeout=args.timeout, limits=limits, isolate=not args.no_sandbox,
                        salt=args.salt if args.salt is not None else secrets.token_hex(8))
    if args.gradescope:
        print(f"wrote {gradescope_zip(notebook, out.parent)}")
        return 0
    if args.gradescope_run:
        gradescope_run(notebook, args.gradescope_run, settings)
        return 0
    if args.submissions is None:
        parser.error("give the folder of submissions (or --gradescope)")
    if settings.isolate and sandbox.bubblewrap() is None:
        print("bubblewrap (bwrap) is not installed, so submissions cannot be isolated. On Debian or Ubuntu: "
              "sudo apt-get install bubblewrap. Elsewhere (macOS, Windows) pass --no-sandbox to grade without "
              "isolation, only code you trust, or use the Gradescope export.")
        return 2
    submissions, remarks = collect(args.submissions)
    print(f"grading {len(submissions)} submissions of notebook {notebook}, {args.jobs} at a time ...")
    started = time.monotonic()
    results = grade_class(submissions, settings, max(1, args.jobs))
    seconds = time.monotonic() - started
    remarks.append(f"fresh cases from salt {settings.salt} (rerun with --salt {settings.salt} to reproduce)")
    write_outputs(results, remarks, settings, out, seconds)
    print(f"graded in {seconds:.0f} s: {_rel(out / 'grades.csv')}, {_rel(out / 'summary.html')}, "
          f"{_rel(out / 'feedback')}/")
    return 0


def default_out(notebook: str) -> Path:
    """``build/grades/NN`` in the course folder, or, when that folder is read-only (an instructor grading from a
    shared server's course copy), ``grades/NN`` in the user's data folder, with one line saying where."""
    out = OUT / notebook
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-test-{secrets.token_hex(4)}"
        probe.touch()
        probe.unlink()
        return out
    except OSError:
        from utils import data_home

        out = data_home("grades", notebook)
        print(f"the course folder is read-only: grades go to {out} (or pass --out)")
        return out


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


if __name__ == "__main__":
    sys.exit(main())
