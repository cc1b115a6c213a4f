"""Several ``parley serve`` processes sharing a real PostgreSQL and a real Redis.

Each test gets a database of its own on the shared PostgreSQL server (created and dropped
here) and a private ``redis-server`` on a free port (so that a test may kill and restart it
without disturbing anyone). The database can also be reached through a TCP proxy, which a
test cuts to take the database away. Without PostgreSQL or Redis these tests skip, except
when ``CI`` is set: then they fail.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.broker.redis_support import PrivateRedis
from tests.helpers.process import ServerProcess
from tests.helpers.tcpproxy import TcpProxy
from tests.store.conftest import postgres_database

#: Presence of a dead node's users expires after this (flag --presence-ttl).
PRESENCE_TTL = 3.0


class Cluster:
    """The nodes of one test, their database and their Redis."""

    def __init__(
        self,
        factory: Callable[..., ServerProcess],
        db_url: str,
        redis: PrivateRedis,
        proxy: TcpProxy,
    ) -> None:
        self._factory = factory
        self.db_url = db_url
        self.redis = redis
        self.proxy = proxy
        self.nodes: list[ServerProcess] = []

    @property
    def proxied_db_url(self) -> str:
        """The database's URL through the proxy that :meth:`TcpProxy.cut` takes away."""
        parts = urllib.parse.urlsplit(self.db_url)
        netloc = parts.netloc.rsplit("@", 1)
        host = f"127.0.0.1:{self.proxy.port}"
        return urllib.parse.urlunsplit(
            parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host)
        )

    def start_node(self, *extra: str, through_proxy: bool = False, port: int = 0) -> ServerProcess:
        node = self._factory(
            "serve",
            "--db",
            self.proxied_db_url if through_proxy else self.db_url,
            "--broker",
            self.redis.url,
            "--presence-ttl",
            f"{PRESENCE_TTL}s",
            "--rate-limit",
            "1000",
            "--rate-burst",
            "1000",
            "--port",
            str(port),
            *extra,
        )
        self.nodes.append(node)
        return node

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


@pytest.fixture
async def cluster(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> AsyncIterator[Cluster]:
    async with postgres_database() as db_url:
        redis = PrivateRedis(tmp_path)
        redis.start()
        target = urllib.parse.urlsplit(db_url)
        proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
        cluster = Cluster(server_factory, db_url, redis, proxy)
        try:
            yield cluster
        finally:
            cluster.stop()  # before the database is dropped under the nodes' feet
            proxy.close()
            redis.kill()
