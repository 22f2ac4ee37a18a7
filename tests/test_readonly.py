"""A read-only course folder works: everything a notebook writes goes to ``utils.data_home()``, never the repository.

The writable-place rule is tested directly (fast). Then the notebook code paths that write (notebook 06 saving a model,
09 writing MIDI, 08 caching a download) run against a read-only bind mount of the repository through
``tests/run_readonly.sh``, the same script CI's student-version nbval run uses. Root ignores file modes, so a read-only
*mount* is the only honest test; those tests are skipped where no mount namespace can be made.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

import utils
from tests import helpers
from utils import ROOT

SCRIPT = ROOT / "tests" / "run_readonly.sh"


@pytest.fixture
def fresh(monkeypatch):
    """No env override, no remembered announcement: each test sees the rule from scratch."""
    monkeypatch.delenv(utils.DATA_HOME_ENV, raising=False)
    monkeypatch.setattr(utils, "_fallback_announced", set())
    return monkeypatch


def test_the_environment_variable_chooses_the_folder(fresh, tmp_path, capsys):
    fresh.setenv(utils.DATA_HOME_ENV, str(tmp_path / "mine"))
    assert utils.data_home() == tmp_path / "mine" and utils.data_home("music", "x") == tmp_path / "mine" / "music" / "x"
    assert (tmp_path / "mine" / "music" / "x").is_dir()
    assert capsys.readouterr().out == ""


def test_the_default_is_the_platforms_user_data_folder(fresh, tmp_path):
    fresh.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    fresh.setattr(sys, "platform", "linux")
    assert utils.data_home() == tmp_path / "xdg" / "rnn-lstm-course"
    fresh.delenv("XDG_DATA_HOME")
    fresh.setenv("HOME", str(tmp_path / "home"))
    assert utils.default_data_home() == tmp_path / "home" / ".local" / "share" / "rnn-lstm-course"
    fresh.setattr(sys, "platform", "win32")
    fresh.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    assert utils.default_data_home() == tmp_path / "local" / "rnn-lstm-course"
    fresh.setattr(sys, "platform", "darwin")
    assert utils.default_data_home() == tmp_path / "home" / "Library" / "Application Support" / "rnn-lstm-course"


def test_notebook_output_folders_are_below_it_never_in_the_repository(fresh, tmp_path):
    from utils import data, music
    from utils import seq2seq as s2s

    fresh.setenv(utils.DATA_HOME_ENV, str(tmp_path))
    assert (music.OUTPUT_DIR, s2s.OUTPUT_DIR, data.cache_dir(), data.CACHE_DIR) == (
        tmp_path / "music", tmp_path / "models", tmp_path / "cache", tmp_path / "cache")
    fresh.delenv(utils.DATA_HOME_ENV)
    for folder in (music.OUTPUT_DIR, s2s.OUTPUT_DIR, data.cache_dir()):
        assert ROOT not in folder.parents


def _unwritable(fresh, tmp_path):
    """A data-home setting that cannot be written: a path below a regular file (fails even for root)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    fresh.setenv(utils.DATA_HOME_ENV, str(blocker / "home"))
    fresh.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    fresh.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    return blocker / "home"


def test_an_unwritable_folder_falls_back_to_a_temporary_one_with_one_line(fresh, tmp_path, capsys):
    wanted = _unwritable(fresh, tmp_path)
    first = utils.data_home("music")
    assert first.parent.parent == tmp_path / "tmp" and first.parent.name.startswith("rnn-lstm-course-")
    assert first.is_dir() and utils.data_home("models").parent == first.parent
    out = capsys.readouterr().out.strip().splitlines()
    assert out == [f"Cannot write to $COURSE_DATA_HOME ({wanted}); files go to {first.parent} for this session "
                   "(set COURSE_DATA_HOME to a writable folder to keep them)."]


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True, reason="root ignores file modes")
def test_a_read_only_folder_by_mode_falls_back(fresh, tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    fresh.setenv(utils.DATA_HOME_ENV, str(locked))
    assert utils.data_home() != locked
    assert "Cannot write to" in capsys.readouterr().out


def _readonly_python(code: str, env: dict) -> subprocess.CompletedProcess:
    return helpers.run([SCRIPT, sys.executable, "-c", code], env=env, ok=None)


@pytest.fixture(scope="module")
def readonly_works():
    probe = subprocess.run([str(SCRIPT), "sh", "-c", f"touch '{ROOT}/.probe' 2>/dev/null && echo writable || echo ro"],
                           capture_output=True, text=True, timeout=60)
    if probe.stdout.strip() != "ro":
        pytest.skip(f"no read-only mount possible here: {probe.stderr.strip() or probe.stdout.strip()}")


def test_run_readonly_really_makes_the_repository_read_only(readonly_works, tmp_path):
    done = _readonly_python(f"open({str(ROOT / 'x.txt')!r}, 'w')", {})
    assert done.returncode != 0 and "Read-only file system" in done.stderr
    assert not (ROOT / "x.txt").exists()


_WRITERS = """
import pandas as pd
from utils import data, music
from utils import seq2seq as s2s
print(music.notes_to_midi([(60, 1), (None, 0.5), (64, 1)], music.OUTPUT_DIR / "t.mid").name)
pair = s2s.build_seq2seq(8, 8, 5, embed_dim=4, units=4)
print(s2s.load_seq2seq(s2s.save_seq2seq(pair, s2s.OUTPUT_DIR / "m.keras")).units)
frame = pd.DataFrame({c: [1.0, 2.0] for c in data.PRICE_COLUMNS}, index=pd.to_datetime(["2024-01-02", "2024-01-03"]))
data._write_cache("MSFT", frame)
print(len(data.load_prices("MSFT", "2024-01-02", "2024-01-03", offline=True)))
"""


def test_notebook_writes_work_from_a_read_only_repository(readonly_works, tmp_path):
    """Before: OSError (read-only file system) in 09's notes_to_midi, 06's save_seq2seq and the download cache."""
    done = _readonly_python(_WRITERS, {utils.DATA_HOME_ENV: str(tmp_path)})
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[0] == "t.mid" and done.stdout.strip().splitlines()[1] == "4"
    assert done.stdout.strip().splitlines()[-1] == "2"
    assert {p.name for p in tmp_path.rglob("*") if p.is_file()} == {"t.mid", "m.keras", "MSFT.csv"}


def test_a_data_home_on_a_read_only_mount_falls_back_with_one_line(readonly_works, tmp_path):
    """$COURSE_DATA_HOME pointing into the read-only repository: files go to a temporary folder, said once."""
    code = ("from utils import music; from utils import seq2seq as s2s; "
            "print(music.notes_to_midi([(60, 1)], music.OUTPUT_DIR / 't.mid').parent.parent); print(s2s.OUTPUT_DIR)")
    done = _readonly_python(code, {utils.DATA_HOME_ENV: str(ROOT / "data"), "TMPDIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith(f"Cannot write to $COURSE_DATA_HOME ({ROOT / 'data'}); files go to")
    assert lines[1].startswith(str(tmp_path)) and lines[2] == f"{lines[1]}/models"
