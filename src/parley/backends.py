"""Choosing the store, broker and presence from the operator's settings.

``--db`` is a SQLite file (the default, ``parley.db``) or a ``postgresql://`` URL;
``--broker`` is ``memory`` (one process, the default) or a ``redis://`` URL, which also keeps
presence and the nodes' figures in that Redis (several processes need both, or neither).
Each backend's ``start`` fails with one line when its server is unreachable; ``check``
refuses malformed values first.
"""

from __future__ import annotations

import tempfile
from os import PathLike
from pathlib import Path
from urllib.parse import urlsplit

from parley.broker.base import Broker
from parley.broker.memory import MemoryBroker
from parley.figures.base import TTL, FigureBoard
from parley.figures.memory import MemoryFigureBoard
from parley.files.blobs import BlobStore
from parley.presence.base import Presence
from parley.presence.memory import MemoryPresence
from parley.store.base import Store

POSTGRES_SCHEMES = ("postgresql", "postgres")
REDIS_SCHEMES = ("redis", "rediss", "unix")


class BackendError(Exception):
    """A ``--db`` or ``--broker`` value that cannot work; one line for the operator."""


def is_postgres(db: str | PathLike[str]) -> bool:
    return urlsplit(str(db)).scheme in POSTGRES_SCHEMES


def check_db(db: str | PathLike[str]) -> None:
    """Refuse a ``--db`` value that is neither a usable file path nor a PostgreSQL URL.

    A PostgreSQL URL may leave out the host, user or password: the libpq environment
    (``PGHOST``, ``PGPASSWORD``, ``~/.pgpass``) fills them in.
    """
    db = str(db)
    if "://" in db:
        scheme = urlsplit(db).scheme
        if scheme not in POSTGRES_SCHEMES:
            raise BackendError(f"--db {scheme}://...: give a SQLite file or a postgresql:// URL")
        return
    parent = Path(db).expanduser().resolve().parent
    if not parent.is_dir():
        raise BackendError(f"--db {db}: the folder {parent} does not exist")


def check_broker(broker: str) -> None:
    if broker == "memory":
        return
    parts = urlsplit(broker)
    if parts.scheme not in REDIS_SCHEMES:
        raise BackendError(f"--broker {broker!r}: give 'memory' or a redis:// URL")
    if parts.scheme != "unix" and not parts.hostname:
        raise BackendError("--broker redis://: the URL needs a host")


def open_store(db: str | PathLike[str]) -> Store:
    db = str(db)
    if is_postgres(db):
        from parley.store.postgres import PostgresStore

        return PostgresStore(db)
    from parley.store.sqlite import SQLiteStore

    return SQLiteStore(Path(db).expanduser())


def open_blobs(db: str | PathLike[str], file_dir: str | None) -> BlobStore:
    """The blob store that goes with ``--db``: PostgreSQL's own tables, so that every process
    shares the files, or a directory beside the SQLite file (``--file-dir`` chooses another;
    with PostgreSQL it is only where uploads in progress are written)."""
    if is_postgres(db):
        from parley.files.blobs_postgres import PostgresBlobs

        spool = Path(file_dir) if file_dir else Path(tempfile.gettempdir()) / "parley-uploads"
        return PostgresBlobs(str(db), spool)
    from parley.files.blobs_local import LocalBlobs

    return LocalBlobs(Path(file_dir) if file_dir else Path(str(db) + ".files").expanduser())


def open_broker(broker: str) -> Broker:
    if broker == "memory":
        return MemoryBroker()
    from parley.broker.redis import RedisBroker

    return RedisBroker(broker)


def open_presence(broker: str, node_id: str, ttl: float = 15.0) -> Presence:
    """Presence for ``broker``; with Redis, a dead node's users expire after ``ttl`` seconds
    (each node refreshes its own entries three times per ``ttl``)."""
    if broker == "memory":
        return MemoryPresence()
    from parley.presence.redis import RedisPresence

    return RedisPresence(broker, node_id=node_id, ttl=ttl, heartbeat=ttl / 3)


def open_figure_board(broker: str, ttl: float = TTL) -> FigureBoard:
    """The board the nodes publish their figures on: the process's own with ``memory``, else
    in the broker's Redis, where every node reads everyone's (entries expire after ``ttl``)."""
    if broker == "memory":
        return MemoryFigureBoard(ttl=ttl)
    from parley.figures.redis import RedisFigureBoard

    return RedisFigureBoard(broker, ttl=ttl)


def redact(url: str) -> str:
    """A URL fit for logs and messages: the password, if any, replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()
