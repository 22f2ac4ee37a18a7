"""The exercise mechanism: one source per notebook -> student + solution versions; sync; never overwrite edits."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

from tools import build_notebooks as build

SOURCE = '''def f(x):
    """Doc."""
    ### BEGIN SOLUTION
    y = x + 1
    return y
    ### END SOLUTION
'''


def test_student_version_gets_an_indented_stub():
    student = build.stub_out(SOURCE)
    assert "y = x + 1" not in student and "### BEGIN" not in student
    assert '    # YOUR CODE HERE\n    raise NotImplementedError(' in student
    compile(student, "<student>", "exec")  # still valid Python


def test_solution_version_keeps_code_and_drops_markers():
    solution = build.strip_markers(SOURCE)
    assert "y = x + 1" in solution and "SOLUTION" not in solution


def test_markdown_answers_are_stubbed_too():
    text = "Question?\n\n### BEGIN SOLUTION\nThe answer.\n### END SOLUTION"
    assert build.stub_out(text, markdown=True) == f"Question?\n\n{build.MARKDOWN_STUB}"


def test_instructor_only_lines_are_kept_in_the_solution_and_dropped_from_the_student_version():
    text = "runs = 10\n### BEGIN INSTRUCTOR ONLY\nruns = 1  # a class demo\n### END INSTRUCTOR ONLY\nprint(runs)"
    assert build.stub_out(text) == "runs = 10\nprint(runs)"
    assert build.strip_markers(text) == "runs = 10\nruns = 1  # a class demo\nprint(runs)"
    with pytest.raises(ValueError, match="INSTRUCTOR ONLY' without"):
        build.stub_out("### BEGIN INSTRUCTOR ONLY\nx = 1")


def test_unclosed_marker_is_an_error():
    with pytest.raises(ValueError, match="without"):
        build.stub_out("### BEGIN SOLUTION\nx = 1")


def test_committed_notebooks_match_their_sources():
    problems = build.out_of_sync()
    assert not problems, "Run `make notebooks`:\n" + "\n".join(problems)


def test_every_source_has_both_versions_and_sources_are_numbered():
    names = [s.stem for s in build.sources()]
    assert names and names[0].startswith("01_")
    for source in build.sources():
        name = source.with_suffix(".ipynb").name
        assert (build.NOTEBOOKS / name).exists() and (build.SOLUTIONS / name).exists()


def test_student_versions_have_stubs_no_outputs_and_no_check_markers():
    for source in build.sources():
        nb = nbformat.read(build.NOTEBOOKS / source.with_suffix(".ipynb").name, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), source.name
        assert not any("NBVAL" in c.source.upper() for c in code)  # test plumbing stays out of sight
        assert not any(build.is_checked(c) for c in code)  # nothing stored to compare with
        if build.BEGIN in source.read_text():
            assert any(build.STUB in c.source for c in code), f"{source.name} has exercises but no stubs"


FIGURE_CELL = """fig, ax = plt.subplots()
ax.plot(losses)
plots.show(fig, alt=f"Loss against epoch over {len(losses)} epochs: it falls, then flattens. Notice "
                    "the last {len(losses) // 2} epochs gain little.")"""


def test_a_figure_cell_ends_in_its_figure_and_its_alt_text_moves_to_the_next_cell():
    lesson, describe = build.split_alt_text(FIGURE_CELL)
    assert lesson == "fig, ax = plt.subplots()\nax.plot(losses)\nplots.show(fig)"
    assert describe == ('plots.describe(f"Loss against epoch over {len(losses)} epochs: it falls, then flattens. '
                        'Notice "\n               "the last {len(losses) // 2} epochs gain little.")')
    original = ast.parse(FIGURE_CELL).body[-1].value.keywords[0].value
    assert ast.dump(ast.parse(describe).body[0].value.args[0]) == ast.dump(original)  # the very same text


@pytest.mark.parametrize("cell", [
    "plots.show(fig)",  # no alt text to move
    FIGURE_CELL + "\nprint(len(losses))",  # the figure is not the cell's end
    FIGURE_CELL + "\n# a note after the figure",  # nor is a comment dropped
    "if show:\n    plots.show(fig, alt='A line chart of the loss per epoch, falling and then flat.')",
    "x = (",  # not Python: left for the notebook run to report
])
def test_other_cells_are_left_as_they_are(cell):
    assert build.split_alt_text(cell) == (cell, None)


def test_text_spanning_lines_inside_one_string_keeps_its_lines():
    cell = 'plots.show(fig, alt="""A line chart of the loss per epoch:\n    it falls, then flattens.""")'
    _, describe = build.split_alt_text(cell)
    assert describe == 'plots.describe("""A line chart of the loss per epoch:\n    it falls, then flattens.""")'


@pytest.mark.parametrize("student", [True, False], ids=["student", "solution"])
def test_every_figure_of_a_generated_notebook_is_followed_by_its_collapsed_alt_text_cell(student):
    for source in build.sources():
        folder = build.NOTEBOOKS if student else build.SOLUTIONS
        cells = nbformat.read(folder / source.with_suffix(".ipynb").name, as_version=4).cells
        for index, cell in enumerate(cells):
            if cell.cell_type != "code":
                continue
            assert not re.search(r"plots\.show\(.*\balt=", cell.source, re.S), (
                f"{source.name} cell {index}: the alt text should be in the next cell, out of the student's sight")
            if build.ALT_TAG in cell.metadata.get("tags", []):
                assert cell.source.startswith("plots.describe(") and cells[index - 1].source.endswith(")")
                assert re.search(r"^plots\.show\([^\n]*\)$", cells[index - 1].source, re.M), source.name
                assert cell.metadata["jupyter"] == {"source_hidden": True}
                assert cell.metadata["slideshow"] == {"slide_type": "skip"}
                assert not cell.get("outputs"), "the description updates the figure above; it shows nothing itself"
        shown = sum(1 for c in cells if c.cell_type == "code" and "plots.show(" in c.source)
        described = sum(1 for c in cells if build.ALT_TAG in c.metadata.get("tags", []))
        assert shown == described == source.read_text().count("plots.show("), source.name


def _pair():
    order = build.sources()
    return build.build(order[0], order)


def test_regenerating_never_overwrites_an_edited_student_notebook(tmp_path, capsys):
    student, _ = _pair()
    path = tmp_path / "01.ipynb"
    assert build.write_student(student, path) == build.WRITTEN
    # unchanged since generated: may be rewritten
    assert build.write_student(student, path) == build.WRITTEN
    # the student edits it: regenerating must leave it alone and say so
    edited = nbformat.read(path, as_version=4)
    edited.cells[3].source += "\n# my own note"
    nbformat.write(edited, path)
    before = path.read_text()
    changed = nbformat.read(path, as_version=4)
    changed.cells[1].source = "a newer version from the maintainers"
    assert build.write_student(changed, path) == build.EDITED
    assert path.read_text() == before
    assert "was edited since it was generated" in capsys.readouterr().out
    # a maintainer can force it
    assert build.write_student(changed, path, force=True) == build.WRITTEN
    assert "a newer version" in path.read_text()


def test_a_notebook_not_made_by_the_tool_is_not_overwritten(tmp_path):
    student, _ = _pair()
    path = tmp_path / "01.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), path)
    assert build.write_student(student, path) == build.EDITED
    assert "x = 1" in path.read_text()


# --- the command on a small course of its own ------------------------------------------------------------------------

TINY = """# %% [markdown]
# # {number} · {title}
#
# What this notebook is about.

# %%
import math

# %%
def double(x):
    \"\"\"Twice x.\"\"\"
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION

# %%
print(double(21))
"""


def _write_source(folder, stem, title):
    (folder / f"{stem}.py").write_text(TINY.format(number=stem[:2], title=title))


@pytest.fixture
def course(tmp_path, monkeypatch):
    """A course of three sources (01, 02, 12: a number that contains another) in a temporary folder."""
    notebooks = tmp_path / "notebooks"
    (notebooks / "source").mkdir(parents=True)
    for stem, title in (("01_first", "First"), ("02_second", "Second"), ("12_twelfth", "Twelfth")):
        _write_source(notebooks / "source", stem, title)
    monkeypatch.setattr(build, "NOTEBOOKS", notebooks)
    monkeypatch.setattr(build, "SOURCES", notebooks / "source")
    monkeypatch.setattr(build, "SOLUTIONS", notebooks / "solutions")
    monkeypatch.setattr(build, "MANIFEST", notebooks / ".generated.json", raising=False)  # the old record, if any
    assert build.main(["--no-execute"]) == 0
    return notebooks


def _cells_text(path):
    return "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)


def _built(output):
    return [line.split()[1] for line in output.splitlines() if line.startswith("built ")]


def test_select_takes_a_number_or_the_start_of_a_name():
    order = [Path(f"{stem}.py") for stem in ("01_rnn", "02_vanishing", "07_chat", "12_more")]
    assert build.select(order, ["2"]) == build.select(order, ["02"]) == [order[1]]
    assert build.select(order, ["02_vanishing"]) == build.select(order, ["02_van"]) == [order[1]]
    assert build.select(order, ["notebooks/source/02_vanishing.py"]) == [order[1]]
    assert build.select(order, ["notebooks/solutions/02_vanishing.ipynb"]) == [order[1]]  # a notebook's path works too
    assert build.select(order, ["12"]) == [order[3]] and build.select(order, ["1"]) == [order[0]]  # 1 is not 12
    assert build.select(order, ["7", "1"]) == [order[0], order[2]]
    for wrong in ("3", "vanishing", "0"):
        with pytest.raises(ValueError, match="give a number"):
            build.select(order, [wrong])


def test_a_number_builds_that_notebook_only_not_every_name_containing_it(course, capsys):
    capsys.readouterr()
    assert build.main(["2", "--no-execute"]) == 0
    assert _built(capsys.readouterr().out) == ["02_second.ipynb"]
    assert build.main(["nothing_like_it", "--no-execute"]) == 1
    assert "no notebook source matches 'nothing_like_it'" in capsys.readouterr().out


@pytest.mark.parametrize("broken", ["", '{"cells": [{"cell_type": "mark', "{}"], ids=["empty", "truncated", "no-cells"])
def test_an_unreadable_student_notebook_is_named_and_skipped_and_the_rest_are_built(course, capsys, broken):
    (course / "01_first.ipynb").write_text(broken)
    for stem, title in (("01_first", "First, revised"), ("12_twelfth", "Twelfth, revised")):
        _write_source(course / "source", stem, title)
    capsys.readouterr()
    assert build.main(["--no-execute"]) == 1
    out = capsys.readouterr().out
    assert "01_first.ipynb is not a readable notebook" in out and "skipped" in out
    assert (course / "01_first.ipynb").read_text() == broken  # left as it is
    assert "Twelfth, revised" in _cells_text(course / "12_twelfth.ipynb")  # the notebooks after it were built
    assert _built(out) == ["01_first.ipynb", "02_second.ipynb", "12_twelfth.ipynb"]
    assert "First, revised" in _cells_text(course / "solutions" / "01_first.ipynb")


def test_an_unreadable_solution_is_named_when_only_its_frame_is_refreshed(course, capsys):
    (course / "solutions" / "02_second.ipynb").write_text("")
    capsys.readouterr()
    assert build.main(["1", "--no-execute"]) == 1
    out = capsys.readouterr().out
    assert "02_second.ipynb is not a readable notebook" in out and _built(out) == ["01_first.ipynb"]
    assert any("02_second.ipynb is not a readable notebook" in p for p in build.out_of_sync())


def test_protection_needs_no_record_outside_the_notebook(course, capsys):
    """Rule: a student notebook is overwritten only while its cells are exactly as the tool wrote them."""
    (course / ".generated.json").unlink(missing_ok=True)  # a record beside the notebooks can be lost; nothing breaks
    _write_source(course / "source", "02_second", "Second, renamed")  # its title is in 01's and 12's navigation too
    capsys.readouterr()
    assert build.main(["--no-execute"]) == 0
    assert "edited" not in capsys.readouterr().out
    for stem in ("01_first", "02_second", "12_twelfth"):
        assert "Second, renamed" in _cells_text(course / f"{stem}.ipynb"), stem
    nb = nbformat.read(course / "01_first.ipynb", as_version=4)
    assert nb.metadata[build.STAMP_KEY] == build.fingerprint(nb)


def test_an_edited_student_notebook_is_left_alone_by_the_command(course, capsys):
    edited = nbformat.read(course / "02_second.ipynb", as_version=4)
    edited.cells[4].source = edited.cells[4].source.replace(build.STUB, "return x + x")
    nbformat.write(edited, course / "02_second.ipynb")
    _write_source(course / "source", "02_second", "Second, renamed")
    capsys.readouterr()
    assert build.main(["--no-execute"]) == 0
    assert "02_second.ipynb was edited since it was generated: left as it is" in capsys.readouterr().out
    assert "return x + x" in _cells_text(course / "02_second.ipynb")
    assert "Second, renamed" in _cells_text(course / "12_twelfth.ipynb")


def _save_a_run(path):
    """What Jupyter leaves after Run all + Save: execution counts, outputs, extra metadata; cells unchanged."""
    nb = nbformat.read(path, as_version=4)
    for count, cell in enumerate([c for c in nb.cells if c.cell_type == "code"], 1):
        cell.execution_count = count
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="42\n")] if count == 4 else []
    nb.metadata["language_info"]["version"] = "3.12.3"
    nbformat.write(nb, path)


def test_a_notebook_the_student_only_ran_is_replaced_and_the_command_says_so(course, capsys):
    path = course / "01_first.ipynb"
    _save_a_run(path)
    capsys.readouterr()
    assert build.main(["--no-execute"]) == 0  # nothing new in its source: the student's run is kept
    assert "  ~ " not in capsys.readouterr().out and '"42\\n"' in path.read_text()
    _write_source(course / "source", "01_first", "First, revised")
    assert build.main(["--no-execute"]) == 0
    out = capsys.readouterr().out
    assert "01_first.ipynb: replaced by the new version" in out and "outputs you saved in 4 code cells" in out
    assert "First, revised" in _cells_text(path) and '"42\\n"' not in path.read_text()


def test_a_notebook_the_student_edited_and_ran_is_left_alone(course, capsys):
    """The case that matters most: a student wrote an answer, ran everything and saved. Their answer and outputs stay,
    whatever changed in the source, until they move their copy aside (or a maintainer forces it)."""
    path = course / "01_first.ipynb"
    edited = nbformat.read(path, as_version=4)
    edited.cells[4].source = edited.cells[4].source.replace(build.STUB, "return x + x")
    nbformat.write(edited, path)
    _save_a_run(path)
    saved = path.read_text()
    _write_source(course / "source", "01_first", "First, revised")
    capsys.readouterr()
    assert build.main(["--no-execute"]) == 0
    out = capsys.readouterr().out
    assert "01_first.ipynb was edited since it was generated: left as it is" in out and "replaced" not in out, out
    assert path.read_text() == saved
    assert build.main(["--no-execute", "--force"]) == 0
    assert "First, revised" in _cells_text(path) and "return x + x" not in _cells_text(path)


def _nav(path, where):
    return next(c for c in nbformat.read(path, as_version=4).cells if f"nav-{where}" in c.metadata.get("tags", []))


def test_navigation_links_neighbours_index_and_colab_in_each_version(course):
    slug = build.repository_url().removeprefix("https://github.com/")
    for folder, readme, colab in ((course, "../README.md", "notebooks"),
                                  (course / "solutions", "../../README.md", "notebooks/solutions")):
        first, middle, last = (folder / f"{s}.ipynb" for s in ("01_first", "02_second", "12_twelfth"))
        top = _nav(middle, "top")
        assert top.source.startswith("[← 01 · First](01_first.ipynb) · [Course index](" + readme + ")")
        assert "[12 · Twelfth →](12_twelfth.ipynb)" in top.source
        assert f"colab.research.google.com/github/{slug}/blob/main/{colab}/02_second.ipynb" in top.source
        assert _nav(middle, "bottom").source == top.source
        assert top.metadata["slideshow"] == {"slide_type": "skip"}
        assert "←" not in _nav(first, "top").source and "→" not in _nav(last, "bottom").source
        assert "[02 · Second →](02_second.ipynb)" in _nav(first, "top").source
        assert "[← 02 · Second](02_second.ipynb)" in _nav(last, "bottom").source
        version = "student version (exercises to fill in)" if folder == course else "instructor version (solutions"
        assert f"*{version}" in top.source
        cells = nbformat.read(first, as_version=4).cells
        assert cells[2].metadata["tags"] == ["colab-bootstrap"] and cells[3].source == "import math"  # before code


def test_frames_only_refreshes_navigation_everywhere_and_executes_nothing(course, monkeypatch):
    solution = course / "solutions" / "01_first.ipynb"
    executed = nbformat.read(solution, as_version=4)
    code = [c for c in executed.cells if c.cell_type == "code"]
    code[-1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="42\n")]
    nbformat.write(executed, solution)
    _write_source(course / "source", "02_second", "Second, renamed")
    moved = "https://github.com/someone-else/course-fork"
    monkeypatch.setattr(build, "repository_url", lambda: moved)  # the Colab bootstrap and badges change with it
    monkeypatch.setattr(build, "execute", lambda *a, **k: pytest.fail("--frames-only must execute nothing"))
    assert build.main(["--frames-only", "01"]) == 0  # names are ignored: nothing is executed, every frame refreshed
    for where in ("top", "bottom"):
        assert "[02 · Second, renamed →](02_second.ipynb)" in _nav(solution, where).source, where
        assert "someone-else/course-fork/blob/main/notebooks/solutions/01_first.ipynb" in _nav(solution, where).source
    cells = nbformat.read(solution, as_version=4).cells
    bootstrap = next(c for c in cells if "colab-bootstrap" in c.metadata.get("tags", []))
    assert f'REPO_URL = "{moved}"' in bootstrap.source
    assert nbformat.read(solution, as_version=4).cells[-2].outputs[0].text == "42\n"  # outputs kept
    assert "Second, renamed" in _cells_text(course / "02_second.ipynb")  # student versions fully rebuilt
    assert "Second, renamed" not in _cells_text(course / "solutions" / "02_second.ipynb")  # its body: not rebuilt


def test_executed_solutions_keep_their_figures_even_when_mplbackend_is_set(tmp_path, monkeypatch):
    """CI and many shells export MPLBACKEND=Agg; a kernel that inherits it shows no figure, so none would be stored."""
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import matplotlib.pyplot as plt\nplt.plot([0, 1], [1, 0])\nplt.title('a line')\nplt.show()")])
    build.execute(nb, tmp_path)
    assert any("image/png" in o.get("data", {}) for o in nb.cells[0].outputs), nb.cells[0].outputs


def test_optional_sections_run_to_the_next_heading_of_their_level_and_leave_the_slides():
    cells = [nbformat.v4.new_markdown_cell(text) for text in (
        "# 01 · Title", "## 1 · Core", "text", "## 2 · Extras (optional)", "### 2.1 · Deeper", "more",
        "## 3 · Core again", "### Exercise 4 · backward pass (optional)", "its text", "### Exercise 5 · core")]
    assert build.optional_cells(cells) == [False, False, False, True, True, True, False, True, True, False]


def test_the_core_path_counts_reading_running_and_core_exercises_only(tmp_path):
    from tools import readme

    source = build.sources()[3]  # 04
    _, solution = build.build(source, build.sources())
    code_cells = sum(c.cell_type == "code" for c in solution.cells)
    timings = {f"notebooks/solutions/{source.with_suffix('.ipynb').name}": {"cells": [6.0] * code_cells}}
    reading, running, practice = readme.core_path(source, timings)
    flags = build.optional_cells(solution.cells)
    core_code = sum(1 for c, o in zip(solution.cells, flags, strict=True) if c.cell_type == "code" and not o)
    assert running == pytest.approx(core_code * 6.0 / 60)
    assert 5 < reading < 60 and practice > 0
    assert readme.core_path(source, {}) is None


def test_outputs_saved_without_execution_counts_are_a_run_too(course, capsys):
    """Tools that clear execution counts but keep outputs (nbstripout --keep-output, say) still leave a student's run:
    it is kept while the cells are current, and its loss is announced when a new version replaces it."""
    path = course / "01_first.ipynb"
    _save_a_run(path)
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.execution_count = None
    nbformat.write(nb, path)
    capsys.readouterr()
    assert build.main(["--no-execute"]) == 0
    assert "  ~ " not in capsys.readouterr().out and '"42\\n"' in path.read_text()
    _write_source(course / "source", "01_first", "First, revised")
    assert build.main(["--no-execute"]) == 0
    assert "the outputs you saved in 1 code cells are gone (run it again)" in capsys.readouterr().out


def test_the_edited_notebook_message_tells_the_student_both_ways_out(tmp_path, capsys):
    student, _ = _pair()
    path = tmp_path / "01.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), path)
    assert build.write_student(student, path) == build.EDITED
    assert capsys.readouterr().out.rstrip().endswith(
        "01.ipynb was edited since it was generated: left as it is (move your copy aside, or pass --force to "
        "overwrite it).")
