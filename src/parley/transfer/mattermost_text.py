"""A Mattermost message as Parley text (pure; no I/O).

Mattermost stores what was typed: Markdown close to the subset Parley renders (emphasis, code,
links, lists, quotes), kept as it is. Only mentions change: ``@username`` becomes ``@name``
with the Parley account's name when the import renamed the account (so Parley finds the
mention as it would in a message typed here), and ``@all``, ``@channel``, ``@here`` become
``@room``. A run like ``@alice.`` is tried without its trailing ``.``, ``_``, ``-`` too (the end
of a sentence), as Parley reads mentions; in code (a block or a span) nothing changes, as
Parley finds no mention there. Then the text is made to follow Parley's text policy
(:func:`parley.transfer.slack_text.clean`: characters it refuses become U+FFFD, counted).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from parley.protocol.mentions import MENTION, ROOM_MENTION, without_code
from parley.transfer.slack_text import Converted, clean

_TRAILING: Final = "._-"
_EVERYONE: Final = frozenset({"all", "channel", "here"})


def convert(text: str, renamed: Mapping[str, str]) -> Converted:
    """``text`` from Mattermost as Parley text; ``renamed`` maps lower-cased Mattermost
    usernames to the Parley names that differ from them."""
    if "@" not in text:
        return clean(text)
    pieces: list[str] = []
    done = 0
    for match in MENTION.finditer(without_code(text)):
        pieces += [text[done : match.start()], _mention(match.group(1), renamed)]
        done = match.end()
    pieces.append(text[done:])
    return clean("".join(pieces))


def _mention(run: str, renamed: Mapping[str, str]) -> str:
    stripped = run.rstrip(_TRAILING)
    for spelling in (run, stripped):
        key = spelling.lower()
        rest = run[len(spelling) :]
        if key in _EVERYONE:
            return ROOM_MENTION + rest
        name = renamed.get(key)
        if name is not None:
            return "@" + name + rest
    return "@" + run


__all__ = ["convert"]
