"""The one text policy for everything people read: messages, edits, topics, guests' lines.

Refused, wherever text comes from (``parley.v1``, a plain-text guest, the account API):

* **C0 and C1 control characters** (U+0000-U+001F, U+007F-U+009F), except line feed (U+000A)
  and tab (U+0009) in text that may have several lines. They draw nothing, some terminals
  obey them (the escape sequences of ``ESC``, U+001B), they cost six bytes each in JSON
  (``\\u0001``), and no keyboard types them. A carriage return is refused too: line breaks
  are ``\\n`` on the wire.
* **Invisible characters that reorder or hide what people see**: the bidirectional
  embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069), which can make a message
  read differently from what it says (the "Trojan Source" trick), the line and paragraph
  separators (U+2028, U+2029: line breaks that are not ``\\n``), the byte order mark
  (U+FEFF) and the interlinear annotation characters (U+FFF9-U+FFFB).

Allowed, because real writing needs them: the zero-width joiner and non-joiner (U+200D, U+200C:
emoji sequences, Persian, Indic scripts), the left-to-right and right-to-left marks (U+200E,
U+200F, U+061C: they only affect the neutral characters next to them, and the browser shows
every message in its own isolated direction, so they cannot reach outside it), variation
selectors and tag characters (flag emoji).

User and room names need none of this: their patterns allow ASCII letters, digits and a few
punctuation marks only (``protocol/names.py``).
"""

from __future__ import annotations

import re
import unicodedata

_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f"
_INVISIBLE = "\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ufff9-\ufffb"
#: What multi-line text (messages, edits, guests' lines) may not contain; also what the
#: terminal client never prints raw (``client/sanitize.py``).
REFUSED_IN_TEXT = re.compile(f"[{_CONTROLS}{_INVISIBLE}]")
#: What one-line text (topics) and identifiers may not contain: also line feed and tab.
_REFUSED_IN_LINE = re.compile(f"[\t\n{_CONTROLS}{_INVISIBLE}]")


def text_problem(text: str, *, what: str = "text", one_line: bool = False) -> str | None:
    """Why ``text`` breaks the policy (naming the first offending character), or None."""
    found = (_REFUSED_IN_LINE if one_line else REFUSED_IN_TEXT).search(text)
    if found is None:
        return None
    char = found.group()
    if one_line and char in "\t\n":
        return f"{what} must be one line: no line breaks or tabs"
    return f"{what} must not contain U+{ord(char):04X} ({_describe(char)})"


# The C0 controls' abbreviations (ECMA-48), which unicodedata does not name.
# fmt: off
_C0 = (
    "NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS", "HT", "LF", "VT", "FF", "CR",
    "SO", "SI", "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB", "CAN", "EM", "SUB",
    "ESC", "FS", "GS", "RS", "US",
)
# fmt: on


def _describe(char: str) -> str:
    code = ord(char)
    if code < 0x20:
        return f"{_C0[code]}, a control character"
    if 0x7F <= code <= 0x9F:
        return "DEL, a control character" if code == 0x7F else "a C1 control character"
    return unicodedata.name(char, "an invisible character").lower()


#: A character someone can see: not white space, and not an invisible format character that
#: the policy allows (joiners, direction marks, variation selectors, soft hyphen ...).
_VISIBLE = re.compile(r"[^\s\u00ad\u061c\u180e\u200b-\u200f\u2060-\u2064\ufe00-\ufe0f]")


def is_blank(text: str) -> bool:
    """True when ``text`` shows nothing: only white space and invisible characters."""
    return _VISIBLE.search(text) is None
