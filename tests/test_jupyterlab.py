"""The student's JupyterLab, in a real browser: each student notebook runs to the end and shows what the course shows.

The project's own JupyterLab (the ``jupyter`` of the venv running the tests) serves a temporary copy of
``notebooks/*.ipynb`` on loopback, with no token, ``--expose-app-in-browser``, and its Jupyter, JupyterLab and IPython
folders in a temporary directory, so neither the repository nor the maintainer's own settings take part. Kernels run as
a student's do, with two differences that CI needs: ``COURSE_QUICK=1`` (fewer epochs, the same code) and a fresh
``COURSE_DATA_HOME``. ``MPLBACKEND`` is removed (CI exports ``Agg``), so figures come from the inline backend as in a
student's JupyterLab.

Headless Chromium (tests/browser.py, network blocked beyond loopback) opens each notebook, runs JupyterLab's own
"Run All Cells" command, waits for the kernel, and reads the notebook model. The tests then check what a student sees:
every code cell ran, no error and no stderr output at all, the widgets of 02 and 03 redraw their figure when a slider
moves under the keyboard, 09's audio players are in the page, and ``progress()`` lists every exercise as not done. One
screenshot per notebook goes to ``build/jupyterlab/`` (see ``showcase`` for the cell it shows). `make browser-tests`
runs these tests; without Chromium they are skipped with the command that installs it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.browser import Chromium, network_and_errors, require_chromium
from utils import ROOT
from utils.checks import STRICT_ENV

STUDENT = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SHOTS = ROOT / "build" / "jupyterlab"
#: Notebooks whose ipywidgets control must redraw its figure, and those with audio players.
WIDGETS = ("02_vanishing_exploding_gradients.ipynb", "03_lstm_architecture.ipynb")
AUDIO = ("09_music_composition.ipynb",)
#: The one request a student notebook's page may send off the machine: the "Open in Colab" badge of its first cell.
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
#: Notebooks run at once, each in its own tab with its own kernel.
PARALLEL = 2
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
browser = pytest.mark.browser

# --- JupyterLab on loopback ---------------------------------------------------------------------------------------

#: Where JupyterLab, its kernels and IPython keep settings, state and data: all under the test's temporary folder.
PRIVATE_DIRS = {"JUPYTER_CONFIG_DIR": "config", "JUPYTER_DATA_DIR": "data", "JUPYTER_RUNTIME_DIR": "runtime",
                "JUPYTERLAB_SETTINGS_DIR": "settings", "JUPYTERLAB_WORKSPACES_DIR": "workspaces",
                "IPYTHONDIR": "ipython", "COURSE_DATA_HOME": "course-data"}

#: JupyterLab's setting for its news feed: answered "no" beforehand, so that its question (a toast that covers the
#: notebook in screenshots) is not asked and no update check leaves the machine.
NEWS_SETTING = Path("@jupyterlab", "apputils-extension", "notification.jupyterlab-settings")


#: Variables a student's kernel does not have: the maintainer's Jupyter and IPython settings; what pytest sets
#: (ipykernel stops forwarding the process's native stderr, TensorFlow's C++ log, to the notebook when it sees
#: PYTEST_CURRENT_TEST); TensorFlow's log switches (importing utils sets one in this process); CI's MPLBACKEND=Agg,
#: which would replace the inline backend; the switch that makes checks strict in instructor notebooks.
NOT_A_STUDENTS = ("JUPYTER", "IPYTHON", "PYTEST_", "TF_CPP_", "MPLBACKEND", STRICT_ENV)


def lab_environment(home: Path) -> dict[str, str]:
    """The environment of the server and its kernels: the caller's, as a student's shell would have it."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(NOT_A_STUDENTS)}
    return env | {name: str(home / folder) for name, folder in PRIVATE_DIRS.items()} | {"COURSE_QUICK": "1"}


def lab_command(served: Path) -> list[str]:
    """``jupyter lab`` from the venv running the tests: loopback, a free port, no token, no browser, app exposed."""
    root = ["--allow-root"] if hasattr(os, "getuid") and os.getuid() == 0 else []  # CI containers run as root
    return [str(Path(sys.executable).with_name("jupyter")), "lab", f"--ServerApp.root_dir={served}", "--no-browser",
            "--ip=127.0.0.1", "--port=0", "--IdentityProvider.token=", "--expose-app-in-browser",
            "--LabApp.extension_manager=readonly", *root]  # no extension search on PyPI


def server_url(runtime: Path, process: subprocess.Popen, log: Path, timeout: float = 120) -> str:
    """The base URL of the started server, from its runtime file, once it answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"JupyterLab stopped at start:\n{log.read_text()[-3000:]}"
        for info in runtime.glob("jpserver-*.json"):
            url = json.loads(info.read_text())["url"]
            try:
                with urllib.request.urlopen(f"{url}api/status", timeout=5):
                    return url
            except OSError:
                pass
        time.sleep(0.2)
    raise AssertionError(f"JupyterLab did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


@contextmanager
def jupyterlab(home: Path) -> Iterator[str]:
    """JupyterLab serving a copy of the student notebooks in ``home / "notebooks"`` (JupyterLab saves them),
    with its settings and state in ``home`` too; its base URL while the context lasts."""
    served = home / "notebooks"
    served.mkdir()
    for notebook in STUDENT:
        shutil.copy(notebook, served)
    settings = home / PRIVATE_DIRS["JUPYTERLAB_SETTINGS_DIR"] / NEWS_SETTING
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps({"fetchNews": "false"}))
    log = home / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(lab_command(served), cwd=served, env=lab_environment(home), stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        yield server_url(home / PRIVATE_DIRS["JUPYTER_RUNTIME_DIR"], process, log)
    finally:
        process.terminate()  # the server shuts its kernels down
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Lab:
    """The running JupyterLab: its base URL and the folder it serves (the notebooks' copy, their kernels' cwd)."""

    url: str
    served: Path


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    require_chromium()
    home = tmp_path_factory.mktemp("jupyterlab")
    with jupyterlab(home) as url:
        yield Lab(url, home / "notebooks")


# --- one notebook in the browser ----------------------------------------------------------------------------------

#: What every snippet can use: sleep(ms); until(test, seconds), the first truthy value of test() or its last value at
#: the deadline; the notebook panel and whether its kernel is idle.
PRELUDE = """const sleep = ms => new Promise(done => setTimeout(done, ms));
const until = async (test, seconds) => {
    const end = Date.now() + 1000 * seconds;
    let value = await test();
    while (!value && Date.now() < end) { await sleep(100); value = await test(); }
    return value;
};
const panel = window.coursePanel;
const idle = () => panel.sessionContext.session?.kernel?.status === 'idle';"""

#: Waits for the app, the panel of notebook `name` and its idle kernel (TensorFlow is imported only by the first cell);
#: keeps the panel as window.coursePanel for the other snippets.
OPEN_NOTEBOOK = """while (!window.jupyterapp) await sleep(100);
    await window.jupyterapp.restored;
    let found;
    while ((found = window.jupyterapp.shell.currentWidget)?.context?.path !== name || !found.sessionContext)
        await sleep(100);
    await found.context.ready;
    await found.sessionContext.ready;
    while (found.sessionContext.session?.kernel?.status !== 'idle') await sleep(100);
    window.coursePanel = found;
    return found.sessionContext.session.kernel.name;"""

#: JupyterLab's own "Run All Cells" (true when every cell ran), then the kernel's return to idle.
RUN_ALL = """const finished = await window.jupyterapp.commands.execute('notebook:run-all-cells');
    await until(idle, 60);
    return finished;"""

CELLS = "return panel.context.model.toJSON().cells;"

#: Scrolls cell `index` to the top of the notebook and gives its outputs time to be drawn.
SCROLL_TO = """panel.content.activeCellIndex = index;
    await panel.content.scrollToCell(panel.content.widgets[index], 'start');
    await sleep(500);"""

#: The figure of the widget in cell `index` once its sliders are drawn, with the first slider's handle focused.
WIDGET_FIGURE = """const cell = panel.content.widgets[index].node;
    const figure = () => cell.querySelector('.widget-output img')?.src;
    const handle = await until(() => figure() && cell.querySelector('.widget-slider .noUi-handle'), 60);
    if (!handle) return null;
    handle.focus();
    return document.activeElement === handle ? figure() : 'the slider handle did not take the focus';"""

#: The figure of the widget in cell `index` once it differs from `before` and the kernel is idle (or after 60 s).
WIDGET_FIGURE_CHANGED = """const cell = panel.content.widgets[index].node;
    const figure = () => cell.querySelector('.widget-output img')?.src;
    await until(() => figure() && figure() !== before && idle(), 60);
    return figure();"""

#: The duration of each <audio> element in the notebook, once its metadata is loaded (-1 when it cannot load).
AUDIO_DURATIONS = """return await Promise.all([...panel.content.node.querySelectorAll('audio')].map(a =>
        a.readyState >= 1 ? a.duration : new Promise(done => {
            a.addEventListener('loadedmetadata', () => done(a.duration));
            a.addEventListener('error', () => done(-1));
            a.load();
        })));"""

SHUT_DOWN = "await panel.sessionContext.shutdown();"


def call(chromium: Chromium, session: str, body: str, timeout: float = 60, **values):
    """Run the snippet ``body`` in the tab (after the prelude, with ``values`` as constants); its return value."""
    constants = f"const {{{', '.join(values)}}} = {json.dumps(values)};" if values else ""
    return chromium.evaluate(session, f"(async () => {{\n{PRELUDE}\n{constants}\n{body}\n}})()", timeout=timeout)


@dataclass
class Run:
    """What one notebook did in JupyterLab."""

    name: str
    cells: list[dict] = field(default_factory=list)
    finished: bool = False  # "Run All Cells" reported that every cell ran
    figures: tuple[str | None, str | None] | None = None  # a widget's figure before and after a slider moved
    audio: list[float] = field(default_factory=list)  # durations of the <audio> elements
    remote_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    problem: str = ""  # what went wrong in driving the browser, if anything


def code_cells(run: Run) -> list[tuple[int, dict]]:
    return [(number, cell) for number, cell in enumerate(run.cells) if cell["cell_type"] == "code"]


def outputs(run: Run, kind: str, name: str | None = None) -> list[tuple[int, dict]]:
    """(cell number, output) for each output of ``kind`` (e.g. 'stream', 'error'), and of stream ``name``."""
    return [(number, output) for number, cell in code_cells(run) for output in cell.get("outputs", [])
            if output["output_type"] == kind and (name is None or output.get("name") == name)]


def describe(run: Run, number: int) -> str:
    """A cell as a student finds it: its execution count, its place in the notebook and its first line of code."""
    cell = run.cells[number]
    lines = "".join(cell["source"]).strip().splitlines() or [""]
    return f"cell [{cell.get('execution_count') or ' '}] (cell {number + 1} of {len(run.cells)}) `{lines[0]}`"


def shorten(text: str, limit: int = 600) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def widget_cell(run: Run) -> int | None:
    return next((number for number, cell in code_cells(run)
                 if any(WIDGET_MIME in output.get("data", {}) for output in cell.get("outputs", []))), None)


def audio_cells(run: Run) -> list[int]:
    """The cells whose output holds an audio player (an HTML <audio> element)."""
    return [number for number, cell in code_cells(run) for output in cell.get("outputs", [])
            if "<audio" in "".join(output.get("data", {}).get("text/html", ""))]


def showcase(run: Run) -> int:
    """The cell a screenshot shows: the first error, else the first stderr output, else the widget, else the first
    audio player, else progress() at the end."""
    faults = outputs(run, "error") or outputs(run, "stream", "stderr")
    if faults:
        return faults[0][0]
    widget, audio = widget_cell(run), audio_cells(run)
    return widget if widget is not None else audio[0] if audio else code_cells(run)[-1][0]


def move_slider(chromium: Chromium, session: str, index: int) -> tuple[str | None, str | None]:
    """The widget's figure before and after one press of the right arrow key on its first slider's handle."""
    before = call(chromium, session, WIDGET_FIGURE, timeout=90, index=index)
    if not (before or "").startswith("data:image/"):
        return before, None
    for kind in ("keyDown", "keyUp"):
        chromium.send("Input.dispatchKeyEvent", session, type=kind, key="ArrowRight", code="ArrowRight",
                      windowsVirtualKeyCode=39, nativeVirtualKeyCode=39)
    return before, call(chromium, session, WIDGET_FIGURE_CHANGED, timeout=90, index=index, before=before)


def run_notebook(chromium: Chromium, base: str, notebook: Path) -> Run:
    """Open ``notebook`` in a private tab and a workspace of its own (so that JupyterLab pages open at the same time
    do not take each other for a second window of the same workspace), Run All Cells, wait for the kernel, and read
    what the notebook shows."""
    run, started, session = Run(notebook.name), time.monotonic(), None
    try:
        session = chromium.open(f"{base}lab/workspaces/{notebook.stem}/tree/{notebook.name}", private=True)
        chromium.send("Emulation.setFocusEmulationEnabled", session, enabled=True)  # keys reach a background tab
        call(chromium, session, OPEN_NOTEBOOK, timeout=180, name=notebook.name)
        run.finished = call(chromium, session, RUN_ALL, timeout=900)
        run.cells = call(chromium, session, CELLS, timeout=120)
        if notebook.name in WIDGETS and (index := widget_cell(run)) is not None:
            run.figures = move_slider(chromium, session, index)
        if notebook.name in AUDIO:
            run.audio = call(chromium, session, AUDIO_DURATIONS)
        call(chromium, session, SCROLL_TO, index=showcase(run))
        chromium.screenshot(session, SHOTS / f"{notebook.stem}.png")
        call(chromium, session, SHUT_DOWN)
    except Exception as error:  # reported by the tests, named by notebook
        run.problem = f"{type(error).__name__}: {error}"
    finally:
        if session is not None:
            events = chromium.events(session)
            run.remote_requests, run.console_errors = network_and_errors(events, local=(base, COLAB_BADGE))
            chromium.close_tab(session)
        run.seconds = time.monotonic() - started
    return run


@pytest.fixture(scope="module")
def runs(lab, request, tmp_path_factory) -> dict[str, Run]:
    """The student notebooks run in JupyterLab, PARALLEL at a time: those the selected tests ask for (all nine in
    `make browser-tests`; `pytest tests/test_jupyterlab.py -k 03` runs only 03)."""
    wanted = {item.callspec.params.get("name") for item in request.session.items
              if item.module is request.module and hasattr(item, "callspec")}
    chromium = Chromium(tmp_path_factory.mktemp("chromium-profile"), window=(1280, 1000))
    try:
        with ThreadPoolExecutor(PARALLEL) as pool:
            done = list(pool.map(lambda notebook: run_notebook(chromium, lab.url, notebook),
                                 [notebook for notebook in STUDENT if notebook.name in wanted]))
    finally:
        chromium.close()
    for run in done:
        print(f"{run.name}: {run.seconds:.0f} s in JupyterLab, {len(outputs(run, 'stream', 'stderr'))} stderr outputs")
    return {run.name: run for run in done}


def the(runs: dict[str, Run], name: str) -> Run:
    """The run of notebook ``name``, failing with what went wrong if the browser could not drive it."""
    run = runs[name]
    assert not run.problem, f"{name}: {run.problem}"
    return run


names = pytest.mark.parametrize("name", [notebook.name for notebook in STUDENT])


# --- what a student sees ------------------------------------------------------------------------------------------


def test_all_nine_student_notebooks_are_run():
    assert len(STUDENT) == 9, [notebook.name for notebook in STUDENT]


@browser
@names
def test_every_code_cell_runs_without_an_error(runs, name):
    run = the(runs, name)
    not_run = [describe(run, number) for number, cell in code_cells(run) if cell.get("execution_count") is None]
    errors = [f"{describe(run, number)}: {output['ename']}: {output['evalue']}"
              for number, output in outputs(run, "error")]
    assert errors == [] and not_run == [] and run.finished, f"{name}: errors {errors}; not run {not_run}"


@browser
@names
def test_no_cell_writes_to_stderr(runs, name):
    """A student reads any stderr block (JupyterLab shows it on red) as something broken: there must be none."""
    run = the(runs, name)
    blocks = [f"{describe(run, number)}:\n{shorten(''.join(output['text']))}"
              for number, output in outputs(run, "stream", "stderr")]
    if blocks:
        pytest.fail(f"{name}: {len(blocks)} stderr output(s):\n\n" + "\n\n".join(blocks), pytrace=False)


@browser
@names
def test_no_verdict_contradicts_the_text_in_the_students_run(runs, name):
    """What the student's own run prints agrees with the prose: no ``course.claim`` reads "✗ not in this run"."""
    run = the(runs, name)
    failing = [f"{describe(run, number)}: {line}" for number, output in outputs(run, "stream", "stdout")
               for line in "".join(output["text"]).splitlines() if line.startswith("✗ not in this run")]
    assert failing == [], f"{name}: verdicts of the text that this run contradicts:\n" + "\n".join(failing)


#: An exercise's heading in the notebook ("### Exercise 2 · clip a gradient by its norm", "## Exercise 1: ...").
EXERCISE_HEADING = re.compile(r"^#{2,4} Exercise (\d+)\b", re.MULTILINE)
#: A line of progress(): its mark, its state and the exercise's number.
PROGRESS_LINE = re.compile(r"^(\S+)\s+(not done|done|failing)\s+Exercise (\d+)\b", re.MULTILINE)


@browser
@names
def test_progress_lists_every_exercise_as_not_done(runs, name):
    run = the(runs, name)
    markdown = "\n".join("".join(cell["source"]) for cell in run.cells if cell["cell_type"] == "markdown")
    exercises = sorted({int(number) for number in EXERCISE_HEADING.findall(markdown)})
    _, last = code_cells(run)[-1]
    assert "progress()" in "".join(last["source"]), f"{name}: the last code cell is not progress()"
    printed = "".join("".join(output["text"]) for output in last.get("outputs", []) if output.get("name") == "stdout")
    listed = PROGRESS_LINE.findall(printed)
    assert exercises, f"{name}: no exercise heading found"
    assert sorted(int(n) for _, _, n in listed) == exercises, f"{name}: headings {exercises}, progress():\n{printed}"
    assert all(mark == "⏳" and state == "not done" for mark, state, _ in listed), f"{name}: progress():\n{printed}"


@browser
@pytest.mark.parametrize("name", WIDGETS)
def test_widget_redraws_its_figure_when_a_slider_moves(runs, name):
    run = the(runs, name)
    assert run.figures is not None, f"{name}: no widget output in the notebook"
    before, after = run.figures
    assert (before or "").startswith("data:image/"), f"{name}: the widget shows no figure next to its sliders: {before}"
    assert (after or "").startswith("data:image/"), f"{name}: the figure is gone after the slider moved"
    assert after != before, f"{name}: the figure did not change when the slider moved"


@browser
@pytest.mark.parametrize("name", AUDIO)
def test_every_audio_player_is_in_the_page_and_loads(runs, name):
    run = the(runs, name)
    players = len(audio_cells(run))
    assert players >= 2, f"{name}: {players} cells show an audio player (a corpus tune and a composed one at least)"
    assert len(run.audio) == players, f"{name}: {len(run.audio)} <audio> elements in the page for {players} players"
    assert all(0 < seconds < float("inf") for seconds in run.audio), f"{name}: durations {run.audio}"


@browser
def test_no_notebook_leaves_a_file_next_to_the_notebooks(lab, runs):
    """A kernel's working folder is its notebook's folder, which a shared server may make read-only (the rest of the
    repository is read-only during this test): files a notebook writes belong in the course's data folder."""
    assert runs, "no notebook ran"
    files = {str(path.relative_to(lab.served)) for path in lab.served.rglob("*")
             if path.is_file() and ".ipynb_checkpoints" not in path.parts}
    assert files == {notebook.name for notebook in STUDENT}, sorted(files - {n.name for n in STUDENT})


@browser
@names
def test_page_sends_no_request_off_the_machine(runs, name):
    assert the(runs, name).remote_requests == []


@browser
@names
def test_page_logs_no_console_error(runs, name):
    """An output or a widget that fails to render logs an error (the Colab badge cannot load: no network here)."""
    assert [error for error in the(runs, name).console_errors if COLAB_BADGE not in error] == []


@browser
@names
def test_screenshot_is_written(runs, name):
    the(runs, name)
    assert (SHOTS / name.replace(".ipynb", ".png")).stat().st_size > 10_000
