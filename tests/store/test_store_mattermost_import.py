"""``parley import --from mattermost`` on both stores: a generated Mattermost bulk export (never
a committed binary; tests/helpers/mattermost_export.py) comes in whole and in time order,
threads and reactions included, and bad input is refused with a clear error."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest

from parley.model import Event, EventKind, RoomKind
from parley.store.sql.store import SQLStore
from parley.transfer import mattermost_lines, safe_zip
from parley.transfer.chat_import import split_text
from parley.transfer.jobs import index_imported
from parley.transfer.mattermost import import_mattermost
from parley.transfer.mattermost_text import convert
from parley.transfer.sink import ImportFailed
from tests.helpers.mattermost_export import PDF, USERS, Expected, write_mattermost_export
from tests.store.test_store_transfer import fresh_with_files, quiet


@pytest.mark.parametrize("zipped", [True, False], ids=["zip", "jsonl"])
async def test_every_event_comes_in_time_order(backend: str, zipped: bool, tmp_path: Path) -> None:
    made = write_mattermost_export(tmp_path / "mm.zip", zipped=zipped)
    async with fresh_with_files(backend, tmp_path / "db") as (store, blobs):
        report = await import_mattermost(store, blobs, made.path, quiet())
        await index_imported(store, quiet())
        assert report.channels == len(made.events)  # every room, none more
        for room_name, expected in made.events.items():
            room = await store.get_room(room_name)
            assert room is not None, room_name
            events = await store.events_after(room.id, 0, 1000)
            got = [(e.kind.value, e.user, e.ts) for e in events]
            assert got == [(x.kind, x.author, x.ts) for x in expected], room_name
            assert room.last_seq == len(expected)
            for event, want in zip(events, expected, strict=True):
                if want.text is not None:
                    assert event.text == want.text
                assert event.edited == want.edited
                assert tuple(f.name for f in event.files) == want.files
                for ref in event.files:  # the bytes are in the blob store, as served
                    upload = await store.get_upload(ref.id)
                    assert upload is not None
                    assert (upload.message_id, upload.room_id) == (event.mid, room.id)
                    assert await blobs.size(upload.hash) == ref.size
                    if ref.name == "chart.png":  # re-encoded, with a thumbnail
                        assert (ref.type, ref.width, ref.height) == ("image/png", 64, 48)
                        assert upload.thumb_hash is not None
                        assert await blobs.size(upload.thumb_hash)
                    else:
                        assert (ref.type, ref.size) == ("application/pdf", len(PDF))
                if want.kind == "message":
                    parent = None if want.parent is None else events[want.parent].mid
                    assert event.thread == parent
                if want.kind == "reaction":
                    assert want.parent is not None
                    assert (event.mid, event.emoji) == (events[want.parent].mid, want.emoji)
            await check_threads(store, room.id, events, expected)
        assert report.users == len(USERS)
        assert report.replies == made.replies
        assert report.edited == made.edited
        assert report.files == made.files
        assert report.uploads == made.uploads
        assert report.reactions == made.reactions
        assert report.moved_after_parent == made.moved
        assert dict(report.skipped) == made.skipped
        assert report.unknown_users == {"ghost"}
        assert ("guest", "mattermost-3") in report.renamed
        assert ("~eng/general", "#eng-general") in report.renamed
        assert report.direct_channels == 1
        assert report.group_channels == 1
        assert report.private_channels == 1
        said = "\n".join(report.lines())
        assert "mattermost: 5 users, 3 public channels, 1 private channels" in said
        if not zipped:
            assert "the bytes of 8 attachments (a bare .jsonl has none" in said
        await check_rooms_and_accounts(store)


async def check_threads(
    store: SQLStore, room_id: int, events: list[Event], expected: list[Expected]
) -> None:
    """Each root's reply count is its replies'; each message's reactions are read back."""
    for index, want in enumerate(expected):
        if want.kind != "message" or want.parent is not None:
            continue
        replies = [x for x in expected if x.kind == "message" and x.parent == index]
        reactions = [x for x in expected if x.kind == "reaction" and x.parent == index]
        root = events[index]
        if replies:
            found, listed = await store.thread_replies(room_id, root.mid, None, 100)
            assert found.replies == len(replies)
            assert [e.text for e in listed] == [x.text for x in replies]
        read = await store.events_after(room_id, root.seq - 1, 1)
        counts = {r.emoji: r.count for r in read[0].reactions}
        assert sum(counts.values()) == len(reactions)


async def check_rooms_and_accounts(store: SQLStore) -> None:
    alice, old, guest = [await store.get_user(n) for n in ("alice", "old-timer", "mattermost-3")]
    assert alice is not None
    assert old is not None
    assert guest is not None
    assert alice.is_admin
    assert not guest.is_admin
    assert old.disabled
    assert alice.password_hash == ""
    general = await store.get_room("eng-general")
    secret = await store.get_room("secret-plans")
    direct = await store.get_room("dm:alice:bob.smith")
    group = await store.get_room("gm-alice-bob-smith-carol")
    assert general is not None
    assert secret is not None
    assert direct is not None
    assert group is not None
    assert general.topic == "all about eng general"
    assert secret.kind is RoomKind.PRIVATE
    assert direct.kind is RoomKind.DIRECT
    assert group.kind is RoomKind.PRIVATE
    secret_members = [name for _, name in await store.room_members(secret.id)]
    assert sorted(secret_members) == ["alice", "carol"]
    group_members = [name for _, name in await store.room_members(group.id)]
    assert sorted(group_members) == ["alice", "bob.smith", "carol"]
    events = await store.events_after(general.id, 0, 1000)
    mentioning = [e for e in events if e.kind is EventKind.MESSAGE and e.mentions]
    assert any("bob.smith" in e.mentions and "@room" in e.mentions for e in mentioning)
    # Imported history is read: no member has unread mentions.
    for user in await store.list_users():
        assert (await store.unread_state(general.id, user.id)).mentions == 0


def _jsonl(path: Path, *lines: object) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


VERSION = {"type": "version", "version": 1}
ANN = {"type": "user", "user": {"username": "ann", "email": "a@x.org", "roles": "system_user"}}
TALK = {"type": "channel", "channel": {"team": "t", "name": "talk", "type": "O"}}


def _bad(tmp_path: Path, case: str) -> tuple[Path, str]:
    path = tmp_path / "bad.jsonl"
    if case == "not an export":
        path.write_bytes(b"\x89PNG\r\n\x1a\n not json")
        return path, "is it Mattermost's bulk export?"
    if case == "empty":
        path.write_bytes(b"")
        return path, "no version line"
    if case == "no version line":
        return _jsonl(path, ANN), "the first line must be the version line"
    if case == "version 2":
        return _jsonl(path, {"type": "version", "version": 2}), "only version 1"
    if case == "two versions":
        return _jsonl(path, VERSION, VERSION), "a second version line"
    if case == "long line":
        long = {"type": "post", "post": {"message": "x" * 2000}}
        return _jsonl(path, VERSION, long), "longer than 1024 bytes"
    if case == "deep json":
        path.write_bytes(
            json.dumps(VERSION).encode()
            + b'\n{"type": "post", "post": {"props": '
            + b"[" * 600
            + b"]" * 600
            + b"}}\n"
        )
        return path, "line 2"
    if case == "wrong types":
        return _jsonl(path, VERSION, {"type": "user", "user": {"username": 5}}), "line 2"
    if case == "post without time":
        post = {"type": "post", "post": {"team": "t", "channel": "talk", "user": "ann"}}
        return _jsonl(path, VERSION, post), "create_at"
    if case == "line without its object":
        return _jsonl(path, VERSION, {"type": "post", "user": {"username": "x"}}), (
            "line 2: a 'post' line without 'post'"
        )
    if case == "channel type":
        odd = {"type": "channel", "channel": {"team": "t", "name": "x", "type": "D"}}
        return _jsonl(path, VERSION, odd), "channel type 'D'"
    if case == "duplicate usernames":
        twice = {"type": "user", "user": {"username": "ANN"}}
        return _jsonl(path, VERSION, ANN, twice), "listed twice"
    if case == "duplicate channels":
        return _jsonl(path, VERSION, TALK, TALK), "listed twice"
    zipped = tmp_path / "bad.zip"
    if case == "corrupt zip":
        zipped.write_bytes(b"PK\x03\x04 this is not really a zip")
        return zipped, "not a readable zip file"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive:
        if case == "path traversal":
            archive.writestr("import.jsonl", json.dumps(VERSION))
            archive.writestr("data/../../etc/cron.d/x", "boom")
            return zipped, "forged"
        if case == "several lines files":
            archive.writestr("a.jsonl", json.dumps(VERSION))
            archive.writestr("b.jsonl", json.dumps(VERSION))
            return zipped, "several .jsonl files: a.jsonl, b.jsonl"
        if case == "no lines in zip":
            archive.writestr("users.json", "[]")
            return zipped, "no import.jsonl"
        if case == "zip bomb":
            archive.writestr("import.jsonl", json.dumps(VERSION) + "\n" + " " * (4 << 20))
            return zipped, "zip bomb"
    raise AssertionError(case)


BAD_CASES = [
    "not an export",
    "empty",
    "no version line",
    "version 2",
    "two versions",
    "long line",
    "deep json",
    "wrong types",
    "post without time",
    "line without its object",
    "channel type",
    "duplicate usernames",
    "duplicate channels",
    "corrupt zip",
    "path traversal",
    "no lines in zip",
    "several lines files",
    "zip bomb",
]


@pytest.mark.parametrize("case", BAD_CASES)
async def test_bad_input_is_refused_clearly(
    case: str, backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mattermost_lines, "MAX_LINE", 1024)
    monkeypatch.setattr(safe_zip, "RATIO_SLACK", 1024)
    path, message = _bad(tmp_path, case)
    async with fresh_with_files(backend, tmp_path / "db") as (store, blobs):
        with pytest.raises(ImportFailed, match=re.escape(message)):
            await import_mattermost(store, blobs, path, quiet())


async def test_posts_of_unknown_users_and_channels_are_reported(
    backend: str, tmp_path: Path
) -> None:
    def post(channel: str, user: str, message: str, at: int) -> dict[str, object]:
        body = {"team": "t", "channel": channel, "user": user, "message": message}
        return {"type": "post", "post": {**body, "create_at": at}}

    def direct(members: list[str], message: str) -> dict[str, object]:
        body = {"channel_members": members, "user": "ann", "message": message, "create_at": 9}
        return {"type": "direct_post", "direct_post": body}

    member = {
        "type": "user",
        "user": {"username": "ben", "teams": [{"name": "t", "channels": [{"name": "talk"}]}]},
    }
    path = _jsonl(
        tmp_path / "x.jsonl",
        VERSION,
        TALK,
        ANN,
        member,
        post("talk", "ben", "second", 2000),
        post("talk", "zed", "first, from someone unknown", 1000),
        post("nowhere", "ann", "lost", 1500),
        direct([], "to nobody"),
        direct(["ann", "zed"], "to someone unknown"),
    )
    async with fresh_with_files(backend, tmp_path / "db") as (store, blobs):
        report = await import_mattermost(store, blobs, path, quiet())
        talk = await store.get_room("talk")
        assert talk is not None
        events = await store.events_after(talk.id, 0, 10)
        assert [(e.user, e.user_id is None, e.text) for e in events] == [
            ("zed", True, "first, from someone unknown"),
            ("ben", False, "second"),
        ]
        assert report.unknown_users == {"zed"}
        assert report.skipped == {
            "posts, replies and reactions of a channel not in the export (t/nowhere)": 1,
            "direct channels without members": 1,
            "direct channels with a user not in the export": 1,
            "posts, replies and reactions of those direct channels": 2,
        }
        assert [name for _, name in await store.room_members(talk.id)] == ["ben"]


async def test_refuses_a_database_that_is_not_empty(backend: str, tmp_path: Path) -> None:
    made = write_mattermost_export(tmp_path / "mm.zip", posts=3)
    async with fresh_with_files(backend, tmp_path / "db") as (store, blobs):
        await store.create_user("someone", "hash")
        with pytest.raises(ImportFailed, match="not empty"):
            await import_mattermost(store, blobs, made.path, quiet())


async def test_attachments_that_cannot_be_stored_are_listed_by_name(
    backend: str, tmp_path: Path
) -> None:
    def post(user: str, message: str, at: int, *paths: str) -> dict[str, object]:
        body = {"team": "t", "channel": "talk", "user": user, "message": message}
        attached = [{"path": path} for path in paths]
        return {"type": "post", "post": {**body, "create_at": at, "attachments": attached}}

    lines = [
        VERSION,
        TALK,
        ANN,
        post("ann", "with files", 1000, "x/missing.txt", "x/ok.txt", "x/empty.txt", "../ok.txt"),
        post("zed", "from zed", 2000, "x/ok.txt"),
    ]
    path = tmp_path / "m.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("import.jsonl", "".join(json.dumps(line) + "\n" for line in lines))
        archive.writestr("data/x/ok.txt", "hello")
        archive.writestr("data/x/empty.txt", "")
    async with fresh_with_files(backend, tmp_path / "db") as (store, blobs):
        report = await import_mattermost(store, blobs, path, quiet())
        talk = await store.get_room("talk")
        assert talk is not None
        first, second = await store.events_after(talk.id, 0, 10)
        assert first.text == "with files\n[file: missing.txt]\n[file: empty.txt]\n[file: ok.txt]"
        assert [(f.name, f.type, f.size) for f in first.files] == [
            ("ok.txt", "text/plain; charset=utf-8", 5)
        ]
        assert (second.text, second.files) == ("from zed\n[file: ok.txt]", ())
        assert report.skipped == {
            "attachments missing from the archive's data/ folder": 2,  # ../ok.txt too
            "empty attachments (listed by name)": 1,
            "attachments of users not in the export (listed by name)": 1,
        }
        assert (report.uploads, report.files) == (1, 4)


def test_a_lying_declared_size_is_caught_while_streaming(tmp_path: Path) -> None:
    """The lines' member whose header says it is small but inflates far past it (a forged zip
    bomb): reading stops at the bound or at the CRC check, with a clear error."""
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("import.jsonl", json.dumps(VERSION) + "\n" + " " * (8 << 20))
    data = bytearray(path.read_bytes())
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (100).to_bytes(4, "little")  # uncompressed size
    path.write_bytes(bytes(data))
    with (
        mattermost_lines.ExportFile(path) as source,
        pytest.raises(ImportFailed, match=re.escape("import.jsonl")),
    ):
        for _ in source.lines():
            pass


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("hi @guest.", "hi @mattermost-3."),
        ("@Guest, @channel @ALL and @here", "@mattermost-3, @room @room and @room"),
        ("`@guest` and\n```\n@guest\n```\nstay", "`@guest` and\n```\n@guest\n```\nstay"),
        ("mail a@guest.org or @guest_x or @bob", "mail a@guest.org or @guest_x or @bob"),
        ("line\r\nbreak \x07", "line\nbreak \ufffd"),
    ],
)
def test_mentions_of_renamed_users_follow_them(text: str, want: str) -> None:
    assert convert(text, {"guest": "mattermost-3"}).text == want


async def test_a_message_over_the_limit_comes_in_as_consecutive_messages_within_it(
    backend: str, tmp_path: Path
) -> None:
    """Mattermost allows 16,383 characters, a crafted line far more: a message longer than
    --max-text would be one event no client may be sent whole (and history pages are cut by
    bytes), so it comes in as consecutive messages within the limit, cut at line breaks or
    spaces, nothing else dropped; the first keeps the thread's replies and the reactions, a
    mention in a later part still counts."""
    ben = {
        "type": "user",
        "user": {"username": "ben", "teams": [{"name": "t", "channels": [{"name": "talk"}]}]},
    }
    ann = {**ANN, "user": {**ANN["user"], "teams": [{"name": "t", "channels": [{"name": "talk"}]}]}}
    lines = [f"line {n:04d} " + "x" * 40 for n in range(200)]  # 50 characters each
    long = "\n".join(lines[:150]) + "\n" + " ".join(lines[150:]) + " @ben"
    root = {
        "team": "t",
        "channel": "talk",
        "user": "ann",
        "message": long,
        "create_at": 1000,
        "replies": [{"user": "ben", "message": "read it all", "create_at": 2000}],
        "reactions": [{"user": "ben", "emoji_name": "+1", "create_at": 3000}],
    }
    path = _jsonl(tmp_path / "x.jsonl", VERSION, TALK, ann, ben, {"type": "post", "post": root})
    async with fresh_with_files(backend, tmp_path / "db") as (store, blobs):
        report = await import_mattermost(store, blobs, path, quiet(), max_text=4000)
        talk = await store.get_room("talk")
        assert talk is not None
        events = await store.events_after(talk.id, 0, 10)
        parts = [e for e in events if e.kind is EventKind.MESSAGE and e.thread is None]
        assert len(parts) == 3
        assert all(len(e.text) <= 4000 and e.user == "ann" and e.ts == 1000 for e in parts)
        # Cut at a line break (the first two), then at a space (the third); nothing else lost.
        assert "\n".join(e.text for e in parts[:2]) + "\n" + parts[2].text == long
        reply = next(e for e in events if e.thread is not None)
        reaction = next(e for e in events if e.kind is EventKind.REACTION)
        assert reply.thread == reaction.mid == parts[0].mid
        ben_user = await store.get_user("ben")
        assert ben_user is not None
        mentioned = await store.mentions_of(ben_user.id, None, 10)
        assert [e.mid for e in mentioned] == [parts[2].mid]
        assert (report.messages, report.split_messages, report.split_parts) == (2, 1, 3)
        assert any("imported as 3 consecutive messages" in line for line in report.lines())


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("a" * 10, ["a" * 10]),  # at the limit: whole
        ("a" * 25, ["a" * 10, "a" * 10, "a" * 5]),  # no break or space: cut at the limit
        ("aaaaaa bbbbbbbbbb", ["aaaaaa", "bbbbbbbbbb"]),
        ("aaaa bbbbbbbbbb", ["aaaa bbbbb", "bbbbb"]),  # a space in the first half: not used
        # The last break of the second half; only the break cut on is dropped.
        ("aaaaaa" + "\n" * 10 + "bbb", ["aaaaaa\n\n\n\n", "\n\n\n\n\nbbb"]),
        ("aaaaaaa   \n        \n   b", ["aaaaaaa   ", "   b"]),  # a blank part: dropped
    ],
)
def test_split_text_cuts_within_the_limit_and_drops_nothing_that_shows(
    text: str, parts: list[str]
) -> None:
    got = split_text(text, 10)
    assert got == parts
    assert all(len(part) <= 10 for part in got)
