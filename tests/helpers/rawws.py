"""A deliberately minimal, independent WebSocket client over a raw socket, for bad-input tests.

It can send what well-behaved libraries refuse to: invalid UTF-8, unmasked frames, half a
frame, reserved bits. It shares no code with Parley's own framing.
"""

from __future__ import annotations

import base64
import os
import socket
import struct
from dataclasses import dataclass


def client_frame(
    opcode: int, payload: bytes, *, fin: bool = True, mask: bool = True, rsv: int = 0
) -> bytes:
    """One client frame; masked unless ``mask`` is False."""
    first = (0x80 if fin else 0) | rsv | opcode
    n = len(payload)
    mask_bit = 0x80 if mask else 0
    if n < 126:
        header = struct.pack("!BB", first, mask_bit | n)
    elif n < 65536:
        header = struct.pack("!BBH", first, mask_bit | 126, n)
    else:
        header = struct.pack("!BBQ", first, mask_bit | 127, n)
    if not mask:
        return header + payload
    key = os.urandom(4)
    return header + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


@dataclass
class Frame:
    fin: bool
    opcode: int
    payload: bytes

    @property
    def close_code(self) -> int:
        assert self.opcode == 8
        return 1005 if not self.payload else struct.unpack("!H", self.payload[:2])[0]


class RawClient:
    """A WebSocket client that sends raw bytes and reads raw frames."""

    def __init__(
        self,
        port: int,
        path: str = "/",
        *,
        headers: dict[str, str] | None = None,
        timeout: float = 5.0,
        handshake: bool = True,
    ):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""
        self.status_line = ""
        self.response_headers: dict[str, str] = {}
        if handshake:
            self.handshake(path, headers or {})

    def handshake(self, path: str, headers: dict[str, str]) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            "Host: 127.0.0.1",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = self._read_until(b"\r\n\r\n")
        status, *header_lines = head.decode("latin-1").split("\r\n")
        self.status_line = status
        for line in header_lines:
            if ":" in line:
                name, value = line.split(":", 1)
                self.response_headers[name.strip().lower()] = value.strip()
        assert status.startswith("HTTP/1.1 101"), head

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed while reading")
            self.buffer += chunk
        head, self.buffer = self.buffer.split(marker, 1)
        return head

    def _read_exact(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed while reading")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send_frame(self, opcode: int, payload: bytes, **kwargs: object) -> None:
        self.sock.sendall(client_frame(opcode, payload, **kwargs))  # type: ignore[arg-type]

    def send_text(self, text: str) -> None:
        self.send_frame(1, text.encode())

    def recv_frame(self) -> Frame:
        first, second = self._read_exact(2)
        n = second & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read_exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read_exact(8))[0]
        assert not second & 0x80, "server frames must not be masked"
        return Frame(bool(first & 0x80), first & 0x0F, self._read_exact(n))

    def recv_close(self) -> Frame:
        """Read frames until the close frame; return it."""
        while True:
            frame = self.recv_frame()
            if frame.opcode == 8:
                return frame

    def at_eof(self) -> bool:
        """True when the server closed the TCP connection (after any buffered frames)."""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buffer += chunk
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        self.sock.close()


def http_request(port: int, raw: bytes, timeout: float = 5.0) -> bytes:
    """Send raw bytes as an HTTP request and return everything the server answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        data = b""
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except TimeoutError:
            pass
        return data
