"""What differs between SQL databases, and the narrow connection every operation is written for.

The store's operations (:mod:`parley.store.sql.operations`) and its group commit
(:mod:`parley.store.sql.batch`) are written once, against :class:`Connection`: SQL with ``?``
placeholders, results as rows indexed by column name or position, and coroutines throughout.
Each backend adapts its driver to it in one place. PostgreSQL's connection renumbers the
placeholders (``$1``, ``$2`` ...) and awaits asyncpg; SQLite's calls :mod:`sqlite3` directly,
so its coroutines never suspend and its threads drive them to the end without an event loop
(:func:`run_sync`). (Measured, 100,000 operations of three statements on an
in-memory database: 6.1 µs each called directly, 7.0 µs as such a coroutine, 6.9 µs as a
generator fed by a driver; a generator would cost as much and make every helper a
``yield from``.)

An :class:`Engine` holds only what really differs between the databases: how a row is locked,
a lock held until the end of the transaction, a list aggregated in SQL, how a script is split
into statements, and which errors mean what. An operation asks ``conn.engine`` where its SQL
must differ, the way Synapse's ``storage/engines`` do; everything else is one text for both.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from typing import Any, Protocol, TypeVar

from parley.store.base import Unavailable

T = TypeVar("T")


class Row(Protocol):
    """A result row (``sqlite3.Row``, ``asyncpg.Record``): columns by name or position."""

    def __getitem__(self, key: Any, /) -> Any: ...


class Connection(Protocol):
    """One database connection, as the operations see it. ``sql`` uses ``?`` placeholders."""

    @property
    def engine(self) -> Engine: ...

    async def execute(self, sql: str, *args: object) -> None: ...

    async def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None: ...

    async def fetch(self, sql: str, *args: object) -> list[Row]: ...

    async def fetchrow(self, sql: str, *args: object) -> Row | None:
        """The first row, the statement run to its end (``RETURNING`` rows included)."""

    async def fetchval(self, sql: str, *args: object) -> Any:
        """The first column of the first row; None without a row."""

    async def script(self, *statements: str) -> None:
        """Run statements without parameters, in order; in one round trip where the driver
        allows it (``BEGIN; SAVEPOINT op`` costs PostgreSQL one round trip, not two)."""

    def in_transaction(self) -> bool:
        """Whether a transaction is open (failed or not). False after an error means the
        database ended the transaction itself: nothing of it will commit."""

    async def abandon(self, exc: BaseException) -> None:
        """End a failed transaction: roll it back, or drop a connection that may be unusable.
        Never raises for a database error: the caller is already handling ``exc``."""


class Engine(ABC):
    """The dialect of one database: the attributes below are standard SQL, or the lack of a
    feature; each backend's engine overrides what its database spells otherwise."""

    #: Starts a write transaction.
    begin: str = "BEGIN"
    #: Appended to a ``SELECT`` of rows the transaction is about to change, so that no other
    #: transaction can change them meanwhile. Empty where one writer excludes all others.
    row_lock: str = ""
    #: A statement taking a lock, held until the transaction ends, on the number given as its
    #: one parameter; None where every write transaction already excludes the others.
    transaction_lock: str | None = None
    #: Whether ``WITH ... UPDATE ... RETURNING`` may feed an ``INSERT`` in one statement.
    writable_cte: bool = False
    #: Whether the group commit stores a run of posts with one multi-row insert, counting on
    #: the consecutive ids only a database's sole writer gets (see ``operations.bulk_post``).
    bulk_posts: bool = False
    #: Whether a batch runs its writes in lock order (``Op.key``) rather than queue order, so
    #: that concurrent batches take their locks in one order and never deadlock.
    orders_batches: bool = False
    #: The full-text index of migration 0005 (``store/sql/search.py``): ``"fts5"`` (SQLite)
    #: or ``"tsvector"`` (PostgreSQL).
    text_search: str = "fts5"
    #: Whether messages are indexed after their transaction, from ``search_pending`` by the
    #: store's indexer (SQLite), rather than in it (PostgreSQL). See migration 0005.
    deferred_index: bool = False

    #: One table's columns, in the table's order (its one parameter: the table's name), for
    #: ``parley export`` / ``import`` (``store/sql/transfer_ops.py``): each row is the name,
    #: the declared type, and whether the database computes the column (never written).
    columns_query: str = ""
    #: Between an ``INSERT``'s column list and ``VALUES``, for rows that bring their own ids.
    given_ids: str = ""
    #: Begins the read-only transaction of ``parley export`` (:meth:`SQLStore.snapshot
    #: <parley.store.sql.store.SQLStore.snapshot>`) and makes it take its snapshot at once: a
    #: database takes it at the first read, not at ``BEGIN``, and the export must hold the
    #: files (``BlobStore.holding``) from before that moment. Every read of the transaction
    #: then sees the database as it was then, whatever commits meanwhile.
    snapshot_begin: tuple[str, ...] = (
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        "SELECT 1",
    )

    def resync_ids(self, table: str) -> str | None:
        """A statement making the next id ``table`` assigns follow its highest one, after
        rows were inserted with their own ids; None where the database does that itself."""
        return None

    def row_lock_of(self, alias: str) -> str:
        """:attr:`row_lock` for the rows of one table of a join."""
        return ""

    @abstractmethod
    def names_array(self, select: str) -> str:
        """An SQL expression: the ``name`` column of ``select``'s rows as one list value."""

    @abstractmethod
    def names(self, value: Any) -> tuple[str, ...]:
        """The names of a :meth:`names_array` value (None: no list)."""

    @abstractmethod
    def statements(self, script: str) -> list[str]:
        """A migration script as the statements :meth:`Connection.script` takes."""

    @abstractmethod
    def is_database_error(self, exc: BaseException) -> bool:
        """Whether ``exc`` came from the database or the way to it, rather than a bug."""

    def dooms_transaction(self, exc: BaseException) -> bool:
        """Whether ``exc``, raised by one write, ends its whole batch (a deadlock, a lost
        connection) instead of being undone alone by its savepoint."""
        return False

    def worth_running_again(self, exc: BaseException) -> bool:
        """Whether a write that failed alone may succeed run once more in the same transaction:
        a concurrent transaction committed the key it was about to insert."""
        return False

    def is_constraint_violation(self, exc: BaseException) -> bool:
        """Whether ``exc`` is a constraint the database enforces (unique, foreign key)."""
        return False

    def worth_retrying_batch(self, exc: BaseException, *, commit_sent: bool) -> bool:
        """Whether a batch whose transaction failed with ``exc`` can run again whole: nothing
        of it can have been committed, and another try may well succeed."""
        return False

    @abstractmethod
    def op_error(self, exc: Exception) -> BaseException:
        """What the caller of a write that failed alone (its savepoint undone) is told."""

    @abstractmethod
    def unavailable(self, cause: BaseException, *, reading: bool = False) -> Unavailable:
        """A fresh error for one caller of a read, or of a write whose batch was lost (one
        instance raised in several tasks would mix their tracebacks)."""


async def transaction(conn: Connection, work: Callable[[Connection], Awaitable[T]]) -> T:
    """Run ``work`` in a transaction of its own and commit it, or roll it back and raise."""
    await conn.execute(conn.engine.begin)
    try:
        result = await work(conn)
        await conn.execute("COMMIT")
    except BaseException as exc:
        await conn.abandon(exc)
        raise
    return result


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (an operation on a connection whose calls are
    synchronous, SQLite's) to its end, in this thread and without an event loop."""
    try:
        coro.send(None)
    except StopIteration as done:
        result: T = done.value
        return result
    coro.close()
    raise RuntimeError("an operation awaited something other than its synchronous connection")


async def lock_transaction(conn: Connection, key: int) -> None:
    """Take the engine's :attr:`~Engine.transaction_lock` on ``key``, if it has one."""
    if conn.engine.transaction_lock is not None:
        await conn.execute(conn.engine.transaction_lock, key)


__all__ = ["Connection", "Engine", "Row", "lock_transaction", "run_sync", "transaction"]
