"""The reply budget: how many bytes one list reply, or one page of a replay, may hold. No I/O.

A reply is queued whole before the connection writes any of it, and a client is disconnected
when what it has not read passes the send buffer limit (1 MiB by default). A list that grows
with the server (history of long messages, a room's members, the public rooms, a backlog to
replay) must therefore be cut into pages well below that limit, with a continuation the
client follows: ``more`` and a cursor. Every list reply and replay page is cut here, at one
budget, so the bound is said once.

A single item is always sent, even when it alone is over the budget: one event is at most
one message's worth (the message size limit), and a page that could hold nothing would never
finish.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec

#: The most bytes of JSON one list reply, or one page of a replay, carries (its items; the
#: envelope around them is a few hundred bytes more).
REPLY_BUDGET = 256 * 1024

_encoder = msgspec.json.Encoder()


def fitting(sizes: Iterable[int], budget: int = REPLY_BUDGET) -> int:
    """How many of the leading items, of these encoded sizes, fit in ``budget`` bytes
    (at least one, when there is one)."""
    total = 0
    count = 0
    for size in sizes:
        total += size + 1  # the comma between items
        if count and total > budget:
            break
        count += 1
    return count


def encoded_size(item: object) -> int:
    """The bytes of ``item`` (a message field: a struct, a string) in the JSON we send."""
    return len(_encoder.encode(item))


def fitting_items(items: Sequence[object], budget: int = REPLY_BUDGET) -> int:
    """How many of the leading ``items`` fit in ``budget`` bytes of JSON (see :func:`fitting`)."""
    return fitting((encoded_size(item) for item in items), budget)
