"""A Mattermost message as Parley text (pure; no I/O).

Mattermost stores what was typed: Markdown close to the subset Parley renders (emphasis, code,
links, lists, quotes), kept as it is. Only mentions change: ``@username`` becomes ``@name``
with the Parley account's name when the import renamed the account (so Parley finds the
mention as it would in a message typed here), and ``@all``, ``@channel``, ``@here`` become
``@room``. A run like ``@alice.`` is tried without its trailing ``.``, ``_``, ``-`` too (the end
of a sentence), as Parley reads mentions. Then the text is made to follow Parley's text policy
(:func:`parley.transfer.slack_text.clean`: characters it refuses become U+FFFD, counted).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from parley.protocol.mentions import ROOM_MENTION
from parley.transfer.slack_text import Converted, clean

_MENTION: Final = re.compile(r"(?<![A-Za-z0-9_.\-@])@([A-Za-z0-9][A-Za-z0-9_.\-]*)")
_TRAILING: Final = "._-"
_EVERYONE: Final = frozenset({"all", "channel", "here"})


def convert(text: str, renamed: Mapping[str, str]) -> Converted:
    """``text`` from Mattermost as Parley text; ``renamed`` maps lower-cased Mattermost
    usernames to the Parley names that differ from them."""

    def mention(match: re.Match[str]) -> str:
        run = match.group(1)
        stripped = run.rstrip(_TRAILING)
        for spelling in (run, stripped):
            key = spelling.lower()
            rest = run[len(spelling) :]
            if key in _EVERYONE:
                return ROOM_MENTION + rest
            name = renamed.get(key)
            if name is not None:
                return "@" + name + rest
        return match.group(0)

    return clean(_MENTION.sub(mention, text) if "@" in text else text)


__all__ = ["convert"]
