"""The lesson's code is written in the notebook that teaches it; what others reuse is saved to ``utils`` from there.

A code cell of a notebook source whose first line reads ``# Saved in utils/<module>.py ...`` (d2l's ``#@save`` idea)
defines functions or classes that also live in that module, because a later notebook, a checker or a tool imports
them. These tests keep the two copies identical (same code and docstring; comments may differ), so the student reads
exactly what later runs.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.notebook_code import code_cells

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "notebooks" / "source").glob("[0-9][0-9]_*.py"))
MARKER = re.compile(r"^# Saved in (utils/[\w/]+\.py)\b")


def saved_cells(source: Path) -> list[tuple[str, str]]:
    """The (module path, cell code) of every code cell of a notebook source that starts with the save marker."""
    found = []
    for cell in code_cells(source.name[:2]):
        code = cell.strip("\n")
        match = MARKER.match(code)
        if match:
            found.append((match.group(1), code))
    return found


def top_level_definitions(code: str) -> dict[str, str]:
    """Name -> normalised source (``ast.dump``) of each top-level function and class in ``code``."""
    return {node.name: ast.dump(node) for node in ast.parse(code).body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


SAVED = [(source.name, module, code) for source in SOURCES for module, code in saved_cells(source)]


def test_the_marker_is_found_in_a_cell():
    """The parser sees a marked cell and its definitions (guards the tests below against finding nothing)."""
    cell = "# Saved in utils/rnn.py: notebook 02 imports it from there.\ndef f(x):\n    return x\n"
    assert MARKER.match(cell).group(1) == "utils/rnn.py"
    assert list(top_level_definitions(cell)) == ["f"]


def test_a_changed_copy_is_told_apart():
    """Two definitions that differ in one operator are different; comments alone are not a difference."""
    a = top_level_definitions("def f(x):\n    return x + 1  # one\n")
    assert a == top_level_definitions("def f(x):\n    # two\n    return x + 1\n")
    assert a != top_level_definitions("def f(x):\n    return x - 1\n")


@pytest.mark.parametrize("notebook, module, code", SAVED, ids=[f"{n}:{m}" for n, m, _ in SAVED])
def test_saved_code_is_identical_in_utils(notebook, module, code):
    """Each definition in a marked cell exists in the named module with exactly the same code."""
    path = ROOT / module
    assert path.exists(), f"{notebook} saves code to {module}, which does not exist"
    in_cell = top_level_definitions(code)
    assert in_cell, f"{notebook}: a cell marked 'Saved in {module}' defines no function or class"
    in_module = top_level_definitions(path.read_text(encoding="utf-8"))
    for name, dump in in_cell.items():
        assert name in in_module, f"{notebook} saves {name} to {module}, but {module} has no top-level {name}"
        assert dump == in_module[name], (
            f"{name} in {notebook} and in {module} differ: edit the notebook source, then copy the definition into "
            f"{module} (the notebook is where the lesson is written)")


def _utils_public_names() -> dict[str, str]:
    """Public function and class name -> "module.name", for every module of utils."""
    from tests.test_bad_input import public_callables

    return {qualified.split(".", 1)[1]: qualified for qualified, _ in public_callables()}


@pytest.mark.parametrize("source", SOURCES, ids=[s.name[:2] for s in SOURCES])
def test_what_a_notebook_writes_is_in_utils_only_as_a_saved_copy_or_an_exercises_reference(source):
    """The lesson's code is the notebook's: a function or class it writes has no second, hidden copy in utils, unless
    its cell says where it is saved (and the tests above keep the copies identical) or it is an exercise the student
    writes (its cell holds the solution markers), whose reference utils keeps for the check cell to fall back to."""
    public = _utils_public_names()
    duplicated = []
    for cell in code_cells(source.name[:2]):
        if MARKER.match(cell.strip("\n")) or "### BEGIN SOLUTION" in cell:
            continue
        duplicated += [f"{name} (also {public[name]})" for name in top_level_definitions(cell) if name in public]
    assert not duplicated, f"{source.name} writes {duplicated}, which utils defines too: keep one copy"
