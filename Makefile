# Two commands do everything on a fresh machine (see README): `make lab` and `make test`.
# Both create the virtual environment .venv from requirements.txt first if it is missing or out of date.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
NB     ?=
# nbval: only cells marked `# NBVAL_CHECK_OUTPUT` are compared; every cell must run without error within the timeout.
NBVAL  := -p tests.nbval_plugin --nbval-lax --nbval-current-env --nbval-cell-timeout=120 \
          --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider

.PHONY: venv lab test unit nbval-solutions nbval-students notebooks check-notebooks slides browser clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

## Open the notebooks in JupyterLab (extra options: make lab LAB_ARGS="--no-browser --port 8890")
lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/ $(LAB_ARGS)

## Everything CI runs: unit tests (slides included), then every notebook under nbval (solutions, then student versions)
test: unit nbval-solutions nbval-students

unit: $(STAMP) slides browser
	$(PY) -m pytest tests -p no:cacheprovider

nbval-solutions: $(STAMP)
	$(PY) -m pytest $(NBVAL) notebooks/solutions/

# Student versions run with COURSE_QUICK=1: the same code with fewer training epochs (see utils/course.py).
nbval-students: $(STAMP)
	COURSE_QUICK=1 $(PY) -m pytest $(NBVAL) notebooks/*.ipynb

## Regenerate student + solution notebooks from notebooks/source/ and execute the solutions (make notebooks NB=01)
notebooks: $(STAMP)
	COURSE_OFFLINE=1 $(PY) -m utils.build_notebooks $(NB)

## Slide decks for presenting, with reveal.js / MathJax copied locally (npm, once): open build/slides/*.slides.html
slides: $(STAMP)
	$(PY) -m utils.slides

# Debian's Chromium for the test that renders a slide deck headless. Installed only where we may (root + apt-get);
# elsewhere that one test is skipped with a message.
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "chromium is not installed: the slide rendering test will be skipped"

check-notebooks: $(STAMP)
	$(PY) -m utils.build_notebooks --check

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache data/cache output build
