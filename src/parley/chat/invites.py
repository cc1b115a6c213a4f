"""Invitations: single-use, expiring, revocable links that let a new person create an account
(``account``) or an existing user join rooms (``room``).

The token is 256 random bits (:func:`~parley.chat.auth.new_token`), shown once inside the link
(``/?invite=TOKEN``); the store keeps only its SHA-256, as for sessions, so a stolen database
yields no usable link. Who may create them: admins always; members too when an admin turned
``member_invites`` on (``chat/registration.py``), and then only for rooms they are a member of
(or public ones) and where the room's settings let them invite (``parley/permissions.py``):
an invitation never opens a room its creator could not invite to. A user banned from one of
its rooms cannot use a room invitation (nothing is joined, the link stays unused).

Used by the admin API (``server/admin_api.py``), the registration request, and ``parley
invite ...``, so every way applies the same rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from parley.chat.auth import AccountError, hash_token, new_token, token_problem
from parley.chat.registration import INVITE_REFUSALS
from parley.clock import now_ms
from parley.model import Actor, Event, Invite, InviteKind, RoomKind, User
from parley.permissions import Action
from parley.store.base import InviteRefused, NotFound, NotPermitted, Store

#: Longest and default lifetime of an invitation, in seconds.
MAX_INVITE_TTL: Final = 30 * 24 * 3600
DEFAULT_INVITE_TTL: Final = 7 * 24 * 3600
#: Rooms one invitation may join.
MAX_INVITE_ROOMS: Final = 20


def invite_error(refused: InviteRefused) -> AccountError:
    """The account error of a refused invitation (code ``invite_invalid``)."""
    return AccountError("invite_invalid", INVITE_REFUSALS.get(refused.reason, str(refused)))


@dataclass(frozen=True, slots=True)
class NewInvite:
    """A created invitation and its token (shown once, never stored)."""

    invite: Invite
    token: str


class Invites:
    """See the module docstring. ``publish`` sends the ``join`` events a use makes."""

    def __init__(self, store: Store, publish: Callable[[Event], None] | None = None) -> None:
        self.store = store
        self.publish = publish

    async def create(
        self,
        kind: InviteKind,
        creator: User | None,
        room_names: list[str],
        ttl: float = DEFAULT_INVITE_TTL,
        *,
        actor: Actor,
        member_invites: bool = False,
    ) -> NewInvite:
        """Create an invitation by ``creator`` (None: the operator) to ``room_names``.

        Raises :class:`AccountError`: ``forbidden`` (a member when members may not invite, or
        a private room the creator is not in), ``not_found`` (a room), ``bad_request``.
        """
        if not 60 <= ttl <= MAX_INVITE_TTL:
            raise AccountError("bad_request", "an invitation lasts from 60 seconds to 30 days")
        if len(room_names) > MAX_INVITE_ROOMS:
            raise AccountError(
                "bad_request", f"an invitation joins at most {MAX_INVITE_ROOMS} rooms"
            )
        if kind is InviteKind.ROOM and not room_names:
            raise AccountError("bad_request", "a room invitation names at least one room")
        if creator is not None and not creator.is_admin and not member_invites:
            raise AccountError("forbidden", "only administrators may invite people here")
        room_ids: list[int] = []
        for name in room_names:
            room = await self.store.get_room(name)
            if room is None or room.kind is RoomKind.DIRECT:
                raise AccountError("not_found", f"no room named {name!r}")
            if creator is not None and not creator.is_admin:
                if room.kind is not RoomKind.PUBLIC and not await self.store.is_member(
                    room.id, creator.id
                ):
                    raise AccountError("not_found", f"no room named {name!r}")
                try:  # the room's own rule on who may invite (parley/permissions.py)
                    (await self.store.room_place(room.id, creator.id)).require(Action.INVITE)
                except NotPermitted as exc:
                    raise AccountError("forbidden", str(exc)) from None
            if room.id not in room_ids:
                room_ids.append(room.id)
        token = new_token()
        now = now_ms()
        try:
            invite = await self.store.create_invite(
                hash_token(token),
                kind,
                created_by=creator.id if creator is not None else None,
                now=now,
                expires_at=now + int(ttl * 1000),
                room_ids=tuple(room_ids),
                actor=actor,
            )
        except NotFound:  # deleted meanwhile
            raise AccountError("not_found", "a room of the invitation was just deleted") from None
        return NewInvite(invite, token)

    async def check(self, token: object) -> Invite:
        """The invitation of ``token`` if it can be used now; else ``invite_invalid``."""
        if not isinstance(token, str) or token_problem(token):
            raise invite_error(InviteRefused("unknown"))
        found = await self.store.get_invite(hash_token(token))
        if found is None:
            raise invite_error(InviteRefused("unknown"))
        state = found.state(now_ms())
        if state != "valid":
            raise invite_error(InviteRefused(state))
        return found

    async def revoke(self, invite_id: int, actor: Actor) -> Invite:
        try:
            return await self.store.revoke_invite(invite_id, now_ms(), actor=actor)
        except NotFound:
            raise AccountError("not_found", f"no invitation {invite_id}") from None
        except InviteRefused:
            raise AccountError("conflict", "this invitation was already used") from None

    async def join_rooms(self, token: object, user: User) -> list[Event]:
        """Use a ``room`` invitation as ``user``; returns (and publishes) the joins."""
        if not isinstance(token, str) or token_problem(token):
            raise invite_error(InviteRefused("unknown"))
        try:
            events = await self.store.redeem_room_invite(hash_token(token), user.id, now_ms())
        except InviteRefused as refused:
            raise invite_error(refused) from None
        except NotPermitted as exc:  # banned from one of its rooms: nothing was joined
            raise AccountError("forbidden", str(exc)) from None
        self._publish(events)
        return events

    def _publish(self, events: list[Event]) -> None:
        if self.publish is not None:
            for event in events:
                self.publish(event)
