"""``--trace``: the WebSocket conversation as lines of text, the tutorial's "network tab".

The connection (:mod:`parley.client.websocket`) reports each step to a :class:`Tracer`; the
:class:`LineTracer` here turns them into lines in the style of ``curl -v``:

* ``* ...`` what the client is doing;
* ``> ...`` / ``< ...`` the HTTP lines of the opening handshake, sent / received;
* ``>> ...`` / ``<< ...`` one line per frame, sent / received: opcode, FIN, mask bit, payload
  length and a preview of the payload (close frames: the code and reason).

Bearer tokens are shown as ``Bearer ***``: trace output gets pasted into bug reports.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from typing import Protocol

from parley.client.errors import describe_close
from parley.client.frames import Frame
from parley.websocket.codes import Opcode

_BEARER = re.compile(r"^(authorization:\s*bearer\s+).*$", re.IGNORECASE)
_REDACTED = r"\g<1>***"


class Tracer(Protocol):
    """Receives every step of a connection, in order."""

    def note(self, text: str) -> None: ...

    def request(self, head: bytes) -> None: ...

    def response(self, head: bytes) -> None: ...

    def frame(self, frame: Frame, *, sent: bool) -> None: ...


def preview(data: bytes, limit: int = 72, *, text: bool = True) -> str:
    """A one-line, printable view of a payload, cut at ``limit`` characters."""
    if text:
        shown = printable(data[: limit * 4].decode("utf-8", "replace"))
        body = shown if len(shown) <= limit else shown[:limit] + "…"
        return f'"{body}"'
    hexed = data[: limit // 3].hex(" ")
    return hexed + (" …" if len(data) > limit // 3 else "")


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """``text`` on one line: control and other unprintable characters escaped."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _ESCAPES.get(ch, f"\\u{ord(ch):04x}") for ch in text)


def escape_binary(data: bytes) -> str:
    """Binary data for a terminal: printable ASCII as is, everything else as ``\\xNN``."""
    return "".join(
        chr(b) if 32 <= b < 127 and b != 0x5C else ("\\\\" if b == 0x5C else f"\\x{b:02x}")
        for b in data
    )


def describe_frame(frame: Frame, *, sent: bool, text_continuation: bool = False) -> str:
    """The trace line of one frame (without its direction marker)."""
    parts = [
        f"{frame.name:<6}",
        f"fin={int(frame.fin)}",
        f"masked={int(frame.masked)}",
        f"len={len(frame.payload)}",
    ]
    if frame.mask_key:
        parts.append(f"key={frame.mask_key.hex()}")
    if frame.rsv:
        parts.insert(2, f"rsv={frame.rsv >> 4:03b}")
    payload = frame.payload
    if frame.opcode == Opcode.CLOSE:
        if len(payload) >= 2:
            code = struct.unpack("!H", payload[:2])[0]
            reason = payload[2:].decode("utf-8", "replace")
            parts.append(f"code={describe_close(code, reason)}")
        else:
            parts.append("(no status code)")
    elif payload:
        is_text = frame.opcode == Opcode.TEXT or (frame.opcode == Opcode.CONT and text_continuation)
        if frame.opcode == Opcode.BINARY or is_text or frame.opcode == Opcode.CONT:
            parts.append(preview(payload, text=is_text))
        else:  # ping / pong
            parts.append(preview(payload, text=False))
    return " ".join(parts)


class LineTracer:
    """A :class:`Tracer` that writes one line at a time with ``write``."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write
        self._text_fragments = {True: False, False: False}  # per direction

    def note(self, text: str) -> None:
        self.write(f"* {text}")

    def request(self, head: bytes) -> None:
        for line in head.decode("latin-1").rstrip("\r\n").split("\r\n"):
            self.write(("> " + _BEARER.sub(_REDACTED, line)).rstrip())
        self.write(">")

    def response(self, head: bytes) -> None:
        for line in head.decode("latin-1").rstrip("\r\n").split("\r\n"):
            self.write(f"< {line}".rstrip())
        self.write("<")

    def frame(self, frame: Frame, *, sent: bool) -> None:
        continuing = self._text_fragments[sent]
        if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
            continuing = frame.opcode == Opcode.TEXT
        line = describe_frame(frame, sent=sent, text_continuation=continuing)
        self.write(f"{'>>' if sent else '<<'} {line}")
        if frame.opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
            self._text_fragments[sent] = continuing and not frame.fin
