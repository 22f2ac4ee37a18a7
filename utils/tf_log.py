"""TensorFlow's log in a notebook: settings that keep it quiet, and a filter for the few C++ lines no setting reaches.

``import utils`` calls ``quiet_tensorflow()`` first, so that it acts before TensorFlow loads. A value the user set
already is kept.

* ``TF_CPP_MIN_LOG_LEVEL=2``: TensorFlow's C++ info and warning lines (CPU features, rendezvous notes) are not shown;
  errors are.
* ``TF_ENABLE_ONEDNN_OPTS=0``: TensorFlow turns its oneDNN kernels on by default only on CPUs with VNNI, BF16 or AMX
  instructions (most Intel CPUs since 2019, Colab's). There it prints "oneDNN custom operations are on" while it loads
  and, without AVX-512, "oneDNN supports DT_BOOL only on platforms with AVX-512" as an error. Off, every machine
  computes with the Eigen kernels of the CI machine the stored outputs and timings come from (README, "Decisions").
* ``KNOWN_NOISE``, lines that ignore both settings: absl writes whatever is logged before its set-up to stderr, and
  the pip build of TensorFlow probes for CUDA while it loads and when it creates its first device; ``tf.data``'s
  deterministic rewrite (``enable_op_determinism``, which ``course.setup`` turns on) leaves a ``NodeDef mentions
  attribute use_unbounded_threadpool`` error line behind ``model.predict``. ipykernel forwards the process's native
  stderr into the notebook, where a student reads them in red as errors. In a Jupyter kernel,
  ``filter_native_stderr`` puts a filter in front of file descriptor 2 that drops exactly these lines and passes
  everything else on at once. A batch command (the grader) runs inside ``held_native_stderr`` instead: what it
  writes to file descriptor 2 comes out at the end, without these lines.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
from collections import Counter

#: A C++ log line's prefix: absl's ``E0000 00:00:1796576121.449185   8595 file.cc:52] `` (TensorFlow 2.18 and later)
#: or TensorFlow's own ``2025-03-11 22:30:56.916762: E tensorflow/core/util/util.cc:131] `` (earlier versions).
_PREFIX = r"(?:[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ |\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] )[\w./-]+:\d+\] "

#: The native stderr lines the filter drops, by name: the whole line's pattern, and why it is harmless. Nothing else is
#: dropped. ``DROPPED`` counts what the filter dropped in this process, by name.
KNOWN_NOISE = {
    "absl-preinit": (
        re.compile(r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"),
        "absl's note that lines logged while TensorFlow loads go to stderr (once for each of TensorFlow's libraries)"),
    "cuda-driver": (
        re.compile(_PREFIX + r"Could not find cuda drivers on your machine, GPU will not be used\."),
        "the pip build of TensorFlow looks for NVIDIA's driver while it loads; the course runs on the CPU"),
    "cuinit": (
        re.compile(_PREFIX + r"failed call to cuInit: (?:INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR "
                             r"\(303\)|CUDA_ERROR_NO_DEVICE: no CUDA-capable device is detected)"),
        "the same probe when TensorFlow creates its first device, with no driver (303) or no GPU; other CUDA errors "
        "show"),
    "use_unbounded_threadpool": (
        re.compile(_PREFIX + r"NodeDef mentions attribute use_unbounded_threadpool which is not in the op "
                             r"definition: .*"),
        "tf.data's deterministic rewrite turns a parallel map into a plain one and keeps an attribute only the "
        "parallel op has, which TensorFlow then ignores; other unknown attributes still show"),
}
DROPPED: Counter[str] = Counter()
#: How long a line without its newline waits for the rest before it is passed on as it is (seconds).
PARTIAL_LINE_WAIT = 0.1
_installed = False


def quiet_tensorflow() -> None:
    """Set TensorFlow's log settings (a value the user set already is kept) and, in a Jupyter kernel, the filter."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    filter_native_stderr()


def noise_name(line: str) -> str | None:
    """The name in ``KNOWN_NOISE`` of one line of native stderr (with or without its line ending), or None."""
    if not isinstance(line, str):
        raise ValueError(f"line must be one line of text (a str), such as 'E0000 ... cuda_platform.cc:52] ...', "
                         f"not {type(line).__name__}")
    line = line.rstrip("\r\n")
    return next((name for name, (pattern, _) in KNOWN_NOISE.items() if pattern.fullmatch(line)), None)


def filter_native_stderr() -> bool:
    """In a Jupyter kernel, drop ``KNOWN_NOISE`` lines from what is written to file descriptor 2; True if it does.

    ipykernel (JupyterLab, VS Code, Colab, nbclient) replaces file descriptor 2 by a pipe whose reader forwards the
    text into the notebook. This puts one more pipe in front: a thread reads it, drops whole lines that are known
    noise and writes everything else, unchanged and at once, to where file descriptor 2 pointed before. Python's own
    ``sys.stderr`` in a kernel does not go through file descriptor 2, so warnings and tracebacks are never touched.
    Installed once per process. Outside a kernel (plain Python; pytest, which captures file descriptor 2 itself) and
    on Windows (where ipykernel does not forward native output) it does nothing and returns False.
    """
    global _installed
    if _installed:
        return True
    if os.name != "posix" or not _in_jupyter_kernel():
        return False
    try:
        downstream = os.dup(2)
    except OSError:  # no file descriptor 2 at all: nothing to filter
        return False
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    threading.Thread(target=_forward, args=(read_end, downstream), name="course-stderr-filter", daemon=True).start()
    _installed = True
    return True


def _in_jupyter_kernel() -> bool:
    """Whether this process is a Jupyter kernel (IPython's shell with a kernel), without importing IPython."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


def _forward(source: int, target: int) -> None:
    """Copy ``source`` to ``target`` line by line without the known noise, until every writer has closed ``source``."""
    import select

    pending = b""
    while True:
        if pending and not select.select([source], [], [], PARTIAL_LINE_WAIT)[0]:
            _write(target, pending)  # a line without its end (a prompt, a progress bar): pass it on as it is
            pending = b""
            continue
        try:
            chunk = os.read(source, 65536)
        except OSError:
            break
        if not chunk:
            break
        *lines, pending = (pending + chunk).split(b"\n")
        kept = []
        for line in lines:
            name = noise_name(line.decode("utf-8", errors="replace"))
            if name is None:
                kept.append(line + b"\n")
            else:
                DROPPED[name] += 1
        if kept:
            _write(target, b"".join(kept))
    _write(target, pending)
    os.close(source)
    os.close(target)


def _write(target: int, data: bytes) -> None:
    """Write all of ``data``; if ``target`` is gone, drop it (a writer must never block on a full pipe)."""
    while data:
        try:
            data = data[os.write(target, data):]
        except OSError:
            return


@contextlib.contextmanager
def held_native_stderr():
    """While the block runs, hold what is written to file descriptor 2 in a temporary file; then pass on every line
    of it that is not ``KNOWN_NOISE``, in order, and let any exception of the block go on as usual.

    For a batch command such as the grader, whose results go to files: an instructor's terminal would otherwise
    show TensorFlow's CUDA probe ("E0000 ... failed call to cuInit"), which reads as an error of the grading run, each
    time a process loads TensorFlow. Processes started in the block inherit the held file descriptor. A traceback
    raised by the block prints after the held lines, unchanged; nothing runs in a thread. Does nothing without a file
    descriptor 2.
    """
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            kept = []
            for line in held.read().splitlines(keepends=True):
                name = noise_name(line.decode("utf-8", errors="replace"))
                if name is None:
                    kept.append(line)
                else:
                    DROPPED[name] += 1
            _write(2, b"".join(kept))

