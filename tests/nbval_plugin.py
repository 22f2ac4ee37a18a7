"""pytest plugin for the notebook runs (loaded with ``-p tests.nbval_plugin``, see Makefile).

* stderr is never compared: TensorFlow writes timestamped log lines there.
* Per-notebook wall time (sum of its cells) and the slowest cell are printed at the end of the run, flagged against the
  budgets (90 s per notebook, 30 s per cell), and saved to ``build/timings.json`` for ``python -m utils.readme``
  (or to the file ``COURSE_TIMINGS`` names: the run on Colab's versions must not change the README's table).
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

NOTEBOOK_BUDGET_S, CELL_BUDGET_S = 90.0, 30.0
_TIMES: dict[str, list[float]] = defaultdict(list)
_FAILED: set[str] = set()


def pytest_collectstart(collector):
    if getattr(collector, "path", None) is not None and collector.path.suffix == ".ipynb":
        collector.skip_compare += ("stderr",)


def pytest_runtest_logreport(report):
    notebook = report.nodeid.split("::")[0]
    if not notebook.endswith(".ipynb"):
        return
    if report.when == "call":
        _TIMES[notebook].append(report.duration)
    if report.failed:
        _FAILED.add(notebook)


def pytest_terminal_summary(terminalreporter):
    if not _TIMES:
        return
    write = terminalreporter.write_line
    terminalreporter.section("notebook durations")
    write(f"{'notebook':<55} {'total s':>8} {'slowest cell s':>15}")
    for notebook, times in _TIMES.items():
        total, slowest = sum(times), max(times)
        flags = []
        if total > NOTEBOOK_BUDGET_S:
            flags.append(f"over the {NOTEBOOK_BUDGET_S:.0f} s notebook budget")
        if slowest > CELL_BUDGET_S:
            flags.append(f"a cell over the {CELL_BUDGET_S:.0f} s cell budget")
        write(f"{notebook:<55} {total:8.1f} {slowest:15.1f}  {'; '.join(flags)}")
    write(f"{'all notebooks':<55} {sum(sum(t) for t in _TIMES.values()):8.1f}")
    root = Path(terminalreporter.config.rootpath)
    _save(root / os.environ.get("COURSE_TIMINGS", "build/timings.json"))  # make nbval-colab keeps its own file


def _save(path: Path) -> None:
    """Merge this run's timings into build/timings.json (solution and student runs are separate pytest sessions)."""
    path.parent.mkdir(exist_ok=True)
    data = json.loads(path.read_text()) if path.exists() else {}
    for notebook, times in _TIMES.items():
        data[notebook] = {"seconds": round(sum(times), 1), "slowest_cell": round(max(times), 1),
                          "passed": notebook not in _FAILED}
    path.write_text(json.dumps(dict(sorted(data.items())), indent=1) + "\n")
