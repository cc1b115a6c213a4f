"""Logging set-up shared by every command.

Server logs go to standard output, like the tutorial's ``console.log`` lines, one event per
line: readable text by default, or JSON lines (``--log-format json``) for log collectors, with
the structured fields each event carries (``event``, ``remote``, ``code``, ``user`` ...).

Nothing Parley logs contains message text, passwords or tokens: log calls pass ids, names of
events and codes, never payloads, and the access log records the path without its query.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web import BaseRequest, StreamResponse

LEVELS = ("debug", "info", "warning", "error")

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the record's extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class ClientErrorFilter(logging.Filter):
    """aiohttp logs a malformed request (too many headers, a line too long, garbage) with a
    traceback at ERROR; it is the client's fault, not ours, so it becomes one INFO line."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            first_line = (exc.message or type(exc).__name__).strip().splitlines()[0]
            record.msg = "bad HTTP request from %s: %s"
            remote = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
            record.args = (remote, first_line[:200])
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.exc_info = None
            record.exc_text = None
            record.event = "bad_request"
        return True


def configure_logging(level: str = "info", fmt: str = "text") -> None:
    """Send every log record at ``level`` or above to standard output."""
    handler = logging.StreamHandler(sys.stdout)
    if fmt == "json":
        formatter: logging.Formatter = JsonFormatter()
        formatter.converter = time.gmtime
    else:
        formatter = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    server_logger = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, ClientErrorFilter) for f in server_logger.filters):
        server_logger.addFilter(ClientErrorFilter())


class AccessLogger(AbstractAccessLogger):
    """One line per HTTP request: method, path (never the query), status, time, client."""

    def log(self, request: BaseRequest, response: StreamResponse, seconds: float) -> None:
        self.logger.info(
            '%s "%s %s" %d %.1fms',
            request.remote,
            request.method,
            request.path,
            response.status,
            seconds * 1000,
            extra={
                "event": "http",
                "remote": request.remote,
                "method": request.method,
                "path": request.path,
                "status": response.status,
                "ms": round(seconds * 1000, 2),
            },
        )
