"""Signing in and out over Parley's account API (``POST /api/login|register|logout``).

The WebSocket is then opened with the session token in ``Authorization: Bearer``, as
``server/api.py`` describes. This uses aiohttp's HTTP client (aiohttp is already one of
Parley's dependencies); every failure becomes a one-line :class:`ClientError`.
"""

from __future__ import annotations

import contextlib
import ssl
from typing import Any

import aiohttp

from parley import __version__
from parley.client.errors import AuthError, ClientError, ConnectError
from parley.client.websocket import os_reason


async def _post(
    url: str,
    body: dict[str, Any] | None,
    *,
    token: str | None = None,
    timeout: float,  # noqa: ASYNC109 (a per-request limit passed to aiohttp)
    ssl_context: ssl.SSLContext | None = None,
) -> tuple[int, dict[str, Any]]:
    headers = {"User-Agent": f"parley/{__version__}"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.post(
                url, json=body, headers=headers, ssl=ssl_context if ssl_context else True
            ) as response,
        ):
            data: Any = {}
            if response.content_type == "application/json":
                with contextlib.suppress(ValueError, aiohttp.ContentTypeError):
                    data = await response.json()
            return response.status, data if isinstance(data, dict) else {}
    except aiohttp.ClientConnectorError as exc:
        raise ConnectError(url, os_reason(exc.os_error)) from None
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else str(exc) or type(exc).__name__
        raise ConnectError(url, reason) from None


async def sign_in(
    http_url: str,
    username: str,
    password: str,
    *,
    register: bool = False,
    timeout: float = 10.0,  # noqa: ASYNC109
    ssl_context: ssl.SSLContext | None = None,
) -> str:
    """Log in (or create the account, with ``register``); return the session token."""
    action = "register" if register else "login"
    url = f"{http_url}/api/{action}"
    status, body = await _post(
        url,
        {"username": username, "password": password},
        timeout=timeout,
        ssl_context=ssl_context,
    )
    token = body.get("token")
    if status in (200, 201) and isinstance(token, str):
        return token
    message = body.get("message")
    if isinstance(message, str) and 400 <= status < 500:
        verb = "register" if register else "sign in as"
        raise AuthError(f"cannot {verb} {username}: {message}")
    if status == 503:
        raise ConnectError(url, str(message or "the server is unavailable"))
    raise ClientError(f"{url} answered {status}: is this a Parley server?")


async def sign_out(
    http_url: str,
    token: str,
    *,
    timeout: float = 5.0,  # noqa: ASYNC109
    ssl_context: ssl.SSLContext | None = None,
) -> None:
    """End the session of ``token`` (best effort: a server that is gone ended it anyway)."""
    with contextlib.suppress(ClientError):
        # A JSON body, even an empty one: the server refuses a logout that is not JSON.
        await _post(
            f"{http_url}/api/logout", {}, token=token, timeout=timeout, ssl_context=ssl_context
        )
