"""Notices to one user's connections, carried on the user's broker channel.

They keep a user's tabs and devices consistent: a room joined, left or opened in one is
streamed (or dropped) in all of them; a read marker moved in one updates the unread (and
unread mention) counts of the others; a notification level set in one is shown by all; a
session signed out is closed wherever it is connected; a profile changed reaches everyone who
shares a room with its user (that one travels once on the ``profiles`` channel, not on user
channels: ``Node.publish_profile``).
"""

from __future__ import annotations

import msgspec

from parley.protocol.messages import RoomInfo


class RoomNotice(msgspec.Struct, tag="room", frozen=True, kw_only=True):
    """The user's membership of ``room`` changed; ``room.seq`` is where streaming starts."""

    room_id: int
    room: RoomInfo
    #: The connection that made the change (it handles its own stream), or "".
    origin: str = ""


class ReadNotice(msgspec.Struct, tag="read", frozen=True, kw_only=True):
    room: str
    read: int
    unread: int
    mentions: int = 0
    #: The marker of this thread (its root's mid) moved, not the room's.
    thread: int | None = None


class FollowNotice(msgspec.Struct, tag="follow", frozen=True, kw_only=True):
    """The user followed or stopped following a thread (in any tab, on any node)."""

    room: str
    thread: int
    following: bool


class NotifyNotice(msgspec.Struct, tag="notify", frozen=True, kw_only=True):
    """The user set their notification level of ``room`` (in any tab, on any node)."""

    room: str
    level: str
    until: int = 0


class RevokeNotice(msgspec.Struct, tag="revoke", frozen=True, kw_only=True):
    """Close every connection of this session (sign-out, or the account was disabled)."""

    token_hash: str
    reason: str = "session ended"


class ProfileNotice(msgspec.Struct, tag="profile", frozen=True, kw_only=True):
    """A user who shares a room with this one (or this user) changed their profile."""

    user: str
    display_name: str
    avatar: str


AnyNotice = RoomNotice | ReadNotice | NotifyNotice | FollowNotice | RevokeNotice | ProfileNotice

_encoder = msgspec.json.Encoder()
_decoder: msgspec.json.Decoder[AnyNotice] = msgspec.json.Decoder(AnyNotice)


def pack_notice(notice: AnyNotice) -> bytes:
    return _encoder.encode(notice)


def unpack_notice(data: bytes) -> AnyNotice:
    """Raises msgspec.DecodeError for anything else."""
    return _decoder.decode(data)
