"""``utils`` is what notebooks import, so it needs the run-time dependencies only (pyproject's [project] list).

The authoring and test tools (the notebook builder's jupytext / nbformat / nbclient, the slide maker's nbconvert, nbval,
pytest, JupyterLab) are installed by requirements.txt for maintainers, not by Colab's bootstrap (`pip install -e .`).
A module under ``utils/`` that imports one of them breaks ``import utils`` there; such code belongs in ``tools/``.
"""

from __future__ import annotations

import json
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests import helpers
from utils import ROOT

#: Packages that only authoring (building notebooks, slides) and testing need: never imported by a module of utils.
#: ``tools`` too: the maintainers' package is not installed with the course (pyproject installs utils only).
AUTHORING = ("jupytext", "nbformat", "nbconvert", "nbclient", "nbval", "pytest", "_pytest", "jupyterlab", "tools")
#: Distribution names of requirements.txt's authoring and test tools: none may be a run-time dependency.
AUTHORING_DISTRIBUTIONS = {canonicalize_name(n) for n in ("jupytext", "nbformat", "nbconvert", "nbclient", "nbval",
                                                          "pytest", "pytest-timeout", "jupyterlab", "jupyterlab-rise",
                                                          "ruff", "notebook")}

#: Run in a fresh interpreter: refuse the authoring packages, then import utils and every module below it.
_IMPORT_ALL = """
import importlib, importlib.abc, json, pkgutil, sys, traceback

BLOCKED = set(sys.argv[1].split(","))
attempts = []

class RefuseAuthoringTools(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            attempts.append(name)
            raise ModuleNotFoundError(f"No module named {name!r} (not a run-time dependency)", name=name)
        return None

sys.meta_path.insert(0, RefuseAuthoringTools())
failures = {}
import utils
names = ["utils"]
for info in pkgutil.walk_packages(utils.__path__, "utils.", onerror=lambda name: failures.setdefault(name, "walk")):
    names.append(info.name)
for name in names:
    try:
        importlib.import_module(name)
    except BaseException:
        failures[name] = traceback.format_exc(limit=-3)
print(json.dumps({"modules": names, "failures": failures, "attempts": sorted(set(attempts)),
                  "loaded": sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)}))
"""


def _import_everything() -> dict:
    return json.loads(helpers.last_line(helpers.python(_IMPORT_ALL, ",".join(AUTHORING))))


def test_utils_and_every_submodule_import_without_the_authoring_tools():
    result = _import_everything()
    assert "utils.checks" in result["modules"] and "utils.course" in result["modules"]  # the walk found the package
    assert not result["failures"], "these modules need an authoring tool (move that code to tools/):\n" + "\n".join(
        f"{name}:\n{trace}" for name, trace in result["failures"].items())
    assert result["loaded"] == [], result


def test_the_finder_really_refuses_the_authoring_tools():
    """The check above is only as good as its blocker: importing a refused package in that interpreter fails."""
    code = _IMPORT_ALL.replace("import utils\n", "import nbformat\nimport utils\n", 1)
    done = helpers.python(code, ",".join(AUTHORING), ok=False, timeout=120)
    assert "No module named 'nbformat' (not a run-time dependency)" in done.stderr


def test_pyprojects_runtime_dependencies_hold_no_authoring_tool():
    with open(ROOT / "pyproject.toml", "rb") as handle:
        project = tomllib.load(handle)["project"]
    names = {canonicalize_name(Requirement(d).name) for d in project["dependencies"]}
    assert names and not names & AUTHORING_DISTRIBUTIONS, names & AUTHORING_DISTRIBUTIONS
