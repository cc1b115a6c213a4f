"""Uploading and fetching files over HTTP in tests (aiohttp's client)."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import aiohttp


async def upload(
    base_url: str,
    token: str | None,
    data: bytes,
    name: str = "file.bin",
    *,
    headers: dict[str, str] | None = None,
    query: str | None = None,
) -> tuple[int, dict[str, Any]]:
    """POST ``data`` to /api/uploads; the status and the JSON answer."""
    sent = {"Content-Type": "application/octet-stream"}
    if token:
        sent["Authorization"] = f"Bearer {token}"
    sent.update(headers or {})
    url = f"{base_url}/api/uploads?" + (query if query is not None else f"name={quote(name)}")
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            url, data=io.BytesIO(data) if isinstance(data, bytes) else data, headers=sent
        ) as response,
    ):
        return response.status, await response.json(content_type=None)


async def fetch(
    base_url: str,
    token: str | None,
    path: str,
    headers: dict[str, str] | None = None,
    method: str = "GET",
) -> tuple[int, Mapping[str, str], bytes]:
    """GET (or HEAD) ``path``; the status, headers and body."""
    sent = dict(headers or {})
    if token:
        sent["Authorization"] = f"Bearer {token}"
    async with (
        aiohttp.ClientSession(auto_decompress=False) as session,
        session.request(method, base_url + path, headers=sent) as response,
    ):
        return response.status, response.headers.copy(), await response.read()
