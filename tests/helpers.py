"""What many tests do, written once: run a command in a fresh process, and read the committed notebooks.

(The lesson code a notebook writes in its own cells is run by ``tests/notebook_code.py``.)
"""

from __future__ import annotations

import os
import subprocess
import sys

import nbformat

from tools.build_notebooks import NOTEBOOKS, SOLUTIONS
from utils import ROOT

# --- fresh processes --------------------------------------------------------------------------------------------------


def environment(**changes: str | None) -> dict[str, str]:
    """This test's environment for a child process, with the course importable from any folder and TensorFlow quiet.

    ``changes`` add variables, or remove them when given None (``COURSE_OFFLINE=None``: the child may go online).
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", "MPLBACKEND": "Agg"}
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run(args: list[str], *, env: dict[str, str | None] | None = None, ok: bool | None = True, timeout: float = 300,
        cwd=ROOT) -> subprocess.CompletedProcess:
    """Run the command ``args`` in a fresh process (``env``: changes, as for ``environment``) and return what it did.

    ``ok=True`` fails the test, with the end of what it wrote on stderr, unless the command exits 0; ``ok=False`` fails
    it unless the command fails; ``ok=None`` checks nothing.
    """
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, env=environment(**(env or {})),
                          timeout=timeout, cwd=cwd)
    if ok is not None:
        assert (done.returncode == 0) == ok, (
            f"{' '.join(map(str, args))[:200]} exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return done


def python(code: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
    """Run ``python -c code *args`` in a fresh interpreter (keyword arguments as for ``run``)."""
    return run([sys.executable, "-c", code, *args], **kwargs)


def last_line(done: subprocess.CompletedProcess) -> str:
    """The last line the process printed on stdout."""
    lines = done.stdout.strip().splitlines()
    assert lines, f"the process printed nothing on stdout; stderr ends with:\n{done.stderr[-2000:]}"
    return lines[-1]


# --- committed notebooks ----------------------------------------------------------------------------------------------


def read_notebook(path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def solution(number: str) -> nbformat.NotebookNode:
    """The executed instructor version of notebook ``number`` ("02"), as committed."""
    (path,) = SOLUTIONS.glob(f"{number}_*.ipynb")
    return read_notebook(path)


def student(number: str) -> nbformat.NotebookNode:
    """The student version of notebook ``number`` ("02"), as committed."""
    (path,) = NOTEBOOKS.glob(f"{number}_*.ipynb")
    return read_notebook(path)


def output_text(cell) -> str:
    """What a code cell printed or displayed, as text (stream outputs and the plain-text form of the others)."""
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.append(str(output.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def markdown(nb) -> list[str]:
    """The text of every markdown cell."""
    return [cell.source for cell in nb.cells if cell.cell_type == "markdown"]
