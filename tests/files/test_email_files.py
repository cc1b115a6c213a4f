"""A missed message with files is mailed with their names (not their bytes: the link leads to
them, behind the sign-in)."""

from __future__ import annotations

from parley.mail.compose import compose
from parley.model import EmailDue, Event, EventKind, FileRef


def test_an_email_names_a_messages_files() -> None:
    message = Event(
        room="dm:alice:bob",
        room_id=2,
        seq=3,
        kind=EventKind.MESSAGE,
        user="alice",
        user_id=1,
        ts=1_795_682_910_000,
        mid=30,
        text="",
        files=(FileRef(id="x" * 22, name="plan.pdf", type="application/pdf", size=10),),
    )
    due = EmailDue(user_id=2, user="bob", address="bob@example.com", message=message, attempts=0)
    mail = compose([due], sender="parley@example.com", base_url="https://chat.example.com")
    body = mail.get_content()
    assert "    [file: plan.pdf]" in body
    assert "x" * 22 not in body  # no file URL: the link to the room leads to it
