"""Build reveal.js slide decks from the instructor notebooks, working with no internet in the room.

    make slides                     # = python -m tools.slides: every notebook -> build/slides/NN_name.slides.html
    python -m tools.slides 03       # one notebook

nbconvert's slides exporter loads reveal.js, MathJax, require.js and jQuery from CDNs by default. Here they come from
a local copy installed once from the npm registry into ``build/slides/vendor/`` (git-ignored), so the folder
``build/slides/`` can be copied to a USB stick and opened in any browser offline. Slide boundaries come from the cells'
``slideshow`` metadata, which ``tools.build_notebooks`` sets: headings start slides, long code cells sub-slides, and
navigation / Colab cells are skipped.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tools.build_notebooks import SOLUTIONS
from utils import ROOT

OUT = ROOT / "build" / "slides"
VENDOR = OUT / "vendor"
#: npm packages and the path, inside the vendor folder, of what nbconvert's template needs from each.
PACKAGES = {
    "reveal.js@4.0.2": "node_modules/reveal.js",  # the version nbconvert 7's reveal template is written for
    "mathjax@2.7.9": "node_modules/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe",
    "requirejs@2.3.7": "node_modules/requirejs/require.js",
    "jquery@3.7.1": "node_modules/jquery/dist/jquery.min.js",
}


def install_vendor(packages: dict[str, str] = PACKAGES, vendor: Path = VENDOR, what: str = "`make slides`") -> None:
    """Install front-end packages from the npm registry into ``vendor``, once (skipped when already there).

    ``packages`` maps an npm spec to the path of a file it provides; the book (tools/book.py) passes its own.
    """
    if all((vendor / path.split("?")[0]).exists() for path in packages.values()):
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(f"{what} needs npm (Node.js) once, to fetch {', '.join(packages)} for offline use")
    vendor.mkdir(parents=True, exist_ok=True)
    subprocess.run([npm, "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(vendor), *packages],
                   check=True)


def build_deck(notebook: Path, out_dir: Path = OUT) -> Path:
    """Write ``out_dir/<name>.slides.html`` for one executed notebook; assets are referenced relative to it."""
    import nbformat
    from nbconvert import SlidesExporter
    from traitlets.config import Config

    prefix = Path("vendor") if out_dir == OUT else Path(VENDOR).resolve()
    urls = {spec: (prefix / path).as_posix() for spec, path in PACKAGES.items()}
    config = Config()
    config.SlidesExporter.reveal_url_prefix = urls["reveal.js@4.0.2"]
    config.SlidesExporter.mathjax_url = urls["mathjax@2.7.9"]
    config.SlidesExporter.require_js_url = urls["requirejs@2.3.7"]
    config.SlidesExporter.jquery_url = urls["jquery@3.7.1"]
    config.SlidesExporter.reveal_scroll = True  # long slides scroll instead of being cut off
    config.SlidesExporter.exclude_input_prompt = True
    config.SlidesExporter.exclude_output_prompt = True
    nb = nbformat.read(notebook, as_version=4)
    html, _ = SlidesExporter(config=config).from_notebook_node(nb)
    html = _MERMAID.sub("", html)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{notebook.stem}.slides.html"
    target.write_text(html)
    return target


#: nbconvert >= 7.17 adds a script that imports Mermaid (diagrams in Markdown) from a CDN. No notebook here uses
#: Mermaid, and a browser won't import an ES module from a file:// page anyway, so the block is removed.
_MERMAID = re.compile(r"<script type=\"module\">\s*import mermaid from .*?</script>", flags=re.S)


def external_assets(html: str) -> list[str]:
    """Scripts, modules and stylesheets the page would fetch from the internet (links a reader clicks don't count)."""
    tags = re.findall(r"<(?:script|link)[^>]+(?:src|href)=[\"'](https?://[^\"']+)", html)
    modules = re.findall(r"\bimport\b[^;\n]*?from\s+[\"'](https?://[^\"']+)", html)
    return tags + modules


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="notebook numbers or names (default: all)")
    args = parser.parse_args(argv)
    install_vendor()
    notebooks = [p for p in sorted(SOLUTIONS.glob("*.ipynb")) if not args.names or any(n in p.stem for n in args.names)]
    for notebook in notebooks:
        deck = build_deck(notebook)
        remote = external_assets(deck.read_text())
        print(f"{deck.relative_to(ROOT)}" + (f"  (still loads from the internet: {remote})" if remote else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
