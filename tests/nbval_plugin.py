"""pytest plugin for the notebook runs (loaded with ``-p tests.nbval_plugin``, see Makefile).

* stderr is never compared: TensorFlow writes timestamped log lines there.
* Per-notebook wall time (sum of its cells) and the slowest cell are printed at the end of the run, flagged against the
  budgets (90 s per notebook, 20 s per cell), and saved to ``build/timings.json`` for ``python -m tools.readme``
  (or to the file ``COURSE_TIMINGS`` names: the run on Colab's versions must not change the README's table).
* Instructor notebooks (those in a ``solutions`` folder) run with strict checks: their kernel starts with
  ``COURSE_STRICT_CHECKS`` set to the notebook's path, so a check cell that does not pass, or a ``progress()`` that
  lists an exercise not done, raises and fails the run, naming the notebook and the exercise (see ``utils.checks``).
  It is the checks framework that raises, so no cell marker can switch it off.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

from utils.checks import STRICT_ENV

NOTEBOOK_BUDGET_S, CELL_BUDGET_S = 90.0, 20.0
_TIMES: dict[str, list[float]] = defaultdict(list)
_FAILED: set[str] = set()


def pytest_collectstart(collector):
    if getattr(collector, "path", None) is not None and collector.path.suffix == ".ipynb":
        collector.skip_compare += ("stderr",)
        if collector.path.parent.name == "solutions":
            collector.setup = _strict_kernel(collector.setup, _display_path(collector))


def _strict_kernel(setup, notebook: str):
    """Wrap an nbval notebook's ``setup`` (which starts its kernel) so that the kernel inherits ``STRICT_ENV``."""

    def strict_setup():
        previous = os.environ.get(STRICT_ENV)
        os.environ[STRICT_ENV] = notebook
        try:
            setup()
        finally:
            if previous is None:
                os.environ.pop(STRICT_ENV, None)
            else:
                os.environ[STRICT_ENV] = previous

    return strict_setup


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
