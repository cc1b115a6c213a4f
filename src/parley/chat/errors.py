"""Why a command was refused, as the client is told it: every failure becomes an ``error``.

A :class:`~parley.protocol.errors.ProtocolError` is already the answer. A store error is
translated here, naming what the command was about (its room, its message); the commands
translate the cases whose meaning only they know (``edit`` of a missing message) themselves.
Anything else is a bug: the client hears ``internal``, the log gets the traceback.
"""

from __future__ import annotations

from parley.clock import now_ms
from parley.protocol import messages as m
from parley.protocol.errors import ErrorCode, ProtocolError
from parley.store.base import (
    Archived,
    Banned,
    Conflict,
    Forbidden,
    LimitReached,
    Muted,
    NotFound,
    NotMember,
    NotPermitted,
    Unavailable,
)


def refusal(error: Exception, command: m.Command | None) -> ProtocolError:
    """The ``error`` a client gets when ``command`` failed with ``error``."""
    re = command.id if command is not None else None
    if isinstance(error, ProtocolError):
        if error.re is None:
            error.re = re
        return error
    room = getattr(command, "room", None)
    about = f"room {room!r}" if isinstance(room, str) else "it"
    # Room roles (permissions.py): the store's message says who may, for the user.
    if isinstance(error, Banned):
        return ProtocolError(ErrorCode.BANNED, str(error), re)
    if isinstance(error, Muted):
        return ProtocolError(ErrorCode.MUTED, str(error), re)
    if isinstance(error, NotPermitted):
        return ProtocolError(ErrorCode.FORBIDDEN, str(error), re)
    if isinstance(error, NotMember):
        return ProtocolError(ErrorCode.NOT_FOUND, str(error), re)
    if isinstance(error, NotFound):
        return ProtocolError(ErrorCode.NOT_FOUND, f"{about} no longer exists", re)
    if isinstance(error, Archived):  # its message names the room and says what is allowed
        return ProtocolError(ErrorCode.FORBIDDEN, str(error), re)
    if isinstance(error, Forbidden):
        return ProtocolError(ErrorCode.FORBIDDEN, f"{about}: this is not allowed", re)
    if isinstance(error, Conflict):
        return ProtocolError(ErrorCode.CONFLICT, "that name is taken", re)
    if isinstance(error, LimitReached):
        return ProtocolError(ErrorCode.LIMIT_REACHED, quota_message(error, command), re)
    if isinstance(error, Unavailable):
        return ProtocolError(
            ErrorCode.UNAVAILABLE, "the server cannot store this now; retry later", re
        )
    return ProtocolError(ErrorCode.INTERNAL, "internal error", re)


def quota_message(error: LimitReached, command: m.Command | None) -> str:
    """What a user is told when a room quota refused ``command``: which limit, and when it
    will allow one more."""
    window = spell(error.quota.window_ms).removeprefix("1 ")  # "the last hour"
    wait = spell(max(1000, error.retry_at - now_ms()))
    rooms = f"{error.quota.most} room" + ("s" if error.quota.most != 1 else "")
    if error.which == "created":
        return (
            f"you have created {rooms} in the last {window}, the most this server allows; "
            f"you can create another in {wait}"
        )
    user = getattr(command, "user", None)
    who = repr(user) if isinstance(user, str) else "that user"
    return (
        f"{who} was added to {rooms} by others in the last {window}, the most this server "
        f"allows; try again in {wait}"
    )


def spell(ms: int) -> str:
    """A duration for people, rounded up: ``24 hours``, ``1 hour``, ``3 h 5 min``, ``40 s``."""
    seconds = -(-ms // 1000)
    if seconds < 60:
        return f"{seconds} s"
    minutes = -(-seconds // 60)
    hours, minutes = divmod(minutes, 60)
    if not minutes:
        return f"{hours} hour" + ("s" if hours != 1 else "")
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"
