"""JSON text ⇄ ``parley.v1`` messages. No I/O.

:func:`decode_command` turns one frame into a typed command or raises :class:`ProtocolError`,
never anything else (a property-based test feeds it random JSON). :func:`encode` turns a
server message into the exact bytes of a text frame's payload; callers that send one message
to many connections encode it once.
"""

from __future__ import annotations

import re

import msgspec

from parley.model import Event, EventKind
from parley.permissions import RoomSettings
from parley.protocol.errors import ErrorCode, ProtocolError
from parley.protocol.messages import (
    COMMAND_TYPES,
    AnyCommand,
    Edit,
    Error,
    EventMessage,
    Send,
    ServerMessage,
)
from parley.protocol.text import is_blank, text_problem

DEFAULT_MAX_TEXT = 4000

_decoder: msgspec.json.Decoder[AnyCommand] = msgspec.json.Decoder(AnyCommand)
_loose = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()


def decode_command(data: str | bytes, *, max_text: int = DEFAULT_MAX_TEXT) -> AnyCommand:
    """Decode and validate one frame.

    Raises :class:`ProtocolError` (``bad_request``, or ``too_large`` for a text over
    ``max_text`` characters) with ``re`` set to the frame's ``id`` whenever one can be read,
    so that the client knows which command failed.
    """
    if nested_too_deeply(data):
        raise ProtocolError(ErrorCode.BAD_REQUEST, _TOO_DEEP)
    try:
        command = _decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise _explain(data, exc) from None
    except UnicodeError:  # a str with lone surrogates; never produced by a WebSocket
        raise ProtocolError(ErrorCode.BAD_REQUEST, "frame is not valid UTF-8") from None
    except RecursionError:  # (nested_too_deeply should have said so first)
        raise ProtocolError(ErrorCode.BAD_REQUEST, _TOO_DEEP) from None
    if isinstance(command, Send | Edit):
        if len(command.text) > max_text:
            raise ProtocolError(
                ErrorCode.TOO_LARGE,
                f"text is {len(command.text)} characters; the limit is {max_text}",
                command.id,
            )
        if is_blank(command.text):
            raise ProtocolError(ErrorCode.BAD_REQUEST, "text is empty", command.id)
    field, problem = _text_problem(command)
    if problem is not None:
        # A bad id is not echoed back as "re": it is what is wrong.
        raise ProtocolError(ErrorCode.BAD_REQUEST, problem, None if field == "id" else command.id)
    return command


#: The deepest nesting of arrays and objects a JSON text may have (no command nests more than
#: three levels); deeper input is refused before it reaches a recursive decoder.
MAX_JSON_DEPTH = 32
_TOO_DEEP = f"JSON is nested more than {MAX_JSON_DEPTH} levels deep"
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")


def nested_too_deeply(data: str | bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the arrays and objects of a JSON text nest more than ``limit`` deep.

    Cheap for ordinary input: texts with at most ``limit`` opening brackets cannot be too
    deep, and counting them is a scan in C. Only bracket-heavy texts are measured (strings
    removed first, so brackets inside them do not count).
    """
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    if text.count("[") + text.count("{") <= limit:
        return False
    brackets = _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text))
    depth = 0
    for char in brackets:
        depth += 1 if char in "[{" else -1
        if depth > limit:
            return True
    return False


#: The free-text fields of commands, and whether each may span lines (the text policy,
#: protocol/text.py); names need no check: their patterns allow no such characters.
_TEXT_FIELDS = (("text", False), ("topic", True), ("cid", True), ("id", True))


def _text_problem(command: AnyCommand) -> tuple[str, str | None]:
    """The first free-text field that breaks the text policy, and why (or ``"", None``)."""
    for field, one_line in _TEXT_FIELDS:
        value = getattr(command, field, None)
        if isinstance(value, str):
            problem = text_problem(value, what=field, one_line=one_line)
            if problem is not None:
                return field, problem
    return "", None


def _explain(data: str | bytes, exc: msgspec.DecodeError) -> ProtocolError:
    """Turn a decoding failure into a message a client author can act on."""
    try:
        loose = _loose.decode(data)
    except msgspec.DecodeError:
        return ProtocolError(ErrorCode.BAD_REQUEST, "frame is not valid JSON")
    if not isinstance(loose, dict):
        return ProtocolError(ErrorCode.BAD_REQUEST, "frame must be a JSON object")
    raw_id = loose.get("id")
    re = raw_id if isinstance(raw_id, str) and 0 < len(raw_id) <= 64 else None
    kind = loose.get("type")
    if not isinstance(kind, str):
        return ProtocolError(ErrorCode.BAD_REQUEST, 'frame needs a string "type"', re)
    if kind not in COMMAND_TYPES:
        shown = kind if len(kind) <= 40 else kind[:40] + "…"
        return ProtocolError(ErrorCode.BAD_REQUEST, f"unknown command type {shown!r}", re)
    return ProtocolError(ErrorCode.BAD_REQUEST, _readable(str(exc)), re)


_REGEX_FAILURE = re.compile(
    r"Expected `str` matching regex '.*' - at (?:`key` in )?`\$\.(?P<path>[^`\[]*)"
)
_FIELD_NAMES = {"room": "room name", "rooms": "room name", "user": "user name"}


def _readable(message: str) -> str:
    """msgspec's messages, minus the regular expressions a client author cannot use."""
    match = _REGEX_FAILURE.match(message)
    if match is None:
        return message
    path = match["path"]
    return f"invalid {_FIELD_NAMES.get(path, path)} (see docs/protocol.md for the rules)"


def encode(message: ServerMessage) -> bytes:
    """The JSON bytes of a server message (a text frame's payload)."""
    return _encoder.encode(message)


def error_message(error: ProtocolError) -> bytes:
    """The JSON bytes of the ``error`` event for ``error``."""
    return encode(Error(re=error.re, code=error.code.value, message=error.message))


def event_message(event: Event) -> EventMessage:
    """The wire form of a stored room event."""
    # A ``settings`` event carries the room's settings as an object, not as its stored text.
    settings = event.kind is EventKind.SETTINGS
    return EventMessage(
        room=event.room,
        seq=event.seq,
        kind=event.kind.value,
        user=event.user,
        ts=event.ts,
        mid=event.mid,
        text=None if settings else event.text,
        edited=event.edited,
        deleted=event.deleted,
        by=event.by,
        cid=event.cid,
        previous=event.previous,
        mentions=list(event.mentions) or None,
        mentions_added=list(event.mentions_added) or None,
        mentions_removed=list(event.mentions_removed) or None,
        until=event.until,
        settings=RoomSettings.parse(event.text).as_dict() if settings else None,
    )
