"""Notebook hygiene: valid, clean, executed top to bottom, portable, navigable, one repository URL, linted."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import unicodedata

import nbformat
import pytest

from tests import helpers
from tests.helpers import read_notebook
from tools import readme
from tools.build_notebooks import KERNELSPEC, NOTEBOOKS, SOLUTIONS, STAMP_KEY, fingerprint, repository_url, sources
from utils import ROOT

STUDENT = sorted(NOTEBOOKS.glob("*.ipynb"))
SOLUTION = sorted(SOLUTIONS.glob("*.ipynb"))
ALL = STUDENT + SOLUTION
MACHINE_PATH = re.compile(r"(/work/|/root/|/home/\w+|/tmp/|/Users/\w+|[A-Z]:\\\\Users)")


#: Unicode categories that print nothing (or not what they are): controls (BEL, ESC, CR...), format characters
#: (zero-width space / joiner, byte-order mark, soft hyphen, bidi overrides), line / paragraph separators, private-use,
#: surrogate and unassigned code points. Tab and newline are the only controls text files need (Makefiles need tabs).
INVISIBLE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"}
UNNAMED = {"Cc": "control character", "Co": "private-use character", "Cs": "surrogate", "Cn": "unassigned code point"}
#: Jupyter renders ANSI colour codes in outputs (Keras' model.summary() prints bold headers): allowed there only.
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


def invisible_characters(text: str, allow_tab: bool = True) -> list[str]:
    """Each character in ``text`` that a reader cannot see for what it is, as 'line L, column C: U+XXXX NAME'.

    A typo such as ``"\\approx"`` written as ``"\approx"`` in a Python string leaves a BEL (U+0007) that renders as
    nothing; a zero-width space or a no-break space pasted from the web silently breaks a search or a keyword.
    ``allow_tab=False`` for notebook sources, where a tab is ``\text`` or ``\tau`` with its backslash eaten.
    """
    found = []
    for number, line in enumerate(text.split("\n"), 1):
        for column, char in enumerate(line, 1):
            category = unicodedata.category(char)
            invisible = category in INVISIBLE_CATEGORIES or (category == "Zs" and char != " ")
            if invisible and (char != "\t" or not allow_tab):
                name = unicodedata.name(char, UNNAMED.get(category, category))
                found.append(f"line {number}, column {column}: U+{ord(char):04X} {name}")
    return found


def _notebook_texts(nb) -> list[tuple[str, str]]:
    """(where, text) for every cell source and every text an output carries (ANSI colour codes removed)."""
    texts = []
    for cell in nb.cells:
        texts.append((f"cell {cell.id} source", cell.source))
        for output in cell.get("outputs", []):
            values = [output.get("text", "")] + [v for v in output.get("data", {}).values() if isinstance(v, str)]
            texts += [(f"cell {cell.id} output", ANSI_COLOUR.sub("", v)) for v in values]
    return texts


def _committed_text_files() -> list:
    """Files git tracks that decode as UTF-8 (binary data such as .gz and .h5 does not), notebooks aside."""
    done = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip("not a git checkout: no list of committed files")
    files = []
    for name in filter(None, done.stdout.split("\0")):
        path = ROOT / name
        if path.suffix == ".ipynb" or not path.is_file():
            continue
        try:
            files.append((name, path.read_bytes().decode("utf-8")))
        except UnicodeDecodeError:
            continue
    return files


def _ids(paths):
    return [p.relative_to(ROOT).as_posix() for p in paths]


@pytest.mark.parametrize("path", ALL, ids=_ids(ALL))
def test_valid_portable_and_small(path):
    nb = read_notebook(path)
    nbformat.validate(nb)
    expected = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    if path.parent == NOTEBOOKS:  # student versions record what they were generated as (see write_student)
        expected[STAMP_KEY] = fingerprint(nb)
    assert nb.metadata == expected
    assert path.stat().st_size < 3_000_000, "keep notebooks small: lower dpi, shorter audio"
    for cell in nb.cells:
        texts = [cell.source] + [o.get("text", "") for o in cell.get("outputs", [])]
        texts += [str(o.get("data", {}).get("text/plain", "")) for o in cell.get("outputs", [])]
        for text in texts:
            hit = MACHINE_PATH.search(text)
            assert not hit, f"{path.name}: machine-specific path {hit.group(0)!r} in cell {cell.id}"
        assert not any(o.get("output_type") == "error" for o in cell.get("outputs", [])), f"error stored in {cell.id}"


def test_the_invisible_character_finder_flags_controls_zero_widths_and_odd_spaces_only():
    assert invisible_characters("$b_2 \approx 1$") == ["line 1, column 6: U+0007 control character"]
    assert invisible_characters("ok\nzero\u200bwidth") == ["line 2, column 5: U+200B ZERO WIDTH SPACE"]
    assert [f.split(": ")[1] for f in invisible_characters("\ufeffx = 1\r\ny\u00a0=\u2028")] == [
        "U+FEFF ZERO WIDTH NO-BREAK SPACE", "U+000D control character", "U+00A0 NO-BREAK SPACE",
        "U+2028 LINE SEPARATOR"]
    # tabs, newlines, emoji, arrows, combining accents (C̃) and typographic text are fine
    assert invisible_characters("\tC\u0303_t ✅ ❌ → ≈ ≤ · – “quoted”\n") == []
    # ... except a tab in a notebook source: "$\text{DM}$" written in a plain string loses its backslash
    assert invisible_characters("$\text{DM}$", allow_tab=False) == ["line 1, column 2: U+0009 control character"]


@pytest.mark.parametrize("path", sources(), ids=_ids(sources()))
def test_notebook_sources_are_clean_text(path):
    found = invisible_characters(path.read_text(encoding="utf-8"), allow_tab=False)
    assert not found, f"{path.name}: invisible characters (a '\\a' meant as '\\\\a'?): " + "; ".join(found)


@pytest.mark.parametrize("path", ALL, ids=_ids(ALL))
def test_generated_notebooks_are_clean_text(path):
    found = [f"{where}, {hit}" for where, text in _notebook_texts(read_notebook(path))
             for hit in invisible_characters(text)]
    assert not found, f"{path.name}: invisible characters (fix the source, then make notebooks): " + "; ".join(found)


def test_committed_text_files_are_clean_text():
    found = [f"{name}: {hit}" for name, text in _committed_text_files() for hit in invisible_characters(text)]
    assert not found, "invisible characters in committed files:\n" + "\n".join(found[:50])


@pytest.mark.parametrize("path", SOLUTION, ids=_ids(SOLUTION))
def test_solutions_were_executed_top_to_bottom(path):
    code = [c for c in read_notebook(path).cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))


@pytest.mark.parametrize("path", SOLUTION, ids=_ids(SOLUTION))
def test_stored_outputs_carry_no_tensorflow_log_warnings(path):
    """TensorFlow's Python warnings (e.g. tf.function retracing) are noise to a student; course.setup sets that logger
    to errors only, so a warning in a stored output means that setting was lost or bypassed."""
    for cell in read_notebook(path).cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            text = output.get("text", "") + str(output.get("data", {}).get("text/plain", ""))
            assert "WARNING:tensorflow" not in text, f"{path.name} cell {cell.id} stores a TensorFlow warning"


@pytest.mark.parametrize("path", SOLUTION, ids=_ids(SOLUTION))
def test_stored_outputs_show_no_stderr(path):
    """The builder stores what the kernel sends, unfiltered; utils/tf_log.py keeps TensorFlow's harmless C++ lines out
    at the source. So a stderr block stored here is one a student sees in red too: remove its cause."""
    for cell in read_notebook(path).cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            assert output.get("name") != "stderr", f"{path.name} cell {cell.id} stores stderr: {output['text'][:300]}"


@pytest.mark.parametrize("path", SOLUTION, ids=_ids(SOLUTION))
def test_every_figure_a_solution_shows_is_stored(path):
    """A kernel run with MPLBACKEND=Agg shows nothing: the notebook would read on GitHub without its figures."""
    for cell in read_notebook(path).cells:
        if cell.cell_type == "code" and re.search(r"^\s*plt\.show\(\)", cell.source, flags=re.M):
            assert any("image/png" in o.get("data", {}) for o in cell.outputs), (
                f"{path.name} cell {cell.id} calls plt.show() but stored no figure: rebuild it without MPLBACKEND")


@pytest.mark.parametrize("path", ALL, ids=_ids(ALL))
def test_navigation_and_colab_links_use_the_one_repository_url(path):
    nb = read_notebook(path)
    first, last = nb.cells[0], nb.cells[-1]
    assert "nav-top" in first.metadata.get("tags", []) and "nav-bottom" in last.metadata.get("tags", [])
    assert "Course index" in first.source and "Course index" in last.source
    slug = repository_url().removeprefix("https://github.com/")
    text = "\n".join(c.source for c in nb.cells)
    colab_links = re.findall(r"colab\.research\.google\.com/github/([^/]+/[^/]+)/", text)
    assert colab_links and set(colab_links) == {slug}
    bootstrap = [c for c in nb.cells if "colab-bootstrap" in c.metadata.get("tags", [])]
    assert len(bootstrap) == 1 and f'REPO_URL = "{repository_url()}"' in bootstrap[0].source
    for link in re.findall(r"\]\(([^)]+\.(?:ipynb|md))\)", first.source + last.source):
        assert link.startswith("https://") or (path.parent / link).exists(), f"navigation link to missing {link}"


def test_readme_table_is_generated_and_current():
    assert readme.main(["--check"]) == 0


def test_readme_check_is_not_fooled_by_the_rounding_of_the_total():
    # nine notebooks of 10.5 s each show "10 s" per row, but a total of 94 s: still a current table
    timings = {f"notebooks/solutions/{s.with_suffix('.ipynb').name}": {"seconds": 10.5, "slowest_cell": 1.0}
               for s in sources()}
    text = readme.render(readme.README.read_text(), timings)
    assert readme._without_total(readme.render(text, readme._stored_timings(text))) == readme._without_total(text)


def test_ruff_is_clean_on_utils_tools_tests_and_notebooks():
    helpers.run([sys.executable, "-m", "ruff", "check", "utils", "tools", "tests", "notebooks"])


def _imports_of(source) -> tuple[set[str], dict[str, set[str]]]:
    """The utils modules a notebook source imports (course aside) and the checkers it imports, by checks module."""
    modules, checkers = set(), {}
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith("utils"):
            continue
        parts = node.module.split(".")
        if parts[1:2] == ["checks"] and len(parts) == 3:
            checkers.setdefault(parts[2], set()).update(alias.name for alias in node.names)
        elif len(parts) == 2 and parts[1] != "checks":
            modules.add(parts[1])
        elif parts == ["utils"]:
            modules.update(alias.name for alias in node.names)
    return modules - {"course"}, checkers


def test_contributings_map_lists_what_each_notebook_imports_and_tests_that_exist():
    """CONTRIBUTING's table notebook -> utils modules -> checkers -> tests, read against the sources' imports."""
    rows = {row[0].split()[0]: row for row in (
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in (ROOT / "CONTRIBUTING.md").read_text().splitlines() if re.match(r"\| \d\d ", line))}
    assert sorted(rows) == [s.name[:2] for s in sources()], "one row per notebook"
    for source in sources():
        _, listed_modules, listed_checkers, listed_tests = rows[source.name[:2]]
        modules, checkers = _imports_of(source)
        where = f"CONTRIBUTING's map, row {source.name[:2]} (update it from the imports of {source.name})"
        assert set(re.findall(r"`(\w+)`", listed_modules)) == modules, where
        listed = {match.group(1): set(re.findall(r"`(\w+)`", match.group(2)))
                  for match in re.finditer(r"(\w+)\.py`?: ((?:`\w+`(?:, )?)+)", listed_checkers)}
        assert listed == checkers, where
        tests = re.findall(r"`(tests/[\w/]+\.py)`", listed_tests)
        assert tests and all((ROOT / t).exists() for t in tests), where
