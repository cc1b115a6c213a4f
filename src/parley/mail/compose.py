"""One email for everything a user missed in one round of the mailer (no I/O).

Messages due together go in one email: one per user per round, never one per message. The
text is plain (no HTML: nothing of a message can be read as markup), each message with its
room, author and a link that opens the room in the browser client.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from parley.model import EmailDue

#: Characters of a message's text quoted in an email; the link leads to the rest.
QUOTED = 500


def compose(items: Sequence[EmailDue], *, sender: str, base_url: str) -> EmailMessage:
    """The email to ``items[0].address`` about ``items`` (all of one user), oldest first."""
    first = items[0]
    ordered = sorted(items, key=lambda item: (item.message.ts, item.message.mid or 0))
    count = len(ordered)
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = first.address
    mail["Subject"] = (
        f"{count} message{'s' if count != 1 else ''} for you on Parley"
        if count != 1
        else f"{_who(ordered[0])} wrote to you on Parley"
    )
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "parley")
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    lines = [f"Hello {first.user},", "", "While you were away:", ""]
    for item in ordered:
        message = item.message
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(message.ts / 1000))
        text = (message.text or "").strip()
        if len(text) > QUOTED:
            text = text[:QUOTED] + "…"
        lines.append(f"{_where(item)}, {message.user}, {when}:")
        lines.extend("    " + line for line in text.splitlines() or [""])
        lines.extend(f"    [file: {f.name}]" for f in message.files)  # the link shows them
        lines.append(f"    {base_url.rstrip('/')}/#{message.room}")
        lines.append("")
    lines.append(
        "You get these emails for mentions and direct messages that stay unread. "
        "Turn them off in Parley (the email setting), or set a room's notifications to nothing."
    )
    mail.set_content("\n".join(lines))
    return mail


def _where(item: EmailDue) -> str:
    room = item.message.room
    return "a direct message" if room.startswith("dm:") else f"#{room}"


def _who(item: EmailDue) -> str:
    return item.message.user
