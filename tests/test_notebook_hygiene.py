"""Notebook hygiene: valid, clean, executed top to bottom, portable, navigable, one repository URL, linted."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import nbformat
import pytest

from utils import ROOT, readme
from utils.build_notebooks import KERNELSPEC, NOTEBOOKS, SOLUTIONS, repository_url

STUDENT = sorted(NOTEBOOKS.glob("*.ipynb"))
SOLUTION = sorted(SOLUTIONS.glob("*.ipynb"))
ALL = STUDENT + SOLUTION
MACHINE_PATH = re.compile(r"(/work/|/root/|/home/\w+|/tmp/|/Users/\w+|[A-Z]:\\\\Users)")


def _read(path):
    return nbformat.read(path, as_version=4)


def _ids(paths):
    return [p.relative_to(ROOT).as_posix() for p in paths]


@pytest.mark.parametrize("path", ALL, ids=_ids(ALL))
def test_valid_portable_and_small(path):
    nb = _read(path)
    nbformat.validate(nb)
    assert nb.metadata == {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    assert path.stat().st_size < 3_000_000, "keep notebooks small: lower dpi, shorter audio"
    for cell in nb.cells:
        texts = [cell.source] + [o.get("text", "") for o in cell.get("outputs", [])]
        texts += [str(o.get("data", {}).get("text/plain", "")) for o in cell.get("outputs", [])]
        for text in texts:
            hit = MACHINE_PATH.search(text)
            assert not hit, f"{path.name}: machine-specific path {hit.group(0)!r} in cell {cell.id}"
        assert not any(o.get("output_type") == "error" for o in cell.get("outputs", [])), f"error stored in {cell.id}"


@pytest.mark.parametrize("path", SOLUTION, ids=_ids(SOLUTION))
def test_solutions_were_executed_top_to_bottom(path):
    code = [c for c in _read(path).cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))


@pytest.mark.parametrize("path", STUDENT, ids=_ids(STUDENT))
def test_student_versions_have_no_outputs(path):
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in _read(path).cells
               if c.cell_type == "code")


@pytest.mark.parametrize("path", ALL, ids=_ids(ALL))
def test_navigation_and_colab_links_use_the_one_repository_url(path):
    nb = _read(path)
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


def test_ruff_is_clean_on_utils_tests_and_notebooks():
    ruff = shutil.which("ruff") or str(ROOT / ".venv" / "bin" / "ruff")
    done = subprocess.run([ruff, "check", "utils", "tests", "notebooks"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]


def test_python_version_matches_pyproject():
    assert sys.version_info >= (3, 11)
