"""The server administrators' actions, one set of rules for every way in: the /admin page
and its HTTP API (``server/admin_api.py``) and the ``parley`` commands.

It builds on the operator's rules that already exist (``chat/auth.py`` finds accounts by name
or ``#ID`` and hashes passwords; ``chat/operator.py`` finds rooms by name or ``#ID`` and keeps
the lobby) and adds what an admin acting through the server needs:

* every change is recorded in the audit log in its own transaction (``Actor``: who, from
  where), and refused changes record nothing;
* disabling an account or setting its password ends its sessions in that same transaction,
  whoever does it: ``parley user disable|set-password`` come here as the page does (without
  ``Effects``, a running server closes the connections at its next session check);
* an admin cannot disable their own account or take their own admin right away: the server
  must never be left without someone who can undo a mistake from the page;
* the effects reach people at once, on every node: ended sessions close their connections
  (a ``revoke`` notice on the user's channel), an archive is published as the room event it
  is, a deleted room is dropped by the connections that had it (other nodes within their
  sync interval, as for ``parley room delete``).

A room's owner is changed with the room roles of ``parley/permissions.py``: the new owner's
``role`` event, then one making each previous owner a plain member, each recorded by the
store in its transaction; it needs an admin's account (the operator's command has none).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from parley.chat.auth import AccountError, Accounts
from parley.chat.notices import RevokeNotice, pack_notice
from parley.chat.operator import RoomAdmin, RoomAdminError, make_owner
from parley.clock import now_ms
from parley.model import Actor, Event, Room, Session, User
from parley.protocol.names import password_problem
from parley.store.base import Forbidden, NotFound, NotMember, NotPermitted

T = TypeVar("T")

#: Most rows of one page of users, rooms, sessions or invitations.
MAX_PAGE = 100


@dataclass(frozen=True, slots=True)
class Effects:
    """How the admin's changes reach running connections; all optional (the ``parley``
    commands have none: running servers follow from the store)."""

    notify_user: Callable[[int, bytes], None] | None = None
    publish: Callable[[Event], None] | None = None
    room_removed: Callable[[int], None] | None = None


def _same(actor: Actor, user: User) -> bool:
    return actor.id == user.id


class ServerAdmin:
    """See the module docstring."""

    def __init__(self, accounts: Accounts, effects: Effects | None = None) -> None:
        self.accounts = accounts
        self.store = accounts.store
        self.rooms_admin = RoomAdmin(accounts.store)
        self.effects = effects or Effects()

    # -- users ---------------------------------------------------------------------------

    async def users(self, query: str = "", after: str | None = None) -> list[User]:
        return await self.store.find_users(query, after=after, limit=MAX_PAGE)

    def _revoke(self, user_id: int, token_hashes: list[str], reason: str) -> None:
        if self.effects.notify_user is None:
            return
        for token_hash in token_hashes:
            notice = RevokeNotice(token_hash=token_hash, reason=reason)
            self.effects.notify_user(user_id, pack_notice(notice))

    async def set_disabled(self, name: str, disabled: bool, actor: Actor) -> User:
        """Disable the account ``name`` and end its sessions, or enable it again."""
        user = await self.accounts.find_user(name)
        if disabled and _same(actor, user):
            raise AccountError("forbidden", "you cannot disable your own account")
        ended = await self._user_change(self.store.set_disabled(user.id, disabled, actor=actor))
        self._revoke(user.id, ended, "account disabled")
        return replace(user, disabled=disabled)

    async def reset_password(self, name: str, password: str, actor: Actor) -> User:
        """Give the account ``name`` a new password (checked as at registration) and end its
        sessions: whoever knew the old one is signed out everywhere."""
        user = await self.accounts.find_user(name)
        problem = password_problem(password, user.name)
        if problem:
            raise AccountError("weak_password", problem)
        password_hash = await self.accounts.hash_password(password)
        ended = await self._user_change(
            self.store.set_password(user.id, password_hash, actor=actor)
        )
        self._revoke(user.id, ended, "password changed")
        return replace(user, password_hash=password_hash)

    async def set_admin(self, name: str, admin: bool, actor: Actor) -> User:
        user = await self.accounts.find_user(name)
        if not admin and _same(actor, user):
            raise AccountError("forbidden", "you cannot take away your own admin right")
        await self._user_change(self.store.set_admin(user.id, admin, actor=actor))
        return replace(user, is_admin=admin)

    async def sessions(self, name: str) -> tuple[User, list[Session]]:
        user = await self.accounts.find_user(name)
        found = await self._user_change(self.store.sessions_of(user.id, now_ms(), MAX_PAGE))
        return user, found

    async def end_session(self, name: str, session_id: str, actor: Actor) -> User:
        user = await self.accounts.find_user(name)
        ended = await self._user_change(self.store.end_session(user.id, session_id, actor=actor))
        if not ended:
            raise AccountError("not_found", f"{user.name} has no session {session_id!r}")
        self._revoke(user.id, ended, "session ended by an administrator")
        return user

    async def _user_change(self, change: Awaitable[T]) -> T:
        """Await a store change of a user; a user gone meanwhile is ``not_found``."""
        try:
            return await change
        except NotFound:
            raise AccountError("not_found", "no such user") from None

    # -- rooms ---------------------------------------------------------------------------

    async def rooms(self, query: str = "", after: str | None = None) -> list[tuple[Room, int]]:
        return await self.store.find_rooms(query, after=after, limit=MAX_PAGE)

    async def _room(self, name: str) -> Room:
        try:
            return await self.rooms_admin.find(name)
        except RoomAdminError as exc:
            raise AccountError("not_found", str(exc)) from None

    async def set_archived(
        self, name: str, archived: bool, actor: Actor
    ) -> tuple[Room, Event | None]:
        room = await self._room(name)
        try:
            event = await self.store.set_archived(room.id, archived, author=actor.name, actor=actor)
        except Forbidden as exc:
            raise AccountError("forbidden", str(exc)) from None
        except NotFound:
            raise AccountError("not_found", f"no room named {name!r}") from None
        if event is not None and self.effects.publish is not None:
            self.effects.publish(event)
        return replace(room, archived=archived), event

    async def delete_room(self, name: str, actor: Actor) -> tuple[Room, list[int]]:
        room = await self._room(name)
        try:
            members = await self.store.delete_room(room.id, actor=actor)
        except Forbidden as exc:
            raise AccountError("forbidden", str(exc)) from None
        except NotFound:
            raise AccountError("not_found", f"no room named {name!r}") from None
        if self.effects.room_removed is not None:
            self.effects.room_removed(room.id)
        return room, members

    async def change_owner(
        self, name: str, new_owner: str, actor: Actor
    ) -> tuple[Room, list[Event]]:
        """Make ``new_owner`` (a member) the room's owner, and its previous owners members."""
        room = await self._room(name)
        user = await self.accounts.find_user(new_owner)
        if actor.id is None:
            raise AccountError("forbidden", "an administrator's account changes owners")
        events: list[Event] = []
        try:
            await make_owner(self.store, room.id, user, actor, events)
        except NotMember as exc:
            raise AccountError("conflict", str(exc)) from None
        except NotPermitted as exc:
            raise AccountError("forbidden", str(exc)) from None
        except NotFound:
            raise AccountError("not_found", f"no room named {name!r}") from None
        finally:
            if self.effects.publish is not None:
                for event in events:
                    self.effects.publish(event)
        return room, events


__all__ = ["MAX_PAGE", "Effects", "ServerAdmin"]
