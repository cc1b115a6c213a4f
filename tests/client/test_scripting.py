"""``parley send`` and ``parley tail`` in shell pipelines, and every kind of bad input as one
line and a non-zero exit code, never a traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.client.conftest import CLI_ENV, run_parley
from tests.helpers.chat import PASSWORD, register
from tests.helpers.process import ServerProcess, child_setup

PARLEY = f"{sys.executable} -m parley"


def shell(
    script: str, *, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", script],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **CLI_ENV, **env},
        stdin=subprocess.DEVNULL,
    )


class Tail:
    """``parley tail`` running in the background; its output lines are collected."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "parley", "tail", *args],
            preexec_fn=child_setup,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env={**os.environ, **CLI_ENV, **(env or {})},
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def events(self, count: int, timeout: float = 30) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.lines) < count:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError(f"tail printed {self.lines}, stderr: {self.stderr()}")
            time.sleep(0.05)
        return [json.loads(line) for line in self.lines[:count]]

    def finish(self, signum: int | None = signal.SIGINT, timeout: float = 30) -> int:
        """Stop tail (with ``signum``; ``None``: wait for it to exit by itself)."""
        if signum is not None and self.proc.poll() is None:
            self.proc.send_signal(signum)
        try:
            return self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(5)
            self._reader.join(5)
            assert self.proc.stdout is not None
            assert self.proc.stderr is not None
            self.proc.stdout.close()
            self.error_output = self.proc.stderr.read()
            self.proc.stderr.close()

    def stderr(self) -> str:
        return getattr(self, "error_output", "")


def test_send_prints_the_ack_and_tail_prints_the_event(server: ServerProcess) -> None:
    alice, bob = register(server.http_url, "alice"), register(server.http_url, "bob")
    tail = Tail(server.http_url, "lobby", "--since", "0", env={"PARLEY_TOKEN": bob})
    tail.events(2)  # the two joins: tail is connected
    sent = run_parley("send", server.http_url, "lobby", "hello pipeline", "--token", alice)
    assert (sent.returncode, sent.stderr) == (0, "")
    ack = json.loads(sent.stdout)
    assert ack["type"] == "ack"
    assert ack["room"] == "lobby"
    assert set(ack) == {"type", "cid", "room", "seq", "mid", "ts"}
    event = tail.events(3)[2]
    assert event["kind"] == "message"
    assert (event["seq"], event["user"], event["text"]) == (ack["seq"], "alice", "hello pipeline")
    assert tail.finish(signal.SIGINT) == 0  # Ctrl-C: exit 0, quietly
    assert tail.stderr() == ""


def test_send_and_tail_in_a_shell_pipeline(server: ServerProcess) -> None:
    register(server.http_url, "alice")
    url = server.http_url
    # The password on the first line of standard input, the message on the rest.
    sent = shell(
        f'printf "%s\\n" "$PW" "line one" "line two" '
        f"| {PARLEY} send {url} lobby - --user alice --password-stdin -q",
        env={"PW": PASSWORD},
    )
    assert (sent.returncode, sent.stdout, sent.stderr) == (0, "", "")
    for n in range(3):
        assert shell(f'{PARLEY} send {url} lobby "number {n}" -q --user alice --password-stdin '
                     '<<< "$PW"', env={"PW": PASSWORD}).returncode == 0  # fmt: skip
    # The history since seq 0 as JSON lines, cut by head. Like any follower (tail -f | head),
    # parley tail notices that head is gone when it next writes: then it exits quietly.
    pipeline = subprocess.Popen(
        [
            "bash",
            "-o",
            "pipefail",
            "-c",
            f'{PARLEY} tail {url} lobby --since 0 --user alice --password-stdin <<< "$PW" '
            f"| head -n 3 | {sys.executable} -c "
            "'import json,sys; [print(json.loads(l)[\"kind\"]) for l in sys.stdin]'",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **CLI_ENV, "PW": PASSWORD},
    )
    deadline = time.monotonic() + 30
    while pipeline.poll() is None and time.monotonic() < deadline:
        shell(f'{PARLEY} send {url} lobby "more" -q --user alice --password-stdin <<< "$PW"',
              env={"PW": PASSWORD})  # fmt: skip
        time.sleep(0.5)
    stdout, stderr = pipeline.communicate(timeout=30)
    assert pipeline.returncode == 0, stderr
    assert stdout.split() == ["join", "message", "message"]
    assert "Traceback" not in stderr


def test_tail_since_replays_in_order_then_follows_live(server: ServerProcess) -> None:
    alice = register(server.http_url, "alice")
    acks = [
        json.loads(run_parley("send", server.http_url, "lobby", f"m{i}", "--token", alice).stdout)
        for i in range(3)
    ]
    tail = Tail(server.http_url, "lobby", "--since", str(acks[0]["seq"]), "--token", alice)
    assert [e["text"] for e in tail.events(2)] == ["m1", "m2"]
    run_parley("send", server.http_url, "lobby", "live", "--token", alice)
    assert tail.events(3)[2]["text"] == "live"
    assert tail.finish() == 0


def test_tail_and_send_need_membership_or_join(server: ServerProcess) -> None:
    alice, bob = register(server.http_url, "alice"), register(server.http_url, "bob")
    from asyncio import run

    from parley.client import Client

    async def create() -> None:
        async with Client(server.http_url, token=alice) as client:
            await client.create("games")

    run(create())
    refused = run_parley("send", server.http_url, "games", "hi", "--token", bob)
    assert refused.returncode == 1
    assert refused.stderr == "parley: you are not a member of 'games' (add --join to join it)\n"
    joined = run_parley("send", server.http_url, "games", "hi", "--join", "--token", bob)
    assert joined.returncode == 0, joined.stderr


def test_tail_gives_up_when_the_server_is_gone_for_good(
    server_factory: Callable[..., ServerProcess],
) -> None:
    server = server_factory("serve")
    token = register(server.http_url, "alice")
    tail = Tail(server.http_url, "lobby", "--since", "0", "--retry-for", "3", "--token", token)
    tail.events(1)  # connected
    server.stop()
    code = tail.finish(signum=None)
    stderr = tail.stderr()
    assert code == 1
    lines = stderr.strip().splitlines()
    assert lines[0] == "parley: connection lost (1001); reconnecting"
    assert lines[-1].startswith(f"parley: cannot connect to ws://127.0.0.1:{server.port}/ws: ")
    assert lines[-1].endswith("(gave up after 3 s)")
    assert "Traceback" not in stderr


def test_raw_mode_in_a_pipe(echo_server: ServerProcess) -> None:
    done = run_parley("connect", "--raw", echo_server.ws_url, stdin="one\ntwo\n")
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        "We received your one\nWe received your two\n",
        "",
    )


def test_raw_mode_server_going_away_is_one_line(
    server_factory: Callable[..., ServerProcess],
) -> None:
    echo = server_factory("echo")
    proc = subprocess.Popen(
        [sys.executable, "-m", "parley", "connect", "--raw", echo.ws_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **CLI_ENV},
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    proc.stdin.write("ping\n")
    proc.stdin.flush()
    assert proc.stdout.readline() == "We received your ping\n"
    echo.stop()
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert stderr.startswith("parley: the server closed the connection: 1001 (going away)")
    assert stderr.count("\n") == 1


# -- bad input: one line, an exit code, no traceback --------------------------------------------


def one_line_failure(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout == ""
    if code == 1:
        assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr.strip()


def test_unreachable_server() -> None:
    raw = one_line_failure(run_parley("connect", "--raw", "ws://127.0.0.1:1"), 1)
    assert raw == "parley: cannot connect to ws://127.0.0.1:1/: connection refused"
    sent = one_line_failure(
        run_parley("send", "http://127.0.0.1:1", "lobby", "hi", "--token", "t"), 1
    )
    assert sent == "parley: cannot connect to ws://127.0.0.1:1/ws: connection refused"
    login = one_line_failure(
        run_parley(
            "tail", "http://127.0.0.1:1", "lobby", "-u", "al", "--password-stdin", stdin="pw\n"
        ),
        1,
    )
    assert login.startswith("parley: cannot connect to http://127.0.0.1:1/api/login: ")
    nowhere = one_line_failure(run_parley("connect", "--raw", "ws://no-such-host.invalid"), 1)
    assert nowhere.startswith("parley: cannot connect to ws://no-such-host.invalid/: ")


def test_refused_handshakes(
    server: ServerProcess, server_factory: Callable[..., ServerProcess], echo_server: ServerProcess
) -> None:
    bad_token = one_line_failure(
        run_parley("send", server.http_url, "lobby", "x", "--token", "bad"), 1
    )
    assert bad_token == ("parley: the server refused the session: invalid or expired session token")
    not_parley = one_line_failure(run_parley("connect", echo_server.http_url, "--token", "t"), 1)
    assert not_parley.startswith(
        "parley: the server refused the WebSocket handshake: 400 Bad Request: "
        "unsupported subprotocol 'parley.v1'"
    )
    assert "--raw" in not_parley
    no_guests = server_factory("serve", "--guests", "off")
    refused = one_line_failure(run_parley("connect", "--raw", no_guests.ws_url), 1)
    assert refused == (
        "parley: the server refused the WebSocket handshake: 403 Forbidden: "
        "plain-text guests are switched off here: use the parley.v1 subprotocol"
    )
    page = one_line_failure(run_parley("connect", "--raw", server.http_url + "/healthz"), 1)
    assert page.startswith("parley: the server refused the WebSocket handshake: ")


def test_wrong_password(server: ServerProcess) -> None:
    register(server.http_url, "alice")
    for args in (
        ["send", server.http_url, "lobby", "hi"],
        ["tail", server.http_url, "lobby"],
        ["connect", server.http_url],
    ):
        result = run_parley(*args, "--user", "alice", "--password-stdin", stdin="wrong one\n")
        failure = one_line_failure(result, 1)
        assert failure == "parley: cannot sign in as alice: wrong user name or password"


@pytest.mark.parametrize(
    "args",
    [
        ["connect", "ftp://example.org"],
        ["connect", "http://127.0.0.1:99999"],
        ["connect", "--raw", "ws://127.0.0.1:1", "--header", "no colon"],
        ["connect", "--raw", "ws://127.0.0.1:1", "--user", "alice"],
        ["connect", "ws://127.0.0.1:1", "--subprotocol", "x", "--token", "t"],
        ["connect", "ws://127.0.0.1:1", "--room", "no spaces", "--token", "t"],
        ["connect", "ws://127.0.0.1:1"],  # no terminal to ask for credentials
        ["send", "http://127.0.0.1:1", "not a room!", "hi", "--token", "t"],
        ["send", "http://127.0.0.1:1", "lobby", "   ", "--token", "t"],
        ["send", "http://127.0.0.1:1", "lobby", "hi"],  # no credentials
        ["send", "http://127.0.0.1:1", "lobby", "hi", "--token", "t", "--user", "u"],
        ["send", "http://127.0.0.1:1", "lobby", "hi", "--password-stdin"],
        ["send", "http://127.0.0.1:1", "lobby", "hi", "--user", "u"],  # no password source
        ["tail", "http://127.0.0.1:1", "lobby", "--since", "-1", "--token", "t"],
        ["tail", "http://127.0.0.1:1", "lobby", "--retry-for", "soon", "--token", "t"],
        ["tail", "http://127.0.0.1:1"],
    ],
)
def test_invalid_arguments_are_usage_errors(args: list[str]) -> None:
    result = run_parley(*args, env={"PARLEY_TOKEN": ""})
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1, result.stderr  # one line, never a traceback
    assert result.stderr.startswith(f"parley {args[0]}: "), result.stderr
