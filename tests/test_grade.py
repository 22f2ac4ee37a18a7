"""The instructor's grader (tools/grade.py): what it keeps of a notebook, and a whole class graded end to end.

The class (tests/grading_class.py) is written from the student version of notebook 04 when the tests run: students
who deserve every point (in several styles), students with one typical mistake each (they must lose exactly that
exercise's points, with the fault named), the untouched notebook, every way we know to fake a ✅ (none may earn
anything), hostile code (the grader must survive it, and it must not reach the network, the files or the other
submissions), and broken files. The end-to-end tests need bubblewrap (`make unit` installs it where it may).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests import grading_class
from tools import grade, sandbox
from utils import ROOT, tf_log

needs_sandbox = pytest.mark.skipif(sandbox.bubblewrap() is None,
                                   reason="bubblewrap is not installed: `sudo apt-get install bubblewrap` (make unit "
                                          "installs it where it may)")


# --- reading a submission: what is kept, refused and flagged (no process started) ------------------------------------


def _read(tmp_path, nb) -> grade.Extracted:
    path = grading_class.write(tmp_path, "one", nb)
    return grade.read_submission(path, "04")


def test_only_the_definitions_of_exercise_cells_are_kept(tmp_path):
    answer = grading_class.RIGHT["lstm_cell_step"] + "\nimport utils.checks as uc\nuc._verdict = None\nprint('hi')\n"
    extracted = _read(tmp_path, grading_class.submission({"lstm_cell_step": answer},
                                                         extra_cells=(grading_class.TAMPERING["make Report.fail a "
                                                                                              "no-op"],)))
    kept = extracted.cells["04.1"]
    assert "def lstm_cell_step" in kept and "import utils.checks as uc" in kept
    assert "_verdict" not in kept and "print" not in kept and "Report.fail" not in json.dumps(extracted.cells)
    assert any("reaches into the interpreter or the checks" in flag for flag in extracted.flags)


def test_the_last_definition_counts_and_a_missing_answer_is_named(tmp_path):
    first, later = grading_class.ANSWER_TAMPERING["pass once, then redefine the function"]
    extracted = _read(tmp_path, grading_class.submission({"lstm_cell_step": first}, extra_cells=(later,)))
    assert "NotImplementedError" in extracted.cells["04.1"]
    renamed = grading_class.RIGHT["lstm_cell_step"].replace("def lstm_cell_step", "def my_step")
    extracted = _read(tmp_path, grading_class.submission({"lstm_cell_step": renamed}))
    assert "no code cell defines lstm_cell_step" in extracted.missing["04.1"]


def test_an_answer_that_names_the_reference_is_refused(tmp_path):
    code, _ = grading_class.ANSWER_TAMPERING["call the reference"]
    assert _read(tmp_path, grading_class.submission({"lstm_cell_step": code})).refused == {
        "04.1": "utils.lstm.lstm_cell_step"}
    assert _read(tmp_path, grading_class.submission(grading_class.RIGHT)).refused == {}


@pytest.mark.parametrize("text", ["", "{", "lorem", json.dumps({"cells": "x"}), json.dumps([1, 2])])
def test_a_broken_file_is_reported_not_fatal(tmp_path, text):
    path = tmp_path / "bad.ipynb"
    path.write_text(text)
    assert grade.read_submission(path, "04").problem.startswith("not a readable notebook")


def test_submissions_folder_layouts_duplicates_and_stray_files(tmp_path):
    nb = json.dumps(grading_class.submission({}))
    (tmp_path / "Ada Lovelace_1234_assignsubmission_file_").mkdir()
    (tmp_path / "Ada Lovelace_1234_assignsubmission_file_" / "04.ipynb").write_text(nb)
    (tmp_path / "bob.ipynb").write_text(nb)
    (tmp_path / "bob").mkdir()
    (tmp_path / "bob" / "04 (1).ipynb").write_text(nb)
    (tmp_path / "notes.pdf").write_text("%PDF")
    (tmp_path / "empty-folder").mkdir()
    subs, remarks = grade.collect(tmp_path)
    assert [s.student for s in subs] == ["Ada_Lovelace_1234_assignsubmission_file", "bob"]
    assert "2 notebooks for this student" in subs[1].notes[0]
    assert remarks == ["empty-folder/: no notebook inside: skipped", "notes.pdf: not a notebook (.ipynb): skipped"]


# --- a class graded end to end ---------------------------------------------------------------------------------------


def _fingerprint(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path).encode() + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade the whole test class once (two at a time, 20 s per call); the results, what each deserved, the folders."""
    root = tmp_path_factory.mktemp("class")
    submissions, out = root / "submissions", root / "grades"
    deserved = grading_class.honest_class(submissions)
    deserved |= grading_class.tampering_class(submissions)
    deserved |= grading_class.hostile_class(submissions, other=submissions / "strong-solution.ipynb")
    (submissions / "README.txt").write_text("stray")
    before = {"course": _fingerprint(ROOT / "utils") + _fingerprint(ROOT / "data"),
              "submissions": _fingerprint(submissions)}
    with open(root / "stderr.txt", "wb+") as stderr:  # what the grader's processes write to the terminal's stderr
        saved = os.dup(2)
        os.dup2(stderr.fileno(), 2)
        try:
            code = grade.main(["04", str(submissions), "--out", str(out), "--jobs", "2", "--timeout", "20",
                               "--salt", "t"])
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        stderr.seek(0)
        printed = stderr.read().decode("utf-8", errors="replace")
    with open(out / "grades.csv", encoding="utf-8") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    return {"code": code, "rows": rows, "deserved": deserved, "out": out, "before": before,
            "submissions": submissions, "stderr": printed}


def _points(row) -> dict[str, float]:
    columns = [c for c in row if c.startswith("Exercise ")]
    return {f"04.{c.split()[1]}": float(row[c]) for c in columns}


@needs_sandbox
def test_every_student_gets_exactly_the_points_deserved(graded):
    assert graded["code"] == 0
    wrong = {student: (_points(graded["rows"][student]), want["points"])
             for student, want in graded["deserved"].items() if _points(graded["rows"][student]) != want["points"]}
    assert not wrong, wrong


@needs_sandbox
def test_every_row_says_what_the_total_is_out_of(graded):
    """04's core exercises give 4 + 3 + 3 points; the optional fourth (2) is a bonus on top, and its column says so."""
    rows = list(graded["rows"].values())
    assert {row["out of"] for row in rows} == {"10"}
    assert "Exercise 4 · lstm_cell_backward (2, optional)" in rows[0]
    assert max(float(row["total"]) for row in rows) == 12


@needs_sandbox
def test_a_mistake_is_named_in_the_feedback_and_the_summary(graded):
    feedback = (graded["out"] / "feedback" / "weak-gates-swapped.md").read_text()
    assert "input gate i_t and forget gate f_t" in feedback and "0 of 4 points" in feedback
    summary = (graded["out"] / "summary.md").read_text()
    assert "input gate i_t and forget gate f_t" in summary
    assert "README.txt: not a notebook" in summary
    page = (graded["out"] / "summary.html").read_text()
    assert "alt='Bar chart of the share of students whose answer passed" in page


@needs_sandbox
def test_hostile_code_harms_nothing_and_is_marked(graded):
    rows, out = graded["rows"], graded["out"]
    assert _fingerprint(ROOT / "utils") + _fingerprint(ROOT / "data") == graded["before"]["course"]
    assert _fingerprint(graded["submissions"]) == graded["before"]["submissions"]
    assert rows["hostile-0"]["status"] == "timed out"  # loops forever
    by_name = {want["what"]: student for student, want in graded["deserved"].items() if "what" in want}
    feedback = {what: (out / "feedback" / f"{student}.md").read_text() for what, student in by_name.items()}
    assert "MemoryError" in feedback["allocates 20 GB"]
    assert "gaierror" in feedback["opens a socket"] or "Network is unreachable" in feedback["opens a socket"]
    assert "Read-only file system" in feedback["deletes and overwrites files"]
    assert "No such file or directory" in feedback["reads another submission"]
    assert rows[by_name["kills its parent"]]["total"] == "8"


@needs_sandbox
def test_no_way_of_faking_a_tick_earns_a_point(graded):
    for student, want in graded["deserved"].items():
        if student.startswith(("tamper-", "cheat-")):
            assert graded["rows"][student]["total"] == "0", (want["what"], graded["rows"][student])
    flagged = (graded["out"] / "summary.md").read_text().split("## Needs a human look")[1]
    assert "cheat-1" in flagged and "cheat-2" in flagged  # frame reading, gc: flagged for a look


@needs_sandbox
def test_broken_files_are_graded_zero_and_reported(graded):
    rows = graded["rows"]
    for what in ("empty", "truncated", "not-a-notebook"):
        assert rows[f"broken-{what}"]["status"] == "unreadable"
    assert "looks like notebook 03" in rows["broken-another-notebook"]["notes"]


# --- Gradescope ------------------------------------------------------------------------------------------------------


@needs_sandbox
def test_the_gradescope_autograder_runs_as_gradescope_lays_it_out(tmp_path):
    archive = grade.gradescope_zip("04", tmp_path)
    root = tmp_path / "autograder"
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
        assert {"setup.sh", "run_autograder", "source/tools/grade.py", "source/utils/checks/lstm.py"} <= set(names)
        zipped.extractall(root)
    for script in ("setup.sh", "run_autograder"):
        (root / script).chmod(0o755)
    (root / "submission").mkdir()
    grading_class.write(root / "submission", "my_notebook", grading_class.submission(
        {**grading_class.RIGHT, "lstm_forward": grading_class.FORWARD_LAST_ONLY}))
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable}
    env.pop("PYTHONPATH", None)
    run = subprocess.run([str(root / "run_autograder")], env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 9
    assert [(t["name"], t["score"], t["max_score"]) for t in results["tests"]] == [
        ("Exercise 1 · lstm_cell_step", 4, 4), ("Exercise 2 · lstm_forward", 0, 3),
        ("Exercise 3 · HomeMadeLSTMCell", 3, 3), ("Exercise 4 · lstm_cell_backward", 2, 2)]
    assert all(set(t) >= {"name", "score", "max_score", "output", "visibility"} for t in results["tests"])
    shutil.rmtree(root)


@needs_sandbox
def test_the_instructors_terminal_shows_no_tensorflow_start_up_noise(graded):
    """Each grading slot loads TensorFlow: its CUDA probe ("E0000 ... failed call to cuInit", which reads as an error
    of the grading run) must not reach the instructor's terminal."""
    noise = [line for line in graded["stderr"].splitlines() if tf_log.noise_name(line)]
    assert not noise, f"TensorFlow's start-up lines reached the terminal: {noise}"


def test_grades_go_to_the_user_data_folder_when_the_course_folder_cannot_be_written(tmp_path, monkeypatch, capsys):
    """An instructor grading from a read-only course copy gets the outputs in their own data folder, told where."""
    blocked = tmp_path / "read-only-course"
    blocked.write_text("a file where build/ would be: nothing can be created below it")
    monkeypatch.setattr(grade, "OUT", blocked / "build" / "grades")
    monkeypatch.setenv("COURSE_DATA_HOME", str(tmp_path / "home"))
    out = grade.default_out("04")
    assert out == tmp_path / "home" / "grades" / "04" and out.is_dir()
    assert "read-only" in capsys.readouterr().out
    monkeypatch.setattr(grade, "OUT", tmp_path / "writable" / "grades")
    assert grade.default_out("04") == tmp_path / "writable" / "grades" / "04"
