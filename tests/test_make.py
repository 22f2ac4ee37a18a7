"""The Makefile: what `make lab`, `make unit` and `make test` run (read with `make -n`, which runs nothing)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib

import pytest
from packaging.requirements import Requirement

from utils import ROOT

MAKE = shutil.which("make")
pytestmark = pytest.mark.skipif(MAKE is None, reason="make is not installed")
CONSTRAINTS = ROOT / "tests" / "colab-constraints.txt"


def dry_run(target: str) -> str:
    """The commands `make target` would run, without running them."""
    done = subprocess.run([MAKE, "-n", target], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_lab_allows_root_exactly_when_running_as_root():
    """JupyterLab stops with 'Running as root is not recommended' unless given --allow-root (containers run as root)."""
    lab = [line for line in dry_run("lab").splitlines() if "jupyter lab" in line]
    assert len(lab) == 1
    assert ("--allow-root" in lab[0]) == (os.geteuid() == 0), lab[0]


def test_unit_tests_need_only_the_environment():
    commands = dry_run("unit")
    for slow in ("tools.slides", "apt-get", "npm", "chromium"):
        assert slow not in commands, f"`make unit` runs {slow!r}: it belongs to `make browser-tests`"
    assert re.search(r"-m pytest tests -m \"not browser\" ", commands), commands


def test_browser_tests_build_the_slides_and_chromium_first_then_run_only_the_browser_tests():
    commands = dry_run("browser-tests")
    slides, browser = commands.index("-m tools.slides"), commands.index("apt-get install")
    assert max(slides, browser) < commands.index("-m pytest tests -m browser ")


def test_make_test_runs_unit_then_browser_tests_then_the_notebooks_also_on_colabs_versions():
    commands = dry_run("test")
    order = [commands.index(step) for step in ('-m pytest tests -m "not browser" ', "-m tools.slides",
                                               "-m pytest tests -m browser ", "notebooks/solutions/")]
    assert order == sorted(order), commands
    assert re.search(r"\.venv-colab/bin/python -m pytest .*notebooks/solutions/", commands)
    assert re.search(r"\.venv/bin/python -m pytest .*notebooks/solutions/", commands)  # and on the newest releases


def _collected(marker: str) -> set[str]:
    """The test ids of tests/test_slides.py that ``pytest -m marker`` selects (collected only, nothing run)."""
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           "-m", marker, "tests/test_slides.py"], cwd=ROOT, capture_output=True, text=True, timeout=120)
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
    assert f"COLAB_PYTHON      ?= $(firstword $(foreach p,python{python} " in (ROOT / "Makefile").read_text()


def test_the_colab_venv_is_not_committed():
    """.gitignore names it (Python 3.13's venv also ignores itself, but a venv made by another Python does not)."""
    venv = re.search(r"^COLAB_VENV\s*\?=\s*(\S+)", (ROOT / "Makefile").read_text(), flags=re.M).group(1)
    assert f"{venv}/" in (ROOT / ".gitignore").read_text().split()
