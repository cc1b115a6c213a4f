"""The store's operations on uploads, message files and profiles, written once for every SQL
engine (as :mod:`parley.store.sql.operations`).

* An upload's row is added after its bytes are in the blob store, under the uploader's row
  lock, counting the sizes of the uploads the user holds (the quota), so two uploads of one
  user on two nodes cannot both take its last bytes.
* A message with files takes them in the transaction that appends it: each must be the
  author's, not sent and not an avatar; the row then names the message and the room, and the
  message's row holds their descriptions (``events.files``). Its deletion removes the rows
  (``operations.delete_message``), so nothing refers to its blobs any more.
* What a reader may fetch is decided by one query per request (:func:`readable_upload`):
  its uploader before it is sent, a member of its room after.
* The collector removes old unsent uploads and answers which blobs are still referred to.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from parley.model import Appended, FileRef, Profile, Upload
from parley.protocol.mentions import Mentioned
from parley.store.base import NotFound, QuotaExceeded, UploadNotFound
from parley.store.sql.engine import Connection, Row
from parley.store.sql.file_column import encode_files
from parley.store.sql.operations import _lock_user, message_by_cid, post_message, require_user

#: The ``uploads`` columns :func:`upload` reads.
UPLOAD_COLUMNS = (
    "id, owner_id, name, type, size, hash, width, height, thumb_hash, thumb_width,"
    " thumb_height, avatar, created_at, message_id, room_id"
)


def upload(row: Row) -> Upload:
    return Upload(
        file=FileRef(
            id=row["id"],
            name=row["name"],
            type=row["type"],
            size=row["size"],
            width=row["width"],
            height=row["height"],
            thumb_width=row["thumb_width"],
            thumb_height=row["thumb_height"],
        ),
        owner_id=row["owner_id"],
        hash=row["hash"],
        thumb_hash=row["thumb_hash"],
        avatar=bool(row["avatar"]),
        created_at=row["created_at"],
        message_id=row["message_id"],
        room_id=row["room_id"],
    )


async def add_upload(conn: Connection, stored: Upload, quota: int) -> None:
    """Record an upload whose blobs are stored. Raises :class:`QuotaExceeded` when the user's
    uploads would then hold more than ``quota`` bytes, :class:`NotFound` for an unknown user."""
    await require_user(conn, stored.owner_id)
    await _lock_user(conn, stored.owner_id)
    used = await used_bytes(conn, stored.owner_id)
    if used + stored.file.size > quota:
        raise QuotaExceeded(used, quota)
    f = stored.file
    await conn.execute(
        f"INSERT INTO uploads ({UPLOAD_COLUMNS})"  # noqa: S608 (a constant)
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
        f.id,
        stored.owner_id,
        f.name,
        f.type,
        f.size,
        stored.hash,
        f.width,
        f.height,
        stored.thumb_hash,
        f.thumb_width,
        f.thumb_height,
        stored.avatar,
        stored.created_at,
    )


async def used_bytes(conn: Connection, user_id: int) -> int:
    """What the user's uploads hold (sent or not; a deleted message's are gone)."""
    value = await conn.fetchval(
        "SELECT COALESCE(SUM(size), 0) FROM uploads WHERE owner_id = ?", user_id
    )
    return int(value)


async def upload_by_id(conn: Connection, upload_id: str) -> Upload | None:
    row = await conn.fetchrow(
        f"SELECT {UPLOAD_COLUMNS} FROM uploads WHERE id = ?",  # noqa: S608 (a constant)
        upload_id,
    )
    return None if row is None else upload(row)


async def _claim(conn: Connection, owner_id: int, ids: Sequence[str]) -> list[FileRef]:
    """The uploads ``ids`` of ``owner_id`` that may go into a message, in that order; raises
    :class:`UploadNotFound` naming the first that may not."""
    files: list[FileRef] = []
    for upload_id in ids:
        found = await upload_by_id(conn, upload_id)
        if (
            found is None
            or found.owner_id != owner_id
            or found.message_id is not None
            or found.avatar
        ):
            raise UploadNotFound(upload_id)
        files.append(found.file)
    return files


async def post_with_files(
    conn: Connection,
    room_id: int,
    user_id: int,
    author: str,
    text: str,
    cid: str | None,
    mentioned: Mentioned | None,
    upload_ids: Sequence[str],
    thread: int | None = None,
    broadcast: bool = False,
) -> Appended:
    """:func:`~parley.store.sql.operations.post_message` with files: the message takes the
    uploads (see the module docstring); a reply in a ``thread`` may carry files too. A resend
    with a known ``cid`` is the original, as always, whatever its files."""
    await require_user(conn, user_id)
    if cid is not None:
        original = await message_by_cid(conn, user_id, cid)
        if original is not None:
            return Appended(original, duplicate=True)
    await _lock_user(conn, user_id)  # two sends of one upload: one wins
    files = await _claim(conn, user_id, upload_ids)
    appended = await post_message(
        conn, room_id, user_id, author, text, cid, mentioned, thread, broadcast
    )
    mid = appended.event.mid
    await conn.execute("UPDATE events SET files = ? WHERE id = ?", encode_files(tuple(files)), mid)
    for upload_id in upload_ids:
        await conn.execute(
            "UPDATE uploads SET message_id = ?, room_id = ? WHERE id = ?", mid, room_id, upload_id
        )
    return replace(appended, event=replace(appended.event, files=tuple(files)))


async def readable_upload(conn: Connection, upload_id: str, reader_id: int) -> Upload | None:
    """The upload, if ``reader_id`` may fetch it now: its uploader while it is not sent; a
    member of its message's room once it is; anyone signed in for a current avatar. None for
    anything else, whatever the reason (see docs/security.md)."""
    row = await conn.fetchrow(
        f"SELECT {UPLOAD_COLUMNS} FROM uploads AS u"  # noqa: S608 (a constant)
        " WHERE u.id = ? AND ("
        "  (u.message_id IS NULL AND u.owner_id = ?)"
        "  OR EXISTS (SELECT 1 FROM memberships AS m"
        "   WHERE m.room_id = u.room_id AND m.user_id = ? AND u.message_id IS NOT NULL)"
        "  OR EXISTS (SELECT 1 FROM users AS a WHERE a.avatar = u.id))",
        upload_id,
        reader_id,
        reader_id,
    )
    return None if row is None else upload(row)


# -- profiles ------------------------------------------------------------------------------


async def set_profile(
    conn: Connection, user_id: int, display_name: str | None, avatar: str | None
) -> Profile:
    """Change what is given (None: unchanged; "" removes). An avatar must be an unused avatar
    upload of the user (else :class:`UploadNotFound`); the one it replaces is released (its
    row goes, and the collector takes its blobs). Returns the profile now."""
    await require_user(conn, user_id)
    await _lock_user(conn, user_id)
    current = await profile_of(conn, user_id)
    if display_name is not None:
        await conn.execute("UPDATE users SET display_name = ? WHERE id = ?", display_name, user_id)
    if avatar is not None and avatar != current.avatar:
        if avatar:
            found = await upload_by_id(conn, avatar)
            if found is None or found.owner_id != user_id or not found.avatar:
                raise UploadNotFound(avatar)
        await conn.execute("UPDATE users SET avatar = ? WHERE id = ?", avatar or None, user_id)
        if current.avatar:
            await conn.execute("DELETE FROM uploads WHERE id = ?", current.avatar)
    return await profile_of(conn, user_id)


async def profile_of(conn: Connection, user_id: int) -> Profile:
    row = await conn.fetchrow("SELECT display_name, avatar FROM users WHERE id = ?", user_id)
    if row is None:
        raise NotFound(f"no user {user_id}")
    return Profile(display_name=row["display_name"], avatar=row["avatar"] or "")


async def profiles(conn: Connection, user_ids: Iterable[int]) -> dict[int, Profile]:
    """The profiles of those of ``user_ids`` that have one (a display name or an avatar)."""
    wanted = sorted(set(user_ids))
    found: dict[int, Profile] = {}
    for start in range(0, len(wanted), 500):  # bounded statements
        part = wanted[start : start + 500]
        marks = ", ".join("?" for _ in part)
        rows = await conn.fetch(
            "SELECT id, display_name, avatar FROM users"  # noqa: S608 (placeholders only)
            f" WHERE id IN ({marks}) AND (display_name <> '' OR avatar IS NOT NULL)",
            *part,
        )
        for row in rows:
            found[row["id"]] = Profile(display_name=row["display_name"], avatar=row["avatar"] or "")
    return found


# -- the collector -------------------------------------------------------------------------


async def drop_stale_uploads(conn: Connection, older_than: int) -> int:
    """Remove the uploads never sent (nor set as an avatar) created before ``older_than``
    (ms since the epoch); returns how many."""
    rows = await conn.fetch(
        "DELETE FROM uploads WHERE message_id IS NULL AND created_at < ?"
        " AND NOT EXISTS (SELECT 1 FROM users AS a WHERE a.avatar = uploads.id)"
        " RETURNING id",
        older_than,
    )
    return len(rows)


async def referenced(conn: Connection, hashes: Sequence[str]) -> set[str]:
    """Those of ``hashes`` that an upload still refers to (as its file or its thumbnail)."""
    found: set[str] = set()
    for start in range(0, len(hashes), 500):
        part = list(hashes[start : start + 500])
        marks = ", ".join("?" for _ in part)
        rows = await conn.fetch(
            f"SELECT hash AS h FROM uploads WHERE hash IN ({marks})"  # noqa: S608
            f" UNION SELECT thumb_hash AS h FROM uploads WHERE thumb_hash IN ({marks})",
            *part,
            *part,
        )
        found.update(row["h"] for row in rows)
    return found
