"""``parley connect``, ``parley send`` and ``parley tail``: the client on the command line.

These commands are registered on the ``parley`` group by ``parley/cli.py``. The conventions are
the server commands': a flag that cannot work is a usage error (exit 2); anything that goes
wrong later — an unreachable server, a refused handshake, a wrong password, a connection that
ends badly — is one line, ``parley: ...``, and exit 1. Never a traceback: every failure the
client can meet is a :class:`~parley.client.errors.ClientError` with a sentence for people.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
import msgspec

from parley.client.client import Client
from parley.client.errors import ClientError
from parley.client.events import Connected, Disconnected
from parley.client.sanitize import for_terminal
from parley.client.trace import LineTracer, Tracer
from parley.client.urls import CHAT_PATH, ServerURL, URLError, parse_url
from parley.protocol import messages as m
from parley.protocol.names import is_room_ref

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class Credentials:
    token: str | None = None
    username: str | None = None
    password: str | None = None
    register: bool = False

    def client_options(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "username": self.username,
            "password": self.password,
            "register": self.register,
        }


# -- shared options and checks --------------------------------------------------------------


def credential_options(func: F) -> F:
    options = [
        click.option(
            "--token",
            envvar="PARLEY_TOKEN",
            metavar="TOKEN",
            help="Session token (from POST /api/login). Environment: PARLEY_TOKEN.",
        ),
        click.option(
            "--user",
            "-u",
            metavar="NAME",
            help="Sign in as NAME (the password is asked, or read with --password-stdin).",
        ),
        click.option(
            "--password-stdin",
            is_flag=True,
            help="Read the password from the first line of standard input.",
        ),
        click.option("--register", is_flag=True, help="Create the account NAME first."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def trace_option(func: F) -> F:
    return click.option(
        "--trace",
        is_flag=True,
        help="Show the opening handshake, every frame both ways and the closing handshake.",
    )(func)


def retry_option(func: F) -> F:
    return click.option(
        "--retry-for",
        type=click.FloatRange(min=0),
        default=30.0,
        show_default=True,
        metavar="SECONDS",
        help="How long to keep reconnecting after the connection is lost.",
    )(func)


def keepalive_option(func: F) -> F:
    return click.option(
        "--ping-interval",
        type=click.FloatRange(min=0.1),
        default=20.0,
        show_default=True,
        envvar="PARLEY_PING_INTERVAL",
        metavar="SECONDS",
        help="Ping a server that has been quiet this long; one that then sends nothing for "
        "as long again is taken for gone (and reconnected to). Environment: "
        "PARLEY_PING_INTERVAL.",
    )(func)


def _url(text: str, default_path: str) -> ServerURL:
    try:
        return parse_url(text, default_path=default_path)
    except URLError as exc:
        raise click.BadParameter(str(exc), param_hint="URL") from None


def _room(text: str) -> str:
    name = text.lstrip("#")
    if not is_room_ref(name):
        raise click.BadParameter(
            f"{text!r} is not a room name (1 to 40 letters, digits, '_' or '-')",
            param_hint="ROOM",
        )
    return name


def _credentials(
    token: str | None,
    user: str | None,
    password_stdin: bool,
    register: bool,
    *,
    interactive_ok: bool,
) -> Credentials:
    """Check the credential flags and collect what is missing (asking only in a terminal)."""
    if token and user:
        raise click.UsageError("give --token or --user, not both")
    if password_stdin and not user:
        raise click.UsageError("--password-stdin needs --user NAME")
    if register and not user and not interactive_ok:
        raise click.UsageError("--register needs --user NAME")
    if token:
        if register:
            raise click.UsageError("--register needs --user NAME, not --token")
        return Credentials(token=token)
    tty = sys.stdin.isatty()
    if not user:
        if not (interactive_ok and tty):
            raise click.UsageError(
                "sign in with --token TOKEN (or PARLEY_TOKEN), or --user NAME --password-stdin"
            )
        user = str(click.prompt("User name")).strip()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise click.UsageError("no password on standard input")
    elif tty:
        password = str(click.prompt("Password", hide_input=True, confirmation_prompt=register))
    else:
        raise click.UsageError("no terminal to ask for the password: use --password-stdin")
    return Credentials(username=user, password=password, register=register)


def _fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"parley: {for_terminal(sys.stderr)(message)}", err=True)
    sys.exit(code)


def _silence_stdout() -> None:
    """The reader of our output went away (``| head``): stop writing, quietly."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _run(main: Coroutine[Any, Any, int], *, on_interrupt: int) -> NoReturn:
    """Run a client coroutine; turn every way it can fail into one line and an exit code."""
    try:
        code = asyncio.run(main)
    except KeyboardInterrupt:
        code = on_interrupt
    except BrokenPipeError:
        _silence_stdout()
        code = 0
    except ClientError as error:
        _fail(str(error))
    sys.exit(code)


def _stderr_tracer(trace: bool) -> Tracer | None:
    if not trace:
        return None
    clean = for_terminal(sys.stderr)
    return LineTracer(lambda line: click.echo(clean(line), err=True))


def _json(message: msgspec.Struct) -> str:
    """One JSON line (JSON escapes C0 controls but not C1 ones: cleaned for a terminal)."""
    return for_terminal(sys.stdout)(msgspec.json.encode(message).decode())


# -- parley connect -------------------------------------------------------------------------


@click.command()
@click.argument("url")
@click.option(
    "--raw",
    is_flag=True,
    help="Any WebSocket server: send each line as a text frame, print what arrives.",
)
@trace_option
@credential_options
@click.option("--room", metavar="ROOM", help="Room to start in (chat mode; default: lobby).")
@click.option(
    "--header",
    "-H",
    "headers",
    multiple=True,
    metavar="'NAME: VALUE'",
    help="Extra header for the handshake (raw mode; repeatable).",
)
@click.option(
    "--subprotocol",
    "subprotocols",
    multiple=True,
    metavar="NAME",
    help="Offer this subprotocol (raw mode; repeatable).",
)
@keepalive_option
def connect(
    url: str,
    raw: bool,
    trace: bool,
    token: str | None,
    user: str | None,
    password_stdin: bool,
    register: bool,
    room: str | None,
    headers: tuple[str, ...],
    subprotocols: tuple[str, ...],
    ping_interval: float,
) -> None:
    """Chat in a terminal, or talk to any WebSocket server (--raw).

    URL is http(s)://HOST:PORT or ws(s)://HOST:PORT[/ws]. Chat mode signs in (--token,
    PARLEY_TOKEN, --user, or asks) and offers /join, /leave, /rooms, /who, /dm, /history,
    /edit and /quit; /help lists them and Tab completes. --raw sends each line as a text
    frame and prints each message, like wscat; --trace shows the protocol underneath.

    \b
    parley connect http://127.0.0.1:8080 --user alice
    parley connect --raw --trace ws://127.0.0.1:8080
    """
    if raw:
        if user or register or password_stdin or room:
            raise click.UsageError("--raw sends lines as they are: --user and --room are for chat")
        target = _url(url, "/")
        extra = dict(_header(h) for h in headers)
        if token:
            extra["Authorization"] = f"Bearer {token}"
        _run(_raw(target, extra, list(subprotocols), trace), on_interrupt=0)
    if headers or subprotocols:
        raise click.UsageError("--header and --subprotocol are for --raw")
    target = _url(url, CHAT_PATH)
    start_room = _room(room) if room else None
    creds = _credentials(token, user, password_stdin, register, interactive_ok=True)
    _run(_chat(target, creds, start_room, trace, ping_interval), on_interrupt=0)


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip() or any(c in text for c in "\r\n"):
        raise click.BadParameter(f"{text!r}: write it as 'Name: value'", param_hint="--header")
    return name.strip(), value.strip()


async def _raw(
    url: ServerURL, headers: dict[str, str], subprotocols: list[str], trace: bool
) -> int:
    from parley.client.console import PipeConsole, TerminalConsole, is_interactive
    from parley.client.rawmode import run_raw
    from parley.client.websocket import WebSocket

    console = TerminalConsole() if is_interactive() else PipeConsole()
    tracer = LineTracer(console.note) if trace else None
    ws = await WebSocket.open(url, subprotocols=subprotocols, headers=headers, tracer=tracer)
    with console.session():
        ended = await run_raw(ws, console)
    if ended is not None:
        raise ended
    return 0


async def _chat(
    url: ServerURL, creds: Credentials, room: str | None, trace: bool, ping_interval: float
) -> int:
    from parley.client.chatmode import ChatCompleter, ChatMode, ChatState
    from parley.client.console import PipeConsole, TerminalConsole, is_interactive

    state = ChatState()
    interactive = is_interactive()
    console = TerminalConsole(ChatCompleter(state)) if interactive else PipeConsole()
    tracer = LineTracer(console.note) if trace else None
    client = Client(
        url.ws_url,
        tracer=tracer,
        ping_interval=ping_interval,
        ping_timeout=ping_interval,
        **creds.client_options(),
    )
    await client.start()
    try:
        with console.session():
            error = await ChatMode(client, console, state).run(room)
    finally:
        await client.close()  # also when the first /join fails: sign out all the same
    if error is not None:
        raise error
    return 0


# -- parley send / parley tail ----------------------------------------------------------------


@click.command()
@click.argument("url")
@click.argument("room")
@click.argument("text")
@credential_options
@click.option("--quiet", "-q", is_flag=True, help="Print nothing; the exit status says it all.")
@click.option("--join", "join_room", is_flag=True, help="Join ROOM first if needed.")
@click.option(
    "--file",
    "files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Upload this file and send it with the message (repeat for several; TEXT may be '').",
)
@retry_option
@trace_option
def send(
    url: str,
    room: str,
    text: str,
    token: str | None,
    user: str | None,
    password_stdin: bool,
    register: bool,
    quiet: bool,
    join_room: bool,
    files: tuple[Path, ...],
    retry_for: float,
    trace: bool,
) -> None:
    """Post TEXT to ROOM and print the server's ack as JSON (TEXT - reads standard input).

    Exits 0 once the message is stored. Sign in with --token / PARLEY_TOKEN, or --user NAME
    --password-stdin (with TEXT -, the password is the first line and the text the rest).
    With --file PATH the file is uploaded first and sent with the message.
    """
    target = _url(url, CHAT_PATH)
    name = _room(room)
    creds = _credentials(token, user, password_stdin, register, interactive_ok=False)
    if text == "-":
        text = sys.stdin.read().rstrip("\n")
    if not text.strip() and not (files and text == ""):
        raise click.BadParameter("the message is empty", param_hint="TEXT")

    async def main() -> int:
        client = Client(
            target.ws_url,
            receive_events=False,
            give_up_after=retry_for,
            tracer=_stderr_tracer(trace),
            **creds.client_options(),
        )
        async with client:
            await _ensure_member(client, name, join_room)
            uploaded = [await client.upload(path) for path in files]
            ack = await client.send(name, text, files=[f.id for f in uploaded])
        if not quiet:
            click.echo(_json(msgspec.structs.replace(ack, re=None)))
        return 0

    _run(main(), on_interrupt=130)


@click.command()
@click.argument("url")
@click.argument("room")
@credential_options
@click.option(
    "--since",
    type=click.IntRange(min=0),
    metavar="SEQ",
    help="First print the events after SEQ (0: the whole history).",
)
@click.option("--join", "join_room", is_flag=True, help="Join ROOM first if needed.")
@retry_option
@trace_option
@keepalive_option
def tail(
    url: str,
    room: str,
    token: str | None,
    user: str | None,
    password_stdin: bool,
    register: bool,
    since: int | None,
    join_room: bool,
    retry_for: float,
    trace: bool,
    ping_interval: float,
) -> None:
    """Print the events of ROOM as JSON lines as they happen, until interrupted.

    Reconnects by itself (missing nothing) while the server comes back within --retry-for
    seconds.

    \b
    parley tail http://127.0.0.1:8080 lobby --since 0 | jq -r .text
    """
    target = _url(url, CHAT_PATH)
    name = _room(room)
    creds = _credentials(token, user, password_stdin, register, interactive_ok=False)

    async def main() -> int:
        client = Client(
            target.ws_url,
            give_up_after=retry_for,
            tracer=_stderr_tracer(trace),
            ping_interval=ping_interval,
            ping_timeout=ping_interval,
            **creds.client_options(),
        )
        async with client:
            canonical = await _ensure_member(client, name, join_room)
            last = 0
            if since is not None:
                for event in await _backlog(client, canonical, since):
                    click.echo(_json(event))
                    last = event.seq
            async for item in client.events():
                match item:
                    case m.EventMessage(room=r, seq=seq) if r == canonical and seq > last:
                        click.echo(_json(item))
                        last = seq
                    case Disconnected(code=code):
                        click.echo(f"parley: connection lost ({code}); reconnecting", err=True)
                    case Connected(reconnected=True):
                        click.echo("parley: reconnected", err=True)
                    case _:
                        pass
        return 0

    _run(main(), on_interrupt=0)


async def _ensure_member(client: Client, room: str, join: bool) -> str:
    """The room's canonical name; joins it with ``join``, else refuses a non-member room."""
    for name in client.rooms:
        if name.lower() == room.lower():
            return name
    if not join:
        raise ClientError(f"you are not a member of {room!r} (add --join to join it)")
    return (await client.join(room)).name


async def _backlog(client: Client, room: str, since: int) -> list[m.EventMessage]:
    """The stored events of ``room`` after seq ``since``, oldest first (history, page by page)."""
    events: list[m.EventMessage] = []
    before: int | None = None
    while True:
        reply = await client.history(room, before=before, limit=100)
        events[:0] = [event for event in reply.events if event.seq > since]
        if not reply.more or not reply.events or reply.events[0].seq <= since + 1:
            return events
        before = reply.events[0].seq
