"""The tutorial's own Node servers, run unchanged as the baseline Parley is compared with.

``tutorial/index.js`` (echo: "We received your M") and ``tutorial/app.js`` (broadcast every
message to every client, the sender included) are the seed Parley grew from; issue #7's
targets are ratios against them. They are run exactly as written, so this module only
provides what they need around them:

* the ``ws`` package (``npm install ws@8 --no-audit --no-fund``), installed once into
  ``bench/.work/node/ws8/`` (git-ignored) and reused by every run through a symlinked
  ``node_modules``;
* a fresh temporary folder per run holding a copy of the file, so the code measured is the
  repository's at that moment;
* ``taskset -c CPU node FILE`` with stdout and stderr going to a log file (the servers print
  a line per connection: a pipe nobody reads would fill up and block them), and the wait for
  ``socket initialized on port 8080``. That line is printed *before* the asynchronous
  ``listen`` completes, so the port is also polled until it accepts.

Both files hard-code port 8080: a run refuses to start while something else listens there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent
REPO = BENCH.parent
TUTORIAL = REPO / "tutorial"
CACHE = BENCH / ".work" / "node"
WS_SPEC = "ws@8"
#: The port both tutorial files listen on (hard-coded in them).
PORT = 8080
READY_LINE = f"socket initialized on port {PORT}"

#: Which tutorial file each server is.
FILES = {"echo": "index.js", "broadcast": "app.js"}


def node_version() -> str:
    """``node --version`` (``?`` when Node is missing)."""
    try:
        done = subprocess.run(
            ["node", "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return done.stdout.strip() or "?"


def install_ws(cache: Path = CACHE) -> Path:
    """The ``node_modules`` folder holding ``ws@8``, running ``npm install`` once if needed.

    A marker file written after a successful install makes an interrupted install retry
    instead of being trusted half done.
    """
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise RuntimeError("node and npm are needed for the tutorial's servers: install Node.js")
    home = cache / "ws8"
    modules = home / "node_modules"
    marker = home / ".installed"
    if marker.exists() and (modules / "ws" / "package.json").exists():
        return modules
    home.mkdir(parents=True, exist_ok=True)
    package = home / "package.json"
    if not package.exists():
        package.write_text(json.dumps({"name": "parley-bench-node", "private": True}) + "\n")
    done = subprocess.run(
        ["npm", "install", WS_SPEC, "--no-audit", "--no-fund"],
        cwd=home,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"npm install {WS_SPEC} failed:\n{done.stderr[-2000:]}")
    marker.write_text(WS_SPEC + "\n")
    return modules


def ws_version(modules: Path) -> str:
    """The installed ``ws`` version."""
    try:
        return str(json.loads((modules / "ws" / "package.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return "?"


def port_in_use(port: int = PORT) -> bool:
    """Whether something accepts connections on ``127.0.0.1:port``."""
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


#: Servers started and not yet stopped, so that an interrupted benchmark leaves none behind.
_RUNNING: set[NodeServer] = set()


def stop_all() -> None:
    """Stop every Node server still running (for the benchmark's last ``finally``)."""
    for server in list(_RUNNING):
        server.stop()


class NodeServer:
    """One of the tutorial's servers (``echo`` = index.js, ``broadcast`` = app.js), pinned to
    one CPU with ``taskset``, on port 8080."""

    def __init__(self, kind: str, modules: Path, *, cpu: int) -> None:
        if kind not in FILES:
            raise ValueError(f"unknown tutorial server {kind!r}: one of {sorted(FILES)}")
        self.kind = kind
        self.file = FILES[kind]
        self.modules = modules
        self.cpu = cpu
        self.port = PORT
        self.pid = 0
        self.returncode: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.log_path: Path | None = None

    @property
    def argv(self) -> list[str]:
        return ["taskset", "-c", str(self.cpu), "node", self.file]

    def _spawn(self, folder: Path, log_path: Path) -> subprocess.Popen[bytes]:
        with log_path.open("wb") as log:
            return subprocess.Popen(
                self.argv,
                cwd=folder,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    async def start(self, within: float = 30.0) -> None:
        """Copy the file into a fresh folder, start it, wait until port 8080 accepts."""
        for _ in range(int(within / 0.25)):  # a previous server may still be exiting
            if not port_in_use():
                break
            await asyncio.sleep(0.25)
        else:
            raise RuntimeError(
                f"port {PORT} is in use by another process: the tutorial's {self.file} "
                "hard-codes it, so it cannot be benchmarked until that port is free"
            )
        self._tmp = tempfile.TemporaryDirectory(prefix="parley-bench-node-")
        folder = Path(self._tmp.name)
        shutil.copy2(TUTORIAL / self.file, folder / self.file)
        (folder / "node_modules").symlink_to(self.modules, target_is_directory=True)
        self.log_path = folder / "server.log"
        self._proc = self._spawn(folder, self.log_path)
        _RUNNING.add(self)
        self.pid = self._proc.pid  # taskset execs: this is node's own pid
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                break
            if READY_LINE in self.log_text() and port_in_use():
                return
            await asyncio.sleep(0.05)
        log_text = self.log_text()
        self.stop()
        raise RuntimeError(f"node {self.file} did not start; its output:\n{log_text[-2000:]}")

    def alive(self) -> bool:
        """Whether the process is still running (to tell a crash from our own SIGTERM)."""
        return self._proc is not None and self._proc.poll() is None

    def log_text(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def log_problems(self) -> list[str]:
        """Output lines that are not the tutorial's own chatter (errors, stack traces)."""
        chatter = {READY_LINE, "Client connected", "Client disconnected"}
        return [line for line in self.log_text().splitlines() if line.strip() not in chatter]

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, then SIGKILL if it hangs; removes the run's folder."""
        _RUNNING.discard(self)
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if proc is not None:
            self.returncode = proc.returncode
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                self._tmp.cleanup()
            self._tmp = None
