"""Bundled data files match the sha256 sums documented in data/README.md, and every data file is documented."""

from __future__ import annotations

import hashlib
import re

from utils import DATA_DIR

README = (DATA_DIR / "README.md").read_text()
DOCUMENTED = dict(re.findall(r"^## `([^`]+)`.*?\*\*sha256:\*\*\s*`([0-9a-f]{64})`", README, flags=re.M | re.S))


def test_documented_files_exist_and_match_their_checksums():
    assert "msft.tar.gz" in DOCUMENTED and "stocks.csv" in DOCUMENTED
    for name, digest in DOCUMENTED.items():
        path = DATA_DIR / name
        assert path.exists(), f"data/README.md documents {name}, which is missing"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, f"{name} changed: update data/README.md"


def test_every_bundled_file_is_documented():
    shipped = {p.relative_to(DATA_DIR).as_posix() for p in DATA_DIR.rglob("*")
               if p.is_file() and "cache" not in p.parts and p.name != "README.md" and not p.name.startswith(".")}
    undocumented = shipped - set(DOCUMENTED)
    assert not undocumented, f"add a section with source, license and sha256 to data/README.md for {undocumented}"
