"""The rooms one signed-in connection is a member of, and where its stream of each stands.

Looked up by id (events, notices) and by name as commands spell it (case-insensitively, as
names are everywhere). ``cursor`` is the seq the client was last told about for the room (by
the ``welcome``, a ``join`` reply or a membership notice): the stream of the room starts after
it unless ``resume`` names another.

A room another connection of the user joined is *expected* from the moment its notice
arrives until this connection has read it and remembers it (or finds it gone): profile
notices, which follow the rooms a connection shares with their user, count it already, so
that one sent right after the join is not missed.
"""

from __future__ import annotations

from collections.abc import Iterator, Set

from parley.model import Room
from parley.protocol.errors import ErrorCode, ProtocolError

FORBIDDEN_ROOM = "you cannot see room {!r}: it does not exist or it is private"


class MemberRooms:
    __slots__ = ("_by_id", "_by_name", "cursors", "expected")

    def __init__(self) -> None:
        self._by_id: dict[int, Room] = {}
        self._by_name: dict[str, Room] = {}
        #: Member room id -> the seq its stream starts after (see the module docstring).
        self.cursors: dict[int, int] = {}
        #: Rooms joined elsewhere, not yet remembered here (see the module docstring).
        self.expected: set[int] = set()

    def remember(self, room: Room, cursor: int) -> None:
        self._by_id[room.id] = room
        self._by_name[room.name.lower()] = room
        self.cursors[room.id] = cursor
        self.expected.discard(room.id)

    def update(self, room: Room) -> bool:
        """A member room changed (renamed, archived): keep its cursor. False if not a member
        room."""
        old = self._by_id.get(room.id)
        if old is None:
            return False
        self._by_name.pop(old.name.lower(), None)
        self._by_id[room.id] = room
        self._by_name[room.name.lower()] = room
        return True

    def forget(self, room_id: int) -> None:
        self.expected.discard(room_id)
        room = self._by_id.pop(room_id, None)
        if room is not None:
            self._by_name.pop(room.name.lower(), None)
        self.cursors.pop(room_id, None)

    def __contains__(self, room_id: int) -> bool:
        return room_id in self._by_id

    def __iter__(self) -> Iterator[Room]:
        return iter(list(self._by_id.values()))

    def shares(self, room_ids: Set[int]) -> bool:
        """Whether any of ``room_ids`` is a member room, or an expected one (looks through the
        smaller of the two: the check stays cheap however many rooms either side has)."""
        if not self._by_id.keys().isdisjoint(room_ids):
            return True
        return bool(self.expected) and not self.expected.isdisjoint(room_ids)

    def ids(self) -> set[int]:
        """The id of every member room, and of every expected one."""
        return self._by_id.keys() | self.expected

    def by_id(self, room_id: int) -> Room | None:
        return self._by_id.get(room_id)

    def named(self, name: str) -> Room | None:
        """The member room called ``name`` (any case), or None."""
        return self._by_name.get(name.lower())

    def require(self, name: str) -> Room:
        """The member room called ``name``; ``forbidden`` when this user is not a member
        (the same answer whether the room exists or not: private rooms stay secret)."""
        room = self.named(name)
        if room is None:
            raise ProtocolError(ErrorCode.FORBIDDEN, FORBIDDEN_ROOM.format(name))
        return room

    def names(self) -> list[tuple[int, str]]:
        """(id, name) of every member room, for presence notices."""
        return [(room.id, room.name) for room in self._by_id.values()]
