"""Why a command was refused, as the client is told it: every failure becomes an ``error``.

A :class:`~parley.protocol.errors.ProtocolError` is already the answer. A store error is
translated here, naming what the command was about (its room, its message); the commands
translate the cases whose meaning only they know (``edit`` of a missing message) themselves.
Anything else is a bug: the client hears ``internal``, the log gets the traceback.
"""

from __future__ import annotations

from parley.protocol import messages as m
from parley.protocol.errors import ErrorCode, ProtocolError
from parley.store.base import Archived, Conflict, Forbidden, NotFound, Unavailable


def refusal(error: Exception, command: m.Command | None) -> ProtocolError:
    """The ``error`` a client gets when ``command`` failed with ``error``."""
    re = command.id if command is not None else None
    if isinstance(error, ProtocolError):
        if error.re is None:
            error.re = re
        return error
    room = getattr(command, "room", None)
    about = f"room {room!r}" if isinstance(room, str) else "it"
    if isinstance(error, NotFound):
        return ProtocolError(ErrorCode.NOT_FOUND, f"{about} no longer exists", re)
    if isinstance(error, Archived):  # its message names the room and says what is allowed
        return ProtocolError(ErrorCode.FORBIDDEN, str(error), re)
    if isinstance(error, Forbidden):
        return ProtocolError(ErrorCode.FORBIDDEN, f"{about}: this is not allowed", re)
    if isinstance(error, Conflict):
        return ProtocolError(ErrorCode.CONFLICT, "that name is taken", re)
    if isinstance(error, Unavailable):
        return ProtocolError(
            ErrorCode.UNAVAILABLE, "the server cannot store this now; retry later", re
        )
    return ProtocolError(ErrorCode.INTERNAL, "internal error", re)
