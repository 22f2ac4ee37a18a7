"""Right answers as a student would hand them in, for the checker tests.

A checker refuses an answer that runs the course's own reference (``utils.checks.forbidden_codes``): it watches the
reference's code object. ``as_student(reference)`` is the reference's code written out again, as a student who wrote
the same lines would have it: equal results, but code of its own (another file name and first line), so the checker
judges it by what it returns, like any other answer.
"""

from __future__ import annotations

import inspect
import types

STUDENT_FILE = "<student answer>"


def as_student(answer):
    """A copy of the function or class ``answer`` whose code is the student's own (see the module doc)."""
    if inspect.isclass(answer):
        own_class = types.CellType()  # what zero-argument super() in the copied methods refers to
        body = {name: _copy(value, own_class) for name, value in vars(answer).items()
                if name not in ("__dict__", "__weakref__")}
        own_class.cell_contents = type(answer.__name__, answer.__bases__, body)
        return own_class.cell_contents
    return _copy(answer)


def _copy(value, own_class=None):
    """A function (or a staticmethod/classmethod/property of one) with a fresh code object; anything else as it is."""
    if isinstance(value, staticmethod | classmethod):
        return type(value)(_copy(value.__func__, own_class))
    if isinstance(value, property):
        return property(*(_copy(f, own_class) if f else None for f in (value.fget, value.fset, value.fdel)),
                        value.__doc__)
    if not isinstance(value, types.FunctionType):
        return value
    code = value.__code__
    closure = value.__closure__
    if closure and own_class is not None and "__class__" in code.co_freevars:
        closure = tuple(own_class if name == "__class__" else cell for name, cell in zip(code.co_freevars, closure,
                                                                                          strict=True))
    copied = types.FunctionType(code.replace(co_filename=STUDENT_FILE, co_firstlineno=code.co_firstlineno + 100_000),
                                value.__globals__, value.__name__, value.__defaults__, closure)
    copied.__kwdefaults__ = value.__kwdefaults__
    copied.__qualname__, copied.__doc__ = value.__qualname__, value.__doc__
    return copied
