"""What aiohttp logs, made Parley's: one line per HTTP request, one line per malformed one.

:class:`AccessLogger` is the access log's line (``--access-log``); :func:`quiet_client_errors`
turns aiohttp's traceback for a request it could not parse into one INFO line. Formatting and
levels are set up by :func:`parley.logs.configure_logging`, like every other log.
"""

from __future__ import annotations

import logging

from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web import BaseRequest, StreamResponse


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


def quiet_client_errors() -> None:
    """Install :class:`ClientErrorFilter` on aiohttp's server logger (once)."""
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
