"""``POST /api/uploads``: a file, streamed to the blob store (docs/protocol.md, section 12).

The body is the file's bytes (``Content-Type: application/octet-stream``, which no cross-site
form can send; an ``Origin`` must pass the origin policy, as for the account API). It is
never held whole in memory: it goes to a spool file a chunk at a time, hashed on the way, and
is refused as soon as it passes ``--max-upload`` (from ``Content-Length`` before anything is
read, when there is one). Its type is sniffed from its first bytes (``files/sniff.py``); an
image is re-encoded and thumbnailed in a thread (``files/images.py``), at most
:data:`DECODING` at once, off the event loop. Then the served bytes go into the blob store
(``files/storing.py``, which imports share) and the upload's row into the store, which checks
the quota under the user's lock.

A body cut off half-way (the client went away) ends in the ``finally`` that removes the spool
file: nothing was put in the blob store yet, nothing is left behind.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections import Counter
from pathlib import Path
from typing import Final

import msgspec
from aiohttp import ClientPayloadError, web

from parley.chat.auth import Accounts
from parley.clock import now_ms
from parley.config import FileSettings
from parley.files.blobs import BlobStore
from parley.files.images import NotAnImage
from parley.files.names import name_problem
from parley.files.sizes import readable, readable_pair
from parley.files.sniff import HEAD_BYTES
from parley.files.storing import store_spooled
from parley.model import Session, Upload
from parley.protocol.codec import file_info
from parley.server.api import error_response
from parley.server.cookies import SessionCookie
from parley.server.origins import Origins
from parley.store.base import QuotaExceeded, Store, StoreError

log = logging.getLogger(__name__)

#: Uploads one user may have in progress on one server process.
IN_PROGRESS: Final = 4
#: Images decoded at once by one server process (each in a thread).
DECODING: Final = 2
#: Bytes gathered before a write to the spool file (one thread hop per write): what one upload
#: holds in memory, whatever the file's size (bench/files.py).
WRITE_BUFFER: Final = 256 * 1024


class Refused(Exception):
    """An upload refused: its ``error`` code and message (the status follows the code), and
    the exact numbers behind a size error (``extra``: bytes, for programs)."""

    def __init__(self, code: str, message: str, **extra: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra

    def response(self) -> web.Response:
        return error_response(self.code, self.message, self.extra)


class UploadRoutes:
    """The upload handler (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        blobs: BlobStore,
        accounts: Accounts,
        settings: FileSettings,
        *,
        origins: Origins,
        cookie: SessionCookie,
    ) -> None:
        self.store = store
        self.blobs = blobs
        self.accounts = accounts
        self.settings = settings
        self.origins = origins
        self.cookie = cookie
        self.decoding = asyncio.Semaphore(DECODING)
        #: Uploads in progress per user id.
        self.in_progress: Counter[int] = Counter()

    def add_to(self, app: web.Application) -> None:
        app.router.add_post("/api/uploads", self.upload)

    async def upload(self, request: web.Request) -> web.StreamResponse:
        if request.content_type != "application/octet-stream":
            return _closing(
                error_response(
                    "unsupported_media_type",
                    "send the file's bytes with Content-Type: application/octet-stream",
                )
            )
        if not self.origins.allows(request):
            return _closing(
                error_response(
                    "forbidden_origin", "uploads from this page's origin are not accepted"
                )
            )
        token = self.cookie.token(request)
        try:
            session = await self.accounts.authenticate(token) if token else None
        except StoreError:
            return _closing(error_response("unavailable", "the server cannot check sessions now"))
        if session is None:
            return _closing(error_response("unauthorized", "sign in first"))
        user_id = session.user.id
        if self.in_progress[user_id] >= IN_PROGRESS:
            return _closing(
                error_response(
                    "rate_limited", f"at most {IN_PROGRESS} uploads at once; wait for one to end"
                )
            )
        self.in_progress[user_id] += 1
        try:
            return await self._receive(request, session)
        except Refused as refused:
            return _closing(refused.response())
        except (StoreError, OSError):  # the database, or the disk (full, unwritable)
            log.warning("an upload could not be stored", exc_info=True)
            return _closing(error_response("unavailable", "the server cannot store files now"))
        finally:
            self.in_progress[user_id] -= 1
            if not self.in_progress[user_id]:
                del self.in_progress[user_id]

    async def _receive(self, request: web.Request, session: Session) -> web.StreamResponse:
        name = request.query.get("name", "")
        problem = name_problem(name)
        if problem is not None:
            raise Refused("bad_request", problem)
        avatar_flag = request.query.get("avatar")
        if avatar_flag not in (None, "1"):
            raise Refused("bad_request", "avatar=1, or no avatar parameter")
        avatar = avatar_flag == "1"
        limit = self.settings.max_upload
        length = request.content_length
        if length is not None and length > limit:
            raise _too_large(length, limit)
        quota = self.settings.upload_quota
        used = await self.store.used_bytes(session.user.id)
        if used + (length or 0) > quota:
            raise _over_quota(used, quota, length or 0)
        spool = await asyncio.to_thread(self.blobs.spool_file)
        try:
            digest, size, head = await self._spool(request, spool, limit)
            if size == 0:
                raise Refused("bad_request", "the file is empty")
            try:
                stored = await store_spooled(
                    self.blobs,
                    spool,
                    digest,
                    size,
                    head,
                    max_pixels=self.settings.max_image_pixels,
                    decoding=self.decoding,
                    avatar=avatar,
                )
            except NotAnImage as exc:
                raise Refused("bad_image", str(exc)) from None
            upload = Upload(
                file=stored.ref(secrets.token_urlsafe(16), name),
                owner_id=session.user.id,
                hash=stored.digest,
                thumb_hash=stored.thumb_hash,
                avatar=avatar,
                created_at=now_ms(),
                message_id=None,
                room_id=None,
            )
            try:
                await self.store.add_upload(upload, quota=quota)
            except QuotaExceeded as exc:
                raise _over_quota(exc.used, quota, stored.size) from None
        finally:
            await asyncio.to_thread(spool.unlink, missing_ok=True)
        log.info(
            "stored an upload",
            extra={
                "event": "upload",
                "user": session.user.name,
                "size": stored.size,
                "type": stored.type,
            },
        )
        return web.json_response({"upload": _to_json(upload)}, status=201)

    async def _spool(self, request: web.Request, spool: Path, limit: int) -> tuple[str, int, bytes]:
        """Write the body to ``spool``; its SHA-256, size and first bytes. Raises
        :class:`Refused` past ``limit``, and for a body cut off."""
        digest = hashlib.sha256()
        size = 0
        head = b""
        pending: list[bytes] = []
        buffered = 0
        handle = await asyncio.to_thread(open, spool, "wb")
        try:
            try:
                async for chunk in request.content.iter_any():
                    size += len(chunk)
                    if size > limit:
                        raise _too_large(None, limit)
                    digest.update(chunk)
                    if len(head) < HEAD_BYTES:
                        head += chunk[: HEAD_BYTES - len(head)]
                    pending.append(chunk)
                    buffered += len(chunk)
                    if buffered >= WRITE_BUFFER:
                        await asyncio.to_thread(handle.writelines, pending)
                        pending, buffered = [], 0
            except (ClientPayloadError, ConnectionError) as exc:
                log.info("an upload was cut off: %s", exc, extra={"event": "upload_cut"})
                raise Refused("bad_request", "the body ended before its end") from None
            await asyncio.to_thread(handle.writelines, pending)
        finally:
            await asyncio.to_thread(handle.close)
        return digest.hexdigest(), size, head


def _to_json(upload: Upload) -> object:
    return msgspec.to_builtins(file_info(upload.file))


def _too_large(size: int | None, limit: int) -> Refused:
    """``too_large``, sized for people (``size``: None when the body is counted as it comes
    and was cut at the limit); ``size`` and ``limit`` in bytes beside it."""
    if size is None:
        return Refused("too_large", f"the file is over the limit of {readable(limit)}", limit=limit)
    shown, most = readable_pair(size, limit)
    return Refused("too_large", f"the file is {shown}; the limit is {most}", size=size, limit=limit)


def _over_quota(used: int, quota: int, size: int) -> Refused:
    """``quota_exceeded``, sized for people; ``used``, ``quota`` and the file's ``size`` (0
    when not known yet) in bytes beside it."""
    held, allowed = readable_pair(used, quota)
    this = f" and this file is {readable(size)}" if size else ""
    return Refused(
        "quota_exceeded",
        f"your files hold {held} of the {allowed} allowed{this}; delete some first",
        used=used,
        quota=quota,
        size=size,
    )


def _closing(response: web.Response) -> web.Response:
    """An answer given without reading the whole body: the connection cannot be reused."""
    response.force_close()
    return response
