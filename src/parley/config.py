"""The settings of ``parley serve``, in one typed value.

Every setting is a command-line flag with an environment variable (``PARLEY_<NAME>``); the
flag wins. ``cli.py`` builds a :class:`ServeSettings` from them and :meth:`ServeSettings.check`
refuses impossible combinations with one line before anything starts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from parley.chat.auth import DEFAULT_SESSION_TTL, HashCost
from parley.protocol.codec import DEFAULT_MAX_TEXT


class SettingsError(Exception):
    """A setting that cannot work; the message is one line for the operator."""


def hash_cost_from_environment() -> HashCost:
    """Argon2id parameters: RFC 9106's defaults unless ``PARLEY_ARGON2_TIME_COST`` /
    ``PARLEY_ARGON2_MEMORY_KIB`` say otherwise (the test suite lowers them to run faster;
    never lower them in production)."""
    default = HashCost()
    try:
        return HashCost(
            time_cost=int(os.environ.get("PARLEY_ARGON2_TIME_COST", default.time_cost)),
            memory_kib=int(os.environ.get("PARLEY_ARGON2_MEMORY_KIB", default.memory_kib)),
        )
    except ValueError:
        raise SettingsError("PARLEY_ARGON2_TIME_COST and _MEMORY_KIB must be integers") from None


@dataclass(frozen=True, slots=True)
class ServeSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    #: SQLite file (created if missing).
    db: Path = Path("parley.db")
    max_message_size: int = 64 * 1024
    max_text: int = DEFAULT_MAX_TEXT
    registration_open: bool = True
    guests: bool = True
    session_ttl: float = DEFAULT_SESSION_TTL
    auth_timeout: float = 10.0
    #: Seconds between checks that connected sessions are still valid (signed out elsewhere,
    #: expired, or their account disabled by the operator).
    session_check: float = 30.0
    log_level: str = "info"
    hash_cost: HashCost = field(default_factory=HashCost)

    def check(self) -> None:
        """Raise :class:`SettingsError` for settings that cannot work together."""
        if self.max_text + 1024 > self.max_message_size:
            raise SettingsError(
                f"--max-message-size ({self.max_message_size} bytes) must leave room for a "
                f"message of --max-text ({self.max_text}) characters plus 1 KiB of JSON"
            )
        parent = self.db.expanduser().resolve().parent
        if not parent.is_dir():
            raise SettingsError(f"--db {self.db}: the folder {parent} does not exist")
