"""The rules for user names, room names and passwords, as plain functions and patterns.

The patterns are also used by the message types (``protocol/messages.py``) so that a name is
validated once, where the frame is decoded. Names are case-insensitive everywhere (``Alice``
and ``alice`` are one user) but kept as typed for display.
"""

from __future__ import annotations

import re

# Every pattern is anchored with \A and \Z, never ^ and $: ``$`` also matches before a final
# line feed, so ``alice\n`` would pass for a name (in Python's ``re`` and in msgspec's
# patterns alike) and show as "alice" to everyone. The patterns are matched whole.

#: 3 to 32 letters, digits, ``_ . -``; starting with a letter or digit.
USERNAME_PATTERN = r"\A[A-Za-z0-9][A-Za-z0-9_.\-]{2,31}\Z"
#: 1 to 40 letters, digits, ``_ -``; starting with a letter or digit.
ROOM_PATTERN = r"\A[A-Za-z0-9][A-Za-z0-9_\-]{0,39}\Z"
#: A room as commands name it: a room name, or a direct room ``dm:<user>:<user>``.
ROOM_REF_PATTERN = (
    r"\A(?:[A-Za-z0-9][A-Za-z0-9_\-]{0,39}"
    r"|dm:[a-z0-9][a-z0-9_.\-]{2,31}:[a-z0-9][a-z0-9_.\-]{2,31})\Z"
)
#: Names no account may take (any case): plain-text guests are shown as ``guest-xxxx``, and a
#: ``guesthouse`` beside them would read like one.
RESERVED_PREFIXES = ("guest",)
#: Names no new account may take (any case): ``@room`` mentions everyone in a room
#: (:mod:`parley.protocol.mentions`), so a user called ``room`` could never be mentioned.
RESERVED_NAMES = frozenset({"room"})

MIN_PASSWORD = 8
MAX_PASSWORD = 256

# A few of the most used passwords (from public breach corpora); refused outright.
_COMMON_PASSWORDS = frozenset(
    (
        "password",
        "password1",
        "password12",
        "password123",
        "12345678",
        "123456789",
        "1234567890",
        "qwerty123",
        "qwertyuiop",
        "iloveyou",
        "sunshine",
        "princess",
        "football",
        "baseball",
        "welcome",
        "welcome1",
        "letmein1",
        "abc12345",
        "11111111",
        "00000000",
        "12341234",
        "87654321",
        "passw0rd",
        "p@ssw0rd",
        "trustno1",
        "superman",
        "starwars",
        "dragon123",
        "monkey123",
        "computer",
        "internet",
        "whatever",
        "qazwsxedc",
        "1q2w3e4r",
        "1qaz2wsx",
        "zaq12wsx",
        "asdfghjkl",
        "changeme",
    )
)

_USERNAME = re.compile(USERNAME_PATTERN)
_ROOM = re.compile(ROOM_PATTERN)
_ROOM_REF = re.compile(ROOM_REF_PATTERN)


def username_problem(name: str) -> str | None:
    """Why ``name`` cannot be a user name, or None if it can."""
    if not _USERNAME.fullmatch(name):
        return (
            "user names are 3 to 32 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    if name.lower().startswith(RESERVED_PREFIXES):
        return "user names starting with 'guest' are reserved for plain-text guests"
    if name.lower() in RESERVED_NAMES:
        return f"the user name {name!r} is reserved: @{name.lower()} mentions a whole room"
    return None


def password_problem(password: str, username: str = "") -> str | None:
    """Why ``password`` is too weak, or None if it is acceptable."""
    if len(password) < MIN_PASSWORD:
        return f"passwords need at least {MIN_PASSWORD} characters"
    if len(password) > MAX_PASSWORD:
        return f"passwords are at most {MAX_PASSWORD} characters"
    lowered = password.lower()
    if lowered in _COMMON_PASSWORDS or len(set(password)) < 3:
        return "this password is too easy to guess"
    if username and username.lower() in lowered:
        return "the password must not contain the user name"
    return None


def room_problem(name: str) -> str | None:
    """Why ``name`` cannot be a room's name, or None if it can."""
    if not _ROOM.fullmatch(name):
        return "room names are 1 to 40 letters, digits, '_' or '-', starting with a letter or digit"
    return None


def is_room_ref(text: str) -> bool:
    """Whether ``text`` names a room as commands do (a room name or ``dm:<user>:<user>``)."""
    return _ROOM_REF.fullmatch(text) is not None
