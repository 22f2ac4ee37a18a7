"""The exercise mechanism: one source per notebook -> student + solution versions; sync; never overwrite edits."""

from __future__ import annotations

import nbformat
import pytest

from utils import build_notebooks as build

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
        assert not any("NBVAL_CHECK_OUTPUT" in c.source for c in code)
        if build.BEGIN in source.read_text():
            assert any(build.STUB in c.source for c in code), f"{source.name} has exercises but no stubs"


def _pair():
    order = build.sources()
    return build.build(order[0], order)


def test_regenerating_never_overwrites_an_edited_student_notebook(tmp_path, capsys):
    student, _ = _pair()
    path, manifest = tmp_path / "01.ipynb", {}
    assert build.write_student(student, path, manifest, force=False)
    # unchanged since generated: may be rewritten
    assert build.write_student(student, path, manifest, force=False)
    # the student edits it: regenerating must leave it alone and say so
    edited = nbformat.read(path, as_version=4)
    edited.cells[3].source += "\n# my own note"
    nbformat.write(edited, path)
    before = path.read_text()
    changed = nbformat.read(path, as_version=4)
    changed.cells[1].source = "a newer version from the maintainers"
    assert build.write_student(changed, path, manifest, force=False) is False
    assert path.read_text() == before
    assert "was edited since it was generated" in capsys.readouterr().out
    # a maintainer can force it
    assert build.write_student(changed, path, manifest, force=True)
    assert "a newer version" in path.read_text()


def test_a_notebook_not_made_by_the_tool_is_not_overwritten(tmp_path):
    student, _ = _pair()
    path = tmp_path / "01.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), path)
    assert build.write_student(student, path, {}, force=False) is False
    assert "x = 1" in path.read_text()
