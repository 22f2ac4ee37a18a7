"""pytest plugin for the notebook runs (loaded with ``-p tests.nbval_plugin``, see Makefile).

* stderr is never compared: TensorFlow writes timestamped log lines there.
* Per-notebook wall time (sum of its cells) and the slowest cell are printed at the end of the run, flagged against the
  budgets (90 s per notebook, 20 s per cell), and saved with each code cell's time to the file ``COURSE_TIMINGS``
  names (default ``build/timings.json``, which ``python -m tools.readme`` reads for the notebook table and each
  notebook's core path: ``make timings`` writes it, one notebook at a time; ``make test`` runs two at a time and
  writes its own file). Under pytest-xdist the controller, which receives every worker's reports, writes it.
* Instructor notebooks (those in a ``solutions`` folder) run with strict checks: their kernel starts with
  ``COURSE_STRICT_CHECKS`` set to the notebook's path, so a check cell that does not pass, or a ``progress()`` that
  lists an exercise not done, raises and fails the run, naming the notebook and the exercise (see ``utils.checks``).
  It is the checks framework that raises, so no cell marker can switch it off.
* Every notebook's kernel starts with ``COURSE_STRICT_CLAIMS`` set: a ``course.claim`` that does not hold raises
  (``ClaimFailed``), so a verdict that reads "✗" fails the run even in a cell whose output nbval does not compare.
* With ``COURSE_SEED_SHIFT`` set to another seed shift (``make seeds``, and the run on Colab's versions), stored
  outputs are not compared (every number moves with the seeds); the run passes when every cell runs and every claim
  holds.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

from utils.checks import STRICT_ENV
from utils.course import STRICT_CLAIMS_ENV, seed_shift

NOTEBOOK_BUDGET_S, CELL_BUDGET_S = 90.0, 20.0
_TIMES: dict[str, list[float]] = defaultdict(list)
_FAILED: set[str] = set()


def pytest_collectstart(collector):
    if getattr(collector, "path", None) is not None and collector.path.suffix == ".ipynb":
        collector.skip_compare += ("stderr",)
        strict = {STRICT_CLAIMS_ENV: "1"}
        if collector.path.parent.name == "solutions":
            strict[STRICT_ENV] = _display_path(collector)
        collector.setup = _kernel_with(collector.setup, strict)


def pytest_collection_modifyitems(items):
    """Under a seed shift, compare no stored output: only errors (and claims, which raise) can fail a cell."""
    if seed_shift():
        for item in items:
            if hasattr(item, "options") and str(getattr(item, "path", "")).endswith(".ipynb"):
                item.options["check"] = False


def _kernel_with(setup, variables: dict[str, str]):
    """Wrap an nbval notebook's ``setup`` (which starts its kernel) so that the kernel inherits ``variables``."""

    def setup_with_variables():
        previous = {name: os.environ.get(name) for name in variables}
        os.environ.update(variables)
        try:
            setup()
        finally:
            for name, value in previous.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    return setup_with_variables


def _display_path(collector) -> str:
    """The notebook's path relative to the rootdir when it is inside it (as pytest shows it), else as given."""
    try:
        return str(collector.path.relative_to(collector.config.rootpath))
    except ValueError:
        return str(collector.path)


def pytest_runtest_logreport(report):
    notebook = report.nodeid.split("::")[0]
    if not notebook.endswith(".ipynb"):
        return
    if report.when == "call":
        _TIMES[notebook].append(report.duration)
    if report.failed:
        _FAILED.add(notebook)


def pytest_terminal_summary(terminalreporter):
    if not _TIMES or hasattr(terminalreporter.config, "workerinput"):  # under pytest-xdist, the controller reports
        return
    write = terminalreporter.write_line
    terminalreporter.section("notebook durations")
    at_once = getattr(terminalreporter.config.option, "numprocesses", 0) or 0
    if at_once:
        write(f"{at_once} notebooks at a time, sharing the cores: each took longer than it would alone, so these "
              "times are not held to the budgets (`make timings` measures them one at a time)")
    write(f"{'notebook':<55} {'total s':>8} {'slowest cell s':>15}")
    for notebook, times in _TIMES.items():
        total, slowest = sum(times), max(times)
        flags = [] if at_once else _over_budget(total, slowest)
        write(f"{notebook:<55} {total:8.1f} {slowest:15.1f}  {'; '.join(flags)}")
    write(f"{'all notebooks':<55} {sum(sum(t) for t in _TIMES.values()):8.1f}")
    root = Path(terminalreporter.config.rootpath)
    _save(root / os.environ.get("COURSE_TIMINGS", "build/timings.json"))  # make nbval-colab keeps its own file


def _over_budget(total: float, slowest: float) -> list[str]:
    """What a notebook run alone exceeded: the notebook budget, the cell budget, both or neither."""
    flags = []
    if total > NOTEBOOK_BUDGET_S:
        flags.append(f"over the {NOTEBOOK_BUDGET_S:.0f} s notebook budget")
    if slowest > CELL_BUDGET_S:
        flags.append(f"a cell over the {CELL_BUDGET_S:.0f} s cell budget")
    return flags


def _save(path: Path) -> None:
    """Merge this run's timings into ``path`` (solution and student runs are separate pytest sessions)."""
    path.parent.mkdir(exist_ok=True)
    data = json.loads(path.read_text()) if path.exists() else {}
    for notebook, times in _TIMES.items():
        data[notebook] = {"seconds": round(sum(times), 1), "slowest_cell": round(max(times), 1),
                          "passed": notebook not in _FAILED, "cells": [round(t, 2) for t in times]}
    path.write_text(json.dumps(dict(sorted(data.items())), indent=1) + "\n")
