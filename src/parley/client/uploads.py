"""Uploading a file to a Parley server (``POST /api/uploads``, docs/protocol.md section 12).

The file is streamed from disk (aiohttp sends an open file in pieces): a file of any size
costs the client no more memory than a small one. The answer is the upload's
:class:`~parley.protocol.messages.FileInfo`, whose ``id`` goes into ``send``'s ``files``
(or ``profile``'s ``avatar``, for an upload made with ``avatar=True``).
"""

from __future__ import annotations

import ssl
from pathlib import Path
from urllib.parse import quote

import aiohttp
import msgspec

from parley import __version__
from parley.client.errors import ClientError, CommandError, ConnectError
from parley.client.websocket import os_reason
from parley.protocol import messages as m


class _Answer(msgspec.Struct):
    upload: m.FileInfo


async def upload_file(
    http_url: str,
    token: str,
    path: Path,
    *,
    name: str | None = None,
    avatar: bool = False,
    timeout: float = 300.0,  # noqa: ASYNC109 (a per-request limit passed to aiohttp)
    ssl_context: ssl.SSLContext | None = None,
) -> m.FileInfo:
    """Upload the file at ``path`` (named ``name``, by default its file name). Raises
    :class:`CommandError` with the server's error code (``too_large``, ``quota_exceeded``
    ...), :class:`ConnectError` when the server cannot be reached, :class:`ClientError` for
    a file that cannot be read."""
    query = f"name={quote(name or path.name, safe='')}" + ("&avatar=1" if avatar else "")
    url = f"{http_url}/api/uploads?{query}"
    headers = {
        "User-Agent": f"parley/{__version__}",
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/octet-stream",
    }
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise ClientError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.post(
                url, data=handle, headers=headers, ssl=ssl_context if ssl_context else True
            ) as response,
        ):
            body = await response.read()
            if response.status == 201:
                return msgspec.json.decode(body, type=_Answer).upload
            try:
                error = msgspec.json.decode(body, type=dict[str, str])
            except msgspec.DecodeError:
                error = {}
            raise CommandError(
                error.get("error", "http_error"),
                error.get("message", f"the server answered {response.status}"),
            )
    except aiohttp.ClientConnectorError as exc:
        raise ConnectError(url, os_reason(exc.os_error)) from None
    except (aiohttp.ClientError, TimeoutError) as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else str(exc) or type(exc).__name__
        raise ConnectError(url, reason) from None
    finally:
        handle.close()
