"""The prose follows the numbers: what a solution notebook's text says, its stored outputs show.

Four rules, checked on every committed solution notebook (``notebooks/solutions/*.ipynb``, executed):

1. **Numbers are printed.** Every number in a markdown cell (integer, decimal or percentage, with or without thousands
   separators) appears in the notebook's stored outputs at the same printed precision ("0.50" is not "0.5", "10%"
   needs a printed "10%"; a percentage with decimals, "18.243 %", may quote a table printed in percent), or as a
   literal in one of its code cells (``n_train = 20_000`` backs "20,000"; a literal 0.99 backs "99%"), or on the
   notebook's fixed facts: a ``<!-- facts: ... -->`` comment in the source's first markdown cell (years of papers,
   musical facts). Free: whole numbers 0 to 10 (counts, days, "notebook 03", list items), subscripts and exponents
   in formulas, URLs and arXiv ids.
2. **Claims about results are printed by ``course.claim``.** A markdown cell that says something beats, wins, is
   better / worse than, faster / slower, as good as, or remembers (``CLAIM_WORDS``; not "a baseline to beat", "only
   as good as", "the beat") comes after a code cell (the nearest code cell above it) that calls ``course.claim`` and
   is tagged ``nbval-check-output``, so a stack on which the claim stops holding fails CI. Every ``course.claim``
   cell is so marked, and no stored claim reads "✗". The title cell (what the notebook will show) is exempt.
3. **References exist.** "Exercise N" names an exercise heading of the notebook, "notebook NN" a notebook, "section
   N" a heading numbered N. An exercise is referred to by its number: no "the exercise's target", no "follow-ups".
4. **A picked example is the one shown.** A code cell that picks an example by value (``numbers == 71``,
   ``71 in numbers``; values above 10) prints that value, so text written about "the 71 example" is about what the
   output shows.

The README table's exercise counts come from the sources (``tools.readme``) and must match the exercises the checks
print in the solution notebooks.
"""

from __future__ import annotations

import ast
import re

import nbformat
import pytest

from tests.helpers import output_text, read_notebook
from tools import readme
from tools.build_notebooks import CHECK_TAG, EXERCISE_NOTE, SOLUTIONS, is_checked, sources
from utils import ROOT

SOLUTION = sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))
FREE_UP_TO = 10  # whole numbers 0..10 are counts and labels, not measurements

# A number as prose writes it: "20,000", "0.50", "12.2", "10%", "10 %"; not a subscript (x_1), part of a word (F1),
# a version string's tail, or an exponent (W_2^10).
NUMBER = re.compile(r"(?<![\w.^\\,])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(\s?%)?(?![\w.]\d)(?!\w)")
CLAIM_WORDS = re.compile(
    r"\b(?:beats|beaten|beating|(?<!to )(?<!must )(?<!the )(?<!a )beat|outperform\w*|wins|won|faster|slower"
    r"|better than|worse than|better at|worse at|(?<!only )as good as|remembers)\b",
    flags=re.I,
)
CLAIM_CALL = re.compile(r"\bcourse\.claim(?:_runs|_interval)?\(")  # a verdict, or one with its evidence
EXERCISE_REF = re.compile(r"\bexercises?\s+(\d+)", flags=re.I)
NOTEBOOK_REF = re.compile(r"\bnotebooks?\s+(\d\d)\b", flags=re.I)
SECTION_REF = re.compile(r"\bsections?\s+(\d+)\b", flags=re.I)
VAGUE_REF = re.compile(r"\bexercises?['’]s?|\bfollow-?ups?\b", flags=re.I)
FACTS = re.compile(r"<!--\s*facts:(.*?)-->", flags=re.S)
EXERCISE_LABEL = re.compile(r"^\W*(Exercise(?: \d+)? · [^:\n]+)(?::| )", flags=re.M)


# --- reading a notebook ---------------------------------------------------------------------------------------------


def _body(nb):
    """The cells written in the source: not the generated navigation bars."""
    return [c for c in nb.cells if not any(t.startswith("nav-") for t in c.metadata.get("tags", []))]


def _prose(markdown: str) -> str:
    """Markdown without what is not read as a number: comments, link targets, URLs, formula sub/superscripts."""
    text = re.sub(r"<!--.*?-->", " ", markdown, flags=re.S)
    text = EXERCISE_NOTE.sub(" ", text)  # time and points of an exercise: declared with it, in utils/checks
    text = re.sub(r"\]\([^)]*\)", "]", text)
    text = re.sub(r"https?://\S+|arXiv:\s?\S+", " ", text, flags=re.I)
    text = re.sub(r"[_^]\{[^}]*\}|[_^]-?\w+", " ", text)
    return text


def numbers_in(text: str) -> list[str]:
    """Each number of a text, normalised: thousands separators dropped, decimals and a percent sign kept ("10%")."""
    found = []
    for whole, decimals, percent in NUMBER.findall(text):
        found.append(whole.replace(",", "") + decimals + ("%" if percent else ""))
    return found


def _printed_numbers(text: str) -> set[str]:
    """Every number an output shows, with and without its percent sign; "1,234" and "1234" both count."""
    text = re.sub(r"(?<=\d)[,_](?=\d{3}\b)", "", text)
    found = set()
    for whole, decimals, percent in re.findall(r"(\d+)(\.\d+)?(\s?%)?", text):
        found.add(str(int(whole)) + decimals)
        if percent:
            found.add(str(int(whole)) + decimals + "%")
    return found


def _literal_numbers(code: str) -> set[str]:
    """Numbers written as literals in code (and inside its strings): what a setting like ``n_train = 20_000`` backs."""
    try:
        tree = ast.parse(code)
    except SyntaxError:  # cell magics and the like: read the literals off the text
        return _printed_numbers(code)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found |= _printed_numbers(node.value)
        elif isinstance(node, ast.Constant) and type(node.value) in (int, float):
            value = node.value
            found.add(repr(value))
            if isinstance(value, float) and 0 < value < 1:  # 0.99 backs "99%"
                found.add(f"{round(value * 100, 6):g}%")
    return found


def _facts(nb) -> set[str]:
    """The fixed facts the source declares in a ``<!-- facts: ... -->`` comment of its first markdown cell."""
    first = next(c for c in _body(nb) if c.cell_type == "markdown")
    match = FACTS.search(first.source)
    facts = set(numbers_in(match.group(1))) if match else set()
    return facts | {f"{fact.rstrip('%')}%" for fact in facts}  # a fact 100 also backs "100 %"


def _is_free(number: str) -> bool:
    return number.isdigit() and int(number) <= FREE_UP_TO


# --- the four rules, as functions that return findings (so they can be tested on small notebooks) -------------------


def unbacked_numbers(nb) -> list[str]:
    """Rule 1: numbers in markdown that no output prints, no code literal writes and no fact declares."""
    cells = _body(nb)
    backed = _facts(nb)
    for cell in cells:
        if cell.cell_type == "code":
            backed |= _printed_numbers(output_text(cell)) | _literal_numbers(cell.source)
    findings = []
    for cell in cells:
        if cell.cell_type != "markdown":
            continue
        for number in numbers_in(_prose(cell.source)):
            key = re.sub(r"^0+(?=\d)", "", number)  # "08" is 8
            in_percent_table = "." in key and key.endswith("%") and key[:-1] in backed  # a column in %: 18.243
            if not _is_free(key) and key not in backed and not in_percent_table:
                findings.append(f"cell {cell.id}: {number!r} is not printed, not a code literal and not a fact")
    return findings


def unprinted_claims(nb) -> list[str]:
    """Rule 2: result words in markdown that no ``course.claim`` cell just above backs; unmarked or failed claims."""
    findings, last_code = [], None
    for index, cell in enumerate(_body(nb)):
        if cell.cell_type == "code":
            last_code = cell
            if CLAIM_CALL.search(cell.source):
                if not is_checked(cell):
                    findings.append(f"cell {cell.id}: calls course.claim without the {CHECK_TAG} tag")
                for line in output_text(cell).splitlines():
                    if line.startswith("✗"):
                        findings.append(f"cell {cell.id}: the stored claim does not hold: {line}")
            continue
        if index == 0:
            continue  # the title cell says what the notebook will show
        words = sorted({m.group(0).lower() for m in CLAIM_WORDS.finditer(_prose(cell.source))})
        claimed = last_code is not None and CLAIM_CALL.search(last_code.source) and is_checked(last_code)
        if words and not claimed:
            findings.append(f"cell {cell.id}: says {', '.join(words)} with no course.claim cell just above it")
    return findings


def _heading_numbers(nb, heading: str) -> set[str]:
    """The numbers N of the notebook's markdown headings that match ``heading`` (a regex with one group for N)."""
    return {number for cell in _body(nb) if cell.cell_type == "markdown"
            for number in re.findall(r"^#{1,6}\s+" + heading, cell.source, flags=re.M)}


def dangling_references(nb) -> list[str]:
    """Rule 3: "Exercise N", "notebook NN", "section N" that do not exist; references to unnumbered exercise parts."""
    exercises, sections = _heading_numbers(nb, r"Exercise\s+(\d+)"), _heading_numbers(nb, r"(\d+)\b")
    notebooks = {s.name[:2] for s in sources()}
    findings = []
    for cell in _body(nb):
        if cell.cell_type != "markdown":
            continue
        text = _prose(cell.source)
        for pattern, known, what in ((EXERCISE_REF, exercises, "Exercise"), (NOTEBOOK_REF, notebooks, "notebook"),
                                     (SECTION_REF, sections, "section")):
            for number in pattern.findall(text):
                if number not in known:
                    findings.append(f"cell {cell.id}: refers to {what} {number}, which does not exist")
        for match in VAGUE_REF.finditer(text):
            findings.append(f"cell {cell.id}: {match.group(0)!r} points at no numbered exercise: name it by number")
    return findings


def unshown_examples(nb) -> list[str]:
    """Rule 4: values above 10 a code cell selects by (``== v``, ``v in ...``) that its own output does not print."""
    findings = []
    for cell in _body(nb):
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        asserted = {id(n) for a in ast.walk(tree) if isinstance(a, ast.Assert) for n in ast.walk(a)}
        printed = _printed_numbers(output_text(cell))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Compare) or id(node) in asserted:
                continue
            if not all(isinstance(op, (ast.Eq, ast.In)) for op in node.ops):
                continue
            for side in [node.left, *node.comparators]:
                if (isinstance(side, ast.Constant) and type(side.value) is int and side.value > FREE_UP_TO
                        and str(side.value) not in printed):
                    findings.append(f"cell {cell.id}: picks the example {side.value} but does not print it")
    return sorted(set(findings))


# --- the rules on the committed notebooks -----------------------------------------------------------------------------


def _ids(paths):
    return [p.name[:2] for p in paths]


@pytest.mark.parametrize("path", SOLUTION, ids=_ids(SOLUTION))
def test_every_number_in_the_prose_is_printed_written_or_a_fact(path):
    findings = unbacked_numbers(read_notebook(path))
    assert not findings, "\n".join(findings)


@pytest.mark.parametrize("path", SOLUTION, ids=_ids(SOLUTION))
def test_every_claim_about_a_result_is_printed_by_course_claim(path):
    findings = unprinted_claims(read_notebook(path))
    assert not findings, "\n".join(findings)


@pytest.mark.parametrize("path", SOLUTION, ids=_ids(SOLUTION))
def test_every_reference_points_at_something_that_exists(path):
    findings = dangling_references(read_notebook(path))
    assert not findings, "\n".join(findings)


@pytest.mark.parametrize("path", SOLUTION, ids=_ids(SOLUTION))
def test_a_picked_example_is_the_one_shown(path):
    findings = unshown_examples(read_notebook(path))
    assert not findings, "\n".join(findings)


@pytest.mark.parametrize("source", sources(), ids=[s.name[:2] for s in sources()])
def test_readme_counts_the_exercises_the_checks_print(source):
    """README's "N exercises" = the exercise headings of the source = the exercises the solution's checks print."""
    printed = set()
    for cell in read_notebook(SOLUTIONS / source.with_suffix(".ipynb").name).cells:
        if cell.cell_type == "code":
            printed |= set(EXERCISE_LABEL.findall(output_text(cell)))
    headings = readme.exercise_headings(source.read_text())
    assert len(headings) == len(printed), f"{source.name}: headings {headings} vs checks printed {sorted(printed)}"
    row = next(line for line in (ROOT / "README.md").read_text().splitlines()
               if f"(notebooks/{source.with_suffix('.ipynb').name})" in line)
    count = len(printed)
    expected = f"{count} exercise{'s' if count != 1 else ''}" if count else "demo"
    assert f"· {expected} |" in row, f"README row of {source.name} should say {expected!r}: {row[:160]}"


# --- the rules can fail: each one on a small notebook that breaks it, and passes once fixed ---------------------------


def _nb(*cells):
    """A tiny executed notebook: ("md", text), ("code", source, printed output) or ("checked", source, output)."""
    built = [nbformat.v4.new_markdown_cell("# 00 · Title")]
    for kind, text, *printed in cells:
        if kind == "md":
            built.append(nbformat.v4.new_markdown_cell(text))
        else:
            cell = nbformat.v4.new_code_cell(text)
            if kind == "checked":
                cell.metadata["tags"] = [CHECK_TAG]
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed[0] if printed else "")]
            built.append(cell)
    for i, cell in enumerate(built):
        cell.id = f"c{i}"
    return nbformat.v4.new_notebook(cells=built)


def test_rule1_flags_a_number_nobody_printed_and_accepts_printed_written_and_declared_ones():
    bad = _nb(("code", "print(f'{acc:.1%}')", "10.1%\n"), ("md", "That is 10.1%, above the target of 10%."))
    assert [f for f in unbacked_numbers(bad) if "'10%'" in f] and not [f for f in unbacked_numbers(bad) if "10.1" in f]
    assert unbacked_numbers(_nb(("code", "x = 1", "0.5\n"), ("md", "It prints 0.50.")))  # precision differs
    good = _nb(("code", "n_train = 20_000\nq = 0.99", "MAE 0.4512\n"),
               ("md", "On 20,000 pairs, above the 99% quantile, MAE 0.4512 ($W_2^{50}$, $x_1$, 3 days, F1)."))
    assert unbacked_numbers(good) == []
    declared = _nb(("md", "Hochreiter and Schmidhuber, 1997."))
    declared.cells[0].source += "\n<!-- facts: 1997 (the LSTM paper) -->"
    assert unbacked_numbers(declared) == []


def test_rule2_flags_an_unprinted_claim_a_failed_claim_and_an_unchecked_claim_cell():
    assert unprinted_claims(_nb(("code", "print(t)", "1.2 s\n"), ("md", "The home-made cell is only somewhat slower.")))
    assert unprinted_claims(_nb(("md", "Persistence is the model to beat, and nothing beats it.")))
    claim = "course.claim('LSTM beats persistence', holds=a < b)"
    assert unprinted_claims(_nb(("checked", claim, "✗ not in this run: LSTM beats persistence\n"), ("md", "It beats.")))
    assert unprinted_claims(_nb(("code", claim, "✓ LSTM beats persistence\n")))  # not compared by nbval
    assert unprinted_claims(_nb(("checked", claim, "✓ LSTM beats persistence\n"), ("md", "It beats it."))) == []
    assert unprinted_claims(_nb(("md", "The yardsticks it must beat, a baseline to beat."))) == []
    idioms = "A model is only as good as its data; the model knows where the beat is."
    assert unprinted_claims(_nb(("md", idioms))) == []
    assert unprinted_claims(_nb(("md", "The LSTM beat the 4-gram.")))


def test_rule3_flags_missing_exercises_notebooks_sections_and_vague_references():
    body = ("md", "## 2 · Windows\n\n### Exercise 1 · windows\n\nSee Exercise 1, section 2 and notebook 03.")
    assert dangling_references(_nb(body)) == []
    assert dangling_references(_nb(body, ("md", "Exercise 5 asks for it.")))
    assert dangling_references(_nb(body, ("md", "As in section 7.")))
    assert dangling_references(_nb(body, ("md", "Notebook 42 does it.")))
    assert dangling_references(_nb(body, ("md", "Try it: it is one of the exercises' follow-ups.")))
    assert dangling_references(_nb(body, ("md", "the exercise's target was met")))


def test_rule4_flags_an_example_picked_but_not_shown():
    pick = "row = int(np.flatnonzero(nums == 71)[0]) if 71 in nums else 0\nprint(pairs[row])"
    assert unshown_examples(_nb(("code", pick, "('ten', 'dix')\n")))
    assert unshown_examples(_nb(("code", pick, "(71, 'soixante et onze')\n"))) == []
    assert unshown_examples(_nb(("code", "assert len(x) == 123", ""))) == []


def test_readme_counts_an_exercise_with_two_solution_blocks_once():
    """08's Exercise 2 has two solution blocks (build, then train); it is still one exercise."""
    block = "    ### BEGIN SOLUTION\n    pass\n    ### END SOLUTION\n"
    source = (f"# %% [markdown]\n# ### Exercise 1 · build and train\n\n# %%\ndef build():\n{block}\n\ndef train():\n"
              f"{block}\n# %% [markdown]\n# ## More exercises (no checks)\n")
    assert readme.kind_of("08 · Class exercise 2: forecasting", source) == "Class exercise · 1 exercise"
