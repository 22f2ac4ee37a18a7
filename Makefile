# Two commands do everything on a fresh machine (see README): `make lab` and `make test`.
# Both create the virtual environment .venv from requirements.txt first if it is missing or out of date; `make test`
# also creates .venv-colab (Colab's versions, tests/colab-constraints.txt) and runs the solution notebooks in it.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
NB     ?=
# nbval: only cells tagged `nbval-check-output` are compared; every cell must run without error within the timeout.
NBVAL  := -p tests.nbval_plugin --nbval-lax --nbval-current-env --nbval-cell-timeout=120 \
          --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider
# pytest-xdist: notebooks run JOBS at a time and unit tests UNIT_JOBS at a time, each notebook (each test file) whole in
# one worker, so a notebook's kernel and a module's fixtures are set up once; 0 runs them one at a time in pytest's own
# process. The unit tests wait on subprocesses much of the time (sandboxes, kernels, make): three workers keep two
# cores busy.
JOBS   ?= 2
UNIT_JOBS ?= 3
XDIST  := -n $(JOBS) --dist loadfile
# Where a notebook run writes each notebook's time: `make test` runs two notebooks at a time, which makes each slower
# than alone, so README's table comes from `make timings` (one at a time, build/timings.json) instead.
TIMINGS ?= build/timings-test.json
# A fresh, empty data folder for one notebook run, under build/ (nothing is left behind in /tmp, and after a failure
# the run's downloads and caches can be looked at): COURSE_DATA_HOME="$(call data_home,solutions)".
data_home = $$(rm -rf build/data-home/$(1) && mkdir -p build/data-home/$(1) && cd build/data-home/$(1) && pwd)
# The two environments take about 3 GB each (TensorFlow): a warning before pip runs out of disk half-way.
define disk_check
@free=$$(df -Pk . | awk 'NR == 2 {print int($$4 / 1048576)}'); [ "$$free" -ge 4 ] || \
  echo "Warning: $$free GB free on this disk, and $(1) needs about 3.5 GB: if pip stops with 'No space left on\
 device', free some space (old clones with their .venv folders?) and run make again."
endef
# JupyterLab refuses to start as root ("Running as root is not recommended") unless told: containers often run as root.
ALLOW_ROOT = $(if $(filter 0,$(shell id -u)),--allow-root)

# Colab's stack: Python 3.13 and the versions pinned in tests/colab-constraints.txt, in a second venv.
COLAB_VENV        ?= .venv-colab
COLAB_CONSTRAINTS := tests/colab-constraints.txt
COLAB_STAMP       := $(COLAB_VENV)/.installed
# python3.13 on PATH, else pyenv's 3.13 (its shim answers only when 3.13 is the selected version); or COLAB_PYTHON=...
COLAB_PYTHON      ?= $(firstword $(foreach p,python3.13 $(wildcard $(shell pyenv root 2>/dev/null)/versions/3.13*/bin/python3.13),\
                       $(shell $(p) -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null && echo $(p))))

.PHONY: venv venv-colab venvs lab test unit browser-tests nbval-solutions nbval-students nbval-colab notebooks \
        check-notebooks slides browser book clean seeds sandbox grade grade-benchmark mutation timings

$(STAMP): requirements.txt pyproject.toml
	$(if $(wildcard $(STAMP)),,$(call disk_check,$(VENV)))
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

## Open the notebooks in JupyterLab (extra options: make lab LAB_ARGS="--no-browser --port 8890")
lab: $(STAMP)
	@$(if $(ALLOW_ROOT),echo "Running as root (a container?): starting JupyterLab with --allow-root")
	$(VENV)/bin/jupyter lab notebooks/ $(ALLOW_ROOT) $(LAB_ARGS)

## Everything CI runs: the unit tests; the slide decks, the website and the nine student notebooks in a browser (the
## student notebooks in JupyterLab, from a read-only view of the repository); then the solution notebooks under nbval,
## from a read-only view, and again on Colab's versions with other seeds. `make nbval-students` runs the student
## versions under nbval too; `make test` leaves it out, since the JupyterLab test runs the same notebooks in the same
## quick mode and checks more (no stderr, no verdict against the text, widgets, audio, progress).
test: venvs
	@$(MAKE) --no-print-directory unit browser-tests nbval-solutions nbval-colab

# Both environments at once, since each pip install keeps about one core busy.
venvs:
	@$(MAKE) --no-print-directory -j2 $(STAMP) $(COLAB_STAMP)

# Unit tests need only the environment (and bubblewrap, for the grader's tests): the tests marked `browser` (slide decks,
# the website, JupyterLab) run in browser-tests.
unit: $(STAMP) sandbox
	$(PY) -m pytest tests -m "not browser" -p no:cacheprovider -n $(UNIT_JOBS) --dist loadfile

## The tests marked `browser`: build the slide decks and the website, install Chromium where we may, and read them
## headless with the network blocked (requests, console errors, math, audio, search, axe-core); then run the nine
## student notebooks in the project's JupyterLab as a student would (Run All, no stderr, widgets, audio, progress),
## with one screenshot each in build/jupyterlab/. The repository is read-only meanwhile (build/ excepted), as the
## course copy on a shared JupyterHub is: nothing a student notebook does may write into it.
browser-tests: slides book browser
	tests/run_readonly.sh --writable build $(PY) -m pytest tests -m browser -p no:cacheprovider

# Each notebook run gets a fresh data folder (COURSE_DATA_HOME), so a cache left by an earlier online run cannot change
# the offline results. Both run from a read-only view of the repository (build/ excepted), as an instructor's course
# copy on a shared server is: nothing a notebook does may write into it.
nbval-solutions: $(STAMP)
	COURSE_TIMINGS=$(TIMINGS) COURSE_DATA_HOME="$(call data_home,solutions)" tests/run_readonly.sh --writable build \
	  $(PY) -m pytest $(NBVAL) $(XDIST) notebooks/solutions/

# Student versions run with COURSE_QUICK=1 (the same code with fewer training epochs, see utils/course.py).
nbval-students: $(STAMP)
	COURSE_QUICK=1 COURSE_TIMINGS=$(TIMINGS) COURSE_DATA_HOME="$(call data_home,students)" tests/run_readonly.sh --writable build \
	  $(PY) -m pytest $(NBVAL) $(XDIST) notebooks/*.ipynb

## README's notebook table: the solutions, then the student versions, one notebook at a time (run it with nothing else
## on the machine), into build/timings.json; then the table is written from it (python -m tools.readme)
timings: $(STAMP)
	rm -f build/timings.json
	$(MAKE) --no-print-directory nbval-solutions nbval-students JOBS=0 TIMINGS=build/timings.json
	$(PY) -m tools.readme

$(COLAB_STAMP): requirements.txt pyproject.toml $(COLAB_CONSTRAINTS)
	@test -n "$(COLAB_PYTHON)" || { echo "Colab's stack needs Python 3.13: install it (e.g. pyenv install 3.13)," \
	  "or pass COLAB_PYTHON=/path/to/python3.13"; exit 1; }
	$(if $(wildcard $(COLAB_STAMP)),,$(call disk_check,$(COLAB_VENV)))
	test -x $(COLAB_VENV)/bin/python || $(COLAB_PYTHON) -m venv $(COLAB_VENV)
	$(COLAB_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(COLAB_VENV)/bin/python -m pip install --quiet -r requirements.txt -c $(COLAB_CONSTRAINTS)
	touch $(COLAB_STAMP)

## A second venv with Colab's versions (Python 3.13, tests/colab-constraints.txt)
venv-colab: $(COLAB_STAMP)

export COLAB_VERSIONS := import sys; from importlib.metadata import version; print("Colab stack: Python", \
  sys.version.split()[0], *(f"{n} {version(n)}" for n in "tensorflow keras numpy pandas yfinance music21".split()))

## The solution notebooks again, on Colab's versions and with other seeds (COURSE_SEED_SHIFT=1): stored outputs are
## not compared, every cell must run and every verdict of the text must hold (timings go to build/timings-colab.json)
nbval-colab: $(COLAB_STAMP)
	@$(COLAB_VENV)/bin/python -c "$$COLAB_VERSIONS"
	COURSE_SEED_SHIFT=1 COURSE_TIMINGS=build/timings-colab.json COURSE_DATA_HOME="$(call data_home,colab)" \
	  $(COLAB_VENV)/bin/python -m pytest $(NBVAL) $(XDIST) notebooks/solutions/

## Every notebook again with other seeds: the student versions in full mode (exercises left undone) with the
## notebooks' own seeds, then solutions and student versions with the seeds shifted (COURSE_SEED_SHIFT=1, then 2).
## Outputs are not compared (the numbers move with the seeds); a claim of the text that does not hold fails the run.
SHIFTS ?= 1 2
seeds: $(STAMP)
	COURSE_TIMINGS=build/timings-students-full.json COURSE_DATA_HOME="$(call data_home,students-full)" \
	  $(PY) -m pytest $(NBVAL) $(XDIST) notebooks/*.ipynb
	for shift in $(SHIFTS); do \
	  COURSE_SEED_SHIFT=$$shift COURSE_TIMINGS=build/timings-seed$$shift.json COURSE_DATA_HOME="$(call data_home,seed$$shift)" \
	    $(PY) -m pytest $(NBVAL) $(XDIST) notebooks/solutions/ notebooks/*.ipynb || exit 1; \
	done

## Regenerate student + solution notebooks from notebooks/source/ and execute the solutions (make notebooks NB=01)
notebooks: $(STAMP)
	COURSE_OFFLINE=1 $(PY) -m tools.build_notebooks $(NB)

## Slide decks for presenting, with reveal.js / MathJax copied locally (npm, once): open build/slides/*.slides.html
slides: $(STAMP)
	$(PY) -m tools.slides

# Debian's Chromium for the tests that render a page headless. Installed only where we may (root + apt-get);
# elsewhere those tests are skipped with a message.
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "chromium is not installed: the tests that render in it will be skipped"

# Debian's bubblewrap, which isolates the submissions the grader runs. Installed only where we may (root + apt-get);
# elsewhere the grader's end-to-end tests are skipped with a message.
sandbox:
	@command -v bwrap >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; } || \
	  echo "bubblewrap is not installed: the grader cannot isolate submissions, and its tests will be skipped"

## Grade a folder of submitted notebooks: make grade NB=04 SUBMISSIONS=path/to/folder (writes build/grades/04/)
grade: $(STAMP) sandbox
	@test -n "$(NB)" -a -n "$(SUBMISSIONS)" || { echo "usage: make grade NB=04 SUBMISSIONS=path/to/folder"; exit 2; }
	$(PY) -m tools.grade $(NB) $(SUBMISSIONS)

## The grader's benchmark: 100 synthetic submissions of notebook 04, two at a time (README reports the result)
grade-benchmark: $(STAMP) sandbox
	rm -rf build/benchmark-class && $(PY) -m tests.grading_class build/benchmark-class --size 100
	/usr/bin/time -v $(PY) -m tools.grade 04 build/benchmark-class --out build/grades/benchmark --jobs 2 2>&1 | \
	  grep -E "graded|Elapsed|Maximum resident"

MUTATION_STAMP := $(VENV)/.mutation-installed
$(MUTATION_STAMP): $(STAMP) requirements-mutation.txt
	$(PY) -m pip install --quiet -r requirements-mutation.txt
	touch $(MUTATION_STAMP)

## Mutation testing of the checks framework, course (claims, seeds, quick mode), the price sources and cache, the
## decoders and the builder's protection rule (tools/mutation.py; CONTRIBUTING gives its time and score). Not part of
## `make test`. One module: make mutation MODULES=utils.data
mutation: $(MUTATION_STAMP)
	$(PY) -m tools.mutation $(MODULES)

## The course as a website, offline: build/book/index.html (Sphinx + myst-nb; MathJax and axe-core from npm, once)
book: $(STAMP)
	$(PY) -m tools.book

check-notebooks: $(STAMP)
	$(PY) -m tools.build_notebooks --check

clean:
	rm -rf $(VENV) $(COLAB_VENV) .pytest_cache .ruff_cache build
