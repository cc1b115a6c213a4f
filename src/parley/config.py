"""The settings of ``parley serve``: one typed value, and one declaration per flag.

:class:`ServeSettings`, with the limits nested in it, holds every setting and its default.
:data:`SERVE_FLAGS` says once, per setting, how an operator gives it: the flag, its
environment variable (``PARLEY_<FLAG>``; the flag wins), its syntax, its help, where its value
lands in :class:`ServeSettings` and, for a limit, its row in docs/security.md. From these,
``cli.py`` makes the options of ``parley serve`` (and the ones ``echo`` and ``user`` share),
:func:`settings_from_flags` builds the settings, and :func:`limits_table` writes
docs/security.md's table of limits (``tests/test_settings_docs.py`` keeps the page, and the
README's flag table, true to the declarations). :meth:`ServeSettings.check` refuses impossible
combinations with one line before anything starts.

A new setting is a field with its default, and a :class:`Flag` in :data:`SERVE_FLAGS`.
"""

from __future__ import annotations

import os
import re
import ssl
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

from parley.backends import BackendError, check_broker, check_db
from parley.chat.auth import DEFAULT_SESSION_TTL, HashCost
from parley.chat.inflight import FlowLimits
from parley.chat.ratelimit import RateLimit
from parley.logs import LEVELS
from parley.mail.smtp import SmtpTarget, SmtpUrlError
from parley.protocol.budget import REPLY_BUDGET
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


# -- the settings ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WebSocketLimits:
    """Per-connection limits (bytes, seconds); all but ``close_timeout`` are flags."""

    max_message_size: int = 64 * 1024
    max_fragments: int = 128
    #: The high-water mark of unsent data (see ``parley.server.connection``).
    max_send_buffer: int = 1 << 20
    #: Seconds a client may leave more than ``max_send_buffer`` unread before 4001.
    slow_client_grace: float = 10.0
    #: Seconds to wait for the client's answer to our close frame.
    close_timeout: float = 5.0
    max_connections: int = 10_000
    max_connections_per_ip: int = 200
    ping_interval: float = 20.0
    ping_timeout: float = 20.0


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """What a request may look like before any handler sees it; all but ``max_body`` are
    flags."""

    max_headers: int = 64
    max_header_size: int = 8190
    handshake_timeout: float = 10.0
    #: Largest HTTP request body (the account API), in bytes.
    max_body: int = 64 * 1024


@dataclass(frozen=True, slots=True)
class FileSettings:
    """Files and images (docs/protocol.md, section 12): the limits of uploads, and where and
    how long their bytes are kept."""

    #: Largest upload, in bytes.
    max_upload: int = 25 << 20
    #: Bytes one user's stored uploads may hold.
    upload_quota: int = 1024 << 20
    #: An image of more pixels (width x height x frames) is kept as a plain file.
    max_image_pixels: int = 50_000_000
    #: Seconds before an upload never sent is removed (and the age below which a blob is
    #: never collected).
    upload_ttl: float = 86400.0
    #: Seconds between two runs of the collector.
    collect_interval: float = 600.0
    #: Where blobs are kept with a SQLite database (None: ``<database>.files`` beside it), and
    #: uploads in progress are spooled (with PostgreSQL: only the spool; None: the system's
    #: temporary directory).
    file_dir: str | None = None


#: Sign-in attempts per client address come in bursts of at least this many ...
AUTH_BURST = 20
#: ... or of this many seconds' worth, if that is more.
AUTH_BURST_SECONDS = 10


#: The largest reply the chat server sends in one frame: list replies are cut into pages of
#: at most this many bytes (docs/protocol.md), and one event is far smaller. The send
#: buffer's high-water mark may not be lower, or a single reply could never fit.
MAX_REPLY_BYTES = REPLY_BUDGET
#: A server frame's header at most (a 64-bit length, no mask).
FRAME_HEADER_BYTES = 10


def largest_chat_frame(max_text: int) -> int:
    """The largest frame ``parley serve`` sends: a page of a reply, or one message event of
    ``max_text`` characters of up to 4 bytes each plus its JSON."""
    return max(MAX_REPLY_BYTES, 4 * max_text + 1024) + FRAME_HEADER_BYTES


def check_send_buffer(max_send_buffer: int, largest_frame: int, *, flag: str) -> None:
    """:class:`SettingsError` unless the high-water mark holds the largest frame sent."""
    if max_send_buffer < largest_frame:
        raise SettingsError(
            f"--max-send-buffer ({max_send_buffer} bytes) must be at least the largest frame "
            f"the server may send ({largest_frame} bytes, {flag}), or that frame alone "
            "would count as a slow client"
        )


def sign_in_limit(rate: float = 1.0) -> RateLimit:
    """Sign-in and registration attempts per client address (``--auth-rate``): ``rate`` a
    second, with a burst of :data:`AUTH_BURST` or :data:`AUTH_BURST_SECONDS` worth."""
    return RateLimit(rate=rate, burst=max(AUTH_BURST, int(rate * AUTH_BURST_SECONDS)))


@dataclass(frozen=True, slots=True)
class ServeSettings:
    """Everything ``parley serve`` is told; :data:`SERVE_FLAGS` says what each setting means."""

    host: str = "127.0.0.1"
    port: int = 8080
    db: str | Path = "parley.db"
    broker: str = "memory"
    presence_ttl: float = 15.0
    max_text: int = DEFAULT_MAX_TEXT
    registration: str = "open"
    guests: bool = True
    session_ttl: float = DEFAULT_SESSION_TTL
    auth_timeout: float = 10.0
    session_check: float = 30.0
    log_level: str = "info"
    log_format: str = "text"
    access_log: bool = True
    #: Not a flag: ``PARLEY_ARGON2_*`` (:func:`hash_cost_from_environment`).
    hash_cost: HashCost = field(default_factory=HashCost)
    websocket: WebSocketLimits = field(default_factory=WebSocketLimits)
    http: HttpLimits = field(default_factory=HttpLimits)
    rate: RateLimit = field(default_factory=RateLimit)
    auth_rate: RateLimit = field(default_factory=sign_in_limit)
    flow: FlowLimits = field(default_factory=FlowLimits)
    #: Messages per second of all the guests of one address (burst: three seconds' worth).
    guest_ip_rate: float = 20.0
    #: Seconds a guest may stay throttled without a break before it is closed with 4003.
    max_throttle: float = 30.0
    #: permessage-deflate settings; None: the extension is declined.
    deflate: DeflateSettings | None = None
    allowed_origins: tuple[str, ...] = ()
    certfile: Path | None = None
    keyfile: Path | None = None
    behind_proxy: bool = False
    metrics: bool = True
    # -- who may reach the server, its operator endpoints, room spam (see their flags) --
    public_url: str | None = None
    allowed_hosts: tuple[str, ...] = ()
    metrics_token: str | None = None
    rooms_per_day: int = 50
    invitations_per_hour: int = 30
    # -- email for missed mentions and direct messages (off without --smtp-url) --
    smtp_url: str | None = None
    email_delay: float = 600.0
    # -- files, images and profiles --
    files: FileSettings = field(default_factory=FileSettings)
    #: Seconds an audit log entry is kept (0.0: forever); older ones are removed by each
    #: process's housekeeping, every ``--collect-interval``.
    audit_retention: float = 365 * 86400.0

    @property
    def tls(self) -> bool:
        return self.certfile is not None

    def check(self) -> None:
        """Raise :class:`SettingsError` for settings that cannot work together."""
        if self.max_text + 1024 > self.websocket.max_message_size:
            raise SettingsError(
                f"--max-message-size ({self.websocket.max_message_size} bytes) must leave room "
                f"for a message of --max-text ({self.max_text}) characters plus 1 KiB of JSON"
            )
        check_send_buffer(
            self.websocket.max_send_buffer,
            largest_chat_frame(self.max_text),
            flag="a reply page or a message of --max-text",
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
        if self.public_url is not None:
            public_origin(self.public_url)  # raises SettingsError
        for host in self.allowed_hosts:
            if host != "*" and not _HOST_NAME.fullmatch(host):
                raise SettingsError(
                    f"--allowed-host {host!r}: give a host name without scheme or port, "
                    "e.g. chat.example.com (or * for any)"
                )
        if self.smtp_url is not None:
            try:
                SmtpTarget.parse(self.smtp_url)
            except SmtpUrlError as exc:
                raise SettingsError(str(exc)) from None
        if self.metrics_token is not None and len(self.metrics_token) < MIN_METRICS_TOKEN:
            raise SettingsError(
                f"--metrics-token needs at least {MIN_METRICS_TOKEN} characters "
                "(make one with: openssl rand -hex 32)"
            )

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


_DEFAULTS = ServeSettings()

#: The shortest ``--metrics-token`` accepted: a guessable token protects nothing.
MIN_METRICS_TOKEN = 16
#: A host name or IP address as ``--allowed-host`` takes it (no scheme, no port).
_HOST_NAME = re.compile(
    r"\A(?:[A-Za-z0-9][A-Za-z0-9-]{0,62}(?:\.[A-Za-z0-9-]{1,63})*|\[[0-9A-Fa-f:.]+\])\Z"
)


def public_origin(url: str) -> str:
    """``scheme://host[:port]`` of ``--public-url``, lower-cased; :class:`SettingsError` for a
    URL that is not one."""
    parts = urlsplit(url)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username
        or parts.password
    ):
        raise SettingsError(
            f"--public-url {url!r}: give scheme://host[:port], e.g. https://chat.example.com"
        )
    try:
        parts.port  # noqa: B018 (raises ValueError for a port out of range)
    except ValueError:
        raise SettingsError(f"--public-url {url!r}: the port must be 0 to 65535") from None
    return f"{parts.scheme}://{parts.netloc}".lower()


# -- how a setting is written -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Text:
    """Any text; ``repeated``: the flag may be given several times (a tuple of them)."""

    repeated: bool = False


@dataclass(frozen=True, slots=True)
class Integer:
    """A whole number from ``low`` to ``high`` (None: no upper bound)."""

    low: int = 1
    high: int | None = None


@dataclass(frozen=True, slots=True)
class Number:
    """A number, at least ``low``."""

    low: float


_SIZE = re.compile(r"^\s*(\d+)\s*(b|k|kb|kib|m|mb|mib)?\s*$", re.IGNORECASE)
_BYTES = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1 << 20, "mb": 1 << 20}
_BYTES["mib"] = 1 << 20


@dataclass(frozen=True, slots=True)
class Size:
    """A size in bytes: ``65536``, ``64KiB``, ``1MiB`` (K and M are powers of 1024)."""

    @staticmethod
    def parse(text: str) -> int:
        """The number of bytes ``text`` says; ValueError (a one-line reason) if none."""
        match = _SIZE.match(text)
        if not match:
            raise ValueError(f"{text!r} is not a size (examples: 65536, 64KiB, 1MiB)")
        size = int(match.group(1)) * _BYTES[(match.group(2) or "").lower()]
        if size < 1:
            raise ValueError("must be at least 1 byte")
        return size

    @staticmethod
    def show(size: int) -> str:
        """``size`` as an operator writes it: ``64KiB``, ``1MiB``, ``8190``."""
        for unit, scale in (("MiB", 1 << 20), ("KiB", 1024)):
            if size % scale == 0:
                return f"{size // scale}{unit}"
        return str(size)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$", re.IGNORECASE)
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True, slots=True)
class Duration:
    """A duration in seconds: ``45``, ``45s``, ``90m``, ``12h``, ``30d``. With ``forever``,
    also ``forever`` (or ``0``): the setting is 0.0, and nothing expires."""

    forever: bool = False

    def read(self, text: str) -> float:
        """:meth:`parse`, and ``forever`` or ``0`` as 0.0 where the setting allows it."""
        if self.forever and text.strip().lower() in ("forever", "0"):
            return 0.0
        try:
            return self.parse(text)
        except ValueError as exc:
            if not self.forever:
                raise
            raise ValueError(f"{exc}, or forever") from None

    @staticmethod
    def parse(text: str) -> float:
        """The seconds ``text`` says; ValueError (a one-line reason) if none."""
        match = _DURATION.match(text)
        if not match:
            raise ValueError(f"{text!r} is not a duration (examples: 45s, 90m, 12h, 30d)")
        seconds = float(match.group(1)) * _SECONDS[(match.group(2) or "").lower()]
        if seconds < 0.1:
            raise ValueError("must be at least 0.1 second")
        return seconds

    def show(self, seconds: float) -> str:
        """``seconds`` in the largest whole unit: ``30d``, ``15s`` (0.0: ``forever``)."""
        if self.forever and seconds == 0:
            return "forever"
        for unit in ("d", "h", "m"):
            if seconds >= _SECONDS[unit] and seconds % _SECONDS[unit] == 0:
                return f"{seconds / _SECONDS[unit]:g}{unit}"
        return f"{seconds:g}s"


@dataclass(frozen=True, slots=True)
class Choice:
    """One of a few words, each standing for a value: ``open`` for True."""

    words: tuple[tuple[str, object], ...]
    case_sensitive: bool = True

    @classmethod
    def of(cls, *words: str, case_sensitive: bool = True) -> Choice:
        """Words that stand for themselves."""
        return cls(tuple((word, word) for word in words), case_sensitive)

    def value(self, word: object) -> object:
        return dict(self.words)[cast(str, word)]

    def word(self, value: object) -> str:
        return next(word for word, meant in self.words if meant == value)


@dataclass(frozen=True, slots=True)
class Switch:
    """``--flag`` or ``--no-flag``, standing for ``on`` and ``off``."""

    on: object = True
    off: object = False


@dataclass(frozen=True, slots=True)
class File:
    """The path of an existing file."""


Kind = Text | Integer | Number | Size | Duration | Choice | Switch | File


@dataclass(frozen=True, slots=True)
class Limit:
    """A limit's row in docs/security.md: what is limited, and what happens past it."""

    what: str
    past: str


@dataclass(frozen=True, slots=True)
class Flag:
    """How the operator gives one setting to ``parley serve`` (see the module docstring)."""

    #: ``--max-fragments``; a :class:`Switch` also has ``--no-max-fragments``.
    option: str
    #: Where the value lands in :class:`ServeSettings`: ``port``, ``websocket.max_fragments``.
    into: str
    help: str
    kind: Kind = Text()
    short: str | None = None
    limit: Limit | None = None

    @property
    def name(self) -> str:
        """The flag as a Python name, as click passes its value: ``max_fragments``."""
        return self.option.removeprefix("--").replace("-", "_")

    @property
    def envvar(self) -> str:
        return "PARLEY_" + self.name.upper()

    @property
    def default(self) -> object:
        """The setting's default: its value in ``ServeSettings()``."""
        value: object = _DEFAULTS
        for part in self.into.split("."):
            value = getattr(value, part)
        return value

    @property
    def shown(self) -> object:
        """The default as the flag would say it (``64KiB``, ``open``; a switch: on or off as a
        bool), or None where there is none to show."""
        kind, default = self.kind, self.default
        if isinstance(kind, Switch):
            return default == kind.on
        if isinstance(kind, Size):
            return kind.show(cast(int, default))
        if isinstance(kind, Duration):
            return kind.show(cast(float, default))
        if isinstance(kind, Choice):
            return kind.word(default)
        if isinstance(kind, Text) and kind.repeated:
            return None
        return default

    def value(self, given: object) -> object:
        """The setting's value for what the flag was given (a switch: True or False)."""
        if isinstance(self.kind, Switch):
            return self.kind.on if given else self.kind.off
        if isinstance(self.kind, Choice):
            return self.kind.value(given)
        return given


# -- the flags of parley serve, in the order of --help ---------------------------------------

SERVE_FLAGS: tuple[Flag, ...] = (
    Flag(
        "--host",
        "host",
        "Address to listen on. Use 0.0.0.0 (or :: for IPv6) to listen on all interfaces.",
    ),
    Flag("--port", "port", "TCP port (0 picks a free one).", Integer(0, 65535), short="-p"),
    Flag(
        "--max-message-size",
        "websocket.max_message_size",
        "Largest WebSocket message a client may send; bigger ones close with 1009.",
        Size(),
        limit=Limit(
            "WebSocket message size (after decompression)",
            "close 1009, decided from the frame header before the payload is read",
        ),
    ),
    Flag(
        "--log-level",
        "log_level",
        "Least severe level logged.",
        Choice.of(*LEVELS, case_sensitive=False),
    ),
    Flag(
        "--db",
        "db",
        "A SQLite file (created on first use) or a postgresql://user@host/db URL.",
    ),
    Flag(
        "--broker",
        "broker",
        "'memory' for one server process, or a redis://host:port URL to share fan-out and "
        "presence between several processes.",
    ),
    Flag(
        "--presence-ttl",
        "presence_ttl",
        "With --broker redis: the users of a server process that died go offline everywhere "
        "within this time plus a third of it.",
        Duration(),
    ),
    Flag(
        "--registration",
        "registration",
        "Who may create an account: open (anyone), invite (people with an invitation link) or "
        "closed (only `parley user add`). An admin's choice (the /admin page, `parley "
        "registration`) is stored and wins over this flag, on every node.",
        Choice.of("open", "invite", "closed"),
    ),
    Flag(
        "--guests",
        "guests",
        "Whether the tutorial's plain-text clients may chat in the lobby as guests.",
        Choice((("on", True), ("off", False))),
    ),
    Flag(
        "--max-text",
        "max_text",
        "Longest chat message, in characters.",
        Integer(1, 100_000),
        limit=Limit("chat text length, in characters", "`too_large` error (guests: close 1009)"),
    ),
    Flag(
        "--session-ttl",
        "session_ttl",
        "How long a sign-in stays valid (45s, 90m, 12h, 30d).",
        Duration(),
        limit=Limit(
            "session lifetime",
            "the token stops working (401 at the handshake; open sockets closed with 1008 "
            "within `--session-check`)",
        ),
    ),
    Flag(
        "--auth-timeout",
        "auth_timeout",
        "Time a WebSocket client has to authenticate when it did not during the handshake.",
        Duration(),
        limit=Limit(
            "time to authenticate without cookie or bearer token", "`error` then close 1008"
        ),
    ),
    Flag(
        "--session-check",
        "session_check",
        "How often open connections are checked against ended sessions and disabled accounts.",
        Duration(),
    ),
    Flag(
        "--allowed-origin",
        "allowed_origins",
        "Another origin (scheme://host[:port]) whose pages may open signed-in WebSockets. "
        "Repeatable. The server's own origin is always allowed.",
        Text(repeated=True),
    ),
    Flag(
        "--max-connections",
        "websocket.max_connections",
        "WebSocket connections in total; more are refused with 503.",
        Integer(1),
        limit=Limit("WebSocket connections in total", "503 at the handshake"),
    ),
    Flag(
        "--max-connections-per-ip",
        "websocket.max_connections_per_ip",
        "WebSocket connections from one IP address; more are refused with 429.",
        Integer(1),
        limit=Limit("WebSocket connections per client address", "429 at the handshake"),
    ),
    Flag(
        "--max-fragments",
        "websocket.max_fragments",
        "Frames of any size one WebSocket message may be split into; past this many, the "
        "message needs at least one byte per frame on average, or it closes with 1009.",
        Integer(1),
        limit=Limit(
            "frames per message of any size (past it: at least one byte per frame on average)",
            "close 1009 (a legal message the size limit allows is never refused for its "
            "fragmentation unless padded with empty frames)",
        ),
    ),
    Flag(
        "--max-send-buffer",
        "websocket.max_send_buffer",
        "High-water mark of unsent data per connection: above it the server stops reading "
        "from that client, and closes it with 4001 if it reads nothing for "
        "--slow-client-grace or reaches 4 times this (at least the largest frame the server "
        "sends).",
        Size(),
        limit=Limit(
            "unsent data per connection: high-water mark (hard cap: 4 times it)",
            "above it the client is not read; above it and reading nothing for "
            '`--slow-client-grace`, or at the hard cap, close 4001 ("too slow"); the socket is '
            "dropped if the client does not read the close within "
            f"{_DEFAULTS.websocket.close_timeout:g} s",
        ),
    ),
    Flag(
        "--slow-client-grace",
        "websocket.slow_client_grace",
        "How long a client with more than --max-send-buffer unsent may read nothing before "
        "it is closed with 4001.",
        Duration(),
        limit=Limit(
            "time a client with more than `--max-send-buffer` unsent may read nothing",
            'close 4001 ("too slow"); meanwhile the server does not read from that client',
        ),
    ),
    Flag(
        "--max-in-flight",
        "flow.max_in_flight",
        "Commands (guest lines) one connection may have sent and the server not yet handled; "
        "past it the server stops reading that socket until it catches up.",
        Integer(1),
        limit=Limit(
            "commands one connection has sent that are not yet handled (stored)",
            "the server stops reading that socket until half are done (TCP slows the client)",
        ),
    ),
    Flag(
        "--max-in-flight-bytes",
        "flow.max_in_flight_bytes",
        "The bytes of those commands; past it the server stops reading that socket.",
        Size(),
        limit=Limit(
            "bytes of those commands",
            "the server stops reading that socket until half are done",
        ),
    ),
    Flag(
        "--max-store-queue",
        "flow.max_store_queue",
        "Commands all connections together may have waiting for the store; past it, every "
        "connection that sends more stops being read until the store catches up.",
        Integer(1),
        limit=Limit(
            "commands waiting for the store, all connections together",
            "each connection that adds one is not read until the queue is down to half",
        ),
    ),
    Flag(
        "--max-store-queue-bytes",
        "flow.max_store_queue_bytes",
        "The bytes of those commands.",
        Size(),
        limit=Limit(
            "bytes of the commands waiting for the store",
            "each connection that adds one is not read until the queue is down to half",
        ),
    ),
    Flag(
        "--max-headers",
        "http.max_headers",
        "Header lines an HTTP request (or WebSocket handshake) may have; more get 400.",
        Integer(1),
        limit=Limit("HTTP header lines per request (and handshake)", "400"),
    ),
    Flag(
        "--max-header-size",
        "http.max_header_size",
        "Longest request or header line; longer ones get 400.",
        Size(),
        limit=Limit("HTTP request line / header line length", "400"),
    ),
    Flag(
        "--handshake-timeout",
        "http.handshake_timeout",
        "Time a connection has to send its HTTP request; slower ones are closed.",
        Duration(),
        limit=Limit(
            "time to send the HTTP request (and idle keep-alive)", "the connection is closed"
        ),
    ),
    Flag(
        "--ping-interval",
        "websocket.ping_interval",
        "A WebSocket silent this long gets a ping ...",
        Duration(),
        limit=Limit("silence before a ping (half-open TCP connections)", "a ping"),
    ),
    Flag(
        "--ping-timeout",
        "websocket.ping_timeout",
        "... and is closed when it stays silent this much longer.",
        Duration(),
        limit=Limit("silence after that ping", "the connection is dropped"),
    ),
    Flag(
        "--rate-limit",
        "rate.rate",
        "Commands per second per user (guests: per connection), sustained.",
        Number(0.1),
        limit=Limit(
            "commands per second per user (guests: per connection)",
            "`rate_limited` error and the command is not run (guests: the message is taken "
            "and the socket not read until the bucket refills)",
        ),
    ),
    Flag(
        "--rate-burst",
        "rate.burst",
        "Commands allowed at once above the rate; this many refusals in a row disconnect.",
        Integer(1),
        limit=Limit(
            "commands at once above that rate",
            "`rate_limited`; after this many refusals in a row, close 4003 (guests: see "
            "`--max-throttle`)",
        ),
    ),
    Flag(
        "--guest-ip-rate",
        "guest_ip_rate",
        "Messages per second all guests of one client address may post together (burst: "
        "three seconds' worth); faster guests are slowed.",
        Number(0.1),
        limit=Limit(
            "guest messages per second per client address (burst: three seconds' worth)",
            "the guests of that address are slowed: their sockets are not read until the "
            "budget refills",
        ),
    ),
    Flag(
        "--max-throttle",
        "max_throttle",
        "A guest slowed by the rate limit without a break for this long is closed with 4003.",
        Duration(),
        limit=Limit(
            "time a guest may keep sending faster than the rate limit without a break",
            "close 4003",
        ),
    ),
    Flag(
        "--auth-rate",
        "auth_rate.rate",
        "Sign-in, registration, claim and invitation-token attempts per second per client "
        f"address, together (burst: {AUTH_BURST}, or {AUTH_BURST_SECONDS} seconds' worth if "
        "more); sign-ins per account and address, and per account, are limited separately "
        "(see docs/security.md).",
        Number(0.01),
        limit=Limit(
            "sign-ins, registrations, claims and invitation checks and accepts per second per "
            f"client address, together (burst: {AUTH_BURST}, or {AUTH_BURST_SECONDS} seconds'"
            " worth if more)",
            "429 with `Retry-After`",
        ),
    ),
    Flag(
        "--deflate",
        "deflate",
        "Offer permessage-deflate (no context takeover; see docs/security.md for the cost).",
        Switch(on=DeflateSettings(), off=None),
    ),
    Flag(
        "--certfile",
        "certfile",
        "TLS certificate chain (PEM): serve https:// and wss://.",
        File(),
    ),
    Flag("--keyfile", "keyfile", "TLS private key (PEM), with --certfile.", File()),
    Flag(
        "--behind-proxy",
        "behind_proxy",
        "A reverse proxy terminates TLS: trust its X-Forwarded-For / -Proto, Secure cookies.",
        Switch(),
    ),
    Flag(
        "--log-format",
        "log_format",
        "Log lines as text or as JSON objects.",
        Choice.of("text", "json"),
    ),
    Flag(
        "--access-log",
        "access_log",
        "Log one line per HTTP request (method, path without query, status, time).",
        Switch(),
    ),
    Flag("--metrics", "metrics", "Serve Prometheus metrics at /metrics.", Switch()),
    # -- who may reach the server and its operator endpoints; room spam -----------------------
    Flag(
        "--public-url",
        "public_url",
        "The URL people open to reach this server (https://chat.example.com): its host is "
        "allowed in the Host header and its origin may sign in and open signed-in WebSockets.",
    ),
    Flag(
        "--allowed-host",
        "allowed_hosts",
        "Another host name clients may address this server by (the Host header; others get "
        "421, against DNS rebinding). IP addresses and localhost are always allowed. "
        "Repeatable; * allows any.",
        Text(repeated=True),
    ),
    Flag(
        "--metrics-token",
        "metrics_token",
        "Require 'Authorization: Bearer TOKEN' for /metrics and for the details of /healthz "
        f"(at least {MIN_METRICS_TOKEN} characters; prefer the environment variable, which "
        "the process list does not show).",
    ),
    Flag(
        "--rooms-per-day",
        "rooms_per_day",
        "Rooms (public, private or direct) one user may create in 24 hours; admins have no limit.",
        Integer(1),
        limit=Limit(
            "rooms one user creates in 24 hours (public, private and direct; admins: no limit)",
            "`limit_reached` error saying when the next one is possible; nothing is created",
        ),
    ),
    Flag(
        "--invitations-per-hour",
        "invitations_per_hour",
        "Invitations (and new direct rooms) one user may receive from others in an hour; "
        "admins' invitations are not refused.",
        Integer(1),
        limit=Limit(
            "invitations (and new direct rooms) one user receives from others in an hour",
            "`limit_reached` error for the inviter (admins: never refused); nothing is changed",
        ),
    ),
    Flag(
        "--smtp-url",
        "smtp_url",
        "Email people about mentions and direct messages they left unread, through this SMTP "
        "server: smtp://[user:password@]host[:port][?from=ADDRESS&starttls=yes], or smtps://"
        "... for TLS. Off by default.",
    ),
    Flag(
        "--email-delay",
        "email_delay",
        "With --smtp-url: how long a mention or direct message stays unread before it is emailed.",
        Duration(),
    ),
    Flag(
        "--max-upload",
        "files.max_upload",
        "Largest file one upload may hold (POST /api/uploads).",
        Size(),
        limit=Limit(
            "one upload, in bytes",
            "`413` `too_large`, from `Content-Length` before the body is read",
        ),
    ),
    Flag(
        "--upload-quota",
        "files.upload_quota",
        "Bytes one user's stored files (sent or not, until deleted) may hold.",
        Size(),
        limit=Limit("bytes one user's stored files hold", "`413` `quota_exceeded`; nothing stored"),
    ),
    Flag(
        "--max-image-pixels",
        "files.max_image_pixels",
        "An image of more pixels (width x height x frames) is not decoded: it is kept as a "
        "plain file, served only as an attachment (decompression bombs).",
        Integer(1),
        limit=Limit(
            "pixels of an uploaded image (width x height x frames)",
            "not decoded: stored as `application/octet-stream`; an avatar is refused",
        ),
    ),
    Flag(
        "--upload-ttl",
        "files.upload_ttl",
        "How long an upload never sent is kept before the collector removes it.",
        Duration(),
    ),
    Flag(
        "--collect-interval",
        "files.collect_interval",
        "How often each server process removes unsent uploads, files nothing refers to and "
        "audit log entries past --audit-retention.",
        Duration(),
    ),
    Flag(
        "--audit-retention",
        "audit_retention",
        "How long an audit log entry is kept: older ones are removed, every "
        "--collect-interval, in batches; forever (or 0) keeps every entry.",
        Duration(forever=True),
    ),
    Flag(
        "--file-dir",
        "files.file_dir",
        "Where files are kept with a SQLite database (default: DATABASE.files beside it); "
        "with PostgreSQL, files are in the database and this is only where uploads in "
        "progress are written (default: the system's temporary directory).",
    ),
)


_BY_OPTION = {flag.option: flag for flag in SERVE_FLAGS}


def serve_flag(option: str) -> Flag:
    """The declaration of ``option`` (``--db``), for the commands that share it."""
    return _BY_OPTION[option]


#: What builds each nested part of :class:`ServeSettings` from its flags' values: the part's
#: own default factory (``sign_in_limit`` for ``auth_rate``), with the values as arguments.
_PARTS: dict[str, Callable[..., Any]] = {
    part.name: cast(Callable[..., Any], part.default_factory)
    for part in fields(ServeSettings)
    if part.default_factory is not MISSING
}


def settings_from_flags(given: Mapping[str, object]) -> ServeSettings:
    """The settings for the values of :data:`SERVE_FLAGS`, keyed by :attr:`Flag.name` (as
    click passes them), with Argon2id's cost from the environment. Raises
    :class:`SettingsError`."""
    top: dict[str, Any] = {"hash_cost": hash_cost_from_environment()}
    parts: dict[str, dict[str, Any]] = {}
    for flag in SERVE_FLAGS:
        outer, _, inner = flag.into.partition(".")
        value = flag.value(given[flag.name])
        if inner:
            parts.setdefault(outer, {})[inner] = value
        else:
            top[outer] = value
    for outer, values in parts.items():
        top[outer] = _PARTS[outer](**values)
    return ServeSettings(**top)


def limits_table() -> str:
    """docs/security.md's table of the limits that are flags, in Markdown."""
    rows = [
        "| limit | flag | default | what happens past it |",
        "|---|---|---|---|",
    ]
    rows.extend(
        f"| {flag.limit.what} | `{flag.option}` | `{flag.shown}` | {flag.limit.past} |"
        for flag in SERVE_FLAGS
        if flag.limit is not None
    )
    return "\n".join(rows) + "\n"
