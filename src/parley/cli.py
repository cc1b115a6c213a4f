"""The ``parley`` command: ``parley serve`` (the chat server) and ``parley echo``.

Every flag can also be set from the environment (``PARLEY_PORT=9000 parley serve``); a flag on
the command line wins. Errors in flags or at start-up are one line and a non-zero exit code.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from parley import __version__
from parley.logs import LEVELS, configure_logging
from parley.server.chat_app import build_chat_app
from parley.server.echo_app import build_echo_app
from parley.server.endpoint import WebSocketEndpoint, WebSocketLimits
from parley.server.runner import ListenError, run, serve_until_signalled

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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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

    _serve(app, endpoint, host, port, listening)


@main.command()
@listen_options(default_port=8080)
def serve(host: str, port: int, max_message_size: int, log_level: str) -> None:
    """The chat server: the browser client on http://HOST:PORT/ and the chat WebSocket.

    Tutorial clients that connect to ws://HOST:PORT/ without a subprotocol chat in plain text.
    """
    configure_logging(log_level)
    endpoint = WebSocketEndpoint(WebSocketLimits(max_message_size=max_message_size))
    app = build_chat_app(endpoint)

    def listening(bound: int) -> None:
        click.echo(f"socket initialized on port {bound}")
        shown = f"[{host}]" if ":" in host else host
        click.echo(f"Parley {__version__} chat on http://{shown}:{bound}/ (Ctrl+C to stop)")

    _serve(app, endpoint, host, port, listening)


def _serve(app: Any, endpoint: WebSocketEndpoint, host: str, port: int, listening: Any) -> None:
    try:
        run(serve_until_signalled(app, endpoint, host=host, port=port, on_listening=listening))
    except ListenError as exc:
        click.echo(f"parley: {exc}", err=True)
        sys.exit(1)
