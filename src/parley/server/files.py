"""Serving files: ``GET /files/{id}/{name}``, ``/thumbs/{id}``, ``/avatars/{id}`` (docs/protocol.md,
section 12; the policy is docs/security.md's).

Every request is checked: the reader's session, then one query that says whether this reader
may fetch this upload now (``Store.readable_upload``: its uploader before it is sent, a member
of its room after; a deleted message's files have no row any more). Every refusal but a
missing session is the same ``404``, so nothing tells a private file from no file.

What is served is made inert: only the four image types, re-encoded by the server, are shown
inline; everything else is an attachment; ``nosniff`` stops a browser from guessing another
type, and the sandboxing CSP stops a file opened in a tab from running anything. Responses
may be kept by the browser (``private``) but are checked again on every use (``no-cache``,
answered ``304`` when the ``ETag``, the content's SHA-256, still matches), so access ends as
soon as it is lost. One ``Range`` is honoured (``206``), streamed from the blob store.
"""

from __future__ import annotations

import logging
import re
from typing import Final
from urllib.parse import quote

from aiohttp import web

from parley.chat.auth import Accounts
from parley.files.blobs import BlobStore
from parley.files.sniff import IMAGE_TYPES
from parley.model import Upload
from parley.server.api import error_response
from parley.server.cookies import SessionCookie
from parley.store.base import StoreError

log = logging.getLogger(__name__)

THUMB_TYPE: Final = "image/webp"
_RANGE = re.compile(r"\Abytes=(\d*)-(\d*)\Z")
_ID = re.compile(r"\A[A-Za-z0-9_\-]{22}\Z")

#: Headers of every file response.
SAFE_HEADERS: Final = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "private, no-cache",
    "Accept-Ranges": "bytes",
}


def byte_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """The ``[start, end)`` a ``Range`` header asks of ``size`` bytes: None for the whole file
    (no header, several ranges, or one that cannot be read), ``"unsatisfiable"`` for one that
    starts past the end."""
    if header is None:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None
    first, last = match.group(1), match.group(2)
    if not first and not last:
        return None
    if not first:  # the last n bytes
        n = int(last)
        if n == 0:
            return "unsatisfiable"
        return max(0, size - n), size
    start = int(first)
    if start >= size:
        return "unsatisfiable"
    end = size if not last else min(size, int(last) + 1)
    if end <= start:
        return None
    return start, end


def disposition(name: str, inline: bool) -> str:
    return ("inline" if inline else "attachment") + "; filename*=UTF-8''" + quote(name, safe="")


class FileRoutes:
    """The handlers (see the module docstring)."""

    def __init__(self, accounts: Accounts, blobs: BlobStore, *, cookie: SessionCookie) -> None:
        self.accounts = accounts
        self.store = accounts.store
        self.blobs = blobs
        self.cookie = cookie

    def add_to(self, app: web.Application) -> None:
        app.router.add_get("/files/{id}/{name}", self.file)
        app.router.add_get("/thumbs/{id}", self.thumb)
        app.router.add_get("/avatars/{id}", self.avatar)

    async def _readable(self, request: web.Request) -> Upload | web.Response:
        token = self.cookie.token(request)
        try:
            session = await self.accounts.authenticate(token) if token else None
            if session is None:
                return error_response("unauthorized", "sign in first")
            upload_id = request.match_info["id"]
            found = None
            if _ID.match(upload_id):
                found = await self.store.readable_upload(upload_id, session.user.id)
        except StoreError:
            return error_response("unavailable", "the server cannot read files now")
        if found is None:
            return _not_found()
        return found

    async def file(self, request: web.Request) -> web.StreamResponse:
        found = await self._readable(request)
        if isinstance(found, web.Response):
            return found
        inline = found.file.type in IMAGE_TYPES
        return await self._serve(request, found.hash, found.file.type, found.file.name, inline)

    async def thumb(self, request: web.Request) -> web.StreamResponse:
        found = await self._readable(request)
        if isinstance(found, web.Response):
            return found
        if found.thumb_hash is None:
            return _not_found()
        return await self._serve(request, found.thumb_hash, THUMB_TYPE, "thumbnail.webp", True)

    async def avatar(self, request: web.Request) -> web.StreamResponse:
        found = await self._readable(request)
        if isinstance(found, web.Response):
            return found
        if not found.avatar or found.thumb_hash is None:
            return _not_found()
        return await self._serve(request, found.thumb_hash, THUMB_TYPE, "avatar.webp", True)

    async def _serve(
        self, request: web.Request, digest: str, kind: str, name: str, inline: bool
    ) -> web.StreamResponse:
        try:
            size = await self.blobs.size(digest)
        except StoreError:
            return error_response("unavailable", "the server cannot read files now")
        if size is None:  # collected meanwhile
            return _not_found()
        etag = f'"{digest}"'
        headers = dict(SAFE_HEADERS, ETag=etag)
        if etag in _tags(request.headers.get("If-None-Match")):
            return web.Response(status=304, headers=headers)
        headers["Content-Type"] = kind
        headers["Content-Disposition"] = disposition(name, inline)
        wanted = request.headers.get("Range")
        if_range = request.headers.get("If-Range")
        if if_range is not None and if_range.strip() != etag:
            wanted = None
        chosen = byte_range(wanted, size)
        if isinstance(chosen, str):  # unsatisfiable
            headers["Content-Range"] = f"bytes */{size}"
            return web.Response(status=416, headers=headers)
        start, end = (0, size) if chosen is None else chosen
        response = web.StreamResponse(status=200 if chosen is None else 206, headers=headers)
        if chosen is not None:
            response.headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        response.content_length = end - start
        await response.prepare(request)
        if request.method != "HEAD":
            async for chunk in self.blobs.read(digest, start, end):
                await response.write(chunk)
        await response.write_eof()
        return response


def _tags(header: str | None) -> set[str]:
    if not header:
        return set()
    return {tag.strip().removeprefix("W/") for tag in header.split(",")}


def _not_found() -> web.Response:
    return error_response("not_found", "no such file")
