"""Build the student and solution notebooks from their one source of truth, ``notebooks/source/NN_name.py``.

Usage (``make notebooks`` runs the first form)::

    python -m tools.build_notebooks            # build every notebook and execute the solution versions
    python -m tools.build_notebooks 1 04_home  # only these: a number (2 = 02) or the start of a file name
    python -m tools.build_notebooks --no-execute
    python -m tools.build_notebooks --check    # exit 1 if a committed notebook differs from its source (tests use it)

A source is a Jupytext "percent" script. Exercise code sits between ``### BEGIN SOLUTION`` and ``### END SOLUTION``:

* the **solution** version (``notebooks/solutions/``) keeps that code, drops the marker lines, and is executed top to
  bottom with its outputs stored;
* the **student** version (``notebooks/``) replaces each block by ``raise NotImplementedError(...)`` and has no outputs.
  It also drops the ``nbval-check-output`` tag (it has no stored outputs to compare with).

A few lines may exist in the instructor version only, between ``### BEGIN INSTRUCTOR ONLY`` and ``### END INSTRUCTOR
ONLY``: the solution keeps them (markers dropped), the student version drops them, stub and all. They are for what must
differ beyond an answer, such as a homework run that a class demo shortens (09's pre-trained start); the text around
them says what the instructor version does differently.

nbval's markers are cell tags (``# %% tags=["nbval-check-output"]`` in a source), never comment lines in the code: a
student reads the lesson's code, not the test plumbing. ``nbval-check-output`` marks a cell whose stored output nbval
compares (deterministic facts and ``course.claim`` verdicts); ``nbval-ignore-output`` one whose output it must not.

A figure's alt text is written where the figure is made, as a source cell's last statement ``plots.show(fig,
alt=f"...")``. In both versions that cell ends in ``plots.show(fig)`` and the next cell, ``plots.describe(f"...")``,
collapsed in JupyterLab and VS Code, left out of slides and the website, gives the shown figure the same text
(``split_alt_text``): a student reads the lesson's code first, and the description still lands in the figure's output.

Both versions get the same generated frame: a navigation bar with a Colab badge at the top and bottom, and a Colab
bootstrap cell before the first code cell. The repository URL comes from ``pyproject.toml`` only.

The one rule that protects students' work: **a student notebook is overwritten only while its cells are exactly as
this tool wrote them**, which the notebook itself records (a fingerprint of its cells in its metadata, so nothing
outside the file can get out of step with it). One a student has edited is left alone, with a message; one they only
ran is replaced, with a message saying their outputs are gone. ``--force`` overwrites anyway, for maintainers. A file
that is not a readable notebook (empty, truncated) is named and skipped, and the other notebooks are still built.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import re
import sys
import time
import tomllib
from pathlib import Path

import jupytext
import nbformat

from utils import ROOT

NOTEBOOKS = ROOT / "notebooks"
SOURCES = NOTEBOOKS / "source"
SOLUTIONS = NOTEBOOKS / "solutions"
#: Notebook metadata key of the fingerprint of the cells as generated (see ``stamp`` and ``write_student``).
STAMP_KEY = "course_generated_cells"
COLAB_DIR = "/content/rnn-lstm-course"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
ONLY_BEGIN, ONLY_END = "### BEGIN INSTRUCTOR ONLY", "### END INSTRUCTOR ONLY"
STUB = 'raise NotImplementedError("Exercise: write this part, then run the check below.")'
MARKDOWN_STUB = "*Write your answer here.*"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
CELL_TIMEOUT = 120
LONG_CODE_LINES = 16
#: nbval's cell tags: compare this cell's stored output / never compare it (see the module doc).
CHECK_TAG, IGNORE_TAG = "nbval-check-output", "nbval-ignore-output"
#: Tag of the collapsed cell that gives the figure above it its alt text (see ``split_alt_text``).
ALT_TAG = "alt-text"


def repository_url() -> str:
    """The repository URL from pyproject.toml ([project.urls] Repository), the one place it is written."""
    with open(ROOT / "pyproject.toml", "rb") as handle:
        return tomllib.load(handle)["project"]["urls"]["Repository"].rstrip("/")


def sources() -> list[Path]:
    """All notebook sources, in lecture order (their file names start with the number)."""
    return sorted(SOURCES.glob("[0-9][0-9]_*.py"))


def select(order: list[Path], names: list[str]) -> list[Path]:
    """The sources that ``names`` ask for: a number means that notebook (2, 02), other text the start of its name.

    A number is never matched inside a name (2 must not pick 07 or 12), and a name that picks nothing is an error.
    """
    chosen = []
    for name in names:
        stem = Path(name).name.removesuffix(".py").removesuffix(".ipynb")
        if stem.isdigit():
            hits = [s for s in order if int(s.stem.split("_", 1)[0]) == int(stem)]
        else:
            hits = [s for s in order if s.stem.startswith(stem)]
        if not hits:
            raise ValueError(f"no notebook source matches {name!r}: give a number (2 or 02) or the start of one "
                             f"of {[s.stem for s in order]}")
        chosen += [s for s in hits if s not in chosen]
    return [s for s in order if s in chosen]


def title_of(source: Path) -> str:
    """The notebook's title: the text of its first ``# `` heading."""
    for line in source.read_text().splitlines():
        match = re.match(r"^#\s+#\s+(.+)$", line)
        if match:
            return match.group(1).strip()
    return source.stem


# --- transforming cells ---------------------------------------------------------------------------------------------


def strip_markers(text: str) -> str:
    """Solution text: the exercise code and the instructor-only lines stay, the marker lines go."""
    return "\n".join(line for line in text.split("\n") if line.strip() not in (BEGIN, END, ONLY_BEGIN, ONLY_END))


def stub_out(text: str, markdown: bool = False) -> str:
    """Student text: each marked block becomes a stub at the block's indentation; instructor-only lines go."""
    out, inside, only = [], False, False
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped in (ONLY_BEGIN, ONLY_END):
            only = stripped == ONLY_BEGIN
        elif only:
            continue
        elif stripped == BEGIN:
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out += [MARKDOWN_STUB] if markdown else [f"{indent}# YOUR CODE HERE", f"{indent}{STUB}"]
        elif stripped == END:
            inside = False
        elif not inside:
            out.append(line)
    if inside or only:
        raise ValueError(f"'{BEGIN if inside else ONLY_BEGIN}' without '{END if inside else ONLY_END}'")
    return "\n".join(out)


def is_checked(cell) -> bool:
    """Whether nbval compares this cell's stored output (it carries the ``nbval-check-output`` tag)."""
    return CHECK_TAG in cell.get("metadata", {}).get("tags", [])


def split_alt_text(text: str) -> tuple[str, str | None]:
    """A figure cell's code split in two: the lesson's code ending in ``plots.show(obj)``, and the cell describing it.

    A source writes the alt text where the figure is made, as the cell's last statement ``plots.show(obj, alt=...)``;
    in a notebook those lines of prose would stand between the student and the next piece of the lesson. So the
    notebook's cell ends in ``plots.show(obj)`` and a second cell, ``plots.describe(...)``, gives the figure the same
    text, computed from the same run (``plots.describe`` explains how). Returns ``(text, None)`` for other cells.
    """
    try:
        statements = ast.parse(text).body
    except SyntaxError:
        return text, None
    last = statements[-1] if statements else None
    call = last.value if isinstance(last, ast.Expr) else None
    if not (isinstance(call, ast.Call) and ast.unparse(call.func) == "plots.show" and len(call.args) == 1
            and [keyword.arg for keyword in call.keywords] == ["alt"] and last.col_offset == 0):
        return text, None
    lines = text.split("\n")
    if any(line.strip() for line in lines[last.end_lineno:]):
        return text, None  # a comment after the call: leave the cell as the author wrote it
    shown = ast.get_source_segment(text, call.args[0])
    alt = ast.get_source_segment(text, call.keywords[0].value)
    lesson = "\n".join([*lines[: last.lineno - 1], f"plots.show({shown})"])
    opening = "plots.describe("
    aligned = f"\n{' ' * len(opening)}".join(line.strip() for line in alt.split("\n"))
    describe = f"{opening}{aligned})"
    if ast.dump(ast.parse(describe).body[0].value.args[0]) != ast.dump(call.keywords[0].value):
        describe = f"{opening}{alt})"  # the text spans lines inside one string: keep its lines as they are
    return lesson, describe


def alt_text_cell(code: str) -> nbformat.NotebookNode:
    """The cell that gives the figure above it its alt text: code collapsed in JupyterLab and VS Code, no slide."""
    cell = nbformat.v4.new_code_cell(code)
    cell.metadata["jupyter"] = {"source_hidden": True}
    cell.metadata["tags"] = [ALT_TAG]
    cell.metadata["slideshow"] = {"slide_type": "skip"}
    return cell


EXERCISE_HEADING = re.compile(r"^(#{2,4}) Exercise (\d+)\b.*$", flags=re.M)
#: The line ``annotate_exercises`` writes under an exercise heading (its numbers are declared facts, not results).
EXERCISE_NOTE = re.compile(r"^\*(?:Optional · about|About) \d+ minutes · \d+ points?\.\* When graded, .*$", flags=re.M)


def annotate_exercises(markdown: str, notebook: str) -> str:
    """Add, under each exercise heading, the line that says its time, its points and how it is graded.

    The numbers come from the exercise's declaration (``utils.checks.exercises``), the one place they are written; a
    heading with no declared exercise is an error that says where to declare it.
    """
    from utils.checks import exercises

    declared = {ex.number: ex for ex in exercises(notebook)}

    def line(match: re.Match) -> str:
        number = int(match.group(2))
        if number not in declared:
            raise ValueError(f"notebook {notebook}: the heading {match.group(0).strip()!r} has no exercise declared "
                             f"for it: add @exercise('Exercise {number} · ...', notebook='{notebook}', ...) to its "
                             "checker in utils/checks/")
        ex = declared[number]
        names = " and ".join(f"`{name}`" for name in ex.answer)
        kind = "Optional · about" if ex.optional else "About"
        are, their, they = ("are", "their", "they") if len(ex.answer) > 1 else ("is", "its", "it")
        return (f"{match.group(0)}\n\n*{kind} {ex.minutes} minutes · {ex.points} point"
                f"{'s' if ex.points != 1 else ''}.* When graded, {names} {are} run again on fresh cases, away from "
                f"this notebook: only the code of {their} own cell counts ({they} may use the setup cell's imports and "
                "your answers to earlier exercises).")

    return EXERCISE_HEADING.sub(line, markdown)


def nav_cell(order: list[Path], index: int, student: bool, where: str) -> nbformat.NotebookNode:
    """Previous / index / next links plus a Colab badge for this notebook, in both versions' folder layout."""
    name = order[index].with_suffix(".ipynb").name
    readme = "../README.md" if student else "../../README.md"
    links = []
    if index > 0:
        prev = order[index - 1]
        links.append(f"[← {title_of(prev)}]({prev.with_suffix('.ipynb').name})")
    links.append(f"[Course index]({readme})")
    if index + 1 < len(order):
        nxt = order[index + 1]
        links.append(f"[{title_of(nxt)} →]({nxt.with_suffix('.ipynb').name})")
    folder = "notebooks" if student else "notebooks/solutions"
    slug = repository_url().removeprefix("https://github.com/")
    badge = (
        "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        f"(https://colab.research.google.com/github/{slug}/blob/main/{folder}/{name})"
    )
    version = "student version (exercises to fill in)" if student else "instructor version (solutions, executed)"
    cell = nbformat.v4.new_markdown_cell(" · ".join(links) + f"\n\n{badge} *{version}*")
    cell.metadata["tags"] = [f"nav-{where}"]
    cell.metadata["slideshow"] = {"slide_type": "skip"}
    return cell


def bootstrap_cell() -> nbformat.NotebookNode:
    """The Colab bootstrap: fetch the repository (utils + data) and install what Colab lacks; a no-op elsewhere."""
    code = f'''# Colab only: fetch the course (utils package and data) and the packages Colab lacks. No-op elsewhere.
import sys

if "google.colab" in sys.modules:
    import subprocess

    REPO_URL = "{repository_url()}"
    subprocess.run(["git", "clone", "--quiet", "--depth=1", REPO_URL, "{COLAB_DIR}"], check=False)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", "{COLAB_DIR}"], check=True)
    sys.path.insert(0, "{COLAB_DIR}")'''
    cell = nbformat.v4.new_code_cell(code)
    cell.metadata["tags"] = ["colab-bootstrap"]
    cell.metadata["slideshow"] = {"slide_type": "skip"}
    return cell


OPTIONAL_HEADING = re.compile(r"^(#{2,3}) .*\(optional\)\s*$")


def optional_cells(cells: list) -> list[bool]:
    """For each cell, whether it belongs to an optional section: one whose heading ends with "(optional)", up to the
    next heading of the same or a higher level. The rest is the notebook's core path (what a class slot covers)."""
    flags, open_level = [], None
    for cell in cells:
        if cell.cell_type == "markdown":
            heading = re.match(r"^(#{1,6}) ", cell.source.lstrip())
            if heading and (open_level is None or len(heading.group(1)) <= open_level):
                match = OPTIONAL_HEADING.match(cell.source.lstrip().split("\n", 1)[0])
                open_level = len(match.group(1)) if match else None
        flags.append(open_level is not None)
    return flags


def slide_type(cell: nbformat.NotebookNode) -> str:
    """Slide layout for ``make slides``: headings open slides; sub-headings, long code and figures open sub-slides."""
    first = cell.source.lstrip().split("\n", 1)[0]
    if cell.cell_type == "markdown" and re.match(r"#{1,2} ", first):
        return "slide"
    if cell.cell_type == "markdown" and first.startswith("### "):
        return "subslide"
    if cell.cell_type == "code" and (cell.source.count("\n") >= LONG_CODE_LINES or "plt.show()" in cell.source):
        return "subslide"  # long code, or a figure: give it the screen
    return "-"


def build(source: Path, order: list[Path]) -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
    """The (student, solution) pair for one source, both unexecuted."""
    index = order.index(source)
    body = jupytext.read(source, fmt="py:percent").cells
    pair = []
    for student in (True, False):
        cells, bootstrapped = [nav_cell(order, index, student, "top")], False
        for cell in body:
            if cell.cell_type == "code" and not bootstrapped:  # the bootstrap goes before the first code cell
                cells.append(bootstrap_cell())
                bootstrapped = True
            text = cell.source
            if cell.cell_type == "markdown":
                text = annotate_exercises(text, source.name[:2])
            tags = list(cell.metadata.get("tags", []))
            if student:
                text = stub_out(text, markdown=cell.cell_type == "markdown")
                tags = [tag for tag in tags if tag != CHECK_TAG]
            else:
                text = strip_markers(text)
            text, alt_code = split_alt_text(text) if cell.cell_type == "code" else (text, None)
            new = (nbformat.v4.new_code_cell if cell.cell_type == "code" else nbformat.v4.new_markdown_cell)(text)
            if tags:
                new.metadata["tags"] = tags
            new.metadata["slideshow"] = cell.metadata.get("slideshow") or {"slide_type": slide_type(new)}
            cells.append(new)
            if alt_code:
                cells.append(alt_text_cell(alt_code))
        for cell, optional in zip(cells, optional_cells(cells), strict=True):
            if optional:  # the slides follow the core path
                cell.metadata["slideshow"] = {"slide_type": "skip"}
        cells.append(nav_cell(order, index, student, "bottom"))
        nb = nbformat.v4.new_notebook(cells=cells)
        nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
        for i, cell in enumerate(nb.cells):
            cell.id = f"cell-{i:03d}"
        pair.append(nb)
    return pair[0], pair[1]


# --- executing, fingerprints, writing -------------------------------------------------------------------------------


def execute(nb: nbformat.NotebookNode, cwd: Path, name: str = "a solution notebook") -> float:
    """Run every cell top to bottom in a fresh kernel, storing outputs; returns the seconds it took.

    The kernel runs with strict checks (``utils.checks.STRICT_ENV``) and strict claims (``utils.course``): a solution
    failing its own check, or a claim of the text that does not hold, stops the build.
    It does not inherit MPLBACKEND: with it set (CI exports MPLBACKEND=Agg), Jupyter's inline backend is not used,
    plt.show() displays nothing, and the solution would be stored without its figures.
    """
    from nbclient import NotebookClient

    from utils.checks import strict_env
    from utils.course import STRICT_CLAIMS_ENV

    started = time.perf_counter()
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    env = {key: value for key, value in strict_env(name).items() if key != "MPLBACKEND"} | {STRICT_CLAIMS_ENV: "1"}
    client.execute(env=env)
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    return time.perf_counter() - started


def fingerprint(nb: nbformat.NotebookNode) -> str:
    """Hash of the cells' types and sources: what a student changes when they edit, not outputs they produce."""
    text = json.dumps([[c.cell_type, c.source] for c in nb.cells])
    return hashlib.sha256(text.encode()).hexdigest()


def stamp(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Record in the notebook's own metadata the fingerprint of its cells as generated (Jupyter keeps it on save)."""
    nb.metadata[STAMP_KEY] = fingerprint(nb)
    return nb


def write(nb: nbformat.NotebookNode, path: Path) -> None:
    nbformat.validate(nb)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


def read_or_report(path: Path) -> nbformat.NotebookNode | None:
    """The notebook at ``path``, or None after printing that it is not a readable notebook (empty, truncated...).

    nbformat's own errors (NotJSONError, a schema error) do not name the file, and one broken file must not stop the
    notebooks after it from being built.
    """
    try:
        return nbformat.read(path, as_version=4)
    except (ValueError, KeyError, AttributeError, TypeError, nbformat.ValidationError) as error:  # bad JSON or schema
        reason = str(error).splitlines()[0][:120] if str(error).strip() else type(error).__name__
        print(f"  ! {_rel(path)} is not a readable notebook ({reason}): skipped. Restore it "
              f"(git checkout -- {_rel(path)}), or delete it to have it generated again.")
        return None


def _ran_cells(nb: nbformat.NotebookNode) -> int:
    """How many code cells carry outputs or an execution count: what saving a run leaves in a notebook."""
    return sum(1 for c in nb.cells if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count")))


WRITTEN, CURRENT, EDITED, UNREADABLE = "written", "current", "edited", "unreadable"


def write_student(nb: nbformat.NotebookNode, path: Path, force: bool = False) -> str:
    """Write a student notebook, unless the file there is not exactly as this tool wrote it (see the module doc).

    Returns WRITTEN, CURRENT (the file already has these cells: left alone, outputs kept), EDITED or UNREADABLE (left
    alone). Prints a line for each case a student should hear about: left alone, or a saved run replaced.
    """
    stamp(nb)
    if path.exists() and not force:
        current = read_or_report(path)
        if current is None:
            return UNREADABLE
        cells, ran = fingerprint(current), _ran_cells(current)
        if cells == fingerprint(nb) and ran:
            return CURRENT  # the cells are up to date: a run the student saved keeps its outputs
        if cells not in (current.metadata.get(STAMP_KEY), fingerprint(nb)):
            print(f"  ! {_rel(path)} was edited since it was generated: left as it is "
                  "(move your copy aside, or pass --force to overwrite it).")
            return EDITED
        if ran:
            print(f"  ~ {_rel(path)}: replaced by the new version. You had not edited it, but the outputs you saved "
                  f"in {ran} code cells are gone (run it again).")
    write(nb, path)
    return WRITTEN


def refresh_frame(fresh: nbformat.NotebookNode, path: Path) -> bool:
    """Replace the generated cells (navigation, Colab bootstrap) of an executed notebook, keeping its outputs.

    Returns False (after saying so) when the file there is not a readable notebook.
    """
    stored = read_or_report(path)
    if stored is None:
        return False
    generated = {tag: cell for cell in fresh.cells for tag in cell.metadata.get("tags", []) if _is_frame_tag(tag)}
    for cell in stored.cells:
        for tag in cell.metadata.get("tags", []):
            if _is_frame_tag(tag) and generated[tag].source != cell.source:
                cell.source = generated[tag].source
    write(stored, path)
    return True


def _is_frame_tag(tag: str) -> bool:
    return tag in ("nav-top", "nav-bottom", "colab-bootstrap")


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def out_of_sync() -> list[str]:
    """Committed notebooks whose cells differ from what their sources generate (outputs are not compared)."""
    order, problems = sources(), []
    for source in order:
        student, solution = build(source, order)
        name = source.with_suffix(".ipynb").name
        for nb, path in ((student, NOTEBOOKS / name), (solution, SOLUTIONS / name)):
            if not path.exists():
                problems.append(f"{_rel(path)} is missing")
                continue
            stored = read_or_report(path)
            if stored is None:
                problems.append(f"{_rel(path)} is not a readable notebook")
            elif fingerprint(stored) != fingerprint(nb):
                problems.append(f"{_rel(path)} differs from {_rel(source)}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="notebooks to build: numbers (2 or 02) or starts of names "
                        "(02_vanishing); default: all")
    parser.add_argument("--no-execute", action="store_true", help="write solution notebooks without running them")
    parser.add_argument("--force", action="store_true", help="overwrite student notebooks even if they were edited")
    parser.add_argument("--check", action="store_true", help="only report notebooks that are out of sync")
    parser.add_argument("--frames-only", action="store_true",
                        help="rebuild student versions and refresh navigation in solutions, executing nothing")
    args = parser.parse_args(argv)
    if args.check:
        problems = out_of_sync()
        for problem in problems:
            print(f"out of sync: {problem}")
        print("All notebooks match their sources." if not problems else "Run: make notebooks")
        return 1 if problems else 0
    order = sources()
    try:
        chosen = [] if args.frames_only else select(order, args.names) if args.names else order
    except ValueError as error:
        print(error)
        return 1
    unreadable = []
    for source in order:  # student versions are cheap: always rebuilt, so navigation stays right everywhere
        student, solution = build(source, order)
        name = source.with_suffix(".ipynb").name
        if write_student(student, NOTEBOOKS / name, args.force) == UNREADABLE:
            unreadable.append(_rel(NOTEBOOKS / name))
        if source in chosen:
            seconds = 0.0 if args.no_execute else execute(solution, SOLUTIONS, _rel(SOLUTIONS / name))
            write(solution, SOLUTIONS / name)
            print(f"built {name}" + ("" if args.no_execute else f" (solution executed in {seconds:.1f} s)"))
        elif (SOLUTIONS / name).exists() and not refresh_frame(solution, SOLUTIONS / name):
            unreadable.append(_rel(SOLUTIONS / name))
    if unreadable:
        print(f"Done, except {len(unreadable)} unreadable notebook(s) left as they are: {', '.join(unreadable)}")
    return 1 if unreadable else 0


if __name__ == "__main__":
    sys.exit(main())
