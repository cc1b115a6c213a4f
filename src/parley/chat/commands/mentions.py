"""``mentions``: the messages that mention the user, newest first, a page at a time.

A page holds at most ``limit`` messages and at most :data:`~parley.protocol.budget.REPLY_BUDGET`
bytes of them (a page of long messages is shorter; ``more`` says there is more either way),
so the reply is bounded whatever the user was sent. Messages come in their current state
(edited text; a deleted message or one whose mention an edit removed is not listed), from
rooms the user is a member of now.
"""

from __future__ import annotations

from parley.chat.signed_in import SignedIn
from parley.protocol import messages as m
from parley.protocol.budget import fitting_items
from parley.protocol.codec import event_message


async def mentions(ctx: SignedIn, command: m.Mentions) -> None:
    found = await ctx.store.mentions_of(ctx.user_id, command.before, command.limit + 1)
    events = [event_message(event) for event in found[: command.limit]]
    fits = fitting_items(events)
    ctx.reply(
        m.MentionsReply(
            re=command.id,
            events=events[:fits],
            more=len(found) > fits,
        )
    )
