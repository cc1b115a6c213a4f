"""The README's commands on a fresh clone, run as a newcomer runs them: the first run of each
creates the clone's own ``.venv``, installs, and then does its job, with or without a terminal.

CI only runs ``./dev test``, which installs differently (the test extras) and so cannot notice a
first run of ``./dev serve`` that installs and then stops: these tests run those first runs.
The "clone" holds what ``git clone`` of this checkout would, plus its uncommitted edits and new
files, so a change is tested before it is committed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pexpect

from parley import __version__
from tests.conftest import TEST_ENV
from tests.helpers.process import PORT_LINE, OutputProcess, child_setup

REPO = Path(__file__).resolve().parents[1]
INSTALL_TIMEOUT = 300  # seconds: a new virtual environment and pip install, on a busy machine


def fresh_clone(into: Path) -> Path:
    """Copy the files ``git clone`` would give (tracked, plus new files not ignored) to ``into``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():  # a tracked file deleted in the working tree is not copied
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    return into


def newcomer_env() -> dict[str, str]:
    """This environment without anything that points at the suite's own virtual environment."""
    env = {k: v for k, v in os.environ.items() if k not in ("PARLEY_VENV", "PYTHON", "VIRTUAL_ENV")}
    venv_bin = str(Path(sys.prefix) / "bin")
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if p != venv_bin)
    return {**env, **TEST_ENV}


def test_first_run_of_dev_serve_serves_the_chat(tmp_path: Path) -> None:
    clone = fresh_clone(tmp_path / "parley")
    server = OutputProcess(["./dev", "serve", "--port", "0"], cwd=clone, env=newcomer_env())
    try:
        port = int(server.wait_for_line(PORT_LINE.pattern, timeout=INSTALL_TIMEOUT).group(1))
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as page:
            assert page.status == 200
            assert "Parley" in page.read().decode()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as health:
            assert health.status == 200
    finally:
        code = server.stop()
    assert code == 0, server.output
    assert (clone / ".venv" / ".installed-runtime").exists()
    assert (clone / "parley.db").exists()  # the README's default database, in the clone
    # Installed now: the next command runs at once.
    again = subprocess.run(
        ["./dev", "parley", "--version"],
        cwd=clone,
        env=newcomer_env(),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert (again.returncode, again.stdout) == (0, f"parley, version {__version__}\n")
    assert again.stderr == ""


def test_first_run_of_dev_parley_in_a_terminal_prints_the_version(tmp_path: Path) -> None:
    clone = fresh_clone(tmp_path / "parley")
    child = pexpect.spawn(
        "./dev",
        ["parley", "--version"],
        cwd=str(clone),
        env=newcomer_env(),
        encoding="utf-8",
        timeout=INSTALL_TIMEOUT,
        preexec_fn=child_setup,
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert f"parley, version {__version__}" in child.before
