"""A generator of realistic Mattermost bulk exports (the zip ``mmctl export create
--attachments`` gives: ``import.jsonl`` and ``data/``), for tests and the import benchmark:
written by the test, never a committed binary.

Two teams (each with a ``general`` channel: a name in both), public and private channels,
users (a system admin, a deleted one, one whose name Parley must change), posts listed in
random order (as Mattermost lists them, by id), threads whose replies cross other posts, a
reply dated before its root, reactions (known emoji by two names, a custom emoji, an unknown
name, one given twice), edits, an attachment with its bytes in ``data/``, mentions, a post by
a user missing from the users, a join, other system posts, direct and group channels with
their posts. :func:`write_mattermost_export` returns, per Parley room, every event the import
must make, in order.
"""

from __future__ import annotations

import dataclasses
import io
import json
import random
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from tests.helpers import slack_export

#: (username, Parley's name, roles, deleted)
USERS: list[tuple[str, str, str, bool]] = [
    ("alice", "alice", "system_admin system_user", False),
    ("bob.smith", "bob.smith", "system_user", False),
    ("guest", "mattermost-3", "system_user", False),  # a prefix Parley reserves
    ("carol", "carol", "system_user", False),
    ("old-timer", "old-timer", "system_user", True),
]
#: (team, channel, type, Parley's room name)
CHANNELS: list[tuple[str, str, str, str]] = [
    ("eng", "general", "O", "eng-general"),
    ("ops", "general", "O", "ops-general"),
    ("eng", "town-square", "O", "town-square"),
    ("eng", "secret-plans", "P", "secret-plans"),
]
TEXTS = [
    "hello **everyone**",
    "Grüße aus Köln 🍺",
    "see [the docs](https://example.com/docs?a=1&b=2)",
    "multi\nline\n> quoted",
    "`code` and _emphasis_",
]
BASE_MS = 1_700_000_000_000
PDF = b"%PDF-1.4\n" + b"0" * 100


def png() -> bytes:
    """A small PNG (an image the import re-encodes and thumbnails)."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(out, "PNG")
    return out.getvalue()


@dataclass(frozen=True)
class Expected(slack_export.Expected):
    """An event as the Slack fixture expects one (``kind`` also ``reaction``), and:"""

    #: message: the index (in its room's list) of its thread's root; reaction: of its message.
    parent: int | None = None
    emoji: str | None = None
    edited: bool = False
    #: message: the names of its files (stored, not listed in its text).
    files: tuple[str, ...] = ()


@dataclass
class MattermostExport:
    path: Path
    #: Parley room name -> its events in order.
    events: dict[str, list[Expected]] = field(default_factory=dict)
    replies: int = 0
    edited: int = 0
    files: int = 0
    uploads: int = 0
    reactions: int = 0
    moved: int = 0
    skipped: dict[str, int] = field(default_factory=dict)


def _line(kind: str, **body: Any) -> str:
    return json.dumps({"type": kind, **body}, ensure_ascii=False)


def write_mattermost_export(
    path: Path, *, posts: int = 12, seed: int = 7, expect: bool = True, zipped: bool = True
) -> MattermostExport:
    """Write a Mattermost export at ``path`` (a zip, or the bare lines when not ``zipped``);
    see the module docstring. ``posts`` per channel. ``expect=False`` keeps no expected
    events (a benchmark's millions)."""
    rng = random.Random(seed)
    export = MattermostExport(path)
    skipped: dict[str, int] = {}
    head = [
        _line("version", version=1, info={"generator": "test", "version": "9.0"}),
        _line("scheme", scheme={"name": "s1", "scope": "team"}),
        _line("team", team={"name": "eng", "display_name": "Engineering", "type": "O"}),
        _line("team", team={"name": "ops", "display_name": "Operations", "type": "I"}),
    ]
    skipped["'scheme' lines"] = 1
    for team, name, kind, _ in CHANNELS:
        head.append(
            _line(
                "channel",
                channel={
                    "team": team,
                    "name": name,
                    "display_name": name.title(),
                    "type": kind,
                    "header": f"all about {team} {name}",
                    "purpose": "",
                },
            )
        )
    for username, _, roles, deleted in USERS:
        teams = [
            {
                "name": team,
                "roles": "team_user",
                "channels": [
                    {"name": name, "roles": "channel_user"}
                    for t, name, kind, _ in CHANNELS
                    if t == team and (kind == "O" or username in ("alice", "carol"))
                ],
            }
            for team in ("eng", "ops")
        ]
        head.append(
            _line(
                "user",
                user={
                    "username": username,
                    "email": f"{username}@example.org",
                    "roles": roles,
                    "delete_at": 1_690_000_000_000 if deleted else 0,
                    "teams": teams,
                    "locale": "en",
                },
            )
        )
    people = [u for u in USERS if not u[3]]
    post_lines: list[str] = []
    attachments: dict[str, bytes] = {}
    for c, (team, channel, kind, room) in enumerate(CHANNELS):
        made = _Room(keep=expect)
        members = people if kind == "O" else [u for u in people if u[0] in ("alice", "carol")]
        for i in range(posts):
            ts = BASE_MS + c * 10_000_000 + i * 100_000
            username, name, _, _ = members[i % len(members)]
            text = TEXTS[i % len(TEXTS)]
            post: dict[str, Any] = {
                "team": team,
                "channel": channel,
                "user": username,
                "message": text,
                "create_at": ts,
                "edit_at": ts + 5000 if i % 4 == 1 else 0,
                "props": {"from_bot": "false", "nested": {"deep": [1, {"x": 2}]}},
                "reactions": [],
                "replies": [],
            }
            want = Expected("message", name, ts, text, edited=i % 4 == 1)
            export.edited += i % 4 == 1
            if i == 2 and kind == "O":
                post["message"] = "hey @guest and @bob.smith, @channel: look."
                want = Expected(
                    "message", name, ts, "hey @mattermost-3 and @bob.smith, @room: look."
                )
            if i == 3:  # a PDF and a PNG, with their bytes in the zip
                folder = f"20231114/teams/t/channels/{c}/users/u/f{i}"
                post["attachments"] = [
                    {"path": f"{folder}/{name}"} for name in ("report Q3.pdf", "chart.png")
                ]
                attachments[f"data/{folder}/report Q3.pdf"] = PDF
                attachments[f"data/{folder}/chart.png"] = png()
                listed = "\n[file: report Q3.pdf]\n[file: chart.png]"
                want = Expected("message", name, ts, text if zipped else text + listed)
                if zipped:
                    want = Expected("message", name, ts, text, files=("report Q3.pdf", "chart.png"))
                    export.uploads += 2
                else:
                    export.files += 2
            if i == 4 and c == 0:
                post["user"] = "ghost"  # not among the users
                want = Expected("message", "ghost", ts, text)
            root = made.add(ts, want)
            if i % 3 == 0:
                for k in range(3):
                    replier = members[(i + k + 1) % len(members)]
                    rts = ts + 150_007 * (k + 1)
                    if i == 3 and k == 0:
                        rts = ts - 1000  # dated before its root: placed right after it
                        export.moved += 1
                    reply: dict[str, Any] = {
                        "user": replier[0],
                        "message": f"reply {k} to {i}",
                        "create_at": rts,
                        "edit_at": 0,
                    }
                    at = max(rts, ts)
                    made_reply = made.add(
                        at, Expected("message", replier[1], at, f"reply {k} to {i}"), root
                    )
                    if k == 1:
                        reply["reactions"] = [
                            {"user": "alice", "emoji_name": "tada", "create_at": rts + 11}
                        ]
                        made.add(
                            rts + 11,
                            Expected("reaction", "alice", rts + 11, emoji="\U0001f389"),
                            made_reply,
                        )
                    post["replies"].append(reply)
                    export.replies += 1
            if i % 2 == 0:
                post["reactions"] = [
                    {"user": "alice", "emoji_name": "+1", "create_at": ts + 11},
                    {"user": "bob.smith", "emoji_name": "thumbsup", "create_at": ts + 22},
                    {"user": "alice", "emoji_name": "+1", "create_at": ts + 33},  # twice
                    {"user": "carol", "emoji_name": "party_parrot", "create_at": ts + 44},
                    {"user": "carol", "emoji_name": "no_such_emoji_xyz", "create_at": ts + 55},
                ]
                for user, at in (("alice", ts + 11), ("bob.smith", ts + 22)):
                    made.add(at, Expected("reaction", user, at, emoji="\U0001f44d"), root)
                for key in (
                    "reactions given twice by the same user",
                    "reactions with custom emoji :party_parrot:",
                    "reactions with unknown emoji :no_such_emoji_xyz:",
                ):
                    skipped[key] = skipped.get(key, 0) + 1
            post_lines.append(_line("post", post=post))
        if c == 2:  # a join (imported as one), a system post (not imported)
            at = BASE_MS + c * 10_000_000 - 500
            made.add(at, Expected("join", "carol", at))
            for user, kind_of, when in (
                ("carol", "system_join_channel", at),
                ("alice", "system_purpose_change", at + 100),
            ):
                post_lines.append(
                    _line(
                        "post",
                        post={
                            "team": team,
                            "channel": channel,
                            "user": user,
                            "type": kind_of,
                            "message": f"{user} did something",
                            "create_at": when,
                        },
                    )
                )
            skipped["system_purpose_change posts"] = 1
        if expect:
            export.events[room] = made.in_order()
    # Direct and group channels, with direct posts.
    tail = [
        _line("emoji", emoji={"name": "party_parrot", "image": "exported_emoji/e1/image"}),
        _line("direct_channel", direct_channel={"members": ["alice", "bob.smith"], "header": "dm"}),
        _line(
            "direct_channel",
            direct_channel={"members": ["alice", "bob.smith", "carol"], "header": ""},
        ),
        _line("direct_channel", direct_channel={"members": ["carol", "carol"], "header": ""}),
    ]
    dm: list[Expected] = []
    group: list[Expected] = []
    for i in range(4):
        ts = BASE_MS + 90_000_000 + i * 1000
        sender = ["alice", "bob.smith"][i % 2]
        tail.append(
            _line(
                "direct_post",
                direct_post={
                    "channel_members": ["bob.smith", "alice"],
                    "user": sender,
                    "message": f"dm {i}",
                    "create_at": ts,
                },
            )
        )
        dm.append(Expected("message", sender, ts, f"dm {i}"))
        tail.append(
            _line(
                "direct_post",
                direct_post={
                    "channel_members": ["alice", "carol", "bob.smith"],
                    "user": "carol",
                    "message": f"group {i}",
                    "create_at": ts + 1,
                },
            )
        )
        group.append(Expected("message", "carol", ts + 1, f"group {i}"))
    tail.append(
        _line(
            "direct_post",
            direct_post={
                "channel_members": ["carol", "carol"],
                "user": "carol",
                "message": "note to self",
                "create_at": BASE_MS,
            },
        )
    )
    skipped["direct channels of a user with themselves"] = 1
    skipped["posts, replies and reactions of those direct channels"] = 1
    if expect:
        export.events["dm:alice:bob.smith"] = dm
        export.events["gm-alice-bob-smith-carol"] = group
    rng.shuffle(post_lines)  # Mattermost lists posts by id, not by time
    lines = [*head, *post_lines, *tail]
    data = ("\n".join(lines) + "\n").encode()
    export.skipped = skipped
    export.reactions = sum(
        1 for events in export.events.values() for e in events if e.kind == "reaction"
    )
    if not zipped:
        path.write_bytes(data)
        return export
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("import.jsonl", data)
        for name, content in attachments.items():
            archive.writestr(name, content)
    return export


class _Room:
    """A room's expected events as they are made, put in time order at the end (ties: the
    order they were made in, as the import keeps the export's order)."""

    def __init__(self, *, keep: bool = True) -> None:
        self.made: list[tuple[int, int, Expected, int | None]] = []
        self.keep = keep  # False: a benchmark's millions, nothing kept

    def add(self, ts: int, want: Expected, parent: int | None = None) -> int:
        if self.keep:
            self.made.append((ts, len(self.made), want, parent))
        return len(self.made) - 1

    def in_order(self) -> list[Expected]:
        ordered = sorted(self.made, key=lambda item: (item[0], item[1]))
        where = {number: index for index, (_, number, _, _) in enumerate(ordered)}
        assert len({ts for ts, *_ in ordered}) >= len(ordered) - 1  # times nearly distinct
        return [
            dataclasses.replace(want, parent=None if parent is None else where[parent])
            for _, _, want, parent in ordered
        ]


__all__ = ["CHANNELS", "USERS", "Expected", "MattermostExport", "write_mattermost_export"]
