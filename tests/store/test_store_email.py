"""Email for missed mentions and direct messages: the store's outbox and the mailer, on both
stores, against a real SMTP server (aiosmtpd). Delivered once; not sent when read or deleted
first; grouped per user; opt-out and room levels honoured; SMTP down is retried, never lost
and never duplicated; two mailers (as two nodes) and a restart send each message once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from parley.clock import now_ms
from parley.mail.mailer import Mailer
from parley.mail.smtp import SmtpTarget
from parley.model import NotifyLevel, Room, User
from parley.store.base import Store
from tests.helpers.smtp import SmtpServer
from tests.store.conftest import StoreMaker

DELAY = 0.3  # seconds a mention must stay unread


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def mailer(store: Store, smtp: SmtpServer) -> Mailer:
    return Mailer(
        store, SmtpTarget.parse(smtp.url), delay=DELAY, base_url="https://chat.test", interval=0.1
    )


async def due() -> None:
    await asyncio.sleep(DELAY + 0.05)


@pytest.fixture
async def setup(store: Store, room: Room, alice: User, bob: User) -> tuple[Store, Room]:
    await store.join(room.id, bob.id, bob.name)
    assert await store.set_email(bob.id, "bob@mail.test", True)
    return store, room


async def say(store: Store, room: Room, user: User, text: str) -> int:
    posted = (await store.post_message(room.id, user.id, user.name, text)).event
    assert posted.mid is not None
    return posted.mid


async def test_a_missed_mention_is_mailed_once_after_the_delay(
    setup: tuple[Store, Room], alice: User, smtp: SmtpServer
) -> None:
    store, room = setup
    sender = mailer(store, smtp)
    await say(store, room, alice, "@bob are you there?")
    assert await sender.run_once() == 0  # not yet due
    await due()
    assert await sender.run_once() == 1
    [mail] = smtp.wait_for(1)
    assert mail["To"] == "bob@mail.test"
    assert mail["From"] == "parley@test.example"
    assert mail["Subject"] == "Alice wrote to you on Parley"
    body = mail.get_content()
    assert "#room, Alice" in body
    assert "@bob are you there?" in body
    assert "https://chat.test/#room" in body
    await due()
    assert await sender.run_once() == 0  # never twice
    assert len(smtp.received()) == 1


async def test_messages_due_together_go_in_one_email_and_dms_count(
    setup: tuple[Store, Room], alice: User, bob: User, smtp: SmtpServer
) -> None:
    store, room = setup
    direct, _ = await store.open_direct(alice.id, bob.id)
    await say(store, room, alice, "@bob one")
    await say(store, room, alice, "@room two")
    await say(store, direct, alice, "three, in private")
    await say(store, room, alice, "not for bob")
    await due()
    assert await mailer(store, smtp).run_once() == 1
    [mail] = smtp.wait_for(1)
    assert mail["Subject"] == "3 messages for you on Parley"
    body = mail.get_content()
    assert body.index("@bob one") < body.index("@room two") < body.index("three, in private")
    assert "a direct message, Alice" in body
    assert "not for bob" not in body


async def test_nothing_is_sent_when_read_or_deleted_before_the_delay(
    setup: tuple[Store, Room], alice: User, bob: User, smtp: SmtpServer
) -> None:
    store, room = setup
    read = await say(store, room, alice, "@bob read in time")
    events = await store.events_after(room.id, 0, 100)
    await store.mark_read(room.id, bob.id, events[-1].seq)
    gone = await say(store, room, alice, "@bob deleted in time")
    await store.delete_message(room.id, alice.id, alice.name, gone, any_author=False)
    edited = await say(store, room, alice, "@bob mention edited away")
    await store.edit_message(room.id, alice.id, alice.name, edited, "nobody", any_author=False)
    await due()
    assert await mailer(store, smtp).run_once() == 0
    assert smtp.received() == []
    assert read < gone < edited


async def test_opt_out_levels_and_mutes_are_honoured(
    setup: tuple[Store, Room], alice: User, bob: User, carol: User, smtp: SmtpServer
) -> None:
    store, room = setup
    await store.join(room.id, carol.id, carol.name)
    await store.set_email(carol.id, "carol@mail.test", False)  # turned off
    await store.set_notify(room.id, bob.id, NotifyLevel.NONE, 0)
    await say(store, room, alice, "@bob @carol hello")
    await due()
    assert await mailer(store, smtp).run_once() == 0
    # Muted until the future: nothing either; a mute that has ended: mailed.
    await store.set_notify(room.id, bob.id, NotifyLevel.MENTIONS, 4_000_000_000_000)
    await say(store, room, alice, "@bob muted")
    await due()
    assert await mailer(store, smtp).run_once() == 0
    await store.set_notify(room.id, bob.id, NotifyLevel.MENTIONS, 1)
    await due()
    assert await mailer(store, smtp).run_once() == 1
    [mail] = smtp.wait_for(1)
    assert "@bob muted" in mail.get_content()
    assert "@bob @carol hello" in mail.get_content()  # level back to mentions: still missed
    # No address: nothing.
    await store.set_email(bob.id, None, True)
    await say(store, room, alice, "@bob no address")
    await due()
    assert await mailer(store, smtp).run_once() == 0


async def test_smtp_down_is_retried_never_lost_never_duplicated(
    setup: tuple[Store, Room], alice: User, smtp: SmtpServer
) -> None:
    store, room = setup
    sender = mailer(store, smtp)
    await say(store, room, alice, "@bob while the mail is down")
    await due()
    smtp.stop()
    assert await sender.run_once() == 0
    assert sender.failed == 1
    assert await sender.run_once() == 0  # waiting for its retry time, not resent at once
    smtp.start()
    for _ in range(50):  # retried within its pause (0.1 s doubling)
        if await sender.run_once():
            break
        await asyncio.sleep(0.1)
    assert len(smtp.wait_for(1)) == 1
    await asyncio.sleep(0.5)
    assert await sender.run_once() == 0
    assert len(smtp.received()) == 1


async def test_two_mailers_racing_send_each_message_once(
    store_maker: StoreMaker,
    setup: tuple[Store, Room],
    alice: User,
    smtp: SmtpServer,
) -> None:
    store, room = setup
    other = store_maker()  # a second process's store on the same database
    await other.start()
    try:
        for i in range(30):
            await say(store, room, alice, f"@bob number {i}")
        await due()
        first, second = mailer(store, smtp), mailer(other, smtp)
        sent = await asyncio.gather(*(m.run_once() for m in (first, second, first, second)))
        assert sum(sent) >= 1
        got = smtp.wait_for(sum(sent))
        texts = [line for mail in got for line in mail.get_content().splitlines()]
        said = [line.strip() for line in texts if "@bob number" in line]
        assert sorted(said) == sorted(f"@bob number {i}" for i in range(30))  # once each
    finally:
        await other.close()


async def test_a_restart_in_the_middle_sends_once(
    store_maker: StoreMaker, setup: tuple[Store, Room], alice: User, smtp: SmtpServer
) -> None:
    """A mailer claimed messages and died before sending: after its lease another process
    sends them, once; what the first one already sent is not sent again."""
    store, room = setup
    await say(store, room, alice, "@bob first")
    await due()
    assert await mailer(store, smtp).run_once() == 1  # sent and recorded
    await say(store, room, alice, "@bob second")
    await due()
    now = now_ms()
    claimed = await store.claim_emails(
        now=now, due=now - 300, since=0, lease_until=now + 300, limit=10
    )
    assert [item.message.text for item in claimed] == ["@bob second"]  # then "it died"
    restarted = store_maker()
    await restarted.start()
    try:
        again = mailer(restarted, smtp)
        assert await again.run_once() == 0  # still claimed by the dead one
        await asyncio.sleep(0.35)  # its lease runs out
        assert await again.run_once() == 1
        got = smtp.wait_for(2)
        assert [m.get_content().count("@bob") for m in got] == [1, 1]
        assert "@bob second" in got[1].get_content()
        await due()
        assert await again.run_once() == 0
        assert len(smtp.received()) == 2
    finally:
        await restarted.close()
