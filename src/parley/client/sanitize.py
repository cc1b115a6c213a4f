"""Text from the network, made harmless for a terminal.

A message, a topic, a close reason or a refusal from a server is printed by the terminal
client; printed raw it could move the cursor, retitle the window, clear the screen or write
the clipboard (OSC 52). Everything printed to a terminal goes through :func:`safe`; a file or
a pipe gets the text exactly as the server sent it. Kept apart from ``console.py`` so that
commands that never prompt (``send``, ``tail``) do not load prompt_toolkit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TextIO

from parley.protocol.text import REFUSED_IN_TEXT


def _shown(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(text: str) -> str:
    """``text`` with every character the text policy refuses (control characters but newline
    and tab, invisible reordering characters) shown as an escape, ``\\x1b`` or ``\\u202e``."""
    return REFUSED_IN_TEXT.sub(_shown, text)


def _unchanged(text: str) -> str:
    return text


def for_terminal(stream: TextIO) -> Callable[[str], str]:
    """:func:`safe` if ``stream`` is a terminal; otherwise text passes unchanged (a file or a
    pipe gets exactly what the server sent)."""
    try:
        return safe if stream.isatty() else _unchanged
    except (AttributeError, ValueError):  # a closed or replaced stream
        return safe
