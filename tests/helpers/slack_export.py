"""A generator of realistic Slack exports (the zip Slack's "Export data" gives), for tests and
the import benchmark: written by the test, never a committed binary.

Several public channels, one file per channel and day, users (with a name Parley must change,
a deleted one, a bot account), joins, bots' messages, threads (and a reply whose root is
outside the export), edits, shared files, mentions of people and of the channel, links,
HTML-escaped characters, unicode and emoji, a settings change (channel_purpose) that is not
imported. :func:`write_slack_export` returns, per channel, every event the import must make,
in order: its kind, author and time.
"""

from __future__ import annotations

import json
import random
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: (Slack id, Slack name, the name Parley gives it, flags)
USERS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("U001", "alice", "alice", {"is_admin": True}),
    ("U002", "bob.smith", "bob.smith", {}),
    ("U003", "zoë", "zoe", {}),  # accents dropped
    ("U004", "Bob.Smith", "Bob.Smith-2", {}),  # the same name as U002 but for case
    ("U005", "guest", "slack-u005", {}),  # a prefix Parley reserves
    ("U006", "old-timer", "old-timer", {"deleted": True}),
    ("U007", "helperbot", "helperbot", {"is_bot": True}),
]
#: (Slack id, Slack name, Parley's name)
CHANNELS: list[tuple[str, str, str]] = [
    ("C001", "general", "general"),
    ("C002", "random", "random"),
    ("C003", "projet-été", "projet-ete"),  # accents dropped,
]
TEXTS = [
    "hello everyone",
    "Grüße aus Köln 🍺",
    "日本語のメッセージ",
    "see <https://example.com/docs?a=1&amp;b=2|the docs> and <https://parley.dev>",
    "a &lt;tag&gt; &amp; more",
    "multi\nline\nmessage",
    "emoji only 🎉🎉",
    "ask <#C002|random> about it",
]


@dataclass(frozen=True)
class Expected:
    kind: str  # message, join, leave, topic
    author: str
    ts: int  # milliseconds
    text: str | None = None


@dataclass
class SlackExport:
    path: Path
    #: Parley room name -> its events in order.
    events: dict[str, list[Expected]] = field(default_factory=dict)
    replies: int = 0
    replies_without_root: int = 0
    edited: int = 0
    files: int = 0
    skipped: int = 0


def _ts(seconds: int, micros: int) -> str:
    return f"{seconds}.{micros:06d}"


def write_slack_export(
    path: Path, *, days: int = 3, per_day: int = 20, seed: int = 7, expect: bool = True
) -> SlackExport:
    """Write a Slack export zip at ``path``; see the module docstring. ``expect=False``
    keeps no expected events (a benchmark's millions)."""
    rng = random.Random(seed)
    export = SlackExport(path)
    people = [u for u in USERS if not u[3].get("is_bot") and not u[3].get("deleted")]
    members = [u[0] for u in USERS if not u[3].get("deleted")]
    start = 1_700_000_000  # 2023-11-14
    users_json = [
        {
            "id": uid,
            "name": name,
            "real_name": name.title(),
            "deleted": flags.get("deleted", False),
            "is_admin": flags.get("is_admin", False),
            "is_bot": flags.get("is_bot", False),
            "profile": {"email": f"{uid.lower()}@example.org", "display_name": name},
        }
        for uid, name, _, flags in USERS
    ]
    channels_json = [
        {
            "id": cid,
            "name": name,
            "created": start - 86400,
            "creator": "U001",
            "is_archived": cid == "C003",
            "members": members,
            "topic": {"value": f"all about {name}", "creator": "U001", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }
        for cid, name, _ in CHANNELS
    ]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("users.json", json.dumps(users_json, ensure_ascii=False))
        archive.writestr("channels.json", json.dumps(channels_json, ensure_ascii=False))
        archive.writestr("integration_logs.json", "[]")
        for _, slack_name, room in CHANNELS:
            expected: list[Expected] = []
            for day in range(days):
                if not expect:
                    expected.clear()
                messages = list(
                    _day(rng, export, expected, start + day * 86400, day, per_day, people)
                )
                rng.shuffle(messages)  # Slack's files are not always in order
                date = datetime.fromtimestamp(start + day * 86400, UTC).strftime("%Y-%m-%d")
                archive.writestr(
                    f"{slack_name}/{date}.json", json.dumps(messages, ensure_ascii=False)
                )
            if expect:
                export.events[room] = expected
    return export


def _day(
    rng: random.Random,
    export: SlackExport,
    expected: list[Expected],
    day_start: int,
    day: int,
    per_day: int,
    people: list[tuple[str, str, str, dict[str, Any]]],
) -> Iterator[dict[str, Any]]:
    second = day_start
    root: str | None = None
    for i in range(per_day):
        second += rng.randint(1, 50)
        ts = _ts(second, rng.randint(0, 999_999))
        ms = second * 1000 + int(ts.split(".")[1]) // 1000
        uid, _, name, _ = people[rng.randrange(len(people))]
        if day == 0 and i == 0:
            yield {
                "type": "message",
                "subtype": "channel_join",
                "user": uid,
                "ts": ts,
                "text": f"<@{uid}> has joined the channel",
            }
            expected.append(Expected("join", name, ms))
            continue
        if i == 1:
            yield {
                "type": "message",
                "subtype": "channel_purpose",
                "user": uid,
                "ts": ts,
                "text": "set the channel purpose",
                "purpose": "x",
            }
            export.skipped += 1
            continue
        if i == 2 and day == 1:
            yield {
                "type": "message",
                "subtype": "channel_topic",
                "user": uid,
                "ts": ts,
                "topic": "new topic ✨",
                "text": "set the channel topic: new topic ✨",
            }
            expected.append(Expected("topic", name, ms, "new topic ✨"))
            continue
        if i == 3:
            yield {
                "type": "message",
                "subtype": "bot_message",
                "bot_id": "B001",
                "username": "deploybot",
                "ts": ts,
                "text": "deployed v1.2.3",
            }
            expected.append(Expected("message", "deploybot", ms, "deployed v1.2.3"))
            continue
        message: dict[str, Any] = {
            "type": "message",
            "user": uid,
            "ts": ts,
            "text": TEXTS[i % len(TEXTS)],
            "team": "T1",
        }
        other = people[(people.index(next(p for p in people if p[0] == uid)) + 1) % len(people)]
        if i % 7 == 4:
            message["text"] = f"hey <@{other[0]}> look at this"
        if i % 11 == 5:
            message["text"] = "<!channel> standup in 5"
        if i == 6 and day == 0:
            message["thread_ts"] = _ts(day_start - 90 * 86400, 1)  # root not exported
            export.replies_without_root += 1
        elif i % 5 == 0:
            root = ts
            message["thread_ts"] = ts
            message["reply_count"] = 1
        elif root is not None and i % 5 == 1:
            message["thread_ts"] = root
            message["parent_user_id"] = uid
            export.replies += 1
        if i % 6 == 2:
            message["edited"] = {"user": uid, "ts": _ts(second + 30, 0)}
            export.edited += 1
        if i % 9 == 8:
            message["files"] = [
                {
                    "id": "F1",
                    "name": "report Q3.pdf",
                    "title": "Report",
                    "mimetype": "application/pdf",
                    "size": 12345,
                }
            ]
            export.files += 1
        yield message
        expected.append(Expected("message", name, ms))


__all__ = ["CHANNELS", "USERS", "Expected", "SlackExport", "write_slack_export"]
