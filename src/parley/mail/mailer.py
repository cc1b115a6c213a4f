"""The mailer: every round, claim what is due from the store, send one email per user, and
record each outcome. One runs in every ``parley serve`` started with ``--smtp-url``; several
processes share the work without sending anything twice (the store's outbox decides who sends
what, see :mod:`parley.store.sql.email_ops`).

Nothing is lost: a send that fails (SMTP down, refused, timed out) puts its messages back to
be retried, with a growing pause (up to an hour); a process that dies holding some leaves
them claimed until their lease runs out, then another round takes them. Nothing is sent
twice, except in one window no outbox can close: the SMTP server accepted the email and the
process died before recording it (then it is sent again once the lease runs out).

Bounded: at most :data:`BATCH` messages a round, one email per user a round.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

import aiosmtplib

from parley.clock import now_ms
from parley.mail.compose import compose
from parley.mail.smtp import SmtpTarget
from parley.model import EmailDue
from parley.store.base import Store, StoreError

log = logging.getLogger(__name__)

#: Messages claimed in one round.
BATCH = 200
#: How long a claim lasts (ms): long enough to send a round's emails.
LEASE_MS = 5 * 60_000
#: How far back a round looks for missed messages (ms): a process down longer than this does
#: not mail what was missed before (the unread counts still show it).
LOOKBACK_MS = 7 * 24 * 3_600_000
#: The longest pause before retrying a failed send (ms).
MAX_RETRY_MS = 3_600_000


class Mailer:
    def __init__(
        self,
        store: Store,
        target: SmtpTarget,
        *,
        delay: float,
        base_url: str,
        interval: float | None = None,
    ) -> None:
        self.store = store
        self.target = target
        self.delay_ms = int(delay * 1000)
        self.base_url = base_url
        #: Seconds between rounds: a quarter of the delay, between 0.2 s and 30 s.
        self.interval = interval if interval is not None else min(30.0, max(0.2, delay / 4))
        self.sent = 0
        self.failed = 0

    async def run_forever(self) -> None:
        while True:
            try:
                await self.run_once()
            except StoreError as error:
                log.warning("mailer: the store is unavailable (%s); next round later", error)
            except Exception:
                log.exception("mailer: a round failed")
            await asyncio.sleep(self.interval)

    async def run_once(self) -> int:
        """One round; returns the number of emails sent."""
        now = now_ms()
        due = await self.store.claim_emails(
            now=now,
            due=now - self.delay_ms,
            since=now - self.delay_ms - LOOKBACK_MS,
            lease_until=now + LEASE_MS,
            limit=BATCH,
        )
        by_user: dict[int, list[EmailDue]] = defaultdict(list)
        for item in due:
            by_user[item.user_id].append(item)
        sent = 0
        for user_id, items in by_user.items():
            keys = [(user_id, item.message.mid or 0) for item in items]
            mail = compose(items, sender=self.target.sender, base_url=self.base_url)
            try:
                await self.target.send(mail)
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
                self.failed += 1
                attempts = max(item.attempts for item in items)
                pause = min(MAX_RETRY_MS, int(self.interval * 1000) * 2 ** min(attempts, 20))
                log.warning(
                    "mailer: could not send to user %d (%s); retrying in %d s",
                    user_id,
                    error,
                    pause // 1000,
                    extra={"event": "email_failed"},
                )
                await self.store.finish_emails(
                    keys, sent=False, now=now_ms(), retry_at=now_ms() + pause
                )
                continue
            await self.store.finish_emails(keys, sent=True, now=now_ms(), retry_at=0)
            sent += 1
            self.sent += 1
            log.info(
                "mailer: sent %d message(s) to user %d",
                len(items),
                user_id,
                extra={"event": "email_sent"},
            )
        return sent
