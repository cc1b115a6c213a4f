"""``parley import --from slack`` on both stores: a generated Slack export (never a committed
binary; tests/helpers/slack_export.py) comes in whole and in order, and bad archives are
refused with a clear error."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path

import pytest

from parley.model import EventKind
from parley.search.query import parse
from parley.store.sql.store import SQLStore
from parley.transfer import parley_format, slack_archive
from parley.transfer.jobs import import_parley, index_imported
from parley.transfer.progress import Progress
from parley.transfer.sink import ImportFailed
from parley.transfer.slack import import_slack
from tests.helpers.slack_export import CHANNELS, USERS, write_slack_export
from tests.store.test_store_transfer import exported, fresh, fresh_with_files


def quiet() -> Progress:
    return Progress("test", None)


async def test_every_message_comes_in_order_with_its_author_and_time(
    backend: str, tmp_path: Path
) -> None:
    made = write_slack_export(tmp_path / "slack.zip")
    async with fresh_with_files(backend, tmp_path / "db") as (store, blobs):
        report = await import_slack(store, made.path, quiet())
        await index_imported(store, quiet())
        for room_name, expected in made.events.items():
            room = await store.get_room(room_name)
            assert room is not None, room_name
            assert room.last_seq == len(expected)
            events = await store.events_after(room.id, 0, 1000)
            got = [(e.kind.value, e.user, e.ts) for e in events]
            assert got == [(x.kind, x.author, x.ts) for x in expected]
            assert [e.seq for e in events] == list(range(1, len(expected) + 1))
            for event, want in zip(events, expected, strict=True):
                if want.text is not None:
                    assert event.text == want.text
        assert report.users == len(USERS)
        assert report.channels == len(CHANNELS)
        assert report.replies == made.replies
        assert report.replies_without_root == made.replies_without_root
        assert report.edited == made.edited
        assert report.files == made.files
        assert report.skipped == {"channel_purpose events": made.skipped}
        assert ("zoë", "zoe") in report.renamed
        assert ("Bob.Smith", "Bob.Smith-2") in report.renamed
        assert any("1 other files" in line for line in report.lines())
        await check_converted(store)
        again = await exported(store, blobs)
    async with fresh_with_files(backend, tmp_path / "copy") as (copy, blobs):
        await import_parley(copy, blobs, io.BytesIO(again), quiet())
        assert await exported(copy, blobs) == again


async def check_converted(store: SQLStore) -> None:
    """Markup, mentions, threads, accounts: as Parley has them."""
    alice, zoe, old = [await store.get_user(n) for n in ("alice", "zoe", "old-timer")]
    assert alice is not None
    assert zoe is not None
    assert old is not None
    assert alice.is_admin
    assert old.disabled
    assert alice.password_hash == ""
    general = await store.get_room("general")
    projet = await store.get_room("projet-ete")
    assert general is not None
    assert projet is not None
    assert projet.archived
    assert general.topic == "all about general"
    events = await store.events_after(general.id, 0, 1000)
    texts = [e.text or "" for e in events if e.kind is EventKind.MESSAGE]
    assert "see the docs (https://example.com/docs?a=1&b=2) and https://parley.dev" in texts
    assert "a <tag> & more" in texts
    assert "ask #random about it" in texts
    assert any(t.endswith("\n[file: report Q3.pdf]") for t in texts)
    assert all("<@U" not in t and "&lt;" not in t for t in texts)
    mentioning = [e for e in events if e.mentions]
    assert mentioning
    assert any("@room" in e.mentions for e in mentioning)
    for event in mentioning:
        for name in event.mentions:
            assert name == "@room" or f"@{name}" in (event.text or "")
    assert any(e.edited for e in events)
    # Mentions rows follow: someone mentioned has an unread mention count.
    counts = [
        (await store.unread_state(general.id, user.id)).mentions
        for user in await store.list_users()
    ]
    assert sum(counts) == 0  # imported history is read: markers at its end
    found = await store.search(alice.id, parse("Köln"))
    assert found.events
    assert all("Köln" in (e.text or "") for e in found.events)


async def test_thread_replies_point_at_their_root(backend: str, tmp_path: Path) -> None:
    made = write_slack_export(tmp_path / "slack.zip", days=2, per_day=30)
    async with fresh_with_files(backend, tmp_path / "db") as (store, blobs):
        await import_slack(store, made.path, quiet())
        lines = [json.loads(line) for line in (await exported(store, blobs)).splitlines()]
        columns = lines[0]["tables"]["imported_threads"]
        threads = [
            dict(zip(columns, line["row"], strict=True))
            for line in lines
            if line.get("table") == "imported_threads"
        ]
        assert len(threads) == made.replies
        events = {
            row["id"]: row
            for row in (
                dict(zip(lines[0]["tables"]["events"], line["row"], strict=True))
                for line in lines
                if line.get("table") == "events"
            )
        }
        replies_of: dict[int, list[dict[str, object]]] = {}
        for thread in threads:
            reply, root = events[thread["message_id"]], events[thread["root_id"]]
            assert reply["room_id"] == root["room_id"] == thread["room_id"]
            assert root["seq"] < reply["seq"]
            assert reply["thread"] == root["id"]  # a reply of Parley's threads
            assert root["thread"] is None
            replies_of.setdefault(root["id"], []).append(reply)
        # Every event with a thread is one of those (a reply whose root is not in the export
        # is a message of the room).
        assert {e["id"] for e in events.values() if e["thread"] is not None} == {
            t["message_id"] for t in threads
        }
        assert replies_of
        for root_id, replies in replies_of.items():
            root = events[root_id]
            room = await store.get_room_by_id(int(str(root["room_id"])))
            assert room is not None
            found, listed = await store.thread_replies(room.id, root_id, None, 100)
            assert found.replies == len(replies)  # the root's counters, from its replies
            assert found.last_reply_ts == max(int(str(r["ts"])) for r in replies)
            assert [e.mid for e in listed] == [r["id"] for r in replies]
            for reply in replies:
                user_id = reply["user_id"]
                assert isinstance(user_id, int)
                views = await store.followed_threads(user_id, None, 100)
                [view] = [v for v in views if v.root.mid == root_id]  # a replier follows
                assert view.unread == 0  # imported history is not unread
            author = root["user_id"]
            if isinstance(author, int):
                views = await store.followed_threads(author, None, 100)
                assert any(v.root.mid == root_id for v in views)  # the root's author follows
        # Mentions in replies are in the thread (not counted in the room's unread mentions).
        mention_columns = lines[0]["tables"]["mentions"]
        in_replies = {t["message_id"] for t in threads}
        for line in lines:
            if line.get("table") == "mentions":
                mention = dict(zip(mention_columns, line["row"], strict=True))
                assert mention["in_thread"] == (mention["message_id"] in in_replies)
        # The threads go on: a reply posted now counts on top of the imported ones.
        root_id, replies = next(iter(replies_of.items()))
        room_id = int(str(events[root_id]["room_id"]))
        replier = replies[0]["user_id"]
        assert isinstance(replier, int)
        user = await store.get_user_by_id(replier)
        assert user is not None
        posted = await store.post_message(
            room_id, replier, user.name, "and one more", None, thread=root_id
        )
        assert posted.event.replies == len(replies) + 1


def _zip(path: Path, members: Mapping[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


USERS_JSON = json.dumps([{"id": "U1", "name": "ann"}, {"id": "U2", "name": "ben"}])
CHANNELS_JSON = json.dumps([{"id": "C1", "name": "talk", "members": ["U1", "U2", "U9"]}])


def _bad(tmp_path: Path, case: str) -> tuple[Path, str]:
    path = tmp_path / "bad.zip"
    if case == "corrupt zip":
        path.write_bytes(b"PK\x03\x04 this is not really a zip")
        return path, "not a readable zip file"
    if case == "truncated zip":
        good = _zip(tmp_path / "good.zip", {"users.json": USERS_JSON * 50})
        path.write_bytes(good.read_bytes()[:-40])
        return path, "not a readable zip file"
    if case == "path traversal":
        return _zip(path, {"users.json": USERS_JSON, "../../etc/cron.d/x": "boom"}), "forged"
    if case == "absolute path":
        return _zip(path, {"users.json": USERS_JSON, "/tmp/x.json": "[]"}), "forged"
    if case == "no users.json":
        return _zip(path, {"channels.json": CHANNELS_JSON}), "no users.json"
    if case == "malformed json":
        members = {"users.json": USERS_JSON, "channels.json": CHANNELS_JSON}
        members["talk/2024-01-01.json"] = '[{"ts": "1.0", "text": "unterminated'
        return _zip(path, members), "talk/2024-01-01.json"
    if case == "wrong types":
        return _zip(path, {"users.json": '[{"id": 5}]', "channels.json": "[]"}), "users.json"
    if case == "duplicate users":
        twice = json.dumps([{"id": "U1", "name": "ann"}, {"id": "U1", "name": "ann2"}])
        return _zip(path, {"users.json": twice, "channels.json": "[]"}), "listed twice"
    if case == "bad timestamp":
        members = {"users.json": USERS_JSON, "channels.json": CHANNELS_JSON}
        members["talk/2024-01-01.json"] = '[{"ts": "yesterday", "user": "U1", "text": "x"}]'
        return _zip(path, members), "not a Slack timestamp"
    if case == "huge member":
        huge: dict[str, bytes | str] = {
            "users.json": USERS_JSON,
            "channels.json": CHANNELS_JSON,
            "talk/2024-01-01.json": b" " * (2 * 1024 * 1024),  # compresses to ~2 KiB
        }
        return _zip(path, huge), "over the"
    raise AssertionError(case)


BAD_CASES = [
    "corrupt zip",
    "truncated zip",
    "path traversal",
    "absolute path",
    "no users.json",
    "malformed json",
    "wrong types",
    "duplicate users",
    "bad timestamp",
    "huge member",
]


@pytest.mark.parametrize("case", BAD_CASES)
async def test_a_bad_archive_is_refused_clearly(
    case: str, backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(slack_archive, "MAX_MEMBER", 1024 * 1024)  # the bomb, scaled down
    path, message = _bad(tmp_path, case)
    async with fresh(backend, tmp_path / "db") as store:
        with pytest.raises(ImportFailed, match=re.escape(message)):
            await import_slack(store, path, quiet())


async def test_a_lying_declared_size_is_caught_while_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A member whose header says it is small but inflates past the bound (a forged zip
    bomb): reading stops at the bound, or at the CRC check, never holding more."""
    monkeypatch.setattr(slack_archive, "MAX_MEMBER", 1000)
    path = _zip(tmp_path / "a.zip", {"users.json": "[" + " " * 5000 + "]"})
    data = bytearray(path.read_bytes())
    # Patch the central directory's uncompressed size (offset 24 in its entry) to 10.
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with (
        slack_archive.SlackArchive(path) as archive,
        pytest.raises(ImportFailed, match=re.escape("users.json")),
    ):
        archive.read("users.json", list[slack_archive.SlackUser])


async def test_messages_of_users_missing_from_users_json_are_kept(
    backend: str, tmp_path: Path
) -> None:
    members = {"users.json": USERS_JSON, "channels.json": CHANNELS_JSON}
    members["talk/2024-01-01.json"] = json.dumps(
        [
            {"ts": "1704067200.000100", "user": "U9", "text": "I am not in users.json"},
            {"ts": "1704067201.000100", "user": "U1", "text": "hi <@U9> and <@U2>"},
            {"ts": "1704067202.000100", "user": "U9", "subtype": "channel_join", "text": "j"},
        ]
    )
    path = _zip(tmp_path / "s.zip", members)
    async with fresh(backend, tmp_path / "db") as store:
        report = await import_slack(store, path, quiet())
        talk = await store.get_room("talk")
        assert talk is not None
        events = await store.events_after(talk.id, 0, 10)
        assert [(e.user, e.user_id is None, e.text) for e in events] == [
            ("U9", True, "I am not in users.json"),
            ("ann", False, "hi @U9 and @ben"),
        ]
        assert events[1].mentions == ("ben",)
        assert report.unknown_users == {"U9"}
        assert report.skipped == {"channel_join of users not in users.json": 1}
        members_of = await store.room_members(talk.id)
        assert [name for _, name in members_of] == ["ann", "ben"]


async def test_slack_import_refuses_a_database_that_is_not_empty(
    backend: str, tmp_path: Path
) -> None:
    made = write_slack_export(tmp_path / "slack.zip", days=1, per_day=5)
    async with fresh(backend, tmp_path / "db") as store:
        await store.create_user("someone", "hash")
        with pytest.raises(ImportFailed, match="not empty"):
            await import_slack(store, made.path, quiet())


def test_the_fixture_is_a_real_slack_layout(tmp_path: Path) -> None:
    made = write_slack_export(tmp_path / "slack.zip", days=2, per_day=10)
    with zipfile.ZipFile(made.path) as archive:
        names = set(archive.namelist())
    assert {"users.json", "channels.json", "general/2023-11-14.json"} <= names
    assert parley_format.FORMAT == "parley-export"
