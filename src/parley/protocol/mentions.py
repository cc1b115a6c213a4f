"""Finding the ``@name`` and ``@room`` mentions in a message's text (pure; no I/O).

The server parses every message and edit when it commits it (the store resolves the names
against the room's members, in the same transaction): clients never say whom they mention,
so a client cannot notify someone the text does not name, nor hide a mention the text shows.

The rules, as people expect them from other chats:

* ``@`` starts a mention only at the start of the text or after a space or punctuation that
  cannot be part of a word, an address or a path: ``bob@example.com``, ``x@alice``,
  ``https://host/@alice`` and ``a.@b`` mention nobody.
* The name is matched whole: ``@alicex`` is not ``@alice``. A name may contain ``.`` and
  ``-`` (see :data:`~parley.protocol.names.USERNAME_PATTERN`); a sentence's final ``.`` (or
  ``-``, ``_``) after a name is not part of it unless a member is called that way:
  :func:`find_mentions` gives both spellings and the store keeps the longest one that is a
  member's name.
* Names are compared case-insensitively, as everywhere: ``@ALICE`` mentions ``alice``.
* Nothing inside a code span (`` `...` ``) or a fenced block (```` ``` ````) is a mention:
  code talks *about* names.
* ``@room`` (any case) mentions everyone in the room; it is never a user's name (the name
  ``room`` is reserved for new accounts, see :mod:`parley.protocol.names`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

#: The spelling of a room-wide mention, as the ``mentions`` field of an event lists it.
ROOM_MENTION: Final = "@room"

#: Distinct people one message may mention by name (``@room`` aside): a bound on the rows one
#: message adds and the notifications it causes. More is refused, never cut silently.
MAX_MENTIONS: Final = 20

#: Characters that cannot precede a mention's ``@``: word characters (any script), and what
#: joins the parts of addresses, paths and URLs.
_NOT_BEFORE = r"\w.+\-@/\\:=&%#~`"
# ``@``, then a user name's characters (ASCII letters, digits, ``_ . -``; starting with a
# letter or digit), greedy, and not followed by more name characters (there are none left).
MENTION = re.compile(rf"(?<![{_NOT_BEFORE}])@([A-Za-z0-9][A-Za-z0-9_.\-]*)")
# Code: a fenced block (up to its closing fence, or the end), or an inline span of one or more
# backticks closed by the same number (CommonMark's rule). An unclosed backtick is plain text.
_CODE = re.compile(r"```.*?(?:```|\Z)|(`+)(?!`).+?(?<!`)\1(?!`)", re.DOTALL)

_TRAILING = "._-"
_MAX_NAME = 32


@dataclass(frozen=True, slots=True)
class Mentioned:
    """What a text mentions, before the names are checked against the room's members.

    ``names``: for each ``@name`` in order of first appearance, its spellings (lower-cased),
    longest first: the whole run of name characters, then the same without trailing ``._-``
    (a sentence's punctuation). ``room``: whether ``@room`` appears.
    """

    names: tuple[tuple[str, ...], ...] = field(default=())
    room: bool = False

    @property
    def keys(self) -> set[str]:
        """Every spelling of every name: what to look up among the members."""
        return {spelling for spellings in self.names for spelling in spellings}


def without_code(text: str) -> str:
    """``text`` with its code blocks and spans blanked (spaces; the same length, so positions
    hold): where mentions are not looked for."""
    return _CODE.sub(lambda match: " " * len(match.group(0)), text)


def find_mentions(text: str) -> Mentioned:
    """The mentions in ``text`` (see the module docstring for the rules)."""
    if "@" not in text:  # the common case, without a regex pass
        return Mentioned()
    names: dict[str, tuple[str, ...]] = {}
    room = False
    for match in MENTION.finditer(without_code(text)):
        run = match.group(1).lower()
        spellings = [run]
        stripped = run.rstrip(_TRAILING)
        if stripped and stripped != run:
            spellings.append(stripped)
        if stripped == "room":
            room = True
            continue
        spellings = [s for s in spellings if 3 <= len(s) <= _MAX_NAME]
        if spellings and spellings[0] not in names:
            names[spellings[0]] = tuple(spellings)
    return Mentioned(tuple(names.values()), room)


def resolve(mentioned: Mentioned, members: dict[str, str]) -> list[str]:
    """The members ``mentioned`` names, as their names are spelled (``members``: lower-cased
    name -> name), without repeats, in order of first mention; each ``@name`` is the longest
    of its spellings that is a member."""
    found: list[str] = []
    for spellings in mentioned.names:
        for spelling in spellings:
            name = members.get(spelling)
            if name is not None:
                if name not in found:
                    found.append(name)
                break
    return found


def split(stored: str | None) -> tuple[str, ...]:
    """The names of a stored ``mentions`` column (space-separated; NULL: none)."""
    return tuple(stored.split()) if stored else ()


def join(names: list[str] | tuple[str, ...]) -> str | None:
    """The stored form of a list of mentioned names (see :func:`split`)."""
    return " ".join(names) if names else None


__all__ = [
    "MAX_MENTIONS",
    "MENTION",
    "ROOM_MENTION",
    "Mentioned",
    "find_mentions",
    "join",
    "resolve",
    "split",
    "without_code",
]
