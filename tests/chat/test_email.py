"""Email through a real ``parley serve --smtp-url`` and a real SMTP server (aiosmtpd): the
``email`` command, a missed mention mailed once after ``--email-delay``, and bad settings."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from tests.conftest import TEST_ENV
from tests.helpers.chat import Chat, register
from tests.helpers.process import ServerProcess
from tests.helpers.smtp import SmtpServer


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


async def test_a_missed_mention_is_mailed_once(
    server_factory: Callable[..., ServerProcess], smtp: SmtpServer
) -> None:
    server = server_factory(
        "serve",
        "--smtp-url",
        smtp.url,
        "--email-delay",
        "1s",
        "--public-url",
        "https://chat.test",
    )
    alice = await Chat.connect(server.ws_url, register(server.http_url, "alice"))
    bob = await Chat.connect(server.ws_url, register(server.http_url, "bob"))
    asked = await bob.command("email")
    assert (asked["type"], asked["address"], asked["notify"]) == ("email", "", True)
    stored = await bob.command("email", address="bob@mail.test")
    assert (stored["type"], stored["address"], stored["notify"]) == ("email", "bob@mail.test", True)
    for bad in ("not an address", "bob@mail.test\r\nBcc: eve@x.test", "<bob@mail.test>", 7):
        reply = await bob.command("email", address=bad)
        assert (reply["type"], reply["code"]) == ("error", "bad_request"), bad
    reply = await bob.command("email", notify="yes")
    assert (reply["type"], reply["code"]) == ("error", "bad_request")
    assert (await bob.command("email"))["address"] == "bob@mail.test"  # unchanged by refusals
    await alice.command("send", room="lobby", text="@bob ping")
    [mail] = smtp.wait_for(1, timeout=20)
    assert mail["To"] == "bob@mail.test"
    assert "@bob ping" in mail.get_content()
    assert "https://chat.test/#lobby" in mail.get_content()
    await asyncio.sleep(2)  # several more rounds: nothing more
    assert len(smtp.received()) == 1
    await alice.close()
    await bob.close()


@pytest.mark.parametrize(
    "url", ["ftp://mail.test", "smtp://", "smtp://mail.test:x", "smtp://h?from=nobody"]
)
def test_a_bad_smtp_url_stops_the_server_with_one_line(url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "parley", "serve", "--port", "0", "--smtp-url", url],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **TEST_ENV},
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode != 0
    assert "--smtp-url" in done.stderr
    assert "Traceback" not in done.stderr
