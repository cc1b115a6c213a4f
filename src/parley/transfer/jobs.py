"""``parley export`` and ``parley import`` as whole jobs on a started store (the command line
in :mod:`parley.cli` parses, opens the store and prints; this module does the work)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import IO, TypeVar

from parley.files.blobs import BlobStore
from parley.store.base import StoreError
from parley.store.sql.store import SQLStore
from parley.transfer import parley_format
from parley.transfer.progress import Progress
from parley.transfer.sink import ImportFailed, Sink

T = TypeVar("T")


async def into_empty_store(
    store: SQLStore, progress: Progress, fill: Callable[[Sink], Awaitable[T]]
) -> T:
    """Begin an import into the empty ``store`` (or refuse), let ``fill`` give the rows, and
    finish it. Any failure after the first row is :class:`ImportFailed` with ``partial``."""
    sink = Sink(store, progress)
    await sink.begin()
    try:
        try:
            result = await fill(sink)
        except BaseException:
            await sink.abandon()  # no write left running behind the error
            raise
    except ImportFailed as exc:
        exc.partial = True
        raise
    except (StoreError, ValueError) as exc:  # a row the database refused (a foreign key ...)
        raise ImportFailed(f"the database refused a row: {exc}", partial=True) from exc
    except OSError as exc:  # a file's bytes could not be spooled (a full disk ...)
        raise ImportFailed(f"cannot write a file's bytes: {exc}", partial=True) from exc
    progress.done()
    return result


async def import_parley(
    store: SQLStore, blobs: BlobStore, stream: IO[bytes], progress: Progress
) -> dict[str, int]:
    """Read a Parley export into the empty ``store`` (its files into ``blobs``); return the
    rows of each table."""

    async def fill(sink: Sink) -> dict[str, int]:
        await parley_format.read_into(stream, sink, blobs)
        await sink.finish()
        return sink.counts

    return await into_empty_store(store, progress, fill)


async def index_imported(store: SQLStore, progress: Progress) -> None:
    """Bring the search index up to date with the imported messages before the command
    returns (SQLite indexes after the transaction, migration 0005: a server started on the
    database would do it too, but searches would miss messages until then)."""
    pending = await store.count_pending()
    while pending:
        left = await store.index_pending()
        progress.tick(pending - left)
        pending = left
    if progress.rows:
        progress.done()


__all__ = ["import_parley", "index_imported", "into_empty_store"]
