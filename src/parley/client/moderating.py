"""The terminal's moderation commands (``/mod``, ``/kick``, ``/ban``, ``/mute`` ...), and how
moderation events read in the terminal: parsing and wording only; the acts are
:class:`~parley.client.Client` methods, the rules the server's (``parley/permissions.py``).
"""

from __future__ import annotations

import re
import time
from typing import Final

from parley.client.client import Client
from parley.client.errors import ClientError
from parley.client.sanitize import safe
from parley.protocol import messages as m

#: name → (arguments, what it does), merged into the chat mode's list.
MODERATION_COMMANDS: Final = {
    "/mod": ("USER", "make USER a moderator of this room (owners)"),
    "/unmod": ("USER", "make USER a plain member of this room again (owners)"),
    "/owner": ("USER", "make USER an owner of this room too (owners)"),
    "/kick": ("USER", "remove USER from this room (they may join again)"),
    "/ban": ("USER [FOR]", "remove USER and keep them out, FOR 30m, 12h, 7d ... or for good"),
    "/unban": ("USER", "let a banned USER join this room again"),
    "/mute": ("USER FOR", "keep USER from posting here for 10m, 2h, 1d ..."),
    "/unmute": ("USER", "let a muted USER post again"),
    "/settings": (
        "[post|invite|topic|pin=members|moderators ...]",
        "show this room's settings and moderators, or change them (owners)",
    ),
}

_DURATION: Final = re.compile(r"\A(\d{1,9})([smhd])\Z")
_UNIT_MS: Final = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_ROLES: Final = {"/mod": "moderator", "/unmod": "member", "/owner": "owner"}


def end_of(duration: str, now_ms: int | None = None) -> int:
    """The end time (ms since the epoch) of ``30m``, ``12h``, ``7d`` from now."""
    match = _DURATION.match(duration)
    if match is None:
        raise ClientError(f"not a duration: {safe(duration)!r} (say 30m, 12h or 7d)")
    now = int(time.time() * 1000) if now_ms is None else now_ms
    return now + int(match.group(1)) * _UNIT_MS[match.group(2)]


def _settings(words: list[str]) -> dict[str, str]:
    changes = {}
    for word in words:
        name, _, value = word.partition("=")
        if name not in ("post", "invite", "topic", "pin") or value not in ("members", "moderators"):
            raise ClientError(f"not a setting: {safe(word)!r} (say post=moderators ...)")
        changes[name] = value
    return changes


async def moderate(client: Client, room: str, command: str, rest: str) -> str:
    """Run one moderation command in ``room``; returns the line to show."""
    words = rest.split()
    if command == "/settings":
        if words:
            seq = await client.change_room_settings(room, **_settings(words))
            return "* settings changed" if seq else "* the settings were already so"
        return describe_settings(await client.room_settings(room))
    if not words:
        raise ClientError(f"usage: {command} {MODERATION_COMMANDS[command][0]}")
    user = words[0].lstrip("@")
    if command in _ROLES:
        seq = await client.set_role(room, user, _ROLES[command])
        return f"* {user} is now {_ROLES[command]}" if seq else f"* {user} already was"
    if command == "/kick":
        await client.kick(room, user)
        return f"* you removed {user}"
    if command == "/ban":
        until = end_of(words[1]) if len(words) > 1 else None
        await client.ban(room, user, until=until)
        return f"* you banned {user}" + (f" for {words[1]}" if until else "")
    if command == "/mute":
        if len(words) < 2:
            raise ClientError("usage: /mute USER FOR (10m, 2h, 1d ...)")
        await client.mute(room, user, until=end_of(words[1]))
        return f"* you muted {user} for {words[1]}"
    lift = client.unban if command == "/unban" else client.unmute
    seq = await lift(room, user)
    done = "banned" if command == "/unban" else "muted"
    return f"* {user} is no longer {done}" if seq else f"* {user} was not {done}"


def describe_settings(reply: m.RoomSettingsReply) -> str:
    settings = ", ".join(f"{name}: {who}" for name, who in reply.settings.items())
    holders = ", ".join(f"{safe(h.user)} ({h.role})" for h in reply.roles) or "none"
    return f"#{safe(reply.room)} — {settings}; you are {reply.role}; roles: {holders}"


def describe_moderation(event: m.EventMessage) -> str | None:
    """A moderation event's words (None: not one)."""
    by, user = safe(event.by or "someone"), safe(event.user)
    until = ""
    if event.until:
        until = " until " + time.strftime("%Y-%m-%d %H:%M", time.localtime(event.until / 1000))
    match event.kind:
        case "role":
            return f"{by} made {user} {safe(event.text or 'member')}"
        case "kick":
            return f"{by} removed {user}"
        case "ban":
            return f"{by} banned {user}" + (until or " for good")
        case "unban":
            return f"{by} lifted the ban of {user}"
        case "mute":
            return f"{by} muted {user}{until}"
        case "unmute":
            return f"{by} unmuted {user}"
        case "settings":
            changed = ", ".join(f"{k}: {v}" for k, v in (event.settings or {}).items())
            return f"{by} changed the settings: {changed}"
    return None
