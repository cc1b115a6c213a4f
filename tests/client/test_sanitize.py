"""Whatever a server sends, the terminal client never prints a control sequence raw to a
terminal, in any mode (issue: ``parley connect --raw`` with piped input printed an OSC 52
clipboard write and a screen clear as they came)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from parley.client.sanitize import safe
from tests.client.conftest import CLI_ENV
from tests.helpers.process import ServerProcess, child_setup

HOSTILE = [
    "\x1b]52;c;aGVsbG8=\x07",  # OSC 52: write the clipboard
    "\x1b[2J\x1b[H",  # clear the screen, cursor home
    "\x1b]0;owned\x07",  # retitle the window
    "\x9b31m",  # C1 CSI
    "\u202eevil",  # right-to-left override
]


def test_safe_escapes_every_control_and_reordering_character() -> None:
    for text in HOSTILE:
        shown = safe(text)
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in shown), shown
        assert "\u202e" not in shown
    assert safe("tab\tand\nnewline ✓") == "tab\tand\nnewline ✓"


def run_with_terminal_output(args: list[str], stdin: str, timeout: float = 30) -> bytes:
    """``parley ARGS`` with ``stdin`` piped in and standard output and error on a terminal:
    everything it printed there."""
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "parley", *args],
        stdin=subprocess.PIPE,
        stdout=secondary,
        stderr=secondary,
        env={**os.environ, **CLI_ENV},
        preexec_fn=child_setup,
    )
    os.close(secondary)
    assert proc.stdin is not None
    proc.stdin.write(stdin.encode())
    proc.stdin.close()
    output = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([primary], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
        elif proc.poll() is not None:
            break
    proc.wait(10)
    os.close(primary)
    return output


@pytest.mark.parametrize("hostile", HOSTILE)
def test_raw_mode_with_piped_input_cleans_what_it_prints_to_a_terminal(
    server_factory: Callable[..., ServerProcess], hostile: str
) -> None:
    echo = server_factory("echo", "--verbatim")
    printed = run_with_terminal_output(["connect", "--raw", echo.ws_url], hostile + "\n")
    assert b"\x1b" not in printed, printed
    assert b"\x9b" not in printed, printed  # C1 CSI, raw or UTF-8 encoded (C2 9B)
    assert "\u202e".encode() not in printed, printed
    assert safe(hostile).encode() in printed, printed  # shown, escaped, not dropped


def test_raw_mode_into_a_pipe_passes_text_unchanged(
    server_factory: Callable[..., ServerProcess],
) -> None:
    echo = server_factory("echo", "--verbatim")
    done = subprocess.run(
        [sys.executable, "-m", "parley", "connect", "--raw", echo.ws_url],
        input="\x1b[2J\n",
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **CLI_ENV},
    )
    assert done.stdout == "\x1b[2J\n"  # a pipe gets what the server sent
