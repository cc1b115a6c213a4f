"""What events read back from the store carry of their messages' current state, besides their
own row: reactions, and threads' summaries (written once for every SQL engine).

A ``message`` row holds its text, edits, deletion, pin and its own thread counters; what is
spread over other rows is added here, for a whole page of events in two queries:

* each message's **reactions** (``reactions`` rows): per emoji, by first use, the total and
  the first :data:`LISTED_REACTORS` who reacted; a ``reaction`` event gets its emoji's total
  now as its ``count``;
* each **thread's summary** (``replies``, ``last_reply_ts``, ``repliers``), on its root and on
  the events of it (a reply, the delete of one): clients set the root's summary from any of
  them, so a replay and a live stream end in the same state (docs/protocol.md).

Both are bounded per message (the emoji per message by the ``react`` limit, the names by
:data:`LISTED_REACTORS` and :data:`LISTED_REPLIERS`), so a page stays within the reply budget
that its messages' texts allow.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Final

from parley.model import Event, EventKind, Reaction
from parley.store.sql.engine import Connection

#: Names listed per emoji of a message (``count`` says how many reacted in all).
LISTED_REACTORS: Final = 10

#: Repliers listed in a thread's summary, most recent first.
LISTED_REPLIERS: Final = 5

#: Ids per ``IN (...)`` list: well under both engines' limits on placeholders.
_CHUNK: Final = 500


@dataclasses.dataclass(frozen=True, slots=True)
class Summary:
    """A thread's summary, as a root carries it."""

    replies: int
    last_reply_ts: int | None
    repliers: tuple[str, ...]


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start : start + _CHUNK]


async def reactions_of(conn: Connection, message_ids: Iterable[int]) -> dict[int, list[Reaction]]:
    """The current reactions of each message that has some, each emoji in the order it was
    first used, with its first :data:`LISTED_REACTORS` users."""
    found: dict[int, list[Reaction]] = {}
    for chunk in _chunks(message_ids):
        placeholders = ", ".join("?" for _ in chunk)  # only placeholders
        rows = await conn.fetch(
            "SELECT t.message_id, t.emoji, t.total, u.name FROM ("  # noqa: S608
            " SELECT x.message_id, x.emoji, x.user_id, x.seq,"
            "  COUNT(*) OVER (PARTITION BY x.message_id, x.emoji) AS total,"
            "  MIN(x.seq) OVER (PARTITION BY x.message_id, x.emoji) AS first_seq,"
            "  ROW_NUMBER() OVER (PARTITION BY x.message_id, x.emoji ORDER BY x.seq) AS rank"
            f" FROM reactions AS x WHERE x.message_id IN ({placeholders})"
            ") AS t JOIN users AS u ON u.id = t.user_id WHERE t.rank <= ?"
            " ORDER BY t.message_id, t.first_seq, t.emoji, t.seq",
            *chunk,
            LISTED_REACTORS,
        )
        current: tuple[int, str] | None = None
        names: list[str] = []
        total = 0
        for row in [*rows, None]:
            at = None if row is None else (row["message_id"], row["emoji"])
            if at != current and current is not None:
                found.setdefault(current[0], []).append(
                    Reaction(emoji=current[1], count=total, users=tuple(names))
                )
                names = []
            if row is None:
                break
            current = at
            total = row["total"]
            names.append(row["name"])
    return found


async def summaries_of(conn: Connection, root_ids: Iterable[int]) -> dict[int, Summary]:
    """The summary of each of these threads (roots that never had a reply: none)."""
    found: dict[int, Summary] = {}
    for chunk in _chunks(root_ids):
        placeholders = ", ".join("?" for _ in chunk)  # only placeholders
        roots = await conn.fetch(
            "SELECT id, reply_count, last_reply_ts FROM events"  # noqa: S608
            f" WHERE id IN ({placeholders}) AND last_reply_ts IS NOT NULL",
            *chunk,
        )
        if not roots:
            continue
        rows = await conn.fetch(
            "SELECT t.thread, u.name FROM ("  # noqa: S608
            " SELECT f.thread, f.user_id, f.replied_seq, ROW_NUMBER() OVER"
            "  (PARTITION BY f.thread ORDER BY f.replied_seq DESC) AS rank"
            f" FROM thread_follows AS f WHERE f.thread IN ({placeholders})"
            "  AND f.replied_seq IS NOT NULL"
            ") AS t JOIN users AS u ON u.id = t.user_id WHERE t.rank <= ?"
            " ORDER BY t.thread, t.replied_seq DESC",
            *chunk,
            LISTED_REPLIERS,
        )
        repliers: dict[int, list[str]] = {}
        for row in rows:
            repliers.setdefault(row["thread"], []).append(row["name"])
        for root in roots:
            found[root["id"]] = Summary(
                replies=root["reply_count"],
                last_reply_ts=root["last_reply_ts"],
                repliers=tuple(repliers.get(root["id"], ())),
            )
    return found


def with_summary(event: Event, summary: Summary | None) -> Event:
    """``event`` carrying the thread summary ``summary`` (none: as it is)."""
    if summary is None:
        return event
    return dataclasses.replace(
        event,
        replies=summary.replies,
        last_reply_ts=summary.last_reply_ts,
        repliers=summary.repliers,
    )


def _thread_of(event: Event) -> int | None:
    """The thread whose summary ``event`` carries: its own (a root), or its root's."""
    if event.thread is not None:
        return event.thread
    if event.kind is EventKind.MESSAGE and event.last_reply_ts is not None:
        return event.mid
    return None


async def with_current_state(conn: Connection, events: Sequence[Event]) -> list[Event]:
    """``events`` with their messages' reactions and their threads' summaries as they are
    now (see the module docstring)."""
    reacted = {
        event.mid
        for event in events
        if event.mid is not None
        and not event.deleted
        and event.kind in (EventKind.MESSAGE, EventKind.REACTION)
    }
    threads = {thread for event in events if (thread := _thread_of(event)) is not None}
    if not reacted and not threads:
        return list(events)
    reactions = await reactions_of(conn, reacted) if reacted else {}
    summaries = await summaries_of(conn, threads) if threads else {}
    result = []
    for event in events:
        thread = _thread_of(event)
        if thread is not None:
            event = with_summary(event, summaries.get(thread))
        if event.kind is EventKind.MESSAGE and event.mid in reactions:
            event = dataclasses.replace(event, reactions=tuple(reactions[event.mid]))
        elif event.kind is EventKind.REACTION:
            totals = {r.emoji: r.count for r in reactions.get(event.mid or 0, ())}
            event = dataclasses.replace(event, count=totals.get(event.emoji or "", 0))
        result.append(event)
    return result


__all__ = [
    "LISTED_REACTORS",
    "LISTED_REPLIERS",
    "Summary",
    "reactions_of",
    "summaries_of",
    "with_current_state",
    "with_summary",
]
