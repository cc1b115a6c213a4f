"""A PostgreSQL database of its own for one benchmark run, created and dropped around it.

``send_ack.py --postgres URL`` measures the server on PostgreSQL rather than SQLite; each run
must start from an empty database, as each SQLite run starts from a fresh file, and must
leave nothing behind on a server other people share.
"""

from __future__ import annotations

import os
import secrets
import urllib.parse

import asyncpg  # type: ignore[import-untyped]


def with_database(url: str, database: str) -> str:
    """``url`` pointing at another database of the same server."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + database))


async def create_database(url: str) -> str:
    """A new, empty database on ``url``'s server; returns its name."""
    name = f"parley_bench_{os.getpid()}_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(url, timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    finally:
        await admin.close()
    return name


async def drop_database(url: str, name: str) -> None:
    """Drop a database :func:`create_database` made (its connections are ended first)."""
    admin = await asyncpg.connect(url, timeout=10)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
