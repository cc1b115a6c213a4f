"""What a reaction may be: one emoji, or a short ``:shortcode:`` (docs/protocol.md, "Emoji").

One emoji is what Unicode's emoji data calls one (a single emoji, or one emoji sequence:
skin tones, flags, keycaps, ZWJ sequences), as the ``emoji`` package's list knows them; a
shortcode is a name clients render as text or as their own image. Nothing else: no text, no
two emoji, no invisible characters around one, so that one reaction is one thing to count and
a name list cannot be smuggled into it.
"""

from __future__ import annotations

import re
from typing import Final

import emoji as emoji_data

#: Distinct emoji one message may carry (``react`` past it: ``limit_reached``).
MAX_EMOJI_PER_MESSAGE: Final = 20

#: A shortcode: ``:name:``, the name 1 to 32 of a-z, 0-9, ``_``, ``+``, ``-``.
SHORTCODE: Final = re.compile(r"\A:[a-z0-9_+\-]{1,32}:\Z")

#: The longest emoji accepted, in characters (the longest RGI sequences are 10 code points).
MAX_EMOJI_LENGTH: Final = 64

EMOJI_RULE: Final = "emoji must be one emoji or a :shortcode: (a-z, 0-9, _, +, -; at most 32)"


def valid_emoji(text: str) -> bool:
    """Whether ``text`` is one emoji or a shortcode, whole."""
    if not text or len(text) > MAX_EMOJI_LENGTH:
        return False
    if SHORTCODE.match(text):
        return True
    return bool(emoji_data.is_emoji(text))


__all__ = ["EMOJI_RULE", "MAX_EMOJI_LENGTH", "MAX_EMOJI_PER_MESSAGE", "SHORTCODE", "valid_emoji"]
