"""Headless Chromium for the tests marked ``browser`` (the slide decks, the website, the student's JupyterLab).

Debian's ``chromium`` package (``make browser`` installs it as root with apt-get); a test that needs it and finds none
is skipped with a message naming that command. The browser is driven through the Chrome DevTools Protocol over a pipe
(``--remote-debugging-pipe``), so no debugging port is opened and no extra library is needed. Every host name fails
to resolve and every proxied connection goes to a proxy that does not exist: a page can reach files, data: URLs and
servers on this machine's loopback interface, nothing else.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium")
#: The skip message of a test that needs the browser.
INSTALL = "Debian's chromium is not installed: `make browser` installs it (as root, with apt-get)"
#: URL schemes that never leave the machine.
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:", "chrome-extension:", "devtools:")
#: Chromium's switches for a quiet headless run with no network beyond loopback.
OFFLINE_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-quic",
                # Every name fails to resolve and every connection goes to a proxy that does not exist (loopback
                # addresses bypass the proxy, so a test can serve pages from 127.0.0.1).
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--proxy-server=http://127.0.0.1:9",
                "--allow-file-access-from-files"]


def require_chromium() -> str:
    """The chromium executable, or skip the calling test with the command that installs it."""
    if CHROMIUM is None:
        pytest.skip(INSTALL)
    return CHROMIUM


class Chromium:
    """Headless Chromium driven over the DevTools protocol on a pipe (fd 3: commands in, fd 4: replies out).

    Thread-safe: several tabs may be driven at once from different threads.
    """

    def __init__(self, profile: Path, window: tuple[int, int] = (1280, 900)):
        to_chrome, self._write = os.pipe()
        self._read, from_chrome = os.pipe()

        def fds_3_and_4():  # runs in the child: the protocol pipe must be exactly fds 3 and 4
            inbound, outbound = (fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_chrome, from_chrome))
            os.dup2(inbound, 3)
            os.dup2(outbound, 4)

        args = [require_chromium(), *OFFLINE_ARGS, "--remote-debugging-pipe",
                "--autoplay-policy=no-user-gesture-required", f"--user-data-dir={profile}",
                f"--window-size={window[0]},{window[1]}", "about:blank"]
        self.process = subprocess.Popen(args, preexec_fn=fds_3_and_4, close_fds=False,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome)
        os.close(from_chrome)
        self._replies: dict[int, queue.Queue] = {}
        self._events: list[dict] = []
        self._next_id = 0
        self._targets: dict[str, tuple[str, dict]] = {}
        self._lock = threading.Lock()
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self) -> None:
        """Split the byte stream at NUL bytes; replies go to whoever waits for their id, events to a list."""
        buffer = b""
        while chunk := os.read(self._read, 1 << 16):
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            for raw in messages:
                message = json.loads(raw)
                if "id" in message:
                    with self._lock:
                        box = self._replies.setdefault(message["id"], queue.Queue())
                    box.put(message)
                else:
                    with self._lock:
                        self._events.append(message)

    def send(self, method: str, session: str | None = None, timeout: float = 60, **params) -> dict:
        """One protocol command; its result (or an AssertionError with the browser's error)."""
        message = {"method": method, "params": params} | ({"sessionId": session} if session else {})
        with self._lock:  # one writer at a time: a message longer than the pipe's atomic size must not interleave
            self._next_id += 1
            number = message["id"] = self._next_id
            box = self._replies.setdefault(number, queue.Queue())
            os.write(self._write, json.dumps(message).encode() + b"\0")
        reply = box.get(timeout=timeout)
        with self._lock:
            del self._replies[number]
        assert "error" not in reply, f"{method}: {reply['error']}"
        return reply["result"]

    def events(self, session: str) -> list[dict]:
        with self._lock:
            return [event for event in self._events if event.get("sessionId") == session]

    def evaluate(self, session: str, expression: str, timeout: float = 60):
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = self.send("Runtime.evaluate", session, timeout=timeout, expression=expression, awaitPromise=True,
                           returnByValue=True)
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def open(self, url: str, private: bool = False) -> str:
        """A new tab with network, console and log events recorded, navigated to ``url`` and loaded: its session.

        ``private``: the tab gets a browser context of its own (its own storage and cookies, like a separate browser),
        so that pages opened at the same time cannot see each other (JupyterLab tabs share state through storage).
        """
        context = {"browserContextId": self.send("Target.createBrowserContext")["browserContextId"]} if private else {}
        target = self.send("Target.createTarget", url="about:blank", **context)["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Network", "Runtime", "Log", "Page"):
            self.send(f"{domain}.enable", session)
        self._targets[session] = target, context
        self.send("Page.navigate", session, url=url)
        deadline = time.monotonic() + 60
        while not any(e["method"] == "Page.loadEventFired" for e in self.events(session)):
            assert time.monotonic() < deadline, f"{url} did not finish loading"
            time.sleep(0.05)
        self.evaluate(session, "window.MathJax?.startup?.promise ?? null")  # typesetting finished (or no math)
        return session

    def screenshot(self, session: str, path: Path) -> Path:
        """The tab's viewport as a PNG file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", session, format="png")["data"]))
        return path

    def close_tab(self, session: str) -> None:
        target, context = self._targets.pop(session)
        self.send("Target.closeTarget", targetId=target)
        if context:
            self.send("Target.disposeBrowserContext", **context)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def network_and_errors(events: list[dict], local: tuple[str, ...] = ()) -> tuple[list[str], list[str]]:
    """Requests that would leave the machine, and console errors / uncaught exceptions, from a tab's events.

    ``local``: URL prefixes that count as on the machine besides LOCAL_SCHEMES (a test's own server on loopback).
    """
    remote, errors = [], []
    for event in events:
        method, params = event["method"], event.get("params", {})
        if method == "Network.requestWillBeSent" and not params["request"]["url"].startswith(LOCAL_SCHEMES + local):
            remote.append(params["request"]["url"])
        elif method == "Runtime.exceptionThrown":
            errors.append(params["exceptionDetails"].get("exception", {}).get("description", str(params)))
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            errors.append(" ".join(str(arg.get("value", arg.get("description"))) for arg in params["args"]))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            errors.append(f"{params['entry']['text']} {params['entry'].get('url', '')}")
    return remote, errors
