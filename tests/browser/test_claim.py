"""A claim link in a real browser: an account made by ``parley import --from slack`` is
claimed on ``/claim#TOKEN`` (a refused password first), then chats, signed in."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import expect

from tests.browser.chatpage import OpenChat
from tests.conftest import TEST_ENV
from tests.helpers.process import ServerProcess
from tests.helpers.slack_export import write_slack_export


def test_a_claim_link_sets_the_password_and_signs_in(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat, tmp_path: Path
) -> None:
    made = write_slack_export(tmp_path / "slack.zip", days=1, per_day=8)
    imported = subprocess.run(
        [
            sys.executable,
            "-m",
            "parley",
            "import",
            "--from",
            "slack",
            str(made.path),
            "--db",
            str(tmp_path / "parley.db"),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, **TEST_ENV},
    )
    tokens = dict(line.split("\t") for line in imported.stdout.splitlines())
    server = server_factory("serve")
    page = open_chat(server).new()
    page.goto(f"{server.http_url}/claim#{tokens['zoe']}")
    page.fill("#claim-password", "short")
    page.click("#claim-submit")
    expect(page.locator("#claim-error")).to_contain_text("at least 8")
    page.fill("#claim-password", "a long enough passphrase")
    page.click("#claim-submit")
    expect(page.locator("#me-name")).to_have_text("zoe")
    assert tokens["zoe"] not in page.url  # the used token left the address bar (a room may be)

    used = open_chat(server).new()
    used.goto(f"{server.http_url}/claim#{tokens['zoe']}")
    used.fill("#claim-password", "another long passphrase")
    used.click("#claim-submit")
    expect(used.locator("#claim-error")).to_contain_text("unknown, used or expired")

    empty = open_chat(server).new()
    empty.goto(f"{server.http_url}/claim")
    expect(empty.locator("#claim-error")).to_contain_text("no claim token")
    expect(empty.locator("#claim-submit")).to_be_disabled()
