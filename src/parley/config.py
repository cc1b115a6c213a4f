"""The settings of ``parley serve``, in one typed value.

Every setting is a command-line flag with an environment variable (``PARLEY_<NAME>``); the
flag wins. ``cli.py`` builds a :class:`ServeSettings` from them and :meth:`ServeSettings.check`
refuses impossible combinations with one line before anything starts. docs/security.md lists
every limit with its default.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from parley.backends import BackendError, check_broker, check_db
from parley.chat.auth import DEFAULT_SESSION_TTL, HashCost
from parley.chat.ratelimit import RateLimit
from parley.protocol.codec import DEFAULT_MAX_TEXT
from parley.websocket.deflate import DeflateSettings


class SettingsError(Exception):
    """A setting that cannot work; the message is one line for the operator."""


def hash_cost_from_environment() -> HashCost:
    """Argon2id parameters: RFC 9106's defaults unless ``PARLEY_ARGON2_TIME_COST`` /
    ``PARLEY_ARGON2_MEMORY_KIB`` say otherwise (the test suite lowers them to run faster;
    never lower them in production)."""
    default = HashCost()
    try:
        return HashCost(
            time_cost=int(os.environ.get("PARLEY_ARGON2_TIME_COST", default.time_cost)),
            memory_kib=int(os.environ.get("PARLEY_ARGON2_MEMORY_KIB", default.memory_kib)),
        )
    except ValueError:
        raise SettingsError("PARLEY_ARGON2_TIME_COST and _MEMORY_KIB must be integers") from None


@dataclass(frozen=True, slots=True)
class WebSocketLimits:
    """Per-connection limits; every one is a flag of ``parley serve`` (docs/security.md)."""

    #: Largest message a client may send, in bytes, after decompression.
    max_message_size: int = 64 * 1024
    #: Most frames one message may be split into.
    max_fragments: int = 128
    #: Unsent bytes a connection may hold before the client is considered too slow.
    max_send_buffer: int = 1 << 20
    #: Seconds to wait for the client's answer to our close frame.
    close_timeout: float = 5.0
    #: WebSocket connections the server accepts in total, and from one IP address.
    max_connections: int = 10_000
    max_connections_per_ip: int = 200
    #: A connection silent this long gets a ping ...
    ping_interval: float = 20.0
    #: ... and is dropped if it then stays silent this much longer.
    ping_timeout: float = 20.0


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """Limits on the HTTP side: what a request may look like before any handler sees it."""

    #: Most header lines in a request (the handshake included).
    max_headers: int = 64
    #: Longest request line or header line, in bytes.
    max_header_size: int = 8190
    #: Seconds a connection may take to send its request (and stay idle between requests).
    handshake_timeout: float = 10.0
    #: Largest HTTP request body (the account API), in bytes.
    max_body: int = 64 * 1024


@dataclass(frozen=True, slots=True)
class ServeSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    #: A SQLite file (created if missing) or a ``postgresql://`` URL.
    db: str | Path = "parley.db"
    #: ``memory`` (one process) or a ``redis://`` URL (several processes; presence too).
    broker: str = "memory"
    #: With Redis: seconds after which the users of a node that died are offline.
    presence_ttl: float = 15.0
    max_text: int = DEFAULT_MAX_TEXT
    registration_open: bool = True
    guests: bool = True
    session_ttl: float = DEFAULT_SESSION_TTL
    auth_timeout: float = 10.0
    #: Seconds between checks that connected sessions are still valid (signed out elsewhere,
    #: expired, or their account disabled by the operator).
    session_check: float = 30.0
    log_level: str = "info"
    log_format: str = "text"
    access_log: bool = True
    hash_cost: HashCost = field(default_factory=HashCost)
    websocket: WebSocketLimits = field(default_factory=WebSocketLimits)
    http: HttpLimits = field(default_factory=HttpLimits)
    rate: RateLimit = field(default_factory=RateLimit)
    #: Sign-in and registration attempts per client address.
    auth_rate: RateLimit = field(default_factory=lambda: RateLimit(rate=1.0, burst=20))
    #: permessage-deflate settings; None: the extension is declined (the default).
    deflate: DeflateSettings | None = None
    #: Origins (``scheme://host[:port]``) allowed to open a signed-in WebSocket, besides the
    #: server's own.
    allowed_origins: tuple[str, ...] = ()
    certfile: Path | None = None
    keyfile: Path | None = None
    #: A reverse proxy terminates TLS and appends the client's address to X-Forwarded-For.
    behind_proxy: bool = False
    metrics: bool = True

    @property
    def tls(self) -> bool:
        return self.certfile is not None

    @property
    def secure_cookies(self) -> bool:
        """Cookies get ``Secure`` when browsers reach the server over HTTPS."""
        return self.tls or self.behind_proxy

    def check(self) -> None:
        """Raise :class:`SettingsError` for settings that cannot work together."""
        if self.max_text + 1024 > self.websocket.max_message_size:
            raise SettingsError(
                f"--max-message-size ({self.websocket.max_message_size} bytes) must leave room "
                f"for a message of --max-text ({self.max_text}) characters plus 1 KiB of JSON"
            )
        try:
            check_db(self.db)
            check_broker(self.broker)
        except BackendError as exc:
            raise SettingsError(str(exc)) from None
        for origin in self.allowed_origins:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
                raise SettingsError(
                    f"--allowed-origin {origin!r}: give scheme://host[:port], "
                    "e.g. https://chat.example.com"
                )
        if (self.certfile is None) != (self.keyfile is None):
            raise SettingsError("--certfile and --keyfile go together")
        if self.certfile is not None:
            self.ssl_context()

    def ssl_context(self) -> ssl.SSLContext | None:
        """The server's TLS context, or None without TLS. Raises :class:`SettingsError`."""
        if self.certfile is None or self.keyfile is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            context.load_cert_chain(self.certfile, self.keyfile)
        except (OSError, ssl.SSLError) as exc:
            raise SettingsError(f"cannot load --certfile/--keyfile: {exc}") from None
        return context
