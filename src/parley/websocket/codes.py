"""RFC 6455's numbers, defined once for the server and the client: opcodes and close codes.

:class:`CloseCode` also holds what each code means in Parley and whether a client should
reconnect after it: ``docs/architecture.md``'s close-code table says the same, word for word
(``tests/websocket/test_codes.py`` compares them), and the client decides whether to reconnect
from :attr:`CloseCode.retriable`, so the table, the server and the client cannot drift apart.
"""

from __future__ import annotations

from enum import IntEnum


class Opcode(IntEnum):
    """Frame opcodes (RFC 6455 section 5.2). The names are what ``parley connect --trace``
    shows; 0x3-0x7 and 0xB-0xF are reserved and refused."""

    CONT = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA


#: Opcodes of data frames (section 5.6) and of control frames (section 5.5), as plain ints:
#: the parser tests the opcode of every frame, and an int compares faster with an int than
#: with an IntEnum member.
DATA_OPCODES = frozenset(int(op) for op in (Opcode.CONT, Opcode.TEXT, Opcode.BINARY))
CONTROL_OPCODES = frozenset(int(op) for op in (Opcode.CLOSE, Opcode.PING, Opcode.PONG))


class CloseCode(IntEnum):
    """Close codes (RFC 6455 section 7.4.1, the IANA registry) and Parley's own (4000-4999).

    Each member carries:

    * ``label``: the registry's short name, shown after the number (``1001 (going away)``);
    * ``meaning``: when Parley sends it (the close-code table of docs/architecture.md);
    * ``advice``: whether a client should reconnect (the same table's last column);
    * ``retriable``: the advice as a flag, what the client's reconnect loop tests.

    Compare received codes with members (``code == CloseCode.TOO_SLOW``); a code that is not
    a member (3000-4999 of other software) stays a plain ``int``.
    """

    label: str
    meaning: str
    advice: str
    retriable: bool

    def __new__(cls, value: int, label: str, meaning: str, advice: str) -> CloseCode:
        member = int.__new__(cls, value)
        member._value_ = value
        member.label = label
        member.meaning = meaning
        member.advice = advice
        member.retriable = advice.startswith("yes")
        return member

    @classmethod
    def lookup(cls, code: int) -> CloseCode | None:
        """The member for ``code``; None for a code Parley does not know (3000-4999 of other
        software)."""
        return _BY_CODE.get(code)

    NORMAL = (1000, "normal closure", "normal closure", "no")
    GOING_AWAY = (1001, "going away", "server shutting down", "yes (possibly to another server)")
    PROTOCOL_ERROR = (
        1002,
        "protocol error",
        "the client broke the WebSocket protocol",
        "no: fix the client",
    )
    UNSUPPORTED_DATA = (
        1003,
        "unsupported data",
        "unsupported data (binary in plain-text mode)",
        "no",
    )
    NO_STATUS = (
        1005,
        "no status code",
        "never sent: stands for a close frame without a code",
        "no",
    )
    ABNORMAL = (
        1006,
        "connection lost without a closing handshake",
        "never sent: the connection dropped without a close frame (no answer to pings, "
        "or the closing handshake timed out)",
        "yes, with backoff",
    )
    INVALID_DATA = (1007, "invalid data", "invalid UTF-8 in a text message", "no")
    POLICY_VIOLATION = (
        1008,
        "policy violation",
        "policy: authentication failed or timed out, the session was revoked or expired",
        "no: sign in again",
    )
    MESSAGE_TOO_BIG = (1009, "message too big", "message too big", "no")
    MANDATORY_EXTENSION = (
        1010,
        "mandatory extension",
        "never sent by a server: the client needed an extension the server did not accept",
        "no",
    )
    INTERNAL_ERROR = (1011, "internal server error", "internal error", "yes, after a delay")
    SERVICE_RESTART = (
        1012,
        "service restart",
        "not sent by Parley (which restarts with 1001): the service is restarting",
        "yes",
    )
    TRY_AGAIN_LATER = (
        1013,
        "try again later",
        "try again later: the database is unreachable (during sign-in, or storing a guest's "
        "message)",
        "yes, after a delay",
    )
    TOO_SLOW = (
        4001,
        "too slow",
        "too slow: the client read nothing for `--slow-client-grace` with more than "
        "`--max-send-buffer` unsent, or its unsent data reached the hard cap",
        "yes",
    )
    RATE_LIMITED = (
        4003,
        "rate limited",
        "rate limited: the client kept sending after `rate_limited` errors (a guest: kept "
        "its socket saturated past `--max-throttle`)",
        "yes, after a delay",
    )


_BY_CODE = {int(member): member for member in CloseCode}


def is_valid_close_code(code: int) -> bool:
    """Whether a peer may send ``code`` in a close frame.

    1004, 1005, 1006 and 1015 are reserved for local use and never appear on the wire; 1012-1014
    were registered after RFC 6455 and are accepted; 3000-3999 are registered libraries' codes
    and 4000-4999 private ones (section 7.4.2).
    """
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999
