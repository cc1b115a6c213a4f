"""Slack's message markup as Parley text (pure; no I/O).

Slack stores a message's text with its references in angle brackets, and ``&``, ``<``, ``>``
escaped as HTML entities:

* ``<@U123>`` or ``<@U123|alice>``: a person, becomes ``@name`` with the Parley account's name
  (so Parley finds the mention as it would in a message typed here);
* ``<#C123>`` or ``<#C123|general>``: a channel, becomes ``#name``;
* ``<!channel>``, ``<!here>``, ``<!everyone>``: everyone, becomes ``@room``;
  ``<!subteam^S1|@team>``, ``<!date^...|fallback>`` and other ``<!...|label>``: the label;
* ``<https://x|label>``: a link with a label, becomes ``label (https://x)``; ``<https://x>``
  the address alone; ``<mailto:a@b|a@b>`` the label.

Then the text is made to follow Parley's text policy (``protocol/text.py``): line breaks
become ``\\n`` and the characters the policy refuses become U+FFFD, counted (imported history
is kept, never refused for one character, and never changed silently).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from parley.protocol.mentions import ROOM_MENTION
from parley.protocol.text import REFUSED_IN_TEXT

_REFERENCE: Final = re.compile(r"<([^<>\n]*)>")
_EVERYONE: Final = frozenset({"channel", "here", "everyone"})
REPLACEMENT: Final = "\ufffd"


@dataclass(frozen=True, slots=True)
class Converted:
    text: str
    #: Characters the text policy refuses, replaced by U+FFFD.
    replaced: int


def convert(text: str, users: Mapping[str, str], channels: Mapping[str, str]) -> Converted:
    """``text`` from Slack as Parley text; ``users`` and ``channels`` map Slack ids to Parley
    names (an unknown id keeps its label, or the id)."""

    def reference(match: re.Match[str]) -> str:
        inside = match.group(1)
        target, _, label = inside.partition("|")
        if target.startswith("@"):
            name = users.get(target[1:])
            return "@" + (name or label.lstrip("@") or target[1:])
        if target.startswith("#"):
            name = channels.get(target[1:])
            return "#" + (name or label.lstrip("#") or target[1:])
        if target.startswith("!"):
            word = target[1:]
            if word in _EVERYONE:
                return ROOM_MENTION
            return label or word.partition("^")[0]
        if label and label != target:
            if target.startswith("mailto:"):
                return label
            return f"{label} ({target})"
        return target

    converted = _REFERENCE.sub(reference, text)
    converted = converted.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return clean(converted)


def clean(text: str, *, one_line: bool = False) -> Converted:
    """``text`` made to follow the text policy: ``\\r\\n`` and ``\\r`` become ``\\n`` (a space
    when ``one_line``, with tabs), refused characters U+FFFD."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if one_line:
        text = text.replace("\n", " ").replace("\t", " ")
    cleaned, replaced = REFUSED_IN_TEXT.subn(REPLACEMENT, text)
    return Converted(cleaned, replaced)


__all__ = ["REPLACEMENT", "Converted", "clean", "convert"]
