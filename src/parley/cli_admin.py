"""The ``parley`` commands of server administration beyond ``parley user`` and ``parley
room``'s first ones: the admin right, sessions, the registration mode, invitations.

They apply the rules of ``chat/admin.py``, ``chat/registration.py`` and ``chat/invites.py``,
as the /admin page does, on the database (the server may be running: every node reads the
registration mode and invitations from the store), and record their audit entries as the
``operator``.
"""

from __future__ import annotations

import datetime as dt

import click

from parley.chat.admin import ServerAdmin
from parley.chat.auth import Accounts
from parley.chat.invites import Invites
from parley.chat.registration import RegistrationMode
from parley.cli import _with_accounts, main, option, user
from parley.clock import now_ms
from parley.config import Duration, serve_flag
from parley.model import OPERATOR, InviteKind
from parley.store.sql.admin_ops import SESSION_ID_CHARS


def _when(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


@user.command("admin")
@click.argument("name")
@click.option("--off", is_flag=True, help="Take the admin right away instead.")
@option(serve_flag("--db"))
def user_admin(name: str, off: bool, db: str) -> None:
    """Make NAME a server administrator (or, with --off, no longer one)."""

    async def job(accounts: Accounts) -> str:
        changed = await ServerAdmin(accounts).set_admin(name, not off, OPERATOR)
        return f"{changed.name} is {'no longer ' if off else ''}an administrator"

    click.echo(_with_accounts(db, job))


@user.command("sessions")
@click.argument("name")
@option(serve_flag("--db"))
def user_sessions(name: str, db: str) -> None:
    """List NAME's live sessions: id, started, expires."""

    async def job(accounts: Accounts) -> list[str]:
        _, found = await ServerAdmin(accounts).sessions(name)
        return [
            f"{s.token_hash[:SESSION_ID_CHARS]}\t{_when(s.created_at)}\t{_when(s.expires_at)}"
            for s in found
        ]

    for line in _with_accounts(db, job):
        click.echo(line)


@user.command("end-session")
@click.argument("name")
@click.argument("session_id")
@option(serve_flag("--db"))
def user_end_session(name: str, session_id: str, db: str) -> None:
    """End NAME's session SESSION_ID (from `parley user sessions`)."""

    async def job(accounts: Accounts) -> str:
        found = await ServerAdmin(accounts).end_session(name, session_id, OPERATOR)
        return f"ended the session {session_id} of {found.name}"

    click.echo(_with_accounts(db, job))


@main.command()
@click.argument("mode", required=False, type=click.Choice([m.value for m in RegistrationMode]))
@option(serve_flag("--db"))
def registration(mode: str | None, db: str) -> None:
    """Show who may create an account, or set it: open, invite or closed. Stored in the
    database, it wins over `parley serve --registration` on every node, at once."""

    async def job(accounts: Accounts) -> str:
        policy = accounts.registration
        if mode is not None:
            await policy.set_mode(RegistrationMode(mode), OPERATOR)
        stored = await accounts.store.get_setting("registration")
        return f"registration: {stored}" if stored else "registration: not set (the flag decides)"

    click.echo(_with_accounts(db, job))


@main.group()
def invite() -> None:
    """Invitation links: create, list, revoke."""


@invite.command("create")
@click.option("--room", "rooms", multiple=True, help="A room the invitation joins (repeat).")
@click.option(
    "--existing", is_flag=True, help="For an existing user to join the rooms, not a new account."
)
@click.option(
    "--expires", default="7d", show_default=True, help="How long it can be used (1m to 30d)."
)
@option(serve_flag("--public-url"))
@option(serve_flag("--db"))
def invite_create(
    rooms: tuple[str, ...], existing: bool, expires: str, public_url: str | None, db: str
) -> None:
    """Create a single-use invitation and print its link (shown only now)."""
    try:
        ttl = Duration.parse(expires)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--expires") from None
    kind = InviteKind.ROOM if existing else InviteKind.ACCOUNT

    async def job(accounts: Accounts) -> str:
        made = await Invites(accounts.store).create(kind, None, list(rooms), ttl, actor=OPERATOR)
        base = (public_url or "").rstrip("/")
        return f"invitation #{made.invite.id}: {base}/?invite={made.token}"

    click.echo(_with_accounts(db, job))


@invite.command("list")
@option(serve_flag("--db"))
def invite_list(db: str) -> None:
    """List the newest invitations: id, kind, state, expires, by, rooms, used by."""

    async def job(accounts: Accounts) -> list[str]:
        now = now_ms()
        return [
            f"#{i.id}\t{i.kind.value}\t{i.state(now)}\t{_when(i.expires_at)}\t"
            f"{i.created_by or OPERATOR.name}\t{','.join(n for _, n in i.rooms) or '-'}\t"
            f"{i.used_by or '-'}"
            for i in await accounts.store.list_invites(limit=100)
        ]

    for line in _with_accounts(db, job):
        click.echo(line)


@invite.command("revoke")
@click.argument("invite_id", type=click.IntRange(min=1))
@option(serve_flag("--db"))
def invite_revoke(invite_id: int, db: str) -> None:
    """Revoke the invitation INVITE_ID: its link stops working."""

    async def job(accounts: Accounts) -> str:
        await Invites(accounts.store).revoke(invite_id, OPERATOR)
        return f"revoked invitation #{invite_id}"

    click.echo(_with_accounts(db, job))


__all__ = ["invite", "registration"]
