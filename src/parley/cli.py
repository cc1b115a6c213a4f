"""The ``parley`` command: ``serve`` (the chat server), ``echo``, and ``user`` (accounts).

Every flag of ``serve`` (and the ones ``echo`` and ``user`` share with it) is declared once, in
:data:`parley.config.SERVE_FLAGS`; this module makes click options of the declarations, and
parses and prints. Every flag can also be set from the environment
(``PARLEY_PORT=9000 parley serve``); a flag on the command line wins. Errors in flags or at
start-up are one line and a non-zero exit code: 2 for a flag that cannot work, 1 for a server
that cannot start.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import sqlite3
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from parley import __version__
from parley.backends import BackendError, check_db, open_blobs, open_store, redact
from parley.broker.base import BrokerUnavailable
from parley.chat.admin import ServerAdmin
from parley.chat.auth import AccountError, Accounts
from parley.chat.operator import RoomAdmin, RoomAdminError, name_problems
from parley.client.cli import connect, send, tail
from parley.config import (
    FRAME_HEADER_BYTES,
    SERVE_FLAGS,
    Choice,
    Duration,
    File,
    Flag,
    Integer,
    Number,
    SettingsError,
    Size,
    Switch,
    Text,
    WebSocketLimits,
    check_send_buffer,
    hash_cost_from_environment,
    serve_flag,
    settings_from_flags,
)
from parley.echo import REPLY_PREFIX
from parley.files.blobs import BlobStore
from parley.logs import configure_logging
from parley.model import OPERATOR, AuditEntry, AuditFilter
from parley.presence.base import PresenceUnavailable
from parley.server.chat_app import ChatServer
from parley.server.echo_app import build_echo_app
from parley.server.endpoint import WebSocketEndpoint
from parley.server.runner import ListenError, run, serve_until_signalled
from parley.store.base import Store, StoreError
from parley.store.sql.store import SQLStore
from parley.transfer import parley_format
from parley.transfer.blob_lines import ExportFailed
from parley.transfer.chat_import import ChatReport
from parley.transfer.claims import claim_link, issue_claims
from parley.transfer.jobs import import_parley, index_imported
from parley.transfer.mattermost import import_mattermost
from parley.transfer.progress import Progress
from parley.transfer.sink import ImportFailed
from parley.transfer.slack import import_slack
from parley.websocket.deflate import DeflateSettings


class ByteSize(click.ParamType[int]):
    """A size in bytes (:class:`parley.config.Size`)."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            return Size.parse(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class Seconds(click.ParamType[float]):
    """A duration in seconds (:class:`parley.config.Duration`: ``forever`` where it allows)."""

    name = "duration"

    def __init__(self, kind: Duration | None = None) -> None:
        self.kind = kind or Duration()

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, int | float):
            return float(value)
        try:
            return self.kind.read(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


F = TypeVar("F", bound=Callable[..., Any])


def _click_type(flag: Flag) -> click.ParamType[Any] | None:
    kind = flag.kind
    if isinstance(kind, Integer):
        return click.IntRange(kind.low, kind.high)
    if isinstance(kind, Number):
        return click.FloatRange(min=kind.low)
    if isinstance(kind, Size):
        return ByteSize()
    if isinstance(kind, Duration):
        return Seconds(kind)
    if isinstance(kind, Choice):
        return click.Choice([word for word, _ in kind.words], kind.case_sensitive)
    if isinstance(kind, File):
        return click.Path(exists=True, dir_okay=False, path_type=Path)
    return None  # text, or a switch: click's own


def option(flag: Flag) -> Callable[[F], F]:
    """The click option of ``flag``: its environment variable, default, help."""
    switch = isinstance(flag.kind, Switch)
    names = [flag.option + (f"/--no-{flag.option[2:]}" if switch else "")]
    names += [flag.short] if flag.short else []
    default: dict[str, Any] = {} if flag.shown is None else {"default": flag.shown}
    return click.option(
        *names,
        flag.name,
        type=_click_type(flag),
        show_default=True,
        envvar=flag.envvar,
        help=flag.help,
        multiple=isinstance(flag.kind, Text) and flag.kind.repeated,
        **default,
    )


def options(*flags: Flag) -> Callable[[F], F]:
    """The click options of ``flags``, in that order."""

    def decorate(func: F) -> F:
        for flag in reversed(flags):
            func = option(flag)(func)
        return func

    return decorate


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
@options(
    *map(
        serve_flag,
        (
            "--host",
            "--port",
            "--max-message-size",
            "--max-fragments",
            "--slow-client-grace",
            "--log-level",
            "--deflate",
        ),
    )
)
@click.option(
    "--max-send-buffer",
    type=ByteSize(),
    default=None,
    help="High-water mark of unsent data (default: 1MiB, or one largest message if more); "
    "above it the echo stops reading its client.",
)
@click.option(
    "--verbatim",
    is_flag=True,
    help="Reply with each message unchanged (a conformance echo server for client tests).",
)
def echo(
    host: str,
    port: int,
    max_message_size: int,
    max_fragments: int,
    slow_client_grace: float,
    log_level: str,
    deflate: bool,
    max_send_buffer: int | None,
    verbatim: bool,
) -> None:
    """The tutorial's echo server: each message M is answered "We received your M".

    GET / on the same port serves the tutorial's demo page. The echo applies backpressure:
    while its client leaves more than --max-send-buffer unread, it stops reading from it.
    """
    configure_logging(log_level)
    largest = max_message_size + len(REPLY_PREFIX.encode()) + FRAME_HEADER_BYTES
    if max_send_buffer is None:
        max_send_buffer = max(WebSocketLimits().max_send_buffer, largest)
    try:
        check_send_buffer(max_send_buffer, largest, flag="a reply to a --max-message-size message")
    except SettingsError as exc:
        _fail(str(exc), 2)
    limits = WebSocketLimits(
        max_message_size=max_message_size,
        max_fragments=max_fragments,
        max_send_buffer=max_send_buffer,
        slow_client_grace=slow_client_grace,
    )
    endpoint = WebSocketEndpoint(limits, deflate_settings=DeflateSettings() if deflate else None)
    app = build_echo_app(endpoint, verbatim=verbatim)

    def listening(bound: int) -> None:
        click.echo(f"socket initialized on port {bound}")

    _serve(serve_until_signalled(app, endpoint, host=host, port=port, on_listening=listening))


@main.command()
@options(*SERVE_FLAGS)
def serve(**given: Any) -> None:
    """The chat server: the browser client on http://HOST:PORT/ and the chat WebSocket.

    Tutorial clients that connect to ws://HOST:PORT/ without a subprotocol chat in the lobby
    as guests.
    """
    configure_logging(given["log_level"], given["log_format"])
    try:
        settings = settings_from_flags(given)
        settings.check()
        tls = settings.ssl_context()
    except SettingsError as exc:
        _fail(str(exc), 2)
    server = ChatServer(settings)
    host = settings.host

    def listening(bound: int) -> None:
        server.listening(bound)
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


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"parley: {message}", err=True)
    sys.exit(code)


# -- parley user ... ----------------------------------------------------------------------


@main.group()
def user() -> None:
    """Manage accounts (works on the database file; the server may be running)."""


T = TypeVar("T")


def _with_store(db: str, job: Callable[[Store], Awaitable[T]]) -> T:
    """Run ``job`` on the database ``db`` (the server may be running); a refusal or a
    database that cannot be used is one line and exit status 1."""
    try:
        check_db(db)
    except BackendError as exc:
        _fail(str(exc), 2)

    async def main() -> T:
        store = open_store(db)
        await store.start()
        try:
            return await job(store)
        finally:
            await store.close()

    try:
        return _run(main())
    except AccountError as exc:
        _fail(exc.message, 1)
    except RoomAdminError as exc:
        _fail(str(exc), 1)
    except (StoreError, sqlite3.Error) as exc:
        _fail(f"cannot use the database {redact(db)}: {_one_line(exc)}", 1)


def _with_accounts(db: str, job: Callable[[Accounts], Awaitable[T]]) -> T:
    return _with_store(db, lambda store: job(Accounts(store, cost=hash_cost_from_environment())))


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
@option(serve_flag("--db"))
def user_add(name: str, admin: bool, password_stdin: bool, db: str) -> None:
    """Create an account NAME (the first account ever created is an administrator)."""
    password = _read_password(password_stdin)

    async def job(accounts: Accounts) -> str:
        created = await accounts.create_user(
            name, password, admin=True if admin else None, actor=OPERATOR
        )
        return f"created {created.name}{' (admin)' if created.is_admin else ''}"

    click.echo(_with_accounts(db, job))


@user.command("list")
@option(serve_flag("--db"))
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
        user = await ServerAdmin(accounts).set_disabled(name, disabled, OPERATOR)
        return f"{'disabled' if disabled else 'enabled'} {user.name}"

    click.echo(_with_accounts(db, job))


@user.command("disable")
@click.argument("name")
@option(serve_flag("--db"))
def user_disable(name: str, db: str) -> None:
    """Disable NAME and end its sessions (a running server closes them within 30 s)."""
    _set_disabled(name, db, True)


@user.command("enable")
@click.argument("name")
@option(serve_flag("--db"))
def user_enable(name: str, db: str) -> None:
    """Enable NAME again."""
    _set_disabled(name, db, False)


@user.command("set-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@option(serve_flag("--db"))
def user_set_password(name: str, password_stdin: bool, db: str) -> None:
    """Set NAME's password and end its sessions."""
    password = _read_password(password_stdin)

    async def job(accounts: Accounts) -> str:
        user = await ServerAdmin(accounts).reset_password(name, password, OPERATOR)
        return f"password of {user.name} changed; its sessions were ended"

    click.echo(_with_accounts(db, job))


@user.command("rename")
@click.argument("name")
@click.argument("new_name")
@option(serve_flag("--db"))
def user_rename(name: str, new_name: str, db: str) -> None:
    """Rename the account NAME (or #ID) to NEW_NAME everywhere, and end its sessions.

    Its messages show the new name, and its direct rooms are renamed with it. For the names
    that `parley check` reports.
    """

    async def job(accounts: Accounts) -> str:
        old = await accounts.find_user(name)
        renamed, _ = await accounts.rename(name, new_name)
        return f"renamed {old.name!r} to {renamed.name!r}; its sessions were ended"

    click.echo(_with_accounts(db, job))


# -- parley room ... -----------------------------------------------------------------------


@main.group()
def room() -> None:
    """Manage rooms (works on the database; running servers follow within 5 s)."""


def _rooms(db: str, job: Callable[[RoomAdmin], Awaitable[T]]) -> T:
    return _with_store(db, lambda store: job(RoomAdmin(store)))


@room.command("list")
@option(serve_flag("--db"))
def room_list(db: str) -> None:
    """List the rooms: #id, name, kind, members, state."""

    async def job(admin: RoomAdmin) -> list[str]:
        return [
            f"#{r.id}\t{r.name!r}\t{r.kind.value}\t{members} members\t"
            f"{'archived' if r.archived else 'open'}"
            for r, members in await admin.rooms()
        ]

    for line in _rooms(db, job):
        click.echo(line)


def _set_archived(name: str, db: str, archived: bool) -> None:
    done, already = ("archived", "already archived") if archived else ("unarchived", "not archived")

    async def job(admin: RoomAdmin) -> str:
        found, event = await admin.archive(name, archived)
        return f"{done} {found.name!r}" if event else f"{found.name!r} was {already}"

    click.echo(_rooms(db, job))


@room.command("archive")
@click.argument("name")
@option(serve_flag("--db"))
def room_archive(name: str, db: str) -> None:
    """Make NAME (or #ID) read-only: its history stays readable, nothing more is posted."""
    _set_archived(name, db, True)


@room.command("unarchive")
@click.argument("name")
@option(serve_flag("--db"))
def room_unarchive(name: str, db: str) -> None:
    """Make the archived room NAME (or #ID) writable again."""
    _set_archived(name, db, False)


@room.command("rename")
@click.argument("name")
@click.argument("new_name")
@option(serve_flag("--db"))
def room_rename(name: str, new_name: str, db: str) -> None:
    """Rename the room NAME (or #ID) to NEW_NAME (members see a rename event)."""

    async def job(admin: RoomAdmin) -> str:
        found, _ = await admin.rename(name, new_name)
        return f"renamed {found.name!r} to {new_name!r}"

    click.echo(_rooms(db, job))


@room.command("owner")
@click.argument("name")
@click.argument("user")
@option(serve_flag("--db"))
def room_owner(name: str, user: str, db: str) -> None:
    """Make USER (a member of the room NAME, or #ID) its owner, and its previous owners
    members: `role` events by `operator`, each in the audit log."""

    async def job(admin: RoomAdmin) -> str:
        found, events = await admin.change_owner(name, user)
        if not events:
            return f"{user!r} already owns {found.name!r}"
        return f"{user!r} owns {found.name!r} ({len(events)} role changes)"

    click.echo(_rooms(db, job))


@room.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask: delete it.")
@option(serve_flag("--db"))
def room_delete(name: str, yes: bool, db: str) -> None:
    """Delete the room NAME (or #ID) with its whole history, for everyone. Cannot be undone
    (`parley room archive` keeps the history)."""
    if not yes:
        if not sys.stdin.isatty():
            _fail("deleting a room cannot be undone: add --yes to confirm", 2)
        click.confirm(f"Delete {name!r} and its whole history for everyone?", abort=True)

    async def job(admin: RoomAdmin) -> str:
        found, members = await admin.delete(name)
        return f"deleted {found.name!r} ({len(members)} members, its history erased)"

    click.echo(_rooms(db, job))


# -- parley audit ------------------------------------------------------------------------------


def _when(value: str | None) -> int | None:
    """An ISO 8601 date or time (UTC unless it says otherwise) as ms since the epoch."""
    if value is None:
        return None
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        _fail(f"not a date or time: {value!r} (use 2026-12-06 or 2026-12-06T07:30)", 2)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return int(moment.timestamp() * 1000)


def _audit_line(entry: AuditEntry) -> str:
    when = datetime.datetime.fromtimestamp(entry.ts / 1000, datetime.UTC)
    parts = [f"#{entry.id}", when.strftime("%Y-%m-%dT%H:%M:%SZ"), entry.actor, entry.action]
    for label, value in (
        ("target", entry.target),
        ("room", entry.room),
        ("from", entry.address),
        ("", entry.detail),
    ):
        if value:
            parts.append(f"{label}={value!r}" if label else repr(value))
    return "\t".join(parts)


@main.command()
@click.option("--actor", help="Only what this user (or 'operator') did.")
@click.option("--action", help="Only this action (room.ban), or every one of a subject (room).")
@click.option("--since", help="From this date or time (ISO 8601, UTC).")
@click.option("--until", "until", help="Before this date or time (ISO 8601, UTC).")
@click.option("--before", type=click.IntRange(min=1), help="The page after entry #BEFORE.")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@option(serve_flag("--db"))
def audit(
    actor: str | None,
    action: str | None,
    since: str | None,
    until: str | None,
    before: int | None,
    limit: int,
    db: str,
) -> None:
    """Read the audit log, newest first: who did what, when, from where (moderation, the
    operator's and admins' acts, sign-ins refused past the limit, sessions ended)."""
    where = AuditFilter(
        actor=actor,
        action=action,
        since=_when(since),
        until=_when(until),
        before=before,
        limit=limit + 1,
    )
    found = _with_store(db, lambda store: store.audit_log(where))
    for entry in found[:limit]:
        click.echo(_audit_line(entry))
    if len(found) > limit:
        click.echo(f"more: parley audit --before {found[limit - 1].id} (with the same filters)")


# -- parley check ------------------------------------------------------------------------------


@main.command()
@option(serve_flag("--db"))
def check(db: str) -> None:
    """Report the user and room names that the current rules refuse (made under older ones),
    with the command that renames each. Exit status 1 when there are any."""
    problems = _with_store(db, name_problems)
    for problem in problems:
        click.echo(f"{problem.what} #{problem.id} {problem.name!r}: {problem.problem}")
        click.echo(f"  fix: {problem.fix}")
    if problems:
        sys.exit(1)
    click.echo("every user and room name follows the rules")


# -- parley export / import ---------------------------------------------------------------


def _sql_store(store: Store) -> SQLStore:
    assert isinstance(store, SQLStore)  # every backend open_store makes is one
    return store


def _progress(verb: str, quiet: bool) -> Progress:
    return Progress(verb, None if quiet else sys.stderr)


@main.command("export")
@option(serve_flag("--db"))
@option(serve_flag("--file-dir"))
@click.option(
    "-o",
    "--output",
    default="-",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Where to write (default: standard output).",
)
@click.option("--quiet", is_flag=True, help="No progress lines on standard error.")
def export_command(db: str, file_dir: str | None, output: str, quiet: bool) -> None:
    """Write every account (without its password), room, membership, event and file as JSON
    lines (docs/architecture.md, "Export format"), for `parley import`."""
    progress = _progress("exported", quiet)

    async def job(store: Store) -> None:
        async with _started_blobs(db, file_dir) as blobs:
            with click.open_file(output, "wb") as out:
                await parley_format.export(_sql_store(store), blobs, out, progress)

    try:
        _with_store(db, job)
    except ExportFailed as exc:
        _fail(f"export failed: {exc}", 1)


@contextlib.asynccontextmanager
async def _started_blobs(db: str, file_dir: str | None) -> AsyncIterator[BlobStore]:
    """The blob store that goes with ``db`` (as ``parley serve`` opens it), started."""
    blobs = open_blobs(db, file_dir)
    await blobs.start()
    try:
        yield blobs
    finally:
        await blobs.close()


@main.command("import")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option(
    "--from",
    "source_format",
    type=click.Choice(["parley", "slack", "mattermost"]),
    default="parley",
    show_default=True,
    help="A `parley export` file (`-`: standard input), Slack's export zip, or Mattermost's"
    " bulk export (its zip or .jsonl).",
)
@option(serve_flag("--db"))
@option(serve_flag("--file-dir"))
@option(serve_flag("--max-text"))
@click.option(
    "--public-url",
    default=None,
    help="The server's URL, to print claim links rather than bare claim tokens.",
)
@click.option(
    "--claim-ttl", type=Seconds(), default="7d", show_default=True, help="Claim tokens expire."
)
@click.option("--quiet", is_flag=True, help="No progress lines on standard error.")
def import_command(
    source: str,
    source_format: str,
    db: str,
    file_dir: str | None,
    max_text: int,
    public_url: str | None,
    claim_ttl: float,
    quiet: bool,
) -> None:
    """Fill an EMPTY database (a new file, or a new PostgreSQL database) from an export, then
    print one claim link per account: `name<TAB>link` (imported accounts have no password).

    From Slack or Mattermost, a message longer than --max-text (give the server's) is
    imported as consecutive messages within it."""

    async def job(store: Store) -> None:
        sql = _sql_store(store)
        progress = _progress("imported", quiet)
        if source_format == "slack":
            report: ChatReport = await import_slack(sql, Path(source), progress, max_text=max_text)
        else:
            async with _started_blobs(db, file_dir) as blobs:
                if source_format == "mattermost":
                    report = await import_mattermost(
                        sql, blobs, Path(source), progress, max_text=max_text
                    )
                else:
                    with click.open_file(source, "rb") as stream:
                        await import_parley(sql, blobs, stream, progress)
        if source_format != "parley":
            for line in report.lines():
                click.echo(line, err=True)
        await index_imported(sql, _progress("indexed for search", quiet))
        async for name, token in issue_claims(sql, ttl_ms=round(claim_ttl * 1000)):
            click.echo(f"{name}\t{claim_link(public_url, token)}")

    try:
        _with_store(db, job)
    except ImportFailed as exc:
        after = (
            "; the database holds part of the import: import again into a new, empty one"
            if exc.partial
            else ""
        )
        _fail(f"import failed: {exc}{after}", 1)


# The client's commands (parley connect / send / tail) live with the client.
main.add_command(connect)
main.add_command(send)
main.add_command(tail)

# The administration commands (user admin, sessions; registration; invite ...) add themselves.
from parley import cli_admin  # noqa: E402, F401
