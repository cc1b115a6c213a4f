"""``parley export`` and ``parley import`` as the operator runs them: files, exit codes,
progress on standard error, claim links on standard output, and a claimed account signing in
on a server started on the imported database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from parley.backends import open_blobs
from parley.transfer.progress import Progress
from tests.conftest import TEST_ENV
from tests.helpers.chat import PASSWORD, Chat, http_json, http_status, login
from tests.helpers.files import fetch
from tests.helpers.mattermost_export import PDF, write_mattermost_export
from tests.helpers.process import ServerProcess
from tests.helpers.slack_export import write_slack_export
from tests.store.test_store_transfer import BIG, BIG_FILE_ID, NOTE_2_ID, fill, fill_files


def parley(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "parley", *args],
        input=stdin,
        capture_output=True,
        timeout=120,
        env={**os.environ, **TEST_ENV},
        stdin=None if stdin is not None else subprocess.DEVNULL,
        check=False,
    )


def make_database(path: Path) -> None:
    """A SQLite database with a little of everything, files too (in ``PATH.files``, the
    default blob directory beside it)."""
    from parley.store.sqlite import SQLiteStore

    async def run() -> None:
        store = SQLiteStore(path)
        await store.start()
        blobs = open_blobs(path, None)
        await blobs.start()
        try:
            await fill(store)
            await fill_files(store, blobs)
        finally:
            await blobs.close()
            await store.close()

    asyncio.run(run())


def test_export_then_import_through_the_command_line(tmp_path: Path) -> None:
    make_database(tmp_path / "a.db")
    exported = parley("export", "--db", str(tmp_path / "a.db"), "-o", str(tmp_path / "a.jsonl"))
    assert exported.returncode == 0, exported.stderr
    assert b"exported " in exported.stderr  # the last progress line, always written
    to_stdout = parley("export", "--db", str(tmp_path / "a.db"), "--quiet")
    assert to_stdout.stdout == (tmp_path / "a.jsonl").read_bytes()
    assert to_stdout.stderr == b""

    imported = parley(
        "import",
        str(tmp_path / "a.jsonl"),
        "--db",
        str(tmp_path / "b.db"),
        "--public-url",
        "https://chat.example.com",
    )
    assert imported.returncode == 0, imported.stderr
    claims = dict(line.split("\t") for line in imported.stdout.decode().splitlines())
    assert sorted(claims) == ["Alice", "bob", "carol.x"]
    assert all(link.startswith("https://chat.example.com/claim#") for link in claims.values())
    assert b"imported " in imported.stderr

    again = parley("export", "--db", str(tmp_path / "b.db"), "--quiet")
    assert again.stdout == (tmp_path / "a.jsonl").read_bytes()

    # From standard input, into a database that is not empty: refused, nothing changed.
    refused = parley("import", "-", "--db", str(tmp_path / "b.db"), stdin=again.stdout)
    assert refused.returncode == 1
    assert refused.stderr.decode().startswith("parley: import failed: the database is not empty")
    assert "part of the import" not in refused.stderr.decode()


def test_a_broken_export_fails_in_one_line_and_says_what_is_left(tmp_path: Path) -> None:
    make_database(tmp_path / "a.db")
    data = parley("export", "--db", str(tmp_path / "a.db"), "--quiet").stdout
    cut = data[: len(data) // 2].rsplit(b"\n", 1)[0] + b"\n"
    (tmp_path / "cut.jsonl").write_bytes(cut)
    failed = parley("import", str(tmp_path / "cut.jsonl"), "--db", str(tmp_path / "b.db"))
    assert failed.returncode == 1
    message = failed.stderr.decode().strip().splitlines()[-1]
    assert "cut short" in message
    assert "holds part of the import" in message
    assert "Traceback" not in failed.stderr.decode()
    missing = parley("import", str(tmp_path / "nope.jsonl"), "--db", str(tmp_path / "c.db"))
    assert missing.returncode == 2


async def test_an_imported_file_is_served_to_a_member(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    await asyncio.to_thread(make_database, tmp_path / "a.db")
    data = parley("export", "--db", str(tmp_path / "a.db"), "--quiet").stdout
    imported = parley("import", "-", "--db", str(tmp_path / "parley.db"), stdin=data)
    assert imported.returncode == 0, imported.stderr
    tokens = dict(line.split("\t") for line in imported.stdout.decode().splitlines())
    # The bytes are in the new server's own file directory, not read from the old one's.
    assert (tmp_path / "parley.db.files").is_dir()

    server = server_factory("serve")
    base = server.http_url
    for name in ("bob", "Alice"):
        claimed = http_json(f"{base}/api/claim", {"token": tokens[name], "password": PASSWORD})
        assert claimed[0] == 200, claimed
    status, _, served = await fetch(base, login(base, "bob"), f"/files/{BIG_FILE_ID}/x.bin")
    assert (status, served == BIG) == (200, True)  # a member of the room reads it
    status, _, _ = await fetch(base, login(base, "bob"), f"/files/{NOTE_2_ID}/x.bin")
    assert status == 404  # never sent: its owner's only
    status, _, served = await fetch(base, login(base, "Alice"), f"/files/{NOTE_2_ID}/x.bin")
    assert status == 200


async def test_slack_import_then_claim_and_chat(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    made = write_slack_export(tmp_path / "slack.zip", days=2, per_day=12)
    imported = parley(
        "import", "--from", "slack", str(made.path), "--db", str(tmp_path / "parley.db")
    )
    assert imported.returncode == 0, imported.stderr
    report = imported.stderr.decode()
    assert "slack: 7 users, 3 public channels" in report
    assert "renamed 'zoë' to 'zoe'" in report
    assert "not imported: " in report
    tokens = dict(line.split("\t") for line in imported.stdout.decode().splitlines())
    assert "alice" in tokens

    server = server_factory("serve")
    base = server.http_url
    assert http_json(f"{base}/api/login", {"username": "alice", "password": ""})[0] == 401
    assert http_status(f"{base}/claim") == 200  # the page a link opens
    bad = http_json(f"{base}/api/claim", {"token": "nonsense", "password": PASSWORD})
    assert (bad[0], bad[1]["error"]) == (400, "invalid_claim")
    weak = http_json(f"{base}/api/claim", {"token": tokens["alice"], "password": "short"})
    assert (weak[0], weak[1]["error"]) == (400, "weak_password")
    status, body, _ = http_json(
        f"{base}/api/claim", {"token": tokens["alice"], "password": PASSWORD}
    )
    assert (status, body["user"]["name"]) == (200, "alice")
    used = http_json(f"{base}/api/claim", {"token": tokens["alice"], "password": PASSWORD})
    assert (used[0], used[1]["error"]) == (400, "invalid_claim")  # single use
    disabled = http_json(f"{base}/api/claim", {"token": tokens["old-timer"], "password": PASSWORD})
    assert (disabled[0], disabled[1]["error"]) == (403, "account_disabled")

    chat = await Chat.connect(server.ws_url, login(base, "alice"))
    reply = await chat.command("history", room="general", limit=50)
    texts = [event.get("text") for event in reply["events"]]
    assert "hello everyone" in texts
    await chat.close()


async def test_mattermost_import_then_claim_and_read_the_history(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    made = write_mattermost_export(tmp_path / "mm.zip", posts=6)
    imported = parley(
        "import", "--from", "mattermost", str(made.path), "--db", str(tmp_path / "parley.db")
    )
    assert imported.returncode == 0, imported.stderr
    report = imported.stderr.decode()
    assert "mattermost: 5 users, 3 public channels, 1 private channels" in report
    assert "renamed 'guest' to 'mattermost-3'" in report
    assert "read (sorting by time) " in report  # progress of the reading, then of the rows
    assert "imported " in report
    tokens = dict(line.split("\t") for line in imported.stdout.decode().splitlines())
    assert sorted(tokens) == ["alice", "bob.smith", "carol", "mattermost-3", "old-timer"]

    server = server_factory("serve")
    base = server.http_url
    claimed = http_json(f"{base}/api/claim", {"token": tokens["alice"], "password": PASSWORD})
    assert claimed[0] == 200, claimed
    chat = await Chat.connect(server.ws_url, login(base, "alice"))
    reply = await chat.command("history", room="eng-general", limit=100)
    events = reply["events"]
    expected = made.events["eng-general"]
    assert [e["ts"] for e in events] == [x.ts for x in expected]
    roots = [e for e in events if e.get("replies")]
    assert roots  # the threads' summaries, from the server's own bookkeeping
    assert all(e["replies"] == 3 for e in roots)
    reacted = [e for e in events if e.get("reactions")]
    assert reacted
    [files] = [e["files"] for e in events if e.get("files")]
    pdf = next(f for f in files if f["name"] == "report Q3.pdf")
    status, _, served = await fetch(base, login(base, "alice"), f"/files/{pdf['id']}/x.pdf")
    assert (status, served) == (200, PDF)  # the attachment's bytes, from the zip's data/
    await chat.close()


def test_a_bad_mattermost_export_fails_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "v2.jsonl").write_text('{"type": "version", "version": 2}\n')
    failed = parley(
        "import", "--from", "mattermost", str(tmp_path / "v2.jsonl"), "--db", str(tmp_path / "a.db")
    )
    assert failed.returncode == 1
    assert failed.stderr.decode().splitlines() == [
        "parley: import failed: v2.jsonl line 1: version 2: only version 1 of the bulk export"
        " format is known"
    ]


def test_progress_is_rate_limited() -> None:
    clock = iter([0.0, 0.1, 0.2, 1.3, 1.4, 2.5, 2.6])
    lines: list[str] = []

    class Out:
        def write(self, text: str) -> None:
            lines.append(text)

        def flush(self) -> None:
            pass

    progress = Progress("imported", Out(), clock=lambda: next(clock))  # type: ignore[arg-type]
    for _ in range(5):
        progress.tick(1000)
    progress.done()
    assert len(lines) == 3  # at 1.3 and 2.5 s, and the last one
    assert lines[-1].startswith("imported 5,000 rows")
