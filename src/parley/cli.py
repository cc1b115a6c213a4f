"""The ``parley`` command: ``serve`` (the chat server), ``echo``, and ``user`` (accounts).

Every flag can also be set from the environment (``PARLEY_PORT=9000 parley serve``); a flag on
the command line wins. Errors in flags or at start-up are one line and a non-zero exit code:
2 for a flag that cannot work, 1 for a server that cannot start.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import sys
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click

from parley import __version__
from parley.backends import BackendError, check_db, open_store, redact
from parley.broker.base import BrokerUnavailable
from parley.chat.auth import AccountError, Accounts
from parley.chat.ratelimit import RateLimit
from parley.client.cli import connect, send, tail
from parley.config import HttpLimits, ServeSettings, SettingsError, hash_cost_from_environment
from parley.logs import LEVELS, configure_logging
from parley.presence.base import PresenceUnavailable
from parley.server.chat_app import ChatServer
from parley.server.echo_app import build_echo_app
from parley.server.endpoint import WebSocketEndpoint, WebSocketLimits
from parley.server.runner import ListenError, run, serve_until_signalled
from parley.store.base import StoreError
from parley.websocket.deflate import DeflateSettings

_SIZE = re.compile(r"^\s*(\d+)\s*(b|k|kb|kib|m|mb|mib)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1 << 20, "mb": 1 << 20}
_UNITS["mib"] = 1 << 20


class ByteSize(click.ParamType[int]):
    """A size in bytes: ``65536``, ``64KiB``, ``1MiB`` (K and M are powers of 1024)."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        match = _SIZE.match(str(value))
        if not match:
            self.fail(f"{value!r} is not a size (examples: 65536, 64KiB, 1MiB)", param, ctx)
        size = int(match.group(1)) * _UNITS[(match.group(2) or "").lower()]
        if size < 1:
            self.fail("must be at least 1 byte", param, ctx)
        return size


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$", re.IGNORECASE)
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class Duration(click.ParamType[float]):
    """A duration in seconds: ``45``, ``45s``, ``90m``, ``12h``, ``30d``."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, int | float):
            return float(value)
        match = _DURATION.match(str(value))
        if not match:
            self.fail(f"{value!r} is not a duration (examples: 45s, 90m, 12h, 30d)", param, ctx)
        seconds = float(match.group(1)) * _SECONDS[(match.group(2) or "").lower()]
        if seconds < 0.1:
            self.fail("must be at least 0.1 second", param, ctx)
        return seconds


HOST_HELP = "Address to listen on. Use 0.0.0.0 (or :: for IPv6) to listen on all interfaces."
F = TypeVar("F", bound=Callable[..., Any])


def listen_options(default_port: int) -> Callable[[F], F]:
    """The options every server command shares."""

    def decorate(func: F) -> F:
        options = [
            click.option(
                "--host",
                default="127.0.0.1",
                show_default=True,
                envvar="PARLEY_HOST",
                help=HOST_HELP,
            ),
            click.option(
                "--port",
                "-p",
                type=click.IntRange(0, 65535),
                default=default_port,
                show_default=True,
                envvar="PARLEY_PORT",
                help="TCP port (0 picks a free one).",
            ),
            click.option(
                "--max-message-size",
                type=ByteSize(),
                default="64KiB",
                show_default=True,
                envvar="PARLEY_MAX_MESSAGE_SIZE",
                help="Largest WebSocket message a client may send; bigger ones close with 1009.",
            ),
            click.option(
                "--log-level",
                type=click.Choice(LEVELS, case_sensitive=False),
                default="info",
                show_default=True,
                envvar="PARLEY_LOG_LEVEL",
                help="Least severe level logged.",
            ),
        ]
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


def db_option(func: F) -> F:
    return click.option(
        "--db",
        default="parley.db",
        show_default=True,
        envvar="PARLEY_DB",
        help="A SQLite file (created on first use) or a postgresql://user@host/db URL.",
    )(func)


class OneLineErrors(click.Group):
    """The ``parley`` group: a usage error is one line on standard error and exit status 2.

    click's own report is four lines (usage, a hint, a blank line, the error); operators and
    scripts get ``parley serve: Invalid value for '--port': ... (see 'parley serve --help')``.
    """

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError as error:  # `parley` or `parley user` alone
            click.echo(error.format_message(), err=True)
            sys.exit(2)
        except click.UsageError as error:
            where = error.ctx.command_path if error.ctx else "parley"
            message = "; ".join(error.format_message().splitlines())
            click.echo(f"{where}: {message} (see '{where} --help')", err=True)
            sys.exit(2)
        except click.ClickException as error:
            click.echo(f"parley: {error.format_message()}", err=True)
            sys.exit(error.exit_code)
        except click.Abort:
            click.echo("parley: interrupted", err=True)
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="parley")
def main() -> None:
    """Parley: real-time chat over WebSocket, grown from the classic tutorial."""


@main.command()
@listen_options(default_port=8080)
@click.option(
    "--verbatim",
    is_flag=True,
    help="Reply with each message unchanged (a conformance echo server for client tests).",
)
def echo(host: str, port: int, max_message_size: int, log_level: str, verbatim: bool) -> None:
    """The tutorial's echo server: each message M is answered "We received your M".

    GET / on the same port serves the tutorial's demo page.
    """
    configure_logging(log_level)
    endpoint = WebSocketEndpoint(WebSocketLimits(max_message_size=max_message_size))
    app = build_echo_app(endpoint, verbatim=verbatim)

    def listening(bound: int) -> None:
        click.echo(f"socket initialized on port {bound}")

    _serve(serve_until_signalled(app, endpoint, host=host, port=port, on_listening=listening))


def _option(*names: str, **kwargs: Any) -> Callable[[F], F]:
    """A ``parley serve`` flag with its ``PARLEY_*`` environment variable and shown default."""
    envvar = "PARLEY_" + names[0].lstrip("-").split("/")[0].upper().replace("-", "_")
    return click.option(*names, envvar=envvar, show_default=True, **kwargs)


@main.command()
@listen_options(default_port=8080)
@db_option
@_option(
    "--broker",
    default="memory",
    help="'memory' for one server process, or a redis://host:port URL to share fan-out and "
    "presence between several processes.",
)
@_option(
    "--presence-ttl",
    type=Duration(),
    default="15s",
    help="With --broker redis: the users of a server process that died go offline everywhere "
    "within this time plus a third of it.",
)
@_option(
    "--registration",
    type=click.Choice(["open", "closed"]),
    default="open",
    help="Whether anyone may create an account (closed: only `parley user add`).",
)
@_option(
    "--guests",
    type=click.Choice(["on", "off"]),
    default="on",
    help="Whether the tutorial's plain-text clients may chat in the lobby as guests.",
)
@_option(
    "--max-text",
    type=click.IntRange(1, 100_000),
    default=4000,
    help="Longest chat message, in characters.",
)
@_option(
    "--session-ttl",
    type=Duration(),
    default="30d",
    help="How long a sign-in stays valid (45s, 90m, 12h, 30d).",
)
@_option(
    "--auth-timeout",
    type=Duration(),
    default="10s",
    help="Time a WebSocket client has to authenticate when it did not during the handshake.",
)
@_option(
    "--session-check",
    type=Duration(),
    default="30s",
    help="How often open connections are checked against ended sessions and disabled accounts.",
)
@_option(
    "--allowed-origin",
    "allowed_origins",
    multiple=True,
    help="Another origin (scheme://host[:port]) whose pages may open signed-in WebSockets. "
    "Repeatable. The server's own origin is always allowed.",
)
@_option(
    "--max-connections",
    type=click.IntRange(1),
    default=10_000,
    help="WebSocket connections in total; more are refused with 503.",
)
@_option(
    "--max-connections-per-ip",
    type=click.IntRange(1),
    default=200,
    help="WebSocket connections from one IP address; more are refused with 429.",
)
@_option(
    "--max-fragments",
    type=click.IntRange(1),
    default=128,
    help="Frames one WebSocket message may be split into; more close with 1009.",
)
@_option(
    "--max-send-buffer",
    type=ByteSize(),
    default="1MiB",
    help="Unsent data a connection may hold; a client that stops reading is closed with 4001.",
)
@_option(
    "--max-headers",
    type=click.IntRange(1),
    default=64,
    help="Header lines an HTTP request (or WebSocket handshake) may have; more get 400.",
)
@_option(
    "--max-header-size",
    type=ByteSize(),
    default="8190",
    help="Longest request or header line; longer ones get 400.",
)
@_option(
    "--handshake-timeout",
    type=Duration(),
    default="10s",
    help="Time a connection has to send its HTTP request; slower ones are closed.",
)
@_option(
    "--ping-interval",
    type=Duration(),
    default="20s",
    help="A WebSocket silent this long gets a ping ...",
)
@_option(
    "--ping-timeout",
    type=Duration(),
    default="20s",
    help="... and is closed when it stays silent this much longer.",
)
@_option(
    "--rate-limit",
    type=click.FloatRange(min=0.1),
    default=10.0,
    help="Commands per second per user (guests: per connection), sustained.",
)
@_option(
    "--rate-burst",
    type=click.IntRange(1),
    default=30,
    help="Commands allowed at once above the rate; this many refusals in a row disconnect.",
)
@_option(
    "--auth-rate",
    type=click.FloatRange(min=0.01),
    default=1.0,
    help="Sign-in and registration attempts per second per client address (burst: 20, or "
    "10 seconds' worth if more); "
    "failed sign-ins per account name are limited separately (5, then one per 10 s).",
)
@_option(
    "--deflate/--no-deflate",
    default=False,
    help="Offer permessage-deflate (no context takeover; see docs/security.md for the cost).",
)
@_option(
    "--certfile",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TLS certificate chain (PEM): serve https:// and wss://.",
)
@_option(
    "--keyfile",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TLS private key (PEM), with --certfile.",
)
@_option(
    "--behind-proxy/--no-behind-proxy",
    default=False,
    help="A reverse proxy terminates TLS: trust its X-Forwarded-For / -Proto, Secure cookies.",
)
@_option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    help="Log lines as text or as JSON objects.",
)
@_option(
    "--access-log/--no-access-log",
    default=True,
    help="Log one line per HTTP request (method, path without query, status, time).",
)
@_option(
    "--metrics/--no-metrics",
    default=True,
    help="Serve Prometheus metrics at /metrics.",
)
def serve(**options: Any) -> None:
    """The chat server: the browser client on http://HOST:PORT/ and the chat WebSocket.

    Tutorial clients that connect to ws://HOST:PORT/ without a subprotocol chat in the lobby
    as guests.
    """
    configure_logging(options["log_level"], options["log_format"])
    try:
        settings = _serve_settings(options)
        settings.check()
        tls = settings.ssl_context()
    except SettingsError as exc:
        _fail(str(exc), 2)
    server = ChatServer(settings)
    host = settings.host

    def listening(bound: int) -> None:
        click.echo(f"socket initialized on port {bound}")
        shown = f"[{host}]" if ":" in host else host
        scheme = "https" if tls else "http"
        click.echo(f"Parley {__version__} chat on {scheme}://{shown}:{bound}/ (Ctrl+C to stop)")

    _serve(
        serve_until_signalled(
            server.app(),
            server.endpoint,
            host=host,
            port=settings.port,
            on_listening=listening,
            ssl_context=tls,
            http=settings.http,
            access_log=settings.access_log,
        )
    )


def _serve_settings(options: dict[str, Any]) -> ServeSettings:
    return ServeSettings(
        host=options["host"],
        port=options["port"],
        db=options["db"],
        broker=options["broker"],
        presence_ttl=options["presence_ttl"],
        max_text=options["max_text"],
        registration_open=options["registration"] == "open",
        guests=options["guests"] == "on",
        session_ttl=options["session_ttl"],
        auth_timeout=options["auth_timeout"],
        session_check=options["session_check"],
        log_level=options["log_level"],
        log_format=options["log_format"],
        access_log=options["access_log"],
        hash_cost=hash_cost_from_environment(),
        websocket=WebSocketLimits(
            max_message_size=options["max_message_size"],
            max_fragments=options["max_fragments"],
            max_send_buffer=options["max_send_buffer"],
            max_connections=options["max_connections"],
            max_connections_per_ip=options["max_connections_per_ip"],
            ping_interval=options["ping_interval"],
            ping_timeout=options["ping_timeout"],
        ),
        http=HttpLimits(
            max_headers=options["max_headers"],
            max_header_size=options["max_header_size"],
            handshake_timeout=options["handshake_timeout"],
        ),
        rate=RateLimit(rate=options["rate_limit"], burst=options["rate_burst"]),
        auth_rate=RateLimit(
            rate=options["auth_rate"], burst=max(20, int(options["auth_rate"] * 10))
        ),
        deflate=DeflateSettings() if options["deflate"] else None,
        allowed_origins=tuple(options["allowed_origins"]),
        certfile=options["certfile"],
        keyfile=options["keyfile"],
        behind_proxy=options["behind_proxy"],
        metrics=options["metrics"],
    )


def _serve(serving: Coroutine[Any, Any, None]) -> None:
    """Run a server (``serve_until_signalled(...)``); a failure to start is one line, exit 1."""
    try:
        run(serving)
    except ListenError as exc:
        _fail(str(exc), 1)
    except StoreError as exc:  # its message says what could not be done, and where
        _fail(_one_line(exc), 1)
    except sqlite3.Error as exc:
        _fail(f"cannot open the database: {_one_line(exc)}", 1)
    except (BrokerUnavailable, PresenceUnavailable) as exc:
        _fail(_one_line(exc), 1)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _fail(message: str, code: int) -> None:
    click.echo(f"parley: {message}", err=True)
    sys.exit(code)


# -- parley user ... ----------------------------------------------------------------------


@main.group()
def user() -> None:
    """Manage accounts (works on the database file; the server may be running)."""


T = TypeVar("T")


def _with_accounts(db: str, job: Callable[[Accounts], Awaitable[T]]) -> T:
    try:
        check_db(db)
    except BackendError as exc:
        _fail(str(exc), 2)

    async def main() -> T:
        store = open_store(db)
        await store.start()
        try:
            return await job(Accounts(store, cost=hash_cost_from_environment()))
        finally:
            await store.close()

    try:
        return _run(main())
    except AccountError as exc:
        _fail(exc.message, 1)
    except (StoreError, sqlite3.Error) as exc:
        _fail(f"cannot use the database {redact(db)}: {_one_line(exc)}", 1)
    raise AssertionError("unreachable")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
        if not password:
            _fail("no password on standard input", 2)
        return password
    if not sys.stdin.isatty():
        _fail("no terminal to ask for a password: use --password-stdin", 2)
    value: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@user.command("add")
@click.argument("name")
@click.option("--admin", is_flag=True, help="Make the account an administrator.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@db_option
def user_add(name: str, admin: bool, password_stdin: bool, db: str) -> None:
    """Create an account NAME (the first account ever created is an administrator)."""
    password = _read_password(password_stdin)

    async def job(accounts: Accounts) -> str:
        created = await accounts.create_user(name, password, admin=True if admin else None)
        return f"created {created.name}{' (admin)' if created.is_admin else ''}"

    click.echo(_with_accounts(db, job))


@user.command("list")
@db_option
def user_list(db: str) -> None:
    """List the accounts: name, role, state."""

    async def job(accounts: Accounts) -> list[str]:
        users = await accounts.store.list_users()
        return [
            f"{u.name}\t{'admin' if u.is_admin else 'user'}\t"
            f"{'disabled' if u.disabled else 'active'}"
            for u in users
        ]

    for line in _with_accounts(db, job):
        click.echo(line)


def _set_disabled(name: str, db: str, disabled: bool) -> None:
    async def job(accounts: Accounts) -> str:
        user = await accounts.set_disabled(name, disabled)
        return f"{'disabled' if disabled else 'enabled'} {user.name}"

    click.echo(_with_accounts(db, job))


@user.command("disable")
@click.argument("name")
@db_option
def user_disable(name: str, db: str) -> None:
    """Disable NAME and end its sessions (a running server closes them within 30 s)."""
    _set_disabled(name, db, True)


@user.command("enable")
@click.argument("name")
@db_option
def user_enable(name: str, db: str) -> None:
    """Enable NAME again."""
    _set_disabled(name, db, False)


@user.command("set-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@db_option
def user_set_password(name: str, password_stdin: bool, db: str) -> None:
    """Set NAME's password and end its sessions."""
    password = _read_password(password_stdin)

    async def job(accounts: Accounts) -> str:
        user = await accounts.set_password(name, password)
        return f"password of {user.name} changed; its sessions were ended"

    click.echo(_with_accounts(db, job))


# The client's commands (parley connect / send / tail) live with the client.
main.add_command(connect)
main.add_command(send)
main.add_command(tail)
