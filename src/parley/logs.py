"""Logging set-up shared by every command.

Server logs go to standard output, like the tutorial's ``console.log`` lines, one event per
line. Nothing Parley logs contains message text, passwords or tokens.
"""

from __future__ import annotations

import logging
import sys

LEVELS = ("debug", "info", "warning", "error")


def configure_logging(level: str = "info") -> None:
    """Send every log record at ``level`` or above to standard output."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
