"""Where the mailer sends: ``--smtp-url`` parsed once, and one send through ``aiosmtplib``.

``smtp://[user[:password]@]host[:port][?from=ADDRESS&starttls=yes]``: plain SMTP (port 25
by default), upgraded with STARTTLS when ``starttls=yes``; ``smtps://`` is TLS from the start
(port 465). ``from`` is the sender (default ``parley@`` the host name).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

#: Seconds one send may take (connect, TLS, the whole dialogue); then it fails and is retried.
SEND_TIMEOUT = 30.0


class SmtpUrlError(ValueError):
    """The ``--smtp-url`` cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    tls: bool = False
    starttls: bool = False

    @classmethod
    def parse(cls, url: str) -> SmtpTarget:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise SmtpUrlError(
                "--smtp-url: give smtp://[user:password@]host[:port][?from=ADDRESS] "
                "(or smtps:// for TLS)"
            )
        query = parse_qs(parts.query)
        sender = query.get("from", [f"parley@{parts.hostname}"])[0]
        if "@" not in sender or any(c in sender for c in "\r\n<>,"):
            raise SmtpUrlError(f"--smtp-url: from={sender!r} is not an email address")
        try:
            port = parts.port
        except ValueError:
            raise SmtpUrlError("--smtp-url: the port is not a number") from None
        tls = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=port or (465 if tls else 25),
            sender=sender,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
            starttls=query.get("starttls", ["no"])[0].lower() in ("yes", "1", "true"),
        )

    async def send(self, message: EmailMessage) -> None:
        """Send one email; raises ``aiosmtplib.SMTPException`` or ``OSError`` when it was not
        accepted."""
        await aiosmtplib.send(
            message,
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            use_tls=self.tls,
            start_tls=self.starttls if not self.tls else False,
            timeout=SEND_TIMEOUT,
        )
