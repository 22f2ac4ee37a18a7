"""Run the lesson code a notebook writes in its own cells, so that unit tests can test it where it lives.

Code that only one notebook needs is defined in that notebook, not in ``utils``. A test takes it from the notebook's
Jupytext source: the imports of the setup cell, then every code cell that defines one of the names asked for (a
``def``, a ``class`` or an assignment at the top of the cell), in the notebook's order, in one fresh namespace.

Where a test checks how a notebook writes its lesson (which function it calls with which arguments, which names of a
module it uses), it reads the syntax (``call_arguments``, ``attributes_used``, ``imported_from``), not the text, so
that line breaks, spacing and comments do not matter.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

SOURCES = Path(__file__).resolve().parent.parent / "notebooks" / "source"


def code_cells(number: str) -> list[str]:
    """The code cells of notebook ``number`` (e.g. "02"), from its Jupytext percent source, in order."""
    (source,) = SOURCES.glob(f"{number}_*.py")
    parts = re.split(r"^(# %%.*)$", source.read_text(encoding="utf-8"), flags=re.M)[1:]
    return [body for header, body in zip(parts[::2], parts[1::2], strict=True) if "[markdown]" not in header]


def defined_names(cell: str) -> set[str]:
    """The names a code cell defines at its top level (``def``, ``class``, assignment)."""
    names = set()
    for node in ast.parse(cell).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {n.id for target in node.targets for n in ast.walk(target) if isinstance(n, ast.Name)}
    return names


def notebook_namespace(number: str, *names: str) -> dict:
    """A namespace with the setup cell's imports and the cells of notebook ``number`` that define ``names``."""
    cells = code_cells(number)
    setup = next(cell for cell in cells if "course.setup(" in cell)
    namespace: dict = {}
    imports = [node for node in ast.parse(setup).body if isinstance(node, (ast.Import, ast.ImportFrom))]
    exec(compile(ast.Module(body=imports, type_ignores=[]), f"notebook {number}, setup", "exec"), namespace)
    wanted = [cell for cell in cells if defined_names(cell) & set(names)]
    missing = set(names) - set().union(*(defined_names(cell) for cell in wanted))
    if missing:
        raise LookupError(f"notebook {number} defines no {sorted(missing)} at the top of a code cell")
    for cell in wanted:
        exec(compile(cell, f"notebook {number}", "exec"), namespace)
    return namespace


def notebook_function(number: str, name: str, **namespace):
    """Just the top-level function ``name`` of notebook ``number``'s source, with ``namespace`` as its globals.

    For a function whose cell also runs other code: ``notebook_function("05", "choose_threshold", np=np)``.
    """
    (source,) = SOURCES.glob(f"{number}_*.py")
    tree = ast.parse(source.read_text(encoding="utf-8"))
    found = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == name]
    assert len(found) == 1, f"notebook {number} defines {len(found)} top-level functions named {name}"
    exec(compile(ast.Module(body=found, type_ignores=[]), str(source), "exec"), namespace)
    return namespace[name]


def _nodes(number: str):
    """Every syntax node of notebook ``number``'s code cells, in the order they are written."""
    found = []
    for index, cell in enumerate(code_cells(number)):
        found += [((index, node.lineno, node.col_offset), node) for node in ast.walk(ast.parse(cell))
                  if hasattr(node, "lineno")]
    return [node for _, node in sorted(found, key=lambda pair: pair[0])]


def call_arguments(number: str, name: str) -> list[list[str]]:
    """The arguments, as written, of every call of ``name`` ("fc.one_step_experiment", "print") in notebook
    ``number``: keyword arguments as "key=value". Read from the syntax, so line breaks and spacing do not matter."""
    return [[ast.unparse(a) for a in node.args] + [f"{k.arg}={ast.unparse(k.value)}" for k in node.keywords]
            for node in _nodes(number) if isinstance(node, ast.Call) and ast.unparse(node.func) == name]


def attributes_used(number: str, module: str) -> list[str]:
    """The attributes of ``module`` ("fc", "s2s") that notebook ``number`` uses, called or not, in order."""
    return [node.attr for node in _nodes(number)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == module]


def imported_from(number: str) -> dict[str, str]:
    """Name -> module of every ``from module import name`` in notebook ``number``'s code cells."""
    return {alias.asname or alias.name: node.module for node in _nodes(number)
            if isinstance(node, ast.ImportFrom) for alias in node.names}


def assignments(number: str) -> dict[str, list[str]]:
    """Name -> the values (as written) assigned to it at the top of notebook ``number``'s code cells, in order."""
    found: dict[str, list[str]] = {}
    for cell in code_cells(number):
        for node in ast.parse(cell).body:
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        found.setdefault(target.id, []).append(ast.unparse(node.value))
    return found
