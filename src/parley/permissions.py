"""Who may do what in a room: the one place where room roles and room settings are decided.

Pure rules over plain values (no I/O): the store loads a user's :class:`Standing` in a room
inside the transaction of the write it guards (``store/sql/moderation_ops.py``), then asks
:func:`require` or :func:`require_over`; the chat layer asks the same functions for what it
checks before calling the store. A feature that adds a guarded act (pins) adds an
:class:`Action` and its line in :func:`require`, nowhere else.

Ranks, highest first: a server admin, the room's owners, its moderators, its members.
Moderators (and above) delete any message, kick, ban and mute; owners (and admins) also
name moderators and owners and change the room's settings. An act on another member needs a
rank strictly above theirs: a moderator cannot kick another moderator, nor demote an owner;
nobody moderates themselves. Server admins can do everything, in every room, even with no
owner (the lobby, rooms made before roles existed).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from enum import IntEnum, StrEnum
from typing import Final

from parley.model import RoomKind
from parley.store.base import Banned, Muted, NotPermitted

#: The longest ban or mute: about 10 years (a longer one is a ban without end: give none).
MAX_DURATION_MS: Final = 10 * 366 * 24 * 3600 * 1000


class Role(StrEnum):
    """A member's role in a room (everyone else is a plain member)."""

    OWNER = "owner"
    MODERATOR = "moderator"
    MEMBER = "member"


class Policy(StrEnum):
    """Who may do one thing a room's settings govern."""

    MEMBERS = "members"  #: every member
    MODERATORS = "moderators"  #: the room's moderators and owners, and the server's admins


@dataclass(frozen=True, slots=True)
class RoomSettings:
    """Per room: who may post (``moderators``: an announcement room), invite, set the topic
    and pin. Stored as columns of ``rooms`` (migration 0009); a ``settings`` event carries
    them as :meth:`encode` writes them."""

    post: Policy = Policy.MEMBERS
    invite: Policy = Policy.MEMBERS
    topic: Policy = Policy.MEMBERS
    pin: Policy = Policy.MEMBERS

    def encode(self) -> str:
        """``post=members invite=moderators ...``: the text of a ``settings`` event."""
        return " ".join(f"{f.name}={getattr(self, f.name).value}" for f in fields(self))

    @classmethod
    def parse(cls, text: str | None) -> RoomSettings:
        """The settings :meth:`encode` wrote (unknown or missing parts: the default)."""
        known = {f.name for f in fields(cls)}
        values: dict[str, Policy] = {}
        for part in (text or "").split():
            name, _, value = part.partition("=")
            if name in known and value in Policy.__members__.values():
                values[name] = Policy(value)
        return cls(**values)

    def changed(self, **values: str) -> RoomSettings:
        """These settings with some changed (names and values checked by the caller's
        message type)."""
        return replace(self, **{name: Policy(value) for name, value in values.items()})

    def as_dict(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name).value for f in fields(self)}


#: The names of the settings, as commands and events spell them.
SETTING_NAMES: Final = tuple(f.name for f in fields(RoomSettings))


class Rank(IntEnum):
    MEMBER = 0
    MODERATOR = 1
    OWNER = 2
    ADMIN = 3


@dataclass(frozen=True, slots=True)
class Standing:
    """A user's place in one room at one moment (``now``), as the store read it."""

    admin: bool = False
    role: Role = Role.MEMBER
    member: bool = False
    #: Banned now (a ban whose end passed is no ban).
    banned: bool = False
    #: Muted until then (ms since the epoch); 0: not muted now.
    muted_until: int = 0

    @property
    def rank(self) -> Rank:
        if self.admin:
            return Rank.ADMIN
        if self.role is Role.OWNER:
            return Rank.OWNER
        if self.role is Role.MODERATOR:
            return Rank.MODERATOR
        return Rank.MEMBER


@dataclass(frozen=True, slots=True)
class Place:
    """A room as a check needs it (read by the store in the transaction of the act it
    guards), and one user's standing there."""

    room_id: int
    room: str
    kind: RoomKind
    settings: RoomSettings
    standing: Standing

    def require(self, action: Action) -> None:
        require(self.standing, action, self.settings, self.room)


class Action(StrEnum):
    """What :func:`require` decides."""

    POST = "post"
    INVITE = "invite"
    TOPIC = "topic"
    PIN = "pin"
    #: Delete another member's message.
    DELETE_ANY = "delete"
    KICK = "kick"
    BAN = "ban"
    MUTE = "mute"
    #: Name a moderator or an owner, or make one a member again.
    SET_ROLE = "role"
    SETTINGS = "settings"


#: The rank each moderation act needs (on top of :func:`require_over` for its target).
_NEEDS: Final = {
    Action.DELETE_ANY: Rank.MODERATOR,
    Action.KICK: Rank.MODERATOR,
    Action.BAN: Rank.MODERATOR,
    Action.MUTE: Rank.MODERATOR,
    Action.SET_ROLE: Rank.OWNER,
    Action.SETTINGS: Rank.OWNER,
}

#: The acts the room's settings govern, and which setting.
_GOVERNED: Final = {
    Action.POST: "post",
    Action.INVITE: "invite",
    Action.TOPIC: "topic",
    Action.PIN: "pin",
}

_WHO: Final = {Rank.MODERATOR: "its moderators and owners", Rank.OWNER: "its owners"}


def require(standing: Standing, action: Action, settings: RoomSettings, room: str) -> None:
    """Raise unless ``standing`` allows ``action`` in the room named ``room``:
    :class:`Banned`, :class:`Muted`, or :class:`NotPermitted` (saying who may)."""
    if standing.banned and standing.rank < Rank.ADMIN:
        raise Banned(f"you are banned from room {room!r}")
    setting = _GOVERNED.get(action)
    if setting is not None:
        if action is Action.POST and standing.muted_until and standing.rank < Rank.MODERATOR:
            raise Muted(f"you are muted in room {room!r}")
        policy: Policy = getattr(settings, setting)
        if policy is Policy.MODERATORS and standing.rank < Rank.MODERATOR:
            raise NotPermitted(f"in room {room!r} only its moderators may {action.value}")
        return
    needed = _NEEDS[action]
    if standing.rank < needed:
        who = _WHO.get(needed, "its owners")
        raise NotPermitted(f"in room {room!r} only {who} may {action.value}")


def require_over(actor: Standing, target: Standing, *, actor_id: int, target_id: int) -> None:
    """Raise :class:`Forbidden` unless ``actor`` may act on ``target``: never on oneself, and
    only on someone of a lower rank (an admin on anyone but another admin)."""
    if actor_id == target_id:
        raise NotPermitted("you cannot do this to yourself")
    if actor.rank <= target.rank:
        raise NotPermitted(f"you cannot do this to a {_rank_name(target.rank)}")


def require_grant(actor: Standing, role: Role) -> None:
    """Raise unless ``actor`` may give ``role``: nobody gives a rank above their own."""
    granted = Standing(role=role).rank
    if actor.rank < granted:
        raise NotPermitted(f"only owners and admins may make someone {role.value}")


def end_problem(ends_at: int | None, now: int, *, required: bool) -> str | None:
    """What is wrong with the end of a ban or mute (ms since the epoch; None: no end), or
    None: it must be after ``now`` and at most :data:`MAX_DURATION_MS` after it."""
    if ends_at is None:
        return "a mute needs an end time" if required else None
    if ends_at <= now:
        return "the end time is in the past"
    if ends_at > now + MAX_DURATION_MS:
        return "the end time is too far away (at most about 10 years)"
    return None


def _rank_name(rank: Rank) -> str:
    return {
        Rank.ADMIN: "server admin",
        Rank.OWNER: "room owner",
        Rank.MODERATOR: "moderator",
        Rank.MEMBER: "member",
    }[rank]


__all__ = [
    "MAX_DURATION_MS",
    "SETTING_NAMES",
    "Action",
    "Place",
    "Policy",
    "Rank",
    "Role",
    "RoomSettings",
    "Standing",
    "end_problem",
    "require",
    "require_grant",
    "require_over",
]
