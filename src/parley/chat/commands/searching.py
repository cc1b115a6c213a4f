"""``search``, and ``history`` around a seq (how a client shows a search result in context).

``search`` parses the query (``search/query.py``: a ``bad_request`` says what is wrong with
it), decides which rooms it may read, and asks the store, which enforces membership again
in its one statement. Rooms named by ``in:`` or ``room`` must be readable by the user (a
member room, or a public room: naming one asks for it); otherwise the same ``forbidden`` as
``history`` gives, whether the room exists or not. Each result carries its highlight ranges
and the message's files (as its event does: a client shows them without a second request).

Both replies keep to the reply budget (``protocol/budget.py``): a page cut short says
``more`` with its cursor, never drops results silently.
"""

from __future__ import annotations

from parley.chat.signed_in import SignedIn
from parley.model import Event
from parley.protocol import messages as m
from parley.protocol.budget import REPLY_BUDGET, encoded_size, fitting_items
from parley.protocol.codec import event_message, file_info
from parley.protocol.errors import ErrorCode, ProtocolError
from parley.search.highlight import highlight
from parley.search.query import QueryError, SearchQuery, parse


async def search(ctx: SignedIn, command: m.Search) -> None:
    try:
        query = parse(command.query)
    except QueryError as exc:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"search: {exc}") from None
    public = command.public
    room_ids: list[int] = []
    for name in (*query.rooms, *([command.room] if command.room else [])):
        room = await ctx.visible_room(name)
        room_ids.append(room.id)
        public = public or room.id not in ctx.rooms
    page = await ctx.store.search(
        ctx.user_id,
        query,
        public=public,
        room_ids=room_ids,
        before=command.before,
        limit=command.limit + 1,
    )
    found = page.events
    more = len(found) > command.limit
    results = [_result(event, query) for event in found[: command.limit]]
    fit = fitting_items(results)
    if fit < len(results):
        results, more = results[:fit], True
    ctx.reply(
        m.SearchReply(
            re=command.id,
            results=results,
            more=more,
            before=results[-1].mid if more and results else None,
            pending=page.pending,
        )
    )


def _result(event: Event, query: SearchQuery) -> m.SearchResult:
    text = event.text or ""
    assert event.mid is not None  # a message has its id
    return m.SearchResult(
        room=event.room,
        seq=event.seq,
        mid=event.mid,
        user=event.user,
        ts=event.ts,
        text=text,
        edited=event.edited,
        highlight=highlight(text, query),
        files=[file_info(f) for f in event.files] or None,
    )


async def history_around(ctx: SignedIn, command: m.History) -> None:
    """The events around ``command.around`` (it included, when it exists): half of
    ``limit`` older, the rest newer; ``more`` and ``newer`` say whether there is more on
    each side. Cut to the reply budget from the end farthest from ``around``."""
    assert command.around is not None
    if command.before is not None:
        raise ProtocolError(ErrorCode.BAD_REQUEST, "history: give before or around, not both")
    room = await ctx.visible_room(command.room)
    around = command.around
    older_wanted = command.limit // 2 + 1  # the event itself, and half of the rest
    older = await ctx.store.events_before(room.id, around + 1, older_wanted + 1)
    more = len(older) > older_wanted
    if more:
        older = older[1:]
    newer_wanted = command.limit - len(older)
    newer_events = await ctx.store.events_after(room.id, around, newer_wanted + 1)
    newer = len(newer_events) > newer_wanted
    events = [event_message(event) for event in older + newer_events[:newer_wanted]]
    sizes = [encoded_size(event) + 1 for event in events]
    total = sum(sizes)
    while total > REPLY_BUDGET and len(events) > 1:
        if around - events[0].seq > events[-1].seq - around:
            total -= sizes.pop(0)
            events.pop(0)
            more = True
        else:
            total -= sizes.pop()
            events.pop()
            newer = True
    ctx.reply(m.HistoryReply(re=command.id, room=room.name, events=events, more=more, newer=newer))
