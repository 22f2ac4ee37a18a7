"""TensorFlow's log stays out of a student's notebook, and everything else still reaches it (``utils/tf_log.py``).

The main test starts a real kernel as JupyterLab does (jupyter_client's KernelManager, the project's kernel), runs what
the notebooks run (``import utils``, TensorFlow, ``course.setup``, a ``tf.data`` pipeline, an LSTM fit, a prediction,
matplotlib's load-dependent legend warning) and collects the kernel's ``stream`` messages on stderr: none may arrive,
while the filter's own count shows that the noise was really produced and dropped. Then an unknown line written to the
native stderr (file descriptor 2, from Python and from C), a Python warning and a print to ``sys.stderr`` must all
arrive.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from utils import ROOT, tf_log

#: Real lines, as TensorFlow 2.21 (absl's prefix) and earlier versions (TensorFlow's own prefix) write them.
NOISE = {
    "absl-preinit": ["WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"],
    "cuda-driver": ["I0000 00:00:1796576121.449185    8595 cudart_stub.cc:31] Could not find cuda drivers on your "
                    "machine, GPU will not be used."],
    "cuinit": ["E0000 00:00:1796576125.446271    8595 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA "
               "error: Failed call to cuInit: UNKNOWN ERROR (303)",
               "2025-01-08 14:55:54.925839: E external/local_xla/xla/stream_executor/cuda/cuda_driver.cc:152] failed "
               "call to cuInit: CUDA_ERROR_NO_DEVICE: no CUDA-capable device is detected\r\n"],
    "use_unbounded_threadpool": [
        "E0000 00:00:1796576128.393506    8595 node_def_util.cc:682] NodeDef mentions attribute "
        "use_unbounded_threadpool which is not in the op definition: Op<name=MapDataset; signature=input_dataset:"
        "variant, other_arguments: -> handle:variant> This may be expected if your graph generating binary is newer  "
        "than this binary. Unknown attributes will be ignored. NodeDef: {{node ParallelMapDatasetV2/_14}}"],
}
#: Lines close to the noise that a student may need: they must pass.
KEPT = [
    "E0000 00:00:1796576125.446271    8595 cuda_platform.cc:52] failed call to cuInit: CUDA_ERROR_OUT_OF_MEMORY",
    "E0000 00:00:1796576128.393506    8595 node_def_util.cc:682] NodeDef mentions attribute other_attr which is not "
    "in the op definition: Op<name=MapDataset>",
    "E0000 00:00:1796576128.393506    8595 some_kernel.cc:1] Could not find cuda drivers on your machine, GPU will not "
    "be used. And then something else went wrong.",
    "Could not find cuda drivers on your machine, GPU will not be used.",  # no log prefix: not TensorFlow's log
    "F0000 00:00:1796576128.393506    8595 check.cc:9] Check failed: rank == 2",
    "Traceback (most recent call last):",
    "",
]


@pytest.mark.parametrize("name", sorted(NOISE))
def test_each_known_line_is_named(name):
    assert [tf_log.noise_name(line) for line in NOISE[name]] == [name] * len(NOISE[name])
    assert set(NOISE) == set(tf_log.KNOWN_NOISE), "give every known line a real example here"


@pytest.mark.parametrize("line", KEPT)
def test_lines_near_the_noise_are_kept(line):
    assert tf_log.noise_name(line) is None


def test_noise_name_refuses_what_is_not_a_line():
    with pytest.raises(ValueError, match="line must be one line of text"):
        tf_log.noise_name(b"bytes")


# --- outside a kernel: nothing changes ------------------------------------------------------------------------------


def test_outside_a_kernel_stderr_is_left_alone_and_pytest_captures_it(capfd):
    """pytest imported utils: no filter, so pytest's own capturing of file descriptor 2 sees every native line."""
    assert tf_log.filter_native_stderr() is False
    os.write(2, NOISE["cuinit"][0].encode() + b"\n")
    assert capfd.readouterr().err == NOISE["cuinit"][0] + "\n"
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] and os.environ["TF_ENABLE_ONEDNN_OPTS"]


def test_plain_python_keeps_its_stderr():
    code = "import os, utils; os.write(2, b'native line\\n'); import sys; print('python line', file=sys.stderr)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0 and done.stderr == "native line\npython line\n"


# --- a command-line tool: the lines of one block held back, the noise dropped ---------------------------------------


def test_held_lines_pass_on_in_order_without_the_noise(capfd):
    dropped = sum(tf_log.DROPPED.values())
    with tf_log.held_native_stderr():
        for line in [KEPT[0], NOISE["cuinit"][0], "a line a user needs", NOISE["absl-preinit"][0].rstrip("\n")]:
            os.write(2, line.encode() + b"\n")
        assert capfd.readouterr().err == "", "held while the block runs"
    assert capfd.readouterr().err == KEPT[0] + "\na line a user needs\n"
    assert sum(tf_log.DROPPED.values()) == dropped + 2


def test_an_error_in_the_held_block_goes_on_after_the_block_s_lines(capfd):
    with pytest.raises(RuntimeError, match="raised in the block"):
        with tf_log.held_native_stderr():
            os.write(2, b"written before the error\n")
            raise RuntimeError("raised in the block")
    os.write(2, b"written after the block\n")
    assert capfd.readouterr().err == "written before the error\nwritten after the block\n"


# --- in a real kernel -----------------------------------------------------------------------------------------------

NOISY = """
from utils import course, tf_log  # first, before Keras, as every notebook does
import keras
import numpy as np
import tensorflow as tf
course.setup(seed=3)
batches = tf.data.Dataset.from_tensor_slices(np.zeros((64, 5, 1), "float32")).map(lambda x: 2 * x).batch(16)
total = sum(float(tf.reduce_sum(batch)) for batch in batches)
model = keras.Sequential([keras.Input((5, 1)), keras.layers.LSTM(4), keras.layers.Dense(1)])
model.compile("adam", "mse")
model.fit(np.ones((64, 5, 1)), np.zeros((64, 1)), epochs=1, verbose=0)
prediction = model.predict(np.ones((4, 5, 1)), verbose=0)
import warnings  # what matplotlib says when its search for a legend's place took over 1 s (a loaded machine's figure)
warnings.warn('Creating legend with loc="best" can be slow with large amounts of data.', UserWarning)
"""
#: Each must reach the notebook: (code, text that must arrive on stderr).
PASSED_ON = [
    ("import os\nos.write(2, b'E0000 00:00:1.5  7 op.cc:1] a native error nobody knows\\n')",
     "a native error nobody knows"),
    ("import ctypes\nctypes.CDLL(None).dprintf(2, b'written by C code\\n')", "written by C code"),
    ("import os\nos.write(2, b'no line end yet')", "no line end yet"),
    ("import sys\nprint('printed to sys.stderr', file=sys.stderr)", "printed to sys.stderr"),
    ("import warnings\nwarnings.warn('a Python warning the student can act on')",
     "UserWarning: a Python warning the student can act on"),
]


def _run(client, code: str) -> tuple[str, str]:
    """Execute ``code`` in the kernel; returns (stdout, stderr) as the notebook would show them; errors fail."""
    msg_id = client.execute(code)
    out, err = [], []
    while True:
        msg = client.get_iopub_msg(timeout=300)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            (err if content["name"] == "stderr" else out).append(content["text"])
        elif kind == "error":
            pytest.fail(f"{code!r} raised {content['ename']}: {content['evalue']}")
        elif kind == "status" and content["execution_state"] == "idle":
            return "".join(out), "".join(err)


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    """A kernel started as JupyterLab starts one: its native stderr is forwarded into the notebook."""
    from jupyter_client.manager import KernelManager

    manager = KernelManager(kernel_name="python3")
    # ipykernel does not forward native output while PYTEST_CURRENT_TEST is set: a JupyterLab kernel has no such thing
    env = {key: value for key, value in os.environ.items() if key != "PYTEST_CURRENT_TEST"}
    env.pop("MPLBACKEND", None)
    manager.start_kernel(cwd=str(tmp_path_factory.mktemp("kernel")), env=env)
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=120)
        out, err = _run(client, "from utils import tf_log\nprint(tf_log.filter_native_stderr())")
        assert (out, err) == ("True\n", ""), "import utils did not put the filter in place in a kernel"
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_the_notebooks_noisy_operations_show_nothing_on_stderr(kernel):
    out, err = _run(kernel, NOISY + "import json\nprint(json.dumps(tf_log.DROPPED))")
    assert err == "", f"stderr in the notebook:\n{err}"
    dropped = json.loads(out.strip().splitlines()[-1])
    produced = {"absl-preinit", "cuda-driver", "use_unbounded_threadpool"}
    if not os.path.exists("/proc/driver/nvidia"):  # with a real GPU, TensorFlow's first device has no cuInit error
        produced.add("cuinit")
    assert produced <= set(dropped), f"the filter dropped {dropped}: did TensorFlow stop printing these lines?"


@pytest.mark.parametrize(("code", "expected"), PASSED_ON, ids=["native", "C", "partial", "sys.stderr", "warning"])
def test_everything_else_on_stderr_still_reaches_the_notebook(kernel, code, expected):
    _, err = _run(kernel, code + "\nimport time\ntime.sleep(0.3)")
    assert expected in err
