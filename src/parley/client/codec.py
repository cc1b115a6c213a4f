"""The client's side of the ``parley.v1`` codec: commands out, server messages in. No I/O.

The message types are the server's own (:mod:`parley.protocol.messages`): one definition of
the protocol for both ends. :mod:`parley.protocol.codec` is the server's half (it decodes
commands and encodes server messages); this is the mirror image.

A newer server may send message types this client does not know: they are skipped, not
treated as errors, so that adding a message to the protocol never breaks older clients.
"""

from __future__ import annotations

import logging

import msgspec

from parley.protocol.messages import (
    Ack,
    Command,
    EmailSettings,
    Error,
    EventMessage,
    HistoryReply,
    MentionsReply,
    MoreRooms,
    NotifyChanged,
    Ok,
    Pong,
    Presence,
    Resumed,
    RoomChanged,
    RoomList,
    RoomSettingsReply,
    SearchReply,
    TypingNotice,
    Unread,
    Welcome,
    WhoReply,
)

log = logging.getLogger(__name__)

AnyServerMessage = (
    Welcome
    | MoreRooms
    | Ok
    | Ack
    | RoomList
    | WhoReply
    | HistoryReply
    | SearchReply
    | Resumed
    | RoomChanged
    | Presence
    | TypingNotice
    | Unread
    | MentionsReply
    | EmailSettings
    | NotifyChanged
    | Pong
    | RoomSettingsReply
    | Error
    | EventMessage
)

_decoder: msgspec.json.Decoder[AnyServerMessage] = msgspec.json.Decoder(AnyServerMessage)
_encoder = msgspec.json.Encoder()


def encode_command(command: Command) -> str:
    """The text of the frame that carries ``command``."""
    return _encoder.encode(command).decode()


def decode_server_message(text: str | bytes) -> AnyServerMessage | None:
    """The typed message in a frame, or ``None`` (logged) for one this client cannot read."""
    try:
        return _decoder.decode(text)
    except msgspec.DecodeError as exc:
        log.debug("skipped a server message this client cannot read: %s", exc)
        return None
