"""Formatted message text, shown readably in a terminal.

The server stores and sends a message's text exactly as written; clients may read a small
Markdown subset in it (docs/protocol.md, "Formatted text"). A terminal shows plain lines, so
the markers that only format are taken out and the structure is kept in characters:

* ``**bold**``, ``*italic*`` and ``_italic_`` lose their markers (``snake_case`` and
  ``2*3*4`` are left alone: a marker must touch a word on its inner side only);
* ```` ``` ```` fence lines are dropped and the block's lines are indented by four spaces,
  nothing inside a block or a `` `code` `` span is reformatted (code is shown as written);
* a quoted line (``> text``) starts with ``│ ``.

It never adds a control character, and runs after :func:`parley.client.sanitize.safe` has
escaped those the text had: what reaches the terminal is still only printable text. Every
pattern is linear: no input makes it slow.
"""

from __future__ import annotations

import re
from typing import Final

_FENCE: Final = re.compile(r"\A[ \t]*```")
_QUOTE: Final = re.compile(r"\A[ \t]*>[ \t]?")
_CODE_SPAN: Final = re.compile(r"(`[^`\n]+`)")
_BOLD: Final = re.compile(r"\*\*(?=[^\s*])([^*\n]*[^\s*])\*\*")
_STAR: Final = re.compile(r"(?<![\w*])\*(?=[^\s*])([^*\n]*[^\s*])\*(?![\w*])")
_UNDERSCORE: Final = re.compile(r"(?<![\w_])_(?=[^\s_])([^_\n]*[^\s_])_(?![\w_])")

#: What a code block's lines are indented by, and what starts a quoted line.
CODE_INDENT: Final = "    "
QUOTE_MARK: Final = "│ "


def _inline(line: str) -> str:
    """Markers taken out of one line, outside its code spans."""
    parts = _CODE_SPAN.split(line)
    for index in range(0, len(parts), 2):  # the even parts are outside code spans
        plain = _BOLD.sub(r"\1", parts[index])
        plain = _STAR.sub(r"\1", plain)
        parts[index] = _UNDERSCORE.sub(r"\1", plain)
    return "".join(parts)


def render(text: str) -> str:
    """``text`` as a terminal shows it (see the module docstring)."""
    lines: list[str] = []
    in_block = False
    for line in text.split("\n"):
        if _FENCE.match(line):
            in_block = not in_block
            continue
        if in_block:
            lines.append(CODE_INDENT + line)
        elif quoted := _QUOTE.match(line):
            lines.append(QUOTE_MARK + _inline(line[quoted.end() :]))
        else:
            lines.append(_inline(line))
    return "\n".join(lines)


__all__ = ["CODE_INDENT", "QUOTE_MARK", "render"]
