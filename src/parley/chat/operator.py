"""The operator's tools for rooms, and the check of names made under older rules.

Used by ``parley room ...`` and ``parley check`` (and later by an admin page), so that every
way of managing rooms applies the same rules:

* the lobby cannot be archived, renamed or deleted: everyone starts there;
* archiving makes a room read-only (its history stays readable, members may leave) with an
  ``archive`` event, unarchiving undoes it with an ``unarchive`` event;
* a rename is a ``rename`` event, and the new name follows the rules of a chosen name;
* deleting erases the room, its history and memberships; the ids are never reused;
* a change of owner (:func:`make_owner`, also the admin page's) makes a member the owner and
  the previous owners members: ``role`` events, each with its audit entry.

These work on the database, so the server may be running — even several: each server notices
within its sync interval (5 s) that a room it streams changed, delivers the room's new events
and tells the connections of a deleted room's members that it is gone
(``Node.sync_feeds``).

:func:`name_problems` finds the user and room names that the current rules refuse (names
made before a rule became stricter: ``alice\\n`` before names were matched whole,
``guesthouse`` before every ``guest`` prefix was reserved), so that the operator can rename
them.
"""

from __future__ import annotations

from dataclasses import dataclass

from parley.model import OPERATOR as OPERATOR_ACTOR
from parley.model import Actor, Event, Room, RoomKind, User
from parley.permissions import Role
from parley.protocol.names import room_problem, username_problem
from parley.store.base import Conflict, Forbidden, NotFound, NotMember, NotPermitted, Store

#: Who the operator's events are by.
OPERATOR = "operator"


class RoomAdminError(Exception):
    """A refused room operation, said for people."""


@dataclass(frozen=True, slots=True)
class NameProblem:
    """A name the current rules refuse: whose (``user`` or ``room``), its id and why."""

    what: str
    id: int
    name: str
    problem: str

    @property
    def fix(self) -> str:
        """The command that fixes it."""
        return f"parley {self.what} rename '#{self.id}' NEW-NAME"


class RoomAdmin:
    """The room tools, for one actor (audited: the operator's command by default)."""

    def __init__(self, store: Store, actor: Actor = OPERATOR_ACTOR) -> None:
        self.store = store
        self.actor = actor

    async def find(self, name: str) -> Room:
        """The room ``name`` (any case), or ``#ID`` (for a name awkward to type)."""
        if name.startswith("#") and name[1:].isdigit():
            room = await self.store.get_room_by_id(int(name[1:]))
        else:
            room = await self.store.get_room(name)
        if room is None:
            raise RoomAdminError(f"no room named {name!r}")
        return room

    async def rooms(self) -> list[tuple[Room, int]]:
        return await self.store.list_rooms()

    async def archive(self, name: str, archived: bool = True) -> tuple[Room, Event | None]:
        room = await self.find(name)
        try:
            event = await self.store.set_archived(
                room.id, archived, author=OPERATOR, actor=self.actor
            )
        except Forbidden as exc:
            raise RoomAdminError(str(exc)) from None
        return room, event

    async def rename(self, name: str, new_name: str) -> tuple[Room, Event]:
        room = await self.find(name)
        problem = room_problem(new_name)
        if problem:
            raise RoomAdminError(problem)
        try:
            event = await self.store.rename_room(
                room.id, new_name, author=OPERATOR, actor=self.actor
            )
        except Conflict:
            raise RoomAdminError(f"the room name {new_name!r} is taken") from None
        except Forbidden as exc:
            raise RoomAdminError(str(exc)) from None
        return room, event

    async def change_owner(self, name: str, new_owner: str) -> tuple[Room, list[Event]]:
        """Make the member ``new_owner`` the room's owner, its previous owners members."""
        room = await self.find(name)
        user = await self.store.get_user(new_owner)
        if user is None:
            raise RoomAdminError(f"no user named {new_owner!r}")
        events: list[Event] = []
        try:
            await make_owner(self.store, room.id, user, self.actor, events)
        except (NotMember, NotPermitted) as exc:
            raise RoomAdminError(str(exc)) from None
        except NotFound:
            raise RoomAdminError(f"no room named {name!r}") from None
        return room, events

    async def delete(self, name: str) -> tuple[Room, list[int]]:
        room = await self.find(name)
        try:
            members = await self.store.delete_room(room.id, actor=self.actor)
        except Forbidden as exc:
            raise RoomAdminError(str(exc)) from None
        return room, members


async def make_owner(
    store: Store, room_id: int, user: User, actor: Actor, made: list[Event]
) -> None:
    """Make ``user`` (a member) the room's owner, then every other owner a member, acting as
    ``actor`` (its ``id`` None: the operator); each ``role`` event is added to ``made`` as
    it is stored (so that a failure half-way still publishes what was done). Raises the
    store's :class:`NotMember`, :class:`NotPermitted`, :class:`NotFound`."""
    event = await store.set_role(room_id, actor.id, user.id, Role.OWNER, address=actor.address)
    made += [event] if event is not None else []
    for owner, role in await store.room_roles(room_id):
        if role is not Role.OWNER or owner.lower() == user.name.lower():
            continue
        previous = await store.get_user(owner)
        if previous is None:
            continue  # a role names an account: gone only with its rows
        event = await store.set_role(
            room_id, actor.id, previous.id, Role.MEMBER, address=actor.address
        )
        made += [event] if event is not None else []


async def name_problems(store: Store) -> list[NameProblem]:
    """Every user and room name that the current rules refuse. Direct rooms are named after
    their users: renaming a user renames them."""
    found = [
        NameProblem("user", user.id, user.name, problem)
        for user in await store.list_users()
        if (problem := username_problem(user.name)) is not None
    ]
    found += [
        NameProblem("room", room.id, room.name, problem)
        for room, _ in await store.list_rooms()
        if room.kind is not RoomKind.DIRECT and (problem := room_problem(room.name)) is not None
    ]
    return found
