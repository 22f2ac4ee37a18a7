"""The unit tests pass whatever the machine running them holds (tests/conftest.py isolates them).

A maintainer's machine is hostile on purpose here: a stale two-row ``MSFT.csv`` in the course's default data folder
(``~/.local/share/rnn-lstm-course/cache``, in a home folder of the test's own, never the real one) and every course
switch exported with a value that would change results: strict checks (as when debugging CI's solution run), quick
mode, online mode with a time limit that is not a number, a seed shift. The test files that once failed on such a
machine run in a fresh pytest process and pass, and the user's data folder is left exactly as it was. Left out, for
time: the three tests of ``test_data.py`` that only start TensorFlow in a child interpreter to probe curl_cffi (about
15 s; they read neither a data folder nor a course switch).
"""

from __future__ import annotations

import sys

from tests import helpers

AFFECTED = ["tests/test_data.py", "tests/test_checks_framework.py", "tests/test_rnn.py",
            "tests/test_checks_odd_answers.py"]
WITHOUT_TENSORFLOW_PROBES = "not impersonation and not tensorflow_first_is_detected"
STALE_CACHE = "Date,Open,High,Low,Close,Volume\n2010-01-04,1.0,1.0,1.0,1.0,1\n2015-01-02,2.0,2.0,2.0,2.0,2\n"
HOSTILE = {"COURSE_STRICT_CHECKS": "1", "COURSE_QUICK": "1", "COURSE_OFFLINE": "0", "COURSE_DOWNLOAD_TIMEOUT": "abc",
           "COURSE_SEED_SHIFT": "7", "COURSE_DATA_HOME": None, "XDG_DATA_HOME": None}


def _hostile_machine(tmp_path):
    """A home folder whose default course data folder holds a stale cache; the environment that points at it."""
    home = tmp_path / "home"
    cache = home / ".local" / "share" / "rnn-lstm-course" / "cache"
    cache.mkdir(parents=True)
    (cache / "MSFT.csv").write_text(STALE_CACHE)
    return home, {**HOSTILE, "HOME": str(home)}


def _files_below(folder):
    return sorted((p.relative_to(folder).as_posix(), p.read_bytes()) for p in folder.rglob("*") if p.is_file())


def test_the_affected_test_files_pass_on_a_hostile_machine_and_leave_the_users_data_alone(tmp_path):
    home, env = _hostile_machine(tmp_path)
    before = _files_below(home)
    done = helpers.run([sys.executable, "-m", "pytest", *AFFECTED, "-k", WITHOUT_TENSORFLOW_PROBES, "-q", "-p",
                        "no:cacheprovider"], env=env, ok=None, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:]
    assert _files_below(home) == before, "a test wrote into the user's home folder"


def test_without_the_isolation_the_same_machine_breaks_tests(tmp_path):
    """The control: with tests/conftest.py switched off (--noconftest), that machine does change results."""
    _, env = _hostile_machine(tmp_path)
    done = helpers.run([sys.executable, "-m", "pytest", "tests/test_checks_framework.py",
                        "tests/test_data.py::test_bundled_msft_matches_its_documented_shape", "-q", "-p",
                        "no:cacheprovider", "--noconftest"], env=env, ok=False, timeout=300)
    assert "SolutionCheckFailed" in done.stdout, done.stdout[-3000:]
    assert "$COURSE_DOWNLOAD_TIMEOUT must be a positive number" in done.stdout, done.stdout[-3000:]
