"""The one clock Parley records times with: milliseconds since the epoch."""

from __future__ import annotations

import time


def now_ms() -> int:
    """Milliseconds since the epoch (the server's wall clock)."""
    return int(time.time() * 1000)
