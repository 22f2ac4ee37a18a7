"""Lesson code that lives only in a notebook, for unit tests: one function of a notebook source, defined on its own.

A function that only one notebook uses is written in that notebook (see tests/test_saved_code.py), so its unit test
takes it from there: ``notebook_function("05", "choose_threshold", np=np, anomaly=anomaly)`` compiles just that
definition from ``notebooks/source/05_*.py``, with the given names as the globals it reads.
"""

from __future__ import annotations

import ast
from pathlib import Path

SOURCES = Path(__file__).resolve().parent.parent / "notebooks" / "source"


def notebook_function(number: str, name: str, **namespace):
    """The top-level function ``name`` of notebook ``number``'s source; ``namespace`` holds the globals it uses."""
    source = next(SOURCES.glob(f"{number}_*.py"))
    tree = ast.parse(source.read_text(encoding="utf-8"))
    found = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == name]
    assert len(found) == 1, f"notebook {number} defines {len(found)} top-level functions named {name}"
    exec(compile(ast.Module(body=found, type_ignores=[]), str(source), "exec"), namespace)
    return namespace[name]
