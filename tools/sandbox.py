"""Run untrusted code (a student's submission) in its own process tree with a time, memory and process limit, no
network, and nothing writable but its own scratch folder.

On Linux the process runs under bubblewrap (Debian's ``bubblewrap`` package, ``bwrap``): new user, PID, network, IPC
and UTS namespaces, so it sees no network but a downed loopback, no other process (it cannot signal the grader), and
a file system of read-only system folders, the Python installation, the course's ``utils``/``tools``/``data`` and one
writable scratch folder; the submissions folder and the grader's outputs are not in it. Resource limits apply to the
whole tree: address space (``RLIMIT_AS``), CPU seconds, file size, no core files, and the number of processes (a
``pids`` cgroup where one can be created, as root; else ``RLIMIT_NPROC``, which the kernel does not apply to root).
The grader adds a wall-clock limit per call and kills the tree when it is spent.

Without bubblewrap (macOS, Windows, a Linux without it) the code can still be run with ``isolate=False``: a separate
process with the same resource limits where the platform has them, but with the network and the user's files
reachable. ``python -m tools.grade`` says so and asks for ``--no-sandbox`` before it does that.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from utils import ROOT

#: The folders of the course a worker needs: the checks (utils), the worker itself (tools) and the bundled data.
COURSE_PARTS = ("utils", "tools", "data")
SYSTEM_PARTS = ("/usr", "/etc", "/opt")
PIDS_CGROUP_ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))


@dataclass(frozen=True)
class Limits:
    """What one submission's process tree may use."""

    memory_bytes: int = 4 * 1024**3  # address space per process: TensorFlow needs about 3 GB of it to load
    cpu_seconds: int = 600
    processes: int = 64
    file_bytes: int = 64 * 1024**2


def bubblewrap() -> str | None:
    """The path of ``bwrap``, or None when it is not installed (or this is not Linux)."""
    return shutil.which("bwrap") if sys.platform.startswith("linux") else None


def sandbox_command(argv: list[str], scratch: Path) -> list[str]:
    """``argv`` wrapped in bubblewrap: the file system, namespaces and environment described in the module doc."""
    binds: list[str] = []
    for folder in SYSTEM_PARTS:
        if Path(folder).is_dir():
            binds += ["--ro-bind", folder, folder]
    for link in ("bin", "lib", "lib32", "lib64", "sbin"):
        path = Path("/") / link
        if path.is_symlink():
            binds += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            binds += ["--ro-bind", str(path), str(path)]
    python_homes = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), Path(sys.executable).resolve().parent}
    for home in sorted(python_homes):
        if not str(home).startswith(SYSTEM_PARTS):
            binds += ["--ro-bind", str(home), str(home)]
    for part in COURSE_PARTS:
        binds += ["--ro-bind", str(ROOT / part), str(ROOT / part)]
    environment = {"HOME": "/scratch", "TMPDIR": "/tmp", "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1",
                   "COURSE_DATA_HOME": "/scratch/data", "COURSE_OFFLINE": "1", "MPLBACKEND": "Agg",
                   "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    env_args = [arg for name, value in environment.items() for arg in ("--setenv", name, value)]
    # /tmp is mounted first: bubblewrap mounts in order, so the binds that follow stay visible when the course or
    # its Python lives under /tmp (a fresh clone in `mktemp -d`, Gradescope's unpacked autograder in a test).
    return ["bwrap", "--die-with-parent", "--new-session", "--unshare-all", "--clearenv", *env_args,
            "--tmpfs", "/tmp", *binds, "--bind", str(scratch), "/scratch", "--proc", "/proc", "--dev", "/dev",
            "--chdir", "/scratch", "--", *argv]


class ProcessLimit:
    """A ``pids`` cgroup that caps how many processes a submission may have at once; a no-op where none can be made."""

    def __init__(self, limit: int):
        self.path = None
        for root in PIDS_CGROUP_ROOTS:
            if (root / "cgroup.procs").exists() and os.access(root, os.W_OK) and (
                    root.name == "pids" or "pids" in _read(root / "cgroup.controllers")):
                path = root / f"course-grade-{uuid.uuid4().hex[:12]}"
                try:
                    path.mkdir()
                    (path / "pids.max").write_text(str(limit))
                except OSError:
                    continue
                self.path = path
                break

    def join(self) -> None:
        """Put the calling process (the child, before it runs the sandbox) into the cgroup."""
        if self.path is not None:
            (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def close(self) -> None:
        """Kill whatever is still in the cgroup, then remove it."""
        if self.path is None:
            return
        for _ in range(50):
            pids = [int(p) for p in _read(self.path / "cgroup.procs").split()]
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        try:
            self.path.rmdir()
        except OSError:
            pass
        self.path = None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def start(argv: list[str], scratch: Path, limits: Limits, *, isolate: bool = True,
          stderr=subprocess.DEVNULL) -> tuple[subprocess.Popen, ProcessLimit]:
    """Start ``argv`` (stdin and stdout are pipes) with ``limits``, under bubblewrap when ``isolate``.

    Returns the process and its process limit; call ``stop`` when done (it kills the whole tree).
    """
    scratch.mkdir(parents=True, exist_ok=True)
    if isolate:
        if bubblewrap() is None:
            raise RuntimeError("bubblewrap (bwrap) is not installed: on Debian or Ubuntu `sudo apt-get install "
                               "bubblewrap`; elsewhere grade with --no-sandbox (no isolation, see README)")
        argv = sandbox_command(argv, scratch)
    cgroup = ProcessLimit(limits.processes)

    def in_child() -> None:
        os.setsid()  # its own process group, so that stop() can kill the whole tree
        cgroup.join()
        import resource

        for name, value in (("RLIMIT_AS", limits.memory_bytes), ("RLIMIT_CPU", limits.cpu_seconds),
                            ("RLIMIT_FSIZE", limits.file_bytes), ("RLIMIT_CORE", 0)):
            if hasattr(resource, name):
                try:
                    resource.setrlimit(getattr(resource, name), (value, value))
                except (ValueError, OSError):
                    pass
        if cgroup.path is None and os.getuid() != 0 and hasattr(resource, "RLIMIT_NPROC"):
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))

    env = None if isolate else {**os.environ, "PYTHONPATH": str(ROOT), "COURSE_OFFLINE": "1", "MPLBACKEND": "Agg",
                                "HOME": str(scratch), "COURSE_DATA_HOME": str(scratch / "data")}
    process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                               cwd=None if isolate else scratch, env=env, preexec_fn=in_child)
    return process, cgroup


def stop(process: subprocess.Popen, cgroup: ProcessLimit) -> None:
    """Kill the process, its group and everything left in its cgroup."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    cgroup.close()
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            try:
                stream.close()
            except OSError:
                pass
