"""Which ``Host`` headers the server answers: the defence against DNS rebinding.

A page on ``http://evil.example:8080`` can make its own name resolve to 127.0.0.1 (or to any
address of a private network) a moment after it loaded: the browser then sends the page's
requests, and its WebSocket handshakes, to Parley with ``Host: evil.example:8080`` and, since
for the browser it is the page's own origin, reads the answers. Refusing every request whose
``Host`` names something else stops that, for HTTP and for the WebSocket handshake alike.

Always allowed, because no rebinding can produce them: an IP address (a rebinding page has a
name, and the browser sends that name) and ``localhost`` (browsers resolve it to the machine
itself, never through DNS). Also allowed: the name the server listens on (``--host`` when it
is a name), the host of ``--public-url`` and each ``--allowed-host``; ``*`` turns the check
off. A request without ``Host`` (HTTP/1.0, a hand-written client) is not a browser's and is
let through. The port is not compared: the rebinding page's port is the server's own.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

ANY = "*"

#: Names that always mean this machine.
LOCAL_NAMES = frozenset({"localhost"})


def host_name(header: str) -> str:
    """The host of a ``Host`` header without its port, lower-cased: ``[::1]:8080`` gives
    ``::1``, ``Chat.Example.com:443`` gives ``chat.example.com``."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    name, colon, port = header.rpartition(":")
    if colon and ":" not in name and port.isdigit():
        return name
    return header


def is_ip_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostPolicy:
    """The ``Host`` names one server answers; see the module docstring."""

    def __init__(self, listen_host: str, public_url: str | None, allowed: Iterable[str]) -> None:
        names = {name.lower().strip("[]") for name in allowed}
        self.any = ANY in names
        if public_url:
            names.add((urlsplit(public_url).hostname or "").lower())
        listening = listen_host.lower().strip("[]")
        if listening and not is_ip_address(listening):
            names.add(listening)
        #: Listening on every interface (``0.0.0.0``, ``::``): people may use any name.
        self.every_interface = not listening or (
            is_ip_address(listening) and ipaddress.ip_address(listening).is_unspecified
        )
        self.names = frozenset(names - {ANY, ""}) | LOCAL_NAMES

    def allows(self, header: str | None) -> bool:
        """Whether a request with this ``Host`` header (None: none) may be answered."""
        if header is None or self.any:
            return True
        name = host_name(header)
        return name in self.names or is_ip_address(name)

    @property
    def needs_names(self) -> bool:
        """True when the server listens on every interface but allows no name besides
        ``localhost``: the operator should be told how to add the names people use."""
        return self.every_interface and not self.any and self.names == LOCAL_NAMES
