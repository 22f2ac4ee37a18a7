"""Generate README's notebook table from the notebook sources and the last timing run (``build/timings.json``).

    make timings              # nbval, one notebook at a time, writes build/timings.json, then runs the line below
    python -m tools.readme    # rewrites the table between the markers in README.md
    python -m tools.readme --check   # exit 1 if the table's titles/links no longer match the sources

The table is never typed by hand: titles come from the sources' first heading, "what you learn" from a
``<!-- summary: ... -->`` comment in the title cell, the kind of notebook from its title and its exercise headings
(markdown headings that start with "Exercise"; one exercise may have several solution blocks), and the times from the
timing run. Notebooks with no timing yet show "not measured".

The core path of a notebook is what a class slot covers: its cells outside optional sections (headings that end
with "(optional)", see ``tools.build_notebooks.optional_cells``). Its time is reading them at 150 words a minute
(code read as words too, but not the collapsed alt-text cells), running their code cells (the solution's per-cell
times of the timing run), and the expected minutes of the exercises on it (declared with each exercise in
``utils/checks``). It must fit a 75-minute class.
"""

from __future__ import annotations

import argparse
import json
import re
import sys

from tools.build_notebooks import ALT_TAG, EXERCISE_NOTE, build, optional_cells, repository_url, sources, title_of
from utils import ROOT

README = ROOT / "README.md"
TIMINGS = ROOT / "build" / "timings.json"
START, END = "<!-- notebook-table:start -->", "<!-- notebook-table:end -->"
# A markdown heading line of a Jupytext source that opens an exercise: "# ## Exercise 2 · ...", "# ### Exercise: ..."
EXERCISE_HEADING = re.compile(r"^#\s+#{1,6}\s+Exercise\b(?:\s+(\d+))?", flags=re.M)


def summary_of(text: str) -> str:
    match = re.search(r"<!--\s*summary:\s*(.+?)\s*-->", text, flags=re.S)
    return " ".join(match.group(1).split()) if match else "—"


def exercise_headings(text: str) -> list[str]:
    """The exercise headings of a source, in order: each exercise has one, whatever number of solution blocks it has."""
    return [match.group(0) for match in EXERCISE_HEADING.finditer(text)]


def kind_of(title: str, text: str) -> str:
    """"Lecture · 2 exercises", "Class exercise · 4 exercises", ...: the kind from the title, the count of exercises."""
    exercises = len(exercise_headings(text))
    lowered = title.lower()
    kind = "Class exercise" if "class exercise" in lowered else "Homework" if "home exercise" in lowered else "Lecture"
    return f"{kind} · {exercises} exercise{'s' if exercises != 1 else ''}" if exercises else f"{kind} · demo"


READING_WORDS_PER_MINUTE = 150
CLASS_MINUTES = 75


def core_path(source, timings: dict) -> tuple[float, float, float] | None:
    """Minutes of the notebook's core path: (reading, running, exercises); None before a timing run with cell times."""
    from utils.checks import exercises

    cell_times = timings.get(f"notebooks/solutions/{source.with_suffix('.ipynb').name}", {}).get("cells")
    if not cell_times:
        return None
    _, solution = build(source, sources())
    words = running = 0.0
    code_index = 0
    core_exercises = set()
    for cell, optional in zip(solution.cells, optional_cells(solution.cells), strict=True):
        # not read: the generated frame, and the collapsed cells that give figures their alt text
        generated = {"nav-top", "nav-bottom", "colab-bootstrap", ALT_TAG} & set(cell.metadata.get("tags", []))
        if not optional and not generated:
            words += len(re.findall(r"\w+", EXERCISE_NOTE.sub(" ", cell.source)))
            core_exercises |= {int(n) for n in re.findall(r"^#{2,4} Exercise (\d+)", cell.source, flags=re.M)}
        if cell.cell_type == "code":
            if not optional and code_index < len(cell_times):
                running += cell_times[code_index]
            code_index += 1
    practice = sum(ex.minutes for ex in exercises(source.name[:2]) if ex.number in core_exercises and not ex.optional)
    return words / READING_WORDS_PER_MINUTE, running / 60, float(practice)


def _core(source, timings: dict) -> str:
    parts = core_path(source, timings)
    if parts is None:
        return "not measured"
    reading, running, practice = parts
    total = reading + running + practice
    if kind_of(title_of(source), source.read_text()).startswith("Homework"):  # done at home: no class slot to fit
        return f"homework: {total:.0f} min (reading {reading:.0f}, running {running:.0f}, exercises {practice:.0f})"
    flag = "" if total <= CLASS_MINUTES else f", over the {CLASS_MINUTES}-minute class"
    return f"{total:.0f} min (reading {reading:.0f}, running {running:.0f}, exercises {practice:.0f}{flag})"


def _seconds(timings: dict, path: str) -> str:
    entry = timings.get(path)
    return f"{entry['seconds']:.0f} s (slowest cell {entry['slowest_cell']:.0f} s)" if entry else "not measured"


def table(timings: dict, core: dict | None = None) -> str:
    """The notebook table; ``core`` gives the core-path column's text per notebook (as README has it) instead of
    computing it from ``timings``."""
    slug = repository_url().removeprefix("https://github.com/")
    rows = ["| # | notebook | what you learn | kind | time: solution | time: student (quick) | core path (class) "
            "| Colab |", "|---|---|---|---|---|---|---|---|"]
    for source in sources():
        name, text = source.with_suffix(".ipynb").name, source.read_text()
        title = title_of(source)
        number, _, plain_title = title.partition(" · ")
        badge = (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
                 f"(https://colab.research.google.com/github/{slug}/blob/main/notebooks/{name})")
        rows.append(
            f"| {number} | [{plain_title or title}](notebooks/{name}) ([solution](notebooks/solutions/{name})) "
            f"| {summary_of(text)} | {kind_of(title, text)} "
            f"| {_seconds(timings, f'notebooks/solutions/{name}')} | {_seconds(timings, f'notebooks/{name}')} "
            f"| {core.get(name) if core is not None else _core(source, timings)} | {badge} |"
        )
    total = sum(v["seconds"] for k, v in timings.items() if k.startswith("notebooks/solutions/"))
    rows.append("")
    rows.append(f"Solution notebooks together: {total:.0f} s under nbval." if timings else "No timing run yet.")
    return "\n".join(rows)


def render(readme_text: str, timings: dict, core: dict | None = None) -> str:
    if START not in readme_text or END not in readme_text:
        raise ValueError(f"README.md needs the markers {START} and {END} around the notebook table")
    head, rest = readme_text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table(timings, core)}\n{END}{tail}"


def _stored_core(readme_text: str) -> dict:
    """The core-path column as README has it, per notebook file name."""
    return dict(re.findall(r"\(notebooks/([^)]+\.ipynb)\) \(\[solution\].*?\|.*?\|.*?\| .*? \| .*? \| (.*?) \|",
                           readme_text))


def _stored_timings(readme_text: str) -> dict:
    """Timings as last written into README, so --check compares titles and links, not fresh measurements."""
    found = {}
    for name, solution, student in re.findall(
        r"\(notebooks/([^)]+\.ipynb)\) \(\[solution\].*?\|.*?\|.*?\| (.*?) \| (.*?) \|", readme_text
    ):
        for path, cell in ((f"notebooks/solutions/{name}", solution), (f"notebooks/{name}", student)):
            match = re.match(r"(\d+) s \(slowest cell (\d+) s\)", cell)
            if match:
                found[path] = {"seconds": float(match.group(1)), "slowest_cell": float(match.group(2))}
    return found


def _without_total(readme_text: str) -> str:
    """README without its total line, which sums unrounded seconds that the table's rounded cells cannot restore."""
    return re.sub(r"^Solution notebooks together: .*$", "", readme_text, flags=re.M)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if README's table is stale")
    args = parser.parse_args(argv)
    current = README.read_text()
    if args.check:
        stale = (_without_total(render(current, _stored_timings(current), _stored_core(current)))
                 != _without_total(current))
        print("README's notebook table is stale: run python -m tools.readme" if stale else "README table is current.")
        return 1 if stale else 0
    timings = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
    README.write_text(render(current, timings))
    print(f"README.md table written from {len(sources())} sources and {len(timings)} timings.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
