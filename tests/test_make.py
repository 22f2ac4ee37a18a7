"""The Makefile: what `make lab`, `make unit` and `make test` run (read with `make -n`, which runs nothing)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
import tomllib

import pytest
from packaging.requirements import Requirement

from tests import helpers
from utils import ROOT

MAKE = shutil.which("make")
pytestmark = pytest.mark.skipif(MAKE is None, reason="make is not installed")
CONSTRAINTS = ROOT / "tests" / "colab-constraints.txt"


def dry_run(target: str) -> str:
    """The commands `make target` would run, without running them."""
    return helpers.run([MAKE, "-n", target], timeout=60).stdout


def pytest_runs(commands: str) -> list[list[str]]:
    """The argument lists of the ``python -m pytest`` commands among ``commands``, in order (spacing and quoting as
    the shell reads them, so a reformatted Makefile line is the same command)."""
    runs = []
    for line in commands.replace("\\\n", " ").splitlines():
        if "-m pytest" not in line:
            continue
        words = shlex.split(line)
        for start in range(len(words) - 1):
            if words[start:start + 2] == ["-m", "pytest"]:
                runs.append(words[start - 1:])
    return runs


def make_variable(name: str, env: dict | None = None) -> str:
    """The value the Makefile gives variable ``name`` (as make itself expands it, for this environment)."""
    rule = f"print-{name}: ; @echo $({name})"
    return helpers.run([MAKE, "-s", "--no-print-directory", "--eval", rule, f"print-{name}"], env=env,
                       timeout=60).stdout.strip()


def test_lab_allows_root_exactly_when_running_as_root():
    """JupyterLab stops with 'Running as root is not recommended' unless given --allow-root (containers run as root)."""
    lab = [line for line in dry_run("lab").splitlines() if "jupyter lab" in line]
    assert len(lab) == 1
    assert ("--allow-root" in lab[0]) == (os.geteuid() == 0), lab[0]


def test_unit_tests_need_only_the_environment():
    commands = dry_run("unit")
    for slow in ("tools.slides", "tools.book", "npm", "chromium"):
        assert slow not in commands, f"`make unit` runs {slow!r}: it belongs to `make browser-tests`"
    (run,) = pytest_runs(commands)
    assert run[3:6] == ["tests", "-m", "not browser"], run


def test_browser_tests_build_the_slides_and_chromium_first_then_run_only_the_browser_tests():
    lines = dry_run("browser-tests").splitlines()
    slides = next(i for i, line in enumerate(lines) if "-m tools.slides" in line)
    chromium = next(i for i, line in enumerate(lines) if "apt-get install" in line)
    (run,) = pytest_runs("\n".join(lines))
    assert run[3:6] == ["tests", "-m", "browser"], run
    assert max(slides, chromium) < next(i for i, line in enumerate(lines) if "-m pytest" in line)


def test_make_test_runs_unit_then_browser_tests_then_the_notebooks_also_on_colabs_versions():
    runs = pytest_runs(dry_run("test"))
    what = [(run[0], run[-1]) if run[-1].startswith("notebooks") else (run[0], " ".join(run[3:6])) for run in runs]
    venv, colab = f"{make_variable('VENV')}/bin/python", f"{make_variable('COLAB_VENV')}/bin/python"
    assert what == [(venv, "tests -m not browser"), (venv, "tests -m browser"), (venv, "notebooks/solutions/"),
                    (colab, "notebooks/solutions/")], runs  # newest releases, then Colab's


def test_make_test_runs_tests_and_notebooks_two_at_a_time_each_notebook_in_one_worker():
    """pytest-xdist with --dist loadfile: a notebook's cells share one kernel, a module's fixtures are set up once."""
    jobs = {"tests -m not browser": make_variable("UNIT_JOBS"), "notebooks/solutions/": make_variable("JOBS")}
    for run in pytest_runs(dry_run("test")):
        if run[3:6] != ["tests", "-m", "browser"]:  # the JupyterLab test runs its notebooks two at a time itself
            what = run[-1] if run[-1].startswith("notebooks") else " ".join(run[3:6])
            assert run[run.index("-n") + 1] == jobs[what] and run[run.index("--dist") + 1] == "loadfile", run
    assert jobs["notebooks/solutions/"] == "2", jobs


def test_the_student_notebooks_and_the_solutions_run_from_a_read_only_repository():
    """A course copy on a shared server is read-only: the JupyterLab test (student versions), nbval (solutions)."""
    for target in ("browser-tests", "nbval-solutions", "nbval-students"):
        (line,) = [line for line in dry_run(target).replace("\\\n", " ").splitlines() if "-m pytest" in line]
        assert "tests/run_readonly.sh --writable build " in line, (target, line)


def test_readmes_table_is_timed_one_notebook_at_a_time_and_make_test_does_not_overwrite_it():
    commands = dry_run("timings").replace("\\\n", " ")
    assert "JOBS=0 TIMINGS=build/timings.json" in commands and "-m tools.readme" in commands, commands
    for target in ("nbval-solutions", "nbval-colab"):
        (line,) = [line for line in dry_run(target).replace("\\\n", " ").splitlines() if "-m pytest" in line]
        assert "COURSE_TIMINGS=build/timings.json" not in line, (target, line)
        assert "COURSE_TIMINGS=" in line, (target, line)


def test_the_run_on_colabs_versions_also_uses_other_seeds():
    """`make test` reruns the solutions with the seeds shifted once (every verdict must hold), at no extra cost."""
    (colab,) = [line for line in dry_run("nbval-colab").replace("\\\n", " ").splitlines() if "-m pytest" in line]
    assert "COURSE_SEED_SHIFT=1 " in colab, colab


def _collected(marker: str) -> set[str]:
    """The test ids of tests/test_slides.py that ``pytest -m marker`` selects (collected only, nothing run)."""
    done = helpers.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-m", marker,
                        "tests/test_slides.py"], timeout=120)
    return {line.split("::")[1] for line in done.stdout.splitlines() if "::" in line}


def test_the_deck_tests_carry_the_browser_marker_so_unit_leaves_them_out():
    deck_tests = {"test_deck_loads_no_script_or_style_from_the_internet",
                  "test_deck_renders_title_and_figure_offline_in_chromium"}
    assert _collected("browser") == deck_tests
    unit = _collected("not browser")
    assert unit and not unit & deck_tests


def _pins() -> dict[str, str]:
    pins = {}
    for line in CONSTRAINTS.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            requirement = Requirement(line)
            (spec,) = requirement.specifier
            assert spec.operator == "==", f"{line}: pin one version with =="
            pins[requirement.name] = spec.version
    return pins


def test_colab_constraints_agree_with_readme_and_are_accepted_by_pyproject():
    """The pins, README's list of Colab's versions and pyproject's lower bounds must not drift apart."""
    pins = _pins()
    readme = (ROOT / "README.md").read_text()
    stated = re.search(r"Colab's preinstalled versions \(([^)]+)\)", readme)
    assert stated, "README's 'On Colab' section lists Colab's versions"
    names = {"tensorflow": "TensorFlow", "keras": "Keras", "numpy": "numpy", "pandas": "pandas",
             "yfinance": "yfinance", "music21": "music21", "scikit-learn": "scikit-learn", "scipy": "scipy"}
    assert set(pins) == set(names)
    for package, label in names.items():
        version = re.search(rf"{label} ([\d.]+)", stated.group(1))
        assert version and (pins[package] + ".").startswith(version.group(1) + "."), (package, pins[package])
    with open(ROOT / "pyproject.toml", "rb") as handle:
        dependencies = [Requirement(d) for d in tomllib.load(handle)["project"]["dependencies"]]
    for requirement in dependencies:
        if requirement.name in pins:
            assert requirement.specifier.contains(pins[requirement.name]), (str(requirement), pins[requirement.name])
    python = re.search(r"Python ([\d.]+)", stated.group(1)).group(1)
    assert f"python{python}" in _colab_python_found_with(python, answers=True)


def _colab_python_found_with(version: str, answers: bool) -> str:
    """What make takes for Colab's Python when the first ``python<version>`` on the PATH says it is (or is not) that
    version (a stand-in script answering make's version check)."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        stand_in = os.path.join(folder, f"python{version}")
        with open(stand_in, "w") as handle:
            handle.write(f"#!/bin/sh\nexit {0 if answers else 1}\n")
        os.chmod(stand_in, 0o755)
        return make_variable("COLAB_PYTHON", env={"PATH": f"{folder}{os.pathsep}{os.environ['PATH']}",
                                                  "PYENV_VERSION": "system"})


def test_colabs_python_is_found_on_the_path_by_its_version():
    assert _colab_python_found_with("3.13", answers=True).startswith("python3.13")
    assert not _colab_python_found_with("3.13", answers=False).startswith("python3.13")


def test_the_colab_venv_is_not_committed():
    """.gitignore names it (Python 3.13's venv also ignores itself, but a venv made by another Python does not)."""
    assert f"{make_variable('COLAB_VENV')}/" in (ROOT / ".gitignore").read_text().split()
