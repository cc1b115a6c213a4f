"""An upload's type, found from its first bytes: never from its name or a client's header.

No I/O: the caller passes the first :data:`HEAD_BYTES` of the file. The four image types are
the only ones served inline (``server/files.py``), and only after ``images.py`` decoded and
re-encoded them; every other type is informational (shown to people, and served as an
attachment), so a guess that errs toward ``application/octet-stream`` is safe.
"""

from __future__ import annotations

from typing import Final

#: How many leading bytes :func:`sniff` looks at.
HEAD_BYTES: Final = 4096

PNG: Final = "image/png"
JPEG: Final = "image/jpeg"
GIF: Final = "image/gif"
WEBP: Final = "image/webp"
#: The types shown inline, once re-encoded by the server.
IMAGE_TYPES: Final = frozenset({PNG, JPEG, GIF, WEBP})
PDF: Final = "application/pdf"
TEXT: Final = "text/plain; charset=utf-8"
BINARY: Final = "application/octet-stream"


def sniff(head: bytes) -> str:
    """The type of a file that starts with ``head``."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"%PDF-"):
        return PDF
    if head and _looks_like_text(head):
        return TEXT
    return BINARY


def _looks_like_text(head: bytes) -> bool:
    """UTF-8 without NUL bytes (a character cut by the end of ``head`` is allowed)."""
    if b"\0" in head:
        return False
    for cut in range(min(4, len(head))):  # a character may straddle the end of the head
        try:
            head[: len(head) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return True
    return False
